"""Validated settings for LEG-Simulator: a YAML file (or a dict) becomes a frozen :class:`Settings`.

What each key means, its default and its range are declared once in
:mod:`leg_sim.settings`; this module only reads YAML and checks it against those
declarations. The first problem raises :class:`ConfigError` whose message is one
line naming the key, the bad value and what is allowed::

    config.yaml: update_interval_ms = 50 is out of range; allowed: integer 100 to 10000 [ms]

A file cannot make the reader itself fail or run away: files over
:data:`MAX_CONFIG_BYTES`, nesting deeper than :data:`MAX_DEPTH`, aliases that
would expand past :data:`MAX_NODES` values, numbers of more than
:data:`MAX_NUMBER_CHARS` characters and date-times outside the years
:data:`YEARS` the engine can simulate are refused with the same one line.

This module itself imports only yaml, param and the declarations (no numpy, no UI
library), but importing it through the package (``leg_sim/__init__``) also loads the
engine; ``python -m leg_sim check-config`` and ``serve`` still fail before Panel loads.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import math
import os
import types
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from leg_sim.settings import HOUSE_SETTINGS, MAX_HOUSES, SETTINGS, Setting, defaults

#: Largest config file read. [B]
MAX_CONFIG_BYTES = 1_000_000
#: Deepest nesting of mappings and lists (the real config needs 3).
MAX_DEPTH = 16
#: Most values a file may stand for once its aliases are expanded (10,000 houses with every
#: per-house key are about 170,000).
MAX_NODES = 500_000
#: Longest number literal. [characters]
MAX_NUMBER_CHARS = 40
#: Years a date-time may fall in: the random streams count time from 1970 (UTC), and the
#: solar and calendar models hold to 2199.
YEARS = (1971, 2199)

ENV_CONFIG = "LEG_CONFIG"
ENV_PORT = "PORT"
ENV_READ_ONLY = "LEG_READ_ONLY"
#: Set to ROLE_WORKER by `serve --worker`: the server shows an engine's community (leg_sim.server.cluster).
ENV_ROLE, ROLE_WORKER = "LEG_ROLE", "worker"

#: Every default as a nested dict (derived from leg_sim.settings).
DEFAULTS: dict[str, Any] = defaults()


class ConfigError(ValueError):
    """A setting is missing, malformed or out of range. The message is one line."""


@dataclasses.dataclass(frozen=True)
class HouseSettings:
    """Per-house overrides from a `houses:` list, by key of :data:`leg_sim.settings.HOUSE_SETTINGS`.

    A key left out reads as None (drawn from the seed): ``overrides.tilt_deg``.
    """

    values: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        if name in _HOUSE_KEYS:
            return self.values.get(name)
        raise AttributeError(name)


_HOUSE_KEYS = frozenset(s.key for s in HOUSE_SETTINGS)


@dataclasses.dataclass(frozen=True)
class Settings:
    """The whole validated configuration. Build it with :func:`load_config`.

    Every declared key has a value: ``settings["clock.mode"]``, or as attributes
    ``settings.update_interval_ms`` and ``settings.clock.mode``.
    """

    values: Mapping[str, Any]
    house_overrides: tuple[HouseSettings, ...] = ()
    source: str = "<dict>"

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    @property
    def house_count(self) -> int:
        """Number of houses (the length of a `houses:` list, or its count)."""
        return int(self.values["houses"])

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("values", {})
        if name in values:
            return values[name]
        prefix = name + "."
        section = {k[len(prefix):]: v for k, v in values.items() if k.startswith(prefix)}
        if section:
            return types.SimpleNamespace(**section)
        raise AttributeError(name)


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


def broker_address(url: Any) -> tuple[str, int, bool]:
    """(host, port, TLS) of an ``mqtt://`` or ``mqtts://`` broker URL (pure); ValueError otherwise."""
    if not isinstance(url, str):
        raise ValueError("not a string")
    parsed = urllib.parse.urlsplit(url.strip())
    if parsed.scheme not in ("mqtt", "mqtts") or not parsed.hostname or parsed.path not in ("", "/") or parsed.query or parsed.username:
        raise ValueError("not mqtt://host[:port] or mqtts://host[:port]")
    tls = parsed.scheme == "mqtts"
    port = parsed.port or (8883 if tls else 1883)  # urlsplit raises ValueError for a bad port
    return parsed.hostname, port, tls


class _Checker:
    """Checks values against their declarations; every error line starts with the source name."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str, value: Any, problem: str, allowed: str) -> ConfigError:
        return ConfigError(f"{self.source}: {key} = {_fmt(value)} {problem}; allowed: {allowed}")

    def value(self, key: str, setting: Setting, value: Any) -> Any:
        """`value` checked and converted as `setting` declares; `key` is where it was found."""
        allowed = setting.allowed()
        kind = setting.kind
        if kind in ("integer", "houses"):
            return self._integer(key, value, setting, allowed)
        if kind == "number":
            return self._number(key, value, setting, allowed)
        if kind == "switch" and isinstance(value, bool):  # YAML reads on/off/yes/no as booleans
            value = "enabled" if value else "disabled"
        if kind in ("choice", "switch"):
            choices = setting.choices or ()
            if isinstance(value, bool) or value not in choices:
                raise self.fail(key, value, "is not a valid choice", allowed)
            return float(value) if all(isinstance(c, float) for c in choices) else value
        if kind == "boolean":
            if not isinstance(value, bool):
                raise self.fail(key, value, "is not a boolean", allowed)
            return value
        if kind == "names":
            if not isinstance(value, (list, tuple)):
                raise self.fail(key, value, "is not a list", allowed)
            for item in value:
                if isinstance(item, bool) or item not in (setting.choices or ()):
                    raise self.fail(key, item, "is not a valid choice", " or ".join(repr(c) for c in setting.choices or ()))
            return tuple(dict.fromkeys(value))
        if kind == "timezone":
            return self._timezone(key, value, allowed)
        if kind == "datetime":
            return self._datetime(key, value, allowed)
        if kind == "path":
            return self._path(key, value, allowed)
        if kind == "url":
            return self._url(key, value, allowed)
        if kind == "topic":
            return self._topic(key, value, allowed)
        if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
            raise self.fail(key, value, "is not a valid id", allowed)
        return str(value).strip()

    def _integer(self, key: str, value: Any, setting: Setting, allowed: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and math.isfinite(value) and value.is_integer():
                value = int(value)
            else:
                raise self.fail(key, value, "is not an integer", allowed)
        assert setting.bounds is not None
        if not setting.bounds[0] <= value <= setting.bounds[1]:
            raise self.fail(key, value, "is out of range", allowed)
        return value

    def _number(self, key: str, value: Any, setting: Setting, allowed: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, value, "is not a number", allowed)
        value = float(value)
        if not math.isfinite(value):
            raise self.fail(key, value, "is not a finite number", allowed)
        assert setting.bounds is not None
        if not setting.bounds[0] <= value <= setting.bounds[1]:
            raise self.fail(key, value, "is out of range", allowed)
        return value

    def _timezone(self, key: str, value: Any, allowed: str) -> str:
        if not isinstance(value, str):
            raise self.fail(key, value, "is not a time zone name", allowed)
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail(key, value, "is not a known time zone", allowed) from None
        return value

    def _url(self, key: str, value: Any, allowed: str) -> str:
        try:
            broker_address(value)
        except ValueError:
            raise self.fail(key, value, "is not a broker URL", allowed) from None
        return str(value).strip()

    def _topic(self, key: str, value: Any, allowed: str) -> str | None:
        if value is None:
            return None
        text = value.strip().strip("/") if isinstance(value, str) else None
        if not text or len(text) > 200 or any(c in text for c in "+#\0") or "//" in text or not text.isprintable():
            raise self.fail(key, value, "is not a valid topic", allowed)
        return text

    def _path(self, key: str, value: Any, allowed: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, value, "is not a file path", allowed)
        path = Path(value.strip()).expanduser()
        if not path.is_absolute() and Path(self.source).is_file():
            path = Path(self.source).resolve().parent / path
        if not path.is_file():
            raise self.fail(key, value, "is not an existing file", allowed)
        return str(path)

    def _datetime(self, key: str, value: Any, allowed: str) -> dt.datetime | None:
        if value is None:
            return value
        if isinstance(value, dt.datetime):
            return self._simulatable(key, value, allowed)
        if isinstance(value, dt.date):
            return self._simulatable(key, dt.datetime(value.year, value.month, value.day), allowed)
        if not isinstance(value, str):
            raise self.fail(key, value, "is not a date-time", allowed)
        try:
            parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise self.fail(key, value, "is not an ISO 8601 date-time", allowed) from None
        return self._simulatable(key, parsed, allowed)

    def _simulatable(self, key: str, value: dt.datetime, allowed: str) -> dt.datetime:
        if not YEARS[0] <= value.year <= YEARS[1]:
            raise self.fail(key, value.isoformat(), "is outside the years the simulation covers", f"{allowed}, in the years {YEARS[0]} to {YEARS[1]}")
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


class _FileTooBigError(Exception):
    """The YAML document goes past one of the reader's limits; the message says which."""


class _LimitedLoader(yaml.SafeLoader):
    """PyYAML's safe loader with limits on nesting, alias expansion and number length."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise _FileTooBigError(f"nesting deeper than {MAX_DEPTH} levels at line {mark.line + 1}")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_document(self) -> Any:
        node = super().compose_document()
        if expanded_size(node) > MAX_NODES:
            raise _FileTooBigError(f"more than {MAX_NODES:,} values once its aliases are expanded")
        return node

    def construct_yaml_int(self, node: Any) -> int:
        _short_number(node)
        return super().construct_yaml_int(node)

    def construct_yaml_float(self, node: Any) -> float:
        _short_number(node)
        return super().construct_yaml_float(node)


def _short_number(node: Any) -> None:
    if len(node.value) > MAX_NUMBER_CHARS:
        raise _FileTooBigError(f"a number of {len(node.value):,} characters at line {node.start_mark.line + 1} (at most {MAX_NUMBER_CHARS})")


_LimitedLoader.add_constructor("tag:yaml.org,2002:int", _LimitedLoader.construct_yaml_int)
_LimitedLoader.add_constructor("tag:yaml.org,2002:float", _LimitedLoader.construct_yaml_float)


def expanded_size(node: Any) -> int:
    """How many values a composed YAML node stands for with every alias expanded
    (a shared node counts each time it is used). Iterative and memoised: O(distinct nodes)."""
    sizes: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(node, False)]
    while stack:
        current, children_done = stack.pop()
        if id(current) in sizes:
            continue
        children = _children(current)
        if children_done or not children:
            sizes[id(current)] = min(1 + sum(sizes[id(c)] for c in children), MAX_NODES + 1)
        else:
            stack.append((current, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(node)]


def _children(node: Any) -> list:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def read_yaml(path: str | os.PathLike) -> dict:
    """Read a YAML config file into a dict, or raise a one-line ConfigError."""
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise ConfigError(f"{name}: config file not found; allowed: a path to an existing YAML file")
    if path.is_dir():
        raise ConfigError(f"{name}: is a directory; allowed: a path to a YAML file")
    too_big = f"{name}: file is larger than {MAX_CONFIG_BYTES:,} bytes; allowed: a config file of at most {MAX_CONFIG_BYTES:,} bytes"
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
        if len(raw) > MAX_CONFIG_BYTES:
            raise ConfigError(too_big)
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{name}: cannot be read ({exc.__class__.__name__}); allowed: a readable UTF-8 YAML file") from None
    if not text.strip():
        raise ConfigError(f"{name}: file is empty; allowed: a YAML mapping such as 'houses: 5'")
    try:
        data = yaml.load(text, Loader=_LimitedLoader)  # a SafeLoader with limits
    except _FileTooBigError as exc:
        raise ConfigError(f"{name}: {exc}; allowed: a plain YAML mapping of config keys") from None
    except RecursionError:
        raise ConfigError(f"{name}: nesting too deep; allowed: at most {MAX_DEPTH} levels") from None
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
    sections = {s.section for s in SETTINGS if s.section}
    top = {s.key: None for s in SETTINGS if not s.section} | dict.fromkeys(sorted(sections))
    check.no_unknown(raw, top)
    given: dict[str, Any] = {k: v for k, v in raw.items() if k not in sections}
    for section in sorted(sections):
        known = {s.key.split(".", 1)[1]: None for s in SETTINGS if s.section == section}
        value = raw.get(section)
        if value is not None:
            given.update({f"{section}.{k}": v for k, v in check.mapping(section, value, known).items()})
    values: dict[str, Any] = {}
    house_overrides: tuple[HouseSettings, ...] = ()
    for setting in SETTINGS:
        if setting.key not in given:
            values[setting.key] = setting.default
        elif setting.kind == "houses" and isinstance(given[setting.key], list):
            house_overrides = _parse_houses(check, given[setting.key])
            values[setting.key] = len(house_overrides)
        else:
            values[setting.key] = check.value(setting.key, setting, given[setting.key])
    _check_measured_houses(check, house_overrides, bool(values["mqtt.enabled"]))
    return Settings(values=values, house_overrides=house_overrides, source=check.source)


def _check_measured_houses(check: _Checker, houses: tuple[HouseSettings, ...], mqtt_enabled: bool) -> None:
    """A house with ``source: mqtt`` needs its own topic and the MQTT link."""
    topics: dict[str, int] = {}
    for index, house in enumerate(houses):
        if house.source != "mqtt":
            continue
        if house.topic is None:
            raise check.fail(f"houses[{index}].topic", None, "is missing for source mqtt", "the MQTT topic of the house's meter")
        if not mqtt_enabled:
            raise check.fail(f"houses[{index}].source", "mqtt", "needs the MQTT link", "model, or set mqtt.enabled: true")
        if house.topic in topics:
            raise check.fail(f"houses[{index}].topic", house.topic, f"is already the topic of houses[{topics[house.topic]}]", "one topic per house")
        topics[house.topic] = index


def _parse_houses(check: _Checker, houses: list) -> tuple[HouseSettings, ...]:
    if not 1 <= len(houses) <= MAX_HOUSES:
        raise check.fail("houses", f"<list of {len(houses)}>", "has the wrong length", f"1 to {MAX_HOUSES} entries")
    parsed = tuple(_parse_house(check, i, h) for i, h in enumerate(houses))
    ids = [h.house_id for h in parsed if h.house_id is not None]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise check.fail("houses[].house_id", dupes[0], "is used twice", "unique ids")
    return parsed


def _parse_house(check: _Checker, index: int, raw: Any) -> HouseSettings:
    key = f"houses[{index}]"
    known = {s.key: None for s in HOUSE_SETTINGS}
    if not isinstance(raw, Mapping):
        raise check.fail(key, raw, "is not a mapping", f"a mapping with keys {', '.join(known)}")
    check.no_unknown(raw, known, prefix=f"{key}.")
    values = {
        s.key: check.value(f"{key}.{s.key}", s, raw[s.key]) for s in HOUSE_SETTINGS if raw.get(s.key) is not None
    }
    return HouseSettings(values)


def resolve_port(settings: Settings, environ: Mapping[str, str] | None = None) -> int:
    """The server port: the PORT environment variable if set, else the config's `port`."""
    environ = os.environ if environ is None else environ
    raw = environ.get(ENV_PORT, "").strip()
    if not raw:
        return settings.port
    if not raw.isdigit() or not 1 <= int(raw) <= 65_535:
        raise ConfigError(f"environment: PORT = {raw!r} is not a valid port; allowed: integer 1 to 65535")
    return int(raw)
