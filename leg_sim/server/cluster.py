"""Scale-out through the broker: one engine, several worker servers that show its community.

An engine is an ordinary server whose config has ``mqtt.workers: true``. Its MQTT
link (:mod:`leg_sim.server.mqtt_link`) then publishes every tick's snapshot,
retained, on ``{topic_prefix}/engine/snapshot`` (:meth:`leg_sim.snapshot.Snapshot.to_wire`:
compact JSON, arrays as base64 of their bytes, so every value arrives exactly; the
live parameters travel along) and takes control changes from
``{topic_prefix}/engine/command`` (:func:`apply_command`: each value is checked
against the same declaration as the widget, as a browser's is).

A worker (``python -m leg_sim serve --worker``, same config file) runs no
simulation of its own: its :class:`~leg_sim.engine.Simulation` never ticks but
follows the engine's snapshots (:meth:`~leg_sim.engine.Simulation.follow`), so its
pages, feed, JSON routes and health work as on the engine. Its controls send their
changes to the command topic (:class:`WorkerLink`); the engine applies them and
every worker shows them with the next snapshot. On connecting, a worker asks the
engine for its history (``{"history": <worker id>}``; the answer comes on
``{topic_prefix}/engine/history/<worker id>``), so its charts and today's energy
match the engine's from the start. paho reconnects by itself: a worker survives an
engine or broker restart and goes on with the next snapshot; a worker that dies
affects nobody else.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any

import numpy as np
import paho.mqtt.client as paho

from leg_sim.config import ROLE_WORKER, broker_address
from leg_sim.engine import CONTROLLED, Simulation
from leg_sim.server.mqtt_client import RECONNECT_MIN_S, new_client
from leg_sim.settings import ControlError, control_value, live_settings
from leg_sim.snapshot import array_from_wire, array_to_wire, from_wire

log = logging.getLogger("leg_sim.cluster")

WORKER = ROLE_WORKER
#: Most commands the engine takes per second from all workers together; more are refused and counted.
MAX_COMMANDS_PER_S = 20.0
#: Longest a command message may be. [bytes]
MAX_COMMAND_BYTES = 4096
#: While no new snapshot comes (paused, a long interval), the engine sends the last one again this often,
#: with its parameters as they are now: workers stay healthy and see a pause or a change at once. [s]
HEARTBEAT_S = 1.0
#: How long a worker keeps a value its viewer set while the engine's snapshots still show the old one. [s]
PENDING_S = 5.0
#: Longest reconnect delay of a worker (it doubles from RECONNECT_MIN_S). [s]
RECONNECT_MAX_S = 30
KEEPALIVE_S = 30


class Topics:
    """The engine's topics under ``mqtt.topic_prefix``."""

    def __init__(self, settings: Any):
        prefix = str(settings["mqtt.topic_prefix"])
        self.snapshot = f"{prefix}/engine/snapshot"
        self.command = f"{prefix}/engine/command"
        self.history = f"{prefix}/engine/history"

    def history_for(self, worker_id: str) -> str:
        return f"{self.history}/{worker_id}"


# --------------------------------------------------------------------------- the engine's side


def check_changes(sim: Simulation, changes: Any) -> dict[str, Any]:
    """The control changes `changes` ({name: value}) as the engine may apply them: every value
    checked against its widget's declaration (:func:`leg_sim.settings.control_value`); ControlError
    (one line) when anything is refused, so that nothing of a bad command is applied."""
    if sim.read_only:
        raise ControlError("the engine is read-only")
    if not isinstance(changes, dict) or not changes:
        raise ControlError("'set' must map control names to values")
    by_name = {s.name: s for s in live_settings()}
    checked: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in CONTROLLED:
            raise ControlError(f"{str(name)[:40]!r} is not a control; allowed: {', '.join(CONTROLLED)}")
        if name == "paused":
            if not isinstance(value, bool):
                raise ControlError(f"paused = {str(value)[:40]!r} was not applied; allowed: true or false")
            checked[name] = value
        else:
            s = by_name[name]
            checked[name] = control_value(s, value, sim.settings[s.key])
    return checked


class CommandDesk:
    """The engine's handling of the command topic: control changes and history requests.

    Parameters
    ----------
    sim
        The engine's simulation.
    publish
        ``publish(topic, payload)`` of the engine's MQTT client.
    """

    def __init__(self, sim: Simulation, publish: Any):
        self.sim = sim
        self.topics = Topics(sim.settings)
        self._publish = publish
        self._allowance = MAX_COMMANDS_PER_S
        self._last_s = time.monotonic()
        #: Commands applied, refused (bad or over the rate), and history answers sent.
        self.applied = self.refused = self.histories = 0
        self._logged_s = -math.inf

    def _within_rate(self) -> bool:
        now = time.monotonic()
        self._allowance = min(MAX_COMMANDS_PER_S, self._allowance + (now - self._last_s) * MAX_COMMANDS_PER_S)
        self._last_s = now
        if self._allowance < 1.0:
            return False
        self._allowance -= 1.0
        return True

    def receive(self, payload: bytes | bytearray) -> str | None:
        """Take one command message; the reason it was refused, or None."""
        try:
            if not self._within_rate():
                raise ControlError(f"more than {MAX_COMMANDS_PER_S:g} commands per second")
            if len(payload) > MAX_COMMAND_BYTES:
                raise ControlError(f"{len(payload)} bytes; at most {MAX_COMMAND_BYTES}")
            try:
                doc = json.loads(payload)
            except (ValueError, RecursionError):
                raise ControlError("not JSON") from None
            if not isinstance(doc, dict):
                raise ControlError("not a JSON object")
            if "history" in doc:
                worker = doc["history"]
                if not isinstance(worker, str) or not worker.isalnum() or len(worker) > 64:
                    raise ControlError("'history' must be a worker id (letters and digits)")
                self._publish(self.topics.history_for(worker), history_message(self.sim))
                self.histories += 1
                return None
            changes = check_changes(self.sim, doc.get("set"))
            for name, value in changes.items():
                setattr(self.sim, name, value)
            self.applied += 1
            log.info("command applied: %s", ", ".join(f"{k}={v!r}" for k, v in changes.items()))
            return None
        except ControlError as exc:
            self.refused += 1
            now = time.monotonic()
            if now - self._logged_s >= 60.0:  # at most one line a minute
                self._logged_s = now
                log.warning("command refused: %s", exc)
            return str(exc)


def history_message(sim: Simulation) -> bytes:
    """The engine's history (:meth:`leg_sim.history.History.state`) as one message."""
    state = sim.history.state()
    return json.dumps({"tick": sim.tick, **{k: array_to_wire(np.asarray(v)) for k, v in state.items()}}, separators=(",", ":")).encode()


def history_from_message(payload: bytes | bytearray) -> dict[str, np.ndarray]:
    """The history state of :func:`history_message`'s bytes; ValueError for anything else."""
    try:
        doc = json.loads(payload)
        return {k: array_from_wire(doc[k]) for k in ("rows", "steps_s", "minute", "covered_s", "energy_ws")}
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise ValueError(f"not a history message: {str(exc)[:80]}") from None


# --------------------------------------------------------------------------- a worker's side


class WorkerLink:
    """A worker's connection to the engine: its snapshots in, its viewers' control changes out.

    Parameters
    ----------
    sim
        The worker's simulation (never started; it follows the engine).
    environ
        Where the broker's user name and password come from.
    """

    def __init__(self, sim: Simulation, environ: Mapping[str, str]):
        self.sim = sim
        self.topics = Topics(sim.settings)
        self.worker_id = uuid.uuid4().hex[:12]
        self.url = str(sim.settings["mqtt.broker"])
        self.host, self.port, _ = broker_address(self.url)
        self.connected = False
        #: Snapshots shown, messages that were no snapshot, commands sent, history answers taken.
        self.snapshots = self.rejected = self.commands = self.histories = 0
        self._pending: dict[str, tuple[Any, float]] = {}  # name -> (value a viewer set, until)
        self._lock = threading.Lock()
        self._down_logged = False
        self._stopping = False
        client = new_client(sim.settings, environ, f"{sim.settings['mqtt.client_id']}-worker-{self.worker_id}", RECONNECT_MAX_S)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self.client = client
        self._watcher: Any = None

    def start(self) -> WorkerLink:
        """Connect in the background (retried while the broker is away) and forward the viewers' changes."""
        self._watcher = self.sim.param.watch(self._from_viewer, list(CONTROLLED))
        self.client.connect_async(self.host, self.port, keepalive=KEEPALIVE_S)
        self.client.loop_start()
        log.info("worker %s follows the engine on %s (%s)", self.worker_id, self.url, self.topics.snapshot)
        return self

    def stop(self) -> None:
        """Disconnect and stop forwarding."""
        self._stopping = True
        if self._watcher is not None:
            self.sim.param.unwatch(self._watcher)
            self._watcher = None
        self.client.disconnect()
        self.client.loop_stop()

    # broker events (paho's thread)
    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any = None) -> None:
        if getattr(reason, "is_failure", False):
            log.warning("MQTT broker %s refused the worker: %s", self.url, reason)
            return
        self.connected = True
        self._down_logged = False
        client.subscribe([(self.topics.snapshot, 0), (self.topics.history_for(self.worker_id), 1)])
        client.publish(self.topics.command, json.dumps({"history": self.worker_id}), qos=1)
        log.info("worker %s connected to %s", self.worker_id, self.url)

    def _on_connect_fail(self, client: paho.Client, userdata: Any) -> None:
        if not self._down_logged:
            self._down_logged = True
            log.warning("MQTT broker %s cannot be reached; the worker retries every %d-%d s", self.url, RECONNECT_MIN_S, RECONNECT_MAX_S)

    def _on_disconnect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any = None) -> None:
        if self.connected and not self._stopping:
            log.warning("MQTT broker %s went away (%s); the worker reconnects", self.url, reason)
        self.connected = False

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        try:
            if message.topic == self.topics.snapshot:
                snap, extra = from_wire(message.payload)
                live = extra.get("live")
                started_over = snap.tick < self.sim.tick
                self.sim.follow(snap, self._without_pending(live if isinstance(live, dict) else {}))
                self.snapshots += 1
                if started_over:  # the engine restarted from an older state: take its history again
                    client.publish(self.topics.command, json.dumps({"history": self.worker_id}), qos=1)
            else:
                self.sim.history.restore(history_from_message(message.payload))
                self.histories += 1
        except ValueError as exc:
            self.rejected += 1
            if self.rejected == 1 or self.rejected % 1000 == 0:
                log.warning("worker %s: message on %s not taken (%d so far): %s", self.worker_id, message.topic, self.rejected, exc)

    def _without_pending(self, live: dict[str, Any]) -> dict[str, Any]:
        """The engine's values, except those a viewer here changed and the engine has not shown yet
        (so the widget does not jump back for the ticks the change is on its way)."""
        now = time.monotonic()
        with self._lock:
            for name, (value, until) in list(self._pending.items()):
                if live.get(name) == value or now > until:
                    del self._pending[name]
            return {k: v for k, v in live.items() if k not in self._pending}

    # a viewer's change (the session's thread)
    def _from_viewer(self, *events: Any) -> None:
        if self.sim.applying_remote:
            return
        changes = {e.name: e.new for e in events}
        with self._lock:
            for name, value in changes.items():
                self._pending[name] = (value, time.monotonic() + PENDING_S)
        self.client.publish(self.topics.command, json.dumps({"set": changes}), qos=1)
        self.commands += 1

    def health(self) -> dict[str, Any]:
        """The worker's link for /healthz."""
        return {"role": WORKER, "worker_id": self.worker_id, "broker": self.url, "connected": self.connected,
                "snapshots": self.snapshots, "rejected": self.rejected, "commands_sent": self.commands, "histories": self.histories}


_worker: list[WorkerLink] = []


def start_worker(sim: Simulation, environ: Mapping[str, str]) -> WorkerLink:
    """Start the process's worker link (once)."""
    if not _worker:
        _worker.append(WorkerLink(sim, environ).start())
    return _worker[0]


def worker() -> WorkerLink | None:
    """The process's worker link, if this server is a worker."""
    return _worker[0] if _worker else None
