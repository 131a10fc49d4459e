from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spatial._errors import SchemaError
from spatial.harm import load_harm_weights
from spatial.hotspots import (
    area_counts_from_incidents,
    area_counts_from_mps,
    league_table,
    load_population,
)
from spatial.hotspots.profiles import time_profile


def _tiny():
    rows = ([("W1", "burglary", False)] * 6 + [("W1", "violent-crime", True)] * 3
            + [("W2", "burglary", False)] * 2 + [("W2", "violent-crime", True)] * 7 + [(None, "burglary", False)])
    return pd.DataFrame(rows, columns=["ward_code", "category", "sensitive"])


def test_league_rates_on_a_tiny_frame():
    counts = area_counts_from_incidents(_tiny())
    assert counts.attrs["n_unattributed"] == 1
    pop = pd.Series({"W1": 2000.0, "W2": 4500.0})
    t = league_table(counts, population=pop, suppress_sensitive=False, sort_by="count").set_index("area_code")
    wb, wv = load_harm_weights("cchi")["burglary"], load_harm_weights("cchi")["violent-crime"]
    assert t.loc["W1", "count"] == 9 and t.loc["W2", "count"] == 9
    assert t.loc["W1", "rate_per_1000"] == pytest.approx(9 / 2000 * 1000)   # 4.5
    assert t.loc["W2", "rate_per_1000"] == pytest.approx(9 / 4500 * 1000)   # 2.0
    assert t.loc["W1", "harm"] == pytest.approx(6 * wb + 3 * wv)
    assert t.loc["W2", "harm_per_1000"] == pytest.approx((2 * wb + 7 * wv) / 4500 * 1000)


def test_league_suppresses_small_sensitive_counts():
    counts = area_counts_from_incidents(_tiny())
    t = league_table(counts, population=pd.Series({"W1": 2000.0, "W2": 4500.0}), sort_by="count",
                     by_category=True).set_index("area_code")
    # W1 has 3 sensitive incidents: shown as "fewer than 5", and its totals withheld so 9 - 6 cannot reveal it
    assert t.loc["W1", "sensitive_display"] == "fewer than 5" and np.isnan(t.loc["W1", "sensitive_count"])
    assert np.isnan(t.loc["W1", "count"]) and np.isnan(t.loc["W1", "rate_per_1000"])
    assert np.isnan(t.loc["W1", "n_violent-crime"]) and t.loc["W1", "n_burglary"] == 6
    assert t.loc["W1", "count_non_sensitive"] == 6 and bool(t.loc["W1", "suppressed"])
    # W2 has 7, but the borough's 10 minus 7 would give W1's 3 away: W2 is withheld too (secondary suppression)
    assert t.loc["W2", "sensitive_display"] == "withheld" and bool(t.loc["W2", "secondary"])
    assert np.isnan(t.loc["W2", "sensitive_count"]) and np.isnan(t.loc["W2", "count"])
    assert np.isnan(t.loc["W2", "n_violent-crime"]) and t.loc["W2", "count_non_sensitive"] == 2
    assert not bool(t.loc["W1", "secondary"])
    shown = league_table(counts, sort_by="count", suppress_sensitive=False).set_index("area_code")
    assert shown.loc["W2", "sensitive_count"] == 7 and shown.loc["W2", "count"] == 9


def test_league_from_mps_counts_and_homes():
    ac = pd.DataFrame({"dataset": ["a"] * 4, "area_type": ["ward"] * 4, "area_code": ["W1", "W1", "W1", "W2"],
                       "major": ["THEFT", "THEFT", "SEXUAL OFFENCES", "BURGLARY"],
                       "minor": ["SHOPLIFTING", "BICYCLE THEFT", "RAPE", "RES BURGLARY OF A HOME"],
                       "month": ["2024-01"] * 4, "count": [10, 4, 6, 3]})
    counts = area_counts_from_mps(ac)
    got = counts.set_index(["area_code", "category"])["count"].to_dict()
    assert got == {("W1", "bicycle-theft"): 4, ("W1", "shoplifting"): 10, ("W1", "violent-crime"): 6,
                   ("W2", "burglary"): 3}
    assert counts.set_index("category").loc["violent-crime", "sensitive"]
    t = league_table(counts, homes=pd.Series({"W1": 400.0, "W2": 250.0}), sort_by="count").set_index("area_code")
    assert t.loc["W2", "rate_per_1000_homes"] == pytest.approx(3 / 250 * 1000)
    with pytest.raises(SchemaError, match="sort_by"):
        league_table(counts, sort_by="rate_per_1000")


def test_an_all_zero_month_of_a_later_release_does_not_replace_the_real_counts():
    """MPS rolling releases start with a month that is zero for every area; the earlier release's counts stay."""
    rows = []
    for dataset, count in (("rbkc_ward_monthly_2024-02_to_2026-02", 7), ("rbkc_ward_monthly_2024-03_to_2026-03", 0)):
        for ward in ("W1", "W2"):
            rows.append({"dataset": dataset, "area_type": "ward", "area_code": ward, "major": "THEFT",
                         "minor": "SHOPLIFTING", "month": "2024-03", "count": count})
    rows.append({"dataset": "rbkc_ward_monthly_2024-03_to_2026-03", "area_type": "ward", "area_code": "W1",
                 "major": "THEFT", "minor": "SHOPLIFTING", "month": "2024-04", "count": 5})
    counts = area_counts_from_mps(pd.DataFrame(rows))
    assert counts.set_index("area_code")["count"].to_dict() == {"W1": 7 + 5, "W2": 7}


def test_population_files():
    wards = load_population("ward")
    assert len(wards) == 18 and wards.min() > 1000
    lsoa = load_population("lsoa")
    assert lsoa.index.str.startswith("E01").all()


def test_time_profile_aoristic_and_exclusions():
    df = pd.DataFrame({
        "occurred_from": ["2024-06-03T09:15:00+01:00",  # Mon 09:15 instant
                          "2024-06-08T23:30:00+01:00",  # Sat 23:30 for 1 h -> Sat 23 and Sun 00
                          "2024-06-01T00:00:00+01:00",  # police.uk month: excluded
                          "2024-01-10T13:00:00+00:00"],  # Wed 13:00-13:40 GMT
        "occurred_to": ["2024-06-03T09:15:00+01:00", "2024-06-09T00:30:00+01:00",
                        "2024-07-01T00:00:00+01:00", "2024-01-10T13:40:00+00:00"]})
    p = time_profile(df)
    assert p.attrs["n_used"] == 3 and p.attrs["n_excluded"] == 1
    assert p.loc["Mon", 9] == 1.0
    assert p.loc["Sat", 23] == pytest.approx(0.5) and p.loc["Sun", 0] == pytest.approx(0.5)
    assert p.loc["Wed", 13] == pytest.approx(1.0)
    assert p.to_numpy().sum() == pytest.approx(3.0)
    wide = time_profile(df, max_window_h=24 * 31)
    assert wide.attrs["n_excluded"] == 0 and wide.to_numpy().sum() == pytest.approx(4.0)
