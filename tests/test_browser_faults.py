"""A viewer whose server goes away is told so, and gets the dashboard back after a restart.

Real Chromium against a real server on loopback (see test_browser for the setup
and the skip/fail rule when Chromium is missing).
"""

from __future__ import annotations

import pytest
import test_browser as tb
from server_support import Server, get_json

pytestmark = pytest.mark.browser


def test_restart_shows_connection_lost_then_page_works_again(tmp_path):
    srv = Server(tmp_path, config=tb.SERVER_CONFIG)
    srv.start()
    port = srv.port
    try:
        with tb.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=tb.CHROMIUM, args=tb.CHROMIUM_ARGS, headless=True, timeout=tb.TIMEOUT_MS)
            page = browser.new_context(viewport=tb.VIEWPORT).new_page()
            page.goto(srv.base + "/", timeout=tb.TIMEOUT_MS)
            tb.wait_for_first_tick(page)

            srv.stop()  # the server goes away
            tb.expect(page.get_by_text("Connection to the LEG-Simulator server was lost")).to_be_visible(timeout=tb.TIMEOUT_MS)

            srv = Server(tmp_path, config=tb.SERVER_CONFIG, port=port).start()  # same address again
            assert get_json(srv.base + "/healthz")[0] == 200
            page.reload(timeout=tb.TIMEOUT_MS)
            tb.wait_for_first_tick(page)
            first = tb.shown_tick(page)
            page.wait_for_timeout(1500)
            assert tb.shown_tick(page) > first  # live again
            browser.close()
    finally:
        srv.stop()
