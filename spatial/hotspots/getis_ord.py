"""Getis-Ord Gi* hot and cold spots with Benjamini-Hochberg false-discovery control.

Gi* (Ord & Getis 1995, eq. 14) compares the sum of counts in a unit's
neighbourhood *including the unit itself* with what the whole study area would
give a neighbourhood of that size:

    Gi* = (sum_j w_ij x_j - xbar W_i) / (S sqrt((n S1_i - W_i^2) / (n - 1)))

with ``W_i = sum_j w_ij``, ``S1_i = sum_j w_ij^2``, ``xbar`` the mean and ``S``
the (population) standard deviation of ``x``.  It is computed by esda's
``G_Local(y, w, transform="B", star=True)``.

Weights
-------
* Grid cells: **queen contiguity on the lattice** (the 8 surrounding squares;
  with the self-weight from ``star=True`` the neighbourhood is the 3x3 window
  centred on the cell), found by arithmetic on ``col``/``row`` so clipped
  edge cells keep their lattice neighbours.  ``weights="distance"`` uses a
  binary distance band between cell centres instead (``distance_m``, default
  1.5 cell sizes = the same 3x3 window plus nothing; larger bands smooth more).
* Areas (wards, LSOAs, estates): queen contiguity of the polygons
  (libpysal ``Queen.from_dataframe``).

Inference
---------
``inference="permutation"`` (default): conditional randomisation with
``permutations`` draws and a fixed ``seed``; the two-sided pseudo p-value is
``min(1, 2 (min(#{G_sim >= G}, #{G_sim <= G}) + 1) / (P + 1))``, the one
definition shared with ``emerging`` and the batch pipeline
(:func:`spatial.significance.permutation_p_two_sided`).  For values with a few
decimals at most (counts, CCHI days) the draws are esda's, streamed without
keeping them (:func:`streamed_permutation_p`: the same p-values, 12 s and 0.5 GB
for West Kent's 42,891 cells at 9,999 permutations instead of 79 s and 7 GB);
other values (and any run where numba is installed, see ``_NUMBA``) go through
esda's kept simulations.  esda 2.9's ``G_Local`` has no ``alternative``
argument (its conditional randomisation warns that the default is changing),
so the two-sided value is computed here and esda's directed ``p_sim`` is not
used.  The smallest attainable p is ``2/(P+1)``: Benjamini-Hochberg then needs
at least ``m 2/(P+1) / alpha`` units at that p before it declares any (with
P = 999 and 600 cells: 12 cells at 90 %, 24 at 95 %, 120 at 99 %).  This is the
price of exact permutation inference.  On RBKC in June 2018 (635 cells, 2,048
crimes) 999 permutations declared nothing at any level, so the default is
9,999 permutations (0.4 s there; 14 hot and 11 cold cells at 90 %) and
``hotspot_level`` 0.90.  On a large area the floor bites: West Kent's 42,891
cells need 86 cells at the smallest p before any is hot at 90 %, and one month
(2,109 crimes, 2025-12) has none; the result's ``attrs["params"]["fdr_floor_units"]``
says how many it takes, and the pages say so (analyse a district, or use
``inference="analytic"``).

``inference="permutation_z"``: the z-score of G against the mean and standard
deviation of its permutation distribution, with a normal p-value (esda's
``z_sim``); ``inference="analytic"``: ``permutations=0`` and
``p = 2 (1 - Phi(|z|))`` from the analytic moments, about five times faster.
Both give fine p-values but are anti-conservative for sparse counts, whose
neighbourhood sums are right-skewed: on complete spatial randomness (400
cells, 300-1000 points, 40 seeds) about one seed in five showed a false
"hot 90" cell after FDR, against none with the default.

False-discovery control
-----------------------
Benjamini & Hochberg (1995): with ``m`` p-values sorted ``p_(1) <= ... <= p_(m)``,
reject the ``k`` smallest where ``k = max{i : p_(i) <= i alpha / m}``.
Adjusted values ``q_(i) = min_{j >= i} min(1, m p_(j) / j)`` (computed by
``scipy.stats.false_discovery_control`` in :mod:`spatial.significance`) give the same
decisions (reject where ``q <= alpha``) at every level at once, so a unit is
"hot 99" if ``q <= 0.01`` and its z is positive, "hot 95" if ``q <= 0.05``,
"hot 90" if ``q <= 0.10``, likewise "cold ..."; otherwise "not significant".
``gi_bin`` is the same decision as ArcGIS's ``Gi_Bin`` integer (+3 hot 99 ...
-3 cold 99, 0 not significant).
Caldas de Castro & Singer (2006) recommend FDR for local statistics.
"""

from __future__ import annotations

import importlib.util
import warnings
from typing import Final, Literal

import geopandas as gpd
import libpysal
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats

from .._errors import SchemaError
from ..grids import _lattice, cell_centres
from ..projection import require_bng
from ..significance import fdr_adjust, fdr_reject, gi_bin, permutation_p_from_counts, permutation_p_two_sided
from .result import hotspot_result

__all__ = [
    "GI_CLASSES",
    "area_queen_weights",
    "benjamini_hochberg",
    "bh_adjust",
    "distance_band_weights",
    "gistar",
    "grid_queen_weights",
]

#: Ordered class labels of the ``gi_class`` column.
GI_CLASSES: tuple[str, ...] = ("hot 99", "hot 95", "hot 90", "not significant", "cold 90", "cold 95", "cold 99")
_LEVELS: tuple[float, ...] = (0.99, 0.95, 0.90)


# Benjamini-Hochberg: the shared definitions (scipy.stats.false_discovery_control)
# ----------------------------------------------------------------------------
#: Benjamini-Hochberg adjusted p-values; :func:`spatial.significance.fdr_adjust`.
bh_adjust = fdr_adjust
#: Benjamini-Hochberg step-up decisions at ``alpha``; :func:`spatial.significance.fdr_reject`.
benjamini_hochberg = fdr_reject


# ----------------------------------------------------------------------------
# weights
# ----------------------------------------------------------------------------
def _w_from_sparse(mat: sp.spmatrix) -> libpysal.weights.W:
    mat = sp.csr_matrix(mat)
    mat.setdiag(0)
    mat.eliminate_zeros()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # islands are reported by libpysal as warnings
        return libpysal.weights.WSP(mat).to_W(silence_warnings=True)


def grid_queen_weights(grid: gpd.GeoDataFrame) -> libpysal.weights.W:
    """Binary queen-contiguity weights between lattice cells (8 neighbours, no self).

    Raises
    ------
    SchemaError
        If the grid's cells are not a regular lattice.
    """
    lat = _lattice(grid)
    if lat is None:
        msg = "grid cells are not a regular lattice; use weights='distance' or area weights"
        raise SchemaError(msg)
    xm, ym = grid["x_min"].to_numpy(float), grid["y_min"].to_numpy(float)
    ci = np.rint((xm - lat.x0) / lat.sx).astype(np.int64)
    ri = np.rint((ym - lat.y0) / lat.sy).astype(np.int64)
    ncol, nrow = lat.lut.shape
    rows, cols = [], []
    for dc in (-1, 0, 1):
        for dr in (-1, 0, 1):
            if dc == 0 and dr == 0:
                continue
            c2, r2 = ci + dc, ri + dr
            ok = (c2 >= 0) & (r2 >= 0) & (c2 < ncol) & (r2 < nrow)
            j = np.full(len(ci), -1)
            j[ok] = lat.lut[c2[ok], r2[ok]]
            has = j >= 0
            rows.append(np.flatnonzero(has))
            cols.append(j[has])
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    n = len(grid)
    return _w_from_sparse(sp.coo_matrix((np.ones(len(r)), (r, c)), shape=(n, n)))


def area_queen_weights(areas: gpd.GeoDataFrame) -> libpysal.weights.W:
    """Binary queen-contiguity weights between polygons (libpysal ``Queen``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = libpysal.weights.Queen.from_dataframe(areas.reset_index(drop=True), use_index=False,
                                                  silence_warnings=True)
    return _w_from_sparse(w.sparse)


def distance_band_weights(units: gpd.GeoDataFrame, *, distance_m: float) -> libpysal.weights.W:
    """Binary weights between units whose centres (cell centres or centroids) are within ``distance_m``."""
    if not np.isfinite(distance_m) or distance_m <= 0:
        msg = f"distance_m was {distance_m!r} but must be a positive number of metres"
        raise SchemaError(msg)
    if {"x_min", "x_max", "y_min", "y_max"} <= set(units.columns):
        cx, cy = cell_centres(units)
    else:
        c = units.geometry.centroid
        cx, cy = c.x.to_numpy(), c.y.to_numpy()
    from scipy.spatial import cKDTree

    tree = cKDTree(np.column_stack([cx, cy]))
    mat = tree.sparse_distance_matrix(tree, max_distance=distance_m, output_type="coo_matrix")
    mat = sp.coo_matrix((np.ones(mat.nnz), (mat.row, mat.col)), shape=mat.shape)
    return _w_from_sparse(mat)


# ----------------------------------------------------------------------------
# Gi*
# ----------------------------------------------------------------------------
def _classes(z: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    label = np.full(z.shape, "not significant", dtype=object)
    level = np.zeros(z.shape)
    for lev in sorted(_LEVELS):  # 0.90, 0.95, 0.99: stricter levels overwrite
        sig = q <= 1 - lev + 1e-12
        for sign, name in ((z > 0, "hot"), (z < 0, "cold")):
            m = sig & sign
            label[m] = f"{name} {round(lev * 100)}"
            level[m] = lev * (1 if name == "hot" else -1)
    return label, level


#: Whether numba is installed: esda then runs its own compiled conditional randomisation, whose draws differ from
#: its pure-Python path (27 of RBKC's 635 p-values moved in a test), so gistar leaves the permutations to esda and
#: the p-values stay esda's in every environment.  numba is not a dependency of this product.
_NUMBA: Final = importlib.util.find_spec("numba") is not None


def decimal_scale(y: np.ndarray, *, max_places: int = 4) -> int | None:
    """The power of ten that makes every value a whole number (1 for counts, 100 for CCHI days), or ``None``.

    ``None`` when no scale up to ``10**max_places`` does, or when the scaled total would not be exact in
    64-bit integers.

    Examples
    --------
    >>> decimal_scale(np.array([0.0, 3.0, 12.0])), decimal_scale(np.array([3.62, 182.25, 1.0]))
    (1, 100)
    >>> decimal_scale(np.array([1 / 3])) is None
    True
    """
    y = np.asarray(y, dtype=float)
    if len(y) == 0 or not np.all(np.isfinite(y)):
        return None
    for places in range(max_places + 1):
        d = 10**places
        scaled = y * d
        if np.all(np.abs(scaled - np.rint(scaled)) <= 1e-6) and float(np.abs(scaled).sum()) < 2.0**62:
            return d
    return None


def streamed_permutation_p(y: np.ndarray, w: sp.spmatrix, *, permutations: int, seed: int) -> np.ndarray:
    """Two-sided conditional-permutation p of Gi* (binary weights, values with a few decimals), no simulations kept.

    The same draws as esda's ``G_Local(..., transform="B", star=True, permutations, seed)``:
    the one permutation matrix of :func:`esda.crand.vec_permutations` (``permutations x
    max cardinality`` ids into the *other* units), unit ``i``'s simulated Gi* being its
    own value plus the first ``k_i`` drawn values, over the total (0 for a unit without
    neighbours, as esda has it).  esda keeps every simulated value (``units x
    permutations`` floats: 3.4 GB for West Kent's 42,891 cells at 9,999 permutations)
    and takes O(units^2) to leave each unit out of the draw; here the draws are summed
    once per permutation and corrected only where leaving unit ``i`` out moves a drawn
    id onto a different value, so each unit costs one pass over the permutations.
    Sums are compared in whole numbers (values times :func:`decimal_scale`), so ties
    are exact: for whole-number values this is esda's p bit for bit, and with decimals
    (CCHI days) it is esda's wherever esda's own float sums are exact (both tested on
    real RBKC counts and harm).  The p-value is
    :func:`spatial.significance.permutation_p_two_sided`'s (from the counts: :func:`~spatial.significance.permutation_p_from_counts`).

    Parameters
    ----------
    y
        The units' values (a few decimals at most: :func:`decimal_scale`).
    w
        The binary weights esda used (``G_Local(...).w.sparse``: self-weights on the diagonal).
    permutations, seed
        As given to esda.

    Raises
    ------
    SchemaError
        If the weights are not binary or the values need more than a few decimals.
    """
    from esda.crand import vec_permutations

    n = len(y)
    d = decimal_scale(y)
    if d is None:
        msg = "streamed Gi* permutations need values with at most 4 decimals; use esda's G_Local"
        raise SchemaError(msg)
    z = np.rint(np.asarray(y, dtype=float) * d).astype(np.int64)
    m = sp.csr_matrix(w, dtype=float)
    self_w = m.diagonal()
    off = (m - sp.diags(self_w)).tocsr()
    off.eliminate_zeros()
    if not (np.all(off.data == 1.0) and np.all(np.isin(self_w, (0.0, 1.0)))):
        msg = "streamed Gi* permutations need binary weights (transform 'B')"
        raise SchemaError(msg)
    card = np.diff(off.indptr)
    self_i = self_w.astype(np.int64)
    binary = sp.csr_matrix((np.ones(m.nnz, dtype=np.int64), m.indices, m.indptr), shape=m.shape)
    observed = binary @ z  # the observed neighbourhood sums (self included), in whole numbers
    # a unit without neighbours: every simulated value is 0 (esda's islands)
    island = card == 0
    ge = np.where(island & (observed <= 0), permutations, 0).astype(np.int64)
    le = np.where(island & (observed >= 0), permutations, 0).astype(np.int64)
    k_max = int(card.max()) if n else 0
    if k_max == 0:
        return permutation_p_from_counts(ge, le, permutations=permutations)
    ids = np.asarray(vec_permutations(k_max, n, permutations, seed), dtype=np.int64)  # ids into the n - 1 others
    # with unit i left out, id t stands for unit t (t < i) or unit t + 1 (t >= i)
    base = np.asfortranarray(np.cumsum(z[ids], axis=1))  # draws summed as if i came after every id; column k-1: k draws
    step = z[1:] - z[:-1]  # the value gained when id t stands for unit t + 1 instead of t
    rows, cols = np.nonzero(step[ids] != 0)
    order = np.argsort(-ids[rows, cols], kind="stable")
    rows, cols = rows[order], cols[order]
    thresholds = ids[rows, cols]
    gains = step[thresholds]
    corr = np.zeros(base.shape, dtype=np.int64, order="F")
    k_cols = np.arange(k_max)
    pointer = 0
    for i in range(n - 1, -1, -1):
        # draws whose id is >= i now stand for the next unit
        end = int(np.searchsorted(-thresholds, -i, side="right"))
        if end > pointer:
            r, c, g = rows[pointer:end], cols[pointer:end], gains[pointer:end]
            hit = k_cols[None, :] >= c[:, None]  # the gain counts for every k > its column
            per = hit.sum(1)
            np.add.at(corr, (np.repeat(r, per), np.nonzero(hit)[1]), np.repeat(g, per))
            pointer = end
        k = int(card[i])
        if k == 0:
            continue  # an island: counted above
        sims = base[:, k - 1] + corr[:, k - 1] + self_i[i] * z[i]
        ge[i] = int(np.count_nonzero(sims >= observed[i]))
        le[i] = int(np.count_nonzero(sims <= observed[i]))
    return permutation_p_from_counts(ge, le, permutations=permutations)


def gistar(units: gpd.GeoDataFrame, *, value_col: str = "count",
           weights: Literal["queen", "distance"] | libpysal.weights.W = "queen",
           distance_m: float | None = None, inference: Literal["permutation", "permutation_z", "analytic"] = "permutation",
           permutations: int = 9999, seed: int = 12345, fdr: bool = True,
           hotspot_level: float = 0.90) -> gpd.GeoDataFrame:
    """Getis-Ord Gi* on unit counts, with Benjamini-Hochberg FDR and hot/cold classes.

    Parameters
    ----------
    units
        Grid cells (from :func:`spatial.grids.count_in_cells`) or areas, EPSG:27700,
        with a numeric ``value_col``.
    value_col
        Column analysed, e.g. ``count`` or ``harm``.
    weights
        ``"queen"`` (lattice queen for grids, polygon queen for areas),
        ``"distance"`` (binary band of ``distance_m``) or a libpysal ``W``
        aligned with ``units`` (without self-weights; Gi* adds them).
    distance_m
        Band for ``weights="distance"``; default 1.5 cell sizes.
    inference
        ``"permutation"`` (two-sided pseudo p from conditional randomisation),
        ``"permutation_z"`` or ``"analytic"`` (see module notes).
    permutations
        Number of permutations (ignored for ``"analytic"``; default 9,999, see notes).
    seed
        Random seed of the permutations (recorded in ``attrs["params"]``).
    fdr
        Apply Benjamini-Hochberg control (default); if false, raw p-values
        are compared with the levels.
    hotspot_level
        ``is_hotspot`` marks hot units significant at this confidence or more
        (0.90, 0.95 or 0.99; default 0.90, see the permutation notes).

    Returns
    -------
    geopandas.GeoDataFrame
        Hotspot result: ``score`` = ``gi_z`` (Gi* z-score), ``gi_p`` (two-sided),
        ``gi_q`` (BH-adjusted, or ``gi_p`` without FDR), ``gi_class`` (one of
        :data:`GI_CLASSES`), ``gi_level`` (signed confidence, + hot, - cold),
        ``gi_bin`` (-3..3, ArcGIS's ``Gi_Bin``: 3 = hot at 99 %, 0 = not significant).
        Units whose z is undefined (a neighbourhood covering every unit, or a
        constant variable) get ``z = 0``, ``p = 1``.

    Raises
    ------
    CRSError
        If ``units`` are not EPSG:27700.
    SchemaError
        For a missing or non-numeric value column, negative values, fewer than
        three units, or bad options.

    Notes
    -----
    Ord, J. K. & Getis, A. (1995). Local spatial autocorrelation statistics:
    distributional issues and an application. *Geographical Analysis* 27(4):286-306.
    Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate.
    *JRSS B* 57(1):289-300.
    """
    require_bng(units, name="the units")
    if value_col not in units.columns:
        msg = f"value column {value_col!r} is not in the units; count incidents first (count_in_cells)"
        raise SchemaError(msg)
    y = pd.to_numeric(units[value_col], errors="coerce").to_numpy(float)
    if not np.isfinite(y).all() or (y < 0).any():
        msg = f"column {value_col!r} must be finite and >= 0 for Gi*"
        raise SchemaError(msg)
    if len(y) < 3:
        msg = f"Gi* needs at least 3 units, got {len(y)}"
        raise SchemaError(msg)
    if inference not in ("permutation", "permutation_z", "analytic"):
        msg = f'inference was "{inference}" but is expected to be "permutation", "permutation_z" or "analytic"'
        raise SchemaError(msg)
    if hotspot_level not in _LEVELS:
        msg = f"hotspot_level was {hotspot_level!r} but is expected to be one of {list(_LEVELS)}"
        raise SchemaError(msg)
    if inference != "analytic" and (not isinstance(permutations, (int, np.integer)) or permutations < 99):
        msg = f"permutations was {permutations!r}; use at least 99 (999 recommended) or inference='analytic'"
        raise SchemaError(msg)

    is_grid = {"x_min", "y_min", "x_max", "y_max"} <= set(units.columns)
    if isinstance(weights, libpysal.weights.W):
        if weights.n != len(units):
            msg = f"the weights have {weights.n} units but there are {len(units)}"
            raise SchemaError(msg)
        w, wname = _w_from_sparse(weights.sparse), "user"
    elif weights == "queen":
        w = grid_queen_weights(units) if is_grid else area_queen_weights(units)
        wname = "lattice queen (3x3 window with self)" if is_grid else "polygon queen (with self)"
    elif weights == "distance":
        if distance_m is None:
            if not is_grid:
                msg = "give distance_m for distance-band weights on areas"
                raise SchemaError(msg)
            distance_m = 1.5 * float(np.median(units["x_max"] - units["x_min"]))
        w, wname = distance_band_weights(units, distance_m=distance_m), f"distance band {distance_m:g} m (with self)"
    else:
        msg = f'weights was "{weights}" but is expected to be "queen", "distance" or a libpysal W'
        raise SchemaError(msg)

    params = {"value_col": value_col, "weights": wname, "distance_m": distance_m, "inference": inference,
              "permutations": int(permutations) if inference != "analytic" else 0,
              "seed": int(seed), "fdr": "benjamini-hochberg" if fdr else "none",
              "hotspot_level": hotspot_level, "transform": "B", "star": True,
              "n_units": len(y), "total": float(y.sum())}

    n = len(y)
    if y.sum() == 0 or np.ptp(y) == 0:
        z = np.zeros(n)
        p = np.ones(n)
    else:
        from esda.getisord import G_Local

        perms = int(permutations) if inference != "analytic" else 0
        with warnings.catch_warnings():
            # esda 2.9 G_Local takes no `alternative`; the directed p_sim it warns about is not used
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            warnings.filterwarnings("ignore", message="invalid value encountered", category=RuntimeWarning)
            warnings.filterwarnings("ignore", message="divide by zero", category=RuntimeWarning)
            streamed = inference == "permutation" and decimal_scale(y) is not None and not _NUMBA
            lg = G_Local(y, w, transform="B", star=True, permutations=0 if streamed else perms, seed=seed, n_jobs=1,
                         keep_simulations=perms > 0 and not streamed)
        z = np.asarray(lg.Zs, float)
        undefined = ~np.isfinite(z)
        z = np.where(undefined, 0.0, z)
        if streamed:
            p = streamed_permutation_p(y, lg.w.sparse, permutations=perms, seed=seed)
        elif inference == "permutation":
            p = permutation_p_two_sided(np.asarray(lg.Gs, float), np.asarray(lg.rGs, float))
        elif inference == "permutation_z":
            zs = np.asarray(lg.z_sim, float)
            p = np.where(np.isfinite(zs), np.minimum(1.0, 2 * stats.norm.sf(np.abs(np.nan_to_num(zs)))), 1.0)
        else:
            p = np.minimum(1.0, 2 * stats.norm.sf(np.abs(z)))
        p = np.where(undefined, 1.0, p)
        params["n_undefined"] = int(undefined.sum())
    if fdr and inference != "analytic":
        # Benjamini-Hochberg declares nothing at 90 % unless this many units reach the smallest attainable p
        params["fdr_floor_units"] = int(np.ceil(n * (2.0 / (int(permutations) + 1)) / (1.0 - hotspot_level) - 1e-9))
    q = bh_adjust(p) if fdr else p
    label, level = _classes(z, q)
    out = units.copy()
    out["gi_z"] = z
    out["gi_p"] = p
    out["gi_q"] = q
    out["gi_class"] = label
    out["gi_level"] = level
    out["gi_bin"] = gi_bin(z, q)
    hot = level >= hotspot_level - 1e-12
    return hotspot_result(out, z, hot, "gistar", params)
