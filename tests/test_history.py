"""The history's minute ring: energy kept exactly, bounded size, local days (DST included)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import make_sim
from hypothesis import given, settings
from hypothesis import strategies as st

from leg_sim.history import COLUMNS, MINUTE_COLUMNS, MINUTE_S, History, day_energy_kwh, local_midnight_s, minute_buckets

ZURICH = "Europe/Zurich"
START_S = pd.Timestamp("2026-06-21 10:00", tz=ZURICH).timestamp()

power = st.floats(min_value=0.0, max_value=50_000.0, allow_nan=False)
step = st.one_of(st.just(0.0), st.floats(min_value=0.1, max_value=900.0))
ticks = st.lists(st.tuples(step, st.floats(min_value=0.0, max_value=900.0), power, power, power), min_size=1, max_size=60)


def row(time_s: float, powers: dict[str, float]) -> dict[str, float]:
    base = dict.fromkeys(COLUMNS, 0.0)
    return {**base, **powers, "time_s": time_s}


def fill(history: History, steps) -> list[tuple[float, float, dict[str, float]]]:
    """Append (dt_s, extra jump [s], production, consumption, import) ticks; return what was booked."""
    time_s, booked = START_S, []
    for k, (dt_s, jump_s, prod, cons, imp) in enumerate(steps):
        time_s += jump_s + dt_s  # a jump moves time without booking it
        powers = {"total_production_w": prod, "total_consumption_w": cons, "grid_import_w": imp, "grid_export_w": 0.0, "shared_w": 0.0}
        history.append({**row(time_s, powers), "tick": float(k + 1)}, dt_s=dt_s)
        booked.append((time_s, dt_s, powers))
    return booked


@settings(max_examples=150, deadline=None)
@given(ticks)
def test_minute_means_times_covered_seconds_equal_the_integral_of_the_ticks(steps):
    h = History(100)
    booked = fill(h, steps)
    minutes = h.minutes()
    for name in MINUTE_COLUMNS:
        integral_ws = sum(p[name] * dt for _, dt, p in booked)
        kept_ws = float(np.sum(minutes[name] * minutes["covered_s"]))
        assert kept_ws == pytest.approx(integral_ws, rel=1e-6, abs=1e-6)
    assert np.all(minutes["covered_s"] <= MINUTE_S + 1e-9)
    assert np.all(np.diff(minutes["minute_s"]) >= MINUTE_S)  # oldest first, one row per minute
    assert len(h) == min(len(steps), 100)


@settings(max_examples=100, deadline=None)
@given(st.floats(min_value=1e9, max_value=2e9), st.floats(min_value=0.0, max_value=5e5), st.integers(min_value=10, max_value=2000))
def test_a_step_is_split_over_minutes_and_only_the_kept_minutes_count(time_s, dt_s, capacity):
    minutes, overlap_s = minute_buckets(time_s, dt_s, capacity)
    assert overlap_s.sum() == pytest.approx(min(dt_s, capacity * MINUTE_S), rel=1e-9, abs=1e-6)
    assert len(minutes) <= capacity + 1 and np.all(np.diff(minutes) == 1)
    assert np.all((overlap_s > 0) & (overlap_s <= MINUTE_S + 1e-6))


def test_the_minute_ring_stays_bounded_and_forgets_minutes_before_a_long_jump():
    h = History(10, minute_capacity=90)
    powers = {"total_production_w": 1000.0}
    for k in range(500):  # 500 minutes of 1 kW
        h.append(row(START_S + 60.0 * (k + 1), powers), dt_s=60.0)
    assert len(h) == 10 and h._energy_ws.shape == (90, len(MINUTE_COLUMNS))
    minutes = h.minutes()
    assert len(minutes["minute_s"]) == 90
    assert minutes["total_production_w"] == pytest.approx(np.full(90, 1000.0))
    h.append(row(START_S + 60.0 * 500 + 86_400.0, powers), dt_s=0.0)  # a jump of a day books nothing
    h.append(row(START_S + 60.0 * 500 + 86_430.0, powers), dt_s=30.0)
    after = h.minutes()
    assert len(after["minute_s"]) == 1 and after["covered_s"][0] == pytest.approx(30.0)


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=pd.Timestamp("2020-01-01").to_pydatetime(), max_value=pd.Timestamp("2030-12-31").to_pydatetime()))
def test_local_midnight_starts_the_local_day_in_zurich(when):
    time_s = pd.Timestamp(when, tz="UTC").timestamp()
    midnight_s = local_midnight_s(time_s, ZURICH)
    local = pd.Timestamp(midnight_s, unit="s", tz="UTC").tz_convert(ZURICH)
    assert (local.hour, local.minute, local.second) == (0, 0, 0)
    assert local.date() == pd.Timestamp(time_s, unit="s", tz="UTC").tz_convert(ZURICH).date()
    assert midnight_s % MINUTE_S == 0  # local midnight is a whole minute: days are sums of whole minutes


@pytest.mark.parametrize(("day", "hours"), [("2026-03-29", 23), ("2026-10-25", 25), ("2026-06-21", 24)])
def test_today_covers_the_local_day_on_dst_days(day, hours):
    """Constant 3 kW in 10-minute steps from the evening before to the end of `day`."""
    h = History(10)
    start_s = pd.Timestamp(day, tz=ZURICH).timestamp() - 2 * 3600.0 - 7 * 60.0  # steps straddle midnight
    end_s = (pd.Timestamp(day) + pd.Timedelta(days=1)).tz_localize(ZURICH).timestamp()  # the next local midnight
    time_s, powers = start_s, {"total_production_w": 3000.0, "total_consumption_w": 1000.0, "grid_export_w": 2000.0}
    while time_s + 600.0 < end_s:
        time_s += 600.0
        h.append(row(time_s, powers), dt_s=600.0)
    today = h.today(ZURICH)
    assert today is not None and str(today.day_start.date()) == day
    so_far_h = (time_s - today.day_start.timestamp()) / 3600.0
    assert hours - 1 < so_far_h < hours  # the day is 23, 24 or 25 hours long
    assert today.production_kwh == pytest.approx(3.0 * so_far_h, rel=1e-9)
    assert today.grid_export_kwh == pytest.approx(2.0 * so_far_h, rel=1e-9)
    assert today.self_sufficiency == pytest.approx(1.0)


def test_day_energy_counts_only_minutes_from_the_day_start():
    minutes = {"minute_s": np.array([0.0, 60.0, 120.0]), "covered_s": np.array([60.0, 30.0, 60.0])}
    minutes |= {name: np.array([3600.0, 7200.0, 3600.0]) for name in MINUTE_COLUMNS}
    energy = day_energy_kwh(minutes, 60.0)
    assert energy["production_kwh"] == pytest.approx((7200.0 * 30 + 3600.0 * 60) / 3.6e6)
    assert math.isclose(energy["shared_kwh"], energy["grid_import_kwh"])


def test_empty_history_has_no_day_and_no_minutes():
    h = History(5)
    assert h.today(ZURICH) is None
    assert len(h.minutes()["minute_s"]) == 0
    assert len(h.tail_after(0, steps=True)["dt_s"]) == 0


@settings(max_examples=60, deadline=None)
@given(count=st.integers(1, 20_000), max_rows=st.integers(1, 3000))
def test_history_downsampling_keeps_the_cap_the_newest_row_and_the_mean(count, max_rows):
    from leg_sim.server.routes import downsample

    tick = np.arange(1, count + 1, dtype=float)
    cols = {"tick": tick, "time_s": tick * 0.1, "grid_import_w": np.sin(tick) * 1000.0}
    out, k = downsample(cols, max_rows)
    assert len(out["tick"]) <= max_rows
    assert out["tick"][-1] == count  # the newest tick is always there
    if count <= max_rows:
        assert k == 1 and out is cols
    else:
        assert k == math.ceil(count / max_rows) and len(out["tick"]) == count // k
        # each row is the mean of the k ticks that end at its tick
        last = int(out["tick"][-1])
        assert out["grid_import_w"][-1] == pytest.approx(np.mean(np.sin(np.arange(last - k + 1, last + 1)) * 1000.0))


def test_history_body_says_when_it_was_downsampled():
    import json

    from leg_sim.server.routes import history_body

    sim = make_sim()
    for _ in range(50):
        sim.step()
    full = json.loads(history_body(sim, 3600.0))
    assert full["downsampled"] is None and full["count"] == 50
    cut = json.loads(history_body(sim, 3600.0, max_rows=20))
    assert cut["count"] <= 20 and cut["downsampled"]["rows_in_window"] == 50 and cut["downsampled"]["ticks_per_row"] == 3
    assert cut["tick"][-1] == full["tick"][-1]
