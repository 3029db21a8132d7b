"""`make soak`: the long reliability runs, bounded in time, ending with a summary.

1. Session churn: 300 sessions opened and closed against one server; per-session
   objects back to baseline, RSS compared with its level after warm-up.
2. Soak: a server runs 7 simulated days at a 100 ms interval (speed 1800, about
   6 minutes). Every tick's community balance is checked from the history,
   per-house invariants from /api/state twice a second; RSS is sampled.
3. Load: 20 and 50 sessions for 2 minutes each at 20 houses and 1 s
   (CPU, RSS, latency, bytes per session per tick).
4. What breaks first: sessions, houses or interval, each pushed up on its own.
5. Slow clients: ten clients that never read, for five minutes at 1,000 houses and
   100 ms, beside one that reads (closed, memory flat, the reader keeps up).
6. Restarts: five stops and starts on one state directory; tick and energy never go back.

Loopback only; every loop has a deadline. Figures go to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from server_support import Server, get_json  # noqa: E402

from benchmarks.bench_dashboard import load  # noqa: E402
from benchmarks.ws_client import BokehClient, non_reader, open_and_close_sessions  # noqa: E402

MB = 2**20


def wait_sessions_zero(base: str, timeout_s: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if get_json(base + "/healthz")[1]["sessions"] == 0:
            return True
        time.sleep(0.25)
    return False


def churn(total: int = 300, parallel: int = 10) -> dict:
    with tempfile.TemporaryDirectory() as tmp, Server(Path(tmp), {"update_interval_ms": 1000}) as srv:
        proc = psutil.Process(srv.proc.pid)
        _, base = get_json(srv.base + "/healthz")

        # Warm-up up to the heap's high-water mark: closed sessions wait for a collection, up to
        # COLLECT_AFTER_CLOSED of them, so the warm-up runs through several collections (as make test's churn does).
        open_and_close_sessions(srv.base, 100, parallel)
        wait_sessions_zero(srv.base)
        rss_warm = proc.memory_info().rss
        t0 = time.monotonic()
        open_and_close_sessions(srv.base, total, parallel)
        cleaned = wait_sessions_zero(srv.base)
        time.sleep(1.0)
        _, after = get_json(srv.base + "/healthz")
        rss_end = proc.memory_info().rss
    return {
        "sessions": total,
        "seconds": time.monotonic() - t0,
        "cleaned": cleaned,
        "listeners": (base["listeners"], after["listeners"]),
        "watchers": (base["watchers"], after["watchers"]),
        "rss_warm_mb": rss_warm / MB,
        "rss_end_mb": rss_end / MB,
        "ok": cleaned and after["listeners"] == base["listeners"] and after["watchers"] == base["watchers"]
        and (rss_end - rss_warm) / MB <= 10.0,
    }


def check_row(prod, cons, imp, exp, shared) -> list[str]:
    bad = []
    for name, v in (("production", prod), ("consumption", cons), ("import", imp), ("export", exp), ("shared", shared)):
        if v is None or not math.isfinite(v) or v < 0:
            bad.append(f"{name}={v}")
    if not bad:
        if abs((prod - cons) - (exp - imp)) > 1e-6 * max(1.0, prod + cons) + 1e-6:
            bad.append("balance")
        if imp > 0 and exp > 0:
            bad.append("import and export")
    return bad


def check_state(doc: dict) -> list[str]:
    bad = []
    for h in doc["houses"]:
        for key in ("pv_power_w", "base_load_w", "flex_load_w", "export_local_w", "export_grid_w", "import_local_w", "import_grid_w"):
            v = h[key]
            if v is None or not math.isfinite(v) or v < 0:
                bad.append(f"{h['house_id']}.{key}={v}")
    prod = sum(h["pv_power_w"] for h in doc["houses"])
    cons = sum(h["base_load_w"] + h["flex_load_w"] for h in doc["houses"])
    g = doc["grid"]
    if abs((prod - cons) - (g["grid_export_w"] - g["grid_import_w"])) > 1e-6 * max(1.0, prod + cons):
        bad.append(f"tick {doc['tick']}: balance")
    return bad


def check_history(base: str, after_tick: int, problems: list[str]) -> tuple[int, int]:
    """Check every history row newer than `after_tick`; returns the newest tick and the rows checked."""
    _, hist = get_json(base + f"/api/history?seconds={3 * 86400}", timeout_s=30)
    checked = 0
    for i, tick in enumerate(hist["tick"]):
        if tick > after_tick:
            row = [hist[k][i] for k in ("total_production_w", "total_consumption_w", "grid_import_w", "grid_export_w", "shared_w")]
            problems += [f"tick {tick}: {p}" for p in check_row(*row)]
            checked += 1
    return max(hist["tick"], default=after_tick), checked


def soak(days: float = 7.0, interval_ms: int = 100, speed: float = 1800.0, houses: int = 20) -> dict:
    sim_seconds = days * 86400
    wall_s = sim_seconds / speed
    config = {
        "houses": houses,
        "update_interval_ms": interval_ms,
        "flex_load_probability": 0.2,
        "clock": {"mode": "accelerated", "start": "2026-06-18T00:00:00", "speed_factor": speed},
    }
    problems: list[str] = []
    rows_checked = states_checked = 0
    with tempfile.TemporaryDirectory() as tmp, Server(Path(tmp), config) as srv:
        proc = psutil.Process(srv.proc.pid)
        time.sleep(20.0)  # warm-up
        rss_start = proc.memory_info().rss
        rss_max = rss_start
        t0 = time.monotonic()
        last_tick = 0
        next_history = time.monotonic() + 20.0
        deadline = t0 + wall_s + 120.0
        status, health = get_json(srv.base + "/healthz")
        start_time = health["simulated_time"]
        while time.monotonic() < deadline:
            status, doc = get_json(srv.base + "/api/state")
            if status == 200:
                problems += check_state(doc)
                states_checked += 1
            if time.monotonic() >= next_history:
                last_tick, checked = check_history(srv.base, last_tick, problems)
                rows_checked += checked
                next_history = time.monotonic() + 20.0
                rss_max = max(rss_max, proc.memory_info().rss)
            status, health = get_json(srv.base + "/healthz")
            if status != 200:
                problems.append(f"healthz {status}: {health.get('status')}")
            if health["simulated_time"] and health["simulated_time"] >= _add_days(start_time, days):
                break
            time.sleep(0.5)
        last_tick, checked = check_history(srv.base, last_tick, problems)
        rows_checked += checked
        _, health = get_json(srv.base + "/healthz")
        rss_end = proc.memory_info().rss
    return {
        "simulated": f"{start_time} -> {health['simulated_time']}",
        "wall_s": time.monotonic() - t0,
        "ticks": health["tick"],
        "rows_checked": rows_checked,
        "states_checked": states_checked,
        "errors": health["error_count"],
        "problems": problems,
        "rss_start_mb": rss_start / MB,
        "rss_max_mb": rss_max / MB,
        "rss_end_mb": rss_end / MB,
        "ok": not problems and health["error_count"] == 0 and (rss_end - rss_start) / MB <= 20.0,
    }


def _add_days(iso: str, days: float) -> str:
    import pandas as pd

    return (pd.Timestamp(iso) + pd.Timedelta(days=days)).isoformat()


def meets(r: dict) -> bool:
    lat = r["dom_latency_p95_ms"] if r["dom_samples"] else r["ws_latency_p95_ms"]
    return r["cpu_percent_of_one_core"] < 30 and lat <= 250 and not r["client_errors"] and r["overruns"] == 0


def describe(r: dict) -> str:
    return (
        f"{r['sessions']:>3} sessions, {r['houses']:>5} houses, {r['interval_ms']:>5} ms: CPU {r['cpu_percent_of_one_core']:5.1f} %, "
        f"RSS {r['rss_mb']:.0f} MB, client p50/p95 {r['ws_latency_p50_ms']:.0f}/{r['ws_latency_p95_ms']:.0f} ms, "
        f"screen p95 {r['dom_latency_p95_ms']:.0f} ms, {r['bytes_per_session_tick']:.0f} B/session/tick, "
        f"overruns {r['overruns']}, client errors {len(r['client_errors'])} -> {'ok' if meets(r) else 'MISSES a target'}"
    )


def slow_clients(clients: int = 10, seconds: float = 300.0) -> dict:
    """Ten clients that never read, for five minutes at 1,000 houses and 100 ms, beside one
    that reads: the stuck sessions are closed, memory stays flat, the reader keeps up."""
    config = {"houses": 1000, "update_interval_ms": 100}
    with tempfile.TemporaryDirectory() as tmp, Server(Path(tmp), config) as srv:
        proc = psutil.Process(srv.proc.pid)
        reader = BokehClient(srv.base).start()
        reader.pulled.wait(60)
        stuck = [non_reader(srv.base) for _ in range(clients)]
        time.sleep(3.0)
        rss_open = rss_max = proc.memory_info().rss / 2**20
        ticks0 = len(reader.ticks_seen)
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            time.sleep(5.0)
            rss_max = max(rss_max, proc.memory_info().rss / 2**20)
        _, health = get_json(srv.base + "/healthz")
        seen = len(reader.ticks_seen) - ticks0
        for ws in stuck:
            ws.close()
        reader.close()
    ok = health["slow_sessions_closed"] == clients and rss_max - rss_open < 30.0 and seen > seconds * 5 and reader.error is None
    return {"clients": clients, "seconds": seconds, "closed": health["slow_sessions_closed"], "rss_open_mb": rss_open,
            "rss_max_mb": rss_max, "reader_ticks": seen, "ok": ok}


def restarts(count: int = 5, run_s: float = 20.0) -> dict:
    """Stop and start the server `count` times on one state directory: tick and energy never go back."""
    config = {"houses": 20, "update_interval_ms": 200, "clock": {"mode": "accelerated", "start": "2026-06-21T08:00:00", "speed_factor": 600}}
    ticks, production = [], []
    with tempfile.TemporaryDirectory() as tmp:
        env = {"LEG_STATE_DIR": str(Path(tmp) / "state")}
        for _ in range(count):
            with Server(Path(tmp), config, env=env) as srv:
                time.sleep(run_s)
                _, state = get_json(srv.base + "/api/state")
            ticks.append(state["tick"])
            production.append(state["energy_kwh"]["production_kwh"])
    ok = ticks == sorted(ticks) and len(set(ticks)) == count and production == sorted(production)
    return {"ticks": ticks, "production_kwh": production, "ok": ok}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="long reliability runs")
    ap.add_argument("--load-seconds", type=float, default=120.0)
    ap.add_argument("--days", type=float, default=7.0)
    ap.add_argument("--skip", nargs="*", default=[], choices=["churn", "soak", "load", "limits", "slow", "restarts"])
    args = ap.parse_args(argv)
    started = time.monotonic()
    ok = True
    if "churn" not in args.skip:
        c = churn()
        ok &= c["ok"]
        print(
            f"churn: {c['sessions']} sessions in {c['seconds']:.0f} s, cleaned up {c['cleaned']}, listeners {c['listeners']}, "
            f"watchers {c['watchers']}, RSS after warm-up {c['rss_warm_mb']:.1f} MB -> after churn {c['rss_end_mb']:.1f} MB "
            f"-> {'ok' if c['ok'] else 'FAILED'}",
            flush=True,
        )
    if "soak" not in args.skip:
        s = soak(days=args.days)
        ok &= s["ok"]
        print(
            f"soak: {s['simulated']} in {s['wall_s']:.0f} s, {s['ticks']} ticks, {s['rows_checked']} history rows and "
            f"{s['states_checked']} full states checked, tick errors {s['errors']}, problems {len(s['problems'])}, "
            f"RSS {s['rss_start_mb']:.1f} -> {s['rss_end_mb']:.1f} MB (max {s['rss_max_mb']:.1f}) -> {'ok' if s['ok'] else 'FAILED'}",
            flush=True,
        )
        for p in s["problems"][:10]:
            print(f"  problem: {p}")
    if "slow" not in args.skip:
        c = slow_clients()
        ok &= c["ok"]
        print(
            f"slow clients: {c['clients']} never reading for {c['seconds']:.0f} s, {c['closed']} closed, RSS {c['rss_open_mb']:.0f} MB after "
            f"opening, max {c['rss_max_mb']:.0f} MB, the reader saw {c['reader_ticks']} ticks -> {'ok' if c['ok'] else 'FAILED'}",
            flush=True,
        )
    if "restarts" not in args.skip:
        r = restarts()
        ok &= r["ok"]
        kwh = [round(p, 2) for p in r["production_kwh"]]
        print(f"restarts: ticks {r['ticks']}, production {kwh} kWh -> {'ok' if r['ok'] else 'FAILED'}", flush=True)
    if "load" not in args.skip:
        for n in (20, 50):
            r = load(n, args.load_seconds)
            print("load: " + describe(r), flush=True)
    if "limits" not in args.skip:
        print("what breaks first (30 s each, Chromium latency off, client latency only):", flush=True)
        for label, runs in (
            ("sessions", [dict(sessions=n) for n in (50, 100, 150)]),
            ("houses", [dict(sessions=5, houses=h) for h in (200, 1000, 5000)]),
            ("interval", [dict(sessions=5, interval_ms=i) for i in (500, 200, 100)]),
        ):
            for kw in runs:
                r = load(seconds=30.0, with_browser=False, **{"houses": 20, "interval_ms": 1000, **kw})
                print(f"  {label:>8}: " + describe(r), flush=True)
                if not meets(r):
                    break
    print(f"soak finished in {time.monotonic() - started:.0f} s: {'all checks passed' if ok else 'SOME CHECKS FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
