"""Who may see and do what: roles enforced where the data is read and written, not only in the dashboard.

A :class:`Viewer` is the signed-in person (user name, role, and for a warden
their roster agent id).  Pages and exports read and write through the
functions here; each checks the role first and returns only what the role may
see, or raises :class:`AccessDenied`.  The checks do not rely on the page:
calling a function here with the wrong role fails the same way.

=========  =====================================================================
Role       May see and do
=========  =====================================================================
chair      everything: incident points, plans, approval, decisions, review,
           patrol logs, exports, ingest
analyst    the same as the chair
cctv       camera layers, aggregated hotspots and ward/LSOA counts (suppressed);
           no incident points, no patrol plans
warden     their own assignments and places of approved plans, and their own
           patrol logs (needs the account's agent id, e.g. W01 or PP01)
partner    read-only aggregates: ward/LSOA counts with suppression and hotspot
           cells; no points, no plans, no writes
=========  =====================================================================

Sensitive categories are never returned as points to anyone (the queries drop
them); aggregates hold them only with counts of 1-4 suppressed
(:func:`spatial.store.queries.suppress_small`).

Role-dependent data must never be cached across users: cache the
role-independent result (aggregates, the whole plan) and pass it through the
filter here on every run (``plan_view``, ``patrol_logs``...).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import pandas as pd
from sqlalchemy import Engine

from spatial.store import queries as Q
from spatial.store.accounts import AGENT_ROLES, ROLES, Account

from . import records
from ._errors import TaskingError
from .formats import ExportKind
from .plan import Plan

__all__ = ["Role", "ROLES", "CAPABILITIES", "PAGES", "AccessDenied", "Viewer", "can", "require", "can_open",
           "require_page", "pages_for", "map_points", "points_for", "street_label_floor", "ward_counts", "source_month_counts", "quarantine_rows", "recent_ingests", "plan_view",
           "own_plan", "approved_plan", "agent_assignments_for", "patrol_logs", "decisions", "review_notes",
           "approve_plan", "add_decision", "update_decision", "add_review_note", "mark_reviewed", "log_patrol",
           "export_bytes", "hotspot_export_bytes", "advice_csv_bytes", "scheme_league_bytes", "POINT_COLUMNS"]

Role = Literal["chair", "analyst", "cctv", "warden", "partner"]

_ALL: Final = frozenset(ROLES)
_STAFF: Final = frozenset({"chair", "analyst"})

#: Capability -> roles that have it.
CAPABILITIES: Final[Mapping[str, frozenset[str]]] = {
    "incident_points": _STAFF,  # non-sensitive incidents as points, addresses, ids
    "aggregates": _STAFF | {"cctv", "partner"},  # ward/LSOA counts, sensitive 1-4 suppressed
    "hotspots": _STAFF | {"cctv", "partner"},  # hot cells, clusters, hot places (aggregated)
    "cameras": _STAFF | {"cctv"},  # fixed and deployable CCTV layers, siting and redeploy
    "plans": _STAFF,  # whole plans with every agent's rows
    "own_patrols": _STAFF | {"warden"},  # an agent's share of an approved plan (a warden: their own)
    "approve": _STAFF,
    "decide": _STAFF,  # meeting decisions (add, update)
    "review": _STAFF,  # review notes, mark reviewed
    "log_patrol": _STAFF | {"warden"},  # a warden logs only their own patrols
    "export": _STAFF,  # pack and plan exports
    "ingest": _STAFF,  # loading files, the quarantine, the backtest
}

#: Dashboard page (file name under ``ui/pages`` without ``.py``) -> roles that may open it.
PAGES: Final[Mapping[str, frozenset[str]]] = {
    "overview": _STAFF | {"cctv", "partner"},
    "incidents": _STAFF,
    "hotspots": _STAFF | {"cctv", "partner"},
    "tasking": _STAFF,
    "my_patrols": _STAFF | {"warden"},
    "review": _STAFF,
    "cctv": _STAFF | {"cctv"},
    "schemes": _STAFF,  # a housing association's schemes: league, not-ASB, repeat locations, CCTV ranking
    "data": _STAFF,
}

#: Columns that place an incident; never in what a role without ``incident_points`` gets.
POINT_COLUMNS: Final = ("incident_id", "x", "y", "lon", "lat", "location_text")


class AccessDenied(TaskingError, PermissionError):
    """The viewer's role may not see or do this; nothing was read or written."""


@dataclass(frozen=True)
class Viewer:
    """The signed-in person: user name, role and (a warden's) roster agent id.

    Examples
    --------
    >>> Viewer("wendy", "warden", "W01").agent_id
    'W01'
    >>> Viewer("x", "boss")
    Traceback (most recent call last):
    ...
    tasking.access.AccessDenied: role 'boss' is not one of chair, analyst, cctv, warden, partner
    """

    user: str
    role: str
    agent_id: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            msg = f"role {self.role!r} is not one of {', '.join(ROLES)}"
            raise AccessDenied(msg)
        if not isinstance(self.user, str) or not self.user.strip():
            msg = "the viewer has no user name; sign in first"
            raise AccessDenied(msg)
        if self.role in AGENT_ROLES and not self.agent_id:
            msg = f"{self.user} is a {self.role} without an agent id; ask an administrator to set it"
            raise AccessDenied(msg)

    @classmethod
    def from_account(cls, account: Account) -> Viewer:
        """The viewer of a stored account."""
        return cls(account.username, account.role, account.agent_id)


def can(viewer: Viewer, capability: str) -> bool:
    """Whether ``viewer``'s role has ``capability`` (a key of :data:`CAPABILITIES`)."""
    if capability not in CAPABILITIES:
        msg = f"capability {capability!r} is not one of {', '.join(CAPABILITIES)}"
        raise TaskingError(msg)
    return viewer.role in CAPABILITIES[capability]


def require(viewer: Viewer, capability: str, *, what: str | None = None) -> None:
    """Raise :class:`AccessDenied` unless ``viewer`` has ``capability``."""
    if not can(viewer, capability):
        roles = ", ".join(r for r in ROLES if r in CAPABILITIES[capability])
        msg = f"{viewer.user} ({viewer.role}) may not {what or capability.replace('_', ' ')}; only {roles} may"
        raise AccessDenied(msg)


def can_open(viewer: Viewer, page: str) -> bool:
    """Whether ``viewer`` may open the dashboard page ``page`` (a key of :data:`PAGES`)."""
    if page not in PAGES:
        msg = f"page {page!r} is not one of {', '.join(PAGES)}"
        raise TaskingError(msg)
    return viewer.role in PAGES[page]


def require_page(viewer: Viewer, page: str) -> None:
    """Raise :class:`AccessDenied` unless ``viewer`` may open ``page``."""
    if not can_open(viewer, page):
        msg = f"the {page.replace('_', ' ')} page is not open to the {viewer.role} role"
        raise AccessDenied(msg)


def pages_for(viewer: Viewer) -> list[str]:
    """The pages ``viewer`` may open, in the dashboard's order.

    Examples
    --------
    >>> pages_for(Viewer("p", "partner"))
    ['overview', 'hotspots']
    >>> pages_for(Viewer("w", "warden", "W01"))
    ['my_patrols']
    """
    return [p for p in PAGES if viewer.role in PAGES[p]]


# ----------------------------------------------------------------------------
# reads
# ----------------------------------------------------------------------------
def map_points(viewer: Viewer, engine: Engine, *, ward_codes: list[str] | None = None,
               months: list[str] | None = None, categories: list[str] | None = None) -> pd.DataFrame:
    """Non-sensitive incidents as points (:func:`spatial.store.queries.map_incidents`): chair and analyst only."""
    require(viewer, "incident_points", what="see incident points")
    return Q.map_incidents(engine, ward_codes=ward_codes, months=months, categories=categories)


def points_for(viewer: Viewer, points: pd.DataFrame) -> pd.DataFrame:
    """Incident points read once for everyone (a shared cache), as ``viewer`` may see them.

    Chair and analyst get the non-sensitive rows; any row flagged sensitive is
    dropped even if a caller passed it in.  Other roles get :class:`AccessDenied`.
    """
    require(viewer, "incident_points", what="see incident points")
    if "sensitive" in points.columns:
        points = points[~points["sensitive"].astype(bool)]
    if "category" in points.columns:
        from spatial.schema import load_taxonomy

        points = points[~points["category"].isin(load_taxonomy().sensitive_slugs())]
    return points.reset_index(drop=True)


def street_label_floor(viewer: Viewer) -> int:
    """Fewest non-sensitive incidents a street needs before a map shown to ``viewer`` names it.

    Chair and analyst see the incident points themselves, so any street may be
    labelled (1); for every other role a label is an aggregate like a hot cell,
    so a street needs :data:`spatial.store.queries.SUPPRESS_BELOW` (5) incidents
    and a label never marks the place of one or two incidents.

    Examples
    --------
    >>> street_label_floor(Viewer("c", "chair")), street_label_floor(Viewer("w", "warden", "W01"))
    (1, 5)
    """
    return 1 if can(viewer, "incident_points") else Q.SUPPRESS_BELOW


def ward_counts(viewer: Viewer, engine: Engine, *, ward_codes: list[str] | None = None,
                months: list[str] | None = None) -> pd.DataFrame:
    """Ward x category counts with sensitive counts 1-4 suppressed: every role but warden."""
    require(viewer, "aggregates", what="see ward counts")
    return Q.ward_category_counts(engine, ward_codes=ward_codes, months=months)


def source_month_counts(viewer: Viewer, engine: Engine) -> pd.DataFrame:
    """Incidents by source and month, sensitive counts 1-4 suppressed: chair and analyst (the Data page)."""
    require(viewer, "ingest", what="see the store's status")
    return Q.source_month_counts(engine)


def quarantine_rows(viewer: Viewer, engine: Engine, *, limit: int = 5000) -> pd.DataFrame:
    """Rejected rows with file, row, field and reason (:func:`spatial.store.queries.quarantine_rows`): chair, analyst."""
    require(viewer, "ingest", what="see quarantined rows")
    return Q.quarantine_rows(engine, limit=limit)


def recent_ingests(viewer: Viewer, engine: Engine) -> pd.DataFrame:
    """The 50 newest ingests, file names only (``status_tables(...)["ingests"]``): chair and analyst."""
    require(viewer, "ingest", what="see the store's ingests")
    df = Q.status_tables(engine)["ingests"]
    return df.assign(path=[Path(str(p)).name for p in df["path"]])


def own_plan(plan: Plan | Mapping[str, Any], agent_id: str) -> dict[str, Any]:
    """The share of ``plan`` one agent may see: their assignments, duty and places; nobody else's rows.

    Kept: ``week``, ``inputs.borough``, the shifts; the agent's ``assignments``
    and ``duty``; the ``candidates`` they visit.  Every other key (cameras,
    unassigned places, totals, other agents) is left out.

    Examples
    --------
    >>> plan = {"week": "2026-W49", "candidates": [{"candidate_id": "A"}, {"candidate_id": "B"}],
    ...         "assignments": [{"agent_id": "W01", "candidate_id": "A"}, {"agent_id": "W02", "candidate_id": "B"}],
    ...         "duty": [{"agent_id": "W02", "shift": "late"}], "cameras": [{"camera_id": "C1"}]}
    >>> v = own_plan(plan, "W01")
    >>> [a["agent_id"] for a in v["assignments"]], [c["candidate_id"] for c in v["candidates"]], "cameras" in v
    (['W01'], ['A'], False)
    """
    p = Plan.coerce(plan)
    mine = [a for a in p.assignments if a.agent_id == agent_id]
    places = {str(a.candidate_id) for a in mine}
    out: dict[str, Any] = {
        "week": p.week if p.has("week") else None,
        "inputs": {k: p.inputs[k] for k in ("borough", "shifts") if k in p.inputs},
        "assignments": [a.to_json() for a in mine],
        "duty": [d.to_json() for d in p.duty if d.agent_id == agent_id],
        "candidates": [c.to_json() for c in p.candidates if str(c.candidate_id) in places],
    }
    if "shifts" in p.extra:
        out["shifts"] = p.extra["shifts"]
    return out


def plan_view(viewer: Viewer, plan: Mapping[str, Any]) -> Mapping[str, Any]:
    """What ``viewer`` may see of ``plan``: all of it (chair, analyst), their own share (warden), or nothing."""
    if can(viewer, "plans"):
        return plan
    if viewer.role in AGENT_ROLES:
        return own_plan(plan, str(viewer.agent_id))
    require(viewer, "plans", what="see patrol plans")
    raise AssertionError("unreachable")  # pragma: no cover  (require raised)


def approved_plan(viewer: Viewer, engine: Engine, meeting_id: int) -> tuple[int, Mapping[str, Any]] | None:
    """``(version, plan as the viewer may see it)`` of the meeting's approved plan, or ``None`` if none is approved."""
    require(viewer, "own_patrols", what="see patrol plans")
    found = records.approved_plan(engine, meeting_id)
    if found is None:
        return None
    version, plan = found
    return version, plan_view(viewer, plan)


def agent_assignments_for(viewer: Viewer, plan: Mapping[str, Any], agent_id: str) -> str:
    """The agent id whose patrols ``viewer`` may see: any for chair and analyst, only their own for a warden.

    Returns the agent id to show; raises :class:`AccessDenied` for another
    agent's id asked by a warden, and for roles that see no plans.
    """
    require(viewer, "own_patrols", what="see patrols")
    if can(viewer, "plans"):
        return agent_id
    if agent_id != viewer.agent_id:
        msg = f"{viewer.user} ({viewer.role} {viewer.agent_id}) may see only their own patrols, not {agent_id}'s"
        raise AccessDenied(msg)
    return agent_id


def patrol_logs(viewer: Viewer, engine: Engine, meeting_id: int) -> pd.DataFrame:
    """Patrol logs of the meeting: every row (chair, analyst) or the warden's own rows only."""
    require(viewer, "own_patrols", what="see patrol logs")
    logs = records.list_patrol_logs(engine, meeting_id)
    if can(viewer, "plans"):
        return logs
    return logs[logs["agent_id"] == viewer.agent_id].reset_index(drop=True)


def decisions(viewer: Viewer, engine: Engine, *, meeting_id: int) -> pd.DataFrame:
    """The meeting's decisions (owners and actions): chair and analyst."""
    require(viewer, "decide", what="see meeting decisions")
    return records.list_decisions(engine, meeting_id=meeting_id)


def review_notes(viewer: Viewer, engine: Engine, meeting_id: int) -> pd.DataFrame:
    """The meeting's review notes: chair and analyst."""
    require(viewer, "review", what="see review notes")
    return records.list_review_notes(engine, meeting_id)


# ----------------------------------------------------------------------------
# writes: the viewer's name and role are what the records store
# ----------------------------------------------------------------------------
def approve_plan(viewer: Viewer, engine: Engine, plan: Mapping[str, Any], *,
                 base_version: int = records.ANY_VERSION, note: str | None = None,
                 now: dt.datetime | None = None) -> records.ApprovalResult:
    """Approve ``plan`` as ``viewer`` (:func:`tasking.records.approve_week_plan`): chair and analyst."""
    require(viewer, "approve", what="approve plans")
    return records.approve_week_plan(engine, plan, user=viewer.user, role=viewer.role, note=note, now=now,
                                     base_version=base_version)


def add_decision(viewer: Viewer, engine: Engine, meeting_id: int, *, action: str, owner: str, due: dt.date | str,
                 candidate_id: str | None = None, now: dt.datetime | None = None) -> int:
    """Record a meeting decision as ``viewer``: chair and analyst."""
    require(viewer, "decide", what="add decisions")
    return records.add_decision(engine, meeting_id, action=action, owner=owner, due=due, created_by=viewer.user,
                                candidate_id=candidate_id, now=now)


def update_decision(viewer: Viewer, engine: Engine, decision_id: int, *, status: str | None = None,
                    outcome: str | None = None, expected_updated_at: Any = None,
                    now: dt.datetime | None = None) -> Any:
    """Change a decision's status or outcome as ``viewer``: chair and analyst."""
    require(viewer, "decide", what="update decisions")
    return records.update_decision(engine, decision_id, updated_by=viewer.user, status=status, outcome=outcome,
                                   expected_updated_at=expected_updated_at, now=now)


def add_review_note(viewer: Viewer, engine: Engine, meeting_id: int, *, text: str, section: str = "general",
                    now: dt.datetime | None = None) -> Any:
    """Add a review note as ``viewer``: chair and analyst."""
    require(viewer, "review", what="add review notes")
    return records.add_review_note(engine, meeting_id, author=viewer.user, text=text, section=section, now=now)


def mark_reviewed(viewer: Viewer, engine: Engine, meeting_id: int, *, now: dt.datetime | None = None) -> None:
    """Mark the meeting reviewed as ``viewer``: chair and analyst."""
    require(viewer, "review", what="mark meetings reviewed")
    records.mark_reviewed(engine, meeting_id, by=viewer.user, now=now)


def log_patrol(viewer: Viewer, engine: Engine, meeting_id: int, assignment: Mapping[str, Any], *, agent_id: str,
               visits: int | None = None, minutes: float | None = None, note: str | None = None,
               now: dt.datetime | None = None) -> dict[str, Any]:
    """Log a patrol of ``agent_id`` done (planned visits and minutes by default), logged by ``viewer``.

    A warden may log only their own patrols; chair and analyst may log for
    any agent (a supervisor entering a radio report); others none.
    """
    require(viewer, "log_patrol", what="log patrols")
    if not can(viewer, "plans") and agent_id != viewer.agent_id:
        msg = f"{viewer.user} ({viewer.role} {viewer.agent_id}) may log only their own patrols, not {agent_id}'s"
        raise AccessDenied(msg)
    planned_minutes = assignment.get("minutes")
    return records.log_patrol(
        engine, meeting_id, agent_id=agent_id, candidate_id=str(assignment["candidate_id"]),
        date=str(assignment["date"]), shift=str(assignment["shift"]),
        visits=int(assignment["visits"]) if visits is None else int(visits),
        minutes=float(planned_minutes or 0.0) if minutes is None else float(minutes),
        logged_by=viewer.user, note=note or None, now=now)


def export_bytes(viewer: Viewer, plan: Mapping[str, Any], *, format: ExportKind,
                 engine: Engine | None, now: dt.datetime | None = None, **pack: Any) -> bytes:
    """The pack or plan export as bytes, written and audited as ``viewer`` (:func:`tasking.pack.export_pack`).

    Chair and analyst only.  ``pack`` passes the optional layers and tables
    (``wards``, ``parks``, ``recommendations``...) to ``export_pack``.
    """
    require(viewer, "export", what="export packs or plans")
    from .pack import (
        export_pack,  # weasyprint and matplotlib load only when an export is made
    )

    with tempfile.TemporaryDirectory(prefix="hotspot-export-") as tmp:
        out = Path(tmp) / f"tasking-{plan['week']}.{format}"
        export_pack(plan, out, format=format, user=viewer.user, role=viewer.role, engine=engine, now=now, **pack)
        return out.read_bytes()


def hotspot_export_bytes(viewer: Viewer, result: Any, *, period: str, area: str, engine: Engine | None,
                         now: dt.datetime | None = None) -> bytes:
    """A hotspot result as a GeoPackage for QGIS/ArcGIS, written and audited as ``viewer``.

    The file is the one ``hotspot-tasking hotspots --out FILE.gpkg`` writes
    (:func:`spatial.analysis.export_hotspots`: EPSG:27700, the method's layer,
    ``run_parameters``, a QGIS style).  Hotspots are built from non-sensitive
    incidents only, so the audit records no sensitive aggregates.  Chair and
    analyst only, as every other export.
    """
    require(viewer, "export", what="export hotspot layers")
    from spatial.analysis import export_hotspots

    when = now or dt.datetime.now(dt.UTC)
    method = str(result.attrs.get("params", {}).get("method", "hotspots"))
    with tempfile.TemporaryDirectory(prefix="hotspot-export-") as tmp:
        out = Path(tmp) / f"hotspots-{method}-{period}.gpkg"
        counts = export_hotspots(result, out, period=period, area=area, generated_at=when)
        if engine is not None:
            records.record_export(engine, user=viewer.user, role=viewer.role, kind="gpkg", path=out,
                                  row_counts=counts, includes_sensitive_aggregates=False, now=when)
        return out.read_bytes()


def advice_csv_bytes(viewer: Viewer, ranked: Any, *, area: str, engine: Engine | None,
                     ward_names: Mapping[str, str] | None = None, places: Sequence[str] | None = None,
                     now: dt.datetime | None = None) -> bytes:
    """The Designing Out Crime advice as CSV (a row per place and measure), written and audited as ``viewer``.

    The rows are :func:`tasking.pipeline.advice_export_table` of ``ranked`` (the file
    ``hotspot-tasking recommend --out advice.csv`` writes), limited to ``places`` when given, through
    :func:`spatial.csv_safe.to_csv` (no cell starts a spreadsheet formula).  The advice is built from
    non-sensitive incidents only, so the audit records no sensitive aggregates.  Chair and analyst only,
    as every other export.
    """
    require(viewer, "export", what="export Designing Out Crime advice")
    from .pipeline import advice_export_table

    table = advice_export_table(ranked, ward_names=ward_names, places=places)
    counts = {"places": int(table["candidate_id"].nunique()) if len(table) else 0, "recommendations": len(table)}
    return _audited_csv(viewer, table, f"advice-{area}.csv", engine=engine, row_counts=counts,
                        sensitive_aggregates=False, now=now)


def _audited_csv(viewer: Viewer, table: Any, file_name: str, *, engine: Engine | None,
                 row_counts: Mapping[str, int], sensitive_aggregates: bool, now: dt.datetime | None) -> bytes:
    """``table`` as formula-safe CSV bytes (:func:`spatial.csv_safe.to_csv`), recorded in the export audit."""
    from spatial.csv_safe import to_csv

    with tempfile.TemporaryDirectory(prefix="hotspot-export-") as tmp:
        out = Path(tmp) / file_name
        to_csv(table, out, index=False)
        if engine is not None:
            records.record_export(engine, user=viewer.user, role=viewer.role, kind="csv", path=out,
                                  row_counts=row_counts, includes_sensitive_aggregates=sensitive_aggregates,
                                  now=now or dt.datetime.now(dt.UTC))
        return out.read_bytes()


def scheme_league_bytes(viewer: Viewer, report: Any, *, engine: Engine | None,
                        now: dt.datetime | None = None) -> bytes:
    """The schemes league of a :class:`tasking.housing.SchemeReport` as CSV, written and audited as ``viewer``.

    The file is the one ``hotspot-tasking schemes league --out`` writes
    (:func:`tasking.housing.league_export_table`): sensitive counts of 1-4 read "fewer than 5" and the
    totals that would reveal them are empty; no case is placed.  It holds sensitive aggregates
    (suppressed), and the audit says so.  Chair and analyst only, as every other export.
    """
    require(viewer, "export", what="export the schemes league")
    from .housing import league_export_table

    if report.league is None:
        msg = "the report has no league; build it with the 'league' part"
        raise TaskingError(msg)
    table = league_export_table(report.league)
    return _audited_csv(viewer, table, f"schemes-{report.area}.csv", engine=engine,
                        row_counts={"schemes": len(table)}, sensitive_aggregates=True, now=now)
