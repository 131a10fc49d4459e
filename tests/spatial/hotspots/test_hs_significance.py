"""One p-value definition and scipy's FDR, shared by gistar, emerging and the batch pipeline (issue 17 item 5)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from spatial._errors import SchemaError
from spatial.grids import square_grid
from spatial.hotspots import gistar, grid_queen_weights
from spatial.significance import fdr_adjust, fdr_reject, gi_bin, permutation_p_two_sided
from spatial.trends import gistar_by_period


# The hand-written Benjamini-Hochberg functions this project used before scipy's
# false_discovery_control replaced them, kept verbatim here as the reference.
def _old_bh_adjust(p: np.ndarray) -> np.ndarray:
    m = p.size
    order = np.argsort(p, kind="stable")
    ranked = p[order] * m / np.arange(1, m + 1)
    q_sorted = np.minimum.accumulate(ranked[::-1])[::-1]
    q = np.empty(m)
    q[order] = np.minimum(q_sorted, 1.0)
    return q


def _old_getis_reject(p: np.ndarray, alpha: float) -> np.ndarray:
    m = p.size
    reject = np.zeros(m, bool)
    order = np.argsort(p, kind="stable")
    below = p[order] <= alpha * np.arange(1, m + 1) / m
    if below.any():
        reject[order[: int(np.flatnonzero(below).max()) + 1]] = True
    return reject


def _old_trends_reject(p: np.ndarray, alpha: float) -> np.ndarray:
    m = p.size
    order = np.sort(p)
    below = order <= alpha * np.arange(1, m + 1) / m
    if not below.any():
        return np.zeros(m, dtype=bool)
    return p <= order[np.flatnonzero(below).max()]


def _pvalue_sets():
    rng = np.random.default_rng(20261202)
    yield rng.uniform(size=500)
    yield np.concatenate([rng.uniform(0, 0.002, 40), rng.uniform(size=300)])
    # permutation p-values: many ties on a coarse lattice of 2 (k + 1) / 1000
    yield np.minimum(1.0, 2 * (rng.integers(0, 500, 700) + 1) / 1000)
    yield np.array([0.041, 0.001, 0.216, 0.039, 0.008, 0.060, 0.205, 0.042, 0.074, 0.212])
    yield np.array([1.0, 1.0, 1.0])


@pytest.mark.parametrize("k", range(5))
def test_scipy_fdr_equals_the_old_hand_written_functions(k):
    p = list(_pvalue_sets())[k]
    np.testing.assert_allclose(fdr_adjust(p), _old_bh_adjust(p), rtol=0, atol=1e-12)
    for alpha in (0.01, 0.05, 0.10):
        old = _old_getis_reject(p, alpha)
        assert (_old_trends_reject(p, alpha) == old).all()
        assert (fdr_reject(p, alpha=alpha) == old).all()


def test_fdr_refuses_bad_input():
    with pytest.raises(SchemaError, match="between 0 and 1"):
        fdr_adjust([0.5, 1.5])
    with pytest.raises(SchemaError, match="alpha"):
        fdr_reject([0.5], alpha=0)
    assert fdr_adjust([]).size == 0


def test_permutation_p_by_hand():
    sims = np.array([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]])  # P = 9
    # observed 9: one draw >= 9, nine <= 9 -> 2 (1 + 1) / 10 = 0.4
    assert permutation_p_two_sided([9.0], sims).tolist() == [0.4]
    # observed 0.5 (below every draw): #>= 9, #<= 0 -> 2 (0 + 1) / 10 = 0.2, the smallest possible 2 / (P + 1)
    assert permutation_p_two_sided([0.5], sims).tolist() == [0.2]
    # the lower tail counts as much as the upper one on a skewed null (folding about the mean would not)
    skewed = np.array([[0.0] * 5 + [1.0, 1.0, 2.0, 8.0, 30.0]])  # mean 4.2
    lo, hi = permutation_p_two_sided([0.0, 30.0], np.vstack([skewed, skewed]))
    assert hi == pytest.approx(2 * 2 / 11)
    assert lo == 1.0  # 0 is the mode here, not extreme: 5 draws <= 0 -> 2 * 6 / 11 capped at 1
    with pytest.raises(SchemaError, match="units x permutations"):
        permutation_p_two_sided([1.0, 2.0], sims)


def test_gi_bin_levels():
    z = np.array([3.1, 2.2, 1.8, 1.0, -1.8, -2.2, -3.1, 2.5, np.nan])
    q = np.array([0.009, 0.049, 0.099, 0.5, 0.099, 0.049, 0.009, 0.101, 0.001])
    assert gi_bin(z, q).tolist() == [3, 2, 1, 0, -1, -2, -3, 0, 0]


def _clustered_grid():
    g = square_grid(gpd.GeoSeries([shapely.box(500_000, 200_000, 501_500, 201_500)], crs=27700), cell_size_m=100)
    rng = np.random.default_rng(7)
    y = rng.poisson(1.0, len(g)).astype(float)
    cx = (g["x_min"] + 50).to_numpy()
    cy = (g["y_min"] + 50).to_numpy()
    y[(np.abs(cx - 500_350) < 160) & (np.abs(cy - 200_350) < 160)] += 6  # a hot block
    g["count"] = y
    return g


def test_gistar_and_emerging_share_p_values_on_the_same_simulations():
    """The issue's complaint: gistar and emerging gave different p on the same draws."""
    g = _clustered_grid()
    w = grid_queen_weights(g)
    one = gistar(g, permutations=999, seed=99, fdr=False)
    z, p = gistar_by_period(g["count"].to_numpy()[:, None], w, permutations=999, seed=99)
    np.testing.assert_allclose(p[:, 0], one["gi_p"].to_numpy(), rtol=0, atol=0)
    np.testing.assert_allclose(z[:, 0], one["gi_z"].to_numpy(), rtol=1e-12)
    assert (one["gi_p"] < 0.01).sum() >= 5  # the hot block is found
    # and gi_bin follows the classes
    fdr = gistar(g, permutations=999, seed=99)
    expected = {"hot 99": 3, "hot 95": 2, "hot 90": 1, "not significant": 0, "cold 90": -1, "cold 95": -2,
                "cold 99": -3}
    assert fdr["gi_bin"].tolist() == [expected[c] for c in fdr["gi_class"]]
    assert (fdr["gi_bin"] > 0).sum() >= 5  # the planted block, after FDR
