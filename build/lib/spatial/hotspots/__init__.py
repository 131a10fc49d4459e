"""Hotspot methods, each returning the shared result shape (:mod:`spatial.hotspots.result`).

* :func:`kde` — quartic kernel density on grid cells (bandwidth by likelihood
  cross-validation or Scott's rule), top share of area as hotspots;
* :func:`gistar` — Getis-Ord Gi* with permutation inference and
  Benjamini-Hochberg false-discovery control, hot/cold at 90/95/99 %;
* :func:`density_clusters` — DBSCAN (or HDBSCAN) clusters of points as polygons;
* :func:`emerging_hotspots` — Gi* per period, Mann-Kendall trend and Esri's
  emerging-hotspot classes on grid cells, wards, LSOAs, estates or parks;
* :func:`concentration`, :func:`repeat_locations` — how concentrated the problem is;
* :func:`league_table` — ward/LSOA/estate/park counts, harm and rates;
* :func:`time_profile` — aoristic day-of-week by hour-of-day profile.
"""

from __future__ import annotations

from .clusters import cluster_labels, density_clusters
from .concentration import concentration, repeat_locations
from .emerging import HOT_CLASSES, emerging_hotspots
from .getis_ord import (
    GI_CLASSES,
    benjamini_hochberg,
    bh_adjust,
    gistar,
    grid_queen_weights,
)
from .kde import kde, lcv_bandwidth, quartic_kernel, scott_bandwidth
from .league import (
    area_counts_from_incidents,
    area_counts_from_mps,
    league_table,
    load_population,
)
from .profiles import time_profile
from .result import RESULT_COLUMNS, hotspot_polygons, hotspot_result, validate_result

__all__ = [
    "GI_CLASSES",
    "HOT_CLASSES",
    "RESULT_COLUMNS",
    "area_counts_from_incidents",
    "area_counts_from_mps",
    "benjamini_hochberg",
    "bh_adjust",
    "cluster_labels",
    "concentration",
    "density_clusters",
    "emerging_hotspots",
    "gistar",
    "grid_queen_weights",
    "hotspot_polygons",
    "hotspot_result",
    "kde",
    "lcv_bandwidth",
    "league_table",
    "load_population",
    "quartic_kernel",
    "repeat_locations",
    "scott_bandwidth",
    "time_profile",
    "validate_result",
]
