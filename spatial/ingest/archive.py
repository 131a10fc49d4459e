"""The rest of a police.uk archive folder: ``-outcomes.csv`` and ``-stop-and-search.csv`` files.

A downloaded archive holds ``YYYY-MM/YYYY-MM-<force>-street.csv`` plus, per month
and force, ``-outcomes.csv`` and ``-stop-and-search.csv`` (https://data.police.uk/about/).

* **Outcomes** (``Crime ID, Month, Reported by, Falls within, Longitude, Latitude,
  Location, LSOA code, LSOA name, Outcome type``): every row is kept in the
  ``outcomes`` table (the history), keyed by crime, month and outcome type; then
  each stored crime of the file gets the outcome of its *latest* month as its
  ``outcome`` ("Last outcome category"; ties within a month: the row ingested last).
* **Stop and search** (``Type, Date, Part of a policing operation, Policing
  operation, Latitude, Longitude, Gender, Age range, Self-defined ethnicity,
  Officer-defined ethnicity, Legislation, Object of search, Outcome, Outcome linked
  to object of search, Removal of more than just outer clothing``): a dataset of its
  own (``stop_searches``), never incidents, with its own quarantine and reconciliation.
  A search without a location is stored without one (police.uk publishes many so).

Both reconcile like every file: ``read == stored + duplicates + quarantined + outside``.
Nothing here touches the database: :mod:`spatial.ingest.pipeline` writes what these return.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from spatial import schema as S

from .context import RunContext, check_month_codes
from .rows import BAD, Rejects, check_common, check_id_length, outside_mask, place_points

__all__ = ["OUTCOME_COLUMNS", "STOP_SEARCH_COLUMNS", "ArchiveChunk", "normalise_outcomes", "normalise_stop_search",
           "force_of_file"]

#: Columns of a police.uk outcomes file (the bulk download).
OUTCOME_COLUMNS = ("Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
                   "LSOA code", "LSOA name", "Outcome type")
#: Columns of a police.uk stop-and-search file (the bulk download).
STOP_SEARCH_COLUMNS = ("Type", "Date", "Part of a policing operation", "Policing operation", "Latitude", "Longitude",
                       "Gender", "Age range", "Self-defined ethnicity", "Officer-defined ethnicity", "Legislation",
                       "Object of search", "Outcome", "Outcome linked to object of search",
                       "Removal of more than just outer clothing")

_FORCE = re.compile(r"^\d{4}-\d{2}-(?P<force>[a-z0-9-]+?)-(?:street|outcomes|stop-and-search)\.csv(?:\.gz)?$")


def force_of_file(name: str) -> str | None:
    """The force slug of a police.uk bulk file name (``2024-01-kent-stop-and-search.csv`` -> ``kent``)."""
    m = _FORCE.match(name.lower())
    return m.group("force") if m else None


@dataclass
class ArchiveChunk:
    """One chunk of an outcomes or stop-and-search file: rows to store, rejects, counts.

    ``read == len(rows) + duplicates + len(rejects) + outside``; rows already
    stored by an earlier ingest are counted as duplicates by the writer.
    """

    rows: pd.DataFrame
    rejects: pd.DataFrame
    read: int
    duplicates: int = 0
    outside: int = 0


def _text(chunk: pd.DataFrame, col: str) -> np.ndarray:
    """Stripped text of ``col`` (``""`` where the column is missing or empty)."""
    if col not in chunk.columns:
        return np.full(len(chunk), "", dtype=object)
    return chunk[col].fillna("").astype(str).str.strip().to_numpy(dtype=object)


def _none_if_empty(values: np.ndarray) -> np.ndarray:
    out = np.asarray(values, dtype=object).copy()
    out[out == ""] = None
    return out


def _numbers(chunk: pd.DataFrame, col: str) -> np.ndarray:
    return pd.to_numeric(pd.Series(_text(chunk, col)), errors="coerce").to_numpy(dtype=float)


def _drop_outside(chunk: pd.DataFrame, ctx: RunContext) -> tuple[pd.DataFrame, int]:
    """``chunk`` less the rows whose valid coordinates lie outside the area (counted, no text kept)."""
    if not len(chunk):
        return chunk, 0
    out = outside_mask(_numbers(chunk, "Longitude"), _numbers(chunk, "Latitude"), S.WGS84, ctx.attributor)
    if BAD in chunk.columns:
        out &= chunk[BAD].to_numpy(dtype=object) == ""
    n = int(out.sum())
    return (chunk[~out].reset_index(drop=True), n) if n else (chunk, 0)


def normalise_outcomes(chunk: pd.DataFrame, ctx: RunContext) -> ArchiveChunk:
    """Outcome rows of one chunk (columns of the ``outcomes`` table less the ingest id).

    Quarantined: malformed rows, rows without a Crime ID (an outcome belongs to a
    crime) or an Outcome type, and months that are not ``YYYY-MM`` in range.
    """
    chunk, n_out = _drop_outside(chunk, ctx)
    rej = Rejects(chunk)
    check_common(chunk, rej, max_field_chars=ctx.max_field_chars)
    crime = _text(chunk, "Crime ID")
    rej.add(crime == "", "Crime ID", "Crime ID is empty: an outcome must name the crime it belongs to")
    check_id_length(crime, rej, "Crime ID")
    months, _, _ = check_month_codes(chunk["Month"], rej, ctx, field_name="Month")
    kind = _text(chunk, "Outcome type")
    rej.add(kind == "", "Outcome type", "Outcome type is empty")
    keep = ~rej.mask
    rows = pd.DataFrame({
        "crime_id": crime[keep], "month": np.asarray(months, dtype=object)[keep], "outcome_type": kind[keep],
        "reported_by": _none_if_empty(_text(chunk, "Reported by"))[keep],
        "falls_within": _none_if_empty(_text(chunk, "Falls within"))[keep],
        "lsoa_code": _none_if_empty(_text(chunk, "LSOA code"))[keep],
    })
    within = rows.duplicated(["crime_id", "month", "outcome_type"]).to_numpy()
    return ArchiveChunk(rows[~within].reset_index(drop=True), rej.frame(), len(chunk) + n_out,
                        duplicates=int(within.sum()), outside=n_out)


_YES = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def _flag(values: np.ndarray) -> np.ndarray:
    """police.uk's ``True``/``False`` text as booleans (``None`` where empty or anything else)."""
    return np.array([_YES.get(v.lower()) if isinstance(v, str) else None for v in values], dtype=object)


def normalise_stop_search(chunk: pd.DataFrame, ctx: RunContext, *, force: str | None,
                          seen: dict[str, int]) -> ArchiveChunk:
    """Stop-and-search rows of one chunk (columns of ``stop_searches`` less the ingest id).

    ``seen`` counts each row content across the file's chunks, so identical rows
    (two searches at one snap point in one minute) keep distinct ids and a
    re-ingest finds the same ids.  Quarantined: malformed rows, an empty Type,
    a Date that is not a date/time or lies in the future or before the earliest
    month, and coordinates that are given but wrong (swapped, not numbers,
    outside Great Britain).  A row without coordinates is stored without a place.
    """
    chunk, n_out = _drop_outside(chunk, ctx)
    rej = Rejects(chunk)
    check_common(chunk, rej, max_field_chars=ctx.max_field_chars)
    kind = _text(chunk, "Type")
    rej.add(kind == "", "Type", "Type is empty (Person search, Vehicle search, Person and Vehicle search)")
    raw_date = _text(chunk, "Date")
    when = pd.to_datetime(pd.Series(raw_date), errors="coerce", utc=True, format="ISO8601")
    bad_date = when.isna().to_numpy()
    rej.add(bad_date, "Date", np.array([f"Date {v!r} is not a date and time (expected ISO 8601, e.g. "
                                        "2024-01-05T12:30:00+00:00)" for v in raw_date], dtype=object)
            if bad_date.any() else "")
    now_utc, earliest_utc = ctx.now.tz_convert("UTC"), ctx.earliest.tz_convert("UTC")
    late = (~bad_date) & (when > now_utc).fillna(False).to_numpy(dtype=bool)
    early = (~bad_date) & (when < earliest_utc).fillna(False).to_numpy(dtype=bool)
    rej.add(late, "Date", f"Date is in the future (after {now_utc:%Y-%m-%d})")
    rej.add(early, "Date", f"Date is before {earliest_utc:%Y-%m-%d}, the earliest accepted")
    month = when.dt.tz_convert(S.LONDON_TZ).dt.strftime("%Y-%m").fillna("").to_numpy(dtype=object)
    if ctx.kept_from is not None:
        from .context import retention_reason

        rej.add((~bad_date) & (month < ctx.kept_from), "Date", retention_reason("Date", ctx.kept_from),
                withhold_raw=True)
    lon, lat = _numbers(chunk, "Longitude"), _numbers(chunk, "Latitude")
    no_place = (_text(chunk, "Longitude") == "") & (_text(chunk, "Latitude") == "")
    placed_rows = ~no_place
    # coordinates given: validated, projected and attributed like a crime's; none given: no place
    sub = Rejects(chunk[placed_rows].reset_index(drop=True))
    placed = place_points(lon[placed_rows], lat[placed_rows], S.WGS84, sub, ctx.attributor,
                          first_name="Longitude", second_name="Latitude")
    idx = np.flatnonzero(placed_rows)
    bad_place = np.zeros(len(chunk), dtype=bool)
    bad_place[idx] = sub.mask & ~sub.outside
    reasons = np.full(len(chunk), None, dtype=object)
    reasons[idx] = sub.reason
    rej.add(bad_place, "Longitude", reasons)
    outside_late = np.zeros(len(chunk), dtype=bool)
    outside_late[idx] = sub.outside  # lies outside only after projection (boundary of the envelope test)
    rej.add_outside(outside_late)

    def full(values: np.ndarray, fill: object = None) -> np.ndarray:
        out = np.full(len(chunk), fill, dtype=object)
        out[idx] = values
        return out

    keep = ~rej.mask
    data_cols = [c for c in chunk.columns if not c.startswith("_")]
    content = chunk[data_cols].fillna("").astype(str).agg("\x1f".join, axis=1).to_numpy(dtype=object)
    ids = np.empty(len(chunk), dtype=object)
    for i in np.flatnonzero(keep):
        n = seen.get(content[i], 0)
        seen[content[i]] = n + 1
        ids[i] = hashlib.sha256(f"{force or ''}\x1e{content[i]}\x1e{n}".encode()).hexdigest()
    xs, ys = full(placed[S.X]), full(placed[S.Y])  # None where no place was given
    rows = pd.DataFrame({
        "search_id": ids[keep], "force": force, "searched_at": when.dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")
        .to_numpy(dtype=object)[keep], "month": month[keep], "search_type": kind[keep],
        "policing_operation": _flag(_text(chunk, "Part of a policing operation"))[keep],
        "x": xs[keep], "y": ys[keep],
        "lon": np.where(placed_rows, lon, np.nan)[keep], "lat": np.where(placed_rows, lat, np.nan)[keep],
        "ward_code": full(placed.get(S.WARD_CODE, np.full(len(idx), None, dtype=object)))[keep],
        "lsoa_code": full(placed.get(S.LSOA_CODE, np.full(len(idx), None, dtype=object)))[keep],
        "gender": _none_if_empty(_text(chunk, "Gender"))[keep],
        "age_range": _none_if_empty(_text(chunk, "Age range"))[keep],
        "self_defined_ethnicity": _none_if_empty(_text(chunk, "Self-defined ethnicity"))[keep],
        "officer_defined_ethnicity": _none_if_empty(_text(chunk, "Officer-defined ethnicity"))[keep],
        "legislation": _none_if_empty(_text(chunk, "Legislation"))[keep],
        "object_of_search": _none_if_empty(_text(chunk, "Object of search"))[keep],
        "outcome": _none_if_empty(_text(chunk, "Outcome"))[keep],
        "outcome_linked": _flag(_text(chunk, "Outcome linked to object of search"))[keep],
        "outer_clothing_removed": _flag(_text(chunk, "Removal of more than just outer clothing"))[keep],
    })
    for c in ("x", "y", "lon", "lat"):
        rows[c] = pd.to_numeric(rows[c], errors="coerce")
    return ArchiveChunk(rows, rej.frame(), len(chunk) + n_out, outside=n_out + rej.n_outside)
