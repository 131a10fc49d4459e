"""``hotspot-tasking recommend``: Designing Out Crime measures for every hotspot, with evidence.

::

    hotspot-tasking recommend [--method kde|gistar|dbscan] [--months 12] [--borough E09000020]
        [--plan plan.json] [--top 3] [--trends] [--include-sensitive]
        [--hotspot-share 0.05] [--cell-size 150] [--harm cchi|ons_css]
        [--out recommendations.geojson | recommendations.gpkg | recommendations.csv]

Hotspots are computed from the store exactly as ``allocate`` does (harm-weighted
KDE or Gi* on a grid, or DBSCAN clusters, on the latest ``--months`` months with
real coverage, non-sensitive incidents only) and turned into the same candidate
places (:func:`tasking.candidates.build_candidates`: street patches, estates and
parks with incidents), so the ids match the allocation plan.  With ``--plan`` the
hotspot method, share, cell size, harm index, borough and months come from the
plan and only its candidates are advised on.  ``--trends`` adds emerging-hotspot
classes (Gi* per month and Mann-Kendall; needs 4 or more months).

Each place gets ranked measures from ``tasking/data/design_out_rules.csv``
(:mod:`tasking.design_out`), each with its CPTED principle, evidence, sources
and a sentence saying why it fits this place.  ``--include-sensitive`` adds
sensitive categories to the category mix of the same places (never to the
hotspot search), with counts under 5 shown as "fewer than 5".

``--out`` ending ``.geojson`` (or ``.json``) writes one feature per place with
its recommendations as properties (EPSG:4326) and the run's parameters as
``run_*`` fields; ``.gpkg`` writes the ``advice`` layer (EPSG:27700) with a
``run_parameters`` table (:mod:`spatial.gis_export`); ``incidents`` is the
non-sensitive count (an integer) and ``incidents_shown`` the on-screen text;
``.csv`` writes one row per (place, recommendation).  The summary is printed
either way; any other suffix is refused with the list of formats.

The pipeline is :func:`tasking.pipeline.build_recommendations`; :func:`add_parser`
registers the command in :mod:`hotspot_cli.main` and :func:`run` returns the exit status.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hotspot_cli.options import (
    add_area_option,
    add_audit_options,
    add_district_option,
    audit_file,
    hotspot_methods,
)
from spatial.schema import MONTH, SENSITIVE, WARD_CODE
from tasking._errors import TaskingError

if TYPE_CHECKING:  # the heavy modules load only when the command runs (fast --help and argument errors)
    import geopandas as gpd
    import pandas as pd

__all__ = ["add_parser", "read_plan", "run"]

def read_plan(path: str | Path) -> dict[str, Any]:
    """Read an ``allocate`` plan JSON and check the parts ``recommend`` needs.

    Returns
    -------
    dict
        ``method``, ``hotspot_share``, ``cell_size_m``, ``harm_index``,
        ``months``, ``borough`` (or None), ``area`` (or None: plans made before areas) and ``candidate_ids``.

    Raises
    ------
    TaskingError
        If the file is missing, not JSON, or lacks a key; the message names
        the file and the key.
    """
    p = Path(path)
    if not p.exists():
        msg = f"--plan {str(p)!r} not found; pass the JSON written by `hotspot-tasking allocate --out`"
        raise TaskingError(msg)
    try:
        plan = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        msg = f"--plan {str(p)!r} is not valid JSON ({exc}); pass the file written by `allocate --out`"
        raise TaskingError(msg) from exc
    inputs = plan.get("inputs") if isinstance(plan, dict) else None
    cands = plan.get("candidates") if isinstance(plan, dict) else None
    if not isinstance(inputs, dict) or not isinstance(cands, list):
        msg = f"--plan {str(p)!r} has no 'inputs' object or 'candidates' list; is it an allocate plan?"
        raise TaskingError(msg)
    for key in ("hotspot_method", "months"):
        if key not in inputs:
            msg = f"--plan {str(p)!r}: inputs.{key} is missing; re-run allocate to write a complete plan"
            raise TaskingError(msg)
    method = inputs["hotspot_method"]
    methods = hotspot_methods()  # tasking.pipeline.RECOMMEND_METHODS: every hotspot method
    if method not in methods:
        msg = f"--plan {str(p)!r}: inputs.hotspot_method was {method!r}; expected {', '.join(methods[:-1])} or {methods[-1]}"
        raise TaskingError(msg)
    ids = [str(c["candidate_id"]) for c in cands if isinstance(c, dict) and "candidate_id" in c]
    if len(ids) != len(cands):
        msg = f"--plan {str(p)!r}: every entry of 'candidates' needs a candidate_id"
        raise TaskingError(msg)
    from tasking.plan import Plan

    typed = Plan.coerce(plan)
    return {"method": method, "hotspot_share": float(typed.inputs.get("hotspot_share", 0.05)),
            "cell_size_m": float(typed.cell_size_m), "harm_index": str(typed.harm_index),
            "months": [str(m) for m in typed.inputs["months"]], "borough": typed.borough,
            "area": typed.inputs.get("area"), "candidate_ids": ids}


# ----------------------------------------------------------------------------
# edge: files, database, printing
# ----------------------------------------------------------------------------
def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``recommend`` sub-command."""
    p = subparsers.add_parser("recommend", help="Designing Out Crime measures for every hotspot, with evidence")
    p.add_argument("--method", choices=hotspot_methods(), default="kde",
                   help="hotspot method (default kde, as allocate)")
    p.add_argument("--months", type=int, default=12,
                   help="latest months with real coverage to use (default 12; design changes are for lasting problems)")
    add_area_option(p)
    add_district_option(p, what="the advice")
    p.add_argument("--plan", help="allocate plan JSON: advise on its candidates with its hotspot settings and months")
    p.add_argument("--top", type=int, default=3, help="measures per hotspot (default 3)")
    p.add_argument("--out", help="write .geojson / .gpkg (one feature per hotspot) or .csv (one row per "
                   "recommendation); recorded in the export audit")
    add_audit_options(p)
    p.add_argument("--hotspot-share", type=float, default=0.05, help="KDE hotspots: densest share of the area (default 0.05)")
    p.add_argument("--cell-size", type=float, default=150.0, help="grid cell size in metres (default 150)")
    p.add_argument("--harm", choices=["cchi", "ons_css"], default="cchi", help="harm index (default cchi)")
    p.add_argument("--trends", action="store_true", help="add emerging-hotspot trend classes (4+ months)")
    p.add_argument("--include-sensitive", action="store_true",
                   help="add sensitive categories to each hotspot's mix (aggregated, counts under 5 shown as 'fewer than 5')")
    p.set_defaults(func=run)
    return p


def _out_kind(out: str | None) -> str | None:
    if out is None:
        return None
    from tasking.formats import format_for_path

    return format_for_path(out, allowed=("geojson", "gpkg", "csv"))


def _write_gis(table: gpd.GeoDataFrame, out: str, extra: dict[str, Any], *, method: str) -> None:
    """The advice layer through pyogrio: GeoPackage (EPSG:27700) or GeoJSON (EPSG:4326), run parameters as fields."""
    from spatial.gis_export import run_parameters, write_gis
    from tasking.pack import advice_layer

    months = [str(m) for m in extra.get("months") or []]
    period = f"{months[0]}..{months[-1]}" if len(months) > 1 else (months[0] if months else "")
    params = {**table.attrs.get("params", {}), **{k: v for k, v in extra.items() if k not in ("borough",)}}
    run = run_parameters(params, method=method, period=period, area=str(extra.get("borough") or ""))
    write_gis(out, {"advice": advice_layer(table)}, params=run)


def run(args: argparse.Namespace) -> int:
    """Read the store, advise on every hotspot, write the file and print a summary; returns 0."""
    from spatial.config import settings_from_args
    from spatial.store import connect
    from spatial.store.queries import incident_frame
    from tasking.context import open_area
    from tasking.pipeline import build_recommendations, coverage_months, read_estates, read_parks

    kind = _out_kind(args.out)
    if args.top < 1:
        msg = f"--top was {args.top}; give 1 or more measures per hotspot"
        raise TaskingError(msg)
    settings = settings_from_args(args)
    plan = read_plan(args.plan) if args.plan else None
    plan_key = (plan or {}).get("borough")
    if plan and plan_key and args.borough and args.borough != plan_key:
        msg = f"--borough {args.borough} differs from the plan's borough {plan_key}; drop --borough"
        raise TaskingError(msg)
    if plan and plan.get("area") and args.area and args.area != plan["area"]:
        msg = f"--area {args.area} differs from the plan's area {plan['area']}; drop --area"
        raise TaskingError(msg)
    engine = connect(settings.database_url)
    ctx = open_area(engine, args.area or (plan or {}).get("area"), settings.data_dir)
    district = args.borough or (plan_key if plan_key in ctx.profile.district_codes else None)
    try:
        ctx = ctx.narrow(district)
    except TaskingError as exc:
        raise TaskingError(f"--{exc}") from None
    borough, wards, area = ctx.key, ctx.wards, ctx.outline
    every = incident_frame(engine, include_sensitive=bool(args.include_sensitive))
    every = every[every[WARD_CODE].isin(wards["ward_code"])]
    sens = every[SENSITIVE].astype(bool)
    incidents = every[~sens]
    if incidents.empty:
        msg = (f"the store has no non-sensitive incidents in {ctx.label} ({borough}); "
               "run `hotspot-tasking ingest --bundled` first (or ingest your own data)")
        raise TaskingError(msg)
    months = plan["months"] if plan else coverage_months(incidents, args.months)
    incidents = incidents[incidents[MONTH].astype(str).isin(months)].reset_index(drop=True)
    if incidents.empty:
        msg = f"--plan {args.plan!r}: the store has no incidents in the plan's months {months}"
        raise TaskingError(msg)
    sensitive = every[sens & every[MONTH].astype(str).isin(months)].reset_index(drop=True) \
        if args.include_sensitive else None
    parks, parks_note = read_parks(engine, area, settings.data_dir)
    estates, _ = read_estates(engine)
    method = plan["method"] if plan else args.method
    t0 = time.perf_counter()
    table, ranked, notes = build_recommendations(
        incidents, area=area, wards=wards, parks=parks, estates=estates, method=method,
        hotspot_share=plan["hotspot_share"] if plan else args.hotspot_share,
        cell_size_m=plan["cell_size_m"] if plan else args.cell_size,
        harm_index=plan["harm_index"] if plan else args.harm, top_k=args.top, trends=args.trends, months=months,
        candidate_ids=plan["candidate_ids"] if plan else None, sensitive_incidents=sensitive)
    seconds = time.perf_counter() - t0
    notes.append(f"parks: {parks_note}")
    notes.append("estates: council estates layer (stored)" if estates is not None else
                 "estates: none loaded (council data; `hotspot-tasking layers estates FILE ...`), so estates are "
                 "recognised only from location names")
    notes.append("each measure is a prompt for a site survey with a Designing Out Crime Officer, not a specification")
    extra = {"borough": borough, "area": ctx.name, "districts": list(ctx.districts), "months": months, "plan": args.plan, "n_incidents": len(incidents),
             "notes": notes}
    if kind in ("geojson", "gpkg"):
        _write_gis(table, args.out, extra, method=method)
    elif kind == "csv":
        from spatial.csv_safe import to_csv
        from tasking.names import ward_name_map
        from tasking.pipeline import advice_export_table

        to_csv(advice_export_table(ranked, ward_names=ward_name_map(wards)), args.out, index=False)
    _print_summary(table, ranked, months=months, n_incidents=len(incidents), method=method, notes=notes,
                   out=args.out, seconds=seconds, sensitive=bool(args.include_sensitive))
    if kind is not None:
        counts = {"places": len(table), "recommendations": len(ranked)} if kind == "csv" else {"advice": len(table)}
        audit_file(engine, args, args.out, kind="csv" if kind == "csv" else "gpkg" if kind == "gpkg" else "geojson",
                   row_counts=counts, sensitive_aggregates=bool(args.include_sensitive))
    return 0


def _print_summary(table: gpd.GeoDataFrame, ranked: pd.DataFrame, *, months: Sequence[str], n_incidents: int,
                   method: str, notes: Sequence[str], out: str | None, seconds: float, sensitive: bool) -> None:
    span = f"{months[0]}..{months[-1]}" if len(months) > 1 else (months[0] if months else "-")
    print(f"recommend: {len(table)} hotspots ({method}) from {n_incidents:,} non-sensitive incidents, {span}"
          + (" (+ sensitive categories in the mix, small counts suppressed)" if sensitive else "")
          + f" [{seconds:.1f} s]")
    by_place = table["place_type"].value_counts()
    print("  places: " + ", ".join(f"{k} {v}" for k, v in by_place.items()))
    top = ranked[ranked["rank"] == 1]["measure_id"].value_counts()
    print("  first-ranked lines: " + ", ".join(f"{k} {v}" for k, v in top.items()))
    for _, r in table.head(12).iterrows():
        pats = f" [{r['patterns']}]" if r["patterns"] else ""
        name = r.get("place_name") or r["candidate_id"]
        print(f"    {name} ({r['candidate_id']}, {r['place_type']}){pats} -> {r['top_measure']}")
    if len(table) > 12:
        print(f"    ... {len(table) - 12} more in the output file" if out else f"    ... {len(table) - 12} more")
    for n in notes:
        print(f"  note: {n}")
    if out:
        print(f"  -> {out}")
