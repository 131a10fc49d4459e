"""Ingest orchestration: one file, one transaction, a reconciled report.

For every file: inspect (hash, encoding, header, kind), stream chunks through
the reader, write canonical rows and quarantined rows, and record the run in
``ingests``.  ``rows_read == stored + duplicates + quarantined`` always holds
for a completed file; a file that cannot be read at all is recorded as
rejected with one whole-file quarantine entry (row 0) and nothing stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
from sqlalchemy import Engine, insert, select, update

from spatial import schema as S
from spatial._errors import HotspotError, IngestError, MappingError
from spatial.config import Settings
from spatial.datasets import DEMO_BOROUGHS, load_lsoas, load_wards
from spatial.projection import AreaLayer, Attributor
from spatial.store import tables as T
from spatial.store.writer import insert_area_counts, insert_incidents, insert_quarantine

from . import council, mps
from .produce import PointJob, produce_point_chunks
from .files import FileInfo, _sha256, inspect_file
from .rows import TolerantParse, read_chunks

__all__ = ["IngestReport", "ingest_file", "ingest_paths", "default_attributor", "load_area_layers"]

Progress = Callable[[int], None]


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
    message: str | None = None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    ingest_id: int | None = None
    sha256: str | None = None

    @property
    def reconciles(self) -> bool:
        return self.rows_read == self.stored + self.duplicates + self.quarantined

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


def ingest_file(
    engine: Engine, path: str | Path, *, attributor: Attributor, settings: Settings, now: pd.Timestamp,
    mapping: council.Mapping | None = None, kind: str | None = None, source: str | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest one file in one transaction and return its reconciled report.

    Never raises for bad data: file-level problems give a ``rejected`` report
    with the reason, row-level problems are quarantined.
    """
    p = Path(path)
    t0 = time.perf_counter()
    src = source or (mapping.source if mapping else "police.uk")
    try:
        info = inspect_file(p, has_mapping=mapping is not None, kind=kind)  # type: ignore[arg-type]
        if info.kind == "vector" and mapping is None:
            msg = f"{p}: a GeoJSON/GeoPackage/GeoParquet layer needs a column-mapping file (--mapping) naming its category and date columns"
            raise IngestError(msg, path=str(p))
        if info.kind == "mps-wide":
            src = source or "mps-recorded-crime"
        report = _ingest_tolerant_retry(engine, info, attributor=attributor, settings=settings, now=now,
                                        mapping=mapping, source=src, progress=progress)
    except (IngestError, MappingError, HotspotError) as exc:
        sha, size = _sha_or_none(p)
        message = str(exc)
        fld = getattr(exc, "field", None)
        ingest_id = _record_rejected(engine, p, sha, size, kind or "unknown", src, message, fld)
        report = IngestReport(str(p), kind or "unknown", src, "rejected", message=message, ingest_id=ingest_id, sha256=sha)
    report.seconds = time.perf_counter() - t0
    return report


def _ingest_tolerant_retry(engine: Engine, info: FileInfo, **kw) -> IngestReport:
    try:
        return _ingest(engine, info, tolerant=False, **kw)
    except TolerantParse as exc:
        report = _ingest(engine, info, tolerant=True, **kw)
        report.notes.append(f"re-read with the tolerant CSV parser after: {exc}")
        return report


def _ingest(engine: Engine, info: FileInfo, *, tolerant: bool, attributor: Attributor, settings: Settings,
            now: pd.Timestamp, mapping: council.Mapping | None, source: str, progress: Progress | None) -> IngestReport:
    report = IngestReport(str(info.path), info.kind, source, "complete", sha256=info.sha256)
    if info.note:
        report.notes.append(info.note)
    earliest = pd.Timestamp(settings.earliest_date, tz=S.LONDON_TZ)
    with engine.begin() as conn:
        res = conn.execute(insert(T.ingests).values(
            path=str(info.path), file_sha256=info.sha256, file_bytes=info.bytes, kind=info.kind, source=source,
            started_at=_now_iso(), status="running"))
        ingest_id = int(res.inserted_primary_key[0])
        report.ingest_id = ingest_id

        def handle_rejects(rejects: pd.DataFrame) -> None:
            report.quarantined += len(rejects)
            insert_quarantine(conn, rejects, ingest_id=ingest_id, path=str(info.path), sha256=info.sha256)

        if info.kind == "mps-wide":
            layout = mps.mps_layout(info.header, info.path)
            dataset = info.path.name.removesuffix(".gz").removesuffix(".csv")
            for chunk in read_chunks(info, settings.chunk_rows, tolerant=tolerant):
                long, rejects, n = mps.normalise_mps(chunk, layout, max_field_chars=settings.max_field_chars,
                                                     now_month=now.strftime("%Y-%m"))
                report.rows_read += n
                handle_rejects(rejects)
                new, old = insert_area_counts(conn, long, dataset=dataset, ingest_id=ingest_id)
                report.stored += new
                report.duplicates += old
                if progress:
                    progress(n)
            zero_cols = _all_zero_months(conn, dataset)
            if zero_cols:
                report.notes.append(f"month(s) {', '.join(zero_cols)} are zero for every area: a known rolling-window artefact of MPS releases; do not use them")
        else:
            job = PointJob(info=info, mapping=mapping, source=source, now=now, earliest=earliest,
                           max_field_chars=settings.max_field_chars, chunk_rows=settings.chunk_rows,
                           tolerant=tolerant)
            for out in produce_point_chunks(job, attributor):
                report.rows_read += out.read
                report.duplicates += out.duplicates
                handle_rejects(out.rejects)
                new = insert_incidents(conn, out.rows, ingest_id, records=out.records)
                report.stored += new
                report.duplicates += len(out.records if out.records is not None else out.rows) - new
                if progress:
                    progress(out.read)
        if report.rows_read == 0:
            report.notes.append("the file has a header but no data rows")
        if not report.reconciles:  # a bug, never bad data: refuse to commit
            msg = f"{info.path}: counts do not reconcile ({report.as_dict()}); nothing was stored"
            raise RuntimeError(msg)
        conn.execute(update(T.ingests).where(T.ingests.c.ingest_id == ingest_id).values(
            finished_at=_now_iso(), status="complete", rows_read=report.rows_read, stored=report.stored,
            duplicates=report.duplicates, quarantined=report.quarantined,
            message="; ".join(report.notes) or None))
    return report


def _all_zero_months(conn, dataset: str) -> list[str]:
    from sqlalchemy import func

    q = (select(T.area_counts.c.month).where(T.area_counts.c.dataset == dataset)
         .group_by(T.area_counts.c.month).having(func.sum(T.area_counts.c.count) == 0))
    return [r[0] for r in conn.execute(q)]


def ingest_paths(engine: Engine, paths: list[str | Path], *, settings: Settings, now: pd.Timestamp,
                 mapping: council.Mapping | None = None, kind: str | None = None,
                 attributor: Attributor | None = None, progress: Progress | None = None) -> list[IngestReport]:
    """Ingest files and folders (police.uk archives are walked recursively)."""
    from .files import discover

    att = attributor or default_attributor(engine, settings)
    return [ingest_file(engine, p, attributor=att, settings=settings, now=now, mapping=mapping, kind=kind,
                        progress=progress) for p in discover(paths)]
