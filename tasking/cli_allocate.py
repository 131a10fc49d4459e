"""``hotspot-tasking allocate``: the week's plan for wardens, parks police and deployable CCTV.

::

    hotspot-tasking allocate --week 2026-W48 [--pin W01:ST-c3504_1190:Mon:late[:VISITS] ...]
        [--exclude CANDIDATE[:DAY[:SHIFT]] ...] [--roster my_roster.yaml] [--months 1]
        [--method kde|gistar] [--hotspot-share 0.05] [--concerns concerns.csv]
        [--deployed cameras.csv] [--presence day|week|none] [--time-limit 60] [--gap 0.01]
        --out plan.json

Incidents are read with ``incident_frame(engine, include_sensitive=False)``
(sensitive categories never reach a plan), limited to the borough's wards and
the latest ``--months`` months in the store.  Hotspots of harm (CCHI by
default) become candidates (:mod:`tasking.candidates`), the MILP allocates them
(:mod:`tasking.allocation`), the greedy baseline runs for comparison
(:mod:`tasking.greedy`) and the independent checker (:mod:`tasking.check`)
validates the plan.  The JSON holds assignments with reasons, unassigned
candidates with reasons, camera moves, objective, bound, gap, the greedy
objective, timings and every assumption's provenance.

``--concerns`` is a CSV with columns ``concern`` (resident_reports,
community_trigger, jag_case), ``candidate_id`` or ``ward_code``, and ``note``.
``--deployed`` is a CSV ``camera_id, site_id, since_week[, x, y]``.

The lead wires :func:`add_parser` into ``spatial/cli.py``; :func:`run` returns
the exit status.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from spatial.schema import CATEGORY, MONTH, WARD_CODE

from ._errors import TaskingError
from .allocation import Exclusion, Pin, build_cctv_problem, build_problem, solve
from .candidates import DAY_NAMES, build_candidates, cctv_demand, demo_camera_sites
from .check import check_plan
from .greedy import greedy
from .resources import DeployedCamera, Roster, load_roster

__all__ = ["MIN_FORECAST_MONTHS", "add_parser", "coverage_months", "forecast_and_trends", "parse_exclusion", "parse_pin", "plan_week", "run"]


def coverage_months(incidents: pd.DataFrame, n: int) -> list[str]:
    """The latest ``n`` months with real coverage (the rule ``allocate`` and ``recommend`` use).

    A month counts when it holds at least a tenth of the busiest month's
    incidents: police.uk API pulls for neighbouring areas leave a trickle of
    boundary points in other months.

    Examples
    --------
    >>> df = pd.DataFrame({"month": ["2018-05"] * 3 + ["2018-06"] * 100 + ["2018-07"] * 90})
    >>> coverage_months(df, 1), coverage_months(df, 5)
    (['2018-07'], ['2018-06', '2018-07'])
    """
    if n < 1:
        msg = f"--months was {n}; give 1 or more"
        raise TaskingError(msg)
    counts = incidents[MONTH].astype(str).value_counts().sort_index()
    if counts.empty:
        return []
    full = counts[counts >= 0.1 * counts.max()]
    return list(full.index[-n:])


def _day(text: str, where: str) -> int:
    t = text.strip().capitalize()[:3]
    if t not in DAY_NAMES:
        msg = f"{where}: day was {text!r}; give Mon, Tue, Wed, Thu, Fri, Sat or Sun"
        raise TaskingError(msg)
    return DAY_NAMES.index(t)


def parse_pin(text: str) -> Pin:
    """Parse ``AGENT:CANDIDATE:DAY:SHIFT[:VISITS]``.

    Examples
    --------
    >>> parse_pin("W01:ST-c3504_1190:Mon:late")
    Pin(agent_id='W01', candidate_id='ST-c3504_1190', day=0, shift='late', visits=1)
    """
    parts = text.split(":")
    if len(parts) not in (4, 5) or not all(parts):
        msg = f"--pin was {text!r}; give AGENT:CANDIDATE:DAY:SHIFT[:VISITS], e.g. W01:ST-c3504_1190:Mon:late"
        raise TaskingError(msg)
    visits = 1
    if len(parts) == 5:
        if not parts[4].isdigit():
            msg = f"--pin {text!r}: VISITS must be a whole number"
            raise TaskingError(msg)
        visits = int(parts[4])
    return Pin(parts[0], parts[1], _day(parts[2], f"--pin {text!r}"), parts[3], visits)


def parse_exclusion(text: str) -> Exclusion:
    """Parse ``CANDIDATE[:DAY[:SHIFT]]``.

    Examples
    --------
    >>> parse_exclusion("PK-1000811:Sat")
    Exclusion(candidate_id='PK-1000811', agent_id=None, day=5, shift=None)
    """
    parts = text.split(":")
    if not parts[0] or len(parts) > 3:
        msg = f"--exclude was {text!r}; give CANDIDATE[:DAY[:SHIFT]]"
        raise TaskingError(msg)
    day = _day(parts[1], f"--exclude {text!r}") if len(parts) > 1 and parts[1] else None
    shift = parts[2] if len(parts) > 2 and parts[2] else None
    return Exclusion(parts[0], day=day, shift=shift)


def _hotspots(incidents: pd.DataFrame, area: gpd.GeoDataFrame, *, method: Literal["kde", "gistar"],
              cell_size_m: float, hotspot_share: float, harm_index: str, seed: int) -> gpd.GeoDataFrame:
    from spatial.grids import count_in_cells, square_grid
    from spatial.harm import harm_weight
    from spatial.hotspots import gistar, kde

    grid = square_grid(area, cell_size_m=cell_size_m)
    w = harm_weight(incidents[CATEGORY], index=harm_index)  # type: ignore[arg-type]
    if method == "kde":
        return kde(incidents, grid, weights=w, hotspot_area_share=hotspot_share)
    if method == "gistar":
        cells = count_in_cells(incidents, grid, weights=w)
        return gistar(cells, value_col="harm", seed=seed)
    msg = f'method was "{method}" but is expected to be one of ["kde", "gistar"]'
    raise TaskingError(msg)


#: Months of history needed before the plan uses a forecast and emerging-hotspot trends.
MIN_FORECAST_MONTHS = 6
_WEEKS_PER_MONTH = 365.25 / 12 / 7


def forecast_and_trends(incidents: pd.DataFrame, area: gpd.GeoDataFrame, *, cell_size_m: float = 150.0,
                        harm_index: str = "cchi", method: str = "auto",
                        min_months: int = MIN_FORECAST_MONTHS) -> tuple[pd.Series | None, pd.Series | None, str]:
    """Next month's harm per week per cell (forecast) and each cell's emerging-hotspot class (pure).

    With at least ``min_months`` months in ``incidents``, the harm-weighted
    monthly series per 150 m cell (proactive categories left out, as for every
    forecast target) is forecast with ``method`` (the backtest's choice by
    default, see bench/RESULTS.md) and divided by the weeks in a month; emerging
    hotspot classes come from Gi* per month plus Mann-Kendall.  With fewer
    months both are ``None`` and the reason is returned.

    Returns
    -------
    (cell_harm_week, trend_class, note)
        Series indexed by ``cell_id`` (or ``None``) and a sentence for the plan's notes.
    """
    from spatial.areas import cell_period_counts
    from spatial.forecast import forecast
    from spatial.grids import square_grid
    from spatial.harm import harm_weight
    from spatial.hotspots import emerging_hotspots

    months = sorted(incidents[MONTH].dropna().astype(str).unique())
    if len(months) < min_months:
        return None, None, (f"expected harm = average harm per week over {len(months)} month(s); a forecast and "
                            f"trend classes need at least {min_months} months of incidents")
    grid = square_grid(area, cell_size_m=cell_size_m)
    reactive = incidents[~incidents["proactive"].astype(bool)] if "proactive" in incidents.columns else incidents
    w = harm_weight(reactive[CATEGORY], index=harm_index)  # type: ignore[arg-type]
    harm = cell_period_counts(reactive, grid, periods=months, weights=w)
    centres = (((grid["x_min"] + grid["x_max"]) / 2).to_numpy(float), ((grid["y_min"] + grid["y_max"]) / 2).to_numpy(float))
    history = harm.set_axis(grid["cell_id"].astype(str).to_numpy())
    score = forecast(history, centres=centres, method=method)
    per_week = pd.Series(np.maximum(score.to_numpy(float), 0.0) / _WEEKS_PER_MONTH, index=history.index)
    counts = cell_period_counts(incidents, grid, periods=months)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "fewer than 10 periods" is stated in the note instead
        em = emerging_hotspots(counts, grid)
    trend = pd.Series(em["trend_class"].astype(object).to_numpy(), index=grid["cell_id"].astype(str).to_numpy())
    label, why = method, ""
    if "choice" in score.attrs:
        from spatial.forecast_select import describe_choice

        label = f"{method} ({score.attrs['choice']['method']})"
        why = "; " + describe_choice(score.attrs["choice"], group="harm-weighted crime")
    note = (f"expected harm = {label} forecast of {score.attrs.get('target_period')} harm per cell from "
            f"{len(months)} months ({months[0]}..{months[-1]}; proactive categories left out); trend = "
            f"emerging-hotspot class of the patch's hottest cell"
            + (" (fewer than 10 months: the trend test has little power)" if len(months) < 10 else "") + why)
    return per_week, trend, note


def plan_week(incidents: pd.DataFrame, *, roster: Roster, wards: gpd.GeoDataFrame, area: gpd.GeoDataFrame,
              week: str, parks: gpd.GeoDataFrame | None = None, estates: gpd.GeoDataFrame | None = None,
              pins: Sequence[Pin] = (), exclusions: Sequence[Exclusion] = (), concerns: pd.DataFrame | None = None,
              deployed: Sequence[DeployedCamera] = (), method: Literal["kde", "gistar"] = "kde",
              hotspot_share: float = 0.05, cell_size_m: float = 150.0, harm_index: str = "cchi",
              presence: Literal["day", "week", "none"] = "day", time_limit_s: float = 60.0,
              mip_rel_gap: float = 0.01, cctv: bool = True, seed: int = 12345,
              use_forecast: bool = True) -> dict[str, Any]:
    """Hotspots -> candidates -> MILP + greedy + checker, as a JSON-ready plan (pure).

    ``incidents`` must already be limited to the borough and period.  Camera
    sites come from the roster; when it has none (the bundled default: sites are
    council data), demonstration sites are generated at candidate centroids and
    labelled so.
    """
    timings: dict[str, float] = {}
    t = time.perf_counter()
    hs = _hotspots(incidents, area, method=method, cell_size_m=cell_size_m, hotspot_share=hotspot_share,
                   harm_index=harm_index, seed=seed)
    timings["hotspots"] = time.perf_counter() - t
    t = time.perf_counter()
    cell_harm, trend, fc_note = (forecast_and_trends(incidents, area, cell_size_m=cell_size_m, harm_index=harm_index)
                                 if use_forecast else (None, None, "expected harm = average harm per week (forecast off)"))
    if trend is not None and "cell_id" in hs.columns:
        hs = hs.assign(trend_class=hs["cell_id"].astype(str).map(trend).to_numpy())
    timings["forecast"] = time.perf_counter() - t
    t = time.perf_counter()
    cands = build_candidates(hs, incidents, wards=wards, shifts=roster.shifts, planning=roster.planning,
                             parks=parks, estates=estates, concerns=concerns, harm_index=harm_index,  # type: ignore[arg-type]
                             cell_harm_week=cell_harm)
    timings["candidates"] = time.perf_counter() - t
    notes: list[str] = [fc_note, f"time-of-day split: {cands.attrs['profile_source']}"]
    cctv_problem = None
    if cctv:
        sites = roster.deployable_cctv.sites
        if not sites:
            sites = demo_camera_sites(cands)
            notes.append(f"{len(sites)} camera sites GENERATED at candidate centroids for the demo: mounting sites "
                         "are council data and none are bundled")
        demand = cctv_demand(incidents, monitored=roster.fixed_cctv.monitored, planning=roster.planning,
                             harm_index=harm_index, window_weeks=cands.attrs["window_weeks"])  # type: ignore[arg-type]
        cctv_problem = build_cctv_problem(demand, roster=roster, week=week, sites=sites, deployed=deployed)
    problem = build_problem(roster, cands, week=week, wards=wards, pins=pins, exclusions=exclusions,
                            presence=presence, cctv=cctv_problem)
    alloc = solve(problem, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap)
    g = greedy(problem)
    chk = check_plan(problem, alloc.assignments, alloc.duty, alloc.cameras if cctv else None)
    chk_g = check_plan(problem, g.assignments, g.duty)
    plan = alloc.to_dict()
    plan.update({
        "week": week, "dates": [d.isoformat() for d in problem.dates],
        "greedy": {"objective": g.objective, "harm_covered": g.harm_covered, "seconds": g.seconds,
                   "complete": g.complete, "message": g.message, "feasible": chk_g.ok},
        "milp_vs_greedy": (alloc.objective / g.objective - 1) if g.objective > 0 else None,
        "check": {"ok": chk.ok, "violations": list(chk.violations)},
        "objective_units": "priority-weighted expected harm covered per week (CCHI days x multipliers)",
        "notes": list(plan["notes"]) + notes,
        "candidates": [
            {k: (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()}
            for r in cands.drop(columns="geometry")[
                ["candidate_id", "place_type", "name", "ward_code", "x", "y", "source", "cells", "n_incidents",
                 "expected_harm_week", "top_categories", "trend_class", "concerns", "priority"]
                + [f"harm_{s.name}" for s in roster.shifts]].to_dict(orient="records")],
        "inputs": {"roster": roster.source, "hotspot_method": method, "hotspot_share": hotspot_share,
                   "cell_size_m": cell_size_m, "harm_index": harm_index, "presence": presence,
                   "window_weeks": cands.attrs["window_weeks"], "n_incidents": len(incidents),
                   "pins": [p.label() for p in pins],
                   "pin_specs": [[p.agent_id, p.candidate_id, p.day, p.shift, p.visits] for p in pins],
                   "exclusions": [e.__dict__ for e in exclusions],
                   "assumptions": "tasking/data/README.md"},
    })
    plan["timings_s"].update(timings)
    plan["timings_s"]["greedy"] = g.seconds
    return plan


# ----------------------------------------------------------------------------
# edge: files, database, printing
# ----------------------------------------------------------------------------
def _read_deployed(path: str) -> list[DeployedCamera]:
    df = pd.read_csv(path, dtype=str)
    need = {"camera_id", "site_id", "since_week"}
    if not need <= set(df.columns):
        msg = f"{path}: needs columns {sorted(need)} (and optionally x, y); got {list(df.columns)}"
        raise TaskingError(msg)
    out = []
    for _, r in df.iterrows():
        x = float(r["x"]) if "x" in df.columns and pd.notna(r.get("x")) else None
        y = float(r["y"]) if "y" in df.columns and pd.notna(r.get("y")) else None
        out.append(DeployedCamera(str(r["camera_id"]), str(r["site_id"]), str(r["since_week"]), x, y))
    return out


def _parks(engine: Any, area: gpd.GeoDataFrame, data_dir: Path | None) -> tuple[gpd.GeoDataFrame | None, str]:
    from spatial.datasets import load_registered_parks
    from spatial.layers import stored_area_layer

    stored = stored_area_layer(engine, "parks")
    if stored is not None:
        return stored.rename(columns={"area_id": "park_id", "name": "park_name"}), "council parks layer (stored)"
    reg = load_registered_parks(data_dir=data_dir)
    reg = reg.rename(columns={"ListEntry": "park_id", "Name": "park_name"})
    reg["park_id"] = reg["park_id"].astype(str)
    union = area.geometry.union_all()
    reg = reg[reg.intersects(union)][["park_id", "park_name", "geometry"]].reset_index(drop=True)
    return reg, ("DEMO parks: the Historic England registered parks touching the borough, not the council's parks "
                 "(load yours with `hotspot-tasking layers parks FILE --id-column ...`)")


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``allocate`` sub-command."""
    p = subparsers.add_parser("allocate", help="allocate wardens, parks police and deployable CCTV for a week")
    p.add_argument("--week", required=True, help="ISO week, e.g. 2026-W48")
    p.add_argument("--pin", action="append", default=[], help="AGENT:CANDIDATE:DAY:SHIFT[:VISITS] (repeatable)")
    p.add_argument("--exclude", action="append", default=[], help="CANDIDATE[:DAY[:SHIFT]] (repeatable)")
    p.add_argument("--out", required=True, help="plan JSON to write")
    p.add_argument("--roster", help="roster YAML (default: the bundled RBKC roster)")
    p.add_argument("--borough", default=None, help="borough GSS code (default: the roster's)")
    p.add_argument("--months", type=int, default=12,
                   help="latest months of incidents to use (default 12; 6 or more switch on the forecast and trends)")
    p.add_argument("--method", choices=["kde", "gistar"], default="kde", help="hotspot method (default kde)")
    p.add_argument("--hotspot-share", type=float, default=0.05,
                   help="KDE hotspots: densest share of the area (default 0.05, as spatial.hotspots.kde)")
    p.add_argument("--cell-size", type=float, default=150.0, help="grid cell size in metres (default 150)")
    p.add_argument("--harm", choices=["cchi", "ons_css"], default="cchi", help="harm index (default cchi)")
    p.add_argument("--concerns", help="CSV of manual concerns: concern, candidate_id or ward_code, note")
    p.add_argument("--deployed", help="CSV of deployed cameras: camera_id, site_id, since_week[, x, y]")
    p.add_argument("--presence", choices=["day", "week", "none"], default="day",
                   help="minimum warden presence per ward (default: a visit every day)")
    p.add_argument("--no-cctv", action="store_true", help="skip CCTV siting")
    p.add_argument("--time-limit", type=float, default=60.0, help="solver time limit in seconds (default 60)")
    p.add_argument("--gap", type=float, default=0.01, help="relative optimality gap to stop at (default 0.01)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Read the store, plan the week, write the JSON and print a summary; returns 0."""
    from spatial.config import settings_from_args
    from spatial.datasets import load_boroughs, load_wards
    from spatial.layers import stored_area_layer
    from spatial.store import connect
    from spatial.store.queries import incident_frame

    settings = settings_from_args(args)
    roster = load_roster(args.roster)
    borough = args.borough or roster.borough_code
    pins = [parse_pin(t) for t in args.pin]
    exclusions = [parse_exclusion(t) for t in args.exclude]
    if args.months < 1:
        msg = f"--months was {args.months}; give 1 or more"
        raise TaskingError(msg)
    wards = load_wards((borough,), data_dir=settings.data_dir)
    area = load_boroughs((borough,), data_dir=settings.data_dir)
    if wards.empty or area.empty:
        msg = f"borough {borough!r} is not in the bundled boundaries; use one of E09000020, E09000033, E09000013"
        raise TaskingError(msg)
    engine = connect(settings.database_url)
    incidents = incident_frame(engine, include_sensitive=False)
    incidents = incidents[incidents[WARD_CODE].isin(wards["ward_code"])]
    if incidents.empty:
        msg = (f"the store has no non-sensitive incidents in borough {borough}; "
               "run `hotspot-tasking ingest --bundled` first (or ingest your own data)")
        raise TaskingError(msg)
    months = coverage_months(incidents, args.months)
    incidents = incidents[incidents[MONTH].astype(str).isin(months)].reset_index(drop=True)
    parks, parks_note = _parks(engine, area, settings.data_dir)
    estates = stored_area_layer(engine, "estates")
    if estates is not None:
        estates = estates.rename(columns={"area_id": "estate_id", "name": "estate_name"})
    concerns = pd.read_csv(args.concerns) if args.concerns else None
    deployed = _read_deployed(args.deployed) if args.deployed else []
    t0 = time.perf_counter()
    plan = plan_week(incidents, roster=roster, wards=wards, area=area, week=args.week, parks=parks, estates=estates,
                     pins=pins, exclusions=exclusions, concerns=concerns, deployed=deployed, method=args.method,
                     hotspot_share=args.hotspot_share, cell_size_m=args.cell_size, harm_index=args.harm,
                     presence=args.presence, time_limit_s=args.time_limit, mip_rel_gap=args.gap,
                     cctv=not args.no_cctv)
    plan["timings_s"]["total"] = time.perf_counter() - t0
    plan["inputs"].update({"borough": borough, "months": months, "parks": parks_note,
                           "estates": "council estates layer (stored)" if estates is not None else
                           "none: estates are council data (load with `hotspot-tasking layers estates FILE ...`)"})
    if months and months[-1] < f"{args.week[:4]}":
        plan["notes"].append(f"the newest incident month in the store is {months[-1]}, older than week {args.week}: "
                             "the plan shows how the method works on the bundled data, not a current picture")
    Path(args.out).write_text(json.dumps(plan, indent=2, default=str), encoding="utf-8")
    _print_summary(plan, args.out)
    return 0


def _print_summary(plan: dict[str, Any], out: str) -> None:
    g = plan["greedy"]
    print(f"allocate {plan['week']} ({plan['dates'][0]}..{plan['dates'][-1]}) from {plan['inputs']['months']} "
          f"({plan['inputs']['n_incidents']:,} incidents)")
    print(f"  patrol objective {plan['objective']:.1f} (bound {plan['dual_bound']:.1f}, gap {plan['gap']:.2%}, "
          f"{plan['status']}); greedy {g['objective']:.1f}"
          + (f" (MILP +{plan['milp_vs_greedy']:.1%})" if plan["milp_vs_greedy"] is not None else ""))
    print(f"  harm covered {plan['harm_covered']:.1f}/week; CCTV covers {plan['cctv_objective']:.1f}/week "
          f"with {len(plan['cameras'])} cameras")
    t = plan["timings_s"]
    print(f"  time: build {t['build']:.2f} s, solve {t['solve']:.2f} s, greedy {t['greedy']:.2f} s, "
          f"total {t.get('total', 0):.1f} s; checker: {'ok' if plan['check']['ok'] else 'FAILED'}")
    print(f"  {len(plan['assignments'])} assignments, {len(plan['duty'])} duty shifts, "
          f"{len(plan['unassigned'])} candidates unassigned")
    top = sorted(plan["assignments"], key=lambda r: -r["value"])[:8]
    for r in top:
        print(f"    {r['agent_id']:>5} {r['day']} {r['shift']:<5} {r['candidate_id']:<16} x{r['visits']} "
              f"value {r['value']:.1f}")
    for n in plan["notes"]:
        print(f"  note: {n}")
    print(f"  -> {out}")
