"""KPI strip: self-sufficiency, self-consumption, import, export, shared power, and the clock.

One small HTML block, re-sent only when its text changes. It also carries the
tick number and the wall-clock time the tick was computed (``data-tick``,
``data-wall``), which tests and the latency benchmark read in the browser.
"""

from __future__ import annotations


import panel as pn
import param

from leg_sim.engine import Simulation, Snapshot
from leg_sim.units import format_energy, format_power, format_share

STYLE = """
.leg-kpis{display:flex;flex-wrap:wrap;gap:10px;font-family:inherit}
.leg-kpi{flex:1 1 120px;padding:8px 12px;border-radius:8px;border:1px solid rgba(128,128,128,.35)}
.leg-kpi b{display:block;font-size:1.45em;font-variant-numeric:tabular-nums}
.leg-kpi span{font-size:.8em;opacity:.75}
.leg-imp b{color:#d73027}.leg-exp b{color:#1a9850}.leg-sh b{color:#4a78b5}
.leg-clock{margin-top:8px;font-size:.9em;opacity:.85;font-variant-numeric:tabular-nums}
"""


def kpi_html(snap: Snapshot | None, paused: bool = False) -> str:
    """The KPI block for one snapshot (pure: text in, text out)."""
    if snap is None:
        return '<div class="leg-kpis">Waiting for the first tick…</div>'
    cells = [
        ("Self-sufficiency", format_share(snap.self_sufficiency), ""),
        ("Self-consumption", format_share(snap.self_consumption), ""),
        ("Grid import", format_power(snap.grid_import_w), "leg-imp"),
        ("Grid export", format_power(snap.grid_export_w), "leg-exp"),
        ("Shared locally", format_power(snap.shared_w), "leg-sh"),
        ("Production", format_power(snap.total_production_w), ""),
        ("Consumption", format_power(snap.total_consumption_w), ""),
    ]
    body = "".join(f'<div class="leg-kpi {cls}"><span>{name}</span><b>{value}</b></div>' for name, value, cls in cells)
    day = f"☀ day, sun {snap.sun_elevation_deg:.0f}°" if snap.is_day else "☾ night"
    energy = snap.energy_kwh
    clock = (
        f'<div class="leg-clock"><span class="leg-time">{snap.timestamp:%a %d %b %Y, %H:%M:%S}</span> · {day} · '
        f"clouds {snap.cloudiness * 100:.0f} % · {snap.temp_air_c:.0f} °C · "
        f'tick <span class="leg-tick" data-tick="{snap.tick}" data-wall="{snap.wall_time_s:.3f}">{snap.tick}</span>'
        f"{' · <b>paused</b>' if paused else ''}<br>"
        f"since start: produced {format_energy(energy['production_kwh'])}, used {format_energy(energy['consumption_kwh'])}, "
        f"shared {format_energy(energy['shared_kwh'])}, imported {format_energy(energy['grid_import_kwh'])}, "
        f"exported {format_energy(energy['grid_export_kwh'])}</div>"
    )
    return f'<div class="leg-kpis">{body}</div>{clock}'


class KpiPanel(pn.viewable.Viewer):
    """KPIs and simulated-clock context; see the module docstring."""

    sim = param.ClassSelector(class_=Simulation, doc="The shared simulation.")

    def __init__(self, **params):
        super().__init__(**params)
        self._pane = pn.pane.HTML(
            kpi_html(self.sim.snapshot if self.sim else None), stylesheets=[STYLE], sizing_mode="stretch_width", name="kpis"
        )

    @property
    def text(self) -> str:
        """What the panel shows now (HTML)."""
        return self._pane.object

    def update(self, snap: Snapshot) -> None:
        """Show `snap`; nothing is sent when the text is unchanged."""
        text = kpi_html(snap, paused=bool(self.sim.paused))
        if text != self._pane.object:
            self._pane.object = text

    def __panel__(self):
        return self._pane


__all__ = ["KpiPanel", "kpi_html"]
