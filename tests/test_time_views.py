"""Time views: the chart's windows (15 min, 1 h, today) and the "today" energy summary."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json

import numpy as np
import pandas as pd
import pytest
from bokeh.document import Document
from bokeh.document.events import ColumnDataChangedEvent, ColumnsStreamedEvent
from bokeh.protocol import Protocol
from conftest import make_sim
from hypothesis import given, settings
from hypothesis import strategies as st

from leg_sim import Simulation
from leg_sim.config import load_config
from leg_sim.history import local_midnight_s
from leg_sim.ui.charts import WINDOWS, CommunityChart, bin_means
from leg_sim.ui.readmodel import ReadModel
from leg_sim.ui.today import TodaySummary, today_values
from leg_sim.units import format_energy, format_share

ZURICH = "Europe/Zurich"
COUNTERS = ("production_kwh", "consumption_kwh", "shared_kwh", "grid_import_kwh", "grid_export_kwh")


# ---------------------------------------------------------------- helpers
def patch_events(doc: Document, action) -> tuple[int, list]:
    """Run `action` as one held update of `doc`; return the PATCH-DOC bytes (buffers included) and its events."""
    events: list = []
    doc.on_change(events.append)
    doc.hold("combine")
    try:
        action()
    finally:
        doc.unhold()
        doc.remove_on_change(events.append)
    if not events:
        return 0, []
    msg = Protocol().create("PATCH-DOC", events)
    size = len(msg.header_json) + len(msg.metadata_json) + len(msg.content_json)
    size += sum(len(b.to_bytes()) + len(json.dumps(b.ref)) for b in msg.buffers)
    return size, events


def in_document(view) -> Document:
    doc = Document()
    doc.add_root(view.__panel__().get_root(doc))
    return doc


def local_times_s(chart: CommunityChart) -> np.ndarray:
    """The chart's x values (local wall time) as seconds."""
    return chart.data["time"].astype("datetime64[ms]").astype(np.int64) / 1000.0


def counters(snap) -> np.ndarray:
    return np.array([snap.energy_kwh[k] for k in COUNTERS])


def today_array(day) -> np.ndarray:
    return np.array([getattr(day, k) for k in COUNTERS])


# ---------------------------------------------------------------- chart
@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0.0, 120.0), st.floats(0.0, 1e4)), min_size=1, max_size=80), st.sampled_from([5.0, 20.0, 300.0]))
def test_bins_keep_the_energy_of_their_ticks(steps, bin_s):
    dt_s = np.array([d for d, _ in steps])
    power_w = np.array([p for _, p in steps])
    time_s = 1.78e9 + np.cumsum(dt_s) + np.arange(len(steps))  # rising, jumps of 1 s between
    starts, means = bin_means(time_s, dt_s, {"p": power_w}, bin_s)
    index = np.ceil(time_s / bin_s) - 1
    weight = np.array([dt_s[index == k].sum() for k in np.unique(index)])
    assert np.all(np.diff(starts) > 0) and len(starts) == len(np.unique(index))
    assert np.sum(means["p"] * weight) == pytest.approx(np.sum(power_w * dt_s), rel=1e-9, abs=1e-6)


def test_chart_offers_three_labelled_windows():
    chart = CommunityChart(reader=ReadModel(make_sim()))
    widget = chart.window_choice
    assert widget.options == [w.label for w in WINDOWS] == ["15 min", "1 h", "Today"]
    assert (widget.color, widget.variant, widget.label) == ("primary", "outline", "Chart window")


def test_switching_windows_backfills_the_whole_span():
    sim = make_sim(houses=4, clock={"speed_factor": 30.0})  # 30 s per tick, from 12:00
    for _ in range(480):  # 4 simulated hours
        snap = sim.step()
    chart = CommunityChart(reader=ReadModel(sim))
    now_local_s = snap.timestamp.tz_localize(None).timestamp()
    for label, span_s in (("15 min", 900.0), ("1 h", 3600.0)):
        chart.window_choice.value = label
        times = local_times_s(chart)
        assert now_local_s - span_s - 30.0 <= times[0] <= now_local_s - span_s + 30.0  # the whole window at once (±1 tick)
        assert now_local_s - 60.0 <= times[-1] <= now_local_s
    chart.window_choice.value = "Today"
    times = local_times_s(chart)
    start_local_s = pd.Timestamp("2026-06-21 12:00").timestamp()
    assert start_local_s <= times[0] <= start_local_s + 300.0  # since the first tick of the day
    assert now_local_s - 600.0 <= times[-1] <= now_local_s
    # every completed 5-minute bin's mean power times 5 minutes is its energy
    produced_kwh = np.sum(chart.data["prod_kw"]) * 300.0 / 3600.0
    day = sim.history.today(ZURICH)
    assert produced_kwh == pytest.approx(day.production_kwh, rel=0.02)  # within the open bin and 10 W rounding


def test_a_tick_streams_only_its_new_rows():
    sim = make_sim(houses=5, clock={"speed_factor": 10.0})  # 10 s per tick: two 5 s bins close per tick
    for _ in range(30):
        sim.step()
    chart = CommunityChart(reader=ReadModel(sim), refresh_s=0.0)
    doc = in_document(chart)
    before = len(chart.data["time"])
    for _ in range(3):
        snap = sim.step()
        size, events = patch_events(doc, lambda s=snap: chart.update(s))
        assert size < 1500  # one row of five columns
        streamed = [e for e in events if isinstance(e, ColumnsStreamedEvent)]
        assert len(streamed) == 1 and not any(isinstance(e, ColumnDataChangedEvent) for e in events)
        assert {len(v) for v in streamed[0].data.values()} == {1}  # one completed bin, not the window
        assert set(streamed[0].data) == {"time", "prod_kw", "cons_kw", "imp_kw", "exp_kw"}
    assert len(chart.data["time"]) == before + 3
    assert chart.data["prod_kw"][-1] == pytest.approx(sim.history.columns()["total_production_w"][-2] / 1000, abs=0.006)


@pytest.mark.parametrize("speed", [1.0, 60.0, 3600.0])
def test_chart_bytes_per_tick_stay_small(speed):
    sim = make_sim(houses=5, clock={"speed_factor": speed})
    for _ in range(30):
        sim.step()
    chart = CommunityChart(reader=ReadModel(sim))
    doc = in_document(chart)
    sizes = []
    start_s = sim.snapshot.wall_time_s
    for second in range(1, 61):  # one tick per wall-clock second
        snap = dataclasses.replace(sim.step(), wall_time_s=start_s + second)
        sizes.append(patch_events(doc, lambda s=snap: chart.update(s))[0])
    assert np.mean(sizes) < 400  # the whole dashboard's budget is 1.5 KB per tick
    sent = sum(1 for s in sizes if s)
    assert max(sizes) < 2000 and sent <= 13  # at most one message per 5 s
    if speed >= 60.0:  # a 5 s bin closes every tick: a message in every 5-s period
        assert sent >= 11


def test_today_chart_restarts_at_local_midnight():
    sim = make_sim(clock={"start": "2026-06-21T23:00:00", "speed_factor": 300.0})  # 5 min per tick
    chart = CommunityChart(reader=ReadModel(sim), refresh_s=0.0)
    chart.window_choice.value = "Today"
    for _ in range(14):
        chart.update(sim.step())
    assert local_times_s(chart)[0] == pytest.approx(pd.Timestamp("2026-06-22 00:02:30").timestamp())


# ---------------------------------------------------------------- today
def test_today_equals_the_counters_since_local_midnight():
    sim = make_sim(clock={"start": "2026-06-21T22:00:00", "speed_factor": 600.0})  # 10-minute ticks hit 00:00
    at_midnight = None
    for _ in range(60):
        snap = sim.step()
        if snap.timestamp == pd.Timestamp("2026-06-22 00:00", tz=ZURICH):
            at_midnight = counters(snap)
    assert at_midnight is not None
    np.testing.assert_allclose(today_array(ReadModel(sim).today()), counters(snap) - at_midnight, rtol=1e-6, atol=1e-9)


@settings(max_examples=8, deadline=None)
@given(st.floats(min_value=45.0, max_value=1500.0))
def test_today_splits_the_tick_that_straddles_midnight(speed):
    sim = make_sim(clock={"start": "2026-06-21T23:00:00", "speed_factor": speed})
    midnight_s = pd.Timestamp("2026-06-22", tz=ZURICH).timestamp()
    before = snap = sim.step()
    while snap.timestamp.timestamp() < midnight_s + 3 * 3600.0:
        if snap.timestamp.timestamp() <= midnight_s:
            before = snap
        snap = sim.step()
    # The step after `before` holds its power from `before` to midnight too; that part belongs to yesterday.
    history = sim.history.columns(steps=True)
    nxt = int(np.searchsorted(history["time_s"], before.timestamp.timestamp(), side="right"))
    yesterday_part_s = midnight_s - before.timestamp.timestamp()
    straddling_w = np.array([history[f][nxt] for f in ("total_production_w", "total_consumption_w", "shared_w", "grid_import_w", "grid_export_w")])
    expected = counters(snap) - counters(before) - straddling_w * yesterday_part_s / 3.6e6
    np.testing.assert_allclose(today_array(ReadModel(sim).today()), expected, rtol=1e-6, atol=1e-9)


def test_a_clock_jump_to_another_day_starts_a_new_day_and_books_nothing():
    wall = [dt.datetime(2026, 6, 21, 10, 0, tzinfo=dt.timezone.utc)]
    sim = Simulation(load_config({"houses": 5, "seed": 7}), now_fn=lambda: wall[0])
    for _ in range(5):
        wall[0] += dt.timedelta(seconds=1)
        sim.step()
    assert ReadModel(sim).today().production_kwh > 0
    wall[0] += dt.timedelta(days=2, hours=1)  # suspend, wall clock set forward: a jump
    jumped = sim.step()
    assert jumped.dt_s == 0.0
    day = ReadModel(sim).today()
    assert day.day_start == pd.Timestamp("2026-06-23", tz=ZURICH)
    assert today_array(day) == pytest.approx(np.zeros(5))
    wall[0] += dt.timedelta(seconds=1)
    snap = sim.step()
    np.testing.assert_allclose(today_array(ReadModel(sim).today()), counters(snap) - counters(jumped), rtol=1e-6, atol=1e-9)


def test_today_summary_shows_the_day_with_units_and_self_sufficiency():
    sim = make_sim(clock={"start": "2026-06-21T05:00:00", "speed_factor": 600.0})
    view = TodaySummary(reader=ReadModel(sim))
    assert "–" in view.text  # before the first tick
    for _ in range(60):
        snap = sim.step()
        view.update(snap)
    day = view.day
    assert day is not None and day.consumption_kwh > 0
    assert day.self_sufficiency == pytest.approx(1.0 - day.grid_import_kwh / day.consumption_kwh)
    assert day.until == snap.timestamp and day.day_start == pd.Timestamp("2026-06-21", tz=ZURICH)
    text = view.text
    for value in (day.production_kwh, day.consumption_kwh, day.shared_kwh, day.grid_import_kwh, day.grid_export_kwh):
        assert format_energy(value) in text
    assert format_share(day.self_sufficiency) in text and "Sun 21 Jun 2026" in text
    assert local_midnight_s(snap.timestamp.timestamp(), ZURICH) == day.day_start.timestamp()


def test_today_summary_sends_only_changed_values():
    sim = make_sim(clock={"start": "2026-06-21T02:00:00"}, pv_variation="disabled")
    view = TodaySummary(reader=ReadModel(sim))
    doc = in_document(view)
    snap = sim.step()
    view.update(snap)
    size, _ = patch_events(doc, lambda: view.update(snap))
    assert size == 0  # the same snapshot again: nothing travels
    snap = sim.step()
    size, events = patch_events(doc, lambda: view.update(snap))
    assert 0 < size < 600
    sent = {col for e in events if isinstance(e, ColumnDataChangedEvent) for col in (e.cols or ())}
    assert sent and "day" not in sent and sent <= set(today_values(view.day))  # the date did not change


def test_the_time_axis_has_a_ticker_for_every_span():
    """A chart of one point has an x range of no width; BokehJS picks the ticker whose interval
    range holds the span's ideal interval and fails to draw (taking the page with it) when none
    reaches that far down or up."""
    from leg_sim.ui.charts import time_of_day_ticker

    tickers = time_of_day_ticker().tickers
    assert tickers[0].min_interval == 0.0
    assert tickers[-1].max_interval is None
    for lower, upper in itertools.pairwise(tickers):
        assert lower.max_interval <= upper.min_interval
