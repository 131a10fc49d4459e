"""Store commands of ``hotspot-tasking``: ``ingest``, ``status``, ``quarantine``, ``layers``, ``backup``,
``restore``, ``purge`` and ``db``.

Every command reads ``DATABASE_URL`` (or ``--database``); the default is an
SQLite file under ``var/``.  Bad input never produces a traceback: the
message names the file, row and field, and the exit status is non-zero.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from spatial._errors import HotspotError
from spatial.config import settings_from_args

if TYPE_CHECKING:  # pandas loads only when a command runs (fast --help and argument errors)
    import pandas as pd

    from spatial.area_profiles import AreaProfile

__all__ = ["add_parsers", "load_sensitive_slugs"]

_KINDS = {"police-uk": None, "police-uk-street": "police-uk-street", "police-uk-api": "police-uk-api",
          "mps": "mps-wide"}


def short_path(path: str | Path, width: int = 44) -> str:
    """A file's name, cut before its last ten characters to ``width`` (``--json`` gives full paths).

    Examples
    --------
    >>> short_path("/data/neighbours_api/2017-07-westminster-hammersmith-fulham-police-uk-api.csv.gz")
    '2017-07-westminster-hammersmith...api.csv.gz'
    >>> short_path("/tmp/a.csv")
    'a.csv'
    """
    name = Path(path).name
    if len(name) <= width:
        return name
    return name[: width - 13] + "..." + name[-10:]


def _report_view(rows: pd.DataFrame, *, verbose: bool) -> pd.DataFrame:
    """The ingest table as printed: what reconciles and nothing happened in is left out unless ``verbose``."""
    out = rows.rename(columns={"outside the area": "outside"})
    if not verbose and len(out):
        drop = ["seconds"]
        drop += [c for c in ("outside",) if not out[c].any()]
        drop += ["reconciles"] if (out["reconciles"] == "yes").all() else []
        out = out.drop(columns=drop)
    return out


def _print_table(df: pd.DataFrame, title: str) -> None:
    print(f"\n{title}")
    if df.empty:
        print("  (none)")
    else:
        print(df.to_string(index=False))


def cmd_ingest(args: argparse.Namespace) -> int:
    import pandas as pd
    from tqdm import tqdm

    from spatial.ingest import ingest_paths, load_mapping
    from spatial.ingest.pipeline import default_attributor, ingest_paths_parquet
    from spatial.store import connect

    settings = settings_from_args(args)
    if args.force and not args.parquet:
        print("hotspot-tasking ingest: --force names the partition of a parquet store; give --parquet DIR too",
              file=sys.stderr)
        return 2
    engine = connect(settings.database_url) if not args.parquet else None
    now = pd.Timestamp.now(tz="Europe/London")
    mapping = load_mapping(args.mapping) if args.mapping else None
    if mapping is not None and args.crs:
        mapping = type(mapping)(**{**mapping.__dict__, "crs": args.crs})
    paths: list = list(args.paths)
    if args.bundled:
        paths = [*_bundled_sources(engine, args, settings), *paths]
    if not paths:
        print("hotspot-tasking ingest: give files or folders, or --bundled", file=sys.stderr)
        return 2
    wards = _read_layer(args.wards, "ward_code") if args.wards else None
    lsoas = _read_layer(args.lsoas, "lsoa_code") if args.lsoas else None
    if wards is None or lsoas is None:  # the area of interest: the area's wards + the 250 m margin
        from spatial.area_profiles import area_layers, resolve_area

        area = resolve_area(engine, getattr(args, "area", None))
        layers = area_layers(engine, area, data_dir=settings.data_dir)
        wards = layers.wards if wards is None else wards
        lsoas = layers.lsoas if lsoas is None else lsoas
    attributor = default_attributor(None if args.parquet else engine, settings, wards=wards, lsoas=lsoas)
    reports = []
    from spatial.ingest.pipeline import StoreWriteError

    failure: StoreWriteError | None = None
    with tqdm(unit=" rows", desc="ingest", disable=args.quiet or not sys.stderr.isatty()) as bar:
        try:
            if args.parquet:
                reports = ingest_paths_parquet(args.parquet, paths, settings=settings, now=now, force=args.force,
                                               mapping=mapping, kind=_KINDS.get(args.source) if args.source else None,
                                               attributor=attributor, progress=bar.update)
            else:
                reports = ingest_paths(engine, paths, settings=settings, now=now, mapping=mapping,
                                       kind=_KINDS.get(args.source) if args.source else None,
                                       attributor=attributor, progress=bar.update)
        except StoreWriteError as exc:  # a full disk: report what was stored, then which file failed and why
            failure, reports = exc, exc.reports
    rows = pd.DataFrame([{"file": short_path(r.path), "kind": r.kind, "status": r.status, "read": r.rows_read,
                          "stored": r.stored, "duplicates": r.duplicates, "quarantined": r.quarantined,
                          "outside the area": r.outside, "reconciles": "yes" if r.reconciles else "NO", "seconds": round(r.seconds, 2)}
                         for r in reports],
                        columns=["file", "kind", "status", "read", "stored", "duplicates", "quarantined",
                                 "outside the area", "reconciles", "seconds"])
    if args.json:
        print(json.dumps([r.as_dict() for r in reports], indent=2, default=str))
    else:
        if len(rows) > 30 and not args.verbose:
            shown = rows[rows["status"] != "complete"]
            _print_table(_report_view(shown, verbose=False),
                         f"Ingest report: {len(rows)} files ({len(shown)} not complete shown; --verbose for all)")
        else:
            _print_table(_report_view(rows, verbose=args.verbose), "Ingest report")
        tot = rows[["read", "stored", "duplicates", "quarantined", "outside the area"]].sum()
        if len(rows) and (rows["reconciles"] == "yes").all() and not args.verbose:
            print("Every file reconciles (read = stored + duplicates + quarantined + outside the area).")
        print(f"\nTotal: {tot['read']:,} rows read = {tot['stored']:,} stored + {tot['duplicates']:,} duplicates "
              f"+ {tot['quarantined']:,} quarantined"
              + (f" + {tot['outside the area']:,} outside the area" if tot["outside the area"] else ""))
        used = sorted({r.transformation for r in reports if r.transformation})
        for line in used:
            print(f"Coordinates: {line}")
        for r in reports:
            if r.status != "complete":
                print(f"REJECTED {r.message}", file=sys.stderr)
            for note in r.notes:
                print(textwrap.fill(f"note: {Path(r.path).name}: {note}", width=100, subsequent_indent="  "))
        if tot["quarantined"]:
            side = f" --database sqlite:///{Path(args.parquet).resolve() / '_ingest.sqlite'}" if args.parquet else ""
            print(f"See the quarantined rows with: hotspot-tasking{side} quarantine")
    if failure is not None:
        print(f"NOT STORED {failure}", file=sys.stderr)
        return 1
    return 1 if any(r.status != "complete" for r in reports) else 0


def _bundled_sources(engine, args: argparse.Namespace, settings) -> list:
    """What ``ingest --bundled`` loads: the bundled data of the area (RBKC's: its police.uk files and MPS tables)."""
    from spatial.area_profiles import DEFAULT_AREA, resolve_area
    from spatial.datasets import bundled_incident_sources, bundled_mps_tables, get_path

    area = resolve_area(engine, getattr(args, "area", None))
    if area.name == DEFAULT_AREA:
        return [*bundled_incident_sources(data_dir=settings.data_dir), *bundled_mps_tables(data_dir=settings.data_dir)]
    if not area.incident_sources:
        msg = f"area {area.name!r} has no bundled data; ingest its files: hotspot-tasking ingest --area {area.name} FILES"
        raise HotspotError(msg)
    return [get_path(p, data_dir=settings.data_dir) for p in (*area.incident_sources, *area.aggregate_sources)]


#: Code columns of ONS/London Datastore boundary files, by canonical name.
_CODE_ALIASES = {"ward_code": ("GSS_CODE", "WD18CD", "WD22CD", "WD24CD"), "lsoa_code": ("LSOA21CD", "LSOA11CD")}


def _read_layer(path: str, code_column: str):
    """Polygons with ``code_column`` from a GeoPackage/GeoJSON file, in EPSG:27700."""
    import geopandas as gpd

    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio's DataSourceError and friends
        msg = f"cannot read the boundary file {path}: {exc}"
        raise HotspotError(msg) from exc
    if code_column not in gdf.columns:
        alias = next((c for c in _CODE_ALIASES[code_column] if c in gdf.columns), None)
        if alias is None:
            msg = (f"boundary file {path} has no {code_column!r} column (nor {list(_CODE_ALIASES[code_column])}); "
                   f"it has {list(gdf.columns)[:20]}")
            raise HotspotError(msg)
        gdf = gdf.rename(columns={alias: code_column})
    if gdf.crs is None:
        msg = f"boundary file {path} has no coordinate system; save it with EPSG:27700 or EPSG:4326"
        raise HotspotError(msg)
    return gdf.to_crs(27700)


def cmd_status(args: argparse.Namespace) -> int:
    from spatial.store import connect
    from spatial.store.queries import status_tables

    settings = settings_from_args(args)
    engine = connect(settings.database_url)
    tabs = status_tables(engine)
    print(f"Database: {engine.url.render_as_string(hide_password=True)}")
    area = _print_area(engine, args, settings)
    for name in ("source", "month", "category", "ward", "area_counts", "quarantine", "outside"):
        _print_table(tabs[name], f"By {name}" if name not in ("quarantine", "area_counts", "outside") else
                     {"quarantine": "Quarantine (rows per file)", "area_counts": "Aggregate series (MPS)",
                      "outside": "Outside the area (rows per file; counted, not kept)"}[name])
    _print_table(tabs["force_months"], "police.uk months by force (Reported by): months missing between the first and last")
    gaps = tabs["force_months"][tabs["force_months"]["missing_months"] != "none"]
    for r in gaps.itertuples():
        print(f"GAP {r.force}: no street data for {r.missing_months} (download those months from data.police.uk)")
    if not tabs["stop_search"].empty:
        _print_table(tabs["stop_search"], "Stop and search (its own dataset; not incidents)")
    o = tabs["outcomes"].iloc[0] if not tabs["outcomes"].empty else None
    if o is not None and int(o["outcome_rows"]):
        print(f"\nOutcomes: {int(o['outcome_rows']):,} outcome rows for {int(o['crimes']):,} crimes "
              f"(latest month {o['latest_month']})")
    total_q = int(tabs["quarantine"]["rows"].sum()) if not tabs["quarantine"].empty else 0
    total_i = int(tabs["source"]["incidents"].sum()) if not tabs["source"].empty else 0
    total_o = int(tabs["outside"]["rows"].sum()) if not tabs["outside"].empty else 0
    print(f"\n{total_i:,} incidents stored; {total_q:,} rows in quarantine; {total_o:,} rows outside the area")
    _print_not_asb(tabs["category"], area.not_asb_policy)
    return 0


def _print_not_asb(by_category: pd.DataFrame, policy: str | None) -> None:
    """How many stored reports are not ASB under the area's policy (counted, kept out of hotspots)."""
    from spatial.not_asb import not_asb_slugs, policy_reference

    if by_category.empty:
        return
    n = int(by_category.loc[by_category["category"].isin(not_asb_slugs()), "incidents"].sum())
    if n:
        print(f"{n:,} of them are reports that are not ASB under {policy_reference(policy)}: "
              "stored and counted, kept out of hotspots, forecasts and plans")


def _print_area(engine, args: argparse.Namespace, settings) -> AreaProfile:
    """The area (``--area`` or the active one) and the months police.uk published low in it."""
    from spatial.area_profiles import area_layers, resolve_area
    from spatial.low_months import low_months
    from spatial.store.queries import month_category_counts

    area = resolve_area(engine, getattr(args, "area", None))
    print(f"Area: {area.name} - {area.label} ({area.ward_vintage}, {area.lsoa_vintage})")
    wards = area_layers(engine, area, data_dir=settings.data_dir).wards["ward_code"].tolist()
    counts = month_category_counts(engine, ward_codes=wards)
    low = low_months(counts) if not counts.empty else []
    if low:
        print(f"Low months (far below their neighbours in every category; kept out of baselines): {', '.join(low)}")
    return area


def cmd_quarantine(args: argparse.Namespace) -> int:
    import pandas as pd

    from spatial.store import connect
    from spatial.store.queries import quarantine_rows

    engine = connect(settings_from_args(args).database_url)
    df = quarantine_rows(engine, path_contains=args.file, limit=args.limit)
    if args.csv:
        from spatial.csv_safe import to_csv

        to_csv(df, sys.stdout, index=False)
    else:
        with pd.option_context("display.max_colwidth", 90, "display.width", 200):
            _print_table(df.drop(columns=["raw"]), f"Quarantined rows (newest {args.limit})")
    return 0


def cmd_layers(args: argparse.Namespace) -> int:
    from spatial.layers import store_area_layer
    from spatial.store import connect

    engine = connect(settings_from_args(args).database_url)
    n = store_area_layer(engine, args.layer, args.file, id_column=args.id_column, name_column=args.name_column,
                         homes_column=args.homes_column)
    homes = f" with homes counts from {args.homes_column!r}" if args.homes_column else ""
    print(f"stored {n} {args.layer} polygons from {args.file}{homes}; re-ingest incidents to attribute them")
    return 0


def load_sensitive_slugs() -> frozenset[str]:
    from spatial.schema import load_taxonomy

    return load_taxonomy().sensitive_slugs()


def cmd_db(args: argparse.Namespace) -> int:
    from spatial.store import create, upgrade
    from spatial.store.db import current_revision, head_revision

    engine = create(settings_from_args(args).database_url)
    if args.action in ("init", "upgrade"):
        upgrade(engine)
    if args.action == "reflag":
        from spatial.store.writer import reflag_sensitive

        upgrade(engine)
        n = reflag_sensitive(engine)
        print(f"{n:,} stored incidents newly flagged sensitive (categories: "
              f"{', '.join(sorted(load_sensitive_slugs()))})")
    if args.action in ("init", "upgrade", "reflag") and engine.dialect.name == "postgresql":
        from spatial.store.gis import create_gis_access

        gis = create_gis_access(engine)
        print(f"read-only GIS role {gis.role} ({'LOGIN' if gis.login else 'NOLOGIN'}) may read {', '.join(gis.views)} "
              f"only; {len(gis.hidden_categories)} sensitive categories are left out of gis_incidents")
    print(f"{engine.url.render_as_string(hide_password=True)}: schema revision {current_revision(engine)} (newest {head_revision()})")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from spatial.store.backup import backup

    settings = settings_from_args(args)
    m = backup(settings.database_url, args.file)
    rows = sum(v for k, v in m.tables.items() if k != "alembic_version")
    print(f"backup of {_safe_url(settings.database_url)} written to {args.file}: {m.backend}, schema {m.revision}, "
          f"{rows:,} rows in {len(m.tables)} tables, payload {m.payload_bytes / 1e6:.1f} MB, sha256 {m.payload_sha256[:12]}…")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from spatial.store.backup import restore

    settings = settings_from_args(args)
    m = restore(settings.database_url, args.file, force=args.force)
    rows = sum(v for k, v in m.tables.items() if k != "alembic_version")
    print(f"restored {args.file} (taken {m.created_at}, schema {m.revision}) into {_safe_url(settings.database_url)}: "
          f"{rows:,} rows in {len(m.tables)} tables, every count checked against the backup's manifest")
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    from spatial.store import connect
    from spatial.store.audit import operator_name
    from spatial.store.retention import purge

    settings = settings_from_args(args)
    months = args.months
    if months is None:  # the area's own retention period (--area, else the active area), else the deployment's
        from spatial.area_profiles import resolve_area

        months = resolve_area(connect(settings.database_url), getattr(args, "area", None)).retention_months
    if months is None:
        months = settings.retention_months
    if months is None:
        print("hotspot-tasking purge: give --months N or set HOTSPOT_RETENTION_MONTHS (the council's retention "
              "period in whole months)", file=sys.stderr)
        return 2
    engine = connect(settings.database_url)
    r = purge(engine, months=months, actor=operator_name(), dry_run=args.dry_run)
    verb = "would remove" if r.dry_run else "removed"
    print(f"Retention {r.months} months: months before {r.cutoff} are not kept.")
    _print_table(r.incidents, f"Incidents {verb} (by source and month)")
    _print_table(r.quarantine, f"Quarantined rows {verb} (files ingested before {r.cutoff})")
    print(f"\n{verb.capitalize()} {r.n_incidents:,} incidents and {r.n_quarantine:,} quarantined rows"
          + ("; nothing was changed (--dry-run)" if r.dry_run else "; recorded in the audit log"))
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from spatial.store import connect
    from spatial.store.audit import verify_report

    code, text = verify_report(connect(settings_from_args(args).database_url), expect_head=args.expect_head)
    print(text, file=sys.stdout if code == 0 else sys.stderr)
    return code


def _safe_url(url: str) -> str:
    from sqlalchemy import make_url

    return make_url(url).render_as_string(hide_password=True)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Register the store sub-commands."""
    from hotspot_cli.options import add_area_option

    p = sub.add_parser("ingest", help="ingest police.uk CSV/JSON, MPS tables, council exports or vector layers")
    p.add_argument("paths", nargs="*", help="files or folders (police.uk YYYY-MM/ archives are walked)")
    p.add_argument("--source", choices=sorted(_KINDS), help="force the input kind (default: detected from the header)")
    p.add_argument("--mapping", help="column-mapping YAML for a council export or vector layer")
    p.add_argument("--crs", choices=["EPSG:27700", "EPSG:4326"], help="override the coordinate system of a mapped file")
    p.add_argument("--bundled", action="store_true", help="ingest the area's bundled data (RBKC: its police.uk files, "
                   "neighbours and MPS tables; west-kent: its 23 police.uk months)")
    p.add_argument("--json", action="store_true", help="print the reports as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--verbose", action="store_true", help="list every file in the report")
    p.add_argument("--parquet", metavar="DIR", help="store into a partitioned GeoParquet folder (force=/month=) "
                   "instead of the database; ingest records and quarantine go to DIR/_ingest.sqlite")
    p.add_argument("--force", help="police force slug of the files (parquet store; default: from police.uk "
                   "bulk file names YYYY-MM-<force>-street.csv)")
    p.add_argument("--wards", help="ward polygons (GeoPackage/GeoJSON with ward_code) instead of the bundled "
                   "demo boroughs, e.g. ../shared/data/boundaries/london_wards_2018.gpkg")
    p.add_argument("--lsoas", help="LSOA polygons (with lsoa_code) instead of the bundled demo boroughs")
    add_area_option(p)
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("status", help="what is stored: by source, month, category, ward; quarantine size")
    add_area_option(p)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("quarantine", help="list rejected rows with file, row, field and reason")
    p.add_argument("--file", help="only rows from files whose path contains this text")
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--csv", action="store_true", help="write CSV to standard output")
    p.set_defaults(func=cmd_quarantine)

    p = sub.add_parser("layers", help="load a council polygon layer (estates or parks) from your own file")
    p.add_argument("layer", choices=["estates", "parks"])
    p.add_argument("file", help="GeoJSON, GeoPackage or GeoParquet polygons")
    p.add_argument("--id-column", required=True)
    p.add_argument("--name-column")
    p.add_argument("--homes-column", help="number of homes per polygon (a housing association's stock list): "
                   "league tables then give rates per 1,000 homes")
    p.set_defaults(func=cmd_layers)

    p = sub.add_parser("backup", help="write a verified backup of the whole store to one file (SQLite or pg_dump)")
    p.add_argument("file", help="backup file to write (a tar holding a manifest and the snapshot)")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="restore a backup file into the store (checked against its manifest)")
    p.add_argument("file", help="a file written by hotspot-tasking backup")
    p.add_argument("--force", action="store_true", help="replace a store that already holds data")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("purge", help="remove incidents and quarantined rows older than the retention period")
    p.add_argument("--months", type=int, help="retention period in whole months (default $HOTSPOT_RETENTION_MONTHS)")
    p.add_argument("--dry-run", action="store_true", help="report what would be removed, change nothing")
    add_area_option(p)  # the area's retention period when --months is not given
    p.set_defaults(func=cmd_purge)

    p = sub.add_parser("db", help="database schema: init, upgrade or show the revision")
    p.add_argument("action", choices=["init", "upgrade", "revision", "reflag"],
                   help="reflag: flag stored incidents of every sensitive category (after HOTSPOT_EXTRA_SENSITIVE "
                        "gains one)")
    p.set_defaults(func=cmd_db)

    p = sub.add_parser("audit", help="audit log: verify its hash chain (edits, deletions, back-dated rows)")
    p.add_argument("audit_action", choices=["verify"])
    p.add_argument("--expect-head", help="a head hash printed by an earlier verify and kept elsewhere")
    p.set_defaults(func=cmd_audit)
