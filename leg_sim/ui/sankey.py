"""Who supplies whom: a Plotly Sankey from producing houses to consuming houses, with the grid.

Left: houses with surplus, and the grid as a source; right: houses with a
deficit, and the grid as a sink. Link values follow the dynamic pro-rata key
(leg_sim.flows). Each house's own PV use stays inside the house and is not drawn.

* Nodes keep a stable order (houses by position, then the grid) and the layout
  keeps a fixed ``uirevision``, so the diagram updates without jumping.
* Values are rounded to 0.1 kW and sent only when a rounded value or a node
  changes. The pane gets the per-link and per-node lists as numpy arrays, so
  Panel sends just the arrays that changed, not the whole figure; when only
  the values changed they go straight into the rendered model's data source.
* Past :data:`GROUP_ABOVE` houses only the :data:`TOP` largest producers and
  consumers are drawn on their own; the rest are grouped.
"""

from __future__ import annotations

import numpy as np
import panel as pn
import param

from leg_sim.engine import Simulation, Snapshot
from leg_sim.ui.shared import per_snapshot

GROUP_ABOVE = 20
TOP = 10
EXPORT_COLOR, IMPORT_COLOR, GRID_COLOR = "#1a9850", "#d73027", "#8c8c8c"
LINK_ALPHA = {"export": "rgba(26,152,80,0.35)", "grid_in": "rgba(215,48,39,0.30)"}


def _select(power_w: np.ndarray, ids: tuple[str, ...], idx: np.ndarray, grouped: bool, other: str):
    """Individual nodes (in house order) plus an optional group: labels and a power vector."""
    if not grouped or len(idx) <= TOP:
        return [ids[i] for i in idx], power_w[idx]
    top = np.sort(idx[np.argsort(-power_w[idx], kind="stable")[:TOP]])
    rest = np.setdiff1d(idx, top)
    return [ids[i] for i in top] + [f"{other} ({len(rest)})"], np.append(power_w[top], power_w[rest].sum())


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
    src_labels, e = _select(export_w, snap.house_ids, exp_idx, grouped, "Other producers")
    dst_labels, d = _select(deficit_w, snap.house_ids, imp_idx, grouped, "Other consumers")
    pool = max(float(export_w.sum()), float(deficit_w.sum()))
    labels = src_labels + ["Grid (supply)"] + dst_labels + ["Grid (feed-in)"]
    colors = [EXPORT_COLOR] * len(src_labels) + [GRID_COLOR] + [IMPORT_COLOR] * len(dst_labels) + [GRID_COLOR]
    grid_src, dst0 = len(src_labels), len(src_labels) + 1
    grid_dst = len(labels) - 1
    source, target, value, color = [], [], [], []

    def link(s, t, kw, c):
        kw = round(float(kw), 1)
        if kw > 0:
            source.append(s), target.append(t), value.append(kw), color.append(c)

    if pool > 0:
        m = np.outer(e, d) / pool / 1000.0
        for i in range(len(e)):
            for j in range(len(d)):
                link(i, dst0 + j, m[i, j], LINK_ALPHA["export"])
    for i, kw in enumerate(e * (1.0 - (float(deficit_w.sum()) / pool if pool else 0.0)) / 1000.0):
        link(i, grid_dst, kw, LINK_ALPHA["export"])
    for j, kw in enumerate(d * (1.0 - (float(export_w.sum()) / pool if pool else 0.0)) / 1000.0):
        link(grid_src, dst0 + j, kw, LINK_ALPHA["grid_in"])
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
    layout = {
        "uirevision": "leg-sankey",
        "margin": {"l": 8, "r": 8, "t": 8, "b": 8},
        "height": 320,
        "paper_bgcolor": "rgba(0,0,0,0)",
        "font": {"size": 11, "color": "#808080"},
    }
    return {"data": [sankey], "layout": layout}


def _as_arrays(spec: dict) -> dict:
    """A copy of `spec` with the per-link and per-node lists as numpy arrays."""
    if not spec["data"]:
        return {"data": [], "layout": dict(spec["layout"])}
    trace = dict(spec["data"][0])
    link, node = dict(trace["link"]), dict(trace["node"])
    link["source"] = np.asarray(link["source"], dtype=np.int32)
    link["target"] = np.asarray(link["target"], dtype=np.int32)
    link["value"] = np.asarray(link["value"], dtype=np.float32)
    link["color"] = np.asarray(link["color"], dtype=object)
    node["label"] = np.asarray(node["label"], dtype=object)
    node["color"] = np.asarray(node["color"], dtype=object)
    trace["link"], trace["node"] = link, node
    return {"data": [trace], "layout": dict(spec["layout"])}


class SupplySankey(pn.viewable.Viewer):
    """Live Sankey of who supplies whom; see the module docstring."""

    sim = param.ClassSelector(class_=Simulation, doc="The shared simulation.")

    def __init__(self, **params):
        super().__init__(**params)
        snap = self.sim.snapshot if self.sim else None
        self._spec = sankey_spec(snap) if snap is not None else {"data": [], "layout": {"uirevision": "leg-sankey", "height": 320}}
        self._pane = pn.pane.Plotly(_as_arrays(self._spec), config={"displayModeBar": False, "responsive": True}, sizing_mode="stretch_width", height=330)
        self.sends = 0

    @property
    def spec(self) -> dict:
        """The figure currently shown."""
        return self._spec

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
        if same_shape and self._send_values(new["link"]["value"]):
            return
        self._pane.object = _as_arrays(spec)

    def _send_values(self, values: list[float]) -> bool:
        """Only the link values changed: put them straight into the rendered model's data
        source and ask the browser to redraw, as Panel's Plotly pane would, without
        rebuilding and re-validating the whole figure (the costly part of an update).
        Returns False (caller falls back to a full update) if the model is not as expected."""
        models = [model for model, _ in self._pane._models.values()]
        if not models:
            return False
        array = np.asarray(values, dtype=np.float32)
        for model in models:
            sources = getattr(model, "data_sources", None)
            if not sources or "link.value" not in sources[0].data:
                return False
        for model in models:
            model.data_sources[0].data["link.value"] = [array]
            model._render_count += 1
        return True

    def __panel__(self):
        return self._pane
