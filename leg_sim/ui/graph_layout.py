"""Where the flow graph's nodes sit: houses in rings around the community bus, grid beside it.

networkx's shell layout spreads each ring's houses evenly around the bus; the
rings are then set at radii 1, 1.55, 2.1, ... Up to :data:`FIRST_RING` houses
share one ring; beyond that each ring holds houses in proportion to its
circumference, so 50 houses stay readable and 200 stay usable. The node size
follows from the closest spacing, so circles never overlap. Pure: no Panel or
Bokeh here.
"""

from __future__ import annotations

import dataclasses

import networkx as nx
import numpy as np

BUS, GRID = "bus", "grid"
#: Houses on the first ring; ring k (radius r_k) holds FIRST_RING * r_k.
FIRST_RING = 40
RING_STEP = 0.55
#: Data-unit margins around the outer ring and from it to the grid node.
PAD, GRID_GAP = 0.4, 0.9


@dataclasses.dataclass(frozen=True)
class GraphLayout:
    """Node positions in data units; the bus is at (0, 0)."""

    house_xy: np.ndarray  # (n, 2)
    bus_xy: tuple[float, float]
    grid_xy: tuple[float, float]
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    min_spacing: float  # closest distance between two houses, in data units
    graph: nx.DiGraph

    def node_size_px(self, frame_px: float, lo: float = 8.0, hi: float = 34.0) -> float:
        """Circle diameter that fills 70 % of the closest spacing on a frame this wide. [px]"""
        px_per_unit = frame_px / (self.x_range[1] - self.x_range[0])
        return float(np.clip(0.7 * self.min_spacing * px_per_unit, lo, hi))


def ring_radii_and_sizes(n: int) -> tuple[list[float], list[int]]:
    """Radius and house count of each ring, inner first."""
    radii, sizes, left = [], [], n
    while left > 0:
        r = 1.0 + RING_STEP * len(radii)
        take = left if n <= FIRST_RING else min(left, int(FIRST_RING * r))
        radii.append(r)
        sizes.append(take)
        left -= take
    return radii, sizes


def ring_sizes(n: int) -> list[int]:
    """How many houses go on each ring, inner first."""
    return ring_radii_and_sizes(n)[1]


def community_layout(house_ids: tuple[str, ...]) -> GraphLayout:
    """Positions for a community with these houses (in display order)."""
    n = len(house_ids)
    g = nx.DiGraph()
    g.add_nodes_from([BUS, GRID, *house_ids])
    g.add_edges_from((h, BUS) for h in house_ids)
    g.add_edge(BUS, GRID)
    radii, sizes = ring_radii_and_sizes(n)
    rings, start = [], 0
    for size in sizes:
        rings.append(list(house_ids[start : start + size]))
        start += size
    house_xy = np.zeros((n, 2))
    if n:
        pos = nx.shell_layout(g.subgraph([BUS, *house_ids]), nlist=[[BUS], *rings])
        row = 0
        for ring, radius in zip(rings, radii):
            xy = np.array([pos[h] for h in ring])
            # Unit circle, first house of each ring at the top, then set the ring's radius.
            angle = np.arctan2(xy[:, 1], xy[:, 0])
            angle = angle - angle[0] + np.pi / 2
            if len(rings) > 1 and radius > 1.0:
                angle = angle + np.pi / len(ring)  # stagger rings so edges don't hide houses
            # Keep houses off the bus→grid line (angle 0), where that edge would hide them.
            off_axis = np.abs(np.angle(np.exp(1j * angle)))
            if off_axis.min() < np.pi / len(ring) / 2:
                angle = angle + np.pi / len(ring)
            house_xy[row : row + len(ring)] = radius * np.column_stack([np.cos(angle), np.sin(angle)])
            row += len(ring)
    outer = radii[-1] if radii else 1.0
    grid_xy = (outer + GRID_GAP, 0.0)
    x_lo, x_hi = -outer - PAD, grid_xy[0] + PAD
    # Same data span on both axes keeps circles round and arrow angles true.
    span = max(x_hi - x_lo, 2 * (outer + PAD))
    x_mid = (x_lo + x_hi) / 2
    if n >= 2:
        d = np.hypot(*(house_xy[:, None, :] - house_xy[None, :, :]).transpose(2, 0, 1))
        min_spacing = float(d[~np.eye(n, dtype=bool)].min())
    else:
        min_spacing = 1.0
    return GraphLayout(
        house_xy=house_xy,
        bus_xy=(0.0, 0.0),
        grid_xy=grid_xy,
        x_range=(x_mid - span / 2, x_mid + span / 2),
        y_range=(-span / 2, span / 2),
        min_spacing=min_spacing,
        graph=g,
    )
