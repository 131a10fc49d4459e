"""Engines and migrations: SQLite by default, PostgreSQL/PostGIS by URL.

``connect(url)`` returns an engine whose schema is at the newest Alembic
revision.  SQLite files get WAL journaling and foreign keys; their folder is
created if needed.

Page size
---------
A new SQLite file is created with 32 KiB pages (SQLite's default is 4 KiB).
Incident ids are hashes, so every file's rows land all over the primary-key
index and a commit rewrites most of its leaf pages; with 32 KiB pages there are
an eighth as many pages (and page headers, WAL frames and checkpoint writes)
for the same bytes (bench/RESULTS.md, "SQLite page size", has the figures).
The page size is fixed when the file is created: an existing file keeps its own
(``PRAGMA journal_mode=DELETE``, ``PRAGMA page_size=32768`` and ``VACUUM``
convert it).
``HOTSPOT_SQLITE_PAGE_SIZE`` overrides the size for new files (a power of two
from 512 to 65536), for benchmarks.

A new SQLite file is created readable by its owner only (0600), and SQLite
gives its ``-wal`` and ``-shm`` files the same mode: the store holds police
records and account hashes.

Connection pool (PostgreSQL)
----------------------------
Each process (a dashboard server, a CLI command) keeps its own pool of
``HOTSPOT_DB_POOL_SIZE`` connections (default 5) plus up to
``HOTSPOT_DB_MAX_OVERFLOW`` more under load (default 10); connections are
checked before use (``pool_pre_ping``).  Size PostgreSQL's ``max_connections``
for processes x (pool + overflow) plus the CLI and backups.
"""

from __future__ import annotations

import functools
import os
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, make_url

from spatial._errors import HotspotError

__all__ = ["connect", "create", "sqlite_page_size", "SQLITE_PAGE_SIZE", "upgrade", "current_revision", "head_revision",
           "is_postgres", "pool_options", "POOL_SIZE_ENV", "MAX_OVERFLOW_ENV"]


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("spatial.store") / "migrations"))
    return cfg


#: Page size of new SQLite files (see the module docstring); ``HOTSPOT_SQLITE_PAGE_SIZE`` overrides it.
SQLITE_PAGE_SIZE = 32_768
#: Environment variable overriding :data:`SQLITE_PAGE_SIZE` for new files.
PAGE_SIZE_ENV = "HOTSPOT_SQLITE_PAGE_SIZE"
#: Bytes of WAL between automatic checkpoints (~80 MB: few fsyncs during bulk ingest).
WAL_CHECKPOINT_BYTES = 80 * 1024 * 1024


#: Environment variables of the PostgreSQL connection pool (see the module docstring).
POOL_SIZE_ENV = "HOTSPOT_DB_POOL_SIZE"
MAX_OVERFLOW_ENV = "HOTSPOT_DB_MAX_OVERFLOW"


def pool_options(environ: dict[str, str] | None = None) -> dict[str, int]:
    """``pool_size`` and ``max_overflow`` for PostgreSQL engines, from the environment (defaults 5 and 10).

    Raises
    ------
    HotspotError
        When a variable is not a whole number in range (pool 1-1000, overflow 0-1000).

    Examples
    --------
    >>> pool_options({"HOTSPOT_DB_POOL_SIZE": "20"})
    {'pool_size': 20, 'max_overflow': 10}
    """
    env = os.environ if environ is None else environ
    out = {}
    for name, key, default, low in ((POOL_SIZE_ENV, "pool_size", 5, 1), (MAX_OVERFLOW_ENV, "max_overflow", 10, 0)):
        raw = env.get(name, "").strip()
        if not raw:
            out[key] = default
            continue
        if not raw.isdigit() or not low <= int(raw) <= 1000:
            msg = f"{name} is {raw!r}; give a whole number from {low} to 1000 (default {default})"
            raise HotspotError(msg)
        out[key] = int(raw)
    return out


def sqlite_page_size(environ: dict[str, str] | None = None) -> int:
    """The page size for new SQLite files: :data:`PAGE_SIZE_ENV` if set, else :data:`SQLITE_PAGE_SIZE`.

    Raises
    ------
    HotspotError
        When the variable is not a power of two from 512 to 65536.
    """
    raw = (os.environ if environ is None else environ).get(PAGE_SIZE_ENV)
    if raw is None or not raw.strip():
        return SQLITE_PAGE_SIZE
    try:
        size = int(raw)
    except ValueError:
        size = 0
    if size < 512 or size > 65_536 or size & (size - 1):
        msg = f"{PAGE_SIZE_ENV}={raw!r} is not a power of two from 512 to 65536"
        raise HotspotError(msg)
    return size


def _sqlite_pragmas(dbapi_conn, _record, *, page_size: int = SQLITE_PAGE_SIZE) -> None:
    cur = dbapi_conn.cursor()
    # Only takes effect while the file is still empty (before the first table); ignored afterwards.
    cur.execute(f"PRAGMA page_size={page_size}")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.execute("PRAGMA cache_size=-65536")
    # Checkpoint the WAL every ~80 MB instead of every 1,000 pages: far fewer fsyncs
    # during bulk ingest; durability per commit is unchanged (WAL + NORMAL).
    actual = cur.execute("PRAGMA page_size").fetchone()[0]
    cur.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_BYTES // actual}")
    cur.close()


def _create_private(path: Path) -> None:
    """Make the folder and an empty SQLite file readable and writable by the owner only (0600).

    SQLite gives the ``-wal`` and ``-shm`` files the mode of the database
    file, so they are 0600 too.  An existing file keeps its mode.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # made meanwhile by another process
        return
    os.close(fd)
    os.chmod(path, 0o600)  # whatever the umask


def create(url: str) -> Engine:
    """Create an engine for ``url`` without touching the schema.

    Raises
    ------
    HotspotError
        For a URL SQLAlchemy cannot parse or a back end other than SQLite or PostgreSQL.
    """
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy.exc.ArgumentError
        msg = f"cannot parse database URL {url!r}: {exc}. Use sqlite:///path/file.sqlite or postgresql+psycopg://user@host/db"
        raise HotspotError(msg) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        page_size = sqlite_page_size()  # a bad override is refused before any file is made
        if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith("file:"):
            _create_private(Path(parsed.database))
        engine = create_engine(parsed)
        event.listen(engine, "connect", functools.partial(_sqlite_pragmas, page_size=page_size))
        return engine
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True, **pool_options())
    msg = f"database back end {backend!r} is not supported; use sqlite or postgresql (with PostGIS)"
    raise HotspotError(msg)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the schema to ``revision`` (default: newest)."""
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def connect(url: str) -> Engine:
    """Engine for ``url`` with the schema migrated to the newest revision."""
    engine = create(url)
    if current_revision(engine) != head_revision():
        upgrade(engine)
    return engine
