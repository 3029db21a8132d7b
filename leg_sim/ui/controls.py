"""Live controls bound to the shared Simulation's live parameters.

One widget per live setting (declared in :mod:`leg_sim.settings`, which gives
its label, range, step and presets), plus Pause. Each session gets its own
widgets. A change in one session is set on the shared Simulation (applied from
the next tick) and every other open session's widgets follow. The watcher this
view puts on the shared Simulation is removed by :meth:`Controls.dispose` when
the session ends, so nothing outlives the session. In read-only mode there are
no widgets at all.

The server checks what a widget sends
    A browser (or any websocket client) can send any value for a widget. Before a
    value reaches the Simulation it is checked against the declaration the widget
    was made from (:func:`leg_sim.settings.control_value`: type, integer-ness, the
    widget's range and presets, not the wider config range); a refused value is
    not applied, the widget goes back to the current value and a one-line message
    says what is allowed. An integer slider passes a non-integral value on
    unchanged (:class:`ExactIntSlider`), so 1.5 houses is refused, not cut to 1.

Rate limit
    A session applies at most one change of a setting per
    :data:`~leg_sim.ui.gate.MIN_CHANGE_INTERVAL_S`; values that come faster (a
    slider being dragged, or a client flooding) are merged, and the newest is
    applied when the interval has passed (:class:`leg_sim.ui.gate.ChangeGate`).
"""

from __future__ import annotations

import html
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import panel as pn
import param

from leg_sim.engine import CONTROLLED, Simulation  # CONTROLLED: parameters with a widget, in display order
from leg_sim.settings import ControlError, Setting, control_bounds, control_presets, live_settings
from leg_sim.snapshot import Snapshot
from leg_sim.ui.gate import ChangeGate, note_refused
from leg_sim.ui.view import View

#: Units whose values read as a factor: a preset of 3600 shows as "3,600×".
FACTOR_UNITS = ("simulated s per s",)
#: Labels of the pause toggle while running and while paused.
PAUSE_LABEL, RESUME_LABEL = "‖ Pause", "▶ Resume"


class ExactIntSlider(pn.widgets.IntSlider):
    """An IntSlider that hands a client's non-integral value on as it is, so it is refused
    (Panel's own would cut 1.5 to 1 and apply it). Overrides Panel's private
    ``_process_property_change`` (Panel 1.9); a test sends 1.5 from a raw client."""

    def _process_property_change(self, props: dict[str, Any]) -> dict[str, Any]:
        raw = props.get("value")
        params = super()._process_property_change(props)
        if isinstance(raw, float) and not raw.is_integer() and "value" in params:
            params["value"] = raw
        return params


def preset_label(s: Setting, value: float) -> str:
    """How a preset value reads on its slider: plain digits with thousands separators,
    "×" for a factor ("3,600×", never "3.6e+03")."""
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,g}"
    return f"{text}×" if s.unit in FACTOR_UNITS else text


def preset_options(s: Setting, values: Any) -> dict[str, float]:
    """Slider options for presets: label → value, in increasing order."""
    return {preset_label(s, v): float(v) for v in sorted({float(v) for v in values})}


def setting_widget(s: Setting, value: Any, configured: Any = None) -> pn.widgets.Widget:
    """The widget for one live setting, its range, step and presets taken from the declaration
    as the server checks them (:func:`leg_sim.settings.control_bounds`, ``control_presets``;
    `configured`: the value the config started with)."""
    lo, hi = control_bounds(s, configured)
    if s.presets:
        return pn.widgets.DiscreteSlider(label=s.full_label, options=preset_options(s, (*control_presets(s, configured), value)), value=float(value))
    if s.kind in ("integer", "houses"):
        return ExactIntSlider(label=s.full_label, start=int(lo), end=max(int(hi), int(value)), step=int(s.step or 1), value=int(value))
    if s.kind == "number":
        return pn.widgets.FloatSlider(label=s.full_label, start=float(lo), end=float(hi), step=s.step or 0.01, value=float(value))
    # The "outline" variant fills only the selected button, so the choice is plain to see.
    return pn.widgets.RadioButtonGroup(label=s.full_label, options=list(s.choices or ()), value=value, color="primary", variant="outline")


def labelled(widget: pn.widgets.Widget) -> Any:
    """A widget with its label shown above it (button groups do not show their own name)."""
    if isinstance(widget, pn.widgets.RadioButtonGroup):
        return pn.Column(pn.pane.HTML(f'<label class="leg-label">{widget.label}</label>', margin=(5, 10, 0, 10)), widget,
                         sizing_mode="stretch_width")
    return widget


#: Tag of a control's Bokeh model on a page without a session (the name follows), and of its message.
CONTROL_TAG, MESSAGE_TAG = "leg-control:", "leg-control-message"
#: What a control's model runs on a page without a session when its user changes it (the page's
#: feed script, :mod:`leg_sim.ui.feed`, defines ``legControl``).
SEND_JS = "if (window.legControl) window.legControl(%s, cb_obj);"


def browser_kind(widget: pn.widgets.Widget) -> str:
    """How the page's feed script reads and sets `widget`'s model: "discrete" (a slider over the
    options' indices), "buttons" (the active index), "toggle" (active) or "slider" (value)."""
    if isinstance(widget, pn.widgets.DiscreteSlider):
        return "discrete"
    if isinstance(widget, pn.widgets.RadioButtonGroup):
        return "buttons"
    if isinstance(widget, pn.widgets.Toggle):
        return "toggle"
    return "slider"


class Controls(View):
    """Widgets for the live parameters; see the module docstring."""

    target = param.ClassSelector(class_=Simulation, doc="The shared simulation whose live parameters the widgets set.")
    in_browser = param.Boolean(
        default=False, constant=True,
        doc="Widgets of a page without a session (leg_sim.server.pages): they send their changes over the page's feed and "
        "follow the feed's frames; no watcher here.",
    )

    def __init__(self, schedule: Callable[[Callable[[], None]], None] | None = None, **params: Any):
        # `schedule(fn)` runs fn in this session's document context (add_next_tick_callback).
        self._schedule = schedule or (lambda fn: fn())
        super().__init__(**params)

    @property
    def sim(self) -> Simulation:
        """The shared simulation these controls drive (the `target` parameter)."""
        if self.target is None:
            raise TypeError("Controls need target=Simulation(...)")
        return self.target

    def build(self) -> Any:
        self.read_only = bool(self.sim.read_only)
        self._settings = {s.name: s for s in live_settings()}
        self.message = pn.pane.Markdown("", name="control_message", css_classes=["leg-message"], margin=(0, 10))
        self.widgets: dict[str, pn.widgets.Widget] = {}
        self._sim_watcher = None
        self._gate = ChangeGate()
        self._timer: threading.Timer | None = None
        if self.read_only:
            return pn.Column(pn.pane.Markdown("**Read-only display.** The controls are switched off on this server."))
        self.widgets = {name: setting_widget(s, getattr(self.sim, name), self.sim.settings[s.key]) for name, s in self._settings.items()}
        paused = bool(self.sim.paused)
        self.widgets["paused"] = pn.widgets.Toggle(label=RESUME_LABEL if paused else PAUSE_LABEL, value=paused, color="warning")
        for widget in self.widgets.values():
            widget.sizing_mode = "stretch_width"
        self._follow_state()
        if self.in_browser:
            self._wire_in_browser()
        else:
            for name, widget in self.widgets.items():
                widget.param.watch(lambda event, name=name: self._from_widget(name, event.new), "value")
            self._sim_watcher = self.sim.param.watch(self._from_sim, list(CONTROLLED))
        return pn.Column(*(labelled(w) for w in self.widgets.values()), self.message, sizing_mode="stretch_width")

    def _wire_in_browser(self) -> None:
        """A page without a session: each control's model is tagged with its name and sends its
        changes to the page's feed script (the slider of a preset slider: Panel's DiscreteSlider
        draws one over the options' indices; ``_slider`` is Panel's own attribute, Panel 1.9, and the
        browser test of this page fails if it goes)."""
        for name, widget in self.widgets.items():
            model_owner: Any = widget._slider if isinstance(widget, pn.widgets.DiscreteSlider) else widget
            model_owner.tags = [CONTROL_TAG + name]
            model_owner.jscallback(value=SEND_JS % json.dumps(name))
        self.message.tags = [MESSAGE_TAG]

    def browser_spec(self) -> dict[str, dict]:
        """For the page's feed script: each control's kind (:func:`browser_kind`) and, for preset
        sliders and button groups, the values of its options in order; the pause's two labels."""
        spec: dict[str, dict] = {}
        for name, widget in self.widgets.items():
            kind = browser_kind(widget)
            any_widget: Any = widget
            options = any_widget.values if kind == "discrete" else list(any_widget.options) if kind == "buttons" else None
            spec[name] = {"kind": kind, "options": options}
        if "paused" in spec:
            spec["paused"]["labels"] = [PAUSE_LABEL, RESUME_LABEL]
        return spec

    def _follow_state(self) -> None:
        """Widgets that depend on other settings: the speed only counts in accelerated mode,
        and the pause toggle says what pressing it will do."""
        speed = self.widgets.get("speed_factor")
        if speed is not None:
            speed.disabled = self.sim.clock_mode != "accelerated"
        pause = self.widgets.get("paused")
        if pause is not None:
            pause.label = RESUME_LABEL if self.sim.paused else PAUSE_LABEL

    def update(self, snap: Snapshot) -> None:
        """Controls follow the parameters, not the snapshots: nothing to do per tick."""

    # widget -> shared simulation
    def _from_widget(self, name: str, value: Any) -> None:
        if getattr(self.sim, name) == value and name not in self._gate.waiting:
            return
        wait_s = self._gate.offer(name, value, time.monotonic())
        if wait_s > 0:
            # Too soon after the last change: the gate keeps the newest value for later.
            if self._timer is None:
                self._timer = threading.Timer(wait_s, lambda: self._schedule(self._apply_waiting))
                self._timer.daemon = True
                self._timer.start()
            return
        self._set(name, value)

    def _apply_waiting(self) -> None:
        self._timer = None
        for name, value in self._gate.take_waiting().items():
            self._from_widget(name, value)

    def _set(self, name: str, value: Any) -> None:
        """Check `value` as the server does (:meth:`Simulation.checked_control`) and set it on the
        Simulation, or say why not."""
        try:
            value = self.sim.checked_control(name, value)
            if getattr(self.sim, name) != value:
                self._gate.applied(name, time.monotonic())
                setattr(self.sim, name, value)
            self.message.object = ""
            self._follow_state()
        except ValueError as exc:
            s = self._settings.get(name)
            text = str(exc) if isinstance(exc, ControlError) else f"{value!r} was not applied; allowed: {s.allowed() if s else 'true or false'}"
            # A client's value is shown as text, never as markup.
            self.message.object = f"⚠ {self.sim.param[name].label}: {html.escape(text)}"
            note_refused(name, value, exc)
            self.widgets[name].value = getattr(self.sim, name)

    # shared simulation -> this session's widgets (any thread)
    def _from_sim(self, *events: param.parameterized.Event) -> None:
        changes = {e.name: e.new for e in events if e.name in self.widgets}
        if changes:
            self._schedule(lambda: self._apply(changes))

    def _apply(self, changes: dict) -> None:
        for name, value in changes.items():
            widget = self.widgets[name]
            if isinstance(widget, pn.widgets.DiscreteSlider) and float(value) not in widget.values:
                widget.options = preset_options(self._settings[name], (*widget.values, value))
            if isinstance(widget, pn.widgets.IntSlider) and value > widget.end:
                widget.end = int(value)
            if widget.value != value:
                widget.value = value
        self._follow_state()

    def dispose(self) -> None:
        """Remove the watcher on the shared Simulation (call when the session ends)."""
        if self._sim_watcher is not None:
            self.sim.param.unwatch(self._sim_watcher)
            self._sim_watcher = None
        timer = getattr(self, "_timer", None)
        if timer is not None:
            timer.cancel()
            self._timer = None
