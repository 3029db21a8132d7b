"""The seams for later features are named, documented and not implemented."""

from __future__ import annotations

import inspect

from leg_sim import model, seams


def test_each_seam_is_named_and_documented():
    for name in ("Storage", "PriceSignal", "ControlSignal", "Optimiser"):
        obj = getattr(seams, name)
        assert inspect.getdoc(obj) and len(inspect.getdoc(obj)) > 80


def test_the_chain_marks_where_each_seam_plugs_in():
    src = inspect.getsource(model.CommunityChain.run)
    for name in ("ControlSignal", "Storage", "Optimiser", "PriceSignal"):
        assert f"leg_sim.seams.{name}" in src or name in src
    assert "PriceSignal" in inspect.getdoc(model.Grid)
