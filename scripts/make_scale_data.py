"""Write a SYNTHETIC scale-up incident store (seeded) from the real London distributions.

Usage::

    .venv/bin/python scripts/make_scale_data.py --from /tmp/london_pq --out /tmp/scale_pq \\
        --rows 50000000 --months 2010-01..2017-12 [--seed 20261123]

``--from`` is a GeoParquet store of the real London police.uk extract
(``hotspot-tasking ingest ../shared/data/policeuk/london_api --parquet DIR
--force metropolitan --wards .../london_wards_2018.gpkg --lsoas
.../london_lsoa_2021_gen20.gpkg``).  Every synthetic row is a real row drawn
at random (so places, categories and their joint distribution are London's),
moved by a normal jitter of ``--jitter-m`` metres (default 25) and given a
month: months get rows in proportion to the real month-of-year profile of the
source.  Ward and LSOA codes, location text and outcome are the drawn row's
(a jittered point near a boundary may lie just across it).

Everything is labelled: the partition is ``force=synthetic-metropolitan``,
files are named ``part-<id>-<token>_SYNTHETIC.parquet``, every row's
``source`` is ``SYNTHETIC scale-up of police.uk London (seed N)`` and its
``incident_id`` starts with ``SYNTHETIC-``.  The ingest record in
``_ingest.sqlite`` says the same.  Output is written month by month (memory
stays at about one month of rows).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import shapely
from sqlalchemy import insert, update

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from spatial import schema as S  # noqa: E402
from spatial.analysis import parse_period  # noqa: E402
from spatial.ingest.rows import month_interval  # noqa: E402
from spatial.projection import to_wgs84  # noqa: E402
from spatial.store import tables as T  # noqa: E402
from spatial.store.parquet import SCHEMA, ParquetStore, parquet_parts, write_part  # noqa: E402

FORCE = "synthetic-metropolitan"


def _source_table(src: Path) -> pa.Table:
    with ParquetStore.open(src, create=False, write=False) as store:
        parts = store.parts()
    if not parts:
        msg = f"{src} holds no incidents; ingest the London extract into it first (see --help)"
        raise SystemExit(msg)
    return pa.concat_tables(pq.read_table(p.path, schema=SCHEMA.remove_metadata()) for p in parts)


def make(src: Path, out: Path, *, rows: int, months: list[str], seed: int, jitter_m: float) -> dict:
    """Write the synthetic store; return figures of the run."""
    t0 = time.perf_counter()
    table = _source_table(src)
    n_src = table.num_rows
    real_months = table.column(S.MONTH).to_numpy(zero_copy_only=False)
    moy = pd.Series([m[5:] for m in real_months]).value_counts()
    weights = np.array([moy.get(m[5:], 0) for m in months], dtype=float)
    if weights.sum() == 0:
        weights[:] = 1.0
    rng = np.random.default_rng(seed)
    per_month = rng.multinomial(rows, weights / weights.sum())
    label = f"SYNTHETIC scale-up of police.uk London (seed {seed})"
    store = ParquetStore.open(out)
    with store.engine.begin() as conn:
        ingest_id = int(conn.execute(insert(T.ingests).values(
            path=f"scripts/make_scale_data.py --from {src} --rows {rows} --seed {seed}", file_sha256="",
            file_bytes=0, kind="synthetic", source=label, started_at=pd.Timestamp.now(tz="UTC").isoformat(),
            status="running")).inserted_primary_key[0])
    token = f"{seed:08x}"[-8:]
    written = 0
    listed = []
    for month, n in zip(months, per_month.tolist()):
        if n == 0:
            continue
        idx = rng.integers(0, n_src, n)
        t = table.take(pa.array(idx))
        x = t.column(S.X).to_numpy() + rng.normal(0.0, jitter_m, n)
        y = t.column(S.Y).to_numpy() + rng.normal(0.0, jitter_m, n)
        lon, lat = to_wgs84(x, y)
        ids = pc.binary_join_element_wise(pa.scalar("SYNTHETIC-"), pa.scalar(f"{seed}-"),
                                          pa.array(np.arange(written, written + n)).cast(pa.string()), "")
        start, end = month_interval(np.array([month], dtype=object))[month]
        ts = [pa.array(np.full(n, pd.Timestamp(v).tz_convert("UTC").tz_localize(None).to_datetime64()),
                       type=pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC")) for v in (start, end)]
        cols = {S.INCIDENT_ID: ids, S.SOURCE: pa.array(np.full(n, label, dtype=object), pa.string()),
                S.SOURCE_REF: ids, S.OCCURRED_FROM: ts[0], S.OCCURRED_TO: ts[1],
                S.MONTH: pa.array(np.full(n, month, dtype=object), pa.string()),
                S.X: pa.array(x), S.Y: pa.array(y), S.LON: pa.array(np.asarray(lon)), S.LAT: pa.array(np.asarray(lat)),
                "ingest_id": pa.array(np.full(n, ingest_id, dtype=np.int64)),
                "geometry": pa.array(shapely.to_wkb(shapely.points(x, y)), pa.binary())}
        arrays = [cols.get(f.name, t.column(f.name)) for f in SCHEMA]
        part = pa.Table.from_arrays(arrays, schema=SCHEMA)
        folder = store.partition_dir(FORCE, month)
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"part-{ingest_id:06d}-{token}_SYNTHETIC.parquet"
        tmp = folder / f".{final.name}.tmp"
        write_part(part, tmp)
        tmp.replace(final)
        listed.append({"path": str(final.relative_to(out)), "force": FORCE, "month": month, "rows": n,
                       "ingest_id": ingest_id})
        written += n
        print(f"{month}: {n:,} rows ({written:,} of {rows:,}, {time.perf_counter() - t0:.0f} s)", flush=True)
    with store.engine.begin() as conn:
        conn.execute(insert(parquet_parts), listed)
        conn.execute(update(T.ingests).where(T.ingests.c.ingest_id == ingest_id).values(
            finished_at=pd.Timestamp.now(tz="UTC").isoformat(), status="complete", rows_read=written,
            stored=written, duplicates=0, quarantined=0, message=label))
    store.close()
    return {"rows": written, "source_rows": n_src, "months": len(months), "seconds": time.perf_counter() - t0}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--from", dest="src", required=True, help="GeoParquet store of the real London extract")
    ap.add_argument("--out", required=True, help="store folder to write (created)")
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--months", default="2010-01..2017-12", help="YYYY-MM..YYYY-MM (default 96 months from 2010-01)")
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--jitter-m", type=float, default=25.0)
    args = ap.parse_args(argv)
    if (Path(args.out) / "_ingest.sqlite").exists():
        print(f"{args.out} already holds a store; give a new folder", file=sys.stderr)
        return 2
    r = make(Path(args.src), Path(args.out), rows=args.rows, months=parse_period(args.months), seed=args.seed,
             jitter_m=args.jitter_m)
    print(f"SYNTHETIC: {r['rows']:,} rows over {r['months']} months drawn from {r['source_rows']:,} real rows "
          f"in {r['seconds']:.0f} s ({r['rows'] / r['seconds']:,.0f} rows/s) -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
