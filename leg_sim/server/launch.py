"""Start the server for `make serve`: validate the config first, then hand over to `panel serve`.

An invalid config stops here with the same one-line error as the core, before
Panel or Bokeh load.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from leg_sim.config import ENV_CONFIG, ConfigError, Settings, resolve_port

APP = Path(__file__).resolve().parents[2] / "apps" / "main.py"


def panel_command(settings: Settings, port: int, address: str = "0.0.0.0") -> list[str]:
    """The `panel serve` command line that runs the dashboard."""
    return [
        sys.executable,
        "-m",
        "panel",
        "serve",
        str(APP),
        "--address",
        address,
        "--port",
        str(port),
        "--allow-websocket-origin",
        os.environ.get("LEG_ALLOW_ORIGIN", "*"),
        "--num-procs",
        "1",
        "--plugins",
        "leg_sim.server.routes",
        "--index",
        "main",
    ]


def serve(settings: Settings) -> int:
    """Replace this process with `panel serve` (so signals and exit codes pass straight through)."""
    try:
        port = resolve_port(settings)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if settings.source not in ("config", "<dict>"):
        os.environ[ENV_CONFIG] = settings.source
    cmd = panel_command(settings, port)
    print(f"LEG-Simulator on http://0.0.0.0:{port}/main  ({' '.join(cmd[1:])})", flush=True)
    os.execv(cmd[0], cmd)
    return 0  # not reached
