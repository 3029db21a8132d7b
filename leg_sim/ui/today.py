"""Today's energy: produced, consumed, shared, imported, exported and self-sufficiency.

The simulated local day so far, from midnight in the community's time zone, as
the first card of an energy dashboard shows it. The numbers come from the
engine's per-minute ring (:meth:`leg_sim.history.History.today`): exact energy,
split at local midnight, nothing booked for a jump of simulated time, and a
jump to another day starts that day at zero. They are computed once per
snapshot for all sessions; per tick only the values whose text changed travel,
in one small ColumnDataSource update that the browser fills into a fixed
template (the pattern of :mod:`leg_sim.ui.kpis`).
"""

from __future__ import annotations

from typing import Any

import panel as pn
from bokeh.models import ColumnDataSource, CustomJS
from bokeh.models.widgets import Div

from leg_sim.history import DayEnergy
from leg_sim.snapshot import Snapshot
from leg_sim.ui import theme
from leg_sim.ui.columns import ColumnSync
from leg_sim.ui.shared import per_snapshot
from leg_sim.ui.view import View
from leg_sim.units import format_energy, format_share

#: Name of the source of the slots' values, as the page's feed script finds it.
SOURCE_NAME = "leg-today-source"
#: (label, slot, CSS class) of each cell, in display order.
CELLS = (
    ("Produced", "prod", ""),
    ("Consumed", "cons", ""),
    ("Shared locally", "shared", "leg-sh"),
    ("Imported", "imp", "leg-imp"),
    ("Exported", "exp", "leg-exp"),
    ("Self-sufficiency", "ss", ""),
)
#: The block with {slot} places; the browser and :func:`render` fill the same slots.
TEMPLATE = (
    '<div class="leg-kpis leg-today">'
    + "".join(f'<div class="leg-kpi {cls}"><span>{label}</span><b>{{{key}}}</b></div>' for label, key, cls in CELLS)
    + '</div><div class="leg-clock">Today, {day}, since 00:00</div>'
)
_FILL_JS = """
let html = template;
for (const key of Object.keys(source.data)) {
    html = html.split('{' + key + '}').join(String(source.data[key][0]));
}
div.text = html;
"""


def today_values(day: DayEnergy | None) -> dict[str, str]:
    """The text of every slot for one day's energy (pure); "–" before the first tick."""
    if day is None:
        return {key: "–" for _, key, _ in CELLS} | {"day": "–"}
    return {
        "prod": format_energy(day.production_kwh),
        "cons": format_energy(day.consumption_kwh),
        "shared": format_energy(day.shared_kwh),
        "imp": format_energy(day.grid_import_kwh),
        "exp": format_energy(day.grid_export_kwh),
        "ss": format_share(day.self_sufficiency),
        "day": f"{day.day_start:%a %d %b %Y}",
    }


def render(values: dict[str, str]) -> str:
    """Fill the template (what the browser shows)."""
    html = TEMPLATE
    for key, value in values.items():
        html = html.replace("{" + key + "}", value)
    return html


class TodaySummary(View):
    """Energy of the simulated local day so far; see the module docstring."""

    def build(self) -> Any:
        self._day: DayEnergy | None = None
        self._values: dict[str, str] = today_values(None)
        self.source = ColumnSync(ColumnDataSource(data={}, name=SOURCE_NAME))
        self.source.replace({k: [v] for k, v in self._values.items()})
        # The source rides along in the Div's tags so it is part of the document.
        self.div = Div(text=render(self._values), sizing_mode="stretch_width", name="today", tags=[self.source.source])
        self.source.source.js_on_change("data", CustomJS(args=dict(source=self.source.source, div=self.div, template=TEMPLATE), code=_FILL_JS))
        # The CSS goes on the pane: pn.pane.Bokeh replaces the wrapped model's own stylesheets.
        return pn.pane.Bokeh(self.div, stylesheets=[theme.KPI_CSS], sizing_mode="stretch_width")

    @property
    def day(self) -> DayEnergy | None:
        """The day's energy shown now (None before the first tick)."""
        return self._day

    @property
    def text(self) -> str:
        """What the panel shows now (HTML)."""
        return render(self._values)

    def resync(self) -> None:
        self.source.forget()

    def update(self, snap: Snapshot) -> None:
        """Show the day so far: only the values whose text changed travel."""
        reader = self.read_model

        def compute() -> tuple[DayEnergy | None, dict[str, str]]:
            day = reader.today()
            return day, today_values(day)

        self._day, values = per_snapshot(snap, "today", compute)
        self.source.push({k: [v] for k, v in values.items()})
        self._values = values
