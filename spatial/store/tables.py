"""Database tables (SQLAlchemy Core), the same for SQLite and PostgreSQL.

Times are stored as ISO-8601 UTC text in SQLite and ``timestamptz`` in
PostgreSQL.  In PostgreSQL the incidents table also has a PostGIS
``geom geometry(Point, 27700)`` column, generated from ``x``/``y`` and
GiST-indexed; it is added by the migration, not declared here, so that the
same metadata serves both back ends.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger, Boolean, Column, DateTime, Float, ForeignKey, Index, Integer, MetaData,
    String, Table, Text, UniqueConstraint,
)

__all__ = ["metadata", "incidents", "ingests", "quarantine", "area_counts", "area_layers", "TIME"]

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

area_layers = Table(
    "area_layers", metadata,
    Column("layer", String(20), primary_key=True),  # estates | parks
    Column("area_id", String(60), primary_key=True),
    Column("name", Text),
    Column("properties", Text),  # JSON
    Column("geom_wkb", Text, nullable=False),  # hex WKB, EPSG:27700
)
