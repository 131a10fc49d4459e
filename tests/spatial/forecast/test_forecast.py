"""Forecasters: interface, arithmetic on tiny grids, proactive exclusion, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spatial._errors import CRSError, HotspotError, SchemaError
from spatial.forecast import (
    FORECASTERS,
    boosted,
    forecast,
    last_period,
    monthly_counts,
    next_period,
    prospective,
    recency_kde,
)


def _grid(n: int = 5, size: float = 150.0) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    cols, rows = np.meshgrid(np.arange(n), np.arange(n))
    x = 530_000 + size * cols.ravel() + size / 2
    y = 180_000 + size * rows.ravel() + size / 2
    return x, y, pd.Index([f"c{i}" for i in range(n * n)])


def _history(units: pd.Index, months: int = 4) -> pd.DataFrame:
    h = pd.DataFrame(0.0, index=units, columns=[f"2018-{m:02d}" for m in range(1, months + 1)])
    return h


def test_last_period_and_interface() -> None:
    x, y, units = _grid()
    h = _history(units)
    h.loc["c3", "2018-04"] = 2
    h.attrs["excluded_categories"] = ["drugs"]
    for name, fc in FORECASTERS.items():
        s = fc(h, centres=(x, y))
        assert isinstance(s, pd.Series) and s.index.equals(units), name
        assert np.all(np.isfinite(s)), name
        assert s.attrs["method"] == name and s.attrs["excluded_categories"] == ["drugs"], name
    assert last_period(h)["c3"] == 2 and last_period(h).drop("c3").eq(0).all()


def test_prospective_weights_by_hand() -> None:
    x, y, units = _grid()
    h = _history(units)
    centre = "c12"  # middle of the 5 x 5 grid
    h.loc[centre, "2018-04"] = 1  # age t = 0
    h.loc[centre, "2018-03"] = 1  # age t = 1
    h.loc[centre, "2018-01"] = 5  # age 3: outside the 2-month bandwidth
    s = prospective(h, centres=(x, y), bandwidth_m=400, bandwidth_periods=2, cell_size_m=150)
    # Own cell: d = 0 -> 1/(1*1) + 1/(1*2) = 1.5.
    assert s[centre] == pytest.approx(1.5)
    # Neighbour one cell east: d = 1 -> 1/2 + 1/(2*2) = 0.75.
    assert s["c13"] == pytest.approx(0.75)
    # Diagonal: d = sqrt(2) cell widths (212 m <= 400 m) -> 1.5 / (1 + sqrt 2).
    assert s["c18"] == pytest.approx(1.5 / (1 + np.sqrt(2)))
    # Three cells away (450 m > 400 m): nothing.
    assert s["c0"] == 0


def test_recency_kde_quartic_and_decay() -> None:
    x, y, units = _grid()
    h = _history(units)
    h.loc["c12", "2018-04"] = 1
    h.loc["c12", "2018-02"] = 1  # age 2, half-life 2 -> weight 0.5
    s = recency_kde(h, centres=(x, y), bandwidth_m=250, half_life_periods=2)
    k0 = 3 / (np.pi * 250**2)
    assert s["c12"] == pytest.approx(1.5 * k0)
    assert s["c13"] == pytest.approx(1.5 * k0 * (1 - (150 / 250) ** 2) ** 2)
    assert s["c14"] == 0  # 300 m > bandwidth


def test_boosted_is_deterministic_and_ranks_busy_cells_first() -> None:
    x, y, units = _grid(8)
    rng = np.random.default_rng(0)
    rate = np.full(len(units), 0.05)
    rate[:6] = 4.0  # six busy cells
    h = pd.DataFrame(rng.poisson(rate[:, None], (len(units), 9)).astype(float), index=units,
                     columns=[str(p) for p in pd.period_range("2018-01", periods=9, freq="M")])
    a = boosted(h, centres=(x, y))
    b = boosted(h, centres=(x, y))
    assert a.equals(b)
    assert set(a.nlargest(6).index) == set(units[:6])
    f = forecast(h, centres=(x, y), method="boosted")
    assert f.attrs["target_period"] == "2018-10" and f.attrs["method"] == "boosted"
    # The default (issue 16) is the selection on this history; it too ranks the busy cells first.
    d = forecast(h, centres=(x, y))
    assert d.attrs["target_period"] == "2018-10" and d.attrs["method"] == "auto"
    assert set(d.nlargest(6).index) == set(units[:6])


def test_monthly_counts_excludes_proactive_and_records_it() -> None:
    inc = pd.DataFrame({"month": ["2018-01", "2018-01", "2018-03", "2018-03"],
                        "category": ["burglary", "drugs", "possession-of-weapons", "robbery"],
                        "proactive": [False, True, True, False],
                        "ward_code": ["a", "a", "b", "b"]})
    c = monthly_counts(inc, ["a", "b", "c"])
    assert c.columns.tolist() == ["2018-01", "2018-02", "2018-03"]  # gap month filled
    assert c.loc["a"].tolist() == [1, 0, 0] and c.loc["b"].tolist() == [0, 0, 1]
    assert c.loc["c"].sum() == 0
    assert {"drugs", "possession-of-weapons"} <= set(c.attrs["excluded_categories"])
    assert c.attrs["exclude_proactive"] is True
    s = last_period(c)
    assert s.attrs["exclude_proactive"] is True
    kept = monthly_counts(inc, ["a", "b"], exclude_proactive=False)
    assert kept.to_numpy().sum() == 4 and kept.attrs["excluded_categories"] == []


def test_errors() -> None:
    x, y, units = _grid()
    h = _history(units)
    with pytest.raises(HotspotError, match="centres"):
        recency_kde(h, centres=None)  # type: ignore[arg-type]
    with pytest.raises(CRSError, match="27700"):
        prospective(h, centres=(np.full(25, -0.2), np.full(25, 51.5)))
    with pytest.raises(SchemaError, match="one centre per row"):
        prospective(h, centres=(x[:3], y[:3]))
    with pytest.raises(HotspotError, match="expected to be one of"):
        forecast(h, centres=(x, y), method="magic")
    assert next_period("2018-12") == "2019-01"
