"""Weather for the village: passing clouds shared by all roofs, and air temperature.

Clouds are one field over the whole village, so houses see the same dips a few
seconds apart (the shadow drifts with the wind) and with a small per-house spread:

* a slow *cloudiness* c in [0, 1] (Ornstein-Uhlenbeck process, time constant
  about two hours) sets how hazy the sky is and how often clouds pass;
* passing clouds arrive as a Poisson process in simulated time, each with a
  log-normal duration (tens of seconds to minutes), a depth (beam transmittance
  under the cloud) and soft shadow edges;
* each house sees an event shifted by its position along the wind, and a
  slowly varying per-house spread (OU, about 10 %) of the cloud's effect; a
  clear sky stays smooth.

Every random update uses the exact OU transition for the elapsed simulated time,
so the statistics do not depend on the tick interval or the clock speed.
The functions here are pure; :class:`CloudField` only holds the random state.
"""

from __future__ import annotations

import math

import numpy as np

#: Time constant of the slow cloudiness process. [s]
CLOUDINESS_TAU_S = 2 * 3600.0
#: Passing-cloud arrivals at full cloudiness. [1/h]
MAX_CLOUD_RATE_PER_H = 45.0
#: Median and log-spread of a passing cloud's duration. [s], [-]
CLOUD_DURATION_MEDIAN_S = 70.0
CLOUD_DURATION_SIGMA = 0.9
#: Longest passing cloud considered. [s]
CLOUD_DURATION_MAX_S = 900.0
#: Speed at which cloud shadows cross the village. [m/s]
CLOUD_SPEED_M_S = 8.0
#: Per-house spread of how deeply clouds shade each roof: standard deviation [-], time constant [s].
HOUSE_SPREAD_SIGMA = 0.1
HOUSE_SPREAD_TAU_S = 600.0
#: Gap in simulated time after which the cloud field restarts from its stationary state. [s]
RESTART_GAP_S = 6 * 3600.0

#: Monthly mean air temperature of a Central European lowland village, Jan..Dec. [°C]
MONTHLY_MEAN_TEMP_C = np.array([0.5, 1.5, 5.5, 9.5, 14.0, 17.5, 19.5, 19.0, 15.0, 10.0, 5.0, 1.5])
#: Half the day-night swing of air temperature under a clear sky. [°C]
DAILY_TEMP_HALF_SWING_C = 5.0


def ou_step(x: np.ndarray | float, dt_s: float, tau_s: float, sigma: float, noise: np.ndarray | float) -> np.ndarray | float:
    """Exact Ornstein-Uhlenbeck transition over `dt_s` towards 0.

    Parameters
    ----------
    x
        Current value(s). [-]
    dt_s
        Elapsed time. [s]
    tau_s
        Mean-reversion time constant. [s]
    sigma
        Stationary standard deviation. [-]
    noise
        Standard normal draw(s), same shape as `x`. [-]
    """
    decay = math.exp(-max(dt_s, 0.0) / tau_s)
    return x * decay + sigma * math.sqrt(1.0 - decay * decay) * noise


def cloudiness_from_latent(latent: float) -> float:
    """Map the latent OU state to a cloudiness in (0, 1); 0 = clear, 1 = overcast. [-]"""
    return 1.0 / (1.0 + math.exp(-(latent - 0.6) * 1.8))


def shadow_transmittance(
    t_s: np.ndarray,
    start_s: np.ndarray,
    duration_s: np.ndarray,
    depth: np.ndarray,
    edge_s: np.ndarray,
) -> np.ndarray:
    """Beam transmittance under a set of passing clouds, for each house.

    Parameters
    ----------
    t_s
        Time each house sees (shifted by its place along the wind), shape (N,). [s]
    start_s, duration_s, edge_s
        Passing clouds, shape (E,): start, length and soft-edge length. [s]
    depth
        Beam transmittance in a cloud's core, shape (E,). [-]

    Returns
    -------
    numpy.ndarray
        Product over clouds of the transmittance, shape (N,), in (0, 1]. [-]
    """
    if len(start_s) == 0:
        return np.ones_like(t_s, dtype=float)
    into = t_s[:, None] - start_s[None, :]
    left = duration_s[None, :] - into
    ramp = np.clip(np.minimum(into, left) / edge_s[None, :], 0.0, 1.0)
    return np.prod(1.0 - (1.0 - depth[None, :]) * ramp, axis=1)


def air_temperature_c(month_fraction: float, local_hour: float, cloudiness: float = 0.0) -> float:
    """Air temperature from a seasonal mean and a daily swing damped by clouds.

    Parameters
    ----------
    month_fraction
        Month of year as a real number, 0.0 = mid-January, 11.0 = mid-December. [-]
    local_hour
        Local solar-ish hour of day, 0..24. [h]
    cloudiness
        0 (clear) to 1 (overcast); clouds halve the daily swing. [-]

    Returns
    -------
    float
        Air temperature, warmest around 15:00. [°C]
    """
    lo = math.floor(month_fraction) % 12
    hi = (lo + 1) % 12
    w = month_fraction - math.floor(month_fraction)
    mean_c = (1 - w) * MONTHLY_MEAN_TEMP_C[lo] + w * MONTHLY_MEAN_TEMP_C[hi]
    swing_c = DAILY_TEMP_HALF_SWING_C * (1.0 - 0.5 * cloudiness)
    return float(mean_c + swing_c * math.sin(2 * math.pi * (local_hour - 9.0) / 24.0))


class CloudField:
    """Random state of the village's cloud field; see the module docstring.

    Parameters
    ----------
    rng
        Source of randomness (owned by the simulation, so a seed reproduces it).
    """

    def __init__(self, rng: np.random.Generator):
        self._rng = rng
        self.latent = float(rng.normal(0.0, 1.0))
        self._t_s: float | None = None
        self._generated_until_s: float | None = None
        self._start = np.empty(0)
        self._duration = np.empty(0)
        self._depth = np.empty(0)
        self._edge = np.empty(0)
        self._spread = np.empty(0)

    @property
    def cloudiness(self) -> float:
        """Current cloudiness, 0 = clear to 1 = overcast. [-]"""
        return cloudiness_from_latent(self.latent)

    @property
    def active_clouds(self) -> int:
        """Number of passing clouds currently tracked."""
        return len(self._start)

    def resize(self, house_count: int) -> None:
        """Keep per-house flicker for existing houses; new houses start at a random draw."""
        old = len(self._spread)
        if house_count <= old:
            self._spread = self._spread[:house_count].copy()
        else:
            extra = self._rng.normal(0.0, HOUSE_SPREAD_SIGMA, house_count - old)
            self._spread = np.concatenate([self._spread, extra])

    def _generate(self, t0_s: float, t1_s: float, offsets_max_s: float) -> None:
        span = t1_s - t0_s
        if span <= 0:
            return
        rate_per_s = MAX_CLOUD_RATE_PER_H / 3600.0 * self.cloudiness**1.5
        n = int(self._rng.poisson(rate_per_s * span))
        if n:
            start = t0_s + self._rng.uniform(0.0, span, n)
            duration = np.minimum(
                CLOUD_DURATION_MEDIAN_S * np.exp(self._rng.normal(0.0, CLOUD_DURATION_SIGMA, n)),
                CLOUD_DURATION_MAX_S,
            )
            depth = self._rng.uniform(0.05, 0.5, n)
            edge = np.minimum(self._rng.uniform(4.0, 20.0, n), duration / 2)
            self._start = np.concatenate([self._start, start])
            self._duration = np.concatenate([self._duration, duration])
            self._depth = np.concatenate([self._depth, depth])
            self._edge = np.concatenate([self._edge, edge])
        keep = self._start + self._duration >= t1_s - offsets_max_s
        self._start, self._duration = self._start[keep], self._duration[keep]
        self._depth, self._edge = self._depth[keep], self._edge[keep]

    def factors(self, t_s: float, offsets_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Advance to simulated time `t_s` and give per-house beam and diffuse factors.

        Parameters
        ----------
        t_s
            Simulated time, seconds since the epoch. [s]
        offsets_s
            Delay with which each house sees the shared shadow. [s]

        Returns
        -------
        beam_factor, diffuse_factor : numpy.ndarray
            Multipliers on clear-sky DNI and DHI, per house. [-]
        """
        offsets_s = np.asarray(offsets_s, dtype=float)
        if len(self._spread) != len(offsets_s):
            self.resize(len(offsets_s))
        max_offset = float(offsets_s.max(initial=0.0))
        if self._t_s is None or abs(t_s - self._t_s) > RESTART_GAP_S or t_s < self._t_s:
            self._t_s = t_s
            self._generated_until_s = t_s - max_offset - CLOUD_DURATION_MAX_S
            self._start = self._start[:0]
            self._duration, self._depth, self._edge = self._start, self._start, self._start
        dt_s = t_s - self._t_s
        self.latent = float(ou_step(self.latent, dt_s, CLOUDINESS_TAU_S, 1.0, self._rng.normal()))
        self._spread = np.asarray(
            ou_step(self._spread, dt_s, HOUSE_SPREAD_TAU_S, HOUSE_SPREAD_SIGMA, self._rng.normal(size=len(self._spread)))
        )
        generated_until_s = self._generated_until_s
        assert generated_until_s is not None  # set on the first call above
        self._generate(generated_until_s, t_s, max_offset + CLOUD_DURATION_MAX_S)
        self._generated_until_s = max(generated_until_s, t_s)
        self._t_s = t_s

        c = self.cloudiness
        spread = 1.0 + self._spread
        haze = np.clip(1.0 - 0.35 * c * spread, 0.0, 1.0)
        shadow = shadow_transmittance(t_s - offsets_s, self._start, self._duration, self._depth, self._edge)
        shade = np.clip((1.0 - shadow) * spread, 0.0, 1.0)
        beam = haze * (1.0 - shade)
        # Light lost from the beam partly reappears as diffuse light from the cloud.
        diffuse = (1.0 + 0.6 * c) * (1.0 + 0.45 * shade)
        return beam, diffuse


def shadow_offsets_s(x_m: np.ndarray, y_m: np.ndarray, wind_from_deg: float = 250.0) -> np.ndarray:
    """Delay with which each house sees a shadow that drifts with the wind.

    Parameters
    ----------
    x_m, y_m
        House position east and north of the village's south-west corner. [m]
    wind_from_deg
        Direction the wind blows from (250 = west-south-west, typical). [deg]

    Returns
    -------
    numpy.ndarray
        Delay ≥ 0 relative to the first house the shadow reaches. [s]
    """
    to_rad = math.radians((wind_from_deg + 180.0) % 360.0)
    along_m = np.asarray(x_m) * math.sin(to_rad) + np.asarray(y_m) * math.cos(to_rad)
    if along_m.size == 0:
        return along_m.astype(float)
    return (along_m - along_m.min()) / CLOUD_SPEED_M_S
