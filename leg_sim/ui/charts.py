"""Streaming chart of community production, consumption, import and export.

Each tick appends the new rows with ``ColumnDataSource.stream`` (the browser
keeps the rest; nothing is redrawn from scratch). The x axis follows the last
15 simulated minutes. A new viewer is back-filled from the engine's history,
so the recent past is there at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import panel as pn
from bokeh.models import ColumnDataSource, DataRange1d, HoverTool
from bokeh.models.annotations import Legend, LegendItem
from bokeh.plotting import figure

from leg_sim.snapshot import Snapshot
from leg_sim.ui import theme
from leg_sim.ui.view import View

#: Visible window of simulated time. [s]
WINDOW_S = 15 * 60
#: Most points a browser keeps per line.
ROLLOVER = 5000
#: (column [kW], history field [W], legend, colour); short column names: they travel every tick.
SERIES = (
    ("prod_kw", "total_production_w", "Production", theme.PV_AMBER),
    ("cons_kw", "total_consumption_w", "Consumption", theme.BUS_BLUE),
    ("imp_kw", "grid_import_w", "Grid import", theme.RED),
    ("exp_kw", "grid_export_w", "Grid export", theme.GREEN),
)


def local_ms(time_s: np.ndarray, timezone: str) -> np.ndarray:
    """Epoch seconds -> milliseconds of local wall time, as Bokeh's datetime axis expects."""
    if len(time_s) == 0:
        return np.empty(0)
    offsets = pd.DatetimeIndex(pd.to_datetime(time_s, unit="s", utc=True)).tz_convert(timezone)
    utcoff_s = np.array([o.utcoffset().total_seconds() for o in offsets[[0, -1]]])
    # Offsets change at most once within the window; use per-point offsets only then.
    utcoff_s = np.array([o.utcoffset().total_seconds() for o in offsets]) if utcoff_s[0] != utcoff_s[-1] else utcoff_s[0]
    return (np.asarray(time_s) + utcoff_s) * 1000.0


class CommunityChart(View):
    """Rolling window of community totals; see the module docstring."""

    def build(self) -> Any:
        self.source = ColumnDataSource(data={"time": [], **{k: [] for k, *_ in SERIES}})
        self._last_tick = 0
        self.figure = self._figure()
        self.backfill()
        return pn.pane.Bokeh(self.figure, sizing_mode="stretch_width")

    def _figure(self) -> Any:
        fig = figure(
            height=260,
            sizing_mode="stretch_width",
            x_axis_type="datetime",
            x_range=DataRange1d(follow="end", follow_interval=WINDOW_S * 1000.0, range_padding=0.0),
            y_range=DataRange1d(start=0),
            y_axis_label="Power (kW)",
            toolbar_location=None,
            tools="",
            background_fill_color=None,
            border_fill_color=None,
            name="community_chart",
        )
        lines: list[Any] = [fig.line("time", key, source=self.source, line_width=2, color=color) for key, _, _, color in SERIES]
        items = [LegendItem(label=label, renderers=[line]) for (_, _, label, _), line in zip(SERIES, lines, strict=True)]
        fig.add_layout(Legend(items=items, orientation="horizontal", location="top_left", background_fill_alpha=0.0), "above")
        fig.add_tools(
            HoverTool(
                tooltips=[("Time", "@time{%H:%M:%S}")] + [(label, f"@{key}{{0.00}} kW") for key, _, label, _ in SERIES],
                formatters={"@time": "datetime"},
                mode="vline",
                renderers=[lines[0]],
            )
        )
        return fig

    def _rows(self, cols: dict) -> dict:
        out = {"time": local_ms(cols["time_s"], self.read_model.timezone).tolist()}
        for key, field, *_ in SERIES:
            out[key] = np.round(cols[field] / 1000.0, 2).tolist()  # 10 W, as the y axis can show
        return out

    def backfill(self) -> None:
        """Load the last window of history (a new viewer sees the recent past at once)."""
        cols = self.read_model.history(seconds=WINDOW_S)
        if len(cols["tick"]):
            cols = {k: v[-ROLLOVER:] for k, v in cols.items()}
            self.source.data = self._rows(cols)
            self._last_tick = int(cols["tick"][-1])

    def update(self, snap: Snapshot) -> None:
        """Append the ticks since the last update (all of them, even if some were coalesced)."""
        if snap.tick <= self._last_tick:
            return
        cols = self.read_model.history_after(self._last_tick, limit=ROLLOVER)
        if len(cols["tick"]) == 0:
            return
        self._last_tick = int(cols["tick"][-1])
        self.source.stream(self._rows(cols), rollover=ROLLOVER)
