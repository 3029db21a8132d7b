"""Where the flow graph's nodes sit: houses in rings around the community bus, the grid beside it.

The nodes and edges come from the community's topology
(:func:`leg_sim.model.community_topology`, a networkx directed graph); this
module only places them. Up to :data:`FIRST_RING` houses share one ring at
radius 1; beyond that the rings sit at radii 1, 1.55, 2.1, ... and each holds
houses in proportion to its circumference, so 50 houses stay readable and 200
stay usable. The node size follows from the closest spacing, so circles never
overlap. Everything is O(n) in the houses and computed once per house set,
whatever the number of sessions (cached). Pure: no Panel or Bokeh here.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import networkx as nx
import numpy as np

from leg_sim.model import BUS, GRID, community_topology

#: Houses on the first ring; ring k (radius r_k) holds FIRST_RING * r_k.
FIRST_RING = 40
RING_STEP = 0.55
#: Data-unit margins around the outer ring and from it to the grid node.
PAD, GRID_GAP = 0.4, 0.9


@dataclasses.dataclass(frozen=True)
class GraphLayout:
    """Node positions in data units; the bus is at (0, 0). Shared by sessions: read-only."""

    graph: nx.DiGraph  # the topology whose nodes are placed
    house_xy: np.ndarray  # (n, 2), in the graph's house order
    bus_xy: tuple[float, float]
    grid_xy: tuple[float, float]
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    min_spacing: float  # closest distance between two houses, in data units

    def node_size_px(self, frame_px: float, lo: float = 8.0, hi: float = 34.0) -> float:
        """Circle diameter that fills 70 % of the closest spacing on a frame this wide. [px]"""
        px_per_unit = frame_px / (self.x_range[1] - self.x_range[0])
        return float(np.clip(0.7 * self.min_spacing * px_per_unit, lo, hi))

    def position(self, node: str) -> tuple[float, float]:
        """Position of any node of the topology (a house id, the bus or the grid)."""
        if node == BUS:
            return self.bus_xy
        if node == GRID:
            return self.grid_xy
        x, y = self.house_xy[self._house_index[node]]
        return float(x), float(y)

    @functools.cached_property
    def _house_index(self) -> dict[str, int]:
        return {h: i for i, h in enumerate(h for h, kind in self.graph.nodes(data="kind") if kind == "house")}


def ring_radii_and_sizes(n: int) -> tuple[list[float], list[int]]:
    """Radius and house count of each ring, inner first."""
    radii: list[float] = []
    sizes: list[int] = []
    left = n
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


def ring_angles(size: int, staggered: bool) -> np.ndarray:
    """Angles of `size` houses evenly spread on a ring, the first at the top. [rad]

    A staggered ring is turned by half a spacing, so edges from an outer ring
    pass between the houses of the inner one. Houses are kept off the bus→grid
    line (angle 0), where that edge would hide them.
    """
    angle = np.pi / 2 + 2 * np.pi * np.arange(size) / size
    if staggered:
        angle = angle + np.pi / size
    off_axis = np.abs(np.angle(np.exp(1j * angle)))
    if off_axis.min() < np.pi / size / 2:
        angle = angle + np.pi / size
    return angle


@functools.lru_cache(maxsize=8)
def community_layout(house_ids: tuple[str, ...]) -> GraphLayout:
    """Positions for a community with these houses (in display order); cached per house set."""
    graph = community_topology(house_ids)
    n = len(house_ids)
    radii, sizes = ring_radii_and_sizes(n)
    house_xy = np.zeros((n, 2))
    row = 0
    spacing = [RING_STEP] if len(radii) > 1 else []  # neighbouring rings are at least this far apart
    for radius, size in zip(radii, sizes, strict=True):
        angle = ring_angles(size, staggered=len(radii) > 1 and radius > 1.0)
        house_xy[row : row + size] = radius * np.column_stack([np.cos(angle), np.sin(angle)])
        if size >= 2:
            spacing.append(2 * radius * math.sin(math.pi / size))  # chord between neighbours
        row += size
    outer = radii[-1] if radii else 1.0
    grid_xy = (outer + GRID_GAP, 0.0)
    x_lo, x_hi = -outer - PAD, grid_xy[0] + PAD
    # Same data span on both axes keeps circles round and arrow angles true.
    span = max(x_hi - x_lo, 2 * (outer + PAD))
    x_mid = (x_lo + x_hi) / 2
    house_xy.flags.writeable = False
    return GraphLayout(
        graph=graph,
        house_xy=house_xy,
        bus_xy=(0.0, 0.0),
        grid_xy=grid_xy,
        x_range=(x_mid - span / 2, x_mid + span / 2),
        y_range=(-span / 2, span / 2),
        min_spacing=min(spacing) if n >= 2 else 1.0,
    )
