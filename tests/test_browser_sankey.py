"""The Sankey as Chromium draws it: the flows of /api/state, every one of at least 10 W.

A real `panel serve` of the dashboard on loopback (5 houses) and Debian's Chromium
driven by Playwright. What Plotly draws is read from the plot element itself
(its ``data``, after any restyle); Playwright's locator finds it inside Panel's
shadow DOM. The flows it must show are computed here from GET /api/state with
:func:`leg_sim.flows.pairwise_flows_w`, on the tick the page shows.

Without Chromium or the playwright package the module is skipped; with
``LEG_REQUIRE_BROWSER=1`` in the environment it fails instead.
"""

from __future__ import annotations

import os
import re
import time

import numpy as np
import pytest
from browser_support import CHROMIUM_ARGS, chromium_path
from server_support import Server, get_json

from leg_sim import flows as fl

pytestmark = [pytest.mark.browser, pytest.mark.server]

CHROMIUM = chromium_path()


def _unavailable(reason: str) -> None:
    """Skip the module, or fail it when the environment says a browser is required."""
    if os.environ.get("LEG_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (LEG_REQUIRE_BROWSER=1 forbids skipping the browser tests)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


if CHROMIUM is None:
    _unavailable("no Chromium at /usr/bin/chromium or on PATH (apt-get install chromium)")
try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect, sync_playwright
except ImportError as exc:  # pragma: no cover - depends on the environment
    _unavailable(f"the playwright package cannot be imported: {exc}")

from leg_sim.ui.sankey import GRID, SEND_SHARE, SEND_STEP_W  # noqa: E402  (imports Panel; only after the skip checks)

#: Upper bound of every wait. [ms]
TIMEOUT_MS = 30_000
SERVER_CONFIG = {
    "houses": 5,
    "update_interval_ms": 700,
    "seed": 3,
    "pv_variation": "enabled",
    # Mid-morning on midsummer's day: houses export, and some import from their neighbours.
    "clock": {"mode": "accelerated", "start": "2026-06-21T10:00:00", "speed_factor": 60},
}

#: What Plotly draws: node names and labels, and the links, of the plot element's Sankey trace.
SANKEY_JS = """
(el) => {
  const t = el.data && el.data[0];
  if (!t || !t.node || !t.link) return null;
  return {names: [...t.node.customdata], labels: [...t.node.label],
          source: [...t.link.source], target: [...t.link.target], value: [...t.link.value]};
}
"""


def flows_of(state: dict) -> dict[tuple[str, str], float]:
    """Every house-to-house and house-grid flow of an /api/state document, by (from, to). [W]"""
    houses = state["houses"]
    ids = [h["house_id"] for h in houses]
    net = np.array([h["net_power_w"] for h in houses])
    exp, imp = np.flatnonzero(net > 0), np.flatnonzero(net < 0)
    matrix = fl.pairwise_flows_w(net[exp], -net[imp])
    flows = {(ids[i], ids[j]): float(matrix[a, b]) for a, i in enumerate(exp) for b, j in enumerate(imp)}
    flows.update({(ids[i], GRID): houses[i]["export_grid_w"] for i in exp})
    flows.update({(GRID, ids[j]): houses[j]["import_grid_w"] for j in imp})
    return {k: w for k, w in flows.items() if w > 0}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with Server(tmp_path_factory.mktemp("sankey"), config=SERVER_CONFIG) as srv:
        yield srv


@pytest.fixture(scope="module")
def page(server):
    with sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=TIMEOUT_MS)
        except PlaywrightError as exc:
            _unavailable(f"Chromium at {CHROMIUM} does not start under Playwright: {exc}")
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        page.goto(server.base + "/", timeout=TIMEOUT_MS, wait_until="commit")
        expect(page.locator("span.leg-tick")).to_have_attribute("data-tick", re.compile(r"^[1-9][0-9]*$"), timeout=TIMEOUT_MS)
        yield page
        browser.close()


def shown_tick(page) -> int:
    return int(page.locator("span.leg-tick").get_attribute("data-tick", timeout=TIMEOUT_MS))


def test_the_sankey_in_chromium_draws_the_flows_of_the_same_tick(page, server):
    plot = page.locator(".js-plotly-plot").first
    expect(plot).to_be_visible(timeout=TIMEOUT_MS)
    matched, tries = 0, 0
    deadline = time.monotonic() + 60
    while matched < 3 and time.monotonic() < deadline:
        tries += 1
        tick = shown_tick(page)
        trace = plot.evaluate(SANKEY_JS)
        _, state = get_json(server.base + "/api/state")
        if trace is None or state["tick"] != tick or shown_tick(page) != tick:
            page.wait_for_timeout(100)
            continue  # the page and the route are on different ticks: try again
        names = trace["names"]
        drawn = {(names[s], names[t]): v for s, t, v in zip(trace["source"], trace["target"], trace["value"], strict=True)}
        expected = flows_of(state)
        # A session re-sends once a value moved by its step (10 W, or 2 % of the largest node):
        # what is drawn is within that of the tick.
        node_w: dict[str, float] = {}
        for (a, b), w in expected.items():
            node_w[a] = node_w.get(a, 0.0) + w
            node_w[b] = node_w.get(b, 0.0) + w
        tol_w = max(SEND_STEP_W, SEND_SHARE * max(node_w.values(), default=0.0)) * 1.1 + 0.1
        for key, w in expected.items():
            if w >= SEND_STEP_W:
                assert key in drawn, (key, w, sorted(drawn))
            assert drawn.get(key, 0.0) == pytest.approx(w, abs=tol_w), key
        for key, w in drawn.items():
            assert expected.get(key, 0.0) == pytest.approx(w, abs=tol_w), key
        exporters = {h["house_id"] for h in state["houses"] if h["net_power_w"] > 0}
        sent_out = sum(w for (s, _), w in drawn.items() if s in exporters)
        total_export = sum(h["net_power_w"] for h in state["houses"] if h["net_power_w"] > 0)
        assert sent_out == pytest.approx(total_export, abs=tol_w * len(drawn))
        for name, label in zip(names, trace["labels"], strict=True):
            assert label.startswith(f"{name} · ") and label.endswith("W"), label
        matched += 1
        page.wait_for_timeout(800)
    assert matched >= 3, f"the page and /api/state agreed on a tick {matched} times in {tries} tries"
