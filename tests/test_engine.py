"""The Simulation: snapshots, determinism, live changes, faults, slow ticks, history."""

from __future__ import annotations

import dataclasses
import json
import threading
import time

import numpy as np
import pytest
from conftest import make_sim
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from leg_sim import Simulation
from leg_sim.profiles import appliances as appl
from leg_sim.profiles import weather


def comparable(snap):
    d = snap.to_dict()
    return json.dumps(d, sort_keys=True)


def test_snapshot_has_the_spec_fields_and_is_json(sim):
    d = sim.step().to_dict()
    doc = json.loads(json.dumps(d))
    assert set(doc["houses"][0]) >= {"house_id", "pv_power_w", "base_load_w", "flex_load_w", "net_power_w", "flex_appliance"}
    assert set(doc["houses"][0]) >= {"export_local_w", "export_grid_w", "import_local_w", "import_grid_w"}
    assert set(doc["community"]) >= {"total_production_w", "total_consumption_w", "net_community_power_w"}
    assert set(doc["grid"]) == {"grid_import_w", "grid_export_w"}
    assert set(doc["kpis"]) >= {"self_sufficiency", "self_consumption", "locally_shared_w"}
    assert set(doc["energy_kwh"]) == {"production_kwh", "consumption_kwh", "grid_import_kwh", "grid_export_kwh", "shared_kwh"}
    assert doc["timestamp"].startswith("2026-06-21T12:00:00") and doc["tick"] == 1


def test_ticks_rise_and_snapshots_are_immutable(sim):
    a, b = sim.step(), sim.step()
    assert (a.tick, b.tick) == (1, 2) and sim.snapshot is b
    with pytest.raises(ValueError):
        b.pv_power_w[0] = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        b.tick = 5
    assert a.pv_power_w is not b.pv_power_w


def test_same_seed_and_config_give_the_same_snapshots():
    a, b = make_sim(houses=12), make_sim(houses=12)
    for _ in range(30):
        assert comparable(a.step()) == comparable(b.step())
    c = make_sim(houses=12, seed=8)
    assert comparable(c.step()) != comparable(make_sim(houses=12).step())


def test_default_houses_differ_and_some_have_no_pv():
    s = make_sim(houses=200)
    snap = s.step()
    table = s.community.table()
    assert 0.1 < (table.pv_peak_kwp == 0).mean() < 0.35
    assert len(np.unique(table.azimuth_deg)) > 50 and len(np.unique(table.annual_consumption_kwh)) > 30
    assert (table.owned[:, appl.EV_CODE]).any() and not table.owned.all()
    assert np.all(snap.pv_power_w[table.pv_peak_kwp == 0] == 0)


def test_house_count_changes_live_and_existing_houses_keep_their_settings(sim):
    first = sim.step()
    roofs = sim.community.table().azimuth_deg.copy()
    sim.house_count = 12
    grown = sim.step()
    assert grown.house_count == 12 and grown.house_ids[:5] == first.house_ids
    assert_allclose(sim.community.table().azimuth_deg[:5], roofs)
    sim.house_count = 3
    shrunk = sim.step()
    assert shrunk.house_ids == first.house_ids[:3]
    with pytest.raises(ValueError):
        sim.house_count = 0  # out of bounds is rejected, the simulation keeps its value
    assert sim.house_count == 3


def test_listed_houses_keep_their_settings_and_extra_houses_are_drawn():
    s = Simulation.from_config(
        {"houses": [{"house_id": "Mill", "pv_peak_kwp": 0, "appliances": []}, {"house_id": "Bakery"}]}, seed=1
    )
    snap = s.step()
    assert snap.house_ids == ("Mill", "Bakery")
    assert snap.pv_power_w[0] == 0 and snap.flex_load_w[0] == 0
    s.house_count = 4
    assert s.step().house_ids == ("Mill", "Bakery", "H003", "H004")


def test_night_has_no_pv_and_day_has_some():
    night = make_sim(clock={"start": "2026-06-21T01:00:00"}).step()
    assert not night.is_day and np.all(night.pv_power_w == 0) and night.total_production_w == 0
    day = make_sim(houses=20).step()
    assert day.is_day and day.total_production_w > 0


def test_pv_variation_disabled_is_clear_sky_and_enabled_dips():
    clear = make_sim(houses=20, pv_variation="disabled", clock={"speed_factor": 1.0}, seed=13)
    cloudy = make_sim(houses=20, pv_variation="enabled", clock={"speed_factor": 1.0}, seed=13)
    c = [clear.step().total_production_w for _ in range(300)]
    v = [cloudy.step().total_production_w for _ in range(300)]
    assert np.std(np.diff(c)) < 5.0  # smooth: the sun barely moves in 1 s
    # Cloud edges may brighten a roof above clear sky (cloud enhancement), never beyond the cap.
    assert max(v) <= max(c) * weather.ENHANCEMENT_CAP
    assert np.std(np.diff(v)) > 5 * np.std(np.diff(c))


def test_energy_counters_integrate_power_over_simulated_time():
    s = make_sim(houses=8)
    snaps = [s.step() for _ in range(20)]
    expected = sum(x.total_production_w * x.dt_s for x in snaps) / 3.6e6
    assert snaps[-1].energy_kwh["production_kwh"] == pytest.approx(expected)
    assert snaps[-1].energy_kwh["shared_kwh"] <= snaps[-1].energy_kwh["consumption_kwh"]


def test_flex_probability_matches_through_the_engine():
    # Starts follow a daily and weekly rhythm: p is a share over whole weeks (7 and 14 days here).
    for interval_ms, speed in ((1000, 1008.0), (5000, 403.2)):
        s = make_sim(houses=400, flex_load_probability=0.2, update_interval_ms=interval_ms, clock={"speed_factor": speed})
        s.step()
        # p is exact for every house whose annual consumption has room for its appliances at p.
        owned = s.community.table().owned.any(axis=1) & (s.chain.appliance_scale == 1.0)
        assert owned.sum() > 100
        busy = [np.mean(s.step().flex_code[owned] >= 0) for _ in range(600)]
        assert np.mean(busy) == pytest.approx(0.2, rel=0.2)


def test_history_is_bounded_and_filters_by_time():
    s = make_sim(houses=3)
    s.history.__init__(50)  # a small ring for the test
    for _ in range(80):
        s.step()
    cols = s.history.columns()
    assert len(cols["tick"]) == 50 and cols["tick"][0] == 31 and cols["tick"][-1] == 80
    last5min = s.history.columns(seconds=300)
    assert len(last5min["tick"]) == 6  # speed 60, 1 s ticks: one row per simulated minute
    assert list(s.history.tail_after(77)["tick"]) == [78, 79, 80]
    assert list(s.history.tail_after(70, limit=2)["tick"]) == [79, 80]
    frame = s.history_frame()
    assert len(frame) == 50 and "total_production_w" in frame


def test_history_covers_at_least_an_hour_at_the_fastest_interval():
    s = make_sim()
    assert s.history.capacity >= 3600 * 1000 / 100


def wait_for(predicate, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_loop_ticks_without_any_viewer_and_stops(sim):
    sim.update_interval_ms = 100
    sim.start()
    assert wait_for(lambda: sim.tick >= 5)
    sim.stop()
    t = sim.tick
    time.sleep(0.3)
    assert sim.tick == t and not sim.running


def test_a_tick_that_raises_is_counted_and_the_loop_goes_on(sim, caplog):
    sim.update_interval_ms = 100
    real = sim._compute
    calls = {"n": 0}

    def flaky():
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("injected fault")
        return real()

    sim._compute = flaky
    sim.start()
    assert wait_for(lambda: sim.tick >= 6)
    sim.stop()
    assert sim.error_count == 1 and "injected fault" in sim.last_error
    assert "tick" in caplog.text and "injected fault" in caplog.text


def test_a_slow_tick_never_piles_up(sim):
    sim.update_interval_ms = 100
    real = sim._compute
    slow = threading.Event()
    slow.set()

    def maybe_slow():
        if slow.is_set():
            time.sleep(0.35)
        return real()

    sim._compute = maybe_slow
    sim.start()
    time.sleep(1.2)
    slow.clear()
    slow_ticks = sim.tick
    assert slow_ticks <= 5  # 1.2 s / 0.35 s per tick, not 12 queued ticks
    assert sim.overrun_count >= 2
    time.sleep(0.1)
    before = sim.tick
    time.sleep(0.5)
    after = sim.tick
    sim.stop()
    assert after - before <= 7  # back to ~10 per second: no burst to catch up the missed ones


def test_interval_pause_and_resume_apply_live(sim):
    sim.update_interval_ms = 1000
    sim.start()
    assert wait_for(lambda: sim.tick >= 1)
    sim.update_interval_ms = 100  # wakes the loop: no waiting out the old 1 s interval
    assert wait_for(lambda: sim.tick >= 6, timeout_s=3)
    sim.paused = True
    time.sleep(0.25)
    t = sim.tick
    time.sleep(0.4)
    assert sim.tick == t
    sim.paused = False
    assert wait_for(lambda: sim.tick >= t + 3, timeout_s=3)
    sim.stop()


def test_clock_mode_and_speed_change_live(sim):
    a = sim.step()
    sim.speed_factor = 3600.0
    b = sim.step()
    assert (b.timestamp - a.timestamp).total_seconds() == 3600.0
    sim.clock_mode = "realtime"
    c = sim.step()
    assert abs(c.timestamp.timestamp() - time.time()) < 5


def test_listeners_get_every_snapshot_and_a_failing_listener_is_isolated(sim):
    got = []
    sim.subscribe(got.append)
    sim.subscribe(lambda s: 1 / 0)
    sim.step()
    sim.step()
    assert [s.tick for s in got] == [1, 2] and sim.listener_count == 2
    sim.unsubscribe(got.append)
    sim.step()
    assert len(got) == 2


def check_invariants(snap):
    p, c = snap.pv_power_w, snap.consumption_w
    assert abs((p.sum() - c.sum()) - (snap.grid_export_w - snap.grid_import_w)) <= 1e-6
    assert snap.grid_import_w == 0.0 or snap.grid_export_w == 0.0
    arrays = (p, snap.base_load_w, snap.flex_load_w, c, snap.export_local_w, snap.export_grid_w, snap.import_local_w, snap.import_grid_w)
    for arr in arrays:
        assert not np.isnan(arr).any() and np.all(arr >= 0)
    assert_allclose(snap.base_load_w + snap.flex_load_w, c)
    net = snap.net_power_w
    assert_allclose(snap.export_local_w + snap.export_grid_w, np.maximum(net, 0), atol=1e-6)
    assert_allclose(snap.import_local_w + snap.import_grid_w, np.maximum(-net, 0), atol=1e-6)
    exporters, importers, m = snap.pairwise_flows_w()
    assert m.shape == (len(exporters), len(importers)) and np.all(m >= 0)
    assert_allclose(m.sum(axis=1), snap.export_local_w[net > 0], atol=1e-6)
    assert_allclose(m.sum(axis=0), snap.import_local_w[net < 0], atol=1e-6)
    for x in (snap.total_production_w, snap.grid_import_w, snap.grid_export_w, snap.shared_w):
        assert x >= 0 and np.isfinite(x)
    for k in (snap.self_sufficiency, snap.self_consumption):
        assert k is None or 0.0 <= k <= 1.0 + 1e-12


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    houses=st.integers(1, 60),
    seed=st.integers(0, 2**32 - 1),
    p=st.floats(0.0, 0.6),
    variation=st.sampled_from(["enabled", "disabled"]),
    speed=st.sampled_from([1.0, 60.0, 900.0, 7200.0]),
    interval=st.integers(100, 10_000),
    month=st.integers(1, 12),
    hour=st.integers(0, 23),
)
def test_every_tick_conserves_energy_for_random_configs(houses, seed, p, variation, speed, interval, month, hour):
    s = Simulation.from_config(
        {
            "houses": houses,
            "seed": seed,
            "flex_load_probability": p,
            "pv_variation": variation,
            "update_interval_ms": interval,
            "clock": {"mode": "accelerated", "start": f"2026-{month:02d}-14T{hour:02d}:00:00", "speed_factor": speed},
        }
    )
    for _ in range(8):
        check_invariants(s.step())


def test_no_snapshot_is_lost_while_another_thread_updates_parameters():
    # param batches the watcher calls of one object; a param.update from another thread
    # in the middle of a tick must neither swallow the tick's notification nor run it there.
    sim = make_sim(houses=2)
    seen = []
    sim.subscribe(lambda snap: seen.append((snap.tick, threading.current_thread().name)))
    stop = threading.Event()

    def engine():
        while not stop.is_set():
            sim.step()

    t = threading.Thread(target=engine, name="engine")
    t.start()
    deadline = time.monotonic() + 2.0
    n = 0
    while time.monotonic() < deadline:
        sim.param.update(pv_variation="disabled" if n % 2 else "enabled", flex_load_probability=0.1 + (n % 2) * 0.01)
        n += 1
    stop.set()
    t.join(10)
    assert n > 100 and sim.tick > 20
    assert [tick for tick, _ in seen] == list(range(1, sim.tick + 1))
    assert {name for _, name in seen} == {"engine"}


def test_the_same_tick_error_is_logged_once_a_minute_with_a_count(caplog):
    from leg_sim.engine import TickErrorLog

    errors = TickErrorLog(every_s=60.0)
    with caplog.at_level("ERROR", logger="leg_sim.engine"):
        for n in range(300):  # five minutes of a failing 1 s tick
            try:
                raise RuntimeError("weather file vanished")
            except RuntimeError:
                errors.failed(n + 1, "RuntimeError: weather file vanished", float(n))
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 5  # the first with its traceback, then one a minute
    assert caplog.records[0].exc_info is not None
    assert all("failed again (60 times" in line for line in lines[1:])
    with caplog.at_level("ERROR", logger="leg_sim.engine"):
        try:
            raise ValueError("another")
        except ValueError:
            errors.failed(301, "ValueError: another", 300.5)
    assert "tick 301 failed" in caplog.records[-1].getMessage()


def test_a_follower_shows_anothers_ticks_takes_its_parameters_and_starts_over_with_it():
    """Simulation.follow (a worker): the engine's snapshot becomes this simulation's tick, with its
    history row and its live parameters; the same tick again (the paused engine's heartbeat) adds
    nothing; a lower tick (the engine started over) restarts the history."""
    engine, follower = make_sim(houses=4), make_sim(houses=4)
    seen = []
    follower.subscribe(seen.append)
    engine.house_count = 6
    snaps = [engine.step() for _ in range(3)]
    for snap in snaps:
        follower.follow(snap, engine.live_values())
    assert follower.tick == 3 and follower.snapshot is snaps[-1] and len(follower.history) == 3 and seen == snaps
    assert follower.house_count == 6 and follower.running and follower.health()[1]["status"] == "ok"
    follower.follow(snaps[-1], {**engine.live_values(), "paused": True})
    assert len(follower.history) == 3 and len(seen) == 3 and follower.paused
    fresh = make_sim(houses=4).step()
    follower.follow(fresh, {"paused": False})
    assert follower.tick == 1 and len(follower.history) == 1
    # A value this side's declarations refuse is not taken; the snapshot still is.
    follower.follow(engine.step(), {"house_count": 10**9})
    assert follower.house_count == 6 and follower.tick == 4
