"""Monthly area series from MPS recorded-crime tables (wards since 2010, LSOAs since 2024).

The MPS publishes ward and LSOA counts as rolling releases that overlap and
are revised.  :func:`splice_series` builds one continuous series from several
releases: months that are zero for every area in a release (a known artefact
of the rolling files' first column) are dropped, and each month is taken from
the first release in a stated priority order that has it.  For RBKC wards the
order is :data:`RBKC_WARD_PRIORITY` (historical file to 2024-02, the
2024-02..2026-02 release, then 2026-03 from the 2024-03..2026-03 release), as
``data/SOURCES.md`` recommends.

MPS major categories map onto the product's category groups, sensitivity and
proactive flags through ``spatial/data/mps_major_categories.csv``.
"""

from __future__ import annotations

import csv
import functools
from importlib import resources

import pandas as pd

from ._errors import SchemaError

__all__ = ["RBKC_WARD_PRIORITY", "RBKC_LSOA_PRIORITY", "mps_major_table", "splice_series", "monthly_matrix"]

RBKC_WARD_PRIORITY: tuple[str, ...] = (
    "rbkc_ward_monthly_2010-04_to_2024-02",
    "rbkc_ward_monthly_2024-02_to_2026-02",
    "rbkc_ward_monthly_2024-03_to_2026-03",
)
RBKC_LSOA_PRIORITY: tuple[str, ...] = ("rbkc_lsoa_monthly_2024-02_to_2026-02",)

_REQUIRED = ("dataset", "area_code", "major", "minor", "month", "count")


@functools.cache
def mps_major_table() -> pd.DataFrame:
    """MPS major category -> ``group``, ``sensitive``, ``proactive`` (from the bundled mapping file)."""
    with (resources.files("spatial") / "data" / "mps_major_categories.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    df = pd.DataFrame(rows)
    for col in ("sensitive", "proactive"):
        df[col] = df[col].str.lower().eq("true")
    return df.set_index("major")


def splice_series(long: pd.DataFrame, *, priority: tuple[str, ...] | list[str]) -> pd.DataFrame:
    """One continuous monthly series from overlapping MPS releases.

    Parameters
    ----------
    long
        Rows ``dataset, area_code, major, minor, month, count`` (as stored in ``area_counts``).
    priority
        Data sets in order of preference; data sets not listed are ignored.

    Returns
    -------
    DataFrame
        The input columns for the chosen (data set, month) pairs only, plus
        ``group``, ``sensitive`` and ``proactive`` from the major category.

    Raises
    ------
    SchemaError
        If columns are missing, a priority data set is absent, or a major
        category is not in the mapping file.
    """
    missing = [c for c in _REQUIRED if c not in long.columns]
    if missing:
        msg = f"area counts need columns {list(_REQUIRED)}; missing {missing}"
        raise SchemaError(msg)
    absent = [d for d in priority if d not in set(long["dataset"])]
    if absent:
        msg = f"data set(s) {absent} are not in the area counts; present: {sorted(set(long['dataset']))}"
        raise SchemaError(msg)
    data = long[long["dataset"].isin(priority)]
    totals = data.groupby(["dataset", "month"])["count"].sum()
    usable = totals[totals > 0].reset_index()[["dataset", "month"]]
    rank = {d: i for i, d in enumerate(priority)}
    usable["rank"] = usable["dataset"].map(rank)
    chosen = usable.sort_values(["month", "rank"]).drop_duplicates("month")[["dataset", "month"]]
    out = data.merge(chosen, on=["dataset", "month"], how="inner")
    majors = mps_major_table()
    unknown = sorted(set(out["major"]) - set(majors.index))
    if unknown:
        msg = f"MPS major categories {unknown} are not in spatial/data/mps_major_categories.csv"
        raise SchemaError(msg)
    out = out.join(majors[["group", "sensitive", "proactive"]], on="major")
    return out.sort_values(["area_code", "month", "major", "minor"]).reset_index(drop=True)


def monthly_matrix(series: pd.DataFrame, *, groups: list[str] | None = None,
                   include_proactive: bool = True) -> pd.DataFrame:
    """Areas x months table of counts (months as ``YYYY-MM`` columns, gaps filled with 0)."""
    s = series
    if groups is not None:
        s = s[s["group"].isin(groups)]
    if not include_proactive:
        s = s[~s["proactive"]]
    table = s.pivot_table(index="area_code", columns="month", values="count", aggfunc="sum", fill_value=0)
    if not series.empty:
        months = pd.period_range(series["month"].min(), series["month"].max(), freq="M").strftime("%Y-%m")
        table = table.reindex(columns=months, fill_value=0)
    return table.astype(int)
