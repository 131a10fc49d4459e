"""Forecast accuracy at a fixed share of area: hit rate, PAI, PEI, and a rolling-origin backtest.

A forecast is a score per spatial unit (grid cell or area).  An analyst acts on
the highest-scoring units that together cover a chosen fraction of the study
area (the *coverage*), so every measure here is computed at a coverage:

* **hit rate** ``n / N``: the share of the next period's incidents that fell in
  the selected units (``n`` of ``N``);
* **PAI**, the predictive accuracy index, ``(n / N) / (a / A)``: hit rate divided
  by the share of area selected, ``a`` of ``A`` (Chainey, Tompson & Uhlig 2008);
* **PEI**, the predictive efficiency index, ``n / n*``: incidents captured divided
  by the most incidents any selection of the same area could have captured
  (Hunt 2016; used to score the NIJ Real-Time Crime Forecasting Challenge).

Selection rule (shared by every function here, so results are reproducible):
units are ranked by score, highest first; **ties are broken by input order**
(the first unit in ``scores`` wins), then units are taken in that order while
the cumulative area stays within ``coverage * A``; the first unit that would
overshoot stops the selection.  With equal cells this takes exactly
``floor(coverage * number_of_cells)`` cells.  ``a`` is the area actually selected
(at most the target), and PAI uses that ``a``.  If even the top unit is larger
than the target, nothing is selected (hit rate 0, PAI undefined: ``nan``).

The oracle ``n*`` ranks units by *observed* incident density (count / area,
ties: higher count, then input order) and fills the same area ``a`` greedily,
skipping units that no longer fit.  For equal cells this is the exact optimum;
for unequal areas it is the greedy approximation of a knapsack problem, so a
PEI slightly above 1 is possible there and is reported, not clipped.

References
----------
Chainey, S., Tompson, L. and Uhlig, S. (2008) The utility of hotspot mapping for
predicting spatial patterns of crime. *Security Journal* 21: 4-28.

Hunt, J. M. (2016) Do crime hot spots move? Exploring the effects of the modifiable
areal unit problem and modifiable temporal unit problem on crime hot spot
stability. PhD thesis, American University (introduces PEI); PEI and PAI scored the
NIJ Real-Time Crime Forecasting Challenge (2017).

Hyndman, R. J. and Athanasopoulos, G. (2021) *Forecasting: principles and
practice*, 3rd ed., section 5.10 (evaluation on a rolling forecasting origin).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from spatial._errors import HotspotError, SchemaError

__all__ = [
    "DEFAULT_COVERAGES",
    "evaluate",
    "hit_rate",
    "pai",
    "pei",
    "rolling_origin_backtest",
    "select_top",
    "summarise_backtest",
]

#: Coverages reported by default (fractions of the study area).
DEFAULT_COVERAGES: tuple[float, ...] = (0.01, 0.05, 0.10, 0.20)

Forecaster = Callable[[pd.DataFrame], pd.Series]


def _as_arrays(scores: pd.Series | Sequence[float] | np.ndarray,
               actual: pd.Series | Sequence[float] | np.ndarray,
               areas: pd.Series | Sequence[float] | np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate and align ``scores``, ``actual`` and ``areas`` into float arrays."""
    if isinstance(scores, pd.Series) and isinstance(actual, pd.Series) and not scores.index.equals(actual.index):
        if not (scores.index.is_unique and set(scores.index) == set(actual.index)):
            msg = ("`scores` and `actual` must be indexed by the same units; "
                   f"{len(set(scores.index) ^ set(actual.index))} unit(s) appear in only one of them. "
                   "Reindex one onto the other (e.g. `actual.reindex(scores.index, fill_value=0)`).")
            raise SchemaError(msg)
        actual = actual.reindex(scores.index)
    if isinstance(scores, pd.Series) and isinstance(areas, pd.Series) and not scores.index.equals(areas.index):
        if set(scores.index) != set(areas.index):
            msg = "`areas` must be indexed by the same units as `scores`"
            raise SchemaError(msg)
        areas = areas.reindex(scores.index)
    s = np.asarray(scores, dtype=float).reshape(-1)
    y = np.asarray(actual, dtype=float).reshape(-1)
    if s.shape != y.shape:
        msg = f"`scores` has {s.size} units but `actual` has {y.size}; both must give one value per unit"
        raise SchemaError(msg)
    if areas is None:
        a = np.ones_like(s)
    else:
        a = np.asarray(areas, dtype=float).reshape(-1)
        if a.shape != s.shape:
            msg = f"`areas` has {a.size} units but `scores` has {s.size}"
            raise SchemaError(msg)
        if not np.all(np.isfinite(a)) or np.any(a <= 0):
            msg = "`areas` must be finite and positive for every unit (square metres or any consistent unit)"
            raise HotspotError(msg)
    if s.size == 0:
        msg = "no units to evaluate: `scores` is empty"
        raise HotspotError(msg)
    if not np.all(np.isfinite(s)):
        bad = int(np.sum(~np.isfinite(s)))
        msg = f"`scores` has {bad} missing or infinite value(s); give every unit a finite score"
        raise HotspotError(msg)
    if not np.all(np.isfinite(y)) or np.any(y < 0):
        msg = "`actual` must be finite, non-negative counts (or harm totals) per unit"
        raise HotspotError(msg)
    return s, y, a


def _check_coverage(coverage: float) -> None:
    if not (0.0 < float(coverage) <= 1.0):
        msg = f"`coverage` was {coverage!r} but must be a fraction of the area in (0, 1], e.g. 0.05 for 5 %"
        raise HotspotError(msg)


def _select(s: np.ndarray, a: np.ndarray, budget: float) -> np.ndarray:
    """Prefix selection by score (desc), ties by position; stop at the first overshoot."""
    order = np.lexsort((np.arange(s.size), -s))
    cum = np.cumsum(a[order])
    k = int(np.searchsorted(cum, budget * (1 + 1e-12), side="right"))
    mask = np.zeros(s.size, dtype=bool)
    mask[order[:k]] = True
    return mask


def _oracle(y: np.ndarray, a: np.ndarray, budget: float) -> float:
    """Most incidents capturable within ``budget`` area (greedy by density; exact for equal areas)."""
    if np.all(a == a[0]):
        k = int(np.floor(budget / a[0] * (1 + 1e-12)))
        return float(np.sort(y)[::-1][:k].sum())
    order = np.lexsort((np.arange(y.size), -y, -(y / a)))
    total = 0.0
    used = 0.0
    for i in order:
        if y[i] <= 0:
            break
        if used + a[i] <= budget * (1 + 1e-12):
            used += a[i]
            total += y[i]
    return total


def select_top(scores: pd.Series | np.ndarray, *, coverage: float,
               areas: pd.Series | np.ndarray | None = None) -> np.ndarray:
    """Boolean mask of the units selected at ``coverage`` of the total area.

    Parameters
    ----------
    scores
        Forecast score per unit (higher is riskier).
    coverage
        Fraction of the total area to select, in (0, 1].
    areas
        Area of each unit; equal areas when omitted.

    Returns
    -------
    numpy.ndarray
        ``True`` for selected units, in input order.  See the module notes for the
        selection and tie-breaking rule.
    """
    _check_coverage(coverage)
    s, _, a = _as_arrays(scores, np.zeros(np.size(scores)), areas)
    return _select(s, a, coverage * a.sum())


def _measures(s: np.ndarray, y: np.ndarray, a: np.ndarray, coverage: float) -> dict[str, float]:
    total_area = a.sum()
    mask = _select(s, a, coverage * total_area)
    big_n = float(y.sum())
    n = float(y[mask].sum())
    sel_area = float(a[mask].sum())
    n_star = _oracle(y, a, sel_area) if sel_area > 0 else 0.0
    hr = n / big_n if big_n > 0 else np.nan
    share = sel_area / total_area
    return {
        "coverage": float(coverage),
        "area_share": share,
        "units": int(mask.sum()),
        "n": n,
        "N": big_n,
        "n_star": n_star,
        "hit_rate": hr,
        "pai": hr / share if share > 0 and big_n > 0 else np.nan,
        "pei": n / n_star if n_star > 0 else np.nan,
    }


def hit_rate(scores: pd.Series | np.ndarray, actual: pd.Series | np.ndarray, *, coverage: float,
             areas: pd.Series | np.ndarray | None = None) -> float:
    """Share of incidents that fall in the top-scoring units covering ``coverage`` of the area.

    Parameters
    ----------
    scores
        Forecast score per unit (higher is riskier).
    actual
        Observed incidents (or harm) per unit in the forecast period.
    coverage
        Fraction of the total area selected, in (0, 1].
    areas
        Area of each unit; equal when omitted.

    Returns
    -------
    float
        ``n / N``; ``nan`` when no incidents occurred.

    Raises
    ------
    HotspotError
        For a coverage outside (0, 1], non-finite scores, negative counts or
        non-positive areas.
    SchemaError
        If the inputs do not describe the same units.

    Examples
    --------
    >>> hit_rate([5, 1, 3, 0], [4, 0, 1, 5], coverage=0.5)
    0.5
    """
    _check_coverage(coverage)
    return float(_measures(*_as_arrays(scores, actual, areas), coverage)["hit_rate"])


def pai(scores: pd.Series | np.ndarray, actual: pd.Series | np.ndarray, *, coverage: float,
        areas: pd.Series | np.ndarray | None = None) -> float:
    """Predictive accuracy index ``(n / N) / (a / A)`` at ``coverage`` of the area.

    Parameters
    ----------
    scores, actual, coverage, areas
        As in :func:`hit_rate`.

    Returns
    -------
    float
        PAI, using the area ``a`` actually selected; ``nan`` when nothing was
        selected or no incidents occurred.

    Notes
    -----
    Chainey, Tompson & Uhlig (2008), *Security Journal* 21: 4-28.

    Examples
    --------
    >>> pai([5, 1, 3, 0], [4, 0, 1, 5], coverage=0.5)
    1.0
    """
    _check_coverage(coverage)
    return float(_measures(*_as_arrays(scores, actual, areas), coverage)["pai"])


def pei(scores: pd.Series | np.ndarray, actual: pd.Series | np.ndarray, *, coverage: float,
        areas: pd.Series | np.ndarray | None = None) -> float:
    """Predictive efficiency index ``n / n*`` at ``coverage`` of the area.

    Parameters
    ----------
    scores, actual, coverage, areas
        As in :func:`hit_rate`.

    Returns
    -------
    float
        Incidents captured divided by the most capturable in the same area
        (see the module notes for how ``n*`` is found); ``nan`` if ``n* = 0``.

    Notes
    -----
    Hunt (2016); the NIJ Real-Time Crime Forecasting Challenge (2017) scored entries by PEI.

    Examples
    --------
    >>> pei([5, 1, 3, 0], [4, 0, 1, 5], coverage=0.5)
    0.5555555555555556
    """
    _check_coverage(coverage)
    return float(_measures(*_as_arrays(scores, actual, areas), coverage)["pei"])


def evaluate(scores: pd.Series | np.ndarray, actual: pd.Series | np.ndarray,
             areas: pd.Series | np.ndarray | None = None, *,
             coverages: Sequence[float] = DEFAULT_COVERAGES) -> pd.DataFrame:
    """Hit rate, PAI and PEI of one forecast at several coverages.

    Parameters
    ----------
    scores, actual
        As in :func:`hit_rate`.
    areas
        Area of each unit; equal when omitted.
    coverages
        Fractions of the area, each in (0, 1].

    Returns
    -------
    pandas.DataFrame
        One row per coverage with ``coverage, area_share, units, n, N, n_star,
        hit_rate, pai, pei``.
    """
    for c in coverages:
        _check_coverage(c)
    s, y, a = _as_arrays(scores, actual, areas)
    return pd.DataFrame([_measures(s, y, a, c) for c in coverages])


def rolling_origin_backtest(counts: pd.DataFrame, forecasters: Mapping[str, Forecaster], *,
                            areas: pd.Series | np.ndarray | None = None, min_train: int = 6,
                            coverages: Sequence[float] = DEFAULT_COVERAGES,
                            max_origins: int | None = None) -> pd.DataFrame:
    """Evaluate forecasters one period ahead from every origin after ``min_train`` periods.

    For each target period ``t`` (the ``min_train``-th column onwards), every
    forecaster sees only ``counts.iloc[:, :t]`` and its scores are scored against
    ``counts.iloc[:, t]``.

    Parameters
    ----------
    counts
        Units (rows) by periods (columns, in time order) of incident counts.
    forecasters
        Name to callable ``history -> scores`` (a Series indexed like ``counts``
        or an array in its row order).  Bind extra options with
        :func:`functools.partial`.
    areas
        Area of each unit (aligned to ``counts``); equal when omitted.
    min_train
        Periods of history before the first origin (at least 1).
    coverages
        Fractions of the area to report.
    max_origins
        Keep only the last ``max_origins`` origins (all when ``None``).

    Returns
    -------
    pandas.DataFrame
        One row per target period, forecaster and coverage with ``target,
        forecaster, coverage, area_share, units, n, N, n_star, hit_rate, pai, pei``.
        ``attrs`` carries ``min_train``, the origins and ``counts.attrs``.

    Raises
    ------
    HotspotError
        If there are not enough periods for one origin, or a forecaster returns the
        wrong number of scores.

    Notes
    -----
    Evaluation on a rolling forecasting origin (Hyndman & Athanasopoulos 2021,
    section 5.10); measures from Chainey et al. (2008) and Hunt (2016).
    """
    if not isinstance(counts, pd.DataFrame):
        msg = f"`counts` must be a DataFrame of units x periods, got {type(counts).__name__}"
        raise SchemaError(msg)
    if int(min_train) < 1:
        msg = f"`min_train` was {min_train} but must be at least 1 period"
        raise HotspotError(msg)
    n_periods = counts.shape[1]
    if n_periods <= min_train:
        msg = (f"`counts` has {n_periods} period(s) but `min_train` is {min_train}; "
               "at least min_train + 1 periods are needed for one origin")
        raise HotspotError(msg)
    if not forecasters:
        msg = "`forecasters` is empty; give at least one name -> callable"
        raise HotspotError(msg)
    if isinstance(areas, pd.Series):
        areas = areas.reindex(counts.index)
        if areas.isna().any():
            msg = "`areas` lacks some units of `counts`"
            raise SchemaError(msg)
    targets = list(range(min_train, n_periods))
    if max_origins is not None:
        targets = targets[-int(max_origins):]
    rows: list[dict[str, object]] = []
    for t in targets:
        history = counts.iloc[:, :t]
        actual = counts.iloc[:, t].to_numpy(dtype=float)
        for name, fc in forecasters.items():
            sc = fc(history)
            if isinstance(sc, pd.Series):
                sc = sc.reindex(counts.index)
                if sc.isna().any():
                    msg = f"forecaster {name!r} returned no score for {int(sc.isna().sum())} unit(s)"
                    raise HotspotError(msg)
            arr = np.asarray(sc, dtype=float).reshape(-1)
            if arr.size != counts.shape[0]:
                msg = f"forecaster {name!r} returned {arr.size} scores for {counts.shape[0]} units"
                raise HotspotError(msg)
            s, y, a = _as_arrays(arr, actual, areas)
            for c in coverages:
                rows.append({"target": counts.columns[t], "forecaster": name, **_measures(s, y, a, c)})
    out = pd.DataFrame(rows)
    out.attrs.update(counts.attrs)
    out.attrs["min_train"] = int(min_train)
    out.attrs["targets"] = [str(counts.columns[t]) for t in targets]
    return out


def summarise_backtest(results: pd.DataFrame) -> pd.DataFrame:
    """Average a :func:`rolling_origin_backtest` table over origins.

    Parameters
    ----------
    results
        Output of :func:`rolling_origin_backtest` (extra grouping columns such as
        ``group`` are kept).

    Returns
    -------
    pandas.DataFrame
        Per forecaster (and any extra key) and coverage: mean ``hit_rate``, ``pai``
        and ``pei`` over origins, the pooled hit rate ``sum(n) / sum(N)`` and the
        number of origins.
    """
    need = {"forecaster", "coverage", "hit_rate", "pai", "pei", "n", "N", "target"}
    missing = sorted(need - set(results.columns))
    if missing:
        msg = f"`results` lacks column(s) {missing}; pass the output of rolling_origin_backtest"
        raise SchemaError(msg)
    skip = need | {"area_share", "units", "n_star"}
    keys = [c for c in results.columns if c not in skip] + ["forecaster", "coverage"]
    keys = list(dict.fromkeys(keys))
    g = results.groupby(keys, sort=False)
    out = g.agg(hit_rate=("hit_rate", "mean"), pai=("pai", "mean"), pei=("pei", "mean"),
                n=("n", "sum"), N=("N", "sum"), origins=("target", "nunique")).reset_index()
    out["pooled_hit_rate"] = out["n"] / out["N"].where(out["N"] > 0)
    return out.drop(columns=["n", "N"])
