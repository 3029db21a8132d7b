"""Fast reliability checks (the long versions run in `make soak`): faults, health, churn, soak."""

from __future__ import annotations

import itertools
import time

import numpy as np
import psutil
import pytest
from conftest import make_sim
from hypothesis import given
from hypothesis import strategies as st
from server_support import Server, get_json
from test_engine import check_invariants

from benchmarks.ws_client import BokehClient, open_and_close_sessions
from leg_sim.server.session import (
    COLLECT_AFTER_CLOSED,
    COLLECT_AFTER_CLOSED_FEEDS,
    COLLECT_EVERY_S,
    COLLECT_LOOP_SHARE,
    collect_due,
    collect_wait_s,
)

pytestmark = pytest.mark.server

INTERVAL_MS = 500


@pytest.fixture(scope="module")
def fault_server(tmp_path_factory):
    with Server(
        tmp_path_factory.mktemp("faults"), {"update_interval_ms": INTERVAL_MS}, extra=("--plugins", "tests.fault_plugin")
    ) as s:
        yield s


def wait_until(predicate, timeout_s=20.0, step_s=0.05):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step_s)
    return None


def test_a_failing_tick_is_logged_counted_and_the_loop_goes_on(fault_server):
    _, before = get_json(fault_server.base + "/healthz")
    get_json(fault_server.base + "/test/fault?count=3")
    assert wait_until(lambda: get_json(fault_server.base + "/healthz")[1]["error_count"] >= before["error_count"] + 3)
    _status, after = get_json(fault_server.base + "/healthz")
    assert after["last_error"] == "RuntimeError: injected fault"
    # ticking resumes: three more ticks after the faults
    assert wait_until(lambda: get_json(fault_server.base + "/healthz")[1]["tick"] >= after["tick"] + 3)
    assert get_json(fault_server.base + "/healthz")[0] == 200
    assert "injected fault" in fault_server.log() and "the loop goes on" in fault_server.log()


def test_healthz_turns_non_200_at_once_when_the_loop_stops(fault_server):
    assert get_json(fault_server.base + "/healthz")[0] == 200
    # Align with a fresh tick so the measurement starts from the worst case (a tick just happened).
    tick = get_json(fault_server.base + "/healthz")[1]["tick"]
    wait_until(lambda: get_json(fault_server.base + "/healthz")[1]["tick"] > tick, step_s=0.01)
    get_json(fault_server.base + "/test/stop")
    stopped_at = time.monotonic()
    first_bad = wait_until(
        lambda: time.monotonic() if get_json(fault_server.base + "/healthz")[0] != 200 else None, timeout_s=5, step_s=0.02
    )
    assert first_bad is not None
    assert first_bad - stopped_at <= 2 * INTERVAL_MS / 1000
    status, body = get_json(fault_server.base + "/healthz")
    assert status == 503 and body["status"] in ("stopped", "stalled")


def test_session_churn_leaves_nothing_behind(tmp_path):
    with Server(tmp_path, {"update_interval_ms": 1000}) as srv:
        proc = psutil.Process(srv.proc.pid)
        _, base = get_json(srv.base + "/healthz")
        # Warm-up: imports, caches, first allocations, and the heap's high-water mark (up to
        # COLLECT_AFTER_CLOSED closed sessions wait for a collection while 10 open and close):
        # the same sequence as the one measured, so both reach the same peak.
        open_and_close_sessions(srv.base, 100)
        assert wait_until(lambda: get_json(srv.base + "/healthz")[1]["sessions"] == 0, timeout_s=30)
        rss_warm = proc.memory_info().rss
        assert open_and_close_sessions(srv.base, 100) == 100
        _, _during = get_json(srv.base + "/healthz")
        assert wait_until(lambda: get_json(srv.base + "/healthz")[1]["sessions"] == 0, timeout_s=30)
        # Closed sessions are freed by a collection that may wait a little (session.collect_wait_s).
        assert wait_until(lambda: get_json(srv.base + "/healthz")[1]["sessions_uncollected"] == 0, timeout_s=60)
        time.sleep(1.0)
        _, after = get_json(srv.base + "/healthz")
        rss_after = proc.memory_info().rss
    assert after["listeners"] == base["listeners"] == 1  # the shared feed's, none per session
    assert after["watchers"] == base["watchers"]
    assert after["error_count"] == 0
    assert (rss_after - rss_warm) / 2**20 <= 10.0, f"RSS grew {(rss_after - rss_warm) / 2**20:.1f} MB over 100 sessions"


@given(pauses_s=st.lists(st.floats(0.0, 20.0), min_size=1, max_size=50), close_gaps_s=st.lists(st.floats(0.0, 30.0), min_size=1, max_size=50))
def test_collections_of_closed_sessions_take_a_bounded_share_of_the_loop(pauses_s, close_gaps_s):
    # Sessions close at any pace; each collection takes what the heap makes it take. Following
    # collect_wait_s, collections are COLLECT_EVERY_S apart at least and their pauses add up to
    # at most COLLECT_LOOP_SHARE of the time between them (when they are long).
    now, last_end, last_pause, done = 0.0, -1e9, 0.0, []
    for i, gap in enumerate(close_gaps_s):
        pause = pauses_s[i % len(pauses_s)]
        now += gap
        wait = collect_wait_s(now, last_end, last_pause)
        assert wait >= 0.0
        now += wait  # the collection runs when the wait has passed
        done.append((now, pause))
        now += pause
        last_end, last_pause = now, pause
    for (start_a, pause_a), (start_b, _) in itertools.pairwise(done):
        gap_s = start_b - (start_a + pause_a)
        assert gap_s >= COLLECT_EVERY_S - 1e-9
        assert pause_a <= COLLECT_LOOP_SHARE * gap_s + 1e-9


def test_a_collection_waits_only_as_long_as_it_must():
    assert collect_wait_s(100.0, 0.0, 1.0) == 0.0  # long ago
    assert collect_wait_s(100.0, 99.0, 0.0) == COLLECT_EVERY_S - 1.0
    assert collect_wait_s(100.0, 99.0, 5.0) == 5.0 / COLLECT_LOOP_SHARE - 1.0  # a long collection waits long


def test_closed_sessions_wait_for_one_collection_unless_no_page_is_open_or_the_cap_is_reached():
    cap = 600
    assert not collect_due(0, 0, cap) and not collect_due(0, cap, cap)
    assert collect_due(1, 0, cap)  # nobody is held up
    assert not collect_due(COLLECT_AFTER_CLOSED - 1, 1, cap)
    assert collect_due(COLLECT_AFTER_CLOSED, 400, cap) and collect_due(COLLECT_AFTER_CLOSED + 5, 1, cap)
    assert collect_due(1, cap - 1, cap) and not collect_due(1, cap - 2, cap)  # new pages wait for that memory


@given(closed=st.integers(0, 5000), open_feeds=st.integers(0, 1000), open_sessions=st.integers(0, 3))
def test_closed_feeds_of_pages_built_once_wait_until_no_page_is_open_or_many_wait(closed, open_feeds, open_sessions):
    """What a closed feed leaves is a few kB: it waits for a moment with nobody watching, or for
    COLLECT_AFTER_CLOSED_FEEDS of them; no closed session waits here."""
    due = collect_due(0, open_sessions, 600, closed, open_feeds)
    if closed == 0:
        assert not due
    elif open_feeds == 0 and open_sessions == 0:
        assert due
    else:
        assert due == (closed >= COLLECT_AFTER_CLOSED_FEEDS)


@given(uncollected=st.integers(0, 1000), open_sessions=st.integers(0, 1000), cap=st.integers(1, 1000))
def test_closed_sessions_never_wait_beyond_their_share_or_the_cap(uncollected, open_sessions, cap):
    if not collect_due(uncollected, open_sessions, cap) and uncollected > 0:
        assert uncollected < COLLECT_AFTER_CLOSED and open_sessions + uncollected < cap and open_sessions > 0
    if uncollected == 0:
        assert not collect_due(uncollected, open_sessions, cap)  # nothing to free: no pause


def test_a_viewer_leaving_starts_no_collection_while_others_watch_and_the_last_one_does(tmp_path):
    with Server(tmp_path, {"update_interval_ms": 1000}) as srv:
        clients = [BokehClient(srv.base).start() for _ in range(2)]
        try:
            assert all(c.pulled.wait(60) for c in clients), [c.error for c in clients]
            clients.pop().close()

            def health():
                return get_json(srv.base + "/healthz", timeout_s=30)[1]

            assert wait_until(lambda: health()["sessions"] == 1, timeout_s=30)
            time.sleep(2.0)
            assert health()["sessions_uncollected"] >= 1  # waits: a collection would hold the open page
            clients.pop().close()
            assert wait_until(lambda: health()["sessions"] == 0 and health()["sessions_uncollected"] == 0, timeout_s=60)
        finally:
            for c in clients:
                c.close()


def test_one_simulated_day_keeps_every_invariant_and_memory_bounded():
    sim = make_sim(houses=20, flex_load_probability=0.3, update_interval_ms=1000, clock={"start": "2026-03-20T00:00:00", "speed_factor": 60})
    sim.history.__init__(500)
    for _ in range(24 * 60):  # one simulated minute per tick
        check_invariants(sim.step())
    assert len(sim.history) == 500
    frame = sim.history_frame()
    assert np.isfinite(frame["total_production_w"]).all()
    assert sim.snapshot.energy_kwh["production_kwh"] > 0


def test_a_page_of_10000_houses_opens_within_2_s_and_100_mb(tmp_path):
    # The flow graph's layout is shared and O(n); nothing per session grows with n².
    from benchmarks.ws_client import BokehClient

    with Server(tmp_path, {"houses": 10_000, "update_interval_ms": 1000}) as srv:
        proc = psutil.Process(srv.proc.pid)
        times_s, growth_mb = [], []
        for _ in range(3):
            rss0 = proc.memory_info().rss / 2**20
            started = time.monotonic()
            client = BokehClient(srv.base).start()
            assert client.pulled.wait(60), client.error
            times_s.append(time.monotonic() - started)
            growth_mb.append(proc.memory_info().rss / 2**20 - rss0)
            client.close()
            time.sleep(1.0)
    assert sorted(times_s)[1] <= 2.0, times_s  # the median of three
    assert max(growth_mb[1:]) <= 100.0, growth_mb  # the first session also fills one-off caches
