"""Bad input never gets further than one clear line: every config key, fuzzed configs, widgets."""

from __future__ import annotations

import string

import pytest
import yaml
from conftest import make_sim
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leg_sim.config import DEFAULTS, ConfigError, load_config
from leg_sim.ui.controls import CONTROLLED, Controls
from leg_sim.ui.readmodel import ReadModel

#: Every scalar key with a value of the wrong type and one out of range (None: no range).
KEYS = {
    "houses": ("five", 0),
    "update_interval_ms": ("fast", 99),
    "pv_variation": (3, "cloudy"),
    "flex_load_probability": ("often", -0.1),
    "seed": ("abc", 2**33),
    "port": ("http", 0),
    "read_only": ("no way", None),
    "history_seconds": ([1], 60),
    "location.latitude_deg": ("north", 91),
    "location.longitude_deg": ("west", -181),
    "location.altitude_m": ("high", 10_000),
    "location.timezone": (5, "Nowhere/City"),
    "clock.mode": (1, "turbo"),
    "clock.start": (12, "21/06/2026"),
    "clock.speed_factor": ("x", 1e9),
    "weather.tmy_file": (5, "no-such-tmy.epw"),
    "display.mode": (2, "kiosk"),
    "display.theme": (True, "purple"),
    "mqtt.enabled": ("yes please", None),
    "mqtt.broker": (1883, "http://broker.example"),
    "mqtt.tls_ca_file": (5, "no-such-ca.pem"),
    "mqtt.client_id": ([1], None),
    "mqtt.topic_prefix": (5, "a/#"),
    "mqtt.meter_prefix": (True, "a//b"),
    "mqtt.publish_interval_s": ("often", 0.5),
    "mqtt.discovery_prefix": ({"a": 1}, "home+assistant"),
    "mqtt.discovery": ("sure", None),
    "mqtt.stale_after_s": ("soon", 0.5),
    "mqtt.workers": ("yes please", None),
}


def nested(key, value):
    if "." in key:
        section, name = key.split(".")
        return {section: {name: value}}
    return {key: value}


def test_every_key_is_covered():
    flat = {k for k, v in DEFAULTS.items() if not isinstance(v, dict)}
    flat |= {f"{s}.{k}" for s, v in DEFAULTS.items() if isinstance(v, dict) for k in v}
    assert flat == set(KEYS)


CASES = [(key, value) for key in sorted(KEYS) for value in KEYS[key] if value is not None]  # read_only has no range


@pytest.mark.parametrize(("key", "value"), CASES)
def test_each_key_rejects_wrong_types_and_out_of_range_values(key, value, tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(nested(key, value)))
    with pytest.raises(ConfigError) as info:
        load_config(p)
    message = str(info.value)
    assert "\n" not in message and key.split(".")[-1] in message and "allowed:" in message


@pytest.mark.parametrize("key", sorted(KEYS))
def test_each_section_rejects_unknown_names(key):
    section = key.split(".")[0] if "." in key else None
    raw = {section: {"bogus_key": 1}} if section else {"bogus_key": 1}
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(raw)


def _config_error(source) -> str | None:
    """The ConfigError message for `source`, or None if it is valid; any other exception fails the test."""
    try:
        load_config(source)
    except ConfigError as exc:
        return str(exc)
    return None


yaml_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(allow_nan=True, allow_infinity=True),
    st.text(string.printable, max_size=20),
)
yaml_values = st.recursive(
    yaml_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12
)
config_keys = st.sampled_from([*sorted(DEFAULTS), "bogus", "houses", "clock", "location"])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(config_keys, yaml_values, max_size=6))
def test_fuzzed_config_dicts_only_ever_raise_config_error(raw):
    message = _config_error(raw)
    assert message is None or "\n" not in message


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_fuzzed_yaml_text_only_ever_raises_config_error(tmp_path_factory, text):
    p = tmp_path_factory.mktemp("fz") / "c.yaml"
    p.write_text(text, encoding="utf-8")
    message = _config_error(p)
    assert message is None or "\n" not in message


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("house_count", 0), ("house_count", 10_001), ("update_interval_ms", 50), ("update_interval_ms", 20_000),
        ("flex_load_probability", 1.5), ("flex_load_probability", -0.2), ("speed_factor", 0.0), ("speed_factor", 1e9),
        ("pv_variation", "sometimes"), ("clock_mode", "warp"),
    ],
)
def test_out_of_bounds_widget_values_are_rejected_and_lose_nothing(name, bad):
    sim = make_sim()
    before = getattr(sim, name)
    controls = Controls(reader=ReadModel(sim), target=sim)
    controls._from_widget(name, bad)
    assert getattr(sim, name) == before
    assert "not applied" in controls.message.object and "allowed" in controls.message.object
    assert controls.widgets[name].value == before
    assert name in CONTROLLED
    assert sim.step().tick == 1  # the simulation still ticks
