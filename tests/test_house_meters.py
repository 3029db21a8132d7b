"""Every house's own meter: import and export at its connection, never decreasing, consistent
with the community's accounts and the grid meter, kept for a house that leaves, and restored
after a restart."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_sim
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leg_sim.config import load_config
from leg_sim.engine import Simulation
from leg_sim.model import HouseMeters
from leg_sim.state_store import FILE_NAME


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    counts=st.lists(st.integers(1, 30), min_size=1, max_size=4),
    ticks=st.integers(1, 12),
    start_hour=st.integers(0, 23),
)
def test_house_meters_add_up_to_shared_plus_grid_and_never_decrease(counts, ticks, start_hour):
    """Summed over the houses, import = shared + grid import and export = shared + grid export,
    whatever the house count does; no house's reading ever goes down, also when it leaves and
    comes back."""
    sim = make_sim(houses=counts[0], clock={"start": f"2026-06-21T{start_hour:02d}:00:00", "speed_factor": 900.0})
    seen: dict[str, tuple[float, float]] = {}
    for count in counts:
        sim.house_count = count
        for _ in range(ticks):
            snap = sim.step()
            e = snap.energy_kwh
            readings = sim.community.meters.readings()
            total_in = sum(i for i, _ in readings.values())
            total_out = sum(o for _, o in readings.values())
            assert total_in == pytest.approx(e["shared_kwh"] + e["grid_import_kwh"], rel=1e-9, abs=1e-12)
            assert total_out == pytest.approx(e["shared_kwh"] + e["grid_export_kwh"], rel=1e-9, abs=1e-12)
            for house, (i, o) in readings.items():
                before = seen.get(house, (0.0, 0.0))
                assert i >= before[0] and o >= before[1], house
            seen = readings
            # The snapshot carries the readings of the houses it shows.
            assert list(snap.meter_import_kwh) == [readings[h][0] for h in snap.house_ids]
            assert list(snap.meter_export_kwh) == [readings[h][1] for h in snap.house_ids]


def test_a_house_meters_what_its_net_power_says():
    meters = HouseMeters()
    meters.record(("A", "B"), np.array([2000.0, -500.0]), 3600.0)
    assert meters.readings() == {"A": (0.0, 2.0), "B": (0.5, 0.0)}
    meters.record(("B",), np.array([1000.0]), 1800.0)  # A left: its readings are kept
    assert meters.readings() == {"A": (0.0, 2.0), "B": (0.5, 0.5)}
    meters.record(("B", "A"), np.array([0.0, -3600.0]), 1.0)  # A is back, in another place
    assert meters.readings() == {"A": (0.001, 2.0), "B": (0.5, 0.5)}


def test_house_meters_survive_a_restart(tmp_path):
    config = {"houses": 6, "seed": 7, "clock": {"mode": "accelerated", "start": "2026-06-21T11:00:00", "speed_factor": 600.0}}
    path = tmp_path / FILE_NAME
    first = Simulation(load_config(config), state_path=path)
    for _ in range(20):
        before = first.step()
    assert first.save_state()
    second = Simulation(load_config(config), state_path=path)
    assert second.community.meters.readings() == first.community.meters.readings()
    after = second.step()
    assert np.all(after.meter_import_kwh >= before.meter_import_kwh)
    assert np.all(after.meter_export_kwh >= before.meter_export_kwh)
    assert after.to_dict()["houses"][0]["meter_export_kwh"] == pytest.approx(float(after.meter_export_kwh[0]))
    assert before.meter_export_kwh.sum() > 0  # a sunny midday: the houses did export
