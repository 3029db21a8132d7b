"""Who supplies whom: a Plotly Sankey from producing houses to consuming houses, with the grid.

Left: houses with surplus, then the grid as a source; right: houses with a
deficit, then the grid as a sink. The house-to-house links come from
:func:`leg_sim.flows.pairwise_flows_w` (the dynamic pro-rata key) and the grid
links from each house's share sent to or drawn from the grid, as the snapshot
holds them. Each house's own PV use stays inside the house and is not drawn.

Honest numbers
    Every flow keeps its exact power, however small: nothing is rounded away
    (link widths travel in whole watts).
    Each node's label carries its power (``"H003 · 131 W"``) and hovering a link
    shows ``"H001 → H003: 131 W"``, both written by
    :func:`leg_sim.units.format_power`.

Grouping
    A column draws at most :data:`TOP` houses on their own once it holds more
    than ``TOP + 1`` of them; the rest form one labelled node
    (``"12 other producers · 3.40 kW"``). Grouping loses no power: the pro-rata
    key is linear, so a group's links are its members' sums. Choosing the houses
    is O(n) (:func:`shown_houses`); only the pairwise block among the drawn
    nodes is quadratic, and it has at most ``(TOP + 1)²`` cells.

Stable picture
    This module places the nodes itself (:func:`node_layout`, Plotly's
    ``arrangement="fixed"``); Plotly's own layout would move them by their
    values on every update. Each column is stacked in a fixed order, the grid
    at its bottom. A house keeps its slot while its column keeps its size
    (:func:`slot_order`), and a house already drawn stays on its own while it
    ranks within the :data:`KEEP_RANK` largest of its column, so the picture
    does not reshuffle when two houses swap ranks. The layout keeps a fixed
    ``uirevision``.

Little traffic
    A session sends nothing while every node and link power is within
    :func:`send_step_w` of what it sent last (10 W, or 2 % of the largest node
    power when that is more), and no link of 10 W or more appeared or went
    (:func:`needs_send`): shown values are that close to the current ones. While the
    nodes keep their places (the same :attr:`SupplyFlows.shape`), only what
    changed travels: the trace's paths that differ from what was sent, as one
    Plotly restyle of this session's figure (Panel's ``link_figure`` turns it into
    one small message). A new shape (a house changes sides, the grid changes
    direction) sends a new figure.

What Plotly still animates (plotly.js 3.1, watched in Chromium)
    Any restyle or new figure redraws the Sankey with 500 ms transitions that
    no trace, layout or config setting turns off. Plotly fades every link in
    from transparent on each redraw; :data:`NO_FADE_CSS` keeps links and nodes
    opaque instead. Nodes still ease to their new height and place within their
    slot, and never trade places. Plotly knows a link by the labels of its two
    nodes: where one of them changed (they carry the powers) the old path stays
    for 500 ms beside the new one before it is removed. Labels with the names
    alone, and the powers as layout annotations, avoid that but cost about 500 B
    more per tick and a slower screen under 20 sessions (measured), so the labels
    keep the powers.
"""

from __future__ import annotations

import dataclasses
import html
from typing import Any

import numpy as np
import panel as pn
import param
import plotly.graph_objects as go

from leg_sim import flows as fl
from leg_sim.snapshot import Snapshot
from leg_sim.ui import theme
from leg_sim.ui.shared import per_snapshot
from leg_sim.ui.view import View
from leg_sim.units import format_power

#: Houses a column draws on their own at most, once it holds more than TOP + 1 houses.
TOP = 10
#: A house already drawn on its own stays so while it ranks within this many of its column.
KEEP_RANK = 2 * TOP
#: A session re-sends when some node or link power moved at least this far from what it sent:
#: SEND_STEP_W, or SEND_SHARE of the largest node power when that is more. A link that
#: appears or disappears counts with SEND_STEP_W alone, so every flow of 10 W or more shows. [W], [-]
SEND_STEP_W = 10.0
SEND_SHARE = 0.02
#: Name of the figure's model, as the page's feed script finds it.
PANE_NAME = "leg-sankey"
#: Height of the figure. [px]
HEIGHT_PX = 320
#: Figure margin on every side (the outer half of each node sits in it). [px]
MARGIN_PX = 10
#: Smallest vertical gap between two nodes of a column: one line of label text. [px]
GAP_PX = 15
#: Width of a node. [px]
THICKNESS_PX = 14
#: Size of the node labels. [px]
FONT_PX = 11
#: Label colours: contrast 10.4:1 on white (light theme) and 12.6:1 on #181818 (dark theme).
#: No one colour reaches 4.5:1 on both (the best grey reaches 4.2:1), hence one per theme.
TEXT_LIGHT, TEXT_DARK = "#404040", "#d9d9d9"
#: Page backgrounds of the two themes; each label gets a thin halo of its page's colour
#: so that it stays readable where it lies over a link.
PAGE_LIGHT, PAGE_DARK = "#ffffff", "#181818"

#: Name of both grid nodes (the left one supplies, the right one takes the feed-in).
GRID = "Grid"
#: Keys of the group and grid nodes (house nodes are keyed by their house id).
OTHER_PRODUCERS, OTHER_CONSUMERS = "others:producers", "others:consumers"
GRID_SUPPLY_KEY, GRID_FEED_IN_KEY = "grid:supply", "grid:feed-in"
_SPECIAL_KEYS = frozenset({OTHER_PRODUCERS, OTHER_CONSUMERS, GRID_SUPPLY_KEY, GRID_FEED_IN_KEY})
_LAYOUT = {
    # No Plotly template: the default one adds 7 KB to every new figure, and every colour here is set.
    "template": "none",
    "uirevision": "leg-sankey",
    "margin": {"l": MARGIN_PX, "r": MARGIN_PX, "t": MARGIN_PX, "b": MARGIN_PX},
    "height": HEIGHT_PX,
    "paper_bgcolor": "rgba(0,0,0,0)",
}


@dataclasses.dataclass(frozen=True)
class SupplyFlows:
    """Nodes and links of the Sankey of one instant. Powers in W.

    Nodes come in drawing order: the left column (``keys[:left_count]``:
    producers, their group, the grid as supply), then the right column
    (consumers, their group, the grid as feed-in). Every node has a link: the
    grid appears only while it supplies or takes power. A link runs from node
    ``source[k]`` to node ``target[k]`` and carries ``power_w[k] > 0``.
    """

    keys: tuple[str, ...]
    names: tuple[str, ...]
    left_count: int
    node_power_w: np.ndarray
    source: tuple[int, ...]
    target: tuple[int, ...]
    power_w: np.ndarray

    @property
    def columns(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Node keys of the left and of the right column, in drawing order."""
        return self.keys[: self.left_count], self.keys[self.left_count :]

    @property
    def shape(self) -> tuple[int, tuple[str | None, ...]]:
        """The nodes without their houses: the left column's size, and each node's key with None for a house.

        Two flows of the same shape are drawn with nodes in the same places;
        only their houses, labels and sizes differ.
        """
        return self.left_count, tuple(k if k in _SPECIAL_KEYS else None for k in self.keys)

    def link_power_w(self) -> dict[tuple[str, str], float]:
        """Power of every link by (source key, target key). [W]"""
        return {(self.keys[s], self.keys[t]): float(w) for s, t, w in zip(self.source, self.target, self.power_w, strict=True)}


def shown_houses(power_w: np.ndarray, keep: np.ndarray, top: int = TOP, keep_rank: int = KEEP_RANK) -> np.ndarray:
    """Houses of one column drawn on their own, ascending (pure, O(n)).

    Parameters
    ----------
    power_w
        Export (left column) or deficit (right column) of every house, ≥ 0; a house
        with 0 is not in this column. [W]
    keep
        Boolean mask: houses of this column drawn on their own last time.
    top
        At most this many are drawn on their own, once the column holds more than ``top + 1``.
    keep_rank
        A house in `keep` stays while it ranks within this many of the column;
        the free places go to the largest of the others.

    Returns
    -------
    numpy.ndarray
        House indices, ascending.
    """
    idx = np.flatnonzero(power_w > 0)
    if len(idx) <= top + 1:
        return idx
    window = min(len(idx), max(keep_rank, top))
    ranked = idx[np.argpartition(-power_w[idx], window - 1)[:window]]
    ranked = ranked[np.argsort(-power_w[ranked], kind="stable")]
    kept = ranked[keep[ranked]][:top]
    fresh = ranked[~keep[ranked]][: top - len(kept)]
    return np.sort(np.concatenate([kept, fresh]))


def slot_order(shown: np.ndarray, previous: tuple[int, ...]) -> np.ndarray:
    """The drawing order of one column's houses: each keeps its slot while the column keeps its size (pure).

    Parameters
    ----------
    shown
        Houses drawn on their own now, ascending house indices.
    previous
        The same column's houses last time, in drawing order.

    Returns
    -------
    numpy.ndarray
        `shown` in drawing order. With as many houses as before, a house drawn
        before stays in its slot and newcomers take the freed slots in house
        order; otherwise the column is drawn in house order.
    """
    if len(shown) != len(previous):
        return shown
    now, before = set(shown.tolist()), set(previous)
    arrivals = iter([i for i in shown.tolist() if i not in before])
    return np.array([i if i in now else next(arrivals) for i in previous], dtype=int)


def _houses(
    power_w: np.ndarray, grid_w: np.ndarray, previous: tuple[int, ...], ids: tuple[str, ...], top: int, group: tuple[str, str]
) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """Keys, names, powers and grid parts of one column's house nodes (the group last, if any)."""
    keep = np.zeros(len(power_w), dtype=bool)
    keep[list(previous)] = True
    shown = slot_order(shown_houses(power_w, keep, top), previous)
    keys = [ids[i] for i in shown]
    names = list(keys)
    power, grid = power_w[shown], grid_w[shown]
    rest = power_w > 0
    rest[shown] = False
    count = int(rest.sum())
    if count:
        group_key, word = group
        keys.append(group_key)
        names.append(f"{count} other {word}{'' if count == 1 else 's'}")
        power = np.append(power, power_w[rest].sum())
        grid = np.append(grid, grid_w[rest].sum())
    return keys, names, power, grid


def supply_flows(snap: Snapshot, previous: tuple[tuple[str, ...], tuple[str, ...]] = ((), ()), top: int = TOP) -> SupplyFlows:
    """Who supplies whom in `snap`, grouped past `top` houses a column (pure).

    Parameters
    ----------
    snap
        The instant to draw.
    previous
        Node keys of the left and the right column drawn last time
        (:attr:`SupplyFlows.columns`): houses drawn then keep their place
        (:func:`shown_houses`, :func:`slot_order`).
    top
        Houses a column draws on their own at most.
    """
    net = snap.net_power_w
    index = {h: i for i, h in enumerate(snap.house_ids)} if any(previous) else {}
    before = [tuple(index[k] for k in column if k in index) for column in previous]
    src_keys, src_names, e, e_grid = _houses(np.maximum(net, 0.0), snap.export_grid_w, before[0], snap.house_ids, top, (OTHER_PRODUCERS, "producer"))
    dst_keys, dst_names, d, d_grid = _houses(np.maximum(-net, 0.0), snap.import_grid_w, before[1], snap.house_ids, top, (OTHER_CONSUMERS, "consumer"))
    supply_w, feed_in_w = float(d_grid.sum()), float(e_grid.sum())
    left = len(src_keys) + (supply_w > 0)
    shared = fl.pairwise_flows_w(e, d)
    i, j = np.nonzero(shared > 0)
    exp_i, imp_j = np.flatnonzero(e_grid > 0), np.flatnonzero(d_grid > 0)
    source = np.concatenate([i, exp_i, np.full(len(imp_j), len(src_keys))]).astype(int)
    target = np.concatenate([left + j, np.full(len(exp_i), left + len(dst_keys)), left + imp_j]).astype(int)
    grid_src = [(GRID_SUPPLY_KEY, GRID, supply_w)] if supply_w > 0 else []
    grid_dst = [(GRID_FEED_IN_KEY, GRID, feed_in_w)] if feed_in_w > 0 else []
    return SupplyFlows(
        keys=(*src_keys, *(g[0] for g in grid_src), *dst_keys, *(g[0] for g in grid_dst)),
        names=(*src_names, *(g[1] for g in grid_src), *dst_names, *(g[1] for g in grid_dst)),
        left_count=left,
        node_power_w=np.concatenate([e, [g[2] for g in grid_src], d, [g[2] for g in grid_dst]]),
        source=tuple(source.tolist()),
        target=tuple(target.tolist()),
        power_w=np.concatenate([shared[i, j], e_grid[exp_i], d_grid[imp_j]]),
    )


def node_layout(flows: SupplyFlows, height_px: float = HEIGHT_PX - 2 * MARGIN_PX, gap_px: float = GAP_PX) -> tuple[list[float], list[float]]:
    """Centres of the nodes as fractions of the plot area, y from the top (pure).

    Each column is stacked top to bottom in drawing order, the grid last. Node
    heights follow Plotly's scale: the column with most nodes, with `gap_px`
    (Plotly's ``node.pad``) between them, fills the height; the other column
    spreads its spare height over its gaps. Plotly ignores a coordinate of
    exactly 0, so none is.

    Parameters
    ----------
    height_px
        Height of the plot area. [px]
    gap_px
        Smallest gap between two nodes of a column (Plotly's ``node.pad``). [px]
    """
    n, power = len(flows.keys), flows.node_power_w
    left = np.arange(n) < flows.left_count
    most = max(flows.left_count, n - flows.left_count, 1)
    total_w = max(float(power[left].sum()), float(power[~left].sum()))
    scale = (1.0 - (most - 1) * gap_px / height_px) / total_w if total_w > 0 else 0.0
    y = np.zeros(n)
    for col in (np.flatnonzero(left), np.flatnonzero(~left)):
        h = power[col] * scale
        gap = (1.0 - h.sum()) / (len(col) - 1) if len(col) > 1 else 1.0 - h.sum()
        y[col] = np.concatenate([[0.0], np.cumsum(h + gap)[:-1]]) + h / 2
    return np.where(left, 0.001, 0.999).tolist(), np.clip(np.round(y, 3), 0.001, 1.0).tolist()


def as_text(name: str) -> str:
    """A name as Plotly shows it literally: its pseudo-HTML (``<a href>``, ``<b>``,
    ``<span style>``) escaped, so a house id such as ``<a href=...>`` stays text."""
    return html.escape(str(name), quote=False)


def node_labels(flows: SupplyFlows) -> list[str]:
    """Each node's name with its power: ``"H003 · 131 W"`` (names escaped, :func:`as_text`)."""
    return [f"{as_text(name)} · {format_power(float(w))}" for name, w in zip(flows.names, flows.node_power_w, strict=True)]


def _halo(color: str) -> str:
    """CSS text-shadow: an outline of `color` around the text, thick enough to hide thin links behind it."""
    return ", ".join(f"{dx}px {dy}px 2px {color}" for dx, dy in ((0, 0), (1, 1), (-1, -1), (1, -1), (-1, 1), (0, 0)))


def text_font(dark: bool = False) -> dict:
    """The labels' font for a light or a dark page (the only part of the figure that differs)."""
    return {"size": FONT_PX, "color": TEXT_DARK if dark else TEXT_LIGHT, "shadow": _halo(PAGE_DARK if dark else PAGE_LIGHT)}


def sankey_spec(flows: SupplyFlows, dark: bool = False) -> dict:
    """Plotly figure dict of `flows` (pure).

    Parameters
    ----------
    flows
        What to draw (:func:`supply_flows`).
    dark
        Label colour for a dark page background instead of a light one.

    Returns
    -------
    dict
        ``{"data": [sankey], "layout": {...}}``; link values in W.
    """
    x, y = node_layout(flows)
    left, grid_keys = flows.left_count, (GRID_SUPPLY_KEY, GRID_FEED_IN_KEY)
    colors = [theme.GRID_GREY if k in grid_keys else theme.GREEN if n < left else theme.RED for n, k in enumerate(flows.keys)]
    supply = flows.keys.index(GRID_SUPPLY_KEY) if GRID_SUPPLY_KEY in flows.keys else -1
    sankey = {
        "type": "sankey",
        "arrangement": "fixed",
        "node": {
            "label": node_labels(flows),
            "customdata": [as_text(name) for name in flows.names],
            "x": x,
            "y": y,
            "color": colors,
            "pad": GAP_PX,
            "thickness": THICKNESS_PX,
            "line": {"width": 0},
            "hovertemplate": "%{label}<extra></extra>",
        },
        "textfont": text_font(dark),
        "link": {
            "source": list(flows.source),
            "target": list(flows.target),
            "value": np.round(flows.power_w).tolist(),  # whole watts: a width, not a label
            "customdata": [format_power(float(w)) for w in flows.power_w],
            "color": [theme.LINK_GRID_SUPPLY if s == supply else theme.LINK_EXPORT for s in flows.source],
            "hovertemplate": "%{source.customdata} → %{target.customdata}: %{customdata}<extra></extra>",
        },
    }
    return {"data": [sankey], "layout": dict(_LAYOUT)}


#: What a restyle sends between two flows of the same shape: the parts of the trace that follow the powers.
VALUE_PATHS = ("node.label", "node.customdata", "node.y", "link.source", "link.target", "link.value", "link.customdata", "link.color")


def value_update(spec: dict, old: dict | None = None) -> dict[str, list]:
    """The restyle that brings a figure of the same shape from `old` (all of it if None) to `spec` (trace 0)."""
    trace = spec["data"][0]
    before = old["data"][0] if old else None
    out = {}
    for path in VALUE_PATHS:
        part, name = path.split(".")
        if before is None or before[part][name] != trace[part][name]:
            out[path] = [trace[part][name]]
    return out


def send_step_w(flows: SupplyFlows) -> float:
    """How far a node or link power may move before a session re-sends (see :data:`SEND_SHARE`). [W]"""
    largest_w = float(np.max(np.abs(flows.node_power_w))) if len(flows.node_power_w) else 0.0
    return max(SEND_STEP_W, SEND_SHARE * largest_w)


def needs_send(sent: SupplyFlows | None, new: SupplyFlows) -> bool:
    """True when `new` differs from what was `sent`: other nodes, a node or link power moved
    by ≥ :func:`send_step_w`, or a link appeared or went by ≥ :data:`SEND_STEP_W`."""
    if sent is None or sent.keys != new.keys:
        return True
    step_w = send_step_w(sent)
    if np.any(np.abs(sent.node_power_w - new.node_power_w) >= step_w):
        return True
    old, now = sent.link_power_w(), new.link_power_w()
    if any(abs(old[k] - now[k]) >= step_w for k in old.keys() & now.keys()):
        return True
    # A link on one side only: it appeared or went; 10 W is enough to show it.
    return any(abs(old.get(k, 0.0) - now.get(k, 0.0)) >= SEND_STEP_W for k in old.keys() ^ now.keys())


class _ServerFigure(go.Figure):
    """A figure only the server changes.

    Panel writes every restyle the browser applied back into the figure; such
    an echo arriving after the next update would put older values back (and
    send them to the browser again). Nothing on the page restyles a Sankey, so
    echoes are ignored and the server's own updates go through :meth:`apply`.
    """

    def plotly_restyle(self, restyle_data: Any, trace_indexes: Any = None, **kwargs: Any) -> None:
        """Ignore restyles from the browser; see the class docstring."""

    def plotly_relayout(self, relayout_data: Any, **kwargs: Any) -> None:
        """Ignore relayouts from the browser, for the same reason."""

    def apply(self, restyle_data: dict[str, list]) -> None:
        """Restyle trace 0 with `restyle_data`; Panel sends the changed parts as one message."""
        super().plotly_restyle(restyle_data, trace_indexes=[0])


#: Plotly's Sankey sets every link (and each new node) to opacity 0 on each redraw after the
#: first and fades it in over 500 ms (plotly.js 3.1 ``sankey/render.js``; no setting turns
#: it off but ``staticPlot``, which also turns off hover). An author rule marked !important
#: wins over that inline style, so links and nodes stay drawn while their values change.
NO_FADE_CSS = ".sankey-link, .sankey-node { opacity: 1 !important; }"


class SupplySankey(View):
    """Live Sankey of who supplies whom; see the module docstring.

    Parameters
    ----------
    reader
        This session's read model.
    dark
        Label colours for a dark page background.
    """

    dark = param.Boolean(default=False, doc="Label colours for a dark page background.")

    def build(self) -> Any:
        self._flows: SupplyFlows | None = None
        self._spec: dict = {"data": [], "layout": dict(_LAYOUT)}
        self._figure: _ServerFigure | None = None
        self.sends = 0
        self._pane = pn.pane.Plotly(
            None, config={"displayModeBar": False, "responsive": True}, sizing_mode="stretch_width", height=HEIGHT_PX, stylesheets=[NO_FADE_CSS],
            name=PANE_NAME,
        )
        return self._pane

    @property
    def spec(self) -> dict:
        """The figure currently shown."""
        return self._spec

    @property
    def flows(self) -> SupplyFlows | None:
        """The flows currently shown (None before the first snapshot)."""
        return self._flows

    @property
    def figure(self) -> go.Figure | None:
        """This session's Plotly figure (None before the first snapshot)."""
        return self._figure

    def resync(self) -> None:
        self._flows = None

    def update(self, snap: Snapshot) -> None:
        """Send what moved by :data:`SEND_STEP_W` or more: a restyle, or a new figure for a new shape."""
        previous = self._flows.columns if self._flows is not None else ((), ())
        flows = per_snapshot(snap, ("sankey", previous), lambda: supply_flows(snap, previous))
        if not needs_send(self._flows, flows):
            return
        same_shape = self._flows is not None and self._flows.shape == flows.shape
        self._show(flows, restyle=same_shape)

    def _show(self, flows: SupplyFlows, restyle: bool) -> None:
        old = self._spec
        self._flows = flows
        self._spec = sankey_spec(flows, dark=self.dark)
        self.sends += 1
        if restyle and self._figure is not None:
            # Only the parts that changed travel.
            self._figure.apply(value_update(self._spec, old))
            return
        # Plain lists, not numpy arrays: Panel moves arrays out of the figure it renders,
        # which would leave this figure without its data for the next restyle.
        self._figure = _ServerFigure(self._spec)
        self._pane.object = self._figure

    @param.depends("dark", watch=True)
    def _recolour(self) -> None:
        flows = getattr(self, "_flows", None)
        if flows is not None:
            self._show(flows, restyle=False)
