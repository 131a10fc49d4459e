"""Selection guard, nested selection, low months and the store of choices (issue 16 items 1-4, issue 14 item 3)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spatial import forecast_select as FS
from spatial.low_months import incident_low_months, incident_month_counts, low_months_note

SHARED = Path(os.environ.get("HOTSPOT_SHARED_DATA", str(Path(__file__).resolve().parents[4] / "shared" / "data")))
WK = SHARED / "policeuk" / "west_kent"


def _grid(n_side: int = 40, cell: float = 150.0) -> tuple[np.ndarray, np.ndarray]:
    gx, gy = np.meshgrid(np.arange(n_side), np.arange(n_side))
    return 530000.0 + cell * gx.reshape(-1), 180000.0 + cell * gy.reshape(-1)


def _frame(x: np.ndarray, start: str = "2024-01") -> pd.DataFrame:
    months = [str(p) for p in pd.period_range(start, periods=x.shape[1], freq="M")]
    return pd.DataFrame(x, index=[f"c{i}" for i in range(x.shape[0])], columns=pd.Index(months, name="month"))


def _moving(seed: int = 2, months: int = 13) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.poisson(0.05, size=(1600, months)).astype(float)
    for start in range(0, months, 2):
        hot = rng.choice(1600, size=80, replace=False)
        for t in range(start, min(start + 2, months)):
            x[hot, t] += rng.poisson(6.0, size=80)
    return _frame(x)


def _smooth_field(seed: int = 5, months: int = 14) -> pd.DataFrame:
    """Risk is a smooth surface (bumps ~600 m wide), counts sparse: a kernel density should beat raw counts."""
    rng = np.random.default_rng(seed)
    x, y = _grid()
    lam = np.zeros(x.size)
    for cx, cy in rng.uniform([530000, 180000], [536000, 186000], size=(12, 2)):
        lam += np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * 400.0 ** 2))
    lam = 0.15 * lam / lam.mean()
    return _frame(rng.poisson(lam[:, None], size=(x.size, months)).astype(float))


@pytest.fixture(autouse=True)
def _fresh_cache():
    FS._CACHE.clear()
    yield
    FS._CACHE.clear()


def test_known_best_method_is_found_on_a_smooth_field():
    c = FS.select_forecaster(_smooth_field(), centres=_grid())
    assert c.fallback is None and c.guard is None
    assert c.method.startswith(("kde_", "blend", "prospective")), c.scores
    assert c.scores["kde_400"] > c.scores["counts_all"] + 0.03
    assert c.nested_gain is not None and c.nested_gain > 0


def test_guard_replays_the_rule_without_the_later_origins():
    bt = FS.select_with_table(_moving(), centres=_grid())[1]
    assert bt is not None
    g = FS.guard_gains(bt.table)
    assert len(g) == len(bt.table) - FS.GUARD_MIN_PRIOR
    # the pick at each replayed origin is what the rule says on the earlier origins alone
    for _, row in g.iterrows():
        j = list(bt.table.index).index(row["origin"])
        assert row["pick"] == FS.one_se_winner(bt.table.iloc[:j])
        changed = bt.table.copy()
        changed.iloc[j:] = 0.0  # the origin scored and those after it cannot change the replayed pick
        assert FS.one_se_winner(changed.iloc[:j]) == row["pick"]


def test_guard_keeps_counts_when_the_rule_did_not_pay_off_out_of_sample():
    # A table where a candidate leads on average only thanks to the first origins: replayed, it loses.
    t = pd.DataFrame({"counts_all": [0.30] * 8, "last_1": [0.2] * 8,
                      "ewm_h1": [0.90, 0.90, 0.29, 0.29, 0.29, 0.29, 0.29, 0.29]}, index=range(2, 10))
    assert FS.one_se_winner(t) == "ewm_h1"
    w, why, gain = FS.guarded_winner(t)
    assert w == "counts_all" and "did not beat plain counts" in why and gain < 0
    c = FS.ForecastChoice(method=w, params={}, hit_rate=0.3, runner_up="ewm_h1", runner_up_hit_rate=0.44,
                          counts_all_hit_rate=0.3, last_month_hit_rate=0.2, months=12, origins=8,
                          first_month="2025-01", last_month="2025-12", coverage=0.05, data_version="v",
                          guard=why, excluded_months=["2025-03"])
    text = FS.describe_choice(c, group="burglary")
    assert "counts over all earlier months for burglary" in text and "Ewm_h1 led the backtest" in text
    assert "2025-03 left out (published low)" in text
    # ... and lets a steady winner through
    t2 = t.assign(ewm_h1=[0.4] * 8)
    t2.iloc[::2, 2] = 0.41
    assert FS.guarded_winner(t2)[0] == "ewm_h1"


def test_nested_selection_never_reads_the_forecast_month():
    counts = _moving(months=12)
    hist = counts.iloc[:, :-1]
    a = FS.select_forecaster(hist, centres=_grid())
    spoilt = counts.copy()
    spoilt.iloc[:, -1] = np.arange(len(counts))[::-1] * 100.0
    b = FS.select_forecaster(spoilt.iloc[:, :-1], centres=_grid())
    assert a.to_json() == b.to_json()
    assert a.last_month == "2024-11"


def test_selection_is_reproducible_across_processes_of_the_same_data():
    a = FS.select_forecaster(_smooth_field(), centres=_grid(), group="burglary")
    FS._CACHE.clear()
    b = FS.select_forecaster(_smooth_field(), centres=_grid(), group="burglary")
    assert a == b and a.data_version == b.data_version


# ------------------------------------------------------------------ low months (real West Kent data)

@pytest.fixture(scope="module")
def kent_points() -> pd.DataFrame:
    from spatial.backtest import read_policeuk_quick

    files = sorted(WK.glob("201*-kent-street-west-kent.csv"))
    if not files:
        pytest.fail(f"West Kent police.uk files are missing under {WK}")
    return read_policeuk_quick(files)


def test_low_months_found_on_west_kent_and_kept_out_of_training(kent_points):
    assert incident_low_months(kent_points) == ["2018-11", "2018-12"]
    counts = incident_month_counts(kent_points)
    assert counts.loc["2018-12"].sum() < 0.5 * counts.loc["2018-10"].sum()
    note = low_months_note(["2018-11", "2018-12"])
    assert "2018-11, 2018-12" in note and "police.uk" in note
    # a forecast of cells: the low months drop out of the history the selection and the model see
    pts = kent_points.assign(cell=(np.floor(kent_points["x"] / 2000).astype(int).astype(str) + "_"
                                   + np.floor(kent_points["y"] / 2000).astype(int).astype(str)))
    tab = pd.crosstab(pts["cell"], pts["month"]).astype(float)
    xy = np.array([[float(v) * 2000 + 1000 for v in c.split("_")] for c in tab.index])
    s = FS.auto_forecast(tab, centres=(xy[:, 0], xy[:, 1]), exclude_months=["2018-11", "2018-12"])
    ch = s.attrs["choice"]
    assert ch["months"] == tab.shape[1] - 2 and ch["excluded_months"] == ["2018-11", "2018-12"]
    kept = tab.drop(columns=["2018-11", "2018-12"])
    assert s.sum() == pytest.approx(kept.to_numpy().sum() / kept.shape[1])


def test_plan_forecast_leaves_the_low_months_out(kent_points):
    import geopandas as gpd
    import shapely

    from tasking.pipeline import forecast_and_trends

    # Tunbridge Wells town centre, 3 km square
    box = shapely.box(557500, 138000, 560500, 141000)
    inside = shapely.contains_xy(box, kent_points["x"].to_numpy(), kent_points["y"].to_numpy())
    pts = kent_points.loc[inside].reset_index(drop=True)
    assert incident_low_months(pts) == ["2018-11", "2018-12"]
    area = gpd.GeoDataFrame({"name": ["box"]}, geometry=[box], crs=27700)
    harm, trend, note = forecast_and_trends(pts, area, cell_size_m=250.0, min_months=5)
    assert harm is not None and trend is not None
    assert "Left out of baselines, forecasts and trends: 2018-11, 2018-12" in note
    assert "from 5 months (2018-10..2019-11" in note
    # with the low months the history would have 7 months; without them the default needs 6 and says so
    assert forecast_and_trends(pts, area, cell_size_m=250.0)[0] is None


# ------------------------------------------------------------------ the store of choices

def test_choice_is_stored_read_back_and_refreshed_with_new_months(db_url):
    from spatial.store import connect
    from spatial.store.forecast_choices import DbChoiceStore, choices

    engine = connect(db_url)
    store = DbChoiceStore(engine)
    counts = _moving(months=12)
    s1 = FS.auto_forecast(counts.iloc[:, :-1], centres=_grid(), group="burglary", area="E07000115",
                          choice_store=store)
    assert s1.attrs["choice_from"] == "selected"
    FS._CACHE.clear()  # another process: no in-memory cache
    s1b = FS.auto_forecast(counts.iloc[:, :-1], centres=_grid(), group="burglary", area="E07000115",
                           choice_store=store)
    assert s1b.attrs["choice_from"] == "store" and s1b.attrs["choice"] == s1.attrs["choice"]
    assert np.array_equal(s1.to_numpy(), s1b.to_numpy())
    tab = choices(engine, area="E07000115")
    assert len(tab) == 1 and tab.loc[0, "crime_group"] == "burglary"
    assert tab.loc[0, "method"] == s1.attrs["choice"]["method"]
    assert tab.loc[0, "data_version"] == s1.attrs["choice"]["data_version"]
    # a new month ingested: the stored choice is stale, selection runs again and replaces the row
    FS._CACHE.clear()
    s2 = FS.auto_forecast(counts, centres=_grid(), group="burglary", area="E07000115", choice_store=store)
    assert s2.attrs["choice_from"] == "selected"
    tab2 = choices(engine, area="E07000115")
    assert len(tab2) == 1 and tab2.loc[0, "data_version"] == s2.attrs["choice"]["data_version"]
    assert tab2.loc[0, "data_version"] != tab.loc[0, "data_version"] and tab2.loc[0, "months"] == 12


def test_the_plan_reads_its_forecaster_back_from_the_store(kent_points, sqlite_url):
    import geopandas as gpd
    import shapely

    from spatial.store import connect
    from spatial.store.forecast_choices import DbChoiceStore, choices
    from tasking.pipeline import forecast_and_trends

    box = shapely.box(557500, 138000, 560500, 141000)
    inside = shapely.contains_xy(box, kent_points["x"].to_numpy(), kent_points["y"].to_numpy())
    pts = kent_points.loc[inside].reset_index(drop=True)
    area = gpd.GeoDataFrame({"name": ["box"]}, geometry=[box], crs=27700)
    engine = connect(sqlite_url)
    store = DbChoiceStore(engine)
    h1, _, n1 = forecast_and_trends(pts, area, cell_size_m=250.0, min_months=5, choice_store=store, area_key="TW")
    tab = choices(engine, area="TW")
    assert list(tab["crime_group"]) == ["harm-cchi"] and tab.loc[0, "months"] == 5
    FS._CACHE.clear()
    h2, _, n2 = forecast_and_trends(pts, area, cell_size_m=250.0, min_months=5, choice_store=store, area_key="TW")
    assert n1 == n2 and np.array_equal(h1.to_numpy(), h2.to_numpy())
    assert tab.loc[0, "method"] in n1 and len(choices(engine)) == 1
