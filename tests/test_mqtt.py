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
import urllib.request

import paho.mqtt.client as paho
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


def publish(port: int, topic: str, payloads: list[bytes]) -> None:
    """Publish `payloads` on `topic` as a meter would, and wait until the broker has them."""
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"meter-{time.monotonic_ns()}")
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        for payload in payloads:
            client.publish(topic, payload, qos=1).wait_for_publish(5.0)
    finally:
        client.loop_stop()
        client.disconnect()


def house(srv: Server, house_id: str) -> dict:
    _, state = get_json(srv.base + "/api/state")
    return next(h for h in state["houses"] if h["house_id"] == house_id)


def test_a_real_meter_shows_up_its_bad_messages_are_counted_and_its_silence_is_stale(tmp_path, broker):
    """A house with source: mqtt takes its power from a meter on the broker: valid messages show in
    /api/state with their age, bad ones are counted by reason and change nothing, silence turns
    it stale (0 W), the balance holds throughout, and the simulator does not publish it itself."""
    meter_topic = "AA-11-BB-22-CC-01/SENSOR"
    config = {
        "houses": [{"source": "mqtt", "topic": meter_topic}, {}, {}],
        "update_interval_ms": 200,
        "mqtt": {"enabled": True, "broker": broker.url, "publish_interval_s": 1.0, "client_id": "measured", "stale_after_s": 4.0},
    }
    sub = Subscriber(broker.port, ("+/SENSOR",))
    srv = Server(tmp_path, config).start()
    try:
        assert sub.wait_for(lambda: get_json(srv.base + "/healthz")[1].get("mqtt", {}).get("connected"))
        assert house(srv, "H001")["stale"] is True and house(srv, "H001")["data_age_s"] is None
        ts = int(time.time())
        publish(broker.port, meter_topic, [json.dumps({"SMid": "60222760", "Pi": 0.0, "Po": 2.345, "ts": ts}).encode()])
        assert sub.wait_for(lambda: house(srv, "H001")["stale"] is False)
        h1 = house(srv, "H001")
        assert h1["source"] == "mqtt" and h1["net_power_w"] == pytest.approx(2345.0) and 0.0 <= h1["data_age_s"] < 4.0
        assert house(srv, "H002")["source"] == "model"
        bad = [b"not json", b"[1]", b'{"Pi": -1, "Po": 0}', b'{"Pi": 999, "Po": 0}', json.dumps({"Pi": 5.0, "Po": 0.0, "ts": ts - 10}).encode()]
        publish(broker.port, meter_topic, bad)
        expected = {"not JSON": 1, "not an object": 1, "bad power": 1, "out of range": 1, "out of order": 1}

        def rejected() -> dict:
            counts = get_json(srv.base + "/healthz")[1]["mqtt"]["meter_messages_rejected"]
            return {reason: n for reason, n in counts.items() if n}

        assert sub.wait_for(lambda: rejected() == expected), rejected()
        assert house(srv, "H001")["net_power_w"] == pytest.approx(2345.0)  # nothing bad reached the balance
        metrics = urllib.request.urlopen(srv.base + "/metrics", timeout=10).read().decode()
        assert 'leg_mqtt_messages_rejected_total{reason="out of order"} 1.0' in metrics
        assert "leg_mqtt_messages_received_total 1.0" in metrics
        # Silence: after stale_after_s the house counts as 0 W, said plainly.
        assert sub.wait_for(lambda: house(srv, "H001")["stale"] is True, timeout_s=15.0)
        _, state = get_json(srv.base + "/api/state")
        h1 = state["houses"][0]
        assert h1["net_power_w"] == 0.0 and h1["data_age_s"] >= 4.0
        c = state["community"]
        assert c["total_production_w"] - c["total_consumption_w"] == pytest.approx(
            state["grid"]["grid_export_w"] - state["grid"]["grid_import_w"], abs=1e-6
        )
        # The simulator publishes the two simulated houses, never the measured one.
        assert sub.wait_for(lambda: len({t for t, _ in meter_messages(sub)}) >= 2)
        topics = {t for t, _, _, _ in sub.snapshot()}
        assert meter_topic in topics  # the test's own messages
        assert len({t for t, _ in meter_messages(sub)}) == 2
    finally:
        srv.stop()
        sub.close()
