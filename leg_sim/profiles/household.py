"""Household base load: the BDEW H25 standard load profile plus meter-like detail.

The H25 profile (BDEW 2025 household profile, via demandlib) gives the average
power of a household by month, weekday/Saturday/Sunday-or-holiday and quarter
hour, with BDEW's dynamisation over the year. It is normalised here to watts per
1000 kWh of annual consumption and scaled to each house.

A real meter is not that smooth, so on top of the shape each house gets:

* a fridge compressor cycling on and off with its own period, duty and phase
  (its average is taken out of the shape, so annual energy is kept);
* short-term noise (lights, TV, cooking, pumps): an OU process, about 8 % of the
  level, that decorrelates within a minute;
* a standby floor the load never drops below.

A house's ``annual_consumption_kwh`` is its whole household use without an EV:
the H25 profile already contains washing, drying, dishes and cooking, so the
appliance cycles simulated on top (leg_sim.profiles.appliances) are taken out of
the base load's annual energy (:func:`base_annual_kwh`); the EV comes on top.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd
from demandlib import bdew

#: Relative standard deviation of the short-term noise. [-]
NOISE_SIGMA = 0.08
#: Time constant of the short-term noise. [s]
NOISE_TAU_S = 40.0


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


#: The base load keeps at least this share of the annual consumption. [-]
MIN_BASE_SHARE = 0.2


def base_annual_kwh(annual_consumption_kwh: np.ndarray, appliance_kwh: np.ndarray) -> np.ndarray:
    """Annual energy left for the base load once the simulated appliances have theirs. [kWh/a]

    Parameters
    ----------
    annual_consumption_kwh
        Household use per year without an EV, per house. [kWh/a]
    appliance_kwh
        Expected energy per year of the house's simulated non-EV appliances. [kWh/a]

    Returns
    -------
    numpy.ndarray
        ``annual − appliances``, but at least :data:`MIN_BASE_SHARE` of the annual
        figure (only an unrealistic flex probability gets there). [kWh/a]
    """
    annual = np.asarray(annual_consumption_kwh, dtype=float)
    return np.maximum(annual - np.asarray(appliance_kwh, dtype=float), MIN_BASE_SHARE * annual)


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
) -> np.ndarray:
    """Base load of each house at one instant.

    Parameters
    ----------
    shape_w_per_kwh
        H25 value now, per kWh of annual consumption. [W/(kWh/a)]
    base_annual_kwh
        Annual energy of the base load per house (see :func:`base_annual_kwh`). [kWh/a]
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

    Returns
    -------
    numpy.ndarray
        Base load, ≥ standby. [W]
    """
    smooth_w = shape_w_per_kwh * np.asarray(base_annual_kwh, dtype=float)
    # The profile already contains the fridge's average; swap it for the real cycle.
    rest_w = np.maximum(smooth_w - fridge_duty * fridge_power_w, 0.0) * (1.0 + noise)
    return np.maximum(rest_w + np.where(fridge_running, fridge_power_w, 0.0), standby_w)


def noise_step(noise: np.ndarray, dt_s: float, standard_normal: np.ndarray) -> np.ndarray:
    """Advance the relative short-term noise by `dt_s` (exact OU step). [-]"""
    decay = math.exp(-max(dt_s, 0.0) / NOISE_TAU_S)
    return noise * decay + NOISE_SIGMA * math.sqrt(1.0 - decay * decay) * standard_normal
