"""One rule for W and kW, in Python and in the browser: ``FORMAT_POWER_JS`` run in Chromium gives
exactly the text of :func:`leg_sim.units.format_power` (the flow graph's labels are finished in
the browser from the powers it already has)."""

from __future__ import annotations

import os

import pytest
from browser_support import CHROMIUM_ARGS, chromium_path
from hypothesis import given, settings
from hypothesis import strategies as st

from leg_sim.units import COARSE, FINE, FORMAT_POWER_JS, format_power

pytestmark = pytest.mark.browser

CHROMIUM = chromium_path()
if CHROMIUM is None:
    if os.environ.get("LEG_REQUIRE_BROWSER") == "1":
        pytest.fail("no Chromium at /usr/bin/chromium (LEG_REQUIRE_BROWSER=1 forbids skipping)", pytrace=False)
    pytest.skip("no Chromium at /usr/bin/chromium or on PATH", allow_module_level=True)
from playwright.sync_api import sync_playwright  # noqa: E402

RUN_JS = f"""
(cases) => {{
  {FORMAT_POWER_JS}
  return cases.map(([w, signed, step, dec]) => formatPower(w, signed, step, dec));
}}
"""
#: Values at every boundary and tie of the rule: steps, 1 kW, 100 kW, 1 MW, exact binary halves.
EDGES = [0.0, -0.0, 24.9, 25.0, 25.1, 75.0, 125.0, 975.0, 999.4, 999.5, 1000.0, 1049.9, 1050.0, 1250.0, 1255.0, 1750.0,
         99_949.0, 99_950.0, 99_999.0, 100_000.0, 100_500.0, 999_499.0, 999_500.0, 1_000_000.0, 1_125_000.0, 1_005_000.0,
         12_345_678.9, 0.49, 0.5, 0.51]


@pytest.fixture(scope="module")
def page():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser.new_page()
        browser.close()


def _check(page, values: list[float]) -> None:
    cases = [(w, signed, r.step_w, r.kw_decimals) for w in values for signed in (False, True) for r in (FINE, COARSE)]
    shown = page.evaluate(RUN_JS, [list(c) for c in cases])
    expected = [format_power(w, signed=signed, resolution=FINE if step == FINE.step_w else COARSE) for w, signed, step, _ in cases]
    assert shown == expected


def test_boundaries_and_ties_match(page):
    _check(page, EDGES + [-w for w in EDGES])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.one_of(st.floats(-2e7, 2e7, allow_nan=False), st.integers(-200_000, 200_000).map(lambda i: i * 5.0),
                          st.integers(-2000, 2000).map(lambda i: i / 100 * 1000.0)), min_size=1, max_size=200))
def test_any_power_matches(page, values):
    _check(page, values)
