"""Fault injection for reliability tests, loaded only by tests: `--plugins tests.fault_plugin`.

Adds routes to a test server (never to a production one):

* ``GET /test/fault?count=N`` — the next N ticks raise inside the engine;
* ``GET /test/stop`` — stop the tick loop, as if the engine thread had died.

The engine's tick is wrapped on the first request, not at import.
"""

from __future__ import annotations

import json
import threading

from tornado.web import RequestHandler

from leg_sim.server.engine_host import start_simulation

_pending = {"faults": 0}
_lock = threading.Lock()
_wrapped: set[int] = set()


def _simulation_with_faults():
    sim = start_simulation()
    with _lock:
        if id(sim) not in _wrapped:
            real_compute = sim._compute

            def compute_with_faults():
                with _lock:
                    fail = _pending["faults"] > 0
                    if fail:
                        _pending["faults"] -= 1
                if fail:
                    raise RuntimeError("injected fault")
                return real_compute()

            sim._compute = compute_with_faults
            _wrapped.add(id(sim))
    return sim


class Fault(RequestHandler):
    def get(self):
        count = int(self.get_query_argument("count", "1"))
        _simulation_with_faults()
        with _lock:
            _pending["faults"] += count
        self.write(json.dumps({"pending_faults": _pending["faults"]}))


class Stop(RequestHandler):
    def get(self):
        _simulation_with_faults().stop()
        self.write(json.dumps({"stopped": True}))


ROUTES = [(r"/test/fault", Fault), (r"/test/stop", Stop)]
