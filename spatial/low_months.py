"""Months published low: far below their neighbours in every category, found for any area.

police.uk sometimes publishes a force's month incomplete (Kent's 2018-11 and
2018-12: whole-Kent crimes at 67 % and 35 % of October's level in every
category, anti-social behaviour normal).  Such a month would drag a baseline,
a forecast or a trend down, so it is found from the data and kept out of them.

A month is *low* when, against the median of the other months within
``window`` calendar months either side (at least ``min_neighbours`` of them,
months already found low left out), its total of the categories considered
is below ``ratio`` of the neighbours' and **every** category with at least
``min_count`` incidents in the neighbours' median is below its neighbours.
Anti-social behaviour is left out by default (Kent's ASB was normal in the low
months).  The worst month is found first and left out of its neighbours'
references before the next is looked for, so two low months side by side are
both found.  Pure: the caller counts the incidents
(:func:`spatial.store.queries.month_category_counts`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from spatial._errors import SchemaError

__all__ = ["low_months", "low_month_table", "without_low_months", "ASB_CATEGORIES", "incident_month_counts",
           "incident_low_months", "low_months_note", "league_incidents", "league_note"]

#: Category names of anti-social behaviour (the canonical slug and police.uk's wording).
ASB_CATEGORIES: tuple[str, ...] = ("anti-social-behaviour", "Anti-social behaviour")


def _matrix(counts: pd.DataFrame, exclude: Sequence[str]) -> tuple[pd.DataFrame, pd.PeriodIndex]:
    if counts.empty:
        return counts, pd.PeriodIndex([], freq="M")
    labels = [str(m) for m in counts.index]
    bad = [m for m in labels if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", m)]
    if bad:
        msg = f"the counts' index must be months YYYY-MM, got {bad[:5]}"
        raise SchemaError(msg)
    months = pd.PeriodIndex(labels, freq="M")
    if months.has_duplicates:
        msg = f"months repeat in the counts' index ({sorted({str(m) for m in months[months.duplicated()]})[:5]})"
        raise SchemaError(msg)
    values = counts.drop(columns=[c for c in counts.columns if c in set(exclude)])
    arr = values.to_numpy(dtype=float)
    if (arr < 0).any() or not np.isfinite(arr).all():
        msg = "counts must be finite and >= 0"
        raise SchemaError(msg)
    return values, months


def low_month_table(counts: pd.DataFrame, *, window: int = 3, ratio: float = 0.8, min_count: float = 20,
                    min_neighbours: int = 2, exclude: Sequence[str] = ASB_CATEGORIES) -> pd.DataFrame:
    """Every month tested, with its figures: ``month, neighbours, total, reference, ratio, categories,
    categories_below, low`` (``low`` true for the months found low).

    Parameters
    ----------
    counts
        Months (index, ``YYYY-MM``) x categories (columns) of incident counts.
    window
        Neighbours are the other months within this many calendar months.
    ratio
        A low month's total is below this share of its neighbours' median total.
    min_count
        Categories whose neighbours' median is below this are too small to judge.
    min_neighbours
        Months with fewer neighbours are not tested.
    exclude
        Categories left out (anti-social behaviour by default).
    """
    if not 0 < ratio < 1:
        msg = f"`ratio` was {ratio}; give a share between 0 and 1, e.g. 0.8"
        raise SchemaError(msg)
    values, months = _matrix(counts, exclude)
    cols = ["month", "neighbours", "total", "reference", "ratio", "categories", "categories_below", "low"]
    if values.empty or values.shape[1] == 0:
        return pd.DataFrame(columns=cols)
    arr = values.to_numpy(dtype=float)
    ordinal = np.array([m.ordinal for m in months])
    low = np.zeros(len(months), dtype=bool)
    rows: dict[int, dict] = {}
    while True:
        worst, worst_ratio = -1, np.inf
        for i in range(len(months)):
            if low[i]:
                continue
            near = np.flatnonzero((np.abs(ordinal - ordinal[i]) <= window) & (ordinal != ordinal[i]) & ~low)
            if len(near) < min_neighbours:
                rows[i] = {"month": str(months[i]), "neighbours": len(near), "total": float(arr[i].sum()),
                           "reference": np.nan, "ratio": np.nan, "categories": 0, "categories_below": 0, "low": False}
                continue
            ref = np.median(arr[near], axis=0)
            total, ref_total = float(arr[i].sum()), float(ref.sum())
            r = total / ref_total if ref_total > 0 else np.nan
            judged = ref >= min_count
            below = int((arr[i][judged] < ref[judged]).sum())
            rows[i] = {"month": str(months[i]), "neighbours": len(near), "total": total, "reference": ref_total,
                       "ratio": r, "categories": int(judged.sum()), "categories_below": below, "low": False}
            if judged.any() and below == judged.sum() and r < ratio and r < worst_ratio:
                worst, worst_ratio = i, r
        if worst < 0:
            break
        low[worst] = True
        rows[worst]["low"] = True
    out = pd.DataFrame([rows[i] for i in range(len(months))], columns=cols)
    return out.sort_values("month").reset_index(drop=True)


def low_months(counts: pd.DataFrame, **kw) -> list[str]:
    """The months found low (``YYYY-MM``, in order); see :func:`low_month_table` for the parameters.

    Examples
    --------
    >>> import pandas as pd
    >>> months = [f"2024-{m:02d}" for m in range(1, 8)]
    >>> counts = pd.DataFrame({"burglary": [50, 52, 48, 20, 51, 49, 50],
    ...                        "vehicle-crime": [40, 41, 39, 15, 42, 40, 41]}, index=months)
    >>> low_months(counts)
    ['2024-04']
    """
    table = low_month_table(counts, **kw)
    return table.loc[table["low"].astype(bool), "month"].tolist() if len(table) else []


def without_low_months(periods: Sequence[str], low: Sequence[str]) -> list[str]:
    """``periods`` less the ``low`` months (for baselines, forecasts and trends)."""
    drop = set(low)
    return [p for p in periods if p not in drop]


def incident_month_counts(incidents: pd.DataFrame, *, month: str = "month", category: str = "category") -> pd.DataFrame:
    """Months x categories of an incident frame (the input :func:`low_months` reads), proactive rows left out.

    Raises :class:`SchemaError` naming the missing column.
    """
    missing = [c for c in (month, category) if c not in incidents.columns]
    if missing:
        msg = f"the incidents have no column(s) {missing}; found {list(incidents.columns)[:12]}"
        raise SchemaError(msg)
    df = incidents
    if "proactive" in df.columns:
        df = df.loc[~df["proactive"].astype(bool)]
    if df.empty:
        return pd.DataFrame()
    t = pd.crosstab(df[month].astype(str), df[category].astype(str))
    return t.sort_index()


def incident_low_months(incidents: pd.DataFrame, **kw) -> list[str]:
    """The months published low in an incident frame (see :func:`low_months`; ``[]`` for an empty frame).

    The one call a page, the pack or a plan makes to learn which months to leave
    out of baselines, forecasts and trends.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = [("2024-%02d" % m, c) for m in range(1, 8) for c, n in (("burglary", 50), ("drugs", 30))
    ...         for _ in range(n if m != 4 else n // 3)]
    >>> incident_low_months(pd.DataFrame(rows, columns=["month", "category"]))
    ['2024-04']
    """
    counts = incident_month_counts(incidents)
    return low_months(counts, **kw) if not counts.empty else []


def low_months_note(low: Sequence[str]) -> str:
    """The one line the Hotspots and Data pages and the pack show ('' when no month was left out).

    Examples
    --------
    >>> low_months_note(["2018-11", "2018-12"])[:46]
    'Left out of baselines, forecasts and trends: 2'
    >>> low_months_note([])
    ''
    """
    if not low:
        return ""
    return (f"Left out of baselines, forecasts and trends: {', '.join(low)} - far below the months either side "
            "in every crime category (published incomplete by police.uk), so they would drag averages down.")


def league_incidents(incidents: pd.DataFrame, *, low: Sequence[str] | None = None, min_months: int = 3,
                     month: str = "month") -> tuple[pd.DataFrame, list[str]]:
    """The incidents a league table counts: without the months published low, and those months.

    A league ranks areas by counts and rates over a period; a month published
    incomplete would lower every rate by a share that depends on how much of the
    period it is.  ``low`` is the area's low months when the caller already knows
    them (found on the whole store, e.g. by :func:`low_months` on
    :func:`spatial.store.queries.month_category_counts`); otherwise they are looked
    for in ``incidents`` when they hold at least ``min_months`` months (fewer
    cannot show a month far below its neighbours).  Only months inside the
    incidents are dropped, and never all of them: a period made only of low
    months is counted as it is (the caller's note says so).

    Examples
    --------
    >>> import pandas as pd
    >>> rows = [("2024-%02d" % m, c) for m in range(1, 8) for c, n in (("burglary", 50), ("drugs", 30))
    ...         for _ in range(n if m != 4 else n // 3)]
    >>> kept, dropped = league_incidents(pd.DataFrame(rows, columns=["month", "category"]))
    >>> dropped, len(kept), sorted(kept["month"].unique())[:4]
    (['2024-04'], 480, ['2024-01', '2024-02', '2024-03', '2024-05'])
    """
    if incidents.empty or month not in incidents.columns:
        return incidents, []
    held = incidents[month].astype(str)
    n_held = held.nunique()
    if low is None:
        counts = incident_month_counts(incidents, month=month) if n_held >= min_months else pd.DataFrame()
        low = low_months(counts) if not counts.empty else []
    inside = sorted(set(low) & set(held))
    if not inside or len(inside) == n_held:
        return incidents, []
    return incidents.loc[~held.isin(inside)], inside


def league_note(low: Sequence[str], *, kept_months: int, table: str = "The league table") -> str:
    """What a league's caption says when it left low months out ('' when none).

    Examples
    --------
    >>> league_note(["2018-11"], kept_months=11)[:62]
    'The league table leaves out 2018-11 (published low by police.u'
    >>> league_note([], kept_months=12)
    ''
    """
    if not low:
        return ""
    months = ", ".join(low)
    return (f"{table} leaves out {months} (published low by police.uk: far below the months either side in every "
            f"category); its counts and rates are over the other {kept_months} month{'s' if kept_months != 1 else ''}"
            " of the period.")
