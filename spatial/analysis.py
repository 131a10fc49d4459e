"""Hotspot runs of the application layer: one registry of hotspot methods, hotspots and emerging classes.

Everything here is pure (frames in, frames out); the command line
(:mod:`hotspot_cli.hotspots`), the tasking pipeline (:mod:`tasking.pipeline`)
and the dashboard (:mod:`ui.analysis`) all run hotspot methods through
:data:`HOTSPOT_METHODS` and :func:`run_hotspot_method`, so a method is added
in one place.

To add a hotspot method: write ``_run_<name>(incidents, grid, weights, *,
hotspot_share, seed)`` returning the method's GeoDataFrame (with
``is_hotspot`` and ``attrs["params"]``), add a :class:`HotspotMethod` entry to
:data:`HOTSPOT_METHODS`, and test it in ``tests/spatial/test_analysis.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ._errors import HotspotError, SchemaError
from .schema import CATEGORY, MONTH, X, Y, load_taxonomy

if TYPE_CHECKING:  # importing this module stays light (the command line's --help reads the registry)
    import geopandas as gpd
    import pandas as pd

__all__ = ["COVERAGE_SHARE", "HOTSPOT_METHODS", "UNIT_KINDS", "HotspotMethod", "compute_emerging", "compute_hotspots",
           "covered_months",
           "export_hotspots", "hotspot_layer", "parse_period", "period_gap_note", "run_hotspot_method", "select_incidents"]

Method = Literal["kde", "gistar", "dbscan"]
UnitKind = Literal["grid", "wards", "lsoas", "estates", "parks"]
#: Units ``--method emerging`` can run on.
UNIT_KINDS: tuple[str, ...] = ("grid", "wards", "lsoas", "estates", "parks")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


# ----------------------------------------------------------------------------
# the registry of hotspot methods
# ----------------------------------------------------------------------------
def _run_kde(incidents: pd.DataFrame, grid: gpd.GeoDataFrame | None, weights: pd.Series | None, *,
             hotspot_share: float, seed: int) -> gpd.GeoDataFrame:
    from .hotspots import kde

    return kde(incidents, grid, weights=weights, hotspot_area_share=hotspot_share)


def _run_gistar(incidents: pd.DataFrame, grid: gpd.GeoDataFrame | None, weights: pd.Series | None, *,
                hotspot_share: float, seed: int) -> gpd.GeoDataFrame:
    from .grids import count_in_cells
    from .hotspots import gistar

    cells = count_in_cells(incidents, grid, weights=weights)
    return gistar(cells, value_col="harm" if weights is not None else "count", seed=seed)


def _run_dbscan(incidents: pd.DataFrame, grid: gpd.GeoDataFrame | None, weights: pd.Series | None, *,
                hotspot_share: float, seed: int) -> gpd.GeoDataFrame:
    from .hotspots import density_clusters

    return density_clusters(incidents, weights=weights)


@dataclass(frozen=True)
class HotspotMethod:
    """One hotspot method: how it runs and what it offers.

    ``run(incidents, grid, weights, hotspot_share=..., seed=...)`` returns the
    method's GeoDataFrame; ``grid`` is ``None`` for methods with
    ``on_grid=False``.  ``significance`` says whether the method tests its
    hotspots (Gi*, DBSCAN) or only ranks densities (KDE).
    """

    name: str
    label: str
    on_grid: bool
    significance: bool
    plannable: bool
    run: Callable[..., gpd.GeoDataFrame]


#: Every hotspot method, by the name the command line and the dashboard use.
HOTSPOT_METHODS: Mapping[str, HotspotMethod] = {
    "kde": HotspotMethod("kde", "KDE (quartic kernel density)", on_grid=True, significance=False, plannable=True,
                         run=_run_kde),
    "gistar": HotspotMethod("gistar", "Getis-Ord Gi*", on_grid=True, significance=True, plannable=True,
                            run=_run_gistar),
    "dbscan": HotspotMethod("dbscan", "DBSCAN density clusters", on_grid=False, significance=True,
                            plannable=False, run=_run_dbscan),
}


def run_hotspot_method(method: str, incidents: pd.DataFrame, area: gpd.GeoDataFrame, *,
                       weights: pd.Series | None, cell_size_m: float = 150.0, hotspot_share: float = 0.05,
                       seed: int = 12345, allowed: tuple[str, ...] | None = None,
                       error: type[HotspotError] = SchemaError, grid: gpd.GeoDataFrame | None = None,
                       ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame | None]:
    """Run one method of :data:`HOTSPOT_METHODS` (pure): its result and the grid it used (``None`` off-grid).

    ``allowed`` narrows the methods (the plan runs on grid methods only);
    an unknown method raises ``error`` naming the allowed ones.  ``grid``
    reuses a grid already made with ``cell_size_m`` (default: a new
    :func:`spatial.grids.square_grid` over ``area``).

    Examples
    --------
    >>> sorted(HOTSPOT_METHODS)
    ['dbscan', 'gistar', 'kde']
    """
    names = tuple(allowed) if allowed is not None else tuple(HOTSPOT_METHODS)
    if method not in names or method not in HOTSPOT_METHODS:
        msg = f'method was "{method}" but is expected to be one of {json.dumps(list(names))}'
        raise error(msg)
    spec = HOTSPOT_METHODS[method]
    if not spec.on_grid:
        grid = None
    elif grid is None:
        from .grids import square_grid

        grid = square_grid(area, cell_size_m=cell_size_m)
    return spec.run(incidents, grid, weights, hotspot_share=hotspot_share, seed=seed), grid


# ----------------------------------------------------------------------------
# periods, selections, hotspots, emerging classes
# ----------------------------------------------------------------------------
#: A month has real coverage when it holds at least this share of the busiest month's incidents.
COVERAGE_SHARE = 0.1


def covered_months(counts: Mapping[str, int] | pd.Series, *, share: float = COVERAGE_SHARE) -> list[str]:
    """Months holding at least ``share`` of the busiest month's incidents, oldest first: the coverage rule.

    police.uk pulls for neighbouring areas leave a trickle of boundary points
    in other months; those months are not data for the area.  ``allocate``,
    ``recommend``, the Overview and the Review all use this one rule.

    Examples
    --------
    >>> covered_months({"2018-05": 3, "2018-06": 100, "2024-01": 40})
    ['2018-06', '2024-01']
    """
    import pandas as pd

    s = pd.Series(dict(counts) if not isinstance(counts, pd.Series) else counts, dtype="float64")
    if s.empty:
        return []
    return sorted(str(m) for m in s[s >= share * s.max()].index)


def parse_period(text: str) -> list[str]:
    """Months of ``YYYY-MM`` or ``YYYY-MM..YYYY-MM`` (inclusive).

    Raises
    ------
    SchemaError
        If the text is not in that form or the range is reversed.

    Examples
    --------
    >>> parse_period("2018-11..2019-01")
    ['2018-11', '2018-12', '2019-01']
    """
    import pandas as pd

    parts = text.split("..")
    if len(parts) not in (1, 2) or not all(_MONTH.match(p) for p in parts):
        msg = f"--period was {text!r}; give YYYY-MM or YYYY-MM..YYYY-MM, e.g. 2018-06..2018-08"
        raise SchemaError(msg)
    start, end = pd.Period(parts[0], "M"), pd.Period(parts[-1], "M")
    if end < start:
        msg = f"--period {text!r} ends before it starts"
        raise SchemaError(msg)
    return [str(p) for p in pd.period_range(start, end, freq="M")]


def select_incidents(incidents: pd.DataFrame, area: gpd.GeoDataFrame | None, *, months: list[str] | None,
                      category_groups: list[str] | None) -> pd.DataFrame:
    """Incidents in ``months``, of ``category_groups``, with coordinates inside ``area`` (when given).

    Reports that are not ASB under the landlord's policy (:mod:`spatial.not_asb`) are always left out.
    """
    import numpy as np
    import pandas as pd
    import shapely

    from .grids import points_xy
    from .not_asb import split_not_asb

    df, _apart = split_not_asb(incidents)  # not ASB under the landlord's policy: never in hotspots
    if months:
        df = df[df[MONTH].astype(str).isin(months)]
    if category_groups:
        tax = load_taxonomy()
        known = sorted({c.group for c in tax.categories.values()})
        bad = sorted(set(category_groups) - set(known))
        if bad:
            msg = f"unknown category groups {bad}; allowed: {known}"
            raise SchemaError(msg)
        slugs = {s for s, c in tax.categories.items() if c.group in category_groups}
        df = df[df[CATEGORY].isin(slugs)]
    if area is not None:
        df = df[np.isfinite(pd.to_numeric(df[X], errors="coerce")) & np.isfinite(pd.to_numeric(df[Y], errors="coerce"))]
        x, y = points_xy(df)
        union = shapely.union_all(np.asarray(area.geometry.values, dtype=object))
        df = df[shapely.contains_xy(union, x, y)]
    df = df.reset_index(drop=True)
    if df.empty:
        msg = "no incidents match the period, area and categories; check `hotspot-tasking status`"
        raise HotspotError(msg)
    return df


def period_gap_note(asked: list[str], held: list[str] | set[str]) -> str:
    """A warning when a period asks for months the store does not hold ('' when every month is held).

    Examples
    --------
    >>> period_gap_note(["2017-07", "2017-08", "2017-09"], {"2017-09", "2018-01"})
    '--period asks for 3 months but the store holds 1 of them (2017-09): the results use that month only; missing: 2017-07, 2017-08'
    >>> period_gap_note(["2018-06"], ["2018-06"])
    ''
    """
    have = [m for m in asked if m in set(held)]
    if len(have) == len(asked):
        return ""
    missing = [m for m in asked if m not in set(held)]
    shown = ", ".join(missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6 else "")
    if not have:
        return f"--period asks for {len(asked)} month(s) and the store holds none of them; missing: {shown}"
    which = ", ".join(have[:6]) + (" ..." if len(have) > 6 else "")
    return (f"--period asks for {len(asked)} months but the store holds {len(have)} of them ({which}): the results "
            f"use {'that month' if len(have) == 1 else 'those months'} only; missing: {shown}")


def compute_hotspots(incidents: pd.DataFrame, area: gpd.GeoDataFrame, *, method: Method,
                     months: list[str] | None = None, cell_size_m: float = 150.0,
                     category_groups: list[str] | None = None, harm_index: str | None = None,
                     seed: int = 12345) -> gpd.GeoDataFrame:
    """Filter incidents to the area, months and category groups, then run one method (pure).

    Returns the method's hotspot result (grid cells for ``kde``/``gistar``,
    cluster polygons for ``dbscan``) in EPSG:27700, with the filter recorded in
    ``attrs["params"]``.
    """
    from .harm import harm_weight

    if method not in HOTSPOT_METHODS:
        msg = (f'method was "{method}" but is expected to be one of {json.dumps(list(HOTSPOT_METHODS))} '
               '(use compute_emerging for "emerging")')
        raise SchemaError(msg)
    df = select_incidents(incidents, area, months=months, category_groups=category_groups)
    weights = harm_weight(df[CATEGORY], index=harm_index) if harm_index else None  # type: ignore[arg-type]
    res, _grid = run_hotspot_method(method, df, area, weights=weights, cell_size_m=cell_size_m, seed=seed)
    res.attrs["params"].update({"months": months or "all", "category_groups": category_groups or "all",
                                "harm_index": harm_index or "none (counts)", "n_incidents_used": len(df),
                                "sensitive_included": False})
    return res


def compute_emerging(units: gpd.GeoDataFrame, *, unit_kind: UnitKind, months: list[str],
                     incidents: pd.DataFrame | None = None, mps_counts: pd.DataFrame | None = None,
                     area: gpd.GeoDataFrame | None = None, category_groups: list[str] | None = None,
                     harm_index: str | None = None, weights: Literal["queen", "distance"] = "queen",
                     distance_m: float | None = None, permutations: int = 0, seed: int = 12345,
                     alpha: float = 0.05, fdr: bool = True, space_time: bool = False) -> gpd.GeoDataFrame:
    """Emerging hotspots on grid cells or areas, from incidents or the MPS series (pure).

    Parameters
    ----------
    units
        Grid cells (``unit_kind="grid"``) or area polygons, EPSG:27700.
    unit_kind
        One of :data:`UNIT_KINDS`; areas are matched to incidents through the
        columns in :data:`spatial.areas.AREA_KINDS`.
    months
        The ``YYYY-MM`` months of the series, in order.
    incidents
        Canonical incidents (non-sensitive), when counting from incidents.
    mps_counts
        Stored MPS area counts (long form), when ``unit_kind`` is ``wards`` or
        ``lsoas`` and the series should come from the MPS tables instead.
    area
        Borough polygons; grid counts keep only incidents inside them.
    category_groups
        Category groups to keep (taxonomy groups for incidents, MPS groups for
        the series).
    harm_index
        Sum harm weights instead of counting (incidents only).
    weights, distance_m, permutations, seed, alpha, fdr, space_time
        Passed to :func:`spatial.hotspots.emerging_hotspots`.

    Returns
    -------
    geopandas.GeoDataFrame
        The emerging-hotspot result; ``attrs["params"]`` adds the source, the
        units, the months and the filters.

    Raises
    ------
    SchemaError
        For an unknown unit kind, both or neither of ``incidents`` and
        ``mps_counts``, harm with the MPS series, or unknown groups.
    """
    from .areas import (
        AREA_KINDS,
        area_period_counts,
        cell_period_counts,
        mps_period_counts,
    )
    from .harm import harm_weight
    from .hotspots.emerging import emerging_hotspots
    from .series import RBKC_LSOA_PRIORITY, RBKC_WARD_PRIORITY, mps_major_table

    if unit_kind not in UNIT_KINDS:
        msg = f'units were "{unit_kind}" but are expected to be one of {list(UNIT_KINDS)}'
        raise SchemaError(msg)
    if (incidents is None) == (mps_counts is None):
        msg = "give exactly one of `incidents` and `mps_counts` as the source of the counts"
        raise SchemaError(msg)
    if mps_counts is not None:
        if unit_kind not in ("wards", "lsoas"):
            msg = f"the MPS series has ward and LSOA counts only, not {unit_kind}; use --source incidents"
            raise SchemaError(msg)
        if harm_index:
            msg = "harm weighting needs incident categories; the MPS series is counted only (drop --harm)"
            raise SchemaError(msg)
        if category_groups:
            known = sorted(set(mps_major_table()["group"]))
            bad = sorted(set(category_groups) - set(known))
            if bad:
                msg = f"unknown MPS category groups {bad}; allowed: {known}"
                raise SchemaError(msg)
        kind = "ward" if unit_kind == "wards" else "lsoa"
        long = mps_counts[mps_counts["area_type"] == kind] if "area_type" in mps_counts.columns else mps_counts
        if long.empty:
            msg = (f"no MPS {kind} series is stored; ingest the MPS tables first "
                   "(hotspot-tasking ingest data/mps/*.csv)")
            raise SchemaError(msg)
        counts = mps_period_counts(long, units, id_col=AREA_KINDS[unit_kind][1],
                                   priority=RBKC_WARD_PRIORITY if kind == "ward" else RBKC_LSOA_PRIORITY,
                                   periods=months, groups=category_groups)
        source = "MPS monthly series"
        n_used = int(counts.to_numpy().sum())
    else:
        df = select_incidents(incidents, area if unit_kind == "grid" else None, months=months,
                               category_groups=category_groups)
        w = harm_weight(df[CATEGORY], index=harm_index) if harm_index else None  # type: ignore[arg-type]
        if unit_kind == "grid":
            counts = cell_period_counts(df, units, periods=months, weights=w)
        else:
            area_col, id_col = AREA_KINDS[unit_kind]
            counts = area_period_counts(df, units, area_col=area_col, id_col=id_col, periods=months, weights=w)
        source = "incidents (sensitive categories excluded)"
        n_used = len(df)
    res = emerging_hotspots(counts, units, weights=weights, distance_m=distance_m, alpha=alpha,
                            permutations=permutations, seed=seed, fdr=fdr, space_time=space_time)
    res.attrs["params"].update({"source": source, "units": unit_kind, "months": months,
                                "category_groups": category_groups or "all",
                                "harm_index": harm_index or "none (counts)", "n_incidents_used": n_used,
                                "sensitive_included": False if incidents is not None else "aggregate counts only"})
    return res


def hotspot_layer(result: gpd.GeoDataFrame) -> tuple[str, gpd.GeoDataFrame, dict[str, str]]:
    """The GIS layer of a hotspot result: its kind, the typed layer and its QGIS style (pure).

    ``emerging`` -> ``emerging_classes`` (styled on ``trend_class``); DBSCAN /
    HDBSCAN -> ``clusters``; grid methods -> ``hot_cells`` (styled on
    ``gi_bin`` for Gi*, on ``is_hotspot`` for KDE).  ``incidents_per_month``
    divides the period's count by its number of months.
    """
    from .gis_export import layer_for_gis, style_qml

    params = result.attrs.get("params", {})
    method = str(params.get("method", result["method"].iloc[0] if len(result) else ""))
    months = params.get("months")
    n_months = len(months) if isinstance(months, list) and months else None
    if method == "emerging":
        kind = "emerging_classes"
        styles = {kind: style_qml(kind)}
    elif method in ("dbscan", "hdbscan"):
        kind, styles = "clusters", {}
    else:
        kind = "hot_cells"
        styles = {kind: style_qml(kind, field="gi_bin" if "gi_bin" in result.columns else "is_hotspot")}
    return kind, layer_for_gis(result, kind=kind, n_months=n_months), styles


def export_hotspots(result: gpd.GeoDataFrame, path: str | Path, *, period: str, area: str,
                    generated_at: dt.datetime | None = None) -> dict[str, int]:
    """Write a hotspot result as a GeoPackage (EPSG:27700) or GeoJSON (EPSG:4326) through pyogrio (edge).

    The layer is :func:`hotspot_layer`'s; the run parameters are the
    ``run_parameters`` table (GeoPackage) or ``run_*`` fields (GeoJSON); the
    style is in ``layer_styles`` (GeoPackage) or a ``.qml`` sidecar (GeoJSON).
    Returns the rows written per layer.
    """
    from .gis_export import run_parameters, write_gis

    kind, layer, styles = hotspot_layer(result)
    params = result.attrs.get("params", {})
    method = str(params.get("method", ""))
    run = run_parameters(params, method=method, period=period, area=area, generated_at=generated_at)
    return write_gis(path, {kind: layer}, params=run, styles=styles)
