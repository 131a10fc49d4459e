"""Real browser (Debian Chromium, Playwright): switch the area in the sidebar, build its plan, download its pack.

The server's store holds the small RBKC extract and a created area, ``tunbridge-wells`` (the 20 Tunbridge
Wells wards of the bundled 2013 West Kent ward layer, made with ``area create --district-code E07000116``,
its starter roster stored), with December 2025 of West Kent's police.uk file ingested into it.  The chair
opens Tasking on RBKC, picks the area in the sidebar, builds the plan (the area's patrol officers) and
downloads the PDF pack, which names the area.

The store also holds the SYNTHETIC West Kent schemes layer and case log (the housing association's own
layers): the chair opens the Schemes page on the area and sees its schemes' league, labelled SYNTHETIC
(``docs/screenshots/schemes.png``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from _browser import (
    PAGE_MS,
    SCREENSHOTS,
    _exceptions,
    _free_port,
    _launch,
    _pick,
    _press,
    _sign_in,
    _wait_healthy,
)
from _signin import ensure_account

from hotspot_cli.main import main as cli_main

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SYN = REPO / "data" / "synthetic"
CHAIR = "browser-chair"
BUILD_MS = 300_000  # 20 officers on a loaded 2-core machine


@pytest.fixture(scope="module")
def area_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    tmp = tmp_path_factory.mktemp("browser-area")
    url = f"sqlite:///{tmp / 'hotspot.sqlite'}"
    assert cli_main(["--database", url, "ingest", "--quiet", str(REPO / "data" / "policeuk" / "rbkc_api_2018-06")]) == 0
    assert cli_main(["--database", url, "area", "create", "tunbridge-wells",
                     "--wards", str(REPO / "data" / "boundaries" / "west_kent_wards_2013.gpkg"),
                     "--lsoas", str(REPO / "data" / "boundaries" / "west_kent_lsoa_2021.gpkg"),
                     "--district-code", "E07000116", "--label", "Tunbridge Wells borough"]) == 0
    month = REPO / "data" / "policeuk" / "west_kent" / "2025-12-kent-street-west-kent.csv.gz"
    assert cli_main(["--database", url, "ingest", "--area", "tunbridge-wells", "--quiet", str(month)]) == 0
    assert cli_main(["--database", url, "layers", "estates", str(SYN / "west_kent_schemes_SYNTHETIC.geojson"),
                     "--id-column", "scheme_id", "--name-column", "name", "--homes-column", "homes"]) == 0
    assert cli_main(["--database", url, "ingest", "--area", "tunbridge-wells", "--quiet",
                     str(SYN / "west_kent_cases_SYNTHETIC.csv"),
                     "--mapping", str(SYN / "west_kent_cases_SYNTHETIC.mapping.yaml")]) == 0
    ensure_account(url, CHAIR, "chair")
    port = _free_port()
    log = tmp / "streamlit.log"
    env = {**os.environ, "DATABASE_URL": url}
    env.pop("HOTSPOT_TILES_URL", None)
    env.pop("HOTSPOT_ROSTER", None)
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


def test_switch_area_build_its_plan_and_download_its_pack(playwright_sync, area_server: tuple[str, str]) -> None:
    from spatial.area_profiles import get_area
    from spatial.store import connect
    from tasking.context import roster_of

    server, url = area_server
    officers = {a.agent_id for a in roster_of(get_area(connect(url), "tunbridge-wells")).agents}
    assert len(officers) == 20
    with playwright_sync() as pw:
        browser = _launch(pw)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
            page = context.new_page()
            page.goto(f"{server}/tasking", wait_until="domcontentloaded")
            _sign_in(page, user=CHAIR, timeout_ms=BUILD_MS)  # a cold server on a loaded machine: imports first
            page.get_by_role("button", name="Build plan").wait_for(timeout=BUILD_MS)  # RBKC's Tasking page
            assert "(18 wardens, 6 parks police)" in page.locator("body").inner_text()  # the RBKC roster
            _pick(page, "Area", "Tunbridge Wells borough")
            page.get_by_text("20 patrol officers").first.wait_for(timeout=BUILD_MS)  # the area's starter roster
            page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=BUILD_MS)
            page.get_by_role("button", name="Build plan").click(timeout=PAGE_MS)
            page.get_by_text("Assignments by agent, day and shift").wait_for(timeout=BUILD_MS)
            page.get_by_text("Each download is written when you click it").wait_for(timeout=BUILD_MS)
            page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=BUILD_MS)
            body = page.locator("body").inner_text()
            assert "(20 patrol officers)" in body and "0 parks police" not in body  # none: not listed
            with page.expect_download(timeout=BUILD_MS) as download:  # the pack is drawn when clicked
                _press(page, page.get_by_role("button", name=re.compile(r"^Pack \(PDF")))
            pdf = Path(download.value.path()).read_bytes()
            assert pdf.startswith(b"%PDF")
            assert not _exceptions(page)
        finally:
            browser.close()
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert "Tunbridge Wells" in text and "Kensington" not in text
    # the area holds the housing association's (SYNTHETIC) schemes: the downloaded pack carries their section
    assert "9. Schemes" in text and "SYNTHETIC" in text
    shown = set(re.findall(r"(?<![-\w])P\d{2}\b", text))
    assert shown and shown <= officers  # the area's own patrol officers in the pack's assignments
    assert not re.search(r"(?<![-\w])(?:W|PP)\d{2}\b", text)  # no RBKC warden or parks police officer


def test_the_schemes_page_shows_the_areas_schemes_labelled_synthetic(playwright_sync,
                                                                      area_server: tuple[str, str]) -> None:
    import geopandas as gpd
    import shapely

    server, _ = area_server
    schemes = gpd.read_file(SYN / "west_kent_schemes_SYNTHETIC.geojson").to_crs(27700)
    wards = gpd.read_file(REPO / "data" / "boundaries" / "west_kent_wards_2013.gpkg").to_crs(27700)
    tw = shapely.union_all(wards.loc[wards["borough_code"] == "E07000116"].geometry.to_numpy())
    inside = set(schemes.loc[schemes.intersects(tw), "name"])
    outside = set(schemes["name"]) - inside
    assert inside and outside
    with playwright_sync() as pw:
        browser = _launch(pw)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1300})
            page.goto(f"{server}/schemes", wait_until="domcontentloaded")
            _sign_in(page, user=CHAIR, timeout_ms=BUILD_MS)
            page.get_by_text("Area: ").first.wait_for(timeout=BUILD_MS)  # RBKC, the active area: no schemes
            assert "Repeat locations" not in page.locator("body").inner_text()
            _pick(page, "Area", "Tunbridge Wells borough")
            page.get_by_text("Repeat locations").first.wait_for(timeout=BUILD_MS)
            page.get_by_text("SYNTHETIC").first.wait_for(timeout=BUILD_MS)
            page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=BUILD_MS)
            league = page.locator('[data-testid="stDataFrame"]').first
            league.wait_for(timeout=PAGE_MS)
            body = page.locator("body").inner_text()
            page.screenshot(path=str(SCREENSHOTS / "schemes.png"), full_page=False)
            assert not _exceptions(page)
        finally:
            browser.close()
    assert f"Schemes of Tunbridge Wells: {len(inside)} schemes" in body and "Kensington" not in body
    assert "per 1,000 homes" in body and "SYNTHETIC data" in body
    # the league is drawn on a canvas (glide data grid); its CSV download is offered, and the page names no scheme
    # outside the area in its text
    assert not any(name in body for name in outside)
