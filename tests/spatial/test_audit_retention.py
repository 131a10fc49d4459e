"""The append-only audit log and the retention period (purge and refusal at ingest), on both back ends.

Data: the bundled RBKC violence and sexual offences rows for January to
September 2024 (real police.uk files, one per month) and the small 2024-01
fixture.  Expected counts are read from the CSV files with pandas, not from
the code under test.
"""

from __future__ import annotations

import datetime as dt
import gzip

import _builders as B  # first: puts the repository root on sys.path
import pandas as pd
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from hotspot_cli.main import main as cli_main
from spatial._errors import HotspotError
from spatial.config import RETENTION_ENV, Settings, retention_cutoff
from spatial.store import audit
from spatial.store.retention import purge

NOW = pd.Timestamp("2026-11-23 12:00", tz="Europe/London")
VSO = sorted(B.VSO_DIR.rglob("*.csv*"))


def _csv_months(paths) -> pd.Series:
    """Rows per month in the police.uk street CSVs, read with pandas."""
    frames = []
    for p in paths:
        opener = gzip.open if str(p).endswith(".gz") else open
        with opener(p, "rt", encoding="utf-8-sig") as f:
            frames.append(pd.read_csv(f, dtype=str, usecols=["Month"]))
    return pd.concat(frames)["Month"].value_counts().sort_index()


# --------------------------------------------------------------------------
# audit log
# --------------------------------------------------------------------------
def test_audit_rows_are_appended_and_never_changed(db_url):
    env = B.make_env(db_url)
    when = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.UTC)
    audit.record(env.engine, actor="alice", role="chair", action="sign-in", detail={"method": "password"}, now=when)
    audit.record(env.engine, actor="bob", role="warden", action="sign-in", outcome="refused",
                 detail={"reason": "wrong password"}, now=when + dt.timedelta(seconds=5))
    rows = audit.list_audit(env.engine)
    assert rows[["actor", "action", "outcome"]].values.tolist() == [
        ["bob", "sign-in", "refused"], ["alice", "sign-in", "ok"]]
    assert rows["detail"].iloc[1] == {"method": "password"}
    assert rows["at"].iloc[1] == pd.Timestamp(when)
    for stmt in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), env.engine.begin() as conn:
            conn.execute(text(stmt))
    if env.engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), env.engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_log"))
    assert env.count("audit_log") == 2
    assert set(audit.list_audit(env.engine)["actor"]) == {"alice", "bob"}


def test_migration_0003_downgrades_and_upgrades_again(db_url):
    from alembic import command
    from sqlalchemy import inspect

    from spatial.store.db import _alembic_config, upgrade

    env = B.make_env(db_url)
    audit.record(env.engine, actor="alice", role="chair", action="export")
    cfg = _alembic_config()
    with env.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0002")
    assert "audit_log" not in inspect(env.engine).get_table_names()
    upgrade(env.engine)
    audit.record(env.engine, actor="bob", role="chair", action="export")
    with pytest.raises(DBAPIError, match="append-only"), env.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))
    assert audit.list_audit(env.engine)["actor"].tolist() == ["bob"]


def test_audit_refuses_unknown_actions_empty_actors_and_bulky_detail(sqlite_url):
    env = B.make_env(sqlite_url)
    with pytest.raises(HotspotError, match="not one of"):
        audit.record(env.engine, actor="a", role="chair", action="delete-everything")
    with pytest.raises(HotspotError, match="actor is empty"):
        audit.record(env.engine, actor=" ", role="chair", action="export")
    with pytest.raises(HotspotError, match="keep it under"):
        audit.record(env.engine, actor="a", role="chair", action="export", detail={"rows": "x" * 5000})
    assert env.count("audit_log") == 0


# --------------------------------------------------------------------------
# retention
# --------------------------------------------------------------------------
def test_cutoff_keeps_the_current_month_and_the_months_before_it():
    assert retention_cutoff(1, NOW) == "2026-10"
    assert retention_cutoff(12, NOW) == "2025-11"
    assert retention_cutoff(30, NOW) == "2024-05"
    # the first hour of a month in London is still the previous month in UTC: London's month counts
    assert retention_cutoff(1, pd.Timestamp("2026-07-01 00:30", tz="Europe/London")) == "2026-06"


def test_purge_removes_old_months_reports_them_and_is_audited(db_url):
    env = B.make_env(db_url)
    reports = env.ingest_paths([*VSO, B.SMALL_STREET])
    assert all(r.status == "complete" for r in reports)
    stored = env.sql("SELECT month, count(*) AS n FROM incidents GROUP BY month ORDER BY month")
    expected_gone = int(stored.loc[stored["month"] < "2024-05", "n"].sum())
    assert expected_gone > 0 and expected_gone < int(stored["n"].sum())

    q_before = env.count("quarantine")
    dry = purge(env.engine, months=30, now=NOW, actor="dpo", dry_run=True)
    assert (dry.cutoff, dry.n_incidents, dry.dry_run) == ("2024-05", expected_gone, True)
    assert sorted(set(dry.incidents["month"])) == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert env.count("incidents") == int(stored["n"].sum())  # nothing changed
    assert env.count("audit_log") == 0

    done = purge(env.engine, months=30, now=NOW, actor="dpo")
    assert done.n_incidents == expected_gone
    assert env.count("incidents", "month < '2024-05'") == 0
    assert env.count("incidents") == int(stored["n"].sum()) - expected_gone
    assert done.n_quarantine == 0 and env.count("quarantine") == q_before  # files arrived today: inside the period
    log = audit.list_audit(env.engine, action="purge")
    assert log[["actor", "target"]].values.tolist() == [["dpo", "before 2024-05"]]
    assert log["detail"].iloc[0]["incidents"] == expected_gone
    # the ingest records stay (no personal data); a second purge finds nothing
    assert env.count("ingests") == len(reports)
    assert purge(env.engine, months=30, now=NOW, actor="dpo").n_incidents == 0


def test_purge_of_old_arrivals_clears_their_quarantine(sqlite_url, tmp_path):
    env = B.make_env(sqlite_url)
    header, rows = B.small_street_rows()
    lon = header.index("Longitude")
    for r in rows[:3]:
        r[lon] = "not a number"
    broken = B.write_csv(tmp_path / "2024-01-metropolitan-street.csv", header, rows)
    env.ingest(broken)
    held = env.count("quarantine")
    assert held == 3
    later = pd.Timestamp("2031-03-10", tz="Europe/London")  # five years on: every file arrived before the cutoff
    r = purge(env.engine, months=24, now=later, actor="dpo")
    assert r.n_quarantine == held and r.quarantine["path"].tolist() == [str(broken)]
    assert env.count("quarantine") == 0 and env.count("incidents") == 0


def test_ingest_refuses_months_outside_the_period_without_keeping_their_text(db_url):
    env = B.make_env(db_url, retention_months=30)
    months = _csv_months(VSO)
    reports = env.ingest_paths(VSO)
    assert all(r.status == "complete" and r.reconciles for r in reports)
    old = int(months[months.index < "2024-05"].sum())
    assert env.count("incidents", "month < '2024-05'") == 0
    q = env.sql("SELECT reason, raw FROM quarantine WHERE reason LIKE '%retention period%'")
    assert len(q) == old and q["raw"].isna().all()
    assert q["reason"].str.contains("months before 2024-05 are not kept").all()
    assert env.count("incidents") + env.count("quarantine") + sum(r.duplicates for r in reports) == int(months.sum())


def test_retention_setting_and_cli(sqlite_url, monkeypatch, capsys):
    monkeypatch.setenv(RETENTION_ENV, "0")
    with pytest.raises(HotspotError, match=RETENTION_ENV):
        Settings()
    monkeypatch.setenv(RETENTION_ENV, "36")
    assert Settings().retention_months == 36
    monkeypatch.delenv(RETENTION_ENV)
    assert Settings().retention_months is None
    assert cli_main(["--database", sqlite_url, "purge"]) == 2
    assert "give --months" in capsys.readouterr().err
    assert cli_main(["--database", sqlite_url, "ingest", str(B.SMALL_STREET), "--quiet"]) == 0
    assert cli_main(["--database", sqlite_url, "purge", "--months", "6", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would remove" in out and "nothing was changed" in out
    with pytest.raises(HotspotError, match="whole number"):
        purge(B.make_env(sqlite_url).engine, months=0, actor="x")
