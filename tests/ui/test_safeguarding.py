"""Safeguarding scan: no role sees a sensitive incident's place, id or address, on any page or in any export.

Store: the real RBKC police.uk API file for June 2018 (every category: its
violent crime rows are sensitive), the real RBKC violence and sexual offences
files for January to September 2024 (all sensitive), and the hand-made May
2018 fixture (tests/data, labelled HANDMADE) so the Review page has two
periods, with the three hand-made estates loaded first as a schemes layer (so
the Schemes page shows a league and repeat locations); the 2026-W47 plan is
built and approved once.

The needles are read from the store with SQL here, not through the code under
test: every sensitive incident's ``incident_id`` and ``source_ref`` (the
police.uk crime id), its location text and its coordinates, **each when no
non-sensitive incident shares it** (police.uk snaps every crime to shared
anonymised map points, so a street name or point that also holds a burglary
may rightly appear on the chair's map).  Each role renders every page it may
open (AppTest); every element's text, every table's cells and the map
component's script are scanned.  Pages a role may not open must show an error
and no table, chart or map.  Every export format (HTML, CSV, GeoJSON, and the
PDF's text through pdftotext) is scanned the same way.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from _apptest import open_page
from sqlalchemy import text
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Dataframe

from hotspot_cli.main import main as cli_main
from spatial.store import audit, connect
from tasking import access
from tasking.resources import load_roster
from ui import planning, state

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
JUNE = REPO / "data" / "policeuk" / "rbkc_api_2018-06"
VSO = REPO / "data" / "policeuk" / "rbkc_vso_2024"
MAY_HANDMADE = REPO / "tests" / "data" / "police_uk_rbkc_2018-05_HANDMADE"
ESTATES = REPO / "tests" / "data" / "estates_HANDMADE.geojson"
TODAY = dt.date(2026, 11, 23)  # 2026-W48: the W47 plan is last week's (Review), W49 is planned (Tasking)
WEEK = "2026-W47"
RBKC = "E09000020"
ROLES = ("chair", "analyst", "cctv", "partner", "warden")
PAGE_FILES = {p: f"ui/pages/{p}.py" for p in access.PAGES}
#: Two numbers next to each other (``[51.5, -0.2]``, ``x,y`` cells, ``"x": 1, "y": 2``): a coordinate pair.
PAIR = re.compile(r"(?<![\d.])(?=(-?\d+(?:\.\d+)?)(?:\s*,\s*|\s*;\s*|,\s*\"?y\"?\s*:\s*)(-?\d+(?:\.\d+)?))")


# --------------------------------------------------------------------------
# the store and the needles
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    url = f"sqlite:///{tmp_path_factory.mktemp('safeguarding') / 'hotspot.sqlite'}"
    # the hand-made estates as a schemes layer, before the ingest, so the Schemes page has schemes to show
    assert cli_main(["--database", url, "layers", "estates", str(ESTATES), "--id-column", "estate_id",
                     "--name-column", "estate_name", "--homes-column", "homes"]) == 0
    assert cli_main(["--database", url, "ingest", str(JUNE), str(VSO), str(MAY_HANDMADE), "--quiet"]) == 0
    engine = connect(url)
    outcome = planning.build_plan(planning.read_inputs(engine, borough=RBKC),
                                  roster=load_roster(planning.roster_path()), week=WEEK)
    assert outcome.plan is not None, outcome.error
    access.approve_plan(access.Viewer("Test Chair", "chair"), engine, outcome.plan)
    counts = pd.Series([a["agent_id"] for a in outcome.plan["assignments"] if a["agent_id"].startswith("W")])
    return {"url": url, "engine": engine, "plan": outcome.plan, "warden": str(counts.value_counts().index[0])}


@pytest.fixture(scope="module")
def needles(store: dict[str, Any]) -> dict[str, Any]:
    """What must never appear: sensitive ids, and places and addresses that only sensitive incidents have."""
    with store["engine"].connect() as conn:
        rows = pd.read_sql(text("SELECT incident_id, source_ref, sensitive, x, y, lon, lat, location_text "
                                "FROM incidents"), conn)
    rows["sensitive"] = rows["sensitive"].astype(bool)
    sens, other = rows[rows["sensitive"]], rows[~rows["sensitive"]]
    assert len(sens) > 1000 and len(other) > 1000  # real sensitive rows to look for, and points that may show

    def pairs(df: pd.DataFrame) -> set[tuple[float, float]]:
        return ({(round(a, 6), round(b, 6)) for a, b in zip(df["lat"], df["lon"], strict=True)}
                | {(round(a, 0), round(b, 0)) for a, b in zip(df["x"], df["y"], strict=True)})

    only_places = pairs(sens) - pairs(other)
    only_texts = set(sens["location_text"].dropna()) - set(other["location_text"].dropna())
    def idents(df: pd.DataFrame) -> set[str]:
        return set(df["incident_id"].dropna().astype(str)) | {str(r) for r in df["source_ref"].dropna()
                                                                 if len(str(r)) >= 12}

    # a few real police.uk crime ids carry two rows (a shoplifting and a violent crime): such an id may show
    ids = idents(sens) - idents(other)
    assert len(only_places) > 100 and len(only_texts) > 10 and len(ids) >= len(sens)
    return {"places": only_places, "texts": only_texts, "ids": ids}


def _leaks(haystack: str, needles: dict[str, Any]) -> list[str]:
    """Sensitive ids, sensitive-only location texts, and sensitive-only coordinate pairs found in ``haystack``."""
    found = [f"id {i}" for i in needles["ids"] if str(i) in haystack]
    # a whole address: "On or near Campden Hill" is not found inside "On or near Campden Hill Road"
    found += [f"location {t!r}" for t in needles["texts"] if re.search(re.escape(t) + r"(?![ \w])", haystack)]
    seen: set[tuple[float, float]] = set()
    for m in PAIR.finditer(haystack):
        a, b = float(m.group(1)), float(m.group(2))
        for digits in (6, 0):  # degrees as police.uk gives them (6 places; 5 would meet ward vertices); metres
            seen |= {(round(a, digits), round(b, digits)), (round(b, digits), round(a, digits))}
    found += [f"point {p}" for p in needles["places"] & seen]
    return found


def _walk(node: Any, out: list[str]) -> None:
    if isinstance(node, Dataframe):
        out.append(node.value.to_csv())
        return
    proto = getattr(node, "proto", None)
    if proto is not None:
        out.append(str(proto))
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            _walk(child, out)


def _haystack(at: AppTest) -> str:
    out: list[str] = []
    _walk(at._tree, out)
    return "\n".join(out)


def _render(store: dict[str, Any], role: str, page: str, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    return open_page(store["url"], PAGE_FILES[page], monkeypatch, today=TODAY, role=role,
                     agent_id=store["warden"] if role == "warden" else None, timeout_s=240,
                     TASKING_SHOW=True,  # the Tasking page builds its plan at once
                     PATROL_WEEK=WEEK, PATROL_AGENT=store["warden"], DATA_BACKTEST_SHOW=False)


# --------------------------------------------------------------------------
# every role, every page
# --------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES)
def test_no_page_a_role_can_open_shows_a_sensitive_incident(store, needles, role: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    viewer = access.Viewer("x", role, "W01" if role == "warden" else None)
    opened = 0
    for page in access.PAGES:
        at = _render(store, role, page, monkeypatch)
        if access.can_open(viewer, page):
            opened += 1
            assert not [e.value for e in at.error if "not open to" in e.value], (role, page)
            hay = _haystack(at)
            assert len(hay) > 3000, (role, page, "the page drew almost nothing: the scan would be empty")
            leaks = _leaks(hay, needles)
            assert leaks == [], (role, page, leaks[:5])
            if role == "warden":  # and no other agent's id on a warden's page
                others = set(re.findall(r"(?<![-\w])(?:W|PP)\d{2}\b", hay)) - {store["warden"]}
                assert others == set(), others
        else:  # opened by its URL: an error, never data
            assert any(f"not open to the {role} role" in e.value for e in at.error), (role, page)
            assert not at.get("arrow_data_frame") and not at.get("component_instance") and not at.metric, (role, page)
    assert opened == len(access.pages_for(viewer))


def test_the_haystack_and_scan_find_a_planted_sensitive_point(store, needles) -> None:
    """The scan is not blind: a sensitive-only point, id and address planted in text are each found."""
    lat, lon = next(p for p in needles["places"] if p[0] > 50)  # as a map marker would draw it
    ident = next(iter(needles["ids"]))
    address = next(iter(needles["texts"]))
    assert _leaks(f'L.circleMarker([{lat}, {lon}], {{"radius": 3}})', needles) == [f"point {(lat, lon)}"]
    assert _leaks(f"row,{ident},x", needles) == [f"id {ident}"]
    assert _leaks(f"<td>{address}</td>", needles) == [f"location {address!r}"]


def test_small_sensitive_counts_show_as_fewer_than_5_for_the_partner(store, monkeypatch) -> None:
    """On the Overview (incidents source, June 2018) a sensitive group of 1-4 in a ward is "fewer than 5"."""
    at = _render(store, "partner", "overview", monkeypatch)
    if state.OVERVIEW_SOURCE in [r.key for r in at.radio]:
        at.radio(key=state.OVERVIEW_SOURCE).set_value("incidents").run()
    tables = [d.value for d in at.dataframe]
    assert tables, "the Overview shows its tables to a partner"
    cells = [str(c) for t in tables for c in t.to_numpy().ravel()]
    assert any("fewer than 5" in c for c in cells)
    # no cell holds a bare 1-4 next to a sensitive group label
    by_group = tables[0].astype(str)
    sensitive_rows = by_group[by_group.iloc[:, 0].str.contains("Violence|sexual", case=False, regex=True)]
    assert not sensitive_rows.isin(["1", "2", "3", "4"]).to_numpy().any()


def test_sensitive_views_are_audited_once_per_page_view(store, monkeypatch) -> None:
    engine = store["engine"]
    before = len(audit.list_audit(engine, action="view-sensitive", actor="test-partner"))
    at = _render(store, "partner", "overview", monkeypatch)
    at.run()  # a rerun of the same view: not audited again
    at.run()
    rows = audit.list_audit(engine, action="view-sensitive", actor="test-partner")
    assert len(rows) == before + 1 and rows.iloc[0]["target"] == "overview" and rows.iloc[0]["role"] == "partner"
    at.switch_page(PAGE_FILES["hotspots"]).run()
    assert not at.get("download_button")  # a partner sees the hotspots but may not download layers
    assert not any(e.label.startswith("Download for QGIS") for e in at.expander)
    at.switch_page(PAGE_FILES["overview"]).run()  # a new view of the page
    assert len(audit.list_audit(engine, action="view-sensitive", actor="test-partner")) == before + 2


# --------------------------------------------------------------------------
# every export format
# --------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["html", "csv", "geojson", "pdf"])
def test_no_export_holds_a_sensitive_incident_and_counts_are_suppressed(store, needles, fmt: str) -> None:
    engine = store["engine"]
    chair = access.Viewer("Export Chair", "chair")
    counts = access.ward_counts(chair, engine, months=["2024-03"])
    data = access.export_bytes(chair, store["plan"], format=fmt, engine=engine, sensitive_counts=counts)
    if fmt == "pdf":
        if shutil.which("pdftotext") is None:
            pytest.skip("pdftotext not installed (apt-get install poppler-utils)")
        done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr
        body = done.stdout.decode("utf-8", errors="replace")
    else:
        body = data.decode("utf-8")
    assert len(body) > 200
    assert _leaks(body, needles) == [], fmt
    if fmt in ("html", "pdf"):  # the packs carry the sensitive ward counts, 1-4 suppressed as on screen
        small = counts[counts["display"] == "fewer than 5"]
        assert len(small) > 0 and "fewer than 5" in body and "&lt;5" not in body


def test_the_advice_csv_holds_no_sensitive_incident(store, needles) -> None:
    """The Hotspots page's Designing Out Crime advice download (places, their mix, why here) leaks nothing."""
    from ui import analysis

    engine = store["engine"]
    layers = analysis.hotspot_layers(planning.read_inputs(engine, borough="E09000020", months=["2018-06"]))
    data = access.advice_csv_bytes(access.Viewer("Export Chair", "chair"), layers.ranked, area="E09000020",
                                   engine=engine)
    body = data.decode("utf-8")
    assert body.count("\n") > len(layers.places)  # a line per place and measure
    assert _leaks(body, needles) == []


@pytest.mark.parametrize("method", ["gistar", "dbscan"])
def test_the_hotspot_geopackage_holds_no_sensitive_incident(store, needles, tmp_path, method: str) -> None:
    """The Hotspots page's GIS download (every cell, or clusters drawn around incidents) leaks nothing sensitive."""
    import pyogrio

    from ui import analysis

    engine = store["engine"]
    inputs = planning.read_inputs(engine, borough="E09000020", months=["2018-06"])
    layers = analysis.hotspot_layers(inputs)
    res = analysis.gis_result(layers, method, area_name="rbkc", districts=["E09000020"])
    data = access.hotspot_export_bytes(access.Viewer("Export Chair", "chair"), res, period="2018-06",
                                       area="E09000020", engine=engine)
    path = tmp_path / f"{method}.gpkg"
    path.write_bytes(data)
    body = []
    for name, _ in pyogrio.list_layers(path):
        df = pyogrio.read_dataframe(path, layer=name)
        if hasattr(df, "geometry"):  # coordinates in metres and in degrees, as the needles hold them
            body += [df.drop(columns="geometry").to_csv(), df.to_json(), df.to_crs(4326).to_json()]
        else:
            body.append(df.to_csv())
    text_ = "\n".join(body)
    assert len(text_) > 1000
    assert _leaks(text_, needles) == [], method
