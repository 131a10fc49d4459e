"""Database tables (SQLAlchemy Core), the same for SQLite and PostgreSQL.

Times are stored as ISO-8601 UTC text in SQLite and ``timestamptz`` in
PostgreSQL.  In PostgreSQL the incidents table also has a PostGIS
``geom geometry(Point, 27700)`` column, generated from ``x``/``y`` and
GiST-indexed; it is added by the migration, not declared here, so that the
same metadata serves both back ends.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = ["metadata", "incidents", "ingests", "quarantine", "area_counts", "area_layers", "TIME",
           "meetings", "plan_versions", "approvals", "decisions", "patrol_logs", "review_notes", "export_audit",
           "audit_log", "audit_head", "accounts", "sessions", "area_profiles", "area_units", "outcomes",
           "stop_searches"]

metadata = MetaData()

#: Timestamp type: timestamptz in PostgreSQL, ISO text in SQLite.
TIME = DateTime(timezone=True).with_variant(String(40), "sqlite")

ingests = Table(
    "ingests", metadata,
    Column("ingest_id", Integer, primary_key=True, autoincrement=True),
    Column("path", Text, nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("file_bytes", BigInteger, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("source", String(120), nullable=False),
    Column("started_at", TIME, nullable=False),
    Column("finished_at", TIME),
    Column("status", String(20), nullable=False),  # complete | rejected | failed
    Column("rows_read", Integer, nullable=False, default=0),
    Column("stored", Integer, nullable=False, default=0),
    Column("duplicates", Integer, nullable=False, default=0),
    Column("quarantined", Integer, nullable=False, default=0),
    Column("message", Text),
    # rows outside the area of interest (migration 0005): counted, never quarantined, no text kept
    Column("outside", Integer, nullable=False, default=0, server_default="0"),
    Index("ix_ingests_sha", "file_sha256"),
)

incidents = Table(
    "incidents", metadata,
    Column("incident_id", String(160), primary_key=True),
    Column("source", String(120), nullable=False),
    Column("source_ref", Text),
    Column("category", String(60), nullable=False),
    Column("sensitive", Boolean, nullable=False),
    Column("proactive", Boolean, nullable=False),
    Column("occurred_from", TIME, nullable=False),
    Column("occurred_to", TIME, nullable=False),
    Column("month", String(7), nullable=False),
    Column("x", Float, nullable=False),
    Column("y", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("ward_code", String(12)),
    Column("lsoa_code", String(12)),
    Column("estate_id", String(60)),
    Column("park_id", String(60)),
    Column("location_text", Text),
    Column("outcome", Text),
    Column("ingest_id", Integer, ForeignKey("ingests.ingest_id"), nullable=False),
    # police.uk's "Reported by" and "Falls within" forces (migration 0009); NULL for other sources
    Column("reported_by", Text),
    Column("falls_within", Text),
    # One secondary index only: every extra B-tree costs about a fifth of the
    # SQLite ingest rate (bench/RESULTS.md).  Ward filters scan a month range.
    Index("ix_incidents_month_category", "month", "category"),
)

quarantine = Table(
    "quarantine", metadata,
    Column("quarantine_id", Integer, primary_key=True, autoincrement=True),
    Column("ingest_id", Integer, ForeignKey("ingests.ingest_id"), nullable=False),
    Column("path", Text, nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("row_number", Integer, nullable=False),  # 1-based data row; 0 = the whole file
    Column("field", Text),
    Column("reason", Text, nullable=False),
    Column("raw", Text),  # the row as read, cut to 500 characters
    UniqueConstraint("file_sha256", "row_number", name="uq_quarantine_file_row"),
)

area_counts = Table(
    "area_counts", metadata,
    Column("dataset", String(120), primary_key=True),
    Column("area_type", String(20), nullable=False),  # ward | lsoa
    Column("area_code", String(12), primary_key=True),
    Column("area_name", Text),
    Column("major", String(120), primary_key=True),
    Column("minor", String(160), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("ingest_id", Integer, ForeignKey("ingests.ingest_id"), nullable=False),
    Index("ix_area_counts_area_month", "area_code", "month"),
)

# police.uk outcomes files (migration 0009): every outcome of a crime by month, the history behind
# incidents.outcome (the outcome of the latest month wins; ties: the row ingested last).
outcomes = Table(
    "outcomes", metadata,
    Column("outcome_row_id", Integer, primary_key=True, autoincrement=True),
    Column("crime_id", String(160), nullable=False),
    Column("month", String(7), nullable=False),
    Column("outcome_type", Text, nullable=False),
    Column("reported_by", Text),
    Column("falls_within", Text),
    Column("lsoa_code", String(12)),
    Column("ingest_id", Integer, ForeignKey("ingests.ingest_id"), nullable=False),
    UniqueConstraint("crime_id", "month", "outcome_type", name="uq_outcomes_crime_month_type"),
)

# police.uk stop-and-search files (migration 0009): a dataset of its own, never incidents; no personal
# descriptors beyond the published bands (gender, age range, ethnicity) and no free text.
stop_searches = Table(
    "stop_searches", metadata,
    Column("search_id", String(64), primary_key=True),  # sha256 of the row's content and its occurrence in the file
    Column("force", String(60)),
    Column("searched_at", TIME, nullable=False),
    Column("month", String(7), nullable=False),
    Column("search_type", Text, nullable=False),
    Column("policing_operation", Boolean),
    Column("x", Float),
    Column("y", Float),
    Column("lon", Float),
    Column("lat", Float),
    Column("ward_code", String(12)),
    Column("lsoa_code", String(12)),
    Column("gender", Text),
    Column("age_range", Text),
    Column("self_defined_ethnicity", Text),
    Column("officer_defined_ethnicity", Text),
    Column("legislation", Text),
    Column("object_of_search", Text),
    Column("outcome", Text),
    Column("outcome_linked", Boolean),
    Column("outer_clothing_removed", Boolean),
    Column("ingest_id", Integer, ForeignKey("ingests.ingest_id"), nullable=False),
    Index("ix_stop_searches_month", "month"),
)

area_layers = Table(
    "area_layers", metadata,
    Column("layer", String(20), primary_key=True),  # estates | parks
    Column("area_id", String(60), primary_key=True),
    Column("name", Text),
    Column("properties", Text),  # JSON
    Column("geom_wkb", Text, nullable=False),  # hex WKB, EPSG:27700
)


# ----------------------------------------------------------------------------
# Area profiles (migration 0005): the area a deployment covers, as data.
# Written and read only through spatial/area_profiles.py.  ``profile_json`` is
# the profile without its polygons; created areas keep their districts, wards
# and LSOAs in ``area_units`` (bundled areas read theirs from data/).  One row
# has ``active`` set: the area every command and page uses by default.
# ----------------------------------------------------------------------------
area_profiles = Table(
    "area_profiles", metadata,
    Column("name", String(60), primary_key=True),
    Column("bundled", Boolean, nullable=False, default=False),
    Column("active", Boolean, nullable=False, default=False),
    Column("profile_json", Text, nullable=False),
    Column("created_at", TIME, nullable=False),
)

area_units = Table(
    "area_units", metadata,
    Column("area", String(60), ForeignKey("area_profiles.name"), primary_key=True),
    Column("layer", String(12), primary_key=True),  # districts | wards | lsoas
    Column("code", String(12), primary_key=True),
    Column("name", Text),
    Column("district_code", String(12)),
    Column("population", Integer),
    Column("homes", Integer),
    Column("geom_wkb", Text, nullable=False),  # hex WKB, EPSG:27700
    CheckConstraint("layer IN ('districts', 'wards', 'lsoas')", name="ck_area_units_layer"),
)

# ----------------------------------------------------------------------------
# Meeting records (migration 0002): the weekly tasking meeting, its plan
# versions, approvals, decisions, patrol logs, review notes and the export
# audit.  Written and read only through tasking/records.py.  Plans are stored
# as canonical JSON text (sorted keys) with the sha256 of their content.
# ----------------------------------------------------------------------------
meetings = Table(
    "meetings", metadata,
    Column("meeting_id", Integer, primary_key=True, autoincrement=True),
    Column("week", String(8), nullable=False),  # ISO week YYYY-Www
    Column("borough", String(12), nullable=False),  # GSS code, e.g. E09000020
    Column("chair", String(120), nullable=False),
    Column("held_at", TIME),
    Column("status", String(12), nullable=False),  # draft | approved | reviewed
    Column("notes", Text),
    Column("created_at", TIME, nullable=False),
    Column("created_by", String(120), nullable=False),
    UniqueConstraint("borough", "week", name="uq_meetings_borough_week"),
    CheckConstraint("status IN ('draft', 'approved', 'reviewed')", name="ck_meetings_status"),
)

plan_versions = Table(
    "plan_versions", metadata,
    Column("version_id", Integer, primary_key=True, autoincrement=True),
    Column("meeting_id", Integer, ForeignKey("meetings.meeting_id"), nullable=False),
    Column("version", Integer, nullable=False),  # 1, 2, ... per meeting
    Column("created_at", TIME, nullable=False),
    Column("created_by", String(120), nullable=False),
    Column("plan_json", Text, nullable=False),
    Column("plan_sha256", String(64), nullable=False),
    Column("objective", Float),
    Column("dual_bound", Float),
    Column("gap", Float),
    Column("pins_json", Text, nullable=False),  # JSON list of the chair's pins
    Column("exclusions_json", Text, nullable=False),  # JSON list of exclusions
    Column("note", Text),
    UniqueConstraint("meeting_id", "version", name="uq_plan_versions_meeting_version"),
)

approvals = Table(
    "approvals", metadata,
    Column("approval_id", Integer, primary_key=True, autoincrement=True),
    Column("meeting_id", Integer, ForeignKey("meetings.meeting_id"), nullable=False),
    Column("version_id", Integer, ForeignKey("plan_versions.version_id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("plan_sha256", String(64), nullable=False),  # what exactly was approved
    Column("approved_by", String(120), nullable=False),
    Column("role", String(40), nullable=False),
    Column("approved_at", TIME, nullable=False),
    Column("note", Text),
    UniqueConstraint("version_id", name="uq_approvals_version"),
)

decisions = Table(
    "decisions", metadata,
    Column("decision_id", Integer, primary_key=True, autoincrement=True),
    Column("meeting_id", Integer, ForeignKey("meetings.meeting_id"), nullable=False),
    Column("action", Text, nullable=False),
    Column("owner", String(120), nullable=False),
    Column("due_date", Date, nullable=False),
    Column("candidate_id", String(60)),
    Column("status", String(12), nullable=False),  # open | done | dropped
    Column("outcome", Text),
    Column("created_at", TIME, nullable=False),
    Column("created_by", String(120), nullable=False),
    Column("updated_at", TIME, nullable=False),
    Column("updated_by", String(120), nullable=False),
    CheckConstraint("status IN ('open', 'done', 'dropped')", name="ck_decisions_status"),
    Index("ix_decisions_meeting", "meeting_id"),
)

patrol_logs = Table(
    "patrol_logs", metadata,
    Column("log_id", Integer, primary_key=True, autoincrement=True),
    Column("meeting_id", Integer, ForeignKey("meetings.meeting_id"), nullable=False),
    Column("version_id", Integer, ForeignKey("plan_versions.version_id")),  # approved plan checked against
    Column("agent_id", String(60), nullable=False),
    Column("candidate_id", String(60), nullable=False),
    Column("patrol_date", Date, nullable=False),
    Column("shift", String(40), nullable=False),
    Column("visits", Integer, nullable=False),
    Column("minutes", Float, nullable=False),
    Column("planned", Boolean, nullable=False),
    Column("planned_visits", Integer),  # visits in the approved plan for that agent, place, date and shift
    Column("match_note", Text, nullable=False),  # why it is planned or unplanned
    Column("logged_at", TIME, nullable=False),
    Column("logged_by", String(120), nullable=False),
    Column("note", Text),
    Index("ix_patrol_logs_meeting", "meeting_id"),
)

review_notes = Table(
    "review_notes", metadata,
    Column("note_id", Integer, primary_key=True, autoincrement=True),
    Column("meeting_id", Integer, ForeignKey("meetings.meeting_id"), nullable=False),
    Column("section", String(40), nullable=False),  # outcome | delivery | displacement | general
    Column("candidate_id", String(60)),
    Column("text", Text, nullable=False),
    Column("author", String(120), nullable=False),
    Column("created_at", TIME, nullable=False),
)

export_audit = Table(
    "export_audit", metadata,
    Column("export_id", Integer, primary_key=True, autoincrement=True),
    Column("exported_by", String(120), nullable=False),
    Column("role", String(40), nullable=False),
    Column("exported_at", TIME, nullable=False),
    Column("kind", String(10), nullable=False),  # pdf | html | csv | geojson
    Column("week", String(8)),
    Column("meeting_id", Integer, ForeignKey("meetings.meeting_id")),
    Column("version", Integer),
    Column("plan_sha256", String(64)),
    Column("file_name", Text, nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("file_bytes", BigInteger, nullable=False),
    Column("row_counts", Text, nullable=False),  # JSON {section: rows}
    Column("includes_sensitive_aggregates", Boolean, nullable=False),
    CheckConstraint("kind IN ('pdf', 'html', 'csv', 'geojson')", name="ck_export_audit_kind"),
)


# ----------------------------------------------------------------------------
# Audit log (migration 0003): append-only record of sign-ins, views of
# sensitive aggregates, exports, approvals, purges, backups and restores.
# Written only through spatial/store/audit.py; UPDATE and DELETE are refused
# by triggers on both back ends.
# ----------------------------------------------------------------------------
audit_log = Table(
    "audit_log", metadata,
    Column("audit_id", Integer, primary_key=True, autoincrement=True),
    Column("at", TIME, nullable=False),
    Column("actor", String(120), nullable=False),
    Column("role", String(40), nullable=False),
    Column("action", String(40), nullable=False),
    Column("target", Text),  # what was acted on: a week, a file, a table
    Column("outcome", String(20), nullable=False),  # ok | refused | failed
    Column("detail", Text),  # JSON
    # Hash chain (migration 0005): row_hash = sha256(prev_hash + canonical row); see spatial/store/audit.py.
    Column("prev_hash", String(64)),
    Column("row_hash", String(64)),
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_action", "action"),
)

# The head of the audit chain (migration 0005): one row (head_id 1) with the number of chained rows and the
# hash of the newest; every audit insert updates it first, which serialises writers on both back ends and lets
# `hotspot-tasking audit verify` see rows deleted from the end of the log.
audit_head = Table(
    "audit_head", metadata,
    Column("head_id", Integer, primary_key=True),
    Column("rows", Integer, nullable=False),
    Column("head_hash", String(64), nullable=False),
)


# ----------------------------------------------------------------------------
# Accounts (migration 0004): local sign-in with argon2 hashes, the role, the
# roster agent id of a warden or parks police officer, and the lock-out state.
# Written and read only through spatial/store/accounts.py.
# ----------------------------------------------------------------------------
accounts = Table(
    "accounts", metadata,
    Column("account_id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(120), nullable=False, unique=True),
    # Normalised name (migration 0005; accounts.normalise_username): sign-in and lock-out look accounts up by it.
    Column("username_key", String(120)),
    Column("email", String(254), unique=True),  # for single sign-on (OIDC): the provider's email maps here
    Column("role", String(20), nullable=False),  # chair | analyst | cctv | warden | partner
    Column("agent_id", String(20)),  # roster id (W01, PP01) of a warden or parks police officer
    Column("password_hash", Text),  # argon2id; NULL: single sign-on only
    Column("disabled", Boolean, nullable=False),
    Column("failed_count", Integer, nullable=False),
    Column("first_failure_at", TIME),
    Column("locked_until", TIME),
    Column("last_sign_in_at", TIME),
    Column("created_at", TIME, nullable=False),
    Column("updated_at", TIME, nullable=False),
    CheckConstraint("role IN ('chair', 'analyst', 'cctv', 'warden', 'partner')", name="ck_accounts_role"),
    CheckConstraint("role <> 'warden' OR agent_id IS NOT NULL", name="ck_accounts_warden_agent"),
    Index("uq_accounts_username_key", "username_key", unique=True),
)


# ----------------------------------------------------------------------------
# Sign-in sessions (migration 0007): one row per sign-in, keyed by the SHA-256
# of the cookie's random token (the token itself is never stored).  Written
# and read only through spatial/store/sessions.py.
# ----------------------------------------------------------------------------
sessions = Table(
    "sessions", metadata,
    Column("session_key", String(64), primary_key=True),
    Column("username", String(120), nullable=False),
    Column("method", String(20), nullable=False),  # password | oidc | test
    Column("created_at", TIME, nullable=False),
    Column("last_seen_at", TIME, nullable=False),
    Column("ended_at", TIME),
    Column("end_reason", String(40)),  # signed out | idle time-out | absolute time-out | account disabled | ...
    Index("ix_sessions_username", "username"),
)
