"""The Dask batch pipeline equals the single-machine path (issue 7).

Real data: the bundled Westminster + Hammersmith & Fulham API extract (12
months) and three months of the London extract (``../shared/data/policeuk/
london_api``, skipped when absent unless ``CI`` is set) for three London
boroughs, ingested into GeoParquet stores by the ingest code.  The local path
counts with :func:`spatial.areas.cell_period_counts` and
:func:`spatial.forecast.monthly_counts` on an in-memory frame; the Dask path
counts part by part on worker processes.  Counts and classes must be equal,
floats equal to 1e-9.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import _builders as B  # first: puts the repository root on sys.path
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from spatial import schema as S
from spatial.config import Settings
from spatial.datasets import HAMMERSMITH_FULHAM, WESTMINSTER, load_boroughs
from spatial.distributed import BatchConfig, local_batch, make_client, run_batch
from spatial.ingest.pipeline import default_attributor, ingest_paths_parquet
from spatial.store.parquet import read_store

#: The London extract is not bundled (data/SOURCES.md): ``$HOTSPOT_SHARED_DATA`` or ``../shared/data``.
SHARED = Path(os.environ.get("HOTSPOT_SHARED_DATA", B.REPO.parent / "shared" / "data"))
LONDON = SHARED / "policeuk" / "london_api"
LONDON_BOROUGHS = SHARED / "boundaries" / "london_boroughs.gpkg"
#: Camden, Hackney, Croydon: inner north, inner east, outer south.
SOME_BOROUGHS = ("E09000007", "E09000012", "E09000008")

pytestmark = pytest.mark.slow  # a Dask LocalCluster with worker processes


def _store(root: Path, paths: list[Path], **attr_kw) -> Path:
    s = Settings(database_url="sqlite:///unused.sqlite", data_dir=B.DATA)
    reports = ingest_paths_parquet(root, [str(p) for p in paths], settings=s, now=B.NOW, force="metropolitan",
                                   attributor=default_attributor(None, s, **attr_kw))
    assert all(r.status == "complete" and r.reconciles for r in reports)
    return root


@pytest.fixture(scope="module")
def client():
    c = make_client(n_workers=2, memory_limit="2GB")
    yield c
    cluster = c.cluster
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def neighbours_store(tmp_path_factory) -> Path:
    return _store(tmp_path_factory.mktemp("nb") / "pq", [B.DATA / "policeuk" / "neighbours_api"])


@pytest.fixture(scope="module")
def london_store(tmp_path_factory) -> Path:
    if not LONDON.exists():  # not bundled, so not required in CI; the bundled test below covers the same path
        pytest.skip(f"{LONDON} is not here (set HOTSPOT_SHARED_DATA to the folder holding policeuk/london_api)")
    wards = gpd.read_file(SHARED / "boundaries" / "london_wards_2018.gpkg").rename(columns={"GSS_CODE": "ward_code"})
    lsoas = gpd.read_file(SHARED / "boundaries" / "london_lsoa_2021_gen20.gpkg").rename(columns={"LSOA21CD": "lsoa_code"})
    files = sorted(LONDON.glob("*.csv.gz"))[-3:]
    return _store(tmp_path_factory.mktemp("ldn") / "pq", files, wards=wards, lsoas=lsoas)


def assert_same(local: dict, dist: dict) -> None:
    assert sorted(local) == sorted(dist)
    for code, a in local.items():
        b = dist[code]
        assert a["cell_id"].tolist() == b["cell_id"].tolist(), code
        assert a["count"].tolist() == b["count"].tolist(), code
        for c in ("trend_class", "n_hot", "n_cold", "is_hotspot"):
            assert a[c].tolist() == b[c].tolist(), (code, c)
        floats = [c for c in a.columns if c.startswith(("gi_z_", "gi_p_"))] + ["score", "last_p", "trend_z", "forecast"]
        for c in floats:
            np.testing.assert_allclose(b[c].to_numpy(float), a[c].to_numpy(float), rtol=1e-9, atol=1e-12,
                                       err_msg=f"{code} {c}")


def _points_in(incidents: pd.DataFrame, units: gpd.GeoDataFrame, code_col: str) -> dict[str, int]:
    """Non-sensitive incidents strictly inside each unit, by a spatial join (independent of the pipeline)."""
    inc = incidents.loc[~incidents[S.SENSITIVE]]
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(inc[S.X], inc[S.Y]), crs=27700)
    joined = gpd.sjoin(pts, units[[code_col, "geometry"]], predicate="within")
    return joined[code_col].value_counts().to_dict()


def test_neighbours_12_months_equal_local(client, neighbours_store):
    units = load_boroughs((WESTMINSTER, HAMMERSMITH_FULHAM))
    inc = read_store(neighbours_store)
    months = sorted(inc[S.MONTH].unique())
    assert len(months) == 12
    run = run_batch(client, neighbours_store, units, code_column="borough_code")
    assert run.months == months and run.rows_read == len(inc)
    local = local_batch(inc, units, code_column="borough_code", months=months)
    assert_same(local, run.results)
    inside = _points_in(inc, units, "borough_code")
    for code, res in run.results.items():
        assert int(res["count"].sum()) == inside[code] > 10_000
        assert res[[f"gi_z_{m}" for m in months]].abs().max().max() > 3  # real hotspots, not a degenerate run
    # the forecast target leaves proactive categories out: its total is below the all-category count
    assert run.results[WESTMINSTER]["forecast"].sum() < run.results[WESTMINSTER]["count"].sum() / 12


def test_london_boroughs_equal_local_with_an_existing_scheduler(client, london_store):
    units = gpd.read_file(LONDON_BOROUGHS).to_crs(27700)
    units = units[units["gss_code"].isin(SOME_BOROUGHS)].reset_index(drop=True)
    inc = read_store(london_store)
    months = sorted(inc[S.MONTH].unique())
    remote = make_client(scheduler=client.scheduler.address)  # the address path (a cluster started elsewhere)
    try:
        run = run_batch(remote, london_store, units, code_column="gss_code", months=months,
                        config=BatchConfig(forecast_method="recency_kde"))
    finally:
        remote.close()
    local = local_batch(inc, units, code_column="gss_code", months=months, config=BatchConfig(forecast_method="recency_kde"))
    assert_same(local, run.results)
    inside = _points_in(inc, units, "gss_code")
    assert {c: int(r["count"].sum()) for c, r in run.results.items()} == {c: inside[c] for c in SOME_BOROUGHS}


def test_bundled_neighbours_through_an_existing_scheduler_equal_local(client, neighbours_store):
    """The scheduler-address path on the bundled data (always runs; the London test needs the shared extract)."""
    units = load_boroughs((WESTMINSTER, HAMMERSMITH_FULHAM))
    inc = read_store(neighbours_store)
    months = sorted(inc[S.MONTH].unique())[-4:]
    config = BatchConfig(forecast_method="recency_kde")
    remote = make_client(scheduler=client.scheduler.address)
    try:
        run = run_batch(remote, neighbours_store, units, code_column="borough_code", months=months, config=config)
    finally:
        remote.close()
    local = local_batch(inc[inc[S.MONTH].isin(months)], units, code_column="borough_code", months=months,
                        config=config)
    assert_same(local, run.results)
    inside = _points_in(inc[inc[S.MONTH].isin(months)], units, "borough_code")
    assert {c: int(r["count"].sum()) for c, r in run.results.items()} == inside


def test_sensitive_incidents_are_not_counted(client, tmp_path):
    """The RBKC violence and sexual offences archive is all sensitive: every count is zero."""
    root = _store(tmp_path / "pq", [B.VSO_DIR])
    inc = read_store(root)
    assert inc[S.SENSITIVE].all() and len(inc) > 1000
    run = run_batch(client, root, load_boroughs(("E09000020",)), code_column="borough_code",
                    config=BatchConfig(forecast_method="none"))
    res = run.results["E09000020"]
    assert run.rows_read == len(inc) and int(res["count"].sum()) == 0 and "forecast" not in res


def test_cli_batch_writes_results(neighbours_store, tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(B.REPO)}
    proc = subprocess.run([sys.executable, "-m", "hotspot_cli.main", "--data-dir", str(B.DATA), "batch", "--store",
                           str(neighbours_store), "--out", str(out), "--workers", "1", "--memory-limit", "2GB",
                           "--period", "2018-01..2018-06", "--forecast", "last_period"],
                          capture_output=True, text=True, env=env, timeout=300, cwd=B.REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = pd.read_csv(out / "summary.csv").set_index("unit")
    inc = read_store(neighbours_store)
    inc = inc[inc[S.MONTH] >= "2018-01"]
    inside = _points_in(inc, load_boroughs(), "borough_code")
    assert summary["incidents"].to_dict() == {c: inside.get(c, 0) for c in summary.index}
    cells = gpd.read_parquet(out / f"unit={WESTMINSTER}.parquet")
    assert cells.crs.to_epsg() == 27700 and int(cells["count"].sum()) == inside[WESTMINSTER]
    # last_period forecast = June's count of non-proactive incidents per cell (spatial join on the cell squares)
    june = inc[(inc[S.MONTH] == "2018-06") & ~inc[S.SENSITIVE] & ~inc[S.PROACTIVE]]
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(june[S.X], june[S.Y]), crs=27700)
    area = load_boroughs((WESTMINSTER,))
    pts = gpd.sjoin(pts, area[["geometry"]], predicate="within").drop(columns="index_right")
    boxes = gpd.GeoDataFrame({"cell_id": cells["cell_id"]}, crs=27700,
                             geometry=shapely.box(cells["x_min"], cells["y_min"], cells["x_max"], cells["y_max"]))
    per_cell = gpd.sjoin(pts, boxes, predicate="within")["cell_id"].value_counts()
    expected = per_cell.reindex(cells["cell_id"], fill_value=0).to_numpy(float)
    np.testing.assert_array_equal(cells["forecast"].to_numpy(float), expected)
    assert expected.sum() > 1000


def test_cli_batch_bad_store_is_a_message(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(B.REPO)}
    proc = subprocess.run([sys.executable, "-m", "hotspot_cli.main", "batch", "--store", str(tmp_path / "nope"),
                           "--out", str(tmp_path / "o")], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2 and "not a parquet store" in proc.stderr and "Traceback" not in proc.stderr
