"""Shared fixtures: small accelerated simulations with a fixed start, so results are reproducible."""

from __future__ import annotations

import pytest

from leg_sim import Simulation

SUMMER_NOON = "2026-06-21T12:00:00"


def make_sim(**overrides) -> Simulation:
    """An accelerated simulation starting on a summer day, overridable with any config key."""
    base = {"houses": 5, "seed": 7, "clock": {"mode": "accelerated", "start": SUMMER_NOON, "speed_factor": 60.0}}
    clock = {**base["clock"], **overrides.pop("clock", {})}
    return Simulation.from_config({**base, **overrides, "clock": clock})


@pytest.fixture
def sim() -> Simulation:
    s = make_sim()
    yield s
    s.stop()
