"""Figures of the data/export attack run (SECURITY.md): gzip-bomb refusal time and peak memory, disclosure cost.

    python bench/attack_data.py [--zeros-mb 200]

Prints the size of a generated gzip bomb (``--zeros-mb`` MB of NUL bytes after a
police.uk header), the time and tracemalloc peak of its refusal by
``inspect_file`` with the default limits and with the ratio cap lifted and a
20 MiB size cap, and the time ``protect_table`` takes on an 18-ward table.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spatial._errors import IngestError  # noqa: E402
from spatial.config import MAX_DECOMPRESSED_ENV, MAX_RATIO_ENV  # noqa: E402
from spatial.disclosure import protect_table  # noqa: E402
from spatial.ingest.files import inspect_file  # noqa: E402

HEADER = (b"Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
          b"Crime type,Last outcome category,Context\n")


def bomb(path: Path, zeros_mb: int) -> Path:
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\x00" * (1 << 20)
    with open(path, "wb") as fh:
        fh.write(comp.compress(HEADER))
        for _ in range(zeros_mb):
            fh.write(comp.compress(block))
        fh.write(comp.flush())
    return path


def refuse(path: Path) -> tuple[float, float, str]:
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        inspect_file(path)
        msg = "ACCEPTED"
    except IngestError as exc:
        msg = str(exc)
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak / 2**20, msg


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zeros-mb", type=int, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        p = bomb(Path(tmp) / "bomb-street.csv.gz", args.zeros_mb)
        print(f"bomb: {args.zeros_mb} MB of zeros in {p.stat().st_size:,} bytes of gzip")
        s, peak, msg = refuse(p)
        print(f"default limits: {s:.3f} s, peak {peak:.1f} MiB: {msg[:90]}")
        os.environ[MAX_RATIO_ENV] = "1000000"
        os.environ[MAX_DECOMPRESSED_ENV] = str(20 << 20)
        s, peak, msg = refuse(p)
        print(f"ratio cap lifted, 20 MiB size cap: {s:.3f} s, peak {peak:.1f} MiB: {msg[:90]}")
    rng = np.random.default_rng(1)
    norland = np.array([[3]] + [[v] for v in [12, 19, 22, 25, 18, 30, 27, 21, 16, 24, 29, 20, 26, 23, 28, 31, 26]])
    for name, table in (("18 wards x 1 (Norland)", norland),
                        ("18 wards x 3 sensitive categories", rng.integers(0, 30, size=(18, 3)))):
        t0 = time.perf_counter()
        p = protect_table(table, np.ones(table.shape[1], dtype=bool), row_total_follows_cells=True)
        print(f"protect_table {name}: {(time.perf_counter() - t0) * 1000:.0f} ms, "
              f"{int(p.primary.sum())} primary, {int(p.secondary.sum())} secondary")


if __name__ == "__main__":
    main()
