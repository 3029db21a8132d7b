"""Config files that try to hurt the reader: each gets the one clear line, quickly.

Oversized files, deep nesting, alias bombs, numbers with thousands of digits and
date-times the engine cannot simulate, each as a fixed case and as a Hypothesis
fuzz; also through ``python -m leg_sim check-config`` (no traceback, status 2).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leg_sim.config import MAX_CONFIG_BYTES, MAX_DEPTH, MAX_NODES, MAX_NUMBER_CHARS, YEARS, ConfigError, load_config

REPO = Path(__file__).resolve().parents[1]
#: A refused file is refused within this. [s]
REFUSE_WITHIN_S = 2.0


def alias_bomb(levels: int, fan_out: int = 10, under: str = "location:\n  timezone") -> str:
    lines = ["a0: &a0 [" + ", ".join(["x"] * fan_out) + "]"]
    for n in range(1, levels):
        lines.append(f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * fan_out) + "]")
    return "\n".join(lines) + f"\n{under}: *a{levels - 1}\n"


def refuse(tmp_path: Path, text: str, name: str = "bad.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    started = time.perf_counter()
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert time.perf_counter() - started < REFUSE_WITHIN_S
    message = str(caught.value)
    assert "\n" not in message and message.startswith(str(path)) and "allowed:" in message and len(message) < 300
    return message


CASES = {
    "long integer": ("houses: " + "9" * 5000 + "\n", "a number of 5,000 characters"),
    "long float": ("flex_load_probability: 0." + "1" * 500 + "\n", "a number of"),
    "deep list": ("houses: " + "[" * 5000 + "]" * 5000 + "\n", f"nesting deeper than {MAX_DEPTH}"),
    "deep mapping": ("".join("  " * i + f"k{i}:\n" for i in range(200)) + "  " * 200 + "x: 1\n", f"nesting deeper than {MAX_DEPTH}"),
    "alias bomb": (alias_bomb(9), f"more than {MAX_NODES:,} values"),
    "year 1": ("clock:\n  start: '0001-01-01T00:00:00'\n", "outside the years"),
    "year 9999": ("clock:\n  start: 9999-12-31T00:00:00\n", "outside the years"),
    "a date before 1971": ("clock:\n  start: 1960-05-01\n", "outside the years"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_hostile_file_gets_one_line(tmp_path, case):
    text, expected = CASES[case]
    assert expected in refuse(tmp_path, text)


def test_a_file_over_the_size_limit_is_not_read(tmp_path):
    message = refuse(tmp_path, "houses: 5\n# " + "x" * MAX_CONFIG_BYTES + "\n")
    assert f"larger than {MAX_CONFIG_BYTES:,} bytes" in message


def test_the_limits_leave_real_configs_alone(tmp_path):
    # 10,000 houses, each with its own roof, fit in the size limit.
    row = "  - {{house_id: H{n:05d}, pv_peak_kwp: 5.0, tilt_deg: 30, azimuth_deg: 180}}"
    path = tmp_path / "big-but-fine.yaml"
    path.write_text("houses:\n" + "\n".join(row.format(n=n) for n in range(10_000)) + f"\nclock:\n  start: {YEARS[1]}-06-21T12:00:00\n")
    assert path.stat().st_size < MAX_CONFIG_BYTES
    assert load_config(path).house_count == 10_000
    # Anchors and merge keys, as people write shared house settings, still work.
    path.write_text("houses:\n  - &roof {house_id: A, pv_peak_kwp: 4.0, tilt_deg: 35}\n  - {<<: *roof, house_id: B}\n")
    assert load_config(path).house_count == 2


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(levels=st.integers(1, 12), fan_out=st.integers(2, 12))
def test_alias_expansion_is_bounded_whatever_the_shape(tmp_path, levels, fan_out):
    text = alias_bomb(levels, fan_out)
    sizes = [1 + fan_out]  # each anchor's list with every alias in it expanded
    for _ in range(1, levels):
        sizes.append(1 + fan_out * sizes[-1])
    values = 1 + sum(1 + n for n in sizes) + 3 + sizes[-1]  # the mapping, its keys, location and its use
    message = refuse(tmp_path, text)
    if values > MAX_NODES:
        assert "values once its aliases are expanded" in message
    else:
        # Small enough to be read: the file is then refused for what it says, not for its size.
        assert "unknown key" in message or "time zone" in message


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(depth=st.integers(MAX_DEPTH + 1, 3000), kind=st.sampled_from(["[", "{a: "]))
def test_any_nesting_past_the_limit_is_one_line(tmp_path, depth, kind):
    close = "]" if kind == "[" else "}"
    assert "nesting" in refuse(tmp_path, "houses: " + kind * depth + "1" + close * depth + "\n")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(digits=st.integers(MAX_NUMBER_CHARS + 1, 20_000), key=st.sampled_from(["houses", "seed", "update_interval_ms"]))
def test_any_overlong_number_is_one_line(tmp_path, digits, key):
    assert "a number of" in refuse(tmp_path, f"{key}: {'7' * digits}\n")


@pytest.mark.parametrize("case", ["long integer", "deep list", "alias bomb", "year 9999"])
def test_check_config_prints_one_line_and_no_traceback(tmp_path, case):
    path = tmp_path / "bad.yaml"
    path.write_text(CASES[case][0])
    proc = subprocess.run([sys.executable, "-m", "leg_sim", "check-config", str(path)], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and proc.stderr.startswith("error: "), proc.stderr
