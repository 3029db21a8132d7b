"""Named places where later features plug in. None of them is implemented.

LEG-Simulator is descriptive: it shows what happens now. These protocols mark
where a future feature would attach, so adding one does not mean reshaping the
tick. Each says which step of :meth:`leg_sim.model.CommunityChain.run` would call
it. Nothing in the package calls them today, and no class implements them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Protocol

import numpy as np


class Storage(Protocol):
    """Batteries (home or community).

    Plugs in after the per-house net power is known and before the community
    bus settles (between the loads and ``flows.settle`` in ``CommunityChain.run``): given
    each house's net power it returns the battery power per house (+ charging,
    − discharging) that is then subtracted from the net power, and it keeps its
    own state of charge in kWh.
    """

    def dispatch_w(self, net_power_w: np.ndarray, dt_s: float) -> np.ndarray:
        """Battery power per house for this tick. [W]"""
        ...


class PriceSignal(Protocol):
    """Tariffs or dynamic prices for import, export and local sharing.

    Would be read by the Grid (leg_sim.model.Grid) and by an optimisation
    layer; the snapshot would gain a price field. The descriptive flows do not
    depend on prices.
    """

    def price_eur_per_kwh(self, time: dt.datetime) -> tuple[float, float]:
        """Import and export price at `time`. [EUR/kWh]"""
        ...


@dataclasses.dataclass(frozen=True)
class ControlSignal:
    """A command to a house, such as "start EV charging now" or "delay the dishwasher".

    Would be applied at the start of ``CommunityChain.run``, before the appliance
    process (leg_sim.profiles.appliances.FlexProcess) advances, by forcing or
    holding a cycle start for that house.
    """

    house_id: str
    appliance: str
    action: str  # e.g. "start", "hold"
    issued_at: dt.datetime


class Optimiser(Protocol):
    """An optimisation or scheduling layer.

    Would read the latest snapshot (and prices) after each tick and return
    control signals for the next one. LEG-Simulator itself never optimises.
    """

    def plan(self, snapshot: object) -> Sequence[ControlSignal]:
        """Control signals to apply from the next tick."""
        ...
