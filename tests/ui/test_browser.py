"""The dashboard in a real browser: Streamlit server + Debian Chromium driven by Playwright.

Checks what AppTest cannot see: that the folium map inside the ``st_folium``
iframe really draws (Leaflet loaded from ``static/``, ward polygons and
incident circles present) with no network.  Saves the screenshot used in the
README to ``docs/screenshots/incidents-map.png``.

Without ``/usr/bin/chromium`` (or ``$HOTSPOT_CHROMIUM``) or the
``playwright`` package the browser test is skipped locally and fails when
``CI`` is set (``skip_or_fail`` in tests/_pgserver.py).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from _pgserver import skip_or_fail  # the suite's policy: skip locally, fail when CI is set

from spatial.cli import main as cli_main

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("HOTSPOT_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOT = REPO / "docs" / "screenshots" / "incidents-map.png"
SMALL_POLICE_UK = REPO / "data" / "policeuk" / "rbkc_api_2018-06"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
SERVER_START_S = 60.0
MAP_DRAW_MS = 60_000


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Poll ``/_stcore/health`` until it answers "ok", the server exits, or the deadline passes."""
    deadline = time.monotonic() + SERVER_START_S
    url = f"http://127.0.0.1:{port}/_stcore/health"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"streamlit exited with status {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 (local URL)
                if resp.status == 200 and resp.read().strip() == b"ok":
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass  # not listening yet: poll again
        time.sleep(0.25)
    pytest.fail(f"streamlit did not answer {url} within {SERVER_START_S:.0f} s:\n{log.read_text(errors='replace')}")


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
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``streamlit run app.py`` on a free port over a small real database; yields the base URL."""
    tmp = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{tmp / 'hotspot.sqlite'}"
    assert cli_main(["--database", url, "ingest", str(SMALL_POLICE_UK), "--quiet"]) == 0
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
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)


def test_static_leaflet_is_served(server: str) -> None:
    with urllib.request.urlopen(f"{server}/app/static/leaflet-1.9.3/leaflet.js", timeout=10) as resp:  # noqa: S310
        assert resp.status == 200
        assert "javascript" in resp.headers.get("Content-Type", "")
        assert b"Leaflet" in resp.read(2000)


def test_map_draws_wards_and_incidents(playwright_sync, server: str) -> None:
    external: list[str] = []
    failed: list[str] = []
    with playwright_sync() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.on("request", lambda r: external.append(r.url) if not r.url.startswith(
                (server, "data:", "blob:", "about:")) else None)
            page.on("requestfailed", lambda r: failed.append(r.url))
            page.goto(server, wait_until="domcontentloaded")

            page.get_by_text("Incidents by ward and category").wait_for(timeout=MAP_DRAW_MS)
            frame_el = page.locator('iframe[title="streamlit_folium.st_folium"]')
            frame_el.wait_for(timeout=MAP_DRAW_MS)
            frame = page.frame_locator('iframe[title="streamlit_folium.st_folium"]')
            container = frame.locator(".leaflet-container")
            container.wait_for(timeout=MAP_DRAW_MS)
            # Ward polygons and incident circle markers are SVG paths in the overlay pane.
            paths = frame.locator(".leaflet-overlay-pane path")
            frame.locator(".leaflet-overlay-pane path.leaflet-interactive").nth(100).wait_for(timeout=MAP_DRAW_MS)
            n_paths = paths.count()
            legend = frame.locator(".hotspot-map-note").inner_text(timeout=MAP_DRAW_MS)
            layer_names = frame.locator(".leaflet-control-layers-overlays").inner_text(timeout=MAP_DRAW_MS)
            box = container.bounding_box()
            exceptions = page.locator('[data-testid="stException"]').count()

            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            frame_el.scroll_into_view_if_needed()
            page.screenshot(path=str(SCREENSHOT), full_page=False)
        finally:
            browser.close()

    assert exceptions == 0
    assert box is not None and box["height"] > 300 and box["width"] > 300
    # 18 ward outlines + ~1,600 incidents (RBKC, June 2018), far more than 100 paths.
    assert n_paths > 1_000, n_paths
    assert "Incidents" in layer_names and "Ward boundaries" in layer_names
    assert "Anti-social behaviour" in legend
    assert "Violence" not in legend
    assert not external, f"the page asked for off-site resources: {sorted(set(external))[:10]}"
    assert not failed, f"requests failed: {failed[:10]}"
    assert SCREENSHOT.stat().st_size > 20_000
