"""HAND-MADE map inputs shared by the map tests (pure, AppTest-free) and the browser tests."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from shapely.geometry import box

from ui import maps


def advised(wards: gpd.GeoDataFrame, n: int) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """``n`` HAND-MADE advised places (50 m squares inside RBKC's wards) with one measure each."""
    inside = wards.to_crs(27700).geometry.representative_point()
    xs = [float(inside.iloc[i % len(inside)].x) + 60.0 * (i // len(inside)) for i in range(n)]
    ys = [float(inside.iloc[i % len(inside)].y) for i in range(n)]
    ids = [f"ST-test{i}" for i in range(n)]
    places = gpd.GeoDataFrame({
        "candidate_id": ids, "name": ids, "place_name": [f"Test Place {i}, Test ward" for i in range(n)],
        "place_type": "street", "ward_code": [wards["ward_code"].iloc[i % len(wards)] for i in range(n)],
        "incidents": "3", "patterns": ""}, geometry=[box(x, y, x + 50, y + 50) for x, y in zip(xs, ys, strict=True)],
        crs=27700)
    ranked = pd.DataFrame({"candidate_id": ids, "rank": 1, "measure": "Improve street lighting",
                           "cpted_principle": "natural surveillance", "why": "hand-made test line"})
    return places, ranked


def hotspots_html(wards: gpd.GeoDataFrame, n: int) -> str:
    places, ranked = advised(wards, n)
    w = wards.assign(harm=1.0)
    empty = gpd.GeoDataFrame({"gi_class": [], "gi_z": [], "density": [], "cluster_id": [], "n_incidents": [],
                              "top_categories": [], "cell_id": []}, geometry=[], crs=27700)
    return maps.hotspots_map(w, gi_cells=empty, kde_cells=empty, clusters=empty, places=places,
                             ranked=ranked).get_root().render()
