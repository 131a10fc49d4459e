"""Fixtures of the real-browser tests: Playwright, and ``streamlit run app.py`` over a small real database.

Each test module that asks for ``server`` gets its own server (module scope),
so one module's meeting records never leak into another's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from _browser import (
    CHAIR_USER,
    CHROMIUM,
    REPO,
    SMALL_POLICE_UK,
    _free_port,
    _wait_healthy,
)
from _pgserver import (
    skip_or_fail,  # the suite's policy: skip locally, fail when CI is set
)
from _signin import ensure_account

from hotspot_cli.main import main as cli_main


@pytest.fixture(scope="module")
def playwright_sync():
    """``playwright.sync_api.sync_playwright``, or skip (locally) / fail (CI) when unusable."""
    if not CHROMIUM.exists():
        skip_or_fail(f"{CHROMIUM} not found; install it with: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("the playwright package is not installed; pip install -e '.[test]'")
    return sync_playwright


@pytest.fixture(scope="module")
def streamlit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """``streamlit run app.py`` on a free port over a small real database; yields (base URL, database URL)."""
    tmp = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{tmp / 'hotspot.sqlite'}"
    assert cli_main(["--database", url, "ingest", str(SMALL_POLICE_UK), "--quiet"]) == 0
    ensure_account(url, CHAIR_USER, "chair")  # the browser tests sign in with it through the real form
    port = _free_port()
    log = tmp / "streamlit.log"
    env = {**os.environ, "DATABASE_URL": url}
    env.pop("HOTSPOT_TILES_URL", None)
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"),
           "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
           "--server.enableStaticServing", "true", "--browser.gatherUsageStats", "false"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            _wait_healthy(proc, port, log)
            yield f"http://127.0.0.1:{port}", url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)


@pytest.fixture(scope="module")
def server(streamlit_server: tuple[str, str]) -> str:
    """The base URL of the test server."""
    return streamlit_server[0]


@pytest.fixture(scope="module")
def server_db(streamlit_server: tuple[str, str]) -> str:
    """The database URL the test server uses."""
    return streamlit_server[1]
