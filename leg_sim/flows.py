"""Power flows of one instant: net power, pooling on the community bus, grid exchange, KPIs.

Pure functions, numpy in and numpy out. Sign convention: every returned power
is ≥ 0 and its direction is in its name (`export`, `import`, `local`, `grid`).

Descriptive sharing uses the dynamic pro-rata key: with e_i the export of house
i, d_j the deficit of house j, E = Σe and I = Σd,

    flow i→j = e_i · d_j / max(E, I)

so each exporter's surplus is spread over the importers in proportion to their
deficit. Summed, that gives the four per-house numbers computed every tick
(export used locally / sent to grid, deficit covered locally / drawn from grid).
The exporters × importers matrix itself is only built on demand
(:func:`pairwise_flows_w`), never per tick.
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Flows:
    """Per-house and community flows of one instant. All powers ≥ 0 unless named `net`. [W]"""

    net_power_w: np.ndarray
    export_w: np.ndarray
    deficit_w: np.ndarray
    export_local_w: np.ndarray
    export_grid_w: np.ndarray
    import_local_w: np.ndarray
    import_grid_w: np.ndarray
    total_production_w: float
    total_consumption_w: float
    net_community_power_w: float
    shared_w: float
    grid_import_w: float
    grid_export_w: float


def settle(production_w: np.ndarray, consumption_w: np.ndarray) -> Flows:
    """Pool all houses on the community bus and settle the rest with the grid.

    Parameters
    ----------
    production_w
        PV power of each house, ≥ 0. [W]
    consumption_w
        Total load of each house (base + flex), ≥ 0. [W]

    Returns
    -------
    Flows
        Σ production − Σ consumption = grid export − grid import, and at most
        one of import and export is non-zero.
    """
    production_w = np.asarray(production_w, dtype=float)
    consumption_w = np.asarray(consumption_w, dtype=float)
    net = production_w - consumption_w
    export = np.maximum(net, 0.0)
    deficit = np.maximum(-net, 0.0)
    total_export = float(export.sum())
    total_deficit = float(deficit.sum())
    pool = max(total_export, total_deficit)
    shared = min(total_export, total_deficit)
    export_share = total_deficit / pool if pool > 0 else 0.0  # of each export, used locally
    import_share = total_export / pool if pool > 0 else 0.0  # of each deficit, covered locally
    export_local = export * export_share
    import_local = deficit * import_share
    return Flows(
        net_power_w=net,
        export_w=export,
        deficit_w=deficit,
        export_local_w=export_local,
        export_grid_w=export - export_local,
        import_local_w=import_local,
        import_grid_w=deficit - import_local,
        total_production_w=float(production_w.sum()),
        total_consumption_w=float(consumption_w.sum()),
        net_community_power_w=total_export - total_deficit,
        shared_w=shared,
        grid_import_w=total_deficit - shared,
        grid_export_w=total_export - shared,
    )


def pairwise_flows_w(export_w: np.ndarray, deficit_w: np.ndarray) -> np.ndarray:
    """Who supplies whom: matrix of flows from every exporter to every importer.

    Parameters
    ----------
    export_w
        Export of each exporting house, ≥ 0. [W]
    deficit_w
        Deficit of each importing house, ≥ 0. [W]

    Returns
    -------
    numpy.ndarray
        Shape (len(export_w), len(deficit_w)); row sums are the local part of each
        export, column sums the local part of each deficit. [W]
    """
    export_w = np.asarray(export_w, dtype=float)
    deficit_w = np.asarray(deficit_w, dtype=float)
    pool = max(float(export_w.sum()), float(deficit_w.sum()))
    if pool <= 0:
        return np.zeros((len(export_w), len(deficit_w)))
    return np.outer(export_w, deficit_w) / pool


def self_sufficiency(grid_import_w: float, consumption_w: float) -> float | None:
    """Share of consumption not drawn from the grid, 1 − import/consumption; None without consumption. [-]"""
    return None if consumption_w <= 0 else 1.0 - grid_import_w / consumption_w


def self_consumption(grid_export_w: float, production_w: float) -> float | None:
    """Share of production used inside the community, 1 − export/production; None without production. [-]"""
    return None if production_w <= 0 else 1.0 - grid_export_w / production_w


def energy_kwh(power_w: float, duration_s: float) -> float:
    """Energy of a constant power over a duration. [kWh]"""
    return power_w * duration_s / 3.6e6
