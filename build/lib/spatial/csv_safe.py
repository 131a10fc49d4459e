"""CSV injection (formula injection) defence for every CSV the product writes.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return as a formula: an estate name ``=HYPERLINK("http://x", "Park")``
becomes a live link and ``+cmd|' /C calc'!A0`` a command (OWASP "CSV
Injection").  :func:`neutralise_cell` prefixes such a *text* cell with a single
quote, which spreadsheets show as text; numeric columns are never touched, and a
text cell that is just a number (``-3``, ``+1.5``) is left as it is, since a
spreadsheet reads it as that number, not a formula.

Every CSV writer in ``spatial/``, ``tasking/`` and ``ui/`` goes through
:func:`to_csv` (or :func:`neutralise_frame` before its own ``to_csv``).
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

__all__ = ["FORMULA_START", "neutralise_cell", "neutralise_frame", "to_csv"]

#: First characters a spreadsheet treats as the start of a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def neutralise_cell(value: Any) -> Any:
    """``"'=SUM(A1)"`` for a text cell that a spreadsheet would run; anything else unchanged.

    Examples
    --------
    >>> neutralise_cell("=HYPERLINK(\\"http://x\\")"), neutralise_cell("-2+3+cmd"), neutralise_cell("@SUM(1)")
    ('\\'=HYPERLINK("http://x")', "'-2+3+cmd", "'@SUM(1)")
    >>> neutralise_cell("-3"), neutralise_cell(-3), neutralise_cell("Golborne"), neutralise_cell("\\tx")
    ('-3', -3, 'Golborne', "'\\tx")
    """
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells are neutralised (:func:`neutralise_cell`); numeric columns untouched.

    Column names are text cells too and are neutralised the same way.
    """
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s) or pd.api.types.is_datetime64_any_dtype(s):
            continue
        out[col] = s.map(neutralise_cell)
    out.columns = [neutralise_cell(c) if isinstance(c, str) else c for c in out.columns]
    return out


def to_csv(df: pd.DataFrame, path_or_buf: Any = None, **kwargs: Any) -> str | None:
    """``df.to_csv(path_or_buf, **kwargs)`` after :func:`neutralise_frame`: the one CSV writer."""
    return neutralise_frame(df).to_csv(path_or_buf, **kwargs)
