"""The partitioned GeoParquet store (issue 7): written by the ingest code, equal to the SQLite store.

Inputs are real bundled files: the RBKC violence and sexual offences archive
(police.uk bulk folder, ``YYYY-MM-metropolitan-street.csv``, so the force comes
from the file name), the RBKC API extract of June 2018, three months of the
Westminster + Hammersmith & Fulham API extract, and the hand-made broken file
``tests/data/police_uk_broken_HANDMADE.csv`` (rows that must be quarantined).
Expected values come from an SQLite store fed the same files, read with SQL.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path

import _builders as B  # first: puts the repository root on sys.path
import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from spatial import schema as S
from spatial._errors import HotspotError
from spatial.config import Settings
from spatial.ingest.pipeline import default_attributor, ingest_paths_parquet
from spatial.store import parquet as P

NEIGHBOURS = sorted((B.DATA / "policeuk" / "neighbours_api").glob("*.csv.gz"))[:3]
BROKEN = B.REPO / "tests" / "data" / "police_uk_broken_HANDMADE.csv"
API_FILES = [*NEIGHBOURS, B.API_CSV, BROKEN]


def _settings(chunk_rows: int = 100_000) -> Settings:
    return Settings(database_url="sqlite:///unused.sqlite", data_dir=B.DATA, chunk_rows=chunk_rows)


def _ingest_parquet(root: Path, paths: list, *, force: str | None = None, chunk_rows: int = 100_000):
    s = _settings(chunk_rows)
    return ingest_paths_parquet(root, [str(p) for p in paths], settings=s, now=B.NOW, force=force,
                                attributor=default_attributor(None, s))


@pytest.fixture(scope="module", params=[100_000, 700], ids=["one-chunk", "chunks-of-700"])
def stores(request, tmp_path_factory):
    """The same files into SQLite and into a parquet store."""
    d = tmp_path_factory.mktemp(f"pq{request.param}")
    env = B.make_env(f"sqlite:///{d}/store.sqlite", chunk_rows=request.param)
    sql_reports = env.ingest_paths([B.VSO_DIR]) + env.ingest_paths(API_FILES)
    root = d / "pq"
    pq_reports = (_ingest_parquet(root, [B.VSO_DIR], chunk_rows=request.param)
                  + _ingest_parquet(root, API_FILES, force="metropolitan", chunk_rows=request.param))
    return env, sql_reports, root, pq_reports


def test_reports_reconcile_and_equal_the_sqlite_reports(stores):
    _env, sql_reports, _root, pq_reports = stores
    assert len(pq_reports) == len(sql_reports) == 9 + len(API_FILES)
    for a, b in zip(sql_reports, pq_reports):
        assert Path(a.path).name == Path(b.path).name
        assert b.status == "complete" and b.reconciles
        assert ((a.rows_read, a.stored, a.duplicates, a.quarantined, a.outside)
                == (b.rows_read, b.stored, b.duplicates, b.quarantined, b.outside))
    broken = pq_reports[-1]
    # rows 2-4 of the hand-made file are bad, row 1 is outside the area (in Great Britain), row 5 good
    assert (broken.quarantined, broken.outside, broken.stored) == (3, 1, 1)
    rbkc = next(r for r in pq_reports if Path(r.path) == B.API_CSV)
    assert rbkc.duplicates > 0  # the API extract lists some crimes twice (within-file duplicates)


def test_stored_rows_equal_the_sqlite_store(stores):
    env, _s, root, _p = stores
    sql = env.incidents().set_index(S.INCIDENT_ID).sort_index()
    got = P.read_store(root).set_index(S.INCIDENT_ID).sort_index()
    assert got.index.is_unique
    assert list(got.index) == list(sql.index)
    for c in (S.SOURCE, S.SOURCE_REF, S.CATEGORY, S.MONTH, S.WARD_CODE, S.LSOA_CODE, S.LOCATION_TEXT, S.OUTCOME):
        a = sql[c].astype(object).where(sql[c].notna(), None).tolist()
        b = got[c].astype(object).where(got[c].notna(), None).tolist()
        assert a == b, c
    for c in (S.X, S.Y, S.LON, S.LAT):
        np.testing.assert_array_equal(got[c].to_numpy(float), sql[c].to_numpy(float), err_msg=c)
    for c in (S.SENSITIVE, S.PROACTIVE):
        assert got[c].tolist() == sql[c].astype(bool).tolist()
    for c in (S.OCCURRED_FROM, S.OCCURRED_TO):
        pd.testing.assert_series_equal(got[c].dt.tz_convert("UTC").rename(None).reset_index(drop=True),
                                       B.as_utc(sql[c]).rename(None).reset_index(drop=True).astype(got[c].dtype),
                                       check_names=False)
    assert got["force"].eq("metropolitan").all()


def test_partition_layout(stores):
    _env, _s, root, _p = stores
    parts = P.store_parts(root)
    assert parts
    on_disk = sorted(p.relative_to(root).as_posix() for p in root.glob("**/*.parquet"))
    assert on_disk == sorted(p.path.relative_to(root).as_posix() for p in parts)
    for p in parts:
        rel = p.path.relative_to(root).as_posix()
        assert re.fullmatch(r"force=metropolitan/month=\d{4}-\d{2}/part-\d{6}-[0-9a-f]{8}\.parquet", rel), rel
        months = set(pq.read_table(p.path, columns=[S.MONTH]).column(0).to_pylist())
        assert months == {p.month} and rel.split("/")[1] == f"month={p.month}"
        assert pq.read_metadata(p.path).num_rows == p.rows
    # VSO 2024 months and the API months 2017-07..2017-09 and 2018-06
    assert {p.month for p in parts} == {f"2024-{m:02d}" for m in range(1, 10)} | {"2017-07", "2017-08", "2017-09", "2018-06"}


def test_geoparquet_metadata_read_by_geopandas(stores):
    _env, _s, root, _p = stores
    part = P.store_parts(root)[0]
    meta = json.loads(pq.read_schema(part.path).metadata[b"geo"])
    assert meta["version"] == "1.1.0" and meta["columns"]["geometry"]["encoding"] == "WKB"
    gdf = gpd.read_parquet(part.path)
    assert gdf.crs.to_epsg() == 27700
    assert (gdf.geometry.geom_type == "Point").all()
    np.testing.assert_array_equal(gdf.geometry.x.to_numpy(), gdf[S.X].to_numpy())
    np.testing.assert_array_equal(gdf.geometry.y.to_numpy(), gdf[S.Y].to_numpy())
    x0, y0, x1, y1 = meta["columns"]["geometry"]["bbox"]
    assert (x0, y0, x1, y1) == (gdf[S.X].min(), gdf[S.Y].min(), gdf[S.X].max(), gdf[S.Y].max())


def test_quarantine_and_ingest_records_are_in_the_side_database(stores):
    env, _s, root, pq_reports = stores
    side = sqlite3.connect(root / P.SIDE_DB)
    q = side.execute("SELECT row_number, field, reason FROM quarantine WHERE path = ? ORDER BY row_number",
                     (str(BROKEN),)).fetchall()
    expected = env.sql("SELECT row_number, field, reason FROM quarantine WHERE path = :p ORDER BY row_number",
                       p=str(BROKEN))
    assert q == list(expected.itertuples(index=False, name=None)) and len(q) == 3  # row 1 is outside the area
    assert side.execute("SELECT outside FROM ingests WHERE path = ? AND status = 'complete'",
                        (str(BROKEN),)).fetchall() == [(1,)]
    n = side.execute("SELECT count(*), sum(stored) FROM ingests WHERE status = 'complete'").fetchone()
    assert n == (len(pq_reports), sum(r.stored for r in pq_reports))
    assert side.execute("SELECT sum(rows) FROM parquet_parts").fetchone()[0] == sum(r.stored for r in pq_reports)


def test_reingest_is_idempotent(tmp_path):
    root = tmp_path / "pq"
    first = _ingest_parquet(root, NEIGHBOURS[:2], force="metropolitan")
    files = sorted(root.glob("**/*.parquet"))
    again = _ingest_parquet(root, NEIGHBOURS[:2], force="metropolitan")
    for a, b in zip(first, again):
        assert b.stored == 0 and b.duplicates == a.rows_read - a.quarantined and b.reconciles
    assert sorted(root.glob("**/*.parquet")) == files
    # a file overlapping a stored partition only adds its new rows
    stored = P.read_store(root, columns=[S.INCIDENT_ID])
    assert stored[S.INCIDENT_ID].is_unique and len(stored) == sum(r.stored for r in first)


def test_force_from_file_name_or_rejected(tmp_path):
    root = tmp_path / "pq"
    reports = _ingest_parquet(root, [B.SMALL_STREET, B.API_CSV])
    street, api = reports
    assert street.status == "complete" and street.stored > 0
    assert {p.force for p in P.store_parts(root)} == {"metropolitan"}
    assert api.status == "rejected" and "--force" in api.message and api.stored == 0
    with pytest.raises(HotspotError, match="partition slug"):
        _ingest_parquet(root, [B.API_CSV], force="Metropolitan Police Service")


def test_a_failed_file_leaves_nothing(tmp_path, monkeypatch):
    root = tmp_path / "pq"
    _ingest_parquet(root, NEIGHBOURS[:1], force="metropolitan")
    before = P.store_parts(root)
    calls = {"n": 0}
    real = P.write_part

    def failing(table, path):  # the second partition of a two-month input fails to write
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full (simulated)")
        real(table, path)

    monkeypatch.setattr(P, "write_part", failing)
    two_months = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in NEIGHBOURS[1:3]])
    src = tmp_path / "two-months.csv"
    two_months.to_csv(src, index=False)
    with pytest.raises(OSError, match="simulated"):
        _ingest_parquet(root, [src], force="metropolitan")
    assert P.store_parts(root) == before
    assert sorted(p.relative_to(root).as_posix() for p in root.glob("**/*") if p.is_file() and "part" in p.name) == \
        sorted(p.path.relative_to(root).as_posix() for p in before)
    side = sqlite3.connect(root / P.SIDE_DB)
    assert side.execute("SELECT count(*) FROM ingests WHERE path = ?", (str(src),)).fetchone()[0] == 0
    monkeypatch.setattr(P, "write_part", real)
    (report,) = _ingest_parquet(root, [src], force="metropolitan")  # and it goes in whole afterwards
    assert report.stored == len(two_months) - report.duplicates - report.quarantined > 0


def test_open_removes_uncommitted_parts(tmp_path):
    root = tmp_path / "pq"
    _ingest_parquet(root, NEIGHBOURS[:1], force="metropolitan")
    (part,) = P.store_parts(root)
    orphan = part.path.with_name("part-999999-deadbeef.parquet")  # renamed, never listed (a crash before commit)
    tmp = part.path.with_name(".part-999998-deadbeef.parquet.tmp")
    shutil.copy(part.path, orphan)
    shutil.copy(part.path, tmp)
    reader = P.ParquetStore.open(root, write=False)  # readers never delete, and never see unlisted parts
    assert orphan.exists() and reader.parts() == [part] and len(P.read_store(root)) == part.rows
    reader.close()
    with P.ParquetStore.open(root) as store:
        assert not orphan.exists() and not tmp.exists() and part.path.exists()
        assert store.parts() == [part]
        with pytest.raises(HotspotError, match="another process is writing"):
            P.ParquetStore.open(root)  # one writer at a time (a second writer's recovery could remove our parts)
        assert P.store_parts(root) == [part]  # reading while a writer holds the lock
    P.ParquetStore.open(root).close()  # the lock is released on close
