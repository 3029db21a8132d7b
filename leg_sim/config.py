"""Typed, validated settings for LEG-Simulator.

`config.yaml` (or a plain dict) becomes a frozen :class:`Settings`. Every key is
checked for name, type and range; the first problem raises :class:`ConfigError`
whose message is one line naming the key, the bad value and what is allowed::

    config.yaml: update_interval_ms = 50 is out of range; allowed: integer 100 to 10000 [ms]

Units live in the key names (`update_interval_ms`, `pv_peak_kwp`, `tilt_deg`).
Every optional key has a default, listed in :data:`DEFAULTS` and in the README.
This module imports neither numpy nor any UI library: it is safe to use from a
launcher that must fail fast before anything heavy loads.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import math
import os
from pathlib import Path
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

ENV_CONFIG = "LEG_CONFIG"
ENV_PORT = "PORT"
ENV_READ_ONLY = "LEG_READ_ONLY"

#: Appliance names a house may list; the cycles live in leg_sim.profiles.appliances.
APPLIANCE_NAMES = ("dishwasher", "washing_machine", "tumble_dryer", "oven", "ev_wallbox")
#: Wallbox charging powers a house may have. [kW]
EV_CHARGER_KW_CHOICES = (3.7, 7.4, 11.0)

MAX_HOUSES = 10_000


class ConfigError(ValueError):
    """A setting is missing, malformed or out of range. The message is one line."""


DEFAULTS: dict[str, Any] = {
    "houses": 5,
    "update_interval_ms": 1000,
    "pv_variation": "enabled",
    "flex_load_probability": 0.1,
    "seed": 42,
    "port": 8050,
    "read_only": False,
    "history_seconds": 3600,
    "location": {
        "latitude_deg": 47.38,
        "longitude_deg": 8.54,
        "altitude_m": 410.0,
        "timezone": "Europe/Zurich",
    },
    "clock": {
        "mode": "realtime",
        "start": None,
        "speed_factor": 60.0,
    },
}


@dataclasses.dataclass(frozen=True)
class LocationSettings:
    """Where the community is. [deg, deg, m, IANA zone name]"""

    latitude_deg: float
    longitude_deg: float
    altitude_m: float
    timezone: str


@dataclasses.dataclass(frozen=True)
class ClockSettings:
    """How simulated time runs: `realtime` or `accelerated` from `start` at `speed_factor`."""

    mode: str
    start: dt.datetime | None
    speed_factor: float


@dataclasses.dataclass(frozen=True)
class HouseSettings:
    """Per-house overrides from a `houses:` list. A None field is drawn from the seed."""

    house_id: str | None = None
    pv_peak_kwp: float | None = None
    tilt_deg: float | None = None
    azimuth_deg: float | None = None
    annual_consumption_kwh: float | None = None
    household_size: int | None = None
    appliances: tuple[str, ...] | None = None
    ev_charger_kw: float | None = None


@dataclasses.dataclass(frozen=True)
class Settings:
    """The whole validated configuration. Build it with :func:`load_config`."""

    house_count: int
    house_overrides: tuple[HouseSettings, ...]
    update_interval_ms: int
    pv_variation: str
    flex_load_probability: float
    seed: int
    port: int
    read_only: bool
    history_seconds: int
    location: LocationSettings
    clock: ClockSettings
    source: str = "<dict>"


# --------------------------------------------------------------------------- checks


def _fmt(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _key_text(name: Any) -> str:
    """A key as it may appear in a one-line message: as is when plain, else its repr."""
    text = str(name)
    return text if isinstance(name, str) and text.isprintable() and len(text) <= 60 else _fmt(name)


class _Checker:
    """Collects the source name so every error line starts the same way."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str, value: Any, problem: str, allowed: str) -> ConfigError:
        return ConfigError(f"{self.source}: {key} = {_fmt(value)} {problem}; allowed: {allowed}")

    def integer(self, key: str, value: Any, lo: int, hi: int, unit: str = "") -> int:
        allowed = f"integer {lo} to {hi}{unit}"
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and math.isfinite(value) and value.is_integer():
                value = int(value)
            else:
                raise self.fail(key, value, "is not an integer", allowed)
        if not lo <= value <= hi:
            raise self.fail(key, value, "is out of range", allowed)
        return value

    def number(self, key: str, value: Any, lo: float, hi: float, unit: str = "") -> float:
        allowed = f"number {lo:g} to {hi:g}{unit}"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, value, "is not a number", allowed)
        value = float(value)
        if not math.isfinite(value):
            raise self.fail(key, value, "is not a finite number", allowed)
        if not lo <= value <= hi:
            raise self.fail(key, value, "is out of range", allowed)
        return value

    def choice(self, key: str, value: Any, choices: tuple) -> Any:
        allowed = " or ".join(_fmt(c) for c in choices)
        if isinstance(value, bool) or value not in choices:
            raise self.fail(key, value, "is not a valid choice", allowed)
        return value

    def boolean(self, key: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, value, "is not a boolean", "true or false")
        return value

    def mapping(self, key: str, value: Any, known: Mapping[str, Any]) -> dict:
        if not isinstance(value, Mapping):
            raise self.fail(key, value, "is not a mapping", f"a mapping with keys {', '.join(known)}")
        self.no_unknown(value, known, prefix=f"{key}.")
        return dict(value)

    def no_unknown(self, given: Mapping, known: Mapping | tuple, prefix: str = "") -> None:
        for name in given:
            if not isinstance(name, str) or name not in known:
                close = difflib.get_close_matches(str(name), list(known), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigError(
                    f"{self.source}: unknown key {prefix}{_key_text(name)}{hint}; "
                    f"allowed: {', '.join(prefix + k for k in known)}"
                )


# --------------------------------------------------------------------------- parsing


def _deep_merge(base: dict, extra: Mapping) -> dict:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def _expand_dotted(overrides: Mapping[str, Any]) -> dict:
    """Turn {"clock.mode": "accelerated"} into {"clock": {"mode": "accelerated"}}."""
    nested: dict[str, Any] = {}
    for key, value in overrides.items():
        parts = str(key).split(".")
        target = nested
        for part in parts[:-1]:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise ConfigError(f"override {key}: {part} is set twice; allowed: one value per key")
        target[parts[-1]] = value
    return nested


def read_yaml(path: str | os.PathLike) -> dict:
    """Read a YAML config file into a dict, or raise a one-line ConfigError."""
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise ConfigError(f"{name}: config file not found; allowed: a path to an existing YAML file")
    if path.is_dir():
        raise ConfigError(f"{name}: is a directory; allowed: a path to a YAML file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{name}: cannot be read ({exc.__class__.__name__}); allowed: a readable UTF-8 YAML file") from None
    if not text.strip():
        raise ConfigError(f"{name}: file is empty; allowed: a YAML mapping such as 'houses: 5'")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{name}: malformed YAML{where}: {problem}; allowed: a YAML mapping of config keys") from None
    if data is None:
        raise ConfigError(f"{name}: file holds no settings; allowed: a YAML mapping such as 'houses: 5'")
    if not isinstance(data, dict):
        raise ConfigError(
            f"{name}: top level is a {type(data).__name__}, not a mapping; allowed: a YAML mapping of config keys"
        )
    return data


def _parse_start(check: _Checker, value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    allowed = "null or an ISO 8601 date-time such as '2026-06-21T06:00:00'"
    if not isinstance(value, str):
        raise check.fail("clock.start", value, "is not a date-time", allowed)
    try:
        return dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise check.fail("clock.start", value, "is not an ISO 8601 date-time", allowed) from None


def _parse_house(check: _Checker, index: int, raw: Any) -> HouseSettings:
    key = f"houses[{index}]"
    known = {f.name: None for f in dataclasses.fields(HouseSettings)}
    if not isinstance(raw, Mapping):
        raise check.fail(key, raw, "is not a mapping", f"a mapping with keys {', '.join(known)}")
    check.no_unknown(raw, known, prefix=f"{key}.")
    out: dict[str, Any] = {}
    if raw.get("house_id") is not None:
        house_id = raw["house_id"]
        if isinstance(house_id, bool) or not isinstance(house_id, (str, int)) or not str(house_id).strip():
            raise check.fail(f"{key}.house_id", house_id, "is not a valid id", "a non-empty string or integer")
        out["house_id"] = str(house_id).strip()
    ranges = {
        "pv_peak_kwp": (0.0, 100.0, " [kWp]"),
        "tilt_deg": (0.0, 90.0, " [deg]"),
        "azimuth_deg": (0.0, 360.0, " [deg, 180 = south]"),
        "annual_consumption_kwh": (100.0, 50_000.0, " [kWh/a]"),
    }
    for name, (lo, hi, unit) in ranges.items():
        if raw.get(name) is not None:
            out[name] = check.number(f"{key}.{name}", raw[name], lo, hi, unit)
    if raw.get("household_size") is not None:
        out["household_size"] = check.integer(f"{key}.household_size", raw["household_size"], 1, 10, " [persons]")
    if raw.get("appliances") is not None:
        apps = raw["appliances"]
        if not isinstance(apps, (list, tuple)):
            raise check.fail(f"{key}.appliances", apps, "is not a list", f"a list of {', '.join(APPLIANCE_NAMES)}")
        for app in apps:
            check.choice(f"{key}.appliances", app, APPLIANCE_NAMES)
        out["appliances"] = tuple(dict.fromkeys(apps))
    if raw.get("ev_charger_kw") is not None:
        value = check.number(f"{key}.ev_charger_kw", raw["ev_charger_kw"], 0.0, 50.0, " [kW]")
        out["ev_charger_kw"] = check.choice(f"{key}.ev_charger_kw", value, EV_CHARGER_KW_CHOICES)
    return HouseSettings(**out)


def load_config(source: str | os.PathLike | Mapping | None = None, **overrides: Any) -> Settings:
    """Build validated :class:`Settings`.

    Parameters
    ----------
    source
        A path to a YAML file, a dict of settings, or None for the path in the
        ``LEG_CONFIG`` environment variable (defaulting to ``config.yaml`` if
        that file exists, else the built-in defaults).
    **overrides
        Any config key, applied on top of the source. Nested keys are given as
        a dict (``clock={"mode": "accelerated"}``) or dotted
        (``**{"clock.mode": "accelerated"}``).

    Raises
    ------
    ConfigError
        With a one-line message naming the key, the bad value and what is allowed.
    """
    if source is None:
        env_path = os.environ.get(ENV_CONFIG)
        if env_path:
            source = env_path
        elif Path("config.yaml").exists():
            source = "config.yaml"
        else:
            source = {}
    if isinstance(source, Mapping):
        name, raw = "config", dict(source)
    elif isinstance(source, (str, os.PathLike)):
        name, raw = str(source), read_yaml(source)
    else:
        raise ConfigError(f"config source {_fmt(source)} is not a path or a mapping; allowed: a YAML path or a dict")
    if overrides:
        raw = _deep_merge(raw, _expand_dotted(overrides))
    return _build(_Checker(name), raw)


def _build(check: _Checker, raw: Mapping) -> Settings:
    check.no_unknown(raw, DEFAULTS)
    merged = _deep_merge(DEFAULTS, {k: v for k, v in raw.items() if k not in ("location", "clock")})
    for section in ("location", "clock"):
        given = raw.get(section, {})
        given = {} if given is None else check.mapping(section, given, DEFAULTS[section])
        merged[section] = {**DEFAULTS[section], **given}

    houses = merged["houses"]
    if isinstance(houses, list):
        if not 1 <= len(houses) <= MAX_HOUSES:
            raise check.fail("houses", f"<list of {len(houses)}>", "has the wrong length", f"1 to {MAX_HOUSES} entries")
        overrides_ = tuple(_parse_house(check, i, h) for i, h in enumerate(houses))
        ids = [h.house_id for h in overrides_ if h.house_id is not None]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise check.fail("houses[].house_id", dupes[0], "is used twice", "unique ids")
        count = len(houses)
    else:
        count = check.integer("houses", houses, 1, MAX_HOUSES, " houses (or a list of house settings)")
        overrides_ = ()

    pv_variation = merged["pv_variation"]
    if isinstance(pv_variation, bool):  # YAML reads on/off/yes/no as booleans
        pv_variation = "enabled" if pv_variation else "disabled"

    loc = merged["location"]
    timezone = loc["timezone"]
    if not isinstance(timezone, str):
        raise check.fail("location.timezone", timezone, "is not a time zone name", "an IANA name such as 'Europe/Zurich'")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise check.fail("location.timezone", timezone, "is not a known time zone", "an IANA name such as 'Europe/Zurich'") from None
    location = LocationSettings(
        latitude_deg=check.number("location.latitude_deg", loc["latitude_deg"], -90, 90, " [deg]"),
        longitude_deg=check.number("location.longitude_deg", loc["longitude_deg"], -180, 180, " [deg]"),
        altitude_m=check.number("location.altitude_m", loc["altitude_m"], -500, 9000, " [m]"),
        timezone=timezone,
    )
    clk = merged["clock"]
    clock = ClockSettings(
        mode=check.choice("clock.mode", clk["mode"], ("realtime", "accelerated")),
        start=_parse_start(check, clk["start"]),
        speed_factor=check.number("clock.speed_factor", clk["speed_factor"], 0.1, 86_400, " [simulated s per wall s]"),
    )
    return Settings(
        house_count=count,
        house_overrides=overrides_,
        update_interval_ms=check.integer("update_interval_ms", merged["update_interval_ms"], 100, 10_000, " [ms]"),
        pv_variation=check.choice("pv_variation", pv_variation, ("enabled", "disabled")),
        flex_load_probability=check.number("flex_load_probability", merged["flex_load_probability"], 0.0, 1.0),
        seed=check.integer("seed", merged["seed"], 0, 2**32 - 1),
        port=check.integer("port", merged["port"], 1, 65_535),
        read_only=check.boolean("read_only", merged["read_only"]),
        history_seconds=check.integer("history_seconds", merged["history_seconds"], 3600, 86_400, " [s]"),
        location=location,
        clock=clock,
        source=check.source,
    )


def resolve_port(settings: Settings, environ: Mapping[str, str] | None = None) -> int:
    """The server port: the PORT environment variable if set, else the config's `port`."""
    environ = os.environ if environ is None else environ
    raw = environ.get(ENV_PORT, "").strip()
    if not raw:
        return settings.port
    if not raw.isdigit() or not 1 <= int(raw) <= 65_535:
        raise ConfigError(f"environment: PORT = {raw!r} is not a valid port; allowed: integer 1 to 65535")
    return int(raw)
