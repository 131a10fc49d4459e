"""The tasking pack and the plan exports, on a real plan from bundled police.uk data (one month of RBKC)
and on a hand-made plan: self-contained HTML in NIM order, PDF, CSV and GeoJSON row counts and
coordinates, small sensitive counts suppressed, every export audited."""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import _tk_plans as P
import numpy as np
import pandas as pd
import pytest
import shapely
from _pgserver import require_in_ci

from spatial.store import connect
from tasking import records as R
from tasking._errors import TaskingError
from tasking.names import short_name
from tasking.pack import (
    build_pack,
    export_pack,
    pack_html,
    plan_csv,
    plan_geojson,
    suppress_counts,
)

REPO = Path(__file__).resolve().parents[2]
SECTIONS = ["1. Summary", "2. Map and places", "3. Who goes where: one schedule per person",
            "4. Places not assigned", "5. Deployable CCTV moves", "6. Designing Out Crime recommendations",
            "7. Decisions and actions", "8. Last week's review"]
# any way an HTML page can make the browser fetch something from elsewhere
EXTERNAL = re.compile(r"""(?:src|href|srcset|action|data)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//|"""
                      r"""@import|<script|<link|<iframe|<object|<embed""", re.I)


@pytest.fixture(scope="module")
def real(tmp_path_factory) -> dict:
    """A store holding RBKC June 2018 (police.uk API) and a plan allocated from it."""
    from hotspot_cli.allocate import add_parser
    from hotspot_cli.main import main as spatial_main

    tmp = tmp_path_factory.mktemp("pack")
    url = f"sqlite:///{tmp / 'hotspot.sqlite'}"
    rc = spatial_main(["--database", url, "ingest", str(REPO / "data" / "policeuk" / "rbkc_api_2018-06"), "--quiet"])
    assert rc == 0
    p = argparse.ArgumentParser()
    p.add_argument("--database")
    p.add_argument("--data-dir")
    add_parser(p.add_subparsers(dest="command"))
    out = tmp / "plan.json"
    args = p.parse_args(["--database", url, "allocate", "--week", P.WEEK, "--time-limit", "10", "--out", str(out)])
    assert args.func(args) == 0
    return {"url": url, "plan": json.loads(out.read_text(encoding="utf-8")), "plan_path": out}


def _agent_sections(page: str) -> dict[str, str]:
    """The HTML of each person's schedule table, by agent id."""
    part = page.split(">3. Who goes where")[1].split("<h2>4.")[0]
    out = {}
    for chunk in part.split('<tr class="person"><td colspan="4">')[1:]:
        agent = chunk.split(" ", 1)[0]
        out[agent] = chunk
    return out


def _visits_by_place(plan) -> dict[str, int]:
    """Visits per place summed straight from the plan's assignments (independent of the exporter)."""
    out: dict[str, int] = {}
    for a in plan["assignments"]:
        out[a["candidate_id"]] = out.get(a["candidate_id"], 0) + int(a["visits"])
    return out


def _read_back(path: Path):
    """The GeoJSON as GDAL reads it: (info, frame)."""
    import pyogrio

    return pyogrio.read_info(path), pyogrio.read_dataframe(path)


# --------------------------------------------------------------------------
# real plan
# --------------------------------------------------------------------------
def test_html_pack_of_a_real_plan_is_complete_self_contained_and_audited(real, tmp_path):
    plan = real["plan"]
    engine = connect(real["url"])
    mid = R.create_meeting(engine, week=P.WEEK, borough=plan["inputs"]["borough"], chair="Chair A")
    assert R.save_plan_version(engine, mid, plan, created_by="analyst") == 1
    R.approve(engine, mid, 1, approved_by="Chair A", role="chair")
    R.add_decision(engine, mid, action="Lighting survey on the top patch", owner="Street lighting team",
                   due="2026-12-04", created_by="Chair A")
    res = export_pack(plan, tmp_path / "pack.html", format="html", user="analyst1", role="analyst", engine=engine)
    page = (tmp_path / "pack.html").read_text(encoding="utf-8")
    assert len(plan["assignments"]) > 50
    # every assignment is in its person's schedule: a row per shift naming the place (by name, not id)
    sections = _agent_sections(page)
    names = {c["candidate_id"]: c["place_name"] for c in plan["candidates"]}
    shifts = {(a["agent_id"], a["date"], a["shift"]) for a in plan["assignments"]}
    for a in plan["assignments"]:
        when = f"<td>{a['day']} {a['date'][8:10]}/{a['date'][5:7]}</td><td>{a['shift']}</td><td class=\"places\">"
        rows = [r for r in sections[a["agent_id"]].split("<tr>") if r.startswith(when)]
        assert len(rows) == 1, (a["agent_id"], when)
        assert html.escape(short_name(names[a["candidate_id"]])) in rows[0], (a, rows[0])
        assert a["candidate_id"] not in rows[0]
    assert sum(s.count("<tr><td>") for s in sections.values()) == len(shifts)
    assert len(sections) == len({a["agent_id"] for a in plan["assignments"]})
    # the why once per place: each tasked place's reason appears exactly once
    tasked = {a["candidate_id"] for a in plan["assignments"]}
    places = page.split(">2. Map and places</h2>")[1].split("<h2")[0]
    for cid in tasked:
        assert places.count(f"<td>{html.escape(names[cid])}</td>") == 1, cid
    # nothing is fetched from anywhere; the map is an inline PNG
    assert not EXTERNAL.search(page), EXTERNAL.search(page)
    imgs = re.findall(r'<img[^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(imgs) == 1 and base64.b64decode(imgs[0]).startswith(b"\x89PNG\r\n\x1a\n")
    # NIM order
    pos = [re.search(rf"<h2[^>]*>{re.escape(s)}</h2>", page).start() for s in SECTIONS]
    assert pos == sorted(pos)
    assert "Lighting survey on the top patch" in page and "approved by Chair A" in page
    # the deployable cameras' sites by the streets around them, as the places are named, never by grid id
    cams = page.split(">5. Deployable CCTV moves</h2>")[1].split("<h2")[0]
    assert plan["cameras"] and all(c["site_name"].endswith(" ward") for c in plan["cameras"]), plan["cameras"]
    for c in plan["cameras"]:
        assert f"<td>{html.escape(c['site_name'])}</td>" in cams and str(c["site_id"]) not in cams
    from ui.tables import (
        cameras_table,  # the Tasking page's table names them alike; a plan stored before keeps ids
    )

    assert cameras_table(plan)["Site"].tolist() == [c["site_name"] for c in plan["cameras"]]
    older = {**plan, "cameras": [{k: v for k, v in c.items() if k != "site_name"} for c in plan["cameras"]]}
    assert cameras_table(older)["Site"].tolist() == [str(c["site_id"]) for c in plan["cameras"]]
    assert R.plan_digest(plan) in page
    # the audit row matches the file
    audit = R.list_exports(engine).iloc[0]
    assert audit["export_id"] == res.export_id
    assert audit["file_sha256"] == hashlib.sha256((tmp_path / "pack.html").read_bytes()).hexdigest()
    assert (audit["kind"], audit["exported_by"], audit["meeting_id"], audit["version"]) == ("html", "analyst1", mid, 1)
    assert audit["row_counts"]["assignments"] == len(plan["assignments"])
    assert audit["row_counts"]["decisions"] == 1
    assert not audit["includes_sensitive_aggregates"]


def test_pdf_pack_of_a_real_plan(real, tmp_path):
    res = export_pack(real["plan"], tmp_path / "pack.pdf", format="pdf", user="analyst1", role="analyst")
    data = (tmp_path / "pack.pdf").read_bytes()
    assert data.startswith(b"%PDF") and res.export_id is None and res.sha256 == hashlib.sha256(data).hexdigest()
    exe = shutil.which("pdftotext")
    require_in_ci(exe, "pdftotext is not installed (apt-get install poppler-utils)")
    text = subprocess.run([exe, str(tmp_path / "pack.pdf"), "-"], capture_output=True, text=True, check=True).stdout
    assert "Weekly tasking pack 2026-W48" in text
    assert "Weighted Displacement Quotient" not in text  # no review was given ...
    assert "no review of last week was given" in text  # ... and the pack says so
    top = max(real["plan"]["candidates"], key=lambda c: c["priority"])
    assert " ".join(top["place_name"].split()[:2]) in text
    assert top["candidate_id"] not in text  # names, not ids


def _overlaps(words: list[dict], tol: float = 0.3) -> list[tuple[str, str]]:
    """Pairs of words whose boxes overlap by more than ``tol`` points both ways."""
    out = []
    ws = sorted(words, key=lambda w: (w["top"], w["x0"]))
    for i, a in enumerate(ws):
        for b in ws[i + 1:]:
            if b["top"] >= a["bottom"] - tol:
                break
            if min(a["x1"], b["x1"]) - max(a["x0"], b["x0"]) > tol and \
                    min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > tol:
                out.append((a["text"], b["text"]))
    return out


def test_pdf_pack_of_the_bundled_week_fits_8_pages_with_no_overlapping_or_clipped_text(real, tmp_path):
    pdfplumber = pytest.importorskip("pdfplumber")
    plan = real["plan"]
    engine = connect(real["url"])
    mid = R.find_meeting(engine, week=P.WEEK, borough=plan["inputs"]["borough"]) or \
        R.create_meeting(engine, week=P.WEEK, borough=plan["inputs"]["borough"], chair="Chair A")
    R.add_decision(engine, mid, action="Lighting survey on the top patch", owner="Street lighting team",
                   due="2026-12-04", created_by="Chair A", candidate_id=plan["assignments"][0]["candidate_id"])
    export_pack(plan, tmp_path / "pack.pdf", format="pdf", user="analyst1", role="analyst", engine=engine)
    with pdfplumber.open(tmp_path / "pack.pdf") as pdf:
        assert 1 <= len(pdf.pages) <= 8, len(pdf.pages)
        text = []
        for n, page in enumerate(pdf.pages, start=1):
            assert page.width > page.height  # A4 landscape
            assert abs(page.width - 841.9) < 2 and abs(page.height - 595.3) < 2
            words = page.extract_words(use_text_flow=False, keep_blank_chars=False)
            for w in words:
                assert w["x0"] >= 0 and w["top"] >= 0 and w["x1"] <= page.width and w["bottom"] <= page.height, \
                    (n, w["text"])
            assert not _overlaps(words), (n, _overlaps(words)[:5])
            text.append(page.extract_text() or "")
    full = "\n".join(text)
    # names, not ids, wherever a person reads a place (the plan's sha256 is the one id-like string)
    for c in plan["candidates"]:
        assert c["candidate_id"] not in full, c["candidate_id"]
    assert "E05009" not in full  # ward names, not GSS codes
    assert "Crown copyright and database right" in " ".join(full.split())


def test_csv_and_geojson_of_a_real_plan(real, tmp_path):
    import pyogrio
    import yaml

    from spatial.datasets import load_boroughs, load_wards
    from tasking.pipeline import read_parks

    plan = real["plan"]
    n = len(plan["assignments"])
    export_pack(plan, tmp_path / "plan.csv", format="csv", user="gis", role="analyst")
    df = pd.read_csv(tmp_path / "plan.csv")
    assert len(df) == n
    assert df["visits"].sum() == sum(a["visits"] for a in plan["assignments"])
    assert df["why"].str.len().gt(0).all()
    assert sorted(zip(df["agent_id"], df["candidate_id"], df["date"], df["shift"])) == \
        sorted((a["agent_id"], a["candidate_id"], a["date"], a["shift"]) for a in plan["assignments"])
    # the GeoJSON: one polygon per planned place, drawn from the borough's wards and parks
    borough_code = plan["inputs"]["borough"]
    wards = load_wards((borough_code,))
    area = load_boroughs((borough_code,))
    parks, _ = read_parks(connect(real["url"]), area, None)
    res = export_pack(plan, tmp_path / "plan.geojson", format="geojson", user="gis", role="analyst", wards=wards,
                      parks=parks)
    fc = json.loads((tmp_path / "plan.geojson").read_text(encoding="utf-8"))
    visits = _visits_by_place(plan)
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == len(visits) < n  # places, not visits
    assert res.row_counts == {"places": len(visits), "assignments": n}
    # which plan this is travels as a field GDAL keeps (no non-standard top-level members)
    assert set(fc) == {"type", "name", "features"}
    assert {f["properties"]["plan_sha256"] for f in fc["features"]} == {R.plan_digest(plan)}
    props = {f["properties"]["candidate_id"]: f["properties"] for f in fc["features"]}
    assert {c: p["planned_visits"] for c, p in props.items()} == visits
    agents = {}
    for a in plan["assignments"]:
        agents.setdefault(a["candidate_id"], set()).add(a["agent_id"])
    assert all(p["agents"] == "; ".join(sorted(agents[c])) for c, p in props.items())
    assert all(p["schedule"].count("(") == sum(a["candidate_id"] == c for a in plan["assignments"])
               for c, p in props.items())
    assert all(p["why"] and p["why"].count(";") <= 2 for p in props.values())  # one sentence per place
    for c, p in props.items():
        if c.startswith("ST-"):
            assert p["geometry_source"].startswith("grid cells") and p["area_m2"] >= 150.0 * 150.0 - 1e-6
        elif c.startswith("WP-"):
            assert p["geometry_source"].startswith("ward boundary") and p["ward_name"]
        elif c.startswith("PK-"):
            assert p["geometry_source"] in ("parks layer", "ward boundary (the park is not in the parks layer)")
    assert any(c.startswith("WP-") for c in props)  # the bundled week has ward presence duties
    # read back as GDAL reads it: EPSG:4326, MultiPolygons only, valid, typed fields, inside the borough
    info = pyogrio.read_info(tmp_path / "plan.geojson")
    fields = dict(zip(info["fields"], info["ogr_types"]))
    assert info["crs"] == "EPSG:4326" and info["geometry_type"] == "MultiPolygon" and info["features"] == len(visits)
    assert fields["planned_visits"] in ("OFTInteger", "OFTInteger64") and fields["x_bng"] == "OFTReal"
    assert fields["harm_per_week"] == fields["priority"] == fields["area_m2"] == "OFTReal"
    assert fields["plan_sha256"] == "OFTString"
    back = pyogrio.read_dataframe(tmp_path / "plan.geojson")
    assert back.geometry.is_valid.all() and set(back.geom_type) == {"MultiPolygon"}
    bng = area.geometry.iloc[0]
    streets = back[back["candidate_id"].str.startswith("ST-")].to_crs(27700)
    assert len(streets) > 0 and all(bng.buffer(150).contains(g) for g in streets.geometry)
    assert (streets.geometry.area / streets["area_m2"]).between(0.999, 1.001).all()
    # and the same real plan as a GeoPackage: street patches as polygons inside the borough
    export_pack(plan, tmp_path / "plan.gpkg", format="gpkg", user="gis", role="analyst")
    patches = pyogrio.read_dataframe(tmp_path / "plan.gpkg", layer="patrol_patches")
    street = patches[patches["candidate_id"].str.startswith("ST-")]
    assert len(street) > 0 and (street.geom_type == "MultiPolygon").all() and street.geometry.is_valid.all()
    assert (street["area_m2"] >= 150.0 * 150.0 - 1e-6).all()  # at least one whole cell each
    assert all(bng.buffer(150).contains(g) for g in street.geometry)
    # nothing left out: ward presence duties and parks without the parks layer are there too, drawn as the GeoJSON
    # draws them and saying so
    assert sorted(patches["candidate_id"]) == sorted(c["candidate_id"] for c in plan["candidates"])
    wp = patches[patches["candidate_id"].str.startswith("WP-")]
    assert len(wp) and wp["geometry_source"].str.startswith("square of 150 m around the place point").all()
    # with the GeoJSON's wards and parks, the GeoPackage draws every planned place as the GeoJSON does
    export_pack(plan, tmp_path / "plan2.gpkg", format="gpkg", user="gis", role="analyst", wards=wards, parks=parks)
    both = pyogrio.read_dataframe(tmp_path / "plan2.gpkg", layer="patrol_patches").set_index("candidate_id")
    for cid, p_ in props.items():
        assert both.loc[cid, "geometry_source"].split(" (")[0] == p_["geometry_source"].split(" (")[0]
    # the cameras' coverage: the radius this plan recorded (the roster's), around each camera's site
    roster = yaml.safe_load((REPO / "tasking" / "data" / "rbkc_roster.yaml").read_text(encoding="utf-8"))
    radius = float(roster["deployable_cctv"]["coverage_radius_m"])
    assert plan["inputs"]["cctv_coverage_radius_m"] == radius
    cov = pyogrio.read_dataframe(tmp_path / "plan.gpkg", layer="camera_coverage")
    placed = [c for c in plan["cameras"] if c.get("x") is not None]
    assert len(cov) == len(placed) > 0 and cov["camera_id"].tolist() == [c["camera_id"] for c in placed]
    assert (cov["radius_source"] == "the plan (inputs.cctv_coverage_radius_m)").all()
    assert cov.geometry.area.to_numpy() == pytest.approx(np.full(len(cov), math.pi * radius ** 2), rel=1e-3)


# --------------------------------------------------------------------------
# safeguarding, escaping, errors (hand-made plan)
# --------------------------------------------------------------------------
def test_a_sensitive_aggregate_of_3_shows_as_fewer_than_5(sqlite_url, tmp_path):
    counts = pd.DataFrame({"ward_code": ["E05009395", "E05009393", "E05009390", "E05009391", "E05009392"],
                           "category": ["violent-crime", "violent-crime", "violent-crime", "burglary", "violent-crime"],
                           "sensitive": [True, True, True, False, True], "count": [3, 12, None, 2, 40]})
    shown = suppress_counts(counts)
    # 12 is withheld too (secondary suppression): the borough's violent-crime total minus 12 and 40 would give the 3
    assert shown["display"].tolist() == ["fewer than 5", "withheld", "fewer than 5", "40"]
    assert "count" not in shown.columns
    pack = build_pack(P.make_plan(), sensitive_counts=counts)
    page = pack_html(pack)
    table = page.split("Safeguarding-sensitive categories")[1].split("<h2>")[0]
    assert '<td>E05009395</td><td>violent-crime</td><td class="num">fewer than 5</td>' in table
    assert '<td>E05009393</td><td>violent-crime</td><td class="num">withheld</td>' in table
    assert '<td>E05009392</td><td>violent-crime</td><td class="num">40</td>' in table
    assert '<td class="num">3</td>' not in table and "burglary" not in table
    assert pack.includes_sensitive_aggregates
    engine = connect(sqlite_url)
    export_pack(P.make_plan(), tmp_path / "p.html", format="html", user="a", role="analyst", engine=engine,
                sensitive_counts=counts)
    assert bool(R.list_exports(engine)["includes_sensitive_aggregates"].iloc[0])


def test_text_is_escaped_and_sections_say_when_empty():
    plan = P.make_plan()
    plan["candidates"][0]["place_name"] = '<script src="http://evil.example/x.js"></script> & more'
    plan["candidates"][1]["top_categories"] = '<img src="http://evil.example/y.png"> 100%'
    plan["unassigned"] = []
    page = pack_html(build_pack(plan))
    assert "&lt;img src=&quot;http://evil.example/y.png&quot;&gt;" in page
    assert "<script" not in page and "&lt;script src=&quot;http://evil.example/x.js&quot;&gt;" in page
    assert not EXTERNAL.search(page)
    assert "every candidate place has at least one visit" in page
    assert "no decisions recorded yet" in page and "no review of last week was given" in page


def test_a_large_areas_pack_lists_the_highest_priority_unvisited_places_and_advice_and_says_how_many_more():
    from tasking.pack import PACK_ADVICE_ROWS, PACK_UNASSIGNED_ROWS

    plan = P.make_plan()
    n = PACK_UNASSIGNED_ROWS + 12
    extra = [P._cand(f"ST-c{4000 + i}_1190", "street", 600_000.0 + 150 * i, 178_575.0, float((7 * i) % n),
                     name=f"Unvisited Road {i}") for i in range(n)]
    plan["candidates"] += extra
    plan["unassigned"] = [{"candidate_id": c["candidate_id"], "place_type": "street", "priority": c["priority"],
                           "reason": f"no patroller left for {c['name']}."} for c in extra]
    rec = pd.DataFrame({"candidate_id": [c["candidate_id"] for c in plan["candidates"]],
                        "place_type": "street", "incidents": "5 incidents",
                        "recommendations": [f"Measure for {c['name']}." for c in plan["candidates"]]})
    pack = build_pack(plan, recommendations=rec)
    # by hand: the unvisited places by priority, highest first (ties by id)
    by_hand = sorted(plan["unassigned"], key=lambda u: (-u["priority"], u["candidate_id"]))
    assert list(pack.unassigned["candidate_id"]) == [u["candidate_id"] for u in by_hand[:PACK_UNASSIGNED_ROWS]]
    assert pack.unassigned_total == n and pack.row_counts["unassigned"] == PACK_UNASSIGNED_ROWS
    # the advice of the highest-ranked places (the tasked street patches first), in rank order
    ranked = sorted(plan["candidates"], key=lambda c: (-c["priority"], c["candidate_id"]))
    assert list(pack.recommendations["candidate_id"]) == [c["candidate_id"] for c in ranked[:PACK_ADVICE_ROWS]]
    assert pack.recommendations_total == len(plan["candidates"])
    page = pack_html(pack)
    section4 = page.split(">4. Places not assigned</h2>")[1].split("<h2")[0]
    assert f"The {PACK_UNASSIGNED_ROWS} highest-priority of the {n} places without a visit" in section4
    assert "Tasking page" in section4
    for u in by_hand[:PACK_UNASSIGNED_ROWS]:
        assert html.escape(u["reason"]) in section4
    for u in by_hand[PACK_UNASSIGNED_ROWS:]:
        assert html.escape(u["reason"]) not in page
    section6 = page.split(">6. Designing Out Crime recommendations</h2>")[1].split("<h2")[0]
    assert f"Advice for the {PACK_ADVICE_ROWS} highest-priority of the {len(plan['candidates'])} places" in section6
    assert f"Measure for {ranked[0]['name']}." in section6 and f"Measure for {ranked[-1]['name']}." not in section6
    # a pack within both limits lists everything and says nothing about more
    small = pack_html(build_pack(P.make_plan(), recommendations=rec.head(3)))
    assert "highest-priority of the" not in small


def test_plan_csv_has_a_row_per_assignment_and_geojson_a_polygon_per_place_on_the_hand_made_plan(tmp_path):
    import geopandas as gpd

    from spatial.datasets import load_wards

    plan = P.make_plan()
    assert len(pd.read_csv(pd.io.common.StringIO(plan_csv(plan)))) == len(plan["assignments"]) == 5
    visits = _visits_by_place(plan)
    res = export_pack(plan, tmp_path / "plan.geojson", format="geojson", user="gis", role="analyst")
    assert res.row_counts == {"places": len(visits), "assignments": len(plan["assignments"])}
    fc = json.loads((tmp_path / "plan.geojson").read_text(encoding="utf-8"))
    assert set(fc) == {"type", "name", "features"} and len(fc["features"]) == len(visits) == 4
    props = {f["properties"]["candidate_id"]: f["properties"] for f in fc["features"]}
    assert len(props) == len(fc["features"])  # one feature per place, no stacked points
    assert {c: p["planned_visits"] for c, p in props.items()} == visits
    assert all(type(p["planned_visits"]) is int and type(p["area_m2"]) is float for p in props.values())
    # 6 decimals, one geometry type, exterior rings anticlockwise (RFC 7946)
    for f in fc["features"]:
        assert f["geometry"]["type"] == "MultiPolygon"
        for poly in f["geometry"]["coordinates"]:
            for xy in (xy for ring in poly for xy in ring):
                assert all(round(v, 6) == v for v in xy)
            assert shapely.LinearRing(poly[0]).is_ccw
    # the two-cell street patch: two 150 m cells, once back in British National Grid
    st1 = next(c["candidate_id"] for c in plan["candidates"] if c["cells"].count(",") == 1)
    info, back = _read_back(tmp_path / "plan.geojson")
    assert info["crs"] == "EPSG:4326" and info["geometry_type"] == "MultiPolygon" and info["features"] == 4
    assert back.geometry.is_valid.all() and set(back.geom_type) == {"MultiPolygon"}
    fields = dict(zip(info["fields"], info["ogr_types"]))
    assert fields["planned_visits"] in ("OFTInteger", "OFTInteger64") and fields["n_assignments"].startswith("OFTInt")
    assert fields["area_m2"] == fields["harm_per_week"] == fields["minutes_on_site_week"] == "OFTReal"
    assert fields["plan_sha256"] == fields["schedule"] == fields["why"] == "OFTString"
    bng = back.to_crs(27700).set_index("candidate_id")
    assert bng.loc[st1].geometry.area == pytest.approx(2 * 150.0 * 150.0, rel=1e-3)
    assert props[st1]["area_m2"] == pytest.approx(2 * 150.0 * 150.0)
    assert props[st1]["geometry_source"].startswith("grid cells")
    # the place's visits once, with who and when, and its reason once (not one per visit)
    mine = [a for a in plan["assignments"] if a["candidate_id"] == st1]
    assert props[st1]["n_assignments"] == len(mine) == 2
    assert props[st1]["agents"] == "W01" and props[st1]["schedule"] == "Mon early x2 (W01); Tue late (W01)"
    assert props[st1]["minutes_on_site_week"] == sum(a["minutes"] for a in mine)
    hs = build_pack(plan).hotspots.set_index("candidate_id")
    for cid, p in props.items():
        assert p["why"] == hs.loc[cid, "why"] and p["why"]  # the pack's one sentence per place
        assert not any(a["why"] in p["why"] for a in plan["assignments"])  # no per-visit reasons joined
    # without wards or parks: the park and the ward presence duty are squares of the cell size, said so
    for cid in ("PK-1000353", "WP-E05009390"):
        assert props[cid]["area_m2"] == pytest.approx(150.0 * 150.0)
        assert props[cid]["geometry_source"].startswith("square of 150 m around the place point")
    assert "no parks layer" in props["PK-1000353"]["geometry_source"]
    # with the wards: they are drawn as their ward, named
    wards = load_wards((P.BOROUGH,))
    fc_w = plan_geojson(plan, wards=wards)
    by = {f["properties"]["candidate_id"]: f for f in fc_w["features"]}
    assert len(by) == len(visits)
    ward = wards.set_index("ward_code").loc["E05009395"]
    for cid in ("PK-1000353", "WP-E05009390"):
        p = by[cid]["properties"]
        assert p["geometry_source"].startswith("ward boundary") and p["ward_name"] == ward["ward_name"]
        assert p["area_m2"] == pytest.approx(ward.geometry.area)
        drawn = gpd.GeoSeries([shapely.geometry.shape(by[cid]["geometry"])], crs=4326).to_crs(27700).iloc[0]
        assert drawn.symmetric_difference(ward.geometry).area < 1e-3 * ward.geometry.area
    assert by[st1]["geometry"] == fc["features"][[f["properties"]["candidate_id"] for f in fc["features"]].index(st1)]["geometry"]


def test_the_cameras_coverage_is_a_circle_of_the_plans_radius_in_the_geopackage(tmp_path):
    import pyogrio
    import yaml

    plan = P.make_plan()
    assert "cctv_coverage_radius_m" not in plan["inputs"]  # an older plan: the roster's default, said so
    roster = yaml.safe_load((REPO / "tasking" / "data" / "rbkc_roster.yaml").read_text(encoding="utf-8"))
    for radius, source in ((float(roster["deployable_cctv"]["coverage_radius_m"]), "roster default"),
                           (60.0, "the plan")):
        if source == "the plan":
            plan["inputs"]["cctv_coverage_radius_m"] = radius
        out = tmp_path / f"plan-{radius:g}.gpkg"
        export_pack(plan, out, format="gpkg", user="gis", role="analyst")
        assert dict(pyogrio.list_layers(out))["camera_coverage"] == "MultiPolygon"
        info = pyogrio.read_info(out, layer="camera_coverage")
        assert info["crs"] == "EPSG:27700" and info["features"] == len(plan["cameras"])
        cov = pyogrio.read_dataframe(out, layer="camera_coverage")
        assert cov["camera_id"].tolist() == [c["camera_id"] for c in plan["cameras"]]
        assert cov["site_id"].tolist() == [c["site_id"] for c in plan["cameras"]]
        assert cov["status"].tolist() == [c["status"] for c in plan["cameras"]]
        assert (cov["coverage_radius_m"] == radius).all() and cov["radius_source"].str.startswith(source).all()
        # a 128-sided polygon inscribed in the circle: between its exact area and pi r^2
        n = 128
        inscribed = n / 2 * radius ** 2 * math.sin(2 * math.pi / n)
        for g, area, cam in zip(cov.geometry, cov["area_m2"], plan["cameras"], strict=True):
            assert g.is_valid and g.geom_type == "MultiPolygon"
            assert inscribed - 1e-6 <= g.area <= math.pi * radius ** 2 and area == pytest.approx(g.area)
            assert g.area == pytest.approx(math.pi * radius ** 2, rel=1e-3)
            assert g.centroid.distance(shapely.Point(cam["x"], cam["y"])) < 1e-6
            xy = shapely.get_coordinates(g)  # every vertex on the circle round the camera's site
            assert np.hypot(xy[:, 0] - cam["x"], xy[:, 1] - cam["y"]) == pytest.approx(np.full(len(xy), radius))
    # a camera without a site has no circle; a plan without cameras still has the (empty, typed) layer
    plan["cameras"].append({"camera_id": "CAM02", "site_id": "S-none", "x": None, "y": None, "status": "kept"})
    export_pack(plan, tmp_path / "one.gpkg", format="gpkg", user="gis", role="analyst")
    assert pyogrio.read_dataframe(tmp_path / "one.gpkg", layer="camera_coverage")["camera_id"].tolist() == ["CAM01"]
    plan["cameras"] = []
    export_pack(plan, tmp_path / "none.gpkg", format="gpkg", user="gis", role="analyst")
    info = pyogrio.read_info(tmp_path / "none.gpkg", layer="camera_coverage")
    assert info["features"] == 0 and info["geometry_type"] == "MultiPolygon" and "coverage_radius_m" in info["fields"]


def test_plan_geopackage_has_patches_as_polygons_and_is_audited(tmp_path, db_url):
    """The plan for GIS: patrol patches as MultiPolygons, assignments and cameras as points, run parameters."""
    import pyogrio

    engine = connect(db_url)  # SQLite and PostgreSQL: migration 0008 lets export_audit.kind be gpkg
    plan = P.make_plan()
    out = tmp_path / "plan.gpkg"
    res = export_pack(plan, out, format="gpkg", user="gis1", role="analyst", engine=engine)
    layers = dict(pyogrio.list_layers(out))
    assert layers == {"patrol_patches": "MultiPolygon", "assignments": "Point", "cameras": "Point",
                      "camera_coverage": "MultiPolygon", "run_parameters": None}
    for name in ("patrol_patches", "assignments", "cameras", "camera_coverage"):
        info = pyogrio.read_info(out, layer=name)
        assert info["crs"] == "EPSG:27700"
        g = pyogrio.read_dataframe(out, layer=name)
        assert g.geometry.is_valid.all() and len(set(g.geom_type)) <= 1
    patches = pyogrio.read_dataframe(out, layer="patrol_patches")
    street = patches[patches["candidate_id"].str.startswith("ST-")]
    two_cells = street[street["candidate_id"] == next(c["candidate_id"] for c in plan["candidates"]
                                                     if c["cells"].count(",") == 1)]
    assert two_cells["area_m2"].iloc[0] == pytest.approx(2 * 150.0 * 150.0)  # two 150 m cells, not a point
    visits = {}
    for a in plan["assignments"]:
        visits[a["candidate_id"]] = visits.get(a["candidate_id"], 0) + a["visits"]
    assert dict(zip(patches["candidate_id"], patches["planned_visits"])) == \
        {c: visits.get(c, 0) for c in patches["candidate_id"]}
    fields = dict(zip(*(pyogrio.read_info(out, layer="patrol_patches")[k] for k in ("fields", "ogr_types"))))
    assert fields["planned_visits"] == "OFTInteger64" and fields["harm_per_week"] == "OFTReal"
    assign = pyogrio.read_dataframe(out, layer="assignments")
    assert len(assign) == len(plan["assignments"]) and "minutes_on_site" in assign.columns
    assert pyogrio.read_dataframe(out, layer="cameras")["camera_id"].tolist() == \
        [c["camera_id"] for c in plan["cameras"]]
    meta = pyogrio.read_dataframe(out, layer="run_parameters")
    kv = dict(zip(meta["key"], meta["value"]))
    assert kv["week"] == plan["week"] and kv["plan_sha256"] == R.plan_digest(plan) and kv["generated_at"]
    # parks without the parks layer cannot be drawn: said, not invented
    if any(c["candidate_id"].startswith("PK-") for c in plan["candidates"]):
        assert "without a polygon" in kv["notes"]
    audit = R.list_exports(engine, user="gis1")
    assert audit["kind"].tolist() == ["gpkg"] and audit["file_sha256"].iloc[0] == R.file_sha256(out) == res.sha256


def test_export_errors():
    with pytest.raises(TaskingError, match='format was "docx"'):
        export_pack(P.make_plan(), "x.docx", format="docx", user="a", role="b")
    with pytest.raises(TaskingError, match="user is empty"):
        export_pack(P.make_plan(), "x.csv", format="csv", user=" ", role="b")
    bad = P.make_plan()
    bad["assignments"][0]["candidate_id"] = "ST-nowhere"
    with pytest.raises(TaskingError, match="'ST-nowhere', which is not in plan.candidates"):
        plan_csv(bad)
    with pytest.raises(TaskingError, match="plan.candidates is missing"):
        build_pack({"week": P.WEEK, "assignments": []})


def test_cli_pack_writes_and_audits(real, tmp_path, capsys):
    from hotspot_cli.meeting import add_parser

    p = argparse.ArgumentParser()
    p.add_argument("--database")
    p.add_argument("--data-dir")
    add_parser(p.add_subparsers(dest="command"))
    out = tmp_path / "plan.geojson"
    args = p.parse_args(["--database", real["url"], "pack", "--plan", str(real["plan_path"]), "--format", "geojson",
                         "--out", str(out), "--user", "gis1", "--role", "analyst"])
    assert args.func(args) == 0
    audit = R.list_exports(connect(real["url"]), user="gis1")
    assert audit["kind"].tolist() == ["geojson"]
    assert audit["file_sha256"].iloc[0] == R.file_sha256(out)
    fc = json.loads(out.read_text(encoding="utf-8"))  # one polygon per place, drawn from the area's layers
    places = _visits_by_place(real["plan"])
    assert audit["row_counts"].iloc[0] == {"places": len(places), "assignments": len(real["plan"]["assignments"])}
    assert {f["properties"]["candidate_id"] for f in fc["features"]} == set(places)
    wp = [f["properties"] for f in fc["features"] if f["properties"]["candidate_id"].startswith("WP-")]
    assert wp and all(p["geometry_source"].startswith("ward boundary") for p in wp)
    assert "audited as export" in capsys.readouterr().out
    args = p.parse_args(["--database", real["url"], "pack", "--plan", str(real["plan_path"]), "--format", "html",
                         "--out", str(tmp_path / "p.html"), "--recommendations", "rec.csv"])
    with pytest.raises(TaskingError, match="--recommendations was 'rec.csv'"):
        args.func(args)


def test_pdf_printing_fetches_nothing_from_the_network():
    """pack_pdf only reads inline data: URLs; the same HTML printed with WeasyPrint's default fetcher
    does hit the server, so this test would notice a fetch."""
    import http.server
    import threading

    import weasyprint

    from tasking.pack import pack_pdf

    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        page = (f'<html><head><link rel="stylesheet" href="{base}/style.css"></head>'
                f'<body><p>2026-W48</p><img src="{base}/map.png"></body></html>')
        assert pack_pdf(page).startswith(b"%PDF")
        assert hits == []
        weasyprint.HTML(string=page).write_pdf()
        assert hits, "control: the default fetcher should have asked the local server"
    finally:
        server.shutdown()
        server.server_close()


def test_last_weeks_review_is_rendered():
    import geopandas as gpd

    from tasking.review import candidate_polygons, grid_controls, review_week

    plan = P.make_plan()
    area = gpd.GeoDataFrame(geometry=[shapely.box(524000, 177000, 528500, 181500)], crs=27700)
    units = grid_controls(candidate_polygons(plan), area)
    c = units.iloc[0].geometry.centroid
    before = pd.DataFrame({"x": [c.x] * 8 + [524100.0] * 50, "y": [c.y] * 8 + [177100.0] * 50,
                           "category": "shoplifting"})
    after = pd.DataFrame({"x": [c.x] * 8 + [524100.0] * 50, "y": [c.y] * 8 + [177100.0] * 50,
                          "category": "shoplifting"})  # no change at all: the WDQ is undefined
    logs = pd.DataFrame([{"agent_id": "W01", "candidate_id": plan["assignments"][0]["candidate_id"],
                          "date": "2026-11-23", "shift": "early", "visits": 2, "minutes": 30}])
    rv = review_week(plan, units=units, area=area, before=before, after=after, before_weeks=4, after_weeks=4,
                     logs=logs)
    notes = pd.DataFrame([{"section": "outcome", "candidate_id": None, "text": "Quiet week", "author": "Analyst"}])
    page = pack_html(build_pack(plan, review=rv, review_notes=notes))
    review = page.split("<h2>8. Last week's review</h2>")[1]
    assert "Weighted Displacement Quotient" in review
    assert review.count('<td class="num">undefined</td>') == 2  # incidents and harm
    assert "undefined: the response area did not change relative to the control" in review
    assert "2 of 8 planned visits delivered (25%)" in review
    assert "Quiet week" in review
    # the JSON form (what the CLI's --review reads) renders the same
    assert pack_html(build_pack(plan, review=json.loads(json.dumps(rv.to_dict())), review_notes=notes)) == page
