"""systemd's notify protocol: ready once the simulation ticks, watchdog pings while it is healthy.

Under a unit with ``Type=notify`` and ``WatchdogSec=``, systemd passes
``NOTIFY_SOCKET`` and ``WATCHDOG_USEC``. :func:`start` (called by the server's
start-up hook) sends ``READY=1`` and then, from the server's event loop, a
``WATCHDOG=1`` every third of the watchdog time while ``Simulation.health``
says the loop is healthy. A stuck event loop sends nothing, and neither does a
stalled tick loop, so systemd restarts the service. Without ``NOTIFY_SOCKET``
(``make serve``, Docker) this does nothing. No dependency: one datagram per
message on a Unix socket.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Mapping

log = logging.getLogger("leg_sim.server")


def notify(message: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send one notify `message` (``READY=1``) to systemd; False when there is no socket."""
    address = (environ or os.environ).get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(message.encode(), address)
    except OSError as exc:
        log.warning("systemd notify failed: %s", exc)
        return False
    return True


def watchdog_interval_s(environ: Mapping[str, str] | None = None) -> float | None:
    """How often to ping: a third of ``WATCHDOG_USEC`` (None when there is no watchdog). [s]"""
    raw = (environ or os.environ).get("WATCHDOG_USEC", "")
    try:
        usec = int(raw)
    except ValueError:
        return None
    return usec / 3e6 if usec > 0 else None


def start(healthy: Callable[[], bool]) -> None:
    """Tell systemd the service is ready and keep its watchdog fed while `healthy()`."""
    if not notify("READY=1"):
        return
    interval_s = watchdog_interval_s()
    if interval_s is None:
        return
    from tornado.ioloop import PeriodicCallback

    def ping() -> None:
        if healthy():
            notify("WATCHDOG=1")

    PeriodicCallback(ping, interval_s * 1000.0).start()
