"""Start a real `panel serve` of the dashboard on loopback for tests and benchmarks."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
#: The session-signing secret of test servers (Bokeh asks for at least 32 characters).
TEST_SECRET = "leg-sim-test-secret-0123456789-abcdefghijklmnop"


def free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str, timeout_s: float = 5.0) -> tuple[int, dict]:
    """GET a JSON route; returns (status, body) also for 4xx/5xx answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


#: Tests drop a closed session's document after 1 s (checked every 0.5 s), so that they see
#: sessions end quickly; benchmarks keep Bokeh's own timings, as `make serve` does.
QUICK_SESSION_CLEANUP = ("--unused-session-lifetime", "1000", "--check-unused-sessions", "500")


def server_command(port: int, extra: tuple[str, ...] = (), quick_cleanup: bool = True) -> list[str]:
    return [
        sys.executable, "-m", "panel", "serve", str(REPO / "apps" / "main.py"),
        "--address", "127.0.0.1", "--port", str(port),
        "--setup", str(REPO / "leg_sim" / "server" / "startup.py"),
        "--plugins", "leg_sim.server.routes", "--index", "main",
        "--allow-websocket-origin", f"127.0.0.1:{port}",
        "--session-ids", "signed",  # as `make serve` runs it; the secret is in the environment
        *(QUICK_SESSION_CLEANUP if quick_cleanup else ()),
        *extra,
    ]


class Server:
    """A dashboard server process with its own config file, stopped on exit."""

    def __init__(
        self, tmp_dir: Path, config: dict | None = None, env: dict | None = None, port: int | None = None, extra: tuple[str, ...] = (),
        launcher: bool = False, quick_cleanup: bool = True,
    ):
        """`launcher`: start it as `make serve` does (``python -m leg_sim serve``, with the
        launcher's own origins and secret), else with :func:`server_command`; `quick_cleanup`:
        see :data:`QUICK_SESSION_CLEANUP` (a page that waits longer than 1 s to connect is then built twice)."""
        self.quick_cleanup = quick_cleanup
        self.extra = tuple(extra)
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.config_path = Path(tmp_dir) / f"leg-{self.port}.yaml"
        cfg = {
            "houses": 5,
            "update_interval_ms": 500,
            "seed": 3,
            "clock": {"mode": "accelerated", "start": "2026-06-21T10:00:00", "speed_factor": 60},
        }
        cfg.update(config or {})
        self.config_path.write_text(yaml.safe_dump(cfg))
        self.env = {
            **os.environ, "LEG_CONFIG": str(self.config_path), "BOKEH_SECRET_KEY": TEST_SECRET,
            "LEG_STATE_DIR": str(Path(tmp_dir) / f"state-{self.port}"),
            # Tests and benchmarks open many pages in a row; tests/test_admission.py and
            # bench_sessions.py set the server's own pace again.
            "LEG_PAGE_BURST": "1000", "LEG_PAGES_PER_S": "1000", **(env or {}),
        }
        self.launcher = launcher
        self.log_path = Path(tmp_dir) / f"server-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout_s: float = 90.0) -> Server:
        self._log = open(self.log_path, "w")  # noqa: SIM115 - the server process writes to it until stop()
        if self.launcher:
            cmd = [sys.executable, "-m", "leg_sim", "serve"]
            self.env.update(PORT=str(self.port), LEG_ADDRESS="127.0.0.1")
            self.env.pop("BOKEH_SECRET_KEY", None)
        else:
            cmd = server_command(self.port, self.extra, self.quick_cleanup)
        self.proc = subprocess.Popen(
            cmd, cwd=REPO, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                status, _ = get_json(self.base + "/healthz", timeout_s=2)
                if status == 200:
                    return self
            except (OSError, ValueError):
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"server did not become healthy in {timeout_s} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        if getattr(self, "_log", None):
            self._log.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
