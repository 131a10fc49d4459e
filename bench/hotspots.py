"""Time every hotspot output on RBKC, the neighbour demo area and every London borough.

Usage::

    .venv/bin/python bench/hotspots.py [--skip-london] [--gi-permutations 999]

Scenarios
---------
1. RBKC, June 2018 (``data/policeuk/rbkc_api_2018-06``), with ward league and rates.
2. Westminster + Hammersmith & Fulham, 12 months (``data/policeuk/neighbours_api``), per borough.
3. Every borough of the London extract (``../shared/data/policeuk/london_api``, 12 months,
   about 580,000 rows), per-borough 150 m grids from ``london_boroughs.gpkg``.

Outputs timed per borough: grid + counts (with CCHI harm), KDE (quartic, bandwidth by
likelihood cross-validation), Gi* (permutation inference, ``--gi-permutations``),
DBSCAN clusters, concentration, and a ward league table.  Targets (issue 3): RBKC and
neighbours under 3 s, London under 60 s and 4 GB.  Prints seconds and peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from spatial.areas import cell_period_counts
from spatial.datasets import HAMMERSMITH_FULHAM, RBKC, WESTMINSTER, load_boroughs
from spatial.grids import count_in_cells, square_grid
from spatial.harm import harm_weight
from spatial.hotspots import (
    area_counts_from_incidents,
    concentration,
    density_clusters,
    emerging_hotspots,
    gistar,
    kde,
    league_table,
    load_population,
)

LONDON_DIR = REPO.parent / "shared" / "data" / "policeuk" / "london_api"
LONDON_BOROUGHS = REPO.parent / "shared" / "data" / "boundaries" / "london_boroughs.gpkg"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def read_api(files: list[Path]) -> pd.DataFrame:
    """police.uk API CSVs -> x, y (EPSG:27700), category, month, ward_code."""
    cols = ["latitude", "longitude", "category", "month", "query_ward_code"]
    df = pd.concat([pd.read_csv(f, usecols=cols, dtype={"category": "string", "month": "string",
                                                        "query_ward_code": "string"}) for f in files],
                   ignore_index=True)
    df = df.dropna(subset=["latitude", "longitude"])
    x, y = Transformer.from_crs(4326, 27700, always_xy=True).transform(df["longitude"].to_numpy(float),
                                                                       df["latitude"].to_numpy(float))
    return pd.DataFrame({"x": x, "y": y, "category": df["category"].to_numpy(dtype=object),
                         "month": df["month"].to_numpy(dtype=object),
                         "ward_code": df["query_ward_code"].to_numpy(dtype=object)})


def in_area(inc: pd.DataFrame, area: gpd.GeoDataFrame) -> pd.DataFrame:
    union = shapely.union_all(np.asarray(area.geometry.values, dtype=object))
    minx, miny, maxx, maxy = union.bounds
    box = (inc["x"] >= minx) & (inc["x"] <= maxx) & (inc["y"] >= miny) & (inc["y"] <= maxy)
    sub = inc[box]
    return sub[shapely.contains_xy(union, sub["x"].to_numpy(), sub["y"].to_numpy())].reset_index(drop=True)


def all_outputs(inc: pd.DataFrame, area: gpd.GeoDataFrame, *, permutations: int,
                population: pd.Series | None = None) -> dict[str, float]:
    """Run every hotspot output once; seconds per output."""
    t: dict[str, float] = {}
    s = time.perf_counter()
    grid = square_grid(area, cell_size_m=150)
    w = harm_weight(inc["category"])
    cells = count_in_cells(inc, grid, weights=w)
    t["grid+counts"] = time.perf_counter() - s
    s = time.perf_counter()
    kde(inc, grid)
    t["kde"] = time.perf_counter() - s
    s = time.perf_counter()
    gistar(cells, permutations=permutations, seed=12345)
    t["gistar"] = time.perf_counter() - s
    s = time.perf_counter()
    density_clusters(inc, weights=w)
    t["dbscan"] = time.perf_counter() - s
    s = time.perf_counter()
    concentration(cells)
    t["concentration"] = time.perf_counter() - s
    s = time.perf_counter()
    league_table(area_counts_from_incidents(inc), population=population,
                 sort_by="harm_per_1000" if population is not None else "harm")
    t["league"] = time.perf_counter() - s
    months = sorted(inc["month"].dropna().unique()) if "month" in inc.columns else []
    if len(months) >= 2:
        s = time.perf_counter()
        counts = cell_period_counts(inc, grid, periods=months)
        emerging_hotspots(counts, grid)
        t["emerging"] = time.perf_counter() - s
    return t


def report(name: str, rows: list[tuple[str, int, int, dict[str, float]]], wall: float) -> None:
    tot: dict[str, float] = defaultdict(float)
    for _b, _n, _c, t in rows:
        for k, v in t.items():
            tot[k] += v
    n = sum(r[1] for r in rows)
    cells = sum(r[2] for r in rows)
    parts = ", ".join(f"{k} {v:.2f}" for k, v in tot.items())
    print(f"{name}: {len(rows)} borough(s), {n:,} incidents, {cells:,} cells; "
          f"compute {sum(tot.values()):.2f} s ({parts}); wall incl. reading {wall:.2f} s; "
          f"peak RSS {peak_rss_mb():,.0f} MB")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gi-permutations", type=int, default=999)
    ap.add_argument("--skip-london", action="store_true")
    args = ap.parse_args(argv)
    perms = args.gi_permutations
    print(f"Gi* permutations: {perms}")

    # warm imports (sklearn, esda) so the first scenario is not charged for them
    warm = pd.DataFrame({"x": np.linspace(525_000, 526_000, 50), "y": np.linspace(178_000, 179_000, 50),
                         "category": "burglary", "ward_code": "E05009388"})
    all_outputs(warm, load_boroughs((RBKC,)), permutations=99)

    s0 = time.perf_counter()
    rbkc = read_api(sorted((REPO / "data" / "policeuk" / "rbkc_api_2018-06").glob("*.csv")))
    area = load_boroughs((RBKC,))
    inc = in_area(rbkc, area)
    t = all_outputs(inc, area, permutations=perms, population=load_population("ward"))
    report("RBKC 2018-06", [(RBKC, len(inc), len(square_grid(area)), t)], time.perf_counter() - s0)

    s0 = time.perf_counter()
    nb = read_api(sorted((REPO / "data" / "policeuk" / "neighbours_api").glob("*.csv.gz")))
    rows = []
    for code in (WESTMINSTER, HAMMERSMITH_FULHAM):
        area = load_boroughs((code,))
        inc = in_area(nb, area)
        rows.append((code, len(inc), len(square_grid(area)), all_outputs(inc, area, permutations=perms)))
    report(f"Westminster + H&F, {nb['month'].nunique()} months", rows, time.perf_counter() - s0)

    if args.skip_london or not LONDON_DIR.exists():
        return 0
    s0 = time.perf_counter()
    lon = read_api(sorted(LONDON_DIR.glob("*.csv.gz")))
    read_s = time.perf_counter() - s0
    boroughs = gpd.read_file(LONDON_BOROUGHS).to_crs(27700)
    rows = []
    for _, b in boroughs.iterrows():
        area = gpd.GeoDataFrame({"borough_code": [b["gss_code"]]}, geometry=[b.geometry], crs=27700)
        inc = in_area(lon, area)
        if len(inc) < 50:  # City of London: policed by City of London Police, not in the MPS extract
            print(f"skipped {b['gss_code']} ({b['name']}): {len(inc)} incidents")
            continue
        rows.append((b["gss_code"], len(inc), len(square_grid(area)), all_outputs(inc, area, permutations=perms)))
    print(f"London read + project: {len(lon):,} rows in {read_s:.2f} s")
    report(f"London, {lon['month'].nunique()} months", rows, time.perf_counter() - s0)
    slow = sorted(rows, key=lambda r: -sum(r[3].values()))[:3]
    print("slowest boroughs: " + "; ".join(f"{b} {n:,} incidents {sum(t.values()):.2f} s" for b, n, _c, t in slow))
    return 0


if __name__ == "__main__":
    sys.exit(main())
