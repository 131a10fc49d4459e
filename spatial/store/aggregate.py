"""The heavy aggregations, done by the database where it can: grid counts and polygon counts.

On PostgreSQL with PostGIS the counting is one SQL ``GROUP BY`` in the server
(floor arithmetic on the stored x/y for grid cells; ``ST_Intersects`` against the
GiST-indexed ``geometry(MultiPolygon, 27700)`` columns of migration 0010 for
estates, parks and a created area's wards and LSOAs), so no incident leaves the
database.  SQLite (and a PostgreSQL without PostGIS) keeps the pandas path: the
incidents are read and counted with numpy/geopandas.  Both give the same table
(``tests/test_pg_aggregate.py``); ``bench/aggregate.py`` times them.

Counts include sensitive categories only when asked (``include_sensitive``): they
are aggregates, and the caller suppresses small ones as everywhere else.
"""

from __future__ import annotations

from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import Engine, text

from spatial import schema as S
from spatial._errors import HotspotError
from spatial.store.queries import incident_frame

__all__ = ["grid_counts", "grid_counts_frame", "polygon_counts", "polygon_counts_frame", "uses_sql", "POLYGON_LAYERS"]

Path_ = Literal["auto", "sql", "pandas"]
#: Polygon layers counted against: (table, layer value) of the stored polygons.
POLYGON_LAYERS: dict[str, tuple[str, str]] = {
    "estates": ("area_layers", "estates"), "parks": ("area_layers", "parks"),
    "wards": ("area_units", "wards"), "lsoas": ("area_units", "lsoas"), "districts": ("area_units", "districts"),
}
_GRID_COLUMNS = ["cell_id", "col", "row", "count"]
_POLY_COLUMNS = ["area_id", "count"]


def uses_sql(engine: Engine) -> bool:
    """True on PostgreSQL with PostGIS and the geometry columns of migration 0010."""
    if engine.dialect.name != "postgresql":
        return False
    with engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = 'area_layers' AND column_name = 'geom'")).scalar_one())


def _check_cell(cell_size_m: float) -> float:
    s = float(cell_size_m)
    if not np.isfinite(s) or s <= 0:
        msg = f"cell_size_m was {cell_size_m!r} but must be a positive number of metres"
        raise HotspotError(msg)
    return s


def _filters(months: list[str] | None, categories: list[str] | None, include_sensitive: bool,
             alias: str = "") -> tuple[str, dict[str, object]]:
    a = f"{alias}." if alias else ""
    where: list[str] = ["TRUE"]
    params: dict[str, object] = {}
    if not include_sensitive:
        where.append(f"NOT {a}sensitive")
    if months:
        where.append(f"{a}month = ANY(:months)")
        params["months"] = list(months)
    if categories:
        where.append(f"{a}category = ANY(:cats)")
        params["cats"] = list(categories)
    return " AND ".join(where), params


def _cell_table(cols: np.ndarray, rows: np.ndarray, counts: np.ndarray) -> pd.DataFrame:
    out = pd.DataFrame({"col": cols.astype(np.int64), "row": rows.astype(np.int64), "count": counts.astype(np.int64)})
    out.insert(0, "cell_id", "c" + out["col"].astype(str) + "_" + out["row"].astype(str))
    return out.sort_values(["row", "col"], kind="stable").reset_index(drop=True)[_GRID_COLUMNS]


def grid_counts_frame(incidents: pd.DataFrame, cell_size_m: float) -> pd.DataFrame:
    """The pandas path: incidents per square cell of side ``cell_size_m`` anchored at multiples of it.

    ``cell_id`` is ``c<col>_<row>`` as :func:`spatial.grids.square_grid` names cells; only cells
    holding an incident are listed, ordered by row then column.
    """
    s = _check_cell(cell_size_m)
    x = incidents[S.X].to_numpy(dtype=float)
    y = incidents[S.Y].to_numpy(dtype=float)
    c, r = np.floor(x / s).astype(np.int64), np.floor(y / s).astype(np.int64)
    if not len(c):
        return pd.DataFrame({k: pd.Series(dtype=t) for k, t in zip(_GRID_COLUMNS, (object, "int64", "int64", "int64"))})
    keys, counts = np.unique(np.stack([r, c], axis=1), axis=0, return_counts=True)
    return _cell_table(keys[:, 1], keys[:, 0], counts)


def grid_counts(engine: Engine, cell_size_m: float, *, months: list[str] | None = None,
                categories: list[str] | None = None, include_sensitive: bool = False,
                path: Path_ = "auto") -> pd.DataFrame:
    """Incidents per grid cell (see :func:`grid_counts_frame`), counted in SQL on PostGIS."""
    s = _check_cell(cell_size_m)
    if path == "sql" or (path == "auto" and uses_sql(engine)):
        if engine.dialect.name != "postgresql":
            msg = "the SQL path of grid_counts needs PostgreSQL"
            raise HotspotError(msg)
        where, params = _filters(months, categories, include_sensitive)
        q = text(f"SELECT floor(x / :s)::bigint AS col, floor(y / :s)::bigint AS row, count(*) AS n "
                 f"FROM incidents WHERE {where} GROUP BY 1, 2")
        with engine.connect() as conn:
            got = conn.execute(q, {"s": s, **params}).all()
        if not got:
            return grid_counts_frame(pd.DataFrame({S.X: [], S.Y: []}), s)
        arr = np.asarray(got, dtype=np.int64)
        return _cell_table(arr[:, 0], arr[:, 1], arr[:, 2])
    inc = incident_frame(engine, include_sensitive=include_sensitive, months=months)
    if categories:
        inc = inc[inc[S.CATEGORY].isin(categories)]
    return grid_counts_frame(inc, s)


def polygon_counts_frame(incidents: pd.DataFrame, polygons: gpd.GeoDataFrame, *,
                         id_column: str = "area_id") -> pd.DataFrame:
    """The pandas path: incidents intersecting each polygon (a point on a shared edge counts for both),
    for every polygon (zeros included), ordered by ``area_id``."""
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(incidents[S.X].to_numpy(float),
                                                       incidents[S.Y].to_numpy(float)), crs=S.BNG)
    poly = gpd.GeoDataFrame({"area_id": polygons[id_column].astype(str).to_numpy()},
                            geometry=polygons.geometry.to_numpy(), crs=S.BNG)
    joined = gpd.sjoin(pts, poly, how="inner", predicate="intersects")
    counts = joined.groupby("area_id").size()
    out = pd.DataFrame({"area_id": sorted(poly["area_id"])})
    out["count"] = out["area_id"].map(counts).fillna(0).astype(np.int64)
    return out[_POLY_COLUMNS]


def _stored_polygons(engine: Engine, layer: str, area: str | None) -> gpd.GeoDataFrame:
    import shapely

    table, value = POLYGON_LAYERS[layer]
    params: dict[str, object]
    if table == "area_layers":
        q, params = "SELECT area_id, geom_wkb FROM area_layers WHERE layer = :l", {"l": value}
    else:
        q, params = "SELECT code AS area_id, geom_wkb FROM area_units WHERE layer = :l AND area = :a", \
            {"l": value, "a": area}
    with engine.connect() as conn:
        rows = conn.execute(text(q), params).all()
    return gpd.GeoDataFrame({"area_id": [r[0] for r in rows]},
                            geometry=[shapely.from_wkb(bytes.fromhex(r[1])) for r in rows], crs=S.BNG)


def polygon_counts(engine: Engine, layer: str, *, area: str | None = None, months: list[str] | None = None,
                   categories: list[str] | None = None, include_sensitive: bool = False,
                   path: Path_ = "auto") -> pd.DataFrame:
    """Incidents in each stored polygon of ``layer`` (estates, parks; wards, lsoas or districts of the
    created ``area``) for the months given: ``ST_Intersects`` on PostGIS, geopandas elsewhere."""
    if layer not in POLYGON_LAYERS:
        msg = f"layer was {layer!r} but is expected to be one of {sorted(POLYGON_LAYERS)}"
        raise HotspotError(msg)
    table, value = POLYGON_LAYERS[layer]
    if table == "area_units" and not area:
        msg = f"the {layer} layer is kept per area: give area= (a created area's name)"
        raise HotspotError(msg)
    if path == "sql" or (path == "auto" and uses_sql(engine)):
        where, params = _filters(months, categories, include_sensitive, alias="i")
        key = "p.area_id" if table == "area_layers" else "p.code"
        scope = "p.layer = :l" + ("" if table == "area_layers" else " AND p.area = :a")
        q = text(f"SELECT {key} AS area_id, count(i.incident_id) AS n FROM {table} p "
                 f"LEFT JOIN incidents i ON ST_Intersects(p.geom, i.geom) AND {where} "
                 f"WHERE {scope} GROUP BY 1 ORDER BY 1")
        with engine.connect() as conn:
            got = conn.execute(q, {"l": value, "a": area, **params}).all()
        return pd.DataFrame({"area_id": [str(r[0]) for r in got],
                             "count": np.array([r[1] for r in got], dtype=np.int64)})[_POLY_COLUMNS]
    inc = incident_frame(engine, include_sensitive=include_sensitive, months=months)
    if categories:
        inc = inc[inc[S.CATEGORY].isin(categories)]
    return polygon_counts_frame(inc, _stored_polygons(engine, layer, area))
