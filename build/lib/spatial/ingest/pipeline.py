"""Ingest orchestration: one file, one transaction, a reconciled report.

For every file: inspect (hash, encoding, header, kind), stream chunks through
the reader, write canonical rows and quarantined rows, and record the run in
``ingests``.  ``rows_read == stored + duplicates + quarantined + outside``
always holds for a completed file (``outside``: rows with valid coordinates
outside the area of interest, counted but never quarantined, no text kept); a file that cannot be read at all is recorded as
rejected with one whole-file quarantine entry (row 0) and nothing stored.

Several files into SQLite (:func:`ingest_paths`) run as a pipeline of three
threads, one file apart: *read ahead* (inspect, decompress, parse the CSV;
mostly outside Python's lock), *prepare* (validate, project, attribute, assign
ids and stage the rows into a scratch SQLite file) and *store* (the calling
thread: attach the scratch file and move it into the store in the file's one
transaction; SQLite does that without Python's lock).  Files are stored in
order, each completely or not at all, exactly as one at a time
(``tests/spatial/test_ingest_equality.py``).  One file, or PostgreSQL, goes
through :func:`ingest_file` in the calling thread.
"""

from __future__ import annotations

import contextlib
import queue
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Protocol

import geopandas as gpd
import pandas as pd
from sqlalchemy import Connection, Engine, insert, select, update

from spatial import schema as S
from spatial._errors import HotspotError, IngestError, MappingError
from spatial.config import Settings, retention_cutoff
from spatial.datasets import DEMO_BOROUGHS, load_lsoas, load_wards
from spatial.projection import AreaLayer, Attributor
from spatial.store import tables as T
from spatial.store.writer import (
    STAGE_SCHEMA,
    Dictionaries,
    SQLiteStage,
    StagedRows,
    insert_area_counts,
    insert_incidents,
    insert_quarantine,
)

from . import archive, council, mps
from .context import IncidentBatch, RunContext
from .files import FileInfo, _sha256, inspect_file
from .produce import PointJob, produce_point_chunks, read_ahead
from .rows import TolerantParse, read_chunks

__all__ = ["IngestReport", "StoreWriteError", "ingest_file", "ingest_paths", "ingest_paths_parquet", "default_attributor",
           "load_area_layers", "IncidentSink", "SinkFactory"]

Progress = Callable[[int], None]


class IncidentSink(Protocol):
    """Where canonical rows go instead of the ``incidents`` table (e.g. a GeoParquet store)."""

    def add(self, batch: IncidentBatch) -> int:
        """Take a batch; return how many rows were new (the rest are duplicates)."""

    def commit(self, conn: Connection, ingest_id: int) -> int:
        """Make the rows durable inside ``conn``'s transaction; return how many were stored."""

    def abort(self) -> None:
        """Forget the rows and remove anything written."""


#: Makes the sink of one input file (may raise :class:`IngestError` to reject the file).
SinkFactory = Callable[[FileInfo], IncidentSink]

#: Run several SQLite files as the three-thread pipeline (``False``: one at a time, as :func:`ingest_file`).
PIPELINE = True

#: Kinds read and stored by the store side in one pass (not point data staged by the reading side).
TABLE_KINDS = ("mps-wide", "police-uk-outcomes", "police-uk-stop-search")
#: Kinds whose rows are police.uk crimes with a "Last outcome category" (a re-release updates it).
_CRIME_KINDS = ("police-uk-street", "police-uk-api", "police-uk-api-json")
#: Kinds whose coordinates are WGS84 (the report says how they became British National Grid).
_WGS84_KINDS = (*_CRIME_KINDS, "police-uk-outcomes", "police-uk-stop-search")


@dataclass
class IngestReport:
    """Outcome of ingesting one file."""

    path: str
    kind: str
    source: str
    status: str  # complete | rejected
    rows_read: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    #: Rows outside the area of interest (not bad input: counted, never quarantined, no text kept).
    outside: int = 0
    message: str | None = None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    ingest_id: int | None = None
    sha256: str | None = None
    #: How WGS84 coordinates became British National Grid (:func:`spatial.projection.bng_transformation`).
    transformation: str | None = None

    @property
    def reconciles(self) -> bool:
        return self.rows_read == self.stored + self.duplicates + self.quarantined + self.outside

    def as_dict(self) -> dict:
        d = asdict(self)
        d["reconciles"] = self.reconciles
        return d


def load_area_layers(engine: Engine) -> list[AreaLayer]:
    """User-supplied estate and park layers stored in ``area_layers``."""
    from spatial.layers import stored_area_layer

    out = []
    for layer, col in (("estates", S.ESTATE_ID), ("parks", S.PARK_ID)):
        gdf = stored_area_layer(engine, layer)
        if gdf is not None:
            out.append(AreaLayer(col, gdf, "area_id"))
    return out


def default_attributor(engine: Engine | None, settings: Settings, *,
                       boroughs: tuple[str, ...] | None = DEMO_BOROUGHS,
                       wards: gpd.GeoDataFrame | None = None, lsoas: gpd.GeoDataFrame | None = None) -> Attributor:
    """Wards and LSOAs (bundled demo boroughs unless given), plus stored estates and parks."""
    w = wards if wards is not None else load_wards(boroughs, data_dir=settings.data_dir)
    lay = [AreaLayer(S.WARD_CODE, w, "ward_code")]
    ls = lsoas if lsoas is not None else load_lsoas(boroughs, data_dir=settings.data_dir)
    lay.append(AreaLayer(S.LSOA_CODE, ls, "lsoa_code"))
    if engine is not None:
        lay.extend(load_area_layers(engine))
    return Attributor.from_layers(lay, buffer_m=settings.aoi_buffer_m)


def _now_iso() -> str:
    return pd.Timestamp.now(tz="UTC").isoformat()


def _record_rejected(engine: Engine, path: Path, info_sha: str | None, size: int, kind: str, source: str,
                     message: str, field_name: str | None) -> int:
    with engine.begin() as conn:
        res = conn.execute(insert(T.ingests).values(
            path=str(path), file_sha256=info_sha or "", file_bytes=size, kind=kind, source=source,
            started_at=_now_iso(), finished_at=_now_iso(), status="rejected", rows_read=0, stored=0,
            duplicates=0, quarantined=0, message=message))
        ingest_id = int(res.inserted_primary_key[0])
        if info_sha:
            insert_quarantine(conn, pd.DataFrame({"row_number": [0], "field": [field_name or "(file)"],
                                                  "reason": [message], "raw": [None]}),
                              ingest_id=ingest_id, path=str(path), sha256=info_sha)
    return ingest_id


def _sha_or_none(path: Path) -> tuple[str | None, int]:
    try:
        return _sha256(path), path.stat().st_size
    except OSError:
        return None, 0


@dataclass
class _Chunk:
    """One chunk as the store receives it: counts, and rows and rejects (in memory or staged)."""

    read: int
    duplicates: int
    quarantined: int
    kept: int
    rows: IncidentBatch | StagedRows
    rejects: pd.DataFrame | StagedRows
    outside: int = 0


@dataclass
class _Prepared:
    """One input file after the reading side: rejected, an MPS table, or staged point rows."""

    path: Path
    source: str
    t0: float
    info: FileInfo | None = None
    kind: str | None = None
    rejected: tuple[str, str | None] | None = None  # (message, field)
    chunks: list[_Chunk] | None = None
    stage: SQLiteStage | None = None
    tolerant_note: str | None = None


class _Stopped(Exception):
    """The store side failed: stop reading."""


def _source(mapping: council.Mapping | None, source: str | None) -> str:
    return source or (mapping.source if mapping else "police.uk")


def _inspect(p: Path, *, mapping: council.Mapping | None, kind: str | None) -> FileInfo:
    info = inspect_file(p, has_mapping=mapping is not None, kind=kind)  # type: ignore[arg-type]
    if info.kind == "vector" and mapping is None:
        msg = f"{p}: a GeoJSON/GeoPackage/GeoParquet layer needs a column-mapping file (--mapping) naming its category and date columns"
        raise IngestError(msg, path=str(p))
    return info


def _point_job(info: FileInfo, *, tolerant: bool, mapping: council.Mapping | None, source: str,
               settings: Settings, now: pd.Timestamp) -> PointJob:
    return PointJob(info=info, mapping=mapping, source=source, now=now,
                    earliest=pd.Timestamp(settings.earliest_date, tz=S.LONDON_TZ),
                    max_field_chars=settings.max_field_chars, chunk_rows=settings.chunk_rows, tolerant=tolerant,
                    kept_from=(retention_cutoff(settings.retention_months, now)
                               if settings.retention_months is not None else None))


def _live_chunks(job: PointJob, attributor: Attributor) -> Iterator[_Chunk]:
    for out in produce_point_chunks(job, attributor):
        yield _Chunk(out.read, out.duplicates, len(out.rejects), out.batch.n, out.batch, out.rejects, out.outside)


def _stage_points(info: FileInfo, job_kw: dict, attributor: Attributor, stage_path: Path,
                  stop: threading.Event, dicts: Dictionaries,
                  ahead: list[pd.DataFrame] | TolerantParse | None) -> tuple[list[_Chunk], SQLiteStage, str | None]:
    """Read a point file into a scratch stage (re-reading it tolerantly if the fast parser gives up).

    ``ahead`` is what :func:`~spatial.ingest.produce.read_ahead` got for the file, if it ran.
    """
    note = None
    for tolerant in (False, True):
        if not tolerant and isinstance(ahead, TolerantParse):
            note = f"re-read with the tolerant CSV parser after: {ahead}"
            continue
        raw_chunks = ahead if (not tolerant and isinstance(ahead, list)) else None
        stage = SQLiteStage(stage_path, dicts)
        mark = dicts.mark()
        try:
            chunks = []
            for out in produce_point_chunks(_point_job(info, tolerant=tolerant, **job_kw), attributor, raw_chunks):
                if stop.is_set():
                    raise _Stopped
                staged = stage.add(out.batch, out.rejects)  # rows and rejects, read back by the store
                chunks.append(_Chunk(out.read, out.duplicates, len(out.rejects), out.batch.n, staged, staged,
                                     out.outside))
            stage.finish()
            return chunks, stage, note
        except TolerantParse as exc:
            stage.discard()
            dicts.rollback(mark)
            if tolerant:
                raise
            note = f"re-read with the tolerant CSV parser after: {exc}"
        except BaseException:
            stage.discard()
            dicts.rollback(mark)
            raise
    raise AssertionError("unreachable")


@dataclass
class _Read:
    """One input file after the read-ahead: inspected (or the error), and its text chunks if read."""

    path: Path
    t0: float
    info: FileInfo | None = None
    error: Exception | None = None
    ahead: list[pd.DataFrame] | TolerantParse | None = None


def _read(p: Path, *, mapping: council.Mapping | None, kind: str | None, settings: Settings) -> _Read:
    """Inspect a file and read a small CSV's text chunks (runs on the read-ahead thread)."""
    r = _Read(p, time.perf_counter())
    try:
        r.info = _inspect(p, mapping=mapping, kind=kind)
        r.ahead = read_ahead(r.info, settings.chunk_rows)
    except (IngestError, MappingError, HotspotError) as exc:
        r.error = exc
    return r


def _prepare(r: _Read, n: int, *, mapping: council.Mapping | None, kind: str | None, source: str | None,
             settings: Settings, now: pd.Timestamp, attributor: Attributor, stage_dir: Path,
             stop: threading.Event, dicts: Dictionaries) -> _Prepared:
    """Validate, attribute and stage one file (runs on the producing thread)."""
    prep = _Prepared(r.path, _source(mapping, source), r.t0, kind=kind)
    try:
        if r.error is not None:
            raise r.error
        info = r.info
        assert info is not None
        prep.info = info
        if info.kind in TABLE_KINDS:
            if info.kind == "mps-wide":
                prep.source = source or "mps-recorded-crime"
            return prep
        job_kw = {"mapping": mapping, "source": prep.source, "settings": settings, "now": now}
        prep.chunks, prep.stage, prep.tolerant_note = _stage_points(info, job_kw, attributor,
                                                                    stage_dir / f"stage-{n}.sqlite", stop, dicts,
                                                                    r.ahead)
        prep.info = replace(info, data=None)  # the decompressed text is no longer needed
    except (IngestError, MappingError, HotspotError) as exc:
        prep.rejected = (str(exc), getattr(exc, "field", None))
    finally:
        r.ahead = None
    return prep


def _discard(prep: object) -> None:
    if isinstance(prep, _Prepared) and prep.stage is not None:
        prep.stage.discard()


def _reject(engine: Engine, p: Path, kind: str | None, src: str, exc_message: str, field_name: str | None,
            t0: float) -> IngestReport:
    sha, size = _sha_or_none(p)
    ingest_id = _record_rejected(engine, p, sha, size, kind or "unknown", src, exc_message, field_name)
    report = IngestReport(str(p), kind or "unknown", src, "rejected", message=exc_message, ingest_id=ingest_id, sha256=sha)
    report.seconds = time.perf_counter() - t0
    return report


def ingest_file(
    engine: Engine, path: str | Path, *, attributor: Attributor, settings: Settings, now: pd.Timestamp,
    mapping: council.Mapping | None = None, kind: str | None = None, source: str | None = None,
    progress: Progress | None = None, sink: SinkFactory | None = None,
) -> IngestReport:
    """Ingest one file in one transaction and return its reconciled report.

    Never raises for bad data: file-level problems give a ``rejected`` report
    with the reason, row-level problems are quarantined.  ``sink`` (a
    :data:`SinkFactory`) sends the canonical rows somewhere else than the
    ``incidents`` table (the GeoParquet store); the ingest record and the
    quarantine stay in ``engine``.
    """
    p = Path(path)
    t0 = time.perf_counter()
    src = _source(mapping, source)
    try:
        info = _inspect(p, mapping=mapping, kind=kind)
        if info.kind == "mps-wide":
            src = source or "mps-recorded-crime"
        report = _ingest_tolerant_retry(engine, info, attributor=attributor, settings=settings, now=now,
                                        mapping=mapping, source=src, progress=progress, sink=sink)
    except (IngestError, MappingError, HotspotError) as exc:
        return _reject(engine, p, kind, src, str(exc), getattr(exc, "field", None), t0)
    report.seconds = time.perf_counter() - t0
    return report


def _ingest_tolerant_retry(engine: Engine, info: FileInfo, **kw) -> IngestReport:
    """Ingest with the fast CSV parser, again with the tolerant one if it gives up."""
    try:
        return _ingest(engine, info, tolerant=False, **kw)
    except TolerantParse as exc:
        report = _ingest(engine, info, tolerant=True, **kw)
        report.notes.append(f"re-read with the tolerant CSV parser after: {exc}")
        return report


def _ingest(engine: Engine, info: FileInfo, *, tolerant: bool, attributor: Attributor, settings: Settings,
            now: pd.Timestamp, mapping: council.Mapping | None, source: str, progress: Progress | None,
            sink: SinkFactory | None = None) -> IngestReport:
    """Read and store one file in one transaction, chunk by chunk (streaming, one thread)."""
    if info.kind in TABLE_KINDS:
        return _store(engine, info, source, None, None, tolerant=tolerant, settings=settings, now=now, progress=progress,
                      attributor=attributor)
    job = _point_job(info, tolerant=tolerant, mapping=mapping, source=source, settings=settings, now=now)
    return _store(engine, info, source, _live_chunks(job, attributor), None, tolerant=tolerant, settings=settings,
                  now=now, progress=progress, sink=sink(info) if sink is not None else None)


def _store(engine: Engine | Connection, info: FileInfo, source: str, chunks: Iterable[_Chunk] | None, stage: SQLiteStage | None,
           *, tolerant: bool, settings: Settings, now: pd.Timestamp, progress: Progress | None,
           sink: IncidentSink | None = None, attributor: Attributor | None = None) -> IngestReport:
    """The store side of one file: one transaction, a reconciled report.

    ``chunks`` is None for an MPS table (read here); a scratch ``stage`` is
    attached for the duration of the transaction.  With a ``sink``, the rows
    go to it (committed inside the transaction, removed if it fails).
    """
    report = IngestReport(str(info.path), info.kind, source, "complete", sha256=info.sha256)
    if info.kind in _WGS84_KINDS:
        from spatial.projection import bng_transformation

        report.transformation = bng_transformation().describe()
    if info.note:
        report.notes.append(info.note)
    with contextlib.ExitStack() as stack:
        conn = engine if isinstance(engine, Connection) else stack.enter_context(engine.connect())
        raw = conn.connection.driver_connection if stage is not None else None
        if raw is not None:
            raw.execute(f"ATTACH DATABASE ? AS {STAGE_SCHEMA}", (str(stage.path),))  # type: ignore[union-attr]
        try:
            with conn.begin():
                _store_in(conn, report, info, source, chunks, tolerant=tolerant, settings=settings, now=now,
                          progress=progress, sink=sink, attributor=attributor)
        except BaseException:
            if sink is not None:
                sink.abort()
            raise
        finally:
            if raw is not None:
                raw.execute(f"DETACH DATABASE {STAGE_SCHEMA}")
    return report


def _store_in(conn, report: IngestReport, info: FileInfo, source: str, chunks: Iterable[_Chunk] | None, *,
              tolerant: bool, settings: Settings, now: pd.Timestamp, progress: Progress | None,
              sink: IncidentSink | None = None, attributor: Attributor | None = None) -> None:
    res = conn.execute(insert(T.ingests).values(
        path=str(info.path), file_sha256=info.sha256, file_bytes=info.bytes, kind=info.kind, source=source,
        started_at=_now_iso(), status="running"))
    ingest_id = int(res.inserted_primary_key[0])
    report.ingest_id = ingest_id

    def handle_rejects(rejects: pd.DataFrame | StagedRows, n: int) -> None:
        report.quarantined += n
        insert_quarantine(conn, rejects, ingest_id=ingest_id, path=str(info.path), sha256=info.sha256)

    if chunks is None and info.kind in ("police-uk-outcomes", "police-uk-stop-search"):
        assert attributor is not None  # given by ingest_file and _store_prepared
        _store_archive_file(conn, report, info, ingest_id, attributor=attributor, settings=settings, now=now,
                            tolerant=tolerant, handle_rejects=handle_rejects, progress=progress)
    elif chunks is None:
        layout = mps.mps_layout(info.header, info.path)
        dataset = info.path.name.removesuffix(".gz").removesuffix(".csv")
        for chunk in read_chunks(info, settings.chunk_rows, tolerant=tolerant):
            long, rejects, n = mps.normalise_mps(chunk, layout, max_field_chars=settings.max_field_chars,
                                                 now_month=now.strftime("%Y-%m"))
            report.rows_read += n
            handle_rejects(rejects, len(rejects))
            new, old = insert_area_counts(conn, long, dataset=dataset, ingest_id=ingest_id)
            report.stored += new
            report.duplicates += old
            if progress:
                progress(n)
        zero_cols = _all_zero_months(conn, dataset)
        if zero_cols:
            report.notes.append(f"month(s) {', '.join(zero_cols)} are zero for every area: a known rolling-window artefact of MPS releases; do not use them")
    else:
        refreshed = 0
        for out in chunks:
            report.rows_read += out.read
            report.duplicates += out.duplicates
            report.outside += out.outside
            handle_rejects(out.rejects, out.quarantined)
            new = sink.add(out.rows) if sink is not None else insert_incidents(conn, out.rows, ingest_id)
            report.stored += new
            report.duplicates += out.kept - new
            if out.kept > new and sink is None and info.kind in _CRIME_KINDS:  # a re-released month
                from spatial.store.archive import refresh_outcomes

                refreshed += refresh_outcomes(conn, *_ids_and_outcomes(conn, out.rows, ingest_id))
            if progress:
                progress(out.read)
        if refreshed:
            report.notes.append(f"{refreshed:,} stored crime(s) took this release's Last outcome category")
    if report.rows_read == 0:
        report.notes.append("the file has a header but no data rows")
    if not report.reconciles:  # a bug, never bad data: refuse to commit
        msg = f"{info.path}: counts do not reconcile ({report.as_dict()}); nothing was stored"
        raise RuntimeError(msg)
    if sink is not None and sink.commit(conn, ingest_id) != report.stored:
        msg = f"{info.path}: the parquet parts do not hold the {report.stored} new rows; nothing was stored"
        raise RuntimeError(msg)
    conn.execute(update(T.ingests).where(T.ingests.c.ingest_id == ingest_id).values(
        finished_at=_now_iso(), status="complete", rows_read=report.rows_read, stored=report.stored,
        duplicates=report.duplicates, quarantined=report.quarantined, outside=report.outside,
        message="; ".join(report.notes) or None))


def _ids_and_outcomes(conn, rows: IncidentBatch | StagedRows, ingest_id: int):
    """``(incident ids, outcomes)`` of a chunk's canonical rows (read back from the stage if staged)."""
    import numpy as np

    if isinstance(rows, IncidentBatch):
        return rows.column(S.INCIDENT_ID), rows.column(S.OUTCOME)
    cur = conn.connection.driver_connection.execute(rows.select, (*rows.params, ingest_id))
    got = cur.fetchall()
    i, o = S.INCIDENT_COLUMNS.index(S.INCIDENT_ID), S.INCIDENT_COLUMNS.index(S.OUTCOME)
    return np.array([r[i] for r in got], dtype=object), np.array([r[o] for r in got], dtype=object)


def _store_archive_file(conn, report: IngestReport, info: FileInfo, ingest_id: int, *, attributor: Attributor,
                        settings: Settings, now: pd.Timestamp, tolerant: bool, handle_rejects,
                        progress: Progress | None) -> None:
    """An outcomes or stop-and-search file of a police.uk archive (:mod:`spatial.ingest.archive`)."""
    from spatial.store.archive import apply_latest_outcomes, insert_outcomes, insert_stop_searches

    ctx = RunContext(info=info, attributor=attributor, taxonomy=S.load_taxonomy(), now=now,
                     earliest=pd.Timestamp(settings.earliest_date, tz=S.LONDON_TZ),
                     max_field_chars=settings.max_field_chars, source=report.source,
                     kept_from=(retention_cutoff(settings.retention_months, now)
                                if settings.retention_months is not None else None))
    force = archive.force_of_file(info.path.name)
    seen: dict[str, int] = {}
    crimes: list[str] = []
    for chunk in read_chunks(info, settings.chunk_rows, tolerant=tolerant):
        if info.kind == "police-uk-outcomes":
            got = archive.normalise_outcomes(chunk, ctx)
            new = insert_outcomes(conn, got.rows, ingest_id)
            crimes.extend(got.rows["crime_id"].tolist())
        else:
            got = archive.normalise_stop_search(chunk, ctx, force=force, seen=seen)
            new = insert_stop_searches(conn, got.rows, ingest_id)
        report.rows_read += got.read
        report.outside += got.outside
        handle_rejects(got.rejects, len(got.rejects))
        report.stored += new
        report.duplicates += got.duplicates + len(got.rows) - new
        if progress:
            progress(got.read)
    if info.kind == "police-uk-outcomes":
        changed = apply_latest_outcomes(conn, crimes)
        report.notes.append(f"outcomes kept in the outcomes table; {changed:,} stored crime(s) now show the "
                            "outcome of their latest month")
    else:
        report.notes.append("stop and search stored as its own dataset (stop_searches), not as incidents")


def _all_zero_months(conn, dataset: str) -> list[str]:
    from sqlalchemy import func

    q = (select(T.area_counts.c.month).where(T.area_counts.c.dataset == dataset)
         .group_by(T.area_counts.c.month).having(func.sum(T.area_counts.c.count) == 0))
    return [r[0] for r in conn.execute(q)]


def _store_prepared(engine: Engine, conn: Connection, prep: _Prepared, *, attributor: Attributor,
                    settings: Settings, now: pd.Timestamp, mapping: council.Mapping | None,
                    progress: Progress | None) -> IngestReport:
    """The store side of a file prepared by the reading thread."""
    try:
        if prep.rejected is not None:
            return _reject(engine, prep.path, prep.kind, prep.source, *prep.rejected, prep.t0)
        info = prep.info
        assert info is not None
        try:
            if prep.chunks is None:  # MPS table: read and stored here, as ingest_file does
                report = _ingest_tolerant_retry(engine, info, attributor=attributor, settings=settings, now=now,
                                                mapping=mapping, source=prep.source, progress=progress)
            else:
                report = _store(conn, info, prep.source, prep.chunks, prep.stage, tolerant=False,
                                settings=settings, now=now, progress=progress)
                if prep.tolerant_note:
                    report.notes.append(prep.tolerant_note)
        except (IngestError, MappingError, HotspotError) as exc:
            return _reject(engine, prep.path, prep.kind, prep.source, str(exc), getattr(exc, "field", None), prep.t0)
        report.seconds = time.perf_counter() - prep.t0
        return report
    finally:
        _discard(prep)


def ingest_paths(engine: Engine, paths: list[str | Path], *, settings: Settings, now: pd.Timestamp,
                 mapping: council.Mapping | None = None, kind: str | None = None,
                 attributor: Attributor | None = None, progress: Progress | None = None) -> list[IngestReport]:
    """Ingest files and folders (police.uk archives are walked recursively).

    Each file is still one transaction, stored in order.  With SQLite and more
    than one file, the next files are read and staged on two threads while
    this one stores the current file (see the module docstring).
    """
    from .files import discover

    att = attributor or default_attributor(engine, settings)
    files = discover(paths)
    if engine.dialect.name != "sqlite" or len(files) < 2 or not PIPELINE:
        done: list[IngestReport] = []
        for p in files:
            with _store_failure(p, done):
                done.append(ingest_file(engine, p, attributor=att, settings=settings, now=now, mapping=mapping,
                                        kind=kind, progress=progress))
        return done
    return _pipelined(engine, files, attributor=att, settings=settings, now=now, mapping=mapping, kind=kind,
                      progress=progress)


class StoreWriteError(HotspotError):
    """A file could not be written to the store (a full disk, a lost database): which file, why, and
    the reports of the files stored before it (each file is one transaction, so they stand)."""

    def __init__(self, message: str, *, path: str, reports: list[IngestReport]) -> None:
        super().__init__(message)
        self.path = path
        self.reports = list(reports)


@contextlib.contextmanager
def _store_failure(path: Path | str, reports: list[IngestReport]) -> Iterator[None]:
    """Turn an OS or database error while storing ``path`` into :class:`StoreWriteError` (no traceback)."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except (OSError, SQLAlchemyError) as exc:
        reason = getattr(exc, "orig", None) or exc
        msg = (f"{path}: not stored ({type(reason).__name__}: {reason}); the file was rolled back, "
               f"{len(reports)} file(s) before it were stored. Free disk space (or fix the database) and "
               "ingest it again")
        raise StoreWriteError(msg, path=str(path), reports=reports) from exc


def _pipelined(engine: Engine, files: list[Path], *, attributor: Attributor, settings: Settings, now: pd.Timestamp,
               mapping: council.Mapping | None, kind: str | None, progress: Progress | None) -> list[IngestReport]:
    """Three stages, one thread each, one file apart: read ahead (inspect, decompress, parse: mostly
    outside Python's lock), prepare (validate, attribute, stage into a scratch file), store (this
    thread: attach the scratch file and move it in one transaction)."""
    stop = threading.Event()
    read_q: queue.Queue = queue.Queue(maxsize=1)
    ready: queue.Queue = queue.Queue(maxsize=1)
    failed: list[BaseException] = []
    done = object()
    dicts = Dictionaries()

    def put(q: queue.Queue, item: object) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        _discard(item)
        return False

    def get(q: queue.Queue) -> object:
        while True:
            try:
                return q.get(timeout=0.1)
            except queue.Empty:
                if stop.is_set():
                    return done

    def read_all() -> None:
        try:
            for p in files:
                if stop.is_set() or not put(read_q, _read(p, mapping=mapping, kind=kind, settings=settings)):
                    return
        except BaseException as exc:  # handed on to the store side, which raises it
            failed.append(exc)
        put(read_q, done)

    def prepare_all(tmp: Path) -> None:
        try:
            n = 0
            while (r := get(read_q)) is not done:
                prep = _prepare(r, n, mapping=mapping, kind=kind, source=None, settings=settings, now=now,  # type: ignore[arg-type]
                                attributor=attributor, stage_dir=tmp, stop=stop, dicts=dicts)
                n += 1
                if not put(ready, prep):
                    return
        except _Stopped:
            return
        except BaseException as exc:
            failed.append(exc)
        put(ready, done)

    with tempfile.TemporaryDirectory(prefix="hotspot-ingest-") as tmp, engine.connect() as conn:
        threads = [threading.Thread(target=read_all, name="hotspot-ingest-read", daemon=True),
                   threading.Thread(target=prepare_all, args=(Path(tmp),), name="hotspot-ingest-prepare", daemon=True)]
        for t in threads:
            t.start()
        reports: list[IngestReport] = []
        try:
            while (item := ready.get()) is not done:
                with _store_failure(item.path, reports):  # type: ignore[attr-defined]
                    reports.append(_store_prepared(engine, conn, item, attributor=attributor, settings=settings,  # type: ignore[arg-type]
                                                   now=now, mapping=mapping, progress=progress))
            if failed:
                raise failed[0]
        finally:
            stop.set()
            while any(t.is_alive() for t in threads) or not ready.empty() or not read_q.empty():
                for q in (ready, read_q):
                    try:
                        _discard(q.get(timeout=0.05))
                    except queue.Empty:
                        pass
            for t in threads:
                t.join()
            raw = conn.connection.driver_connection
            for table in dicts.tables():
                raw.execute(f'DROP TABLE IF EXISTS temp."{table}"')
    return reports



def ingest_paths_parquet(root: str | Path, paths: list[str | Path], *, settings: Settings, now: pd.Timestamp,
                         force: str | None = None, mapping: council.Mapping | None = None, kind: str | None = None,
                         attributor: Attributor | None = None, progress: Progress | None = None) -> list[IngestReport]:
    """Ingest files and folders into the partitioned GeoParquet store in folder ``root``.

    The same reading, validation, attribution, ids and report as
    :func:`ingest_paths`; canonical rows go to
    ``root/force=<slug>/month=YYYY-MM/`` parts, and the ingest records,
    quarantine and MPS tables to ``root/_ingest.sqlite``
    (:mod:`spatial.store.parquet`).  Files are stored one at a time, each
    completely or not at all.

    Parameters
    ----------
    force
        Partition slug for every file; by default taken from police.uk bulk
        file names (``YYYY-MM-<force>-street.csv``).  A file whose force cannot
        be told is rejected with a message saying so.
    """
    from spatial.store.parquet import ParquetStore, check_force, force_from_filename

    from .files import discover

    if force is not None:
        check_force(force)
    att = attributor or default_attributor(None, settings)
    store = ParquetStore.open(root)

    def sink(info: FileInfo) -> IncidentSink:
        slug = force or force_from_filename(info.path.name)
        if slug is None:
            msg = (f"{info.path}: cannot tell which force reported this file (police.uk bulk files are named "
                   "YYYY-MM-<force>-street.csv); give the force with --force, e.g. --force metropolitan")
            raise IngestError(msg, path=str(info.path))
        return store.writer(slug)

    try:
        return [ingest_file(store.engine, p, attributor=att, settings=settings, now=now, mapping=mapping, kind=kind,
                            progress=progress, sink=sink) for p in discover(paths)]
    finally:
        store.close()
