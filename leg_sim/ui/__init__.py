"""Dashboard views: one `pn.viewable.Viewer` per view, each owning its own Bokeh models.

A view is built per browser session from the shared Simulation and updated with
``view.update(snapshot)`` from the session's own document; views never share a
Bokeh model across sessions.
"""
