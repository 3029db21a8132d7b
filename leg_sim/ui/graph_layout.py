"""Where the flow graph's nodes and labels sit: one ring of slots around the bus, the grid in a gap.

The flow graph draws *slots* on one ring around the community bus. Up to
:data:`DETAIL_LIMIT` houses every house has its own slot
(:func:`community_layout`); above that the slots are the largest exporters,
the largest importers, one slot for a house picked by search, and three group
slots for everyone else (:func:`overview_layout`, :func:`overview_roles`).
Slot positions never change while the house set stays the same: from tick to
tick only the columns shown in the slots change.

Labels are radial: each starts just outside its slot and runs outward along
the radius (turned by half a turn on the left half, so it never reads upside
down). The edges house → bus are radial too and run inward, so they never
cross a label. The grid sits outside the ring in a gap kept free of houses
and labels, so the bus → grid edge crosses nothing. The bus and the grid carry
their labels inside their own (larger) markers, where no edge reaches.

Everything is computed in pixels of a *design frame* (``frame_px`` square) and
used as data units, with the bus at (0, 0). Drawn in a larger frame the ring
scales up while text and markers keep their pixel size, so whatever holds at
the design frame (nothing crosses, nothing overlaps, nothing is clipped) still
holds. The text size is ``label_px`` unless the labels would not fit the design
frame, then it shrinks (down to :data:`MIN_FONT_PX`).

Pure: no Panel or Bokeh here; cached per slot set, so all sessions share one layout.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence

import numpy as np

#: Up to this many houses each house has its own slot; above it, the overview.
DETAIL_LIMIT = 50
#: Largest exporters and largest importers drawn individually in the overview.
TOP_N = 12
#: Design frame (square) and text size of the graph by default. [px]
FRAME_PX = 340
LABEL_PX = 11.0
#: The text never gets smaller than this to fit. [px]
MIN_FONT_PX = 7.0
#: Conservative average advance of one label character, and line height, per font size. [em]
CHAR_EM = 0.62
LINE_EM = 1.25
#: Free space around the drawing, between a node and its label, and between neighbouring labels. [px]
MARGIN_PX = 6.0
LABEL_GAP_PX = 3.0
SLOT_PAD_PX = 2.0
#: Widest edge the view draws (the grid edge never touches a house label wider than this). [px]
EDGE_MAX_PX = 22.0
#: Characters and lines of the text inside the bus and grid markers ("export", "313.8 kW").
HUB_CHARS, HUB_LINES = 8, 3
#: Longest power text of a label ("−999.9 kW"), and the longest id shown before it is cut.
POWER_CHARS = 9
ID_CHARS = 12

#: Slot roles of the overview, in ring order (counter-clockwise from the grid gap).
EXPORTER, IMPORTER, SEARCH = "exporter", "importer", "search"
GROUP_EXPORT, GROUP_IDLE, GROUP_IMPORT = "group_export", "group_idle", "group_import"
GROUP_ROLES = (GROUP_EXPORT, GROUP_IDLE, GROUP_IMPORT)


@dataclasses.dataclass(frozen=True, eq=False)
class GraphLayout:
    """Positions of slots, labels, bus and grid in data units (= design-frame pixels). Read-only."""

    slot_xy: np.ndarray  # (k, 2) slot centres, in slot order
    slot_angle_rad: np.ndarray  # (k,) direction of each slot seen from the bus
    label_xy: np.ndarray  # (k, 2) where each label is anchored (its end nearest the slot)
    label_angle_rad: np.ndarray  # (k,) text rotation (never upside down)
    label_left: np.ndarray  # (k,) True: text runs right from its anchor ("left" aligned)
    slot_chars: tuple[int, ...]  # longest label line each slot is laid out for [characters]
    slot_lines: tuple[int, ...]  # label lines of each slot
    bus_xy: tuple[float, float]
    grid_xy: tuple[float, float]
    font_px: float  # text size of the labels [px]
    node_px: float  # diameter of a house marker [px]
    hub_px: float  # side of the bus and grid markers [px]
    frame_px: float  # the design frame this layout fills [px]
    gap_half_rad: float  # half the angle of the gap around the bus → grid edge
    fits: bool  # False if even MIN_FONT_PX text does not fit the frame

    @property
    def house_xy(self) -> np.ndarray:
        """Slot centres (one slot per house in the detailed layout), (k, 2)."""
        return self.slot_xy

    @property
    def x_range(self) -> tuple[float, float]:
        """Data range shown horizontally (the design frame, bus in the middle)."""
        return (-self.frame_px / 2, self.frame_px / 2)

    @property
    def y_range(self) -> tuple[float, float]:
        """Data range shown vertically (the design frame, bus in the middle)."""
        return self.x_range

    @property
    def slot_count(self) -> int:
        """Number of slots on the ring."""
        return len(self.slot_chars)

    def node_size_px(self, frame_px: float | None = None) -> float:
        """Diameter of a house marker. [px] (the same at any frame: markers keep their size)"""
        return self.node_px

    def edge_segments(self) -> np.ndarray:
        """Edges as (k + 1, 2, 2) segments, centre to centre: slot i → bus, then bus → grid (export direction).

        They run under the markers, which hide their ends at any frame size.
        """
        k = self.slot_count
        seg = np.zeros((k + 1, 2, 2))
        seg[:k, 0] = self.slot_xy
        seg[:k, 1] = self.bus_xy
        seg[k, 0] = self.bus_xy
        seg[k, 1] = self.grid_xy
        return seg

    def label_boxes(self, char_em: float = CHAR_EM, line_em: float = LINE_EM, chars: Sequence[int] | None = None) -> np.ndarray:
        """Corners of each slot's label box, (k, 4, 2), for labels of `chars` characters (default: as laid out)."""
        n_chars = np.asarray(self.slot_chars if chars is None else chars, dtype=float)
        length = n_chars * char_em * self.font_px
        half = np.asarray(self.slot_lines, dtype=float) * line_em * self.font_px / 2
        ux, uy = np.cos(self.slot_angle_rad), np.sin(self.slot_angle_rad)
        px, py = -uy, ux  # perpendicular
        x0, y0 = self.label_xy[:, 0], self.label_xy[:, 1]
        corners = [
            (x0 + px * half, y0 + py * half),
            (x0 + ux * length + px * half, y0 + uy * length + py * half),
            (x0 + ux * length - px * half, y0 + uy * length - py * half),
            (x0 - px * half, y0 - py * half),
        ]
        return np.stack([np.column_stack(c) for c in corners], axis=1)

    def hub_boxes(self) -> np.ndarray:
        """Corners of the bus and the grid markers (their labels are inside), (2, 4, 2)."""
        h = self.hub_px / 2
        return np.array([[(cx - h, cy - h), (cx + h, cy - h), (cx + h, cy + h), (cx - h, cy + h)] for cx, cy in (self.bus_xy, self.grid_xy)])


def house_label_chars(house_id: str) -> int:
    """Characters of a house label laid out for its longest power text ("H001 −999.9 kW")."""
    return min(len(house_id), ID_CHARS) + 1 + POWER_CHARS


def _fit(chars: np.ndarray, lines: np.ndarray, frame_px: float, font_px: float) -> GraphLayout | None:
    """The layout at this text size, or None when it does not fit the frame."""
    k = len(chars)
    cw, lh = CHAR_EM * font_px, LINE_EM * font_px
    node = float(np.clip(min(1.1 * font_px + 2.0, lh), 6.0, 20.0))
    hub = max(HUB_CHARS * cw, HUB_LINES * lh) + 8.0
    length = chars * cw
    height = lines * lh
    half_frame = frame_px / 2 - MARGIN_PX
    # Fill the frame: the outer end of the longest label, and the grid marker, reach its edge.
    radius = min(half_frame - node / 2 - LABEL_GAP_PX - (length.max() if k else 0.0), half_frame - node / 2 - 2.0 - hub)
    if radius < hub / 2 + node + 12.0:
        return None
    r_label = radius + node / 2 + LABEL_GAP_PX
    grid_x = radius + node / 2 + 2.0 + hub / 2
    # The gap: the labels and nodes next to it clear the grid marker and the widest grid edge.
    clear = hub / 2 + SLOT_PAD_PX
    h_max = float(height.max()) / 2 if k else 0.0
    gap_label = math.asin(min(1.0, clear / math.hypot(r_label, h_max))) + math.atan2(h_max, r_label)
    gap_node = math.asin(min(1.0, (EDGE_MAX_PX / 2 + node / 2 + SLOT_PAD_PX) / radius))
    gap = max(gap_label, gap_node)
    # Between neighbours: labels clear each other across the radius, nodes clear each other on the ring.
    if k >= 2:
        across = (height[:-1] + height[1:]) / 2 + SLOT_PAD_PX
        need = np.maximum(np.arcsin(np.minimum(1.0, across / r_label)), 2 * math.asin(min(1.0, (node + SLOT_PAD_PX) / (2 * radius))))
        if (across >= r_label).any() or float(need.max()) > math.pi / 2:
            return None
    else:
        need = np.zeros(0)
    free = 2 * math.pi - 2 * gap - float(need.sum())
    if free < 0:
        return None
    if k == 1:
        angle = np.array([math.pi])
    else:
        extra = free / (k + 1)  # spread the slack evenly, the two ends of the gap included
        angle = gap + extra + np.concatenate([[0.0], np.cumsum(need + extra)])
    ux, uy = np.cos(angle), np.sin(angle)
    left = ux >= -1e-9  # right half: text runs outward to the right
    text_angle = np.angle(np.exp(1j * np.where(left, angle, angle - math.pi)))  # within ±90°
    slot_xy = radius * np.column_stack([ux, uy])
    label_xy = r_label * np.column_stack([ux, uy])
    for a in (slot_xy, label_xy, angle, text_angle, left):
        a.flags.writeable = False
    return GraphLayout(
        slot_xy=slot_xy,
        slot_angle_rad=angle,
        label_xy=label_xy,
        label_angle_rad=text_angle,
        label_left=left,
        slot_chars=tuple(int(c) for c in chars),
        slot_lines=tuple(int(n) for n in lines),
        bus_xy=(0.0, 0.0),
        grid_xy=(grid_x, 0.0),
        font_px=font_px,
        node_px=node,
        hub_px=hub,
        frame_px=float(frame_px),
        gap_half_rad=gap,
        fits=True,
    )


@functools.lru_cache(maxsize=32)
def ring_layout(slot_chars: tuple[int, ...], slot_lines: tuple[int, ...], frame_px: float = FRAME_PX, label_px: float = LABEL_PX) -> GraphLayout:
    """Lay out slots whose labels have these lengths and line counts on a `frame_px` square. [px]

    Text is `label_px` high if that fits, else the largest size down to
    :data:`MIN_FONT_PX` that does; if even that does not fit, the layout is
    made at :data:`MIN_FONT_PX` with ``fits=False``.
    """
    chars = np.asarray(slot_chars, dtype=float)
    lines = np.asarray(slot_lines, dtype=float)
    font = float(label_px)
    while font >= MIN_FONT_PX:
        lay = _fit(chars, lines, frame_px, font)
        if lay is not None:
            return lay
        font -= 0.25
    # Too many slots for this frame: keep the smallest text and squeeze the ring.
    squeezed = _fit(np.minimum(chars, 4), np.ones_like(lines), frame_px, MIN_FONT_PX)
    if squeezed is None:
        squeezed = _fit(np.zeros_like(chars), np.ones_like(lines), max(frame_px, 200.0), MIN_FONT_PX)
    assert squeezed is not None
    return dataclasses.replace(squeezed, slot_chars=tuple(int(c) for c in chars), slot_lines=tuple(int(n) for n in lines), fits=False)


def community_layout(house_labels: tuple[str, ...], frame_px: float = FRAME_PX, label_px: float = LABEL_PX) -> GraphLayout:
    """Detailed layout: one slot per house, in display order, for labels that start with
    `house_labels` (ids, or ids with a mark); cached per label set and frame."""
    return _community_layout(tuple(house_label_chars(h) for h in house_labels), float(frame_px), float(label_px))


@functools.lru_cache(maxsize=16)
def _community_layout(chars: tuple[int, ...], frame_px: float, label_px: float) -> GraphLayout:
    return ring_layout(chars, (1,) * len(chars), frame_px, label_px)


def overview_roles(top_n: int = TOP_N) -> tuple[str, ...]:
    """Slot roles of the overview, counter-clockwise from the grid gap.

    Exporters fill the upper half (largest next to the grid), importers the lower
    half, and the groups and the searched house sit on the left, opposite the grid.
    """
    return (EXPORTER,) * top_n + (GROUP_EXPORT, SEARCH, GROUP_IDLE, GROUP_IMPORT) + (IMPORTER,) * top_n


def group_label_chars(house_count: int) -> int:
    """Longest line of a group label for communities up to this size ("10,000 others", "export 999.9 kW")."""
    return max(len(f"{house_count:,} others"), len("export ") + POWER_CHARS)


def overview_layout(id_chars: int, house_count: int, top_n: int = TOP_N, frame_px: float = FRAME_PX, label_px: float = LABEL_PX) -> GraphLayout:
    """Overview layout: the slots of :func:`overview_roles`, for ids up to `id_chars` long."""
    house_chars = min(id_chars, ID_CHARS) + 1 + POWER_CHARS
    group_chars = group_label_chars(house_count)
    roles = overview_roles(top_n)
    chars = tuple(group_chars if r in GROUP_ROLES else house_chars for r in roles)
    lines = tuple(2 if r in GROUP_ROLES else 1 for r in roles)
    return ring_layout(chars, lines, float(frame_px), float(label_px))
