"""PostGIS used for real (issue 17 item 3): geometry columns and SQL aggregations equal to the pandas path.

The same incidents (the small police.uk extract plus the hand-made archive street files) and the
hand-made estates and parks go into a fresh PostGIS database and an SQLite file; grid counts for
several cell sizes and estate/park counts for a period are computed in SQL on PostgreSQL and by the
pandas path, and must be equal, and equal to :func:`spatial.grids.count_in_cells`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent / "spatial"))
import _builders as B  # noqa: E402

from spatial.grids import count_in_cells, square_grid  # noqa: E402
from spatial.layers import store_area_layer  # noqa: E402
from spatial.store.aggregate import grid_counts, polygon_counts, uses_sql  # noqa: E402
from spatial.store.queries import incident_frame  # noqa: E402

ARCHIVE = Path(__file__).resolve().parent / "data" / "police_uk_archive_HANDMADE"


def _in_polygons_csv(folder: Path) -> Path:
    """Real street rows moved into the estates and parks: 1, 2, 3 ... points in the i-th polygon (test-made)."""
    import geopandas as gpd
    import numpy as np

    from spatial.projection import to_wgs84

    header, rows = B.small_street_rows()
    h = {c: i for i, c in enumerate(header)}
    polys = [*gpd.read_file(B.ESTATES).to_crs(27700).geometry, *gpd.read_file(B.PARKS).to_crs(27700).geometry]
    out, k = [], 0
    for i, poly in enumerate(polys):
        p = poly.representative_point()
        for j in range(i + 1):
            lon, lat = to_wgs84(np.array([p.x + j]), np.array([p.y]))
            r = list(rows[k % len(rows)])
            r[h["Crime ID"]] = f"poly{i}-{j}" + "0" * 58
            r[h["Longitude"]], r[h["Latitude"]] = f"{lon[0]:.6f}", f"{lat[0]:.6f}"
            out.append(r)
            k += 1
    return B.write_csv(folder / "2024-01-metropolitan-street.csv", header, out)


def _load(url: str) -> B.Env:
    env = B.make_env(url)
    store_area_layer(env.engine, "estates", B.ESTATES, id_column="estate_id", name_column="estate_name")
    store_area_layer(env.engine, "parks", B.PARKS, id_column="park_id")
    env.rebuild_attributor()
    import tempfile

    moved = _in_polygons_csv(Path(tempfile.mkdtemp(prefix="hotspot-agg-")))
    reports = env.ingest_paths([B.SMALL_STREET, ARCHIVE, moved])
    assert all(r.status == "complete" and r.reconciles for r in reports)
    return env


@pytest.fixture
def pg_env(fresh_pg_url: str) -> B.Env:
    return _load(fresh_pg_url)


def test_area_geometry_columns_are_typed_27700_and_gist_indexed(pg_env):
    with pg_env.engine.connect() as conn:
        cols = conn.execute(text("SELECT f_table_name, type, srid FROM geometry_columns "
                                 "WHERE f_table_name IN ('area_layers', 'area_units', 'stop_searches') "
                                 "ORDER BY 1")).all()
        idx = {r[0] for r in conn.execute(text("SELECT indexname FROM pg_indexes WHERE indexdef LIKE '%USING gist%'"))}
        valid = conn.execute(text("SELECT bool_and(ST_IsValid(geom)), count(*) FROM area_layers")).one()
    assert [tuple(c) for c in cols] == [("area_layers", "MULTIPOLYGON", 27700), ("area_units", "MULTIPOLYGON", 27700),
                                        ("stop_searches", "POINT", 27700)]
    assert {"ix_area_layers_geom", "ix_area_units_geom", "ix_incidents_geom", "ix_stop_searches_geom"} <= idx
    assert valid == (True, 6)
    assert uses_sql(pg_env.engine)


@pytest.mark.parametrize("cell", [50.0, 150.0, 333.3])
def test_sql_grid_counts_equal_the_pandas_path(pg_env, cell):
    sql = grid_counts(pg_env.engine, cell, include_sensitive=True, path="sql")
    pandas = grid_counts(pg_env.engine, cell, include_sensitive=True, path="pandas")
    assert len(sql) > 5 and int(sql["count"].sum()) == pg_env.count("incidents")
    assert sql.equals(pandas)
    # and both equal the grid module's own counting on a square grid covering every point
    inc = incident_frame(pg_env.engine, include_sensitive=True)
    import geopandas as gpd
    import shapely

    box = gpd.GeoSeries([shapely.box(inc.x.min() - 1, inc.y.min() - 1, inc.x.max() + 1, inc.y.max() + 1)], crs=27700)
    ref = count_in_cells(inc, square_grid(box, cell_size_m=cell, clip=False))
    ref = ref[ref["count"] > 0].set_index("cell_id")["count"].sort_index()
    assert sql.set_index("cell_id")["count"].sort_index().equals(ref)
    # filters: non-sensitive only, one month
    month = sorted(inc["month"].unique())[0]
    a = grid_counts(pg_env.engine, cell, months=[month], path="sql")
    b = grid_counts(pg_env.engine, cell, months=[month], path="pandas")
    assert a.equals(b) and int(a["count"].sum()) == int(((inc.month == month) & ~inc.sensitive).sum())


@pytest.mark.parametrize("layer", ["estates", "parks"])
def test_sql_polygon_counts_equal_the_pandas_path_and_sqlite(pg_env, layer, sqlite_url):
    months = sorted(incident_frame(pg_env.engine, include_sensitive=True)["month"].unique())[:1]
    sql = polygon_counts(pg_env.engine, layer, months=months, include_sensitive=True, path="sql")
    pandas = polygon_counts(pg_env.engine, layer, months=months, include_sensitive=True, path="pandas")
    assert len(sql) == 3 and sql.equals(pandas)
    lite = _load(sqlite_url)
    assert not uses_sql(lite.engine)
    assert polygon_counts(lite.engine, layer, months=months, include_sensitive=True).equals(sql)
    # the ingest-time attribution agrees where no point lies on an edge
    col = "estate_id" if layer == "estates" else "park_id"
    attributed = pg_env.sql(f"SELECT {col} AS area_id, count(*) AS n FROM incidents WHERE {col} IS NOT NULL "
                            "AND month = :m GROUP BY 1", m=months[0]).set_index("area_id")["n"]
    assert (sql.set_index("area_id")["count"].reindex(attributed.index) >= attributed).all()
    first = 1 if layer == "estates" else 4  # 1, 2, 3 moved points in the estates; 4, 5, 6 in the parks
    assert sql["count"].tolist() == [first, first + 1, first + 2], sql
