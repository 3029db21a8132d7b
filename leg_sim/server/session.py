"""Per-session glue: push each new snapshot into one browser session, and clean up after it.

The engine thread calls :meth:`SessionBridge.on_snapshot` after every tick. The
bridge schedules one update on its session's document with
``doc.add_next_tick_callback`` (the only thread-safe way into a Bokeh document)
and coalesces: while an update is pending, newer ticks do not queue more, and
the update shows the newest snapshot (the chart still gets every row from the
history). All changes of one update travel in one message (``pn.io.hold``).
No update is made before the page is ready (BokehJS's ``document_ready``): until
then the browser has not pulled the document, which holds the snapshot it was
built with, and the page's feed, which opens once it is ready, usually shows
every tick after that (an update made in between would be work for nothing).
When the feed closes because the page went away (its document websocket is
gone too), the session does not redraw itself for nobody.
A session whose browser has not taken its previous update gets no new one, and
a check on the event loop every second closes it once stuck for a while
(:mod:`leg_sim.server.backpressure`).
When the session ends, the bridge unsubscribes from the engine and the
dashboard drops its watchers, so nothing is left behind.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import time
import weakref

import panel as pn
from bokeh.models import CustomJS
from panel.io.resources import LOCAL_DIST
from panel.io.state import set_curdoc
from tornado.ioloop import IOLoop

from leg_sim.engine import Simulation
from leg_sim.server import admission, backpressure
from leg_sim.ui.dashboard import Dashboard
from leg_sim.ui.feed import client_js
from leg_sim.ui.page import PageChoice, close_drawer_on_phones, page_choice
from leg_sim.ui.reconnect import reconnect_script
from leg_sim.ui.sankey import text_font

log = logging.getLogger("leg_sim.server")

#: Live bridges, for health checks and leak tests.
_BRIDGES: weakref.WeakSet[SessionBridge] = weakref.WeakSet()
#: Live bridges by their session's id, for the feed socket of their page.
_BY_ID: weakref.WeakValueDictionary[str, SessionBridge] = weakref.WeakValueDictionary()


#: Least time between two collections of closed sessions' garbage. [s]
COLLECT_EVERY_S = 5.0
#: Largest share of the event loop's time those collections may take: after one that took
#: p seconds, the next waits at least p / COLLECT_LOOP_SHARE. Such a collection is a full
#: one over every open page (seconds at hundreds of pages, BENCHMARKS.md), so viewers
#: leaving one by one must not start one each. [-]
COLLECT_LOOP_SHARE = 0.1
#: End and length of the last collection (monotonic [s], [s]).
_last_collect = [0.0, 0.0]
#: True while a collection is scheduled for later.
_collect_waiting = [False]
#: Sessions closed since the last collection (their memory is not freed yet).
uncollected_count = [0]
#: Closed sessions that wait for one collection while others are open: a collection holds every
#: open page for as long as it takes (11-17 ms per open page, BENCHMARKS.md), so viewers leaving
#: one by one do not each start one. Their memory waits meanwhile (about 2.8 MB each), and they
#: count against the session cap like open sessions (:mod:`leg_sim.server.admission`), so open
#: and waiting sessions together stay within the memory the cap was sized for. [-]
COLLECT_AFTER_CLOSED = 32


#: Closed feeds of pages built once (``/live``, ``/wall``) that wait for one collection while pages
#: are open. An open feed is frozen out of the collector's reach once it has opened (400 open
#: feeds are about 100,000 objects, which every full collection would scan again for nothing, for
#: 60-100 ms), so what a closed one leaves in reference cycles (a few kB) waits for an unfreeze and
#: a collection over everything: when no page is open, or once this many wait. [-]
COLLECT_AFTER_CLOSED_FEEDS = 2000
#: Closed feeds of pages built once since the last collection (their cycles may be frozen).
uncollected_feeds = [0]


def collect_due(uncollected: int, open_sessions: int, cap: int, closed_feeds: int = 0, open_feeds: int = 0) -> bool:
    """True when closed sessions (and closed feeds of pages built once) are to be collected (pure):
    once :data:`COLLECT_AFTER_CLOSED` sessions or :data:`COLLECT_AFTER_CLOSED_FEEDS` feeds wait,
    as soon as no session and no page is open (the pause then holds up no page), or once open and
    waiting sessions together reach the session cap `cap` (new pages wait for that memory)."""
    if uncollected <= 0 and closed_feeds <= 0:
        return False
    if open_sessions == 0 and open_feeds == 0:
        return True
    if closed_feeds >= COLLECT_AFTER_CLOSED_FEEDS:
        return True
    return uncollected > 0 and (uncollected >= COLLECT_AFTER_CLOSED or open_sessions + uncollected >= cap)


def collect_wait_s(now_s: float, last_end_s: float, last_pause_s: float) -> float:
    """Seconds until closed sessions may be collected again (0 = now), pure: at least
    :data:`COLLECT_EVERY_S` after the last collection ended, and long enough after it that
    collections take at most :data:`COLLECT_LOOP_SHARE` of the loop's time."""
    spacing_s = max(COLLECT_EVERY_S, last_pause_s / COLLECT_LOOP_SHARE)
    return max(0.0, last_end_s + spacing_s - now_s)


def freeze_long_lived() -> None:
    """Move what exists now (the server, the open sessions' documents) out of the collector's
    reach: automatic collections then scan only what ticks create, and stay short. Called
    once a session's page is built, and after feeds of pages built once open
    (:func:`leg_sim.server.feed.freeze_open_feeds_soon`); :func:`collect_closed_sessions`
    unfreezes to free what closed ones left."""
    gc.freeze()


def collect_closed_sessions() -> None:
    """Free the reference cycles closed sessions leave (their Bokeh documents and models), so
    a server whose viewers come and go keeps a bounded memory profile: unfreeze, collect,
    freeze again. Only when :func:`collect_due`, and not sooner than :func:`collect_wait_s`
    allows; a close within that time is collected when it has passed, together with every
    other close meanwhile."""
    from leg_sim.server import feed

    if not collect_due(uncollected_count[0], active_sessions(), admission.max_sessions, uncollected_feeds[0], feed.standalone_feeds()):
        return
    now = time.monotonic()
    wait_s = collect_wait_s(now, *_last_collect)
    if wait_s > 0:
        if not _collect_waiting[0]:
            _collect_waiting[0] = True
            try:
                IOLoop.current().call_later(wait_s, _collect_later)
            except Exception:  # no event loop in this thread: the next close collects
                _collect_waiting[0] = False
        return
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    end = time.monotonic()
    _last_collect[:] = [end, end - now]
    uncollected_count[0] = 0
    uncollected_feeds[0] = 0


def _collect_later() -> None:
    _collect_waiting[0] = False
    collect_closed_sessions()


def bridge_for(session_id: str) -> SessionBridge | None:
    """The attached bridge of the session with this id, or None."""
    bridge = _BY_ID.get(session_id) if session_id else None
    return bridge if bridge is not None and bridge.attached else None


#: How often the open sessions are checked for a client that does not read. [s]
STUCK_CHECK_EVERY_S = 1.0
#: An update scheduled on a session's document that has not run after this long is given up and
#: scheduled again with the next tick. Now and then (about one session in a hundred while many
#: open at once) a callback added with ``add_next_tick_callback`` never runs although the
#: session and its client are well; without this the session would get no update again. [s]
LOST_UPDATE_S = 5.0
#: Updates given up and scheduled again (:data:`LOST_UPDATE_S`), since the server started.
rescheduled_count = [0]


def check_stuck_sessions() -> None:
    """Check every open session for a client that stopped reading (:meth:`SessionBridge.check_stuck`)."""
    now = time.monotonic()
    for bridge in list(_BRIDGES):
        bridge.check_stuck(now)


def start_stuck_checks() -> None:
    """Run :func:`check_stuck_sessions` every :data:`STUCK_CHECK_EVERY_S` on the current event loop."""
    from tornado.ioloop import PeriodicCallback

    PeriodicCallback(check_stuck_sessions, STUCK_CHECK_EVERY_S * 1000.0).start()


def active_sessions() -> int:
    """Number of sessions currently subscribed to the engine."""
    return sum(1 for b in list(_BRIDGES) if b.attached)


def sessions_from(key: str) -> int:
    """Number of open sessions whose page was requested from the client address with this
    :func:`~leg_sim.server.admission.address_key`."""
    return sum(1 for b in list(_BRIDGES) if b.attached and b.address_key == key)


class SessionBridge:
    """Connects one session's Dashboard to the shared Simulation."""

    def __init__(self, sim: Simulation, doc, choice: PageChoice | None = None, address_key: str | None = None):
        self.sim = sim
        self.doc = doc
        #: What the per-address limit counts the page's client address as (None: not limited).
        self.address_key = address_key
        self.attached = False
        #: True once the page has said it is ready (BokehJS's document_ready event).
        self.ready = doc is None
        self._pending = False
        #: Monotonic time the pending update was scheduled at. [s]
        self._pending_since_s = 0.0
        self._lock = threading.Lock()
        #: How long the websocket has held unsent data.
        self._stuck = backpressure.StuckTimer()
        #: Updates skipped because the previous one was still unsent.
        self.skipped = 0
        #: Open feed sockets of this session's page (:mod:`leg_sim.server.feed`); while one is
        #: open, the feed shows the ticks and the session does only what is its own.
        self.feeds = 0
        self.dashboard = Dashboard(sim=sim, schedule=self.schedule, choice=choice or PageChoice())

    def schedule(self, fn) -> None:
        """Run `fn` in this session's document context, from any thread."""
        if self.doc is None:
            fn()
            return
        try:
            self.doc.add_next_tick_callback(fn)
        except Exception:  # the document is gone: the session ended
            self.detach()

    def attach(self) -> None:
        """Subscribe to the engine and arrange clean-up when the session ends."""
        self.sim.subscribe(self.on_snapshot)
        self.attached = True
        _BRIDGES.add(self)
        if self.doc is not None:
            self.doc.on_session_destroyed(self._destroyed)
            self.doc.on_event("document_ready", self._on_ready)
            context = self.doc.session_context
            if context is not None:
                _BY_ID[context.id] = self

    def feed_opened(self) -> None:
        """Event loop: the page's feed socket opened; from now on the feed shows the ticks."""
        self.feeds += 1
        self.dashboard.fed = True

    def feed_closed(self) -> None:
        """Event loop: the page's feed socket closed; the session shows the ticks itself again,
        starting with everything (what the page holds came from the feed)."""
        self.feeds = max(0, self.feeds - 1)
        if self.feeds == 0 and self.attached:
            self.dashboard.fed = False
            self.schedule(self._resync)

    def _on_ready(self, event) -> None:
        """The page has pulled its document and drawn it: from now on it gets updates."""
        self.ready = True

    def _resync(self) -> None:
        # A page that closed takes its feed and its document websocket with it: nobody to redraw for.
        if self.attached and (self.doc is None or backpressure.websockets(self.doc)):
            self._held(self.dashboard.resync, "resync")

    def _held(self, fn, what: str) -> None:
        """Run `fn()` with this session's document as Panel's current one, inside one hold():
        Bokeh and Panel changes alike are collected and written as one message. A failure is logged."""
        try:
            if self.doc is not None:
                with set_curdoc(self.doc), pn.io.hold(self.doc):
                    fn()
            else:
                fn()
        except Exception:
            log.exception("session %s failed", what)

    def _destroyed(self, session_context) -> None:
        self.detach()
        uncollected_count[0] += 1
        # Not now: the code that calls this still holds the session's document and this callback,
        # so a collection here would keep (and freeze) this session. On the loop's next turn it is free.
        with contextlib.suppress(Exception):  # no event loop in this thread: the next close collects
            IOLoop.current().add_callback(collect_closed_sessions)

    def on_snapshot(self, snap) -> None:
        """Engine thread: schedule one update unless one is already pending."""
        if not self.ready or (self.feeds and not self.dashboard.needs_own_update(snap)):
            return
        with self._lock:
            if self._pending or not self.attached:
                return
            self._pending = True
            self._pending_since_s = time.monotonic()
        self.schedule(self._apply)

    def _apply(self) -> None:
        with self._lock:
            self._pending = False
        if not self.attached:
            return
        if self.doc is not None and backpressure.has_unsent(self.doc):
            # The browser has not taken the last update: send nothing more, the next tick tries again.
            self.skipped += 1
            return
        snap = self.sim.snapshot
        self._held(lambda: self._update(snap), "update")

    def _update(self, snap) -> None:
        if self.feeds:
            self.dashboard.update_own(snap)
        else:
            self.dashboard.update(snap)

    def check_stuck(self, now_s: float) -> None:
        """Event loop, outside the session's document lock: close the session once its websocket has
        held unsent data for :data:`backpressure.STUCK_CLOSE_S`. (Bokeh awaits a session's writes
        while holding its document lock, so a write the kernel will not take blocks every later
        callback of the session, :meth:`_apply` included; this check must not depend on them.)
        An update that has waited :data:`LOST_UPDATE_S` while nothing is unsent is given up: the
        next tick schedules a new one."""
        if not self.attached or self.doc is None:
            return
        unsent = backpressure.has_unsent(self.doc)
        if self._stuck.stuck(now_s, unsent):
            backpressure.close(self.doc)
            self.detach()
        elif not unsent:
            with self._lock:
                if self._pending and now_s - self._pending_since_s >= LOST_UPDATE_S:
                    self._pending = False
                    rescheduled_count[0] += 1

    def detach(self) -> None:
        """Unsubscribe and drop the session's watchers; safe to call twice."""
        if not self.attached:
            return
        self.attached = False
        self.sim.unsubscribe(self.on_snapshot)
        self.dashboard.dispose()
        _BRIDGES.discard(self)


def serve_assets_locally(doc) -> None:
    """Point every stylesheet Panel creates for this session at this server, not at Panel's CDN.

    Panel rewrites CDN addresses to its local static route when it renders the page,
    and for models created later it reads the address from the document's template
    variables, which are set only at that render; a model made in between (an early
    tick's update) would keep the CDN address and a browser without internet would
    wait for it. Setting the variable before any view is built closes that gap.
    """
    if doc is not None:
        doc._template_variables.setdefault("dist_url", f"{pn.state.rel_path}/{LOCAL_DIST}" if pn.state.rel_path else LOCAL_DIST)


def feed_script(session_id: str, dark: bool) -> CustomJS:
    """The page's feed script (:func:`leg_sim.ui.feed.client_js`) for this session."""
    return CustomJS(args=dict(sid=session_id, textfont=text_font(dark)), code=client_js())


def client_address(doc) -> str | None:
    """The address the session's page was requested from (as Tornado gives it: behind a trusted
    proxy, from its X-Real-IP or X-Forwarded-For header), or None."""
    request = getattr(getattr(doc, "session_context", None), "request", None)
    return getattr(request, "remote_ip", None)


def dashboard_for_this_session(sim: Simulation):
    """Build the dashboard page for the current Panel session and wire it to the engine."""
    serve_assets_locally(pn.state.curdoc)
    choice = page_choice(sim.settings["display.mode"], sim.settings["display.theme"], bool(sim.read_only), pn.state.session_args)
    bridge = SessionBridge(sim, pn.state.curdoc, choice, admission.address_key(client_address(pn.state.curdoc)))
    bridge.attach()
    if pn.state.curdoc is not None:
        # The page reconnects by itself after the server was away; on a phone the controls start closed.
        pn.state.curdoc.js_on_event("document_ready", reconnect_script())
        pn.state.curdoc.js_on_event("document_ready", close_drawer_on_phones())
        context = pn.state.curdoc.session_context
        if context is not None:
            # The page takes its ticks from the shared feed (leg_sim.server.feed).
            pn.state.curdoc.js_on_event("document_ready", feed_script(context.id, choice.dark))
        # Once this page is built (after this call), its models are long-lived.
        pn.state.curdoc.add_next_tick_callback(freeze_long_lived)
    return bridge.dashboard.template()
