"""Each house as a smart meter: its address, its meter number and its ``{MAC}/SENSOR`` message (pure).

The smart-meter gateways of a local electricity community publish every meter
on the MQTT topic ``{MAC}/SENSOR`` with a JSON payload (the format of the LEG
smart-meter simulator and invoicing collector, SensorsIot/LEG-Software,
``leg-mqtt-simulator`` functional specification, section 9):

========  ===========================================================  ====
``SMid``  meter number                                                  text
``Pi``    power drawn at the connection now                             kW
``Po``    power delivered at the connection now                         kW
``I1``..  phase currents                                                A
``Ei``    energy drawn since the meter started, never decreasing        kWh
``Eo``    energy delivered since the meter started, never decreasing    kWh
``Q5``..  reactive energy counters (quadrants I–IV)                     kvarh
``ts``    time of the reading, whole seconds                            s
========  ===========================================================  ====

Here ``Pi``/``Po`` are the house's net power split by its sign, ``Ei``/``Eo``
its :class:`~leg_sim.model.HouseMeters` readings. The simulation has no
phases and no reactive power: the currents are those of the net power spread
evenly over three phases at :data:`PHASE_VOLTAGE_V` with a power factor of 1,
and the reactive counters stay 0. ``ts`` is the simulated time (seconds since
the epoch).

A house's address is stable: derived from the seed and its id, a locally
administered unicast MAC (first octet ``02``) written like the meters'
``AA-11-BB-22-CC-01``; its meter number is eight digits from the same hash.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

#: Line-to-neutral voltage for the phase currents. [V]
PHASE_VOLTAGE_V = 230.0
PHASES = 3
#: Suffix of a meter's topic.
SENSOR_SUFFIX = "SENSOR"


def _digest(seed: int, house_id: str) -> bytes:
    return hashlib.sha256(f"leg-meter:{seed}:{house_id}".encode()).digest()


def meter_address(seed: int, house_id: str) -> str:
    """The house's MAC-like address, e.g. ``02-5F-1A-9C-33-07`` (stable for a seed and id)."""
    tail = _digest(seed, house_id)[:5]
    return "-".join(f"{b:02X}" for b in (0x02, *tail))


def meter_number(seed: int, house_id: str) -> str:
    """The house's eight-digit meter number (``SMid``), stable for a seed and id."""
    return f"{int.from_bytes(_digest(seed, house_id)[5:9], 'big') % 100_000_000:08d}"


def sensor_topic(address: str, prefix: str = "") -> str:
    """The meter's topic: ``{MAC}/SENSOR``, under `prefix` when one is given."""
    topic = f"{address}/{SENSOR_SUFFIX}"
    return f"{prefix.rstrip('/')}/{topic}" if prefix else topic


def phase_current_a(net_power_w: float) -> float:
    """Current per phase of |net power| spread evenly over three phases, power factor 1. [A]"""
    return abs(net_power_w) / (PHASES * PHASE_VOLTAGE_V)


def sensor_payload(meter: str, net_power_w: float, import_kwh: float, export_kwh: float, time_s: float) -> dict[str, Any]:
    """The ``{MAC}/SENSOR`` message of one house (see the module docstring).

    Parameters
    ----------
    meter
        Meter number (``SMid``).
    net_power_w
        The house's net power: > 0 delivers, < 0 draws. [W]
    import_kwh, export_kwh
        Its meter readings. [kWh]
    time_s
        Simulated time of the reading. [s since epoch]
    """
    if not all(math.isfinite(x) for x in (net_power_w, import_kwh, export_kwh, time_s)):
        raise ValueError("a meter reading must be finite")
    current = round(phase_current_a(net_power_w), 3)
    return {
        "SMid": meter,
        "Pi": round(max(-net_power_w, 0.0) / 1000.0, 3),
        "Po": round(max(net_power_w, 0.0) / 1000.0, 3),
        "I1": current,
        "I2": current,
        "I3": current,
        "Ei": round(import_kwh, 3),
        "Eo": round(export_kwh, 3),
        "Q5": 0.0,
        "Q6": 0.0,
        "Q7": 0.0,
        "Q8": 0.0,
        "ts": int(time_s),
    }


def net_power_w(payload: dict[str, Any]) -> float:
    """The net power a ``{MAC}/SENSOR`` message says: (Po − Pi) in W, > 0 delivers (pure);
    ValueError when ``Pi`` or ``Po`` is missing, not a number, negative or not finite."""
    values = []
    for key in ("Pi", "Po"):
        value = payload.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ValueError(f"{key} must be a finite number >= 0 [kW], got {value!r}")
        values.append(float(value))
    return (values[1] - values[0]) * 1000.0
