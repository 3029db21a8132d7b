"""A minimal Bokeh websocket client for load tests and byte counts, loopback only.

It opens a real dashboard session the way a browser does (GET the page for a
session token, open ``/main/ws``, pull the document) and then just receives:
it counts the websocket payload bytes of every server message and notes, for
each tick shown, how long after the tick was computed the message arrived
(from the KPI block's ``data-wall`` stamp). It does not render anything.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
import urllib.request

import websocket

TOKEN = re.compile(r'"token":"([^"]+)"')
# The KPI block's "wall" value: when the shown tick was computed (epoch seconds).
WALL = re.compile(r'\["wall",\["([0-9.]+)"\]\]')


def session_token(base_url: str, timeout_s: float = 30.0) -> str:
    with urllib.request.urlopen(base_url + "/main", timeout=timeout_s) as r:
        page = r.read().decode()
    match = TOKEN.search(page)
    if not match:
        raise RuntimeError("no session token in the page")
    return match.group(1)


class BokehClient:
    """One dashboard session over a raw websocket; call :meth:`start`, later :meth:`close`."""

    def __init__(self, base_url: str, timeout_s: float = 30.0):
        self.base_url = base_url
        self.timeout_s = timeout_s
        self.bytes_after_pull = 0
        #: Size of the document the server sent for the page (PULL-DOC-REPLY). [B]
        self.bytes_pulled = 0
        self.messages_after_pull = 0
        self.pulled = threading.Event()
        self.latencies_s: list[float] = []
        self.ticks_seen: set[float] = set()
        self.error: str | None = None
        self._ws: websocket.WebSocket | None = None
        self._thread: threading.Thread | None = None
        self._closing = False

    def start(self) -> BokehClient:
        token = session_token(self.base_url, self.timeout_s)
        host = self.base_url.split("//", 1)[1]
        self._ws = websocket.create_connection(
            f"ws://{host}/main/ws", subprotocols=["bokeh", token], timeout=self.timeout_s, origin=self.base_url
        )
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _frame(self) -> str | bytes:
        return self._ws.recv()

    def _message(self) -> tuple[dict, int, str]:
        header_raw = self._frame()
        header = json.loads(header_raw)
        metadata = self._frame()
        content = self._frame()
        size = len(header_raw) + len(metadata) + len(content)
        for _ in range(header.get("num_buffers", 0)):
            for _ in range(2):  # buffer header, then the binary payload
                size += len(self._frame())
        return header, size, content if isinstance(content, str) else content.decode("utf-8", "replace")

    def _send_ready(self) -> None:
        """Tell the server the page is ready, as BokehJS does once the document is idle
        (Panel only then treats the session as connected and loaded)."""
        event = {
            "kind": "MessageSent",
            "msg_type": "bokeh_event",
            "msg_data": {"type": "event", "name": "document_ready", "values": {"type": "map", "entries": []}},
        }
        for frame in (json.dumps({"msgid": "2", "msgtype": "PATCH-DOC"}), "{}", json.dumps({"events": [event]})):
            self._ws.send(frame)

    def _run(self) -> None:
        try:
            self._message()  # ACK
            for frame in (json.dumps({"msgid": "1", "msgtype": "PULL-DOC-REQ"}), "{}", "{}"):
                self._ws.send(frame)
            while True:
                header, size, content = self._message()
                if header["msgtype"] == "PULL-DOC-REPLY":
                    self.bytes_pulled = size
                    self._send_ready()
                    self.pulled.set()
                    continue
                if not self.pulled.is_set():
                    continue
                received = time.time()
                self.bytes_after_pull += size
                self.messages_after_pull += 1
                for stamp in WALL.findall(content):
                    wall = float(stamp)
                    if wall not in self.ticks_seen:
                        self.ticks_seen.add(wall)
                        self.latencies_s.append(received - wall)
        except Exception as exc:  # the socket closed or the server went away
            if not self._closing:
                self.error = f"{type(exc).__name__}: {exc}"

    def close(self) -> None:
        self._closing = True
        if self._ws is not None:
            with contextlib.suppress(Exception):
                self._ws.close()
        if self._thread is not None:
            self._thread.join(5)


def open_and_close_sessions(base_url: str, count: int, parallel: int = 10, timeout_s: float = 60.0) -> int:
    """Open `count` sessions, `parallel` at a time, wait until each has its document, close them.

    Returns how many sessions got their document; raises if one does not within `timeout_s`.
    """
    opened = 0
    for start in range(0, count, parallel):
        batch = [BokehClient(base_url).start() for _ in range(min(parallel, count - start))]
        try:
            for c in batch:
                if not c.pulled.wait(timeout_s):
                    raise RuntimeError(f"a session did not get its document in {timeout_s:.0f} s: {c.error}")
            opened += len(batch)
        finally:
            for c in batch:
                c.close()
    return opened
