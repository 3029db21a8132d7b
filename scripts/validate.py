"""Validation report: a simulated year and chosen days against published references.

``make validate`` runs this script. It is bounded (a few minutes on 2 cores, every
loop has a fixed length), writes ``docs/validation/README.md`` with one PNG per
check, prints one PASS/FAIL line per check and exits non-zero if any check fails.

Checks (references in each section of the report):

1. PV yield of a 10 kWp roof, 30° south, at Basel: monthly and yearly, against PVGIS.
2. Daily energy as a share of clear-sky energy: overcast days exist, days persist.
3. One broken-cloud day at 1 s: cloud enhancement and 1-min ramp rates.
4. Spatial smoothing of the default village at 1 min against pvlib's wavelet
   variability model (Lave, Kleissl & Stein 2013).
5. The community's load shape against BDEW H25.
6. Start hours of the big appliances against their source curves.
7. Yearly energy of each house against its annual_consumption_kwh.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import pathlib
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pvlib

from leg_sim import Simulation
from leg_sim.profiles import appliances, climate, household, pv, rhythm, weather

OUT = pathlib.Path(__file__).resolve().parent.parent / "docs" / "validation"
TZ = "Europe/Zurich"
BASEL = {"latitude_deg": 47.56, "longitude_deg": 7.59, "altitude_m": 260.0, "timezone": TZ}
YEAR = 2026

#: PVGIS (EU JRC, PVGIS-SARAH2) for 10 kWp, 30° south, 14 % loss at Basel: a year of
#: about 1,050-1,100 kWh/kWp, June about 140, December about 30.
PVGIS_YEAR_KWH_PER_KWP = (1050.0, 1100.0)
PVGIS_JUNE_KWH_PER_KWP = 140.0
PVGIS_DECEMBER_KWH_PER_KWP = 30.0
#: Our chain loses more than PVGIS's 14 % (PVWatts' 14.08 % before the inverter, then the
#: inverter's 4 %), so the yearly band is widened by 5 % downwards and upwards.
YEAR_TOLERANCE = 0.05
MONTH_TOLERANCE = {"June": 0.15, "December": 0.35}


@dataclasses.dataclass
class Check:
    """One line of the report: a name, the figure, the target and whether it holds."""

    name: str
    figure: str
    target: str
    passed: bool


CHECKS: list[Check] = []
SECTIONS: list[str] = []


def check(name: str, figure: str, target: str, passed: bool) -> None:
    CHECKS.append(Check(name, figure, target, bool(passed)))
    print(f"{'PASS' if passed else 'FAIL'}  {name}: {figure} (target {target})", flush=True)


def save(fig: plt.Figure, name: str) -> str:
    fig.tight_layout()
    fig.savefig(OUT / name, dpi=90)
    plt.close(fig)
    return name


# --------------------------------------------------------------------------- 1 + 2: a year of PV


def built(config: dict) -> Simulation:
    """A simulation with its houses in place (the engine adds them on its first tick)."""
    sim = Simulation.from_config(config)
    sim.community.set_house_count(sim.house_count)
    return sim


def year_of_pv(seeds: tuple[int, ...], step_s: float) -> tuple[np.ndarray, pd.DataFrame]:
    """Monthly yield [kWh/kWp] per seed, and daily energy against clear sky."""
    monthly = np.zeros((len(seeds), 12))
    daily = []
    for i, seed in enumerate(seeds):
        sim = built(
            {"houses": [{"house_id": "Roof", "pv_peak_kwp": 10.0, "tilt_deg": 30.0, "azimuth_deg": 180.0, "appliances": []}],
             "seed": seed, "location": BASEL, "flex_load_probability": 0.0}
        )
        chain = sim.chain
        start = pd.Timestamp(f"{YEAR}-01-01", tz=TZ)
        end = pd.Timestamp(f"{YEAR + 1}-01-01", tz=TZ)
        times = pd.date_range(start + pd.Timedelta(seconds=step_s / 2), end, freq=f"{int(step_s)}s", inclusive="left")
        energy = np.zeros(len(times))
        clear = np.zeros(len(times))
        table = sim.community.table()
        for j, t in enumerate(times):
            sky = chain._sky(t)
            if not sky.is_day:
                continue
            energy[j] = chain.run(t, step_s, pv_variation=True, flex_load_probability=0.0).pv_power_w[0] * step_s / 3.6e6
            if i == 0:
                day = chain._weather.at(t.timestamp())
                poa = pv.plane_of_array_w_m2(table.tilt_deg, table.azimuth_deg, sky)
                clear[j] = pv.pv_ac_power_w(poa, table.pv_peak_kwp, day.temperature_c(t.timestamp()))[0] * step_s / 3.6e6
        frame = pd.DataFrame({"energy": energy}, index=times)
        monthly[i] = frame["energy"].groupby(frame.index.month).sum().to_numpy() / 10.0
        if i == 0:
            clear_daily = pd.Series(clear, index=times).groupby(times.date).sum()
        daily.append(frame["energy"].groupby(times.date).sum().rename(f"seed {seed}"))
    days = pd.concat(daily, axis=1)
    days["clear"] = clear_daily
    return monthly, days


def section_yield(seeds: tuple[int, ...], step_s: float) -> pd.DataFrame:
    monthly, days = year_of_pv(seeds, step_s)
    mean = monthly.mean(axis=0)
    year = monthly.sum(axis=1)
    lo, hi = PVGIS_YEAR_KWH_PER_KWP
    check("Yearly yield, Basel 30° south (mean of seeds)", f"{year.mean():,.0f} kWh/kWp (seeds {', '.join(f'{y:,.0f}' for y in year)})",
          f"PVGIS {lo:,.0f}-{hi:,.0f} ± {YEAR_TOLERANCE:.0%}", lo * (1 - YEAR_TOLERANCE) <= year.mean() <= hi * (1 + YEAR_TOLERANCE))
    for month, ref in (("June", PVGIS_JUNE_KWH_PER_KWP), ("December", PVGIS_DECEMBER_KWH_PER_KWP)):
        value = mean[5 if month == "June" else 11]
        tol = MONTH_TOLERANCE[month]
        check(f"{month} yield", f"{value:.0f} kWh/kWp", f"PVGIS about {ref:.0f} ± {tol:.0%}", abs(value - ref) <= tol * ref)
    fig, ax = plt.subplots(figsize=(8, 3.5))
    months = np.arange(1, 13)
    ax.bar(months, mean, color="#f2b134", label="simulated, mean of seeds")
    ax.errorbar(months, mean, yerr=[mean - monthly.min(axis=0), monthly.max(axis=0) - mean], fmt="none", ecolor="#555", label="seed range")
    ax.plot([6, 12], [PVGIS_JUNE_KWH_PER_KWP, PVGIS_DECEMBER_KWH_PER_KWP], "kD", label="PVGIS (June, December)")
    ax.set_xticks(months)
    ax.set_ylabel("kWh per kWp")
    ax.set_title("Monthly PV yield, 10 kWp 30° south at Basel")
    ax.legend(fontsize=8)
    png = save(fig, "monthly_yield.png")
    rows = "\n".join(
        f"| {dt.date(YEAR, m, 1):%b} | {mean[m - 1]:.0f} | {monthly[:, m - 1].min():.0f}-{monthly[:, m - 1].max():.0f} |" for m in months
    )
    SECTIONS.append(
        "## 1. PV yield against PVGIS\n\n"
        f"A 10 kWp roof, 30° south at Basel (47.56° N, 7.59° E, 260 m), built-in climate, seeds {', '.join(map(str, seeds))}, "
        f"{YEAR}, one tick every {step_s / 60:.0f} simulated minutes through `CommunityChain.run`. Reference: PVGIS "
        "(EU JRC, PVGIS-SARAH2, 14 % system loss) for this roof: about 1,050-1,100 kWh/kWp a year, June about 140, "
        "December about 30. Our chain's losses are PVWatts' 14.08 % plus the inverter's 4 %, a few per cent more than PVGIS's "
        "14 % in total, so the yearly band gets ±5 %. The clear-sky index levels of the climate's day types are set so that "
        "the yearly figure lands in this band, so the yearly check confirms that setting; the monthly split (June, "
        "December) follows from the climate's sunshine and fog statistics.\n\n"
        f"![monthly yield]({png})\n\n| month | kWh/kWp (mean) | range over seeds |\n|---|---|---|\n{rows}\n"
        f"| year | {year.mean():,.0f} | {year.min():,.0f}-{year.max():,.0f} |\n"
    )
    return days


def section_daily(days: pd.DataFrame) -> None:
    ratios = days.drop(columns="clear").div(days["clear"], axis=0)
    ratios = ratios[days["clear"] > 0]
    winter = ratios[[d.month in (11, 12, 1, 2) for d in ratios.index]]
    values = ratios.to_numpy().ravel()
    overcast_winter = float(np.mean(winter.to_numpy() < 0.3))
    lag1 = float(np.mean([np.corrcoef(ratios[c].to_numpy()[:-1], ratios[c].to_numpy()[1:])[0, 1] for c in ratios.columns]))
    low_months = sorted({d.month for d in ratios.index[(ratios < 0.5).any(axis=1)]})
    check("Overcast winter days (daily energy < 30 % of clear sky)", f"{overcast_winter:.0%} of Nov-Feb days", "≥ 20 %", overcast_winter >= 0.2)
    check("Day-to-day persistence (lag-1 correlation of the daily ratio)", f"{lag1:.2f}", "0.2-0.7 (measured 0.3-0.4)", 0.2 <= lag1 <= 0.7)
    check("Every month has days below half of clear sky", f"{len(low_months)} months", "12", len(low_months) == 12)
    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.hist(values, bins=np.linspace(0, 1.1, 45), color="#4c78a8")
    ax.set_xlabel("daily PV energy / clear-sky energy")
    ax.set_ylabel("days")
    ax.set_title("Distribution of daily clear-sky ratios, all seeds")
    png = save(fig, "daily_ratio.png")
    SECTIONS.append(
        "## 2. Daily clear-sky ratios\n\n"
        f"From the same runs. Share of Nov-Feb days below 0.3: {overcast_winter:.0%}; lag-1 autocorrelation {lag1:.2f} "
        "(Aguiar, Collares-Pereira & Conde 1988 give 0.3-0.4 for daily clearness in Europe); percentiles 5/25/50/75/95 of the "
        f"ratio: {', '.join(f'{v:.2f}' for v in np.percentile(values, [5, 25, 50, 75, 95]))}.\n\n![daily ratios]({png})\n"
    )


# --------------------------------------------------------------------------- 3 + 4: clouds at 1 s


def village(seed: int = 42, count: int = 5) -> tuple[np.ndarray, np.ndarray]:
    sim = built({"houses": count, "seed": seed})
    table = sim.community.table()
    return np.asarray(table.x_rel_m), np.asarray(table.y_rel_m)


def clear_sky_index_trace(seed: int, start: pd.Timestamp, hours: float, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """GHI clear-sky index at each house, second by second, under the day's real weather."""
    w = climate.HourlyWeather(seed, TZ)
    sky_cache: dict[int, float] = {}
    linke = pv.monthly_linke_turbidity(47.38, 8.54)

    def share(t_s: float) -> float:
        minute = int(t_s // 60)
        if minute not in sky_cache:
            s = pv.sky_at(pd.Timestamp(t_s, unit="s", tz="UTC"), 47.38, 8.54, 410.0, linke[start.month - 1])
            sky_cache[minute] = s.dhi_w_m2 / s.ghi_w_m2 if s.ghi_w_m2 > 1 else 1.0
        return sky_cache[minute]

    field = weather.CloudField(seed, w.at, share)
    t0 = start.timestamp()
    out = np.empty((int(hours * 3600), len(x)))
    for i in range(len(out)):
        t = t0 + i
        delta = share(t)
        hour = w.at(t).hour(t)
        if hour.deck:
            out[i] = hour.clear_sky_index
            continue
        beam, diffuse = weather.sky_factors(t, x, y, field.clouds_near(t, 450.0), delta, field.beam_expectation(t))
        out[i] = (1 - delta) * beam + delta * diffuse
    return out, w.at(t0).wind_speed_m_s


def first_broken_day(seed: int, month: int) -> pd.Timestamp:
    types = climate.year_day_types(seed, YEAR)
    for day in range(1, 29):
        date = dt.date(YEAR, month, day)
        if types[date.timetuple().tm_yday - 1] == climate.BROKEN:
            return pd.Timestamp(date, tz=TZ)
    raise RuntimeError("no broken day")


def section_clouds(seed: int) -> None:
    x, y = village(seed)
    day = first_broken_day(seed, 6)
    kc, speed = clear_sky_index_trace(seed, day + pd.Timedelta(hours=10), 4.0, x, y)
    peak = float(kc.max())
    above = float(np.mean(kc > 1.3))
    minute = kc[: len(kc) // 60 * 60].reshape(-1, 60, kc.shape[1]).mean(axis=1)
    ramps_house = np.abs(np.diff(minute, axis=0)).ravel() * 100
    ramps_village = np.abs(np.diff(minute.mean(axis=1))) * 100
    check("Cloud enhancement at 1 s", f"max clear-sky index {peak:.2f}, {above:.1%} of the time above 1.3",
          "max 1.3-1.5 (Yordanov et al. 2013), above 1.3 for a few per cent at most", 1.3 <= peak <= weather.ENHANCEMENT_CAP + 1e-9 and above < 0.05)
    p95_h, p95_v = np.percentile(ramps_house, 95), np.percentile(ramps_village, 95)
    check("1-min ramps smooth out over the village", f"95th percentile {p95_h:.0f} %/min one house, {p95_v:.0f} %/min village",
          "village below one house", p95_v < p95_h)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    tt = np.arange(len(kc)) / 3600 + 10
    axes[0].plot(tt[:3600], kc[:3600, 0], lw=0.6, label="house 1")
    axes[0].plot(tt[:3600], kc[:3600].mean(axis=1), lw=0.8, label="village mean")
    axes[0].axhline(1.0, color="#999", lw=0.5)
    axes[0].set_xlabel("local hour")
    axes[0].set_ylabel("GHI / clear-sky GHI")
    axes[0].legend(fontsize=8)
    axes[0].set_title(f"{day:%d %b %Y}, 1 s")
    for data, label in ((ramps_house, "one house"), (ramps_village, "village (5 houses)")):
        axes[1].plot(np.sort(data), np.linspace(0, 1, len(data)), label=label)
    axes[1].set_xlabel("|1-min ramp| [% of clear sky per min]")
    axes[1].set_ylabel("cumulative share")
    axes[1].legend(fontsize=8)
    png = save(fig, "clouds_1s.png")
    SECTIONS.append(
        "## 3. Clouds at 1 s: enhancement and ramps\n\n"
        f"The default village (5 houses, seed {seed}) on the first broken day of June {YEAR} ({day:%d %b}), 10-14 h, "
        f"clouds drifting at {speed:.1f} m/s. Maximum clear-sky index {peak:.2f}; {above:.1%} of house-seconds above 1.3. "
        "Measured 1-s values reach 1.3-1.5 for seconds at cloud edges (Yordanov, Midtgård, Saetre, Nielsen & Norum 2013, "
        "IEEE JPV 3; Järvelä, Lappalainen & Valkealahti 2020).\n\n"
        f"![1 s trace and ramps]({png})\n"
    )


def section_smoothing(seed: int) -> None:
    x, y = village(seed)
    rows = []
    delta = 0.15
    ok = True
    for kc_target, speed in ((0.5, 12.0), (0.65, 8.0), (0.8, 5.0)):
        density = weather.cloud_density_per_m2(kc_target, delta)
        b = weather.expected_beam_factor(density)
        clouds = weather.Clouds.concat([weather.clouds_of_hour(seed, h, density, speed, 250.0) for h in range(1000, 1006)])
        t = np.arange(1001 * 3600.0, 1005 * 3600.0, 1.0)
        kc = np.array([(1 - delta) * bb + delta * dd for bb, dd in
                       (weather.sky_factors(s, x, y, weather.clouds_within(clouds, s, 450.0), delta, b) for s in t)])
        per_min = kc[::60]
        ours = np.std(np.diff(per_min.mean(axis=1))) / np.mean(np.std(np.diff(per_min, axis=0), axis=0))
        wvm = np.mean([
            np.std(np.diff(pvlib.scaling.wvm(kc[:, i], np.column_stack([x, y]), speed, dt=1)[0][::60])) / np.std(np.diff(kc[::60, i]))
            for i in range(len(x))
        ])
        ok &= abs(ours - wvm) <= 0.1
        rows.append((kc_target, speed, ours, wvm))
    worst = max(abs(o - w) for _, _, o, w in rows)
    check("Spatial smoothing at 1 min vs pvlib.scaling.wvm", f"largest difference {worst:.3f}", "≤ 0.1", ok)
    fig, ax = plt.subplots(figsize=(6, 3))
    labels = [f"kc {k}, {s:.0f} m/s" for k, s, _, _ in rows]
    pos = np.arange(len(rows))
    ax.bar(pos - 0.2, [r[2] for r in rows], 0.4, label="simulated village")
    ax.bar(pos + 0.2, [r[3] for r in rows], 0.4, label="pvlib WVM")
    ax.set_xticks(pos, labels)
    ax.set_ylabel("σ(1-min Δ village) / σ(1-min Δ house)")
    ax.legend(fontsize=8)
    png = save(fig, "smoothing.png")
    table = "\n".join(f"| {k} | {s:.0f} | {o:.3f} | {w:.3f} |" for k, s, o, w in rows)
    SECTIONS.append(
        "## 4. Spatial smoothing against the wavelet variability model\n\n"
        "Ratio of the standard deviation of 1-min changes of the village's mean clear-sky index to that of one house, "
        "for the default village (5 houses within 400 m), against pvlib's `scaling.wvm` (Lave, Kleissl & Stein 2013, "
        "A = cloud speed / 2) fed with each house's own trace and the same positions and cloud speed.\n\n"
        f"![smoothing]({png})\n\n| hour's clear-sky index | cloud speed m/s | simulated | WVM |\n|---|---|---|---|\n{table}\n"
    )


# --------------------------------------------------------------------------- 5 + 7: load over a year


def section_load(houses: int, step_s: float) -> None:
    sim = built({"houses": houses, "seed": 42, "pv_variation": "disabled"})
    chain, table = sim.chain, sim.community.table()
    no_ev = ~np.asarray(table.owned[:, appliances.EV_CODE])
    times = pd.date_range(pd.Timestamp(f"{YEAR}-01-01", tz=TZ) + pd.Timedelta(seconds=step_s / 2),
                          pd.Timestamp(f"{YEAR + 1}-01-01", tz=TZ), freq=f"{int(step_s)}s", inclusive="left")
    load = np.empty((len(times), int(no_ev.sum())))
    for j, t in enumerate(times):
        inst = chain.run(t, step_s, pv_variation=False, flex_load_probability=0.1)
        load[j] = (inst.base_load_w + inst.flex_load_w)[no_ev]
    annual = np.asarray(table.annual_consumption_kwh)[no_ev]
    totals = load.sum(axis=0) * step_s / 3.6e6
    err = totals / annual - 1
    within = float(np.mean(np.abs(err) <= 0.05))
    check("Yearly total of each house vs annual_consumption_kwh (houses without EV)",
          f"{within:.0%} within 5 %, mean {err.mean():+.1%}, worst {err[np.argmax(np.abs(err))]:+.1%}",
          "all within 5 %", within == 1.0)
    community = load.sum(axis=1)
    h25 = np.array([household.h25_w_per_kwh(t, TZ) for t in times]) * annual.sum()
    frame = pd.DataFrame({"sim": community, "h25": h25}, index=times.tz_convert(TZ))
    quarter = frame.groupby([frame.index.day_of_week >= 5, frame.index.hour * 4 + frame.index.minute // 15]).mean()
    corr = float(np.corrcoef(quarter["sim"], quarter["h25"])[0, 1])
    ratio = community.sum() / h25.sum()
    check("Community load shape vs BDEW H25 (mean day, workday and weekend, 15 min)", f"correlation {corr:.3f}, energy ratio {ratio:.3f}",
          "correlation ≥ 0.95, energy within 3 %", corr >= 0.95 and abs(ratio - 1) <= 0.03)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    for k, label in ((False, "working day"), (True, "weekend")):
        q = quarter.loc[k]
        axes[0].plot(q.index / 4, q["sim"] / 1000, label=f"simulated, {label}")
        axes[0].plot(q.index / 4, q["h25"] / 1000, "--", label=f"H25, {label}")
    axes[0].set_xlabel("local hour")
    axes[0].set_ylabel("kW")
    axes[0].legend(fontsize=7)
    axes[0].set_title(f"{int(no_ev.sum())} houses without EV, mean day of {YEAR}")
    axes[1].scatter(annual, totals, s=12)
    lim = [annual.min() * 0.9, annual.max() * 1.1]
    axes[1].plot(lim, lim, "k-", lw=0.6)
    axes[1].set_xlabel("annual_consumption_kwh")
    axes[1].set_ylabel("simulated kWh in the year")
    png = save(fig, "load.png")
    SECTIONS.append(
        "## 5. Community load shape against H25, and 7. yearly house totals\n\n"
        f"{houses} default houses (seed 42), p = 0.1, one tick every {step_s / 60:.0f} simulated minutes through {YEAR}; "
        f"the {int(no_ev.sum())} houses without an EV (an EV comes on top of `annual_consumption_kwh`). Base load plus big "
        "appliances against BDEW's H25 profile (demandlib) scaled to the same annual energy: correlation of the mean "
        f"working-day and weekend quarter hours {corr:.3f}, energy ratio {ratio:.3f}. House totals against their "
        f"`annual_consumption_kwh`: {within:.0%} within 5 %, mean {err.mean():+.1%}.\n\n![load]({png})\n"
    )


# --------------------------------------------------------------------------- 6: appliance start hours


def section_starts(houses: int, days: int) -> None:
    sim = built({"houses": houses, "seed": 42})
    table = sim.community.table()
    owned = np.asarray(table.owned)
    rating = np.asarray(table.ev_rating_w)
    scale = appliances.start_scale(owned, 0.1, rating)
    daily = scale[:, None] * owned * np.array([a.start_weight for a in appliances.CATALOGUE])
    first = dt.date(YEAR, 3, 2).toordinal()  # a Monday; whole weeks
    hours = np.zeros((len(appliances.CATALOGUE), 24))
    for day in range(first, first + days):
        cycles = appliances.draw_day(42, day, TZ, daily, rating)
        local = pd.to_datetime(cycles.start_s, unit="s", utc=True).tz_convert(TZ)
        np.add.at(hours, (cycles.code.astype(int), local.hour.to_numpy()), 1)
    worst = 0.0
    fig, axes = plt.subplots(1, len(appliances.CATALOGUE), figsize=(14, 2.8), sharey=False)
    for k, a in enumerate(appliances.CATALOGUE):
        curve = (5 * rhythm.start_intensity(a.rhythm, False) + 2 * rhythm.start_intensity(a.rhythm, True)).reshape(24, 4).sum(axis=1)
        expected = curve / curve.sum()
        observed = hours[k] / max(hours[k].sum(), 1)
        tvd = 0.5 * float(np.abs(observed - expected).sum())
        worst = max(worst, tvd)
        axes[k].bar(np.arange(24), observed, color="#72b7b2", label="simulated starts")
        axes[k].plot(np.arange(24), expected, "k.-", lw=0.8, label=f"source curve ({a.rhythm})")
        axes[k].set_title(f"{a.label} ({int(hours[k].sum())} starts)", fontsize=9)
        axes[k].set_xlabel("local hour")
    axes[0].legend(fontsize=7)
    png = save(fig, "start_hours.png")
    check("Appliance start hours vs source curves", f"largest total variation distance {worst:.3f}", "≤ 0.05", worst <= 0.05)
    night = hours[:, :6].sum() / hours.sum()
    check("Starts between 00:00 and 06:00", f"{night:.1%} of all starts", "< 10 % (was 24 %)", night < 0.10)
    SECTIONS.append(
        "## 6. Appliance start hours\n\n"
        f"{houses} default houses, {days} days from {dt.date.fromordinal(first):%d %b %Y}, p = 0.1: start hours of each "
        "appliance against its source curve (five working days and two weekend days). Sources, in "
        "`leg_sim/profiles/rhythm.py`: laundry and cooking from the CREST time-use activity profiles (Richardson et al. 2010, "
        "UK TUS 2000), dishwashers from SIMDEUM (Blokker et al. 2010), EV plug-in times from ElaadNL home charge points.\n\n"
        f"![start hours]({png})\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer seeds and coarser steps (a smoke run)")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    seeds = (1, 2) if args.quick else (1, 2, 3, 4)
    days = section_yield(seeds, 3600.0 if args.quick else 1800.0)
    section_daily(days)
    section_clouds(42)
    section_smoothing(42)
    section_load(30 if args.quick else 60, 3600.0 if args.quick else 900.0)
    section_starts(500 if args.quick else 2000, 7 if args.quick else 28)
    elapsed = time.monotonic() - started
    passed = sum(c.passed for c in CHECKS)
    summary = "\n".join(f"| {'PASS' if c.passed else 'FAIL'} | {c.name} | {c.figure} | {c.target} |" for c in CHECKS)
    (OUT / "README.md").write_text(
        "# Validation report\n\n"
        f"Written by `make validate` (`scripts/validate.py`{' --quick' if args.quick else ''}) in {elapsed / 60:.1f} minutes "
        f"on {sys.platform}, Python {sys.version.split()[0]}, pvlib {pvlib.__version__}. {passed} of {len(CHECKS)} checks pass.\n\n"
        "| result | check | simulated | target |\n|---|---|---|---|\n" + summary + "\n\n" + "\n".join(SECTIONS)
    )
    print(f"{passed}/{len(CHECKS)} checks passed in {elapsed / 60:.1f} min; report: {OUT / 'README.md'}")
    return 0 if passed == len(CHECKS) else 1


if __name__ == "__main__":
    sys.exit(main())
