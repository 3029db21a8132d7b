"""The bounded history of community-level records: the engine's one collector.

One row per tick, in named columns (:data:`COLUMNS`), kept in a ring of fixed
capacity so memory never grows. Every view and route that shows the past reads
from here: :meth:`History.columns` for a time window, :meth:`History.tail_after`
for the rows a viewer has not seen yet, :meth:`History.to_frame` for pandas.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

import numpy as np
import pandas as pd

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


#: Position of each named column in the ring's rows.
_INDEX = {name: k for k, name in enumerate(COLUMNS)}


class History:
    """Bounded ring of community-level records, one row per tick.

    Parameters
    ----------
    capacity
        Rows kept; the oldest are overwritten.
    """

    def __init__(self, capacity: int):
        self.capacity = int(capacity)
        self._rows = np.zeros((self.capacity, len(COLUMNS)))
        self._next = 0
        self._size = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._size

    def append(self, row: Mapping[str, float]) -> None:
        """Record one tick; `row` has a value for every name in :data:`COLUMNS`."""
        values = [row[name] for name in COLUMNS]
        with self._lock:
            self._rows[self._next] = values
            self._next = (self._next + 1) % self.capacity
            self._size = min(self._size + 1, self.capacity)

    @staticmethod
    def _named(rows: np.ndarray) -> dict[str, np.ndarray]:
        return {name: rows[:, k] for name, k in _INDEX.items()}

    def columns(self, seconds: float | None = None) -> dict[str, np.ndarray]:
        """Rows in time order as columns; optionally only the last `seconds` of simulated time. [s]

        For the ticks after a given one, use :meth:`tail_after`.
        """
        with self._lock:
            if self._size < self.capacity:
                rows = self._rows[: self._size].copy()
            else:
                rows = np.concatenate([self._rows[self._next :], self._rows[: self._next]])
        if len(rows) and seconds is not None:
            time_s = rows[:, _INDEX["time_s"]]
            rows = rows[time_s >= time_s[-1] - seconds]
        return self._named(rows)

    def tail_after(self, tick: int, limit: int | None = None) -> dict[str, np.ndarray]:
        """Rows with a tick number above `tick` (at most `limit`, newest kept), read from the
        end of the ring without copying the rest; cheap enough to call every tick."""
        with self._lock:
            if self._size == 0:
                return {name: np.empty(0) for name in COLUMNS}
            newest = int(self._rows[(self._next - 1) % self.capacity, _INDEX["tick"]])
            count = min(max(newest - int(tick), 0), self._size)
            if limit is not None:
                count = min(count, limit)
            rows = self._rows[(self._next - count + np.arange(count)) % self.capacity]
        return self._named(rows)

    def to_frame(self, seconds: float | None = None) -> pd.DataFrame:
        """History as a DataFrame indexed by simulated UTC time."""
        frame = pd.DataFrame(self.columns(seconds))
        frame["tick"] = frame["tick"].astype(int)
        frame.index = pd.to_datetime(frame.pop("time_s"), unit="s", utc=True)
        frame.index.name = "time"
        return frame
