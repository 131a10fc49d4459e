"""Candidate locations: patches from hot cells, parks and estates, harm by shift, priority."""

from __future__ import annotations

import _tk_builders as B
import geopandas as gpd
import pandas as pd
import pytest
import shapely

from spatial.harm import harm_weight
from spatial.hotspots import hotspot_result
from tasking._errors import TaskingError
from tasking.candidates import (
    build_candidates,
    cctv_demand,
    demo_camera_sites,
    harm_column,
    patrol_patches,
)
from tasking.resources import load_roster

S = 150.0
BURGLARY = float(harm_weight(["burglary"], index="cchi")[0])


def _cells(hot: list[tuple[int, int]], *, extent=(0, 0, 8, 4), trend: dict | None = None) -> gpd.GeoDataFrame:
    """Grid of 150 m cells over [0..8) x [0..4) (col, row) from (X0, Y0); ``hot`` cells are hotspots."""
    rows = []
    for c in range(extent[0], extent[2]):
        for r in range(extent[1], extent[3]):
            x0, y0 = B.X0 + c * S, B.Y0 + r * S
            rows.append({"cell_id": f"c{c}_{r}", "col": c, "row": r, "geometry": shapely.box(x0, y0, x0 + S, y0 + S),
                         "trend_class": (trend or {}).get((c, r), "no pattern")})
    g = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:27700")
    is_hot = [(r.col, r.row) in hot for r in g.itertuples()]
    score = [10.0 - 0.1 * i if h else 0.0 for i, h in enumerate(is_hot)]
    return hotspot_result(g, score, is_hot, "test", {})


def _inc(points: list[tuple[float, float]], category="burglary", month="2018-06", times=None) -> pd.DataFrame:
    n = len(points)
    df = pd.DataFrame({"x": [B.X0 + p[0] for p in points], "y": [B.Y0 + p[1] for p in points],
                       "category": [category] * n, "month": [month] * n})
    if times is None:
        df["occurred_from"] = "2018-06-01T00:00:00+01:00"
        df["occurred_to"] = "2018-07-01T00:00:00+01:00"
    else:
        df["occurred_from"] = times
        df["occurred_to"] = times
    return df


def test_connected_components_become_patches():
    hs = _cells([(0, 0), (1, 0), (2, 1), (6, 3)])  # (1,0)-(2,1) touch at a corner
    p = patrol_patches(hs)
    assert sorted(p["n_cells"]) == [1, 3]
    assert set(p["patch_id"]) == {"ST-c0_0", "ST-c6_3"}


def test_large_component_split_by_max_cells():
    hot = [(c, r) for c in range(4) for r in range(2)]  # 8 touching cells
    p = patrol_patches(_cells(hot), max_patch_cells=3)
    assert p["n_cells"].sum() == 8 and p["n_cells"].max() <= 3
    # every patch is itself connected
    for g in p.geometry:
        assert g.geom_type == "Polygon"


def test_parks_estates_and_shift_split():
    roster = load_roster()
    hs = _cells([(0, 0), (1, 0), (5, 2)])
    park = gpd.GeoDataFrame({"park_id": ["P1"], "park_name": ["Test Park"]},
                            geometry=[shapely.box(B.X0 + 5 * S, B.Y0 + 2 * S, B.X0 + 6 * S, B.Y0 + 3 * S)],
                            crs="EPSG:27700")
    estate = gpd.GeoDataFrame({"estate_id": ["E1"], "estate_name": ["Test Estate"]},
                              geometry=[shapely.box(B.X0 + 1200, B.Y0 + 450, B.X0 + 1500, B.Y0 + 600)],
                              crs="EPSG:27700")
    inc = pd.concat([_inc([(50, 50)] * 4), _inc([(5 * S + 20, 2 * S + 20)] * 2, category="robbery"),
                     _inc([(1300, 500)], category="criminal-damage-arson")])
    cands = build_candidates(hs, inc, wards=B.make_wards(), shifts=roster.shifts, planning=roster.planning,
                             parks=park, estates=estate, window_weeks=4.0)
    c = cands.set_index("candidate_id")
    assert c.loc["PK-P1", "place_type"] == "park"
    assert "ST-c5_2" not in c.index  # the hot cell in the park belongs to the park
    assert c.loc["ES-E1", "place_type"] == "estate"
    assert c.loc["ST-c0_0", "expected_harm_week"] == pytest.approx(4 * BURGLARY / 4.0)
    assert c.loc["PK-P1", "n_incidents"] == 2 and c.loc["PK-P1", "top_categories"].startswith("robbery")
    # default split: early 30 %, late 45 % of the week (the rest is night, unpatrolled)
    row = c.loc["ST-c0_0"]
    assert row["harm_early"] == pytest.approx(0.30 * row["expected_harm_week"])
    assert row["harm_late"] == pytest.approx(0.45 * row["expected_harm_week"])
    assert row[harm_column(0, "late")] == pytest.approx(row["harm_late"] / 7)
    assert "default split" in cands.attrs["profile_source"]
    # wards without a street/estate candidate get a presence point; W_A has the patch
    wp = cands[cands["candidate_id"].str.startswith("WP-")]
    assert set(wp["ward_code"]) == {"W_B", "W_C"} - set(cands.loc[cands["place_type"] == "estate", "ward_code"])
    assert (wp["priority"] == 0).all()


def test_timed_incidents_drive_the_split():
    roster = load_roster()
    times = ["2024-06-07T22:10:00+01:00"] * 60  # Fridays 22:10, BST
    inc = _inc([(50, 50)] * 60, category="anti-social-behaviour", times=times)
    cands = build_candidates(_cells([(0, 0)]), inc, wards=B.make_wards(), shifts=roster.shifts,
                             planning=roster.planning, window_weeks=1.0)
    row = cands.set_index("candidate_id").loc["ST-c0_0"]
    assert row[harm_column("Fri", "late")] == pytest.approx(row["expected_harm_week"])
    assert row["harm_early"] == pytest.approx(0.0)
    assert "timed incidents" in cands.attrs["profile_source"]


def test_trend_and_concern_multipliers():
    roster = load_roster()
    hs = _cells([(0, 0), (4, 3)], trend={(0, 0): "intensifying hot spot", (4, 3): "diminishing hot spot"})
    inc = _inc([(50, 50), (4 * S + 10, 3 * S + 10)])
    concerns = pd.DataFrame({"concern": ["community_trigger", "jag_case"], "candidate_id": ["ST-c4_3", "ST-c4_3"],
                             "note": ["case 7", None]})
    cands = build_candidates(hs, inc, wards=B.make_wards(), shifts=roster.shifts, planning=roster.planning,
                             window_weeks=1.0, concerns=concerns).set_index("candidate_id")
    assert cands.loc["ST-c0_0", "trend_multiplier"] == 1.3
    assert cands.loc["ST-c4_3", "trend_multiplier"] == 0.8
    assert cands.loc["ST-c4_3", "concern_multiplier"] == pytest.approx(min(1.5 * 1.5, 2.0))
    assert "community_trigger (case 7)" in cands.loc["ST-c4_3", "concerns"]
    assert cands.loc["ST-c4_3", "priority"] == pytest.approx(cands.loc["ST-c4_3", "expected_harm_week"] * 0.8 * 2.0)
    with pytest.raises(TaskingError, match="concern was 'petition'"):
        build_candidates(hs, inc, wards=B.make_wards(), shifts=roster.shifts, planning=roster.planning,
                         window_weeks=1.0, concerns=pd.DataFrame({"concern": ["petition"], "ward_code": ["W_A"]}))
    with pytest.raises(TaskingError, match="matches no candidate"):
        build_candidates(hs, inc, wards=B.make_wards(), shifts=roster.shifts, planning=roster.planning,
                         window_weeks=1.0, concerns=pd.DataFrame({"concern": ["jag_case"], "candidate_id": ["ST-x"]}))


def test_cctv_demand_and_demo_sites():
    roster = load_roster()
    inc = _inc([(10, 10), (20, 20), (400, 400)])
    d = cctv_demand(inc, monitored=roster.fixed_cctv.monitored, planning=roster.planning, window_weeks=2.0)
    assert len(d) == 2
    # default split: 15:00-23:00 is 0.45, 23:00-01:00 is 2/8 of the 0.25 night band
    assert d.attrs["monitored_share"] == pytest.approx(0.45 + 0.25 * 2 / 8)
    assert d["harm_week"].sum() == pytest.approx(3 * BURGLARY / 2.0)
    cands = build_candidates(_cells([(0, 0)]), inc, wards=B.make_wards(), shifts=roster.shifts,
                             planning=roster.planning, window_weeks=2.0)
    sites = demo_camera_sites(cands)
    assert [s.site_id for s in sites] == ["S-ST-c0_0"]
    assert sites[0].source.startswith("GENERATED")


def test_no_incidents_is_a_clear_error():
    roster = load_roster()
    with pytest.raises(TaskingError, match="ingest"):
        build_candidates(_cells([(0, 0)]), _inc([]), wards=B.make_wards(), shifts=roster.shifts,
                         planning=roster.planning)
