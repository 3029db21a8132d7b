"""Household base load: H25 shape, scaling, fridge cycles, small-appliance spikes and time-keyed noise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal

from leg_sim.profiles import household, rhythm, streams

TZ = "Europe/Zurich"


def shape_at(t_s: np.ndarray) -> np.ndarray:
    """H25 per kWh/a at many instants of 2026 (what h25_w_per_kwh gives, vectorised). [W/(kWh/a)]"""
    centres, values = household.h25_year_w_per_mwh(2026, TZ)
    return np.interp(t_s, centres, values) / 1000.0


def local_s(text: str) -> float:
    """Seconds since the epoch of a local time in TZ. [s]"""
    return pd.Timestamp(text, tz=TZ).timestamp()


def run(detail: household.BaseLoadDetail, times_s, fridge_period_s=None) -> np.ndarray:
    """Base load at each time, with fixed fridge and standby, one row per time. [W]"""
    n = detail._n
    power, duty, standby = np.full(n, 90.0), np.full(n, 0.35), np.full(n, 40.0)
    period = np.full(n, 2400.0) if fridge_period_s is None else fridge_period_s
    phase = np.mod(np.arange(n) * 0.137, 1.0)  # per house, not per count
    shapes = shape_at(np.asarray(times_s, dtype=float))
    return np.array([
        detail.base_load_w(t, s, power, duty, household.fridge_on(t, period, duty, phase), standby)
        for t, s in zip(times_s, shapes, strict=True)
    ])


def detail_for(n: int, size: float = 3.0, annual_kwh: float = 3000.0, seed: int = 7) -> household.BaseLoadDetail:
    """A configured BaseLoadDetail of `n` alike houses."""
    d = household.BaseLoadDetail(seed, TZ)
    d.configure(n, np.full(n, size), np.full(n, annual_kwh))
    return d


@pytest.fixture(scope="module")
def one_house_day() -> tuple[np.ndarray, np.ndarray]:
    """Times and base load of three 3-person, 3000 kWh/a houses over one winter working day at 1 s."""
    t = local_s("2026-01-14") + np.arange(86400.0)
    return t, run(detail_for(3), t)


# --- H25 shape and pure arithmetic --------------------------------------------------------


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


def test_base_load_swaps_the_expected_spikes_for_the_real_ones():
    zeros = np.zeros(2)
    off = np.array([False, False])
    # 0.1 W/(kWh/a) x 3000 kWh/a = 300 W smooth; 50 W of it are expected spikes.
    idle = household.base_load_w(0.1, np.full(2, 3000.0), zeros, zeros, off, np.array([0.0, 0.1]), zeros, expected_spike_w=50.0)
    assert_allclose(idle, [250.0, 275.0])
    kettle = household.base_load_w(0.1, np.full(2, 3000.0), zeros, zeros, off, zeros, zeros, expected_spike_w=50.0, spike_w=2000.0)
    assert_allclose(kettle, [2250.0, 2250.0])
    # The kettle on 2.5 % of the time brings the mean back to the smooth value.
    assert 0.975 * idle[0] + 0.025 * kettle[0] == pytest.approx(300.0)


def test_standby_floor():
    out = household.base_load_w(0.0, np.array([3000.0]), np.zeros(1), np.zeros(1), np.array([False]), np.array([-0.9]), np.array([35.0]))
    assert out[0] == 35.0


@settings(max_examples=100, deadline=None)
@given(
    shape=st.floats(0.0, 1.0),
    annual=hnp.arrays(float, 4, elements=st.floats(0.0, 20000.0)),
    fridge=hnp.arrays(float, 4, elements=st.floats(0.0, 300.0)),
    duty=hnp.arrays(float, 4, elements=st.floats(0.0, 1.0)),
    running=hnp.arrays(bool, 4),
    noise=hnp.arrays(float, 4, elements=st.floats(-5.0, 5.0)),
    standby=hnp.arrays(float, 4, elements=st.floats(0.0, 1000.0)),
    expected=hnp.arrays(float, 4, elements=st.floats(0.0, 5000.0)),
    spikes=hnp.arrays(float, 4, elements=st.floats(0.0, 5000.0)),
)
def test_base_load_is_finite_and_never_below_standby(shape, annual, fridge, duty, running, noise, standby, expected, spikes):
    out = household.base_load_w(shape, annual, fridge, duty, running, noise, standby, expected_spike_w=expected, spike_w=spikes)
    assert np.all(np.isfinite(out))
    assert np.all(out >= standby)
    assert np.all(out >= spikes + np.where(running, fridge, 0.0))


def test_fridge_cycle_duty():
    t = np.arange(0, 24 * 3600, 10.0)
    period, duty, phase = np.array([1800.0]), np.array([0.3]), np.array([0.25])
    on = np.array([household.fridge_on(x, period, duty, phase)[0] for x in t])
    assert on.mean() == pytest.approx(0.3, abs=0.01)


def test_appliances_get_what_the_base_floor_leaves_by_hand():
    annual = np.array([3000.0, 1000.0, 2000.0])
    appliances = np.array([800.0, 950.0, 0.0])
    standby, fridge = np.array([30.0, 20.0, 30.0]), np.array([20.0, 20.0, 20.0])
    scale, base = household.appliance_room(annual, appliances, standby, fridge)
    # floors: 2 × 50 W × 8.76 = 876 kWh and 2 × 40 W × 8.76 = 700.8 kWh
    assert scale[0] == 1.0 and base[0] == 2200.0
    assert scale[1] == pytest.approx((1000.0 - 700.8) / 950.0) and base[1] == pytest.approx(700.8)
    assert scale[2] == 1.0 and base[2] == 2000.0


# --- building blocks of the spikes and the noise -------------------------------------------


def test_noise_between_knots_hits_the_knots_and_keeps_its_spread():
    z = np.random.default_rng(1).standard_normal((2, 200_000))
    assert_allclose(household.noise_between_knots(z[0], z[1], 0.0), household.NOISE_SIGMA * z[0])
    assert_allclose(household.noise_between_knots(z[0], z[1], 1.0), household.NOISE_SIGMA * z[1])
    for w in (0.25, 0.5):
        x = household.noise_between_knots(z[0], z[1], w)
        assert x.std() == pytest.approx(household.NOISE_SIGMA, rel=0.01)
        assert abs(x.mean()) < 0.001


def test_capped_poisson_counts_have_the_poisson_mean_and_variance():
    u = np.random.default_rng(2).random(200_000)
    for mean in (0.0, 0.7, 4.0):
        k = streams.poisson_quantile(u, np.full(u.shape, mean), household.MAX_STARTS_PER_DAY)
        assert k.max() <= household.MAX_STARTS_PER_DAY
        assert k.mean() == pytest.approx(mean, abs=0.02)
        assert k.var() == pytest.approx(mean, abs=0.05)


def test_start_times_follow_the_intensity():
    intensity = np.zeros(96)
    intensity[[28, 72]] = [1.0, 3.0]  # 07:00-07:15 and 18:00-18:15, three times as many at 18:00
    t = rhythm.start_times_s(np.random.default_rng(3).random(40_000), intensity)
    morning = (t >= 28 * 900) & (t < 29 * 900)
    evening = (t >= 72 * 900) & (t < 73 * 900)
    assert np.all(morning | evening)
    assert evening.mean() == pytest.approx(0.75, abs=0.01)


def test_hob_heats_up_then_cycles():
    age = np.array([-1.0, 0.0, 179.0, 180.0, 200.0, 239.0, 240.0, 1199.0, 1200.0])
    p = household.spike_power_w(age, np.full(9, 1200.0), np.full(9, 1500.0), True, 60.0, 0.5, 0.0)
    # On for 180 s, then 30 s on / 30 s off, off at the end of its 1200 s.
    assert_allclose(p, [0.0, 1500.0, 1500.0, 1500.0, 1500.0, 0.0, 1500.0, 0.0, 0.0])
    kettle = household.spike_power_w(np.array([0.0, 179.0, 180.0]), np.full(3, 180.0), np.full(3, 2400.0), False)
    assert_allclose(kettle, [2400.0, 2400.0, 0.0])


@pytest.mark.parametrize("appliance", household.SMALL_APPLIANCES, ids=lambda a: a.name)
def test_expected_profile_holds_the_energy_of_one_use(appliance):
    # One start a day, flat over the day: the profile integrates to the mean on-time of one use.
    profile = household.expected_spike_profile(np.ones(96), appliance)
    mean_duration_s = 0.5 * (appliance.duration_min_s + appliance.duration_max_s)
    if appliance.cycling:
        mean_duty = 0.5 * sum(household.HOB_DUTY_RANGE)
        mean_on_s = household.HOB_HEAT_S + (mean_duration_s - household.HOB_HEAT_S) * mean_duty
    else:
        mean_on_s = mean_duration_s
    assert profile.sum() * household.EXPECTED_BIN_S == pytest.approx(mean_on_s, rel=1e-3)
    # Away from midnight a flat intensity gives a flat expected power: mean on-time / day.
    assert_allclose(profile[4000:5000], mean_on_s / 86400.0, rtol=1e-6)


def test_bigger_households_start_more_appliances():
    rates = household.starts_per_day(np.array([1.0, 2.4, 5.0]))
    assert_allclose(rates[1], [a.starts_per_day for a in household.SMALL_APPLIANCES])
    assert np.all(rates[0] < rates[1]) and np.all(rates[1] < rates[2])


# --- BaseLoadDetail: keyed to simulated time ------------------------------------------------


def test_same_time_gives_the_same_load_whatever_the_order_and_step():
    start = local_s("2026-03-09 23:50")  # across midnight and many minute knots
    times = start + np.arange(0.0, 1800.0, 7.3)
    forward = run(detail_for(70), times)
    backward = run(detail_for(70), times[::-1])[::-1]
    assert_array_equal(forward, backward)
    # Far jumps to other days between any two instants.
    d = detail_for(70)
    jumpy = []
    for i, t in enumerate(times):
        run(d, [local_s("2026-08-01 12:00") + i, local_s("2025-11-30 03:00") - i])
        jumpy.append(run(d, [t])[0])
    assert_array_equal(np.array(jumpy), forward)


@settings(max_examples=25, deadline=None)
@given(visits=st.lists(st.floats(local_s("2026-01-01"), local_s("2026-12-31")), min_size=1, max_size=6))
def test_the_load_at_an_instant_does_not_depend_on_what_was_asked_before(visits):
    shared = detail_for(8, seed=21)
    for t in visits:
        run(shared, [t])
    target = visits[0] + 37.5
    assert_array_equal(run(shared, [target]), run(detail_for(8, seed=21), [target]))
    assert np.all(run(shared, [target]) >= 40.0)  # the standby floor of `run`


def test_fine_and_coarse_steps_agree_at_shared_instants():
    start = local_s("2026-05-20 06:55")
    fine_times = start + np.arange(0.0, 1200.0, 1.0)
    fine = run(detail_for(5), fine_times)
    coarse = run(detail_for(5), fine_times[::37])
    assert_array_equal(fine[::37], coarse)


def test_different_days_differ():
    d = detail_for(64)
    clock = ["2026-02-10 18:20", "2026-02-11 18:20", "2026-02-12 18:20"]
    days = [run(d, local_s(c) + np.arange(0.0, 3600.0, 30.0)) for c in clock]
    assert not np.allclose(days[0], days[1])
    assert not np.allclose(days[1], days[2])
    # Not a shift of houses either: the day's spikes land on other houses.
    assert not np.allclose(days[0].sum(axis=0), days[1].sum(axis=0))


def test_a_house_does_not_depend_on_the_houses_after_it():
    times = local_s("2026-06-06 07:00") + np.arange(0.0, 3 * 3600.0, 13.0)
    small = household.BaseLoadDetail(11, TZ)
    small.configure(10, np.arange(10) % 4 + 1.0, np.linspace(1500.0, 6000.0, 10))
    big = household.BaseLoadDetail(11, TZ)
    sizes = np.concatenate([np.arange(10) % 4 + 1.0, np.full(140, 5.0)])
    big.configure(150, sizes, np.concatenate([np.linspace(1500.0, 6000.0, 10), np.full(140, 9000.0)]))
    period = np.linspace(1500.0, 3000.0, 150)
    assert_array_equal(run(small, times, period[:10]), run(big, times, period)[:, :10])


def test_dst_days_have_their_length_and_keep_running():
    # 23-hour and 25-hour days: the load is defined all through and its spikes still come.
    for day in ("2026-03-29", "2026-10-25"):
        start, end = pd.Timestamp(day, tz=TZ), pd.Timestamp(day, tz=TZ) + pd.Timedelta(days=1)
        times = np.arange(start.timestamp(), end.timestamp(), 20.0)
        load = run(detail_for(64), times)
        assert np.all(np.isfinite(load)) and load.max() > 1500.0


# --- what a day looks like --------------------------------------------------------------


def test_a_day_has_kw_spikes_on_a_100_to_400_w_base(one_house_day):
    t, load = one_house_day
    hour = (t - t[0]) / 3600.0
    night, day = load[hour < 6], load[hour >= 6]
    # UK-DALE and ECO: a base of 100-300 W most of the time, short kW spikes on top.
    assert np.all((np.median(night, axis=0) > 100.0) & (np.median(night, axis=0) < 400.0))
    assert np.all((np.median(day, axis=0) > 100.0) & (np.median(day, axis=0) < 400.0))
    assert np.all(load.max(axis=0) / np.median(load, axis=0) > 4.0)  # the old smooth band stayed below ~1.7
    # Separate rises above 1.5 kW (a kettle, hob or microwave use): several a day.
    rises = (np.diff((load > 1500.0).astype(int), axis=0) == 1).sum(axis=0)
    assert np.all(rises >= 3)


def test_second_to_second_variation_is_above_the_old_13_percent(one_house_day):
    t, load = one_house_day
    smooth = shape_at(t)[:, None] * 3000.0
    # The old OU noise plus fridge deviated by about 13 % of the mean from the smooth curve.
    assert np.all((load - smooth).std(axis=0) / load.mean(axis=0) > 0.3)


def test_spike_rates_shrink_where_the_smooth_share_is_too_small():
    d = household.BaseLoadDetail(3, TZ)
    d.configure(3, np.array([5.0, 5.0, 2.0]), np.array([300.0, 1200.0, 4000.0]))
    assert d.rate_scale[0] < d.rate_scale[1] <= 1.0
    assert d.rate_scale[2] == 1.0
    # Over a year's sample of instants, expected spikes stay within the cap of the smooth share.
    times = local_s("2026-01-01") + np.arange(0.0, 365 * 86400.0, 86400.0 * 7 + 613.0)
    for t in times:
        expected = d.expected_spike_w(t)
        assert np.all(expected <= household.MAX_SPIKE_SHARE * shape_at(np.array([t]))[0] * d._base_annual_kwh * 1.0001)


@pytest.mark.slow
def test_h25_mean_is_kept_per_quarter_hour_over_many_days():
    n, days = 128, 40
    d = household.BaseLoadDetail(5, TZ)
    sizes = np.arange(n) % 5 + 1.0
    annual = np.linspace(1500.0, 5500.0, n)
    d.configure(n, sizes, annual)
    fridge_w, duty, standby = np.full(n, 90.0), np.full(n, 0.35), np.full(n, 40.0)
    period, phase = np.linspace(1500.0, 3600.0, n), np.linspace(0.0, 1.0, n)
    load_sum = np.zeros(96)
    smooth_sum = np.zeros(96)
    for day in range(days):
        day_start = local_s("2026-01-05") + day * 86400.0  # no DST change in Jan-Feb
        times = day_start + np.arange(0.0, 86400.0, 60.0) + 17.0 * (day % 3)
        shapes = shape_at(times)
        for i, (t, s) in enumerate(zip(times, shapes, strict=True)):
            b = d.base_load_w(t, s, fridge_w, duty, household.fridge_on(t, period, duty, phase), standby)
            load_sum[i // 15] += b.sum()
            smooth_sum[i // 15] += s * annual.sum()
    ratio = load_sum / smooth_sum
    assert ratio.mean() == pytest.approx(1.0, abs=0.01)
    assert_allclose(ratio, 1.0, atol=0.03)  # seeds 5, 6, 9: at most 1.4 % off
