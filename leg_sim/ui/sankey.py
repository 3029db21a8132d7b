"""Who supplies whom: a Plotly Sankey from producing houses to consuming houses, with the grid.

Left: houses with surplus, and the grid as a source; right: houses with a
deficit, and the grid as a sink. The house-to-house links come from
:func:`leg_sim.flows.pairwise_flows_w` (the dynamic pro-rata key) and the grid
links from each house's share sent to or drawn from the grid, as the snapshot
holds them. Each house's own PV use stays inside the house and is not drawn.

* Nodes keep a stable order (houses by position, then the grid) and the layout
  keeps a fixed ``uirevision``, so the diagram updates without jumping.
* Values are rounded to 0.1 kW and sent only when a rounded value or a node
  changes. When only link values change, the session's Plotly figure gets the
  new values (Panel's ``link_figure`` turns that into one small restyle message);
  otherwise the pane gets a new figure.
* Past :data:`GROUP_ABOVE` houses only the :data:`TOP` largest producers and
  consumers are drawn on their own; the rest are grouped. Grouping loses no
  power: the pro-rata key is linear, so a group's links are its members' sums.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import panel as pn
import plotly.graph_objects as go

from leg_sim import flows as fl
from leg_sim.snapshot import Snapshot
from leg_sim.ui import theme
from leg_sim.ui.shared import per_snapshot
from leg_sim.ui.view import View

GROUP_ABOVE = 20
TOP = 10
HEIGHT_PX = 320
_LAYOUT = {
    "uirevision": "leg-sankey",
    "margin": {"l": 8, "r": 8, "t": 8, "b": 8},
    "height": HEIGHT_PX,
    "paper_bgcolor": "rgba(0,0,0,0)",
    "font": {"size": 11, "color": "#808080"},
}


def _select(
    power_w: np.ndarray, grid_w: np.ndarray, ids: tuple[str, ...], idx: np.ndarray, grouped: bool, other: str
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Individual nodes (in house order) plus an optional group: labels, powers and their grid parts."""
    if not grouped or len(idx) <= TOP:
        return [ids[i] for i in idx], power_w[idx], grid_w[idx]
    top = np.sort(idx[np.argsort(-power_w[idx], kind="stable")[:TOP]])
    rest = np.setdiff1d(idx, top)
    labels = [ids[i] for i in top] + [f"{other} ({len(rest)})"]
    return labels, np.append(power_w[top], power_w[rest].sum()), np.append(grid_w[top], grid_w[rest].sum())


def sankey_spec(snap: Snapshot) -> dict:
    """Plotly figure dict of the current surplus/deficit flows (pure).

    Returns
    -------
    dict
        ``{"data": [sankey], "layout": {...}}`` with link values in kW.
    """
    net = snap.net_power_w
    export_w, deficit_w = np.maximum(net, 0.0), np.maximum(-net, 0.0)
    grouped = snap.house_count > GROUP_ABOVE
    exp_idx, imp_idx = np.flatnonzero(export_w > 0), np.flatnonzero(deficit_w > 0)
    src_labels, e, e_grid = _select(export_w, snap.export_grid_w, snap.house_ids, exp_idx, grouped, "Other producers")
    dst_labels, d, d_grid = _select(deficit_w, snap.import_grid_w, snap.house_ids, imp_idx, grouped, "Other consumers")
    labels = [*src_labels, "Grid (supply)", *dst_labels, "Grid (feed-in)"]
    colors = [theme.GREEN] * len(src_labels) + [theme.GRID_GREY] + [theme.RED] * len(dst_labels) + [theme.GRID_GREY]
    grid_src, dst0, grid_dst = len(src_labels), len(src_labels) + 1, len(labels) - 1
    source: list[int] = []
    target: list[int] = []
    value: list[float] = []
    color: list[str] = []

    def link(s: int, t: int, kw: float, c: str) -> None:
        kw = round(float(kw), 1)
        if kw > 0:
            source.append(s)
            target.append(t)
            value.append(kw)
            color.append(c)

    shared_kw = fl.pairwise_flows_w(e, d) / 1000.0
    for i in range(len(e)):
        for j in range(len(d)):
            link(i, dst0 + j, shared_kw[i, j], theme.LINK_EXPORT)
    for i, w in enumerate(e_grid):
        link(i, grid_dst, w / 1000.0, theme.LINK_EXPORT)
    for j, w in enumerate(d_grid):
        link(grid_src, dst0 + j, w / 1000.0, theme.LINK_GRID_SUPPLY)
    sankey = {
        "type": "sankey",
        "arrangement": "snap",
        "valueformat": ".1f",
        "valuesuffix": " kW",
        "node": {"label": labels, "color": colors, "pad": 12, "thickness": 14, "line": {"width": 0}},
        "textfont": {"size": 12, "color": "#6b6b6b", "shadow": "none"},
        "link": {
            "source": source,
            "target": target,
            "value": value,
            "color": color,
            "hovertemplate": "%{source.label} → %{target.label}<br>%{value:.1f} kW<extra></extra>",
        },
    }
    return {"data": [sankey], "layout": dict(_LAYOUT)}


class SupplySankey(View):
    """Live Sankey of who supplies whom; see the module docstring."""

    def build(self) -> Any:
        self._spec: dict = {"data": [], "layout": dict(_LAYOUT)}
        self._figure: go.Figure | None = None
        self.sends = 0
        self._pane = pn.pane.Plotly(
            None, config={"displayModeBar": False, "responsive": True}, sizing_mode="stretch_width", height=HEIGHT_PX + 10
        )
        return self._pane

    @property
    def spec(self) -> dict:
        """The figure currently shown."""
        return self._spec

    @property
    def figure(self) -> go.Figure | None:
        """This session's Plotly figure (None before the first snapshot)."""
        return self._figure

    def update(self, snap: Snapshot) -> None:
        """Re-send the figure only when its nodes or rounded values changed."""
        spec = per_snapshot(snap, "sankey", lambda: sankey_spec(snap))
        old = self._spec["data"][0] if self._spec["data"] else None
        new = spec["data"][0]
        if old is not None and old["node"] == new["node"] and old["link"] == new["link"]:
            return
        same_shape = (
            old is not None
            and old["node"] == new["node"]
            and {k: v for k, v in old["link"].items() if k != "value"} == {k: v for k, v in new["link"].items() if k != "value"}
        )
        self._spec = spec
        self.sends += 1
        if same_shape and self._figure is not None:
            # Only the values changed: Panel sends the figure's change as one restyle.
            self._figure.data[0].link.value = new["link"]["value"]
            return
        # Plain lists, not numpy arrays: Panel moves arrays out of the figure it renders,
        # which would leave this figure without its data for the next restyle.
        self._figure = go.Figure(spec)
        self._pane.object = self._figure
