"""Chromium for tests, the screenshot and the benchmarks: where it is, how to start it,
and how to find the flow graph's nodes on the page.

No pytest here, so scripts and benchmarks can import it too.
"""

from __future__ import annotations

import shutil
from pathlib import Path


def chromium_path() -> str | None:
    """Debian's Chromium (/usr/bin/chromium), or one on PATH; None when there is none."""
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else shutil.which("chromium")


#: Flags for headless Chromium on a machine with no network but loopback: no sandbox
#: (root in CI), no GPU, and none of Chromium's own background connections.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


#: Finds the flow graph's PlotView and maps data points to viewport pixels; null if not found.
FIND_FLOW_GRAPH_JS = """
(points) => {
  const B = window.Bokeh;
  if (!B || !B.index) return null;
  const roots = B.index instanceof Map ? [...B.index.values()] : Object.values(B.index);
  const seen = new Set();
  let plot = null;
  const visit = (v) => {
    if (!v || plot || seen.has(v)) return;
    seen.add(v);
    if (v.model && v.model.name === "flow_graph" && v.frame) { plot = v; return; }
    for (const c of (v.child_views || [])) visit(c);
  };
  for (const root of roots) {
    visit(root);
    if (!plot && root.owner && typeof root.owner.all_views === "function") {
      for (const v of root.owner.all_views()) visit(v);
    }
  }
  if (!plot) return null;
  const el = plot.canvas_view ? plot.canvas_view.el : plot.el;
  const r = el.getBoundingClientRect();
  // What the graph shows, as held by the browser's copy of the Bokeh document.
  const labels = [], powers = [];
  for (const rd of plot.model.renderers) {
    const data = rd.data_source && rd.data_source.data;
    if (!data) continue;
    const col = (c) => (data instanceof Map ? data.get(c) : data[c]);
    // A label's text may be finished in the browser (a transform of the label column).
    const spec = rd.glyph && rd.glyph.text, tf = spec && spec.transform;
    if (col("label")) labels.push(...Array.from(tf && tf.v_compute ? tf.v_compute(col("label")) : col("label"), String));
    if (col("power_kw")) powers.push(...Array.from(col("power_kw"), Number));
    else if (col("p")) powers.push(...Array.from(col("p"), Number));
  }
  return {
    canvas: {x: r.left, y: r.top, width: r.width, height: r.height},
    points: points.map(([x, y]) => [r.left + plot.frame.x_scale.compute(x), r.top + plot.frame.y_scale.compute(y)]),
    labels,
    shown: {labels, powers},
  };
}
"""


#: The flow graph's renderers by name (graph_houses, graph_edges, graph_mark, graph_dots, ...):
#: their columns as plain arrays (NaN as null), their glyph's font size, and the
#: width of each of their labels as the browser measures it in that font. Null if not found.
FLOW_GRAPH_DATA_JS = """
() => {
  const B = window.Bokeh;
  if (!B || !B.index) return null;
  const roots = B.index instanceof Map ? [...B.index.values()] : Object.values(B.index);
  const seen = new Set();
  let plot = null;
  const visit = (v) => {
    if (!v || plot || seen.has(v)) return;
    seen.add(v);
    if (v.model && v.model.name === "flow_graph" && v.frame) { plot = v; return; }
    for (const c of (v.child_views || [])) visit(c);
  };
  for (const root of roots) {
    visit(root);
    if (!plot && root.owner && typeof root.owner.all_views === "function") {
      for (const v of root.owner.all_views()) visit(v);
    }
  }
  if (!plot) return null;
  const ctx = document.createElement("canvas").getContext("2d");
  const out = {};
  for (const rd of plot.model.renderers) {
    if (!rd.name || !rd.data_source) continue;
    const data = rd.data_source.data;
    const cols = {};
    const names = data instanceof Map ? [...data.keys()] : Object.keys(data);
    for (const c of names) {
      const v = data instanceof Map ? data.get(c) : data[c];
      cols[c] = Array.from(v, (x) => (typeof x === "number" && !isFinite(x) ? null : x));
    }
    const g = rd.glyph;
    const entry = {data: cols};
    if (g.text_font_size !== undefined) {
      const fs = g.text_font_size;
      const size = typeof fs === "string" ? fs : (fs && fs.value) || "";
      const style = g.text_font_style && (g.text_font_style.value || g.text_font_style);
      const family = (g.text_font && (g.text_font.value || g.text_font)) || "helvetica";
      entry.font_px = parseFloat(size);
      const spec = g.text, tf = spec && spec.transform;
      if (cols.label && tf && tf.v_compute) cols.label = Array.from(tf.v_compute(cols.label), String);
      if (cols.label) {
        ctx.font = `${typeof style === "string" ? style : "normal"} ${size} ${family}`;
        entry.widths = cols.label.map((t) => Math.max(0, ...String(t).split("\\n").map((line) => ctx.measureText(line).width)));
      }
    }
    out[rd.name] = entry;
  }
  const el = plot.canvas_view ? plot.canvas_view.el : plot.el;
  const r = el.getBoundingClientRect();
  out.canvas = {x: r.left, y: r.top, width: r.width, height: r.height,
                frame_width: plot.frame.bbox.width, frame_height: plot.frame.bbox.height};
  return out;
}
"""
