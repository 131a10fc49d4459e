"""Every command on another area than RBKC: the bundled West Kent area and a London area made with ``area create``.

West Kent: three months of its real police.uk files are ingested with ``--area west-kent``; then ``hotspots``,
``roster init``, ``allocate``, ``recommend``, ``pack`` and ``evaluate`` run on it, and their outputs are checked
against the area's own layers (not against numbers written here).  London: an area of one borough (Islington) is
created from the London-wide 2018 ward file and the 2021 LSOAs; a month of the Met's London-wide extract is
ingested into it, every in-area row stored and only the rows outside it counted as outside (recomputed here
from the raw file), and ``hotspots``/``allocate`` run on it.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from hotspot_cli.main import main as cli_main

REPO = Path(__file__).resolve().parents[1]
WK_DIR = REPO / "data" / "policeuk" / "west_kent"
WK_MONTHS = ("2025-10", "2025-11", "2025-12")
SHARED = Path("/work/shared/data") if Path("/work/shared/data").is_dir() else REPO.parent / "shared" / "data"
LONDON_WARDS = SHARED / "boundaries" / "london_wards_2018.gpkg"
LONDON_LSOAS = SHARED / "boundaries" / "london_lsoa_2021_gen20.gpkg"
LONDON_API = SHARED / "policeuk" / "london_api"
ISLINGTON = "E09000019"  # a borough the extract covers (its police.uk API pull asked for every ward)
WEEK = "2026-W49"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli_main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _cli(*argv: str) -> int:
    return cli_main(list(argv))


@pytest.fixture(scope="module")
def wk(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A store holding three West Kent months (ingested with --area west-kent), a starter roster and a plan."""
    tmp = tmp_path_factory.mktemp("westkent")
    db = f"sqlite:///{tmp / 'h.sqlite'}"
    files = [str(p) for p in sorted(WK_DIR.iterdir()) if p.name[:7] in WK_MONTHS]
    assert len(files) == 3
    assert _cli("--database", db, "ingest", "--area", "west-kent", "--quiet", *files) == 0
    return {"db": db, "tmp": str(tmp)}


@pytest.fixture(scope="module")
def wk_plan(wk: dict[str, str]) -> dict[str, str]:
    """``roster init --area west-kent`` then ``allocate --area west-kent`` (presence per week: rural wards)."""
    db, tmp = wk["db"], Path(wk["tmp"])
    assert _cli("--database", db, "roster", "init", "--area", "west-kent") == 0
    plan = tmp / "plan.json"
    assert _cli("--database", db, "allocate", "--area", "west-kent", "--week", WEEK, "--out", str(plan),
                "--presence", "week", "--time-limit", "10") == 0
    return {**wk, "plan": str(plan)}


def _west_kent():
    from tasking.context import open_area

    return open_area(None, "west-kent")


# ------------------------------------------------------------------ West Kent
def _run_params(fc: dict) -> dict[str, str]:
    """The run's parameters as the GeoJSON carries them: ``run_*`` fields, the same on every feature."""
    props = [{k[4:]: v for k, v in f["properties"].items() if k.startswith("run_")} for f in fc["features"]]
    assert props and all(p == props[0] for p in props)
    return props[0]


def test_hotspots_on_west_kent_cover_the_three_districts(wk: dict[str, str], capsys, tmp_path: Path) -> None:
    from spatial.store import connect
    from spatial.store.queries import incident_frame

    out = tmp_path / "wk.geojson"
    code, text, err = run(capsys, "--database", wk["db"], "hotspots", "--area", "west-kent", "--method", "kde",
                          "--period", "2025-10..2025-12", "--out", str(out))
    assert code == 0, err
    fc = json.loads(out.read_text())
    params = _run_params(fc)
    ctx = _west_kent()
    assert params["area"] == "west-kent" and params["area_name"] == "west-kent"
    assert params["districts"] == ["E07000111", "E07000115", "E07000116"]  # GDAL writes the JSON list as one
    # every stored non-sensitive incident of the three months inside the area's districts is used
    inc = incident_frame(connect(wk["db"]), include_sensitive=False)
    x, y = inc["x"].to_numpy(float), inc["y"].to_numpy(float)
    inside = shapely.contains_xy(shapely.union_all(np.asarray(ctx.outline.geometry.values, dtype=object)), x, y)
    assert int(params["n_incidents_used"]) == int(inside.sum()) > 1000
    cells = gpd.GeoDataFrame.from_features(fc["features"], crs=4326).to_crs(27700)
    assert cells["is_hotspot"].sum() > 0
    assert cells.union_all().within(ctx.layers.outline().buffer(200))  # the grid is West Kent's, not RBKC's


def test_hotspots_narrowed_to_one_district_and_a_district_outside_the_area(wk, capsys, tmp_path: Path) -> None:
    out = tmp_path / "tm.geojson"
    code, _, err = run(capsys, "--database", wk["db"], "hotspots", "--area", "west-kent", "--district", "E07000115",
                       "--method", "gistar", "--period", "2025-12", "--out", str(out))
    assert code == 0, err
    fc = json.loads(out.read_text())
    params = _run_params(fc)
    assert params["area"] == "E07000115" and params["districts"] == ["E07000115"]
    assert params["area_name"] == "west-kent"
    tm = _west_kent().narrow("E07000115").outline.union_all()
    cells = gpd.GeoDataFrame.from_features(fc["features"], crs=4326).to_crs(27700)
    assert cells.union_all().within(tm.buffer(200))
    code, _, err = run(capsys, "--database", wk["db"], "hotspots", "--area", "west-kent", "--borough", "E09000020",
                       "--method", "kde", "--period", "2025-12", "--out", str(out))
    assert code == 2
    assert "not in area 'west-kent'" in err and "E07000111 (Sevenoaks)" in err and "E07000116" in err


def test_allocate_without_a_roster_says_how_to_make_one(capsys, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'h.sqlite'}"  # the bundled West Kent area has no roster until roster init
    code, _, err = run(capsys, "--database", db, "allocate", "--area", "west-kent", "--week", WEEK,
                       "--out", str(tmp_path / "p.json"))
    assert code == 2 and "has no roster" in err and "hotspot-tasking roster init --area west-kent" in err
    assert not (tmp_path / "p.json").exists()
    code, out, err = run(capsys, "--database", db, "roster", "init", "--area", "west-kent")
    assert code == 0 and "72 patrol officers" in out
    code, _, err = run(capsys, "--database", db, "roster", "init", "--area", "west-kent")
    assert code == 2 and "already has a roster" in err
    code, _, err = run(capsys, "--database", db, "roster", "init", "--area", "rbkc")
    assert code == 2 and "tasking/data/rbkc_roster.yaml" in err


@pytest.mark.slow
def test_allocate_on_west_kent_with_its_starter_roster(wk_plan: dict[str, str]) -> None:
    from spatial.area_profiles import get_area
    from spatial.store import connect
    from tasking.context import roster_of

    plan = json.loads(Path(wk_plan["plan"]).read_text())
    ctx = _west_kent()
    roster = roster_of(get_area(connect(wk_plan["db"]), "west-kent"))
    assert roster is not None and len(roster.wardens) == len(ctx.layers.wards) == 72
    assert plan["inputs"]["area"] == "west-kent" and plan["inputs"]["borough"] == "west-kent"
    assert plan["inputs"]["districts"] == ["E07000111", "E07000115", "E07000116"]
    assert plan["inputs"]["months"] == list(WK_MONTHS)
    assert plan["check"]["ok"] and plan["assignments"]
    ids = {a.agent_id for a in roster.agents}
    assert {a["agent_id"] for a in plan["assignments"]} <= ids
    wards = set(ctx.layers.wards["ward_code"])
    assert {c["ward_code"] for c in plan["candidates"]} <= wards
    # the parks layer: the RBKC registered parks lie nowhere near West Kent, so none is used
    assert plan["inputs"]["parks"].startswith("none")
    # the starter roster's people are patrol officers, and the plan's first sentence calls them so
    from tasking.explain import plan_sentences

    assert roster.warden_title == "patrol officer" and plan["inputs"]["kind_titles"] == {"warden": "patrol officer"}
    n_people = len({a["agent_id"] for a in plan["assignments"]})
    first = plan_sentences(plan)[0]
    assert f"by {n_people} patrol officers," in first and "warden" not in first


@pytest.mark.slow
def test_recommend_and_pack_on_the_west_kent_plan(wk_plan: dict[str, str], capsys, tmp_path: Path) -> None:
    rec = tmp_path / "rec.geojson"
    code, _, err = run(capsys, "--database", wk_plan["db"], "recommend", "--plan", wk_plan["plan"], "--out", str(rec))
    assert code == 0, err
    fc = json.loads(rec.read_text())
    plan = json.loads(Path(wk_plan["plan"]).read_text())
    params, months = _run_params(fc), plan["inputs"]["months"]
    assert params["area"] == "west-kent" and params["period"] == f"{months[0]}..{months[-1]}"
    planned = {c["candidate_id"] for c in plan["candidates"]}
    assert fc["features"] and {f["properties"]["candidate_id"] for f in fc["features"]} <= planned
    html = tmp_path / "pack.html"
    code, out, err = run(capsys, "--database", wk_plan["db"], "pack", "--plan", wk_plan["plan"], "--format", "html",
                         "--recommendations", str(rec), "--out", str(html), "--user", "tester")
    assert code == 0, err
    text = html.read_text(encoding="utf-8")
    assert "West Kent (Sevenoaks, Tonbridge and Malling, Tunbridge Wells)" in text
    assert "Kensington" not in text
    # each person's schedule is headed with what the roster calls them
    agent = sorted({a["agent_id"] for a in plan["assignments"]})[0]
    assert f"{agent} (patrol officer):" in text and "(warden)" not in text
    code, _, err = run(capsys, "--database", wk_plan["db"], "pack", "--plan", wk_plan["plan"], "--format", "html",
                       "--area", "rbkc", "--out", str(tmp_path / "x.html"))
    assert code == 2 and "differs from the plan's area west-kent" in err


def test_review_of_a_west_kent_week_counts_its_places_and_controls(wk_plan: dict[str, str]) -> None:
    """The review (tasked places against matched controls, the displacement check) runs on West Kent's plan: the
    plan's places as polygons, every other 150 m cell of the three districts a control, and each place's incidents
    as an independent point-in-polygon count gives them."""
    from spatial.store import connect
    from spatial.store.queries import incident_frame
    from tasking.review import candidate_polygons, grid_controls, review_week

    plan = json.loads(Path(wk_plan["plan"]).read_text())
    ctx = _west_kent()
    inc = incident_frame(connect(wk_plan["db"]))
    inc = inc[inc["ward_code"].isin(set(ctx.layers.wards["ward_code"]))]
    before, after = inc[inc["month"].isin(WK_MONTHS[:2])], inc[inc["month"] == WK_MONTHS[2]]
    assert len(before) > 2 * len(after) > 1000
    units = grid_controls(candidate_polygons(plan), ctx.outline)
    assert units["tasked"].sum() > 10 and (~units["tasked"]).sum() > 10_000  # West Kent's rural cells as controls
    rv = review_week(plan, units=units, area=ctx.outline, before=before, after=after, before_weeks=61 / 7,
                     after_weeks=31 / 7)
    tab = rv.comparison.units.set_index("candidate_id")
    tasked = units[units["tasked"].astype(bool)]
    for cid, geom in zip(tasked["candidate_id"], tasked.geometry, strict=True):
        x, y = after["x"].to_numpy(), after["y"].to_numpy()
        inside, touching = int(shapely.contains_xy(geom, x, y).sum()), int(shapely.intersects_xy(geom, x, y).sum())
        assert inside <= tab.loc[cid, "incidents_after"] <= touching, cid
    row = rv.comparison.summary.query("place_type == 'all' and measure == 'incidents'").iloc[0]
    assert row["n_tasked"] == len(tasked) and row["tasked_before"] > 0
    assert rv.displacement is not None and rv.week == WEEK


def test_evaluate_on_the_area_backtests_its_stored_incidents(wk: dict[str, str], capsys) -> None:
    code, out, err = run(capsys, "--database", wk["db"], "evaluate", "--area", "west-kent", "--min-train", "2",
                         "--methods", "last_period", "long_run_kde", "--cell-size", "500")
    assert code == 0, err
    assert "area west-kent" in out and "months 2025-10..2025-12" in out and "1 origins" in out
    code, _, err = run(capsys, "--database", wk["db"], "evaluate", "--area", "nowhere")
    assert code == 2 and "no area named 'nowhere'" in err


def test_purge_takes_the_areas_retention_period(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("HOTSPOT_RETENTION_MONTHS", raising=False)
    db = f"sqlite:///{tmp_path / 'h.sqlite'}"
    code, out, err = run(capsys, "--database", db, "area", "create", "tm",
                         "--wards", str(REPO / "data" / "boundaries" / "west_kent_wards_2013.gpkg"),
                         "--lsoas", str(REPO / "data" / "boundaries" / "west_kent_lsoa_2021.gpkg"),
                         "--district-code", "E07000115", "--retention-months", "24")
    assert code == 0, err
    code, out, err = run(capsys, "--database", db, "purge", "--area", "tm", "--dry-run")
    assert code == 0, err
    assert "Retention 24 months" in out
    code, out, err = run(capsys, "--database", db, "purge", "--dry-run")  # RBKC (active) sets none, nor the env
    assert code == 2 and "give --months N" in err


def test_a_created_area_cites_its_own_policy_on_what_is_not_asb(tmp_path: Path, capsys) -> None:
    """Reports kept apart as not ASB cite the area's policy (area create --not-asb-policy), not West Kent's."""
    from spatial.not_asb import POLICY_REFERENCE, UNNAMED_POLICY
    from spatial.store import connect
    from tasking.access import Viewer
    from tasking.housing import read_scheme_inputs, scheme_report

    syn = REPO / "data" / "synthetic"
    policy = "Tonbridge Homes ASB Policy 2024, section 4 (what we do not treat as ASB)"
    db = f"sqlite:///{tmp_path / 'h.sqlite'}"
    for name, extra in (("tm", ["--not-asb-policy", policy]), ("tm-unnamed", [])):
        code, _, err = run(capsys, "--database", db, "area", "create", name,
                           "--wards", str(REPO / "data" / "boundaries" / "west_kent_wards_2013.gpkg"),
                           "--lsoas", str(REPO / "data" / "boundaries" / "west_kent_lsoa_2021.gpkg"),
                           "--district-code", "E07000115", *extra)
        assert code == 0, err
    assert run(capsys, "--database", db, "layers", "estates", str(syn / "west_kent_schemes_SYNTHETIC.geojson"),
               "--id-column", "scheme_id", "--name-column", "name", "--homes-column", "homes")[0] == 0
    code, _, err = run(capsys, "--database", db, "ingest", "--area", "tm", "--quiet",
                       str(syn / "west_kent_cases_SYNTHETIC.csv"),
                       "--mapping", str(syn / "west_kent_cases_SYNTHETIC.mapping.yaml"))
    assert code == 0, err
    code, out, err = run(capsys, "--database", db, "status", "--area", "tm")
    assert code == 0, err
    assert f"reports that are not ASB under {policy}:" in out and POLICY_REFERENCE not in out
    code, out, _ = run(capsys, "--database", db, "status", "--area", "tm-unnamed")
    assert code == 0 and f"not ASB under {UNNAMED_POLICY}" in out and POLICY_REFERENCE not in out
    engine = connect(db)
    chair = Viewer(user="c", role="chair")
    for name, cited in (("tm", policy), ("tm-unnamed", UNNAMED_POLICY)):
        rep = scheme_report(read_scheme_inputs(engine, area=name), chair, parts=("not_asb",))
        assert rep.not_asb is not None and rep.not_asb.attrs["total"] > 0
        assert rep.not_asb.attrs["policy"] == cited


# ------------------------------------------------------------------ a London area made with area create
def _raw_month(path: Path) -> pd.DataFrame:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype=str)


@pytest.mark.slow
@pytest.mark.skipif(not LONDON_API.is_dir() or not LONDON_WARDS.is_file(), reason="the shared London extract")
def test_a_created_london_area_ingests_the_mets_file_and_plans(tmp_path: Path, capsys) -> None:
    from spatial.area_profiles import area_layers, get_area
    from spatial.store import connect
    from spatial.store.queries import incident_frame

    db = f"sqlite:///{tmp_path / 'h.sqlite'}"
    code, out, err = run(capsys, "--database", db, "area", "create", "islington", "--wards", str(LONDON_WARDS),
                         "--lsoas", str(LONDON_LSOAS), "--district-code", ISLINGTON, "--use")
    assert code == 0, err
    assert "starter roster" in out and "2018 wards" in out
    engine = connect(db)
    profile = get_area(engine, "islington")
    layers = area_layers(engine, profile)
    assert set(layers.wards["borough_code"]) == {ISLINGTON} and profile.roster_yaml

    month = LONDON_API / "2018-06-london-street-police-uk-api.csv.gz"
    code, out, err = run(capsys, "--database", db, "ingest", "--quiet", str(month))
    assert code == 0, err
    rep = pd.read_sql("SELECT rows_read, stored, duplicates, quarantined, outside FROM ingests", engine).iloc[0]
    raw = _raw_month(month)
    lon, lat = pd.to_numeric(raw["longitude"], errors="coerce"), pd.to_numeric(raw["latitude"], errors="coerce")
    located = (lon.notna() & lat.notna()).to_numpy()
    pts = gpd.GeoSeries(gpd.points_from_xy(lon[located], lat[located]), crs=4326).to_crs(27700)
    inside = shapely.contains_xy(layers.outline().buffer(250), pts.x.to_numpy(), pts.y.to_numpy())
    assert rep["rows_read"] == len(raw) > 40_000
    assert rep["quarantined"] == int((~located).sum())  # only rows without a location are bad input
    assert rep["outside"] == int((~inside).sum()) > 30_000  # the rest of London: counted, not kept
    assert rep["stored"] + rep["duplicates"] == int(inside.sum()) > 1000  # every in-area row is stored
    assert len(incident_frame(engine, include_sensitive=True)) == rep["stored"]

    out_file = tmp_path / "islington.geojson"
    code, _, err = run(capsys, "--database", db, "hotspots", "--method", "kde", "--period", "2018-06",
                       "--out", str(out_file))
    assert code == 0, err
    fc = json.loads(out_file.read_text())
    params = _run_params(fc)
    assert params["area_name"] == "islington" and params["area"] == ISLINGTON
    plan_file = tmp_path / "plan.json"
    code, out, err = run(capsys, "--database", db, "allocate", "--week", WEEK, "--out", str(plan_file),
                         "--presence", "week", "--time-limit", "10", "--no-cctv")
    assert code == 0, err
    plan = json.loads(plan_file.read_text())
    assert plan["inputs"]["area"] == "islington" and plan["inputs"]["borough"] == ISLINGTON and plan["check"]["ok"]
    assert {c["ward_code"] for c in plan["candidates"]} <= set(layers.wards["ward_code"])
