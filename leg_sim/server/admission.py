"""Pages built at a pace the server can keep: a storm of reconnecting screens queues, it does not stall.

Building one session's page runs on the server's one event loop and costs 0.5 to
0.75 s of CPU (BENCHMARKS.md). When many screens reconnect at once (after a
restart or a network outage) their page requests used to be built back to
back, and for minutes every open session, route and health check waited.

A token bucket (:class:`PageBudget`: :data:`BURST` pages at once, then
:data:`PAGES_PER_S`, slower than the server can build them, so the event loop
keeps time for everything else between builds) admits page requests
(``LEG_PAGE_BURST`` and ``LEG_PAGES_PER_S`` in the environment change both; a
worker, which runs no simulation, paces at :data:`WORKER_PAGES_PER_S`). A
request that finds the bucket empty gets a small page at once: status 503 with ``Retry-After`` and an HTML refresh after
a few seconds (with jitter, so the screens spread out), saying the dashboard is
busy. A screen therefore retries by itself until its page is built, and the
server keeps serving the sessions it has in between. JSON routes, static files
and websockets are not limited.

The sessions one process holds are capped as well (:func:`max_sessions_from`,
``LEG_MAX_SESSIONS``, default :data:`MAX_SESSIONS`; closed sessions whose memory
waits for a collection count as open, see :mod:`leg_sim.server.session`): a
page request while that many sessions are held gets the same kind of page (503, ``Retry-After``,
refresh), saying the dashboard is full, and the open sessions keep their memory
and their pace. The cap never exceeds what the process's file-descriptor limit
allows (two websockets per session, :data:`FDS_PER_SESSION`), so a server
under a low limit refuses pages with that page rather than failing to accept
connections. Pages being built when the cap is reached (at most the burst)
still open. A page built once (``/live``, ``/wall``, :mod:`leg_sim.server.pages`) holds no
session, but its feed holds a place while it is open (:func:`held_places`), and its page
request is refused in the same way (:func:`refuse_when_full`); it is not paced, as it builds
nothing per viewer. A request for the dashboard (``/``, ``/main``) is sent to ``/wall`` when it
would show the wall layout, else to ``/live``, unless ``?session=1`` asks for a page with a
session of its own (:func:`wall_address`, :data:`SESSION_ARG`).

One client address may hold only part of that (:func:`max_per_address_from`,
``LEG_MAX_SESSIONS_PER_ADDRESS``, by default half the cap, rounded up; per
process): one address cannot take every slot. Beyond its share a page request
gets status 429 with ``Retry-After`` and the same kind of page. Addresses are
compared in a standard form, and IPv6 ones by their /64 network, which one
client usually holds whole (:func:`address_key`). Loopback addresses are not
limited: they are the machine itself, or a reverse proxy on it that does not
pass the viewer's address. Behind a proxy the server takes the viewer's address
from the proxy's headers when ``LEG_USE_XHEADERS=1`` (Tornado's ``xheaders``:
``X-Real-IP`` if present, else the last ``X-Forwarded-For`` entry), so the proxy
must set or overwrite ``X-Real-IP`` (both nginx samples do). As with the cap,
pages being built at once (at most the burst) may exceed the share.

:func:`install` wraps the two handlers that build a session's page
(``panel.io.server.DocHandler.get`` and ``AutoloadJsHandler.get``, Panel
internals; Panel 1.9, pinned in pyproject.toml); ``tests/test_admission.py``
fails if either wrap is lost.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import os
import random
import resource
import time
from collections.abc import Mapping
from typing import Any

from leg_sim.config import ENV_ROLE, ROLE_WORKER

#: Pages that may be built at once, and the pace after that. [-], [1/s]
BURST = 3
PAGES_PER_S = 1.0
#: The pace of a worker (``serve --worker``): it runs no simulation, so its event loop has only
#: pages and the feed's writes to keep time for. [1/s]
WORKER_PAGES_PER_S = 2.0
ENV_BURST, ENV_PER_S = "LEG_PAGE_BURST", "LEG_PAGES_PER_S"
#: Open sessions one process holds by default: at about 2.8 MB each (BENCHMARKS.md) 600 pages and
#: the idle server's 230 MB stay within the systemd unit's MemoryMax=2G. [-]
MAX_SESSIONS = 600
ENV_MAX_SESSIONS = "LEG_MAX_SESSIONS"
ENV_MAX_PER_ADDRESS = "LEG_MAX_SESSIONS_PER_ADDRESS"
#: Share of the session cap one client address holds by default. [-]
PER_ADDRESS_SHARE = 0.5
#: File descriptors a session holds (its page's document websocket and feed websocket), and those
#: kept for everything else (listening sockets, page requests, state file, MQTT, logs). [-]
FDS_PER_SESSION, RESERVED_FDS = 2, 124
#: A screen refused because the server is full asks again after this long, plus jitter. [s]
FULL_RETRY_S = 30.0
#: A refused request is told to retry after this long, plus up to RETRY_JITTER_S. [s]
MIN_RETRY_S = 2.0
RETRY_JITTER_S = 4.0

BUSY_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="{retry_s}"><title>LEG-Simulator: busy</title></head>
<body style="font-family: sans-serif; padding: 2em">
<p>LEG-Simulator is busy opening other screens. This page tries again in {retry_s} s.</p>
</body></html>
"""

FULL_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="{retry_s}"><title>LEG-Simulator: full</title></head>
<body style="font-family: sans-serif; padding: 2em">
<p>LEG-Simulator is showing as many screens as it can ({max_sessions}). This page tries again in {retry_s} s.</p>
</body></html>
"""

ADDRESS_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="{retry_s}"><title>LEG-Simulator: too many screens</title></head>
<body style="font-family: sans-serif; padding: 2em">
<p>Your address already shows {per_address} screens of LEG-Simulator, as many as one address may.
This page tries again in {retry_s} s.</p>
</body></html>
"""

log = logging.getLogger("leg_sim.server")


class PageBudget:
    """A token bucket of page builds: :meth:`admit` says whether one may start now."""

    def __init__(self, burst: int = BURST, per_s: float = PAGES_PER_S):
        self.burst = float(burst)
        self.per_s = float(per_s)
        self._tokens = float(burst)
        self._at_s: float | None = None
        #: Requests answered with the busy page since start.
        self.refused = 0

    def admit(self, now_s: float) -> tuple[bool, float]:
        """(True, 0) when a page may be built at monotonic time `now_s`, else (False, seconds
        until a token is back). [s]"""
        if self._at_s is not None:
            self._tokens = min(self.burst, self._tokens + max(now_s - self._at_s, 0.0) * self.per_s)
        self._at_s = now_s if self._at_s is None else max(self._at_s, now_s)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True, 0.0
        self.refused += 1
        return False, (1.0 - self._tokens) / self.per_s


#: The budget of this server process.
budget = PageBudget()
#: The most sessions this process holds, and page requests refused because it held them.
max_sessions = MAX_SESSIONS
full_refused = [0]
#: The most sessions one client address holds, and page requests refused because it held them.
max_per_address = math.ceil(MAX_SESSIONS * PER_ADDRESS_SHARE)
address_refused = [0]
_installed = [False]


def retry_after_s(wait_s: float) -> int:
    """Whole seconds a refused screen waits before it asks again: at least MIN_RETRY_S, spread by jitter."""
    return math.ceil(max(wait_s, MIN_RETRY_S) + random.uniform(0.0, RETRY_JITTER_S))


def _whole_number_from(environ: Mapping[str, str], name: str, default: int) -> tuple[int, str | None]:
    """The whole number ≥ 1 that variable `name` holds (pure), `default` when it is unset; a
    value that is not one gives `default` and a warning to log once."""
    text = environ.get(name, "").strip()
    if not text:
        return default, None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        return default, f"{name}={text!r} is not a whole number of at least 1; using {default}"
    return value, None


def max_sessions_from(environ: Mapping[str, str], fd_limit: int | None) -> tuple[int, str | None]:
    """The session cap (pure): ``LEG_MAX_SESSIONS`` when it is a whole number ≥ 1, else
    :data:`MAX_SESSIONS`; never more than the soft file-descriptor limit `fd_limit` allows
    (None: unknown). Returns (cap, a warning to log once or None)."""
    asked, problem = _whole_number_from(environ, ENV_MAX_SESSIONS, MAX_SESSIONS)
    problems = [problem] if problem else []
    allowed = asked if fd_limit is None else max(1, (fd_limit - RESERVED_FDS) // FDS_PER_SESSION)
    if asked > allowed:
        problems.append(
            f"at most {allowed} sessions, not {asked}: the open-files limit is {fd_limit} and each session holds "
            f"{FDS_PER_SESSION} (raise it with `ulimit -n` or LimitNOFILE= in the systemd unit)"
        )
    return min(asked, allowed), "; ".join(problems) or None


def max_per_address_from(environ: Mapping[str, str], cap: int) -> tuple[int, str | None]:
    """Sessions one client address may hold (pure): ``LEG_MAX_SESSIONS_PER_ADDRESS`` when it is a
    whole number ≥ 1, else :data:`PER_ADDRESS_SHARE` of the session cap `cap`; never more than
    `cap`. Returns (limit, a warning to log once or None)."""
    asked, warning = _whole_number_from(environ, ENV_MAX_PER_ADDRESS, max(1, math.ceil(cap * PER_ADDRESS_SHARE)))
    return min(asked, cap), warning


#: IPv6 clients are counted by this prefix: one household or host usually holds a whole /64. [bits]
IPV6_PREFIX_BITS = 64


def address_key(address: str | None) -> str | None:
    """What the per-address limit counts a client address as (pure): the address in standard
    form (an IPv4-mapped IPv6 address as its IPv4 address), an IPv6 address as its /64 network;
    None for loopback and for an address that cannot be read, which are not limited."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((ip, IPV6_PREFIX_BITS), strict=False))
    return str(ip)


def soft_fd_limit() -> int | None:
    """This process's soft limit of open files; None when it cannot be read or is unlimited."""
    try:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):
        return None
    return None if soft == resource.RLIM_INFINITY else int(soft)


def refuse(handler: Any, retry_s: int, page: str, status: int = 503) -> None:
    handler.set_status(status)
    handler.set_header("Retry-After", str(retry_s))
    handler.set_header("Cache-Control", "no-store")
    handler.set_header("Content-Type", "text/html; charset=utf-8")
    handler.finish(page)


def held_places() -> int:
    """Places of the session cap taken now: open sessions, closed ones whose memory waits for a
    collection, and the feeds of pages without a session (``/wall``)."""
    from leg_sim.server import feed, session

    return session.active_sessions() + session.uncollected_count[0] + feed.standalone_feeds()


def held_by(key: str) -> int:
    """Places the client address with this :func:`address_key` holds (sessions and feeds of pages without one)."""
    from leg_sim.server import feed, session

    return session.sessions_from(key) + feed.standalone_feeds(key)


def limit_reached(key: str | None) -> str | None:
    """Which limit a new place would pass: ``"full"`` when the session cap is taken, ``"address"``
    when the client address with this :func:`address_key` holds its share, else None."""
    if held_places() >= max_sessions:
        return "full"
    if key is not None and held_by(key) >= max_per_address:
        return "address"
    return None


def refuse_when_full(handler: Any) -> bool:
    """Answer `handler`'s request with the "full" page (503) when the session cap is taken, or the
    per-address page (429) when its client address holds its share; True if it was refused."""
    reached = limit_reached(address_key(handler.request.remote_ip))
    if reached is None:
        return False
    retry_s = retry_after_s(FULL_RETRY_S)
    if reached == "full":
        full_refused[0] += 1
        refuse(handler, retry_s, FULL_PAGE.format(retry_s=retry_s, max_sessions=max_sessions))
    else:
        address_refused[0] += 1
        refuse(handler, retry_s, ADDRESS_PAGE.format(retry_s=retry_s, per_address=max_per_address), status=429)
    return True


def wall_address(path: str, query: str, page: str = "wall") -> str:
    """Where a request for the page at `path` with `query` finds the page `page` built once for
    every viewer (pure): next to the page, relative, so a proxy's path prefix stays; the query
    goes along."""
    # "/main/" is a folder one level down; "/" (the root, also under a proxy's prefix) is not.
    target = f"../{page}" if path.endswith("/") and path != "/" else page
    return f"{target}?{query}" if query else target


#: The query argument that asks for the dashboard with a Bokeh session of its own (``/main?session=1``)
#: instead of the live page.
SESSION_ARG = "session"


def _shows_the_wall(handler: Any) -> bool:
    from leg_sim.server.engine_host import start_simulation
    from leg_sim.ui.page import page_choice

    sim = start_simulation()
    return page_choice(sim.settings["display.mode"], sim.settings["display.theme"], bool(sim.read_only), handler.request.query_arguments).wall


def _admitted(get: Any, wall_page: bool = False) -> Any:
    async def guarded(self: Any, *args: Any, **kwargs: Any) -> None:
        # A viewer gets a page built once for every viewer (leg_sim.server.pages), not a session:
        # the wall page, or the live page unless a session is asked for.
        if wall_page and _shows_the_wall(self):
            self.redirect(wall_address(self.request.path, self.request.query))
            return
        if wall_page and SESSION_ARG not in self.request.query_arguments:
            self.redirect(wall_address(self.request.path, self.request.query, "live"))
            return
        if refuse_when_full(self):
            return
        ok, wait_s = budget.admit(time.monotonic())
        if not ok:
            retry_s = retry_after_s(wait_s)
            refuse(self, retry_s, BUSY_PAGE.format(retry_s=retry_s))
            return
        await get(self, *args, **kwargs)

    return guarded


def budget_from(environ: Mapping[str, str]) -> PageBudget:
    """The budget the environment asks for (the defaults of this process's role where it says nothing usable)."""
    default = PageBudget(BURST, WORKER_PAGES_PER_S if environ.get(ENV_ROLE) == ROLE_WORKER else PAGES_PER_S)
    try:
        burst = max(int(environ.get(ENV_BURST, BURST)), 1)
        per_s = float(environ.get(ENV_PER_S, default.per_s))
    except ValueError:
        return default
    return PageBudget(burst, per_s) if math.isfinite(per_s) and per_s > 0 else default


def install() -> None:
    """Limit page builds and open sessions in this process; safe to call more than once."""
    global budget, max_sessions, max_per_address
    if _installed[0]:
        return
    _installed[0] = True
    budget = budget_from(os.environ)
    max_sessions, warning = max_sessions_from(os.environ, soft_fd_limit())
    if warning:
        log.warning(warning)
    max_per_address, warning = max_per_address_from(os.environ, max_sessions)
    if warning:
        log.warning(warning)
    from panel.io.server import AutoloadJsHandler, DocHandler

    DocHandler.get = _admitted(DocHandler.get, wall_page=True)  # type: ignore[method-assign]
    AutoloadJsHandler.get = _admitted(AutoloadJsHandler.get)  # type: ignore[method-assign]
