"""Meeting records: plan versions, approvals, decisions, patrol logs, review notes and the export audit.

This is an *edge* module: every function takes an SQLAlchemy
:class:`~sqlalchemy.Engine` (SQLite or PostgreSQL, schema at migration 0002 or
later, as :func:`spatial.store.connect` gives) and reads or writes the tables
declared in :mod:`spatial.store.tables`.  Each write is one transaction.

The lifecycle of one weekly tasking meeting (one per borough and ISO week):

1. :func:`create_meeting` - status ``draft``;
2. :func:`save_plan_version` - each re-solve the chair keeps becomes version
   1, 2, ... with the sha256 of its content (:func:`plan_digest`); saving the
   same plan as the latest version again returns that version (no duplicate);
3. :func:`approve` - only the latest version, once; the meeting becomes
   ``approved``.  Saving a new version afterwards puts it back to ``draft``
   until that version is approved; the earlier approval stays in force for
   patrol logs (:func:`approved_plan`);
4. :func:`add_decision` / :func:`update_decision` - actions with owner, due
   date and status (``open``, ``done``, ``dropped``);
5. :func:`log_patrol` - wardens and parks police log patrols; each log is
   checked against the approved plan and stored as planned or unplanned with
   the reason;
6. :func:`add_review_note` and :func:`mark_reviewed` - the following week's
   review; a reviewed meeting takes no new plan versions;
7. :func:`record_export` - every pack, CSV or GeoJSON written is audited with
   who, role, when, kind, week, version, the file's sha256, row counts and
   whether it holds sensitive aggregates.

Two people editing at once
--------------------------
Writes that replace what someone else may have changed take the version the
caller started from and refuse with :class:`tasking._errors.EditConflict`
(nothing written) when it is no longer the latest: ``save_plan_version`` and
``approve`` take ``base_version`` (the latest version number when the editor
opened the week, ``0`` if there was none), ``update_decision`` takes
``expected_updated_at`` (the decision's ``updated_at`` as read).  The message
says who changed what and when, so no update is ever lost silently.  Without
these arguments the functions behave as before (for scripts and the CLI).

Times are stored in UTC (ISO text in SQLite, ``timestamptz`` in PostgreSQL)
and read back as tz-aware UTC timestamps.  "Now" is an argument (``now=``),
defaulting to the current UTC time.  Errors are
:class:`tasking._errors.TaskingError` and name the field at fault.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, overload

import pandas as pd
from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from spatial.jsonable import finite_float
from spatial.store import audit
from spatial.store import tables as T

from ._errors import EditConflict, TaskingError
from .formats import EXPORT_KINDS, ExportKind
from .plan import Plan
from .problem import iso_week_dates

__all__ = [
    "ANY_VERSION",
    "DECISION_STATUSES",
    "EXPORT_KINDS",
    "MEETING_STATUSES",
    "REVIEW_SECTIONS",
    "ApprovalResult",
    "add_decision",
    "add_review_note",
    "approve",
    "approve_week_plan",
    "approved_plan",
    "create_meeting",
    "file_sha256",
    "find_meeting",
    "get_meeting",
    "list_approvals",
    "list_decisions",
    "list_exports",
    "list_meetings",
    "list_patrol_logs",
    "list_plan_versions",
    "list_review_notes",
    "load_plan",
    "load_typed_plan",
    "log_patrol",
    "mark_reviewed",
    "plan_digest",
    "plan_shifts",
    "record_export",
    "save_plan_version",
    "update_decision",
    "week_dates",
]

#: ``base_version`` default: write whatever the latest version is (no optimistic check).
ANY_VERSION: Final = -1
MEETING_STATUSES: tuple[str, ...] = ("draft", "approved", "reviewed")
DECISION_STATUSES: tuple[str, ...] = ("open", "done", "dropped")
REVIEW_SECTIONS: tuple[str, ...] = ("outcome", "delivery", "displacement", "carry-over", "general")

#: Plan keys left out of the digest: they change between identical solves.
_VOLATILE_KEYS = ("timings_s",)
#: Keys of nested solver reports left out of the digest too (their wall-clock seconds).
_VOLATILE_NESTED = {"cctv": ("seconds",), "greedy": ("seconds",)}


# ----------------------------------------------------------------------------
# small pure helpers
# ----------------------------------------------------------------------------
def week_dates(week: str) -> tuple[dt.date, ...]:
    """Return the seven dates (Monday to Sunday) of an ISO week ``YYYY-Www`` (:func:`tasking.allocation.iso_week_dates`).

    Examples
    --------
    >>> [d.isoformat() for d in week_dates("2026-W48")][::6]
    ['2026-11-23', '2026-11-29']
    """
    return iso_week_dates(week)


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def plan_digest(plan: Plan | Mapping[str, Any]) -> str:
    """sha256 (hex) of a plan's content: canonical JSON (sorted keys) without ``timings_s``.

    Two solves that give the same plan have the same digest although their
    solver timings differ; any change to an assignment, reason, objective or
    input changes it.

    Examples
    --------
    >>> a = {"week": "2026-W48", "assignments": [], "timings_s": {"solve": 1.0}}
    >>> b = {"timings_s": {"solve": 9.0}, "assignments": [], "week": "2026-W48"}
    >>> plan_digest(a) == plan_digest(b), len(plan_digest(a))
    (True, 64)
    >>> plan_digest({**a, "greedy": {"objective": 5, "seconds": 1.9}}) == plan_digest(
    ...     {**a, "greedy": {"objective": 5, "seconds": 1.7}})
    True
    """
    if isinstance(plan, Plan):
        plan = plan.to_json()
    content = {k: v for k, v in plan.items() if k not in _VOLATILE_KEYS}
    for key, drop in _VOLATILE_NESTED.items():
        if isinstance(content.get(key), Mapping):
            content[key] = {k: v for k, v in content[key].items() if k not in drop}
    return hashlib.sha256(_canonical(content).encode("utf-8")).hexdigest()


def _legacy_digest(plan: Mapping[str, Any]) -> str:
    """The digest as versions before 2026-12 wrote it (nested solver seconds included): their stored sha256."""
    content = {k: v for k, v in plan.items() if k not in _VOLATILE_KEYS}
    return hashlib.sha256(_canonical(content).encode("utf-8")).hexdigest()


def plan_shifts(plan: Plan | Mapping[str, Any]) -> list[str]:
    """Shift names of a plan in roster order (:attr:`tasking.plan.Plan.shifts`).

    A plan written by today's pipeline lists them in ``inputs.shifts``; an
    older stored plan's are read from its candidates' ``harm_<shift>`` keys,
    else from its duty and assignments.

    Examples
    --------
    >>> plan_shifts({"week": "2026-W10", "inputs": {"shifts": ["early", "late"]}})
    ['early', 'late']
    >>> plan_shifts({"candidates": [{"harm_early": 1.0, "harm_late": 2.0, "harm_Mon_early": 0.1}]})
    ['early', 'late']
    """
    if isinstance(plan, Plan):
        return list(plan.shifts)
    # the pack and the pages also pass partial plan dicts (no week): their shifts read the same way
    return list(Plan.from_json(plan if "week" in plan else {**plan, "week": ""}).shifts)


def file_sha256(path: str | Path) -> str:
    """sha256 (hex) of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _now(now: dt.datetime | None) -> str:
    if now is None:
        now = dt.datetime.now(dt.UTC)
    if not isinstance(now, dt.datetime) or now.tzinfo is None:
        msg = f"now was {now!r}; give a timezone-aware datetime (e.g. datetime.now(UTC))"
        raise TaskingError(msg)
    return pd.Timestamp(now).tz_convert("UTC").isoformat()


def _stored_time(conn: Any, when: dt.datetime) -> Any:
    """``when`` as the time columns hold it: ISO text in SQLite (as :func:`_now` writes), a datetime in PostgreSQL."""
    return _now(when) if conn.dialect.name == "sqlite" else when


def _aware(value: pd.Timestamp | dt.datetime | str) -> dt.datetime:
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        msg = f"expected_updated_at was {value!r}; give the timezone-aware updated_at you read"
        raise TaskingError(msg)
    return ts.to_pydatetime()


@overload
def _text(value: Any, field: str, *, max_len: int | None = None, required: Literal[True] = True) -> str: ...


@overload
def _text(value: Any, field: str, *, max_len: int | None = None, required: bool) -> str | None: ...


def _text(value: Any, field: str, *, max_len: int | None = None, required: bool = True) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            msg = f"{field} is empty; give a non-empty text"
            raise TaskingError(msg)
        return None
    if not isinstance(value, str):
        msg = f"{field} was {value!r} ({type(value).__name__}); give a text"
        raise TaskingError(msg)
    value = value.strip()
    if max_len is not None and len(value) > max_len:
        msg = f"{field} is {len(value)} characters long; at most {max_len} are allowed"
        raise TaskingError(msg)
    return value


def _date(value: Any, field: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    msg = f"{field} was {value!r}; give a date (datetime.date or ISO text YYYY-MM-DD)"
    raise TaskingError(msg)


def _choice(value: Any, field: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        msg = f"{field} was {value!r} but is expected to be one of {list(allowed)}"
        raise TaskingError(msg)
    return str(value)


def _times(df: pd.DataFrame, cols: tuple[str, ...]) -> pd.DataFrame:
    for c in cols:
        if c in df.columns:
            df[c] = pd.to_datetime(df[c], utc=True, format="ISO8601") if len(df) else \
                pd.Series(pd.DatetimeIndex([], tz="UTC"), index=df.index)
    return df


def _timestamp(v: Any) -> pd.Timestamp | None:
    if v is None:
        return None
    t = pd.Timestamp(v)
    return t.tz_convert("UTC") if t.tzinfo else t.tz_localize("UTC")


def _dates(df: pd.DataFrame, cols: tuple[str, ...]) -> pd.DataFrame:
    for c in cols:
        if c in df.columns:
            df[c] = [None if v is None or (isinstance(v, float) and math.isnan(v)) else _date(v, c)
                     for v in df[c]]
    return df


def _read(engine: Engine, q: Any) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(q, conn)


# ----------------------------------------------------------------------------
# meetings
# ----------------------------------------------------------------------------
def create_meeting(engine: Engine, *, week: str, borough: str, chair: str, created_by: str | None = None,
                   held_at: dt.datetime | None = None, notes: str | None = None,
                   now: dt.datetime | None = None) -> int:
    """Create the tasking meeting of ``week`` for ``borough`` (status ``draft``); return its id.

    Raises
    ------
    TaskingError
        If ``week`` is not an ISO week, a text field is empty, or the borough
        already has a meeting that week (``find_meeting`` gives its id).
    """
    week_dates(week)
    borough_ = _text(borough, "borough", max_len=12)
    chair_ = _text(chair, "chair", max_len=120)
    by = _text(created_by if created_by is not None else chair, "created_by", max_len=120)
    existing = find_meeting(engine, week=week, borough=borough_)
    if existing is not None:
        msg = (f"week: borough {borough_} already has a meeting for {week} (meeting_id {existing}); "
               "open it with get_meeting/find_meeting instead of creating another")
        raise TaskingError(msg)
    row = {"week": week, "borough": borough_, "chair": chair_, "status": "draft",
           "held_at": _now(held_at) if held_at is not None else None,
           "notes": _text(notes, "notes", required=False), "created_at": _now(now), "created_by": by}
    try:
        with engine.begin() as conn:
            return int(conn.execute(insert(T.meetings).values(**row).returning(T.meetings.c.meeting_id)).scalar_one())
    except IntegrityError as exc:
        msg = f"week: borough {borough_} already has a meeting for {week} (created at the same time by someone else)"
        raise TaskingError(msg) from exc


def find_meeting(engine: Engine, *, week: str, borough: str) -> int | None:
    """Return the id of ``borough``'s meeting for ``week``, or None."""
    m = T.meetings.c
    with engine.connect() as conn:
        v = conn.execute(select(m.meeting_id).where(m.week == week, m.borough == borough)).scalar_one_or_none()
    return None if v is None else int(v)


def get_meeting(engine: Engine, meeting_id: int) -> dict[str, Any]:
    """One meeting as a dict (``meeting_id, week, borough, chair, held_at, status, notes, created_*``).

    Raises
    ------
    TaskingError
        If there is no such meeting.
    """
    with engine.connect() as conn:
        row = conn.execute(select(T.meetings).where(T.meetings.c.meeting_id == meeting_id)).mappings().first()
    if row is None:
        msg = f"meeting_id {meeting_id!r} does not exist; create the meeting first (create_meeting)"
        raise TaskingError(msg)
    out = dict(row)
    for c in ("held_at", "created_at"):
        out[c] = _timestamp(out[c])
    return out


def list_meetings(engine: Engine, *, borough: str | None = None) -> pd.DataFrame:
    """Meetings (newest week first) with their number of versions and the approved version."""
    m = T.meetings.c
    nv = (select(T.plan_versions.c.meeting_id, func.max(T.plan_versions.c.version).label("latest_version"))
          .group_by(T.plan_versions.c.meeting_id).subquery())
    ap = (select(T.approvals.c.meeting_id, func.max(T.approvals.c.version).label("approved_version"))
          .group_by(T.approvals.c.meeting_id).subquery())
    q = (select(T.meetings, nv.c.latest_version, ap.c.approved_version)
         .outerjoin(nv, nv.c.meeting_id == m.meeting_id).outerjoin(ap, ap.c.meeting_id == m.meeting_id)
         .order_by(m.week.desc(), m.borough))
    if borough:
        q = q.where(m.borough == borough)
    return _times(_read(engine, q), ("held_at", "created_at"))


def _meeting_for_write(conn: Any, meeting_id: int) -> dict[str, Any]:
    row = conn.execute(select(T.meetings).where(T.meetings.c.meeting_id == meeting_id)).mappings().first()
    if row is None:
        msg = f"meeting_id {meeting_id!r} does not exist; create the meeting first (create_meeting)"
        raise TaskingError(msg)
    return dict(row)


def mark_reviewed(engine: Engine, meeting_id: int, *, by: str, now: dt.datetime | None = None) -> None:
    """Close the meeting after the following week's review (status ``reviewed``).

    Raises
    ------
    TaskingError
        If no version of the plan was approved (there is nothing to review).
    """
    by_ = _text(by, "by", max_len=120)
    with engine.begin() as conn:
        meeting = _meeting_for_write(conn, meeting_id)
        n = conn.execute(select(func.count()).select_from(T.approvals)
                         .where(T.approvals.c.meeting_id == meeting_id)).scalar_one()
        if not n:
            msg = (f"meeting_id {meeting_id} ({meeting['week']}) has no approved plan, so it cannot be marked "
                   "reviewed; approve a version first")
            raise TaskingError(msg)
        conn.execute(update(T.meetings).where(T.meetings.c.meeting_id == meeting_id).values(status="reviewed"))
        conn.execute(insert(T.review_notes).values(meeting_id=meeting_id, section="general", candidate_id=None,
                                                   text=f"meeting marked reviewed by {by_}", author=by_,
                                                   created_at=_now(now)))


# ----------------------------------------------------------------------------
# plan versions and approval
# ----------------------------------------------------------------------------
def _check_plan(plan: Any, meeting: Mapping[str, Any]) -> Plan:
    """The plan dict read as a :class:`Plan` once its shape, week and borough fit the meeting."""
    if not isinstance(plan, Mapping):
        msg = f"plan was a {type(plan).__name__}; give the dict plan_week returns (or the allocate JSON, loaded)"
        raise TaskingError(msg)
    for key in ("week", "assignments"):
        if key not in plan:
            msg = f"plan.{key} is missing; give a complete plan from plan_week / `hotspot-tasking allocate`"
            raise TaskingError(msg)
    try:
        p = Plan.from_json(plan)
    except (ValueError, TypeError, AttributeError, KeyError) as e:
        msg = f"the plan is not a plan hotspot-tasking can read ({e}); give the dict plan_week returns"
        raise TaskingError(msg) from e
    if p.week != meeting["week"]:
        msg = (f"plan.week was {p.week!r} but meeting {meeting['meeting_id']} is for {meeting['week']!r}; "
               "save the plan to that week's meeting")
        raise TaskingError(msg)
    if p.borough and p.borough != meeting["borough"]:
        msg = (f"plan.inputs.borough was {p.borough!r} but meeting {meeting['meeting_id']} is for borough "
               f"{meeting['borough']!r}")
        raise TaskingError(msg)
    return p


def save_plan_version(engine: Engine, meeting_id: int, plan: Plan | Mapping[str, Any], *, created_by: str,
                      note: str | None = None, now: dt.datetime | None = None,
                      base_version: int = ANY_VERSION) -> int:
    """Store ``plan`` as the meeting's next version and return the version number (1, 2, ...).

    The plan is stored as canonical JSON with :func:`plan_digest`; its
    objective, bound, gap, pins and exclusions are copied into columns.  If
    the plan is identical (same digest) to the latest version, nothing is
    stored and that version's number is returned.  A new version puts an
    approved meeting back to ``draft`` (the earlier approval stays on record).

    ``base_version`` is the latest version when the editor started (``0``:
    none yet); if another version was saved since, nothing is stored and
    :class:`EditConflict` says who saved which version when.

    Raises
    ------
    TaskingError
        If the meeting does not exist or is ``reviewed``, or the plan's week or
        borough is not the meeting's.
    EditConflict
        If ``base_version`` is given and is no longer the latest version.
    """
    by = _text(created_by, "created_by", max_len=120)
    if isinstance(plan, Plan):
        plan = plan.to_json()
    digest = plan_digest(plan) if isinstance(plan, Mapping) else ""
    pv = T.plan_versions.c
    try:
        with engine.begin() as conn:
            meeting = _meeting_for_write(conn, meeting_id)
            p = _check_plan(plan, meeting)
            if meeting["status"] == "reviewed":
                msg = (f"meeting_id {meeting_id} ({meeting['week']}) is reviewed and closed; plan next week in "
                       "that week's meeting")
                raise TaskingError(msg)
            last = conn.execute(select(pv.version, pv.plan_sha256).where(pv.meeting_id == meeting_id)
                                .order_by(pv.version.desc()).limit(1)).first()
            if last is not None and last.plan_sha256 == digest:
                return int(last.version)  # the same plan: nothing to lose, whoever saved it
            _check_base(conn, meeting_id, base_version, what="saved")
            version = 1 if last is None else int(last.version) + 1
            conn.execute(insert(T.plan_versions).values(
                meeting_id=meeting_id, version=version, created_at=_now(now), created_by=by,
                plan_json=_canonical(dict(plan)), plan_sha256=digest,
                objective=finite_float(p.report.objective), dual_bound=finite_float(p.report.bound),
                gap=finite_float(p.report.gap), pins_json=_canonical(list(p.inputs.get("pins") or [])),
                exclusions_json=_canonical(list(p.inputs.get("exclusions") or [])),
                note=_text(note, "note", required=False)))
            if meeting["status"] != "draft":
                conn.execute(update(T.meetings).where(T.meetings.c.meeting_id == meeting_id).values(status="draft"))
            return version
    except IntegrityError as exc:
        msg = (f"version: another version of meeting {meeting_id} was saved at the same time; reload the meeting "
               "and save again")
        raise (TaskingError(msg) if base_version == ANY_VERSION else EditConflict(f"Not saved: {msg}")) from exc


def _check_base(conn: Any, meeting_id: int, base_version: int, *, what: str) -> None:
    """Raise :class:`EditConflict` if a version newer than ``base_version`` exists (``ANY_VERSION``: no check)."""
    if base_version == ANY_VERSION:
        return
    if not isinstance(base_version, int) or isinstance(base_version, bool) or base_version < 0:
        msg = f"base_version was {base_version!r}; give the latest version number you started from (0 for none)"
        raise TaskingError(msg)
    pv = T.plan_versions.c
    newer = conn.execute(select(pv.version, pv.created_by, pv.created_at).where(
        pv.meeting_id == meeting_id, pv.version > base_version).order_by(pv.version.desc()).limit(1)).first()
    if newer is None:
        return
    ap = T.approvals.c
    approval = conn.execute(select(ap.approved_by, ap.approved_at).where(
        ap.meeting_id == meeting_id, ap.version == newer.version)).first()
    when = _timestamp(newer.created_at)
    stamp = when.tz_convert("Europe/London").strftime("%d %b %Y %H:%M") if when is not None else "?"
    by = f"{newer.created_by} saved version {newer.version} at {stamp}"
    if approval is not None:
        by += f" (approved by {approval.approved_by})"
    started = f"version {base_version}" if base_version else "no saved version"
    msg = (f"Not {what}: {by} after you started from {started}. Your plan was not {what}, so their change is "
           "kept: open the latest version, then apply your changes to it and save again")
    raise EditConflict(msg)


def list_plan_versions(engine: Engine, meeting_id: int) -> pd.DataFrame:
    """Versions of a meeting's plan, without the plan text.

    Columns ``version_id, version, created_at, created_by, plan_sha256, objective, dual_bound, gap,
    note, approved_by, role, approved_at, pins, exclusions, approved``.
    """
    pv = T.plan_versions.c
    ap = T.approvals.c
    q = (select(pv.version_id, pv.version, pv.created_at, pv.created_by, pv.plan_sha256, pv.objective,
                pv.dual_bound, pv.gap, pv.pins_json, pv.exclusions_json, pv.note, ap.approved_by, ap.role,
                ap.approved_at)
         .outerjoin(T.approvals, ap.version_id == pv.version_id)
         .where(pv.meeting_id == meeting_id).order_by(pv.version))
    df = _read(engine, q)
    df["pins"] = [json.loads(t) for t in df.pop("pins_json")]
    df["exclusions"] = [json.loads(t) for t in df.pop("exclusions_json")]
    df["approved"] = df["approved_by"].notna()
    return _times(df, ("created_at", "approved_at"))


def load_plan(engine: Engine, meeting_id: int, version: int | None = None) -> dict[str, Any]:
    """Return the stored plan (dict) of ``version`` (default: the latest).

    Raises
    ------
    TaskingError
        If the meeting has no such version, or the stored text no longer
        matches its sha256 (tampering or corruption).
    """
    pv = T.plan_versions.c
    q = select(pv.version, pv.plan_json, pv.plan_sha256).where(pv.meeting_id == meeting_id)
    q = q.where(pv.version == version) if version is not None else q.order_by(pv.version.desc()).limit(1)
    with engine.connect() as conn:
        row = conn.execute(q).first()
    if row is None:
        what = f"version {version}" if version is not None else "any version"
        msg = f"version: meeting_id {meeting_id!r} has no {what} of its plan; save one with save_plan_version"
        raise TaskingError(msg)
    plan = json.loads(row.plan_json)
    if row.plan_sha256 not in (plan_digest(plan), _legacy_digest(plan)):
        msg = (f"version {row.version} of meeting {meeting_id}: the stored plan does not match its sha256 "
               f"{row.plan_sha256[:12]}...; the record was altered outside hotspot-tasking")
        raise TaskingError(msg)
    _typed(plan, meeting_id, int(row.version))
    return plan


def _typed(plan: Any, meeting_id: int, version: int) -> Plan:
    """The stored plan dict read through :meth:`Plan.from_json`, or a clear error naming the meeting and version."""
    try:
        return Plan.from_json(plan)
    except (ValueError, TypeError, AttributeError, KeyError) as e:
        msg = (f"version {version} of meeting {meeting_id}: the stored plan is not a plan hotspot-tasking can "
               f"read ({e}); save the week's plan again")
        raise TaskingError(msg) from e


def load_typed_plan(engine: Engine, meeting_id: int, version: int | None = None) -> Plan:
    """The stored plan of ``version`` (default: the latest) as a typed :class:`~tasking.plan.Plan`.

    The same checks as :func:`load_plan` (the version exists, its sha256
    matches, its JSON reads as a plan); ``Plan.to_json()`` gives back the dict
    :func:`load_plan` returns, key for key.

    Raises
    ------
    TaskingError
        As :func:`load_plan`.
    """
    return Plan.from_json(load_plan(engine, meeting_id, version))


def approve(engine: Engine, meeting_id: int, version: int, *, approved_by: str, role: str,
            note: str | None = None, now: dt.datetime | None = None,
            base_version: int = ANY_VERSION) -> dict[str, Any]:
    """Approve ``version`` of the meeting's plan; return the approval record.

    Only the latest version can be approved, and only once.  With
    ``base_version`` (the latest version the approver had seen before saving
    ``version``) a version saved by someone else in between is a conflict.

    Raises
    ------
    TaskingError
        If the version does not exist, is not the latest, or is already
        approved; or the meeting is reviewed.
    """
    by = _text(approved_by, "approved_by", max_len=120)
    role_ = _text(role, "role", max_len=40)
    pv = T.plan_versions.c
    try:
        with engine.begin() as conn:
            meeting = _meeting_for_write(conn, meeting_id)
            if meeting["status"] == "reviewed":
                msg = f"meeting_id {meeting_id} ({meeting['week']}) is reviewed and closed; nothing can be approved"
                raise TaskingError(msg)
            rows = conn.execute(select(pv.version_id, pv.version, pv.plan_sha256)
                                .where(pv.meeting_id == meeting_id).order_by(pv.version)).all()
            if not rows:
                msg = f"version: meeting_id {meeting_id} has no plan versions; save the plan first"
                raise TaskingError(msg)
            chosen = next((r for r in rows if r.version == version), None)
            latest = rows[-1]
            if chosen is None:
                msg = (f"version was {version!r} but meeting {meeting_id} has versions "
                       f"{[r.version for r in rows]}; approve the latest ({latest.version})")
                raise TaskingError(msg)
            done = conn.execute(select(T.approvals).where(T.approvals.c.version_id == chosen.version_id)) \
                .mappings().first()
            if done is not None:
                msg = (f"version {version} of meeting {meeting_id} was already approved by {done['approved_by']} "
                       f"at {done['approved_at']}; approving twice is not allowed")
                raise TaskingError(msg)
            if chosen.version != latest.version:
                if base_version != ANY_VERSION:
                    _check_base(conn, meeting_id, base_version, what="approved")
                msg = (f"version {version} is not the latest version ({latest.version}) of meeting {meeting_id}; "
                       "only the latest can be approved (save it again to make it the latest)")
                raise TaskingError(msg)
            if base_version != ANY_VERSION and version != base_version:
                # saved by this editor on top of base_version: nothing else may sit between them
                between = [r.version for r in rows if base_version < r.version < version]
                if between:
                    _check_base(conn, meeting_id, base_version, what="approved")
            rec = {"meeting_id": meeting_id, "version_id": chosen.version_id, "version": chosen.version,
                   "plan_sha256": chosen.plan_sha256, "approved_by": by, "role": role_, "approved_at": _now(now),
                   "note": _text(note, "note", required=False)}
            conn.execute(insert(T.approvals).values(**rec))
            audit.record(conn, actor=by, role=role_, action="approve", target=f"{meeting['borough']} {meeting['week']}",
                         detail={"meeting_id": meeting_id, "version": chosen.version, "sha256": chosen.plan_sha256},
                         now=now)
            conn.execute(update(T.meetings).where(T.meetings.c.meeting_id == meeting_id).values(status="approved"))
    except IntegrityError as exc:
        msg = f"version {version} of meeting {meeting_id} was approved by someone else at the same time"
        raise TaskingError(msg) from exc
    rec["approved_at"] = _timestamp(rec["approved_at"])
    return rec


def approved_plan(engine: Engine, meeting_id: int) -> tuple[int, dict[str, Any]] | None:
    """``(version, plan)`` of the meeting's most recently approved version, or None."""
    ap = T.approvals.c
    with engine.connect() as conn:
        v = conn.execute(select(func.max(ap.version)).where(ap.meeting_id == meeting_id)).scalar_one_or_none()
    if v is None:
        return None
    return int(v), load_plan(engine, meeting_id, int(v))


def list_approvals(engine: Engine, meeting_id: int | None = None) -> pd.DataFrame:
    """Approvals: ``approval_id, meeting_id, week, version, plan_sha256, approved_by, role, approved_at, note``."""
    ap = T.approvals.c
    q = (select(ap.approval_id, ap.meeting_id, T.meetings.c.week, ap.version, ap.plan_sha256, ap.approved_by,
                ap.role, ap.approved_at, ap.note)
         .join(T.meetings, T.meetings.c.meeting_id == ap.meeting_id).order_by(ap.approval_id))
    if meeting_id is not None:
        q = q.where(ap.meeting_id == meeting_id)
    return _times(_read(engine, q), ("approved_at",))


# ----------------------------------------------------------------------------
# decisions
# ----------------------------------------------------------------------------
def add_decision(engine: Engine, meeting_id: int, *, action: str, owner: str, due: dt.date | str, created_by: str,
                 candidate_id: str | None = None, now: dt.datetime | None = None) -> int:
    """Record an action of the meeting (status ``open``); return its ``decision_id``."""
    row = {"meeting_id": meeting_id, "action": _text(action, "action"), "owner": _text(owner, "owner", max_len=120),
           "due_date": _date(due, "due"), "candidate_id": _text(candidate_id, "candidate_id", max_len=60,
                                                                 required=False),
           "status": "open", "outcome": None, "created_by": _text(created_by, "created_by", max_len=120)}
    stamp = _now(now)
    row.update(created_at=stamp, updated_at=stamp, updated_by=row["created_by"])
    with engine.begin() as conn:
        _meeting_for_write(conn, meeting_id)
        return int(conn.execute(insert(T.decisions).values(**row).returning(T.decisions.c.decision_id)).scalar_one())


def update_decision(engine: Engine, decision_id: int, *, updated_by: str, status: str | None = None,
                    outcome: str | None = None, owner: str | None = None, due: dt.date | str | None = None,
                    action: str | None = None, now: dt.datetime | None = None,
                    expected_updated_at: pd.Timestamp | dt.datetime | str | None = None) -> dict[str, Any]:
    """Change a decision's status, outcome, owner, due date or action; return the updated record.

    With ``expected_updated_at`` (the ``updated_at`` the editor read) the
    update is made only if nobody changed the decision since; otherwise
    :class:`EditConflict` names who changed it and when, and nothing is written.

    Raises
    ------
    TaskingError
        If the decision does not exist, nothing is changed, or ``status`` is
        not one of :data:`DECISION_STATUSES`.
    EditConflict
        If the decision was changed after ``expected_updated_at``.
    """
    values: dict[str, Any] = {}
    if status is not None:
        values["status"] = _choice(status, "status", DECISION_STATUSES)
    if outcome is not None:
        values["outcome"] = _text(outcome, "outcome")
    if owner is not None:
        values["owner"] = _text(owner, "owner", max_len=120)
    if due is not None:
        values["due_date"] = _date(due, "due")
    if action is not None:
        values["action"] = _text(action, "action")
    if not values:
        msg = "update_decision: give at least one of status, outcome, owner, due or action"
        raise TaskingError(msg)
    values.update(updated_by=_text(updated_by, "updated_by", max_len=120), updated_at=_now(now))
    d = T.decisions.c
    with engine.begin() as conn:
        where = [d.decision_id == decision_id]
        if expected_updated_at is not None:  # one conditional UPDATE: atomic on both back ends
            where.append(d.updated_at == _stored_time(conn, _aware(expected_updated_at)))
        n = conn.execute(update(T.decisions).where(*where).values(**values)).rowcount
        if n != 1:
            current = conn.execute(select(d.updated_at, d.updated_by, d.status)
                                   .where(d.decision_id == decision_id)).first()
            if current is None:
                msg = f"decision_id {decision_id!r} does not exist"
                raise TaskingError(msg)
            stamp = _timestamp(current.updated_at)
            when = "an unknown time" if stamp is None else stamp.tz_convert("Europe/London").strftime("%d %b %Y %H:%M:%S")
            msg = (f"Not saved: decision {decision_id} was changed by {current.updated_by} at {when} (status now "
                   f"{current.status}) after you opened it. Reload to see their change, then edit again")
            raise EditConflict(msg)
        row = dict(conn.execute(select(T.decisions).where(d.decision_id == decision_id)).mappings().one())
    for c in ("created_at", "updated_at"):
        row[c] = _timestamp(row[c])
    return row


def list_decisions(engine: Engine, *, meeting_id: int | None = None, borough: str | None = None,
                   status: str | None = None, before_week: str | None = None) -> pd.DataFrame:
    """Decisions with their meeting's ``week`` and ``borough``, oldest due date first.

    ``before_week`` keeps decisions of earlier meetings only: with
    ``status="open"`` that is the carried-over actions for the next pack.
    """
    d = T.decisions.c
    m = T.meetings.c
    q = (select(d.decision_id, d.meeting_id, m.week, m.borough, d.action, d.owner, d.due_date, d.candidate_id,
                d.status, d.outcome, d.created_at, d.created_by, d.updated_at, d.updated_by)
         .join(T.meetings, m.meeting_id == d.meeting_id).order_by(d.due_date, d.decision_id))
    if meeting_id is not None:
        q = q.where(d.meeting_id == meeting_id)
    if borough is not None:
        q = q.where(m.borough == borough)
    if status is not None:
        q = q.where(d.status == _choice(status, "status", DECISION_STATUSES))
    if before_week is not None:
        week_dates(before_week)
        q = q.where(m.week < before_week)
    return _dates(_times(_read(engine, q), ("created_at", "updated_at")), ("due_date",))


# ----------------------------------------------------------------------------
# patrol logs
# ----------------------------------------------------------------------------
def _match(plan: Plan, agent_id: str, candidate_id: str, day: str, shift: str) -> tuple[bool, int | None, str]:
    """Is this patrol in the plan?  ``(planned, planned_visits, note)``."""
    rows = plan.assignments
    hit = [r for r in rows if r.agent_id == agent_id and r.candidate_id == candidate_id
           and str(r.date) == day and r.shift == shift]
    if hit:
        n = int(sum(int(r.visits) for r in hit))
        return True, n, f"in the approved plan: {n} visit{'s' if n != 1 else ''} planned"
    agents = {r.agent_id for r in rows} | {r.agent_id for r in plan.duty}
    cands = {c.candidate_id for c in plan.candidates} | {r.candidate_id for r in rows}
    if agent_id not in agents:
        return False, None, f"unplanned: agent {agent_id} has no duty in the approved plan"
    if candidate_id not in cands:
        return False, None, f"unplanned: {candidate_id} is not a candidate of the approved plan"
    mine = [r for r in rows if r.agent_id == agent_id and r.candidate_id == candidate_id]
    if mine:
        when = ", ".join(f"{r.date} {r.shift}" for r in mine[:4]) + (" ..." if len(mine) > 4 else "")
        return False, None, f"unplanned: {agent_id} was planned at {candidate_id} on {when}, not {day} {shift}"
    return False, None, f"unplanned: {agent_id} was not planned at {candidate_id} this week"


def log_patrol(engine: Engine, meeting_id: int, *, agent_id: str, candidate_id: str, date: dt.date | str,
               shift: str, visits: int, minutes: float, logged_by: str, note: str | None = None,
               now: dt.datetime | None = None) -> dict[str, Any]:
    """Log a patrol done by ``agent_id`` at ``candidate_id`` on ``date`` in ``shift``.

    The log is checked against the meeting's approved plan
    (:func:`approved_plan`): it is ``planned`` when that plan assigns the
    agent to the candidate on that date and shift, otherwise it is stored as
    unplanned with the reason (an unplanned patrol is real work and is kept).
    ``visits`` may be 0 (the patrol could not be done; say why in ``note``).

    Returns
    -------
    dict
        ``log_id, planned, planned_visits, match_note, version`` (the approved
        version checked against, or None).

    Raises
    ------
    TaskingError
        If the meeting does not exist, ``date`` is outside the meeting's week
        or later than today (Europe/London, from ``now``: a patrol is logged
        done after it is done), ``shift`` is not a shift of the approved plan, ``visits`` is not a whole
        number >= 0, ``minutes`` is negative or not finite, or a text is empty.
    """
    agent = _text(agent_id, "agent_id", max_len=60)
    cand = _text(candidate_id, "candidate_id", max_len=60)
    shift_ = _text(shift, "shift", max_len=40)
    by = _text(logged_by, "logged_by", max_len=120)
    day = _date(date, "date")
    if isinstance(visits, bool) or not isinstance(visits, int) or visits < 0:
        msg = f"visits was {visits!r}; give a whole number of visits, 0 or more"
        raise TaskingError(msg)
    try:
        mins = float(minutes)
    except (TypeError, ValueError) as exc:
        msg = f"minutes was {minutes!r}; give a number of minutes, 0 or more"
        raise TaskingError(msg) from exc
    if not math.isfinite(mins) or mins < 0:
        msg = f"minutes was {minutes!r}; give a number of minutes, 0 or more"
        raise TaskingError(msg)
    today = pd.Timestamp(_now(now)).tz_convert("Europe/London").date()
    if day > today:
        msg = (f"date was {day.isoformat()}, which is in the future (today is {today.isoformat()}); "
               "log a patrol on the day it was done or later")
        raise TaskingError(msg)
    meeting = get_meeting(engine, meeting_id)
    dates = week_dates(meeting["week"])
    if day not in dates:
        msg = (f"date was {day.isoformat()} but meeting {meeting_id} plans week {meeting['week']} "
               f"({dates[0].isoformat()}..{dates[-1].isoformat()}); log it against that week's meeting")
        raise TaskingError(msg)
    found = approved_plan(engine, meeting_id)
    if found is None:
        version, planned, planned_visits, why = None, False, None, "unplanned: the meeting has no approved plan yet"
    else:
        version, plan = found[0], Plan.from_json(found[1])
        shifts = plan_shifts(plan)
        if shifts and shift_ not in shifts:
            msg = f"shift was {shift_!r} but the approved plan's shifts are {shifts}"
            raise TaskingError(msg)
        planned, planned_visits, why = _match(plan, agent, cand, day.isoformat(), shift_)
    version_id = None
    if version is not None:
        pv = T.plan_versions.c
        with engine.connect() as conn:
            version_id = conn.execute(select(pv.version_id).where(pv.meeting_id == meeting_id,
                                                                  pv.version == version)).scalar_one()
    row = {"meeting_id": meeting_id, "version_id": version_id, "agent_id": agent, "candidate_id": cand,
           "patrol_date": day, "shift": shift_, "visits": visits, "minutes": mins, "planned": planned,
           "planned_visits": planned_visits, "match_note": why, "logged_at": _now(now), "logged_by": by,
           "note": _text(note, "note", required=False)}
    with engine.begin() as conn:
        log_id = int(conn.execute(insert(T.patrol_logs).values(**row).returning(T.patrol_logs.c.log_id)).scalar_one())
    return {"log_id": log_id, "planned": planned, "planned_visits": planned_visits, "match_note": why,
            "version": version}


def list_patrol_logs(engine: Engine, meeting_id: int) -> pd.DataFrame:
    """Patrol logs of a meeting, by date.

    Columns ``log_id, agent_id, candidate_id, date`` (ISO text) ``, shift, visits, minutes, planned,
    planned_visits, match_note, version, logged_at, logged_by, note``.
    """
    pl = T.patrol_logs.c
    q = (select(pl.log_id, pl.agent_id, pl.candidate_id, pl.patrol_date, pl.shift, pl.visits, pl.minutes, pl.planned,
                pl.planned_visits, pl.match_note, T.plan_versions.c.version, pl.logged_at, pl.logged_by, pl.note)
         .outerjoin(T.plan_versions, T.plan_versions.c.version_id == pl.version_id)
         .where(pl.meeting_id == meeting_id).order_by(pl.patrol_date, pl.log_id))
    df = _times(_read(engine, q), ("logged_at",))
    df.insert(3, "date", [_date(v, "patrol_date").isoformat() for v in df.pop("patrol_date")])
    df["planned"] = df["planned"].astype(bool)
    df["planned_visits"] = df["planned_visits"].astype("Int64")
    return df


# ----------------------------------------------------------------------------
# review notes
# ----------------------------------------------------------------------------
def add_review_note(engine: Engine, meeting_id: int, *, author: str, text: str, section: str = "general",
                    candidate_id: str | None = None, now: dt.datetime | None = None) -> int:
    """Record a review note (``section`` one of :data:`REVIEW_SECTIONS`); return its ``note_id``."""
    row = {"meeting_id": meeting_id, "section": _choice(section, "section", REVIEW_SECTIONS),
           "candidate_id": _text(candidate_id, "candidate_id", max_len=60, required=False),
           "text": _text(text, "text"), "author": _text(author, "author", max_len=120), "created_at": _now(now)}
    with engine.begin() as conn:
        _meeting_for_write(conn, meeting_id)
        return int(conn.execute(insert(T.review_notes).values(**row).returning(T.review_notes.c.note_id)).scalar_one())


def list_review_notes(engine: Engine, meeting_id: int) -> pd.DataFrame:
    """Review notes of a meeting, oldest first."""
    r = T.review_notes.c
    q = select(T.review_notes).where(r.meeting_id == meeting_id).order_by(r.created_at, r.note_id)
    return _times(_read(engine, q), ("created_at",))


# ----------------------------------------------------------------------------
# export audit
# ----------------------------------------------------------------------------
def record_export(engine: Engine, *, user: str, role: str, kind: ExportKind, path: str | Path,
                  row_counts: Mapping[str, int], includes_sensitive_aggregates: bool, week: str | None = None,
                  meeting_id: int | None = None, version: int | None = None, plan_sha256: str | None = None,
                  now: dt.datetime | None = None) -> int:
    """Audit one export: who, role, when, kind, week, version, the file's sha256 and size, row counts.

    The sha256 is computed from the file as written at ``path`` (so audit and
    file can be compared later with :func:`file_sha256`).  Returns ``export_id``.
    """
    kind_ = _choice(kind, "kind", EXPORT_KINDS)
    p = Path(path)
    if not p.is_file():
        msg = f"path {str(p)!r} is not a file; write the export before auditing it"
        raise TaskingError(msg)
    if week is not None:
        week_dates(week)
    counts = {str(k): int(v) for k, v in dict(row_counts).items()}
    row = {"exported_by": _text(user, "user", max_len=120), "role": _text(role, "role", max_len=40),
           "exported_at": _now(now), "kind": kind_, "week": week, "meeting_id": meeting_id, "version": version,
           "plan_sha256": plan_sha256, "file_name": p.name, "file_sha256": file_sha256(p),
           "file_bytes": p.stat().st_size, "row_counts": _canonical(counts),
           "includes_sensitive_aggregates": bool(includes_sensitive_aggregates)}
    with engine.begin() as conn:
        if meeting_id is not None:
            _meeting_for_write(conn, meeting_id)
        export_id = int(conn.execute(insert(T.export_audit).values(**row).returning(T.export_audit.c.export_id))
                        .scalar_one())
        audit.record(conn, actor=str(row["exported_by"]), role=str(row["role"]), action="export", target=p.name,
                     detail={"export_id": export_id, "kind": kind_, "week": week, "version": version,
                             "sha256": row["file_sha256"], "sensitive_aggregates": bool(includes_sensitive_aggregates)},
                     now=now)
        return export_id


def list_exports(engine: Engine, *, week: str | None = None, user: str | None = None) -> pd.DataFrame:
    """Return the export audit, newest first, with ``row_counts`` parsed back to dicts."""
    e = T.export_audit.c
    q = select(T.export_audit).order_by(e.export_id.desc())
    if week is not None:
        q = q.where(e.week == week)
    if user is not None:
        q = q.where(e.exported_by == user)
    df = _times(_read(engine, q), ("exported_at",))
    df["row_counts"] = [json.loads(t) for t in df["row_counts"]]
    df["includes_sensitive_aggregates"] = df["includes_sensitive_aggregates"].astype(bool)
    return df


# ----------------------------------------------------------------------------
# the Tasking page's approval in one call
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ApprovalResult:
    """What :func:`approve_week_plan` did."""

    meeting_id: int
    version: int
    approved_by: str
    role: str
    created_meeting: bool
    #: True when this version had been approved before (a second click changes nothing).
    already_approved: bool


def approve_week_plan(engine: Engine, plan: Plan | Mapping[str, Any], *, user: str, role: str = "chair",
                      note: str | None = None, now: dt.datetime | None = None,
                      base_version: int = ANY_VERSION) -> ApprovalResult:
    """Find or create the week's meeting, save ``plan`` as its latest version and approve it.

    Saving an identical plan again returns its version (no duplicate), and a
    version already approved is reported, not approved twice, so the button
    is safe to press twice.  ``base_version`` is the latest version when the
    user opened the week (``0``: none); if someone saved another since,
    :class:`tasking._errors.EditConflict` is raised and nothing is written.

    Raises
    ------
    TaskingError
        If ``user`` is empty, the plan has no borough, or the meeting is reviewed
        and closed (the message of :mod:`tasking.records` says which).
    """
    if not isinstance(user, str) or not user.strip():
        msg = "user is empty; type your name before approving (it is recorded on the approval)"
        raise TaskingError(msg)
    p = Plan.coerce(plan)
    borough = p.borough
    if not borough:
        msg = "plan.inputs.borough is missing; build the plan with ui.planning.build_plan"
        raise TaskingError(msg)
    if not p.has("week"):
        msg = "plan.week is missing; give a complete plan from plan_week / `hotspot-tasking allocate`"
        raise TaskingError(msg)
    week = p.week
    meeting_id = find_meeting(engine, week=week, borough=str(borough))
    created = meeting_id is None
    if meeting_id is None:
        meeting_id = create_meeting(engine, week=week, borough=str(borough), chair=user, now=now)
    version = save_plan_version(engine, meeting_id, plan, created_by=user, now=now,
                                        base_version=base_version)
    versions = list_plan_versions(engine, meeting_id)
    row = versions[versions["version"] == version].iloc[0]
    if bool(row["approved"]):
        return ApprovalResult(meeting_id, version, str(row["approved_by"]), str(row["role"]), created, True)
    rec = approve(engine, meeting_id, version, approved_by=user, role=role, note=note, now=now,
                          base_version=base_version)
    return ApprovalResult(meeting_id, version, str(rec["approved_by"]), str(rec["role"]), created, False)
