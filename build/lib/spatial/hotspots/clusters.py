"""Density clusters of incident points (DBSCAN, optionally HDBSCAN) as polygons.

DBSCAN (Ester et al. 1996) groups points that have at least ``min_samples``
incidents within ``eps_m`` metres (core points) together with the points
reachable from them; the rest is noise.  police.uk snaps incidents to shared
map points, so identical locations are collapsed first and passed to
scikit-learn as ``sample_weight``: the result is the same as on the raw points
and much faster.

Each cluster becomes a polygon: the convex hull of its member locations
buffered by ``eps_m / 2`` (``polygon="hull"``, default, so one- and
two-location clusters still have an area), or the union of ``eps_m / 2``
buffers around the members (``polygon="buffer"``, which follows L-shaped
clusters along streets more closely).

HDBSCAN (Campello, Moulavi & Sander 2013) needs no ``eps`` but is slow
(40 s for 100,000 points on two cores), so it is refused above
``hdbscan_max_points`` distinct locations.
"""

from __future__ import annotations

from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._errors import SchemaError
from ..grids import points_xy
from ..schema import BNG, CATEGORY
from .result import hotspot_result

__all__ = ["cluster_labels", "density_clusters"]


def _dedupe(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xy = np.column_stack([x, y])
    uniq, inv = np.unique(xy, axis=0, return_inverse=True)
    inv = np.asarray(inv).ravel()
    return uniq, inv, np.bincount(inv, minlength=len(uniq)).astype(float)


def cluster_labels(incidents: pd.DataFrame | gpd.GeoDataFrame, *, algorithm: Literal["dbscan", "hdbscan"] = "dbscan",
                   eps_m: float = 75.0, min_samples: int = 20, min_cluster_size: int = 20,
                   hdbscan_max_points: int = 5000) -> np.ndarray:
    """Cluster label per incident (``-1`` = noise), aligned with ``incidents``.

    Labels are renumbered so that cluster 0 is the largest (ties by first location).

    Raises
    ------
    CRSError
        If points are not EPSG:27700.
    SchemaError
        For bad parameters, or HDBSCAN on too many locations.
    """
    if algorithm not in ("dbscan", "hdbscan"):
        msg = f'algorithm was "{algorithm}" but is expected to be "dbscan" or "hdbscan"'
        raise SchemaError(msg)
    if not np.isfinite(eps_m) or eps_m <= 0:
        msg = f"eps_m was {eps_m!r} but must be a positive number of metres"
        raise SchemaError(msg)
    if min_samples < 1 or min_cluster_size < 2:
        msg = f"min_samples ({min_samples}) must be >= 1 and min_cluster_size ({min_cluster_size}) >= 2"
        raise SchemaError(msg)
    x, y = points_xy(incidents)
    labels = np.full(len(x), -1, dtype=np.int64)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return labels
    uniq, inv, mult = _dedupe(x[ok], y[ok])
    if algorithm == "dbscan":
        from sklearn.cluster import DBSCAN

        lab = DBSCAN(eps=eps_m, min_samples=min_samples).fit(uniq, sample_weight=mult).labels_
    else:
        if len(uniq) > hdbscan_max_points:
            msg = (f"HDBSCAN on {len(uniq):,} distinct locations would be slow (limit {hdbscan_max_points:,}); "
                   "use algorithm='dbscan' or a smaller area/period")
            raise SchemaError(msg)
        from sklearn.cluster import HDBSCAN

        # HDBSCAN has no sample weights: expand duplicates back to points
        rep = np.repeat(np.arange(len(uniq)), mult.astype(int))
        lab_pts = HDBSCAN(min_cluster_size=min_cluster_size, min_samples=min_samples, copy=True).fit(uniq[rep]).labels_
        lab = np.full(len(uniq), -1)
        # every copy of a location gets the same label in practice; take the most common
        df = pd.DataFrame({"loc": rep, "lab": lab_pts})
        lab = df.groupby("loc")["lab"].agg(lambda s: s.mode().iloc[0]).reindex(range(len(uniq))).to_numpy()
    lab_pts = np.asarray(lab)[inv]
    # renumber: 0 = most incidents (ties: first incident in input order)
    lab_pts = np.asarray(lab_pts, dtype=np.int64)
    if (lab_pts >= 0).any():
        ids, first = np.unique(lab_pts, return_index=True)
        keep = ids >= 0
        ids, first = ids[keep], first[keep]
        sizes = np.bincount(lab_pts[lab_pts >= 0], minlength=int(ids.max()) + 1)[ids]
        order = ids[np.lexsort((first, -sizes))]
        remap = np.full(int(ids.max()) + 2, -1, dtype=np.int64)  # last slot: noise (-1)
        remap[order] = np.arange(len(order))
        lab_pts = remap[lab_pts]
    labels[np.flatnonzero(ok)] = lab_pts
    return labels


def density_clusters(incidents: pd.DataFrame | gpd.GeoDataFrame, *,
                     algorithm: Literal["dbscan", "hdbscan"] = "dbscan", eps_m: float = 75.0,
                     min_samples: int = 20, min_cluster_size: int = 20,
                     polygon: Literal["hull", "buffer"] = "hull", top_categories: int = 3,
                     weights: np.ndarray | pd.Series | None = None) -> gpd.GeoDataFrame:
    """Density clusters of incidents as polygons with counts and dominant categories.

    Parameters
    ----------
    incidents
        Canonical incidents (``x``/``y`` EPSG:27700, ``category``) or a point GeoDataFrame.
    algorithm
        ``"dbscan"`` (default) or ``"hdbscan"`` (small inputs only).
    eps_m
        DBSCAN neighbourhood radius in metres (default 75 m, half a 150 m cell).
    min_samples
        Incidents within ``eps_m`` (the point itself included) for a core point.
    min_cluster_size
        HDBSCAN's smallest cluster.
    polygon
        ``"hull"`` (buffered convex hull) or ``"buffer"`` (union of buffers).
    top_categories
        How many categories to list in ``top_categories``.
    weights
        Optional harm weight per incident, summed into ``harm``.

    Returns
    -------
    geopandas.GeoDataFrame
        Hotspot result, one row per cluster: ``cluster_id`` (0 = largest),
        ``n_incidents`` (also ``score``), ``n_locations``, ``area_m2``,
        ``density_per_ha``, ``dominant_category``, ``dominant_share``,
        ``top_categories`` (e.g. ``"other-theft 41%; shoplifting 22%"``),
        optional ``harm``; ``is_hotspot`` is true for every cluster.
        ``attrs["params"]`` includes ``n_noise``.

    Notes
    -----
    Ester, M., Kriegel, H.-P., Sander, J. & Xu, X. (1996). A density-based
    algorithm for discovering clusters in large spatial databases with noise. *KDD-96*.
    """
    if polygon not in ("hull", "buffer"):
        msg = f'polygon was "{polygon}" but is expected to be "hull" or "buffer"'
        raise SchemaError(msg)
    labels = cluster_labels(incidents, algorithm=algorithm, eps_m=eps_m, min_samples=min_samples,
                            min_cluster_size=min_cluster_size)
    x, y = points_xy(incidents)
    cats = (incidents[CATEGORY].astype(str).to_numpy(dtype=object) if CATEGORY in incidents.columns
            else np.full(len(x), "unknown", dtype=object))
    w = None if weights is None else np.asarray(weights, float)
    if w is not None and w.shape != x.shape:
        msg = f"weights have shape {w.shape} but there are {len(x)} incidents"
        raise SchemaError(msg)
    rows = []
    half = eps_m / 2
    n_clusters = int(labels.max()) + 1 if (labels >= 0).any() else 0
    inside = np.flatnonzero(labels >= 0)
    # one pass over clustered incidents: (cluster, category) counts and the points of each cluster
    cat_names, cat_code = np.unique(cats[inside].astype(str), return_inverse=True)
    tab = np.zeros((n_clusters, len(cat_names)), dtype=np.int64)
    np.add.at(tab, (labels[inside], np.asarray(cat_code).ravel()), 1)
    order = inside[np.argsort(labels[inside], kind="stable")]
    bounds = np.searchsorted(labels[order], np.arange(n_clusters + 1))
    harm = np.bincount(labels[inside], weights=w[inside], minlength=n_clusters) if w is not None else None
    for cid in range(n_clusters):
        idx = order[bounds[cid]:bounds[cid + 1]]
        uniq = np.unique(np.column_stack([x[idx], y[idx]]), axis=0)
        if polygon == "hull":
            geom = shapely.convex_hull(shapely.multipoints(uniq)).buffer(half)
        else:
            geom = shapely.union_all(shapely.buffer(shapely.points(uniq), half))
        counts = tab[cid]
        # most incidents first; ties in alphabetical order of category (stable sort of sorted names)
        top = np.argsort(-counts, kind="stable")
        top = top[counts[top] > 0]
        share = counts[top] / len(idx)
        row = {"cluster_id": cid, "n_incidents": len(idx), "n_locations": len(uniq),
               "area_m2": float(geom.area), "density_per_ha": float(len(idx) / (geom.area / 1e4)),
               "dominant_category": str(cat_names[top[0]]), "dominant_share": float(share[0]),
               "top_categories": "; ".join(f"{cat_names[c]} {s:.0%}"
                                           for c, s in zip(top[:top_categories], share[:top_categories], strict=True)),
               "geometry": geom}
        if harm is not None:
            row["harm"] = float(harm[cid])
        rows.append(row)
    cols = ["cluster_id", "n_incidents", "n_locations", "area_m2", "density_per_ha", "dominant_category",
            "dominant_share", "top_categories"] + (["harm"] if w is not None else [])
    out = (gpd.GeoDataFrame(rows, geometry="geometry", crs=BNG) if rows
           else gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=BNG))
    params = {"algorithm": algorithm, "eps_m": float(eps_m), "min_samples": int(min_samples),
              "min_cluster_size": int(min_cluster_size), "polygon": polygon, "polygon_buffer_m": half,
              "n_incidents": len(x), "n_noise": int((labels < 0).sum()), "n_clusters": len(rows)}
    return hotspot_result(out, out["n_incidents"].to_numpy(float) if rows else np.zeros(0),
                          np.ones(len(out), bool), algorithm, params)
