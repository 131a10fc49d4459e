"""MPS ward series spliced from the bundled releases (real data, expectations computed with pandas)."""

from __future__ import annotations

import pandas as pd
import pytest

from spatial._errors import SchemaError
from spatial.config import Settings
from spatial.datasets import bundled_mps_tables
from spatial.ingest import ingest_paths
from spatial.ingest.pipeline import default_attributor
from spatial.series import RBKC_WARD_PRIORITY, monthly_matrix, splice_series
from spatial.store import connect
from spatial.store.queries import area_counts

NOW = pd.Timestamp("2026-11-23", tz="Europe/London")


@pytest.fixture(scope="module")
def ward_long(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('series')}/s.sqlite"
    settings = Settings(database_url=url)
    engine = connect(url)
    reports = ingest_paths(engine, bundled_mps_tables(), settings=settings, now=NOW,
                           attributor=default_attributor(engine, settings))
    assert all(r.status == "complete" and r.reconciles for r in reports)
    return area_counts(engine, area_type="ward")


def _file_month_total(data_dir, name: str, month: str) -> int:
    df = pd.read_csv(data_dir / "mps" / f"{name}.csv")
    return int(df[month.replace("-", "")].sum())


def test_rbkc_ward_series_is_continuous_from_april_2010_to_march_2026(ward_long):
    series = splice_series(ward_long, priority=RBKC_WARD_PRIORITY)
    table = monthly_matrix(series)
    expected = pd.period_range("2010-04", "2026-03", freq="M").strftime("%Y-%m").tolist()
    assert table.columns.tolist() == expected
    assert len(table) == 18
    assert (table.sum(axis=0) > 0).all()  # no artefact zero months survive


def test_each_month_comes_from_the_preferred_release(ward_long, data_dir):
    series = splice_series(ward_long, priority=RBKC_WARD_PRIORITY)
    total = series.groupby("month")["count"].sum()
    # 2024-02 is in the historical file and (as all zeros) in the first rolling release
    assert total["2024-02"] == _file_month_total(data_dir, RBKC_WARD_PRIORITY[0], "2024-02")
    # 2025-06 is in both rolling releases: the first listed wins
    assert total["2025-06"] == _file_month_total(data_dir, RBKC_WARD_PRIORITY[1], "2025-06")
    # 2026-03 exists only in the last release
    assert total["2026-03"] == _file_month_total(data_dir, RBKC_WARD_PRIORITY[2], "2026-03")
    chosen = series.groupby("month")["dataset"].unique()
    assert all(len(v) == 1 for v in chosen)


def test_covid_lockdown_is_the_lowest_month(ward_long):
    """data/SOURCES.md: the lowest RBKC month is 2020-04 with 882 recorded crimes."""
    total = splice_series(ward_long, priority=RBKC_WARD_PRIORITY).groupby("month")["count"].sum()
    assert total.idxmin() == "2020-04"
    assert total.min() == 882


def test_groups_and_flags_come_from_the_mapping_file(ward_long):
    series = splice_series(ward_long, priority=RBKC_WARD_PRIORITY)
    sexual = series[series["major"] == "SEXUAL OFFENCES"]
    assert sexual["sensitive"].all() and (sexual["group"] == "violence-sexual").all()
    drugs = series[series["major"] == "DRUG OFFENCES"]
    assert drugs["proactive"].all()
    all_crime = monthly_matrix(series)
    no_proactive = monthly_matrix(series, include_proactive=False)
    assert (no_proactive.to_numpy() <= all_crime.to_numpy()).all()
    assert no_proactive.to_numpy().sum() == all_crime.to_numpy().sum() - int(series[series["proactive"]]["count"].sum())


def test_unknown_release_is_a_clear_error(ward_long):
    with pytest.raises(SchemaError, match="not in the area counts"):
        splice_series(ward_long, priority=["no-such-release"])
