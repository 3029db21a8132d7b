"""Formatting of physical quantities the way energy dashboards show them.

Pure functions, used by the dashboard and the command line alike.
"""

from __future__ import annotations

import math


def format_power(power_w: float | None, signed: bool = False) -> str:
    """Power as text: "850 W", "3.42 kW", "1.25 MW"; "–" for None or NaN.

    Parameters
    ----------
    power_w
        Power. [W]
    signed
        Show a "+" for positive values (net power).
    """
    if power_w is None or not math.isfinite(power_w):
        return "–"
    sign = "+" if signed and power_w > 0 else ("−" if power_w < 0 else "")
    value = abs(power_w)
    if value < 1000.0:
        text = f"{value:.0f} W"
    elif value < 1_000_000.0:
        text = f"{value / 1000.0:.2f} kW" if value < 100_000.0 else f"{value / 1000.0:.0f} kW"
    else:
        text = f"{value / 1e6:.2f} MW"
    return sign + text if text != "0 W" else "0 W"


def format_energy(energy_kwh: float | None) -> str:
    """Energy as text: "0.6 kWh", "12.3 kWh", "4.56 MWh"; "–" for None or NaN. [kWh in]

    One decimal of kWh, as energy dashboards and meters show counters; finer steps
    would change the text every second for no reader's benefit.
    """
    if energy_kwh is None or not math.isfinite(energy_kwh):
        return "–"
    if abs(energy_kwh) < 1000.0:
        return f"{energy_kwh:.1f} kWh"
    return f"{energy_kwh / 1000.0:.2f} MWh"


def format_share(share: float | None) -> str:
    """A ratio 0..1 as a percentage, "–" when undefined."""
    if share is None or not math.isfinite(share):
        return "–"
    return f"{share * 100.0:.0f} %"
