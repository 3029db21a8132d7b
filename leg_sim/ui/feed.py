"""One update per tick for every page: what the views show of a snapshot, built once, as the same bytes for all.

Every open page shows the same snapshot. Instead of each session computing,
diffing and serialising its own Bokeh patch, :class:`FeedBuilder` turns each
snapshot into one :class:`Frame`: a small JSON document of what changed since
the previous tick (``delta``) and, built only when some page needs it, all of
it (``full``). The server writes the same bytes to every page's feed
websocket (:mod:`leg_sim.server.feed`); a script in the page
(:data:`CLIENT_JS`) unpacks them into the page's own Bokeh models with
``setv(..., {sync: false})``, BokehJS's public way of changing a model in the
browser without sending the change back, and redraws the Sankey with Plotly.

A frame holds, each part only when it changed:

* ``kpis`` and ``today``: the text of every slot of the two number blocks;
* ``graph``: the flow graph's columns that follow the snapshot (houses, edges,
  bus and grid); the places of the slots depend on the page's frame size: a
  session's page gets them from its session, a page built once from ``places``
  (per layout, in every full frame and in the delta where the house set changed);
* ``chart``: per chart window, the display bins completed since the previous
  tick (``rows``), or the whole window (``reset``);
* ``sankey``: a new figure (``spec``) or the restyle of the trace (``restyle``);
* ``controls``: the live settings and pause (name -> value), for a page whose
  controls talk to the server over its feed (:func:`page_request`).

``seq`` numbers the frames; a delta applies to a page that holds frame
``prev``, any other page gets the full frame. ``set`` is the house set's key
(:func:`house_set_key`), in every full frame and in the delta where the set
changed: a page built once for many viewers (``/live``, ``/wall``,
:mod:`leg_sim.server.pages`) whose set is not the feed's lays its graph out again
from ``places`` (or, without places for its layout, loads itself again).
No Panel here: the feed is the same for every page.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from leg_sim.snapshot import Snapshot
from leg_sim.ui import charts, flow_graph, kpis, page, reconnect, sankey, today
from leg_sim.ui.columns import same
from leg_sim.ui.controls import CONTROL_TAG, MESSAGE_TAG
from leg_sim.ui.readmodel import ReadModel

#: Path of the feed websocket, relative to the page.
FEED_PATH = "feed"
#: Close code of a feed the server closes because it is full (RFC 6455: try again later).
FULL_CLOSE = 1013
#: Longest wait of a page before it tries its feed again (but after a FULL_CLOSE). [ms]
MAX_RETRY_MS = 4000
#: How long after its viewer last moved a control a page without a session shows the server's
#: value of it again (a dragged slider's values are applied a quarter second apart). [ms]
CONTROL_SETTLE_MS = 1500
#: Where a page built once for many viewers gets each request's feed id (:func:`standalone_script`).
FEED_ID_SLOT = "__LEG_FEED_ID__"


#: The most messages a page sends in one second: its script sends at most a few per second
#: (one per control change, at most one per :data:`~leg_sim.ui.gate.MIN_CHANGE_INTERVAL_S` and
#: control); a socket that sends more is closed. [1/s]
MAX_PAGE_MESSAGES_PER_S = 20


def page_request(message: str | bytes) -> tuple[str, Any] | None:
    """What a page asks over its feed (pure), or None for anything else:
    ``{"set": name, "value": v}`` gives ``("set", (name, v))`` (a change of a live setting, checked
    by the server), ``{"full": true}`` gives ``("full", None)`` (send me everything again),
    ``{"search": query}`` gives ``("search", query)`` (ring this house in my graph from now on;
    "" ends it)."""
    try:
        request = json.loads(message)
    except (ValueError, RecursionError):
        return None
    if not isinstance(request, dict):
        return None
    if set(request) == {"set", "value"} and isinstance(request["set"], str):
        return "set", (request["set"], request["value"])
    if set(request) == {"full"} and request["full"] is True:
        return "full", None
    if set(request) == {"search"} and isinstance(request["search"], str) and len(request["search"]) <= flow_graph.MAX_SEARCH_CHARS:
        return "search", request["search"]
    return None


def search_message(frame: Frame, query: str) -> bytes:
    """What a search for `query` adds to `frame` for one page (:func:`leg_sim.ui.flow_graph.search_part`):
    ``{"search": {"seq", "query", "slot", "message", "graph"}}``."""
    part = flow_graph.search_part(frame.snap, query) if frame.snap is not None else dict(slot=None, message="", graph=None)
    return encode({"search": dict(part, seq=frame.seq, query=query)})


def house_set_key(house_ids: tuple[str, ...]) -> str:
    """A short key of a house set (pure): equal for the same ids in the same order."""
    return hashlib.sha256("\n".join(house_ids).encode()).hexdigest()[:16]


def _plain(value: Any) -> Any:
    """JSON form of numpy values (json.dumps's `default`)."""
    if isinstance(value, np.ndarray):
        return [None if isinstance(v, float) and not math.isfinite(v) else v for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON: {type(value).__name__}")


def encode(document: dict) -> bytes:
    """Compact UTF-8 JSON of a frame document."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False, default=_plain).encode()


def changed(old: dict | None, new: dict) -> dict:
    """The entries of `new` whose values differ from `old`'s (all of them if `old` is None)."""
    if old is None:
        return dict(new)
    return {k: v for k, v in new.items() if k not in old or not same(old[k], v)}


@dataclasses.dataclass
class Frame:
    """One tick's update: `delta` for a page that holds frame ``seq - 1``, :meth:`full` for any other."""

    seq: int
    tick: int
    wall_time_s: float
    delta: bytes
    _full_parts: dict = dataclasses.field(repr=False, default_factory=dict)
    #: The snapshot it shows (what a page's search is answered from).
    snap: Snapshot | None = dataclasses.field(repr=False, default=None)
    _full: bytes | None = dataclasses.field(repr=False, default=None)

    def full(self) -> bytes:
        """Everything a page shows of this tick, built on first use and kept."""
        if self._full is None:
            chart = {label: {"reset": True, "rows": _concat(chunks)} for label, chunks in self._full_parts["chart"].items()}
            self._full = encode(dict(self._full_parts, chart=chart))
        return self._full


def _concat(chunks: tuple[dict[str, np.ndarray], ...]) -> dict[str, np.ndarray]:
    if not chunks:
        return {}
    return {k: np.concatenate([c[k] for c in chunks])[-charts.BUFFER_LENGTH :] for k in chunks[0]}


class FeedBuilder:
    """Builds one :class:`Frame` per snapshot for all pages; call from one thread only.

    Parameters
    ----------
    reader
        What the views may read (the snapshot's history, time zone, pause).
    graph_frames
        Layout name -> (frame, label) size of the flow graph of the pages built once
        (:data:`leg_sim.ui.dashboard.GRAPH_FRAMES`): when the house set changes, the frame
        carries the places for each (``places``), so such a page needs no reload.
    """

    def __init__(self, reader: ReadModel, graph_frames: Mapping[str, tuple[float, float]] | None = None):
        self.reader = reader
        #: Layout name -> (frame, label) size of the flow graph whose places the frames carry. [px]
        self.graph_frames = dict(graph_frames or {})
        self._places: dict[str, dict] = {}
        self.seq = 0
        self._last: dict[str, Any] = {}
        self._bins: dict[str, charts.BinStream] | None = None
        self._chunks: dict[str, list[dict[str, np.ndarray]]] = {w.label: [] for w in charts.WINDOWS}
        self._sankey_flows: sankey.SupplyFlows | None = None
        self._sankey_spec: dict | None = None
        self._graph_ids: tuple[str, ...] | None = None
        self._set_key = house_set_key(())

    # ------------------------------------------------------------------ parts
    def _chart(self) -> dict[str, dict]:
        """New bins per window; the whole window where its stream started again."""
        snap = self.reader.snapshot
        out: dict[str, dict] = {}
        if self._bins is None:
            self._bins = {w.label: charts.BinStream(w, self.reader) for w in charts.WINDOWS}
            for label, stream in self._bins.items():
                rows = stream.rows(*stream.backfill())
                self._chunks[label] = [rows]
                out[label] = {"reset": True, "rows": rows}
            return out
        assert snap is not None
        for label, stream in self._bins.items():
            starts, means, restarted = stream.advance(snap)
            if not restarted and not len(starts):
                continue
            rows = stream.rows(starts, means)
            chunks = [rows] if restarted else self._trim(self._chunks[label] + [rows])
            self._chunks[label] = chunks
            out[label] = {"reset": restarted, "rows": rows}
        return out

    @staticmethod
    def _trim(chunks: list[dict[str, np.ndarray]]) -> list[dict[str, np.ndarray]]:
        while len(chunks) > 1 and sum(len(c["time"]) for c in chunks[1:]) >= charts.BUFFER_LENGTH:
            chunks = chunks[1:]
        return chunks

    def _sankey(self, snap: Snapshot) -> dict | None:
        """A new figure, a restyle, or None when nothing moved by the send step."""
        previous = self._sankey_flows.columns if self._sankey_flows is not None else ((), ())
        flows = sankey.supply_flows(snap, previous)
        if not sankey.needs_send(self._sankey_flows, flows):
            return None
        same_shape = self._sankey_flows is not None and self._sankey_flows.shape == flows.shape
        old, spec = self._sankey_spec, sankey.sankey_spec(flows)
        self._sankey_flows, self._sankey_spec = flows, spec
        if same_shape and old is not None:
            return {"restyle": sankey.value_update(spec, old)}
        return {"spec": spec}

    # ------------------------------------------------------------------ frames
    def frame(self, snap: Snapshot) -> Frame:
        """The frame of `snap` (the reader's latest snapshot)."""
        paused = self.reader.paused
        parts: dict[str, Any] = {
            "kpis": kpis.kpi_values(snap, paused),
            "today": today.today_values(self.reader.today()),
            "controls": self.reader.live_values(),
        }
        graph = flow_graph.shared_columns(snap)
        delta: dict[str, Any] = {}
        new_house_set = snap.house_ids != self._graph_ids
        if new_house_set:
            self._set_key = house_set_key(snap.house_ids)
            delta["set"] = self._set_key
            self._places = {name: flow_graph.graph_places(snap, *size)[1] for name, size in self.graph_frames.items()}
            if self._places:
                delta["places"] = self._places
        self._graph_ids = snap.house_ids
        for key in ("kpis", "today"):
            part = changed(self._last.get(key), parts[key])
            if part:
                delta[key] = part
        last_controls = self._last.get("controls", {})
        controls = {name: value for name, value in parts["controls"].items() if name not in last_controls or last_controls[name] != value}
        if controls:
            delta["controls"] = controls
        graph_delta = {name: changed(None if new_house_set else self._last.get("graph", {}).get(name), cols) for name, cols in graph.items()}
        graph_delta = {name: cols for name, cols in graph_delta.items() if cols}
        if graph_delta:
            delta["graph"] = graph_delta
        chart = self._chart()
        if chart:
            delta["chart"] = chart
        sk = self._sankey(snap)
        if sk is not None:
            delta["sankey"] = sk
        self._last = dict(parts, graph=graph)
        self.seq += 1
        head = {"seq": self.seq, "tick": snap.tick, "wall": round(snap.wall_time_s, 3)}
        full_parts = dict(
            head, full=True, set=self._set_key, places=self._places, kpis=parts["kpis"], today=parts["today"], controls=parts["controls"],
            graph=graph,
            chart={label: tuple(chunks) for label, chunks in self._chunks.items()},
            sankey={"spec": self._sankey_spec} if self._sankey_spec is not None else {},
        )
        return Frame(self.seq, snap.tick, snap.wall_time_s, encode(dict(head, prev=self.seq - 1, **delta)), full_parts, snap)


#: The page's script (a ``document_ready`` CustomJS; args ``sid``, ``textfont``): opens the feed
#: websocket, applies each frame to the named models without sending anything back, reconnects
#: with a growing delay, and marks the page (``data-feed-seq`` on <body>) with the last frame shown.
CLIENT_JS = """
const doc = Bokeh.documents[Bokeh.documents.length - 1];
const named = (name) => doc.get_model_by_name(name);
const NAMES = %(names)s;
let seq = -1, spec = null, delay_ms = 1000, socket = null, reloading = false;
function setData(source, cols, replace) {
  if (source == null) return;
  const data = replace ? {} : Object.assign({}, source.data);
  for (const key of Object.keys(cols)) data[key] = cols[key];
  source.setv({data: data}, {sync: false});
}
const PLACE = {houses: "x", edges: "x0", hubs: "x"};
function fits(source, cols, key) {
  const places = source.data[PLACE[key]];
  const have = places ? places.length : 0;
  for (const name of Object.keys(cols)) if (cols[name].length != have) return false;
  return true;
}
function fill(name, values) {
  const cols = {};
  for (const key of Object.keys(values)) cols[key] = [values[key]];
  setData(named(name), cols, false);
}
let ownGraph = false, query = "", opened = false, asked = false, stale = false;
function graph(part) {
  const houses = named(NAMES.houses);
  if (houses == null || houses.tags.includes(NAMES.own) || ownGraph) return;
  for (const key of ["houses", "edges", "hubs"]) {
    const source = named(NAMES[key]);
    const cols = part[key];
    // A new house set reaches the page with its session (its places): until then keep the old one.
    if (source != null && cols != null && fits(source, cols, key)) setData(source, cols, false);
  }
}
function chart(part) {
  const windowSource = named(NAMES.window), source = named(NAMES.chart);
  if (windowSource == null || source == null) return;
  const mine = part[windowSource.data.window[0]];
  if (mine == null || mine.rows == null || mine.rows.time == null) return;
  if (mine.reset) { setData(source, mine.rows, true); return; }
  const times = source.data.time || [];
  const last = times.length ? Number(times[times.length - 1]) : -Infinity;
  const keep = [];
  mine.rows.time.forEach((t, i) => { if (t > last) keep.push(i); });
  if (!keep.length) return;
  const rows = {};
  for (const key of Object.keys(mine.rows)) rows[key] = keep.map((i) => mine.rows[key][i]);
  source.stream(rows, %(rollover)d, {sync: false});
}
function drawSankey() {
  const model = named(NAMES.sankey);
  const view = model == null ? null : Bokeh.index.find_one(model);
  const box = view == null ? null : view.container;
  if (box == null || window.Plotly == null || spec == null) return;
  const trace = Object.assign({}, spec.data[0], {textfont: textfont});
  const layout = Object.assign({}, spec.layout);
  if (box.layout && box.layout.width) layout.width = box.layout.width;
  if (box.layout && box.layout.height) layout.height = box.layout.height;
  window.Plotly.react(box, [trace], layout, model.config);
}
function sankey(part) {
  if (part.spec) spec = part.spec;
  else if (part.restyle && spec) for (const path of Object.keys(part.restyle)) {
    const [head, name] = path.split(".");
    spec.data[0][head][name] = part.restyle[path][0];
  }
  drawSankey();
}
// Controls and chart buttons of a page without a session (NAMES.controls: name -> kind, options):
// a change goes to the server over the feed, the feed's frames set them (without sending back).
const CONTROLS = NAMES.controls || {};
let applying = false, controlModels = null, outbox = {}, outboxTimer = null;
const controlState = {};
function tagged(tag) {
  for (const m of doc.all_models) if (m.tags && m.tags.includes(tag)) return m;
  return null;
}
function controlsByName() {
  if (controlModels == null) {
    controlModels = {};
    for (const m of doc.all_models) for (const t of (m.tags || []))
      if (typeof t === "string" && t.startsWith(NAMES.control_tag)) controlModels[t.slice(NAMES.control_tag.length)] = m;
  }
  return controlModels;
}
function readControl(name, model) {
  const spec = CONTROLS[name];
  if (spec == null) return undefined;
  if (spec.kind == "discrete") return spec.options[model.value];
  if (spec.kind == "buttons") return spec.options[model.active];
  if (spec.kind == "toggle") return model.active;
  return model.value;
}
function showControl(name, value) {
  const spec = CONTROLS[name], model = controlsByName()[name];
  if (spec == null || model == null || value == null) return;
  applying = true;
  try {
    if (spec.kind == "discrete" || spec.kind == "buttons") {
      const i = spec.options.indexOf(value), key = spec.kind == "discrete" ? "value" : "active";
      if (i >= 0 && model[key] !== i) model.setv({[key]: i}, {sync: false});
    } else if (spec.kind == "toggle") {
      model.setv({active: value, label: spec.labels[value ? 1 : 0]}, {sync: false});
    } else if (model.value !== value) {
      model.setv(value > model.end ? {end: value, value: value} : {value: value}, {sync: false});
    }
  } finally { applying = false; }
}
// A control its viewer is moving is not set back from the frames meanwhile (the server applies a
// dragged slider's values a quarter second apart): it takes the server's value once left alone.
const touched = {};
function controls(part) {
  Object.assign(controlState, part);
  for (const name of Object.keys(part)) if (touched[name] == null) showControl(name, part[name]);
  const speed = controlsByName().speed_factor;
  if (speed != null && controlState.clock_mode != null) speed.setv({disabled: controlState.clock_mode !== "accelerated"}, {sync: false});
}
function esc(text) {
  return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
function say(text) {
  // Panel's HTML view decodes its text once before it shows it as markup: escaped twice, it shows as text.
  const message = tagged(NAMES.message_tag);
  if (message != null) message.setv({text: text ? esc(esc(text)) : ""}, {sync: false});
}
function flushControls() {
  outboxTimer = null;
  const sending = outbox;
  outbox = {};
  if (socket == null || socket.readyState !== 1) {
    for (const name of Object.keys(sending)) showControl(name, controlState[name]);
    say("⚠ Not applied: the server is not reachable.");
    return;
  }
  say("");
  for (const name of Object.keys(sending)) socket.send(JSON.stringify({set: name, value: sending[name]}));
}
window.legControl = (name, model) => {
  if (applying) return;
  const value = readControl(name, model);
  if (value === undefined) return;
  clearTimeout(touched[name]);
  touched[name] = setTimeout(() => { delete touched[name]; showControl(name, controlState[name]); }, %(settle_ms)d);
  // A dragged slider: the newest value, at most one message per control every 100 ms.
  outbox[name] = value;
  if (outboxTimer == null) outboxTimer = setTimeout(flushControls, 100);
};
function refused(reply) {
  say("⚠ " + reply.text);
  if (reply.refused != null) showControl(reply.refused, reply.value);
}
window.legWindow = (model) => {
  const label = model.labels[model.active], windowSource = named(NAMES.window), xRange = named(NAMES.x_range);
  if (windowSource == null || label == null || windowSource.data.window[0] === label) return;
  windowSource.setv({data: {window: [label]}}, {sync: false});
  const span_s = NAMES.windows[label];
  const follow = span_s == null ? {follow: null, follow_interval: null} : {follow: "end", follow_interval: span_s * 1000};
  if (xRange != null) xRange.setv(follow, {sync: false});
  // The whole window comes with a full frame.
  if (socket != null && socket.readyState === 1) socket.send(JSON.stringify({full: true}));
};
// The graph's search on a page without a session: the server answers each frame with the ring, the
// message and, in the overview, the slots (which the shared frames' graph columns then do not change).
window.legSearch = (value) => {
  query = String(value || "").trim().slice(0, NAMES.max_search);
  if (socket != null && socket.readyState === 1) socket.send(JSON.stringify({search: query}));
  if (!query) searched({query: "", slot: null, message: "", graph: null});
};
function searched(part) {
  if (part.query !== query) return;
  const houses = named(NAMES.houses), mark = named(NAMES.mark), message = tagged(NAMES.search_message_tag);
  if (part.graph != null && houses != null) {
    ownGraph = true;
    for (const key of ["houses", "edges", "hubs"]) {
      const source = named(NAMES[key]), cols = part.graph[key];
      if (source != null && cols != null && fits(source, cols, key)) setData(source, cols, false);
    }
  } else if (ownGraph) {
    // Back to the shared slots: they come whole with a full frame.
    ownGraph = false;
    if (socket != null && socket.readyState === 1) socket.send(JSON.stringify({full: true}));
  }
  if (mark != null) {
    const slot = part.slot, d = houses == null ? null : houses.data;
    const ok = slot != null && d != null && d.x != null && slot < d.x.length;
    setData(mark, ok ? {x: [d.x[slot]], y: [d.y[slot]], s: [d.s[slot] + 9]} : {x: [], y: [], s: []}, true);
  }
  // The server's message is markup with the ids escaped: Panel's HTML view decodes it once.
  if (message != null) message.setv({text: esc(part.message || "")}, {sync: false});
}
// What a viewer chose on a page without a session (its search, its chart window) outlives a reload.
const KEPT = "legKept";
function keep() {
  const windowSource = named(NAMES.window);
  const chosen = {query: query, window: windowSource == null ? null : windowSource.data.window[0]};
  try { sessionStorage.setItem(KEPT, JSON.stringify(chosen)); } catch (e) { /* storage off: start afresh */ }
}
function restore() {
  let kept = null;
  try { kept = JSON.parse(sessionStorage.getItem(KEPT) || "null"); sessionStorage.removeItem(KEPT); } catch (e) { return; }
  if (kept == null) return;
  const buttons = tagged(NAMES.buttons_tag), box = tagged(NAMES.search_tag);
  if (buttons != null && kept.window != null && buttons.labels.indexOf(kept.window) >= 0) buttons.active = buttons.labels.indexOf(kept.window);
  if (box != null && kept.query) box.value = kept.query;
}
function reloadSoon(at_once) {
  // Not all screens at once: each waits 1 to 5 s (one whose server came back, 0.2 to 1 s).
  if (reloading) return;
  reloading = true;
  keep();
  setTimeout(() => location.reload(), at_once ? 200 + Math.random() * 800 : 1000 + Math.random() * 4000);
}
// A page built once, when the house set changes: the places of its layout come with the frame.
function relayout(places) {
  const dots = named(NAMES.dots_renderer), labels = named(NAMES.labels_renderer), hubLabels = named(NAMES.hub_labels_renderer);
  for (const key of ["houses", "edges", "hubs"]) setData(named(NAMES[key]), places[key], true);
  const font = places.font_px + "px";
  if (labels != null) labels.glyph.text_font_size = font;
  if (hubLabels != null) hubLabels.glyph.text_font_size = font;
  if (dots != null) {
    const hidden = new Array(NAMES.dots_per_edge * places.edges.x0.length).fill(NaN);
    setData(dots.data_source, {x: hidden, y: hidden.slice()}, true);
  }
  const mark = named(NAMES.mark);
  if (mark != null) setData(mark, {x: [], y: [], s: []}, true);
  ownGraph = false;
}
function apply(frame) {
  if (NAMES.set != null && frame.set != null && frame.set !== NAMES.set) {
    const places = frame.places == null ? null : frame.places[NAMES.layout];
    // A page built for another house set: the places of this one come with the frame, or the server has the page of it.
    if (places == null || frame.graph == null) { reloadSoon(); return; }
    relayout(places);
    NAMES.set = frame.set;
    if (query && socket != null && socket.readyState === 1) socket.send(JSON.stringify({search: query}));
  }
  if (frame.kpis) fill(NAMES.kpis, frame.kpis);
  if (frame.today) fill(NAMES.today, frame.today);
  if (frame.graph) graph(frame.graph);
  if (frame.chart) chart(frame.chart);
  if (frame.sankey) sankey(frame.sankey);
  if (frame.controls) controls(frame.controls);
  seq = frame.seq;
  document.body.dataset.feedSeq = String(seq);
}
// A page without a session has no other line to the server: while its feed stays closed it says so.
let offlineTimer = null, overlay = null;
function offline(closed) {
  if (NAMES.offline == null) return;
  if (!closed) {
    clearTimeout(offlineTimer); offlineTimer = null;
    if (overlay) overlay.style.display = "none";
    return;
  }
  if (offlineTimer != null) return;
  offlineTimer = setTimeout(() => {
    if (overlay == null) overlay = legOverlay(NAMES.offline.text, NAMES.offline.css);
    overlay.style.display = "flex";
  }, NAMES.offline.after_ms);
}
%(overlay_js)s
function connect() {
  const url = new URL(NAMES.path + "?id=" + encodeURIComponent(sid), document.baseURI);
  url.protocol = url.protocol == "https:" ? "wss:" : "ws:";
  socket = new WebSocket(url);
  socket.onopen = () => {
    delay_ms = 1000; offline(false);
    if (stale) { reloadSoon(true); return; }
    if (!opened) { opened = true; restore(); }
    if (query) socket.send(JSON.stringify({search: query}));
  };
  socket.onmessage = (event) => {
    let frame;
    try { frame = JSON.parse(event.data); } catch (e) { return; }
    if (frame.refused !== undefined) { refused(frame); return; }
    if (frame.search !== undefined) { searched(frame.search); return; }
    // A delta that does not follow what this page holds: start again with a full frame.
    if (!frame.full && frame.prev !== seq) { asked = true; socket.close(); return; }
    try { apply(frame); } catch (e) { console.warn("feed frame not applied", e); }
  };
  socket.onclose = (event) => {
    // Closed by the server (a restart, a full server, a page that did not read): a page without a
    // session loads itself again once the feed is back, so it is the new server's page.
    if (opened && !asked && NAMES.offline != null) stale = true;
    asked = false;
    offline(true); seq = -1; setTimeout(connect, delay_ms);
    // Tries again after 1, 2, 4, 4, ... s; a full server (1013) is asked less often, up to every 30 s.
    delay_ms = Math.min(2 * delay_ms, event.code === %(full_close)d ? 30000 : %(max_retry_ms)d);
  };
}
connect();
"""


def client_js(house_set: str | None = None, controls: dict | None = None, layout: str | None = None) -> str:
    """The page script with the model names filled in (see :data:`CLIENT_JS`); `house_set`: the
    key of the house set a page built once for many viewers shows (None for a session's page,
    whose session watches the server: :mod:`leg_sim.ui.reconnect`); such a page shows the
    overlay of that module while its feed stays closed. `controls`: the page's controls that
    talk over the feed (``Controls.browser_spec``), if any; `layout`: such a page's layout
    (which of the frames' ``places`` it takes)."""
    offline = None if house_set is None else {"text": reconnect.OVERLAY_TEXT, "css": reconnect.OVERLAY_CSS, "after_ms": reconnect.OFFLINE_AFTER_MS}
    names = dict(
        flow_graph.SOURCE_NAMES, kpis=kpis.SOURCE_NAME, today=today.SOURCE_NAME, sankey=sankey.PANE_NAME, own=flow_graph.OWN_TAG, path=FEED_PATH,
        chart=charts.SOURCE_NAME, window=charts.WINDOW_SOURCE_NAME, set=house_set, offline=offline,
        controls=controls or {}, control_tag=CONTROL_TAG, message_tag=MESSAGE_TAG,
        x_range=charts.X_RANGE_NAME, windows={w.label: w.span_s for w in charts.WINDOWS},
        mark=flow_graph.MARK_NAME, search_message_tag=flow_graph.SEARCH_MESSAGE_TAG, max_search=flow_graph.MAX_SEARCH_CHARS,
        search_tag=flow_graph.SEARCH_TAG, buttons_tag=charts.WINDOW_BUTTONS_TAG, layout=layout,
        dots_renderer="graph_dots", labels_renderer="graph_labels", hub_labels_renderer="graph_hub_labels", dots_per_edge=flow_graph.DOTS_PER_EDGE,
    )
    return CLIENT_JS % {
        "names": json.dumps(names), "rollover": charts.BUFFER_LENGTH, "overlay_js": reconnect.OVERLAY_JS, "full_close": FULL_CLOSE,
        "max_retry_ms": MAX_RETRY_MS, "settle_ms": CONTROL_SETTLE_MS,
    }


#: The script of a page without a session (:mod:`leg_sim.server.pages`): waits until BokehJS has
#: made and drawn the page's document (a model changed while its view is being built can leave
#: that view broken), then runs :data:`CLIENT_JS` with the feed id the server filled in. A page
#: whose drawing has not finished after DRAWN_WAIT_MS (a view that fails while it is drawn leaves
#: the page's main area half built, and that page no longer shows changes; the chart's missing
#: sub-second ticker did this) loads itself again, up to DRAWN_TRIES times in a row; then it takes
#: the feed as it is.
STANDALONE_JS = """
(function () {
  const sid = "%(slot)s", textfont = %(textfont)s, started_ms = Date.now(), KEY = "legWallReloads";
  function start() {
    const docs = window.Bokeh && Bokeh.documents;
    const drawn = docs && docs.length && docs[docs.length - 1].is_idle;
    if (!drawn && Date.now() - started_ms < %(wait_ms)d) { setTimeout(start, 50); return; }
    if (!drawn) {
      const tries = Number(sessionStorage.getItem(KEY) || 0);
      if (tries < %(tries)d) { sessionStorage.setItem(KEY, String(tries + 1)); location.reload(); return; }
      if (!docs || !docs.length) { setTimeout(start, 1000); return; }
    }
    sessionStorage.removeItem(KEY);
%(close_drawer)s
%(client)s
  }
  start();
})();
"""
#: How long a page without a session waits for BokehJS to draw it before it loads itself again (a slow
#: wall-screen computer may take several seconds to draw it). [ms]
DRAWN_WAIT_MS = 20_000
#: Loads in a row a page without a session tries before it takes the feed as it is drawn.
DRAWN_TRIES = 3


def standalone_script(house_set: str, textfont: dict, controls: dict | None = None, layout: str = "wall") -> str:
    """The feed script of a page built once for the house set with key `house_set` (see
    :data:`STANDALONE_JS`; the feed id goes where :data:`FEED_ID_SLOT` stands); `controls` as
    and `layout` as in :func:`client_js`."""
    return STANDALONE_JS % {
        "slot": FEED_ID_SLOT, "textfont": json.dumps(textfont), "client": client_js(house_set, controls, layout),
        "close_drawer": page.CLOSE_DRAWER_JS,
        "wait_ms": DRAWN_WAIT_MS, "tries": DRAWN_TRIES,
    }
