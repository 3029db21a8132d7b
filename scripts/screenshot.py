"""Take the README's pictures of the live dashboard: desktop, wall screen and phone.

    python scripts/screenshot.py [OUT_DIR]        (default: docs/)

Starts a dashboard server on loopback (tests/server_support.Server: 12 houses,
accelerated clock from 2026-06-21 09:00 at 60 simulated s per s, seed 3, a tick
every 500 ms) with its config in a temporary directory, opens the page in the
Debian Chromium (/usr/bin/chromium, through Playwright) three times, waits until
a few ticks have been shown, and saves one screenshot per layout:

* ``dashboard-desktop.png`` — 1366×768, light theme;
* ``dashboard-wall.png`` — 1920×1080, ``?display=wall&theme=dark``;
* ``dashboard-phone.png`` — 390×844, light theme (the first screen).

Then it stops the server.
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from browser_support import CHROMIUM_ARGS, chromium_path  # noqa: E402
from server_support import Server  # noqa: E402

CONFIG = {
    "houses": 12,
    "update_interval_ms": 500,
    "seed": 3,
    "clock": {"mode": "accelerated", "start": "2026-06-21T09:00:00", "speed_factor": 60},
}
#: (file name, viewport, URL query) of each picture.
SHOTS = (
    ("dashboard-desktop.png", {"width": 1366, "height": 768}, ""),
    ("dashboard-wall.png", {"width": 1920, "height": 1080}, "?display=wall&theme=dark"),
    ("dashboard-phone.png", {"width": 390, "height": 844}, ""),
)
TIMEOUT_MS = 30_000
#: Ticks to wait for after the first one shown, so the chart has a little history.
TICKS = 4


def chromium() -> str:
    path = chromium_path()
    if path is None:
        sys.exit("error: no Chromium at /usr/bin/chromium or on PATH")
    return path


def shown_tick(page) -> int:
    return int(page.locator("span.leg-tick").get_attribute("data-tick", timeout=TIMEOUT_MS) or 0)


def wait_for_ticks(page) -> None:
    from playwright.sync_api import expect

    tick = page.locator("span.leg-tick")
    expect(tick).to_have_attribute("data-tick", re.compile(r"^[1-9][0-9]*$"), timeout=TIMEOUT_MS)
    first = shown_tick(page)
    deadline = time.monotonic() + 30
    while shown_tick(page) < first + TICKS and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    page.wait_for_timeout(500)


def take(out_dir: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="leg-shot-") as tmp, Server(Path(tmp), config=CONFIG) as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS, timeout=TIMEOUT_MS)
        try:
            for name, viewport, query in SHOTS:
                context = browser.new_context(viewport=viewport, device_scale_factor=1)
                page = context.new_page()
                page.goto(f"{server.base}/main{query}", timeout=TIMEOUT_MS)
                wait_for_ticks(page)
                path = out_dir / name
                page.screenshot(path=str(path))
                written.append(path)
                context.close()
        finally:
            browser.close()
    for path in written:
        print(f"wrote {path}")
    return written


def main(argv: list[str]) -> None:
    if len(argv) > 1 or (argv and argv[0] in ("-h", "--help")):
        print(__doc__)
        sys.exit(0 if argv and argv[0] in ("-h", "--help") else 2)
    take(Path(argv[0]) if argv else REPO / "docs")


if __name__ == "__main__":
    main(sys.argv[1:])
