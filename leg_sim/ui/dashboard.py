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
from leg_sim.ui.charts import CommunityChart
from leg_sim.ui.controls import Controls
from leg_sim.ui.flow_graph import FlowGraph
from leg_sim.ui.kpis import KpiPanel
from leg_sim.ui.page import PageChoice, make_template
from leg_sim.ui.readmodel import ReadModel
from leg_sim.ui.sankey import SupplySankey
from leg_sim.ui.today import TodaySummary
from leg_sim.ui.view import View

TITLE = "LEG-Simulator"
#: The flow graph's square is made for a 360 px wide phone and grows with the page; a wall
#: screen gets a larger square and text readable from a distance. [px]
FRAME_PX, LABEL_PX = 320, 11.0
WALL_FRAME_PX, WALL_LABEL_PX = 700, 15.0
#: Frame and label size of the flow graph by page layout: a page built once for every viewer
#: takes the places of a new house set from the feed, made for its layout. [px]
GRAPH_FRAMES = {"standard": (FRAME_PX, LABEL_PX), "wall": (WALL_FRAME_PX, WALL_LABEL_PX)}

LEGEND = """
**Reading the page**

- the legend below the graph gives its colours; arrowheads and moving dots go the way power flows
- hover a house or an edge for its numbers; type a house id in the box to pick it out
- the Sankey shows who supplies whom with the surplus left after each house's own use
- the chart's buttons choose 15 min, 1 h or today; "Today" counts from local midnight
"""


class Dashboard(pn.viewable.Viewer):
    """All views of one session; see the module docstring."""

    sim = param.ClassSelector(class_=Simulation, doc="The shared simulation.")
    choice = param.ClassSelector(class_=PageChoice, default=PageChoice(), doc="Layout and theme of this session's page.")
    shared = param.Boolean(
        default=False, constant=True,
        doc="A page built once for every viewer (leg_sim.server.pages): no watcher on the simulation; its controls and chart "
        "buttons work in the browser and talk over the page's feed (a wall page has none).",
    )

    def __init__(self, schedule: Callable | None = None, **params: Any):
        super().__init__(**params)
        self._schedule = schedule or (lambda fn: fn())
        if self.sim is None:
            raise TypeError("Dashboard needs sim=Simulation(...)")
        self.reader = ReadModel(self.sim)
        wall, dark = self.choice.wall, self.choice.dark
        self.graph = FlowGraph(
            reader=self.reader, schedule=schedule, dark=dark, wall=wall, in_browser=self.shared,
            frame_px=WALL_FRAME_PX if wall else FRAME_PX, label_px=WALL_LABEL_PX if wall else LABEL_PX,
        )
        # A wall screen shows the last hour, with no buttons.
        self.chart = (
            CommunityChart(reader=self.reader, window="1 h", choosable=False) if wall else CommunityChart(reader=self.reader, in_browser=self.shared)
        )
        self.kpis = KpiPanel(reader=self.reader, wall=self.choice.wall)
        self.sankey = SupplySankey(reader=self.reader, dark=self.choice.dark)
        self.today = TodaySummary(reader=self.reader)
        # A page built once for every viewer has its controls in the browser (they talk over its feed); a wall page has none.
        in_browser = self.shared
        self.controls = None if (wall and in_browser) else Controls(reader=self.reader, target=self.sim, schedule=schedule, in_browser=in_browser)
        views = (self.graph, self.chart, self.kpis, self.today, self.sankey, self.controls)
        self.views: tuple[View, ...] = tuple(v for v in views if v is not None)
        snap = self.reader.snapshot
        self.shown_tick = snap.tick if snap is not None else 0
        self._fed = False
        # No tick arrives while paused: the badge follows the parameter itself (a shared page's
        # badge comes with the feed).
        self._pause_watcher: Any = None if self.shared else self.sim.param.watch(lambda event: self._schedule(self.show_state), "paused")

    def show_state(self) -> None:
        """Show the current pause state on the latest snapshot (no new tick needed)."""
        snap = self.reader.snapshot
        if snap is not None and not self.fed:
            self.kpis.update(snap)

    def update(self, snap: Snapshot | None) -> None:
        """Bring every view to `snap`; views send only what changed."""
        if snap is None or snap.tick == self.shown_tick:
            return
        for view in self.views:
            view.update(snap)
        self.shown_tick = snap.tick

    @property
    def fed(self) -> bool:
        """True while the page takes its ticks from the shared feed (:mod:`leg_sim.ui.feed`)."""
        return self._fed

    @fed.setter
    def fed(self, value: bool) -> None:
        self._fed = self.graph.fed = bool(value)

    def needs_own_update(self, snap: Snapshot) -> bool:
        """True when a fed page needs this session for `snap`: a new house set, or a search
        (what the feed does not carry). Cheap; any thread."""
        return self.graph.needs_own_update(snap)

    def update_own(self, snap: Snapshot) -> None:
        """What only this session shows of `snap` while the feed shows the rest."""
        self.graph.update_own(snap)

    def resync(self) -> None:
        """The page held what the feed sent: send everything again from the next update."""
        for view in self.views:
            view.resync()
        self.shown_tick = 0
        snap = self.reader.snapshot
        if snap is not None and not self.fed:
            self.update(snap)

    def dispose(self) -> None:
        """Release what this session's views hold on shared objects."""
        if self._pause_watcher is not None and self.sim is not None:
            self.sim.param.unwatch(self._pause_watcher)
            self._pause_watcher = None
        for view in self.views:
            view.dispose()

    def template(self) -> pn.template.FastListTemplate:
        """The page for this session's layout (see :mod:`leg_sim.ui.page`)."""
        main = self._wall_main() if self.choice.wall else self._standard_main()
        sidebar = [] if self.controls is None else [pn.pane.Markdown("### Live controls"), self.controls, pn.pane.Markdown(LEGEND)]
        return make_template(self.choice, TITLE, main=main, sidebar=sidebar)

    def _standard_main(self) -> list:
        """Desktop and phone: graph and numbers side by side, wrapping to one column (graph first)."""
        graph = pn.Column(
            # At most 540 px wide, so the square graph fits a 768 px high screen below its title.
            pn.pane.Markdown("### Power flows now"), self.graph, styles={"flex": "1 1 480px"}, min_width=300, max_width=540,
            css_classes=["leg-section"],
        )
        numbers = pn.Column(
            pn.pane.Markdown("### Community now"), self.kpis, pn.pane.Markdown("### Today"), self.today,
            pn.pane.Markdown("### Who supplies whom"), self.sankey,
            styles={"flex": "1 1 360px"}, min_width=300, css_classes=["leg-section"],
        )
        return [
            pn.FlexBox(graph, numbers, flex_wrap="wrap", gap="12px", sizing_mode="stretch_width"),
            pn.Column(pn.pane.Markdown("### Community power"), self.chart, sizing_mode="stretch_width", css_classes=["leg-section"]),
        ]

    def _wall_main(self) -> list:
        """Wall screen: the graph on the left over the full height, numbers and chart on the right."""
        graph = pn.Column(self.graph, styles={"flex": "1 1 58%"}, sizing_mode="stretch_height", css_classes=["leg-section"])
        numbers = pn.Column(self.kpis, self.today, self.chart, styles={"flex": "1 1 42%"}, sizing_mode="stretch_height", css_classes=["leg-section"])
        return [pn.FlexBox(graph, numbers, flex_wrap="nowrap", gap="1vw", sizing_mode="stretch_both")]

    def __panel__(self) -> Any:
        return self.template()
