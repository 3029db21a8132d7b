"""Start the server for `make serve`: validate the config first, then hand over to `panel serve`.

An invalid config stops here with the same one-line error as the core, before
Panel or Bokeh load. Environment variables:

* ``PORT`` — port to listen on (default: the config's ``port``, 8050);
* ``LEG_ADDRESS`` — address to bind (default ``0.0.0.0``; ``127.0.0.1`` behind a proxy);
* ``LEG_ALLOW_ORIGIN`` — comma-separated host[:port] values browsers may open the
  websocket from (default ``*``, any; set your public host name in production);
* ``LEG_USE_XHEADERS=1`` — trust X-Forwarded-* headers from a reverse proxy.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from leg_sim.config import ENV_CONFIG, ConfigError, Settings, resolve_port


def _find_app() -> Path:
    """apps/main.py of the checkout: next to the package (editable install) or in the working directory."""
    for root in (Path(__file__).resolve().parents[2], Path.cwd()):
        if (root / "apps" / "main.py").exists():
            return root / "apps" / "main.py"
    return Path.cwd() / "apps" / "main.py"


APP = _find_app()
#: The server's start-up hook: starts the engine before the server accepts connections.
STARTUP = Path(__file__).resolve().with_name("startup.py")


def panel_command(port: int, environ=None) -> list[str]:
    """The `panel serve` command line that runs the dashboard."""
    environ = os.environ if environ is None else environ
    cmd = [
        sys.executable, "-m", "panel", "serve", str(APP),
        "--address", environ.get("LEG_ADDRESS", "0.0.0.0"),
        "--port", str(port),
        "--num-procs", "1",  # one simulation per server: never fork
        "--setup", str(STARTUP),
        "--plugins", "leg_sim.server.routes",
        "--index", "main",
    ]
    for origin in (o.strip() for o in environ.get("LEG_ALLOW_ORIGIN", "*").split(",")):
        if origin:
            cmd += ["--allow-websocket-origin", origin]
    if environ.get("LEG_USE_XHEADERS", "").strip().lower() in {"1", "true", "yes", "on"}:
        cmd.append("--use-xheaders")
    return cmd


def serve(settings: Settings) -> int:
    """Replace this process with `panel serve` (so signals and exit codes pass straight through)."""
    try:
        port = resolve_port(settings)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if settings.source not in ("config", "<dict>"):
        os.environ[ENV_CONFIG] = str(Path(settings.source).resolve())
    cmd = panel_command(port)
    print(f"LEG-Simulator on http://{os.environ.get('LEG_ADDRESS', '0.0.0.0')}:{port}/  ({' '.join(cmd[1:])})", flush=True)
    os.chdir(APP.parents[1])  # panel resolves --plugins modules from the working directory
    os.execv(cmd[0], cmd)
    return 0  # not reached
