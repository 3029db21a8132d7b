"""What a websocket client hears when the server refuses one of its messages: one short line.

Bokeh answers a message it cannot apply (for example a document patch whose
value fails a model property's check: ``"abc"`` for a slider's value) with an
``ERROR`` message, and by default that message carries the server's full
traceback. :func:`install` makes the reply say only :data:`REFUSED_TEXT` and the
kind of error; the traceback goes to the server's log only. It replaces
``bokeh.server.connection.ServerConnection.error``, a Bokeh internal (Bokeh 3.9,
pinned in pyproject.toml); ``tests/test_security.py`` sends such a message from
a raw client and fails if a traceback comes back.
"""

from __future__ import annotations

from typing import Any

from bokeh.server.connection import ServerConnection

#: The text of every ERROR reply; the kind of error follows it.
REFUSED_TEXT = "the server refused this message"


def short_error(self: ServerConnection, message: Any, text: str) -> Any:
    """An ERROR reply to `message` without a traceback (replaces ``ServerConnection.error``)."""
    kind = text.split("(", 1)[0][:60] if text else "error"
    reply = self.protocol.create("ERROR", message.header["msgid"], f"{REFUSED_TEXT} ({kind})")
    reply.content["traceback"] = None
    return reply


def install() -> None:
    """Make every ERROR reply of this process short; safe to call more than once."""
    ServerConnection.error = short_error  # type: ignore[method-assign]
