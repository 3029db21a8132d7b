"""Who may open a dashboard session: websocket origins and signed session ids.

Websocket origins
    A browser sends the address of the page that opens a websocket (its
    ``Origin``); the server accepts only the hosts in ``--allow-websocket-origin``.
    By default these are the names and addresses of this machine, each with the
    served port: ``localhost``, ``127.0.0.1``, ``[::1]``, the host name, its fully
    qualified name and the IPv4 addresses it resolves to or sends from, and the
    bind address when it is a specific one. (Bokeh's origin list cannot hold IPv6
    addresses; reach the server over IPv6 by a host name.) A page served from any other origin cannot drive the shared
    simulation. ``LEG_ALLOW_ORIGIN`` replaces the list (comma-separated
    ``host[:port]``, for a public host name behind a proxy); ``*`` (any origin)
    only when it is given explicitly, and then with a warning.

Signed session ids
    The server runs with Bokeh's ``--session-ids signed``: every session id and
    token it hands out is signed with a secret, and a websocket that brings an id
    the server did not sign is refused. The secret is ``LEG_SECRET_KEY`` (or
    Bokeh's own ``BOKEH_SECRET_KEY``), at least 32 characters; when neither is set,
    one is generated once and kept in the state directory (``secret_key``, mode
    0600), so sessions outlive a restart.

State directory
    ``LEG_STATE_DIR``; else ``STATE_DIRECTORY`` (set by systemd's
    ``StateDirectory=``); else ``.leg-state`` in the working directory.

Everything here is a pure function of its arguments (the environment is passed
in), except :func:`secret_key`, which may create the key file.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import socket
from collections.abc import Mapping
from pathlib import Path

ENV_ALLOW_ORIGIN = "LEG_ALLOW_ORIGIN"
ENV_SECRET = "LEG_SECRET_KEY"
ENV_BOKEH_SECRET = "BOKEH_SECRET_KEY"
ENV_STATE_DIR = "LEG_STATE_DIR"
#: Set by systemd for a unit with ``StateDirectory=``.
ENV_SYSTEMD_STATE_DIR = "STATE_DIRECTORY"
#: Shortest secret accepted (Bokeh asks for at least 32 bytes of entropy). [characters]
MIN_SECRET_CHARS = 32
SECRET_FILE = "secret_key"
LOOPBACK_HOSTS = ("localhost", "127.0.0.1")


class SecurityError(Exception):
    """A security setting in the environment that cannot be used; one line for the user."""


def state_dir(environ: Mapping[str, str], cwd: Path | None = None) -> Path:
    """Where the server keeps what must survive a restart (see the module docstring)."""
    for name in (ENV_STATE_DIR, ENV_SYSTEMD_STATE_DIR):
        raw = environ.get(name, "").strip()
        if raw:
            # systemd may list several directories, separated by ':'; the first is ours.
            return Path(raw.split(":")[0])
    return (cwd or Path.cwd()) / ".leg-state"


def _is_ipv6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False


def machine_hosts(address: str) -> list[str]:
    """Names and addresses under which a browser may reach this machine, loopback first."""
    hosts = list(LOOPBACK_HOSTS)
    names = [socket.gethostname()]
    with contextlib.suppress(OSError):
        names.append(socket.getfqdn())
    for name in names:
        if name:
            hosts.append(name)
            with contextlib.suppress(OSError):
                hosts += [str(info[4][0]).split("%")[0] for info in socket.getaddrinfo(name, None)]
    hosts += primary_addresses()
    if address and address not in ("0.0.0.0", "::", ""):
        hosts.append(address)
    return list(dict.fromkeys(h for h in hosts if h and not _is_ipv6(h)))


def primary_addresses() -> list[str]:
    """The IPv4 address this machine would send from: what a browser on the network
    uses to reach it. Connecting a UDP socket sends no packet."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect(("192.0.2.1", 9))
        return [str(sock.getsockname()[0])]
    return []


def allowed_origins(port: int, address: str, environ: Mapping[str, str]) -> tuple[list[str], str | None]:
    """The ``--allow-websocket-origin`` values and a warning to print (or None).

    `LEG_ALLOW_ORIGIN` wins when set; otherwise this machine's own names with `port`.
    """
    raw = environ.get(ENV_ALLOW_ORIGIN, "").strip()
    if raw:
        origins = [o.strip() for o in raw.split(",") if o.strip()]
        if "*" in origins:
            return ["*"], (
                f"warning: {ENV_ALLOW_ORIGIN}=* lets a page from any web site open a session and change "
                "the shared simulation; name your host instead (e.g. leg.example.org)"
            )
        return origins, None
    return [f"{host}:{port}" for host in machine_hosts(address)], None


def secret_key(environ: Mapping[str, str], directory: Path) -> str:
    """The secret that signs session ids: from the environment, else kept in `directory`.

    Raises SecurityError when a given secret is too short or the file cannot be made.
    """
    for name in (ENV_SECRET, ENV_BOKEH_SECRET):
        given = environ.get(name, "").strip()
        if given:
            if len(given) < MIN_SECRET_CHARS:
                raise SecurityError(f"{name} is {len(given)} characters long; allowed: at least {MIN_SECRET_CHARS}")
            return given
    path = directory / SECRET_FILE
    try:
        if path.exists():
            kept = path.read_text().strip()
            if len(kept) >= MIN_SECRET_CHARS:
                return kept
        directory.mkdir(parents=True, exist_ok=True)
        made = secrets.token_urlsafe(48)
        # Created with mode 0600 before anything is written to it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(made + "\n")
        return made
    except OSError as exc:
        raise SecurityError(
            f"cannot keep the session secret in {path}: {exc.strerror or exc}; set {ENV_SECRET} or {ENV_STATE_DIR}"
        ) from None
