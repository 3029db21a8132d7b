"""Formatting of powers, energies and shares as the dashboard shows them."""

from __future__ import annotations

import math

from leg_sim.units import format_energy, format_power, format_share


def test_power_switches_units_like_energy_dashboards():
    assert format_power(0.0) == "0 W"
    assert format_power(849.6) == "850 W"
    assert format_power(3421.0) == "3.42 kW"
    assert format_power(123_456.0) == "123 kW"
    assert format_power(1_250_000.0) == "1.25 MW"
    assert format_power(-2500.0) == "−2.50 kW"
    assert format_power(2500.0, signed=True) == "+2.50 kW"
    assert format_power(None) == format_power(math.nan) == "–"


def test_energy_and_share():
    assert format_energy(0.64) == "0.6 kWh" and format_energy(12.34) == "12.3 kWh" and format_energy(4560.0) == "4.56 MWh"
    assert format_energy(None) == "–"
    assert format_share(0.456) == "46 %" and format_share(None) == "–" and format_share(math.inf) == "–"
