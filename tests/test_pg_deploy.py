"""PostgreSQL deployment (issue 7): ``db init``/``upgrade`` are idempotent, and several dashboard
processes share one database.

Uses the suite's throwaway PostgreSQL server (``tests/_pgserver.py``; skipped
locally without the binaries, a failure when ``CI`` is set) and the real RBKC
police.uk API extract of June 2018.  The browser part (one Chromium page per
process, then a look at each process's open connections to PostgreSQL) needs
Debian Chromium and Playwright.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import psutil
import pytest
from sqlalchemy import create_engine, inspect, make_url, text

from hotspot_cli.main import main as cli_main
from spatial.store.db import current_revision, head_revision

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "ui"))
from _browser import CHROMIUM, _free_port, _goto, _launch, _wait_healthy  # noqa: E402
from _pgserver import skip_or_fail  # noqa: E402  (the suite's policy: skip locally, fail when CI is set)
from _signin import ensure_account  # noqa: E402

SMALL_POLICE_UK = REPO / "data" / "policeuk" / "rbkc_api_2018-06"
LEAFLET = "/app/static/leaflet-1.9.3/leaflet.js"

pytestmark = pytest.mark.slow  # two dashboard processes, a browser and a PostgreSQL server per test


def _tables(url: str) -> set[str]:
    eng = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
    try:
        return set(inspect(eng).get_table_names())
    finally:
        eng.dispose()


def test_db_init_then_upgrade_is_idempotent(fresh_pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    from spatial.store import create

    engine = create(fresh_pg_url)
    assert current_revision(engine) is None and "incidents" not in _tables(fresh_pg_url)
    assert cli_main(["--database", fresh_pg_url, "db", "init"]) == 0
    head = head_revision()
    assert current_revision(engine) == head
    tables = _tables(fresh_pg_url)
    assert {"incidents", "ingests", "quarantine", "area_counts", "alembic_version"} <= tables
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO ingests (path, file_sha256, file_bytes, kind, source, started_at, status, "
                          "rows_read, stored, duplicates, quarantined) VALUES ('x.csv', 'abc', 1, 'police-uk-api', "
                          "'police.uk', now(), 'complete', 0, 0, 0, 0)"))
    for action in ("upgrade", "init", "upgrade"):
        assert cli_main(["--database", fresh_pg_url, "db", action]) == 0
        assert current_revision(engine) == head
        assert _tables(fresh_pg_url) == tables
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
        assert conn.execute(text("SELECT path FROM ingests")).scalars().all() == ["x.csv"]
    assert f"schema revision {head}" in capsys.readouterr().out
    engine.dispose()


@pytest.fixture
def two_servers(fresh_pg_url: str, tmp_path: Path):
    """The RBKC June 2018 extract in one PostgreSQL database, and two ``streamlit run app.py`` processes on it."""
    assert cli_main(["--database", fresh_pg_url, "ingest", str(SMALL_POLICE_UK), "--quiet"]) == 0
    procs, servers = [], []
    try:
        for i in range(2):
            port = _free_port()
            log = tmp_path / f"streamlit-{i}.log"
            env = {**os.environ, "DATABASE_URL": fresh_pg_url}
            env.pop("HOTSPOT_TILES_URL", None)
            cmd = [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.address", "127.0.0.1",
                   "--server.port", str(port), "--server.headless", "true", "--server.enableStaticServing", "true",
                   "--browser.gatherUsageStats", "false"]
            with log.open("wb") as out:
                proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
            procs.append(proc)
            _wait_healthy(proc, port, log)
            servers.append((f"http://127.0.0.1:{port}", proc))
        yield fresh_pg_url, servers
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)


def _pg_connections(pid: int, pg_port: int) -> int:
    """Open TCP connections of process ``pid`` (and its children) to the PostgreSQL port."""
    procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    return sum(1 for p in procs for c in p.net_connections(kind="tcp") if c.raddr and c.raddr.port == pg_port)


def test_two_dashboard_processes_share_one_postgresql(two_servers) -> None:
    url, servers = two_servers
    pg_port = make_url(url).port
    eng = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
    with eng.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM incidents WHERE month = '2018-06'")).scalar_one()
    eng.dispose()
    assert stored > 1000
    for base, proc in servers:
        with urllib.request.urlopen(f"{base}/_stcore/health", timeout=10) as r:
            assert r.read().strip() == b"ok"
        with urllib.request.urlopen(f"{base}{LEAFLET}", timeout=10) as r:  # the map's local Leaflet, per process
            assert r.status == 200 and b"Leaflet" in r.read(200_000)
        assert _pg_connections(proc.pid, pg_port) == 0  # nothing has asked for data yet
    if not CHROMIUM.exists():
        skip_or_fail(f"{CHROMIUM} is missing: the page check per process needs Debian chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("the playwright package is not installed; pip install -e '.[test]'")
    ensure_account(url, "Deploy Chair", "chair")  # the same account signs in on both processes: one database
    with sync_playwright() as pw:
        browser = _launch(pw)
        try:
            for base, proc in servers:
                page = browser.new_page()
                _goto(page, f"{base}/incidents", user="Deploy Chair")
                caption = page.get_by_text("incidents in 2018-06").first
                caption.wait_for(timeout=90_000)
                assert "Traceback" not in page.content()
                # the page was served from PostgreSQL: this process now holds pooled connections to it
                assert _pg_connections(proc.pid, pg_port) >= 1
                page.close()
        finally:
            browser.close()


def test_pool_sizes_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from spatial._errors import HotspotError
    from spatial.store import create

    url = "postgresql+psycopg://hotspot@127.0.0.1:1/hotspot"  # engines connect lazily: no server needed
    eng = create(url)
    assert (eng.pool.size(), eng.pool._max_overflow) == (5, 10)
    monkeypatch.setenv("HOTSPOT_DB_POOL_SIZE", "12")
    monkeypatch.setenv("HOTSPOT_DB_MAX_OVERFLOW", "0")
    eng = create(url)
    assert (eng.pool.size(), eng.pool._max_overflow) == (12, 0)
    monkeypatch.setenv("HOTSPOT_DB_POOL_SIZE", "lots")
    with pytest.raises(HotspotError, match="HOTSPOT_DB_POOL_SIZE is 'lots'"):
        create(url)
