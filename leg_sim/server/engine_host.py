"""The one Simulation of this server process: built and started by an explicit call.

:func:`start_simulation` builds the engine from $LEG_CONFIG (or config.yaml)
and starts its tick loop, which then runs whether or not any browser is open.
Its accumulated state (ticks, energy, history) is restored from and saved to
``state.sqlite`` in the state directory (:mod:`leg_sim.state_store`).
The server's start-up hook (:mod:`leg_sim.server.startup`) calls it before the
server accepts connections; a served page calls it too, so that a plain
``panel serve apps/main.py`` also works. Starting it also makes the server's
replies to refused websocket messages short and refuses websockets without an
Origin (:mod:`leg_sim.server.guards`), and paces page builds
(:mod:`leg_sim.server.admission`).
Importing this module does nothing.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from typing import Any

from leg_sim import state_store
from leg_sim.config import ENV_READ_ONLY, ENV_ROLE, ROLE_WORKER, load_config
from leg_sim.engine import Simulation
from leg_sim.server import admission, cluster, feed, guards, mqtt_link, security

log = logging.getLogger("leg_sim.server")

_lock = threading.Lock()
_simulation: Simulation | None = None


def env_read_only() -> bool:
    """True when $LEG_READ_ONLY asks for a display without controls (1, true, yes, on)."""
    return os.environ.get(ENV_READ_ONLY, "").strip().lower() in {"1", "true", "yes", "on"}


def start_simulation() -> Simulation:
    """The process-wide Simulation, built and started on the first call. Raises ConfigError on a bad config."""
    global _simulation
    with _lock:
        if _simulation is None:
            guards.install()
            admission.install()
            # Bokeh checks every new page's models for mistakes of the code that built them
            # (about 5 % of a page's CPU); the page is the same code every time, and the test
            # suite runs those checks on every layout (tests/test_page.py).
            os.environ.setdefault("BOKEH_VALIDATE_DOC", "false")
            settings = load_config(None)
            state_path = security.state_dir(os.environ) / state_store.FILE_NAME
            # LEG_READ_ONLY can switch the controls off; it never switches on what the config switched off.
            extra: dict[str, Any] = {"read_only": True} if env_read_only() else {}
            if os.environ.get(ENV_ROLE) == ROLE_WORKER:
                # A worker: no simulation of its own and no state; it shows the engine's (leg_sim.server.cluster).
                sim = Simulation(settings, **extra)
                feed.start(sim)
                atexit.register(cluster.start_worker(sim, os.environ).stop)
                log.info("worker started: follows the engine on %s", settings["mqtt.broker"])
                _simulation = sim
                return sim
            sim = Simulation(settings, state_path=state_path, **extra)
            sim.start()
            # One frame per tick for every page (leg_sim.server.feed).
            feed.start(sim)
            # Meters and the community over MQTT, when the config asks for it (leg_sim.server.mqtt_link).
            link = mqtt_link.start(sim, os.environ)
            if link is not None:
                atexit.register(link.stop)
            # A clean stop (SIGTERM, Ctrl-C) saves the state once more.
            atexit.register(sim.stop)
            log.info("simulation started: %d houses, %d ms interval", sim.house_count, sim.update_interval_ms)
            _simulation = sim
        return _simulation
