"""Config loading: defaults, overrides, and one clear line for each kind of bad input."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from leg_sim.config import ConfigError, load_config, resolve_port

REPO = Path(__file__).resolve().parents[1]


def test_repository_config_is_valid_and_has_the_spec_defaults():
    s = load_config(REPO / "config.yaml")
    assert s.house_count == 5
    assert s.update_interval_ms == 1000
    assert s.pv_variation == "enabled"
    assert s.flex_load_probability == 0.1
    assert s.port == 8050


def test_empty_dict_gives_defaults():
    s = load_config({})
    assert (s.house_count, s.seed, s.clock.mode, s.location.timezone) == (5, 42, "realtime", "Europe/Zurich")


def test_overrides_nested_and_dotted():
    s = load_config({"houses": 3}, houses=9, clock={"mode": "accelerated"}, **{"clock.speed_factor": 120})
    assert s.house_count == 9 and s.clock.mode == "accelerated" and s.clock.speed_factor == 120.0


def test_house_list_with_partial_settings():
    s = load_config({"houses": [{"house_id": "Mill", "pv_peak_kwp": 9.9, "appliances": ["ev_wallbox"]}, {}]})
    assert s.house_count == 2
    assert s.house_overrides[0].house_id == "Mill"
    assert s.house_overrides[0].appliances == ("ev_wallbox",)
    assert s.house_overrides[1].pv_peak_kwp is None


def test_start_accepts_yaml_datetime_and_string(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("clock:\n  mode: accelerated\n  start: 2026-06-21T06:00:00\n")
    assert load_config(p).clock.start == dt.datetime(2026, 6, 21, 6, 0)
    assert load_config({"clock": {"start": "2026-06-21T06:00:00+02:00"}}).clock.start.utcoffset() == dt.timedelta(hours=2)


def test_yaml_booleans_for_pv_variation(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("pv_variation: off\n")
    assert load_config(p).pv_variation == "disabled"


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ({"update_interval_ms": 50}, ["update_interval_ms", "50", "out of range", "100 to 10000"]),
        ({"update_interval_ms": "fast"}, ["update_interval_ms", "'fast'", "not an integer"]),
        ({"houses": 0}, ["houses", "0", "out of range"]),
        ({"houses": True}, ["houses", "True", "not an integer"]),
        ({"houses": 2.5}, ["houses", "2.5", "not an integer"]),
        ({"pv_variation": "sometimes"}, ["pv_variation", "'sometimes'", "'enabled' or 'disabled'"]),
        ({"flex_load_probability": 1.5}, ["flex_load_probability", "1.5", "0 to 0.6"]),
        ({"flex_load_probability": float("nan")}, ["flex_load_probability", "not a finite number"]),
        ({"port": 70000}, ["port", "70000", "1 to 65535"]),
        ({"read_only": "yes please"}, ["read_only", "true or false"]),
        ({"seed": -1}, ["seed", "-1"]),
        ({"houzes": 5}, ["unknown key houzes", "did you mean 'houses'"]),
        ({"clock": {"mode": "warp"}}, ["clock.mode", "'warp'", "'realtime' or 'accelerated'"]),
        ({"clock": {"speed": 2}}, ["unknown key clock.speed"]),
        ({"clock": {"start": "tomorrow"}}, ["clock.start", "ISO 8601"]),
        ({"clock": {"speed_factor": 0}}, ["clock.speed_factor", "out of range"]),
        ({"clock": "fast"}, ["clock", "not a mapping"]),
        ({"location": {"latitude_deg": 123}}, ["location.latitude_deg", "123", "-90 to 90"]),
        ({"location": {"timezone": "Mars/Base"}}, ["location.timezone", "'Mars/Base'", "IANA"]),
        ({"houses": [{"tilt_deg": 95}]}, ["houses[0].tilt_deg", "95", "0 to 90"]),
        ({"houses": [{"colour": "red"}]}, ["unknown key houses[0].colour"]),
        ({"houses": [{"appliances": ["sauna"]}]}, ["houses[0].appliances", "'sauna'", "dishwasher"]),
        ({"houses": [{"ev_charger_kw": 5}]}, ["houses[0].ev_charger_kw", "3.7"]),
        ({"houses": [{"source": "meter"}]}, ["houses[0].source", "'meter'", "'mqtt'"]),
        ({"mqtt": {"enabled": True}, "houses": [{"source": "mqtt"}]}, ["houses[0].topic", "is missing"]),
        ({"houses": [{"source": "mqtt", "topic": "a/SENSOR"}]}, ["houses[0].source", "mqtt.enabled: true"]),
        ({"mqtt": {"enabled": True}, "houses": [{"source": "mqtt", "topic": "+/SENSOR"}]}, ["houses[0].topic", "not a valid topic"]),
        (
            {"mqtt": {"enabled": True}, "houses": [{"source": "mqtt", "topic": "a/SENSOR"}, {"source": "mqtt", "topic": "a/SENSOR"}]},
            ["houses[1].topic", "already the topic of houses[0]"],
        ),
        ({"mqtt": {"enabled": True}, "houses": [{"source": "mqtt", "topic": "a/SENSOR", "format": "csv"}]}, ["houses[0].format", "'sensor'"]),
        ({"houses": [{"house_id": "A"}, {"house_id": "A"}]}, ["house_id", "'A'", "used twice"]),
        ({"houses": []}, ["houses", "1 to 10000 entries"]),
        ({"history_seconds": 10}, ["history_seconds", "3600 to 86400"]),
    ],
)
def test_bad_values_give_one_line_naming_key_value_and_allowed(raw, words):
    with pytest.raises(ConfigError) as info:
        load_config(raw)
    message = str(info.value)
    assert "\n" not in message
    assert "allowed:" in message
    for word in words:
        assert word in message


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", ["file is empty"]),
        ("# only a comment\n", ["holds no settings"]),
        ("houses: [1, 2\n", ["malformed YAML", "line"]),
        ("- 1\n- 2\n", ["top level is a list"]),
        ("houses: 5\n\tbad: tab\n", ["malformed YAML"]),
    ],
)
def test_bad_files_give_one_line(tmp_path, text, words):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(p)
    assert "\n" not in str(info.value) and str(p) in str(info.value)
    for word in words:
        assert word in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_port_env_overrides_config():
    s = load_config({"port": 9000})
    assert resolve_port(s, {}) == 9000
    assert resolve_port(s, {"PORT": "8123"}) == 8123
    with pytest.raises(ConfigError, match="PORT"):
        resolve_port(s, {"PORT": "eighty"})


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("houses: -3\n", ["houses", "-3", "out of range"]),
        ("update_interval_ms: [1]\n", ["update_interval_ms", "not an integer"]),
        ("speed: 3\n", ["unknown key speed"]),
        ("houses: 'unclosed\n", ["malformed YAML"]),
    ],
)
def test_cli_exits_non_zero_with_one_line_and_no_traceback(tmp_path, text, words):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    proc = subprocess.run(
        [sys.executable, "-m", "leg_sim", "check-config", str(p)], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for word in words:
        assert word in lines[0]


def test_cli_missing_file_and_good_file(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "leg_sim", "check-config", str(tmp_path / "none.yaml")], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert proc.returncode == 2 and "not found" in proc.stderr and "Traceback" not in proc.stderr
    ok = subprocess.run([sys.executable, "-m", "leg_sim", "check-config", "config.yaml"], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert ok.returncode == 0 and "ok" in ok.stdout
