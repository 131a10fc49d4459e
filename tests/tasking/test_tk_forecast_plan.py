"""With six or more months of incidents the plan's expected harm is a forecast and patches carry trends.

Real data: the bundled police.uk API extract for Hammersmith & Fulham (12 months, 2017-07..2018-06),
ingested into a throwaway SQLite store.  The roster is the bundled RBKC file with its wardens moved
to H&F wards (a test fixture, not a real roster)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spatial.datasets import HAMMERSMITH_FULHAM, load_boroughs, load_wards
from spatial.trends import CLASSES
from tasking.pipeline import MIN_FORECAST_MONTHS, forecast_and_trends, plan_week
from tasking.resources import load_roster

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def hf(tmp_path_factory):
    from hotspot_cli.main import main as spatial_main
    from spatial.store import connect
    from spatial.store.queries import incident_frame

    url = f"sqlite:///{tmp_path_factory.mktemp('hf') / 'hotspot.sqlite'}"
    assert spatial_main(["--database", url, "ingest", str(REPO / "data" / "policeuk" / "neighbours_api"),
                         "--quiet"]) == 0
    wards = load_wards((HAMMERSMITH_FULHAM,))
    inc = incident_frame(connect(url), include_sensitive=False)
    inc = inc[inc["ward_code"].isin(wards["ward_code"])].reset_index(drop=True)
    return inc, wards, load_boroughs((HAMMERSMITH_FULHAM,))


def test_forecast_and_trends_need_six_months(hf):
    inc, _wards, area = hf
    months = sorted(inc["month"].unique())
    assert len(months) == 12
    few = inc[inc["month"].isin(months[-(MIN_FORECAST_MONTHS - 1):])]
    cell, trend, note = forecast_and_trends(few, area)
    assert cell is None and trend is None and "at least 6 months" in note
    cell, trend, note = forecast_and_trends(inc, area)
    # The default forecaster is the selection on this borough's months (issue 16), named in the note.
    assert "expected harm = auto (" in note and "forecast of 2018-07" in note and "proactive categories left out" in note
    assert "This area uses" in note and "backtest hit rate" in note
    assert cell.index.equals(trend.index) and len(cell) > 100
    assert (cell >= 0).all() and cell.sum() > 0
    assert set(trend.unique()) <= set(CLASSES)
    assert (trend != "no pattern").any()  # 12 months of a busy borough: some cells have a class
    # the forecast follows the data: the top 5 % of cells by forecast hold far more than 5 % of last month's harm
    from spatial.areas import cell_period_counts
    from spatial.grids import square_grid
    from spatial.harm import harm_weight

    grid = square_grid(area, cell_size_m=150)
    last = inc[inc["month"] == months[-1]]
    h = cell_period_counts(last, grid, periods=[months[-1]], weights=harm_weight(last["category"]))
    h = pd.Series(h.iloc[:, 0].to_numpy(), index=grid["cell_id"].astype(str))
    top = cell.sort_values(ascending=False).index[: max(1, len(cell) // 20)]
    assert h.reindex(top).sum() / h.sum() > 0.2


def test_plan_uses_the_forecast_for_street_patches(hf):
    inc, wards, area = hf
    base = load_roster()
    wardens = tuple(dataclasses.replace(w, agent_id=f"H{i:02d}", home_ward_code=code, home_ward_name=None)
                    for i, (w, code) in enumerate(zip(base.wardens * 2, wards["ward_code"], strict=False)))
    roster = dataclasses.replace(base, wardens=wardens, borough_code=HAMMERSMITH_FULHAM, source="test: RBKC roster on H&F wards")
    # presence once a week: a fixture roster on wards it was not designed for cannot cover every ward daily
    plan = plan_week(inc, roster=roster, wards=wards, area=area, week="2026-W48", cctv=False, time_limit_s=60,
                     presence="week")
    assert plan["check"]["ok"]
    assert any(n.startswith("expected harm = auto (") for n in plan["notes"])
    cell, trend, _ = forecast_and_trends(inc, area)
    street = [c for c in plan["candidates"] if c["place_type"] == "street" and c["cells"]]  # not presence points
    assert street
    for c in street:
        cells = [x for x in str(c["cells"]).split(",") if x]
        assert c["expected_harm_week"] == pytest.approx(float(cell.reindex(cells).fillna(0).sum()), rel=1e-9)
        hottest = cells[0]
        assert c["trend_class"] == (trend[hottest] if isinstance(trend[hottest], str) else None)
    assert np.isfinite(plan["gap"])
