"""Clients that never read: the server buffers at most one update for them and closes them.

A real server on loopback at 1,000 houses and 100 ms (so the socket buffers fill
within about a minute), ten raw websocket clients that take their page and then
never read, and one client that reads. The non-readers' sessions are closed
after ``STUCK_CLOSE_S`` of unsent data, the server's memory stays flat, and the
reader keeps getting its ticks throughout.
"""

from __future__ import annotations

import json
import socket
import time

import psutil
import websocket
from server_support import Server, get_json

from benchmarks.ws_client import BokehClient, session_token
from leg_sim.server.backpressure import STUCK_CLOSE_S

#: Non-reading clients.
CLIENTS = 10
#: Most the server's memory may grow while they are connected, beyond what their sessions
#: took when they opened. [MB]
GROWTH_LIMIT_MB = 30.0
#: Longest the whole test waits for the sessions to be closed. [s]
WAIT_S = 100.0 + STUCK_CLOSE_S


def non_reader(base: str) -> websocket.WebSocket:
    """A client that opens a session, takes its document, asks for updates and then reads nothing."""
    token = session_token(base)
    ws = websocket.create_connection(
        f"ws://{base.split('//', 1)[1]}/main/ws", subprotocols=["bokeh", token], origin=base, timeout=30,
        sockopt=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)],
    )

    def message() -> dict:
        header = json.loads(ws.recv())
        ws.recv()
        ws.recv()
        for _ in range(2 * header.get("num_buffers", 0)):
            ws.recv()
        return header

    message()  # ACK
    for frame in (json.dumps({"msgid": "1", "msgtype": "PULL-DOC-REQ"}), "{}", "{}"):
        ws.send(frame)
    while message()["msgtype"] != "PULL-DOC-REPLY":
        pass
    ready = {"kind": "MessageSent", "msg_type": "bokeh_event",
             "msg_data": {"type": "event", "name": "document_ready", "values": {"type": "map", "entries": []}}}
    for frame in (json.dumps({"msgid": "2", "msgtype": "PATCH-DOC"}), "{}", json.dumps({"events": [ready]})):
        ws.send(frame)
    return ws


def test_clients_that_never_read_are_closed_and_memory_stays_flat(tmp_path):
    with Server(tmp_path, {"houses": 1000, "update_interval_ms": 100}) as srv:
        proc = psutil.Process(srv.proc.pid)
        reader = BokehClient(srv.base).start()
        assert reader.pulled.wait(60)
        stuck = [non_reader(srv.base) for _ in range(CLIENTS)]
        try:
            time.sleep(3.0)
            opened_mb = proc.memory_info().rss / 2**20
            assert get_json(srv.base + "/healthz")[1]["sessions"] == CLIENTS + 1
            peak_mb, seen_ticks = opened_mb, len(reader.ticks_seen)
            deadline = time.monotonic() + WAIT_S
            while time.monotonic() < deadline:
                time.sleep(2.0)
                peak_mb = max(peak_mb, proc.memory_info().rss / 2**20)
                status, health = get_json(srv.base + "/healthz")
                assert status == 200
                if health["slow_sessions_closed"] >= CLIENTS:
                    break
            assert health["slow_sessions_closed"] == CLIENTS, health
            assert health["sessions"] == 1  # the reader stays
            assert peak_mb - opened_mb < GROWTH_LIMIT_MB, (opened_mb, peak_mb)
            assert len(reader.ticks_seen) > seen_ticks + 100 and reader.error is None
        finally:
            for ws in stuck:
                ws.close()
            reader.close()
