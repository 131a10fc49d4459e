"""Builders for the hotspot tests: a planted cluster on a uniform background, and grids.

Coordinates are EPSG:27700 metres inside a 3 km square whose south-west corner is
(X0, Y0), a point in west London, so the data look like real BNG coordinates.
"""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

REPO = Path(__file__).resolve().parents[3]
if str(REPO) not in sys.path:  # `spatial` must resolve to the package, not tests/spatial
    sys.path.insert(0, str(REPO))

X0, Y0, SIDE = 524_000.0, 177_000.0, 3_000.0
#: Where the planted cluster is centred.
PLANT = (X0 + 1_000.0, Y0 + 2_000.0)


def square(side: float = SIDE) -> gpd.GeoSeries:
    return gpd.GeoSeries([shapely.box(X0, Y0, X0 + side, Y0 + side)], crs=27700)


def uniform_points(n: int, seed: int, *, side: float = SIDE) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": X0 + rng.uniform(0, side, n), "y": Y0 + rng.uniform(0, side, n),
                         "category": "other-theft"})


def planted(seed: int = 7, *, n_background: int = 1000, n_cluster: int = 150, sd_m: float = 60.0) -> pd.DataFrame:
    """Uniform background plus a Gaussian cluster at PLANT (category burglary)."""
    rng = np.random.default_rng(seed)
    bg = uniform_points(n_background, seed)
    cl = pd.DataFrame({"x": rng.normal(PLANT[0], sd_m, n_cluster), "y": rng.normal(PLANT[1], sd_m, n_cluster),
                       "category": "burglary"})
    return pd.concat([bg, cl], ignore_index=True)


@pytest.fixture
def planted_points() -> pd.DataFrame:
    return planted()
