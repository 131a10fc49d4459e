"""``hotspot-tasking allocate`` on real bundled police.uk data (one month of RBKC) in a fresh SQLite store."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from hotspot_cli.allocate import add_parser, parse_exclusion, parse_pin
from tasking._errors import TaskingError

REPO = Path(__file__).resolve().parents[2]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    p.add_argument("--database")
    p.add_argument("--data-dir")
    add_parser(p.add_subparsers(dest="command"))
    return p


@pytest.fixture(scope="module")
def rbkc_db(tmp_path_factory) -> str:
    from hotspot_cli.main import main as spatial_main

    url = f"sqlite:///{tmp_path_factory.mktemp('tk') / 'hotspot.sqlite'}"
    rc = spatial_main(["--database", url, "ingest", str(REPO / "data" / "policeuk" / "rbkc_api_2018-06"), "--quiet"])
    assert rc == 0
    return url


def test_allocate_writes_an_explained_checked_plan(rbkc_db, tmp_path, capsys):
    first = tmp_path / "first.json"
    args = _parser().parse_args(["--database", rbkc_db, "allocate", "--week", "2026-W48", "--out", str(first)])
    assert args.func(args) == 0
    base = json.loads(first.read_text(encoding="utf-8"))
    street = [r for r in base["assignments"] if r["kind"] == "warden" and r["value"] > 0]
    top = max(street, key=lambda r: r["value"])
    other = next(c["candidate_id"] for c in base["candidates"]
                 if c["place_type"] == "street" and c["candidate_id"] != top["candidate_id"] and c["priority"] > 0)
    pin = f"{top['agent_id']}:{top['candidate_id']}:{top['day']}:{top['shift']}:3"
    out = tmp_path / "plan.json"
    args = _parser().parse_args(["--database", rbkc_db, "allocate", "--week", "2026-W48", "--pin", pin,
                                 "--exclude", other, "--out", str(out)])
    assert args.func(args) == 0
    plan = json.loads(out.read_text(encoding="utf-8"))
    assert plan["check"]["ok"], plan["check"]["violations"]
    from tasking.allocation import PLAN_GAP

    # solved to the default gap, not stopped by the time limit
    assert plan["status"].startswith("optimal within") and plan["gap"] <= PLAN_GAP
    assert plan["dual_bound"] >= plan["objective"] - 1e-6
    assert plan["objective"] >= plan["greedy"]["objective"] - 1e-6
    a = plan["assignments"]
    assert all(r["why"] for r in a)
    assert any(r["agent_id"] == top["agent_id"] and r["candidate_id"] == top["candidate_id"]
               and r["day"] == top["day"] and r["shift"] == top["shift"] and r["visits"] == 3 for r in a)
    assert not any(r["candidate_id"] == other for r in a)
    assert next(u for u in plan["unassigned"] if u["candidate_id"] == other)["reason"] == "excluded by the chair"
    assert all(r["place_type"] == "park" for r in a if r["kind"] == "parks_police")
    assert all(r["place_type"] != "park" for r in a if r["kind"] == "warden")
    from tasking.candidates import PROPOSED_SOURCE

    assert plan["cameras"] and all(c["site_source"] == PROPOSED_SOURCE and c["site_id"].startswith("P-c")
                                   for c in plan["cameras"])
    assert {"build", "solve", "greedy", "total"} <= set(plan["timings_s"])
    printed = capsys.readouterr().out
    assert "gap" in printed and "greedy" in printed
    # places by name, the id in brackets (issue 15)
    top = max(plan["assignments"], key=lambda r: r["value"])
    name = next(c["place_name"] for c in plan["candidates"] if c["candidate_id"] == top["candidate_id"])
    assert f"{name} [{top['candidate_id']}]" in printed


def test_allocate_on_an_empty_store_says_ingest(sqlite_url, tmp_path):
    args = _parser().parse_args(["--database", sqlite_url, "allocate", "--week", "2026-W48",
                                 "--out", str(tmp_path / "p.json")])
    from spatial.store import create, upgrade

    upgrade(create(sqlite_url))
    with pytest.raises(TaskingError, match="hotspot-tasking ingest --bundled"):
        args.func(args)


def test_infeasible_pin_from_the_cli(rbkc_db, tmp_path):
    args = _parser().parse_args(["--database", rbkc_db, "allocate", "--week", "2026-W48",
                                 "--pin", "W01:PK-1000811:Mon:early", "--out", str(tmp_path / "p.json")])
    from tasking._errors import InfeasibleAllocationError

    with pytest.raises(InfeasibleAllocationError, match="jurisdiction"):
        args.func(args)


def test_pin_and_exclusion_parsing():
    assert parse_pin("W01:ST-x:sat:late:3").day == 5
    with pytest.raises(TaskingError, match="AGENT:CANDIDATE:DAY:SHIFT"):
        parse_pin("W01:ST-x")
    with pytest.raises(TaskingError, match="day was"):
        parse_pin("W01:ST-x:Someday:late")
    assert parse_exclusion("ST-x::late").shift == "late"


def test_allocate_help_gives_the_plans_default_gap(capsys):
    from hotspot_cli.allocate import GAP_HELP
    from tasking.allocation import LARGE_PLAN_GAP, LARGE_ROSTER, PLAN_GAP, plan_gap

    assert GAP_HELP == f"{PLAN_GAP:g}; {LARGE_PLAN_GAP:g} for more than {LARGE_ROSTER} patrollers"
    assert plan_gap(LARGE_ROSTER) == PLAN_GAP and plan_gap(LARGE_ROSTER + 1) == LARGE_PLAN_GAP
    with pytest.raises(SystemExit):
        _parser().parse_args(["allocate", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert f"(default {GAP_HELP}, the weekly plan's default)" in out
    assert _parser().parse_args(["allocate", "--week", "2026-W48", "--out", "p.json"]).gap is None
