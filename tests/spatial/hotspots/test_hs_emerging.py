"""Emerging hotspots as a method: every class from crafted counts, the result shape, and errors.

The crafted data are counts on a 10 x 10 grid of 150 m cells with a fixed Poisson(5)
background.  One target cell's 3x3 window (the Gi* neighbourhood with self) is set per
period to a hot state (20 in each window cell), a cold state (0) or left alone, following
a pattern string like ``"..C..H..H..H"`` (the same idea as ``tests/spatial/forecast/test_trends.py``,
but through real Gi* on counts instead of hand-set z-scores).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import PLANT, X0, Y0, uniform_points

from spatial._errors import CRSError, DataWarning, SchemaError
from spatial.areas import cell_period_counts, month_range
from spatial.grids import square_grid
from spatial.hotspots import HOT_CLASSES, emerging_hotspots, validate_result
from spatial.trends import CLASSES

MONTHS = month_range("2025-01", "2025-12")
SIDE = 1500.0
XA = 524_100.0  # X0 rounded up to the 150 m lattice, so the square holds exactly 10 x 10 cells


@pytest.fixture(scope="module")
def grid() -> gpd.GeoDataFrame:
    area = gpd.GeoSeries([shapely.box(XA, Y0, XA + SIDE, Y0 + SIDE)], crs=27700)
    g = square_grid(area, cell_size_m=150.0)
    assert len(g) == 100
    return g


def _target(grid: gpd.GeoDataFrame) -> tuple[int, list[int]]:
    c0, r0 = grid["col"].min(), grid["row"].min()
    centre = int(grid.index[(grid["col"] == c0 + 5) & (grid["row"] == r0 + 5)][0])
    window = grid.index[(abs(grid["col"] - (c0 + 5)) <= 1) & (abs(grid["row"] - (r0 + 5)) <= 1)].tolist()
    assert len(window) == 9
    return centre, window


def _crafted(grid: gpd.GeoDataFrame, states: str, *, trend: float = 0.0) -> pd.DataFrame:
    """Background counts, with the target's window hot (H), cold (C) or untouched (.) per month."""
    base = np.random.default_rng(3).poisson(5, len(grid))
    counts = pd.DataFrame(np.repeat(base[:, None], len(states), axis=1).astype(float), index=grid.index,
                          columns=MONTHS[: len(states)])
    _, window = _target(grid)
    for t, s in enumerate(states):
        if s == "H":
            counts.loc[window, counts.columns[t]] = 20 + trend * t
        elif s == "C":
            counts.loc[window, counts.columns[t]] = 0
    return counts


# pattern, trend (window count change per month while hot)
CASES = {
    "new hot spot": ("...........H", 0.0),
    "consecutive hot spot": (".........HHH", 0.0),
    "intensifying hot spot": ("HHHHHHHHHHHH", 3.0),
    "persistent hot spot": ("HHHHHHHHHHHH", 0.0),
    "diminishing hot spot": ("HHHHHHHHHHHH", -1.0),
    "sporadic hot spot": ("..H..H..HH.H", 0.0),
    "oscillating hot spot": ("..C..H..H..H", 0.0),
    "historical hot spot": ("HHHHHHHHHHH.", 0.0),
    "new cold spot": ("...........C", 0.0),
    "consecutive cold spot": ("..........CC", 0.0),
    "intensifying cold spot": ("CCCCCCCCCCCC", 0.0),  # filled in by the test below
    "persistent cold spot": ("CCCCCCCCCCCC", 0.0),
    "diminishing cold spot": ("CCCCCCCCCCCC", 0.0),  # filled in by the test below
    "sporadic cold spot": (".C...C.....C", 0.0),
    "oscillating cold spot": ("HH...C.....C", 0.0),
    "historical cold spot": ("CCCCCCCCCCC.", 0.0),
    "no pattern": ("....HH......", 0.0),
}


def _cold_trend(grid: gpd.GeoDataFrame, *, deeper: bool) -> pd.DataFrame:
    """Always cold, getting colder (intensifying) or less cold (diminishing).

    The window stays empty while the background around it grows (colder: the
    window is ever further below the mean) or shrinks towards the window's level.
    """
    counts = _crafted(grid, "C" * 12)
    _, window = _target(grid)
    rest = counts.index.difference(window)
    for t, col in enumerate(counts.columns):
        k = t if deeper else 11 - t
        counts.loc[rest, col] = counts.loc[rest, col] + 1.0 * k
    return counts


@pytest.mark.parametrize("expected", list(CASES))
def test_each_class_from_crafted_counts(grid: gpd.GeoDataFrame, expected: str) -> None:
    if expected == "intensifying cold spot":
        counts = _cold_trend(grid, deeper=True)
    elif expected == "diminishing cold spot":
        counts = _cold_trend(grid, deeper=False)
    else:
        states, trend = CASES[expected]
        counts = _crafted(grid, states, trend=trend)
    res = emerging_hotspots(counts, grid)
    centre, _ = _target(grid)
    assert res.loc[centre, "trend_class"] == expected
    assert bool(res.loc[centre, "is_hotspot"]) == (expected in HOT_CLASSES)
    # the background alone is never a pattern: at most the target and its window's neighbours are
    far = (abs(grid["col"] - grid.loc[centre, "col"]) > 2) | (abs(grid["row"] - grid.loc[centre, "row"]) > 2)
    assert (res.loc[far, "trend_class"] == "no pattern").mean() > 0.9


def test_all_seventeen_classes_are_covered() -> None:
    assert set(CASES) == set(CLASSES) and len(CLASSES) == 17
    assert set(HOT_CLASSES) == {c for c in CLASSES if "hot" in c}


def test_result_shape_params_and_alignment(grid: gpd.GeoDataFrame) -> None:
    counts = _crafted(grid, ".........HHH")
    shuffled = counts.sample(frac=1.0, random_state=1)  # rows in another order: matched by label
    before = grid.copy()
    res = emerging_hotspots(shuffled, grid, alpha=0.05)
    validate_result(res)
    pd.testing.assert_index_equal(res.index, grid.index)
    pd.testing.assert_frame_equal(pd.DataFrame(grid.drop(columns="geometry")), pd.DataFrame(before.drop(columns="geometry")))
    assert (res["method"] == "emerging").all()
    assert set(res["trend_class"]) <= set(CLASSES)
    np.testing.assert_array_equal(res["score"], res["last_z"])
    assert res["is_hotspot"].equals(res["trend_class"].isin(HOT_CLASSES))
    p = res.attrs["params"]
    assert p["method"] == "emerging" and p["weights"].startswith("lattice queen")
    assert p["periods"] == MONTHS and p["n_periods"] == 12 and p["n_units"] == 100
    assert p["alpha"] == 0.05 and p["permutations"] == 0 and p["seed"] == 12345
    assert p["total"] == pytest.approx(counts.to_numpy().sum())
    assert sum(p["classes"].values()) == 100
    centre, _ = _target(grid)
    assert res.loc[centre, "n_hot"] == 3 and res.loc[centre, "n_cold"] == 0


def test_grid_cells_from_points_by_month(grid: gpd.GeoDataFrame) -> None:
    """Points: a uniform background every month, plus a cluster that appears in the last four months."""
    rng = np.random.default_rng(11)
    frames = []
    for t, m in enumerate(MONTHS):
        bg = uniform_points(300, seed=100 + t, side=SIDE)
        bg["month"] = m
        frames.append(bg)
        if t >= 8:
            cl = pd.DataFrame({"x": rng.normal(PLANT[0] - 275, 40, 60), "y": rng.normal(PLANT[1] - 1175, 40, 60),
                               "category": "burglary", "month": m})
            frames.append(cl)
    pts = pd.concat(frames, ignore_index=True)
    counts = cell_period_counts(pts, grid, periods=MONTHS)
    assert counts.to_numpy().sum() == len(pts) - counts.attrs["n_outside"]
    res = emerging_hotspots(counts, grid)
    hit = grid.index[shapely.contains_xy(np.asarray(grid.geometry.values), PLANT[0] - 275, PLANT[1] - 1175)][0]
    assert res.loc[hit, "trend_class"] in {"consecutive hot spot", "new hot spot"}
    assert res.loc[hit, "is_hotspot"] and res.loc[hit, "n_hot"] >= 3
    assert res["is_hotspot"].sum() <= 12  # the cluster's neighbourhood, not the background


def test_distance_weights_and_permutations_are_reproducible(grid: gpd.GeoDataFrame) -> None:
    counts = _crafted(grid, "..H..H..HH.H")
    a = emerging_hotspots(counts, grid, weights="distance", permutations=99, seed=7)
    b = emerging_hotspots(counts, grid, weights="distance", permutations=99, seed=7)
    pd.testing.assert_series_equal(a["last_p"], b["last_p"])
    assert a.attrs["params"]["distance_m"] == pytest.approx(225.0)
    assert a.attrs["params"]["inference"] == "permutation"
    assert a["last_p"].min() == pytest.approx(0.02)  # 2 (0 + 1) / (99 + 1): the shared two-sided definition


def test_islands_warn_once(grid: gpd.GeoDataFrame) -> None:
    # three separate squares: queen contiguity gives no neighbours
    units = gpd.GeoDataFrame({"area_id": ["A", "B", "C"]}, geometry=[
        shapely.box(X0, Y0, X0 + 100, Y0 + 100), shapely.box(X0 + 500, Y0, X0 + 600, Y0 + 100),
        shapely.box(X0 + 1000, Y0, X0 + 1100, Y0 + 100)], crs=27700)
    counts = pd.DataFrame(np.tile([[1.0], [2.0], [3.0]], 12) + np.eye(3, 12), index=units.index, columns=MONTHS)
    with pytest.warns(DataWarning, match="no neighbours") as rec:
        res = emerging_hotspots(counts, units)
    assert len([w for w in rec if issubclass(w.category, DataWarning)]) == 1
    assert res.attrs["params"]["n_islands"] == 3 and len(res) == 3
    near = emerging_hotspots(counts, units, weights="distance", distance_m=600.0)
    assert near.attrs["params"]["n_islands"] == 0


def test_errors_say_what_to_do(grid: gpd.GeoDataFrame) -> None:
    counts = _crafted(grid, "....HH......")
    with pytest.raises(CRSError, match="27700"):
        emerging_hotspots(counts, grid.to_crs(4326))
    with pytest.raises(SchemaError, match="reindex"):
        emerging_hotspots(counts.iloc[:-1], grid)
    with pytest.raises(SchemaError, match="time order"):
        emerging_hotspots(counts[counts.columns[::-1]], grid)
    with pytest.raises(SchemaError, match="non-negative"):
        emerging_hotspots(counts - 100, grid)
    with pytest.raises(SchemaError, match="permutations"):
        emerging_hotspots(counts, grid, permutations=10)
    with pytest.raises(SchemaError, match="weights"):
        emerging_hotspots(counts, grid, weights="rook")  # type: ignore[arg-type]
    areas = grid.drop(columns=["x_min", "y_min", "x_max", "y_max"])
    with pytest.raises(SchemaError, match="distance_m"):
        emerging_hotspots(counts, areas, weights="distance")
    with pytest.raises(SchemaError, match="at least 3"):
        emerging_hotspots(counts.iloc[:2], grid.iloc[:2])
    with pytest.warns(DataWarning, match="10"):
        emerging_hotspots(counts.iloc[:, :6], grid)
