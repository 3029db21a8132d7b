"""LEG-Simulator: a live, descriptive picture of a local electricity community.

Headless use (no Panel needed)::

    from leg_sim import Simulation
    sim = Simulation.from_config("config.yaml", houses=20)
    snap = sim.step()
    snap.to_dict()["grid"]

Layers, top to bottom (each imports only from the layers above it): settings
and config -> profiles and flows (pure physics) -> model (houses, community,
grid and the chain) -> clock -> snapshot and history -> engine (Simulation) ->
ui and server (the only part that imports Panel). docs/ARCHITECTURE.md has the map.
"""

from leg_sim.config import ConfigError, Settings, load_config
from leg_sim.engine import Simulation
from leg_sim.snapshot import Snapshot

__all__ = ["ConfigError", "Settings", "Simulation", "Snapshot", "load_config"]
#: The one place the version is written; pyproject.toml reads it from here.
__version__ = "0.1.0"
