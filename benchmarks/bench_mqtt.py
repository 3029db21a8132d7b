"""What the MQTT link costs: messages per round and per second, and the CPU of a round, against a real broker.

A Simulation of `--houses` houses (default 10,000) takes one step; its link then
publishes `--rounds` rounds (every house on {MAC}/SENSOR and the community) to
Debian's mosquitto on 127.0.0.1, started here, while a subscriber counts what
arrives. Measured: messages per round, the CPU time and wall time of building
and handing over one round (the link's own thread; the client's network thread
sends in the background), the process's CPU over the whole run per round, and
the messages per second this means at the configured interval (10 s).

Then the other way: `--meters` measured houses (default 1,000, ``source: mqtt``) whose
meters publish `--rounds` messages each from a separate client; measured: how long until the
link's inbox has taken them all, the process's CPU per message (the link's receiving and
checking), and how long one tick takes to read every measured house's reading.

    python benchmarks/bench_mqtt.py [--houses 10000] [--rounds 5] [--meters 1000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import paho.mqtt.client as paho
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from broker_support import Broker, Subscriber, mosquitto_path  # noqa: E402
from server_support import free_port  # noqa: E402

from leg_sim.engine import Simulation  # noqa: E402
from leg_sim.server.mqtt_link import MqttLink  # noqa: E402
from leg_sim.settings import setting  # noqa: E402


def connected_link(sim: Simulation, timeout_s: float = 10.0) -> MqttLink | None:
    """`sim`'s MQTT link, connected (its network thread running); None if it does not connect in time."""
    link = MqttLink(sim, {})
    link.client.connect(link.host, link.port)
    link.client.loop_start()
    deadline = time.monotonic() + timeout_s
    while not link.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    if link.connected:
        return link
    link.client.loop_stop()
    return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--houses", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--meters", type=int, default=1_000, help="measured houses for the inbound part")
    args = ap.parse_args(argv)
    if mosquitto_path() is None:
        print("no mosquitto (apt-get install mosquitto)")
        return 1
    interval_s = float(setting("mqtt.publish_interval_s").default)
    proc = psutil.Process()
    print(f"machine: {psutil.cpu_count()} cores; {args.houses} houses, {args.rounds} rounds", flush=True)
    with tempfile.TemporaryDirectory() as tmp, Broker(Path(tmp), free_port()) as broker:
        sim = Simulation.from_config({"houses": args.houses, "mqtt": {"enabled": True, "broker": broker.url, "discovery": False}})
        snap = sim.step()
        sub = Subscriber(broker.port, ("+/SENSOR", "leg/community"))
        link = connected_link(sim)
        if link is None:
            print("the link did not connect to the broker within 10 s")
            return 1
        cpu_s, wall_s = [], []
        t0 = proc.cpu_times()
        for _ in range(args.rounds):
            c0, w0 = time.thread_time(), time.perf_counter()
            link.publish_round(snap)
            cpu_s.append(time.thread_time() - c0)
            wall_s.append(time.perf_counter() - w0)
            time.sleep(1.0)
        expected = args.rounds * (args.houses + 1)
        sub.wait_for(lambda: len(sub.snapshot()) >= expected, timeout_s=60)
        t1 = proc.cpu_times()
        received = len(sub.snapshot())
        sub.close()
        link.stop()
    per_round = args.houses + 1
    process_cpu = (t1.user + t1.system - t0.user - t0.system) / args.rounds
    print(f"messages per round {per_round:,} ({per_round / interval_s:,.0f} per second at the {interval_s:g} s interval); "
          f"received {received:,} of {expected:,}", flush=True)
    print(f"one round: {statistics.median(cpu_s) * 1000:.0f} ms CPU on the link's thread (median), {statistics.median(wall_s) * 1000:.0f} ms wall; "
          f"process CPU per round, subscriber in the same process included: {process_cpu * 1000:.0f} ms; "
          f"link CPU at the interval: {statistics.median(cpu_s) / interval_s * 100:.1f} % of one core", flush=True)
    return inbound(args.meters, args.rounds)


def inbound(meter_count: int, rounds: int) -> int:
    """Measured houses: `rounds` messages from each of `meter_count` meters into the link's inbox."""
    proc = psutil.Process()
    with tempfile.TemporaryDirectory() as tmp, Broker(Path(tmp), free_port()) as broker:
        houses = [{"source": "mqtt", "topic": f"M{i:05d}/SENSOR"} for i in range(meter_count)]
        sim = Simulation.from_config({"houses": houses, "mqtt": {"enabled": True, "broker": broker.url, "discovery": False}})
        link = connected_link(sim)
        if link is None:
            print("the link did not connect to the broker within 10 s")
            return 1
        time.sleep(1.0)  # its subscriptions are in place
        meter = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="bench-meters")
        meter.connect("127.0.0.1", broker.port)
        meter.loop_start()
        expected = meter_count * rounds
        t0, c0 = time.perf_counter(), proc.cpu_times()
        for r in range(rounds):
            for h in houses:
                meter.publish(h["topic"], json.dumps({"SMid": "1", "Pi": 0.5, "Po": 0.0, "ts": 1_000 + r}), qos=0)
        deadline = time.monotonic() + 120
        while link.inbox.counts()["accepted"] < expected and time.monotonic() < deadline:
            time.sleep(0.02)
        wall_s, c1 = time.perf_counter() - t0, proc.cpu_times()
        taken = link.inbox.counts()["accepted"]
        tick_s = []
        for _ in range(5):
            w0 = time.perf_counter()
            snap = sim.step()
            tick_s.append(time.perf_counter() - w0)
        meter.loop_stop()
        meter.disconnect()
        link.stop()
    cpu_per_msg_us = (c1.user + c1.system - c0.user - c0.system) / max(taken, 1) * 1e6
    print(f"measured houses: {meter_count:,} meters x {rounds} messages: {taken:,} of {expected:,} taken in {wall_s:.2f} s "
          f"({taken / wall_s:,.0f} messages per second); process CPU {cpu_per_msg_us:.0f} us per message, the publishing client in "
          f"the same process included; a tick with {meter_count:,} measured houses takes {statistics.median(tick_s) * 1000:.0f} ms "
          f"(median of 5; all {int(snap.measured.sum()):,} measured, net {snap.net_power_w.sum() / 1000:.1f} kW)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
