"""A throwaway PostgreSQL (+ PostGIS) server for the test session.

The suite starts its own server from the Debian binaries instead of relying on
a system cluster: ``initdb`` into a temporary folder, ``pg_ctl start`` on a
free loopback port, and ``pg_ctl stop`` plus removal of the folder at the end.

PostgreSQL refuses to run as root. When the tests run as root (as CI does),
the temporary folder is handed to the ``postgres`` user and every server
command runs through ``runuser -u postgres --``.

Policy for missing services (shared/style.md, section 5): a test
that needs PostgreSQL or PostGIS is *skipped* locally when they are missing,
but *fails* when the ``CI`` environment variable is set, so CI can never pass
by silently skipping. :func:`require_in_ci` implements that policy for any
other service too.
"""

from __future__ import annotations

import atexit
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

__all__ = [
    "DB_NAME",
    "PgServer",
    "PgServerError",
    "SUPERUSER",
    "find_bindir",
    "in_ci",
    "require_in_ci",
    "skip_or_fail",
    "start_server",
]

DB_NAME = "hotspot_test"
"""Database created at start-up, with PostGIS when available."""

SUPERUSER = "postgres"
"""Role created by ``initdb -U``; authentication is ``trust`` on loopback."""

_TEMPLATE_DB = "hotspot_template"
"""PostGIS-enabled template for :meth:`PgServer.create_database`.

Nothing ever connects to it, so ``CREATE DATABASE ... TEMPLATE`` cannot fail
with "source database is being accessed by other users".
"""

_REQUIRED_BINARIES = ("initdb", "pg_ctl", "postgres")
_FALSY_CI_VALUES = {"", "0", "false"}
_START_TIMEOUT_S = 60
_PORT_ATTEMPTS = 3


# --------------------------------------------------------------------------
# skip locally, fail under CI
# --------------------------------------------------------------------------
def in_ci() -> bool:
    """Return True when the ``CI`` environment variable is set and not "0"/"false"."""
    return os.environ.get("CI", "").strip().lower() not in _FALSY_CI_VALUES


def skip_or_fail(reason: str) -> None:
    """Skip the current test, or fail it when running under CI.

    Raises
    ------
    pytest.skip.Exception
        Locally.
    pytest.fail.Exception
        When :func:`in_ci` is true.
    """
    if in_ci():
        pytest.fail(f"{reason} [CI is set: a missing service fails instead of skipping]", pytrace=False)
    pytest.skip(reason)


def require_in_ci(condition: object, reason: str) -> None:
    """Do nothing if ``condition`` is truthy, else :func:`skip_or_fail` with ``reason``.

    Examples
    --------
    >>> require_in_ci(shutil.which("chromium"), "Debian chromium is not installed")  # doctest: +SKIP
    """
    if not condition:
        skip_or_fail(reason)


# --------------------------------------------------------------------------
# finding the binaries
# --------------------------------------------------------------------------
class PgServerError(RuntimeError):
    """The throwaway server could not be found, started or prepared."""


def _has_binaries(bindir: Path) -> bool:
    return all(os.access(bindir / name, os.X_OK) for name in _REQUIRED_BINARIES)


def _version_key(path: Path) -> tuple[int, ...]:
    # /usr/lib/postgresql/15/bin -> (15,); non-numeric names sort first.
    return tuple(int(p) for p in re.findall(r"\d+", path.parent.name)) or (-1,)


def find_bindir() -> Path | None:
    """Return a folder holding ``initdb``, ``pg_ctl`` and ``postgres``, or None.

    Order: ``$HOTSPOT_PG_BINDIR``; the highest ``/usr/lib/postgresql/N/bin``
    (the version .ci/run installs PostGIS for); ``pg_config --bindir``; the
    folder that ``initdb`` on ``PATH`` resolves to (``/usr/local/bin/initdb``
    may be a symlink or wrapper, so the link is followed).
    """
    candidates: list[Path] = []
    override = os.environ.get("HOTSPOT_PG_BINDIR")
    if override:
        candidates.append(Path(override))
    candidates.extend(
        sorted((p for p in Path("/usr/lib/postgresql").glob("*/bin") if p.is_dir()), key=_version_key, reverse=True)
    )
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = ""
        if out:
            candidates.append(Path(out))
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for bindir in candidates:
        if _has_binaries(bindir):
            return bindir
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _traversable_by_others(path: Path) -> bool:
    """True if every folder from / down to ``path`` is searchable by other users."""
    for part in [path, *path.parents]:
        try:
            if not part.stat().st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
    return True


def _tail(path: Path, n_lines: int = 20) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no server log)"
    return "\n".join(lines[-n_lines:])


# --------------------------------------------------------------------------
# the server
# --------------------------------------------------------------------------
@dataclass
class PgServer:
    """One throwaway PostgreSQL server on 127.0.0.1.

    Use :meth:`start` (which raises :class:`PgServerError` with a readable
    reason) and :meth:`stop`; the pytest fixtures in ``tests/conftest.py`` do
    both. ``postgis`` tells whether ``CREATE EXTENSION postgis`` worked in
    :data:`DB_NAME`, and ``postgis_error`` says why not.
    """

    bindir: Path
    port: int = 0
    workdir: Path | None = None
    version: str = ""
    postgis: bool = False
    postgis_version: str = ""
    postgis_error: str = ""
    start_seconds: float = 0.0
    _as_postgres: bool = field(default=False, repr=False)
    _running: bool = field(default=False, repr=False)

    # -- paths and urls ----------------------------------------------------
    @property
    def datadir(self) -> Path:
        return self._workdir() / "data"

    @property
    def logfile(self) -> Path:
        return self._workdir() / "server.log"

    def _workdir(self) -> Path:
        if self.workdir is None:
            msg = "the server has no folder: call start() first (or it was already stopped)"
            raise PgServerError(msg)
        return self.workdir

    def url(self, dbname: str = DB_NAME, *, driver: str = "psycopg") -> str:
        """SQLAlchemy URL of ``dbname``, e.g. ``postgresql+psycopg://postgres@127.0.0.1:PORT/hotspot_test``."""
        return f"postgresql+{driver}://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def conninfo(self, dbname: str = DB_NAME) -> str:
        """libpq connection string for psycopg."""
        return f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname={dbname} connect_timeout=10"

    # -- running commands ----------------------------------------------------
    def _cmd(self, *args: str | Path) -> list[str]:
        cmd = [str(a) for a in args]
        if self._as_postgres:
            cmd = ["runuser", "-u", SUPERUSER, "--", *cmd]
        return cmd

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        return env

    def _run(self, *args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self._cmd(*args),
            cwd=self.workdir,
            env=self._env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> None:
        """initdb, start on a free port, create :data:`DB_NAME` and try PostGIS."""
        t0 = time.perf_counter()
        self._as_postgres = os.geteuid() == 0
        base_tmp = Path(tempfile.gettempdir())
        if self._as_postgres:
            try:
                pw = pwd.getpwnam(SUPERUSER)
            except KeyError as exc:
                msg = f"running as root, but there is no '{SUPERUSER}' user to run PostgreSQL as"
                raise PgServerError(msg) from exc
            if shutil.which("runuser") is None:
                msg = "running as root, but 'runuser' is missing (package util-linux)"
                raise PgServerError(msg)
            if not _traversable_by_others(base_tmp):
                base_tmp = Path("/tmp")
        self.workdir = Path(tempfile.mkdtemp(prefix="hotspot-pg-", dir=base_tmp))
        atexit.register(self.stop)
        if self._as_postgres:
            os.chown(self.workdir, pw.pw_uid, pw.pw_gid)

        res = self._run(
            self.bindir / "initdb",
            "-D", self.datadir,
            "-A", "trust",
            "-U", SUPERUSER,
            "--encoding", "UTF8",
            "--no-locale",
            "--no-sync",
        )  # fmt: skip
        if res.returncode != 0:
            msg = f"initdb failed (exit {res.returncode}):\n{res.stdout}\n{res.stderr}"
            raise PgServerError(msg)

        for _attempt in range(_PORT_ATTEMPTS):
            self.port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -c fsync=off "
                f"-c full_page_writes=off -c synchronous_commit=off "
                f"-c unix_socket_directories={self.workdir}"
            )
            res = self._run(
                self.bindir / "pg_ctl",
                "-D", self.datadir,
                "-l", self.logfile,
                "-w", "-t", str(_START_TIMEOUT_S),
                "-o", options,
                "start",
                timeout=_START_TIMEOUT_S + 30,
            )  # fmt: skip
            if res.returncode == 0:
                self._running = True
                break
            # Another process may have taken the port between bind() and start.
            if "already in use" not in _tail(self.logfile, 50):
                break
        if not self._running:
            msg = (
                f"pg_ctl start failed (exit {res.returncode}) on port {self.port}:\n"
                f"{res.stdout}\n{res.stderr}\n--- server log ---\n{_tail(self.logfile)}"
            )
            raise PgServerError(msg)

        self._prepare_databases()
        self.start_seconds = time.perf_counter() - t0

    def _prepare_databases(self) -> None:
        try:
            import psycopg
        except ImportError as exc:  # a project dependency, but say so clearly
            msg = "psycopg (v3) is not installed; run scripts/test.sh to install the test dependencies"
            raise PgServerError(msg) from exc

        try:
            with psycopg.connect(self.conninfo("postgres"), autocommit=True) as conn:
                self.version = str(conn.execute("SELECT version()").fetchone()[0])
                conn.execute(f'CREATE DATABASE "{DB_NAME}"')
                conn.execute(f'CREATE DATABASE "{_TEMPLATE_DB}"')
        except psycopg.Error as exc:
            msg = f"server started but could not create {DB_NAME}: {exc}"
            raise PgServerError(msg) from exc

        for dbname in (_TEMPLATE_DB, DB_NAME):
            try:
                with psycopg.connect(self.conninfo(dbname), autocommit=True) as conn:
                    conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
                    self.postgis_version = str(conn.execute("SELECT postgis_lib_version()").fetchone()[0])
            except psycopg.Error as exc:
                self.postgis = False
                self.postgis_error = str(exc).strip()
                return
        self.postgis = True

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its folder. Safe to call twice."""
        if self._running:
            res = self._run(self.bindir / "pg_ctl", "-D", self.datadir, "-m", "fast", "-w", "-t", "30", "stop", timeout=60)
            if res.returncode != 0:
                self._run(self.bindir / "pg_ctl", "-D", self.datadir, "-m", "immediate", "-w", "stop", timeout=60)
            self._running = False
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    # -- per-test databases ------------------------------------------------------
    def create_database(self, prefix: str = "hotspot_t") -> str:
        """Create a uniquely named database (from the PostGIS template) and return its name."""
        import psycopg

        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        template = f' TEMPLATE "{_TEMPLATE_DB}"' if self.postgis else ""
        with psycopg.connect(self.conninfo("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{template}')
        return name

    def drop_database(self, name: str) -> None:
        """Drop ``name``, closing any connections a test left open."""
        import psycopg

        with psycopg.connect(self.conninfo("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def list_databases(self) -> list[str]:
        """Names of all non-template databases."""
        import psycopg

        with psycopg.connect(self.conninfo("postgres"), autocommit=True) as conn:
            rows = conn.execute("SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY datname").fetchall()
        return [str(r[0]) for r in rows]


def start_server() -> PgServer:
    """Find the binaries and start a :class:`PgServer`; raise :class:`PgServerError` if impossible."""
    bindir = find_bindir()
    if bindir is None:
        msg = (
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in /usr/lib/postgresql/*/bin, "
            "pg_config --bindir or PATH; install them with: apt-get install postgresql postgresql-15-postgis-3"
        )
        raise PgServerError(msg)
    server = PgServer(bindir=bindir)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server
