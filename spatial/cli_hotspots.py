"""``hotspot-tasking hotspots``: compute hotspots for a period and write GeoJSON for QGIS.

::

    hotspot-tasking hotspots --method kde|gistar|dbscan|emerging --period 2018-06[..2018-08]
        [--borough E09000020] [--cell-size 150] [--category-group burglary ...]
        [--harm cchi|ons_css] --out hotspots.geojson

    hotspot-tasking hotspots --method emerging --units grid|wards|lsoas|estates|parks
        [--source incidents|mps] [--weights queen|distance] [--distance-m 1000]
        [--permutations 0] --period 2024-04..2026-03 --out emerging.geojson

``emerging`` (Esri Emerging Hot Spot Analysis, :mod:`spatial.hotspots.emerging`)
runs on monthly counts per unit: grid cells (default), the borough's wards or
LSOAs (incidents attributed at ingest), or the council's estates or parks when
those layers are loaded (``hotspot-tasking layers``).  With ``--source mps``
the RBKC ward (or LSOA) counts come from the stored MPS series, which reach
back to April 2010 (``hotspot-tasking ingest data/mps/*.csv`` first).

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

__all__ = ["UNIT_KINDS", "add_parser", "compute_emerging", "compute_hotspots", "parse_period", "run", "to_geojson"]

Method = Literal["kde", "gistar", "dbscan", "emerging"]
UnitKind = Literal["grid", "wards", "lsoas", "estates", "parks"]
#: Units ``--method emerging`` can run on.
UNIT_KINDS: tuple[str, ...] = ("grid", "wards", "lsoas", "estates", "parks")
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


def _select_incidents(incidents: pd.DataFrame, area: gpd.GeoDataFrame | None, *, months: list[str] | None,
                      category_groups: list[str] | None) -> pd.DataFrame:
    """Incidents in ``months``, of ``category_groups``, with coordinates inside ``area`` (when given)."""
    from .grids import points_xy

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
    if area is not None:
        df = df[np.isfinite(pd.to_numeric(df[X], errors="coerce")) & np.isfinite(pd.to_numeric(df[Y], errors="coerce"))]
        x, y = points_xy(df)
        union = shapely.union_all(np.asarray(area.geometry.values, dtype=object))
        df = df[shapely.contains_xy(union, x, y)]
    df = df.reset_index(drop=True)
    if df.empty:
        msg = "no incidents match the period, area and categories; check `hotspot-tasking status`"
        raise HotspotError(msg)
    return df


def compute_hotspots(incidents: pd.DataFrame, area: gpd.GeoDataFrame, *, method: Method,
                     months: list[str] | None = None, cell_size_m: float = 150.0,
                     category_groups: list[str] | None = None, harm_index: str | None = None,
                     seed: int = 12345) -> gpd.GeoDataFrame:
    """Filter incidents to the area, months and category groups, then run one method (pure).

    Returns the method's hotspot result (grid cells for ``kde``/``gistar``,
    cluster polygons for ``dbscan``) in EPSG:27700, with the filter recorded in
    ``attrs["params"]``.
    """
    from .grids import count_in_cells, square_grid
    from .harm import harm_weight
    from .hotspots import density_clusters, gistar, kde

    df = _select_incidents(incidents, area, months=months, category_groups=category_groups)
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
            msg = (f'method was "{method}" but is expected to be one of ["kde", "gistar", "dbscan"] '
                   '(use compute_emerging for "emerging")')
            raise SchemaError(msg)
    res.attrs["params"].update({"months": months or "all", "category_groups": category_groups or "all",
                                "harm_index": harm_index or "none (counts)", "n_incidents_used": len(df),
                                "sensitive_included": False})
    return res


def compute_emerging(units: gpd.GeoDataFrame, *, unit_kind: UnitKind, months: list[str],
                     incidents: pd.DataFrame | None = None, mps_counts: pd.DataFrame | None = None,
                     area: gpd.GeoDataFrame | None = None, category_groups: list[str] | None = None,
                     harm_index: str | None = None, weights: Literal["queen", "distance"] = "queen",
                     distance_m: float | None = None, permutations: int = 0, seed: int = 12345,
                     alpha: float = 0.05, fdr: bool = True) -> gpd.GeoDataFrame:
    """Emerging hotspots on grid cells or areas, from incidents or the MPS series (pure).

    Parameters
    ----------
    units
        Grid cells (``unit_kind="grid"``) or area polygons, EPSG:27700.
    unit_kind
        One of :data:`UNIT_KINDS`; areas are matched to incidents through the
        columns in :data:`spatial.areas.AREA_KINDS`.
    months
        The ``YYYY-MM`` months of the series, in order.
    incidents
        Canonical incidents (non-sensitive), when counting from incidents.
    mps_counts
        Stored MPS area counts (long form), when ``unit_kind`` is ``wards`` or
        ``lsoas`` and the series should come from the MPS tables instead.
    area
        Borough polygons; grid counts keep only incidents inside them.
    category_groups
        Category groups to keep (taxonomy groups for incidents, MPS groups for
        the series).
    harm_index
        Sum harm weights instead of counting (incidents only).
    weights, distance_m, permutations, seed, alpha, fdr
        Passed to :func:`spatial.hotspots.emerging_hotspots`.

    Returns
    -------
    geopandas.GeoDataFrame
        The emerging-hotspot result; ``attrs["params"]`` adds the source, the
        units, the months and the filters.

    Raises
    ------
    SchemaError
        For an unknown unit kind, both or neither of ``incidents`` and
        ``mps_counts``, harm with the MPS series, or unknown groups.
    """
    from .areas import (
        AREA_KINDS,
        area_period_counts,
        cell_period_counts,
        mps_period_counts,
    )
    from .harm import harm_weight
    from .hotspots.emerging import emerging_hotspots
    from .series import RBKC_LSOA_PRIORITY, RBKC_WARD_PRIORITY, mps_major_table

    if unit_kind not in UNIT_KINDS:
        msg = f'units were "{unit_kind}" but are expected to be one of {list(UNIT_KINDS)}'
        raise SchemaError(msg)
    if (incidents is None) == (mps_counts is None):
        msg = "give exactly one of `incidents` and `mps_counts` as the source of the counts"
        raise SchemaError(msg)
    if mps_counts is not None:
        if unit_kind not in ("wards", "lsoas"):
            msg = f"the MPS series has ward and LSOA counts only, not {unit_kind}; use --source incidents"
            raise SchemaError(msg)
        if harm_index:
            msg = "harm weighting needs incident categories; the MPS series is counted only (drop --harm)"
            raise SchemaError(msg)
        if category_groups:
            known = sorted(set(mps_major_table()["group"]))
            bad = sorted(set(category_groups) - set(known))
            if bad:
                msg = f"unknown MPS category groups {bad}; allowed: {known}"
                raise SchemaError(msg)
        kind = "ward" if unit_kind == "wards" else "lsoa"
        long = mps_counts[mps_counts["area_type"] == kind] if "area_type" in mps_counts.columns else mps_counts
        if long.empty:
            msg = (f"no MPS {kind} series is stored; ingest the MPS tables first "
                   "(hotspot-tasking ingest data/mps/*.csv)")
            raise SchemaError(msg)
        counts = mps_period_counts(long, units, id_col=AREA_KINDS[unit_kind][1],
                                   priority=RBKC_WARD_PRIORITY if kind == "ward" else RBKC_LSOA_PRIORITY,
                                   periods=months, groups=category_groups)
        source = "MPS monthly series"
        n_used = int(counts.to_numpy().sum())
    else:
        df = _select_incidents(incidents, area if unit_kind == "grid" else None, months=months,
                               category_groups=category_groups)
        w = harm_weight(df[CATEGORY], index=harm_index) if harm_index else None  # type: ignore[arg-type]
        if unit_kind == "grid":
            counts = cell_period_counts(df, units, periods=months, weights=w)
        else:
            area_col, id_col = AREA_KINDS[unit_kind]
            counts = area_period_counts(df, units, area_col=area_col, id_col=id_col, periods=months, weights=w)
        source = "incidents (sensitive categories excluded)"
        n_used = len(df)
    res = emerging_hotspots(counts, units, weights=weights, distance_m=distance_m, alpha=alpha,
                            permutations=permutations, seed=seed, fdr=fdr)
    res.attrs["params"].update({"source": source, "units": unit_kind, "months": months,
                                "category_groups": category_groups or "all",
                                "harm_index": harm_index or "none (counts)", "n_incidents_used": n_used,
                                "sensitive_included": False if incidents is not None else "aggregate counts only"})
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
    p = subparsers.add_parser("hotspots", help="compute KDE, Gi*, DBSCAN or emerging hotspots and write GeoJSON for QGIS")
    p.add_argument("--method", choices=["kde", "gistar", "dbscan", "emerging"], required=True)
    p.add_argument("--period", required=True, help="YYYY-MM or YYYY-MM..YYYY-MM")
    p.add_argument("--borough", default="E09000020", help="borough GSS code (default RBKC, E09000020)")
    p.add_argument("--cell-size", type=float, default=150.0, help="grid cell size in metres (default 150)")
    p.add_argument("--category-group", nargs="*", default=None,
                   help="category groups from spatial/data/categories.csv (e.g. burglary theft asb)")
    p.add_argument("--harm", choices=["cchi", "ons_css"], default=None, help="weight incidents by harm")
    p.add_argument("--seed", type=int, default=12345)
    p.add_argument("--units", choices=list(UNIT_KINDS), default="grid",
                   help="emerging: grid cells (default), wards, lsoas, or the stored estates/parks layer")
    p.add_argument("--source", choices=["incidents", "mps"], default="incidents",
                   help="emerging on RBKC wards/lsoas: count stored incidents (default) or use the MPS series")
    p.add_argument("--weights", choices=["queen", "distance"], default="queen",
                   help="emerging: neighbours by queen contiguity (default) or a distance band")
    p.add_argument("--distance-m", type=float, default=None,
                   help="emerging: distance band in metres (default 1.5 cells on grids; needed for areas)")
    p.add_argument("--permutations", type=int, default=0,
                   help="emerging: 0 for analytic Gi* p-values (default) or e.g. 999 permutations")
    p.add_argument("--no-fdr", action="store_true",
                   help="emerging: no Benjamini-Hochberg control per month (few units, e.g. 18 wards, "
                        "rarely survive it)")
    p.add_argument("--out", required=True, help="output .geojson")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Read incidents from the store, compute hotspots and write the GeoJSON; returns 0."""
    from .config import settings_from_args
    from .datasets import load_boroughs
    from .store import connect
    from .store.queries import incident_frame

    settings = settings_from_args(args)
    months = parse_period(args.period)
    area = load_boroughs((args.borough,), data_dir=settings.data_dir)
    if area.empty:
        msg = f"borough {args.borough!r} is not in the bundled boundaries; use one of E09000020, E09000033, E09000013"
        raise SchemaError(msg)
    engine = connect(settings.database_url)
    unit_kind = getattr(args, "units", "grid") or "grid"
    source = getattr(args, "source", "incidents") or "incidents"
    if args.method != "emerging" and (unit_kind != "grid" or source != "incidents"):
        msg = (f"--units {unit_kind} / --source {source} apply to --method emerging; "
               f"{args.method} runs on grid cells from incidents")
        raise SchemaError(msg)
    if args.method == "emerging":
        res = _run_emerging(args, engine, area, months, unit_kind=unit_kind, source=source,
                            data_dir=settings.data_dir)
    else:
        incidents = incident_frame(engine, include_sensitive=False, months=months)
        res = compute_hotspots(incidents, area, method=args.method, months=months, cell_size_m=args.cell_size,
                               category_groups=args.category_group, harm_index=args.harm, seed=args.seed)
    fc = to_geojson(res, extra={"borough": args.borough, "period": args.period})
    Path(args.out).write_text(json.dumps(fc, default=str), encoding="utf-8")
    n_hot = int(res["is_hotspot"].sum())
    print(f"{args.method}: {len(res)} units, {n_hot} hotspots, {fc['params']['n_incidents_used']:,} incidents "
          f"-> {args.out}")
    if args.method == "emerging":
        classes = res["trend_class"].value_counts()
        print("; ".join(f"{c}: {n}" for c, n in classes.items()))
    return 0


def _run_emerging(args: argparse.Namespace, engine: Any, area: gpd.GeoDataFrame, months: list[str], *,
                  unit_kind: str, source: str, data_dir: Path) -> gpd.GeoDataFrame:
    """Load the units and the counts' source for ``--method emerging`` (edge), then compute."""
    from .datasets import RBKC, load_lsoas, load_wards
    from .grids import square_grid
    from .layers import stored_area_layer
    from .store.queries import area_counts, incident_frame

    if unit_kind == "grid":
        units = square_grid(area, cell_size_m=args.cell_size)
    elif unit_kind == "wards":
        units = load_wards((args.borough,), data_dir=data_dir)
    elif unit_kind == "lsoas":
        units = load_lsoas((args.borough,), data_dir=data_dir)
    else:
        units = stored_area_layer(engine, unit_kind)
        if units is None:
            msg = (f"no {unit_kind} layer is loaded; load yours with `hotspot-tasking layers {unit_kind} FILE "
                   "--id-column ID` and re-ingest the incidents so they are attributed to it")
            raise SchemaError(msg)
    if source == "mps":
        if unit_kind not in ("wards", "lsoas") or args.borough != RBKC:
            msg = (f"--source mps needs --units wards or lsoas in RBKC ({RBKC}); got --units {unit_kind} "
                   f"--borough {args.borough}")
            raise SchemaError(msg)
        kind = "ward" if unit_kind == "wards" else "lsoa"
        return compute_emerging(units, unit_kind=unit_kind, months=months, mps_counts=area_counts(engine, area_type=kind),
                                category_groups=args.category_group, harm_index=args.harm,
                                weights=args.weights, distance_m=args.distance_m,
                                permutations=args.permutations, seed=args.seed, fdr=not args.no_fdr)
    incidents = incident_frame(engine, include_sensitive=False, months=months)
    return compute_emerging(units, unit_kind=unit_kind, months=months, incidents=incidents, area=area,
                            category_groups=args.category_group, harm_index=args.harm, weights=args.weights,
                            distance_m=args.distance_m, permutations=args.permutations, seed=args.seed,
                            fdr=not args.no_fdr)
