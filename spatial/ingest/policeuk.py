"""police.uk readers: street-level CSV (bulk download) and the API's crimes-street output.

Street CSV columns: ``Crime ID, Month, Reported by, Falls within, Longitude,
Latitude, Location, LSOA code, LSOA name, Crime type, Last outcome category,
Context``; ``Reported by`` and ``Falls within`` are stored (``reported_by``,
``falls_within``).  The archive's outcomes and stop-and-search files are read by
:mod:`spatial.ingest.archive`.  ASB rows have no Crime ID; some crimes have no coordinates or no
LSOA.  The API (JSON, or the flattened CSV) uses category slugs and
``persistent_id`` and gives no LSOA, so wards and LSOAs always come from
point-in-polygon attribution, never from the file.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from spatial import schema as S
from spatial._errors import IngestError

from .context import ChunkResult, RunContext, check_month_codes, finish_chunk
from .rows import (
    BAD,
    ROW,
    Rejects,
    arrow_strings,
    check_common,
    check_id_length,
    month_interval,
    outside_mask,
    place_points,
)

__all__ = ["normalise_street", "normalise_api", "api_json_chunks", "API_COLUMNS"]

API_COLUMNS = ("id", "persistent_id", "month", "category", "location_type", "location_subtype",
               "latitude", "longitude", "street_id", "street_name", "context", "outcome_category",
               "outcome_date")



def _blank_to_none(values: np.ndarray) -> np.ndarray:
    """An object array of ``values`` with ``None`` where the text is empty."""
    out = np.asarray(values, dtype=object).copy()
    out[out == ""] = None
    return out


def _member(record: dict, key: str) -> dict:
    """``record[key]`` when it is a JSON object, else an empty one."""
    value = record.get(key)
    return value if isinstance(value, dict) else {}

def _distinct(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """``(codes, distinct values)``: ``values == distinct[codes]``, distinct values keeping the dtype."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return codes, pd.Series(uniques, dtype=values.dtype)


def _stripped(values: pd.Series) -> np.ndarray:
    """``values.str.strip()`` as an object array (ids: nearly all distinct, so no dictionary)."""
    data = arrow_strings(values)
    if data is not None and data.null_count == 0:
        return pc.utf8_trim_whitespace(data).to_numpy(zero_copy_only=False).astype(object, copy=False)
    return values.str.strip().to_numpy(dtype=object)


def _categories(values: pd.Series, rej: Rejects, ctx: RunContext,
                field_name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Canonical slugs per row (``other-crime`` where rejected), and ``(codes, distinct slugs)``."""
    codes, u = _distinct(values)
    raw_u = u.str.strip().to_numpy(dtype=object)
    slug_u = np.array([ctx.taxonomy.resolve(v) for v in raw_u], dtype=object)
    unknown_u = pd.isna(slug_u)
    unknown = unknown_u[codes]
    if unknown.any():
        rej.add(unknown, field_name, np.array([f"{field_name} {v!r} is not a known category (see spatial/data/categories.csv)"
                                               for v in raw_u[codes]], dtype=object))
    slug_u = np.where(unknown_u, "other-crime", slug_u)
    return slug_u[codes], codes, slug_u


def _flag(codes: np.ndarray, slug_u: np.ndarray, flags: dict[str, bool]) -> np.ndarray:
    """``flags[slug]`` per row (a slug missing from ``flags`` counts as true, as NaN did before)."""
    return np.array([flags.get(v, True) for v in slug_u], dtype=bool)[codes]


def _coordinates(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Numbers from text (NaN where empty or not a number), and where the text is blank."""
    codes, u = _distinct(values)
    stripped = u.str.strip()
    num = pd.to_numeric(stripped, errors="coerce").to_numpy(dtype=float)
    blank = (stripped == "").to_numpy(dtype=bool)
    return num[codes], blank[codes]


def _common(chunk: pd.DataFrame, ctx: RunContext, *, id_col: str | None, month_col: str, cat_col: str,
            lon_col: str, lat_col: str, loc_col: str, outcome_col: str, ref_fallback: np.ndarray | None,
            crime_ids: np.ndarray | None = None, as_read=None) -> ChunkResult:
    """Validate, project, attribute and assign ids; every distinct value is looked at once.

    ``crime_ids`` (stripped) default to ``chunk[id_col]``; ``as_read`` (a
    callable) gives the rows as quarantined and hashed for an id, when they
    differ from ``chunk``.
    """
    rej = Rejects(chunk, as_read)
    check_common(chunk, rej, max_field_chars=ctx.max_field_chars)
    months, mcodes, mu = check_month_codes(chunk[month_col], rej, ctx, field_name=month_col)
    slugs, ccodes, slug_u = _categories(chunk[cat_col], rej, ctx, cat_col)
    lon, lon_blank = _coordinates(chunk[lon_col])
    lat, lat_blank = _coordinates(chunk[lat_col])
    rej.add(lon_blank & lat_blank, lon_col, "no coordinates: police.uk publishes some crimes without a location")
    placed = place_points(lon, lat, S.WGS84, rej, ctx.attributor, first_name=lon_col, second_name=lat_col)
    ok_month = ~rej.mask
    start_u = np.full(len(mu), "", dtype=object)
    end_u = np.full(len(mu), "", dtype=object)
    for code in np.unique(mcodes[ok_month]):
        start_u[code], end_u[code] = month_interval(np.asarray([mu[code]], dtype=object))[mu[code]]
    starts = np.where(ok_month, start_u[mcodes], "")
    ends = np.where(ok_month, end_u[mcodes], "")
    if crime_ids is None:
        crime_ids = _stripped(chunk[id_col]) if id_col else np.full(len(chunk), "", dtype=object)
    rows = as_read or (lambda: chunk)

    def content() -> pd.DataFrame:
        c = rows()
        return c[[col for col in c.columns if not col.startswith("_")]]

    check_id_length(crime_ids, rej, id_col or "id")
    ids, dup = ctx.ids.assign_valid(crime_ids, slugs, content, ~rej.mask)
    refs = crime_ids.copy()
    no_id = crime_ids == ""
    if no_id.any():
        refs[no_id] = (ref_fallback[no_id] if ref_fallback is not None else
                       np.array([f"{ctx.info.path.name}#{r}" for r in chunk[ROW].to_numpy()[no_id]], dtype=object))
    cat = ctx.taxonomy.categories
    lcodes, lu = pd.factorize(chunk[loc_col], use_na_sentinel=False)
    ocodes, ou = pd.factorize(chunk[outcome_col], use_na_sentinel=False)
    ou = np.asarray(ou, dtype=object)
    cols: dict[str, object] = {
        S.INCIDENT_ID: ids, S.SOURCE: ctx.source, S.SOURCE_REF: refs, S.CATEGORY: slugs,
        S.SENSITIVE: _flag(ccodes, slug_u, {k: c.sensitive for k, c in cat.items()}),
        S.PROACTIVE: _flag(ccodes, slug_u, {k: c.proactive for k, c in cat.items()}),
        S.OCCURRED_FROM: starts, S.OCCURRED_TO: ends, S.MONTH: months,
        S.X: placed[S.X], S.Y: placed[S.Y], S.LON: placed[S.LON], S.LAT: placed[S.LAT],
        S.WARD_CODE: placed.get(S.WARD_CODE, None), S.LSOA_CODE: placed.get(S.LSOA_CODE, None),
        S.ESTATE_ID: placed.get(S.ESTATE_ID, None), S.PARK_ID: placed.get(S.PARK_ID, None),
        S.LOCATION_TEXT: np.asarray(lu, dtype=object)[lcodes],
        S.OUTCOME: _blank_to_none(ou)[ocodes],
    }
    for key, col in ((S.REPORTED_BY, "Reported by"), (S.FALLS_WITHIN, "Falls within")):  # street files only
        if col in chunk.columns:
            fcodes, fu = pd.factorize(chunk[col], use_na_sentinel=False)
            fu = pd.Series(fu, dtype=object).fillna("").astype(str).str.strip().to_numpy(dtype=object)
            cols[key] = _blank_to_none(fu)[fcodes]
    return finish_chunk(chunk, rej, cols, dup)


def _without_outside(chunk: pd.DataFrame, ctx: RunContext, lon_col: str, lat_col: str) -> tuple[pd.DataFrame, int]:
    """``chunk`` less its rows with valid coordinates outside the area of interest, and how many those were.

    A force's file is the normal download (the Met's holds every London
    borough), so most rows may lie outside the area: they are dropped here,
    before any per-row work, with one vectorised point-in-polygon test per
    distinct location (:func:`spatial.ingest.rows.outside_mask`).
    """
    if lon_col not in chunk.columns or lat_col not in chunk.columns or not len(chunk):
        return chunk, 0
    lon, _ = _coordinates(chunk[lon_col])
    lat, _ = _coordinates(chunk[lat_col])
    out = outside_mask(lon, lat, S.WGS84, ctx.attributor)
    if BAD in chunk.columns:  # a malformed row is quarantined wherever it lies
        out &= chunk[BAD].to_numpy(dtype=object) == ""
    n = int(out.sum())
    if not n:
        return chunk, 0
    return chunk[~out].reset_index(drop=True), n


def _counting_outside(result: ChunkResult, n_outside: int) -> ChunkResult:
    if n_outside:
        result.read += n_outside
        result.outside += n_outside
    return result


def normalise_street(chunk: pd.DataFrame, ctx: RunContext) -> ChunkResult:
    """Canonical rows from a chunk of a police.uk street-level CSV."""
    chunk, n_out = _without_outside(chunk, ctx, "Longitude", "Latitude")
    return _counting_outside(_street(chunk, ctx), n_out)


def _street(chunk: pd.DataFrame, ctx: RunContext) -> ChunkResult:
    return _common(chunk, ctx, id_col="Crime ID", month_col="Month", cat_col="Crime type",
                   lon_col="Longitude", lat_col="Latitude", loc_col="Location",
                   outcome_col="Last outcome category", ref_fallback=None)


def normalise_api(chunk: pd.DataFrame, ctx: RunContext) -> ChunkResult:
    """Canonical rows from a chunk of police.uk API ``crimes-street`` records (flattened)."""
    chunk, n_out = _without_outside(chunk, ctx, "longitude", "latitude")
    return _counting_outside(_api(chunk, ctx), n_out)


def _api(chunk: pd.DataFrame, ctx: RunContext) -> ChunkResult:
    missing = [col for col in ("street_name", "outcome_category") if col not in chunk.columns]
    for col in missing:
        chunk = chunk.assign(**{col: ""})
    if "id" not in chunk.columns:
        return _common(chunk, ctx, id_col="persistent_id", month_col="month", cat_col="category",
                       lon_col="longitude", lat_col="latitude", loc_col="street_name",
                       outcome_col="outcome_category", ref_fallback=None)
    # Without a persistent_id (ASB), the API's own record id is the stable id: "api:<id>" ("" without either).
    pid = _stripped(chunk["persistent_id"])
    no_pid = pid == ""
    api_ref = np.full(len(chunk), "", dtype=object)  # read only where there is no persistent_id
    if no_pid.any():
        rid = _stripped(chunk["id"][no_pid])
        api_ref[no_pid] = np.array(["api:" + r if r != "" else "" for r in rid], dtype=object)
        pid = np.where(no_pid, api_ref, pid)

    @functools.cache
    def as_read() -> pd.DataFrame:
        # the rows as quarantined and hashed so far: persistent_id filled in, missing columns last
        c = chunk.copy()
        c["persistent_id"] = pid
        return c

    return _common(chunk, ctx, id_col="persistent_id", month_col="month", cat_col="category",
                   lon_col="longitude", lat_col="latitude", loc_col="street_name",
                   outcome_col="outcome_category", ref_fallback=api_ref, crime_ids=pid, as_read=as_read)


def api_json_chunks(path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """Flatten a police.uk API ``crimes-street`` JSON array into raw text chunks.

    Raises
    ------
    IngestError
        If the file is not a JSON array of objects.
    """
    try:
        with open(path, encoding="utf-8-sig") as fh:
            records = json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        msg = f"{path}: not valid police.uk API JSON ({exc})"
        raise IngestError(msg, path=str(path)) from exc
    if not isinstance(records, list):
        msg = f"{path}: expected a JSON array of crimes, got {type(records).__name__}"
        raise IngestError(msg, path=str(path))
    rows = []
    bad = []
    for rec in records:
        if not isinstance(rec, dict):
            rows.append({c: "" for c in API_COLUMNS})
            bad.append(f"record is a {type(rec).__name__}, not an object")
            continue
        loc = _member(rec, "location")
        street = _member(loc, "street")
        outcome = _member(rec, "outcome_status")

        def s(v) -> str:
            return "" if v is None else str(v)

        rows.append({
            "id": s(rec.get("id")), "persistent_id": s(rec.get("persistent_id")), "month": s(rec.get("month")),
            "category": s(rec.get("category")), "location_type": s(rec.get("location_type")),
            "location_subtype": s(rec.get("location_subtype")), "latitude": s(loc.get("latitude")),
            "longitude": s(loc.get("longitude")), "street_id": s(street.get("id")),
            "street_name": s(street.get("name")), "context": s(rec.get("context")),
            "outcome_category": s(outcome.get("category")), "outcome_date": s(outcome.get("date")),
        })
        bad.append("")
    for start in range(0, len(rows), chunk_rows):
        df = pd.DataFrame(rows[start:start + chunk_rows], columns=list(API_COLUMNS), dtype=object)
        df[ROW] = np.arange(start + 1, start + 1 + len(df), dtype=np.int64)
        df[BAD] = bad[start:start + chunk_rows]
        yield df
