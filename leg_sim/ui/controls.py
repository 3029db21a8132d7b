"""Live controls bound to the shared Simulation's parameters.

Each session gets its own widgets. A change in one session is set on the shared
Simulation (applied from the next tick) and every other open session's widgets
follow. The watchers this view puts on the shared Simulation are removed by
:meth:`Controls.dispose` when the session ends, so nothing outlives the session.
A value the Simulation rejects (out of bounds) is not applied; the widget goes
back to the current value and a one-line message says what is allowed.
In read-only mode there are no widgets at all.
"""

from __future__ import annotations

import logging

import panel as pn
import param

from leg_sim.engine import Simulation

log = logging.getLogger("leg_sim.ui")

#: Parameters with a widget, in display order.
CONTROLLED = ("house_count", "update_interval_ms", "pv_variation", "flex_load_probability", "clock_mode", "speed_factor", "paused")
SPEED_CHOICES = (1.0, 10.0, 60.0, 300.0, 600.0, 1800.0, 3600.0)
#: The slider's top end for the house count (a config may ask for more; the slider then grows).
HOUSE_SLIDER_MAX = 200


def _widgets(sim: Simulation) -> dict:
    p = sim.param
    speeds = sorted(set(SPEED_CHOICES) | {float(sim.speed_factor)})
    return {
        "house_count": pn.widgets.IntSlider(
            label=p.house_count.label, start=1, end=max(HOUSE_SLIDER_MAX, int(sim.house_count)), value=int(sim.house_count)
        ),
        "update_interval_ms": pn.widgets.IntSlider(
            label=p.update_interval_ms.label, start=p.update_interval_ms.bounds[0], end=p.update_interval_ms.bounds[1],
            step=100, value=int(sim.update_interval_ms),
        ),
        "pv_variation": pn.widgets.RadioButtonGroup(label=p.pv_variation.label, options=list(p.pv_variation.objects), value=sim.pv_variation),
        "flex_load_probability": pn.widgets.FloatSlider(
            label=p.flex_load_probability.label, start=0.0, end=1.0, step=0.01, value=float(sim.flex_load_probability)
        ),
        "clock_mode": pn.widgets.RadioButtonGroup(label=p.clock_mode.label, options=list(p.clock_mode.objects), value=sim.clock_mode),
        "speed_factor": pn.widgets.DiscreteSlider(label=p.speed_factor.label, options=speeds, value=float(sim.speed_factor)),
        "paused": pn.widgets.Toggle(label="Pause", value=bool(sim.paused), color="warning"),
    }


class Controls(pn.viewable.Viewer):
    """Widgets for the live parameters; see the module docstring."""

    sim = param.ClassSelector(class_=Simulation, doc="The shared simulation.")

    def __init__(self, schedule=None, **params):
        super().__init__(**params)
        # `schedule(fn)` runs fn in this session's document context (add_next_tick_callback).
        self._schedule = schedule or (lambda fn: fn())
        self.read_only = bool(self.sim.read_only)
        self.message = pn.pane.Markdown("", name="control_message", css_classes=["leg-message"], margin=(0, 10))
        self.widgets: dict = {} if self.read_only else _widgets(self.sim)
        for widget in self.widgets.values():
            widget.sizing_mode = "stretch_width"
        self._sim_watcher = None
        for name, widget in self.widgets.items():
            widget.param.watch(lambda event, name=name: self._from_widget(name, event.new), "value")
        if self.widgets:
            self._sim_watcher = self.sim.param.watch(self._from_sim, list(CONTROLLED))
        if self.read_only:
            self._layout = pn.Column(pn.pane.Markdown("**Read-only display.** The controls are switched off on this server."))
        else:
            self._layout = pn.Column(*self.widgets.values(), self.message, sizing_mode="stretch_width")

    # widget -> shared simulation
    def _from_widget(self, name: str, value) -> None:
        if getattr(self.sim, name) == value:
            return
        try:
            setattr(self.sim, name, value)
            self.message.object = ""
        except ValueError as exc:
            spec = self.sim.param[name]
            bounds = getattr(spec, "bounds", None)
            allowed = f"{bounds[0]} to {bounds[1]}" if bounds else ", ".join(map(str, getattr(spec, "objects", None) or []))
            self.message.object = f"⚠ {self.sim.param[name].label}: {value!r} was not applied; allowed: {allowed}"
            log.info("rejected control value %s=%r: %s", name, value, exc)
            self.widgets[name].value = getattr(self.sim, name)

    # shared simulation -> this session's widgets (any thread)
    def _from_sim(self, *events) -> None:
        changes = {e.name: e.new for e in events if e.name in self.widgets}
        if changes:
            self._schedule(lambda: self._apply(changes))

    def _apply(self, changes: dict) -> None:
        for name, value in changes.items():
            widget = self.widgets[name]
            if name == "speed_factor" and value not in widget.options:
                widget.options = sorted(set(widget.options) | {float(value)})
            if name == "house_count" and value > widget.end:
                widget.end = int(value)
            if widget.value != value:
                widget.value = value

    def dispose(self) -> None:
        """Remove the watcher on the shared Simulation (call when the session ends)."""
        if self._sim_watcher is not None:
            self.sim.param.unwatch(self._sim_watcher)
            self._sim_watcher = None

    def __panel__(self):
        return self._layout
