"""The wall page (``/wall``): built once per theme and house set for every viewer, fed by the
shared feed, with no Bokeh session per viewer; its feed holds a place of the session cap.

On real servers on loopback; the last test drives the page in a real Chromium.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import time
import urllib.error
import urllib.request

import pytest
import websocket
from browser_support import CHROMIUM_ARGS, chromium_path
from hypothesis import given
from hypothesis import strategies as st
from server_support import Server, get_json
from test_feed import feed_url

from benchmarks.ws_client import TOKEN, RawSession, find_models
from leg_sim.server.admission import wall_address
from leg_sim.settings import setting
from leg_sim.ui.feed import house_set_key

#: The feed id and house-set key a wall page's script carries.
FEED_ID = re.compile(r'const sid = "([^"]+)"')
SET_KEY = re.compile(r'"set": "([0-9a-f]+)"')


# ---------------------------------------------------------------------------- pure
def test_the_wall_page_is_found_next_to_the_page_asked_for():
    assert wall_address("/main", "") == "wall"
    assert wall_address("/main", "display=wall&theme=dark") == "wall?display=wall&theme=dark"
    assert wall_address("/main/", "theme=dark") == "../wall?theme=dark"
    assert wall_address("/main", "theme=dark", "live") == "live?theme=dark"
    # The root: relative to it, so a proxy's prefix ("/leg/" seen as "/") stays ("../wall" would lose it).
    assert wall_address("/", "") == "wall" and wall_address("/", "theme=dark", "live") == "live?theme=dark"


ids = st.lists(st.text(alphabet="H0123456789-x", min_size=1, max_size=6), max_size=8).map(tuple)


@given(ids, ids)
def test_a_house_set_key_follows_the_ids_and_their_order(a, b):
    assert house_set_key(a) == house_set_key(tuple(a))
    assert re.fullmatch(r"[0-9a-f]{16}", house_set_key(a))
    if a != b:
        assert house_set_key(a) != house_set_key(b)


# ---------------------------------------------------------------------------- a real server
def fetch(url: str, method: str = "GET") -> tuple[int, dict[str, str], str]:
    """Status, headers and body of a request that does not follow redirects."""
    host, _, path = url.split("//", 1)[1].partition("/")
    conn = http.client.HTTPConnection(host, timeout=60)
    try:
        conn.request(method, "/" + path)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode()
    finally:
        conn.close()


def first_frame(srv: Server, feed_id: str, origin: str | None) -> dict | int | str:
    """The first frame the feed gives this id from `origin`, or the refusal: an HTTP status, or
    ``"closed <code>"``."""
    try:
        ws = websocket.create_connection(feed_url(srv, feed_id), origin=origin, timeout=15, suppress_origin=origin is None)
    except websocket.WebSocketBadStatusException as exc:
        return exc.status_code
    try:
        opcode, data = ws.recv_data()
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return f"closed {int.from_bytes(data[:2], 'big') if len(data) >= 2 else None}"
        return json.loads(data)
    except websocket.WebSocketConnectionClosedException:
        return "closed None"
    finally:
        ws.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with Server(tmp_path_factory.mktemp("wall"), {"houses": 6, "update_interval_ms": 500}) as srv:
        yield srv


def test_a_wall_page_is_built_once_and_opens_no_session(server):
    feed_ids = set()
    for _ in range(5):
        status, headers, body = fetch(server.base + "/wall")
        assert status == 200 and headers["content-type"].startswith("text/html") and headers["cache-control"] == "no-store"
        feed_ids.add(FEED_ID.search(body).group(1))
        # Every file from this server: no CDN, no fonts from elsewhere.
        assert not [u for u in re.findall(r'(?:src|href)="([^"]+)"', body) if "//" in u], body[:500]
        assert "cdn.holoviz.org" not in body
    assert len(feed_ids) == 5, "each request gets its own feed id"
    health = get_json(server.base + "/healthz")[1]
    assert health["sessions"] == 0 and health["wall_pages_built"] == 1
    status, _, body = fetch(server.base + "/wall?theme=dark")
    assert status == 200 and get_json(server.base + "/healthz")[1]["wall_pages_built"] == 2
    status, headers, body = fetch(server.base + "/wall", method="HEAD")
    assert status == 200 and body == "" and headers["content-type"].startswith("text/html")


def test_the_feed_serves_a_wall_page_from_an_allowed_origin_only(server):
    _, _, body = fetch(server.base + "/wall")
    feed_id, key = FEED_ID.search(body).group(1), SET_KEY.search(body).group(1)
    frame = first_frame(server, feed_id, server.base)
    assert isinstance(frame, dict) and frame["full"] and frame["set"] == key
    houses = [h["house_id"] for h in get_json(server.base + "/api/state")[1]["houses"]]
    assert key == house_set_key(tuple(houses))
    assert first_frame(server, feed_id, "http://evil.example") == 403
    assert first_frame(server, feed_id, None) == 403
    forged = feed_id[:-4] + ("AAAA" if not feed_id.endswith("AAAA") else "BBBB")
    assert first_frame(server, forged, server.base) == "closed 1008"
    assert first_frame(server, "made-up", server.base) == "closed 1008"


def test_a_viewer_asking_for_the_dashboard_gets_a_page_built_once(server):
    status, headers, _ = fetch(server.base + "/main?display=wall&theme=dark")
    assert status == 302 and headers["location"] == "wall?display=wall&theme=dark"
    status, headers, _ = fetch(server.base + "/main?theme=dark")
    assert status == 302 and headers["location"] == "live?theme=dark"
    status, _, body = fetch(server.base + "/main?session=1")
    assert status == 200 and TOKEN.search(body), "asked for, the dashboard is a session's page"


def test_a_full_server_refuses_wall_pages_and_their_feeds(tmp_path):
    config = {"houses": 4, "update_interval_ms": 500, "read_only": True}
    with Server(tmp_path, config, env={"LEG_MAX_SESSIONS": "2"}) as srv:
        # A read-only server shows every screen the wall.
        status, headers, _ = fetch(srv.base + "/main")
        assert status == 302 and headers["location"] == "wall"
        ids = [FEED_ID.search(fetch(srv.base + "/wall")[2]).group(1) for _ in range(3)]
        sockets = [websocket.create_connection(feed_url(srv, i), origin=srv.base, timeout=15) for i in ids[:2]]
        try:
            for ws in sockets:
                assert json.loads(ws.recv())["full"]
                assert "full" not in json.loads(ws.recv())  # then the next tick's delta
            health = get_json(srv.base + "/healthz")[1]
            assert health["wall_feeds"] == 2 and health["sessions"] == 0
            # The server's part of a screen's latency: from a tick to its frame written to every feed.
            assert 0 <= health["feed_delay_ms"] < 1000
            assert first_frame(srv, ids[2], srv.base) == "closed 1013"
            status, headers, body = fetch(srv.base + "/wall")
            assert status == 503 and int(headers["retry-after"]) > 0 and "tries again" in body
        finally:
            sockets.pop().close()
        deadline = time.monotonic() + 10
        while get_json(srv.base + "/healthz")[1]["wall_feeds"] != 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert fetch(srv.base + "/wall")[0] == 200
        for ws in sockets:
            ws.close()


def test_one_address_gets_its_share_of_wall_screens_and_sessions_together(tmp_path):
    """Behind a proxy (--use-xheaders): an address's wall feeds and sessions share its part of the
    cap; beyond it the wall page gets 429 and a further feed from it is closed with 1013."""
    env = {"LEG_MAX_SESSIONS": "6", "LEG_MAX_SESSIONS_PER_ADDRESS": "2"}
    crowd = ["X-Real-IP: 203.0.113.7"]
    with Server(tmp_path, {"houses": 4, "update_interval_ms": 500}, env=env, extra=("--use-xheaders",)) as srv:
        feed_id = FEED_ID.search(fetch(srv.base + "/wall")[2]).group(1)
        url = feed_url(srv, feed_id)
        sockets = [websocket.create_connection(url, origin=srv.base, timeout=15, header=crowd) for _ in range(2)]
        try:
            for ws in sockets:
                assert json.loads(ws.recv())["full"]
            late = websocket.create_connection(url, origin=srv.base, timeout=15, header=crowd)
            opcode, data = late.recv_data()
            late.close()
            assert opcode == websocket.ABNF.OPCODE_CLOSE and int.from_bytes(data[:2], "big") == 1013
            request = urllib.request.Request(srv.base + "/wall", headers={"X-Real-IP": "203.0.113.7"})
            try:
                urllib.request.urlopen(request, timeout=30)
                status = 200
            except urllib.error.HTTPError as exc:
                status = exc.code
            assert status == 429
            # Another address still gets its screens.
            other = websocket.create_connection(url, origin=srv.base, timeout=15, header=["X-Real-IP: 198.51.100.9"])
            assert json.loads(other.recv())["full"]
            other.close()
        finally:
            for ws in sockets:
                ws.close()


# ---------------------------------------------------------------------------- in Chromium
CHROMIUM = chromium_path()


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None and os.environ.get("LEG_REQUIRE_BROWSER") != "1", reason="no Chromium at /usr/bin/chromium")
def test_the_wall_page_follows_the_ticks_and_loads_the_page_of_a_new_house_set(server):
    from playwright.sync_api import sync_playwright

    houses = setting("houses")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        errors: list[str] = []
        requested: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requested.append(r.url))
        page.goto(server.base + "/main?display=wall", wait_until="load", timeout=60_000)
        assert page.url.startswith(server.base + "/wall")
        page.wait_for_function("() => Number(document.body.dataset.feedSeq || -1) > 0", timeout=60_000)
        clock = page.locator(".leg-clock").first
        seq0, clock0 = int(page.evaluate("document.body.dataset.feedSeq")), clock.text_content()
        page.wait_for_function(f"() => Number(document.body.dataset.feedSeq) >= {seq0 + 3}", timeout=30_000)
        assert clock.text_content() != clock0, ("the simulated clock on the wall did not move", errors)
        count_js = "() => Bokeh.documents[0].get_model_by_name('leg-graph-houses').data.x.length"
        before = page.evaluate(count_js)
        page.evaluate("() => { window.legMark = 1; }")
        # Another viewer adds a house, through a dashboard session's slider.
        client = RawSession(server.base).open()
        try:
            doc = client.pull()
            client.ready()
            slider = next(m for m in find_models(doc, "Slider") if str(m["attributes"].get("title", "")).startswith(houses.full_label))
            client.set_property(slider["id"], "value", before + 1)
            client.replies(1.0)
        finally:
            client.close()
        # The wall page takes the new set's places from the feed and draws the new house, without a reload (the mark stays).
        page.wait_for_function(f"() => {{ try {{ return ({count_js})() == {before + 1}; }} catch (e) {{ return false; }} }}", timeout=30_000)
        seq1 = int(page.evaluate("document.body.dataset.feedSeq"))
        page.wait_for_function(f"() => Number(document.body.dataset.feedSeq) >= {seq1 + 2}", timeout=30_000)
        assert page.evaluate("() => window.legMark") == 1, "the wall page loaded itself again"
        edges = page.evaluate("() => Bokeh.documents[0].get_model_by_name('leg-graph-edges').data")
        assert len(edges["x0"]) == len(edges["p"]) == before + 2  # one edge per house, and the grid's
        own = re.compile(rf"^(https?|wss?)://127\.0\.0\.1:{server.port}/")
        assert [u for u in requested if not own.match(u) and not u.startswith(("data:", "blob:"))] == []
        assert errors == []
        assert get_json(server.base + "/healthz")[1]["wall_pages_built"] >= 2
        # The server goes away (the last test of the module): the page says its numbers are frozen.
        offline = page.locator(".leg-offline")
        assert offline.count() == 0 or not offline.is_visible()
        server.stop()
        offline.wait_for(state="visible", timeout=15_000)
        assert "unreachable" in offline.text_content()
        browser.close()
