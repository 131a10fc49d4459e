"""Weekly forecasting for timestamped council logs (issue 3: "week for timestamped data")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spatial.config import Settings
from spatial.evaluation import rolling_origin_backtest
from spatial.forecast import boosted, last_period, next_period, weekly_counts
from spatial.ingest import ingest_paths, load_mapping
from spatial.ingest.pipeline import default_attributor
from spatial.store import connect
from spatial.store.queries import incident_frame

REPO = Path(__file__).resolve().parents[3]
LOG = REPO / "data" / "synthetic" / "rbkc_council_asb_log_SYNTHETIC.csv"
MAPPING = REPO / "data" / "synthetic" / "rbkc_council_asb_log_SYNTHETIC.mapping.yaml"
API_JUNE = REPO / "data" / "policeuk" / "rbkc_api_2018-06"
NOW = pd.Timestamp("2026-11-23", tz="Europe/London")


@pytest.fixture(scope="module")
def incidents(tmp_path_factory) -> pd.DataFrame:
    url = f"sqlite:///{tmp_path_factory.mktemp('weekly')}/w.sqlite"
    settings = Settings(database_url=url)
    engine = connect(url)
    att = default_attributor(engine, settings)
    for path, mapping in ((LOG, load_mapping(MAPPING)), (API_JUNE, None)):
        reports = ingest_paths(engine, [path], settings=settings, now=NOW, attributor=att, mapping=mapping)
        assert all(r.status == "complete" for r in reports)
    return incident_frame(engine, include_sensitive=False)


def test_weeks_match_the_log_and_police_uk_months_are_left_out(incidents):
    wards = sorted(incidents["ward_code"].dropna().unique())
    table = weekly_counts(incidents, wards, exclude_proactive=False)
    raw = pd.read_csv(LOG, dtype=str)
    local = pd.to_datetime(raw["Date Reported"] + " " + raw["Time Reported"], format="%d/%m/%Y %H:%M")
    iso = local.dt.isocalendar()
    expected = (iso["year"].astype(str) + "-W" + iso["week"].astype(int).map("{:02d}".format)).value_counts()
    got = table.sum(axis=0)
    # every incident of the log that has a ward is counted in its ISO week (London wall-clock time)
    in_wards = incidents["source"].eq("rbkc-council-asb-synthetic") & incidents["ward_code"].notna()
    assert int(got.sum()) == int(in_wards.sum())
    assert (got.reindex(expected.index, fill_value=0) <= expected).all()
    assert got.index[0] == expected.index.min() and got.index[-1] == expected.index.max()
    # police.uk rows are known only to the month: none is placed in a week
    n_police = int(incidents["source"].eq("police.uk").sum())
    assert table.attrs["excluded_imprecise"] == n_police > 0
    # consecutive weeks, no gaps
    assert all(next_period(a) == b for a, b in zip(got.index[:-1], got.index[1:]))


def test_iso_week_rollover():
    assert next_period("2026-W53") == "2027-W01"
    assert next_period("2026-W01") == "2026-W02"
    assert next_period("2018-12") == "2019-01"


def test_weekly_backtest_runs_and_scores_are_finite(incidents):
    wards = sorted(incidents["ward_code"].dropna().unique())
    table = weekly_counts(incidents, wards, exclude_proactive=False)
    centres = incidents.groupby("ward_code")[["x", "y"]].mean().reindex(wards)
    xy = (centres["x"].to_numpy(), centres["y"].to_numpy())
    history = table.iloc[:, :-1]
    for f in (last_period, boosted):
        scores = f(history, centres=xy)
        assert len(scores) == len(wards) and np.isfinite(scores.to_numpy()).all()
    bt = rolling_origin_backtest(table.iloc[:, -10:], {"last_period": last_period},
                                 areas=pd.Series(1.0, index=table.index), min_train=6, coverages=(0.2,))
    assert len(bt) > 0
    assert np.isfinite(bt["hit_rate"].to_numpy(dtype=float)).all()
