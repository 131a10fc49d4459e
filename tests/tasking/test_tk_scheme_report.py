"""``tasking.housing.scheme_report`` and the pack's Schemes section on the SYNTHETIC West Kent case log (issue 14 item 4).

The store is built once (db init, area west-kent, the 12 SYNTHETIC schemes with homes, the SYNTHETIC
case log through the council-export ingest, and RBKC's June 2018 police.uk file, which no West Kent
figure may include).  Every expected figure is worked out here from the CSV
and the schemes file with the csv module, pyproj and shapely (which scheme holds each case, the
mapping's categories, areal weighting of Census residents), independently of the code under test.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import html
import re
from collections import Counter, defaultdict
from pathlib import Path

import _tk_builders  # noqa: F401  (first: puts the repository root on sys.path)
import _tk_plans as P
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from hotspot_cli.main import main
from spatial.area_profiles import area_layers, get_area
from spatial.ingest import load_mapping
from spatial.store import connect
from tasking import records as R
from tasking._errors import TaskingError
from tasking.access import AccessDenied, Viewer
from tasking.housing import SchemeInputs, read_scheme_inputs, scheme_report
from tasking.pack import build_pack, export_pack, pack_html
from tasking.resources import load_roster

REPO = Path(__file__).resolve().parents[2]
SYN = REPO / "data" / "synthetic"
CASES = SYN / "west_kent_cases_SYNTHETIC.csv"
MAPPING = SYN / "west_kent_cases_SYNTHETIC.mapping.yaml"
SCHEMES = SYN / "west_kent_schemes_SYNTHETIC.geojson"
SENSITIVE = {"domestic-abuse", "violent-crime"}  # the taxonomy's sensitive categories in this log
TO_BNG = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
CHAIR, PARTNER = Viewer("cath", "chair"), Viewer("pat", "partner")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, SchemeInputs]:
    url = f"sqlite:///{tmp_path_factory.mktemp('scheme-report') / 'wk.sqlite'}"
    assert main(["--database", url, "db", "init"]) == 0
    assert main(["--database", url, "area", "use", "west-kent"]) == 0
    assert main(["--database", url, "layers", "estates", str(SCHEMES), "--id-column", "scheme_id",
                 "--name-column", "name", "--homes-column", "homes"]) == 0
    assert main(["--database", url, "ingest", "--quiet", str(CASES), "--mapping", str(MAPPING)]) == 0
    # another area's incidents in the same store (RBKC, June 2018): never part of West Kent's report
    assert main(["--database", url, "ingest", "--quiet", "--area", "rbkc",
                 str(REPO / "data" / "policeuk" / "rbkc_api_2018-06")]) == 0
    return url, read_scheme_inputs(connect(url))


@pytest.fixture(scope="module")
def expected() -> dict:
    """Per case: its scheme (shapely on the schemes file), category (the mapping), sensitivity and time."""
    with open(CASES, encoding="utf-8", newline="") as fh:
        cases = list(csv.DictReader(fh))
    m = load_mapping(MAPPING)
    schemes = gpd.read_file(SCHEMES).to_crs(27700)
    x, y = TO_BNG.transform(np.array([float(c["Longitude"]) for c in cases]),
                            np.array([float(c["Latitude"]) for c in cases]))
    owner = np.full(len(cases), None, dtype=object)
    for sid, geom in zip(schemes["scheme_id"], schemes.geometry, strict=True):
        owner[shapely.contains_xy(geom, x, y)] = sid
    rows = []
    for c, o, cx, cy in zip(cases, owner, x, y, strict=True):
        cat = m.category_values[c["Case Type"]]
        when = dt.datetime.strptime(f"{c['Date Reported']} {c['Time Reported']}", "%d/%m/%Y %H:%M")
        rows.append({"scheme": o, "category": cat, "not_asb": c["Case Type"] in m.not_asb_values,
                     "sensitive": cat in SENSITIVE, "x": cx, "y": cy, "place": (c["Longitude"], c["Latitude"]),
                     "location": c["Location"], "when": when})
    return {"rows": rows, "schemes": schemes}


def _asb_on(rows: list[dict], sid: str) -> list[dict]:
    return [r for r in rows if r["scheme"] == sid and not r["not_asb"]]


def _residents_by_area(scheme_geom, lsoas: gpd.GeoDataFrame) -> float:
    """Areal weighting worked here: population x share of each LSOA's area inside the scheme."""
    total = 0.0
    for geom, pop in zip(lsoas.geometry, lsoas["population"], strict=True):
        inter = scheme_geom.intersection(geom).area
        if inter > 0:
            total += float(pop) * inter / geom.area
    return total


# ------------------------------------------------------------------ the league


def test_league_counts_rates_and_the_basis_of_every_rate(store, expected):
    url, inputs = store
    rep = scheme_report(inputs, CHAIR, sort_by="rate")
    assert rep.area == "west-kent" and rep.league is not None
    lt = rep.league.set_index("area_code")
    schemes = expected["schemes"].set_index("scheme_id")
    assert sorted(lt.index) == sorted(schemes.index) and len(lt) == 12
    lsoas = area_layers(connect(url), get_area(connect(url), "west-kent")).lsoas
    checked_rates = checked_residents = 0
    for sid, scheme in schemes.iterrows():
        asb = _asb_on(expected["rows"], sid)
        n_sens = sum(r["sensitive"] for r in asb)
        row = lt.loc[sid]
        assert row["count_non_sensitive"] == len(asb) - n_sens
        assert row["not_asb_reports"] == sum(r["not_asb"] for r in expected["rows"] if r["scheme"] == sid)
        if 1 <= n_sens <= 4:  # small sensitive count: never shown, and the total that reveals it is withheld
            assert row["sensitive_display"] == "fewer than 5" and pd.isna(row["count"]) and pd.isna(row["rate"])
        elif not row["secondary"]:
            assert row["sensitive_display"] == str(n_sens) and row["count"] == len(asb)
            if pd.notna(scheme["homes"]):
                assert row["rate"] == pytest.approx(len(asb) / scheme["homes"] * 1000)
            else:
                assert row["rate"] == pytest.approx(len(asb) / _residents_by_area(scheme.geometry, lsoas) * 1000,
                                                    rel=1e-6)
                checked_residents += 1
            checked_rates += 1
        if pd.notna(scheme["homes"]):
            assert row["rate_basis"] == "per 1,000 homes (stock layer)"
        else:
            assert row["rate_basis"] == "per 1,000 residents (Census 2021 by LSOA, apportioned by area)"
            assert row["residents"] == pytest.approx(_residents_by_area(scheme.geometry, lsoas), rel=1e-6)
    assert checked_rates >= 5 and checked_residents >= 1  # the data exercise both bases
    shown = rep.league["rate"].dropna()
    assert shown.is_monotonic_decreasing and rep.league["rank"].is_monotonic_increasing
    by_harm = scheme_report(inputs, CHAIR, sort_by="harm", parts=("league",)).league
    assert by_harm is not None and by_harm["harm"].dropna().is_monotonic_decreasing


def test_not_asb_reports_are_counted_apart_per_category(store, expected):
    _, inputs = store
    rep = scheme_report(inputs, CHAIR, parts=("not_asb",))
    assert rep.league is None and rep.repeats is None and rep.cctv is None and rep.not_asb is not None
    want = Counter(r["category"] for r in expected["rows"] if r["not_asb"])
    got = rep.not_asb.set_index("category")["count"]
    assert {k: int(v) for k, v in got.items() if v} == dict(want)
    assert rep.not_asb.attrs["total"] == sum(want.values()) > 300
    assert "What is not considered as ASB" in rep.not_asb.attrs["policy"]
    assert rep.n_not_asb_on_schemes == sum(r["not_asb"] and r["scheme"] is not None for r in expected["rows"])


# ------------------------------------------------------------------ repeats by role


def _repeat_places(rows: list[dict], *, sensitive: bool) -> dict[tuple[str, str], dict]:
    """Places with 3 or more ASB cases (of that sensitivity) within 183 days: their cases and scheme."""
    by_place: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        if not r["not_asb"] and r["sensitive"] == sensitive:
            by_place[r["place"]].append(r)
    out = {}
    for place, cases in by_place.items():
        t = sorted(c["when"] for c in cases)
        best = max(sum(1 for u in t[i:] if u < v + dt.timedelta(days=183)) for i, v in enumerate(t))
        if best >= 3:
            out[place] = {"n": len(cases), "scheme": cases[0]["scheme"], "best": best}
    return out


def test_repeat_locations_for_the_chair_a_partner_and_a_warden(store, expected):
    _, inputs = store
    open_places = _repeat_places(expected["rows"], sensitive=False)
    chair = scheme_report(inputs, CHAIR, parts=("repeats",)).repeats
    assert chair is not None and chair.points is not None
    assert len(chair.points) == len(open_places) >= 10
    assert sorted(chair.points["n_cases"]) == sorted(p["n"] for p in open_places.values())
    assert not chair.points["categories"].str.contains("domestic-abuse|violent-crime").any()
    # sensitive repeat places: counted per scheme, never placed; 1-4 cases read "fewer than 5"
    sens_places = _repeat_places(expected["rows"], sensitive=True)
    assert len(sens_places) >= 2
    sens = chair.by_area[chair.by_area["kind"] == "sensitive"]
    assert set(sens["estate_id"]) - {"(none)"} == {p["scheme"] for p in sens_places.values() if p["scheme"]}
    small = sens["display"].str.startswith("fewer than 5")
    assert sens.loc[small, "cases"].isna().all() and (sens.loc[~small, "cases"] >= 5).all()
    partner = scheme_report(inputs, PARTNER, parts=("repeats", "cctv"), roster=load_roster(None))
    assert partner.repeats is not None and partner.repeats.points is None
    assert partner.cctv is None and "does not see camera siting" in partner.cctv_note
    with pytest.raises(AccessDenied, match="may not see the schemes report"):
        scheme_report(inputs, Viewer("wendy", "warden", "W01"))


# ------------------------------------------------------------------ CCTV and the SYNTHETIC flag


def test_cctv_ranking_needs_a_roster_and_proposes_sites_on_the_schemes(store, expected):
    _, inputs = store
    none = scheme_report(inputs, CHAIR, parts=("cctv",))
    assert none.cctv is None and "roster init --area west-kent" in none.cctv_note
    rep = scheme_report(inputs, CHAIR, parts=("cctv",), roster=load_roster(None))
    assert rep.cctv is not None and len(rep.cctv) == 12 and "needs a site survey" in rep.cctv_note
    geoms = dict(zip(expected["schemes"]["scheme_id"], expected["schemes"].geometry, strict=True))
    sited = rep.cctv[rep.cctv["site_x"].notna()]
    # a scheme has a site exactly when it holds a non-sensitive ASB case; the site lies on it (50 m cells)
    holds = {r["scheme"] for r in expected["rows"] if r["scheme"] and not r["not_asb"] and not r["sensitive"]}
    assert set(sited["scheme_id"]) == holds
    for r in sited.itertuples():
        assert geoms[r.scheme_id].buffer(50.0).contains(shapely.Point(r.site_x, r.site_y))
    assert sited["uncovered_harm"].is_monotonic_decreasing
    with pytest.raises(TaskingError, match="unknown parts"):
        scheme_report(inputs, CHAIR, parts=("league", "map"))


def test_only_the_areas_incidents_are_read(store, expected):
    url, inputs = store
    assert len(inputs.incidents) == len(expected["rows"])  # every case of the log, no RBKC incident
    assert set(inputs.incidents["source"]) == {"west-kent-cases-SYNTHETIC"}
    from spatial.store.queries import incident_frame

    assert (incident_frame(connect(url), include_sensitive=True)["source"] != "west-kent-cases-SYNTHETIC").sum() > 1000


def test_synthetic_is_flagged_from_the_sources_and_the_schemes(store):
    _, inputs = store
    rep = scheme_report(inputs, CHAIR, parts=())
    assert rep.synthetic and rep.sources == ("west-kent-cases-SYNTHETIC",)
    real_like = SchemeInputs(
        schemes=inputs.schemes.assign(area_id=[f"S{i}" for i in range(len(inputs.schemes))],
                                      name=[f"Scheme {i}" for i in range(len(inputs.schemes))]),
        residents=inputs.residents, incidents=inputs.incidents.assign(source="west-kent-cases"), area=inputs.area)
    assert not scheme_report(real_like, CHAIR, parts=()).synthetic
    only_cases = SchemeInputs(schemes=real_like.schemes, residents=inputs.residents, incidents=inputs.incidents,
                              area=inputs.area)
    assert scheme_report(only_cases, CHAIR, parts=()).synthetic


def test_the_schemes_command_prints_the_report(store, capsys):
    url, inputs = store
    assert main(["--database", url, "schemes", "league", "--sort", "count"]) == 0
    out = capsys.readouterr().out
    lt = scheme_report(inputs, CHAIR, sort_by="count", parts=("league",)).league
    assert lt is not None
    shown = [m.group(0) for ln in out.splitlines() if "SYNTHETIC Scheme" in ln
             for m in [re.search(r"SYN-S\d\d", ln)] if m]
    assert shown == lt["area_code"].tolist() and len(shown) == 12


# ------------------------------------------------------------------ the pack


def test_the_pack_has_a_schemes_section_of_counts_and_no_case_places(store, expected, tmp_path):
    url, inputs = store
    rep = scheme_report(inputs, CHAIR, sort_by="rate")
    page = pack_html(build_pack(P.make_plan(), schemes=rep))
    assert page.count("<h2") == 9 and ">9. Schemes</h2>" in page
    section = page.split(">9. Schemes</h2>")[1].split('<p class="note">Plan sha256')[0]
    assert "SYNTHETIC data" in section
    # league top rows, in the report's order, with the figures worked out from the CSV
    schemes = expected["schemes"].set_index("scheme_id")
    names = rep.league["area_name"].head(10).tolist()
    body = section.split("<h3>")[0]
    assert [html.unescape(n) for n in re.findall(r"<tr><td class=\"num\">\d+</td><td>([^<]+)</td>", body)] == names
    for sid in rep.league["area_code"].head(10):
        asb = _asb_on(expected["rows"], sid)
        n_sens = sum(r["sensitive"] for r in asb)
        name = html.escape(str(schemes.loc[sid, "name"]))
        asb_cell, sens_cell = re.findall(r"<td[^>]*>([^<]*)</td>", body.split(f"<td>{name}</td>")[1])[:2]
        if 1 <= n_sens <= 4:
            assert (asb_cell, sens_cell) == ("withheld", "fewer than 5")
        else:
            assert (asb_cell, sens_cell) == (f"{len(asb):,}", str(n_sens))
    n_not_asb = sum(r["not_asb"] for r in expected["rows"])
    assert f"{n_not_asb:,} reports are not ASB" in section
    # no case is placed: no coordinates, no location text, no sensitive pair anywhere in the page
    assert not any(r["location"] in section for r in expected["rows"])
    for r in expected["rows"]:
        if r["sensitive"]:
            assert f"{r['x']:.0f}" not in section or f"{r['y']:.0f}" not in section
            assert r["place"][0] not in page or r["place"][1] not in page
    assert "Easting" not in section and "Northing" not in section
    # RBKC's pack (no schemes) is unchanged: eight sections, no Schemes section, no schemes row count
    plain = build_pack(P.make_plan())
    assert ">9. Schemes" not in pack_html(plain) and "schemes" not in plain.row_counts
    # exported and audited with the section: it holds sensitive aggregates (suppressed)
    engine = connect(url)
    res = export_pack(P.make_plan(), tmp_path / "pack.html", format="html", user="ana", role="analyst",
                      engine=engine, schemes=rep)
    assert res.includes_sensitive_aggregates and res.row_counts["schemes"] == 10  # the top 10 of 12 schemes
    assert ">9. Schemes</h2>" in (tmp_path / "pack.html").read_text(encoding="utf-8")
    exports = R.list_exports(engine)
    last = exports.loc[exports["export_id"] == res.export_id].iloc[0]
    assert (last["exported_by"], last["kind"]) == ("ana", "html") and bool(last["includes_sensitive_aggregates"])


def test_hotspot_tasking_pack_adds_the_section_when_the_area_has_schemes(store, tmp_path, capsys):
    import json

    url, _ = store
    plan = P.make_plan()
    plan["inputs"].update({"area": "west-kent", "borough": "E07000111", "districts": ["E07000111"]})
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    out = tmp_path / "pack.html"
    assert main(["--database", url, "pack", "--plan", str(path), "--format", "html", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    page = out.read_text(encoding="utf-8")
    assert ">9. Schemes</h2>" in page and "SYNTHETIC data" in page
    assert "schemes 10" in printed and "includes sensitive aggregates" in printed
    # the plan's CSV has no such section (only documents carry it)
    csv_out = tmp_path / "plan.csv"
    assert main(["--database", url, "pack", "--plan", str(path), "--format", "csv", "--out", str(csv_out)]) == 0
    assert "Schemes" not in csv_out.read_text(encoding="utf-8")


def test_the_league_download_is_the_commands_file_and_is_audited(store, tmp_path, capsys):
    from tasking.access import scheme_league_bytes

    url, inputs = store
    engine = connect(url)
    out = tmp_path / "league.csv"
    assert main(["--database", url, "schemes", "league", "--out", str(out), "--user", "cli-ana"]) == 0
    assert "recorded in the export audit" in capsys.readouterr().out
    cli_audit = R.list_exports(engine, user="cli-ana")  # the command's file is audited as the download is
    assert len(cli_audit) == 1 and cli_audit.iloc[0]["file_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert (cli_audit.iloc[0]["role"], bool(cli_audit.iloc[0]["includes_sensitive_aggregates"])) == ("analyst", True)
    rep = scheme_report(inputs, Viewer("ana", "analyst"), parts=("league",))
    data = scheme_league_bytes(Viewer("ana", "analyst"), rep, engine=engine)
    assert data == out.read_bytes()
    rows = list(csv.DictReader(data.decode("utf-8").splitlines()))
    assert len(rows) == 12 and {"fewer than 5"} <= {r["sensitive"] for r in rows}
    assert all(r["asb_cases"] == "" for r in rows if r["sensitive"] == "fewer than 5")  # the total is withheld
    exports = R.list_exports(engine)
    last = exports.loc[exports["export_id"].idxmax()]
    assert (last["exported_by"], last["kind"], bool(last["includes_sensitive_aggregates"])) == ("ana", "csv", True)
    assert last["file_name"] == "schemes-west-kent.csv"
    for who in (PARTNER, Viewer("cam", "cctv")):
        with pytest.raises(AccessDenied, match="may not export the schemes league"):
            scheme_league_bytes(who, rep, engine=engine)
