"""Page builds are paced and open sessions capped: the excess gets pages that retry by themselves.

The token bucket is checked with Hypothesis; a real server gets twenty page
requests at once and must answer the excess at once with a 503 busy page that
refreshes itself, stay healthy meanwhile, and build a page again once the
bucket refills. The session cap (and its lowering to what the open-files limit
allows) is checked with Hypothesis; a real server capped at two sessions
answers a third page request with the full page, and builds one again once a
session has closed.
"""

from __future__ import annotations

import concurrent.futures
import re
import time
import urllib.error
import urllib.request

from hypothesis import given, settings
from hypothesis import strategies as st
from server_support import Server, get_json

from benchmarks.ws_client import BokehClient
from leg_sim.server.admission import (
    BURST,
    FDS_PER_SESSION,
    MAX_SESSIONS,
    MIN_RETRY_S,
    PAGES_PER_S,
    RESERVED_FDS,
    RETRY_JITTER_S,
    WORKER_PAGES_PER_S,
    PageBudget,
    address_key,
    budget_from,
    max_per_address_from,
    max_sessions_from,
)


@settings(max_examples=200, deadline=None)
@given(gaps_s=st.lists(st.floats(0.0, 3.0), min_size=1, max_size=200), burst=st.integers(1, 10), per_s=st.floats(0.1, 5.0))
def test_the_budget_never_admits_more_than_burst_plus_rate_times_time(gaps_s, burst, per_s):
    budget = PageBudget(burst, per_s)
    now, admitted = 0.0, 0
    for gap in gaps_s:
        now += gap
        ok, wait_s = budget.admit(now)
        admitted += ok
        assert (wait_s == 0) if ok else (0 < wait_s <= 1 / per_s + 1e-9)
        assert admitted <= burst + per_s * now + 1e-6
    assert budget.refused == len(gaps_s) - admitted


def test_an_idle_budget_admits_a_whole_burst_again():
    budget = PageBudget(3, 1.0)
    assert [budget.admit(0.0)[0] for _ in range(4)] == [True, True, True, False]
    assert [budget.admit(10.0)[0] for _ in range(4)] == [True, True, True, False]


def test_the_pace_comes_from_the_environment_and_a_worker_has_its_own_default():
    assert (budget_from({}).burst, budget_from({}).per_s) == (BURST, PAGES_PER_S)
    assert budget_from({"LEG_ROLE": "worker"}).per_s == WORKER_PAGES_PER_S > PAGES_PER_S
    asked = budget_from({"LEG_ROLE": "worker", "LEG_PAGE_BURST": "5", "LEG_PAGES_PER_S": "0.5"})
    assert (asked.burst, asked.per_s) == (5, 0.5)
    # Values that mean nothing fall back to the role's default.
    for bad in ({"LEG_PAGES_PER_S": "fast"}, {"LEG_PAGES_PER_S": "nan"}, {"LEG_PAGES_PER_S": "-1"}, {"LEG_PAGE_BURST": "x"}):
        assert budget_from({"LEG_ROLE": "worker", **bad}).per_s == WORKER_PAGES_PER_S, bad


def page(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, dict]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=120) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


def test_a_burst_of_page_requests_gets_busy_pages_that_retry_and_the_server_stays_healthy(tmp_path):
    paced = {"LEG_PAGE_BURST": str(BURST), "LEG_PAGES_PER_S": str(PAGES_PER_S)}
    with Server(tmp_path, {"houses": 5, "update_interval_ms": 500}, env=paced) as srv:
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(lambda _: page(srv.base + "/main?session=1"), range(20)))
            status, health = get_json(srv.base + "/healthz", timeout_s=30)
        built = [a for a in answers if a[0] == 200]
        busy = [a for a in answers if a[0] == 503]
        # The burst is built; a few more as the bucket refills during those builds; the rest wait.
        assert len(built) + len(busy) == 20 and len(built) >= BURST and len(busy) >= 3, [a[0] for a in answers]
        for _, body, headers in busy:
            retry_s = int(headers["Retry-After"])
            assert MIN_RETRY_S <= retry_s <= 1 / PAGES_PER_S * 20 + MIN_RETRY_S + RETRY_JITTER_S + 1
            assert re.search(rf'http-equiv="refresh" content="{retry_s}"', body) and "busy" in body
        assert status == 200 and health["pages_deferred"] >= len(busy)
        time.sleep(1.5 / PAGES_PER_S)
        assert page(srv.base + "/main?session=1")[0] == 200  # a screen that comes back later gets its page


def test_the_session_cap_comes_from_the_environment_and_bad_values_fall_back_with_a_warning():
    assert max_sessions_from({}, None) == (MAX_SESSIONS, None)
    assert max_sessions_from({"LEG_MAX_SESSIONS": " 50 "}, None) == (50, None)
    for bad in ("many", "0", "-3", "2.5"):
        cap, warning = max_sessions_from({"LEG_MAX_SESSIONS": bad}, None)
        assert cap == MAX_SESSIONS and warning and "LEG_MAX_SESSIONS" in warning and "\n" not in warning, bad
    cap, warning = max_sessions_from({}, 1024)
    assert cap == (1024 - RESERVED_FDS) // FDS_PER_SESSION < MAX_SESSIONS and "1024" in warning


@given(asked=st.one_of(st.none(), st.integers(-5, 100_000)), fd_limit=st.one_of(st.none(), st.integers(0, 200_000)))
def test_the_session_cap_is_at_least_one_and_never_more_than_the_open_files_limit_allows(asked, fd_limit):
    environ = {} if asked is None else {"LEG_MAX_SESSIONS": str(asked)}
    cap, _ = max_sessions_from(environ, fd_limit)
    wanted = asked if asked is not None and asked >= 1 else MAX_SESSIONS
    assert 1 <= cap <= wanted
    if fd_limit is not None and fd_limit >= RESERVED_FDS + FDS_PER_SESSION:
        assert cap * FDS_PER_SESSION + RESERVED_FDS <= fd_limit
        assert cap == min(wanted, (fd_limit - RESERVED_FDS) // FDS_PER_SESSION)


def test_a_full_server_answers_with_the_full_page_and_opens_again_when_a_session_closes(tmp_path):
    with Server(tmp_path, {"houses": 5, "update_interval_ms": 500}, env={"LEG_MAX_SESSIONS": "2"}) as srv:
        clients = [BokehClient(srv.base).start() for _ in range(2)]
        try:
            assert all(c.pulled.wait(60) for c in clients), [c.error for c in clients]
            status, body, headers = page(srv.base + "/main?session=1")
            assert status == 503 and "as many screens as it can (2)" in body
            retry_s = int(headers["Retry-After"])
            assert re.search(rf'http-equiv="refresh" content="{retry_s}"', body)
            _, health = get_json(srv.base + "/healthz", timeout_s=30)
            assert health["max_sessions"] == 2 and health["sessions"] == 2 and health["pages_refused_full"] >= 1
            clients.pop().close()
            # Open again once the closed session is gone and its memory collected (it holds its place till then).
            deadline, status = time.monotonic() + 60, 503
            while status != 200 and time.monotonic() < deadline:
                time.sleep(0.5)
                status = page(srv.base + "/main?session=1")[0]
            assert status == 200, "no page after a session closed"
            assert get_json(srv.base + "/healthz", timeout_s=30)[1]["sessions_uncollected"] == 0
        finally:
            for c in clients:
                c.close()


def test_the_share_of_one_address_comes_from_the_environment_and_never_exceeds_the_cap():
    assert max_per_address_from({}, 600) == (300, None)
    assert max_per_address_from({}, 1) == (1, None)
    assert max_per_address_from({"LEG_MAX_SESSIONS_PER_ADDRESS": " 20 "}, 600) == (20, None)
    assert max_per_address_from({"LEG_MAX_SESSIONS_PER_ADDRESS": "900"}, 600) == (600, None)
    for bad in ("some", "0", "-1", "1.5"):
        limit, warning = max_per_address_from({"LEG_MAX_SESSIONS_PER_ADDRESS": bad}, 600)
        assert limit == 300 and warning and "LEG_MAX_SESSIONS_PER_ADDRESS" in warning and "\n" not in warning, bad


@given(asked=st.one_of(st.none(), st.integers(-5, 10_000)), cap=st.integers(1, 10_000))
def test_one_address_may_hold_at_least_one_session_and_never_more_than_the_cap(asked, cap):
    environ = {} if asked is None else {"LEG_MAX_SESSIONS_PER_ADDRESS": str(asked)}
    limit, _ = max_per_address_from(environ, cap)
    assert 1 <= limit <= cap


def test_loopback_and_unreadable_addresses_are_not_limited_and_others_are_counted_in_one_form():
    for address in ("127.0.0.1", "127.8.9.1", "::1", "::ffff:127.0.0.1", "", None, "unknown"):
        assert address_key(address) is None, address
    assert address_key(" 198.51.100.9 ") == address_key("198.51.100.9") == "198.51.100.9"
    assert address_key("::ffff:203.0.113.7") == "203.0.113.7"
    # One IPv6 client usually holds a whole /64: all of it counts as one address.
    assert address_key("2001:db8:0:1::5") == address_key("2001:DB8:0:1:ffff::9") == "2001:db8:0:1::/64"
    assert address_key("2001:db8:0:2::5") != address_key("2001:db8:0:1::5")


def test_one_address_gets_its_share_of_sessions_while_other_addresses_still_get_pages(tmp_path):
    # Behind a proxy (--use-xheaders) the viewer's address comes from X-Real-IP, else from the
    # last X-Forwarded-For entry (the one the proxy added).
    env = {"LEG_MAX_SESSIONS": "6", "LEG_MAX_SESSIONS_PER_ADDRESS": "2"}
    crowd = {"X-Forwarded-For": "203.0.113.7"}
    with Server(tmp_path, {"houses": 5, "update_interval_ms": 500}, env=env, extra=("--use-xheaders",)) as srv:
        clients = [BokehClient(srv.base, headers=crowd).start() for _ in range(2)]
        try:
            assert all(c.pulled.wait(60) for c in clients), [c.error for c in clients]
            status, body, headers = page(srv.base + "/main?session=1", crowd)
            assert status == 429 and "already shows 2 screens" in body, (status, body[:300])
            retry_s = int(headers["Retry-After"])
            assert re.search(rf'http-equiv="refresh" content="{retry_s}"', body)
            # The same address as a proxy passes it on, and the page's other handler: refused too.
            assert page(srv.base + "/main?session=1", {"X-Forwarded-For": "192.0.2.1, 203.0.113.7"})[0] == 429
            assert page(srv.base + "/main?session=1", {"X-Real-IP": "203.0.113.7", "X-Forwarded-For": "192.0.2.1"})[0] == 429
            assert page(srv.base + "/main/autoload.js?bokeh-autoload-element=x", crowd)[0] == 429
            assert page(srv.base + "/main?session=1", {"X-Forwarded-For": "198.51.100.9"})[0] == 200
            assert page(srv.base + "/main?session=1")[0] == 200  # loopback: not limited per address
            _, health = get_json(srv.base + "/healthz", timeout_s=30)
            assert health["max_sessions_per_address"] == 2 and health["pages_refused_address"] == 4
            assert health["sessions"] <= 6 and health["pages_refused_full"] == 0
            metrics = urllib.request.urlopen(srv.base + "/metrics", timeout=30).read().decode()
            assert re.search(r"^leg_pages_refused_address_total 4\.0$", metrics, re.M)
            assert re.search(r"^leg_max_sessions_per_address 2\.0$", metrics, re.M)
            clients.pop().close()
            deadline, status = time.monotonic() + 60, 429
            while status != 200 and time.monotonic() < deadline:
                time.sleep(0.5)
                status = page(srv.base + "/main?session=1", crowd)[0]
            assert status == 200, "the address got no page after one of its sessions closed"
        finally:
            for c in clients:
                c.close()


def test_a_full_server_refuses_the_autoload_script_too(tmp_path):
    # /main/autoload.js builds a whole session as well; it must not get round the cap.
    with Server(tmp_path, {"houses": 5, "update_interval_ms": 500}, env={"LEG_MAX_SESSIONS": "1"}) as srv:
        client = BokehClient(srv.base).start()
        try:
            assert client.pulled.wait(60), client.error
            status, body, _ = page(srv.base + "/main/autoload.js?bokeh-autoload-element=x")
            assert status == 503 and "as many screens as it can (1)" in body
        finally:
            client.close()
