"""What survives a restart: the simulation's accumulated state in one small SQLite file.

A :class:`SavedState` holds what a running simulation has accumulated and its
configuration cannot give back: the tick number, the simulated time, the
energy accounts, the grid meter and every house's meter readings, and the history (the tick ring and the
minute ring that the chart's day view and the Today card read). The server
saves it every :data:`SAVE_EVERY_S` and when it stops, so a restart loses at
most that much, and restores it at start.

The file (``state.sqlite`` in the state directory) holds one table of named
blobs, written in one transaction. It belongs to one configuration: its
:func:`config_identity` (seed, houses, place, clock start and mode) is stored
with it, and a file of another configuration is set aside rather than applied.
A file that cannot be read (damaged, truncated, of another format) is reported
in one log line and renamed ``state.sqlite.damaged-<time>``; the simulation then
starts fresh. Nothing here is ever fatal.

The live settings (houses, interval, speed, ...) are not saved: after a restart
the configuration's values apply.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import math
import sqlite3
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("leg_sim.state")

#: Wall-clock time between two saves of a running server. [s]
SAVE_EVERY_S = 30.0
#: File name in the state directory.
FILE_NAME = "state.sqlite"
#: Format of the saved state; a file of another version is set aside.
VERSION = 1
#: Config keys that make a saved state belong to its configuration.
IDENTITY_KEYS = ("seed", "houses", "location.latitude_deg", "location.longitude_deg", "location.timezone", "clock.mode", "clock.start")


@dataclasses.dataclass
class SavedState:
    """One simulation's accumulated state; see the module docstring."""

    identity: str
    tick: int
    #: Simulated time of the last tick. [s since epoch]
    time_s: float
    #: Community accounts (production, consumption, shared) and grid meter (import, export). [kWh]
    energy_kwh: dict[str, float]
    meter_kwh: dict[str, float]
    #: :meth:`leg_sim.history.History.state`.
    history: dict[str, np.ndarray]
    #: Wall-clock time of the save. [s since epoch]
    saved_at_s: float = 0.0
    #: Each house's meter, (import, export) by house id (:class:`leg_sim.model.HouseMeters`). [kWh]
    house_meters_kwh: dict[str, tuple[float, float]] = dataclasses.field(default_factory=dict)


def config_identity(settings: Any) -> str:
    """A short fingerprint of the config keys a saved state depends on (:data:`IDENTITY_KEYS`),
    including each house's own settings."""
    values = {key: str(settings[key]) for key in IDENTITY_KEYS}
    values["house_overrides"] = str([dict(h.values) for h in getattr(settings, "house_overrides", ())])
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]


def _array_blob(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def _blob_array(blob: bytes) -> np.ndarray:
    return np.load(io.BytesIO(blob), allow_pickle=False)


class StateStore:
    """The state file at `path`; :meth:`save` and :meth:`load` never raise for a bad file."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def save(self, state: SavedState) -> bool:
        """Write `state` in one transaction; False (and one log line) when the file cannot be written."""
        meta = {
            "version": VERSION, "identity": state.identity, "tick": state.tick, "time_s": state.time_s,
            "energy_kwh": state.energy_kwh, "meter_kwh": state.meter_kwh, "saved_at_s": time.time(),
        }
        rows = [("meta", json.dumps(meta).encode()), ("house_meters", json.dumps(state.house_meters_kwh).encode())]
        rows += [(f"history.{k}", _array_blob(v)) for k, v in state.history.items()]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with sqlite3.connect(self.path, timeout=5.0) as db:
                db.execute("CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value BLOB NOT NULL)")
                db.execute("DELETE FROM state")
                db.executemany("INSERT INTO state (name, value) VALUES (?, ?)", rows)
            db.close()
        except (sqlite3.Error, OSError) as exc:
            log.warning("could not save the state to %s: %s", self.path, exc)
            return False
        return True

    def load(self, identity: str) -> SavedState | None:
        """The saved state of the configuration `identity`, or None (no file, another
        configuration, or a damaged file, which is then set aside)."""
        if not self.path.exists():
            return None
        try:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5.0)
            try:
                blobs = dict(db.execute("SELECT name, value FROM state").fetchall())
            finally:
                db.close()
            meta = json.loads(blobs["meta"])
            if meta.get("version") != VERSION:
                raise ValueError(f"format version {meta.get('version')!r}, expected {VERSION}")
            history = {k.split(".", 1)[1]: _blob_array(v) for k, v in blobs.items() if k.startswith("history.")}
            state = SavedState(
                identity=str(meta["identity"]), tick=int(meta["tick"]), time_s=float(meta["time_s"]),
                energy_kwh={k: float(v) for k, v in meta["energy_kwh"].items()},
                meter_kwh={k: float(v) for k, v in meta["meter_kwh"].items()},
                history=history, saved_at_s=float(meta.get("saved_at_s", 0.0)),
                house_meters_kwh={str(h): (float(v[0]), float(v[1])) for h, v in json.loads(blobs.get("house_meters", b"{}")).items()},
            )
            readings = [x for pair in state.house_meters_kwh.values() for x in pair]
            if not np.isfinite(state.time_s) or state.tick < 0 or not all(np.isfinite(list(state.energy_kwh.values()))):
                raise ValueError("values out of range")
            if not all(math.isfinite(x) and x >= 0 for x in readings):
                raise ValueError("house meter readings out of range")
        except (sqlite3.Error, OSError, KeyError, ValueError, TypeError) as exc:
            self.set_aside(f"cannot be read ({type(exc).__name__}: {str(exc)[:80]})", "damaged")
            return None
        if state.identity != identity:
            self.set_aside("belongs to another configuration", "set-aside")
            return None
        return state

    def set_aside(self, why: str, label: str) -> Path | None:
        """Rename the file to ``<name>.<label>-<time>``, with one log line saying why; returns the new path."""
        target = self.path.with_name(f"{self.path.name}.{label}-{time.strftime('%Y%m%dT%H%M%S')}")
        try:
            self.path.rename(target)
        except OSError as exc:
            log.warning("state file %s %s and cannot be moved (%s); starting fresh", self.path, why, exc)
            return None
        log.warning("state file %s %s; moved to %s, starting fresh", self.path, why, target.name)
        return target


def energy_of(state: SavedState) -> Mapping[str, float]:
    """Every saved account in the snapshot's names (``production_kwh``, ``grid_import_kwh``, ...). [kWh]"""
    return {**state.energy_kwh, "grid_import_kwh": state.meter_kwh["import"], "grid_export_kwh": state.meter_kwh["export"]}
