"""The CCTV planning page (AppTest) and its pure helpers.

The store holds the real police.uk RBKC file of June 2018.  Camera sites and
fixed cameras come from ``tests/data/roster_cctv_HANDMADE.yaml`` (8 invented
sites, 2 invented fixed cameras; tests/data/README.md) and the cameras in place
from ``tests/data/cctv_deployed_HANDMADE.csv``.  Coverage figures are
recomputed here with plain distances (numpy), not with the page's code.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _apptest import assert_ok as _ok
from _apptest import frame as _frame
from _apptest import map_labels, open_page, street_counts
from _apptest import metric_number as _metric
from streamlit.testing.v1 import AppTest

from hotspot_cli.main import main as cli_main
from spatial.datasets import load_wards
from spatial.store import connect
from spatial.store.queries import incident_frame
from tasking._errors import TaskingError
from tasking.candidates import cctv_demand
from tasking.resources import CameraSite, load_roster
from ui import cctv, maps, planning, state
from ui.text import md_unescape

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
JUNE = REPO / "data" / "policeuk" / "rbkc_api_2018-06"
ROSTER = REPO / "tests" / "data" / "roster_cctv_HANDMADE.yaml"
DEPLOYED = REPO / "tests" / "data" / "cctv_deployed_HANDMADE.csv"
PAGE = "ui/pages/cctv.py"
TODAY = dt.date(2026, 11, 23)  # the moves are for 2026-W49
RBKC = "E09000020"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('cctv') / 'hotspot.sqlite'}"
    assert cli_main(["--database", url, "ingest", str(JUNE), "--quiet"]) == 0
    return url


@pytest.fixture(scope="module")
def demand(store: str) -> pd.DataFrame:
    """Monitored-hours harm per week on 50 m cells from the non-sensitive June incidents (one month)."""
    inc = incident_frame(connect(store))
    inc = inc[inc["ward_code"].isin(set(load_wards((RBKC,))["ward_code"])) & (inc["month"] == "2018-06")]
    ros = load_roster(ROSTER)
    return cctv_demand(inc, monitored=ros.fixed_cctv.monitored, planning=ros.planning, window_weeks=365.25 / 12 / 7)  # the plan's scale


def _page(url: str, monkeypatch: pytest.MonkeyPatch, *, roster: Path | None = ROSTER, **session: Any) -> AppTest:
    return open_page(url, PAGE, monkeypatch, today=TODAY, roster=roster, timeout_s=180, **session)


def _within(d: pd.DataFrame, x: float, y: float, r: float) -> np.ndarray:
    return np.hypot(d["x"].to_numpy() - x, d["y"].to_numpy() - y) <= r


def _fixed_mask(d: pd.DataFrame) -> np.ndarray:
    ros = load_roster(ROSTER)
    m = np.zeros(len(d), bool)
    for f in ros.fixed_cctv.cameras:
        m |= _within(d, f.x, f.y, ros.fixed_cctv.coverage_radius_m)
    return m


def _uncovered_at(d: pd.DataFrame, x: float, y: float) -> float:
    w = d["harm_monitored_week"].to_numpy()
    return float(w[_within(d, x, y, 100.0) & ~_fixed_mask(d)].sum())


def test_sites_are_ranked_by_harm_no_fixed_camera_covers(store: str, demand: pd.DataFrame,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(store, monkeypatch)
    ranking = _frame(at, "Rank")
    ros = load_roster(ROSTER)
    expected = sorted(((round(_uncovered_at(demand, s.x, s.y), 1), s.site_id) for s in ros.deployable_cctv.sites),
                      key=lambda t: (-t[0], t[1]))
    assert list(zip(ranking["Uncovered harm /wk"], ranking["Site"], strict=True)) == expected
    # each site also in words: the streets around it and its ward (RBKC's wards are named in the ward column)
    assert ranking["Where"].str.endswith(" ward").all() and ranking["Where"].is_unique, ranking["Where"].tolist()
    assert not ranking["Where"].isin(ranking["Site"]).any()
    # S-02 (Earl's Court Road) sits 50 m from fixed camera F-01: most of its harm is already covered
    s02 = ranking.set_index("Site").loc["S-02"]
    assert s02["Covered by fixed /wk"] > 10 * s02["Uncovered harm /wk"]
    w = demand["harm_monitored_week"].to_numpy()
    assert _metric(at, "Harm per week") == pytest.approx(round(w.sum(), 1))
    assert _metric(at, "Covered by fixed CCTV") == pytest.approx(round(w[_fixed_mask(demand)].sum(), 1))
    assert not [e for e in at.warning if "No camera mounting sites" in e.value]


def test_what_if_a_ticked_site_and_typed_coordinates_change_the_covered_harm(store: str, demand: pd.DataFrame,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(store, monkeypatch)
    before = _metric(at, "Uncovered")
    at.multiselect(key=state.CCTV_WHATIF_SITES).set_value(["S-07"]).run()
    _ok(at)
    adds = _uncovered_at(demand, 524300.0, 181300.0)
    assert adds > 0
    assert _metric(at, "Covered by deployable cameras") == pytest.approx(round(adds, 1), abs=0.05)
    assert _metric(at, "Uncovered") == pytest.approx(round(before - adds, 1), abs=0.05)

    # a camera typed 40 m from S-07 adds only what S-07 does not already cover
    at.number_input(key=state.CCTV_WHATIF_X).set_value(524340.0)
    at.number_input(key=state.CCTV_WHATIF_Y).set_value(181300.0)
    at.button(key=state.CCTV_WHATIF_ADD).click().run()
    _ok(at)
    w = demand["harm_monitored_week"].to_numpy()
    free = ~_fixed_mask(demand)
    both = (_within(demand, 524300.0, 181300.0, 100) | _within(demand, 524340.0, 181300.0, 100)) & free
    assert _metric(at, "Covered by deployable cameras") == pytest.approx(round(float(w[both].sum()), 1), abs=0.05)
    per = _frame(at, "Camera").set_index("Camera")
    assert per.loc["typed-1", "Adds /wk"] == pytest.approx(
        round(float(w[both & ~_within(demand, 524300.0, 181300.0, 100)].sum()), 1), abs=0.05)

    # a point outside the borough is refused with a message, not a traceback
    at.number_input(key=state.CCTV_WHATIF_X).set_value(400000.0)
    at.number_input(key=state.CCTV_WHATIF_Y).set_value(300000.0)
    at.button(key=state.CCTV_WHATIF_ADD).click().run()
    _ok(at)
    assert any("typed-2 at (400000, 300000) is outside the borough" in md_unescape(e.value) for e in at.error)
    at.button(key=state.CCTV_WHATIF_CLEAR).click().run()
    _ok(at)
    assert at.session_state[state.CCTV_EXTRA_SITES] == []


def test_redeploy_list_respects_the_minimum_term(store: str, demand: pd.DataFrame,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(store, monkeypatch)
    at.get("file_uploader")[0].set_value(("deployed.csv", DEPLOYED.read_bytes(), "text/csv")).run()
    _ok(at)
    moves = _frame(at, "Camera").set_index("Camera")
    # CAM01 at S-03 since 2026-W44: 5 weeks by 2026-W49, free to move; CAM02 at S-08 since 2026-W48: 1 week
    assert moves.loc["CAM01", "Weeks served"] == 5 and bool(moves.loc["CAM01", "Can move"])
    assert moves.loc["CAM02", "Advice"] == "stays: inside its minimum term (1 of 4 weeks served)"
    ros = load_roster(ROSTER)
    pos = {s.site_id: s for s in ros.deployable_cctv.sites}
    staying = _within(demand, pos["S-08"].x, pos["S-08"].y, 100)
    w = demand["harm_monitored_week"].to_numpy()
    free_sites = [s for s in ros.deployable_cctv.sites if s.site_id not in ("S-03", "S-08")]
    best = max(free_sites, key=lambda s: (float(w[_within(demand, s.x, s.y, 100) & ~_fixed_mask(demand)
                                                   & ~staying].sum()), -int(s.site_id[2:])))
    assert moves.loc["CAM01", "Move to"] == best.site_id
    assert moves.loc["CAM01", "Harm caught now /wk"] == pytest.approx(round(_uncovered_at(demand, pos["S-03"].x,
                                                                                         pos["S-03"].y), 1))
    # the cameras in place count in the what-if
    assert _metric(at, "Covered by deployable cameras") == pytest.approx(round(float(
        w[(_within(demand, pos["S-03"].x, pos["S-03"].y, 100) | staying) & ~_fixed_mask(demand)].sum()), 1),
        abs=0.05)
    script = json.loads(at.get("component_instance")[0].proto.json_args)["script"]
    assert script.count("L.circle(") == 2 + 2  # two fixed cameras, two cameras in place
    for name in maps.CCTV_LAYERS:
        assert json.dumps(name) in script, name


def test_a_broken_deployed_file_gets_a_message_naming_row_and_column(store: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(store, monkeypatch)
    bad = b"camera_id,site_id,since_week\nCAM01,S-03,2026-W44\nCAM02,S-99,2026-W60\n"
    at.get("file_uploader")[0].set_value(("cams.csv", bad, "text/csv")).run()
    _ok(at)
    (error,) = [md_unescape(e.value) for e in at.error]
    assert error.startswith("The deployed-cameras file was not read: cams.csv: row 2, column since_week:")
    assert "2026-W60" in error
    assert not any(d.value.columns[0] == "Camera" and "Advice" in d.value.columns for d in at.dataframe)


def test_without_sites_the_page_says_so_and_proposes_hot_cells(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(store, monkeypatch, roster=None)  # the bundled roster: no sites, no fixed cameras
    assert any("No camera mounting sites are loaded" in w.value for w in at.warning)
    assert any(c.value.strip() == cctv.ROSTER_EXAMPLE.strip() for c in at.code)
    assert any("Fixed camera positions are not loaded" in i.value for i in at.info)
    ranking = _frame(at, "Rank")
    assert len(ranking) == 15 and set(ranking["Source"]) == {cctv.PROPOSED_SOURCE}
    assert (ranking["Covered by fixed /wk"] == 0).all()
    script = json.loads(at.get("component_instance")[0].proto.json_args)["script"]
    assert script.count("L.circleMarker(") == 15 and script.count("L.circle(") == 0
    assert any("The weekly plan places its deployable cameras on these same sites" in w.value for w in at.warning)

    # the weekly plan on the same store and roster puts its cameras on sites of this list, and its CCTV figure is
    # the page's what-if figure for those cameras: one set of sites, one harm scale (issue 15 item 9)
    ros = load_roster(planning.roster_path())
    plan = planning.build_plan(planning.read_inputs(connect(store), borough=RBKC), roster=ros, week="2026-W49").plan
    assert plan is not None
    ranked = ranking.set_index("Site")
    placed = [c for c in plan["cameras"] if c.get("site_id")]
    assert placed and {c["site_id"] for c in placed} <= set(ranked.index)
    for c in placed:
        assert (c["x"], c["y"]) == (ranked.loc[c["site_id"], "x"], ranked.loc[c["site_id"], "y"])
    page_demand = cctv.demand_for(
        planning.read_inputs(connect(store), borough=RBKC).incidents, roster=ros,
        window_weeks=365.25 / 12 / 7)  # one month, on the plan's scale
    figure = cctv.what_if(page_demand, [(c["site_id"], c["x"], c["y"]) for c in placed], fixed=[],
                          radius_m=ros.deployable_cctv.coverage_radius_m, fixed_radius_m=1.0)
    assert plan["cctv_objective"] == pytest.approx(figure.covered_cameras, rel=1e-6)


def test_no_sensitive_incident_is_in_the_demand_or_on_the_map(store: str, demand: pd.DataFrame,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(store, monkeypatch)
    every = incident_frame(connect(store), include_sensitive=True)
    sensitive = every[every["sensitive"].astype(bool)]
    assert len(sensitive) > 100
    script = json.loads(at.get("component_instance")[0].proto.json_args)["script"]
    shown = script + "\n".join(d.value.to_csv() for d in at.dataframe)
    for _, row in sensitive.head(200).iterrows():
        assert str(row["incident_id"]) not in shown
        assert f"{row['lon']:.6f}, {row['lat']:.6f}" not in shown and f"[{row['lat']:.6f}, {row['lon']:.6f}]" \
            not in shown
    # the page's total harm is the non-sensitive demand's (sensitive rows would add CCHI days)
    assert _metric(at, "Harm per week") == pytest.approx(round(float(demand["harm_monitored_week"].sum()), 1))


def test_pure_helpers() -> None:
    d = pd.DataFrame({"x": [0.0, 60.0, 500.0], "y": [0.0, 0.0, 0.0], "harm_monitored_week": [2.0, 3.0, 5.0]})
    rank = cctv.site_ranking(d, [CameraSite("A", 0.0, 0.0), CameraSite("B", 500.0, 0.0)],
                             fixed=[CameraSite("F", 100.0, 0.0)], radius_m=100, fixed_radius_m=50)
    assert rank[["site_id", "uncovered_harm", "covered_by_fixed"]].values.tolist() == [["B", 5.0, 0.0],
                                                                                      ["A", 2.0, 3.0]]
    with pytest.raises(TaskingError, match="row 1, column site_id"):
        cctv.read_deployed(b"camera_id,site_id,since_week\nC1,NOWHERE,2026-W40\n", name="f.csv")
    with pytest.raises(TaskingError, match="columns \\['since_week'\\] are missing"):
        cctv.read_deployed(b"camera_id,site_id\nC1,S\n", name="f.csv")
    got = cctv.read_deployed(b"camera_id,site_id,since_week,x,y\nC1,NEW,2026-W40,525000,179000\n", name="f.csv")
    assert (got[0].site_id, got[0].x, got[0].y) == ("NEW", 525000.0, 179000.0)


def test_the_cctv_map_names_busy_streets_five_incidents_or_more_for_the_cctv_role(store: str,
                                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                                  ) -> None:
    wards = load_wards(("E09000020",))
    counts = street_counts(store, tuple(wards.total_bounds))
    for role, floor in (("chair", 1), ("cctv", 5)):
        at = open_page(store, PAGE, monkeypatch, today=TODAY, roster=ROSTER, role=role, timeout_s=180)
        script = json.loads(at.get("component_instance")[0].proto.json_args)["script"]
        streets = [t for _, _, t in map_labels(script, maps.STREETS_LAYER)]
        assert streets[0] in set(counts[counts == counts.max()].index), role
        assert all(counts[t] >= floor for t in streets), role
        assert "Colville Terrace" not in streets
        assert {t for _, _, t in map_labels(script, maps.WARD_NAMES_LAYER)} == set(wards["ward_name"])
        assert "L.control.scale" in script
