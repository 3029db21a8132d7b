"""The three places the dashboard is watched, in a real Chromium against a real server on loopback.

Phone (390×844), desktop (1366×768) and wall screen (1920×1080, ``?display=wall``),
each in the light and the dark theme. For every one of the six pages:

* no request leaves the server (no fonts, no CDN): every URL the page asks for is
  on 127.0.0.1 at the server's port;
* nothing scrolls sideways;
* the flow graph takes its share of the screen (phone: the full width, first in
  the column; desktop: beside the numbers, on the first screen; wall: at least
  half of the screen);
* the numbers' text keeps a contrast of at least 4.5:1 against what is behind it;
* KPI values fit their cells.

The wall screen also has no sidebar and nothing to click, KPI values of at least
28 px, and the chart on screen without scrolling.
"""

from __future__ import annotations

import os
import re

import pytest
from browser_support import CHROMIUM_ARGS, FIND_FLOW_GRAPH_JS, chromium_path
from server_support import Server

pytestmark = pytest.mark.browser

CHROMIUM = chromium_path()
if CHROMIUM is None:
    if os.environ.get("LEG_REQUIRE_BROWSER") == "1":
        pytest.fail("no Chromium at /usr/bin/chromium (LEG_REQUIRE_BROWSER=1 forbids skipping)", pytrace=False)
    pytest.skip("no Chromium at /usr/bin/chromium or on PATH", allow_module_level=True)
from playwright.sync_api import sync_playwright  # noqa: E402

TIMEOUT_MS = 30_000
#: name: (viewport, URL query, which layout it is)
LAYOUTS = {
    "phone": ({"width": 390, "height": 844}, "", "phone"),
    "desktop": ({"width": 1366, "height": 768}, "", "desktop"),
    "wall": ({"width": 1920, "height": 1080}, "display=wall", "wall"),
    # The ends of the range the page is made for: a small phone and a 4K wall screen.
    "phone-360": ({"width": 360, "height": 640}, "", "phone"),
    "wall-4k": ({"width": 3840, "height": 2160}, "display=wall", "wall"),
    # The wall chosen by the config alone (display.mode: wall), nothing in the address.
    "wall-by-config": ({"width": 1920, "height": 1080}, "", "wall"),
}
CASES = [(layout, theme) for layout in ("phone", "desktop", "wall") for theme in ("light", "dark")] + [
    ("phone-360", "light"),
    ("wall-4k", "dark"),
]
CONFIG = {
    "houses": 8,
    "update_interval_ms": 500,
    "seed": 3,
    "clock": {"mode": "accelerated", "start": "2026-06-21T10:00:00", "speed_factor": 60},
}

#: Boxes, fonts and colours of what the page shows, found through Panel's shadow roots.
MEASURE_JS = """
() => {
  const all = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll("*")) {
      all.push(el);
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(document);
  const box = (el) => { const r = el.getBoundingClientRect(); return {x: r.left, y: r.top, width: r.width, height: r.height}; };
  const visible = (el) => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none"; };
  const parse = (c) => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(",").map(Number); return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
  const up = (el) => el.parentElement || (el.parentNode && el.parentNode.host) || null;
  const behind = (el) => {
    for (let e = el; e; e = up(e)) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0.5) return c;
    }
    return parse(getComputedStyle(document.body).backgroundColor) || {r: 255, g: 255, b: 255, a: 1};
  };
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const contrast = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
  const texts = all.filter((el) => el.matches(".leg-kpi b, .leg-kpi span, .leg-clock") && visible(el)).map((el) => ({
    text: el.textContent.trim().slice(0, 40), contrast: contrast(parse(getComputedStyle(el).color), behind(el)),
    font_px: parseFloat(getComputedStyle(el).fontSize), fits: el.scrollWidth <= el.clientWidth + 1 || el.tagName === "SPAN",
    box: box(el), cls: el.className || el.tagName, today: !!el.closest(".leg-today"),
  }));
  const main = document.getElementById("main");
  const sidebar = document.getElementById("sidebar");
  const clickable = all.filter((el) => el.matches("button, input, select, textarea, .bk-input, [role=button]") && visible(el)
    && !el.closest("#header"));
  const chart = all.find((el) => el.matches(".bk-Canvas, canvas") && false);
  return {
    viewport: {width: innerWidth, height: innerHeight},
    page_width: document.documentElement.scrollWidth,
    main: main ? {scroll: main.scrollWidth, client: main.clientWidth, scroll_h: main.scrollHeight, client_h: main.clientHeight} : null,
    sidebar: sidebar && visible(sidebar) ? box(sidebar) : null,
    kpis: (() => { const k = all.find((el) => el.matches(".leg-kpis")); return k ? box(k) : null; })(),
    texts,
    clickable: clickable.map((el) => el.tagName + "." + el.className),
    theme_toggle: !!document.querySelector("#header .theme-toggle, #theme-toggle, .theme-toggle-icon"),
  };
}
"""

#: The box of the community chart's canvas (its figure is named "community_chart"), or null.
FIND_CHART_JS = """
() => {
  const B = window.Bokeh; if (!B || !B.index) return null;
  const roots = B.index instanceof Map ? [...B.index.values()] : Object.values(B.index);
  for (const root of roots) {
    const views = root.owner && typeof root.owner.all_views === "function" ? root.owner.all_views() : [];
    for (const v of views) {
      if (v.model && v.model.name === "community_chart" && v.el) {
        const r = (v.canvas_view ? v.canvas_view.el : v.el).getBoundingClientRect();
        return {x: r.left, y: r.top, width: r.width, height: r.height};
      }
    }
  }
  return null;
}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("layouts"), config=CONFIG).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _open(browser, server, layout: str, theme_name: str | None):
    viewport, query, _ = LAYOUTS[layout]
    query = "&".join(q for q in (query, f"theme={theme_name}" if theme_name else "") if q)
    context = browser.new_context(viewport=viewport, device_scale_factor=1)
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(f"{server.base}/main?{query}", wait_until="load", timeout=TIMEOUT_MS)
    page.wait_for_selector(".leg-kpis", timeout=TIMEOUT_MS)
    page.wait_for_function(f"() => !!({FIND_FLOW_GRAPH_JS})([])", timeout=TIMEOUT_MS)
    page.wait_for_timeout(1500)  # a few ticks: late stylesheets and updates arrive too
    return context, page, requested


@pytest.mark.parametrize(("layout", "theme_name"), CASES)
def test_layout(browser, server, layout, theme_name):
    context, page, requested = _open(browser, server, layout, theme_name)
    try:
        graph = page.evaluate(FIND_FLOW_GRAPH_JS, [])["canvas"]
        chart = page.evaluate(FIND_CHART_JS)
        m = page.evaluate(MEASURE_JS)
    finally:
        context.close()
    check_page(layout, theme_name, server, requested, graph, chart, m)


def check_page(layout, theme_name, server, requested, graph, chart, m):
    """Every check of one page; see the module docstring."""
    kind = LAYOUTS[layout][2]
    own = re.compile(rf"^(https?|wss?)://127\.0\.0\.1:{server.port}/")
    outside = [u for u in requested if not own.match(u) and not u.startswith(("data:", "blob:"))]
    assert outside == [], f"requests that leave the server: {outside}"

    vw, vh = m["viewport"]["width"], m["viewport"]["height"]
    assert m["page_width"] <= vw, f"the page is {m['page_width']} px wide on a {vw} px screen"
    assert m["main"] is not None and m["main"]["scroll"] <= m["main"]["client"] + 1, f"the main area scrolls sideways: {m['main']}"
    assert graph["x"] >= -1 and graph["x"] + graph["width"] <= vw + 1, f"the graph leaves the screen: {graph}"

    for t in m["texts"]:
        assert t["contrast"] >= 4.5, f"{theme_name} {layout}: {t['text']!r} ({t['cls']}) has contrast {t['contrast']:.2f}:1"
        assert t["fits"], f"{layout}: {t['text']!r} does not fit its cell"
    values = [t for t in m["texts"] if t["cls"] == "B" and not t["today"]]
    today = [t for t in m["texts"] if t["cls"] == "B" and t["today"]]
    assert len(values) == 7 and len(today) == 6, f"KPI values shown: {[t['text'] for t in values]}, today: {[t['text'] for t in today]}"

    kpis = m["kpis"]
    if kind == "phone":
        assert graph["width"] >= 0.85 * vw, f"the graph is {graph['width']:.0f} px wide on a {vw} px phone"
        assert kpis["y"] > graph["y"] + graph["height"] - 1, "the graph comes first in the phone's column"
        assert m["sidebar"] is None or m["sidebar"]["width"] < 2, f"the controls' drawer starts open: {m['sidebar']}"
    elif kind == "desktop":
        assert graph["y"] + graph["height"] <= vh + 1, f"the graph does not fit the first screen: {graph}"
        assert kpis["x"] >= graph["x"] + graph["width"] - 1, "numbers sit beside the graph"
        assert m["sidebar"] is not None, "the desktop shows its controls"
    else:
        share = graph["width"] * graph["height"] / (vw * vh)
        assert share >= 0.5 or (graph["height"] >= 0.8 * vh and graph["width"] >= 0.5 * vw), f"the graph fills {share:.0%} of the wall"
        assert m["sidebar"] is None, "a wall screen has no sidebar"
        assert m["clickable"] == [], f"a wall screen has things to click: {m['clickable']}"
        assert min(t["font_px"] for t in values) >= 28, f"KPI values are {min(t['font_px'] for t in values)} px"
        assert chart is not None and chart["y"] + chart["height"] <= vh + 1, f"the chart is not on screen: {chart}"
        assert m["main"]["scroll_h"] <= m["main"]["client_h"] + 1, "the wall page scrolls"


@pytest.fixture(scope="module")
def wall_server(tmp_path_factory):
    config = {**CONFIG, "display": {"mode": "wall", "theme": "dark"}}
    srv = Server(tmp_path_factory.mktemp("wall"), config=config).start()
    yield srv
    srv.stop()


def test_the_config_chooses_the_wall_and_its_theme(browser, wall_server):
    """display.mode: wall and display.theme: dark in the config, nothing in the address."""
    context, page, requested = _open(browser, wall_server, "wall-by-config", None)
    try:
        graph = page.evaluate(FIND_FLOW_GRAPH_JS, [])["canvas"]
        chart = page.evaluate(FIND_CHART_JS)
        m = page.evaluate(MEASURE_JS)
        background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    finally:
        context.close()
    check_page("wall-by-config", "dark", wall_server, requested, graph, chart, m)
    assert background == "rgb(24, 24, 24)", f"the configured dark theme was not applied: {background}"
