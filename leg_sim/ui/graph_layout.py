"""Where the flow graph's nodes sit: houses in rings around the community bus, grid beside it.

Uses networkx's shell layout. Up to 50 houses share one ring; more houses fill
further rings outwards, each holding more houses than the one inside it, so
200 houses stay usable. Pure: no Panel or Bokeh here.
"""

from __future__ import annotations

import dataclasses

import networkx as nx
import numpy as np

BUS, GRID = "bus", "grid"
#: Houses on the first ring; each further ring holds proportionally more.
FIRST_RING = 50


@dataclasses.dataclass(frozen=True)
class GraphLayout:
    """Node positions in data units; the bus is at (0, 0)."""

    house_xy: np.ndarray  # (n, 2)
    bus_xy: tuple[float, float]
    grid_xy: tuple[float, float]
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    graph: nx.DiGraph


def ring_sizes(n: int) -> list[int]:
    """How many houses go on each ring, inner first."""
    sizes, left, k = [], n, 1
    while left > 0:
        take = min(left, FIRST_RING * k if n > FIRST_RING else left)
        sizes.append(take)
        left -= take
        k += 1
    return sizes


def community_layout(house_ids: tuple[str, ...]) -> GraphLayout:
    """Positions for a community with these houses (in display order)."""
    n = len(house_ids)
    g = nx.DiGraph()
    g.add_node(BUS)
    g.add_node(GRID)
    g.add_nodes_from(house_ids)
    g.add_edges_from((h, BUS) for h in house_ids)
    g.add_edge(BUS, GRID)
    rings, start = [], 0
    for size in ring_sizes(n):
        rings.append(list(house_ids[start : start + size]))
        start += size
    radius = 1.0 + 0.35 * (len(rings) - 1)
    pos = nx.shell_layout(g.subgraph([BUS, *house_ids]), nlist=[[BUS], *rings], scale=radius) if n else {BUS: np.zeros(2)}
    # Turn the rings so the first house sits at the top, and leave room on the right for the grid.
    house_xy = np.array([pos[h] for h in house_ids]).reshape(n, 2)
    if n:
        # shell_layout spreads shells over [0, scale]; put the first ring at radius 1.
        first = np.hypot(*house_xy[: len(rings[0])].T).max()
        house_xy = house_xy / first if first > 0 else house_xy
        angle = np.pi / 2 - np.arctan2(house_xy[0, 1], house_xy[0, 0])
        rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        house_xy = house_xy @ rot.T
    radius = float(np.hypot(*house_xy.T).max()) if n else 1.0
    grid_xy = (radius + 0.9, 0.0)
    pad = 0.4
    half_height = radius + pad
    x_lo, x_hi = -radius - pad, grid_xy[0] + pad
    # Same data span on both axes keeps circles round and arrow angles true.
    span = max(x_hi - x_lo, 2 * half_height)
    x_mid = (x_lo + x_hi) / 2
    return GraphLayout(
        house_xy=house_xy,
        bus_xy=(0.0, 0.0),
        grid_xy=grid_xy,
        x_range=(x_mid - span / 2, x_mid + span / 2),
        y_range=(-span / 2, span / 2),
        graph=g,
    )
