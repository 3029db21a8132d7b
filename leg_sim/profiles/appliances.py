"""Big household appliances: the process that starts their cycles, and the power of a cycle.

The cycles themselves (phases of constant power) are plain data in
:mod:`leg_sim.catalogue`. Each appliance runs a whole cycle once started; its power follows the cycle's
phases (heating, washing, spinning, ...), so loads never flicker tick to tick.

Meaning of ``flex_load_probability`` (p)
    The long-run fraction of time that a house which owns at least one of these
    appliances has one running. Each such house alternates between *idle* and
    *running a cycle*. Idle times are exponential with mean
    ``D_i * (1 - p) / p``, where ``D_i`` is the mean cycle length of that house's
    appliance mix, so busy / (busy + idle) = p. Starts are placed in continuous
    simulated time and replayed exactly at each tick, so p means the same thing
    for any tick interval and clock speed. At most one appliance runs per house.
"""

from __future__ import annotations

import numpy as np

from leg_sim.catalogue import (
    CATALOGUE,
    EV_CODE,
    EV_MAX_S,
    EV_MIN_S,
    EV_TAPER_S,
    EV_TAPER_SHARE,
    LABELS,
    NAMES,
    Appliance,
)

__all__ = [
    "CATALOGUE", "EV_CODE", "IDLE", "LABELS", "NAMES", "Appliance", "FlexProcess",
    "cycle_power_w", "expected_annual_kwh", "mean_cycle_energy_kwh", "mean_cycle_s", "mean_idle_s",
]

IDLE = -1
#: A gap in simulated time above which the process restarts from its stationary state. [s]
RESTART_GAP_S = 24 * 3600.0

_WEIGHTS = np.array([a.start_weight for a in CATALOGUE])
_MEAN_CYCLE_S = np.array([a.cycle_s for a in CATALOGUE])
_MEAN_CYCLE_S[EV_CODE] = (EV_MIN_S + EV_MAX_S) / 2
_BOUNDS = [np.cumsum([d for d, _ in a.phases]) for a in CATALOGUE]
_POWERS = [np.array([p for _, p in a.phases] + [0.0]) for a in CATALOGUE]


def mean_cycle_s(owned: np.ndarray) -> np.ndarray:
    """Mean cycle length of each house's appliance mix, weighted by start frequency.

    Parameters
    ----------
    owned
        Boolean matrix (houses × catalogue) of which appliances each house has.

    Returns
    -------
    numpy.ndarray
        Mean cycle length; NaN for houses with no appliance. [s]
    """
    w = owned * _WEIGHTS
    total = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (w * _MEAN_CYCLE_S).sum(axis=1) / total, np.nan)


def mean_idle_s(mean_cycle: np.ndarray, probability: float) -> np.ndarray:
    """Mean idle time between cycles so that the busy fraction is `probability`. [s]

    0 for p = 1 (always busy), inf for p = 0 (never starts).
    """
    if probability <= 0.0:
        return np.full_like(mean_cycle, np.inf)
    with np.errstate(invalid="ignore", over="ignore"):  # NaN (no appliances) stays NaN; tiny p gives inf
        return mean_cycle * (1.0 - probability) / probability


def mean_cycle_energy_kwh(ev_rating_w: np.ndarray) -> np.ndarray:
    """Mean energy of one cycle of each catalogue appliance, per house. [kWh]

    Fixed cycles take their phases' energy; an EV charge runs at the house's rating
    for the mean session length, less half the taper at the end.

    Parameters
    ----------
    ev_rating_w
        Wallbox rating of each house. [W]

    Returns
    -------
    numpy.ndarray
        Shape (houses, catalogue). [kWh]
    """
    ev_rating_w = np.asarray(ev_rating_w, dtype=float)
    energy = np.tile(np.array([a.energy_kwh for a in CATALOGUE]), (len(ev_rating_w), 1))
    mean_ev_s = (EV_MIN_S + EV_MAX_S) / 2
    energy[:, EV_CODE] = ev_rating_w * (mean_ev_s - EV_TAPER_S * (1.0 - EV_TAPER_SHARE)) / 3.6e6
    return energy


def expected_annual_kwh(owned: np.ndarray, probability: float, ev_rating_w: np.ndarray) -> np.ndarray:
    """Long-run energy per year of each appliance of each house. [kWh/a]

    A house that owns appliances runs one for a share `probability` of the time
    (see the module docstring). A cycle of appliance k starts with weight w_k and
    lasts D_k on average, so by renewal-reward k's share of the busy time is
    w_k·D_k / Σ w·D, and its energy per year is p · 8760 h · w_k·E_k / Σ w·D.

    Parameters
    ----------
    owned
        Boolean matrix (houses × catalogue).
    probability
        Long-run busy fraction p. [-]
    ev_rating_w
        Wallbox rating of each house. [W]

    Returns
    -------
    numpy.ndarray
        Shape (houses, catalogue), 0 for appliances a house does not own. [kWh/a]
    """
    w = np.asarray(owned, dtype=bool) * _WEIGHTS
    busy_s = (w * _MEAN_CYCLE_S).sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_busy_s = np.where(busy_s > 0, w * mean_cycle_energy_kwh(ev_rating_w) / busy_s, 0.0)
    return float(probability) * 8760.0 * 3600.0 * per_busy_s


def cycle_power_w(code: np.ndarray, elapsed_s: np.ndarray, length_s: np.ndarray, ev_rating_w: np.ndarray) -> np.ndarray:
    """Power of each running appliance at `elapsed_s` into its cycle.

    Parameters
    ----------
    code
        Appliance code per house, IDLE (-1) when nothing runs.
    elapsed_s
        Time since the cycle started. [s]
    length_s
        Length of this cycle (fixed per appliance, drawn per charge for EVs). [s]
    ev_rating_w
        The house's wallbox rating. [W]

    Returns
    -------
    numpy.ndarray
        Power, 0 where nothing runs. [W]
    """
    power = np.zeros(len(code))
    for k in range(len(CATALOGUE)):
        mask = code == k
        if not mask.any():
            continue
        e = elapsed_s[mask]
        if k == EV_CODE:
            tail = e >= length_s[mask] - EV_TAPER_S
            p = ev_rating_w[mask] * np.where(tail, EV_TAPER_SHARE, 1.0)
            power[mask] = np.where((e >= 0) & (e < length_s[mask]), p, 0.0)
        else:
            power[mask] = _POWERS[k][np.searchsorted(_BOUNDS[k], e, side="right")]
    return power


class FlexProcess:
    """Random state of the appliance starts of all houses; see the module docstring."""

    def __init__(self, rng: np.random.Generator):
        self._rng = rng
        self.code = np.empty(0, dtype=np.int8)
        self.start_s = np.empty(0)
        self.length_s = np.empty(0)
        self.next_start_s = np.empty(0)
        self._owned = np.zeros((0, len(CATALOGUE)), dtype=bool)
        self._mean_cycle = np.empty(0)
        self._probability = 0.0
        self._t_s: float | None = None

    # -- sampling helpers -------------------------------------------------------------
    def _choose(self, rows: np.ndarray, length_biased: bool) -> np.ndarray:
        """Pick an appliance for each house in `rows` by start weight (× length if biased)."""
        w = self._owned[rows] * _WEIGHTS
        if length_biased:
            w = w * _MEAN_CYCLE_S
        cum = np.cumsum(w, axis=1)
        u = self._rng.uniform(0.0, 1.0, len(rows)) * cum[:, -1]
        return (cum <= u[:, None]).sum(axis=1).astype(np.int8)

    def _lengths(self, codes: np.ndarray, length_biased: bool) -> np.ndarray:
        lengths = _MEAN_CYCLE_S[codes].copy()
        ev = codes == EV_CODE
        n = int(ev.sum())
        if n:
            if length_biased:  # density ∝ length on [min, max]
                lengths[ev] = np.sqrt(self._rng.uniform(EV_MIN_S**2, EV_MAX_S**2, n))
            else:
                lengths[ev] = self._rng.uniform(EV_MIN_S, EV_MAX_S, n)
        return lengths

    def _idle(self, rows: np.ndarray) -> np.ndarray:
        mean = mean_idle_s(self._mean_cycle[rows], self._probability)
        with np.errstate(invalid="ignore"):
            return np.where(np.isfinite(mean), self._rng.exponential(1.0, len(rows)) * np.nan_to_num(mean, posinf=0.0), np.inf)

    def _stationary(self, rows: np.ndarray, t_s: float) -> None:
        """Put houses `rows` in a state drawn from the process's long-run distribution at `t_s`."""
        has_any = self._owned[rows].any(axis=1)
        busy = has_any & (self._rng.uniform(0.0, 1.0, len(rows)) < self._probability)
        b_rows, i_rows = rows[busy], rows[~busy]
        self.code[i_rows] = IDLE
        self.next_start_s[i_rows] = t_s + self._idle(i_rows)
        if len(b_rows):
            codes = self._choose(b_rows, length_biased=True)
            lengths = self._lengths(codes, length_biased=True)
            self.code[b_rows] = codes
            self.length_s[b_rows] = lengths
            self.start_s[b_rows] = t_s - self._rng.uniform(0.0, 1.0, len(b_rows)) * lengths
            self.next_start_s[b_rows] = np.inf

    # -- public -----------------------------------------------------------------------
    def configure(self, owned: np.ndarray, probability: float, t_s: float) -> None:
        """Set the houses' appliances and the probability; keep the state of unchanged houses.

        Parameters
        ----------
        owned
            Boolean matrix (houses × catalogue).
        probability
            Long-run busy fraction p, 0..1. [-]
        t_s
            Simulated time now. [s]
        """
        owned = np.asarray(owned, dtype=bool)
        old_n, new_n = len(self.code), len(owned)
        probability_changed = probability != self._probability
        self._probability = float(probability)
        keep = min(old_n, new_n)
        changed_owner = np.flatnonzero((self._owned[:keep] != owned[:keep]).any(axis=1))
        self._owned = owned
        self._mean_cycle = mean_cycle_s(owned)
        if new_n != old_n:
            for name in ("start_s", "length_s", "next_start_s"):
                arr = getattr(self, name)
                setattr(self, name, np.concatenate([arr[:keep], np.zeros(max(new_n - keep, 0))]))
            self.code = np.concatenate([self.code[:keep], np.full(max(new_n - keep, 0), IDLE, dtype=np.int8)])
        fresh = np.concatenate([changed_owner, np.arange(keep, new_n)]).astype(int)
        if len(fresh):
            self._stationary(fresh, t_s)
        if probability_changed and self._t_s is not None:
            # Idle times are memoryless: redraw the idle houses' next start under the new p.
            idle = np.flatnonzero(self.code == IDLE)
            self.next_start_s[idle] = t_s + self._idle(idle)

    def advance(self, t_s: float) -> np.ndarray:
        """Replay all starts and ends up to `t_s`; return each house's appliance code."""
        if self._t_s is None:
            pass  # configure() already drew the stationary state
        elif t_s < self._t_s or t_s - self._t_s > RESTART_GAP_S:
            self._stationary(np.arange(len(self.code)), t_s)
        else:
            for _ in range(10_000):
                starting = np.flatnonzero((self.code == IDLE) & (self.next_start_s <= t_s))
                if len(starting):
                    codes = self._choose(starting, length_biased=False)
                    self.code[starting] = codes
                    self.start_s[starting] = self.next_start_s[starting]
                    self.length_s[starting] = self._lengths(codes, length_biased=False)
                    self.next_start_s[starting] = np.inf
                ending = np.flatnonzero((self.code != IDLE) & (self.start_s + self.length_s <= t_s))
                if len(ending):
                    end_s = self.start_s[ending] + self.length_s[ending]
                    self.code[ending] = IDLE
                    self.next_start_s[ending] = end_s + self._idle(ending)
                if not len(starting) and not len(ending):
                    break
        self._t_s = t_s
        return self.code

    def power_w(self, t_s: float, ev_rating_w: np.ndarray) -> np.ndarray:
        """Power of each house's running appliance at `t_s` (call after :meth:`advance`). [W]"""
        return cycle_power_w(self.code, t_s - self.start_s, self.length_s, ev_rating_w)
