"""Turning one point-data file into a stream of validated, attributed chunks.

This is the CPU-heavy half of ingest (read, validate, project, attribute,
assign ids).  It has no database access: the pipeline writes what it yields.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import pandas as pd

from spatial import schema as S
from spatial._errors import IngestError
from spatial.projection import Attributor

from . import council, policeuk
from .context import ChunkResult, RunContext
from .files import FileInfo
from .rows import TolerantParse, read_chunks

__all__ = ["POINT_READERS", "PointJob", "PointReader", "produce_point_chunks", "read_ahead", "READ_AHEAD_BYTES"]


@dataclass(frozen=True)
class PointJob:
    """Everything needed to read one point-data file (picklable)."""

    info: FileInfo
    mapping: council.Mapping | None
    source: str
    now: pd.Timestamp
    earliest: pd.Timestamp
    max_field_chars: int
    chunk_rows: int
    tolerant: bool
    kept_from: str | None = None  # YYYY-MM: the retention period's first month (None: no limit)


def _street(chunk: pd.DataFrame, ctx: RunContext, mapping: council.Mapping | None, state: dict) -> ChunkResult:
    return policeuk.normalise_street(chunk, ctx)


def _api(chunk: pd.DataFrame, ctx: RunContext, mapping: council.Mapping | None, state: dict) -> ChunkResult:
    return policeuk.normalise_api(chunk, ctx)


def _council(chunk: pd.DataFrame, ctx: RunContext, mapping: council.Mapping | None, state: dict) -> ChunkResult:
    return council.normalise_council(chunk, ctx, mapping, state)  # type: ignore[arg-type]


@dataclass(frozen=True)
class PointReader:
    """How one kind of point file is read.

    ``chunks`` says where the raw chunks come from (``text``: the CSV reader,
    read ahead when small; ``api-json``: the police.uk API JSON; ``vector``: a
    GeoJSON/GeoPackage/GeoParquet layer), ``normalise(chunk, ctx, mapping,
    state)`` validates and attributes one chunk, and ``needs_mapping`` is the
    message shown when the file needs a column-mapping file and has none.
    """

    kind: str
    chunks: Literal["text", "api-json", "vector"]
    normalise: Callable[[pd.DataFrame, RunContext, council.Mapping | None, dict], ChunkResult]
    needs_mapping: str | None = None


#: The readers of point data, by the kind :func:`spatial.ingest.files.inspect_file` detects.  To add a
#: reader: detect its kind in ``files._classify``, add an entry here, and test it in tests/spatial/.
POINT_READERS: dict[str, PointReader] = {
    "police-uk-street": PointReader("police-uk-street", "text", _street),
    "police-uk-api": PointReader("police-uk-api", "text", _api),
    "police-uk-api-json": PointReader("police-uk-api-json", "api-json", _api),
    "council-csv": PointReader("council-csv", "text", _council,
                               "a council export needs a column-mapping file (--mapping)"),
    "vector": PointReader("vector", "vector", _council, "a vector layer needs a column-mapping file"),
}


def _require(columns: list[str], required: list[str], path: Path) -> None:
    missing = [c for c in required if c not in columns]
    if missing:
        msg = f"{path}: missing column(s) {missing} named in the mapping file; the file has {columns[:20]}"
        raise IngestError(msg, path=str(path), field=missing[0])


def produce_point_chunks(job: PointJob, attributor: Attributor,
                         raw_chunks: Iterable[pd.DataFrame] | None = None) -> Iterator[ChunkResult]:
    """Yield a :class:`ChunkResult` per chunk of ``job``'s file.

    ``raw_chunks`` are the file's text chunks when they were already read
    (:func:`read_ahead`); otherwise the file is read here.
    """
    info = job.info
    taxonomy = S.load_taxonomy()
    mapping = job.mapping
    if mapping is not None:
        taxonomy = taxonomy.with_aliases(mapping.category_values)
    ctx = RunContext(info=info, attributor=attributor, taxonomy=taxonomy, now=job.now, earliest=job.earliest,
                     max_field_chars=job.max_field_chars, source=job.source, kept_from=job.kept_from)
    reader = POINT_READERS.get(info.kind)
    if reader is None:
        msg = f"{info.path}: a {info.kind} file is not point data; point readers: {sorted(POINT_READERS)}"
        raise IngestError(msg, path=str(info.path))
    if reader.needs_mapping and mapping is None:
        msg = f"{info.path}: {reader.needs_mapping}"
        raise IngestError(msg, path=str(info.path))
    if reader.chunks == "vector":
        assert mapping is not None  # a vector reader needs a mapping (checked above)
        crs, columns, chunks = council.vector_chunks(info.path, job.chunk_rows)
        mapping = replace(mapping, x_column=council.XCOL, y_column=council.YCOL,
                          crs=mapping.crs if mapping.crs != "auto" else (crs or "auto"))
        _require(columns, mapping.required_columns(vector=True), info.path)
    elif reader.chunks == "api-json":
        chunks = policeuk.api_json_chunks(info.path, job.chunk_rows)
    else:
        chunks = raw_chunks if raw_chunks is not None else read_chunks(info, job.chunk_rows, tolerant=job.tolerant)
        if mapping is not None and reader.needs_mapping:
            _require(list(info.header), mapping.required_columns(vector=False), info.path)
    crs_state: dict = {}
    for chunk in chunks:
        yield reader.normalise(chunk, ctx, mapping, crs_state)


#: Largest file (decompressed) whose text chunks are read ahead into memory.
READ_AHEAD_BYTES = 64 << 20


def read_ahead(info: FileInfo, chunk_rows: int) -> list[pd.DataFrame] | TolerantParse | None:
    """All text chunks of a small CSV file, read now (the fast parser; Arrow does it without holding
    Python's lock, so another thread can do this while the previous file is processed).

    Returns ``None`` when the file is not read ahead (not a CSV, or too large to hold), or the
    :class:`TolerantParse` the fast parser raised (the file is then re-read tolerantly).
    """
    reader = POINT_READERS.get(info.kind)
    if reader is None or reader.chunks != "text":
        return None
    size = len(info.data) if info.data is not None else (info.bytes if not info.path.name.lower().endswith(".gz") else None)
    if size is None or size > READ_AHEAD_BYTES:
        return None
    try:
        return list(read_chunks(info, chunk_rows, tolerant=False))
    except TolerantParse as exc:
        return exc
