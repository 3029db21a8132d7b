"""JSON routes of the dashboard server, loaded with ``panel serve --plugins leg_sim.server.routes``.

* ``GET /api/state`` — the latest snapshot (the README's JSON document).
* ``GET /api/history?seconds=N`` — community history of the last N simulated
  seconds (default 900), at most :data:`MAX_HISTORY_ROWS` rows: a longer window
  is downsampled (each row the mean of consecutive ticks, with the last one's
  tick and time) and the body says so (``downsampled``); a bad N gets 400 with
  a JSON error.
* ``GET /metrics`` — the server in the Prometheus text format (:mod:`leg_sim.server.metrics`).
* ``/feed?id=<page id>`` — the websocket of a page's frames, and of the live page's controls and search (:mod:`leg_sim.server.feed`).
* ``GET /live``, ``GET /wall`` — the dashboard with its controls and the wall screen, each one page
  for every viewer, no session per viewer (:mod:`leg_sim.server.pages`).
* ``GET /healthz`` — loop health (the policy is ``Simulation.health``: stale after
  5 intervals and at least 2 s), tick lag, sessions, open feeds, the server's memory and the
  event loop's longest lag of the last minute; 503
  when ticking has stopped. ``HEAD /healthz`` gives the same status without a body.

Every JSON route answers JSON, also for errors, and rejects unknown or repeated
query parameters with 400. Importing this module only defines the handlers;
the engine is started by the server's start-up hook (leg_sim.server.startup).
Serialising a body runs on a worker thread, not on the event loop that serves
every session; ``/api/state`` is serialised once per tick and shared.
"""

from __future__ import annotations

import json
import logging
import math
import os
import uuid
from typing import Any

import numpy as np
import pandas as pd
from tornado.ioloop import IOLoop
from tornado.web import RequestHandler

from leg_sim.server import admission, backpressure, cluster, feed, looplag, metrics, mqtt_link, pages, session
from leg_sim.server.engine_host import start_simulation
from leg_sim.snapshot import json_float

log = logging.getLogger("leg_sim.server")

#: Differs for every server process: a page that sees it change knows the server restarted.
SERVER_ID = uuid.uuid4().hex

#: Largest history window a client may ask for. [s]
MAX_HISTORY_S = 366 * 24 * 3600
DEFAULT_HISTORY_S = 900
#: Most rows /api/history returns; longer windows are downsampled to fit.
MAX_HISTORY_ROWS = 2000


class BadRequestError(Exception):
    """A client's mistake; answered with 400 and this message."""


def rss_mb() -> float | None:
    """This process's resident memory (Linux /proc), or None where it cannot be read. [MB]"""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 1e6, 1)


def health(sim: Any) -> tuple[int, dict]:
    """HTTP status and body for /healthz: the engine's health, the open sessions and memory."""
    ok, body = sim.health()
    body["sessions"] = session.active_sessions()
    body["slow_sessions_closed"] = backpressure.closed_count[0]
    body["updates_rescheduled"] = session.rescheduled_count[0]
    body["sessions_uncollected"] = session.uncollected_count[0]
    body["pages_deferred"] = admission.budget.refused
    body["max_sessions"] = admission.max_sessions
    body["pages_refused_full"] = admission.full_refused[0]
    body["max_sessions_per_address"] = admission.max_per_address
    body["pages_refused_address"] = admission.address_refused[0]
    the_hub = feed.hub()
    body["feeds"] = len(the_hub.sockets) if the_hub is not None else 0
    body["wall_feeds"] = feed.standalone_feeds()
    body["wall_pages_built"] = pages.built_count[0]
    the_link = mqtt_link.link()
    if the_link is not None:
        body["mqtt"] = the_link.health()
    the_worker = cluster.worker()
    if the_worker is not None:
        body["engine"] = the_worker.health()
    body["memory_rss_mb"] = rss_mb()
    body["event_loop_lag_ms"] = looplag.max_lag_ms()
    body["gc_pause_ms"] = looplag.max_gc_pause_ms()
    body["feed_delay_ms"] = looplag.max_feed_delay_ms()
    body["server_id"] = SERVER_ID
    return (200 if ok else 503), body


class JSONHandler(RequestHandler):
    """Base: JSON bodies, JSON errors, strict query parameters."""

    allowed: tuple[str, ...] = ()

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")

    def prepare(self) -> None:
        unknown = sorted(set(self.request.query_arguments) - set(self.allowed))
        if unknown:
            allowed = ", ".join(self.allowed) or "none"
            self.reply(400, {"error": f"unknown query parameter {unknown[0]!r}; allowed: {allowed}"})
            return
        for name in self.allowed:
            if len(self.request.query_arguments.get(name, [])) > 1:
                self.reply(400, {"error": f"query parameter {name!r} is given more than once; allowed: once"})
                return

    def reply(self, status: int, body: dict) -> None:
        self.set_status(status)
        self.finish(json.dumps(body, allow_nan=False, separators=(",", ":")))

    def write_error(self, status_code: int, **kwargs) -> None:
        self.finish(json.dumps({"error": self._reason, "status": status_code}))

    async def get(self) -> None:
        if self._finished:
            return
        try:
            self.reply(*self.answer())
        except BadRequestError as exc:
            self.reply(400, {"error": str(exc)})

    def answer(self) -> tuple[int, dict]:
        raise NotImplementedError


class StateHandler(JSONHandler):
    """GET /api/state"""

    async def get(self) -> None:
        if self._finished:
            return
        snap = start_simulation().snapshot
        if snap is None:
            self.reply(503, {"error": "no tick computed yet; retry in a moment"})
            return
        # Built once per tick and shared by every request; the first builds it off the event loop.
        self.finish(await IOLoop.current().run_in_executor(None, snap.to_json))


def parse_seconds(raw: str | None) -> float:
    """The `seconds` query parameter: a number > 0 and ≤ MAX_HISTORY_S, default 900."""
    if raw is None:
        return float(DEFAULT_HISTORY_S)
    allowed = f"allowed: a number of seconds > 0 and <= {MAX_HISTORY_S}"
    try:
        value = float(raw)
    except ValueError:
        raise BadRequestError(f"seconds={raw[:40]!r} is not a number; {allowed}") from None
    if not math.isfinite(value) or not 0 < value <= MAX_HISTORY_S:
        raise BadRequestError(f"seconds={raw[:40]!r} is out of range; {allowed}")
    return value


def downsample(cols: dict[str, np.ndarray], max_rows: int) -> tuple[dict[str, np.ndarray], int]:
    """At most `max_rows` rows: each the mean of `k` consecutive rows, with the last row's
    tick and time (the oldest rows that do not fill a group are dropped). Returns the
    columns and `k` (1: unchanged)."""
    count = len(cols["tick"])
    k = max(1, math.ceil(count / max_rows))
    if k == 1:
        return cols, 1
    start = count - (count // k) * k
    out = {}
    for name, values in cols.items():
        groups = np.asarray(values, dtype=float)[start:].reshape(-1, k)
        out[name] = groups[:, -1] if name in ("tick", "time_s") else groups.mean(axis=1)
    return out, k


def history_body(sim: Any, seconds: float, max_rows: int = MAX_HISTORY_ROWS) -> bytes:
    """The /api/history JSON for the last `seconds` (see the module docstring)."""
    cols = sim.history.columns(seconds=seconds)
    rows = len(cols["tick"])
    cols, k = downsample(cols, max_rows)
    times = pd.to_datetime(cols["time_s"], unit="s", utc=True).tz_convert(sim.community.timezone)
    body: dict[str, Any] = {
        "seconds": seconds,
        "count": len(cols["tick"]),
        "timezone": sim.community.timezone,
        "downsampled": None if k == 1 else {"rows_in_window": rows, "ticks_per_row": k, "max_rows": max_rows,
                                            "method": "mean of consecutive ticks; tick and timestamp of the last"},
        "timestamp": [t.isoformat() for t in times],
        "tick": np.asarray(cols["tick"]).astype(int).tolist(),
    }
    for name, values in cols.items():
        if name not in ("tick", "time_s"):
            body[name] = [json_float(v) for v in np.asarray(values, dtype=float).tolist()]
    return json.dumps(body, allow_nan=False, separators=(",", ":")).encode()


class HistoryHandler(JSONHandler):
    """GET /api/history?seconds=N"""

    allowed = ("seconds",)

    async def get(self) -> None:
        if self._finished:
            return
        try:
            seconds = parse_seconds(self.get_query_argument("seconds", None))
        except BadRequestError as exc:
            self.reply(400, {"error": str(exc)})
            return
        self.finish(await IOLoop.current().run_in_executor(None, history_body, start_simulation(), seconds))


class HealthHandler(JSONHandler):
    """GET and HEAD /healthz"""

    def answer(self):
        return health(start_simulation())

    def head(self) -> None:
        if self._finished:
            return
        status, _ = self.answer()
        self.set_status(status)
        self.finish()


class MetricsHandler(RequestHandler):
    """GET /metrics (Prometheus text format, :mod:`leg_sim.server.metrics`)."""

    async def get(self) -> None:
        if self.request.query_arguments:
            self.set_status(400)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"error": "/metrics takes no query parameters"}))
            return
        self.set_header("Content-Type", metrics.CONTENT_TYPE)
        self.finish(await IOLoop.current().run_in_executor(None, metrics.exposition, start_simulation()))


ROUTES = [
    (r"/api/state/?", StateHandler),
    (r"/api/history/?", HistoryHandler),
    (r"/healthz/?", HealthHandler),
    (r"/feed/?", feed.FeedSocket),
    (r"/metrics/?", MetricsHandler),
    (r"/wall/?", pages.PageHandler),
    (r"/live/?", pages.PageHandler, {"display": "standard"}),
]
