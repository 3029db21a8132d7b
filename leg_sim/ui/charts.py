"""Streaming chart of community production, consumption, grid import and grid export.

A labelled button group chooses the window: the last 15 simulated minutes, the
last hour, or today (the simulated day so far, from local midnight in the
community's time zone). Switching back-fills the whole window from the engine's
history at once: the two short windows from the tick ring, today from the
per-minute ring (:mod:`leg_sim.history`).

The chart is HoloViews: a ``DynamicMap`` of one ``Curve`` fed by an
``hv.streams.Buffer``, rendered with Bokeh; a new window is redrawn by HoloViews
from the buffer. New bins go straight into the ``ColumnDataSource`` HoloViews
made, with ``stream`` (only new rows travel, never the window), and into the
buffer without an event (:meth:`CommunityChart._stream`), as short lists:
through the DynamicMap each message cost 8-20 ms of server time per session and
about 1 KB (HoloViews streams every column as a binary array with its own
header); this way about 1 ms and ~250 B. The Curve carries all four series
(production is its line; the others are its hover columns and get their own
line on the same source), so one source and five columns stream per message.

Points are time-weighted means over display bins (:data:`WINDOWS`: 5 s, 20 s,
5 min), so a window holds at most about 300 points at any tick rate, and a
bin's mean times its length is its energy. A bin is drawn once complete. New
bins are sent together at most every ``refresh_s`` wall-clock seconds, each
session at its own phase of that period so that sessions do not all update on
the same tick: one message per 5 s at most.
"""

from __future__ import annotations

import dataclasses
import math
import random
import time
import weakref
from typing import Any

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param
from bokeh.models import AdaptiveTicker, ColumnDataSource, DataRange1d, DatetimeTicker, HoverTool, Line
from bokeh.models.annotations import Legend, LegendItem

from leg_sim.history import MINUTE_S, local_midnight_s
from leg_sim.snapshot import Snapshot
from leg_sim.ui import theme
from leg_sim.ui.controls import labelled
from leg_sim.ui.readmodel import ReadModel
from leg_sim.ui.shared import per_snapshot
from leg_sim.ui.view import View

hv.extension("bokeh", logo=False)


@dataclasses.dataclass(frozen=True)
class Window:
    """One choice of the chart's time window."""

    label: str
    span_s: float | None  # None: from local midnight [s]
    bin_s: float  # display resolution [s]


#: The windows offered, in button order.
WINDOWS = (Window("15 min", 15 * 60.0, 5.0), Window("1 h", 3600.0, 20.0), Window("Today", None, 300.0))
#: Window shown when a session opens.
DEFAULT_WINDOW = WINDOWS[0].label
#: (column [kW], history field [W], legend, colour); short column names: they travel every message.
SERIES = (
    ("prod_kw", "total_production_w", "Production", theme.PV_AMBER),
    ("cons_kw", "total_consumption_w", "Consumption", theme.BUS_BLUE),
    ("imp_kw", "grid_import_w", "Grid import", theme.RED),
    ("exp_kw", "grid_export_w", "Grid export", theme.GREEN),
)
#: Points the browser keeps: more than any window holds (a 25-hour day has 300 bins of 5 min).
BUFFER_LENGTH = 400
#: Most tick rows read per update; a session further behind is back-filled instead.
TAIL_LIMIT = 5000
#: Chart height. [px]
HEIGHT_PX = 260
#: Names of the chart's source and of the source that holds the window shown, as the browser finds them.
SOURCE_NAME, WINDOW_SOURCE_NAME = "leg-chart-source", "leg-chart-window"
#: Names of the chart's x range and window buttons, as a page without a session finds them.
X_RANGE_NAME, WINDOW_BUTTONS_TAG = "leg-chart-x", "leg-chart-buttons"


def local_ms(time_s: np.ndarray, timezone: str) -> np.ndarray:
    """Epoch seconds -> milliseconds of local wall time, as Bokeh's datetime axis expects."""
    if len(time_s) == 0:
        return np.empty(0)
    offsets = pd.DatetimeIndex(pd.to_datetime(time_s, unit="s", utc=True)).tz_convert(timezone)
    utcoff_s = np.array([o.utcoffset().total_seconds() for o in offsets[[0, -1]]])
    # Offsets change at most once within the window; use per-point offsets only then.
    utcoff_s = np.array([o.utcoffset().total_seconds() for o in offsets]) if utcoff_s[0] != utcoff_s[-1] else utcoff_s[0]
    return (np.asarray(time_s) + utcoff_s) * 1000.0


def bin_index(time_s: np.ndarray, bin_s: float, origin_s: float = 0.0) -> np.ndarray:
    """Number of the display bin each step ending at `time_s` falls in (bin k is
    (origin_s + k·bin_s, origin_s + (k+1)·bin_s]) (pure). [s in]"""
    return np.ceil((np.asarray(time_s, dtype=float) - origin_s) / bin_s).astype(np.int64) - 1


def bin_means(
    time_s: np.ndarray, dt_s: np.ndarray, columns: dict[str, np.ndarray], bin_s: float, origin_s: float = 0.0
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Time-weighted mean of each column per display bin (pure).

    A row's value holds over its step (time_s − dt_s, time_s], as the energy
    counters book it; the row goes to the bin its time ends in. A bin whose rows
    all have a step of 0 (first tick, a jump) gets their plain mean.

    Parameters
    ----------
    time_s
        End of each row's step, rising. [s since epoch]
    dt_s
        Length of each row's step. [s]
    columns
        Values per row (any unit).
    bin_s
        Bin length. [s]
    origin_s
        A bin boundary (bins are [origin_s + k·bin_s, origin_s + (k+1)·bin_s)). [s since epoch]

    Returns
    -------
    bin_start_s, means
        Start of each bin that has rows, rising, and each column's mean in it. [s since epoch]
    """
    time_s = np.asarray(time_s, dtype=float)
    if len(time_s) == 0:
        return np.empty(0), {k: np.empty(0) for k in columns}
    index = bin_index(time_s, bin_s, origin_s)
    bins, first = np.unique(index, return_index=True)
    weight = np.asarray(dt_s, dtype=float)
    total = np.add.reduceat(weight, first)
    count = np.add.reduceat(np.ones_like(weight), first)
    means = {}
    for key, values in columns.items():
        values = np.asarray(values, dtype=float)
        weighted = np.add.reduceat(values * weight, first)
        plain = np.add.reduceat(values, first) / count
        means[key] = np.where(total > 0, weighted / np.where(total > 0, total, 1.0), plain)
    return origin_s + bins * bin_s, means


def window_named(label: str) -> Window:
    """The window with this button label."""
    return next(w for w in WINDOWS if w.label == label)


class BinStream:
    """The completed display bins of one window, as ticks arrive (no Panel, no Bokeh).

    :meth:`backfill` gives the whole window from history; :meth:`advance` the bins
    completed since the last call. A chart of one session and the shared feed of
    all sessions (:mod:`leg_sim.ui.feed`) use the same stream.

    Parameters
    ----------
    window
        The window whose bins are made.
    reader
        Where the history comes from.
    """

    def __init__(self, window: Window, reader: ReadModel):
        self.window = window
        self.reader = reader
        self._pending: dict[str, np.ndarray] | None = None  # rows of the open bin (short windows)
        self.last_tick = 0
        self._day_start_s = math.nan
        self._next_bin_s = math.nan

    def backfill(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """All complete bins of the window now (start the stream again). [s since epoch], [W]"""
        window = self.window
        self._pending = None
        self.last_tick = 0
        self._day_start_s = math.nan
        self._next_bin_s = math.nan
        snap = self.reader.snapshot
        latest_s = math.nan if snap is None else snap.timestamp.timestamp()
        if window.span_s is None:
            day_start_s = math.nan if snap is None else self.day_start_of(snap)
            starts, means = self._today_bins(latest_s, day_start_s, fresh=True)
        else:
            cols = self.reader.history(seconds=window.span_s, steps=True)
            self.last_tick = int(cols["tick"][-1]) if len(cols["tick"]) else 0
            starts, means = self._close_bins(cols)
        if snap is not None:
            self.last_tick = max(self.last_tick, snap.tick)
        return starts, means

    def advance(self, snap: Snapshot) -> tuple[np.ndarray, dict[str, np.ndarray], bool]:
        """Bins completed up to `snap` since the last call, and True when the stream started
        again (a new local day, or too far behind): then the bins are the whole window."""
        if snap.tick <= self.last_tick:
            return np.empty(0), {}, False
        if self.window.span_s is None:
            day_start_s = self.day_start_of(snap)
            if day_start_s != self._day_start_s:  # a new local day: the chart starts again
                return (*self.backfill(), True)
            starts, means = self._today_bins(snap.timestamp.timestamp(), day_start_s)
        else:
            if snap.tick - self.last_tick > TAIL_LIMIT:
                return (*self.backfill(), True)
            cols = self.reader.history_after(self.last_tick, limit=TAIL_LIMIT, steps=True)
            starts, means = self._close_bins(cols)
        self.last_tick = snap.tick
        return starts, means, False

    def _close_bins(self, cols: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Add new tick rows to the open bin; return the bins that are now complete."""
        if self._pending is not None:
            cols = {k: np.concatenate([self._pending[k], cols[k]]) for k in self._pending}
        self._pending = None
        if len(cols["time_s"]) == 0:
            return np.empty(0), {}
        fields = {field: cols[field] for _, field, *_ in SERIES}
        starts, means = bin_means(cols["time_s"], cols["dt_s"], fields, self.window.bin_s)
        in_open = bin_index(cols["time_s"], self.window.bin_s) == bin_index(cols["time_s"][-1:], self.window.bin_s)[0]
        self._pending = {k: v[in_open] for k, v in cols.items() if k in ("time_s", "dt_s", *fields)}
        return starts[:-1], {k: v[:-1] for k, v in means.items()}

    def _today_bins(self, latest_s: float, day_start_s: float, fresh: bool = False) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Bins of today completed since the last call, from the minute ring (all of today if `fresh`)."""
        if math.isnan(latest_s):
            return np.empty(0), {}
        bin_s = self.window.bin_s
        if fresh or day_start_s != self._day_start_s:
            self._day_start_s, self._next_bin_s = day_start_s, day_start_s
        complete_end_s = day_start_s + math.floor((latest_s - day_start_s) / bin_s) * bin_s
        if complete_end_s <= self._next_bin_s:
            return np.empty(0), {}
        minutes = self.reader.minutes(self._next_bin_s, complete_end_s)
        self._next_bin_s = complete_end_s
        fields = {field: minutes[field] for _, field, *_ in SERIES}
        return bin_means(minutes["minute_s"] + MINUTE_S, minutes["covered_s"], fields, bin_s, origin_s=day_start_s)

    def day_start_of(self, snap: Snapshot) -> float:
        """Local midnight of the snapshot's day, computed once per snapshot for all sessions. [s since epoch]"""
        timezone = self.reader.timezone
        return float(per_snapshot(snap, ("local_midnight_s", timezone), lambda: local_midnight_s(snap.timestamp.timestamp(), timezone)))

    def rows(self, bin_start_s: np.ndarray, means: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Chart rows of bins: ``time`` the local wall time of each bin's middle [ms, int64],
        and the means in kW (10 W steps), one column per series."""
        middle_s = np.asarray(bin_start_s, dtype=float) + self.window.bin_s / 2 if len(bin_start_s) else np.empty(0)
        times = local_ms(middle_s, self.reader.timezone) if len(middle_s) else np.empty(0)
        out: dict[str, np.ndarray] = {"time": np.round(times).astype(np.int64)}
        for key, field, *_ in SERIES:
            out[key] = np.round(np.asarray(means.get(field, np.empty(0)), dtype=float) / 1000.0, 2)
        return out


class _WeakHook:
    """A plot hook that calls a view's method through a weak reference.

    HoloViews keeps a DynamicMap's options, hooks included, in its global option
    store until the DynamicMap is garbage collected; a hook holding the view would
    keep the view, its DynamicMap and the closed session's whole document alive, so
    every closed session would leak (about 0.2 MB each, measured).
    """

    def __init__(self, method: Any):
        self._method = weakref.WeakMethod(method)

    def __call__(self, plot: Any, element: Any) -> None:
        method = self._method()
        if method is not None:
            method(plot, element)


def time_of_day_ticker() -> DatetimeTicker:
    """Ticks for a window of seconds to one day: Bokeh's own minute and hour steps (the
    default DatetimeTicker's second and third tickers; the hour steps open-ended, as no day
    ticker follows them), without its day, month and year tickers, which a window of minutes
    to one day never uses (nine fewer models per page). Its sub-second ticker stays, open-ended
    below: a chart of one point has a range of no width, and BokehJS finds no ticker for it
    when none reaches down that far (the chart then fails to draw, and the page around it too)."""
    minute_ms, hour_ms = 60_000.0, 3_600_000.0
    return DatetimeTicker(tickers=[
        AdaptiveTicker(mantissas=[1, 2, 5], base=10, min_interval=0.0, max_interval=500.0, num_minor_ticks=0),
        AdaptiveTicker(mantissas=[1, 2, 5, 10, 15, 20, 30], base=60, min_interval=1000.0, max_interval=30 * minute_ms, num_minor_ticks=0),
        AdaptiveTicker(mantissas=[1, 2, 4, 6, 8, 12], base=24, min_interval=hour_ms, max_interval=None, num_minor_ticks=0),
    ])


class CommunityChart(View):
    """Community totals over a chosen window, streamed with HoloViews; see the module docstring."""

    refresh_s = param.Number(default=5.0, bounds=(0.0, None), doc="Least wall-clock time between two chart messages. [s]")
    window: Any = param.Selector(default=DEFAULT_WINDOW, objects=[w.label for w in WINDOWS], doc="The window shown first.")
    choosable = param.Boolean(default=True, doc="Show the window buttons (a wall screen has nothing to click).")
    in_browser = param.Boolean(
        default=False, constant=True,
        doc="A page without a session (server.pages): the buttons switch the window in the browser, which asks its feed for the whole window.",
    )

    def build(self) -> Any:
        self.window_choice = pn.widgets.RadioButtonGroup(
            # The "outline" variant fills only the selected button, so the choice is plain to see.
            label="Chart window", options=[w.label for w in WINDOWS], value=self.window,
            color="primary", variant="outline", margin=(0, 10),
        )
        if self.in_browser:
            self.window_choice.tags = [WINDOW_BUTTONS_TAG]
            self.window_choice.jscallback(value="if (window.legWindow) window.legWindow(cb_obj);")
        self.x_range = DataRange1d(range_padding=0.0, name=X_RANGE_NAME)
        self._source: Any = None  # the ColumnDataSource HoloViews draws from, once drawn
        #: The window this page shows, for the browser's feed script (:mod:`leg_sim.ui.feed`).
        self.window_source = ColumnDataSource(data={"window": [self.window]}, name=WINDOW_SOURCE_NAME)
        self.buffer = hv.streams.Buffer(self._as_frame({"time": np.empty(0, dtype=np.int64)}), length=BUFFER_LENGTH, index=False)
        curve_opts = hv.opts.Curve(
            color=theme.PV_AMBER, line_width=2, apply_ranges=False, responsive=True, height=HEIGHT_PX,
            default_tools=[], tools=[self._hover()], toolbar=None, xlabel="Local time", ylabel="Power (kW)",
            hooks=[_WeakHook(self._style)],
        )
        self.dmap = hv.DynamicMap(self._element, streams=[self.buffer]).opts(curve_opts)
        self.pane = pn.pane.HoloViews(self.dmap, backend="bokeh", sizing_mode="stretch_width", min_height=HEIGHT_PX)
        self.window_choice.param.watch(self._window_changed, "value")
        self.backfill()
        if not self.choosable:
            return pn.Column(self.pane, sizing_mode="stretch_width")
        return pn.Column(labelled(self.window_choice), self.pane, sizing_mode="stretch_width")

    # ------------------------------------------------------------------ figure
    @staticmethod
    def _element(data: pd.DataFrame) -> hv.Curve:
        # The buffer's own data: HoloViews then streams new rows instead of replacing the source.
        return hv.Curve(data, "time", [key for key, *_ in SERIES])

    @staticmethod
    def _hover() -> HoverTool:
        """Hover of all four series with units, at the pointer's time. HoloViews sets these
        same tooltips again on every update; being equal, they do not travel."""
        return HoverTool(
            tooltips=[("Time", "@time{%a %H:%M:%S}")] + [(label, f"@{key}{{0.00}} kW") for key, _, label, _ in SERIES],
            formatters={"@time": "datetime"},
            mode="vline",
        )

    def _style(self, plot: Any, element: Any) -> None:
        """Lines for the other series, legend, hover, ranges and a transparent background (once)."""
        if plot.handles.get("leg_styled"):
            return  # hooks run on every update
        fig, source, main = plot.state, plot.handles["source"], plot.handles["glyph_renderer"]
        self._source = source
        # One glyph per line: nothing is selected, muted or hovered here, so the extra glyphs
        # HoloViews and figure.line make for those looks are left out (fewer models per page).
        main.update(selection_glyph="auto", nonselection_glyph="auto", muted_glyph="auto", hover_glyph=None)
        lines = [main] + [fig.add_glyph(source, Line(x="time", y=key, line_width=2, line_color=color)) for key, _, _, color in SERIES[1:]]
        items = [LegendItem(label=label, renderers=[line]) for (_, _, label, _), line in zip(SERIES, lines, strict=True)]
        # The window source rides along in the legend's tags so it is part of the document.
        legend = Legend(
            items=items, orientation="horizontal", location="top_left", background_fill_alpha=0.0, border_line_alpha=0.0, tags=[self.window_source]
        )
        fig.add_layout(legend, "above")
        source.name = SOURCE_NAME
        fig.x_range = self.x_range
        for axis in fig.xaxis:
            axis.ticker = time_of_day_ticker()
        fig.y_range = DataRange1d(start=0.0)
        fig.background_fill_color = None
        fig.border_fill_color = None
        fig.name = "community_chart"
        for tool in fig.select(type=HoverTool):
            tool.renderers = [main]
        plot.handles["leg_styled"] = True

    def _frame(self, bin_start_s: np.ndarray, means: dict[str, np.ndarray]) -> pd.DataFrame:
        """Buffer rows (:meth:`BinStream.rows`, times as datetimes).

        A DataFrame: the Curve keeps it as its data (a dict would be copied), which is
        what lets HoloViews stream rows instead of replacing the source."""
        return self._as_frame(self.bins.rows(bin_start_s, means))

    @staticmethod
    def _as_frame(rows: dict[str, np.ndarray]) -> pd.DataFrame:
        """Rows with ``time`` in ms as a DataFrame with datetimes; a missing series is empty."""
        out: dict[str, Any] = {"time": rows["time"].astype("datetime64[ms]").astype("datetime64[ns]")}
        for key, *_ in SERIES:
            out[key] = rows.get(key, np.empty(0))
        return pd.DataFrame(out)

    # ------------------------------------------------------------------ state
    def _window(self) -> Window:
        return window_named(self.window_choice.value)

    @property
    def data(self) -> dict[str, np.ndarray]:
        """What the chart holds now (the buffer's columns; times are local wall time)."""
        return {k: v.to_numpy() for k, v in self.buffer.data.items()}

    def _window_changed(self, event: Any) -> None:
        with pn.io.hold():
            self.backfill()
            self.window_source.data = {"window": [self._window().label]}

    def backfill(self) -> None:
        """Show the whole chosen window from history at once (a new viewer or a new window)."""
        window = self._window()
        self.bins = BinStream(window, self.read_model)
        self._unsent: list[tuple[np.ndarray, dict[str, np.ndarray]]] = []
        snap = self.read_model.snapshot
        # Sessions send their batches at their own phase of the refresh period, not all on the
        # same tick: a HoloViews update costs 8-20 ms of server time per session, and twenty
        # sessions sending at once would hold back every session's next tick.
        self._phase_s = random.Random(id(self)).uniform(0.0, self.refresh_s)
        self._sent_wall_s = snap.wall_time_s if snap is not None else time.time()
        if window.span_s is None:
            self.x_range.update(follow=None, follow_interval=None)
        else:
            self.x_range.update(follow="end", follow_interval=window.span_s * 1000.0)
        starts, means = self.bins.backfill()
        self.buffer.clear()
        if len(starts):
            self.buffer.send(self._frame(starts, means))

    # ------------------------------------------------------------------ per tick
    def _due(self, wall_s: float) -> bool:
        """True once this session's own refresh boundary (its phase of the period) has passed
        since its last message, so sessions send on different ticks."""
        if self.refresh_s <= 0:
            return True
        period = self.refresh_s
        return math.floor((wall_s - self._phase_s) / period) > math.floor((self._sent_wall_s - self._phase_s) / period)

    def resync(self) -> None:
        self.backfill()

    def update(self, snap: Snapshot) -> None:
        """Collect the bins completed since the last update; send them at most every ``refresh_s``."""
        starts, means, restarted = self.bins.advance(snap)
        if restarted:
            self.backfill()
            return
        if len(starts):
            self._unsent.append((starts, means))
        if self._unsent and self._due(snap.wall_time_s):
            starts = np.concatenate([s for s, _ in self._unsent])
            means = {k: np.concatenate([m[k] for _, m in self._unsent]) for k in self._unsent[0][1]}
            self._unsent = []
            self._sent_wall_s = snap.wall_time_s
            self._stream(self._frame(starts, means))

    def _stream(self, frame: pd.DataFrame) -> None:
        """Append new bins. HoloViews drew the chart and redraws it from the buffer on a new
        window; per tick the new rows go straight into the source HoloViews made, as short
        lists, and the buffer takes the same rows without an event. Through the DynamicMap
        each message cost 8-20 ms of server time per session and ~1 KB (one binary array per
        column); this way it costs well under 1 ms and ~250 B."""
        source = self._source
        if source is None or source.document is None:
            self.buffer.send(frame)  # not drawn yet: HoloViews draws what the buffer holds
            return
        self.buffer.update(data=frame)
        rows: dict[str, list] = {"time": list(frame["time"].to_numpy())}
        rows.update({key: frame[key].tolist() for key, *_ in SERIES})
        source.stream(rows, rollover=BUFFER_LENGTH)
