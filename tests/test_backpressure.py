"""Clients that never read: the server buffers at most one update for them and closes them.

A real server on loopback at 1,000 houses and 100 ms (so the sessions' bounded
socket buffers fill within seconds), ten raw websocket clients that take their page and then
never read, and one client that reads. The non-readers' sessions are closed
after ``STUCK_CLOSE_S`` of unsent data, the server's memory stays flat, and the
reader keeps getting its ticks throughout.
"""

from __future__ import annotations

import json
import time

import psutil
import pytest
from hypothesis import given
from hypothesis import strategies as st
from server_support import Server, get_json

from benchmarks.ws_client import BokehClient, non_reader
from leg_sim.server.backpressure import STUCK_CLOSE_S, StuckTimer

#: Non-reading clients.
CLIENTS = 10
#: Most the server's memory may grow while they are connected, beyond what their sessions
#: took when they opened. [MB]
GROWTH_LIMIT_MB = 30.0
#: Longest the whole test waits for the sessions to be closed: filling a session's bounded send
#: buffer (backpressure.SEND_BUFFER_BYTES) takes about ten seconds at this tick rate, longer on a
#: busy machine, then STUCK_CLOSE_S. [s]
WAIT_S = 90.0 + STUCK_CLOSE_S


@pytest.mark.parametrize("feed", [False, True], ids=["document-only", "with-feed"])
def test_clients_that_never_read_are_closed_and_memory_stays_flat(tmp_path, feed):
    """With `feed`, each non-reader also opens its page's feed socket and reads nothing there:
    the feed is closed first, the session then falls back to its own updates and is closed too."""
    closes = CLIENTS * (2 if feed else 1)
    wait_s = WAIT_S * (2 if feed else 1)
    with Server(tmp_path, {"houses": 1000, "update_interval_ms": 100}) as srv:
        proc = psutil.Process(srv.proc.pid)
        reader = BokehClient(srv.base).start()
        assert reader.pulled.wait(60)
        stuck = [non_reader(srv.base, feed=feed) for _ in range(CLIENTS)]
        try:
            time.sleep(3.0)
            # Every page is open (on a busy machine the last one may still be attaching).
            counted, counted_by = 0, time.monotonic() + 30.0
            while counted != CLIENTS + 1 and time.monotonic() < counted_by:
                counted = get_json(srv.base + "/healthz")[1]["sessions"]
                time.sleep(0.2)
            assert counted == CLIENTS + 1
            opened_mb = proc.memory_info().rss / 2**20
            peak_mb, seen_ticks = opened_mb, len(reader.ticks_seen)
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline:
                time.sleep(2.0)
                peak_mb = max(peak_mb, proc.memory_info().rss / 2**20)
                status, health = get_json(srv.base + "/healthz")
                assert status == 200
                if health["slow_sessions_closed"] >= closes and health["sessions"] == 1:
                    break
            assert health["slow_sessions_closed"] == closes, json.dumps(health)
            assert health["sessions"] == 1  # the reader stays
            assert peak_mb - opened_mb < GROWTH_LIMIT_MB, (opened_mb, peak_mb)
            assert len(reader.ticks_seen) > seen_ticks + 100 and reader.error is None
        finally:
            for ws in stuck:
                ws.close()
            reader.close()


@given(st.lists(st.tuples(st.floats(min_value=0.0, max_value=20.0), st.booleans()), max_size=40))
def test_a_socket_is_stuck_only_after_holding_unsent_data_without_a_break_for_the_whole_time(steps):
    """Each step: seconds passed and whether the socket holds unsent data. Stuck exactly when the
    last run of unsent observations began at least STUCK_CLOSE_S before now."""
    timer, now_s, run_start_s = StuckTimer(), 1000.0, None
    for dt_s, unsent in steps:
        now_s += dt_s
        run_start_s = (run_start_s if run_start_s is not None else now_s) if unsent else None
        expected = run_start_s is not None and now_s - run_start_s >= STUCK_CLOSE_S
        assert timer.stuck(now_s, unsent) is expected
