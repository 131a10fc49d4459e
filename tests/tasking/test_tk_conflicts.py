"""Two people editing the same plan or decision: optimistic locking, a clear conflict, no lost update.

Runs on SQLite and PostgreSQL.  Every check reads the tables back to show
that the first writer's change survived and the second wrote nothing.
"""

from __future__ import annotations

import datetime as dt
import threading

import _tk_plans as P
import pytest

from spatial.store import connect
from tasking import records as R
from tasking._errors import EditConflict, TaskingError

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def engine(db_url):
    eng = connect(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def meeting(engine) -> int:
    return R.create_meeting(engine, week=P.WEEK, borough=P.BOROUGH, chair="Chair A", now=NOW)


def _versions(engine, meeting_id):
    v = R.list_plan_versions(engine, meeting_id)
    return list(zip(v["version"], v["created_by"], strict=True))


def test_second_editor_from_a_stale_version_is_refused_and_the_first_plan_kept(engine, meeting):
    alice, bob = P.make_plan(variant=1), P.make_plan(variant=2)
    assert R.plan_digest(alice) != R.plan_digest(bob)
    # both opened the week when it had no version
    assert R.save_plan_version(engine, meeting, alice, created_by="Alice", base_version=0, now=NOW) == 1
    with pytest.raises(EditConflict) as err:
        R.save_plan_version(engine, meeting, bob, created_by="Bob", base_version=0, now=NOW)
    msg = str(err.value)
    assert "Alice saved version 1" in msg and "no saved version" in msg and msg.startswith("Not saved")
    assert _versions(engine, meeting) == [(1, "Alice")]
    assert R.plan_digest(R.load_plan(engine, meeting)) == R.plan_digest(alice)
    # Bob reloads (base 1) and saves on top: allowed
    assert R.save_plan_version(engine, meeting, bob, created_by="Bob", base_version=1, now=NOW) == 2
    # saving exactly the latest plan again from a stale base loses nothing and is not a conflict
    assert R.save_plan_version(engine, meeting, bob, created_by="Carol", base_version=0, now=NOW) == 2
    # without base_version (scripts, CLI) the old behaviour stands
    assert R.save_plan_version(engine, meeting, alice, created_by="script", now=NOW) == 3


def test_approving_a_plan_built_on_a_stale_version_is_refused_naming_the_approver(engine, meeting):
    first = R.approve_week_plan(engine, P.make_plan(variant=1), user="Alice", role="chair", base_version=0)
    assert (first.version, first.already_approved) == (1, False)
    with pytest.raises(EditConflict, match=r"Alice saved version 1 at .* \(approved by Alice\)"):
        R.approve_week_plan(engine, P.make_plan(variant=2), user="Bob", role="chair", base_version=0)
    v = R.list_plan_versions(engine, meeting)
    assert v["version"].tolist() == [1] and v["approved"].tolist() == [True]
    assert R.get_meeting(engine, meeting)["status"] == "approved"
    # from the latest version Bob's plan is saved and approved
    second = R.approve_week_plan(engine, P.make_plan(variant=2), user="Bob", role="chair", base_version=1)
    assert second.version == 2 and R.approved_plan(engine, meeting)[0] == 2


def test_approve_refuses_a_version_when_another_was_saved_in_between(engine, meeting):
    R.save_plan_version(engine, meeting, P.make_plan(variant=1), created_by="Alice", base_version=0, now=NOW)
    R.save_plan_version(engine, meeting, P.make_plan(variant=2), created_by="Bob", base_version=1, now=NOW)
    with pytest.raises(EditConflict, match="Bob saved version 2"):
        R.approve(engine, meeting, 1, approved_by="Alice", role="chair", base_version=0, now=NOW)
    with pytest.raises(TaskingError, match="not the latest"):  # without base_version: the plain rule
        R.approve(engine, meeting, 1, approved_by="Alice", role="chair", now=NOW)
    assert R.list_approvals(engine, meeting).empty


def test_decision_edits_from_a_stale_read_are_refused(engine, meeting):
    did = R.add_decision(engine, meeting, action="Fix the lights", owner="Highways", due="2026-12-04",
                         created_by="Alice", now=NOW)
    read = R.list_decisions(engine, meeting_id=meeting).set_index("decision_id").loc[did, "updated_at"]
    later = NOW + dt.timedelta(minutes=5)
    done = R.update_decision(engine, did, updated_by="Alice", status="done", outcome="Lamp replaced",
                             expected_updated_at=read, now=later)
    assert done["status"] == "done"
    with pytest.raises(EditConflict, match=r"changed by Alice at .* \(status now done\)"):
        R.update_decision(engine, did, updated_by="Bob", status="dropped", expected_updated_at=read,
                          now=later + dt.timedelta(minutes=1))
    row = R.list_decisions(engine, meeting_id=meeting).set_index("decision_id").loc[did]
    assert (row["status"], row["outcome"], row["updated_by"]) == ("done", "Lamp replaced", "Alice")
    # Bob re-reads and edits: fine
    fresh = R.update_decision(engine, did, updated_by="Bob", outcome="Lamp replaced; checked at night",
                              expected_updated_at=done["updated_at"], now=later + dt.timedelta(minutes=2))
    assert fresh["updated_by"] == "Bob"
    with pytest.raises(TaskingError, match="does not exist"):
        R.update_decision(engine, 999_999, updated_by="Bob", status="done", expected_updated_at=read)
    with pytest.raises(TaskingError, match="timezone-aware"):
        R.update_decision(engine, did, updated_by="Bob", status="done", expected_updated_at="2026-11-23 10:00")


def test_two_simultaneous_edits_of_one_decision_exactly_one_wins(engine, meeting):
    did = R.add_decision(engine, meeting, action="Clear the bin store", owner="Housing", due="2026-12-04",
                         created_by="Alice", now=NOW)
    read = R.list_decisions(engine, meeting_id=meeting).set_index("decision_id").loc[did, "updated_at"]
    barrier = threading.Barrier(8)
    outcomes: dict[str, str] = {}

    def edit(who: str) -> None:
        barrier.wait()
        try:
            R.update_decision(engine, did, updated_by=who, outcome=f"done by {who}", expected_updated_at=read)
            outcomes[who] = "saved"
        except EditConflict:
            outcomes[who] = "conflict"

    threads = [threading.Thread(target=edit, args=(f"user{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [w for w, o in outcomes.items() if o == "saved"]
    assert len(outcomes) == 8 and len(winners) == 1, outcomes
    row = R.list_decisions(engine, meeting_id=meeting).set_index("decision_id").loc[did]
    assert row["outcome"] == f"done by {winners[0]}" and row["updated_by"] == winners[0]


def test_approvals_and_exports_are_in_the_audit_log(engine, meeting, tmp_path):
    from spatial.store import audit

    R.save_plan_version(engine, meeting, P.make_plan(variant=1), created_by="Alice", now=NOW)
    R.approve(engine, meeting, 1, approved_by="Alice", role="chair", now=NOW)
    out = tmp_path / "pack.csv"
    out.write_text("a,b\n1,2\n")
    R.record_export(engine, user="Bob", role="analyst", kind="csv", path=out, row_counts={"assignments": 1},
                    includes_sensitive_aggregates=False, week=P.WEEK, meeting_id=meeting, version=1, now=NOW)
    log = audit.list_audit(engine)
    assert log[["actor", "role", "action", "outcome"]].values.tolist() == [
        ["Bob", "analyst", "export", "ok"], ["Alice", "chair", "approve", "ok"]]
    assert log["detail"].iloc[0]["sha256"] == R.file_sha256(out)
    assert log["detail"].iloc[1]["version"] == 1 and log["target"].iloc[1] == f"{P.BOROUGH} {P.WEEK}"
    # a refused approval (not the latest) writes nothing: the audit row shares the approval's transaction
    R.save_plan_version(engine, meeting, P.make_plan(variant=2), created_by="Bob", now=NOW)
    with pytest.raises(TaskingError):
        R.approve(engine, meeting, 1, approved_by="Mallory", role="chair", now=NOW)
    assert len(audit.list_audit(engine)) == 2
