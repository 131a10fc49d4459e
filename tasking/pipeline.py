"""The tasking application layer: plan a week, recommend measures, read a plan's inputs from the store.

The command line (:mod:`hotspot_cli`) and the dashboard (:mod:`ui`) both call
these functions, so a plan built on a page is the plan ``hotspot-tasking
allocate`` writes.  Pure functions take frames and return frames or plans;
the store readers (:func:`read_plan_inputs`, :func:`read_parks`,
:func:`read_estates`, :func:`borough_incidents`) sit at the edge.

Safeguarding: the readers use ``incident_frame(include_sensitive=False)``, so
no sensitive incident reaches a plan, a hotspot layer or a marker.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from spatial.analysis import HOTSPOT_METHODS, covered_months, run_hotspot_method
from spatial.jsonable import plain_records
from spatial.schema import CATEGORY, MONTH, WARD_CODE

from ._errors import TaskingError
from .allocation import Exclusion, Pin, WarmStart, build_cctv_problem, build_problem, solve
from .candidates import build_candidates, cctv_demand, proposed_camera_sites
from .check import check_plan
from .design_out import (
    DesignOutSettings,
    hotspot_features,
    rank_measures,
    recommendation_table,
)
from .greedy import greedy
from .names import camera_site_names, place_names, ward_label, ward_name_map
from .resources import DeployedCamera, Roster

if TYPE_CHECKING:  # the selection module loads scipy; only the type is needed here
    from sqlalchemy import Engine

    from spatial.forecast_select import ChoiceStore

    from .context import AreaContext

__all__ = [
    "DEMO_PARKS_NOTE", "ESTATES_NONE_NOTE", "PARKS_NONE_NOTE", "MIN_FORECAST_MONTHS", "MIN_TREND_MONTHS", "PLAN_METHODS", "PLAN_MONTHS",
    "RECOMMEND_METHODS", "PlanInputs", "add_trends", "area_incidents", "borough_boundaries", "borough_incidents",
    "context_for", "scope_coverage",
    "ADVICE_CSV_COLUMNS", "advice_export_table", "build_recommendations", "cluster_column", "coverage_months", "finish_plan", "forecast_and_trends",
    "plan_hotspots", "plan_week", "read_estates", "read_parks", "read_plan_inputs",
]

#: Hotspot methods a plan can run on (grid methods: candidates come from cells).
PLAN_METHODS: Final[tuple[str, ...]] = tuple(n for n, m in HOTSPOT_METHODS.items() if m.plannable)
#: Hotspot methods ``recommend`` can advise on.
RECOMMEND_METHODS: Final[tuple[str, ...]] = tuple(HOTSPOT_METHODS)
#: Latest months with real coverage a plan is made from (``hotspot-tasking allocate --months`` default).
PLAN_MONTHS: Final = 12
#: Months of data ``--trends`` needs.
MIN_TREND_MONTHS: Final = 4
#: Said of the parks layer when the council's own is not loaded.
DEMO_PARKS_NOTE: Final = (
    "DEMO parks: the Historic England registered parks touching the borough, not the council's parks "
    "(load yours with `hotspot-tasking layers parks FILE --id-column ...`)")
#: Said of the parks layer when neither the council's own nor a bundled park lies in the area.
PARKS_NONE_NOTE: Final = "none: parks are council data (load with `hotspot-tasking layers parks FILE ...`)"
#: Said of the estates layer when the council's own is not loaded.
ESTATES_NONE_NOTE: Final = "none: estates are council data (load with `hotspot-tasking layers estates FILE ...`)"
_UNKNOWN_BOROUGH = "borough {!r} is not in the bundled boundaries; use one of E09000020, E09000033, E09000013"


# ----------------------------------------------------------------------------
# months and hotspots (pure)
# ----------------------------------------------------------------------------
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
    return covered_months(incidents[MONTH].astype(str).value_counts())[-n:]



def plan_hotspots(incidents: pd.DataFrame, area: gpd.GeoDataFrame, *, method: str, cell_size_m: float,
                  hotspot_share: float, harm_index: str, seed: int, allowed: tuple[str, ...] = PLAN_METHODS,
                  what: str = "method") -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame | None]:
    """Harm-weighted hotspots as ``allocate`` and ``recommend`` compute them, and the grid used (pure).

    ``allowed`` is :data:`PLAN_METHODS` for a plan and :data:`RECOMMEND_METHODS`
    for Designing Out Crime advice; another method raises :class:`TaskingError`.
    """
    from spatial.harm import harm_weight

    if method not in allowed:
        names = ", ".join(f'"{n}"' for n in allowed)
        msg = f'{what} was "{method}" but is expected to be one of [{names}]'
        raise TaskingError(msg)
    w = harm_weight(incidents[CATEGORY], index=harm_index)  # type: ignore[arg-type]
    return run_hotspot_method(method, incidents, area, weights=w, cell_size_m=cell_size_m,
                              hotspot_share=hotspot_share, seed=seed, allowed=allowed, error=TaskingError)


#: Months of history needed before the plan uses a forecast and emerging-hotspot trends.
MIN_FORECAST_MONTHS = 6
_WEEKS_PER_MONTH = 365.25 / 12 / 7


def forecast_and_trends(incidents: pd.DataFrame, area: gpd.GeoDataFrame, *, cell_size_m: float = 150.0,
                        harm_index: str = "cchi", method: str = "auto",
                        min_months: int = MIN_FORECAST_MONTHS, choice_store: ChoiceStore | None = None,
                        area_key: str | None = None) -> tuple[pd.Series | None, pd.Series | None, str]:
    """Next month's harm per week per cell (forecast) and each cell's emerging-hotspot class (pure).

    With at least ``min_months`` months in ``incidents``, the harm-weighted
    monthly series per 150 m cell (proactive categories left out, as for every
    forecast target) is forecast with ``method`` (the backtest's choice by
    default, see bench/RESULTS.md) and divided by the weeks in a month; emerging
    hotspot classes come from Gi* per month plus Mann-Kendall.  With fewer
    months both are ``None`` and the reason is returned.  Months published low
    (:func:`spatial.low_months.incident_low_months`) are left out of the forecast's
    training and the trends, and the note says so.  With ``choice_store`` (the
    area's database) the forecaster chosen for ``area_key`` is read back when the
    data have not changed, instead of selecting again.

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
    from spatial.low_months import incident_low_months, low_months_note, without_low_months

    months = sorted(incidents[MONTH].dropna().astype(str).unique())
    # Months published low (far below their neighbours in every category) stay out of training and trends.
    low = incident_low_months(incidents) if len(months) >= min_months else []
    months = without_low_months(months, low)
    if len(months) < min_months:
        return None, None, (f"expected harm = average harm per week over {len(months)} month(s); a forecast and "
                            f"trend classes need at least {min_months} months of incidents")
    grid = square_grid(area, cell_size_m=cell_size_m)
    reactive = incidents[~incidents["proactive"].astype(bool)] if "proactive" in incidents.columns else incidents
    w = harm_weight(reactive[CATEGORY], index=harm_index)  # type: ignore[arg-type]
    harm = cell_period_counts(reactive, grid, periods=months, weights=w)
    centres = (((grid["x_min"] + grid["x_max"]) / 2).to_numpy(float), ((grid["y_min"] + grid["y_max"]) / 2).to_numpy(float))
    history = harm.set_axis(grid["cell_id"].astype(str).to_numpy())
    opts: dict[str, Any] = ({"choice_store": choice_store, "area": area_key, "group": f"harm-{harm_index}"}
                            if method == "auto" and choice_store is not None else {})
    score = forecast(history, centres=centres, method=method, **opts)
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
            + (" (fewer than 10 months: the trend test has little power)" if len(months) < 10 else "") + why
            + (f". {low_months_note(low)}" if low else ""))
    return per_week, trend, note


# ----------------------------------------------------------------------------
# the plan (pure)
# ----------------------------------------------------------------------------
def plan_week(incidents: pd.DataFrame, *, roster: Roster, wards: gpd.GeoDataFrame, area: gpd.GeoDataFrame,
              week: str, parks: gpd.GeoDataFrame | None = None, estates: gpd.GeoDataFrame | None = None,
              pins: Sequence[Pin] = (), exclusions: Sequence[Exclusion] = (), concerns: pd.DataFrame | None = None,
              deployed: Sequence[DeployedCamera] = (), method: Literal["kde", "gistar"] = "kde",
              hotspot_share: float = 0.05, cell_size_m: float = 150.0, harm_index: str = "cchi",
              presence: Literal["day", "week", "none"] = "day", time_limit_s: float = 60.0,
              mip_rel_gap: float | None = None, cctv: bool = True, seed: int = 12345,
              use_forecast: bool = True, choice_store: ChoiceStore | None = None,
              area_key: str | None = None, warm_start: WarmStart | None = None,
              low_months: Sequence[str] | None = None) -> dict[str, Any]:
    """Hotspots -> candidates -> MILP + greedy + checker, as a JSON-ready plan (pure).

    ``incidents`` must already be limited to the borough and period.  Camera
    sites come from the roster; when it has none (the bundled default: sites are
    council data), demonstration sites are generated at candidate centroids and
    labelled so.  ``warm_start`` (a previous plan of the week, e.g. before the chair's last pin)
    starts HiGHS from that plan (:class:`tasking.allocation.WarmStart`).  ``low_months`` are the
    area's months published low (``PlanInputs.low_months``); ``None`` looks for them in ``incidents``.
    """
    from spatial.low_months import incident_low_months, low_months_note

    timings: dict[str, float] = {}
    # Months published low (far below their neighbours in every category) would pull every per-week
    # baseline down: they are left out of the whole plan, and its notes say so.
    if low_months is not None and MONTH in incidents.columns:
        low = sorted(set(low_months) & set(incidents[MONTH].astype(str)))
    else:
        low = incident_low_months(incidents) if MONTH in incidents.columns and CATEGORY in incidents.columns else []
    if low:
        incidents = incidents.loc[~incidents[MONTH].astype(str).isin(low)]
    t = time.perf_counter()
    hs, _grid = plan_hotspots(incidents, area, method=method, cell_size_m=cell_size_m,
                              hotspot_share=hotspot_share, harm_index=harm_index, seed=seed)
    timings["hotspots"] = time.perf_counter() - t
    t = time.perf_counter()
    cell_harm, trend, fc_note = (forecast_and_trends(incidents, area, cell_size_m=cell_size_m, harm_index=harm_index,
                                                     choice_store=choice_store, area_key=area_key)
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
    if low:
        notes.append(low_months_note(low))
    cctv_problem = None
    if cctv:
        demand = cctv_demand(incidents, monitored=roster.fixed_cctv.monitored, planning=roster.planning,
                             harm_index=harm_index, window_weeks=cands.attrs["window_weeks"])  # type: ignore[arg-type]
        sites = roster.deployable_cctv.sites
        if not sites:  # the CCTV page ranks these same sites, on the same harm
            sites = proposed_camera_sites(demand)
            notes.append(f"{len(sites)} camera sites PROPOSED at the hottest 150 m cells of harm in the monitored "
                         "hours (the CCTV page's list): mounting sites are council data, none are loaded, and each "
                         "needs a site survey")
        cctv_problem = build_cctv_problem(demand, roster=roster, week=week, sites=sites, deployed=deployed)
    problem = build_problem(roster, cands, week=week, wards=wards, pins=pins, exclusions=exclusions,
                            presence=presence, cctv=cctv_problem)
    alloc = solve(problem, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap, warm_start=warm_start)
    g = greedy(problem)
    chk = check_plan(problem, alloc.assignments, alloc.duty, alloc.cameras if cctv else None)
    chk_g = check_plan(problem, g.assignments, g.duty)
    plan = alloc.to_dict()
    ward_names = ward_name_map(wards)
    cands = cands.assign(place_name=place_names(cands, incidents, ward_names=ward_names,
                                                geometries=list(cands.geometry)).to_numpy(),
                         ward_name=[ward_label(ward_names.get(str(c), str(c))) for c in cands["ward_code"]])
    if plan.get("cameras"):  # a camera site by the streets around it, as the places are named
        site_names = camera_site_names(plan["cameras"], incidents, wards=wards, ward_names=ward_names)
        plan["cameras"] = [{**c, "site_name": n} for c, n in zip(plan["cameras"], site_names, strict=True)]
    plan.update({
        "week": week, "dates": [d.isoformat() for d in problem.dates],
        "greedy": {"objective": g.objective, "harm_covered": g.harm_covered, "seconds": g.seconds,
                   "complete": g.complete, "message": g.message, "feasible": chk_g.ok},
        "milp_vs_greedy": (alloc.objective / g.objective - 1) if g.objective > 0 else None,
        "check": {"ok": chk.ok, "violations": list(chk.violations)},
        "objective_units": "priority-weighted expected harm covered per week (CCHI days x multipliers)",
        "notes": list(plan["notes"]) + notes,
        "candidates": plain_records(cands.drop(columns="geometry")[
                ["candidate_id", "place_type", "name", "place_name", "ward_code", "ward_name", "x", "y", "source",
                 "cells", "n_incidents",
                 "expected_harm_week", "top_categories", "trend_class", "concerns", "priority"]
                + [f"harm_{s.name}" for s in roster.shifts]]),
        "inputs": {"roster": roster.source, "kind_titles": roster.kind_titles,
                   "shifts": [s.name for s in roster.shifts], "hotspot_method": method, "hotspot_share": hotspot_share,
                   "cell_size_m": cell_size_m, "harm_index": harm_index, "presence": presence,
                   "window_weeks": cands.attrs["window_weeks"], "n_incidents": len(incidents),
                   "pins": [p.label() for p in pins],
                   "pin_specs": [[p.agent_id, p.candidate_id, p.day, p.shift, p.visits] for p in pins],
                   "exclusions": [e.__dict__ for e in exclusions],
                   # issue 17: the cameras' coverage circles in the GeoPackage use the radius the plan used
                   "cctv_coverage_radius_m": roster.deployable_cctv.coverage_radius_m,
                   "assumptions": "tasking/data/README.md"},
    })
    plan["timings_s"].update(timings)
    plan["timings_s"]["greedy"] = g.seconds
    return plan


# ----------------------------------------------------------------------------
# Designing Out Crime recommendations (pure)
# ----------------------------------------------------------------------------
def add_trends(hs: gpd.GeoDataFrame, incidents: pd.DataFrame, area: gpd.GeoDataFrame, grid: gpd.GeoDataFrame | None,
                *, months: Sequence[str], cell_size_m: float, harm_index: str) -> gpd.GeoDataFrame:
    """Emerging-hotspot class of each hotspot unit (by cell id, else by the cell under its representative point)."""
    from spatial.analysis import compute_emerging
    from spatial.grids import square_grid

    if len(months) < MIN_TREND_MONTHS:
        msg = (f"--trends needs at least {MIN_TREND_MONTHS} months with data; the store gives {list(months)} "
               "(raise --months or drop --trends)")
        raise TaskingError(msg)
    grid = square_grid(area, cell_size_m=cell_size_m) if grid is None else grid
    em = compute_emerging(grid, unit_kind="grid", months=list(months), incidents=incidents, area=area,
                          harm_index=harm_index)
    cls = pd.Series(em["trend_class"].astype(str).to_numpy(), index=em["cell_id"].astype(str).to_numpy())
    out = hs.copy()
    if "cell_id" in out.columns:
        out["trend_class"] = out["cell_id"].astype(str).map(cls).to_numpy()
    else:
        reps = shapely.point_on_surface(np.asarray(out.geometry.values, dtype=object))
        tree = shapely.STRtree(np.asarray(em.geometry.values, dtype=object))
        pi, gi = tree.query(reps, predicate="intersects")
        tc = np.full(len(out), None, dtype=object)
        tc[pi] = em["trend_class"].astype(str).to_numpy()[gi]
        out["trend_class"] = tc
    out.attrs = hs.attrs
    return out


def cluster_column(cands: gpd.GeoDataFrame, hs: gpd.GeoDataFrame, method: str) -> gpd.GeoDataFrame:
    """``cluster`` per candidate: it contains a DBSCAN cluster or a Gi* hot-99 unit (absent for KDE)."""
    if not HOTSPOT_METHODS[method].significance:
        return cands
    units = hs if method == "dbscan" else hs[hs["gi_class"].astype(str) == "hot 99"]
    flag = np.zeros(len(cands), bool)
    if len(units) and len(cands):
        reps = shapely.point_on_surface(np.asarray(units.geometry.values, dtype=object))
        tree = shapely.STRtree(np.asarray(cands.geometry.values, dtype=object))
        _, ci = tree.query(reps, predicate="intersects")
        flag[ci] = True
    out = cands.copy()
    out["cluster"] = flag
    out["cluster_evidence"] = ("holds a DBSCAN density cluster" if method == "dbscan"
                               else "holds a Gi* hot spot at 99% (FDR)")
    return out


#: The columns of the Designing Out Crime advice CSV, in reading order: the place, then the measure and its case.
ADVICE_CSV_COLUMNS: tuple[str, ...] = (
    "candidate_id", "place_name", "name", "ward_code", "ward_name", "place_type", "patterns", "incidents", "rank", "kind",
    "measure", "cpted_principle", "why", "rationale", "evidence", "evidence_strength", "sources", "score",
    "measure_id", "rule_id", "x", "y")


def advice_export_table(ranked: pd.DataFrame, *, ward_names: Mapping[str, str] | None = None,
                        places: Sequence[str] | None = None) -> pd.DataFrame:
    """The advice CSV's rows: one per place and ranked measure (``ranked`` of :func:`build_recommendations`).

    The place comes first (id, the name people say, the layer's or patch's name, ward code and, from
    ``ward_names``, the ward's name), then the measure
    and its case (why here, rationale, evidence and its strength, sources); ``x, y`` are British National
    Grid metres.  ``places`` keeps only those candidate ids, in their order (the places a page shows);
    within a place the lines keep their rank.  Columns ``ranked`` lacks are left out.

    Examples
    --------
    >>> r = pd.DataFrame({"candidate_id": ["b", "a", "a"], "rank": [1, 2, 1], "ward_code": ["W1", "W2", "W2"],
    ...                   "measure": ["m1", "m3", "m2"], "extra": [0, 0, 0]})
    >>> advice_export_table(r, ward_names={"W2": "Abbey"}, places=["a"]).to_dict("list")
    {'candidate_id': ['a', 'a'], 'ward_code': ['W2', 'W2'], 'ward_name': ['Abbey', 'Abbey'], 'rank': [1, 2], 'measure': ['m2', 'm3'], 'extra': [0, 0]}
    """
    out = ranked.copy()
    if "ward_code" in out.columns:
        names = ward_names or {}
        out["ward_name"] = [names.get(str(c), "") for c in out["ward_code"]]
    if places is not None:
        order = {str(c): i for i, c in enumerate(places)}
        out = out[out["candidate_id"].astype(str).isin(order)]
        out = out.assign(_order=out["candidate_id"].astype(str).map(order))
        out = out.sort_values(["_order", "rank"], kind="stable").drop(columns="_order")
    first = [c for c in ADVICE_CSV_COLUMNS if c in out.columns]
    return out[first + [c for c in out.columns if c not in first]].reset_index(drop=True)


def build_recommendations(incidents: pd.DataFrame, *, area: gpd.GeoDataFrame, wards: gpd.GeoDataFrame,
                          parks: gpd.GeoDataFrame | None = None, estates: gpd.GeoDataFrame | None = None,
                          method: str = "kde", hotspot_share: float = 0.05, cell_size_m: float = 150.0,
                          harm_index: str = "cchi", top_k: int = 3, trends: bool = False,
                          months: Sequence[str] | None = None, candidate_ids: Sequence[str] | None = None,
                          sensitive_incidents: pd.DataFrame | None = None,
                          settings: DesignOutSettings | None = None,
                          seed: int = 12345) -> tuple[gpd.GeoDataFrame, pd.DataFrame, list[str]]:
    """Hotspots -> candidate places -> ranked Designing Out Crime measures (pure).

    Parameters
    ----------
    incidents
        Non-sensitive incidents of the borough and period (what hotspots are drawn from).
    area, wards
        Borough and ward polygons (EPSG:27700).
    parks, estates
        Optional layers with ``park_id``/``park_name`` and ``estate_id``/``estate_name``.
    method, hotspot_share, cell_size_m, harm_index, seed
        As ``allocate``.
    top_k
        Measures per place.
    trends
        Add emerging-hotspot classes (``months`` must hold 4 or more months).
    months
        The months of ``incidents`` (for ``trends``).
    candidate_ids
        Keep only these candidates (from a plan); default: every street patch,
        estate and park holding at least one incident.
    sensitive_incidents
        Sensitive incidents of the same period to add to the category mix of
        the places (aggregated and suppressed, never used to find hotspots).
    settings
        :class:`tasking.design_out.DesignOutSettings` (default with ``harm_index``).

    Returns
    -------
    (geopandas.GeoDataFrame, pandas.DataFrame, list[str])
        One row per place (``candidate_id``, ``name`` (the layer's or the patch's), ``place_name``
        (:func:`tasking.names.place_names`: the streets people say), ``ward_code``,
        ``place_type``, recommendations, geometry), the ranked lines
        (one row per place and recommendation, with ``name``, ``ward_code``,
        ``x``, ``y``) and notes for the reader.
    """
    from tasking.candidates import build_candidates
    from tasking.resources import load_roster

    if len(incidents) == 0:
        msg = "there are no non-sensitive incidents to find hotspots in; ingest data first (hotspot-tasking ingest --bundled)"
        raise TaskingError(msg)
    settings = settings or DesignOutSettings(harm_index=harm_index)  # type: ignore[arg-type]
    notes: list[str] = []
    hs, grid = plan_hotspots(incidents, area, method=method, cell_size_m=cell_size_m,
                             hotspot_share=hotspot_share, harm_index=harm_index, seed=seed, allowed=RECOMMEND_METHODS,
                             what="--method")
    if trends:
        hs = add_trends(hs, incidents, area, grid, months=months or sorted(incidents[MONTH].astype(str).unique()),
                         cell_size_m=cell_size_m, harm_index=harm_index)
    roster = load_roster(None)  # shifts and planning defaults only: they do not change places or ids
    cands = build_candidates(hs, incidents, wards=wards, shifts=roster.shifts, planning=roster.planning,
                             parks=parks, estates=estates, harm_index=harm_index,  # type: ignore[arg-type]
                             add_ward_presence=False)
    cands = cands[["candidate_id", "place_type", "name", "ward_code", "x", "y", "source", "n_incidents",
                   "trend_class", "geometry"]]
    if candidate_ids is not None:
        wanted = [c for c in candidate_ids if not str(c).startswith("WP-")]
        if len(wanted) < len(candidate_ids):
            notes.append(f"{len(candidate_ids) - len(wanted)} ward presence points of the plan skipped "
                         "(no hotspot there to design against)")
        missing = sorted(set(wanted) - set(cands["candidate_id"]))
        if missing and len(missing) == len(wanted):
            msg = (f"none of the plan's {len(wanted)} candidates could be rebuilt from the store "
                   f"(e.g. {missing[:3]}); the data changed since the plan was made: re-run allocate")
            raise TaskingError(msg)
        if missing:
            notes.append(f"{len(missing)} plan candidates not found in the store now (data changed?): "
                         + ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else ""))
        cands = cands[cands["candidate_id"].isin(wanted)]
    else:
        empty = int((cands["n_incidents"] == 0).sum())
        if empty:
            notes.append(f"{empty} estates/parks with no incidents in the period left out (not hotspots)")
        cands = cands[cands["n_incidents"] > 0]
    cands = gpd.GeoDataFrame(cands.reset_index(drop=True), geometry="geometry", crs=area.crs)
    if cands.empty:
        msg = "no hotspots to advise on: the method found no hot places in the period (try more --months)"
        raise TaskingError(msg)
    cands = cluster_column(cands, hs, method)
    feat_inc = incidents if sensitive_incidents is None or sensitive_incidents.empty else \
        pd.concat([incidents, sensitive_incidents], ignore_index=True)
    feats = hotspot_features(cands, feat_inc, id_col="candidate_id", estates=estates, parks=parks,
                             settings=settings)
    ranked = rank_measures(feats, top_k=top_k, settings=settings)
    table = recommendation_table(cands, feats, ranked, settings=settings)
    # the name people say (streets from the non-sensitive incidents, the layer's name for a park or estate), as
    # the plan names its places: never a grid id on screen or in the advice file
    ward_names = ward_name_map(wards)
    cands = cands.assign(place_name=place_names(cands, incidents, ward_names=ward_names,
                                                geometries=list(cands.geometry)).to_numpy())
    for i, col in enumerate(("name", "place_name", "ward_code", "source")):
        table.insert(1 + i, col, cands[col].to_numpy())
    table = table.rename(columns={"hotspot_id": "candidate_id"})
    meta = cands[["candidate_id", "name", "place_name", "ward_code", "x", "y"]].rename(
        columns={"candidate_id": "hotspot_id"})
    ranked = ranked.merge(meta, on="hotspot_id", how="left")
    ranked = ranked.merge(table[["candidate_id", "place_type", "patterns", "incidents"]].rename(
        columns={"candidate_id": "hotspot_id"}), on="hotspot_id", how="left")
    ranked = ranked.rename(columns={"hotspot_id": "candidate_id"})
    unknown_night = int(feats["night"].isna().sum())
    if unknown_night:
        notes.append(f"night-time pattern unknown for {unknown_night} of {len(feats)} places (fewer than "
                     f"{settings.min_timed} timed incidents: police.uk gives months only, never guessed)")
    if not HOTSPOT_METHODS[method].significance:
        notes.append("cluster pattern not assessed: KDE has no significance test (use --method gistar or dbscan)")
    if not trends:
        notes.append("trend pattern not assessed (add --trends with 4 or more months)")
    table.attrs["params"] = {**table.attrs.get("params", {}), "hotspot_method": method,
                             "hotspot_params": hs.attrs.get("params", {}), "top_k": top_k,
                             "sensitive_in_mix": sensitive_incidents is not None,
                             "design_out_settings": feats.attrs.get("settings", {})}
    return table, ranked, notes


# ----------------------------------------------------------------------------
# store readers (edge)
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class PlanInputs:
    """What a plan or a hotspot map is made from (everything in EPSG:27700).

    ``incidents`` are non-sensitive only, in the scope's wards and ``months``.
    ``borough`` is the key the plan is stored under (:attr:`tasking.context.AreaContext.key`:
    the district's GSS code for one district, else the area's name); ``districts`` the
    districts covered and ``area`` the area's name.
    """

    borough: str
    months: tuple[str, ...]
    incidents: pd.DataFrame
    wards: gpd.GeoDataFrame
    area: gpd.GeoDataFrame
    parks: gpd.GeoDataFrame | None
    parks_note: str
    estates: gpd.GeoDataFrame | None
    estates_note: str
    districts: tuple[str, ...] = ()
    area_name: str = "rbkc"
    area_label: str = ""
    ward_vintage: str = ""
    #: The area's months published low (:meth:`tasking.context.AreaContext.low_months`); ``None``: not
    #: known, so each consumer looks for them in ``incidents``.
    low_months: tuple[str, ...] | None = None


def borough_boundaries(borough: str, data_dir: Path | None) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The borough's bundled wards and outline; :class:`TaskingError` for an unknown borough."""
    from spatial.datasets import load_boroughs, load_wards

    wards = load_wards((borough,), data_dir=data_dir)
    area = load_boroughs((borough,), data_dir=data_dir)
    if wards.empty or area.empty:
        raise TaskingError(_UNKNOWN_BOROUGH.format(borough))
    return wards, area


def borough_incidents(engine: Any, wards: gpd.GeoDataFrame, borough: str) -> pd.DataFrame:
    """Every stored non-sensitive incident in the borough's wards; :class:`TaskingError` when there are none."""
    from spatial.store.queries import incident_frame

    incidents = incident_frame(engine, include_sensitive=False)
    incidents = incidents[incidents[WARD_CODE].isin(wards["ward_code"])]
    if incidents.empty:
        msg = (f"the store has no non-sensitive incidents in borough {borough}; "
               "run `hotspot-tasking ingest --bundled` first (or ingest your own data)")
        raise TaskingError(msg)
    return incidents


def context_for(source: AreaContext | Engine, *, borough: str | None = None,
                data_dir: Path | None = None) -> AreaContext:
    """``source`` when it is an area context (narrowed to ``borough``), else the area of ``source`` (a store)
    holding ``borough``: the active area when it does, else the first area listed that does.

    Raises
    ------
    TaskingError
        If no area holds ``borough`` (the message lists the areas' districts).
    """
    from spatial.area_profiles import list_areas

    from .context import AreaContext, open_area

    if isinstance(source, AreaContext):
        return source.narrow(borough)
    if borough is None:
        return open_area(source, data_dir=data_dir)
    areas = list_areas(source)
    ordered = [p for p, active in areas if active] + [p for p, active in areas if not active]
    for profile in ordered:
        if borough in profile.district_codes:
            return open_area(source, profile.name, data_dir, district=borough)
    known = sorted({c for p, _ in areas for c in p.district_codes})
    msg = f"borough {borough!r} is not in any area; use one of {', '.join(known)} (or --area NAME)"
    raise TaskingError(msg)


def area_incidents(ctx: AreaContext) -> pd.DataFrame:
    """Every stored non-sensitive incident in the scope's wards; :class:`TaskingError` when there are none."""
    inc = ctx.incidents()
    incidents = inc[inc[WARD_CODE].isin(ctx.wards["ward_code"])]
    if incidents.empty:
        where = f"borough {ctx.districts[0]}" if len(ctx.districts) == 1 else f"area {ctx.name}"
        msg = (f"the store has no non-sensitive incidents in {where}; run `hotspot-tasking ingest --bundled"
               + ("" if ctx.name == "rbkc" else f" --area {ctx.name}") + "` first (or ingest your own data)")
        raise TaskingError(msg)
    return incidents


def scope_coverage(ctx: AreaContext) -> list[str]:
    """Every month with real coverage of the scope's non-sensitive incidents, oldest first ([] for none)."""
    try:
        return coverage_months(area_incidents(ctx), 10_000)
    except TaskingError:
        return []


def read_parks(engine: Any, area: gpd.GeoDataFrame, data_dir: Path | None) -> tuple[gpd.GeoDataFrame | None, str]:
    from spatial.datasets import load_registered_parks
    from spatial.layers import stored_area_layer

    """The council's stored parks layer, else the Historic England registered parks touching the borough (demo).

    Returns the parks (``park_id``, ``park_name``, geometry) and the sentence
    the plan and the pages show about where they came from.
    """
    stored = stored_area_layer(engine, "parks")
    if stored is not None:
        return stored.rename(columns={"area_id": "park_id", "name": "park_name"}), "council parks layer (stored)"
    reg = load_registered_parks(data_dir=data_dir)
    reg = reg.rename(columns={"ListEntry": "park_id", "Name": "park_name"})
    reg["park_id"] = reg["park_id"].astype(str)
    union = area.geometry.union_all()
    reg = reg[reg.intersects(union)][["park_id", "park_name", "geometry"]].reset_index(drop=True)
    if reg.empty:  # the bundled registered parks are RBKC's: another area has none until it loads its own
        return None, PARKS_NONE_NOTE
    return reg, DEMO_PARKS_NOTE


def read_estates(engine: Any) -> tuple[gpd.GeoDataFrame | None, str]:
    """The council's stored estates layer (``estate_id``, ``estate_name``) or ``None``, and its note."""
    from spatial.layers import stored_area_layer

    estates = stored_area_layer(engine, "estates")
    if estates is None:
        return None, ESTATES_NONE_NOTE
    return estates.rename(columns={"area_id": "estate_id", "name": "estate_name"}), "council estates layer (stored)"


def read_plan_inputs(source: AreaContext | Engine, *, borough: str | None = None, data_dir: Path | None = None,
                     months: Sequence[str] | None = None, latest: int = PLAN_MONTHS,
                     groups: Sequence[str] | None = None) -> PlanInputs:
    """Read a plan's (or a hotspot map's) inputs from the store: the one reader of ``allocate`` and the pages.

    Parameters
    ----------
    source
        The area context (:func:`tasking.context.open_area`), or a store whose area holding
        ``borough`` is used (:func:`context_for`).
    borough
        Narrow the scope to this district of the area (GSS code).
    data_dir
        Bundled data folder when ``source`` is a store (default: the repository's ``data/``).
    months
        The months to use; default: the latest ``latest`` months with real coverage.
    latest
        How many months when ``months`` is not given (``allocate --months``; default :data:`PLAN_MONTHS`).
    groups
        Category groups of the taxonomy to keep (``asb``, ``theft``, ...); default all.

    Raises
    ------
    TaskingError
        If the borough is not in the area, ``latest`` is below 1, or the store holds no
        non-sensitive incident of the scope (in the months and groups asked for).
    """
    from spatial.schema import load_taxonomy

    ctx = context_for(source, borough=borough, data_dir=data_dir)
    wards, area = ctx.wards, ctx.outline
    incidents = area_incidents(ctx)
    chosen = list(months) if months else coverage_months(incidents, latest)
    incidents = incidents[incidents[MONTH].astype(str).isin(chosen)]
    if groups:
        tax = load_taxonomy()
        slugs = [s for s, c in tax.categories.items() if c.group in set(groups)]
        incidents = incidents[incidents[CATEGORY].isin(slugs)]
    if incidents.empty:
        what = f" of the groups {sorted(groups)}" if groups else ""
        where = f"borough {ctx.districts[0]}" if len(ctx.districts) == 1 else f"area {ctx.name}"
        msg = f"the store has no non-sensitive incidents{what} in {where} in {chosen}; pick other months"
        raise TaskingError(msg)
    parks, parks_note = read_parks(ctx.engine, area, ctx.data_dir)
    estates, estates_note = read_estates(ctx.engine)
    return PlanInputs(borough=ctx.key, months=tuple(chosen), incidents=incidents.reset_index(drop=True),
                      wards=wards, area=area, parks=parks, parks_note=parks_note, estates=estates,
                      estates_note=estates_note, districts=ctx.districts, area_name=ctx.name,
                      area_label=ctx.label, ward_vintage=ctx.ward_vintage, low_months=ctx.low_months())


def finish_plan(plan: dict[str, Any], inputs: PlanInputs, *, week: str) -> dict[str, Any]:
    """Record where the plan's inputs came from (borough, months, parks, estates) and warn about stale data."""
    months = list(inputs.months)
    plan["inputs"].update({"borough": inputs.borough, "months": months, "parks": inputs.parks_note,
                           "estates": inputs.estates_note, "area": inputs.area_name,
                           "districts": list(inputs.districts or (inputs.borough,))})
    if months and months[-1] < f"{week[:4]}":
        plan["notes"].append(f"the newest incident month in the store is {months[-1]}, older than week {week}: "
                             "the plan shows how the method works on the bundled data, not a current picture")
    return plan
