"""Forecaster selection on the user's own data: candidates, a rolling-origin choice, a record of it.

The boosted model chosen on Westminster + Hammersmith & Fulham did not transfer
(issue 16): on other boroughs plain counting over all earlier months beat it in
most cases.  So the product no longer ships one forecaster: for each area and
crime group it runs a rolling-origin backtest (:func:`spatial.evaluation.
rolling_origin_backtest`) **on the months the area holds** and uses the winner.

Candidates (:func:`candidates`), all vectorised, one fit+predict well under a
millisecond to a few milliseconds for 2,000 cells x 12 months:

* ``counts_all`` - incidents per cell over all earlier months (the fallback);
* ``last_k`` (k = 1, 2, 3, 6) - counts over the last ``k`` months (``last_1``
  is last month's count);
* ``ewm_hH`` (H = 1, 2, 4, 8 months) - exponentially weighted counts, half-life H;
* ``kde_B`` (B = 150, 250, 400 m) - all-months counts smoothed by a quartic kernel;
* ``prospective`` - prospective hotspotting (:func:`spatial.forecast.prospective`);
* ``eb_shrunk`` - the cell's monthly rate shrunk toward its 3 x 3 neighbourhood's
  rate by a gamma-Poisson empirical-Bayes weight (method of moments);
* ``pooled_bB`` (B = 0.25, 1, 4; only with a ``prior``, e.g. all-crime counts
  for burglary) - group counts plus ``B`` x the prior's counts rescaled to the
  group's total: strength borrowed from the other groups for sparse groups;
* ``blend`` - a convex combination ``w a + (1 - w) b`` of the two best base
  candidates (scores scaled to mean 1), ``w`` in {0.25, 0.5, 0.75}; the pair and
  ``w`` are fitted on the **inner** origins only (those before the origin scored),
  so its backtest figure is out of sample like the others';
* ``boosted`` - only when asked (``include_boosted=True``): it costs 0.5-5 s a
  fit against milliseconds and lost to counting in 17 of 20 held-out cases.

Selection rule (:func:`select_forecaster`): among the candidates whose mean
per-origin gain in hit rate at 5 % of the area over ``counts_all`` exceeds its
standard error (a one-standard-error rule: with a dozen origins and twenty
candidates the best mean alone is noisy, and near-equal long-memory candidates
would win by tie-breaking luck), the one with the highest mean hit rate wins;
``counts_all`` when none qualifies.  **Guard** (:func:`guarded_winner`): the
rule's pick stands only if the rule itself, replayed at each inner origin on
the origins before it, beat plain counts there on average; otherwise plain
counts are kept and :attr:`ForecastChoice.guard` says why.  **Ties** (within 1e-12) go to the candidate
listed first by :func:`candidates` (simplest first, ``counts_all`` at the head),
so the choice is deterministic - nothing here is random, and the
only model with a seed (boosted) has a fixed one.  With fewer than
:data:`MIN_ORIGINS` origins the choice is the documented fallback,
``counts_all``, and :attr:`ForecastChoice.fallback` says why.  Only the history
passed in is read, so the forecast month cannot leak into the choice.

A choice is recorded as a :class:`ForecastChoice` (method, its backtest hit rate,
the runner-up's, plain counts' and last month's, the number of months and
origins) with a ``data_version``: a hash of the count table, so a choice made
before new months were ingested never serves after.  It is cached in-process on
that version, kept with the area's database (``choice_store``:
:class:`spatial.store.forecast_choices.DbChoiceStore`, table
``forecast_choices``, migration 0009) so a plan or page reads it back instead of
selecting again, and can also be written as JSON (:func:`save_choice` /
:func:`load_choice`).  Low months (:mod:`spatial.low_months`) are passed as
``exclude_months`` and recorded in the choice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
from scipy import sparse

from spatial._errors import HotspotError
from spatial.evaluation import rolling_origin_backtest
from spatial.forecast import (
    Centres,
    _cell_size,
    _check,
    _kernel_matrix,
    _quartic,
    _result,
    next_period,
)

__all__ = [
    "FALLBACK",
    "ChoiceStore",
    "backtest_table",
    "guarded_winner",
    "one_se_winner",
    "select_with_table",
    "MIN_ORIGINS",
    "SELECTION_COVERAGE",
    "ForecastChoice",
    "auto_forecast",
    "candidates",
    "describe_choice",
    "load_choice",
    "save_choice",
    "select_forecaster",
]

#: Coverage at which candidates are compared (share of the area).
SELECTION_COVERAGE = 0.05
#: Fewer origins than this and the selection falls back to :data:`FALLBACK`.
MIN_ORIGINS = 4
#: The documented fallback: counts over all earlier months.
FALLBACK = "counts_all"
#: Months of history before the first inner origin.
MIN_TRAIN = 2
#: Inner origins the rule needs before it can be replayed at an origin (:func:`guard_gains`).
GUARD_MIN_PRIOR = 2
#: Replayed origins the guard needs before it lets a candidate replace plain counts.
GUARD_MIN_TESTS = 2

Score = Callable[[np.ndarray], np.ndarray]


# --------------------------------------------------------------------------
# space: kernels computed once per set of centres
# --------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _Space:
    xy: np.ndarray
    cell_m: float
    kernels: dict[float, sparse.csr_matrix]
    ring: sparse.csr_matrix  # 3 x 3 neighbourhood including the cell itself, row-normalised


def _space(xy: np.ndarray, bandwidths: Sequence[float]) -> _Space:
    cs = _cell_size(xy)
    kernels = {float(b): _kernel_matrix(xy, float(b), _quartic(float(b))).tocsr() for b in bandwidths}
    ring = _kernel_matrix(xy, 1.5 * cs, lambda d: np.ones_like(d)).tocsr()
    deg = np.asarray(ring.sum(axis=1)).reshape(-1)
    ring = sparse.diags(1.0 / np.maximum(deg, 1.0)) @ ring
    return _Space(xy, cs, kernels, ring.tocsr())


def _tiebreak(x: np.ndarray) -> np.ndarray:
    """A tiny, recent-weighted term so cells a candidate leaves tied are ordered by recency."""
    m = x.shape[1]
    return 1e-9 * (x @ (0.5 ** (np.arange(m)[::-1] / 2.0)))


# --------------------------------------------------------------------------
# candidates: functions of the count matrix (units x months) -> score per unit
# --------------------------------------------------------------------------
def _counts_all(x: np.ndarray) -> np.ndarray:
    return x.sum(axis=1)


def _last_k(k: int) -> Score:
    def f(x: np.ndarray) -> np.ndarray:
        return x[:, -k:].sum(axis=1) + _tiebreak(x)
    return f


def _ewm(half_life: float) -> Score:
    def f(x: np.ndarray) -> np.ndarray:
        age = np.arange(x.shape[1])[::-1]
        return x @ (0.5 ** (age / half_life))
    return f


def _kde(kernel: sparse.csr_matrix) -> Score:
    def f(x: np.ndarray) -> np.ndarray:
        return kernel @ x.sum(axis=1) + _tiebreak(x)
    return f


def _prospective(space: _Space, bandwidth_m: float = 400.0, periods: int = 2) -> Score:
    k = _kernel_matrix(space.xy, bandwidth_m * (1 + 1e-9), lambda d: 1.0 / (1.0 + d / space.cell_m)).tocsr()

    def f(x: np.ndarray) -> np.ndarray:
        tp = min(periods, x.shape[1])
        return k @ (x[:, -tp:] @ (1.0 / (1.0 + np.arange(tp)[::-1]))) + _tiebreak(x)
    return f


def _eb_shrunk(space: _Space) -> Score:
    """Gamma-Poisson posterior mean rate, prior mean = the 3 x 3 neighbourhood's rate."""
    def f(x: np.ndarray) -> np.ndarray:
        t = x.shape[1]
        total = x.sum(axis=1)
        rate = total / t
        mu = space.ring @ rate
        resid_var = float(np.var(rate - mu))
        tau2 = max(resid_var - float(np.mean(mu)) / t, 1e-12)
        alpha = float(np.mean(mu)) / tau2  # prior strength in months
        return (total + alpha * mu) / (t + alpha) + _tiebreak(x)
    return f


def _pooled(prior: np.ndarray, beta: float) -> Score:
    def f(x: np.ndarray) -> np.ndarray:
        p = prior[:, : x.shape[1]].sum(axis=1)
        scale = x.sum() / p.sum() if p.sum() > 0 else 0.0
        return x.sum(axis=1) + beta * scale * p + _tiebreak(x)
    return f


def _boosted(centres: Centres, index: pd.Index) -> Score:
    from spatial.forecast import boosted

    def f(x: np.ndarray) -> np.ndarray:
        h = pd.DataFrame(x, index=index, columns=[str(i) for i in range(x.shape[1])])
        return boosted(h, centres=centres).to_numpy(dtype=float)
    return f


def candidates(centres: Centres, *, n_units: int, prior: pd.DataFrame | np.ndarray | None = None,
               include_boosted: bool = False, index: pd.Index | None = None,
               bandwidths: Sequence[float] = (150.0, 250.0, 400.0)) -> dict[str, tuple[Score, dict[str, Any]]]:
    """The base candidates, name -> (score function of a units x months array, parameters).

    Listed simplest first: that order breaks ties in :func:`select_forecaster`.
    ``prior`` (units x months, aligned with the history, e.g. all-crime counts)
    adds the pooled candidates; only its months before each origin are read.
    """
    cx = np.asarray(centres[0], dtype=float).reshape(-1)
    cy = np.asarray(centres[1], dtype=float).reshape(-1)
    if cx.size != n_units or cy.size != n_units:
        msg = f"`centres` has {cx.size} x and {cy.size} y values for {n_units} units"
        raise HotspotError(msg)
    sp = _space(np.column_stack([cx, cy]), bandwidths)
    out: dict[str, tuple[Score, dict[str, Any]]] = {"counts_all": (_counts_all, {})}
    for k in (1, 2, 3, 6):
        out[f"last_{k}"] = (_last_k(k), {"months": k})
    for h in (1.0, 2.0, 4.0, 8.0):
        out[f"ewm_h{h:g}"] = (_ewm(h), {"half_life_months": h})
    for b in bandwidths:
        out[f"kde_{b:g}"] = (_kde(sp.kernels[float(b)]), {"bandwidth_m": float(b), "kernel": "quartic"})
    out["prospective"] = (_prospective(sp), {"bandwidth_m": 400.0, "bandwidth_periods": 2})
    out["eb_shrunk"] = (_eb_shrunk(sp), {"prior": "3x3 neighbourhood rate", "alpha": "method of moments"})
    if prior is not None:
        pr = np.asarray(prior, dtype=float)
        if pr.shape[0] != n_units:
            msg = f"`prior` has {pr.shape[0]} rows for {n_units} units"
            raise HotspotError(msg)
        for beta in (0.25, 1.0, 4.0):
            out[f"pooled_b{beta:g}"] = (_pooled(pr, beta), {"beta": beta, "prior": "rescaled prior counts"})
    if include_boosted:
        out["boosted"] = (_boosted((cx, cy), index if index is not None else pd.RangeIndex(n_units)), {})
    return out


# --------------------------------------------------------------------------
# the record
# --------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class ForecastChoice:
    """Which forecaster an area and group use, and the backtest it rests on.

    Hit rates are means over the inner origins at :data:`SELECTION_COVERAGE`.
    ``fallback`` is ``None`` when the backtest chose, else the reason for using
    :data:`FALLBACK`.
    """

    method: str
    params: dict[str, Any]
    hit_rate: float | None
    runner_up: str | None
    runner_up_hit_rate: float | None
    counts_all_hit_rate: float | None
    last_month_hit_rate: float | None
    months: int
    origins: int
    first_month: str | None
    last_month: str | None
    coverage: float
    data_version: str
    fallback: str | None = None
    group: str | None = None
    area: str | None = None
    scores: dict[str, float] = dataclasses.field(default_factory=dict)
    guard: str | None = None
    nested_gain: float | None = None
    excluded_months: list[str] = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, default=_jsonable)

    @classmethod
    def from_json(cls, text: str) -> ForecastChoice:
        return cls(**json.loads(text))


def _jsonable(v: Any) -> Any:
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    msg = f"cannot store {type(v).__name__} in a ForecastChoice"
    raise TypeError(msg)


def data_version(history: pd.DataFrame, prior: pd.DataFrame | np.ndarray | None = None,
                 centres: Centres | None = None) -> str:
    """A hash of the counts (values, units, months), the prior and the centres."""
    h = hashlib.sha1()
    h.update(np.ascontiguousarray(history.to_numpy(dtype=float)).tobytes())
    h.update("|".join(map(str, history.columns)).encode())
    h.update("|".join(map(str, history.index)).encode())
    if prior is not None:
        h.update(np.ascontiguousarray(np.asarray(prior, dtype=float)).tobytes())
    if centres is not None:
        h.update(np.ascontiguousarray(np.asarray(centres[0], dtype=float)).tobytes())
        h.update(np.ascontiguousarray(np.asarray(centres[1], dtype=float)).tobytes())
    return h.hexdigest()[:16]


def _safe(s: str | None) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in (s or "all"))


def save_choice(choice: ForecastChoice, directory: str | Path) -> Path:
    """Write ``choice`` as ``forecast-choice-<area>-<group>-<data_version>.json`` in ``directory``."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    p = d / f"forecast-choice-{_safe(choice.area)}-{_safe(choice.group)}-{choice.data_version}.json"
    p.write_text(choice.to_json() + "\n", encoding="utf-8")
    return p


def load_choice(directory: str | Path, *, area: str | None, group: str | None, version: str) -> ForecastChoice | None:
    """The stored choice for this area, group and data version, or ``None`` (then select anew)."""
    p = Path(directory) / f"forecast-choice-{_safe(area)}-{_safe(group)}-{version}.json"
    if not p.is_file():
        return None
    return ForecastChoice.from_json(p.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------
# selection
# --------------------------------------------------------------------------
def _hit(score: np.ndarray, actual: np.ndarray, k: int) -> float:
    """Hit rate of the top ``k`` units (ties by input order, as spatial.evaluation)."""
    tot = actual.sum()
    if tot <= 0:
        return float("nan")
    order = np.lexsort((np.arange(score.size), -score))
    return float(actual[order[:k]].sum() / tot)


def _norm(s: np.ndarray) -> np.ndarray:
    m = float(np.mean(s))
    return s / m if m > 0 else s


class _Memo:
    """Normalised candidate scores per (name, origin), computed once per selection."""

    def __init__(self, x: np.ndarray, fns: Mapping[str, Score]) -> None:
        self.x, self.fns = x, fns
        self.cache: dict[tuple[str, int], np.ndarray] = {}

    def __call__(self, name: str, t: int) -> np.ndarray:
        key = (name, t)
        if key not in self.cache:
            self.cache[key] = _norm(self.fns[name](self.x[:, :t]))
        return self.cache[key]


def _fit_blend(base_hr: pd.DataFrame, x: np.ndarray, targets: Sequence[int], fns: _Memo,
               k: int) -> tuple[str, str, float] | None:
    """Best pair (by mean hit rate over ``targets``) and the weight maximising the blend's mean there."""
    if len(targets) < 2:
        return None
    means = base_hr.loc[list(targets)].mean(axis=0)
    means = means.sort_values(ascending=False, kind="stable")
    if len(means) < 2:
        return None
    a, b = str(means.index[0]), str(means.index[1])
    best: tuple[float, float] | None = None
    for w in (0.25, 0.5, 0.75):
        hrs = []
        for t in targets:
            s = w * fns(a, t) + (1 - w) * fns(b, t)
            hrs.append(_hit(s, x[:, t], k))
        v = float(np.nanmean(hrs)) if not np.all(np.isnan(hrs)) else -1.0
        if best is None or v > best[0] + 1e-12:
            best = (v, w)
    assert best is not None
    return a, b, best[1]


@dataclasses.dataclass
class BacktestTable:
    """The inner rolling-origin backtest of every candidate: hit rate per origin (rows) and candidate.

    ``table`` holds the base candidates in :func:`candidates` order (the
    tie-break) and ``blend`` last; row labels are the column positions of the
    target months in the history.  Only months of the history are read.
    """

    table: pd.DataFrame
    base_hr: pd.DataFrame
    memo: _Memo
    fns_params: dict[str, tuple[Score, dict[str, Any]]]
    k: int
    x: np.ndarray


def backtest_table(x: np.ndarray, *, centres: Centres, prior: np.ndarray | None, index: pd.Index,
                   include_boosted: bool, coverage: float, min_train: int, n_origins: int) -> BacktestTable:
    """Hit rates at ``coverage`` of every candidate (and the inner-fold blend) at every inner origin."""
    n, m = x.shape
    k = int(np.floor(coverage * n * (1 + 1e-12)))
    fns_params = candidates(centres, n_units=n, prior=prior, include_boosted=include_boosted, index=index)
    fns = {name: fp[0] for name, fp in fns_params.items()}
    cols = [str(i) for i in range(m)]
    hist = pd.DataFrame(x, index=index, columns=cols)
    wrapped = {name: (lambda h, f=f: f(h.to_numpy(dtype=float))) for name, f in fns.items()}
    res = rolling_origin_backtest(hist, wrapped, min_train=int(min_train), coverages=(float(coverage),),
                                  max_origins=n_origins)
    base_hr = res.pivot(index="target", columns="forecaster", values="hit_rate")
    base_hr = base_hr[list(fns)]  # candidate order (tie-break)
    base_hr.index = [int(str(t)) for t in base_hr.index]
    base_hr = base_hr.sort_index()  # origins in time order (the labels were text)
    targets = list(base_hr.index)
    # Blend: at each origin, pair and weight fitted on the origins before it only.
    blend_hr: list[float] = []
    memo = _Memo(x, fns)
    for j, t in enumerate(targets):
        fit = _fit_blend(base_hr, x, targets[:j], memo, k)
        if fit is None:
            s = fns[FALLBACK](x[:, :t])
        else:
            a, b, w = fit
            s = w * memo(a, t) + (1 - w) * memo(b, t)
        blend_hr.append(_hit(s, x[:, t], k))
    table = base_hr.copy()
    table["blend"] = blend_hr
    return BacktestTable(table, base_hr, memo, fns_params, k, x)


def one_se_winner(table: pd.DataFrame, se_factor: float = 1.0) -> str:
    """The one-standard-error rule on a table of hit rates (origins x candidates).

    A candidate other than :data:`FALLBACK` is eligible only if its mean paired
    per-origin gain over plain counts exceeds ``se_factor`` standard errors of
    that gain; among the eligible the highest mean wins, ties to the earlier
    column (the simpler candidate).
    """
    means = table.mean(axis=0, skipna=True).fillna(-1.0)
    gain = table.sub(table[FALLBACK], axis=0)
    n = gain.notna().sum(axis=0)
    se = (gain.std(axis=0, ddof=1) / np.sqrt(n.clip(lower=1))).fillna(np.inf)
    eligible = [c for c in table.columns if c == FALLBACK or gain[c].mean() > float(se_factor) * se[c] + 1e-12]
    best_v = max(means[c] for c in eligible)
    return next(c for c in eligible if means[c] >= best_v - 1e-12)


def guard_gains(table: pd.DataFrame, se_factor: float = 1.0, min_prior: int = GUARD_MIN_PRIOR) -> pd.DataFrame:
    """How the selection rule itself did out of sample inside the training months.

    At each inner origin ``j`` with at least ``min_prior`` origins before it, the
    rule (:func:`one_se_winner`) is run on the origins before ``j`` only and its
    pick is scored at ``j`` against plain counts and last month's counts.
    Returns ``origin, pick, gain_counts, gain_last`` rows.
    """
    rows = []
    for j in range(int(min_prior), len(table)):
        pick = one_se_winner(table.iloc[:j], se_factor)
        r = table.iloc[j]
        rows.append({"origin": table.index[j], "pick": pick, "gain_counts": float(r[pick] - r[FALLBACK]),
                     "gain_last": float(r[pick] - r["last_1"])})
    return pd.DataFrame(rows, columns=["origin", "pick", "gain_counts", "gain_last"])


def guarded_winner(table: pd.DataFrame, se_factor: float = 1.0, min_guard: int = GUARD_MIN_TESTS,
                   min_prior: int = GUARD_MIN_PRIOR) -> tuple[str, str | None, float | None]:
    """The one-SE winner, kept only if the rule beat plain counts out of sample (:func:`guard_gains`).

    The rule's own nested record must show a mean gain over plain counts above
    zero on at least ``min_guard`` inner origins; else plain counts
    (:data:`FALLBACK`) are used.  Last month is no guard: falling back to plain
    counts could not help against it (the benchmark reports both).
    Returns ``(winner, reason the guard stepped in or None, mean nested gain over counts)``.
    """
    w = one_se_winner(table, se_factor)
    if w == FALLBACK:
        return w, None, None
    g = guard_gains(table, se_factor, min_prior)
    g = g.dropna(subset=["gain_counts", "gain_last"])
    if len(g) < int(min_guard):
        return FALLBACK, (f"{w} led the backtest, but only {len(g)} inner origin(s) could test the selection "
                          f"itself (needs {min_guard}), so plain counts are kept"), None
    gc = float(g["gain_counts"].mean())
    if gc <= 1e-12:
        return FALLBACK, (f"{w} led the backtest, but the selection itself, replayed on earlier months, did not "
                          f"beat plain counts ({100 * gc:+.1f} points), so plain counts are kept"), gc
    return w, None, gc


def select_forecaster(history: pd.DataFrame, *, centres: Centres, prior: pd.DataFrame | np.ndarray | None = None,
                      include_boosted: bool = False, coverage: float = SELECTION_COVERAGE,
                      min_train: int = MIN_TRAIN, max_origins: int | None = None, group: str | None = None,
                      area: str | None = None, exclude_months: Sequence[str] = (),
                      se_factor: float = 1.0, guard: bool = True) -> ForecastChoice:
    """Choose the forecaster for the month after ``history`` by a rolling-origin backtest inside it.

    Parameters
    ----------
    history
        Units x months of counts (or harm), months in order; only these are read.
    centres
        ``(x, y)`` unit centres in EPSG:27700 metres.
    prior
        Optional units x months counts of a wider group (e.g. all crime) aligned
        with ``history``: adds the pooled candidates.
    include_boosted
        Add the boosted model (slow) to the candidates.
    coverage
        Share of the area at which hit rates are compared (5 %).
    min_train
        Months before the first inner origin.
    max_origins
        Keep only the last N inner origins.
    group, area
        Labels recorded in the choice.
    exclude_months
        Months to drop before selecting (e.g. ones published low, :mod:`spatial.low_months`).
    se_factor
        A candidate replaces plain counts only if its mean gain exceeds this many
        standard errors of its per-origin gain (1: the one-standard-error rule).
    guard
        Keep the rule's pick only if the rule, replayed on the inner origins,
        beat plain counts and last month out of sample (:func:`guarded_winner`).

    Returns
    -------
    ForecastChoice
    """
    return select_with_table(history, centres=centres, prior=prior, include_boosted=include_boosted,
                             coverage=coverage, min_train=min_train, max_origins=max_origins, group=group,
                             area=area, exclude_months=exclude_months, se_factor=se_factor, guard=guard)[0]


def select_with_table(history: pd.DataFrame, *, centres: Centres, prior: pd.DataFrame | np.ndarray | None = None,
                      include_boosted: bool = False, coverage: float = SELECTION_COVERAGE,
                      min_train: int = MIN_TRAIN, max_origins: int | None = None, group: str | None = None,
                      area: str | None = None, exclude_months: Sequence[str] = (),
                      se_factor: float = 1.0, guard: bool = True) -> tuple[ForecastChoice, BacktestTable | None]:
    """:func:`select_forecaster` and the inner backtest it rests on (``None`` for a fallback)."""
    x, _xy = _check(history, centres, need_centres=True)
    if exclude_months:
        keep = [str(c) not in set(exclude_months) for c in history.columns]
        history = history.loc[:, keep]
        if prior is not None:
            prior = np.asarray(prior, dtype=float)[:, keep]
        x = history.to_numpy(dtype=float)
    version = data_version(history, prior, centres)
    m = x.shape[1]
    cols = [str(c) for c in history.columns]
    n = x.shape[0]
    k = int(np.floor(coverage * n * (1 + 1e-12)))
    n_origins = max(m - int(min_train), 0)
    if max_origins is not None:
        n_origins = min(n_origins, int(max_origins))
    common = {"months": m, "first_month": cols[0] if cols else None, "last_month": cols[-1] if cols else None,
              "coverage": float(coverage), "data_version": version, "group": group, "area": area,
              "excluded_months": [str(c) for c in exclude_months]}
    busy = int(np.sum(x[:, int(min_train):].sum(axis=0) > 0)) if m > int(min_train) else 0
    if n_origins < MIN_ORIGINS or k < 1 or busy < MIN_ORIGINS:
        if k < 1:
            reason = f"only {n} unit(s): {coverage:.0%} of the area holds no cell"
        elif n_origins < MIN_ORIGINS:
            reason = f"only {m} month(s): {n_origins} backtest origin(s), the selection needs {MIN_ORIGINS}"
        else:
            reason = (f"only {busy} of the {n_origins} backtest month(s) had any incident, the selection "
                      f"needs {MIN_ORIGINS}")
        return ForecastChoice(method=FALLBACK, params={}, hit_rate=None, runner_up=None, runner_up_hit_rate=None,
                              counts_all_hit_rate=None, last_month_hit_rate=None, origins=n_origins,
                              fallback=reason, **common), None
    pr = None if prior is None else np.asarray(prior, dtype=float)
    bt = backtest_table(x, centres=centres, prior=pr, index=history.index, include_boosted=include_boosted,
                        coverage=coverage, min_train=min_train, n_origins=n_origins)
    table = bt.table
    means = table.mean(axis=0, skipna=True).fillna(-1.0)
    order = list(table.columns)
    if guard:
        winner, guard_note, guard_gain = guarded_winner(table, se_factor)
    else:
        winner, guard_note, guard_gain = one_se_winner(table, se_factor), None, None
    rest = means.drop(winner)
    rv = rest.max()
    runner = next(c for c in order if c != winner and means[c] >= rv - 1e-12)
    params: dict[str, Any] = dict(bt.fns_params[winner][1]) if winner in bt.fns_params else {}
    if winner == "blend":
        fit = _fit_blend(bt.base_hr, x, list(bt.base_hr.index), bt.memo, k)
        assert fit is not None
        params = {"a": fit[0], "b": fit[1], "weight_a": fit[2], "fitted_on": "inner origins"}
    return ForecastChoice(method=winner, params=params, hit_rate=float(means[winner]), runner_up=runner,
                          runner_up_hit_rate=float(means[runner]), counts_all_hit_rate=float(means["counts_all"]),
                          last_month_hit_rate=float(means["last_1"]), origins=len(table), fallback=None,
                          scores={c: round(float(v), 6) for c, v in means.items()}, guard=guard_note,
                          nested_gain=None if guard_gain is None else round(guard_gain, 6), **common), bt


def predict_choice(choice: ForecastChoice, history: pd.DataFrame, *, centres: Centres,
                   prior: pd.DataFrame | np.ndarray | None = None) -> np.ndarray:
    """Scores of the chosen candidate for the month after ``history``."""
    x, _ = _check(history, centres, need_centres=True)
    n = x.shape[0]
    fns = candidates(centres, n_units=n, prior=prior, include_boosted=choice.method == "boosted"
                     or choice.params.get("a") == "boosted" or choice.params.get("b") == "boosted",
                     index=history.index)
    if choice.method == "blend":
        a, b, w = choice.params["a"], choice.params["b"], float(choice.params["weight_a"])
        return w * _norm(fns[a][0](x)) + (1 - w) * _norm(fns[b][0](x))
    if choice.method not in fns:
        msg = f"the recorded forecaster {choice.method!r} is not a candidate here (prior missing?)"
        raise HotspotError(msg)
    return fns[choice.method][0](x)


_CACHE: OrderedDict[tuple[Any, ...], ForecastChoice] = OrderedDict()
_CACHE_SIZE = 64


class ChoiceStore(Protocol):
    """Where choices are kept between processes (e.g. :class:`spatial.store.forecast_choices.DbChoiceStore`)."""

    def get(self, *, area: str | None, group: str | None, version: str) -> Mapping[str, Any] | None: ...

    def put(self, choice: Mapping[str, Any]) -> None: ...


def auto_forecast(history: pd.DataFrame, *, centres: Centres, prior: pd.DataFrame | np.ndarray | None = None,
                  include_boosted: bool = False, group: str | None = None, area: str | None = None,
                  exclude_months: Sequence[str] = (), store_dir: str | Path | None = None,
                  choice_store: ChoiceStore | None = None) -> pd.Series:
    """Select on ``history`` (cached on its data version) and forecast the next month with the choice.

    The chosen candidate's scores are rescaled to sum to the history's mean
    monthly total, so the result reads as expected incidents (or harm) per unit
    next month, like the boosted model's; the ranking is the candidate's own.

    ``attrs["choice"]`` holds the :class:`ForecastChoice` as a dict; with
    ``choice_store`` (the area's database) the choice is read back when it was
    made on the same data version and stored when it is made anew; with
    ``store_dir`` a JSON artefact there serves the same purpose.
    ``attrs["choice_from"]`` says where the choice came from (``selected``,
    ``cache``, ``store``).
    """
    if exclude_months:
        keep = [str(c) not in set(exclude_months) for c in history.columns]
        h2 = history.loc[:, keep]
        h2.attrs.update(history.attrs)
        if prior is not None:
            prior = np.asarray(prior, dtype=float)[:, keep]
        history = h2
    _check(history, centres, need_centres=True)
    version = data_version(history, prior, centres)
    key = (version, include_boosted, group, area)
    choice = _CACHE.get(key)
    source = "cache"
    if choice is None and choice_store is not None:
        got = choice_store.get(area=area, group=group, version=version)
        choice = ForecastChoice(**dict(got)) if got is not None else None
        source = "store"
    if choice is None and store_dir is not None:
        choice = load_choice(store_dir, area=area, group=group, version=version)
        source = "store"
    if choice is None:
        choice = select_forecaster(history, centres=centres, prior=prior, include_boosted=include_boosted,
                                   group=group, area=area, exclude_months=exclude_months)
        source = "selected"
        if store_dir is not None:
            save_choice(choice, store_dir)
        if choice_store is not None:
            choice_store.put(choice.to_dict())
    _CACHE[key] = choice
    _CACHE.move_to_end(key)
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    values = np.maximum(predict_choice(choice, history, centres=centres, prior=prior), 0.0)
    # Expected counts: the candidates' scales differ (sums, densities, blends), so the scores are scaled
    # to the mean monthly total of the history; the ranking, and so every hit rate, is unchanged.
    x = history.to_numpy(dtype=float)
    level = float(x.sum()) / max(x.shape[1], 1)
    total = float(values.sum())
    values = values * (level / total) if total > 0 else np.zeros_like(values)
    out = _result(values, history, "auto", {"chosen": choice.method, **choice.params,
                                            "scaled_to": "mean monthly total of the history"})
    out.attrs["choice"] = choice.to_dict()
    out.attrs["choice_from"] = source
    try:
        out.attrs["target_period"] = next_period(str(history.columns[-1]))
    except HotspotError:
        out.attrs["target_period"] = None
    return out


_LABELS = {"counts_all": "counts over all earlier months", "last_1": "last month's counts",
           "eb_shrunk": "neighbourhood-shrunk counts", "prospective": "prospective hotspotting",
           "blend": "a blend of two forecasters", "boosted": "the boosted model"}


def _label(name: str) -> str:
    if name in _LABELS:
        return _LABELS[name]
    if name.startswith("last_"):
        return f"counts over the last {name[5:]} months"
    if name.startswith("ewm_h"):
        return f"exponentially weighted counts (half-life {name[5:]} months)"
    if name.startswith("kde_"):
        return f"a {name[4:]} m quartic kernel density"
    if name.startswith("pooled_b"):
        return "counts pooled with all crime"
    return name


def describe_choice(choice: ForecastChoice | Mapping[str, Any], *, group: str | None = None) -> str:
    """One honest sentence: which forecaster, its backtest against plain counts and last month, over how much.

    Examples
    --------
    >>> c = ForecastChoice(method="counts_all", params={}, hit_rate=None, runner_up=None, runner_up_hit_rate=None,
    ...                    counts_all_hit_rate=None, last_month_hit_rate=None, months=3, origins=0,
    ...                    first_month="2025-01", last_month="2025-03", coverage=0.05, data_version="x",
    ...                    fallback="only 3 month(s): 0 backtest origin(s), the selection needs 4")
    >>> describe_choice(c, group="burglary")[:60]
    'This area uses counts over all earlier months for burglary ('
    """
    c = choice if isinstance(choice, ForecastChoice) else ForecastChoice(**dict(choice))
    g = group or c.group or "all crime"
    name = _label(c.method)
    if c.fallback:
        left = f" ({', '.join(c.excluded_months)} left out: published low)" if c.excluded_months else ""
        return (f"This area uses {name} for {g} (the fallback): {c.fallback}, so no forecaster was chosen by "
                f"backtest; it rests on {c.months} month(s){left}.")
    def pct(v: float | None) -> str:
        return "n/a" if v is None or not np.isfinite(v) else f"{100 * v:.1f} %"
    left = f"; {', '.join(c.excluded_months)} left out (published low)" if c.excluded_months else ""
    guard = f" {c.guard[0].upper()}{c.guard[1:]}." if c.guard else ""
    return (f"This area uses {name} for {g}; backtest hit rate at {c.coverage:.0%} of the area "
            f"{pct(c.hit_rate)} vs {pct(c.counts_all_hit_rate)} for plain counts and {pct(c.last_month_hit_rate)} "
            f"for last month, over {c.origins} test months ({c.months} months held, "
            f"{c.first_month}..{c.last_month}{left}); runner-up {_label(c.runner_up or '')} "
            f"{pct(c.runner_up_hit_rate)}.{guard}")
