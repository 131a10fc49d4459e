"""Mann-Kendall, Gi* per period and the Esri emerging-hotspot classes on crafted series."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from libpysal.weights import lat2W
from scipy import stats

from spatial._errors import DataWarning, HotspotError, SchemaError
from spatial.trends import CLASSES, classify_emerging, gistar_by_period, mann_kendall

HOT, COLD, NS = (3.0, 0.001), (-3.0, 0.001), (0.5, 0.6)


def test_mann_kendall_hand_computed_with_ties() -> None:
    # x = [1, 2, 2, 4]: pairs (1,2)+ (1,2)+ (1,4)+ (2,2)0 (2,4)+ (2,4)+ -> S = 5, tau = 5/6.
    # Var(S) = [4*3*13 - 2*1*9] / 18 = (156 - 18) / 18 = 7.6667; z = (5 - 1) / sqrt(7.6667) = 1.4446.
    tau, z, p = mann_kendall([1, 2, 2, 4])
    assert tau == pytest.approx(5 / 6)
    assert z == pytest.approx(4 / np.sqrt(138 / 18))
    assert p == pytest.approx(2 * stats.norm.sf(4 / np.sqrt(138 / 18)))


@pytest.mark.parametrize("series", [[3, 1, 4, 1, 5, 9, 2, 6], [9, 8, 8, 6, 5, 5, 2, 1], [1, 1, 2, 3, 3, 3, 7]])
def test_mann_kendall_sign_agrees_with_scipy(series: list[int]) -> None:
    tau, z, _ = mann_kendall(series)
    ref = stats.kendalltau(np.arange(len(series)), series).statistic
    assert np.sign(tau) == np.sign(ref) and np.sign(z) == np.sign(ref)


def test_mann_kendall_degenerate_and_bad() -> None:
    assert mann_kendall([2, 2, 2, 2]) == (0.0, 0.0, 1.0)
    assert mann_kendall([1, 2]) == (0.0, 0.0, 1.0)
    with pytest.raises(HotspotError, match="missing"):
        mann_kendall([1, np.nan, 3])


def _series(states: str, *, trend: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """One unit's z and p over len(states) periods: H hot, C cold, . not significant."""
    z = np.empty(len(states))
    p = np.empty(len(states))
    for t, s in enumerate(states):
        zz, pp = {"H": HOT, "C": COLD, ".": NS}[s]
        z[t] = zz + trend * t * np.sign(zz)
        p[t] = pp
    return z, p


CASES = {
    "new hot spot": ("...........H", 0.0),
    "consecutive hot spot": (".........HHH", 0.0),
    "intensifying hot spot": ("HHHHHHHHHHHH", 0.3),
    "persistent hot spot": ("HHHHHHHHHHHH", 0.0),
    "diminishing hot spot": ("HHHHHHHHHHHH", -0.2),
    "sporadic hot spot": ("..H..H..HH.H", 0.0),
    "oscillating hot spot": ("..C..H..H..H", 0.0),
    "historical hot spot": ("HHHHHHHHHHH.", 0.0),
    "new cold spot": ("...........C", 0.0),
    "consecutive cold spot": ("..........CC", 0.0),
    "intensifying cold spot": ("CCCCCCCCCCCC", 0.3),
    "persistent cold spot": ("CCCCCCCCCCCC", 0.0),
    "diminishing cold spot": ("CCCCCCCCCCCC", -0.2),
    "sporadic cold spot": (".C...C.....C", 0.0),
    "oscillating cold spot": ("HH...C.....C", 0.0),
    "historical cold spot": ("CCCCCCCCCCC.", 0.0),
    "no pattern": ("....HH......", 0.0),
}


@pytest.mark.parametrize("expected", list(CASES))
def test_each_class_on_a_crafted_series(expected: str) -> None:
    states, trend = CASES[expected]
    z, p = _series(states, trend=trend)
    got = classify_emerging(z[None, :], p[None, :], alpha=0.05, fdr=False)
    assert got.tolist() == [expected]


def test_all_classes_together_and_constant_alternation_is_persistent() -> None:
    zs, ps = zip(*(_series(s, trend=t) for s, t in CASES.values()))
    got = classify_emerging(np.vstack(zs), np.vstack(ps), fdr=False)
    assert got.tolist() == list(CASES)
    assert set(CASES) == set(CLASSES)


def test_precedence_final_run_before_oscillation() -> None:
    # Hot long ago, then a final run of cold only: "never cold before the run" -> consecutive cold.
    z, p = _series("HH........CC")
    assert classify_emerging(z[None], p[None], fdr=False)[0] == "consecutive cold spot"


def test_ninety_percent_rule_rounds_up() -> None:
    # 10 of 12 hot (83 %) ending hot with earlier gaps: not persistent (needs 11), so sporadic.
    z, p = _series("H.HHH.HHHHHH")
    assert classify_emerging(z[None], p[None], fdr=False)[0] == "sporadic hot spot"
    z, p = _series("H.HHHHHHHHHH")  # 11 of 12
    assert classify_emerging(z[None], p[None], fdr=False)[0] == "persistent hot spot"


def test_fdr_removes_marginal_bins_and_short_series_warn() -> None:
    # 20 units, one bin at p = 0.04 among p = 0.9: significant alone, not after BH (0.04 > 0.05/20).
    z = np.full((20, 10), 0.1)
    p = np.full((20, 10), 0.9)
    z[0, -1], p[0, -1] = 2.05, 0.04
    assert classify_emerging(z, p, fdr=False)[0] == "new hot spot"
    assert classify_emerging(z, p, fdr=True)[0] == "no pattern"
    with pytest.warns(DataWarning, match="10"):
        classify_emerging(z[:, :5], p[:, :5])
    with pytest.raises(SchemaError):
        classify_emerging(z, p[:, :3])


def test_gistar_by_period_finds_a_growing_cluster() -> None:
    w = lat2W(7, 7)  # rook contiguity on a 7 x 7 lattice (grid cells or areas: any W works)
    rng = np.random.default_rng(1)
    periods = 12
    counts = rng.poisson(2.0, (49, periods)).astype(float)
    cluster = [23, 24, 25, 16, 30]  # centre cell 24 and its rook neighbours
    counts[np.ix_(cluster, range(periods))] += np.linspace(4, 20, periods)
    z, p = gistar_by_period(counts, w)
    assert z.shape == p.shape == (49, periods)
    assert np.all(z[24, 2:] > 3) and z[24, 0] < z[24, -1]
    assert p[24, -1] == pytest.approx(2 * stats.norm.sf(abs(z[24, -1])))  # two-sided
    classes = classify_emerging(z, p, alpha=0.05, fdr=True)
    # Not significant in the first period(s), hot ever since: an emerging (consecutive) hot spot.
    assert classes[24] in {"consecutive hot spot", "intensifying hot spot", "persistent hot spot"}
    assert (classes == "no pattern").mean() > 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        _z1, p1 = gistar_by_period(counts[:, 5:7], w, permutations=99, seed=7)
    _z2, p2 = gistar_by_period(counts[:, 5:7], w, permutations=99, seed=7)
    assert np.array_equal(p1, p2)
    # most extreme of 99 permutations: the shared two-sided definition (spatial.significance) doubles the
    # smaller tail, 2 (0 + 1) / 100 (it was the folded (0 + 1) / 100 = 0.01 before issue 17)
    assert p1[24, 0] == pytest.approx(0.02)
    with pytest.raises(SchemaError, match="units"):
        gistar_by_period(counts[:10], w)


def test_vectorised_gistar_equals_esda_per_period() -> None:
    """The analytic path is one sparse product; it must equal esda's G_Local Zs period by period."""
    from esda.getisord import G_Local

    w = lat2W(9, 8, rook=False)  # queen lattice, no self-weights: Gi* adds them
    rng = np.random.default_rng(3)
    counts = rng.poisson(1.5, (72, 6)).astype(float)
    counts[:, 5] = 0.0  # a period with no variation: z = 0, p = 1
    counts[[10, 11, 19], 3] += 9
    z, p = gistar_by_period(counts, w)
    for t in range(5):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = G_Local(counts[:, t], w, transform="B", star=True, permutations=0)
        assert np.allclose(z[:, t], np.asarray(ref.Zs), atol=1e-12)
        assert np.allclose(p[:, t], 2 * stats.norm.sf(np.abs(np.asarray(ref.Zs))), atol=1e-12)
    assert np.all(z[:, 5] == 0) and np.all(p[:, 5] == 1)


@pytest.mark.parametrize("seed", range(5))
def test_mann_kendall_rows_equals_the_scalar_test(seed: int) -> None:
    from spatial.trends import mann_kendall_rows

    rng = np.random.default_rng(seed)
    x = rng.integers(0, 4, (40, 11)).astype(float)  # many ties
    x[0] = 2.0  # constant row
    rows = mann_kendall_rows(x)
    for i in range(len(x)):
        assert rows[i] == pytest.approx(np.array(mann_kendall(x[i])), abs=1e-12)
