"""Issue 13 item 6 in a real browser: planted Markdown shows as text, no beacon is fetched, no phishing link.

The module's server (``tests/ui/conftest.py``) holds the real RBKC June 2018
file.  Before the pages are opened, an estates layer whose names carry the
attack run's payloads (an image from a local "beacon" server, a link to
``/phish``, bold, colour, ``=HYPERLINK``, raw HTML) is loaded into its store,
and plans for last week, this week and next week (the server's today) are
built and approved by an account whose name carries payloads too; a decision
and a review note carry them as well.  The warden tasked at a planted estate
opens My patrols; the chair opens Tasking and Review.  No page may hold an
``<img>`` whose source is the beacon or a link to ``/phish`` (the map frames
included), the beacon must never be requested, and the planted text must be on
the page as text.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
from _browser import (
    PAGE_MS,
    PLAN_BUILD_MS,
    RBKC,
    REPO,
    _exceptions,
    _goto,
    _launch,
    _watch,
)
from _signin import ensure_account

from hotspot_cli.main import main as cli_main
from spatial.store import connect
from tasking import access, records
from tasking.resources import load_roster
from ui import planning

pytestmark = pytest.mark.browser

ESTATES = REPO / "tests" / "data" / "estates_HANDMADE.geojson"
BEACON = "http://127.0.0.1:9/beacon.png"
PAYLOAD = (f"![x]({BEACON}) [click](/phish) **bold** :red[colour] =HYPERLINK(\"http://x\",\"y\") "
           "<img src=x onerror=alert(1)>")
APPROVER = f"Approver ![x]({BEACON}) [click](/phish)"
WARDEN_USER = "browser-warden-md"


@pytest.fixture(scope="module")
def planted(server: str, server_db: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("planted")
    estates = gpd.read_file(ESTATES)
    estates["estate_name"] = [f"Estate {i} {PAYLOAD}" for i in range(len(estates))]
    estates.to_file(tmp / "estates.geojson", driver="GeoJSON")
    assert cli_main(["--database", server_db, "layers", "estates", str(tmp / "estates.geojson"),
                     "--id-column", "estate_id", "--name-column", "estate_name"]) == 0
    engine = connect(server_db)
    inputs = planning.read_inputs(engine, borough=RBKC)
    roster = load_roster(planning.roster_path())
    today = dt.date.today()
    chair = access.Viewer(APPROVER, "chair")
    weeks = {"last": planning.iso_week(today - dt.timedelta(days=7)), "this": planning.iso_week(today),
             "next": planning.next_week(today)}
    meetings, plans = {}, {}
    for key, week in weeks.items():
        outcome = planning.build_plan(inputs, roster=roster, week=week)
        assert outcome.plan is not None, outcome.error
        plans[key] = outcome.plan
        meetings[key] = access.approve_plan(chair, engine, outcome.plan).meeting_id
    planted_cands = {c["candidate_id"] for c in plans["this"]["candidates"] if PAYLOAD in str(c.get("name"))}
    mine = [a["agent_id"] for a in plans["this"]["assignments"]
            if a["candidate_id"] in planted_cands and a["agent_id"].startswith("W")]
    assert mine, "no warden is tasked at a planted estate this week: the test would check nothing"
    warden = str(pd.Series(mine).value_counts().index[0])
    ensure_account(server_db, WARDEN_USER, "warden", warden)
    for key in ("last", "next"):
        records.add_decision(engine, meetings[key], action=f"Action {PAYLOAD}", owner="Owner [click](/phish)",
                             due=records.week_dates(weeks[key])[4], created_by=APPROVER)
    records.add_review_note(engine, meetings["last"], author=APPROVER, text=f"Note {PAYLOAD}", section="outcome")
    return {"server": server, "warden": warden}


def _no_planted_html(page) -> dict[str, int]:
    """Beacon images and /phish links in the page and in every frame (maps)."""
    found = {"img": 0, "a": 0}
    for frame in page.frames:
        found["img"] += frame.locator(f'img[src="{BEACON}"], img[src="x"]').count()
        found["a"] += frame.locator('a[href="/phish"], a[href$="/phish"], a[href^="http://x"]').count()
    return found


def _open(pw, server: str, path: str, *, user: str | None, heading: str, ready: str, timeout_ms: int = PAGE_MS):
    browser = _launch(pw)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    external, failed = _watch(page, server)
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if ("beacon" in r.url or "phish" in r.url) else None)
    if user is None:
        _goto(page, f"{server}/{path}")
    else:
        _goto(page, f"{server}/{path}", user=user)
    page.get_by_role("heading", name=heading, exact=True).wait_for(timeout=PAGE_MS)
    page.get_by_text(ready).first.wait_for(timeout=timeout_ms)
    return browser, page, external, asked


def test_planted_names_render_as_text_on_my_patrols_tasking_and_review(playwright_sync, planted) -> None:
    server = planted["server"]
    results = {}
    with playwright_sync() as pw:
        for name, user, path, heading, ready, timeout_ms, text in (
                ("my_patrols", WARDEN_USER, "my_patrols", "My patrols", "My places this week", PAGE_MS,
                 "Estate"),
                ("tasking", None, "tasking", "Tasking", "Pack and exports", PLAN_BUILD_MS, "Approver"),
                ("review", None, "review", "Review of last week", "Review notes", PLAN_BUILD_MS,
                 "Planned against delivered patrols")):
            browser, page, external, asked = _open(pw, server, path, user=user, heading=heading, ready=ready,
                                                   timeout_ms=timeout_ms)
            try:
                page.wait_for_timeout(1500)  # let images and frames load, if any were made
                body = page.locator("body").inner_text()
                results[name] = {"html": _no_planted_html(page), "asked": list(asked), "external": list(external),
                                 "exceptions": _exceptions(page), "body": body, "text": text}
            finally:
                browser.close()
    for name, r in results.items():
        assert r["exceptions"] == [], (name, r["exceptions"])
        assert r["html"] == {"img": 0, "a": 0}, (name, r["html"])
        assert r["asked"] == [], (name, r["asked"])
        assert not r["external"], (name, sorted(set(r["external"]))[:10])
    # the payloads are on the pages, as text
    assert f"![x]({BEACON})" in results["my_patrols"]["body"] and "**bold**" in results["my_patrols"]["body"]
    assert "<img src=x onerror=alert(1)>" in results["my_patrols"]["body"]
    assert APPROVER in results["tasking"]["body"]
    # on Review the planted decision and note are in tables (drawn on a canvas, not in the DOM): the checks
    # above (no beacon image, no /phish link, no request) are what the page is held to
    assert "Decisions of this meeting" in results["review"]["body"] and "Review notes" in results["review"]["body"]
