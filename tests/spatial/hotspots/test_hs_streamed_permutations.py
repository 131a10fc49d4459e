"""Gi*'s conditional permutations without keeping the simulations (spatial.hotspots.getis_ord).

``gistar`` used to ask esda for every simulated value (units x permutations floats: 3.4 GB and
about a minute for West Kent's 42,891 cells at 9,999 permutations).  For whole-number values it
now streams the same draws and keeps two counts per unit.  These tests hold it to esda's own
path, computed here independently: the p-values must be equal, not close.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import shapely
from esda.getisord import G_Local
from pyproj import Transformer

from spatial._errors import SchemaError
from spatial.datasets import RBKC, load_boroughs
from spatial.grids import count_in_cells, square_grid
from spatial.harm import harm_weight
from spatial.hotspots import gistar
from spatial.hotspots.getis_ord import decimal_scale, grid_queen_weights, streamed_permutation_p
from spatial.significance import permutation_p_two_sided

REPO = Path(__file__).resolve().parents[3]
RBKC_CSV = REPO / "data" / "policeuk" / "rbkc_api_2018-06" / "rbkc_street_crime_2018-06_police-uk-api.csv"


def _esda_p(y: np.ndarray, w, permutations: int, seed: int) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = G_Local(y, w, transform="B", star=True, permutations=permutations, seed=seed, n_jobs=1,
                      keep_simulations=True)
    return permutation_p_two_sided(np.asarray(ref.Gs, float), np.asarray(ref.rGs, float))


@pytest.fixture(scope="module")
def rbkc_cells() -> gpd.GeoDataFrame:
    raw = pd.read_csv(RBKC_CSV)
    x, y = Transformer.from_crs(4326, 27700, always_xy=True).transform(raw["longitude"].to_numpy(),
                                                                        raw["latitude"].to_numpy())
    pts = pd.DataFrame({"x": x, "y": y, "category": raw["category"]})
    grid = square_grid(load_boroughs((RBKC,)), cell_size_m=150)
    return count_in_cells(pts, grid, weights=harm_weight(pts["category"], index="cchi"))


@pytest.mark.parametrize("column", ["count", "harm"])
def test_gistar_p_values_equal_esdas_on_real_rbkc_counts_and_harm(rbkc_cells, column):
    values = rbkc_cells[column].to_numpy(float)
    assert decimal_scale(values) == (1 if column == "count" else 100)  # counts; CCHI days have two decimals
    out = gistar(rbkc_cells, value_col=column, permutations=999, seed=7, fdr=False)
    expected = _esda_p(values, grid_queen_weights(rbkc_cells), 999, 7)
    assert np.array_equal(out["gi_p"].to_numpy(), expected)
    assert (out["gi_p"] < 0.05).sum() > 10  # a real pattern, not all ones


def test_a_field_with_an_island_and_ties_equals_esda():
    # 30 x 30 cells and one cell far away (no neighbour): many zeros, so ties between draws and observations
    boxes = [shapely.box(c * 100, r * 100, c * 100 + 100, r * 100 + 100) for r in range(30) for c in range(30)]
    boxes.append(shapely.box(50_000, 50_000, 50_100, 50_100))
    g = gpd.GeoDataFrame({"col": [*(c for r in range(30) for c in range(30)), 500],
                          "row": [*(r for r in range(30) for c in range(30)), 500]}, geometry=boxes, crs=27700)
    g["x_min"], g["y_min"] = g.bounds["minx"], g.bounds["miny"]
    g["x_max"], g["y_max"] = g.bounds["maxx"], g.bounds["maxy"]
    rng = np.random.default_rng(3)
    g["count"] = ((rng.random(len(g)) < 0.1) * rng.integers(1, 6, len(g))).astype(float)
    g.loc[len(g) - 1, "count"] = 4.0
    w = grid_queen_weights(g)
    assert w.cardinalities[len(g) - 1] == 0  # no neighbour
    out = gistar(g, permutations=499, seed=11, fdr=False)
    assert np.array_equal(out["gi_p"].to_numpy(), _esda_p(g["count"].to_numpy(float), w, 499, 11))


def test_values_with_many_decimals_still_go_through_esda_and_agree():
    g = square_grid(gpd.GeoSeries([shapely.box(0, 0, 1500, 1500)], crs=27700), cell_size_m=100)
    g["harm"] = np.random.default_rng(5).gamma(0.5, 2.0, len(g))  # no short decimal scale: esda's path, unchanged
    assert decimal_scale(g["harm"].to_numpy()) is None
    out = gistar(g, value_col="harm", permutations=199, seed=2, fdr=False)
    assert np.array_equal(out["gi_p"].to_numpy(), _esda_p(g["harm"].to_numpy(float), grid_queen_weights(g), 199, 2))


def test_weighted_neighbours_are_refused():
    w = sp.csr_matrix(np.array([[1, 0.5, 0], [0.5, 1, 1], [0, 1, 1]], dtype=float))
    with pytest.raises(SchemaError, match="binary weights"):
        streamed_permutation_p(np.array([1.0, 2.0, 3.0]), w, permutations=99, seed=1)
