"""The model without the engine: houses, topology, the chain of one instant, and the energy it books."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import make_sim
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from leg_sim import flows as fl
from leg_sim.config import load_config
from leg_sim.model import BUS, GRID, Community, CommunityChain, Grid, community_topology
from leg_sim.snapshot import Snapshot

NOON = pd.Timestamp("2026-06-21 12:00", tz="Europe/Zurich")


def community(houses=6, seed=5, **overrides):
    settings = load_config({"houses": houses, "seed": seed, **overrides})
    c = Community(overrides=settings.house_overrides, seed=seed)
    c.set_house_count(settings.house_count)
    return c


def test_a_tick_is_reachable_from_the_model_alone():
    c, g = community(), Grid()
    chain = CommunityChain(c, g)
    instant = chain.run(NOON, 60.0, pv_variation=False, flex_load_probability=0.2)
    f = instant.flows
    assert instant.house_ids == c.table().house_ids
    assert_allclose(f.net_power_w, instant.pv_power_w - instant.base_load_w - instant.flex_load_w)
    assert f.total_production_w - f.total_consumption_w == pytest.approx(f.grid_export_w - f.grid_import_w)
    assert instant.pv_power_w.sum() > 0 and instant.sun_elevation_deg > 60


def test_energy_is_booked_over_the_simulated_step_only():
    c, g = community(), Grid()
    chain = CommunityChain(c, g)
    first = chain.run(NOON, 0.0, pv_variation=False)
    assert dict(first.energy_kwh) == dict.fromkeys(first.energy_kwh, 0.0)  # no step, no energy
    second = chain.run(NOON + pd.Timedelta(seconds=900), 900.0, pv_variation=False)
    f = second.flows
    assert c.production_kwh == pytest.approx(fl.energy_kwh(f.total_production_w, 900.0))
    assert g.export_kwh == pytest.approx(fl.energy_kwh(f.grid_export_w, 900.0))
    assert g.import_kwh == pytest.approx(fl.energy_kwh(f.grid_import_w, 900.0))
    assert second.energy_kwh["grid_export_kwh"] == g.export_kwh


def test_grid_meter_is_read_only_from_outside():
    g = Grid()
    with pytest.raises(AttributeError):
        g.import_kwh = 5.0


def test_topology_is_houses_to_bus_to_grid_in_the_snapshot_edge_order():
    ids = ("A", "B", "C")
    graph = community_topology(ids)
    assert list(graph.edges) == [("A", BUS), ("B", BUS), ("C", BUS), (BUS, GRID)]
    assert graph.nodes[BUS]["kind"] == "bus" and graph.nodes["A"]["kind"] == "house"
    c = community(houses=3)
    chain = CommunityChain(c, Grid())
    snap = Snapshot.from_instant(1, chain.run(NOON, 1.0))
    assert len(snap.edge_power_w()) == c.topology().number_of_edges()
    assert snap.edge_power_w()[-1] == snap.grid_export_w - snap.grid_import_w


def test_house_state_lives_in_the_houses():
    c = community(houses=4)
    table = c.table()
    for i, house in enumerate(c.houses):
        assert table.fridge_power_w[i] == house.fridge_power_w and table.standby_w[i] == house.standby_w
    c.houses[2].standby_w = 99.0
    assert c.table().standby_w[2] == 99.0  # the table follows a changed house


def test_listed_house_settings_win_over_drawn_ones():
    c = community(houses=[{"house_id": "Mill", "tilt_deg": 12.5, "appliances": ["oven"]}, {}])
    assert c.houses[0].house_id == "Mill" and c.houses[0].tilt_deg == 12.5 and c.houses[0].appliances == ["oven"]
    assert c.houses[1].house_id == "H002"
    assert np.all(c.table().owned[0] == [n == "oven" for n in ("dishwasher", "washing_machine", "tumble_dryer", "oven", "ev_wallbox")])


def test_a_house_year_is_its_annual_consumption_without_counting_white_goods_twice():
    # Sample the chain at random instants over a year, a few hours apart, so the appliance
    # process runs on between them; mean consumption x 8760 h is the yearly total.
    c = community(houses=150, seed=9)
    table = c.table()
    chain = CommunityChain(c, Grid())
    rng = np.random.default_rng(4)
    start = pd.Timestamp("2026-01-01", tz="Europe/Zurich")
    offsets_s = np.sort(rng.uniform(0, 365 * 86400, 2500))
    consumption_w = np.zeros(len(table))
    from leg_sim.catalogue import EV_CODE
    ev = table.owned[:, EV_CODE]
    for offset in offsets_s:
        instant = chain.run(start + pd.Timedelta(seconds=float(offset)), 0.0, pv_variation=False, flex_load_probability=0.1)
        ev_w = np.where(instant.flex_code == EV_CODE, instant.flex_load_w, 0.0)
        consumption_w += instant.base_load_w + instant.flex_load_w - ev_w  # the EV is stated separately
    yearly_kwh = consumption_w / len(offsets_s) * 8760 / 1000
    ratio = yearly_kwh / table.annual_consumption_kwh
    assert yearly_kwh.sum() / table.annual_consumption_kwh.sum() == pytest.approx(1.0, abs=0.05)
    assert np.median(ratio) == pytest.approx(1.0, abs=0.05)
    assert ev.any()


def powers(instant):
    return np.concatenate([instant.pv_power_w, instant.base_load_w, instant.flex_load_w])


@pytest.mark.parametrize("step_s", [1.0, 7.0, 60.0])
def test_the_same_seed_and_instant_give_the_same_powers_whatever_the_path(step_s):
    # Sun, clouds, appliances and load detail all key their randomness to the simulated time.
    target = pd.Timestamp("2026-06-24 11:00", tz="Europe/Zurich")  # a broken-cloud day for seed 1
    walked = CommunityChain(community(houses=12, seed=1), Grid())
    t = target - pd.Timedelta(minutes=30)
    while t < target:
        walked.run(t, step_s, flex_load_probability=0.3)
        t += pd.Timedelta(seconds=step_s)
    jumped = CommunityChain(community(houses=12, seed=1), Grid())
    jumped.run(target + pd.Timedelta(days=40), 0.0, flex_load_probability=0.3)  # somewhere else first
    a = walked.run(target, step_s, flex_load_probability=0.3)
    b = jumped.run(target, 0.0, flex_load_probability=0.3)
    assert_allclose(powers(a), powers(b), rtol=0, atol=1e-9)
    assert a.pv_power_w.std() > 0  # the roofs do see different light
    other_day = jumped.run(target + pd.Timedelta(days=1), 0.0, flex_load_probability=0.3)
    assert not np.allclose(powers(other_day), powers(b))


def test_a_house_keeps_its_powers_when_houses_are_added_after_it():
    t = pd.Timestamp("2026-06-24 17:30", tz="Europe/Zurich")
    few = CommunityChain(community(houses=5, seed=1), Grid()).run(t, 0.0, flex_load_probability=0.2)
    many = CommunityChain(community(houses=90, seed=1), Grid()).run(t, 0.0, flex_load_probability=0.2)
    assert_allclose(few.pv_power_w, many.pv_power_w[:5])
    assert_allclose(few.base_load_w, many.base_load_w[:5])
    assert_allclose(few.flex_load_w, many.flex_load_w[:5])


def measured_sim(stale_after_s: float = 60.0):
    houses = [{"source": "mqtt", "topic": "m1/SENSOR"}, {}, {"source": "mqtt", "topic": "m2/SENSOR"}, {}, {}]
    return make_sim(houses=houses, mqtt={"enabled": True, "stale_after_s": stale_after_s})


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-50.0, 50.0, allow_nan=False), min_size=2, max_size=2),
    st.lists(st.booleans(), min_size=2, max_size=2),
)
def test_measured_houses_show_their_meters_and_the_balance_holds(net_kw, heard):
    """Each measured house's net power is what its meter last said (0 W before its first
    message), and the community's balance holds every tick with measured houses in it."""
    sim = measured_sim()
    for topic, kw, spoke in zip(("m1/SENSOR", "m2/SENSOR"), net_kw, heard, strict=True):
        if spoke:
            sim.chain.inbox.receive(topic, json.dumps({"Pi": max(-kw, 0.0), "Po": max(kw, 0.0)}).encode())
    for _ in range(3):
        snap = sim.step()
        for i, kw, spoke in zip((0, 2), net_kw, heard, strict=True):
            assert snap.measured[i] and snap.stale[i] == (not spoke)
            assert snap.net_power_w[i] == pytest.approx(kw * 1000.0 if spoke else 0.0, abs=1e-6)
            assert snap.flex_load_w[i] == 0.0 and snap.flex_appliance(i) is None
        assert not snap.measured[[1, 3, 4]].any() and np.isnan(snap.data_age_s[[1, 3, 4]]).all()
        assert snap.total_production_w - snap.total_consumption_w == pytest.approx(snap.grid_export_w - snap.grid_import_w, abs=1e-6)
        assert snap.net_community_power_w == pytest.approx(float(snap.net_power_w.sum()), abs=1e-6)


def test_a_measured_house_in_the_json_says_so_and_how_old_its_data_is():
    sim = measured_sim()
    sim.chain.inbox.receive("m1/SENSOR", b'{"Pi": 0.0, "Po": 1.25, "ts": 5}')
    doc = json.loads(sim.step().to_json())
    first, second, third = doc["houses"][:3]
    assert first["source"] == "mqtt" and first["stale"] is False and 0.0 <= first["data_age_s"] < 5.0
    assert first["net_power_w"] == pytest.approx(1250.0) and first["pv_power_w"] == pytest.approx(1250.0)
    assert second["source"] == "model" and "data_age_s" not in second
    assert third["source"] == "mqtt" and third["stale"] is True and third["data_age_s"] is None and third["net_power_w"] == 0.0
