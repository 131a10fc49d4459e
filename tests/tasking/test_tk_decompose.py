"""The decomposed bound (tasking.decompose) is a valid upper bound: never below a proven optimum.

Instances are small and hand-made (tests/tasking/_tk_builders.py), with several wardens whose
walking ranges overlap, so blocks share border candidates."""

from __future__ import annotations

import _tk_builders as B
import numpy as np
import pytest

from tasking.allocation import build_problem, solve
from tasking.decompose import aggregate_bound, decomposed_bound, partition

WEEK = "2026-W48"
WARDS = tuple(f"W{i}" for i in range(6))


def _instance(seed: int, *, presence: str = "none", parks: int = 0):
    """Six 1 km wards in a row, one warden each (1 km home radius), harm on random days and shifts."""
    rng = np.random.default_rng(seed)
    roster = B.make_roster(wardens=6, parks_officers=parks, shifts=("early", "late"), patrol_minutes=75,
                           home_radius_m=1000, max_pair_distance_m=1500, wards=WARDS, min_on_duty=1)
    cands = []
    for i in range(14):
        w = i % 6
        harm = {(int(d), s): float(rng.gamma(1.0, 20.0)) for d in rng.choice(7, 3, replace=False)
                for s in ("early", "late") if rng.random() < 0.7}
        cands.append(B.Cand(f"C{i}", "street", WARDS[w], dx=w * 1000 + float(rng.uniform(100, 900)),
                            dy=float(rng.uniform(100, 900)), harm=harm))
    for j in range(3 if parks else 0):
        cands.append(B.Cand(f"P{j}", "park", WARDS[2 * j], dx=2000 * j + 500.0, dy=500.0,
                            harm={(d, "late"): float(rng.gamma(1.0, 15.0)) for d in range(7)}))
    return build_problem(roster, B.make_candidates(cands), week=WEEK, wards=B.make_wards(WARDS), presence=presence,
                         park_min_visits_per_day=1 if parks else 0)


def test_partition_owns_every_reachable_candidate_once():
    prob = _instance(0, parks=2)
    blocks = partition(prob, max_block_agents=2, max_block_roaming=1)
    homed = [b for b in blocks if not b.roaming]
    assert len(homed) >= 3 and all(len(b.agents) <= 2 for b in homed)
    assert sorted(np.concatenate([b.agents for b in homed]).tolist()) == list(range(6))  # each warden once
    owned = np.concatenate([b.owned for b in blocks])
    assert len(owned) == len(set(owned.tolist())) == len(prob.candidates)  # everything reachable, owned once
    for b in blocks:  # reach covers what is owned; warden blocks overlap at borders
        assert set(b.owned.tolist()) <= set(b.reach.tolist())
    assert sum(len(b.reach) for b in homed) > sum(len(b.owned) for b in homed)
    assert {prob.agents[int(a)].kind for b in blocks if b.roaming for a in b.agents} == {"parks_police"}


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("block", [1, 2, 3, 6])
def test_decomposed_bound_is_never_below_the_optimum(seed, block):
    prob = _instance(seed, presence="day" if seed % 2 else "none")
    opt = solve(prob, time_limit_s=60, mip_rel_gap=0.0)
    assert opt.status.startswith("optimal")
    res = decomposed_bound(prob, time_limit_s=20, mip_rel_gap=0.0, max_block_agents=block)
    assert res["bound"] >= opt.objective * (1 - 1e-7) - 1e-9
    if block == 6:  # one block, no overlap: the bound is the relaxation without presence and on-duty rules
        assert res["bound"] <= opt.objective * 1.5 + 1e-6


@pytest.mark.parametrize("seed", range(3))
def test_aggregate_bound_covers_the_parks_police_optimum(seed):
    prob = _instance(seed, parks=2)
    opt = solve(prob, time_limit_s=60, mip_rel_gap=0.0)
    pp = np.flatnonzero([a.kind == "parks_police" for a in prob.agents])
    parks = np.flatnonzero(prob.candidates["place_type"].to_numpy() == "park")
    bound = aggregate_bound(prob, pp, parks)
    got = opt.assignments.loc[opt.assignments["kind"] == "parks_police", "value"].sum()
    assert got > 0
    assert bound >= got * (1 - 1e-7)
    # and not absurdly loose: at most what every park-shift fully visited would be worth
    full = (prob.value[parks] * prob.dosage.visit_cover_share * sum(prob.dosage.marginal_values)).sum()
    assert bound <= full + 1e-9


# --------------------------------------------------------------------------
# large-neighbourhood search
# --------------------------------------------------------------------------
def _checked(prob, visits, duty):
    from tasking.allocation import _duty_frame, explain
    from tasking.check import check_plan

    assignments, _ = explain(prob, visits, duty)
    return check_plan(prob, assignments, _duty_frame(prob, duty, visits))


@pytest.mark.parametrize("seed", range(4))
def test_improve_from_greedy_is_feasible_never_worse_and_never_above_the_optimum(seed):
    from tasking.allocation import coverage_value
    from tasking.decompose import improve
    from tasking.greedy import greedy

    prob = _instance(seed, presence="day" if seed % 2 else "none")
    g = greedy(prob)
    assert g.complete
    opt = solve(prob, time_limit_s=60, mip_rel_gap=0.0)
    res = improve(prob, g.visits, g.duty_index, time_limit_s=30, block_time_s=10, max_block_agents=2,
                  max_block_roaming=1)
    check = _checked(prob, res["visits"], res["duty"])
    assert check.ok, check.violations
    assert res["value"] == pytest.approx(coverage_value(prob, res["visits"])[0])  # the value of what is returned
    assert res["start_value"] == pytest.approx(g.objective)
    assert g.objective - 1e-9 <= res["value"] <= opt.objective * (1 + 1e-7) + 1e-9
    assert res["blocks_tried"] >= 3


def test_one_block_holding_every_agent_reaches_the_optimum():
    from tasking.decompose import improve
    from tasking.greedy import greedy

    prob = _instance(1, presence="day")
    g = greedy(prob)
    opt = solve(prob, time_limit_s=60, mip_rel_gap=0.0)
    assert g.objective < opt.objective * (1 - 1e-3)  # greedy leaves something to gain here
    res = improve(prob, g.visits, g.duty_index, time_limit_s=30, block_time_s=30, mip_rel_gap=0.0,
                  max_block_agents=6)
    assert res["value"] == pytest.approx(opt.objective, rel=1e-6) and res["blocks_improved"] == 1


def test_improve_refuses_a_plan_the_model_cannot_make():
    import pandas as pd

    from tasking._errors import TaskingError
    from tasking.decompose import improve
    from tasking.greedy import greedy

    prob = _instance(0)
    g = greedy(prob)
    bad = pd.concat([g.visits, pd.DataFrame({"a": [0], "c": [5], "d": [0], "s": [0], "n": [1]})])  # C5: ward W5, 5 km
    with pytest.raises(TaskingError, match="cannot make"):
        improve(prob, bad, g.duty_index, time_limit_s=5)
