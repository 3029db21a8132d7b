"""Household base load: H25 shape, scaling to annual energy, fridge cycles and noise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from leg_sim.profiles import household

TZ = "Europe/Zurich"


def test_h25_integrates_to_one_mwh_per_year():
    centres, w = household.h25_year_w_per_mwh(2026, TZ)
    energy_kwh = w.sum() * 0.25 / 1000.0  # quarter hours of W per MWh/a -> kWh
    assert energy_kwh == pytest.approx(1000.0, rel=0.01)
    assert np.all(np.diff(centres) == 900.0)


def test_h25_has_an_evening_peak_and_a_night_low_and_winter_above_summer():
    def at(s):
        return household.h25_w_per_kwh(pd.Timestamp(s, tz=TZ), TZ)

    assert at("2026-01-14 19:00") > 2 * at("2026-01-14 03:30")
    assert at("2026-01-14 19:00") > at("2026-07-15 19:00")


def test_h25_is_continuous_over_new_year():
    a = household.h25_w_per_kwh(pd.Timestamp("2026-12-31 23:59", tz=TZ), TZ)
    b = household.h25_w_per_kwh(pd.Timestamp("2027-01-01 00:01", tz=TZ), TZ)
    assert a == pytest.approx(b, rel=0.05)


def test_base_load_scales_with_annual_consumption_and_keeps_the_fridge_average():
    shape = 0.12  # W per kWh/a, a typical value
    annual = np.array([2000.0, 4000.0])
    zeros = np.zeros(2)
    smooth = household.base_load_w(shape, annual, zeros, zeros, np.array([False, False]), zeros, zeros)
    assert smooth == pytest.approx(shape * annual)
    # With a fridge of 100 W at 40 % duty, the time-average over a cycle is unchanged.
    fridge_w, duty = np.full(2, 100.0), np.full(2, 0.4)
    on = household.base_load_w(shape, annual, fridge_w, duty, np.array([True, True]), zeros, zeros)
    off = household.base_load_w(shape, annual, fridge_w, duty, np.array([False, False]), zeros, zeros)
    assert duty * on + (1 - duty) * off == pytest.approx(shape * annual)


def test_standby_floor():
    out = household.base_load_w(0.0, np.array([3000.0]), np.zeros(1), np.zeros(1), np.array([False]), np.array([-0.9]), np.array([35.0]))
    assert out[0] == 35.0


def test_fridge_cycle_duty():
    t = np.arange(0, 24 * 3600, 10.0)
    period, duty, phase = np.array([1800.0]), np.array([0.3]), np.array([0.25])
    on = np.array([household.fridge_on(x, period, duty, phase)[0] for x in t])
    assert on.mean() == pytest.approx(0.3, abs=0.01)


def test_noise_is_stationary_and_decorrelates():
    rng = np.random.default_rng(1)
    x = np.zeros(20000)
    for _ in range(50):
        x = household.noise_step(x, 30.0, rng.standard_normal(len(x)))
    assert x.std() == pytest.approx(household.NOISE_SIGMA, rel=0.05)
    y = household.noise_step(x, 1e6, rng.standard_normal(len(x)))
    assert abs(np.corrcoef(x, y)[0, 1]) < 0.05


def test_base_keeps_what_the_appliances_leave_but_never_less_than_a_fifth():
    out = household.base_annual_kwh(np.array([3000.0, 1000.0]), np.array([800.0, 950.0]))
    assert list(out) == [2200.0, 200.0]
