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
LABEL_GREY = "#7a7a7a"

#: Styles of the KPI block.
KPI_CSS = f"""
.leg-kpis{{display:flex;flex-wrap:wrap;gap:10px;font-family:inherit}}
.leg-kpi{{flex:1 1 120px;padding:8px 12px;border-radius:8px;border:1px solid rgba(128,128,128,.35)}}
.leg-kpi b{{display:block;font-size:1.45em;font-variant-numeric:tabular-nums}}
.leg-kpi span{{font-size:.8em;opacity:.75}}
.leg-imp b{{color:{RED}}}.leg-exp b{{color:{GREEN}}}.leg-sh b{{color:{BUS_BLUE}}}
.leg-clock{{margin-top:8px;font-size:.9em;opacity:.85;font-variant-numeric:tabular-nums}}
.leg-paused{{background:{PAUSED_BG};color:#000;font-weight:700;padding:2px 10px;border-radius:10px;opacity:1}}
.leg-details{{margin-top:4px;font-size:.75em;opacity:.6;font-variant-numeric:tabular-nums}}
"""
