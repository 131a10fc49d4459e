"""Deployable CCTV on schemes and repeat locations by role (issue 14 item 4).

Camera reach and ranking are checked against distances worked here; the siting goes through the
plan's own maximal covering model (``build_cctv_problem`` + ``site_cameras``).
"""

from __future__ import annotations

import _tk_builders  # noqa: F401  (first: puts the repository root on sys.path)
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from tasking._errors import TaskingError
from tasking.access import AccessDenied, Viewer
from tasking.allocation import CCTVProblem, site_cameras
from tasking.housing import (
    SCHEME_SITE_SOURCE,
    repeat_locations_view,
    scheme_camera_sites,
    scheme_cctv_ranking,
)
from tasking.resources import CameraSite

X0, Y0 = 558000.0, 146000.0


def _schemes() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"area_id": ["S1", "S2", "S3"], "name": ["One", "Two", "Three"], "homes": [100, 40, 10]},
                            geometry=[box(X0, Y0, X0 + 200, Y0 + 200), box(X0 + 1000, Y0, X0 + 1200, Y0 + 200),
                                      box(X0 + 3000, Y0, X0 + 3100, Y0 + 100)], crs=27700)


def _demand() -> pd.DataFrame:
    # S1: 3 at (50, 50) and 1 at (180, 180); S2: 5 at (1100, 100); outside every scheme: 9 at (2000, 0)
    pts = [(50, 50, 3.0), (180, 180, 1.0), (1100, 100, 5.0), (2000, 0, 9.0)]
    return pd.DataFrame({"demand_id": [f"d{i}" for i in range(len(pts))], "x": [X0 + p[0] for p in pts],
                         "y": [Y0 + p[1] for p in pts], "harm_monitored_week": [p[2] for p in pts]})


def test_schemes_ranked_by_uncovered_harm_at_their_best_point():
    rank = scheme_cctv_ranking(_schemes(), _demand(), radius_m=100.0)
    assert rank["scheme_id"].tolist() == ["S2", "S1", "S3"]
    s1 = rank.set_index("scheme_id").loc["S1"]
    assert (s1["site_x"], s1["site_y"]) == (X0 + 50, Y0 + 50)  # (180, 180) is 184 m away: out of reach
    assert s1["harm_in_scheme"] == 4.0 and s1["uncovered_harm"] == 3.0
    s3 = rank.set_index("scheme_id").loc["S3"]
    assert np.isnan(s3["site_x"]) and s3["rank"] == 3  # no harm inside: no site, ranked last
    # a fixed camera covering S2's point leaves it nothing to add
    fixed = (CameraSite("F1", X0 + 1100, Y0 + 120),)
    r2 = scheme_cctv_ranking(_schemes(), _demand(), radius_m=100.0, fixed=fixed, fixed_radius_m=50.0)
    s2 = r2.set_index("scheme_id").loc["S2"]
    assert s2["covered_by_fixed"] == 5.0 and s2["uncovered_harm"] == 0.0
    assert r2["scheme_id"].tolist() == ["S1", "S2", "S3"]
    with pytest.raises(TaskingError, match="radius_m"):
        scheme_cctv_ranking(_schemes(), _demand(), radius_m=0)
    with pytest.raises(TaskingError, match="'area_id'"):
        scheme_cctv_ranking(_schemes().drop(columns="area_id"), _demand(), radius_m=100.0)


def test_scheme_sites_feed_the_plans_camera_siting():
    sites = scheme_camera_sites(_schemes(), _demand(), radius_m=100.0)
    assert [s.site_id for s in sites] == ["S-S2", "S-S1"]
    assert all(s.source.startswith(SCHEME_SITE_SOURCE) for s in sites) and "(Two)" in sites[0].source
    assert [s.site_id for s in scheme_camera_sites(_schemes(), _demand(), radius_m=100.0, top=1)] == ["S-S2"]
    cctv = CCTVProblem(demand=_demand().rename(columns={"harm_monitored_week": "weight"}), sites=sites, cameras=1,
                       radius_m=100.0, must_stay=(), deployed=(), fixed=(), fixed_radius_m=100.0,
                       min_deployment_weeks=4)
    res = site_cameras(cctv)
    assert res["sites"] == ["S-S2"] and res["objective"] == pytest.approx(5.0)
    with pytest.raises(TaskingError, match="top"):
        scheme_camera_sites(_schemes(), _demand(), radius_m=100.0, top=0)


def _cases() -> pd.DataFrame:
    rows = ([(X0, Y0, "2025-02-0%d" % d, "noise", False, "S1", "W1") for d in (1, 3, 5, 7)]
            + [(X0 + 500, Y0, "2025-03-0%d" % d, "domestic-abuse", True, "S2", "W1") for d in (1, 2, 3)]
            + [(X0 + 900, Y0, "2025-03-0%d" % d, "domestic-abuse", True, "S2", "W2") for d in (1, 2, 3, 4, 5, 6)])
    return pd.DataFrame({"x": [r[0] for r in rows], "y": [r[1] for r in rows], "occurred_from": [r[2] for r in rows],
                         "category": [r[3] for r in rows], "sensitive": [r[4] for r in rows],
                         "estate_id": [r[5] for r in rows], "ward_code": [r[6] for r in rows],
                         "location_text": ["On or near Test Road"] * len(rows)})


def test_staff_see_non_sensitive_repeat_points_only():
    view = repeat_locations_view(_cases(), Viewer("cath", "chair"))
    assert view.points is not None and len(view.points) == 1
    p = view.points.iloc[0]
    assert (p["x"], p["y"], p["n_cases"], p["categories"]) == (X0, Y0, 4, "noise 4")
    # the two domestic-abuse repeat places are never points, for anyone
    assert not (view.points["x"] > X0 + 100).any()
    sens = view.by_area[view.by_area["kind"] == "sensitive"].set_index("ward_code")
    assert sens.loc["W1", "display"] == "fewer than 5 cases" and pd.isna(sens.loc["W1", "repeat_locations"])
    assert sens.loc["W2", "display"] == "1" and sens.loc["W2", "cases"] == 6
    assert "3 or more cases within 183 days" in view.rule


@pytest.mark.parametrize("role", ["partner", "cctv"])
def test_partners_and_cctv_get_counts_without_places(role):
    view = repeat_locations_view(_cases(), Viewer("p", role))
    assert view.points is None
    assert not {"x", "y", "location_text", "location_id"} & set(view.by_area.columns)
    open_ = view.by_area[view.by_area["kind"] == "non-sensitive"]
    assert open_[["estate_id", "repeat_locations", "cases"]].values.tolist() == [["S1", 1, 4]]


def test_wardens_are_refused():
    with pytest.raises(AccessDenied, match="repeat locations"):
        repeat_locations_view(_cases(), Viewer("w", "warden", "W01"))

