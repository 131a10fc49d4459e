"""Roles enforced in the data-access layer (``tasking.access``): each role calls the data functions directly.

Store: the real RBKC police.uk API file for June 2018 (street crime, every
category) plus the real RBKC violence and sexual offences files for 2024
(sensitive), and a 2026-W49 plan built from them and approved once.  What a
role may see is checked against the stored rows and the plan read back here,
not against the code under test.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from hotspot_cli.main import main as cli_main
from spatial.store import audit, connect
from spatial.store import queries as Q
from tasking import access, records
from tasking.access import AccessDenied, Viewer
from tasking.resources import load_roster
from ui import planning

REPO = Path(__file__).resolve().parents[2]
SMALL = REPO / "data" / "policeuk" / "rbkc_api_2018-06"
VSO = REPO / "data" / "policeuk" / "rbkc_vso_2024"
WEEK = "2026-W49"
CHAIR = Viewer("cath", "chair")
ANALYST = Viewer("ana", "analyst")
CCTV = Viewer("cam", "cctv")
PARTNER = Viewer("pat", "partner")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any], int]:
    url = f"sqlite:///{tmp_path_factory.mktemp('access') / 'hotspot.sqlite'}"
    assert cli_main(["--database", url, "ingest", str(SMALL), str(VSO), "--quiet"]) == 0
    engine = connect(url)
    outcome = planning.build_plan(planning.read_inputs(engine, borough="E09000020"),
                                  roster=load_roster(planning.roster_path()), week=WEEK)
    assert outcome.plan is not None, outcome.error
    result = access.approve_plan(CHAIR, engine, outcome.plan)
    return engine, outcome.plan, result.meeting_id


def _two_wardens(plan: dict[str, Any]) -> tuple[str, str]:
    counts = pd.Series([a["agent_id"] for a in plan["assignments"]]).value_counts()
    wardens = [a for a in counts.index if a.startswith("W")]
    return wardens[0], wardens[1]


def test_a_wardens_plan_view_holds_no_other_agents_rows(store) -> None:
    engine, plan, meeting_id = store
    me, other = _two_wardens(plan)
    warden = Viewer("wendy", "warden", me)
    _, seen = access.approved_plan(warden, engine, meeting_id)
    expected = [a for a in plan["assignments"] if a["agent_id"] == me]
    assert seen["assignments"] == expected and len(expected) > 0
    assert {a["agent_id"] for a in seen["assignments"]} == {me}
    assert {d["agent_id"] for d in seen["duty"]} <= {me}
    assert {c["candidate_id"] for c in seen["candidates"]} == {a["candidate_id"] for a in expected}
    assert not {"cameras", "unassigned", "metrics"} & set(seen)
    assert other not in repr(seen)  # not even in a text field
    # the chair sees the whole plan, unchanged
    assert access.approved_plan(CHAIR, engine, meeting_id)[1]["assignments"] == plan["assignments"]
    assert access.agent_assignments_for(warden, seen, me) == me
    with pytest.raises(AccessDenied, match=f"not {other}'s"):
        access.agent_assignments_for(warden, seen, other)


def test_a_warden_logs_only_their_own_patrols_and_reads_only_their_logs(store) -> None:
    engine, plan, meeting_id = store
    me, other = _two_wardens(plan)
    warden = Viewer("wendy", "warden", me)
    mine = planning.agent_assignments(plan, me).iloc[0]
    theirs = planning.agent_assignments(plan, other).iloc[0]
    before = len(records.list_patrol_logs(engine, meeting_id))
    with pytest.raises(AccessDenied, match="only their own patrols"):
        access.log_patrol(warden, engine, meeting_id, theirs, agent_id=other)
    assert len(records.list_patrol_logs(engine, meeting_id)) == before  # nothing written
    logged = access.log_patrol(warden, engine, meeting_id, mine, agent_id=me, note="done")
    assert logged["planned"]
    access.log_patrol(CHAIR, engine, meeting_id, theirs, agent_id=other)  # the chair may log for anyone
    logs = records.list_patrol_logs(engine, meeting_id)
    assert set(zip(logs["agent_id"], logs["logged_by"], strict=True)) == {(me, "wendy"), (other, "cath")}
    own = access.patrol_logs(warden, engine, meeting_id)
    assert set(own["agent_id"]) == {me} and len(own) == int((logs["agent_id"] == me).sum())
    assert len(access.patrol_logs(ANALYST, engine, meeting_id)) == len(logs)
    for viewer in (CCTV, PARTNER):
        with pytest.raises(AccessDenied):
            access.patrol_logs(viewer, engine, meeting_id)
        with pytest.raises(AccessDenied):
            access.log_patrol(viewer, engine, meeting_id, mine, agent_id=me)


def test_a_partner_gets_aggregates_without_coordinates_and_suppressed(store) -> None:
    engine, _, _ = store
    counts = access.ward_counts(PARTNER, engine, months=["2024-03"])
    assert not set(access.POINT_COLUMNS) & set(counts.columns)
    # independently: the raw counts of the sensitive rows of that month, by ward and category
    raw = Q.incident_frame(engine, include_sensitive=True, months=["2024-03"])
    raw = raw[raw["category"].isin(counts.loc[counts["sensitive"], "category"])]
    small = raw.groupby(["ward_code", "category"]).size()
    small = small[small < 5]
    assert len(small) > 0  # the real 2024 files have wards with 1-4 of a category
    shown = counts.set_index(["ward_code", "category"])
    for key in small.index:
        assert shown.loc[key, "display"] == "fewer than 5" and shown.loc[key, "count"] is None
    for viewer in (PARTNER, CCTV):
        with pytest.raises(AccessDenied, match="incident points"):
            access.map_points(viewer, engine, months=["2018-06"])
        with pytest.raises(AccessDenied):
            access.approved_plan(viewer, engine, 1)
        with pytest.raises(AccessDenied):
            access.plan_view(viewer, {"assignments": []})


def test_partner_and_cctv_and_warden_write_nothing(store) -> None:
    engine, plan, meeting_id = store
    warden = Viewer("wendy", "warden", _two_wardens(plan)[0])
    n_audit = len(audit.list_audit(engine))
    n_exports = len(records.list_exports(engine))
    for viewer in (PARTNER, CCTV, warden):
        with pytest.raises(AccessDenied, match="approve"):
            access.approve_plan(viewer, engine, plan)
        with pytest.raises(AccessDenied, match="decisions"):
            access.add_decision(viewer, engine, meeting_id, action="x", owner="y", due=dt.date(2026, 12, 4))
        with pytest.raises(AccessDenied, match="review notes"):
            access.add_review_note(viewer, engine, meeting_id, text="x")
        with pytest.raises(AccessDenied, match="export"):
            access.export_bytes(viewer, plan, format="csv", engine=engine)
        with pytest.raises(AccessDenied):
            access.mark_reviewed(viewer, engine, meeting_id)
    assert records.list_decisions(engine, meeting_id=meeting_id).empty
    assert records.list_review_notes(engine, meeting_id).empty
    assert len(records.list_exports(engine)) == n_exports and len(audit.list_audit(engine)) == n_audit


def test_chair_and_analyst_writes_carry_their_name_and_role(store) -> None:
    engine, plan, meeting_id = store
    did = access.add_decision(ANALYST, engine, meeting_id, action="Lighting survey", owner="Highways",
                              due=dt.date(2026, 12, 4))
    row = records.list_decisions(engine, meeting_id=meeting_id).set_index("decision_id").loc[did]
    assert row["created_by"] == "ana"
    data = access.export_bytes(ANALYST, plan, format="csv", engine=engine)
    last = records.list_exports(engine).iloc[-1]
    assert (last["exported_by"], last["role"], last["kind"]) == ("ana", "analyst", "csv") and len(data) > 0
    again = access.approve_plan(ANALYST, engine, plan)
    assert again.already_approved and again.approved_by == "cath"


def test_pages_by_role_and_bad_viewers() -> None:
    assert access.pages_for(CHAIR) == list(access.PAGES)
    assert access.pages_for(CCTV) == ["overview", "hotspots", "cctv"]
    assert access.pages_for(Viewer("w", "warden", "W01")) == ["my_patrols"]
    with pytest.raises(AccessDenied, match="not open to the partner role"):
        access.require_page(PARTNER, "tasking")
    with pytest.raises(AccessDenied, match="without an agent id"):
        Viewer("w", "warden")
    with pytest.raises(AccessDenied, match="sign in"):
        Viewer(" ", "chair")
