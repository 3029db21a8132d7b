"""The flow graph in a real Chromium against a real server, at 5 and at 100 houses.

What is checked is what the browser holds and draws: the labels (read from
BokehJS, see ``FLOW_GRAPH_DATA_JS`` in tests/browser_support.py) and their real
widths against the layout's estimate, the search box ringing a house picked by
id, and the moving dots: they move, and while the simulation is paused they
cause no websocket frame in either direction (they live in a client-only
source). With ``prefers-reduced-motion`` there are no dots.

Skipped without Chromium or Playwright, unless ``LEG_REQUIRE_BROWSER=1``.
"""

from __future__ import annotations

import contextlib
import math
import os
import re

import pytest
from browser_support import CHROMIUM_ARGS, FLOW_GRAPH_DATA_JS, chromium_path
from server_support import Server, get_json

pytestmark = pytest.mark.browser

REQUIRE_BROWSER = os.environ.get("LEG_REQUIRE_BROWSER") == "1"


def _unavailable(reason: str) -> None:
    if REQUIRE_BROWSER:
        pytest.fail(f"{reason} (LEG_REQUIRE_BROWSER=1 forbids skipping the browser tests)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


CHROMIUM = chromium_path()
if CHROMIUM is None:
    _unavailable("no Chromium at /usr/bin/chromium or on PATH")
try:
    from playwright.sync_api import expect, sync_playwright
except ImportError as exc:  # pragma: no cover - depends on the environment
    _unavailable(f"the playwright package cannot be imported: {exc}")

from leg_sim.ui import graph_layout as gl  # noqa: E402

TIMEOUT_MS = 60_000
VIEWPORT = {"width": 1366, "height": 900}


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=TIMEOUT_MS)
        yield b
        b.close()


@pytest.fixture(scope="module", params=[5, 100], ids=lambda n: f"{n}-houses")
def server(request, tmp_path_factory):
    config = {"houses": request.param, "update_interval_ms": 500, "seed": 3}
    with Server(tmp_path_factory.mktemp(f"graph{request.param}"), config=config) as srv:
        srv.houses = request.param
        yield srv


def open_page(browser, server, **context_options):
    context = browser.new_context(viewport=VIEWPORT, **context_options)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server.base + "/", timeout=TIMEOUT_MS)
    expect(page.locator("span.leg-tick")).to_have_attribute("data-tick", re.compile(r"^[1-9][0-9]*$"), timeout=TIMEOUT_MS)
    return context, page, errors


def graph(page) -> dict:
    found = page.evaluate(FLOW_GRAPH_DATA_JS)
    assert found is not None, "the flow graph's Bokeh view is not on the page"
    return found


def test_the_graph_shows_labelled_houses_bus_and_grid(browser, server):
    context, page, errors = open_page(browser, server)
    try:
        g = graph(page)
        _, state = get_json(server.base + "/api/state")
        ids = [h["house_id"] for h in state["houses"]]
        labels = [t for t in g["graph_labels"]["data"]["label"] if t]
        hubs = g["graph_hub_labels"]["data"]["label"]
        assert hubs[0].startswith("Bus") and hubs[1].startswith("Grid")
        if server.houses <= gl.DETAIL_LIMIT:
            assert sorted(t.split(" ")[0] for t in labels) == sorted(ids)  # every house, labelled
        else:
            assert len(labels) <= 2 * gl.TOP_N + 4  # the overview: top houses and groups
            assert any("others" in t for t in labels), labels
            assert all(t.split(" ")[0] in ids or "other" in t for t in labels), labels
        assert all(re.search(r"\d (k|M)?W\b", t) or t.endswith("idle") for t in labels), labels
        # The layout's estimate of label widths holds for the font the browser really uses.
        text = g["graph_labels"]
        for label, width in zip(text["data"]["label"], text["widths"], strict=True):
            longest = max(len(line) for line in label.split("\n")) if label else 0
            assert width <= longest * gl.CHAR_EM * text["font_px"] + 0.5, (label, width, text["font_px"])
        # A square frame, never smaller than the layout's design frame.
        canvas = g["canvas"]
        assert abs(canvas["frame_width"] - canvas["frame_height"]) <= 2
        assert canvas["frame_width"] >= gl.FRAME_PX - 1
        assert errors == []
    finally:
        context.close()


def test_search_rings_the_house_picked_by_id(browser, server):
    context, page, errors = open_page(browser, server)
    try:
        _, state = get_json(server.base + "/api/state")
        wanted = state["houses"][-3]["house_id"]
        box = page.get_by_placeholder("Find a house by id")
        box.fill(wanted.lower())
        box.press("Enter")
        deadline = 30
        for _ in range(deadline * 4):
            g = graph(page)
            mark = g["graph_mark"]["data"]
            if mark["x"]:
                break
            page.wait_for_timeout(250)
        houses = g["graph_houses"]["data"]
        assert wanted in houses["id"], houses["id"]
        slot = houses["id"].index(wanted)
        assert math.isclose(mark["x"][0], houses["x"][slot], abs_tol=0.2) and math.isclose(mark["y"][0], houses["y"][slot], abs_tol=0.2)
        assert any(lbl.startswith(wanted + " ") for lbl in g["graph_labels"]["data"]["label"])
        expect(page.locator("text=(ringed)")).to_be_visible(timeout=TIMEOUT_MS)
        box.fill("H99999")
        box.press("Enter")
        expect(page.locator("text=No house")).to_be_visible(timeout=TIMEOUT_MS)
        assert errors == []
    finally:
        context.close()


def _dot_positions(page) -> list:
    return graph(page)["graph_dots"]["data"]["x"]


def test_dots_move_without_any_websocket_traffic_while_paused(browser, server):
    frames = {"sent": 0, "received": 0}

    def on_ws(ws) -> None:
        ws.on("framesent", lambda _payload: frames.__setitem__("sent", frames["sent"] + 1))
        ws.on("framereceived", lambda _payload: frames.__setitem__("received", frames["received"] + 1))

    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.on("websocket", on_ws)
    paused = False
    try:
        page.goto(server.base + "/", timeout=TIMEOUT_MS)
        expect(page.locator("span.leg-tick")).to_have_attribute("data-tick", re.compile(r"^[1-9][0-9]*$"), timeout=TIMEOUT_MS)
        page.get_by_role("button", name="‖ Pause").click(timeout=TIMEOUT_MS)
        paused = True
        expect(page.locator(".leg-paused")).to_be_visible(timeout=TIMEOUT_MS)
        page.wait_for_timeout(1500)  # let the pause and any last tick settle
        before = dict(frames)
        first = _dot_positions(page)
        page.wait_for_timeout(3000)
        second = _dot_positions(page)
        after = dict(frames)
        assert any(x is not None for x in first), "no dots on the graph"
        assert first != second, "the dots did not move"
        assert after["sent"] == before["sent"], f"the animation sent {after['sent'] - before['sent']} websocket frames"
        assert after["received"] == before["received"], "the server sent frames while paused"
    finally:
        if paused:
            with contextlib.suppress(Exception):
                page.get_by_role("button", name="▶ Resume").click(timeout=5000)
        context.close()


def test_no_dots_with_reduced_motion(browser, server):
    context, page, errors = open_page(browser, server, reduced_motion="reduce")
    try:
        page.wait_for_timeout(1500)
        assert all(x is None for x in _dot_positions(page))
        assert errors == []
    finally:
        context.close()
