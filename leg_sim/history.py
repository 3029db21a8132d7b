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


class History:
    """Bounded ring of community-level records, one row per tick.

    Parameters
    ----------
    capacity
        Rows kept; the oldest are overwritten.
    """

    def __init__(self, capacity: int):
        self.capacity = int(capacity)
        self._data = {name: np.zeros(self.capacity) for name in COLUMNS}
        self._next = 0
        self._size = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._size

    def append(self, row: Mapping[str, float]) -> None:
        """Record one tick; `row` has a value for every name in :data:`COLUMNS`."""
        with self._lock:
            for name, column in self._data.items():
                column[self._next] = row[name]
            self._next = (self._next + 1) % self.capacity
            self._size = min(self._size + 1, self.capacity)

    def _take(self, index: np.ndarray | slice) -> dict[str, np.ndarray]:
        return {name: column[index] for name, column in self._data.items()}

    def columns(self, seconds: float | None = None) -> dict[str, np.ndarray]:
        """Rows in time order as columns; optionally only the last `seconds` of simulated time. [s]

        For the ticks after a given one, use :meth:`tail_after`.
        """
        with self._lock:
            if self._size < self.capacity:
                cols = {name: column[: self._size].copy() for name, column in self._data.items()}
            else:
                cols = {name: np.concatenate([column[self._next :], column[: self._next]]) for name, column in self._data.items()}
        if self._size and seconds is not None and len(cols["time_s"]):
            keep = cols["time_s"] >= cols["time_s"][-1] - seconds
            cols = {name: column[keep] for name, column in cols.items()}
        return cols

    def tail_after(self, tick: int, limit: int | None = None) -> dict[str, np.ndarray]:
        """Rows with a tick number above `tick` (at most `limit`, newest kept), read from the
        end of the ring without copying the rest; cheap enough to call every tick."""
        with self._lock:
            if self._size == 0:
                return {name: np.empty(0) for name in COLUMNS}
            newest = int(self._data["tick"][(self._next - 1) % self.capacity])
            count = min(max(newest - int(tick), 0), self._size)
            if limit is not None:
                count = min(count, limit)
            return self._take((self._next - count + np.arange(count)) % self.capacity)

    def to_frame(self, seconds: float | None = None) -> pd.DataFrame:
        """History as a DataFrame indexed by simulated UTC time."""
        frame = pd.DataFrame(self.columns(seconds))
        frame["tick"] = frame["tick"].astype(int)
        frame.index = pd.to_datetime(frame.pop("time_s"), unit="s", utc=True)
        frame.index.name = "time"
        return frame
