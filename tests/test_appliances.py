"""Appliance cycles and the meaning of flex_load_probability."""

from __future__ import annotations

import numpy as np
import pytest

from leg_sim.profiles import appliances as appl

MIN = 60.0


def by_name(name):
    return appl.CATALOGUE[appl.NAMES.index(name)]


def power_trace(name, step_s=30.0, ev_w=11000.0, length_s=None):
    k = appl.NAMES.index(name)
    length = length_s or by_name(name).cycle_s
    t = np.arange(0, length + 600, step_s)
    n = len(t)
    return t, appl.cycle_power_w(np.full(n, k, dtype=np.int8), t, np.full(n, length), np.full(n, ev_w))


def test_dishwasher_has_two_heating_phases_and_lasts_about_two_hours():
    dw = by_name("dishwasher")
    assert 100 * MIN <= dw.cycle_s <= 140 * MIN
    _t, p = power_trace("dishwasher")
    heating = p >= 1500
    starts = np.flatnonzero(np.diff(heating.astype(int)) == 1)
    assert len(starts) == 2
    assert 1600 <= p.max() <= 2000
    assert 0.8 <= dw.energy_kwh <= 1.4


def test_washing_machine_heats_then_motor():
    t, p = power_trace("washing_machine")
    assert p.max() == pytest.approx(2000.0)
    after_heat = p[(t > 30 * MIN) & (t < 60 * MIN)]
    assert np.all((after_heat > 100) & (after_heat < 300))


def test_ev_wallbox_runs_at_rating_then_tapers_and_stops():
    t, p = power_trace("ev_wallbox", ev_w=7400.0, length_s=3 * 3600)
    assert p[t < 2 * 3600].min() == 7400.0
    assert p[(t > 3 * 3600 - 5 * MIN) & (t < 3 * 3600)].max() == 3700.0
    assert np.all(p[t >= 3 * 3600] == 0.0)


def test_cycle_is_zero_outside_and_for_idle_houses():
    p = appl.cycle_power_w(np.array([appl.IDLE, 0], dtype=np.int8), np.array([10.0, -5.0]), np.array([100.0, 7200.0]), np.zeros(2))
    assert list(p) == [0.0, 120.0]  # idle -> 0; before start the dishwasher index clamps to its first phase


def test_mean_idle_gives_the_busy_fraction():
    owned = np.array([[True, True, False, False, False], [False, False, False, False, False]])
    cyc = appl.mean_cycle_s(owned)
    assert np.isnan(cyc[1])
    idle = appl.mean_idle_s(cyc, 0.2)
    assert cyc[0] / (cyc[0] + idle[0]) == pytest.approx(0.2)
    assert np.isinf(appl.mean_idle_s(cyc, 0.0)[0])


def measured_busy_fraction(p, interval_s, n_ticks, n_houses=600, seed=3):
    rng = np.random.default_rng(seed)
    owned = rng.uniform(size=(n_houses, len(appl.CATALOGUE))) < 0.6
    owned[:, 1] = True  # everyone has a washing machine
    proc = appl.FlexProcess(np.random.default_rng(seed + 1))
    t0 = 1.7e9
    proc.configure(owned, p, t0)
    busy = 0
    for i in range(n_ticks):
        codes = proc.advance(t0 + i * interval_s)
        busy += int((codes != appl.IDLE).sum())
        # an appliance runs its whole cycle: power is never zero for a running heating phase start
    return busy / (n_ticks * n_houses)


@pytest.mark.parametrize(
    ("p", "interval_s"),
    [
        (0.1, 1.0),  # 1 s ticks at realtime
        (0.1, 60.0),  # 1 s ticks at speed 60
        (0.1, 900.0),  # 10 s ticks at speed 90
        (0.3, 20.0),
        (0.05, 3600.0),
    ],
)
def test_flex_probability_means_share_of_time_whatever_the_tick(p, interval_s):
    # Sample 600 houses over many independent cycle lengths; the standard error is ~1 %.
    span_s = 60 * 24 * 3600.0 if interval_s >= 60 else 2 * 24 * 3600.0
    n_ticks = int(min(span_s / interval_s, 4000))
    got = measured_busy_fraction(p, interval_s, n_ticks)
    assert got == pytest.approx(p, rel=0.15)


def test_loads_never_flicker_a_cycle_runs_to_its_end():
    owned = np.ones((200, len(appl.CATALOGUE)), dtype=bool)
    proc = appl.FlexProcess(np.random.default_rng(5))
    proc.configure(owned, 0.3, 0.0)
    prev = proc.advance(0.0).copy()
    prev_start, prev_len = proc.start_s.copy(), proc.length_s.copy()
    changes = 0
    for i in range(1, 1200):
        t = i * 10.0
        codes = proc.advance(t).copy()
        stopped = (prev != appl.IDLE) & ((codes != prev) | (proc.start_s != prev_start))
        # a running cycle only stops once its full length has passed
        assert np.all(prev_start[stopped] + prev_len[stopped] <= t)
        continuing = (prev != appl.IDLE) & ~stopped
        assert np.all(codes[continuing] == prev[continuing])
        changes += int(stopped.sum())
        prev, prev_start, prev_len = codes, proc.start_s.copy(), proc.length_s.copy()
    assert changes > 10  # cycles did end and restart in this span


def test_probability_zero_never_starts_and_one_always_runs():
    owned = np.ones((50, len(appl.CATALOGUE)), dtype=bool)
    proc = appl.FlexProcess(np.random.default_rng(1))
    proc.configure(owned, 0.0, 0.0)
    assert all((proc.advance(t * 60.0) == appl.IDLE).all() for t in range(100))
    proc.configure(owned, 1.0, 6000.0)
    proc2 = appl.FlexProcess(np.random.default_rng(2))
    proc2.configure(owned, 1.0, 0.0)
    assert all((proc2.advance(t * 60.0) != appl.IDLE).all() for t in range(100))


def test_houses_without_appliances_never_run_anything():
    owned = np.zeros((30, len(appl.CATALOGUE)), dtype=bool)
    proc = appl.FlexProcess(np.random.default_rng(1))
    proc.configure(owned, 0.9, 0.0)
    assert all((proc.advance(t * 600.0) == appl.IDLE).all() for t in range(50))


def test_expected_annual_energy_matches_the_simulated_process():
    rng = np.random.default_rng(11)
    n = 400
    owned = rng.uniform(size=(n, len(appl.CATALOGUE))) < 0.6
    owned[:, 1] = True
    rating_w = rng.choice([3700.0, 7400.0, 11000.0], size=n)
    p, step_s, days = 0.15, 600.0, 120
    proc = appl.FlexProcess(np.random.default_rng(12))
    t0 = 1.7e9
    proc.configure(owned, p, t0)
    energy_kwh = np.zeros((n, len(appl.CATALOGUE)))
    for i in range(1, int(days * 86400 / step_s)):
        t = t0 + i * step_s
        codes = proc.advance(t)
        power = proc.power_w(t, rating_w)
        running = codes != appl.IDLE
        energy_kwh[np.flatnonzero(running), codes[running]] += power[running] * step_s / 3.6e6
    expected = appl.expected_annual_kwh(owned, p, rating_w) * days / 365.0
    per_appliance = energy_kwh.sum(axis=0) / expected.sum(axis=0)
    assert per_appliance == pytest.approx(np.ones(len(appl.CATALOGUE)), rel=0.1)
    assert energy_kwh.sum() / expected.sum() == pytest.approx(1.0, rel=0.05)


def test_expected_annual_energy_by_hand():
    # Only a washing machine, p = 0.1: busy 876 h a year, all of it in 100-min cycles of E kWh.
    owned = np.zeros((1, len(appl.CATALOGUE)), dtype=bool)
    owned[0, 1] = True
    wm = appl.CATALOGUE[1]
    by_hand = 0.1 * 8760 * wm.energy_kwh / (wm.cycle_s / 3600)
    assert appl.expected_annual_kwh(owned, 0.1, np.array([11000.0]))[0, 1] == pytest.approx(by_hand)
    assert appl.expected_annual_kwh(np.zeros_like(owned), 0.5, np.array([11000.0])).sum() == 0.0
    ev = appl.mean_cycle_energy_kwh(np.array([7400.0]))[0, appl.EV_CODE]
    assert ev == pytest.approx(7.4 * (3.0 - 10 / 60 / 2))  # 3 h mean session, last 10 min at half power
