"""The dashboard in a real Chromium, driven by Playwright against a real server on loopback.

What a user sees: the page loads without JavaScript errors, the flow graph and the
KPIs change live, hovering a house or an edge of the flow graph shows its numbers,
and a control moved in one browser shows up in another browser and in the engine.

The flow graph is drawn on a canvas, so its nodes are not DOM elements. The tests
find the pixel position of a node with BokehJS itself: the figure's PlotView
(found through ``Bokeh.index`` by the figure name ``flow_graph``) maps data
coordinates to canvas pixels with ``frame.x_scale`` / ``frame.y_scale``; adding
the canvas element's bounding rectangle gives page (viewport) coordinates for
``page.mouse.move``. Should BokehJS not expose the view, the position is computed
from the figure's fixed geometry instead (a FRAME_PX square frame inside an
8 px border, with the ranges of ``community_layout``).

Uses the Debian Chromium at /usr/bin/chromium (Playwright's own browser download
is not needed). Without Chromium or the playwright package the module is skipped;
with ``LEG_REQUIRE_BROWSER=1`` in the environment it fails instead, so CI cannot
pass by silently skipping it.
"""

from __future__ import annotations

import contextlib
import os
import re
import time

import pytest
from browser_support import CHROMIUM_ARGS, FIND_FLOW_GRAPH_JS, chromium_path
from server_support import Server, get_json

pytestmark = pytest.mark.browser

REQUIRE_BROWSER = os.environ.get("LEG_REQUIRE_BROWSER") == "1"


def _unavailable(reason: str) -> None:
    """Skip the module, or fail it when the environment says a browser is required."""
    if REQUIRE_BROWSER:
        pytest.fail(f"{reason} (LEG_REQUIRE_BROWSER=1 forbids skipping the browser tests)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


CHROMIUM = chromium_path()
if CHROMIUM is None:
    _unavailable("no Chromium at /usr/bin/chromium or on PATH (apt-get install chromium)")
try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect, sync_playwright
except ImportError as exc:  # pragma: no cover - depends on the environment
    _unavailable(f"the playwright package cannot be imported: {exc}")

from leg_sim.ui.dashboard import FRAME_PX, LABEL_PX  # noqa: E402  (imports Panel; only after the skip checks)
from leg_sim.ui.graph_layout import community_layout  # noqa: E402

VIEWPORT = {"width": 1500, "height": 1100}
#: The flow graph figure's min_border. [px]
MIN_BORDER_PX = 8
#: Upper bound of every wait in this module. [ms]
TIMEOUT_MS = 30_000
SERVER_CONFIG = {
    "houses": 5,
    "update_interval_ms": 500,
    "seed": 3,
    "pv_variation": "enabled",
    # Mid-morning on midsummer's day: houses produce, so the tooltips carry real numbers.
    "clock": {"mode": "accelerated", "start": "2026-06-21T10:00:00", "speed_factor": 60},
}

# Chromium here cannot reach the internet (no DNS). The page asks for nothing outside
# the server (tests/test_browser_layouts.py fails on any such request); should a
# dependency add one, its failed load (net::ERR_NAME_NOT_RESOLVED) is left to that
# test, and every other console error fails this one.
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def _is_ignored(text: str, url: str) -> bool:
    if "net::ERR_NAME_NOT_RESOLVED" in text:
        return True
    external = bool(url) and not any(f"//{h}" in url for h in LOCAL_HOSTS)
    return text.startswith("Failed to load resource") and external


# --------------------------------------------------------------------------- in-page helpers


class FlowGraphGeometry:
    """Where the flow graph is on the page, and its node/edge positions in viewport pixels."""

    def __init__(self, page, house_ids: tuple[str, ...], label_prefixes: tuple[str, ...] | None = None):
        # The layout leaves room for each label's prefix: the id, and the mark of a measured house.
        self.layout = lay = community_layout(label_prefixes or house_ids, FRAME_PX, LABEL_PX)
        self.house_ids = house_ids
        named = {f"house:{h}": tuple(map(float, xy)) for h, xy in zip(house_ids, lay.house_xy, strict=True)}
        named.update(bus=tuple(map(float, lay.bus_xy)), grid=tuple(map(float, lay.grid_xy)))
        found = page.evaluate(FIND_FLOW_GRAPH_JS, [list(v) for v in named.values()])
        if found is not None:
            self.method = "bokehjs"
            self.canvas = found["canvas"]
            self.labels = found["labels"]
            self.shown = found["shown"]
            self.px = {k: tuple(p) for k, p in zip(named, found["points"], strict=True)}
        else:
            self.method = "geometry"
            self.canvas = _flow_graph_canvas_box(page)
            self.labels = self.shown = None
            self.px = {k: self._geometric(*xy) for k, xy in named.items()}

    def _geometric(self, x: float, y: float) -> tuple[float, float]:
        (x0, x1), (y0, y1) = self.layout.x_range, self.layout.y_range
        left, top = self.canvas["x"] + MIN_BORDER_PX, self.canvas["y"] + MIN_BORDER_PX
        return left + (x - x0) / (x1 - x0) * FRAME_PX, top + (y1 - y) / (y1 - y0) * FRAME_PX

    def house(self, house_id: str) -> tuple[float, float]:
        return self.px[f"house:{house_id}"]

    def along(self, a: str, b: str, share: float) -> tuple[float, float]:
        (ax, ay), (bx, by) = self.px[a], self.px[b]
        return ax + share * (bx - ax), ay + share * (by - ay)


def _flow_graph_canvas_box(page) -> dict:
    """Fallback: the Bokeh canvas that has the flow graph's fixed size."""
    side = FRAME_PX + 2 * MIN_BORDER_PX
    canvases = page.locator(".bk-Canvas")
    for i in range(canvases.count()):
        box = canvases.nth(i).bounding_box()
        if box and abs(box["width"] - side) <= 1 and abs(box["height"] - side) <= 1:
            return box
    raise AssertionError(f"no {side}x{side} px Bokeh canvas (the flow graph) on the page")


def open_dashboards(contexts, base_url: str) -> list:
    """Open the dashboard once in each context, loading in parallel.

    Returns one (page, errors) pair per context; `errors` collects unexpected JS errors.
    """
    opened = []
    for context in contexts:
        page = context.new_page()
        errors: list[str] = []

        def on_console(msg, errors=errors) -> None:
            if msg.type == "error" and not _is_ignored(msg.text, (msg.location or {}).get("url", "")):
                errors.append(f"console.error: {msg.text} @ {msg.location}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc, errors=errors: errors.append(f"pageerror: {exc}"))
        page.goto(base_url + "/", timeout=TIMEOUT_MS, wait_until="commit")
        opened.append((page, errors))
    for page, _ in opened:
        wait_for_first_tick(page)
    return opened


def wait_for_first_tick(page) -> None:
    expect(page.locator("span.leg-tick")).to_have_attribute("data-tick", re.compile(r"^[1-9][0-9]*$"), timeout=TIMEOUT_MS)


def shown_tick(page) -> int:
    return int(page.locator("span.leg-tick").get_attribute("data-tick", timeout=TIMEOUT_MS))


def house_ids_now(server) -> tuple[str, ...]:
    status, doc = get_json(server.base + "/api/state")
    assert status == 200, doc
    return tuple(h["house_id"] for h in doc["houses"])


def hover_tooltip(page, x: float, y: float, must_contain: str, timeout_s: float = 15.0):
    """Move the mouse to (x, y) until a visible Bokeh tooltip containing `must_contain` shows.

    The tooltip is re-rendered when the data under it changes with a tick; the mouse
    is nudged by half a pixel between tries so Bokeh re-runs its hit test.
    Returns the tooltip's text.
    """
    page.mouse.move(5, 5)  # start from outside the figure, so Bokeh sees a fresh enter
    tips = page.locator(".bk-tooltip-content").filter(has_text=must_contain)
    deadline = time.monotonic() + timeout_s
    nudge = 0.0
    while True:
        page.mouse.move(x + nudge, y, steps=3)
        for i in range(tips.count()):
            tip = tips.nth(i)
            if tip.is_visible():
                return tip.text_content()
        if time.monotonic() > deadline:
            shown = [page.locator(".bk-tooltip-content").nth(i).text_content() for i in range(page.locator(".bk-tooltip-content").count())]
            raise AssertionError(f"no visible tooltip with {must_contain!r} at ({x:.1f}, {y:.1f}); tooltips in the DOM: {shown}")
        nudge = 0.5 if nudge == 0.0 else 0.0
        page.wait_for_timeout(250)


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("browser"), config=SERVER_CONFIG)
    with srv:
        yield srv


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        try:
            b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=TIMEOUT_MS)
        except PlaywrightError as exc:
            _unavailable(f"Chromium at {CHROMIUM} does not start under Playwright: {exc}")
        yield b
        b.close()


@pytest.fixture(scope="module")
def dashboard(browser, server):
    """One page shared by the read-only tests (loading the page takes seconds on a small machine)."""
    context = browser.new_context(viewport=VIEWPORT)
    [(page, errors)] = open_dashboards([context], server.base)
    yield page, errors
    context.close()


# --------------------------------------------------------------------------- tests
def test_page_loads_without_console_errors(dashboard):
    page, errors = dashboard
    assert shown_tick(page) >= 1
    expect(page.locator(".leg-kpis").first).to_contain_text("Self-sufficiency", timeout=TIMEOUT_MS)
    expect(page.locator(".bk-slider-title", has_text="Number of houses")).to_be_visible(timeout=TIMEOUT_MS)
    page.wait_for_timeout(1000)  # let a couple of live updates arrive too
    assert errors == []


def test_kpi_block_is_styled(dashboard):
    # The KPI block's stylesheet must reach its shadow root: seven cards in a grid.
    # (Panel's pn.pane.Bokeh replaces a wrapped model's own `stylesheets` with the
    # pane's, so CSS set only on the Bokeh model is silently dropped.)
    page, _ = dashboard
    kpis = page.locator(".leg-kpis").first
    expect(kpis).to_have_css("display", "grid", timeout=5_000)
    expect(page.locator(".leg-kpi").first).to_have_css("border-top-style", "solid", timeout=5_000)


def test_graph_and_kpis_change_live(dashboard, server):
    page, errors = dashboard
    seen = len(errors)  # the page load itself is the first test's business
    page.mouse.move(5, 5)
    before = FlowGraphGeometry(page, house_ids_now(server))
    if before.labels is not None:
        assert any(lbl.startswith("H001") for lbl in before.labels), before.labels
        assert any(lbl.startswith("Bus") for lbl in before.labels), before.labels
    tick0, clock0 = shown_tick(page), page.locator(".leg-clock").first.text_content()
    shot0 = page.screenshot(clip=before.canvas)
    page.wait_for_timeout(2000)
    # Several ticks have passed; poll a little longer only if the machine is slow.
    deadline = time.monotonic() + 15
    while True:
        tick1, clock1 = shown_tick(page), page.locator(".leg-clock").first.text_content()
        shot1 = page.screenshot(clip=before.canvas)
        after = FlowGraphGeometry(page, before.house_ids)
        doc_changed = before.shown is None or after.shown != before.shown
        if (tick1 > tick0 and clock1 != clock0 and shot1 != shot0 and doc_changed) or time.monotonic() > deadline:
            break
        page.wait_for_timeout(500)
    assert tick1 > tick0, "the tick shown did not advance"
    assert clock1 != clock0, "the simulated clock in the KPI block did not change"
    assert doc_changed, f"the flow graph's data in the browser did not change: {after.shown}"
    assert shot1 != shot0, "the flow graph canvas looks the same after several ticks"
    assert errors[seen:] == []


def test_hovering_a_house_shows_its_production_consumption_and_net_power(dashboard, server):
    page, errors = dashboard
    seen = len(errors)  # the page load itself is the first test's business
    ids = house_ids_now(server)
    assert "H001" in ids
    geo = FlowGraphGeometry(page, ids)
    x, y = geo.house("H001")
    canvas = geo.canvas
    assert canvas["x"] <= x <= canvas["x"] + canvas["width"] and canvas["y"] <= y <= canvas["y"] + canvas["height"], (geo.method, x, y, canvas)
    text = hover_tooltip(page, x, y, "Production (PV)")
    for part in ("H001", "Production (PV)", "Consumption", "Net power", "kW"):
        assert part in text, (part, text)
    # The three numbers of one tooltip belong to one tick: net = production - consumption.
    num = r"([+−-]?\d+\.\d+) kW"
    pv = float(re.search(r"Production \(PV\):\s*" + num, text).group(1))
    load = float(re.search(r"Consumption:\s*" + num, text).group(1))
    net = float(re.search(r"Net power:\s*" + num, text).group(1).replace("−", "-"))
    assert abs((pv - load) - net) <= 0.02, text
    page.mouse.move(5, 5)
    assert errors[seen:] == []


def test_hovering_the_grid_edge_shows_its_power(dashboard, server):
    page, errors = dashboard
    seen = len(errors)  # the page load itself is the first test's business
    geo = FlowGraphGeometry(page, house_ids_now(server))
    # 30 % of the way from the bus to the grid: clear of the bus hexagon and of the arrowhead (at 55 %).
    x, y = geo.along("bus", "grid", 0.3)
    text = hover_tooltip(page, x, y, "Flow")
    for part in ("Flow", "Power", "kW", "Grid", "Community bus"):
        assert part in text, (part, text)
    page.mouse.move(5, 5)
    assert errors[seen:] == []


def _house_slider(page):
    return page.locator(".bk-input-group", has=page.locator(".bk-slider-title", has_text="Number of houses"))


def _houses_in_state(server, count: int, timeout_s: float = 15.0) -> int:
    deadline = time.monotonic() + timeout_s
    while True:
        n = len(house_ids_now(server))
        if n == count or time.monotonic() > deadline:
            return n
        time.sleep(0.2)


def test_a_control_moved_in_one_browser_shows_in_another(browser, server):
    start = len(house_ids_now(server))
    ctx_a = browser.new_context(viewport=VIEWPORT)
    ctx_b = browser.new_context(viewport=VIEWPORT)
    moved = False
    try:
        (page_a, errors_a), (page_b, errors_b) = open_dashboards([ctx_a, ctx_b], server.base)
        slider_a, slider_b = _house_slider(page_a), _house_slider(page_b)
        expect(slider_b.locator(".bk-slider-title")).to_have_text(f"Number of houses: {start}", timeout=TIMEOUT_MS)
        handle_a = slider_a.locator(".noUi-handle")
        handle_a.focus(timeout=TIMEOUT_MS)
        handle_a.press("ArrowRight")
        moved = True
        expect(slider_a.locator(".bk-slider-title")).to_have_text(f"Number of houses: {start + 1}", timeout=TIMEOUT_MS)
        expect(slider_b.locator(".bk-slider-title")).to_have_text(f"Number of houses: {start + 1}", timeout=15_000)
        assert _houses_in_state(server, start + 1) == start + 1, "/api/state does not report the added house"
        # B's flow graph follows too: the new house gets a node (and a label) there. (The page is
        # built once per house set: B loads the page of the new set a few seconds later.)
        new_id = house_ids_now(server)[-1]
        deadline = time.monotonic() + 15
        labels_b = None
        while True:
            try:
                labels_b = FlowGraphGeometry(page_b, house_ids_now(server)).labels
            except (PlaywrightError, AssertionError):  # B is loading (or drawing) the page of the new set right now
                labels_b = []
            if labels_b is None or any(lbl.startswith(new_id) for lbl in labels_b) or time.monotonic() > deadline:
                break
            page_b.wait_for_timeout(250)
        assert labels_b is None or any(lbl.startswith(new_id) for lbl in labels_b), (new_id, labels_b)
        # And back, from the other browser.
        slider_b.locator(".noUi-handle").focus(timeout=TIMEOUT_MS)
        slider_b.locator(".noUi-handle").press("ArrowLeft")
        expect(slider_a.locator(".bk-slider-title")).to_have_text(f"Number of houses: {start}", timeout=15_000)
        assert _houses_in_state(server, start) == start
        moved = False
        assert errors_a == [] and errors_b == []
    finally:
        if moved:  # leave the shared server as the other tests expect it
            try:
                slider = _house_slider(ctx_a.pages[0]).locator(".noUi-handle")
                slider.focus(timeout=5000)
                slider.press("ArrowLeft")
                _houses_in_state(server, start, timeout_s=5)
            except Exception:
                pass
        ctx_a.close()
        ctx_b.close()


def test_pause_shows_a_badge_and_resume_ticks_on(browser, server):
    context = browser.new_context(viewport=VIEWPORT)
    paused = False
    try:
        [(page, errors)] = open_dashboards([context], server.base)
        page.get_by_role("button", name="‖ Pause").click(timeout=TIMEOUT_MS)
        paused = True
        # No tick comes while paused: the badge follows the parameter, not the snapshots.
        expect(page.locator(".leg-paused")).to_have_text("‖ Paused", timeout=TIMEOUT_MS)
        expect(page.get_by_role("button", name="▶ Resume")).to_be_visible(timeout=TIMEOUT_MS)
        assert wait_until_status(server, "paused")
        held = shown_tick(page)
        page.wait_for_timeout(1500)  # three intervals
        assert shown_tick(page) == held
        page.get_by_role("button", name="▶ Resume").click(timeout=TIMEOUT_MS)
        paused = False
        expect(page.locator(".leg-paused")).to_have_count(0, timeout=TIMEOUT_MS)
        expect(page.locator("span.leg-tick")).not_to_have_attribute("data-tick", str(held), timeout=TIMEOUT_MS)
        assert errors == []
    finally:
        if paused:  # leave the shared server ticking for the other tests
            with contextlib.suppress(Exception):
                context.pages[0].get_by_role("button", name="▶ Resume").click(timeout=5000)
        context.close()


def wait_until_status(server, status: str, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if get_json(server.base + "/healthz")[1].get("status") == status:
            return True
        time.sleep(0.1)
    return False


#: The tick the page's KPI block shows, and the flow graph's house ids and net powers [kW], as the browser holds them.
SHOWN_HOUSES_JS = """
() => {
  const doc = Bokeh.documents[0], houses = doc.get_model_by_name('leg-graph-houses');
  return {tick: Number(doc.get_model_by_name('leg-kpis-source').data.tick[0]), id: [...houses.data.id], n: [...houses.data.n]};
}
"""


def test_the_page_takes_its_ticks_from_the_shared_feed(dashboard, server):
    """The page's script opened the feed: its frames move the page on, the graph's powers in the
    browser are the snapshot's, and the server counts the page's feed."""
    page, _errors = dashboard
    page.wait_for_function("() => Number(document.body.dataset.feedSeq || '-1') >= 1", timeout=30_000)
    seq0 = int(page.evaluate("() => document.body.dataset.feedSeq || '-1'"))
    page.wait_for_timeout(2500)
    seq1 = int(page.evaluate("() => document.body.dataset.feedSeq || '-1'"))
    assert seq0 >= 1 and seq1 > seq0, (seq0, seq1)
    assert get_json(server.base + "/healthz")[1]["feeds"] >= 1
    shown = page.evaluate(SHOWN_HOUSES_JS)
    # The state of the tick the page shows (ticks come every 0.5 s: read both until they agree).
    ticks_seen = []
    for _ in range(40):
        _, state = get_json(server.base + "/api/state")
        ticks_seen.append((shown["tick"], state["tick"]))
        if state["tick"] == shown["tick"]:
            break
        shown = page.evaluate(SHOWN_HOUSES_JS)
    else:
        pytest.fail(f"the page never showed the tick /api/state had (page, server): {ticks_seen[-5:]}")
    houses = {h["house_id"]: h["net_power_w"] / 1000.0 for h in state["houses"]}
    assert shown["id"] == list(houses)
    assert shown["n"] == pytest.approx([houses[h] for h in shown["id"]], abs=0.006)


def test_a_real_meter_on_the_broker_shows_up_in_the_graph_marked_and_with_its_age(browser, tmp_path):
    """A house with source: mqtt: after its meter publishes on the broker, the page shows it with
    the meter's power and the (meter) mark, and its tooltip says it is measured and how old the data is."""
    from broker_support import Broker, mosquitto_path
    from server_support import free_port
    from test_mqtt import publish

    if mosquitto_path() is None:
        if os.environ.get("LEG_REQUIRE_BROKER") == "1":
            pytest.fail("no mosquitto (apt-get install mosquitto); LEG_REQUIRE_BROKER=1 forbids skipping", pytrace=False)
        pytest.skip("no mosquitto at /usr/sbin/mosquitto or on PATH")
    topic = "AA-11-BB-22-CC-01/SENSOR"
    with Broker(tmp_path, free_port()) as broker:
        config = {
            "houses": [{"source": "mqtt", "topic": topic}, {}, {}, {}],
            "update_interval_ms": 500,
            "mqtt": {"enabled": True, "broker": broker.url, "publish_interval_s": 5.0, "client_id": "browser-meter", "stale_after_s": 120.0},
        }
        with Server(tmp_path, config=config) as srv:
            deadline = time.monotonic() + 30
            while not get_json(srv.base + "/healthz")[1].get("mqtt", {}).get("connected") and time.monotonic() < deadline:
                time.sleep(0.2)
            publish(broker.port, topic, [b'{"SMid": "60222760", "Pi": 0.0, "Po": 3.2, "ts": 1}'])
            context = browser.new_context(viewport=VIEWPORT)
            try:
                [(page, errors)] = open_dashboards([context], srv.base)
                deadline = time.monotonic() + 30
                while True:
                    geo = FlowGraphGeometry(page, house_ids_now(srv), ("H001 (meter)", "H002", "H003", "H004"))
                    labels = geo.labels or []
                    if any(t.startswith("H001 (meter) +3.2 kW") for t in labels) or time.monotonic() > deadline:
                        break
                    page.wait_for_timeout(500)
                assert any(t.startswith("H001 (meter) +3.2 kW") for t in labels), labels
                assert any(t.startswith("H002 ") and "(meter)" not in t for t in labels), labels
                x, y = geo.house("H001")
                text = hover_tooltip(page, x, y, "measured")
                assert re.search(r"Source:\s*measured, \d+ s old", text), text
                assert re.search(r"Net power:\s*\+3\.20 kW", text), text
                assert errors == []
            finally:
                context.close()
