"""LEG-Simulator dashboard: `panel serve apps/main.py` (see `make serve` for the full command).

Assembly only: the shared engine comes from leg_sim.server, the views from leg_sim.ui.
"""

import contextlib

import panel as pn

from leg_sim.server.engine_host import start_simulation
from leg_sim.server.session import dashboard_for_this_session

pn.extension(
    "plotly",
    notifications=True,
    disconnect_notification="Connection to the LEG-Simulator server was lost. The page reconnects by itself when the server is back.",
)

# Bokeh recomputes the document's model registry once at the end, not for every root Panel adds.
doc = pn.state.curdoc
with doc.models.freeze() if doc is not None else contextlib.nullcontext():
    dashboard_for_this_session(start_simulation()).servable(title="LEG-Simulator")
