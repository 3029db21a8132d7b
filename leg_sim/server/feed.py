"""The feed websocket: every page gets the same bytes per tick, written once per page.

The :class:`FeedHub` turns each snapshot into one frame (:mod:`leg_sim.ui.feed`),
on the engine thread, right after the tick; the event loop then only writes
the frame's bytes to every open :class:`FeedSocket`. A page that holds the
previous frame gets the short ``delta``; a page that is new, or skipped a frame
because its socket still held unsent data, gets the ``full`` frame, built once
per tick for all such pages. A socket that holds unsent data for
:data:`~leg_sim.server.backpressure.STUCK_CLOSE_S` is closed; the page opens a
new one and catches up with a full frame.

Who may connect: a page of a live session of this server (the ``id`` query
argument is that session's signed id, handed to the page's script when the
page was built), or a page this server built without a session (``/wall``,
:mod:`leg_sim.server.pages`: an id signed with the server's secret, fresh for
each request of the page), from an allowed origin (the same list as the
dashboard's websocket), with an Origin header. The feed of a page without a
session holds a place of the session cap and of its address's share while it
is open (:mod:`leg_sim.server.admission`); beyond them it is closed with code
1013 (try again later), and the page tries again with a growing delay.

What a page may send (:func:`leg_sim.ui.feed.page_request`; anything else, or
more than :data:`~leg_sim.ui.feed.MAX_PAGE_MESSAGES_PER_S` messages in a second,
closes the socket):

* ``{"set": name, "value": v}``: a change of a live setting from a page whose
  controls have no session. The server checks it as it checks a session's widget
  (:meth:`leg_sim.engine.Simulation.checked_control`) and applies at most one
  change of a setting per socket per
  :data:`~leg_sim.ui.gate.MIN_CHANGE_INTERVAL_S` (newer values wait, merged).
  A refused value changes nothing; that page alone gets
  ``{"refused": name, "text": ..., "value": current}``. Every page sees an
  applied change in the next frame's ``controls``.
* ``{"full": true}``: the latest full frame now (a page that switched its
  chart's window needs the whole window).
* ``{"search": query}``: from now on, after each frame this page gets what its
  graph's search adds (:func:`leg_sim.ui.feed.search_message`: the ring, the
  message and, in the overview, the slots), made once per frame and query for
  all pages with that query; ``""`` ends it.

While a page's feed is open its session does no per-tick work of its own
(:class:`leg_sim.server.session.SessionBridge`); when it closes, the session
updates its page itself again.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import time
from collections import deque
from typing import Any
from urllib.parse import urlparse

from bokeh.server.util import check_allowlist
from bokeh.util.token import check_session_id_signature
from tornado.ioloop import IOLoop
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from leg_sim.engine import CONTROLLED
from leg_sim.server import admission, backpressure, looplag, session
from leg_sim.settings import ControlError
from leg_sim.ui.dashboard import GRAPH_FRAMES
from leg_sim.ui.feed import FULL_CLOSE, MAX_PAGE_MESSAGES_PER_S, FeedBuilder, Frame, encode, page_request, search_message
from leg_sim.ui.gate import ChangeGate, note_refused
from leg_sim.ui.readmodel import ReadModel

log = logging.getLogger("leg_sim.server")

#: Close code for a socket that is not a live page's (RFC 6455: policy violation).
POLICY_CLOSE = 1008

#: Open feeds of pages without a session (``/live``, ``/wall``); event loop only.
_standalone: set[FeedSocket] = set()


#: Seconds after a feed of a page built once opened until the open feeds are frozen (feeds that
#: open together are frozen together). [s]
FREEZE_AFTER_OPEN_S = 2.0
_freeze_waiting = [False]


def freeze_open_feeds_soon() -> None:
    """Event loop: in :data:`FREEZE_AFTER_OPEN_S`, collect what is not frozen yet and freeze what is
    left (the open feeds), so the collector's regular full scans no longer go over them; see
    :data:`leg_sim.server.session.COLLECT_AFTER_CLOSED_FEEDS` for what a closed one leaves."""
    if _freeze_waiting[0]:
        return
    _freeze_waiting[0] = True

    def freeze() -> None:
        _freeze_waiting[0] = False
        gc.collect()  # only what is not frozen: the feeds opened since the last freeze, and this second's garbage
        session.freeze_long_lived()

    IOLoop.current().call_later(FREEZE_AFTER_OPEN_S, freeze)


def standalone_feeds(key: str | None = None) -> int:
    """Open feeds of pages without a session: all of them, or those from the client address with
    this :func:`~leg_sim.server.admission.address_key`."""
    return len(_standalone) if key is None else sum(1 for s in list(_standalone) if s.address_key == key)


def choose(last_seq: int | None, frame_seq: int, writing: bool) -> str:
    """What a socket gets of frame `frame_seq` (pure): ``"none"`` if it showed it already,
    ``"skip"`` while its previous write is unsent, ``"delta"`` if it holds the frame before,
    else ``"full"``."""
    if last_seq is not None and frame_seq <= last_seq:
        return "none"
    if writing:
        return "skip"
    return "delta" if last_seq == frame_seq - 1 else "full"


class FeedHub:
    """Frames of one Simulation and the sockets they go to; see the module docstring."""

    def __init__(self, sim: Any):
        self.sim = sim
        self.builder = FeedBuilder(ReadModel(sim), GRAPH_FRAMES)
        self.sockets: set[FeedSocket] = set()
        self.latest: Frame | None = None
        self.loop: IOLoop | None = None
        self._lock = threading.Lock()
        #: Frames written as delta and as full, and frames skipped for a socket that held unsent data.
        self.sent_delta = self.sent_full = self.skipped = 0
        #: What searches add to the latest frame, by query (event loop only).
        self._searches: tuple[int, dict[str, bytes]] = (-1, {})
        sim.subscribe(self._on_snapshot)
        sim.param.watch(self._on_control, list(CONTROLLED))

    def _on_snapshot(self, snap: Any) -> None:
        """Engine thread: build the frame, then hand it to the event loop."""
        with self._lock:
            frame = self.builder.frame(snap)
            self.latest = frame
        if self.loop is not None and self.sockets:
            self.loop.add_callback(self.publish, frame)

    def _on_control(self, *events: Any) -> None:
        """A live setting or the pause changed: a frame of the latest snapshot carries it at once
        (the pause badge, and the controls of pages without a session; no tick comes while paused)."""
        snap = self.sim.snapshot
        if snap is not None:
            self._on_snapshot(snap)

    def publish(self, frame: Frame) -> None:
        """Event loop: write `frame` to every socket (its delta or the full frame), and note how
        long after the tick the last one was written (:func:`looplag.record_feed_delay`)."""
        sockets = list(self.sockets)
        for socket in sockets:
            socket.send(frame)
        if sockets:
            looplag.record_feed_delay(max(time.time() - frame.wall_time_s, 0.0), time.monotonic())

    def search_bytes(self, frame: Frame, query: str) -> bytes:
        """Event loop: what a search for `query` adds to `frame`, made once per frame and query."""
        seq, made = self._searches
        if seq != frame.seq:
            made = {}
            self._searches = (frame.seq, made)
        if query not in made:
            made[query] = search_message(frame, query)
        return made[query]

    def add(self, socket: FeedSocket) -> None:
        """Event loop: a page's socket opened; it gets the latest full frame at once."""
        self.loop = self.loop or IOLoop.current()
        self.sockets.add(socket)
        if self.latest is not None:
            socket.send(self.latest)

    def discard(self, socket: FeedSocket) -> None:
        """Event loop: a page's socket closed."""
        self.sockets.discard(socket)


_hub: list[FeedHub] = []
_hub_lock = threading.Lock()


def start(sim: Any) -> FeedHub:
    """The process's hub for `sim`, made on the first call."""
    with _hub_lock:
        if not _hub:
            _hub.append(FeedHub(sim))
        return _hub[0]


def hub() -> FeedHub | None:
    """The process's hub, if started."""
    return _hub[0] if _hub else None


class FeedSocket(WebSocketHandler):
    """``/feed?id=<session id>``: the frames for one page; see the module docstring."""

    #: The largest message a page sends (:func:`~leg_sim.ui.feed.page_request`); a larger one closes the socket. [bytes]
    max_message_size = 256

    def initialize(self) -> None:
        self.last_seq: int | None = None
        self.stuck = backpressure.StuckTimer()
        self.bridge: Any = None
        #: The client address's :func:`~leg_sim.server.admission.address_key` (pages without a session).
        self.address_key: str | None = None
        #: Control changes from this page: at most one per setting per MIN_CHANGE_INTERVAL_S.
        self.gate = ChangeGate()
        self._gate_timer: Any = None
        #: When this page's messages of the last second came (monotonic [s]).
        self._message_times: deque[float] = deque()
        #: The page's search in its graph ("" for none).
        self.search_query = ""

    async def get(self, *args: Any, **kwargs: Any) -> None:
        if "Origin" not in self.request.headers:
            self.set_status(403)
            self.finish("a websocket needs an Origin header")
            return
        await super().get(*args, **kwargs)

    def check_origin(self, origin: str) -> bool:
        allowed = getattr(self.application, "websocket_origins", None)
        if not allowed:
            return super().check_origin(origin)
        return bool(check_allowlist(urlparse(origin).netloc.lower(), allowed))

    def _signed_here(self, feed_id: str) -> bool:
        """True for an id signed with this server's secret (any id when the server does not sign)."""
        app = self.application
        try:
            return bool(feed_id) and check_session_id_signature(
                feed_id, secret_key=getattr(app, "secret_key", None), signed=bool(getattr(app, "sign_sessions", False))
            )
        except Exception:  # a malformed id
            return False

    def open(self, *args: Any, **kwargs: Any) -> None:
        feed_id = self.get_query_argument("id", "")
        bridge = session.bridge_for(feed_id)
        the_hub = hub()
        if the_hub is None or (bridge is None and not self._signed_here(feed_id)):
            self.close(POLICY_CLOSE, "not a page of this server")
            return
        if bridge is None:
            # A page without a session: its feed holds a place as a session would.
            key = admission.address_key(self.request.remote_ip)
            if admission.limit_reached(key) is not None:
                self.close(FULL_CLOSE, "the server is full")
                return
            self.address_key = key
            _standalone.add(self)
            freeze_open_feeds_soon()
        else:
            self.bridge = bridge
            bridge.feed_opened()
        backpressure.bound_send_buffer(self)
        the_hub.add(self)

    def on_message(self, message: str | bytes) -> None:
        now_s = time.monotonic()
        times = self._message_times
        times.append(now_s)
        while times[0] <= now_s - 1.0:
            times.popleft()
        request = page_request(message)
        if request is None:
            self.close(POLICY_CLOSE, "not a request of a page")
            return
        if len(times) > MAX_PAGE_MESSAGES_PER_S:
            self.close(POLICY_CLOSE, "too many messages")
            return
        kind, body = request
        the_hub = hub()
        if the_hub is None:
            return
        if kind == "full":
            self.last_seq = None
            if the_hub.latest is not None:
                self.send(the_hub.latest)
            return
        if kind == "search":
            self.search_query = body.strip()
            if the_hub.latest is not None:
                self._write(the_hub.search_bytes(the_hub.latest, self.search_query))
            return
        self._offer(the_hub.sim, *body)

    def _offer(self, sim: Any, name: str, value: Any) -> None:
        """Apply `value` now, or keep it until this page's interval for `name` has passed."""
        wait_s = self.gate.offer(name, value, time.monotonic())
        if wait_s <= 0:
            self._apply(sim, name, value)
        elif self._gate_timer is None:
            self._gate_timer = IOLoop.current().call_later(wait_s, self._apply_waiting)

    def _apply_waiting(self) -> None:
        """The interval has passed: offer again what waited (the newest value of each setting)."""
        self._gate_timer = None
        the_hub = hub()
        if the_hub is None or self.ws_connection is None:
            return
        for name, value in self.gate.take_waiting().items():
            self._offer(the_hub.sim, name, value)

    def _apply(self, sim: Any, name: str, value: Any) -> None:
        """Check `value` as a session's widget would be checked and set it, or tell this page why not."""
        try:
            checked = sim.checked_control(name, value)
            if getattr(sim, name) != checked:
                self.gate.applied(name, time.monotonic())
                setattr(sim, name, checked)
            return
        except ControlError as exc:
            text = str(exc)
        except Exception:  # a value the declaration let through but the engine did not take
            log.exception("applying %s from a page failed", name)
            text = "not applied (server error, logged)"
        note_refused(name, value, text)
        known = name in CONTROLLED
        label = sim.param[name].label if known else "control"
        reply = {"refused": name if known else None, "text": f"{label}: {text}", "value": getattr(sim, name) if known else None}
        self._write(encode(reply))

    def _write(self, message: bytes) -> None:
        """Write a reply to this page alone (a socket closed meanwhile takes nothing)."""
        with contextlib.suppress(WebSocketClosedError):
            self.write_message(message)

    def on_close(self) -> None:
        if self._gate_timer is not None:
            IOLoop.current().remove_timeout(self._gate_timer)
            self._gate_timer = None
        if self in _standalone:
            _standalone.discard(self)
            session.uncollected_feeds[0] += 1
            session.collect_closed_sessions()
        the_hub = hub()
        if the_hub is not None:
            the_hub.discard(self)
        if self.bridge is not None:
            self.bridge.feed_closed()
            self.bridge = None

    def send(self, frame: Frame) -> None:
        """Write `frame`: the delta when this page holds the frame before it, else the full frame;
        nothing while the previous write is still unsent (closed once stuck too long)."""
        conn = self.ws_connection
        if conn is None or conn.is_closing():
            return
        stream = getattr(conn, "stream", None)
        the_hub = hub()
        what = choose(self.last_seq, frame.seq, stream is not None and stream.writing())
        if what == "none":
            return  # already shown (the latest frame on opening, then its publication)
        if what == "skip":
            self.last_seq = None  # it misses this frame: the next one is full
            if the_hub is not None:
                the_hub.skipped += 1
            if self.stuck.stuck(time.monotonic(), unsent=True):
                backpressure.closed_count[0] += 1
                log.warning("closed a feed: the page does not read its updates for %.0f s", backpressure.STUCK_CLOSE_S)
                self.close(backpressure.CLOSE_CODE, "the page does not read its updates")
            return
        self.stuck.stuck(time.monotonic(), unsent=False)
        delta = what == "delta"
        with contextlib.suppress(WebSocketClosedError):
            self.write_message(frame.delta if delta else frame.full())
            self.last_seq = frame.seq
            if the_hub is not None:
                if delta:
                    the_hub.sent_delta += 1
                else:
                    the_hub.sent_full += 1
                if self.search_query:
                    self.write_message(the_hub.search_bytes(frame, self.search_query))
