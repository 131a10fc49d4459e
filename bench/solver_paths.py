"""Benchmark: the weekly plan's MILP through scipy.optimize.milp (the default) against highspy.

Both paths are HiGHS: ``highspy`` is the maintained release, scipy bundles an older
one (``highspy`` is also the path of a re-solve from the previous plan).  The models are the product's own: the week's plan is built with
``hotspot-tasking allocate`` on two areas in a throwaway SQLite store, and every
model handed to :func:`tasking.allocation.run_model` on the way is kept, then solved
again by each path at the plan's gap (``tasking.allocation.plan_gap``).

1. **RBKC** - the bundled data (``ingest --bundled``) and the bundled roster
   (24 patrollers, 2 % gap);
2. **West Kent** - the last three and all twelve bundled West Kent months of
   2025 (``ingest --area west-kent``) and its starter roster (``roster init
   --area west-kent``: 72 patrol officers, 3 % gap).

Run::

    .venv/bin/python bench/solver_paths.py [--repeat 2] [--week 2026-W02]

Prints a Markdown table for bench/RESULTS.md (seconds are wall time; each path
solved ``--repeat`` times, the median shown).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _plan_model(db: str, argv: list[str]) -> object:
    """Run ``hotspot-tasking allocate`` and return the model of its plan (the first one it solved)."""
    import tasking.allocation as al
    from hotspot_cli.main import main as cli_main

    kept: list[object] = []
    real = al.run_model

    def keep(model, **kw):  # noqa: ANN001, ANN003, ANN202 - a transparent wrapper
        kept.append(model)
        return real(model, **kw)

    al.run_model = keep
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            code = cli_main(["--database", db, "allocate", *argv])
    finally:
        al.run_model = real
    if code != 0:
        msg = f"allocate {' '.join(argv)} exited {code}"
        raise SystemExit(msg)
    return kept[0]


def _cli(db: str, *argv: str) -> None:
    from hotspot_cli.main import main as cli_main

    with contextlib.redirect_stdout(io.StringIO()):
        code = cli_main(["--database", db, *argv])
    if code != 0:
        msg = f"{' '.join(argv)} exited {code}"
        raise SystemExit(msg)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--week", default="2026-W02")
    args = ap.parse_args()

    import numpy as np

    from tasking.allocation import plan_gap, run_model

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rbkc = f"sqlite:///{Path(tmp) / 'rbkc.sqlite'}"
        _cli(rbkc, "ingest", "--bundled", "--quiet")
        cases = [("RBKC (bundled roster)", 24, _plan_model(rbkc, ["--week", args.week, "--out", str(Path(tmp) / "r.json")]))]
        all_2025 = sorted(str(p) for p in (REPO / "data" / "policeuk" / "west_kent").glob("2025-*.csv.gz"))
        for files in (all_2025[-3:], all_2025):
            wk = f"sqlite:///{Path(tmp) / f'wk{len(files)}.sqlite'}"
            _cli(wk, "ingest", "--area", "west-kent", "--quiet", *files)
            _cli(wk, "roster", "init", "--area", "west-kent")
            cases.append((f"West Kent ({len(files)} months of 2025, starter roster)", 72,
                          _plan_model(wk, ["--area", "west-kent", "--week", args.week, "--out", str(Path(tmp) / "w.json")])))
        for label, agents, model in cases:
            gap = plan_gap(agents)
            for solver in ("highspy", "scipy"):
                secs, last = [], None
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    last = run_model(model, time_limit_s=60.0, mip_rel_gap=gap, solver=solver)
                    secs.append(time.perf_counter() - t0)
                assert last is not None and last.x is not None
                value = -float(np.asarray(model.c) @ last.x)
                bound = -float(last.mip_dual_bound) if last.mip_dual_bound is not None else float("nan")
                rows.append((label, len(model.c), gap, solver, statistics.median(secs), value, bound,
                             last.mip_gap, last.message))
    load = os.getloadavg()
    print(f"# solver paths, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.machine()}, "
          f"{os.cpu_count()} cores, load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, week {args.week}")
    print("| area | variables | gap | path | solve s (median) | plan value | bound | gap reached | status |")
    print("|---|---:|---:|---|---:|---:|---:|---:|---|")
    for label, n, gap, solver, s, value, bound, reached, msg in rows:
        print(f"| {label} | {n:,} | {gap:.0%} | {solver} | {s:.2f} | {value:.1f} | {bound:.1f} | "
              f"{reached:.2%} | {msg} |")


if __name__ == "__main__":
    main()
