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

The other way in, a house of the ``houses:`` list with ``source: mqtt`` takes its
power from a real meter's messages: :func:`read_sensor_message` reads one,
:class:`MeterInbox` keeps the latest valid one per topic (thread-safe) and says
how old it is; the engine reads it every tick.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

log = logging.getLogger("leg_sim.meters")

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


# --------------------------------------------------------------------------- real meters in

#: Most power a house connection carries: three phases of 400 A at 230 V (a large
#: residential or farm connection; ordinary houses have 3 × 25–63 A). A message
#: saying more is out of range. [kW]
MAX_CONNECTION_KW = 3 * 400 * PHASE_VOLTAGE_V / 1000.0
#: Longest meter message taken; a ``{MAC}/SENSOR`` message is about 150 bytes. [bytes]
MAX_MESSAGE_BYTES = 4096
#: Why a message was rejected (the label of its count).
REJECT_REASONS = ("too large", "not JSON", "not an object", "bad power", "out of range", "bad time", "out of order")
#: Least time between two log lines about rejected messages of one topic. [s]
REJECT_LOG_EVERY_S = 60.0


class MeterMessageError(ValueError):
    """A meter message that does not reach the balance; `reason` is one of :data:`REJECT_REASONS`."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def read_sensor_message(payload: bytes | bytearray) -> tuple[float, float | None]:
    """(net power [W], time of the reading [s since epoch] or None) of a ``{MAC}/SENSOR``
    message (pure). Net power is ``Po − Pi``: > 0 delivers. Raises :class:`MeterMessageError`
    for a message too large, not a JSON object, without valid ``Pi``/``Po``, with a power
    above :data:`MAX_CONNECTION_KW`, or with a ``ts`` that is not a time."""
    if len(payload) > MAX_MESSAGE_BYTES:
        raise MeterMessageError("too large", f"{len(payload)} bytes, at most {MAX_MESSAGE_BYTES}")
    try:
        message = json.loads(payload)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise MeterMessageError("not JSON", str(exc)[:80]) from None
    if not isinstance(message, dict):
        raise MeterMessageError("not an object", f"a JSON {type(message).__name__}")
    try:
        net_w = net_power_w(message)
    except ValueError as exc:
        raise MeterMessageError("bad power", str(exc)[:80]) from None
    for key in ("Pi", "Po"):
        if message[key] > MAX_CONNECTION_KW:
            raise MeterMessageError("out of range", f"{key} = {message[key]} kW, at most {MAX_CONNECTION_KW:g} kW")
    ts = message.get("ts")
    if ts is None:
        return net_w, None
    if isinstance(ts, bool) or not isinstance(ts, (int, float)) or not math.isfinite(ts) or not 0 <= ts < 2**33:
        raise MeterMessageError("bad time", f"ts = {str(ts)[:40]!r} is not seconds since 1970")
    return net_w, float(ts)


@dataclasses.dataclass(frozen=True)
class MeterReadings:
    """What the inbox holds for some measured houses at one moment, one entry per house."""

    net_power_w: np.ndarray  #: their net power as counted: 0 when stale [W]
    age_s: np.ndarray  #: time since their last valid message; NaN when none came yet [s]
    stale: np.ndarray  #: True when no valid message came for ``stale_after_s``


class MeterInbox:
    """The latest valid message of every measured house's topic, safe to use from any thread.

    The MQTT link's thread calls :meth:`receive` for each message; the engine reads
    :meth:`readings` once per tick. A message that is malformed, out of range or older
    than the last one taken (by its ``ts``) is counted by reason and logged (at most
    once per :data:`REJECT_LOG_EVERY_S` and topic) and changes nothing. A house whose
    last valid message is older than `stale_after_s` (or that has none) is stale: it
    counts as 0 W.
    """

    def __init__(self, stale_after_s: float, clock: Callable[[], float] = time.monotonic):
        self.stale_after_s = float(stale_after_s)
        self._clock = clock
        self._lock = threading.Lock()
        self._latest: dict[str, tuple[float, float, float | None]] = {}  # topic -> (net W, received at, ts)
        self._logged_at: dict[str, float] = {}
        self._unlogged: dict[str, int] = {}
        #: Messages taken, and rejected by reason, since start.
        self.accepted = 0
        self.rejected: dict[str, int] = dict.fromkeys(REJECT_REASONS, 0)

    def receive(self, topic: str, payload: bytes | bytearray) -> str | None:
        """Take one message of `topic`; the reason it was rejected, or None when taken."""
        now_s = self._clock()
        try:
            net_w, ts = read_sensor_message(payload)
        except MeterMessageError as exc:
            self._reject(topic, exc, now_s)
            return exc.reason
        with self._lock:
            last = self._latest.get(topic)
            if ts is not None and last is not None and last[2] is not None and ts <= last[2]:
                rejected: MeterMessageError | None = MeterMessageError("out of order", f"ts {ts:.0f} is not after the last one taken, {last[2]:.0f}")
            else:
                rejected = None
                self._latest[topic] = (net_w, now_s, ts)
                self.accepted += 1
        if rejected is not None:
            self._reject(topic, rejected, now_s)
            return rejected.reason
        return None

    def _reject(self, topic: str, exc: MeterMessageError, now_s: float) -> None:
        with self._lock:
            self.rejected[exc.reason] += 1
            if now_s - self._logged_at.get(topic, -math.inf) < REJECT_LOG_EVERY_S:
                self._unlogged[topic] = self._unlogged.get(topic, 0) + 1
                return
            self._logged_at[topic] = now_s
            more = self._unlogged.pop(topic, 0)
        also = f" ({more} more rejected since the last report)" if more else ""
        log.warning("meter %s: message rejected, %s%s", topic[:120], exc, also)

    def readings(self, topics: Sequence[str]) -> MeterReadings:
        """Net power, data age and staleness of each of `topics` now."""
        now_s = self._clock()
        with self._lock:
            latest = [self._latest.get(t) for t in topics]
        net = np.array([0.0 if m is None else m[0] for m in latest])
        age = np.array([math.nan if m is None else now_s - m[1] for m in latest])
        stale = ~(age < self.stale_after_s)  # NaN (never heard) is stale too
        net[stale] = 0.0
        return MeterReadings(net_power_w=net, age_s=age, stale=stale)

    def counts(self) -> dict[str, Any]:
        """Messages taken and rejected (by reason), for health and metrics."""
        with self._lock:
            return {"accepted": self.accepted, "rejected": dict(self.rejected)}
