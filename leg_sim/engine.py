"""The one shared Simulation: the tick loop, live changes, listeners and health.

A :class:`Simulation` owns the clock, the model (community, grid and the
:class:`~leg_sim.model.CommunityChain` that computes an instant) and the
history. :meth:`Simulation.step` asks the clock for the next simulated instant,
applies live changes, runs the chain and publishes the frozen
:class:`~leg_sim.snapshot.Snapshot`; :meth:`Simulation.start` does that on a
background thread every ``update_interval_ms``, with or without any viewer.

Everything that can be observed is a ``param`` parameter, and ``param`` watchers
are the only way to be told of a change: the live settings (declared in
:mod:`leg_sim.settings`) and ``paused`` on the Simulation, and the snapshot,
which changes once per tick, on a :class:`SnapshotFeed` that only the engine
thread writes (param batches the watcher calls of one object; a
``sim.param.update(...)`` from another thread in the middle of a tick must not
capture the tick's notification). :meth:`Simulation.subscribe` wraps a watcher
on the feed so that one failing listener cannot stop the others or the loop. A tick that raises is
logged and counted and the loop goes on (the same error again within a minute is
counted and summed up once a minute, not logged each time); a tick slower than
the interval delays the next one but never queues more.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import param

from leg_sim.clock import Clock
from leg_sim.config import Settings, load_config
from leg_sim.history import History
from leg_sim.meters import MeterInbox
from leg_sim.model import Community, CommunityChain, Grid, set_constant, weather_source
from leg_sim.settings import SETTINGS, ControlError, control_value, live_settings, setting, short_value
from leg_sim.snapshot import Snapshot
from leg_sim.state_store import SAVE_EVERY_S, SavedState, StateStore, config_identity

log = logging.getLogger("leg_sim.engine")

#: Fastest tick the config allows; sizes the history ring. [ms]
MIN_INTERVAL_MS = int(setting("update_interval_ms").bounds[0])  # type: ignore[index]

Listener = Callable[[Snapshot], Any]

#: A tick older than this many intervals, and than MIN_STALE_S, makes the loop unhealthy. [-], [s]
STALE_INTERVALS = 5
MIN_STALE_S = 2.0
#: The same tick error is logged at most once in this long; the repeats are counted. [s]
ERROR_LOG_EVERY_S = 60.0


#: The live parameters: every live setting, and pause.
CONTROLLED = (*(s.name for s in live_settings()), "paused")
_LIVE_BY_NAME = {s.name: s for s in live_settings()}


def stale_after_s(interval_ms: float) -> float:
    """Age of the last tick past which the loop counts as stalled. [s]"""
    return max(STALE_INTERVALS * interval_ms / 1000.0, MIN_STALE_S)


class TickErrorLog:
    """Logs a failing tick: the first time with its traceback, the same error again at
    most once per :data:`ERROR_LOG_EVERY_S` with how often it happened meanwhile."""

    def __init__(self, every_s: float = ERROR_LOG_EVERY_S):
        self.every_s = every_s
        self._last_text: str | None = None
        self._logged_at = -math.inf
        self._repeats = 0

    def failed(self, tick: int, text: str, now_s: float) -> None:
        """Call from the except block of a failed tick `tick` (monotonic time `now_s`)."""
        if text != self._last_text:
            self._last_text, self._logged_at, self._repeats = text, now_s, 0
            log.exception("tick %d failed; the loop goes on", tick)
            return
        self._repeats += 1
        if now_s - self._logged_at >= self.every_s:
            log.error("tick %d failed again (%d times in the last %.0f s): %s; the loop goes on", tick, self._repeats, now_s - self._logged_at, text)
            self._logged_at, self._repeats = now_s, 0


class SnapshotFeed(param.Parameterized):
    """Where the engine publishes each snapshot; written only by the engine thread."""

    snapshot = param.ClassSelector(
        class_=Snapshot, default=None, allow_None=True, constant=True,
        doc="The latest snapshot (None before the first tick); set once per tick by the engine.",
    )


class Simulation(param.Parameterized):
    """One community simulation; see the module docstring.

    Build it with :meth:`from_config`. The live parameters below may be set at
    any time (from a widget, a notebook or another thread); each takes effect
    at the next tick. A value out of bounds raises ``ValueError`` and the
    simulation keeps its old value.
    """

    house_count = setting("houses").parameter()
    update_interval_ms = setting("update_interval_ms").parameter()
    pv_variation = setting("pv_variation").parameter()
    flex_load_probability = setting("flex_load_probability").parameter()
    clock_mode = setting("clock.mode").parameter()
    speed_factor = setting("clock.speed_factor").parameter()
    paused = param.Boolean(default=False, label="Paused", doc="Stop ticking without losing state.")
    seed = setting("seed").parameter(constant=True)
    read_only = setting("read_only").parameter(constant=True)
    history_seconds = setting("history_seconds").parameter(constant=True)

    def __init__(
        self, settings: Settings | None = None, *, now_fn: Callable | None = None, state_path: str | os.PathLike | None = None, **params: Any
    ):
        """`state_path`: a :class:`~leg_sim.state_store.StateStore` file to restore from at
        start and to save to every ``SAVE_EVERY_S`` and at :meth:`stop` (None: nothing persists)."""
        settings = settings or load_config({})
        # Every setting that is also a parameter of this class starts at its configured value.
        configured = {s.name: settings[s.key] for s in SETTINGS if s.name in type(self).param}
        super().__init__(**{**configured, **params})
        self.settings = settings
        self.feed = SnapshotFeed()
        self.community = Community(
            overrides=settings.house_overrides,
            latitude_deg=settings["location.latitude_deg"],
            longitude_deg=settings["location.longitude_deg"],
            altitude_m=settings["location.altitude_m"],
            timezone=settings["location.timezone"],
            seed=self.seed,
        )
        self.grid = Grid()
        self.chain = CommunityChain(self.community, self.grid, tmy=weather_source(settings))
        self.chain.inbox = MeterInbox(settings["mqtt.stale_after_s"])
        self.clock = Clock(self.community.timezone, self.clock_mode, settings["clock.start"], self.speed_factor, now_fn=now_fn)
        self.history = History(math.ceil(self.history_seconds * 1000 / MIN_INTERVAL_MS) + 1)
        self._tick = 0
        self._step_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._subscriptions: dict[Listener, param.parameterized.Watcher] = {}
        self._subscriptions_lock = threading.Lock()
        #: Ticks that raised, ticks slower than the interval, and the last error text.
        self.error_count = 0
        self._error_log = TickErrorLog()
        self.overrun_count = 0
        self.last_error: str | None = None
        self.last_step_s = 0.0
        #: Monotonic time the loop last ran (ticking or paused); None before start.
        self.loop_heartbeat: float | None = None
        self.last_tick_monotonic: float | None = None
        self._store = StateStore(Path(state_path)) if state_path is not None else None
        self._identity = config_identity(settings)
        self._saved_monotonic = time.monotonic()
        #: The tick the simulation continued from after a restart (0: it started fresh).
        self.restored_tick = 0
        #: True once this simulation shows another process's ticks (:meth:`follow`) instead of its own;
        #: `applying_remote` while it takes that engine's parameters.
        self.following = False
        self.applying_remote = False
        if self._store is not None:
            saved = self._store.load(self._identity)
            if saved is not None:
                self._restore(saved)

    @classmethod
    def from_config(cls, source: Any = None, **overrides: Any) -> Simulation:
        """Build a simulation from a YAML path or a dict, with any config key overridden.

        ``Simulation.from_config("config.yaml", houses=20, **{"clock.mode": "accelerated"})``
        """
        return cls(load_config(source, **overrides))

    # ------------------------------------------------------------------ reading
    @property
    def snapshot(self) -> Snapshot | None:
        """The latest snapshot, or None before the first tick."""
        return self.feed.snapshot

    @property
    def tick(self) -> int:
        """Number of ticks computed so far."""
        return self._tick

    @property
    def running(self) -> bool:
        """True while the background loop is alive, or (a follower) while it follows an engine."""
        return self.following or (self._thread is not None and self._thread.is_alive())

    # ------------------------------------------------------------------ following another process's engine
    def live_values(self) -> dict[str, Any]:
        """The live parameters (:data:`CONTROLLED`) as they are now, JSON-ready."""
        return {name: getattr(self, name) for name in CONTROLLED}

    def checked_control(self, name: str, value: Any) -> Any:
        """`value` as a page's control may set the live parameter `name` (:data:`CONTROLLED`), else
        ControlError saying what is allowed: the declaration the widget was made from decides
        (:func:`leg_sim.settings.control_value`: type, integer-ness, the widget's range and presets,
        not the config's wider range); the pause takes true or false; a read-only server takes nothing."""
        if self.read_only:
            raise ControlError("not applied: the controls are switched off on this server (read-only display)")
        s = _LIVE_BY_NAME.get(name)
        if s is not None:
            return control_value(s, value, self.settings[s.key])
        if name == "paused":
            if isinstance(value, bool):
                return value
            raise ControlError(f"{short_value(value)} was not applied; allowed: true or false")
        raise ControlError(f"{short_value(name)} is not a control")

    def follow(self, snap: Snapshot, live: Mapping[str, Any]) -> None:
        """Show a snapshot another process's engine computed as this simulation's own tick: its live
        parameters take the engine's values `live` (while :attr:`applying_remote` is set, so a
        watcher can tell them from a viewer's change), the history gets its row and every listener
        runs, as after :meth:`step`. Never call on a simulation that ticks itself (:meth:`start`).
        The same tick again (the engine's heartbeat while it is paused) only refreshes the
        parameters and the loop's heartbeat. A tick number lower than the last one means the engine
        started over: the history restarts."""
        with self._step_lock:
            self.following = True
            known = {k: v for k, v in live.items() if k in CONTROLLED and getattr(self, k) != v}
            if known:
                self.applying_remote = True
                try:
                    self.param.update(**known)
                except (ValueError, TypeError) as exc:  # a value this side's declarations refuse: keep ours
                    log.warning("engine parameters not taken: %s", str(exc).splitlines()[0][:200])
                finally:
                    self.applying_remote = False
            self.loop_heartbeat = time.monotonic()
            if snap.tick == self._tick:
                return
            if snap.tick < self._tick:
                self.history.clear()
            self.history.append(snap.history_row(), dt_s=snap.dt_s)
            self._tick = snap.tick
            self.last_tick_monotonic = self.loop_heartbeat
            set_constant(self.feed, "snapshot", snap)

    def history_frame(self, seconds: float | None = None) -> pd.DataFrame:
        """Community history as a DataFrame (last `seconds` of simulated time, or all kept)."""
        return self.history.to_frame(seconds)

    # ------------------------------------------------------------------ listeners
    def subscribe(self, callback: Listener) -> None:
        """Call `callback(snapshot)` on the engine thread after every tick. Keep it short.

        It is a watcher on the feed's ``snapshot`` parameter; an exception in it is
        logged and reaches neither the other listeners nor the loop.
        """

        def deliver(event: param.parameterized.Event) -> None:
            try:
                callback(event.new)
            except Exception:  # a viewer's failure must never stop the engine
                log.exception("snapshot listener failed")

        with self._subscriptions_lock:
            if callback not in self._subscriptions:
                self._subscriptions[callback] = self.feed.param.watch(deliver, "snapshot", onlychanged=False)

    def unsubscribe(self, callback: Listener) -> None:
        """Stop calling `callback`; unknown callbacks are ignored."""
        with self._subscriptions_lock:
            watcher = self._subscriptions.pop(callback, None)
        if watcher is not None:
            self.feed.param.unwatch(watcher)

    @property
    def listener_count(self) -> int:
        """Number of subscribed callbacks."""
        return len(self._subscriptions)

    @property
    def watcher_count(self) -> int:
        """Number of param watchers on this simulation's parameters (its own and open sessions' controls)."""
        return sum(len(ws) for per_name in self.param.watchers.values() for ws in per_name.values())

    # ------------------------------------------------------------------ live changes
    @param.depends("update_interval_ms", watch=True)
    def _interval_changed(self) -> None:
        self._wake.set()

    @param.depends("paused", watch=True)
    def _pause_changed(self) -> None:
        if not self.paused:
            self.clock.resync()
        self._wake.set()

    # ------------------------------------------------------------------ what survives a restart
    def saved_state(self) -> SavedState:
        """What this simulation has accumulated, for :class:`~leg_sim.state_store.StateStore`."""
        with self._step_lock:
            snap = self.snapshot
            return SavedState(
                identity=self._identity, tick=self._tick,
                time_s=snap.timestamp.timestamp() if snap is not None else float("nan"),
                energy_kwh=self.community.energy_accounts(), meter_kwh=self.grid.meter_readings(),
                history=self.history.state(), house_meters_kwh=self.community.meters.readings(),
            )

    def save_state(self) -> bool:
        """Save now (when a state path was given and a tick has run); True when saved."""
        if self._store is None or self.snapshot is None:
            return False
        self._saved_monotonic = time.monotonic()
        return self._store.save(self.saved_state())

    def _restore(self, saved: SavedState) -> None:
        """Continue from `saved`: its tick, accounts, meter and history; in accelerated mode
        also its simulated time. The restart's gap is a jump: it books nothing."""
        try:
            self.history.restore(saved.history)
        except (KeyError, ValueError) as exc:
            log.warning("saved history not used (%s); counters and time are restored", exc)
        self.community.restore_energy_accounts(saved.energy_kwh)
        self.grid.restore_meter_readings(saved.meter_kwh)
        self.community.meters.restore(saved.house_meters_kwh)
        self._tick = saved.tick
        self.restored_tick = saved.tick
        if self.clock.mode == "accelerated":
            self.clock.start = pd.Timestamp(saved.time_s, unit="s", tz="UTC").tz_convert(self.community.timezone)
        log.info("state restored: tick %d, %s, %.3f kWh produced", saved.tick, self.clock.start.isoformat(), saved.energy_kwh["production_kwh"])

    # ------------------------------------------------------------------ the tick
    def step(self) -> Snapshot:
        """Advance one tick, publish its snapshot to every listener and return it. Raises if the tick fails."""
        with self._step_lock:
            snap = self._compute()
            self.history.append(snap.history_row(), dt_s=snap.dt_s)  # the step, so a jump of time books no energy
            self._tick = snap.tick
            self.last_tick_monotonic = time.monotonic()
            set_constant(self.feed, "snapshot", snap)  # every listener runs now, on this thread
        return snap

    def _compute(self) -> Snapshot:
        """The next instant with the live parameters as they are now, as a snapshot."""
        if self.clock.mode != self.clock_mode:
            self.clock.set_mode(self.clock_mode)
        self.clock.set_speed(self.speed_factor)
        now, dt_s = self.clock.tick(self.update_interval_ms)
        self.community.set_house_count(self.house_count)
        instant = self.chain.run(
            now, dt_s, pv_variation=self.pv_variation == "enabled", flex_load_probability=float(self.flex_load_probability)
        )
        return Snapshot.from_instant(self._tick + 1, instant)

    # ------------------------------------------------------------------ the loop
    def start(self) -> None:
        """Tick on a background thread every ``update_interval_ms`` until :meth:`stop`."""
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="leg-sim-engine", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the background loop, wait for it to end, and save the state."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._thread = None
        self.save_state()

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
                    self._error_log.failed(self._tick + 1, self.last_error, started)
                self.last_step_s = time.monotonic() - started
                if self.last_step_s > self.update_interval_ms / 1000.0:
                    self.overrun_count += 1
            if self._store is not None and time.monotonic() - self._saved_monotonic >= SAVE_EVERY_S:
                self.save_state()
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

    # ------------------------------------------------------------------ health
    def status(self) -> dict[str, Any]:
        """Loop health for /healthz and logs: tick, ages, counters. Times in seconds."""
        now = time.monotonic()
        snap = self.snapshot
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
            "listeners": self.listener_count,
            "watchers": self.watcher_count,
        }

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Whether the loop is healthy, with :meth:`status` plus ``status``, ``stale_after_s``
        and ``tick_lag_s``.

        Healthy while ticks keep coming: the last tick is younger than
        :func:`stale_after_s` (:data:`STALE_INTERVALS` intervals, at least
        :data:`MIN_STALE_S`), so a busy moment does not flap the health check while
        a stop still shows within seconds. While paused, healthy as long as the loop
        itself is alive. ``status`` is ``ok``, ``paused``, ``stalled`` or ``stopped``.
        """
        status = self.status()
        limit_s = stale_after_s(self.update_interval_ms)
        status["stale_after_s"] = round(limit_s, 3)
        age_s = status["tick_age_s"]
        # How far the next tick is behind its schedule (0 while on time). [s]
        status["tick_lag_s"] = None if age_s is None else round(max(age_s - self.update_interval_ms / 1000.0, 0.0), 3)
        if not status["running"]:
            state, ok = "stopped", False
        elif status["paused"]:
            ok = status["loop_age_s"] is not None and status["loop_age_s"] <= limit_s
            state = "paused" if ok else "stalled"
        else:
            ok = age_s is not None and age_s <= limit_s
            state = "ok" if ok else "stalled"
        status["status"] = state
        return ok, status
