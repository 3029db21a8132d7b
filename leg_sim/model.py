"""The community's parts as `param.Parameterized` classes: House, Community, Grid.

These hold parameters (with docs, bounds and units) and delegate the physics to
leg_sim.profiles and leg_sim.flows. For the hot path the Community keeps a
struct-of-arrays view of its houses (:class:`HouseTable`), rebuilt only when a
house changes, so a tick never loops over houses in Python.

Default houses are drawn from the seed in blocks of 64: house *i* always gets
the same roof, household and appliances for a given seed, whatever the house
count, so growing the community live does not reshuffle existing houses.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import param

from leg_sim.config import APPLIANCE_NAMES, EV_CHARGER_KW_CHOICES, HouseSettings
from leg_sim.profiles import appliances as appl
from leg_sim.profiles.weather import shadow_offsets_s

_BLOCK = 64
#: Side of the square the village's houses stand in. [m]
VILLAGE_SIZE_M = 400.0


class House(param.Parameterized):
    """One house: a roof with (or without) PV, a household and its big appliances."""

    house_id = param.String(default="H001", doc="Unique id shown in the dashboard and the JSON.")
    pv_peak_kwp = param.Number(
        default=7.0, bounds=(0.0, 100.0), label="PV peak power (kWp)", doc="Installed PV DC power at STC; 0 = no PV. [kWp]"
    )
    tilt_deg = param.Number(default=30.0, bounds=(0.0, 90.0), label="Roof tilt (deg)", doc="Roof tilt from horizontal. [deg]")
    azimuth_deg = param.Number(
        default=180.0, bounds=(0.0, 360.0), label="Roof azimuth (deg)", doc="Direction the roof faces; 90 = east, 180 = south. [deg]"
    )
    annual_consumption_kwh = param.Number(
        default=3500.0,
        bounds=(100.0, 50_000.0),
        label="Annual base consumption (kWh/a)",
        doc="Energy of the household base load (H25 profile) per year, without the big appliances. [kWh/a]",
    )
    household_size = param.Integer(default=3, bounds=(1, 10), label="Household size (persons)", doc="People living in the house. [persons]")
    appliances = param.ListSelector(
        default=["washing_machine"], objects=list(APPLIANCE_NAMES), doc="Big appliances the house owns."
    )
    ev_charger_kw = param.Selector(
        default=11.0, objects=list(EV_CHARGER_KW_CHOICES), label="Wallbox rating (kW)", doc="Charging power of the EV wallbox, if any. [kW]"
    )
    x_m = param.Number(default=0.0, bounds=(0.0, VILLAGE_SIZE_M), doc="Position east in the village; sets when cloud shadows arrive. [m]")
    y_m = param.Number(default=0.0, bounds=(0.0, VILLAGE_SIZE_M), doc="Position north in the village. [m]")


@dataclasses.dataclass(frozen=True)
class HouseTable:
    """All houses as read-only arrays, one entry per house, for the vectorised tick."""

    house_ids: tuple[str, ...]
    pv_peak_kwp: np.ndarray
    tilt_deg: np.ndarray
    azimuth_deg: np.ndarray
    annual_consumption_kwh: np.ndarray
    owned: np.ndarray  # bool, houses × appliance catalogue
    ev_rating_w: np.ndarray
    shadow_offset_s: np.ndarray
    fridge_power_w: np.ndarray
    fridge_period_s: np.ndarray
    fridge_duty: np.ndarray
    fridge_phase: np.ndarray
    standby_w: np.ndarray

    def __len__(self) -> int:
        return len(self.house_ids)


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
    "pv_peak_kwp tilt_deg azimuth_deg household_size annual_consumption_kwh owned ev_charger_kw "
    "x_m y_m fridge_power_w fridge_period_s fridge_duty fridge_phase standby_w"
).split()


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
    u = rng.uniform(size=(n, len(appl.CATALOGUE)))
    owns_p = np.array([0.75, 0.95, 0.35, 0.85, 0.30])
    owned = u < owns_p
    owned[:, appl.NAMES.index("dishwasher")] &= (size > 1) | (u[:, 0] < 0.55)
    ev_kw = rng.choice(np.array(EV_CHARGER_KW_CHOICES), size=n, p=[0.3, 0.2, 0.5])
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
        "fridge_power_w": rng.uniform(60.0, 130.0, n),
        "fridge_period_s": rng.uniform(25.0, 60.0, n) * 60.0,
        "fridge_duty": rng.uniform(0.25, 0.5, n),
        "fridge_phase": rng.uniform(0.0, 1.0, n),
        "standby_w": rng.uniform(20.0, 60.0, n),
    }


def house_id_for(index: int) -> str:
    """Default id of house `index` (0-based): H001, H002, ..."""
    return f"H{index + 1:03d}"


class Community(param.Parameterized):
    """The houses, where they are, and the struct-of-arrays view used by the tick."""

    latitude_deg = param.Number(default=47.38, bounds=(-90.0, 90.0), constant=True, label="Latitude (deg)", doc="[deg]")
    longitude_deg = param.Number(default=8.54, bounds=(-180.0, 180.0), constant=True, label="Longitude (deg)", doc="[deg]")
    altitude_m = param.Number(default=410.0, bounds=(-500.0, 9000.0), constant=True, label="Altitude (m)", doc="Above sea level. [m]")
    timezone = param.String(default="Europe/Zurich", constant=True, doc="IANA time zone of the community's clocks.")
    seed = param.Integer(default=42, bounds=(0, 2**32 - 1), constant=True, doc="Seed for the default houses.")
    houses = param.List(default=[], item_type=House, doc="The houses, in display order.")

    def __init__(self, overrides: tuple[HouseSettings, ...] = (), **params):
        super().__init__(**params)
        self._overrides = tuple(overrides)
        self._extra: dict[str, np.ndarray] = {}
        self._table: HouseTable | None = None

    @property
    def house_count(self) -> int:
        """Number of houses."""
        return len(self.houses)

    def set_house_count(self, count: int) -> None:
        """Grow or shrink to `count` houses; existing houses keep all their settings."""
        old = len(self.houses)
        if count == old:
            return
        if count < old:
            self.houses = self.houses[:count]
            self._extra = {k: v[:count] for k, v in self._extra.items()}
        else:
            attrs = default_house_attributes(self.seed, old, count - old)
            new = [self._make_house(old + j, {k: v[j] for k, v in attrs.items()}) for j in range(count - old)]
            self.houses = self.houses + new
            extra_keys = ("fridge_power_w", "fridge_period_s", "fridge_duty", "fridge_phase", "standby_w")
            self._extra = {k: np.concatenate([self._extra.get(k, np.empty(0))[:old], attrs[k]]) for k in extra_keys}
        self._table = None

    def _make_house(self, index: int, drawn: dict) -> House:
        o = self._overrides[index] if index < len(self._overrides) else HouseSettings()
        owned = [name for name, has in zip(appl.NAMES, drawn["owned"]) if has]

        def pick(name, default):
            value = getattr(o, name)
            return default if value is None else value

        house = House(
            house_id=pick("house_id", house_id_for(index)),
            pv_peak_kwp=float(pick("pv_peak_kwp", drawn["pv_peak_kwp"])),
            tilt_deg=float(pick("tilt_deg", drawn["tilt_deg"])),
            azimuth_deg=float(pick("azimuth_deg", drawn["azimuth_deg"])),
            annual_consumption_kwh=float(pick("annual_consumption_kwh", drawn["annual_consumption_kwh"])),
            household_size=int(pick("household_size", drawn["household_size"])),
            appliances=list(pick("appliances", owned)),
            ev_charger_kw=float(pick("ev_charger_kw", drawn["ev_charger_kw"])),
            x_m=float(drawn["x_m"]),
            y_m=float(drawn["y_m"]),
            name=f"House {index}",
        )
        house.param.watch(self._house_changed, [p for p in House.param if p != "name"])
        return house

    def _house_changed(self, *events) -> None:
        self._table = None

    @param.depends("houses", watch=True)
    def _houses_changed(self) -> None:
        self._table = None

    def table(self) -> HouseTable:
        """Struct-of-arrays view of the houses; cached until a house or the list changes."""
        if self._table is None:
            self._table = self._build_table()
        return self._table

    def _build_table(self) -> HouseTable:
        hs = self.houses
        ids = tuple(h.house_id for h in hs)
        if len(set(ids)) != len(ids):
            raise ValueError("house_id values must be unique")

        def arr(name, dtype=float):
            a = np.fromiter((getattr(h, name) for h in hs), dtype=dtype, count=len(hs))
            a.flags.writeable = False
            return a

        owned = np.array([[n in h.appliances for n in appl.NAMES] for h in hs], dtype=bool).reshape(len(hs), len(appl.NAMES))
        owned.flags.writeable = False
        ev_w = arr("ev_charger_kw") * 1000.0
        offsets = shadow_offsets_s(arr("x_m"), arr("y_m"))
        extra = {}
        for k, v in self._extra.items():
            v = v[: len(hs)].copy()
            v.flags.writeable = False
            extra[k] = v
        return HouseTable(
            house_ids=ids,
            pv_peak_kwp=arr("pv_peak_kwp"),
            tilt_deg=arr("tilt_deg"),
            azimuth_deg=arr("azimuth_deg"),
            annual_consumption_kwh=arr("annual_consumption_kwh"),
            owned=owned,
            ev_rating_w=ev_w,
            shadow_offset_s=offsets,
            **extra,
        )


class Grid(param.Parameterized):
    """The external grid behind the community's connection point.

    It takes whatever surplus the community bus cannot place and supplies
    whatever deficit is left; the numbers come from leg_sim.flows.settle.

    Seam for price signals: a tariff or dynamic price (EUR/kWh for import and
    export) would be a parameter here, read by an optimisation layer. Nothing
    in the simulation uses prices today; see leg_sim.seams.PriceSignal.
    """

    name_label = param.String(default="Grid", doc="Name shown for the grid node.")
