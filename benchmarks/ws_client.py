"""A minimal Bokeh websocket client for load tests and byte counts, loopback only.

It opens a real dashboard session the way a browser does (GET the page for a
session token, open ``/main/ws``, pull the document) and, as the page's script
does, the session's ``/feed`` websocket (``feed=True``, the default), and then
just receives: it counts the payload bytes of every server message and notes,
for each tick shown, how long after the tick was computed the message arrived
(the KPI values' ``wall`` stamp in a Bokeh patch, or a feed frame's ``wall``).
It keeps the cookies the server (or a proxy in front of it) sets, and sends them with
both websockets, as a browser does. It does not render anything.

Each client receives on its own threads (two per session) unless it is given a
shared :class:`Receiver`: then, once its document and feed are open, one thread
receives for every session. With hundreds of sessions the per-session threads
measure the client's own wait for Python's interpreter lock, not the server
(at 400 sessions, 800 threads woken by the same tick).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import http.cookiejar
import json
import re
import selectors
import socket
import threading
import time
import urllib.error
import urllib.request

import websocket
from bokeh.util.token import get_session_id

TOKEN = re.compile(r'"token":"([^"]+)"')
# The KPI block's "wall" value: when the shown tick was computed (epoch seconds).
WALL = re.compile(r'\["wall",\["([0-9.]+)"\]\]')


def session_token(
    base_url: str, timeout_s: float = 30.0, jar: http.cookiejar.CookieJar | None = None, headers: dict[str, str] | None = None
) -> str:
    """The session token of a fresh page. A busy server's 503 page is retried after its
    Retry-After, as the page's own refresh would, until `timeout_s`. Cookies set go into `jar`;
    `headers` go with the page request (a proxy's X-Forwarded-For, say)."""
    deadline = time.monotonic() + timeout_s
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar)) if jar is not None else None
    while True:
        try:
            request = urllib.request.Request(base_url + "/main?session=1", headers=headers or {})
            with (opener.open if opener else urllib.request.urlopen)(request, timeout=timeout_s) as r:
                page = r.read().decode()
            break
        except urllib.error.HTTPError as e:
            retry_s = float(e.headers.get("Retry-After") or 0)
            if e.code != 503 or not retry_s or time.monotonic() + retry_s > deadline:
                raise
            time.sleep(retry_s)
    match = TOKEN.search(page)
    if not match:
        raise RuntimeError("no session token in the page")
    return match.group(1)


#: What BokehJS sends once the document is idle; Panel only then treats the session as
#: connected and loaded.
READY_EVENT = {
    "kind": "MessageSent",
    "msg_type": "bokeh_event",
    "msg_data": {"type": "event", "name": "document_ready", "values": {"type": "map", "entries": []}},
}


class Receiver:
    """One thread that receives the frames of many websockets (:mod:`selectors`); start with
    :meth:`start`, stop with :meth:`close` (or use it in a ``with`` block). A websocket is handed over with :meth:`add` once
    nothing else reads it; its frames go to `on_frame(frame, received_epoch_s)`, and a closed
    or failed socket to `on_error(message)`."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._closing = False
        self._thread = threading.Thread(target=self._run, daemon=True, name="ws-receiver")

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def add(self, ws: websocket.WebSocket, on_frame, on_error) -> None:
        # websocket-client reads exactly one frame's bytes, so a readable socket is a whole
        # unread frame's start and nothing waits in its buffer unseen by the selector.
        ws.settimeout(5.0)
        stale = self._selector.get_map().get(ws.sock.fileno())
        if stale is not None:  # a closed socket that had the same number
            self._drop(stale.fileobj)
        self._selector.register(ws.sock, selectors.EVENT_READ, (ws, on_frame, on_error))

    def _drop(self, sock) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(sock)

    def _run(self) -> None:
        while not self._closing:
            try:
                ready = self._selector.select(0.2)
            except (OSError, ValueError):  # a socket closed while registered
                ready = []
                for key in list(self._selector.get_map().values()):
                    if key.fileobj.fileno() < 0:
                        self._drop(key.fileobj)
            for key, _ in ready:
                ws, on_frame, on_error = key.data
                try:
                    # One frame, not recv(): that answers a ping and then waits for the next
                    # data frame, which would hold up every other socket meanwhile.
                    opcode, data = ws.recv_data(control_frame=True)
                    if opcode == websocket.ABNF.OPCODE_CLOSE:
                        raise ConnectionError("closed by the server")
                    if opcode in (websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_BINARY):
                        on_frame(data.decode("utf-8") if opcode == websocket.ABNF.OPCODE_TEXT else data, time.time())
                except Exception as exc:
                    self._drop(key.fileobj)
                    if not self._closing:
                        on_error(f"{type(exc).__name__}: {exc}")

    def close(self) -> None:
        self._closing = True
        self._thread.join(5)
        self._selector.close()

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


class BokehClient:
    """One dashboard session over a raw websocket; call :meth:`start`, later :meth:`close`."""

    def __init__(
        self, base_url: str, timeout_s: float = 30.0, feed: bool = True, receiver: Receiver | None = None, headers: dict[str, str] | None = None
    ):
        self.base_url = base_url
        #: Sent with the page request.
        self.headers = headers
        #: When given, receives for this session once its document (and feed) are open.
        self.receiver = receiver
        self.timeout_s = timeout_s
        self.feed = feed
        #: Bytes and frames of the feed websocket.
        self.feed_bytes = 0
        self.feed_frames = 0
        self._feed_ws: websocket.WebSocket | None = None
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
        self.jar = http.cookiejar.CookieJar()

    @property
    def cookie(self) -> str | None:
        """The cookies to send with a websocket, as a browser would; None without any."""
        return "; ".join(f"{c.name}={c.value}" for c in self.jar) or None

    def start(self) -> BokehClient:
        token = session_token(self.base_url, self.timeout_s, self.jar, self.headers)
        host = self.base_url.split("//", 1)[1]
        self._session_id = get_session_id(token)
        # The server's frames are JSON it made itself; websocket-client's pure-Python UTF-8
        # check would cost about 0.2 ms per kB of every frame, at hundreds of sessions the
        # client's own delay.
        self._ws = websocket.create_connection(
            f"ws://{host}/main/ws", subprotocols=["bokeh", token], timeout=self.timeout_s, origin=self.base_url, cookie=self.cookie,
            skip_utf8_validation=True,
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
        """Tell the server the page is ready (:data:`READY_EVENT`)."""
        for frame in (json.dumps({"msgid": "2", "msgtype": "PATCH-DOC"}), "{}", json.dumps({"events": [READY_EVENT]})):
            self._ws.send(frame)

    def _run(self) -> None:
        try:
            self._message()  # ACK
            for frame in (json.dumps({"msgid": "1", "msgtype": "PULL-DOC-REQ"}), "{}", "{}"):
                self._ws.send(frame)
            while True:
                try:
                    header, size, content = self._message()
                except websocket.WebSocketTimeoutException:
                    if self.feed and self.pulled.is_set():
                        continue  # the feed carries the ticks: a quiet document socket is normal
                    raise
                if header["msgtype"] == "PULL-DOC-REPLY":
                    self.bytes_pulled = size
                    self._send_ready()
                    if self.feed:
                        threading.Thread(target=self._run_feed, daemon=True).start()
                    self.pulled.set()
                    if self.receiver is not None:
                        self.receiver.add(self._ws, self._document_frame, self._failed)
                        return
                    continue
                if not self.pulled.is_set():
                    continue
                received = time.time()
                self.bytes_after_pull += size
                self.messages_after_pull += 1
                for stamp in WALL.findall(content):
                    self._seen(float(stamp), received)
        except Exception as exc:  # the socket closed or the server went away
            if not self._closing:
                self.error = f"{type(exc).__name__}: {exc}"

    def _document_frame(self, frame: str | bytes, received: float) -> None:
        """One frame of the document socket, from the shared receiver (header, metadata,
        content and buffers each count; only a content frame holds the tick stamp)."""
        self.bytes_after_pull += len(frame)
        if isinstance(frame, str) and '"msgtype"' in frame[:200]:
            self.messages_after_pull += 1
        elif isinstance(frame, str):
            for stamp in WALL.findall(frame):
                self._seen(float(stamp), received)

    def _feed_frame(self, frame: str | bytes, received: float) -> None:
        self.feed_bytes += len(frame)
        self.feed_frames += 1
        self._seen(float(json.loads(frame)["wall"]), received)

    def _failed(self, message: str) -> None:
        if not self._closing:
            self.error = message

    @property
    def bytes_received(self) -> int:
        """Payload bytes after the document: the Bokeh websocket's and the feed's. [B]"""
        return self.bytes_after_pull + self.feed_bytes

    def _seen(self, wall: float, received: float) -> None:
        if wall not in self.ticks_seen:
            self.ticks_seen.add(wall)
            self.latencies_s.append(received - wall)

    def _run_feed(self) -> None:
        """Receive the page's feed frames, as the page's script does (leg_sim.ui.feed)."""
        host = self.base_url.split("//", 1)[1]
        try:
            self._feed_ws = websocket.create_connection(
                f"ws://{host}/feed?id={self._session_id}", timeout=self.timeout_s, origin=self.base_url, cookie=self.cookie,
                skip_utf8_validation=True,
            )
            if self.receiver is not None:
                self.receiver.add(self._feed_ws, self._feed_frame, lambda message: self._failed(f"feed: {message}"))
                return
            while True:
                frame = self._feed_ws.recv()
                received = time.time()
                if not frame:
                    raise ConnectionError("feed closed")
                self._feed_frame(frame, received)
        except Exception as exc:
            if not self._closing:
                self.error = f"feed: {type(exc).__name__}: {exc}"

    def close(self) -> None:
        self._closing = True
        for ws in (self._ws, self._feed_ws):
            if ws is not None:
                with contextlib.suppress(Exception):
                    ws.close()
        if self._thread is not None:
            self._thread.join(5)


def ticks_missing(seen_by_client: list[set[float]], start_wall_s: float, end_wall_s: float) -> tuple[int, int, int]:
    """Ticks lost on the way to the clients, by the ticks' own stamps rather than by when they
    arrived: the ticks computed in [`start_wall_s`, `end_wall_s`] that any client saw count as
    sent; each client that lacks one of them lost it (or has not got it yet). A tick no client
    saw is not counted here: compare the number sent with the server's tick count. Returns
    (ticks sent, ticks missing over all clients, clients missing at least one). Counting
    messages received in a time window instead miscounts by one per client whenever a tick is
    being fanned out as the window opens or closes."""
    sent = {w for seen in seen_by_client for w in seen if start_wall_s <= w <= end_wall_s}
    missing = [len(sent - seen) for seen in seen_by_client]
    return len(sent), sum(missing), sum(1 for m in missing if m)


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


def open_sessions(
    base_urls: list[str], count: int, timeout_s: float, parallel: int = 20, receiver: Receiver | None = None,
) -> tuple[list[BokehClient], int, list[str]]:
    """Open `count` sessions at once, `parallel` at a time, spread in turn over `base_urls`, as wall
    screens reconnecting after a restart would, and wait until each has its document or `timeout_s`
    has passed since the start; with a `receiver`, it receives for all of them once open. Returns
    (the clients that connected, how many got their document, the errors of those that did not connect)."""
    t0 = time.monotonic()
    failures: list[str] = []

    def open_one(i: int) -> BokehClient | None:
        try:
            return BokehClient(base_urls[i % len(base_urls)], timeout_s=timeout_s, receiver=receiver).start()
        except Exception as exc:  # reported by the caller
            failures.append(f"{type(exc).__name__}: {exc}")
            return None

    with concurrent.futures.ThreadPoolExecutor(max_workers=parallel) as pool:
        clients = [c for c in pool.map(open_one, range(count)) if c is not None]
    opened = sum(c.pulled.wait(max(timeout_s - (time.monotonic() - t0), 0.1)) for c in clients)
    return clients, opened, failures


class RawSession:
    """One session driven message by message, as a hostile or careless client would.

    :meth:`open` connects (with `origin` and `token` as given, else the server's own;
    `receive_buffer_bytes` shrinks the socket's receive buffer), :meth:`pull` returns
    the document's JSON, :meth:`set_property` sends one model change and
    :meth:`replies` reads what comes back for a while.
    """

    def __init__(
        self, base_url: str, origin: str | None = None, token: str | None = None, timeout_s: float = 30.0,
        receive_buffer_bytes: int | None = None,
    ):
        self.base_url = base_url
        self.origin = base_url if origin is None else origin
        self.token = token
        self.timeout_s = timeout_s
        self.receive_buffer_bytes = receive_buffer_bytes
        self._ws: websocket.WebSocket | None = None
        self._msgid = 100

    def open(self) -> RawSession:
        token = self.token or session_token(self.base_url, self.timeout_s)
        self.session_id = get_session_id(token)
        host = self.base_url.split("//", 1)[1]
        sockopt = [] if self.receive_buffer_bytes is None else [(socket.SOL_SOCKET, socket.SO_RCVBUF, self.receive_buffer_bytes)]
        self._ws = websocket.create_connection(
            f"ws://{host}/main/ws", subprotocols=["bokeh", token], timeout=self.timeout_s, origin=self.origin, sockopt=sockopt
        )
        header, _ = self.receive()
        if header.get("msgtype") != "ACK":
            raise RuntimeError(f"expected ACK, got {header}")
        return self

    def receive(self) -> tuple[dict, dict]:
        """The next message: header and content (buffers are skipped)."""
        assert self._ws is not None
        first = self._ws.recv()
        if not first:
            raise ConnectionError("the server closed the websocket")
        header = json.loads(first)
        self._ws.recv()  # metadata
        content = self._ws.recv()
        for _ in range(2 * header.get("num_buffers", 0)):
            self._ws.recv()
        return header, json.loads(content) if content else {}

    def send(self, msgtype: str, content: dict) -> str:
        assert self._ws is not None
        self._msgid += 1
        msgid = str(self._msgid)
        for frame in (json.dumps({"msgid": msgid, "msgtype": msgtype}), "{}", json.dumps(content)):
            self._ws.send(frame)
        return msgid

    def pull(self) -> dict:
        """Ask for the document and return it (``{"roots": ..., ...}``)."""
        self.send("PULL-DOC-REQ", {})
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            header, content = self.receive()
            if header["msgtype"] == "PULL-DOC-REPLY":
                return content["doc"]
        raise RuntimeError("no PULL-DOC-REPLY")

    def ready(self) -> None:
        """Tell the server the page is ready, as BokehJS does (:data:`READY_EVENT`)."""
        self.send("PATCH-DOC", {"events": [READY_EVENT]})

    def set_property(self, model_id: str, attr: str, value) -> str:
        """Send one ModelChanged patch, as a browser does when a widget moves; returns its msgid."""
        event = {"kind": "ModelChanged", "model": {"id": model_id}, "attr": attr, "new": value}
        return self.send("PATCH-DOC", {"events": [event]})

    def replies(self, seconds: float) -> list[tuple[dict, dict]]:
        """Every message that arrives within `seconds`."""
        assert self._ws is not None
        got = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self._ws.settimeout(left)
            try:
                got.append(self.receive())
            except websocket.WebSocketTimeoutException:
                break
        self._ws.settimeout(self.timeout_s)
        return got

    def close(self) -> None:
        for ws in (self._ws, getattr(self, "feed_ws", None)):
            if ws is not None:
                with contextlib.suppress(Exception):
                    ws.close()


def find_models(doc: dict, type_name: str) -> list[dict]:
    """Every model of `type_name` (e.g. ``"Slider"``) anywhere in a pulled document."""
    found: list[dict] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" and node.get("name") == type_name:
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    return found


def non_reader(base: str, feed: bool = False) -> RawSession:
    """A client that opens a session, takes its document, asks for updates and then reads nothing
    (with a 4 KB receive buffer, so the server's side fills sooner); with `feed`, it also opens the
    page's feed websocket (same small buffer) and reads nothing there either."""
    session = RawSession(base, receive_buffer_bytes=4096).open()
    session.pull()
    session.ready()
    if feed:
        host = base.split("//", 1)[1]
        session.feed_ws = websocket.create_connection(
            f"ws://{host}/feed?id={session.session_id}", timeout=30, origin=base, sockopt=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)]
        )
    return session
