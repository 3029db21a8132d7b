"""What a session's views may read: the latest snapshot, the history, the time zone, pause.

A :class:`ReadModel` is handed to every view by the dashboard of one browser
session. It is narrow and read-only on purpose: a view never reaches into the
Simulation, so the same views can later be fed from another source (for
example snapshots that arrive over a broker) by another ReadModel.
No Panel here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from leg_sim.history import DayEnergy
from leg_sim.snapshot import Snapshot

if TYPE_CHECKING:  # only for annotations: the read model works on anything shaped like a Simulation
    from leg_sim.engine import Simulation


class ReadModel:
    """Read-only view of one shared Simulation for one session's views.

    Parameters
    ----------
    sim
        The shared simulation it reads from.
    """

    def __init__(self, sim: Simulation):
        self._sim = sim

    @property
    def snapshot(self) -> Snapshot | None:
        """The latest snapshot, or None before the first tick."""
        return self._sim.snapshot

    @property
    def timezone(self) -> str:
        """IANA time zone of the community; charts show local time."""
        return str(self._sim.community.timezone)

    @property
    def paused(self) -> bool:
        """True while the simulation is paused."""
        return bool(self._sim.paused)

    def live_values(self) -> dict[str, Any]:
        """The live settings and pause as they are now (what a page's controls show), JSON-ready."""
        return self._sim.live_values()

    def history(self, seconds: float | None = None, steps: bool = False) -> dict[str, np.ndarray]:
        """History columns of the last `seconds` of simulated time (all kept if None). [s]

        With `steps`, a ``dt_s`` column gives the simulated step each row covered. [s]
        """
        return self._sim.history.columns(seconds, steps=steps)

    def history_after(self, tick: int, limit: int | None = None, steps: bool = False) -> dict[str, np.ndarray]:
        """History rows after tick number `tick` (at most `limit`, newest kept); `steps` as in :meth:`history`."""
        return self._sim.history.tail_after(tick, limit, steps=steps)

    def minutes(self, start_s: float | None = None, end_s: float | None = None) -> dict[str, np.ndarray]:
        """Per-minute time-weighted mean powers of the minutes starting in [start_s, end_s)
        (:meth:`leg_sim.history.History.minutes`). [s since epoch]"""
        return self._sim.history.minutes(start_s, end_s)

    def today(self) -> DayEnergy | None:
        """Energy of the simulated local day so far, from local midnight; None before the first tick."""
        return self._sim.history.today(self.timezone)
