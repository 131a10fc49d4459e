"""Emerging hotspots as a hotspot method with the shared result shape.

:func:`emerging_hotspots` runs Esri's Emerging Hot Spot Analysis on any units
(grid cells, wards, LSOAs, housing estates, parks): Getis-Ord Gi* in every
period (:func:`spatial.trends.gistar_by_period`), Benjamini-Hochberg control
across units within each period, a Mann-Kendall trend on each unit's series of
Gi* z-scores, and the sixteen pattern classes plus "no pattern"
(:func:`spatial.trends.classify_emerging`, :data:`spatial.trends.CLASSES`).

Result columns
--------------
``score``        the unit's Gi* z-score in the **final period**: higher means
                 hotter now, so evaluation and allocation rank units the same way
                 as for ``gistar``.  The trend is reported separately;
``is_hotspot``   the unit's class is one of the eight *hot* classes (new,
                 consecutive, intensifying, persistent, diminishing, sporadic,
                 oscillating, historical hot spot);
``method``       ``"emerging"``;
``trend_class``  one of :data:`spatial.trends.CLASSES`;
``trend_tau``, ``trend_z``, ``trend_p``
                 Mann-Kendall tau, z and two-sided p of the Gi* z series;
``last_z``, ``last_p``
                 Gi* z and two-sided p in the final period (``score == last_z``);
``n_hot``, ``n_cold``
                 periods in which the unit was a significant hot / cold spot
                 (after FDR when ``fdr``).

Weights
-------
Grid cells (units with ``x_min``/``y_min``/``x_max``/``y_max``) use lattice
queen contiguity (the 3x3 window with the self-weight of Gi*); areas use
polygon queen contiguity.  ``weights="distance"`` uses a binary band between
centres (``distance_m``; default 1.5 cell sizes for grids, required for areas).
Scattered polygons such as estates or parks rarely touch, so under queen
contiguity they are *islands*: Gi* then compares a unit's own count with the
study-area mean.  A :class:`~spatial._errors.DataWarning` says so; pass
``weights="distance"`` with a ``distance_m`` to let nearby estates count as
neighbours.

Against sfdep (R) and pyehsa
----------------------------
Checked cell by cell against ``pyehsa`` 0.1.2, a Python port of R sfdep's
``emerging_hotspot_analysis`` (``tests/spatial/hotspots/test_hs_ehsa_reference.py``,
on a hand-built cube and on real Tunbridge Wells police.uk months).  With
queen weights (sfdep adds self and row-standardises: Gi* z is unchanged by
that scaling), the Gi* z-scores are equal to 1e-9, spatial (``k = 0``) and
space-time (``space_time=True``, sfdep's ``k = 1``: the mean and variance are
the current period's, the neighbourhood also holds the previous period).  sfdep
takes p-values from a permutation (``nsim = 199``) at ``threshold = 0.01`` for
both the bins and the trend, with no FDR; ours are analytic, so compare with
``alpha = trend_alpha = threshold`` and ``fdr=False``.  Given the same z and p,
the classes agree on every unit except where sfdep's rules (JosiahParry/sfdep,
``R/emerging-hostpot-classifications.R``) depart from Esri's text:

* sfdep's *sporadic* rules ignore the final period: a unit hot in some months
  but not the last is "sporadic hot spot" there, "no pattern" here (Esri: a
  sporadic hot spot is hot in the final time step);
* hot in >= 90 % of periods but not the final one: historical here; sfdep
  tests *persistent* first (no final-period condition) and its *historical*
  needs the final z below 0, so it says persistent (no significant trend),
  historical (significant trend and final z < 0) or no pattern;
* significant in the final period with earlier bins of the other sign: sfdep's
  *consecutive* run counts significant bins of either sign and its
  *intensifying hot* rule counts them too (``sum(sigs) / n >= 0.9``) without
  requiring a hot final bin, so e.g. cold for months then hot in the last is
  consecutive (sfdep) rather than new hot spot (Esri: "never been a significant
  hot spot before");
* every Esri *diminishing cold spot* is an sfdep "intensifying hotspot": that
  rule (any-sign >= 90 %, rising trend) is tested before the cold rules.

pyehsa itself departs from sfdep in two places: its diminishing hot spot also
requires a positive final z, and its Mann-Kendall p is the normal
approximation with continuity correction (as ours), whereas sfdep calls
``Kendall::MannKendall``, whose p-value is exact when there are no ties.

References
----------
Esri (2024) *How Emerging Hot Spot Analysis works*, ArcGIS Pro Space Time
Pattern Mining toolbox documentation.

Parry, J. (2023) sfdep: Spatial Dependence for Simple Features, R package,
``emerging_hotspot_analysis`` (github.com/JosiahParry/sfdep).

Ord, J. K. and Getis, A. (1995) Local spatial autocorrelation statistics:
distributional issues and an application. *Geographical Analysis* 27(4): 286-306.

Mann, H. B. (1945) Nonparametric tests against trend. *Econometrica* 13: 245-259;
Kendall, M. G. (1975) *Rank Correlation Methods*, 4th ed., Griffin.

Benjamini, Y. and Hochberg, Y. (1995) Controlling the false discovery rate.
*JRSS B* 57(1): 289-300.
"""

from __future__ import annotations

import warnings
from typing import Literal

import geopandas as gpd
import libpysal
import numpy as np
import pandas as pd

from .._errors import DataWarning, SchemaError
from ..projection import require_bng
from ..significance import fdr_reject
from ..trends import (
    CLASSES,
    classify_emerging,
    gistar_by_period,
    mann_kendall_rows,
)
from .getis_ord import (
    _w_from_sparse,
    area_queen_weights,
    distance_band_weights,
    grid_queen_weights,
)
from .result import hotspot_result

__all__ = ["HOT_CLASSES", "emerging_hotspots"]

#: The classes that set ``is_hotspot``.
HOT_CLASSES: tuple[str, ...] = tuple(c for c in CLASSES if c.endswith("hot spot"))

_GRID_COLS = {"x_min", "y_min", "x_max", "y_max"}


def _check_counts(counts: pd.DataFrame, units: gpd.GeoDataFrame) -> np.ndarray:
    """Validate the units x periods table against the units and return it as floats in units order."""
    if not isinstance(counts, pd.DataFrame):
        msg = f"`counts` must be a DataFrame of units (rows) x periods (columns), got {type(counts).__name__}"
        raise SchemaError(msg)
    if not counts.index.is_unique:
        msg = "`counts` has repeated row labels; give one row per unit"
        raise SchemaError(msg)
    missing = units.index.difference(counts.index)
    extra = counts.index.difference(units.index)
    if len(missing) or len(extra):
        msg = (f"`counts` rows must match the units' index: {len(missing)} unit(s) have no row "
               f"(e.g. {list(missing[:3])}) and {len(extra)} row(s) are not units (e.g. {list(extra[:3])}); "
               "reindex the counts with `counts.reindex(units.index, fill_value=0)` after checking the ids")
        raise SchemaError(msg)
    cols = pd.Index(counts.columns)
    if counts.shape[1] < 2:
        msg = f"`counts` has {counts.shape[1]} period(s); emerging hotspots need a series (10 or more periods)"
        raise SchemaError(msg)
    if not cols.is_unique or not cols.is_monotonic_increasing:
        msg = (f"the periods (columns of `counts`) must be unique and in time order, got {list(cols[:5])}...; "
               "sort them, e.g. `counts.sort_index(axis=1)`")
        raise SchemaError(msg)
    y = counts.reindex(units.index).apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(y).all() or (y < 0).any():
        msg = "`counts` must hold finite, non-negative counts (or harm) in every cell"
        raise SchemaError(msg)
    return y


def _weights(units: gpd.GeoDataFrame, weights: Literal["queen", "distance"] | libpysal.weights.W,
             distance_m: float | None) -> tuple[libpysal.weights.W, str, float | None]:
    is_grid = _GRID_COLS <= set(units.columns)
    if isinstance(weights, libpysal.weights.W):
        if weights.n != len(units):
            msg = f"the weights describe {weights.n} units but there are {len(units)}; build them from `units`"
            raise SchemaError(msg)
        return _w_from_sparse(weights.sparse), "user", distance_m
    if weights == "queen":
        if is_grid:
            return grid_queen_weights(units), "lattice queen (3x3 window with self)", None
        return area_queen_weights(units), "polygon queen (with self)", None
    if weights == "distance":
        if distance_m is None:
            if not is_grid:
                msg = "weights='distance' on areas needs `distance_m` (metres between centroids), e.g. 1000"
                raise SchemaError(msg)
            distance_m = 1.5 * float(np.median(units["x_max"] - units["x_min"]))
        return (distance_band_weights(units, distance_m=distance_m),
                f"distance band {distance_m:g} m (with self)", float(distance_m))
    msg = f'weights was "{weights}" but is expected to be "queen", "distance" or a libpysal W'
    raise SchemaError(msg)


def emerging_hotspots(counts: pd.DataFrame, units: gpd.GeoDataFrame, *,
                      weights: Literal["queen", "distance"] | libpysal.weights.W = "queen",
                      distance_m: float | None = None, alpha: float = 0.05, fdr: bool = True,
                      permutations: int = 0, seed: int = 12345, share: float = 0.9,
                      trend_alpha: float = 0.05, space_time: bool = False) -> gpd.GeoDataFrame:
    """Emerging Hot Spot Analysis of units over periods, in the shared hotspot result shape.

    Parameters
    ----------
    counts
        Units (rows, labelled like ``units.index``) by periods (columns in time
        order, e.g. ``"2025-04"`` months) of counts or harm.  Build it with
        :mod:`spatial.areas` (grid cells, wards, LSOAs, estates, parks, or the
        MPS ward series).
    units
        The units' polygons in EPSG:27700 (grid cells from
        :func:`spatial.grids.square_grid`, or areas).  Not modified.
    weights
        ``"queen"`` (lattice queen for grids, polygon queen for areas),
        ``"distance"`` (binary band of ``distance_m``) or a libpysal ``W`` in
        ``units`` order (without self-weights; Gi* adds them).
    distance_m
        Band for ``weights="distance"``; default 1.5 cell sizes on grids,
        required on areas.
    alpha
        Significance (FDR level when ``fdr``) of each unit-period bin.
    fdr
        Benjamini-Hochberg control across units within each period.
    permutations
        0 for analytic Gi* p-values (default, as in Esri's tool); e.g. 999 for
        conditional-permutation inference with ``seed``.
    seed
        Seed of the permutations (recorded even when unused).
    share
        Esri's "90 % of time steps" threshold for persistent/historical classes.
    trend_alpha
        Significance of the Mann-Kendall trend (intensifying / diminishing).
    space_time
        Gi* over each unit's neighbourhood in this *and the previous* period
        (ArcGIS's space-time cube neighbourhood with a time step of 1, sfdep's
        ``k = 1``; :func:`spatial.trends.gistar_space_time`).  Default false:
        the spatial neighbourhood only, as before, so existing runs keep their
        classes; analytic p-values only.

    Returns
    -------
    geopandas.GeoDataFrame
        Copy of ``units`` with ``score`` (final-period Gi* z), ``is_hotspot``
        (any hot class), ``method = "emerging"``, ``trend_class``,
        ``trend_tau``, ``trend_z``, ``trend_p``, ``last_z``, ``last_p``,
        ``n_hot``, ``n_cold``; ``attrs["params"]`` records every option, the
        weights, the periods and the number of units in each class.

    Raises
    ------
    CRSError
        If ``units`` are not EPSG:27700.
    SchemaError
        If the counts do not match the units, are negative or not finite, the
        periods are out of order, there are fewer than 3 units, or an option is
        invalid.

    Warns
    -----
    DataWarning
        With fewer than 10 periods, or when some units have no neighbours.

    Notes
    -----
    Esri (2024) pattern definitions; Gi* from Ord & Getis (1995); trend test
    from Mann (1945) and Kendall (1975); FDR from Benjamini & Hochberg (1995).
    ``score`` is the final-period z (not the trend z) so that "higher is
    hotter" holds for this method as for every other; the trend is in
    ``trend_z`` and ``trend_class``.

    Examples
    --------
    >>> import shapely
    >>> from spatial.grids import square_grid
    >>> area = gpd.GeoSeries([shapely.box(524_000, 177_000, 525_500, 178_500)], crs=27700)
    >>> grid = square_grid(area, cell_size_m=150.0)
    >>> months = [f"2025-{m:02d}" for m in range(1, 13)]
    >>> base = np.random.default_rng(0).poisson(5, len(grid))
    >>> counts = pd.DataFrame(np.repeat(base[:, None], 12, axis=1), index=grid.index, columns=months)
    >>> counts.loc[48, months[-3:]] += 80  # a new problem in the last three months
    >>> res = emerging_hotspots(counts, grid)
    >>> res.loc[48, "trend_class"], bool(res.loc[48, "is_hotspot"]), int(res["is_hotspot"].sum())
    ('consecutive hot spot', True, 9)
    """
    require_bng(units, name="the units")
    if len(units) < 3:
        msg = f"emerging hotspots need at least 3 units, got {len(units)}"
        raise SchemaError(msg)
    if not units.index.is_unique:
        msg = "the units' index has repeated labels; give each unit a unique index (e.g. set_index('ward_code'))"
        raise SchemaError(msg)
    y = _check_counts(counts, units)
    if not (0 < alpha < 1) or not (0 < trend_alpha < 1) or not (0 < share <= 1):
        msg = f"alpha ({alpha!r}) and trend_alpha ({trend_alpha!r}) must be in (0, 1) and share ({share!r}) in (0, 1]"
        raise SchemaError(msg)
    if not isinstance(permutations, (int, np.integer)) or permutations < 0 or 0 < permutations < 99:
        msg = f"permutations was {permutations!r}; use 0 (analytic) or at least 99 (999 recommended)"
        raise SchemaError(msg)
    if space_time and permutations:
        msg = f"space_time Gi* takes analytic p-values only; got permutations={permutations!r} (use 0)"
        raise SchemaError(msg)
    w, wname, dist = _weights(units, weights, distance_m)
    islands = list(getattr(w, "islands", []))
    if islands:
        warnings.warn(f"{len(islands)} of {len(units)} units have no neighbours under {wname}; their Gi* compares "
                      "each unit's own count with the study-area mean. Use weights='distance' with distance_m "
                      "to give scattered areas (estates, parks) neighbours.", DataWarning, stacklevel=2)
    with warnings.catch_warnings():
        # libpysal repeats the island / disconnected-components notice for every period; reported once above
        warnings.filterwarnings("ignore", message=".*not fully connected.*", category=UserWarning)
        warnings.filterwarnings("ignore", message=".*islands.*", category=UserWarning)
        # a neighbourhood covering every unit has no variance: z is undefined, set to 0 (p = 1) downstream
        warnings.filterwarnings("ignore", message="invalid value encountered", category=RuntimeWarning)
        warnings.filterwarnings("ignore", message="divide by zero", category=RuntimeWarning)
        z, p = gistar_by_period(y, w, permutations=int(permutations), seed=seed, space_time=space_time)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # re-issued below with this function as the caller
        classes = classify_emerging(z, p, alpha=alpha, fdr=fdr, share=share, trend_alpha=trend_alpha)
    n_periods = y.shape[1]
    if n_periods < 10:
        warnings.warn(f"only {n_periods} period(s): Emerging Hot Spot Analysis needs at least 10 for a meaningful "
                      "trend; classes are computed but the trend test has little power", DataWarning, stacklevel=2)
    pz = np.where(np.isfinite(p), p, 1.0)
    if fdr:
        sig = np.column_stack([fdr_reject(pz[:, t], alpha=alpha) for t in range(n_periods)])
    else:
        sig = pz <= alpha
    trend = mann_kendall_rows(np.nan_to_num(z, nan=0.0)) if len(z) else np.zeros((0, 3))

    out = units.copy()
    out["trend_class"] = classes.astype(object)
    out["trend_tau"] = trend[:, 0]
    out["trend_z"] = trend[:, 1]
    out["trend_p"] = trend[:, 2]
    out["last_z"] = z[:, -1]
    out["last_p"] = p[:, -1]
    out["n_hot"] = (sig & (z > 0)).sum(axis=1).astype(np.int64)
    out["n_cold"] = (sig & (z < 0)).sum(axis=1).astype(np.int64)
    periods = [str(c) for c in counts.columns]
    class_counts = {c: int(n) for c, n in pd.Series(classes).value_counts().items()}
    params = {
        "weights": wname, "distance_m": dist, "alpha": alpha,
        "fdr": "benjamini-hochberg per period" if fdr else "none", "permutations": int(permutations),
        "inference": "permutation" if permutations else "analytic", "seed": int(seed), "share": share,
        "trend_alpha": trend_alpha, "transform": "B", "star": True,
        "neighbourhood": "space-time (this and the previous period)" if space_time else "spatial (this period)",
        "score": "final-period Gi* z-score", "is_hotspot": "any hot class (incl. historical)",
        "periods": periods, "first_period": periods[0], "last_period": periods[-1], "n_periods": n_periods,
        "n_units": len(units), "n_islands": len(islands), "total": float(y.sum()), "classes": class_counts,
    }
    return hotspot_result(out, z[:, -1], np.isin(classes, HOT_CLASSES), "emerging", params)
