"""Take a screenshot of the live dashboard for the docs.

    python scripts/screenshot.py [OUT.png]        (default: docs/dashboard.png)

Starts a dashboard server on loopback (tests/server_support.Server: 8 houses,
accelerated clock from 2026-06-21 09:00 at 60 simulated s per s, seed 3, a tick
every 500 ms) with its config in a temporary directory, opens the page in the
Debian Chromium (/usr/bin/chromium, through Playwright) at 1500x1100, waits until
a few ticks have been shown, hovers house H001 so its tooltip is visible, saves a
full-page screenshot and stops the server.

The pixel position of H001 comes from BokehJS: the flow graph's PlotView (figure
name ``flow_graph``) maps the node's data coordinates (from
``leg_sim.ui.graph_layout.community_layout``) to canvas pixels.
"""

from __future__ import annotations

import math
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from browser_support import CHROMIUM_ARGS, FIND_FLOW_GRAPH_JS, chromium_path  # noqa: E402
from server_support import Server, get_json  # noqa: E402

from leg_sim.ui.graph_layout import community_layout  # noqa: E402

CONFIG = {
    "houses": 8,
    "update_interval_ms": 500,
    "seed": 3,
    "clock": {"mode": "accelerated", "start": "2026-06-21T09:00:00", "speed_factor": 60},
}
VIEWPORT = {"width": 1500, "height": 1100}
TIMEOUT_MS = 30_000
#: Ticks to wait for after the first one shown, so the chart has a little history.
TICKS = 4
#: Hover this far from the node centre, away from the bus, so only the house's tooltip
#: shows (its edge to the bus starts at the centre and has a tooltip of its own). [px]
HOVER_OFFSET_PX = 5.0



def chromium() -> str:
    path = chromium_path()
    if path is None:
        sys.exit("error: no Chromium at /usr/bin/chromium or on PATH")
    return path


def shown_tick(page) -> int:
    return int(page.locator("span.leg-tick").get_attribute("data-tick", timeout=TIMEOUT_MS) or 0)


def take(out: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="leg-shot-") as tmp, Server(Path(tmp), config=CONFIG) as server:
        _, state = get_json(server.base + "/api/state")
        ids = tuple(h["house_id"] for h in state["houses"])
        lay = community_layout(ids)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS, timeout=TIMEOUT_MS)
            try:
                page = browser.new_page(viewport=VIEWPORT)
                page.goto(server.base + "/", timeout=TIMEOUT_MS)
                tick = page.locator("span.leg-tick")
                expect(tick).to_have_attribute("data-tick", re.compile(r"^[1-9][0-9]*$"), timeout=TIMEOUT_MS)
                first = shown_tick(page)
                deadline = time.monotonic() + 30
                while shown_tick(page) < first + TICKS and time.monotonic() < deadline:
                    page.wait_for_timeout(200)
                house = [float(v) for v in lay.house_xy[ids.index("H001")]]
                found = page.evaluate(FIND_FLOW_GRAPH_JS, [house, list(lay.bus_xy)])
                points = found["points"] if found else None
                if points is None:
                    sys.exit("error: the flow graph's Bokeh view was not found on the page")
                (hx, hy), (bx, by) = points
                d = math.hypot(hx - bx, hy - by) or 1.0
                x, y = hx + HOVER_OFFSET_PX * (hx - bx) / d, hy + HOVER_OFFSET_PX * (hy - by) / d
                page.mouse.move(5, 5)
                tip = page.locator(".bk-tooltip-content").filter(has_text="Production (PV)")
                for attempt in range(40):
                    page.mouse.move(x + (attempt % 2) * 0.5, y, steps=3)
                    page.wait_for_timeout(150)
                    if tip.count() and tip.first.is_visible():
                        break
                else:
                    print("warning: the tooltip of H001 did not show", file=sys.stderr)
                page.wait_for_timeout(300)
                page.screenshot(path=str(out), full_page=True)
            finally:
                browser.close()
    print(f"wrote {out}")


def main(argv: list[str]) -> None:
    if len(argv) > 1 or (argv and argv[0] in ("-h", "--help")):
        print(__doc__)
        sys.exit(0 if argv and argv[0] in ("-h", "--help") else 2)
    out = Path(argv[0]) if argv else REPO / "docs" / "dashboard.png"
    take(out)


if __name__ == "__main__":
    main(sys.argv[1:])
