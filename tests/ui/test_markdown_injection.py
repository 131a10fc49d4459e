"""Issue 13 item 6: Markdown injection.  Planted names render as text on every page (AppTest).

The payloads of the attack run (an image from a local "beacon" server, links to
``/phish``, bold, Streamlit colour, a ``=HYPERLINK`` autolink and raw HTML) are
planted in every text field the pages can show:

* the estates layer (ids and names) and the parks layer (ids and names), loaded
  with ``hotspot-tasking layers``;
* the location text of a police.uk file (a copy of the real RBKC June 2018 API
  file whose busiest streets are renamed; tests/data holds the real May 2018
  HANDMADE month for the Review page);
* the approving account's name, decisions (action, owner, outcome), review notes,
  patrol-log notes, and a deployed-cameras CSV uploaded on the CCTV page;
* the signed-in account's name (sidebar, captions).

Every page a role may open is rendered for the chair and for the warden; every
element whose text Streamlit renders as Markdown (body, label, help of each
element and block: markdown, captions, alerts, headers, metric labels, expander
labels, widget help) is checked for an unescaped payload.  The payload must also
be *seen* (escaped) on the pages that show it, so the check is not blind.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
from _apptest import open_page
from google.protobuf.json_format import MessageToDict
from streamlit.testing.v1 import AppTest

from hotspot_cli.main import main as cli_main
from spatial.store import connect
from tasking import access, records
from tasking.resources import load_roster
from ui import planning
from ui.text import md_escape, md_unescape

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
JUNE = REPO / "data" / "policeuk" / "rbkc_api_2018-06" / "rbkc_street_crime_2018-06_police-uk-api.csv"
MAY_HANDMADE = REPO / "tests" / "data" / "police_uk_rbkc_2018-05_HANDMADE"
ESTATES = REPO / "tests" / "data" / "estates_HANDMADE.geojson"
PARKS = REPO / "tests" / "data" / "parks_HANDMADE.gpkg"
TODAY = dt.date(2026, 11, 23)  # 2026-W48: W47 is last week (Review); Tasking and My patrols are set to W47
WEEK = "2026-W47"
RBKC = "E09000020"
PAGE_FILES = {p: f"ui/pages/{p}.py" for p in access.PAGES}

BEACON = "http://127.0.0.1:9/beacon.png"
PAYLOADS = (f"![x]({BEACON})", "[click](/phish)", "**bold**", ":red[colour]", '=HYPERLINK("http://x","y")',
            "<img src=x onerror=alert(1)>")
#: What an unescaped payload looks like in a Markdown body (an escaped one has a backslash before each).
RAW = {
    "image": re.compile(r"(?<!\\)!(?<!\\)\[x(?<!\\)\](?<!\\)\("),
    "beacon": re.compile(r"http://127\.0\.0\.1:9/beacon"),
    "link": re.compile(r"(?<!\\)\](?<!\\)\(/phish"),
    "bold": re.compile(r"(?<!\\)\*(?<!\\)\*bold"),
    "colour": re.compile(r"(?<!\\):red(?<!\\)\["),
    "autolink": re.compile(r"http://x"),
    "html": re.compile(r"(?<!\\)<img"),
}
#: The signed-in account's name: it is shown on every page (sidebar) and in captions.
USER = "Chair [click](/phish) **bold**"
APPROVER = "Approver ![x](http://127.0.0.1:9/beacon.png) <img src=x onerror=alert(1)>"
#: Fields Streamlit renders as Markdown (Markdown and alert bodies, headings, labels, help tooltips).
MARKDOWN_FIELDS = {"body", "label", "help"}
#: Elements whose text is not Markdown (shown as typed): their bodies are not checked.
PLAIN = {"text", "code", "json", "exception", "arrow_data_frame", "dataframe"}


def _planted(i: int) -> str:
    """Payload ``i`` (cycled) with a short tag, as a name."""
    return f"P{i} {PAYLOADS[i % len(PAYLOADS)]}"


def _all_payloads(tag: str) -> str:
    return tag + " " + " ".join(PAYLOADS)


# --------------------------------------------------------------------------
# the store
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("mdinjection")
    url = f"sqlite:///{tmp / 'hotspot.sqlite'}"
    # police.uk: the busiest streets of the real June file get planted names
    june = pd.read_csv(JUNE, dtype=str, keep_default_na=False)
    busiest = june["street_name"].value_counts().index[:12]
    renamed = {s: f"On or near {_planted(i)}" for i, s in enumerate(busiest)}
    june["street_name"] = june["street_name"].map(lambda s: renamed.get(s, s))
    folder = tmp / "rbkc_api_2018-06"
    folder.mkdir()
    june.to_csv(folder / JUNE.name, index=False)
    assert cli_main(["--database", url, "ingest", str(folder), str(MAY_HANDMADE), "--quiet"]) == 0
    # estates and parks: ids and names planted
    estates = gpd.read_file(ESTATES)
    estates["estate_id"] = [f"EST-{i}-{p[:12]}" for i, p in enumerate(PAYLOADS[:len(estates)])]
    estates["estate_name"] = [_all_payloads(f"Estate {i}") for i in range(len(estates))]
    estates.to_file(tmp / "estates.geojson", driver="GeoJSON")
    parks = gpd.read_file(PARKS)
    id_col, name_col = "park_id", next(c for c in parks.columns if c not in ("park_id", "geometry"))
    parks[id_col] = [f"PARK-{i}-{p[:12]}" for i, p in enumerate(PAYLOADS[2:2 + len(parks)])]
    parks[name_col] = [_all_payloads(f"Park {i}") for i in range(len(parks))]
    parks.to_file(tmp / "parks.geojson", driver="GeoJSON")
    for layer, path, ident, name in (("estates", tmp / "estates.geojson", "estate_id", "estate_name"),
                                     ("parks", tmp / "parks.geojson", id_col, name_col)):
        assert cli_main(["--database", url, "layers", layer, str(path), "--id-column", ident,
                         "--name-column", name]) == 0
    engine = connect(url)
    outcome = planning.build_plan(planning.read_inputs(engine, borough=RBKC),
                                  roster=load_roster(planning.roster_path()), week=WEEK)
    assert outcome.plan is not None, outcome.error
    plan = outcome.plan
    planted_cands = {c["candidate_id"] for c in plan["candidates"]
                     if any(p in str(c.get("name")) for p in PAYLOADS)}
    assert planted_cands, "no planted name reached the plan: the test would check nothing"
    meeting_id = access.approve_plan(access.Viewer(APPROVER, "chair"), engine, plan).meeting_id
    # the warden: an agent tasked at a planted place
    mine = [a for a in plan["assignments"] if a["agent_id"].startswith("W") and a["candidate_id"] in planted_cands]
    assert mine
    warden = str(pd.Series([a["agent_id"] for a in mine]).value_counts().index[0])
    for i, a in enumerate([a for a in plan["assignments"] if a["agent_id"] == warden][:3]):
        records.log_patrol(engine, meeting_id, agent_id=warden, candidate_id=a["candidate_id"], date=a["date"],
                           shift=a["shift"], visits=1, minutes=15.0, logged_by=warden,
                           note=_all_payloads(f"Log {i}"))
    records.add_decision(engine, meeting_id, action=_all_payloads("Action"), owner="Owner [click](/phish) **bold**",
                         due="2026-11-20", created_by=APPROVER, candidate_id=next(iter(planted_cands)))
    did = int(records.list_decisions(engine, meeting_id=meeting_id)["decision_id"].iloc[0])
    records.update_decision(engine, did, status="done", outcome=_all_payloads("Outcome"), updated_by=APPROVER)
    records.add_review_note(engine, meeting_id, author=APPROVER, text=_all_payloads("Note"), section="outcome")
    deployed = tmp / "deployed.csv"
    pd.DataFrame({"camera_id": [PAYLOADS[0], PAYLOADS[4]], "site_id": [PAYLOADS[5], PAYLOADS[0]],
                  "since_week": ["2026-W44", "2026-W44"]}).to_csv(deployed, index=False)
    return {"url": url, "engine": engine, "plan": plan, "warden": warden, "deployed": deployed.read_bytes()}


# --------------------------------------------------------------------------
# what a page renders as Markdown
# --------------------------------------------------------------------------
def _strings(value: Any, key: str | None, out: list[str]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _strings(v, k, out)
    elif isinstance(value, list):
        for v in value:
            _strings(v, key, out)
    elif isinstance(value, str) and key in MARKDOWN_FIELDS:
        out.append(value)


def _walk(node: Any, out: list[tuple[str, str]], components: list[str]) -> None:
    kind = str(getattr(node, "type", ""))
    proto = getattr(node, "proto", None)
    if proto is not None and kind not in PLAIN:
        if kind == "component_instance" or "component" in kind:
            components.append(str(proto))
        else:
            texts: list[str] = []
            _strings(MessageToDict(proto, preserving_proto_field_name=True), None, texts)
            out += [(kind, t) for t in texts]
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            _walk(child, out, components)


def _markdown(at: AppTest) -> tuple[list[tuple[str, str]], list[str]]:
    out: list[tuple[str, str]] = []
    components: list[str] = []
    _walk(at._tree, out, components)
    return out, components


def _unescaped(texts: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    return [(kind, name, text) for kind, text in texts for name, raw in RAW.items() if raw.search(text)]


def _seen(texts: list[tuple[str, str]]) -> set[str]:
    """Payloads that are shown (escaped) somewhere on the page."""
    return {p for _, t in texts for p in PAYLOADS if p in md_unescape(t)}


def _render(store: dict[str, Any], role: str, page: str, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    return open_page(store["url"], PAGE_FILES[page], monkeypatch, today=TODAY, role=role,
                     user=USER if role == "chair" else None,
                     agent_id=store["warden"] if role == "warden" else None, timeout_s=240,
                     TASKING_SHOW=True, TASKING_WEEK=WEEK, TASKING_WEEK_INPUT=WEEK, PATROL_WEEK=WEEK,
                     PATROL_AGENT=store["warden"], PATROL_AGENT_INPUT=store["warden"], DATA_BACKTEST_SHOW=False)


def _check(at: AppTest, role: str, page: str) -> set[str]:
    texts, components = _markdown(at)
    assert len(texts) > 5, (role, page, "the page drew almost nothing: the check would be empty")
    bad = _unescaped(texts)
    assert bad == [], (role, page, bad[:5])
    for script in components:  # maps: Leaflet tooltips and popups are HTML; planted HTML is entity-escaped
        assert "<img src=x onerror" not in script.replace("\\u003c", "<"), (role, page)
    return _seen(texts)


# --------------------------------------------------------------------------
# the tests
# --------------------------------------------------------------------------
def test_the_check_is_not_blind() -> None:
    """Each payload, unescaped, is caught; escaped with md_escape, it passes and is seen."""
    for p in PAYLOADS:
        assert _unescaped([("markdown", f"**{p}**")]), p
        assert _unescaped([("markdown", md_escape(p))]) == [], p
        assert _seen([("markdown", md_escape(p))]) == {p}
    assert _unescaped([("markdown", "**Trend**"), ("caption", "Why: hot street")]) == []


@pytest.mark.slow
@pytest.mark.parametrize("role", ["chair", "warden"])
def test_every_page_shows_planted_text_escaped(store, role: str, monkeypatch: pytest.MonkeyPatch) -> None:
    viewer = access.Viewer("x", role, store["warden"] if role == "warden" else None)
    seen: dict[str, set[str]] = {}
    for page in access.pages_for(viewer):
        at = _render(store, role, page, monkeypatch)
        seen[page] = _check(at, role, page)
    # the planted names did reach the pages that show them (escaped), so the check above looked at them
    assert seen["my_patrols"], seen  # place names from estates and police.uk locations
    if role == "chair":
        assert all(seen[p] for p in seen), seen  # the account name is on every page
        assert seen["tasking"] >= {PAYLOADS[0], PAYLOADS[5]}, seen["tasking"]  # the approver's name
        assert seen["review"] >= {PAYLOADS[1], PAYLOADS[2]}, seen["review"]


@pytest.mark.slow
def test_the_cctv_page_escapes_an_uploaded_deployed_cameras_file(store, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _render(store, "chair", "cctv", monkeypatch)
    at.get("file_uploader")[0].set_value([("deployed.csv", store["deployed"], "text/csv")]).run()
    assert not at.exception, [e.value for e in at.exception]
    seen = _check(at, "chair", "cctv")
    shown = [md_unescape(e.value) for e in at.error]
    assert any("deployed" in s.lower() for s in shown), shown  # the file's ids were refused with a message
    assert PAYLOADS[5] in seen, (seen, shown)  # and the message quoting the planted site id is escaped
