"""Next-month forecasts and their backtest on areas (RBKC wards from the MPS series).

The grid forecasters of :mod:`spatial.forecast` take a units x periods count
table and unit centres, so they run unchanged on areas: the centres are the
areas' centroids.  Two things differ from a grid and are set here:

* **Neighbourhoods.**  The forecasters' radii default to grid-cell scales
  (250-450 m), which on wards (centroids about 700 m apart in RBKC) would
  reach no neighbour.  :func:`area_forecasters` sets every spatial radius from
  the median nearest-neighbour distance between centroids, ``d``: kernel
  bandwidths, the prospective bandwidth and the boosted model's ring are
  ``1.5 d`` (the analogue of a grid cell's ring of 8 neighbours) and the
  boosted model's wide neighbourhood ``3 d``.
* **Ranking under an area budget.**  Areas differ in size (RBKC wards: 3.1 % to
  8.6 % of the borough), and hit rate, PAI and PEI select units by score until
  a share of the *area* is used (:mod:`spatial.evaluation`).  A forecaster
  predicts a count per area; with ``rank_by="density"`` (default) the score
  used for selection is that count divided by the area, the expected incidents
  per square metre, which is the ranking that captures the most incidents for
  the area patrolled.  ``rank_by="count"`` ranks by the raw count.

Selection follows :mod:`spatial.evaluation` exactly (the first area that would
overshoot the budget stops the selection).  With 18 wards a 5 % budget holds
about one ward, and **none** when the top-ranked ward alone is larger than 5 %
of the borough (e.g. Brompton & Hans Town, 8.6 %): that origin then has hit
rate 0 and an undefined PAI and PEI (``nan``), reported as such.  The ``units``
and ``area_share`` columns of the backtest say how much was selected.  On
unequal areas the PEI oracle ``n*`` is greedy by density (a knapsack
approximation), so a forecaster's PEI can slightly exceed 1; a perfect-foresight
score ranked by density gets exactly 1.

References
----------
Chainey, S., Tompson, L. and Uhlig, S. (2008) The utility of hotspot mapping for
predicting spatial patterns of crime. *Security Journal* 21: 4-28 (PAI).

Hunt, J. M. (2016) Do crime hot spots move? PhD thesis, American University (PEI).

Hyndman, R. J. and Athanasopoulos, G. (2021) *Forecasting: principles and
practice*, 3rd ed., section 5.10 (rolling forecasting origin).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ._errors import HotspotError, SchemaError
from .evaluation import rolling_origin_backtest
from .forecast import FORECASTERS
from .projection import require_bng

__all__ = [
    "WARD_COVERAGES",
    "WARD_GROUPS",
    "area_centres",
    "area_forecasters",
    "centroid_spacing_m",
    "ward_backtest",
    "ward_backtest_groups",
]

Forecaster = Callable[[pd.DataFrame], pd.Series]

#: Coverages reported for wards (with 18 wards, 5 % of the area is about one ward).
WARD_COVERAGES: tuple[float, ...] = (0.05, 0.10, 0.20)

#: Category groups of the ward backtest: name -> MPS groups of
#: ``spatial/data/mps_major_categories.csv`` (``None`` = every non-proactive
#: category).  MPS recorded crime has no anti-social behaviour.
WARD_GROUPS: dict[str, list[str] | None] = {
    "all-crime": None,
    "burglary": ["burglary"],
    "violence-sexual": ["violence-sexual"],
    "theft": ["theft"],
    "vehicle": ["vehicle"],
    "robbery": ["robbery"],
}


def area_centres(units: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Centroids ``(x, y)`` of the areas in EPSG:27700 metres, in ``units`` order.

    Raises
    ------
    CRSError
        If ``units`` are not EPSG:27700.
    """
    require_bng(units, name="the areas")
    c = units.geometry.centroid
    return c.x.to_numpy(dtype=float), c.y.to_numpy(dtype=float)


def centroid_spacing_m(units: gpd.GeoDataFrame) -> float:
    """Median distance from each area's centroid to the nearest other centroid, in metres."""
    x, y = area_centres(units)
    if len(x) < 2:
        msg = f"need at least 2 areas to measure their spacing, got {len(x)}"
        raise SchemaError(msg)
    d, _ = cKDTree(np.column_stack([x, y])).query(np.column_stack([x, y]), k=2)
    return float(np.median(d[:, 1]))


def _per_area(fc: Forecaster, areas_m2: np.ndarray, index: pd.Index) -> Forecaster:
    def scored(history: pd.DataFrame) -> pd.Series:
        raw = fc(history)
        values = np.asarray(raw, dtype=float).reshape(-1)
        if values.size != areas_m2.size:
            msg = f"a forecaster returned {values.size} scores for {areas_m2.size} areas"
            raise HotspotError(msg)
        out = pd.Series(values / areas_m2, index=index, name="score")
        out.attrs.update(getattr(raw, "attrs", {}))
        out.attrs["rank_by"] = "density (score per m2)"
        return out
    return scored


def area_forecasters(units: gpd.GeoDataFrame, *, methods: Sequence[str] | None = None,
                     rank_by: Literal["density", "count"] = "density") -> dict[str, Forecaster]:
    """The forecasters of :mod:`spatial.forecast` bound to area centroids and area-scale radii.

    Parameters
    ----------
    units
        Area polygons in EPSG:27700, in the row order of the count tables the
        forecasters will see.
    methods
        Names from :data:`spatial.forecast.FORECASTERS` (all when ``None``).
    rank_by
        ``"density"`` divides each forecast by the area (see module notes);
        ``"count"`` keeps the expected count.

    Returns
    -------
    dict
        Name -> callable ``history -> scores`` for
        :func:`spatial.evaluation.rolling_origin_backtest`.

    Raises
    ------
    HotspotError
        For an unknown method or ``rank_by``.
    """
    methods = list(methods or FORECASTERS)
    unknown = [m for m in methods if m not in FORECASTERS]
    if unknown:
        msg = f"unknown forecaster(s) {unknown}; expected some of {sorted(FORECASTERS)}"
        raise HotspotError(msg)
    if rank_by not in ("density", "count"):
        msg = f'rank_by was "{rank_by}" but is expected to be "density" or "count"'
        raise HotspotError(msg)
    centres = area_centres(units)
    d = centroid_spacing_m(units)
    options: dict[str, dict[str, float]] = {
        "last_period": {},
        "recency_kde": {"bandwidth_m": 1.5 * d},
        "long_run_kde": {"bandwidth_m": 1.5 * d},
        "prospective": {"bandwidth_m": 1.5 * d, "cell_size_m": d},
        "boosted": {"ring_m": 1.5 * d, "wide_m": 3.0 * d},
    }
    out: dict[str, Forecaster] = {}
    for m in methods:
        fc = FORECASTERS[m]
        bound: Forecaster = (fc if m == "last_period"
                             else functools.partial(fc, centres=centres, **options.get(m, {})))
        out[m] = _per_area(bound, units.geometry.area.to_numpy(dtype=float), units.index) if rank_by == "density" else bound
    return out


def ward_backtest(counts: pd.DataFrame, units: gpd.GeoDataFrame, *, methods: Sequence[str] | None = None,
                  extra: Mapping[str, Forecaster] | None = None, coverages: Sequence[float] = WARD_COVERAGES,
                  min_train: int = 24, max_origins: int | None = 24,
                  rank_by: Literal["density", "count"] = "density") -> pd.DataFrame:
    """Rolling-origin backtest of the forecasters on areas x months (e.g. the 18 RBKC wards).

    Parameters
    ----------
    counts
        Areas (rows, labelled like ``units.index``) by months (columns in time
        order), e.g. from :func:`spatial.areas.mps_period_counts`.
    units
        Area polygons in EPSG:27700; their areas weight the coverage and their
        centroids are the forecasters' centres.
    methods
        Forecasters from :data:`spatial.forecast.FORECASTERS` (all when ``None``).
    extra
        More forecasters, name -> ``history -> counts per area``; they are
        ranked like the others (``rank_by``).  Useful for references such as a
        perfect-foresight score in tests.
    coverages
        Shares of the total area (default 5, 10 and 20 %).
    min_train
        Months of history before the first origin.
    max_origins
        Keep only the last ``max_origins`` origins (all when ``None``).
    rank_by
        ``"density"`` (default) or ``"count"``; see the module notes.

    Returns
    -------
    pandas.DataFrame
        :func:`spatial.evaluation.rolling_origin_backtest` rows (``target,
        forecaster, coverage, area_share, units, n, N, n_star, hit_rate, pai,
        pei``); ``attrs`` adds ``rank_by``, ``neighbourhood_m`` and the
        ``counts.attrs``.

    Raises
    ------
    CRSError
        If ``units`` are not EPSG:27700.
    SchemaError
        If the counts' rows do not match the units.
    HotspotError
        If there are too few months for one origin, or an option is invalid.

    Notes
    -----
    Rolling forecasting origin (Hyndman & Athanasopoulos 2021, 5.10); hit rate
    and PAI (Chainey et al. 2008), PEI (Hunt 2016).
    """
    require_bng(units, name="the areas")
    if not isinstance(counts, pd.DataFrame):
        msg = f"`counts` must be a DataFrame of areas x months, got {type(counts).__name__}"
        raise SchemaError(msg)
    if not counts.index.equals(units.index):
        if set(counts.index) != set(units.index) or not counts.index.is_unique:
            msg = ("`counts` rows must be labelled like `units.index` (one row per area); build them with "
                   "spatial.areas.mps_period_counts or area_period_counts")
            raise SchemaError(msg)
        counts = counts.reindex(units.index)
    fcs = area_forecasters(units, methods=methods, rank_by=rank_by)
    if extra:
        areas_m2 = units.geometry.area.to_numpy(dtype=float)
        for name, fc in extra.items():
            if name in fcs:
                msg = f"extra forecaster {name!r} clashes with a built-in one; rename it"
                raise HotspotError(msg)
            fcs[name] = _per_area(fc, areas_m2, units.index) if rank_by == "density" else fc
    from threadpoolctl import threadpool_limits

    # A few hundred training rows: OpenMP start-up in the boosted model costs more than the fit
    # (about 1-3 s against 0.1 s per origin on two cores), so run single-threaded.
    with threadpool_limits(limits=1):
        out = rolling_origin_backtest(counts, fcs, areas=units.geometry.area.to_numpy(dtype=float),
                                      min_train=min_train, coverages=coverages, max_origins=max_origins)
    out.attrs["rank_by"] = rank_by
    out.attrs["neighbourhood_m"] = 1.5 * centroid_spacing_m(units)
    out.attrs["n_areas"] = len(units)
    return out


def ward_backtest_groups(area_counts: pd.DataFrame, units: gpd.GeoDataFrame, *,
                         groups: Mapping[str, list[str] | None] | None = None, id_col: str = "ward_code",
                         priority: Sequence[str] | None = None, methods: Sequence[str] | None = None,
                         coverages: Sequence[float] = WARD_COVERAGES, min_train: int = 24,
                         max_origins: int | None = 24,
                         rank_by: Literal["density", "count"] = "density") -> pd.DataFrame:
    """:func:`ward_backtest` per category group of the MPS series, proactive categories excluded.

    Parameters
    ----------
    area_counts
        Stored MPS counts (:func:`spatial.store.queries.area_counts`).
    units
        The areas, e.g. ``load_wards(("E09000020",))``.
    groups
        Name -> MPS groups (default :data:`WARD_GROUPS`).
    id_col
        Column of ``units`` holding the area code.
    priority
        MPS releases in order of preference (default the RBKC ward releases).
    methods, coverages, min_train, max_origins, rank_by
        As in :func:`ward_backtest`.

    Returns
    -------
    pandas.DataFrame
        The backtest rows with a leading ``group`` column and ``incidents`` (the
        group's total over the series), ready for
        :func:`spatial.backtest.markdown_table`.
    """
    from .areas import mps_period_counts
    from .series import RBKC_WARD_PRIORITY

    groups = dict(groups or WARD_GROUPS)
    frames = []
    for name, grp in groups.items():
        counts = mps_period_counts(area_counts, units, id_col=id_col,
                                   priority=list(priority or RBKC_WARD_PRIORITY), groups=grp,
                                   include_proactive=False)
        res = ward_backtest(counts, units, methods=methods, coverages=coverages, min_train=min_train,
                            max_origins=max_origins, rank_by=rank_by)
        res.insert(0, "group", name)
        res["incidents"] = int(counts.to_numpy().sum())
        frames.append(res)
    out = pd.concat(frames, ignore_index=True)
    out.attrs.update(frames[0].attrs if frames else {})
    return out
