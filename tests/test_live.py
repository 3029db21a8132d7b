"""The live page (``/live``): the dashboard with its controls, built once per theme and house set
for every viewer and driven over the shared feed, with no Bokeh session per viewer. Its controls,
chart window buttons and graph search talk to the server over the page's feed.

Raw clients on real servers on loopback, then the page in a real Chromium.
"""

from __future__ import annotations

import itertools
import json
import os
import time

import pytest
import websocket
from browser_support import CHROMIUM_ARGS, chromium_path
from server_support import Server, get_json
from test_feed_controls import PageFeed
from test_wall import FEED_ID, fetch

from leg_sim.ui.flow_graph import MAX_SEARCH_CHARS, SEARCH_MESSAGE_TAG

CHROMIUM = chromium_path()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with Server(tmp_path_factory.mktemp("live"), {"houses": 6, "update_interval_ms": 500}) as srv:
        yield srv


# ---------------------------------------------------------------------------- raw clients
def test_the_live_page_is_built_once_and_opens_no_session(server):
    built0 = get_json(server.base + "/healthz")[1]["wall_pages_built"]
    feed_ids = set()
    for _ in range(4):
        status, headers, body = fetch(server.base + "/live")
        assert status == 200 and headers["cache-control"] == "no-store"
        feed_ids.add(FEED_ID.search(body).group(1))
        assert "leg-control:house_count" in body and "legControl" in body
    assert len(feed_ids) == 4
    health = get_json(server.base + "/healthz")[1]
    assert health["wall_pages_built"] - built0 <= 1 and health["sessions"] == 0
    assert fetch(server.base + "/live", "HEAD")[0] == 200


def test_a_read_only_server_gives_the_wall_layout_at_live(tmp_path):
    with Server(tmp_path, {"houses": 3, "update_interval_ms": 500, "read_only": True}) as srv:
        status, _, body = fetch(srv.base + "/live")
        assert status == 200 and "leg-control:house_count" not in body and "Read-only" not in body


def search_reply(feed: PageFeed, query: str) -> dict:
    """Send a search and return the first answer to it."""
    got: list[dict] = []
    feed.ws.send(json.dumps({"search": query}))
    deadline = time.monotonic() + 15
    while not got and time.monotonic() < deadline:
        opcode, data = feed.ws.recv_data()
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            break
        message = json.loads(data)
        if "search" in message and message["search"]["query"] == query.strip():
            got.append(message["search"])
    assert got, f"no answer to the search {query!r}"
    return got[0]


def test_a_search_is_answered_with_the_ring_and_the_message(server):
    feed = PageFeed(server)
    try:
        part = search_reply(feed, " h3 ")
        assert part["slot"] == 2 and "H003" in part["message"] and part["graph"] is None
        part = search_reply(feed, "<b>x</b>")
        assert part["slot"] is None and "&lt;b&gt;x&lt;/b&gt;" in part["message"] and "<b>x" not in part["message"]
        assert search_reply(feed, "")["message"] == ""
    finally:
        feed.close()


def test_a_search_in_the_overview_takes_the_house_out_of_its_group(tmp_path):
    with Server(tmp_path, {"houses": 80, "update_interval_ms": 500}) as srv:
        feed = PageFeed(srv)
        try:
            assert feed.read_until(lambda f: f.controls)
            for house in ("H001", "H040", "H080"):
                part = search_reply(feed, house)
                ids = part["graph"]["houses"]["id"]
                assert ids[part["slot"]] == house and ids.count(house) == 1, part
                assert house in part["message"]
        finally:
            feed.close()


def test_a_search_longer_than_the_box_allows_closes_the_socket(server):
    feed = PageFeed(server)
    try:
        feed.ws.send(json.dumps({"search": "H" * (MAX_SEARCH_CHARS + 1)}))
        assert feed.read_until(lambda f: f.close_code is not None)
        assert feed.close_code == 1008
    finally:
        feed.close()


# ---------------------------------------------------------------------------- in Chromium
TAGGED_JS = """([tag, key]) => { for (const m of Bokeh.documents[0].all_models) if (m.tags && m.tags.includes(tag)) return m[key]; return null; }"""
DATA_JS = "(name) => Bokeh.documents[0].get_model_by_name(name).data"


@pytest.mark.skipif(CHROMIUM is None and os.environ.get("LEG_REQUIRE_BROWSER") != "1", reason="no Chromium at /usr/bin/chromium")
def test_the_live_page_drives_the_shared_simulation_and_follows_it(server):
    from playwright.sync_api import sync_playwright

    watcher = PageFeed(server)  # the server's state, as any page's feed reports it
    assert watcher.read_until(lambda f: f.controls)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server.base + "/live", wait_until="load", timeout=60_000)
        page.wait_for_function("() => Number(document.body.dataset.feedSeq || -1) > 0", timeout=60_000)

        # Pause from the page: the server pauses, and the button says what pressing it does now.
        page.get_by_role("button", name="‖ Pause").click()
        assert watcher.read_until(lambda f: f.controls.get("paused") is True)
        page.get_by_role("button", name="▶ Resume").click()
        assert watcher.read_until(lambda f: f.controls.get("paused") is False)
        page.get_by_role("button", name="‖ Pause").wait_for(timeout=10_000)

        # Another viewer's changes reach this page's widgets; the speed is off in real time.
        target = 0.3 if watcher.controls["flex_load_probability"] != 0.3 else 0.4
        watcher.send(set="flex_load_probability", value=target)
        page.wait_for_function(f"() => ({TAGGED_JS})(['leg-control:flex_load_probability', 'value']) == {target}", timeout=10_000)
        watcher.send(set="clock_mode", value="realtime")
        page.wait_for_function(f"() => ({TAGGED_JS})(['leg-control:speed_factor', 'disabled']) === true", timeout=10_000)
        watcher.send(set="clock_mode", value="accelerated")
        page.wait_for_function(f"() => ({TAGGED_JS})(['leg-control:speed_factor', 'disabled']) === false", timeout=10_000)

        # A value the slider cannot give (as a hostile script would send it): refused, said as text.
        page.evaluate("() => window.legControl('house_count', {value: 1.5})")
        said = page.locator(".leg-message").first.get_by_text("1.5 was not applied")
        said.wait_for(timeout=10_000)
        assert "allowed: integer 1 to 200" in said.text_content()

        # A dragged slider: the frames do not set it back while it moves, and the server ends at its last value.
        handle = page.locator(".noUi-handle").nth(2)  # the third slider: flex load probability
        track = page.locator(".noUi-target").nth(2).bounding_box()
        box = handle.bounding_box()
        x0, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(x0, y)
        page.mouse.down()
        seen = []
        for i in range(1, 21):
            page.mouse.move(x0 + i * (track["x"] + track["width"] - x0) / 20, y)
            page.wait_for_timeout(50)
            seen.append(page.evaluate(TAGGED_JS, ["leg-control:flex_load_probability", "value"]))
        page.mouse.up()
        assert all(b >= a for a, b in itertools.pairwise(seen)), f"the slider jumped back while dragged: {seen}"
        assert watcher.read_until(lambda f: f.controls.get("flex_load_probability") == seen[-1], 10), (seen[-1], watcher.controls)

        # The chart's window: the page asks for the whole window and shows it.
        page.get_by_role("button", name="1 h").click()
        page.wait_for_function(f"() => ({DATA_JS})('leg-chart-window').window[0] == '1 h'", timeout=10_000)
        page.get_by_role("button", name="Today").click()
        page.wait_for_function(f"() => ({DATA_JS})('leg-chart-window').window[0] == 'Today'", timeout=10_000)
        # Today's bins are 5 min wide: consecutive points of the chart lie 5 min apart.
        page.wait_for_function(
            f"() => {{ const t = ({DATA_JS})('leg-chart-source').time; return t.length >= 2 && Math.abs(t[1] - t[0] - 300000) < 1; }}",
            timeout=15_000,
        )

        # The graph's search: the ring sits on the house, the message names it.
        box = page.get_by_placeholder("Find a house by id, e.g. H001")
        box.fill("h4")
        box.press("Enter")
        page.wait_for_function(f"() => ({DATA_JS})('leg-graph-mark').x.length == 1", timeout=10_000)
        houses, mark = page.evaluate(DATA_JS, "leg-graph-houses"), page.evaluate(DATA_JS, "leg-graph-mark")
        assert (mark["x"][0], mark["y"][0]) == (houses["x"][3], houses["y"][3])
        assert "H004" in page.evaluate(TAGGED_JS, [SEARCH_MESSAGE_TAG, "text"])
        box.fill("")
        box.press("Enter")
        page.wait_for_function(f"() => ({DATA_JS})('leg-graph-mark').x.length == 0", timeout=10_000)

        # A house more from this page: the server takes it, and the page lays out the new set in place.
        count_js = f"() => {{ try {{ return ({DATA_JS})('leg-graph-houses').x.length; }} catch (e) {{ return -1; }} }}"
        before = page.evaluate(count_js)
        page.evaluate("() => { window.legMark = 1; }")
        page.locator(".noUi-handle").first.focus()
        page.keyboard.press("ArrowRight")
        assert watcher.read_until(lambda f: f.controls.get("house_count") == before + 1)
        page.wait_for_function(f"() => ({count_js})() == {before + 1}", timeout=30_000)
        page.wait_for_timeout(1500)
        assert page.evaluate("() => window.legMark") == 1, "the page loaded itself again"
        assert page.evaluate(f"() => ({DATA_JS})('leg-chart-window').window[0]") == "Today", "the chart's window was lost"
        assert errors == []
        assert get_json(server.base + "/healthz")[1]["sessions"] == 0
        browser.close()
    watcher.close()
