"""Rooftop PV power with pvlib: sun, clear sky, roof transposition, losses, inverter.

Pure functions in the pvlib style: arrays and plain numbers in, new arrays out,
no I/O and no globals. One call of :func:`sky_at` per tick gives the sun and the
clear-sky irradiance for the whole village (all houses share a location); one
call of :func:`pv_ac_power_w` then turns that into AC power for every roof at
once, vectorised over houses.

Chain (all pvlib): solar position (`ephemeris`) -> Ineichen clear sky with the
month's Linke turbidity -> Hay-Davies transposition to each roof's tilt and
azimuth -> incidence-angle losses (`iam.physical`) -> cell temperature (`pvsyst_cell`
with the heat loss of a roof-mounted module) -> PVWatts DC with temperature coefficient -> system losses -> PVWatts inverter
with clipping at the inverter's AC rating.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pvlib

#: Temperature coefficient of power of crystalline silicon modules. [1/°C]
GAMMA_PDC_PER_C = -0.0037
#: Wiring, soiling, mismatch and availability losses (PVWatts defaults add up to ~14 %). [%]
SYSTEM_LOSSES_PERCENT = float(pvlib.pvsystem.pvwatts_losses())
#: DC/AC sizing ratio of residential inverters (inverter AC rating = kWp / ratio). [-]
DC_AC_RATIO = 1.15
#: Nominal inverter efficiency (PVWatts). [-]
INVERTER_EFFICIENCY = 0.96
#: Heat loss factor of a module mounted on a roof with an air gap behind it, PVsyst's
#: "semi-integrated" value (free-standing racks: 29, fully insulated: 15). [W/(m²·K)]
ROOFTOP_U_C_W_M2K = 20.0


@dataclasses.dataclass(frozen=True)
class Sky:
    """Sun position and clear-sky irradiance at one instant, shared by the whole village."""

    apparent_zenith_deg: float
    azimuth_deg: float
    ghi_w_m2: float
    dni_w_m2: float
    dhi_w_m2: float
    dni_extra_w_m2: float

    @property
    def is_day(self) -> bool:
        """True while the sun is above the horizon."""
        return self.apparent_zenith_deg < 90.0


def monthly_linke_turbidity(latitude_deg: float, longitude_deg: float) -> np.ndarray:
    """Linke turbidity for the 12 months at a location (pvlib's climatology). [-]

    Reads pvlib's bundled table once; keep the result and pass the month's value
    to :func:`sky_at` instead of looking it up every tick.
    """
    # The 15th of each month, January to December.
    months = pd.date_range("2021-01-01", periods=12, freq="MS", tz="UTC") + pd.Timedelta(days=14)
    return np.asarray(pvlib.clearsky.lookup_linke_turbidity(months, latitude_deg, longitude_deg), dtype=float)


def sky_at(
    time_utc: pd.Timestamp,
    latitude_deg: float,
    longitude_deg: float,
    altitude_m: float,
    linke_turbidity: float,
) -> Sky:
    """Solar position and Ineichen clear-sky irradiance at one instant.

    Parameters
    ----------
    time_utc
        Time-zone aware instant.
    latitude_deg, longitude_deg
        Location. [deg]
    altitude_m
        Height above sea level. [m]
    linke_turbidity
        Linke turbidity of the month. [-]

    Returns
    -------
    Sky
        With irradiances exactly 0 W/m² while the sun is below the horizon.
    """
    index = pd.DatetimeIndex([time_utc])
    pos = pvlib.solarposition.ephemeris(index, latitude_deg, longitude_deg)
    zenith = float(pos["apparent_zenith"].iloc[0])
    azimuth = float(pos["azimuth"].iloc[0])
    dni_extra = float(pvlib.irradiance.get_extra_radiation(time_utc.day_of_year))
    if zenith >= 90.0:
        return Sky(zenith, azimuth, 0.0, 0.0, 0.0, dni_extra)
    airmass = pvlib.atmosphere.get_relative_airmass(zenith)
    airmass_abs = pvlib.atmosphere.get_absolute_airmass(airmass, pvlib.atmosphere.alt2pres(altitude_m))
    cs = pvlib.clearsky.ineichen(zenith, airmass_abs, linke_turbidity, altitude=altitude_m, dni_extra=dni_extra)
    return Sky(
        zenith,
        azimuth,
        max(float(cs["ghi"]), 0.0),
        max(float(cs["dni"]), 0.0),
        max(float(cs["dhi"]), 0.0),
        dni_extra,
    )


def plane_of_array_w_m2(
    tilt_deg: np.ndarray,
    azimuth_deg: np.ndarray,
    sky: Sky,
    beam_factor: np.ndarray | float = 1.0,
    diffuse_factor: np.ndarray | float = 1.0,
) -> np.ndarray:
    """Effective irradiance on each roof after transposition and reflection losses.

    Parameters
    ----------
    tilt_deg
        Roof tilt from horizontal, per house. [deg]
    azimuth_deg
        Roof azimuth, per house (90 = east, 180 = south). [deg]
    sky
        Clear-sky state of this instant.
    beam_factor
        Fraction of clear-sky beam (DNI) that gets through clouds, per house. [-]
    diffuse_factor
        Multiplier on clear-sky diffuse (DHI); clouds scatter beam into diffuse. [-]

    Returns
    -------
    numpy.ndarray
        Effective plane-of-array irradiance, ≥ 0, exactly 0 at night. [W/m²]
    """
    tilt_deg = np.asarray(tilt_deg, dtype=float)
    if not sky.is_day:
        return np.zeros_like(tilt_deg)
    dni = sky.dni_w_m2 * np.asarray(beam_factor, dtype=float)
    dhi = sky.dhi_w_m2 * np.asarray(diffuse_factor, dtype=float)
    cos_zenith = np.cos(np.radians(sky.apparent_zenith_deg))
    ghi = dni * cos_zenith + dhi
    aoi = pvlib.irradiance.aoi(tilt_deg, azimuth_deg, sky.apparent_zenith_deg, sky.azimuth_deg)
    poa = pvlib.irradiance.get_total_irradiance(
        tilt_deg,
        azimuth_deg,
        sky.apparent_zenith_deg,
        sky.azimuth_deg,
        dni,
        ghi,
        dhi,
        dni_extra=sky.dni_extra_w_m2,
        model="haydavies",
    )
    iam = pvlib.iam.physical(aoi)
    effective = poa["poa_direct"] * iam + poa["poa_sky_diffuse"] + poa["poa_ground_diffuse"]
    return np.nan_to_num(np.maximum(np.asarray(effective, dtype=float), 0.0), nan=0.0)


def pv_ac_power_w(
    poa_effective_w_m2: np.ndarray,
    pv_peak_kwp: np.ndarray,
    temp_air_c: float,
    wind_speed_m_s: float = 2.0,
) -> np.ndarray:
    """AC output of each PV system.

    Parameters
    ----------
    poa_effective_w_m2
        Effective plane-of-array irradiance, per house. [W/m²]
    pv_peak_kwp
        Installed DC peak power at STC, per house (0 = no PV). [kWp]
    temp_air_c
        Ambient air temperature. [°C]
    wind_speed_m_s
        Wind speed at module height. [m/s]

    Returns
    -------
    numpy.ndarray
        AC power after temperature, system and inverter losses, ≥ 0. [W]

    References
    ----------
    PVsyst SA, "Array thermal losses", PVsyst 7 help: U = Uc + Uv·v with Uc = 29 W/m²K
    for free-standing modules, 20 for semi-integrated (air duct behind), 15 for
    integrated; pvlib.temperature.pvsyst_cell implements the model.
    """
    poa = np.asarray(poa_effective_w_m2, dtype=float)
    pdc0_w = np.asarray(pv_peak_kwp, dtype=float) * 1000.0
    temp_cell_c = pvlib.temperature.pvsyst_cell(poa, temp_air_c, wind_speed_m_s, u_c=ROOFTOP_U_C_W_M2K, u_v=0.0)
    dc_w = pvlib.pvsystem.pvwatts_dc(poa, temp_cell_c, pdc0_w, GAMMA_PDC_PER_C)
    dc_w = dc_w * (1.0 - SYSTEM_LOSSES_PERCENT / 100.0)
    inverter_pdc0_w = np.maximum(pdc0_w / DC_AC_RATIO / INVERTER_EFFICIENCY, 1e-9)
    ac_w = pvlib.inverter.pvwatts(dc_w, inverter_pdc0_w, eta_inv_nom=INVERTER_EFFICIENCY)
    ac_w = np.where(pdc0_w > 0.0, np.asarray(ac_w, dtype=float), 0.0)
    return np.nan_to_num(np.maximum(ac_w, 0.0), nan=0.0)
