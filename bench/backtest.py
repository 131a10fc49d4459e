"""Rolling-origin backtest of the forecasters on real police.uk data (issue 3, items 3-4).

Usage::

    .venv/bin/python bench/backtest.py                      # bundled Westminster + H&F extract
    .venv/bin/python bench/backtest.py --london             # also every borough in the London extract
    .venv/bin/python bench/backtest.py --data DIR --boundary BOROUGHS.gpkg

For each data set: a 150 m square grid over the points, keeping cells whose
centre is inside the boroughs holding at least 1 % of the points; monthly
counts per category group (proactive categories excluded); min_train 6 months,
so 12 months give 6 origins; hit rate, PAI and PEI at 1/5/10/20 % of area for
every forecaster, averaged over origins.  Prints markdown to stdout.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from spatial import schema as S
from spatial.backtest import (
    backtest_groups,
    borough_boundary,
    markdown_table,
    read_policeuk_quick,
    square_grid,
    winners_at,
)

NEIGHBOURS = REPO / "data" / "policeuk" / "neighbours_api"
LONDON = Path("/work/shared/data/policeuk/london_api")
LONDON_BOROUGHS = Path("/work/shared/data/boundaries/london_boroughs.gpkg")
BUNDLED_BOROUGHS = REPO / "data" / "boundaries" / "boroughs.gpkg"


def run(name: str, data: Path, boundary_path: Path, *, cell_size_m: float, min_train: int) -> None:
    t0 = time.perf_counter()
    paths = sorted(p for p in data.iterdir() if p.name.endswith((".csv", ".csv.gz")))
    pts = read_policeuk_quick(paths)
    x, y = pts[S.X].to_numpy(), pts[S.Y].to_numpy()
    boundary = borough_boundary(x, y, boundary_path)
    grid = square_grid(x, y, cell_size_m=cell_size_m, boundary=boundary)
    t1 = time.perf_counter()
    res = backtest_groups(pts, grid, cell_size_m=cell_size_m, min_train=min_train)
    t2 = time.perf_counter()
    months = sorted(pts[S.MONTH].unique())
    print(f"\n## {name}\n")
    print(f"{len(paths)} files, {len(pts):,} incidents ({pts.attrs['dropped']} rows without coordinates or "
          f"category dropped), {months[0]}..{months[-1]}; {len(grid):,} cells of {cell_size_m:g} m; "
          f"min_train {min_train} -> {res['target'].nunique()} origins ({', '.join(sorted(res['target'].unique()))}). "
          f"Drugs and possession of weapons excluded. Load {t1 - t0:.1f} s, backtest {t2 - t1:.1f} s.\n")
    inc = res.groupby("group", sort=False)["incidents"].first()
    print("Incidents per group over 12 months: " + ", ".join(f"{g} {int(n):,}" for g, n in inc.items()) + "\n")
    print("Mean over origins; HR = hit rate, PAI = (n/N)/(a/A), PEI = n/n*.\n")
    print(markdown_table(res))
    w = winners_at(res)
    print("\nChosen method (boosted) vs the best baseline (last_period, recency_kde, prospective), "
          "hit rate at 5 % of area:\n")
    print("| group | boosted | best baseline | its hit rate | boosted beats every baseline |")
    print("|---|---:|---|---:|---|")
    for r in w.itertuples(index=False):
        print(f"| {r.group} | {r.boosted:.3f} | {r.best_baseline} | {r.best_baseline_hr:.3f} | "
              f"{'yes' if r.beats_all else 'no'} |")
    print(f"\nBoosted beats every baseline at 5 % in {int(w['beats_all'].sum())} of {len(w)} groups.")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--london", action="store_true", help="also run the London extract")
    ap.add_argument("--data", type=Path, help="folder of police.uk CSVs instead of the defaults")
    ap.add_argument("--boundary", type=Path, help="borough polygons to clip the grid to")
    ap.add_argument("--cell-size", type=float, default=150.0)
    ap.add_argument("--min-train", type=int, default=6)
    a = ap.parse_args()
    if a.data:
        run(str(a.data), a.data, a.boundary or LONDON_BOROUGHS, cell_size_m=a.cell_size, min_train=a.min_train)
        return 0
    run("Westminster + Hammersmith & Fulham (bundled API extract)", NEIGHBOURS, BUNDLED_BOROUGHS,
        cell_size_m=a.cell_size, min_train=a.min_train)
    if a.london:
        run("London (all boroughs, police.uk API extract)", LONDON, LONDON_BOROUGHS,
            cell_size_m=a.cell_size, min_train=a.min_train)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
