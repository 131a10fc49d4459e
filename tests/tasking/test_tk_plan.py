"""The typed plan reads every plan dict (hand-made, stored by today's records code on SQLite and
PostgreSQL) and writes it back key for key, so stored plans keep loading and keep their sha256."""

from __future__ import annotations

import datetime as dt
import json

import _tk_plans as P
import pytest

from spatial.store import connect
from tasking import records as R
from tasking.plan import (
    Assignment,
    CameraMove,
    Candidate,
    Plan,
    SolverReport,
    UnassignedPlace,
)

NOW = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)


def test_a_plan_dict_round_trips_key_for_key():
    d = P.make_plan()
    plan = Plan.from_json(d)
    out = plan.to_json()
    assert out == d and list(out) == list(d)
    assert [list(a) for a in out["assignments"]] == [list(a) for a in d["assignments"]]
    assert json.dumps(out, sort_keys=True) == json.dumps(d, sort_keys=True)
    # typed parts
    assert isinstance(plan.assignments[0], Assignment) and plan.assignments[0].visits == 2
    assert plan.assignments[-1].kind == "parks_police" and plan.assignments[-1].place_type == "park"
    assert isinstance(plan.unassigned[0], UnassignedPlace) and plan.unassigned[0].reason == "excluded by the chair"
    assert isinstance(plan.cameras[0], CameraMove) and plan.cameras[0].status == "new"
    assert isinstance(plan.candidates[2], Candidate) and plan.candidates[2].name == "ROYAL HOSPITAL"
    r = plan.report
    assert isinstance(r, SolverReport)
    assert (r.objective, r.bound, r.gap, r.greedy_value, r.check_ok, r.violations) == (12.5, 12.6, 0.008, 11.0,
                                                                                        True, ())
    assert plan.borough == P.BOROUGH and plan.week == P.WEEK and len(plan.dates) == 7
    # a plan with different visits is a different plan
    assert Plan.from_json(P.make_plan(variant=1)) != plan
    with pytest.raises(dataclass_error()):
        plan.assignments[0].visits = 3  # type: ignore[misc]  # frozen


def dataclass_error():
    import dataclasses

    return dataclasses.FrozenInstanceError


def test_keys_a_plan_lacks_stay_absent_and_unknown_keys_are_kept():
    d = P.make_plan()
    del d["check"], d["milp_vs_greedy"], d["assignments"][0]["kind"]
    d["from_an_older_version"] = {"anything": [1, 2]}
    d["assignments"][1]["note"] = "a key the type does not name"
    out = Plan.from_json(d).to_json()
    assert out == d and "check" not in out and "kind" not in out["assignments"][0]
    assert Plan.from_json(d).report.check_ok is None
    with pytest.raises(ValueError, match="at least a 'week'"):
        Plan.from_json({"assignments": []})


def test_a_plan_stored_by_todays_records_code_loads_through_the_typed_plan(db_url):
    engine = connect(db_url)
    try:
        meeting = R.create_meeting(engine, week=P.WEEK, borough=P.BOROUGH, chair="Chair A", created_by="clerk",
                                   now=NOW)
        d = P.make_plan()
        version = R.save_plan_version(engine, meeting, d, created_by="clerk", now=NOW)  # the dict path of today
        stored = R.load_plan(engine, meeting, version)
        plan = Plan.from_json(stored)
        assert plan.to_json() == stored == d
        assert R.plan_digest(plan.to_json()) == R.plan_digest(d)  # its sha256 is unchanged
        # saving the typed plan's JSON again is the same version, not a new one
        assert R.save_plan_version(engine, meeting, plan.to_json(), created_by="clerk", now=NOW) == version
    finally:
        engine.dispose()


def test_a_plans_shifts_come_from_its_inputs_and_older_plans_fall_back_to_their_keys():
    d = P.make_plan()
    assert "shifts" not in d["inputs"]  # the older shape: shifts only as candidates' harm_<shift> keys
    assert Plan.from_json(d).shifts == ("early", "late") and R.plan_shifts(d) == ["early", "late"]
    # today's pipeline lists them (roster order wins over key order)
    d["inputs"]["shifts"] = ["late", "early"]
    assert Plan.from_json(d).shifts == ("late", "early") and R.plan_shifts(Plan.from_json(d)) == ["late", "early"]
    # no list and no harm_<shift> keys: the duty and assignment rows name them, in order of first use
    d = P.make_plan()
    for c in d["candidates"]:
        for k in [k for k in c if k.startswith("harm_")]:
            del c[k]
    assert R.plan_shifts(d) == list(dict.fromkeys(r["shift"] for r in d["duty"] + d["assignments"]))
    assert R.plan_shifts({"week": P.WEEK}) == []


def test_stored_plans_of_todays_and_the_older_shape_load_as_equal_typed_plans(db_url):
    from sqlalchemy import update

    from spatial.store import tables as T
    from tasking._errors import TaskingError

    engine = connect(db_url)
    try:
        new_d = P.make_plan()
        new_d["inputs"]["shifts"] = ["early", "late"]  # what today's plan_week writes
        old_d = P.make_plan()  # the older shape: no inputs.shifts
        m_new = R.create_meeting(engine, week=P.WEEK, borough=P.BOROUGH, chair="Chair A", created_by="clerk", now=NOW)
        v_new = R.save_plan_version(engine, m_new, new_d, created_by="clerk", now=NOW)
        m_old = R.create_meeting(engine, week="2026-W49", borough=P.BOROUGH, chair="Chair A", created_by="clerk",
                                 now=NOW)
        v_old = R.save_plan_version(engine, m_old, {**old_d, "week": "2026-W49"}, created_by="clerk", now=NOW)
        t_new = R.load_typed_plan(engine, m_new, v_new)
        t_old = R.load_typed_plan(engine, m_old)
        assert isinstance(t_new, Plan) and t_new.to_json() == R.load_plan(engine, m_new, v_new) == new_d
        assert t_old.to_json() == {**old_d, "week": "2026-W49"}
        # where they overlap they are equal; only the week and the new key differ
        assert t_new.assignments == t_old.assignments and t_new.duty == t_old.duty
        assert t_new.candidates == t_old.candidates and t_new.unassigned == t_old.unassigned
        assert t_new.cameras == t_old.cameras and t_new.report == t_old.report and t_new.notes == t_old.notes
        assert {k: v for k, v in t_new.inputs.items() if k != "shifts"} == dict(t_old.inputs)
        assert t_new.shifts == t_old.shifts == ("early", "late")
        assert (t_new.week, t_old.week) == (P.WEEK, "2026-W49")
        # a stored plan whose JSON is not a plan (its sha256 made to match) is refused naming meeting and version
        bad = {**old_d, "week": "2026-W49", "assignments": [1, 2]}
        with engine.begin() as conn:
            conn.execute(update(T.plan_versions).where(T.plan_versions.c.meeting_id == m_old)
                         .values(plan_json=json.dumps(bad), plan_sha256=R.plan_digest(bad)))
        for read in (R.load_plan, R.load_typed_plan):
            with pytest.raises(TaskingError, match=f"version {v_old} of meeting {m_old}: the stored plan is not a plan"):
                read(engine, m_old, v_old)
    finally:
        engine.dispose()
