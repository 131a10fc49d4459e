"""Shared fixtures: repo paths, database URLs, and the skip-locally/fail-in-CI policy.

Database fixtures
-----------------
``sqlite_url``      function scope, ``sqlite:///<tmp_path>/hotspot.sqlite``.
``pg_server``       session scope, a throwaway PostgreSQL server (tests/_pgserver.py),
                    started only when a test asks for it.
``pg_url``          session scope, ``postgresql+psycopg://postgres@127.0.0.1:PORT/hotspot_test``
                    with PostGIS; shared by every test, so do not leave tables behind.
``pg_database_factory`` function scope, a callable returning the URL of a new PostGIS
                    database; all of them are dropped after the test.
``fresh_pg_url``    function scope, one such isolated database.
``db_url``          parametrised over ``sqlite`` and ``postgres`` (marked ``postgres``), so
                    one store test runs against both backends.

When PostgreSQL or PostGIS is missing, tests that need them are skipped locally and fail
when ``CI`` is set (``require_in_ci``/``skip_or_fail`` in tests/_pgserver.py).
Tests that use a PostgreSQL fixture are marked ``postgres`` automatically, so
``pytest -m "not postgres"`` leaves the server unstarted.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

_TESTS_DIR = Path(__file__).resolve().parent
if str(_TESTS_DIR) not in sys.path:  # so `import _pgserver` works in any import mode
    sys.path.insert(0, str(_TESTS_DIR))

from _pgserver import (  # noqa: E402
    PgServer,
    PgServerError,
    in_ci,
    require_in_ci,
    skip_or_fail,
    start_server,
)

_PG_FIXTURES = frozenset({"pg_server", "pg_url", "pg_database_factory", "fresh_pg_url"})
_started_servers: list[PgServer] = []
#: The process's own ``__main__`` (pytest's, or an xdist worker's), as it was when the suite started.
_REAL_MAIN = sys.modules.get("__main__")


# --------------------------------------------------------------------------
# paths
# --------------------------------------------------------------------------
@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (the folder holding pyproject.toml)."""
    return _TESTS_DIR.parent


@pytest.fixture(scope="session")
def data_dir(repo_root: Path) -> Path:
    """``<repo>/data``, the bundled data."""
    return repo_root / "data"


# --------------------------------------------------------------------------
# SQLite
# --------------------------------------------------------------------------
@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """SQLAlchemy URL of a new, empty SQLite file in the test's tmp_path."""
    return f"sqlite:///{tmp_path}/hotspot.sqlite"


# --------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------
@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A throwaway PostgreSQL server for the whole session (PostGIS not required)."""
    try:
        server = start_server()
    except PgServerError as exc:
        skip_or_fail(f"no throwaway PostgreSQL server: {exc}")
    _started_servers.append(server)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_url(pg_server: PgServer) -> str:
    """URL of the session's ``hotspot_test`` database, which has PostGIS."""
    require_in_ci(
        pg_server.postgis,
        f"PostGIS is not available in the throwaway server ({pg_server.postgis_error}); "
        f"install it with: apt-get install postgresql-{_major(pg_server)}-postgis-3",
    )
    return pg_server.url()


@pytest.fixture
def pg_database_factory(pg_server: PgServer, pg_url: str) -> Iterator[Callable[[], str]]:
    """Callable that creates a new PostGIS database and returns its URL; all are dropped afterwards."""
    created: list[str] = []

    def make() -> str:
        name = pg_server.create_database()
        created.append(name)
        return pg_server.url(name)

    yield make
    for name in created:
        pg_server.drop_database(name)


@pytest.fixture
def fresh_pg_url(pg_database_factory: Callable[[], str]) -> str:
    """URL of a new PostGIS database used by this test only."""
    return pg_database_factory()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """An empty database on each backend in turn: SQLite, then PostgreSQL + PostGIS."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("fresh_pg_url")


def _major(server: PgServer) -> str:
    return server.bindir.parent.name if server.bindir.parent.name.isdigit() else "N"


# --------------------------------------------------------------------------
# process state a test must not leave behind
# --------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _main_module_restored() -> Iterator[None]:
    """Put back ``sys.modules["__main__"]`` after each test.

    Streamlit's script runner (AppTest) installs the app as ``__main__`` and leaves it there, so a
    later test in the same process that spawns workers (Dask's nannies, multiprocessing) would
    re-run ``app.py`` in each child and the child would die.  Under ``pytest -n`` any test may
    follow a page test in the same worker.
    """
    yield
    if _REAL_MAIN is not None and sys.modules.get("__main__") is not _REAL_MAIN:
        sys.modules["__main__"] = _REAL_MAIN


_COMPONENT_SCAN_CACHED = False


@pytest.fixture(autouse=True)
def _streamlit_component_scan_once() -> None:
    """Scan the installed packages for Streamlit components once per test process, as a server does.

    A Streamlit server scans every installed distribution's metadata for v2 components once, at
    start-up (``Runtime``); ``AppTest`` does it again for every ``AppTest`` object, 0.3-0.6 s each on
    this machine, paid by hundreds of page tests.  The installed packages do not change during a
    run, so the scan's result is kept after the first (only once a test module has imported
    Streamlit: the others never pay for the import).
    """
    global _COMPONENT_SCAN_CACHED
    if not _COMPONENT_SCAN_CACHED and "streamlit.testing.v1" in sys.modules:
        from streamlit.components.v2 import manifest_scanner

        manifest_scanner.scan_component_manifests = functools.cache(manifest_scanner.scan_component_manifests)
        _COMPONENT_SCAN_CACHED = True


# --------------------------------------------------------------------------
# hooks
# --------------------------------------------------------------------------
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses a PostgreSQL fixture with ``postgres``; run the slow modules first.

    Under ``pytest -n 2 --dist loadfile`` each module goes whole to one worker, in collection order,
    so a long module collected last leaves the other worker idle at the end (35 s of a 435 s run).
    The modules holding ``slow`` or ``browser`` tests (the browser walks, the West Kent plans, the
    wheel) are moved to the front, each keeping its own tests' order; the rest follow in their order.
    """
    for item in items:
        if _PG_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)
    heavy = {item.nodeid.split("::")[0] for item in items
             if item.get_closest_marker("slow") or item.get_closest_marker("browser")}
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in heavy)  # stable: False (heavy) first


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say which PostgreSQL/PostGIS the suite used and how long it took to start."""
    for server in _started_servers:
        postgis = f"PostGIS {server.postgis_version}" if server.postgis else f"no PostGIS ({server.postgis_error})"
        version = server.version.split(" on ")[0] or "PostgreSQL"
        terminalreporter.write_line(
            f"throwaway server: {version}, {postgis}, from {server.bindir}, "
            f"started in {server.start_seconds:.1f} s (CI={'yes' if in_ci() else 'no'})"
        )
