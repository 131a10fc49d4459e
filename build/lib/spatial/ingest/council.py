"""Council exports (ASB, noise, warden and parks-police logs) through a column-mapping file.

A mapping is a small YAML file (see ``data/synthetic/*.mapping.yaml`` and the
README) naming the columns for the id, category, date (and time), coordinates
(easting/northing or lon/lat) and location text.  Dates are read as UK
day-first dates; times as 24-hour ``HH:MM[:SS]``; both are Europe/London.  A
date without a time becomes the interval of that whole day.

GeoJSON, GeoPackage and GeoParquet point layers go through the same mapping,
with the coordinates taken from the geometry.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from spatial import schema as S
from spatial._errors import IngestError, MappingError
from spatial.projection import detect_crs

from .context import ChunkResult, RunContext, finish_chunk, retention_reason
from .rows import (
    BAD,
    ROW,
    Rejects,
    check_common,
    check_id_length,
    parse_float,
    place_points,
)

__all__ = ["Mapping", "load_mapping", "normalise_council", "vector_chunks", "XCOL", "YCOL"]

XCOL = "geometry_x"
YCOL = "geometry_y"

_DATE_FORMATS = (
    "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%d/%m/%y %H:%M", "%d/%m/%y",
    "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M", "%d-%m-%Y", "%d.%m.%Y %H:%M", "%d.%m.%Y",
    "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d",
    "%d %b %Y %H:%M", "%d %b %Y", "%d %B %Y %H:%M", "%d %B %Y",
)


@dataclass(frozen=True)
class Mapping:
    """A validated column mapping."""

    path: str
    source: str
    category_column: str
    category_values: dict[str, str]
    date_column: str
    time_column: str | None = None
    end_column: str | None = None
    date_format: str | None = None
    x_column: str | None = None
    y_column: str | None = None
    crs: str = "auto"
    id_column: str | None = None
    location_column: str | None = None

    def required_columns(self, *, vector: bool) -> list[str]:
        cols = [self.category_column, self.date_column]
        cols += [c for c in (self.time_column, self.end_column, self.id_column, self.location_column) if c]
        if not vector:
            cols += [self.x_column, self.y_column]  # type: ignore[list-item]
        return cols


def _get(d: dict, key: str, where: str, *, required: bool = True):
    if not isinstance(d, dict):
        msg = f"{where} must be a mapping of keys to values"
        raise MappingError(msg)
    if key not in d or d[key] in (None, ""):
        if required:
            msg = f"{where} has no '{key}'"
            raise MappingError(msg)
        return None
    return d[key]


def _known_keys(d: object, allowed: set[str], where: str) -> None:
    if isinstance(d, dict):
        unknown = sorted(set(map(str, d)) - allowed)
        if unknown:
            msg = f"{where} has unknown key(s) {unknown}; allowed: {sorted(allowed)}"
            raise MappingError(msg)


def load_mapping(path: str | Path, taxonomy: S.Taxonomy | None = None) -> Mapping:
    """Read and validate a column-mapping YAML file.

    Raises
    ------
    MappingError
        Naming the mapping file and the missing or invalid key.
    """
    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8-sig"))
    except FileNotFoundError as exc:
        msg = f"mapping file {p} does not exist"
        raise MappingError(msg) from exc
    except yaml.YAMLError as exc:
        msg = f"mapping file {p} is not valid YAML: {exc}"
        raise MappingError(msg) from exc
    where = f"mapping file {p}"
    _known_keys(doc, {"source", "id_column", "category", "date", "coordinates", "location_column"}, where)
    for key, allowed in (("category", {"column", "values"}),
                         ("date", {"column", "time_column", "end_column", "format", "dayfirst"}),
                         ("coordinates", {"x", "y", "lon", "lat", "crs"})):
        _known_keys(doc.get(key), allowed, f"{where} '{key}'")
    if isinstance(doc.get("date"), dict) and doc["date"].get("dayfirst") is False:
        msg = f"{where}: 'date: dayfirst: false' is not supported; UK day-first dates and ISO dates are read"
        raise MappingError(msg)
    source = str(_get(doc, "source", where))
    if len(source) > 100 or not re.fullmatch(r"[\w.:\- ]+", source):
        msg = f"{where}: source {source[:60]!r} must be at most 100 letters, digits, spaces or . : - _"
        raise MappingError(msg)
    cat = _get(doc, "category", where)
    date = _get(doc, "date", where)
    coords = _get(doc, "coordinates", where)
    values = _get(cat, "values", f"{where} 'category'", required=False) or {}
    if not isinstance(values, dict):
        msg = f"{where}: 'category: values' must map file wording to a category slug"
        raise MappingError(msg)
    values = {str(k): str(v) for k, v in values.items()}
    tax = taxonomy or S.load_taxonomy()
    unknown = sorted({v for v in values.values() if v not in tax.categories})
    if unknown:
        msg = f"{where}: 'category: values' maps to unknown categories {unknown}; allowed: {sorted(tax.categories)}"
        raise MappingError(msg)
    x = coords.get("x") or coords.get("lon") if isinstance(coords, dict) else None
    y = coords.get("y") or coords.get("lat") if isinstance(coords, dict) else None
    crs = str(coords.get("crs", "auto")) if isinstance(coords, dict) else "auto"
    if crs not in ("auto", S.BNG, S.WGS84):
        msg = f"{where}: coordinates crs is {crs!r}; allowed: auto, {S.BNG}, {S.WGS84}"
        raise MappingError(msg)
    if isinstance(coords, dict) and "lon" in coords and crs == "auto":
        crs = S.WGS84
    fmt = _get(date, "format", f"{where} 'date'", required=False)
    return Mapping(
        path=str(p), source=source,
        category_column=str(_get(cat, "column", f"{where} 'category'")), category_values=values,
        date_column=str(_get(date, "column", f"{where} 'date'")),
        time_column=_get(date, "time_column", f"{where} 'date'", required=False),
        end_column=_get(date, "end_column", f"{where} 'date'", required=False),
        date_format=str(fmt) if fmt else None,
        x_column=str(x) if x else None, y_column=str(y) if y else None, crs=crs,
        id_column=doc.get("id_column"), location_column=doc.get("location_column"),
    )


def _parse_dates(text: pd.Series, fmt: str | None) -> pd.Series:
    """Naive Europe/London wall-clock times; ISO-8601 values with an offset or Z are converted."""
    text = text.str.strip().str.replace(r"\s+", " ", regex=True)
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    for f in ((fmt,) if fmt else _DATE_FORMATS):
        todo = out.isna() & (text != "")
        if not todo.any():
            break
        out[todo] = pd.to_datetime(text[todo], format=f, errors="coerce")
    zoned = out.isna() & text.str.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})").fillna(False)
    if zoned.any():
        utc = pd.to_datetime(text[zoned], format="ISO8601", utc=True, errors="coerce")
        out[zoned] = utc.dt.tz_convert(S.LONDON_TZ).dt.tz_localize(None)
    return out


def _localise(naive: pd.Series) -> pd.Series:
    """Europe/London: in the autumn repeated hour take BST; in the spring gap shift forward."""
    ok = naive.notna()
    out = pd.Series(pd.NaT, index=naive.index, dtype=f"datetime64[ns, {S.LONDON_TZ}]")
    if ok.any():
        vals = pd.DatetimeIndex(naive[ok])
        out[ok] = vals.tz_localize(S.LONDON_TZ, ambiguous=np.ones(len(vals), dtype=bool),
                                   nonexistent="shift_forward")
    return out


def _iso_utc(ts: pd.Series) -> np.ndarray:
    return ts.dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S+00:00").fillna("").to_numpy(dtype=object)


def normalise_council(chunk: pd.DataFrame, ctx: RunContext, mapping: Mapping, crs_state: dict) -> ChunkResult:
    """Canonical rows from a chunk of a council export, following ``mapping``."""
    rej = Rejects(chunk)
    check_common(chunk, rej, max_field_chars=ctx.max_field_chars)
    tax = ctx.taxonomy
    # category
    raw_cat = chunk[mapping.category_column].str.strip()
    table = {u: tax.resolve(u) for u in pd.unique(raw_cat)}
    slugs = raw_cat.map(table).to_numpy(dtype=object)
    unknown = pd.isna(slugs)
    if unknown.any():
        rej.add(unknown, mapping.category_column, np.array(
            [f"{mapping.category_column} {v!r} is not a known category; add it under 'category: values' in {mapping.path}"
             for v in raw_cat.to_numpy(dtype=object)], dtype=object))
    slugs = np.where(unknown, "other-crime", slugs)
    # dates
    dcol = mapping.date_column
    date_text = chunk[dcol]
    has_time = mapping.time_column is not None
    if has_time:
        ttext = chunk[mapping.time_column].str.strip()
        bad_time = (ttext != "") & ~ttext.str.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d)?").fillna(False)
        rej.add(bad_time.to_numpy(), mapping.time_column, np.array(
            [f"{mapping.time_column} {v!r} is not a 24-hour time (expected HH:MM)" for v in ttext], dtype=object)
            if bad_time.any() else "")
        date_text = (date_text.str.strip() + " " + ttext).str.strip()
    parsed = _parse_dates(date_text, mapping.date_format)
    bad_date = parsed.isna().to_numpy()
    rej.add(bad_date, dcol, np.array([f"{dcol} {v!r} is not a valid date (expected a UK date such as 25/12/2026"
                                      + (" with a time HH:MM" if has_time else "") + ")"
                                      for v in date_text], dtype=object) if bad_date.any() else "")
    start = _localise(parsed)
    date_only = ~date_text.str.contains(":", regex=False).to_numpy()
    end = start.copy()
    if date_only.any():
        # the next local midnight: a clock-change day is 23 or 25 hours long
        end[date_only] = _localise(parsed[date_only] + pd.Timedelta(days=1))
    if mapping.end_column:
        end_parsed = _localise(_parse_dates(chunk[mapping.end_column], mapping.date_format))
        given = chunk[mapping.end_column].str.strip() != ""
        bad_end = given & (end_parsed.isna() | (end_parsed < start))
        rej.add(bad_end.to_numpy(), mapping.end_column, f"{mapping.end_column} is not a valid date on or after {dcol}")
        end = end.where(~given, end_parsed)
    late = (start > ctx.now).fillna(False).to_numpy()
    rej.add(late, dcol, np.array([f"{dcol} {v!r} is in the future" for v in date_text], dtype=object) if late.any() else "")
    early = (start < ctx.earliest).fillna(False).to_numpy()
    rej.add(early, dcol, np.array([f"{dcol} {v!r} is before {ctx.earliest:%d/%m/%Y}" for v in date_text], dtype=object) if early.any() else "")
    months = start.dt.strftime("%Y-%m").fillna("").to_numpy(dtype=object)
    if ctx.kept_from is not None:
        expired = (months != "") & (months < ctx.kept_from)
        if expired.any():
            rej.add(expired, dcol, retention_reason(dcol, ctx.kept_from), withhold_raw=True)
    # coordinates
    xcol, ycol = mapping.x_column, mapping.y_column
    a = parse_float(chunk[xcol])
    b = parse_float(chunk[ycol])
    if crs_state.get("crs") is None:
        crs_state["crs"] = mapping.crs if mapping.crs != "auto" else detect_crs(a, b, where=f"{ctx.info.path} ({xcol}, {ycol})")
    crs = crs_state["crs"]
    placed = place_points(a, b, crs, rej, ctx.attributor, first_name=xcol, second_name=ycol)
    # ids
    data_cols = [c for c in chunk.columns if not c.startswith("_")]
    src_ids = (chunk[mapping.id_column].str.strip().to_numpy(dtype=object) if mapping.id_column
               else np.full(len(chunk), "", dtype=object))
    prefixed = np.array([f"{ctx.source}:{v}" if v else "" for v in src_ids], dtype=object)
    if mapping.id_column:
        check_id_length(src_ids, rej, mapping.id_column)
    ids, dup = ctx.ids.assign_valid(prefixed, slugs, chunk[data_cols], ~rej.mask)
    refs = np.where(src_ids != "", src_ids, np.array([f"{ctx.info.path.name}#{r}" for r in chunk[ROW]], dtype=object))
    cat = tax.categories
    loc = chunk[mapping.location_column].to_numpy(dtype=object) if mapping.location_column else None
    cols: dict[str, object] = {
        S.INCIDENT_ID: ids, S.SOURCE: ctx.source, S.SOURCE_REF: refs, S.CATEGORY: slugs,
        S.SENSITIVE: pd.Series(slugs).map({k: c.sensitive for k, c in cat.items()}).to_numpy(dtype=bool),
        S.PROACTIVE: pd.Series(slugs).map({k: c.proactive for k, c in cat.items()}).to_numpy(dtype=bool),
        S.OCCURRED_FROM: _iso_utc(start), S.OCCURRED_TO: _iso_utc(end), S.MONTH: months,
        S.X: placed[S.X], S.Y: placed[S.Y], S.LON: placed[S.LON], S.LAT: placed[S.LAT],
        S.WARD_CODE: placed.get(S.WARD_CODE, None), S.LSOA_CODE: placed.get(S.LSOA_CODE, None),
        S.ESTATE_ID: placed.get(S.ESTATE_ID, None), S.PARK_ID: placed.get(S.PARK_ID, None),
        S.LOCATION_TEXT: loc, S.OUTCOME: None,
    }
    return finish_chunk(chunk, rej, cols, dup)


def vector_chunks(path: Path, chunk_rows: int) -> tuple[str | None, list[str], Iterator[pd.DataFrame]]:
    """Read a GeoJSON/GeoPackage/GeoParquet point layer as raw text chunks.

    Returns ``(crs, columns, chunks)``; each chunk has the attribute columns as
    text plus ``geometry_x``/``geometry_y`` from the point geometry.  Non-point or empty
    geometries are marked malformed (quarantined), never dropped.

    Raises
    ------
    IngestError
        If the file cannot be read as a vector layer.
    """
    import geopandas as gpd

    try:
        if path.name.lower().endswith((".parquet", ".geoparquet")):
            gdf = gpd.read_parquet(path)
        else:
            # keep dates as written: a date without a time must stay a date
            opts = {"DATE_AS_STRING": "YES"} if path.suffix.lower() in (".geojson", ".json") else {}
            gdf = gpd.read_file(path, engine="pyogrio", datetime_as_string=True, **opts)
    except Exception as exc:  # pyogrio/pyarrow raise many types
        msg = f"{path}: cannot read it as GeoJSON, GeoPackage or GeoParquet ({exc})"
        raise IngestError(msg, path=str(path)) from exc
    crs = None if gdf.crs is None else f"EPSG:{gdf.crs.to_epsg()}" if gdf.crs.to_epsg() else gdf.crs.to_string()
    geom = gdf.geometry
    is_point = (geom.geom_type == "Point").to_numpy() & ~geom.is_empty.to_numpy() & geom.notna().to_numpy()
    attrs = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    for c in attrs.columns:
        if isinstance(attrs[c].dtype, pd.DatetimeTZDtype):
            attrs[c] = attrs[c].dt.tz_convert(S.LONDON_TZ).dt.strftime("%Y-%m-%d %H:%M:%S")
        elif pd.api.types.is_datetime64_dtype(attrs[c].dtype):
            attrs[c] = attrs[c].dt.strftime("%Y-%m-%d %H:%M:%S")
        attrs[c] = attrs[c].map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
    attrs = attrs.astype(object)
    xs = np.full(len(gdf), "", dtype=object)
    ys = np.full(len(gdf), "", dtype=object)
    if is_point.any():
        pts = geom[is_point]
        xs[is_point] = pts.x.map(repr).to_numpy()
        ys[is_point] = pts.y.map(repr).to_numpy()
    attrs[XCOL] = xs
    attrs[YCOL] = ys
    types = geom.geom_type.fillna("missing").to_numpy(dtype=object)
    bad = np.where(is_point, "", np.array([f"geometry is {t}; expected a Point" for t in types], dtype=object))

    def gen() -> Iterator[pd.DataFrame]:
        for start in range(0, len(attrs), chunk_rows):
            df = attrs.iloc[start:start + chunk_rows].reset_index(drop=True).copy()
            df[ROW] = np.arange(start + 1, start + 1 + len(df), dtype=np.int64)
            df[BAD] = bad[start:start + chunk_rows]
            yield df

    return crs, list(attrs.columns), gen()
