"""``hotspot-tasking backup`` / ``restore``: round trips on SQLite and PostgreSQL, and every refusal.

A store is filled with real data (the bundled RBKC June 2018 police.uk file,
the 40-row fixture and a meeting with a decision), backed up, restored into
an empty store of the same back end, and every product table is compared row
by row with the original (read by plain SQL, not by the code under test).
"""

from __future__ import annotations

import sqlite3
import tarfile

import _builders as B  # first: puts the repository root on sys.path
import pandas as pd
import pytest
from sqlalchemy import text

from hotspot_cli.main import main as cli_main
from spatial.store import connect
from spatial.store import tables as T
from spatial.store.backup import BackupError, backup, read_manifest, restore
from tasking import records


def _fill(url: str) -> None:
    assert cli_main(["--database", url, "ingest", str(B.API_CSV), str(B.SMALL_STREET), "--quiet"]) == 0
    engine = connect(url)
    mid = records.create_meeting(engine, week="2026-W48", borough="E09000020", chair="Backup Test Chair")
    records.add_decision(engine, mid, action="Light the alley behind the shops", owner="Highways",
                         due="2026-12-04", created_by="Backup Test Chair")
    engine.dispose()


def _dump(url: str) -> dict[str, pd.DataFrame]:
    """Every product table, sorted on all columns, read with plain SQL."""
    engine = connect(url)
    out = {}
    with engine.connect() as conn:
        for t in T.metadata.sorted_tables:
            cols = [c.name for c in t.columns]
            df = pd.DataFrame(conn.execute(text(f'SELECT {", ".join(cols)} FROM "{t.name}"')).fetchall(), columns=cols)
            out[t.name] = df.sort_values(cols, ignore_index=True, na_position="first") if len(df) else df
    engine.dispose()
    return out


def _same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    """Every table equal, except that ``b`` (the restored store) may add its own "restore" audit rows."""
    assert a.keys() == b.keys()
    for name in a:
        right = b[name]
        if name == "audit_head":  # the chain head moves on with the restore rows; audit.verify checks it below
            continue
        if name == "audit_log" and len(right):
            right = right[right["action"] != "restore"].reset_index(drop=True)
        pd.testing.assert_frame_equal(a[name], right, check_dtype=False, obj=name)


def test_sqlite_round_trip_restores_every_row(tmp_path):
    src = f"sqlite:///{tmp_path / 'live.sqlite'}"
    _fill(src)
    before = _dump(src)
    assert len(before["incidents"]) > 1_500 and len(before["decisions"]) == 1
    file = tmp_path / "store.backup"
    assert cli_main(["--database", src, "backup", str(file)]) == 0
    m = read_manifest(file)
    assert m.backend == "sqlite" and m.tables["incidents"] == len(before["incidents"])
    assert m.tables["meetings"] == 1 and m.revision is not None

    dst = f"sqlite:///{tmp_path / 'restored' / 'new.sqlite'}"
    assert cli_main(["--database", dst, "restore", str(file)]) == 0
    _same(before, _dump(dst))
    from spatial.store import audit

    assert audit.verify(connect(dst)).ok  # the restored audit log is one unbroken chain, restore row included
    # the restored file stands alone and is sound
    con = sqlite3.connect(tmp_path / "restored" / "new.sqlite")
    assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    con.close()


def test_restore_refuses_a_store_with_data_unless_forced_then_replaces_it(tmp_path, capsys):
    a = f"sqlite:///{tmp_path / 'a.sqlite'}"
    _fill(a)
    snapshot = _dump(a)  # the backup's own audit row comes after its snapshot
    file = tmp_path / "a.backup"
    backup(a, file)
    b = f"sqlite:///{tmp_path / 'b.sqlite'}"
    assert cli_main(["--database", b, "ingest", str(B.SMALL_STREET), "--quiet"]) == 0
    held = _dump(b)
    assert 0 < len(held["incidents"]) < len(snapshot["incidents"])
    assert cli_main(["--database", b, "restore", str(file)]) == 2
    err = capsys.readouterr().err
    assert "already holds data" in err and "incidents" in err and "--force" in err
    _same(held, _dump(b))  # untouched
    assert cli_main(["--database", b, "restore", str(file), "--force"]) == 0
    _same(snapshot, _dump(b))


def test_damaged_or_foreign_files_are_refused_with_a_reason(tmp_path):
    a = f"sqlite:///{tmp_path / 'a.sqlite'}"
    assert cli_main(["--database", a, "ingest", str(B.SMALL_STREET), "--quiet"]) == 0
    file = tmp_path / "a.backup"
    backup(a, file)
    target = f"sqlite:///{tmp_path / 't.sqlite'}"

    # a flipped byte in the payload
    with tarfile.open(file) as tar:
        manifest = tar.extractfile("manifest.json").read()
        payload = bytearray(tar.extractfile("database.sqlite").read())
    payload[len(payload) // 2] ^= 0xFF
    bad = tmp_path / "bad.backup"
    with tarfile.open(bad, "w") as tar:
        for name, body in (("manifest.json", manifest), ("database.sqlite", bytes(payload))):
            info = tarfile.TarInfo(name)
            info.size = len(body)
            import io
            tar.addfile(info, io.BytesIO(body))
    with pytest.raises(BackupError, match="payload is damaged"):
        restore(target, bad)

    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("hello")
    with pytest.raises(BackupError, match="not a hotspot-tasking backup"):
        restore(target, not_a_backup)
    with pytest.raises(BackupError, match="no backup file"):
        restore(target, tmp_path / "missing.backup")
    with pytest.raises(BackupError, match="sqlite backup and the target is postgresql"):
        restore("postgresql+psycopg://nobody@127.0.0.1:1/none", file)
    with pytest.raises(BackupError, match="in-memory"):
        backup("sqlite://", tmp_path / "mem.backup")
    assert not (tmp_path / "t.sqlite").exists() or len(_dump(target)["incidents"]) == 0


def test_backup_never_leaves_a_partial_file(tmp_path):
    with pytest.raises(BackupError, match="no SQLite database"):
        backup(f"sqlite:///{tmp_path / 'absent.sqlite'}", tmp_path / "x.backup")
    assert not (tmp_path / "x.backup").exists()
    assert [p.name for p in tmp_path.iterdir()] == []


def test_postgresql_round_trip_restores_every_row(pg_database_factory, tmp_path):
    src = pg_database_factory()
    _fill(src)
    before = _dump(src)
    file = tmp_path / "pg.backup"
    assert cli_main(["--database", src, "backup", str(file)]) == 0
    m = read_manifest(file)
    assert m.backend == "postgresql" and m.tables["incidents"] == len(before["incidents"]) > 1_500

    dst = pg_database_factory()
    assert cli_main(["--database", dst, "restore", str(file)]) == 0
    _same(before, _dump(dst))
    # PostGIS geometry came back with its index: the generated point column is queryable
    engine = connect(dst)
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM incidents WHERE ST_SRID(geom) = 27700")).scalar_one()
    engine.dispose()
    assert n == len(before["incidents"])
    # a second restore without --force is refused; with it, the result is the same
    assert cli_main(["--database", dst, "restore", str(file)]) == 2
    assert cli_main(["--database", dst, "restore", str(file), "--force"]) == 0
    _same(before, _dump(dst))


def test_backup_and_restore_are_audited(tmp_path):
    from spatial.store import audit

    a = f"sqlite:///{tmp_path / 'a.sqlite'}"
    assert cli_main(["--database", a, "ingest", str(B.SMALL_STREET), "--quiet"]) == 0
    backup(a, tmp_path / "a.backup", actor="ops")
    b = f"sqlite:///{tmp_path / 'b.sqlite'}"
    restore(b, tmp_path / "a.backup", actor="ops")
    engine_a, engine_b = connect(a), connect(b)
    assert audit.list_audit(engine_a)[["actor", "action"]].values.tolist() == [["ops", "backup"]]
    # the snapshot was taken before its own audit row; the restored store records the restore
    assert audit.list_audit(engine_b)[["actor", "action"]].values.tolist() == [["ops", "restore"]]
    engine_a.dispose()
    engine_b.dispose()
