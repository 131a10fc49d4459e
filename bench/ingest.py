"""Ingest throughput and peak memory.

Usage::

    .venv/bin/python bench/ingest.py                       # bundled data and London extract into SQLite
    .venv/bin/python bench/ingest.py --postgres URL        # ... and into PostgreSQL too
    .venv/bin/python bench/ingest.py --case london --backend sqlite --repeat 3   # best of 3

``cpu`` is the process's user + system CPU time during the ingest: with SQLite
and several files, reading, staging and storing run on three threads (see
``spatial/ingest/pipeline.py``), so it can exceed the wall time on 2 cores.

Each case runs in a fresh subprocess (so peak RSS is its own) against an empty
database, end to end: read, validate, project, attribute to wards and LSOAs,
store.  The London extract (police.uk API, 12 months, 20 boroughs and the City,
about 580,000 rows) is read from ``../shared/data/policeuk/london_api`` or
``--london PATH``, and attributed to all 657 London wards and 4,994 LSOAs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def _run_case(case: str, url: str, london: Path) -> dict:
    import geopandas as gpd
    import pandas as pd

    from spatial.config import Settings
    from spatial.datasets import bundled_incident_sources
    from spatial.ingest import ingest_paths
    from spatial.ingest.pipeline import default_attributor
    from spatial.store import connect

    settings = Settings(database_url=url)
    engine = connect(url)
    now = pd.Timestamp("2026-11-23", tz="Europe/London")
    if case == "bundled":
        paths = bundled_incident_sources()
        attributor = default_attributor(engine, settings)
    else:
        paths = [london]
        wards = gpd.read_file(SHARED / "boundaries" / "london_wards_2018.gpkg").rename(
            columns={"GSS_CODE": "ward_code"})
        lsoas = gpd.read_file(SHARED / "boundaries" / "london_lsoa_2021_gen20.gpkg").rename(
            columns={"LSOA21CD": "lsoa_code"})
        attributor = default_attributor(engine, settings, wards=wards, lsoas=lsoas)
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    reports = ingest_paths(engine, paths, settings=settings, now=now, attributor=attributor)
    seconds = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    rows = sum(r.rows_read for r in reports)
    return {
        "case": case, "backend": engine.dialect.name, "files": len(reports), "rows": rows,
        "stored": sum(r.stored for r in reports), "duplicates": sum(r.duplicates for r in reports),
        "quarantined": sum(r.quarantined for r in reports),
        "reconciles": all(r.reconciles for r in reports), "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds), "cpu_s": round(cpu, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=["bundled", "london", "all"], default="all")
    ap.add_argument("--backend", choices=["sqlite", "postgres", "all"], default="all")
    ap.add_argument("--postgres", help="PostgreSQL URL of an empty database to use (its tables are dropped)")
    ap.add_argument("--london", default=str(SHARED / "policeuk" / "london_api"))
    ap.add_argument("--repeat", type=int, default=1,
                    help="run each case N times (fresh database each time) and mark the fastest: the machine may be shared")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        case, url = json.loads(args.child)
        print(json.dumps(_run_case(case, url, Path(args.london))))
        return
    cases = ["bundled", "london"] if args.case == "all" else [args.case]
    backends = ["sqlite", "postgres"] if args.backend == "all" else [args.backend]
    if "postgres" in backends and not args.postgres:
        print("(no --postgres URL given: PostgreSQL cases skipped)", file=sys.stderr)
        backends = [b for b in backends if b != "postgres"]
    results = []
    for backend in backends:
        for case in cases:
            runs = []
            for _ in range(max(1, args.repeat)):
                with tempfile.TemporaryDirectory() as tmp:
                    if backend == "sqlite":
                        url = f"sqlite:///{tmp}/bench.sqlite"
                    else:
                        url = args.postgres
                        _reset_pg(url)
                    out = subprocess.run([sys.executable, __file__, "--london", args.london, "--child", json.dumps([case, url])],
                                         capture_output=True, text=True, check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
                    res = json.loads(out.stdout.strip().splitlines()[-1])
                    runs.append(res)
                    print(f"{res['case']:8s} {res['backend']:10s} rows={res['rows']:>8,} stored={res['stored']:>8,} "
                          f"dup={res['duplicates']:>6,} quar={res['quarantined']:>5,} {res['seconds']:>7.2f} s "
                          f"{res['rows_per_s']:>9,} rows/s  cpu {res['cpu_s']:>6.2f} s  peak RSS {res['peak_rss_mb']:,} MB  "
                          f"reconciles={res['reconciles']}", flush=True)
            best = min(runs, key=lambda r: r["seconds"])
            results.append(best)
            if len(runs) > 1:
                print(f"{best['case']:8s} {best['backend']:10s} best of {len(runs)}: {best['seconds']:.2f} s, "
                      f"{best['rows_per_s']:,} rows/s", flush=True)


def _reset_pg(url: str) -> None:
    from sqlalchemy import create_engine, text

    eng = create_engine(url)
    with eng.begin() as conn:  # every table of the schema (migrations add more), not PostGIS's own
        tables = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                                   "AND tablename <> 'spatial_ref_sys'")).scalars().all()
        for t in tables:
            conn.execute(text(f'DROP TABLE IF EXISTS "{t}" CASCADE'))
    eng.dispose()


if __name__ == "__main__":
    main()
