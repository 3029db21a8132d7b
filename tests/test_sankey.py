"""The "who supplies whom" Sankey: honest flows, stable nodes, updates only when values move.

Random communities are settled with :func:`leg_sim.flows.settle` and frozen into
Snapshots; the Sankey is checked against the full pairwise matrix of
:func:`leg_sim.flows.pairwise_flows_w`, computed here for every house.
"""

from __future__ import annotations

import dataclasses
import types

import numpy as np
import pandas as pd
import pytest
from conftest import make_sim
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from leg_sim import flows as fl
from leg_sim.model import Instant
from leg_sim.snapshot import Snapshot
from leg_sim.ui import sankey as sk
from leg_sim.ui.readmodel import ReadModel
from leg_sim.units import format_power

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def snapshot_of(pv_w, load_w, tick: int = 1) -> Snapshot:
    """A snapshot of a community with these PV and load powers per house. [W]"""
    pv = np.asarray(pv_w, dtype=float)
    load = np.asarray(load_w, dtype=float)
    n = len(pv)
    instant = Instant(
        time=pd.Timestamp("2026-06-21T12:00:00", tz="Europe/Berlin"),
        dt_s=1.0,
        sun_elevation_deg=60.0,
        cloudiness=0.0,
        temp_air_c=20.0,
        house_ids=tuple(f"H{i + 1:03d}" for i in range(n)),
        pv_power_w=pv,
        base_load_w=load,
        flex_load_w=np.zeros(n),
        flex_code=np.full(n, -1, dtype=np.int16),
        flows=fl.settle(pv, load),
        energy_kwh={},
    )
    return Snapshot.from_instant(tick, instant, wall_time_s=0.0)


def offline_view() -> sk.SupplySankey:
    """A Sankey view fed by hand (its read model has no snapshot yet)."""
    return sk.SupplySankey(reader=ReadModel(types.SimpleNamespace(snapshot=None)))


#: A house: PV power and load, often without PV (night, or no roof), sometimes balanced exactly. [W]
house = st.one_of(
    st.tuples(st.just(0.0), st.floats(5.0, 4000.0)),
    st.tuples(st.floats(0.0, 9000.0), st.floats(5.0, 4000.0)),
    st.floats(100.0, 3000.0).map(lambda w: (w, w)),
)
community = st.lists(house, min_size=1, max_size=40).map(lambda hs: snapshot_of(*zip(*hs, strict=True)))


def expected_links(snap: Snapshot, flows: sk.SupplyFlows) -> tuple[dict, list]:
    """Every house-to-house and house-grid flow of `snap`, summed onto the nodes of `flows`.

    Returns the summed powers by (source key, target key) and the list of single
    flows of at least 10 W as (source key, target key, power).
    """
    left, right = flows.columns
    export_w, deficit_w = np.maximum(snap.net_power_w, 0.0), np.maximum(-snap.net_power_w, 0.0)
    exp, imp = np.flatnonzero(export_w > 0), np.flatnonzero(deficit_w > 0)
    src = [snap.house_ids[i] if snap.house_ids[i] in left else sk.OTHER_PRODUCERS for i in exp]
    dst = [snap.house_ids[j] if snap.house_ids[j] in right else sk.OTHER_CONSUMERS for j in imp]
    matrix = fl.pairwise_flows_w(export_w[exp], deficit_w[imp])
    single = [(s, t, w) for s, row in zip(src, matrix, strict=True) for t, w in zip(dst, row, strict=True)]
    single += [(s, sk.GRID_FEED_IN_KEY, snap.export_grid_w[i]) for s, i in zip(src, exp, strict=True)]
    single += [(sk.GRID_SUPPLY_KEY, t, snap.import_grid_w[j]) for t, j in zip(dst, imp, strict=True)]
    summed: dict = {}
    for s, t, w in single:
        if w > 0:
            summed[(s, t)] = summed.get((s, t), 0.0) + w
    return summed, [(s, t, w) for s, t, w in single if w >= 10.0]


def check_flows(snap: Snapshot, flows: sk.SupplyFlows) -> None:
    """Everything a Sankey of `snap` must say, whatever houses it draws on their own."""
    summed, big = expected_links(snap, flows)
    drawn = flows.link_power_w()
    scale = max(snap.total_production_w, snap.total_consumption_w, 1.0)
    # every link is a sum of real flows, and every real flow sits in exactly one link
    assert drawn.keys() == summed.keys()
    for key, w in summed.items():
        assert drawn[key] == pytest.approx(w, rel=1e-9, abs=1e-9 * scale), key
    for s, t, w in big:
        assert drawn[(s, t)] >= w - 1e-9 * scale  # a 10 W flow is drawn, alone or inside its group's link
    # producers send exactly what they export
    left = flows.left_count
    out_of_producers = sum(w for s, w in zip(flows.source, flows.power_w, strict=True) if flows.keys[s] != sk.GRID_SUPPLY_KEY)
    assert out_of_producers == pytest.approx(np.maximum(snap.net_power_w, 0).sum(), abs=1.0)
    assert sum(w for (s, _), w in drawn.items() if s == sk.GRID_SUPPLY_KEY) == pytest.approx(snap.grid_import_w, abs=1.0)
    assert sum(w for (_, t), w in drawn.items() if t == sk.GRID_FEED_IN_KEY) == pytest.approx(snap.grid_export_w, abs=1.0)
    # groups say how many houses they hold and how much power
    keys, names = flows.keys, flows.names
    for group, column, sign, word in ((sk.OTHER_PRODUCERS, keys[:left], 1, "producer"), (sk.OTHER_CONSUMERS, keys[left:], -1, "consumer")):
        members = [h for h, p in zip(snap.house_ids, sign * snap.net_power_w, strict=True) if p > 0 and h not in column]
        houses = [k for k in column if k in snap.house_ids]
        if members:
            assert names[keys.index(group)] == f"{len(members)} other {word}{'' if len(members) == 1 else 's'}"
            assert len(houses) == sk.TOP
        else:
            assert group not in keys
    # every node has a link, and its label carries its power: the sum of its links
    power_in = np.bincount(flows.target, weights=flows.power_w, minlength=len(keys))
    power_out = np.bincount(flows.source, weights=flows.power_w, minlength=len(keys))
    assert_allclose(flows.node_power_w, np.maximum(power_in, power_out), rtol=1e-9, atol=1e-9 * scale)
    assert (flows.node_power_w > 0).all()
    for label, name, w in zip(sk.node_labels(flows), names, flows.node_power_w, strict=True):
        assert label == f"{name} · {format_power(w)}"
    # the grid sits at the bottom of its column
    assert sk.GRID_SUPPLY_KEY not in keys or keys.index(sk.GRID_SUPPLY_KEY) == left - 1
    assert sk.GRID_FEED_IN_KEY not in keys or keys.index(sk.GRID_FEED_IN_KEY) == len(keys) - 1


@PROPERTY
@given(community, community)
def test_sankey_draws_every_flow_of_10_w_or_counts_it_in_a_labelled_group(first, second):
    flows = sk.supply_flows(first)
    check_flows(first, flows)
    check_flows(second, sk.supply_flows(second, flows.columns))  # with the houses drawn before kept where they can be


def test_sankey_shows_the_one_small_importer_of_five_houses():
    # Four houses export, one takes 131 W from its neighbours: 20 to 60 W from each.
    snap = snapshot_of([3000.0, 2500.0, 4200.0, 1800.0, 0.0], [400.0, 350.0, 500.0, 300.0, 131.0])
    view = offline_view()
    view.update(snap)
    flows, trace = view.flows, view.spec["data"][0]
    assert "H005" in flows.columns[1]
    assert "H005 · 131 W" in trace["node"]["label"]
    into_h005 = {s: w for (s, t), w in flows.link_power_w().items() if t == "H005"}
    assert set(into_h005) == {"H001", "H002", "H003", "H004"}
    assert sum(into_h005.values()) == pytest.approx(131.0)
    assert min(into_h005.values()) < 50.0  # the size that used to be rounded away
    links = list(zip(trace["link"]["source"], trace["link"]["target"], trace["link"]["value"], strict=True))
    h005 = flows.keys.index("H005")
    assert sum(v for _, t, v in links if t == h005) == pytest.approx(131.0, abs=0.5)
    check_flows(snap, flows)


def scaled(snap: Snapshot, factors: np.ndarray, tick: int) -> Snapshot:
    """`snap` with each house's surplus or deficit scaled by a positive factor: nobody changes sides."""
    net = snap.net_power_w * factors
    return snapshot_of(np.maximum(net, 0.0), np.maximum(-net, 0.0), tick)


@PROPERTY
@given(community, st.data())
def test_sankey_nodes_keep_their_places_when_only_values_change(snap, data):
    factors = np.array(data.draw(st.lists(st.floats(0.8, 1.25), min_size=snap.house_count, max_size=snap.house_count)))
    later = scaled(snap, factors, tick=2)
    before = sk.supply_flows(snap)
    after = sk.supply_flows(later, before.columns)
    for column_before, column_after in zip(before.columns, after.columns, strict=True):
        if len(column_before) == len(column_after):
            # same size: every house drawn before and still drawn is in the same slot
            for slot, key in enumerate(column_before):
                if key in column_after:
                    assert column_after[slot] == key
    same_grid = (snap.grid_import_w > 0, snap.grid_export_w > 0) == (later.grid_import_w > 0, later.grid_export_w > 0)
    if all(len(c) <= sk.TOP + 1 for c in before.columns) and same_grid:
        assert after.keys == before.keys  # nothing grouped, the grid the same way: the very same nodes
        assert sk.node_layout(after)[0] == sk.node_layout(before)[0]
    check_flows(later, after)


def test_sankey_keeps_a_house_that_drops_a_few_ranks():
    power_w = np.array([900.0, 100.0, 800.0, 700.0, 600.0, 50.0])
    keep = np.array([False, True, False, False, False, False])
    assert sk.shown_houses(power_w, np.zeros(6, dtype=bool), top=2, keep_rank=4).tolist() == [0, 2]
    assert sk.shown_houses(power_w, keep, top=2, keep_rank=5).tolist() == [0, 1]  # rank 5 of 6: kept
    assert sk.shown_houses(power_w, keep, top=2, keep_rank=4).tolist() == [0, 2]  # rank 5: let go
    assert sk.shown_houses(power_w[:3], keep[:3], top=2).tolist() == [0, 1, 2]  # top + 1: nobody grouped
    assert sk.slot_order(np.array([1, 4, 7]), (7, 2, 1)).tolist() == [7, 4, 1]  # 4 takes 2's slot
    assert sk.slot_order(np.array([1, 4]), (7, 2, 1)).tolist() == [1, 4]  # another size: house order


def test_sankey_view_keeps_one_figure_while_only_values_change():
    snap = snapshot_of([3000.0, 0.0, 2500.0, 0.0, 4000.0], [500.0, 800.0, 400.0, 1200.0, 300.0])
    view = offline_view()
    view.update(snap)
    figure, trace = view.figure, view.spec["data"][0]
    positions = (trace["node"]["x"], trace["link"]["source"], trace["link"]["target"])
    later = scaled(snap, np.array([1.1, 0.7, 0.9, 1.2, 1.05]), tick=2)
    view.update(later)
    trace = view.spec["data"][0]
    assert view.figure is figure  # a restyle of the same figure, not a new one
    assert (trace["node"]["x"], trace["link"]["source"], trace["link"]["target"]) == positions
    assert trace["node"]["customdata"] == ["H001", "H003", "H005", "H002", "H004", "Grid"]
    assert_allclose(view.figure.data[0].link.value, trace["link"]["value"])
    assert list(view.figure.data[0].node.label) == trace["node"]["label"]


@PROPERTY
@given(community, st.data())
def test_sankey_sends_only_when_a_value_moves_by_the_step(snap, data):
    flows = sk.supply_flows(snap)
    step = sk.send_step_w(flows)
    assert step >= sk.SEND_STEP_W
    if len(flows.node_power_w):
        assert step >= sk.SEND_SHARE * np.max(np.abs(flows.node_power_w)) - 1e-9
    n_nodes, n_links = len(flows.keys), len(flows.power_w)
    small = st.floats(-step * 0.999, step * 0.999)
    nudged = dataclasses.replace(
        flows,
        node_power_w=flows.node_power_w + np.array(data.draw(st.lists(small, min_size=n_nodes, max_size=n_nodes))),
        power_w=flows.power_w + np.array(data.draw(st.lists(small, min_size=n_links, max_size=n_links))),
    )
    assert not sk.needs_send(flows, nudged)
    assert sk.needs_send(None, flows)
    if n_links:
        k = data.draw(st.integers(0, n_links - 1))
        moved = flows.power_w.copy()
        moved[k] += data.draw(st.sampled_from([-1.001 * step, 1.001 * step, 3 * step]))
        assert sk.needs_send(flows, dataclasses.replace(flows, power_w=moved))
    if n_nodes == 0:
        return  # every house balanced: nothing to draw
    node = data.draw(st.integers(0, n_nodes - 1))
    moved_nodes = flows.node_power_w.copy()
    moved_nodes[node] += 1.001 * step
    assert sk.needs_send(flows, dataclasses.replace(flows, node_power_w=moved_nodes))
    other = dataclasses.replace(flows, keys=(*flows.keys[:-1], "elsewhere"))
    assert sk.needs_send(flows, other)


def test_sankey_view_sends_nothing_below_the_step_and_a_restyle_above_it():
    from bokeh.document import Document

    pv = np.array([3000.0, 0.0, 2500.0, 0.0, 4000.0])
    load = np.array([500.0, 800.0, 400.0, 1200.0, 300.0])
    view = offline_view()
    view.update(snapshot_of(pv, load, 1))
    model = view.__panel__().get_root(Document())
    restyles = []
    model.on_change("restyle", lambda attr, old, new: restyles.append(new) if new else None)
    sends = view.sends
    view.update(snapshot_of(pv + np.array([4.0, 0, 0, 0, 0]), load, 2))  # every flow moves by less than 4 W
    assert view.sends == sends and restyles == []
    step_w = sk.send_step_w(view.flows)
    assert sk.SEND_STEP_W < step_w < 300.0  # 2 % of the largest node here
    view.update(snapshot_of(pv + np.array([0.9 * step_w, 0, 0, 0, 0]), load, 3))  # within the step: still nothing
    assert view.sends == sends and restyles == []
    view.update(snapshot_of(pv + np.array([300.0, 0, 0, 0, 0]), load, 4))  # H001's export and feed-in: +300 W
    assert view.sends == sends + 1 and len(restyles) == 1
    sent = restyles[0]["data"]
    assert sent["node.label"][0][0] == f"H001 · {format_power(2800.0)}"
    assert_allclose(sent["link.value"][0], view.spec["data"][0]["link"]["value"])
    assert "link.source" not in sent and "node.customdata" not in sent  # unchanged parts stay at home


def test_sankey_ignores_a_late_echo_from_the_browser():
    sim = make_sim(houses=5, pv_variation="disabled", clock={"speed_factor": 600.0})
    sim.step()
    view = sk.SupplySankey(reader=ReadModel(sim))
    view.update(sim.step())
    old = sk.value_update(view.spec)
    view.update(sim.step())
    new_values = list(view.figure.data[0].link.value)
    view.__panel__().restyle_data = [old, [0]]  # the browser reports the restyle before last
    assert list(view.figure.data[0].link.value) == new_values


def test_sankey_figure_keeps_up_with_a_running_simulation():
    from bokeh.document import Document

    sim = make_sim(houses=5, pv_variation="disabled", clock={"speed_factor": 600.0})
    sim.step()
    view = sk.SupplySankey(reader=ReadModel(sim))
    model = view.__panel__().get_root(Document())  # the model a browser would get
    restyles = []
    model.on_change("restyle", lambda attr, old, new: restyles.append(new) if new else None)
    for _ in range(30):
        snap, sends = sim.step(), view.sends
        view.update(snap)
        if view.sends > sends:  # what is shown is this tick's
            check_flows(snap, view.flows)
        assert_allclose(view.figure.data[0].link.value, view.spec["data"][0]["link"]["value"])
        assert list(view.figure.data[0].node.label) == view.spec["data"][0]["node"]["label"]
    assert restyles, "no value-only change travelled as a restyle"
    assert_allclose(restyles[-1]["data"]["link.value"][0], view.spec["data"][0]["link"]["value"])


def test_sankey_groups_small_contributors_of_a_large_community():
    sim = make_sim(houses=80)
    snap = sim.step()
    flows = sk.supply_flows(snap)
    left, right = flows.columns
    assert len(left) <= sk.TOP + 2 and len(right) <= sk.TOP + 2  # houses, a group, the grid
    assert sk.OTHER_PRODUCERS in flows.keys or sk.OTHER_CONSUMERS in flows.keys
    check_flows(snap, flows)


def contrast(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours."""

    def luminance(color: str) -> float:
        c = np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)]) / 255.0
        linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
        return float(linear @ [0.2126, 0.7152, 0.0722])

    hi, lo = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_sankey_labels_are_readable_in_both_themes():
    snap = snapshot_of([3000.0, 0.0], [500.0, 800.0])
    light = sk.sankey_spec(sk.supply_flows(snap))["data"][0]["textfont"]
    dark = sk.sankey_spec(sk.supply_flows(snap), dark=True)["data"][0]["textfont"]
    assert contrast(light["color"], "#ffffff") >= 4.5 and sk.PAGE_LIGHT in light["shadow"]
    assert contrast(dark["color"], "#181818") >= 4.5 and sk.PAGE_DARK in dark["shadow"]
    view = offline_view()
    view.update(snap)
    figure = view.figure
    view.dark = True
    assert view.figure is not figure and view.figure.data[0].textfont.color == dark["color"]


def test_sankey_nodes_do_not_overlap_and_stay_in_the_frame():
    # Plotly sizes nodes by its own scale; the centres placed here leave at least GAP_PX between them.
    height_px = sk.HEIGHT_PX - 2 * sk.MARGIN_PX
    for snap in (snapshot_of([3000.0, 0.0, 2500.0, 10.0], [500.0, 800.0, 400.0, 1200.0]), make_sim(houses=60).step()):
        flows = sk.supply_flows(snap)
        x, y = sk.node_layout(flows)
        n = len(flows.keys)
        most = max(flows.left_count, n - flows.left_count)
        total_w = flows.node_power_w[: flows.left_count].sum()
        height = flows.node_power_w * (height_px - (most - 1) * sk.GAP_PX) / total_w  # Plotly's node heights [px]
        centre = np.array(y) * height_px
        assert all(0.0 < v < 1.0 for v in x) and all(0.0 < v <= 1.0 for v in y)
        for column in (np.arange(flows.left_count), np.arange(flows.left_count, n)):
            top, bottom = centre[column] - height[column] / 2, centre[column] + height[column] / 2
            assert top[0] >= -1.0 and bottom[-1] <= height_px + 1.0
            assert (top[1:] - bottom[:-1] >= sk.GAP_PX - 1.0).all()  # in drawing order, a label's height apart


def test_markup_in_a_house_id_stays_text_in_labels_and_hover():
    snap = snapshot_of([3000.0, 0.0], [500.0, 1500.0])
    hostile = ('<a href="https://evil.example.org">H1</a>', '<span style="font-size:80px">H2</span>')
    snap = dataclasses.replace(snap, house_ids=hostile)
    trace = sk.sankey_spec(sk.supply_flows(snap))["data"][0]
    shown = " ".join(trace["node"]["label"] + trace["node"]["customdata"])
    assert "<a" not in shown and "<span" not in shown
    assert "&lt;a href=\"https://evil.example.org\"&gt;H1&lt;/a&gt;" in shown
