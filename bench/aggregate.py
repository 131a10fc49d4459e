"""Grid and polygon counts: the SQL path on PostGIS against the pandas path (issue 17 item 3).

Usage::

    .venv/bin/python bench/aggregate.py                 # starts a throwaway PostgreSQL (tests/_pgserver.py)
    .venv/bin/python bench/aggregate.py --postgres URL  # an existing, empty PostGIS database

Ingests the bundled ``data/policeuk/neighbours_api`` extract (12 files, 94,679 incidents) into the
PostGIS database, stores the hand-made test estates, then times (best of ``--repeat``) grid counts
for 150 m and 50 m cells and estate counts for one month, by SQL in the server and by the pandas
path (read every incident into pandas, count there), checks both give the same table, and prints
the figures.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _best(fn, repeat: int):
    """Best wall time of ``repeat`` calls, and the last result (a DataFrame)."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--postgres", help="URL of an empty PostGIS database (default: a throwaway server)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    server = None
    url = args.postgres
    if url is None:
        sys.path.insert(0, str(ROOT / "tests"))
        from _pgserver import PgServer, find_bindir

        bindir = find_bindir()
        if bindir is None:
            print("bench/aggregate.py: no PostgreSQL binaries; give --postgres URL", file=sys.stderr)
            return 2
        server = PgServer(bindir)
        server.start()
        url = server.url()
    try:
        import pandas as pd

        from spatial.config import Settings
        from spatial.ingest import ingest_paths
        from spatial.ingest.pipeline import default_attributor
        from spatial.layers import store_area_layer
        from spatial.store import connect
        from spatial.store.aggregate import grid_counts, polygon_counts

        engine = connect(url)
        settings = Settings(database_url=url, data_dir=ROOT / "data")
        store_area_layer(engine, "estates", ROOT / "tests" / "data" / "estates_HANDMADE.geojson",
                         id_column="estate_id", name_column="estate_name")
        att = default_attributor(engine, settings)
        t0 = time.perf_counter()
        reports = ingest_paths(engine, [ROOT / "data" / "policeuk" / "neighbours_api"], settings=settings,
                               now=pd.Timestamp.now(tz="Europe/London"), attributor=att)
        n = sum(r.stored for r in reports)
        print(f"ingested {n:,} incidents into PostGIS in {time.perf_counter() - t0:.1f} s")
        month = "2018-06"
        cases = [("grid 150 m, all months", lambda p: grid_counts(engine, 150.0, include_sensitive=True, path=p)),
                 ("grid 50 m, all months", lambda p: grid_counts(engine, 50.0, include_sensitive=True, path=p)),
                 (f"estates, {month}", lambda p: polygon_counts(engine, "estates", months=[month],
                                                                  include_sensitive=True, path=p))]
        print(f"{'aggregation':28s} {'SQL s':>8s} {'pandas s':>9s} {'ratio':>6s} {'rows':>6s} same")
        for name, fn in cases:
            ts, a = _best(lambda: fn("sql"), args.repeat)
            tp, b = _best(lambda: fn("pandas"), args.repeat)
            same = a.equals(b)
            print(f"{name:28s} {ts:8.3f} {tp:9.3f} {tp / ts:6.1f} {len(a):6d} {'yes' if same else 'NO'}")
            if not same:
                return 1
        return 0
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
