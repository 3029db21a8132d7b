"""Appliance cycles, their start process and the meaning of flex_load_probability."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leg_sim import catalogue
from leg_sim.profiles import appliances as appl
from leg_sim.profiles import rhythm, streams

MIN = 60.0
K = len(appl.CATALOGUE)
TZ = "Europe/Zurich"
SEED = 42
#: Monday 2026-03-02 00:00 local time.
MONDAY_S = pd.Timestamp("2026-03-02", tz=TZ).timestamp()


def by_name(name):
    return appl.CATALOGUE[appl.NAMES.index(name)]


def power_trace(name, step_s=30.0, ev_w=11000.0, length_s=None):
    k = appl.NAMES.index(name)
    length = length_s or by_name(name).cycle_s
    t = np.arange(0, length + 600, step_s)
    n = len(t)
    return t, appl.cycle_power_w(np.full(n, k, dtype=np.int8), t, np.full(n, length), np.full(n, ev_w))


def mixed_houses(n, seed=3):
    """Houses with random appliance mixes (some with none) and random wallbox ratings."""
    rng = np.random.default_rng(seed)
    owned = rng.uniform(size=(n, K)) < np.array([a.ownership for a in appl.CATALOGUE])
    owned[: n // 10] = False  # a tenth without any appliance
    rating_w = rng.choice(np.array(catalogue.EV_CHARGER_KW_CHOICES) * 1000.0, size=n)
    return owned, rating_w


def process(owned, p, rating_w, seed=SEED):
    proc = appl.FlexProcess(seed, TZ)
    proc.configure(owned, p, rating_w)
    return proc


def trace(proc, times):
    """Power and code of every house at each time, in the given order (houses × times)."""
    out = [proc.power_w(t) for t in times]
    return np.stack([p for p, _ in out], axis=1), np.stack([c for _, c in out], axis=1)


def local_day(t_s):
    return streams.local_day_of(t_s, TZ)


# -- cycle shapes --------------------------------------------------------------------------
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
    after = appl.cycle_power_w(np.arange(K - 1, dtype=np.int8), np.full(K - 1, 1e6), np.zeros(K - 1), np.zeros(K - 1))
    assert np.all(after == 0.0)


def test_every_appliance_names_a_rhythm_curve():
    assert {a.rhythm for a in appl.CATALOGUE} <= set(rhythm.KINDS)
    assert by_name("washing_machine").rhythm == by_name("tumble_dryer").rhythm == "laundry"
    assert by_name("ev_wallbox").rhythm == "ev_arrival"


# -- EV sessions ---------------------------------------------------------------------------
def test_ev_session_energy_is_lognormal_capped_and_length_follows_the_rating():
    u = (np.arange(20000) + 0.5) / 20000
    energy = appl.ev_session_kwh(u)
    assert np.median(energy) == pytest.approx(catalogue.EV_SESSION_KWH_MEDIAN, rel=1e-3)
    assert energy.max() == catalogue.EV_SESSION_KWH_MAX
    assert energy.mean() == pytest.approx(appl.mean_ev_session_kwh(), rel=2e-3)
    slow, fast = appl.ev_session_s(energy, 3700.0), appl.ev_session_s(energy, 11000.0)
    taper_s = catalogue.EV_TAPER_S * (1 - catalogue.EV_TAPER_SHARE)
    long = energy > 2.0  # past the taper-only sessions, the full-power part scales with 1/rating
    assert (slow[long] - taper_s) / (fast[long] - taper_s) == pytest.approx(np.full(long.sum(), 11000 / 3700))


@pytest.mark.parametrize("rating_w", [3700.0, 11000.0])
@pytest.mark.parametrize("energy_kwh", [0.2, 0.9, 9.0, 60.0])
def test_an_ev_session_delivers_its_energy(energy_kwh, rating_w):
    length = float(appl.ev_session_s(np.array(energy_kwh), np.array(rating_w)))
    t = np.arange(0.0, length + 60, 0.25) + 0.125
    p = appl.cycle_power_w(np.full(len(t), appl.EV_CODE, dtype=np.int8), t, np.full(len(t), length), np.full(len(t), rating_w))
    assert p.sum() * 0.25 / 3.6e6 == pytest.approx(energy_kwh, rel=1e-3)


def test_ev_survival_matches_sampled_session_lengths():
    lengths = appl.ev_session_s(appl.ev_session_kwh((np.arange(50000) + 0.5) / 50000), 7400.0)
    s = np.array([300.0, 1800.0, 3600.0, 2 * 3600.0, 5 * 3600.0])
    assert appl.ev_session_survival(s, 7400.0) == pytest.approx((lengths[:, None] > s).mean(axis=0), abs=1e-3)


def test_sessions_drawn_for_a_day_have_the_same_energy_whatever_the_charger():
    n = 64
    daily = np.zeros((n, K))
    daily[:, appl.EV_CODE] = 3.0
    day = local_day(MONDAY_S)
    slow = appl.draw_day(SEED, day, TZ, daily, np.full(n, 3700.0))
    fast = appl.draw_day(SEED, day, TZ, daily, np.full(n, 11000.0))
    assert len(slow.start_s) == len(fast.start_s) > 100
    key_s, key_f = np.lexsort((slow.start_s, slow.house)), np.lexsort((fast.start_s, fast.house))
    assert slow.start_s[key_s] == pytest.approx(fast.start_s[key_f])
    taper = catalogue.EV_TAPER_S * (1 - catalogue.EV_TAPER_SHARE)
    e_slow = 3700.0 * (slow.length_s[key_s] - taper) / 3.6e6
    e_fast = 11000.0 * (fast.length_s[key_f] - taper) / 3.6e6
    ok = e_slow > 1.0  # beyond the sessions that run all at the tapered power
    assert e_slow[ok] == pytest.approx(e_fast[ok])


# -- the start scale and the meaning of p --------------------------------------------------
def test_poisson_quantile_has_the_poisson_distribution():
    u = np.random.default_rng(0).uniform(size=200000)
    for lam in (0.0, 0.3, 4.0, 60.0):
        n = streams.poisson_quantile(u, np.full(len(u), lam))
        assert n.mean() == pytest.approx(lam, abs=0.01 + 0.01 * lam)
        assert n.var() == pytest.approx(lam, abs=0.01 + 0.02 * lam)


def test_start_scale_gives_p_and_is_zero_without_appliances_or_at_p_zero():
    owned, rating_w = mixed_houses(300)
    has_any = owned.any(axis=1)
    for p in (0.02, 0.1, 0.5):
        assert appl.busy_share(owned, p, rating_w)[has_any] == pytest.approx(np.full(has_any.sum(), p), rel=1e-6)
    assert np.all(appl.start_scale(owned, 0.1, rating_w)[~has_any] == 0.0)
    assert np.all(appl.start_scale(owned, 0.0, rating_w) == 0.0)
    assert np.all(appl.start_scale(owned, 0.2, rating_w)[has_any] > appl.start_scale(owned, 0.1, rating_w)[has_any])


def test_p_one_is_capped_honestly():
    owned, rating_w = mixed_houses(300)
    has_any = owned.any(axis=1)
    share = appl.busy_share(owned, 1.0, rating_w)[has_any]
    assert np.all((share > 0.5) & (share < 1.0))
    assert appl.busy_share(owned, 0.999, rating_w) == pytest.approx(appl.busy_share(owned, 1.0, rating_w))


def sampled_busy_share(owned, p, rating_w, days=28, samples=2500, seed=7):
    """Share of (house, instant) pairs with a cycle running, at random instants over `days`."""
    proc = process(owned, p, rating_w)
    times = np.sort(MONDAY_S + np.random.default_rng(seed).uniform(0.0, days * 86400.0, samples))
    power, _code = trace(proc, times)
    return (power[owned.any(axis=1)] > 0).mean()


@pytest.mark.parametrize("p", [0.05, 0.1, 0.3])
def test_busy_share_over_simulated_weeks_is_p(p):
    owned, rating_w = mixed_houses(400)
    # ~360 houses × 4 weeks: the standard error is about 2 % of p
    assert sampled_busy_share(owned, p, rating_w) == pytest.approx(p, rel=0.08)


def test_probability_zero_never_starts_and_houses_without_appliances_never_run():
    owned, rating_w = mixed_houses(100)
    power, code = trace(process(owned, 0.0, rating_w), MONDAY_S + np.arange(0, 7 * 86400, 1800.0))
    assert np.all(power == 0.0) and np.all(code == appl.IDLE)
    power, code = trace(process(np.zeros_like(owned), 0.9, rating_w), MONDAY_S + np.arange(0, 7 * 86400, 1800.0))
    assert np.all(power == 0.0) and np.all(code == appl.IDLE)
    power, _code = trace(process(owned, 0.9, rating_w), MONDAY_S + np.arange(0, 86400, 1800.0))
    assert np.all(power[~owned.any(axis=1)] == 0.0)


def test_probability_one_runs_and_returns():
    owned, rating_w = mixed_houses(100)
    proc = process(owned, 1.0, rating_w)
    times = MONDAY_S + np.arange(0, 2 * 86400, 600.0)
    power, _code = trace(proc, times)
    busy = (power[owned.any(axis=1)] > 0).mean()
    assert 0.5 < busy < 1.0


def test_changing_p_live_keeps_the_process_consistent():
    owned, rating_w = mixed_houses(80)
    proc = process(owned, 0.1, rating_w)
    t = MONDAY_S + 12 * 3600.0
    before = proc.power_w(t)
    proc.configure(owned, 0.1, rating_w)  # nothing changed
    assert np.array_equal(proc.power_w(t)[0], before[0])
    proc.configure(owned, 0.4, rating_w)
    assert np.array_equal(proc.power_w(t)[0], process(owned, 0.4, rating_w).power_w(t)[0])


# -- keyed randomness ----------------------------------------------------------------------
def test_same_seed_and_date_give_the_same_trace_whatever_the_tick():
    owned, rating_w = mixed_houses(150)
    start = MONDAY_S + 17 * 3600.0  # evening: many cycles, runs over midnight
    span_s = 8 * 3600.0
    common = start + np.arange(0.0, span_s, 420.0)  # multiples of 1, 7 and 60 s
    traces = []
    for step_s in (1.0, 7.0, 60.0):
        proc = process(owned, 0.3, rating_w)
        times = start + np.arange(0.0, span_s, step_s)
        out = {}
        for t in times:
            out[t] = proc.power_w(t)
        traces.append(np.stack([out[t][0] for t in common]))
    assert traces[0].sum() > 0
    assert np.array_equal(traces[0], traces[1]) and np.array_equal(traces[0], traces[2])


def test_jumping_access_gives_the_forward_answer():
    owned, rating_w = mixed_houses(150)
    times = MONDAY_S + np.sort(np.random.default_rng(1).uniform(0.0, 4 * 86400.0, 300))
    forward_w, forward_code = trace(process(owned, 0.2, rating_w), times)
    shuffled = np.random.default_rng(2).permutation(len(times))
    jumping = process(owned, 0.2, rating_w)
    for i in shuffled:
        power, code = jumping.power_w(times[i])
        assert np.array_equal(power, forward_w[:, i]) and np.array_equal(code, forward_code[:, i])
    # a jump of months and back
    far = times[10] + 150 * 86400.0
    jumping.power_w(far)
    assert np.array_equal(jumping.power_w(times[10])[0], forward_w[:, 10])
    assert np.array_equal(jumping.power_w(far)[0], process(owned, 0.2, rating_w).power_w(far)[0])


def test_power_is_the_sum_of_the_cycles_drawn_for_the_days():
    owned, rating_w = mixed_houses(130)
    proc = process(owned, 0.3, rating_w)
    daily = appl.start_scale(owned, 0.3, rating_w)[:, None] * owned * np.array([a.start_weight for a in appl.CATALOGUE])
    for t in MONDAY_S + np.array([3.0, 7.5, 19.2, 23.9, 30.0]) * 3600.0:
        day = local_day(t)
        cycles = appl.Cycles.concat([appl.draw_day(SEED, d, TZ, daily, rating_w) for d in range(day - 2, day + 1)])
        running = (cycles.start_s <= t) & (t < cycles.end_s)
        power = appl.cycle_power_w(cycles.code[running], t - cycles.start_s[running], cycles.length_s[running], cycles.rating_w[running])
        expected = np.bincount(cycles.house[running], weights=power, minlength=len(owned))
        assert proc.power_w(t)[0] == pytest.approx(expected)


def test_different_dates_differ_and_seeds_differ():
    owned, rating_w = mixed_houses(100)
    times = MONDAY_S + np.arange(0, 86400, 600.0)
    one, _ = trace(process(owned, 0.2, rating_w), times)
    week_later, _ = trace(process(owned, 0.2, rating_w), times + 7 * 86400.0)
    other_seed, _ = trace(process(owned, 0.2, rating_w, seed=SEED + 1), times)
    assert not np.array_equal(one, week_later)
    assert not np.array_equal(one, other_seed)


def test_a_house_does_not_change_when_houses_are_added_after_it():
    owned, rating_w = mixed_houses(200)
    times = MONDAY_S + np.arange(0, 2 * 86400, 900.0)
    small, small_code = trace(process(owned[:100], 0.2, rating_w[:100]), times)
    big, big_code = trace(process(owned, 0.2, rating_w), times)
    assert np.array_equal(small, big[:100]) and np.array_equal(small_code, big_code[:100])


def test_a_dst_day_has_its_starts_inside_its_23_hours():
    day = streams.day_number(dt.date(2026, 3, 29))  # spring forward in Zurich
    start_s, end_s = streams.local_day_bounds_s(day, TZ)
    assert end_s - start_s == 23 * 3600.0
    daily = np.full((64, K), 2.0)
    cycles = appl.draw_day(SEED, day, TZ, daily, np.full(64, 7400.0))
    assert len(cycles.start_s) > 300
    assert np.all((cycles.start_s >= start_s) & (cycles.start_s < end_s))
    local_hour = pd.to_datetime(cycles.start_s, unit="s", utc=True).tz_convert(TZ).hour
    assert not np.any(local_hour == 2)  # 02:00-03:00 does not exist that day


# -- time of day ---------------------------------------------------------------------------
def start_hours(kind_code, weekend, days=40, houses=64 * 4):
    """Local start hours of appliance `kind_code` over `days` working days (or weekend days)."""
    daily = np.zeros((houses, K))
    daily[:, kind_code] = 1.0
    first = dt.date(2026, 1, 5)  # a Monday
    dates = [first + dt.timedelta(days=i) for i in range(days * 7 // 2) if rhythm.is_weekend(first + dt.timedelta(days=i)) == weekend][:days]
    hours = []
    for date in dates:
        cycles = appl.draw_day(SEED, streams.day_number(date), TZ, daily, np.full(houses, 7400.0))
        hours.append(pd.to_datetime(cycles.start_s, unit="s", utc=True).tz_convert(TZ).hour.to_numpy())
    return np.concatenate(hours)


@pytest.mark.parametrize("name", ["washing_machine", "dishwasher", "oven", "ev_wallbox"])
@pytest.mark.parametrize("weekend", [False, True])
def test_start_hours_follow_the_rhythm_curve(name, weekend):
    k = appl.NAMES.index(name)
    hours = start_hours(k, weekend)
    assert len(hours) == pytest.approx(40 * 64 * 4, rel=0.05)  # w = 1 start per day at c = 1
    got = np.bincount(hours, minlength=24) / len(hours)
    curve = rhythm.start_intensity(appl.CATALOGUE[k].rhythm, weekend).reshape(24, 4).sum(axis=1)
    assert got == pytest.approx(curve / curve.sum(), abs=0.01)


def test_nobody_washes_at_night_and_cooking_peaks_at_noon_and_evening():
    laundry = start_hours(appl.NAMES.index("washing_machine"), weekend=False)
    assert (laundry < 6).mean() < 0.05
    cooking = np.bincount(start_hours(appl.NAMES.index("oven"), weekend=False), minlength=24)
    assert 17 <= np.argmax(cooking) <= 19
    assert cooking[11:14].max() > cooking[14:16].max() and cooking[11:14].max() > cooking[9:11].max()


# -- energy --------------------------------------------------------------------------------
def test_expected_annual_energy_by_hand():
    owned = np.zeros((1, K), dtype=bool)
    owned[0, 1] = True
    wm = appl.CATALOGUE[1]
    c = appl.start_scale(owned, 0.1, np.array([11000.0]))[0]
    by_hand = c * wm.start_weight * 365.25 * wm.energy_kwh
    assert appl.expected_annual_kwh(owned, 0.1, np.array([11000.0]))[0, 1] == pytest.approx(by_hand)
    assert appl.expected_annual_kwh(np.zeros_like(owned), 0.5, np.array([11000.0])).sum() == 0.0
    ev = appl.mean_cycle_energy_kwh(np.array([3700.0, 11000.0]))[:, appl.EV_CODE]
    assert ev[0] == ev[1] == pytest.approx(appl.mean_ev_session_kwh())


def test_expected_annual_energy_matches_a_simulated_year():
    owned, rating_w = mixed_houses(256)
    p = 0.15
    daily = appl.start_scale(owned, p, rating_w)[:, None] * owned * np.array([a.start_weight for a in appl.CATALOGUE])
    energy_kwh = np.zeros(K)
    first = streams.day_number(dt.date(2025, 1, 1))
    for day in range(first, first + 365):
        cycles = appl.draw_day(SEED, day, TZ, daily, rating_w)
        per_cycle = np.array([a.energy_kwh for a in appl.CATALOGUE])[cycles.code]
        ev = cycles.code == appl.EV_CODE
        taper = catalogue.EV_TAPER_S * (1 - catalogue.EV_TAPER_SHARE)
        # sessions long enough to reach full power; shorter ones run all tapered
        full = cycles.length_s[ev] >= catalogue.EV_TAPER_S
        per_cycle[ev] = np.where(
            full,
            cycles.rating_w[ev] * (cycles.length_s[ev] - taper),
            cycles.rating_w[ev] * catalogue.EV_TAPER_SHARE * cycles.length_s[ev],
        ) / 3.6e6
        energy_kwh += np.bincount(cycles.code, weights=per_cycle, minlength=K)
    expected = appl.expected_annual_kwh(owned, p, rating_w).sum(axis=0) * 365 / 365.25
    assert energy_kwh == pytest.approx(expected, rel=0.04)
    assert energy_kwh.sum() == pytest.approx(expected.sum(), rel=0.02)


def test_integrated_power_matches_the_expected_energy():
    owned, rating_w = mixed_houses(300)
    p, step_s, days = 0.15, 300.0, 21
    proc = process(owned, p, rating_w)
    energy_kwh = 0.0
    for t in MONDAY_S + np.arange(0.0, days * 86400.0, step_s) + step_s / 2:
        energy_kwh += proc.power_w(t)[0].sum() * step_s / 3.6e6
    expected = appl.expected_annual_kwh(owned, p, rating_w).sum() * days / 365.25
    assert energy_kwh == pytest.approx(expected, rel=0.06)


# -- invariants ----------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(
    t_s=st.floats(min_value=1.6e9, max_value=1.9e9),
    p=st.floats(min_value=0.0, max_value=1.0),
    houses=st.integers(min_value=0, max_value=70),
    seed=st.integers(min_value=0, max_value=2**31),
)
def test_power_is_never_negative_and_idle_means_zero(t_s, p, houses, seed):
    owned, rating_w = mixed_houses(houses, seed=seed % 1000)
    power, code = process(owned, p, rating_w, seed=seed).power_w(t_s)
    assert power.shape == code.shape == (houses,) and code.dtype == np.int8
    assert np.all(power >= 0.0)
    assert np.array_equal(code == appl.IDLE, power == 0.0)
    running = code != appl.IDLE
    assert np.all(owned[np.flatnonzero(running), code[running]])
