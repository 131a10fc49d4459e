"""The Overview page and the Hotspots page's new layers and panel in a real browser (Debian Chromium, Playwright).

The module's server (``tests/ui/conftest.py``) holds the real RBKC police.uk
points of June 2018; the real MPS ward tables are ingested into the same store
here, so the Overview has its long-run series.  Saves
``docs/screenshots/overview.png`` (used in the README).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _browser import (
    FOLIUM_IFRAME,
    MAP_DRAW_MS,
    PAGE_MS,
    SCREENSHOTS,
    _exceptions,
    _goto,
    _launch,
    _watch,
)

from hotspot_cli.main import main as cli_main
from ui import maps

pytestmark = pytest.mark.browser

MPS_FILES = sorted((Path(__file__).resolve().parents[2] / "data" / "mps").glob("rbkc_ward_monthly_*.csv"))
NEW_LAYERS = (maps.EMERGING_LAYER, maps.ESTATES_LAYER, maps.PARKS_LAYER, maps.FIXED_CCTV_LAYER,
              maps.DEPLOYABLE_CCTV_LAYER)


@pytest.fixture(scope="module")
def with_mps(server: str, server_db: str) -> str:
    """The server, once the MPS ward series is in its store (the pages see it at their next run)."""
    assert cli_main(["--database", server_db, "ingest", *map(str, MPS_FILES), "--quiet"]) == 0
    return server


def test_overview_is_the_default_page_and_draws_its_charts(playwright_sync, with_mps: str) -> None:
    shot = SCREENSHOTS / "overview.png"
    with playwright_sync() as pw:
        browser = _launch(pw)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2600})  # tall: the screenshot shows it all
            external, failed = _watch(page, with_mps)
            _goto(page, with_mps)  # the default page
            page.get_by_role("heading", name="Overview", exact=True).wait_for(timeout=PAGE_MS)
            page.get_by_text("Ward league table, this period").wait_for(timeout=PAGE_MS)
            charts = page.locator('[data-testid="stVegaLiteChart"]')
            charts.nth(1).wait_for(timeout=PAGE_MS)
            charts.nth(1).locator("canvas, svg").first.wait_for(timeout=PAGE_MS)
            n_charts = charts.count()
            metrics = page.locator('[data-testid="stMetric"]').all_inner_texts()
            nav = page.locator('[data-testid="stSidebarNav"]').inner_text(timeout=PAGE_MS)
            exceptions = _exceptions(page)
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), full_page=False)
        finally:
            browser.close()
    assert exceptions == []
    assert n_charts == 2
    assert any("Offences, this period" in m for m in metrics)
    assert nav.index("Overview") < nav.index("Incidents map")
    assert not external, sorted(set(external))[:10]
    assert not failed, failed[:10]
    assert shot.stat().st_size > 20_000


def test_hotspots_map_lists_the_new_layers_and_the_panel_says_police_uk_has_no_times(playwright_sync,
                                                                                      server: str) -> None:
    with playwright_sync() as pw:
        browser = _launch(pw)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            external, failed = _watch(page, server)
            _goto(page, f"{server}/hotspots")
            page.get_by_text("A hot place in detail").wait_for(timeout=PAGE_MS)
            frame = page.frame_locator(FOLIUM_IFRAME)
            frame.locator(".leaflet-overlay-pane path.leaflet-interactive").nth(17).wait_for(timeout=MAP_DRAW_MS)
            layer_names = frame.locator(".leaflet-control-layers-overlays").inner_text(timeout=MAP_DRAW_MS)
            legend = frame.locator(".hotspot-map-note").inner_text(timeout=MAP_DRAW_MS)
            page.get_by_text("No times in police.uk data").first.wait_for(timeout=PAGE_MS)
            page.get_by_text("Emerging hotspots: not computed").first.wait_for(timeout=PAGE_MS)
            exceptions = _exceptions(page)
        finally:
            browser.close()
    assert exceptions == []
    for name in (*maps.HOTSPOT_LAYERS, *NEW_LAYERS):
        assert name in layer_names, (name, layer_names)
    assert "Emerging hot" in legend
    assert not external, sorted(set(external))[:10]
    assert not failed, failed[:10]
