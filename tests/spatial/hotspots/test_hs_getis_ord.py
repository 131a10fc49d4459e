from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from conftest import PLANT, planted, square, uniform_points

from spatial._errors import SchemaError
from spatial.grids import count_in_cells, square_grid
from spatial.hotspots import GI_CLASSES, benjamini_hochberg, bh_adjust, gistar


def _three_by_three():
    g = square_grid(gpd.GeoSeries([shapely.box(500_000, 200_000, 500_300, 200_300)], crs=27700), cell_size_m=100)
    assert len(g) == 9
    # values by (col offset, row offset) from the south-west cell
    #   row 2:  0 4 2
    #   row 1:  3 5 1
    #   row 0:  1 2 0
    values = {(0, 0): 1, (1, 0): 2, (2, 0): 0, (0, 1): 3, (1, 1): 5, (2, 1): 1, (0, 2): 0, (1, 2): 4, (2, 2): 2}
    g["count"] = [values[(c - 5000, r - 2000)] for c, r in zip(g["col"], g["row"])]
    return g


def test_gistar_z_by_hand_on_3x3():
    g = _three_by_three()
    r = gistar(g, inference="analytic").set_index(["col", "row"])
    # Ord & Getis (1995) Gi* with binary queen weights including self:
    #   z_i = (sum_j w_ij x_j - xbar W_i) / (S sqrt((n W_i - W_i^2) / (n - 1)))
    # n = 9, sum x = 18, xbar = 2, sum x^2 = 60, S^2 = 60/9 - 2^2 = 8/3
    n, xbar, s = 9, 2.0, math.sqrt(60 / 9 - 4)
    # south-west corner: window {1, 2, 3, 5} -> sum 11, W = 4
    z_corner = (11 - xbar * 4) / (s * math.sqrt((n * 4 - 4**2) / (n - 1)))  # = 3 / (1.63299 * 1.58114) = 1.16190
    # west edge middle: window {1, 2, 3, 5, 0, 4} -> sum 15, W = 6
    z_edge = (15 - xbar * 6) / (s * math.sqrt((n * 6 - 6**2) / (n - 1)))  # = 3 / (1.63299 * 1.5) = 1.22474
    # south edge middle: window {1, 2, 0, 3, 5, 1} -> sum 12 = xbar * 6 -> z = 0
    assert z_corner == pytest.approx(1.16190, abs=1e-5) and z_edge == pytest.approx(1.22474, abs=1e-5)
    assert r.loc[(5000, 2000), "gi_z"] == pytest.approx(z_corner, rel=1e-9)
    assert r.loc[(5000, 2001), "gi_z"] == pytest.approx(z_edge, rel=1e-9)
    assert r.loc[(5001, 2000), "gi_z"] == pytest.approx(0.0, abs=1e-12)
    # the centre's window is the whole grid (W = n): the variance is zero, z undefined -> 0, p = 1
    assert r.loc[(5001, 2001), "gi_z"] == 0.0 and r.loc[(5001, 2001), "gi_p"] == 1.0
    # two-sided normal p-value
    assert r.loc[(5000, 2000), "gi_p"] == pytest.approx(math.erfc(z_corner / math.sqrt(2)), rel=1e-9)


def test_bh_on_a_hand_example():
    p = np.array([0.041, 0.001, 0.216, 0.039, 0.008, 0.060, 0.205, 0.042, 0.074, 0.212])
    # sorted: .001 .008 .039 .041 .042 .060 .074 .205 .212 .216 ; thresholds i * .05 / 10:
    #         .005 .010 .015 .020 .025 .030 .035 .040 .045 .050 -> largest i with p_(i) <= threshold is 2
    assert benjamini_hochberg(p, alpha=0.05).tolist() == [False, True, False, False, True,
                                                          False, False, False, False, False]
    # q_(i) = min_{j>=i} m p_(j) / j: .01 .04 .084 .084 .084 .1 .10571 .216 .216 .216
    q = bh_adjust(p)
    expected = {0.001: 0.01, 0.008: 0.04, 0.039: 0.084, 0.041: 0.084, 0.042: 0.084, 0.060: 0.1,
                0.074: 0.74 / 7, 0.205: 0.216, 0.212: 0.216, 0.216: 0.216}
    assert q == pytest.approx([expected[v] for v in p], abs=1e-12)
    # step-up: .02 fails its own threshold (.0125) but is rejected because .04 <= 4 * .05 / 4
    assert benjamini_hochberg([0.02, 0.03, 0.035, 0.04], alpha=0.05).all()
    assert not benjamini_hochberg([0.02, 0.03, 0.045, 0.06], alpha=0.05).any()
    with pytest.raises(SchemaError):
        bh_adjust([0.5, 1.5])


def test_gistar_finds_planted_cluster():
    g = square_grid(square(), cell_size_m=150)
    c = count_in_cells(planted(), g)
    r = gistar(c, seed=1)
    assert r.attrs["params"]["seed"] == 1 and r.attrs["params"]["permutations"] == 9999
    hot = r[r["is_hotspot"]]
    assert len(hot) >= 1
    assert ((hot["x_min"] - 150 <= PLANT[0]) & (hot["x_max"] + 150 >= PLANT[0])
            & (hot["y_min"] - 150 <= PLANT[1]) & (hot["y_max"] + 150 >= PLANT[1])).any()
    # every hot cell is near the plant: nothing hot in the uniform background
    cx, cy = (hot["x_min"] + hot["x_max"]) / 2, (hot["y_min"] + hot["y_max"]) / 2
    assert (np.hypot(cx - PLANT[0], cy - PLANT[1]) < 500).all()
    assert set(r["gi_class"]) <= set(GI_CLASSES)
    assert r.loc[r["is_hotspot"], "gi_class"].str.startswith("hot").all()


def test_csr_yields_no_significant_cells_in_most_seeds():
    g = square_grid(square(), cell_size_m=150)
    seeds = range(20)
    any_sig = 0
    for seed in seeds:
        c = count_in_cells(uniform_points(800, seed=100 + seed), g)
        r = gistar(c, seed=seed)
        any_sig += int((r["gi_q"] <= 0.05).any())
    # BH at 5 % bounds the chance of any false discovery under the global null by 5 %;
    # allow 3 of 20 (P(X >= 4) < 2 % for a true rate of 5 %)
    assert any_sig <= 3


def test_gistar_options_and_errors():
    g = square_grid(square(), cell_size_m=300)
    c = count_in_cells(planted(), g)
    a = gistar(c, inference="analytic")
    d = gistar(c, weights="distance", inference="analytic")  # 1.5 cells = the same 3x3 window
    assert a["gi_z"].to_numpy() == pytest.approx(d["gi_z"].to_numpy())
    with pytest.raises(SchemaError, match="value column"):
        gistar(c, value_col="harm")
    with pytest.raises(SchemaError, match="permutations"):
        gistar(c, permutations=10)
    zero = c.assign(count=0)
    assert (gistar(zero, inference="analytic")["gi_class"] == "not significant").all()
