"""police.uk readers and MPS wide tables against the bundled real data.

Every expected number here is computed from the source files with the csv module
or pandas, following the id rule documented in
``spatial/ingest/rows.py::IdAssigner``: a row with a Crime ID / persistent_id is
a duplicate when the same (id, category) pair came earlier in the file; the
same id under a new category is a distinct incident; rows without an id are
all distinct.  Across files, an incident id already stored is a duplicate.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import _builders as B  # first: puts the repository root on sys.path
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

LONDON = ZoneInfo("Europe/London")


# --------------------------------------------------------------------------
# independent expectations
# --------------------------------------------------------------------------
def month_bounds_utc(month: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[first instant, first instant of next month) of a calendar month in London, as UTC."""
    y, m = int(month[:4]), int(month[5:7])
    start = datetime(y, m, 1, tzinfo=LONDON)
    end = datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=LONDON)
    return (pd.Timestamp(start.astimezone(timezone.utc)), pd.Timestamp(end.astimezone(timezone.utc)))


def expected_ids(files: list[list[dict]], id_col: str, cat_col: str, fallback=None) -> list[dict]:
    """Per file: rows read, stored, duplicates and the ids of stored rows that carry a source id."""
    stored_anywhere: set = set()
    out = []
    for fi, rows in enumerate(files):
        pairs: set = set()
        ids: set = set()
        res = {"read": len(rows), "stored": 0, "duplicates": 0, "ids": set()}
        for ri, row in enumerate(rows):
            cid = row[id_col].strip() or (fallback(row) if fallback else "")
            cat = row[cat_col].strip()
            if cid:
                if (cid, cat) in pairs:
                    res["duplicates"] += 1
                    continue
                iid = cid if cid not in ids else f"{cid}/{cat}"
                pairs.add((cid, cat))
                ids.add(cid)
            else:
                iid = ("no-id", fi, ri)
            if iid in stored_anywhere:
                res["duplicates"] += 1
                continue
            stored_anywhere.add(iid)
            res["stored"] += 1
            if isinstance(iid, str):
                res["ids"].add(iid)
        out.append(res)
    return out


def dict_rows(path: Path) -> list[dict]:
    header, rows = B.read_rows(path)
    return [dict(zip(header, r)) for r in rows]


def vso_files() -> list[Path]:
    return sorted(B.VSO_DIR.glob("*/*-metropolitan-street.csv"))


def demo_ward_codes() -> dict[str, set[str]]:
    wards = gpd.read_file(B.DATA / "boundaries" / "wards_2018.gpkg")
    return {b: set(g["ward_code"]) for b, g in wards.groupby("borough_code")}


def demo_lsoa_codes() -> set[str]:
    return set(gpd.read_file(B.DATA / "boundaries" / "lsoa_2021.gpkg")["lsoa_code"])


# --------------------------------------------------------------------------
# one ingest of the bundled police.uk data, shared by the tests below
# --------------------------------------------------------------------------
@pytest.fixture(scope="module", params=[100_000, 150], ids=["one-chunk", "chunks-of-150"])
def bundled(request, tmp_path_factory):
    """VSO archive folder, then the API CSV, into one SQLite store (whole file and small chunks)."""
    d = tmp_path_factory.mktemp(f"policeuk{request.param}")
    env = B.make_env(f"sqlite:///{d}/store.sqlite", chunk_rows=request.param)
    vso_reports = env.ingest_paths([B.VSO_DIR])
    api_reports = env.ingest_paths([B.API_CSV.parent])
    return env, vso_reports, api_reports


def test_archive_folder_finds_every_month_file(bundled):
    _env, vso_reports, api_reports = bundled
    assert [Path(r.path).resolve() for r in vso_reports] == [p.resolve() for p in vso_files()]
    assert [Path(r.path).name for r in api_reports] == [B.API_CSV.name]
    assert all(r.kind == "police-uk-street" for r in vso_reports)
    assert api_reports[0].kind == "police-uk-api"


def test_vso_counts_match_the_csv_files(bundled):
    env, reports, _ = bundled
    files = [dict_rows(p) for p in vso_files()]
    expected = expected_ids(files, "Crime ID", "Crime type")
    for r, exp in zip(reports, expected, strict=True):
        assert r.status == "complete", r.message
        assert (r.rows_read, r.stored, r.duplicates, r.quarantined) == (exp["read"], exp["stored"], exp["duplicates"], 0), r.path
        assert r.reconciles
    # the stored ids are exactly the expected ones
    stored = set(env.sql("SELECT incident_id FROM incidents WHERE month LIKE '2024-%'")["incident_id"])
    assert stored == set().union(*(e["ids"] for e in expected))
    # cross-check the totals against the raw line counts of the files
    assert sum(r.rows_read for r in reports) == sum(len(f) for f in files)


def test_api_csv_counts_match_the_file(bundled):
    env, _, reports = bundled
    rows = dict_rows(B.API_CSV)
    (exp,) = expected_ids([rows], "persistent_id", "category", fallback=lambda r: f"api-record {r['id']}")
    (r,) = reports
    assert r.status == "complete", r.message
    assert (r.rows_read, r.stored, r.duplicates, r.quarantined) == (exp["read"], exp["stored"], exp["duplicates"], 0)
    assert r.reconciles
    api = env.incidents("month = '2018-06'")
    assert len(api) == exp["stored"]
    # every persistent id of the file is stored, under its own id or id/category
    pids = {row["persistent_id"] for row in rows if row["persistent_id"]}
    assert pids <= set(api["incident_id"].str.split("/").str[0])
    # per category, stored rows = distinct (id, category) rows of that category
    df = pd.DataFrame(rows)
    df["key"] = np.where(df["persistent_id"] != "", df["persistent_id"], "api-record " + df["id"])
    exp_cat = df.drop_duplicates(["key", "category"])["category"].value_counts().sort_index()
    got_cat = api["category"].value_counts().sort_index()
    pd.testing.assert_series_equal(got_cat, exp_cat, check_names=False)


def test_reingest_is_idempotent(bundled):
    env, vso_reports, api_reports = bundled
    before = env.count("incidents")
    again = env.ingest_paths([B.VSO_DIR, B.API_CSV])
    assert len(again) == len(vso_reports) + len(api_reports)
    for r, first in zip(again, [*vso_reports, *api_reports], strict=True):
        assert r.status == "complete"
        assert r.rows_read == first.rows_read
        assert r.stored == 0
        assert r.duplicates == r.rows_read
        assert r.quarantined == 0
    assert env.count("incidents") == before


def test_sensitive_and_proactive_flags(bundled):
    env, _, _ = bundled
    inc = env.incidents()
    vso = inc[inc["month"].str.startswith("2024-")]
    assert len(vso) > 0
    assert set(vso["category"]) == {"violent-crime"}
    assert vso["sensitive"].astype(bool).all()
    api = inc[inc["month"] == "2018-06"]
    proactive = api["category"].isin(["drugs", "possession-of-weapons"])
    assert proactive.sum() > 0
    assert api.loc[proactive, "proactive"].astype(bool).all()
    assert not api.loc[~proactive, "proactive"].astype(bool).any()
    # in the API month, exactly the violent-crime rows are sensitive
    assert (api["sensitive"].astype(bool) == (api["category"] == "violent-crime")).all()
    # the number of proactive rows equals the distinct drugs/weapons crimes of the file
    df = pd.DataFrame(dict_rows(B.API_CSV))
    df = df[df["category"].isin(["drugs", "possession-of-weapons"])]
    key = np.where(df["persistent_id"] != "", df["persistent_id"], "api-record " + df["id"])
    assert proactive.sum() == len(set(zip(key, df["category"])))


def test_occurrence_interval_is_the_calendar_month_in_london(bundled):
    env, _, _ = bundled
    inc = env.incidents()
    start = B.as_utc(inc["occurred_from"])
    end = B.as_utc(inc["occurred_to"])
    for month in sorted(inc["month"].unique()):
        lo, hi = month_bounds_utc(month)
        sel = (inc["month"] == month).to_numpy()
        assert (start[sel] == lo).all(), month
        assert (end[sel] == hi).all(), month
    # the worked example: June (BST) starts at 23:00 UTC the day before
    jun = (inc["month"] == "2024-06").to_numpy()
    assert (start[jun] == pd.Timestamp("2024-05-31T23:00:00+00:00")).all()
    assert (end[jun] == pd.Timestamp("2024-06-30T23:00:00+00:00")).all()
    # January (GMT) starts at midnight UTC
    jan = (inc["month"] == "2024-01").to_numpy()
    assert (start[jan] == pd.Timestamp("2024-01-01T00:00:00+00:00")).all()


def test_points_are_attributed_to_demo_wards_and_lsoas(bundled):
    env, _, _ = bundled
    inc = env.incidents()
    wards = demo_ward_codes()
    rbkc = wards["E09000020"]
    assert rbkc == B.RBKC_WARDS
    neighbours = wards["E09000033"] | wards["E09000013"]
    lsoas = demo_lsoa_codes()
    # the 2024 files are RBKC LSOAs only: every point has an RBKC or neighbour ward and an LSOA
    vso = inc[inc["month"].str.startswith("2024-")]
    assert vso["ward_code"].isin(rbkc | neighbours).all()
    assert vso["lsoa_code"].isin(lsoas).all()
    assert vso["ward_code"].isin(rbkc).mean() > 0.95
    # the API month was queried by RBKC ward polygons; police.uk snaps a few points just over
    # the borough line.  Inside the demo wards a point has a demo ward; outside them it must lie
    # within the 250 m area-of-interest buffer and then has no ward.
    attributed = inc["ward_code"].notna()
    assert inc.loc[attributed, "ward_code"].isin(rbkc | neighbours).all()
    assert inc["lsoa_code"].dropna().isin(lsoas).all()
    assert attributed.mean() > 0.99
    ward_union = gpd.read_file(B.DATA / "boundaries" / "wards_2018.gpkg").union_all()
    loose = inc[~attributed]
    dist = gpd.GeoSeries(gpd.points_from_xy(loose["x"], loose["y"]), crs=27700).distance(ward_union)
    assert ((dist > 0) & (dist <= 250)).all(), dist.tolist()
    # x/y are British National Grid for London, lon/lat WGS84
    assert inc["x"].between(500_000, 560_000).all() and inc["y"].between(150_000, 200_000).all()
    assert inc["lon"].between(-0.3, 0.0).all() and inc["lat"].between(51.4, 51.6).all()


def test_stored_lon_lat_are_the_files_coordinates(bundled):
    env, _, _ = bundled
    rows = pd.DataFrame(dict_rows(vso_files()[5]))  # 2024-06
    first = rows.drop_duplicates("Crime ID").set_index("Crime ID")
    inc = env.incidents("month = '2024-06'").set_index("incident_id")
    joined = inc.join(first, how="inner")
    assert len(joined) == len(inc)
    assert np.allclose(joined["lon"], joined["Longitude"].astype(float), atol=1e-9)
    assert np.allclose(joined["lat"], joined["Latitude"].astype(float), atol=1e-9)


def test_point_in_polygon_lsoa_agrees_with_police_uk(bundled):
    """Stored LSOAs are point-in-polygon on the bundled 2021 LSOAs, and mostly match police.uk's own.

    police.uk attributes each crime by its own snap point against full-resolution
    boundaries; the bundled LSOAs are generalised to 20 m and many snap points lie on
    street centre lines that are LSOA boundaries, so a few per cent differ.  Each such
    point must lie within the 20 m generalisation of police.uk's LSOA.
    """
    env, _, _ = bundled
    inc = env.incidents("month LIKE '2024-%'")
    files = pd.concat([pd.DataFrame(dict_rows(p)) for p in vso_files()], ignore_index=True)
    file_lsoa = files.drop_duplicates("Crime ID").set_index("Crime ID")["LSOA code"]
    base_id = inc["incident_id"].str.split("/").str[0]
    theirs = base_id.map(file_lsoa)
    assert theirs.notna().all()

    # independent point-in-polygon with geopandas, from the file's own lon/lat
    lsoa = gpd.read_file(B.DATA / "boundaries" / "lsoa_2021.gpkg")[["lsoa_code", "geometry"]]
    first = files.drop_duplicates("Crime ID").set_index("Crime ID")
    # projected by OSTN15 as ingest does (convertbng called directly; pyproj here has only the Helmert
    # transformation, metres off, which moves snap points on street-centre boundaries across them)
    from convertbng.cutil import convert_bng

    ex, ny = convert_bng(np.ascontiguousarray(first.loc[base_id, "Longitude"].astype(float).to_numpy()),
                         np.ascontiguousarray(first.loc[base_id, "Latitude"].astype(float).to_numpy()))
    pts = gpd.GeoDataFrame({"incident_id": inc["incident_id"].to_numpy()},
                           geometry=gpd.points_from_xy(np.asarray(ex), np.asarray(ny)), crs=27700)
    joined = gpd.sjoin(pts, lsoa, how="left", predicate="within")
    single = joined.groupby(level=0)["lsoa_code"].agg(lambda s: s.iloc[0] if s.notna().sum() == 1 else None)
    ok = single.notna().to_numpy()
    assert ok.mean() > 0.98  # points exactly on a boundary are left out of this comparison
    assert (inc["lsoa_code"].to_numpy()[ok] == single.to_numpy()[ok]).all()

    agreement = (theirs == inc["lsoa_code"]).mean()
    assert agreement >= 0.90, f"only {agreement:.1%} of points fall in the LSOA police.uk gives"
    differ = (theirs != inc["lsoa_code"]).to_numpy()
    polys = lsoa.set_index("lsoa_code").geometry
    dist = np.array([polys[c].distance(g) for c, g in zip(theirs[differ], pts.geometry[differ])])
    assert (dist <= 25).all(), f"points up to {dist.max():.0f} m from police.uk's LSOA"


# --------------------------------------------------------------------------
# rows without a Crime ID
# --------------------------------------------------------------------------
def test_rows_without_crime_id_are_all_kept_and_idempotent(tmp_path):
    header, rows = B.small_street_rows()
    anon = []
    for r in rows[:6]:
        r = list(r)
        r[0] = ""
        anon.append(r)
    anon += [list(anon[0]), list(anon[0]), list(anon[3])]  # identical anonymised rows, as police.uk has for ASB
    path = B.write_csv(tmp_path / "anon.csv", header, anon)
    env = B.make_env(f"sqlite:///{tmp_path}/s.sqlite")
    r = env.ingest(path)
    assert (r.rows_read, r.stored, r.duplicates, r.quarantined) == (len(anon), len(anon), 0, 0)
    ids = env.incidents()["incident_id"]
    assert ids.is_unique and len(ids) == len(anon)
    again = env.ingest(path)
    assert (again.stored, again.duplicates) == (0, len(anon))
    assert env.count("incidents") == len(anon)
    assert set(env.incidents()["incident_id"]) == set(ids)


# --------------------------------------------------------------------------
# police.uk API JSON
# --------------------------------------------------------------------------
def _api_record(row: dict) -> dict:
    """One record in the shape of the police.uk API ``crimes-street`` response."""
    outcome = ({"category": row["outcome_category"], "date": row["outcome_date"]}
               if row["outcome_category"] else None)
    return {
        "category": row["category"],
        "location_type": row["location_type"],
        "location": {"latitude": row["latitude"],
                     "street": {"id": int(row["street_id"]), "name": row["street_name"]},
                     "longitude": row["longitude"]},
        "context": row["context"],
        "outcome_status": outcome,
        "persistent_id": row["persistent_id"],
        "id": int(row["id"]),
        "location_subtype": row["location_subtype"],
        "month": row["month"],
    }


def _api_sample() -> tuple[list[str], list[dict]]:
    header, raw = B.read_rows(B.API_CSV)
    rows = [dict(zip(header, r)) for r in raw]
    df = pd.DataFrame(rows)
    repeated = df[(df["persistent_id"] != "") & df.duplicated("persistent_id", keep=False)]
    multi_cat = repeated.groupby("persistent_id")["category"].nunique()
    pick = set(repeated[repeated["persistent_id"].isin(multi_cat[multi_cat > 1].index[:3])].index)
    pick |= set(repeated[repeated["persistent_id"].isin(multi_cat[multi_cat == 1].index[:3])].index)
    pick |= set(df[df["persistent_id"] == ""].index[:8])            # ASB and others without an id
    pick |= set(df[df["outcome_category"] != ""].index[:8])         # with an outcome
    pick |= set(df[df["category"].isin(["drugs", "possession-of-weapons"])].index[:4])
    return header, [rows[i] for i in sorted(pick)]


def test_api_json_ingests_like_the_flattened_csv(tmp_path):
    header, sample = _api_sample()
    json_path = tmp_path / "crimes-street.json"
    json_path.write_text(json.dumps([_api_record(r) for r in sample]), encoding="utf-8")
    csv_path = B.write_csv(tmp_path / "flat.csv", header, [[r[c] for c in header] for r in sample])

    env_json = B.make_env(f"sqlite:///{tmp_path}/json.sqlite")
    env_csv = B.make_env(f"sqlite:///{tmp_path}/csv.sqlite")
    rj = env_json.ingest(json_path)
    rc = env_csv.ingest(csv_path)
    assert rj.kind == "police-uk-api-json" and rc.kind == "police-uk-api"
    (exp,) = expected_ids([sample], "persistent_id", "category", fallback=lambda r: f"api-record {r['id']}")
    for r in (rj, rc):
        assert r.status == "complete", r.message
        assert (r.rows_read, r.stored, r.duplicates, r.quarantined) == (exp["read"], exp["stored"], exp["duplicates"], 0)
    a = env_json.incidents().drop(columns=["ingest_id"])
    b = env_csv.incidents().drop(columns=["ingest_id"])
    pd.testing.assert_frame_equal(a, b)
    # and the values are those of the file
    assert set(a["category"]) == {r["category"] for r in sample}
    lon = sorted(float(r["longitude"]) for r in sample)
    assert set(np.round(a["lon"], 6)) <= set(np.round(lon, 6))
    outcomes = {r["outcome_category"] for r in sample if r["outcome_category"]}
    assert set(a["outcome"].dropna()) == outcomes


# --------------------------------------------------------------------------
# MPS recorded-crime wide tables
# --------------------------------------------------------------------------
def _mps_frame(path: Path) -> tuple[pd.DataFrame, str, str, str, list[str]]:
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    low = {c.lower(): c for c in df.columns}
    code = low.get("wardcode") or low.get("lsoa_code")
    major = low.get("majortext") or low.get("major_category")
    minor = low.get("minortext") or low.get("minor_category")
    months = [c for c in df.columns if len(c) == 6 and c.isdigit()]
    return df, code, major, minor, months


@pytest.fixture(scope="module")
def mps_store(tmp_path_factory):
    d = tmp_path_factory.mktemp("mps")
    env = B.make_env(f"sqlite:///{d}/store.sqlite")
    reports = env.ingest_paths([B.DATA / "mps"])
    return env, reports


def test_mps_tables_store_one_value_per_area_offence_month(mps_store):
    env, reports = mps_store
    files = sorted((B.DATA / "mps").glob("*.csv"))
    assert [Path(r.path).name for r in reports] == [f.name for f in files]
    for r, path in zip(reports, files, strict=True):
        df, code, major, minor, months = _mps_frame(path)
        distinct = df.drop_duplicates([code, major, minor])
        assert r.kind == "mps-wide"
        assert r.status == "complete", r.message
        assert (r.rows_read, r.stored, r.duplicates, r.quarantined) == (len(df), len(distinct), len(df) - len(distinct), 0)
        dataset = path.name.removesuffix(".csv")
        got = env.sql("SELECT area_type, area_code, major, minor, month, count FROM area_counts WHERE dataset = :d",
                      d=dataset)
        assert len(got) == len(distinct) * len(months)
        assert not got.duplicated(["area_code", "major", "minor", "month"]).any()
        assert set(got["area_type"]) == {"ward" if "ward" in code.lower() else "lsoa"}
        assert set(got["area_code"]) == set(df[code])
        # per-month totals equal the file's column sums
        exp_month = distinct[months].astype(int).sum()
        exp_month.index = [f"{m[:4]}-{m[4:]}" for m in exp_month.index]
        got_month = got.groupby("month")["count"].sum()
        pd.testing.assert_series_equal(got_month.sort_index(), exp_month.sort_index().astype(got_month.dtype),
                                       check_names=False)
        # one cell checked by its key
        row = distinct.iloc[len(distinct) // 2]
        m = months[len(months) // 2]
        cell = got[(got["area_code"] == row[code]) & (got["major"] == row[major]) & (got["minor"] == row[minor])
                   & (got["month"] == f"{m[:4]}-{m[4:]}")]
        assert cell["count"].tolist() == [int(row[m])]


def test_mps_all_zero_first_month_gives_a_note(mps_store):
    _env, reports = mps_store
    for r in reports:
        df, _code, _major, _minor, months = _mps_frame(Path(r.path))
        zero = [f"{m[:4]}-{m[4:]}" for m in months if df[m].astype(int).sum() == 0]
        zero_notes = [n for n in r.notes if "zero" in n.lower()]
        if zero:
            assert len(zero_notes) == 1, r.notes
            for m in zero:
                assert m in zero_notes[0]
        else:
            assert zero_notes == [], r.notes
    # the bundled rolling files do have such a month, so the branch above is exercised
    assert any("zero" in n.lower() for r in reports for n in r.notes)


def test_mps_reingest_is_idempotent(mps_store):
    env, reports = mps_store
    path = Path(reports[-1].path)
    before = env.count("area_counts")
    r = env.ingest(path)
    assert r.status == "complete"
    assert (r.stored, r.duplicates, r.quarantined) == (0, r.rows_read, 0)
    assert env.count("area_counts") == before
