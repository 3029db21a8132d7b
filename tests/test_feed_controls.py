"""A page without a session changes the shared simulation over its feed (``{"set": name, "value": v}``):
the server checks every value as it checks a session's widget, applies at most one change of a
setting per page per interval, answers a refused value to that page alone, and closes a socket that
floods it. Raw websocket clients against a real server on loopback.
"""

from __future__ import annotations

import itertools
import json
import re
import time

import pytest
import websocket
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from server_support import Server, get_json
from test_feed import feed_url
from test_wall import FEED_ID, fetch

from leg_sim.engine import CONTROLLED
from leg_sim.settings import control_value, live_settings
from leg_sim.ui.feed import MAX_PAGE_MESSAGES_PER_S, page_request
from leg_sim.ui.gate import MIN_CHANGE_INTERVAL_S, ChangeGate


# ---------------------------------------------------------------------------- pure
@given(st.one_of(st.binary(max_size=64), st.text(max_size=64), st.dictionaries(st.text(max_size=8), st.integers(), max_size=3)))
def test_only_two_shapes_of_message_are_requests(raw):
    message = json.dumps(raw) if isinstance(raw, dict) else raw
    request = page_request(message)
    if request is not None:
        assert request[0] in ("set", "full")


def test_the_request_shapes():
    assert page_request('{"set": "house_count", "value": 12}') == ("set", ("house_count", 12))
    assert page_request('{"full": true}') == ("full", None)
    for bad in ('{"set": 1, "value": 2}', '{"set": "a"}', '{"set": "a", "value": 1, "x": 0}', '{"full": 1}', "[]", "nan", "{", "[" * 5000):
        assert page_request(bad) is None, bad


@given(st.lists(st.tuples(st.sampled_from("ab"), st.integers(0, 9), st.floats(0.0, 0.6)), min_size=1, max_size=30))
def test_a_gate_applies_each_setting_at_most_once_per_interval_and_keeps_the_newest(offers):
    """Offers at increasing times: applied changes of one setting are at least the interval apart,
    and after the last offer, what waits is the newest value offered for each setting."""
    gate, now_s, applied = ChangeGate(), 0.0, {"a": [], "b": []}
    newest = {}
    for name, value, step_s in offers:
        now_s += step_s
        newest[name] = value
        for waiting_name, waiting_value in gate.take_waiting().items():
            if gate.offer(waiting_name, waiting_value, now_s) == 0:
                gate.applied(waiting_name, now_s)
                applied[waiting_name].append((now_s, waiting_value))
        if gate.offer(name, value, now_s) == 0:
            gate.applied(name, now_s)
            applied[name].append((now_s, value))
    for times in applied.values():
        assert all(b[0] - a[0] >= MIN_CHANGE_INTERVAL_S - 1e-9 for a, b in itertools.pairwise(times))
    for name, value in newest.items():
        last = gate.waiting.get(name, applied[name][-1][1] if applied[name] else None)
        assert last == value


# ---------------------------------------------------------------------------- a real server
CONFIG = {"houses": 6, "update_interval_ms": 500}
LIVE = {s.name: s for s in live_settings()}
#: The configured values (the server's check allows them and its widgets' ranges), and what the server starts with.
CONFIGURED = {"houses": 6, "update_interval_ms": 500, "clock.mode": "accelerated", "clock.speed_factor": 60}
INITIAL: dict = {}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with Server(tmp_path_factory.mktemp("feed-controls"), CONFIG) as srv:
        feed = PageFeed(srv)
        assert feed.read_until(lambda f: f.controls)
        INITIAL.update(feed.controls)
        feed.close()
        yield srv


class PageFeed:
    """The feed of a page without a session, as a raw client: sends requests, reads frames and replies."""

    def __init__(self, srv: Server):
        feed_id = FEED_ID.search(fetch(srv.base + "/wall")[2]).group(1)
        self.ws = websocket.create_connection(feed_url(srv, feed_id), origin=srv.base, timeout=15)
        self.controls: dict = {}
        #: The `controls` part of every frame read, in order.
        self.announced: list[dict] = []
        self.replies: list[dict] = []
        self.close_code: int | None = None

    def send(self, **request) -> None:
        self.ws.send(json.dumps(request))

    def read_until(self, done, timeout_s: float = 15.0) -> bool:
        """Read messages until `done(self)` holds, the socket closes, or `timeout_s` passes."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if done(self):
                return True
            try:
                opcode, data = self.ws.recv_data()
            except (websocket.WebSocketConnectionClosedException, websocket.WebSocketTimeoutException):
                return done(self)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                self.close_code = int.from_bytes(data[:2], "big") if len(data) >= 2 else None
                return done(self)
            message = json.loads(data)
            if "refused" in message:
                self.replies.append(message)
            else:
                self.controls.update(message.get("controls", {}))
                if "controls" in message:
                    self.announced.append(message["controls"])
        return done(self)

    def close(self) -> None:
        self.ws.close()


@pytest.fixture
def page(server):
    feed = PageFeed(server)
    assert feed.read_until(lambda f: f.controls)
    yield feed
    feed.close()


def test_a_page_sets_a_live_setting_and_every_page_sees_it(server, page):
    other = PageFeed(server)
    try:
        assert other.read_until(lambda f: f.controls)
        target = 0.35 if page.controls["flex_load_probability"] != 0.35 else 0.4
        page.send(set="flex_load_probability", value=target)
        assert other.read_until(lambda f: f.controls.get("flex_load_probability") == target)
        assert page.read_until(lambda f: f.controls.get("flex_load_probability") == target)
        assert page.replies == []
    finally:
        other.close()


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("house_count", 10_000, "1 to 200"),
        ("house_count", 1.5, "1 to 200"),
        ("house_count", "abc", "1 to 200"),
        ("house_count", None, "1 to 200"),
        ("house_count", [3], "1 to 200"),
        ("house_count", True, "1 to 200"),
        ("speed_factor", 7.0, "one of 1, 10, 60"),
        ("clock_mode", "<b>fast</b>", "realtime"),
        ("paused", "yes", "true or false"),
        ("read_only", False, "not a control"),
        ("__class__", 1, "not a control"),
    ],
)
def test_a_value_no_widget_offers_changes_nothing_and_only_that_page_hears_why(server, page, name, value, allowed):
    before = dict(page.controls)
    page.send(set=name, value=value)
    assert page.read_until(lambda f: f.replies)
    reply = page.replies[-1]
    assert allowed in reply["text"] and "Traceback" not in reply["text"], reply
    if name in before:
        assert reply["refused"] == name and reply["value"] == before[name]
    else:
        assert reply["refused"] is None and reply["value"] is None
    # The socket stays open, and the setting is as it was (the next frames still say so).
    page.send(full=True)
    assert page.read_until(lambda f: f.close_code is None and f.controls == before, 5)
    assert page.close_code is None


def test_a_dragged_slider_is_applied_at_most_once_per_interval_and_ends_at_its_last_value(server, page):
    values = [0.1, 0.15, 0.2, 0.25, 0.3, 0.12]
    page.announced.clear()
    for v in values:
        page.send(set="flex_load_probability", value=v)
    assert page.read_until(lambda f: f.controls.get("flex_load_probability") == values[-1], 10)
    assert page.replies == [] and page.close_code is None
    # Each applied change is announced in a frame: the burst gives the first value, then the newest.
    applied = [c["flex_load_probability"] for c in page.announced if "flex_load_probability" in c]
    assert applied == [values[0], values[-1]]


def test_a_page_that_floods_its_feed_is_closed(server):
    feed = PageFeed(server)
    try:
        for _ in range(MAX_PAGE_MESSAGES_PER_S + 5):
            feed.send(full=True)
        assert feed.read_until(lambda f: f.close_code is not None)
        assert feed.close_code == 1008
    finally:
        feed.close()


def test_a_read_only_server_takes_no_change(tmp_path):
    with Server(tmp_path, {"houses": 3, "update_interval_ms": 500, "read_only": True}) as srv:
        feed = PageFeed(srv)
        try:
            assert feed.read_until(lambda f: f.controls)
            before = dict(feed.controls)
            feed.send(set="house_count", value=4)
            assert feed.read_until(lambda f: f.replies)
            assert re.search("read-only", feed.replies[0]["text"])
            time.sleep(1.5)
            feed.send(full=True)
            assert feed.read_until(lambda f: f.controls == before and f.close_code is None, 5)
        finally:
            feed.close()


#: Values a hostile page may send for a control: anything JSON can carry (and NaN, which Python's JSON reads).
ANY_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**30), 10**30) | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=5,
)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from([*CONTROLLED, "read_only", "seed", "houses", ""]), ANY_VALUE), min_size=1, max_size=12))
def test_whatever_a_page_sends_for_a_control_the_simulation_keeps_values_its_widgets_allow(server, changes):
    feed = PageFeed(server)
    try:
        assert feed.read_until(lambda f: f.controls)
        for name, value in changes:
            message = json.dumps({"set": name, "value": value})
            if len(message.encode()) > 256:  # larger than any page sends: the socket would close
                continue
            feed.ws.send(message)
            time.sleep(1.0 / MAX_PAGE_MESSAGES_PER_S + 0.01)
        feed.send(full=True)
        time.sleep(MIN_CHANGE_INTERVAL_S + 0.2)
        feed.send(full=True)
        feed.read_until(lambda f: f.close_code is not None, 1.5)  # every frame and reply of the burst
        assert feed.close_code is None, "a well-formed request closed the socket"
        for name, value in feed.controls.items():
            s = LIVE.get(name)
            if s is not None and value != INITIAL[name]:
                control_value(s, value, CONFIGURED.get(s.key))  # raises if a widget could not have set it
            elif name == "paused":
                assert isinstance(value, bool)
        assert all(r["text"] and "Traceback" not in r["text"] for r in feed.replies)
        assert get_json(server.base + "/healthz")[0] == 200
    finally:
        feed.close()
