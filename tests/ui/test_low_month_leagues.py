"""Months published low stay out of every league's counts and rates (issue 14 item 3).

police.uk published Kent's 2018-11 and 2018-12 incomplete (whole-Kent crime at 67 % and 35 % of
October's level).  A store holds the real West Kent months 2018-10..2019-02 and the SYNTHETIC schemes
(loaded first, so the police.uk rows are attributed to them).  The Overview's ward league, the
Hotspots page's ward league and the schemes league count only 2018-10, 2019-01 and 2019-02, and say
so; expected counts are taken from the stored rows with a plain group-by, independently of the leagues.
"""

from __future__ import annotations

import dataclasses
import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hotspot_cli.main import main as cli_main
from spatial.area_profiles import area_layers, get_area
from spatial.layers import stored_area_layer
from spatial.low_months import league_incidents
from spatial.schemes import scheme_league
from spatial.store import connect
from spatial.store.queries import incident_frame
from ui import analysis, overview, planning

REPO = Path(__file__).resolve().parents[2]
WK_DIR = REPO / "data" / "policeuk" / "west_kent"
FILES = sorted(p for p in WK_DIR.glob("*.csv.gz") if p.name[:7] in ("2018-10", "2018-11", "2018-12", "2019-01",
                                                                     "2019-02"))
SCHEMES = REPO / "data" / "synthetic" / "west_kent_schemes_SYNTHETIC.geojson"
LOW = ["2018-11", "2018-12"]
KEPT = ["2018-10", "2019-01", "2019-02"]


def _raw() -> pd.DataFrame:
    frames = []
    for p in FILES:
        with gzip.open(p, "rt", encoding="utf-8", newline="") as fh:
            frames.append(pd.read_csv(fh, dtype=str, keep_default_na=False)[["Month", "Crime type"]])
    return pd.concat(frames, ignore_index=True).rename(columns={"Month": "month", "Crime type": "category"})


def test_league_incidents_drops_kents_low_months_and_only_those():
    raw = _raw()
    assert len(FILES) == 5
    kept, low = league_incidents(raw)
    assert low == LOW
    assert len(kept) == int(raw["month"].isin(KEPT).sum()) and sorted(kept["month"].unique()) == KEPT
    # months known from the whole store: only those inside the frame are dropped
    only_oct = raw[raw["month"].isin(["2018-10", "2018-11"])]
    kept2, low2 = league_incidents(only_oct, low=["2018-11", "2017-03"])
    assert low2 == ["2018-11"] and set(kept2["month"]) == {"2018-10"}
    # a period made only of low months is counted as it is (never an empty league)
    dec = raw[raw["month"] == "2018-12"]
    kept3, low3 = league_incidents(dec, low=LOW)
    assert low3 == [] and len(kept3) == len(dec)
    # too few months to tell, and none given: nothing dropped
    assert league_incidents(only_oct)[1] == []


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('lowleague') / 'hotspot.sqlite'}"
    assert cli_main(["--database", url, "db", "init"]) == 0
    assert cli_main(["--database", url, "area", "use", "west-kent"]) == 0
    assert cli_main(["--database", url, "layers", "estates", str(SCHEMES), "--id-column", "scheme_id",
                     "--name-column", "name", "--homes-column", "homes"]) == 0
    assert cli_main(["--database", url, "ingest", "--quiet", *map(str, FILES)]) == 0
    return url


def test_the_overview_ward_league_leaves_the_low_months_out(store: str):
    engine = connect(store)
    wards = area_layers(engine, get_area(engine, "west-kent")).wards
    names = dict(zip(wards["ward_code"], wards["ward_name"], strict=True))
    inc = incident_frame(engine, include_sensitive=True)
    months = sorted(inc["month"].astype(str).unique())
    assert months == sorted(KEPT + LOW)
    kw = dict(source="incidents", first="2018-10", last="2019-02", ward_names=names, months_with_data=months,
              incidents=inc, population=None)
    cmp = overview.build_comparison(**kw, low_months=LOW)
    plain = overview.build_comparison(**kw)
    inside = inc[inc["ward_code"].isin(names)]
    want = inside[inside["month"].isin(KEPT)].groupby("ward_code").size()
    every = inside.groupby("ward_code").size()
    by_name = {names[c]: c for c in names}
    shown = cmp.league.set_index("Ward")["Incidents"].dropna()
    assert len(shown) > 0.8 * len(names)  # most wards are not withheld
    for ward, n in shown.items():
        assert n == want.get(by_name[ward], 0), ward
    # without the low months the same league counts all five months: the parameter is what changes it
    shown_plain = plain.league.set_index("Ward")["Incidents"].dropna()
    assert all(n == every.get(by_name[w], 0) for w, n in shown_plain.items())
    assert (shown_plain.reindex(shown.index) > shown).mean() > 0.8
    text = " ".join(cmp.coverage)
    assert "The ward league leaves out 2018-11, 2018-12" in text and "other 3 months" in text
    assert "This period holds 2018-11, 2018-12, published low" in text
    assert not any("published low" in n for n in plain.coverage)


def test_the_hotspots_ward_league_leaves_the_low_months_out(store: str):
    engine = connect(store)
    inputs = planning.read_inputs(engine, borough="E07000115", months=KEPT + LOW)
    assert sorted(inputs.incidents["month"].astype(str).unique()) == sorted(KEPT + LOW)
    # found on the whole area: Tonbridge and Malling alone has 2018-11 low in 5 of its 6 categories only
    assert inputs.low_months == tuple(LOW)
    layers = analysis.hotspot_layers(inputs)
    inc = inputs.incidents
    want = inc[inc["month"].astype(str).isin(KEPT)].groupby("ward_code").size()
    got = layers.wards.set_index("ward_code")["count"]
    assert len(got) == len(inputs.wards) and got.sum() > 0
    np.testing.assert_array_equal(got.to_numpy(), want.reindex(got.index, fill_value=0).to_numpy())
    assert got.sum() < len(inc)  # the low months were there, and are not counted
    assert any("The ward league leaves out 2018-11, 2018-12" in n for n in layers.notes)
    # the same inputs without the area's months: the district alone shows only 2018-12
    alone = analysis.hotspot_layers(dataclasses.replace(inputs, low_months=None))
    assert any("The ward league leaves out 2018-12 " in n for n in alone.notes)


def test_the_schemes_league_leaves_the_low_months_out(store: str):
    engine = connect(store)
    schemes = stored_area_layer(engine, "estates")
    inc = incident_frame(engine, include_sensitive=True, include_not_asb=True)
    lt = scheme_league(inc, schemes, sort_by="count", suppress_sensitive=False)
    assert lt.attrs["low_months"] == LOW and lt.attrs["months_counted"] == 3
    on = inc[inc["estate_id"].notna()]
    assert len(on) > 50  # police.uk rows fall on the SYNTHETIC schemes
    want = on[on["month"].isin(KEPT)].groupby("estate_id").size()
    got = lt.set_index("area_code")["count"]
    np.testing.assert_array_equal(got.to_numpy(), want.reindex(got.index, fill_value=0).to_numpy())
    # the area's months given from the whole store give the same league
    again = scheme_league(inc, schemes, sort_by="count", suppress_sensitive=False, low_months=LOW)
    pd.testing.assert_frame_equal(again, lt)


@pytest.mark.slow
def test_a_district_plan_leaves_out_the_months_found_on_the_whole_area(store: str):
    from tasking.context import open_area
    from tasking.pipeline import finish_plan, plan_week, read_plan_inputs

    assert cli_main(["--database", store, "roster", "init", "--area", "west-kent"]) == 0
    ctx = open_area(connect(store), "west-kent", district="E07000115")
    inputs = read_plan_inputs(ctx, months=KEPT + LOW)
    assert inputs.low_months == tuple(LOW)
    roster = ctx.require_roster()
    # the district's own officers only: every home ward is one of Tonbridge and Malling's
    assert len(roster.wardens) == len(ctx.wards) > 0
    assert {a.home_ward_code for a in roster.wardens} == set(ctx.wards["ward_code"])
    plan = plan_week(inputs.incidents, roster=roster, wards=inputs.wards, area=inputs.area, week="2019-W10",
                     parks=inputs.parks, estates=inputs.estates, low_months=inputs.low_months, cctv=False,
                     presence=roster.planning.presence, time_limit_s=60.0)
    finish_plan(plan, inputs, week="2019-W10")
    kept = int(inputs.incidents["month"].astype(str).isin(KEPT).sum())
    assert plan["inputs"]["n_incidents"] == kept < len(inputs.incidents)
    assert any(n.startswith("Left out of baselines, forecasts and trends: 2018-11, 2018-12") for n in plan["notes"])


def test_the_schemes_report_pack_and_command_say_what_the_league_left_out(store: str, capsys):
    from tasking.access import Viewer
    from tasking.housing import read_scheme_inputs, scheme_report
    from tasking.pack import pack_schemes

    engine = connect(store)
    report = scheme_report(read_scheme_inputs(engine, area="west-kent"), Viewer("analyst", "analyst"),
                           parts=("league", "not_asb", "repeats"))
    sc = pack_schemes(report)
    want = "The schemes league leaves out 2018-11, 2018-12 (published low"
    assert sc.low_months_note.startswith(want) and "other 3 months" in sc.low_months_note
    assert report.months == tuple(sorted(KEPT + LOW))  # the report covers the period; its league does not
    capsys.readouterr()
    assert cli_main(["--database", store, "schemes", "league"]) == 0
    assert want in capsys.readouterr().out
    # and the pack's Schemes section prints it
    from tasking.pack import _schemes_html

    assert want in _schemes_html(sc)
