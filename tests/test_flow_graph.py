"""The flow graph and its layout: placement, selection, formulas, and what the view sends."""

from __future__ import annotations

import colorsys
import math

import numpy as np
import pytest
from conftest import make_sim
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from leg_sim.ui import flow_graph as fg
from leg_sim.ui import graph_layout as gl
from leg_sim.ui.readmodel import ReadModel
from leg_sim.ui.theme import IDLE_W
from leg_sim.units import COARSE, format_power

#: Width of one label character and line height per px of font size. Sans-serif digits and
#: letters average about 0.55 em; 0.62 em is a conservative bound (the browser test measures
#: real label widths against it). [em]
TEST_CHAR_EM = 0.62
TEST_LINE_EM = 1.25


def run(sim, view, ticks=5):
    for _ in range(ticks):
        snap = sim.step()
        view.update(snap)
    return snap


# --------------------------------------------------------------------------- geometry helpers
def _separated(a: np.ndarray, b: np.ndarray) -> bool:
    """True if two convex polygons (or a segment and a polygon) have a separating axis."""
    for poly in (a, b):
        m = len(poly)
        for i in range(m if m > 2 else 1):
            e = poly[(i + 1) % m] - poly[i]
            axis = np.array([-e[1], e[0]])
            if not axis.any():
                continue
            pa, pb = a @ axis, b @ axis
            if pa.max() < pb.min() or pb.max() < pa.min():
                return True
    return False


def _band(seg: np.ndarray, half_width: float) -> np.ndarray:
    """A segment drawn `half_width` wide, as a rectangle."""
    (x0, y0), (x1, y1) = seg
    d = np.array([x1 - x0, y1 - y0])
    n = np.array([-d[1], d[0]]) / max(np.hypot(*d), 1e-9) * half_width
    return np.array([seg[0] + n, seg[1] + n, seg[1] - n, seg[0] - n])


def _labels(lay: gl.GraphLayout, texts: list[str]) -> np.ndarray:
    return lay.label_boxes(TEST_CHAR_EM, TEST_LINE_EM, [max(len(line) for line in t.split("\n")) for t in texts])


def _worst_labels(ids: tuple[str, ...]) -> list[str]:
    """The longest label each house can get: its id and "−999.9 kW"."""
    return [fg.net_label(h, -999_900.0) for h in ids]


# --------------------------------------------------------------------------- layout
@pytest.mark.parametrize("frame_px", [340, 900])
@pytest.mark.parametrize("n", [2, 5, 20, 50])
def test_layout_labels_are_crossed_by_no_edge_and_overlap_no_other_label(n, frame_px):
    ids = tuple(f"H{i + 1:03d}" for i in range(n))
    lay = gl.community_layout(ids, frame_px=frame_px)
    assert lay.fits
    texts = _worst_labels(ids)
    assert max(len(t) for t in texts) <= max(lay.slot_chars)
    boxes = _labels(lay, texts)
    hubs = lay.hub_boxes()
    segments = lay.edge_segments()
    half_edge = gl.EDGE_MAX_PX / 2
    # Every edge, drawn at the widest width, misses every house label.
    for e, seg in enumerate(segments):
        band = _band(seg, half_edge if e == n else 0.5)  # house edges: their centre line (they end at the label's own node)
        for i, box in enumerate(boxes):
            assert _separated(band, box), (n, frame_px, e, i)
    # The grid edge crosses no house label even at full width, nor enters the bus or grid labels' boxes except at their ends.
    grid_band = _band(segments[n], half_edge)
    for i, box in enumerate(boxes):
        assert _separated(grid_band, box), i
    # House edges never pass the grid marker (the bus and grid markers hide the edges under them).
    for seg in segments[:n]:
        assert _separated(_band(seg, half_edge), hubs[1])
    # No two labels overlap, and no label overlaps the bus or grid marker.
    everything = list(boxes) + list(hubs)
    for i in range(len(everything)):
        for j in range(i + 1, len(everything)):
            assert _separated(everything[i], everything[j]), (n, frame_px, i, j)
    # Nothing is clipped: all labels and markers are inside the shown ranges.
    corners = np.concatenate([boxes.reshape(-1, 2), hubs.reshape(-1, 2)])
    (x0, x1), (y0, y1) = lay.x_range, lay.y_range
    assert (corners[:, 0] > x0).all() and (corners[:, 0] < x1).all()
    assert (corners[:, 1] > y0).all() and (corners[:, 1] < y1).all()


@pytest.mark.parametrize("frame_px", [340, 900])
def test_layout_of_the_overview_keeps_group_labels_clear(frame_px):
    lay = gl.overview_layout(id_chars=6, house_count=10_000, frame_px=frame_px)
    roles = gl.overview_roles()
    texts = [
        fg.group_label(r, 10_000, -999_900.0).split("\n")[1] if r in gl.GROUP_ROLES else fg.net_label("H10000", -999_900.0) for r in roles
    ]
    assert lay.fits and len(roles) == lay.slot_count == 2 * gl.TOP_N + 4
    boxes = _labels(lay, texts)
    grid_band = _band(lay.edge_segments()[-1], gl.EDGE_MAX_PX / 2)
    for i, box in enumerate(boxes):
        assert _separated(grid_band, box), i
        for j in range(i + 1, len(boxes)):
            assert _separated(box, boxes[j]), (i, j)


def test_layout_is_stable_and_labels_read_outward_never_upside_down():
    ids = tuple(f"H{i + 1:03d}" for i in range(20))
    lay = gl.community_layout(ids)
    assert gl.community_layout(ids) is lay  # one layout per house set, shared
    # Text angles stay within ±90°: never upside down.
    assert (np.abs(lay.label_angle_rad) <= math.pi / 2 + 1e-9).all()
    # Labels sit further out than their node, in the node's direction.
    r_node = np.hypot(*lay.slot_xy.T)
    r_label = np.hypot(*lay.label_xy.T)
    assert (r_label > r_node + lay.node_px / 2).all()
    assert_allclose(np.arctan2(lay.label_xy[:, 1], lay.label_xy[:, 0]), np.arctan2(lay.slot_xy[:, 1], lay.slot_xy[:, 0]))
    # No house in the gap around the bus → grid edge.
    angle = np.abs(np.angle(np.exp(1j * lay.slot_angle_rad)))
    assert (angle >= lay.gap_half_rad - 1e-9).all()
    assert lay.grid_xy[0] > r_node.max()


def test_layout_shrinks_text_only_when_it_must():
    few = gl.community_layout(tuple(f"H{i}" for i in range(5)), frame_px=900, label_px=14)
    many = gl.community_layout(tuple(f"H{i:03d}" for i in range(50)), frame_px=340, label_px=14)
    assert few.font_px == 14
    assert gl.MIN_FONT_PX <= many.font_px < 14


# --------------------------------------------------------------------------- selection
@st.composite
def communities(draw):
    n = draw(st.integers(1, 300))
    net = draw(st.lists(st.floats(-20_000, 20_000, allow_nan=False), min_size=n, max_size=n))
    net = np.array(net)
    # Some exactly idle houses and ties on purpose.
    net[:: max(1, n // 7)] = draw(st.sampled_from([0.0, 5.0, -5.0, 1000.0]))
    pv = np.maximum(net, 0) + 100.0
    base = pv - net
    return net, pv, base, np.zeros(n)


@settings(max_examples=60, deadline=None)
@given(communities(), st.integers(1, 15))
def test_every_house_is_drawn_or_in_exactly_one_group_and_the_sums_add_up(community, top_n):
    net, pv, base, flex = community
    sel = fg.select_overview(net, pv, base, flex, top_n)
    n = len(net)
    drawn = np.concatenate([sel.exporters, sel.importers])
    assert len(set(drawn.tolist())) == len(drawn) and sel.drawn.sum() == len(drawn)
    assert len(sel.exporters) <= top_n and len(sel.importers) <= top_n
    assert (net[sel.exporters] > IDLE_W).all() and (net[sel.importers] < -IDLE_W).all()
    # The drawn ones are the largest: no house left in a group is larger than the smallest drawn one.
    if len(sel.exporters) == top_n:
        assert net[~sel.drawn].max(initial=-np.inf) <= net[sel.exporters].min()
    if len(sel.importers) == top_n:
        assert net[~sel.drawn].min(initial=np.inf) >= net[sel.importers].max()
    # Largest first.
    assert (np.diff(net[sel.exporters]) <= 0).all() and (np.diff(net[sel.importers]) >= 0).all()
    counts = sum(sel.group[r][0] for r in gl.GROUP_ROLES)
    assert counts + len(drawn) == n
    for role, members in (
        (gl.GROUP_EXPORT, (net > IDLE_W) & ~sel.drawn),
        (gl.GROUP_IMPORT, (net < -IDLE_W) & ~sel.drawn),
        (gl.GROUP_IDLE, (np.abs(net) <= IDLE_W) & ~sel.drawn),
    ):
        count, sums = sel.group[role]
        assert count == members.sum()
        assert_allclose(sums, [net[members].sum(), pv[members].sum(), base[members].sum(), flex[members].sum()], atol=1.0)


def test_selection_is_linear_in_the_houses():
    # Structure, not timing: the top-n pick uses argpartition (O(n)) and sorts only the picked few.
    import inspect

    source = inspect.getsource(fg._top)
    assert "argpartition" in source
    assert "argsort(-values[candidates]" in source  # sorts the picked candidates only
    net = np.arange(10_000, dtype=float) - 5000.0
    sel = fg.select_overview(net, net, net, net, 12)
    assert net[sel.exporters].tolist() == [4999.0 - i for i in range(12)]
    assert net[sel.importers].tolist() == [-5000.0 + i for i in range(12)]


def test_search_finds_a_house_by_id_or_number_and_unknown_ids_give_none():
    ids = tuple(f"H{i + 1:03d}" for i in range(120))
    assert fg.find_house(ids, "H042") == 41
    assert fg.find_house(ids, " h042 ") == 41
    assert fg.find_house(ids, "42") == 41
    assert fg.find_house(ids, "H9999") is None
    assert fg.find_house(ids, "bakery") is None
    assert fg.find_house(("Mill", "Bakery"), "bakery") == 1


# --------------------------------------------------------------------------- formulas
def test_edge_width_is_relative_to_the_largest_flow_shown_grid_included():
    w = fg.edge_width_px(np.array([0.0, 7000.0, -14_000.0, 56_000.0]))
    assert w[0] == fg.MIN_WIDTH_PX and w[3] == fg.MAX_WIDTH_PX
    # Linear in |P|: the 14 kW edge is twice as far above the minimum as the 7 kW one.
    assert (w[2] - fg.MIN_WIDTH_PX) == pytest.approx(2 * (w[1] - fg.MIN_WIDTH_PX))
    assert w[3] > 3 * w[1]  # a 56 kW grid edge is far wider than a 7 kW house edge
    assert (fg.edge_width_px(np.zeros(3)) == fg.MIN_WIDTH_PX).all()
    assert 18 <= fg.MAX_WIDTH_PX <= 24


def test_arrowheads_and_dots_follow_the_flow_and_rest_on_idle_edges():
    assert fg.edge_state(np.array([500.0, -500.0, 5.0])).tolist() == [1, -1, 0]
    sizes = fg.arrow_size_px(np.array([0.0, 10.0, 500.0, -6000.0]))
    assert sizes[0] == sizes[1] == 0 and 0 < sizes[2] < sizes[3]
    speed = fg.dot_speed(np.array([0.0, 10.0, 30.0, -30.0, 5000.0, -10_000.0]))
    assert speed[0] == speed[1] == 0
    assert speed[2] > 0 > speed[3] and speed[2] >= fg.MIN_DOT_SPEED  # small flows still move
    assert abs(speed[5]) == pytest.approx(fg.MAX_DOT_SPEED) and abs(speed[4]) < abs(speed[5])


def _hue_deg(hex_colour: str) -> tuple[float, float]:
    r, g, b = (int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    h, _, s = colorsys.rgb_to_hls(r, g, b)
    return h * 360, s


@pytest.mark.parametrize("power_w", [-150.0, -300.0, -500.0, -5000.0])
def test_small_imports_are_already_clearly_red(power_w):
    hue, saturation = _hue_deg(fg.house_colour(np.array([power_w]))[0])
    assert (hue < 15 or hue > 345) and saturation > 0.45, (hue, saturation)


@pytest.mark.parametrize("power_w", [150.0, 1000.0, 5000.0])
def test_exports_are_green(power_w):
    hue, saturation = _hue_deg(fg.house_colour(np.array([power_w]))[0])
    assert 90 < hue < 160 and saturation > 0.3, (hue, saturation)  # green, not teal or yellow


def test_idle_is_grey_and_depth_grows_with_power():
    for w in (0.0, 10.0, -19.0):
        _, saturation = _hue_deg(fg.house_colour(np.array([w]))[0])
        assert saturation < 0.05
    depth = fg.colour_depth(np.array([20.0, 150.0, 1000.0, 5000.0, 50_000.0]))
    assert depth[0] == 0 and (np.diff(depth[:4]) > 0).all() and depth[4] == 1.0


def test_grid_is_red_only_when_importing_and_grey_when_idle():
    assert fg.grid_state(0.0, 0.0) == 0 and fg.grid_label(0.0, 0.0) == "Grid\nidle"
    assert fg.grid_state(0.0, 10.0) == 0
    assert fg.grid_state(0.0, 500.0) == -1 and fg.grid_state(500.0, 0.0) == 1
    assert format_power(313_800.0, resolution=COARSE) in fg.grid_label(313_800.0, 0.0)


def test_labels_use_one_power_format():
    assert fg.net_label("H9", 2345.0) == "H9 " + format_power(2345.0, signed=True, resolution=COARSE)
    assert fg.net_label("H9", -148.0) == "H9 " + format_power(-148.0, signed=True, resolution=COARSE)
    assert fg.group_label(gl.GROUP_EXPORT, 1234, 56_700.0) == "1,234 others\nexport " + format_power(56_700.0, resolution=COARSE)
    assert fg.group_label(gl.GROUP_IMPORT, 1, -700.0).startswith("1 other\n")
    assert fg.group_label(gl.GROUP_IDLE, 0, 0.0) == ""
    assert fg.bus_label(150.0).startswith("Bus") and format_power(150.0, resolution=COARSE) in fg.bus_label(150.0)
    assert "kW" in fg.legend_html() and " W" in fg.legend_html()


# --------------------------------------------------------------------------- the view
def test_coarse_values_show_the_same_label():
    for w in (0.0, 24.0, 26.0, 849.0, 951.0, 1049.0, 1051.0, 99_949.0, 123_456.0, 1_234_567.0, -2_345.0, 56_749.0):
        assert format_power(fg.coarse_kw(w) * 1000.0, resolution=COARSE) == format_power(w, resolution=COARSE), w
    # Just below a change of unit the same quantity is written the next unit's way.
    assert format_power(fg.coarse_kw(99_951.0) * 1000.0, resolution=COARSE) == "100 kW"
    assert format_power(fg.coarse_kw(999.0) * 1000.0, resolution=COARSE) == "1.0 kW" == format_power(999.0, resolution=COARSE)


def test_flow_graph_shows_every_house_up_to_the_detail_limit():
    sim = make_sim(houses=6, flex_load_probability=0.5)
    g = fg.FlowGraph(reader=ReadModel(sim))
    snap = run(sim, g, 8)
    houses = g.houses.source.data
    assert list(houses["id"]) == list(snap.house_ids)
    assert_allclose(houses["n"], snap.net_power_w / 1000, atol=0.006)
    assert_allclose(houses["pv"], snap.pv_power_w / 1000, atol=0.006)
    assert_allclose(np.add(houses["bl"], houses["fl"]), snap.consumption_w / 1000, atol=0.011)
    assert list(houses["ap"]) == [snap.flex_appliance(i) or "none" for i in range(6)]
    # The browser finishes each label from its prefix, style and the power it has (n, kW).
    shown = [fg.label_text(p, n, ls) for p, n, ls in zip(houses["label"], houses["n"], houses["ls"], strict=True)]
    assert shown == [fg.net_label(h, n * 1000.0) for h, n in zip(snap.house_ids, houses["n"], strict=True)]
    edges = g.edges.source.data
    assert_allclose(edges["p"], snap.edge_power_w() / 1000, atol=0.006)
    assert list(edges["a"]) == [*snap.house_ids, "Community bus"] and edges["b"][-1] == "Grid"
    hubs = g.hubs.source.data
    hub_text = [fg.label_text(p, w, ls, sep="\n") for p, w, ls in zip(hubs["label"], hubs["w"], hubs["ls"], strict=True)]
    assert_allclose(hubs["w"][0], snap.shared_w / 1000, atol=0.051)  # rounded to what its label shows
    assert hub_text[0] == fg.bus_label(snap.shared_w) or abs(snap.shared_w % 100 - 50) < 1e-6
    assert hub_text[0] == fg.bus_label(hubs["w"][0] * 1000.0)
    grid_shown_w = hubs["w"][1] * 1000.0
    exporting = snap.grid_export_w > snap.grid_import_w
    assert hub_text[1] == fg.grid_label(grid_shown_w if exporting else 0.0, 0.0 if exporting else grid_shown_w)
    lay = gl.community_layout(snap.house_ids)
    assert_allclose(houses["x"], lay.slot_xy[:, 0], atol=0.06)


def test_flow_graph_switches_to_the_overview_and_back():
    sim = make_sim(houses=5)
    g = fg.FlowGraph(reader=ReadModel(sim))
    run(sim, g, 1)
    sim.house_count = 300
    snap = run(sim, g, 1)
    houses, edges = g.houses.source.data, g.edges.source.data
    k = len(gl.overview_roles())
    assert len(houses["id"]) == k and len(edges["p"]) == k + 1
    # The groups and the drawn houses add up to the whole community.
    drawn_kw = sum(n for n, hid in zip(houses["n"], houses["id"], strict=True) if hid in snap.house_ids)
    assert sum(houses["n"]) == pytest.approx(snap.net_power_w.sum() / 1000, abs=0.01 * (k + 1))
    assert drawn_kw != 0
    assert edges["p"][-1] == pytest.approx((snap.grid_export_w - snap.grid_import_w) / 1000, abs=0.006)
    sim.house_count = 4
    snap = run(sim, g, 1)
    assert list(g.houses.source.data["id"]) == list(snap.house_ids)


def test_search_picks_out_a_house_in_the_overview_and_keeps_the_sums():
    sim = make_sim(houses=200)
    g = fg.FlowGraph(reader=ReadModel(sim))
    snap = run(sim, g, 2)
    sel = fg.select_overview(snap.net_power_w, snap.pv_power_w, snap.base_load_w, snap.flex_load_w, gl.TOP_N)
    hidden = int(np.flatnonzero(~sel.drawn)[0])  # a house that is only in a group
    total_before = sum(g.houses.source.data["n"])
    g.search.value = snap.house_ids[hidden].lower()
    houses = g.houses.source.data
    slot = gl.overview_roles().index(gl.SEARCH)
    assert houses["id"][slot] == snap.house_ids[hidden]
    assert fg.label_text(houses["label"][slot], houses["n"][slot], houses["ls"][slot]) == fg.net_label(
        snap.house_ids[hidden], houses["n"][slot] * 1000.0
    )
    assert houses["n"][slot] == pytest.approx(snap.net_power_w[hidden] / 1000, abs=0.006)
    assert sum(houses["n"]) == pytest.approx(total_before, abs=0.02)  # it left its group: counted once
    assert g.mark.source.data["x"] == [pytest.approx(houses["x"][slot], abs=0.1)]
    assert snap.house_ids[hidden] in g.message.object
    g.search.value = "H99999"
    assert "No house" in g.message.object and g.mark.source.data["x"] == []
    assert houses["label"][slot] == "" or g.houses.source.data["label"][slot] == ""
    # Another session's columns are untouched by this session's search.
    other = fg.FlowGraph(reader=ReadModel(sim))
    assert other.houses.source.data["label"][slot] == ""


def test_flow_graph_sends_only_changed_columns():
    sim = make_sim(houses=5, pv_variation="disabled")
    g = fg.FlowGraph(reader=ReadModel(sim))
    run(sim, g, 1)
    snap = sim.step()
    cols = g._columns(snap)
    changed = g.houses.push(cols["houses"])
    assert "pv" in changed or "n" in changed
    assert "x" not in changed and "lx" not in changed  # positions never travel per tick
    assert g.houses.push(g._columns(snap)["houses"]) == []  # nothing new -> nothing sent
    assert g._columns(snap)["houses"] is not None


def test_per_tick_columns_are_computed_once_for_all_sessions():
    sim = make_sim(houses=120)
    a, b = fg.FlowGraph(reader=ReadModel(sim)), fg.FlowGraph(reader=ReadModel(sim))
    snap = sim.step()
    a.update(snap)
    b.update(snap)
    assert a._columns(snap)["houses"]["id"] is b._columns(snap)["houses"]["id"]


def test_markers_and_labels_are_drawn_over_the_edges():
    g = fg.FlowGraph(reader=ReadModel(make_sim(houses=3)))
    order = [r.name for r in g.figure.renderers]
    for above in ("graph_houses", "graph_hubs", "graph_labels", "graph_hub_labels"):
        assert order.index(above) > order.index("graph_edges") and order.index(above) > order.index("graph_dots")
    assert order.index("graph_hub_labels") > order.index("graph_hubs")
    hubs = next(r for r in g.figure.renderers if r.name == "graph_hubs")
    assert hubs.glyph.fill_alpha == 1.0  # opaque: the edges' ends vanish under the bus and grid


def test_dots_source_never_syncs_and_the_animation_is_client_side():
    sim = make_sim(houses=5)
    g = fg.FlowGraph(reader=ReadModel(sim))
    run(sim, g, 1)
    assert g.dots.syncable is False
    assert len(g.dots.data["x"]) == fg.DOTS_PER_EDGE * (5 + 1)
    assert "prefers-reduced-motion" in fg._DOTS_JS and "change.emit()" in fg._DOTS_JS
    assert "requestAnimationFrame" in fg._DOTS_JS and "reg.delete" in fg._DOTS_JS  # stops when the figure is gone
