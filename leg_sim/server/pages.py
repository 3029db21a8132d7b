"""``GET /live`` and ``GET /wall``: the dashboard as one page for every viewer, built once, not once per viewer.

The shared feed (:mod:`leg_sim.server.feed`) brings every tick to the page's own
Bokeh models in the browser, and the live page's controls, chart buttons and
search talk to the server over that feed too. Such a page needs no Bokeh
session of its own. So each page is built once per layout (``standard`` at
``/live``, ``wall`` at ``/wall``), theme and house set, with the same views and
layout as a session's page, saved as standalone HTML (Panel's ``save``, with
this server's own script and style files), and every request gets those bytes
with a fresh signed feed id in them. Opening one costs the server a copy of the
bytes and one feed socket, not a page build (0.5-0.75 s of CPU and about 16,000
objects that a later collection has to free; BENCHMARKS.md).

* ``?theme=dark|light`` chooses the theme (else the config's ``display.theme``);
  ``/live?display=wall`` and a read-only server's ``/live`` give the wall layout.
* A new house set: the feed's frames carry the house set's key
  (:func:`leg_sim.ui.feed.house_set_key`) and its places for each layout; an open
  page lays its graph out again, and the next request builds the page of the new set.
* Limits: each open page's feed counts against the session cap and the
  per-address share like a session (:mod:`leg_sim.server.admission`); a full
  server answers with the same page that retries by itself.
"""

from __future__ import annotations

import asyncio
import io
import logging
from typing import Any

from bokeh.document import Document
from bokeh.util.token import generate_session_id
from panel.io.resources import CDN_DIST, LOCAL_DIST, Resources
from panel.io.state import set_curdoc
from tornado.ioloop import IOLoop
from tornado.web import RequestHandler

from leg_sim.server import admission
from leg_sim.server.engine_host import start_simulation
from leg_sim.ui.dashboard import TITLE, Dashboard
from leg_sim.ui.feed import FEED_ID_SLOT, house_set_key, standalone_script
from leg_sim.ui.page import page_choice
from leg_sim.ui.sankey import text_font

log = logging.getLogger("leg_sim.server")

#: Pages kept: two layouts in two themes for the current house set and the one before it.
MAX_PAGES = 8

#: Built pages and builds under way, by (layout, theme, house set key); event loop only.
_pages: dict[tuple[str, str, str], str] = {}
_building: dict[tuple[str, str, str], asyncio.Future] = {}
#: Pages built since the server started (a build per layout, theme and house set, not per viewer).
built_count = [0]


def set_key_now(sim: Any) -> str:
    """The key of `sim`'s house set as its latest snapshot has it (:func:`~leg_sim.ui.feed.house_set_key`)."""
    snap = sim.snapshot
    return house_set_key(snap.house_ids if snap is not None else ())


def build_page(sim: Any, theme_name: str, display: str = "wall") -> tuple[str, str]:
    """The standalone page of `sim`'s current house set in `theme_name` and layout `display`
    (``wall``, or ``standard`` with controls that talk over the feed): HTML text with
    :data:`~leg_sim.ui.feed.FEED_ID_SLOT` where each request's feed id goes, and that set's key."""
    key = set_key_now(sim)
    choice = page_choice(display, theme_name)
    doc = Document()
    with set_curdoc(doc):
        dashboard = Dashboard(sim=sim, choice=choice, shared=True)
        try:
            buffer = io.StringIO()
            dashboard.template().save(buffer, resources=Resources(mode="server", root_url="./"), title=TITLE)
            controls = dashboard.controls.browser_spec() if dashboard.controls is not None else None
        finally:
            dashboard.dispose()
    # Every file from this server, relative to the page (so also under a proxy's path prefix).
    page = buffer.getvalue().replace(CDN_DIST, LOCAL_DIST)
    script = standalone_script(key, text_font(choice.dark), controls, choice.display)
    head, tail = page.rsplit("</body>", 1)
    return f"{head}<script>{script}</script>\n</body>{tail}", key


async def page_for(sim: Any, theme_name: str, display: str = "wall") -> str:
    """The page for the current house set, `theme_name` and `display`, built on first use (on a
    worker thread: a build takes about a second of CPU, which the event loop must not wait for;
    requests meanwhile wait for the same build) and kept."""
    key = (display, theme_name, set_key_now(sim))
    page = _pages.get(key)
    if page is not None:
        return page
    building = _building.get(key)
    if building is None:
        building = _building[key] = asyncio.ensure_future(IOLoop.current().run_in_executor(None, build_page, sim, theme_name, display))
        building.add_done_callback(lambda done: _built(key, done))
    return (await building)[0]


def _built(key: tuple[str, str, str], done: asyncio.Future) -> None:
    """Event loop: keep a finished build (under the house set it was built from)."""
    _building.pop(key, None)
    if done.cancelled() or done.exception() is not None:
        return
    page, set_key = done.result()
    built_count[0] += 1
    if len(_pages) >= MAX_PAGES:
        _pages.clear()
    _pages[(key[0], key[1], set_key)] = page


class PageHandler(RequestHandler):
    """GET and HEAD ``/wall`` and ``/live``: the page (see the module docstring)."""

    def initialize(self, display: str = "wall") -> None:
        #: ``wall``, or ``standard``: the live page, with controls (a read-only server shows the wall).
        self.display = display

    async def _page(self) -> str | None:
        if admission.refuse_when_full(self):
            return None
        sim = start_simulation()
        read_only = self.display == "wall" or bool(sim.read_only)
        choice = page_choice(self.display if self.display != "wall" else sim.settings["display.mode"], sim.settings["display.theme"], read_only,
                             self.request.query_arguments)
        try:
            page = await page_for(sim, choice.theme, choice.display)
        except Exception:
            log.exception("building the %s page failed", choice.display)
            retry_s = admission.retry_after_s(admission.FULL_RETRY_S)
            admission.refuse(self, retry_s, admission.BUSY_PAGE.format(retry_s=retry_s))
            return None
        app = self.application
        feed_id = generate_session_id(secret_key=getattr(app, "secret_key", None), signed=bool(getattr(app, "sign_sessions", False)))
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        return page.replace(FEED_ID_SLOT, feed_id, 1)

    async def get(self) -> None:
        page = await self._page()
        if page is not None:
            self.finish(page)

    async def head(self) -> None:
        if await self._page() is not None:
            self.finish()
