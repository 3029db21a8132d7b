"""Simulated time: wall-clock `realtime`, or `accelerated` from a start time at a speed factor.

In accelerated mode every tick advances simulated time by
``update_interval_ms × speed_factor``, so a run is reproducible tick by tick
whatever the machine's load. In realtime mode simulated time is the wall clock
in the community's time zone. The tick interval and the speed are independent:
a 1 s interval at speed 60 shows one simulated minute per tick.

Each tick reports its step, the simulated time since the previous tick, and
energy is booked over that step only. Where simulated time jumps rather than
runs, the step is 0: after a switch to realtime (simulated time jumps to the
wall clock), after a wall-clock jump or a suspend longer than
:func:`max_realtime_step_s`, and after a resync. A jump is logged once.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pandas as pd

REALTIME = "realtime"
ACCELERATED = "accelerated"

log = logging.getLogger("leg_sim.clock")


def max_realtime_step_s(interval_ms: float) -> float:
    """Longest wall-clock gap between two realtime ticks that still counts as simulated. [s]

    Ten intervals, and at least a minute: slow ticks still book their time, while a
    suspended machine or a wall clock set forward does not. [ms in]
    """
    return max(10.0 * interval_ms / 1000.0, 60.0)


def default_start(timezone: str, now: dt.datetime | None = None) -> pd.Timestamp:
    """Today at 06:00 local time: a demo started at night still shows a full day. """
    now = now or dt.datetime.now(dt.timezone.utc)
    local = pd.Timestamp(now).tz_convert(timezone)
    return local.normalize() + pd.Timedelta(hours=6)


def localize(start: dt.datetime, timezone: str) -> pd.Timestamp:
    """A naive start is local time in the community's zone; an aware one is converted."""
    ts = pd.Timestamp(start)
    if ts.tzinfo is None:
        return ts.tz_localize(timezone, nonexistent="shift_forward", ambiguous=False)
    return ts.tz_convert(timezone)


class Clock:
    """Gives the simulated time of each tick.

    Parameters
    ----------
    timezone
        IANA zone of the community.
    mode
        ``realtime`` or ``accelerated``.
    start
        First simulated instant in accelerated mode (None: today 06:00 local).
    speed_factor
        Simulated seconds per wall-clock second in accelerated mode. [-]
    now_fn
        Source of wall-clock time (aware datetime); tests pass a fake one.
    """

    def __init__(
        self,
        timezone: str,
        mode: str = REALTIME,
        start: dt.datetime | None = None,
        speed_factor: float = 60.0,
        now_fn: Callable[[], dt.datetime] | None = None,
    ):
        if mode not in (REALTIME, ACCELERATED):
            raise ValueError(f"clock mode {mode!r} is not valid; allowed: 'realtime' or 'accelerated'")
        if speed_factor <= 0:
            raise ValueError(f"speed_factor {speed_factor!r} must be > 0")
        self.timezone = timezone
        self._zone = ZoneInfo(timezone)
        self.mode = mode
        self.speed_factor = float(speed_factor)
        self._now_fn = now_fn or (lambda: dt.datetime.now(dt.timezone.utc))
        self.start = localize(start, timezone) if start is not None else default_start(timezone, self._now_fn())
        self.current: pd.Timestamp | None = None
        #: Ticks whose simulated time jumped instead of running (their step was 0).
        self.jump_count = 0
        self._jump_pending = False
        self._holding = False

    def now_local(self) -> pd.Timestamp:
        """Wall-clock now in the community's zone."""
        return pd.Timestamp(self._now_fn()).tz_convert(self.timezone)

    def set_mode(self, mode: str) -> None:
        """Switch mode from the next tick. Accelerated continues from the current simulated time;
        realtime jumps to the wall clock, and that jump is not a simulated step."""
        if mode not in (REALTIME, ACCELERATED):
            raise ValueError(f"clock mode {mode!r} is not valid; allowed: 'realtime' or 'accelerated'")
        if mode != self.mode and mode == REALTIME:
            self._jump_pending = True
        self.mode = mode

    def set_speed(self, speed_factor: float) -> None:
        """Change the speed from the next tick. [simulated s per wall s]"""
        if speed_factor <= 0:
            raise ValueError(f"speed_factor {speed_factor!r} must be > 0")
        self.speed_factor = float(speed_factor)

    def tick(self, interval_ms: float) -> tuple[pd.Timestamp, float]:
        """Advance to the next tick.

        Parameters
        ----------
        interval_ms
            Wall-clock time between ticks. [ms]

        Returns
        -------
        time, dt_s
            The tick's simulated time and the simulated seconds since the
            previous tick (0 for the first tick). [s]
        """
        previous = self.current
        if self.mode == REALTIME:
            now = self.now_local()
        elif previous is None:
            now = self.start
        else:
            now = previous + pd.Timedelta(seconds=interval_ms / 1000.0 * self.speed_factor)
        dt_s = 0.0 if previous is None else max((now - previous).total_seconds(), 0.0)
        if previous is not None and now < previous:
            # The wall clock stepped back: hold simulated time (nothing is booked) until the
            # wall clock passes it again, rather than run backwards.
            if not self._holding:
                self._holding = True
                log.warning("wall clock went back by %.0f s: simulated time holds until it catches up", (previous - now).total_seconds())
            now = previous
        else:
            self._holding = False
        if previous is not None and self.mode == REALTIME and (self._jump_pending or dt_s > max_realtime_step_s(interval_ms)):
            self.jump_count += 1
            log.warning(
                "simulated time jumped by %.0f s (%s): not booked as energy", dt_s, "switch to realtime" if self._jump_pending else "wall clock"
            )
            dt_s = 0.0
        self._jump_pending = False
        self.current = now
        return now, dt_s

    def resync(self) -> None:
        """Forget the previous tick, e.g. after a pause in realtime mode: the next dt is 0."""
        if self.mode == REALTIME:
            self.current = None
