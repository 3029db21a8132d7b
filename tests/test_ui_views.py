"""Each dashboard view, built in-process: after N ticks it shows what the snapshot says."""

from __future__ import annotations

import time

import panel as pn
from conftest import make_sim

from leg_sim.server.session import SessionBridge, active_sessions
from leg_sim.ui.controls import Controls
from leg_sim.ui.dashboard import Dashboard
from leg_sim.ui.kpis import KpiPanel, kpi_html
from leg_sim.ui.readmodel import ReadModel
from leg_sim.units import COARSE, format_power


def coarse_power(power_w, signed=False):
    return format_power(power_w, signed=signed, resolution=COARSE)


def run(sim, view, ticks=5):
    for _ in range(ticks):
        snap = sim.step()
        view.update(snap)
    return snap


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


def test_controls_refuse_what_the_widget_does_not_offer_though_the_config_would():
    sim = make_sim()
    c = Controls(reader=ReadModel(sim), target=sim)
    before = sim.house_count
    c._from_widget("house_count", 5000)  # the config accepts 10,000 houses; the slider stops at 200
    assert c.widgets["house_count"].end == 200  # the widget and the server check share one range
    assert sim.house_count == before and "integer 1 to 200" in c.message.object
    c._from_widget("house_count", 1.5)
    assert sim.house_count == before and "1.5 was not applied" in c.message.object


def test_a_flood_of_changes_is_merged_and_the_newest_value_applied():
    sim = make_sim()
    c = Controls(reader=ReadModel(sim), target=sim)
    applied = []
    sim.param.watch(lambda e: applied.append(e.new), "flex_load_probability")
    for n in range(50):
        c._from_widget("flex_load_probability", round(0.01 * (n % 40), 2))
    assert len(applied) == 1  # the first at once, the rest wait
    deadline = time.monotonic() + 5
    while sim.flex_load_probability != round(0.01 * (49 % 40), 2) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sim.flex_load_probability == round(0.01 * (49 % 40), 2)
    assert len(applied) == 2  # one more, after MIN_CHANGE_INTERVAL_S


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


def test_a_session_whose_page_went_away_does_not_redraw_after_its_feed_closed():
    """The redraw after a feed closes is for a page still connected; a document with no
    websocket left (the page closed, taking both sockets) gets none. Without a document
    (headless) the redraw runs."""
    from bokeh.document import Document

    sim = make_sim()
    redraws: list[str] = []
    for name, doc in (("gone", Document()), ("headless", None)):
        bridge = SessionBridge(sim, doc=doc)
        bridge.attach()
        bridge.dashboard.resync = lambda name=name: redraws.append(name)
        bridge._resync()
        bridge.detach()
    assert redraws == ["headless"]
