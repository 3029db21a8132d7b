"""Big household appliances: when their cycles start, and the power of a cycle.

The cycles themselves (phases of constant power) and each appliance's start
weight and daily rhythm are plain data in :mod:`leg_sim.catalogue`. A started
appliance runs its whole cycle; its power follows the cycle's phases (heating,
washing, spinning, ...), so loads never flicker tick to tick.

The start process
    Starts of appliance k in house i form a non-homogeneous Poisson process in
    simulated time with intensity ``c_i · w_k · g_k(t) / 86400`` starts per
    second: ``w_k`` is the catalogue's ``start_weight`` (starts per day at
    ``c = 1``), ``g_k(t)`` the rhythm curve of the appliance's kind
    (:func:`leg_sim.profiles.rhythm.start_intensity`, mean 1 over the day,
    working-day or weekend curve) at the local quarter hour of ``t``, and
    ``c_i`` the house's start scale (below). So people wash in the morning,
    cook around noon and in the evening, and plug the car in when they come
    home. On the 23 h and 25 h days of a daylight-saving change the curve
    follows the local clock: the skipped hour has no starts, the repeated one
    has them twice.

Overlap (M/G/∞)
    Every start runs its own full cycle, whatever else runs: a house's flex
    power is the sum over all its running cycles, even two cycles of the same
    appliance. The number of cycles running in a house at ``t`` is Poisson
    with mean ``m_i(t) = c_i · Σ_k w_k ∫ g_k(t − s)/86400 · S_k(s) ds``
    (``S_k`` the probability that a cycle of k is still running ``s`` after
    its start). Overlaps are rare at the default p = 0.1: over the default
    houses, a house has two or more cycles running for ≈ 0.7 % of the time
    (7 % of its busy time), two of the same appliance for ≈ 0.4 %; at p = 0.3
    two or more run ≈ 7 % of the time.

Meaning of ``flex_load_probability`` (p)
    The long-run share of time that a house owning at least one of these
    appliances has at least one cycle running: the time average over a week
    (five working days and a weekend, on a grid of :data:`GRID_S`) of
    ``P(busy at t) = 1 − exp(−m_i(t))`` equals p. ``m_i`` is linear in
    ``c_i``, so ``c_i`` is found by bisection for each appliance mix (and EV
    charger rating) and cached. p = 0 gives c = 0: nothing ever starts. With
    Poisson starts a busy share of 1 needs infinitely many overlapping cycles,
    so c is capped where on average :data:`MAX_MEAN_RUNNING` cycles run at
    once in the house. A p above the share reached there (1 − e⁻³ ≈ 0.95 with
    flat curves, 0.7-0.85 with the rhythm curves, which leave the small
    hours almost empty; :func:`busy_share` gives it per house) gives that
    share. The ``flex_load_probability`` setting allows 0 to 0.6, where the
    share is exactly p for every appliance mix; the process itself accepts any
    p up to 1 without hanging.

EV charging sessions
    The energy of a session is lognormal (median
    :data:`~leg_sim.catalogue.EV_SESSION_KWH_MEDIAN`, log-sigma
    :data:`~leg_sim.catalogue.EV_SESSION_KWH_SIGMA`, capped at
    :data:`~leg_sim.catalogue.EV_SESSION_KWH_MAX`), whatever the charger. The
    car charges at the house's rating and, for its last
    :data:`~leg_sim.catalogue.EV_TAPER_S`, at
    :data:`~leg_sim.catalogue.EV_TAPER_SHARE` of it, so the session lasts
    ``energy / rating + EV_TAPER_S · (1 − EV_TAPER_SHARE)`` (a session too
    small to reach full power runs all tapered): an 11 kW wallbox delivers the
    same energy three times faster than a 3.7 kW one.

Randomness keyed to the simulated date
    All starts of local day d (midnight to midnight in the community's time
    zone) for the houses of block b are drawn at once from
    ``streams.rng(seed, streams.APPLIANCES, d, b)``: one uniform per house and
    appliance gives the Poisson count (inverse CDF), then two uniforms per
    start, in house order, give its time (inverse CDF over the day's quarter
    hours, uniform within one) and, for an EV, its energy. Every uniform has a
    fixed place, so house i's starts depend only on the seed, the date, its
    own appliances and those of the houses before it in its block of
    :data:`~leg_sim.profiles.streams.HOUSE_BLOCK`: adding houses after it
    changes nothing. Cycles started late on day d run on into the next day(s),
    which therefore also look back at the days before. The power at ``t``
    depends only on the seed, the houses, p and ``t``: not on the tick
    interval, the clock speed, where the run started, or whether time jumped.

References
----------
Start weights and rhythm curves: see :mod:`leg_sim.catalogue` and
:mod:`leg_sim.profiles.rhythm`. EV session energy: rounded lognormal fit to
measured home-charging sessions (Electric Nation trial, UK, 2017-2019; ElaadNL
charging-session data, NL). Poisson number of busy servers of an M/G/∞ queue
with time-varying arrivals: Eick, Massey & Whitt, "The physics of the
M_t/G/∞ queue", Operations Research 41(4), 1993.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math

import numpy as np
from scipy import special

from leg_sim.catalogue import (
    CATALOGUE,
    EV_CODE,
    EV_SESSION_KWH_MAX,
    EV_SESSION_KWH_MEDIAN,
    EV_SESSION_KWH_SIGMA,
    EV_TAPER_S,
    EV_TAPER_SHARE,
    LABELS,
    NAMES,
    Appliance,
)
from leg_sim.profiles import rhythm, streams

__all__ = [
    "CATALOGUE", "EV_CODE", "GRID_S", "IDLE", "LABELS", "MAX_MEAN_RUNNING", "NAMES", "Appliance", "Cycles", "FlexProcess",
    "busy_share", "cycle_power_w", "draw_day", "ev_session_kwh", "ev_session_s", "ev_session_survival", "expected_annual_kwh",
    "mean_cycle_energy_kwh", "mean_ev_session_kwh", "start_scale",
]

IDLE = -1
#: Time step of the weekly grid on which the start scale is calibrated. [s]
GRID_S = 300.0
#: Cap on the long-run mean number of cycles running at once in a house (bounds the start scale). [-]
MAX_MEAN_RUNNING = 3.0
#: Shortest local day (spring daylight-saving change). [s]
_SHORTEST_DAY_S = 23 * 3600.0

_K = len(CATALOGUE)
_WEIGHTS = np.array([a.start_weight for a in CATALOGUE])
_CYCLE_S = np.array([a.cycle_s for a in CATALOGUE])
_ENERGY_KWH = np.array([a.energy_kwh for a in CATALOGUE])
_MU = math.log(EV_SESSION_KWH_MEDIAN)
# Phase tables padded to the longest cycle: bounds (end of each phase) and powers (0 after the end).
_N_PHASES = max(len(a.phases) for a in CATALOGUE)
_BOUND_TABLE = np.full((_K, _N_PHASES), np.inf)
_POWER_TABLE = np.zeros((_K, _N_PHASES + 1))
for _k, _a in enumerate(CATALOGUE):
    _BOUND_TABLE[_k, : len(_a.phases)] = np.cumsum([d for d, _ in _a.phases])
    _POWER_TABLE[_k, : len(_a.phases)] = [p for _, p in _a.phases]


# -- EV sessions ------------------------------------------------------------------------
def ev_session_kwh(u: np.ndarray) -> np.ndarray:
    """Energy of EV charging sessions from uniforms, by inverse CDF. [kWh]

    Parameters
    ----------
    u
        Uniform numbers in [0, 1). [-]

    Returns
    -------
    numpy.ndarray
        Lognormal energy (median ``EV_SESSION_KWH_MEDIAN``, log-sigma
        ``EV_SESSION_KWH_SIGMA``), capped at ``EV_SESSION_KWH_MAX``. [kWh]
    """
    return np.minimum(EV_SESSION_KWH_MEDIAN * np.exp(EV_SESSION_KWH_SIGMA * special.ndtri(u)), EV_SESSION_KWH_MAX)


def ev_session_s(energy_kwh: np.ndarray, rating_w: np.ndarray) -> np.ndarray:
    """Length of a charging session that delivers `energy_kwh`. [s]

    The car charges at `rating_w`, and at ``EV_TAPER_SHARE`` of it for the last
    ``EV_TAPER_S`` (for the whole session if it is shorter than that).

    Parameters
    ----------
    energy_kwh
        Energy delivered. [kWh]
    rating_w
        Charger rating, > 0. [W]

    Returns
    -------
    numpy.ndarray
        Session length. [s]
    """
    energy_j = np.asarray(energy_kwh, dtype=float) * 3.6e6
    rating_w = np.asarray(rating_w, dtype=float)
    short = energy_j <= EV_TAPER_SHARE * rating_w * EV_TAPER_S
    return np.where(short, energy_j / (EV_TAPER_SHARE * rating_w), energy_j / rating_w + EV_TAPER_S * (1.0 - EV_TAPER_SHARE))


def ev_session_survival(elapsed_s: np.ndarray, rating_w: float) -> np.ndarray:
    """Probability that a session with charger `rating_w` still runs `elapsed_s` after its start. [-]

    Parameters
    ----------
    elapsed_s
        Time since the start of the session, ≥ 0. [s]
    rating_w
        Charger rating, > 0. [W]

    Returns
    -------
    numpy.ndarray
        P(length > elapsed_s). [-]
    """
    s = np.asarray(elapsed_s, dtype=float)
    # the energy a session must exceed to still run at s: ev_session_s inverted
    energy_j = np.where(s <= EV_TAPER_S, EV_TAPER_SHARE * rating_w * s, rating_w * (s - EV_TAPER_S * (1.0 - EV_TAPER_SHARE)))
    energy_kwh = energy_j / 3.6e6
    with np.errstate(divide="ignore"):
        z = (np.log(energy_kwh) - _MU) / EV_SESSION_KWH_SIGMA
    return np.where(energy_kwh >= EV_SESSION_KWH_MAX, 0.0, special.ndtr(-z))


def mean_ev_session_kwh() -> float:
    """Mean energy of one EV charging session (lognormal capped at the maximum). [kWh]"""
    s, m = EV_SESSION_KWH_SIGMA, EV_SESSION_KWH_MAX
    z = (math.log(m) - _MU) / s
    below = math.exp(_MU + s * s / 2) * float(special.ndtr(z - s))
    return below + m * float(special.ndtr(-z))


def mean_cycle_energy_kwh(ev_rating_w: np.ndarray) -> np.ndarray:
    """Mean energy of one cycle of each catalogue appliance, per house. [kWh]

    Fixed cycles take their phases' energy; an EV session's mean energy does not
    depend on the charger (:func:`mean_ev_session_kwh`).

    Parameters
    ----------
    ev_rating_w
        Wallbox rating of each house (only its length is used). [W]

    Returns
    -------
    numpy.ndarray
        Shape (houses, catalogue). [kWh]
    """
    energy = np.tile(_ENERGY_KWH, (len(np.asarray(ev_rating_w)), 1))
    energy[:, EV_CODE] = mean_ev_session_kwh()
    return energy


# -- power of running cycles --------------------------------------------------------------
def cycle_power_w(code: np.ndarray, elapsed_s: np.ndarray, length_s: np.ndarray, ev_rating_w: np.ndarray) -> np.ndarray:
    """Power of running cycles at `elapsed_s` into each cycle.

    Parameters
    ----------
    code
        Appliance code per cycle, IDLE (-1) for none.
    elapsed_s
        Time since the cycle started (before the start a fixed cycle reads its first phase). [s]
    length_s
        Length of the cycle (only used for EVs, whose length is drawn per session). [s]
    ev_rating_w
        Wallbox rating of the cycle's house (only used for EVs). [W]

    Returns
    -------
    numpy.ndarray
        Power, 0 for IDLE and after the end of a cycle. [W]
    """
    code = np.asarray(code)
    elapsed_s = np.asarray(elapsed_s, dtype=float)
    k = np.where(code < 0, 0, code)
    phase = (elapsed_s[:, None] >= _BOUND_TABLE[k]).sum(axis=1)
    power = _POWER_TABLE[k, phase]
    ev = code == EV_CODE
    if ev.any():
        e, length = elapsed_s[ev], np.asarray(length_s, dtype=float)[ev]
        share = np.where(e >= length - EV_TAPER_S, EV_TAPER_SHARE, 1.0)
        power[ev] = np.where((e >= 0) & (e < length), np.asarray(ev_rating_w, dtype=float)[ev] * share, 0.0)
    return np.where(code < 0, 0.0, power)


# -- calibration of the start scale --------------------------------------------------------
def _reference_week() -> list[dt.date]:
    """Monday to Sunday of a fixed week: the weekly grid's days."""
    monday = dt.date(2024, 1, 1)
    return [monday + dt.timedelta(days=i) for i in range(7)]


def _weekly_rate(kind: str) -> np.ndarray:
    """Start intensity of a kind on the weekly grid, for w = 1 and c = 1. [1/s]"""
    per_grid = int(streams.QUARTER_S // GRID_S)
    days = [np.repeat(rhythm.start_intensity(kind, rhythm.is_weekend(d)), per_grid) for d in _reference_week()]
    return np.concatenate(days) / 86400.0


def _survival_integrals(code: int, rating_w: float) -> np.ndarray:
    """∫ S(s) ds over each grid step [i·GRID_S, (i+1)·GRID_S) of a cycle's length. [s]"""
    if code != EV_CODE:
        n = math.ceil(_CYCLE_S[code] / GRID_S)
        return np.clip(_CYCLE_S[code] - GRID_S * np.arange(n), 0.0, GRID_S)
    longest_s = float(ev_session_s(np.array(EV_SESSION_KWH_MAX), np.array(rating_w)))
    n = math.ceil(longest_s / GRID_S)
    sub = 30  # midpoint rule at GRID_S / 30 = 10 s: S is smooth but for its end at the cap
    s = (np.arange(n * sub) + 0.5) * (GRID_S / sub)
    return ev_session_survival(s, rating_w).reshape(n, sub).sum(axis=1) * (GRID_S / sub)


@functools.lru_cache(maxsize=256)
def _unit_running_mean(code: int, rating_w: float) -> np.ndarray:
    """Mean number of cycles of `code` running, for w = 1 and c = 1, on the weekly grid. [-]

    A periodic convolution of the start intensity with the survival of the cycle
    length; exact at the grid points because the intensity is constant within a
    grid step: m(j·h) = Σ_i rate[j − 1 − i] · ∫_{ih}^{(i+1)h} S(s) ds.
    """
    rate = _weekly_rate(CATALOGUE[code].rhythm)
    n = len(rate)
    integrals = _survival_integrals(code, rating_w)
    folded = np.zeros(n)
    np.add.at(folded, np.arange(len(integrals)) % n, integrals)
    m = np.fft.irfft(np.fft.rfft(rate) * np.fft.rfft(folded), n)
    m = np.roll(m, 1)
    m.flags.writeable = False
    return m


def _solve_scale(running: np.ndarray, probability: float) -> np.ndarray:
    """Start scale of each row of `running` (mixes × grid) that gives busy share `probability`.

    Bisection on the busy share mean_t[1 − exp(−c·M(t))], which rises with c;
    c is capped where the mean number running is MAX_MEAN_RUNNING.
    """
    mean = running.mean(axis=1)
    with np.errstate(divide="ignore"):
        cap = np.where(mean > 0, MAX_MEAN_RUNNING / mean, 0.0)
    if probability <= 0.0:
        return np.zeros(len(running))
    lo, hi = np.zeros(len(running)), cap.copy()
    share_hi = 1.0 - np.exp(-hi[:, None] * running).mean(axis=1)
    reachable = share_hi > probability
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        share = 1.0 - np.exp(-mid[:, None] * running).mean(axis=1)
        below = share < probability
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return np.where(reachable, 0.5 * (lo + hi), cap)


def _effective_owned(owned: np.ndarray, ev_rating_w: np.ndarray) -> np.ndarray:
    """Owned appliances that can run: a wallbox without a positive rating never charges."""
    owned = np.asarray(owned, dtype=bool).reshape(-1, _K).copy()
    owned[:, EV_CODE] &= np.asarray(ev_rating_w, dtype=float) > 0
    return owned


def _mix_keys(owned: np.ndarray, ev_rating_w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique (mix bitmask, EV rating or 0) keys and each house's key index."""
    mask = owned.astype(np.int64) @ (1 << np.arange(_K, dtype=np.int64))
    rating = np.where(owned[:, EV_CODE], np.asarray(ev_rating_w, dtype=float), 0.0)
    keys, inverse = np.unique(np.stack([mask.astype(float), rating], axis=1), axis=0, return_inverse=True)
    return keys, inverse.reshape(-1)


def _mix_running(keys: np.ndarray) -> np.ndarray:
    """Mean number running at c = 1 on the weekly grid for each (mix, rating) key. [-]"""
    out = np.zeros((len(keys), len(_unit_running_mean(0, 0.0))))
    for row, (mask, rating) in enumerate(keys):
        for k in range(_K):
            if int(mask) >> k & 1:
                out[row] += _WEIGHTS[k] * _unit_running_mean(k, float(rating) if k == EV_CODE else 0.0)
    return out


def start_scale(owned: np.ndarray, probability: float, ev_rating_w: np.ndarray) -> np.ndarray:
    """Start scale c of each house so that its long-run busy share is `probability`. [-]

    Parameters
    ----------
    owned
        Boolean matrix (houses × catalogue).
    probability
        Long-run share of time with at least one cycle running, 0..1. [-]
    ev_rating_w
        Wallbox rating of each house. [W]

    Returns
    -------
    numpy.ndarray
        c per house: each appliance k starts on average c·w_k times a day; 0 for
        houses without appliances or p = 0. Capped where MAX_MEAN_RUNNING cycles
        run at once on average (the module docstring says why). [-]
    """
    owned = _effective_owned(owned, ev_rating_w)
    if len(owned) == 0:
        return np.zeros(0)
    keys, inverse = _mix_keys(owned, ev_rating_w)
    return np.asarray(_scales_of_mixes(tuple(map(tuple, keys.tolist())), float(probability)))[inverse]


@functools.lru_cache(maxsize=64)
def _scales_of_mixes(keys: tuple[tuple[float, float], ...], probability: float) -> tuple[float, ...]:
    """:func:`_solve_scale` for each (mix, rating) key, cached: moving p back and forth costs nothing."""
    return tuple(_solve_scale(_mix_running(np.array(keys, dtype=float).reshape(-1, 2)), probability).tolist())


def busy_share(owned: np.ndarray, probability: float, ev_rating_w: np.ndarray) -> np.ndarray:
    """Long-run share of time each house has at least one cycle running. [-]

    Equals `probability` for houses with appliances, unless the cap on the start
    scale binds (p near 1); 0 for houses without appliances.

    Parameters
    ----------
    owned
        Boolean matrix (houses × catalogue).
    probability
        The flex-load probability asked for. [-]
    ev_rating_w
        Wallbox rating of each house. [W]

    Returns
    -------
    numpy.ndarray
        Busy share per house. [-]
    """
    owned = _effective_owned(owned, ev_rating_w)
    if len(owned) == 0:
        return np.zeros(0)
    keys, inverse = _mix_keys(owned, ev_rating_w)
    running = _mix_running(keys)
    scale = _solve_scale(running, float(probability))
    return (1.0 - np.exp(-scale[:, None] * running).mean(axis=1))[inverse]


def expected_annual_kwh(owned: np.ndarray, probability: float, ev_rating_w: np.ndarray) -> np.ndarray:
    """Expected energy per year of each appliance of each house. [kWh/a]

    Appliance k of house i starts on average c_i·w_k times a day (the rhythm
    curves have mean 1 over the day), so its energy per year is
    c_i · w_k · 365.25 · E[cycle energy_k].

    Parameters
    ----------
    owned
        Boolean matrix (houses × catalogue).
    probability
        Long-run busy share p. [-]
    ev_rating_w
        Wallbox rating of each house. [W]

    Returns
    -------
    numpy.ndarray
        Shape (houses, catalogue), 0 for appliances a house does not own. [kWh/a]
    """
    eff = _effective_owned(owned, ev_rating_w)
    scale = start_scale(eff, probability, ev_rating_w)
    return scale[:, None] * eff * _WEIGHTS * 365.25 * mean_cycle_energy_kwh(ev_rating_w)


# -- drawing one day ------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Cycles:
    """Cycles sorted by start: house index, code, start [s], length [s], end [s] and the house's EV rating [W]."""

    house: np.ndarray  # int64
    code: np.ndarray  # int8
    start_s: np.ndarray
    length_s: np.ndarray
    end_s: np.ndarray
    rating_w: np.ndarray

    @staticmethod
    def concat(parts: list[Cycles]) -> Cycles:
        """The cycles of `parts` one after the other (sorted if the parts are, in time order)."""
        return Cycles(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in dataclasses.fields(Cycles)))


def draw_day(seed: int, day: int, timezone: str, daily_starts: np.ndarray, ev_rating_w: np.ndarray) -> Cycles:
    """All cycles started on local day `day` (see "Randomness keyed to the simulated date" above).

    Parameters
    ----------
    seed
        The community's seed.
    day
        Local day number (:func:`leg_sim.profiles.streams.day_number`).
    timezone
        The community's time zone.
    daily_starts
        Mean starts per day of each house (rows) and appliance (columns), c_i·w_k
        for owned appliances, 0 otherwise. [1/d]
    ev_rating_w
        Wallbox rating of each house. [W]

    Returns
    -------
    Cycles
        Sorted by start time.
    """
    houses = len(daily_starts)
    if houses == 0:
        empty = np.empty(0)
        return Cycles(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int8), empty, empty, empty, empty)
    blocks = streams.per_house_blocks(houses)
    padded = len(blocks) * streams.HOUSE_BLOCK
    start_s, labels = streams.local_quarters(day, timezone)
    weekend = rhythm.is_weekend(dt.date.fromordinal(day))
    curves = np.stack([rhythm.start_intensity(a.rhythm, weekend)[labels] for a in CATALOGUE])  # K × quarters
    day_weight = curves.sum(axis=1) * streams.QUARTER_S / 86400.0  # 1 on a 24 h day (curves have mean 1)
    lam = np.zeros((padded, _K))
    lam[:houses] = daily_starts * day_weight
    gens = [streams.rng(seed, streams.APPLIANCES, day, b) for b in blocks]
    u_count = np.concatenate([g.random((streams.HOUSE_BLOCK, _K)) for g in gens])
    counts = streams.poisson_quantile(u_count, lam)
    per_block = counts.reshape(len(blocks), -1).sum(axis=1)
    u = np.concatenate([g.random((int(c), 2)) for g, c in zip(gens, per_block, strict=True)])
    flat = np.repeat(np.arange(padded * _K), counts.ravel())
    house, code = flat // _K, (flat % _K).astype(np.int8)
    # start time: inverse CDF of each appliance's piecewise-constant intensity over the day's quarter hours
    start = np.full(len(code), start_s)
    for k in range(_K):
        sel = code == k
        if sel.any():
            start[sel] += rhythm.start_times_s(u[sel, 0], curves[k])
    rating = np.where(code == EV_CODE, ev_rating_w[np.minimum(house, houses - 1)], 0.0)
    length = _CYCLE_S[code].copy()
    ev = code == EV_CODE
    length[ev] = ev_session_s(ev_session_kwh(u[ev, 1]), rating[ev])
    order = np.argsort(start, kind="stable")
    return Cycles(house[order], code[order], start[order], length[order], (start + length)[order], rating[order])


#: Recent settings (p, appliances, ratings) whose drawn days are kept for a quick way back.
_REMEMBERED_SETTINGS = 4


class FlexProcess:
    """The big-appliance cycles of all houses as a function of simulated time; see the module docstring.

    Parameters
    ----------
    seed
        The community's seed.
    timezone
        The community's time zone (local days and the rhythm curves follow its clock).
    """

    def __init__(self, seed: int, timezone: str):
        self._seed = int(seed)
        self._timezone = str(timezone)
        self._owned = np.zeros((0, _K), dtype=bool)
        self._probability = 0.0
        self._rating_w = np.empty(0)
        self._factor = np.empty(0)
        self._daily_starts = np.zeros((0, _K))
        self._longest_s = 0.0
        self._lookback_days = 1
        self._configs: dict[tuple, tuple] = {}
        self._reset()

    def _reset(self) -> None:
        """Forget all drawn days and the running set (after the houses or p changed)."""
        self._days: dict[int, Cycles] = {}
        self._window: Cycles | None = None
        self._day_span = (math.inf, -math.inf)  # bounds of the local day the window is for [s]
        self._active = np.empty(0, dtype=np.int64)
        self._next = 0  # first event of the window that started after _t_s
        self._t_s: float | None = None

    def configure(self, owned: np.ndarray, probability: float, ev_rating_w: np.ndarray, appliance_scale: np.ndarray | None = None) -> None:
        """Set the houses' appliances, the flex probability and the wallbox ratings.

        Cheap if nothing changed; otherwise the start scales are recomputed and
        the days are drawn again when next needed.

        Parameters
        ----------
        owned
            Boolean matrix (houses × catalogue).
        probability
            Long-run busy share p, 0..1. [-]
        ev_rating_w
            Wallbox rating of each house. [W]
        appliance_scale
            Factor (0..1) on each house's non-EV starts, for a household whose annual
            consumption has no room for its appliances at p
            (:func:`leg_sim.profiles.household.appliance_room`); its busy share is then
            below p. None = 1 for all.
        """
        owned = np.asarray(owned, dtype=bool).reshape(-1, _K)
        rating_w = np.asarray(ev_rating_w, dtype=float).reshape(-1)
        probability = float(probability)
        factor = np.ones(len(owned)) if appliance_scale is None else np.asarray(appliance_scale, dtype=float).reshape(-1)
        if (
            probability == self._probability
            and np.array_equal(owned, self._owned)
            and np.array_equal(rating_w, self._rating_w)
            and np.array_equal(factor, self._factor)
        ):
            return
        self._remember()
        self._owned, self._probability, self._rating_w, self._factor = owned.copy(), probability, rating_w.copy(), factor.copy()
        key = self._key()
        known = self._configs.pop(key, None)
        if known is not None:  # back to a recent setting (a slider moved back): reuse its days
            self._daily_starts, self._longest_s, self._lookback_days, days = known
            self._reset()
            self._days = days
            return
        eff = _effective_owned(owned, rating_w)
        scale = start_scale(eff, probability, rating_w)
        columns = np.where(np.arange(_K) == EV_CODE, 1.0, factor[:, None])
        self._daily_starts = scale[:, None] * eff * _WEIGHTS * columns
        longest = _CYCLE_S * eff.any(axis=0)
        ev_owner = eff[:, EV_CODE]
        if ev_owner.any():
            longest[EV_CODE] = float(ev_session_s(np.array(EV_SESSION_KWH_MAX), rating_w[ev_owner].min()))
        self._longest_s = float(longest.max()) if len(longest) else 0.0
        # a cycle of day d − j reaches day d only if it is longer than (j − 1) shortest days
        self._lookback_days = 1 + int(self._longest_s // _SHORTEST_DAY_S)
        self._reset()

    def _key(self) -> tuple:
        return (self._probability, self._owned.tobytes(), self._rating_w.tobytes(), self._factor.tobytes())

    def _remember(self) -> None:
        """Keep the current setting's start rates and drawn days for a quick way back (a few settings)."""
        if len(self._owned):
            self._configs[self._key()] = (self._daily_starts, self._longest_s, self._lookback_days, self._days)
            while len(self._configs) > _REMEMBERED_SETTINGS:
                self._configs.pop(next(iter(self._configs)))

    def _load_window(self, t_s: float) -> Cycles:
        """Make the window the cycles of the local day of `t_s` and the days that can reach into it."""
        day = streams.local_day_of(t_s, self._timezone)
        wanted = range(day - self._lookback_days, day + 1)
        for d in wanted:
            if d not in self._days:
                self._days[d] = draw_day(self._seed, d, self._timezone, self._daily_starts, self._rating_w)
        for d in [d for d in self._days if d not in wanted]:
            del self._days[d]
        self._window = Cycles.concat([self._days[d] for d in wanted])
        self._day_span = streams.local_day_bounds_s(day, self._timezone)
        self._t_s = None
        return self._window

    def power_w(self, t_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Flex power of each house at `t_s` and the appliance drawing the most.

        Parameters
        ----------
        t_s
            Simulated time, seconds since the epoch. [s]

        Returns
        -------
        power_w : numpy.ndarray
            Sum of the power of all cycles running in each house. [W]
        code : numpy.ndarray
            int8 catalogue index of the cycle drawing the most power in each
            house (the later start on a tie), IDLE (-1) if none runs.
        """
        t_s = float(t_s)
        houses = len(self._owned)
        window = self._window
        if window is None or not self._day_span[0] <= t_s < self._day_span[1]:
            window = self._load_window(t_s)
        hi = int(np.searchsorted(window.start_s, t_s, side="right"))
        if self._t_s is None or t_s < self._t_s:
            # rebuild: only cycles started within the longest cycle length can still run
            lo = int(np.searchsorted(window.start_s, t_s - self._longest_s, side="right"))
            cand = np.arange(lo, hi)
            self._active = cand[window.end_s[cand] > t_s]
        else:
            new = np.arange(self._next, hi)
            act = self._active
            self._active = np.concatenate([act[window.end_s[act] > t_s], new[window.end_s[new] > t_s]])
        self._next, self._t_s = hi, t_s
        act = self._active
        code = np.full(houses, IDLE, dtype=np.int8)
        if not len(act):
            return np.zeros(houses), code
        house, cycle_code = window.house[act], window.code[act]
        power = cycle_power_w(cycle_code, t_s - window.start_s[act], window.length_s[act], window.rating_w[act])
        total_w = np.bincount(house, weights=power, minlength=houses)
        order = np.lexsort((power, house))
        last = np.append(house[order][1:] != house[order][:-1], True)
        code[house[order][last]] = cycle_code[order][last]
        return total_w, code
