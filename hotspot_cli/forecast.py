"""``hotspot-tasking forecast`` and ``hotspot-tasking evaluate`` (the benchmark contract).

``forecast --train TRAIN_CSV --grid GRID_CSV --out OUT_CSV [--method NAME]``
    TRAIN_CSV is police.uk street-level data (bulk download columns ``Crime ID,
    Month, Reported by, Falls within, Longitude, Latitude, Location, LSOA code,
    LSOA name, Crime type, Last outcome category, Context``) of any force, or the
    flattened police.uk API CSV.  GRID_CSV has ``cell_id,x_min,y_min,x_max,y_max``
    in EPSG:27700 metres.  OUT_CSV receives ``cell_id,score`` for every grid cell
    (higher is riskier), forecasting the month after the last month in TRAIN_CSV.
    Proactive categories (drugs, possession of weapons) are left out of the target
    unless ``--include-proactive`` is given.

``evaluate [--data PATH ...] [--cell-size 150]``
    Rolling-origin backtest (hit rate, PAI, PEI at 1/5/10/20 % of area) of every
    forecaster per category group on police.uk files (default: the bundled
    Westminster + Hammersmith & Fulham API extract), printed as a markdown table.

``evaluate --wards [--max-origins 24]``
    The same backtest on the 18 RBKC wards x months of the stored MPS series
    (2010-04 onwards; ingest ``data/mps/*.csv`` first), at 5/10/20 % of the
    borough's area, ranking wards by forecast incidents per unit area
    (:mod:`spatial.area_forecast`).

This module is an *edge*: it parses arguments and prints.  The readers and backtests live in
:mod:`spatial.backtest`, the arithmetic in :mod:`spatial.forecast` and :mod:`spatial.evaluation`.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from spatial import schema as S
from spatial._errors import HotspotError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["COMMANDS", "add_parsers", "run_evaluate", "run_forecast", "run_ward_evaluate"]

#: The commands :func:`add_parsers` registers, with their one-line help (``hotspot-tasking --help``
#: lists them without importing the forecasters).
COMMANDS = {"forecast": "forecast next month's risk per grid cell (benchmark contract)",
            "evaluate": "rolling-origin backtest table (hit rate, PAI, PEI)"}

# --------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------
def run_forecast(args: argparse.Namespace) -> int:
    """Run ``forecast``: read TRAIN_CSV and GRID_CSV, write OUT_CSV. Returns the exit status."""
    import pandas as pd

    from spatial.backtest import read_grid, read_training_points
    from spatial.forecast import forecast, monthly_counts

    try:
        grid = read_grid(args.grid)
        points, read, quarantined = read_training_points(args.train, grid)
        units = pd.Index(grid["cell_id"].to_numpy(dtype=object))
        counts = monthly_counts(points, units, exclude_proactive=not getattr(args, "include_proactive", False))
        centres = ((grid["x_min"].to_numpy() + grid["x_max"].to_numpy()) / 2,
                   (grid["y_min"].to_numpy() + grid["y_max"].to_numpy()) / 2)
        scores = forecast(counts, centres=centres, method=args.method)
    except HotspotError as exc:
        print(f"hotspot-tasking forecast: {exc}", file=sys.stderr)
        return 2
    out = pd.DataFrame({"cell_id": units, "score": scores.to_numpy()})
    out_path = Path(args.out)
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        from spatial.csv_safe import to_csv

        to_csv(out, out_path, index=False, quoting=csv.QUOTE_MINIMAL, float_format="%.10g")
    except OSError as exc:
        print(f"hotspot-tasking forecast: {out_path}: cannot write ({exc})", file=sys.stderr)
        return 2
    excl = ", ".join(counts.attrs["excluded_categories"]) or "none"
    method, why = args.method, ""
    if "choice" in scores.attrs:
        from spatial.forecast_select import describe_choice

        method = f"{args.method} ({scores.attrs['choice']['method']})"
        why = "\n" + describe_choice(scores.attrs["choice"])
    print(f"forecast {scores.attrs.get('target_period')} with {method}: {len(out)} cells from "
          f"{counts.attrs['incidents_counted']} incidents over {counts.shape[1]} month(s) "
          f"({read} rows read, {quarantined} quarantined); excluded categories: {excl}; wrote {out_path}{why}",
          file=sys.stderr)
    return 0


def run_ward_evaluate(args: argparse.Namespace) -> int:
    """Run ``evaluate --wards``: backtest the forecasters on RBKC wards from the stored MPS series."""
    from spatial.area_forecast import WARD_COVERAGES, ward_backtest_groups
    from spatial.backtest import markdown_table, winners_at
    from spatial.config import settings_from_args
    from spatial.datasets import RBKC, load_wards
    from spatial.store import connect
    from spatial.store.queries import area_counts

    settings = settings_from_args(args)
    t0 = time.perf_counter()
    try:
        long = area_counts(connect(settings.database_url), area_type="ward")
        if long.empty:
            msg = ("no MPS ward series is stored; ingest it first: hotspot-tasking ingest data/mps/*.csv "
                   "(or --bundled)")
            raise HotspotError(msg)
        wards = load_wards((RBKC,), data_dir=settings.data_dir)
        max_origins = getattr(args, "max_origins", None) or 24
        min_train = max(int(args.min_train), 24)
        res = ward_backtest_groups(long, wards, methods=args.methods or None, coverages=WARD_COVERAGES,
                                   min_train=min_train, max_origins=max_origins)
    except HotspotError as exc:
        print(f"hotspot-tasking evaluate: {exc}", file=sys.stderr)
        return 2
    secs = time.perf_counter() - t0
    targets = sorted(res["target"].unique())
    print(f"Rolling-origin backtest on {len(wards)} RBKC wards (MPS monthly series, proactive categories "
          f"excluded): targets {targets[0]}..{targets[-1]} ({len(targets)} origins), coverage by share of the "
          f"borough's area, wards ranked by forecast incidents per unit area; mean over origins ({secs:.1f} s)\n")
    print(markdown_table(res))
    sel = (res.groupby("coverage")[["units", "area_share"]].mean().reset_index())
    print("\nWards selected on average: " + "; ".join(
        f"{c * 100:g} % -> {u:.2f} wards ({a * 100:.1f} % of area)" for c, u, a in sel.itertuples(index=False)))
    empty = res[res["units"] == 0]
    if not empty.empty:
        print(f"{len(empty)} of {len(res)} rows selected no ward (the top-ranked ward alone exceeds the "
              "budget): hit rate 0, PAI and PEI undefined there")
    print("\nChosen method vs best baseline, hit rate at 5 % of area:\n")
    print(winners_at(res).to_markdown(index=False, floatfmt=".3f") if _has_tabulate() else
          winners_at(res).to_string(index=False))
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    """Run ``evaluate``: backtest every forecaster per category group and print the table."""
    if getattr(args, "wards", False):
        return run_ward_evaluate(args)
    if getattr(args, "area", None) and not args.data:
        return _run_area_evaluate(args)
    from spatial.backtest import (
        backtest_groups,
        borough_boundary,
        default_backtest_data,
        read_policeuk_quick,
        square_grid,
    )

    paths: list[Path] = []
    for d in (args.data or []):
        p = Path(d)
        paths += sorted(q for q in p.iterdir() if q.name.endswith((".csv", ".csv.gz"))) if p.is_dir() else [p]
    if not paths:
        paths = default_backtest_data()
    if not paths:
        print("hotspot-tasking evaluate: no police.uk files found; give --data PATH", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    try:
        pts = read_policeuk_quick(paths)
        from spatial.config import default_data_dir
        boundary_path = (Path(args.boundary) if getattr(args, "boundary", None)
                         else default_data_dir() / "boundaries" / "boroughs.gpkg")
        boundary = borough_boundary(pts[S.X].to_numpy(), pts[S.Y].to_numpy(), boundary_path)
        grid = square_grid(pts[S.X].to_numpy(), pts[S.Y].to_numpy(), cell_size_m=args.cell_size, boundary=boundary)
        res = backtest_groups(pts, grid, cell_size_m=args.cell_size, min_train=args.min_train,
                              methods=args.methods or None)
    except HotspotError as exc:
        print(f"hotspot-tasking evaluate: {exc}", file=sys.stderr)
        return 2
    secs = time.perf_counter() - t0
    months = sorted(pts[S.MONTH].unique())
    print(f"Rolling-origin backtest: {len(paths)} file(s), {len(pts)} incidents, months {months[0]}..{months[-1]}, "
          f"{len(grid)} cells of {args.cell_size:g} m{' inside the boroughs' if boundary is not None else ''}, "
          f"min_train {args.min_train} -> {len(res['target'].unique())} origins; proactive categories excluded; "
          f"mean over origins ({secs:.1f} s)\n")
    _print_backtest(res)
    return 0


def _run_area_evaluate(args: argparse.Namespace) -> int:
    """Run ``evaluate --area NAME``: the backtest on the area's stored incidents (aggregate scores only), grid inside its outline."""
    import numpy as np
    import pandas as pd

    from hotspot_cli.options import open_context
    from spatial.backtest import backtest_groups, square_grid

    t0 = time.perf_counter()
    try:
        from spatial.backtest import groups_from_taxonomy
        from spatial.store.queries import incident_frame

        ctx, _settings = open_context(args)
        # every category, as ``evaluate --data`` reads the files: the backtest prints aggregate scores only
        inc = incident_frame(ctx.engine, include_sensitive=True)
        inc = inc[inc[S.WARD_CODE].isin(ctx.wards["ward_code"])]
        if inc.empty:
            msg = (f"the store has no incidents in area {ctx.name}; ingest them first: "
                   f"hotspot-tasking ingest --area {ctx.name} FILES")
            raise HotspotError(msg)
        pts = pd.DataFrame({S.X: inc[S.X].to_numpy(float), S.Y: inc[S.Y].to_numpy(float),
                            S.MONTH: inc[S.MONTH].astype(str).to_numpy(), S.CATEGORY: inc[S.CATEGORY].to_numpy(),
                            S.PROACTIVE: inc[S.PROACTIVE].astype(bool).to_numpy()})
        import shapely

        boundary = shapely.union_all(np.asarray(ctx.outline.geometry.values, dtype=object))
        grid = square_grid(pts[S.X].to_numpy(), pts[S.Y].to_numpy(), cell_size_m=args.cell_size, boundary=boundary)
        present = set(pts[S.CATEGORY])
        groups = {g: cats for g, cats in groups_from_taxonomy().items() if cats is None or present & set(cats)}
        res = backtest_groups(pts, grid, cell_size_m=args.cell_size, min_train=args.min_train,
                              methods=args.methods or None, groups=groups)
    except HotspotError as exc:
        print(f"hotspot-tasking evaluate: {exc}", file=sys.stderr)
        return 2
    secs = time.perf_counter() - t0
    months = sorted(pts[S.MONTH].unique())
    print(f"Rolling-origin backtest on area {ctx.name} ({ctx.label}): {len(pts)} stored incidents, "
          f"months {months[0]}..{months[-1]}, {len(grid)} cells of {args.cell_size:g} m inside the area, "
          f"min_train {args.min_train} -> {len(res['target'].unique())} origins; proactive categories excluded; "
          f"mean over origins ({secs:.1f} s)\n")
    _print_backtest(res)
    return 0


def _print_backtest(res: pd.DataFrame) -> None:
    """The backtest table and the chosen method against the best baseline (every ``evaluate`` variant)."""
    from spatial.backtest import markdown_table, winners_at

    print(markdown_table(res))
    print("\nChosen method vs best baseline, hit rate at 5 % of area:\n")
    print(winners_at(res).to_markdown(index=False, floatfmt=".3f") if _has_tabulate() else
          winners_at(res).to_string(index=False))


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    """Register ``forecast`` and ``evaluate`` on a ``hotspot-tasking`` sub-parser set."""
    from spatial.forecast import DEFAULT_METHOD, FORECASTERS  # the --method choices (numpy, pandas, scipy)

    f = subparsers.add_parser("forecast", help=COMMANDS["forecast"],
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    f.add_argument("--train", required=True, help="police.uk street-level (or API) CSV of past incidents")
    f.add_argument("--grid", required=True, help="CSV with cell_id,x_min,y_min,x_max,y_max in EPSG:27700")
    f.add_argument("--out", required=True, help="output CSV: cell_id,score for every grid cell")
    f.add_argument("--method", default=DEFAULT_METHOD, choices=sorted(FORECASTERS),
                   help=f"forecaster (default {DEFAULT_METHOD}: chosen by a rolling-origin backtest on the "
                        "training file itself, see spatial.forecast_select)")
    f.add_argument("--include-proactive", action="store_true",
                   help="keep drugs and possession-of-weapons in the target (excluded by default)")
    f.set_defaults(func=run_forecast)
    e = subparsers.add_parser("evaluate", help=COMMANDS["evaluate"])
    e.add_argument("--data", nargs="*", help="police.uk CSV files or folders (default: bundled neighbours extract)")
    e.add_argument("--cell-size", type=float, default=150.0, help="grid cell size in metres (default 150)")
    e.add_argument("--min-train", type=int, default=6, help="months of history before the first origin")
    e.add_argument("--boundary", help="polygon layer (e.g. boroughs) to clip the grid to")
    e.add_argument("--methods", nargs="*", choices=sorted(FORECASTERS), help="forecasters to compare (default all)")
    e.add_argument("--wards", action="store_true",
                   help="backtest on the 18 RBKC wards from the stored MPS series instead of a grid")
    e.add_argument("--max-origins", type=int, default=None,
                   help="with --wards: keep only the last N origins (default 24)")
    e.add_argument("--area", metavar="NAME",
                   help="backtest on this area's stored incidents (without --data), grid inside its outline")
    e.add_argument("--borough", "--district", dest="borough", metavar="CODE", default=None,
                   help="with --area: narrow to one district of the area")
    e.set_defaults(func=run_evaluate)


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry point (``python -m hotspot_cli.forecast forecast ...``)."""
    parser = argparse.ArgumentParser(prog="hotspot-tasking")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parsers(sub)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
