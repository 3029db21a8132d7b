"""The MQTT link: every house as a smart meter, the community, and Home Assistant discovery.

With ``mqtt.enabled: true`` the server publishes, every ``mqtt.publish_interval_s``
of wall-clock time:

* each house on ``{MAC}/SENSOR`` (under ``mqtt.meter_prefix`` when one is set) in
  the smart meters' format (:mod:`leg_sim.meters`): what a collector that
  subscribes to ``+/SENSOR`` expects;
* the community on ``{topic_prefix}/community``: its powers [W], KPIs [-] and
  energy since start [kWh], one JSON document;
* ``{topic_prefix}/status``: ``online`` (retained), and ``offline`` as the last
  will when the server goes away without saying so.

With ``mqtt.discovery`` it announces, retained, one Home Assistant MQTT
discovery config per sensor (``{discovery_prefix}/sensor/<node>/<sensor>/config``):
for the community device its powers, KPIs and energies, and for every house
device its net power and its import and export energy, each with its device
class, unit, state class and the availability topic, so a Home Assistant
instance shows them with no YAML. A house that leaves the community has its
configs removed (an empty retained message).

With ``mqtt.workers`` it is also the engine of worker servers: each tick's snapshot
goes out on ``{topic_prefix}/engine/snapshot`` and commands come in on
``{topic_prefix}/engine/command`` (:mod:`leg_sim.server.cluster`).

Real meters come in the other way: for every house with ``source: mqtt`` the link
subscribes to its ``topic`` and hands each message to the simulation's
:class:`~leg_sim.meters.MeterInbox`, which checks it and keeps the latest valid
one. Such a house is not published or announced (it is a meter of its own).

The client is paho-mqtt (the reference Python client, Eclipse): it runs its own
network thread, reconnects by itself with a growing delay (1 s to 60 s), and
its ``publish`` is thread-safe, so the simulation never waits for the broker.
A broker that is down at start or goes away is one log line each time; while
disconnected nothing is queued (rounds are skipped and counted), so
memory stays flat: a round that falls due while disconnected is skipped. The link's own thread builds the messages from the newest
snapshot; the engine thread only hands the snapshot over.

User name and password come from ``LEG_MQTT_USERNAME`` and ``LEG_MQTT_PASSWORD``
(never from the config file); ``mqtts://`` connects with TLS, checking the
broker's certificate against ``mqtt.tls_ca_file`` or the system's CAs.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

import paho.mqtt.client as paho

from leg_sim import meters
from leg_sim.config import broker_address
from leg_sim.server import cluster
from leg_sim.server.mqtt_client import RECONNECT_MIN_S, new_client
from leg_sim.snapshot import Snapshot, json_float

log = logging.getLogger("leg_sim.mqtt")

ONLINE, OFFLINE = "online", "offline"
#: Longest reconnect delay after the broker went away (it doubles from RECONNECT_MIN_S). [s]
RECONNECT_MAX_S = 60
KEEPALIVE_S = 30

#: Community sensors: (key in the community message, name, device class, unit, state class).
COMMUNITY_SENSORS = (
    ("total_production_w", "Production", "power", "W", "measurement"),
    ("total_consumption_w", "Consumption", "power", "W", "measurement"),
    ("shared_w", "Shared locally", "power", "W", "measurement"),
    ("grid_import_w", "Grid import", "power", "W", "measurement"),
    ("grid_export_w", "Grid export", "power", "W", "measurement"),
    ("self_sufficiency_pct", "Self-sufficiency", None, "%", "measurement"),
    ("self_consumption_pct", "Self-consumption", None, "%", "measurement"),
    ("production_kwh", "Energy produced", "energy", "kWh", "total_increasing"),
    ("consumption_kwh", "Energy consumed", "energy", "kWh", "total_increasing"),
    ("shared_kwh", "Energy shared locally", "energy", "kWh", "total_increasing"),
    ("grid_import_kwh", "Grid import energy", "energy", "kWh", "total_increasing"),
    ("grid_export_kwh", "Grid export energy", "energy", "kWh", "total_increasing"),
)
#: House sensors: (object id, name, device class, unit, state class, value template on the meter message).
HOUSE_SENSORS = (
    ("power", "Net power", "power", "W", "measurement", "{{ ((value_json.Po - value_json.Pi) * 1000) | round(0) }}"),
    ("energy_import", "Energy drawn", "energy", "kWh", "total_increasing", "{{ value_json.Ei }}"),
    ("energy_export", "Energy delivered", "energy", "kWh", "total_increasing", "{{ value_json.Eo }}"),
)


def community_message(snap: Snapshot) -> dict[str, Any]:
    """The community's message of one snapshot (pure): powers [W], KPIs [%], energy since start [kWh]."""

    def pct(share: float | None) -> float | None:
        value = json_float(share)
        return None if value is None else round(value * 100.0, 2)

    return {
        "ts": int(snap.timestamp.timestamp()),
        "tick": snap.tick,
        "total_production_w": round(snap.total_production_w, 1),
        "total_consumption_w": round(snap.total_consumption_w, 1),
        "shared_w": round(snap.shared_w, 1),
        "grid_import_w": round(snap.grid_import_w, 1),
        "grid_export_w": round(snap.grid_export_w, 1),
        "self_sufficiency_pct": pct(snap.self_sufficiency),
        "self_consumption_pct": pct(snap.self_consumption),
        **{k: round(float(v), 4) for k, v in snap.energy_kwh.items()},
    }


class Topics:
    """Where everything goes, from the ``mqtt`` settings (pure)."""

    def __init__(self, settings: Mapping[str, Any]):
        self.prefix = settings["mqtt.topic_prefix"]
        self.meter_prefix = settings["mqtt.meter_prefix"] or ""
        self.discovery_prefix = settings["mqtt.discovery_prefix"]
        self.status = f"{self.prefix}/status"
        self.community = f"{self.prefix}/community"

    def meter(self, address: str) -> str:
        return meters.sensor_topic(address, self.meter_prefix)

    def discovery(self, node: str, sensor: str) -> str:
        return f"{self.discovery_prefix}/sensor/{node}/{sensor}/config"


def _sensor_config(name: str, unique_id: str, state_topic: str, template: str, device: dict, status: str,
                   device_class: str | None, unit: str, state_class: str) -> dict[str, Any]:
    config: dict[str, Any] = {
        "name": name,
        "unique_id": unique_id,
        "object_id": unique_id,
        "state_topic": state_topic,
        "value_template": template,
        "unit_of_measurement": unit,
        "state_class": state_class,
        "availability_topic": status,
        "payload_available": ONLINE,
        "payload_not_available": OFFLINE,
        "device": device,
    }
    if device_class:
        config["device_class"] = device_class
    return config


def community_discovery(topics: Topics, community_id: str) -> dict[str, dict]:
    """Discovery configs of the community device, by topic (pure)."""
    device = {"identifiers": [community_id], "name": "LEG community", "manufacturer": "LEG-Simulator", "model": "simulated community"}
    node = community_id.replace("-", "_")
    return {
        topics.discovery(node, key): _sensor_config(
            name, f"{node}_{key}", topics.community, f"{{{{ value_json.{key} }}}}", device, topics.status, device_class, unit, state_class
        )
        for key, name, device_class, unit, state_class in COMMUNITY_SENSORS
    }


def house_discovery(topics: Topics, house_id: str, address: str) -> dict[str, dict]:
    """Discovery configs of one house device, by topic (pure)."""
    node = "leg_" + address.replace("-", "").lower()
    device = {
        "identifiers": [node], "name": f"LEG house {house_id}", "manufacturer": "LEG-Simulator", "model": "simulated smart meter",
        "connections": [["mac", address.replace("-", ":").lower()]],
    }
    return {
        topics.discovery(node, key): _sensor_config(
            f"{house_id} {name.lower()}", f"{node}_{key}", topics.meter(address), template, device, topics.status, device_class, unit, state_class
        )
        for key, name, device_class, unit, state_class, template in HOUSE_SENSORS
    }


class MqttLink:
    """Publishes one Simulation over MQTT; see the module docstring.

    Parameters
    ----------
    sim
        The simulation (its ``settings`` and snapshots).
    environ
        Where the user name and password come from.
    """

    def __init__(self, sim: Any, environ: Mapping[str, str]):
        self.sim = sim
        self.settings = sim.settings
        self.topics = Topics(self.settings)
        self.seed = int(self.settings["seed"])
        self.community_id = f"leg-sim-{self.settings['mqtt.client_id']}"
        self.interval_s = float(self.settings["mqtt.publish_interval_s"])
        self.discovery = bool(self.settings["mqtt.discovery"])
        self.host, self.port, _ = broker_address(self.settings["mqtt.broker"])
        self.url = str(self.settings["mqtt.broker"])
        #: Messages handed to the client, messages the client refused, rounds skipped while disconnected.
        self.sent = self.dropped = self.skipped_rounds = 0
        #: Wall-clock time the last round of messages took. [s]
        self.last_round_s = 0.0
        self.connected = False
        self._announced: dict[str, str] = {}  # house id -> address, as announced for discovery
        self._latest: Snapshot | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._addresses: dict[str, tuple[str, str]] = {}
        #: Topics of the measured houses (source: mqtt), subscribed on every connection.
        self.meter_topics = tuple(h.topic for h in self.settings.house_overrides if h.source == "mqtt")
        self.inbox: meters.MeterInbox = sim.chain.inbox
        #: Serving workers: each tick's snapshot out, their commands in (leg_sim.server.cluster).
        self.workers = bool(self.settings["mqtt.workers"])
        self.desk = cluster.CommandDesk(sim, lambda topic, payload: self._publish(topic, payload)) if self.workers else None
        self._shared: Snapshot | None = None
        self._shared_at = 0.0
        #: Snapshots published for workers.
        self.snapshots_shared = 0
        self._down_logged = False
        client = new_client(self.settings, environ, str(self.settings["mqtt.client_id"]), RECONNECT_MAX_S)
        client.will_set(self.topics.status, OFFLINE, qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self.client = client
        self._thread = threading.Thread(target=self._run, name="leg-mqtt", daemon=True)

    # ------------------------------------------------------------------ life cycle
    def start(self) -> MqttLink:
        """Connect in the background (a broker that is down is retried) and start publishing."""
        self.client.connect_async(self.host, self.port, keepalive=KEEPALIVE_S)
        self.client.loop_start()
        self._thread.start()
        self.sim.subscribe(self._on_snapshot)
        log.info("MQTT link to %s started: meters every %g s", self.url, self.interval_s)
        return self

    def stop(self) -> None:
        """Say offline, disconnect, and stop both threads."""
        self.sim.unsubscribe(self._on_snapshot)
        self._stop.set()
        self._wake.set()
        if self.connected:
            self.client.publish(self.topics.status, OFFLINE, qos=1, retain=True).wait_for_publish(2.0)
        self.client.disconnect()
        self.client.loop_stop()
        if self._thread.is_alive():  # a link driven by hand (benchmarks) never started it
            self._thread.join(5.0)

    # ------------------------------------------------------------------ broker events (paho's thread)
    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any = None) -> None:
        if getattr(reason, "is_failure", False):
            log.warning("MQTT broker %s refused the connection: %s", self.url, reason)
            return
        self.connected = True
        self._down_logged = False
        log.info("MQTT connected to %s", self.url)
        client.publish(self.topics.status, ONLINE, qos=1, retain=True)
        subscriptions = [(topic, 0) for topic in self.meter_topics]
        if self.desk is not None:
            subscriptions.append((self.desk.topics.command, 1))
        if subscriptions:
            client.subscribe(subscriptions)
        self._announced = {}  # announce everything again: the broker may have lost its retained messages
        self._wake.set()

    def _on_connect_fail(self, client: paho.Client, userdata: Any) -> None:
        if not self._down_logged:
            self._down_logged = True
            log.warning("MQTT broker %s cannot be reached; the simulation goes on and the link retries every %d-%d s",
                        self.url, RECONNECT_MIN_S, RECONNECT_MAX_S)

    def _on_disconnect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any = None) -> None:
        was = self.connected
        self.connected = False
        if was and not self._stop.is_set():
            self._down_logged = True
            log.warning("MQTT broker %s went away (%s); reconnecting", self.url, reason)

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        """A measured house's meter spoke (the inbox checks the message and keeps it if valid), or a
        worker sent a command."""
        if self.desk is not None and message.topic == self.desk.topics.command:
            self.desk.receive(message.payload)
            return
        self.inbox.receive(message.topic, message.payload)

    # ------------------------------------------------------------------ publishing (the link's thread)
    def _on_snapshot(self, snap: Snapshot) -> None:
        """Engine thread: keep the newest snapshot; the link's thread publishes."""
        self._latest = snap
        if self.workers:
            self._wake.set()

    def _address(self, house_id: str) -> tuple[str, str]:
        known = self._addresses.get(house_id)
        if known is None:
            known = (meters.meter_address(self.seed, house_id), meters.meter_number(self.seed, house_id))
            self._addresses[house_id] = known
        return known

    def _publish(self, topic: str, payload: str | bytes, retain: bool = False) -> None:
        if not self.connected:
            self.dropped += 1
            return
        info = self.client.publish(topic, payload, qos=0, retain=retain)
        if info.rc == paho.MQTT_ERR_SUCCESS:
            self.sent += 1
        else:
            self.dropped += 1

    def _announce(self, snap: Snapshot) -> None:
        """Discovery configs for the community (once per connection) and for houses not announced yet;
        the configs of houses that left are removed."""
        if not self._announced:
            for topic, config in community_discovery(self.topics, self.community_id).items():
                self._publish(topic, json.dumps(config), retain=True)
        current = {h: self._address(h)[0] for i, h in enumerate(snap.house_ids) if not snap.is_measured(i)}
        for house_id, address in current.items():
            if self._announced.get(house_id) != address:
                for topic, config in house_discovery(self.topics, house_id, address).items():
                    self._publish(topic, json.dumps(config), retain=True)
        for house_id, address in self._announced.items():
            if house_id not in current:
                for topic in house_discovery(self.topics, house_id, address):
                    self._publish(topic, b"", retain=True)
        self._announced = current if self.connected else {}

    def publish_round(self, snap: Snapshot) -> None:
        """One round: discovery as needed, every meter, the community."""
        start = time.monotonic()
        if self.discovery:
            self._announce(snap)
        time_s = snap.timestamp.timestamp()
        imports, exports = snap.meter_import_kwh, snap.meter_export_kwh
        for i, house_id in enumerate(snap.house_ids):
            if snap.is_measured(i):
                continue  # a real meter publishes itself
            address, number = self._address(house_id)
            payload = meters.sensor_payload(number, float(snap.net_power_w[i]), float(imports[i]), float(exports[i]), time_s)
            self._publish(self.topics.meter(address), json.dumps(payload, separators=(",", ":")))
        self._publish(self.topics.community, json.dumps(community_message(snap), separators=(",", ":")))
        self.last_round_s = time.monotonic() - start

    def _share(self, snap: Snapshot) -> None:
        """Publish `snap` for the workers, retained (a worker that connects sees the newest at once);
        the same snapshot again every :data:`cluster.HEARTBEAT_S` while no new one comes (paused, a long
        interval), with the parameters as they are now."""
        assert self.desk is not None, "snapshots are shared only with workers on, which makes the desk"
        self._shared, self._shared_at = snap, time.monotonic()
        try:
            self._publish(self.desk.topics.snapshot, snap.to_wire({"live": self.sim.live_values()}), retain=True)
            self.snapshots_shared += 1
        except Exception:  # one snapshot that cannot be sent must not end the link
            log.exception("sharing a snapshot failed")

    def _run(self) -> None:
        next_s = time.monotonic()
        while not self._stop.is_set():
            wait_s = max(next_s - time.monotonic(), 0.05)
            if self.workers:
                wait_s = min(wait_s, cluster.HEARTBEAT_S)
            self._wake.wait(wait_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            snap = self._latest
            if self.workers and snap is not None and self.connected and (
                snap is not self._shared or time.monotonic() - self._shared_at >= cluster.HEARTBEAT_S
            ):
                self._share(snap)
            if snap is None or time.monotonic() < next_s:
                continue
            if not self.connected:
                # Nothing is kept for later: the round is skipped, the next one has the newest values.
                self.skipped_rounds += 1
                next_s = time.monotonic() + self.interval_s
                continue
            try:
                self.publish_round(snap)
            except Exception:  # a failure of one round must not end the link
                log.exception("MQTT publish round failed")
            next_s = time.monotonic() + self.interval_s

    def health(self) -> dict[str, Any]:
        """The link's state for /healthz."""
        counts = self.inbox.counts()
        return {"broker": self.url, "connected": self.connected, "messages_sent": self.sent, "messages_dropped": self.dropped,
                "rounds_skipped": self.skipped_rounds, "last_round_ms": round(self.last_round_s * 1000.0, 1),
                "meter_topics": len(self.meter_topics), "meter_messages_taken": counts["accepted"], "meter_messages_rejected": counts["rejected"],
                **({"snapshots_shared": self.snapshots_shared, "commands_applied": self.desk.applied, "commands_refused": self.desk.refused,
                    "histories_sent": self.desk.histories} if self.desk is not None else {})}


_link: list[MqttLink] = []


def start(sim: Any, environ: Mapping[str, str]) -> MqttLink | None:
    """Start the process's link when the config enables it (once); None when it does not."""
    if not sim.settings["mqtt.enabled"]:
        return None
    if not _link:
        _link.append(MqttLink(sim, environ).start())
    return _link[0]


def link() -> MqttLink | None:
    """The process's link, if started."""
    return _link[0] if _link else None
