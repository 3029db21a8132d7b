"""Formatting of physical quantities the way energy dashboards show them: one rule everywhere.

Pure functions, used by the dashboard, the command line and the tests alike.
A :class:`Resolution` says how finely a power is shown: :data:`FINE` for figures
a reader studies (KPIs, the command line), :data:`COARSE` for labels that change
every second and must not flicker (the flow graph).
"""

from __future__ import annotations

import dataclasses
import math
from decimal import ROUND_HALF_UP, Decimal


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


def _fixed(value: float, decimals: int) -> str:
    """`value` (≥ 0) with `decimals` decimals, a tie rounded up, judged on the float's exact
    value: the digits of JavaScript's ``Number.prototype.toFixed``, so the browser can format
    the same way (:data:`FORMAT_POWER_JS`)."""
    return str(Decimal(value).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))


def format_power(power_w: float | None, signed: bool = False, resolution: Resolution = FINE) -> str:
    """Power as text: "850 W", "3.42 kW", "250 kW", "1.25 MW"; "–" for None or NaN.

    Halves round up (850 W at a 50 W step from 825 W), as :data:`FORMAT_POWER_JS` does.

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
        value = resolution.step_w * math.floor(value / resolution.step_w + 0.5)
    if value == 0.0:
        return "0 W"
    if value < 1000.0:
        text = f"{_fixed(value, 0)} W"
    elif value < 100_000.0:
        text = f"{_fixed(value / 1000.0, resolution.kw_decimals)} kW"
    elif value < 1_000_000.0:
        text = f"{_fixed(value / 1000.0, 0)} kW"
    else:
        text = f"{_fixed(value / 1e6, 2)} MW"
    sign = _MINUS if power_w < 0 else ("+" if signed else "")
    return sign + text


#: :func:`format_power` in JavaScript, step for step, for text the browser makes from powers it
#: already has (labels of the flow graph): ``formatPower(power_w, signed, step_w, kw_decimals)``.
#: Tested against the Python function in Chromium.
FORMAT_POWER_JS = f"""
function formatPower(w, signed, step, kwDecimals) {{
  if (w === null || w === undefined || !isFinite(w)) return "–";
  let v = Math.abs(w);
  if (v < 1000) v = step * Math.floor(v / step + 0.5);
  if (v === 0) return "0 W";
  let text;
  if (v < 1000) text = v.toFixed(0) + " W";
  else if (v < 100000) text = (v / 1000).toFixed(kwDecimals) + " kW";
  else if (v < 1000000) text = (v / 1000).toFixed(0) + " kW";
  else text = (v / 1e6).toFixed(2) + " MW";
  return (w < 0 ? "{_MINUS}" : (signed ? "+" : "")) + text;
}}
"""


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
