"""Units x periods count tables for grid cells and areas (wards, LSOAs, estates, parks).

Space-time methods (:func:`spatial.hotspots.emerging_hotspots`, the area
forecasts in :mod:`spatial.area_forecast`) take a table of units (rows,
labelled like the units' GeoDataFrame index) by periods (columns in time order).
The functions here build that table, with every unit and every requested
period present (zeros included), from

* incident points on a grid (:func:`cell_period_counts`);
* incidents attributed to areas at ingest - ``ward_code``, ``lsoa_code``,
  ``estate_id``, ``park_id`` (:func:`area_period_counts`);
* the MPS monthly ward or LSOA series (:func:`mps_period_counts`), which
  reaches back to April 2010 for RBKC wards.

All are pure: the caller reads the store and the layers.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from ._errors import SchemaError
from .grids import count_in_cells
from .projection import require_bng
from .schema import ESTATE_ID, LSOA_CODE, MONTH, PARK_ID, WARD_CODE
from .series import RBKC_WARD_PRIORITY, monthly_matrix, splice_series

__all__ = [
    "AREA_KINDS",
    "area_period_counts",
    "cell_period_counts",
    "month_range",
    "mps_period_counts",
]

#: Area kind -> (incident column holding the area id, id column of the area layer).
#: Ward and LSOA layers come from :mod:`spatial.datasets`; estates and parks from
#: :func:`spatial.layers.stored_area_layer` (id column ``area_id``).
AREA_KINDS: dict[str, tuple[str, str]] = {
    "wards": (WARD_CODE, "ward_code"),
    "lsoas": (LSOA_CODE, "lsoa_code"),
    "estates": (ESTATE_ID, "area_id"),
    "parks": (PARK_ID, "area_id"),
}


def month_range(first: str, last: str) -> list[str]:
    """Every ``YYYY-MM`` month from ``first`` to ``last`` inclusive.

    Examples
    --------
    >>> month_range("2025-11", "2026-02")
    ['2025-11', '2025-12', '2026-01', '2026-02']
    """
    try:
        start, end = pd.Period(first, "M"), pd.Period(last, "M")
    except (ValueError, TypeError) as exc:
        msg = f"months were {first!r} and {last!r}; give YYYY-MM"
        raise SchemaError(msg) from exc
    if end < start:
        msg = f"the period {first}..{last} ends before it starts"
        raise SchemaError(msg)
    return [str(p) for p in pd.period_range(start, end, freq="M")]


def _periods(periods: Sequence[str]) -> list[str]:
    out = [str(p) for p in periods]
    if not out:
        msg = "`periods` is empty; give the periods to count, e.g. month_range('2025-04', '2026-03')"
        raise SchemaError(msg)
    if len(set(out)) != len(out) or out != sorted(out):
        msg = f"`periods` must be unique and in time order, got {out[:5]}..."
        raise SchemaError(msg)
    return out


def _weights(incidents: pd.DataFrame, weights: np.ndarray | pd.Series | None) -> np.ndarray:
    if weights is None:
        return np.ones(len(incidents))
    w = np.asarray(weights, dtype=float)
    if w.shape != (len(incidents),) or not np.isfinite(w).all():
        msg = f"weights have shape {w.shape} but there are {len(incidents)} incidents; give one finite weight each"
        raise SchemaError(msg)
    return w


def cell_period_counts(incidents: pd.DataFrame, grid: gpd.GeoDataFrame, *, periods: Sequence[str],
                       period_col: str = MONTH, weights: np.ndarray | pd.Series | None = None) -> pd.DataFrame:
    """Cells x periods counts (or summed weights) of incident points.

    Parameters
    ----------
    incidents
        Canonical incidents with ``x``/``y`` (EPSG:27700) and ``period_col``.
    grid
        Grid from :func:`spatial.grids.square_grid` (or ``cells_from_bounds_csv``).
    periods
        The periods to report, in time order; incidents in other periods are
        ignored and periods without incidents are zero.
    period_col
        Column of ``incidents`` holding the period (``month`` by default).
    weights
        Optional weight per incident (e.g. harm from :func:`spatial.harm.harm_weight`).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``grid``, one column per period.  ``attrs``:
        ``n_outside`` (points in those periods outside the grid), ``unit_id``
        (the ``cell_id`` of each row), ``value`` (``count`` or ``harm``).
    """
    require_bng(grid, name="the grid")
    per = _periods(periods)
    if period_col not in incidents.columns:
        msg = f"incidents lack the period column {period_col!r}; columns are {list(incidents.columns)[:20]}"
        raise SchemaError(msg)
    w = _weights(incidents, weights)
    keep = incidents[period_col].astype(str).isin(per).to_numpy()
    df = incidents[keep].reset_index(drop=True)
    long = count_in_cells(df, grid, by=period_col, weights=w[keep] if weights is not None else None)
    value = "harm" if weights is not None else "count"
    table = (long.pivot_table(index="cell_id", columns=period_col, values=value, aggfunc="sum", fill_value=0)
             if len(long) else pd.DataFrame(index=pd.Index([], name="cell_id")))
    table.columns = table.columns.astype(str)
    table = table.reindex(index=grid["cell_id"].to_numpy(), columns=per, fill_value=0)
    table.index = grid.index
    table.columns.name = period_col
    table.attrs = {"n_outside": int(long.attrs.get("n_outside", 0)), "value": value,
                   "unit_id": grid["cell_id"].tolist()}
    return table


def area_period_counts(incidents: pd.DataFrame, units: gpd.GeoDataFrame, *, area_col: str, id_col: str,
                       periods: Sequence[str], period_col: str = MONTH,
                       weights: np.ndarray | pd.Series | None = None) -> pd.DataFrame:
    """Areas x periods counts of incidents attributed to areas at ingest.

    Parameters
    ----------
    incidents
        Canonical incidents with ``area_col`` (e.g. ``ward_code``, ``estate_id``)
        and ``period_col``.
    units
        Area polygons (EPSG:27700) with the id column ``id_col``.
    area_col, id_col
        Incident column and layer column holding the same area ids (see
        :data:`AREA_KINDS`).
    periods
        The periods to report, in time order.
    period_col
        Column of ``incidents`` holding the period.
    weights
        Optional weight per incident.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``units``, one column per period (zeros included).
        ``attrs``: ``n_unattributed`` (incidents in those periods with no area,
        or an area not in ``units``), ``unit_id``, ``value``.

    Raises
    ------
    SchemaError
        On a missing column or repeated area ids.
    """
    require_bng(units, name="the areas")
    per = _periods(periods)
    for col, where in ((area_col, incidents), (period_col, incidents), (id_col, units)):
        if col not in where.columns:
            name = "incidents" if where is incidents else "areas"
            msg = f"the {name} lack column {col!r}; columns are {[c for c in where.columns if c != 'geometry'][:20]}"
            raise SchemaError(msg)
    ids = units[id_col].astype(str)
    if ids.duplicated().any():
        msg = f"area ids in {id_col!r} repeat ({sorted(ids[ids.duplicated()].unique())[:5]}); ids must be unique"
        raise SchemaError(msg)
    w = _weights(incidents, weights)
    in_period = incidents[period_col].astype(str).isin(per).to_numpy()
    code = incidents[area_col].to_numpy(dtype=object)
    known = pd.Series(code).isin(set(ids)).to_numpy()
    use = in_period & known
    df = pd.DataFrame({"area": code[use].astype(str), "period": incidents[period_col].astype(str).to_numpy()[use],
                       "w": w[use]})
    table = df.pivot_table(index="area", columns="period", values="w", aggfunc="sum", fill_value=0)
    table = table.reindex(index=ids.to_numpy(), columns=per, fill_value=0)
    if weights is None:
        table = table.astype(np.int64)
    table.index = units.index
    table.columns.name = period_col
    table.attrs = {"n_unattributed": int((in_period & ~known).sum()), "value": "count" if weights is None else "harm",
                   "unit_id": ids.tolist()}
    return table


def mps_period_counts(area_counts: pd.DataFrame, units: gpd.GeoDataFrame, *, id_col: str = "ward_code",
                      priority: Sequence[str] = RBKC_WARD_PRIORITY, periods: Sequence[str] | None = None,
                      groups: list[str] | None = None, include_proactive: bool = True) -> pd.DataFrame:
    """Areas x months counts from the MPS recorded-crime series, spliced across releases.

    Parameters
    ----------
    area_counts
        Stored MPS counts (:func:`spatial.store.queries.area_counts`), long form.
    units
        Area polygons (EPSG:27700), e.g. ``load_wards((RBKC,))``.
    id_col
        Column of ``units`` matching the series' ``area_code``.
    priority
        Releases in order of preference (:func:`spatial.series.splice_series`);
        default the RBKC ward releases.
    periods
        Months to keep (all months of the spliced series when ``None``).
    groups
        Category groups to keep (``group`` of ``spatial/data/mps_major_categories.csv``).
    include_proactive
        Keep drug and weapons offences (found mostly by police activity).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``units``, one ``YYYY-MM`` column per month.  ``attrs``:
        ``unit_id``, ``value`` (``count``), ``source`` (the releases used),
        ``groups``, ``include_proactive``.

    Raises
    ------
    SchemaError
        If a unit has no series, or a requested month is outside the series.

    Notes
    -----
    MPS counts are aggregates published by the Metropolitan Police (London
    Datastore); they include categories police.uk maps only as points
    (violence, sexual offences), which are never shown as points here.
    """
    require_bng(units, name="the areas")
    if id_col not in units.columns:
        msg = f"the areas lack column {id_col!r}; columns are {[c for c in units.columns if c != 'geometry'][:20]}"
        raise SchemaError(msg)
    series = splice_series(area_counts, priority=list(priority))
    table = monthly_matrix(series, groups=groups, include_proactive=include_proactive)
    ids = units[id_col].astype(str)
    missing = sorted(set(ids) - set(table.index))
    if missing:
        msg = (f"{len(missing)} area(s) have no MPS series (e.g. {missing[:3]}); the releases {list(priority)} "
               f"cover {len(table)} areas. Use the units of the series (RBKC 2018 wards: load_wards(('E09000020',)))")
        raise SchemaError(msg)
    if periods is not None:
        per = _periods(periods)
        outside = [p for p in per if p not in table.columns]
        if outside:
            first, last = (table.columns[0], table.columns[-1]) if table.shape[1] else ("-", "-")
            msg = f"months {outside[:3]} are outside the MPS series ({first}..{last})"
            raise SchemaError(msg)
        table = table[per]
    out = table.reindex(ids.to_numpy())
    out.index = units.index
    out.columns.name = MONTH
    out.attrs = {"unit_id": ids.tolist(), "value": "count", "source": "MPS recorded crime by ward/LSOA",
                 "releases": list(priority), "groups": groups or "all",
                 "include_proactive": bool(include_proactive)}
    return out
