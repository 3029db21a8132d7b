"""LEG-Simulator dashboard: `panel serve apps/main.py`. Assembly only; views live in leg_sim.ui."""

import panel as pn

from leg_sim.server.engine_host import get_simulation

sim = get_simulation()
status = pn.pane.JSON(sim.status(), depth=1, name="Engine status")
pn.state.add_periodic_callback(lambda: setattr(status, "object", sim.status()), period=1000)
pn.Column("# LEG-Simulator", status).servable(title="LEG-Simulator")
