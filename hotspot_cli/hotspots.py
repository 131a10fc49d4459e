"""``hotspot-tasking hotspots``: compute hotspots for a period and write a GeoPackage or GeoJSON for QGIS.

::

    hotspot-tasking hotspots --method kde|gistar|dbscan|emerging --period 2018-06[..2018-08]
        [--borough E09000020] [--cell-size 150] [--category-group burglary ...]
        [--harm cchi|ons_css] --out hotspots.gpkg|hotspots.geojson

    hotspot-tasking hotspots --method emerging --units grid|wards|lsoas|estates|parks
        [--source incidents|mps] [--weights queen|distance] [--distance-m 1000]
        [--permutations 0] [--space-time] --period 2024-04..2026-03 --out emerging.gpkg

``emerging`` (Esri Emerging Hot Spot Analysis, :mod:`spatial.hotspots.emerging`)
runs on monthly counts per unit: grid cells (default), the borough's wards or
LSOAs (incidents attributed at ingest), or the council's estates or parks when
those layers are loaded (``hotspot-tasking layers``).  With ``--source mps``
the RBKC ward (or LSOA) counts come from the stored MPS series, which reach
back to April 2010 (``hotspot-tasking ingest data/mps/*.csv`` first).

Incidents are read with ``incident_frame(engine, include_sensitive=False)``:
sensitive categories are never mapped.  ``--out`` ending ``.gpkg`` writes a
GeoPackage (EPSG:27700) with the layer (``hot_cells``, ``clusters`` or
``emerging_classes``), the ``run_parameters`` table and a QGIS style in
``layer_styles``; ``.geojson`` writes GeoJSON (EPSG:4326, RFC 7946) with the
run's parameters as ``run_*`` fields and a ``.qml`` style beside it
(:func:`spatial.analysis.export_hotspots`).  Other suffixes are refused with
the list of formats (:func:`tasking.formats.format_for_path`).

The work is done by :mod:`spatial.analysis`; :func:`add_parser` registers the
command in :mod:`hotspot_cli.main` and :func:`run` returns the exit status.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from hotspot_cli.options import (
    add_area_option,
    add_audit_options,
    add_district_option,
    audit_file,
    open_context,
)
from spatial._errors import SchemaError
from spatial.analysis import (
    HOTSPOT_METHODS,
    UNIT_KINDS,
    compute_emerging,
    compute_hotspots,
    export_hotspots,
    parse_period,
    period_gap_note,
)

if TYPE_CHECKING:
    import geopandas as gpd

    from tasking.context import AreaContext

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``hotspots`` sub-command."""
    p = subparsers.add_parser("hotspots", help="compute KDE, Gi*, DBSCAN or emerging hotspots and write GeoJSON for QGIS")
    p.add_argument("--method", choices=[*HOTSPOT_METHODS, "emerging"], required=True)
    p.add_argument("--period", required=True, help="YYYY-MM or YYYY-MM..YYYY-MM")
    add_area_option(p)
    add_district_option(p, what="the map")
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
    p.add_argument("--space-time", action="store_true",
                   help="emerging: Gi* over each unit's neighbours in this and the previous month (as ArcGIS "
                        "Emerging Hot Spot Analysis and sfdep); default spatial neighbours only")
    p.add_argument("--out", required=True, help="output .gpkg (GeoPackage, EPSG:27700) or .geojson (EPSG:4326); "
                   "recorded in the export audit")
    add_audit_options(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Read incidents from the store, compute hotspots and write the GeoJSON; returns 0."""
    from spatial.store.queries import incident_frame
    from tasking.formats import format_for_path

    fmt = format_for_path(args.out, allowed=("gpkg", "geojson"))  # refused before any work
    months = parse_period(args.period)
    ctx, _settings = open_context(args)
    engine = ctx.engine
    area = ctx.outline
    gap = period_gap_note(months, _held_months(ctx))
    if gap:
        print(f"warning: {gap}", file=sys.stderr)
    unit_kind = getattr(args, "units", "grid") or "grid"
    source = getattr(args, "source", "incidents") or "incidents"
    if args.method != "emerging" and (unit_kind != "grid" or source != "incidents"):
        msg = (f"--units {unit_kind} / --source {source} apply to --method emerging; "
               f"{args.method} runs on grid cells from incidents")
        raise SchemaError(msg)
    if args.method == "emerging":
        res = _run_emerging(args, ctx, months, unit_kind=unit_kind, source=source)
    else:
        incidents = incident_frame(engine, include_sensitive=False, months=months)
        res = compute_hotspots(incidents, area, method=args.method, months=months, cell_size_m=args.cell_size,
                               category_groups=args.category_group, harm_index=args.harm, seed=args.seed)
    res.attrs["params"] = {**res.attrs.get("params", {}), "area_name": ctx.name, "districts": list(ctx.districts)}
    counts = export_hotspots(res, args.out, period=args.period, area=ctx.key)
    n_hot = int(res["is_hotspot"].sum())
    print(f"{args.method}: {len(res)} units, {n_hot} hotspots, {res.attrs['params']['n_incidents_used']:,} incidents "
          f"-> {args.out}")
    # the MPS ward counts are of every offence group, so they can hold sensitive ones (aggregated)
    audit_file(engine, args, args.out, kind="gpkg" if fmt == "gpkg" else "geojson", row_counts=counts,
               sensitive_aggregates=source == "mps")
    if args.method == "emerging":
        classes = res["trend_class"].value_counts()
        print("; ".join(f"{c}: {n}" for c, n in classes.items()))
    return 0


def _held_months(ctx: AreaContext) -> set[str]:
    """The months the store holds non-sensitive incidents of (what hotspots use) in the scope's wards."""
    from spatial.store.queries import months_available

    return set(months_available(ctx.engine, include_sensitive=False,
                                ward_codes=[str(c) for c in ctx.wards["ward_code"]]))


def _run_emerging(args: argparse.Namespace, ctx: AreaContext, months: list[str], *,
                  unit_kind: str, source: str) -> gpd.GeoDataFrame:
    """Load the units and the counts' source for ``--method emerging`` (edge), then compute."""
    from spatial.datasets import RBKC
    from spatial.grids import square_grid
    from spatial.layers import stored_area_layer
    from spatial.store.queries import area_counts, incident_frame

    engine, area = ctx.engine, ctx.outline
    if unit_kind == "grid":
        units = square_grid(area, cell_size_m=args.cell_size)
    elif unit_kind == "wards":
        units = ctx.wards
    elif unit_kind == "lsoas":
        units = ctx.lsoas
    else:
        units = stored_area_layer(engine, unit_kind)
        if units is None:
            msg = (f"no {unit_kind} layer is loaded; load yours with `hotspot-tasking layers {unit_kind} FILE "
                   "--id-column ID` and re-ingest the incidents so they are attributed to it")
            raise SchemaError(msg)
    if source == "mps":
        if unit_kind not in ("wards", "lsoas") or ctx.districts != (RBKC,):
            msg = (f"--source mps needs --units wards or lsoas in RBKC ({RBKC}); got --units {unit_kind} "
                   f"in {', '.join(ctx.districts)} (area {ctx.name})")
            raise SchemaError(msg)
        kind = "ward" if unit_kind == "wards" else "lsoa"
        return compute_emerging(units, unit_kind=unit_kind, months=months, mps_counts=area_counts(engine, area_type=kind),
                                category_groups=args.category_group, harm_index=args.harm,
                                weights=args.weights, distance_m=args.distance_m,
                                permutations=args.permutations, seed=args.seed, fdr=not args.no_fdr,
                                space_time=bool(getattr(args, "space_time", False)))
    incidents = incident_frame(engine, include_sensitive=False, months=months)
    return compute_emerging(units, unit_kind=unit_kind, months=months, incidents=incidents, area=area,
                            category_groups=args.category_group, harm_index=args.harm, weights=args.weights,
                            distance_m=args.distance_m, permutations=args.permutations, seed=args.seed,
                            fdr=not args.no_fdr, space_time=bool(getattr(args, "space_time", False)))
