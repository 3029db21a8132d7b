"""Pooling and sharing: hand-computed cases and hypothesis properties of the energy balance."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose

from leg_sim import flows as fl


def test_hand_computed_surplus_case():
    # A: +3 kW, B: +1 kW, C: -2 kW  -> E = 4, I = 2, shared 2, export 2
    f = fl.settle(np.array([4000.0, 1500.0, 0.0]), np.array([1000.0, 500.0, 2000.0]))
    assert_allclose(f.net_power_w, [3000.0, 1000.0, -2000.0])
    assert f.shared_w == 2000.0 and f.grid_export_w == 2000.0 and f.grid_import_w == 0.0
    assert_allclose(f.export_local_w, [1500.0, 500.0, 0.0])  # pro rata 3:1 of the 2 kW deficit
    assert_allclose(f.export_grid_w, [1500.0, 500.0, 0.0])
    assert_allclose(f.import_local_w, [0.0, 0.0, 2000.0])
    assert_allclose(f.import_grid_w, [0.0, 0.0, 0.0])
    m = fl.pairwise_flows_w(np.array([3000.0, 1000.0]), np.array([2000.0]))
    assert_allclose(m, [[1500.0], [500.0]])


def test_hand_computed_deficit_case():
    # A: +1 kW, B: -3 kW, C: -1 kW -> E = 1, I = 4: all export local, 3 kW import
    f = fl.settle(np.array([2000.0, 0.0, 0.0]), np.array([1000.0, 3000.0, 1000.0]))
    assert f.grid_import_w == 3000.0 and f.grid_export_w == 0.0 and f.shared_w == 1000.0
    assert_allclose(f.import_local_w, [0.0, 750.0, 250.0])
    assert_allclose(f.import_grid_w, [0.0, 2250.0, 750.0])
    assert fl.self_sufficiency(f.grid_import_w, f.total_consumption_w) == pytest.approx(1 - 3000 / 5000)
    assert fl.self_consumption(f.grid_export_w, f.total_production_w) == pytest.approx(1.0)


def test_night_kpis_are_none_not_nan():
    f = fl.settle(np.zeros(3), np.array([100.0, 200.0, 300.0]))
    assert fl.self_consumption(f.grid_export_w, f.total_production_w) is None
    assert fl.self_sufficiency(f.grid_import_w, f.total_consumption_w) == 0.0
    assert fl.self_sufficiency(0.0, 0.0) is None


def test_energy_needs_an_explicit_duration():
    assert fl.energy_kwh(1000.0, 3600.0) == 1.0
    assert fl.energy_kwh(1000.0, 0.0) == 0.0


powers = hnp.arrays(
    float, st.integers(1, 60), elements=st.floats(0.0, 25_000.0, allow_nan=False, allow_infinity=False)
)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_balance_and_shares_hold_for_any_powers(data):
    production = data.draw(powers)
    consumption = data.draw(hnp.arrays(float, len(production), elements=st.floats(0.0, 25_000.0)))
    f = fl.settle(production, consumption)
    assert abs((production.sum() - consumption.sum()) - (f.grid_export_w - f.grid_import_w)) <= 1e-6
    assert f.grid_import_w == 0.0 or f.grid_export_w == 0.0
    for arr in (f.export_local_w, f.export_grid_w, f.import_local_w, f.import_grid_w):
        assert np.all(arr >= 0) and not np.isnan(arr).any()
    assert_allclose(f.export_local_w + f.export_grid_w, f.export_w, atol=1e-6)
    assert_allclose(f.import_local_w + f.import_grid_w, f.deficit_w, atol=1e-6)
    assert abs(f.export_local_w.sum() - f.shared_w) <= 1e-6
    assert abs(f.import_local_w.sum() - f.shared_w) <= 1e-6
    exp, imp = f.export_w > 0, f.deficit_w > 0
    m = fl.pairwise_flows_w(f.export_w[exp], f.deficit_w[imp])
    assert np.all(m >= 0)
    assert_allclose(m.sum(axis=1), f.export_local_w[exp], atol=1e-6)
    assert_allclose(m.sum(axis=0), f.import_local_w[imp], atol=1e-6)
