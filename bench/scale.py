"""Throughput and peak memory of the Dask batch pipeline (issue 7), and the London equality run.

Usage::

    # the London extract: Dask (1 and 2 workers) against the single-machine path, results compared
    .venv/bin/python bench/scale.py --store /tmp/london_pq --workers 1 2 --compare-local

    # the SYNTHETIC scale-up store of scripts/make_scale_data.py
    .venv/bin/python bench/scale.py --store /tmp/scale_pq --workers 1 2 --memory-limit 3GB

Units are the 33 London boroughs (``../shared/data/boundaries/london_boroughs.gpkg``),
150 m grids, analytic Gi*, emerging classes and the boosted forecast (``--forecast``).
Peak memory is the largest sum of the resident set sizes of this process and every
worker process, sampled every 0.25 s with psutil, against the 8 GB limit of the issue.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from spatial.distributed import BatchConfig, local_batch, make_client, run_batch  # noqa: E402
from spatial.store.parquet import read_store  # noqa: E402

LONDON_BOROUGHS = REPO.parent / "shared" / "data" / "boundaries" / "london_boroughs.gpkg"
LIMIT_GB = 8.0


class RssSampler:
    """Largest sum of RSS over a set of processes, sampled on a thread."""

    def __init__(self, pids: list[int], every_s: float = 0.25) -> None:
        self.procs = [psutil.Process(p) for p in pids]
        self.every_s = every_s
        self.peak = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            for p in self.procs:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(self.every_s)

    def __enter__(self) -> RssSampler:
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()


def compare(local: dict, dist: dict) -> str:
    """'equal' or the first difference (counts and classes exact, floats to 1e-9)."""
    for code, a in local.items():
        b = dist[code]
        if a["count"].tolist() != b["count"].tolist():
            return f"{code}: counts differ"
        if a["trend_class"].tolist() != b["trend_class"].tolist():
            return f"{code}: classes differ"
        for c in [c for c in a.columns if c.startswith("gi_z_")] + ["forecast"]:
            if c in a and not np.allclose(a[c].to_numpy(float), b[c].to_numpy(float), rtol=1e-9, atol=1e-12):
                return f"{code}: {c} differs"
    return "equal"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--store", required=True)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--memory-limit", default="3GB")
    ap.add_argument("--forecast", default="boosted")
    ap.add_argument("--compare-local", action="store_true", help="also run the single-machine path and compare")
    ap.add_argument("--json", help="append the figures as JSON lines to this file")
    args = ap.parse_args(argv)
    units = gpd.read_file(LONDON_BOROUGHS).to_crs(27700)
    config = BatchConfig(forecast_method=args.forecast)
    results = {}
    for n in args.workers:
        client = make_client(n_workers=n, memory_limit=args.memory_limit)
        pids = [*client.run(lambda: __import__("os").getpid()).values(), psutil.Process().pid]
        with RssSampler(pids) as rss:
            run = run_batch(client, args.store, units, code_column="gss_code", config=config)
        cluster = client.cluster
        client.close()
        cluster.close()
        results[n] = run
        s = run.seconds
        fig = {"workers": n, "memory_limit": args.memory_limit, "rows": run.rows_read, "months": len(run.months),
               "tasks": run.tasks, "seconds": round(s["total"], 2), "count_s": round(s["count"], 2),
               "analyse_s": round(s["analyse"], 2), "rows_per_s": round(run.rows_read / s["total"]),
               "count_rows_per_s": round(run.rows_read / s["count"]), "peak_rss_gb": round(rss.peak / 1e9, 2),
               "limit_gb": LIMIT_GB, "within_limit": rss.peak / 1e9 <= LIMIT_GB}
        print(json.dumps(fig), flush=True)
        if args.json:
            with open(args.json, "a") as fh:
                fh.write(json.dumps({"store": args.store, **fig}) + "\n")
    if args.compare_local:
        t0 = time.perf_counter()
        inc = read_store(args.store, columns=["x", "y", "month", "category", "sensitive", "proactive"])
        t1 = time.perf_counter()
        run = next(iter(results.values()))
        local = local_batch(inc, units, code_column="gss_code", months=run.months, config=config)
        t2 = time.perf_counter()
        verdict = {n: compare(local, r.results) for n, r in results.items()}
        print(json.dumps({"local_read_s": round(t1 - t0, 2), "local_compute_s": round(t2 - t1, 2),
                          "local_peak_rss_gb": round(psutil.Process().memory_info().rss / 1e9, 2),
                          "units": len(local), "dask_vs_local": verdict}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
