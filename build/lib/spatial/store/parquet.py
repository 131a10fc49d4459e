"""A partitioned GeoParquet incident store: the third storage target of ingest.

Layout of a store folder ``DIR``::

    DIR/_ingest.sqlite                          ingests, quarantine, MPS area counts, parquet_parts
    DIR/force=<slug>/month=YYYY-MM/part-<ingest id>-<sha>.parquet

Every part file holds the canonical incident columns
(:data:`spatial.schema.INCIDENT_COLUMNS`), ``ingest_id`` and a ``geometry``
column of EPSG:27700 points as WKB, with GeoParquet 1.1 ``geo`` metadata, so
``geopandas.read_parquet`` reads any part with its CRS.  ``month`` is kept in
the file as well as in the folder name: read the folders with an explicit list
of files (:func:`store_parts`), not with Hive partition discovery.

Rows come from the same ingest code as the SQL stores
(:func:`spatial.ingest.pipeline.ingest_paths_parquet`): the same validation,
ids, attribution, quarantine and reconciled report.  The duplicate rule is
the SQL store's primary key, applied per partition: a row whose
``incident_id`` is already stored in its ``force``/``month`` partition is a
duplicate, so re-ingesting a file stores nothing.

A file is stored completely or not at all.  Its rows are written to hidden
temporary files (``.part-*.tmp``), renamed when all are written, and listed
in ``parquet_parts`` in the same SQLite transaction that records the ingest
and its quarantined rows.  Only listed parts are part of the store: readers
never see the others, and a part left by a crash between the rename and the
commit is removed the next time the store is opened for writing
(:meth:`ParquetStore.open`).  One process writes at a time: a writer holds an
exclusive lock on ``DIR/.write.lock``; readers take no lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from pyproj import CRS
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
)

from spatial import schema as S
from spatial._errors import HotspotError, IngestError

__all__ = ["ParquetStore", "PartitionWriter", "PartInfo", "force_from_filename", "store_parts", "read_store",
           "geo_metadata", "incident_table", "SIDE_DB", "PART_GLOB", "check_force"]

#: The side database (ingest records, quarantine, MPS tables, the list of committed parts).
SIDE_DB = "_ingest.sqlite"
#: Committed part files.
PART_GLOB = "force=*/month=*/part-*.parquet"

_FORCE = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")
_BULK_NAME = re.compile(r"^\d{4}-\d{2}-(?P<force>[a-z0-9-]+?)-(street|outcomes|stop-and-search)\.csv(\.gz)?$")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

_parts_meta = MetaData()
#: Committed part files, relative to the store folder.
parquet_parts = Table(
    "parquet_parts", _parts_meta,
    Column("path", Text, primary_key=True),
    Column("force", String(60), nullable=False),
    Column("month", String(7), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("ingest_id", Integer, nullable=False),
)

_STRING_COLUMNS = tuple(c for c in S.INCIDENT_COLUMNS
                        if c not in (S.SENSITIVE, S.PROACTIVE, S.X, S.Y, S.LON, S.LAT, S.OCCURRED_FROM, S.OCCURRED_TO))
_TIME = pa.timestamp("us", tz="UTC")


def _schema() -> pa.Schema:
    fields = []
    for c in S.INCIDENT_COLUMNS:
        if c in (S.SENSITIVE, S.PROACTIVE):
            t = pa.bool_()
        elif c in (S.X, S.Y, S.LON, S.LAT):
            t = pa.float64()
        elif c in (S.OCCURRED_FROM, S.OCCURRED_TO):
            t = _TIME
        else:
            t = pa.string()
        fields.append(pa.field(c, t, nullable=c not in (S.INCIDENT_ID, S.SOURCE, S.CATEGORY, S.MONTH)))
    fields += [pa.field("ingest_id", pa.int64(), nullable=False), pa.field("geometry", pa.binary(), nullable=False)]
    return pa.schema(fields)


#: Arrow schema of a part file (without its ``geo`` metadata).
SCHEMA = _schema()


def check_force(force: str) -> str:
    """Return ``force`` if it is a valid partition slug, else raise :class:`HotspotError`."""
    if not isinstance(force, str) or not _FORCE.fullmatch(force):
        msg = (f"force {force!r} is not a partition slug: use lower-case letters, digits and dashes, "
               "as police.uk names forces (e.g. 'metropolitan', 'city-of-london', 'avon-and-somerset')")
        raise HotspotError(msg)
    return force


def force_from_filename(name: str) -> str | None:
    """The force slug of a police.uk bulk file name (``2018-06-metropolitan-street.csv``), or ``None``.

    Examples
    --------
    >>> force_from_filename("2018-06-avon-and-somerset-street.csv")
    'avon-and-somerset'
    >>> force_from_filename("2017-07-london-street-police-uk-api.csv.gz") is None
    True
    """
    m = _BULK_NAME.match(name.lower())
    return m.group("force") if m else None


def geo_metadata(bbox: list[float] | None = None) -> dict:
    """GeoParquet 1.1 ``geo`` metadata of a part file (EPSG:27700 WKB points)."""
    col: dict = {"encoding": "WKB", "geometry_types": ["Point"], "crs": CRS.from_epsg(27700).to_json_dict()}
    if bbox is not None:
        col["bbox"] = bbox
    return {"version": "1.1.0", "primary_column": "geometry", "columns": {"geometry": col}}


def _strings(v: object, n: int) -> pa.Array:
    if isinstance(v, np.ndarray):
        return pa.array(v, type=pa.string(), from_pandas=True)
    return pa.array([v] * n if n else [], type=pa.string())


def _times(v: object, n: int) -> pa.Array:
    """ISO text (as the SQL stores keep it) to UTC timestamps; each distinct value parsed once."""
    arr = v if isinstance(v, np.ndarray) else np.full(n, v, dtype=object)
    codes, uniq = pd.factorize(arr, use_na_sentinel=True)
    ts = pd.to_datetime(pd.Series(uniq, dtype=object), utc=True, format="ISO8601")
    vals = ts.to_numpy(dtype="datetime64[us]")[codes]
    return pa.array(vals, type=pa.timestamp("us"), mask=codes < 0).cast(_TIME)


def incident_table(columns: dict[str, object], n: int, ingest_id: int) -> pa.Table:
    """Arrow table of canonical columns (arrays of ``n`` values or one shared value) plus WKB points."""
    arrays = []
    for f in SCHEMA:
        c = f.name
        if c == "ingest_id":
            arrays.append(pa.array(np.full(n, ingest_id, dtype=np.int64)))
        elif c == "geometry":
            x = np.asarray(columns[S.X], dtype=float)
            y = np.asarray(columns[S.Y], dtype=float)
            arrays.append(pa.array(shapely.to_wkb(shapely.points(x, y)), type=pa.binary()))
        elif c in (S.SENSITIVE, S.PROACTIVE):
            v = columns[c]
            arrays.append(pa.array(np.asarray(v, dtype=bool) if isinstance(v, np.ndarray) else np.full(n, bool(v))))
        elif c in (S.X, S.Y, S.LON, S.LAT):
            arrays.append(pa.array(np.asarray(columns[c], dtype=float)))
        elif c in (S.OCCURRED_FROM, S.OCCURRED_TO):
            arrays.append(_times(columns[c], n))
        else:
            arrays.append(_strings(columns[c], n))
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def write_part(table: pa.Table, path: Path) -> None:
    """Write ``table`` as one GeoParquet file at ``path`` (with its bbox in the metadata)."""
    if table.num_rows:
        x = table.column(S.X).to_numpy()
        y = table.column(S.Y).to_numpy()
        bbox = [float(x.min()), float(y.min()), float(x.max()), float(y.max())]
    else:
        bbox = None
    meta = dict(table.schema.metadata or {})
    meta[b"geo"] = json.dumps(geo_metadata(bbox)).encode()
    pq.write_table(table.replace_schema_metadata(meta), path, compression="zstd",
                   row_group_size=1 << 20, use_dictionary=[c for c in _STRING_COLUMNS if c != S.INCIDENT_ID])


@dataclass(frozen=True)
class PartInfo:
    """One committed part file."""

    path: Path
    force: str
    month: str
    rows: int
    ingest_id: int


class ParquetStore:
    """A partitioned GeoParquet incident store in folder ``root`` (see the module docstring)."""

    def __init__(self, root: Path, engine: Engine, lock: int | None = None) -> None:
        self.root = root
        self.engine = engine
        self._lock = lock
        #: incident ids of recently used partitions (force, month) -> set, updated on commit
        self._ids: OrderedDict[tuple[str, str], set[str]] = OrderedDict()
        self.cache_partitions = 16

    @classmethod
    def open(cls, root: str | Path, *, create: bool = True, write: bool = True) -> ParquetStore:
        """Open (creating if needed) the store in ``root``.

        For writing (the default) the store is locked for this process until
        :meth:`close`, and uncommitted and temporary parts are removed.

        Raises
        ------
        HotspotError
            If ``root`` does not exist and ``create`` is false, is not a folder,
            or another process is writing to it.
        """
        from spatial.store import connect

        r = Path(root)
        if r.exists() and not r.is_dir():
            msg = f"parquet store {r} is a file; give a folder (it is created if missing)"
            raise HotspotError(msg)
        if not r.exists():
            if not create:
                msg = f"parquet store {r} does not exist; ingest into it first (hotspot-tasking ingest PATH --parquet {r})"
                raise HotspotError(msg)
            r.mkdir(parents=True)
        lock = None
        if write:
            lock = os.open(r / ".write.lock", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(lock)
                msg = f"another process is writing to the parquet store {r}; wait for it to finish and try again"
                raise HotspotError(msg) from None
        engine = connect(f"sqlite:///{(r / SIDE_DB).resolve()}")
        parquet_parts.create(engine, checkfirst=True)
        store = cls(r, engine, lock)
        if write:
            store.recover()
        return store

    def close(self) -> None:
        """Release the write lock and the side database's connections."""
        self.engine.dispose()
        if self._lock is not None:
            os.close(self._lock)  # closing the descriptor releases the lock
            self._lock = None

    def __enter__(self) -> ParquetStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -----------------------------------------------------------
    def parts(self, *, forces: list[str] | None = None, months: list[str] | None = None) -> list[PartInfo]:
        """Committed parts (optionally of some forces and months), in force, month, path order."""
        q = select(parquet_parts).order_by(parquet_parts.c.force, parquet_parts.c.month, parquet_parts.c.path)
        if forces is not None:
            q = q.where(parquet_parts.c.force.in_(forces))
        if months is not None:
            q = q.where(parquet_parts.c.month.in_(months))
        with self.engine.connect() as conn:
            return [PartInfo(self.root / r.path, r.force, r.month, int(r.rows), int(r.ingest_id)) for r in conn.execute(q)]

    def recover(self) -> list[Path]:
        """Delete temporary files and part files not listed as committed; return what was removed.

        Only call it while holding the write lock (:meth:`open` does).
        """
        if self._lock is None:
            msg = "recover() needs the store opened for writing (ParquetStore.open(root, write=True))"
            raise HotspotError(msg)
        listed = {p.path.resolve() for p in self.parts()}
        removed = []
        for p in self.root.glob("force=*/month=*/*"):
            name = p.name
            if (name.startswith(".part-") and name.endswith(".tmp")) or (
                    name.startswith("part-") and name.endswith(".parquet") and p.resolve() not in listed):
                p.unlink()
                removed.append(p)
        return removed

    def known_ids(self, force: str, month: str) -> set[str]:
        """Incident ids stored in one partition (cached for the most recent partitions)."""
        key = (force, month)
        if key in self._ids:
            self._ids.move_to_end(key)
            return self._ids[key]
        ids: set[str] = set()
        for part in self.parts(forces=[force], months=[month]):
            ids.update(pq.read_table(part.path, columns=[S.INCIDENT_ID]).column(0).to_pylist())
        self._ids[key] = ids
        while len(self._ids) > self.cache_partitions:
            self._ids.popitem(last=False)
        return ids

    def partition_dir(self, force: str, month: str) -> Path:
        return self.root / f"force={check_force(force)}" / f"month={month}"

    def writer(self, force: str, *, label: str = "") -> PartitionWriter:
        """A writer for one input file's rows (all of them, or none, become part of the store)."""
        return PartitionWriter(self, check_force(force), label=label)


class PartitionWriter:
    """Rows of one input file, split by month, deduplicated, written and committed together.

    :meth:`add` takes an :class:`~spatial.ingest.context.IncidentBatch` and
    returns how many of its rows are new (the rest are duplicates);
    :meth:`commit` writes the parts, renames them into place and lists them
    in the caller's SQLite transaction; :meth:`abort` leaves no trace.
    """

    def __init__(self, store: ParquetStore, force: str, *, label: str = "") -> None:
        self.store = store
        self.force = force
        self.label = label
        self.token = uuid.uuid4().hex[:8]
        self._tables: dict[str, list[pa.Table]] = {}
        self._columns: dict[str, list[tuple[int, dict[str, object]]]] = {}
        self._seen: dict[str, set[str]] = {}
        self._written: list[tuple[Path, Path, str, int]] = []
        self._renamed: list[Path] = []

    def add(self, batch) -> int:
        """Keep the rows of ``batch`` not yet stored in their partition; return how many were kept."""
        n = batch.n
        if n == 0:
            return 0
        months = batch.column(S.MONTH)
        ids = batch.column(S.INCIDENT_ID)
        new = 0
        for month in pd.unique(months):
            if not isinstance(month, str) or not _MONTH.fullmatch(month):
                msg = f"month {month!r} cannot name a partition (expected YYYY-MM)"
                raise IngestError(msg)
            sel = np.flatnonzero(months == month)
            known = self.store.known_ids(self.force, month)
            seen = self._seen.setdefault(month, set())
            keep = np.fromiter(((i not in known and i not in seen) for i in ids[sel].tolist()), dtype=bool, count=len(sel))
            idx = sel[keep]
            # equal ids inside one batch: the first is kept (as INSERT OR IGNORE does)
            first = pd.Index(ids[idx]).duplicated(keep="first")
            idx = idx[~first]
            if not len(idx):
                continue
            seen.update(ids[idx].tolist())
            cols = {c: (v[idx] if isinstance(v, np.ndarray) else v) for c, v in batch.columns.items()}
            self._columns.setdefault(month, []).append((len(idx), cols))
            new += len(idx)
        return new

    def commit(self, conn: Connection, ingest_id: int) -> int:
        """Write, rename and list the parts inside ``conn``'s transaction; return rows written."""
        total = 0
        for month, chunks in sorted(self._columns.items()):
            tables = [incident_table(c, k, ingest_id) for k, c in chunks]
            table = pa.concat_tables(tables)
            folder = self.store.partition_dir(self.force, month)
            folder.mkdir(parents=True, exist_ok=True)
            final = folder / f"part-{ingest_id:06d}-{self.token}{self.label}.parquet"
            tmp = folder / f".{final.name}.tmp"
            write_part(table, tmp)
            self._written.append((tmp, final, month, table.num_rows))
            total += table.num_rows
        self._columns.clear()
        for tmp, final, _m, _n in self._written:
            os.replace(tmp, final)
            self._renamed.append(final)
        if self._written:
            conn.execute(insert(parquet_parts), [
                {"path": str(final.relative_to(self.store.root)), "force": self.force, "month": month, "rows": n,
                 "ingest_id": ingest_id} for _t, final, month, n in self._written])
        for month, seen in self._seen.items():  # the cache now includes this file's ids
            key = (self.force, month)
            if key in self.store._ids:
                self.store._ids[key] |= seen
        return total

    def abort(self) -> None:
        """Remove anything written (temporary or renamed) and forget the rows."""
        for tmp, final, _m, _n in self._written:
            tmp.unlink(missing_ok=True)
            if final in self._renamed:
                final.unlink(missing_ok=True)
        self._written.clear()
        self._renamed.clear()
        self._columns.clear()
        for month in self._seen:
            self.store._ids.pop((self.force, month), None)


def store_parts(root: str | Path, *, forces: list[str] | None = None, months: list[str] | None = None) -> list[PartInfo]:
    """Committed parts of the store in ``root`` (see :meth:`ParquetStore.parts`)."""
    with ParquetStore.open(root, create=False, write=False) as store:
        return store.parts(forces=forces, months=months)


def read_store(root: str | Path, *, columns: list[str] | None = None, forces: list[str] | None = None,
               months: list[str] | None = None) -> pd.DataFrame:
    """All committed rows (optionally some columns, forces and months) as one frame, with a ``force`` column.

    For small stores and tests; the batch pipeline (:mod:`spatial.distributed`) reads part by part.
    """
    parts = store_parts(root, forces=forces, months=months)
    cols = list(columns) if columns is not None else [f.name for f in SCHEMA if f.name != "geometry"]
    frames = []
    for p in parts:
        df = pq.read_table(p.path, columns=cols).to_pandas()
        df.insert(0, "force", p.force)
        frames.append(df)
    if not frames:
        return pd.DataFrame(columns=["force", *cols])
    return pd.concat(frames, ignore_index=True)
