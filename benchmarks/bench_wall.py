"""Pages without a session (``/wall``, or ``/live`` with ``--page live``): one page built once for every viewer, fed by the shared feed.

For each count of screens (default 50, 100, 200, 400), on one ``panel serve`` on 127.0.0.1
(20 houses, 1 s interval, as bench_sessions.py), the screens open at once, 20 at a time, as
wall screens reconnecting after a restart would: each asks for ``/wall``, opens the feed
websocket with the page's id and waits for its first frame. Measured:

* **opening**: time until every screen has its first frame, and the server's CPU per screen
  opened (the page's bytes and the feed's first, full frame; the page itself was built once,
  before, and that build is reported on its own; with ``--cold`` it is not, as after a restart:
  the first request builds it while the others wait, and both figures include that build);
* **steady state** over ``--seconds``: feed receive latency p50/p95 over every frame of every
  screen (tick computed → frame arrived; with hundreds of screens this is mostly this process
  reading them one after another), the server's own part of it (``feed_delay_ms`` of
  ``/healthz``: the longest time from a tick to its frame written to the last feed, in the
  last minute), server CPU (% of one core), ticks lost
  (``ws_client.ticks_missing``), memory per open screen, and, from ``/healthz``, the longest
  event-loop lag and garbage-collection pause of the last minute and the sessions held (0: a
  wall screen holds none);
* with ``--browser``, one Chromium page of the same kind among them: tick-to-screen latency.

``--page live`` measures the live page (the dashboard with its controls, ``/live``) the same way:
its viewers are "screens" here.

The clients run in this process, on the same 2 cores as the server, so the figures are an
upper bound. Not a test: it prints figures for BENCHMARKS.md.

    python benchmarks/bench_wall.py [--screens 50 100 200 400] [--seconds 60] [--browser] [--cold] [--page wall|live]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import multiprocessing
import re
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil
import websocket

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from server_support import Server, get_json  # noqa: E402

from benchmarks.bench_dashboard import DAY, browser_latency, percentile  # noqa: E402
from benchmarks.ws_client import Receiver, ticks_missing  # noqa: E402

#: The feed id in a wall page's script.
FEED_ID = re.compile(r'const sid = "([^"]+)"')
#: Targets of the session figures (issue "one server that holds"), applied to wall screens.
P95_MS, CPU_PCT, OPEN_CPU_MS, REOPEN_S, GC_MS = 250.0, 60.0, 200.0, 60.0, 100.0


class Screen:
    """One wall screen: its page, its feed socket, and what arrived."""

    def __init__(self, base: str, receiver: Receiver, timeout_s: float, path: str = "/wall"):
        self.first = threading.Event()
        #: (tick stamp, received) of every frame, epoch [s].
        self.arrivals: list[tuple[float, float]] = []
        self.error: str | None = None
        with urllib.request.urlopen(base + path, timeout=timeout_s) as r:
            feed_id = FEED_ID.search(r.read().decode()).group(1)
        url = base.replace("http://", "ws://") + "/feed?id=" + feed_id
        self.ws = websocket.create_connection(url, origin=base, timeout=timeout_s)
        receiver.add(self.ws, self._on_frame, self._on_error)

    def _on_frame(self, data: str | bytes, received_s: float) -> None:
        frame = json.loads(data)
        if "wall" not in frame:  # a reply to this page alone, not a tick
            return
        self.arrivals.append((float(frame["wall"]), received_s))
        self.first.set()

    def _on_error(self, message: str) -> None:
        self.error = message

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()


def latencies_in(arrivals: list[list[tuple[float, float]]], start_wall_s: float, end_wall_s: float) -> list[float]:
    """Receive latencies [s] of the frames of ticks stamped within the window, each screen's first frame (its full one) left out."""
    return [r - w for screen in arrivals for (w, r) in screen[1:] if start_wall_s <= w <= end_wall_s]


def client_process(base: str, path: str, count: int, timeout_s: float, go: Any, stop: Any, out: Any) -> None:
    """One client process (``--client-procs``): when `go` is set, opens `count` screens with its
    own receiver thread, reports ``("open", screens with a frame, failures)``, reads until `stop`
    is set, then reports ``("done", arrivals per screen, screens with an error)``."""
    go.wait()
    failures: list[str] = []
    with Receiver() as receiver:

        def open_one(_: int) -> Screen | None:
            try:
                return Screen(base, receiver, timeout_s, path)
            except Exception as exc:  # reported to the parent
                failures.append(f"{type(exc).__name__}: {exc}")
                return None

        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, 20 // 4)) as pool:
            opened = [sc for sc in pool.map(open_one, range(count)) if sc is not None]
        deadline = time.monotonic() + timeout_s
        first = sum(sc.first.wait(max(deadline - time.monotonic(), 0.1)) for sc in opened)
        out.put(("open", first, failures[:3]))
        stop.wait()
        out.put(("done", [list(sc.arrivals) for sc in opened], sum(1 for sc in opened if sc.error)))
        for sc in opened:
            sc.close()


def cpu_s(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system


def scenario(
    screens: int, seconds: float, with_browser: bool, cold: bool = False, timeout_s: float = 120.0, path: str = "/wall", client_procs: int = 1
) -> dict:
    config = {"houses": 20, "update_interval_ms": 1000, "clock": DAY}
    with tempfile.TemporaryDirectory() as tmp, Server(Path(tmp), config, quick_cleanup=False) as srv, Receiver() as receiver:
        proc = psutil.Process(srv.proc.pid)
        time.sleep(3.0)
        build_cpu_ms = float("nan")
        if not cold:
            cpu0 = cpu_s(proc)
            urllib.request.urlopen(srv.base + path, timeout=60).read()  # the one build
            build_cpu_ms = (cpu_s(proc) - cpu0) * 1000.0
            time.sleep(1.0)
        rss0_mb = proc.memory_info().rss / 2**20
        failures: list[str] = []
        opened: list[Screen] = []
        children: list[Any] = []
        ctx = multiprocessing.get_context("spawn")
        go, stop, out = ctx.Event(), ctx.Event(), ctx.Queue()
        if client_procs > 1:
            # Each process opens its share of the screens and reads them on its own thread, started
            # (and its imports done) before the clock runs.
            shares = [screens // client_procs + (1 if i < screens % client_procs else 0) for i in range(client_procs)]
            children = [ctx.Process(target=client_process, args=(srv.base, path, n, timeout_s, go, stop, out), daemon=True) for n in shares]
            for child in children:
                child.start()
            time.sleep(5.0)

        def open_one(_: int) -> Screen | None:
            try:
                return Screen(srv.base, receiver, timeout_s, path)
            except Exception as exc:  # reported below
                failures.append(f"{type(exc).__name__}: {exc}")
                return None

        cpu1, t1 = cpu_s(proc), time.monotonic()
        if children:
            go.set()
            first = 0
            for _ in children:
                _, got, child_failures = out.get(timeout=timeout_s + 30)
                first += got
                failures.extend(child_failures)
        else:
            with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
                opened = [s for s in pool.map(open_one, range(screens)) if s is not None]
            first = sum(s.first.wait(max(timeout_s - (time.monotonic() - t1), 0.1)) for s in opened)
        open_s = time.monotonic() - t1
        open_cpu_ms = (cpu_s(proc) - cpu1) * 1000.0 / max(first, 1)
        result: dict = {"screens": screens, "build_cpu_ms": build_cpu_ms, "opened": first, "open_s": open_s,
                        "open_cpu_ms": open_cpu_ms, "client_procs": client_procs,
                        "failures": failures[:3]}
        try:
            if first < screens:
                result["broken"] = f"{screens - first} of {screens} screens had no frame after {timeout_s:.0f} s"
                return result
            time.sleep(3.0)
            browser: list[list[float]] = []
            watcher = threading.Thread(target=lambda: browser.append(browser_latency(srv.base, seconds, path)), daemon=True)
            if with_browser:
                watcher.start()
                time.sleep(5.0)  # the page has loaded and its feed is open
            cpu2, t2, wall2 = cpu_s(proc), time.monotonic(), time.time()
            time.sleep(seconds)
            cpu3, t3, wall3 = cpu_s(proc), time.monotonic(), time.time()
            rss_mb = proc.memory_info().rss / 2**20
            time.sleep(3.0)  # the window's last frames arrive
            if with_browser:
                watcher.join(seconds + 60)
            health = get_json(srv.base + "/healthz", timeout_s=30)[1]
            arrivals = [list(sc.arrivals) for sc in opened]
            errors = sum(1 for sc in opened if sc.error)
            if children:
                stop.set()
                for _ in children:
                    _, child_arrivals, child_errors = out.get(timeout=60)
                    arrivals.extend(child_arrivals)
                    errors += child_errors
            lat = latencies_in(arrivals, wall2, wall3)
            sent, missing, screens_missing = ticks_missing([{w for w, _ in screen} for screen in arrivals], wall2, wall3)
            result.update(
                p50_ms=percentile(lat, 50) * 1000.0, p95_ms=percentile(lat, 95) * 1000.0, samples=len(lat),
                cpu_pct=(cpu3 - cpu2) / (t3 - t2) * 100.0, ticks_sent=sent, ticks_missing=missing, screens_missing=screens_missing,
                mb_per_screen=(rss_mb - rss0_mb) / screens, rss_mb=rss_mb, errors=errors,
                loop_lag_ms=health.get("event_loop_lag_ms"), gc_pause_ms=health.get("gc_pause_ms"), sessions=health.get("sessions"),
                feed_delay_ms=health.get("feed_delay_ms"),
                wall_feeds=health.get("wall_feeds"), pages_built=health.get("wall_pages_built"),
                screen_p50_ms=percentile(browser[0], 50) * 1000.0 if browser else float("nan"),
                screen_p95_ms=percentile(browser[0], 95) * 1000.0 if browser else float("nan"),
                screen_samples=len(browser[0]) if browser else 0,
            )
            return result
        finally:
            stop.set()
            for child in children:
                child.join(30)
                if child.is_alive():
                    child.kill()
            for sc in opened:
                sc.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--screens", type=int, nargs="+", default=[50, 100, 200, 400])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--browser", action="store_true", help="also one Chromium page of the same kind: its tick-to-screen latency")
    ap.add_argument("--page", choices=["wall", "live"], default="wall", help="the page the screens open: /wall, or /live (with controls)")
    ap.add_argument("--cold", action="store_true", help="no page built before the screens open, as after a restart: the first request builds it")
    ap.add_argument("--client-procs", type=int, default=1, help="client processes that share the screens (one receiver thread each)")
    args = ap.parse_args(argv)
    print(f"machine: {psutil.cpu_count()} cores; 20 houses, 1 s interval; {args.seconds:.0f} s per size; page /{args.page}; "
          f"{max(1, args.client_procs)} client process(es)")
    print("| screens | all open | CPU per screen opened | feed p50 / p95 (client) | server: tick → last feed written | CPU | ticks lost "
          "| MB per screen | loop lag | GC pause | sessions | Chromium p50 / p95 |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in args.screens:
        r = scenario(n, args.seconds, args.browser, args.cold, path="/" + args.page, client_procs=max(1, args.client_procs))
        if "broken" in r:
            print(f"| {n} | BROKEN: {r['broken']}; {r['failures']} |")
            return 1
        print(
            f"| {n} | {r['open_s']:.1f} s | {r['open_cpu_ms']:.1f} ms | {r['p50_ms']:.0f} / {r['p95_ms']:.0f} ms | {r['feed_delay_ms']} ms "
            f"| {r['cpu_pct']:.1f} % "
            f"| {r['ticks_missing']} of {r['ticks_sent']} | {r['mb_per_screen']:.3f} | {r['loop_lag_ms']} ms | {r['gc_pause_ms']} ms "
            f"| {r['sessions']} | {r['screen_p50_ms']:.0f} / {r['screen_p95_ms']:.0f} ms ({r['screen_samples']}) |",
            flush=True,
        )
        print(f"  (page built once: {r['build_cpu_ms']:.0f} ms CPU; pages built {r['pages_built']}; errors {r['errors']}; "
              f"RSS {r['rss_mb']:.0f} MB)", flush=True)
        # The latency target is the server's: its own part, and Chromium's screen where measured.
        screen_ok = not r["screen_samples"] or r["screen_p95_ms"] <= P95_MS
        held = ((r["feed_delay_ms"] or 0) <= P95_MS and screen_ok and r["cpu_pct"] <= CPU_PCT and r["open_cpu_ms"] <= OPEN_CPU_MS
                and r["open_s"] <= REOPEN_S and r["ticks_missing"] == 0 and (r["gc_pause_ms"] or 0) <= GC_MS)
        if not held:
            print(f"  NOT HELD at {n} screens")
    return 0


if __name__ == "__main__":
    sys.exit(main())
