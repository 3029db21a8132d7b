"""Simulated time: realtime follows the wall clock, accelerated runs from a start at a speed."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from leg_sim.clock import Clock, default_start, localize, max_realtime_step_s

TZ = "Europe/Zurich"


class FakeWall:
    def __init__(self, start):
        self.now = start

    def __call__(self):
        return self.now


def test_accelerated_advances_interval_times_speed():
    c = Clock(TZ, "accelerated", dt.datetime(2026, 6, 21, 6, 0), 60.0)
    t0, d0 = c.tick(1000)
    assert t0 == pd.Timestamp("2026-06-21 06:00", tz=TZ) and d0 == 0.0
    t1, d1 = c.tick(1000)
    assert d1 == 60.0 and t1 - t0 == pd.Timedelta(minutes=1)
    _t2, d2 = c.tick(250)
    assert d2 == 15.0


def test_speed_change_applies_from_next_tick():
    c = Clock(TZ, "accelerated", dt.datetime(2026, 6, 21, 6, 0), 1.0)
    c.tick(1000)
    c.set_speed(3600.0)
    t, d = c.tick(1000)
    assert d == 3600.0 and t.hour == 7


def test_realtime_follows_wall_clock_in_local_zone():
    wall = FakeWall(dt.datetime(2026, 1, 10, 12, 0, tzinfo=dt.timezone.utc))
    c = Clock(TZ, "realtime", now_fn=wall)
    t, d = c.tick(1000)
    assert t.hour == 13 and str(t.tz) == TZ and d == 0.0  # CET = UTC+1
    wall.now += dt.timedelta(seconds=2.5)
    t, d = c.tick(1000)
    assert d == 2.5


def test_realtime_never_runs_backwards():
    wall = FakeWall(dt.datetime(2026, 1, 10, 12, 0, tzinfo=dt.timezone.utc))
    c = Clock(TZ, "realtime", now_fn=wall)
    t0, _ = c.tick(1000)
    wall.now -= dt.timedelta(seconds=10)
    t1, d = c.tick(1000)
    assert t1 == t0 and d == 0.0


def test_switch_modes_and_resync():
    wall = FakeWall(dt.datetime(2026, 1, 10, 12, 0, tzinfo=dt.timezone.utc))
    c = Clock(TZ, "realtime", now_fn=wall)
    t0, _ = c.tick(1000)
    c.set_mode("accelerated")
    c.set_speed(60)
    t1, d = c.tick(1000)
    assert d == 60.0 and t1 - t0 == pd.Timedelta(minutes=1)  # continues from the current time
    c.set_mode("realtime")
    wall.now += dt.timedelta(hours=1)
    c.resync()
    _, d = c.tick(1000)
    assert d == 0.0  # a pause in realtime is not counted as simulated time


def test_defaults_and_localisation():
    s = default_start(TZ, dt.datetime(2026, 3, 5, 23, 30, tzinfo=dt.timezone.utc))
    assert s == pd.Timestamp("2026-03-06 06:00", tz=TZ)
    assert localize(dt.datetime(2026, 7, 1, 12), TZ).utcoffset() == dt.timedelta(hours=2)
    assert localize(dt.datetime(2026, 7, 1, 12, tzinfo=dt.timezone.utc), TZ).hour == 14


def test_invalid_mode_and_speed():
    with pytest.raises(ValueError, match="realtime"):
        Clock(TZ, "warp")
    with pytest.raises(ValueError):
        Clock(TZ, "accelerated", speed_factor=0)


def test_switching_to_realtime_is_a_jump_not_a_step(caplog):
    wall = FakeWall(dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.timezone.utc))
    c = Clock(TZ, "accelerated", dt.datetime(2026, 6, 21, 12, 0), 60.0, now_fn=wall)
    c.tick(1000)
    c.tick(1000)
    c.set_mode("realtime")
    t, d = c.tick(1000)
    assert t.month == 11 and d == 0.0 and c.jump_count == 1  # five months were not simulated
    assert "switch to realtime" in caplog.text
    wall.now += dt.timedelta(seconds=1)
    assert c.tick(1000)[1] == 1.0  # and from then on realtime steps count again


@pytest.mark.parametrize("gap", [dt.timedelta(days=30), dt.timedelta(minutes=5)])
def test_a_wall_clock_jump_forward_books_nothing(gap):
    wall = FakeWall(dt.datetime(2026, 1, 10, 12, 0, tzinfo=dt.timezone.utc))
    c = Clock(TZ, "realtime", now_fn=wall)
    c.tick(1000)
    wall.now += gap
    t, d = c.tick(1000)
    assert d == 0.0 and c.jump_count == 1 and t == pd.Timestamp(wall.now).tz_convert(TZ)


def test_slow_realtime_ticks_still_count_their_time():
    wall = FakeWall(dt.datetime(2026, 1, 10, 12, 0, tzinfo=dt.timezone.utc))
    c = Clock(TZ, "realtime", now_fn=wall)
    c.tick(1000)
    wall.now += dt.timedelta(seconds=max_realtime_step_s(1000))
    assert c.tick(1000)[1] == max_realtime_step_s(1000) and c.jump_count == 0


def test_a_wall_clock_that_steps_back_holds_time_logs_once_and_books_nothing(caplog):
    wall = [dt.datetime(2026, 6, 21, 10, 0, tzinfo=dt.timezone.utc)]
    clock = Clock("Europe/Zurich", mode="realtime", now_fn=lambda: wall[0])
    clock.tick(1000)
    wall[0] += dt.timedelta(seconds=1)
    first, _ = clock.tick(1000)
    steps = []
    with caplog.at_level("WARNING", logger="leg_sim.clock"):
        for n in range(5):  # an hour back, then the clock runs on
            wall[0] = dt.datetime(2026, 6, 21, 9, 0, 1 + n, tzinfo=dt.timezone.utc)
            now, dt_s = clock.tick(1000)
            steps.append(dt_s)
            assert now == first
    assert steps == [0.0] * 5
    assert sum("went back" in r.getMessage() for r in caplog.records) == 1
    wall[0] = dt.datetime(2026, 6, 21, 10, 0, 3, tzinfo=dt.timezone.utc)  # past the held time again
    _, dt_s = clock.tick(1000)
    assert dt_s == 2.0
