"""The planning helpers of the dashboard read the typed plan: one agent's share of a Plan equals that of its
dict, and an older plan's assignment without visits, place type or reason reads as it always did."""

from __future__ import annotations

import pandas as pd

from tasking.plan import Plan
from tests.tasking import _tk_plans as P
from ui import planning

ST1 = f"ST-c{P.CELL_X}_{P.CELL_Y}"


def test_an_agents_share_of_a_plan_equals_that_of_its_dict():
    d = P.make_plan()
    p = Plan.from_json(d)
    for agent in ("W01", "W02", "PP01", "nobody"):
        for f in (planning.agent_assignments, planning.agent_duty, planning.agent_places):
            pd.testing.assert_frame_equal(f(p, agent), f(d, agent))
    pd.testing.assert_frame_equal(planning.plan_places(p), planning.plan_places(d))
    mine = planning.agent_assignments(p, "W01")
    assert mine["visits"].tolist() == [2, 1] and set(mine["candidate_id"]) == {ST1}
    assert planning.agent_duty(p, "W02")["shift"].tolist() == ["late", "early"]


def test_an_older_assignment_reads_with_the_old_defaults():
    d = P.make_plan()
    a = d["assignments"][0]  # W01 at ST1, Mon early, 2 visits of 25 min
    del a["visits"], a["place_type"], a["why"]
    d["candidates"][0]["place_type"] = "estate"
    mine = planning.agent_assignments(d, "W01")
    mon = mine[mine["day"] == "Mon"].iloc[0]
    assert mon["visits"] == 1  # absent: one visit
    assert mon["place_type"] == "estate"  # absent: the candidate's
    assert mon["why"] == ""  # absent: no reason given
    assert planning.plan_places(d).set_index("candidate_id").loc[ST1, "visits"] == 1 + 1
    assert planning.agent_places(d, "W01").set_index("candidate_id").loc[ST1, "visits"] == 1 + 1


def test_the_dashboards_plan_takes_the_forecaster_stored_with_the_area(tmp_path, monkeypatch):
    """Issue 16: the dashboard's plan reads the forecaster chosen for the area from the area's store, as
    ``allocate`` does (before, the page selected one in its own process and kept nothing)."""
    from pathlib import Path

    from hotspot_cli.main import main as cli_main
    from spatial.store.forecast_choices import DbChoiceStore
    from ui import service

    repo = Path(__file__).resolve().parents[2]
    url = f"sqlite:///{tmp_path / 'h.sqlite'}"
    assert cli_main(["--database", url, "ingest", "--quiet", str(repo / "data" / "policeuk" / "rbkc_api_2018-06")]) == 0
    svc = service.AreaService(url, "rbkc", str(repo / "data"))
    seen: dict[str, object] = {}

    def recorded(inputs, **kw):
        seen.update(kw, borough=inputs.borough)
        return planning.PlanOutcome(plan=None, error="recorded")

    monkeypatch.setattr(planning, "build_plan", recorded)
    version = svc.version()
    out = service._week_plan(svc, svc.key, version, "2026-W49", (), (), None)
    assert out.error == "recorded"
    store = seen["choice_store"]
    assert isinstance(store, DbChoiceStore) and store.engine is svc.engine  # the area's own store
    assert seen["area_key"] == svc.context(version).key == seen["borough"] == "E09000020"
