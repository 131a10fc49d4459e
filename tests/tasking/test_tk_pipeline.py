"""The application layer builds the same plan as the code path it replaced, on the bundled RBKC data.

``_old_plan`` below is the command line's pipeline as it was before ``tasking.pipeline`` existed
(``tasking/cli_allocate.py``: its own hotspot dispatcher, its own store reading, its own parks
reader, its own numpy-to-JSON conversion), kept here verbatim so the comparison can fail.  The
new path is ``read_plan_inputs`` -> ``plan_week`` -> ``finish_plan`` (what ``hotspot-tasking
allocate`` and the dashboard's ``build_plan`` call).  Every key of the two plans is compared,
except the timings.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
WEEK = "2026-W49"


@pytest.fixture(scope="module")
def rbkc_store(tmp_path_factory) -> str:
    from hotspot_cli.main import main as cli_main

    url = f"sqlite:///{tmp_path_factory.mktemp('pipeline') / 'hotspot.sqlite'}"
    rc = cli_main(["--database", url, "ingest", str(REPO / "data" / "policeuk" / "rbkc_api_2018-06"), "--quiet"])
    assert rc == 0
    return url


# ----------------------------------------------------------------------------
# the old code path (tasking/cli_allocate.py before the application layer), verbatim but for names
# ----------------------------------------------------------------------------
def _old_hotspots(incidents, area, *, method, cell_size_m, hotspot_share, harm_index, seed):
    from spatial.grids import count_in_cells, square_grid
    from spatial.harm import harm_weight
    from spatial.hotspots import gistar, kde

    grid = square_grid(area, cell_size_m=cell_size_m)
    w = harm_weight(incidents["category"], index=harm_index)
    if method == "kde":
        return kde(incidents, grid, weights=w, hotspot_area_share=hotspot_share)
    cells = count_in_cells(incidents, grid, weights=w)
    return gistar(cells, value_col="harm", seed=seed)


def _old_coverage_months(incidents: pd.DataFrame, n: int) -> list[str]:
    counts = incidents["month"].astype(str).value_counts().sort_index()
    if counts.empty:
        return []
    full = counts[counts >= 0.1 * counts.max()]
    return list(full.index[-n:])


def _old_parks(engine, area, data_dir):
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


def _old_plan(url: str, *, roster, week: str, months_n: int, method: str, time_limit_s: float) -> dict[str, Any]:
    from spatial.datasets import load_boroughs, load_wards
    from spatial.layers import stored_area_layer
    from spatial.store import connect
    from spatial.store.queries import incident_frame
    from tasking.allocation import build_cctv_problem, build_problem, solve
    from tasking.candidates import build_candidates, cctv_demand, proposed_camera_sites
    from tasking.check import check_plan
    from tasking.greedy import greedy
    from tasking.pipeline import forecast_and_trends

    borough = roster.borough_code
    wards = load_wards((borough,))
    area = load_boroughs((borough,))
    engine = connect(url)
    incidents = incident_frame(engine, include_sensitive=False)
    incidents = incidents[incidents["ward_code"].isin(wards["ward_code"])]
    months = _old_coverage_months(incidents, months_n)
    incidents = incidents[incidents["month"].astype(str).isin(months)].reset_index(drop=True)
    parks, parks_note = _old_parks(engine, area, None)
    estates = stored_area_layer(engine, "estates")
    if estates is not None:
        estates = estates.rename(columns={"area_id": "estate_id", "name": "estate_name"})
    # plan_week
    timings: dict[str, float] = {}
    t = time.perf_counter()
    hs = _old_hotspots(incidents, area, method=method, cell_size_m=150.0, hotspot_share=0.05, harm_index="cchi",
                       seed=12345)
    timings["hotspots"] = time.perf_counter() - t
    t = time.perf_counter()
    cell_harm, trend, fc_note = forecast_and_trends(incidents, area, cell_size_m=150.0, harm_index="cchi")
    if trend is not None and "cell_id" in hs.columns:
        hs = hs.assign(trend_class=hs["cell_id"].astype(str).map(trend).to_numpy())
    timings["forecast"] = time.perf_counter() - t
    t = time.perf_counter()
    cands = build_candidates(hs, incidents, wards=wards, shifts=roster.shifts, planning=roster.planning,
                             parks=parks, estates=estates, concerns=None, harm_index="cchi", cell_harm_week=cell_harm)
    timings["candidates"] = time.perf_counter() - t
    notes: list[str] = [fc_note, f"time-of-day split: {cands.attrs['profile_source']}"]
    demand = cctv_demand(incidents, monitored=roster.fixed_cctv.monitored, planning=roster.planning,
                         harm_index="cchi", window_weeks=cands.attrs["window_weeks"])
    sites = roster.deployable_cctv.sites
    if not sites:  # since 2026-12 the plan uses the CCTV page's proposed sites (issue 15 item 9)
        sites = proposed_camera_sites(demand)
        notes.append(f"{len(sites)} camera sites PROPOSED at the hottest 150 m cells of harm in the monitored "
                     "hours (the CCTV page's list): mounting sites are council data, none are loaded, and each "
                     "needs a site survey")
    cctv_problem = build_cctv_problem(demand, roster=roster, week=week, sites=sites, deployed=())
    problem = build_problem(roster, cands, week=week, wards=wards, pins=(), exclusions=(), presence="day",
                            cctv=cctv_problem)
    alloc = solve(problem, time_limit_s=time_limit_s, mip_rel_gap=0.02)
    g = greedy(problem)
    chk = check_plan(problem, alloc.assignments, alloc.duty, alloc.cameras)
    chk_g = check_plan(problem, g.assignments, g.duty)
    plan = alloc.to_dict()
    # 2026-12-04: a camera site is named by the streets around it, as the places are (tasking.names)
    from tasking.names import camera_site_names

    ward_names = dict(zip(wards["ward_code"].astype(str), wards["ward_name"].astype(str), strict=True))
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
        "candidates": [
            {k: (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()}
            for r in _named(cands, incidents, wards).drop(columns="geometry")[
                ["candidate_id", "place_type", "name", "place_name", "ward_code", "ward_name", "x", "y", "source",
                 "cells", "n_incidents",
                 "expected_harm_week", "top_categories", "trend_class", "concerns", "priority"]
                + [f"harm_{s.name}" for s in roster.shifts]].to_dict(orient="records")],
        # issue 12 item 2: the plan lists its shifts (roster order) instead of readers parsing harm_<shift> keys
        # 2026-12-04: the plan records what the roster calls its wardens (RBKC's roster gives no title: wardens)
        "inputs": {"roster": roster.source, "kind_titles": {"warden": "warden"},
                   "shifts": [s.name for s in roster.shifts], "hotspot_method": method,
                   "hotspot_share": 0.05,
                   "cell_size_m": 150.0, "harm_index": "cchi", "presence": "day",
                   "window_weeks": cands.attrs["window_weeks"], "n_incidents": len(incidents),
                   "pins": [], "pin_specs": [], "exclusions": [],
                   # issue 17: the plan records the deployable cameras' coverage radius it used
                   "cctv_coverage_radius_m": roster.deployable_cctv.coverage_radius_m,
                   "assumptions": "tasking/data/README.md"},
    })
    plan["timings_s"].update(timings)
    plan["timings_s"]["greedy"] = g.seconds
    plan["inputs"].update({"borough": borough, "months": months, "parks": parks_note,
                           "estates": "council estates layer (stored)" if estates is not None else
                           "none: estates are council data (load with `hotspot-tasking layers estates FILE ...`)",
                           # issue 14 (any area): the plan now also records its area and districts
                           "area": "rbkc", "districts": [borough]})
    if months and months[-1] < f"{week[:4]}":
        plan["notes"].append(f"the newest incident month in the store is {months[-1]}, older than week {week}: "
                             "the plan shows how the method works on the bundled data, not a current picture")
    return plan


def _named(cands, incidents, wards):
    """Issue 15 added place names to every plan's candidates (tested in test_tk_names.py); the old path gets them
    the same way so the rest of the plan can still be compared key for key."""
    from tasking.names import place_names, ward_label

    ward_names = dict(zip(wards["ward_code"].astype(str), wards["ward_name"].astype(str), strict=True))
    return cands.assign(place_name=place_names(cands, incidents, ward_names=ward_names,
                                               geometries=list(cands.geometry)).to_numpy(),
                        ward_name=[ward_label(ward_names.get(str(c), str(c))) for c in cands["ward_code"]])


def _new_plan(url: str, *, roster, week: str, months_n: int, method: str, time_limit_s: float) -> dict[str, Any]:
    from spatial.store import connect
    from tasking.pipeline import finish_plan, plan_week, read_plan_inputs

    inputs = read_plan_inputs(connect(url), borough=roster.borough_code, latest=months_n)
    plan = plan_week(inputs.incidents, roster=roster, wards=inputs.wards, area=inputs.area, week=week,
                     parks=inputs.parks, estates=inputs.estates, method=method, time_limit_s=time_limit_s)
    return finish_plan(plan, inputs, week=week)


def _same(old: Any, new: Any, where: str = "plan") -> None:
    """Key-by-key comparison (floats to 1e-9 relative), naming the first key that differs."""
    if isinstance(old, dict):
        assert isinstance(new, dict), where
        assert list(old) == list(new), f"{where}: keys {list(old)} != {list(new)}"
        for k in old:
            _same(old[k], new[k], f"{where}.{k}")
    elif isinstance(old, (list, tuple)):
        assert isinstance(new, (list, tuple)) and len(old) == len(new), f"{where}: lengths {len(old)} != {len(new)}"
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            _same(a, b, f"{where}[{i}]")
    elif isinstance(old, float) and isinstance(new, float):
        assert (np.isnan(old) and np.isnan(new)) or old == pytest.approx(new, rel=1e-9, abs=1e-12), \
            f"{where}: {old!r} != {new!r}"
    else:
        assert type(old) is type(new) and old == new, f"{where}: {old!r} ({type(old).__name__}) != {new!r} " \
                                                      f"({type(new).__name__})"


@pytest.fixture(scope="module")
def plans(rbkc_store):
    from tasking.resources import load_roster

    roster = load_roster()
    t = time.perf_counter()
    old = _old_plan(rbkc_store, roster=roster, week=WEEK, months_n=12, method="kde", time_limit_s=120.0)
    new = _new_plan(rbkc_store, roster=roster, week=WEEK, months_n=12, method="kde", time_limit_s=120.0)
    assert time.perf_counter() - t < 600
    return old, new


def _strip(plan: dict[str, Any]) -> dict[str, Any]:
    """The plan without what changes from run to run (seconds)."""
    def drop(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: drop(x) for k, x in v.items() if k not in ("seconds", "timings_s")}
        if isinstance(v, list):
            return [drop(x) for x in v]
        return v

    out = drop(copy.deepcopy(plan))
    assert "greedy" in out and "seconds" not in out["greedy"]
    return out


def test_the_new_layer_builds_the_old_plan_key_by_key(plans):
    old, new = plans
    assert old["status"] == new["status"] and "time limit" not in str(old["status"]).lower()  # both solved, not stopped
    assert len(old["assignments"]) > 10 and len(old["candidates"]) > 10  # a real plan, not an empty one
    assert list(old["timings_s"]) == list(new["timings_s"])  # the same stages are timed
    _same(_strip(old), _strip(new))


def test_the_dashboard_builds_the_command_lines_plan(rbkc_store, plans):
    from spatial.store import connect
    from tasking.resources import load_roster
    from ui.planning import build_plan, read_inputs

    _old, new = plans
    outcome = build_plan(read_inputs(connect(rbkc_store), borough=load_roster().borough_code), roster=load_roster(),
                         week=WEEK, time_limit_s=120.0)
    assert outcome.error is None
    _same(_strip(new), _strip(outcome.plan))


def test_the_bundled_plan_round_trips_through_the_typed_plan(plans):
    import json

    from tasking.plan import Plan

    _old, new = plans
    typed = Plan.from_json(new)
    assert typed.to_json() == new and list(typed.to_json()) == list(new)
    assert json.dumps(typed.to_json(), sort_keys=True, default=str) == json.dumps(new, sort_keys=True, default=str)
    r = typed.report
    assert (r.objective, r.bound, r.gap, r.greedy_value) == (new["objective"], new["dual_bound"], new["gap"],
                                                             new["greedy"]["objective"])
    assert r.check_ok is new["check"]["ok"] is True and r.timings["greedy"] == new["timings_s"]["greedy"]
    assert len(typed.assignments) == len(new["assignments"]) > 10
    assert all(isinstance(a.visits, int) and a.visits >= 1 for a in typed.assignments)
    assert {a.candidate_id for a in typed.assignments} <= {c.candidate_id for c in typed.candidates}
    # the plan lists the roster's shifts, and they are those the older harm_<shift> parse finds
    from tasking.resources import load_roster

    assert typed.shifts == tuple(s.name for s in load_roster().shifts) and len(typed.shifts) >= 2
    legacy = {**new, "inputs": {k: v for k, v in new["inputs"].items() if k != "shifts"}}
    assert Plan.from_json(legacy).shifts == typed.shifts
