"""Hit rate, PAI and PEI on hand-computed examples; the rolling-origin backtest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spatial._errors import HotspotError, SchemaError
from spatial.evaluation import (
    evaluate,
    hit_rate,
    pai,
    pei,
    rolling_origin_backtest,
    select_top,
    summarise_backtest,
)


def test_equal_cells_hand_computed() -> None:
    # 10 equal cells; coverage 20 % -> floor(0.2 * 10) = 2 cells.
    scores = [9, 1, 8, 0, 0, 3, 0, 0, 0, 2]
    actual = [3, 0, 1, 6, 0, 2, 0, 0, 0, 0]  # N = 12
    # Top 2 by score: cells 0 (score 9) and 2 (score 8) -> n = 3 + 1 = 4.
    assert hit_rate(scores, actual, coverage=0.2) == pytest.approx(4 / 12)
    # PAI = (n/N) / (a/A) = (4/12) / (2/10) = 1.6667.
    assert pai(scores, actual, coverage=0.2) == pytest.approx((4 / 12) / (2 / 10))
    # Best 2 cells by actual: 6 + 3 = 9 = n*, so PEI = 4/9.
    assert pei(scores, actual, coverage=0.2) == pytest.approx(4 / 9)


def test_unequal_areas_select_by_area_share() -> None:
    scores = pd.Series([5.0, 4.0, 3.0, 2.0], index=list("abcd"))
    actual = pd.Series([1.0, 4.0, 2.0, 3.0], index=list("abcd"))
    areas = pd.Series([10.0, 30.0, 20.0, 40.0], index=list("abcd"))  # A = 100
    # Coverage 0.4 -> budget 40: a (10) then b (cumulative 40) fit; c would make 60.
    sel = select_top(scores, coverage=0.4, areas=areas)
    assert sel.tolist() == [True, True, False, False]
    # n = 1 + 4 = 5 of N = 10 -> hit rate 0.5; a/A = 40/100 -> PAI = 1.25.
    assert hit_rate(scores, actual, coverage=0.4, areas=areas) == pytest.approx(0.5)
    assert pai(scores, actual, coverage=0.4, areas=areas) == pytest.approx(0.5 / 0.4)
    # Oracle n* within the selected area 40, greedy by density count/area:
    # b = 4/30 = .133, c = 2/20 = .1, a = 1/10 = .1 (tie: higher count first), d = 3/40 = .075.
    # Take b (area 30), skip c (30 + 20 > 40), take a (area 40) -> n* = 4 + 1 = 5, PEI = 5/5.
    assert pei(scores, actual, coverage=0.4, areas=areas) == pytest.approx(5 / 5)
    # Coverage 0.35 -> budget 35: a (10) fits, b would make 40 -> stop at first overshoot: only a.
    assert select_top(scores, coverage=0.35, areas=areas).tolist() == [True, False, False, False]
    assert pai(scores, actual, coverage=0.35, areas=areas) == pytest.approx((1 / 10) / (10 / 100))


def test_ties_broken_by_input_order() -> None:
    scores = [1.0, 2.0, 2.0, 2.0, 0.0]
    # Coverage 0.4 of 5 equal cells -> 2 cells: the tied 2.0s at positions 1 and 2 (first in input order).
    assert select_top(scores, coverage=0.4).tolist() == [False, True, True, False, False]
    actual = [0, 0, 0, 5, 0]
    assert hit_rate(scores, actual, coverage=0.4) == 0.0
    # Reversing the input puts the busy cell first among the ties.
    assert hit_rate(scores[::-1], actual[::-1], coverage=0.4) == 1.0


def test_evaluate_frame_and_series_alignment() -> None:
    scores = pd.Series([1.0, 3.0, 2.0, 0.0], index=["w", "x", "y", "z"])
    actual = pd.Series([0, 2, 1, 1], index=["z", "y", "x", "w"])  # shuffled: aligned on index
    df = evaluate(scores, actual, coverages=(0.25, 0.5))
    assert list(df["coverage"]) == [0.25, 0.5]
    # 25 %: x (actual 1) -> 1/4; 50 %: x, y (1 + 2) -> 3/4.
    assert df["hit_rate"].tolist() == pytest.approx([0.25, 0.75])
    assert df["pai"].tolist() == pytest.approx([1.0, 1.5])


def test_no_incidents_gives_nan_and_bad_inputs_raise() -> None:
    assert np.isnan(hit_rate([1, 2], [0, 0], coverage=0.5))
    with pytest.raises(HotspotError, match="coverage"):
        hit_rate([1, 2], [1, 0], coverage=0)
    with pytest.raises(HotspotError, match="finite"):
        hit_rate([np.nan, 2], [1, 0], coverage=0.5)
    with pytest.raises(SchemaError, match="units"):
        hit_rate([1, 2, 3], [1, 0], coverage=0.5)
    with pytest.raises(HotspotError, match="areas"):
        hit_rate([1, 2], [1, 0], coverage=0.5, areas=[1, 0])


def test_rolling_origin_backtest_uses_only_history() -> None:
    counts = pd.DataFrame(np.arange(24).reshape(3, 8) % 5, index=["a", "b", "c"],
                          columns=[f"2018-0{i}" for i in range(1, 9)])
    seen: list[int] = []

    def spy(history: pd.DataFrame) -> pd.Series:
        seen.append(history.shape[1])
        return history.iloc[:, -1]

    res = rolling_origin_backtest(counts, {"last": spy}, min_train=6, coverages=(0.34, 0.67))
    assert seen == [6, 7]
    assert res["target"].unique().tolist() == ["2018-07", "2018-08"]
    assert len(res) == 2 * 2
    summ = summarise_backtest(res)
    assert summ["origins"].tolist() == [2, 2]
    with pytest.raises(HotspotError, match="min_train"):
        rolling_origin_backtest(counts, {"last": spy}, min_train=8)
