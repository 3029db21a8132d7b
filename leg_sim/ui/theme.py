"""Colours, thresholds and styles of the dashboard, in one place.

Every view takes its colours from here, so green always means export, red
import and grey idle, in the graph, the Sankey, the chart and the KPIs alike.
"""

from __future__ import annotations

#: Export (towards the bus or the grid), import, and idle.
GREEN, RED, GREY = "#1a9850", "#d73027", "#9e9e9e"
#: The community bus, PV production, the grid as a Sankey node.
BUS_BLUE, PV_AMBER, GRID_GREY = "#4a78b5", "#f2a900", "#8c8c8c"
#: The page's accent colour.
ACCENT = GREEN
#: Background of the "paused" badge (black text on it: contrast 10:1).
PAUSED_BG = "#f0ad4e"
#: House colour by net power, from importing (red) through yellow to exporting (green).
NET_PALETTE = ("#a50026", "#d73027", "#f46d43", "#fdae61", "#fee08b", "#ffffbf", "#d9ef8b", "#a6d96a", "#66bd63", "#1a9850", "#006837")
#: Net power at the ends of NET_PALETTE. [kW]
NET_PALETTE_KW = (-5.0, 5.0)
#: Below this |P| a flow counts as idle. [W]
IDLE_W = 20.0
#: Sankey link fills: surplus shared or fed in, and supply from the grid.
LINK_EXPORT, LINK_GRID_SUPPLY = "rgba(26,152,80,0.35)", "rgba(215,48,39,0.30)"
#: Muted text of labels on the graph and the Sankey.
LABEL_GREY = "#666666"

#: Page background of each theme (the dark one is Panel's Fast dark design).
BACKGROUND = {"light": "#ffffff", "dark": "#181818"}
#: Text colours of each theme, each at least 4.5:1 against that theme's background
#: (WCAG 2.1 AA for normal text; tested): body, muted labels, and the red/green/blue
#: of import, export and sharing when they colour text rather than shapes.
TEXT = {
    "light": {"body": "#2b2b2b", "muted": "#666666", "red": "#d73027", "green": "#1a7f43", "blue": "#3b6aa8"},
    "dark": {"body": "#ffffff", "muted": "#b0b0b0", "red": "#ff7a6b", "green": "#4cc47a", "blue": "#8ab4f8"},
}
#: The least contrast of text against its background. [ratio]
MIN_TEXT_CONTRAST = 4.5


def _channel(value: int) -> float:
    c = value / 255.0
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(hex_colour: str) -> float:
    """WCAG 2.1 relative luminance of an sRGB colour "#rrggbb" (0 black .. 1 white)."""
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG 2.1 contrast ratio of two colours, 1 (none) to 21 (black on white)."""
    hi, lo = sorted((relative_luminance(foreground), relative_luminance(background)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def text_colours(theme_name: str) -> dict[str, str]:
    """The text colours of a theme ("light" or "dark")."""
    return TEXT["dark" if theme_name == "dark" else "light"]


def css_variables(theme_name: str) -> str:
    """The theme's text colours as CSS custom properties (--leg-red, ...), for the page's head.
    Custom properties reach into the views' shadow DOM, so one rule colours them all."""
    colours = text_colours(theme_name)
    return ":root{" + "".join(f"--leg-{name}:{value};" for name, value in colours.items()) + "}"

#: Styles of the KPI block.
KPI_CSS = f"""
:host{{width:100%}}
.bk-clearfix{{display:block;width:100%}}
.leg-kpis{{width:100%;box-sizing:border-box;display:grid;grid-template-columns:repeat(auto-fill,minmax(128px,1fr));gap:8px;font-family:inherit}}
.leg-kpi{{padding:6px 10px;border-radius:8px;border:1px solid rgba(128,128,128,.35);min-width:0}}
.leg-kpi b{{display:block;font-size:1.45em;font-variant-numeric:tabular-nums}}
.leg-kpi span{{font-size:.8em;color:var(--leg-muted,{LABEL_GREY})}}
.leg-imp b{{color:var(--leg-red,{RED})}}.leg-exp b{{color:var(--leg-green,{GREEN})}}.leg-sh b{{color:var(--leg-blue,{BUS_BLUE})}}
.leg-clock{{margin-top:8px;font-size:.9em;font-variant-numeric:tabular-nums}}
.leg-paused{{background:{PAUSED_BG};color:#000;font-weight:700;padding:2px 10px;border-radius:10px;opacity:1}}
.leg-wall .leg-kpis{{grid-template-columns:repeat(3,minmax(0,1fr));gap:1vh 1vw}}
.leg-wall .leg-kpi b{{font-size:clamp(28px,2.3vw,96px);line-height:1.15}}
.leg-wall .leg-kpi span{{font-size:clamp(16px,1vw,40px)}}
.leg-wall .leg-clock{{font-size:clamp(16px,1vw,40px)}}
.leg-wall .leg-details{{display:none}}
.leg-details{{margin-top:4px;font-size:.75em;color:var(--leg-muted,{LABEL_GREY});font-variant-numeric:tabular-nums}}
"""
