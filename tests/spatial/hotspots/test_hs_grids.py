from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import X0, Y0, square, uniform_points

from spatial._errors import CRSError, SchemaError
from spatial.grids import (
    assign_cells,
    cells_from_bounds_csv,
    count_in_cells,
    square_grid,
)


def test_cell_ids_are_lattice_indices_and_stable():
    # A point at (525160, 178010) with 150 m cells lies in column floor(525160/150)=3501,
    # row floor(178010/150)=1186 (3501*150 = 525150, 1186*150 = 177900).
    a = square_grid(gpd.GeoSeries([shapely.box(525_000, 177_800, 525_600, 178_400)], crs=27700), cell_size_m=150)
    b = square_grid(gpd.GeoSeries([shapely.box(525_100, 177_950, 526_000, 179_000)], crs=27700), cell_size_m=150)
    assert assign_cells([525_160.0], [178_010.0], a).tolist() == ["c3501_1186"]
    assert assign_cells([525_160.0], [178_010.0], b).tolist() == ["c3501_1186"]
    row = a.set_index("cell_id").loc["c3501_1186"]
    assert (row["x_min"], row["y_min"], row["x_max"], row["y_max"]) == (525_150, 177_900, 525_300, 178_050)
    # same cells, same bounds, in both grids
    common = a.merge(b, on="cell_id", suffixes=("_a", "_b"))
    assert len(common) > 0
    assert (common["x_min_a"] == common["x_min_b"]).all() and (common["y_max_a"] == common["y_max_b"]).all()


def test_clipped_areas_sum_to_area():
    circle = gpd.GeoSeries([shapely.Point(X0 + 1000, Y0 + 1000).buffer(700)], crs=27700)
    g = square_grid(circle, cell_size_m=100)
    assert g["area_m2"].sum() == pytest.approx(circle.area.iloc[0], rel=1e-9)
    assert (g["area_m2"] <= 100 * 100 + 1e-6).all()
    whole = square_grid(circle, cell_size_m=100, clip=False)
    assert (whole["area_m2"] == 100 * 100).all() and len(whole) >= len(g)


def test_assign_cells_matches_a_spatial_join():
    g = square_grid(square(), cell_size_m=150)
    pts = uniform_points(2000, seed=3)
    pts = pd.concat([pts, pd.DataFrame({"x": [X0 - 500.0], "y": [Y0 + 5.0], "category": ["x"]})], ignore_index=True)
    ids = assign_cells(pts["x"], pts["y"], g)
    gp = gpd.GeoDataFrame(geometry=gpd.points_from_xy(pts["x"], pts["y"]), crs=27700)
    # points belong to the lattice square (a clipped edge cell keeps its whole square)
    boxes = gpd.GeoDataFrame({"cell_id": g["cell_id"]},
                             geometry=shapely.box(g["x_min"], g["y_min"], g["x_max"], g["y_max"]), crs=27700)
    j = gpd.sjoin(gp, boxes, predicate="within", how="left")
    j = j[~j.index.duplicated()]
    expected = j["cell_id"].to_numpy(dtype=object)
    assert ids[-1] is None and pd.isna(expected[-1])
    assert (ids[:-1] == expected[:-1]).all()


def test_count_in_cells_totals_and_periods():
    g = square_grid(square(), cell_size_m=300)
    pts = uniform_points(500, seed=1)
    pts["month"] = np.where(np.arange(500) % 2 == 0, "2024-01", "2024-02")
    pts["w"] = np.arange(500, dtype=float)
    c = count_in_cells(pts, g, weights="w")
    assert c["count"].sum() == 500 and c["harm"].sum() == pytest.approx(pts["w"].sum())
    long = count_in_cells(pts, g, by="month")
    assert len(long) == len(g) * 2
    assert long.groupby("month")["count"].sum().to_dict() == {"2024-01": 250, "2024-02": 250}


def test_crs_errors():
    g = square_grid(square(), cell_size_m=150)
    with pytest.raises(CRSError, match="EPSG:27700"):
        square_grid(square().to_crs(4326))
    lonlat = pd.DataFrame({"x": [-0.19, -0.2], "y": [51.5, 51.49]})
    with pytest.raises(CRSError, match="EPSG:27700"):
        count_in_cells(lonlat, g)
    gdf = gpd.GeoDataFrame(geometry=gpd.points_from_xy([-0.19], [51.5]), crs=4326)
    with pytest.raises(CRSError, match="EPSG:27700"):
        count_in_cells(gdf, g)
    with pytest.raises(SchemaError):
        square_grid(square(), cell_size_m=0)


def test_bounds_csv_reader(tmp_path):
    p = tmp_path / "grid.csv"
    p.write_text("cell_id,x_min,y_min,x_max,y_max\nA,525000,178000,525150,178150\nB,525150,178000,525300,178150\n")
    g = cells_from_bounds_csv(p)
    assert g.crs.to_epsg() == 27700 and list(g["cell_id"]) == ["A", "B"]
    assert assign_cells([525_100.0, 525_200.0, 0.0], [178_100.0, 178_100.0, 0.0], g).tolist() == ["A", "B", None]
    bad = tmp_path / "bad.csv"
    bad.write_text("cell_id,x_min,y_min\nA,1,2\n")
    with pytest.raises(SchemaError, match="x_max"):
        cells_from_bounds_csv(bad)
