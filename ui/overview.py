"""The Overview page's tables and series (pure): this period against the last and a year ago, trends, ward league.

No Streamlit here; ``ui.cached`` wraps the store readers and the pages only
display what these functions return.

Counts come from one of two sources, turned into the long form of
:mod:`spatial.hotspots.league` (``area_code, category, sensitive, count, harm``)
by the existing functions:

* **MPS recorded crime** - the monthly ward series (April 2010 onwards),
  spliced across the MPS releases by :func:`spatial.series.splice_series`,
  then :func:`spatial.hotspots.area_counts_from_mps` per period;
* **incidents in the store** - police.uk points and council logs,
  :func:`spatial.hotspots.area_counts_from_incidents` per period.

Safeguarding
------------
Sensitive categories (violence and sexual offences, safeguarding) appear only
as aggregates.  Every number leaves this module through
:func:`spatial.hotspots.league_table` with ``suppress_sensitive=True``: a
sensitive count of 1 to 4 is "fewer than 5", and the total of any row whose
sensitive part is suppressed is withheld too (a total next to the
non-sensitive counts would reveal it), and so are the next-smallest wards'
(months') figures that the borough total would otherwise give away by
subtraction (secondary suppression, :mod:`spatial.disclosure`), read "withheld".  A change is given only when both
figures are shown.  Rolling means need all twelve months shown, so a mean
never reveals a suppressed month.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, select

from spatial._errors import SchemaError
from spatial.analysis import covered_months as _covered_months
from spatial.areas import month_range
from spatial.datasets import get_path
from spatial.disclosure import WITHHELD
from spatial.hotspots import (
    area_counts_from_incidents,
    area_counts_from_mps,
    league_table,
)
from spatial.hotspots.league import SUPPRESS_BELOW
from spatial.low_months import league_note
from spatial.schema import MONTH, WARD_CODE, Taxonomy, load_taxonomy
from spatial.series import RBKC_WARD_PRIORITY, mps_major_table, splice_series
from spatial.store import tables as T

__all__ = [
    "SOURCES", "Source", "GROUP_LABELS", "ALL_GROUPS", "BOROUGH", "PERIOD_NAMES", "Periods", "Comparison",
    "comparison_periods", "coverage_note", "mps_ward_series", "period_counts_mps", "period_counts_incidents",
    "group_of", "group_label", "change_text", "comparison_table", "ward_league", "ward_imd", "trend_series",
    "group_trends", "build_comparison", "month_counts", "covered_months", "period_text", "mps_groups", "table_height",
]

Source = Literal["mps", "incidents"]
#: Count sources offered on the page.
SOURCES: Final[dict[str, str]] = {
    "mps": "MPS recorded crime (monthly ward counts)",
    "incidents": "Incidents in the store (police.uk points, council logs)",
}
#: Readable names of the taxonomy's and the MPS tables' category groups.
GROUP_LABELS: Final[dict[str, str]] = {
    "asb": "Anti-social behaviour", "theft": "Theft", "burglary": "Burglary", "criminal-damage": "Criminal damage",
    "drugs": "Drugs", "other": "Other crime", "weapons": "Possession of weapons", "public-order": "Public order",
    "robbery": "Robbery", "vehicle": "Vehicle crime", "violence-sexual": "Violence and sexual offences",
    "environmental": "Environmental (council)", "welfare": "Welfare concerns", "safeguarding": "Safeguarding",
    "fraud": "Fraud and forgery", "not-asb": "Not ASB under the landlord's policy (kept apart)",
}
#: Row / option standing for every group together.
ALL_GROUPS: Final = "All offences"
#: Option standing for the whole borough in the trend's ward choice.
BOROUGH: Final = "Whole borough"
#: Names of the three compared periods, in table order.
PERIOD_NAMES: Final = ("This period", "Previous period", "Same period last year")
_FEWER = f"fewer than {SUPPRESS_BELOW}"
_NO_DATA = "no data"


# ----------------------------------------------------------------------------
# periods
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Periods:
    """The period picked and the two it is compared with, as ``YYYY-MM`` months in order."""

    this: tuple[str, ...]
    previous: tuple[str, ...]
    last_year: tuple[str, ...]

    def named(self) -> dict[str, tuple[str, ...]]:
        """``{PERIOD_NAMES[i]: months}`` in table order."""
        return dict(zip(PERIOD_NAMES, (self.this, self.previous, self.last_year), strict=True))


def table_height(table: pd.DataFrame) -> int:
    """Pixel height that shows every row of ``table`` in ``st.dataframe`` without an inner scroll bar.

    Examples
    --------
    >>> table_height(pd.DataFrame({"a": range(3)}))
    143
    """
    return 38 + 35 * len(table)


def mps_groups() -> list[str]:
    """The category groups of the MPS ward series (``spatial/data/mps_major_categories.csv``), by label."""
    return sorted(set(mps_major_table()["group"]), key=lambda g: GROUP_LABELS.get(g, g))


def _shift(month: str, k: int) -> str:
    return str(pd.Period(month, "M") + k)


def comparison_periods(first: str, last: str) -> Periods:
    """The calendar months ``first..last``, the same number of months just before, and the same months a year earlier.

    Raises
    ------
    SchemaError
        If a month is not ``YYYY-MM`` or ``last`` is before ``first``.

    Examples
    --------
    >>> p = comparison_periods("2018-05", "2018-06")
    >>> p.this, p.previous, p.last_year
    (('2018-05', '2018-06'), ('2018-03', '2018-04'), ('2017-05', '2017-06'))
    """
    this = month_range(first, last)
    n = len(this)
    return Periods(this=tuple(this), previous=tuple(month_range(_shift(first, -n), _shift(first, -1))),
                   last_year=tuple(month_range(_shift(first, -12), _shift(last, -12))))


def period_text(months: Sequence[str]) -> str:
    return months[0] if len(months) == 1 else f"{months[0]} to {months[-1]}"


def coverage_note(name: str, months: Sequence[str], with_data: Sequence[str], *, source: str) -> str | None:
    """What to say when ``months`` (the period called ``name``) has no data, or data for some months only.

    Examples
    --------
    >>> coverage_note("Previous period", ["2018-05"], ["2018-06"], source="police.uk points")
    'Previous period (2018-05): no data — police.uk points cover none of these months.'
    >>> coverage_note("This period", ["2018-05", "2018-06"], ["2018-06"], source="x") is not None
    True
    >>> coverage_note("This period", ["2018-06"], ["2018-06"], source="x") is None
    True
    """
    have = [m for m in months if m in set(with_data)]
    if not have:
        return f"{name} ({period_text(months)}): no data — {source} cover none of these months."
    if len(have) < len(months):
        return (f"{name} ({period_text(months)}): data for {len(have)} of {len(months)} months only "
                f"({', '.join(have[:6])}{' ...' if len(have) > 6 else ''}); the counts are not comparable in full.")
    return None


def month_counts(engine: Engine, *, ward_codes: Sequence[str]) -> pd.Series:
    """Stored incidents per month in ``ward_codes`` (sensitive included: row counts only); a store reader."""
    inc = T.incidents
    q = (select(inc.c.month, func.count().label("n")).where(inc.c.ward_code.in_(list(ward_codes)))
         .group_by(inc.c.month).order_by(inc.c.month))
    with engine.connect() as conn:
        rows = conn.execute(q).all()
    return pd.Series({str(m): int(n) for m, n in rows}, dtype="int64", name="incidents")


def covered_months(counts: pd.Series, *, share: float = 0.1) -> list[str]:
    """Months holding at least ``share`` of the busiest month's incidents (the ``allocate`` coverage rule).

    police.uk pulls for neighbouring boroughs leave a trickle of boundary points in other months;
    those months are not data for this borough.

    Examples
    --------
    >>> covered_months(pd.Series({"2018-05": 3, "2018-06": 100, "2024-01": 40}))
    ['2018-06', '2024-01']
    """
    return _covered_months(counts, share=share)


# ----------------------------------------------------------------------------
# counts per period, from the two sources
# ----------------------------------------------------------------------------
def mps_ward_series(area_counts: pd.DataFrame, *, priority: Sequence[str] = RBKC_WARD_PRIORITY) -> pd.DataFrame:
    """The MPS monthly ward series spliced across releases (``spatial.series.splice_series``).

    An empty frame (same columns plus ``group``, ``sensitive``, ``proactive``) when no series is stored.
    """
    ward = area_counts[area_counts["area_type"] == "ward"] if "area_type" in area_counts.columns else area_counts
    present = set(ward["dataset"]) if len(ward) else set()
    use = [d for d in priority if d in present]
    if not use:
        return ward.iloc[0:0].assign(group=pd.Series(dtype=object), sensitive=pd.Series(dtype=bool),
                                     proactive=pd.Series(dtype=bool))
    return splice_series(ward, priority=use)


def period_counts_mps(series: pd.DataFrame, months: Sequence[str], *, ward_codes: Sequence[str],
                      harm_index: str = "cchi") -> pd.DataFrame:
    """Long counts (``area_code, category, sensitive, count, harm``) of the spliced MPS series in ``months``."""
    s = series[series["area_code"].isin(list(ward_codes))]
    if "area_type" not in s.columns:
        s = s.assign(area_type="ward")
    return area_counts_from_mps(s, area_type="ward", months=list(months),
                                harm_index=harm_index)  # type: ignore[arg-type]


def period_counts_incidents(incidents: pd.DataFrame, months: Sequence[str], *, ward_codes: Sequence[str],
                            harm_index: str = "cchi") -> pd.DataFrame:
    """Long counts of the incidents (sensitive included, to be aggregated) in ``months`` and ``ward_codes``."""
    keep = incidents[MONTH].astype(str).isin(list(months)) & incidents[WARD_CODE].isin(list(ward_codes))
    return area_counts_from_incidents(incidents[keep], harm_index=harm_index)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------
# suppressed aggregates (always through league_table)
# ----------------------------------------------------------------------------
def group_of(categories: pd.Series, taxonomy: Taxonomy | None = None) -> pd.Series:
    """The taxonomy group of each canonical category slug (unknown slugs: ``other``)."""
    tax = taxonomy or load_taxonomy()
    groups = {s: c.group for s, c in tax.categories.items()}
    return categories.map(groups).fillna("other")


def group_label(group: str, *, sensitive_groups: Sequence[str] = ()) -> str:
    """``"Theft"``, or ``"Violence and sexual offences (sensitive)"`` for a sensitive group."""
    label = GROUP_LABELS.get(group, group)
    return f"{label} (sensitive)" if group in sensitive_groups else label


def _sensitive_groups(taxonomy: Taxonomy | None = None) -> list[str]:
    tax = taxonomy or load_taxonomy()
    out = {c.group for c in tax.categories.values() if c.sensitive}
    out |= set(mps_major_table().loc[mps_major_table()["sensitive"], "group"])
    return sorted(out)


def _totals(long: pd.DataFrame, keys: pd.Series) -> pd.DataFrame:
    """``count`` and ``harm`` per key, suppressed by :func:`league_table` (NaN = withheld)."""
    if long.empty:
        return pd.DataFrame({"count": [], "harm": [], "suppressed": [], "secondary": []},
                            index=pd.Index([], name="area_code"))
    lt = league_table(long.assign(area_code=keys.to_numpy()), suppress_sensitive=True)
    return lt.set_index("area_code")[["count", "harm", "suppressed", "secondary"]]


def _num(v: float, *, digits: int = 0) -> str:
    return f"{v:,.{digits}f}"


def change_text(now: float | None, before: float | None, *, before_has_data: bool = True) -> str:
    """``"+12 (+8.0%)"``; ``"no data"`` when the comparison period has none; ``"-"`` when a figure is withheld.

    Examples
    --------
    >>> change_text(110, 100), change_text(5, 0), change_text(3, float("nan")), change_text(3, 4, before_has_data=False)
    ('+10 (+10.0%)', '+5 (new)', '-', 'no data')
    """
    if not before_has_data:
        return _NO_DATA
    if now is None or before is None or not (math.isfinite(now) and math.isfinite(before)):
        return "-"
    diff = now - before
    pct = "new" if before == 0 and now > 0 else ("0.0%" if before == 0 else f"{diff / before:+.1%}")
    return f"{diff:+,.0f} ({pct})"


def _cell(row: pd.Series | None, col: str, *, has_data: bool, digits: int = 0) -> str:
    if not has_data:
        return _NO_DATA
    if row is None:
        return "0"
    v = row[col]
    if pd.isna(v):
        # a secondary suppression (spatial.disclosure) is not "fewer than 5": it is withheld
        return _FEWER if col == "count" and not bool(row.get("secondary", False)) else WITHHELD
    return _num(float(v), digits=digits)


def comparison_table(by_period: Mapping[str, pd.DataFrame], has_data: Mapping[str, bool], *,
                     by: Literal["group", "ward"], ward_names: Mapping[str, str] | None = None,
                     taxonomy: Taxonomy | None = None) -> pd.DataFrame:
    """Counts and harm in each period, with the change, by category group or by ward (display strings).

    Parameters
    ----------
    by_period
        Long counts per period name (:data:`PERIOD_NAMES`), from :func:`period_counts_mps`
        or :func:`period_counts_incidents`.
    has_data
        Whether each period holds any data (a period without data shows "no data", never 0).
    by
        ``group`` (rows are category groups plus :data:`ALL_GROUPS`) or ``ward``.
    ward_names
        Ward code -> name; with ``by="ward"`` every ward listed here gets a row.

    Returns
    -------
    pandas.DataFrame
        ``Group`` or ``Ward``, then ``Count`` and ``Harm`` per period, ``Change vs previous``
        and ``Change vs last year``.  Suppressed counts read "fewer than 5" and their harm
        "withheld"; changes involving them read "-".
    """
    tax = taxonomy or load_taxonomy()
    sens = _sensitive_groups(tax)
    totals: dict[str, pd.DataFrame] = {}
    for name in PERIOD_NAMES:
        long = by_period.get(name, pd.DataFrame(columns=["area_code", "category", "sensitive", "count", "harm"]))
        if by == "group":
            groups = group_of(long["category"].astype(str), tax) if len(long) else pd.Series([], dtype=object)
            per = _totals(long, groups)
            every = _totals(long, pd.Series([ALL_GROUPS] * len(long), dtype=object))
            totals[name] = pd.concat([per, every])
        else:
            totals[name] = _totals(long, long["area_code"] if len(long) else pd.Series([], dtype=object))
    if by == "group":
        present = sorted(set().union(*(set(t.index) for t in totals.values())) - {ALL_GROUPS},
                         key=lambda g: GROUP_LABELS.get(g, g))
        keys = [*present, ALL_GROUPS]
        labels = [group_label(g, sensitive_groups=sens) if g != ALL_GROUPS else ALL_GROUPS for g in keys]
        first = "Group"
    else:
        names = dict(ward_names or {})
        keys = sorted(set(names) | set().union(*(set(t.index) for t in totals.values())),
                      key=lambda c: names.get(c, c))
        labels = [names.get(k, k) for k in keys]
        first = "Ward"
    out = pd.DataFrame({first: labels})
    for name in PERIOD_NAMES:
        t, ok = totals[name], bool(has_data.get(name, False))
        rows = [t.loc[k] if k in t.index else None for k in keys]
        out[f"Count ({name.lower()})"] = [_cell(r, "count", has_data=ok) for r in rows]
        out[f"Harm ({name.lower()})"] = [_cell(r, "harm", has_data=ok) for r in rows]
    now = totals[PERIOD_NAMES[0]]

    def value(t: pd.DataFrame, k: str) -> float:
        return float(t.loc[k, "count"]) if k in t.index else 0.0

    for label, name in (("Change vs previous", PERIOD_NAMES[1]), ("Change vs last year", PERIOD_NAMES[2])):
        before_ok = bool(has_data.get(name, False))
        if not has_data.get(PERIOD_NAMES[0], False):
            out[label] = _NO_DATA
            continue
        out[label] = [change_text(value(now, k), value(totals[name], k), before_has_data=before_ok) for k in keys]
    return out


# ----------------------------------------------------------------------------
# ward league table
# ----------------------------------------------------------------------------
def ward_imd(wards: gpd.GeoDataFrame, *, data_dir: Path | None = None) -> pd.Series:
    """IMD 2019 score per ward: the population-weighted mean of the 2011 LSOAs whose inside point falls in the ward.

    Uses the bundled IMD 2019 and mid-2020 population of RBKC's 2011 LSOAs; wards
    with no such LSOA (other boroughs) are missing.  Higher is more deprived.
    """
    imd = pd.read_csv(get_path("population/rbkc_lsoa11_imd2019.csv", data_dir=data_dir))
    pop = pd.read_csv(get_path("population/rbkc_lsoa11_midyear2020_population.csv", data_dir=data_dir))
    lsoas = gpd.read_file(get_path("boundaries/lsoa_2011.gpkg", data_dir=data_dir), engine="pyogrio")
    lsoas = lsoas[lsoas["lsoa_code"].isin(imd["LSOA code (2011)"])]
    if lsoas.empty or wards.empty:
        return pd.Series(dtype=float, name="imd_score")
    pts = gpd.GeoDataFrame({"lsoa_code": lsoas["lsoa_code"].to_numpy()},
                           geometry=lsoas.geometry.representative_point().to_numpy(), crs=lsoas.crs)
    joined = gpd.sjoin(pts, wards[["ward_code", wards.geometry.name]].to_crs(lsoas.crs), predicate="within")
    df = joined[["lsoa_code", "ward_code"]].merge(
        imd[["LSOA code (2011)", "Index of Multiple Deprivation (IMD) Score"]].rename(
            columns={"LSOA code (2011)": "lsoa_code", "Index of Multiple Deprivation (IMD) Score": "score"}),
        on="lsoa_code").merge(pop[["LSOA11CD", "Persons_All-Ages"]].rename(
            columns={"LSOA11CD": "lsoa_code", "Persons_All-Ages": "pop"}), on="lsoa_code")
    df["w"] = df["score"] * df["pop"]
    g = df.groupby("ward_code")[["w", "pop"]].sum()
    return (g["w"] / g["pop"]).rename("imd_score")


def ward_league(long: pd.DataFrame, *, ward_names: Mapping[str, str], population: pd.Series | None,
                imd: pd.Series | None = None) -> pd.DataFrame:
    """The ward league table of a period from :func:`spatial.hotspots.league_table` (ranked by harm).

    Columns ``Rank, Ward, Incidents, Per 1,000 residents, Harm, Harm per 1,000, Non-sensitive,
    Sensitive, IMD 2019 score``; a ward whose sensitive count is suppressed has its total,
    harm and rates withheld (empty) and ranks last, as ``league_table`` decides.
    """
    codes = list(ward_names)
    base = long if len(long) else pd.DataFrame({"area_code": pd.Series(dtype=object),
                                                "category": pd.Series(dtype=object),
                                                "sensitive": pd.Series(dtype=bool), "count": pd.Series(dtype=int),
                                                "harm": pd.Series(dtype=float)})
    base = base[base["area_code"].isin(codes)]
    lt = league_table(base, population=population, areas=codes, suppress_sensitive=True)
    nan = pd.Series(np.nan, index=lt.index)
    out = pd.DataFrame({
        "Rank": lt["rank"].to_numpy(),
        "Ward": [ward_names.get(c, c) for c in lt["area_code"]],
        "Incidents": lt["count"].round(0).to_numpy(),
        "Per 1,000 residents": lt.get("rate_per_1000", nan).round(1).to_numpy(),
        "Harm": lt["harm"].round(0).to_numpy(),
        "Harm per 1,000": lt.get("harm_per_1000", nan).round(0).to_numpy(),
        "Non-sensitive": lt["count_non_sensitive"].to_numpy(),
        "Sensitive": lt["sensitive_display"].to_numpy(),
        "IMD 2019 score": (lt["area_code"].map(imd).round(1).to_numpy() if imd is not None
                           else np.full(len(lt), np.nan)),
    })
    return out


#: Number formats of the ward league on screen; an empty (withheld) cell reads "withheld", as in the tables above.
LEAGUE_FORMATS: Mapping[str, str] = {"Incidents": "{:,.0f}", "Per 1,000 residents": "{:,.1f}", "Harm": "{:,.0f}",
                                     "Harm per 1,000": "{:,.0f}", "Non-sensitive": "{:,.0f}",
                                     "IMD 2019 score": "{:.1f}"}


def league_styled(league: pd.DataFrame) -> Any:
    """The ward league for ``st.dataframe``: numbers stay numbers (sortable), withheld cells read "withheld".

    Examples
    --------
    >>> t = pd.DataFrame({"Rank": [1, 2], "Ward": ["A", "B"], "Incidents": [12.0, np.nan],
    ...                   "IMD 2019 score": [20.5, np.nan]})
    >>> html = league_styled(t).to_html()
    >>> "withheld" in html, "not known" in html, "nan" in html.lower().replace("nan-", "")
    (True, True, False)
    """
    styler = league.style
    for col, fmt in LEAGUE_FORMATS.items():
        if col in league.columns:  # a ward without an IMD score is not withheld, just not known
            styler = styler.format(fmt, subset=[col], na_rep="not known" if col == "IMD 2019 score" else "withheld")
    return styler.hide(axis="index")


# ----------------------------------------------------------------------------
# long-run trends from the MPS series
# ----------------------------------------------------------------------------
def _monthly(series: pd.DataFrame, *, ward: str | None, group: str | None) -> pd.DataFrame:
    s = series if ward is None else series[series["area_code"] == ward]
    if group not in (None, ALL_GROUPS):
        s = s[s["group"] == group]
    return s


def _suppressed_monthly(s: pd.DataFrame, months: list[str], covered: set[str]) -> pd.Series:
    """Monthly totals (index ``months``) of the spliced series rows ``s``, suppressed by :func:`_totals`.

    A month of ``covered`` without rows in ``s`` is 0; a month outside ``covered`` (a gap in the
    series) and a withheld month are missing.
    """
    long = pd.DataFrame({"category": s["major"].astype(str).to_numpy(),
                         "sensitive": s["sensitive"].astype(bool).to_numpy(),
                         "count": pd.to_numeric(s["count"]).to_numpy(), "harm": 0.0})
    counts = _totals(long, s["month"].astype(str))["count"]
    out = pd.Series(np.nan, index=months, dtype=float)
    out[[m for m in months if m in covered]] = 0.0
    shown = counts.index.intersection(months)
    out[shown] = counts[shown].to_numpy()
    return out


def trend_series(series: pd.DataFrame, *, group: str = ALL_GROUPS, ward: str | None = None,
                 window: int = 12) -> pd.DataFrame:
    """Monthly count and ``window``-month rolling mean of one group (or all) in one ward (or the borough).

    Returns a frame indexed by month start (``DatetimeIndex``) with ``Monthly count``
    and ``{window}-month rolling mean``.  Suppressed months (sensitive 1-4) are missing,
    and so is every rolling mean whose window holds one.
    """
    if series.empty:
        return pd.DataFrame({"Monthly count": [], f"{window}-month rolling mean": []})
    months = month_range(str(series["month"].min()), str(series["month"].max()))
    s = _monthly(series, ward=ward, group=group)
    monthly = _suppressed_monthly(s, months, set(series["month"].astype(str)))
    out = pd.DataFrame({"Monthly count": monthly.to_numpy(),
                        f"{window}-month rolling mean": monthly.rolling(window, min_periods=window).mean().to_numpy()},
                       index=pd.PeriodIndex(months, freq="M").to_timestamp())
    out.index.name = "month"
    return out


def group_trends(series: pd.DataFrame, *, ward: str | None = None, window: int = 12) -> pd.DataFrame:
    """``window``-month rolling mean of every MPS group (columns, readable labels) for a ward or the borough."""
    if series.empty:
        return pd.DataFrame()
    months = month_range(str(series["month"].min()), str(series["month"].max()))
    s = _monthly(series, ward=ward, group=None)
    sens = _sensitive_groups()
    covered = set(series["month"].astype(str))
    cols: dict[str, np.ndarray] = {}
    for g in sorted(s["group"].unique(), key=lambda g: GROUP_LABELS.get(g, g)):
        part = s[s["group"] == g]
        monthly = _suppressed_monthly(part, months, covered)
        cols[group_label(g, sensitive_groups=sens)] = monthly.rolling(window, min_periods=window).mean().to_numpy()
    out = pd.DataFrame(cols, index=pd.PeriodIndex(months, freq="M").to_timestamp())
    out.index.name = "month"
    return out


# ----------------------------------------------------------------------------
# everything the comparison part of the page shows
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Comparison:
    """The comparison tables of one source and period (display-ready, suppressed)."""

    periods: Periods
    by_group: pd.DataFrame
    by_ward: pd.DataFrame
    league: pd.DataFrame
    #: ``(label, value, delta or None)`` headline figures of the period.
    headline: tuple[tuple[str, str, str | None], ...]
    #: What to say about periods without (full) data.
    coverage: tuple[str, ...]


def _headline(by_group: pd.DataFrame, *, counted: str) -> tuple[tuple[str, str, str | None], ...]:
    """The period's figures; ``counted`` names what the count is (the MPS series counts recorded offences,
    the store incidents: crimes and anti-social behaviour, which is not an offence)."""
    row = by_group[by_group["Group"] == ALL_GROUPS].iloc[0]
    out = []
    for what in ("Count", "Harm"):
        now = row[f"{what} ({PERIOD_NAMES[0].lower()})"]
        prev = row[f"{what} ({PERIOD_NAMES[1].lower()})"]
        delta = None
        try:
            a, b = float(str(now).replace(",", "")), float(str(prev).replace(",", ""))
            delta = f"{a - b:+,.0f} on the previous period"
        except ValueError:
            pass
        out.append((f"{counted if what == 'Count' else 'Harm (CCHI days)'}, this period", str(now), delta))
    out.append(("Against the same period last year", str(row["Change vs last year"]), None))
    return tuple(out)


def build_comparison(*, source: Source, first: str, last: str, ward_names: Mapping[str, str],
                     months_with_data: Sequence[str], series: pd.DataFrame | None = None,
                     incidents: pd.DataFrame | None = None, population: pd.Series | None = None,
                     imd: pd.Series | None = None, taxonomy: Taxonomy | None = None,
                     low_months: Sequence[str] = ()) -> Comparison:
    """The comparison of ``first..last`` with the previous period and last year, from one source (pure).

    ``series`` (spliced MPS ward series) is needed for ``source="mps"``, ``incidents`` (every stored
    incident, sensitive included, for aggregation only) for ``"incidents"``.  ``low_months`` are the
    area's months published low (:func:`spatial.low_months.low_months` on the whole store): the ward
    league leaves those inside this period out of its counts and rates (unless the period is only
    low months), and a period holding one is named in the coverage notes.

    Raises
    ------
    SchemaError
        If the source's data is not given, or the source is unknown.
    """
    if source not in SOURCES:
        msg = f'source was "{source}" but is expected to be one of {list(SOURCES)}'
        raise SchemaError(msg)
    data = series if source == "mps" else incidents
    if data is None:
        msg = f"source {source!r} needs {'series' if source == 'mps' else 'incidents'}"
        raise SchemaError(msg)
    periods = comparison_periods(first, last)
    codes = list(ward_names)
    counter = period_counts_mps if source == "mps" else period_counts_incidents
    by_period: dict[str, pd.DataFrame] = {}
    has: dict[str, bool] = {}
    notes: list[str] = []
    where = "the MPS ward series" if source == "mps" else "the stored incidents"
    for name, months in periods.named().items():
        has[name] = any(m in set(months_with_data) for m in months)
        by_period[name] = (counter(data, months, ward_codes=codes) if has[name] else
                           pd.DataFrame(columns=["area_code", "category", "sensitive", "count", "harm"]))
        note = coverage_note(name, months, months_with_data, source=where)
        if note:
            notes.append(note)
    if source == "incidents" and has[PERIOD_NAMES[0]]:
        this = by_period[PERIOD_NAMES[0]]
        only_sensitive = len(this) > 0 and bool(this["sensitive"].astype(bool).all())
        if only_sensitive:
            notes.append("This period holds sensitive categories only (the bundled 2024 RBKC file is violence and "
                         "sexual offences only): the other groups have no data, not zero crime.")
    by_group = comparison_table(by_period, has, by="group", taxonomy=taxonomy)
    by_ward = comparison_table(by_period, has, by="ward", ward_names=ward_names, taxonomy=taxonomy)
    low = set(low_months)
    for name, months in periods.named().items():
        inside = [m for m in months if m in low and m in set(months_with_data)]
        if inside:
            notes.append(f"{name.capitalize()} holds {', '.join(inside)}, published low by police.uk (far below the "
                         "months either side in every category): its figures are understated.")
    league_counts = by_period[PERIOD_NAMES[0]]
    this_months = [m for m in periods.this if m in set(months_with_data)]
    league_low = [m for m in this_months if m in low]
    if league_low and len(league_low) < len(this_months):
        league_counts = counter(data, [m for m in this_months if m not in low], ward_codes=codes)
        notes.append(league_note(league_low, kept_months=len(this_months) - len(league_low),
                                 table="The ward league"))
    league = ward_league(league_counts, ward_names=ward_names, population=population, imd=imd)
    return Comparison(periods=periods, by_group=by_group, by_ward=by_ward, league=league,
                      headline=_headline(by_group, counted="Offences" if source == "mps" else "Incidents (crime and ASB)"), coverage=tuple(notes))

