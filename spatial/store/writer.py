"""Bulk writes inside the caller's transaction (one file = one transaction).

Rows are first bound into an index-free temporary staging table (the only
per-row Python work), then moved with one ``INSERT .. SELECT`` that skips rows
whose key is already stored (``INSERT OR IGNORE`` in SQLite, ``ON CONFLICT DO
NOTHING`` in PostgreSQL, where staging uses ``COPY``).  Constant columns
(``ingest_id``, file path) are added in the ``SELECT``.  Each call returns how
many rows were new, so rows already stored count as duplicates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from spatial import schema as S

__all__ = ["insert_incidents", "insert_quarantine", "insert_area_counts", "incident_records"]

_QUARANTINE_COLUMNS = ("row_number", "field", "reason", "raw")
_AREA_COLUMNS = ("area_type", "area_code", "area_name", "major", "minor", "month", "count")


def _records(frame: pd.DataFrame, columns: tuple[str, ...]) -> list[tuple]:
    cols = []
    for c in columns:
        values = frame[c].to_numpy(dtype=object)
        missing = pd.isna(values)
        if missing.any():
            values = np.where(missing, None, values)
        cols.append(values.tolist())
    return list(zip(*cols))


def incident_records(frame: pd.DataFrame) -> list[tuple]:
    """Rows of a canonical frame as tuples in :data:`spatial.schema.INCIDENT_COLUMNS` order."""
    return _records(frame, S.INCIDENT_COLUMNS)


def _insert_ignore(conn: Connection, table: str, columns: tuple[str, ...], rows: list[tuple], *,
                   constants: dict[str, object], conflict: str) -> int:
    if not rows:
        return 0
    cols = ", ".join(f'"{c}"' for c in columns)
    const_names = ", ".join(f'"{c}"' for c in constants)
    stage = f"stage_{table}"
    raw = conn.connection.driver_connection
    if conn.dialect.name == "sqlite":
        marks = ", ".join("?" for _ in columns)
        const_marks = ", ".join("?" for _ in constants)
        cur = raw.cursor()
        cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} AS SELECT {cols} FROM {table} WHERE 0")
        cur.executemany(f"INSERT INTO {stage} ({cols}) VALUES ({marks})", rows)
        before = raw.total_changes
        cur.execute(f"INSERT OR IGNORE INTO {table} ({cols}, {const_names}) SELECT {cols}, {const_marks} FROM {stage}",
                    tuple(constants.values()))
        inserted = raw.total_changes - before
        cur.execute(f"DELETE FROM {stage}")
        return inserted
    const_marks = ", ".join("%s" for _ in constants)
    with raw.cursor() as cur:
        cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} AS SELECT {cols} FROM {table} WITH NO DATA")
        cur.execute(f"TRUNCATE {stage}")
        with cur.copy(f"COPY {stage} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute(f"INSERT INTO {table} ({cols}, {const_names}) SELECT {cols}, {const_marks} FROM {stage} "
                    f"ON CONFLICT {conflict} DO NOTHING", tuple(constants.values()))
        inserted = cur.rowcount
        cur.execute(f"TRUNCATE {stage}")
    return inserted


def insert_incidents(conn: Connection, frame: pd.DataFrame | None, ingest_id: int, *,
                     records: list[tuple] | None = None) -> int:
    """Insert canonical incidents (a frame, or its :func:`incident_records`); return how many were new."""
    rows = records if records is not None else incident_records(frame)  # type: ignore[arg-type]
    return _insert_ignore(conn, "incidents", S.INCIDENT_COLUMNS, rows,
                          constants={"ingest_id": ingest_id}, conflict="(incident_id)")


def insert_quarantine(conn: Connection, rejects: pd.DataFrame, *, ingest_id: int, path: str, sha256: str) -> int:
    """Record rejected rows; a row already quarantined from the same file is not added twice."""
    if rejects.empty:
        return 0
    return _insert_ignore(conn, "quarantine", _QUARANTINE_COLUMNS, _records(rejects, _QUARANTINE_COLUMNS),
                          constants={"ingest_id": ingest_id, "path": path, "file_sha256": sha256},
                          conflict="(file_sha256, row_number)")


def insert_area_counts(conn: Connection, long: pd.DataFrame, *, dataset: str, ingest_id: int) -> tuple[int, int]:
    """Insert monthly area counts; return ``(new input rows, input rows already stored)``.

    All months of one input row share its key prefix, so an input row is new
    or already stored as a whole.
    """
    if long.empty:
        return 0, 0
    inserted = _insert_ignore(conn, "area_counts", _AREA_COLUMNS, _records(long, _AREA_COLUMNS),
                              constants={"dataset": dataset, "ingest_id": ingest_id},
                              conflict="(dataset, area_code, major, minor, month)")
    per_row = int(long.groupby("row", sort=False).size().iloc[0])
    n_rows = long["row"].nunique()
    new = inserted // per_row
    return new, n_rows - new
