"""Harm weights per incident category (Cambridge Crime Harm Index, ONS Crime Severity Score).

The weights live in a data file, ``spatial/data/harm_weights.csv``, documented in
``spatial/data/harm_weights.md`` (sources, the local offence mix used to get one
weight per police.uk category, and the policy values for ASB and council
categories, which neither index covers).  Any function here accepts a table of
the same shape, so a council can change a weight without touching code.

References
----------
Sherman, L., Neyroud, P. W. & Neyroud, E. (2016). The Cambridge Crime Harm Index.
*Policing* 10(3):171-183.
Office for National Statistics (2016). Research outputs: developing a Crime
Severity Score for England and Wales.
Ashby, M. P. J. (2017). Comparing methods for measuring crime harm/severity.
*Policing* 12(4):439-454.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from typing import Literal

import numpy as np
import pandas as pd

from ._errors import SchemaError

__all__ = [
    "HARM_INDEXES",
    "HARM_TABLE_COLUMNS",
    "HarmIndex",
    "harm_weight",
    "load_harm_table",
    "load_harm_weights",
]

HarmIndex = Literal["cchi", "ons_css"]
#: Index name -> column of the harm table.
HARM_INDEXES: dict[str, str] = {"cchi": "cchi_days", "ons_css": "ons_css"}
HARM_TABLE_COLUMNS: tuple[str, ...] = ("category", "cchi_days", "ons_css", "policy", "source")


def _check_table(table: pd.DataFrame) -> None:
    missing = [c for c in HARM_TABLE_COLUMNS if c not in table.columns]
    if missing:
        msg = (f"harm table lacks columns {missing}; it must have {list(HARM_TABLE_COLUMNS)} "
               "(see spatial/data/harm_weights.md)")
        raise SchemaError(msg)
    if table["category"].duplicated().any():
        dups = sorted(table.loc[table["category"].duplicated(), "category"].unique())
        msg = f"harm table names categories more than once: {dups}; keep one row per category"
        raise SchemaError(msg)
    for col in ("cchi_days", "ons_css"):
        vals = pd.to_numeric(table[col], errors="coerce")
        bad = table.loc[vals.isna() | (vals < 0), "category"].tolist()
        if bad:
            msg = f"harm table column {col!r} must be a number >= 0 for every category; check {bad}"
            raise SchemaError(msg)


def load_harm_table(table: pd.DataFrame | None = None) -> pd.DataFrame:
    """The full harm table (bundled unless ``table`` is given), validated.

    Parameters
    ----------
    table
        A replacement table with columns ``category, cchi_days, ons_css, policy, source``.

    Returns
    -------
    pandas.DataFrame
        A copy, indexed by ``category``.

    Raises
    ------
    SchemaError
        If a column is missing, a category repeats or a weight is not a number >= 0.
    """
    if table is None:
        with (resources.files("spatial") / "data" / "harm_weights.csv").open(encoding="utf-8") as fh:
            table = pd.read_csv(fh, dtype={"category": str, "policy": str, "source": str})
    else:
        table = table.copy()
    _check_table(table)
    out = table.set_index("category")
    for col in ("cchi_days", "ons_css"):
        out[col] = pd.to_numeric(out[col]).astype(float)
    return out


def load_harm_weights(index: HarmIndex = "cchi", *, table: pd.DataFrame | None = None) -> pd.Series:
    """Weight per category for one harm index.

    Parameters
    ----------
    index
        ``"cchi"`` (Cambridge Crime Harm Index, days; Sherman et al. 2016) or
        ``"ons_css"`` (ONS Crime Severity Score, ONS 2016).
    table
        Optional replacement harm table (see :func:`load_harm_table`).

    Returns
    -------
    pandas.Series
        Float weights indexed by category slug, named after the index.

    Raises
    ------
    SchemaError
        If ``index`` is unknown or the table is invalid.

    Examples
    --------
    >>> w = load_harm_weights("cchi")
    >>> float(w["shoplifting"]), float(w["anti-social-behaviour"])
    (1.0, 1.0)
    """
    if index not in HARM_INDEXES:
        msg = f"harm index was {index!r} but is expected to be one of {sorted(HARM_INDEXES)}"
        raise SchemaError(msg)
    s = load_harm_table(table)[HARM_INDEXES[index]].rename(index)
    return s


def harm_weight(categories: Iterable[str] | pd.Series | np.ndarray, *, index: HarmIndex = "cchi",
                table: pd.DataFrame | None = None) -> np.ndarray:
    """Harm weight of each incident, from its canonical category.

    Parameters
    ----------
    categories
        Canonical category slug per incident.
    index
        Harm index: ``"cchi"`` or ``"ons_css"``.
    table
        Optional replacement harm table.

    Returns
    -------
    numpy.ndarray
        Float weights aligned with ``categories``.

    Raises
    ------
    SchemaError
        If a category has no weight in the table (never silently zero).

    Examples
    --------
    >>> harm_weight(["robbery", "shoplifting"], index="cchi").tolist()
    [365.0, 1.0]
    """
    weights = load_harm_weights(index, table=table)
    cats = pd.Series(np.asarray(list(categories) if not isinstance(categories, (pd.Series, np.ndarray))
                                else categories, dtype=object))
    out = cats.map(weights)
    if out.isna().any():
        unknown = sorted({str(c) for c in cats[out.isna()].unique()})
        msg = (f"no {index} harm weight for categories {unknown}; add them to the harm table "
               f"(known: {sorted(weights.index)})")
        raise SchemaError(msg)
    return out.to_numpy(dtype=float)
