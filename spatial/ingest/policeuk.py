"""police.uk readers: street-level CSV (bulk download) and the API's crimes-street output.

Street CSV columns: ``Crime ID, Month, Reported by, Falls within, Longitude,
Latitude, Location, LSOA code, LSOA name, Crime type, Last outcome category,
Context``.  ASB rows have no Crime ID; some crimes have no coordinates or no
LSOA.  The API (JSON, or the flattened CSV) uses category slugs and
``persistent_id`` and gives no LSOA, so wards and LSOAs always come from
point-in-polygon attribution, never from the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pandas as pd

from spatial import schema as S
from spatial._errors import IngestError

from .context import ChunkResult, RunContext, check_month, finish_chunk
from .rows import BAD, ROW, Rejects, check_common, check_id_length, month_interval, parse_float, place_points

__all__ = ["normalise_street", "normalise_api", "api_json_chunks", "API_COLUMNS"]

API_COLUMNS = ("id", "persistent_id", "month", "category", "location_type", "location_subtype",
               "latitude", "longitude", "street_id", "street_name", "context", "outcome_category",
               "outcome_date")


def _lookup(keys: pd.Series, table: dict[str, str]) -> np.ndarray:
    """``table[key]`` per row as an object array, ``""`` where the key is absent."""
    found = keys.map(table).astype(object)
    return found.where(found.notna(), "").to_numpy(dtype=object)


def _categories(values: pd.Series, rej: Rejects, ctx: RunContext, field_name: str) -> np.ndarray:
    raw = values.str.strip()
    uniq = pd.unique(raw)
    table = {u: ctx.taxonomy.resolve(u) for u in uniq}
    slugs = raw.map(table).to_numpy(dtype=object)
    unknown = pd.isna(slugs)
    if unknown.any():
        rej.add(unknown, field_name, np.array([f"{field_name} {v!r} is not a known category (see spatial/data/categories.csv)"
                                               for v in raw.to_numpy(dtype=object)], dtype=object))
    return np.where(unknown, "other-crime", slugs)


def _common(chunk: pd.DataFrame, ctx: RunContext, *, id_col: str | None, month_col: str, cat_col: str,
            lon_col: str, lat_col: str, loc_col: str, outcome_col: str, ref_fallback: np.ndarray | None) -> ChunkResult:
    rej = Rejects(chunk)
    check_common(chunk, rej, max_field_chars=ctx.max_field_chars)
    months = check_month(chunk[month_col], rej, ctx, field_name=month_col)
    slugs = _categories(chunk[cat_col], rej, ctx, cat_col)
    lon = parse_float(chunk[lon_col])
    lat = parse_float(chunk[lat_col])
    both_empty = (chunk[lon_col].str.strip() == "").to_numpy() & (chunk[lat_col].str.strip() == "").to_numpy()
    rej.add(both_empty, lon_col, "no coordinates: police.uk publishes some crimes without a location")
    placed = place_points(lon, lat, S.WGS84, rej, ctx.attributor, first_name=lon_col, second_name=lat_col)
    ok_month = ~rej.mask
    interval = month_interval(months[ok_month])
    mser = pd.Series(np.where(ok_month, months, ""), dtype=object)
    starts = _lookup(mser, {m: v[0] for m, v in interval.items()})
    ends = _lookup(mser, {m: v[1] for m, v in interval.items()})
    crime_ids = chunk[id_col].str.strip().to_numpy(dtype=object) if id_col else np.full(len(chunk), "", dtype=object)
    data_cols = [c for c in chunk.columns if not c.startswith("_")]
    check_id_length(crime_ids, rej, id_col or "id")
    ids, dup = ctx.ids.assign_valid(crime_ids, slugs, chunk[data_cols], ~rej.mask)
    refs = np.where(crime_ids != "", crime_ids, ref_fallback if ref_fallback is not None else
                    np.array([f"{ctx.info.path.name}#{r}" for r in chunk[ROW]], dtype=object))
    cat = ctx.taxonomy.categories
    cols: dict[str, object] = {
        S.INCIDENT_ID: ids, S.SOURCE: ctx.source, S.SOURCE_REF: refs, S.CATEGORY: slugs,
        S.SENSITIVE: pd.Series(slugs).map({k: c.sensitive for k, c in cat.items()}).to_numpy(dtype=bool),
        S.PROACTIVE: pd.Series(slugs).map({k: c.proactive for k, c in cat.items()}).to_numpy(dtype=bool),
        S.OCCURRED_FROM: starts, S.OCCURRED_TO: ends, S.MONTH: months,
        S.X: placed[S.X], S.Y: placed[S.Y], S.LON: placed[S.LON], S.LAT: placed[S.LAT],
        S.WARD_CODE: placed.get(S.WARD_CODE, None), S.LSOA_CODE: placed.get(S.LSOA_CODE, None),
        S.ESTATE_ID: placed.get(S.ESTATE_ID, None), S.PARK_ID: placed.get(S.PARK_ID, None),
        S.LOCATION_TEXT: chunk[loc_col].to_numpy(dtype=object),
        S.OUTCOME: np.where(chunk[outcome_col] == "", None, chunk[outcome_col]).astype(object),
    }
    return finish_chunk(chunk, rej, cols, dup)


def normalise_street(chunk: pd.DataFrame, ctx: RunContext) -> ChunkResult:
    """Canonical rows from a chunk of a police.uk street-level CSV."""
    return _common(chunk, ctx, id_col="Crime ID", month_col="Month", cat_col="Crime type",
                   lon_col="Longitude", lat_col="Latitude", loc_col="Location",
                   outcome_col="Last outcome category", ref_fallback=None)


def normalise_api(chunk: pd.DataFrame, ctx: RunContext) -> ChunkResult:
    """Canonical rows from a chunk of police.uk API ``crimes-street`` records (flattened)."""
    if "id" in chunk.columns:
        rid = chunk["id"].str.strip()
        api_ref = ("api:" + rid).where(rid != "", "").to_numpy(dtype=object)
        # Without a persistent_id (ASB), the API's own record id is the stable id.
        pid = chunk["persistent_id"].str.strip()
        chunk = chunk.copy()
        chunk["persistent_id"] = np.where(pid != "", pid, api_ref)
    else:
        api_ref = None
    for col in ("street_name", "outcome_category"):
        if col not in chunk.columns:
            chunk = chunk.assign(**{col: ""})
    return _common(chunk, ctx, id_col="persistent_id", month_col="month", cat_col="category",
                   lon_col="longitude", lat_col="latitude", loc_col="street_name",
                   outcome_col="outcome_category", ref_fallback=api_ref)


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
        loc = rec.get("location") if isinstance(rec.get("location"), dict) else {}
        street = loc.get("street") if isinstance(loc.get("street"), dict) else {}
        outcome = rec.get("outcome_status") if isinstance(rec.get("outcome_status"), dict) else {}

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
