"""A real MQTT broker for tests: Debian's mosquitto on 127.0.0.1, and a subscriber that collects messages.

No pytest here, so benchmarks can import it too.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import paho.mqtt.client as paho


def mosquitto_path() -> str | None:
    """Debian's mosquitto (/usr/sbin/mosquitto), or one on PATH; None when there is none."""
    return "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else shutil.which("mosquitto")


class Broker:
    """A mosquitto process on 127.0.0.1:`port` (anonymous, no persistence); stop() and start() again to restart it."""

    def __init__(self, tmp_dir: Path, port: int):
        self.port = port
        self.url = f"mqtt://127.0.0.1:{port}"
        self.conf = Path(tmp_dir) / f"mosquitto-{port}.conf"
        self.conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 100000\n")
        self.log_path = Path(tmp_dir) / f"mosquitto-{port}.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout_s: float = 10.0) -> Broker:
        path = mosquitto_path()
        assert path is not None, "no mosquitto (apt-get install mosquitto)"
        self._log = open(self.log_path, "a")  # noqa: SIM115 - the broker writes to it until stop()
        self.proc = subprocess.Popen([path, "-c", str(self.conf)], stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not start: {self.log_path.read_text()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if getattr(self, "_log", None):
            self._log.close()

    def __enter__(self) -> Broker:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class Subscriber:
    """A paho client that keeps every message of `topics` (topic, payload bytes, retained, arrival time)."""

    def __init__(self, port: int, topics: tuple[str, ...] = ("#",)):
        self.messages: list[tuple[str, bytes, bool, float]] = []
        self._lock = threading.Lock()
        self.connected = threading.Event()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"test-sub-{id(self)}")
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, *_: (c.subscribe([(t, 0) for t in topics]), self.connected.set())
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self.connected.wait(10), "subscriber did not connect"

    def _on_message(self, client, userdata, message) -> None:
        with self._lock:
            self.messages.append((message.topic, bytes(message.payload), bool(message.retain), time.monotonic()))

    def snapshot(self) -> list[tuple[str, bytes, bool, float]]:
        with self._lock:
            return list(self.messages)

    def json_of(self, topic_filter) -> list[tuple[str, dict]]:
        """(topic, decoded payload) of the messages whose topic `topic_filter(topic)` accepts (empty payloads left out)."""
        return [(t, json.loads(p)) for t, p, _, _ in self.snapshot() if topic_filter(t) and p]

    def wait_for(self, predicate, timeout_s: float = 20.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.1)
        return False

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
