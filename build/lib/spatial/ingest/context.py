"""What a reader needs to know about the run: taxonomy, area layers, clock, limits."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from itertools import repeat

import numpy as np
import pandas as pd

from spatial import schema as S
from spatial.projection import Attributor

from .files import FileInfo
from .rows import IdAssigner, Rejects

__all__ = ["RunContext", "ChunkResult", "IncidentBatch", "finish_chunk", "check_month", "check_month_codes"]


def retention_reason(field_name: str, kept_from: str) -> str:
    """The quarantine reason of a row older than the retention period (its text is not kept)."""
    return (f"{field_name} is older than the retention period: months before {kept_from} are not kept "
            "(HOTSPOT_RETENTION_MONTHS); the row's text is not stored")


@dataclass
class RunContext:
    """Per-file state shared by a reader's chunks."""

    info: FileInfo
    attributor: Attributor
    taxonomy: S.Taxonomy
    now: pd.Timestamp  # tz-aware; dates after it are impossible
    earliest: pd.Timestamp  # tz-aware; dates before it are rejected
    max_field_chars: int
    source: str
    kept_from: str | None = None  # YYYY-MM: older months are outside the retention period
    ids: IdAssigner = field(init=False)

    def __post_init__(self) -> None:
        self.ids = IdAssigner(self.source)


@dataclass
class IncidentBatch:
    """Canonical rows of one chunk (those neither quarantined nor duplicates), column by column.

    ``columns`` maps every name of :data:`spatial.schema.INCIDENT_COLUMNS` to a
    numpy array of ``n`` values or to one value shared by every row (the
    source, or ``None`` for a layer that is not loaded).  The writers bind
    columns, never per-row tuples.
    """

    n: int
    columns: dict[str, object]

    def __post_init__(self) -> None:
        # a column the reader has no value for (reported_by of a council log) is one shared None, in column order
        if list(self.columns) != list(S.INCIDENT_COLUMNS):
            self.columns = {c: self.columns.get(c) for c in S.INCIDENT_COLUMNS}

    def column(self, name: str) -> np.ndarray:
        """Values of ``name`` for every row (a shared value repeated)."""
        v = self.columns[name]
        return v if isinstance(v, np.ndarray) else np.full(self.n, v, dtype=object)

    def frame(self) -> pd.DataFrame:
        """The rows as a canonical incident frame."""
        return pd.DataFrame({c: pd.Series(v if isinstance(v, np.ndarray) else np.full(self.n, v, dtype=object),
                                          dtype=v.dtype if isinstance(v, np.ndarray) else object, copy=False)
                             for c, v in self.columns.items()}, index=pd.RangeIndex(self.n))

    def records(self) -> list[tuple]:
        """The rows as tuples in :data:`spatial.schema.INCIDENT_COLUMNS` order."""
        return list(zip(*[v.tolist() if isinstance(v, np.ndarray) else repeat(v, self.n)
                          for v in self.columns.values()]))


@dataclass
class ChunkResult:
    """One chunk's outcome: canonical rows, within-file duplicates, rejects, rows outside the area.

    ``read == batch.n + duplicates + len(rejects) + outside``.
    """

    batch: IncidentBatch
    duplicates: int
    rejects: pd.DataFrame
    read: int
    #: Rows outside the area of interest: counted, never quarantined, no text kept.
    outside: int = 0

    @functools.cached_property
    def rows(self) -> pd.DataFrame:
        """The canonical rows as a frame (built on first use)."""
        return self.batch.frame()


def check_month(months: pd.Series, rej: Rejects, ctx: RunContext, *, field_name: str) -> np.ndarray:
    """Reject values that are not a real ``YYYY-MM`` month in the accepted range."""
    return check_month_codes(months, rej, ctx, field_name=field_name)[0]


def check_month_codes(months: pd.Series, rej: Rejects, ctx: RunContext, *,
                      field_name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`check_month`, looking at each distinct value once; also returns ``(codes, distinct)``
    with ``months == distinct[codes]`` (stripped)."""
    codes, uniq = pd.factorize(months, use_na_sentinel=False)
    m = pd.Series(uniq, dtype=months.dtype).str.strip()
    ok_u = m.str.fullmatch(r"\d{4}-(0[1-9]|1[0-2])").fillna(False).to_numpy(dtype=bool)
    lo = ctx.earliest.strftime("%Y-%m")
    hi = ctx.now.strftime("%Y-%m")
    vals_u = m.to_numpy(dtype=object)
    vals = vals_u[codes]
    ok_shape = ok_u[codes]
    rej.add(~ok_shape, field_name, np.array([f"{field_name} {v!r} is not a month (expected YYYY-MM)" for v in vals], dtype=object) if (~ok_shape).any() else "")
    early = (ok_u & (vals_u < lo))[codes]
    late = (ok_u & (vals_u > hi))[codes]
    if early.any():
        rej.add(early, field_name, np.array([f"{field_name} {v} is before {lo}, the earliest accepted month" for v in vals], dtype=object))
    if late.any():
        rej.add(late, field_name, np.array([f"{field_name} {v} is in the future (after {hi})" for v in vals], dtype=object))
    if ctx.kept_from is not None:
        expired = (ok_u & (vals_u < ctx.kept_from))[codes]
        if expired.any():
            rej.add(expired, field_name, retention_reason(field_name, ctx.kept_from), withhold_raw=True)
    return vals, codes, vals_u


def finish_chunk(chunk: pd.DataFrame, rej: Rejects, cols: dict[str, object], dup: np.ndarray) -> ChunkResult:
    """Keep the rows of ``cols`` that are neither rejected nor duplicate, as an :class:`IncidentBatch`."""
    keep = ~rej.mask & ~dup
    n = int(keep.sum())
    kept: dict[str, object] = {}
    for c in S.INCIDENT_COLUMNS:
        value = cols.get(c)  # a column a reader does not have (reported_by of a council log) is None
        if value is None or np.isscalar(value):
            kept[c] = value
        elif c in (S.X, S.Y, S.LON, S.LAT):
            kept[c] = np.asarray(value, dtype=float)[keep]
        elif c in (S.SENSITIVE, S.PROACTIVE):
            kept[c] = np.asarray(value, dtype=bool)[keep]
        else:
            kept[c] = np.asarray(value, dtype=object)[keep]
    return ChunkResult(IncidentBatch(n, kept), int((dup & ~rej.mask).sum()), rej.frame(), len(chunk),
                       rej.n_outside)
