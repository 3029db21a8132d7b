"""Formatting of physical quantities the way energy dashboards show them: one rule everywhere.

Pure functions, used by the dashboard, the command line and the tests alike.
A :class:`Resolution` says how finely a power is shown: :data:`FINE` for figures
a reader studies (KPIs, the command line), :data:`COARSE` for labels that change
every second and must not flicker (the flow graph).
"""

from __future__ import annotations

import dataclasses
import math


@dataclasses.dataclass(frozen=True)
class Resolution:
    """How finely a power is shown.

    Parameters
    ----------
    step_w
        Rounding step below 1 kW. [W]
    kw_decimals
        Decimals of kW from 1 kW up to 100 kW (above: whole kW, then MW with two decimals). [-]
    """

    step_w: float
    kw_decimals: int


#: 1 W below 1 kW, 10 W from 1 kW (two decimals of kW).
FINE = Resolution(step_w=1.0, kw_decimals=2)
#: 50 W below 1 kW, 100 W from 1 kW (one decimal of kW): labels that do not flicker.
COARSE = Resolution(step_w=50.0, kw_decimals=1)

_MINUS = "−"


def format_power(power_w: float | None, signed: bool = False, resolution: Resolution = FINE) -> str:
    """Power as text: "850 W", "3.42 kW", "250 kW", "1.25 MW"; "–" for None or NaN.

    Parameters
    ----------
    power_w
        Power. [W]
    signed
        Show a "+" for positive values (net power); negative values always get "−".
    resolution
        How finely to show it (:data:`FINE` or :data:`COARSE`).
    """
    if power_w is None or not math.isfinite(power_w):
        return "–"
    value = abs(power_w)
    if value < 1000.0:
        value = resolution.step_w * round(value / resolution.step_w)
    if value == 0.0:
        return "0 W"
    if value < 1000.0:
        text = f"{value:.0f} W"
    elif value < 100_000.0:
        text = f"{value / 1000.0:.{resolution.kw_decimals}f} kW"
    elif value < 1_000_000.0:
        text = f"{value / 1000.0:.0f} kW"
    else:
        text = f"{value / 1e6:.2f} MW"
    sign = _MINUS if power_w < 0 else ("+" if signed else "")
    return sign + text


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
