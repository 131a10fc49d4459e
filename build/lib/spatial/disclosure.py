"""Statistical disclosure control for tables of sensitive counts: primary and secondary suppression.

A sensitive count of 1 to ``below - 1`` is not published ("fewer than 5": the
*primary* suppression).  That alone is not enough: when a row or column total
is published, the suppressed cell is the total minus the published cells (an
attack run recovered Norland's sensitive count as the borough's 400 minus the
other 17 wards' 397).  :func:`protect_table` adds *secondary* suppressions (the
next-smallest publishable cell in a line that exposes a primary cell) and, when
no cell is left to suppress, withholds the total itself, until no primary cell
can be worked out from what is published.

"Worked out" is checked, not assumed: :func:`cell_bounds` solves the linear
programme an attacker would solve (every published cell and total as an
equation, what the labels tell about each hidden cell as bounds: a primary cell
lies in ``[1, below - 1]``; a secondary one is at least 1, or at least
``below`` in a sensitive column, since a 1-4 there would read "fewer than 5")
and :func:`protect_table` stops only when every primary cell can take at least
two values (its interval is at least ``min_width`` wide).  Tables of area
counts with their margins are transportation-like (totally unimodular), so the
interval ends are whole numbers an attacker cannot rule out.

Pure functions on NumPy arrays; :func:`protect_frame` is the pandas form.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linprog

__all__ = ["SUPPRESS_BELOW", "WITHHELD", "Protection", "cell_bounds", "protect_table", "protect_frame"]

#: Sensitive counts from 1 to SUPPRESS_BELOW - 1 are suppressed (primary suppression).
SUPPRESS_BELOW = 5
#: What a secondarily suppressed cell or a withheld total reads (it is not "fewer than 5").
WITHHELD = "withheld"


@dataclass(frozen=True)
class Protection:
    """Which cells and totals of a table may be published.

    ``primary`` and ``secondary`` are boolean ``(rows, cols)`` masks of hidden
    cells; ``row_totals`` / ``col_totals`` are boolean masks of totals that
    may be shown; ``grand_total`` whether the table's overall total may be.
    """

    primary: np.ndarray
    secondary: np.ndarray
    row_totals: np.ndarray
    col_totals: np.ndarray
    grand_total: bool

    @property
    def hidden(self) -> np.ndarray:
        """Cells not published (primary or secondary)."""
        return self.primary | self.secondary


def _bounds_of_hidden(values: np.ndarray, primary: np.ndarray, sensitive_cols: np.ndarray,
                      below: int) -> tuple[np.ndarray, np.ndarray]:
    lo = np.where(primary, 1.0, np.where(sensitive_cols[None, :], float(below), 1.0))
    hi = np.where(primary, float(below - 1), np.inf)
    # a hidden cell that is really 0 would never be chosen; keep the model honest if a caller passes one
    lo = np.minimum(lo, values.astype(float))
    return lo, hi


def cell_bounds(values: np.ndarray, hidden: np.ndarray, lower: np.ndarray, upper: np.ndarray, *,
                row_totals: np.ndarray, col_totals: np.ndarray, grand_total: bool,
                cells: list[tuple[int, int]] | None = None) -> dict[tuple[int, int], tuple[float, float]]:
    """The smallest and largest value each hidden cell can take given what is published.

    Published: every cell not ``hidden``, the totals whose mask is true, the
    grand total if ``grand_total``.  Each hidden cell ``(i, j)`` lies in
    ``[lower[i, j], upper[i, j]]``.  Returns ``{(i, j): (min, max)}`` for
    ``cells`` (default every hidden cell), from two linear programmes each.
    """
    values = np.asarray(values, dtype=float)
    idx = [tuple(map(int, t)) for t in np.argwhere(hidden)]
    if not idx:
        return {}
    pos = {c: k for k, c in enumerate(idx)}
    rows_eq, rhs = [], []

    def line(members: list[tuple[int, int]]) -> None:
        unknown = [m for m in members if m in pos]
        if not unknown:
            return
        a = np.zeros(len(idx))
        for m in unknown:
            a[pos[m]] = 1.0
        known = sum(values[m] for m in members if m not in pos)
        rows_eq.append(a)
        rhs.append(sum(values[m] for m in members) - known)

    n_rows, n_cols = values.shape
    for i in range(n_rows):
        if row_totals[i]:
            line([(i, j) for j in range(n_cols)])
    for j in range(n_cols):
        if col_totals[j]:
            line([(i, j) for i in range(n_rows)])
    if grand_total:
        line([(i, j) for i in range(n_rows) for j in range(n_cols)])
    bounds = [(float(lower[c]), None if np.isinf(upper[c]) else float(upper[c])) for c in idx]
    a_eq = np.array(rows_eq) if rows_eq else None
    b_eq = np.array(rhs) if rhs else None
    out: dict[tuple[int, int], tuple[float, float]] = {}
    for c in cells if cells is not None else idx:
        k = pos[c]
        if a_eq is None:
            out[c] = (bounds[k][0], np.inf if bounds[k][1] is None else bounds[k][1])
            continue
        cost = np.zeros(len(idx))
        cost[k] = 1.0
        lo = linprog(cost, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        hi = linprog(-cost, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        lo_v = float(lo.fun) if lo.status == 0 else bounds[k][0]
        hi_v = np.inf if hi.status == 3 else (float(-hi.fun) if hi.status == 0 else np.inf)
        out[c] = (lo_v, hi_v)
    return out


def protect_table(values: np.ndarray, sensitive_cols: np.ndarray, *, below: int = SUPPRESS_BELOW,
                  row_totals: bool = True, col_totals: bool = True, grand_total: bool = True,
                  row_total_follows_cells: bool = False, candidate_cols: np.ndarray | None = None,
                  min_width: float = 1.0) -> Protection:
    """Primary and secondary suppression of a table of counts so no hidden cell can be derived.

    Parameters
    ----------
    values
        Counts, ``(rows, cols)``, whole numbers >= 0.
    sensitive_cols
        Columns whose counts of 1 to ``below - 1`` are primary suppressions.
    below
        Counts from 1 to ``below - 1`` in a sensitive column are hidden.
    row_totals, col_totals, grand_total
        Whether the table publishes (or the reader can see elsewhere) each row's,
        each column's and the overall total.
    row_total_follows_cells
        A row with a hidden cell has its total withheld too (a league table's
        area total, which would otherwise give the hidden part by subtraction).
    candidate_cols
        Columns whose cells may be hidden as secondary suppressions (default:
        the sensitive columns, so non-sensitive counts stay published).
    min_width
        Each primary cell must keep an interval at least this wide (1: at least
        two whole values are possible).

    Returns
    -------
    Protection
        Masks of hidden cells and of totals that may be shown.  Totals are
        withheld only when no cell is left to hide.

    Examples
    --------
    >>> p = protect_table(np.array([[3], [40], [57]]), np.array([True]))
    >>> p.primary[:, 0].tolist(), p.secondary[:, 0].tolist()
    ([True, False, False], [False, True, False])
    """
    v = np.asarray(values)
    if v.ndim != 2:
        msg = f"values must be a (rows, cols) table, got shape {v.shape}"
        raise ValueError(msg)
    if (v < 0).any():
        msg = "values must be counts >= 0"
        raise ValueError(msg)
    sens = np.asarray(sensitive_cols, dtype=bool)
    cand_cols = sens if candidate_cols is None else np.asarray(candidate_cols, dtype=bool)
    n_rows, n_cols = v.shape
    primary = sens[None, :] & (v >= 1) & (v < below)
    secondary = np.zeros_like(primary)
    rt = np.full(n_rows, bool(row_totals))
    ct = np.full(n_cols, bool(col_totals))
    gt = bool(grand_total)
    ok_cols = cand_cols[None, :]
    safe: set[tuple[int, int]] = set()
    for _ in range(2 * (v.size + n_rows + n_cols + 2)):
        hidden = primary | secondary
        if row_total_follows_cells:
            rt = rt & ~hidden.any(axis=1)
        lines = _published_lines(n_rows, n_cols, rt, ct, gt)
        # 1. a published line with one hidden cell gives it away outright
        single = next((ln for ln in lines if int(hidden[ln[1]].sum()) == 1), None)
        if single is not None:
            kind, mask = single
            pick = _smallest(v, mask & ~hidden & (v >= 1) & ok_cols)
            if pick is not None:
                secondary[pick] = True
            else:
                rt, ct, gt = _withhold(kind, rt, ct, gt)
            continue
        # 2. the attacker's linear programme: every primary cell must keep at least two possible values.
        # Hiding a cell or withholding a total only widens every interval, so a cell found safe stays safe
        # and is not solved again.
        lo, hi = _bounds_of_hidden(v, primary, sens, below)
        exposed_cell = None
        for c in (tuple(map(int, t)) for t in np.argwhere(primary)):
            if c in safe:
                continue
            a, z = cell_bounds(v, hidden, lo, hi, row_totals=rt, col_totals=ct, grand_total=gt, cells=[c])[c]
            if z - a < min_width - 1e-9:
                exposed_cell = c
                break
            safe.add(c)
        if exposed_cell is None:
            return Protection(primary, secondary, rt.copy(), ct.copy(), gt)
        i, j = exposed_cell
        mine = [ln for ln in lines if ln[1][i, j]]
        near = np.zeros_like(hidden)
        for _, mask in mine:
            near |= mask
        pick = _smallest(v, near & ~hidden & (v >= 1) & ok_cols)
        if pick is None:
            pick = _smallest(v, _lines_of(hidden, rt, ct) & ~hidden & (v >= 1) & ok_cols)
        if pick is not None:
            secondary[pick] = True
        elif mine:
            rt, ct, gt = _withhold(mine[0][0], rt, ct, gt)
        else:  # pragma: no cover - nothing published constrains it
            break
    return Protection(primary, secondary, rt.copy(), ct.copy(), gt)


def _published_lines(n_rows: int, n_cols: int, rt: np.ndarray, ct: np.ndarray,
                     gt: bool) -> list[tuple[tuple[str, int], np.ndarray]]:
    out: list[tuple[tuple[str, int], np.ndarray]] = []
    for i in np.flatnonzero(rt):
        m = np.zeros((n_rows, n_cols), dtype=bool)
        m[i, :] = True
        out.append((("row", int(i)), m))
    for j in np.flatnonzero(ct):
        m = np.zeros((n_rows, n_cols), dtype=bool)
        m[:, j] = True
        out.append((("col", int(j)), m))
    if gt:
        out.append((("all", 0), np.ones((n_rows, n_cols), dtype=bool)))
    return out


def _withhold(kind: tuple[str, int], rt: np.ndarray, ct: np.ndarray, gt: bool) -> tuple[np.ndarray, np.ndarray, bool]:
    rt, ct = rt.copy(), ct.copy()
    if kind[0] == "row":
        rt[kind[1]] = False
    elif kind[0] == "col":
        ct[kind[1]] = False
    else:
        gt = False
    return rt, ct, gt


def _smallest(v: np.ndarray, mask: np.ndarray) -> tuple[int, int] | None:
    if not mask.any():
        return None
    cells = [tuple(map(int, t)) for t in np.argwhere(mask)]
    return min(cells, key=lambda c: (v[c], c))


def _lines_of(hidden: np.ndarray, rt: np.ndarray, ct: np.ndarray) -> np.ndarray:
    rows = hidden.any(axis=1) & rt
    cols = hidden.any(axis=0) & ct
    return rows[:, None] | cols[None, :]


def protect_frame(table: pd.DataFrame, sensitive: list[str], *, below: int = SUPPRESS_BELOW,
                  **kwargs: bool) -> tuple[pd.DataFrame, Protection]:
    """:func:`protect_table` on a frame of counts: the display frame (strings) and the masks.

    ``sensitive`` names the sensitive columns.  Primary cells read "fewer than
    5", secondary ones :data:`WITHHELD`; other cells are the count as text.
    """
    values = table.to_numpy(dtype=np.int64)
    p = protect_table(values, np.array([c in sensitive for c in table.columns]), below=below, **kwargs)
    shown = table.astype(np.int64).astype(str).astype(object)
    shown = shown.mask(pd.DataFrame(p.primary, index=table.index, columns=table.columns), f"fewer than {below}")
    shown = shown.mask(pd.DataFrame(p.secondary, index=table.index, columns=table.columns), WITHHELD)
    return shown, p
