"""User-supplied council polygon layers (housing estates, parks and open spaces).

These layers are not public, so they are never bundled: a council loads its
own file once (``hotspot-tasking layers estates FILE --id-column ...``) and the
polygons are kept in the database (``area_layers``) as EPSG:27700 WKB, so every
dashboard process and every later ingest sees the same layer.

A housing association's schemes are loaded as the ``estates`` layer (its
schemes are its estates); with ``homes_column`` the number of homes in each
scheme is kept (``homes``), so league tables give rates per 1,000 homes
(:mod:`spatial.schemes`).
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
from sqlalchemy import Engine, delete, insert, select

from spatial._errors import HotspotError, SchemaError
from spatial.schema import BNG
from spatial.store import tables as T

__all__ = ["read_area_layer", "store_area_layer", "stored_area_layer", "LAYER_NAMES", "HOMES_KEY"]

LAYER_NAMES = ("estates", "parks")
#: Key of the homes count in a stored polygon's ``properties`` JSON.
HOMES_KEY = "_homes"


def read_area_layer(path: str | Path, *, id_column: str, name_column: str | None = None,
                    homes_column: str | None = None) -> gpd.GeoDataFrame:
    """Read a polygon layer and bring it to EPSG:27700 with ``area_id``/``name`` columns.

    With ``homes_column`` a ``homes`` column is added: the number of homes in
    each polygon (a whole number >= 0; blank where the stock list has none).

    Raises
    ------
    HotspotError
        If the file cannot be read, has no CRS, lacks the id column, has
        duplicate ids or non-polygon geometries, or a homes count is not a
        whole number >= 0 (naming the feature and its id).
    """
    p = Path(path)
    try:
        gdf = gpd.read_parquet(p) if p.suffix.lower() in (".parquet", ".geoparquet") else gpd.read_file(p, engine="pyogrio")
    except Exception as exc:
        msg = f"{p}: cannot read it as a polygon layer ({exc})"
        raise HotspotError(msg) from exc
    if gdf.crs is None:
        msg = f"{p}: the layer has no coordinate reference system; save it with EPSG:27700 or EPSG:4326"
        raise HotspotError(msg)
    for col in (id_column, name_column, homes_column):
        if col and col not in gdf.columns:
            msg = f"{p}: no column {col!r}; columns are {[c for c in gdf.columns if c != gdf.geometry.name]}"
            raise SchemaError(msg)
    bad = ~gdf.geom_type.isin(["Polygon", "MultiPolygon"])
    if bad.any():
        i = int(bad.to_numpy().argmax())
        msg = f"{p}: feature {i + 1} ({id_column}={gdf[id_column].iloc[i]!r}) is a {gdf.geom_type.iloc[i]}; areas must be polygons"
        raise SchemaError(msg)
    ids = gdf[id_column].astype(str)
    too_long = ids.str.len() > 60
    if too_long.any():
        msg = f"{p}: {id_column} {ids[too_long].iloc[0][:70]!r} is longer than 60 characters"
        raise SchemaError(msg)
    if ids.duplicated().any():
        msg = f"{p}: {id_column} values repeat ({sorted(ids[ids.duplicated()].unique())[:5]}); ids must be unique"
        raise SchemaError(msg)
    out = gpd.GeoDataFrame({"area_id": ids.to_numpy(),
                            "name": gdf[name_column].astype(str).to_numpy() if name_column else ids.to_numpy()},
                           geometry=gdf.geometry.to_crs(BNG).make_valid().to_numpy(), crs=BNG)
    extra = gdf.drop(columns=[gdf.geometry.name])
    props = [{k: (None if pd.isna(v) else v) for k, v in r.items()} for r in extra.to_dict(orient="records")]
    if homes_column:
        homes = _homes(gdf[homes_column], ids, p, homes_column)
        out["homes"] = homes.to_numpy()
        for d, h in zip(props, homes.to_numpy(), strict=True):
            d[HOMES_KEY] = None if pd.isna(h) else int(h)
    out["properties"] = [json.dumps(d, default=str) for d in props]
    return out


def _homes(values: pd.Series, ids: pd.Series, p: Path, column: str) -> pd.Series:
    """Homes per polygon as floats (NaN where blank); a value that is not a whole number >= 0 is refused."""
    text = values.map(lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v).strip())
    num = pd.to_numeric(text.where(text != "", None), errors="coerce").astype(float)
    bad = (text != "") & (num.isna() | (num < 0) | (num % 1 != 0))
    if bad.any():
        i = int(bad.to_numpy().argmax())
        msg = (f"{p}: feature {i + 1} ({ids.iloc[i]!r}) has {column}={text.iloc[i]!r}; "
               "a homes count must be a whole number >= 0 (or blank)")
        raise SchemaError(msg)
    return num.reset_index(drop=True)


def store_area_layer(engine: Engine, layer: str, path: str | Path, *, id_column: str,
                     name_column: str | None = None, homes_column: str | None = None) -> int:
    """Replace the stored ``layer`` (estates or parks) with the polygons in ``path``."""
    if layer not in LAYER_NAMES:
        msg = f"layer was {layer!r} but is expected to be one of {LAYER_NAMES}"
        raise HotspotError(msg)
    gdf = read_area_layer(path, id_column=id_column, name_column=name_column, homes_column=homes_column)
    with engine.begin() as conn:
        conn.execute(delete(T.area_layers).where(T.area_layers.c.layer == layer))
        conn.execute(insert(T.area_layers), [
            {"layer": layer, "area_id": r.area_id, "name": r.name, "properties": r.properties,
             "geom_wkb": r.geometry.wkb_hex} for r in gdf.itertuples()])
    return len(gdf)


def stored_area_layer(engine: Engine, layer: str) -> gpd.GeoDataFrame | None:
    """The stored layer as a GeoDataFrame, or ``None`` when the council has not loaded it.

    Columns ``area_id, name, geometry``, plus ``homes`` (float, NaN where blank)
    when the layer was stored with a homes column.
    """
    from shapely import from_wkb

    with engine.connect() as conn:
        rows = conn.execute(select(T.area_layers).where(T.area_layers.c.layer == layer)).mappings().all()
    if not rows:
        return None
    out = gpd.GeoDataFrame({"area_id": [r["area_id"] for r in rows], "name": [r["name"] for r in rows]},
                           geometry=[from_wkb(bytes.fromhex(r["geom_wkb"])) for r in rows], crs=BNG)
    props = [json.loads(r["properties"]) if r["properties"] else {} for r in rows]
    if any(HOMES_KEY in d for d in props):
        out["homes"] = [float("nan") if d.get(HOMES_KEY) is None else float(d[HOMES_KEY]) for d in props]
    return out
