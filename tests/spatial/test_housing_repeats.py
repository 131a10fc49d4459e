"""Repeat locations across cases: N cases at one place within a window (issue 14 item 4).

The default rule is the ASB case review threshold (3 in six months); every case set is built
here with dates counted by hand.
"""

from __future__ import annotations

import _builders as B  # noqa: F401  (first: puts the repository root on sys.path)
import pandas as pd
import pytest

from spatial._errors import SchemaError
from spatial.hotspots.repeats import (
    REPEAT_COLUMNS,
    TRIGGER_MIN_CASES,
    TRIGGER_WINDOW_DAYS,
    repeat_case_locations,
)

X0, Y0 = 558000.0, 146000.0


def _cases(rows: list[tuple[float, float, str, str]], **extra: list) -> pd.DataFrame:
    df = pd.DataFrame({"x": [r[0] for r in rows], "y": [r[1] for r in rows], "occurred_from": [r[2] for r in rows],
                       "category": [r[3] for r in rows]})
    for k, v in extra.items():
        df[k] = v
    return df


def test_default_rule_is_three_in_six_months():
    assert (TRIGGER_MIN_CASES, TRIGGER_WINDOW_DAYS) == (3, 183)
    # place P: 3 cases within 5 months -> repeat; place Q: 3 cases spread over 9 months -> not
    df = _cases([(X0, Y0, "2025-01-10T19:00:00+00:00", "noise"), (X0, Y0, "2025-03-01", "noise"),
                 (X0, Y0, "2025-06-05", "harassment"),
                 (X0 + 300, Y0, "2025-01-01", "noise"), (X0 + 300, Y0, "2025-05-01", "noise"),
                 (X0 + 300, Y0, "2025-10-01", "noise")])
    rep = repeat_case_locations(df)
    assert list(rep.columns) == list(REPEAT_COLUMNS)
    assert len(rep) == 1
    r = rep.iloc[0]
    assert (r["x"], r["y"], r["n_cases"], r["max_in_window"]) == (X0, Y0, 3, 3)
    assert (r["window_start"], r["window_end"], r["first"], r["last"]) == ("2025-01-10", "2025-06-05",
                                                                            "2025-01-10", "2025-06-05")
    assert r["categories"] == "noise 2; harassment 1"
    assert rep.attrs["rule"] == "3 or more cases within 183 days at the same place"
    # Q qualifies with a 10-month window, and both with 2 cases
    assert len(repeat_case_locations(df, window_days=300)) == 2
    assert len(repeat_case_locations(df, min_cases=2)) == 2


def test_busiest_window_and_ordering():
    days = ["2025-01-01", "2025-02-01", "2025-08-01", "2025-08-10", "2025-08-20", "2025-09-01"]
    df = _cases([(X0, Y0, d, "noise") for d in days] + [(X0 + 500, Y0, d, "noise") for d in days[:3]],
                estate_id=["S1"] * 6 + ["S2"] * 3)
    rep = repeat_case_locations(df, min_cases=3, window_days=60)
    assert len(rep) == 1  # S2's three cases span seven months
    r = rep.iloc[0]
    assert r["n_cases"] == 6 and r["max_in_window"] == 4  # 1 Aug .. 1 Sep
    assert (r["window_start"], r["window_end"]) == ("2025-08-01", "2025-09-01") and r["estate_id"] == "S1"
    rep2 = repeat_case_locations(df, window_days=365)
    assert rep2["location_id"].tolist() == ["R001", "R002"] and rep2["n_cases"].tolist() == [6, 3]


def test_radius_links_nearby_points_and_snap_absorbs_rounding():
    df = _cases([(X0, Y0, "2025-01-01", "noise"), (X0 + 0.3, Y0, "2025-01-02", "noise"),
                 (X0 + 20, Y0, "2025-01-03", "noise"), (X0 + 40, Y0, "2025-01-04", "noise")])
    assert repeat_case_locations(df).empty is True  # 2 at the snapped point only
    two = repeat_case_locations(df, min_cases=2)
    assert two["n_cases"].tolist() == [2] and two["n_points"].tolist() == [1]
    linked = repeat_case_locations(df, radius_m=25)  # a chain of 20 m steps is one place
    assert linked["n_cases"].tolist() == [4] and linked["n_points"].tolist() == [3]
    assert "points within 25 m" in linked.attrs["rule"]
    assert repeat_case_locations(df, radius_m=15, min_cases=3).empty


def test_sensitive_cases_are_counted_and_bad_rows_skipped():
    df = _cases([(X0, Y0, "2025-01-01", "domestic-abuse"), (X0, Y0, "2025-01-05", "noise"),
                 (X0, Y0, "2025-01-09", "domestic-abuse"), (float("nan"), Y0, "2025-01-09", "noise"),
                 (X0, Y0, "not a date", "noise")], sensitive=[True, False, True, False, False])
    rep = repeat_case_locations(df)
    assert rep["n_sensitive"].tolist() == [2] and rep["n_cases"].tolist() == [3]
    assert rep.attrs["n_cases_used"] == 3


def test_bad_parameters():
    df = _cases([(X0, Y0, "2025-01-01", "noise")])
    with pytest.raises(SchemaError, match="at least 2 cases"):
        repeat_case_locations(df, min_cases=1)
    with pytest.raises(SchemaError, match="window_days"):
        repeat_case_locations(df, window_days=0)
    with pytest.raises(SchemaError, match="radius_m"):
        repeat_case_locations(df, radius_m=-1)
    with pytest.raises(SchemaError, match="occurred_from"):
        repeat_case_locations(df.drop(columns="occurred_from"))
    assert repeat_case_locations(df.iloc[0:0]).empty
