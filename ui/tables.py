"""Pure display tables: query results in, frames ready for ``st.dataframe`` out.

Suppression happens in the queries (``spatial.store.queries``); these
functions only reshape and label, and never total a column, because a total
next to a "fewer than 5" cell would reveal the suppressed count.
"""

from __future__ import annotations

from collections.abc import Collection

import geopandas as gpd
import pandas as pd

from spatial._errors import SchemaError
from spatial.schema import Taxonomy, load_taxonomy

__all__ = ["SENSITIVE_SUFFIX", "ward_label", "ward_labels", "ward_category_table"]

#: Appended to the column header of a sensitive category in the count table.
SENSITIVE_SUFFIX = " (sensitive)"

_COUNT_COLUMNS = ("ward_code", "category", "sensitive", "display")


def ward_label(name: str, borough: str | None = None) -> str:
    """``"Abingdon"`` or, when the borough is given, ``"Abingdon (Kensington and Chelsea)"``."""
    return f"{name} ({borough})" if borough else name


def ward_labels(wards: pd.DataFrame, *, with_borough: bool) -> dict[str, str]:
    """Ward code -> display label, in the order of ``wards`` sorted by borough then ward name."""
    ordered = wards.sort_values(["borough_name", "ward_name"] if with_borough else ["ward_name"])
    return {code: ward_label(name, borough if with_borough else None)
            for code, name, borough in zip(ordered["ward_code"], ordered["ward_name"],
                                           ordered["borough_name"], strict=True)}


def ward_category_table(counts: pd.DataFrame, wards: gpd.GeoDataFrame | pd.DataFrame, *,
                        ward_codes: Collection[str] | None = None, categories: Collection[str] | None = None,
                        with_borough: bool = False,
                        taxonomy: Taxonomy | None = None) -> pd.DataFrame:
    """Wards as rows, categories as columns, the query's display strings as cells.

    Parameters
    ----------
    counts
        Output of ``spatial.store.queries.ward_category_counts`` (``ward_code,
        category, sensitive, count, display``), already suppressed.
    wards
        Ward names (``ward_code, ward_name, borough_name``).
    ward_codes
        The wards to list (every ward in ``wards`` when empty or ``None``);
        a ward with no incidents gets a row of "0".
    categories
        Non-sensitive category slugs to show (all present when empty or
        ``None``).  Sensitive categories present in ``counts`` are always
        shown, labelled with :data:`SENSITIVE_SUFFIX`.
    with_borough
        Label wards "Ward (Borough)".
    taxonomy
        Labels and sensitivity (default: the bundled taxonomy).

    Returns
    -------
    pandas.DataFrame
        Indexed by ward label ("Ward"), one string column per category in
        taxonomy order, non-sensitive first.

    Raises
    ------
    SchemaError
        If ``counts`` lacks a column of the query output.
    """
    missing = [c for c in _COUNT_COLUMNS if c not in counts.columns]
    if missing:
        msg = (f"counts lack the columns {missing}; expected spatial.store.queries.ward_category_counts "
               f"output (columns {list(counts.columns)})")
        raise SchemaError(msg)
    tax = taxonomy or load_taxonomy()
    sensitive = tax.sensitive_slugs() | set(counts.loc[counts["sensitive"].astype(bool), "category"])
    chosen = set(categories or ())
    present = set(counts["category"])
    order = list(tax.categories) + sorted(present - set(tax.categories))
    shown = [c for c in order if c in present and c not in sensitive and (not chosen or c in chosen)]
    shown += [c for c in order if c in present and c in sensitive]

    def header(slug: str) -> str:
        label = tax.categories[slug].label if slug in tax.categories else slug
        return label + SENSITIVE_SUFFIX if slug in sensitive else label

    listed = wards[wards["ward_code"].isin(ward_codes)] if ward_codes else wards
    labels = ward_labels(listed, with_borough=with_borough)
    cells = counts[counts["ward_code"].isin(labels) & counts["category"].isin(shown)]
    wide = (cells.pivot(index="ward_code", columns="category", values="display")
            .reindex(index=list(labels), columns=shown).fillna("0"))
    wide.index = pd.Index([labels[c] for c in wide.index], name="Ward")
    wide.columns = pd.Index([header(c) for c in wide.columns], name=None)
    return wide.astype(str)
