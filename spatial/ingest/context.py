"""What a reader needs to know about the run: taxonomy, area layers, clock, limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import repeat

import numpy as np
import pandas as pd

from spatial import schema as S
from spatial.projection import Attributor

from .files import FileInfo
from .rows import IdAssigner, Rejects

__all__ = ["RunContext", "ChunkResult", "finish_chunk", "check_month"]


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
    ids: IdAssigner = field(init=False)

    def __post_init__(self) -> None:
        self.ids = IdAssigner(self.source)


@dataclass
class ChunkResult:
    """One chunk's outcome: canonical rows, within-file duplicates, rejects."""

    rows: pd.DataFrame
    duplicates: int
    rejects: pd.DataFrame
    read: int
    #: ``rows`` as tuples for the writer (built by the producer).
    records: list[tuple] | None = None


def check_month(months: pd.Series, rej: Rejects, ctx: RunContext, *, field_name: str) -> np.ndarray:
    """Reject values that are not a real ``YYYY-MM`` month in the accepted range."""
    m = months.str.strip()
    ok_shape = m.str.fullmatch(r"\d{4}-(0[1-9]|1[0-2])").fillna(False).to_numpy(dtype=bool)
    lo = ctx.earliest.strftime("%Y-%m")
    hi = ctx.now.strftime("%Y-%m")
    vals = m.to_numpy(dtype=object)
    rej.add(~ok_shape, field_name, np.array([f"{field_name} {v!r} is not a month (expected YYYY-MM)" for v in vals], dtype=object) if (~ok_shape).any() else "")
    early = ok_shape & (vals < lo)
    late = ok_shape & (vals > hi)
    if early.any():
        rej.add(early, field_name, np.array([f"{field_name} {v} is before {lo}, the earliest accepted month" for v in vals], dtype=object))
    if late.any():
        rej.add(late, field_name, np.array([f"{field_name} {v} is in the future (after {hi})" for v in vals], dtype=object))
    return vals


def finish_chunk(chunk: pd.DataFrame, rej: Rejects, cols: dict[str, object], dup: np.ndarray) -> ChunkResult:
    """Assemble the canonical rows from ``cols`` for rows neither rejected nor duplicate.

    Returns both the frame and the same rows as tuples for the writer, built
    straight from the column arrays (no round trip through the frame).
    """
    keep = ~rej.mask & ~dup
    n = int(keep.sum())
    kept: dict[str, object] = {}
    for c in S.INCIDENT_COLUMNS:
        value = cols[c]
        if value is None or np.isscalar(value):
            kept[c] = value
        elif c in (S.X, S.Y, S.LON, S.LAT):
            kept[c] = np.asarray(value, dtype=float)[keep]
        elif c in (S.SENSITIVE, S.PROACTIVE):
            kept[c] = np.asarray(value, dtype=bool)[keep]
        else:
            kept[c] = np.asarray(value, dtype=object)[keep]
    records = list(zip(*[v.tolist() if isinstance(v, np.ndarray) else repeat(v, n) for v in kept.values()]))
    frame = pd.DataFrame({c: pd.Series(v if isinstance(v, np.ndarray) else np.full(n, v, dtype=object),
                                       dtype=v.dtype if isinstance(v, np.ndarray) else object, copy=False)
                          for c, v in kept.items()}, index=pd.RangeIndex(n))
    return ChunkResult(frame, int((dup & ~rej.mask).sum()), rej.frame(), len(chunk), records)
