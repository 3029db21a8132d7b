"""The JSON routes of a real dashboard server on loopback."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request

import pytest
from server_support import REPO, TEST_SECRET, Server, free_port, get_json, server_command

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with Server(tmp_path_factory.mktemp("srv")) as s:
        yield s


def test_state_has_the_spec_field_names(server):
    status, doc = get_json(server.base + "/api/state")
    assert status == 200
    assert {"house_id", "pv_power_w", "base_load_w", "flex_load_w", "net_power_w"} <= set(doc["houses"][0])
    assert {"total_production_w", "total_consumption_w", "net_community_power_w"} <= set(doc["community"])
    assert set(doc["grid"]) == {"grid_import_w", "grid_export_w"}
    assert len(doc["houses"]) == 5 and doc["timestamp"].startswith("2026-06-21T")


def test_state_advances_without_any_browser(server):
    _, a = get_json(server.base + "/api/state")
    time.sleep(1.2)
    _, b = get_json(server.base + "/api/state")
    assert b["tick"] > a["tick"]


def test_history_returns_columns_for_the_window(server):
    time.sleep(1.0)
    status, doc = get_json(server.base + "/api/history?seconds=120")
    assert status == 200
    assert doc["count"] == len(doc["tick"]) == len(doc["total_production_w"]) >= 2
    assert doc["tick"] == sorted(doc["tick"])
    status, doc = get_json(server.base + "/api/history")
    assert status == 200 and doc["seconds"] == 900


@pytest.mark.parametrize(
    "query",
    [
        "seconds=abc", "seconds=-5", "seconds=0", "seconds=nan", "seconds=inf", "seconds=1e99", "seconds=", "seconds=1&seconds=2",
        "secs=10", "seconds=%00",
    ],
)
def test_bad_history_queries_get_400_with_a_json_error(server, query):
    status, doc = get_json(server.base + "/api/history?" + query)
    assert status == 400
    assert "error" in doc and "allowed" in doc["error"]


@pytest.mark.parametrize("route", ["/api/state?x=1", "/healthz?verbose=1"])
def test_unknown_parameters_on_other_routes_get_400(server, route):
    status, doc = get_json(server.base + route)
    assert status == 400 and "unknown query parameter" in doc["error"]


def test_healthz_reports_tick_age_lag_sessions_and_memory(server):
    status, doc = get_json(server.base + "/healthz")
    assert status == 200 and doc["status"] == "ok" and doc["running"]
    assert 0 <= doc["tick_age_s"] <= doc["stale_after_s"]
    # Several intervals and at least 2 s, so a busy moment does not flap it.
    assert doc["stale_after_s"] >= max(2.0, 3 * doc["update_interval_ms"] / 1000)
    assert 0 <= doc["tick_lag_s"] <= doc["tick_age_s"]
    assert doc["sessions"] >= 0 and 50 < doc["memory_rss_mb"] < 4000
    assert 0 <= doc["event_loop_lag_ms"] < 60_000
    assert doc["gc_pause_ms"] is None or 0 <= doc["gc_pause_ms"] < 60_000


def test_healthz_answers_head_with_the_status_and_no_body(server):
    request = urllib.request.Request(server.base + "/healthz", method="HEAD")
    with urllib.request.urlopen(request, timeout=10) as r:
        assert r.status == 200 and r.read() == b""


def test_the_page_is_served_at_root_and_main(server):
    for path in ("/", "/main"):
        with urllib.request.urlopen(server.base + path, timeout=10) as r:
            assert r.status == 200 and b"LEG-Simulator" in r.read()


def test_invalid_config_stops_the_server_at_start_with_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("update_interval_ms: 5\n")
    proc = subprocess.run(
        server_command(free_port()), cwd=REPO, env={**__import__("os").environ, "LEG_CONFIG": str(bad), "BOKEH_SECRET_KEY": TEST_SECRET},
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {bad}: update_interval_ms = 5 is out of range; allowed: integer 100 to 10000 [ms]"]


def test_launcher_rejects_bad_config_before_panel_loads(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("houses: many\n")
    proc = subprocess.run([sys.executable, "-m", "leg_sim", "serve", str(bad)], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0 and "houses" in proc.stderr


def test_the_server_tells_systemd_it_is_ready_and_feeds_the_watchdog(tmp_path):
    import socket as _socket

    address = str(tmp_path / "notify.sock")
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_DGRAM)
    sock.bind(address)
    sock.settimeout(60)
    try:
        with Server(tmp_path, {"update_interval_ms": 200}, env={"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "600000"}):
            messages = [sock.recv(256).decode()]
            started = time.monotonic()
            while time.monotonic() - started < 3.0:
                messages.append(sock.recv(256).decode())
    finally:
        sock.close()
    assert messages[0] == "READY=1"
    # A ping every 0.2 s (a third of the 0.6 s watchdog) while healthy.
    assert messages[1:].count("WATCHDOG=1") >= 8, messages


def test_the_loop_lag_keeps_the_largest_of_the_last_minute():
    from leg_sim.server import looplag

    looplag._per_second.clear()
    looplag.record(0.020, 1000.2)
    looplag.record(0.700, 1000.9)  # the largest of its second is kept
    looplag.record(0.010, 1001.0)
    assert looplag.max_lag_ms(now_s=1001.5) == 700.0
    assert looplag.max_lag_ms(now_s=1000.0 + looplag.WINDOW_S + 0.5) == 10.0  # the 0.7 s second has left the window


def test_metrics_are_in_the_prometheus_format(tmp_path):
    from prometheus_client.parser import text_string_to_metric_families

    with Server(tmp_path, {"houses": 4, "update_interval_ms": 200}) as srv:
        time.sleep(1.0)
        with urllib.request.urlopen(srv.base + "/metrics", timeout=10) as r:
            assert r.headers["Content-Type"].startswith("text/plain")
            text = r.read().decode()
        families = {f.name: f for f in text_string_to_metric_families(text)}
        assert families["leg_ticks"].samples[0].value >= 3
        assert families["leg_houses"].samples[0].value == 4
        powers = {s.labels["flow"]: s.value for s in families["leg_community_power_watts"].samples}
        assert set(powers) == {"production", "consumption", "shared", "grid_import", "grid_export"}
        assert powers["production"] >= 0 and "process_cpu_seconds" in families
        assert "leg_mqtt_connected" not in families  # MQTT is off
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(srv.base + "/metrics?x=1", timeout=10)
        assert refused.value.code == 400
