"""Timed council logs: aoristic weights, ISO-week x shift series and next week's split (issue 16 item 5)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spatial._errors import SchemaError
from spatial.forecast_timed import (
    aoristic_hours,
    forecast_week_profile,
    shift_weights,
    weekly_profiles,
)


def _log(rows: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["occurred_from", "occurred_to"])


def test_aoristic_weights_sum_to_one_per_incident():
    rng = np.random.default_rng(11)
    start = pd.Timestamp("2026-03-20T00:00:00Z") + pd.to_timedelta(rng.uniform(0, 20 * 24, 400), unit="h")
    span = pd.to_timedelta(np.where(rng.random(400) < 0.3, 0.0, rng.uniform(0, 11, 400)), unit="h")
    log = pd.DataFrame({"occurred_from": start.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
                        "occurred_to": (start + span).strftime("%Y-%m-%dT%H:%M:%S+00:00")})
    a = aoristic_hours(log)
    assert a.attrs["n_used"] == 400 and a.attrs["n_excluded"] == 0
    sums = a.groupby("incident")["weight"].sum()
    assert len(sums) == 400 and np.allclose(sums.to_numpy(), 1.0)
    s = shift_weights(log)
    ss = s.groupby("incident")["weight"].sum()
    assert np.allclose(ss.to_numpy(), 1.0) and set(s["shift"]) <= {"early", "late", "off"}
    # the span crosses the clocks going forward (29 March 2026) without losing weight
    assert (a["hour"] >= pd.Timestamp("2026-03-29")).any()


def test_a_span_is_spread_over_its_hours_and_shifts():
    # 14:30-16:30 London summer time (13:30-15:30 UTC): 0.25 in hour 14, 0.5 in 15, 0.25 in 16
    log = _log([("2026-06-05T13:30:00+00:00", "2026-06-05T15:30:00+00:00"),
                ("2026-06-05T22:00:00+00:00", "2026-06-05T22:00:00+00:00"),   # instant at 23:00 local: off
                ("2026-05-01T00:00:00+00:00", "2026-06-01T00:00:00+00:00")])  # a police.uk month: left out
    a = aoristic_hours(log)
    first = a[a["incident"] == 0].set_index(a.loc[a["incident"] == 0, "hour"].dt.hour)["weight"]
    assert first.to_dict() == pytest.approx({14: 0.25, 15: 0.5, 16: 0.25})
    assert a.attrs["n_excluded"] == 1 and 2 not in set(a["incident"])
    s = shift_weights(log).set_index(["incident", "shift"])["weight"]
    assert s[(0, "early")] == pytest.approx(0.25) and s[(0, "late")] == pytest.approx(0.75)
    assert s[(1, "off")] == pytest.approx(1.0)
    assert set(shift_weights(log)["iso_week"]) == {"2026-W23"}


def test_bad_times_are_refused_clearly():
    with pytest.raises(SchemaError, match="occurred_to"):
        aoristic_hours(pd.DataFrame({"occurred_from": ["2026-01-01T00:00:00Z"]}))
    with pytest.raises(SchemaError, match="max_span_h"):
        aoristic_hours(_log([]), max_span_h=0)


def _weeks(shift_of_week, n: int = 20, per_week: int = 60, seed: int = 3) -> pd.DataFrame:
    """A SYNTHETIC timed log: each week a share of incidents in the early shift given by ``shift_of_week``."""
    rng = np.random.default_rng(seed)
    rows = []
    monday = pd.Timestamp("2026-01-05")  # ISO week 2026-W02
    for w in range(n):
        for _ in range(per_week):
            day = monday + pd.Timedelta(days=7 * w + int(rng.integers(0, 7)))
            hour = rng.uniform(8, 14) if rng.random() < shift_of_week(w) else rng.uniform(16, 22)
            t = (day + pd.to_timedelta(hour, unit="h")).tz_localize("Europe/London").tz_convert("UTC")
            rows.append((t.isoformat(), t.isoformat()))
    return _log(rows)


def test_a_steady_split_keeps_the_plain_average():
    weekly, labels = weekly_profiles(_weeks(lambda w: 0.5))
    assert weekly.shape == (20, 7, 24) and labels[0] == "2026-W02" and labels[-1] == "2026-W21"
    f = forecast_week_profile(weekly, labels)
    assert f.method == "all_weeks" and f.fallback is None
    assert f.profile.sum() == pytest.approx(1.0)
    assert f.shift_shares["early"] == pytest.approx(0.5, abs=0.05)


def test_a_shifting_split_is_followed_by_recency_weighting():
    # the early share swings every 8 weeks between 0.15 and 0.85: recent weeks predict next week better
    weekly, labels = weekly_profiles(_weeks(lambda w: 0.85 if (w // 8) % 2 else 0.15, n=32))
    f = forecast_week_profile(weekly, labels)
    assert f.method.startswith("ewm_h"), (f.method, f.backtest_error, f.baseline_error)
    assert f.backtest_error < f.baseline_error
    assert "half-life" in f.describe()


def test_few_weeks_fall_back_and_say_so():
    weekly, labels = weekly_profiles(_weeks(lambda w: 0.5, n=4))
    f = forecast_week_profile(weekly, labels)
    assert f.method == "all_weeks" and "needs 8" in f.fallback and "4 ISO week(s)" in f.describe()
