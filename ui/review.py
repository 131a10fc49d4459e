"""Review helpers of the dashboard: which week to review, which incidents to compare, and the review itself.

No Streamlit here.  The figures come from :mod:`tasking.review` (difference in
differences against matched untasked places, delivery from patrol logs, the
Weighted Displacement Quotient); this module chooses the periods and shapes
the results for the page.

Which incidents?
----------------
A tasking week is in 2026 while the bundled police.uk data are from 2018, and
police.uk dates are whole months.  The review therefore compares **months of
data actually held**, chosen by the chair ("before" and "after"), and says so
(:func:`period_statement`).  When incidents with dates inside the reviewed week
are held (council logs with dates and times), the week itself can be the
"after" period: each incident counts with the share of its time window inside
the week (:func:`tasking.review.period_share`, aoristic weighting), so a
police.uk month would count about 7/30 of its incidents.

Safeguarding: :func:`review_incidents` reads non-sensitive incidents only, and
:func:`run_review` keeps ``include_sensitive=False``; nothing here draws a point.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import geopandas as gpd
import pandas as pd

from spatial.analysis import covered_months
from spatial.schema import MONTH, WARD_CODE
from spatial.store.queries import incident_frame
from tasking import records
from tasking._errors import TaskingError
from tasking.plan import Plan
from tasking.review import (
    WDQ_BANDS,
    Delivery,
    WeekReview,
    candidate_polygons,
    grid_controls,
    period_share,
    review_week,
)

from .planning import iso_week

__all__ = ["WEEK_PERIOD", "BUFFER_M", "ReviewPeriods", "reviewable_weeks", "default_review_week",
           "default_periods", "week_before_months", "month_weeks", "review_incidents", "week_overlap", "period_statement", "run_review",
           "delivery_tables", "comparison_table", "wdq_table", "decision_choices", "wdq_explanation", "tasked_places",
           "thin_months", "notes_table"]

#: The "after" choice meaning "the reviewed week itself" (aoristic shares of the incidents held).
WEEK_PERIOD: Final = "week"
#: Width of the buffer ring around the tasked places for the WDQ (metres).
BUFFER_M: Final = 250.0


def reviewable_weeks(meetings: pd.DataFrame, *, today: dt.date) -> list[str]:
    """Weeks before ``today``'s week whose meeting has an approved plan, newest first.

    ``meetings`` is :func:`tasking.records.list_meetings` output (``week``, ``approved_version``).

    Examples
    --------
    >>> m = pd.DataFrame({"week": ["2026-W49", "2026-W47", "2026-W46"], "approved_version": [1, None, 2]})
    >>> reviewable_weeks(m, today=dt.date(2026, 11, 23))
    ['2026-W46']
    """
    current = iso_week(today)
    ok = meetings[meetings["approved_version"].notna()]["week"].astype(str)
    return sorted({w for w in ok if w < current}, reverse=True)


def default_review_week(weeks: Sequence[str], *, today: dt.date) -> str | None:
    """Last week if it is reviewable, else the newest reviewable week (None when there is none).

    Examples
    --------
    >>> default_review_week(["2026-W47", "2026-W40"], today=dt.date(2026, 11, 23))
    '2026-W47'
    >>> default_review_week(["2026-W40"], today=dt.date(2026, 11, 23))
    '2026-W40'
    """
    last = iso_week(today - dt.timedelta(days=7))
    if last in weeks:
        return last
    return weeks[0] if weeks else None


@dataclass(frozen=True)
class ReviewPeriods:
    """The incidents compared: ``before`` months and ``after`` months, or the week itself."""

    before: tuple[str, ...]
    after: tuple[str, ...]
    #: True when "after" is the reviewed week itself (aoristic shares), not months.
    after_is_week: bool = False


def default_periods(months: Sequence[str], *, before_months: int = 3,
                    unreliable: Collection[str] = ()) -> ReviewPeriods | None:
    """After = the newest month held, before = up to ``before_months`` months before it; None with < 2 months.

    Months in ``unreliable`` (probably incomplete, or published low: :func:`thin_months`,
    :func:`spatial.low_months.incident_low_months`) are passed over while at least two
    reliable months are held; with fewer, every month is used (and the page warns).

    Examples
    --------
    >>> default_periods(["2018-03", "2018-04", "2018-05", "2018-06"], before_months=2)
    ReviewPeriods(before=('2018-04', '2018-05'), after=('2018-06',), after_is_week=False)
    >>> default_periods(["2018-10", "2018-11", "2018-12", "2019-01"], unreliable=["2018-11", "2018-12"])
    ReviewPeriods(before=('2018-10',), after=('2019-01',), after_is_week=False)
    >>> default_periods(["2018-05", "2018-06"], unreliable=["2018-05"]).before  # nothing better held
    ('2018-05',)
    >>> default_periods(["2018-06"]) is None
    True
    """
    ms = sorted(months)
    if len(ms) < 2:
        return None
    bad = set(unreliable)
    good = [m for m in ms if m not in bad]
    use = good if len(good) >= 2 else ms
    return ReviewPeriods(before=tuple(use[:-1][-before_months:]), after=(use[-1],))


def week_before_months(months: Sequence[str], *, unreliable: Collection[str] = (), n: int = 3) -> tuple[str, ...]:
    """The ``n`` newest months held, reliable ones first choice: the "before" of a review of the week itself.

    Examples
    --------
    >>> week_before_months(["2024-07", "2024-08", "2024-09", "2024-10"], unreliable=["2024-09"])
    ('2024-07', '2024-08', '2024-10')
    >>> week_before_months(["2024-09"], unreliable=["2024-09"])
    ('2024-09',)
    """
    ms = sorted(months)
    good = [m for m in ms if m not in set(unreliable)]
    return tuple((good or ms)[-n:])


def month_weeks(months: Collection[str]) -> float:
    """Length of the months in weeks (days / 7).

    Examples
    --------
    >>> round(month_weeks(["2018-06"]), 4), round(month_weeks(["2018-05", "2018-06"]), 4)
    (4.2857, 8.7143)
    """
    days = 0
    for m in months:
        y, mo = (int(v) for v in str(m).split("-"))
        days += calendar.monthrange(y, mo)[1]
    return days / 7.0


def review_incidents(engine: Any, *, wards: gpd.GeoDataFrame) -> pd.DataFrame:
    """Non-sensitive incidents held for the borough of ``wards`` (every month), for the review.

    Role-free: every reader of the review sees the same non-sensitive rows.
    """
    inc = incident_frame(engine, include_sensitive=False)
    return inc[inc[WARD_CODE].isin(set(wards["ward_code"]))].reset_index(drop=True)


def _week_bounds(week: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    dates = records.week_dates(week)
    start = pd.Timestamp(dates[0]).tz_localize("Europe/London")
    return start, start + pd.Timedelta(days=7)


def week_overlap(incidents: pd.DataFrame, week: str) -> float:
    """Aoristic number of held incidents inside ``week`` (0 when the data do not reach the week)."""
    if incidents.empty:
        return 0.0
    start, end = _week_bounds(week)
    return float(period_share(incidents, start=start, end=end).sum())


def period_statement(periods: ReviewPeriods, *, week: str, newest_month: str | None) -> str:
    """One sentence saying which incidents the review compares, and why.

    Examples
    --------
    >>> period_statement(ReviewPeriods(("2018-05",), ("2018-06",)), week="2026-W47", newest_month="2018-06")[:60]
    'Incidents compared: before = 2018-05 (4.4 weeks), after = 20'
    """
    before = f"{_months_text(periods.before)} ({month_weeks(periods.before):.1f} weeks)"
    if periods.after_is_week:
        return (f"Incidents compared: before = {before}, after = the reviewed week {week} itself, each incident "
                "counted with the share of its time window inside the week (aoristic weighting; a police.uk "
                "incident is dated only by month, so it counts about 7/30). Counts are compared per week.")
    after = f"{_months_text(periods.after)} ({month_weeks(periods.after):.1f} weeks)"
    text = (f"Incidents compared: before = {before}, after = {after}, chosen from the months of data held; "
            "counts are compared per week.")
    if newest_month is not None and newest_month < week[:4]:
        text += (f" The newest month held ({newest_month}) is long before the reviewed week {week}: the figures "
                 "show how the review works on the data held, not what happened in that week. Load current "
                 "data (police.uk months or council logs) to review the week itself.")
    return text


def _months_text(months: Sequence[str]) -> str:
    ms = sorted(months)
    if not ms:
        return "-"
    return ms[0] if len(ms) == 1 else f"{ms[0]} to {ms[-1]}"


def run_review(plan: Mapping[str, Any], incidents: pd.DataFrame, *, week: str, periods: ReviewPeriods,
               area: gpd.GeoDataFrame, parks: gpd.GeoDataFrame | None, estates: gpd.GeoDataFrame | None,
               logs: pd.DataFrame | None = None, buffer_m: float = BUFFER_M) -> WeekReview:
    """The review of ``plan`` (pure): tasked against matched untasked places, delivery and the WDQ.

    Places are the plan's candidates rebuilt as polygons
    (:func:`tasking.review.candidate_polygons`) plus the untasked grid cells of
    the borough (:func:`tasking.review.grid_controls`) as comparison places.

    Raises
    ------
    TaskingError
        If a period is empty, before and after overlap, or the plan tasked no
        place with a polygon.
    """
    if not periods.before:
        msg = "the before period is empty; choose at least one month before the after period"
        raise TaskingError(msg)
    if not periods.after_is_week and not periods.after:
        msg = "the after period is empty; choose at least one month"
        raise TaskingError(msg)
    if not periods.after_is_week and set(periods.before) & set(periods.after):
        msg = (f"the before months {sorted(periods.before)} and after months {sorted(periods.after)} overlap; "
               "a month can be in one period only")
        raise TaskingError(msg)
    month = incidents[MONTH].astype(str)
    before = incidents[month.isin(periods.before)]
    if periods.after_is_week:
        start, end = _week_bounds(week)
        after = incidents.assign(weight=period_share(incidents, start=start, end=end))
        after = after[after["weight"] > 0]
        after_weeks = 1.0
    else:
        after = incidents[month.isin(periods.after)]
        after_weeks = month_weeks(periods.after)
    units = grid_controls(tasked_places(plan, parks=parks, estates=estates, tasked_only=False), area,
                          cell_size_m=float(Plan.coerce(plan).cell_size_m))
    return review_week(plan, units=units, area=area, before=before, after=after,
                       before_weeks=month_weeks(periods.before), after_weeks=after_weeks, logs=logs,
                       buffer_m=buffer_m)


def tasked_places(plan: Mapping[str, Any], *, parks: gpd.GeoDataFrame | None, estates: gpd.GeoDataFrame | None,
                  tasked_only: bool = True) -> gpd.GeoDataFrame:
    """The plan's places as polygons (:func:`tasking.review.candidate_polygons`), the tasked ones only by default.

    ``parks``/``estates`` may use the stored layers' ``area_id`` or ``park_id``/``estate_id``.
    """
    pk = parks.rename(columns={"area_id": "park_id"}) if parks is not None and "park_id" not in parks.columns \
        else parks
    es = estates.rename(columns={"area_id": "estate_id"}) if estates is not None and "estate_id" not in \
        estates.columns else estates
    places = candidate_polygons(plan, parks=pk, estates=es)
    if tasked_only:
        notes = places.attrs.get("notes", [])
        places = places[places["tasked"].astype(bool)].reset_index(drop=True)
        places.attrs["notes"] = notes
    return places


def thin_months(counts: Mapping[str, int], months: Collection[str], *, share: float = 0.1) -> list[str]:
    """The ``months`` holding fewer than ``share`` of the busiest month's incidents (probably incomplete).

    Examples
    --------
    >>> thin_months({"2018-05": 36, "2018-06": 1607}, ["2018-05", "2018-06"])
    ['2018-05']
    """
    covered = set(covered_months(counts, share=share))
    return sorted(m for m in set(months) if m in counts and m not in covered)


def notes_table(notes: pd.DataFrame) -> pd.DataFrame:
    """``tasking.records.list_review_notes`` rows as ``When, Section, Note, Author``."""
    return pd.DataFrame({
        "When": [t.tz_convert("Europe/London").strftime("%d %b %Y %H:%M") if t is not None and not pd.isna(t) else ""
                 for t in notes["created_at"]],
        "Section": notes["section"].astype(str), "Note": notes["text"].astype(str),
        "Author": notes["author"].astype(str)}).reset_index(drop=True)


# ----------------------------------------------------------------------------
# display tables
# ----------------------------------------------------------------------------
def _rate(v: float) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.0%}"


def delivery_tables(dl: Delivery, *, names: Mapping[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(by agent, by place)`` for the page: planned, delivered, extra and unplanned visits, minutes and rate.

    ``dl`` is :func:`tasking.review.delivery` output; places are named from ``names`` (id -> name).
    """

    def shape(df: pd.DataFrame, key: str, label: str) -> pd.DataFrame:
        out = pd.DataFrame({label: df[key].astype(str)})
        if key == "candidate_id":
            out.insert(1, "Id", out[label])
            out[label] = [names.get(c, c) for c in out["Id"]]
        out["Planned visits"] = df["planned_visits"].astype(int).to_numpy()
        out["Delivered visits"] = df["delivered_visits"].astype(int).to_numpy()
        out["Extra visits"] = df["extra_visits"].astype(int).to_numpy()
        out["Unplanned visits"] = df["unplanned_visits"].astype(int).to_numpy()
        out["Planned minutes"] = df["planned_minutes"].round(0).astype(int).to_numpy()
        out["Delivered minutes"] = df["delivered_minutes"].round(0).astype(int).to_numpy()
        out["Delivery rate"] = [_rate(v) for v in df["delivery_rate"]]
        return out.reset_index(drop=True)

    return shape(dl.by_agent, "agent_id", "Agent"), shape(dl.by_candidate, "candidate_id", "Place")


def comparison_table(review: WeekReview) -> pd.DataFrame:
    """Tasked against matched untasked places by place type and measure (per week); difference in differences."""
    s = review.comparison.summary
    return pd.DataFrame({
        "Place type": s["place_type"], "Measure": s["measure"], "Tasked places": s["n_tasked"].astype(int),
        "Matched": s["n_matched"].astype(int),
        "Tasked before /wk": s["tasked_before"].round(2), "Tasked after /wk": s["tasked_after"].round(2),
        "Tasked change": [_signed(v) for v in s["tasked_change"]],
        "Control before /wk": s["control_before"].round(2), "Control after /wk": s["control_after"].round(2),
        "Control change": [_signed(v) for v in s["control_change"]],
        "Difference in differences /wk": s["did"].round(2),
    }).reset_index(drop=True)


def _signed(v: float) -> str:
    return "-" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:+.0%}"


def _num(v: float | None, fmt: str = "{:.2f}") -> str:
    return "undefined" if v is None or (isinstance(v, float) and not math.isfinite(v)) else fmt.format(v)


def wdq_table(review: WeekReview) -> pd.DataFrame:
    """The WDQ's parts on incidents and on harm: R, D, C before and after, the quotient, total net effect, reading."""
    rows = []
    for label, r in (("Incidents", review.displacement.incidents), ("Harm (CCHI days)", review.displacement.harm)):
        rows.append({"Measure": label, "Tasked R before": round(r.Rb, 1), "Tasked R after": round(r.Ra, 1),
                     "Buffer D before": round(r.Db, 1), "Buffer D after": round(r.Da, 1),
                     "Control C before": round(r.Cb, 1), "Control C after": round(r.Ca, 1),
                     "WDQ": _num(r.wdq), "Total net effect": _num(r.tne, "{:+.1f}"), "Reading": r.interpretation})
    return pd.DataFrame(rows)


def wdq_explanation(buffer_m: float = BUFFER_M) -> str:
    """How the WDQ is measured and read (markdown)."""
    bands = "\n".join(f"  - {v}" for k, v in WDQ_BANDS.items() if k != "undefined")
    return (f"**R** is the tasked places, **D** the ring from 0 to {buffer_m:g} m around them (where crime could "
            "move), **C** the rest of the borough (the control, for the general trend). "
            "WDQ = (Da/Ca - Db/Cb) / (Ra/Ca - Rb/Cb) (Bowers and Johnson 2003). "
            "The total net effect is what was prevented in R and D together, net of displacement. Reading:\n"
            + bands)


def decision_choices(decisions: pd.DataFrame) -> dict[int, str]:
    """Decision id -> ``"#3 Lighting survey ... (Highways, due 2026-12-04, open)"``."""
    out = {}
    for _, d in decisions.iterrows():
        action = str(d["action"])
        short = action if len(action) <= 60 else action[:57] + "..."
        due = d["due_date"].isoformat() if d["due_date"] is not None else "no date"
        out[int(d["decision_id"])] = f"#{int(d['decision_id'])} {short} ({d['owner']}, due {due}, {d['status']})"
    return out
