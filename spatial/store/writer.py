"""Bulk writes inside the caller's transaction (one file = one transaction).

Rows are first put into index-free staging tables, then moved with one
``INSERT .. SELECT`` that skips rows whose key is already stored (``INSERT OR
IGNORE`` in SQLite, ``ON CONFLICT DO NOTHING`` in PostgreSQL, where staging
uses ``COPY``).  Constant columns (``ingest_id``, file path, a batch's source)
are added in the ``SELECT``.  Each call returns how many rows were new, so rows
already stored count as duplicates.

SQLite staging binds as few values as it can, because binding values from
Python is the largest cost of an SQLite ingest (bench/RESULTS.md): an
:class:`~spatial.ingest.context.IncidentBatch` is split into

* a *profile* table: the distinct combinations of source, category, flags,
  interval, month and outcome (police.uk: a few hundred per file),
* a *place* table: the distinct combinations of x, y, lon, lat, the area codes
  and, when it is a function of them, the location text (police.uk snaps
  crimes to map points: about a third as many places as crimes per file),
* a row table: id, source reference (``NULL`` when it equals the id) and one
  code for both dictionaries, sorted by id so that the primary-key index is
  filled in order, four incidents to a staging row (each slot a quarter of
  the batch, read back in order with ``UNION ALL``),

and the ``INSERT .. SELECT`` joins them back.  Columns holding one value for
the whole batch (the source) are bound once, in the ``SELECT``.  Values are
never converted on the way: the staging columns have no type affinity,
dictionary codes are taken from exact keys (floats by their bit pattern), and
the stored rows are the ones a plain row-by-row insert gives
(``tests/spatial/test_ingest_equality.py``).

:class:`SQLiteStage` writes the same tables into a scratch SQLite file from
the preparing thread, so that the store's connection only runs the ``INSERT ..
SELECT`` (through ``ATTACH``) while the next file is prepared; with
:class:`Dictionaries`, profiles and places are shared by all files of a run
(London: 35,500 places a year instead of 222,000 counted per file).
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api.types import infer_dtype
from sqlalchemy import Connection

from spatial import schema as S
from spatial._errors import HotspotError
from spatial.jsonable import py_scalar

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from spatial.ingest.context import IncidentBatch

__all__ = ["reflag_sensitive", "insert_incidents", "insert_quarantine", "insert_area_counts", "incident_records",
           "SQLiteStage", "StagedRows", "Dictionaries", "STAGE_SCHEMA", "driver_connection"]

_QUARANTINE_COLUMNS = ("row_number", "field", "reason", "raw")
_AREA_COLUMNS = ("area_type", "area_code", "area_name", "major", "minor", "month", "count")

#: Schema name a scratch stage file is attached under.
STAGE_SCHEMA = "hotspot_stage"

#: Columns dictionary-encoded together (see the module docstring).
_PROFILE = (S.SOURCE, S.CATEGORY, S.SENSITIVE, S.PROACTIVE, S.OCCURRED_FROM, S.OCCURRED_TO, S.MONTH, S.OUTCOME,
            S.REPORTED_BY, S.FALLS_WITHIN)
_PLACE = (S.X, S.Y, S.LON, S.LAT, S.WARD_CODE, S.LSOA_CODE, S.ESTATE_ID, S.PARK_ID)
#: Columns added to a group only if they are a function of it (police.uk: the street name of a map point).
_PLACE_IF_DETERMINED = (S.LOCATION_TEXT,)



def driver_connection(conn: Connection) -> Any:
    """The DB-API connection under ``conn`` (sqlite3 or psycopg), for bulk statements SQLAlchemy lacks."""
    raw = conn.connection.driver_connection
    if raw is None:
        msg = "the database connection has been closed"
        raise HotspotError(msg)
    return raw

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


# ----------------------------------------------------------------------------
# SQLite: compact staging
# ----------------------------------------------------------------------------
def _bindable(values: np.ndarray) -> list:
    """Python values to bind (``None`` and float NaN both bind as NULL; pandas' ``NA`` becomes ``None``)."""
    out = values.tolist()
    if values.dtype == object and infer_dtype(values, skipna=True) not in ("string", "empty"):
        out = [None if (v is pd.NA or v is pd.NaT) else v for v in out]
    return out


def _same_key(values: np.ndarray) -> np.ndarray | None:
    """A hashable array whose equal elements are exactly the equal values, or ``None``.

    Floats are keyed by their bit pattern (so ``-0.0`` and ``0.0`` stay apart);
    object columns only when every value is a string or missing (Python
    equality would merge ``1``, ``1.0`` and ``True``).
    """
    if values.dtype.kind == "f":
        return np.ascontiguousarray(values, dtype=np.float64).view(np.uint64)
    if values.dtype.kind in "biu":
        return values
    if values.dtype == object and infer_dtype(values, skipna=True) in ("string", "empty"):
        return values
    return None


def _codes(key: np.ndarray) -> tuple[np.ndarray, int]:
    """Dictionary codes ``0..k-1`` of a key from :func:`_same_key` (missing values get their own code)."""
    codes, uniq = pd.factorize(key)
    if key.dtype == object and (codes < 0).any():
        codes = np.where(codes < 0, len(uniq), codes)
        return codes.astype(np.int64), len(uniq) + 1
    return codes.astype(np.int64), len(uniq)


def _determined(key: np.ndarray, codes: np.ndarray, first: np.ndarray) -> bool:
    """True if ``key`` takes one value per code (a function of the columns coded so far).

    Missing values (``None``, NaN) all count as one value: they are all stored as NULL.
    """
    rep = key[first][codes]
    if key.dtype != object:
        return bool(np.array_equal(rep, key))
    differ = ~np.asarray(rep == key, dtype=bool)
    if not differ.any():
        return True
    return bool(pd.isna(rep[differ]).all() and pd.isna(key[differ]).all())


def _group_codes(arrays: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-row code of each distinct combination of ``arrays`` and the first row of each combination.

    A column whose value is the same wherever the columns before it are the
    same (police.uk: lon/lat/areas given x/y, interval given the month) is not
    hashed again.
    """
    keys = [_same_key(a) for a in arrays]
    if any(k is None for k in keys):
        return None
    codes: np.ndarray | None = None
    first: np.ndarray | None = None
    for key in keys:
        if codes is not None and _determined(key, codes, first):  # type: ignore[arg-type]
            continue
        c, k = _codes(key)  # type: ignore[arg-type]
        codes = c if codes is None else pd.factorize(codes * k + c)[0].astype(np.int64)
        # codes are in order of first appearance, so the first row of code j is np.unique's index j
        first = np.unique(codes, return_index=True)[1]
    assert codes is not None and first is not None
    return codes, first


@dataclass
class StagedRows:
    """Where one batch of canonical rows was staged, and how to read it back."""

    n: int
    #: A ``SELECT`` of the rows in :data:`spatial.schema.INCIDENT_COLUMNS` order plus the
    #: ingest id (the last numbered parameter), reading the staging tables in id order.
    select: str = ""
    #: Values of the numbered parameters before the ingest id (the constant columns).
    params: list = field(default_factory=list)
    #: Staging tables created (unqualified names).
    tables: list[str] = field(default_factory=list)
    #: Statements to run after the move (emptying temporary tables).
    cleanup: list[str] = field(default_factory=list)
    #: The staged quarantine table of the same chunk (if any).
    quarantine: str | None = None
    #: Statements the store runs before the move (new dictionary entries into its temporary tables).
    prelude: list[str] = field(default_factory=list)
    #: ``(query, expected)``: row counts the store checks before the move.
    guards: list[tuple[str, int]] = field(default_factory=list)


#: Incidents per staging row: binding costs about a microsecond per row on top of
#: the values, so several incidents share a row (slot j holds the j-th part, in id order).
_SLOTS = 4


def _sort_by_id(ids: object, n: int) -> np.ndarray | None:
    if not isinstance(ids, np.ndarray) or n < 2 or infer_dtype(ids, skipna=False) != "string":
        return None
    # a stable sort: rows with equal ids keep file order, so INSERT OR IGNORE keeps the same one
    return pc.sort_indices(pa.array(ids, type=pa.large_string())).to_numpy()


class Dictionaries:
    """Profile and place dictionaries shared by the files of one ingest run.

    police.uk repeats its map points every month (London: 35,500 places a
    year, 222,000 if counted per monthly file), so each distinct entry is
    bound once per run.  New entries travel in the file's stage and are
    copied into temporary tables of the store's connection (one connection
    for the run); the store checks their row count before every move, so a
    missing entry can never silently drop a row from the join.
    """

    def __init__(self) -> None:
        self.token = uuid.uuid4().hex[:12]
        self._ids: dict[tuple[str, ...], dict[tuple, int]] = {}
        self._names: dict[tuple[str, ...], str] = {}

    def table(self, alias: str, cols: list[str]) -> tuple[str, dict[tuple, int]]:
        sig = (alias, *cols)
        if sig not in self._names:
            self._names[sig] = f"hotspot_{alias}{len(self._names)}_{self.token}"
            self._ids[sig] = {}
        return self._names[sig], self._ids[sig]

    def tables(self) -> list[str]:
        return list(self._names.values())

    def mark(self) -> dict[tuple[str, ...], int]:
        """The current sizes, to :meth:`rollback` to if a file's stage is thrown away."""
        return {sig: len(ids) for sig, ids in self._ids.items()}

    def rollback(self, mark: dict[tuple[str, ...], int]) -> None:
        """Forget the entries added since ``mark`` (ids are insertion order, so the last ones)."""
        for sig, ids in self._ids.items():
            keep = mark.get(sig, 0)
            while len(ids) > keep:
                ids.popitem()


def _key_lists(values: np.ndarray) -> list:
    """Hashable, exact per-value keys: float bit patterns, missing values as ``None``."""
    if values.dtype.kind == "f":
        return np.ascontiguousarray(values, dtype=np.float64).view(np.uint64).tolist()
    if values.dtype == object:
        missing = pd.isna(values)
        if not missing.any():
            return values.tolist()
        out = values.copy()
        out[missing] = None
        return out.tolist()
    return values.tolist()


def _stage_batch(cur: sqlite3.Cursor, batch: IncidentBatch, *, schema: str, prefix: str, read_as: str,
                 dicts: Dictionaries | None = None) -> StagedRows:
    """Create and fill the staging tables of ``batch`` in ``schema`` on ``cur``'s connection.

    ``read_as`` is the schema name under which the store's connection will
    read the tables (``temp`` for temporary tables, the attach name for a
    scratch file).  With ``dicts``, profiles and places go to the run's
    dictionaries (see :class:`Dictionaries`) instead of per-batch tables.
    """
    n = batch.n
    out = StagedRows(n)
    if n == 0:
        return out
    arrays: dict[str, np.ndarray] = {}
    constants: dict[str, object] = {}
    for c in S.INCIDENT_COLUMNS:
        v = batch.columns[c]
        if isinstance(v, np.ndarray):
            arrays[c] = v
        else:
            constants[c] = py_scalar(v)
    exprs: dict[str, str] = {c: f"?{i}" for i, c in enumerate(constants, 1)}
    codes_of: dict[str, np.ndarray] = {}  # alias -> per-row code
    joins: dict[str, str] = {}  # alias -> table as read by the store
    for alias, group, extra in (("p", _PROFILE, ()), ("g", _PLACE, _PLACE_IF_DETERMINED)):
        cols = [c for c in group if c in arrays]
        enc = _group_codes([arrays[c] for c in cols]) if cols else None
        if enc is None or len(enc[1]) > n // 2:
            continue  # cannot be keyed exactly, or not worth it: these columns are bound per row
        codes, first = enc
        for c in extra:
            key = _same_key(arrays[c]) if c in arrays else None
            if key is not None and _determined(key, codes, first):
                cols.append(c)
        entries = {c: arrays.pop(c)[first] for c in cols}
        if dicts is None:
            ids = np.arange(len(first))
            new = ids
            table = f"{prefix}{alias}"
            joins[alias] = f'{read_as}."{table}"'
        else:
            table, known = dicts.table(alias, cols)
            before = len(known)
            keys = list(zip(*[_key_lists(v) for v in entries.values()]))
            ids = np.fromiter((known.setdefault(k, len(known)) for k in keys), dtype=np.int64, count=len(keys))
            new = np.flatnonzero(ids >= before)  # entries seen for the first time in this run
            joins[alias] = f'temp."{table}"'
            staged_new = f"{prefix}{alias}_new"
            out.prelude.append(f'CREATE TEMP TABLE IF NOT EXISTS "{table}" (k INTEGER PRIMARY KEY, {", ".join(cols)})')
            out.prelude.append(f'INSERT INTO temp."{table}" SELECT * FROM {read_as}."{staged_new}"')
            out.guards.append((f'SELECT count(*) FROM temp."{table}"', len(known)))
            table = staged_new
        cur.execute(f'DROP TABLE IF EXISTS {schema}."{table}"')
        cur.execute(f'CREATE TABLE {schema}."{table}" (k INTEGER PRIMARY KEY, {", ".join(cols)})')
        cur.executemany(f'INSERT INTO {schema}."{table}" VALUES (?{", ?" * len(cols)})',
                        zip(ids[new].tolist(), *[_bindable(v[new]) for v in entries.values()]))
        out.tables.append(table)
        exprs.update({c: f"{alias}.{c}" for c in cols})
        codes_of[alias] = ids[codes]
    # one code column per row for both dictionaries: code = place * m + profile
    row: dict[str, np.ndarray] = dict(arrays)
    m = 0
    if codes_of:
        m = int(codes_of["p"].max()) + 1 if "p" in codes_of else 1
        row["k"] = codes_of.get("g", np.zeros(n, dtype=np.int64)) * m + codes_of.get("p", 0)
    # the rest is bound per row, in id order so that the primary key is filled in order
    order = _sort_by_id(arrays.get(S.INCIDENT_ID), n)
    if order is not None:
        row = {c: v[order] for c, v in row.items()}
    refs, ids_ = row.get(S.SOURCE_REF), row.get(S.INCIDENT_ID)
    if refs is not None and ids_ is not None and refs.dtype == object:
        same = np.asarray(refs == ids_, dtype=bool)
        if same.any() and not pd.isna(refs[~same]).any():  # NULL can then only mean "the id"
            kept = refs.copy()
            kept[same] = None
            row[S.SOURCE_REF] = kept
            exprs[S.SOURCE_REF] = f"coalesce(s.{S.SOURCE_REF}, s.{S.INCIDENT_ID})"
    for c in arrays:
        exprs.setdefault(c, f"s.{c}")
    per = -(-n // _SLOTS)  # rows of the staging table
    slots = -(-n // per)  # slots in use; only the last one may be shorter
    names = list(row)
    table = f"{prefix}s"
    cur.execute(f'DROP TABLE IF EXISTS {schema}."{table}"')
    cur.execute(f'CREATE TABLE {schema}."{table}" ({", ".join(f"{c}_{j}" for j in range(slots) for c in names)})')
    lists = {c: _bindable(v) for c, v in row.items()}
    pad = [None] * (per * slots - n)
    slices = [lists[c][j * per:(j + 1) * per] + (pad if j == slots - 1 else []) for j in range(slots) for c in names]
    cur.executemany(f'INSERT INTO {schema}."{table}" VALUES ({", ".join("?" * len(slices))})', zip(*slices))
    out.tables.append(table)
    ingest_param = f"?{len(constants) + 1}"
    arms = []
    for j in range(slots):
        sel = ", ".join(re.sub(r"\bs\.(\w+)\b", rf"s.\1_{j}", exprs[c]) for c in S.INCIDENT_COLUMNS)
        on = {"p": f"p.k = s.k_{j} % {m}", "g": f"g.k = s.k_{j} / {m}"}
        join = " ".join(f"CROSS JOIN {t} AS {a} ON {on[a]}" for a, t in joins.items())
        last = per - (per * slots - n)
        where = f" WHERE s.rowid <= {last}" if j == slots - 1 and last < per else ""
        arms.append(f'SELECT {sel}, {ingest_param} FROM {read_as}."{table}" AS s {join}{where}')
    out.select = " UNION ALL ".join(arms)
    out.params = list(constants.values())
    return out


def _stage_quarantine(cur: sqlite3.Cursor, rejects: pd.DataFrame, *, schema: str, table: str) -> None:
    cur.execute(f'DROP TABLE IF EXISTS {schema}."{table}"')
    cur.execute(f'CREATE TABLE {schema}."{table}" ({", ".join(_QUARANTINE_COLUMNS)})')
    cur.executemany(f'INSERT INTO {schema}."{table}" VALUES (?, ?, ?, ?)', _records(rejects, _QUARANTINE_COLUMNS))


class SQLiteStage:
    """A scratch SQLite file holding one input file's canonical rows and rejects, chunk by chunk.

    Written by the thread that reads the file, through its own connection
    (no journal, no fsync: the file is thrown away); read by the store's
    connection after ``ATTACH .. AS`` :data:`STAGE_SCHEMA`, inside the
    transaction that stores the input file.
    """

    def __init__(self, path: str | Path, dicts: Dictionaries | None = None) -> None:
        self.path = Path(path)
        self.dicts = dicts
        self._con = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "temp_store=MEMORY", "cache_size=-65536"):
            self._con.execute(f"PRAGMA {pragma}")
        self._con.execute("BEGIN")
        self._k = 0

    def add(self, batch: IncidentBatch, rejects: pd.DataFrame) -> StagedRows:
        """Stage one chunk's canonical rows and rejects; return the handle for the store."""
        k = self._k
        self._k += 1
        cur = self._con.cursor()
        staged = _stage_batch(cur, batch, schema="main", prefix=f"c{k}_", read_as=STAGE_SCHEMA, dicts=self.dicts)
        if len(rejects):
            _stage_quarantine(cur, rejects, schema="main", table=f"c{k}_q")
            staged.quarantine = f'{STAGE_SCHEMA}."c{k}_q"'
        cur.close()
        return staged

    def finish(self) -> None:
        """Commit and close: the file is ready to be attached."""
        self._con.execute("COMMIT")
        self._con.close()

    def discard(self) -> None:
        """Close (if open) and delete the scratch file."""
        try:
            self._con.close()
        except sqlite3.Error:
            pass
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)


# ----------------------------------------------------------------------------
# generic move from staging
# ----------------------------------------------------------------------------
def _insert_ignore(conn: Connection, table: str, columns: tuple[str, ...], rows: list[tuple], *,
                   constants: dict[str, object], conflict: str) -> int:
    if not rows:
        return 0
    cols = ", ".join(f'"{c}"' for c in columns)
    const_names = ", ".join(f'"{c}"' for c in constants)
    stage = f"stage_{table}"
    raw = driver_connection(conn)
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


def _move_staged(conn: Connection, staged: StagedRows, ingest_id: int) -> int:
    """``INSERT OR IGNORE`` the staged rows into incidents (SQLite); return how many were new."""
    raw = driver_connection(conn)
    cur = raw.cursor()
    for stmt in staged.prelude:
        cur.execute(stmt)
    for query, expected in staged.guards:
        got = cur.execute(query).fetchone()[0]
        if got != expected:  # a bug, never bad data: a join would drop rows
            msg = f"staged dictionary has {got} entries, expected {expected} ({query}); nothing was stored"
            raise RuntimeError(msg)
    cols = ", ".join(f'"{c}"' for c in S.INCIDENT_COLUMNS)
    before = raw.total_changes
    cur.execute(f"INSERT OR IGNORE INTO incidents ({cols}, ingest_id) {staged.select}", (*staged.params, ingest_id))
    inserted = raw.total_changes - before
    for stmt in staged.cleanup:
        cur.execute(stmt)
    cur.close()
    return inserted


def _pg_copy_batch(conn: Connection, batch: IncidentBatch, ingest_id: int) -> int:
    """COPY the varying columns of ``batch`` into a staging table, add the constant ones in SQL."""
    varying = [c for c in S.INCIDENT_COLUMNS if isinstance(batch.columns[c], np.ndarray)]
    constants = {c: batch.columns[c] for c in S.INCIDENT_COLUMNS if c not in varying}
    constants = {c: py_scalar(v) for c, v in constants.items()}
    all_cols = ", ".join(f'"{c}"' for c in S.INCIDENT_COLUMNS)
    vcols = ", ".join(f'"{c}"' for c in varying)
    exprs = ", ".join("%s" if c in constants else f'"{c}"' for c in S.INCIDENT_COLUMNS)
    raw = driver_connection(conn)
    with raw.cursor() as cur:
        cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS stage_incidents AS SELECT {all_cols} FROM incidents WITH NO DATA")
        cur.execute("TRUNCATE stage_incidents")
        with cur.copy(f"COPY stage_incidents ({vcols}) FROM STDIN") as copy:
            for row in zip(*[_bindable(batch.columns[c]) for c in varying]):  # type: ignore[arg-type]
                copy.write_row(row)
        cur.execute(f"INSERT INTO incidents ({all_cols}, ingest_id) SELECT {exprs}, %s FROM stage_incidents "
                    "ON CONFLICT (incident_id) DO NOTHING", (*[constants[c] for c in S.INCIDENT_COLUMNS if c in constants], ingest_id))
        inserted = cur.rowcount
        cur.execute("TRUNCATE stage_incidents")
    return inserted


def insert_incidents(conn: Connection, rows: pd.DataFrame | IncidentBatch | StagedRows | None, ingest_id: int, *,
                     records: list[tuple] | None = None) -> int:
    """Insert canonical incidents; return how many were new.

    ``rows`` is a canonical frame, an :class:`~spatial.ingest.context.IncidentBatch`,
    or rows already staged (:meth:`SQLiteStage.add`, SQLite only); ``records``
    (tuples in column order) may be given instead of a frame.
    """
    from spatial.ingest.context import IncidentBatch

    if isinstance(rows, StagedRows):
        return _move_staged(conn, rows, ingest_id) if rows.n else 0
    if isinstance(rows, IncidentBatch):
        if rows.n == 0:
            return 0
        if conn.dialect.name == "sqlite":
            cur = driver_connection(conn).cursor()
            staged = _stage_batch(cur, rows, schema="temp", prefix="stage_incidents_", read_as="temp")
            cur.close()
            staged.cleanup = [f'DELETE FROM temp."{t}"' for t in staged.tables]
            return _move_staged(conn, staged, ingest_id)
        return _pg_copy_batch(conn, rows, ingest_id)
    recs = records if records is not None else incident_records(rows)
    return _insert_ignore(conn, "incidents", S.INCIDENT_COLUMNS, recs,
                          constants={"ingest_id": ingest_id}, conflict="(incident_id)")


def insert_quarantine(conn: Connection, rejects: pd.DataFrame | StagedRows, *, ingest_id: int, path: str, sha256: str) -> int:
    """Record rejected rows; a row already quarantined from the same file is not added twice.

    ``rejects`` is a frame of ``row_number, field, reason, raw``, or a chunk
    staged by :meth:`SQLiteStage.add` (its quarantine table is moved).
    """
    if isinstance(rejects, StagedRows):
        if not rejects.quarantine:
            return 0
        raw = driver_connection(conn)
        cols = ", ".join(_QUARANTINE_COLUMNS)
        before = raw.total_changes
        raw.execute(f"INSERT OR IGNORE INTO quarantine ({cols}, ingest_id, path, file_sha256) "
                    f"SELECT {cols}, ?, ?, ? FROM {rejects.quarantine} ORDER BY rowid", (ingest_id, path, sha256))
        return raw.total_changes - before
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


def reflag_sensitive(engine: Engine, *, slugs: frozenset[str] | None = None) -> int:
    """Flag stored incidents of the sensitive categories (the taxonomy's, with ``$HOTSPOT_EXTRA_SENSITIVE``).

    Only ever sets the flag: an incident once stored as sensitive stays so
    (clearing it would expose points that were hidden).  Returns how many rows
    were newly flagged.
    """
    from sqlalchemy import update

    from . import tables as T

    wanted = sorted(slugs if slugs is not None else S.load_taxonomy().sensitive_slugs())
    with engine.begin() as conn:
        done = conn.execute(update(T.incidents).where(T.incidents.c.category.in_(wanted),
                                                      T.incidents.c.sensitive.is_(False)).values(sensitive=True))
    return int(done.rowcount or 0)
