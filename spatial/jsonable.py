"""One numpy-to-JSON conversion for the whole house: numpy scalars, frames' records and nested parameters.

Plans, hotspot parameters, reviews, pack exports and the store's writer all
turn numpy values into plain Python through these three functions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["finite_float", "plain", "plain_records", "py_scalar"]


def finite_float(value: Any) -> float | None:
    """``value`` as a finite float, or ``None`` (missing, not a number, NaN or infinite).

    Examples
    --------
    >>> finite_float("2.5"), finite_float(np.float64("nan")), finite_float(None), finite_float(float("inf"))
    (2.5, None, None, None)
    """
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def py_scalar(value: Any, *, nan: bool = False, inf: bool = False) -> Any:
    """A numpy scalar as the Python scalar it holds; with ``nan``/``inf``, NaN/infinite floats become ``None``.

    Anything else is returned unchanged.

    Examples
    --------
    >>> py_scalar(np.int64(3)), py_scalar(np.float64("nan"), nan=True), py_scalar(float("inf"), inf=True)
    (3, None, None)
    >>> type(py_scalar(np.float32(0.5)))
    <class 'float'>
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and ((nan and math.isnan(value)) or (inf and math.isinf(value))):
        return None
    return value


def plain(value: Any) -> Any:
    """``value`` with numpy scalars made Python, tuples and lists made lists and mapping keys made text (recursive).

    Examples
    --------
    >>> plain({"a": (np.int64(1), [np.float64(2.5)]), 3: {"b": np.bool_(True)}})
    {'a': [1, [2.5]], '3': {'b': True}}
    """
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def plain_records(df: pd.DataFrame, *, nan: bool = False) -> list[dict[str, Any]]:
    """The frame's rows as dicts of Python scalars (:func:`py_scalar` on every value; NaN to ``None`` with ``nan``).

    Examples
    --------
    >>> plain_records(pd.DataFrame({"a": [1, 2], "b": [0.5, float("nan")]}), nan=True)
    [{'a': 1, 'b': 0.5}, {'a': 2, 'b': None}]
    """
    return [{k: py_scalar(v, nan=nan) for k, v in r.items()} for r in df.to_dict(orient="records")]
