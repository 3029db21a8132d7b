"""Pages built at a pace the server can keep: a storm of reconnecting screens queues, it does not stall.

Building one session's page runs on the server's one event loop and costs about
half a second of CPU (BENCHMARKS.md). When many screens reconnect at once (after a
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

:func:`install` wraps the page handler Panel uses
(``panel.io.server.DocHandler.get``, a Panel internal; Panel 1.9, pinned in
pyproject.toml); ``tests/test_admission.py`` fails if the wrap is lost.
"""

from __future__ import annotations

import math
import os
import random
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
_installed = [False]


def retry_after_s(wait_s: float) -> int:
    """Whole seconds a refused screen waits before it asks again: at least MIN_RETRY_S, spread by jitter."""
    return math.ceil(max(wait_s, MIN_RETRY_S) + random.uniform(0.0, RETRY_JITTER_S))


def _admitted(get: Any) -> Any:
    async def guarded(self: Any, *args: Any, **kwargs: Any) -> None:
        ok, wait_s = budget.admit(time.monotonic())
        if not ok:
            retry_s = retry_after_s(wait_s)
            self.set_status(503)
            self.set_header("Retry-After", str(retry_s))
            self.set_header("Cache-Control", "no-store")
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.finish(BUSY_PAGE.format(retry_s=retry_s))
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
    """Limit page builds in this process; safe to call more than once."""
    global budget
    if _installed[0]:
        return
    _installed[0] = True
    budget = budget_from(os.environ)
    from panel.io.server import DocHandler

    DocHandler.get = _admitted(DocHandler.get)  # type: ignore[method-assign]
