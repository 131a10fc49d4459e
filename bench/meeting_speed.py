"""The meeting's waiting times (issue 15 "speed a meeting can live with", issue 16 item 3 start-up).

Usage::

    .venv/bin/python bench/meeting_speed.py [--database URL] [--repeat 3] [--skip-plan]

Prints, each as the median of ``--repeat`` runs with the machine's load (``uptime``) beside it:

* **start-up**: ``hotspot-tasking --help`` and argument errors (a fresh interpreter each, wall and
  CPU seconds), and the forecast contract (``forecast --train --grid --out``) on a borough-sized
  case: Westminster's 12 months of the bundled police.uk API extract on 150 m cells;
* **plan**: the bundled RBKC week built as the Tasking page builds it (``ui.planning.build_plan``,
  with the pipeline's own timings), then the re-solve after a chair's pin, cold (as before) and
  warm-started from the previous plan through ``highspy`` (``tasking.allocation.WarmStart``),
  with both objectives and the checker's verdict.

Without ``--database`` the bundled data are ingested into a throwaway SQLite store first.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def _run_cli(argv: list[str], repeat: int, cwd: Path) -> tuple[float, float, int]:
    """Median wall and CPU seconds of ``hotspot-tasking ARGV`` in a fresh interpreter, and its exit code."""
    walls, cpus, rc = [], [], 0
    code = "import sys; from hotspot_cli.main import main; sys.exit(main(sys.argv[1:]))"
    for _ in range(repeat):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        res = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, cwd=cwd, check=False)
        walls.append(time.perf_counter() - t)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
        rc = res.returncode
    return statistics.median(walls), statistics.median(cpus), rc


def _forecast_case(tmp: Path) -> tuple[Path, Path, int]:
    """Westminster's 12 months (flattened police.uk API CSV) and a 150 m grid over its incidents."""
    import numpy as np
    import pandas as pd

    from spatial.projection import to_bng

    api = REPO / "data" / "policeuk" / "neighbours_api"
    df = pd.concat([pd.read_csv(p, dtype=str) for p in sorted(api.glob("*.csv.gz"))], ignore_index=True)
    df = df[df["query_ward_code"].between("E05000630", "E05000649")]
    train = tmp / "westminster_12_months.csv"
    df.to_csv(train, index=False)
    x, y = to_bng(df["longitude"].astype(float).to_numpy(), df["latitude"].astype(float).to_numpy(), "EPSG:4326")
    cell = 150.0
    ix, iy = np.floor(x / cell).astype(int), np.floor(y / cell).astype(int)
    cells = sorted(set(zip(ix.tolist(), iy.tolist())))
    grid = tmp / "westminster_grid.csv"
    with open(grid, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["cell_id", "x_min", "y_min", "x_max", "y_max"])
        w.writerows([[f"c{i}_{j}", i * cell, j * cell, (i + 1) * cell, (j + 1) * cell] for i, j in cells])
    return train, grid, len(cells)


def startup(repeat: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-meeting-"))
    print(f"\n### Start-up ({_load()})\n")
    print("| command | wall s (median) | CPU s | exit | target |")
    print("|---|---|---|---|---|")
    cases = [(["--help"], 1.5), (["nosuch"], 1.5), (["allocate"], 1.5), (["allocate", "--help"], 1.5),
             (["user", "add", "x"], 1.5), (["pack"], 1.5), (["forecast", "--help"], 1.5),
             (["forecast", "--train", "x.csv"], 1.5)]
    for argv, target in cases:
        w, c, rc = _run_cli(argv, repeat, tmp)
        print(f"| `hotspot-tasking {' '.join(argv)}` | {w:.2f} | {c:.2f} | {rc} | < {target:g} s |", flush=True)
    train, grid, n_cells = _forecast_case(tmp)
    for method in ("auto", "last_period"):
        w, c, rc = _run_cli(["forecast", "--train", str(train), "--grid", str(grid), "--out", str(tmp / "out.csv"),
                             "--method", method], repeat, tmp)
        print(f"| `forecast --method {method}` (Westminster, 12 months, {n_cells} cells of 150 m) | {w:.2f} | "
              f"{c:.2f} | {rc} | < 3 s |", flush=True)


def plan(url: str, repeat: int) -> None:
    from spatial.store import connect
    from tasking.allocation import Pin, WarmStart
    from tasking.candidates import DAY_NAMES
    from tasking.resources import load_roster
    from ui import planning

    engine = connect(url)
    roster = load_roster(planning.roster_path())
    inputs = planning.read_inputs(engine, borough=roster.borough_code)
    week = "2026-W49"
    print(f"\n### Plan for {week} on the bundled RBKC store ({_load()})\n")
    builds, plans = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        out = planning.build_plan(inputs, roster=roster, week=week)
        builds.append(time.perf_counter() - t)
        assert out.plan is not None, out.error
        plans.append(out.plan)
    base = plans[-1]
    tim = base["timings_s"]
    print(f"plan build (build_plan): median {statistics.median(builds):.2f} s of {[round(b, 2) for b in builds]}; "
          "parts of the last: " + ", ".join(f"{k} {v:.2f}" for k, v in tim.items()))
    # a pin: a warden sent, in one of their shifts, to a place another warden visits in the same ward
    # that the plan does not send them to (the first such pin the pre-checks accept)
    from spatial._errors import HotspotError
    from tasking.allocation import solve as _solve  # noqa: F401  (the imports a server has paid)

    asg = base["assignments"]
    tried = []
    for first in asg:
        if first["kind"] != "warden":
            continue
        mine = {r["candidate_id"] for r in asg if r["agent_id"] == first["agent_id"] and r["day"] == first["day"]
                and r["shift"] == first["shift"]}
        for r in asg:
            if r["ward_code"] == first["ward_code"] and r["candidate_id"] not in mine and r["kind"] == "warden":
                tried.append((first["agent_id"], r["candidate_id"], DAY_NAMES.index(first["day"]), first["shift"], 1))
    pin = None
    for cand in dict.fromkeys(tried):
        from tasking.allocation import _precheck_pins  # the pre-check only (no solve)
        from tasking.allocation import with_pins as _with_pins  # noqa: F401
        try:
            _check_pin(inputs, roster, week, cand, _precheck_pins)
        except HotspotError:
            continue
        pin = cand
        break
    if pin is None:
        print("no pin to try")
        return
    print(f"pin: {pin}")
    from tasking.pipeline import plan_week

    def solve(warm: bool) -> tuple[float, dict]:
        t = time.perf_counter()
        p = plan_week(inputs.incidents, roster=roster, wards=inputs.wards, area=inputs.area, week=week,
                      parks=inputs.parks, estates=inputs.estates, pins=[Pin(*pin)],
                      warm_start=WarmStart.from_plan(base, free_agents=[pin[0]]) if warm else None)
        return time.perf_counter() - t, p

    for label, warm in (("cold (scipy milp, as before)", False), ("warm (highspy from the previous plan)", True)):
        runs = [solve(warm) for _ in range(repeat)]
        secs = [r[0] for r in runs]
        p = runs[-1][1]
        print(f"re-solve after the pin, {label}: median {statistics.median(secs):.2f} s of "
              f"{[round(s, 2) for s in secs]}; solve {p['timings_s']['solve']:.2f} s; objective "
              f"{p['objective']:.3f} (bound {p['dual_bound']:.3f}); checker {'ok' if p['check']['ok'] else 'FAILED'}; "
              "parts: " + ", ".join(f"{k} {v:.2f}" for k, v in p["timings_s"].items()), flush=True)


def _check_pin(inputs, roster, week, pin, precheck) -> None:
    """Raise if the pin breaks a rule the pre-checks see (jurisdiction, walking range, shift)."""
    from tasking.allocation import Pin, build_problem
    from tasking.candidates import build_candidates
    from tasking.pipeline import plan_hotspots

    hs, _ = plan_hotspots(inputs.incidents, inputs.area, method="kde", cell_size_m=150.0, hotspot_share=0.05,
                          harm_index="cchi", seed=12345)
    cands = build_candidates(hs, inputs.incidents, wards=inputs.wards, shifts=roster.shifts, planning=roster.planning,
                             parks=inputs.parks, estates=inputs.estates)
    precheck(build_problem(roster, cands, week=week, wards=inputs.wards, pins=[Pin(*pin)]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="store with the bundled data (default: a new SQLite store)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-plan", action="store_true")
    parser.add_argument("--skip-startup", action="store_true")
    args = parser.parse_args(argv)
    print(f"# bench/meeting_speed.py, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{os.cpu_count()} CPUs")
    if not args.skip_startup:
        startup(args.repeat)
    if not args.skip_plan:
        url = args.database
        if not url:
            tmp = Path(tempfile.mkdtemp(prefix="bench-meeting-store-"))
            url = f"sqlite:///{tmp / 'hotspot.sqlite'}"
            from hotspot_cli.main import main as cli

            if cli(["--database", url, "ingest", "--bundled", "--quiet"]) != 0:
                raise SystemExit("ingest --bundled failed")
        plan(url, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
