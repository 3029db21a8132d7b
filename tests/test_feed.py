"""The shared feed: one frame per tick for every page, deltas that add up to the full frame,
and a /feed websocket that only live pages of this server, from allowed origins, may open."""

from __future__ import annotations

import json
import threading
import time

import pytest
import websocket
from conftest import make_sim
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from server_support import Server

from benchmarks.ws_client import BokehClient, RawSession, find_models
from leg_sim.server.feed import choose
from leg_sim.ui import charts, kpis, today
from leg_sim.ui.dashboard import GRAPH_FRAMES
from leg_sim.ui.feed import FeedBuilder, encode
from leg_sim.ui.flow_graph import graph_places, shared_columns
from leg_sim.ui.readmodel import ReadModel


# ---------------------------------------------------------------------------- a page, in Python
def apply(page: dict, frame: dict) -> dict:
    """What the page's script (leg_sim.ui.feed.CLIENT_JS) does with a frame, for a page showing every chart window."""
    for key in ("kpis", "today", "controls"):
        if key in frame:
            page.setdefault(key, {}).update(frame[key])
    for name, cols in frame.get("graph", {}).items():
        page.setdefault("graph", {}).setdefault(name, {}).update(cols)
    for label, part in frame.get("chart", {}).items():
        rows = part["rows"]
        have = page.setdefault("chart", {}).get(label)
        if part["reset"] or have is None:
            page["chart"][label] = {k: list(v) for k, v in rows.items()}
            continue
        last = have["time"][-1] if have["time"] else -1
        keep = [i for i, t in enumerate(rows.get("time", [])) if t > last]
        for k in have:
            have[k] = (have[k] + [rows[k][i] for i in keep])[-charts.BUFFER_LENGTH :]
    if "places" in frame:
        page["places"] = frame["places"]
    sk = frame.get("sankey", {})
    if "spec" in sk:
        page["sankey"] = json.loads(json.dumps(sk["spec"]))
    elif "restyle" in sk:
        for path, value in sk["restyle"].items():
            head, name = path.split(".")
            page["sankey"]["data"][0][head][name] = value[0]
    page["seq"] = frame["seq"]
    return page


def shown(page: dict) -> dict:
    return {k: v for k, v in page.items() if k != "seq"}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    houses=st.integers(1, 70),
    new_houses=st.integers(1, 70),
    ticks=st.integers(2, 25),
    change_at=st.integers(1, 24),
)
def test_the_deltas_of_every_tick_add_up_to_the_full_frame(houses, new_houses, ticks, change_at):
    """A page that applied every delta since the first frame shows exactly what a new page
    gets in the full frame, also across a change of the house set (and across the 50-house
    line between the detailed graph and the overview)."""
    sim = make_sim(houses=houses, clock={"speed_factor": 600.0})
    builder = FeedBuilder(ReadModel(sim), GRAPH_FRAMES)
    page: dict = {}
    for t in range(ticks):
        if t == change_at:
            sim.house_count = new_houses
        frame = builder.frame(sim.step())
        delta = json.loads(frame.delta)
        assert delta["prev"] == page.get("seq", 0)
        apply(page, delta)
        assert shown(page) == shown(apply({}, json.loads(frame.full())))


def test_a_frame_carries_what_the_views_show():
    sim = make_sim(houses=8)
    reader = ReadModel(sim)
    builder = FeedBuilder(reader, GRAPH_FRAMES)
    for _ in range(3):
        snap = sim.step()
        frame = builder.frame(snap)
        assert ("places" in json.loads(frame.delta)) == (snap.tick == 1), "places travel in the delta only when the house set changes"
    full = json.loads(frame.full())
    # The places of each layout, as the flow graph of a page of that size lays them out.
    for layout, size in GRAPH_FRAMES.items():
        assert full["places"][layout] == json.loads(encode(graph_places(snap, *size)[1]))
    assert full["tick"] == snap.tick == frame.tick and full["full"] is True
    assert full["kpis"] == kpis.kpi_values(snap)
    assert full["today"] == today.today_values(reader.today())
    graph = shared_columns(snap)
    assert full["graph"]["houses"]["n"] == graph["houses"]["n"] and full["graph"]["houses"]["id"] == list(snap.house_ids)
    assert set(full["chart"]) == {w.label for w in charts.WINDOWS}
    assert full["sankey"]["spec"]["data"][0]["type"] == "sankey"


def test_a_delta_holds_only_what_changed():
    sim = make_sim(houses=20, clock={"speed_factor": 60.0})
    builder = FeedBuilder(ReadModel(sim))
    for _ in range(6):
        previous = sim.snapshot
        frame = builder.frame(sim.step())
    delta, full = json.loads(frame.delta), json.loads(frame.full())
    # The ids and the slot labels stay; the powers move.
    assert "id" not in delta["graph"]["houses"] and "label" not in delta["graph"]["houses"]
    assert "n" in delta["graph"]["houses"]
    assert len(json.dumps(delta["graph"])) < len(json.dumps(full["graph"])) / 2
    # A KPI slot whose text did not change does not travel.
    before, now = kpis.kpi_values(previous), kpis.kpi_values(sim.snapshot)
    assert set(delta["kpis"]) == {k for k in now if now[k] != before[k]}


def test_pausing_sends_the_badge_without_a_tick():
    sim = make_sim(houses=4)
    builder = FeedBuilder(ReadModel(sim))
    snap = sim.step()
    builder.frame(snap)
    sim.paused = True
    frame = builder.frame(snap)
    delta = json.loads(frame.delta)
    assert delta["tick"] == snap.tick and delta["kpis"] == {"paused": kpis.PAUSED_BADGE}


@pytest.mark.parametrize(
    ("last_seq", "seq", "writing", "expected"),
    [(None, 5, False, "full"), (4, 5, False, "delta"), (3, 5, False, "full"), (4, 5, True, "skip"), (5, 5, False, "none"), (None, 1, True, "skip")],
)
def test_what_a_socket_gets(last_seq, seq, writing, expected):
    assert choose(last_seq, seq, writing) == expected


# ---------------------------------------------------------------------------- the websocket on a real server
def feed_url(srv: Server, session_id: str) -> str:
    return f"ws://127.0.0.1:{srv.port}/feed?id={session_id}"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with Server(tmp_path_factory.mktemp("feed"), {"houses": 6, "update_interval_ms": 500}) as srv:
        yield srv


@pytest.fixture
def unfed_page(server):
    """A page's session, opened and ready, whose feed is not open."""
    client = BokehClient(server.base, feed=False).start()
    assert client.pulled.wait(60)
    yield client
    client.close()


def test_pages_in_step_get_the_same_bytes_and_no_bokeh_updates(server):
    """Two pages with their feed open get byte-identical frames of each tick, and their
    sessions send them nothing per tick over the Bokeh websocket."""
    clients = [BokehClient(server.base).start() for _ in range(2)]
    try:
        assert all(c.pulled.wait(60) for c in clients)
        sockets = [websocket.create_connection(feed_url(server, c._session_id), origin=server.base, timeout=10) for c in clients]
        frames: list[dict[int, bytes]] = [{}, {}]
        for _ in range(6):
            for ws, got in zip(sockets, frames, strict=True):
                raw = ws.recv()
                got[json.loads(raw)["seq"]] = raw.encode() if isinstance(raw, str) else raw
        for ws in sockets:
            ws.close()
        common = sorted(set(frames[0]) & set(frames[1]))[1:]  # the first frame of each page is its full one
        assert len(common) >= 3
        for seq in common:
            assert frames[0][seq] == frames[1][seq]
            assert b'"full"' not in frames[0][seq]
        # The clients' own feeds (opened by BokehClient) keep the sessions fed: nothing per tick on the Bokeh socket.
        before = [c.messages_after_pull for c in clients]
        time.sleep(3.0)
        assert [c.messages_after_pull - b for c, b in zip(clients, before, strict=True)] == [0, 0]
        assert all(c.feed_frames >= 4 for c in clients)
    finally:
        for c in clients:
            c.close()


def test_a_session_without_a_feed_updates_its_page_itself(unfed_page):
    client = unfed_page
    time.sleep(3.0)
    assert client.messages_after_pull >= 3 and len(client.latencies_s) >= 3


def handshake_status(url: str, origin: str | None) -> int | str:
    try:
        ws = websocket.create_connection(url, origin=origin, timeout=10, suppress_origin=origin is None)
    except websocket.WebSocketBadStatusException as exc:
        return exc.status_code
    try:
        ws.settimeout(10)
        return "open" if ws.recv() else "closed"
    except websocket.WebSocketConnectionClosedException:
        return "closed"
    finally:
        ws.close()


def test_only_a_live_page_from_an_allowed_origin_gets_the_feed(server, unfed_page):
    client = unfed_page
    good = feed_url(server, client._session_id)
    assert handshake_status(good, server.base) == "open"
    assert handshake_status(good, "http://evil.example") == 403
    assert handshake_status(good, None) == 403
    assert handshake_status(feed_url(server, "made-up-session-id"), server.base) == "closed"


def test_a_page_that_sends_to_the_feed_is_closed(server, unfed_page):
    client = unfed_page
    ws = websocket.create_connection(feed_url(server, client._session_id), origin=server.base, timeout=10)
    ws.recv()
    ws.send(json.dumps({"house_count": 10000}))
    closed = threading.Event()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if not ws.recv():  # the close frame
                closed.set()
                break
        except websocket.WebSocketConnectionClosedException:
            closed.set()
            break
    assert closed.is_set()
    assert client.pulled.is_set() and client.error is None


def test_what_one_visitor_does_in_their_page_sends_other_pages_nothing(server):
    """A search typed in one page is that page's business: a fed page elsewhere gets no
    message for it (Panel's process-wide busy spinner once sent every page two)."""
    watcher = BokehClient(server.base).start()
    visitor = RawSession(server.base).open()
    try:
        assert watcher.pulled.wait(60)
        deadline = time.monotonic() + 10
        while watcher.feed_frames < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        doc = visitor.pull()
        visitor.ready()
        search = find_models(doc, "panel.models.widgets.TextInput")
        assert search
        quiet = watcher.messages_after_pull
        for text in ("H00", "H001", "", "H002", ""):
            visitor.set_property(search[0]["id"], "value", text)
            visitor.replies(0.3)
        time.sleep(1.0)
        assert watcher.messages_after_pull == quiet
        assert watcher.error is None
    finally:
        visitor.close()
        watcher.close()


def test_a_page_whose_feed_closes_is_updated_by_its_session_again(server):
    client = BokehClient(server.base).start()
    try:
        assert client.pulled.wait(60)
        deadline = time.monotonic() + 10
        while client.feed_frames < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert client.feed_frames >= 2
        quiet = client.messages_after_pull
        time.sleep(1.5)
        assert client.messages_after_pull == quiet  # fed: nothing per tick on the Bokeh socket
        client._closing = True  # the feed's end is not an error of this client
        client._feed_ws.close()
        time.sleep(3.0)
        # The session sends its page everything again, then every tick.
        assert client.messages_after_pull - quiet >= 3
    finally:
        client.close()


def test_a_page_gets_no_update_before_it_is_ready_and_every_tick_after(server):
    """A session does no work for its page before the page says it is ready (document_ready):
    the browser pulls the document then. A page without a feed is updated from then on."""
    session = RawSession(server.base).open()
    try:
        session.pull()
        before = [h["msgtype"] for h, _ in session.replies(2.0)]  # four ticks at 500 ms
        assert "PATCH-DOC" not in before, before
        session.ready()
        after = [h["msgtype"] for h, _ in session.replies(2.0)]
        assert after.count("PATCH-DOC") >= 2, after
    finally:
        session.close()
