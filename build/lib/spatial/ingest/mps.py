"""MPS recorded-crime wide tables (London Datastore) as aggregate series, not points.

One row per area x major x minor offence category, one integer column per
month (``YYYYMM``).  Ward files use ``wardcode``/``WardCode``; LSOA files use
``lsoa_code``.  Each input row is stored as its monthly counts, recognised as
a duplicate of counts already stored for the same data set, or quarantined.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from spatial._errors import IngestError

from .rows import ROW, Rejects, check_common

__all__ = ["normalise_mps", "mps_layout", "MpsLayout"]

_MONTH = re.compile(r"^(\d{4})(\d{2})$")


class MpsLayout:
    """Which columns of a wide table hold what."""

    def __init__(self, header: tuple[str, ...], path) -> None:
        lower = {c.lower(): c for c in header}
        code = lower.get("wardcode") or lower.get("lsoa_code") or lower.get("lsoacode")
        if code is None:
            msg = f"{path}: an MPS table needs a wardcode or lsoa_code column"
            raise IngestError(msg, path=str(path), field="wardcode")
        self.area_type = "ward" if "ward" in code.lower() else "lsoa"
        self.code = code
        self.name = lower.get("wardname") or lower.get("lsoa_name")
        self.major = lower.get("majortext") or lower.get("major_category")
        self.minor = lower.get("minortext") or lower.get("minor_category")
        if self.major is None or self.minor is None:
            msg = f"{path}: an MPS table needs MajorText/MinorText (or major_category/minor_category) columns"
            raise IngestError(msg, path=str(path), field="MajorText")
        self.months = [c for c in header if _MONTH.match(c)]
        bad = [c for c in self.months if not 1 <= int(c[4:]) <= 12]
        if bad:
            msg = f"{path}: column(s) {bad} are not months (expected YYYYMM)"
            raise IngestError(msg, path=str(path), field=bad[0])


#: Largest count accepted: every whole number up to it is exact in a float64 (a borough's month is far below).
MAX_COUNT = 2**53


def mps_layout(header: tuple[str, ...], path) -> MpsLayout:
    return MpsLayout(header, path)


def normalise_mps(chunk: pd.DataFrame, layout: MpsLayout, *, max_field_chars: int, now_month: str) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Return ``(long counts, rejects, rows read)`` for a chunk of a wide table.

    Long counts have ``row, area_type, area_code, area_name, major, minor, month, count``.
    """
    rej = Rejects(chunk)
    check_common(chunk, rej, max_field_chars=max_field_chars)
    code = chunk[layout.code].str.strip()
    rej.add((~code.str.fullmatch(r"E0[0-9]{7}").fillna(False)).to_numpy(), layout.code,
            np.array([f"{layout.code} {v!r} is not a GSS area code" for v in code], dtype=object))
    values = chunk[layout.months].apply(lambda s: pd.to_numeric(s.str.strip(), errors="coerce"))
    arr = values.to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):  # inf, "1e309" and counts past 2**53 are not counts either
        bad_cell = ~np.isfinite(arr) | (arr < 0) | (np.floor(arr) != arr) | (arr > MAX_COUNT)
    if bad_cell.any():
        first = bad_cell.argmax(axis=1)
        reasons = np.array([f"count in {layout.months[j]} is {chunk[layout.months[j]].iloc[i]!r}; expected a whole number >= 0"
                            for i, j in enumerate(first)], dtype=object)
        rej.add(bad_cell.any(axis=1), "month counts", reasons)
    keep = ~rej.mask
    kept = chunk[keep]
    n_months = len(layout.months)
    months = [f"{c[:4]}-{c[4:]}" for c in layout.months]
    long = pd.DataFrame({
        "row": np.repeat(kept[ROW].to_numpy(), n_months),
        "area_type": layout.area_type,
        "area_code": np.repeat(code[keep].to_numpy(dtype=object), n_months),
        "area_name": np.repeat(kept[layout.name].to_numpy(dtype=object), n_months) if layout.name else None,
        "major": np.repeat(kept[layout.major].str.strip().to_numpy(dtype=object), n_months),
        "minor": np.repeat(kept[layout.minor].str.strip().to_numpy(dtype=object), n_months),
        "month": np.tile(np.asarray(months, dtype=object), int(keep.sum())),
        "count": arr[keep].reshape(-1).astype(np.int64),
    })
    return long, rej.frame(), len(chunk)
