"""Household base load: the BDEW H25 mean per quarter hour, with the detail a 1 Hz meter sees.

What the base load of a house is, at an instant ``t``::

    base = max((smooth − fridge_mean − expected_spikes) · (1 + noise) + fridge_now + spikes_now, standby)

* ``smooth`` is the BDEW H25 household profile (BDEW 2025, via demandlib: month,
  working day / Saturday / Sunday, quarter hour, with BDEW's dynamisation),
  normalised to watts per 1000 kWh of annual energy, linear between quarter-hour
  centres and scaled to the house's base annual energy (:func:`appliance_room`).
* ``fridge_now`` is the fridge compressor, on or off with its own period, duty
  and phase (:func:`fridge_on`); its mean ``fridge_mean`` comes out of the smooth
  share.
* ``spikes_now`` are short kW loads: kettle, microwave, toaster and hob (an
  element cycling on and off) (:data:`SMALL_APPLIANCES`). Their starts follow the
  daily rhythm of :func:`leg_sim.profiles.rhythm.start_intensity`, their number
  per day grows with the household size. Their expected power at that moment of
  the day, ``expected_spikes``, comes out of the smooth share, so the mean over
  many days of the base load is still the H25 value of each quarter hour.
  Lighting, TV and the like stay in the smooth share.
* ``noise`` is the short-term wobble of everything else: a standard-normal knot
  per house and simulated minute, interpolated in between, about 8 % of the level.
* ``standby`` is the floor the load never drops below.

The expected spike power of a house is held at most :data:`MAX_SPIKE_SHARE` of its
smooth power at every quarter hour (:func:`spike_rate_scale`), so the subtraction
never clips and the mean is kept. The fridge's mean comes out of the same share:
at H25's lowest value (0.054 W per kWh/a, a summer night) the largest default
fridges of :mod:`leg_sim.model` (38.5 W mean) fit from about 710 kWh/a of base
energy up; smaller bases lose a little of their mean in those hours.

All randomness is keyed to simulated time (:mod:`leg_sim.profiles.streams`): the
spikes of a local day come from that day's generator per block of houses, the
noise knots from that minute's generator. The same seed and time give the same
base load whatever the tick interval, clock speed, or order in which instants are
asked for; and house *i* never depends on how many houses follow it.

A house's ``annual_consumption_kwh`` is its whole household use without an EV:
the H25 profile already contains washing, drying, dishes and cooking, so the
appliance cycles simulated on top (leg_sim.profiles.appliances) are taken out of
the base load's annual energy (:func:`appliance_room`); the EV comes on top.

References
----------
.. [1] BDEW (2025), "Standardlastprofile Strom", household profile H25; via
   demandlib (oemof).
.. [2] I. Richardson, M. Thomson, D. Infield, C. Clifford (2010), "Domestic
   electricity use: A high-resolution energy demand model", Energy and Buildings
   42(10), 1878-1887 (CREST). Appliance table as in ``Appliances.csv`` of the
   model (also in IBPSA/IDEAS ``Occupants/Stochastic/Data/Residential``): kettle
   2000 W, 3 min, 1520 cycles/a, owned by 97.5 %; microwave 1250 W, owned by
   85.9 %; small cooking 1000 W, 3 min, 292 cycles/a; hob 2400 W, 16 min,
   418 cycles/a.
.. [3] J. Kelly, W. Knottenbelt (2015), "The UK-DALE dataset, domestic
   appliance-level electricity demand and whole-house demand from five UK homes",
   Scientific Data 2, 150007.
.. [4] C. Beckel, W. Kleiminger, R. Cicchetti, T. Staake, S. Santini (2014), "The
   ECO data set and the performance of non-intrusive load monitoring algorithms",
   BuildSys 2014 (Swiss households, 1 Hz).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math

import numpy as np
import pandas as pd
from demandlib import bdew

from leg_sim.profiles import rhythm, streams

#: Relative standard deviation of the short-term noise (estimate). [-]
NOISE_SIGMA = 0.08
#: Spacing of the noise knots. [s]
NOISE_KNOT_S = 60.0


@functools.lru_cache(maxsize=8)
def h25_year_w_per_mwh(year: int, timezone: str) -> tuple[np.ndarray, np.ndarray]:
    """The H25 profile of one local calendar year.

    Parameters
    ----------
    year
        Calendar year in the community's time zone.
    timezone
        IANA time zone of the community (the profile follows local clock time).

    Returns
    -------
    centres_s, power_w_per_mwh : numpy.ndarray
        Centre of each quarter hour (seconds since the epoch) and the average
        household power in it, for 1 MWh (1000 kWh) of annual consumption. [s], [W]
    """
    index = pd.date_range(
        pd.Timestamp(year=year, month=1, day=1, tz=timezone),
        pd.Timestamp(year=year + 1, month=1, day=1, tz=timezone),
        freq="15min",
        inclusive="left",
    )
    # demandlib scales BDEW profiles to 1 GWh/a in kW, which equals W per MWh/a.
    values = np.asarray(bdew.H25(index), dtype=float)
    centres_s = index.as_unit("s").asi8.astype(float) + 450.0
    return centres_s, values


def h25_w_per_kwh(time: pd.Timestamp, timezone: str) -> float:
    """H25 household power at an instant, per kWh of annual consumption. [W/(kWh/a)]

    Linear between quarter-hour centres, so the curve has no 15-minute steps.
    A `time` already in `timezone` is used as it is.
    """
    local = time if str(time.tz) == timezone else time.tz_convert(timezone)
    t_s = time.timestamp()
    centres_s, values = h25_year_w_per_mwh(local.year, timezone)
    if t_s < centres_s[0] or t_s > centres_s[-1]:
        # Near New Year: join this year's profile with the neighbour's.
        other = local.year - 1 if t_s < centres_s[0] else local.year + 1
        oc, ov = h25_year_w_per_mwh(other, timezone)
        centres_s, values = (np.concatenate([oc, centres_s]), np.concatenate([ov, values])) if other < local.year else (
            np.concatenate([centres_s, oc]),
            np.concatenate([values, ov]),
        )
    return float(np.interp(t_s, centres_s, values)) / 1000.0


#: The base load keeps at least this many times the energy of its always-on floor
#: (standby plus the fridge's mean), so the standby floor does not add energy at night. [-]
BASE_FLOOR_FACTOR = 2.0


def appliance_room(
    annual_consumption_kwh: np.ndarray, appliance_kwh: np.ndarray, standby_w: np.ndarray, fridge_mean_w: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """How much of the simulated white goods a house's annual consumption has room for, and its base.

    ``annual_consumption_kwh`` is the whole household without an EV; the base load
    keeps at least :data:`BASE_FLOOR_FACTOR` × its floor (standby and fridge, all
    year), and the appliances get the rest at most. A house whose appliances at the
    flex probability would need more (a small household owning all of them) runs
    them less often, by the returned factor, so its year still adds up.

    Parameters
    ----------
    annual_consumption_kwh
        Household use per year without an EV, per house. [kWh/a]
    appliance_kwh
        Expected energy per year of each house's simulated non-EV appliances at the flex probability. [kWh/a]
    standby_w, fridge_mean_w
        The house's standby floor and its fridge's mean power. [W]

    Returns
    -------
    appliance_scale, base_annual_kwh : numpy.ndarray
        Factor (0..1) on the house's appliance starts, and the base load's annual energy:
        ``annual − scale · appliances``. [-], [kWh/a]
    """
    annual = np.asarray(annual_consumption_kwh, dtype=float)
    appliances = np.asarray(appliance_kwh, dtype=float)
    floor_kwh = BASE_FLOOR_FACTOR * (np.asarray(standby_w, dtype=float) + np.asarray(fridge_mean_w, dtype=float)) * 8.76
    room_kwh = np.maximum(annual - floor_kwh, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(appliances > room_kwh, room_kwh / appliances, 1.0)
    return scale, annual - scale * appliances


def fridge_on(t_s: float, period_s: np.ndarray, duty: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """Whether each fridge compressor runs at time `t_s`.

    Parameters
    ----------
    t_s
        Simulated time. [s]
    period_s
        Compressor cycle length, per house. [s]
    duty
        Fraction of the cycle the compressor runs, per house. [-]
    phase
        Offset into the cycle, per house, 0..1. [-]
    """
    return np.mod(t_s / period_s + phase, 1.0) < duty


def base_load_w(
    shape_w_per_kwh: float,
    base_annual_kwh: np.ndarray,
    fridge_power_w: np.ndarray,
    fridge_duty: np.ndarray,
    fridge_running: np.ndarray,
    noise: np.ndarray,
    standby_w: np.ndarray,
    expected_spike_w: np.ndarray | float = 0.0,
    spike_w: np.ndarray | float = 0.0,
) -> np.ndarray:
    """Base load of each house at one instant.

    Parameters
    ----------
    shape_w_per_kwh
        H25 value now, per kWh of annual consumption. [W/(kWh/a)]
    base_annual_kwh
        Annual energy of the base load per house (see :func:`appliance_room`). [kWh/a]
    fridge_power_w
        Compressor power while running. [W]
    fridge_duty
        Compressor duty cycle. [-]
    fridge_running
        Whether the compressor runs now (bool). [-]
    noise
        Relative short-term deviation, around 0. [-]
    standby_w
        Floor the load never drops below. [W]
    expected_spike_w
        Expected power of the small-appliance spikes at this time of day, per house. [W]
    spike_w
        Power of the small appliances running now, per house. [W]

    Returns
    -------
    numpy.ndarray
        ``max((smooth − fridge mean − expected spikes)·(1 + noise) + fridge now + spikes now, standby)``,
        with both factors of the smooth share kept ≥ 0. [W]
    """
    smooth_w = shape_w_per_kwh * np.asarray(base_annual_kwh, dtype=float)
    # The profile already contains the fridge's and the spikes' averages; swap them for the real thing.
    rest_w = np.maximum(smooth_w - fridge_duty * fridge_power_w - expected_spike_w, 0.0) * np.maximum(1.0 + noise, 0.0)
    return np.maximum(rest_w + np.where(fridge_running, fridge_power_w, 0.0) + spike_w, standby_w)


def noise_between_knots(z0: np.ndarray, z1: np.ndarray, fraction: float, sigma: float = NOISE_SIGMA) -> np.ndarray:
    """Relative noise between two standard-normal knots. [-]

    Linear between the knots, rescaled so its standard deviation is `sigma` at
    every point (a plain linear blend would dip to 0.71·sigma half-way).

    Parameters
    ----------
    z0, z1
        Standard-normal knots at the start and end of the interval, per house. [-]
    fraction
        Position in the interval, 0 at `z0`, 1 at `z1`. [-]
    sigma
        Standard deviation of the noise. [-]
    """
    w = min(max(float(fraction), 0.0), 1.0)
    return (sigma / math.hypot(1.0 - w, w)) * ((1.0 - w) * z0 + w * z1)


# --- small-appliance spikes ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SmallAppliance:
    """One kind of short kW load of a household (kettle, hob, ...).

    Parameters
    ----------
    name
        Short name.
    rhythm_kind
        Curve of :func:`leg_sim.profiles.rhythm.start_intensity` its starts follow.
    starts_per_day
        Mean starts per day for a household of :data:`REFERENCE_HOUSEHOLD_SIZE`. [1/d]
    ownership
        Share of houses that own one. [-]
    power_min_w, power_max_w
        Range of the house's appliance power (uniform, drawn once per house). [W]
    duration_min_s, duration_max_s
        Range of the duration of one use (uniform, drawn per use). [s]
    cycling
        Whether the element cycles on and off after heating up (hob).
    """

    name: str
    rhythm_kind: str
    starts_per_day: float
    ownership: float
    power_min_w: float
    power_max_w: float
    duration_min_s: float
    duration_max_s: float
    cycling: bool = False


#: The small appliances. Powers and durations are typical values of what 1 Hz data
#: such as UK-DALE [3] and ECO [4] show (not fitted to them): kettles of 2-3 kW for
#: 2-4 min, microwaves of ~1 kW for 1-5 min, toasters of ~0.9 kW, hob elements of
#: 1-2 kW cycling on and off. Microwave and toaster follow rhythm's "kettle" curve,
#: which is CREST's mix of kettle, microwave and small-cooking starts. Starts per day are for a
#: 2.4-person household; CREST [2] (UK) has kettle 4.2/d (1520/a), small cooking
#: 0.8/d, hob 1.1/d (16-min cycles), microwave 0.26/d (but 30-min cycles). Ours,
#: estimates for a Swiss household: kettle 3/d (less tea than in the UK), toaster
#: 0.5/d (part of CREST's small cooking), microwave 1/d of a few minutes, hob 1/d
#: of 10-40 min. Ownership from CREST, except the hob: CREST's 46 % reflects gas
#: hobs in the UK, Swiss kitchens cook on electricity (estimate 100 %).
SMALL_APPLIANCES: tuple[SmallAppliance, ...] = (
    SmallAppliance("kettle", "kettle", 3.0, 0.975, 2000.0, 3000.0, 120.0, 240.0),
    SmallAppliance("microwave", "kettle", 1.0, 0.859, 800.0, 1300.0, 60.0, 300.0),
    SmallAppliance("toaster", "kettle", 0.5, 1.0, 800.0, 1000.0, 120.0, 180.0),
    SmallAppliance("hob", "cooking", 1.0, 1.0, 1000.0, 2000.0, 600.0, 2400.0, cycling=True),
)
#: Household size the starts per day refer to (UK mean, the population CREST's rates describe). [persons]
REFERENCE_HOUSEHOLD_SIZE = 2.4
#: Starts per day grow as (size / reference) ** this (estimate: members share meals
#: and kettle fills, so use grows less than in proportion). [-]
HOUSEHOLD_SIZE_EXPONENT = 0.5
#: The hob element runs without a break for this long after it is switched on (estimate). [s]
HOB_HEAT_S = 180.0
#: Range of the hob's on/off cycle length, drawn per use (estimate for energy regulators). [s]
HOB_PERIOD_RANGE_S = (30.0, 90.0)
#: Range of the share of each cycle the hob element is on, drawn per use (estimate). [-]
HOB_DUTY_RANGE = (0.3, 0.8)
#: The expected spike power of a house stays below this share of its smooth H25 power. [-]
MAX_SPIKE_SHARE = 0.6
#: At most this many starts of one appliance per house and day (P(more) = 2e-4 at the 6.1/d of a 10-person kettle). [-]
MAX_STARTS_PER_DAY = 16
#: Resolution of the expected-spike profile. [s]
EXPECTED_BIN_S = 10.0
#: Year whose H25 profile bounds the expected spikes (other years differ only in which dates are weekends). [-]
REFERENCE_YEAR = 2026

_N_APP = len(SMALL_APPLIANCES)
# Uniforms per slot of a use: start, duration, hob period, hob duty, hob phase.
_N_FIELDS = 5
# Key of the per-house draws (power, ownership) in the SMALL_APPLIANCES stream: day
# numbers start at 1, so 0 never collides with a day.
_HOUSE_KEY = 0


def starts_per_day(household_size: np.ndarray) -> np.ndarray:
    """Mean starts per day of each small appliance, per house (if owned). [1/d]

    Parameters
    ----------
    household_size
        People in the household, per house. [persons]

    Returns
    -------
    numpy.ndarray
        Shape (houses, appliances), :data:`SMALL_APPLIANCES` order. [1/d]
    """
    factor = (np.maximum(np.asarray(household_size, dtype=float), 1.0) / REFERENCE_HOUSEHOLD_SIZE) ** HOUSEHOLD_SIZE_EXPONENT
    return factor[:, None] * np.array([a.starts_per_day for a in SMALL_APPLIANCES])


def spike_power_w(
    age_s: np.ndarray,
    duration_s: np.ndarray,
    power_w: np.ndarray,
    cycling: bool,
    period_s: np.ndarray | float = 1.0,
    duty: np.ndarray | float = 1.0,
    phase: np.ndarray | float = 0.0,
) -> np.ndarray:
    """Power of appliance uses `age_s` after they started.

    Parameters
    ----------
    age_s
        Time since the start of each use. [s]
    duration_s
        Length of each use. [s]
    power_w
        Power while on. [W]
    cycling
        Whether the element cycles after :data:`HOB_HEAT_S` (hob).
    period_s, duty, phase
        Cycle length, on-share and offset (0..1) of the cycling. [s], [-], [-]

    Returns
    -------
    numpy.ndarray
        Power of each use, 0 before its start and after its end. [W]
    """
    on = (age_s >= 0.0) & (age_s < duration_s)
    if cycling:
        on &= (age_s < HOB_HEAT_S) | (np.mod((age_s - HOB_HEAT_S) / period_s + phase, 1.0) < duty)
    return np.where(on, power_w, 0.0)


def on_probability(age_s: np.ndarray, appliance: SmallAppliance) -> np.ndarray:
    """Expected share of its power a use of `appliance` draws `age_s` after its start. [-]

    Durations are uniform, the hob's duty is uniform and its phase uniform on
    0..1, so after the heat-up its expected on-share is the mean duty.
    """
    age_s = np.asarray(age_s, dtype=float)
    lasting = np.clip((appliance.duration_max_s - age_s) / (appliance.duration_max_s - appliance.duration_min_s), 0.0, 1.0)
    lasting = np.where(age_s < 0.0, 0.0, lasting)
    if appliance.cycling:
        lasting = lasting * np.where(age_s < HOB_HEAT_S, 1.0, 0.5 * sum(HOB_DUTY_RANGE))
    return lasting


@functools.cache
def _on_kernel(appliance: SmallAppliance, bin_s: float) -> np.ndarray:
    """Mean on-share in the bin `k` bins after a use's start bin (start and time uniform in their bins). [-]"""
    n = math.ceil(appliance.duration_max_s / bin_s) + 2
    # The offset between a uniform start and a uniform instant in bins of width bin_s is
    # triangular on ±bin_s: midpoint rule on 40 steps, none straddling the step at age 0.
    steps = 40
    offsets = ((np.arange(steps) + 0.5) / steps * 2.0 - 1.0) * bin_s
    weights = (1.0 - np.abs(offsets) / bin_s) * (2.0 / steps)
    ages = np.arange(n)[:, None] * bin_s + offsets[None, :]
    return on_probability(ages, appliance) @ weights


def expected_spike_profile(quarter_intensity: np.ndarray, appliance: SmallAppliance, bin_s: float = EXPECTED_BIN_S) -> np.ndarray:
    """Expected power, per start per day and per watt, of one day's uses of an appliance. [-]

    Parameters
    ----------
    quarter_intensity
        Relative start intensity in each elapsed quarter hour of the day (mean 1
        on a 24-hour day). [-]
    appliance
        The appliance.
    bin_s
        Bin width; a multiple of it is 900 s. [s]

    Returns
    -------
    numpy.ndarray
        Per bin from the start of the day, running on past the day's end by the
        longest use: expected power of the day's uses for a mean of 1 start per
        24 h and 1 W of appliance power. [W/W/(1/d)]
    """
    per_quarter = round(streams.QUARTER_S / bin_s)
    starts_per_bin = np.repeat(np.asarray(quarter_intensity, dtype=float), per_quarter) / (96 * per_quarter)
    return np.convolve(starts_per_bin, _on_kernel(appliance, bin_s))


@functools.lru_cache(maxsize=16)
def _h25_minimum_per_quarter(timezone: str) -> np.ndarray:
    """Lowest H25 value per (working day / weekend, local quarter hour) of the reference year. [W/MWh]

    A quarter hour also takes its neighbours' minima, since the smooth curve runs
    linearly to them.
    """
    centres_s, values = h25_year_w_per_mwh(REFERENCE_YEAR, timezone)
    local = pd.to_datetime(centres_s - 450.0, unit="s", utc=True).tz_convert(timezone)
    quarter = np.asarray(local.hour * 4 + local.minute // 15)
    weekend = np.asarray(local.day_of_week >= 5)
    out = np.full((2, 96), np.inf)
    for w in (0, 1):
        sel = weekend == bool(w)
        np.minimum.at(out[w], quarter[sel], values[sel])
    return np.minimum(out, np.minimum(np.roll(out, 1, axis=1), np.roll(out, -1, axis=1)))


@functools.lru_cache(maxsize=1)
def _expected_unit_peak_per_quarter() -> np.ndarray:
    """Highest expected spike power per (day type, appliance, local quarter hour) on 24-hour days.

    Includes the tail of the day before, of either type. [W/W/(1/d)]
    """
    per_quarter = round(streams.QUARTER_S / EXPECTED_BIN_S)
    n_bins = 96 * per_quarter
    out = np.zeros((2, _N_APP, 96))
    for a, appliance in enumerate(SMALL_APPLIANCES):
        own = [expected_spike_profile(rhythm.start_intensity(appliance.rhythm_kind, bool(w)), appliance) for w in (0, 1)]
        tail = np.maximum(own[0][n_bins:], own[1][n_bins:])
        for w in (0, 1):
            day = own[w][:n_bins].copy()
            day[: len(tail)] += tail
            out[w, a] = day.reshape(96, per_quarter).max(axis=1)
    return out


def spike_rate_scale(
    spike_w_per_start_day: np.ndarray,
    base_annual_kwh: np.ndarray,
    timezone: str,
    max_share: float = MAX_SPIKE_SHARE,
) -> np.ndarray:
    """Factor on each house's spike starts so their expected power fits in the smooth share. [-]

    The rates of all of a house's small appliances are multiplied by the same
    factor, ``min(1, max_share · min over (day type, quarter hour) of
    smooth / expected spikes)``, with the smooth power at the lowest H25 value of
    that quarter hour in the year. Houses with enough annual energy keep 1.

    Parameters
    ----------
    spike_w_per_start_day
        Starts per day times appliance power, per house and appliance. [W/d]
    base_annual_kwh
        Annual energy of the base load, per house. [kWh/a]
    timezone
        IANA time zone of the community.
    max_share
        Largest share of the smooth power the expected spikes may take. [-]
    """
    smooth_min_w = _h25_minimum_per_quarter(timezone)[None, :, :] * np.asarray(base_annual_kwh, dtype=float)[:, None, None] / 1000.0
    peak = _expected_unit_peak_per_quarter()  # (type, app, quarter)
    expected_w = np.einsum("ha,taq->htq", np.asarray(spike_w_per_start_day, dtype=float), peak)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(expected_w > 0.0, max_share * smooth_min_w / expected_w, np.inf)
    return np.minimum(ratio.min(axis=(1, 2), initial=np.inf), 1.0)


@dataclasses.dataclass(frozen=True)
class _Uses:
    """The uses of one appliance over some time, sorted by start (epoch seconds)."""

    house: np.ndarray
    start_s: np.ndarray
    duration_s: np.ndarray
    power_w: np.ndarray
    period_s: np.ndarray
    duty: np.ndarray
    phase: np.ndarray

    @staticmethod
    def join(a: _Uses, b: _Uses) -> _Uses:
        """`a` then `b` (all of `a` starts before `b`)."""
        return _Uses(*(np.concatenate([getattr(a, f.name), getattr(b, f.name)]) for f in dataclasses.fields(_Uses)))


@dataclasses.dataclass(frozen=True)
class _Day:
    """One local day's own spikes: its bounds, its uses and their expected power (with the tail)."""

    start_s: float
    end_s: float
    uses: tuple[_Uses, ...]
    expected_unit: np.ndarray  # (appliance, bin) from start_s, past end_s by the longest use


#: Recent house settings whose drawn days are kept for a quick way back.
_REMEMBERED_SETTINGS = 4


class BaseLoadDetail:
    """Holds what the base load needs between ticks: spike uses of the days in view, noise knots.

    Everything is drawn from the seed and keyed to the simulated day or minute
    (:mod:`leg_sim.profiles.streams`), so any instant can be asked for in any
    order. The arithmetic is :func:`base_load_w`.

    Parameters
    ----------
    seed
        The community's seed.
    timezone
        IANA time zone of the community (spike rhythm and days follow local time).
    """

    def __init__(self, seed: int, timezone: str):
        self.seed = int(seed)
        self.timezone = str(timezone)
        self._n = 0
        self._base_annual_kwh = np.zeros(0)
        self._starts_per_day = np.zeros((0, _N_APP))
        self._power_w = np.zeros((0, _N_APP))
        self._spike_w_per_start_day = np.zeros((0, _N_APP))
        self.rate_scale = np.zeros(0)
        self._days: dict[int, _Day] = {}
        self._configs: dict[tuple, tuple] = {}
        self._key: tuple = ()
        self._current: tuple[float, float, tuple[_Uses, ...], np.ndarray] | None = None
        self._knot_minute: int | None = None
        self._z0 = np.zeros(0)
        self._z1 = np.zeros(0)

    def configure(self, house_count: int, household_size: np.ndarray, base_annual_kwh: np.ndarray) -> None:
        """Set the houses; a recent setting gets its drawn days back, a new one draws them anew.

        Parameters
        ----------
        house_count
            Number of houses.
        household_size
            People per house. [persons]
        base_annual_kwh
            Annual energy of each house's base load. [kWh/a]
        """
        n = int(house_count)
        size = np.asarray(household_size, dtype=float)[:n]
        base = np.asarray(base_annual_kwh, dtype=float)[:n].copy()
        key = (n, size.tobytes(), base.tobytes())
        if len(self._base_annual_kwh) or self._n:
            self._configs[self._key] = (self._power_w, self.rate_scale, self._starts_per_day, self._spike_w_per_start_day, self._days)
            while len(self._configs) > _REMEMBERED_SETTINGS:
                self._configs.pop(next(iter(self._configs)))
        self._key = key
        self._n = n
        self._base_annual_kwh = base
        self._current = None
        self._knot_minute = None
        known = self._configs.pop(key, None)
        if known is not None:  # back to a recent setting (a slider moved back): reuse its days
            self._power_w, self.rate_scale, self._starts_per_day, self._spike_w_per_start_day, self._days = known
            return
        u = self._per_block(_HOUSE_KEY, (_N_APP, 2))
        owned = u[:, :, 0] < np.array([a.ownership for a in SMALL_APPLIANCES])
        low = np.array([a.power_min_w for a in SMALL_APPLIANCES])
        high = np.array([a.power_max_w for a in SMALL_APPLIANCES])
        self._power_w = low + u[:, :, 1] * (high - low)
        rates = starts_per_day(size) * owned
        self.rate_scale = spike_rate_scale(rates * self._power_w, self._base_annual_kwh, self.timezone)
        self._starts_per_day = rates * self.rate_scale[:, None]
        self._spike_w_per_start_day = self._starts_per_day * self._power_w
        self._days = {}

    def _per_block(self, key: int, shape: tuple[int, ...]) -> np.ndarray:
        """Uniforms of shape (houses, *shape) from the SMALL_APPLIANCES stream of `key`, per house block."""
        blocks = [streams.rng(self.seed, streams.SMALL_APPLIANCES, key, b).random((streams.HOUSE_BLOCK, *shape))
                  for b in streams.per_house_blocks(self._n)]
        return np.concatenate(blocks)[: self._n] if blocks else np.zeros((0, *shape))

    def _day(self, day: int) -> _Day:
        """The spikes of local day `day` (cached)."""
        cached = self._days.pop(day, None)
        if cached is not None:
            self._days[day] = cached  # most recently used last
            return cached
        start_s, end_s = streams.local_day_bounds_s(day, self.timezone)
        _, clock_quarter = streams.local_quarters(day, self.timezone)  # they differ from elapsed ones on DST days
        weekend = rhythm.is_weekend(dt.date.fromordinal(day))
        u = self._per_block(day, (_N_APP, 1 + MAX_STARTS_PER_DAY * _N_FIELDS))
        slots = u[:, :, 1:].reshape(self._n, _N_APP, MAX_STARTS_PER_DAY, _N_FIELDS)
        uses = []
        profiles = []
        for a, appliance in enumerate(SMALL_APPLIANCES):
            intensity = rhythm.start_intensity(appliance.rhythm_kind, weekend)[clock_quarter]
            profiles.append(expected_spike_profile(intensity, appliance))
            count = streams.poisson_quantile(u[:, a, 0], self._starts_per_day[:, a] * intensity.sum() / 96.0, MAX_STARTS_PER_DAY)
            house, slot = np.nonzero(np.arange(MAX_STARTS_PER_DAY)[None, :] < count[:, None])
            f = slots[house, a, slot]  # (uses, fields)
            start = start_s + rhythm.start_times_s(f[:, 0], intensity)
            order = np.argsort(start, kind="stable")
            f, house, start = f[order], house[order], start[order]
            uses.append(_Uses(
                house=house,
                start_s=start,
                duration_s=appliance.duration_min_s + f[:, 1] * (appliance.duration_max_s - appliance.duration_min_s),
                power_w=self._power_w[house, a],
                period_s=HOB_PERIOD_RANGE_S[0] + f[:, 2] * (HOB_PERIOD_RANGE_S[1] - HOB_PERIOD_RANGE_S[0]),
                duty=HOB_DUTY_RANGE[0] + f[:, 3] * (HOB_DUTY_RANGE[1] - HOB_DUTY_RANGE[0]),
                phase=f[:, 4],
            ))
        width = max(len(p) for p in profiles)
        expected = np.zeros((_N_APP, width))
        for a, p in enumerate(profiles):
            expected[a, : len(p)] = p
        result = _Day(start_s, end_s, tuple(uses), expected)
        if len(self._days) >= 4:
            self._days.pop(next(iter(self._days)))
        self._days[day] = result
        return result

    def _view(self, t_s: float) -> tuple[float, float, tuple[_Uses, ...], np.ndarray]:
        """Bounds, uses (this day and the day before) and expected unit profile of the day holding `t_s`."""
        cur = self._current
        if cur is not None and cur[0] <= t_s < cur[1]:
            return cur
        day = streams.local_day_of(t_s, self.timezone)
        today, before = self._day(day), self._day(day - 1)
        n_bins = math.ceil((today.end_s - today.start_s) / EXPECTED_BIN_S)
        expected = np.zeros((_N_APP, n_bins))
        own = today.expected_unit[:, :n_bins]
        expected[:, : own.shape[1]] += own
        tail = before.expected_unit[:, round((before.end_s - before.start_s) / EXPECTED_BIN_S):]
        expected[:, : min(tail.shape[1], n_bins)] += tail[:, :n_bins]
        uses = tuple(_Uses.join(b, a) for b, a in zip(before.uses, today.uses, strict=True))
        self._current = (today.start_s, today.end_s, uses, expected)
        return self._current

    def expected_spike_w(self, t_s: float) -> np.ndarray:
        """Expected power of each house's small appliances at `t_s` (this time of this day). [W]"""
        start_s, _, _, expected = self._view(t_s)
        column = expected[:, min(int((t_s - start_s) // EXPECTED_BIN_S), expected.shape[1] - 1)]
        return self._spike_w_per_start_day @ column

    def spike_w(self, t_s: float) -> np.ndarray:
        """Power of each house's small appliances running at `t_s`. [W]"""
        _, _, uses, _ = self._view(t_s)
        houses, powers = [], []
        for appliance, u in zip(SMALL_APPLIANCES, uses, strict=True):
            lo = np.searchsorted(u.start_s, t_s - appliance.duration_max_s, side="right")
            hi = np.searchsorted(u.start_s, t_s, side="right")
            if hi > lo:
                s = slice(lo, hi)
                houses.append(u.house[s])
                powers.append(spike_power_w(t_s - u.start_s[s], u.duration_s[s], u.power_w[s], appliance.cycling,
                                            u.period_s[s], u.duty[s], u.phase[s]))
        if not houses:
            return np.zeros(self._n)
        return np.bincount(np.concatenate(houses), weights=np.concatenate(powers), minlength=self._n)

    def _knots(self, minute: int) -> tuple[np.ndarray, np.ndarray]:
        """The noise knots at the start and the end of simulated minute `minute` (two cached)."""

        def draw(m: int) -> np.ndarray:
            return streams.rng(self.seed, streams.LOAD_NOISE, m).standard_normal(self._n)

        if self._knot_minute is None or minute != self._knot_minute:
            if self._knot_minute is not None and minute == self._knot_minute + 1:
                self._z0, self._z1 = self._z1, draw(minute + 1)
            elif self._knot_minute is not None and minute == self._knot_minute - 1:
                self._z0, self._z1 = draw(minute), self._z0
            else:
                self._z0, self._z1 = draw(minute), draw(minute + 1)
            self._knot_minute = minute
        return self._z0, self._z1

    def noise(self, t_s: float) -> np.ndarray:
        """Relative short-term noise of each house at `t_s`, standard deviation :data:`NOISE_SIGMA`. [-]"""
        minute = math.floor(t_s / NOISE_KNOT_S)
        z0, z1 = self._knots(minute)
        return noise_between_knots(z0, z1, t_s / NOISE_KNOT_S - minute)

    def base_load_w(
        self,
        t_s: float,
        shape_w_per_kwh: float,
        fridge_power_w: np.ndarray,
        fridge_duty: np.ndarray,
        fridge_running: np.ndarray,
        standby_w: np.ndarray,
    ) -> np.ndarray:
        """Per-house base load at `t_s`. [W]

        The smooth H25 share minus the fridge mean and the expected spikes, times
        (1 + noise), plus the fridge now, plus the spikes now, at least standby
        (:func:`base_load_w`).

        Parameters
        ----------
        t_s
            Simulated time. [s]
        shape_w_per_kwh
            H25 value at `t_s`, per kWh of annual energy (:func:`h25_w_per_kwh`). [W/(kWh/a)]
        fridge_power_w, fridge_duty, fridge_running, standby_w
            As in :func:`base_load_w`. [W], [-], [-], [W]
        """
        return base_load_w(
            shape_w_per_kwh,
            self._base_annual_kwh,
            fridge_power_w,
            fridge_duty,
            fridge_running,
            self.noise(t_s),
            standby_w,
            expected_spike_w=self.expected_spike_w(t_s),
            spike_w=self.spike_w(t_s),
        )
