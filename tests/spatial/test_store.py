"""The store on both back ends: SQLite and PostgreSQL + PostGIS, through the same code.

Tests taking ``db_url`` run once per back end.  Expected values come from the
source CSVs, from raw SQL on the tables, or from geopandas, never from the
query functions under test.
"""

from __future__ import annotations

import re

import _builders as B  # first: puts the repository root on sys.path
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from sqlalchemy import inspect

from spatial._errors import MappingError
from spatial.ingest import load_mapping
from spatial.store.db import current_revision, head_revision
from spatial.store.queries import map_incidents, ward_category_counts

MIGRATIONS = B.REPO / "spatial" / "store" / "migrations" / "versions"


def migration_head_from_files() -> str:
    """The revision no other revision names as its parent, read from the migration files."""
    revs, parents = set(), set()
    for f in MIGRATIONS.glob("*.py"):
        text = f.read_text(encoding="utf-8")
        rev = re.search(r"^revision\s*=\s*['\"]([^'\"]+)['\"]", text, re.M)
        down = re.search(r"^down_revision\s*=\s*['\"]([^'\"]+)['\"]", text, re.M)
        if rev:
            revs.add(rev.group(1))
        if down:
            parents.add(down.group(1))
    heads = revs - parents
    assert len(heads) == 1, heads
    return heads.pop()


def expected_small_ids() -> set[str]:
    """Stored ids of the 40-row fixture by the documented rule (same id and category = duplicate)."""
    _header, rows = B.small_street_rows()
    return {r[0] for r in rows}  # one category only, so distinct Crime IDs


def normalised(env: B.Env) -> pd.DataFrame:
    df = env.incidents().drop(columns=["ingest_id", "geom"], errors="ignore")  # geom: PostGIS only
    for c in ("occurred_from", "occurred_to"):
        df[c] = B.as_utc(df[c]).to_numpy()
    for c in ("sensitive", "proactive"):
        df[c] = df[c].astype(bool)
    for c in ("x", "y", "lon", "lat"):
        df[c] = df[c].astype(float)
    for c in ("estate_id", "park_id", "outcome", "location_text", "ward_code", "lsoa_code", "source_ref"):
        df[c] = df[c].astype(object).where(df[c].notna(), None)
    return df.sort_values("incident_id").reset_index(drop=True)


# --------------------------------------------------------------------------
# schema
# --------------------------------------------------------------------------
def test_schema_is_migrated_to_head(db_url):
    env = B.make_env(db_url)
    assert current_revision(env.engine) == head_revision() == migration_head_from_files()
    names = set(inspect(env.engine).get_table_names())
    assert {"incidents", "quarantine", "ingests", "area_counts", "area_layers", "alembic_version"} <= names
    cols = {c["name"] for c in inspect(env.engine).get_columns("incidents")}
    from spatial.schema import INCIDENT_COLUMNS
    assert set(INCIDENT_COLUMNS) <= cols
    # connecting again is a no-op
    B.make_env(db_url)
    assert current_revision(env.engine) == head_revision()


# --------------------------------------------------------------------------
# same data on both back ends
# --------------------------------------------------------------------------
def test_small_fixture_gives_identical_rows_on_both_backends(sqlite_url, fresh_pg_url):
    frames = {}
    for name, url in (("sqlite", sqlite_url), ("postgres", fresh_pg_url)):
        env = B.make_env(url)
        r = env.ingest(B.SMALL_STREET)
        _h, rows = B.small_street_rows()
        assert (r.status, r.rows_read, r.stored) == ("complete", len(rows), len(expected_small_ids())), name
        assert r.duplicates == len(rows) - len(expected_small_ids())
        B.check_reconciles(env, r, B.SMALL_STREET)
        frames[name] = normalised(env)
        assert set(frames[name]["incident_id"]) == expected_small_ids()
    pd.testing.assert_frame_equal(frames["sqlite"], frames["postgres"], check_dtype=False)


def test_reingest_counts_duplicates_on_each_backend(db_url, tmp_path):
    env = B.make_env(db_url)
    header, rows = B.distinct_street_rows()
    bad = list(rows[0])
    bad[4] = "abc"
    path = B.write_csv(tmp_path / "mixed.csv", header, [bad, *rows[1:12]])
    first = env.ingest(path)
    assert (first.stored, first.duplicates, first.quarantined) == (11, 0, 1)
    second = env.ingest(path)
    assert second.status == "complete"
    assert (second.stored, second.duplicates) == (0, 11)
    assert second.reconciles
    assert env.count("incidents") == 11
    assert env.count("quarantine") == 1  # not recorded twice
    ingests = env.sql("SELECT status, rows_read, stored, duplicates, quarantined FROM ingests ORDER BY ingest_id")
    assert ingests.values.tolist() == [["complete", 12, 11, 0, 1], ["complete", 12, 0, 11, second.quarantined]]


def test_mps_table_on_each_backend(db_url):
    path = B.DATA / "mps" / "rbkc_ward_monthly_2024-03_to_2026-03.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    months = [c for c in df.columns if len(c) == 6 and c.isdigit()]
    env = B.make_env(db_url)
    r = env.ingest(path)
    assert (r.status, r.rows_read, r.stored, r.quarantined) == ("complete", len(df), len(df), 0)
    got = env.sql("SELECT COUNT(*) AS n, SUM(count) AS total FROM area_counts")
    assert int(got["n"][0]) == len(df) * len(months)
    assert int(got["total"][0]) == int(df[months].astype(int).to_numpy().sum())
    again = env.ingest(path)
    assert (again.stored, again.duplicates) == (0, len(df))


# --------------------------------------------------------------------------
# PostGIS
# --------------------------------------------------------------------------
def test_postgis_geometry_column(fresh_pg_url):
    env = B.make_env(fresh_pg_url)
    r = env.ingest(B.SMALL_STREET)
    assert r.stored > 0
    geo = env.sql("SELECT type, srid FROM geometry_columns WHERE f_table_name = 'incidents' AND f_geometry_column = 'geom'")
    assert geo.values.tolist() == [["POINT", 27700]]
    idx = env.sql("SELECT indexdef FROM pg_indexes WHERE tablename = 'incidents'")["indexdef"]
    assert any(re.search(r"USING gist \(geom\)", d, re.I) for d in idx), idx.tolist()
    pts = env.sql("SELECT x, y, ST_X(geom) AS gx, ST_Y(geom) AS gy, ST_SRID(geom) AS srid FROM incidents")
    assert len(pts) == r.stored
    assert np.allclose(pts["gx"], pts["x"], atol=1e-6) and np.allclose(pts["gy"], pts["y"], atol=1e-6)
    assert (pts["srid"] == 27700).all()
    # the geometry agrees with the ward polygons: each stored ward contains its point
    wards = gpd.read_file(B.DATA / "boundaries" / "wards_2018.gpkg").set_index("ward_code")
    inc = env.incidents()
    for code, x, y in zip(inc["ward_code"], inc["x"], inc["y"]):
        assert wards.geometry[code].intersects(gpd.points_from_xy([x], [y])[0])


# --------------------------------------------------------------------------
# read queries
# --------------------------------------------------------------------------
def _api_rows(n: int = 60) -> tuple[list[str], list[list[str]]]:
    header, rows = B.read_rows(B.API_CSV)
    return header, rows[:n]


def test_map_incidents_never_returns_sensitive_rows(db_url, tmp_path):
    env = B.make_env(db_url)
    env.ingest(B.SMALL_STREET)  # all violent-crime: sensitive
    header, rows = _api_rows(300)
    env.ingest(B.write_csv(tmp_path / "api.csv", header, rows))
    raw = env.incidents()
    sensitive = raw["sensitive"].astype(bool)
    assert sensitive.sum() > 0 and (~sensitive).sum() > 0
    shown = map_incidents(env.engine)
    assert set(shown["incident_id"]) == set(raw.loc[~sensitive, "incident_id"])
    assert not set(shown["incident_id"]) & set(raw.loc[sensitive, "incident_id"])
    assert "violent-crime" not in set(shown["category"])
    # asking for the sensitive category or a ward full of it still shows none
    assert map_incidents(env.engine, categories=["violent-crime"]).empty
    ward = raw.loc[sensitive, "ward_code"].mode()[0]
    in_ward = map_incidents(env.engine, ward_codes=[ward])
    assert set(in_ward["incident_id"]) == set(raw.loc[~sensitive & (raw["ward_code"] == ward), "incident_id"])


def test_ward_category_counts_suppress_small_sensitive_counts(db_url, tmp_path):
    wards = gpd.read_file(B.DATA / "boundaries" / "wards_2018.gpkg")
    rbkc = wards[wards["borough_code"] == "E09000020"].sort_values("ward_code").reset_index(drop=True)
    plan = {  # ward index -> (domestic-abuse count, noise count)
        0: (1, 2), 1: (4, 0), 2: (5, 0), 3: (7, 1),
    }
    header = ["Ref", "When", "Type", "Easting", "Northing"]
    rows, k = [], 0
    for wi, (da, noise) in plan.items():
        p = rbkc.geometry[wi].representative_point()
        for kind, n in (("Domestic abuse", da), ("Noise", noise)):
            for _ in range(n):
                k += 1
                rows.append([f"R{k}", "14/07/2026 10:00", kind, f"{p.x:.1f}", f"{p.y:.1f}"])
    mapping = tmp_path / "m.yaml"
    mapping.write_text("source: council\nid_column: Ref\ncategory: {column: Type}\ndate: {column: When}\n"
                       "coordinates: {x: Easting, y: Northing, crs: EPSG:27700}\n")
    env = B.make_env(db_url)
    r = env.ingest(B.write_csv(tmp_path / "c.csv", header, rows), mapping=load_mapping(mapping))
    assert r.stored == len(rows), r
    counts = ward_category_counts(env.engine)
    truth = env.sql("SELECT ward_code, category, COUNT(*) AS n FROM incidents GROUP BY ward_code, category")
    assert len(counts) == len(truth)
    merged = counts.merge(truth, on=["ward_code", "category"], validate="one_to_one")
    for row in merged.itertuples():
        sensitive = row.category == "domestic-abuse"
        assert bool(row.sensitive) == sensitive
        if sensitive and 1 <= row.n <= 4:
            assert row.count is None or pd.isna(row.count), row
            assert row.display == "fewer than 5"
            assert str(row.n) not in row.display
        else:
            assert int(row.count) == row.n, row
            assert row.display == str(row.n)
    # the plan really produced each case
    by_ward = merged.set_index(["ward_code", "category"])["n"]
    codes = rbkc["ward_code"]
    assert by_ward[(codes[0], "domestic-abuse")] == 1 and by_ward[(codes[1], "domestic-abuse")] == 4
    assert by_ward[(codes[2], "domestic-abuse")] == 5 and by_ward[(codes[0], "noise")] == 2
    assert by_ward[(codes[3], "noise")] == 1


# --------------------------------------------------------------------------
# odd text must not crash either back end
# --------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["long-crime-id", "nul-character", "long-location"])
def test_odd_text_ingests_on_each_backend(db_url, tmp_path, case):
    header, rows = B.distinct_street_rows()
    odd = list(rows[0])
    if case == "long-crime-id":
        odd[0] = "f" * 300  # longer than any real Crime ID, shorter than the field limit
    elif case == "nul-character":
        odd[6] = "On or near \x00 Street"
    else:
        odd[6] = "On or near " + "é" * 9_000
    path = B.write_csv(tmp_path / f"{case}.csv", header, [odd, *rows[1:5]])
    env = B.make_env(db_url)
    r = env.ingest(path)
    assert r.status == "complete", r.message
    B.check_reconciles(env, r, path)
    assert r.stored >= 4  # the four ordinary rows
    assert set(env.incidents()["incident_id"]) >= {row[0] for row in rows[1:5]}


def test_long_source_name_in_a_mapping(db_url, tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text("source: " + "council-" * 20 + "\ncategory: {column: Type}\ndate: {column: When}\n"
                       "coordinates: {x: Easting, y: Northing}\n")
    path = B.write_csv(tmp_path / "c.csv", ["When", "Type", "Easting", "Northing"],
                       [["14/07/2026", "Noise", "525540", "177906"]])
    env = B.make_env(db_url)
    try:  # refusing the mapping up front, naming it, is fine too
        m = load_mapping(mapping)
    except MappingError as exc:
        assert str(mapping) in str(exc) and "source" in str(exc)
        return
    r = env.ingest(path, mapping=m)
    assert r.status in ("complete", "rejected")
    if r.status == "rejected":
        assert str(path) in r.message or "source" in r.message
    else:
        B.check_reconciles(env, r, path)
        assert r.stored == 1


# --------------------------------------------------------------------------
# SQLite page size and CLI settings
# --------------------------------------------------------------------------
def _page_size(url: str) -> int:
    from spatial.store import connect

    engine = connect(url)
    try:
        with engine.connect() as conn:
            return int(conn.exec_driver_sql("PRAGMA page_size").scalar_one())
    finally:
        engine.dispose()


def test_new_sqlite_files_get_the_large_page_and_old_files_keep_theirs(tmp_path, monkeypatch):
    import sqlite3

    from spatial.store.db import PAGE_SIZE_ENV, SQLITE_PAGE_SIZE

    monkeypatch.delenv(PAGE_SIZE_ENV, raising=False)
    assert SQLITE_PAGE_SIZE > 4096
    assert _page_size(f"sqlite:///{tmp_path / 'new.sqlite'}") == SQLITE_PAGE_SIZE
    # a file made by an older version (SQLite's default page) is migrated in place, its page size kept
    old = tmp_path / "old.sqlite"
    con = sqlite3.connect(old)
    con.execute("CREATE TABLE keep_me (a)")
    con.commit()
    default = con.execute("PRAGMA page_size").fetchone()[0]
    con.close()
    assert default != SQLITE_PAGE_SIZE
    assert _page_size(f"sqlite:///{old}") == default
    con = sqlite3.connect(old)
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    con.close()
    assert {"keep_me", "incidents"} <= tables


def test_page_size_override_is_checked(tmp_path, monkeypatch):
    from spatial._errors import HotspotError
    from spatial.store.db import PAGE_SIZE_ENV, create, sqlite_page_size

    assert sqlite_page_size({PAGE_SIZE_ENV: "8192"}) == 8192
    assert sqlite_page_size({PAGE_SIZE_ENV: " "}) == sqlite_page_size({})
    for bad in ("3000", "256", "131072", "big"):
        with pytest.raises(HotspotError, match=PAGE_SIZE_ENV):
            sqlite_page_size({PAGE_SIZE_ENV: bad})
    monkeypatch.setenv(PAGE_SIZE_ENV, "8192")
    assert _page_size(f"sqlite:///{tmp_path / 'eight.sqlite'}") == 8192
    monkeypatch.setenv(PAGE_SIZE_ENV, "1000")
    with pytest.raises(HotspotError, match="power of two"):
        create(f"sqlite:///{tmp_path / 'never.sqlite'}")
    assert not (tmp_path / "never.sqlite").exists()


def test_cli_settings_come_from_the_flags_else_the_environment(tmp_path, monkeypatch):
    import argparse

    from spatial.config import settings_from_args

    monkeypatch.setenv("DATABASE_URL", "sqlite:///from-env.sqlite")
    monkeypatch.setenv("HOTSPOT_DATA_DIR", str(tmp_path / "env-data"))
    s = settings_from_args(argparse.Namespace())
    assert (s.database_url, s.data_dir) == ("sqlite:///from-env.sqlite", tmp_path / "env-data")
    s = settings_from_args(argparse.Namespace(database="sqlite:///flag.sqlite", data_dir=str(tmp_path / "d")))
    assert (s.database_url, s.data_dir) == ("sqlite:///flag.sqlite", tmp_path / "d")
    s = settings_from_args(argparse.Namespace(database=None, data_dir=""))
    assert s.database_url == "sqlite:///from-env.sqlite"
