"""Sessions whose browser does not read: no new updates while one is unsent, closed when stuck.

A websocket client that stops reading (a frozen tab, a dead network path, a
hostile client) makes the server buffer every update written to it: first the
kernel's socket buffer fills, then Tornado's stream buffer and Bokeh's queue of
writes waiting for the connection's write lock grow without bound.

:func:`has_unsent` tells whether any connection of a session still holds data
it could not hand to the kernel (whose send buffer per websocket is bounded,
:func:`bound_send_buffer`); the session's bridge then skips the update
(its next tick tries again with the newest snapshot), so at most one update per
session waits in user space. A session that stays so for
:data:`STUCK_CLOSE_S` is closed (:func:`close`): its browser, if it is alive,
reconnects and gets a fresh page.

The way from a Bokeh document to its websockets goes through Bokeh internals
(``session_context._session._subscribed_connections``, ``ServerConnection._socket``;
Bokeh 3.9, pinned in pyproject.toml) and Tornado's public ``IOStream.writing()``.
``tests/test_backpressure.py`` fails if the way is lost.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from typing import Any

log = logging.getLogger("leg_sim.server")

#: A session whose websocket has held unsent data for this long is closed. [s]
STUCK_CLOSE_S = 30.0
#: Websocket close code for a client that does not read (RFC 6455: policy violation).
CLOSE_CODE = 1008

#: Kernel send buffer of each websocket to a browser. Linux grows a loopback or LAN socket's buffer
#: up to ``net.ipv4.tcp_wmem``'s maximum (4 MB and more), so a client that stops reading would take
#: minutes to be noticed and hold that much kernel memory; a fixed buffer turns "not reading" into
#: unsent data within seconds. 256 KB still carries 2.5 MB/s over a 100 ms round trip. [bytes]
SEND_BUFFER_BYTES = 256 * 1024

#: Sessions closed because their client stopped reading, since the server started.
closed_count = [0]


class StuckTimer:
    """How long one websocket has held unsent data, for the rule "closed after
    :data:`STUCK_CLOSE_S`" that a session's and a feed's socket share."""

    def __init__(self) -> None:
        #: Monotonic time since which the socket has held unsent data; None while it keeps up. [s]
        self.since_s: float | None = None

    def stuck(self, now_s: float, unsent: bool) -> bool:
        """Note whether the socket holds unsent data at `now_s` (monotonic [s]); True once it
        has held some without a break for :data:`STUCK_CLOSE_S`."""
        if not unsent:
            self.since_s = None
            return False
        if self.since_s is None:
            self.since_s = now_s
        return now_s - self.since_s >= STUCK_CLOSE_S


def websockets(doc: Any) -> list[Any]:
    """The Bokeh websocket handlers (Tornado ``WebSocketHandler``) serving `doc`'s session."""
    session = getattr(getattr(doc, "session_context", None), "_session", None)
    connections = getattr(session, "_subscribed_connections", None) or ()
    return [c._socket for c in list(connections) if getattr(c, "_socket", None) is not None]


def bound_send_buffer(handler: Any) -> None:
    """Give the websocket `handler`'s socket the fixed :data:`SEND_BUFFER_BYTES` send buffer (once)."""
    if getattr(handler, "_leg_send_buffer_bounded", False):
        return
    stream = getattr(getattr(handler, "ws_connection", None), "stream", None)
    sock = getattr(stream, "socket", None)
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
    handler._leg_send_buffer_bounded = True


def has_unsent(doc: Any) -> bool:
    """True when a websocket of `doc`'s session still buffers data the kernel would not take.
    A websocket seen here for the first time gets its bounded send buffer (:func:`bound_send_buffer`):
    Bokeh offers no hook when its websocket opens, and every session is checked here each second."""
    for handler in websockets(doc):
        bound_send_buffer(handler)
        stream = getattr(getattr(handler, "ws_connection", None), "stream", None)
        if stream is not None and not stream.closed() and stream.writing():
            return True
    return False


def close(doc: Any, reason: str = "the client does not read its updates") -> None:
    """Close every websocket of `doc`'s session."""
    for handler in websockets(doc):
        with contextlib.suppress(Exception):
            handler.close(CLOSE_CODE, reason)
    closed_count[0] += 1
    log.warning("closed a session: %s for %.0f s", reason, STUCK_CLOSE_S)
