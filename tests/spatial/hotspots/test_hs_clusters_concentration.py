from __future__ import annotations

import pandas as pd
import pytest
import shapely
from conftest import PLANT, X0, Y0, planted, square

from spatial._errors import SchemaError
from spatial.grids import count_in_cells, square_grid
from spatial.hotspots import (
    cluster_labels,
    concentration,
    density_clusters,
    repeat_locations,
)


def test_dbscan_finds_planted_cluster():
    pts = planted()
    r = density_clusters(pts, eps_m=75, min_samples=20)
    assert len(r) >= 1 and (r["method"] == "dbscan").all() and r["is_hotspot"].all()
    top = r.iloc[0]
    assert top.geometry.contains(shapely.Point(*PLANT))
    assert top["dominant_category"] == "burglary"
    assert top["n_incidents"] >= 100  # most of the 150 planted points
    assert r.attrs["params"]["n_noise"] + r["n_incidents"].sum() == len(pts)


def test_dbscan_weights_duplicates_like_raw_points():
    # the same location repeated 25 times is a cluster; deduplication must not lose that
    pts = pd.DataFrame({"x": [X0 + 100.0] * 25 + [X0 + 2000.0], "y": [Y0 + 100.0] * 25 + [Y0 + 2000.0]})
    lab = cluster_labels(pts, eps_m=10, min_samples=20)
    assert (lab[:25] == 0).all() and lab[25] == -1


def test_hdbscan_small_input_and_limit():
    pts = planted(n_background=200, n_cluster=80)
    r = density_clusters(pts, algorithm="hdbscan", min_cluster_size=30, min_samples=10)
    assert any(g.distance(shapely.Point(*PLANT)) < 100 for g in r.geometry)
    with pytest.raises(SchemaError, match="HDBSCAN"):
        cluster_labels(pts, algorithm="hdbscan", hdbscan_max_points=10)


def test_concentration_hand_example():
    # 100 cells; counts 40, 30, 20, 10 then zeros; harm puts everything in one other cell
    cells = pd.DataFrame({"count": [40, 30, 20, 10] + [0] * 96, "harm": [0, 0, 0, 5] + [0] * 95 + [95]})
    t = concentration(cells, shares=(0.01, 0.05, 0.10))
    assert t["n_cells"].tolist() == [1, 5, 10]
    assert t["share_of_incidents"].tolist() == pytest.approx([0.4, 1.0, 1.0])
    assert t["share_of_harm"].tolist() == pytest.approx([0.95, 1.0, 1.0])
    assert t.attrs["cells_for_half_incidents"] == pytest.approx(0.02)  # 40 + 30 >= 50


def test_concentration_on_planted_grid():
    g = square_grid(square(), cell_size_m=150)
    c = count_in_cells(planted(), g)
    t = concentration(c, harm_col=None)
    assert (t["share_of_incidents"].diff().dropna() >= 0).all()
    assert t["share_of_incidents"].iloc[0] > 0.01  # the plant makes the top 1 % hold more than 1 %


def test_repeat_locations():
    pts = pd.DataFrame({"x": [X0, X0 + 0.2, X0, X0 + 500, X0 + 900], "y": [Y0, Y0, Y0 + 0.3, Y0, Y0],
                        "category": ["burglary", "burglary", "robbery", "robbery", "robbery"],
                        "month": ["2024-01", "2024-03", "2024-02", "2024-01", "2024-01"]})
    r = repeat_locations(pts, min_count=2)
    assert len(r) == 1
    row = r.iloc[0]
    assert row["n_incidents"] == 3 and row["categories"] == "burglary 2; robbery 1"
    assert (row["first_month"], row["last_month"]) == ("2024-01", "2024-03")
    assert repeat_locations(pts, min_count=4).empty
