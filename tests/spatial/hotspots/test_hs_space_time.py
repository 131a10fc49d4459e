"""Space-time neighbourhoods in Emerging Hot Spot Analysis (issue 17 item 5).

A worked example built so the classes follow from Esri's published rules
(*How Emerging Hot Spot Analysis works*: hot in >= 90 % of time steps and in
the final one = persistent / intensifying / diminishing by the Mann-Kendall
trend of Gi* z; not hot in the final step but hot in >= 90 % = historical; hot
only in the final step = new; an unbroken run ending in the final step =
consecutive), and the one place where the space-time neighbourhood changes the
answer: a problem that stopped in the final month still counts in that month's
neighbourhood through the previous month, so it is not yet "historical".
"""

from __future__ import annotations

import math
import warnings

import geopandas as gpd
import libpysal
import numpy as np
import pandas as pd
import pytest
import shapely

from spatial._errors import HotspotError, SchemaError
from spatial.grids import square_grid
from spatial.hotspots import emerging_hotspots
from spatial.trends import gistar_by_period, gistar_space_time


def test_space_time_z_by_hand_on_a_line():
    # five units on a line (0-1-2-3-4), two periods; binary weights with self
    w = libpysal.weights.W({0: [1], 1: [0, 2], 2: [1, 3], 3: [2, 4], 4: [3]}, silence_warnings=True)
    y = np.array([[1, 3], [2, 1], [0, 0], [0, 2], [1, 0]], dtype=float)  # units x periods
    z, p = gistar_space_time(y, w)
    # period 1, unit 0: N*(0) = {0, 1}; L = (3 + 1) + (1 + 2) = 7 over W = 4 bins (two units, two periods)
    # period 1 over its 5 units: mean 6/5 = 1.2, S^2 = (9 + 1 + 0 + 4 + 0)/5 - 1.44 = 1.36
    # z = (7 - 4 * 1.2) / (sqrt(1.36) * sqrt((5 * 4 - 16) / 4)) = 2.2 / 1.16619 = 1.88648
    assert z[0, 1] == pytest.approx(2.2 / math.sqrt(1.36), rel=1e-12)
    assert p[0, 1] == pytest.approx(math.erfc(z[0, 1] / math.sqrt(2)), rel=1e-12)
    # the first period has no previous one: the spatial Gi* (as gistar_by_period without space_time)
    z0, _ = gistar_by_period(y, w)
    assert z[:, 0] == pytest.approx(z0[:, 0], rel=1e-12)
    # unit 2 in period 1: N* = {1, 2, 3}, W = 6 >= n... n W - W^2 = 30 - 36 < 0: undefined -> z = 0, p = 1
    assert z[2, 1] == 0.0 and p[2, 1] == 1.0
    # and the spatial-only z of unit 0 in period 1 differs (L = 4, W = 2)
    spatial = (4 - 2 * 1.2) / (math.sqrt(1.36) * math.sqrt((5 * 2 - 4) / 4))
    assert z0[0, 1] == pytest.approx(spatial, rel=1e-12) and z0[0, 1] != pytest.approx(z[0, 1])


def _cube():
    """12 x 12 cells, 12 months, background 1..3; five 3x3 blocks raised by 5 with known histories."""
    g = square_grid(gpd.GeoSeries([shapely.box(500_000, 200_000, 501_200, 201_200)], crs=27700), cell_size_m=100)
    assert len(g) == 144
    col = (g["col"] - g["col"].min()).to_numpy()
    row = (g["row"] - g["row"].min()).to_numpy()
    base = 1.0 + (col + 2 * row) % 3
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    y = np.repeat(base[:, None], 12, axis=1)
    blocks = {  # centre (col, row): months (0-based) in which the block is raised
        "persistent": ((2, 2), range(12)),
        "stopped": ((9, 2), range(11)),  # raised in months 1..11, not in the final month
        "new": ((2, 9), [11]),
        "consecutive": ((9, 9), [9, 10, 11]),
        # raised while the others are not, so every month has three raised blocks: the same mean and
        # spread in every month (each 3x3 block sums to 18 before raising), so a block's Gi* z is the
        # same in every month it is raised and the Mann-Kendall trend reflects only its own history
        "filler": ((6, 6), range(9)),
    }
    centre = {}
    for name, ((c, r), ts) in blocks.items():
        inside = (np.abs(col - c) <= 1) & (np.abs(row - r) <= 1)
        for t in ts:
            y[inside, t] += 5.0
        centre[name] = int(np.flatnonzero((col == c) & (row == r))[0])
    counts = pd.DataFrame(y, index=g.index, columns=months)
    return g, counts, centre


def _classes(space_time: bool):
    g, counts, centre = _cube()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = emerging_hotspots(counts, g, space_time=space_time)
    return {name: res.loc[g.index[i], "trend_class"] for name, i in centre.items()}, res


def test_published_classes_with_spatial_neighbourhoods():
    got, res = _classes(False)
    # raised in all 12 months, constant: hot in every step, no trend -> persistent
    assert got["persistent"] == "persistent hot spot"
    # raised in 11 of 12 (>= 90 %), not in the final month -> historical
    assert got["stopped"] == "historical hot spot"
    # raised only in the final month -> new
    assert got["new"] == "new hot spot"
    # raised in the final three months, never before -> consecutive
    assert got["consecutive"] == "consecutive hot spot"
    assert res.attrs["params"]["neighbourhood"] == "spatial (this period)"


def test_published_classes_with_space_time_neighbourhoods():
    got, res = _classes(True)
    assert res.attrs["params"]["neighbourhood"] == "space-time (this and the previous period)"
    assert got["persistent"] == "persistent hot spot"
    assert got["consecutive"] == "consecutive hot spot"
    assert got["new"] == "new hot spot"  # the final month alone still carries the neighbourhood
    # the final month's neighbourhood holds the raised previous month: hot in all 12 steps, so not
    # historical; the z series falls only at the end (tied elsewhere), not a significant Mann-Kendall trend
    assert got["stopped"] == "persistent hot spot"
    g, counts, centre = _cube()
    z, _ = gistar_by_period(counts.to_numpy(), libpysal.weights.lat2W(12, 12, rook=False), space_time=True)
    assert z.shape == (144, 12)


def test_space_time_refuses_permutations():
    g, counts, _ = _cube()
    with pytest.raises(SchemaError, match="analytic"):
        emerging_hotspots(counts, g, space_time=True, permutations=999)
    with pytest.raises(HotspotError, match="analytic"):
        gistar_by_period(counts.to_numpy(), libpysal.weights.lat2W(12, 12, rook=False), space_time=True,
                         permutations=99)
