"""Review of a finished week: WDQ worked by hand, tasked against matched controls, delivery from logs,
candidate polygons rebuilt from the plan, aoristic period shares.  Every expected value is computed
by hand in the test (harm weights from the bundled table), never by the function under test."""

from __future__ import annotations

import json
import math

import _tk_plans as P
import geopandas as gpd
import pandas as pd
import pytest
import shapely

from spatial._errors import CRSError
from spatial.harm import harm_weight
from tasking._errors import TaskingError
from tasking.review import (
    candidate_polygons,
    delivery,
    displacement_areas,
    displacement_check,
    grid_controls,
    period_share,
    review_week,
    tasked_vs_control,
    wdq,
)

X0, Y0 = 525000.0, 178000.0
W_SHOP, W_ROB = (float(v) for v in harm_weight(["shoplifting", "robbery"], index="cchi"))


def inc(points: list[tuple[float, float, str]], *, sensitive: list[bool] | None = None) -> pd.DataFrame:
    """Incidents at (dx, dy) from (X0, Y0) with a category."""
    df = pd.DataFrame({"x": [X0 + p[0] for p in points], "y": [Y0 + p[1] for p in points],
                       "category": [p[2] for p in points]})
    df["sensitive"] = sensitive if sensitive is not None else [False] * len(df)
    return df


def many(n: int, dx: float, dy: float, cat: str = "shoplifting") -> list[tuple[float, float, str]]:
    return [(dx, dy, cat)] * n


# --------------------------------------------------------------------------
# (c) WDQ
# --------------------------------------------------------------------------
@pytest.mark.parametrize(("Rb", "Ra", "Db", "Da", "Cb", "Ca", "expected", "tne", "band"), [
    # success = 60/800 - 100/1000 = -0.025; buffer = 36/800 - 50/1000 = -0.005; WDQ = 0.2;
    # TNE = (100 * 0.8 - 60) + (50 * 0.8 - 36) = 20 + 4 = 24
    (100, 60, 50, 36, 1000, 800, 0.2, 24.0, "diffusion"),
    # success = -0.04; buffer = 60/1000 - 50/1000 = 0.01; WDQ = -0.25; TNE = 40 - 10 = 30
    (100, 60, 50, 60, 1000, 1000, -0.25, 30.0, "displacement"),
    # buffer = 0.1 - 0.05 = 0.05; WDQ = -1.25; TNE = 40 - 50 = -10
    (100, 60, 50, 100, 1000, 1000, -1.25, -10.0, "displacement-greater"),
    # buffer = 0 - 0.05 = -0.05; WDQ = 1.25; TNE = 40 + 50 = 90
    (100, 60, 50, 0, 1000, 1000, 1.25, 90.0, "diffusion-greater"),
    # buffer unchanged: WDQ = 0
    (100, 60, 50, 50, 1000, 1000, 0.0, 40.0, "none"),
    # the response area got worse: success = +0.02 > 0, WDQ computed but not interpretable
    (100, 120, 50, 40, 1000, 1000, -0.5, -10.0, "no-success"),
])
def test_wdq_hand_computed(Rb, Ra, Db, Da, Cb, Ca, expected, tne, band):
    r = wdq(Rb=Rb, Ra=Ra, Db=Db, Da=Da, Cb=Cb, Ca=Ca)
    assert r.wdq == pytest.approx(expected, abs=1e-12)
    assert r.tne == pytest.approx(tne)
    assert r.band == band
    assert r.success_measure == pytest.approx(Ra / Ca - Rb / Cb)


def test_wdq_undefined_cases():
    zero = wdq(Rb=100, Ra=80, Db=50, Da=45, Cb=1000, Ca=800)  # success = 0.1 - 0.1 = 0
    assert zero.wdq is None and zero.band == "undefined"
    assert zero.interpretation.startswith("undefined") and "denominator" in zero.interpretation
    assert zero.tne == pytest.approx((100 * 0.8 - 80) + (50 * 0.8 - 45))
    no_control = wdq(Rb=10, Ra=5, Db=5, Da=5, Cb=0, Ca=7)
    assert no_control.wdq is None and no_control.tne is None and "before period" in no_control.interpretation
    assert wdq(Rb=10, Ra=5, Db=5, Da=5, Cb=9, Ca=0).band == "undefined"
    with pytest.raises(TaskingError, match="Da was -1"):
        wdq(Rb=10, Ra=5, Db=5, Da=-1, Cb=9, Ca=9)
    with pytest.raises(TaskingError, match="Ra was nan"):
        wdq(Rb=10, Ra=math.nan, Db=5, Da=1, Cb=9, Ca=9)


def _area_and_tasked():
    area = gpd.GeoDataFrame(geometry=[shapely.box(X0, Y0, X0 + 2000, Y0 + 2000)], crs=27700)
    tasked = gpd.GeoDataFrame(geometry=[shapely.box(X0 + 900, Y0 + 900, X0 + 1100, Y0 + 1100)], crs=27700)
    return area, tasked


def test_displacement_zones_and_wdq_from_points():
    area, tasked = _area_and_tasked()
    zones = displacement_areas(tasked, area, buffer_m=250)
    assert zones["zone"].tolist() == ["R", "D", "C"]
    r, d, c = zones.geometry
    assert r.area == pytest.approx(200 * 200)
    # ring: 4 sides of 200 x 250 m plus 4 quarter circles of 250 m (polygonised, so within 0.5 %)
    assert d.area == pytest.approx(4 * 200 * 250 + math.pi * 250**2, rel=5e-3)
    assert r.intersection(d).area == pytest.approx(0, abs=1e-6) and c.intersection(d).area == pytest.approx(0, abs=1e-6)
    assert c.area == pytest.approx(2000 * 2000 - r.area - d.area, rel=1e-9)
    # R at the centre, D 100 m above R's top edge, C in a corner; one point 260 m away (C), one outside the area
    before = inc(many(10, 1000, 1000) + many(5, 1000, 1200) + many(100, 100, 100) + many(1, 1000, 1360)
                 + many(7, 5000, 5000))
    after = inc(many(4, 1000, 1000) + many(6, 1000, 1200) + many(80, 100, 100))
    res = displacement_check(tasked, area, before, after, buffer_m=250)
    w = res.incidents
    assert (w.Rb, w.Ra, w.Db, w.Da, w.Cb, w.Ca) == (10, 4, 5, 6, 101, 80)
    success = 4 / 80 - 10 / 101
    buffer = 6 / 80 - 5 / 101
    assert w.wdq == pytest.approx(buffer / success)
    assert w.band == "displacement"
    assert w.tne == pytest.approx((10 * 80 / 101 - 4) + (5 * 80 / 101 - 6))
    assert res.harm.Rb == pytest.approx(10 * W_SHOP) and res.harm.wdq == pytest.approx(buffer / success)
    with pytest.raises(CRSError, match="EPSG:27700"):
        displacement_areas(tasked.to_crs(4326), area)
    with pytest.raises(TaskingError, match="buffer_m was 0"):
        displacement_areas(tasked, area, buffer_m=0)

def test_displacement_places_incidents_by_exact_distance_not_by_the_drawn_ring():
    """An incident 249.95 m off a corner of R is in the 250 m ring D, one 250.05 m off it is in C.

    The drawn ring is a polygon: between its vertices the arc is cut short by up to
    250 (1 - cos(pi/128)) = 0.075 m, so the first point lies just outside the polygon.
    """
    area, tasked = _area_and_tasked()
    zones = displacement_areas(tasked, area, buffer_m=250)
    angle = math.radians(45 + 90 / 64)  # half-way between two vertices of the corner's arc
    corner = (1100, 1100)
    near = (corner[0] + 249.95 * math.cos(angle), corner[1] + 249.95 * math.sin(angle))
    far = (corner[0] + 250.05 * math.cos(angle), corner[1] + 250.05 * math.sin(angle))
    ring = zones.geometry.iloc[1]
    assert not ring.contains(shapely.Point(X0 + near[0], Y0 + near[1]))  # the polygon misses it ...
    on_edge = (1000, 1100)  # ... and a point on R's boundary is in R, not lost between R and D
    before = inc(many(3, *near) + many(2, *far) + many(4, *on_edge))
    after = inc(many(1, *near) + many(5, *far) + many(6, *on_edge))
    w = displacement_check(tasked, area, before, after, buffer_m=250).incidents
    assert (w.Rb, w.Ra, w.Db, w.Da, w.Cb, w.Ca) == (4, 6, 3, 1, 2, 5)



# --------------------------------------------------------------------------
# (a) tasked against comparable untasked places
# --------------------------------------------------------------------------
def _units() -> gpd.GeoDataFrame:
    rows = [("T1", "street", True, 0), ("T2", "street", True, 200), ("U1", "street", False, 400),
            ("U2", "street", False, 600), ("U3", "street", False, 800), ("U4", "street", False, 1000),
            ("P1", "park", True, 2000), ("P2", "park", False, 2200)]
    return gpd.GeoDataFrame({"candidate_id": [r[0] for r in rows], "place_type": [r[1] for r in rows],
                             "tasked": [r[2] for r in rows]},
                            geometry=[shapely.box(X0 + r[3], Y0, X0 + r[3] + 100, Y0 + 100) for r in rows],
                            crs=27700)


def _periods():
    # before: 4 weeks; per-week harm T1 2.0, T2 1.0, U1 2.25, U2 0.75, U3 1.5, U4 0, P1 1, P2 2
    before = inc(many(8, 50, 50) + many(4, 250, 50) + many(9, 450, 50) + many(3, 650, 50) + many(6, 850, 50)
                 + many(4, 2050, 50) + many(8, 2250, 50) + many(3, 3000, 3000))
    # after: 1 week; T1 one shoplifting + one robbery + one sensitive, T2 2, U1 2, U2 1, U3 1, P2 2
    pts = (many(1, 50, 50) + many(1, 50, 50, "robbery") + many(1, 50, 50, "violent-crime") + many(2, 250, 50)
           + many(2, 450, 50) + many(1, 650, 50) + many(1, 850, 50) + many(2, 2250, 50))
    after = inc(pts, sensitive=[p[2] == "violent-crime" for p in pts])
    return before, after


def test_tasked_against_nearest_controls_hand_computed():
    before, after = _periods()
    res = tasked_vs_control(_units(), before, after, before_weeks=4, after_weeks=1, method="nearest", n_controls=2)
    u = res.units.set_index("candidate_id")
    # nearest before harm/week: T1 (2.0) -> U1 (2.25), U3 (1.5); T2 (1.0) -> U2 (0.75), U3 (1.5); P1 (1) -> P2 (2)
    assert u.loc["T1", "control_ids"] == "U1,U3"
    assert u.loc["T2", "control_ids"] == "U2,U3"
    assert u.loc["P1", "control_ids"] == "P2"
    assert u.loc["T1", "incidents_after"] == 2  # the sensitive incident is left out
    assert u.loc["T1", "control_incidents_before_week"] == pytest.approx((2.25 + 1.5) / 2)
    assert u.loc["T2", "control_incidents_after_week"] == pytest.approx((1 + 1) / 2)
    s = res.summary.set_index(["place_type", "measure"])
    street = s.loc[("street", "incidents")]
    assert (street["n_tasked"], street["n_matched"]) == (2, 2)
    assert street["tasked_before"] == pytest.approx(3.0) and street["tasked_after"] == pytest.approx(4.0)
    assert street["control_before"] == pytest.approx(1.875 + 1.125)
    assert street["control_after"] == pytest.approx(1.5 + 1.0)
    assert street["tasked_change"] == pytest.approx(1 / 3)
    assert street["control_change"] == pytest.approx(-1 / 6)
    assert street["did"] == pytest.approx((4 - 3) - (2.5 - 3))
    assert street["relative_effect"] == pytest.approx((4 / 3) / (2.5 / 3))
    park = s.loc[("park", "incidents")]
    assert (park["tasked_before"], park["tasked_after"], park["control_before"], park["control_after"]) == \
        pytest.approx((1.0, 0.0, 2.0, 2.0))
    assert park["did"] == pytest.approx(-1.0)
    everything = s.loc[("all", "incidents")]
    assert everything["did"] == pytest.approx((4 - 4) - (4.5 - 5.0))
    harm = s.loc[("street", "harm")]
    assert harm["tasked_after"] == pytest.approx((W_SHOP + W_ROB) + 2 * W_SHOP)
    assert harm["tasked_before"] == pytest.approx(3 * W_SHOP)
    with_sensitive = tasked_vs_control(_units(), before, after, before_weeks=4, after_weeks=1, n_controls=2,
                                       include_sensitive=True)
    assert with_sensitive.units.set_index("candidate_id").loc["T1", "incidents_after"] == 3


def test_overlapping_tasked_places_each_count_their_own_incidents():
    """A park inside a street patch keeps its incidents (it used to lose them to the patch listed first)."""
    patch = shapely.box(525000, 178000, 525300, 178300)
    park = shapely.box(525100, 178100, 525200, 178200)  # inside the patch
    units = gpd.GeoDataFrame({"candidate_id": ["ST-1", "PK-1", "U1", "P2"], "place_type": ["street", "park",
                                                                                           "street", "park"],
                              "tasked": [True, True, False, False]},
                             geometry=[patch, park, shapely.box(526000, 178000, 526300, 178300),
                                       shapely.box(527000, 178000, 527100, 178100)], crs=27700)
    pts = [(525150, 178150), (525160, 178150), (525010, 178010)]  # two in the park (and so the patch), one not
    inc = pd.DataFrame({"x": [p[0] for p in pts], "y": [p[1] for p in pts],
                        "category": ["anti-social-behaviour"] * 3, "sensitive": [False] * 3})
    res = tasked_vs_control(units, inc, inc, before_weeks=1, after_weeks=1, n_controls=1)
    u = res.units.set_index("candidate_id")
    assert (u.loc["ST-1", "incidents_before"], u.loc["PK-1", "incidents_before"]) == (3, 2)
    assert any("counted in more than one tasked place" in n and "2.0 incidents before" in n for n in res.notes)


def test_tasked_against_decile_controls():
    n = 20
    units = gpd.GeoDataFrame({"candidate_id": [f"S{i:02d}" for i in range(1, n + 1)], "place_type": "street",
                              "tasked": [i in (5, 12) for i in range(1, n + 1)]},
                             geometry=[shapely.box(X0 + 200 * i, Y0, X0 + 200 * i + 100, Y0 + 100)
                                       for i in range(1, n + 1)], crs=27700)
    pts = []
    for i in range(1, n + 1):  # unit i has i incidents before
        pts += many(i, 200 * i + 50, 50)
    res = tasked_vs_control(units, inc(pts), inc([]), before_weeks=1, after_weeks=1, method="decile")
    u = res.units.set_index("candidate_id")
    # 20 places in 10 deciles of 2: rank 5 shares its decile with 6, rank 12 with 11
    assert u.loc["S05", "control_ids"] == "S06"
    assert u.loc["S12", "control_ids"] == "S11"
    assert res.summary.set_index(["place_type", "measure"]).loc[("street", "incidents"), "control_before"] == 17


def test_tasked_vs_control_rejects_bad_input():
    before, after = _periods()
    with pytest.raises(TaskingError, match="units need a 'tasked' column"):
        tasked_vs_control(_units().drop(columns="tasked"), before, after, before_weeks=4, after_weeks=1)
    with pytest.raises(TaskingError, match="before_weeks"):
        tasked_vs_control(_units(), before, after, before_weeks=0, after_weeks=1)
    with pytest.raises(TaskingError, match='method was "random"'):
        tasked_vs_control(_units(), before, after, before_weeks=4, after_weeks=1, method="random")
    with pytest.raises(CRSError):
        tasked_vs_control(_units().to_crs(4326), before, after, before_weeks=4, after_weeks=1)
    only_tasked = _units()[_units()["tasked"]]
    res = tasked_vs_control(only_tasked, before, after, before_weeks=4, after_weeks=1)
    assert any("no untasked places" in n for n in res.notes)
    assert res.summary["n_matched"].eq(0).all()


# --------------------------------------------------------------------------
# (b) planned against delivered patrols
# --------------------------------------------------------------------------
def test_delivery_rate_from_logs():
    plan = P.make_plan()  # planned: W01 st1 Mon early 2, W01 st1 Tue late 1, W02 st2 Mon late 3,
    #                       W02 WP Wed early 1, PP01 park Wed early 1 = 8 visits
    st1, st2 = plan["assignments"][0]["candidate_id"], plan["assignments"][2]["candidate_id"]
    logs = pd.DataFrame([
        {"agent_id": "W01", "candidate_id": st1, "date": "2026-11-23", "shift": "early", "visits": 3, "minutes": 40},
        {"agent_id": "W02", "candidate_id": st2, "date": pd.Timestamp("2026-11-23").date(), "shift": "late",
         "visits": 1, "minutes": 12},
        {"agent_id": "PP01", "candidate_id": "PK-1000353", "date": "2026-11-25", "shift": "early", "visits": 1,
         "minutes": 15},
        {"agent_id": "W01", "candidate_id": st2, "date": "2026-11-23", "shift": "early", "visits": 2,
         "minutes": 20},
    ])
    d = delivery(plan, logs)
    assert d.totals["planned_visits"] == 8
    assert d.totals["delivered_visits"] == 2 + 1 + 1  # W01's third visit is extra, not delivery
    assert d.totals["delivery_rate"] == pytest.approx(4 / 8)
    assert (d.totals["extra_visits"], d.totals["unplanned_visits"]) == (1, 2)
    assert d.totals["unplanned_minutes"] == pytest.approx(20)
    agent = d.by_agent.set_index("agent_id")
    assert agent["delivery_rate"].to_dict() == pytest.approx({"PP01": 1.0, "W01": 2 / 3, "W02": 1 / 4})
    assert agent.loc["W01", "unplanned_visits"] == 2
    cand = d.by_candidate.set_index("candidate_id")
    assert cand.loc[st1, "delivery_rate"] == pytest.approx(2 / 3)
    assert cand.loc[st2, ["planned_visits", "delivered_visits", "unplanned_visits"]].tolist() == [3, 1, 2]
    assert cand.loc["WP-E05009390", "delivery_rate"] == 0.0
    empty = delivery(plan, logs.iloc[0:0])
    assert empty.totals["delivered_visits"] == 0 and empty.totals["delivery_rate"] == 0.0
    with pytest.raises(TaskingError, match="logs need columns"):
        delivery(plan, logs.drop(columns="shift"))


# --------------------------------------------------------------------------
# geometry rebuilt from the plan
# --------------------------------------------------------------------------
def test_candidate_polygons_from_cells_and_layers():
    plan = P.make_plan()
    park = gpd.GeoDataFrame({"park_id": ["1000353"]}, geometry=[shapely.box(527800, 178100, 528000, 178300)],
                            crs=27700)
    g = candidate_polygons(plan, parks=park).set_index("candidate_id")
    st1 = f"ST-c{P.CELL_X}_{P.CELL_Y}"
    assert g.loc[st1, "geometry"].equals(shapely.box(P.CELL_X * 150, P.CELL_Y * 150, (P.CELL_X + 2) * 150,
                                                     (P.CELL_Y + 1) * 150))
    assert g.loc[st1, "geometry_source"] == "grid cells" and g.loc[st1, "planned_visits"] == 3
    assert g.loc["PK-1000353", "geometry"].equals(park.geometry.iloc[0])
    assert "WP-E05009390" not in g.index and g["tasked"].all()
    no_layer = candidate_polygons(plan)
    assert "PK-1000353" not in set(no_layer["candidate_id"])
    assert any("without a polygon" in n and "PK-1000353" in n for n in no_layer.attrs["notes"])
    assert any("ward presence" in n for n in no_layer.attrs["notes"])
    for c in plan["candidates"]:
        c.pop("cells")
    old = candidate_polygons(plan).set_index("candidate_id")
    assert old.loc[st1, "geometry"].area == pytest.approx(150 * 150)
    assert old.loc[st1, "geometry_source"].startswith("hottest cell only")


def test_grid_controls_leave_out_the_candidates():
    plan = P.make_plan()
    cands = candidate_polygons(plan)
    area = gpd.GeoDataFrame(geometry=[shapely.box(525450, 178350, 526050, 178950)], crs=27700)  # 4 x 4 cells
    units = grid_controls(cands, area)
    gc = units[units["candidate_id"].str.startswith("GC-")]
    assert len(gc) == 16 - 2  # ST1 covers two of the 16 cells; ST2 lies outside the area
    assert not set(gc["candidate_id"]) & {f"GC-c{P.CELL_X}_{P.CELL_Y}", f"GC-c{P.CELL_X + 1}_{P.CELL_Y}"}
    assert (~gc["tasked"]).all() and (gc["place_type"] == "street").all()
    assert len(units) == len(cands) + len(gc)


def test_period_share_is_aoristic():
    df = pd.DataFrame({"occurred_from": ["2026-11-01T00:00:00+00:00", "2026-11-24T10:00:00+00:00",
                                         "2026-11-30T00:00:00+00:00", "2026-11-20T00:00:00+00:00"],
                       "occurred_to": ["2026-12-01T00:00:00+00:00", "2026-11-24T10:00:00+00:00",
                                       "2026-11-30T00:00:00+00:00", "2026-11-24T00:00:00+00:00"]})
    share = period_share(df, start="2026-11-23T00:00:00+00:00", end="2026-11-30T00:00:00+00:00")
    assert share.tolist() == pytest.approx([7 / 30, 1.0, 0.0, 1 / 4])
    with pytest.raises(TaskingError, match="timezone-aware"):
        period_share(df, start="2026-11-23", end="2026-11-30")


def test_review_week_ties_it_together_and_is_json_ready():
    plan = P.make_plan()
    area = gpd.GeoDataFrame(geometry=[shapely.box(524000, 177000, 528500, 181500)], crs=27700)
    units = grid_controls(candidate_polygons(plan), area)
    st1 = units.iloc[0].geometry.centroid
    before = pd.DataFrame({"x": [st1.x] * 8 + [524100.0] * 50, "y": [st1.y] * 8 + [177100.0] * 50,
                           "category": "shoplifting"})
    after = pd.DataFrame({"x": [st1.x] * 2 + [524100.0] * 50, "y": [st1.y] * 2 + [177100.0] * 50,
                          "category": "shoplifting"})
    logs = pd.DataFrame([{"agent_id": "W01", "candidate_id": plan["assignments"][0]["candidate_id"],
                          "date": "2026-11-23", "shift": "early", "visits": 2, "minutes": 30}])
    rv = review_week(plan, units=units, area=area, before=before, after=after, before_weeks=4, after_weeks=1,
                     logs=logs)
    d = json.loads(json.dumps(rv.to_dict(), allow_nan=False))
    assert d["week"] == P.WEEK
    assert d["delivery"]["totals"]["delivered_visits"] == 2
    assert d["displacement"]["incidents"]["Rb"] == 8 and d["displacement"]["incidents"]["Ca"] == 50
    # R fell 8 -> 2 against a flat control: success measure 2/50 - 8/50 < 0; buffer empty both times -> WDQ 0
    assert d["displacement"]["incidents"]["band"] == "none"
    assert any(r["measure"] == "incidents" and r["place_type"] == "street" for r in d["comparison"]["summary"])
