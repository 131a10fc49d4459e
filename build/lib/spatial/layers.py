"""User-supplied council polygon layers (housing estates, parks and open spaces).

These layers are not public, so they are never bundled: a council loads its
own file once (``hotspot-tasking layers estates FILE --id-column ...``) and the
polygons are kept in the database (``area_layers``) as EPSG:27700 WKB, so every
dashboard process and every later ingest sees the same layer.
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

__all__ = ["read_area_layer", "store_area_layer", "stored_area_layer", "LAYER_NAMES"]

LAYER_NAMES = ("estates", "parks")


def read_area_layer(path: str | Path, *, id_column: str, name_column: str | None = None) -> gpd.GeoDataFrame:
    """Read a polygon layer and bring it to EPSG:27700 with ``area_id``/``name`` columns.

    Raises
    ------
    HotspotError
        If the file cannot be read, has no CRS, lacks the id column, has
        duplicate ids or non-polygon geometries.
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
    for col in (id_column, name_column):
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
    out["properties"] = [json.dumps({k: (None if pd.isna(v) else v) for k, v in r.items()}, default=str)
                         for r in extra.to_dict(orient="records")]
    return out


def store_area_layer(engine: Engine, layer: str, path: str | Path, *, id_column: str,
                     name_column: str | None = None) -> int:
    """Replace the stored ``layer`` (estates or parks) with the polygons in ``path``."""
    if layer not in LAYER_NAMES:
        msg = f"layer was {layer!r} but is expected to be one of {LAYER_NAMES}"
        raise HotspotError(msg)
    gdf = read_area_layer(path, id_column=id_column, name_column=name_column)
    with engine.begin() as conn:
        conn.execute(delete(T.area_layers).where(T.area_layers.c.layer == layer))
        conn.execute(insert(T.area_layers), [
            {"layer": layer, "area_id": r.area_id, "name": r.name, "properties": r.properties,
             "geom_wkb": r.geometry.wkb_hex} for r in gdf.itertuples()])
    return len(gdf)


def stored_area_layer(engine: Engine, layer: str) -> gpd.GeoDataFrame | None:
    """The stored layer as a GeoDataFrame, or ``None`` when the council has not loaded it."""
    from shapely import from_wkb

    with engine.connect() as conn:
        rows = conn.execute(select(T.area_layers).where(T.area_layers.c.layer == layer)).mappings().all()
    if not rows:
        return None
    return gpd.GeoDataFrame({"area_id": [r["area_id"] for r in rows], "name": [r["name"] for r in rows]},
                            geometry=[from_wkb(bytes.fromhex(r["geom_wkb"])) for r in rows], crs=BNG)
