"""Emerging hotspots: Getis-Ord Gi* per period, a Mann-Kendall trend, and Esri's pattern classes.

The same functions work on grid cells and on areas (wards, LSOAs, housing
estates, parks): they take a count matrix of units x periods and a libpysal
weights object describing which units neighbour which.

References
----------
Esri (2024) *How Emerging Hot Spot Analysis works*, ArcGIS Pro Space Time
Pattern Mining toolbox documentation (the pattern definitions below).

Ord, J. K. and Getis, A. (1995) Local spatial autocorrelation statistics:
distributional issues and an application. *Geographical Analysis* 27(4): 286-306.

Mann, H. B. (1945) Nonparametric tests against trend. *Econometrica* 13: 245-259;
Kendall, M. G. (1975) *Rank Correlation Methods*, 4th ed., Griffin (variance with ties).

Benjamini, Y. and Hochberg, Y. (1995) Controlling the false discovery rate.
*JRSS B* 57(1): 289-300.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
from scipy import sparse, stats

from spatial._errors import DataWarning, HotspotError, SchemaError

__all__ = [
    "CLASSES",
    "benjamini_hochberg",
    "classify_emerging",
    "gistar_by_period",
    "mann_kendall",
    "mann_kendall_rows",
]

#: Every class :func:`classify_emerging` can return.
CLASSES: tuple[str, ...] = (
    "new hot spot", "consecutive hot spot", "intensifying hot spot", "persistent hot spot",
    "diminishing hot spot", "sporadic hot spot", "oscillating hot spot", "historical hot spot",
    "new cold spot", "consecutive cold spot", "intensifying cold spot", "persistent cold spot",
    "diminishing cold spot", "sporadic cold spot", "oscillating cold spot", "historical cold spot",
    "no pattern",
)


def mann_kendall(series: Sequence[float] | np.ndarray) -> tuple[float, float, float]:
    """Mann-Kendall trend test with the tie correction.

    ``S = sum_{i<j} sign(x_j - x_i)``;
    ``Var(S) = [n(n-1)(2n+5) - sum_g t_g(t_g-1)(2t_g+5)] / 18`` where ``t_g`` is
    the size of each group of tied values; ``z = (S - sign(S)) / sqrt(Var(S))``
    (continuity correction) and a two-sided normal p-value.

    Parameters
    ----------
    series
        Values in time order (missing values are not allowed).

    Returns
    -------
    (tau, z, p)
        Kendall's tau-a ``S / (n(n-1)/2)``, the z statistic and its two-sided
        p-value.  A series with fewer than 3 values or no variance gives
        ``(0.0, 0.0, 1.0)``.

    Raises
    ------
    HotspotError
        If the series has missing or infinite values.

    Notes
    -----
    Mann (1945); Kendall (1975).  Esri's Emerging Hot Spot Analysis applies the
    test to each location's series of Gi* z-scores.

    Examples
    --------
    >>> tau, z, p = mann_kendall([1, 2, 2, 4])
    >>> round(tau, 4), round(z, 4)
    (0.8333, 1.4446)
    """
    x = np.asarray(series, dtype=float).reshape(-1)
    if not np.all(np.isfinite(x)):
        msg = "`series` has missing or infinite values; the Mann-Kendall test needs a complete series"
        raise HotspotError(msg)
    n = x.size
    if n < 3:
        return 0.0, 0.0, 1.0
    diff = x[None, :] - x[:, None]
    s = float(np.sign(diff[np.triu_indices(n, k=1)]).sum())
    _, ties = np.unique(x, return_counts=True)
    var = (n * (n - 1) * (2 * n + 5) - float(np.sum(ties * (ties - 1) * (2 * ties + 5)))) / 18.0
    tau = s / (n * (n - 1) / 2)
    if var <= 0 or s == 0:
        return tau, 0.0, 1.0
    z = (s - math.copysign(1.0, s)) / math.sqrt(var)
    p = float(2 * stats.norm.sf(abs(z)))
    return tau, z, p


def mann_kendall_rows(values: np.ndarray) -> np.ndarray:
    """:func:`mann_kendall` for every row of a 2-D array at once (vectorised).

    Returns an array of shape ``(rows, 3)``: tau, z and the two-sided p-value per
    row, identical to calling :func:`mann_kendall` on each row.  Ties are
    corrected with ``sum_g t_g(t_g-1)(2t_g+5) = sum_i (c_i-1)(2c_i+5)`` where
    ``c_i`` is how many values of the row equal value ``i`` (each tie group of
    size ``t`` contributes ``t`` equal terms).

    >>> out = mann_kendall_rows(np.array([[1, 2, 2, 4], [3, 3, 3, 3]]))
    >>> np.round(out[0], 4).tolist(), out[1].tolist()
    ([0.8333, 1.4446, 0.1486], [0.0, 0.0, 1.0])
    """
    x = np.asarray(values, dtype=float)
    if x.ndim != 2:
        msg = f"`values` must be 2-D (rows x periods), got shape {x.shape}"
        raise HotspotError(msg)
    if not np.all(np.isfinite(x)):
        msg = "`values` has missing or infinite values; the Mann-Kendall test needs complete series"
        raise HotspotError(msg)
    rows, n = x.shape
    out = np.zeros((rows, 3))
    out[:, 2] = 1.0
    if n < 3 or rows == 0:
        return out
    iu, ju = np.triu_indices(n, k=1)
    s = np.sign(x[:, ju] - x[:, iu]).sum(axis=1)
    c = (x[:, :, None] == x[:, None, :]).sum(axis=2).astype(float)
    ties = ((c - 1) * (2 * c + 5)).sum(axis=1)
    var = (n * (n - 1) * (2 * n + 5) - ties) / 18.0
    tau = s / (n * (n - 1) / 2)
    ok = (var > 0) & (s != 0)
    z = np.zeros(rows)
    z[ok] = (s[ok] - np.sign(s[ok])) / np.sqrt(var[ok])
    p = np.ones(rows)
    p[ok] = 2 * stats.norm.sf(np.abs(z[ok]))
    out[:, 0], out[:, 1], out[:, 2] = tau, z, p
    return out


def benjamini_hochberg(p: np.ndarray, *, alpha: float) -> np.ndarray:
    """Boolean mask of p-values significant under Benjamini-Hochberg FDR control at ``alpha``.

    Parameters
    ----------
    p
        One-dimensional p-values.
    alpha
        False discovery rate.

    Returns
    -------
    numpy.ndarray
        ``True`` where ``p <= p_(k)``, the largest ``p_(k) <= k alpha / m``.
    """
    p = np.asarray(p, dtype=float)
    m = p.size
    if m == 0:
        return np.zeros(0, dtype=bool)
    order = np.sort(p)
    below = order <= alpha * np.arange(1, m + 1) / m
    if not below.any():
        return np.zeros(m, dtype=bool)
    cut = order[np.flatnonzero(below).max()]
    return p <= cut


def gistar_by_period(counts: np.ndarray, w: object, *, permutations: int = 0,
                     seed: int | None = 12345) -> tuple[np.ndarray, np.ndarray]:
    """Getis-Ord Gi* z-scores and two-sided p-values for every period.

    Parameters
    ----------
    counts
        Units x periods counts (or harm), units in ``w``'s order.
    w
        libpysal ``W`` (or ``Graph``) of the units; binary weights are used and a
        self-weight of 1 is added (Gi*).
    permutations
        0 for the analytic normal p-value; e.g. 999 for conditional-permutation
        inference (fixed ``seed``).
    seed
        Seed of the permutations.

    Returns
    -------
    (z, p)
        Arrays of units x periods.  A period with no variation (e.g. all zero)
        gets ``z = 0`` and ``p = 1``.

    Notes
    -----
    Calls ``esda.G_Local(y, w, transform="B", star=True, ...)`` for each period
    (Ord & Getis 1995).  esda 2.9's ``G_Local`` does not take ``alternative=``, so
    the two-sided p-value is computed here: analytic ``2 * P(Z > |z|)``, or with
    permutations the folded share ``(#{|G_sim - mean| >= |G - mean|} + 1) /
    (permutations + 1)`` from the kept simulations.  esda's deprecation warning
    about its own default alternative is silenced because it does not apply.
    """
    from esda.getisord import G_Local

    y = np.asarray(counts, dtype=float)
    if y.ndim != 2:
        msg = f"`counts` must be 2-D (units x periods), got shape {y.shape}"
        raise SchemaError(msg)
    n_units = getattr(w, "n", None)
    if n_units is None and hasattr(w, "n_nodes"):
        n_units = w.n_nodes
    if n_units != y.shape[0]:
        msg = f"`counts` has {y.shape[0]} units but the weights describe {n_units}; give one row per unit of `w`"
        raise SchemaError(msg)
    if permutations < 0:
        msg = f"`permutations` was {permutations} but must be 0 (analytic) or a positive number such as 999"
        raise HotspotError(msg)
    if permutations == 0:
        return _gistar_analytic(y, w)
    z = np.zeros_like(y)
    p = np.ones_like(y)
    for t in range(y.shape[1]):
        col = y[:, t]
        if np.ptp(col) == 0:
            continue
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"esda(\..*)?")
            warnings.filterwarnings("ignore", message=".*alternative.*", category=DeprecationWarning)
            lg = G_Local(col, w, transform="B", star=True, permutations=int(permutations), seed=seed,
                         keep_simulations=True)
        zt = np.asarray(lg.Zs, dtype=float)
        z[:, t] = np.nan_to_num(zt, nan=0.0)
        if permutations:
            sims = np.asarray(lg.rGs, dtype=float)
            centre = sims.mean(axis=1, keepdims=True)
            extreme = (np.abs(sims - centre) >= np.abs(np.asarray(lg.Gs)[:, None] - centre)).sum(axis=1)
            p[:, t] = (extreme + 1) / (permutations + 1)
        else:
            p[:, t] = np.nan_to_num(2 * stats.norm.sf(np.abs(zt)), nan=1.0)
    return z, p


def _binary_star(w: object) -> sparse.csr_array:
    """Binary weights of ``w`` with a self-weight of 1 (esda's ``transform="B", star=True``)."""
    m = w.sparse if hasattr(w, "sparse") else w.to_W().sparse  # libpysal W or Graph
    b = sparse.csr_array(m, dtype=float, copy=True)
    b.data[:] = 1.0
    b.eliminate_zeros()
    b = b.tolil()
    b.setdiag(1.0)
    return sparse.csr_array(b.tocsr())


def _gistar_analytic(y: np.ndarray, w: object) -> tuple[np.ndarray, np.ndarray]:
    """Gi* z-scores and analytic two-sided p-values for all periods in one sparse product.

    Ord & Getis (1995), eq. for ``G*_i`` with binary weights including self:
    ``z_i = (sum_j w_ij y_j - W_i ybar) / (S sqrt((n W_i - W_i^2) / (n - 1)))`` with
    ``W_i = sum_j w_ij`` and ``S^2 = mean(y^2) - ybar^2``.  Equal to esda's
    ``G_Local(..., transform="B", star=True).Zs`` (tested), without a Python loop.
    A period with no variation, or a unit whose neighbourhood is every unit, gets
    ``z = 0`` and ``p = 1``.
    """
    b = _binary_star(w)
    n = y.shape[0]
    wi = np.asarray(b.sum(axis=1)).ravel()[:, None]
    lag = b @ y
    ybar = y.mean(axis=0, keepdims=True)
    s = np.sqrt(np.maximum((y * y).mean(axis=0, keepdims=True) - ybar**2, 0.0))
    den = s * np.sqrt(np.maximum(n * wi - wi**2, 0.0) / max(n - 1, 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (lag - wi * ybar) / den
    bad = ~np.isfinite(z) | (den <= 1e-12 * np.maximum(np.abs(lag), 1.0))
    z[bad] = 0.0
    p = 2 * stats.norm.sf(np.abs(z))
    p[bad] = 1.0
    return z, p


def _run_at_end(flags: np.ndarray) -> int:
    """Length of the run of ``True`` ending at the last element."""
    k = 0
    for v in flags[::-1]:
        if not v:
            break
        k += 1
    return k


def _classify_one(hot: np.ndarray, cold: np.ndarray, trend: np.ndarray, *, share: float,
                  trend_alpha: float) -> str:
    n = hot.size
    need = math.ceil(share * n - 1e-9)
    for kind, mine, other, sign in (("hot", hot, cold, 1.0), ("cold", cold, hot, -1.0)):
        if not mine[-1]:
            continue
        total = int(mine.sum())
        run = _run_at_end(mine)
        before_run = mine[: n - run]
        if total >= need:
            tau, _, pv = trend
            if pv < trend_alpha and sign * tau > 0:
                return f"intensifying {kind} spot"
            if pv < trend_alpha and sign * tau < 0:
                return f"diminishing {kind} spot"
            return f"persistent {kind} spot"
        if not before_run.any():
            return f"new {kind} spot" if run == 1 else f"consecutive {kind} spot"
        if other[:-1].any():
            return f"oscillating {kind} spot"
        return f"sporadic {kind} spot"
    for kind, mine in (("hot", hot), ("cold", cold)):
        if int(mine.sum()) >= need:
            return f"historical {kind} spot"
    return "no pattern"


def classify_emerging(z: np.ndarray, p: np.ndarray, *, alpha: float = 0.05, fdr: bool = True,
                      share: float = 0.9, trend_alpha: float = 0.05) -> np.ndarray:
    """Esri Emerging Hot Spot Analysis pattern of each unit from its Gi* series.

    A bin (unit, period) is a significant hot spot when its p-value is
    significant and ``z > 0``, a cold spot when significant and ``z < 0``.  With
    ``fdr`` the Benjamini-Hochberg procedure is applied across units within each
    period.  Writing "hot" for "significant hot spot" and *share* for 90 % of the
    periods (rounded up, e.g. 11 of 12), the classes are, in the order tested:

    * **intensifying / persistent / diminishing hot spot** - hot in the final
      period and in at least *share* of all periods; the Mann-Kendall test on the
      unit's Gi* z-scores shows a significant rise (intensifying), a significant
      fall (diminishing) or no significant trend (persistent);
    * **new hot spot** - hot in the final period and never before;
    * **consecutive hot spot** - one uninterrupted run of at least two hot
      periods ending in the final period, never hot before that run, and hot in
      less than *share* of periods;
    * **oscillating hot spot** - hot in the final period, a significant *cold*
      spot in some earlier period, hot in less than *share* of periods;
    * **sporadic hot spot** - hot in the final period, on and off hot before,
      never cold, hot in less than *share* of periods;
    * **historical hot spot** - not hot in the final period but hot in at least
      *share* of periods;
    * the same eight **cold spot** classes with hot and cold swapped;
    * **no pattern** - none of the above.

    Units whose final period is significant are classified by that state first
    (a unit cold in the final period is never "historical hot").

    Parameters
    ----------
    z, p
        Units x periods Gi* z-scores and two-sided p-values (e.g. from
        :func:`gistar_by_period`), periods in time order.
    alpha
        Significance level of each bin (FDR level when ``fdr``).
    fdr
        Control the false discovery rate across units in each period.
    share
        The "90 % of time steps" threshold.
    trend_alpha
        Significance level of the Mann-Kendall trend.

    Returns
    -------
    numpy.ndarray
        One class name (see :data:`CLASSES`) per unit.

    Raises
    ------
    SchemaError
        If ``z`` and ``p`` differ in shape or are not 2-D.

    Warns
    -----
    DataWarning
        With fewer than 10 periods (Esri requires at least 10 time steps; the
        trend test has little power below that).

    Notes
    -----
    Definitions paraphrased from Esri, *How Emerging Hot Spot Analysis works*
    (ArcGIS Pro documentation); Gi* from Ord & Getis (1995); Mann-Kendall from
    Mann (1945) and Kendall (1975); FDR from Benjamini & Hochberg (1995).
    """
    z = np.asarray(z, dtype=float)
    p = np.asarray(p, dtype=float)
    if z.ndim != 2 or z.shape != p.shape:
        msg = f"`z` and `p` must be 2-D arrays of the same shape (units x periods); got {z.shape} and {p.shape}"
        raise SchemaError(msg)
    if not (0 < alpha < 1) or not (0 < share <= 1):
        msg = f"`alpha` ({alpha}) must be in (0, 1) and `share` ({share}) in (0, 1]"
        raise HotspotError(msg)
    n_units, n_periods = z.shape
    if n_periods == 0:
        msg = "no periods to classify"
        raise HotspotError(msg)
    if n_periods < 10:
        warnings.warn(f"only {n_periods} period(s): Emerging Hot Spot Analysis needs at least 10 for a "
                      "meaningful trend; classes are computed but the trend test has little power",
                      DataWarning, stacklevel=2)
    pz = np.where(np.isfinite(p), p, 1.0)
    if fdr:
        sig = np.column_stack([benjamini_hochberg(pz[:, t], alpha=alpha) for t in range(n_periods)])
    else:
        sig = pz <= alpha
    zz = np.nan_to_num(z, nan=0.0)
    hot = sig & (zz > 0)
    cold = sig & (zz < 0)
    out = np.full(n_units, "no pattern", dtype=object)
    # only units significant in some period can get a class other than "no pattern"
    todo = np.flatnonzero(hot.any(axis=1) | cold.any(axis=1))
    if todo.size:
        trend = mann_kendall_rows(zz[todo])
        for k, i in enumerate(todo):
            out[i] = _classify_one(hot[i], cold[i], trend[k], share=share, trend_alpha=trend_alpha)
    return out
