"""Next-period risk per grid cell: the field's baselines and a boosted model chosen by backtest.

Every forecaster has one interface::

    forecaster(history, *, centres, **options) -> pandas.Series

``history`` is a DataFrame of units (rows, e.g. grid cells) by periods (columns in
time order, e.g. ``"2018-01"`` months) holding incident counts; ``centres`` is a
pair ``(x, y)`` of arrays of unit centres in EPSG:27700 metres, in ``history``'s
row order.  The result is a score per unit (higher is riskier), indexed like
``history``, named ``score``; ``attrs`` records the method, its parameters and
whatever ``history.attrs`` said about the target (e.g. which categories were
excluded).  Nothing here reads files or the clock.

Baselines, implemented as published:

* :func:`last_period` - last period's count (the "naive" forecast).
* :func:`recency_kde` - counts down-weighted exponentially by age and smoothed
  over space with a quartic kernel (retrospective KDE with a time decay;
  Chainey, Tompson & Uhlig 2008; Johnson et al. 2009).
* :func:`prospective` - prospective hotspotting, weight ``1/((1+d)(1+t))`` for
  an incident ``d`` cell-widths and ``t`` periods away within fixed bandwidths
  (Bowers, Johnson & Pease 2004).  It was designed for burglary near-repeats and
  is applied to other groups here only as a comparison.

The default, ``"auto"`` (:func:`auto`), is no single model: a rolling-origin
backtest on the area's own months picks, per area and crime group, among counts,
recent and exponentially weighted counts, kernel densities, prospective
hotspotting, neighbourhood-shrunk and pooled counts and a blend
(:mod:`spatial.forecast_select`; issue 16 found that the boosted model chosen on
Westminster + Hammersmith & Fulham did not transfer to other areas).

:func:`boosted` (alias ``"gbm"``) is a gradient-boosted
Poisson regression (scikit-learn ``HistGradientBoostingRegressor``) of next-period
counts on lagged counts of the cell, its long-run mean and the same quantities
smoothed over its neighbourhood, trained only on periods inside ``history``.
It won the rolling-origin backtest in ``bench/backtest.py`` on Westminster +
Hammersmith & Fulham (see ``bench/RESULTS.md``) but not elsewhere; it is
deterministic (fixed ``random_state``).

Proactive categories (drugs, possession of weapons: recorded mostly through
police activity, so they measure enforcement rather than risk) are left out of
forecast targets by default in :func:`monthly_counts`, and the exclusion is
recorded in ``attrs["excluded_categories"]`` of the counts and every forecast.

References
----------
Bowers, K. J., Johnson, S. D. and Pease, K. (2004) Prospective hot-spotting: the
future of crime mapping? *British Journal of Criminology* 44(5): 641-658.

Chainey, S., Tompson, L. and Uhlig, S. (2008) The utility of hotspot mapping for
predicting spatial patterns of crime. *Security Journal* 21: 4-28.

Johnson, S. D., Bowers, K. J., Birks, D. J. and Pease, K. (2009) Predictive mapping
of crime by ProMap: accuracy, units of analysis, and the environmental backcloth.
In Weisburd, Bernasco and Bruinsma (eds) *Putting Crime in its Place*, Springer.

Mohler, G. O. et al. (2015) Randomized controlled field trials of predictive policing.
*JASA* 110(512): 1399-1411 (forecasts judged at a fixed share of area).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.spatial import cKDTree

from spatial import schema as S
from spatial._errors import CRSError, HotspotError, SchemaError

__all__ = [
    "BASELINES",
    "DEFAULT_METHOD",
    "FORECASTERS",
    "auto",
    "boosted",
    "forecast",
    "last_period",
    "long_run_kde",
    "monthly_counts",
    "next_period",
    "week_labels",
    "weekly_counts",
    "prospective",
    "recency_kde",
]

Centres = tuple[np.ndarray, np.ndarray]


# --------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------
def _check(history: pd.DataFrame, centres: Centres | None, *, need_centres: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Validate ``history`` (and ``centres``) and return the count matrix and an (n, 2) array."""
    if not isinstance(history, pd.DataFrame):
        msg = f"`history` must be a DataFrame of units x periods, got {type(history).__name__}"
        raise SchemaError(msg)
    if history.shape[1] == 0:
        msg = "`history` has no periods; give at least one column of counts"
        raise HotspotError(msg)
    x = history.to_numpy(dtype=float)
    if not np.all(np.isfinite(x)) or np.any(x < 0):
        msg = "`history` must hold finite, non-negative counts"
        raise HotspotError(msg)
    if centres is None:
        if need_centres:
            msg = "this forecaster smooths over space: pass `centres=(x, y)` in EPSG:27700 metres"
            raise HotspotError(msg)
        return x, None
    cx = np.asarray(centres[0], dtype=float).reshape(-1)
    cy = np.asarray(centres[1], dtype=float).reshape(-1)
    if cx.size != history.shape[0] or cy.size != history.shape[0]:
        msg = (f"`centres` has {cx.size} x and {cy.size} y values but `history` has {history.shape[0]} units; "
               "give one centre per row of `history`")
        raise SchemaError(msg)
    xy = np.column_stack([cx, cy])
    if not np.all(np.isfinite(xy)):
        msg = "`centres` has missing or infinite coordinates"
        raise HotspotError(msg)
    if np.nanmax(np.abs(xy)) < 1000:
        msg = ("`centres` look like degrees, not EPSG:27700 metres (all |values| < 1000); "
               "project them with spatial.projection.to_bng")
        raise CRSError(msg)
    return x, xy


def _result(values: np.ndarray, history: pd.DataFrame, method: str, params: dict[str, Any]) -> pd.Series:
    out = pd.Series(np.asarray(values, dtype=float), index=history.index, name="score")
    out.attrs.update(history.attrs)
    out.attrs["method"] = method
    out.attrs["params"] = params
    out.attrs["history_periods"] = [str(c) for c in history.columns]
    return out


def _cell_size(xy: np.ndarray) -> float:
    """Median nearest-neighbour distance between centres (the cell width of a square grid)."""
    if len(xy) < 2:
        return 1.0
    d, _ = cKDTree(xy).query(xy, k=2)
    return float(np.median(d[:, 1]))


def _kernel_matrix(xy: np.ndarray, radius_m: float, weight: Callable[[np.ndarray], np.ndarray]) -> sparse.csr_matrix:
    """Sparse ``K[i, j] = weight(distance_ij)`` for pairs within ``radius_m`` (diagonal included)."""
    n = len(xy)
    tree = cKDTree(xy)
    pairs = tree.query_pairs(radius_m, output_type="ndarray")
    i = np.concatenate([pairs[:, 0], pairs[:, 1], np.arange(n)])
    j = np.concatenate([pairs[:, 1], pairs[:, 0], np.arange(n)])
    d = np.hypot(*(xy[i] - xy[j]).T)
    return sparse.csr_matrix((weight(d), (i, j)), shape=(n, n))


def _quartic(bandwidth_m: float) -> Callable[[np.ndarray], np.ndarray]:
    """Quartic (biweight) kernel, ``3 / (pi h^2) * (1 - (d/h)^2)^2`` for ``d < h``."""
    def k(d: np.ndarray) -> np.ndarray:
        u = d / bandwidth_m
        return np.where(u < 1, 3.0 / (np.pi * bandwidth_m**2) * (1 - u**2) ** 2, 0.0)
    return k


# --------------------------------------------------------------------------
# counts
# --------------------------------------------------------------------------
def _iso_week(ts: pd.Timestamp | pd.Period) -> str:
    iso = (ts.start_time if isinstance(ts, pd.Period) else ts).isocalendar()
    return f"{iso[0]}-W{iso[1]:02d}"


def next_period(period: str) -> str:
    """The period after a month ``"YYYY-MM"`` or an ISO week ``"YYYY-Www"``.

    Examples
    --------
    >>> next_period("2018-12")
    '2019-01'
    >>> next_period("2026-W53")
    '2027-W01'
    """
    if "-W" in period:
        try:
            monday = pd.Timestamp.fromisocalendar(int(period[:4]), int(period[6:]), 1)
        except (ValueError, TypeError) as exc:
            msg = f"period {period!r} is not an ISO week (expected YYYY-Www)"
            raise HotspotError(msg) from exc
        return _iso_week(monday + pd.Timedelta(days=7))
    try:
        p = pd.Period(period, freq="M")
    except (ValueError, TypeError) as exc:
        msg = f"period {period!r} is not a month (expected YYYY-MM)"
        raise HotspotError(msg) from exc
    return str(p + 1)


def week_labels(incidents: pd.DataFrame) -> tuple[pd.Series, np.ndarray]:
    """ISO week (``YYYY-Www``, Europe/London) of each incident, and which incidents have one.

    Only incidents whose interval is at most one day (council logs with a date
    or a time) fall in a week; police.uk month intervals do not.
    """
    start = pd.to_datetime(incidents[S.OCCURRED_FROM], utc=True, format="ISO8601")
    end = pd.to_datetime(incidents[S.OCCURRED_TO], utc=True, format="ISO8601")
    precise = ((end - start) <= pd.Timedelta(days=1)).to_numpy()
    local = start.dt.tz_convert(S.LONDON_TZ)
    iso = local.dt.isocalendar()
    labels = iso["year"].astype(str) + "-W" + iso["week"].astype(int).map("{:02d}".format)
    return labels.where(precise, ""), precise


def weekly_counts(incidents: pd.DataFrame, units: Sequence[str] | pd.Index, **kw: Any) -> pd.DataFrame:
    """Like :func:`monthly_counts` but per ISO week, for timestamped data (council logs).

    Incidents known only to the month (police.uk) cannot be placed in a week:
    they are left out and counted in ``attrs["excluded_imprecise"]``.
    """
    labels, precise = week_labels(incidents)
    df = incidents.loc[precise].assign(**{S.MONTH: labels[precise].to_numpy()})
    weeks = kw.pop("weeks", None)
    if weeks is None and len(df):
        first = pd.Timestamp.fromisocalendar(int(min(df[S.MONTH])[:4]), int(min(df[S.MONTH])[6:]), 1)
        last = pd.Timestamp.fromisocalendar(int(max(df[S.MONTH])[:4]), int(max(df[S.MONTH])[6:]), 1)
        weeks = [_iso_week(d) for d in pd.date_range(first, last, freq="7D")]
    out = monthly_counts(df, units, months=weeks or [], **kw)
    out.columns = pd.Index(out.columns, name="week")
    out.attrs["excluded_imprecise"] = int((~precise).sum())
    return out


def monthly_counts(incidents: pd.DataFrame, units: Sequence[str] | pd.Index, *,
                   unit_column: str = S.WARD_CODE, categories: Iterable[str] | None = None,
                   exclude_proactive: bool = True, months: Sequence[str] | None = None,
                   weights: pd.Series | None = None) -> pd.DataFrame:
    """Count incidents per unit and month (the forecast target), leaving proactive categories out.

    Parameters
    ----------
    incidents
        Canonical incidents with ``month``, ``category``, ``proactive`` and the
        ``unit_column``.
    units
        Every unit to report, in order (units without incidents get zeros;
        incidents in other units are ignored).
    unit_column
        Column holding each incident's unit (the grid cell id when grid cells
        were loaded as the attribution layer).
    categories
        Keep only these category slugs (all when ``None``).
    exclude_proactive
        Drop categories flagged ``proactive`` (drugs, possession of weapons).
    months
        Months to report as columns (default: every month present, in order,
        with gaps filled).
    weights
        Optional harm weight per category slug (count when omitted).

    Returns
    -------
    pandas.DataFrame
        Units by months.  ``attrs``: ``excluded_categories``, ``exclude_proactive``,
        ``categories`` and ``incidents_counted``.
    """
    need = [S.MONTH, S.CATEGORY, unit_column] + ([S.PROACTIVE] if exclude_proactive else [])
    missing = [c for c in need if c not in incidents.columns]
    if missing:
        msg = f"`incidents` lacks column(s) {missing}; columns are {list(incidents.columns)[:20]}"
        raise SchemaError(msg)
    df = incidents
    excluded: list[str] = []
    if exclude_proactive:
        pro = df[S.PROACTIVE].astype(bool).to_numpy()
        excluded = sorted(set(df.loc[pro, S.CATEGORY].astype(str)))
        taxonomy = S.load_taxonomy()
        excluded = sorted(set(excluded) | {s for s, c in taxonomy.categories.items() if c.proactive})
        df = df.loc[~pro]
    if categories is not None:
        cats = set(categories)
        df = df.loc[df[S.CATEGORY].isin(cats)]
    month = df[S.MONTH].astype(str)
    if months is None:
        present = sorted(set(month))
        if present:
            rng = pd.period_range(present[0], present[-1], freq="M")
            months = [str(p) for p in rng]
        else:
            months = []
    months = [str(m) for m in months]
    unit_index = pd.Index(units)
    w = np.ones(len(df)) if weights is None else df[S.CATEGORY].map(weights).fillna(0.0).to_numpy(dtype=float)
    ui = unit_index.get_indexer(df[unit_column].to_numpy())
    mi = pd.Index(months).get_indexer(month)
    ok = (ui >= 0) & (mi >= 0)
    mat = np.zeros((len(unit_index), len(months)))
    np.add.at(mat, (ui[ok], mi[ok]), w[ok])
    out = pd.DataFrame(mat, index=unit_index, columns=pd.Index(months, name="month"))
    out.attrs["exclude_proactive"] = bool(exclude_proactive)
    out.attrs["excluded_categories"] = excluded
    out.attrs["categories"] = sorted(categories) if categories is not None else "all"
    out.attrs["incidents_counted"] = int(ok.sum())
    return out


# --------------------------------------------------------------------------
# baselines
# --------------------------------------------------------------------------
def last_period(history: pd.DataFrame, *, centres: Centres | None = None) -> pd.Series:
    """Last period's count per unit (the naive forecast).

    Parameters
    ----------
    history
        Units by periods of counts.
    centres
        Ignored (accepted so every forecaster has the same interface).

    Returns
    -------
    pandas.Series
        ``score`` per unit.

    Examples
    --------
    >>> h = pd.DataFrame({"2018-01": [1, 0], "2018-02": [0, 3]}, index=["a", "b"])
    >>> last_period(h).tolist()
    [0.0, 3.0]
    """
    x, _ = _check(history, centres, need_centres=False)
    return _result(x[:, -1], history, "last_period", {})


def recency_kde(history: pd.DataFrame, *, centres: Centres, bandwidth_m: float = 250.0,
                half_life_periods: float = 2.0) -> pd.Series:
    """Recency-weighted kernel density: time-decayed counts smoothed with a quartic kernel.

    ``score_j = sum_i K(d_ij) * sum_t 0.5 ** (age_t / half_life) * count_it`` where
    ``age_t`` is 0 for the last period of ``history`` and ``K`` is the quartic
    kernel ``3 / (pi h^2) * (1 - (d/h)^2)^2`` within bandwidth ``h``.

    Parameters
    ----------
    history
        Units by periods of counts.
    centres
        ``(x, y)`` unit centres in EPSG:27700 metres.
    bandwidth_m
        Kernel bandwidth ``h`` in metres.
    half_life_periods
        Age at which an incident's weight halves.

    Returns
    -------
    pandas.Series
        ``score`` per unit (a density per square metre, scaled by the weights).

    Notes
    -----
    Quartic-kernel hotspot mapping as evaluated by Chainey, Tompson & Uhlig (2008);
    time-decayed weighting as in ProMap (Johnson et al. 2009).
    """
    if bandwidth_m <= 0 or half_life_periods <= 0:
        msg = f"`bandwidth_m` ({bandwidth_m}) and `half_life_periods` ({half_life_periods}) must be positive"
        raise HotspotError(msg)
    x, xy = _check(history, centres, need_centres=True)
    age = np.arange(x.shape[1])[::-1]
    wt = 0.5 ** (age / half_life_periods)
    k = _kernel_matrix(xy, bandwidth_m, _quartic(bandwidth_m))
    return _result(k @ (x @ wt), history, "recency_kde",
                   {"bandwidth_m": bandwidth_m, "half_life_periods": half_life_periods, "kernel": "quartic"})


def long_run_kde(history: pd.DataFrame, *, centres: Centres, bandwidth_m: float = 250.0) -> pd.Series:
    """Every period weighted equally, smoothed with a quartic kernel (retrospective KDE).

    Parameters
    ----------
    history
        Units by periods of counts.
    centres
        ``(x, y)`` unit centres in EPSG:27700 metres.
    bandwidth_m
        Kernel bandwidth in metres.

    Returns
    -------
    pandas.Series
        ``score`` per unit.

    Notes
    -----
    The classic hotspot map used as a forecast (Chainey, Tompson & Uhlig 2008).
    """
    x, xy = _check(history, centres, need_centres=True)
    k = _kernel_matrix(xy, bandwidth_m, _quartic(bandwidth_m))
    return _result(k @ x.sum(axis=1), history, "long_run_kde", {"bandwidth_m": bandwidth_m, "kernel": "quartic"})


def prospective(history: pd.DataFrame, *, centres: Centres, bandwidth_m: float = 400.0,
                bandwidth_periods: int = 2, cell_size_m: float | None = None) -> pd.Series:
    """Prospective hotspotting (Bowers, Johnson & Pease 2004).

    Each incident ``t`` periods old (``t = 0`` for the last period of ``history``)
    in a unit ``d`` cell-widths away adds ``1 / ((1 + d) (1 + t))`` to a unit's
    score, for ``d * cell_size_m <= bandwidth_m`` and ``t < bandwidth_periods``.
    Older or further incidents add nothing.

    Parameters
    ----------
    history
        Units by periods of counts.
    centres
        ``(x, y)`` unit centres in EPSG:27700 metres.
    bandwidth_m
        Spatial bandwidth in metres (400 m in the original burglary study).
    bandwidth_periods
        Temporal bandwidth in periods (two months here; the original used weeks).
    cell_size_m
        Width of a cell, the unit of ``d``; the median nearest-centre distance
        when omitted.

    Returns
    -------
    pandas.Series
        ``score`` per unit.

    Notes
    -----
    Designed for domestic burglary, whose risk spreads to nearby homes for a few
    weeks after an offence (near-repeat victimisation).  With police.uk's monthly
    dates and snapped locations the near-repeat signal is blurred, and other
    crime groups have weaker near-repeat patterns; it is kept as a baseline.
    """
    if bandwidth_m <= 0 or int(bandwidth_periods) < 1:
        msg = f"`bandwidth_m` ({bandwidth_m}) must be positive and `bandwidth_periods` ({bandwidth_periods}) >= 1"
        raise HotspotError(msg)
    x, xy = _check(history, centres, need_centres=True)
    cs = float(cell_size_m) if cell_size_m else _cell_size(xy)
    tp = min(int(bandwidth_periods), x.shape[1])
    recent = x[:, -tp:]
    age = np.arange(tp)[::-1]
    wt = 1.0 / (1.0 + age)
    k = _kernel_matrix(xy, bandwidth_m * (1 + 1e-9), lambda d: 1.0 / (1.0 + d / cs))
    return _result(k @ (recent @ wt), history, "prospective",
                   {"bandwidth_m": bandwidth_m, "bandwidth_periods": int(bandwidth_periods), "cell_size_m": cs})


# --------------------------------------------------------------------------
# the chosen method
# --------------------------------------------------------------------------
def _features(x: np.ndarray, ring: sparse.csr_matrix, wide: sparse.csr_matrix) -> np.ndarray:
    """Features for predicting the period after the columns of ``x`` (units x periods)."""
    m = x.shape[1]
    lag1 = x[:, -1]
    lag2 = x[:, -2] if m >= 2 else lag1
    mean3 = x[:, -3:].mean(axis=1)
    mean_all = x.mean(axis=1)
    ewm = x @ (0.5 ** (np.arange(m)[::-1] / 2.0)) / (0.5 ** (np.arange(m)[::-1] / 2.0)).sum()
    feats = [lag1, lag2, mean3, mean_all, ewm,
             ring @ mean_all, ring @ lag1, wide @ mean_all, wide @ mean3,
             (x > 0).mean(axis=1)]
    return np.column_stack(feats)


def boosted(history: pd.DataFrame, *, centres: Centres, min_lags: int = 3, ring_m: float | None = None,
            wide_m: float = 450.0, max_iter: int = 150, learning_rate: float = 0.05,
            max_leaf_nodes: int = 15, random_state: int = 0) -> pd.Series:
    """Gradient-boosted Poisson regression on lagged counts of the unit and its neighbourhood.

    Training pairs come only from ``history``: for each period ``t`` with at least
    ``min_lags`` earlier periods, features from periods before ``t`` are paired with
    the count in ``t``.  The fitted model then predicts the period after
    ``history`` from features of all of it.

    Features per unit: last and second-last counts, mean of the last 3 periods,
    mean of all periods, an exponentially weighted mean (half-life 2 periods), the
    share of periods with any incident, and the long-run mean, last count and
    3-period mean summed over the adjacent ring (``ring_m``, default 1.5 cell
    widths: the 8 neighbours of a square cell) and over a wider quartic
    neighbourhood (``wide_m``).

    Parameters
    ----------
    history
        Units by periods of counts.
    centres
        ``(x, y)`` unit centres in EPSG:27700 metres.
    min_lags
        Earliest training target has this many periods before it.  With fewer
        than ``min_lags + 1`` periods the model falls back to
        :func:`long_run_kde`.
    ring_m, wide_m
        Neighbourhood radii in metres.
    max_iter, learning_rate, max_leaf_nodes, random_state
        Passed to :class:`sklearn.ensemble.HistGradientBoostingRegressor`
        (``loss="poisson"``, no early stopping, so the fit is deterministic).

    Returns
    -------
    pandas.Series
        Expected count per unit in the next period.

    Notes
    -----
    Gradient-boosted trees over lagged counts and kernel densities is the design
    of the HunchLab forecaster (Azavea 2015); the Poisson deviance suits counts.
    Chosen over the baselines by the rolling-origin backtest in
    ``bench/backtest.py``.
    """
    from sklearn.ensemble import HistGradientBoostingRegressor

    x, xy = _check(history, centres, need_centres=True)
    m = x.shape[1]
    if m < int(min_lags) + 1:
        out = long_run_kde(history, centres=centres)
        out.attrs["method"] = "boosted"
        out.attrs["params"] = {"fallback": "long_run_kde", "reason": f"only {m} period(s) of history"}
        return out
    cs = _cell_size(xy)
    ring = _kernel_matrix(xy, ring_m if ring_m else 1.5 * cs, lambda d: (d > 0).astype(float))
    wide = _kernel_matrix(xy, wide_m, _quartic(wide_m)) * (np.pi * wide_m**2 / 3.0)
    ring = ring.tocsr()
    wide = wide.tocsr()
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    for t in range(int(min_lags), m):
        # Every unit, quiet or not: filtering on the target would bias the quiet units' rate upwards.
        xs.append(_features(x[:, :t], ring, wide))
        ys.append(x[:, t])
    fx = np.vstack(xs)
    fy = np.concatenate(ys)
    model = HistGradientBoostingRegressor(loss="poisson", max_iter=max_iter, learning_rate=learning_rate,
                                          max_leaf_nodes=max_leaf_nodes, early_stopping=False,
                                          random_state=random_state)
    params = {"min_lags": int(min_lags), "ring_m": float(ring_m if ring_m else 1.5 * cs), "wide_m": wide_m,
              "max_iter": max_iter, "learning_rate": learning_rate, "max_leaf_nodes": max_leaf_nodes,
              "random_state": random_state, "loss": "poisson", "training_rows": len(fy)}
    if fy.sum() <= 0:
        return _result(np.zeros(x.shape[0]), history, "boosted", {**params, "fallback": "no incidents"})
    from threadpoolctl import threadpool_limits

    # One OpenMP thread: on small inputs thread start-up dominates (fits took 1-3 s
    # instead of 0.1 s with the default pool on this 2-core machine).
    with threadpool_limits(limits=1):
        model.fit(fx, fy)
        pred = model.predict(_features(x, ring, wide))
    # A tiny long-run term orders units the trees leave tied (deterministic).
    pred = pred + 1e-6 * (wide @ x.mean(axis=1))
    return _result(pred, history, "boosted", params)


def auto(history: pd.DataFrame, *, centres: Centres, **options: Any) -> pd.Series:
    """The forecaster chosen for this history by :func:`spatial.forecast_select.select_forecaster`.

    A rolling-origin backtest inside ``history`` picks among counts, recent counts,
    exponentially weighted counts, kernel densities, prospective hotspotting,
    neighbourhood-shrunk counts and a blend (see :mod:`spatial.forecast_select`);
    ``attrs["choice"]`` records the choice, its backtest and the runner-up.
    """
    from spatial.forecast_select import auto_forecast

    return auto_forecast(history, centres=centres, **options)


#: Forecasters by name (the CLI's ``--method`` choices).
FORECASTERS: dict[str, Callable[..., pd.Series]] = {
    "auto": auto,
    "last_period": last_period,
    "recency_kde": recency_kde,
    "prospective": prospective,
    "long_run_kde": long_run_kde,
    "boosted": boosted,
}
#: The baselines the chosen method must beat.
BASELINES: tuple[str, ...] = ("last_period", "recency_kde", "prospective")
#: The default: selection per area and group on the user's own months (issue 16).
DEFAULT_METHOD = "auto"


def forecast(history: pd.DataFrame, *, centres: Centres, method: str = DEFAULT_METHOD,
             **options: Any) -> pd.Series:
    """Score each unit for the period after ``history`` with the named forecaster.

    Parameters
    ----------
    history
        Units by periods of counts (e.g. from :func:`monthly_counts`).
    centres
        ``(x, y)`` unit centres in EPSG:27700 metres.
    method
        One of :data:`FORECASTERS`.
    **options
        Passed to the forecaster.

    Returns
    -------
    pandas.Series
        ``score`` per unit; ``attrs["target_period"]`` is the forecast month when
        the columns are ``YYYY-MM`` months.
    """
    if method not in FORECASTERS:
        msg = f"`method` was {method!r} but is expected to be one of {sorted(FORECASTERS)}"
        raise HotspotError(msg)
    out = FORECASTERS[method](history, centres=centres, **options)
    try:
        out.attrs["target_period"] = next_period(str(history.columns[-1]))
    except HotspotError:
        out.attrs["target_period"] = None
    return out
