"""Dashboard views: one :class:`~leg_sim.ui.view.View` per file, each owning its own Bokeh models.

A view is built per browser session from the session's read model and updated
with ``view.update(snapshot)`` from the session's own document; views never
share a Bokeh model across sessions. :mod:`leg_sim.ui.view` states the contract,
:mod:`leg_sim.ui.theme` holds the colours and thresholds.
"""
