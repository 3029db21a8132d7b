"""The one Simulation of this server process, created and started on first use.

Every session, route and health check asks :func:`get_simulation`; the first
call builds the engine from $LEG_CONFIG (or config.yaml) and starts its tick
loop, which then runs whether or not any browser is open.
"""

from __future__ import annotations

import logging
import os
import threading

from leg_sim.config import ENV_READ_ONLY, load_config
from leg_sim.engine import Simulation

log = logging.getLogger("leg_sim.server")

_lock = threading.Lock()
_simulation: Simulation | None = None


def env_read_only() -> bool:
    """True when $LEG_READ_ONLY asks for a display without controls (1, true, yes, on)."""
    return os.environ.get(ENV_READ_ONLY, "").strip().lower() in {"1", "true", "yes", "on"}


def get_simulation() -> Simulation:
    """The process-wide Simulation, started on first call. Raises ConfigError on a bad config."""
    global _simulation
    with _lock:
        if _simulation is None:
            settings = load_config(None)
            overrides = {"read_only": True} if env_read_only() else {}
            sim = Simulation(settings, **overrides)
            sim.start()
            log.info("simulation started: %d houses, %d ms interval", sim.house_count, sim.update_interval_ms)
            _simulation = sim
        return _simulation
