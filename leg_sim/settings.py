"""Every setting of LEG-Simulator, declared once.

A :class:`Setting` holds one config key's default, type, bounds, unit, label and
doc, and whether it may change while the simulation runs (``live``). Everything
else is derived from these declarations, so adding a key means adding one
declaration here and using it where it takes effect:

* the config validator (:mod:`leg_sim.config`) checks a YAML file against them;
* the ``param`` declarations of :class:`~leg_sim.engine.Simulation` and
  :class:`~leg_sim.model.House` come from :meth:`Setting.parameter`;
* the dashboard's widgets take their bounds, steps, presets and labels from them;
* the README's configuration tables and the shipped ``config.yaml`` are generated
  from them (``python -m leg_sim settings --markdown`` / ``--yaml``), and a test
  fails when either file disagrees.

Units live in the key names (``update_interval_ms``, ``pv_peak_kwp``) and in
``unit``; a doc string never repeats the unit, :attr:`Setting.full_doc` adds it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from typing import Any

import param

from leg_sim import catalogue

#: Largest community the configuration accepts.
MAX_HOUSES = 10_000

#: Kinds of value a setting can hold.
KINDS = ("integer", "number", "choice", "switch", "boolean", "text", "timezone", "datetime", "names", "houses", "path", "url", "topic")


@dataclasses.dataclass(frozen=True)
class Setting:
    """One configuration key; see the module docstring.

    Parameters
    ----------
    key
        The config key; keys inside a section are dotted (``clock.speed_factor``).
    kind
        One of :data:`KINDS`: ``integer``, ``number``, ``choice`` (one of
        `choices`), ``switch`` (``enabled``/``disabled``, YAML booleans allowed),
        ``boolean``, ``text``, ``timezone`` (IANA name), ``datetime`` (ISO 8601 or
        null), ``names`` (a list drawn from `choices`) or ``houses`` (a count or a
        list of per-house settings).
    default
        Value when the key is left out.
    doc
        What the setting does, one sentence, without the unit.
    unit
        Unit of the value, shown in brackets: ``ms``, ``kWp``, ``deg``.
    bounds
        Smallest and largest value allowed (numbers and integers).
    choices
        Allowed values (choices and names).
    label
        Short name for widgets and tables; the unit is appended.
    live
        True if the running simulation takes a new value from the next tick.
    attr
        Name of the parameter that holds the value, if not the key's last part.
    widget_bounds
        Range a dashboard slider offers, when narrower than `bounds`.
    step
        Slider step.
    presets
        Values a dashboard offers as discrete steps.
    """

    key: str
    kind: str
    default: Any
    doc: str
    unit: str = ""
    bounds: tuple[float, float] | None = None
    choices: tuple[Any, ...] | None = None
    label: str = ""
    live: bool = False
    attr: str | None = None
    widget_bounds: tuple[float, float] | None = None
    step: float | None = None
    presets: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"setting {self.key}: unknown kind {self.kind!r}")

    @property
    def name(self) -> str:
        """The parameter name: `attr`, or the key's last part."""
        return self.attr or self.key.split(".")[-1]

    @property
    def section(self) -> str | None:
        """The config section (``clock`` for ``clock.mode``), or None at top level."""
        return self.key.split(".")[0] if "." in self.key else None

    @property
    def unit_text(self) -> str:
        """The unit in brackets with a leading space, or an empty string."""
        return f" [{self.unit}]" if self.unit else ""

    @property
    def full_label(self) -> str:
        """Label with its unit, as widgets show it: ``Update interval (ms)``."""
        label = self.label or self.name.replace("_", " ").capitalize()
        return f"{label} ({self.unit})" if self.unit else label

    @property
    def full_doc(self) -> str:
        """The doc with its unit in brackets, pvlib style: ``Wall-clock time between ticks. [ms]``."""
        return f"{self.doc}.{self.unit_text}"

    def allowed(self) -> str:
        """What the setting accepts, as error messages and the README say it."""
        if self.kind in ("integer", "houses"):
            assert self.bounds is not None
            text = f"integer {int(self.bounds[0])} to {int(self.bounds[1])}{self.unit_text}"
            return text + " (or a list of house settings)" if self.kind == "houses" else text
        if self.kind == "number":
            assert self.bounds is not None
            return f"number {self.bounds[0]:g} to {self.bounds[1]:g}{self.unit_text}"
        if self.kind in ("choice", "switch"):
            assert self.choices is not None
            return " or ".join(repr(c) for c in self.choices) + self.unit_text
        if self.kind == "names":
            assert self.choices is not None
            return f"a list of {', '.join(self.choices)}"
        if self.kind == "boolean":
            return "true or false"
        if self.kind == "timezone":
            return "an IANA name such as 'Europe/Zurich'"
        if self.kind == "datetime":
            return "null or an ISO 8601 date-time such as '2026-06-21T06:00:00'"
        if self.kind == "path":
            return "null or a file path (relative paths start at the config file's folder)"
        if self.kind == "url":
            return "mqtt://host[:port] or mqtts://host[:port] (TLS)"
        if self.kind == "topic":
            return "an MQTT topic level or path without +, # or empty levels, e.g. 'leg' or 'site/leg'"
        return "a non-empty string or integer"

    def parameter(self, **overrides: Any) -> param.Parameter:
        """A ``param`` declaration of this setting (default, bounds, label, doc).

        `overrides` go to the Parameter, e.g. ``constant=True``.
        """
        common: dict[str, Any] = {"default": self.default, "doc": self.full_doc, "label": self.full_label}
        if self.kind in ("integer", "houses"):
            made: param.Parameter = param.Integer(
                bounds=_int_bounds(self.bounds), softbounds=_int_bounds(self.widget_bounds), step=None if self.step is None else int(self.step),
                **{**common, **overrides},
            )
        elif self.kind == "number":
            made = param.Number(bounds=self.bounds, softbounds=self.widget_bounds, step=self.step, **{**common, **overrides})
        elif self.kind in ("choice", "switch"):
            made = param.Selector(objects=list(self.choices or ()), **{**common, **overrides})
        elif self.kind == "boolean":
            made = param.Boolean(**{**common, **overrides})
        elif self.kind == "names":
            made = param.ListSelector(objects=list(self.choices or ()), **{**common, "default": list(self.default), **overrides})
        elif self.kind == "datetime":
            made = param.Date(allow_None=True, **{**common, **overrides})
        elif self.kind == "path":
            made = param.String(allow_None=True, **{**common, **overrides})
        else:
            made = param.String(**{**common, **overrides})
        return made


def _int_bounds(bounds: tuple[float, float] | None) -> tuple[int, int] | None:
    return None if bounds is None else (int(bounds[0]), int(bounds[1]))


#: The community's settings, top-level keys first, then sections.
SETTINGS: tuple[Setting, ...] = (
    Setting(
        "houses", "houses", 5, "Houses in the community; a list gives each house's settings (see the house keys)",
        bounds=(1, MAX_HOUSES), label="Number of houses", live=True, attr="house_count", widget_bounds=(1, 200),
    ),
    Setting(
        "update_interval_ms", "integer", 1000, "Wall-clock time between ticks",
        unit="ms", bounds=(100, 10_000), label="Update interval", live=True, step=100,
    ),
    Setting(
        "pv_variation", "switch", "enabled", "Weather from the climate with drifting clouds (enabled) or a clear sky (disabled)",
        choices=("enabled", "disabled"), label="PV variation", live=True,
    ),
    Setting(
        "flex_load_probability", "number", 0.1, "Long-run share of time a house with big appliances has at least one running",
        unit="share of time", bounds=(0.0, 0.6), label="Flex load probability", live=True, step=0.01,
    ),
    Setting("seed", "integer", 42, "Seed of all randomness: the same seed and config give the same snapshots", bounds=(0, 2**32 - 1)),
    Setting("port", "integer", 8050, "Port of the dashboard server; the PORT environment variable overrides it", bounds=(1, 65_535)),
    Setting("read_only", "boolean", False, "true hides the dashboard's controls (public display); LEG_READ_ONLY=1 does the same"),
    Setting(
        "history_seconds", "integer", 3600, "Wall-clock span of tick history kept at the fastest interval",
        unit="s", bounds=(3600, 86_400),
    ),
    Setting("location.latitude_deg", "number", 47.38, "Latitude of the community", unit="deg", bounds=(-90.0, 90.0), label="Latitude"),
    Setting("location.longitude_deg", "number", 8.54, "Longitude of the community", unit="deg", bounds=(-180.0, 180.0), label="Longitude"),
    Setting("location.altitude_m", "number", 410.0, "Height above sea level", unit="m", bounds=(-500.0, 9000.0), label="Altitude"),
    Setting("location.timezone", "timezone", "Europe/Zurich", "IANA time zone of the community; the load profile follows local time"),
    Setting(
        "weather.tmy_file", "path", None,
        "A PVGIS TMY (csv, json, epw), EPW or TMY3 file whose hourly clear-sky index drives the clouds; "
        "null = the built-in Swiss-plateau climate",
    ),
    Setting(
        "clock.mode", "choice", "realtime",
        "realtime: simulated time is the wall clock; accelerated: from clock.start at clock.speed_factor",
        choices=("realtime", "accelerated"), label="Clock mode", live=True, attr="clock_mode",
    ),
    Setting(
        "clock.start", "datetime", None,
        "First simulated instant in accelerated mode (local time without an offset); null = today 06:00 local",
    ),
    Setting(
        "clock.speed_factor", "number", 60.0, "Simulated seconds per wall-clock second in accelerated mode (60 = 1 min per s)",
        unit="simulated s per s", bounds=(0.1, 86_400.0), label="Clock speed", live=True, attr="speed_factor",
        widget_bounds=(1.0, 3600.0), presets=(1.0, 10.0, 60.0, 300.0, 600.0, 1800.0, 3600.0),
    ),
    Setting(
        "display.mode", "choice", "standard",
        "standard: controls in a side drawer; wall: no controls, the flow graph fills the screen, large numbers "
        "(a wall screen; read_only implies it; ?display=wall in the page URL chooses it per screen)",
        choices=("standard", "wall"), label="Display mode",
    ),
    Setting(
        "display.theme", "choice", "light", "Colour theme of the dashboard (?theme=dark or ?theme=light in the page URL chooses it per screen)",
        choices=("light", "dark"), label="Theme",
    ),
    Setting(
        "mqtt.enabled", "boolean", False,
        "true publishes every house as a smart meter and the community over MQTT (user and password from LEG_MQTT_USERNAME "
        "and LEG_MQTT_PASSWORD)",
    ),
    Setting("mqtt.broker", "url", "mqtt://127.0.0.1:1883", "The MQTT broker; mqtts:// connects with TLS (port 8883 unless given)"),
    Setting("mqtt.tls_ca_file", "path", None, "CA certificate file for an mqtts:// broker; null = the system's certificates"),
    Setting("mqtt.client_id", "text", "leg-sim", "MQTT client id of the simulator"),
    Setting("mqtt.topic_prefix", "topic", "leg", "Topic prefix of the community's own topics ({prefix}/status, {prefix}/community)"),
    Setting(
        "mqtt.meter_prefix", "topic", None,
        "Topic prefix of the meters' {MAC}/SENSOR topics; null = none, as the meters of a community publish them",
    ),
    Setting(
        "mqtt.publish_interval_s", "number", 10.0, "Wall-clock time between two messages of every meter and of the community",
        unit="s", bounds=(1.0, 3600.0),
    ),
    Setting(
        "mqtt.discovery_prefix", "topic", "homeassistant",
        "Home Assistant MQTT discovery prefix; the sensors of the community and of every house are announced under it",
    ),
    Setting("mqtt.discovery", "boolean", True, "Announce the sensors for Home Assistant MQTT discovery"),
    Setting(
        "mqtt.workers", "boolean", False,
        "true publishes every tick's snapshot on {topic_prefix}/engine/snapshot and takes control changes from "
        "{topic_prefix}/engine/command, for worker servers (python -m leg_sim serve --worker) that show this engine's community",
    ),
    Setting(
        "mqtt.stale_after_s", "number", 60.0,
        "A measured house (houses[].source: mqtt) with no valid message for this long is shown as stale and counts as 0 W",
        unit="s", bounds=(1.0, 86_400.0),
    ),
)

#: Keys of one entry in a ``houses:`` list; a key left out is drawn from the seed.
HOUSE_SETTINGS: tuple[Setting, ...] = (
    Setting("house_id", "text", "H001", "Unique id shown in the dashboard and the JSON; default H001, H002, ... by position"),
    Setting("pv_peak_kwp", "number", 7.0, "Installed PV DC power at STC; 0 = no PV", unit="kWp", bounds=(0.0, 100.0), label="PV peak power"),
    Setting("tilt_deg", "number", 30.0, "Roof tilt from horizontal", unit="deg", bounds=(0.0, 90.0), label="Roof tilt"),
    Setting(
        "azimuth_deg", "number", 180.0, "Direction the roof faces; 90 = east, 180 = south", unit="deg", bounds=(0.0, 360.0), label="Roof azimuth",
    ),
    Setting(
        "annual_consumption_kwh", "number", 3500.0,
        "Household electricity per year without an EV: base load and big appliances together (an EV comes on top)",
        unit="kWh/a", bounds=(100.0, 50_000.0), label="Annual consumption",
    ),
    Setting("household_size", "integer", 3, "People living in the house", unit="persons", bounds=(1, 10), label="Household size"),
    Setting("appliances", "names", ("washing_machine",), "Big appliances the house owns", choices=catalogue.NAMES, label="Appliances"),
    Setting(
        "ev_charger_kw", "choice", 11.0, "Charging power of the EV wallbox, if the house has one",
        unit="kW", choices=catalogue.EV_CHARGER_KW_CHOICES, label="Wallbox rating",
    ),
    Setting(
        "source", "choice", "model",
        "Where the house's power comes from: model = simulated; mqtt = a real meter's messages on `topic` "
        "(needs mqtt.enabled; the PV and load settings then do not apply)",
        choices=("model", "mqtt"), label="Power source",
    ),
    Setting("topic", "topic", None, "MQTT topic of the house's meter when source is mqtt, e.g. AA-11-BB-22-CC-01/SENSOR", label="Meter topic"),
    Setting(
        "format", "choice", "sensor",
        "Payload of the meter's messages: sensor = the {MAC}/SENSOR JSON (Pi, Po in kW; net power Po - Pi)",
        choices=("sensor",), label="Meter format",
    ),
)

_BY_KEY = {s.key: s for s in SETTINGS}
_HOUSE_BY_KEY = {s.key: s for s in HOUSE_SETTINGS}


def setting(key: str) -> Setting:
    """The declaration of a community config key (``clock.mode``)."""
    return _BY_KEY[key]


def house_setting(key: str) -> Setting:
    """The declaration of a per-house key (``tilt_deg``)."""
    return _HOUSE_BY_KEY[key]


def live_settings() -> tuple[Setting, ...]:
    """The settings a running simulation takes from the next tick, in display order."""
    return tuple(s for s in SETTINGS if s.live)


class ControlError(ValueError):
    """A value a dashboard control may not set; the message says what is allowed."""


def control_bounds(s: Setting, configured: Any = None) -> tuple[float, float]:
    """The range a dashboard control offers: `widget_bounds` (else `bounds`), widened to
    the value the config started with, as the widget is."""
    lo, hi = s.widget_bounds or s.bounds or (0.0, 0.0)
    if isinstance(configured, (int, float)) and not isinstance(configured, bool):
        lo, hi = min(lo, configured), max(hi, configured)
    return lo, hi


def control_presets(s: Setting, configured: Any = None) -> set[float]:
    """The values a preset slider of `s` offers: its presets and the value the config started with."""
    extra = {float(configured)} if isinstance(configured, (int, float)) and not isinstance(configured, bool) else set()
    return {float(v) for v in s.presets or ()} | extra


def control_allowed(s: Setting, configured: Any = None) -> str:
    """What a control of `s` accepts, as the message of a refused value says it."""
    lo, hi = control_bounds(s, configured)
    if s.kind in ("integer", "houses"):
        return f"integer {int(lo)} to {int(hi)}{s.unit_text}"
    if s.kind == "number" and s.presets:
        return "one of " + ", ".join(f"{v:g}" for v in sorted(control_presets(s, configured))) + s.unit_text
    if s.kind == "number":
        return f"number {lo:g} to {hi:g}{s.unit_text}"
    return s.allowed()


def control_value(s: Setting, value: Any, configured: Any = None) -> Any:
    """`value` as a dashboard control of `s` may set it, else ControlError.

    The server's own check of what a browser (or any websocket client) sends: the
    type, integer-ness and range of the widget made from the same declaration
    (:func:`control_bounds`; presets for a preset slider), whatever the page shows.
    `configured` is the value the config started with.
    """
    refused = ControlError(f"{short_value(value)} was not applied; allowed: {control_allowed(s, configured)}")
    if s.kind in ("integer", "houses", "number"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise refused
        lo, hi = control_bounds(s, configured)
        if s.kind != "number":
            if not float(value).is_integer() or not lo <= value <= hi:
                raise refused
            return int(value)
        if s.presets:
            if float(value) not in control_presets(s, configured):
                raise refused
        elif not lo <= value <= hi:
            raise refused
        return float(value)
    if s.kind in ("choice", "switch"):
        if not isinstance(value, str) or value not in (s.choices or ()):
            raise refused
        return value
    if s.kind == "boolean":
        if not isinstance(value, bool):
            raise refused
        return value
    raise refused


def short_value(value: Any, limit: int = 40) -> str:
    """A client's value for a message: its repr, cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def defaults() -> dict[str, Any]:
    """Every default as a nested dict, as it would be written in config.yaml."""
    nested: dict[str, Any] = {}
    for s in SETTINGS:
        target = nested.setdefault(s.section, {}) if s.section else nested
        target[s.key.split(".")[-1]] = s.default
    return nested


# --------------------------------------------------------------------------- generated docs


def _yaml_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_yaml_value(v) for v in value) + "]"
    return str(value)


def _table_value(value: Any) -> str:
    return f"`{_yaml_value(value)}`"


def _table_allowed(s: Setting) -> str:
    if s.kind in ("integer", "number", "houses"):
        assert s.bounds is not None
        lo, hi = (f"{int(b)}" if s.kind != "number" else f"{b:g}" for b in s.bounds)
        text = f"{lo}–{hi}".replace("-", "−") + s.unit_text
        return text + ", or a list of house settings" if s.kind == "houses" else text
    if s.kind in ("choice", "switch", "names"):
        text = ", ".join(f"`{c}`" for c in s.choices or ()) + s.unit_text
        return "a list of " + text if s.kind == "names" else text
    if s.kind == "boolean":
        return "`true`, `false`"
    if s.kind == "timezone":
        return "an IANA time zone name"
    if s.kind == "datetime":
        return "ISO 8601 date-time, or `null`"
    if s.kind in ("path", "url", "topic"):
        return s.allowed()
    return "a non-empty string or integer"


def markdown_tables() -> str:
    """The README's configuration tables: community keys, then per-house keys."""
    lines = ["| key | default | allowed | live | what it sets |", "|---|---|---|---|---|"]
    for s in SETTINGS:
        lines.append(f"| `{s.key}` | {_table_value(s.default)} | {_table_allowed(s)} | {'yes' if s.live else ''} | {s.doc} |")
    lines += ["", "Keys of one entry in a `houses:` list (each is optional; a key left out is drawn from the seed):", ""]
    lines += ["| key | allowed | what it sets |", "|---|---|---|"]
    for s in HOUSE_SETTINGS:
        lines.append(f"| `{s.key}` | {_table_allowed(s)} | {s.doc} |")
    return "\n".join(lines) + "\n"


def yaml_template(house_example: Iterable[str] = ()) -> str:
    """The shipped config.yaml: every key at its default, with its doc and range as comments."""
    out = [
        "# LEG-Simulator configuration. Every key is optional; the value shown is the default.",
        "# Units are in the key names. An invalid value stops start-up with a one-line error.",
        "# Generated from leg_sim/settings.py: python -m leg_sim settings --yaml",
        "",
    ]
    section = None
    for s in SETTINGS:
        if s.section != section:
            section = s.section
            if section:
                out += ["", f"{section}:"] if out[-1] else [f"{section}:"]
        indent = "  " if s.section else ""
        out.append(f"{indent}# {s.doc}. Allowed: {s.allowed()}.")
        if s.kind == "houses":
            out.append("# Per house: " + ", ".join(h.key for h in HOUSE_SETTINGS) + ", e.g.")
            out += [f"#   {line}" for line in house_example]
        out.append(f"{indent}{s.key.split('.')[-1]}: {_yaml_value(s.default)}")
        if not s.section:
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


#: The example of a houses: list shown in config.yaml.
HOUSE_EXAMPLE = (
    "houses:",
    "  - {house_id: Mill, pv_peak_kwp: 9.9, tilt_deg: 35, azimuth_deg: 180,",
    "     annual_consumption_kwh: 4200, household_size: 4,",
    "     appliances: [dishwasher, washing_machine, ev_wallbox], ev_charger_kw: 11}",
    "  - {house_id: Bakery}            # keys left out are drawn from the seed",
)
