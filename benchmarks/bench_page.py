"""Page cost: building one session's page at 10,000 houses, and the first paint at 5 houses.

Runs a real `panel serve` on 127.0.0.1 and measures:

* **page build**: the time from asking for ``/main`` to having the whole
  document in the client (HTTP page plus the websocket's document pull, through
  the raw Bokeh client of ``benchmarks/ws_client.py``), the size of that
  document, and how much the server's RSS grows for the session. Median of
  several sessions, each closed before the next; budget ≤ 2 s and ≤ 100 MB;
* **first paint**: Chromium's ``first-contentful-paint`` and the time until the
  KPIs show numbers, on loopback, median of several loads; budget ≤ 2 s.

Not a test: it prints figures for BENCHMARKS.md and says which budgets they meet.

    python benchmarks/bench_page.py [--houses 10000] [--sessions 5] [--loads 5]
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
from server_support import Server  # noqa: E402

from benchmarks.ws_client import BokehClient  # noqa: E402

DAY = {"mode": "accelerated", "start": "2026-06-21T10:00:00", "speed_factor": 60.0}
#: Budgets of issue "a dashboard people read at a glance".
BUILD_S, BUILD_MB, FIRST_PAINT_S = 2.0, 100.0, 2.0


def page_build(houses: int, sessions: int) -> dict:
    config = {"houses": houses, "update_interval_ms": 1000, "clock": DAY}
    with tempfile.TemporaryDirectory() as tmp, Server(Path(tmp), config, quick_cleanup=False) as srv:
        proc = psutil.Process(srv.proc.pid)
        time.sleep(3.0)
        times_s, growth_mb, doc_bytes = [], [], []
        for _ in range(sessions):
            rss0 = proc.memory_info().rss / 2**20
            t0 = time.monotonic()
            client = BokehClient(srv.base).start()
            if not client.pulled.wait(60):
                raise RuntimeError(f"no document after 60 s: {client.error}")
            times_s.append(time.monotonic() - t0)
            doc_bytes.append(client.bytes_pulled)
            growth_mb.append(proc.memory_info().rss / 2**20 - rss0)
            client.close()
            time.sleep(2.0)
    return {
        "houses": houses,
        "sessions": sessions,
        "build_s_median": statistics.median(times_s),
        "build_s_max": max(times_s),
        "rss_growth_mb_median": statistics.median(growth_mb),
        "rss_growth_mb_max": max(growth_mb),
        "document_bytes_median": statistics.median(doc_bytes),
    }


FIRST_PAINT_JS = """
() => {
  const fcp = performance.getEntriesByName("first-contentful-paint")[0];
  return fcp ? fcp.startTime / 1000 : null;
}
"""


def first_paint(loads: int) -> dict:
    from playwright.sync_api import sync_playwright

    chromium = chromium_path()
    if chromium is None:
        return {}
    config = {"houses": 5, "update_interval_ms": 1000, "clock": DAY}
    fcp_s, numbers_s = [], []
    with tempfile.TemporaryDirectory() as tmp, Server(Path(tmp), config, quick_cleanup=False) as srv, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        for _ in range(loads):
            context = browser.new_context(viewport={"width": 1366, "height": 768})
            page = context.new_page()
            t0 = time.monotonic()
            page.goto(srv.base + "/main?session=1", timeout=60_000)
            page.wait_for_selector(".leg-kpi b", timeout=60_000)
            numbers_s.append(time.monotonic() - t0)
            fcp = page.evaluate(FIRST_PAINT_JS)
            if fcp is not None:
                fcp_s.append(float(fcp))
            context.close()
        browser.close()
    return {
        "loads": loads,
        "first_contentful_paint_s_median": statistics.median(fcp_s) if fcp_s else float("nan"),
        "numbers_shown_s_median": statistics.median(numbers_s),
        "numbers_shown_s_max": max(numbers_s),
    }


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--houses", type=int, default=10_000)
    ap.add_argument("--sessions", type=int, default=5)
    ap.add_argument("--loads", type=int, default=5)
    args = ap.parse_args()
    print(f"machine: {psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB")
    build = page_build(args.houses, args.sessions)
    print(
        f"page build at {build['houses']:,} houses: median {build['build_s_median']:.2f} s (max {build['build_s_max']:.2f} s), "
        f"server RSS +{build['rss_growth_mb_median']:.1f} MB per session (max {build['rss_growth_mb_max']:.1f} MB), "
        f"document {build['document_bytes_median'] / 1000:.0f} kB — "
        f"{verdict(build['build_s_median'] <= BUILD_S and build['rss_growth_mb_max'] <= BUILD_MB)} (≤ {BUILD_S} s, ≤ {BUILD_MB:.0f} MB)"
    )
    paint = first_paint(args.loads)
    if paint:
        print(
            f"first paint at 5 houses: first-contentful-paint median {paint['first_contentful_paint_s_median']:.2f} s, "
            f"numbers shown median {paint['numbers_shown_s_median']:.2f} s (max {paint['numbers_shown_s_max']:.2f} s) — "
            f"{verdict(paint['numbers_shown_s_median'] <= FIRST_PAINT_S)} (≤ {FIRST_PAINT_S} s)"
        )


if __name__ == "__main__":
    main()
