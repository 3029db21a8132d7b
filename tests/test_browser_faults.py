"""A viewer whose server goes away is told so, and gets the dashboard back by itself after a restart.

Real Chromium against a real server on loopback (see test_browser for the setup
and the skip/fail rule when Chromium is missing).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import pytest
import test_browser as tb
from server_support import Server, get_json

from leg_sim.ui.reconnect import OVERLAY_TEXT

pytestmark = pytest.mark.browser

@contextlib.contextmanager
def watched_page(base_url: str, path: str = "/") -> Iterator:
    """The dashboard open in Chromium (the live page, or with ``?session=1`` a session's page),
    ticking, and long enough for its watchdog to have seen the server once."""
    with tb.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=tb.CHROMIUM, args=tb.CHROMIUM_ARGS, headless=True, timeout=tb.TIMEOUT_MS)
        try:
            page = browser.new_context(viewport=tb.VIEWPORT).new_page()
            page.goto(base_url + path, timeout=tb.TIMEOUT_MS)
            tb.wait_for_first_tick(page)
            page.wait_for_timeout(2500)  # more than one poll of the watchdog
            yield page
        finally:
            browser.close()


#: The page must be live again this long after the server answers again. [s]
RECONNECT_LIMIT_S = 10.0


@pytest.mark.parametrize("path", ["/", "/main?session=1"])
def test_restart_shows_an_overlay_then_the_page_reconnects_by_itself(tmp_path, path):
    srv = Server(tmp_path, config=tb.SERVER_CONFIG)
    srv.start()
    port = srv.port
    try:
        with watched_page(srv.base, path) as page:
            srv.stop()  # the server goes away
            tb.expect(page.get_by_role("alert").filter(has_text=OVERLAY_TEXT)).to_be_visible(timeout=10_000)
            if "session" in path:  # Panel's own note that the session's websocket is gone
                tb.expect(page.locator(".notyf__message").filter(has_text="Connection to the LEG-Simulator server was lost")).to_be_visible(
                    timeout=tb.TIMEOUT_MS
                )

            srv = Server(tmp_path, config=tb.SERVER_CONFIG, port=port).start()  # same address again
            back = time.monotonic()
            assert get_json(srv.base + "/healthz")[0] == 200
            # Nobody touches the page: it reloads itself and ticks again.
            tb.expect(page.locator(".leg-offline")).to_have_count(0, timeout=int(RECONNECT_LIMIT_S * 1000))
            tb.wait_for_first_tick(page)
            live_after_s = time.monotonic() - back
            first = tb.shown_tick(page)
            page.wait_for_timeout(1500)
            assert tb.shown_tick(page) > first  # live again
            assert live_after_s <= RECONNECT_LIMIT_S + 5, live_after_s
    finally:
        srv.stop()


@pytest.mark.parametrize("path", ["/", "/main?session=1"])
def test_a_quick_restart_is_noticed(tmp_path, path):
    """A session's page notices the new server_id; the live page, that the server closed its feed."""
    srv = Server(tmp_path, config=tb.SERVER_CONFIG)
    srv.start()
    port = srv.port
    try:
        with watched_page(srv.base, path) as page:
            old_id = get_json(srv.base + "/healthz")[1]["server_id"]
            page.evaluate("window.__legMarker = 1")  # gone after a reload
            srv.stop()
            srv = Server(tmp_path, config=tb.SERVER_CONFIG, port=port).start()
            assert get_json(srv.base + "/healthz")[1]["server_id"] != old_id
            deadline = time.monotonic() + RECONNECT_LIMIT_S + 5
            while time.monotonic() < deadline and marked(page):
                page.wait_for_timeout(250)
            page.wait_for_load_state(timeout=tb.TIMEOUT_MS)
            assert not marked(page), "the page did not reload after the restart"
            tb.wait_for_first_tick(page)
    finally:
        srv.stop()


def marked(page) -> bool:
    """Whether the page still holds the marker set before the restart (a reload clears it)."""
    try:
        return bool(page.evaluate("window.__legMarker === 1"))
    except tb.PlaywrightError:  # navigating right now: the old page is gone
        return False
