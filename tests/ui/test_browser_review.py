"""The Review, CCTV planning and Data pages in a real browser (Debian Chromium driven by Playwright).

The module's server (``tests/ui/conftest.py``) holds the real RBKC June 2018
file; before the pages are opened, last week's plan (the server's today) is
built and approved in its database and the hand-made May 2018 month is added,
so the Review page has a plan to review and two months to compare.  Each page
must load without a Streamlit exception and without any off-site request; the
Review and CCTV maps must hold their layers; the Data page ingests the hand-made
broken file through the browser's file input.  Saves ``docs/screenshots/``
``review.png``, ``cctv.png`` and ``data.png``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from _browser import (
    FOLIUM_IFRAME,
    MAP_DRAW_MS,
    PAGE_MS,
    RBKC,
    SCREENSHOTS,
    _exceptions,
    _goto,
    _launch,
    _watch,
)

from hotspot_cli.main import main as cli_main
from spatial.store import connect
from tasking.resources import load_roster
from ui import maps, planning

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
MAY_HANDMADE = REPO / "tests" / "data" / "police_uk_rbkc_2018-05_HANDMADE"
BROKEN = REPO / "tests" / "data" / "police_uk_broken_HANDMADE.csv"


@pytest.fixture(scope="module")
def reviewed_server(server: str, server_db: str) -> str:
    """The server, with last week's plan approved and a second month of data in its store."""
    assert cli_main(["--database", server_db, "ingest", str(MAY_HANDMADE), "--quiet"]) == 0
    engine = connect(server_db)
    week = planning.iso_week(dt.date.today() - dt.timedelta(days=7))
    inputs = planning.read_inputs(engine, borough=RBKC)
    outcome = planning.build_plan(inputs, roster=load_roster(planning.roster_path()), week=week)
    assert outcome.plan is not None, outcome.error
    from tasking import records

    records.approve_week_plan(engine, outcome.plan, user="Browser Chair")
    return server


def _open(pw, server: str, path: str, heading: str, ready: str):
    browser = _launch(pw)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    external, failed = _watch(page, server)
    _goto(page, f"{server}/{path}")
    page.get_by_role("heading", name=heading, exact=True).wait_for(timeout=PAGE_MS)
    page.get_by_text(ready).first.wait_for(timeout=PAGE_MS)
    return browser, page, external, failed


def test_review_page_shows_the_comparison_and_its_zones_map(playwright_sync, reviewed_server: str) -> None:
    shot = SCREENSHOTS / "review.png"
    with playwright_sync() as pw:
        browser, page, external, failed = _open(pw, reviewed_server, "review", "Review of last week",
                                                "Planned against delivered patrols")
        try:
            page.get_by_text("Displacement or diffusion").first.wait_for(timeout=PAGE_MS)
            frame = page.frame_locator(FOLIUM_IFRAME)
            frame.locator(".leaflet-overlay-pane path.leaflet-interactive").nth(18).wait_for(timeout=MAP_DRAW_MS)
            layer_names = frame.locator(".leaflet-control-layers-overlays").inner_text(timeout=MAP_DRAW_MS)
            statement = page.get_by_text("Incidents compared:").first.inner_text()
            page.get_by_role("heading", name="Review of last week", exact=True).scroll_into_view_if_needed()
            page.screenshot(path=str(shot), full_page=False)
            exceptions = _exceptions(page)
        finally:
            browser.close()
    assert exceptions == []
    for name in maps.REVIEW_LAYERS:
        assert name in layer_names, (name, layer_names)
    assert "before = 2018-05" in statement and "after = 2018-06" in statement
    assert not external, sorted(set(external))[:10]
    assert not failed, failed[:10]
    assert shot.stat().st_size > 20_000


def test_cctv_map_holds_coverage_sites_and_what_if_layers(playwright_sync, server: str) -> None:
    shot = SCREENSHOTS / "cctv.png"
    with playwright_sync() as pw:
        browser, page, external, failed = _open(pw, server, "cctv", "CCTV planning",
                                                "Candidate sites ranked by uncovered harm")
        try:
            frame = page.frame_locator(FOLIUM_IFRAME)
            paths = frame.locator(".leaflet-overlay-pane path.leaflet-interactive")
            paths.nth(18 + 14).wait_for(timeout=MAP_DRAW_MS)  # 18 wards + 15 proposed sites
            n_paths = paths.count()
            layer_names = frame.locator(".leaflet-control-layers-overlays").inner_text(timeout=MAP_DRAW_MS)
            legend = frame.locator(".hotspot-map-note").inner_text(timeout=MAP_DRAW_MS)
            warning = page.get_by_text("No camera mounting sites are loaded").first.inner_text()
            page.locator(FOLIUM_IFRAME).scroll_into_view_if_needed()
            page.screenshot(path=str(shot), full_page=False)
            exceptions = _exceptions(page)
        finally:
            browser.close()
    assert exceptions == []
    assert n_paths == 18 + 15, n_paths
    for name in maps.CCTV_LAYERS:
        assert name in layer_names, (name, layer_names)
    assert "Candidate site (15)" in legend and "Fixed camera, 100 m (0)" in legend
    assert "needs a site survey" in warning
    assert not external, sorted(set(external))[:10]
    assert not failed, failed[:10]
    assert shot.stat().st_size > 20_000


def test_data_page_ingests_an_uploaded_file_and_lists_its_quarantined_rows(playwright_sync, server: str) -> None:
    shot = SCREENSHOTS / "data.png"
    with playwright_sync() as pw:
        browser, page, external, failed = _open(pw, server, "data", "Data", "What is stored")
        try:
            page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(BROKEN))
            ingest = page.get_by_role("button", name="Ingest", exact=True)
            page.wait_for_function(
                "() => [...document.querySelectorAll('button')].some("
                "b => b.innerText.trim() === 'Ingest' && !b.disabled)", timeout=PAGE_MS)
            ingest.click()
            reconciled = page.get_by_text("Reconciled:").first
            reconciled.wait_for(timeout=PAGE_MS)
            text = reconciled.inner_text()
            page.get_by_role("heading", name="Data", exact=True).scroll_into_view_if_needed()
            page.screenshot(path=str(shot), full_page=False)
            exceptions = _exceptions(page)
        finally:
            browser.close()
    assert exceptions == []
    assert "5 rows read = 1 stored + 0 duplicates + 3 quarantined + 1 outside the area" in text
    assert not external, sorted(set(external))[:10]
    assert not failed, failed[:10]
    assert shot.stat().st_size > 20_000
