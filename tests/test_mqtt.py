"""The MQTT link against a real broker (Debian's mosquitto on 127.0.0.1): every house as a smart
meter on {MAC}/SENSOR, the community, Home Assistant discovery, and a broker that is down or restarts.

Without mosquitto the module is skipped; with ``LEG_REQUIRE_BROKER=1`` (CI) it fails instead.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import signal
import time

import pytest
from broker_support import Broker, Subscriber, mosquitto_path
from conftest import make_sim
from server_support import Server, free_port, get_json

from leg_sim import meters
from leg_sim.server.mqtt_link import COMMUNITY_SENSORS, HOUSE_SENSORS, MqttLink

if mosquitto_path() is None:
    if os.environ.get("LEG_REQUIRE_BROKER") == "1":
        pytest.fail("no mosquitto (apt-get install mosquitto); LEG_REQUIRE_BROKER=1 forbids skipping", pytrace=False)
    pytest.skip("no mosquitto at /usr/sbin/mosquitto or on PATH (apt-get install mosquitto)", allow_module_level=True)

SPEC_KEYS = ["SMid", "Pi", "Po", "I1", "I2", "I3", "Ei", "Eo", "Q5", "Q6", "Q7", "Q8", "ts"]
METER_TOPIC = re.compile(r"^02(-[0-9A-F]{2}){5}/SENSOR$")


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    with Broker(tmp_path_factory.mktemp("broker"), free_port()) as b:
        yield b


def running_sim(broker_url: str, houses: int = 4, seed: int = 7, **mqtt):
    sim = make_sim(
        houses=houses, seed=seed, update_interval_ms=100, clock={"speed_factor": 600.0},
        mqtt={"enabled": True, "broker": broker_url, "publish_interval_s": 1.0, "client_id": f"t{time.monotonic_ns()}", **mqtt},
    )
    sim.start()
    return sim


def meter_messages(sub: Subscriber) -> list[tuple[str, dict]]:
    return sub.json_of(lambda t: bool(METER_TOPIC.match(t)))


def test_every_house_publishes_as_a_smart_meter(broker):
    sub = Subscriber(broker.port, ("+/SENSOR", "leg/#"))
    sim = running_sim(broker.url, houses=4)
    link = MqttLink(sim, {}).start()
    try:
        assert sub.wait_for(lambda: len(meter_messages(sub)) >= 12), sub.snapshot()[:5]
        by_topic: dict[str, list[dict]] = {}
        for topic, payload in meter_messages(sub):
            by_topic.setdefault(topic, []).append(payload)
        assert len(by_topic) == 4  # one stable address per house
        for payloads in by_topic.values():
            assert all(list(p) == SPEC_KEYS for p in payloads)
            assert len({p["SMid"] for p in payloads}) == 1 and re.fullmatch(r"\d{8}", payloads[0]["SMid"])
            assert all(p["Pi"] == 0 or p["Po"] == 0 for p in payloads)
            # Meter readings never go down, and time goes on.
            for a, b in itertools.pairwise(payloads):
                assert b["Ei"] >= a["Ei"] and b["Eo"] >= a["Eo"] and b["ts"] > a["ts"]
        community = sub.json_of(lambda t: t == "leg/community")
        assert community and {key for key, *_ in COMMUNITY_SENSORS} <= set(community[-1][1])
        status = [p for t, p, retained, _ in sub.snapshot() if t == "leg/status"]
        assert status and status[-1] == b"online"
        assert link.health()["connected"] and link.health()["messages_dropped"] == 0
    finally:
        link.stop()
        sim.stop()
        sub.close()


def test_home_assistant_discovers_the_community_and_every_house(broker):
    sim = running_sim(broker.url, houses=3, seed=101, client_id="discovery")
    link = MqttLink(sim, {}).start()
    nodes = {"leg_" + meters.meter_address(101, h).replace("-", "").lower() for h in ("H001", "H002", "H003")} | {"leg-sim-discovery"}

    def ours() -> list[tuple[str, dict]]:
        return [(t, c) for t, c in late.json_of(lambda t: t.endswith("/config")) if c["device"]["identifiers"][0] in nodes]

    try:
        time.sleep(2.5)
        # Home Assistant starting later still finds every config: they are retained.
        late = Subscriber(broker.port, ("homeassistant/#",))
        assert late.wait_for(lambda: len(ours()) >= len(COMMUNITY_SENSORS) + 3 * len(HOUSE_SENSORS))
        configs = ours()
        assert all(retained for _, _, retained, _ in late.snapshot())
        houses = {c["device"]["name"] for _, c in configs if c["device"]["name"].startswith("LEG house")}
        assert houses == {"LEG house H001", "LEG house H002", "LEG house H003"}
        for topic, config in configs:
            assert re.fullmatch(r"homeassistant/sensor/[a-z0-9_]+/[a-z_]+/config", topic)
            assert config["availability_topic"] == "leg/status" and config["unit_of_measurement"] in ("W", "kWh", "%")
            assert config["state_class"] in ("measurement", "total_increasing")
            if config["unit_of_measurement"] == "kWh":
                assert config["device_class"] == "energy" and config["state_class"] == "total_increasing"
            if config["unit_of_measurement"] == "W":
                assert config["device_class"] == "power"
        assert len({c["unique_id"] for _, c in configs}) == len(configs)
        # A house that leaves takes its sensors with it.
        sim.house_count = 2
        gone = [t for t, c in configs if c["device"]["name"] == "LEG house H003"]
        assert late.wait_for(lambda: all(any(t == g and not p for t, p, _, _ in late.snapshot()) for g in gone), timeout_s=10)
        late.close()
    finally:
        link.stop()
        sim.stop()


def test_a_broker_that_is_down_at_start_or_restarts_is_one_line_each_and_the_link_comes_back(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="leg_sim.mqtt")
    port = free_port()
    broker = Broker(tmp_path, port)
    sim = running_sim(broker.url, houses=2)
    link = MqttLink(sim, {}).start()
    try:
        time.sleep(3.0)
        tick = sim.tick
        assert tick > 10  # the simulation goes on without a broker
        assert sum("cannot be reached" in r.message for r in caplog.records) == 1
        broker.start()
        sub = Subscriber(port, ("+/SENSOR",))
        assert sub.wait_for(lambda: len(meter_messages(sub)) >= 2, timeout_s=30), "no meter message after the broker came up"
        sub.close()
        broker.stop()
        time.sleep(2.0)
        assert sum("went away" in r.message for r in caplog.records) == 1
        assert not link.connected and sim.tick > tick
        skipped = link.skipped_rounds
        assert skipped >= 1  # what fell in the outage was skipped, not queued
        broker.start()
        sub = Subscriber(port, ("+/SENSOR",))
        assert sub.wait_for(lambda: len(meter_messages(sub)) >= 2, timeout_s=30), "no meter message after the broker restarted"
        # The first round after the outage is one message per house, not a backlog.
        first = sub.snapshot()
        assert len([m for m in first if m[3] - first[0][3] < 0.5]) <= 2
        sub.close()
    finally:
        link.stop()
        sim.stop()
        broker.stop()


def test_a_served_community_publishes_reports_the_link_and_leaves_a_last_will(tmp_path, broker):
    sub = Subscriber(broker.port, ("+/SENSOR", "site/leg/#"))
    config = {"houses": 3, "mqtt": {"enabled": True, "broker": broker.url, "publish_interval_s": 1.0, "topic_prefix": "site/leg",
                                    "client_id": "served"}}
    srv = Server(tmp_path, config).start()
    try:
        assert sub.wait_for(lambda: len(meter_messages(sub)) >= 3)
        _, health = get_json(srv.base + "/healthz")
        assert health["mqtt"]["connected"] is True and health["mqtt"]["messages_sent"] >= 3
        _, state = get_json(srv.base + "/api/state")
        assert all(h["meter_import_kwh"] >= 0 and h["meter_export_kwh"] >= 0 for h in state["houses"])
        os.killpg(srv.proc.pid, signal.SIGKILL)  # gone without a word: the broker says so (keepalive)
        srv.proc.wait(10)
        assert sub.wait_for(lambda: any(t == "site/leg/status" and p == b"offline" for t, p, _, _ in sub.snapshot()), timeout_s=60)
    finally:
        srv.stop()
        sub.close()


def test_with_mqtt_off_nothing_connects(tmp_path, broker):
    sub = Subscriber(broker.port, ("#",))
    srv = Server(tmp_path, {"houses": 3}).start()
    try:
        time.sleep(2.0)
        _, health = get_json(srv.base + "/healthz")
        assert "mqtt" not in health
        assert [t for t, _, retained, _ in sub.snapshot() if not retained] == []
    finally:
        srv.stop()
        sub.close()


def test_messages_are_json_documents(broker):
    """Every message the link sends is valid JSON (or an empty retained removal, or the status word)."""
    sub = Subscriber(broker.port, ("#",))
    sim = running_sim(broker.url, houses=2, topic_prefix="json/check")
    link = MqttLink(sim, {}).start()
    try:
        assert sub.wait_for(lambda: len(meter_messages(sub)) >= 2)
        for topic, payload, _, _ in sub.snapshot():
            if topic.endswith("/status"):
                assert payload in (b"online", b"offline")
            elif payload:
                json.loads(payload)
    finally:
        link.stop()
        sim.stop()
        sub.close()
