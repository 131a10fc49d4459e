"""Tasking helpers of the dashboard: weeks, the plan's inputs, the plan, the meeting record, one agent's share.

No Streamlit here: ``ui.cached`` wraps what is worth caching, and the pages
call the rest.  Three kinds of function live here:

* **pure** - :func:`iso_week`, :func:`next_week`, :func:`week_choices`,
  :func:`week_label`, :func:`build_plan` (frames and a roster in, plan out),
  :func:`agent_assignments`, :func:`agent_places`, :func:`agent_duty`,
  :func:`agent_logs`;
* **store readers** - :func:`read_inputs`,
  :func:`coverage`, :func:`meeting_state`: they read the store the way
  ``hotspot-tasking allocate`` does (both call :mod:`tasking.pipeline`), so the plan
  built in the dashboard is the plan the command line builds;
* **no writers** - approving, exporting and logging patrols go through
  :mod:`tasking.access` (``approve_plan``, ``export_bytes``, ``log_patrol``),
  which checks the viewer's role before calling :mod:`tasking.records` or
  :func:`tasking.pack.export_pack` (every export is audited there).

Safeguarding: :func:`read_inputs` reads ``incident_frame(include_sensitive=False)``,
so no sensitive incident reaches a plan, a hotspot layer or a marker, and
:func:`agent_assignments` gives one agent only their own rows.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import pandas as pd
from sqlalchemy import Engine

from spatial._errors import HotspotError
from tasking import records
from tasking._errors import TaskingError
from tasking.allocation import Exclusion, Pin, WarmStart
from tasking.candidates import DAY_NAMES
from tasking.formats import ExportKind
from tasking.names import place_reason, plan_place_names
from tasking.pipeline import (
    DEMO_PARKS_NOTE,
    PLAN_MONTHS,
    PlanInputs,
    borough_boundaries,
    borough_incidents,
    coverage_months,
    finish_plan,
    plan_week,
    read_plan_inputs,
)
from tasking.plan import Plan
from tasking.resources import Roster, default_roster_path

if TYPE_CHECKING:
    from spatial.forecast_select import ChoiceStore

__all__ = [
    "ROSTER_ENV", "PLAN_MONTHS", "DEMO_PARKS_NOTE", "ExportFormat", "PinTuple", "PlanInputs", "PlanOutcome",
    "MeetingState", "ApprovalResult",
    "roster_path", "iso_week", "next_week", "week_choices", "week_label", "read_inputs",
    "coverage", "build_plan", "meeting_state", "agent_assignments",
    "agent_places", "agent_duty", "agent_logs", "pin_label", "day_name", "months_between", "approved_weeks",
    "patrol_weeks", "agent_days", "assignment_label", "place_names", "plan_places", "directions_url", "today_first",
    "previous_week_plan", "chair_view", "ChairView",
]

#: Environment variable naming the roster YAML (default: the bundled RBKC roster).
ROSTER_ENV: Final = "HOTSPOT_ROSTER"
#: A pin as kept in session state: ``(agent_id, candidate_id, day 0-6, shift, visits)``.
PinTuple = tuple[str, str, int, str, int]


# ----------------------------------------------------------------------------
# weeks (pure)
# ----------------------------------------------------------------------------
def roster_path(environ: Mapping[str, str] | None = None) -> str:
    """The roster file: ``$HOTSPOT_ROSTER`` or the bundled RBKC roster."""
    env = os.environ if environ is None else environ
    return env.get(ROSTER_ENV, "").strip() or str(default_roster_path())


def iso_week(day: dt.date) -> str:
    """ISO week of ``day`` as ``YYYY-Www``.

    Examples
    --------
    >>> iso_week(dt.date(2026, 11, 23)), iso_week(dt.date(2027, 1, 1))
    ('2026-W48', '2026-W53')
    """
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def next_week(today: dt.date) -> str:
    """The ISO week after the one holding ``today`` (what a tasking meeting plans).

    Examples
    --------
    >>> next_week(dt.date(2026, 11, 23)), next_week(dt.date(2026, 12, 31))
    ('2026-W49', '2027-W01')
    """
    return iso_week(today + dt.timedelta(days=7))


def week_choices(today: dt.date, *, before: int = 1, after: int = 4) -> list[str]:
    """ISO weeks from ``before`` weeks before ``today``'s to ``after`` weeks after it, oldest first.

    Examples
    --------
    >>> week_choices(dt.date(2026, 11, 23), before=1, after=2)
    ['2026-W47', '2026-W48', '2026-W49', '2026-W50']
    """
    if before < 0 or after < 0:
        msg = f"before ({before}) and after ({after}) must be 0 or more weeks"
        raise ValueError(msg)
    return [iso_week(today + dt.timedelta(weeks=k)) for k in range(-before, after + 1)]


def week_label(week: str) -> str:
    """``"2026-W49 (Mon 30 Nov to Sun 6 Dec 2026)"``.

    Examples
    --------
    >>> week_label("2026-W49")
    '2026-W49 (Mon 30 Nov to Sun 6 Dec 2026)'
    """
    dates = records.week_dates(week)
    return f"{week} (Mon {dates[0].day} {dates[0]:%b} to Sun {dates[-1].day} {dates[-1]:%b %Y})"


def months_between(months: Sequence[str], first: str, last: str) -> tuple[str, ...]:
    """The months of ``months`` from ``first`` to ``last`` inclusive (in either order).

    Examples
    --------
    >>> months_between(["2018-04", "2018-05", "2018-06"], "2018-06", "2018-05")
    ('2018-05', '2018-06')
    """
    lo, hi = sorted((first, last))
    return tuple(m for m in months if lo <= m <= hi)


def pin_label(pin: PinTuple) -> str:
    """Readable pin, as the solver's messages write it.

    Examples
    --------
    >>> pin_label(("W01", "ST-c3504_1190", 0, "late", 2))
    'W01 -> ST-c3504_1190 Mon late (2 visits)'
    """
    return _pin(pin).label()


def _pin(p: PinTuple) -> Pin:
    agent, cand, day, shift, visits = p
    return Pin(str(agent), str(cand), int(day), str(shift), int(visits))


# ----------------------------------------------------------------------------
# store readers
# ----------------------------------------------------------------------------
def coverage(engine: Engine, *, borough: str, data_dir: Path | None = None) -> list[str]:
    """Every month with real coverage of the borough's non-sensitive incidents, oldest first.

    "Real coverage" is the rule ``allocate`` and ``recommend`` use
    (:func:`tasking.pipeline.coverage_months`): at least a tenth of the
    busiest month's incidents.  An empty store gives an empty list.
    """
    wards, _ = borough_boundaries(borough, data_dir)
    try:
        incidents = borough_incidents(engine, wards, borough)
    except TaskingError:
        return []
    return coverage_months(incidents, 10_000)


def read_inputs(engine: Engine, *, borough: str, data_dir: Path | None = None, months: Sequence[str] | None = None,
                latest: int = PLAN_MONTHS, groups: Sequence[str] | None = None) -> PlanInputs:
    """Read a plan's (or a hotspot map's) inputs from the store: :func:`tasking.pipeline.read_plan_inputs`."""
    return read_plan_inputs(engine, borough=borough, data_dir=data_dir, months=months, latest=latest, groups=groups)


# ----------------------------------------------------------------------------
# the plan (pure)
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class PlanOutcome:
    """A plan, or why there is none (an infeasible pin, no data): exactly one of the two is set."""

    plan: dict[str, Any] | None
    error: str | None


def build_plan(inputs: PlanInputs, *, roster: Roster, week: str, pins: Sequence[PinTuple] = (),
               exclusions: Sequence[str] = (), time_limit_s: float = 60.0,
               mip_rel_gap: float | None = None, presence: Literal["day", "week", "none"] | None = None,
               previous: Mapping[str, Any] | None = None, choice_store: ChoiceStore | None = None,
               area_key: str | None = None) -> PlanOutcome:
    """The week's plan from ``inputs``, exactly as ``hotspot-tasking allocate`` makes it (pure).

    Pins and exclusions are the chair's (``exclusions`` are whole-week
    candidate exclusions).  A plan that cannot be made - a pin that breaks a
    rule, a candidate that no longer exists - is not an exception here: the
    outcome carries the solver's message (which names the pin and the rule),
    so a page can show it and let the chair change the pin.  ``presence`` is the ward presence rule
    (default: the roster's ``planning.presence``).  ``previous`` (e.g. the week's plan
    without pins) starts HiGHS from that plan; the agents of pins it does not have are re-planned.
    ``choice_store`` and ``area_key`` (the area's database and key) give the plan the forecaster chosen
    for the area and stored with it, as ``allocate`` does, instead of selecting one in this process.
    """
    warm = None
    if previous is not None and pins:
        old = {tuple(p) for p in previous.get("inputs", {}).get("pin_specs", [])}
        warm = WarmStart.from_plan(previous, free_agents=sorted({str(p[0]) for p in pins if tuple(p) not in old}))
    try:
        records.week_dates(week)
        plan = plan_week(inputs.incidents, roster=roster, wards=inputs.wards, area=inputs.area, week=week,
                         parks=inputs.parks, estates=inputs.estates, pins=[_pin(p) for p in pins],
                         exclusions=[Exclusion(str(c)) for c in exclusions], time_limit_s=time_limit_s,
                         mip_rel_gap=mip_rel_gap,
                         presence=presence if presence is not None else roster.planning.presence,
                         warm_start=warm, low_months=inputs.low_months, choice_store=choice_store,
                         area_key=area_key if area_key is not None else inputs.borough)
    except HotspotError as exc:  # TaskingError and InfeasibleAllocationError included
        return PlanOutcome(plan=None, error=str(exc))
    finish_plan(plan, inputs, week=week)
    return PlanOutcome(plan=plan, error=None)


# ----------------------------------------------------------------------------
# the meeting record
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class MeetingState:
    """The week's meeting as stored: status, versions, and where the plan on screen stands."""

    meeting_id: int
    status: str
    chair: str
    latest_version: int | None
    approved_version: int | None
    approved_by: str | None
    approved_at: pd.Timestamp | None
    #: Version number of the plan on screen if it is stored (same sha256), else None.
    shown_version: int | None
    #: Whether the plan on screen is the approved version.
    shown_approved: bool


def meeting_state(engine: Engine, *, week: str, borough: str,
                  plan: Mapping[str, Any] | None = None) -> MeetingState | None:
    """The meeting of ``borough`` for ``week`` (None if there is none), compared with ``plan``."""
    meeting_id = records.find_meeting(engine, week=week, borough=borough)
    if meeting_id is None:
        return None
    meeting = records.get_meeting(engine, meeting_id)
    versions = records.list_plan_versions(engine, meeting_id)
    approved = versions[versions["approved"]]
    last = approved.iloc[-1] if len(approved) else None
    shown = None
    if plan is not None and len(versions):
        hit = versions[versions["plan_sha256"] == records.plan_digest(plan)]
        shown = int(hit["version"].iloc[-1]) if len(hit) else None
    return MeetingState(
        meeting_id=meeting_id, status=str(meeting["status"]), chair=str(meeting["chair"]),
        latest_version=int(versions["version"].max()) if len(versions) else None,
        approved_version=None if last is None else int(last["version"]),
        approved_by=None if last is None else str(last["approved_by"]),
        approved_at=None if last is None else last["approved_at"],
        shown_version=shown,
        shown_approved=shown is not None and bool(versions.loc[versions["version"] == shown, "approved"].iloc[0]))


def latest_version(engine: Engine, *, week: str, borough: str) -> int:
    """The newest stored plan version of the week's meeting, ``0`` if there is none (the editor's base)."""
    meeting_id = records.find_meeting(engine, week=week, borough=borough)
    if meeting_id is None:
        return 0
    versions = records.list_plan_versions(engine, meeting_id)
    return int(versions["version"].max()) if len(versions) else 0


@dataclass(frozen=True)
class StoredInstructions:
    """The chair's pins and exclusions of a stored plan version, to carry on from it."""

    version: int
    created_by: str
    pins: tuple[PinTuple, ...]
    exclusions: tuple[str, ...]


_PIN_LABEL = re.compile(r"^(?P<agent>\S+) -> (?P<cand>\S+) (?P<day>\w{3}) (?P<shift>\S+) \((?P<visits>\d+) visits?\)$")


def _pins_of(inputs: Mapping[str, Any]) -> tuple[PinTuple, ...]:
    specs = inputs.get("pin_specs")
    if specs is not None:
        return tuple((str(a), str(c), int(d), str(s), int(v)) for a, c, d, s, v in specs)
    out = []  # plans saved before pin_specs existed: read the labels back
    for label in inputs.get("pins") or []:
        m = _PIN_LABEL.match(str(label))
        if m is None or m["day"] not in DAY_NAMES:
            msg = f"pin {label!r} of the stored plan cannot be read back; add it again by hand"
            raise TaskingError(msg)
        out.append((m["agent"], m["cand"], DAY_NAMES.index(m["day"]), m["shift"], int(m["visits"])))
    return tuple(out)


def latest_instructions(engine: Engine, *, week: str, borough: str,
                        approved: bool = False) -> StoredInstructions | None:
    """Pins and whole-week exclusions of the newest stored version of the week's plan (None: no version).

    With ``approved=True``, those of the most recently approved version (None: none approved): an
    approved week reopens on what was approved, not on a plan rebuilt without the chair's pins.
    """
    meeting_id = records.find_meeting(engine, week=week, borough=borough)
    if meeting_id is None:
        return None
    versions = records.list_plan_versions(engine, meeting_id)
    if versions.empty:
        return None
    if approved:
        found = records.approved_plan(engine, meeting_id)
        if found is None:
            return None
        versions = versions[versions["version"] == found[0]]
    last = versions.sort_values("version").iloc[-1]
    inputs = Plan.from_json(records.load_plan(engine, meeting_id, int(last["version"]))).inputs
    exclusions = tuple(str(e["candidate_id"]) for e in inputs.get("exclusions") or []
                       if e.get("agent_id") is None and e.get("day") is None and e.get("shift") is None)
    return StoredInstructions(int(last["version"]), str(last["created_by"]), _pins_of(inputs), exclusions)


#: What :func:`tasking.access.approve_plan` did (defined in :mod:`tasking.records`).
ApprovalResult = records.ApprovalResult
# Approving, exporting and logging patrols are writes: pages call tasking.access.approve_plan,
# export_bytes and log_patrol, which check the role first (no unchecked copies here).


ExportFormat = ExportKind


# ----------------------------------------------------------------------------
# one agent's share of a plan (pure)
# ----------------------------------------------------------------------------
_AGENT_COLUMNS: Final = ("date", "day", "shift", "candidate_id", "name", "place_type", "ward_code", "visits",
                         "minutes", "why", "reason", "x", "y")


def _shift_order(plan: Plan) -> dict[str, int]:
    return {s: i for i, s in enumerate(records.plan_shifts(plan))}


def agent_assignments(plan: Plan | Mapping[str, Any], agent_id: str) -> pd.DataFrame:
    """The assignments of ``agent_id`` only, by date and shift, with each place's name and plain reason.

    Columns ``date, day, shift, candidate_id, name, place_type, ward_code, visits, minutes, why``.
    No row of another agent is ever returned (an unknown agent gets an empty frame).

    Examples
    --------
    >>> plan = {"candidates": [{"candidate_id": "C1", "name": "hot patch"}],
    ...         "assignments": [{"agent_id": "W01", "candidate_id": "C1", "date": "2026-11-30", "day": "Mon",
    ...                          "shift": "late", "visits": 2},
    ...                         {"agent_id": "W02", "candidate_id": "C1", "date": "2026-11-30", "day": "Mon",
    ...                          "shift": "late", "visits": 1}]}
    >>> agent_assignments(plan, "W01")[["day", "name", "visits"]].values.tolist()
    [['Mon', 'hot patch', 2]]
    """
    p = Plan.coerce(plan)
    names = {str(c.candidate_id): c for c in p.candidates}
    shown = place_names(p)
    months = len(p.inputs.get("months") or []) or None
    rows = []
    for a in p.assignments:
        if a.agent_id != agent_id:
            continue
        c = names.get(str(a.candidate_id))
        n = int(a.visits)
        per_visit = float(a.minutes) / n if a.minutes is not None and n > 0 else None
        # an assignment without its own place type or ward (older plans) has its candidate's
        rows.append({"date": str(a.date), "day": a.day, "shift": a.shift,
                     "candidate_id": str(a.candidate_id),
                     "name": shown.get(str(a.candidate_id), str(a.candidate_id)),
                     "place_type": a.place_type if a.has("place_type") else (c.place_type if c else None),
                     "ward_code": a.ward_code if a.has("ward_code") else (c.ward_code if c else None), "visits": n,
                     "minutes": a.minutes, "why": a.why,
                     "reason": place_reason(c.to_json() if c else {"candidate_id": a.candidate_id},
                                            visit_minutes=round(per_visit) if per_visit else None, months=months),
                     "x": c.x if c else None, "y": c.y if c else None})
    df = pd.DataFrame(rows, columns=list(_AGENT_COLUMNS))
    order = _shift_order(p)
    df["_s"] = df["shift"].map(order)
    return (df.sort_values(["date", "_s", "candidate_id"], kind="stable").drop(columns="_s")
            .reset_index(drop=True))


def agent_duty(plan: Plan | Mapping[str, Any], agent_id: str) -> pd.DataFrame:
    """The duty shifts of ``agent_id`` (``date, day, shift, tasked_minutes, patrol_minutes``), by date and shift."""
    p = Plan.coerce(plan)
    cols = ["date", "day", "shift", "tasked_minutes", "patrol_minutes"]
    rows = [{"date": r.date, "day": r.day, "shift": r.shift, "tasked_minutes": r.tasked_minutes,
             "patrol_minutes": r.patrol_minutes} for r in p.duty if r.agent_id == agent_id]
    df = pd.DataFrame(rows, columns=cols)
    df["_s"] = df["shift"].map(_shift_order(p))
    return df.sort_values(["date", "_s"], kind="stable").drop(columns="_s").reset_index(drop=True)


def agent_places(plan: Plan | Mapping[str, Any], agent_id: str) -> pd.DataFrame:
    """The places ``agent_id`` visits this week (``candidate_id, name, place_type, ward_code, x, y, visits``).

    ``x``/``y`` are British National Grid metres; ``visits`` is the week's total.
    """
    p = Plan.coerce(plan)
    mine = agent_assignments(p, agent_id)
    visits = mine.groupby("candidate_id", sort=False)["visits"].sum()
    cands = [c for c in p.candidates if str(c.candidate_id) in visits.index]
    cols = ["candidate_id", "name", "place_type", "ward_code", "x", "y"]
    shown = place_names(p)
    df = pd.DataFrame([{"candidate_id": c.candidate_id, "name": shown[str(c.candidate_id)], "place_type": c.place_type,
                        "ward_code": c.ward_code, "x": c.x, "y": c.y} for c in cands], columns=cols)
    df["visits"] = df["candidate_id"].map(visits).astype("Int64")
    return df.sort_values("visits", ascending=False, kind="stable").reset_index(drop=True)


def agent_logs(logs: pd.DataFrame, agent_id: str) -> pd.DataFrame:
    """The rows of ``tasking.records.list_patrol_logs`` logged for ``agent_id`` only."""
    return logs[logs["agent_id"] == agent_id].reset_index(drop=True)


def day_name(date_text: str) -> str:
    """``"Mon 30 Nov"`` from ISO text.

    Examples
    --------
    >>> day_name("2026-11-30")
    'Mon 30 Nov'
    """
    d = dt.date.fromisoformat(str(date_text))
    return f"{DAY_NAMES[d.weekday()]} {d.day} {d:%b}"


def agent_days(assignments: pd.DataFrame) -> list[tuple[str, str, pd.DataFrame]]:
    """``(date, shift, rows)`` for each shift with assignments, in the order of ``agent_assignments``."""
    out: list[tuple[str, str, pd.DataFrame]] = []
    for (date, shift), rows in assignments.groupby(["date", "shift"], sort=False):
        out.append((str(date), str(shift), rows.reset_index(drop=True)))
    return out


def assignment_label(row: Mapping[str, Any]) -> str:
    """``"Mon 30 Nov late: hot patch c3504_1190 (3 visits)"``.

    Examples
    --------
    >>> assignment_label({"date": "2026-11-30", "shift": "late", "name": "hot patch", "visits": 1})
    'Mon 30 Nov late: hot patch (1 visit)'
    """
    n = int(row["visits"])
    return f"{day_name(str(row['date']))} {row['shift']}: {row['name']} ({n} visit{'s' if n != 1 else ''})"


def approved_weeks(engine: Engine, *, borough: str) -> set[str]:
    """Weeks whose meeting for ``borough`` has an approved plan."""
    meetings = records.list_meetings(engine, borough=borough)
    return set(meetings.loc[meetings["approved_version"].notna(), "week"].astype(str))


def patrol_weeks(today: dt.date, approved: Collection[str], *, before: int = 2, after: int = 1) -> list[str]:
    """Weeks a patroller may look at: around ``today`` plus every week with an approved plan, newest first.

    Examples
    --------
    >>> patrol_weeks(dt.date(2026, 11, 23), {"2026-W40"}, before=1, after=1)
    ['2026-W49', '2026-W48', '2026-W47', '2026-W40']
    """
    return sorted(set(week_choices(today, before=before, after=after)) | set(approved), reverse=True)


def place_names(plan: Plan | Mapping[str, Any]) -> dict[str, str]:
    """Candidate id -> the place name people use (``tasking.names.plan_place_names``)."""
    return plan_place_names(plan)


def plan_places(plan: Plan | Mapping[str, Any]) -> pd.DataFrame:
    """Every place of the plan with visits (``candidate_id, name, place_type, ward_code, x, y, visits``), most first."""
    p = Plan.coerce(plan)
    visits: dict[str, int] = {}
    for a in p.assignments:
        visits[str(a.candidate_id)] = visits.get(str(a.candidate_id), 0) + int(a.visits)
    shown = place_names(p)
    cols = ["candidate_id", "name", "place_type", "ward_code", "x", "y", "visits"]
    rows = [{"candidate_id": str(c.candidate_id), "name": shown[str(c.candidate_id)],
             "place_type": c.place_type, "ward_code": c.ward_code, "x": c.x, "y": c.y,
             "visits": visits[str(c.candidate_id)]}
            for c in p.candidates if str(c.candidate_id) in visits]
    df = pd.DataFrame(rows, columns=cols)
    return df.sort_values("visits", ascending=False, kind="stable").reset_index(drop=True)


def directions_url(x: float, y: float) -> str:
    """A link that opens the phone's map app with directions to a British National Grid point.

    Examples
    --------
    >>> directions_url(525525.0, 178575.0)
    'https://www.google.com/maps/dir/?api=1&destination=51.49220,-0.19330'
    """
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(27700, 4326, always_xy=True).transform(float(x), float(y))
    return f"https://www.google.com/maps/dir/?api=1&destination={lat:.5f},{lon:.5f}"


def previous_week_plan(engine: Engine, *, week: str, borough: str) -> tuple[str, dict[str, Any]] | None:
    """The approved plan of the week before ``week`` (``(week, plan)``), or None when it has none."""
    monday = records.week_dates(week)[0] - dt.timedelta(days=7)
    prev = iso_week(monday)
    meeting_id = records.find_meeting(engine, week=prev, borough=borough)
    if meeting_id is None:
        return None
    found = records.approved_plan(engine, meeting_id)
    return None if found is None else (prev, found[1])


@dataclass(frozen=True)
class ChairView:
    """What the Tasking page says first: the plan in words, changes since last week, visits against harm."""

    sentences: tuple[str, ...]
    changes: tuple[str, ...]
    changes_against: str | None
    departures: pd.DataFrame


def chair_view(plan: Mapping[str, Any], *, roster: Roster, previous: tuple[str, Mapping[str, Any]] | None) -> ChairView:
    """The plan in plain words for the chair (pure): ``tasking.explain`` on the plan and last week's."""
    from tasking.explain import changes_since, plan_sentences, visit_share_reasons

    departures = visit_share_reasons(plan, max_visits_per_shift=roster.dosage.max_visits,
                                     n_shifts=7 * len(roster.shifts))
    return ChairView(sentences=tuple(plan_sentences(plan)),
                     changes=tuple(changes_since(plan, previous[1]) if previous else ()),
                     changes_against=previous[0] if previous else None, departures=departures)


def today_first(days: Sequence[tuple[str, str, pd.DataFrame]], today: dt.date) -> list[tuple[str, str, pd.DataFrame]]:
    """``agent_days`` with today's shifts first, then the days to come, then the days gone.

    Examples
    --------
    >>> e = pd.DataFrame()
    >>> [d for d, _, _ in today_first([("2026-11-30", "early", e), ("2026-12-02", "late", e), ("2026-12-03", "late", e)],
    ...                               dt.date(2026, 12, 2))]
    ['2026-12-02', '2026-12-03', '2026-11-30']
    """
    iso = today.isoformat()
    return ([d for d in days if d[0] == iso] + [d for d in days if d[0] > iso] + [d for d in days if d[0] < iso])
