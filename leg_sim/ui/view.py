"""The contract of a dashboard view: what every view gets and does.

A view *gets* the session's :class:`~leg_sim.ui.readmodel.ReadModel` (the
latest snapshot, the history, the time zone, whether the simulation is
paused) and nothing else of the simulation; only the controls, whose job is to
set the live parameters, are handed the Simulation itself as well.

A view *does* three things:

* :meth:`View.build` makes its own Panel/Bokeh objects, once, for this session
  only (a Bokeh model belongs to one document);
* :meth:`View.update` shows a new snapshot, sending only what changed; it runs
  in the session's document context, inside one ``pn.io.hold`` per tick;
* :meth:`View.resync` forgets what it sent, when the page's copy came from the
  shared feed (:mod:`leg_sim.ui.feed`) instead;
* :meth:`View.dispose` releases anything it holds on shared objects when the
  session ends (most views hold nothing).

When built, a view shows the latest snapshot at once, if there is one.
Subclasses add only their own parameters and rendering.
"""

from __future__ import annotations

from typing import Any

import panel as pn
import param

from leg_sim.snapshot import Snapshot
from leg_sim.ui.readmodel import ReadModel


class View(pn.viewable.Viewer):
    """Base class of the dashboard's views; see the module docstring."""

    reader = param.ClassSelector(class_=ReadModel, doc="What this session's views may read.")

    def __init__(self, **params: Any):
        super().__init__(**params)
        if self.reader is None:
            raise TypeError(f"{type(self).__name__} needs reader=ReadModel(...)")
        self._panel = self.build()
        snap = self.read_model.snapshot
        if snap is not None:
            self.update(snap)

    @property
    def read_model(self) -> ReadModel:
        """This session's read model (the `reader` parameter, never None once built)."""
        assert self.reader is not None
        return self.reader

    def build(self) -> Any:
        """Make this view's Panel/Bokeh objects and return what the page shows."""
        raise NotImplementedError

    def update(self, snap: Snapshot) -> None:
        """Show `snap`, sending only what changed."""
        raise NotImplementedError

    def resync(self) -> None:
        """Forget what was sent: the browser's copy came from elsewhere (the shared feed), so
        the next :meth:`update` sends all of it (nothing to forget by default)."""

    def dispose(self) -> None:
        """Release what this view holds on shared objects (nothing by default)."""

    def __panel__(self) -> Any:
        return self._panel
