"""Dashboard efficiency: websocket bytes per session per tick, tick-to-screen latency, server CPU.

Runs a real `panel serve` on 127.0.0.1 and real sessions against it:

* bytes: one session (raw Bokeh websocket client) at 5 and at 100 houses;
* load: N sessions at 20 houses and a 1 s interval: server CPU (% of one core),
  RSS, and how long after a tick was computed its message reached each client
  (p50/p95), plus tick-to-screen latency measured in Chromium (rendered DOM);
* everything bounded in time; nothing leaves loopback.

The clock is accelerated at speed 1 from 10:00 on a June day: the same pace as
realtime, but a sunny day whatever time the benchmark runs. Not a test: it
prints figures for BENCHMARKS.md and says which targets they meet.

    python benchmarks/bench_dashboard.py [--seconds S] [--sessions 20 50] [--skip-browser]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from browser_support import CHROMIUM_ARGS, chromium_path  # noqa: E402
from server_support import Server, get_json  # noqa: E402

from benchmarks.ws_client import BokehClient, Receiver  # noqa: E402

DAY = {"mode": "accelerated", "start": "2026-06-21T10:00:00", "speed_factor": 1.0}

# Finds span.leg-tick through Panel's shadow roots and records, per tick shown,
# how long after the tick was computed the browser showed it.
LATENCY_JS = """
() => {
  function find(root) {
    const hit = root.querySelector && root.querySelector('span.leg-tick');
    if (hit) return hit;
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) { const f = find(el.shadowRoot); if (f) return f; }
    }
    return null;
  }
  window.__leg_lat = []; let last = null;
  function poll() {
    const el = find(document);
    if (el) {
      const wall = el.getAttribute('data-wall');
      if (wall !== last) { if (last !== null) window.__leg_lat.push(Date.now() / 1000 - parseFloat(wall)); last = wall; }
    }
    requestAnimationFrame(poll);
  }
  poll();
}
"""


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(q / 100 * (len(values) - 1))))
    return values[k]


def bytes_per_tick(houses: int, seconds: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp, Server(Path(tmp), {"houses": houses, "update_interval_ms": 1000, "clock": DAY}) as srv:
        client = BokehClient(srv.base).start()
        client.pulled.wait(30)
        time.sleep(2.0)  # let the first full updates settle
        b0, t0 = client.bytes_received, len(client.ticks_seen)
        time.sleep(seconds)
        b1, t1 = client.bytes_received, len(client.ticks_seen)
        client.close()
    ticks = max(t1 - t0, 1)
    return {"houses": houses, "ticks": ticks, "bytes_per_tick": (b1 - b0) / ticks}


def browser_latency(base: str, seconds: float, path: str = "/main?session=1") -> list[float]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return []
    chromium = chromium_path()
    if chromium is None:
        return []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(base + path, timeout=60_000)
        page.wait_for_selector("span.leg-tick", state="attached", timeout=60_000)  # hidden on a wall screen
        page.evaluate(LATENCY_JS)
        time.sleep(seconds)
        lat = page.evaluate("() => window.__leg_lat")
        browser.close()
    return [float(x) for x in lat]


def load(sessions: int, seconds: float, houses: int = 20, with_browser: bool = True, interval_ms: int = 1000) -> dict:
    config = {"houses": houses, "update_interval_ms": interval_ms, "clock": DAY}
    with tempfile.TemporaryDirectory() as tmp, Server(Path(tmp), config, quick_cleanup=False) as srv, Receiver() as receiver:
        proc = psutil.Process(srv.proc.pid)
        rss_idle_mb = proc.memory_info().rss / 2**20
        clients = []
        for _ in range(sessions):
            clients.append(BokehClient(srv.base, receiver=receiver).start())
        for c in clients:
            c.pulled.wait(60)
        time.sleep(3.0)
        cpu0, w0 = proc.cpu_times(), time.monotonic()
        b0 = [c.bytes_received for c in clients]
        l0 = [len(c.latencies_s) for c in clients]
        _, h0 = get_json(srv.base + "/healthz")
        browser_lat = browser_latency(srv.base, seconds) if with_browser else []
        if not with_browser:
            time.sleep(seconds)
        cpu1, w1 = proc.cpu_times(), time.monotonic()
        _, h1 = get_json(srv.base + "/healthz")
        rss_mb = proc.memory_info().rss / 2**20
        lat = [x for c, k in zip(clients, l0, strict=True) for x in c.latencies_s[k:]]
        ticks = h1["tick"] - h0["tick"]
        per_session = [(c.bytes_received - b) / max(ticks, 1) for c, b in zip(clients, b0, strict=True)]
        errors = [c.error for c in clients if c.error]
        for c in clients:
            c.close()
    wall = w1 - w0
    cpu = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / wall * 100.0
    return {
        "sessions": sessions,
        "houses": houses,
        "interval_ms": interval_ms,
        "seconds": round(wall, 1),
        "ticks": ticks,
        "cpu_percent_of_one_core": cpu,
        "rss_idle_mb": rss_idle_mb,
        "rss_mb": rss_mb,
        "ws_latency_p50_ms": percentile(lat, 50) * 1000,
        "ws_latency_p95_ms": percentile(lat, 95) * 1000,
        "dom_latency_p50_ms": percentile(browser_lat, 50) * 1000,
        "dom_latency_p95_ms": percentile(browser_lat, 95) * 1000,
        "dom_samples": len(browser_lat),
        "bytes_per_session_tick": statistics.median(per_session) if per_session else float("nan"),
        "client_errors": errors,
        "tick_errors": h1["error_count"],
        "overruns": h1["overrun_count"] - h0["overrun_count"],
    }


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0, help="measuring time per scenario [s]")
    ap.add_argument("--sessions", type=int, nargs="+", default=[20], help="session counts for the load scenario")
    ap.add_argument("--skip-browser", action="store_true", help="no Chromium latency measurement")
    args = ap.parse_args(argv)

    print(f"machine: {psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB; measuring {args.seconds:.0f} s per scenario")
    small = bytes_per_tick(5, args.seconds)
    print(f"bytes per session per tick,   5 houses: {small['bytes_per_tick']:8.0f} B over {small['ticks']} ticks "
          f"(target <= 1.5 KB: {verdict(small['bytes_per_tick'] <= 1536)})", flush=True)
    big = bytes_per_tick(100, args.seconds)
    print(f"bytes per session per tick, 100 houses: {big['bytes_per_tick']:8.0f} B over {big['ticks']} ticks "
          f"(target <= 10 KB: {verdict(big['bytes_per_tick'] <= 10240)})", flush=True)
    for n in args.sessions:
        r = load(n, args.seconds, with_browser=not args.skip_browser)
        print(
            f"load: {r['sessions']} sessions, {r['houses']} houses, 1 s interval, {r['seconds']} s: "
            f"server CPU {r['cpu_percent_of_one_core']:.1f} % of one core (target < 30 %: {verdict(r['cpu_percent_of_one_core'] < 30)}), "
            f"RSS {r['rss_idle_mb']:.0f} -> {r['rss_mb']:.0f} MB",
            flush=True,
        )
        print(
            f"      tick-to-client p50/p95 {r['ws_latency_p50_ms']:.0f}/{r['ws_latency_p95_ms']:.0f} ms; "
            f"tick-to-screen (Chromium, {r['dom_samples']} ticks) p50/p95 {r['dom_latency_p50_ms']:.0f}/{r['dom_latency_p95_ms']:.0f} ms "
            f"(target p95 <= 250 ms: {verdict(r['dom_latency_p95_ms'] <= 250 if r['dom_samples'] else r['ws_latency_p95_ms'] <= 250)}); "
            f"{r['bytes_per_session_tick']:.0f} B per session per tick; tick errors {r['tick_errors']}, overruns {r['overruns']}, "
            f"client errors {len(r['client_errors'])}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
