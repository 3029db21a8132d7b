"""The flow graph: houses on a ring around the community bus, the grid in a gap, live edges.

What is drawn (placement in :mod:`leg_sim.ui.graph_layout`):

* up to ``detail_limit`` houses (50): every house, labelled with its id and net
  power; above that the ``top_n`` largest exporters and importers, three group
  nodes for everyone else ("1,234 others / export 56.7 kW", importing, idle) whose
  edges carry the groups' sums, and one slot for a house picked with the search
  box (that house is drawn and ringed whatever its size);
* the bus and the grid carry their labels inside their markers; the grid is red
  only while importing more than :data:`~leg_sim.ui.theme.IDLE_W`, grey when idle;
* edge colour green = export (towards the bus or the grid), red = import, grey =
  idle; edge width follows |P| relative to the largest flow on screen (grid edge
  included), arrowheads and moving dots go the way power flows, the dots faster
  for larger flows (no dots on idle edges, none with ``prefers-reduced-motion``);
* house colour: a diverging scale centred on 0 W, the sign decides the hue and
  the logarithm of |P| its depth (:func:`house_colour`), with a legend below.

Traffic: slot positions are fixed per house set, so a tick sends only columns
that changed (:class:`~leg_sim.ui.columns.ColumnSync`); the per-snapshot columns
are computed once for all sessions (:func:`~leg_sim.ui.shared.per_snapshot`),
the searched house adds O(1) per session. Widths, colours, arrow angles and dot
motion are computed in the browser from the power columns (CustomJSTransform and
a CustomJS animation loop on a client-only source), each with a Python twin here.
One Bokeh figure has separate renderers for edges, arrowheads, houses and the
bus/grid, each with its own HoverTool.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, CustomJS, CustomJSHover, CustomJSTransform, HoverTool, Range1d, Scatter, Segment, Text
from bokeh.plotting import figure
from bokeh.transform import transform

from leg_sim.model import BUS, GRID
from leg_sim.snapshot import Snapshot
from leg_sim.ui import graph_layout as gl
from leg_sim.ui import theme
from leg_sim.ui.columns import ColumnSync, pack
from leg_sim.ui.shared import per_snapshot
from leg_sim.ui.view import View
from leg_sim.units import COARSE, FORMAT_POWER_JS, format_power

#: Design frame of the graph by default (also its smallest size). [px]
FRAME_PX = gl.FRAME_PX
#: Edge width for no flow and for the largest flow on screen. [px]
MIN_WIDTH_PX, MAX_WIDTH_PX = 1.5, 20.0
#: House colour: light and deep end of the import (red) and export (green) scales.
IMPORT_LIGHT, IMPORT_DEEP = "#ef6f5e", "#a50026"
EXPORT_LIGHT, EXPORT_DEEP = "#74c476", "#006837"
#: Neutral colour of an idle house (|P| < IDLE_W).
IDLE_COLOUR = "#bdbdbd"
#: |P| at which the colour is deepest (log scale from IDLE_W). [W]
SATURATION_W = 5000.0
#: Fills of the bus and grid markers (their labels are inside, in dark text).
BUS_FILL = "#dce6f3"
GRID_FILL = {1: "#d4ecdc", -1: "#f8d5d0", 0: "#eeeeee"}
HUB_TEXT = "#333333"
#: Dots per edge, and their speed for the smallest and the largest flow on screen. [edges/s]
DOTS_PER_EDGE = 3
MIN_DOT_SPEED, MAX_DOT_SPEED = 0.12, 0.6
#: Least time between two frames of the dots: about 16 frames per second, smooth enough for dots
#: that cross an edge in 2 to 8 s, and a quarter of the drawing work of 60 frames per second,
#: which a busy wall-screen computer (or a 2-core VM in software rendering) notices. [ms]
DOT_FRAME_MS = 60
#: Names of the sources that follow the snapshot, as the page's feed script finds them.
SOURCE_NAMES = {"houses": "leg-graph-houses", "edges": "leg-graph-edges", "hubs": "leg-graph-hubs"}
#: Names of the search ring's source and tags of the search box and its message, as a page without a session finds them.
MARK_NAME, SEARCH_TAG, SEARCH_MESSAGE_TAG = "leg-graph-mark", "leg-graph-search", "leg-graph-search-message"
#: Longest search a page sends. [characters]
MAX_SEARCH_CHARS = 64
#: Tag on the house source while this session feeds its graph itself (a search in the overview), not the shared feed.
OWN_TAG = "leg-own-graph"
#: Ring drawn around the house picked by search.
HIGHLIGHT = "#111111"


# ------------------------------------------------------------------ pure formulas (Python twins of the JS)
def edge_state(power_w: np.ndarray) -> np.ndarray:
    """+1 export, −1 import, 0 idle for signed powers (positive = towards bus/grid)."""
    p = np.asarray(power_w, dtype=float)
    return np.where(p > theme.IDLE_W, 1, np.where(p < -theme.IDLE_W, -1, 0))


def edge_width_px(power_w: np.ndarray) -> np.ndarray:
    """Edge widths relative to the largest |P| among `power_w` (all edges on screen). [px]

    ``MIN + (MAX − MIN) · |P| / max|P|``; all MIN when nothing flows.
    """
    p = np.abs(np.asarray(power_w, dtype=float))
    top = float(p.max()) if p.size else 0.0
    if top <= 0.0:
        return np.full(p.shape, MIN_WIDTH_PX)
    return MIN_WIDTH_PX + (MAX_WIDTH_PX - MIN_WIDTH_PX) * p / top


def arrow_size_px(power_w: np.ndarray) -> np.ndarray:
    """Arrowhead size: none on idle edges, else a little larger than the edge is wide. [px]"""
    p = np.asarray(power_w, dtype=float)
    return np.where(np.abs(p) > theme.IDLE_W, 6.0 + edge_width_px(p), 0.0)


def dot_speed(power_w: np.ndarray) -> np.ndarray:
    """Signed speed of the dots on each edge, relative to the largest |P| on screen. [edges/s]

    Positive runs the way the edge points (export), negative against it; 0 on idle
    edges. Small flows still move visibly (:data:`MIN_DOT_SPEED`).
    """
    p = np.asarray(power_w, dtype=float)
    top = float(np.abs(p).max()) if p.size else 0.0
    share = np.abs(p) / top if top > 0 else np.zeros(p.shape)
    speed = MIN_DOT_SPEED + (MAX_DOT_SPEED - MIN_DOT_SPEED) * share
    return np.where(np.abs(p) > theme.IDLE_W, np.sign(p) * speed, 0.0)


def _rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)


def colour_depth(power_w: np.ndarray) -> np.ndarray:
    """Depth 0..1 of a house colour: log(|P| / IDLE_W) / log(SATURATION_W / IDLE_W), clipped."""
    p = np.maximum(np.abs(np.asarray(power_w, dtype=float)), theme.IDLE_W)
    return np.clip(np.log(p / theme.IDLE_W) / math.log(SATURATION_W / theme.IDLE_W), 0.0, 1.0)


def house_colour(power_w: np.ndarray) -> list[str]:
    """Diverging colour of net powers: grey when idle, red importing, green exporting, deeper with |P|."""
    p = np.atleast_1d(np.asarray(power_w, dtype=float))
    depth = colour_depth(p)[:, None]
    red = _rgb(IMPORT_LIGHT) + depth * (_rgb(IMPORT_DEEP) - _rgb(IMPORT_LIGHT))
    green = _rgb(EXPORT_LIGHT) + depth * (_rgb(EXPORT_DEEP) - _rgb(EXPORT_LIGHT))
    rgb = np.where((p < 0)[:, None], red, green)
    out = ["#{:02x}{:02x}{:02x}".format(*np.round(c).astype(int)) for c in rgb]
    return [IDLE_COLOUR if abs(w) < theme.IDLE_W else c for w, c in zip(p, out, strict=True)]


def net_label(house_id: str, net_w: float) -> str:
    """Label of a house: its id (cut when long) and net power, coarse so that it does not flicker."""
    return f"{house_prefix(house_id)} {format_power(net_w, signed=True, resolution=COARSE)}"


_GROUP_WORD = {gl.GROUP_EXPORT: "export", gl.GROUP_IMPORT: "import", gl.GROUP_IDLE: "idle"}

#: How the browser finishes a label from its prefix and power (the ``ls`` column):
#: signed net power, unsigned magnitude, or the prefix alone.
SIGNED, MAGNITUDE, PREFIX_ONLY = 1, 0, -1


def label_text(prefix: str, power_kw: float, style: int, sep: str = " ") -> str:
    """A label as the browser shows it: the prefix, `sep`, then the power in the one format of
    :func:`leg_sim.units.format_power` (coarse). The Python twin of :data:`_LABEL_JS`."""
    if style == PREFIX_ONLY or not prefix:
        return prefix
    power_w = power_kw * 1000.0
    return f"{prefix}{sep}{format_power(abs(power_w) if style == MAGNITUDE else power_w, signed=style == SIGNED, resolution=COARSE)}"


def coarse_kw(power_w: float) -> float:
    """`power_w` rounded to the step its coarse label shows (50 W, 0.1 kW, 1 kW, 0.01 MW), in kW:
    a value sent for a label then changes only when the label does. [kW]"""
    v = abs(power_w)
    step_w = COARSE.step_w if v < 1e3 else 10 ** (3 - COARSE.kw_decimals) if v < 1e5 else 1e3 if v < 1e6 else 1e4
    return math.copysign(step_w * math.floor(v / step_w + 0.5), power_w) / 1000.0


def house_prefix(house_id: str) -> str:
    """The label prefix of a house: its id, cut when long."""
    return house_id if len(house_id) <= gl.ID_CHARS else house_id[: gl.ID_CHARS - 1] + "…"


#: Marks of a measured house's label: its meter speaks, or has been silent too long (the same length).
METER_MARK, STALE_MARK = " (meter)", " (stale)"


def snapshot_house_prefix(snap: Snapshot, index: int) -> str:
    """The label prefix of house `index` of `snap`: its id, marked "(meter)" when a real meter
    gives its power and "(stale)" when that meter has been silent too long; the id is cut so
    that the whole prefix stays within the characters the layout leaves for it."""
    house_id = snap.house_ids[index]
    if not snap.is_measured(index):
        return house_prefix(house_id)
    mark = STALE_MARK if snap.stale[index] else METER_MARK
    room = gl.ID_CHARS - len(mark)
    return (house_id if len(house_id) <= room else house_id[: room - 1] + "…") + mark


def group_prefix(role: str, count: int) -> tuple[str, int]:
    """Label prefix and style of a group node: ("1,234 others\nexport", MAGNITUDE); idle and
    empty groups have no power in their label."""
    if count == 0:
        return "", PREFIX_ONLY
    return f"{count:,} {'other' if count == 1 else 'others'}\n{_GROUP_WORD[role]}", PREFIX_ONLY if role == gl.GROUP_IDLE else MAGNITUDE


def hub_prefix(grid_export_w: float, grid_import_w: float) -> tuple[list[str], list[int], list[float]]:
    """Prefixes, styles and powers of the bus and grid labels. [kW]"""
    state = grid_state(grid_export_w, grid_import_w)
    grid = "Grid\nidle" if state == 0 else f"Grid\n{'export' if state > 0 else 'import'}"
    grid_kw = (grid_export_w if state > 0 else grid_import_w) / 1000.0
    return ["Bus\nshared", grid], [MAGNITUDE, PREFIX_ONLY if state == 0 else MAGNITUDE], [0.0, grid_kw]


def group_label(role: str, count: int, power_w: float) -> str:
    """Two-line label of a group node: "1,234 others" / "export 56.7 kW" (or "idle")."""
    if count == 0:
        return ""
    word = _GROUP_WORD[role]
    value = "" if role == gl.GROUP_IDLE else " " + format_power(abs(power_w), resolution=COARSE)
    return f"{count:,} {'other' if count == 1 else 'others'}\n{word}{value}"


def group_name(role: str, count: int) -> str:
    """Name of a group node in its tooltip: "1,234 others exporting"."""
    doing = {gl.GROUP_EXPORT: "exporting", gl.GROUP_IMPORT: "importing", gl.GROUP_IDLE: "idle"}[role]
    return f"{count:,} {'other' if count == 1 else 'others'} {doing}"


def bus_label(shared_w: float) -> str:
    """Text inside the bus marker."""
    return f"Bus\nshared\n{format_power(shared_w, resolution=COARSE)}"


def grid_state(grid_export_w: float, grid_import_w: float) -> int:
    """+1 exporting to the grid, −1 importing from it, 0 idle (under IDLE_W either way)."""
    net = grid_export_w - grid_import_w
    return 1 if net > theme.IDLE_W else -1 if net < -theme.IDLE_W else 0


def grid_label(grid_export_w: float, grid_import_w: float) -> str:
    """Text inside the grid marker: "Grid / export / 313.8 kW", or "Grid / idle"."""
    state = grid_state(grid_export_w, grid_import_w)
    if state == 0:
        return "Grid\nidle"
    word, value = ("export", grid_export_w) if state > 0 else ("import", grid_import_w)
    return f"Grid\n{word}\n{format_power(value, resolution=COARSE)}"


def legend_stops_w() -> tuple[float, ...]:
    """Net powers shown in the colour legend, import to export. [W]"""
    return (-5000.0, -1000.0, -150.0, 0.0, 150.0, 1000.0, 5000.0)


def legend_html() -> str:
    """The compact legend: colour stops with labels, and how to read edges and dots."""
    stops = legend_stops_w()
    cells = []
    for w, colour in zip(stops, house_colour(np.array(stops)), strict=True):
        text = f"idle &lt;{format_power(theme.IDLE_W)}" if w == 0 else format_power(w, signed=True, resolution=COARSE)
        cells.append(
            f'<span style="display:inline-flex;align-items:center;gap:3px;white-space:nowrap">'
            f'<span style="display:inline-block;width:11px;height:11px;border-radius:50%;background:{colour}"></span>{text}</span>'
        )
    return (
        '<div class="leg-graph-legend" style="font-size:0.8em;line-height:1.5;opacity:.85">'
        '<div style="display:flex;flex-wrap:wrap;gap:4px 10px">'
        f"<b>House net power</b> {''.join(cells)}</div>"
        f'<div><span style="color:{theme.GREEN}">■</span> export <span style="color:{theme.RED}">■</span> import '
        f'<span style="color:{theme.GREY}">■</span> idle · edge width: power relative to the largest flow shown · '
        "dots move the way power flows, faster for more</div></div>"
    )


# ------------------------------------------------------------------ selection for the overview (pure, O(n))
@dataclasses.dataclass(frozen=True, eq=False)
class Overview:
    """Who is drawn where in the overview, and the groups' counts and sums. Shared: read-only.

    ``exporters`` / ``importers`` hold house indices, largest |net| first (at most
    ``top_n`` each). ``group`` maps each group role to (count, sums), with sums of
    net, PV, base and flex power over its members. [W]
    """

    exporters: np.ndarray
    importers: np.ndarray
    drawn: np.ndarray  # (n,) bool: drawn in its own slot
    group_of: np.ndarray  # (n,) int8: +1 exporting, −1 importing, 0 idle
    group: dict[str, tuple[int, np.ndarray]]


def _top(values: np.ndarray, count: int) -> np.ndarray:
    """Indices of the `count` largest of `values` that are above IDLE_W, largest first; O(n)."""
    candidates = np.flatnonzero(values > theme.IDLE_W)
    if len(candidates) > count:
        part = np.argpartition(-values[candidates], count - 1)[:count]
        candidates = candidates[part]
    return candidates[np.argsort(-values[candidates], kind="stable")]


def select_overview(net_power_w: np.ndarray, pv_power_w: np.ndarray, base_load_w: np.ndarray, flex_load_w: np.ndarray, top_n: int) -> Overview:
    """Pick the `top_n` largest exporters and importers by |net| and sum up the rest by sign. O(n)."""
    net = np.asarray(net_power_w, dtype=float)
    exporters, importers = _top(net, top_n), _top(-net, top_n)
    drawn = np.zeros(len(net), dtype=bool)
    drawn[exporters] = True
    drawn[importers] = True
    group_of = edge_state(net).astype(np.int8)
    # Sums per group with one bincount per quantity over the houses not drawn: O(n).
    code = np.where(drawn, 3, group_of + 1)  # 0 importing, 1 idle, 2 exporting, 3 drawn
    counts = np.bincount(code, minlength=4)
    sums = np.stack([np.bincount(code, weights=np.asarray(v, dtype=float), minlength=4) for v in (net, pv_power_w, base_load_w, flex_load_w)], axis=1)
    group = {gl.GROUP_IMPORT: (int(counts[0]), sums[0]), gl.GROUP_IDLE: (int(counts[1]), sums[1]), gl.GROUP_EXPORT: (int(counts[2]), sums[2])}
    return Overview(exporters=exporters, importers=importers, drawn=drawn, group_of=group_of, group=group)


_ROLE_OF_GROUP = {1: gl.GROUP_EXPORT, -1: gl.GROUP_IMPORT, 0: gl.GROUP_IDLE}


@functools.lru_cache(maxsize=8)
def house_index(house_ids: tuple[str, ...]) -> dict[str, int]:
    """Lookup of a house by id, case-insensitive, and by its number ("42" or "h42" → H042). Shared."""
    index: dict[str, int] = {}
    for i, h in enumerate(house_ids):
        key = h.strip().upper()
        index.setdefault(key, i)
        digits = key.lstrip("H")
        if digits.isdigit():
            index.setdefault(f"#{int(digits)}", i)
    return index


def find_house(house_ids: tuple[str, ...], query: str, index: dict[str, int] | None = None) -> int | None:
    """Index of the house `query` names (exact id, any case, or its number), None if none does;
    `index`: :func:`house_index` of the ids, if made already."""
    key = query.strip().upper()
    if not key:
        return None
    index = index if index is not None else house_index(house_ids)
    if key in index:
        return index[key]
    digits = key.lstrip("H")
    return index.get(f"#{int(digits)}") if digits.isdigit() else None


# ------------------------------------------------------------------ browser code
_MAX_ABS_JS = "let m = 0; for (let i = 0; i < xs.length; i++) { const a = Math.abs(xs[i]); if (a > m) m = a; }"
_WIDTH_JS = f"""{_MAX_ABS_JS}
return Array.from(xs, (p) => m > 0 ? {MIN_WIDTH_PX} + {MAX_WIDTH_PX - MIN_WIDTH_PX} * Math.abs(p) / m : {MIN_WIDTH_PX});"""
_ARROW_SIZE_JS = f"""{_MAX_ABS_JS}
return Array.from(xs, (p) => Math.abs(p) * 1000 > {theme.IDLE_W} ? 6 + {MIN_WIDTH_PX} + {MAX_WIDTH_PX - MIN_WIDTH_PX} * Math.abs(p) / m : 0);"""
_ARROW_ANGLE_JS = "const a0 = source.data.a0; return Array.from(xs, (p, i) => a0[i] + (p < 0 ? Math.PI : 0) - Math.PI / 2);"
_STATE_COLOUR_JS = (
    f"return Array.from(xs, (p) => p * 1000 > {theme.IDLE_W} ? '{theme.GREEN}' : p * 1000 < -{theme.IDLE_W} ? '{theme.RED}' : '{theme.GREY}');"
)
_HOUSE_COLOUR_JS = f"""
const rgb = (h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16));
const il = rgb('{IMPORT_LIGHT}'), id = rgb('{IMPORT_DEEP}'), el = rgb('{EXPORT_LIGHT}'), ed = rgb('{EXPORT_DEEP}');
const hex = (c) => '#' + c.map((v) => Math.round(v).toString(16).padStart(2, '0')).join('');
return Array.from(xs, (kw) => {{
  const w = kw * 1000;
  if (!(Math.abs(w) >= {theme.IDLE_W})) return '{IDLE_COLOUR}';
  const d = Math.min(1, Math.max(0, Math.log(Math.abs(w) / {theme.IDLE_W}) / Math.log({SATURATION_W / theme.IDLE_W})));
  const [a, b] = w < 0 ? [il, id] : [el, ed];
  return hex(a.map((v, j) => v + d * (b[j] - v)));
}});"""

#: The dots: a client-only source moved in place on every animation frame; started
#: once per figure (when it is laid out or its edges change), stopped when the figure
#: leaves the page. `edges` rows run x0,y0 → x1,y1 in the export direction.
#: Finishes each label in the browser from its prefix (the text column), its style (``ls``) and
#: its power (the `power_column`, kW): only powers travel each tick, not label text.
_LABEL_JS = (
    FORMAT_POWER_JS
    + f"""
const d = source.data;
const col = (c) => (d instanceof Map ? d.get(c) : d[c]);
const power = col(power_column), style = col("ls");
return Array.from(xs, (prefix, i) => {{
  const ls = style ? style[i] : {PREFIX_ONLY};
  if (ls === {PREFIX_ONLY} || !prefix) return prefix;
  const w = power[i] * 1000;
  return prefix + sep + formatPower(ls === {MAGNITUDE} ? Math.abs(w) : w, ls === {SIGNED}, {COARSE.step_w}, {COARSE.kw_decimals});
}});
"""
)

_DOTS_JS = f"""
const reg = window.__leg_flow_dots || (window.__leg_flow_dots = new Map());
if (reg.has(dots.id)) return;
if (window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches) return;
const per = {DOTS_PER_EDGE};
const st = {{phase: [], last: performance.now(), check: performance.now(), lost: 0}};
reg.set(dots.id, st);
const find = () => {{
  const B = window.Bokeh;
  if (!B || !B.index) return null;
  const roots = B.index instanceof Map ? [...B.index.values()] : Object.values(B.index);
  const seen = new Set();
  let found = null;
  const visit = (v) => {{
    if (!v || found || seen.has(v)) return;
    seen.add(v);
    if (v.model === fig) {{ found = v; return; }}
    for (const c of (v.child_views || [])) visit(c);
  }};
  for (const r of roots) {{
    visit(r);
    if (!found && r.owner && typeof r.owner.all_views === 'function') for (const v of r.owner.all_views()) visit(v);
  }}
  return found;
}};
const attached = () => {{
  if (fig.document == null) return false;
  const v = find();
  const el = v && (v.canvas_view ? v.canvas_view.el : v.el);
  return !!(el && el.isConnected);
}};
const col = (d, c) => (d instanceof Map ? d.get(c) : d[c]);
const step = (now) => {{
  // Redraw at most every DOT_FRAME_MS: each redraw repaints the whole figure.
  if (now - st.last < {DOT_FRAME_MS}) {{ requestAnimationFrame(step); return; }}
  const dt = Math.min(0.2, Math.max(0, (now - st.last) / 1000));
  st.last = now;
  if (now - st.check > 1000) {{
    st.check = now;
    st.lost = attached() ? 0 : st.lost + 1;
    if (st.lost >= 2) {{ reg.delete(dots.id); return; }}
  }}
  const d = edges.data, p = col(d, 'p'), v = col(d, 'v');
  const x0 = col(d, 'x0'), y0 = col(d, 'y0'), x1 = col(d, 'x1'), y1 = col(d, 'y1');
  const X = col(dots.data, 'x'), Y = col(dots.data, 'y');
  if (p && X && x0) {{
    let m = 0;
    for (let e = 0; e < p.length; e++) if (v[e] > 0) m = Math.max(m, Math.abs(p[e]));
    const n = Math.min(p.length, Math.floor(X.length / per));
    for (let e = 0; e < n; e++) {{
      const w = Math.abs(p[e]) * 1000;
      if (!(v[e] > 0) || !(w > {theme.IDLE_W}) || !(m > 0)) {{
        for (let j = 0; j < per; j++) {{ X[e * per + j] = NaN; Y[e * per + j] = NaN; }}
        continue;
      }}
      const speed = ({MIN_DOT_SPEED} + {MAX_DOT_SPEED - MIN_DOT_SPEED} * Math.abs(p[e]) / m) * Math.sign(p[e]);
      let ph = st.phase[e] === undefined ? (e * 0.618) % 1 : st.phase[e];
      ph = ((ph + speed * dt) % 1 + 1) % 1;
      st.phase[e] = ph;
      for (let j = 0; j < per; j++) {{
        const t = (ph + j / per) % 1;
        X[e * per + j] = x0[e] + t * (x1[e] - x0[e]);
        Y[e * per + j] = y0[e] + t * (y1[e] - y0[e]);
      }}
    }}
    dots.change.emit();
  }}
  requestAnimationFrame(step);
}};
requestAnimationFrame(step);
"""


def hub_columns(snap: Snapshot) -> dict:
    """The bus and grid columns that follow the snapshot (pure)."""
    state = grid_state(snap.grid_export_w, snap.grid_import_w)
    prefixes, styles, power_kw = hub_prefix(snap.grid_export_w, snap.grid_import_w)
    power_kw[0] = snap.shared_w / 1000.0
    return dict(
        fill=[BUS_FILL, GRID_FILL[state]],
        line=[theme.BUS_BLUE, {1: theme.GREEN, -1: theme.RED, 0: theme.GREY}[state]],
        # Rounded to what the labels show: sent only when a label changes.
        label=prefixes, ls=styles, w=[coarse_kw(kw * 1000.0) for kw in power_kw],
    )

def detail_columns(snap: Snapshot) -> dict[str, dict]:
    """Every house in its own slot: the houses', edges' and hubs' columns that follow the snapshot (pure)."""
    ids = snap.house_ids
    k = len(ids)
    p_kw = np.append(snap.net_power_w, snap.grid_export_w - snap.grid_import_w) / 1000.0
    return dict(
        houses=dict(
            v=[1] * k,
            id=list(ids),
            n=pack(snap.net_power_w / 1000.0, 2),
            pv=pack(snap.pv_power_w / 1000.0, 2),
            bl=pack(snap.base_load_w / 1000.0, 2),
            fl=pack(snap.flex_load_w / 1000.0, 2),
            ap=[snap.flex_appliance(i) or "none" for i in range(k)],
            src=[snap.source_text(i) for i in range(k)],
            label=[snapshot_house_prefix(snap, i) for i in range(k)],
            ls=[SIGNED] * k,
        ),
        edges=dict(p=pack(p_kw, 2), v=[0.85] * (k + 1), a=[*ids, BUS]),
        hubs=hub_columns(snap),
    )

def overview_base(snap: Snapshot, top_n: int) -> dict[str, Any]:
    """The overview's slots filled from this snapshot, search slot empty (pure)."""
    sel = select_overview(snap.net_power_w, snap.pv_power_w, snap.base_load_w, snap.flex_load_w, top_n)
    roles = gl.overview_roles(top_n)
    k = len(roles)
    slot_house = np.full(k, -1, dtype=np.int64)
    slot_house[: len(sel.exporters)] = sel.exporters
    # Importers fill the lower half clockwise from the gap: largest next to the grid.
    slot_house[k - len(sel.importers) :] = sel.importers[::-1]
    values = np.zeros((k, 4))  # net, pv, base, flex [W]
    houses = slot_house >= 0
    idx = slot_house[houses]
    values[houses] = np.column_stack([snap.net_power_w[idx], snap.pv_power_w[idx], snap.base_load_w[idx], snap.flex_load_w[idx]])
    ids = [""] * k
    labels = [""] * k
    styles = [PREFIX_ONLY] * k
    appliance = ["none"] * k
    sources = [""] * k
    visible = [0] * k
    for slot in np.flatnonzero(houses).tolist():
        i = int(slot_house[slot])
        ids[slot] = snap.house_ids[i]
        labels[slot], styles[slot] = snapshot_house_prefix(snap, i), SIGNED
        appliance[slot] = snap.flex_appliance(i) or "none"
        sources[slot] = snap.source_text(i)
        visible[slot] = 1
    for s, role in enumerate(roles):
        if role in gl.GROUP_ROLES:
            count, sums = sel.group[role]
            values[s] = sums
            ids[s] = group_name(role, count)
            labels[s], styles[s] = group_prefix(role, count)
            visible[s] = 1 if count else 0
    return dict(selection=sel, slot_house=slot_house, values=values, ids=ids, labels=labels, styles=styles, appliance=appliance, sources=sources,
                visible=visible,
                grid_w=snap.grid_export_w - snap.grid_import_w, hubs=hub_columns(snap))


def slot_columns(
    values: np.ndarray, grid_w: float, ids: list, labels: list, styles: list, appliance: list, sources: list, visible: list
) -> dict[str, dict]:
    """The overview's house and edge columns from its slots' values (net, PV, base, flex in W) (pure)."""
    kw = np.asarray(values) / 1000.0
    return dict(
        houses=dict(
            v=visible, id=ids, n=pack(kw[:, 0], 2), pv=pack(kw[:, 1], 2), bl=pack(kw[:, 2], 2), fl=pack(kw[:, 3], 2), ap=appliance, src=sources,
            label=labels, ls=styles,
        ),
        edges=dict(p=pack(np.append(kw[:, 0], grid_w / 1000.0), 2), v=[0.85 * v for v in visible] + [0.85], a=[*ids, BUS]),
    )


def search_message(snap: Snapshot, query: str, index: int | None) -> str:
    """The search row's message (pure, HTML with the ids escaped): the picked house's numbers, or
    why nothing was found; empty without a query."""
    query = query.strip()
    if not query:
        return ""
    if index is None:
        first, last = (snap.house_ids[0], snap.house_ids[-1]) if snap.house_ids else ("", "")
        return f'<span style="color:{theme.RED}">No house “{_escape(query)}” (ids run {_escape(first)} … {_escape(last)})</span>'
    power = " · ".join(
        (
            f"net {format_power(snap.net_power_w[index], signed=True, resolution=COARSE)}",
            f"PV {format_power(snap.pv_power_w[index], resolution=COARSE)}",
            f"use {format_power(snap.consumption_w[index], resolution=COARSE)}",
        )
    )
    return f"<b>{_escape(snap.house_ids[index])}</b> (ringed): {power}"


def search_part(snap: Snapshot, query: str, top_n: int = gl.TOP_N, detail_limit: int = gl.DETAIL_LIMIT) -> dict[str, Any]:
    """What a search for `query` adds to the shared columns of `snap` (pure): ``slot``, the slot to
    ring (None if no house matches), ``message`` (:func:`search_message`), and ``graph``: in the
    overview, the houses', edges' and hubs' columns with the house in its slot (drawn one by one, or
    taken out of its group into the search slot), else None (the shared columns hold every house).
    O(slots) plus O(1) for the house, after one index of the ids per snapshot."""
    lookup = per_snapshot(snap, "graph.house_index", lambda: house_index(snap.house_ids)) if query.strip() else None
    index = find_house(snap.house_ids, query, lookup) if lookup is not None else None
    message = search_message(snap, query, index)
    if len(snap.house_ids) <= detail_limit:
        return dict(slot=index, message=message, graph=None)
    base = per_snapshot(snap, ("graph.overview", top_n), lambda: overview_base(snap, top_n))
    if index is None:
        return dict(slot=None, message=message, graph=None)
    values, ids, labels, styles = base["values"], base["ids"], base["labels"], base["styles"]
    appliance, sources, visible = base["appliance"], base["sources"], base["visible"]
    sel: Overview = base["selection"]
    roles = gl.overview_roles(top_n)
    if sel.drawn[index]:
        slot = int(np.flatnonzero(base["slot_house"] == index)[0])
    else:
        values = values.copy()
        ids, labels, styles = list(ids), list(labels), list(styles)
        appliance, sources, visible = list(appliance), list(sources), list(visible)
        slot = roles.index(gl.SEARCH)
        own = np.array([snap.net_power_w[index], snap.pv_power_w[index], snap.base_load_w[index], snap.flex_load_w[index]])
        values[slot] = own
        ids[slot] = snap.house_ids[index]
        labels[slot], styles[slot] = snapshot_house_prefix(snap, index), SIGNED
        appliance[slot] = snap.flex_appliance(index) or "none"
        sources[slot] = snap.source_text(index)
        visible[slot] = 1
        # The house leaves its group: every house is drawn once, in one place.
        role = _ROLE_OF_GROUP[int(sel.group_of[index])]
        g = roles.index(role)
        count = sel.group[role][0] - 1
        values[g] = values[g] - own
        ids[g] = group_name(role, count)
        labels[g], styles[g] = group_prefix(role, count)
        visible[g] = 1 if count else 0
    graph = dict(slot_columns(values, base["grid_w"], ids, labels, styles, appliance, sources, visible), hubs=base["hubs"])
    return dict(slot=slot, message=message, graph=graph)


def graph_places(snap: Snapshot, frame_px: float, label_px: float, top_n: int = gl.TOP_N, detail_limit: int = gl.DETAIL_LIMIT) -> tuple[Any, dict]:
    """Where everything of `snap`'s house set sits in a frame of `frame_px` with labels of
    `label_px` (pure): the layout, and the houses', edges' and hubs' columns that hold places,
    sizes and markers, with the label font size (``font_px``). The same for every page of one
    frame size, so a page built once takes them from the feed when the house set changes."""
    ids = snap.house_ids
    if len(ids) > detail_limit:
        id_chars = per_snapshot(snap, "graph.id_chars", lambda: max((len(h) for h in ids), default=1))
        if snap.measured.any():  # a measured house's label has its mark
            id_chars = gl.ID_CHARS
        lay = gl.overview_layout(id_chars, len(ids), top_n, frame_px, label_px)
        roles = gl.overview_roles(top_n)
    else:
        lay = gl.community_layout(tuple(snapshot_house_prefix(snap, i) for i in range(len(ids))), frame_px, label_px)
        roles = ("house",) * len(ids)
    k = lay.slot_count
    seg = lay.edge_segments()
    share = 0.55  # arrowheads sit at 55 % of the way from the outer end
    arrow = seg[:, 0] + share * (seg[:, 1] - seg[:, 0])
    export_angle = np.arctan2(seg[:, 1, 1] - seg[:, 0, 1], seg[:, 1, 0] - seg[:, 0, 0])
    sizes = [lay.node_px * (1.6 if r in gl.GROUP_ROLES else 1.0) for r in roles]
    places = dict(
        edges=dict(
            x0=pack(seg[:, 0, 0], 1), y0=pack(seg[:, 0, 1], 1), x1=pack(seg[:, 1, 0], 1), y1=pack(seg[:, 1, 1], 1),
            ax=pack(arrow[:, 0], 1), ay=pack(arrow[:, 1], 1), a0=pack(export_angle, 3), b=[BUS] * k + [GRID],
        ),
        houses=dict(
            x=pack(lay.slot_xy[:, 0], 1), y=pack(lay.slot_xy[:, 1], 1), s=pack(sizes, 1),
            m=["square" if r in gl.GROUP_ROLES else "circle" for r in roles],
            lx=pack(lay.label_xy[:, 0], 1), ly=pack(lay.label_xy[:, 1], 1), la=pack(lay.label_angle_rad, 3),
            al=["left" if left else "right" for left in lay.label_left],
        ),
        hubs=dict(
            x=[float(lay.bus_xy[0]), float(lay.grid_xy[0])], y=[float(lay.bus_xy[1]), float(lay.grid_xy[1])], s=[float(lay.hub_px)] * 2,
            m=["circle", "square"], name=[BUS, GRID],
        ),
        font_px=float(lay.font_px),
    )
    return lay, places


def shared_columns(snap: Snapshot, top_n: int = gl.TOP_N, detail_limit: int = gl.DETAIL_LIMIT) -> dict[str, dict]:
    """What every session without a search shows of `snap`: the houses', edges' and hubs'
    columns, computed once per snapshot for all sessions."""
    if len(snap.house_ids) > detail_limit:
        base = per_snapshot(snap, ("graph.overview", top_n), lambda: overview_base(snap, top_n))
        cols = slot_columns(
            base["values"], base["grid_w"], base["ids"], base["labels"], base["styles"], base["appliance"], base["sources"], base["visible"]
        )
        return dict(cols, hubs=base["hubs"])
    return per_snapshot(snap, "graph.detail", lambda: detail_columns(snap))


class FlowGraph(View):
    """Live flow graph of the community (see the module docstring).

    The panel is a Column of: the search row (text box and its message; not on a
    wall screen), the figure (named ``flow_graph``), which keeps a square frame and
    fills the width it is given, never smaller than ``frame_px``, and the colour legend.
    """

    label_px = param.Number(
        default=gl.LABEL_PX, bounds=(7, 40), constant=True, doc="Text size of the labels; shrinks only if they would not fit frame_px. [px]"
    )
    frame_px = param.Integer(
        default=gl.FRAME_PX, bounds=(200, 2000), constant=True, doc="Side of the square frame the layout is made for, and the smallest drawn. [px]"
    )
    top_n = param.Integer(default=gl.TOP_N, bounds=(1, 40), constant=True, doc="Largest exporters and importers drawn one by one in the overview.")
    detail_limit = param.Integer(
        default=gl.DETAIL_LIMIT, bounds=(1, 200), constant=True, doc="Up to this many houses every house is drawn and labelled."
    )
    dark = param.Boolean(default=False, constant=True, doc="Label colours for the dark theme (contrast of at least 4.5:1).")
    wall = param.Boolean(
        default=False, constant=True, doc="Wall screen: no search box, and the square fits the height it is given as well as the width."
    )
    in_browser = param.Boolean(
        default=False, constant=True,
        doc="A page without a session (leg_sim.server.pages): the search box sends its query over the page's feed, which answers with the ring, "
        "the message and (in the overview) the slots.",
    )

    def __init__(self, schedule: Callable[[Callable[[], None]], None] | None = None, **params: Any):
        # `schedule(fn)` runs fn in this session's document context: a search arrives on a
        # widget callback, which may run outside the document lock (Panel's thread pool).
        self._schedule = schedule
        super().__init__(**params)

    # ------------------------------------------------------------------ build
    def build(self) -> Any:
        if self._schedule is None:
            doc = pn.state.curdoc
            if doc is not None and doc.session_context is not None:

                def on_next_tick(fn: Callable[[], None]) -> None:
                    doc.add_next_tick_callback(fn)

                self._schedule = on_next_tick
            else:
                self._schedule = lambda fn: fn()
        self._ids: tuple[str, ...] | None = None
        self._layout: gl.GraphLayout | None = None
        self._overview = False
        #: True while the page takes the shared columns from the feed (:mod:`leg_sim.ui.feed`).
        self.fed = False
        #: True while this session sends the graph's columns itself although fed (a search in the overview).
        self._own = False
        self.edges = ColumnSync(
            ColumnDataSource(data=dict(x0=[], y0=[], x1=[], y1=[], ax=[], ay=[], a0=[], p=[], v=[], a=[], b=[]), name=SOURCE_NAMES["edges"])
        )
        self.houses = ColumnSync(
            ColumnDataSource(
                data=dict(x=[], y=[], s=[], m=[], lx=[], ly=[], la=[], al=[], v=[], id=[], n=[], pv=[], bl=[], fl=[], ap=[], src=[], label=[], ls=[]),
                name=SOURCE_NAMES["houses"],
            )
        )
        self.hubs = ColumnSync(
            ColumnDataSource(data=dict(x=[], y=[], s=[], m=[], fill=[], line=[], label=[], ls=[], w=[], name=[]), name=SOURCE_NAMES["hubs"])
        )
        self.mark = ColumnSync(ColumnDataSource(data=dict(x=[], y=[], s=[]), name=MARK_NAME))
        # Moved by the browser only: never synchronised back to the server.
        self.dots = ColumnDataSource(data=dict(x=[], y=[]), syncable=False)
        self.figure = self._figure()
        self.search = pn.widgets.TextInput(
            placeholder="Find a house by id, e.g. H001", sizing_mode="stretch_width", max_width=260, margin=(2, 8, 2, 0), max_length=MAX_SEARCH_CHARS
        )
        self.message = pn.pane.HTML("", sizing_mode="stretch_width", margin=(6, 4, 2, 4), styles={"font-size": "0.85em"})
        if self.in_browser:
            self.search.tags = [SEARCH_TAG]
            self.search.jscallback(value="if (window.legSearch) window.legSearch(cb_obj.value);")
            self.message.tags = [SEARCH_MESSAGE_TAG]
        self._search_watcher: Any = self.search.param.watch(self._on_search, "value")
        self.legend = pn.pane.HTML(legend_html(), sizing_mode="stretch_width", margin=(0, 4))
        if self.wall:
            self.pane = pn.pane.Bokeh(self.figure, sizing_mode="scale_both", min_width=self.frame_px + 8, min_height=self.frame_px + 8)
            return pn.Column(self.pane, self.legend, sizing_mode="stretch_both")
        self.pane = pn.pane.Bokeh(self.figure, sizing_mode="scale_width", min_width=self.frame_px + 8, min_height=self.frame_px + 8)
        return pn.Column(pn.Row(self.search, self.message, sizing_mode="stretch_width"), self.pane, self.legend, sizing_mode="stretch_width")

    def _figure(self) -> Any:
        half = self.frame_px / 2
        fig = figure(
            x_range=Range1d(start=-half, end=half),
            y_range=Range1d(start=-half, end=half),
            width=self.frame_px + 8,
            height=self.frame_px + 8,
            min_width=self.frame_px + 8,
            min_height=self.frame_px + 8,
            sizing_mode="scale_both" if self.wall else "scale_width",
            aspect_ratio=1.0,
            toolbar_location=None,
            tools="",
            # A graph has no axes: none are made (ten fewer models to build and send per page).
            x_axis_type=None,
            y_axis_type=None,
            min_border=4,
            background_fill_color=None,
            border_fill_color=None,
            outline_line_color=None,
            name="flow_graph",
        )
        es = self.edges.source
        hs = self.houses.source
        state_colour = transform("p", CustomJSTransform(v_func=_STATE_COLOUR_JS))
        # Each glyph as one renderer with one glyph: figure's glyph methods add a second one per
        # renderer for an unselected look (BokehJS derives it when needed; nothing here selects).
        edge_r = fig.add_glyph(es, Segment(
            x0="x0", y0="y0", x1="x1", y1="y1", line_color=state_colour, line_width=transform("p", CustomJSTransform(v_func=_WIDTH_JS)),
            line_alpha="v", line_cap="round",
        ), name="graph_edges")
        fig.add_glyph(es, Scatter(
            x="ax", y="ay", marker="triangle", size=transform("p", CustomJSTransform(v_func=_ARROW_SIZE_JS)),
            angle=transform("p", CustomJSTransform(v_func=_ARROW_ANGLE_JS, args=dict(source=es))),
            fill_color=state_colour, line_color=state_colour, fill_alpha="v", line_alpha="v",
        ), name="graph_arrows")
        fig.add_glyph(self.dots, Scatter(
            x="x", y="y", size=5, fill_color="#ffffff", line_color="#444444", line_width=1, fill_alpha=0.95,
        ), name="graph_dots")
        house_r = fig.add_glyph(hs, Scatter(
            x="x", y="y", size="s", marker="m", fill_color=transform("n", CustomJSTransform(v_func=_HOUSE_COLOUR_JS)),
            line_color="#555555", line_width=1.0, fill_alpha="v", line_alpha="v",
        ), name="graph_houses")
        fig.add_glyph(self.mark.source, Scatter(
            x="x", y="y", size="s", marker="circle", fill_color=None, line_color=HIGHLIGHT, line_width=2.5,
        ), name="graph_mark")
        house_label = transform("label", CustomJSTransform(args=dict(source=hs, power_column="n", sep=" "), v_func=_LABEL_JS))
        self._house_text = fig.add_glyph(hs, Text(
            x="lx", y="ly", text=house_label, angle="la", text_align="al", text_baseline="middle",
            text_font_size=f"{self.label_px}px", text_color=theme.text_colours("dark" if self.dark else "light")["muted"],
            text_line_height=gl.LINE_EM,
        ), name="graph_labels")
        hub_r = fig.add_glyph(self.hubs.source, Scatter(
            x="x", y="y", size="s", marker="m", fill_color="fill", line_color="line", line_width=2.5,
        ), name="graph_hubs")
        hub_label = transform("label", CustomJSTransform(args=dict(source=self.hubs.source, power_column="w", sep="\n"), v_func=_LABEL_JS))
        self._hub_text = fig.add_glyph(self.hubs.source, Text(
            x="x", y="y", text=hub_label,
            text_align="center", text_baseline="middle",
            text_font_size=f"{self.label_px}px", text_color=HUB_TEXT, text_font_style="bold", text_line_height=gl.LINE_EM,
        ), name="graph_hub_labels")
        fig.add_tools(
            HoverTool(
                renderers=[house_r],
                tooltips=[
                    ("House", "@id"),
                    ("Production (PV)", "@pv{0.00} kW"),
                    ("Consumption", "@bl{load} kW"),
                    ("  base load", "@bl{0.00} kW"),
                    ("  flex load", "@fl{0.00} kW (@ap)"),
                    ("Net power", "@n{+0.00} kW"),
                    ("Source", "@src"),
                ],
                # Consumption = base + flex is added up in the browser rather than sent.
                formatters={"@bl": CustomJSHover(
                    args=dict(source=hs),
                    code=(
                        "const i = special_vars.index;"
                        "return format == 'load' ? (source.data.bl[i] + source.data.fl[i]).toFixed(2) : value.toFixed(2);"
                    ),
                )},
                name="house_hover",
            ),
            HoverTool(renderers=[hub_r], tooltips=[("", "@name")], name="hub_hover"),
            HoverTool(
                renderers=[edge_r],
                tooltips=[("Flow", "@a{flow}"), ("Power", "@p{abs} kW")],
                formatters={
                    "@a": CustomJSHover(
                        args=dict(source=es),
                        code="const i = special_vars.index; const d = source.data;"
                        "return d.p[i] < 0 ? d.b[i] + ' → ' + d.a[i] : d.a[i] + ' → ' + d.b[i];",
                    ),
                    "@p": CustomJSHover(code="return Math.abs(value).toFixed(2);"),
                },
                line_policy="interp",
                name="edge_hover",
            ),
        )
        start = CustomJS(args=dict(fig=fig, edges=es, dots=self.dots), code=_DOTS_JS)
        fig.js_on_change("inner_width", start)
        es.js_on_change("data", start)
        return fig

    # ------------------------------------------------------------------ layout (once per house set)
    def _relayout(self, snap: Snapshot) -> None:
        ids = snap.house_ids
        self._ids = ids
        self._overview = len(ids) > self.detail_limit
        lay, places = graph_places(snap, self.frame_px, self.label_px, self.top_n, self.detail_limit)
        self._layout = lay
        font = f"{lay.font_px:g}px"
        self._house_text.glyph.text_font_size = font
        self._hub_text.glyph.text_font_size = font
        columns = self._columns(snap)
        self.edges.replace(dict(places["edges"], **columns["edges"]))
        self.houses.replace(dict(places["houses"], **columns["houses"]))
        self.hubs.replace(dict(places["hubs"], **columns["hubs"]))
        self.mark.replace(columns["mark"])
        hidden = [math.nan] * (DOTS_PER_EDGE * (lay.slot_count + 1))
        self.dots.data = dict(x=list(hidden), y=list(hidden))

    # ------------------------------------------------------------------ columns
    def _columns(self, snap: Snapshot) -> dict[str, Any]:
        """All columns that change with the snapshot: shared ones, or this session's search's
        (:func:`search_part`), with its ring and message."""
        part = search_part(snap, self.search.value or "", self.top_n, self.detail_limit)
        cols: dict[str, Any] = dict(part["graph"] or shared_columns(snap, self.top_n, self.detail_limit))
        lay = self._layout
        assert lay is not None
        slot = part["slot"]
        cols["mark"] = self._mark(slot) if slot is not None and slot < lay.slot_count else dict(x=[], y=[], s=[])
        cols["message"] = part["message"]
        return cols

    def _mark(self, slot: int) -> dict:
        lay = self._layout
        assert lay is not None
        x, y = lay.slot_xy[slot]
        return dict(x=[round(float(x), 1)], y=[round(float(y), 1)], s=[lay.node_px + 9])

    # ------------------------------------------------------------------ updates
    def _push(self, snap: Snapshot, graph: bool = True) -> None:
        """Send the columns that changed (the houses', edges' and hubs' only with `graph`), the ring and the message."""
        cols = self._columns(snap)
        if graph:
            self.houses.push(cols["houses"])
            self.edges.push(cols["edges"])
            self.hubs.push(cols["hubs"])
        self.mark.push(cols["mark"])
        if self.message.object != cols["message"]:
            self.message.object = cols["message"]

    def update(self, snap: Snapshot) -> None:
        """Show `snap`: a new layout only when the house set changed, else only changed columns."""
        if snap.house_ids != self._ids:
            self._relayout(snap)
        self._push(snap)

    # ------------------------------------------------------------------ a page fed by the shared feed
    def _searching(self) -> bool:
        return bool((self.search.value or "").strip())

    def needs_own_update(self, snap: Snapshot) -> bool:
        """True when a fed page needs this session for `snap`: a new house set (the places
        depend on this page's size) or a search (its ring and message). Any thread."""
        return snap.house_ids != self._ids or self._searching()

    def update_own(self, snap: Snapshot) -> None:
        """Fed page: new places for a new house set, and what a search adds; in the overview
        a search changes the slots themselves, and this session then sends them all (the page
        ignores the feed's graph columns while its house source carries :data:`OWN_TAG`)."""
        if snap.house_ids != self._ids:
            self._relayout(snap)
        own = self._overview and self._searching()
        leaving = self._own and not own
        if own != self._own:
            self._own = own
            for sync in (self.houses, self.edges, self.hubs):
                sync.forget()
            self.houses.source.tags = [OWN_TAG] if own else []
        self._push(snap, graph=own or leaving)

    def resync(self) -> None:
        for sync in (self.houses, self.edges, self.hubs, self.mark):
            sync.forget()
        if self._own:
            self._own = False
            self.houses.source.tags = []

    def _on_search(self, event: Any) -> None:
        snap = self.read_model.snapshot
        if snap is None or self._ids is None:
            return
        ids = self._ids

        def show() -> None:
            latest = self.read_model.snapshot
            if latest is not None and self._ids == ids:
                if self.fed:
                    self.update_own(latest)
                else:
                    self._push(latest)

        assert self._schedule is not None
        self._schedule(show)

    def dispose(self) -> None:
        """Stop following the search box."""
        if self._search_watcher is not None:
            self.search.param.unwatch(self._search_watcher)
            self._search_watcher = None


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
