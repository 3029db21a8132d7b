"""LEG-Simulator: a live, descriptive picture of a local electricity community.

Headless use (no Panel needed)::

    from leg_sim import Simulation
    sim = Simulation.from_config("config.yaml", houses=20)
    snap = sim.step()
    snap.to_dict()["grid"]

Layers, top to bottom: config -> profiles (pure physics) -> flows (pure) ->
model (Parameterized houses, community, grid) -> clock -> engine (Simulation).
The dashboard lives in leg_sim.ui and leg_sim.server and is the only part that
imports Panel.
"""

from leg_sim.config import ConfigError, Settings, load_config
from leg_sim.engine import Snapshot, Simulation

__all__ = ["ConfigError", "Settings", "Simulation", "Snapshot", "load_config"]
__version__ = "0.1.0"
