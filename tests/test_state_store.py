"""What survives a restart: the state file, its restore, and a damaged or foreign file.

Engine-level tests build two Simulations on one state file, as a server restart
does; one test restarts a real server process and reads its counters over HTTP.
"""

from __future__ import annotations

import logging
import sqlite3
import time

import pytest
from server_support import Server, get_json

from leg_sim.config import load_config
from leg_sim.engine import Simulation
from leg_sim.state_store import FILE_NAME, StateStore, config_identity

CONFIG = {"houses": 5, "seed": 7, "clock": {"mode": "accelerated", "start": "2026-06-21T11:00:00", "speed_factor": 600.0}}


def simulation(path, **overrides) -> Simulation:
    return Simulation(load_config({**CONFIG, **overrides}), state_path=path)


def run(sim: Simulation, ticks: int):
    snap = None
    for _ in range(ticks):
        snap = sim.step()
    return snap


def test_a_restart_continues_the_tick_the_time_the_counters_and_the_history(tmp_path):
    path = tmp_path / FILE_NAME
    first = simulation(path)
    before = run(first, 30)
    assert first.save_state()
    second = simulation(path)
    assert second.restored_tick == 30 and second.tick == 30
    assert len(second.history) == len(first.history) == 30
    after = second.step()
    assert after.tick == 31
    # The restart's gap books nothing: the first tick after it has a step of 0 and starts at the saved time.
    assert after.dt_s == 0.0 and after.timestamp == before.timestamp
    assert after.energy_kwh == pytest.approx(dict(before.energy_kwh))
    assert second.history.today("Europe/Zurich").production_kwh == pytest.approx(first.history.today("Europe/Zurich").production_kwh)
    later = second.step()
    assert later.dt_s > 0  # time runs on from there
    assert later.energy_kwh["production_kwh"] > before.energy_kwh["production_kwh"]


def test_nothing_is_saved_or_read_without_a_path(tmp_path):
    sim = Simulation(load_config(CONFIG))
    run(sim, 3)
    assert not sim.save_state() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.write_bytes(b"this is not a database" * 100),
        lambda p: p.write_bytes(p.read_bytes()[:200]),
        lambda p: sqlite3.connect(p).execute("DELETE FROM state WHERE name = 'meta'").connection.commit(),
        lambda p: sqlite3.connect(p).execute("UPDATE state SET value = x'7b7d' WHERE name = 'meta'").connection.commit(),
        lambda p: sqlite3.connect(p).execute("UPDATE state SET value = x'00' WHERE name = 'history.rows'").connection.commit(),
    ],
    ids=["not sqlite", "truncated", "no meta", "empty meta", "bad array"],
)
def test_a_damaged_file_is_reported_set_aside_and_the_simulation_starts_fresh(tmp_path, caplog, damage):
    path = tmp_path / FILE_NAME
    first = simulation(path)
    run(first, 5)
    first.save_state()
    damage(path)
    with caplog.at_level(logging.WARNING, logger="leg_sim.state"):
        fresh = simulation(path)
    assert fresh.restored_tick == 0 and fresh.step().tick == 1
    warnings = [r.getMessage() for r in caplog.records if r.name == "leg_sim.state"]
    assert len(warnings) == 1 and "starting fresh" in warnings[0] and "\n" not in warnings[0]
    assert not path.exists() and len(list(tmp_path.glob(f"{FILE_NAME}.damaged-*"))) == 1
    assert fresh.save_state() and path.exists()  # and the next save makes a new file


def test_a_file_of_another_configuration_is_set_aside(tmp_path, caplog):
    path = tmp_path / FILE_NAME
    first = simulation(path)
    run(first, 5)
    first.save_state()
    with caplog.at_level(logging.WARNING, logger="leg_sim.state"):
        other = simulation(path, seed=8)
    assert other.restored_tick == 0
    assert any("another configuration" in r.getMessage() for r in caplog.records)
    assert config_identity(load_config(CONFIG)) != config_identity(load_config({**CONFIG, "houses": 6}))


def test_a_state_file_that_cannot_be_written_is_one_warning(tmp_path, caplog):
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("x")
    sim = Simulation(load_config(CONFIG), state_path=blocked / FILE_NAME)
    run(sim, 2)
    with caplog.at_level(logging.WARNING, logger="leg_sim.state"):
        assert not sim.save_state()
    assert len(caplog.records) == 1 and "could not save" in caplog.records[0].getMessage()
    assert StateStore(blocked / FILE_NAME).load(config_identity(load_config(CONFIG))) is None


def test_a_restarted_server_shows_the_counters_it_had(tmp_path):
    config = {"houses": 5, "update_interval_ms": 200, "clock": {"mode": "accelerated", "start": "2026-06-21T11:00:00", "speed_factor": 600}}
    env = {"LEG_STATE_DIR": str(tmp_path / "state")}
    with Server(tmp_path, config, env=env) as srv:
        time.sleep(3.0)
        _, before = get_json(srv.base + "/api/state")
    # A clean stop saved the state; a new server process on the same directory continues from it.
    with Server(tmp_path, config, env=env) as srv:
        _, after = get_json(srv.base + "/api/state")
    # A fresh server would be at tick 1 or 2 here.
    assert after["tick"] > before["tick"] > 5
    assert after["energy_kwh"]["production_kwh"] >= before["energy_kwh"]["production_kwh"] > 0
