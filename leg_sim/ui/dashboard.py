"""The whole dashboard of one browser session: template, views and their update.

:class:`Dashboard` builds every view for one session from the shared
Simulation and updates them together from one snapshot. The server glue
(leg_sim.server.session) decides when; this module only decides what.
"""

from __future__ import annotations

import panel as pn
import param

from leg_sim.engine import Simulation, Snapshot
from leg_sim.ui.charts import CommunityChart
from leg_sim.ui.controls import Controls
from leg_sim.ui.flow_graph import FlowGraph
from leg_sim.ui.kpis import KpiPanel
from leg_sim.ui.sankey import SupplySankey

TITLE = "LEG-Simulator"
ACCENT = "#1a9850"

LEGEND = """
**Reading the graph**

- <span style="color:#1a9850">■</span> green edge: export towards the bus or the grid
- <span style="color:#d73027">■</span> red edge: import
- <span style="color:#9e9e9e">■</span> grey edge: idle (under 20 W)
- arrowheads point the way power flows; edge width grows with power
- house colour: net power, red (importing) to green (exporting)
- hover a house or an edge for its numbers

The Sankey shows who supplies whom with the surplus left after each house's own use.
"""


class Dashboard(pn.viewable.Viewer):
    """All views of one session; see the module docstring."""

    sim = param.ClassSelector(class_=Simulation, doc="The shared simulation.")

    def __init__(self, schedule=None, **params):
        super().__init__(**params)
        self.graph = FlowGraph(sim=self.sim)
        self.chart = CommunityChart(sim=self.sim)
        self.kpis = KpiPanel(sim=self.sim)
        self.sankey = SupplySankey(sim=self.sim)
        self.controls = Controls(sim=self.sim, schedule=schedule)
        self.views = (self.graph, self.chart, self.kpis, self.sankey)
        self.shown_tick = self.sim.snapshot.tick if self.sim.snapshot is not None else 0

    def update(self, snap: Snapshot) -> None:
        """Bring every view to `snap`; views send only what changed."""
        if snap is None or snap.tick == self.shown_tick:
            return
        for view in self.views:
            view.update(snap)
        self.shown_tick = snap.tick

    def dispose(self) -> None:
        """Release what this session holds on the shared Simulation."""
        self.controls.dispose()

    def template(self) -> pn.template.FastListTemplate:
        """The page: controls and legend in the sidebar, views in the main area."""
        return pn.template.FastListTemplate(
            title=TITLE,
            sidebar=[pn.pane.Markdown("### Live controls"), self.controls, pn.pane.Markdown(LEGEND)],
            main=[
                pn.Row(
                    pn.Column(pn.pane.Markdown("### Power flows now"), self.graph),
                    pn.Column(pn.pane.Markdown("### Community"), self.kpis, pn.pane.Markdown("### Who supplies whom"), self.sankey, sizing_mode="stretch_width"),
                    sizing_mode="stretch_width",
                ),
                pn.Column(pn.pane.Markdown("### Last 15 simulated minutes"), self.chart, sizing_mode="stretch_width"),
            ],
            accent=ACCENT,
            theme_toggle=True,
            sidebar_width=300,
        )

    def __panel__(self):
        return self.template()
