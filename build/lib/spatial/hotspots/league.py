"""League tables of areas (wards, LSOAs, estates, parks): counts, harm and rates.

Counts come either from incident points (attributed to areas at ingest, in the
``ward_code``/``lsoa_code``/``estate_id``/``park_id`` columns) or from the MPS
monthly area counts (``area_counts`` table: ``dataset, area_type, area_code,
major, minor, month, count``), which cover RBKC wards since 2010.  Both are
turned into one long format, ``area_code, category, sensitive, count, harm``,
from which :func:`league_table` builds one row per area.

Rates are per 1,000 residents (Census 2021: ``data/population``) and per 1,000
homes where a ``homes`` figure is given (estates).

Disclosure
----------
With ``suppress_sensitive=True`` (the default) a sensitive count of 1 to 4 in
an area is shown as "fewer than 5" (value missing).  Because the area's total
minus its non-sensitive count would reveal the suppressed number, the total
count, harm and rates of that area are withheld too (missing, ranked last);
``count_non_sensitive`` and ``harm_non_sensitive`` are always given.  Because
the borough's sensitive total (shown elsewhere) minus the other areas' counts
would still reveal it, secondary suppression (:mod:`spatial.disclosure`) also
withholds the next-smallest sensitive counts (``secondary``, shown "withheld")
until no hidden count can be derived from the published ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from .._errors import SchemaError
from ..disclosure import WITHHELD, protect_table
from ..harm import HarmIndex, load_harm_weights
from ..schema import CATEGORY, SENSITIVE, WARD_CODE, load_taxonomy

__all__ = [
    "MPS_CATEGORY_MAP",
    "SUPPRESS_BELOW",
    "area_counts_from_incidents",
    "area_counts_from_mps",
    "league_table",
    "load_population",
]

#: Sensitive counts from 1 to SUPPRESS_BELOW - 1 are suppressed.
SUPPRESS_BELOW = 5

#: MPS major category (upper case) -> canonical category; THEFT is split by minor category.
MPS_CATEGORY_MAP: dict[str, str] = {
    "ARSON AND CRIMINAL DAMAGE": "criminal-damage-arson",
    "BURGLARY": "burglary",
    "DRUG OFFENCES": "drugs",
    "POSSESSION OF WEAPONS": "possession-of-weapons",
    "PUBLIC ORDER OFFENCES": "public-order",
    "ROBBERY": "robbery",
    "VEHICLE OFFENCES": "vehicle-crime",
    "VIOLENCE AGAINST THE PERSON": "violent-crime",
    "SEXUAL OFFENCES": "violent-crime",
    "MISCELLANEOUS CRIMES AGAINST SOCIETY": "other-crime",
    "FRAUD AND FORGERY": "other-crime",
}
_MPS_THEFT = {"BICYCLE THEFT": "bicycle-theft", "SHOPLIFTING": "shoplifting",
              "THEFT FROM THE PERSON": "theft-from-the-person", "OTHER THEFT": "other-theft"}

_POPULATION_FILES = {
    "ward": ("population/rbkc_ward_census2021_population_bestfit_DERIVED.csv", "WD25CD"),
    "lsoa": ("population/rbkc_lsoa21_census2021_ts007a_age.csv", "geography code"),
}


def load_population(kind: Literal["ward", "lsoa"] = "ward", *, data_dir: Path | None = None) -> pd.Series:
    """Census 2021 usual residents (``Age: Total``) per RBKC ward or 2021 LSOA.

    Ward figures are the best-fit sum of 2021 LSOAs (``..._DERIVED.csv``; see
    ``data/SOURCES.md``).  Returns a Series indexed by area code.
    """
    from ..datasets import get_path

    if kind not in _POPULATION_FILES:
        msg = f'population kind was "{kind}" but is expected to be "ward" or "lsoa"'
        raise SchemaError(msg)
    rel, code = _POPULATION_FILES[kind]
    df = pd.read_csv(get_path(rel, data_dir=data_dir))
    return df.set_index(code)["Age: Total"].astype(float).rename("population")


def _harm_lookup(index: HarmIndex, table: pd.DataFrame | None) -> pd.Series:
    return load_harm_weights(index, table=table)


def area_counts_from_incidents(incidents: pd.DataFrame, *, area_col: str = WARD_CODE,
                               harm_index: HarmIndex = "cchi", harm_table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Counts and harm per area and category from canonical incidents.

    Rows without an area code are left out (``attrs["n_unattributed"]``).
    ``sensitive`` comes from the incidents' ``sensitive`` column, else the taxonomy.

    Returns
    -------
    pandas.DataFrame
        ``area_code, category, sensitive, count, harm``.
    """
    for c in (area_col, CATEGORY):
        if c not in incidents.columns:
            msg = f"incidents lack column {c!r}; columns are {list(incidents.columns)[:20]}"
            raise SchemaError(msg)
    df = pd.DataFrame({"area_code": incidents[area_col].to_numpy(dtype=object),
                       "category": incidents[CATEGORY].astype(str).to_numpy(dtype=object)})
    if SENSITIVE in incidents.columns:
        df["sensitive"] = incidents[SENSITIVE].fillna(False).astype(bool).to_numpy()
    else:
        df["sensitive"] = df["category"].isin(load_taxonomy().sensitive_slugs())
    missing = df["area_code"].isna()
    df = df[~missing]
    out = df.groupby(["area_code", "category", "sensitive"], sort=True).size().rename("count").reset_index()
    out["count"] = out["count"].astype(np.int64)
    weights = _harm_lookup(harm_index, harm_table)
    unknown = sorted(set(out["category"]) - set(weights.index))
    if unknown:
        msg = f"no {harm_index} harm weight for categories {unknown}; add them to the harm table"
        raise SchemaError(msg)
    out["harm"] = out["count"] * out["category"].map(weights).astype(float)
    out.attrs["n_unattributed"] = int(missing.sum())
    out.attrs["harm_index"] = harm_index
    return out


def _mps_category(major: pd.Series, minor: pd.Series) -> pd.Series:
    maj = major.astype(str).str.strip().str.upper()
    mino = minor.astype(str).str.strip().str.upper()
    cat = maj.map(MPS_CATEGORY_MAP)
    theft = maj == "THEFT"
    cat[theft] = mino[theft].map(_MPS_THEFT).fillna("other-theft")
    return cat.fillna("other-crime")


def area_counts_from_mps(area_counts: pd.DataFrame, *, area_type: str = "ward", months: Sequence[str] | None = None,
                         harm_index: HarmIndex = "cchi", harm_table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Counts and harm per area and canonical category from MPS monthly area counts.

    MPS major/minor categories are mapped with :data:`MPS_CATEGORY_MAP` (theft by
    minor category); violence against the person and sexual offences become
    ``violent-crime`` and are sensitive, as in police.uk.  Several datasets may
    overlap in months: each (area, major, minor, month) is counted once, from the
    dataset listed last in sorted order (the most recent extract) among those
    whose month is not zero for every area (MPS rolling releases carry an
    all-zero first month: see :func:`spatial.series.splice_series`).

    Returns
    -------
    pandas.DataFrame
        ``area_code, category, sensitive, count, harm`` (summed over ``months``, all if None).
    """
    need = ["dataset", "area_type", "area_code", "major", "minor", "month", "count"]
    missing = [c for c in need if c not in area_counts.columns]
    if missing:
        msg = f"area counts lack columns {missing}; expected the store's area_counts table {need}"
        raise SchemaError(msg)
    df = area_counts[area_counts["area_type"] == area_type]
    if months is not None:
        df = df[df["month"].isin(list(months))]
    totals = df.groupby(["dataset", "month"])["count"].transform(lambda c: pd.to_numeric(c).sum())
    df = df[totals > 0]  # a release's all-zero month is an artefact, never a month without crime
    df = (df.sort_values("dataset").drop_duplicates(["area_code", "major", "minor", "month"], keep="last"))
    cat = _mps_category(df["major"], df["minor"])
    long = pd.DataFrame({"area_code": df["area_code"].to_numpy(dtype=object), "category": cat.to_numpy(dtype=object),
                         "count": pd.to_numeric(df["count"]).to_numpy(np.int64)})
    long["sensitive"] = long["category"].isin(load_taxonomy().sensitive_slugs())
    out = long.groupby(["area_code", "category", "sensitive"], sort=True)["count"].sum().reset_index()
    weights = _harm_lookup(harm_index, harm_table)
    out["harm"] = out["count"] * out["category"].map(weights).astype(float)
    out.attrs["harm_index"] = harm_index
    return out


def league_table(counts: pd.DataFrame, *, population: pd.Series | None = None, homes: pd.Series | None = None,
                 names: pd.Series | None = None, suppress_sensitive: bool = True,
                 sort_by: Literal["harm", "count", "rate_per_1000", "harm_per_1000"] = "harm",
                 by_category: bool = False, areas: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per area: counts, harm, rates and rank, with small sensitive counts suppressed.

    Parameters
    ----------
    counts
        Long counts ``area_code, category, sensitive, count, harm`` from
        :func:`area_counts_from_incidents` or :func:`area_counts_from_mps`.
    population
        Residents per area code (e.g. :func:`load_population`); adds
        ``rate_per_1000`` and ``harm_per_1000``.
    homes
        Homes per area code (estates); adds ``rate_per_1000_homes``.
    names
        Optional area name per code.
    suppress_sensitive
        Suppress sensitive counts of 1-4 (see module notes).  Default True.
    sort_by
        Ranking column (rank 1 = highest; withheld values rank last).
    by_category
        Add one ``n_<category>`` column per category (sensitive ones suppressed).
    areas
        Areas to list even with no incidents (zeros), e.g. every ward code.

    Returns
    -------
    pandas.DataFrame
        Sorted by rank: ``rank, area_code, [area_name], count, harm, count_non_sensitive,
        harm_non_sensitive, sensitive_count, sensitive_display, suppressed, [population,
        rate_per_1000, harm_per_1000], [homes, rate_per_1000_homes], [n_<category>...]``.

    Raises
    ------
    SchemaError
        For missing columns or an unknown ``sort_by``.
    """
    need = ["area_code", "category", "sensitive", "count", "harm"]
    missing = [c for c in need if c not in counts.columns]
    if missing:
        msg = f"counts lack columns {missing}; build them with area_counts_from_incidents or area_counts_from_mps"
        raise SchemaError(msg)
    allowed = ["harm", "count", "rate_per_1000", "harm_per_1000"]
    if sort_by not in allowed or (sort_by.endswith("_per_1000") and population is None):
        msg = f'sort_by was "{sort_by}" but is expected to be one of {allowed} (rates need population)'
        raise SchemaError(msg)
    c = counts.copy()
    c["sensitive"] = c["sensitive"].astype(bool)
    codes = pd.Index(sorted(set(c["area_code"]).union(areas or [])), name="area_code")
    tot = c.groupby("area_code")[["count", "harm"]].sum().reindex(codes, fill_value=0)
    ns = c[~c["sensitive"]].groupby("area_code")[["count", "harm"]].sum().reindex(codes, fill_value=0)
    sens = c[c["sensitive"]].groupby("area_code")["count"].sum().reindex(codes, fill_value=0)
    out = pd.DataFrame(index=codes)
    if names is not None:
        out["area_name"] = names.reindex(codes)
    out["count"] = tot["count"].astype(float)
    out["harm"] = tot["harm"].astype(float)
    out["count_non_sensitive"] = ns["count"].astype(np.int64)
    out["harm_non_sensitive"] = ns["harm"].astype(float)
    out["sensitive_count"] = sens.astype(float)
    small = (sens > 0) & (sens < SUPPRESS_BELOW) if suppress_sensitive else pd.Series(False, index=codes)
    if by_category:
        # a sensitive category of 1-4 also suppresses its own column
        per = c.pivot_table(index="area_code", columns="category", values="count", aggfunc="sum").reindex(codes)
        per = per.fillna(0)
        sens_cats = set(c.loc[c["sensitive"], "category"])
        for cat in sorted(per.columns):
            col = per[cat].astype(float)
            if suppress_sensitive and cat in sens_cats:
                hide = (col > 0) & (col < SUPPRESS_BELOW)
                small = small | hide
                col = col.mask(hide)
            out[f"n_{cat}"] = col
    secondary = pd.Series(False, index=codes)
    if suppress_sensitive and len(codes):
        secondary = _secondary_suppression(c, codes, sens, by_category=by_category)
        if by_category:
            for cat, hide in secondary.attrs["cells"].items():
                out[f"n_{cat}"] = out[f"n_{cat}"].mask(hide)
        secondary = secondary & ~small
    out["suppressed"] = (small | secondary).astype(bool)
    out["sensitive_display"] = out["sensitive_count"].map(lambda v: f"{int(v)}")
    out.loc[secondary, "sensitive_display"] = WITHHELD
    out.loc[small, "sensitive_display"] = f"fewer than {SUPPRESS_BELOW}"
    out.loc[small | secondary, ["sensitive_count", "count", "harm"]] = np.nan
    out["secondary"] = secondary.astype(bool)
    if population is not None:
        pop = population.reindex(codes).astype(float)
        out["population"] = pop
        out["rate_per_1000"] = out["count"] / pop * 1000
        out["harm_per_1000"] = out["harm"] / pop * 1000
    if homes is not None:
        h = homes.reindex(codes).astype(float)
        out["homes"] = h
        out["rate_per_1000_homes"] = out["count"] / h * 1000
    out["rank"] = out[sort_by].rank(ascending=False, method="min", na_option="bottom").astype(np.int64)
    out = out.reset_index().sort_values(["rank", "area_code"], kind="stable").reset_index(drop=True)
    cols = ["rank"] + [k for k in out.columns if k != "rank"]
    out = out[cols]
    out.attrs["harm_index"] = counts.attrs.get("harm_index")
    out.attrs["suppress_sensitive"] = bool(suppress_sensitive)
    return out


def _secondary_suppression(c: pd.DataFrame, codes: pd.Index, sens: pd.Series, *, by_category: bool) -> pd.Series:
    """Areas hidden by secondary suppression (:func:`spatial.disclosure.protect_table`).

    The table protected has one row per area and one column per sensitive
    category (``by_category``) or one column of sensitive counts; the column
    totals (the borough's sensitive counts, shown in other tables) are public,
    and an area with a hidden cell has its own total withheld.  ``attrs["cells"]``
    maps each sensitive category to the mask of its hidden cells.
    """
    if by_category:
        s = c[c["sensitive"]]
        table = (s.pivot_table(index="area_code", columns="category", values="count", aggfunc="sum")
                 .reindex(codes).fillna(0).astype(np.int64))
    else:
        table = sens.astype(np.int64).to_frame("sensitive")
    if table.shape[1] == 0:
        out = pd.Series(False, index=codes)
        out.attrs["cells"] = {}
        return out
    p = protect_table(table.to_numpy(), np.ones(table.shape[1], dtype=bool), below=SUPPRESS_BELOW,
                      row_total_follows_cells=True)
    out = pd.Series(p.secondary.any(axis=1), index=codes)
    out.attrs["cells"] = ({cat: pd.Series(p.hidden[:, k], index=codes) for k, cat in enumerate(table.columns)}
                          if by_category else {})
    return out
