"""The account and audit attacks of issue 13, re-run against the product (bounded: about a minute in all).

Each test is one attack of the attack run that broke the product before the
fix (SECURITY.md, "What was tried and what holds"):

1. parallel guessing beats the lock-out (SQLite and PostgreSQL, 30 threads);
2. an extra space, a capital or a full-width letter in the name beats it;
7. ``INSERT OR REPLACE`` rewrites audit rows, and edits/deletions/back-dated
   rows made with file access go unseen (``hotspot-tasking audit verify``);
8. the time of a refusal tells unknown, locked and disabled accounts apart;

plus trivial passwords, a patrol logged for a future date, a world-readable
SQLite store, and the PostgreSQL read-only GIS role.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import statistics
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import make_url, text

from spatial.store import accounts as A
from spatial.store import audit, connect

PW = "tangerine bicycle lamp"
ADMIN = {"actor": "root", "actor_role": "operator"}
THREADS = 30


@pytest.fixture
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fast argon2 for the thread attacks (the race does not depend on the cost; 30 x 64 MiB would)."""
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(A, "_HASHER", fast)
    monkeypatch.setattr(A, "_DUMMY_HASH", fast.hash("not a password of anyone"))


def _parallel(fn, args: list) -> list:
    """Run ``fn(arg)`` in one thread per argument, all released at once; results (or exceptions) in order."""
    gate = threading.Barrier(len(args))
    out: list = [None] * len(args)

    def run(k: int) -> None:
        gate.wait()
        try:
            out[k] = fn(args[k])
        except Exception as exc:  # noqa: BLE001 - the result is the exception
            out[k] = exc

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(args))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return out


# --------------------------------------------------------------------------- 1. parallel guessing
@pytest.mark.usefixtures("cheap_hashes")
def test_thirty_parallel_wrong_guesses_lock_the_account_after_exactly_five(db_url) -> None:
    engine = connect(db_url)
    A.add_user(engine, "jo smith", role="chair", password=PW, **ADMIN)
    policy = A.LockoutPolicy(max_failures=5, window_minutes=15, lock_minutes=15)

    def guess(k: int) -> str:
        try:
            A.authenticate(engine, "jo smith", f"wrong guess {k:02d}!", policy=policy)
        except A.SignInRefused as exc:
            return exc.reason
        return "IN"

    reasons = Counter(_parallel(guess, list(range(THREADS))))
    assert reasons == {"password": 5, "locked": THREADS - 5}, reasons  # before: 30 x "password", never locked
    with pytest.raises(A.SignInRefused) as info:  # the right password is refused while locked
        A.authenticate(engine, "jo smith", PW, policy=policy)
    assert info.value.reason == "locked"
    log = audit.list_audit(engine, action="sign-in")
    assert len(log) == THREADS + 1 and sum(bool(d.get("locked")) for d in log["detail"]) == 1
    assert audit.verify(engine).ok  # 31 concurrent audit rows, one unbroken chain


@pytest.mark.usefixtures("cheap_hashes")
def test_the_right_password_among_parallel_guesses_gets_in_only_before_the_lock(db_url) -> None:
    engine = connect(db_url)
    A.add_user(engine, "sam", role="analyst", password=PW, **ADMIN)
    policy = A.LockoutPolicy(max_failures=5)
    tries = [f"wrong guess {k:02d}!" for k in range(THREADS - 1)] + [PW]

    def attempt(pw: str) -> str:
        try:
            A.authenticate(engine, "sam", pw, policy=policy)
        except A.SignInRefused as exc:
            return exc.reason
        return "IN"

    got = _parallel(attempt, tries)
    counted = Counter(got)
    # At most 5 wrong guesses are ever weighed against the account, in any interleaving; the right one gets in
    # only if it came before the fifth (then the count restarted and at most 5 more were weighed).
    assert counted["password"] <= (10 if got[-1] == "IN" else 5)
    assert counted["password"] + counted["locked"] + counted["IN"] == THREADS
    assert counted["locked"] >= THREADS - 11


# --------------------------------------------------------------------------- 2. the name as typed
@pytest.mark.usefixtures("cheap_hashes")
def test_spacing_case_and_width_variants_of_a_name_share_one_lock_out(sqlite_url) -> None:
    engine = connect(sqlite_url)
    A.add_user(engine, "jo smith", role="chair", password=PW, **ADMIN)
    variants = ["jo  smith", " JO SMITH", "jo\u00a0smith", "Jo\tSmith", "\uff4a\uff4f smith", "jo smith ",
                "JO  SMITH", "jO   sMiTh", "jo\u2003smith", "jo smith", "Jo Smith", "JO\u00a0\u00a0SMITH"]
    reasons = []
    for k, name in enumerate(variants):  # 12 wrong guesses, as in the attack
        with pytest.raises(A.SignInRefused) as info:
            A.authenticate(engine, name, f"wrong guess {k}!")
        reasons.append(info.value.reason)
    assert reasons == ["password"] * 5 + ["locked"] * 7  # before: 12 x "password", never locked
    with pytest.raises(A.SignInRefused, match="Sign-in refused"):
        A.authenticate(engine, "jo smith", PW)
    for clash in ("Jo  Smith", "JO SMITH", "\uff2a\uff4f Smith"):  # ambiguous new names are refused
        with pytest.raises(A.AccountError, match="exists already"):
            A.add_user(engine, clash, role="partner", password=PW, **ADMIN)
    for sneaky in ("jo\u200bsmith", "\u202ejo smith", "jo\x00smith", "jo\u2028smith"):
        with pytest.raises(A.AccountError, match="control or formatting"):
            A.add_user(engine, sneaky, role="partner", password=PW, **ADMIN)
    assert A.list_users(engine)["username"].tolist() == ["jo smith"]


# --------------------------------------------------------------------------- 8. timing
def test_unknown_locked_disabled_and_wrong_password_refusals_take_the_same_time(sqlite_url) -> None:
    """Real argon2 (the product's cost).  Before: locked and disabled ~1 ms against ~680 ms for the others."""
    engine = connect(sqlite_url)
    for name in ("wrong", "locked", "disabled"):
        A.add_user(engine, name, role="analyst", password=PW, **ADMIN)
    A.disable_user(engine, "disabled", **ADMIN)
    many = A.LockoutPolicy(max_failures=10_000)
    lock = A.LockoutPolicy(max_failures=1, lock_minutes=60)
    with pytest.raises(A.SignInRefused):
        A.authenticate(engine, "locked", "lock it now!", policy=lock)
    cases = {"wrong": ("wrong", "not the password"), "unknown": ("nobody here", "not the password"),
             "locked": ("locked", PW), "disabled": ("disabled", PW)}
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(5):  # round-robin, so a busy moment on the shared machine hits every kind alike
        for kind, (name, pw) in cases.items():
            t0 = time.perf_counter()
            with pytest.raises(A.SignInRefused) as info:
                A.authenticate(engine, name, pw, policy=lock if kind == "locked" else many)
            times[kind].append(time.perf_counter() - t0)
            assert info.value.reason == ("password" if kind == "wrong" else kind)
    med = {k: statistics.median(v) for k, v in times.items()}
    base = med["wrong"]
    for kind, m in med.items():
        assert 0.6 * base <= m <= 1.6 * base, f"{kind} refusals take {m * 1e3:.0f} ms, wrong password {base * 1e3:.0f} ms"


# --------------------------------------------------------------------------- passwords
@pytest.mark.parametrize(("password", "why"), [
    ("aaaaaaaaaa", "repeats one character"), ("password12", "commonly used"), (" " * 10, "only spaces"),
    ("Password123", "commonly used"), ("qwertyuiop", "commonly used"), ("1234567890", "commonly used"),
    ("Chair Person One", "user name"), ("zzzz zzzz zz", "repeats one character"), ("short", "too short"),
])
def test_trivial_and_common_passwords_are_refused_with_the_reason(sqlite_url, password: str, why: str) -> None:
    engine = connect(sqlite_url)
    with pytest.raises(A.AccountError, match=why):
        A.add_user(engine, "chair person one", role="chair", password=password, **ADMIN)
    A.add_user(engine, "chair person one", role="chair", password=PW, **ADMIN)
    with pytest.raises(A.AccountError, match=why):
        A.set_password(engine, "chair person one", password, **ADMIN)
    assert len(A.common_passwords()) > 19_000


# --------------------------------------------------------------------------- 7. the audit log
def _sqlite_path(url: str) -> str:
    return str(make_url(url).database)


def _few_audit_rows(engine) -> None:
    A.add_user(engine, "root two", role="chair", password=PW, **ADMIN)
    for k in range(4):
        audit.record(engine, actor="cath", role="chair", action="export", target=f"2026-W4{k}",
                     detail={"k": k})


def test_insert_or_replace_cannot_rewrite_an_audit_row_on_sqlite(sqlite_url) -> None:
    engine = connect(sqlite_url)
    _few_audit_rows(engine)
    db = sqlite3.connect(_sqlite_path(sqlite_url))
    for sql in ("INSERT OR REPLACE INTO audit_log (audit_id, at, actor, role, action, outcome) "
                "VALUES (1, '2026-01-01T00:00:00+00:00', 'forged-actor', 'chair', 'sign-in', 'ok')",
                "REPLACE INTO audit_log (audit_id, at, actor, role, action, outcome) "
                "VALUES (2, '2026-01-01T00:00:00+00:00', 'forged-actor', 'chair', 'sign-in', 'ok')",
                "INSERT INTO audit_log (audit_id, at, actor, role, action, outcome) "
                "VALUES (0, '2020-01-01T00:00:00+00:00', 'back-dated', 'chair', 'approve', 'ok')"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute(sql)
        db.rollback()
    db.close()
    first = audit.list_audit(engine).iloc[-1]
    assert (first["actor"], first["action"]) == ("root", "user-add")  # before: forged-actor / sign-in
    assert audit.verify(engine).ok


def _tamper_sqlite(url: str, *sql: str) -> None:
    db = sqlite3.connect(_sqlite_path(url))
    db.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    db.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    db.execute("DROP TRIGGER IF EXISTS audit_log_no_replace")
    for s in sql:
        db.execute(s)
    db.commit()
    db.close()


def _tamper_pg(url: str, *sql: str) -> None:
    engine = connect(url)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        for s in sql:
            conn.execute(text(s))
        conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))
    engine.dispose()


TAMPERING = {  # what a person with file or database access does, and the row verify must name
    "edit": (["UPDATE audit_log SET actor = 'someone else' WHERE audit_id = 3"], 3),
    "delete": (["DELETE FROM audit_log WHERE audit_id = 2"], 3),
    "back-dated insert": (["INSERT INTO audit_log (audit_id, at, actor, role, action, outcome, prev_hash, row_hash) "
                           "SELECT 100, at, 'forger', role, 'approve', 'ok', prev_hash, row_hash FROM audit_log "
                           "WHERE audit_id = (SELECT max(audit_id) FROM audit_log)"], 100),
    "edit with the hash recomputed by guesswork": (
        ["UPDATE audit_log SET detail = '{\"k\": 9}', row_hash = prev_hash WHERE audit_id = 4"], 4),
    "delete the last row": (["DELETE FROM audit_log WHERE audit_id = (SELECT max(audit_id) FROM audit_log)"], None),
}


@pytest.mark.parametrize("attack", sorted(TAMPERING))
def test_audit_verify_names_the_first_broken_row_after_tampering(db_url, attack: str, capsys) -> None:
    from hotspot_cli.main import main

    engine = connect(db_url)
    _few_audit_rows(engine)
    assert main(["--database", db_url, "audit", "verify"]) == 0
    assert "verified" in capsys.readouterr().out
    sql, first_bad = TAMPERING[attack]
    if db_url.startswith("sqlite"):
        _tamper_sqlite(db_url, *sql)
    else:
        _tamper_pg(db_url, *sql)
    check = audit.verify(engine)
    assert not check.ok and check.first_bad_id == first_bad, check
    assert main(["--database", db_url, "audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "BROKEN" in err and (first_bad is None or f"audit row {first_bad} " in err)


def test_a_rewritten_chain_is_caught_by_the_head_kept_elsewhere(sqlite_url) -> None:
    engine = connect(sqlite_url)
    _few_audit_rows(engine)
    kept = audit.verify(engine).head_hash
    # Someone rewrites row 2 and recomputes every hash after it, and the head: the chain is consistent again ...
    _tamper_sqlite(sqlite_url, "UPDATE audit_log SET actor = 'rewritten' WHERE audit_id = 2")
    rows = audit.list_audit(engine).sort_values("audit_id")
    prev = audit.GENESIS
    db = sqlite3.connect(_sqlite_path(sqlite_url))
    for _, r in rows.iterrows():
        raw = db.execute("SELECT at, actor, role, action, target, outcome, detail FROM audit_log WHERE audit_id = ?",
                         (int(r["audit_id"]),)).fetchone()
        h = audit.chain_hash(prev, dict(zip(audit.CHAINED, raw, strict=True)))
        db.execute("UPDATE audit_log SET prev_hash = ?, row_hash = ? WHERE audit_id = ?", (prev, h, int(r["audit_id"])))
        prev = h
    db.execute("UPDATE audit_head SET head_hash = ?", (prev,))
    db.commit()
    db.close()
    assert audit.verify(engine).ok  # ... so only the head noted earlier shows it
    check = audit.verify(engine, expect_head=kept)
    assert not check.ok and "not in the chain" in check.problem


# --------------------------------------------------------------------------- also
def test_a_patrol_cannot_be_logged_done_for_a_future_date(sqlite_url) -> None:
    from tasking import records
    from tasking._errors import TaskingError

    engine = connect(sqlite_url)
    meeting = records.create_meeting(engine, week="2026-W49", borough="E09000020", chair="cath", now=dt.datetime(2026, 11, 27, tzinfo=dt.UTC))
    tuesday = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
    with pytest.raises(TaskingError, match="future"):
        records.log_patrol(engine, meeting, agent_id="W01", candidate_id="ST-x", date="2026-12-02", shift="early",
                           visits=1, minutes=30, logged_by="wendy", now=tuesday)
    done = records.log_patrol(engine, meeting, agent_id="W01", candidate_id="ST-x", date="2026-12-01",
                              shift="early", visits=1, minutes=30, logged_by="wendy", now=tuesday)
    assert done["log_id"] >= 1 and len(records.list_patrol_logs(engine, meeting)) == 1


def test_a_new_sqlite_store_and_its_wal_files_are_readable_by_the_owner_only(tmp_path: Path) -> None:
    import os

    old = os.umask(0o022)  # a typical login umask: files 0644 unless the product says otherwise
    try:
        url = f"sqlite:///{tmp_path}/var/hotspot.sqlite"
        engine = connect(url)
        A.add_user(engine, "solo", role="chair", password=PW, **ADMIN)
        with engine.connect() as conn:  # keep a connection open so -wal and -shm exist
            conn.execute(text("SELECT count(*) FROM accounts")).scalar_one()
            files = sorted(p.name for p in (tmp_path / "var").iterdir())
            modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "var").iterdir()}
    finally:
        os.umask(old)
    assert {"hotspot.sqlite", "hotspot.sqlite-wal", "hotspot.sqlite-shm"} <= set(files)
    assert all(m == 0o600 for m in modes.values()), modes  # before: 0644, readable by every local user


def test_db_init_makes_a_gis_role_that_reads_only_non_sensitive_views(fresh_pg_url, monkeypatch, capsys) -> None:
    """QGIS's role sees incidents without the sensitive ones, and is refused every table (real PostgreSQL)."""
    from sqlalchemy.exc import ProgrammingError

    from hotspot_cli.main import main
    from spatial.schema import EXTRA_SENSITIVE_ENV, load_taxonomy

    small = Path(__file__).resolve().parents[1] / "data" / "policeuk" / "rbkc_api_2018-06"
    assert main(["--database", fresh_pg_url, "ingest", str(small), "--quiet"]) == 0
    monkeypatch.setenv(EXTRA_SENSITIVE_ENV, "public-order")  # a council's extra flag, before any reflag
    monkeypatch.setenv("HOTSPOT_GIS_ROLE", "qgis_reader")
    assert main(["--database", fresh_pg_url, "db", "init"]) == 0
    assert "read-only GIS role qgis_reader (NOLOGIN)" in capsys.readouterr().out
    hidden = load_taxonomy().sensitive_slugs()
    engine = connect(fresh_pg_url)
    with engine.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM incidents")).scalar_one()
        visible = conn.execute(text("SELECT count(*) FROM incidents WHERE NOT sensitive "
                                    "AND category <> ALL(:h)"), {"h": sorted(hidden)}).scalar_one()
        assert 0 < visible < total
        conn.execute(text("SET ROLE qgis_reader"))
        seen = conn.execute(text("SELECT category, count(*) FROM gis_incidents GROUP BY category")).all()
        assert sum(n for _, n in seen) == visible and not {c for c, _ in seen} & hidden
        assert "public-order" not in {c for c, _ in seen}
        conn.execute(text("SELECT count(*) FROM gis_area_counts")).scalar_one()
        conn.execute(text("SELECT count(*) FROM gis_area_layers")).scalar_one()
        conn.rollback()
        for table in ("incidents", "accounts", "audit_log", "audit_head", "plan_versions", "quarantine"):
            conn.execute(text("SET ROLE qgis_reader"))
            with pytest.raises(ProgrammingError, match="permission denied"):
                conn.execute(text(f"SELECT * FROM {table} LIMIT 1"))
            conn.rollback()
        conn.execute(text("SET ROLE qgis_reader"))
        with pytest.raises(ProgrammingError, match="permission denied"):
            conn.execute(text("CREATE TABLE planted (x int)"))
        conn.rollback()
        can_login = conn.execute(text("SELECT rolcanlogin FROM pg_roles WHERE rolname = 'qgis_reader'")).scalar_one()
    assert can_login is False
    monkeypatch.setenv("HOTSPOT_GIS_PASSWORD", "a long gis pass: it's 'quoted'")
    assert main(["--database", fresh_pg_url, "db", "upgrade"]) == 0
    with engine.connect() as conn:
        assert conn.execute(text("SELECT rolcanlogin FROM pg_roles WHERE rolname = 'qgis_reader'")).scalar_one()
    assert "quoted" not in capsys.readouterr().out
