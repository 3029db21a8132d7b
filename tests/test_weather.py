"""Climate and clouds: the day-type chain, the hourly weather, finite drifting clouds, TMY files."""

from __future__ import annotations

import datetime as dt
import math
import os

import numpy as np
import pandas as pd
import pvlib
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leg_sim.config import ConfigError, load_config
from leg_sim.model import weather_source
from leg_sim.profiles import climate, weather

TZ = "Europe/Zurich"
TMY3 = os.path.join(os.path.dirname(pvlib.__file__), "data", "723170TYA.CSV")


def day_number(text: str) -> int:
    return dt.date.fromisoformat(text).toordinal()


# --------------------------------------------------------------------------- the climate


def test_transition_matrix_keeps_the_climatology_and_has_the_persistence():
    shares = np.array([0.1, 0.5, 0.3, 0.1])
    p = climate.transition_matrix(shares, 0.35)
    assert np.allclose(p.sum(axis=1), 1.0)
    assert np.allclose(shares @ p, shares)  # stationary
    assert p[2, 2] == pytest.approx(0.35 + 0.65 * 0.3)  # by hand
    assert p[0, 1] == pytest.approx(0.65 * 0.5)


def test_day_type_shares_reproduce_the_months_sunshine():
    shares = climate.ZURICH.day_type_shares()
    assert np.all(shares >= 0) and np.allclose(shares.sum(axis=1), 1.0)
    sunshine = np.array(climate.DAY_TYPE_SUNSHINE[:3])
    lift = np.array(climate.ZURICH.fog_lift_share) * 0.45
    mean = shares[:, :3] @ sunshine + shares[:, 3] * lift
    assert np.allclose(mean, climate.ZURICH.relative_sunshine(), atol=1e-9)
    # fog belongs to the plateau winter, clear days to summer
    assert shares[11, 3] > 0.15 and shares[6, 3] == 0.0
    assert shares[6, 0] > 3 * shares[11, 0]


def test_possible_sunshine_by_hand_at_the_equinox_and_solstice():
    possible = climate.ZURICH.possible_sunshine_h()
    assert possible[2] / 31 == pytest.approx(12.0, abs=0.4)  # March: about 12 h a day
    assert possible[5] / 30 > 15.5 and possible[11] / 31 < 8.8


def test_a_year_of_day_types_follows_the_monthly_shares_and_persists():
    shares = climate.ZURICH.day_type_shares()
    counts = np.zeros((12, 4))
    same, pairs = 0, 0
    for seed in range(40):
        types = climate.year_day_types(seed, 2026)
        months = np.array([(dt.date(2026, 1, 1) + dt.timedelta(days=i)).month - 1 for i in range(len(types))])
        np.add.at(counts, (months, types), 1)
        same += int(np.sum(types[1:] == types[:-1]))
        pairs += len(types) - 1
    observed = counts / counts.sum(axis=1, keepdims=True)
    assert np.abs(observed - shares).max() < 0.06
    # P(same as yesterday) = φ + (1 − φ)·Σπ² on average
    expected_same = np.mean([climate.PERSISTENCE + (1 - climate.PERSISTENCE) * (s**2).sum() for s in shares])
    assert same / pairs == pytest.approx(expected_same, abs=0.03)


def test_the_same_seed_and_date_give_the_same_day_and_dates_differ():
    a = climate.HourlyWeather(7, TZ)
    b = climate.HourlyWeather(7, TZ)
    b.day(day_number("2026-03-01"))  # another access order
    june, december = day_number("2026-06-21"), day_number("2026-12-21")
    assert np.array_equal(a.day(june).clear_sky_index, b.day(june).clear_sky_index)
    assert not np.array_equal(a.day(june).clear_sky_index[:24], a.day(december).clear_sky_index[:24])
    assert a.day(june).wind_speed_m_s == b.day(june).wind_speed_m_s


def test_dst_days_have_23_and_25_hours():
    w = climate.HourlyWeather(1, TZ)
    assert len(w.day(day_number("2026-03-29")).clear_sky_index) == 23
    assert len(w.day(day_number("2026-10-25")).clear_sky_index) == 25


@pytest.mark.parametrize("day_type", range(4))
def test_hourly_levels_of_each_day_type(day_type):
    rng = np.random.default_rng(3)
    for _ in range(50):
        kc, deck = climate.hourly_clear_sky_index(day_type, 24, rng, fog_lift_share=0.5)
        assert np.all((kc > 0) & (kc <= 1.0))
        if day_type == climate.CLEAR:
            assert kc.min() >= 0.93 and not deck.any()
        elif day_type == climate.BROKEN:
            assert not deck.any() and kc.min() >= climate.DECK_BELOW_KC
        elif day_type == climate.OVERCAST:
            assert deck.all() and kc.max() <= climate.OVERCAST_KC[1]
        else:
            assert deck[:10].all()  # fog holds at least until 10 h


def test_temperature_is_warmest_in_the_afternoon_and_damped_by_clouds():
    clear = [climate.daily_temperature_c(climate.ZURICH, 196, h, 1.0) for h in (5, 15)]
    dull = [climate.daily_temperature_c(climate.ZURICH, 196, h, 0.2) for h in (5, 15)]
    assert clear[1] - clear[0] > dull[1] - dull[0] > 0
    assert climate.daily_temperature_c(climate.ZURICH, 196, 12, 0.5) > climate.daily_temperature_c(climate.ZURICH, 15, 12, 0.5) + 12


# --------------------------------------------------------------------------- the clouds


def test_shadow_and_ring_areas_by_numerical_integration():
    for r in (30.0, 150.0, 900.0):
        radius = np.linspace(0.0, 2.0 * r, 200_001)
        e = min(max(weather.EDGE_SHARE * r, weather.EDGE_MIN_M), r)
        ramp = np.clip((r - radius) / e, 0.0, 1.0)
        ring = np.clip(1.0 - (radius - r) / (weather.RING_SHARE * r), 0.0, 1.0) * (radius > r)
        dr = radius[1] - radius[0]
        assert float(weather.shadow_area_m2(r)) == pytest.approx(float(np.sum(ramp * 2 * np.pi * radius) * dr), rel=1e-3)
        assert float(weather.ring_area_m2(r)) == pytest.approx(float(np.sum(ring * 2 * np.pi * radius) * dr), rel=1e-3)


@given(kc=st.floats(0.35, 0.999), delta=st.floats(0.08, 0.3))
@settings(max_examples=40, deadline=None)
def test_cloud_density_inverts_the_expected_clear_sky_index(kc, delta):
    density = weather.cloud_density_per_m2(kc, delta)
    assert density >= 0
    assert weather.expected_clear_sky_index(density, delta) == pytest.approx(kc, abs=2e-3)


def test_no_clouds_is_exactly_the_clear_sky():
    assert weather.cloud_density_per_m2(1.0, 0.15) == 0.0
    assert weather.expected_clear_sky_index(0.0, 0.15) == 1.0
    beam, diffuse = weather.sky_factors(100.0, np.zeros(3), np.zeros(3), weather.clouds_of_hour(1, 0, 0.0, 8.0, 250.0), 0.15, 1.0)
    assert np.all(beam == 1.0) and np.all(diffuse == 1.0)


def one_cloud(radius_m=200.0, tau=0.1, ring_peak=0.4):
    return weather.Clouds(
        pass_s=np.array([0.0]), cross_m=np.array([0.0]), radius_m=np.array([radius_m]), tau=np.array([tau]),
        ring_peak=np.array([ring_peak]), speed_m_s=np.array([10.0]), to_x=np.array([1.0]), to_y=np.array([0.0]),
    )


def test_one_cloud_by_hand_core_edge_ring_and_drift():
    cloud = one_cloud()
    x = np.array([0.0, 170.0, 230.0, 400.0])  # core, soft edge, bright ring, clear
    beam, diffuse = weather.sky_factors(0.0, x, np.zeros(4), cloud, 0.2, 1.0)
    assert beam[0] == pytest.approx(0.1)
    assert beam[1] == pytest.approx(1 - 0.9 * (200 - 170) / 40)  # edge 40 m = 20 % of 200 m
    assert beam[2] == beam[3] == 1.0
    ring = 1 - (230 - 200) / 50  # ring 50 m wide (25 % of 200 m)
    assert diffuse[2] == pytest.approx(1.0 + 0.4 * ring / 0.2)
    assert diffuse[3] == 1.0
    # 20 s later the cloud has drifted 200 m east: the house at 200 m is under its centre.
    later, _ = weather.sky_factors(20.0, np.array([200.0]), np.zeros(1), cloud, 0.2, 1.0)
    assert later[0] == pytest.approx(0.1)


def test_enhancement_never_exceeds_the_cap():
    clouds = weather.Clouds.concat([one_cloud(ring_peak=0.45) for _ in range(5)])
    beam, diffuse = weather.sky_factors(0.0, np.array([205.0]), np.zeros(1), clouds, 0.15, 1.0)
    kc = (1 - 0.15) * beam + 0.15 * diffuse
    assert kc[0] == pytest.approx(weather.ENHANCEMENT_CAP)


def test_a_broken_hour_delivers_its_target_on_average_and_enhances_at_edges():
    delta, target = 0.15, 0.65
    density = weather.cloud_density_per_m2(target, delta)
    b = weather.expected_beam_factor(density)
    clouds = weather.Clouds.concat([weather.clouds_of_hour(11, h, density, 8.0, 250.0) for h in range(100, 120)])
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-300, 300, 400), rng.uniform(-300, 300, 400)
    samples = []
    for t in np.arange(101 * 3600.0, 119 * 3600.0, 97.0):
        beam, diffuse = weather.sky_factors(t, x, y, weather.clouds_within(clouds, t, 430.0), delta, b)
        samples.append((1 - delta) * beam + delta * diffuse)
    kc = np.concatenate(samples)
    assert kc.mean() == pytest.approx(target, abs=0.03)
    assert kc.max() > 1.25  # cloud enhancement happens
    assert np.mean(kc > 1.3) < 0.05  # above 1.3 only near edges, for seconds


def village_trace(t, x, y, clouds, delta):
    """Clear-sky index of each house (columns) at each time (rows) under `clouds`."""
    rows = [weather.sky_factors(s, x, y, weather.clouds_within(clouds, s, 430.0), delta, 0.6) for s in t]
    return np.array([(1 - delta) * b + delta * d for b, d in rows])


def test_houses_far_apart_do_not_move_together_second_by_second():
    delta = 0.15
    density = weather.cloud_density_per_m2(0.65, delta)
    clouds = weather.Clouds.concat([weather.clouds_of_hour(5, h, density, 8.0, 270.0) for h in range(10, 14)])
    x, y = np.array([0.0, 300.0, 0.0]), np.array([0.0, 0.0, 300.0])  # along and across the wind
    t = np.arange(11 * 3600.0, 13 * 3600.0, 1.0)
    kc = village_trace(t, x, y, clouds, delta)
    steps = np.diff(kc, axis=0)
    corr = np.corrcoef(steps.T)
    assert abs(corr[0, 1]) < 0.15 and abs(corr[0, 2]) < 0.15


def test_spatial_smoothing_agrees_with_pvlibs_wavelet_variability_model():
    rng = np.random.default_rng([42, 0])
    x, y = weather.village_positions_m(rng.uniform(0, 400, 5), rng.uniform(0, 400, 5), 200.0)
    delta, speed = 0.15, 8.0
    density = weather.cloud_density_per_m2(0.65, delta)
    clouds = weather.Clouds.concat([weather.clouds_of_hour(42, h, density, speed, 250.0) for h in range(1000, 1005)])
    t = np.arange(1001 * 3600.0, 1004 * 3600.0, 1.0)
    kc = village_trace(t, x, y, clouds, delta)
    per_min = kc[::60]
    ours = np.std(np.diff(per_min.mean(axis=1))) / np.mean(np.std(np.diff(per_min, axis=0), axis=0))
    smoothed, _, _ = pvlib.scaling.wvm(kc[:, 0], np.column_stack([x, y]), speed, dt=1)
    wvm = np.std(np.diff(smoothed[::60])) / np.std(np.diff(kc[::60, 0]))
    assert abs(ours - wvm) <= 0.1, (ours, wvm)


def test_the_sky_at_an_instant_does_not_depend_on_how_we_got_there():
    def field():
        w = climate.HourlyWeather(9, TZ)
        return weather.CloudField(9, w.at, lambda t_s: 0.15)

    a, b = field(), field()
    x, y = np.array([0.0, 100.0]), np.array([0.0, -50.0])
    t0 = dt.datetime(2026, 7, 3, 9, tzinfo=dt.timezone.utc).timestamp()
    for t in np.arange(t0, t0 + 7200, 1.0):  # a step by step
        a.clouds_near(t, 200.0)
    b.clouds_near(t0 + 90 * 86400, 200.0)  # b jumps far away first
    for t in (t0 + 7199.0, t0 + 3600.5, t0 + 17.0):
        ca, cb = a.clouds_near(t, 200.0), b.clouds_near(t, 200.0)
        assert np.array_equal(weather.sky_factors(t, x, y, ca, 0.15, 0.6)[0], weather.sky_factors(t, x, y, cb, 0.15, 0.6)[0])
    assert weather.deck_variation(9, t0 + 30.0) == weather.deck_variation(9, t0 + 30.0)
    assert abs(weather.deck_variation(9, t0 + 30.0)) < 5 * weather.DECK_VARIATION


# --------------------------------------------------------------------------- TMY files


def test_a_tmy3_file_gives_hourly_clear_sky_indices_temperature_and_wind():
    tmy = climate.read_tmy(TMY3)
    assert tmy.latitude_deg == pytest.approx(36.1, abs=0.1)
    kc = tmy.clear_sky_index
    finite = kc[np.isfinite(kc)]
    assert 0.55 < finite.mean() < 0.85 and finite.min() >= 0.0 and finite.max() <= 1.2
    assert -20 < tmy.temp_air_c.min() < tmy.temp_air_c.max() < 45
    w = climate.HourlyWeather(1, "America/New_York", tmy=tmy)
    july = w.day(day_number("2026-07-10"))
    assert july.day_type == -1 and len(july.clear_sky_index) == 24
    assert july.temperature_c(july.start_s + 15 * 3600) > 15


def test_a_tmy_file_replays_the_same_day_for_any_seed():
    tmy = climate.read_tmy(TMY3)
    a = climate.HourlyWeather(1, "America/New_York", tmy=tmy).day(day_number("2026-05-02"))
    b = climate.HourlyWeather(2, "America/New_York", tmy=tmy).day(day_number("2026-05-02"))
    assert np.array_equal(a.clear_sky_index, b.clear_sky_index)


@pytest.mark.parametrize(
    ("content", "words"),
    [("", "cannot read"), ("Latitude,1\nnot,a,tmy\n", "cannot read"), ("x" * 100, "cannot read")],
)
def test_a_bad_tmy_file_is_one_clear_line(tmp_path, content, words):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(climate.TmyError) as info:
        climate.read_tmy(path)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_tmy_file_is_checked_at_load_and_against_the_location(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"weather:\n  tmy_file: {TMY3}\n")
    with pytest.raises(ConfigError) as info:
        weather_source(load_config(cfg))  # Greensboro's file for a community in Zürich
    assert "is for 36.10° N" in str(info.value) and "\n" not in str(info.value)
    cfg.write_text(f"weather:\n  tmy_file: {TMY3}\nlocation:\n  latitude_deg: 36.1\n  longitude_deg: -79.9\n  timezone: America/New_York\n")
    assert weather_source(load_config(cfg)) is not None
    (tmp_path / "rel.csv").write_text("garbage")
    cfg.write_text("weather:\n  tmy_file: rel.csv\n")  # relative to the config file's folder
    with pytest.raises(ConfigError) as info:
        weather_source(load_config(cfg))
    assert "rel.csv" in str(info.value)
    assert math.isfinite(climate.read_tmy_cached(TMY3).latitude_deg)


def test_a_pvgis_json_tmy_gives_the_same_hours_as_the_same_data_in_tmy3(tmp_path):
    import json

    data, meta = pvlib.iotools.read_tmy3(TMY3, map_variables=True)
    start_utc = (data.index - pd.Timedelta(hours=1)).tz_convert("UTC")  # TMY3 stamps end the hour
    rows = [
        {"time(UTC)": f"{t:%Y%m%d:%H%M}", "T2m": float(temp), "G(h)": float(ghi), "Gb(n)": 0.0, "Gd(h)": 0.0, "WS10m": float(ws)}
        for t, temp, ghi, ws in zip(start_utc, data["temp_air"], data["ghi"], data["wind_speed"], strict=True)
    ]
    location = {"latitude": meta["latitude"], "longitude": meta["longitude"], "elevation": meta["altitude"]}
    src = {"inputs": {"location": location}, "outputs": {"months_selected": [], "tmy_hourly": rows}, "meta": {"inputs": {}}}
    path = tmp_path / "tmy.json"
    path.write_text(json.dumps(src))
    from_json = climate.read_tmy(path)
    from_tmy3 = climate.read_tmy(TMY3)
    assert from_json.latitude_deg == pytest.approx(from_tmy3.latitude_deg)
    assert np.allclose(from_json.clear_sky_index, from_tmy3.clear_sky_index, equal_nan=True)
    assert np.allclose(from_json.temp_air_c, from_tmy3.temp_air_c)


def test_an_epw_tmy_gives_the_same_hours_as_the_same_data_in_tmy3(tmp_path):
    data, meta = pvlib.iotools.read_tmy3(TMY3, map_variables=True)
    header = [
        f"LOCATION,Greensboro,NC,USA,TMY3,723170,{meta['latitude']},{meta['longitude']},{meta['TZ']},{meta['altitude']}",
        "DESIGN CONDITIONS,0", "TYPICAL/EXTREME PERIODS,0", "GROUND TEMPERATURES,0",
        "HOLIDAYS/DAYLIGHT SAVINGS,No,0,0,0", "COMMENTS 1,", "COMMENTS 2,", "DATA PERIODS,1,1,Data,Sunday, 1/ 1,12/31",
    ]
    lines = []
    for t, row in zip(data.index - pd.Timedelta(hours=1), data.itertuples(), strict=True):  # hour 1 = 00:00-01:00
        fields = [t.year, t.month, t.day, t.hour + 1, 0, "?", row.temp_air, 0, 50, 101325, 0, 0, 0,
                  row.ghi, 0, 0, 0, 0, 0, 0, 0, row.wind_speed, 0, 0, 0, 0, 9, 999999999, 0, 0, 0, 0, 0, 0, 0]
        lines.append(",".join(str(f) for f in fields))
    path = tmp_path / "tmy.epw"
    path.write_text("\n".join(header + lines) + "\n")
    from_epw = climate.read_tmy(path)
    from_tmy3 = climate.read_tmy(TMY3)
    assert from_epw.latitude_deg == pytest.approx(from_tmy3.latitude_deg)
    assert np.allclose(from_epw.clear_sky_index, from_tmy3.clear_sky_index, equal_nan=True)
