"""The one shared Simulation: tick loop, immutable snapshots, bounded history, live changes.

A :class:`Simulation` owns the community, the grid, the clock and all random
state. :meth:`Simulation.step` computes one tick for every house at once and
returns a frozen :class:`Snapshot`; :meth:`Simulation.start` runs ticks on a
background thread every ``update_interval_ms`` with or without any viewer.

Live changes (house count, interval, PV variation, flex probability, clock
mode and speed, pause) are plain parameter assignments; they take effect at
the next tick. A tick that raises is logged and counted and the loop goes on;
a tick slower than the interval delays the next one but never queues more.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
import types
from typing import Any, Mapping

import numpy as np
import pandas as pd
import param

from leg_sim import flows as fl
from leg_sim.clock import ACCELERATED, REALTIME, Clock
from leg_sim.config import MAX_HOUSES, Settings, load_config
from leg_sim.model import Community, Grid, HouseTable
from leg_sim.profiles import appliances as appl
from leg_sim.profiles import household, pv, weather

log = logging.getLogger("leg_sim.engine")

#: Fastest tick the config allows; sizes the history ring. [ms]
MIN_INTERVAL_MS = 100

ENERGY_KEYS = ("production_kwh", "consumption_kwh", "grid_import_kwh", "grid_export_kwh", "shared_kwh")


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    a.flags.writeable = False
    return a


def _json_float(x: float | None) -> float | None:
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
        return None if code < 0 else appl.NAMES[code]

    def pairwise_flows_w(self) -> tuple[list[str], list[str], np.ndarray]:
        """Who supplies whom, derived on demand: (exporter ids, importer ids, matrix [W])."""
        exp = np.flatnonzero(self.net_power_w > 0)
        imp = np.flatnonzero(self.net_power_w < 0)
        matrix = fl.pairwise_flows_w(self.net_power_w[exp], -self.net_power_w[imp])
        return [self.house_ids[i] for i in exp], [self.house_ids[j] for j in imp], matrix

    def house_dict(self, i: int) -> dict[str, Any]:
        """JSON-ready record of house `i`."""
        return {
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
        }

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
                "self_sufficiency": _json_float(self.self_sufficiency),
                "self_consumption": _json_float(self.self_consumption),
                "locally_shared_w": self.shared_w,
            },
            "energy_kwh": dict(self.energy_kwh),
        }


HISTORY_FIELDS = (
    "tick",
    "time_s",
    "total_production_w",
    "total_consumption_w",
    "grid_import_w",
    "grid_export_w",
    "shared_w",
    "net_community_power_w",
    "self_sufficiency",
    "self_consumption",
)


class History:
    """Bounded ring of community-level records, one row per tick (the engine's collector).

    Parameters
    ----------
    capacity
        Rows kept; the oldest are overwritten.
    """

    def __init__(self, capacity: int):
        self.capacity = int(capacity)
        self._data = np.zeros((self.capacity, len(HISTORY_FIELDS)))
        self._next = 0
        self._size = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._size

    def append(self, snap: Snapshot) -> None:
        """Record one tick."""
        row = (
            snap.tick,
            snap.timestamp.timestamp(),
            snap.total_production_w,
            snap.total_consumption_w,
            snap.grid_import_w,
            snap.grid_export_w,
            snap.shared_w,
            snap.net_community_power_w,
            np.nan if snap.self_sufficiency is None else snap.self_sufficiency,
            np.nan if snap.self_consumption is None else snap.self_consumption,
        )
        with self._lock:
            self._data[self._next] = row
            self._next = (self._next + 1) % self.capacity
            self._size = min(self._size + 1, self.capacity)

    def columns(self, seconds: float | None = None) -> dict[str, np.ndarray]:
        """Rows in time order as columns; optionally only the last `seconds` of simulated time.
        For the ticks after a given one, use :meth:`tail_after`."""
        with self._lock:
            if self._size < self.capacity:
                data = self._data[: self._size].copy()
            else:
                data = np.concatenate([self._data[self._next :], self._data[: self._next]])
        if len(data) and seconds is not None:
            data = data[data[:, 1] >= data[-1, 1] - seconds]
        return {name: data[:, k] for k, name in enumerate(HISTORY_FIELDS)}

    def tail_after(self, tick: int, limit: int | None = None) -> dict[str, np.ndarray]:
        """Rows with a tick number above `tick` (at most `limit`, newest kept), read from the
        end of the ring without copying the rest; cheap enough to call every tick."""
        with self._lock:
            if self._size == 0:
                return {name: np.empty(0) for name in HISTORY_FIELDS}
            newest = int(self._data[(self._next - 1) % self.capacity, 0])
            count = min(max(newest - int(tick), 0), self._size)
            if limit is not None:
                count = min(count, limit)
            idx = (self._next - count + np.arange(count)) % self.capacity
            data = self._data[idx]
        return {name: data[:, k] for k, name in enumerate(HISTORY_FIELDS)}

    def to_frame(self, seconds: float | None = None) -> pd.DataFrame:
        """History as a DataFrame indexed by simulated UTC time."""
        cols = self.columns(seconds)
        frame = pd.DataFrame(cols)
        frame["tick"] = frame["tick"].astype(int)
        frame.index = pd.to_datetime(frame.pop("time_s"), unit="s", utc=True)
        frame.index.name = "time"
        return frame


class Simulation(param.Parameterized):
    """One community simulation; see the module docstring.

    Build it with :meth:`from_config`. The live parameters below may be set at
    any time (from a widget, a notebook or another thread); each takes effect
    at the next tick.
    """

    house_count = param.Integer(default=5, bounds=(1, MAX_HOUSES), label="Number of houses", doc="Houses in the community.")
    update_interval_ms = param.Integer(
        default=1000, bounds=(100, 10_000), label="Update interval (ms)", doc="Wall-clock time between ticks. [ms]"
    )
    pv_variation = param.Selector(
        default="enabled", objects=["enabled", "disabled"], label="PV variation", doc="Passing clouds on (enabled) or clear sky."
    )
    flex_load_probability = param.Number(
        default=0.1,
        bounds=(0.0, 1.0),
        label="Flex load probability (share of time)",
        doc="Long-run share of time a house with big appliances has one running. [-]",
    )
    clock_mode = param.Selector(default=REALTIME, objects=[REALTIME, ACCELERATED], label="Clock mode", doc="Wall-clock time or accelerated.")
    speed_factor = param.Number(
        default=60.0,
        bounds=(0.1, 86_400.0),
        softbounds=(1.0, 3600.0),
        label="Clock speed (simulated s per s)",
        doc="Simulated seconds per wall-clock second in accelerated mode. [-]",
    )
    paused = param.Boolean(default=False, label="Paused", doc="Stop ticking without losing state.")
    seed = param.Integer(default=42, bounds=(0, 2**32 - 1), constant=True, doc="Seed of all randomness.")
    read_only = param.Boolean(default=False, constant=True, doc="Dashboards hide their controls.")
    history_seconds = param.Integer(default=3600, bounds=(3600, 86_400), constant=True, doc="Wall-clock span the history covers at the fastest interval. [s]")

    def __init__(self, settings: Settings | None = None, *, now_fn=None, **params):
        settings = settings or load_config({})
        defaults = dict(
            house_count=settings.house_count,
            update_interval_ms=settings.update_interval_ms,
            pv_variation=settings.pv_variation,
            flex_load_probability=settings.flex_load_probability,
            clock_mode=settings.clock.mode,
            speed_factor=settings.clock.speed_factor,
            seed=settings.seed,
            read_only=settings.read_only,
            history_seconds=settings.history_seconds,
        )
        defaults.update(params)
        super().__init__(**defaults)
        self.settings = settings
        loc = settings.location
        self.community = Community(
            overrides=settings.house_overrides,
            latitude_deg=loc.latitude_deg,
            longitude_deg=loc.longitude_deg,
            altitude_m=loc.altitude_m,
            timezone=loc.timezone,
            seed=self.seed,
        )
        self.grid = Grid()
        self.clock = Clock(loc.timezone, self.clock_mode, settings.clock.start, self.speed_factor, now_fn=now_fn)
        self._rng = np.random.default_rng(self.seed)
        self._clouds = weather.CloudField(self._rng)
        self._flex = appl.FlexProcess(self._rng)
        self._noise = np.empty(0)
        self._table: HouseTable | None = None
        self._flex_probability: float | None = None
        self._linke = pv.monthly_linke_turbidity(loc.latitude_deg, loc.longitude_deg)
        self._energy = dict.fromkeys(ENERGY_KEYS, 0.0)
        self._tick = 0
        self._snapshot: Snapshot | None = None
        self.history = History(math.ceil(self.history_seconds * 1000 / MIN_INTERVAL_MS) + 1)

        self._step_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._listeners: list = []
        self._listeners_lock = threading.Lock()
        #: Ticks that raised, ticks slower than the interval, and the last error text.
        self.error_count = 0
        self.overrun_count = 0
        self.last_error: str | None = None
        self.last_step_s = 0.0
        #: Monotonic time the loop last ran (ticking or paused); None before start.
        self.loop_heartbeat: float | None = None
        self.last_tick_monotonic: float | None = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_config(cls, source: Any = None, **overrides: Any) -> "Simulation":
        """Build a simulation from a YAML path or a dict, with any config key overridden.

        ``Simulation.from_config("config.yaml", houses=20, **{"clock.mode": "accelerated"})``
        """
        return cls(load_config(source, **overrides))

    # ------------------------------------------------------------------ reading
    @property
    def snapshot(self) -> Snapshot | None:
        """The latest snapshot, or None before the first tick."""
        return self._snapshot

    @property
    def tick(self) -> int:
        """Number of ticks computed so far."""
        return self._tick

    @property
    def running(self) -> bool:
        """True while the background loop is alive."""
        return self._thread is not None and self._thread.is_alive()

    def history_frame(self, seconds: float | None = None) -> pd.DataFrame:
        """Community history as a DataFrame (last `seconds` of simulated time, or all kept)."""
        return self.history.to_frame(seconds)

    # ------------------------------------------------------------------ listeners
    def subscribe(self, callback) -> None:
        """Call `callback(snapshot)` on the engine thread after every tick. Keep it short."""
        with self._listeners_lock:
            self._listeners.append(callback)

    def unsubscribe(self, callback) -> None:
        """Stop calling `callback`; unknown callbacks are ignored."""
        with self._listeners_lock:
            self._listeners = [c for c in self._listeners if c != callback]

    @property
    def listener_count(self) -> int:
        """Number of subscribed callbacks."""
        return len(self._listeners)

    @property
    def watcher_count(self) -> int:
        """Number of param watchers on this simulation (its own plus those of open sessions)."""
        return sum(len(ws) for per_name in self.param.watchers.values() for ws in per_name.values())

    # ------------------------------------------------------------------ live parameters
    @param.depends("update_interval_ms", watch=True)
    def _interval_changed(self) -> None:
        self._wake.set()

    @param.depends("paused", watch=True)
    def _pause_changed(self) -> None:
        if not self.paused:
            self.clock.resync()
        self._wake.set()

    # ------------------------------------------------------------------ the tick
    def step(self) -> Snapshot:
        """Advance one tick and return its snapshot. Raises if the tick fails."""
        with self._step_lock:
            snap = self._compute()
            self._snapshot = snap
            self._tick = snap.tick
            self.history.append(snap)
            self.last_tick_monotonic = time.monotonic()
        with self._listeners_lock:
            listeners = list(self._listeners)
        for callback in listeners:
            try:
                callback(snap)
            except Exception:  # a viewer's failure must never stop the engine
                log.exception("snapshot listener failed")
        return snap

    def _apply_live_changes(self, t_s: float) -> HouseTable:
        """Bring houses, appliances and clock in line with the parameters (start of a tick)."""
        if self.community.house_count != self.house_count:
            self.community.set_house_count(self.house_count)
        table = self.community.table()
        probability = float(self.flex_load_probability)
        if table is not self._table or probability != self._flex_probability:
            self._flex.configure(table.owned, probability, t_s)
            n_old = len(self._noise)
            if len(table) != n_old:
                extra = self._rng.normal(0.0, household.NOISE_SIGMA, max(len(table) - n_old, 0))
                self._noise = np.concatenate([self._noise[: len(table)], extra])
            self._table, self._flex_probability = table, probability
        return table

    def _compute(self) -> Snapshot:
        # Seam (leg_sim.seams.ControlSignal): commands for houses would be applied here,
        # before the appliance process advances.
        if self.clock.mode != self.clock_mode:
            self.clock.set_mode(self.clock_mode)
        self.clock.set_speed(self.speed_factor)
        now, dt_s = self.clock.tick(self.update_interval_ms)
        t_s = now.timestamp()
        table = self._apply_live_changes(t_s)
        comm = self.community

        # Profiles: PV, base load, flex load for all houses at once.
        sky = pv.sky_at(now, comm.latitude_deg, comm.longitude_deg, comm.altitude_m, self._linke[now.month - 1])
        if self.pv_variation == "enabled":
            beam, diffuse = self._clouds.factors(t_s, table.shadow_offset_s)
            cloudiness = self._clouds.cloudiness
        else:
            beam, diffuse, cloudiness = 1.0, 1.0, 0.0
        local = now.tz_convert(comm.timezone)
        month_fraction = local.month - 1 + (local.day - 15) / 30.5
        temp_air_c = weather.air_temperature_c(month_fraction, local.hour + local.minute / 60.0, cloudiness)
        poa = pv.plane_of_array_w_m2(table.tilt_deg, table.azimuth_deg, sky, beam, diffuse)
        pv_w = pv.pv_ac_power_w(poa, table.pv_peak_kwp, temp_air_c)

        self._noise = household.noise_step(self._noise, dt_s, self._rng.standard_normal(len(table)))
        base_w = household.base_load_w(
            household.h25_w_per_kwh(now, comm.timezone),
            table.annual_consumption_kwh,
            table.fridge_power_w,
            table.fridge_duty,
            household.fridge_on(t_s, table.fridge_period_s, table.fridge_duty, table.fridge_phase),
            self._noise,
            table.standby_w,
        )
        codes = self._flex.advance(t_s).copy()
        flex_w = self._flex.power_w(t_s, table.ev_rating_w)
        consumption_w = base_w + flex_w

        # Seam (leg_sim.seams.Storage): batteries would change each house's net power here.
        f = fl.settle(pv_w, consumption_w)

        energy = self._energy
        energy["production_kwh"] += fl.energy_kwh(f.total_production_w, dt_s)
        energy["consumption_kwh"] += fl.energy_kwh(f.total_consumption_w, dt_s)
        energy["grid_import_kwh"] += fl.energy_kwh(f.grid_import_w, dt_s)
        energy["grid_export_kwh"] += fl.energy_kwh(f.grid_export_w, dt_s)
        energy["shared_kwh"] += fl.energy_kwh(f.shared_w, dt_s)
        codes.flags.writeable = False

        # Seam (leg_sim.seams.Optimiser / PriceSignal): an optimiser would read this snapshot
        # (and prices) and return control signals for the next tick.
        return Snapshot(
            tick=self._tick + 1,
            timestamp=now,
            dt_s=dt_s,
            wall_time_s=time.time(),
            sun_elevation_deg=90.0 - sky.apparent_zenith_deg,
            cloudiness=float(cloudiness),
            temp_air_c=temp_air_c,
            house_ids=table.house_ids,
            pv_power_w=_frozen(pv_w),
            base_load_w=_frozen(base_w),
            flex_load_w=_frozen(flex_w),
            flex_code=codes,
            consumption_w=_frozen(consumption_w),
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
            energy_kwh=types.MappingProxyType(dict(energy)),
        )

    # ------------------------------------------------------------------ the loop
    def start(self) -> None:
        """Tick on a background thread every ``update_interval_ms`` until :meth:`stop`."""
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="leg-sim-engine", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the background loop and wait for it to end."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.loop_heartbeat = started
            if not self.paused:
                try:
                    self.step()
                except Exception as exc:
                    self.error_count += 1
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    log.exception("tick %d failed; the loop goes on", self._tick + 1)
                self.last_step_s = time.monotonic() - started
                if self.last_step_s > self.update_interval_ms / 1000.0:
                    self.overrun_count += 1
            # Wait for the next tick; a slow tick starts the next one at once but never
            # queues more. Wake early to pick up a new interval, pause or stop.
            while not self._stop.is_set():
                now = time.monotonic()
                self.loop_heartbeat = now
                due = started + self.update_interval_ms / 1000.0
                if now >= due and not self.paused:
                    break
                self._wake.wait(min(max(due - now, 0.0), 0.25) if not self.paused else 0.25)
                self._wake.clear()

    # ------------------------------------------------------------------ status
    def status(self) -> dict[str, Any]:
        """Loop health for /healthz and logs: tick, ages, counters. Times in seconds."""
        now = time.monotonic()
        snap = self._snapshot
        return {
            "tick": self._tick,
            "running": self.running,
            "paused": bool(self.paused),
            "update_interval_ms": int(self.update_interval_ms),
            "tick_age_s": None if self.last_tick_monotonic is None else round(now - self.last_tick_monotonic, 3),
            "loop_age_s": None if self.loop_heartbeat is None else round(now - self.loop_heartbeat, 3),
            "last_step_ms": round(self.last_step_s * 1000.0, 3),
            "error_count": self.error_count,
            "overrun_count": self.overrun_count,
            "last_error": self.last_error,
            "simulated_time": None if snap is None else snap.timestamp.isoformat(),
            "house_count": int(self.house_count),
        }
