"""Meeting records on SQLite and PostgreSQL: schema, versions, approval, decisions, patrol logs, export audit.

Every test taking ``db_url`` runs once per back end (the PostgreSQL run uses a
fresh throwaway database and is skipped locally, but fails in CI, when the
server binaries are missing).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import _tk_plans as P
import pandas as pd
import pytest
from sqlalchemy import inspect, text

from spatial.store import connect
from spatial.store.db import current_revision, head_revision, upgrade
from tasking import records as R
from tasking._errors import TaskingError

NOW = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
MEETING_TABLES = {"meetings", "plan_versions", "approvals", "decisions", "patrol_logs", "review_notes",
                  "export_audit"}


@pytest.fixture
def engine(db_url):
    eng = connect(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def meeting(engine) -> int:
    return R.create_meeting(engine, week=P.WEEK, borough=P.BOROUGH, chair="Chair A", created_by="clerk", now=NOW)


# --------------------------------------------------------------------------
# schema
# --------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:Did not recognize type 'geometry'")
def test_migration_0002_creates_the_tables_and_matches_metadata(engine):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from spatial.store.tables import metadata

    assert current_revision(engine) == head_revision() and int(head_revision()) >= 2
    assert MEETING_TABLES <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)

    def postgis_extra(d) -> bool:  # what v0001 adds in PostgreSQL on purpose, outside the shared metadata
        if not isinstance(d, tuple):
            return False
        # and what v0010 adds: generated geometry columns with GiST indexes (incidents, area layers and units,
        # stop-and-search points), PostgreSQL-only by design
        geo_tables = {"incidents", "area_layers", "area_units", "stop_searches"}
        return ((d[0] == "remove_table" and d[1].name == "spatial_ref_sys")
                or (d[0] in ("remove_index", "add_index") and d[1].name in {f"ix_{t}_geom" for t in geo_tables})
                or (d[0] in ("remove_column", "add_column") and d[2] in geo_tables and d[3].name == "geom"))

    assert [d for d in diffs if not postgis_extra(d)] == []


def test_migration_0002_downgrades_and_upgrades_again(sqlite_url):
    from alembic import command

    from spatial.store.db import _alembic_config

    eng = connect(sqlite_url)
    cfg = _alembic_config()
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    names = set(inspect(eng).get_table_names())
    assert not (MEETING_TABLES & names) and "incidents" in names
    upgrade(eng)
    assert MEETING_TABLES <= set(inspect(eng).get_table_names())


# --------------------------------------------------------------------------
# meetings and plan versions
# --------------------------------------------------------------------------
def test_meeting_round_trip_and_one_meeting_per_borough_week(engine, meeting):
    m = R.get_meeting(engine, meeting)
    assert (m["week"], m["borough"], m["chair"], m["status"], m["created_by"]) == \
        (P.WEEK, P.BOROUGH, "Chair A", "draft", "clerk")
    assert m["created_at"] == pd.Timestamp(NOW)
    assert R.find_meeting(engine, week=P.WEEK, borough=P.BOROUGH) == meeting
    assert R.find_meeting(engine, week="2026-W49", borough=P.BOROUGH) is None
    with pytest.raises(TaskingError, match="already has a meeting"):
        R.create_meeting(engine, week=P.WEEK, borough=P.BOROUGH, chair="Chair B")
    with pytest.raises(TaskingError, match="week was '2026-48'"):
        R.create_meeting(engine, week="2026-48", borough=P.BOROUGH, chair="Chair B")
    with pytest.raises(TaskingError, match="chair is empty"):
        R.create_meeting(engine, week="2026-W49", borough=P.BOROUGH, chair="  ")
    with pytest.raises(TaskingError, match="meeting_id 999"):
        R.get_meeting(engine, 999)
    listed = R.list_meetings(engine)
    assert listed["meeting_id"].tolist() == [meeting] and listed["status"].tolist() == ["draft"]


def test_plan_versions_increase_and_identical_plans_share_a_sha(engine, meeting):
    a, b = P.make_plan(), P.make_plan(variant=1)
    assert R.save_plan_version(engine, meeting, a, created_by="analyst", now=NOW) == 1
    # the same content again (only solver timings differ) is not a new version
    a_again = {**a, "timings_s": {"build": 9.0, "solve": 9.0}}
    assert R.save_plan_version(engine, meeting, a_again, created_by="analyst") == 1
    assert R.save_plan_version(engine, meeting, b, created_by="analyst") == 2
    assert R.save_plan_version(engine, meeting, a, created_by="chair", note="back to A") == 3
    v = R.list_plan_versions(engine, meeting)
    assert v["version"].tolist() == [1, 2, 3]
    assert v["plan_sha256"].tolist() == [R.plan_digest(a), R.plan_digest(b), R.plan_digest(a)]
    assert R.plan_digest(a) != R.plan_digest(b)
    assert v["plan_sha256"].iloc[0] == hashlib.sha256(
        json.dumps({k: x for k, x in a.items() if k != "timings_s"}, sort_keys=True, separators=(",", ":"),
                   ensure_ascii=False).encode()).hexdigest()
    assert v["objective"].tolist() == pytest.approx([12.5, 13.5, 12.5])
    assert v["created_by"].tolist() == ["analyst", "analyst", "chair"]
    assert not v["approved"].any()
    assert R.load_plan(engine, meeting, 2) == json.loads(json.dumps(b))
    assert R.load_plan(engine, meeting) == json.loads(json.dumps(a))  # latest = 3 = A
    with pytest.raises(TaskingError, match="plan.week was '2026-W49'"):
        R.save_plan_version(engine, meeting, P.make_plan(week="2026-W49"), created_by="analyst")
    with pytest.raises(TaskingError, match="plan.assignments is missing"):
        R.save_plan_version(engine, meeting, {"week": P.WEEK}, created_by="analyst")
    with pytest.raises(TaskingError, match="no version 7"):
        R.load_plan(engine, meeting, 7)


def test_a_tampered_plan_is_detected(engine, meeting):
    R.save_plan_version(engine, meeting, P.make_plan(), created_by="analyst")
    with engine.begin() as conn:  # someone edits the stored JSON behind the application's back
        stored = conn.execute(text("SELECT plan_json FROM plan_versions")).scalar_one()
        assert '"visits":3' in stored
        conn.execute(text("UPDATE plan_versions SET plan_json = :t"), {"t": stored.replace('"visits":3', '"visits":9')})
    with pytest.raises(TaskingError, match="does not match its sha256"):
        R.load_plan(engine, meeting, 1)


# --------------------------------------------------------------------------
# approval
# --------------------------------------------------------------------------
def test_only_the_latest_version_is_approved_and_only_once(engine, meeting):
    with pytest.raises(TaskingError, match="no plan versions"):
        R.approve(engine, meeting, 1, approved_by="Chair A", role="chair")
    R.save_plan_version(engine, meeting, P.make_plan(), created_by="analyst")
    R.save_plan_version(engine, meeting, P.make_plan(variant=1), created_by="analyst")
    with pytest.raises(TaskingError, match="version 1 is not the latest version \\(2\\)"):
        R.approve(engine, meeting, 1, approved_by="Chair A", role="chair")
    with pytest.raises(TaskingError, match="version was 5"):
        R.approve(engine, meeting, 5, approved_by="Chair A", role="chair")
    with pytest.raises(TaskingError, match="approved_by is empty"):
        R.approve(engine, meeting, 2, approved_by="", role="chair")
    assert R.approved_plan(engine, meeting) is None
    rec = R.approve(engine, meeting, 2, approved_by="Chair A", role="chair", now=NOW)
    assert rec["version"] == 2 and rec["approved_at"] == pd.Timestamp(NOW)
    assert R.get_meeting(engine, meeting)["status"] == "approved"
    with pytest.raises(TaskingError, match="already approved by Chair A"):
        R.approve(engine, meeting, 2, approved_by="Chair B", role="chair")
    ap = R.list_approvals(engine, meeting)
    assert ap[["version", "approved_by", "role"]].values.tolist() == [[2, "Chair A", "chair"]]
    assert ap["plan_sha256"].iloc[0] == R.plan_digest(P.make_plan(variant=1))
    # a re-plan after approval: back to draft, the approval stays in force until the new one is approved
    R.save_plan_version(engine, meeting, P.make_plan(variant=2), created_by="analyst")
    assert R.get_meeting(engine, meeting)["status"] == "draft"
    version, plan = R.approved_plan(engine, meeting)
    assert version == 2 and plan == json.loads(json.dumps(P.make_plan(variant=1)))
    with pytest.raises(TaskingError, match="already approved"):
        R.approve(engine, meeting, 2, approved_by="Chair A", role="chair")
    R.approve(engine, meeting, 3, approved_by="Chair A", role="chair")
    assert R.approved_plan(engine, meeting)[0] == 3
    assert R.list_plan_versions(engine, meeting)["approved"].tolist() == [False, True, True]


def test_a_reviewed_meeting_is_closed(engine, meeting):
    with pytest.raises(TaskingError, match="no approved plan"):
        R.mark_reviewed(engine, meeting, by="Chair A")
    R.save_plan_version(engine, meeting, P.make_plan(), created_by="analyst")
    R.approve(engine, meeting, 1, approved_by="Chair A", role="chair")
    R.mark_reviewed(engine, meeting, by="Chair A")
    assert R.get_meeting(engine, meeting)["status"] == "reviewed"
    with pytest.raises(TaskingError, match="reviewed and closed"):
        R.save_plan_version(engine, meeting, P.make_plan(variant=1), created_by="analyst")
    notes = R.list_review_notes(engine, meeting)
    assert notes["text"].tolist() == ["meeting marked reviewed by Chair A"]


# --------------------------------------------------------------------------
# decisions and review notes
# --------------------------------------------------------------------------
def test_decisions_are_recorded_updated_and_carried_over(engine, meeting):
    earlier = R.create_meeting(engine, week="2026-W47", borough=P.BOROUGH, chair="Chair A")
    old = R.add_decision(engine, earlier, action="Ask highways to fix the lights on Golborne Road",
                         owner="Highways", due="2026-11-20", created_by="Chair A", now=NOW)
    new = R.add_decision(engine, meeting, action="Warden visibility at ST-c3504_1190 after 18:00",
                         owner="Warden supervisor", due=dt.date(2026, 11, 27), candidate_id="ST-c3504_1190",
                         created_by="Chair A", now=NOW)
    later = NOW + dt.timedelta(days=3)
    rec = R.update_decision(engine, new, status="done", outcome="visits logged every evening",
                            updated_by="Warden supervisor", now=later)
    assert rec["status"] == "done" and rec["updated_by"] == "Warden supervisor"
    assert rec["updated_at"] == pd.Timestamp(later) and rec["created_at"] == pd.Timestamp(NOW)
    d = R.list_decisions(engine, meeting_id=meeting)
    assert d[["action", "owner", "status", "candidate_id", "outcome"]].values.tolist() == [
        ["Warden visibility at ST-c3504_1190 after 18:00", "Warden supervisor", "done", "ST-c3504_1190",
         "visits logged every evening"]]
    assert d["due_date"].tolist() == [dt.date(2026, 11, 27)]
    carried = R.list_decisions(engine, borough=P.BOROUGH, status="open", before_week=P.WEEK)
    assert carried["decision_id"].tolist() == [old] and carried["week"].tolist() == ["2026-W47"]
    with pytest.raises(TaskingError, match="status was 'finished'"):
        R.update_decision(engine, old, status="finished", updated_by="x")
    with pytest.raises(TaskingError, match="give at least one"):
        R.update_decision(engine, old, updated_by="x")
    with pytest.raises(TaskingError, match="decision_id 999"):
        R.update_decision(engine, 999, status="done", updated_by="x")
    with pytest.raises(TaskingError, match="due was '27/11/2026'"):
        R.add_decision(engine, meeting, action="a", owner="b", due="27/11/2026", created_by="c")
    with pytest.raises(TaskingError, match="owner is empty"):
        R.add_decision(engine, meeting, action="a", owner="", due="2026-11-27", created_by="c")


def test_review_notes_round_trip(engine, meeting):
    nid = R.add_review_note(engine, meeting, author="Analyst", text="Burglary fell in the tasked patch",
                            section="outcome", candidate_id="ST-c3504_1190", now=NOW)
    notes = R.list_review_notes(engine, meeting)
    assert notes[["note_id", "section", "candidate_id", "text", "author"]].values.tolist() == [
        [nid, "outcome", "ST-c3504_1190", "Burglary fell in the tasked patch", "Analyst"]]
    with pytest.raises(TaskingError, match="section was 'misc'"):
        R.add_review_note(engine, meeting, author="A", text="t", section="misc")


# --------------------------------------------------------------------------
# patrol logs
# --------------------------------------------------------------------------
def test_patrol_logs_are_checked_against_the_approved_plan(engine, meeting):
    plan = P.make_plan()
    st1 = plan["assignments"][0]["candidate_id"]
    before = R.log_patrol(engine, meeting, agent_id="W01", candidate_id=st1, date="2026-11-23", shift="early",
                          visits=2, minutes=30, logged_by="W01")
    assert not before["planned"] and "no approved plan" in before["match_note"] and before["version"] is None
    R.save_plan_version(engine, meeting, plan, created_by="analyst")
    R.approve(engine, meeting, 1, approved_by="Chair A", role="chair")
    hit = R.log_patrol(engine, meeting, agent_id="W01", candidate_id=st1, date=dt.date(2026, 11, 23),
                       shift="early", visits=2, minutes=31.5, logged_by="W01", note="quiet")
    assert hit["planned"] and hit["planned_visits"] == 2 and hit["version"] == 1
    wrong_slot = R.log_patrol(engine, meeting, agent_id="W01", candidate_id=st1, date="2026-11-23", shift="late",
                              visits=1, minutes=15, logged_by="W01")
    assert not wrong_slot["planned"]
    assert "planned at" in wrong_slot["match_note"] and "2026-11-23 early" in wrong_slot["match_note"]
    stranger = R.log_patrol(engine, meeting, agent_id="W99", candidate_id=st1, date="2026-11-23", shift="early",
                            visits=1, minutes=15, logged_by="W99")
    assert not stranger["planned"] and "W99 has no duty" in stranger["match_note"]
    elsewhere = R.log_patrol(engine, meeting, agent_id="W01", candidate_id="ST-c1_1", date="2026-11-23",
                             shift="early", visits=1, minutes=15, logged_by="W01")
    assert not elsewhere["planned"] and "not a candidate" in elsewhere["match_note"]
    with pytest.raises(TaskingError, match="date was 2026-11-30"):
        R.log_patrol(engine, meeting, agent_id="W01", candidate_id=st1, date="2026-11-30", shift="early",
                     visits=1, minutes=15, logged_by="W01")
    with pytest.raises(TaskingError, match="shift was 'night'"):
        R.log_patrol(engine, meeting, agent_id="W01", candidate_id=st1, date="2026-11-23", shift="night",
                     visits=1, minutes=15, logged_by="W01")
    with pytest.raises(TaskingError, match="visits was -1"):
        R.log_patrol(engine, meeting, agent_id="W01", candidate_id=st1, date="2026-11-23", shift="early",
                     visits=-1, minutes=15, logged_by="W01")
    with pytest.raises(TaskingError, match="minutes was 'long'"):
        R.log_patrol(engine, meeting, agent_id="W01", candidate_id=st1, date="2026-11-23", shift="early",
                     visits=1, minutes="long", logged_by="W01")
    logs = R.list_patrol_logs(engine, meeting)
    assert len(logs) == 5
    assert logs["planned"].tolist() == [False, True, False, False, False]
    assert logs["date"].tolist() == ["2026-11-23"] * 5
    row = logs[logs["log_id"] == hit["log_id"]].iloc[0]
    assert (row["agent_id"], row["shift"], row["visits"], row["minutes"], row["planned_visits"], row["note"],
            row["version"]) == ("W01", "early", 2, 31.5, 2, "quiet", 1)


# --------------------------------------------------------------------------
# export audit
# --------------------------------------------------------------------------
def test_exports_are_audited_with_the_file_sha256(engine, meeting, tmp_path):
    from tasking.pack import export_pack

    plan = P.make_plan()
    R.save_plan_version(engine, meeting, plan, created_by="analyst")
    res = export_pack(plan, tmp_path / "plan.csv", format="csv", user="analyst1", role="analyst", engine=engine,
                      now=NOW)
    res2 = export_pack(plan, tmp_path / "plan.geojson", format="geojson", user="chair1", role="chair",
                       engine=engine)
    audit = R.list_exports(engine)
    assert audit["export_id"].tolist() == [res2.export_id, res.export_id]
    csv_row = audit[audit["kind"] == "csv"].iloc[0]
    assert csv_row["file_sha256"] == hashlib.sha256((tmp_path / "plan.csv").read_bytes()).hexdigest() == res.sha256
    assert csv_row["file_bytes"] == (tmp_path / "plan.csv").stat().st_size
    assert (csv_row["exported_by"], csv_row["role"], csv_row["week"], csv_row["meeting_id"], csv_row["version"]) == \
        ("analyst1", "analyst", P.WEEK, meeting, 1)
    assert csv_row["exported_at"] == pd.Timestamp(NOW)
    assert csv_row["row_counts"] == {"assignments": len(plan["assignments"])}
    assert csv_row["plan_sha256"] == R.plan_digest(plan)
    assert not csv_row["includes_sensitive_aggregates"]
    gj_row = audit[audit["kind"] == "geojson"].iloc[0]
    assert gj_row["file_sha256"] == R.file_sha256(tmp_path / "plan.geojson")
    assert R.list_exports(engine, user="chair1")["kind"].tolist() == ["geojson"]
    with pytest.raises(TaskingError, match="kind was 'docx'"):
        R.record_export(engine, user="a", role="b", kind="docx", path=tmp_path / "plan.csv", row_counts={},
                        includes_sensitive_aggregates=False)
    with pytest.raises(TaskingError, match="not a file"):
        R.record_export(engine, user="a", role="b", kind="csv", path=tmp_path / "missing.csv", row_counts={},
                        includes_sensitive_aggregates=False)


def test_a_plan_stored_with_the_legacy_digest_still_loads_and_two_identical_solves_match(tmp_path) -> None:
    """Digests leave out nested solver seconds (issue 15.3); a version stored with the older rule still loads."""
    from sqlalchemy import update

    from spatial.store import tables as T
    engine = connect(f"sqlite:///{tmp_path / 'legacy.sqlite'}")
    plan = {"week": "2026-W49", "borough": "E09000020", "assignments": [], "objective": 1.0,
            "greedy": {"objective": 1.0, "seconds": 1.25}, "cctv": {"sites": [], "seconds": 0.04}}
    meeting_id = R.create_meeting(engine, week="2026-W49", borough="E09000020", chair="Chair")
    R.save_plan_version(engine, meeting_id, plan, created_by="Chair")
    again = {**plan, "greedy": {"objective": 1.0, "seconds": 2.5}, "cctv": {"sites": [], "seconds": 0.09}}
    assert R.plan_digest(again) == R.plan_digest(plan)
    legacy = hashlib.sha256(json.dumps({k: v for k, v in plan.items()}, sort_keys=True, separators=(",", ":"),
                                       ensure_ascii=False, default=str).encode()).hexdigest()
    with engine.begin() as conn:  # as a version saved before the change stored it
        conn.execute(update(T.plan_versions).values(plan_sha256=legacy))
    assert R.load_plan(engine, meeting_id, 1)["greedy"]["seconds"] == 1.25
    with engine.begin() as conn:
        conn.execute(update(T.plan_versions).values(plan_sha256="0" * 64))
    with pytest.raises(TaskingError, match="altered outside"):
        R.load_plan(engine, meeting_id, 1)
