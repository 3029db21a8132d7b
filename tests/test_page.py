"""The page around the views: which layout and theme a screen gets, its colours, and its assets."""

from __future__ import annotations

import re

import pytest
from conftest import make_sim
from hypothesis import given
from hypothesis import strategies as st

from leg_sim.ui import page, theme
from leg_sim.ui.dashboard import Dashboard
from leg_sim.ui.kpis import KpiPanel
from leg_sim.ui.readmodel import ReadModel


def args(**kw: str) -> dict[str, list[bytes]]:
    return {k: [v.encode()] for k, v in kw.items()}


def test_the_config_chooses_and_the_url_overrides():
    assert page.page_choice() == page.PageChoice("standard", "light")
    assert page.page_choice("wall", "dark") == page.PageChoice("wall", "dark")
    assert page.page_choice("standard", "light", args=args(display="wall", theme="dark")) == page.PageChoice("wall", "dark")
    assert page.page_choice("wall", "dark", args=args(display="standard", theme="light")) == page.PageChoice("standard", "light")
    # Panel's theme toggle writes "default" for the light theme.
    assert page.page_choice("standard", "dark", args=args(theme="default")).theme == "light"
    assert page.page_choice(args=args(display=" 'WALL' ")).wall


def test_a_read_only_server_always_shows_the_wall():
    assert page.page_choice("standard", read_only=True).wall
    assert page.page_choice("standard", read_only=True, args=args(display="standard")).wall


@given(
    display=st.one_of(st.none(), st.binary(max_size=40), st.text(max_size=40).map(str.encode)),
    theme_arg=st.one_of(st.none(), st.binary(max_size=40), st.text(max_size=40).map(str.encode)),
    configured=st.sampled_from(page.DISPLAY_MODES),
    configured_theme=st.sampled_from(page.THEMES),
)
def test_any_url_value_gives_a_valid_page(display, theme_arg, configured, configured_theme):
    query = {name: [value] for name, value in (("display", display), ("theme", theme_arg)) if value is not None}
    choice = page.page_choice(configured, configured_theme, args=query)
    assert choice.display in page.DISPLAY_MODES and choice.theme in page.THEMES
    known = {b"wall", b"standard"}
    if display is None or display.strip().lower() not in known:
        assert choice.display == configured  # an unknown word falls back to the config


@pytest.mark.parametrize("theme_name", page.THEMES)
def test_every_text_colour_reads_at_4_5_to_1(theme_name):
    background = theme.BACKGROUND[theme_name]
    for name, colour in theme.text_colours(theme_name).items():
        ratio = theme.contrast_ratio(colour, background)
        assert ratio >= theme.MIN_TEXT_CONTRAST, f"{theme_name} {name} {colour} on {background}: {ratio:.2f}:1"


def test_contrast_ratio_matches_the_wcag_examples():
    assert theme.contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert theme.contrast_ratio("#ffffff", "#ffffff") == pytest.approx(1.0)
    assert theme.contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)  # the lightest AA grey on white


def test_the_page_css_carries_the_theme_colours():
    for theme_name in page.THEMES:
        css = theme.css_variables(theme_name)
        for name, colour in theme.text_colours(theme_name).items():
            assert f"--leg-{name}:{colour};" in css
    # The KPI styles take their colours from those variables, not from fixed values.
    assert "var(--leg-red" in theme.KPI_CSS and "var(--leg-green" in theme.KPI_CSS


def test_the_design_asks_no_font_from_the_internet():
    assert "font" not in page.Fast._resources
    resources = repr(page.Fast._resources)
    assert "googleapis" not in resources


def _template_urls(template) -> list[str]:
    found = template.resolve_resources()
    urls: list[str] = []
    for kind in ("css", "js", "js_modules"):
        urls += [str(u) for u in found.get(kind, {}).values()]
    return urls


@pytest.mark.parametrize("choice", [page.PageChoice("standard", "light"), page.PageChoice("wall", "dark")])
def test_the_template_has_a_viewport_and_local_assets_only(choice):
    sim = make_sim(houses=3)
    sim.step()
    template = Dashboard(sim=sim, choice=choice).template()
    assert template.meta_viewport == "width=device-width, initial-scale=1"
    assert template.theme.__name__.lower().startswith("dark" if choice.dark else "default")
    outside = [u for u in _template_urls(template) if re.match(r"^(https?:)?//", u) and "static/extensions" not in u]
    assert not [u for u in outside if "googleapis" in u]


def test_the_wall_has_no_sidebar_and_nothing_to_click():
    sim = make_sim(houses=3)
    sim.step()
    wall = Dashboard(sim=sim, choice=page.PageChoice("wall")).template()
    standard = Dashboard(sim=sim, choice=page.PageChoice("standard")).template()
    assert len(wall.sidebar) == 0 and len(standard.sidebar) > 0
    assert not wall.theme_toggle
    import panel as pn

    widgets = [w for obj in wall.main for w in obj.select(pn.widgets.Widget)]
    assert widgets == [], f"a wall screen shows widgets: {[type(w).__name__ for w in widgets]}"


def test_wall_kpis_use_the_large_style():
    sim = make_sim(houses=3)
    sim.step()
    wall = KpiPanel(reader=ReadModel(sim), wall=True)
    desk = KpiPanel(reader=ReadModel(sim))
    assert 'class="leg-wall"' in wall.text and 'class="leg-wall"' not in desk.text
    # At least 28 px on a 1080p screen: clamp(28px, ...) in the wall style.
    size = re.search(r"\.leg-wall \.leg-kpi b\{[^}]*font-size:clamp\((\d+)px", theme.KPI_CSS)
    assert size is not None and int(size.group(1)) >= 28


#: Bokeh models a 20-house page may be built from. Opening a page costs CPU roughly in
#: proportion to its models (BENCHMARKS.md); 179 (standard) and 142 (wall) now, 214 and
#: 177 while the chart and the graph drew each line with several glyphs.
PAGE_MODEL_BUDGET = 185


@pytest.mark.parametrize("choice", [page.PageChoice("standard", "light"), page.PageChoice("wall", "dark")])
def test_a_page_is_built_from_few_models_and_each_line_from_one_glyph(choice):
    from bokeh.document import Document
    from bokeh.models import DaysTicker, Glyph, GlyphRenderer
    from panel.io.state import set_curdoc

    sim = make_sim(houses=20)
    sim.step()
    doc = Document()
    with set_curdoc(doc):  # as the server builds a page (Panel shares stylesheets within a document)
        Dashboard(sim=sim, choice=choice).template().server_doc(doc)
    models = list(doc.models)
    assert len(models) <= PAGE_MODEL_BUDGET, f"{len(models)} models in a page (budget {PAGE_MODEL_BUDGET})"
    renderers = [m for m in models if isinstance(m, GlyphRenderer)]
    glyphs = [m for m in models if isinstance(m, Glyph)]
    # One glyph per renderer: no extra glyphs for selected, unselected, muted or hovered looks.
    assert len(glyphs) == len(renderers) >= 8 + 4
    assert all(r.nonselection_glyph == "auto" and r.hover_glyph is None for r in renderers)
    # The chart's time axis has no day, month or year tickers (a window is at most a day).
    assert not [m for m in models if isinstance(m, DaysTicker)]


@pytest.mark.parametrize("choice", [page.PageChoice(d, t) for d in page.DISPLAY_MODES for t in page.THEMES])
def test_every_page_passes_bokehs_own_checks(choice):
    """The server skips Bokeh's document checks for each page it builds (BOKEH_VALIDATE_DOC=false,
    leg_sim.server.engine_host): every layout passes them here, with no error and no warning."""
    from bokeh.core.validation.check import check_integrity
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    sim = make_sim(houses=20)
    sim.step()
    doc = Document()
    with set_curdoc(doc):
        Dashboard(sim=sim, choice=choice).template().server_doc(doc)
    issues = check_integrity(list(doc.models))
    assert issues.error == [] and issues.warning == [], issues
