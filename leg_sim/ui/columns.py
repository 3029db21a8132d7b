"""Send only what changed: column updates for Bokeh ColumnDataSources.

Small columns travel as short JSON lists of rounded numbers (cheaper than a
binary array header for a handful of values); long ones as float32 arrays.
A column is sent only when its rounded values differ from what the browser has.
"""

from __future__ import annotations

import numpy as np

#: Up to this many entries a column is sent as a JSON list, above it as a float32 array.
LIST_LIMIT = 64


def pack(values, decimals: int = 3):
    """Round `values` and choose the cheaper wire form (list or float32 array)."""
    arr = np.round(np.asarray(values, dtype=float), decimals)
    if len(arr) <= LIST_LIMIT:
        return arr.tolist()
    return arr.astype(np.float32)


def same(a, b) -> bool:
    """True if two packed columns (or lists of strings) hold the same values."""
    if a is None or b is None:
        return False
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and bool(np.array_equal(a, b))
    return list(a) == list(b)


class ColumnSync:
    """Keeps one ColumnDataSource in step with new columns, sending only changed ones."""

    def __init__(self, source):
        self.source = source
        self._sent: dict = {}

    def replace(self, data: dict) -> None:
        """Send every column (after a change of shape, e.g. a new house count)."""
        self._sent = dict(data)
        self.source.data = dict(data)

    def forget(self) -> None:
        """The browser's copy came from elsewhere: the next :meth:`push` sends every column."""
        self._sent = {}

    def push(self, data: dict) -> list[str]:
        """Send the columns whose values changed; returns their names."""
        changed = {k: v for k, v in data.items() if not same(self._sent.get(k), v)}
        if changed:
            self._sent.update(changed)
            self.source.data.update(changed)
        return list(changed)
