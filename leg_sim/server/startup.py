"""The server's start-up hook: ``panel serve ... --setup leg_sim/server/startup.py``.

Panel runs this file once, before the server accepts connections (as the module
``panel_setup_module``). It starts the one shared Simulation, so the community
ticks from the start whether or not anyone is watching. An invalid config stops
the server here with the one-line error and exit status 2. Importing this file
as a module does nothing.
"""

from __future__ import annotations

import gc
import sys

from leg_sim.config import ConfigError
from leg_sim.server import looplag, session, systemd
from leg_sim.server.engine_host import start_simulation


def main() -> None:
    """Start the engine, or exit with status 2 and one line on a bad config; then tell
    systemd, when it runs the server, that it is ready (:mod:`leg_sim.server.systemd`)."""
    try:
        sim = start_simulation()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)
    # What start-up built (modules, the model, the weather year) lives as long as the server:
    # moved out of the collector's reach, it no longer lengthens every full collection. This one
    # collection (about 0.15 s) runs before the server accepts connections and before the pause
    # monitor starts (:mod:`leg_sim.server.looplag`): no page waits for it.
    gc.collect()
    gc.freeze()
    systemd.start(lambda: sim.health()[0])
    looplag.start()
    session.start_stuck_checks()


if __name__ in ("__main__", "panel_setup_module"):
    main()
