"""JSON routes of the dashboard server, loaded with ``panel serve --plugins leg_sim.server.routes``.

* ``GET /api/state`` — the latest snapshot (the README's JSON document).
* ``GET /api/history?seconds=N`` — community history of the last N simulated
  seconds (default 900); a bad N gets 400 with a JSON error.
* ``GET /healthz`` — loop health; 503 when ticking has stopped.

Every route answers JSON, also for errors, and rejects unknown or repeated
query parameters with 400. Importing this module starts the one Simulation of
the process (at server start, before any browser connects); an invalid config
stops the server here with a one-line error and exit status 2.
"""

from __future__ import annotations

import json
import logging
import math
import sys

import numpy as np
import pandas as pd
from tornado.web import RequestHandler

from leg_sim.config import ConfigError
from leg_sim.server import session
from leg_sim.server.engine_host import get_simulation

log = logging.getLogger("leg_sim.server")

#: Largest history window a client may ask for. [s]
MAX_HISTORY_S = 366 * 24 * 3600
DEFAULT_HISTORY_S = 900


class BadRequest(Exception):
    """A client's mistake; answered with 400 and this message."""


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def health(sim) -> tuple[int, dict]:
    """HTTP status and body for /healthz.

    Healthy while ticks keep coming: the last tick is younger than 1.5 intervals
    plus 50 ms, so a stop shows within two intervals. While paused, healthy as
    long as the loop itself is alive.
    """
    status = sim.status()
    interval_s = sim.update_interval_ms / 1000.0
    limit_s = 1.5 * interval_s + 0.05
    status["stale_after_s"] = round(limit_s, 3)
    status["sessions"] = session.active_sessions()
    status["listeners"] = sim.listener_count
    status["watchers"] = sim.watcher_count
    if not status["running"]:
        state, ok = "stopped", False
    elif status["paused"]:
        ok = status["loop_age_s"] is not None and status["loop_age_s"] <= max(limit_s, 1.0)
        state = "paused" if ok else "stalled"
    else:
        ok = status["tick_age_s"] is not None and status["tick_age_s"] <= limit_s
        state = "ok" if ok else "stalled"
    status["status"] = state
    return (200 if ok else 503), status


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

    def get(self) -> None:
        if self._finished:
            return
        try:
            self.reply(*self.answer())
        except BadRequest as exc:
            self.reply(400, {"error": str(exc)})

    def answer(self) -> tuple[int, dict]:
        raise NotImplementedError


class StateHandler(JSONHandler):
    """GET /api/state"""

    def answer(self):
        snap = get_simulation().snapshot
        if snap is None:
            return 503, {"error": "no tick computed yet; retry in a moment"}
        return 200, snap.to_dict()


def parse_seconds(raw: str | None) -> float:
    """The `seconds` query parameter: a number > 0 and ≤ MAX_HISTORY_S, default 900."""
    if raw is None:
        return float(DEFAULT_HISTORY_S)
    allowed = f"allowed: a number of seconds > 0 and <= {MAX_HISTORY_S}"
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(f"seconds={raw[:40]!r} is not a number; {allowed}") from None
    if not math.isfinite(value) or not 0 < value <= MAX_HISTORY_S:
        raise BadRequest(f"seconds={raw[:40]!r} is out of range; {allowed}")
    return value


class HistoryHandler(JSONHandler):
    """GET /api/history?seconds=N"""

    allowed = ("seconds",)

    def answer(self):
        seconds = parse_seconds(self.get_query_argument("seconds", None))
        sim = get_simulation()
        cols = sim.history.columns(seconds=seconds)
        times = pd.to_datetime(cols["time_s"], unit="s", utc=True).tz_convert(sim.community.timezone)
        body = {
            "seconds": seconds,
            "count": int(len(cols["tick"])),
            "timezone": sim.community.timezone,
            "timestamp": [t.isoformat() for t in times],
            "tick": cols["tick"].astype(int).tolist(),
        }
        for name, values in cols.items():
            if name not in ("tick", "time_s"):
                body[name] = [_clean(v) for v in np.asarray(values, dtype=float).tolist()]
        return 200, body


class HealthHandler(JSONHandler):
    """GET /healthz"""

    def answer(self):
        return health(get_simulation())


try:
    get_simulation()  # start ticking at server start, whether or not anyone is watching
except ConfigError as exc:
    print(f"error: {exc}", file=sys.stderr, flush=True)
    sys.exit(2)

ROUTES = [
    (r"/api/state/?", StateHandler),
    (r"/api/history/?", HistoryHandler),
    (r"/healthz/?", HealthHandler),
]
