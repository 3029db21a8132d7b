"""The appliance catalogue: which big appliances a house can own, and what one cycle draws.

Plain data, no physics: the config validator takes the allowed appliance names
from here, and :mod:`leg_sim.profiles.appliances` turns the cycles into power.
Adding an appliance means adding one :class:`Appliance` entry below; its name
becomes valid in ``houses[].appliances`` and its code is its position.

The cycles are typical measured shapes of European appliances (heating phases
dominate the energy); the EV wallbox is special: its power is the house's
charger rating, the energy of each charging session is drawn from the measured
distribution below, and the session lasts as long as the charger needs to
deliver it. Each appliance names the daily rhythm (:mod:`leg_sim.profiles.rhythm`)
that says at which local time of day it is started.
"""

from __future__ import annotations

import dataclasses

#: One minute. [s]
MIN = 60.0


@dataclasses.dataclass(frozen=True)
class Appliance:
    """One appliance's cycle as phases of constant power.

    `phases` is a tuple of (duration_s, power_w). `start_weight` is the mean
    number of starts per day of a house whose start scale is 1 (the process in
    :mod:`leg_sim.profiles.appliances` scales all of a house's appliances by one
    factor, so only the ratios between appliances are fixed here);
    `ownership` is the share of the default houses (drawn from the seed) that
    own one; `rhythm` is the kind of :func:`leg_sim.profiles.rhythm.start_intensity`
    curve that spreads the starts over the local day. [s], [W], [1/d], [-], [-]
    """

    name: str
    label: str
    phases: tuple[tuple[float, float], ...]
    start_weight: float
    ownership: float
    rhythm: str

    @property
    def cycle_s(self) -> float:
        """Length of one cycle. [s]"""
        return float(sum(d for d, _ in self.phases))

    @property
    def energy_kwh(self) -> float:
        """Energy of one cycle. [kWh]"""
        return sum(d * p for d, p in self.phases) / 3.6e6


#: Appliance catalogue, in the order of their numeric codes.
CATALOGUE: tuple[Appliance, ...] = (
    Appliance(
        "dishwasher",
        "Dishwasher",
        # pre-rinse, main-wash heating, wash, rinse heating, rinse, drying
        ((10 * MIN, 120.0), (20 * MIN, 1900.0), (30 * MIN, 140.0), (15 * MIN, 1700.0), (15 * MIN, 120.0), (30 * MIN, 20.0)),
        start_weight=1.0,
        ownership=0.75,
        rhythm="dishwashing",
    ),
    Appliance(
        "washing_machine",
        "Washing machine",
        # fill, heating, wash drum motor, rinse, final spin
        ((5 * MIN, 60.0), (20 * MIN, 2000.0), (45 * MIN, 200.0), (20 * MIN, 150.0), (10 * MIN, 450.0)),
        start_weight=1.0,
        ownership=0.95,
        rhythm="laundry",
    ),
    Appliance(
        "tumble_dryer",
        "Tumble dryer",
        # condenser dryer: heating, then cool-down tumbling
        ((70 * MIN, 2400.0), (15 * MIN, 250.0)),
        start_weight=0.5,
        ownership=0.35,
        rhythm="laundry",
    ),
    Appliance(
        "oven",
        "Electric oven",
        # preheat, then thermostat cycling (2 min on, 3 min off) for 45 min
        ((12 * MIN, 2800.0),) + ((2 * MIN, 2500.0), (3 * MIN, 90.0)) * 9,
        start_weight=1.2,
        ownership=0.85,
        rhythm="cooking",
    ),
    Appliance(
        "ev_wallbox",
        "EV wallbox",
        # placeholder phases, unused: a session's energy is drawn per charge and
        # its length follows from the house's charger rating (EV_SESSION_* below)
        ((3 * 3600.0, 1.0),),
        start_weight=0.5,
        ownership=0.30,
        rhythm="ev_arrival",
    ),
)
NAMES: tuple[str, ...] = tuple(a.name for a in CATALOGUE)
LABELS: tuple[str, ...] = tuple(a.label for a in CATALOGUE)
EV_CODE = NAMES.index("ev_wallbox")
#: Wallbox charging powers a house may have. [kW]
EV_CHARGER_KW_CHOICES: tuple[float, ...] = (3.7, 7.4, 11.0)
#: Energy of one home-charging session: lognormal with this median and this sigma
#: of its logarithm (mean about 11 kWh), capped at a full battery's worth. Chosen to
#: lie in the range measured home-charging data report (ElaadNL home charge points,
#: NL; Electric Nation trial, UK, 2017-2019: mean sessions of roughly 10-15 kWh);
#: not a fit to either data set. [kWh], [-], [kWh]
EV_SESSION_KWH_MEDIAN = 9.0
EV_SESSION_KWH_SIGMA = 0.6
EV_SESSION_KWH_MAX = 60.0
#: Near the end of a charge the car tapers to this share of the rating for this long. [-], [s]
EV_TAPER_SHARE, EV_TAPER_S = 0.5, 10 * MIN
