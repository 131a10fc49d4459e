"""Area profiles (issue 14): bundled RBKC and West Kent areas, ``area create`` from ONS-style files,
the starter roster, rows outside the area, low months, and a created London area.

West Kent tests use the bundled copy (``data/``) and always run; the London check reads the
London extract through ``$HOTSPOT_SHARED_DATA`` (not bundled) and is skipped when it is absent.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import _builders as B  # noqa: E402  (first: puts the repository root on sys.path)
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import yaml

from hotspot_cli.main import main
from spatial._errors import HotspotError
from spatial.area_profiles import (
    DEFAULT_AREA,
    area_layers,
    bundled_profiles,
    get_area,
    list_areas,
    read_area_layers,
    read_boundary,
    resolve_area,
)
from spatial.datasets import DEMO_BOROUGHS, load_lsoas, load_wards
from spatial.low_months import low_month_table, low_months
from spatial.store import connect
from tasking.resources import load_roster, roster_from_mapping
from tasking.roster_template import starter_roster_yaml

WK_DIR = B.DATA / "policeuk" / "west_kent"
WK_MONTHS = sorted(WK_DIR.glob("*.csv.gz"))
SHARED = Path(os.environ.get("HOTSPOT_SHARED_DATA", B.REPO.parent / "shared" / "data"))
LONDON = SHARED / "policeuk" / "london_api"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.fixture
def db(tmp_path) -> str:
    url = f"sqlite:///{tmp_path}/h.sqlite"
    assert main(["--database", url, "db", "init"]) == 0
    return url


def _rows(path: Path) -> pd.DataFrame:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False)


# ------------------------------------------------------------------ bundled areas


def test_bundled_rbkc_area_is_exactly_todays_layers():
    """The default area's wards and LSOAs are the layers ingest always used, so every number stays the same."""
    rbkc = bundled_profiles()[DEFAULT_AREA]
    assert rbkc.district_codes == DEMO_BOROUGHS and rbkc.ward_vintage == "2018 wards"
    layers = area_layers(None, rbkc, data_dir=B.DATA)
    for got, ref, col in ((layers.wards, load_wards(DEMO_BOROUGHS, data_dir=B.DATA), "ward_code"),
                          (layers.lsoas, load_lsoas(DEMO_BOROUGHS, data_dir=B.DATA), "lsoa_code")):
        assert got[col].tolist() == ref[col].tolist()
        assert all(a.equals_exact(b, 0) for a, b in zip(got.geometry, ref.geometry))
    assert len(layers.districts) == 3
    # population by LSOA: RBKC's 101 2021 LSOAs from Census 2021 (neighbours have none bundled)
    pop = layers.lsoas.loc[layers.lsoas["borough_code"] == "E09000020", "population"]
    assert pop.notna().sum() == 101 and pop.sum() > 140_000


def test_bundled_west_kent_area():
    wk = bundled_profiles()["west-kent"]
    assert wk.ward_vintage == "2013 wards" and wk.police_forces == ("kent",)
    layers = area_layers(None, wk, data_dir=B.DATA)
    assert (len(layers.districts), len(layers.wards), len(layers.lsoas)) == (3, 72, 222)
    totals = layers.lsoas.groupby("borough_code")["population"].sum().to_dict()
    assert totals == {"E07000111": 120_510, "E07000115": 132_203, "E07000116": 115_312}  # the published figures
    assert len(WK_MONTHS) == 23


def test_area_list_use_and_status(db, capsys):
    code, out, _ = run(capsys, "--database", db, "area", "list")
    assert code == 0
    lines = {ln.split()[1] if ln.startswith("*") else ln.split()[0]: ln for ln in out.splitlines()[1:3]}
    assert lines["rbkc"].startswith("*") and not lines["west-kent"].startswith("*")
    assert "2013 wards" in lines["west-kent"]
    assert run(capsys, "--database", db, "area", "use", "west-kent")[0] == 0
    assert resolve_area(connect(db)).name == "west-kent"  # recorded in the database: every process sees it
    code, out, _ = run(capsys, "--database", db, "area", "list")
    assert any(ln.startswith("* west-kent") for ln in out.splitlines())
    code, out, err = run(capsys, "--database", db, "area", "use", "atlantis")
    assert code == 2 and "no area named 'atlantis'" in err and "west-kent" in err
    code, out, _ = run(capsys, "--database", db, "status", "--area", "rbkc")
    assert code == 0 and "Area: rbkc" in out


def test_west_kent_ingests_into_its_area_and_is_outside_rbkc(db, capsys):
    months = [p for p in WK_MONTHS if p.name.startswith(("2018-10", "2018-11"))]
    n = sum(len(_rows(p)) for p in months)
    # into the RBKC area: every row is outside it; none is quarantined and no text of them is kept
    code, out, _ = run(capsys, "--database", db, "ingest", "--quiet", "--area", "rbkc", *map(str, months))
    assert code == 0 and f"+ {n:,} outside the area" in out and "0 stored" in out
    engine = connect(db)
    q = pd.read_sql("SELECT COUNT(*) AS n FROM quarantine", engine)["n"].iloc[0]
    ing = pd.read_sql("SELECT rows_read, stored, quarantined, outside FROM ingests", engine)
    assert q == 0 and ing["outside"].sum() == n and ing["stored"].sum() == 0
    code, out, _ = run(capsys, "--database", db, "status")
    assert f"{n:,} rows outside the area" in out and months[0].name in out
    # into West Kent: every row stored (the files hold only West Kent rows)
    code, out, _ = run(capsys, "--database", db, "ingest", "--quiet", "--area", "west-kent", *map(str, months))
    assert code == 0 and f"{n:,} rows read = {n:,} stored" in out
    stored = pd.read_sql("SELECT ward_code, lsoa_code FROM incidents", engine)
    wards = set(area_layers(engine, get_area(engine, "west-kent"), data_dir=B.DATA).wards["ward_code"])
    assert len(stored) == n and stored["ward_code"].isin(wards).mean() > 0.99


# ------------------------------------------------------------------ reading boundary files


def _ons_copy(tmp_path: Path) -> tuple[Path, Path]:
    """West Kent's bundled layers saved under ONS column names (WD13CD/WD13NM/LAD13CD, LSOA21CD/LSOA21NM)."""
    w = gpd.read_file(B.DATA / "boundaries" / "west_kent_wards_2013.gpkg").rename(
        columns={"ward_code": "WD13CD", "ward_name": "WD13NM", "borough_code": "LAD13CD", "borough_name": "LAD13NM"})
    ls = gpd.read_file(B.DATA / "boundaries" / "west_kent_lsoa_2021.gpkg").drop(columns=["borough_code"]).rename(
        columns={"lsoa_code": "LSOA21CD", "lsoa_name": "LSOA21NM"})
    wp, lp = tmp_path / "my_wards.geojson", tmp_path / "my_lsoas.gpkg"
    w.to_crs(4326).to_file(wp, driver="GeoJSON")
    ls.to_file(lp, driver="GPKG")
    return wp, lp


def test_ons_columns_are_recognised_and_districts_derived(tmp_path):
    wp, lp = _ons_copy(tmp_path)
    layers, wv, lv = read_area_layers(wp, lp)
    assert (wv, lv) == ("2013 wards", "2021 LSOAs")
    assert sorted(layers.districts["borough_code"]) == ["E07000111", "E07000115", "E07000116"]
    assert len(layers.wards) == 72 and len(layers.lsoas) == 222  # LSOAs kept by lying in the wards (no LAD column)
    # the derived district outlines cover their wards
    d = layers.districts.set_index("borough_code")
    for code, grp in layers.wards.groupby("borough_code"):
        assert d.loc[code, "geometry"].buffer(1).contains(shapely.union_all(grp.geometry.values))
    # one district only
    one, _, _ = read_area_layers(wp, lp, only_districts=["E07000115"])
    assert set(one.wards["borough_code"]) == {"E07000115"} and set(one.lsoas["borough_code"]) == {"E07000115"}


def test_unrecognised_columns_give_the_columns_found(tmp_path):
    w = gpd.read_file(B.DATA / "boundaries" / "west_kent_wards_2013.gpkg").rename(
        columns={"ward_code": "WARD_ID", "ward_name": "LABEL", "borough_code": "COUNCIL", "borough_name": "X"})
    p = tmp_path / "odd.gpkg"
    w.to_file(p, driver="GPKG")
    with pytest.raises(HotspotError) as exc:
        read_boundary(p, "wards")
    msg = str(exc.value)
    assert str(p) in msg and "WARD_ID" in msg and "LABEL" in msg and "--ward-code-column" in msg
    got, vintage = read_boundary(p, "wards", code_column="WARD_ID", name_column="LABEL", district_column="COUNCIL",
                                 vintage="2013 wards")
    assert got["code"].tolist()[:2] == w["WARD_ID"].tolist()[:2] and vintage == "2013 wards"
    with pytest.raises(HotspotError, match="no column 'NOPE'"):
        read_boundary(p, "wards", code_column="NOPE")


def test_area_create_writes_a_starter_roster_and_ingest_uses_its_outline(db, tmp_path, capsys):
    wp, lp = _ons_copy(tmp_path)
    pop = B.DATA / "population" / "west_kent_lsoa21_census2021_usual_residents.csv"
    code, out, err = run(capsys, "--database", db, "area", "create", "my-kent", "--wards", str(wp), "--lsoas", str(lp),
                         "--population", str(pop), "--district-code", "E07000115", "--police-force", "kent", "--use")
    assert code == 0, err
    assert "2013 wards" in out and "132,203" in out and "starter roster" in out
    engine = connect(db)
    area = resolve_area(engine)
    assert area.name == "my-kent" and area.district_codes == ("E07000115",) and not area.bundled
    roster = roster_from_mapping(yaml.safe_load(area.roster_yaml), where="stored")
    layers = area_layers(engine, area)
    assert len(roster.wardens) == len(layers.wards) == 26
    assert {w.home_ward_code for w in roster.wardens} == set(layers.wards["ward_code"])
    assert area.roster_yaml.count("STARTER ASSUMPTION") >= 10
    # another process sees the same area: a fresh engine
    assert [p.name for p, active in list_areas(connect(db)) if active] == ["my-kent"]
    # ingest: the area of interest is the active area's outline + 250 m
    month = next(p for p in WK_MONTHS if p.name.startswith("2025-03"))
    raw = _rows(month)
    code, out, _ = run(capsys, "--database", db, "ingest", "--quiet", str(month))
    rep = pd.read_sql("SELECT rows_read, stored, duplicates, quarantined, outside FROM ingests", engine).iloc[0]
    pts = gpd.GeoSeries(gpd.points_from_xy(raw["Longitude"].astype(float), raw["Latitude"].astype(float)),
                        crs=4326).to_crs(27700)
    inside = shapely.contains_xy(layers.outline().buffer(250), pts.x.to_numpy(), pts.y.to_numpy())
    assert rep["rows_read"] == len(raw) and rep["quarantined"] == 0
    assert rep["outside"] == int((~inside).sum()) > 0 and rep["stored"] + rep["duplicates"] == int(inside.sum())
    # roster init: a starter roster file for the area, read by the roster loader
    out_file = tmp_path / "roster.yaml"
    code, out, _ = run(capsys, "--database", db, "roster", "init", "--out", str(out_file))
    assert code == 0 and len(load_roster(out_file).wardens) == 26
    code, _, err = run(capsys, "--database", db, "roster", "init", "--out", str(out_file))
    assert code == 2 and "--force" in err
    code, _, err = run(capsys, "--database", db, "area", "create", "west-kent", "--wards", str(wp), "--lsoas", str(lp))
    assert code == 2 and "bundled area" in err


def test_starter_roster_template():
    text = starter_roster_yaml("Test", "E07000115", [("E05000001", "Ward A"), ("E05000002", "Ward: B's")])
    r = roster_from_mapping(yaml.safe_load(text), where="t")
    assert [(w.agent_id, w.home_ward_code, w.home_ward_name) for w in r.wardens] == [
        ("P01", "E05000001", "Ward A"), ("P02", "E05000002", "Ward: B's")]
    assert r.borough_code == "E07000115" and [s.name for s in r.shifts] == ["early", "late"]
    with pytest.raises(HotspotError, match="repeat"):
        starter_roster_yaml("Test", "E07000115", [("E05000001", "A"), ("E05000001", "B")])


# ------------------------------------------------------------------ low months


def _month_category(paths: list[Path], month: str, cat: str) -> pd.DataFrame:
    df = pd.concat([_rows(p)[[month, cat]] for p in paths])
    return df.pivot_table(index=month, columns=cat, aggfunc="size", fill_value=0)


def test_kent_low_months_are_found():
    counts = _month_category(WK_MONTHS, "Month", "Crime type")
    assert low_months(counts) == ["2018-11", "2018-12"]
    table = low_month_table(counts).set_index("month")
    assert table.loc["2018-12", "ratio"] < 0.5 and table.loc["2019-01", "low"] == False  # noqa: E712


def test_no_london_month_is_flagged():
    nb = sorted((B.DATA / "policeuk" / "neighbours_api").glob("*.csv.gz"))
    counts = _month_category(nb, "month", "category")
    assert len(counts) == 12 and low_months(counts) == []
    # also for each neighbour borough alone
    wards = load_wards(DEMO_BOROUGHS, data_dir=B.DATA).set_index("ward_code")["borough_code"]
    df = pd.concat([_rows(p)[["month", "category", "query_ward_code"]] for p in nb])
    for borough, grp in df.groupby(df["query_ward_code"].map(wards)):
        t = grp.pivot_table(index="month", columns="category", aggfunc="size", fill_value=0)
        assert low_months(t) == [], borough


def test_low_month_rules():
    months = [f"2024-{m:02d}" for m in range(1, 8)]
    base = pd.DataFrame({"burglary": [50, 52, 48, 20, 51, 49, 50], "vehicle-crime": [40, 41, 39, 15, 42, 40, 41],
                         "anti-social-behaviour": [100, 90, 95, 300, 98, 97, 99]}, index=months)
    assert low_months(base) == ["2024-04"]  # ASB is left out
    one_up = base.assign(**{"vehicle-crime": [40, 41, 39, 45, 42, 40, 41]})
    assert low_months(one_up) == []  # not below in every category
    assert low_months(base, exclude=()) == []  # with ASB the month is not low
    with pytest.raises(HotspotError):
        low_months(base.rename(index={"2024-01": "Jan"}))


# ------------------------------------------------------------------ London (not bundled)


def test_created_london_area_stores_every_in_area_row(db, capsys):
    if not LONDON.exists():
        pytest.skip(f"{LONDON} is not here (set HOTSPOT_SHARED_DATA to the folder holding policeuk/london_api)")
    wards, lsoas = SHARED / "boundaries" / "london_wards_2018.gpkg", SHARED / "boundaries" / "london_lsoa_2021_gen20.gpkg"
    code, out, err = run(capsys, "--database", db, "area", "create", "westminster-hf", "--wards", str(wards),
                         "--lsoas", str(lsoas), "--district-code", "E09000033", "--district-code", "E09000013", "--use")
    assert code == 0, err
    assert "2018 wards" in out and "36 wards" in out
    files = sorted(LONDON.glob("*.csv.gz"))[-2:]
    code, out, _ = run(capsys, "--database", db, "ingest", "--quiet", *map(str, files))
    assert code == 0
    engine = connect(db)
    area = resolve_area(engine)
    outline = area_layers(engine, area).outline().buffer(250)
    shapely.prepare(outline)
    rep = pd.read_sql("SELECT rows_read, stored, duplicates, quarantined, outside FROM ingests ORDER BY ingest_id", engine)
    q = pd.read_sql("SELECT reason FROM quarantine", engine)
    for f, (_, r) in zip(files, rep.iterrows()):
        raw = pd.read_csv(f, dtype=str, keep_default_na=False)
        lon, lat = pd.to_numeric(raw["longitude"], errors="coerce"), pd.to_numeric(raw["latitude"], errors="coerce")
        pts = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=4326).to_crs(27700)
        inside = np.asarray(shapely.contains_xy(outline, pts.x.to_numpy(), pts.y.to_numpy()))
        assert r["rows_read"] == len(raw) == r["stored"] + r["duplicates"] + r["quarantined"] + r["outside"]
        assert r["outside"] == int((~inside & lon.notna() & lat.notna()).sum())
        assert r["stored"] + r["duplicates"] + r["quarantined"] == int(inside.sum())
    assert not q["reason"].str.contains("area of interest").any()


def test_migration_0006_downgrades_and_upgrades_again(db, capsys):
    from alembic import command
    from sqlalchemy import inspect

    from spatial.store.db import _alembic_config, upgrade

    engine = connect(db)
    assert run(capsys, "--database", db, "area", "use", "west-kent")[0] == 0
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    names = inspect(engine).get_table_names()
    assert "area_profiles" not in names and "area_units" not in names and "accounts" in names
    assert "outside" not in {c["name"] for c in inspect(engine).get_columns("ingests")}
    upgrade(engine)
    assert resolve_area(engine).name == DEFAULT_AREA  # the choice went with the table
    assert "outside" in {c["name"] for c in inspect(engine).get_columns("ingests")}
