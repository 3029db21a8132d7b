"""Work shared by all sessions: what a view derives from a snapshot is computed once.

Every open session shows the same snapshot, so the formatted columns, labels
and figure specs derived from it are the same for all of them. Views ask
:func:`per_snapshot` for them; the first session computes, the others reuse.
Entries die with their snapshot (weak keys), so nothing accumulates.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable
from typing import Any

_CACHE: weakref.WeakKeyDictionary[object, dict] = weakref.WeakKeyDictionary()


def per_snapshot(snap: object, key: Hashable, compute: Callable[[], Any]) -> Any:
    """`compute()` once per snapshot and key; later calls for the same snapshot reuse it.

    The result is shared between sessions: treat it as read-only.
    """
    entries = _CACHE.get(snap)
    if entries is None:
        entries = {}
        _CACHE[snap] = entries
    if key not in entries:
        entries[key] = compute()
    return entries[key]
