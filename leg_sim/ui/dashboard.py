"""The whole dashboard of one browser session: template, views and their update.

:class:`Dashboard` hands every view this session's
:class:`~leg_sim.ui.readmodel.ReadModel` and the controls the shared
Simulation, and updates the views together from one snapshot. The server glue
(:mod:`leg_sim.server.session`) decides when; this module only decides what.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import panel as pn
import param

from leg_sim.engine import Simulation
from leg_sim.snapshot import Snapshot
from leg_sim.ui import theme
from leg_sim.ui.charts import CommunityChart
from leg_sim.ui.controls import Controls
from leg_sim.ui.flow_graph import FlowGraph
from leg_sim.ui.kpis import KpiPanel
from leg_sim.ui.readmodel import ReadModel
from leg_sim.ui.sankey import SupplySankey
from leg_sim.ui.view import View

TITLE = "LEG-Simulator"

LEGEND = f"""
**Reading the graph**

- <span style="color:{theme.GREEN}">■</span> green edge: export towards the bus or the grid
- <span style="color:{theme.RED}">■</span> red edge: import
- <span style="color:{theme.GREY}">■</span> grey edge: idle (under {theme.IDLE_W:.0f} W)
- arrowheads point the way power flows; edge width grows with power
- house colour: net power, red (importing) to green (exporting)
- hover a house or an edge for its numbers

The Sankey shows who supplies whom with the surplus left after each house's own use.
"""


class Dashboard(pn.viewable.Viewer):
    """All views of one session; see the module docstring."""

    sim = param.ClassSelector(class_=Simulation, doc="The shared simulation.")

    def __init__(self, schedule: Callable | None = None, **params: Any):
        super().__init__(**params)
        self._schedule = schedule or (lambda fn: fn())
        if self.sim is None:
            raise TypeError("Dashboard needs sim=Simulation(...)")
        self.reader = ReadModel(self.sim)
        self.graph = FlowGraph(reader=self.reader)
        self.chart = CommunityChart(reader=self.reader)
        self.kpis = KpiPanel(reader=self.reader)
        self.sankey = SupplySankey(reader=self.reader)
        self.controls = Controls(reader=self.reader, target=self.sim, schedule=schedule)
        self.views: tuple[View, ...] = (self.graph, self.chart, self.kpis, self.sankey, self.controls)
        snap = self.reader.snapshot
        self.shown_tick = snap.tick if snap is not None else 0
        # No tick arrives while paused: the badge follows the parameter itself.
        self._pause_watcher: Any = self.sim.param.watch(lambda event: self._schedule(self.show_state), "paused")

    def show_state(self) -> None:
        """Show the current pause state on the latest snapshot (no new tick needed)."""
        snap = self.reader.snapshot
        if snap is not None:
            self.kpis.update(snap)

    def update(self, snap: Snapshot | None) -> None:
        """Bring every view to `snap`; views send only what changed."""
        if snap is None or snap.tick == self.shown_tick:
            return
        for view in self.views:
            view.update(snap)
        self.shown_tick = snap.tick

    def dispose(self) -> None:
        """Release what this session's views hold on shared objects."""
        if self._pause_watcher is not None and self.sim is not None:
            self.sim.param.unwatch(self._pause_watcher)
            self._pause_watcher = None
        for view in self.views:
            view.dispose()

    def template(self) -> pn.template.FastListTemplate:
        """The page: controls and legend in the sidebar, views in the main area."""
        return pn.template.FastListTemplate(
            title=TITLE,
            sidebar=[pn.pane.Markdown("### Live controls"), self.controls, pn.pane.Markdown(LEGEND)],
            main=[
                pn.Row(
                    pn.Column(pn.pane.Markdown("### Power flows now"), self.graph),
                    pn.Column(
                        pn.pane.Markdown("### Community"), self.kpis, pn.pane.Markdown("### Who supplies whom"), self.sankey,
                        sizing_mode="stretch_width",
                    ),
                    sizing_mode="stretch_width",
                ),
                pn.Column(pn.pane.Markdown("### Last 15 simulated minutes"), self.chart, sizing_mode="stretch_width"),
            ],
            accent=theme.ACCENT,
            theme_toggle=True,
            sidebar_width=300,
        )

    def __panel__(self) -> Any:
        return self.template()
