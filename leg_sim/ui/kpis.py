"""KPI strip: self-sufficiency, self-consumption, import, export, shared power, and the clock.

The block's HTML is a fixed template; per tick only the formatted values
travel, as one small ColumnDataSource update of the columns that changed, and
the browser fills them into the template (a CustomJS callback). The block also
carries the tick number and the wall-clock time the tick was computed
(``data-tick``, ``data-wall``), which tests and the latency benchmark read.
"""

from __future__ import annotations

from typing import Any

import panel as pn
import param
from bokeh.models import ColumnDataSource, CustomJS
from bokeh.models.widgets import Div

from leg_sim.snapshot import Snapshot
from leg_sim.ui import theme
from leg_sim.ui.columns import ColumnSync
from leg_sim.ui.shared import per_snapshot
from leg_sim.ui.view import View
from leg_sim.units import format_power, format_share

_CELLS = (
    ("Self-sufficiency", "ss", ""),
    ("Self-consumption", "sc", ""),
    ("Grid import", "imp", "leg-imp"),
    ("Grid export", "exp", "leg-exp"),
    ("Shared locally", "shared", "leg-sh"),
    ("Production", "prod", ""),
    ("Consumption", "cons", ""),
)
#: Name of the source of the slots' values, as the page's feed script finds it.
SOURCE_NAME = "leg-kpis-source"
#: Shown at the start of the clock line while the simulation is paused.
PAUSED_BADGE = '<span class="leg-paused">‖ Paused</span> '
#: The block with {name} slots; the browser and :func:`render` fill the same slots.
TEMPLATE = (
    '<div class="leg-kpis">'
    + "".join(f'<div class="leg-kpi {cls}"><span>{label}</span><b>{{{key}}}</b></div>' for label, key, cls in _CELLS)
    + '</div><div class="leg-clock">{paused}<span class="leg-time">{date}, {time}</span> · {day} · clouds {clouds} · {temp}</div>'
    '<div class="leg-details">tick <span class="leg-tick" data-tick="{tick}" data-wall="{wall}">{tick}</span></div>'
)
_FILL_JS = """
let html = template;
for (const key of Object.keys(source.data)) {
    html = html.split('{' + key + '}').join(String(source.data[key][0]));
}
div.text = html;
"""


def kpi_values(snap: Snapshot, paused: bool = False) -> dict[str, str]:
    """The formatted value of every slot for one snapshot (pure). Each slot travels on its
    own, so a value that did not change is not sent."""
    return {
        "ss": format_share(snap.self_sufficiency),
        "sc": format_share(snap.self_consumption),
        "imp": format_power(snap.grid_import_w),
        "exp": format_power(snap.grid_export_w),
        "shared": format_power(snap.shared_w),
        "prod": format_power(snap.total_production_w),
        "cons": format_power(snap.total_consumption_w),
        "date": f"{snap.timestamp:%a %d %b %Y}",
        "time": f"{snap.timestamp:%H:%M:%S}",
        "day": f"☀ day, sun {snap.sun_elevation_deg:.0f}°" if snap.is_day else "☾ night",
        "clouds": f"{snap.cloudiness * 100:.0f} %",
        "temp": f"{snap.temp_air_c:.0f} °C",
        "tick": str(snap.tick),
        "wall": f"{snap.wall_time_s:.3f}",
        "paused": PAUSED_BADGE if paused else "",
    }


#: The wall layout's block: the same slots, styled large (``.leg-wall`` in theme.KPI_CSS).
WALL_TEMPLATE = f'<div class="leg-wall">{TEMPLATE}</div>'


def render(values: dict[str, str], template: str = TEMPLATE) -> str:
    """Fill the template (what the browser shows)."""
    html = template
    for key, value in values.items():
        html = html.replace("{" + key + "}", value)
    return html


def kpi_html(snap: Snapshot | None, paused: bool = False) -> str:
    """The KPI block for one snapshot, as the browser will show it."""
    if snap is None:
        return '<div class="leg-kpis">Waiting for the first tick…</div>'
    return render(kpi_values(snap, paused))


class KpiPanel(View):
    """KPIs and simulated-clock context; see the module docstring."""

    wall = param.Boolean(default=False, doc="Large numbers for a wall screen, readable from 3 m.")

    def build(self) -> Any:
        self._template = WALL_TEMPLATE if self.wall else TEMPLATE
        self._values: dict[str, str] = {}
        self.source = ColumnSync(ColumnDataSource(data={}, name=SOURCE_NAME))
        # The source rides along in the Div's tags so it is part of the document.
        self.div = Div(text=kpi_html(None), sizing_mode="stretch_width", name="kpis", tags=[self.source.source])
        self.source.source.js_on_change("data", CustomJS(args=dict(source=self.source.source, div=self.div, template=self._template), code=_FILL_JS))
        # The CSS goes on the pane: pn.pane.Bokeh replaces the wrapped model's own stylesheets.
        return pn.pane.Bokeh(self.div, stylesheets=[theme.KPI_CSS], sizing_mode="stretch_width")

    @property
    def text(self) -> str:
        """What the panel shows now (HTML)."""
        return render(self._values, self._template) if self._values else self.div.text

    def resync(self) -> None:
        self._values = {}

    def update(self, snap: Snapshot) -> None:
        """Show `snap`: sends only the values that changed."""
        paused = self.read_model.paused
        values = per_snapshot(snap, ("kpis", paused), lambda: kpi_values(snap, paused))
        if not self._values:
            self.div.text = render(values, self._template)
            self.source.replace({k: [v] for k, v in values.items()})
        else:
            self.source.push({k: [v] for k, v in values.items()})
        self._values = values
