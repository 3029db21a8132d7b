"""The climate of the village: which kind of day it is, hour by hour how much of the clear sky gets through.

Two sources, one output. Either way, each local hour gets an :class:`HourWeather`:
the hour's clear-sky index target (GHI / clear-sky GHI), whether a closed cloud
deck covers the sky, the wind that moves the clouds and the air temperature.
:mod:`leg_sim.profiles.weather` then downscales the hour to the tick with
finite drifting clouds.

**Built-in climate (default).** Days are *clear*, *broken*, *overcast* or *fog*
(a closed low-stratus deck in the morning that may lift at midday or stay all
day, the Swiss-plateau winter "Hochnebel"). The sequence of day types is a
first-order Markov chain whose stationary distribution is the month's
climatological share of each type (:data:`ZURICH`), with persistence
:data:`PERSISTENCE`: ``P(j | i) = φ·[i = j] + (1 − φ)·π_j``, so a day says
something about the next and the month's statistics hold exactly. The method
of generating daily sky states from Markov transition matrices follows Aguiar,
Collares-Pereira & Conde (1988, Solar Energy 40, 269–279). Within a day the
hourly clear-sky index varies around the day type's level as an AR(1) series.

**A TMY file** (``weather.tmy_file``): PVGIS TMY (CSV/JSON/EPW), EPW or TMY3 CSV,
read with pvlib's ``iotools``. Its hourly GHI divided by pvlib's Ineichen
clear-sky GHI at the file's coordinates gives the hourly clear-sky index of
each calendar hour (29 February uses 28 February); its air temperature and wind
speed are used too. Any simulated year replays the file's typical year.

Randomness is keyed to the simulated date (:mod:`leg_sim.profiles.streams`): the
day types of a year come from ``(seed, year)``, the hours of a day from
``(seed, day)``, so the same seed and date give the same weather whatever the
tick interval, speed or start. The chain restarts from the stationary
distribution on 1 January of each year.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
import os
import warnings

import numpy as np
import pandas as pd
import pvlib

from leg_sim.profiles import streams

#: Day types, in the order of their codes.
DAY_TYPES = ("clear", "broken", "overcast", "fog")
CLEAR, BROKEN, OVERCAST, FOG = range(4)

#: Day-to-day persistence φ of the Markov chain: the lag-1 autocorrelation of the day type. [-]
#: Measured lag-1 autocorrelations of the daily clearness index in Central Europe lie
#: around 0.3–0.4 (Aguiar et al. 1988 use month- and level-dependent matrices).
PERSISTENCE = 0.35

#: Daily level of the clear-sky index of a broken day and of an overcast deck: uniform between. [-]
BROKEN_KC = (0.65, 1.0)
OVERCAST_KC = (0.3, 0.55)

#: Clear-sky index below which an hour is a closed deck (no direct sun), not broken clouds. [-]
DECK_BELOW_KC = 0.3


#: Share of the possible sunshine each day type gets (clear, broken, overcast, fog). [-]
DAY_TYPE_SUNSHINE = (0.95, 0.5, 0.05, 0.0)
#: Share of the non-fog days that are broken, unless the month is too dull for it. [-]
BROKEN_SHARE = 0.6


@dataclasses.dataclass(frozen=True)
class MonthlyClimate:
    """Monthly climatological statistics of a place, January to December.

    Attributes
    ----------
    sunshine_h
        Sunshine duration per month. [h]
    fog_days
        Days with fog or low stratus for at least half the day. [d]
    fog_lift_share
        Share of those days on which the deck lifts around midday. [-]
    temp_mean_c, temp_half_range_c
        Monthly mean air temperature and half the mean daily range. [°C]
    """

    place: str
    latitude_deg: float
    longitude_deg: float
    source: str
    sunshine_h: tuple[float, ...]
    fog_days: tuple[float, ...]
    fog_lift_share: tuple[float, ...]
    temp_mean_c: tuple[float, ...]
    temp_half_range_c: tuple[float, ...]

    def possible_sunshine_h(self) -> np.ndarray:
        """Astronomically possible sunshine per month (sun above the horizon), a non-leap year. [h]"""
        return np.array([_daylight_h(self.latitude_deg, m) for m in range(1, 13)])

    def relative_sunshine(self) -> np.ndarray:
        """Sunshine duration as a share of the possible, per month. [-]"""
        return np.asarray(self.sunshine_h, dtype=float) / self.possible_sunshine_h()

    def day_type_shares(self) -> np.ndarray:
        """Share of each day type per month, shape (12, 4), rows sum to 1. [-]

        Fog days are given. Of the rest, :data:`BROKEN_SHARE` are broken, and the
        others are split between clear and overcast so that the month's mean
        sunshine share (with :data:`DAY_TYPE_SUNSHINE` per type) equals the
        climate's; a month too dull for that many broken days has no clear days
        and fewer broken ones.
        """
        days = np.array([31, 28.25, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
        s_c, s_b, s_o, _ = DAY_TYPE_SUNSHINE
        fog = np.asarray(self.fog_days, dtype=float) / days
        s_f = np.asarray(self.fog_lift_share) * 0.45  # a lifting deck leaves about half the afternoon sunny
        target = self.relative_sunshine() - fog * s_f
        rest = 1.0 - fog
        broken = BROKEN_SHARE * rest
        clear = (target - broken * s_b - (rest - broken) * s_o) / (s_c - s_o)
        dull = clear < 0
        broken = np.where(dull, np.clip((target - rest * s_o) / (s_b - s_o), 0.0, rest), broken)
        clear = np.clip(np.where(dull, 0.0, clear), 0.0, rest - broken)
        overcast = rest - broken - clear
        return np.stack([clear, broken, overcast, fog], axis=1)


def _daylight_h(latitude_deg: float, month: int) -> float:
    """Hours with the sun above the horizon in `month`, summed over its days (non-leap year). [h]"""
    first = dt.date(2025, month, 1)
    n = (dt.date(2025 + month // 12, month % 12 + 1, 1) - first).days
    doy = first.timetuple().tm_yday + np.arange(n)
    decl = np.radians(23.44) * np.sin(2 * np.pi * (284 + doy) / 365.0)
    cos_h = np.clip(-np.tan(np.radians(latitude_deg)) * np.tan(decl), -1.0, 1.0)
    return float((2 * np.degrees(np.arccos(cos_h)) / 15.0).sum())


#: Built-in climate: Zürich-Fluntern (556 m) on the Swiss plateau.
ZURICH = MonthlyClimate(
    place="Zürich-Fluntern",
    latitude_deg=47.378,
    longitude_deg=8.566,
    source=(
        "sunshine and temperature: approximate monthly values of the MeteoSwiss climate normals for "
        "Zürich-Fluntern (1981-2010, rounded, about 1,680 h of sunshine a year; MeteoSwiss's published table "
        "is the reference); fog: Scherrer & Appenzeller (2014), Int. J. Climatol. 34, doi:10.1002/joc.3714 "
        "(28 days Sep-Mar with fog or low stratus for at least half the day, 17 of them all day)"
    ),
    sunshine_h=(58.0, 84.0, 134.0, 164.0, 194.0, 211.0, 235.0, 221.0, 161.0, 109.0, 63.0, 47.0),
    fog_days=(6.0, 2.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 4.0, 7.0, 7.0),
    fog_lift_share=(0.3, 0.5, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.7, 0.5, 0.2, 0.25),
    temp_mean_c=(0.3, 1.3, 5.1, 8.6, 13.2, 16.4, 18.4, 17.8, 14.0, 9.8, 4.5, 1.4),
    temp_half_range_c=(2.4, 3.3, 4.3, 5.0, 5.1, 5.3, 5.5, 5.3, 4.6, 3.5, 2.5, 2.1),
)


@dataclasses.dataclass(frozen=True)
class HourWeather:
    """The weather of one local hour, as the cloud model needs it.

    Attributes
    ----------
    clear_sky_index
        Target GHI / clear-sky GHI of the hour. [-]
    deck
        True when a closed cloud deck (overcast, fog) covers the sky: no direct sun.
    wind_speed_m_s
        Speed at which cloud shadows drift (cloud level). [m/s]
    wind_from_deg
        Direction the clouds come from (270 = west). [deg]
    temp_air_c
        Air temperature at the middle of the hour. [°C]
    wind_10m_m_s
        Wind near the roofs, for module cooling. [m/s]
    day_type
        Code of the day's type (:data:`DAY_TYPES`), -1 for a TMY hour.
    """

    clear_sky_index: float
    deck: bool
    wind_speed_m_s: float
    wind_from_deg: float
    temp_air_c: float
    wind_10m_m_s: float
    day_type: int


def transition_matrix(shares: np.ndarray, persistence: float) -> np.ndarray:
    """Markov transition matrix with stationary distribution `shares` and persistence φ.

    ``P[i, j] = φ·[i = j] + (1 − φ)·shares[j]``: the chain stays in its state with
    extra probability φ and otherwise draws from the climatology, so ``shares`` is
    stationary and the lag-1 autocorrelation of any function of the state is φ.
    """
    shares = np.asarray(shares, dtype=float)
    return persistence * np.eye(len(shares)) + (1.0 - persistence) * shares[None, :]


@functools.lru_cache(maxsize=16)
def year_day_types(seed: int, year: int, climate: MonthlyClimate = ZURICH, persistence: float = PERSISTENCE) -> np.ndarray:
    """Day type of each day of `year` (index 0 = 1 January), from the Markov chain. [-]"""
    rng = streams.rng(seed, streams.WEATHER_DAYS, year)
    shares = climate.day_type_shares()
    first = dt.date(year, 1, 1)
    n = (dt.date(year + 1, 1, 1) - first).days
    u = rng.uniform(size=n)
    out = np.empty(n, dtype=np.int8)
    state = int(np.searchsorted(np.cumsum(shares[0]), u[0] * shares[0].sum(), side="right"))
    out[0] = min(state, 3)
    matrices = np.stack([transition_matrix(s, persistence) for s in shares])  # month × from × to
    cumulative, totals = np.cumsum(matrices, axis=2), matrices.sum(axis=2)
    months = np.array([(first + dt.timedelta(days=i)).month - 1 for i in range(n)])
    for i in range(1, n):
        m, prev = months[i], out[i - 1]
        out[i] = min(int(np.searchsorted(cumulative[m, prev], u[i] * totals[m, prev], side="right")), 3)
    return out


def hourly_clear_sky_index(day_type: int, hours: int, rng: np.random.Generator, fog_lift_share: float = 2 / 3) -> tuple[np.ndarray, np.ndarray]:
    """Clear-sky index and deck flag of each local hour of a day of the given type.

    Parameters
    ----------
    day_type
        Code from :data:`DAY_TYPES`.
    hours
        Hours in the local day (23, 24 or 25).
    rng
        The day's generator.

    Returns
    -------
    clear_sky_index, deck : numpy.ndarray
        Per hour: GHI / clear-sky GHI, and whether a closed deck hides the sun. [-]

    Notes
    -----
    Levels: a clear day 0.93–1.0; broken days a daily level drawn from
    :data:`BROKEN_KC` with hourly AR(1) variation (σ 0.12, ρ 0.7); an overcast
    day a deck passing :data:`OVERCAST_KC` of the clear sky as diffuse light
    only; fog a 12–25 % deck that lifts between 10 and 14 h with the month's
    probability. The levels are set so that the yearly PV yield at the default
    location lands in PVGIS's band (``make validate``).
    """
    noise = np.empty(hours)
    e = rng.normal(size=hours)
    noise[0] = e[0]
    for h in range(1, hours):
        noise[h] = 0.7 * noise[h - 1] + math.sqrt(1 - 0.49) * e[h]
    deck = np.zeros(hours, dtype=bool)
    if day_type == CLEAR:
        kc = np.clip(0.985 + 0.02 * noise, 0.93, 1.0)
    elif day_type == BROKEN:
        level = rng.uniform(BROKEN_KC[0], BROKEN_KC[1])
        kc = np.clip(level + 0.12 * noise, DECK_BELOW_KC, 1.0)
    elif day_type == OVERCAST:
        level = rng.uniform(OVERCAST_KC[0], OVERCAST_KC[1])
        kc = np.clip(level + 0.03 * noise, 0.08, OVERCAST_KC[1])
        deck[:] = True
    else:
        level = rng.uniform(0.12, 0.25)
        lifts = rng.uniform() < fog_lift_share
        lift_h = rng.uniform(10.0, 14.0) if lifts else float(hours)
        hour = np.arange(hours) + 0.5
        deck = hour < lift_h
        kc = np.where(deck, np.clip(level + 0.02 * noise, 0.08, DECK_BELOW_KC - 0.01), np.clip(0.95 + 0.03 * noise, 0.8, 1.0))
    return kc, deck


def daily_temperature_c(climate: MonthlyClimate, day_of_year: float, local_hour: float, clear_sky_index: float) -> float:
    """Air temperature from the month's mean and daily range, damped under clouds. [°C]

    The monthly values are interpolated between mid-months; the daily swing
    (warmest at 15 h) scales with the hour's clear-sky index, half under a deck.
    """
    month_fraction = (day_of_year - 15.0) / 30.44
    lo = math.floor(month_fraction) % 12
    w = month_fraction - math.floor(month_fraction)
    hi = (lo + 1) % 12
    mean_c = (1 - w) * climate.temp_mean_c[lo] + w * climate.temp_mean_c[hi]
    half_c = (1 - w) * climate.temp_half_range_c[lo] + w * climate.temp_half_range_c[hi]
    damping = 0.5 + 0.5 * min(max(clear_sky_index, 0.0), 1.0)
    return float(mean_c + 1.3 * half_c * damping * math.sin(2 * math.pi * (local_hour - 9.0) / 24.0))


@dataclasses.dataclass(frozen=True)
class TmyWeather:
    """Hourly weather of a typical year from a TMY file, keyed by (month, day, hour) in UTC."""

    source: str
    latitude_deg: float
    longitude_deg: float
    clear_sky_index: np.ndarray  # shape (12, 31, 24), NaN where the calendar has no such day
    temp_air_c: np.ndarray
    wind_speed_m_s: np.ndarray

    def hour(self, when_utc: pd.Timestamp) -> tuple[float, float, float]:
        """Clear-sky index, air temperature [°C] and wind speed [m/s] of the hour containing `when_utc`."""
        month, day = when_utc.month, when_utc.day
        if month == 2 and day == 29:
            day = 28
        i = (month - 1, day - 1, when_utc.hour)
        return float(self.clear_sky_index[i]), float(self.temp_air_c[i]), float(self.wind_speed_m_s[i])


class TmyError(ValueError):
    """A TMY file that cannot be read; the message is one line for the user."""


def read_tmy(path: str | os.PathLike) -> TmyWeather:
    """Read a PVGIS TMY, EPW or TMY3 file into hourly clear-sky indices (see the module docstring).

    Raises
    ------
    TmyError
        With a one-line reason when the file is missing, of an unknown format or
        without a full year of GHI.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise TmyError(f"weather.tmy_file: no such file: {path}")
    if os.path.getsize(path) > 50_000_000:
        raise TmyError(f"weather.tmy_file: {path} is larger than 50 MB; a TMY file is about 1–2 MB")
    lower = path.lower()
    try:
        if lower.endswith(".epw"):
            data, meta = pvlib.iotools.read_epw(path)
            start = data.index  # pvlib stamps EPW hour h (h:00 ends it) at its start, h − 1
        elif lower.endswith(".json") or _looks_like_pvgis(path):
            data, meta = _read_pvgis(path)
            start = data.index
        else:
            data, meta = pvlib.iotools.read_tmy3(path, map_variables=True)
            start = data.index - pd.Timedelta(hours=1)
        lat = float(meta.get("latitude", meta.get("Latitude")))
        lon = float(meta.get("longitude", meta.get("Longitude")))
        alt = float(meta.get("altitude", meta.get("elevation", meta.get("Elevation", 0.0))) or 0.0)
    except TmyError:
        raise
    except Exception as exc:  # pvlib raises many kinds for a malformed file
        raise TmyError(f"weather.tmy_file: cannot read {path} as PVGIS TMY, EPW or TMY3 ({type(exc).__name__}: {exc})") from None
    if "ghi" not in data or len(data) < 8760:
        raise TmyError(f"weather.tmy_file: {path} has no full hourly year of GHI ({len(data)} rows)")
    start = pd.DatetimeIndex(start).tz_convert("UTC") if pd.DatetimeIndex(start).tz is not None else pd.DatetimeIndex(start).tz_localize("UTC")
    ghi_cs = _hourly_clear_sky_ghi(start, lat, lon, alt)
    ghi = np.asarray(data["ghi"], dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        kc = np.where(ghi_cs > 20.0, ghi / ghi_cs, np.nan)
    kc = np.clip(kc, 0.0, 1.2)
    temp = np.asarray(data["temp_air"], dtype=float) if "temp_air" in data else np.full(len(data), 10.0)
    wind = np.asarray(data["wind_speed"], dtype=float) if "wind_speed" in data else np.full(len(data), 2.0)
    cube = {name: np.full((12, 31, 24), np.nan) for name in ("kc", "temp", "wind")}
    months, days, hours = start.month.to_numpy() - 1, start.day.to_numpy() - 1, start.hour.to_numpy()
    for name, values in (("kc", kc), ("temp", temp), ("wind", wind)):
        cube[name][months, days, hours] = values
    # Hours with the sun too low for a meaningful ratio take the day's daylight mean.
    with warnings.catch_warnings():  # calendar days the year lacks (30 February) are all NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        daily = np.nanmean(cube["kc"], axis=2, keepdims=True)
    cube["kc"] = np.where(np.isnan(cube["kc"]), np.nan_to_num(daily, nan=0.5), cube["kc"])
    return TmyWeather(source=os.path.basename(path), latitude_deg=lat, longitude_deg=lon,
                      clear_sky_index=cube["kc"], temp_air_c=np.nan_to_num(cube["temp"], nan=10.0),
                      wind_speed_m_s=np.nan_to_num(cube["wind"], nan=2.0))


def read_tmy_cached(path: str | os.PathLike) -> TmyWeather:
    """:func:`read_tmy`, read once per file path and modification time."""
    path = os.fspath(path)
    try:
        mtime = os.path.getmtime(path)
    except OSError:
        mtime = 0.0
    return _read_tmy_at(path, mtime)


@functools.lru_cache(maxsize=4)
def _read_tmy_at(path: str, mtime: float) -> TmyWeather:
    return read_tmy(path)


def _looks_like_pvgis(path: str) -> bool:
    with open(path, encoding="utf-8", errors="replace") as f:
        head = f.read(400)
    return head.startswith("Latitude") or "PVGIS" in head


def _read_pvgis(path: str) -> tuple[pd.DataFrame, dict]:
    result = pvlib.iotools.read_pvgis_tmy(path, map_variables=True)
    data, meta = result[0], result[-1]
    inputs = meta.get("inputs", meta) if isinstance(meta, dict) else {}
    location = inputs.get("location", inputs) if isinstance(inputs, dict) else {}
    return data, {"latitude": location.get("latitude"), "longitude": location.get("longitude"), "altitude": location.get("elevation", 0.0)}


def _hourly_clear_sky_ghi(start_utc: pd.DatetimeIndex, lat: float, lon: float, alt: float) -> np.ndarray:
    """Mean Ineichen clear-sky GHI over each hour starting at `start_utc` (four samples). [W/m²]"""
    location = pvlib.location.Location(lat, lon, altitude=alt)
    total = np.zeros(len(start_utc))
    for minute in (7.5, 22.5, 37.5, 52.5):
        cs = location.get_clearsky(start_utc + pd.Timedelta(minutes=minute), model="ineichen")
        total += np.asarray(cs["ghi"], dtype=float)
    return total / 4.0


#: Typical speed at which cloud shadows drift, median and log-spread of the daily value. [m/s], [-]
CLOUD_SPEED_MEDIAN_M_S, CLOUD_SPEED_SIGMA = 8.0, 0.35
#: Prevailing direction clouds come from on the Swiss plateau (west-south-west), and its daily spread. [deg]
WIND_FROM_DEG, WIND_FROM_SPREAD_DEG = 250.0, 40.0


@dataclasses.dataclass(frozen=True)
class DayWeather:
    """The hours of one local day (index 0 = the hour from local midnight)."""

    day: int
    start_s: float
    clear_sky_index: np.ndarray
    deck: np.ndarray
    temp_air_c: np.ndarray
    wind_10m_m_s: np.ndarray
    wind_speed_m_s: float
    wind_from_deg: float
    day_type: int

    def hour_index(self, t_s: float) -> int:
        """Index of the local hour containing `t_s`, clamped to the day. [s]"""
        return min(max(int((t_s - self.start_s) // 3600.0), 0), len(self.clear_sky_index) - 1)

    def temperature_c(self, t_s: float) -> float:
        """Air temperature at `t_s`, linear between the middles of the hours. [°C]"""
        mids_s = self.start_s + 3600.0 * (np.arange(len(self.temp_air_c)) + 0.5)
        return float(np.interp(t_s, mids_s, self.temp_air_c))

    def hour(self, t_s: float) -> HourWeather:
        """The weather of the hour containing `t_s`. [s]"""
        h = self.hour_index(t_s)
        return HourWeather(
            clear_sky_index=float(self.clear_sky_index[h]), deck=bool(self.deck[h]),
            wind_speed_m_s=self.wind_speed_m_s, wind_from_deg=self.wind_from_deg,
            temp_air_c=float(self.temp_air_c[h]), wind_10m_m_s=float(self.wind_10m_m_s[h]), day_type=self.day_type,
        )


class HourlyWeather:
    """The hour-by-hour weather of any local day, from the built-in climate or a TMY file.

    Parameters
    ----------
    seed
        The community's seed.
    timezone
        IANA time zone of the community; days are local calendar days.
    climate
        Monthly statistics for the built-in generator.
    tmy
        A TMY year to replay instead (its clear-sky index, temperature and wind).
    """

    def __init__(self, seed: int, timezone: str, climate: MonthlyClimate = ZURICH, tmy: TmyWeather | None = None):
        self.seed, self.timezone, self.climate, self.tmy = int(seed), timezone, climate, tmy
        self._days: dict[int, DayWeather] = {}
        self._last: DayWeather | None = None

    def day(self, day: int) -> DayWeather:
        """The weather of local day number `day` (cached: the same day is built once)."""
        found = self._days.get(day)
        if found is None:
            found = self._build(day)
            if len(self._days) > 8:
                self._days.clear()
            self._days[day] = found
        return found

    def at(self, t_s: float) -> DayWeather:
        """The day containing simulated time `t_s`. [s]"""
        last = self._last
        if last is not None and last.start_s <= t_s < last.start_s + 3600.0 * len(last.clear_sky_index):
            return last  # the common case of a tick: no time-zone arithmetic
        self._last = self.day(streams.local_day_of(t_s, self.timezone))
        return self._last

    def _build(self, day: int) -> DayWeather:
        start_s, end_s = streams.local_day_bounds_s(day, self.timezone)
        hours = round((end_s - start_s) / 3600.0)
        date = dt.date.fromordinal(day)
        rng = streams.rng(self.seed, streams.HOURLY_WEATHER, day)
        speed = float(np.clip(CLOUD_SPEED_MEDIAN_M_S * math.exp(CLOUD_SPEED_SIGMA * rng.normal()), 3.0, 20.0))
        wind_from = float((WIND_FROM_DEG + WIND_FROM_SPREAD_DEG * rng.normal()) % 360.0)
        day_rng = np.random.default_rng(rng.integers(0, 2**63))
        mids = start_s + 3600.0 * (np.arange(hours) + 0.5)
        if self.tmy is not None:
            stamps = pd.to_datetime(mids - 1800.0, unit="s", utc=True)
            rows = [self.tmy.hour(s) for s in stamps]
            kc = np.array([r[0] for r in rows])
            temp = np.array([r[1] for r in rows])
            wind10 = np.array([r[2] for r in rows])
            deck = kc < DECK_BELOW_KC
            day_type = -1
        else:
            day_type = int(year_day_types(self.seed, date.year, self.climate)[date.timetuple().tm_yday - 1])
            kc, deck = hourly_clear_sky_index(day_type, hours, day_rng, self.climate.fog_lift_share[date.month - 1])
            doy = date.timetuple().tm_yday
            local_hours = np.arange(hours) + 0.5
            temp = np.array([daily_temperature_c(self.climate, doy, h, k) for h, k in zip(local_hours, kc, strict=True)])
            wind10 = np.full(hours, 2.0)
        return DayWeather(day=day, start_s=start_s, clear_sky_index=kc, deck=deck, temp_air_c=temp, wind_10m_m_s=wind10,
                          wind_speed_m_s=speed, wind_from_deg=wind_from, day_type=day_type)
