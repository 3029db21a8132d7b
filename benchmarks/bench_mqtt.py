"""What the MQTT link costs: messages per round and per second, and the CPU of a round, against a real broker.

A Simulation of `--houses` houses (default 10,000) takes one step; its link then
publishes `--rounds` rounds (every house on {MAC}/SENSOR and the community) to
Debian's mosquitto on 127.0.0.1, started here, while a subscriber counts what
arrives. Measured: messages per round, the CPU time and wall time of building
and handing over one round (the link's own thread; the client's network thread
sends in the background), the process's CPU over the whole run per round, and
the messages per second this means at the configured interval (10 s).

    python benchmarks/bench_mqtt.py [--houses 10000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from broker_support import Broker, Subscriber, mosquitto_path  # noqa: E402
from server_support import free_port  # noqa: E402

from leg_sim.engine import Simulation  # noqa: E402
from leg_sim.server.mqtt_link import MqttLink  # noqa: E402
from leg_sim.settings import setting  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--houses", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=5)
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
        link = MqttLink(sim, {})
        link.client.connect(link.host, link.port)
        link.client.loop_start()
        deadline = time.monotonic() + 10
        while not link.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        link.connected = True
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
        link.client.loop_stop()
        link.client.disconnect()
    per_round = args.houses + 1
    process_cpu = (t1.user + t1.system - t0.user - t0.system) / args.rounds
    print(f"messages per round {per_round:,} ({per_round / interval_s:,.0f} per second at the {interval_s:g} s interval); "
          f"received {received:,} of {expected:,}", flush=True)
    print(f"one round: {statistics.median(cpu_s) * 1000:.0f} ms CPU on the link's thread (median), {statistics.median(wall_s) * 1000:.0f} ms wall; "
          f"process CPU per round, subscriber in the same process included: {process_cpu * 1000:.0f} ms; "
          f"link CPU at the interval: {statistics.median(cpu_s) / interval_s * 100:.1f} % of one core", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
