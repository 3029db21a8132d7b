"""Two guards on the websocket that Bokeh does not give by itself.

Short error replies
    Bokeh answers a message it cannot apply (for example a document patch whose
    value fails a model property's check: ``"abc"`` for a slider's value) with an
    ``ERROR`` message, and by default that message carries the server's full
    traceback. With the guard the reply says only :data:`REFUSED_TEXT` and the
    kind of error; the traceback goes to the server's log only.

An Origin is required
    Tornado checks a websocket's ``Origin`` against the allowed origins only when
    the handshake has one; a client that sends none is let in. Browsers always
    send it, so a handshake without one is not from a page: it is refused with
    403 (:data:`NO_ORIGIN_TEXT`). (A non-browser client can still claim any
    origin; what the server accepts from it is checked by the controls.)

:func:`install` replaces ``bokeh.server.connection.ServerConnection.error`` and
wraps ``bokeh.server.views.ws.WSHandler.get`` (which Panel's handler inherits),
both Bokeh internals (Bokeh 3.9, pinned in pyproject.toml);
``tests/test_security.py`` fails if either guard is lost.
"""

from __future__ import annotations

from typing import Any

from bokeh.server.connection import ServerConnection
from bokeh.server.views.ws import WSHandler

#: The text of every ERROR reply; the kind of error follows it.
REFUSED_TEXT = "the server refused this message"
NO_ORIGIN_TEXT = "a websocket needs an Origin header"

_installed = [False]


def short_error(self: ServerConnection, message: Any, text: str) -> Any:
    """An ERROR reply to `message` without a traceback (replaces ``ServerConnection.error``)."""
    kind = text.split("(", 1)[0][:60] if text else "error"
    reply = self.protocol.create("ERROR", message.header["msgid"], f"{REFUSED_TEXT} ({kind})")
    reply.content["traceback"] = None
    return reply


def _origin_required(get: Any) -> Any:
    async def guarded(self: WSHandler, *args: Any, **kwargs: Any) -> None:
        headers = self.request.headers
        if "Origin" not in headers and "Sec-Websocket-Origin" not in headers:
            self.set_status(403)
            self.finish(NO_ORIGIN_TEXT)
            return
        await get(self, *args, **kwargs)

    return guarded


def install() -> None:
    """Put both guards in place for this process; safe to call more than once."""
    if _installed[0]:
        return
    _installed[0] = True
    ServerConnection.error = short_error  # type: ignore[method-assign]
    WSHandler.get = _origin_required(WSHandler.get)  # type: ignore[method-assign]
