"""Allocation MILP: brute-force optimum on tiny instances, pins, exclusions, jurisdiction,
determinism, infeasibility messages, the independent checker and the greedy baseline."""

from __future__ import annotations

import itertools

import _tk_builders as B
import numpy as np
import pandas as pd
import pytest

from tasking._errors import InfeasibleAllocationError, TaskingError
from tasking.allocation import Exclusion, Pin, build_problem, solve
from tasking.check import check_plan, plan_value
from tasking.greedy import greedy

WEEK = "2026-W48"


def _problem(cands, *, roster=None, **kw):
    roster = roster or B.make_roster()
    kw.setdefault("presence", "none")
    kw.setdefault("park_min_visits_per_day", 0)
    return build_problem(roster, B.make_candidates(cands), week=WEEK, wards=B.make_wards(), **kw)


def _brute_force(problem, day=0, shift="early"):
    """Best plan value over every visit vector on one day and shift, judged by the checker."""
    agents = problem.agent_ids
    cids = problem.candidate_ids
    K = problem.dosage.max_visits
    cap = {a.agent_id: int(a.patrol_minutes_per_shift // problem.dosage.minutes_per_visit) for a in problem.agents}
    best = 0.0
    for combo in itertools.product(range(K + 1), repeat=len(agents) * len(cids)):
        per_agent = [sum(combo[i * len(cids):(i + 1) * len(cids)]) for i in range(len(agents))]
        if any(n > cap[a] for a, n in zip(agents, per_agent)):
            continue  # over the shift minutes: the checker would reject it (a shortcut for speed only)
        rows = [{"agent_id": a, "candidate_id": c, "day": day, "shift": shift, "visits": n}
                for (a, c), n in zip(itertools.product(agents, cids), combo) if n > 0]
        plan = pd.DataFrame(rows, columns=["agent_id", "candidate_id", "day", "shift", "visits"])
        if not check_plan(problem, plan).ok:
            continue
        best = max(best, plan_value(problem, plan)[0])
    return best


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n_wardens,n_cands", [(1, 2), (1, 3), (2, 2), (2, 3)])
def test_optimum_equals_brute_force(seed, n_wardens, n_cands):
    roster = B.make_roster(wardens=n_wardens, patrol_minutes=60, max_pair_distance_m=1500)
    prob = _problem(B.random_tiny(seed, n_cands=n_cands), roster=roster)
    res = solve(prob, mip_rel_gap=0.0)
    assert check_plan(prob, res.assignments, res.duty).ok
    assert res.objective == pytest.approx(_brute_force(prob), rel=1e-6, abs=1e-9)
    assert res.objective <= res.dual_bound * (1 + 1e-6) + 1e-9


@pytest.mark.parametrize("seed", range(4))
def test_optimum_equals_brute_force_with_parks_police(seed):
    roster = B.make_roster(wardens=1, parks_officers=1, patrol_minutes=50, max_pair_distance_m=1500)
    prob = _problem(B.random_tiny(seed, n_cands=3, with_park=True), roster=roster)
    res = solve(prob, mip_rel_gap=0.0)
    assert check_plan(prob, res.assignments, res.duty).ok
    assert res.objective == pytest.approx(_brute_force(prob), rel=1e-6, abs=1e-9)
    # parks police only in parks, wardens never in parks
    a = res.assignments
    assert set(a.loc[a["kind"] == "parks_police", "place_type"]) <= {"park"}
    assert "park" not in set(a.loc[a["kind"] == "warden", "place_type"])


def test_obvious_two_warden_optimum():
    """Two wardens, two far-apart patches, one visit of capacity each: one warden per patch."""
    roster = B.make_roster(wardens=2, patrol_minutes=25, max_pair_distance_m=1500)
    cands = [B.Cand("A", dx=100, harm={(0, "early"): 80.0}), B.Cand("B", ward="W_C", dx=2900, harm={(0, "early"): 60.0})]
    res = solve(_problem(cands, roster=roster), mip_rel_gap=0.0)
    assert sorted(res.assignments["candidate_id"]) == ["A", "B"]  # 60 > 0.6 x 80 for a second visit to A
    assert res.objective == pytest.approx(0.25 * (80 + 60))


def test_diminishing_returns_spread_visits():
    """With 2 visits of capacity, two equal patches get one visit each (1 + 1 > 1 + 0.6)."""
    cands = [B.Cand("A", dx=100, harm={(0, "early"): 10.0}), B.Cand("B", dx=300, harm={(0, "early"): 10.0})]
    res = solve(_problem(cands, roster=B.make_roster(patrol_minutes=50)), mip_rel_gap=0.0)
    assert sorted(res.assignments["visits"]) == [1, 1]
    assert res.objective == pytest.approx(0.25 * 20)


def test_walking_distance_limits_a_shift():
    cands = [B.Cand("A", dx=0, harm={(0, "early"): 10.0}), B.Cand("B", ward="W_C", dx=2900, harm={(0, "early"): 9.0})]
    roster = B.make_roster(patrol_minutes=50, max_pair_distance_m=1500)
    res = solve(_problem(cands, roster=roster), mip_rel_gap=0.0)
    assert list(res.assignments["candidate_id"]) == ["A"]
    assert list(res.assignments["visits"]) == [2]


def test_home_radius_restricts_candidates():
    cands = [B.Cand("A", ward="W_C", dx=2900, harm={(0, "early"): 10.0})]
    roster = B.make_roster(home_radius_m=1000)  # W1 lives in W_A; centroid at dx=500
    res = solve(_problem(cands, roster=roster))
    assert res.assignments.empty
    assert "walking range" in res.unassigned.loc[0, "reason"]


def test_pins_and_exclusions_respected():
    cands = [B.Cand("A", dx=100, harm={(0, "early"): 50.0}), B.Cand("B", dx=200, harm={(0, "early"): 1.0}),
             B.Cand("C", dx=300, harm={(0, "early"): 40.0})]
    roster = B.make_roster(wardens=1, patrol_minutes=50)
    pins = [Pin("W1", "B", 0, "early", 1)]
    prob = _problem(cands, roster=roster, pins=pins, exclusions=[Exclusion("C")])
    res = solve(prob, mip_rel_gap=0.0)
    got = {(r.candidate_id, r.visits) for r in res.assignments.itertuples()}
    assert ("B", 1) in got and ("A", 1) in got
    assert "C" not in set(res.assignments["candidate_id"])
    assert check_plan(prob, res.assignments, res.duty).ok
    why_b = res.assignments.set_index("candidate_id").loc["B", "why"]
    assert "pinned by the chair" in why_b
    assert res.unassigned.set_index("candidate_id").loc["C", "reason"] == "excluded by the chair"


def test_partial_exclusion_by_day():
    cands = [B.Cand("A", dx=100, harm={(0, "early"): 50.0, (1, "early"): 50.0})]
    prob = _problem(cands, exclusions=[Exclusion("A", day=0)])
    res = solve(prob)
    assert set(res.assignments["day"]) == {"Tue"}


def test_determinism_same_plan_twice():
    roster = B.make_roster(wardens=2, patrol_minutes=100, max_pair_distance_m=1500, shifts=("early", "late"))
    rng = np.random.default_rng(7)
    cands = [B.Cand(f"C{i}", ward=("W_A", "W_B", "W_C")[i % 3], dx=float(rng.uniform(0, 3000)),
                    harm={(d, s): float(rng.uniform(0, 10)) for d in range(7) for s in ("early", "late")})
             for i in range(5)]
    prob = _problem(cands, roster=roster, presence="day")
    a, b = solve(prob, mip_rel_gap=0.03), solve(prob, mip_rel_gap=0.03)
    pd.testing.assert_frame_equal(a.assignments, b.assignments)
    pd.testing.assert_frame_equal(a.unassigned, b.unassigned)
    assert a.objective == b.objective


def test_pin_to_park_is_infeasible_and_names_jurisdiction():
    cands = [B.Cand("P", place_type="park", harm={(0, "early"): 5.0})]
    prob = _problem(cands, pins=[Pin("W1", "P", 0, "early")])
    with pytest.raises(InfeasibleAllocationError, match="jurisdiction"):
        solve(prob)


def test_pins_exceeding_shift_minutes_name_the_constraint():
    cands = [B.Cand("A", harm={(0, "early"): 5.0}), B.Cand("B", dx=200, harm={(0, "early"): 5.0})]
    prob = _problem(cands, roster=B.make_roster(patrol_minutes=60),
                    pins=[Pin("W1", "A", 0, "early", 2), Pin("W1", "B", 0, "early", 1)])
    with pytest.raises(InfeasibleAllocationError, match="shift minutes"):
        solve(prob)


def test_pins_exceeding_weekly_hours_name_the_constraint():
    cands = [B.Cand("A", harm={(d, "early"): 5.0 for d in range(7)})]
    pins = [Pin("W1", "A", d, "early") for d in range(6)]  # 6 x 7.5 h > 37.5 h
    with pytest.raises(InfeasibleAllocationError, match="weekly hours"):
        solve(_problem(cands, pins=pins))


def test_pin_conflicting_with_on_duty_found_by_resolving():
    """Two wardens must cover both shifts every day (one early, one late).  Pinning W1 to
    Monday early and Tuesday late passes every pre-check, but then W2 works Monday late and
    Tuesday early with under 11 h rest: the solver says infeasible and the diagnosis names
    the pin and the on-duty rule."""
    cands = [B.Cand("A", harm={(0, "early"): 5.0})]
    roster = B.make_roster(wardens=2, shifts=("early", "late"), min_on_duty=1, contracted_hours=60)
    pins = [Pin("W1", "A", 0, "early"), Pin("W1", "A", 1, "late")]
    prob = _problem(cands, roster=roster, pins=pins)
    solve(_problem(cands, roster=roster, pins=pins[:1]))  # one pin alone is fine
    with pytest.raises(InfeasibleAllocationError, match="wardens on duty") as info:
        solve(prob)
    assert "pin W1 -> A Tue late" in str(info.value)
    assert "W1 -> A Mon early" in str(info.value)


def test_presence_beyond_capacity_names_presence():
    cands = [B.Cand("A", ward="W_A", harm={(0, "early"): 5.0}), B.Cand("B", ward="W_B", dx=1500),
             B.Cand("C", ward="W_C", dx=2500)]
    roster = B.make_roster(wardens=1, patrol_minutes=50, contracted_hours=37.5)  # 5 shifts < 7 days
    prob = _problem(cands, roster=roster, presence="day")
    with pytest.raises(InfeasibleAllocationError, match="minimum presence"):
        solve(prob)


def test_unknown_ids_are_input_errors():
    cands = [B.Cand("A", harm={(0, "early"): 5.0})]
    with pytest.raises(TaskingError, match="not a candidate"):
        _problem(cands, pins=[Pin("W1", "ZZ", 0, "early")])
    with pytest.raises(TaskingError, match="not a candidate"):
        _problem(cands, exclusions=[Exclusion("ZZ")])
    with pytest.raises(TaskingError, match="ISO week"):
        build_problem(B.make_roster(), B.make_candidates(cands), week="2026-48", wards=B.make_wards())


def _rich_problem(seed):
    roster = B.make_roster(wardens=3, parks_officers=2, patrol_minutes=100, max_pair_distance_m=1500,
                           home_radius_m=1500, shifts=("early", "late"), min_on_duty=1, contracted_hours=45)
    rng = np.random.default_rng(seed)
    cands = [B.Cand(f"C{i}", place_type="park" if i == 0 else "street", ward=("W_A", "W_B", "W_C")[i % 3],
                    dx=float(rng.uniform(0, 3000)), dy=float(rng.uniform(0, 1000)),
                    harm={(d, s): float(rng.gamma(1.0, 5.0)) for d in range(7) for s in ("early", "late")})
             for i in range(9)]
    return _problem(cands, roster=roster, presence="day", park_min_visits_per_day=1)


@pytest.mark.parametrize("seed", range(3))
def test_checker_passes_milp_and_greedy_and_milp_beats_greedy(seed):
    prob = _rich_problem(seed)
    res = solve(prob, mip_rel_gap=1e-6)
    g = greedy(prob)
    assert check_plan(prob, res.assignments, res.duty).ok, check_plan(prob, res.assignments, res.duty).violations
    assert g.complete, g.message
    assert check_plan(prob, g.assignments, g.duty).ok, check_plan(prob, g.assignments, g.duty).violations
    assert res.objective >= g.objective - 1e-6
    assert plan_value(prob, res.assignments)[0] == pytest.approx(res.objective)
    assert plan_value(prob, g.assignments)[0] == pytest.approx(g.objective)
    # every assignment explained, every unvisited candidate has a reason
    assert res.assignments["why"].str.contains("priority").all()
    assert res.unassigned["reason"].str.len().gt(0).all()


def test_checker_fails_on_hand_broken_plans():
    prob = _rich_problem(0)
    res = solve(prob)
    a, duty = res.assignments.copy(), res.duty.copy()
    # 1. a warden in a park
    broken = pd.concat([a, pd.DataFrame([{"agent_id": "W1", "candidate_id": "C0", "day": "Mon", "shift": "early",
                                          "visits": 1}])], ignore_index=True)
    duty1 = pd.concat([duty, pd.DataFrame([{"agent_id": "W1", "day": "Mon", "shift": "early"}])]).drop_duplicates()
    rep = check_plan(prob, broken, duty1)
    assert not rep.ok and any("outside jurisdiction" in v for v in rep.violations)
    # 2. too many visits in one shift
    b2 = a.copy()
    b2.loc[0, "visits"] = 4
    rep = check_plan(prob, b2, duty)
    assert not rep.ok and any("exceeds" in v for v in rep.violations)
    # 3. drop all duty on Monday: presence and on-duty fail
    b3 = a[a["day"] != "Mon"]
    rep = check_plan(prob, b3, duty[duty["day"] != "Mon"])
    assert not rep.ok and any("on Mon" in v for v in rep.violations)
    # 4. visits outside duty
    rep = check_plan(prob, a, duty.iloc[1:])
    assert not rep.ok and any("not on duty" in v for v in rep.violations)


# ----------------------------------------------------------------------------
# highspy path and the warm-started re-solve after a pin (issue 15: speed)
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(3))
def test_highspy_path_agrees_with_scipy_milp_within_the_gap(seed):
    from tasking.allocation import build_model, run_model

    prob = _rich_problem(seed)
    model = build_model(prob)
    gap = 1e-4
    old = run_model(model, time_limit_s=60, mip_rel_gap=gap)
    new = run_model(model, time_limit_s=60, mip_rel_gap=gap, solver="highspy")
    assert old.solver == "scipy" and new.solver == "highspy"
    assert old.status == new.status == 0
    obj_old, obj_new = -float(model.c @ old.x), -float(model.c @ new.x)
    assert obj_old > 0
    assert abs(obj_old - obj_new) <= 2 * gap * obj_old + 1e-6
    # each path's plan is within the gap of the other's bound
    assert obj_new >= -new.mip_dual_bound * (1 - gap) - 1e-6 and obj_old <= -new.mip_dual_bound + 1e-6


def _new_pin(prob, alloc):
    from tasking.allocation import eligible_visits

    done = set(zip(alloc.assignments["agent_id"], alloc.assignments["candidate_id"],
                   alloc.assignments["day"], alloc.assignments["shift"]))
    from tasking.candidates import DAY_NAMES

    for r in eligible_visits(prob).itertuples():
        a, c = prob.agent_ids[r.a], prob.candidate_ids[r.c]
        if (a, c, DAY_NAMES[r.d], prob.shifts[r.s].name) not in done and prob.available[r.a, r.d, r.s]:
            return Pin(a, c, int(r.d), prob.shifts[r.s].name, 1)
    raise AssertionError("no unvisited eligible visit to pin")


@pytest.mark.parametrize("seed", range(3))
def test_warm_started_resolve_after_a_pin_meets_the_pin_and_the_checker(seed):
    from tasking.allocation import WarmStart, with_pins
    from tasking.candidates import DAY_NAMES

    prob = _rich_problem(seed)
    before = solve(prob)
    pin = _new_pin(prob, before)
    pinned = with_pins(prob, [pin])
    warm = solve(pinned, warm_start=WarmStart.from_plan(before.to_dict(), free_agents=[pin.agent_id]))
    cold = solve(pinned)
    assert any("re-solved with HiGHS (highspy) from the previous plan" in n for n in warm.notes), warm.notes
    a = warm.assignments
    hit = a[(a["agent_id"] == pin.agent_id) & (a["candidate_id"] == pin.candidate_id)
            & (a["day"] == DAY_NAMES[pin.day]) & (a["shift"] == pin.shift)]
    assert len(hit) == 1 and int(hit["visits"].iloc[0]) >= pin.visits
    report = check_plan(pinned, warm.assignments, warm.duty)
    assert report.ok, report.violations
    assert plan_value(pinned, warm.assignments)[0] == pytest.approx(warm.objective)
    # same optimum within the 1 % gap both solves stop at
    assert warm.objective >= cold.objective * (1 - 0.0101) - 1e-9
    assert cold.objective >= warm.objective * (1 - 0.0101) - 1e-9


def test_start_from_plan_is_the_previous_plan_when_nothing_changed():
    from tasking.allocation import WarmStart, build_model, start_from_plan

    prob = _rich_problem(0)
    alloc = solve(prob)
    model = build_model(prob)
    ws = WarmStart.from_plan(alloc.to_dict())
    idx, full = start_from_plan(prob, model, ws.visits, ws.duty)
    assert len(idx) == len(model.c)
    ax = model.A @ full
    assert np.all(ax >= model.lb - 1e-9) and np.all(ax <= model.ub + 1e-9)  # feasible as it stands
    assert -float(model.c @ full) == pytest.approx(alloc.objective, rel=1e-6, abs=1e-6)
