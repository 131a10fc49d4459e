"""Row-level building blocks shared by the readers.

A reader turns a chunk of raw text columns into a canonical incident frame
plus a frame of rejected rows.  Every row leaves as exactly one of: a canonical
row, a within-file duplicate, or a reject (``row_number``, ``field``,
``reason``, ``raw``), so the counts reconcile by construction.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.api.types import infer_dtype

from spatial import schema as S
from spatial._errors import CRSError
from spatial.projection import (
    Attributor,
    in_range_mask,
    swapped_lonlat_mask,
    to_bng,
    to_wgs84,
)

from .files import FileInfo, _open_bytes

__all__ = [
    "ROW", "BAD", "Rejects", "read_chunks", "TolerantParse", "IdAssigner", "place_points",
    "month_interval", "RAW_LIMIT", "by_value", "arrow_strings",
]

ROW = "_row"   # 1-based data row number in the file
BAD = "_bad"   # reason a row is structurally malformed, else ""
RAW_LIMIT = 500


class TolerantParse(Exception):
    """The fast parser hit a structurally broken row; re-read with the tolerant one."""


class Rejects:
    """Collects rejected rows of one chunk; a row keeps the first reason given."""

    def __init__(self, chunk: pd.DataFrame, as_read: Callable[[], pd.DataFrame] | None = None) -> None:
        # ``as_read`` gives the rows the ``raw`` text is taken from, when that is not ``chunk`` itself
        self._chunk = chunk
        self._as_read = as_read
        n = len(chunk)
        self.mask = np.zeros(n, dtype=bool)
        self.field = np.full(n, None, dtype=object)
        self.reason = np.full(n, None, dtype=object)
        self.withhold = np.zeros(n, dtype=bool)
        #: Rows outside the area of interest: not bad input, so counted but never quarantined (no text kept).
        self.outside = np.zeros(n, dtype=bool)

    def add_outside(self, mask: np.ndarray | pd.Series) -> None:
        """Mark the rows of ``mask`` not rejected yet as outside the area (counted, not quarantined)."""
        m = np.asarray(mask, dtype=bool) & ~self.mask
        self.outside |= m
        self.mask |= m

    @property
    def n_outside(self) -> int:
        return int(self.outside.sum())

    def add(self, mask: np.ndarray | pd.Series, field_name: str, reason: str | pd.Series | np.ndarray, *,
            withhold_raw: bool = False) -> None:
        """Reject the rows of ``mask`` not rejected yet; ``withhold_raw``: keep no copy of their text."""
        m = np.asarray(mask, dtype=bool) & ~self.mask
        if not m.any():
            return
        self.field[m] = field_name
        self.withhold[m] = withhold_raw
        if isinstance(reason, str):
            self.reason[m] = reason
        else:
            self.reason[m] = np.asarray(reason, dtype=object)[m]
        self.mask |= m

    def frame(self) -> pd.DataFrame:
        """The quarantined rows (not those outside the area): ``row_number, field, reason, raw``."""
        quarantined = self.mask & ~self.outside
        if not quarantined.any():
            return pd.DataFrame({"row_number": np.empty(0, dtype=np.int64), "field": np.empty(0, dtype=object),
                                 "reason": np.empty(0, dtype=object), "raw": np.empty(0, dtype=object)})
        rows = (self._as_read() if self._as_read is not None else self._chunk)[quarantined]
        data_cols = [c for c in rows.columns if not c.startswith("_")]
        # cut each field before joining, so a 50 MB field is never copied whole
        cut = rows[data_cols].astype(str).apply(lambda col: col.str.slice(0, RAW_LIMIT))
        raw = (cut.agg(",".join, axis=1).str.slice(0, RAW_LIMIT).str.replace("\x00", "\\0", regex=False)
               if len(rows) else pd.Series([], dtype=object))
        return pd.DataFrame({
            "row_number": rows[ROW].to_numpy(dtype=np.int64),
            "field": self.field[quarantined],
            "reason": self.reason[quarantined],
            "raw": np.where(self.withhold[quarantined], None, raw.to_numpy(dtype=object)),
        })


_STR = pd.StringDtype("pyarrow", na_value=np.nan)


def _fast_chunks(info: FileInfo, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """Stream with Arrow's multi-threaded CSV reader (gzip handled by Arrow)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = list(info.header)
    enc = info.encoding or "utf-8-sig"
    read_opts = pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=8 << 20,
                                  encoding="utf8" if enc in ("utf-8-sig", "utf-8") else enc)
    parse_opts = pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=True)
    conv_opts = pacsv.ConvertOptions(column_types={c: pa.string() for c in names},
                                     strings_can_be_null=False, quoted_strings_can_be_null=False)
    start = 1
    pending: list = []
    pending_rows = 0

    def emit(batches) -> pd.DataFrame:
        nonlocal start
        table = pa.Table.from_batches(batches)
        df = table.to_pandas(types_mapper={pa.string(): _STR}.get)
        df[ROW] = np.arange(start, start + len(df), dtype=np.int64)
        df[BAD] = ""
        start += len(df)
        return df

    try:
        stream = (pa.BufferReader(info.data) if info.data is not None
                  else pa.input_stream(str(info.path), compression="detect"))
        reader = pacsv.open_csv(stream, read_options=read_opts, parse_options=parse_opts, convert_options=conv_opts)
        for batch in reader:
            pending.append(batch)
            pending_rows += batch.num_rows
            while pending_rows >= chunk_rows:
                table = pa.Table.from_batches(pending)
                head, rest = table.slice(0, chunk_rows), table.slice(chunk_rows)
                yield emit(head.to_batches())
                pending = rest.to_batches()
                pending_rows = rest.num_rows
        if pending_rows:
            yield emit(pending)
    except (pa.ArrowInvalid, pa.ArrowException) as exc:
        raise TolerantParse(str(exc).splitlines()[0]) from exc


def _tolerant_chunks(info: FileInfo, chunk_rows: int) -> Iterator[pd.DataFrame]:
    ncols = len(info.header)
    csv.field_size_limit(sys.maxsize)
    with _open_bytes(info.path) as raw:
        text = io.TextIOWrapper(raw, encoding=info.encoding, newline="", errors="strict")
        reader = csv.reader(text)
        next(reader, None)  # header
        buf: list[list[str]] = []
        bad: list[str] = []
        rownums: list[int] = []
        n = 0
        while True:
            try:
                rec = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                n += 1
                buf.append([""] * ncols)
                bad.append(f"unreadable CSV record ({exc})")
                rownums.append(n)
                break
            if not rec:
                continue  # blank line, as the fast parser skips it
            n += 1
            if len(rec) != ncols:
                bad.append(f"row has {len(rec)} fields; the header has {ncols}")
                rec = (rec + [""] * ncols)[:ncols]
            else:
                bad.append("")
            buf.append(rec)
            rownums.append(n)
            if len(buf) >= chunk_rows:
                yield _frame(buf, bad, rownums, info.header)
                buf, bad, rownums = [], [], []
        if buf:
            yield _frame(buf, bad, rownums, info.header)


def _frame(buf, bad, rownums, header) -> pd.DataFrame:
    df = pd.DataFrame(buf, columns=list(header), dtype=object)
    df[ROW] = np.asarray(rownums, dtype=np.int64)
    df[BAD] = bad
    return df


def read_chunks(info: FileInfo, chunk_rows: int, *, tolerant: bool) -> Iterator[pd.DataFrame]:
    """Yield chunks of raw text columns plus ``_row`` and ``_bad``.

    The fast path is pandas' C parser; when it meets a structurally broken
    record it raises :class:`TolerantParse` and the caller re-reads the file
    with the tolerant csv-module parser, which quarantines such rows.
    """
    return _tolerant_chunks(info, chunk_rows) if tolerant else _fast_chunks(info, chunk_rows)


def arrow_strings(values: pd.Series) -> pa.ChunkedArray | None:
    """The Arrow string data behind a pandas Arrow string column (no copy), else ``None``."""
    arr = values.array
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        data = arr.__arrow_array__()
        return data if isinstance(data, pa.ChunkedArray) else pa.chunked_array([data])
    return None


def _clean(data: pa.ChunkedArray, max_chars: int) -> bool:
    """True if no value has a NUL character or more than ``max_chars`` bytes (so none is over-long)."""
    if data.null_count:
        return False
    for chunk in data.chunks:
        if len(chunk) == 0:
            continue
        offsets_buf, data_buf = chunk.buffers()[1:3]
        width = 8 if pa.types.is_large_string(chunk.type) else 4
        offsets = np.frombuffer(offsets_buf, dtype=np.int64 if width == 8 else np.int32)[chunk.offset:chunk.offset + len(chunk) + 1]
        if data_buf is not None and offsets[-1] > offsets[0]:
            if np.frombuffer(data_buf, dtype=np.uint8)[offsets[0]:offsets[-1]].min() == 0:
                return False
        if int(np.diff(offsets).max()) > max_chars:
            return False
    return True


#: Unicode bidirectional controls (embeddings, overrides, isolates, marks): a location name holding them could
#: reorder what a page or a pack shows ("Trojan Source").  They are removed from every text field at ingest.
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
_BIDI_RE = "[" + BIDI_CONTROLS + "]"


def _joined_strings(values: np.ndarray) -> str | None:
    """Every value joined into one string when every value is a string (``""`` for none), else ``None``.

    A column held as Python strings is checked on this one string in C instead of value by value.
    """
    if len(values) == 0:
        return ""
    return "".join(values) if infer_dtype(values, skipna=False) == "string" else None


def _no_bidi_objects(values: np.ndarray) -> bool:
    """True if every value is a string and none holds a bidi control character."""
    text = _joined_strings(values)
    return text is not None and re.search(_BIDI_RE, text) is None


def strip_bidi_controls(chunk: pd.DataFrame) -> int:
    """Remove :data:`BIDI_CONTROLS` from every text column of ``chunk`` in place; return the cells changed.

    The count is added to ``chunk.attrs["bidi_stripped"]`` (the normalisation is recorded, not silent).

    Examples
    --------
    >>> df = pd.DataFrame({"Location": ["On or near \u202eteerts", "Plain"]}, dtype="string[pyarrow]")
    >>> strip_bidi_controls(df), df["Location"].tolist()
    (1, ['On or near teerts', 'Plain'])
    """
    import pyarrow.compute as pc

    changed = 0
    for col in chunk.columns:
        if col.startswith("_"):
            continue
        s = chunk[col]
        data = arrow_strings(s)
        if data is not None:
            hit = pc.match_substring_regex(data, _BIDI_RE)
            n = int(pc.sum(hit).as_py() or 0)
            if n:
                chunk[col] = pd.Series(pd.arrays.ArrowStringArray(pc.replace_substring_regex(data, _BIDI_RE, "")),
                                       index=chunk.index)
        elif s.dtype == object and _no_bidi_objects(s.to_numpy(dtype=object)):
            n = 0  # Python strings without a bidi control (the common case, decided on one joined string)
        elif s.dtype == object or isinstance(s.dtype, pd.StringDtype):
            hit = s.astype("string").str.contains(_BIDI_RE, regex=True).fillna(False).to_numpy(dtype=bool)
            n = int(hit.sum())
            if n:
                chunk[col] = s.where(~hit, s.astype("string").str.replace(_BIDI_RE, "", regex=True))
        else:
            n = 0
        changed += n
    chunk.attrs["bidi_stripped"] = chunk.attrs.get("bidi_stripped", 0) + changed
    return changed


def _clean_objects(values: np.ndarray, max_chars: int) -> bool:
    """True if every value is a string with no NUL character and at most ``max_chars`` characters."""
    text = _joined_strings(values)
    return text is not None and (not text or (max(map(len, values)) <= max_chars and "\x00" not in text))


def check_common(chunk: pd.DataFrame, rej: Rejects, *, max_field_chars: int) -> None:
    """Reject malformed rows and rows with an over-long field; strip bidi controls (:func:`strip_bidi_controls`)."""
    strip_bidi_controls(chunk)
    bad = chunk[BAD].to_numpy(dtype=object)
    if (bad != "").any():
        rej.add(bad != "", "(row)", bad)
    for col in chunk.columns:
        if col.startswith("_"):
            continue
        data = arrow_strings(chunk[col])
        if data is not None and _clean(data, max_field_chars):
            continue  # the common case, decided from the Arrow buffers; same outcome as the checks below
        if data is None and _clean_objects(chunk[col].to_numpy(dtype=object), max_field_chars):
            continue  # text held as Python strings (the API CSV's tolerant reader): same outcome, in C
        nul = chunk[col].str.contains("\x00", regex=False).to_numpy(dtype=bool)
        if nul.any():
            rej.add(nul, col, f"{col} contains a NUL character (binary data in a text file)")
        lengths = chunk[col].str.len().to_numpy()
        long_ = lengths > max_field_chars
        if long_.any():
            reasons = np.array([f"{col} is {int(v):,} characters long; the limit is {max_field_chars:,}"
                                for v in lengths], dtype=object)
            rej.add(long_, col, reasons)


#: Longest source id accepted (police.uk Crime IDs are 64 characters).
MAX_ID_CHARS = 100


def check_id_length(ids: np.ndarray, rej: Rejects, field_name: str) -> None:
    """Reject ids longer than :data:`MAX_ID_CHARS` (they cannot be stored as keys)."""
    ids = np.asarray(ids, dtype=object)
    if len(ids) == 0 or (infer_dtype(ids, skipna=False) == "string" and max(map(len, ids)) <= MAX_ID_CHARS):
        return  # the common case (same outcome as below)
    lengths = pd.Series(ids, dtype=object).str.len().fillna(0).to_numpy()
    long_ = lengths > MAX_ID_CHARS
    if long_.any():
        rej.add(long_, field_name, np.array([f"{field_name} is {int(n):,} characters long; the limit is {MAX_ID_CHARS}"
                                             for n in lengths], dtype=object))


def parse_float(values: pd.Series) -> np.ndarray:
    """Numbers from text; NaN where empty or not a number."""
    return by_value(values, lambda u: pd.to_numeric(u.str.strip(), errors="coerce").to_numpy(dtype=float))


def by_value(values: pd.Series, fn) -> np.ndarray:
    """``fn(values)`` for an element-wise ``fn``, computed once per distinct value.

    police.uk repeats most values (a third as many map points as crimes, one
    month per file, 14 categories), so this is where most of the per-row work
    is saved.  ``fn`` receives a Series of the distinct values with the same
    dtype and returns one result per value.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    out = np.asarray(fn(pd.Series(uniques, dtype=values.dtype)))
    return out[codes]


def _resolve(content) -> pd.DataFrame:
    return content() if callable(content) else content


@dataclass
class IdAssigner:
    """Stable incident ids for one file, and within-file duplicates.

    Rows with a source id (police.uk Crime ID / ``persistent_id``) use it.  A
    second row with the same id and category is a duplicate (police.uk lists
    some crimes once per outcome); one with a different category becomes
    ``<id>/<category>`` (a crime recorded under two categories).  Rows without
    an id get a hash of source and row content plus the occurrence number of
    that content in the file, so identical anonymised rows (many ASB reports at
    one snap point in one month) stay distinct and re-ingesting is idempotent.

    ``content`` (the file's data columns, used only for rows without an id)
    may be given as a callable, so that it is built only when needed.
    """

    source: str
    _ids: set[str] = field(default_factory=set)
    _pairs: set[str] = field(default_factory=set)
    _content: dict[str, int] = field(default_factory=dict)
    #: (ids, categories) of earlier chunks not yet added to ``_ids``/``_pairs``.
    _pending: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)

    def assign_valid(self, ids: np.ndarray, categories: np.ndarray, content,
                     valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Like :meth:`assign`, but rows not ``valid`` (quarantined) neither get an id nor claim one."""
        out = np.full(len(ids), None, dtype=object)
        dup = np.zeros(len(ids), dtype=bool)
        if valid.any():
            idx = np.flatnonzero(valid)
            o, d = self.assign(np.asarray(ids, dtype=object)[idx], np.asarray(categories, dtype=object)[idx],
                               lambda: _resolve(content).iloc[idx])
            out[idx] = o
            dup[idx] = d
        return out, dup

    def _flush(self) -> None:
        for sid, cats in self._pending:
            self._ids.update(sid.tolist())
            self._pairs.update((pd.Series(sid, dtype=object) + "\x1f" + pd.Series(cats, dtype=object)).tolist())
        self._pending.clear()

    def assign(self, ids: np.ndarray, categories: np.ndarray, content) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(incident_id, is_duplicate)`` for rows in file order."""
        ids = np.asarray(ids, dtype=object)
        cats = np.asarray(categories, dtype=object)
        n = len(ids)
        out = np.empty(n, dtype=object)
        dup = np.zeros(n, dtype=bool)
        has = ids != ""
        if has.any():
            idx = np.flatnonzero(has)
            sid, cat = ids[idx], cats[idx]
            if not (infer_dtype(sid, skipna=False) == "string"
                    and all(isinstance(v, str) and "\x1f" not in v for v in pd.unique(cat))):
                self._assign_with_pairs(sid, cat, out, dup, idx)
            else:
                # (id, category) pairs by dictionary codes: with categories free of the separator, the
                # same as comparing the "id\x1fcategory" strings
                self._flush()
                sc = pd.factorize(sid)[0].astype(np.int64)
                cc, cu = pd.factorize(cat)
                pair = sc * len(cu) + cc
                seen_id = pd.Series(sid).isin(self._ids).to_numpy() if self._ids else np.zeros(len(idx), bool)
                seen_pair = ((pd.Series(sid) + "\x1f" + pd.Series(cat)).isin(self._pairs).to_numpy() if self._pairs
                             else np.zeros(len(idx), bool))
                is_dup = _duplicated(pair) | seen_pair
                second_cat = ~is_dup & (_duplicated(sc) | seen_id)
                vals = sid.copy()
                if second_cat.any():
                    vals[second_cat] = [f"{a}/{b}" for a, b in zip(sid[second_cat], cat[second_cat])]
                out[idx] = vals
                dup[idx] = is_dup
                self._pending.append((sid, cat))
        if (~has).any():
            idx = np.flatnonzero(~has)
            joined = _joined_rows(_resolve(content), idx)
            prefix = f"{self.source}\x1e"
            hashes = pd.Series([hashlib.sha1((prefix + j).encode()).hexdigest()[:32] for j in joined])
            occ = hashes.groupby(hashes, sort=False).cumcount().to_numpy()
            if self._content:
                occ = occ + hashes.map(self._content).fillna(0).to_numpy(dtype=np.int64)
            for h, c in hashes.value_counts().items():
                self._content[h] = self._content.get(h, 0) + int(c)
            out[idx] = [f"h:{h}" + (f"-{k}" if k else "") for h, k in zip(hashes.tolist(), occ.tolist())]
        return out, dup

    def _assign_with_pairs(self, sid: np.ndarray, cat: np.ndarray, out: np.ndarray, dup: np.ndarray,
                           idx: np.ndarray) -> None:
        """The general case (ids or categories that are not plain strings), with pair strings."""
        self._flush()
        s_ = pd.Series(sid)
        pair = s_ + "\x1f" + pd.Series(cat)
        seen_id = s_.isin(self._ids).to_numpy() if self._ids else np.zeros(len(idx), bool)
        seen_pair = pair.isin(self._pairs).to_numpy() if self._pairs else np.zeros(len(idx), bool)
        is_dup = pair.duplicated().to_numpy() | seen_pair
        second_cat = ~is_dup & (s_.duplicated().to_numpy() | seen_id)
        vals = s_.to_numpy(dtype=object).copy()
        vals[second_cat] = (s_[second_cat] + "/" + pd.Series(cat)[second_cat]).to_numpy(dtype=object)
        out[idx] = vals
        dup[idx] = is_dup
        self._ids.update(s_.tolist())
        self._pairs.update(pair.tolist())


def _duplicated(codes: np.ndarray) -> np.ndarray:
    """True where a code already occurred earlier in the array."""
    dup = np.ones(len(codes), dtype=bool)
    dup[np.unique(codes, return_index=True)[1]] = False
    return dup


def _joined_rows(content: pd.DataFrame, idx: np.ndarray) -> list[str]:
    """``"\x1f".join`` of each selected row's values as text (Arrow does it when every column is Arrow text)."""
    sub = content.iloc[idx]
    arrays = [arrow_strings(sub[c]) for c in sub.columns]
    if arrays and all(a is not None and a.null_count == 0 for a in arrays):
        import pyarrow.compute as pc

        arrays = [a.cast(pa.large_string()) for a in arrays if a is not None]
        return pc.binary_join_element_wise(*arrays, pa.scalar("\x1f", pa.large_string())).to_pylist()
    return sub.astype(str).agg("\x1f".join, axis=1).tolist()


def month_interval(months: np.ndarray) -> dict[str, tuple[str, str]]:
    """Map each distinct ``YYYY-MM`` to ISO UTC strings of its [start, next start)."""
    table: dict[str, tuple[str, str]] = {}
    for m in pd.unique(months):
        start = pd.Timestamp(f"{m}-01").tz_localize(S.LONDON_TZ)
        end = (start.tz_localize(None) + pd.offsets.MonthBegin(1)).tz_localize(S.LONDON_TZ)
        table[m] = (start.tz_convert("UTC").isoformat(), end.tz_convert("UTC").isoformat())
    return table


def _distinct_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct ``(a, b)`` pairs (compared bit for bit) and, per input row, the index of its pair."""
    ca = pd.factorize(np.ascontiguousarray(a, dtype=np.float64).view(np.uint64))[0].astype(np.int64)
    cb, ub = pd.factorize(np.ascontiguousarray(b, dtype=np.float64).view(np.uint64))
    inverse = pd.factorize(ca * len(ub) + cb)[0]
    first = np.unique(inverse, return_index=True)[1]
    return a[first], b[first], inverse


def outside_mask(a: np.ndarray, b: np.ndarray, crs: str, attributor: Attributor) -> np.ndarray:
    """True where a row's coordinates are valid (finite, in Great Britain, not swapped) but outside the
    area of interest: such rows are not bad input, only elsewhere.

    Each distinct coordinate pair is projected and tested once, with a bounding-box test and then
    one vectorised :func:`shapely.contains_xy` on the prepared outline.  Rows with invalid
    coordinates are never flagged (they are quarantined later, with their reason).
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    valid = np.isfinite(a) & np.isfinite(b)
    a0 = np.where(valid, a, 0.0)
    b0 = np.where(valid, b, 0.0)
    valid &= in_range_mask(a0, b0, crs)  # type: ignore[arg-type]
    if crs == S.WGS84:
        valid &= ~swapped_lonlat_mask(a0, b0)
    out = np.zeros(len(a), dtype=bool)
    if not valid.any():
        return out
    ua, ub, inverse = _distinct_pairs(a0[valid], b0[valid])
    try:
        ux, uy = to_bng(ua, ub, crs)
    except Exception as exc:  # pyproj errors
        raise CRSError(f"cannot project coordinates from {crs}: {exc}") from exc
    out[valid] = ~attributor.inside(np.asarray(ux, dtype=float), np.asarray(uy, dtype=float))[inverse]
    return out


def place_points(
    a: np.ndarray, b: np.ndarray, crs: str, rej: Rejects, attributor: Attributor, *,
    first_name: str, second_name: str,
) -> dict[str, np.ndarray]:
    """Validate coordinates, project to EPSG:27700, check the area of interest and attribute.

    Rejects empty, non-numeric, swapped and out-of-Britain rows; marks rows outside the area of
    interest as outside (counted, not quarantined: :meth:`Rejects.add_outside`).
    Returns arrays ``x, y, lon, lat`` and one array per attribution layer, for
    all rows (values of rejected rows are meaningless).
    """
    missing = np.isnan(a) | np.isnan(b)
    rej.add(np.isnan(a), first_name, f"{first_name} is empty or not a number")
    rej.add(np.isnan(b), second_name, f"{second_name} is empty or not a number")
    finite = ~missing
    a0 = np.where(finite, a, 0.0)
    b0 = np.where(finite, b, 0.0)
    if crs == S.WGS84:
        sw = finite & swapped_lonlat_mask(a0, b0)
        rej.add(sw, first_name, np.array([f"{first_name} {x:g} and {second_name} {y:g} look swapped" for x, y in zip(a0, b0)], dtype=object) if sw.any() else "")
    bad_range = finite & ~in_range_mask(a0, b0, crs)  # type: ignore[arg-type]
    if bad_range.any():
        rej.add(bad_range, first_name, np.array([f"{first_name} {x:g}, {second_name} {y:g} is outside Great Britain for {crs}" for x, y in zip(a0, b0)], dtype=object))
    ok = ~rej.mask
    x = np.zeros(len(a))
    y = np.zeros(len(a))
    lon = np.zeros(len(a))
    lat = np.zeros(len(a))
    n_ok = int(ok.sum())
    # each distinct coordinate pair is projected and attributed once (element-wise, so the same values)
    if n_ok:
        ua, ub, inverse = _distinct_pairs(a0[ok], b0[ok])
        try:
            ux, uy = to_bng(ua, ub, crs)
        except Exception as exc:  # pyproj errors
            raise CRSError(f"cannot project coordinates from {crs}: {exc}") from exc
        ux, uy = np.asarray(ux, dtype=float), np.asarray(uy, dtype=float)
        x[ok], y[ok] = ux[inverse], uy[inverse]
        if crs == S.WGS84:
            lon[ok], lat[ok] = a0[ok], b0[ok]
        else:
            ulon, ulat = to_wgs84(ux, uy)
            lon[ok], lat[ok] = np.asarray(ulon)[inverse], np.asarray(ulat)[inverse]
        u_in, u_codes = attributor.attribute(ux, uy)
        in_aoi = u_in[inverse]
        codes = {name: arr[inverse] for name, arr in u_codes.items()}
    else:
        in_aoi, codes = attributor.attribute(x[ok], y[ok])
    out_mask = np.zeros(len(a), dtype=bool)
    out_mask[np.flatnonzero(ok)[~in_aoi]] = True
    if out_mask.any():
        rej.add_outside(out_mask)  # not bad input: counted as outside the area, no text kept
    result = {S.X: x, S.Y: y, S.LON: lon, S.LAT: lat}
    for name, arr in codes.items():
        full = np.full(len(a), None, dtype=object)
        full[ok] = arr
        result[name] = full
    return result
