"""Secondary suppression (spatial/disclosure.py): no hidden sensitive count can be worked out from what is shown.

The attacker here is written independently of the module: it takes only what a
reader sees (published cells, published totals, the labels "fewer than 5" =
1..4 and "withheld" = at least 1, or at least 5 in a sensitive column) and
solves the linear programme for each hidden cell's smallest and largest value.
A cell is recovered when both are equal.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from spatial.disclosure import WITHHELD, protect_frame, protect_table
from spatial.hotspots import league_table


def attacker_bounds(values: np.ndarray, shown: np.ndarray, labels: np.ndarray, sensitive_cols: np.ndarray,
                    row_totals: np.ndarray, col_totals: np.ndarray, grand: bool) -> dict[tuple[int, int], tuple[float, float]]:
    """Min and max of every hidden cell from the published figures only (values of hidden cells are NOT read)."""
    hidden = [(i, j) for i in range(values.shape[0]) for j in range(values.shape[1]) if not shown[i, j]]
    if not hidden:
        return {}
    col = {c: k for k, c in enumerate(hidden)}
    public = np.where(shown, values, 0)
    a_eq, b_eq = [], []
    # the totals a reader sees are the true totals; the published cells are known
    lines: list[tuple[list[tuple[int, int]], float]] = []
    for i in range(values.shape[0]):
        if row_totals[i]:
            lines.append(([(i, j) for j in range(values.shape[1])], float(values[i].sum())))
    for j in range(values.shape[1]):
        if col_totals[j]:
            lines.append(([(i, j) for i in range(values.shape[0])], float(values[:, j].sum())))
    if grand:
        lines.append(([(i, j) for i in range(values.shape[0]) for j in range(values.shape[1])], float(values.sum())))
    for members, total in lines:
        row = np.zeros(len(hidden))
        known = 0.0
        for m in members:
            if m in col:
                row[col[m]] = 1
            else:
                known += public[m]
        if row.any():
            a_eq.append(row)
            b_eq.append(total - known)
    bounds = []
    for i, j in hidden:
        if labels[i, j] == "fewer than 5":
            bounds.append((1, 4))
        else:
            bounds.append((5 if sensitive_cols[j] else 1, None))
    out = {}
    for c, k in col.items():
        cost = np.zeros(len(hidden))
        cost[k] = 1
        if not a_eq:
            out[c] = (bounds[k][0], np.inf)
            continue
        lo = linprog(cost, A_eq=np.array(a_eq), b_eq=np.array(b_eq), bounds=bounds, method="highs")
        hi = linprog(-cost, A_eq=np.array(a_eq), b_eq=np.array(b_eq), bounds=bounds, method="highs")
        assert lo.status == 0, lo.message  # the true table is feasible
        out[c] = (lo.fun, np.inf if hi.status == 3 else -hi.fun)
    return out


def _labels(values: np.ndarray, p) -> np.ndarray:
    lab = values.astype(str).astype(object)
    lab[p.primary] = "fewer than 5"
    lab[p.secondary] = WITHHELD
    return lab


def test_the_norland_attack_a_lone_small_count_is_no_longer_the_total_minus_the_rest() -> None:
    # HAND-MADE: 18 wards' sensitive counts, Norland's is 3 and the borough total (400) is public
    counts = np.array([[3]] + [[v] for v in [12, 19, 22, 25, 18, 30, 27, 21, 16, 24, 29, 20, 26, 23, 28, 31, 26]])
    assert counts.sum() == 400 and counts[1:].sum() == 397
    sens = np.array([True])
    p = protect_table(counts, sens)
    assert p.primary[0, 0] and p.primary.sum() == 1
    assert p.secondary.sum() == 1 and p.secondary[1, 0]  # the next-smallest ward, 12
    b = attacker_bounds(counts, ~p.hidden, _labels(counts, p), sens, p.row_totals, p.col_totals, p.grand_total)
    lo, hi = b[(0, 0)]
    assert hi - lo >= 1, (lo, hi)  # 3 can no longer be told from 1..4


def test_without_secondary_suppression_the_attacker_recovers_the_cell() -> None:
    # the attacker test itself must be able to fail: primary suppression alone gives the cell away
    counts = np.array([[3], [12], [40]])
    shown = np.array([[False], [True], [True]])
    lab = np.array([["fewer than 5"], ["12"], ["40"]], dtype=object)
    b = attacker_bounds(counts, shown, lab, np.array([True]), np.zeros(3, bool), np.array([True]), True)
    assert b[(0, 0)] == (3, 3)


def test_two_small_cells_that_pin_each_other_get_a_third() -> None:
    # 1 + 1 = 2 with both in 1..4 gives both away; a third, larger cell must be hidden too
    counts = np.array([[1], [1], [30], [50]])
    p = protect_table(counts, np.array([True]))
    assert p.primary[:2, 0].all() and p.secondary[2, 0] and not p.hidden[3, 0]


def test_a_column_with_nothing_else_to_hide_withholds_its_total() -> None:
    counts = np.array([[3, 10], [0, 20]])
    p = protect_table(counts, np.array([True, False]))
    assert p.primary[0, 0] and not p.secondary.any()
    assert not p.col_totals[0] and not p.grand_total or not p.row_totals[0]
    b = attacker_bounds(counts, ~p.hidden, _labels(counts, p), np.array([True, False]), p.row_totals,
                        p.col_totals, p.grand_total)
    assert b[(0, 0)][1] - b[(0, 0)][0] >= 1


def test_protect_frame_labels_primary_and_secondary_cells() -> None:
    t = pd.DataFrame({"violence": [2, 9, 40], "theft": [1, 5, 6]}, index=["A", "B", "C"])
    shown, p = protect_frame(t, ["violence"], row_totals=False)
    assert shown.loc["A", "violence"] == "fewer than 5" and shown.loc["B", "violence"] == WITHHELD
    assert shown.loc["A", "theft"] == "1"  # non-sensitive small counts stay published
    assert shown.loc["C", "violence"] == "40"


def test_bad_tables_are_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="counts >= 0"):
        protect_table(np.array([[-1]]), np.array([True]))
    with pytest.raises(ValueError, match="rows, cols"):
        protect_table(np.array([1, 2]), np.array([True]))


@st.composite
def tables(draw):
    n_rows = draw(st.integers(1, 7))
    n_cols = draw(st.integers(1, 4))
    cell = st.one_of(st.integers(0, 4), st.integers(5, 60))
    values = np.array(draw(st.lists(st.lists(cell, min_size=n_cols, max_size=n_cols), min_size=n_rows,
                                    max_size=n_rows)), dtype=np.int64)
    sens = np.array(draw(st.lists(st.booleans(), min_size=n_cols, max_size=n_cols)))
    opts = {"row_totals": draw(st.booleans()), "col_totals": draw(st.booleans()),
            "grand_total": draw(st.booleans()), "row_total_follows_cells": draw(st.booleans())}
    any_cols = draw(st.booleans())
    return values, sens, opts, any_cols


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_property_no_hidden_sensitive_cell_can_be_recovered_from_the_published_cells_and_totals(t) -> None:
    values, sens, opts, any_cols = t
    p = protect_table(values, sens, candidate_cols=np.ones(len(sens), bool) if any_cols else None, **opts)
    # every 1-4 in a sensitive column is hidden, and nothing else is hidden without need of a reason
    assert (p.primary == (sens[None, :] & (values >= 1) & (values <= 4))).all()
    assert not (p.secondary & (values == 0)).any()
    if opts["row_total_follows_cells"]:
        assert not (p.row_totals & p.hidden.any(axis=1)).any()
    # totals the caller did not publish stay unpublished
    assert opts["row_totals"] or not p.row_totals.any()
    assert opts["col_totals"] or not p.col_totals.any()
    b = attacker_bounds(values, ~p.hidden, _labels(values, p), sens, p.row_totals, p.col_totals, p.grand_total)
    for (i, j) in map(tuple, np.argwhere(p.primary)):
        lo, hi = b[(i, j)]
        assert hi - lo >= 1 - 1e-6, ((i, j), lo, hi, values.tolist(), p)
        assert lo - 1e-6 <= values[i, j] <= hi + 1e-6  # the attacker model is consistent with the truth


def test_league_table_withholds_the_next_smallest_ward_so_the_borough_total_gives_nothing_away() -> None:
    # HAND-MADE counts: ward A 3 sensitive, B 12, C 40 (borough sensitive total 55 shown elsewhere)
    long = pd.DataFrame([("A", "violent-crime", True, 3), ("A", "burglary", False, 20),
                         ("B", "violent-crime", True, 12), ("B", "burglary", False, 5),
                         ("C", "violent-crime", True, 40)], columns=["area_code", "category", "sensitive", "count"])
    long["harm"] = long["count"] * 10.0
    lt = league_table(long).set_index("area_code")
    assert lt.loc["A", "sensitive_display"] == "fewer than 5"
    assert lt.loc["B", "sensitive_display"] == WITHHELD and bool(lt.loc["B", "secondary"])
    assert np.isnan(lt.loc["B", "count"]) and np.isnan(lt.loc["B", "sensitive_count"])
    assert lt.loc["C", "sensitive_display"] == "40"
    assert lt.loc["B", "count_non_sensitive"] == 5
    # what a reader sees: the displayed column and the borough's sensitive total (55)
    truth = np.array([[3], [12], [40]])
    lab = lt.loc[["A", "B", "C"], "sensitive_display"].to_numpy(dtype=object).reshape(3, 1)
    shown = ~np.isin(lab, ["fewer than 5", WITHHELD])
    b = attacker_bounds(truth, shown, lab, np.array([True]), np.zeros(3, bool), np.array([True]), True)
    assert b[(0, 0)][1] - b[(0, 0)][0] >= 1


# ---------------------------------------------------------------------------
# Harm-weighted totals: the attacker also reads every harm figure a partner sees
# ---------------------------------------------------------------------------
def _harm_attacker_bounds(wards: list[str], cats: list[str], weights: dict[str, float], league: pd.DataFrame,
                          cat_totals: dict[str, float], sens_harm_total: float) -> dict[str, tuple[float, float]]:
    """Min and max of each hidden ward's sensitive count from the published figures only.

    Unknowns: every ward x sensitive-category count ``n[w, k] >= 0`` (the league shows no category split).
    Published, each an equation:
      * a shown ward's sensitive count ``sum_k n[w, k]``;
      * a shown ward's sensitive harm ``harm - harm_non_sensitive = sum_k weight_k n[w, k]``;
      * the borough's count per sensitive category ``sum_w n[w, k]`` and its sensitive harm total.
    A "fewer than 5" ward's count is in [1, 4]; a "withheld" one is at least 1.  The true counts are never read.
    """
    from scipy.optimize import linprog

    idx = {(w, k): i for i, (w, k) in enumerate((w, k) for w in wards for k in cats)}
    n = len(idx)
    a_eq, b_eq, a_ub, b_ub = [], [], [], []
    row = league.set_index("area_code")
    for w in wards:
        r = row.loc[w]
        count_row = np.zeros(n)
        harm_row = np.zeros(n)
        for k in cats:
            count_row[idx[(w, k)]] = 1.0
            harm_row[idx[(w, k)]] = weights[k]
        label = str(r["sensitive_display"])
        if label == "fewer than 5":
            a_ub += [count_row, -count_row]
            b_ub += [4.0, -1.0]
        elif label == WITHHELD:
            a_ub.append(-count_row)
            b_ub.append(-1.0)
        else:
            a_eq.append(count_row)
            b_eq.append(float(label))
            assert not np.isnan(r["harm"])  # a shown ward shows its harm
            a_eq.append(harm_row)
            b_eq.append(float(r["harm"]) - float(r["harm_non_sensitive"]))
    for k in cats:
        col = np.zeros(n)
        for w in wards:
            col[idx[(w, k)]] = 1.0
        a_eq.append(col)
        b_eq.append(cat_totals[k])
    total = np.zeros(n)
    for (w, k), i in idx.items():
        total[i] = weights[k]
    a_eq.append(total)
    b_eq.append(sens_harm_total)
    out = {}
    for w in wards:
        r = row.loc[w]
        if str(r["sensitive_display"]) != "fewer than 5":
            continue
        cost = np.zeros(n)
        for k in cats:
            cost[idx[(w, k)]] = 1.0
        kw = dict(A_eq=np.array(a_eq), b_eq=np.array(b_eq), A_ub=np.array(a_ub), b_ub=np.array(b_ub),
                  bounds=[(0, None)] * n, method="highs")
        lo = linprog(cost, **kw)
        hi = linprog(-cost, **kw)
        assert lo.status == 0, lo.message  # the true table is feasible
        out[w] = (float(lo.fun), np.inf if hi.status == 3 else float(-hi.fun))
    return out


@pytest.mark.parametrize("seed", range(12))
def test_harm_weighted_totals_do_not_reveal_a_suppressed_ward(seed: int) -> None:
    """Issue 13 item 3, harm edition: the league's harm and non-sensitive harm per shown ward, the borough's
    count per sensitive category and its sensitive harm total (Overview's group table) are all published,
    and two sensitive categories carry different harm weights; no "fewer than 5" ward can be pinned down."""
    from spatial.hotspots.league import league_table

    rng = np.random.default_rng(seed)
    wards = [f"E0500{9000 + i}" for i in range(int(rng.integers(6, 14)))]
    cats = {"rape": 1200.0, "other-sexual-offences": 180.0}
    rows = []
    for w in wards:
        rows.append((w, "burglary", False, int(rng.integers(0, 60)), 365.0))
        rows.append((w, "theft-from-the-person", False, int(rng.integers(0, 40)), 20.0))
        for k, wt in cats.items():
            rows.append((w, k, True, int(rng.choice([0, 1, 2, 3, 5, 8, 13], p=[.2, .2, .15, .1, .15, .1, .1])), wt))
    counts = pd.DataFrame(rows, columns=["area_code", "category", "sensitive", "count", "weight"])
    counts["harm"] = counts["count"] * counts["weight"]
    counts = counts.drop(columns="weight")
    lt = league_table(counts, by_category=False)
    sens = counts[counts["sensitive"]]
    cat_totals = sens.groupby("category")["count"].sum().to_dict()
    b = _harm_attacker_bounds(wards, list(cats), cats, lt, {k: float(cat_totals.get(k, 0)) for k in cats},
                              float(sens["harm"].sum()))
    for w, (lo, hi) in b.items():
        assert hi - lo >= 1 - 1e-9, (seed, w, lo, hi)
    # the attack is real: where nothing is hidden the figures pin every count, so the harm equations do bite
    shown = lt[~lt["sensitive_display"].isin(["fewer than 5", WITHHELD])]
    assert np.allclose(shown["harm"] - shown["harm_non_sensitive"],
                       sens.groupby("area_code")["harm"].sum().reindex(shown["area_code"]).to_numpy())
