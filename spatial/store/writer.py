"""Bulk writes inside the caller's transaction (one file = one transaction).

SQLite uses ``INSERT OR IGNORE`` through the driver's ``executemany``;
PostgreSQL streams rows with ``COPY`` into a temporary table and moves them
with ``INSERT .. ON CONFLICT DO NOTHING``.  Both return how many rows were new,
so rows already stored are counted as duplicates.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection

from spatial import schema as S

__all__ = ["insert_incidents", "insert_quarantine", "insert_area_counts", "INCIDENT_STORE_COLUMNS"]

INCIDENT_STORE_COLUMNS: tuple[str, ...] = S.INCIDENT_COLUMNS + ("ingest_id",)
_QUARANTINE_COLUMNS = ("ingest_id", "path", "file_sha256", "row_number", "field", "reason", "raw")
_AREA_COLUMNS = ("dataset", "area_type", "area_code", "area_name", "major", "minor", "month", "count", "ingest_id")


def _records(frame: pd.DataFrame, columns: tuple[str, ...]) -> list[tuple]:
    sub = frame.loc[:, list(columns)].astype(object)
    sub = sub.where(pd.notna(sub), None)
    return list(sub.itertuples(index=False, name=None))


def _insert_ignore(conn: Connection, table: str, columns: tuple[str, ...], rows: list[tuple], conflict: str) -> int:
    if not rows:
        return 0
    cols = ", ".join(f'"{c}"' for c in columns)
    if conn.dialect.name == "sqlite":
        marks = ", ".join("?" for _ in columns)
        cur = conn.connection.driver_connection.cursor()
        before = conn.connection.driver_connection.total_changes
        cur.executemany(f"INSERT OR IGNORE INTO {table} ({cols}) VALUES ({marks})", rows)
        return conn.connection.driver_connection.total_changes - before
    stage = f"stage_{table}"
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:
        cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} AS SELECT {cols} FROM {table} WITH NO DATA")
        cur.execute(f"TRUNCATE {stage}")
        with cur.copy(f"COPY {stage} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {stage} ON CONFLICT {conflict} DO NOTHING")
        inserted = cur.rowcount
        cur.execute(f"TRUNCATE {stage}")
    return inserted


def insert_incidents(conn: Connection, frame: pd.DataFrame, ingest_id: int) -> int:
    """Insert canonical incidents; return how many were new (others were already stored)."""
    frame = frame.assign(ingest_id=ingest_id)
    return _insert_ignore(conn, "incidents", INCIDENT_STORE_COLUMNS, _records(frame, INCIDENT_STORE_COLUMNS), "(incident_id)")


def insert_quarantine(conn: Connection, rejects: pd.DataFrame, *, ingest_id: int, path: str, sha256: str) -> int:
    """Record rejected rows; a row already quarantined from the same file is not added twice."""
    if rejects.empty:
        return 0
    frame = rejects.assign(ingest_id=ingest_id, path=path, file_sha256=sha256)
    return _insert_ignore(conn, "quarantine", _QUARANTINE_COLUMNS, _records(frame, _QUARANTINE_COLUMNS),
                          "(file_sha256, row_number)")


def insert_area_counts(conn: Connection, long: pd.DataFrame, *, dataset: str, ingest_id: int) -> pd.Series:
    """Insert monthly area counts; return, per input row, whether it was new (True) or already stored."""
    if long.empty:
        return pd.Series(dtype=bool)
    frame = long.assign(dataset=dataset, ingest_id=ingest_id)
    rows = _records(frame, _AREA_COLUMNS)
    inserted = _insert_ignore(conn, "area_counts", _AREA_COLUMNS, rows,
                              "(dataset, area_code, major, minor, month)")
    # All months of one input row are new together or already stored together
    # (the key includes the data set), so new rows = inserted / months per row.
    per_row = long.groupby("row", sort=False).size()
    n_new_rows = inserted // int(per_row.iloc[0]) if len(per_row) else 0
    flags = pd.Series(False, index=per_row.index)
    flags.iloc[:n_new_rows] = True
    return flags
