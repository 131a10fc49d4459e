"""``hotspot-tasking batch``: the per-borough (or per-force) batch pipeline on Dask over a GeoParquet store.

::

    hotspot-tasking batch --store DIR --out OUT [--units boroughs.gpkg --unit-column gss_code]
        [--period 2017-07..2018-06] [--force metropolitan] [--scheduler tcp://host:8786 | --workers 2
        --memory-limit 3GB] [--cell-size 150] [--forecast auto|none|...] [--permutations 0]

Writes ``OUT/unit=<code>.parquet`` (GeoParquet cells: counts, Gi* per month,
emerging classes, forecast) and ``OUT/summary.csv``.  Units default to the
bundled demo boroughs; give ``--units`` (e.g. ``../shared/data/boundaries/
london_boroughs.gpkg --unit-column gss_code``) for London, or force areas
for a national run.  Sensitive categories are left out (:mod:`spatial.distributed`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hotspot_cli.options import add_area_option
from spatial._errors import HotspotError

__all__ = ["COMMANDS", "add_parser", "run"]

#: The command :func:`add_parser` registers and its one-line help (listed without importing the forecasters).
COMMANDS = {"batch": "grid counts, Gi*, emerging hotspots and forecast per borough/force on "
                     "Dask over a GeoParquet store (ingest --parquet)"}


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``batch`` sub-command."""
    from spatial.forecast import FORECASTERS

    p = subparsers.add_parser("batch", help=COMMANDS["batch"])
    p.add_argument("--store", required=True, help="partitioned GeoParquet store folder")
    p.add_argument("--out", required=True, help="output folder (unit=<code>.parquet, summary.csv)")
    p.add_argument("--units", help="unit polygons (GeoPackage/GeoJSON); default: the bundled demo boroughs")
    p.add_argument("--unit-column", default="borough_code", help="code column of --units (default borough_code)")
    add_area_option(p)
    p.add_argument("--period", help="YYYY-MM or YYYY-MM..YYYY-MM (default: every month in the store)")
    p.add_argument("--force", nargs="*", help="only these force partitions")
    p.add_argument("--scheduler", help="address of a running Dask scheduler (default: start a local cluster)")
    p.add_argument("--workers", type=int, default=2, help="local cluster: worker processes (default 2)")
    p.add_argument("--memory-limit", default="3GB", help="local cluster: memory limit per worker (default 3GB)")
    p.add_argument("--cell-size", type=float, default=150.0, help="grid cell size in metres (default 150)")
    p.add_argument("--forecast", default="auto", choices=["none", *sorted(FORECASTERS)],
                   help="forecaster for next month (default auto: chosen per area by backtest; none to skip)")
    p.add_argument("--permutations", type=int, default=0, help="Gi*: 0 analytic (default) or e.g. 999")
    p.set_defaults(func=run)
    return p


def _units(args: argparse.Namespace):
    import geopandas as gpd

    if not args.units and getattr(args, "area", None):
        from hotspot_cli.options import open_context

        ctx, _settings = open_context(args)
        return ctx.layers.districts, "borough_code"
    if not args.units:
        from spatial.datasets import load_boroughs

        return load_boroughs(data_dir=Path(args.data_dir) if args.data_dir else None), "borough_code"
    try:
        gdf = gpd.read_file(args.units)
    except Exception as exc:  # pyogrio's DataSourceError and friends
        msg = f"cannot read the units file {args.units}: {exc}"
        raise HotspotError(msg) from exc
    if args.unit_column not in gdf.columns:
        msg = f"units file {args.units} has no column {args.unit_column!r}; it has {list(gdf.columns)[:20]} (--unit-column)"
        raise HotspotError(msg)
    if gdf.crs is None:
        msg = f"units file {args.units} has no coordinate system; save it with EPSG:27700"
        raise HotspotError(msg)
    return gdf.to_crs(27700), args.unit_column


def run(args: argparse.Namespace) -> int:
    """Run the pipeline and write the results; returns 0."""
    from spatial.analysis import parse_period
    from spatial.distributed import BatchConfig, make_client, run_batch, write_results

    store = Path(args.store)
    if not (store / "_ingest.sqlite").exists():
        msg = (f"{store} is not a parquet store (no _ingest.sqlite); create it with "
               f"hotspot-tasking ingest PATH --parquet {store}")
        raise HotspotError(msg)
    units, col = _units(args)
    months = parse_period(args.period) if args.period else None
    config = BatchConfig(cell_size_m=args.cell_size, permutations=args.permutations, forecast_method=args.forecast)
    client = make_client(scheduler=args.scheduler, n_workers=args.workers, memory_limit=args.memory_limit)
    try:
        where = args.scheduler or f"local cluster, {args.workers} worker(s) x {args.memory_limit}"
        print(f"Dask: {where}", file=sys.stderr)
        res = run_batch(client, store, units, code_column=col, months=months, forces=args.force, config=config)
    finally:
        cluster = getattr(client, "cluster", None)
        client.close()
        if cluster is not None and not args.scheduler:
            cluster.close()
    summary = write_results(res.results, args.out)
    print(summary.to_string(index=False))
    s = res.seconds
    print(f"\n{res.rows_read:,} incidents in {len(res.months)} months ({res.months[0]}..{res.months[-1]}), "
          f"{res.tasks} map tasks, {len(res.results)} units: {s['total']:.1f} s "
          f"(plan {s['plan']:.1f}, count {s['count']:.1f}, analyse {s['analyse']:.1f}); "
          f"{res.rows_read / max(s['total'], 1e-9):,.0f} rows/s. Written to {args.out}")
    return 0
