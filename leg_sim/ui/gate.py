"""How fast one page may change the shared simulation's live settings (no Panel).

A page applies at most one change of a setting per :data:`MIN_CHANGE_INTERVAL_S`;
values that come faster (a slider being dragged, or a client flooding) are
merged, and the newest is applied once the interval has passed. Nothing is lost
and the engine is not flooded. The session page's widgets
(:class:`leg_sim.ui.controls.Controls`) and the feed socket of a page without a
session (:mod:`leg_sim.server.feed`) each hold one :class:`ChangeGate`.
"""

from __future__ import annotations

import logging
import math
from typing import Any

log = logging.getLogger("leg_sim.ui")

#: Least time between two applied changes of one setting from one page. [s]
MIN_CHANGE_INTERVAL_S = 0.25
#: Control values the server refused since it started (all pages), for /metrics.
refused_count = [0]


def note_refused(name: str, value: Any, reason: object) -> None:
    """Count a control value the server refused (:data:`refused_count`) and log it, from a
    session's widget or a page's feed alike."""
    refused_count[0] += 1
    log.info("refused control value %s=%r: %s", name[:40], value, reason)


class ChangeGate:
    """The changes one page made lately, and the newest value of each setting waiting its turn."""

    def __init__(self) -> None:
        self._applied_s: dict[str, float] = {}
        #: Setting name -> newest value not applied yet.
        self.waiting: dict[str, Any] = {}

    def offer(self, name: str, value: Any, now_s: float) -> float:
        """0 when `value` of setting `name` may be applied now; else the seconds until it may,
        and `value` is kept as that setting's waiting value (replacing an older one). [s]"""
        wait_s = self._applied_s.get(name, -math.inf) + MIN_CHANGE_INTERVAL_S - now_s
        if wait_s > 0:
            self.waiting[name] = value
            return wait_s
        self.waiting.pop(name, None)
        return 0.0

    def applied(self, name: str, now_s: float) -> None:
        """Note that a change of `name` was applied at `now_s` (monotonic [s])."""
        self._applied_s[name] = now_s

    def take_waiting(self) -> dict[str, Any]:
        """The waiting values, which are no longer waiting; offer each again."""
        waiting, self.waiting = self.waiting, {}
        return waiting
