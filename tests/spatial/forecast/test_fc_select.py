"""Forecaster selection on the area's own months (issue 16): known winners, no leakage, fallback, record."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spatial import forecast_select as FS
from spatial.evaluation import hit_rate
from spatial.forecast import DEFAULT_METHOD, forecast


def _grid(n_side: int = 40, cell: float = 150.0) -> tuple[np.ndarray, np.ndarray]:
    gx, gy = np.meshgrid(np.arange(n_side), np.arange(n_side))
    return 530000.0 + cell * gx.reshape(-1), 180000.0 + cell * gy.reshape(-1)


def _frame(x: np.ndarray, start: str = "2024-01") -> pd.DataFrame:
    months = [str(p) for p in pd.period_range(start, periods=x.shape[1], freq="M")]
    return pd.DataFrame(x, index=[f"c{i}" for i in range(x.shape[0])], columns=pd.Index(months, name="month"))


def _stationary(seed: int = 1, months: int = 13) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lam = rng.gamma(0.4, 1.0, size=1600)  # heterogeneous, spatially uncorrelated, constant in time
    return _frame(rng.poisson(lam[:, None], size=(1600, months)).astype(float))


def _moving(seed: int = 2, months: int = 13) -> pd.DataFrame:
    """Hot cells (5 % of the grid) move to a new random place every two months: last month predicts."""
    rng = np.random.default_rng(seed)
    x = rng.poisson(0.05, size=(1600, months)).astype(float)
    for start in range(0, months, 2):
        hot = rng.choice(1600, size=80, replace=False)
        for t in range(start, min(start + 2, months)):
            x[hot, t] += rng.poisson(6.0, size=80)
    return _frame(x)


@pytest.fixture(autouse=True)
def _fresh_cache():
    FS._CACHE.clear()
    yield
    FS._CACHE.clear()


def test_stationary_field_picks_long_run_counts():
    counts = _stationary()
    c = FS.select_forecaster(counts, centres=_grid())
    assert c.fallback is None
    # Long-memory candidates are equivalent on a stationary field (the sum is sufficient); none of the
    # short-memory or smoothing ones may win.
    assert c.method in {"counts_all", "last_6", "ewm_h4", "ewm_h8", "eb_shrunk", "blend"}, c.scores
    assert c.scores["counts_all"] > c.scores["last_1"] + 0.02
    assert c.scores["counts_all"] > max(c.scores["kde_400"], c.scores["prospective"]) + 0.05
    assert abs(c.hit_rate - c.scores["counts_all"]) < 0.01
    assert c.hit_rate >= c.runner_up_hit_rate
    assert c.origins == counts.shape[1] - FS.MIN_TRAIN


def test_moving_field_picks_last_month():
    counts = _moving()
    c = FS.select_forecaster(counts, centres=_grid())
    assert c.method in {"last_1", "ewm_h1"}, c.scores
    assert c.last_month_hit_rate > c.counts_all_hit_rate + 0.1


def test_forecast_month_never_reaches_the_choice():
    counts = _stationary(months=12)
    history, target = counts.iloc[:, :-1], counts.iloc[:, -1]
    a = FS.select_forecaster(history, centres=_grid())
    perturbed = counts.copy()
    rng = np.random.default_rng(9)
    perturbed.iloc[:, -1] = rng.permutation(target.to_numpy()) * 7 + 3
    b = FS.select_forecaster(perturbed.iloc[:, :-1], centres=_grid())
    assert a == b
    # The forecast itself is unchanged, while its score against the perturbed month changes.
    fa = forecast(history, centres=_grid())
    FS._CACHE.clear()
    fb = forecast(perturbed.iloc[:, :-1], centres=_grid())
    assert np.array_equal(fa.to_numpy(), fb.to_numpy())
    assert hit_rate(fa, target, coverage=0.05) != hit_rate(fb, perturbed.iloc[:, -1], coverage=0.05)
    # Including the target month does change the data version (the check can fail).
    assert FS.select_forecaster(counts, centres=_grid()).data_version != a.data_version


def test_choice_is_reproducible_and_round_trips(tmp_path):
    counts = _moving(months=10)
    a = FS.select_forecaster(counts, centres=_grid(), group="burglary", area="E09000001")
    FS._CACHE.clear()
    b = FS.select_forecaster(counts, centres=_grid(), group="burglary", area="E09000001")
    assert a.to_json() == b.to_json()
    p = FS.save_choice(a, tmp_path)
    assert p.name.endswith(f"{a.data_version}.json")
    assert FS.load_choice(tmp_path, area="E09000001", group="burglary", version=a.data_version) == a
    assert FS.load_choice(tmp_path, area="E09000001", group="burglary", version="other") is None


def test_store_dir_is_refreshed_when_months_are_added(tmp_path):
    counts = _moving(months=11)
    s1 = FS.auto_forecast(counts.iloc[:, :-1], centres=_grid(), store_dir=tmp_path, group="g", area="a")
    s2 = FS.auto_forecast(counts, centres=_grid(), store_dir=tmp_path, group="g", area="a")
    assert s1.attrs["choice"]["data_version"] != s2.attrs["choice"]["data_version"]
    assert len(list(tmp_path.glob("forecast-choice-a-g-*.json"))) == 2


def test_too_few_months_falls_back_to_counts_and_says_so():
    counts = _stationary(months=5)
    c = FS.select_forecaster(counts, centres=_grid())
    assert c.method == FS.FALLBACK == "counts_all"
    assert c.fallback and "needs 4" in c.fallback
    s = forecast(counts, centres=_grid())
    # counts over all earlier months, as expected incidents next month (the mean per month)
    assert np.allclose(s.to_numpy(), counts.to_numpy().sum(axis=1) / 5)
    text = FS.describe_choice(c, group="burglary")
    assert "fallback" in text and "5 month(s)" in text


def test_default_forecast_is_the_selection():
    assert DEFAULT_METHOD == "auto"
    counts = _moving()
    s = forecast(counts, centres=_grid())
    assert s.attrs["method"] == "auto"
    assert s.attrs["params"]["chosen"] == s.attrs["choice"]["method"]
    assert s.attrs["target_period"] == "2025-02"
    assert len(s) == counts.shape[0] and np.all(np.isfinite(s.to_numpy()))
    # read as expected incidents next month: the total is the mean monthly total of the history
    assert s.sum() == pytest.approx(counts.to_numpy().sum() / counts.shape[1])
    assert (s >= 0).all()


def test_pooling_helps_a_sparse_group_thinned_from_all_crime():
    rng = np.random.default_rng(4)
    lam = rng.gamma(0.5, 2.0, size=1600)
    allc = rng.poisson(lam[:, None], size=(1600, 12)).astype(float)
    burg = rng.binomial(allc.astype(int), 0.04).astype(float)
    c = FS.select_forecaster(_frame(burg), centres=_grid(), prior=allc)
    assert c.scores["pooled_b4"] > c.scores["counts_all"]
    assert c.method.startswith(("pooled", "blend"))


def test_blend_is_fitted_on_inner_origins_and_predicts():
    counts = _moving(months=12)
    c = FS.select_forecaster(counts, centres=_grid())
    assert "blend" in c.scores
    choice = FS.ForecastChoice(**{**c.to_dict(), "method": "blend",
                                  "params": {"a": "last_1", "b": "counts_all", "weight_a": 0.75}})
    s = FS.predict_choice(choice, counts, centres=_grid())
    x = counts.to_numpy()
    expect = 0.75 * FS._norm(x[:, -1] + FS._tiebreak(x)) + 0.25 * FS._norm(x.sum(axis=1))
    assert np.allclose(s, expect)


def test_describe_choice_names_the_figures():
    c = FS.select_forecaster(_moving(), centres=_grid(), group="asb")
    text = FS.describe_choice(c)
    assert "for asb" in text and f"over {c.origins} test months" in text
    assert f"{100 * c.counts_all_hit_rate:.1f} %" in text


def test_exclude_months_drops_them_before_selecting():
    counts = _stationary(months=12)
    c = FS.select_forecaster(counts, centres=_grid(), exclude_months=["2024-03", "2024-04"])
    assert c.months == 10


def test_quick_reader_reads_street_files_by_column_name(tmp_path):
    """Street files put Month before Longitude: the benchmark reader must not mix the columns up."""
    from spatial.backtest import read_policeuk_quick

    p = tmp_path / "2025-01-kent-street.csv"
    p.write_text("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
                 "Crime type,Last outcome category,Context\n"
                 "a,2025-01,Kent Police,Kent Police,0.185677,51.413125,On or near X,E01024445,S 001A,Burglary,,\n"
                 "b,2025-01,Kent Police,Kent Police,0.179557,51.412951,On or near Y,E01024445,S 001A,Drugs,,\n",
                 encoding="utf-8")
    pts = read_policeuk_quick([p])
    assert len(pts) == 2 and pts.attrs["dropped"] == 0
    assert list(pts["month"]) == ["2025-01", "2025-01"] and list(pts["category"]) == ["burglary", "drugs"]
    assert list(pts["proactive"]) == [False, True]
    assert 550000 < pts["x"].iloc[0] < 560000 and 165000 < pts["y"].iloc[0] < 175000


def test_a_group_with_no_incidents_falls_back_and_says_so():
    counts = _stationary(months=12) * 0
    c = FS.select_forecaster(counts, centres=_grid(), group="violence-sexual")
    assert c.method == "counts_all" and c.hit_rate is None
    assert "had any incident" in c.fallback and "-100" not in FS.describe_choice(c)


def test_standard_error_rule_keeps_counts_unless_a_candidate_clearly_beats_them():
    counts = _moving()
    assert FS.select_forecaster(counts, centres=_grid()).method != "counts_all"
    strict = FS.select_forecaster(counts, centres=_grid(), se_factor=1e9)
    assert strict.method == "counts_all" and strict.fallback is None
    assert strict.runner_up in {"last_1", "ewm_h1"}  # the best by mean is still recorded as runner-up
