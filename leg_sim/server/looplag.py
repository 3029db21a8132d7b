"""How long the server's event loop was held up: the longest lateness of a 50 ms timer,
and the longest garbage collection.

Every session's updates, every route and every websocket message run on one
event loop; a long garbage collection, a heavy serialisation or too many
sessions show up here first. :func:`start` (called by the start-up hook) runs a
timer every :data:`PERIOD_S` and keeps, per second, the largest delay past its
due time; :func:`max_lag_ms` reports the largest over the last
:data:`WINDOW_S`, and ``/healthz`` shows it as ``event_loop_lag_ms``. A hook on
Python's collector does the same for the duration of each collection
(:func:`max_gc_pause_ms`, ``gc_pause_ms``), and the shared feed for the time
from a tick to its frame written to the last open feed
(:func:`max_feed_delay_ms`, ``feed_delay_ms``): what the server adds to a
screen's latency, whatever its clients.
"""

from __future__ import annotations

import collections
import gc
import logging
import time

#: Timer period. [s]
PERIOD_S = 0.05
#: Span over which the largest lag is reported. [s]
WINDOW_S = 60.0

log = logging.getLogger("leg_sim.server")

_per_second: collections.deque[tuple[int, float]] = collections.deque(maxlen=int(WINDOW_S) + 1)
_gc_per_second: collections.deque[tuple[int, float]] = collections.deque(maxlen=int(WINDOW_S) + 1)
_feed_per_second: collections.deque[tuple[int, float]] = collections.deque(maxlen=int(WINDOW_S) + 1)
_gc_started = [0.0]
_started = [False]
#: A collection at least this long (the target) is logged as a warning, one line per LONG_GC_LOG_EVERY_S at most, with its generation. [ms]
LONG_GC_MS = 100.0
LONG_GC_LOG_EVERY_S = 60.0
_long_gc_logged = [-LONG_GC_LOG_EVERY_S]


def _note(ring: collections.deque[tuple[int, float]], value_s: float, now_s: float) -> None:
    second = int(now_s)
    if ring and ring[-1][0] == second:
        if value_s > ring[-1][1]:
            ring[-1] = (second, value_s)
    else:
        ring.append((second, value_s))


def _recent_max_ms(ring: collections.deque[tuple[int, float]], now_s: float | None) -> float | None:
    if not ring:
        return None
    now_s = time.monotonic() if now_s is None else now_s
    return round(max((v for second, v in ring if second >= now_s - WINDOW_S), default=0.0) * 1000.0, 1)


def record(lag_s: float, now_s: float) -> None:
    """Note a lag (`lag_s`) seen at monotonic time `now_s`."""
    _note(_per_second, lag_s, now_s)


def max_lag_ms(now_s: float | None = None) -> float | None:
    """Largest event-loop lag of the last :data:`WINDOW_S` (None before the timer ran). [ms]"""
    return _recent_max_ms(_per_second, now_s)


def record_feed_delay(delay_s: float, now_s: float) -> None:
    """Note the time from a tick to its frame written to every open feed (`delay_s`), seen at
    monotonic time `now_s`."""
    _note(_feed_per_second, delay_s, now_s)


def max_feed_delay_ms(now_s: float | None = None) -> float | None:
    """Longest time from a tick to its frame written to every open feed, over the last
    :data:`WINDOW_S` (None before the first frame went to a feed). [ms]"""
    return _recent_max_ms(_feed_per_second, now_s)


def max_gc_pause_ms(now_s: float | None = None) -> float | None:
    """Longest garbage collection of the last :data:`WINDOW_S` (None before the first). [ms]"""
    return _recent_max_ms(_gc_per_second, now_s)


def _on_gc(phase: str, info: dict) -> None:
    now = time.perf_counter()
    if phase == "start":
        _gc_started[0] = now
    elif _gc_started[0]:
        pause_s = now - _gc_started[0]
        mono = time.monotonic()
        _note(_gc_per_second, pause_s, mono)
        if pause_s * 1000.0 >= LONG_GC_MS and mono - _long_gc_logged[0] >= LONG_GC_LOG_EVERY_S:
            _long_gc_logged[0] = mono
            log.warning(
                "a garbage collection of generation %s took %.0f ms (%s objects freed, %s tracked after it outside the frozen ones)",
                info.get("generation"), pause_s * 1000.0, info.get("collected"), len(gc.get_objects()),
            )


def start() -> None:
    """Run the timer on the current event loop (once per process)."""
    if _started[0]:
        return
    _started[0] = True
    gc.callbacks.append(_on_gc)
    from tornado.ioloop import IOLoop

    loop = IOLoop.current()

    def tick(due_s: float) -> None:
        now = time.monotonic()
        record(max(now - due_s, 0.0), now)
        next_due = now + PERIOD_S
        loop.call_at(loop.time() + PERIOD_S, tick, next_due)

    first_due = time.monotonic() + PERIOD_S
    loop.call_at(loop.time() + PERIOD_S, tick, first_due)
