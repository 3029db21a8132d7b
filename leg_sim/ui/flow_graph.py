"""The flow graph: houses around the community bus, the grid beside it, live directed edges.

Nodes and edges are the community's topology (a networkx graph from
:func:`leg_sim.model.community_topology`), placed by
:mod:`leg_sim.ui.graph_layout`. One Bokeh figure has separate renderers for
edges, arrowheads, house nodes and the bus/grid nodes, each with its own
HoverTool, so hovering works on nodes and on edges (an ``hv.Graph`` can only
hover one of them).

Reading it:
* edge colour: green = export (towards the bus or the grid), red = import,
  grey = idle (|P| < 20 W); the arrowhead points the way power flows;
* edge width grows with |P| (1 px per 500 W, 1.5 to 14 px);
* house colour: net power from red (importing) through yellow to green
  (exporting); the label under a house is its net power.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import panel as pn
from bokeh.models import ColumnDataSource, CustomJSHover, CustomJSTransform, HoverTool, Range1d
from bokeh.plotting import figure
from bokeh.transform import linear_cmap, transform

from leg_sim.model import BUS, GRID
from leg_sim.snapshot import Snapshot
from leg_sim.ui import theme
from leg_sim.ui.columns import ColumnSync, pack
from leg_sim.ui.graph_layout import community_layout
from leg_sim.ui.shared import per_snapshot
from leg_sim.ui.view import View
from leg_sim.units import COARSE, format_power

#: Edge width per watt, and its clamp. [px/W], [px]
WIDTH_PX_PER_W = 1.0 / 500.0
MIN_WIDTH_PX, MAX_WIDTH_PX = 1.5, 14.0
#: Up to this many houses the graph labels each house with its id and net power,
#: up to ID_LABEL_LIMIT with its id only; beyond that, hover tells.
LABEL_LIMIT = 12
ID_LABEL_LIMIT = 30
FRAME_PX = 560
#: Size of the bus and grid markers. [px]
HUB_PX = 44


def edge_state(power_w: np.ndarray) -> np.ndarray:
    """+1 export, −1 import, 0 idle for signed powers (positive = towards bus/grid)."""
    p = np.asarray(power_w, dtype=float)
    return np.where(p > theme.IDLE_W, 1, np.where(p < -theme.IDLE_W, -1, 0))


def edge_width_px(power_w: np.ndarray) -> np.ndarray:
    """Line width proportional to |P|, clamped. [px]"""
    return np.clip(np.abs(power_w) * WIDTH_PX_PER_W, MIN_WIDTH_PX, MAX_WIDTH_PX)


def arrow_size_px(power_w: np.ndarray) -> np.ndarray:
    """Arrowhead size: none on idle edges, growing with the edge width. [px]"""
    return np.where(np.abs(power_w) > theme.IDLE_W, 7.0 + 1.2 * edge_width_px(power_w), 0.0)


# The browser derives widths and arrowhead sizes from the power column with the same
# formulas as edge_width_px / arrow_size_px, so only the power travels each tick.
_WIDTH_JS = f"return xs.map(kw => Math.min(Math.max(Math.abs(kw) * 1000 * {WIDTH_PX_PER_W}, {MIN_WIDTH_PX}), {MAX_WIDTH_PX}));"
_ARROW_JS = (
    f"return xs.map(kw => Math.abs(kw) * 1000 > {theme.IDLE_W} ? "
    f"7 + 1.2 * Math.min(Math.max(Math.abs(kw) * 1000 * {WIDTH_PX_PER_W}, {MIN_WIDTH_PX}), {MAX_WIDTH_PX}) : 0);"
)


def net_label(house_id: str, net_w: float) -> str:
    """Graph label of a house: its id and net power, coarse so that it does not flicker."""
    return f"{house_id}  {format_power(net_w, signed=True, resolution=COARSE)}"


class FlowGraph(View):
    """Live directed graph of the community's power flows (see module docstring)."""

    def build(self) -> Any:
        self._ids: tuple[str, ...] | None = None
        # One source for edges and their arrowheads: geometry is static, power/state/angle change.
        self.edges = ColumnSync(ColumnDataSource(data=dict(xs=[], ys=[], ax=[], ay=[], angle=[], state=[], power_kw=[], src=[], dst=[])))
        self.houses = ColumnSync(
            ColumnDataSource(
                data=dict(x=[], y=[], house_id=[], net_kw=[], pv_kw=[], base_kw=[], flex_kw=[], appliance=[], label=[], label_y=[])
            )
        )
        self.hubs = ColumnSync(ColumnDataSource(data=dict(x=[], y=[], name=[], marker=[], color=[], label=[], label_y=[])))
        self.figure = self._figure()
        return pn.pane.Bokeh(self.figure, sizing_mode="fixed")

    def _figure(self) -> Any:
        fig = figure(
            frame_width=FRAME_PX,
            frame_height=FRAME_PX,
            x_range=Range1d(start=-2, end=2),
            y_range=Range1d(start=-2, end=2),
            toolbar_location=None,
            tools="",
            min_border=8,
            background_fill_color=None,
            border_fill_color=None,
            outline_line_color=None,
            name="flow_graph",
        )
        fig.axis.visible = False
        fig.grid.visible = False
        state_cmap = linear_cmap("state", (theme.RED, theme.GREY, theme.GREEN), -1, 1)
        width = transform("power_kw", CustomJSTransform(v_func=_WIDTH_JS))
        edge_r = fig.multi_line("xs", "ys", source=self.edges.source, line_color=state_cmap, line_width=width, line_alpha=0.85)
        edge_r.hover_glyph = None
        fig.scatter(
            "ax", "ay", source=self.edges.source, marker="triangle", angle="angle",
            size=transform("power_kw", CustomJSTransform(v_func=_ARROW_JS)), fill_color=state_cmap, line_color=state_cmap,
        )
        house_r = fig.scatter(
            "x", "y", source=self.houses.source, size=20, marker="circle",
            fill_color=linear_cmap("net_kw", theme.NET_PALETTE, *theme.NET_PALETTE_KW), line_color="#555555", line_width=1.2,
        )
        hub_r = fig.scatter("x", "y", source=self.hubs.source, size=HUB_PX, marker="marker", fill_color="color", line_color="#555555", line_width=1.5)
        fig.text("x", "label_y", text="label", source=self.houses.source, text_align="center", text_baseline="top",
                 text_font_size="11px", text_color=theme.LABEL_GREY)
        fig.text("x", "label_y", text="label", source=self.hubs.source, text_align="center", text_baseline="top",
                 text_font_size="12px", text_color=theme.LABEL_GREY, text_font_style="bold")
        fig.add_tools(
            HoverTool(
                renderers=[house_r],
                tooltips=[
                    ("House", "@house_id"),
                    ("Production (PV)", "@pv_kw{0.00} kW"),
                    ("Consumption", "@base_kw{load} kW"),
                    ("  base load", "@base_kw{0.00} kW"),
                    ("  flex load", "@flex_kw{0.00} kW (@appliance)"),
                    ("Net power", "@net_kw{+0.00} kW"),
                ],
                # Consumption = base + flex is added up in the browser rather than sent.
                formatters={"@base_kw": CustomJSHover(
                    args=dict(source=self.houses.source),
                    code=(
                        "const i = special_vars.index;"
                        "return format == 'load' ? (source.data.base_kw[i] + source.data.flex_kw[i]).toFixed(2) : value.toFixed(2);"
                    ),
                )},
                name="house_hover",
            ),
            HoverTool(renderers=[hub_r], tooltips=[("", "@label")], name="hub_hover"),
            HoverTool(
                renderers=[edge_r],
                tooltips=[("Flow", "@src → @dst"), ("Power", "@power_kw{0.00} kW")],
                line_policy="interp",
                name="edge_hover",
            ),
        )
        self._house_renderer = house_r
        return fig

    # ------------------------------------------------------------------ updates
    def _relayout(self, snap: Snapshot) -> None:
        lay = community_layout(snap.house_ids)
        hx, hy = lay.house_xy[:, 0], lay.house_xy[:, 1]
        self.figure.x_range.start, self.figure.x_range.end = lay.x_range
        self.figure.y_range.start, self.figure.y_range.end = lay.y_range
        size_px = lay.node_size_px(FRAME_PX)
        self._house_renderer.glyph.size = size_px
        data_per_px = (lay.x_range[1] - lay.x_range[0]) / FRAME_PX
        # Edges run from rim to rim, so hovering a node shows the node, not its edge;
        # the geometry never changes with the flow, only colour, width and arrowheads do.
        rim = {BUS: (HUB_PX / 2 + 2) * data_per_px, GRID: (HUB_PX / 2 + 2) * data_per_px}
        house_rim = (size_px / 2 + 2) * data_per_px
        xs, ys, arrow_x, arrow_y, export_angle = [], [], [], [], []
        for src, dst in lay.graph.edges:  # every edge points the export way: house → bus → grid
            (x0, y0), (x1, y1) = lay.position(src), lay.position(dst)
            length = max(math.hypot(x1 - x0, y1 - y0), 1e-9)
            ux, uy = (x1 - x0) / length, (y1 - y0) / length
            r0, r1 = rim.get(src, house_rim), rim.get(dst, house_rim)
            xs.append([float(x0 + r0 * ux), float(x1 - r1 * ux)])
            ys.append([float(y0 + r0 * uy), float(y1 - r1 * uy)])
            # Arrowheads sit at 55 % of the way from the outer end to the inner one.
            arrow_x.append(x0 + 0.55 * (x1 - x0))
            arrow_y.append(y0 + 0.55 * (y1 - y0))
            export_angle.append(math.atan2(y1 - y0, x1 - x0))
        self._export_angle = np.array(export_angle)
        self._edge_names = [(str(s), str(d)) for s, d in lay.graph.edges]
        self._ids = snap.house_ids
        self.edges.replace(dict(xs=xs, ys=ys, ax=pack(arrow_x), ay=pack(arrow_y), **self._edge_columns(snap)))
        label_dy = (size_px / 2 + 2) * data_per_px
        self.houses.replace(dict(x=pack(hx), y=pack(hy), house_id=list(snap.house_ids), label_y=pack(hy - label_dy), **self._house_columns(snap)))
        (bx, by), (gx, gy) = lay.bus_xy, lay.grid_xy
        self.hubs.replace(
            dict(
                x=[bx, gx],
                y=[by, gy],
                name=[BUS, GRID],
                marker=["hex", "square"],
                label_y=[by - 26 * data_per_px, gy - 26 * data_per_px],
                **self._hub_columns(snap),
            )
        )

    def _edge_columns(self, snap: Snapshot) -> dict:
        p = snap.edge_power_w()
        state = edge_state(p)
        src = [a if s >= 0 else b for (a, b), s in zip(self._edge_names, state, strict=True)]
        dst = [b if s >= 0 else a for (a, b), s in zip(self._edge_names, state, strict=True)]
        # A triangle marker points up at angle 0; turn it to the flow direction.
        angle = self._export_angle + np.where(state < 0, np.pi, 0.0) - np.pi / 2
        return dict(angle=pack(angle, 2), state=state.tolist(), power_kw=pack(np.abs(p) / 1000.0, 2), src=src, dst=dst)

    @staticmethod
    def _house_columns(snap: Snapshot) -> dict:
        if snap.house_count <= LABEL_LIMIT:
            labels = [net_label(h, w) for h, w in zip(snap.house_ids, snap.net_power_w, strict=True)]
        elif snap.house_count <= ID_LABEL_LIMIT:
            labels = list(snap.house_ids)
        else:
            labels = [""] * snap.house_count
        return dict(
            net_kw=pack(snap.net_power_w / 1000.0, 2),
            pv_kw=pack(snap.pv_power_w / 1000.0, 2),
            base_kw=pack(snap.base_load_w / 1000.0, 2),
            flex_kw=pack(snap.flex_load_w / 1000.0, 2),
            appliance=[snap.flex_appliance(i) or "none" for i in range(snap.house_count)],
            label=labels,
        )

    @staticmethod
    def _hub_columns(snap: Snapshot) -> dict:
        grid_w = snap.grid_export_w - snap.grid_import_w
        exporting, importing = grid_w > theme.IDLE_W, grid_w < -theme.IDLE_W
        exchange = snap.grid_export_w if exporting else snap.grid_import_w
        grid_text = f"{'export' if exporting else 'import'} {format_power(exchange, resolution=COARSE)}" if exporting or importing else "idle"
        return dict(
            color=[theme.BUS_BLUE, theme.GREEN if exporting else theme.RED if importing else theme.GREY],
            label=[f"Bus · shared {format_power(snap.shared_w, resolution=COARSE)}", f"Grid · {grid_text}"],
        )

    def update(self, snap: Snapshot) -> None:
        """Show `snap`; sends only the columns whose displayed values changed."""
        if snap.house_ids != self._ids:
            self._relayout(snap)
            return
        # The same for every session showing this snapshot: computed once, then reused.
        self.edges.push(per_snapshot(snap, "graph.edges", lambda: self._edge_columns(snap)))
        self.houses.push(per_snapshot(snap, "graph.houses", lambda: self._house_columns(snap)))
        self.hubs.push(per_snapshot(snap, "graph.hubs", lambda: self._hub_columns(snap)))
