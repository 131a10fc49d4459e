"""Backup and restore of the whole store: SQLite and PostgreSQL, one file each, verified.

A backup is one tar file holding two members:

``manifest.json``
    format version, back end, schema revision, when, the payload's sha256
    and size, and the row count of every table *as of the snapshot*;
``database.sqlite`` or ``database.pgdump``
    the snapshot itself.

SQLite is copied with SQLite's online backup API, so a backup taken while the
dashboard or an ingest is writing is still one consistent snapshot (WAL
included); the copy passes ``PRAGMA integrity_check`` before it is packed.
PostgreSQL is dumped with ``pg_dump --format=custom`` inside an exported
snapshot (``pg_export_snapshot``): the row counts in the manifest and the dump
see exactly the same data.  Only the product's tables are dumped (PostGIS and
any other objects in the database are the operator's), so the target database
needs PostGIS already, as ``hotspot-tasking db init`` requires anyway.

:func:`restore` checks the payload's sha256, refuses a back end other than the
backup's (a SQLite backup cannot go into PostgreSQL, or the reverse: use
``ingest`` for that), refuses to overwrite a store that holds data unless
``force``, restores, compares every table's row count with the manifest, and
finally migrates the schema to the newest revision (a backup from an older
version comes back upgraded).

``pg_dump``/``pg_restore`` come from ``$HOTSPOT_PG_BINDIR``, else the newest
``/usr/lib/postgresql/<major>/bin``, else ``PATH``; they must be at least the
server's major version (Debian's ``postgresql-client``).  The password, if
any, goes to them through ``PGPASSWORD``, never on the command line.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy import Engine, make_url, text

from spatial._errors import HotspotError

from . import audit
from . import tables as T
from .db import connect, create

__all__ = ["BackupError", "BackupManifest", "backup", "restore", "read_manifest", "table_counts", "FORMAT_VERSION"]

#: Version of the backup file layout (bump when the members change).
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PAYLOAD = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}
PG_BINDIR_ENV = "HOTSPOT_PG_BINDIR"
_CHUNK = 1 << 20


class BackupError(HotspotError):
    """A backup cannot be written or a backup file cannot be restored."""


@dataclass(frozen=True)
class BackupManifest:
    """What a backup file holds, written before the payload into the tar."""

    backend: str
    revision: str | None
    created_at: str
    payload: str
    payload_sha256: str
    payload_bytes: int
    tables: dict[str, int] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2, sort_keys=True).encode()


# ----------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------
def _table_names() -> list[str]:
    return [t.name for t in T.metadata.sorted_tables]


def table_counts(conn_or_engine: Engine | sqlite3.Connection) -> dict[str, int]:
    """Rows in every product table that exists (plus ``alembic_version``), by name."""
    names = [*_table_names(), "alembic_version"]
    out: dict[str, int] = {}
    if isinstance(conn_or_engine, sqlite3.Connection):
        present = {r[0] for r in conn_or_engine.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for name in names:
            if name in present:
                out[name] = int(conn_or_engine.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])
        return out
    with conn_or_engine.connect() as conn:
        return _pg_or_sa_counts(conn, names)


def _pg_or_sa_counts(conn, names: list[str]) -> dict[str, int]:
    from sqlalchemy import inspect

    present = set(inspect(conn).get_table_names())
    return {n: int(conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one()) for n in names if n in present}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            h.update(block)
    return h.hexdigest()


def _sqlite_path(url: str) -> Path:
    db = make_url(url).database
    if not db or db == ":memory:":
        msg = f"cannot back up or restore an in-memory SQLite database ({url!r}); use a file URL"
        raise BackupError(msg)
    return Path(db)


def _pg_tool(name: str, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    if env.get(PG_BINDIR_ENV):
        cand = Path(env[PG_BINDIR_ENV]) / name
        if os.access(cand, os.X_OK):
            return str(cand)
        msg = f"{PG_BINDIR_ENV}={env[PG_BINDIR_ENV]!r} has no executable {name}"
        raise BackupError(msg)
    root = Path("/usr/lib/postgresql")
    majors = sorted((p for p in root.glob("*/bin") if (p / name).exists()),
                    key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True)
    if majors:
        return str(majors[0] / name)
    found = shutil.which(name)
    if found:
        return found
    msg = f"{name} not found: install Debian's postgresql-client (apt-get install postgresql-client) or set {PG_BINDIR_ENV}"
    raise BackupError(msg)


def _pg_conninfo(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password, and the environment carrying it."""
    u = make_url(url)
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    plain = u.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(cmd: list[str], env: dict[str, str], what: str) -> None:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)  # noqa: S603 (fixed tool, no shell)
    if proc.returncode != 0:
        msg = f"{what} failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}"
        raise BackupError(msg)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


# ----------------------------------------------------------------------------
# backup
# ----------------------------------------------------------------------------
def backup(url: str, dest: str | Path, *, actor: str | None = None) -> BackupManifest:
    """Write a verified backup of the store at ``url`` to ``dest`` (a tar file); return its manifest.

    The file is written next to ``dest`` and renamed into place when complete,
    so a failed backup never leaves a half-written file under that name.  The
    backup is recorded in the store's audit log (``actor``: the operating
    system user by default).
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    backend = make_url(url).get_backend_name()
    if backend not in PAYLOAD:
        msg = f"cannot back up a {backend!r} database; only sqlite and postgresql are supported"
        raise BackupError(msg)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".backup-") as tmp:
        payload = Path(tmp) / PAYLOAD[backend]
        if backend == "sqlite":
            counts, revision = _sqlite_snapshot(url, payload)
        else:
            counts, revision = _pg_dump(url, payload)
        manifest = BackupManifest(backend=backend, revision=revision, created_at=_now(), payload=payload.name,
                                  payload_sha256=_sha256(payload), payload_bytes=payload.stat().st_size, tables=counts)
        partial = Path(tmp) / "backup.tar"
        with tarfile.open(partial, "w") as tar:
            info = tarfile.TarInfo(MANIFEST)
            body = manifest.to_json()
            info.size = len(body)
            info.mtime = int(dt.datetime.now(dt.UTC).timestamp())
            tar.addfile(info, io.BytesIO(body))
            tar.add(payload, arcname=payload.name)
        os.replace(partial, dest)
    engine = connect(url)
    try:
        audit.record(engine, actor=actor or audit.operator_name(), role="operator", action="backup", target=str(dest),
                     detail={"sha256": manifest.payload_sha256, "bytes": manifest.payload_bytes,
                             "revision": manifest.revision})
    finally:
        engine.dispose()
    return manifest


def _sqlite_snapshot(url: str, payload: Path) -> tuple[dict[str, int], str | None]:
    path = _sqlite_path(url)
    if not path.exists():
        msg = f"no SQLite database at {path}"
        raise BackupError(msg)
    src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    dst = sqlite3.connect(payload)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # a self-contained file: no -wal beside it
        check = dst.execute("PRAGMA integrity_check").fetchall()
        if check != [("ok",)]:
            msg = f"the snapshot of {path} fails SQLite's integrity check: {check[:5]}"
            raise BackupError(msg)
        counts = table_counts(dst)
        row = dst.execute("SELECT version_num FROM alembic_version").fetchone() if "alembic_version" in counts else None
    finally:
        dst.close()
        src.close()
    return counts, (row[0] if row else None)


def _pg_dump(url: str, payload: Path) -> tuple[dict[str, int], str | None]:
    tool = _pg_tool("pg_dump")
    conninfo, env = _pg_conninfo(url)
    engine = create(url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
            counts = _pg_or_sa_counts(conn, [*_table_names(), "alembic_version"])
            revision = (conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one_or_none()
                        if "alembic_version" in counts else None)
            # the snapshot lives while this transaction is open: pg_dump sees the same rows as the counts
            # the product's tables only (and their sequences): PostGIS and anything else in the database stay out
            only = [f"--table=public.{name}" for name in counts]
            _run([tool, "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}", *only,
                  f"--file={payload}", f"--dbname={conninfo}"], env, "pg_dump")
            conn.exec_driver_sql("ROLLBACK")
    finally:
        engine.dispose()
    return counts, revision


# ----------------------------------------------------------------------------
# restore
# ----------------------------------------------------------------------------
def read_manifest(src: str | Path) -> BackupManifest:
    """The manifest of a backup file, checked for shape (not yet the payload's hash)."""
    src = Path(src)
    if not src.exists():
        msg = f"no backup file at {src}"
        raise BackupError(msg)
    try:
        with tarfile.open(src, "r") as tar:
            member = tar.extractfile(MANIFEST)
            if member is None:
                raise KeyError(MANIFEST)
            data = json.loads(member.read())
    except (tarfile.TarError, KeyError, json.JSONDecodeError, OSError) as exc:
        msg = f"{src} is not a hotspot-tasking backup (no readable {MANIFEST}: {exc})"
        raise BackupError(msg) from exc
    try:
        manifest = BackupManifest(**data)
    except TypeError as exc:
        msg = f"{src}: the manifest has unexpected fields ({exc})"
        raise BackupError(msg) from exc
    if manifest.format_version > FORMAT_VERSION:
        msg = (f"{src} was written by a newer hotspot-tasking (backup format {manifest.format_version}, "
               f"this version reads up to {FORMAT_VERSION}); upgrade first")
        raise BackupError(msg)
    return manifest


def _holds_data(counts: Mapping[str, int]) -> list[str]:
    return [f"{n} ({c:,} rows)" for n, c in counts.items() if c and n != "alembic_version"]


def restore(url: str, src: str | Path, *, force: bool = False, actor: str | None = None) -> BackupManifest:
    """Restore the backup ``src`` into the store at ``url``; return the manifest.

    Raises
    ------
    BackupError
        When the file is not a backup, its payload is damaged (sha256), the
        back ends differ, the target holds data and ``force`` is false, or the
        restored row counts differ from the manifest.
    """
    src = Path(src)
    manifest = read_manifest(src)
    backend = make_url(url).get_backend_name()
    if backend != manifest.backend:
        msg = (f"{src} is a {manifest.backend} backup and the target is {backend}: restore into a {manifest.backend} "
               "database (moving data between back ends is done by ingesting the source files)")
        raise BackupError(msg)
    with tempfile.TemporaryDirectory(prefix=".restore-", dir=src.parent) as tmp:
        with tarfile.open(src, "r") as tar:
            try:
                tar.extract(manifest.payload, tmp, filter="data")
            except KeyError as exc:
                msg = f"{src} lacks its payload {manifest.payload}"
                raise BackupError(msg) from exc
        payload = Path(tmp) / manifest.payload
        got = _sha256(payload)
        if got != manifest.payload_sha256:
            msg = f"{src}: the payload is damaged (sha256 {got[:12]}…, the manifest says {manifest.payload_sha256[:12]}…)"
            raise BackupError(msg)
        if backend == "sqlite":
            restored = _sqlite_restore(url, payload, force=force)
        else:
            restored = _pg_restore(url, payload, force=force)
    expected = dict(manifest.tables)
    if restored != expected:
        diff = {n: (expected.get(n), restored.get(n)) for n in set(expected) | set(restored)
                if expected.get(n) != restored.get(n)}
        msg = f"restored row counts differ from the backup's manifest (table: expected, restored): {diff}"
        raise BackupError(msg)
    engine = connect(url)  # migrates an older backup to the newest schema
    try:
        audit.record(engine, actor=actor or audit.operator_name(), role="operator", action="restore", target=str(src),
                     detail={"taken": manifest.created_at, "sha256": manifest.payload_sha256, "force": force,
                             "rows": sum(v for k, v in manifest.tables.items() if k != "alembic_version")})
    finally:
        engine.dispose()
    return manifest


def _check_target(counts: Mapping[str, int], where: str, force: bool) -> None:
    held = _holds_data(counts)
    if held and not force:
        msg = (f"{where} already holds data ({', '.join(held[:4])}{'…' if len(held) > 4 else ''}); "
               "restore into an empty database, or pass --force to replace everything in it")
        raise BackupError(msg)


def _sqlite_restore(url: str, payload: Path, *, force: bool) -> dict[str, int]:
    path = _sqlite_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        con = sqlite3.connect(path)
        try:
            _check_target(table_counts(con), str(path), force)
        finally:
            con.close()
    src = sqlite3.connect(f"file:{payload}?mode=ro", uri=True)
    dst = sqlite3.connect(path)
    try:
        dst.execute("PRAGMA busy_timeout=30000")
        src.backup(dst)  # replaces every page of the target in one step; readers see old or new, never a mix
        return table_counts(dst)
    finally:
        dst.close()
        src.close()


def _pg_restore(url: str, payload: Path, *, force: bool) -> dict[str, int]:
    tool = _pg_tool("pg_restore")
    conninfo, env = _pg_conninfo(url)
    engine = create(url)
    try:
        with engine.connect() as conn:
            _check_target(_pg_or_sa_counts(conn, [*_table_names(), "alembic_version"]), "the target database", force)
        with engine.begin() as conn:  # the product's tables only; PostGIS and anything else stay
            for name in ["alembic_version", *reversed(_table_names())]:
                conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}" CASCADE')
            conn.exec_driver_sql(audit.PG_REFUSE_FUNCTION)  # the audit trigger's function is not a table: not dumped
        _run([tool, "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
              f"--dbname={conninfo}", str(payload)], env, "pg_restore")
        with engine.connect() as conn:
            return _pg_or_sa_counts(conn, [*_table_names(), "alembic_version"])
    finally:
        engine.dispose()
