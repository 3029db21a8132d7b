"""Scale-out through the broker: one engine and two worker servers, all real processes on loopback
with a real mosquitto. Sessions on both workers see the engine's ticks, a control change made
through one worker shows on the engine and the other worker within two ticks, a worker catches up
with the engine's history when it starts, a worker that dies affects no other, workers go on when
the engine restarts, and the engine refuses bad commands as it refuses a browser's bad values.
Debian's nginx, run with deploy/nginx-workers.conf, spreads browsers over both workers and keeps
each page's websockets with the worker that built it.

Without mosquitto the module is skipped; with ``LEG_REQUIRE_BROKER=1`` (CI) it fails instead. The
nginx test is skipped without nginx; with ``LEG_REQUIRE_NGINX=1`` (CI) it fails instead.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import paho.mqtt.client as paho
import pytest
import websocket
import yaml
from broker_support import Broker, mosquitto_path
from server_support import REPO, Server, free_port, get_json
from test_security import _houses_slider

from benchmarks.ws_client import BokehClient, RawSession, find_models
from leg_sim.ui.controls import PAUSE_LABEL
from leg_sim.ui.feed import house_set_key

if mosquitto_path() is None:
    if os.environ.get("LEG_REQUIRE_BROKER") == "1":
        pytest.fail("no mosquitto (apt-get install mosquitto); LEG_REQUIRE_BROKER=1 forbids skipping", pytrace=False)
    pytest.skip("no mosquitto at /usr/sbin/mosquitto or on PATH (apt-get install mosquitto)", allow_module_level=True)

INTERVAL_MS = 500


def state(srv: Server) -> dict:
    status, body = get_json(srv.base + "/api/state")
    assert status == 200, body
    return body


def wait_until(predicate, timeout_s: float = 30.0, every_s: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every_s)
    return False


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cluster")
    with Broker(tmp, free_port()) as broker:
        config = {
            "houses": 6, "update_interval_ms": INTERVAL_MS,
            "mqtt": {"enabled": True, "workers": True, "broker": broker.url, "client_id": "engine", "publish_interval_s": 60.0},
        }
        engine = Server(tmp, config).start()
        proxy_port = free_port()
        try:
            assert wait_until(lambda: state(engine)["tick"] >= 6)  # some history before the workers start
            workers = [
                Server(tmp, config, env={"LEG_ROLE": "worker"}, extra=("--allow-websocket-origin", f"127.0.0.1:{proxy_port}")).start()
                for _ in range(2)
            ]
            try:
                yield broker, engine, workers, proxy_port, tmp
            finally:
                for w in workers:
                    w.stop()
        finally:
            engine.stop()


def test_workers_show_the_engines_ticks_and_its_history_from_the_start(cluster):
    _, engine, workers, _, _ = cluster
    for _ in range(5):
        ticks = [state(srv)["tick"] for srv in (engine, *workers)]
        assert max(ticks) - min(ticks) <= 1, ticks
        time.sleep(INTERVAL_MS / 1000.0)
    for w in workers:
        health = get_json(w.base + "/healthz")[1]
        assert health["status"] == "ok" and health["engine"]["role"] == "worker" and health["engine"]["histories"] >= 1
        # The history came from the engine: it starts at the engine's first tick, before the worker existed.
        _, history = get_json(w.base + "/api/history?seconds=86400")
        _, own = get_json(engine.base + "/api/history?seconds=86400")
        assert history["timestamp"][0] == own["timestamp"][0]
        # The same numbers: a snapshot arrives exactly (the balance to 1e-6 W, as on the engine).
        doc = state(w)
        c, g = doc["community"], doc["grid"]
        assert c["total_production_w"] - c["total_consumption_w"] == pytest.approx(g["grid_export_w"] - g["grid_import_w"], abs=1e-6)
    assert get_json(engine.base + "/healthz")[1]["mqtt"]["snapshots_shared"] >= 6
    engine_metrics = urllib.request.urlopen(engine.base + "/metrics", timeout=10).read().decode()
    assert re.search(r"^leg_engine_snapshots_shared_total [1-9]", engine_metrics, re.M)
    worker_metrics = urllib.request.urlopen(workers[0].base + "/metrics", timeout=10).read().decode()
    assert "leg_worker_connected 1.0" in worker_metrics and re.search(r"^leg_worker_snapshots_total [1-9]", worker_metrics, re.M)


def test_sessions_on_both_workers_get_ticks_and_a_change_through_one_shows_everywhere_within_two_ticks(cluster):
    _, engine, (first, second), _, _ = cluster
    readers = [BokehClient(w.base).start() for w in (first, second)]
    client = RawSession(first.base).open()
    try:
        assert all(r.pulled.wait(60) for r in readers)
        assert wait_until(lambda: all(len(r.ticks_seen) >= 3 for r in readers), 20)
        slider = _houses_slider(client.pull())
        client.ready()
        before = len(state(engine)["houses"])
        tick_before = state(engine)["tick"]
        client.set_property(slider["id"], "value", before + 2)
        assert wait_until(lambda: len(state(second)["houses"]) == before + 2, 10, 0.05)
        shown_at = state(second)["tick"]
        assert shown_at - tick_before <= 2, (tick_before, shown_at)
        assert len(state(engine)["houses"]) == before + 2
        assert wait_until(lambda: get_json(second.base + "/healthz")[1]["house_count"] == before + 2, 5)
        # A value no widget offers is refused by the worker, as on any server; nothing reaches the engine.
        client.set_property(slider["id"], "value", 10_000)
        time.sleep(3 * INTERVAL_MS / 1000.0)
        assert len(state(engine)["houses"]) == before + 2
        assert all(r.error is None for r in readers)
    finally:
        client.close()
        for r in readers:
            r.close()


def test_a_pause_through_a_worker_pauses_the_engine_and_every_worker_stays_healthy(cluster):
    """While the engine is paused no tick comes; its heartbeat keeps the workers healthy ("paused")."""
    _, engine, (first, second), _, _ = cluster
    client = RawSession(first.base).open()
    try:
        toggle = [m for m in find_models(client.pull(), "Toggle") if m["attributes"].get("label") == PAUSE_LABEL]
        assert len(toggle) == 1
        client.ready()
        client.set_property(toggle[0]["id"], "active", True)
        assert wait_until(lambda: get_json(engine.base + "/healthz")[1]["paused"], 10)
        assert wait_until(lambda: get_json(second.base + "/healthz")[1]["status"] == "paused", 5)
        tick = state(second)["tick"]
        time.sleep(4 * INTERVAL_MS / 1000.0 + 2.0)  # longer than a worker's staleness limit
        assert state(second)["tick"] == tick
        for w in (first, second):
            status, health = get_json(w.base + "/healthz")
            assert status == 200 and health["status"] == "paused", health
        client.set_property(toggle[0]["id"], "active", False)
        assert wait_until(lambda: state(second)["tick"] > tick + 1, 10)
        assert not get_json(engine.base + "/healthz")[1]["paused"]
    finally:
        client.close()


def test_the_engine_refuses_bad_commands_and_limits_their_rate(cluster):
    broker, engine, *_ = cluster
    count = len(state(engine)["houses"])
    sender = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="hostile")
    sender.connect("127.0.0.1", broker.port)
    sender.loop_start()
    try:
        refused0 = get_json(engine.base + "/healthz")[1]["mqtt"]["commands_refused"]
        bad = [b"junk", b"[]", json.dumps({"set": {"house_count": 10_000}}).encode(), json.dumps({"set": {"house_count": 1.5}}).encode(),
               json.dumps({"set": {"seed": 1}}).encode(), json.dumps({"set": {"paused": "yes"}}).encode(),
               json.dumps({"history": "../../etc"}).encode(), b"{" * 10_000]
        for payload in bad:
            sender.publish("leg/engine/command", payload, qos=1).wait_for_publish(5)
        assert wait_until(lambda: get_json(engine.base + "/healthz")[1]["mqtt"]["commands_refused"] - refused0 == len(bad), 10)
        assert len(state(engine)["houses"]) == count and get_json(engine.base + "/healthz")[0] == 200
        # A flood: at most MAX_COMMANDS_PER_S a second are taken, the rest refused and counted.
        from leg_sim.server.cluster import MAX_COMMANDS_PER_S

        flood = 200
        for _ in range(flood):
            sender.publish("leg/engine/command", json.dumps({"set": {"paused": False}}), qos=0)
        time.sleep(2.0)
        health = get_json(engine.base + "/healthz")[1]["mqtt"]
        assert health["commands_refused"] - refused0 - len(bad) >= flood - 3 * MAX_COMMANDS_PER_S
        assert get_json(engine.base + "/healthz")[0] == 200
    finally:
        sender.loop_stop()
        sender.disconnect()


def nginx_path() -> str | None:
    return "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else shutil.which("nginx")


def test_nginx_with_the_sample_config_spreads_browsers_and_keeps_each_page_with_its_worker(cluster):
    _, _, workers, proxy_port, tmp = cluster
    nginx = nginx_path()
    if nginx is None:
        if os.environ.get("LEG_REQUIRE_NGINX") == "1":
            pytest.fail("no nginx (apt-get install nginx); LEG_REQUIRE_NGINX=1 forbids skipping", pytrace=False)
        pytest.skip("no nginx at /usr/sbin/nginx or on PATH (apt-get install nginx)")
    prefix = Path(tmp) / "nginx"
    prefix.mkdir(exist_ok=True)
    # The sample as shipped, with the test's addresses: its worker ports and a loopback listener.
    sample = (REPO / "deploy" / "nginx-workers.conf").read_text()
    sample = sample.replace("127.0.0.1:8051", f"127.0.0.1:{workers[0].port}").replace("127.0.0.1:8052", f"127.0.0.1:{workers[1].port}")
    sample, listens = re.subn(r"listen 80;", f"listen 127.0.0.1:{proxy_port};", sample)
    assert listens == 1
    (prefix / "leg.conf").write_text(sample)
    main = prefix / "nginx.conf"
    main.write_text(
        f"worker_processes 1;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {prefix}/body;\n  proxy_temp_path {prefix}/proxy;\n"
        f"  fastcgi_temp_path {prefix}/fcgi;\n  uwsgi_temp_path {prefix}/uwsgi;\n  scgi_temp_path {prefix}/scgi;\n"
        f"  include {prefix}/leg.conf;\n}}\n"
    )
    check = subprocess.run([nginx, "-t", "-p", str(prefix), "-c", str(main)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen([nginx, "-p", str(prefix), "-c", str(main), "-g", "daemon off;"], stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{proxy_port}"
    clients: list[BokehClient] = []
    try:
        assert wait_until(lambda: _answers(base), 10)
        before = [get_json(w.base + "/healthz")[1]["feeds"] for w in workers]
        clients = [BokehClient(base).start() for _ in range(16)]
        assert all(c.pulled.wait(60) for c in clients)
        assert all(c.cookie and c.cookie.startswith("leg_worker=") for c in clients)
        # Every page's feed reached the worker that holds its session: frames flow, nothing was refused.
        assert wait_until(lambda: all(c.feed_frames >= 3 for c in clients), 20), [(c.feed_frames, c.error) for c in clients]
        assert all(c.error is None for c in clients), [c.error for c in clients]
        feeds = [get_json(w.base + "/healthz")[1]["feeds"] - b for w, b in zip(workers, before, strict=True)]
        assert sum(feeds) == 16 and min(feeds) >= 1, feeds  # both workers serve (all on one: 1 in 32,768)
        assert abs(state(workers[0])["tick"] - state(workers[1])["tick"]) <= 1
    finally:
        for c in clients:
            c.close()
        proc.terminate()
        proc.wait(10)


def test_a_wall_screen_needs_no_particular_worker(cluster):
    """A wall page (/wall) holds no session: a page from one worker takes its feed from any
    worker (all sign with the same secret), and both show the engine's house set."""
    _, engine, workers, _, _ = cluster
    with urllib.request.urlopen(workers[0].base + "/wall", timeout=60) as r:
        page = r.read().decode()
    feed_id = re.search(r'const sid = "([^"]+)"', page).group(1)
    page_set = re.search(r'"set": "([0-9a-f]+)"', page).group(1)
    ws = websocket.create_connection(f"ws://127.0.0.1:{workers[1].port}/feed?id={feed_id}", origin=workers[1].base, timeout=30)
    try:
        frame = json.loads(ws.recv())
    finally:
        ws.close()
    houses = tuple(h["house_id"] for h in state(engine)["houses"])
    assert frame["full"] and frame["set"] == page_set == house_set_key(houses)


def _answers(base: str) -> bool:
    try:
        return get_json(base + "/healthz", timeout_s=2)[0] == 200
    except OSError:
        return False


def test_a_dead_worker_affects_no_other_and_workers_go_on_after_an_engine_and_a_broker_restart(cluster):
    broker, engine, (first, second), _, tmp = cluster
    config = yaml.safe_load(engine.config_path.read_text())
    reader = BokehClient(second.base).start()
    try:
        assert reader.pulled.wait(60)
        os.killpg(first.proc.pid, signal.SIGKILL)
        first.proc.wait(10)
        seen = len(reader.ticks_seen)
        assert wait_until(lambda: len(reader.ticks_seen) >= seen + 4, 10)
        assert get_json(second.base + "/healthz")[1]["status"] == "ok" and reader.error is None
        # The engine restarts (same port and state directory): the worker goes on with its ticks.
        engine.stop()
        tick_then = state(second)["tick"]
        assert wait_until(lambda: get_json(second.base + "/healthz")[0] == 503, 15)  # says so while the engine is away
        restarted = Server(tmp, config, port=engine.port).start()
        try:
            assert wait_until(lambda: state(second)["tick"] > tick_then + 2, 45)
            assert abs(state(second)["tick"] - state(restarted)["tick"]) <= 1
            assert get_json(second.base + "/healthz")[0] == 200
            # The broker restarts: engine and worker reconnect by themselves and the ticks flow again.
            broker.stop()
            tick_then = state(second)["tick"]
            broker.start()
            assert wait_until(lambda: state(second)["tick"] > tick_then + 2, 60)
            assert abs(state(second)["tick"] - state(restarted)["tick"]) <= 1
            assert reader.error is None
        finally:
            restarted.stop()
    finally:
        reader.close()
