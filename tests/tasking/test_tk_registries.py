"""One registry per family: hotspot methods, resource kinds, place types, export formats,
the coverage-month rule and the numpy-to-JSON helper.  Each consumer reads the registry, so
changing an entry changes every consumer the same way (tested below by editing a registry)."""

from __future__ import annotations

import dataclasses
from typing import get_args

import _tk_builders as B
import numpy as np
import pandas as pd
import pytest

from spatial._errors import SchemaError
from spatial.analysis import (
    HOTSPOT_METHODS,
    compute_hotspots,
    covered_months,
    run_hotspot_method,
)
from tasking import kinds as K
from tasking._errors import TaskingError
from tasking.allocation import build_problem, solve
from tasking.check import check_plan
from tasking.greedy import greedy

WEEK = "2026-W48"


# ----------------------------------------------------------------------------
# hotspot methods
# ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def points():
    """Synthetic incidents: a dense cluster and a sparse background inside a 2 km square (BNG metres)."""
    import geopandas as gpd
    import shapely

    rng = np.random.default_rng(7)
    x0, y0 = 525000.0, 178000.0
    dense = rng.normal([x0 + 600, y0 + 600], 40, size=(150, 2))
    sparse = rng.uniform([x0, y0], [x0 + 2000, y0 + 2000], size=(150, 2))
    xy = np.vstack([dense, sparse])
    inc = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "month": "2018-06", "category": "burglary"})
    area = gpd.GeoDataFrame({"name": ["sq"]}, geometry=[shapely.box(x0, y0, x0 + 2000, y0 + 2000)], crs=27700)
    return inc, area


@pytest.mark.parametrize("name", sorted(HOTSPOT_METHODS))
def test_every_hotspot_method_runs_through_the_registry(points, name):
    inc, area = points
    spec = HOTSPOT_METHODS[name]
    res, grid = run_hotspot_method(name, inc, area, weights=None, cell_size_m=150.0)
    assert (grid is not None) == spec.on_grid
    assert res["is_hotspot"].any()
    if spec.on_grid:  # one row per cell: the background cells are not hotspots (DBSCAN returns clusters only)
        assert len(res) == len(grid) and not res["is_hotspot"].all()
    # the densest point of the data lies in a hotspot of every method
    hot = res[res["is_hotspot"]].geometry.union_all()
    import shapely

    assert hot.contains(shapely.Point(525600.0, 178600.0)) or hot.distance(shapely.Point(525600.0, 178600.0)) < 150


def test_compute_hotspots_is_the_registry_run(points):
    inc, area = points
    from spatial.grids import square_grid
    from spatial.hotspots import kde

    via = compute_hotspots(inc, area, method="kde", cell_size_m=150.0)
    direct = kde(inc, square_grid(area, cell_size_m=150.0), weights=None)
    assert np.array_equal(via["is_hotspot"].to_numpy(), direct["is_hotspot"].to_numpy())
    assert np.allclose(via["density"].to_numpy(), direct["density"].to_numpy())


def test_unknown_or_disallowed_methods_name_the_allowed_ones(points):
    inc, area = points
    with pytest.raises(SchemaError, match=r'"nope" but is expected to be one of \["kde", "gistar", "dbscan"\]'):
        run_hotspot_method("nope", inc, area, weights=None)
    from tasking.pipeline import PLAN_METHODS, plan_hotspots

    assert PLAN_METHODS == tuple(n for n, m in HOTSPOT_METHODS.items() if m.plannable) == ("kde", "gistar")
    with pytest.raises(TaskingError, match=r'method was "dbscan" but is expected to be one of \["kde", "gistar"\]'):
        plan_hotspots(inc, area, method="dbscan", cell_size_m=150.0, hotspot_share=0.05, harm_index="cchi", seed=1)


def test_the_command_line_offers_the_registrys_methods():
    import argparse

    from hotspot_cli import allocate, hotspots, recommend

    for mod, expected in ((hotspots, [*HOTSPOT_METHODS, "emerging"]), (allocate, ["kde", "gistar"]),
                          (recommend, list(HOTSPOT_METHODS))):
        sub = argparse.ArgumentParser().add_subparsers()
        p = mod.add_parser(sub)
        action = next(a for a in p._actions if a.dest == "method")
        assert list(action.choices) == expected, mod.__name__


# ----------------------------------------------------------------------------
# resource kinds
# ----------------------------------------------------------------------------
def test_resource_kinds_say_who_counts_for_which_rule():
    assert set(K.RESOURCE_KINDS) == set(get_args(__import__("tasking.resources", fromlist=["AgentKind"]).AgentKind))
    assert K.kinds_where("on_duty_minimum") == {"warden"}
    assert K.kinds_where("park_presence") == {"parks_police"}
    assert K.kinds_where("ward_presence_places") == {"warden"}
    assert K.RESOURCE_KINDS["warden"].ward_presence_places == {"street", "estate"}
    with pytest.raises(KeyError, match="expected to be one of"):
        K.resource_kind("dog_warden")


def _on_duty_instance(wardens: int):
    roster = B.make_roster(wardens=wardens, parks_officers=1, shifts=("early",), min_on_duty=2, contracted_hours=60)
    cands = [B.Cand("A", harm={(d, "early"): 5.0 for d in range(7)}),
             B.Cand("P", place_type="park", dx=300, harm={(d, "early"): 1.0 for d in range(7)})]
    return build_problem(roster, B.make_candidates(cands), week=WEEK, wards=B.make_wards(), presence="none",
                         park_min_visits_per_day=0)


def test_solver_greedy_and_checker_read_the_same_registry(monkeypatch):
    """Two must be on duty every day.  Today only wardens count; when the registry says parks police
    count too, the MILP, the greedy baseline and the checker all change together."""
    from tasking._errors import InfeasibleAllocationError

    prob = _on_duty_instance(wardens=2)
    alloc = solve(prob, time_limit_s=30)
    assert check_plan(prob, alloc.assignments, alloc.duty).ok
    keep = ["W1", "PP01"]  # one warden and the parks officer
    duty = alloc.duty[alloc.duty["agent_id"].isin(keep)]
    asg = alloc.assignments[alloc.assignments["agent_id"].isin(keep)]
    assert set(duty.loc[duty["agent_id"] == "PP01", "day"]) == {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
    chk = check_plan(prob, asg, duty)
    assert not chk.ok and any("wardens on duty" in v for v in chk.violations)
    with pytest.raises(InfeasibleAllocationError, match="wardens on duty"):
        solve(_on_duty_instance(wardens=1), time_limit_s=30)

    monkeypatch.setitem(K.RESOURCE_KINDS, "parks_police",
                        dataclasses.replace(K.RESOURCE_KINDS["parks_police"], on_duty_minimum=True))
    assert check_plan(prob, asg, duty).ok  # the checker now counts the parks officer
    one = _on_duty_instance(wardens=1)
    alloc1 = solve(one, time_limit_s=30)  # and the MILP can meet "2 on duty" with W1 + PP01
    assert set(alloc1.duty["agent_id"]) == {"W1", "PP01"} and len(alloc1.duty) == 14
    assert check_plan(one, alloc1.assignments, alloc1.duty).ok
    g = greedy(one)
    assert check_plan(one, g.assignments, g.duty).ok and len(g.duty) == 14


# ----------------------------------------------------------------------------
# place types, export formats
# ----------------------------------------------------------------------------
def test_one_place_type_registry():
    from tasking import design_out, places, resources

    assert design_out.PLACE_TYPES is places.PLACE_TYPES
    assert resources.PATROL_PLACE_TYPES is places.PATROL_PLACE_TYPES
    assert places.PATROL_PLACE_TYPES == ("street", "estate", "park")
    assert places.PLACE_TYPES == ("street", "estate", "park", "commercial", "transport")
    assert set(places.PATROL_PLACE_TYPES) < set(places.PLACE_TYPES)
    d = B.roster_dict()
    d["wardens"]["jurisdiction"] = ["street", "commercial"]
    with pytest.raises(TaskingError, match=r"wardens\.jurisdiction must list place types from \['street', "
                                           r"'estate', 'park'\]"):
        from tasking.resources import roster_from_mapping

        roster_from_mapping(d, where="t")


def test_one_export_format_registry(tmp_path):
    import argparse

    from hotspot_cli import meeting
    from tasking import formats, records
    from tasking.pack import export_pack

    assert formats.EXPORT_KINDS == ("pdf", "html", "csv", "geojson", "gpkg") == tuple(get_args(formats.ExportKind))
    assert records.EXPORT_KINDS is formats.EXPORT_KINDS
    assert formats.DOCUMENT_FORMATS == ("pdf", "html")
    sub = argparse.ArgumentParser().add_subparsers()
    p = meeting.add_parser(sub)
    assert list(next(a for a in p._actions if a.dest == "format").choices) == list(formats.EXPORT_KINDS)
    buttons = sorted(formats.EXPORT_FORMATS.values(), key=lambda f: f.button_order)
    assert [f.name for f in buttons] == ["html", "csv", "geojson", "gpkg", "pdf"]  # the Tasking page's order
    with pytest.raises(TaskingError, match=r'"docx" but is expected to be one of \["pdf", "html", "csv", "geojson", '
                                           r'"gpkg"\]'):
        export_pack({}, tmp_path / "x.docx", format="docx", user="u", role="analyst", engine=None)
    # the --out suffixes come from the same registry, one message listing the formats
    assert formats.format_for_path("a.GPKG", allowed=("geojson", "gpkg")) == "gpkg"
    with pytest.raises(TaskingError, match=r"--out was 'a\.xlsx'; give a file ending \.geojson or \.json "
                                           r"\(GeoJSON \(EPSG:4326\)\) or \.gpkg \(GeoPackage \(EPSG:27700\)\) or \.csv"):
        formats.format_for_path("a.xlsx", allowed=("geojson", "gpkg", "csv"))


# ----------------------------------------------------------------------------
# coverage months, numpy to JSON
# ----------------------------------------------------------------------------
def test_one_coverage_rule_for_plans_overview_and_review():
    from tasking.pipeline import coverage_months
    from ui.overview import covered_months as overview_rule
    from ui.review import thin_months

    counts = {"2018-04": 9, "2018-05": 10, "2018-06": 100, "2018-07": 55}
    inc = pd.DataFrame({"month": [m for m, n in counts.items() for _ in range(n)]})
    assert covered_months(counts) == ["2018-05", "2018-06", "2018-07"]  # 10 is a tenth of 100: covered
    assert overview_rule(pd.Series(counts)) == covered_months(counts)
    assert coverage_months(inc, 2) == ["2018-06", "2018-07"] and coverage_months(inc, 9) == covered_months(counts)
    assert thin_months(counts, list(counts)) == ["2018-04"]
    assert covered_months({}) == [] and thin_months({}, ["2018-06"]) == []


def test_numpy_to_json_helper_is_used_for_plans():
    import json

    from spatial.jsonable import plain, plain_records, py_scalar

    df = pd.DataFrame({"a": np.array([1, 2], dtype="int64"), "b": [np.nan, 2.5], "c": ["x", None]})
    recs = plain_records(df, nan=True)
    assert recs == [{"a": 1, "b": None, "c": "x"}, {"a": 2, "b": 2.5, "c": None}]
    assert all(type(r["a"]) is int for r in recs)
    json.dumps(recs, allow_nan=False)  # nothing numpy or NaN is left
    assert py_scalar(np.float64("inf")) == float("inf") and py_scalar(np.float64("inf"), inf=True) is None
    assert plain({"k": (np.int32(1),)}) == {"k": [1]}
