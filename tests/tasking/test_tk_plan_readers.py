"""Review, pack and records read the typed plan: a Plan and its dict give the same output, and plans of the
older shape (assignments without visits, candidates without place_type, inputs without cell_size_m or
harm_index, no objective_units) read with the defaults the dict readers used."""

from __future__ import annotations

import datetime as dt

import _tk_plans as P
import pandas as pd
import pytest

from spatial.store import connect
from tasking import records as R
from tasking._errors import TaskingError
from tasking.pack import build_pack, plan_csv, plan_geojson
from tasking.plan import OBJECTIVE_UNITS, Assignment, Candidate, Plan
from tasking.review import candidate_polygons, delivery

NOW = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
ST1 = f"ST-c{P.CELL_X}_{P.CELL_Y}"


def _csv_rows(plan) -> pd.DataFrame:
    import io

    return pd.read_csv(io.StringIO(plan_csv(plan)), keep_default_na=False, na_values=[""])


def test_an_assignment_without_visits_counts_one_visit_as_the_dict_readers_did():
    d = P.make_plan()
    del d["assignments"][0]["visits"]  # W01 at ST1 Mon early: 2 visits in today's plans
    a = Plan.from_json(d).assignments[0]
    assert isinstance(a, Assignment) and a.visits == 1 and not a.has("visits")
    assert "visits" not in Plan.from_json(d).to_json()["assignments"][0]  # still absent when written back
    # the pack's CSV, the review's polygons and the patrol log's match all count it as one visit
    rows = _csv_rows(d)
    assert rows.loc[(rows["agent_id"] == "W01") & (rows["day"] == "Mon"), "visits"].tolist() == [1]
    polys = candidate_polygons(d).set_index("candidate_id")
    assert polys.loc[ST1, "planned_visits"] == 1 + 1  # Mon (absent: 1) + Tue (1)
    planned, n, note = R._match(Plan.from_json(d), "W01", ST1, "2026-11-23", "early")
    assert (planned, n, note) == (True, 1, "in the approved plan: 1 visit planned")
    # with the key the same readers see the stored number
    assert candidate_polygons(P.make_plan()).set_index("candidate_id").loc[ST1, "planned_visits"] == 2 + 1


def test_delivery_keeps_its_own_reading_of_absent_visits():
    """Delivery sums the stored rows: a row without visits plans none; no row with visits is an error."""
    d = P.make_plan()
    del d["assignments"][0]["visits"]
    logs = pd.DataFrame({"agent_id": ["W01"], "candidate_id": [ST1], "date": ["2026-11-23"], "shift": ["early"],
                         "visits": [1], "minutes": [20.0]})
    t = delivery(Plan.from_json(d), logs).totals
    assert t["planned_visits"] == 1 + 3 + 1 + 1  # the other four rows; the row without visits plans 0
    assert t["delivered_visits"] == 0 and t["slots_planned"] == 5
    for a in d["assignments"]:
        a.pop("visits", None)
    with pytest.raises(TaskingError, match=r"plan.assignments lack \['visits'\]"):
        delivery(Plan.from_json(d), logs)


def test_absent_place_type_reads_as_the_old_defaults():
    d = P.make_plan()
    del d["candidates"][0]["place_type"]  # the candidate of ST1
    del d["assignments"][1]["place_type"]  # W01 at ST1 Tue late: falls back to the candidate's (absent: None)
    d["assignments"][0]["place_type"] = None  # an explicit None stays None, not the candidate's
    c = Plan.from_json(d).candidates[0]
    assert isinstance(c, Candidate) and c.place_type is None and not c.has("place_type")
    # the review's polygons: a candidate without a type is a street patch (as `c.get("place_type", "street")`)
    assert candidate_polygons(d).set_index("candidate_id").loc[ST1, "place_type"] == "street"
    rows = _csv_rows(d).set_index(["agent_id", "day"])
    assert pd.isna(rows.loc[("W01", "Tue"), "place_type"]) and pd.isna(rows.loc[("W01", "Mon"), "place_type"])
    # an assignment without its own type, of a candidate with one, takes the candidate's
    d2 = P.make_plan()
    del d2["assignments"][4]["place_type"]  # PP01 at the park
    d2["candidates"][2]["place_type"] = "park"
    assert _csv_rows(d2).set_index("agent_id").loc["PP01", "place_type"] == "park"
    # and the same for the ward code
    d2["candidates"][2]["ward_code"] = "E05009999"
    del d2["assignments"][4]["ward_code"]
    assert _csv_rows(d2).set_index("agent_id").loc["PP01", "ward_code"] == "E05009999"


def test_inputs_without_cell_size_or_harm_index_read_their_defaults():
    d = P.make_plan()
    d["inputs"]["cell_size_m"] = 100.0
    p = Plan.from_json(d)
    assert (p.cell_size_m, p.harm_index) == (100.0, "cchi")
    # ST1 is two cells: with 100 m cells 2 x 100 x 100 m
    assert candidate_polygons(p).set_index("candidate_id").loc[ST1].geometry.area == pytest.approx(20_000.0)
    del d["inputs"]["cell_size_m"], d["inputs"]["harm_index"]
    p = Plan.from_json(d)
    assert (p.cell_size_m, p.harm_index) == (150.0, "cchi")
    assert candidate_polygons(p).set_index("candidate_id").loc[ST1].geometry.area == pytest.approx(45_000.0)
    d["inputs"]["harm_index"] = "onscsi"
    assert Plan.from_json(d).harm_index == "onscsi"


def test_objective_units_absent_reads_the_words_the_pack_always_printed():
    d = P.make_plan()
    assert "(test units)" in build_pack(d).summary["Objective"]
    del d["objective_units"]
    p = Plan.from_json(d)
    assert p.objective_units == OBJECTIVE_UNITS and "objective_units" not in p.to_json()
    assert build_pack(p).summary["Objective"] == f"12.5 ({OBJECTIVE_UNITS})"


def test_a_plan_and_its_dict_give_the_same_pack_exports_and_review():
    d = P.make_plan()
    p = Plan.from_json(d)
    assert plan_csv(p) == plan_csv(d)
    assert plan_geojson(p) == plan_geojson(d)
    a, b = build_pack(p, generated_at=NOW), build_pack(d, generated_at=NOW)
    assert a.summary == b.summary and a.solver == b.solver and a.plain == b.plain and a.meta == b.meta
    pd.testing.assert_frame_equal(a.hotspots, b.hotspots)
    pd.testing.assert_frame_equal(a.assignments, b.assignments)
    pd.testing.assert_frame_equal(a.unassigned, b.unassigned)
    pd.testing.assert_frame_equal(a.cameras, b.cameras)
    assert a.meta["plan_sha256"] == R.plan_digest(d) == R.plan_digest(p)
    pd.testing.assert_frame_equal(candidate_polygons(p).drop(columns="geometry"),
                                  candidate_polygons(d).drop(columns="geometry"))


def test_coerce_reads_once_and_keeps_partial_plans_as_they_were():
    p = Plan.from_json(P.make_plan())
    assert Plan.coerce(p) is p
    partial = {"candidates": [{"candidate_id": "C1", "name": "hot patch"}],
               "assignments": [{"agent_id": "W01", "candidate_id": "C1", "visits": 2}]}
    q = Plan.coerce(partial)
    assert q.week == "" and not q.has("week") and q.to_json() == partial
    assert q.assignments[0].visits == 2 and q.candidates[0].name == "hot patch"
    with pytest.raises(ValueError, match="plan was a list"):
        Plan.coerce([1, 2])  # type: ignore[arg-type]


def test_records_save_a_typed_plan_and_refuse_one_whose_rows_do_not_read(db_url):
    engine = connect(db_url)
    try:
        meeting = R.create_meeting(engine, week=P.WEEK, borough=P.BOROUGH, chair="Chair A", created_by="clerk",
                                   now=NOW)
        d = P.make_plan()
        v = R.save_plan_version(engine, meeting, Plan.from_json(d), created_by="clerk", now=NOW)
        assert R.load_plan(engine, meeting, v) == d
        assert R.save_plan_version(engine, meeting, d, created_by="clerk", now=NOW) == v  # the same plan
        versions = R.list_plan_versions(engine, meeting)
        assert versions.loc[versions["version"] == v, "objective"].item() == 12.5
        with pytest.raises(TaskingError, match="not a plan hotspot-tasking can read"):
            R.save_plan_version(engine, meeting, {**d, "assignments": [1, 2]}, created_by="clerk", now=NOW)
        with pytest.raises(TaskingError, match="plan.week was '2026-W01'"):
            R.save_plan_version(engine, meeting, {**d, "week": "2026-W01"}, created_by="clerk", now=NOW)
        res = R.approve_week_plan(engine, Plan.from_json(d), user="Chair A", now=NOW)
        assert (res.meeting_id, res.version) == (meeting, v)
    finally:
        engine.dispose()
