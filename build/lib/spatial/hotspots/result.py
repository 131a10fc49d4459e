"""The one result shape shared by every hotspot method.

A hotspot result is a GeoDataFrame of units (grid cells, areas or cluster
polygons) in EPSG:27700 with at least

``score``       float, higher means hotter (method-specific meaning, documented
                by each method);
``is_hotspot``  bool, the units the method calls hot;
``method``      str, e.g. ``"kde"``, ``"gistar"``, ``"dbscan"``;

plus method-specific columns, and ``attrs["params"]``: a dict recording every
parameter the method used (bandwidth, seed, permutations, thresholds...), so a
map or a tasking pack can say exactly how it was made.  Evaluation, trends and
allocation read only these columns and never branch on the method.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._errors import SchemaError
from ..jsonable import plain
from ..projection import require_bng

__all__ = ["RESULT_COLUMNS", "hotspot_polygons", "hotspot_result", "validate_result"]

RESULT_COLUMNS: tuple[str, ...] = ("score", "is_hotspot", "method")


def hotspot_result(gdf: gpd.GeoDataFrame, score: np.ndarray | pd.Series | list[float],
                   is_hotspot: np.ndarray | pd.Series | list[bool], method: str,
                   params: Mapping[str, Any]) -> gpd.GeoDataFrame:
    """Build a hotspot result from units, scores and flags.

    Parameters
    ----------
    gdf
        Units in EPSG:27700 (not modified; a copy is returned, same index).
    score
        One float per unit, higher is hotter.
    is_hotspot
        One bool per unit.
    method
        Method name recorded in the ``method`` column and in the params.
    params
        Every parameter used (including the seed for random methods).

    Returns
    -------
    geopandas.GeoDataFrame
        Copy of ``gdf`` with ``score``, ``is_hotspot``, ``method`` and
        ``attrs["params"]``.

    Raises
    ------
    CRSError
        If ``gdf`` is not EPSG:27700.
    SchemaError
        If lengths differ or a score is not finite.
    """
    require_bng(gdf, name="the hotspot units")
    s = np.asarray(score, dtype=float)
    h = np.asarray(is_hotspot)
    if s.shape != (len(gdf),) or h.shape != (len(gdf),):
        msg = (f"score has shape {s.shape} and is_hotspot {h.shape}, but there are {len(gdf)} units; "
               "give one value per unit")
        raise SchemaError(msg)
    if not np.isfinite(s).all():
        msg = "score contains NaN or infinite values; every unit needs a finite score"
        raise SchemaError(msg)
    out = gdf.copy()
    out["score"] = s
    out["is_hotspot"] = h.astype(bool)
    out["method"] = str(method)
    out.attrs = {k: v for k, v in gdf.attrs.items() if k != "params"}
    out.attrs["params"] = {"method": str(method), **{str(k): plain(v) for k, v in params.items()}}
    return out


def validate_result(result: gpd.GeoDataFrame) -> None:
    """Raise :class:`SchemaError` unless ``result`` has the hotspot result shape."""
    missing = [c for c in RESULT_COLUMNS if c not in result.columns]
    if missing:
        msg = f"not a hotspot result: columns {missing} are missing (build it with hotspot_result)"
        raise SchemaError(msg)
    if "params" not in result.attrs:
        msg = "not a hotspot result: attrs['params'] is missing (build it with hotspot_result)"
        raise SchemaError(msg)
    require_bng(result, name="the hotspot result")


def hotspot_polygons(result: gpd.GeoDataFrame, *, value_col: str | None = None) -> gpd.GeoDataFrame:
    """Dissolve the hotspot units of a result into contiguous polygons.

    Edge- or corner-touching hotspot cells merge into one polygon; each polygon
    gets ``hotspot_id`` (1 = largest ``score_sum``), ``n_units``, ``area_m2``,
    ``score_max``, ``score_sum`` and, if ``value_col`` is given, its sum.

    This is the "contour" of a gridded method: the outline of the cells above
    the method's threshold (e.g. the top 5 % of area by KDE density).
    """
    validate_result(result)
    hot = result[result["is_hotspot"]]
    cols = ["hotspot_id", "n_units", "area_m2", "score_max", "score_sum"] + ([value_col] if value_col else [])
    if hot.empty:
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=result.crs)
    geoms = np.asarray(hot.geometry.values, dtype=object)
    # tiny buffer so corner-touching cells join, then undo it
    merged = shapely.union_all(shapely.buffer(geoms, 0.01, join_style="mitre")).buffer(-0.01, join_style="mitre")
    parts = list(getattr(merged, "geoms", [merged]))
    parts = [p for p in parts if not p.is_empty]
    tree = shapely.STRtree(parts)
    reps = shapely.point_on_surface(geoms)
    ri, pi = tree.query(reps, predicate="intersects")
    owner = np.full(len(geoms), -1)
    owner[ri] = pi
    if (owner < 0).any():  # a representative point sits on a shrunken edge: nearest part
        miss = np.flatnonzero(owner < 0)
        owner[miss] = tree.nearest(reps[miss])
    score = hot["score"].to_numpy(float)
    rows = []
    for k, poly in enumerate(parts):
        m = owner == k
        row = {"n_units": int(m.sum()), "area_m2": float(poly.area),
               "score_max": float(score[m].max()) if m.any() else 0.0,
               "score_sum": float(score[m].sum()), "geometry": poly}
        if value_col:
            row[value_col] = float(hot[value_col].to_numpy(float)[m].sum())
        rows.append(row)
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=result.crs)
    out = out.sort_values("score_sum", ascending=False, kind="stable").reset_index(drop=True)
    out.insert(0, "hotspot_id", np.arange(1, len(out) + 1))
    out.attrs["params"] = dict(result.attrs.get("params", {}))
    return out
