"""Looking at an input file before reading it: hash, encoding, header, kind.

Nothing here parses rows.  Problems that make the whole file unreadable raise
:class:`~spatial._errors.IngestError` naming the file (and the byte and line
where decoding failed).
"""

from __future__ import annotations

import builtins
import codecs
import csv
import gzip
import hashlib
import io
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from spatial._errors import IngestError
from spatial.config import (
    MAX_DECOMPRESSED_ENV,
    MAX_RATIO_ENV,
    MAX_ROWS_ENV,
    InputLimits,
)

__all__ = ["FileInfo", "inspect_file", "discover", "Kind", "VECTOR_SUFFIXES", "TABULAR_SUFFIXES"]

Kind = Literal["police-uk-street", "police-uk-outcomes", "police-uk-stop-search", "police-uk-api", "police-uk-api-json",
               "mps-wide", "council-csv", "vector"]

TABULAR_SUFFIXES = (".csv", ".csv.gz", ".txt")
VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".parquet", ".geoparquet")

_STREET = {"Crime ID", "Month", "Longitude", "Latitude", "Crime type"}
_API = {"persistent_id", "month", "category", "latitude", "longitude"}
#: police.uk archive files beside the street ones (https://data.police.uk/about/): outcomes and stop and search.
_OUTCOMES = {"Crime ID", "Month", "Longitude", "Latitude", "Outcome type"}
_STOP_SEARCH = {"Type", "Date", "Latitude", "Longitude", "Object of search", "Legislation"}
_MONTH_COL = re.compile(r"^\d{6}$")
_MPS_CODE = {"wardcode", "lsoa_code", "lsoacode"}


@dataclass(frozen=True)
class FileInfo:
    """What :func:`inspect_file` learnt about a file."""

    path: Path
    sha256: str
    bytes: int
    kind: Kind
    encoding: str | None = None
    header: tuple[str, ...] = ()
    note: str | None = None  # e.g. "not UTF-8: read as Windows-1252"
    #: The decompressed bytes of a small gzip file, kept from the encoding check so that
    #: the reader does not decompress it again (``None``: read from ``path``).
    data: builtins.bytes | None = field(default=None, repr=False, compare=False)  # `bytes` is a field here


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for s in TABULAR_SUFFIXES + VECTOR_SUFFIXES:
        if name.endswith(s):
            return s
    return path.suffix.lower()


def _open_bytes(path: Path, limits: InputLimits | None = None):
    """The file's bytes; a ``.gz`` is decompressed as a stream within ``limits`` (:class:`GuardedGzip`)."""
    if path.name.lower().endswith(".gz"):
        return io.BufferedReader(GuardedGzip(path, limits or InputLimits.from_env()), buffer_size=1 << 20)
    return open(path, "rb")


#: The compression ratio is checked once this much has been decompressed (tiny files may compress well).
RATIO_FLOOR_BYTES = 1 << 20


def _limit_error(path: Path, out: int, used: int, limits: InputLimits) -> IngestError | None:
    """The refusal of a gzip stream that has given ``out`` bytes from ``used`` compressed ones, else None."""
    if out > limits.max_decompressed_bytes:
        msg = (f"{path}: refused: decompresses to more than {limits.max_decompressed_bytes:,} bytes "
               f"(from {used:,} compressed bytes read so far); a gzip bomb or a file too big for one ingest. "
               f"Split it, or raise {MAX_DECOMPRESSED_ENV}")
        return IngestError(msg, path=str(path))
    if out > RATIO_FLOOR_BYTES and out > limits.max_compression_ratio * max(used, 1):
        msg = (f"{path}: refused: compression ratio above {limits.max_compression_ratio:g} "
               f"({out:,} bytes from {used:,} compressed bytes); a gzip bomb, not a CSV export. "
               f"If the file is genuine, raise {MAX_RATIO_ENV}")
        return IngestError(msg, path=str(path))
    return None


class GuardedGzip(io.RawIOBase):
    """A gzip file decompressed as a stream, refusing (:class:`IngestError`) past the ``limits``.

    Memory stays at one compressed block plus one output block whatever the file
    holds; several gzip members follow each other as ``gzip.open`` reads them.
    """

    def __init__(self, path: Path, limits: InputLimits, *, block: int = 1 << 16) -> None:
        self._path, self._limits, self._block = path, limits, block
        self._fh = open(path, "rb")
        self._dec = zlib.decompressobj(wbits=31)
        self._pending = b""
        self._out = 0
        self._used = 0
        self._done = False

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if not self.closed:
            self._fh.close()
        super().close()

    def readinto(self, b) -> int:
        n = len(b)
        while not self._done:
            if self._dec.unconsumed_tail:
                src = self._dec.unconsumed_tail
            else:
                if self._dec.eof:
                    rest = self._dec.unused_data.lstrip(b"\x00")
                    if not rest:
                        rest = self._fh.read(self._block)
                        self._used += len(rest)
                        rest = rest.lstrip(b"\x00")
                        if not rest:
                            self._done = True
                            return 0
                    self._dec = zlib.decompressobj(wbits=31)
                    src = rest
                else:
                    src = self._fh.read(self._block)
                    self._used += len(src)
                    if not src:
                        msg = "Compressed file ended before the end-of-stream marker was reached"
                        raise EOFError(msg)
            try:
                data = self._dec.decompress(src, n)
            except zlib.error as exc:
                raise gzip.BadGzipFile(f"not a gzip file or a damaged one ({exc})") from exc
            if data:
                self._out += len(data)
                err = _limit_error(self._path, self._out, self._used, self._limits)
                if err is not None:
                    raise err
                b[: len(data)] = data
                return len(data)
        return 0


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _check_rows(path: Path, lines: int, limits: InputLimits) -> None:
    """Refuse a file of more than ``limits.max_rows`` data lines (the header is not counted)."""
    if lines - 1 > limits.max_rows:
        msg = (f"{path}: refused: more than {limits.max_rows:,} rows in one file (line {lines:,} reached); "
               f"split the file, or raise {MAX_ROWS_ENV}")
        raise IngestError(msg, path=str(path))


def _check_decodes(path: Path, encoding: str, limits: InputLimits | None = None) -> tuple[int, int] | None:
    """Return ``(byte offset, line)`` of the first undecodable byte, or ``None``.

    Also refuses a file past the row cap or (gzip) the decompression caps of ``limits``.
    """
    limits = limits or InputLimits.from_env()
    dec = codecs.getincrementaldecoder(encoding)()
    offset = 0
    lines = 1
    try:
        with _open_bytes(path, limits) as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                try:
                    dec.decode(block)
                except UnicodeDecodeError as exc:
                    return offset + exc.start, lines + block[: exc.start].count(b"\n")
                offset += len(block)
                lines += block.count(b"\n")
                _check_rows(path, lines - (1 if block.endswith(b"\n") else 0), limits)
            dec.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        return offset + exc.start, lines
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        msg = f"{path}: cannot read the file ({exc})"
        raise IngestError(msg, path=str(path)) from exc
    return None


#: Largest decompressed gzip file kept in memory between the encoding check and the reader.
KEEP_DECOMPRESSED = 64 << 20


def _small_gzip(path: Path, limits: InputLimits | None = None) -> bytes | None:
    """The decompressed content of a gzip file of at most :data:`KEEP_DECOMPRESSED` bytes, else ``None``.

    Refuses (:class:`IngestError`) past the ratio, size and row caps of ``limits``.
    """
    if not path.name.lower().endswith(".gz"):
        return None
    limits = limits or InputLimits.from_env()
    if path.stat().st_size > KEEP_DECOMPRESSED:
        return None
    try:
        raw = path.read_bytes()
        total = len(raw)
        parts: list[bytes] = []
        size = 0
        step = 1 << 20
        while raw:  # one gzip member after another, as gzip.open reads them
            dec = zlib.decompressobj(wbits=31)
            src = raw
            while True:  # in 1 MiB steps, so that a bomb is refused before it fills memory
                parts.append(dec.decompress(src, step))
                size += len(parts[-1])
                used = total - len(dec.unconsumed_tail) - (len(dec.unused_data) if dec.eof else 0)
                err = _limit_error(path, size, used, limits)
                if err is not None:
                    raise err
                if size > KEEP_DECOMPRESSED:
                    return None
                if dec.eof or not dec.unconsumed_tail:
                    break
                src = dec.unconsumed_tail
            if not dec.eof:
                return None
            raw = dec.unused_data.lstrip(b"\x00")
            total = len(raw) + (total - len(dec.unused_data))  # bytes of the file before the rest
    except (OSError, zlib.error):
        return None  # the streaming check below reports it
    data = b"".join(parts)
    _check_rows(path, data.count(b"\n") + (0 if data.endswith(b"\n") else 1), limits)
    return data


def _detect_encoding(path: Path, limits: InputLimits | None = None) -> tuple[str, str | None, bytes | None]:
    data = _small_gzip(path, limits)
    if data is not None and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            data.decode("utf-8-sig")
        except UnicodeDecodeError:
            pass  # the streaming checks below give the same answer and the place of the first bad byte
        else:
            return "utf-8-sig", ("UTF-8 byte-order mark removed" if data.startswith(codecs.BOM_UTF8) else None), data
    enc, note = _detect_encoding_streaming(path, limits)
    return enc, note, None


def _detect_encoding_streaming(path: Path, limits: InputLimits | None = None) -> tuple[str, str | None]:
    with _open_bytes(path, limits) as fh:
        try:
            head = fh.read(4)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            msg = f"{path}: cannot read the file ({exc})"
            raise IngestError(msg, path=str(path)) from exc
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        bad = _check_decodes(path, "utf-16", limits)
        if bad is None:
            return "utf-16", "UTF-16 with byte-order mark"
    bad = _check_decodes(path, "utf-8-sig", limits)
    if bad is None:
        return "utf-8-sig", ("UTF-8 byte-order mark removed" if head.startswith(codecs.BOM_UTF8) else None)
    if _check_decodes(path, "cp1252", limits) is None:
        return "cp1252", (f"not UTF-8 (first bad byte at offset {bad[0]}, line {bad[1]}): read as Windows-1252")
    msg = (f"{path}: line {bad[1]} (byte {bad[0]}) is neither UTF-8 nor Windows-1252 text; "
           "save the file as UTF-8 CSV and ingest it again")
    raise IngestError(msg, path=str(path))


def _read_header(path: Path, encoding: str, limits: InputLimits | None = None) -> tuple[str, ...]:
    with _open_bytes(path, limits) as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        try:
            first = next(csv.reader(text), None)
        except csv.Error as exc:
            msg = f"{path}: the header line cannot be read as CSV ({exc})"
            raise IngestError(msg, path=str(path)) from exc
    if not first or all(not c.strip() for c in first):
        msg = f"{path}: the file has no header line (first line is empty)"
        raise IngestError(msg, path=str(path))
    return tuple(c.strip() for c in first)


def _classify(header: tuple[str, ...], has_mapping: bool) -> Kind | None:
    cols = set(header)
    if has_mapping:
        return "council-csv"
    if _STREET <= cols:
        return "police-uk-street"
    if _OUTCOMES <= cols and "Crime type" not in cols:
        return "police-uk-outcomes"
    if _STOP_SEARCH <= cols:
        return "police-uk-stop-search"
    if _API <= cols:
        return "police-uk-api"
    if any(_MONTH_COL.match(c) for c in header) and {c.lower() for c in header} & _MPS_CODE:
        return "mps-wide"
    return None


def inspect_file(path: str | Path, *, has_mapping: bool = False, kind: Kind | None = None,
                 limits: InputLimits | None = None) -> FileInfo:
    """Hash, size, encoding, header and kind of ``path``.

    ``limits`` (default :meth:`InputLimits.from_env`) caps a gzip's decompressed
    size and ratio and every CSV's rows; the file is read as a stream to check them.

    Raises
    ------
    IngestError
        If the file is missing, empty, undecodable, of no recognised kind, or past a limit.
    """
    limits = limits or InputLimits.from_env()
    p = Path(path)
    if not p.is_file():
        msg = f"{p}: no such file"
        raise IngestError(msg, path=str(p))
    size = p.stat().st_size
    if size == 0:
        msg = f"{p}: the file is empty (0 bytes); nothing to ingest"
        raise IngestError(msg, path=str(p))
    sha = _sha256(p)
    suffix = _suffix(p)
    if suffix == ".json" and kind != "vector":
        with open(p, "rb") as fh:
            start = fh.read(4096).lstrip(codecs.BOM_UTF8 + b" \t\r\n")
        if start.startswith(b"["):
            return FileInfo(p, sha, size, "police-uk-api-json", "utf-8-sig")
    if suffix in VECTOR_SUFFIXES:
        return FileInfo(p, sha, size, "vector")
    encoding, note, data = _detect_encoding(p, limits)
    header = _read_header(p, encoding, limits)
    found = kind or _classify(header, has_mapping)
    if found is None:
        cols = set(header)
        for name, required in (("police.uk street-level CSV", _STREET), ("police.uk API CSV", _API)):
            present = required & cols
            if len(present) >= 3:
                missing = sorted(required - cols)
                msg = (f"{p}: looks like a {name} but is missing required column(s) {missing}; "
                       f"the header has {list(header)}")
                raise IngestError(msg, path=str(p), field=missing[0])
    if found is None:
        msg = (f"{p}: not a recognised format. Columns are {list(header)[:15]}. "
               "police.uk street CSVs need Crime ID, Month, Longitude, Latitude, Crime type; "
               "outcomes CSVs Crime ID, Month, Longitude, Latitude, Outcome type; "
               "stop-and-search CSVs Type, Date, Latitude, Longitude, Legislation, Object of search; "
               "police.uk API CSVs need persistent_id, month, category, latitude, longitude; "
               "for a council export give a column-mapping file with --mapping")
        raise IngestError(msg, path=str(p))
    needed = {"police-uk-street": _STREET | {"Location", "Last outcome category"},
              "police-uk-outcomes": _OUTCOMES, "police-uk-stop-search": _STOP_SEARCH,
              "police-uk-api": _API}.get(found, set())
    missing = sorted(needed - set(header))
    if missing:
        msg = f"{p}: missing required column(s) {missing} for a {found} file; the header has {list(header)}"
        raise IngestError(msg, path=str(p), field=missing[0])
    dupes = sorted({c for c in header if header.count(c) > 1})
    if dupes:
        msg = f"{p}: the header repeats column(s) {dupes}; each column name must be unique"
        raise IngestError(msg, path=str(p), field=dupes[0])
    return FileInfo(p, sha, size, found, encoding, header, note, data)


def _archive_order(path: Path) -> tuple[str, int, str]:
    """Sort key of a folder's files: by folder, and in a police.uk month folder the street file before its
    outcomes and stop-and-search files (so outcomes find the crimes they update)."""
    name = path.name.lower()
    rank = 1 if "-outcomes.csv" in name else 2 if "-stop-and-search.csv" in name else 0
    return (str(path.parent), rank, path.name)


def discover(paths: list[str | Path]) -> list[Path]:
    """Expand files and folders (recursively, e.g. police.uk ``YYYY-MM/`` archives) to input files.

    Folders yield CSV, CSV.GZ and vector files in sorted order (in a police.uk month folder the street
    file first, then its outcomes and stop-and-search files); explicitly named
    files are kept whatever their suffix.

    Raises
    ------
    IngestError
        If a path does not exist or a folder holds no input file.
    """
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted((f for f in p.rglob("*") if f.is_file() and _suffix(f) in TABULAR_SUFFIXES + VECTOR_SUFFIXES
                            and not f.name.endswith((".mapping.yaml", ".yaml"))), key=_archive_order)
            if not found:
                msg = f"{p}: the folder holds no CSV, CSV.GZ, GeoJSON, GeoPackage or GeoParquet file"
                raise IngestError(msg, path=str(p))
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            msg = f"{p}: no such file or folder"
            raise IngestError(msg, path=str(p))
    return out
