"""Roster loading: the bundled RBKC defaults and errors that name the file and the key."""

from __future__ import annotations

import datetime as dt

import _tk_builders as B
import pytest
import yaml

from tasking._errors import TaskingError
from tasking.resources import (
    Shift,
    default_roster_path,
    load_roster,
    parse_clock,
    roster_from_mapping,
)


def test_bundled_rbkc_roster():
    r = load_roster()
    assert len(r.wardens) == 18 and len({w.home_ward_code for w in r.wardens}) == 18
    assert all(w.jurisdiction == frozenset({"street", "estate"}) for w in r.wardens)
    assert r.parks_police and all(p.jurisdiction == frozenset({"park"}) for p in r.parks_police)
    assert [s.name for s in r.shifts] == ["early", "late"]
    assert (r.service_start, r.service_end) == (dt.time(7), dt.time(23))
    assert r.supervisors == 2
    assert r.fixed_cctv.cameras == () and r.deployable_cctv.sites == ()  # council data: not bundled
    assert (r.fixed_cctv.monitored_start, r.fixed_cctv.monitored_end) == (dt.time(15), dt.time(1))
    assert r.dosage.marginal_values == (1.0, 0.6, 0.35)
    assert r.source == "rbkc_roster.yaml"


def test_shift_crossing_midnight():
    s = Shift("cctv", dt.time(15), dt.time(1), 0.0)
    assert s.span_minutes == 600
    hours = s.hour_weights()
    assert hours[0] == (0, 15, 1.0) and hours[-1] == (1, 0, 1.0) and len(hours) == 10
    half = Shift("x", dt.time(7, 30), dt.time(9), 1.5).hour_weights()
    assert half == ((0, 7, 0.5), (0, 8, 1.0))


def test_parse_clock_error():
    with pytest.raises(TaskingError, match="HH:MM"):
        parse_clock("7am")


@pytest.mark.parametrize("mutate,match", [
    (lambda d: d["wardens"]["roster"][0].pop("home_ward_code"), r"wardens\.roster\[0\]\.home_ward_code is missing"),
    (lambda d: d["wardens"].update(shifts=["night"]), r"wardens\.shifts must name shifts"),
    (lambda d: d["dosage"].update(marginal_values=[0.5, 1.0]), r"dosage\.marginal_values .*non-increasing"),
    (lambda d: d["shifts"]["early"].update(start="7h"), r"shifts\.early\.start must be HH:MM"),
    (lambda d: d["wardens"].update(patrol_minutes_per_shift=-5), r"wardens\.patrol_minutes_per_shift must be"),
    (lambda d: d["parks_police"].update(jurisdiction=["moon"]), r"parks_police\.jurisdiction must list"),
    (lambda d: d["planning"]["default_time_split"][0].update(share=0.9), r"shares must sum to 1"),
    (lambda d: d["dosage"].update(visit_cover_share=0.9), r"visit_cover_share"),
    (lambda d: d.update(version=2), r"version must be 1"),
])
def test_errors_name_file_and_key(mutate, match):
    data = B.roster_dict()
    mutate(data)
    with pytest.raises(TaskingError, match=match) as info:
        roster_from_mapping(data, where="my_roster.yaml")
    assert str(info.value).startswith("my_roster.yaml: ")


def test_load_roster_file_errors(tmp_path):
    with pytest.raises(TaskingError, match="not found"):
        load_roster(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("wardens: [unclosed", encoding="utf-8")
    with pytest.raises(TaskingError, match="bad.yaml: not valid YAML"):
        load_roster(bad)
    good = tmp_path / "good.yaml"
    data = yaml.safe_load(default_roster_path().read_text(encoding="utf-8"))
    del data["dosage"]["visit_minutes"]
    good.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(TaskingError, match=r"good.yaml: dosage\.visit_minutes is missing"):
        load_roster(good)
