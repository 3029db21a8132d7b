"""The community's model: House, Community and Grid, and the chain that turns an instant into powers.

The shape is pvlib's: pure functions do the physics (:mod:`leg_sim.profiles`,
:mod:`leg_sim.flows`); thin ``param.Parameterized`` classes hold the parameters
and all per-house state (:class:`House`, :class:`Community`, :class:`Grid`, like
pvlib's ``PVSystem`` and ``Location``); and one named chain,
:class:`CommunityChain` (like ``ModelChain``), runs the steps of one instant for
every house at once.

For the hot path the Community keeps a struct-of-arrays view of its houses
(:class:`HouseTable`), rebuilt only when a house changes, so a tick never loops
over houses in Python. Its topology (houses on the community bus, the bus on the
grid) is a networkx directed graph (:func:`community_topology`).

Default houses are drawn from the seed in blocks of 64: house *i* always gets
the same roof, household and appliances for a given seed, whatever the house
count, so growing the community live does not reshuffle existing houses.
"""

from __future__ import annotations

import dataclasses
import functools
import types
from collections.abc import Mapping
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import param

from leg_sim import catalogue
from leg_sim import flows as fl
from leg_sim.config import ConfigError, HouseSettings, Settings
from leg_sim.meters import MeterInbox
from leg_sim.profiles import appliances as appl
from leg_sim.profiles import climate, household, pv, weather
from leg_sim.settings import HOUSE_SETTINGS, house_setting, setting

_BLOCK = 64
#: Side of the square the village's houses stand in. [m]
VILLAGE_SIZE_M = 400.0
#: Names of the two shared nodes of the topology.
BUS, GRID = "Community bus", "Grid"


class House(param.Parameterized):
    """One house: a roof with (or without) PV, a household and its big appliances.

    Every key a ``houses:`` entry may give (:data:`leg_sim.settings.HOUSE_SETTINGS`)
    is a parameter of this class, added from its declaration just below the class;
    the rest (position, fridge, standby) are drawn from the seed and shape the base
    load's detail.
    """

    # Types of generated parameters that the code reads by name (for the type checker only).
    house_id: str
    appliances: list[str]
    source: str
    topic: str | None

    x_m = param.Number(default=0.0, bounds=(0.0, VILLAGE_SIZE_M), doc="Position east in the village; sets when cloud shadows arrive. [m]")
    y_m = param.Number(default=0.0, bounds=(0.0, VILLAGE_SIZE_M), doc="Position north in the village. [m]")
    fridge_power_w = param.Number(default=90.0, bounds=(0.0, 1000.0), doc="Fridge compressor power while running. [W]")
    fridge_period_s = param.Number(default=2400.0, bounds=(60.0, 24 * 3600.0), doc="Length of one compressor cycle. [s]")
    fridge_duty = param.Number(default=0.35, bounds=(0.0, 1.0), doc="Share of the cycle the compressor runs. [-]")
    fridge_phase = param.Number(default=0.0, bounds=(0.0, 1.0), doc="Offset into the compressor cycle. [-]")
    standby_w = param.Number(default=40.0, bounds=(0.0, 1000.0), doc="Floor the base load never drops below. [W]")


for _setting in HOUSE_SETTINGS:  # one parameter per declared per-house key
    House.param.add_parameter(_setting.key, _setting.parameter())


def house_value(key: str, value: Any) -> Any:
    """A per-house setting's value in the type its declaration gives (float, int, list, str)."""
    kind = house_setting(key).kind
    if kind == "number":
        return float(value)
    if kind == "integer":
        return int(value)
    if kind == "names":
        return list(value)
    if kind == "text":
        return str(value)
    return value


#: House parameters that go into the struct-of-arrays view as plain float columns.
_FLOAT_COLUMNS = (
    "pv_peak_kwp", "tilt_deg", "azimuth_deg", "annual_consumption_kwh", "household_size",
    "fridge_power_w", "fridge_period_s", "fridge_duty", "fridge_phase", "standby_w",
)


@dataclasses.dataclass(frozen=True)
class HouseTable:
    """All houses as read-only arrays, one entry per house, for the vectorised tick."""

    house_ids: tuple[str, ...]
    pv_peak_kwp: np.ndarray
    tilt_deg: np.ndarray
    azimuth_deg: np.ndarray
    annual_consumption_kwh: np.ndarray
    household_size: np.ndarray
    owned: np.ndarray  # bool, houses × appliance catalogue
    ev_rating_w: np.ndarray
    x_rel_m: np.ndarray  # east of the village centre, for the cloud shadows
    y_rel_m: np.ndarray  # north of the village centre
    fridge_power_w: np.ndarray
    fridge_period_s: np.ndarray
    fridge_duty: np.ndarray
    fridge_phase: np.ndarray
    standby_w: np.ndarray
    #: Which houses take their power from a real meter (``source: mqtt``), and each one's topic ("" for the others).
    measured: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=bool))
    topics: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.house_ids)

    @functools.cached_property
    def reach_m(self) -> float:
        """Distance of the farthest house from the village centre. [m]"""
        return float(np.hypot(self.x_rel_m, self.y_rel_m).max(initial=0.0))


def default_house_attributes(seed: int, start: int, count: int) -> dict[str, np.ndarray]:
    """A plausible mix of houses, drawn from the seed (house *i* depends only on seed and i).

    Returns arrays for houses ``start .. start+count-1``: PV size (about a fifth
    without PV), roof orientation (mostly south, some east/west, some flat),
    household size and its annual consumption, appliances, wallbox rating,
    position in the village, and fridge/standby details for the base load.
    """
    if count <= 0:
        return {k: np.empty(0) for k in _ATTRIBUTE_KEYS}
    first, last = start // _BLOCK, (start + count - 1) // _BLOCK
    blocks = [_draw_block(seed, b) for b in range(first, last + 1)]
    lo = start - first * _BLOCK
    return {k: np.concatenate([b[k] for b in blocks])[lo : lo + count] for k in blocks[0]}


_ATTRIBUTE_KEYS = (
    "pv_peak_kwp", "tilt_deg", "azimuth_deg", "household_size", "annual_consumption_kwh", "owned", "ev_charger_kw",
    "x_m", "y_m", "fridge_power_w", "fridge_period_s", "fridge_duty", "fridge_phase", "standby_w",
)


def _draw_block(seed: int, block: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([seed, block])
    n = _BLOCK
    has_pv = rng.uniform(size=n) < 0.78
    kwp = np.clip(np.round(7.5 * np.exp(rng.normal(0.0, 0.35, n)), 1), 2.0, 20.0)
    kind = rng.choice(3, size=n, p=[0.65, 0.25, 0.10])  # south-ish, east/west, flat
    azimuth = np.where(
        kind == 0,
        rng.normal(180.0, 25.0, n),
        np.where(rng.uniform(size=n) < 0.5, 90.0, 270.0) + rng.uniform(-15.0, 15.0, n),
    )
    azimuth = np.where(kind == 2, 180.0, np.clip(azimuth, 45.0, 315.0))
    tilt = np.where(kind == 2, rng.uniform(8.0, 15.0, n), np.clip(rng.normal(32.0, 7.0, n), 15.0, 50.0))
    size = rng.choice([1, 2, 3, 4, 5], size=n, p=[0.20, 0.33, 0.18, 0.20, 0.09])
    base_kwh = np.array([0, 1500, 2500, 3300, 4000, 4700])[size]
    annual = np.round(base_kwh * np.exp(rng.normal(0.0, 0.15, n)), -1)
    u = rng.uniform(size=(n, len(catalogue.CATALOGUE)))
    owned = u < np.array([a.ownership for a in catalogue.CATALOGUE])
    dishwasher = catalogue.NAMES.index("dishwasher")
    owned[:, dishwasher] &= (size > 1) | (u[:, dishwasher] < 0.55)  # singles own fewer dishwashers
    ev_kw = rng.choice(np.array(catalogue.EV_CHARGER_KW_CHOICES), size=n, p=[0.3, 0.2, 0.5])
    return {
        "pv_peak_kwp": np.where(has_pv, kwp, 0.0),
        "tilt_deg": np.round(tilt, 1),
        "azimuth_deg": np.round(azimuth, 1),
        "household_size": size,
        "annual_consumption_kwh": annual,
        "owned": owned,
        "ev_charger_kw": ev_kw,
        "x_m": rng.uniform(0.0, VILLAGE_SIZE_M, n),
        "y_m": rng.uniform(0.0, VILLAGE_SIZE_M, n),
        # A fridge-freezer of 60-110 W running 20-35 % of the time (130-340 kWh/a).
        "fridge_power_w": rng.uniform(60.0, 110.0, n),
        "fridge_period_s": rng.uniform(25.0, 60.0, n) * 60.0,
        "fridge_duty": rng.uniform(0.20, 0.35, n),
        "fridge_phase": rng.uniform(0.0, 1.0, n),
        # Always-on devices: 12-25 % of the household's mean power.
        "standby_w": rng.uniform(0.12, 0.25, n) * annual / 8.76,
    }


def house_id_for(index: int) -> str:
    """Default id of house `index` (0-based): H001, H002, ..."""
    return f"H{index + 1:03d}"


@functools.lru_cache(maxsize=4)
def community_topology(house_ids: tuple[str, ...]) -> nx.DiGraph:
    """The community as a directed graph: every house feeds the bus, the bus feeds the grid.

    Edges point the way *export* flows (house → bus → grid); a negative edge power
    means power flows against the edge. Node attribute ``kind`` is ``house``,
    ``bus`` or ``grid``; the edge order is the houses' display order, then the
    bus → grid edge. Batteries or feeders would be further nodes and edges here.
    Cached per house set: treat the graph as read-only.
    """
    graph = nx.DiGraph()
    graph.add_nodes_from(house_ids, kind="house")
    graph.add_node(BUS, kind="bus")
    graph.add_node(GRID, kind="grid")
    graph.add_edges_from((h, BUS) for h in house_ids)
    graph.add_edge(BUS, GRID)
    return graph


class HouseMeters:
    """Each house's meter at its connection to the community bus: the energy the house drew
    (import) and delivered (export) since start. [kWh]

    A house imports while its net power is negative and exports while it is positive, as a
    bidirectional smart meter at its connection counts them. The readings only ever grow: a
    house that leaves the community keeps its readings under its id and continues from them
    when it comes back, and :meth:`restore` continues after a restart. Summed over the houses,
    import is the energy shared locally plus the grid import, export the energy shared locally
    plus the grid export.
    """

    def __init__(self) -> None:
        self.house_ids: tuple[str, ...] = ()
        self.import_kwh = np.zeros(0)
        self.export_kwh = np.zeros(0)
        self._away: dict[str, tuple[float, float]] = {}

    def _align(self, house_ids: tuple[str, ...]) -> None:
        if house_ids == self.house_ids:
            return
        known = {**self._away, **self._current()}
        self.house_ids = house_ids
        self.import_kwh = np.array([known.get(h, (0.0, 0.0))[0] for h in house_ids], dtype=float)
        self.export_kwh = np.array([known.get(h, (0.0, 0.0))[1] for h in house_ids], dtype=float)
        present = set(house_ids)
        self._away = {h: v for h, v in known.items() if h not in present}

    def _current(self) -> dict[str, tuple[float, float]]:
        return {h: (float(i), float(e)) for h, i, e in zip(self.house_ids, self.import_kwh, self.export_kwh, strict=True)}

    def record(self, house_ids: tuple[str, ...], net_power_w: np.ndarray, dt_s: float) -> None:
        """Meter one tick's net power of every house over its simulated step `dt_s`. [W], [s]"""
        self._align(house_ids)
        self.import_kwh += np.maximum(-net_power_w, 0.0) * dt_s / 3.6e6
        self.export_kwh += np.maximum(net_power_w, 0.0) * dt_s / 3.6e6

    def readings(self) -> dict[str, tuple[float, float]]:
        """(import, export) of every house ever metered, by house id (a copy). [kWh]"""
        return {**self._away, **self._current()}

    def restore(self, readings: Mapping[str, tuple[float, float]]) -> None:
        """Continue from readings saved by :meth:`readings` (a restart). [kWh]"""
        self._away = {str(h): (float(v[0]), float(v[1])) for h, v in readings.items()}
        self.house_ids = ()
        self.import_kwh = np.zeros(0)
        self.export_kwh = np.zeros(0)


class Community(param.Parameterized):
    """The houses, where they are, and the struct-of-arrays view used by the tick.

    It also keeps the community's own energy accounts (production, consumption,
    power shared between houses); the exchange with the grid is on the grid's meter.
    """

    latitude_deg = setting("location.latitude_deg").parameter(constant=True)
    longitude_deg = setting("location.longitude_deg").parameter(constant=True)
    altitude_m = setting("location.altitude_m").parameter(constant=True)
    timezone = setting("location.timezone").parameter(constant=True)
    seed = setting("seed").parameter(constant=True)
    houses = param.List(default=[], item_type=House, doc="The houses, in display order.")

    def __init__(self, overrides: tuple[HouseSettings, ...] = (), **params: Any):
        super().__init__(**params)
        self._overrides = tuple(overrides)
        self._table: HouseTable | None = None
        # The accounts live in one plain dict: booking a tick must not go through param.
        self._energy_kwh = {"production_kwh": 0.0, "consumption_kwh": 0.0, "shared_kwh": 0.0}
        #: Each house's own meter (:class:`HouseMeters`).
        self.meters = HouseMeters()

    @property
    def house_count(self) -> int:
        """Number of houses."""
        return len(self.houses)

    def energy_accounts(self) -> dict[str, float]:
        """The energy booked since start, by account (a copy). [kWh]"""
        return dict(self._energy_kwh)

    def restore_energy_accounts(self, accounts: Mapping[str, float]) -> None:
        """Continue from accounts saved by :meth:`energy_accounts` (a restart). [kWh]"""
        for name in self._energy_kwh:
            self._energy_kwh[name] = float(accounts[name])

    @property
    def production_kwh(self) -> float:
        """PV energy produced since start. [kWh]"""
        return self._energy_kwh["production_kwh"]

    @property
    def consumption_kwh(self) -> float:
        """Energy consumed by the houses since start. [kWh]"""
        return self._energy_kwh["consumption_kwh"]

    @property
    def shared_kwh(self) -> float:
        """Energy passed between houses on the bus since start. [kWh]"""
        return self._energy_kwh["shared_kwh"]

    def set_house_count(self, count: int) -> None:
        """Grow or shrink to `count` houses; existing houses keep all their settings."""
        old = len(self.houses)
        if count == old:
            return
        if count < old:
            self.houses = self.houses[:count]
        else:
            attrs = default_house_attributes(self.seed, old, count - old)
            self.houses = self.houses + [self._make_house(old + j, {k: v[j] for k, v in attrs.items()}) for j in range(count - old)]
        self._table = None

    def _make_house(self, index: int, drawn: Mapping[str, Any]) -> House:
        given = (self._overrides[index] if index < len(self._overrides) else HouseSettings()).values
        drawn = {**drawn, "house_id": house_id_for(index), "appliances": [n for n, has in zip(catalogue.NAMES, drawn["owned"], strict=True) if has]}
        # A key the config gives wins; then what the seed drew for this house; a key the
        # seed does not draw takes its declared default.
        values = {
            s.key: house_value(s.key, given[s.key] if given.get(s.key) is not None else drawn.get(s.key, s.default))
            for s in HOUSE_SETTINGS
        }
        house = House(
            **values,
            **{k: float(drawn[k]) for k in ("x_m", "y_m", "fridge_power_w", "fridge_period_s", "fridge_duty", "fridge_phase", "standby_w")},
            name=f"House {index}",
        )
        house.param.watch(self._house_changed, [p for p in House.param if p != "name"])
        return house

    def _house_changed(self, *events: Any) -> None:
        self._table = None

    @param.depends("houses", watch=True)
    def _houses_changed(self) -> None:
        self._table = None

    def table(self) -> HouseTable:
        """Struct-of-arrays view of the houses; cached until a house or the list changes."""
        if self._table is None:
            self._table = self._build_table()
        return self._table

    def topology(self) -> nx.DiGraph:
        """The community's directed graph (see :func:`community_topology`)."""
        return community_topology(self.table().house_ids)

    def _build_table(self) -> HouseTable:
        hs = self.houses
        ids = tuple(h.house_id for h in hs)
        if len(set(ids)) != len(ids):
            raise ValueError("house_id values must be unique")

        def arr(name: str) -> np.ndarray:
            a = np.fromiter((getattr(h, name) for h in hs), dtype=float, count=len(hs))
            a.flags.writeable = False
            return a

        columns = {name: arr(name) for name in _FLOAT_COLUMNS}
        owned = np.array([[n in h.appliances for n in catalogue.NAMES] for h in hs], dtype=bool).reshape(len(hs), len(catalogue.NAMES))
        owned.flags.writeable = False
        ev_w = arr("ev_charger_kw") * 1000.0
        x_rel, y_rel = weather.village_positions_m(arr("x_m"), arr("y_m"), VILLAGE_SIZE_M / 2)
        x_rel.flags.writeable = False
        y_rel.flags.writeable = False
        measured = np.fromiter((h.source == "mqtt" for h in hs), dtype=bool, count=len(hs))
        measured.flags.writeable = False
        topics = tuple((h.topic or "") if h.source == "mqtt" else "" for h in hs)
        return HouseTable(house_ids=ids, owned=owned, ev_rating_w=ev_w, x_rel_m=x_rel, y_rel_m=y_rel, measured=measured, topics=topics, **columns)

    def record(self, flows: fl.Flows, dt_s: float) -> None:
        """Book one tick's production, consumption and shared power over its simulated step `dt_s`. [s]"""
        energy = self._energy_kwh
        energy["production_kwh"] += fl.energy_kwh(flows.total_production_w, dt_s)
        energy["consumption_kwh"] += fl.energy_kwh(flows.total_consumption_w, dt_s)
        energy["shared_kwh"] += fl.energy_kwh(flows.shared_w, dt_s)


class Grid(param.Parameterized):
    """The public grid behind the community's connection point, and the meter at that point.

    The grid takes whatever surplus the community bus cannot place and supplies
    whatever deficit is left (:func:`leg_sim.flows.settle` works out how much);
    its meter counts that exchange in kWh, as the network operator's meter at the
    connection point would. The readings only ever grow.

    Seam for price signals (:class:`leg_sim.seams.PriceSignal`): a tariff or
    dynamic price for import and export (EUR/kWh) would be read here and by an
    optimisation layer. Nothing in the simulation uses prices today.
    """

    def __init__(self, **params: Any):
        super().__init__(**params)
        self._meter_kwh = {"import": 0.0, "export": 0.0}

    @property
    def import_kwh(self) -> float:
        """Energy drawn from the grid since start. [kWh]"""
        return self._meter_kwh["import"]

    @property
    def export_kwh(self) -> float:
        """Energy fed into the grid since start. [kWh]"""
        return self._meter_kwh["export"]

    def meter_readings(self) -> dict[str, float]:
        """Import and export metered since start (a copy). [kWh]"""
        return dict(self._meter_kwh)

    def restore_meter_readings(self, readings: Mapping[str, float]) -> None:
        """Continue from readings saved by :meth:`meter_readings` (a restart). [kWh]"""
        for name in self._meter_kwh:
            self._meter_kwh[name] = float(readings[name])

    def record(self, flows: fl.Flows, dt_s: float) -> None:
        """Meter one tick's exchange over its simulated step `dt_s`. [s]"""
        meter = self._meter_kwh
        meter["import"] += fl.energy_kwh(flows.grid_import_w, dt_s)
        meter["export"] += fl.energy_kwh(flows.grid_export_w, dt_s)


def set_constant(obj: param.Parameterized, name: str, value: Any) -> None:
    """Set one constant parameter of `obj` from the inside, watchers included.

    Cheaper than ``param.edit_constant``, which unlocks every parameter of the
    object; this unlocks only `name`, and only on this instance.
    """
    parameter = obj.param[name]
    parameter.constant = False
    try:
        setattr(obj, name, value)
    finally:
        parameter.constant = True


#: Largest distance between the TMY file's place and the community's location. [deg]
TMY_MAX_OFFSET_DEG = 1.0


def weather_source(settings: Settings) -> climate.TmyWeather | None:
    """The TMY year that ``weather.tmy_file`` names, or None for the built-in climate.

    Raises
    ------
    ConfigError
        In one line, when the file cannot be read as a TMY or lies more than
        :data:`TMY_MAX_OFFSET_DEG` from the configured location.
    """
    path = settings["weather.tmy_file"]
    if not path:
        return None
    try:
        tmy = climate.read_tmy_cached(path)
    except climate.TmyError as exc:
        raise ConfigError(f"{settings.source}: {exc}") from None
    lat, lon = settings["location.latitude_deg"], settings["location.longitude_deg"]
    if abs(tmy.latitude_deg - lat) > TMY_MAX_OFFSET_DEG or abs(tmy.longitude_deg - lon) > TMY_MAX_OFFSET_DEG:
        raise ConfigError(
            f"{settings.source}: weather.tmy_file is for {tmy.latitude_deg:.2f}° N {tmy.longitude_deg:.2f}° E but the location is "
            f"{lat:.2f}° N {lon:.2f}° E; allowed: a file within {TMY_MAX_OFFSET_DEG:g}° of location.latitude_deg/longitude_deg"
        )
    return tmy


@dataclasses.dataclass(frozen=True)
class Instant:
    """What the chain computed for one simulated instant: weather, per-house powers, flows, energy."""

    time: pd.Timestamp
    dt_s: float
    sun_elevation_deg: float
    cloudiness: float  # share of the clear-sky light the hour's clouds take away [-]
    temp_air_c: float
    house_ids: tuple[str, ...]
    pv_power_w: np.ndarray
    base_load_w: np.ndarray
    flex_load_w: np.ndarray
    flex_code: np.ndarray
    flows: fl.Flows
    energy_kwh: Mapping[str, float]
    #: Each house's meter readings after this instant (:class:`HouseMeters`). [kWh]
    meter_import_kwh: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    meter_export_kwh: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    #: Which houses are measured, the age of their latest message (NaN: none, or simulated) [s],
    #: and which of them are stale (counted as 0 W).
    measured: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=bool))
    data_age_s: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    stale: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=bool))


def apply_meter_readings(
    pv_w: np.ndarray, load_w: np.ndarray, index: np.ndarray, net_power_w: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Production and consumption with the houses at `index` replaced by what their meters say (pure).

    A meter sees only its connection: the power it delivers (net > 0) is that house's
    production, the power it draws its consumption; what happens behind it (its own PV
    used at home) is not seen. Σ production − Σ consumption then equals Σ net power,
    so the community's balance holds with measured houses in it. [W]
    """
    pv_w = np.array(pv_w, dtype=float)
    load_w = np.array(load_w, dtype=float)
    pv_w[index] = np.maximum(net_power_w, 0.0)
    load_w[index] = np.maximum(-net_power_w, 0.0)
    return pv_w, load_w


class CommunityChain:
    """Turns a simulated instant into per-house powers for the whole community (pvlib's ModelChain shape).

    The steps of :meth:`run`, each a pure function of :mod:`leg_sim.profiles` or
    :mod:`leg_sim.flows`, all vectorised over houses:

    1. sky: solar position and Ineichen clear sky for the village (``pv.sky_at``);
    2. weather: the hour's clear-sky index and temperature (``climate.HourlyWeather``:
       built-in climate or a TMY file), downscaled to every roof by finite drifting
       clouds (``weather.CloudField``, ``weather.sky_factors``);
    3. PV: transposition to every roof, then AC power (``pv.plane_of_array_w_m2``,
       ``pv.pv_ac_power_w``);
    4. base load: H25 shape, small-appliance spikes, fridge cycle, noise, standby
       (``household.BaseLoadDetail``);
    5. flex load: appliance cycles started on a daily rhythm (``appliances.FlexProcess``);
    6. measured houses (``source: mqtt``): their production and consumption are what
       their meters say (:attr:`inbox`, :func:`apply_meter_readings`);
    7. flows: pool on the community bus, settle with the grid (``flows.settle``),
       and book the energy of the simulated step on the community's accounts and
       the grid's meter.

    The chain owns the random state (cloud field, appliance process, load noise),
    all drawn from the community's seed, so the same seed and the same sequence of
    instants give the same powers.

    Parameters
    ----------
    community
        The houses and the location.
    grid
        The grid at the connection point, whose meter records the exchange.
    tmy
        A typical year to replay (``weather.tmy_file``); None uses the built-in climate.
    """

    def __init__(self, community: Community, grid: Grid, tmy: climate.TmyWeather | None = None):
        self.community = community
        self.grid = grid
        self._seed = seed = int(community.seed)
        self._timezone = str(community.timezone)
        self._weather = climate.HourlyWeather(seed, self._timezone, tmy=tmy)
        self._clouds = weather.CloudField(seed, self._weather.at, self._diffuse_share_at)
        self._flex = appl.FlexProcess(seed, self._timezone)
        self._base = household.BaseLoadDetail(seed, self._timezone)
        self._base_annual_kwh = np.empty(0)
        #: Factor on each house's white-goods starts (1 unless its annual consumption has no room
        #: for them at the flex probability; see household.appliance_room). [-]
        self.appliance_scale = np.empty(0)
        self._table: HouseTable | None = None
        self._flex_probability: float | None = None
        # The location is constant: read it once, not through param on every tick.
        self._site = (community.latitude_deg, community.longitude_deg, community.altitude_m)
        self._linke = pv.monthly_linke_turbidity(community.latitude_deg, community.longitude_deg)
        #: Where the measured houses' messages arrive (the MQTT link fills it; the engine sets its staleness).
        self.inbox = MeterInbox(float(setting("mqtt.stale_after_s").default))

    def _sky(self, time: pd.Timestamp) -> pv.Sky:
        return pv.sky_at(time, *self._site, self._linke[time.month - 1])

    def _diffuse_share_at(self, t_s: float) -> float:
        """Clear-sky DHI / GHI at `t_s` (1 while the sun is down). [-]"""
        sky = self._sky(pd.Timestamp(t_s, unit="s", tz="UTC"))
        return sky.dhi_w_m2 / sky.ghi_w_m2 if sky.ghi_w_m2 > 1.0 else 1.0

    def _light(self, sky: pv.Sky, t_s: float, table: HouseTable, hour: climate.HourWeather) -> tuple[np.ndarray | float, np.ndarray | float]:
        """Beam and diffuse factors of every roof under the hour's sky (see :mod:`~leg_sim.profiles.weather`)."""
        if not sky.is_day:
            return 1.0, 1.0
        if hour.deck:
            diffuse_ghi = hour.clear_sky_index * (1.0 + weather.deck_variation(self._seed, t_s)) * sky.ghi_w_m2
            return 0.0, diffuse_ghi / max(sky.dhi_w_m2, 1e-6)
        clouds = self._clouds.clouds_near(t_s, table.reach_m)
        return weather.sky_factors(
            t_s, table.x_rel_m, table.y_rel_m, clouds, sky.dhi_w_m2 / max(sky.ghi_w_m2, 1e-6), self._clouds.beam_expectation(t_s)
        )

    def _prepare(self, t_s: float, flex_load_probability: float) -> HouseTable:
        """Bring the random state in line with the houses and the flex probability."""
        table = self.community.table()
        if table is not self._table or flex_load_probability != self._flex_probability:
            # The H25 shape already holds the white goods: the simulated ones come out of it.
            appliance_kwh = appl.expected_annual_kwh(table.owned, flex_load_probability, table.ev_rating_w)
            appliance_kwh[:, catalogue.EV_CODE] = 0.0  # an EV is not in a household profile
            scale, base_annual_kwh = household.appliance_room(
                table.annual_consumption_kwh, appliance_kwh.sum(axis=1), table.standby_w, table.fridge_power_w * table.fridge_duty
            )
            self._flex.configure(table.owned, flex_load_probability, table.ev_rating_w, scale)
            self.appliance_scale = scale
            if table is not self._table or not np.array_equal(base_annual_kwh, self._base_annual_kwh):
                self._base.configure(len(table), table.household_size, base_annual_kwh)
            self._base_annual_kwh = base_annual_kwh
            self._table, self._flex_probability = table, flex_load_probability
        return table

    def run(self, time: pd.Timestamp, dt_s: float, *, pv_variation: bool = True, flex_load_probability: float = 0.1) -> Instant:
        """Compute one instant for every house and book its energy.

        Parameters
        ----------
        time
            Simulated instant, time-zone aware.
        dt_s
            Simulated time since the previous instant; energy is booked over this
            step only (0 books nothing). [s]
        pv_variation
            Weather from the climate with drifting clouds (True) or a clear sky (False).
        flex_load_probability
            Long-run share of time a house with big appliances has one running. [-]
        """
        comm, grid = self.community, self.grid
        t_s = time.timestamp()
        # Seam (leg_sim.seams.ControlSignal): commands for houses would be applied here,
        # before the appliance process advances.
        table = self._prepare(t_s, float(flex_load_probability))

        sky = self._sky(time)
        day = self._weather.at(t_s)
        hour = day.hour(t_s)
        temp_air_c = day.temperature_c(t_s)
        beam: np.ndarray | float
        diffuse: np.ndarray | float
        if pv_variation:
            beam, diffuse = self._light(sky, t_s, table, hour)
            cloudiness = min(max(1.0 - hour.clear_sky_index, 0.0), 1.0)
        else:
            beam, diffuse, cloudiness = 1.0, 1.0, 0.0
        local = time.tz_convert(self._timezone)
        poa = pv.plane_of_array_w_m2(table.tilt_deg, table.azimuth_deg, sky, beam, diffuse)
        pv_w = pv.pv_ac_power_w(poa, table.pv_peak_kwp, temp_air_c, hour.wind_10m_m_s)

        base_w = self._base.base_load_w(
            t_s,
            household.h25_w_per_kwh(local, self._timezone),
            table.fridge_power_w,
            table.fridge_duty,
            household.fridge_on(t_s, table.fridge_period_s, table.fridge_duty, table.fridge_phase),
            table.standby_w,
        )
        flex_w, codes = self._flex.power_w(t_s)

        measured, age_s, stale = table.measured, np.full(len(table), np.nan), np.zeros(len(table), dtype=bool)
        if measured.any():
            index = np.flatnonzero(measured)
            topics = [table.topics[i] for i in index]
            readings = self.inbox.readings(topics)
            pv_w, base_w = apply_meter_readings(pv_w, base_w, index, readings.net_power_w)
            flex_w, codes = np.array(flex_w, dtype=float), np.array(codes)
            flex_w[index], codes[index] = 0.0, -1
            age_s[index], stale[index] = readings.age_s, readings.stale

        # Seam (leg_sim.seams.Storage): batteries would change each house's net power here.
        flows = fl.settle(pv_w, base_w + flex_w)
        comm.record(flows, dt_s)
        comm.meters.record(table.house_ids, flows.net_power_w, dt_s)
        grid.record(flows, dt_s)
        # Seam (leg_sim.seams.Optimiser / PriceSignal): an optimiser would read this instant
        # (and the grid's prices) and return control signals for the next one.
        return Instant(
            time=time,
            dt_s=dt_s,
            sun_elevation_deg=90.0 - sky.apparent_zenith_deg,
            cloudiness=float(cloudiness),
            temp_air_c=temp_air_c,
            house_ids=table.house_ids,
            pv_power_w=pv_w,
            base_load_w=base_w,
            flex_load_w=flex_w,
            flex_code=codes,
            flows=flows,
            energy_kwh=types.MappingProxyType(
                {
                    "production_kwh": comm.production_kwh,
                    "consumption_kwh": comm.consumption_kwh,
                    "grid_import_kwh": grid.import_kwh,
                    "grid_export_kwh": grid.export_kwh,
                    "shared_kwh": comm.shared_kwh,
                }
            ),
            meter_import_kwh=comm.meters.import_kwh.copy(),
            meter_export_kwh=comm.meters.export_kwh.copy(),
            measured=measured,
            data_age_s=age_s,
            stale=stale,
        )
