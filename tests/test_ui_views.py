"""Each dashboard view, built in-process: after N ticks it shows what the snapshot says."""

from __future__ import annotations

import numpy as np
import panel as pn
import pytest
from conftest import make_sim
from numpy.testing import assert_allclose

from leg_sim.server.session import SessionBridge, active_sessions
from leg_sim.ui import flow_graph as fg
from leg_sim.ui.charts import CommunityChart
from leg_sim.ui.controls import Controls
from leg_sim.ui.dashboard import Dashboard
from leg_sim.ui.graph_layout import community_layout, ring_sizes
from leg_sim.ui.kpis import KpiPanel, kpi_html
from leg_sim.ui.readmodel import ReadModel
from leg_sim.ui.sankey import GROUP_ABOVE, TOP, SupplySankey, sankey_spec
from leg_sim.ui.theme import IDLE_W
from leg_sim.units import COARSE, format_power


def coarse_power(power_w, signed=False):
    return format_power(power_w, signed=signed, resolution=COARSE)


def run(sim, view, ticks=5):
    for _ in range(ticks):
        snap = sim.step()
        view.update(snap)
    return snap


def test_flow_graph_shows_the_snapshot():
    sim = make_sim(houses=6, flex_load_probability=0.5)
    g = fg.FlowGraph(reader=ReadModel(sim))
    snap = run(sim, g, 8)
    houses = g.houses.source.data
    assert list(houses["house_id"]) == list(snap.house_ids)
    assert_allclose(houses["net_kw"], snap.net_power_w / 1000, atol=0.006)
    assert_allclose(houses["pv_kw"], snap.pv_power_w / 1000, atol=0.006)
    assert_allclose(np.add(houses["base_kw"], houses["flex_kw"]), snap.consumption_w / 1000, atol=0.011)
    assert list(houses["appliance"]) == [snap.flex_appliance(i) or "none" for i in range(6)]
    edges = g.edges.source.data
    signed = np.append(snap.net_power_w, snap.grid_export_w - snap.grid_import_w)
    assert list(edges["state"]) == fg.edge_state(signed).tolist()
    assert_allclose(edges["power_kw"], np.abs(signed) / 1000, atol=0.006)
    assert edges["dst"][-1] == ("Grid" if snap.grid_export_w > IDLE_W else "Community bus")
    assert_allclose(snap.edge_power_w(), signed)  # the topology's edges: houses → bus, then bus → grid
    hubs = g.hubs.source.data
    assert coarse_power(snap.shared_w) in hubs["label"][0]
    labels = houses["label"]
    assert labels[0] == fg.net_label("H001", snap.net_power_w[0])
    assert fg.net_label("H9", 2345.0) == "H9  +2.3 kW" and fg.net_label("H9", -148.0) == "H9  −150 W"
    assert coarse_power(-170.0, signed=True) == "−150 W" and coarse_power(12.0) == "0 W"


def test_arrowheads_flip_with_the_flow_direction():
    export = fg.edge_state(np.array([500.0, -500.0, 5.0]))
    assert export.tolist() == [1, -1, 0]
    sim = make_sim(houses=5)
    g = fg.FlowGraph(reader=ReadModel(sim))
    snap = run(sim, g, 1)
    edges = g.edges.source.data
    state = fg.edge_state(np.append(snap.net_power_w, snap.grid_export_w - snap.grid_import_w))
    base = g._export_angle - np.pi / 2
    expected = np.round(base + np.where(state < 0, np.pi, 0.0), 2)
    assert_allclose(edges["angle"], expected, atol=0.006)
    sizes = fg.arrow_size_px(np.array([0.0, 10.0, 500.0, -6000.0]))
    assert sizes[0] == sizes[1] == 0 and 0 < sizes[2] < sizes[3]


def test_edge_width_is_proportional_and_clamped():
    w = fg.edge_width_px(np.array([0.0, 2000.0, 4000.0, -1e6]))
    assert w[0] == fg.MIN_WIDTH_PX and w[2] == pytest.approx(2 * w[1]) and w[3] == fg.MAX_WIDTH_PX


def test_flow_graph_relayouts_when_the_house_count_changes():
    sim = make_sim(houses=5)
    g = fg.FlowGraph(reader=ReadModel(sim))
    run(sim, g, 1)
    sim.house_count = 100
    snap = run(sim, g, 1)
    assert len(g.houses.source.data["house_id"]) == 100
    assert len(g.edges.source.data["xs"]) == 101
    assert all(label == "" for label in g.houses.source.data["label"])  # too many for text labels
    assert isinstance(g.houses.source.data["net_kw"], np.ndarray)  # long columns go binary
    assert snap.house_count == 100


def test_flow_graph_sends_only_changed_columns():
    sim = make_sim(houses=5, pv_variation="disabled")
    g = fg.FlowGraph(reader=ReadModel(sim))
    run(sim, g, 1)
    snap = sim.step()
    changed = g.houses.push(g._house_columns(snap))
    assert "pv_kw" in changed or "net_kw" in changed
    assert g.houses.push(g._house_columns(snap)) == []  # nothing new -> nothing sent


def test_layout_is_readable_from_2_to_200_houses():
    assert ring_sizes(2) == [2] and ring_sizes(40) == [40] and sum(ring_sizes(200)) == 200
    for n in (2, 5, 20, 50, 200):
        lay = community_layout(tuple(f"H{i}" for i in range(n)))
        xy = lay.house_xy
        assert xy.shape == (n, 2)
        d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)) + np.eye(n) * 99
        px = (lay.x_range[1] - lay.x_range[0]) / fg.FRAME_PX  # data units per pixel
        size = lay.node_size_px(fg.FRAME_PX)
        assert d.min() / px > size  # circles never overlap
        assert size >= (12 if n <= 50 else 8)  # big enough to see and to hover
        assert lay.grid_xy[0] > np.abs(xy[:, 0]).max()
        assert lay.x_range[0] < xy[:, 0].min() and lay.x_range[1] > lay.grid_xy[0]
        assert lay.y_range[0] < xy[:, 1].min() and lay.y_range[1] > xy[:, 1].max()
        # no house sits on the bus→grid edge
        on_axis = (xy[:, 0] > 0) & (np.abs(xy[:, 1]) < 0.5 * lay.node_size_px(fg.FRAME_PX) * px)
        assert not on_axis.any()


def test_kpis_show_formatted_values_and_the_tick():
    sim = make_sim(houses=8)
    k = KpiPanel(reader=ReadModel(sim))
    snap = run(sim, k, 4)
    text = k.text
    for value in (snap.grid_import_w, snap.grid_export_w, snap.shared_w, snap.total_production_w):
        assert format_power(value) in text
    assert f'data-tick="{snap.tick}"' in text and "day" in text
    assert f"{round(snap.self_consumption * 100)} %" in text
    night = make_sim(clock={"start": "2026-06-21T23:30:00"}).step()
    assert "night" in kpi_html(night) and "Self-consumption</span><b>–" in kpi_html(night)


def test_chart_backfills_from_history_and_streams_each_tick():
    sim = make_sim(houses=4, clock={"speed_factor": 10.0})
    for _ in range(30):
        sim.step()
    chart = CommunityChart(reader=ReadModel(sim))
    assert len(chart.source.data["time"]) == 30  # 30 ticks x 10 s = 5 min, all in the window
    snap = None
    for _ in range(3):
        snap = sim.step()
    chart.update(snap)  # three ticks arrive in one update: all three rows are streamed
    assert len(chart.source.data["time"]) == 33
    assert chart.source.data["prod_kw"][-1] == pytest.approx(snap.total_production_w / 1000, abs=0.005)
    assert chart.source.data["imp_kw"][-1] == pytest.approx(snap.grid_import_w / 1000, abs=0.005)


def test_sankey_matches_the_pro_rata_key():
    sim = make_sim(houses=6)
    snap = sim.step()
    spec = sankey_spec(snap)["data"][0]
    labels, link = spec["node"]["label"], spec["link"]
    tol = 0.05 * len(link["value"]) + 1e-9  # each link is rounded to 0.1 kW
    into_feed_in = sum(v for t, v in zip(link["target"], link["value"], strict=True) if labels[t] == "Grid (feed-in)")
    from_supply = sum(v for s, v in zip(link["source"], link["value"], strict=True) if labels[s] == "Grid (supply)")
    assert into_feed_in == pytest.approx(snap.grid_export_w / 1000, abs=tol)
    assert from_supply == pytest.approx(snap.grid_import_w / 1000, abs=tol)
    links = zip(link["source"], link["target"], link["value"], strict=True)
    local = sum(v for s, t, v in links if not labels[s].startswith("Grid") and not labels[t].startswith("Grid"))
    assert local == pytest.approx(snap.shared_w / 1000, abs=tol)
    assert sankey_spec(snap)["layout"]["uirevision"] == "leg-sankey"


def test_sankey_groups_small_contributors_past_20_houses():
    sim = make_sim(houses=80)
    snap = sim.step()
    labels = sankey_spec(snap)["data"][0]["node"]["label"]
    assert snap.house_count > GROUP_ABOVE
    assert len(labels) <= 2 * (TOP + 1) + 2
    assert any(label.startswith("Other") for label in labels)


def test_sankey_is_sent_only_when_its_numbers_change():
    sim = make_sim(houses=5, clock={"start": "2026-06-21T01:00:00"}, pv_variation="disabled")
    s = SupplySankey(reader=ReadModel(sim))
    snap = sim.step()
    s.update(snap)
    sends = s.sends
    s.update(snap)
    assert s.sends == sends


def test_controls_write_to_the_simulation_and_follow_it():
    sim = make_sim()
    c = Controls(reader=ReadModel(sim), target=sim)
    c.widgets["house_count"].value = 9
    assert sim.house_count == 9
    sim.flex_load_probability = 0.42
    assert c.widgets["flex_load_probability"].value == 0.42
    sim.speed_factor = 120.0
    assert c.widgets["speed_factor"].value == 120.0
    c.widgets["paused"].value = True
    assert sim.paused


def test_controls_reject_out_of_bounds_values_and_keep_the_old_one():
    sim = make_sim()
    c = Controls(reader=ReadModel(sim), target=sim)
    c._from_widget("update_interval_ms", 50)
    assert sim.update_interval_ms == 1000
    assert "not applied" in c.message.object and "100 to 10000" in c.message.object


def test_controls_leave_no_watcher_behind():
    sim = make_sim()
    before = sim.watcher_count
    views = [Controls(reader=ReadModel(sim), target=sim) for _ in range(10)]
    assert sim.watcher_count == before + 10 * 7  # one per controlled parameter per session
    for v in views:
        v.dispose()
    assert sim.watcher_count == before


def test_read_only_has_no_widgets():
    sim = make_sim(read_only=True)
    c = Controls(reader=ReadModel(sim), target=sim)
    assert c.widgets == {} and c.read_only


def test_session_bridge_subscribes_and_cleans_up():
    sim = make_sim()
    base_sessions = active_sessions()
    bridges = [SessionBridge(sim, doc=None) for _ in range(5)]
    for b in bridges:
        b.attach()
    assert sim.listener_count == 5 and active_sessions() == base_sessions + 5
    snap = sim.step()
    assert all(b.dashboard.shown_tick == snap.tick for b in bridges)
    for b in bridges:
        b.detach()
        b.detach()
    assert sim.listener_count == 0 and active_sessions() == base_sessions


def test_dashboard_smoke_ten_ticks_headless():
    sim = make_sim(houses=12)
    dash = Dashboard(sim=sim)
    for _ in range(10):
        dash.update(sim.step())
    assert dash.shown_tick == 10
    assert dash.template() is not None


def test_sankey_value_only_changes_reach_the_rendered_model():
    from bokeh.document import Document

    sim = make_sim(houses=5, pv_variation="disabled", clock={"speed_factor": 600.0})
    sim.step()
    s = SupplySankey(reader=ReadModel(sim))
    model = s.__panel__().get_root(Document())  # the model a browser would get
    restyles = []
    model.on_change("restyle", lambda attr, old, new: restyles.append(new))
    seen = None
    for _ in range(40):
        snap = sim.step()
        before = [list(x) for x in (s.spec["data"][0]["link"]["source"], s.spec["data"][0]["link"]["target"])]
        figure_before, sends_before = s.figure, s.sends
        s.update(snap)
        link = s.spec["data"][0]["link"]
        assert_allclose(s.figure.data[0].link.value, link["value"], atol=1e-6)  # the figure matches the spec
        if s.sends > sends_before and before == [list(link["source"]), list(link["target"])] and s.figure is figure_before:
            seen = True  # a value-only change travelled as a restyle of the same figure
            assert_allclose(restyles[-1]["data"]["link.value"][0], link["value"], atol=1e-6)
    assert seen  # at least one update went through the value-only path


def test_controls_say_what_they_do():
    from leg_sim.ui.controls import PAUSE_LABEL, RESUME_LABEL

    sim = make_sim(clock={"mode": "realtime"})
    c = Controls(reader=ReadModel(sim), target=sim)
    layout = c.__panel__()
    # every control carries its label: the button groups get one above them
    html_labels = [o.object for o in layout.select(pn.pane.HTML)]
    for name in ("pv_variation", "clock_mode"):
        assert any(c.widgets[name].label in text for text in html_labels), name
    assert c.widgets["pv_variation"].variant == "outline"
    # the speed only counts in accelerated mode, and reads as a factor
    assert c.widgets["speed_factor"].disabled
    assert "3,600×" in c.widgets["speed_factor"].labels[-1] and "e+" not in "".join(c.widgets["speed_factor"].labels)
    c.widgets["clock_mode"].value = "accelerated"
    assert sim.clock_mode == "accelerated" and not c.widgets["speed_factor"].disabled
    sim.clock_mode = "realtime"  # from another session
    assert c.widgets["speed_factor"].disabled
    # pause says what pressing it will do
    assert c.widgets["paused"].label == PAUSE_LABEL
    c.widgets["paused"].value = True
    assert sim.paused and c.widgets["paused"].label == RESUME_LABEL
    sim.paused = False
    assert c.widgets["paused"].label == PAUSE_LABEL and not c.widgets["paused"].value


def test_the_page_shows_paused_without_waiting_for_a_tick():
    from leg_sim.ui.kpis import PAUSED_BADGE

    sim = make_sim(houses=3)
    dash = Dashboard(sim=sim)
    dash.update(sim.step())
    assert PAUSED_BADGE not in dash.kpis.text
    sim.paused = True  # no tick follows a pause
    assert PAUSED_BADGE in dash.kpis.text
    sim.paused = False
    assert PAUSED_BADGE not in dash.kpis.text
    before = sim.watcher_count
    dash.dispose()
    assert sim.watcher_count < before
