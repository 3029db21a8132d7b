"""How long the server's event loop was held up: the longest lateness of a 50 ms timer.

Every session's updates, every route and every websocket message run on one
event loop; a long garbage collection, a heavy serialisation or too many
sessions show up here first. :func:`start` (called by the start-up hook) runs a
timer every :data:`PERIOD_S` and keeps, per second, the largest delay past its
due time; :func:`max_lag_ms` reports the largest over the last
:data:`WINDOW_S`, and ``/healthz`` shows it as ``event_loop_lag_ms``.
"""

from __future__ import annotations

import collections
import time

#: Timer period. [s]
PERIOD_S = 0.05
#: Span over which the largest lag is reported. [s]
WINDOW_S = 60.0

_per_second: collections.deque[tuple[int, float]] = collections.deque(maxlen=int(WINDOW_S) + 1)
_started = [False]


def record(lag_s: float, now_s: float) -> None:
    """Note a lag (`lag_s`) seen at monotonic time `now_s`."""
    second = int(now_s)
    if _per_second and _per_second[-1][0] == second:
        if lag_s > _per_second[-1][1]:
            _per_second[-1] = (second, lag_s)
    else:
        _per_second.append((second, lag_s))


def max_lag_ms(now_s: float | None = None) -> float | None:
    """Largest event-loop lag of the last :data:`WINDOW_S` (None before the timer ran). [ms]"""
    if not _per_second:
        return None
    now_s = time.monotonic() if now_s is None else now_s
    recent = [lag for second, lag in _per_second if second >= now_s - WINDOW_S]
    return round(max(recent, default=0.0) * 1000.0, 1)


def start() -> None:
    """Run the timer on the current event loop (once per process)."""
    if _started[0]:
        return
    _started[0] = True
    from tornado.ioloop import IOLoop

    loop = IOLoop.current()

    def tick(due_s: float) -> None:
        now = time.monotonic()
        record(max(now - due_s, 0.0), now)
        next_due = now + PERIOD_S
        loop.call_at(loop.time() + PERIOD_S, tick, next_due)

    first_due = time.monotonic() + PERIOD_S
    loop.call_at(loop.time() + PERIOD_S, tick, first_due)
