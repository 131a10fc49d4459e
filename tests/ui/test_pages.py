"""The Tasking, Hotspots and My patrols pages: AppTest on a small real store, and their pure helpers.

The store holds one real police.uk API file (RBKC street crime, June 2018).
"Today" is injected through session state (``ui.state.TODAY``), so the
default week is 2026-W49 whatever the date.  A plan takes about 5 s to build;
the Tasking tests share one build through the Streamlit cache (same store,
same data version, same week), and the My patrols tests use a second store
whose plan is built and approved once, without the page.

AppTest cannot look inside ``st_folium`` (an UnknownElement), but the
component's arguments hold the folium script, so the maps are checked there.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
from _apptest import assert_ok as _ok
from _apptest import folium_script as _folium_script
from _apptest import map_labels, open_page, street_counts
from _apptest import metric as _metric
from _apptest import texts as _texts
from pyproj import Transformer
from shapely.geometry import box
from streamlit.testing.v1 import AppTest

from hotspot_cli.main import main as cli_main
from spatial.datasets import load_wards
from spatial.store import connect
from spatial.store.queries import incident_frame
from tasking import access, records
from tasking.resources import load_roster
from ui import analysis, maps, planning, state, tables
from ui.text import md_unescape

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
SMALL_POLICE_UK = REPO / "data" / "policeuk" / "rbkc_api_2018-06"
APP_TIMEOUT_S = 120
TASKING, HOTSPOTS, PATROLS = "ui/pages/tasking.py", "ui/pages/hotspots.py", "ui/pages/my_patrols.py"
TODAY = dt.date(2026, 11, 23)  # Monday of 2026-W48: the meeting plans 2026-W49
WEEK = "2026-W49"
IN_WEEK = dt.date(2026, 12, 1)  # a Tuesday of 2026-W49: a patroller's "today"
RBKC = "E09000020"
AGENT_ID = re.compile(r"(?<![-\w])(?:W|PP)\d{2}\b")  # not the W49 of "2026-W49"


# --------------------------------------------------------------------------
# fixtures and helpers
# --------------------------------------------------------------------------
def _ingest(tmp: Path) -> str:
    url = f"sqlite:///{tmp / 'hotspot.sqlite'}"
    assert cli_main(["--database", url, "ingest", str(SMALL_POLICE_UK), "--quiet"]) == 0
    return url


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The Tasking and Hotspots pages' store."""
    return _ingest(tmp_path_factory.mktemp("pages"))


@pytest.fixture(scope="module")
def patrol_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any], int]:
    """A second store whose 2026-W49 plan is built and approved without the page: (url, plan, meeting_id)."""
    url = _ingest(tmp_path_factory.mktemp("patrols"))
    engine = connect(url)
    inputs = planning.read_inputs(engine, borough=RBKC)
    outcome = planning.build_plan(inputs, roster=load_roster(planning.roster_path()), week=WEEK)
    assert outcome.plan is not None, outcome.error
    result = records.approve_week_plan(engine, outcome.plan, user="Test Chair")
    return url, outcome.plan, result.meeting_id


def _page(url: str, page: str, monkeypatch: pytest.MonkeyPatch, *, today: dt.date = TODAY,
          user: str | None = None, role: str = "chair", agent_id: str | None = None, **session: Any) -> AppTest:
    return open_page(url, page, monkeypatch, today=today, user=user, role=role, agent_id=agent_id,
                     timeout_s=APP_TIMEOUT_S, **session)


def _built(url: str, monkeypatch: pytest.MonkeyPatch, *, user: str | None = None, **session: Any) -> AppTest:
    at = _page(url, TASKING, monkeypatch, user=user, TASKING_SHOW=True, **session)
    assert at.metric, [e.value for e in at.error]
    return at


def _check_street_labels(script: str, url: str, places_xy: list[tuple[float, float]], *, limit: int,
                         min_n: int) -> list[str]:
    """The map's street labels lie within 300 m of the places' extent, name the busiest street there (by hand),
    at most ``limit`` streets, each with at least ``min_n`` incidents; returns the streets."""
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    labels = [(t, *to_bng.transform(lon, lat)) for lat, lon, t in map_labels(script, maps.STREETS_LAYER)]
    xs, ys = [x for x, _ in places_xy], [y for _, y in places_xy]
    bounds = (min(xs) - 300, min(ys) - 300, max(xs) + 300, max(ys) + 300)
    assert labels, "no street labels"
    assert all(bounds[0] - 1 <= x <= bounds[2] + 1 and bounds[1] - 1 <= y <= bounds[3] + 1 for _, x, y in labels)
    counts = street_counts(url, bounds)
    streets = [t for t, _, _ in labels]
    top = set(counts[counts == counts.max()].index)
    assert top & set(streets), (sorted(top), streets[:5])
    assert len(set(streets)) <= limit
    assert all(counts.get(t, 0) >= min_n for t in streets), [(t, counts.get(t, 0)) for t in streets]
    return streets


# --------------------------------------------------------------------------
# Tasking
# --------------------------------------------------------------------------
def test_tasking_builds_next_weeks_plan_with_summary_and_assignments(store: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(store, TASKING, monkeypatch)
    assert at.selectbox(key=state.TASKING_WEEK_INPUT).value == WEEK
    assert not at.metric and not at.dataframe  # nothing is solved before the chair asks
    at.button(key=state.BUILD_BUTTON).click().run()
    _ok(at)

    objective = float(_metric(at, "Objective").replace(",", ""))
    bound = float(_metric(at, "Bound").replace(",", ""))
    assert 0 < objective <= bound
    assert re.fullmatch(r"\d+\.\d\d%", _metric(at, "Gap"))
    assert re.fullmatch(r"[+-]\d+\.\d%", _metric(at, "Against greedy"))
    text = "\n".join(_texts(at))
    assert f"**Objective**: {objective:,.1f}" in text
    assert re.search(r"\*\*Bound and gap\*\*: bound [\d,.]+, gap \d+\.\d\d%", text)
    assert "**Greedy comparison**: greedy baseline" in text
    assert "Kensington and Chelsea" in text
    # the DEMO and assumption notes of the plan are on the page
    assert "camera sites PROPOSED at the hottest 150 m cells of harm in the monitored hours (the CCTV page's list)" \
        in text
    assert "DEMO parks" in text and "not the council's parks" in text
    assert "time-of-day split" in text and "older than week 2026-W49" in text

    assignments = at.dataframe[0].value
    assert list(assignments.columns) == ["Agent", "Day", "Date", "Shift", "Place", "Type", "Ward (2018 boundaries)", "Visits",
                                         "Minutes", "Why", "Id"]
    # places by name, not id (issue 15): the id is only in the details column
    assert not assignments["Place"].str.contains(r"^(?:ST|PK|WP|ES)-|hot patch|E0\d{7}", regex=True).any()
    assert (assignments["Place"] != assignments["Id"]).all()
    # the plan in plain words comes first, the solver figures behind an expander with a sentence each
    assert text.index("visits to") < text.index("**Objective**")
    assert any("the harm the week's visits are expected to reach" in t for t in _texts(at))
    assert "mip_rel_gap" not in text
    assert len(assignments) > 50
    assert assignments["Why"].str.len().min() > 20
    assert set(assignments["Agent"]) >= {"W01", "PP01"}
    assert set(assignments["Date"]) <= {d.isoformat() for d in records.week_dates(WEEK)}
    # the agent filter narrows the table to one agent
    at.multiselect(key=state.TASKING_AGENT_FILTER).set_value(["W08"]).run()
    only = at.dataframe[0].value
    assert set(only["Agent"]) == {"W08"} and 0 < len(only) < len(assignments)


def test_infeasible_pin_shows_an_error_naming_the_pin_and_can_be_removed(store: str,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    at = _built(store, monkeypatch)
    places = list(at.dataframe[0].value["Id"].unique())  # the details column holds the ids
    park = next(p for p in places if p.startswith("PK-"))
    at.selectbox(key=state.PIN_AGENT).set_value("W01")  # a warden: parks are the parks police's
    at.selectbox(key=state.PIN_CANDIDATE).set_value(park)
    at.selectbox(key=state.PIN_DAY).set_value(2)
    at.selectbox(key=state.PIN_SHIFT).set_value("late")
    at.button(key=state.PIN_SUBMIT).click().run()
    _ok(at)

    errors = [md_unescape(e.value) for e in at.error]
    assert len(errors) == 1
    assert f"pin W01 -> {park} Wed late (1 visit)" in errors[0]
    assert "jurisdiction" in errors[0]
    assert not at.metric and not at.dataframe  # no plan is shown for an infeasible week
    assert f"Pin: W01 -> {park} Wed late (1 visit)" in _texts(at)

    at.button(key=f"{state.UNPIN_PREFIX}0").click().run()
    _ok(at)
    assert not at.error
    assert at.metric and at.session_state[state.TASKING_PINS] == []


def test_a_feasible_pin_and_an_exclusion_change_the_plan(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _built(store, monkeypatch)
    places = list(at.dataframe[0].value["Id"].unique())
    street = next(p for p in places if p.startswith("ST-"))
    assert not any(o.endswith(street) for o in at.selectbox(key=state.EXCLUDE_CANDIDATE).options)  # named, no id
    at.selectbox(key=state.EXCLUDE_CANDIDATE).set_value(street)
    at.button(key=state.EXCLUDE_SUBMIT).click().run()
    _ok(at)
    assert not at.error
    unassigned = at.dataframe[1].value
    assert street in set(unassigned["Id"])
    assert "excluded" in unassigned.set_index("Id").loc[street, "Reason"].lower()


def test_approve_records_the_meeting_and_approval_and_decisions_are_listed(store: str,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    engine = connect(store)
    assert records.find_meeting(engine, week=WEEK, borough=RBKC) is None
    at = _built(store, monkeypatch, user="Cllr A. Chair")  # the signed-in name is recorded on the approval
    shown_objective = _metric(at, "Objective")

    at.button(key=state.APPROVE_BUTTON).click().run()
    _ok(at)
    assert any("Approved: version 1" in s.value for s in at.success)

    meeting_id = records.find_meeting(engine, week=WEEK, borough=RBKC)
    assert meeting_id is not None
    approvals = records.list_approvals(engine, meeting_id)
    assert approvals[["version", "approved_by", "role"]].values.tolist() == [[1, "Cllr A. Chair", "chair"]]
    assert records.get_meeting(engine, meeting_id)["status"] == "approved"
    stored = records.load_plan(engine, meeting_id, 1)
    assert f"{stored['objective']:,.1f}" == shown_objective  # the approved plan is the plan on screen

    at.run()  # a rerun shows the approval and approves nothing twice
    assert any("This plan is approved (version 1)" in s.value for s in at.success)
    assert len(records.list_approvals(engine, meeting_id)) == 1

    assert "No decisions recorded for this meeting yet." in _texts(at)
    place = next(iter(tables.candidate_labels(stored, ward_names={})))
    at.text_area(key=state.DECISION_ACTION).input("Lighting survey of the hot patch with Highways")
    at.text_input(key=state.DECISION_OWNER).input("Highways team")
    at.selectbox(key=state.DECISION_CANDIDATE).set_value(place)
    at.button(key=state.DECISION_SUBMIT).click().run()
    _ok(at)
    assert any(s.value == "Decision added." for s in at.success)
    listed = at.dataframe[-1].value
    assert listed[["Action", "Owner", "Due", "Place", "Status", "Added by"]].values.tolist() == [
        ["Lighting survey of the hot patch with Highways", "Highways team", "2026-12-04", place, "open",
         "Cllr A. Chair"]]
    stored_decisions = records.list_decisions(engine, meeting_id=meeting_id)
    assert stored_decisions["action"].tolist() == ["Lighting survey of the hot patch with Highways"]

    # an empty action is refused with the store's message, not a crash
    at.text_input(key=state.DECISION_OWNER).input("Nobody")
    at.button(key=state.DECISION_SUBMIT).click().run()
    _ok(at)
    assert any("action is empty" in e.value for e in at.error)
    assert len(records.list_decisions(engine, meeting_id=meeting_id)) == 1


def test_an_approved_week_reopens_on_its_approved_version_with_its_exclusion(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 15.3: reopening Tasking for an approved week shows the approved plan, not one rebuilt without pins."""
    url = _ingest(tmp_path)
    engine = connect(url)
    inputs = planning.read_inputs(engine, borough=RBKC)
    roster = load_roster(planning.roster_path())
    first = planning.build_plan(inputs, roster=roster, week=WEEK)
    assert first.plan is not None, first.error
    excluded = next(a["candidate_id"] for a in first.plan["assignments"] if a["candidate_id"].startswith("ST-"))
    chosen = planning.build_plan(inputs, roster=roster, week=WEEK, exclusions=(excluded,))
    assert chosen.plan is not None, chosen.error
    records.approve_week_plan(engine, chosen.plan, user="Test Chair")

    at = _page(url, TASKING, monkeypatch)  # a new session: no Build click, no pins or exclusions of its own
    assert at.session_state[state.TASKING_EXCLUSIONS] == [excluded]
    assert any("Opened on the approved version 1" in c.value for c in at.caption)
    assert any("This plan is approved (version 1)" in s.value for s in at.success)
    assert not any("differs from the approved version" in w.value for w in at.warning)
    assert _metric(at, "Objective") == f"{chosen.plan['objective']:,.1f}"


# --------------------------------------------------------------------------
# Hotspots
# --------------------------------------------------------------------------
def test_hotspots_page_draws_every_layer_from_non_sensitive_incidents(store: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(store, HOTSPOTS, monkeypatch)
    script = _folium_script(at)
    for name in maps.HOTSPOT_LAYERS:
        assert re.search(re.escape(json.dumps(name)) + r"\s*:\s*(feature_group|geo_json)_", script), name
    advice = at.dataframe[0].value
    assert len(advice) > 0 and advice["1st measure"].str.len().min() > 10
    assert not advice["Place"].str.contains(r"hot patch|\bc\d{3,4}_\d{3,4}\b").any()  # streets, not grid ids
    assert all(o.split(". ", 1)[1].rsplit(" (", 1)[0] in set(advice["Place"])
               for o in at.selectbox(key=state.HOTSPOTS_PLACE).options[:5])  # the detail list names them alike
    assert script.count("L.marker(") == len(advice)  # one Designing Out Crime marker per advised place
    assert script.count('"ward_code": "E0500') == 18

    every = incident_frame(connect(store), include_sensitive=True)
    rbkc = set(load_wards((RBKC,))["ward_code"])
    safe = every[every["ward_code"].isin(rbkc) & ~every["sensitive"].astype(bool)]
    assert len(safe) < len(every[every["ward_code"].isin(rbkc)])  # the store does hold sensitive rows
    assert any(c.value.startswith(f"{len(safe):,} non-sensitive incidents, 2018-06") for c in at.caption)
    assert "violent-crime" not in script and "Violence" not in script
    # the chair may download each method's whole result for QGIS (one month: no emerging classes)
    assert at.radio(key=state.HOTSPOTS_GIS_LAYER).options == [analysis.GIS_DOWNLOADS[k] for k in ("gistar", "kde",
                                                                                                    "dbscan")]
    # ... and the Designing Out Crime advice of the places in the table as a spreadsheet
    assert [b.proto.label for b in at.get("download_button")] == ["GeoPackage", "Designing Out Crime advice (CSV)"]
    captions = "\n".join(c.value for c in at.caption)
    assert captions.count("Each download is recorded in the export audit.") == 2
    assert f"for these {len(advice):,} places" in captions


def test_the_tasking_and_hotspots_maps_name_the_streets_of_their_extent(store: str,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    at = _built(store, monkeypatch)
    script = _folium_script(at)
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    drawn = [to_bng.transform(float(lon), float(lat))
             for lat, lon in re.findall(r"L\.circleMarker\(\s*\[([-\d.]+),\s*([-\d.]+)\]", script)]
    assert drawn  # the plan's places
    streets = _check_street_labels(script, store, drawn, limit=40, min_n=1)
    assert "Colville Terrace" not in streets  # only violence and sexual offences: never named
    assert "L.control.scale" in script and map_labels(script, maps.WARD_NAMES_LAYER)

    at = _page(store, HOTSPOTS, monkeypatch)
    script = _folium_script(at)
    labels = [t for _, _, t in map_labels(script, maps.STREETS_LAYER)]
    counts = street_counts(store, tuple(load_wards((RBKC,)).total_bounds))
    assert labels[0] in set(counts[counts == counts.max()].index)  # the borough's busiest street, by hand
    assert "Colville Terrace" not in labels
    assert {t for _, _, t in map_labels(script, maps.WARD_NAMES_LAYER)} == set(load_wards((RBKC,))["ward_name"])
    assert "L.control.scale" in script


def test_hotspots_category_group_filter_recomputes_the_layers(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(store, HOTSPOTS, monkeypatch)
    before = _folium_script(at)
    at.multiselect(key=state.HOTSPOTS_GROUPS).set_value(["burglary"]).run()
    _ok(at)
    after = _folium_script(at)
    assert after != before
    incidents = incident_frame(connect(store))
    in_rbkc = incidents["ward_code"].isin(set(load_wards((RBKC,))["ward_code"]))
    n_burglary = int((in_rbkc & (incidents["category"] == "burglary")).sum())
    assert 0 < n_burglary < int(in_rbkc.sum())
    assert any(c.value.startswith(f"{n_burglary:,} non-sensitive incidents") for c in at.caption)
    assert "anti-social-behaviour" not in after  # cluster categories come from burglaries only


# --------------------------------------------------------------------------
# My patrols
# --------------------------------------------------------------------------
def _busiest_warden(plan: dict[str, Any]) -> str:
    counts = pd.Series([a["agent_id"] for a in plan["assignments"] if a["agent_id"].startswith("W")]).value_counts()
    return str(counts.index[0])


def test_my_patrols_shows_only_the_chosen_agents_patrols(patrol_store, monkeypatch: pytest.MonkeyPatch) -> None:
    url, plan, _ = patrol_store
    agent = _busiest_warden(plan)
    at = _page(url, PATROLS, monkeypatch, today=IN_WEEK)  # the chair may look at any agent's patrols
    assert "Choose an agent to see their patrols for the week." in _texts(at)
    at.selectbox(key=state.PATROL_AGENT_INPUT).set_value(agent).run()
    _ok(at)
    assert at.selectbox(key=state.PATROL_WEEK).value == WEEK

    shown = _texts(at)
    mine = [a for a in plan["assignments"] if a["agent_id"] == agent]
    visit_lines = [t for t in shown if re.search(r"\d+ visits?, about \d+ min$", t)]
    assert len(visit_lines) == len(mine)
    links = [e.proto.url for e in at.get("link_button")]  # a "Directions" link per place, for the phone's map app
    assert len(links) == len(mine)
    assert all(re.fullmatch(r"https://www\.google\.com/maps/dir/\?api=1&destination=51\.\d{5},-0\.\d{5}", u)
               for u in links), links[:3]
    # the places by name, with a plain reason: no solver figures
    assert not any("marginal value" in t or "priority " in t for t in shown)
    assert not any(re.search(r"\b(?:ST|PK|WP|ES)-", t) for t in shown)
    others = {m for t in shown for m in AGENT_ID.findall(t)} - {agent}
    assert others == set(), f"other agents on {agent}'s page: {others}"
    assert not at.dataframe  # no wide tables on a phone page
    script = _folium_script(at)
    assert script.count("L.circleMarker(") == len({a["candidate_id"] for a in mine})


def test_a_wardens_phone_map_names_a_dozen_busy_streets_around_their_places(patrol_store,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    url, plan, _ = patrol_store
    agent = _busiest_warden(plan)
    at = _page(url, PATROLS, monkeypatch, today=IN_WEEK, user=f"Warden {agent}", role="warden", agent_id=agent)
    places = planning.agent_places(plan, agent)
    script = _folium_script(at)
    # a warden does not see incident points: a street needs 5 incidents before the map names it
    xy = list(zip(places["x"], places["y"], strict=True))
    streets = _check_street_labels(script, url, xy, limit=maps.PHONE_STREETS, min_n=5)
    # the floor is what left the quiet streets out: the busiest street with fewer than five is not named
    counts = street_counts(url, (min(x for x, _ in xy) - 300, min(y for _, y in xy) - 300,
                                 max(x for x, _ in xy) + 300, max(y for _, y in xy) + 300))
    quiet = counts[counts < 5]
    assert len(quiet) and quiet.index[0] not in streets
    assert "L.control.scale" in script


def test_logging_a_patrol_writes_a_patrol_log_checked_against_the_plan(patrol_store,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    url, plan, meeting_id = patrol_store
    agent = _busiest_warden(plan)
    first = planning.agent_assignments(plan, agent).iloc[0]
    before = len(records.list_patrol_logs(connect(url), meeting_id))
    at = _page(url, PATROLS, monkeypatch, today=IN_WEEK, user=f"Warden {agent}", role="warden", agent_id=agent)
    assert state.PATROL_AGENT_INPUT not in [s.key for s in at.selectbox]  # a warden's id comes from the account
    at.text_input(key=state.PATROL_NOTE).input("Quiet; spoke to two shopkeepers")
    at.button(key=state.PATROL_SUBMIT).click().run()
    _ok(at)
    assert any(s.value.startswith("Logged (in the approved plan") for s in at.success)

    logs = records.list_patrol_logs(connect(url), meeting_id)
    assert len(logs) == before + 1
    row = logs.iloc[-1]
    assert (row["agent_id"], row["candidate_id"], row["date"], row["shift"]) == (
        agent, first["candidate_id"], first["date"], first["shift"])
    assert int(row["visits"]) == int(first["visits"]) and bool(row["planned"])
    assert row["note"] == "Quiet; spoke to two shopkeepers" and row["logged_by"] == f"Warden {agent}"
    assert any("(planned)" in t for t in _texts(at))


def test_a_warden_logs_a_planned_visit_with_one_tap(patrol_store, monkeypatch: pytest.MonkeyPatch) -> None:
    url, plan, meeting_id = patrol_store
    agent = _busiest_warden(plan)
    rows = planning.agent_assignments(plan, agent)
    before = len(records.list_patrol_logs(connect(url), meeting_id))
    at = _page(url, PATROLS, monkeypatch, today=IN_WEEK, user=f"Warden {agent}", role="warden", agent_id=agent)
    done = [b for b in at.button if str(b.key).startswith(state.PATROL_DONE_PREFIX)]
    assert len(done) == len(rows)
    # today's shifts come first
    first_day = next(s.value for s in at.subheader if re.match(r"(Today, )?\w{3} \d+ \w{3}$", str(s.value)))
    if IN_WEEK.isoformat() in set(rows["date"]):
        assert first_day.startswith("Today, ")
    key = done[0].key
    date, shift, cid = key.removeprefix(state.PATROL_DONE_PREFIX).split(".", 2)
    at.button(key=key).click().run()
    _ok(at)
    assert any(s.value.startswith("Logged (in the approved plan") for s in at.success)
    logs = records.list_patrol_logs(connect(url), meeting_id)
    assert len(logs) == before + 1
    row = logs.iloc[-1]
    planned = rows[(rows["date"] == date) & (rows["shift"] == shift) & (rows["candidate_id"] == cid)].iloc[0]
    assert (row["agent_id"], row["candidate_id"], str(row["date"]), row["shift"]) == (agent, cid, date, shift)
    assert int(row["visits"]) == int(planned["visits"]) and bool(row["planned"])


def test_my_patrols_says_so_when_the_week_has_no_approved_plan(patrol_store,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    url, _, _ = patrol_store
    at = _page(url, PATROLS, monkeypatch, today=TODAY, PATROL_AGENT="W01")
    assert at.selectbox(key=state.PATROL_WEEK).value == "2026-W48"
    assert [w.value for w in at.warning] == [
        "There is no approved plan for 2026-W48 (Mon 23 Nov to Sun 29 Nov 2026) yet. The chair approves the plan "
        "at the weekly tasking meeting; until then no patrols are tasked for this week."]
    assert not at.get("component_instance") and [b.key for b in at.button] == [state.SIGN_OUT_BUTTON]


# --------------------------------------------------------------------------
# pure helpers and the export audit
# --------------------------------------------------------------------------
def test_weeks_and_today() -> None:
    assert planning.next_week(dt.date(2026, 11, 29)) == "2026-W49"  # a Sunday plans the week after next Monday
    assert planning.next_week(dt.date(2026, 11, 30)) == "2026-W50"
    assert planning.next_week(dt.date(2026, 12, 28)) == "2027-W01"
    assert planning.week_choices(TODAY, before=1, after=1) == ["2026-W47", "2026-W48", "2026-W49"]
    assert state.today({state.TODAY: "2026-11-23"}) == TODAY
    assert state.today({}, clock=lambda: dt.date(2030, 5, 1)) == dt.date(2030, 5, 1)
    with pytest.raises(ValueError, match="ISO text"):
        state.today({state.TODAY: "23/11/2026"})
    assert planning.patrol_weeks(TODAY, {"2026-W10"}, before=0, after=0) == ["2026-W48", "2026-W10"]


def test_agent_assignments_keep_one_agents_rows_only() -> None:
    plan = {"candidates": [{"candidate_id": "C1", "name": "Patch one", "x": 1.0, "y": 2.0},
                           {"candidate_id": "C2", "name": "Patch two", "x": 3.0, "y": 4.0}],
            "assignments": [
                {"agent_id": "W02", "candidate_id": "C2", "date": "2026-12-01", "day": "Tue", "shift": "late",
                 "visits": 2, "minutes": 50.0, "why": "b"},
                {"agent_id": "W01", "candidate_id": "C1", "date": "2026-12-01", "day": "Tue", "shift": "late",
                 "visits": 1, "minutes": 25.0, "why": "a"},
                {"agent_id": "W01", "candidate_id": "C1", "date": "2026-11-30", "day": "Mon", "shift": "early",
                 "visits": 3, "minutes": 75.0, "why": "c"}],
            "duty": [{"agent_id": "W02", "date": "2026-12-01", "day": "Tue", "shift": "late"}]}
    mine = planning.agent_assignments(plan, "W01")
    assert mine[["date", "shift", "name", "visits"]].values.tolist() == [
        ["2026-11-30", "early", "Patch one", 3], ["2026-12-01", "late", "Patch one", 1]]
    assert planning.agent_places(plan, "W01")[["candidate_id", "visits"]].values.tolist() == [["C1", 4]]
    assert planning.agent_assignments(plan, "W99").empty and planning.agent_places(plan, "W99").empty
    assert planning.agent_duty(plan, "W01").empty and len(planning.agent_duty(plan, "W02")) == 1
    logs = pd.DataFrame({"agent_id": ["W01", "W02", "W01"], "visits": [1, 2, 3]})
    assert planning.agent_logs(logs, "W01")["visits"].tolist() == [1, 3]


def test_every_download_is_audited_with_the_bytes_sha256(patrol_store) -> None:
    url, plan, meeting_id = patrol_store
    engine = connect(url)
    got = {fmt: access.export_bytes(access.Viewer("Cllr Export", "chair"), plan, format=fmt, engine=engine)
           for fmt in ("csv", "geojson", "html", "gpkg")}
    assert got["csv"].decode().startswith("week,agent_id,kind,day,date,shift,candidate_id")
    assert got["gpkg"].startswith(b"SQLite format 3\x00")  # the Tasking page's GeoPackage button
    places = json.loads(got["geojson"])["features"]  # one polygon per planned place
    assert sorted(f["properties"]["candidate_id"] for f in places) == \
        sorted({a["candidate_id"] for a in plan["assignments"]})
    assert {f["geometry"]["type"] for f in places} == {"MultiPolygon"}
    assert b"Weekly tasking pack 2026-W49" in got["html"]
    audit = records.list_exports(engine, user="Cllr Export")
    assert sorted(audit["kind"]) == ["csv", "geojson", "gpkg", "html"]
    for _, row in audit.iterrows():
        assert row["file_sha256"] == hashlib.sha256(got[row["kind"]]).hexdigest()
        assert (row["role"], row["week"], row["meeting_id"], row["version"]) == ("chair", WEEK, meeting_id, 1)


def test_approving_twice_changes_nothing_and_needs_a_name(patrol_store) -> None:
    url, plan, meeting_id = patrol_store
    engine = connect(url)
    again = records.approve_week_plan(engine, plan, user="Someone Else")
    assert (again.meeting_id, again.version, again.already_approved, again.approved_by) == (
        meeting_id, 1, True, "Test Chair")
    assert len(records.list_approvals(engine, meeting_id)) == 1
    with pytest.raises(ValueError, match="type your name"):
        records.approve_week_plan(engine, plan, user="  ")
    state_ = planning.meeting_state(engine, week=WEEK, borough=RBKC, plan=plan)
    assert state_ is not None and state_.shown_approved and state_.approved_by == "Test Chair"
    changed = {**plan, "notes": [*plan["notes"], "edited"]}
    assert not planning.meeting_state(engine, week=WEEK, borough=RBKC, plan=changed).shown_approved


# --------------------------------------------------------------------------
# map builders (pure)
# --------------------------------------------------------------------------
def _cells(rows: list[tuple[str, float, float]], **cols: list[Any]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"cell_id": [r[0] for r in rows], **cols},
                            geometry=[box(x, y, x + 150, y + 150) for _, x, y in rows], crs="EPSG:27700")


def test_hotspots_map_lists_every_layer_even_when_empty_and_escapes_popups() -> None:
    wards = load_wards((RBKC,))
    wards = wards.assign(harm=range(len(wards)), count=1, harm_per_1000=float("nan"))
    empty = _cells([])
    places = gpd.GeoDataFrame({"candidate_id": ["ST-1"], "name": ["<b>Patch</b>"], "place_type": ["street"],
                               "ward_code": [wards["ward_code"].iloc[0]], "incidents": ["12"], "patterns": [""]},
                              geometry=[box(525000, 178000, 525150, 178150)], crs="EPSG:27700")
    ranked = pd.DataFrame({"candidate_id": ["ST-1", "ST-1"], "rank": [2, 1],
                           "measure": ["Second <i>measure</i>", "Street lighting"],
                           "cpted_principle": ["access control", "natural surveillance"], "why": ["w2", "w1"]})
    html = maps.hotspots_map(wards, gi_cells=_cells([], gi_class=[], gi_z=[]), kde_cells=_cells([], density=[]),
                             clusters=empty.assign(cluster_id=[], n_incidents=[], top_categories=[]),
                             places=places, ranked=ranked).get_root().render()
    for name in maps.HOTSPOT_LAYERS:
        assert json.dumps(name) in html, name
    assert html.count("L.marker(") == 1
    assert "<b>Patch</b>" not in html and "&lt;b&gt;Patch&lt;/b&gt;" in html
    assert "Second <i>measure</i>" not in html
    assert html.index("Street lighting") < html.index("Second &lt;i&gt;measure")  # ranked order in the popup


def test_harm_classes_are_quantiles_with_zero_in_the_lowest_class() -> None:
    cls, bounds = maps.harm_classes(pd.Series([0.0, 5.0, 5.0, 10.0, 20.0, 40.0]), k=5)
    assert cls.tolist() == sorted(cls.tolist()) and cls.iloc[0] == 0 and cls.iloc[-1] == len(bounds) - 1
    assert bounds[-1] == 40.0
    assert maps.harm_classes(pd.Series([0.0, 0.0]))[1] == []
    with pytest.raises(ValueError, match="classes"):
        maps.harm_classes(pd.Series([1.0]), k=0)


def test_patrol_map_draws_only_the_given_places() -> None:
    wards = load_wards((RBKC,))
    places = pd.DataFrame({"candidate_id": ["A", "B"], "name": ["Place A", "Place B"], "x": [525500.0, 526000.0],
                           "y": [178500.0, 178900.0], "visits": [3, 1]})
    html = maps.patrol_map(places, wards).get_root().render()
    assert html.count("L.circleMarker(") == 2
    assert "Place A (3 visits this week)" in html and json.dumps(maps.PLACES_LAYER) in html
    assert maps.patrol_map(places.iloc[:0], wards).get_root().render().count("L.circleMarker(") == 0


def test_hotspot_layers_keep_sensitive_incidents_out(store: str) -> None:
    inputs = planning.read_inputs(connect(store), borough=RBKC)
    assert not inputs.incidents["sensitive"].astype(bool).any()
    layers = analysis.hotspot_layers(inputs)
    assert set(layers.gi_cells["gi_class"]) <= set(analysis.GI_SHOWN)
    assert layers.n_incidents == len(inputs.incidents)
    assert not layers.clusters["top_categories"].str.contains("violent").any()
    assert len(layers.kde_cells) and len(layers.places)
