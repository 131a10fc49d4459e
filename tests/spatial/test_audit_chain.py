"""Migration 0005: existing audit rows get chained and existing user names normalised, on both back ends."""

from __future__ import annotations

import _builders as B  # first: puts the repository root on sys.path
import pytest
from alembic import command
from sqlalchemy import text

from spatial.store import accounts as A
from spatial.store import audit
from spatial.store.db import _alembic_config, upgrade

PW = "tangerine bicycle lamp"


def _to(engine, revision: str) -> None:
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def test_migration_0005_chains_old_rows_and_normalises_old_names(db_url) -> None:
    engine = B.make_env(db_url).engine
    _to(engine, "0004")
    with engine.begin() as conn:  # what a store written before 0005 holds
        for k in range(3):
            conn.execute(text("INSERT INTO audit_log (at, actor, role, action, outcome, detail) VALUES "
                              "(:at, 'root', 'operator', 'user-add', 'ok', :d)"),
                         {"at": f"2026-11-2{k}T09:00:00+00:00", "d": f'{{"k": {k}}}'})
        for k, name in enumerate(("Jo  Smith", "jo smith", "PAT")):
            conn.execute(text("INSERT INTO accounts (username, role, password_hash, disabled, failed_count, "
                              "created_at, updated_at) VALUES (:u, 'chair', :h, :f, 0, :t, :t)"),
                         {"u": name, "h": A._HASHER.hash(PW), "f": False, "t": f"2026-11-2{k}T09:00:00+00:00"})
    upgrade(engine)
    check = audit.verify(engine)
    assert check.ok and check.rows == 3
    users = A.list_users(engine).set_index("username")
    # "jo smith" is already spelt the normal way, so it keeps the name; "Jo  Smith" is disabled for the operator
    assert bool(users.loc["Jo  Smith", "disabled"]) and not bool(users.loc["jo smith", "disabled"])
    assert A.authenticate(engine, "JO SMITH", PW).username == "jo smith"
    assert A.authenticate(engine, " pat ", PW).username == "PAT"
    assert audit.verify(engine).ok and audit.verify(engine).rows == 5
    _to(engine, "0004")  # and back down, with the append-only triggers still in place
    with engine.begin() as conn, pytest.raises(Exception, match="append-only"):
        conn.execute(text("DELETE FROM audit_log"))
    upgrade(engine)
    assert audit.verify(engine).ok


def test_verify_of_an_empty_log_and_of_a_head_from_the_middle(sqlite_url) -> None:
    engine = B.make_env(sqlite_url).engine
    assert audit.verify(engine, expect_head=audit.GENESIS).ok  # nothing written yet
    audit.record(engine, actor="root", role="operator", action="backup", target="a")
    middle = audit.verify(engine).head_hash
    audit.record(engine, actor="root", role="operator", action="backup", target="b")
    assert audit.verify(engine, expect_head=middle).ok  # an old head stays in the chain
    bad = audit.verify(engine, expect_head="f" * 64)
    assert not bad.ok and "not in the chain" in bad.problem
