from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import PLANT, X0, Y0, square, uniform_points

from spatial._errors import CRSError
from spatial.grids import square_grid
from spatial.hotspots import hotspot_polygons, kde, quartic_kernel


def test_quartic_kernel_integrates_to_one():
    # midpoint rule on a 1 m lattice over the 200 m disc
    h = 200.0
    xs = np.arange(-h, h, 1.0) + 0.5
    xx, yy = np.meshgrid(xs, xs)
    assert quartic_kernel(np.hypot(xx, yy), h).sum() == pytest.approx(1.0, rel=1e-3)
    assert quartic_kernel(np.array([h, 2 * h]), h).tolist() == [0.0, 0.0]


def test_kde_integrates_to_count_with_edge_correction(planted_points):
    g = square_grid(square(), cell_size_m=100)
    r = kde(planted_points, g, bandwidth_m=300)
    # each incident's kernel is renormalised to the grid, so the total is exact
    assert r["kde_count"].sum() == pytest.approx(len(planted_points), rel=1e-9)
    assert r.attrs["params"]["n_unplaced"] == 0


def test_kde_integrates_to_count_away_from_edges_without_correction():
    # points at least bandwidth + one cell from every edge lose no mass: the
    # discretised integral (density at centres x cell area) is within 1 %
    rng = np.random.default_rng(11)
    n = 400
    pts = pd.DataFrame({"x": X0 + rng.uniform(500, 2500, n), "y": Y0 + rng.uniform(500, 2500, n)})
    g = square_grid(square(), cell_size_m=50)
    r = kde(pts, g, bandwidth_m=300, edge_correction=False)
    assert r["kde_count"].sum() == pytest.approx(n, rel=0.01)
    # near the edge the uncorrected surface loses mass
    edge = pd.DataFrame({"x": X0 + rng.uniform(0, 50, n), "y": Y0 + rng.uniform(0, 3000, n)})
    assert kde(edge, g, bandwidth_m=300, edge_correction=False)["kde_count"].sum() < 0.8 * n


def test_kde_finds_planted_cluster(planted_points):
    g = square_grid(square(), cell_size_m=150)
    r = kde(planted_points, g)  # bandwidth by likelihood cross-validation
    assert r.attrs["params"]["bandwidth_rule"] == "lcv"
    hot = r[r["is_hotspot"]]
    assert hot["area_m2"].sum() >= 0.05 * r["area_m2"].sum()
    assert hot["area_m2"].sum() < 0.05 * r["area_m2"].sum() + 150 * 150 + 1e-6
    peak = r.loc[r["density"].idxmax()]
    assert peak["x_min"] - 150 <= PLANT[0] <= peak["x_max"] + 150
    assert peak["y_min"] - 150 <= PLANT[1] <= peak["y_max"] + 150
    polys = hotspot_polygons(r)
    assert polys.iloc[0].geometry.distance(__import__("shapely").Point(*PLANT)) == 0
    assert set(r.columns) >= {"score", "is_hotspot", "method", "density", "kde_count", "count"}
    assert (r["method"] == "kde").all() and r.attrs["params"]["bandwidth_m"] > 0


def test_kde_on_uniform_points_has_no_dominant_peak():
    g = square_grid(square(), cell_size_m=150)
    r = kde(uniform_points(2000, seed=5), g, bandwidth_m=500)
    interior = r[(r["x_min"] > X0 + 600) & (r["x_max"] < X0 + 2400) & (r["y_min"] > Y0 + 600) & (r["y_max"] < Y0 + 2400)]
    assert interior["density"].max() < 1.5 * interior["density"].mean()


def test_kde_refuses_lonlat():
    g = square_grid(square(), cell_size_m=150)
    with pytest.raises(CRSError):
        kde(pd.DataFrame({"x": [-0.2, -0.21], "y": [51.5, 51.49]}), g, bandwidth_m=200)
