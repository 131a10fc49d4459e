"""``hotspot-tasking pack``: the weekly tasking pack (PDF, HTML) or the plan for GIS (CSV, GeoJSON, GeoPackage).

::

    hotspot-tasking pack --plan plan.json --format pdf|html|csv|geojson|gpkg --out FILE
        [--recommendations rec.geojson] [--review review.json] [--sensitive-aggregates]
        [--user NAME] [--role ROLE]

The plan is the JSON written by ``hotspot-tasking allocate --out``;
``--recommendations`` the GeoJSON written by ``hotspot-tasking recommend --plan
plan.json --out rec.geojson``; ``--review`` a JSON review of last week
(:meth:`tasking.review.WeekReview.to_dict`).  ``--sensitive-aggregates`` adds
counts of safeguarding-sensitive categories by ward for the plan's months
(from the store; 1-4 shown as "fewer than 5", never mapped).

``--format geojson`` writes one MultiPolygon per planned place (EPSG:4326: street
patches from their cells, parks and estates from the stored layers, ward
presence as the ward), with the place's visits, people and schedule; ``csv``
one row per assignment; ``gpkg`` (EPSG:27700) the patches, the assignments as
points, the cameras and their coverage circles.

Every export is audited in the store given by ``--database`` (or
``DATABASE_URL``; default ``var/hotspot.sqlite``): who (``--user``, default
the login name), role, when, kind, week, meeting and plan version (found from
the plan's week, borough and sha256 when the plan was saved to a meeting), the
file's sha256 and row counts.  When the plan's meeting is in the store, its
decisions (and open ones carried over from earlier weeks) and review notes
are included.

The work is :func:`tasking.pack.export_pack`; :func:`add_parser` registers the
command in :mod:`hotspot_cli.main` and :func:`run` returns the exit status.
"""

from __future__ import annotations

import argparse
import getpass
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hotspot_cli.options import add_area_option
from tasking._errors import TaskingError
from tasking.formats import DOCUMENT_FORMATS, EXPORT_KINDS

#: Plan exports that draw the plan's places as polygons (from the parks, estates and wards layers).
GIS_LAYERED: tuple[str, ...] = ("geojson", "gpkg")

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from tasking.context import AreaContext
    from tasking.housing import SchemeReport

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``pack`` sub-command."""
    p = subparsers.add_parser("pack", help="weekly tasking pack (PDF/HTML) or the plan as CSV/GeoJSON, audited")
    p.add_argument("--plan", required=True, help="plan JSON written by `hotspot-tasking allocate --out`")
    p.add_argument("--format", required=True, choices=list(EXPORT_KINDS), help="what to write")
    p.add_argument("--out", required=True, help="file to write")
    p.add_argument("--recommendations", help="GeoJSON from `hotspot-tasking recommend --plan PLAN --out F.geojson`")
    p.add_argument("--review", help="JSON review of last week (tasking.review.WeekReview.to_dict())")
    p.add_argument("--sensitive-aggregates", action="store_true",
                   help="add sensitive-category counts by ward for the plan's months (small counts shown as 'fewer than 5')")
    p.add_argument("--user", default=None, help="who is exporting (default: the login name); recorded in the audit")
    p.add_argument("--role", default="analyst", help="the exporter's role (default analyst); recorded in the audit")
    add_area_option(p)
    p.set_defaults(func=run)
    return p


def _plan_context(engine: Engine, plan: dict[str, Any], area: str | None,
                  data_dir: Path | None) -> AreaContext | None:
    """The plan's area (``--area``, else the one the plan records, else the active area) limited to the plan's
    districts; ``None`` when the plan names no borough or none of its districts is in that area."""
    from tasking.context import open_area
    from tasking.plan import Plan

    inputs = Plan.coerce(plan).inputs
    name = area or (str(inputs["area"]) if inputs.get("area") else None)
    if name and inputs.get("area") and name != inputs["area"]:
        msg = f"--area {name} differs from the plan's area {inputs['area']}; drop --area"
        raise TaskingError(msg)
    ctx = open_area(engine, name, data_dir)
    codes = [str(c) for c in inputs.get("districts") or ([inputs["borough"]] if inputs.get("borough") else [])]
    mine = tuple(c for c in ctx.profile.district_codes if c in codes)
    if not mine:
        return None
    return ctx.with_districts(mine)


def _read_json(path: str, what: str) -> Any:
    p = Path(path)
    if not p.is_file():
        msg = f"{what} {path!r} not found"
        raise TaskingError(msg)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        msg = f"{what} {path!r} is not valid JSON ({exc})"
        raise TaskingError(msg) from exc


def _scheme_section(engine: Engine, ctx: AreaContext, *, user: str, role: str,
                    data_dir: Path | None) -> SchemeReport | None:
    """The schemes report for the pack when the store has a schemes (estates) layer, else ``None``."""
    from tasking.access import AccessDenied, Viewer
    from tasking.housing import read_scheme_inputs, scheme_report

    try:
        inputs = read_scheme_inputs(engine, area=ctx.profile.name, data_dir=data_dir)
    except TaskingError:
        return None  # no schemes layer: the pack has no Schemes section (RBKC's pack is unchanged)
    try:
        return scheme_report(inputs, Viewer(user, role), parts=("league", "not_asb", "repeats"))
    except AccessDenied:
        return None


def run(args: argparse.Namespace) -> int:
    """Write the pack or plan file, audit it in the store and print what was written; returns 0."""
    import geopandas as gpd
    import pandas as pd

    from spatial.config import settings_from_args
    from spatial.store import connect
    from tasking.pack import export_pack

    plan = _read_json(args.plan, "--plan")
    if not isinstance(plan, dict) or "assignments" not in plan or "week" not in plan:
        msg = f"--plan {args.plan!r} has no 'week' or 'assignments'; pass the JSON written by `allocate --out`"
        raise TaskingError(msg)
    rec = None
    if args.recommendations:
        if Path(args.recommendations).suffix.lower() not in (".geojson", ".json", ".gpkg"):
            msg = (f"--recommendations was {args.recommendations!r}; give the GeoJSON or GeoPackage from "
                   "`hotspot-tasking recommend --plan PLAN --out rec.geojson` (or rec.gpkg)")
            raise TaskingError(msg)
        if not Path(args.recommendations).is_file():
            msg = f"--recommendations {args.recommendations!r} not found"
            raise TaskingError(msg)
        layer = "advice" if Path(args.recommendations).suffix.lower() == ".gpkg" else None
        rec = pd.DataFrame(gpd.read_file(args.recommendations, layer=layer).drop(columns="geometry"))
    review = _read_json(args.review, "--review") if args.review else None
    settings = settings_from_args(args)
    engine = connect(settings.database_url)
    ctx = _plan_context(engine, plan, args.area, settings.data_dir)
    sensitive = None
    if args.sensitive_aggregates:
        from spatial.store.queries import ward_category_counts
        from tasking.plan import Plan

        months = [str(m) for m in Plan.coerce(plan).inputs.get("months", [])]
        codes = ctx.wards["ward_code"].tolist() if ctx is not None else None
        counts = ward_category_counts(engine, months=months or None, ward_codes=codes or None)
        sensitive = counts[counts["sensitive"].astype(bool)][["ward_code", "category", "count"]]
    area = parks = wards = estates = None
    if args.format in (*DOCUMENT_FORMATS, *GIS_LAYERED) and ctx is not None:
        from tasking.pipeline import read_estates, read_parks

        area, wards = ctx.outline, ctx.wards
        parks, _ = read_parks(engine, area, settings.data_dir)
        if args.format in GIS_LAYERED:  # the plan's places drawn as parks / estates / wards, not as squares
            estates, _ = read_estates(engine)
    user = args.user or getpass.getuser()
    schemes = (_scheme_section(engine, ctx, user=user, role=args.role, data_dir=settings.data_dir)
               if args.format in DOCUMENT_FORMATS and ctx is not None else None)
    res = export_pack(plan, args.out, format=args.format, user=user, role=args.role, engine=engine,
                      recommendations=rec, review=review, sensitive_counts=sensitive, area=area, wards=wards,
                      parks=parks, estates=estates, area_label=ctx.label if ctx is not None else None,
                      schemes=schemes)
    where = (f"meeting {res.meeting_id}, version {res.version}" if res.meeting_id is not None
             else "plan not saved to a meeting")
    print(f"pack: wrote {res.path} ({res.kind}, {res.bytes:,} bytes, sha256 {res.sha256[:16]}...)")
    print("  rows: " + ", ".join(f"{k} {v}" for k, v in res.row_counts.items()))
    print(f"  audited as export {res.export_id} by {user} ({args.role}); {where}"
          + ("; includes sensitive aggregates (suppressed)" if res.includes_sensitive_aggregates else ""))
    return 0
