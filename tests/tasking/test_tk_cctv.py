"""CCTV siting (maximal covering location on harm): brute force, fixed cameras, continuity."""

from __future__ import annotations

import itertools

import _tk_builders as B
import numpy as np
import pandas as pd
import pytest

from tasking._errors import InfeasibleAllocationError
from tasking.allocation import (
    CCTVProblem,
    build_cctv_problem,
    build_problem,
    site_cameras,
    solve,
)
from tasking.check import check_plan
from tasking.resources import CameraSite, DeployedCamera


def _random_cctv(seed, *, n_demand=25, n_sites=6, cameras=2, fixed=(), must=(), deployed=()):
    rng = np.random.default_rng(seed)
    demand = pd.DataFrame({"demand_id": [f"d{i}" for i in range(n_demand)],
                           "x": rng.uniform(0, 600, n_demand), "y": rng.uniform(0, 600, n_demand),
                           "weight": rng.gamma(1.0, 10.0, n_demand)})
    sites = tuple(CameraSite(f"S{j}", float(x), float(y), "test") for j, (x, y) in
                  enumerate(zip(rng.uniform(0, 600, n_sites), rng.uniform(0, 600, n_sites))))
    return CCTVProblem(demand=demand, sites=sites, cameras=cameras, radius_m=150.0, must_stay=tuple(must),
                       deployed=tuple(deployed), fixed=tuple(fixed), fixed_radius_m=150.0, min_deployment_weeks=4)


def _brute(cctv):
    d = cctv.demand
    px, py, w = d["x"].to_numpy(), d["y"].to_numpy(), d["weight"].to_numpy()
    fixed_cov = np.zeros(len(d), bool)
    for f in cctv.fixed:
        fixed_cov |= np.hypot(px - f.x, py - f.y) <= cctv.fixed_radius_m
    best = 0.0
    ids = [s.site_id for s in cctv.sites]
    for k in range(cctv.cameras + 1):
        for combo in itertools.combinations(range(len(ids)), k):
            if not set(cctv.must_stay) <= {ids[j] for j in combo}:
                continue
            cov = np.zeros(len(d), bool)
            for j in combo:
                cov |= np.hypot(px - cctv.sites[j].x, py - cctv.sites[j].y) <= cctv.radius_m
            best = max(best, float(w[cov & ~fixed_cov].sum()))
    return best


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("cameras", [1, 2, 3])
def test_mclp_equals_brute_force(seed, cameras):
    cctv = _random_cctv(seed, cameras=cameras)
    res = site_cameras(cctv)
    assert res["objective"] == pytest.approx(_brute(cctv), rel=1e-9)
    assert len(res["sites"]) <= cameras


@pytest.mark.parametrize("seed", range(4))
def test_fixed_cctv_coverage_not_counted_twice(seed):
    fixed = (CameraSite("F1", 300.0, 300.0, "test fixed"),)
    cctv = _random_cctv(seed, cameras=2, fixed=fixed)
    res = site_cameras(cctv)
    assert res["objective"] == pytest.approx(_brute(cctv), rel=1e-9)
    d = cctv.demand
    near_fixed = np.hypot(d["x"] - 300, d["y"] - 300) <= 150
    assert res["demand_removed_fixed"] == pytest.approx(float(d.loc[near_fixed, "weight"].sum()))


def test_camera_in_minimum_term_stays_even_if_worse():
    cctv = _random_cctv(1, cameras=2)
    free = site_cameras(cctv)
    worst = next(s.site_id for s in cctv.sites if s.site_id not in free["sites"])
    held = _random_cctv(1, cameras=2, must=(worst,))
    res = site_cameras(held)
    assert worst in res["sites"]
    assert res["objective"] == pytest.approx(_brute(held), rel=1e-9)
    assert res["objective"] <= free["objective"] + 1e-9


def test_continuity_from_deployed_list_and_checker():
    roster = B.make_roster(cameras=2, min_weeks=4)
    demand = pd.DataFrame({"demand_id": ["a", "b"], "x": [525100.0, 525900.0], "y": [178100.0, 178100.0],
                           "harm_monitored_week": [10.0, 50.0]})
    sites = (CameraSite("S1", 525100.0, 178100.0), CameraSite("S2", 525900.0, 178100.0),
             CameraSite("S3", 526500.0, 178500.0))
    deployed = (DeployedCamera("CAM01", "S3", since_week="2026-W46"),  # 2 weeks in: must stay
                DeployedCamera("CAM02", "S1", since_week="2026-W40"))  # term over: may move
    cctv = build_cctv_problem(demand, roster=roster, week="2026-W48", sites=sites, deployed=deployed)
    assert cctv.must_stay == ("S3",)
    cands = [B.Cand("A", harm={(0, "early"): 1.0})]
    prob = build_problem(roster, B.make_candidates(cands), week="2026-W48", wards=B.make_wards(), cctv=cctv,
                         presence="none", park_min_visits_per_day=0)
    res = solve(prob)
    cams = res.cameras.set_index("camera_id")
    assert cams.loc["CAM01", "site_id"] == "S3" and "minimum term" in cams.loc["CAM01", "status"]
    assert cams.loc["CAM02", "site_id"] == "S2"  # moved to the bigger harm
    assert res.cctv_objective == pytest.approx(50.0)
    assert check_plan(prob, res.assignments, res.duty, res.cameras).ok
    # a hand-broken camera plan: the camera in its minimum term moved away
    broken = pd.DataFrame({"site_id": ["S1", "S2"]})
    rep = check_plan(prob, res.assignments, res.duty, broken)
    assert not rep.ok and any("CAM01 moved" in v for v in rep.violations)
    rep = check_plan(prob, res.assignments, res.duty, pd.DataFrame({"site_id": ["S1", "S2", "S3"]}))
    assert not rep.ok and any("only 2 exist" in v for v in rep.violations)


def test_more_cameras_in_term_than_exist_is_infeasible():
    cctv = _random_cctv(0, cameras=1, must=("S0", "S1"))
    with pytest.raises(InfeasibleAllocationError, match="continuity"):
        site_cameras(cctv)
