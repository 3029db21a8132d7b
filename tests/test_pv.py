"""PV physics against hand-checked expectations: night, orientation, season, scalars."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pvlib
import pytest
from numpy.testing import assert_allclose

from leg_sim.profiles import pv

LAT, LON, ALT, TZ = 47.38, 8.54, 410.0, "Europe/Zurich"
LINKE = pv.monthly_linke_turbidity(LAT, LON)


def power_at(local_time: str, tilt, azimuth, kwp=10.0, temp_c=20.0):
    t = pd.Timestamp(local_time, tz=TZ)
    sky = pv.sky_at(t, LAT, LON, ALT, LINKE[t.month - 1])
    poa = pv.plane_of_array_w_m2(np.atleast_1d(tilt), np.atleast_1d(azimuth), sky)
    return pv.pv_ac_power_w(poa, np.full(len(poa), kwp), temp_c)


def test_linke_turbidity_is_plausible():
    assert LINKE.shape == (12,) and np.all((LINKE > 1.5) & (LINKE < 7))


def test_night_is_exactly_zero():
    for when in ("2026-06-21 00:30", "2026-12-21 19:00", "2026-03-01 04:00"):
        p = power_at(when, [30.0, 10.0, 45.0], [180.0, 90.0, 270.0])
        assert np.all(p == 0.0)
        t = pd.Timestamp(when, tz=TZ)
        sky = pv.sky_at(t, LAT, LON, ALT, 3.0)
        assert not sky.is_day and sky.ghi_w_m2 == 0.0 and sky.dni_w_m2 == 0.0


def test_clear_sky_noon_is_in_physical_range():
    t = pd.Timestamp("2026-06-21 13:30", tz=TZ)  # solar noon in Zurich ≈ 13:27 CEST
    sky = pv.sky_at(t, LAT, LON, ALT, LINKE[5])
    # Sun elevation at solar noon on the June solstice: 90 − 47.38 + 23.44 ≈ 66.1 deg.
    assert 90 - sky.apparent_zenith_deg == pytest.approx(66.1, abs=0.5)
    assert 850 < sky.ghi_w_m2 < 1050
    p = power_at("2026-06-21 13:30", 30.0, 180.0, kwp=10.0)
    # By hand from the plane-of-array irradiance: rooftop cell temperature (PVsyst, Uc = 20),
    # -0.37 %/K from 25 °C, 14 % system losses, 96 % inverter; about 7 kW from 10 kWp.
    poa = pv.plane_of_array_w_m2(np.array([30.0]), np.array([180.0]), sky)[0]
    assert 900 < poa < 1100
    cell_c = 20.0 + 0.9 * poa * (1 - 0.1) / pv.ROOFTOP_U_C_W_M2K
    by_hand_w = 10_000 * poa / 1000 * (1 + pv.GAMMA_PDC_PER_C * (cell_c - 25.0)) * 0.86 * 0.96
    assert p[0] == pytest.approx(by_hand_w, rel=0.02)
    assert 6500 < p[0] < 8000


def _peak_hour(tilt, azimuth, day="2026-06-21"):
    times = pd.date_range(f"{day} 04:00", f"{day} 22:00", freq="5min", tz=TZ)
    powers = [power_at(str(t), tilt, azimuth)[0] for t in times]
    return times[int(np.argmax(powers))]


def test_south_roof_peaks_near_solar_noon_and_east_roof_earlier():
    south = _peak_hour(30.0, 180.0)
    east = _peak_hour(30.0, 90.0)
    west = _peak_hour(30.0, 270.0)
    solar_noon = pd.Timestamp("2026-06-21 13:27", tz=TZ)
    assert abs((south - solar_noon).total_seconds()) <= 30 * 60
    assert (south - east).total_seconds() >= 2 * 3600
    assert (west - south).total_seconds() >= 2 * 3600


def test_june_above_december():
    june = sum(power_at(f"2026-06-21 {h:02d}:00", 30.0, 180.0)[0] for h in range(5, 22))
    december = sum(power_at(f"2026-12-21 {h:02d}:00", 30.0, 180.0)[0] for h in range(5, 22))
    assert june > 2 * december > 0


def test_no_pv_gives_zero_and_power_is_linear_in_size():
    p = power_at("2026-06-21 12:00", [30.0, 30.0, 30.0], [180.0, 180.0, 180.0], kwp=0.0)
    assert np.all(p == 0.0)
    t = pd.Timestamp("2026-06-21 12:00", tz=TZ)
    sky = pv.sky_at(t, LAT, LON, ALT, LINKE[5])
    poa = pv.plane_of_array_w_m2(np.array([30.0, 30.0]), np.array([180.0, 180.0]), sky)
    p = pv.pv_ac_power_w(poa, np.array([5.0, 10.0]), 20.0)
    assert_allclose(p[1], 2 * p[0], rtol=1e-9)


def test_clouds_reduce_power_and_hot_cells_lose_power():
    t = pd.Timestamp("2026-06-21 12:00", tz=TZ)
    sky = pv.sky_at(t, LAT, LON, ALT, LINKE[5])
    clear = pv.plane_of_array_w_m2(np.array([30.0]), np.array([180.0]), sky)
    cloudy = pv.plane_of_array_w_m2(np.array([30.0]), np.array([180.0]), sky, beam_factor=0.1, diffuse_factor=1.3)
    assert 0 < cloudy[0] < 0.5 * clear[0]
    cold = pv.pv_ac_power_w(clear, np.array([10.0]), 0.0)
    hot = pv.pv_ac_power_w(clear, np.array([10.0]), 35.0)
    assert hot[0] < cold[0]


def test_inverter_clips_at_its_ac_rating():
    p = pv.pv_ac_power_w(np.array([1400.0]), np.array([10.0]), -10.0)
    assert p[0] <= 10_000 / pv.DC_AC_RATIO + 1e-6


def test_nan_irradiance_does_not_leak():
    p = pv.pv_ac_power_w(np.array([np.nan, 500.0]), np.array([5.0, 5.0]), 20.0)
    assert p[0] == 0.0 and p[1] > 0


def test_each_month_gets_its_own_linke_turbidity():
    for month in (1, 6, 12):
        mid = pd.DatetimeIndex([pd.Timestamp(2021, month, 15, tz="UTC")])
        assert LINKE[month - 1] == pytest.approx(float(pvlib.clearsky.lookup_linke_turbidity(mid, LAT, LON).iloc[0]))
    assert LINKE[0] < LINKE[5]  # hazier summers than winters on the Swiss plateau


def test_rooftop_cells_run_hotter_than_open_rack():
    # PVsyst: Uc = 20 W/m²K for semi-integrated (roof) against 29 for free-standing.
    poa, air_c = np.array([1000.0]), 25.0
    rooftop = pvlib.temperature.pvsyst_cell(poa, air_c, u_c=pv.ROOFTOP_U_C_W_M2K, u_v=0.0)
    assert rooftop[0] == pytest.approx(air_c + 0.9 * 1000.0 * (1 - 0.1) / 20.0)  # 65.5 °C by hand
    open_rack = pvlib.temperature.pvsyst_cell(poa, air_c, u_c=29.0, u_v=0.0)
    ours = pv.pv_ac_power_w(poa, np.array([10.0]), air_c)
    expected_dc = 10_000 * (1 + pv.GAMMA_PDC_PER_C * (rooftop[0] - 25.0)) * (1 - pv.SYSTEM_LOSSES_PERCENT / 100)
    assert ours[0] == pytest.approx(min(expected_dc * pv.INVERTER_EFFICIENCY, 10_000 / pv.DC_AC_RATIO), rel=0.02)
    assert rooftop[0] - open_rack[0] > 10.0
