"""Viewers held by one server process versus one engine and two workers on the same machine.

For each session count (default 100, 200, 400), two set-ups on 127.0.0.1, 20 houses, 1 s
interval, with Debian's mosquitto as the broker:

* **one process**: ``panel serve`` with the engine in it (as ``make serve``), every session on it;
* **engine + 2 workers**: the engine (``mqtt.workers: true``) serves no sessions; two
  ``serve --worker`` processes get half the sessions each (as nginx spreads browsers).

Pages are paced as each role's default (``leg_sim.server.admission``).

Measured per set-up: CPU per session opened (all server processes), websocket receive latency
p50/p95 over every tick of every session (tick computed on the engine → message arrived; across
processes the snapshot's trip through the broker is included), server CPU of all processes
together (% of one core) and the busiest process's, and ticks lost: of the ticks of the window
that reached some session, how many each session lacks (or got over ``LOSS_GRACE_S`` late;
``ws_client.ticks_missing``), and whether that many ticks is what the engine computed (a tick
no session received is seen only there). A set-up whose p95 passes 250 ms, that loses a tick,
or whose sessions do not all open, is not run at the next size: that is what breaks first.

The clients run in this process, on the same 2 cores as the servers: at hundreds of sessions
they take CPU from them, so the figures are an upper bound. Once open, every session is received
by one shared thread (``ws_client.Receiver``), not two threads per session. Not a test: it prints figures for
BENCHMARKS.md.

    python benchmarks/bench_cluster.py [--sessions 100 200 400] [--seconds 30] [--setup both|one|workers]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from broker_support import Broker  # noqa: E402
from server_support import Server, free_port, get_json  # noqa: E402

from benchmarks.bench_dashboard import DAY, percentile  # noqa: E402
from benchmarks.ws_client import Receiver, open_sessions, ticks_missing  # noqa: E402
from leg_sim.server import admission  # noqa: E402

P95_MS = 250.0
#: Wait after the window before the clients close, so its last ticks can arrive. [s]
LOSS_GRACE_S = 3.0


def cpu_s(procs: list[psutil.Process]) -> list[float]:
    return [p.cpu_times().user + p.cpu_times().system for p in procs]


def run(servers: list[Server], every: list[Server], sessions: int, seconds: float, open_timeout_s: float) -> dict:
    """`sessions` clients spread evenly over `servers`; CPU counted over `every` server process."""
    procs = [psutil.Process(s.proc.pid) for s in every]
    cpu0, t0 = cpu_s(procs), time.monotonic()
    with Receiver() as receiver:
        clients, opened, failures = open_sessions([s.base for s in servers], sessions, open_timeout_s, receiver=receiver)
        open_s = time.monotonic() - t0
        open_cpu = sum(cpu_s(procs)) - sum(cpu0)
        result: dict = {"opened": opened, "open_s": open_s, "open_cpu_ms": open_cpu / max(opened, 1) * 1000.0, "failures": failures[:3]}
        if opened < sessions:
            for c in clients:
                c.close()
            result["broken"] = f"{sessions - opened} of {sessions} sessions had no document after {open_timeout_s:.0f} s"
            return result
        time.sleep(3.0)
        marks = [len(c.latencies_s) for c in clients]
        tick1 = get_json(every[0].base + "/healthz", timeout_s=30)[1]["tick"]
        cpu1, t1, wall1 = cpu_s(procs), time.monotonic(), time.time()
        time.sleep(seconds)
        cpu2, t2, wall2 = cpu_s(procs), time.monotonic(), time.time()
        tick2 = get_json(every[0].base + "/healthz", timeout_s=30)[1]["tick"]
        lat = [x for c, k in zip(clients, marks, strict=True) for x in c.latencies_s[k:]]
        errors = [c.error for c in clients if c.error]
        time.sleep(LOSS_GRACE_S)  # the last ticks of the window reach every client
        per_proc = [(b - a) / (t2 - t1) * 100.0 for a, b in zip(cpu1, cpu2, strict=True)]
        sent, missing, sessions_missing = ticks_missing([set(c.ticks_seen) for c in clients], wall1, wall2)
        result["first_error"] = errors[0] if errors else None
        for c in clients:
            c.close()
        result.update(
            p50_ms=percentile(lat, 50) * 1000.0, p95_ms=percentile(lat, 95) * 1000.0, samples=len(lat),
            cpu_total=sum(per_proc), cpu_busiest=max(per_proc), errors=len(errors),
            ticks_sent=sent, ticks_missing=missing, sessions_missing=sessions_missing, ticks_computed=tick2 - tick1,
        )
        return result


def one_process(tmp: Path, sessions: int, seconds: float, open_timeout_s: float, env: dict) -> dict:
    config = {"houses": 20, "update_interval_ms": 1000, "clock": DAY}
    with Server(tmp, config, env=env, quick_cleanup=False) as srv:
        time.sleep(3.0)
        return run([srv], [srv], sessions, seconds, open_timeout_s)


def engine_and_workers(tmp: Path, sessions: int, seconds: float, open_timeout_s: float, env: dict) -> dict:
    with Broker(tmp, free_port()) as broker:
        config = {"houses": 20, "update_interval_ms": 1000, "clock": DAY,
                  "mqtt": {"enabled": True, "workers": True, "broker": broker.url, "publish_interval_s": 3600.0}}
        with Server(tmp, config, env=env, quick_cleanup=False) as engine:
            time.sleep(2.0)
            worker_env = {**env, "LEG_ROLE": "worker", "LEG_PAGES_PER_S": str(admission.WORKER_PAGES_PER_S)}
            workers = [Server(tmp, config, env=worker_env, quick_cleanup=False).start() for _ in range(2)]
            try:
                time.sleep(3.0)
                ticks = [get_json(s.base + "/api/state")[1]["tick"] for s in (engine, *workers)]
                result = run(workers, [engine, *workers], sessions, seconds, open_timeout_s)
                result["tick_spread"] = max(ticks) - min(ticks)
                return result
            finally:
                for w in workers:
                    w.stop()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, nargs="+", default=[100, 200, 400])
    ap.add_argument("--seconds", type=float, default=30.0, help="steady-state measuring time per run [s]")
    ap.add_argument("--open-timeout", type=float, default=240.0, help="longest wait for all sessions to open [s]")
    ap.add_argument("--setup", choices=("both", "one", "workers"), default="both", help="run only one of the two set-ups")
    args = ap.parse_args(argv)
    env = {"LEG_PAGE_BURST": str(admission.BURST), "LEG_PAGES_PER_S": str(admission.PAGES_PER_S)}
    print(f"machine: {psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB; 20 houses, 1 s interval", flush=True)
    setups = {"one process": one_process, "engine + 2 workers": engine_and_workers}
    chosen = {"both": tuple(setups), "one": ("one process",), "workers": ("engine + 2 workers",)}[args.setup]
    alive = {name: setups[name] for name in chosen}
    for n in args.sessions:
        for name, setup in list(alive.items()):
            with tempfile.TemporaryDirectory() as tmp:
                r = setup(Path(tmp), n, args.seconds, args.open_timeout, env)
            head = f"{n:4d} sessions, {name:18s}: opened {r['opened']} in {r['open_s']:.0f} s, {r['open_cpu_ms']:.0f} ms CPU per session"
            if "broken" in r:
                print(f"{head}; BROKEN: {r['broken']} {r['failures']}", flush=True)
                del alive[name]
                continue
            # A tick no session received is not among those sent: their number must match the engine's count
            # (one either way, for the ticks at the window's edges).
            lost = r["ticks_missing"] or r["ticks_sent"] < r["ticks_computed"] - 1
            held = r["p95_ms"] <= P95_MS and r["errors"] == 0 and not lost
            print(f"{head}; latency p50/p95 {r['p50_ms']:.0f}/{r['p95_ms']:.0f} ms ({r['samples']} samples; "
                  f"engine computed {r['ticks_computed']} ticks, {r['ticks_sent']} reached sessions, "
                  f"{r['ticks_missing']} missing or over {LOSS_GRACE_S:.0f} s late at {r['sessions_missing']} sessions), "
                  f"CPU {r['cpu_total']:.0f} % of one core in all, busiest process {r['cpu_busiest']:.0f} %, client errors {r['errors']}"
                  + (f", tick spread at start {r['tick_spread']}" if "tick_spread" in r else "")
                  + ("" if held else f"  <- NOT HELD (p95 ≤ {P95_MS:.0f} ms and no tick missing; first error: {r['first_error']})"), flush=True)
            if not held:
                del alive[name]
        if not alive:
            break
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
