"""``hotspot-tasking hotspots``: compute hotspots for a period and write GeoJSON for QGIS.

::

    hotspot-tasking hotspots --method kde|gistar|dbscan --period 2018-06[..2018-08]
        [--borough E09000020] [--cell-size 150] [--category-group burglary ...]
        [--harm cchi|ons_css] --out hotspots.geojson

Incidents are read with ``incident_frame(engine, include_sensitive=False)``:
sensitive categories are never mapped.  The GeoJSON is in EPSG:4326 (what
QGIS and web maps expect) and carries the method's parameters in a top-level
``params`` member, next to ``crs_note``.

The lead wires :func:`add_parser` into ``spatial/cli.py``; :func:`run` is the
command (returns the exit status).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._errors import HotspotError, SchemaError
from .schema import CATEGORY, MONTH, WGS84, X, Y, load_taxonomy

__all__ = ["add_parser", "compute_hotspots", "parse_period", "run", "to_geojson"]

Method = Literal["kde", "gistar", "dbscan"]
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def parse_period(text: str) -> list[str]:
    """Months of ``YYYY-MM`` or ``YYYY-MM..YYYY-MM`` (inclusive).

    Raises
    ------
    SchemaError
        If the text is not in that form or the range is reversed.

    Examples
    --------
    >>> parse_period("2018-11..2019-01")
    ['2018-11', '2018-12', '2019-01']
    """
    parts = text.split("..")
    if len(parts) not in (1, 2) or not all(_MONTH.match(p) for p in parts):
        msg = f"--period was {text!r}; give YYYY-MM or YYYY-MM..YYYY-MM, e.g. 2018-06..2018-08"
        raise SchemaError(msg)
    start, end = pd.Period(parts[0], "M"), pd.Period(parts[-1], "M")
    if end < start:
        msg = f"--period {text!r} ends before it starts"
        raise SchemaError(msg)
    return [str(p) for p in pd.period_range(start, end, freq="M")]


def compute_hotspots(incidents: pd.DataFrame, area: gpd.GeoDataFrame, *, method: Method,
                     months: list[str] | None = None, cell_size_m: float = 150.0,
                     category_groups: list[str] | None = None, harm_index: str | None = None,
                     seed: int = 12345) -> gpd.GeoDataFrame:
    """Filter incidents to the area, months and category groups, then run one method (pure).

    Returns the method's hotspot result (grid cells for ``kde``/``gistar``,
    cluster polygons for ``dbscan``) in EPSG:27700, with the filter recorded in
    ``attrs["params"]``.
    """
    from .grids import count_in_cells, points_xy, square_grid
    from .harm import harm_weight
    from .hotspots import density_clusters, gistar, kde

    df = incidents
    if months:
        df = df[df[MONTH].astype(str).isin(months)]
    if category_groups:
        tax = load_taxonomy()
        known = sorted({c.group for c in tax.categories.values()})
        bad = sorted(set(category_groups) - set(known))
        if bad:
            msg = f"unknown category groups {bad}; allowed: {known}"
            raise SchemaError(msg)
        slugs = {s for s, c in tax.categories.items() if c.group in category_groups}
        df = df[df[CATEGORY].isin(slugs)]
    df = df[np.isfinite(pd.to_numeric(df[X], errors="coerce")) & np.isfinite(pd.to_numeric(df[Y], errors="coerce"))]
    x, y = points_xy(df)
    union = shapely.union_all(np.asarray(area.geometry.values, dtype=object))
    df = df[shapely.contains_xy(union, x, y)].reset_index(drop=True)
    if df.empty:
        msg = "no incidents match the period, area and categories; check `hotspot-tasking status`"
        raise HotspotError(msg)
    weights = harm_weight(df[CATEGORY], index=harm_index) if harm_index else None  # type: ignore[arg-type]
    if method == "dbscan":
        res = density_clusters(df, weights=weights)
    else:
        grid = square_grid(area, cell_size_m=cell_size_m)
        if method == "kde":
            res = kde(df, grid, weights=weights)
        elif method == "gistar":
            cells = count_in_cells(df, grid, weights=weights)
            res = gistar(cells, value_col="harm" if harm_index else "count", seed=seed)
        else:
            msg = f'method was "{method}" but is expected to be one of ["kde", "gistar", "dbscan"]'
            raise SchemaError(msg)
    res.attrs["params"].update({"months": months or "all", "category_groups": category_groups or "all",
                                "harm_index": harm_index or "none (counts)", "n_incidents_used": len(df),
                                "sensitive_included": False})
    return res


def to_geojson(result: gpd.GeoDataFrame, *, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """GeoJSON FeatureCollection (EPSG:4326) with ``params`` as a top-level member."""
    out = result.to_crs(WGS84)
    fc = json.loads(out.to_json(na="null", drop_id=True))
    fc["name"] = f"hotspots_{result.attrs.get('params', {}).get('method', '')}"
    fc["params"] = {**result.attrs.get("params", {}), **(extra or {})}
    fc["crs_note"] = "coordinates are WGS84 lon/lat (EPSG:4326); analysis was done in EPSG:27700"
    return fc


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``hotspots`` sub-command."""
    p = subparsers.add_parser("hotspots", help="compute KDE, Gi* or DBSCAN hotspots and write GeoJSON for QGIS")
    p.add_argument("--method", choices=["kde", "gistar", "dbscan"], required=True)
    p.add_argument("--period", required=True, help="YYYY-MM or YYYY-MM..YYYY-MM")
    p.add_argument("--borough", default="E09000020", help="borough GSS code (default RBKC, E09000020)")
    p.add_argument("--cell-size", type=float, default=150.0, help="grid cell size in metres (default 150)")
    p.add_argument("--category-group", nargs="*", default=None,
                   help="category groups from spatial/data/categories.csv (e.g. burglary theft asb)")
    p.add_argument("--harm", choices=["cchi", "ons_css"], default=None, help="weight incidents by harm")
    p.add_argument("--seed", type=int, default=12345)
    p.add_argument("--out", required=True, help="output .geojson")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Read incidents from the store, compute hotspots and write the GeoJSON; returns 0."""
    from .config import Settings
    from .datasets import load_boroughs
    from .store import connect
    from .store.queries import incident_frame

    kw: dict[str, Any] = {}
    if getattr(args, "database", None):
        kw["database_url"] = args.database
    if getattr(args, "data_dir", None):
        kw["data_dir"] = Path(args.data_dir)
    settings = Settings(**kw)
    months = parse_period(args.period)
    area = load_boroughs((args.borough,), data_dir=settings.data_dir)
    if area.empty:
        msg = f"borough {args.borough!r} is not in the bundled boundaries; use one of E09000020, E09000033, E09000013"
        raise SchemaError(msg)
    engine = connect(settings.database_url)
    incidents = incident_frame(engine, include_sensitive=False, months=months)
    res = compute_hotspots(incidents, area, method=args.method, months=months, cell_size_m=args.cell_size,
                           category_groups=args.category_group, harm_index=args.harm, seed=args.seed)
    fc = to_geojson(res, extra={"borough": args.borough, "period": args.period})
    Path(args.out).write_text(json.dumps(fc, default=str), encoding="utf-8")
    n_hot = int(res["is_hotspot"].sum())
    print(f"{args.method}: {len(res)} units, {n_hot} hotspots, {fc['params']['n_incidents_used']:,} incidents "
          f"-> {args.out}")
    return 0
