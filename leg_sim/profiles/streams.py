"""Random streams keyed to the seed and the simulated date, not to the tick count.

Every random draw of the simulation comes from a generator made here from the
community's seed, a stream number and the simulated (local) day or minute it
belongs to. So the same seed and the same date give the same day, whatever the
tick interval, the clock speed, the start time or how often the server was
restarted in between; and two different dates give different days.

Draws for houses are made in blocks of :data:`HOUSE_BLOCK` houses, one generator
per block, so house *i* gets the same events whatever the community's size.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

#: Stream numbers: one per kind of randomness, so the streams never share draws.
WEATHER_DAYS = 1  # day types of a year (climate Markov chain)
CLOUDS = 2  # the cloud field of one hour
APPLIANCES = 3  # big-appliance and EV starts of one day
SMALL_APPLIANCES = 4  # kettle, hob, microwave spikes of one day
LOAD_NOISE = 5  # short-term base-load detail, one knot per minute
HOURLY_WEATHER = 6  # hour-to-hour variation of the clear-sky index within a day
DECK = 7  # minute-to-minute variation of a closed cloud deck

#: Houses per generator for per-house draws.
HOUSE_BLOCK = 64
#: One quarter hour, the resolution of the daily curves. [s]
QUARTER_S = 900.0


def rng(seed: int, stream: int, *keys: int) -> np.random.Generator:
    """A generator for one stream and one key tuple (day number, hour, block, ...)."""
    return np.random.default_rng([int(seed), int(stream), *(int(k) for k in keys)])


def day_number(local_date: dt.date) -> int:
    """Proleptic day number of a local calendar date (1 = 1 January of year 1)."""
    return local_date.toordinal()


def local_day_bounds_s(day: int, timezone: str) -> tuple[float, float]:
    """Start and end of local day `day` in seconds since the epoch (23 or 25 h on DST days). [s]"""
    date = dt.date.fromordinal(day)
    start = pd.Timestamp(date, tz=timezone)
    end = pd.Timestamp(date + dt.timedelta(days=1), tz=timezone)
    return start.timestamp(), end.timestamp()


def local_quarters(day: int, timezone: str) -> tuple[float, np.ndarray]:
    """Start of local day `day` and the clock quarter hour (0..95) of each of its real quarter hours. [s], [-]

    92 quarter hours on the day the clocks go forward (02:00-02:59 is skipped), 100 on
    the day they go back (the repeated hour appears twice).
    """
    start_s, end_s = local_day_bounds_s(day, timezone)
    n = round((end_s - start_s) / QUARTER_S)
    local = pd.date_range(pd.Timestamp(start_s, unit="s", tz="UTC"), periods=n, freq="15min").tz_convert(timezone)
    return start_s, np.asarray(local.hour * 4 + local.minute // 15, dtype=np.int64)


def poisson_quantile(u: np.ndarray, lam: np.ndarray, max_count: int | None = None) -> np.ndarray:
    """Poisson counts by inverse CDF: the smallest n with P(N ≤ n) ≥ u, at most `max_count`.

    One uniform per count, whatever the mean, so the draws that follow never
    shift when a mean changes.

    Parameters
    ----------
    u
        Uniforms in [0, 1). [-]
    lam
        Poisson means, same shape, below ~700 (exp(−lam) must not underflow). [-]
    max_count
        Largest count returned; None for no cap. [-]

    Returns
    -------
    numpy.ndarray
        Counts, int64, same shape. [-]
    """
    u, lam = np.broadcast_arrays(np.asarray(u, dtype=float), np.asarray(lam, dtype=float))
    shape = u.shape
    u, lam = u.ravel(), lam.ravel()
    count = np.zeros(len(u), dtype=np.int64)
    term = np.exp(-lam)
    cdf = term.copy()
    idx = np.flatnonzero(u > cdf)
    n = 0
    while len(idx) and (max_count is None or n < max_count):
        n += 1
        term[idx] *= lam[idx] / n
        cdf[idx] += term[idx]
        count[idx] = n
        # rounding may leave cdf a hair below u: stop once the terms are negligible
        idx = idx[(u[idx] > cdf[idx]) & (term[idx] > 1e-17 * cdf[idx])]
    return count.reshape(shape)


def local_day_of(t_s: float, timezone: str) -> int:
    """Day number of the local date at `t_s`. [s]"""
    return day_number(pd.Timestamp(t_s, unit="s", tz="UTC").tz_convert(timezone).date())


def per_house_blocks(house_count: int) -> range:
    """Indices of the house blocks that cover `house_count` houses.

    A caller draws for all :data:`HOUSE_BLOCK` houses of each block from
    ``rng(seed, stream, key, block)`` and then drops the houses past the end, so
    a house's draws never depend on how many houses follow it.
    """
    return range((house_count + HOUSE_BLOCK - 1) // HOUSE_BLOCK)
