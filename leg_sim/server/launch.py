"""Start the server for `make serve`: validate the config first, then hand over to `panel serve`.

An invalid config stops here with the same one-line error as the core, before
Panel or Bokeh load. Environment variables:

* ``PORT`` — port to listen on (default: the config's ``port``, 8050);
* ``LEG_ADDRESS`` — address to bind (default ``0.0.0.0``; ``127.0.0.1`` behind a proxy);
* ``LEG_ALLOW_ORIGIN`` — comma-separated host[:port] values browsers may open the
  websocket from (default: this machine's own names and addresses with the port;
  ``*``, any, only when given, with a warning); see :mod:`leg_sim.server.security`;
* ``LEG_SECRET_KEY`` — the secret that signs session ids (default: generated once and
  kept in the state directory, ``LEG_STATE_DIR``);
* ``LEG_USE_XHEADERS=1`` — trust X-Forwarded-* headers from a reverse proxy.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from leg_sim.config import ENV_CONFIG, ENV_ROLE, ROLE_WORKER, ConfigError, Settings, resolve_port
from leg_sim.server import security


def _find_app() -> Path:
    """apps/main.py of the checkout: next to the package (editable install) or in the working directory."""
    for root in (Path(__file__).resolve().parents[2], Path.cwd()):
        if (root / "apps" / "main.py").exists():
            return root / "apps" / "main.py"
    return Path.cwd() / "apps" / "main.py"


APP = _find_app()
#: The server's start-up hook: starts the engine before the server accepts connections.
STARTUP = Path(__file__).resolve().with_name("startup.py")


def panel_command(port: int, environ=None, origins: list[str] | None = None) -> list[str]:
    """The `panel serve` command line that runs the dashboard (`origins`: the websocket
    origins to allow, by default those of :func:`leg_sim.server.security.allowed_origins`)."""
    environ = os.environ if environ is None else environ
    address = environ.get("LEG_ADDRESS", "0.0.0.0")
    if origins is None:
        origins, _ = security.allowed_origins(port, address, environ)
    cmd = [
        sys.executable, "-m", "panel", "serve", str(APP),
        "--address", address,
        "--port", str(port),
        "--num-procs", "1",  # one simulation per server: never fork
        "--setup", str(STARTUP),
        "--plugins", "leg_sim.server.routes",
        "--index", "main",
        # Session ids must carry the server's signature (the secret is in BOKEH_SECRET_KEY).
        "--session-ids", "signed",
    ]
    for origin in origins:
        cmd += ["--allow-websocket-origin", origin]
    if environ.get("LEG_USE_XHEADERS", "").strip().lower() in {"1", "true", "yes", "on"}:
        cmd.append("--use-xheaders")
    return cmd


def serve(settings: Settings, worker: bool = False) -> int:
    """Replace this process with `panel serve` (so signals and exit codes pass straight through).
    With `worker`, the server shows the engine's community over the broker (:mod:`leg_sim.server.cluster`)."""
    try:
        port = resolve_port(settings)
        if worker and not settings["mqtt.enabled"]:
            raise ConfigError(f"{settings.source}: serve --worker needs mqtt.enabled: true and the engine's broker in mqtt.broker")
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if worker:
        os.environ[ENV_ROLE] = ROLE_WORKER
    if settings.source not in ("config", "<dict>"):
        os.environ[ENV_CONFIG] = str(Path(settings.source).resolve())
    address = os.environ.get("LEG_ADDRESS", "0.0.0.0")
    origins, warning = security.allowed_origins(port, address, os.environ)
    try:
        os.environ[security.ENV_BOKEH_SECRET] = security.secret_key(os.environ, security.state_dir(os.environ))
    except security.SecurityError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if warning:
        print(warning, file=sys.stderr, flush=True)
    cmd = panel_command(port, origins=origins)
    print(f"LEG-Simulator on http://{address}:{port}/  ({' '.join(cmd[1:])})", flush=True)
    os.chdir(APP.parents[1])  # panel resolves --plugins modules from the working directory
    os.execv(cmd[0], cmd)
    return 0  # not reached
