"""Clouds with a shape: finite cloud shadows drifting over the village, and what each roof sees.

The hour's weather (:mod:`leg_sim.profiles.climate`) gives a clear-sky index
target and says whether a closed deck covers the sky. This module downscales
that hour to any instant and any roof:

* **Deck hours** (overcast, fog): no direct sun; the diffuse light is the hour's
  clear-sky index times the clear-sky GHI, with a gentle minute-to-minute
  variation (±3 %).
* **Broken hours**: cloud shadows are discs (radius log-normal, median
  :data:`RADIUS_MEDIAN_M`) scattered as a Poisson field that drifts with the
  day's wind over the village (frozen flow). Each cloud lets through a share
  τ of the beam in its core, with a soft edge; around its shadow, a sunlit roof
  gets extra diffuse light reflected by the cloud's side (cloud enhancement,
  up to about 1.5× clear sky at the edge, Yordanov et al. 2013; Järvelä et al.
  2020). Between clouds the sky is brighter than a clear sky's diffuse.
  The density of clouds is solved per hour so that the expected GHI equals the
  hour's target exactly (Poisson field: the expected product of transmittances
  is ``exp(−λ·E[∫(1 − T) dA])``, Palm calculus gives the enhancement term).

Each hour's clouds come from a generator keyed to (seed, hour), so the sky over
the village at a given simulated time does not depend on the tick interval,
the speed or where the run started. Houses feel a cloud when it passes over
them: houses along the wind see it seconds to a minute apart, houses across the
wind further apart than a cloud's size not at all.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable

import numpy as np

from leg_sim.profiles import streams
from leg_sim.profiles.climate import DayWeather

#: Cloud shadow radius: median, log-spread, smallest and largest. [m], [-], [m], [m]
RADIUS_MEDIAN_M, RADIUS_SIGMA, RADIUS_MIN_M, RADIUS_MAX_M = 150.0, 0.7, 30.0, 1200.0
#: Soft edge of a shadow, as a share of its radius, and at least this wide. [-], [m]
EDGE_SHARE, EDGE_MIN_M = 0.2, 10.0
#: Beam transmittance in a cloud's core: uniform between these. [-]
CORE_TAU_MIN, CORE_TAU_MAX = 0.05, 0.35
#: Width of the bright ring around a shadow (share of radius) and its peak extra light
#: (share of clear-sky GHI, uniform 0..max per cloud). [-]
RING_SHARE, RING_PEAK_MAX = 0.25, 0.45
#: Highest clear-sky index cloud enhancement can give. [-]
ENHANCEMENT_CAP = 1.5
#: Brightening of the diffuse sky between broken clouds: diffuse × (1 + 4·G·B·(1 − B)). [-]
DIFFUSE_GAIN = 0.25
#: Relative minute-to-minute variation of a deck's light. [-]
DECK_VARIATION = 0.03
#: Half-width of the band, across the wind, in which clouds are placed around the village. [m]
CROSS_HALF_WIDTH_M = 2000.0


@functools.lru_cache(maxsize=1)
def _radius_quadrature() -> np.ndarray:
    """Radii at 400 equally likely quantiles of the clipped log-normal. [m]"""
    from statistics import NormalDist

    q = (np.arange(400) + 0.5) / 400
    z = np.array([NormalDist().inv_cdf(float(p)) for p in q])
    return np.clip(RADIUS_MEDIAN_M * np.exp(RADIUS_SIGMA * z), RADIUS_MIN_M, RADIUS_MAX_M)


def shadow_area_m2(radius_m: np.ndarray) -> np.ndarray:
    """∫ of the shadow ramp over the plane: full core plus the soft edge. [m²]"""
    r = np.asarray(radius_m, dtype=float)
    e = np.minimum(np.maximum(EDGE_SHARE * r, EDGE_MIN_M), r)
    return math.pi * (r - e) ** 2 + 2 * math.pi * (r * e / 2 - e**2 / 3)


def ring_area_m2(radius_m: np.ndarray) -> np.ndarray:
    """∫ of the enhancement ring's profile (1 at the edge, 0 at its outer rim). [m²]"""
    r = np.asarray(radius_m, dtype=float)
    w = RING_SHARE * r
    return 2 * math.pi * (r * w / 2 + w**2 / 6)


@functools.lru_cache(maxsize=1)
def _mean_areas_m2() -> tuple[float, float]:
    """Mean over the cloud population of the beam a cloud takes, E[(1 − τ)·∫ramp], and of
    its ring's extra light, E[peak·∫ring] (as a share of clear-sky GHI times area). [m²]"""
    radii = _radius_quadrature()
    a_b = (1.0 - (CORE_TAU_MIN + CORE_TAU_MAX) / 2) * float(shadow_area_m2(radii).mean())
    a_e = RING_PEAK_MAX / 2 * float(ring_area_m2(radii).mean())
    return a_b, a_e


def expected_clear_sky_index(density_per_m2: float, diffuse_share: float) -> float:
    """Expected GHI / clear-sky GHI of a broken sky with `density_per_m2` clouds. [-]

    Parameters
    ----------
    density_per_m2
        Cloud centres per square metre (Poisson intensity λ). [1/m²]
    diffuse_share
        Clear-sky DHI / GHI now, δ. [-]

    Returns
    -------
    float
        ``(1 − δ)·B + δ·(1 + 4G·B(1 − B)) + λ·a_e·B`` with ``B = exp(−λ·a_b)`` the
        expected beam factor. [-]
    """
    a_b, a_e = _mean_areas_m2()
    b = math.exp(-density_per_m2 * a_b)
    d = diffuse_share
    return (1 - d) * b + d * (1 + 4 * DIFFUSE_GAIN * b * (1 - b)) + density_per_m2 * a_e * b


@functools.lru_cache(maxsize=4096)
def cloud_density_per_m2(clear_sky_index: float, diffuse_share: float) -> float:
    """Poisson density of clouds that gives the expected clear-sky index (inverse of the above). [1/m²]

    The smallest density at which :func:`expected_clear_sky_index` falls to the
    target; 0 for a target ≥ 1, and the largest density tried for a target below
    what broken clouds can reach (such hours are deck hours).
    """
    target = float(clear_sky_index)
    if target >= 1.0:
        return 0.0
    grid = np.concatenate([[0.0], np.geomspace(1e-9, 1e-3, 400)])
    values = np.array([expected_clear_sky_index(lam, diffuse_share) for lam in grid])
    below = np.flatnonzero(values <= target)
    if not len(below):
        return float(grid[-1])
    i = int(below[0])
    lo, hi = grid[i - 1], grid[i]
    for _ in range(40):
        mid = (lo + hi) / 2
        if expected_clear_sky_index(mid, diffuse_share) > target:
            lo = mid
        else:
            hi = mid
    return float(hi)


@dataclasses.dataclass(frozen=True)
class Clouds:
    """A set of clouds: when each centre passes the village's centre line, where across, how big."""

    pass_s: np.ndarray  # time the centre crosses the line through the village centre, across the wind [s]
    cross_m: np.ndarray  # offset across the wind from the village centre [m]
    radius_m: np.ndarray
    tau: np.ndarray  # core beam transmittance [-]
    ring_peak: np.ndarray  # extra light at the edge, share of clear-sky GHI [-]
    speed_m_s: np.ndarray
    to_x: np.ndarray  # unit vector of the drift, east component [-]
    to_y: np.ndarray  # unit vector of the drift, north component [-]

    @staticmethod
    def concat(parts: list[Clouds]) -> Clouds:
        """All clouds of `parts` in one set."""
        return Clouds(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in dataclasses.fields(Clouds)))


def clouds_of_hour(seed: int, hour_index: int, density_per_m2: float, speed_m_s: float, wind_from_deg: float) -> Clouds:
    """The clouds whose centres pass the village in hour `hour_index` (hours since the epoch, UTC).

    A Poisson number of clouds, density × (speed · 3600 s) × (2 · cross half-width),
    from the generator of (seed, hour): the same hour always gets the same sky.
    """
    rng = streams.rng(seed, streams.CLOUDS, hour_index)
    area_m2 = speed_m_s * 3600.0 * 2 * CROSS_HALF_WIDTH_M
    n = int(rng.poisson(density_per_m2 * area_m2)) if density_per_m2 > 0 else 0
    to_rad = math.radians((wind_from_deg + 180.0) % 360.0)
    radius = np.clip(RADIUS_MEDIAN_M * np.exp(RADIUS_SIGMA * rng.normal(size=n)), RADIUS_MIN_M, RADIUS_MAX_M)
    return Clouds(
        pass_s=hour_index * 3600.0 + rng.uniform(0.0, 3600.0, n),
        cross_m=rng.uniform(-CROSS_HALF_WIDTH_M, CROSS_HALF_WIDTH_M, n),
        radius_m=radius,
        tau=rng.uniform(CORE_TAU_MIN, CORE_TAU_MAX, n),
        ring_peak=rng.uniform(0.0, RING_PEAK_MAX, n),
        speed_m_s=np.full(n, speed_m_s),
        to_x=np.full(n, math.sin(to_rad)),
        to_y=np.full(n, math.cos(to_rad)),
    )


def sky_factors(
    t_s: float,
    x_m: np.ndarray,
    y_m: np.ndarray,
    clouds: Clouds,
    diffuse_share: float,
    beam_density_factor: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Beam factor and extra light for each house under a set of drifting clouds.

    Parameters
    ----------
    t_s
        Simulated time. [s]
    x_m, y_m
        House positions relative to the village centre, east and north. [m]
    clouds
        The clouds near the village now.
    diffuse_share
        Clear-sky DHI / GHI now, δ. [-]
    beam_density_factor
        The hour's expected beam factor B, for the brightening of the diffuse sky. [-]

    Returns
    -------
    beam_factor, diffuse_factor : numpy.ndarray
        Multipliers on clear-sky DNI and DHI per house. [-]
    """
    x_m = np.asarray(x_m, dtype=float)
    y_m = np.asarray(y_m, dtype=float)
    n = len(x_m)
    b = beam_density_factor
    diffuse = np.full(n, 1.0 + 4 * DIFFUSE_GAIN * b * (1.0 - b))
    if len(clouds.pass_s) == 0:
        return np.ones(n), diffuse
    # Each cloud's centre now, east and north of the village centre.
    centre_along = clouds.speed_m_s * (t_s - clouds.pass_s)
    cx = centre_along * clouds.to_x - clouds.cross_m * clouds.to_y
    cy = centre_along * clouds.to_y + clouds.cross_m * clouds.to_x
    dist = np.subtract.outer(x_m, cx)
    np.square(dist, out=dist)
    dy = np.subtract.outer(y_m, cy)
    np.square(dy, out=dy)
    dist += dy
    np.sqrt(dist, out=dist)
    r = clouds.radius_m
    edge = np.minimum(np.maximum(EDGE_SHARE * r, EDGE_MIN_M), r)
    # shade: 1 in the core, falling to 0 over the soft edge
    shade = np.subtract(r, dist, out=dy)
    shade /= edge
    np.clip(shade, 0.0, 1.0, out=shade)
    shade *= -(1.0 - clouds.tau)
    shade += 1.0
    beam = np.prod(shade, axis=1)
    # bright ring outside the shadow: 1 at the edge, 0 at RING_SHARE·r further out
    ring = np.subtract(dist, r, out=dist)
    ring /= -(RING_SHARE * r)
    ring += 1.0
    np.clip(ring, 0.0, 1.0, out=ring)
    ring[ring >= 1.0] = 0.0  # inside the shadow (d ≤ r): no ring
    extra_ghi = (ring @ clouds.ring_peak) * beam
    # The enhancement is extra diffuse light; cap the total at the highest measured clear-sky index.
    ghi_share = (1 - diffuse_share) * beam + diffuse_share * diffuse + extra_ghi
    extra_ghi = np.where(ghi_share > ENHANCEMENT_CAP, np.maximum(extra_ghi - (ghi_share - ENHANCEMENT_CAP), 0.0), extra_ghi)
    diffuse = diffuse + extra_ghi / max(diffuse_share, 1e-6)
    return beam, diffuse


class CloudField:
    """The clouds near the village at the current instant, and what each roof sees under them.

    Holds only caches (the clouds of the hours around now): what a roof sees at
    time t depends on the seed, t, the house's position and the hour's weather.

    Parameters
    ----------
    seed
        The community's seed.
    day_of
        Gives the :class:`~leg_sim.profiles.climate.DayWeather` containing a time. [s]
    diffuse_share_at
        Clear-sky DHI / GHI at a time (the cloud density depends on it). [s]
    """

    def __init__(self, seed: int, day_of: Callable[[float], DayWeather], diffuse_share_at: Callable[[float], float]):
        self.seed = int(seed)
        self._day_of = day_of
        self._diffuse_share_at = diffuse_share_at
        self._hours: dict[int, tuple[Clouds, float]] = {}
        self._near: tuple[int, Clouds] | None = None

    def _hour(self, h: int) -> tuple[Clouds, float]:
        found = self._hours.get(h)
        if found is None:
            mid_s = h * 3600.0 + 1800.0
            day = self._day_of(mid_s)
            hour = day.hour(mid_s)
            density = 0.0
            if not hour.deck:
                density = cloud_density_per_m2(round(hour.clear_sky_index, 3), round(self._diffuse_share_at(mid_s), 2))
            found = (clouds_of_hour(self.seed, h, density, day.wind_speed_m_s, day.wind_from_deg), expected_beam_factor(density))
            self._hours[h] = found
        return found

    def beam_expectation(self, t_s: float) -> float:
        """The expected beam factor B of the hour of `t_s` (brightens the diffuse sky). [-]"""
        return self._hour(int(t_s // 3600.0))[1]

    def clouds_near(self, t_s: float, reach_m: float) -> Clouds:
        """The clouds that can touch a point within `reach_m` of the village centre at `t_s`. [s], [m]"""
        h0 = int(t_s // 3600.0)
        if self._near is None or self._near[0] != h0:
            for h in [k for k in self._hours if abs(k - h0) > 1]:
                del self._hours[h]
            self._near = (h0, Clouds.concat([self._hour(h)[0] for h in (h0 - 1, h0, h0 + 1)]))
        return clouds_within(self._near[1], t_s, reach_m)


def clouds_within(clouds: Clouds, t_s: float, reach_m: float) -> Clouds:
    """The clouds whose shadow or bright ring can touch a point within `reach_m` of the village centre at `t_s`. [s], [m]"""
    span = clouds.radius_m * (1.0 + RING_SHARE) + reach_m
    centre_along = clouds.speed_m_s * (t_s - clouds.pass_s)
    keep = (np.abs(centre_along) < span) & (np.abs(clouds.cross_m) < span)
    return Clouds(*(getattr(clouds, f.name)[keep] for f in dataclasses.fields(Clouds)))


def expected_beam_factor(density_per_m2: float) -> float:
    """Expected beam factor B = exp(−λ·a_b) of a broken sky with this cloud density. [-]"""
    a_b, _ = _mean_areas_m2()
    return math.exp(-density_per_m2 * a_b)


def deck_variation(seed: int, t_s: float) -> float:
    """Relative variation of a deck's light at `t_s`: knots each minute, linear between. [-]"""
    minute = math.floor(t_s / 60.0)
    w = t_s / 60.0 - minute
    a = streams.rng(seed, streams.DECK, minute).normal()
    b = streams.rng(seed, streams.DECK, minute + 1).normal()
    return DECK_VARIATION * ((1 - w) * a + w * b)


def village_positions_m(x_m: np.ndarray, y_m: np.ndarray, centre_m: float) -> tuple[np.ndarray, np.ndarray]:
    """House positions relative to the village's fixed centre at (`centre_m`, `centre_m`). [m]

    The centre is fixed, not the middle of the houses, so a house sees the same sky
    however many houses stand around it.
    """
    return np.asarray(x_m, dtype=float) - centre_m, np.asarray(y_m, dtype=float) - centre_m
