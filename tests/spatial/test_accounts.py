"""Accounts (migration 0004): argon2 hashes, lock-out, account changes and their audit rows, on both back ends."""

from __future__ import annotations

import datetime as dt

import _builders as B  # first: puts the repository root on sys.path
import pandas as pd
import pytest
from sqlalchemy import inspect, select, text

from spatial.store import accounts as A
from spatial.store import audit
from spatial.store import tables as T

T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
PW = "correct horse battery"
ADMIN = {"actor": "root", "actor_role": "operator"}


def _at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def test_password_is_stored_as_argon2id_only_and_checks(db_url):
    env = B.make_env(db_url)
    A.add_user(env.engine, "sam", role="chair", password=PW, now=T0, **ADMIN)
    with env.engine.connect() as conn:
        stored = conn.execute(select(T.accounts.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PW not in stored
    assert A.authenticate(env.engine, "sam", PW, now=_at(1)).role == "chair"
    with pytest.raises(A.SignInRefused) as info:
        A.authenticate(env.engine, "sam", "wrong password!", now=_at(2))
    assert info.value.reason == "password"
    with pytest.raises(A.SignInRefused) as unknown:
        A.authenticate(env.engine, "nobody", PW, now=_at(3))
    assert unknown.value.reason == "unknown" and str(unknown.value) == str(info.value)  # same message
    rows = audit.list_audit(env.engine, action="sign-in")
    assert rows["outcome"].tolist() == ["refused", "refused", "ok"]
    assert [d["reason"] for d in rows["detail"][:2]] == ["unknown", "password"]
    every = audit.list_audit(env.engine)
    assert not any(PW in str(v) for v in every.astype(str).to_numpy().ravel())  # the password is never logged


def test_five_failures_in_fifteen_minutes_lock_the_account_for_fifteen_minutes(db_url):
    env = B.make_env(db_url)
    A.add_user(env.engine, "wendy", role="warden", agent_id="w03", password=PW, now=T0, **ADMIN)
    policy = A.LockoutPolicy()
    for k in range(5):
        with pytest.raises(A.SignInRefused):
            A.authenticate(env.engine, "wendy", f"guess number {k}", now=_at(2 * k), policy=policy)
    with pytest.raises(A.SignInRefused) as locked:  # the right password while locked
        A.authenticate(env.engine, "wendy", PW, now=_at(8 + 14), policy=policy)
    assert locked.value.reason == "locked"
    assert A.authenticate(env.engine, "wendy", PW, now=_at(8 + 15.5), policy=policy).agent_id == "W03"
    detail = audit.list_audit(env.engine, action="sign-in")["detail"].tolist()[::-1]
    assert [d.get("locked") for d in detail[:5]] == [False, False, False, False, True]
    assert [d["failures"] for d in detail[:5]] == [1, 2, 3, 4, 5]


def test_failures_outside_the_window_do_not_add_up(sqlite_url):
    env = B.make_env(sqlite_url)
    A.add_user(env.engine, "sam", role="analyst", password=PW, now=T0, **ADMIN)
    policy = A.LockoutPolicy(max_failures=3, window_minutes=10, lock_minutes=5)
    for minutes in (0, 5, 20, 25):  # two runs of two failures, 20 minutes apart
        with pytest.raises(A.SignInRefused):
            A.authenticate(env.engine, "sam", "not the password", now=_at(minutes), policy=policy)
    assert A.authenticate(env.engine, "sam", PW, now=_at(26), policy=policy).username == "sam"
    assert A.LockoutPolicy.from_env({"HOTSPOT_LOCKOUT_MINUTES": "30"}).lock_minutes == 30
    with pytest.raises(A.AccountError, match="HOTSPOT_LOCKOUT_FAILURES"):
        A.LockoutPolicy.from_env({"HOTSPOT_LOCKOUT_FAILURES": "five"})


def test_disable_enable_role_and_password_changes_are_audited(sqlite_url):
    env = B.make_env(sqlite_url)
    A.add_user(env.engine, "pat", role="partner", password=PW, email="Pat@Police.example", now=T0, **ADMIN)
    A.disable_user(env.engine, "pat", now=_at(1), **ADMIN)
    with pytest.raises(A.SignInRefused) as info:
        A.authenticate(env.engine, "pat", PW, now=_at(2))
    assert info.value.reason == "disabled"
    A.enable_user(env.engine, "pat", now=_at(3), **ADMIN)
    A.set_role(env.engine, "pat", "cctv", now=_at(4), **ADMIN)
    A.set_password(env.engine, "pat", "a brand new passphrase", now=_at(5), **ADMIN)
    assert A.authenticate(env.engine, "pat", "a brand new passphrase", now=_at(6)).role == "cctv"
    actions = audit.list_audit(env.engine)["action"].tolist()[::-1]
    assert actions == ["user-add", "user-disable", "sign-in", "user-enable", "user-role", "user-password", "sign-in"]
    assert A.account_for_email(env.engine, "pat@police.EXAMPLE").username == "pat"
    assert A.account_for_email(env.engine, "someone@else.example") is None
    users = A.list_users(env.engine)
    assert "password_hash" not in users.columns and users["role"].tolist() == ["cctv"]


def test_bad_accounts_are_refused_with_the_fix(sqlite_url):
    env = B.make_env(sqlite_url)
    with pytest.raises(A.AccountError, match="agent-id"):
        A.add_user(env.engine, "w", role="warden", password=PW, **ADMIN)
    with pytest.raises(A.AccountError, match="is not one of"):
        A.add_user(env.engine, "x", role="superuser", password=PW, **ADMIN)
    with pytest.raises(A.AccountError, match="at least 10"):
        A.add_user(env.engine, "y", role="chair", password="short", **ADMIN)
    A.add_user(env.engine, "z", role="chair", password=PW, **ADMIN)
    with pytest.raises(A.AccountError, match="exists already"):
        A.add_user(env.engine, "z", role="analyst", password=PW, **ADMIN)
    with pytest.raises(A.AccountError, match="no account named"):
        A.disable_user(env.engine, "ghost", **ADMIN)
    assert audit.list_audit(env.engine, action="user-add")["target"].tolist() == ["z"]


def test_migration_0004_downgrades_and_upgrades_again(db_url):
    from alembic import command

    from spatial.store.db import _alembic_config, upgrade

    env = B.make_env(db_url)
    A.add_user(env.engine, "sam", role="chair", password=PW, **ADMIN)
    cfg = _alembic_config()
    with env.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003")
    assert "accounts" not in inspect(env.engine).get_table_names()
    assert "audit_log" in inspect(env.engine).get_table_names()
    upgrade(env.engine)
    with env.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM accounts")).scalar_one() == 0
    A.add_user(env.engine, "sam", role="chair", password=PW, **ADMIN)
    assert A.get_account(env.engine, "sam").role == "chair"


def test_extra_sensitive_categories_are_flagged_at_ingest_and_by_reflag(sqlite_url, monkeypatch):
    """A council's extra safeguarding category (here: public order) becomes sensitive everywhere."""
    from hotspot_cli.main import main as cli_main
    from spatial.schema import EXTRA_SENSITIVE_ENV, SchemaError, load_taxonomy
    from spatial.store import queries as Q

    small = B.REPO / "data" / "policeuk" / "rbkc_api_2018-06"
    assert cli_main(["--database", sqlite_url, "ingest", str(small), "--quiet"]) == 0
    engine = B.make_env(sqlite_url).engine
    before = Q.map_incidents(engine, months=["2018-06"])
    n_public_order = int((before["category"] == "public-order").sum())
    assert n_public_order > 0

    monkeypatch.setenv(EXTRA_SENSITIVE_ENV, "public-order")
    assert "public-order" in load_taxonomy().sensitive_slugs()
    assert cli_main(["--database", sqlite_url, "db", "reflag"]) == 0
    after = Q.map_incidents(engine, months=["2018-06"])
    assert "public-order" not in set(after["category"]) and len(after) == len(before) - n_public_order
    counts = Q.ward_category_counts(engine, months=["2018-06"])
    po = counts[counts["category"] == "public-order"]
    assert po["sensitive"].all() and set(po.loc[po["count"].isna(), "display"]) <= {"fewer than 5"}
    assert int(pd.to_numeric(po["count"], errors="coerce").fillna(0).sum()) <= n_public_order

    monkeypatch.setenv(EXTRA_SENSITIVE_ENV, "not-a-category")
    with pytest.raises(SchemaError, match="HOTSPOT_EXTRA_SENSITIVE names unknown categories"):
        load_taxonomy()
