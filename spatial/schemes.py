"""A housing association's schemes (estates) as the unit of analysis: residents, homes and rates.

A housing association manages *schemes*: estates, blocks, sheltered and
supported housing.  It loads them as the ``estates`` layer
(``hotspot-tasking layers estates schemes.gpkg --id-column ... --homes-column
homes``); incidents ingested afterwards carry the scheme in ``estate_id``, and
every estate-level method (the league table, emerging-hotspot classes,
deployable CCTV siting) runs on schemes.

Rates: which denominator
------------------------
West Kent's strategy wants its case numbers "against the number of homes we
have in each area" and "cases per 1000 population" (West Kent Community Safety
Strategy 2018-2022, "Measuring Success").  :func:`scheme_league` therefore gives
each scheme **one headline rate** and says which denominator it used, row by
row, in ``denominator`` and ``rate_basis``:

* **per 1,000 homes** where the stock layer gives the scheme a homes count
  (``homes`` > 0);
* otherwise **per 1,000 residents**, estimated from Census 2021 usual residents
  by 2021 LSOA (:func:`apportion_residents`);
* otherwise no rate (``denominator`` ``"none"``).

Apportioning residents to schemes
---------------------------------
A scheme is rarely a whole LSOA, so residents are apportioned from the LSOAs it
overlaps, in one of two documented ways:

``method="area"`` (areal weighting)
    Each LSOA's residents are spread evenly over its area; a scheme gets
    ``population x area(scheme ∩ LSOA) / area(LSOA)`` from each LSOA it
    touches.  Needs nothing but the boundaries; it underestimates dense schemes
    in large, mostly empty LSOAs (rural Kent), so prefer homes counts there.
``method="address_points"`` (dasymetric weighting)
    Each LSOA's residents are spread evenly over its residential address points
    (for example OS AddressBase or the association's own property list, loaded
    by the user): a scheme gets ``population x (address points of the LSOA
    inside the scheme) / (address points of the LSOA)``.  An LSOA with no
    address point falls back to areal weighting and is counted in
    ``attrs["lsoas_by_area"]``.

Both keep the total: over a set of schemes that tile the LSOAs exactly, the
apportioned residents sum to the LSOAs' population.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._errors import SchemaError
from .hotspots.league import area_counts_from_incidents, league_table
from .low_months import league_incidents
from .not_asb import not_asb_slugs, split_not_asb
from .projection import require_bng
from .schema import CATEGORY, ESTATE_ID

__all__ = ["ApportionMethod", "RATE_BASIS", "apportion_residents", "scheme_league"]

ApportionMethod = Literal["area", "address_points"]

#: ``denominator`` -> the label shown with the rate.
RATE_BASIS: dict[str, str] = {
    "homes": "per 1,000 homes (stock layer)",
    "residents-area": "per 1,000 residents (Census 2021 by LSOA, apportioned by area)",
    "residents-address_points": "per 1,000 residents (Census 2021 by LSOA, apportioned by address points)",
    "none": "no rate: no homes count and no residents",
}


def apportion_residents(units: gpd.GeoDataFrame, lsoas: gpd.GeoDataFrame, population: pd.Series, *,
                        method: ApportionMethod = "area", address_points: gpd.GeoDataFrame | None = None,
                        id_col: str = "area_id", lsoa_code_col: str = "lsoa_code") -> pd.Series:
    """Census residents apportioned from LSOAs to schemes (or any polygons).

    Parameters
    ----------
    units
        Scheme polygons, EPSG:27700, with ids in ``id_col``.
    lsoas
        LSOA polygons, EPSG:27700, with codes in ``lsoa_code_col``.
    population
        Usual residents per LSOA code (e.g. Census 2021 TS001).
    method
        ``"area"`` or ``"address_points"`` (see the module notes).
    address_points
        Residential address points (EPSG:27700), needed for ``"address_points"``.

    Returns
    -------
    pandas.Series
        Residents per scheme id (float), named ``residents``; ``attrs`` has
        ``method`` and ``lsoas_by_area`` (LSOAs apportioned by area).

    Raises
    ------
    SchemaError
        For a missing column, an unknown method, missing address points, or
        LSOAs the scheme overlaps that have no population figure.

    Examples
    --------
    >>> from shapely import box
    >>> lsoa = gpd.GeoDataFrame({"lsoa_code": ["E1"]}, geometry=[box(0, 0, 100, 100)], crs=27700)
    >>> s = gpd.GeoDataFrame({"area_id": ["A"]}, geometry=[box(0, 0, 50, 100)], crs=27700)
    >>> float(apportion_residents(s, lsoa, pd.Series({"E1": 1000.0}))["A"])
    500.0
    """
    require_bng(units, name="the schemes")
    require_bng(lsoas, name="the LSOAs")
    if method not in ("area", "address_points"):
        msg = f'method was "{method}" but is expected to be "area" or "address_points"'
        raise SchemaError(msg)
    for col, frame, what in ((id_col, units, "schemes"), (lsoa_code_col, lsoas, "LSOAs")):
        if col not in frame.columns:
            msg = f"the {what} lack column {col!r}; columns are {[c for c in frame.columns if c != 'geometry']}"
            raise SchemaError(msg)
    if method == "address_points":
        if address_points is None or len(address_points) == 0:
            msg = "method 'address_points' needs residential address points (address_points=...)"
            raise SchemaError(msg)
        require_bng(address_points, name="the address points")
    ugeom = np.asarray(units.geometry.values, dtype=object)
    lgeom = np.asarray(lsoas.geometry.values, dtype=object)
    lcodes = lsoas[lsoa_code_col].astype(str).to_numpy()
    tree = shapely.STRtree(lgeom)
    ui, li = tree.query(ugeom, predicate="intersects")
    inter = shapely.area(shapely.intersection(ugeom[ui], lgeom[li]))
    keep = inter > 0
    ui, li, inter = ui[keep], li[keep], inter[keep]
    missing = sorted(set(lcodes[li]) - set(population.index.astype(str)))
    if missing:
        msg = f"no population for LSOAs {missing[:5]} that the schemes overlap; give Census figures for every LSOA"
        raise SchemaError(msg)
    pop = population.copy()
    pop.index = pop.index.astype(str)
    share = inter / shapely.area(lgeom[li])
    by_area: set[str] = set()
    if method == "address_points" and address_points is not None:
        ax, ay = address_points.geometry.x.to_numpy(), address_points.geometry.y.to_numpy()
        pts = shapely.points(ax, ay)
        p_l, l_l = shapely.STRtree(lgeom).query(pts, predicate="within")
        n_in_lsoa = np.bincount(l_l, minlength=len(lgeom)).astype(float)
        p_u, u_u = shapely.STRtree(ugeom).query(pts, predicate="within")
        # (unit, lsoa) pairs of each point
        lsoa_of_pt = np.full(len(pts), -1)
        lsoa_of_pt[p_l] = l_l
        pairs = pd.DataFrame({"u": u_u, "l": lsoa_of_pt[p_u]})
        pairs = pairs[pairs["l"] >= 0].groupby(["u", "l"]).size()
        counted = np.array([pairs.get((u, lx), 0) for u, lx in zip(ui, li, strict=True)], dtype=float)
        has = n_in_lsoa[li] > 0
        share = np.where(has, counted / np.where(has, n_in_lsoa[li], 1.0), share)
        by_area = set(lcodes[li][~has])
    contrib = pop.reindex(lcodes[li]).to_numpy(dtype=float) * share
    ids = units[id_col].astype(str).to_numpy()
    out = pd.Series(np.bincount(ui, weights=contrib, minlength=len(ugeom)), index=ids, name="residents")
    out.attrs = {"method": method, "lsoas_by_area": sorted(by_area) if method == "address_points" else sorted(set(lcodes[li]))}
    return out


def scheme_league(incidents: pd.DataFrame, schemes: gpd.GeoDataFrame, *, residents: pd.Series | None = None,
                  residents_method: ApportionMethod = "area", suppress_sensitive: bool = True,
                  sort_by: Literal["harm", "count", "rate"] = "harm", by_category: bool = False,
                  harm_index: Literal["cchi", "ons_css"] = "cchi",
                  low_months: Sequence[str] | None = None) -> pd.DataFrame:
    """League table of schemes: counts, harm, one headline rate and the denominator it used.

    Parameters
    ----------
    incidents
        Canonical incidents attributed to schemes at ingest (``estate_id``).
        Reports that are not ASB under policy are left out of the counts and
        shown apart (``not_asb_reports``).
    schemes
        The schemes layer (:func:`spatial.layers.stored_area_layer` ``"estates"``):
        ``area_id, name`` and optionally ``homes``.
    residents
        Residents per scheme id (:func:`apportion_residents`), used where a
        scheme has no homes count.
    residents_method
        How ``residents`` were apportioned (for the label).
    suppress_sensitive, by_category
        Passed to :func:`spatial.hotspots.league.league_table` (small sensitive
        counts become "fewer than 5", with secondary suppression).
    sort_by
        ``harm``, ``count`` or ``rate`` (the headline rate; rank 1 = highest).
    low_months
        The area's months published low; ``None`` looks for them in ``incidents``
        (:func:`spatial.low_months.league_incidents`).  They are left out of the
        counts and rates (``attrs["low_months"]``, ``attrs["months_counted"]``).

    Returns
    -------
    pandas.DataFrame
        The league table (``rank, area_code, area_name, count, harm, ...``, every
        scheme listed) plus ``homes``/``residents`` where given, ``denominator``
        (``homes``, ``residents-area``, ``residents-address_points`` or ``none``),
        ``rate`` and ``harm_rate`` (per 1,000 of the denominator), ``rate_basis``
        (the label to show) and ``not_asb_reports``.  ``attrs``: ``denominators``
        (count of schemes per denominator), ``n_not_asb``, ``n_unattributed``.

    Raises
    ------
    SchemaError
        For a missing column or an unknown ``sort_by``.
    """
    for col in ("area_id", "name"):
        if col not in schemes.columns:
            msg = f"the schemes lack column {col!r}; load them with `hotspot-tasking layers estates`"
            raise SchemaError(msg)
    if sort_by not in ("harm", "count", "rate"):
        msg = f'sort_by was "{sort_by}" but is expected to be one of ["harm", "count", "rate"]'
        raise SchemaError(msg)
    if ESTATE_ID not in incidents.columns or CATEGORY not in incidents.columns:
        msg = f"incidents lack {ESTATE_ID!r} or {CATEGORY!r}; ingest them after loading the schemes layer"
        raise SchemaError(msg)
    ids = schemes["area_id"].astype(str)
    asb, apart = split_not_asb(incidents)
    # months published low (police.uk rows, found on the whole frame) would lower every scheme's rate
    counted, low = league_incidents(asb, low=low_months)
    counts = area_counts_from_incidents(counted[counted[ESTATE_ID].isin(set(ids))], area_col=ESTATE_ID,
                                        harm_index=harm_index)
    homes = (pd.Series(schemes["homes"].to_numpy(dtype=float), index=ids) if "homes" in schemes.columns else None)
    names = pd.Series(schemes["name"].astype(str).to_numpy(), index=ids)
    res = None if residents is None else residents.reindex(ids).astype(float)
    lt = league_table(counts, population=res, homes=homes, names=names, suppress_sensitive=suppress_sensitive,
                      sort_by="count" if sort_by == "count" else "harm", by_category=by_category, areas=list(ids))
    h = lt["homes"] if "homes" in lt.columns else pd.Series(np.nan, index=lt.index)
    r = lt["population"] if "population" in lt.columns else pd.Series(np.nan, index=lt.index)
    use_homes = h.fillna(0) > 0
    use_res = ~use_homes & (r.fillna(0) > 0)
    denom = np.where(use_homes, "homes", np.where(use_res, f"residents-{residents_method}", "none"))
    base = np.where(use_homes, h, np.where(use_res, r, np.nan)).astype(float)
    if "population" in lt.columns:
        lt = lt.rename(columns={"population": "residents", "rate_per_1000": "rate_per_1000_residents",
                                "harm_per_1000": "harm_per_1000_residents"})
    lt["denominator"] = denom
    lt["rate"] = lt["count"] / base * 1000
    lt["harm_rate"] = lt["harm"] / base * 1000
    lt["rate_basis"] = [RATE_BASIS[d] for d in denom]
    apart_n = apart[ESTATE_ID].astype(str).value_counts()
    lt["not_asb_reports"] = lt["area_code"].map(apart_n).fillna(0).astype(np.int64)
    if sort_by == "rate":
        lt["rank"] = lt["rate"].rank(ascending=False, method="min", na_option="bottom").astype(np.int64)
        lt = lt.sort_values(["rank", "area_code"], kind="stable").reset_index(drop=True)
    lt.attrs["denominators"] = {str(k): int(v) for k, v in pd.Series(denom).value_counts().items()}
    lt.attrs["n_not_asb"] = int(apart[ESTATE_ID].isin(set(ids)).sum())
    lt.attrs["n_unattributed"] = int((~asb[ESTATE_ID].isin(set(ids))).sum())
    lt.attrs["not_asb_categories"] = sorted(not_asb_slugs())
    lt.attrs["suppress_sensitive"] = bool(suppress_sensitive)
    lt.attrs["low_months"] = list(low)
    lt.attrs["months_counted"] = int(counted["month"].astype(str).nunique()) if "month" in counted.columns else 0
    return lt
