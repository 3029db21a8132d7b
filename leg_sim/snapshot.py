"""The immutable snapshot of one tick, and its JSON form.

A :class:`Snapshot` is what every consumer reads: the dashboard's views, the
JSON routes, the history and any future link to the outside. It is frozen and
its arrays are read-only, so one snapshot can be shared by every session and
thread without copying. Its JSON document (:meth:`Snapshot.to_dict`) uses the
field names of the README; :meth:`Snapshot.to_json` builds the bytes once per
snapshot, however many clients ask.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import json
import math
import time as wall_clock
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from leg_sim import catalogue
from leg_sim import flows as fl
from leg_sim.model import Instant


def _frozen(a: np.ndarray, dtype: type = float) -> np.ndarray:
    a = np.asarray(a, dtype=dtype)
    a.flags.writeable = False
    return a


def json_float(x: float | None) -> float | None:
    """A float for JSON: None for None, NaN or infinity (JSON has no NaN)."""
    return None if x is None or not math.isfinite(x) else float(x)


@dataclasses.dataclass(frozen=True, eq=False)
class Snapshot:
    """Everything about one tick. Arrays are read-only; one entry per house. Powers in W."""

    tick: int
    timestamp: pd.Timestamp
    dt_s: float
    wall_time_s: float
    sun_elevation_deg: float
    cloudiness: float
    temp_air_c: float
    house_ids: tuple[str, ...]
    pv_power_w: np.ndarray
    base_load_w: np.ndarray
    flex_load_w: np.ndarray
    flex_code: np.ndarray
    consumption_w: np.ndarray
    net_power_w: np.ndarray
    export_local_w: np.ndarray
    export_grid_w: np.ndarray
    import_local_w: np.ndarray
    import_grid_w: np.ndarray
    total_production_w: float
    total_consumption_w: float
    net_community_power_w: float
    shared_w: float
    grid_import_w: float
    grid_export_w: float
    self_sufficiency: float | None
    self_consumption: float | None
    energy_kwh: Mapping[str, float]
    #: Each house's meter readings since start: energy drawn and delivered at its connection. [kWh]
    meter_import_kwh: np.ndarray = dataclasses.field(default_factory=lambda: _frozen(np.zeros(0)))
    meter_export_kwh: np.ndarray = dataclasses.field(default_factory=lambda: _frozen(np.zeros(0)))
    #: Houses whose power a real meter gives (``source: mqtt``); the age of its latest valid
    #: message (NaN: none yet, or a simulated house) [s]; measured houses counted as 0 W for silence.
    measured: np.ndarray = dataclasses.field(default_factory=lambda: _frozen(np.zeros(0, dtype=bool), bool))
    data_age_s: np.ndarray = dataclasses.field(default_factory=lambda: _frozen(np.zeros(0)))
    stale: np.ndarray = dataclasses.field(default_factory=lambda: _frozen(np.zeros(0, dtype=bool), bool))

    @classmethod
    def from_instant(cls, tick: int, instant: Instant, wall_time_s: float | None = None) -> Snapshot:
        """Freeze what the chain computed for one instant as tick number `tick`."""
        f = instant.flows
        return cls(
            tick=tick,
            timestamp=instant.time,
            dt_s=instant.dt_s,
            wall_time_s=wall_clock.time() if wall_time_s is None else wall_time_s,
            sun_elevation_deg=instant.sun_elevation_deg,
            cloudiness=instant.cloudiness,
            temp_air_c=instant.temp_air_c,
            house_ids=instant.house_ids,
            pv_power_w=_frozen(instant.pv_power_w),
            base_load_w=_frozen(instant.base_load_w),
            flex_load_w=_frozen(instant.flex_load_w),
            flex_code=_frozen(instant.flex_code, instant.flex_code.dtype.type),
            consumption_w=_frozen(instant.base_load_w + instant.flex_load_w),
            net_power_w=_frozen(f.net_power_w),
            export_local_w=_frozen(f.export_local_w),
            export_grid_w=_frozen(f.export_grid_w),
            import_local_w=_frozen(f.import_local_w),
            import_grid_w=_frozen(f.import_grid_w),
            total_production_w=f.total_production_w,
            total_consumption_w=f.total_consumption_w,
            net_community_power_w=f.net_community_power_w,
            shared_w=f.shared_w,
            grid_import_w=f.grid_import_w,
            grid_export_w=f.grid_export_w,
            self_sufficiency=fl.self_sufficiency(f.grid_import_w, f.total_consumption_w),
            self_consumption=fl.self_consumption(f.grid_export_w, f.total_production_w),
            energy_kwh=instant.energy_kwh,
            meter_import_kwh=_frozen(instant.meter_import_kwh),
            meter_export_kwh=_frozen(instant.meter_export_kwh),
            measured=_frozen(instant.measured, bool),
            data_age_s=_frozen(instant.data_age_s),
            stale=_frozen(instant.stale, bool),
        )

    @property
    def is_day(self) -> bool:
        """True while the sun is above the horizon."""
        return self.sun_elevation_deg > 0.0

    @property
    def house_count(self) -> int:
        """Number of houses in this tick."""
        return len(self.house_ids)

    def flex_appliance(self, index: int) -> str | None:
        """Name of the appliance running in house `index`, or None."""
        code = int(self.flex_code[index])
        return None if code < 0 else catalogue.NAMES[code]

    def is_measured(self, index: int) -> bool:
        """True when house `index` takes its power from a real meter."""
        return index < len(self.measured) and bool(self.measured[index])

    def source_text(self, index: int) -> str:
        """How house `index` gets its power, said plainly: "simulated", "measured, 4 s old",
        "measured, no data for 75 s: counted as 0 W"."""
        if not self.is_measured(index):
            return "simulated"
        age_s = float(self.data_age_s[index])
        if not math.isfinite(age_s):
            return "measured, no data yet: counted as 0 W"
        if self.stale[index]:
            return f"measured, no data for {age_s:.0f} s: counted as 0 W"
        return f"measured, {age_s:.0f} s old"

    def pairwise_flows_w(self) -> tuple[list[str], list[str], np.ndarray]:
        """Who supplies whom, derived on demand: (exporter ids, importer ids, matrix [W])."""
        exp = np.flatnonzero(self.net_power_w > 0)
        imp = np.flatnonzero(self.net_power_w < 0)
        matrix = fl.pairwise_flows_w(self.net_power_w[exp], -self.net_power_w[imp])
        return [self.house_ids[i] for i in exp], [self.house_ids[j] for j in imp], matrix

    def edge_power_w(self) -> np.ndarray:
        """Signed power along each edge of the community's topology, in its edge order. [W]

        The edges of :func:`leg_sim.model.community_topology`: every house → bus
        (its net power), then bus → grid (export − import). Positive is the way
        the edge points, the export direction; negative flows against it.
        """
        return np.append(self.net_power_w, self.grid_export_w - self.grid_import_w)

    def house_dict(self, i: int) -> dict[str, Any]:
        """JSON-ready record of house `i`; a measured house also has ``data_age_s`` (null before its
        first message) and ``stale``."""
        record = {
            "house_id": self.house_ids[i],
            "pv_power_w": float(self.pv_power_w[i]),
            "base_load_w": float(self.base_load_w[i]),
            "flex_load_w": float(self.flex_load_w[i]),
            "consumption_w": float(self.consumption_w[i]),
            "net_power_w": float(self.net_power_w[i]),
            "flex_appliance": self.flex_appliance(i),
            "export_local_w": float(self.export_local_w[i]),
            "export_grid_w": float(self.export_grid_w[i]),
            "import_local_w": float(self.import_local_w[i]),
            "import_grid_w": float(self.import_grid_w[i]),
            "meter_import_kwh": float(self.meter_import_kwh[i]) if i < len(self.meter_import_kwh) else None,
            "meter_export_kwh": float(self.meter_export_kwh[i]) if i < len(self.meter_export_kwh) else None,
            "source": "mqtt" if self.is_measured(i) else "model",
        }
        if self.is_measured(i):
            age_s = float(self.data_age_s[i])
            record["data_age_s"] = round(age_s, 1) if math.isfinite(age_s) else None
            record["stale"] = bool(self.stale[i])
        return record

    def to_dict(self) -> dict[str, Any]:
        """The snapshot as a JSON-ready document (field names as in the README)."""
        return {
            "tick": self.tick,
            "timestamp": self.timestamp.isoformat(),
            "is_day": self.is_day,
            "sun_elevation_deg": round(self.sun_elevation_deg, 3),
            "weather": {"cloudiness": round(self.cloudiness, 4), "temp_air_c": round(self.temp_air_c, 2)},
            "houses": [self.house_dict(i) for i in range(self.house_count)],
            "community": {
                "total_production_w": self.total_production_w,
                "total_consumption_w": self.total_consumption_w,
                "net_community_power_w": self.net_community_power_w,
                "locally_shared_w": self.shared_w,
            },
            "grid": {"grid_import_w": self.grid_import_w, "grid_export_w": self.grid_export_w},
            "kpis": {
                "self_sufficiency": json_float(self.self_sufficiency),
                "self_consumption": json_float(self.self_consumption),
                "locally_shared_w": self.shared_w,
            },
            "energy_kwh": dict(self.energy_kwh),
        }

    @functools.cached_property
    def _json(self) -> bytes:
        return json.dumps(self.to_dict(), allow_nan=False, separators=(",", ":")).encode()

    def to_json(self) -> bytes:
        """The JSON document as compact UTF-8 bytes, built once per snapshot and then shared."""
        return self._json

    def history_row(self) -> dict[str, float]:
        """This tick as one row of :class:`leg_sim.history.History` (NaN for an undefined KPI)."""
        return {
            "tick": float(self.tick),
            "time_s": self.timestamp.timestamp(),
            "total_production_w": self.total_production_w,
            "total_consumption_w": self.total_consumption_w,
            "grid_import_w": self.grid_import_w,
            "grid_export_w": self.grid_export_w,
            "shared_w": self.shared_w,
            "net_community_power_w": self.net_community_power_w,
            "self_sufficiency": math.nan if self.self_sufficiency is None else self.self_sufficiency,
            "self_consumption": math.nan if self.self_consumption is None else self.self_consumption,
        }

    # ------------------------------------------------------------------ wire form (engine -> workers)
    def to_wire(self, extra: Mapping[str, Any] | None = None) -> bytes:
        """The whole snapshot as compact JSON bytes for another process (:func:`from_wire`):
        arrays as base64 of their little-endian bytes, so every value arrives exactly.
        `extra` (JSON-ready) travels along under ``"extra"``."""
        doc: dict[str, Any] = {"v": WIRE_VERSION}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                doc[f.name] = array_to_wire(value)
            elif f.name == "timestamp":
                doc[f.name] = value.isoformat()
            elif f.name == "energy_kwh":
                doc[f.name] = dict(value)
            elif f.name == "house_ids":
                doc[f.name] = list(value)
            else:
                doc[f.name] = value
        doc["extra"] = dict(extra or {})
        return json.dumps(doc, allow_nan=True, separators=(",", ":")).encode()


#: Version of :meth:`Snapshot.to_wire`'s document; a reader refuses another.
WIRE_VERSION = 1
_WIRE_DTYPES = {"<f8", "<i8", "<i4", "<i2", "|i1", "|b1", "|u1"}


def array_to_wire(a: np.ndarray) -> dict[str, Any]:
    """A numeric array as JSON-ready wire form: dtype, shape and base64 of its little-endian bytes (exact)."""
    a = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<"))
    return {"dtype": a.dtype.str, "shape": list(a.shape), "b64": base64.b64encode(a.tobytes()).decode("ascii")}


def array_from_wire(raw: Any) -> np.ndarray:
    """The array of :func:`array_to_wire`'s form (a writable copy); ValueError for anything else."""
    if not isinstance(raw, dict) or raw.get("dtype") not in _WIRE_DTYPES:
        raise ValueError(f"not a wire array of a numeric dtype: dtype {raw.get('dtype') if isinstance(raw, dict) else None!r}")
    a = np.frombuffer(base64.b64decode(raw["b64"], validate=True), dtype=np.dtype(raw["dtype"]))
    return a.reshape(raw["shape"]).copy() if "shape" in raw else a.copy()


def from_wire(payload: bytes | bytearray) -> tuple[Snapshot, dict[str, Any]]:
    """(snapshot, extra) from :meth:`Snapshot.to_wire`'s bytes; ValueError for anything else."""
    try:
        doc = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"not JSON: {str(exc)[:80]}") from None
    if not isinstance(doc, dict) or doc.get("v") != WIRE_VERSION:
        raise ValueError(f"not a version {WIRE_VERSION} snapshot")
    values: dict[str, Any] = {}
    try:
        count = len(doc["house_ids"])
        for f in dataclasses.fields(Snapshot):
            raw = doc[f.name]
            if isinstance(raw, dict) and "b64" in raw:
                try:
                    a = array_from_wire(raw)
                except ValueError as exc:
                    raise ValueError(f"{f.name}: {exc}") from None
                if a.shape != (count,):
                    raise ValueError(f"{f.name}: {len(a)} values for {count} houses")
                a.flags.writeable = False
                values[f.name] = a
            elif f.name == "timestamp":
                values[f.name] = pd.Timestamp(raw)
            elif f.name == "house_ids":
                values[f.name] = tuple(str(h) for h in raw)
            elif f.name == "energy_kwh":
                values[f.name] = {str(k): float(v) for k, v in raw.items()}
            else:
                values[f.name] = raw
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ValueError(f"not a snapshot: {str(exc)[:80]}") from None
    extra = doc.get("extra")
    return Snapshot(**values), extra if isinstance(extra, dict) else {}
