"""The bounded history of community-level records: the engine's one collector.

Two rings of fixed capacity, so memory never grows:

* the *tick ring*: one row per tick, in named columns (:data:`COLUMNS`), plus the
  simulated step each tick covered. :meth:`History.columns` reads a time window,
  :meth:`History.tail_after` the rows a viewer has not seen yet,
  :meth:`History.to_frame` hands it to pandas.
* the *minute ring*: per simulated minute, the energy of each power column of
  :data:`MINUTE_COLUMNS` and the seconds of the minute that ticks covered, for
  the last :data:`MINUTE_CAPACITY` minutes (27 h: a 25-hour DST day and more).
  A tick's power holds over its step, the `dt_s` seconds up to its time, exactly
  as the energy counters book it; a step that spans minute boundaries is split
  between the minutes, so a minute's energy is exact and its mean power is
  weighted by time. A step of 0 (a jump of simulated time) books nothing.
  :meth:`History.minutes` reads it, :meth:`History.today` sums the local day so far.

Local midnight is always a whole minute (every zone's offset is whole minutes),
so a day's energy is a sum of whole minutes: :func:`day_energy_kwh`.
Memory of the minute ring: 1,620 × 7 × 8 B ≈ 91 KB.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Mapping

import numpy as np
import pandas as pd

from leg_sim import flows as fl

#: Column names of a history row, in the order a table shows them.
COLUMNS = (
    "tick",
    "time_s",
    "total_production_w",
    "total_consumption_w",
    "grid_import_w",
    "grid_export_w",
    "shared_w",
    "net_community_power_w",
    "self_sufficiency",
    "self_consumption",
)

#: Power columns of the minute ring (time-weighted mean power per minute). [W]
MINUTE_COLUMNS = ("total_production_w", "total_consumption_w", "grid_import_w", "grid_export_w", "shared_w")
#: Length of one bucket of the minute ring. [s]
MINUTE_S = 60
#: Minutes kept in the minute ring: 27 h, so a whole local day (up to 25 h) and its start are in it.
MINUTE_CAPACITY = 27 * 60
#: Name of the energy of each minute column in :class:`DayEnergy` and :func:`day_energy_kwh`.
ENERGY_NAMES = {
    "total_production_w": "production_kwh",
    "total_consumption_w": "consumption_kwh",
    "grid_import_w": "grid_import_kwh",
    "grid_export_w": "grid_export_kwh",
    "shared_w": "shared_kwh",
}

#: Position of each named column in the ring's rows.
_INDEX = {name: k for k, name in enumerate(COLUMNS)}
_MINUTE_INDEX = [_INDEX[name] for name in MINUTE_COLUMNS]


def local_midnight_s(time_s: float, timezone: str) -> float:
    """Epoch seconds of the local midnight that starts the day of `time_s` in `timezone`. [s]"""
    local = pd.Timestamp(time_s, unit="s", tz="UTC").tz_convert(timezone)
    midnight = pd.Timestamp(local.date()).tz_localize(timezone, nonexistent="shift_forward", ambiguous=True)
    return float(midnight.timestamp())


def minute_buckets(time_s: float, dt_s: float, capacity: int = MINUTE_CAPACITY) -> tuple[np.ndarray, np.ndarray]:
    """Split the step (time_s − dt_s, time_s] into whole minutes (pure).

    Parameters
    ----------
    time_s
        End of the step (the tick's time). [s since epoch]
    dt_s
        Length of the step; 0 books nothing. [s]
    capacity
        Only the last `capacity` minutes of a longer step are kept.

    Returns
    -------
    minutes, overlap_s
        Minute numbers (epoch seconds // 60) and the seconds of the step in each. [-], [s]
    """
    if not dt_s > 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    end = float(time_s)
    start = max(end - float(dt_s), end - capacity * MINUTE_S)
    minutes = np.arange(math.floor(start / MINUTE_S), math.ceil(end / MINUTE_S), dtype=np.int64)
    edges = minutes * float(MINUTE_S)
    overlap_s = np.minimum(end, edges + MINUTE_S) - np.maximum(start, edges)
    keep = overlap_s > 0
    return minutes[keep], overlap_s[keep]


def day_energy_kwh(minutes: Mapping[str, np.ndarray], day_start_s: float) -> dict[str, float]:
    """Energy of each minute column from `day_start_s` on, from rows of :meth:`History.minutes` (pure). [kWh]

    Each minute's mean power times the seconds it covered is its exact energy;
    minutes before `day_start_s` (a whole minute) are left out.
    """
    since = np.asarray(minutes["minute_s"]) >= day_start_s
    covered_s = np.asarray(minutes["covered_s"])[since]
    return {ENERGY_NAMES[name]: float(np.sum(np.asarray(minutes[name])[since] * covered_s)) / 3.6e6 for name in MINUTE_COLUMNS}


@dataclasses.dataclass(frozen=True)
class DayEnergy:
    """Energy of the community over the local day so far. [kWh]"""

    day_start: pd.Timestamp
    until: pd.Timestamp
    production_kwh: float
    consumption_kwh: float
    shared_kwh: float
    grid_import_kwh: float
    grid_export_kwh: float

    @property
    def self_sufficiency(self) -> float | None:
        """Share of the day's consumption not drawn from the grid, 1 − import/consumption; None without consumption. [-]"""
        return fl.self_sufficiency(self.grid_import_kwh, self.consumption_kwh)


class History:
    """Bounded rings of community-level records; see the module docstring.

    Parameters
    ----------
    capacity
        Tick rows kept; the oldest are overwritten.
    minute_capacity
        Minutes kept in the minute ring.
    """

    def __init__(self, capacity: int, minute_capacity: int = MINUTE_CAPACITY):
        self.capacity = int(capacity)
        self.minute_capacity = int(minute_capacity)
        self._rows = np.zeros((self.capacity, len(COLUMNS)))
        self._steps_s = np.zeros(self.capacity)
        self._next = 0
        self._size = 0
        # Minute ring: minute m lives in slot m % minute_capacity; a slot whose stored
        # minute differs from the one asked for is stale (left from before a jump).
        self._minute = np.full(self.minute_capacity, -1, dtype=np.int64)
        self._covered_s = np.zeros(self.minute_capacity)
        self._energy_ws = np.zeros((self.minute_capacity, len(MINUTE_COLUMNS)))
        self._latest_s = math.nan
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._size

    def clear(self) -> None:
        """Forget every row and minute (the ticks it held were of a run that started over)."""
        with self._lock:
            self._next = self._size = 0
            self._minute[:] = -1
            self._covered_s[:] = 0.0
            self._energy_ws[:] = 0.0
            self._latest_s = math.nan

    @property
    def latest_time_s(self) -> float:
        """Simulated time of the newest row (NaN when empty). [s since epoch]"""
        return self._latest_s

    def append(self, row: Mapping[str, float], dt_s: float | None = None) -> None:
        """Record one tick; `row` has a value for every name in :data:`COLUMNS`.

        `dt_s` is the simulated step the tick covered (the engine passes the clock's,
        0 for a jump). Without it, the time since the previous row is taken, which
        books a jump of time as if it had run. [s]
        """
        values = [row[name] for name in COLUMNS]
        time_s = float(row["time_s"])
        with self._lock:
            if dt_s is None:
                dt_s = 0.0 if math.isnan(self._latest_s) else max(time_s - self._latest_s, 0.0)
            self._rows[self._next] = values
            self._steps_s[self._next] = dt_s
            self._next = (self._next + 1) % self.capacity
            self._size = min(self._size + 1, self.capacity)
            self._book(time_s, float(dt_s), np.array([row[name] for name in MINUTE_COLUMNS], dtype=float))
            self._latest_s = time_s if math.isnan(self._latest_s) else max(self._latest_s, time_s)

    def _book(self, time_s: float, dt_s: float, power_w: np.ndarray) -> None:
        minutes, overlap_s = minute_buckets(time_s, dt_s, self.minute_capacity)
        if len(minutes) == 0:
            return
        slots = minutes % self.minute_capacity
        stale = self._minute[slots] != minutes
        if stale.any():
            self._covered_s[slots[stale]] = 0.0
            self._energy_ws[slots[stale]] = 0.0
            self._minute[slots] = minutes
        self._covered_s[slots] += overlap_s
        self._energy_ws[slots] += overlap_s[:, None] * power_w[None, :]

    @staticmethod
    def _named(rows: np.ndarray) -> dict[str, np.ndarray]:
        return {name: rows[:, k] for name, k in _INDEX.items()}

    def _named_steps(self, rows: np.ndarray, steps_s: np.ndarray, steps: bool) -> dict[str, np.ndarray]:
        named = self._named(rows)
        if steps:
            named["dt_s"] = steps_s
        return named

    def columns(self, seconds: float | None = None, steps: bool = False) -> dict[str, np.ndarray]:
        """Rows in time order as columns; optionally only the last `seconds` of simulated time. [s]

        With `steps`, a ``dt_s`` column gives the simulated step each row covered. [s]
        For the ticks after a given one, use :meth:`tail_after`.
        """
        with self._lock:
            if self._size < self.capacity:
                rows = self._rows[: self._size].copy()
                steps_s = self._steps_s[: self._size].copy()
            else:
                rows = np.concatenate([self._rows[self._next :], self._rows[: self._next]])
                steps_s = np.concatenate([self._steps_s[self._next :], self._steps_s[: self._next]])
        if len(rows) and seconds is not None:
            time_s = rows[:, _INDEX["time_s"]]
            keep = time_s >= time_s[-1] - seconds
            rows, steps_s = rows[keep], steps_s[keep]
        return self._named_steps(rows, steps_s, steps)

    def tail_after(self, tick: int, limit: int | None = None, steps: bool = False) -> dict[str, np.ndarray]:
        """Rows with a tick number above `tick` (at most `limit`, newest kept), read from the
        end of the ring without copying the rest; cheap enough to call every tick.

        With `steps`, a ``dt_s`` column gives the simulated step each row covered. [s]
        """
        with self._lock:
            if self._size == 0:
                empty = {name: np.empty(0) for name in COLUMNS}
                return {**empty, "dt_s": np.empty(0)} if steps else empty
            newest = int(self._rows[(self._next - 1) % self.capacity, _INDEX["tick"]])
            count = min(max(newest - int(tick), 0), self._size)
            if limit is not None:
                count = min(count, limit)
            index = (self._next - count + np.arange(count)) % self.capacity
            rows, steps_s = self._rows[index], self._steps_s[index]
        return self._named_steps(rows, steps_s, steps)

    def minutes(self, start_s: float | None = None, end_s: float | None = None) -> dict[str, np.ndarray]:
        """Minute buckets that start in [start_s, end_s), oldest first, that ticks covered.

        Columns: ``minute_s`` (start of the minute) [s since epoch], ``covered_s``
        (seconds of it that ticks covered) [s], and the time-weighted mean power of
        each of :data:`MINUTE_COLUMNS` over the covered seconds [W]. Only the kept
        minutes are read (at most :attr:`minute_capacity`, from the newest back), so
        asking for a short span is cheap.
        """
        with self._lock:
            if math.isnan(self._latest_s):
                first = last = 0
            else:
                newest = math.ceil(self._latest_s / MINUTE_S) - 1
                first = newest - self.minute_capacity + 1
                if start_s is not None:
                    first = max(first, math.ceil(start_s / MINUTE_S))
                last = newest + 1 if end_s is None else min(newest + 1, math.ceil(end_s / MINUTE_S))
            wanted = np.arange(first, max(last, first), dtype=np.int64)
            slots = wanted % self.minute_capacity
            keep = (self._minute[slots] == wanted) & (self._covered_s[slots] > 0)
            slots = slots[keep]
            covered_s = self._covered_s[slots].copy()
            energy_ws = self._energy_ws[slots].copy()
        out = {"minute_s": (wanted[keep] * MINUTE_S).astype(float), "covered_s": covered_s}
        for k, name in enumerate(MINUTE_COLUMNS):
            out[name] = energy_ws[:, k] / covered_s if len(covered_s) else np.empty(0)
        return out

    def today(self, timezone: str) -> DayEnergy | None:
        """Energy of the local day (in `timezone`) of the newest row, from its midnight to that row; None when empty.

        A jump of simulated time to another day starts that day from zero: only
        minutes since its midnight count, and the skipped time books nothing.
        """
        latest_s = self._latest_s
        if math.isnan(latest_s):
            return None
        start_s = local_midnight_s(latest_s, timezone)
        energy = day_energy_kwh(self.minutes(start_s), start_s)
        return DayEnergy(
            day_start=pd.Timestamp(start_s, unit="s", tz="UTC").tz_convert(timezone),
            until=pd.Timestamp(latest_s, unit="s", tz="UTC").tz_convert(timezone),
            **energy,
        )

    def state(self) -> dict[str, np.ndarray]:
        """Both rings as arrays, oldest tick row first, for :meth:`restore` (a consistent copy)."""
        cols = self.columns(steps=True)
        with self._lock:
            return {
                "rows": np.column_stack([cols[name] for name in COLUMNS]) if len(cols["tick"]) else np.zeros((0, len(COLUMNS))),
                "steps_s": cols["dt_s"].copy(),
                "minute": self._minute.copy(),
                "covered_s": self._covered_s.copy(),
                "energy_ws": self._energy_ws.copy(),
            }

    def restore(self, state: Mapping[str, np.ndarray]) -> None:
        """Take both rings back from :meth:`state`; the newest rows that fit are kept.
        Raises ValueError when the arrays do not have this history's shapes."""
        rows = np.asarray(state["rows"], dtype=float)
        steps_s = np.asarray(state["steps_s"], dtype=float)
        minute = np.asarray(state["minute"], dtype=np.int64)
        if rows.ndim != 2 or rows.shape[1] != len(COLUMNS) or len(steps_s) != len(rows):
            raise ValueError(f"tick rows of shape {rows.shape}; expected (n, {len(COLUMNS)})")
        if minute.shape != (self.minute_capacity,) or np.shape(state["energy_ws"]) != self._energy_ws.shape:
            raise ValueError("minute ring of another size")
        rows, steps_s = rows[-self.capacity :], steps_s[-self.capacity :]
        with self._lock:
            self._rows[: len(rows)] = rows
            self._steps_s[: len(rows)] = steps_s
            self._size = len(rows)
            self._next = len(rows) % self.capacity
            self._minute[:] = minute
            self._covered_s[:] = np.asarray(state["covered_s"], dtype=float)
            self._energy_ws[:] = np.asarray(state["energy_ws"], dtype=float)
            self._latest_s = float(rows[:, _INDEX["time_s"]].max()) if len(rows) else math.nan

    def to_frame(self, seconds: float | None = None) -> pd.DataFrame:
        """History as a DataFrame indexed by simulated UTC time."""
        frame = pd.DataFrame(self.columns(seconds))
        frame["tick"] = frame["tick"].astype(int)
        frame.index = pd.to_datetime(frame.pop("time_s"), unit="s", utc=True)
        frame.index.name = "time"
        return frame
