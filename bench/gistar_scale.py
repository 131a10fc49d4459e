"""Gi* with 9,999 permutations on a large area: the streamed permutations against esda's kept simulations.

West Kent's three districts on 150 m cells (42,891 cells), one real police.uk month of counts
(bundled data/policeuk/west_kent).  Prints the seconds and the peak memory of each path and
whether their p-values are equal.

    .venv/bin/python bench/gistar_scale.py [--month 2025-12] [--permutations 9999] [--skip-esda]
"""

from __future__ import annotations

import argparse
import resource
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Transformer

from spatial.grids import count_in_cells, square_grid
from spatial.hotspots import gistar
from spatial.hotspots.getis_ord import grid_queen_weights
from spatial.significance import permutation_p_two_sided

REPO = Path(__file__).resolve().parents[1]


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--month", default="2025-12")
    ap.add_argument("--permutations", type=int, default=9999)
    ap.add_argument("--skip-esda", action="store_true", help="time the streamed path only")
    args = ap.parse_args()
    area = gpd.read_file(REPO / "data" / "boundaries" / "west_kent_districts.gpkg").to_crs(27700)
    raw = pd.read_csv(REPO / "data" / "policeuk" / "west_kent" / f"{args.month}-kent-street-west-kent.csv.gz")
    raw = raw.dropna(subset=["Longitude", "Latitude"])
    x, y = Transformer.from_crs(4326, 27700, always_xy=True).transform(raw["Longitude"].to_numpy(),
                                                                        raw["Latitude"].to_numpy())
    t = time.perf_counter()
    grid = square_grid(area, cell_size_m=150)
    t_grid = time.perf_counter() - t
    cells = count_in_cells(pd.DataFrame({"x": x, "y": y}), grid)
    print(f"West Kent, {args.month}: {len(raw):,} located incidents, {len(grid):,} cells of 150 m "
          f"(grid {t_grid:.2f} s), {args.permutations:,} permutations; peak {_peak_mib():,.0f} MiB before Gi*")
    t = time.perf_counter()
    out = gistar(cells, permutations=args.permutations, seed=12345, fdr=True)
    t_streamed = time.perf_counter() - t
    print(f"  gistar (streamed permutations): {t_streamed:.2f} s, peak {_peak_mib():,.0f} MiB, "
          f"{int(out['is_hotspot'].sum())} hot cells")
    if args.skip_esda:
        return
    from esda.getisord import G_Local

    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = G_Local(cells["count"].to_numpy(float), grid_queen_weights(cells), transform="B", star=True,
                      permutations=args.permutations, seed=12345, n_jobs=1, keep_simulations=True)
    p_ref = permutation_p_two_sided(np.asarray(ref.Gs, float), np.asarray(ref.rGs, float))
    t_esda = time.perf_counter() - t
    print(f"  esda G_Local keeping the simulations: {t_esda:.2f} s, peak {_peak_mib():,.0f} MiB; "
          f"p-values equal: {bool(np.array_equal(out['gi_p'].to_numpy(), p_ref))}")


if __name__ == "__main__":
    main()
