"""Daily rhythm of a household: when in the day people start appliances and plug in cars.

Each curve is the relative intensity of starts per local hour of the day, for
working days and for weekends, scaled to a mean of 1 over the 24 hours; the
processes in :mod:`leg_sim.profiles.appliances` and
:mod:`leg_sim.profiles.household` multiply a daily rate by it. Curves are
given hourly, from the cited source, and interpolated to quarter hours.

Sources
-------
The hourly values below were derived by script from the cited data files, rounded
to 2 decimals after scaling to a mean of 1; hours that round to 0.00 are set to
0.01 so that no hour is impossible. Hour h means local time h:00..h:59.

laundry, cooking, kettle (working day / weekend)
    CREST Demand Model: I. Richardson, M. Thomson, D. Infield, C. Clifford (2010),
    "Domestic electricity use: A high-resolution energy demand model", Energy and
    Buildings 42(10), 1878-1887; activity statistics from the UK 2000 Time Use
    Survey. Data read from the Python port richardsonpy (RWTH-EBC/richardsonpy,
    commit 6eed77f7), files ``inputs/constants/ActiveAppliances_{wd,we}.csv``
    (probability that an activity is under way, per 10-min step, given
    1..5 active occupants; activity code 1 = Act_Cooking, 2 = Act_Laundry),
    ``occ_start_states_{wd,we}.csv`` and ``tpm{1..5}_{wd,we}.csv`` (CREST
    active-occupancy Markov chain). Derivation: for household sizes 1..5 the
    distribution of the number of active occupants n was propagated through
    the 144 ten-minute transition matrices from the 00:00 start state; the
    unconditional activity probability sum_n P(n, t) * P(activity | n, t) was
    averaged over household sizes with weights 0.37/0.33/0.13/0.12/0.05
    (approximate Swiss household-size shares, 1..5+ persons; equal weights
    change no value by more than about 0.15), then averaged per hour.
    CREST uses exactly this activity probability (times a calibration scalar)
    as the start probability of an appliance that is off, so it is a start
    intensity. laundry = Act_Laundry (CREST profile of washing machine, tumble
    dryer, washer-dryer); cooking = Act_Cooking (CREST profile of hob, oven).
    kettle = mixture of CREST's kettle (use profile "active occupancy", i.e.
    P(n >= 1 active)) and microwave + "small cooking" (Act_Cooking), weighted
    by CREST ``Appliances.csv`` cycles per year x ownership: kettle
    1519.8 x 0.975, microwave 94.6 x 0.859, small cooking 292.3 x 1.0, i.e.
    0.80 / 0.20 of starts. The time-use data are British (2000); meal times
    in Switzerland are somewhat different (larger midday meal), so the 12 h
    cooking peak is probably too low for Swiss households.
dishwashing (same curve on all days)
    CREST maps the dishwasher to Act_Cooking (``Appliances.csv``, use profile
    1), which would put dishwasher starts before the evening meal. Instead the
    dishwasher diurnal pattern of the SIMDEUM water end-use model is used
    (E.J.M. Blokker, J.H.G. Vreeburg, J.C. van Dijk (2010), "Simulating
    residential water demand with a stochastic end-use model", J. Water
    Resour. Plann. Manage. 136(1), 19-26), read from pysimdeum
    (KWR-Water/pysimdeum, commit f563767d), ``data/NL/end_uses/Dishwasher.toml``,
    ``daily_pattern_input`` (relative frequencies at 00..24 h; the UK copy of
    that file credits the Energy Saving Trust "At home with water" study for
    its statistics). The first 24 values were taken as hours 00..23 and scaled.
    It has an after-dinner peak at 18-19 h and a second one at 23 h, most
    likely delayed starts for the Dutch night tariff; no weekday/weekend split
    is given in the source.
ev_arrival (working day / weekend)
    ElaadNL (Netherlands) measured charging sessions, "distribution of
    arrival" at *private* (home) charge points, weekdays and weekends, 15-min
    resolution, as redistributed in EV2Gym (StavrosOrf/EV2Gym, commit
    c8735e77), ``ev2gym/data/distribution-of-arrival.csv`` and
    ``distribution-of-arrival-weekend.csv``, column ``private`` (see also
    S. Orfanoudakis et al. (2024), "EV2Gym: A flexible V2G simulator for EV
    smart charging research and benchmarking", IEEE Trans. Intell. Transp.
    Syst.). Hourly value = mean of the four quarter-hour values. The plateau
    at 20-23 h on working days probably includes timer-delayed plug-ins for
    the Dutch low tariff.
"""

from __future__ import annotations

import numpy as np

from leg_sim.profiles.streams import QUARTER_S

#: Kinds of activity a curve exists for.
KINDS = ("laundry", "dishwashing", "cooking", "ev_arrival", "kettle")

#: Hourly start intensity, hours 00..23, (working day, weekend). Relative; scaled to mean 1.
_HOURLY: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "laundry": (
        # working day: 00..11 h, 12..23 h
        (0.03, 0.01, 0.01, 0.01, 0.01, 0.07, 0.32, 1.16, 1.96, 2.68, 2.66, 2.41,
         1.89, 1.42, 1.53, 1.42, 1.57, 1.12, 1.08, 0.88, 0.77, 0.58, 0.32, 0.12),
        # weekend: 00..11 h, 12..23 h
        (0.03, 0.01, 0.01, 0.01, 0.01, 0.05, 0.14, 0.75, 1.57, 2.68, 3.08, 3.05,
         2.24, 1.76, 1.58, 1.23, 1.58, 1.21, 0.76, 0.78, 0.66, 0.50, 0.23, 0.09),
    ),
    "dishwashing": (
        # working day: 00..11 h, 12..23 h
        (0.57, 0.40, 0.27, 0.56, 0.24, 0.16, 0.07, 0.30, 0.65, 0.42, 0.42, 0.37,
         0.43, 0.64, 0.28, 0.36, 0.31, 0.82, 3.99, 3.18, 1.39, 1.51, 1.96, 4.68),
        # weekend: 00..11 h, 12..23 h
        (0.57, 0.40, 0.27, 0.56, 0.24, 0.16, 0.07, 0.30, 0.65, 0.42, 0.42, 0.37,
         0.43, 0.64, 0.28, 0.36, 0.31, 0.82, 3.99, 3.18, 1.39, 1.51, 1.96, 4.68),
    ),
    "cooking": (
        # working day: 00..11 h, 12..23 h
        (0.06, 0.01, 0.01, 0.01, 0.04, 0.16, 0.73, 1.75, 1.40, 1.02, 0.67, 0.87,
         1.50, 1.13, 0.80, 1.12, 2.32, 3.41, 2.85, 1.70, 1.02, 0.76, 0.49, 0.17),
        # weekend: 00..11 h, 12..23 h
        (0.06, 0.03, 0.02, 0.01, 0.04, 0.08, 0.29, 0.89, 1.62, 1.67, 1.36, 1.46,
         2.17, 1.73, 1.19, 1.05, 1.89, 2.68, 2.34, 1.42, 0.84, 0.57, 0.40, 0.19),
    ),
    "ev_arrival": (
        # working day: 00..11 h, 12..23 h
        (0.51, 0.13, 0.05, 0.03, 0.03, 0.02, 0.04, 0.14, 0.33, 0.27, 0.27, 0.37,
         0.52, 0.53, 0.64, 0.88, 1.36, 2.92, 4.09, 2.77, 2.18, 2.14, 2.19, 1.59),
        # weekend: 00..11 h, 12..23 h
        (0.98, 0.49, 0.19, 0.08, 0.05, 0.03, 0.03, 0.09, 0.22, 0.41, 0.73, 1.15,
         1.45, 1.48, 1.48, 1.66, 2.10, 2.45, 1.89, 1.56, 1.62, 1.49, 1.39, 0.99),
    ),
    "kettle": (
        # working day: 00..11 h, 12..23 h
        (0.26, 0.09, 0.06, 0.05, 0.06, 0.18, 0.65, 1.40, 1.30, 1.12, 0.95, 0.96,
         1.15, 1.08, 0.98, 1.15, 1.61, 2.02, 2.02, 1.79, 1.67, 1.59, 1.23, 0.62),
        # weekend: 00..11 h, 12..23 h
        (0.30, 0.12, 0.07, 0.04, 0.05, 0.10, 0.29, 0.80, 1.33, 1.49, 1.39, 1.36,
         1.51, 1.39, 1.24, 1.25, 1.52, 1.79, 1.77, 1.59, 1.46, 1.38, 1.12, 0.64),
    ),
}


def start_intensity(kind: str, weekend: bool) -> np.ndarray:
    """Relative start intensity per local quarter hour of the day, mean 1. [-]

    Parameters
    ----------
    kind
        One of :data:`KINDS`.
    weekend
        Saturday, Sunday or public holiday (True) or a working day (False).

    Returns
    -------
    numpy.ndarray
        96 values, quarter hours from 00:00; piecewise linear between the
        hourly values (taken at the middle of each hour), mean exactly 1.
    """
    hourly = np.asarray(_HOURLY[kind][1 if weekend else 0], dtype=float)
    centres_h = np.arange(24) + 0.5
    quarter_h = np.arange(96) / 4.0 + 0.125
    # Periodic over the day: wrap around midnight.
    values = np.interp(quarter_h, np.concatenate([[centres_h[-1] - 24], centres_h, [centres_h[0] + 24]]),
                       np.concatenate([[hourly[-1]], hourly, [hourly[0]]]))
    return values / values.mean()


def is_weekend(local_date) -> bool:
    """Whether the weekend curves apply on this local date (Saturday or Sunday)."""
    return local_date.weekday() >= 5


def start_times_s(uniform: np.ndarray, quarter_intensity: np.ndarray) -> np.ndarray:
    """Start times within a day whose density follows a piecewise-constant intensity.

    The inverse of the cumulative intensity at each uniform, linear within a quarter hour.

    Parameters
    ----------
    uniform
        Uniforms in [0, 1). [-]
    quarter_intensity
        Relative start intensity in each real quarter hour of the day (see
        :func:`leg_sim.profiles.streams.local_quarters`). [-]

    Returns
    -------
    numpy.ndarray
        Seconds since the start of the day. [s]
    """
    cum = np.concatenate([[0.0], np.cumsum(quarter_intensity)])
    return np.interp(np.asarray(uniform) * cum[-1], cum, np.arange(len(cum)) * QUARTER_S)
