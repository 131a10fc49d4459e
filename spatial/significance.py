"""One definition of significance for every local statistic: permutation p-values, FDR, Gi* bins.

Used by :func:`spatial.hotspots.gistar`, :func:`spatial.trends.gistar_by_period`
(so :func:`spatial.hotspots.emerging_hotspots`) and the batch pipeline
(:mod:`spatial.distributed`), so ``gistar`` and ``emerging`` call the same
cells significant on the same simulations.

Two-sided permutation p-value
-----------------------------
With ``P`` conditional-randomisation draws ``G_sim`` of a unit's statistic and
the observed ``G``::

    p = min(1, 2 (1 + min(#{G_sim >= G}, #{G_sim <= G})) / (P + 1))

twice the smaller one-sided Monte Carlo p-value, each counting the observed
value as one of the ``P + 1`` equally likely arrangements.  This is the
equal-tailed two-sided p of Davison & Hinkley (1997, section 4.4.1: "twice the
smaller of the two one-sided levels") with the ``+1`` of North, Curtis & Sham
(2002) that keeps it a valid p-value.  It was chosen over esda's ``"folded"``
alternative (``(1 + #{|G_sim - mean| >= |G - mean|}) / (P + 1)``) because the
null distribution of a neighbourhood sum of sparse crime counts is right-skewed:
folding it about its mean lets the long upper tail swallow the short lower one,
so a cell with no crime around it can never be a significant cold spot, and
hot cells get p-values that depend on how far the *upper* tail reaches.  The
equal-tailed value treats each tail on its own.  The smallest attainable p is
``2 / (P + 1)``.

False-discovery control
-----------------------
Benjamini & Hochberg (1995), through ``scipy.stats.false_discovery_control``
(``method="bh"``): adjusted values ``q_(i) = min_{j >= i} min(1, m p_(j) / j)``;
rejecting where ``q <= alpha`` is the step-up procedure at FDR ``alpha``.

Gi* confidence bins
-------------------
:func:`gi_bin` gives ArcGIS's ``Gi_Bin`` field (Esri, *How Hot Spot Analysis
(Getis-Ord Gi*) works*): +3 / +2 / +1 for hot spots at 99 / 95 / 90 %
confidence, -3 / -2 / -1 for cold spots, 0 not significant; here on the
FDR-adjusted value when FDR is on (as ArcGIS's "Apply False Discovery Rate
Correction").

References
----------
Benjamini, Y. and Hochberg, Y. (1995) Controlling the false discovery rate.
*JRSS B* 57(1): 289-300.
Davison, A. C. and Hinkley, D. V. (1997) *Bootstrap Methods and their
Application*. Cambridge University Press, section 4.4.1.
North, B. V., Curtis, D. and Sham, P. C. (2002) A note on the calculation of
empirical P values from Monte Carlo procedures. *AJHG* 71(2): 439-441.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from spatial._errors import SchemaError

__all__ = ["CONFIDENCE_LEVELS", "fdr_adjust", "fdr_reject", "gi_bin", "permutation_p_from_counts",
           "permutation_p_two_sided"]

#: The confidence levels of the hot/cold classes and bins, strictest first.
CONFIDENCE_LEVELS: tuple[float, ...] = (0.99, 0.95, 0.90)


def permutation_p_two_sided(observed: np.ndarray | Sequence[float], simulated: np.ndarray) -> np.ndarray:
    """Two-sided permutation p-value of each unit (see the module notes for the definition).

    Parameters
    ----------
    observed
        The observed statistic of each of ``n`` units.
    simulated
        ``n x P`` simulated statistics (e.g. esda's ``rGs`` with ``keep_simulations=True``).

    Examples
    --------
    >>> sims = np.arange(1, 20, dtype=float)[None, :]   # 19 draws 1..19
    >>> permutation_p_two_sided([19.0], sims).tolist()  # upper tail: 1 draw >= 19 -> 2 (1 + 1) / 20
    [0.2]
    >>> permutation_p_two_sided([10.0], sims).tolist()  # the middle: capped at 1
    [1.0]
    """
    obs = np.asarray(observed, dtype=float).reshape(-1)
    sims = np.asarray(simulated, dtype=float)
    if sims.ndim != 2 or sims.shape[0] != obs.size or sims.shape[1] < 1:
        msg = (f"`simulated` must be units x permutations with {obs.size} rows and at least one column, "
               f"got shape {sims.shape}")
        raise SchemaError(msg)
    ge = (sims >= obs[:, None]).sum(axis=1)
    le = (sims <= obs[:, None]).sum(axis=1)
    return permutation_p_from_counts(ge, le, permutations=sims.shape[1])


def permutation_p_from_counts(ge: np.ndarray, le: np.ndarray, *, permutations: int) -> np.ndarray:
    """The two-sided p of :func:`permutation_p_two_sided` from each unit's tail counts (``#{sim >= obs}``,
    ``#{sim <= obs}`` out of ``permutations``), for callers that count without keeping the simulations.

    Examples
    --------
    >>> permutation_p_from_counts(np.array([1]), np.array([19]), permutations=19).tolist()
    [0.2]
    """
    return np.minimum(1.0, 2.0 * (np.minimum(ge, le) + 1) / (permutations + 1))


def _check_p(pvalues: np.ndarray | Sequence[float]) -> np.ndarray:
    p = np.asarray(pvalues, dtype=float).ravel()
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        msg = "p-values must be numbers between 0 and 1 (no NaN)"
        raise SchemaError(msg)
    return p


def fdr_adjust(pvalues: np.ndarray | Sequence[float]) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values) in input order (``scipy.stats.false_discovery_control``).

    Examples
    --------
    >>> fdr_adjust([0.01, 0.04, 0.03, 0.20]).round(4).tolist()
    [0.04, 0.0533, 0.0533, 0.2]
    """
    p = _check_p(pvalues)
    if p.size == 0:
        return p
    return np.asarray(stats.false_discovery_control(p, method="bh"), dtype=float)


def fdr_reject(pvalues: np.ndarray | Sequence[float], *, alpha: float = 0.05) -> np.ndarray:
    """Which hypotheses the Benjamini-Hochberg step-up procedure rejects at FDR ``alpha``.

    Examples
    --------
    >>> fdr_reject([0.01, 0.04, 0.03, 0.20], alpha=0.05).tolist()
    [True, False, False, False]
    """
    if not 0 < alpha < 1:
        msg = f"alpha was {alpha!r} but must be between 0 and 1"
        raise SchemaError(msg)
    q = fdr_adjust(pvalues)
    # the adjusted values are products m p / j: allow for their rounding at the boundary
    return q <= alpha * (1 + 1e-12)


def gi_bin(z: np.ndarray | Sequence[float], q: np.ndarray | Sequence[float]) -> np.ndarray:
    """ArcGIS-style ``Gi_Bin`` (-3..3) from z-scores and (FDR-adjusted) two-sided p-values.

    Examples
    --------
    >>> gi_bin([2.9, 2.0, -1.7, 0.3, -3.0], [0.005, 0.04, 0.08, 0.5, 0.2]).tolist()
    [3, 2, -1, 0, 0]
    """
    zz = np.nan_to_num(np.asarray(z, dtype=float).reshape(-1), nan=0.0)
    qq = np.asarray(q, dtype=float).reshape(-1)
    if zz.shape != qq.shape:
        msg = f"`z` and `q` differ in length ({zz.size} and {qq.size})"
        raise SchemaError(msg)
    qq = np.where(np.isfinite(qq), qq, 1.0)
    out = np.zeros(zz.size, dtype=np.int64)
    for strength, lev in zip((1, 2, 3), sorted(CONFIDENCE_LEVELS)):  # 0.90, 0.95, 0.99: stricter overwrite
        sig = qq <= 1 - lev + 1e-12
        out[sig & (zz > 0)] = strength
        out[sig & (zz < 0)] = -strength
    return out
