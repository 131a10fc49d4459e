"""Review of a finished week: tasked places against comparable untasked ones, delivery, displacement.

Pure functions over (Geo)DataFrames and the typed plan (:class:`tasking.plan.Plan`,
or its dict, read once at the top of each function; no files, no database,
no clock).  Three questions, one function each, and :func:`review_week` to run
them together:

1. **Did tasked places do better than comparable untasked places?**
   :func:`tasked_vs_control` counts incidents and harm per place before and
   after, matches every tasked place to untasked places of the same place type
   with the most similar *before* harm per week (the ``n_controls`` nearest,
   or everything in the same harm decile), and reports the before/after change
   of both groups and their difference (difference in differences).  Matching
   on the before period keeps regression to the mean in both groups.
2. **Were the patrols delivered?**  :func:`delivery` sets the plan's
   assignments against patrol logs: planned visits, delivered visits (logged
   visits for the same agent, place, date and shift, capped at the planned
   number), the delivery rate, and unplanned visits, per agent and per place.
3. **Did crime move next door?**  :func:`wdq` is the Weighted Displacement
   Quotient and total net effect (Bowers & Johnson 2003), and
   :func:`displacement_check` measures it on the tasked area ``R``, a buffer
   ring ``D`` around it and the rest of the borough ``C`` as control.

Geometry: a plan JSON has candidate ids and representative points, not
polygons.  :func:`candidate_polygons` rebuilds them: a street patch
``ST-c<col>_<row>`` is the union of its grid cells (the plan's ``cells`` list,
written by ``allocate`` since issue 5; for older plans only the hottest cell
named in the id, said in ``geometry_source``); parks ``PK-<id>`` and estates
``ES-<id>`` come from the layers passed (skipped, with a note, when none is
given); ward presence points ``WP-`` are skipped (a presence duty, not a
place).  Callers that still hold the candidates GeoDataFrame from
:func:`tasking.candidates.build_candidates` can pass it instead: only
``candidate_id``, ``place_type`` and the geometry are needed, plus ``tasked``.
Untasked comparison places for streets come from :func:`grid_controls` (the
grid cells outside every candidate), because the allocation usually tasks every
candidate it is given.

Incidents may carry a ``weight`` column (e.g. :func:`period_share`, the
aoristic share of an incident's time window inside the review period; police.uk
gives months only, so a week holds about 7/30 of a month's incidents).
Sensitive rows (``sensitive`` true) are dropped unless ``include_sensitive``:
review figures reach the pack, and sensitive categories are shown there only as
suppressed aggregates.

References
----------
Bowers, K. J. & Johnson, S. D. (2003). Measuring the geographical displacement
and diffusion of benefit effects of crime prevention activity. *Journal of
Quantitative Criminology* 19(3):275-301.

Guerette, R. T. (2009). *Analyzing Crime Displacement and Diffusion*. Problem-
Oriented Guides for Police, Problem-Solving Tools Series No. 10 (POP Center),
appendices B-C (total net effect).

Ratcliffe, J. H. (2002). Aoristic signatures and the spatio-temporal analysis of
high volume crime patterns. *J. Quantitative Criminology* 18(1):23-43.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from spatial.harm import HarmIndex, harm_weight
from spatial.jsonable import plain_records
from spatial.projection import require_bng
from spatial.schema import BNG, CATEGORY, OCCURRED_FROM, OCCURRED_TO, SENSITIVE, X, Y

from ._errors import TaskingError
from .plan import Plan

__all__ = [
    "WDQ_BANDS",
    "Delivery",
    "Displacement",
    "TaskedComparison",
    "WDQResult",
    "WeekReview",
    "candidate_polygons",
    "delivery",
    "displacement_areas",
    "displacement_check",
    "grid_controls",
    "period_share",
    "review_week",
    "tasked_vs_control",
    "wdq",
]

_CELL = re.compile(r"^c(-?\d+)_(-?\d+)$")

#: WDQ reading (Bowers & Johnson 2003; domain-notes b1): band -> meaning.
WDQ_BANDS: dict[str, str] = {
    "diffusion-greater": "diffusion of benefits larger than the direct effect (WDQ > 1)",
    "diffusion": "diffusion of benefits to the buffer (0 < WDQ <= 1)",
    "none": "no displacement or diffusion (WDQ = 0)",
    "displacement": "some displacement, but a net benefit remains (-1 <= WDQ < 0)",
    "displacement-greater": "displacement outweighs the direct effect (WDQ < -1)",
    "no-success": ("not interpretable: the response area did not improve relative to the control "
                   "(success measure Ra/Ca - Rb/Cb >= 0), so there is no effect to displace"),
    "undefined": "undefined",
}


# ----------------------------------------------------------------------------
# geometry
# ----------------------------------------------------------------------------
def _number(v: Any) -> float:
    """A plan's JSON number as a float (``None`` raises ``TypeError``, as reading the dict did)."""
    return float(v)


def _cell_box(cell_id: str, size: float) -> shapely.Geometry | None:
    m = _CELL.match(cell_id.strip())
    if not m:
        return None
    c, r = int(m.group(1)), int(m.group(2))
    return shapely.box(c * size, r * size, (c + 1) * size, (r + 1) * size)


def candidate_polygons(plan: Plan | Mapping[str, Any], *, parks: gpd.GeoDataFrame | None = None,
                       estates: gpd.GeoDataFrame | None = None,
                       cell_size_m: float | None = None) -> gpd.GeoDataFrame:
    """Polygons of a plan's candidates, rebuilt from ids, cell lists and the layers given.

    Parameters
    ----------
    plan
        A :class:`~tasking.plan.Plan` or a plan dict (``plan_week`` / ``allocate`` JSON).
    parks, estates
        Layers with ``park_id`` / ``estate_id`` and geometry (EPSG:27700), for
        ``PK-`` and ``ES-`` candidates.
    cell_size_m
        Grid cell size; default the plan's ``inputs.cell_size_m`` (150 m).

    Returns
    -------
    geopandas.GeoDataFrame
        ``candidate_id, place_type, name, ward_code, priority, expected_harm_week,
        tasked, planned_visits, geometry_source`` and geometry (EPSG:27700), one
        row per candidate that could be rebuilt; ``attrs["notes"]`` says what
        was skipped.

    Examples
    --------
    >>> plan = {"inputs": {"cell_size_m": 150}, "candidates": [
    ...     {"candidate_id": "ST-c10_20", "place_type": "street", "cells": "c10_20,c11_20", "priority": 5.0}],
    ...     "assignments": [{"candidate_id": "ST-c10_20", "visits": 2}]}
    >>> g = candidate_polygons(plan)
    >>> g.loc[0, "geometry"].bounds, float(g.loc[0, "geometry"].area), bool(g.loc[0, "tasked"])
    ((1500.0, 3000.0, 1800.0, 3150.0), 45000.0, True)
    """
    p = Plan.coerce(plan)
    size = float(cell_size_m if cell_size_m is not None else p.cell_size_m)
    if not size > 0:
        msg = f"cell_size_m was {size!r}; give a positive number of metres"
        raise TaskingError(msg)
    layers: dict[str, dict[str, shapely.Geometry]] = {}
    for prefix, layer, col in (("PK-", parks, "park_id"), ("ES-", estates, "estate_id")):
        if layer is not None and len(layer):
            require_bng(layer, name=f"the {col[:-3]}s layer")
            if col not in layer.columns:
                msg = f"the {col[:-3]}s layer needs a {col!r} column; got {list(layer.columns)}"
                raise TaskingError(msg)
            layers[prefix] = dict(zip(layer[col].astype(str), layer.geometry))
    visits: dict[str, int] = {}
    for a in p.assignments:
        visits[str(a.candidate_id)] = visits.get(str(a.candidate_id), 0) + int(a.visits)
    rows, notes = [], []
    skipped_wp, skipped_layer = 0, []
    for c in p.candidates:
        cid = str(c.candidate_id)
        geom, source = None, ""
        if cid.startswith("WP-"):
            skipped_wp += 1
            continue
        if cid.startswith("ST-"):
            cells = [s for s in str(c.cells or "").split(",") if s.strip()]
            source = "grid cells"
            if not cells:
                cells, source = [cid[3:]], "hottest cell only (the plan has no cell list)"
            boxes = [_cell_box(s, size) for s in cells]
            if all(b is not None for b in boxes):
                geom = shapely.union_all(boxes)
            else:
                geom = shapely.Point(*c.xy).buffer(size / 2, cap_style="square")
                source = f"square of {size:g} m around the candidate point (ids are not grid cells)"
        elif cid[:3] in layers:
            geom = layers[cid[:3]].get(cid[3:])
            source = "parks layer" if cid.startswith("PK-") else "estates layer"
        if geom is None:
            skipped_layer.append(cid)
            continue
        # older plans' candidates without a place_type are street patches; absent figures are NaN
        rows.append({"candidate_id": cid, "place_type": c.place_type if c.has("place_type") else "street",
                     "name": c.name, "ward_code": c.ward_code,
                     "priority": _number(c.priority if c.has("priority") else np.nan),
                     "expected_harm_week": _number(c.expected_harm_week if c.has("expected_harm_week") else np.nan),
                     "tasked": visits.get(cid, 0) > 0, "planned_visits": visits.get(cid, 0),
                     "geometry_source": source, "geometry": geom})
    if skipped_wp:
        notes.append(f"{skipped_wp} ward presence points skipped (a presence duty, not a place)")
    if skipped_layer:
        notes.append(f"{len(skipped_layer)} candidates without a polygon (pass the parks/estates layer): "
                     + ", ".join(skipped_layer[:5]) + (" ..." if len(skipped_layer) > 5 else ""))
    cols = ["candidate_id", "place_type", "name", "ward_code", "priority", "expected_harm_week", "tasked",
            "planned_visits", "geometry_source"]
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=BNG) if rows else \
        gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=BNG)
    out.attrs["notes"] = notes
    return out


def grid_controls(units: gpd.GeoDataFrame, area: gpd.GeoDataFrame, *, cell_size_m: float = 150.0) -> gpd.GeoDataFrame:
    """``units`` plus the grid cells of ``area`` outside every unit, as untasked street places.

    A cell is left out when its centre or any part of its interior lies in a
    unit.  Cell places get ``candidate_id`` ``GC-c<col>_<row>``, ``place_type``
    ``street`` and ``tasked`` false.
    """
    from spatial.grids import square_grid

    require_bng(units, name="units")
    grid = square_grid(area, cell_size_m=cell_size_m)
    geoms = np.asarray(grid.geometry.values, dtype=object)
    inside = np.zeros(len(grid), bool)
    if len(units):
        tree = shapely.STRtree(np.asarray(units.geometry.values, dtype=object))
        gi, _ = tree.query(shapely.buffer(geoms, -1.0), predicate="intersects")
        inside[gi] = True
    cells = grid[~inside]
    extra = gpd.GeoDataFrame({"candidate_id": "GC-" + cells["cell_id"].astype(str), "place_type": "street",
                              "name": "grid cell (untasked)", "tasked": False, "planned_visits": 0,
                              "geometry_source": "grid cell"}, geometry=cells.geometry.to_numpy(), crs=units.crs)
    out = pd.concat([units, extra], ignore_index=True)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=units.crs)
    out["tasked"] = out["tasked"].astype(bool)
    out.attrs = dict(units.attrs)
    return out


# ----------------------------------------------------------------------------
# incidents
# ----------------------------------------------------------------------------
def period_share(incidents: pd.DataFrame, *, start: pd.Timestamp | str, end: pd.Timestamp | str) -> pd.Series:
    """Aoristic share of each incident's time window ``[occurred_from, occurred_to)`` inside ``[start, end)``.

    An instant (``from == to``) counts 1 inside the period and 0 outside.  Use
    it as a ``weight`` column to count police.uk incidents (a whole month each)
    in a week.

    Examples
    --------
    >>> inc = pd.DataFrame({"occurred_from": ["2026-11-01T00:00:00+00:00", "2026-11-24T10:00:00+00:00"],
    ...                     "occurred_to": ["2026-12-01T00:00:00+00:00", "2026-11-24T10:00:00+00:00"]})
    >>> period_share(inc, start="2026-11-23T00:00:00+00:00", end="2026-11-30T00:00:00+00:00").round(4).tolist()
    [0.2333, 1.0]
    """
    s, e = pd.Timestamp(start), pd.Timestamp(end)
    if s.tzinfo is None or e.tzinfo is None:
        msg = f"start ({start!r}) and end ({end!r}) must be timezone-aware (Europe/London or UTC)"
        raise TaskingError(msg)
    if not e > s:
        msg = f"end ({end!r}) must be after start ({start!r})"
        raise TaskingError(msg)
    f = pd.to_datetime(incidents[OCCURRED_FROM], utc=True, format="ISO8601")
    t = pd.to_datetime(incidents[OCCURRED_TO], utc=True, format="ISO8601")
    s64 = s.tz_convert("UTC").tz_localize(None).to_datetime64()
    e64 = e.tz_convert("UTC").tz_localize(None).to_datetime64()
    f64 = f.dt.tz_localize(None).to_numpy()
    t64 = t.dt.tz_localize(None).to_numpy()
    span = (t64 - f64) / np.timedelta64(1, "s")
    overlap = (np.minimum(t64, e64) - np.maximum(f64, s64)) / np.timedelta64(1, "s")
    instant = span <= 0
    share = np.where(instant, ((f64 >= s64) & (f64 < e64)).astype(float),
                     np.clip(overlap, 0, None) / np.where(instant, 1.0, span))
    return pd.Series(share, index=incidents.index, name="weight")


def _prepare(incidents: pd.DataFrame, *, harm_index: HarmIndex, include_sensitive: bool,
             name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """x, y, count weight, harm weight of the usable rows."""
    for c in (X, Y, CATEGORY):
        if c not in incidents.columns:
            msg = f"{name} needs columns x, y (EPSG:27700) and category; {c!r} is missing"
            raise TaskingError(msg)
    inc = incidents
    if SENSITIVE in inc.columns and not include_sensitive:
        inc = inc[~inc[SENSITIVE].astype(bool)]
    x = pd.to_numeric(inc[X], errors="coerce").to_numpy(float)
    y = pd.to_numeric(inc[Y], errors="coerce").to_numpy(float)
    w = pd.to_numeric(inc["weight"], errors="coerce").fillna(0.0).to_numpy(float) if "weight" in inc.columns \
        else np.ones(len(inc))
    ok = np.isfinite(x) & np.isfinite(y) & (w > 0)
    if ok.any() and (np.nanmax(np.abs(x[ok])) < 1000 and np.nanmax(np.abs(y[ok])) < 1000):
        msg = f"{name} x/y look like longitude/latitude; give EPSG:27700 metres"
        raise TaskingError(msg)
    h = harm_weight(inc[CATEGORY], index=harm_index) * w if len(inc) else np.zeros(0)
    return x[ok], y[ok], w[ok], np.asarray(h)[ok]


def _per_unit(units: gpd.GeoDataFrame, x: np.ndarray, y: np.ndarray, w: np.ndarray,
              h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted count and harm per unit (each place counts every incident inside it, so a park that a
    street patch overlaps keeps its own incidents), and the weighted count of incidents in more than
    one unit flagged ``tasked`` (so a total over tasked places can say how much it counts twice)."""
    n = len(units)
    if len(x) == 0 or n == 0:
        return np.zeros(n), np.zeros(n), np.zeros(0)
    tree = shapely.STRtree(np.asarray(units.geometry.values, dtype=object))
    pi, ui = tree.query(shapely.points(x, y), predicate="intersects")
    tasked = units["tasked"].to_numpy(dtype=bool)[ui] if "tasked" in units.columns else np.zeros(len(ui), bool)
    per_point = np.bincount(pi[tasked], minlength=len(x))
    twice = np.where(per_point > 1, (per_point - 1) * w, 0.0)
    return np.bincount(ui, weights=w[pi], minlength=n), np.bincount(ui, weights=h[pi], minlength=n), twice


# ----------------------------------------------------------------------------
# (a) tasked against comparable untasked places
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class TaskedComparison:
    """Result of :func:`tasked_vs_control`.

    Attributes
    ----------
    units
        One row per place: ``candidate_id, place_type, tasked``, before/after
        incidents and harm (totals and per week), and for tasked places the
        matched control ids and the controls' mean per week.
    summary
        One row per place type and measure (``incidents``, ``harm``), plus
        ``all``: ``n_tasked, n_matched, tasked_before, tasked_after,
        tasked_change, control_before, control_after, control_change, did,
        relative_effect`` (per week; changes as fractions; ``did`` = tasked
        change minus control change per week; ``relative_effect`` =
        (Ta/Tb)/(Ca/Cb), below 1 when tasked places improved more).
    params
        Method, controls, period lengths and harm index.
    notes
        Places without a match and other caveats.
    """

    units: pd.DataFrame
    summary: pd.DataFrame
    params: dict[str, Any]
    notes: tuple[str, ...] = ()


def _ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def tasked_vs_control(units: gpd.GeoDataFrame, before: pd.DataFrame, after: pd.DataFrame, *,
                      before_weeks: float, after_weeks: float, method: Literal["nearest", "decile"] = "nearest",
                      n_controls: int = 3, harm_index: HarmIndex = "cchi",
                      include_sensitive: bool = False) -> TaskedComparison:
    """Incidents and harm in tasked places against comparable untasked places, before and after.

    Parameters
    ----------
    units
        Places (EPSG:27700) with ``candidate_id``, ``place_type``, ``tasked``
        (bool) and polygon geometry: e.g. :func:`candidate_polygons` plus
        :func:`grid_controls`.
    before, after
        Incidents of the period before the tasking (the plan's data window)
        and of the tasked period (``x``, ``y``, ``category``, optional
        ``weight``, ``sensitive``).
    before_weeks, after_weeks
        Lengths of the two periods in weeks (counts are compared per week).
    method
        ``"nearest"``: each tasked place is matched to the ``n_controls``
        untasked places of its type with the nearest before harm per week
        (ties by id; a control can serve several tasked places).
        ``"decile"``: to every untasked place of its type in the same decile
        of before harm per week (deciles over all places of the type).
    n_controls
        Controls per tasked place for ``"nearest"``.
    harm_index
        ``"cchi"`` or ``"ons_css"``.
    include_sensitive
        Count sensitive categories too (default no).

    Returns
    -------
    TaskedComparison

    Raises
    ------
    TaskingError
        On a missing column, non-positive period length or unknown method.

    Notes
    -----
    The control change estimates what would have happened in the tasked
    places without tasking (a matched comparison, not a randomised trial);
    small numbers of incidents make a single week noisy.
    """
    require_bng(units, name="units")
    for c in ("candidate_id", "place_type", "tasked"):
        if c not in units.columns:
            msg = f"units need a {c!r} column (see candidate_polygons and grid_controls); got {list(units.columns)}"
            raise TaskingError(msg)
    if not (before_weeks > 0 and after_weeks > 0):
        msg = f"before_weeks ({before_weeks!r}) and after_weeks ({after_weeks!r}) must be positive"
        raise TaskingError(msg)
    if method not in ("nearest", "decile"):
        msg = f'method was "{method}" but is expected to be one of ["nearest", "decile"]'
        raise TaskingError(msg)
    if method == "nearest" and (isinstance(n_controls, bool) or not isinstance(n_controls, int) or n_controls < 1):
        msg = f"n_controls was {n_controls!r}; give a whole number, 1 or more"
        raise TaskingError(msg)
    u = units.reset_index(drop=True)
    nb, hb, twice_b = _per_unit(u, *_prepare(before, harm_index=harm_index, include_sensitive=include_sensitive,
                                              name="before"))
    na, ha, twice_a = _per_unit(u, *_prepare(after, harm_index=harm_index, include_sensitive=include_sensitive,
                                              name="after"))
    tab = pd.DataFrame({"candidate_id": u["candidate_id"].astype(str), "place_type": u["place_type"].astype(str),
                        "tasked": u["tasked"].astype(bool), "incidents_before": nb, "incidents_after": na,
                        "harm_before": hb, "harm_after": ha})
    for m in ("incidents", "harm"):
        tab[f"{m}_before_week"] = tab[f"{m}_before"] / before_weeks
        tab[f"{m}_after_week"] = tab[f"{m}_after"] / after_weeks
    tab["controls"] = [[] for _ in range(len(tab))]
    notes: list[str] = []
    if twice_b.sum() > 0 or twice_a.sum() > 0:
        notes.append(f"tasked places overlap (e.g. a street patch and a park): {twice_b.sum():.1f} incidents before "
                     f"and {twice_a.sum():.1f} after are counted in more than one tasked place; each place's own "
                     "figures are right, the 'all' totals count those incidents more than once")
    for ptype, grp in tab.groupby("place_type", sort=True):
        t_idx = grp.index[grp["tasked"]]
        c_grp = grp[~grp["tasked"]]
        if len(t_idx) and c_grp.empty:
            notes.append(f"{ptype}: no untasked places to compare with ({len(t_idx)} tasked)")
            continue
        if method == "nearest":
            cvals = c_grp["harm_before_week"].to_numpy()
            cids = c_grp["candidate_id"].to_numpy()
            for i in t_idx:
                d = np.abs(cvals - tab.at[i, "harm_before_week"])
                order = np.lexsort((cids, d))[:n_controls]
                tab.at[i, "controls"] = list(c_grp.index[order])
        else:
            ranks = grp["harm_before_week"].rank(method="first")
            dec = pd.qcut(ranks, q=min(10, len(grp)), labels=False, duplicates="drop")
            for i in t_idx:
                same = c_grp.index[dec.loc[c_grp.index] == dec.loc[i]]
                tab.at[i, "controls"] = list(same)
                if len(same) == 0:
                    notes.append(f"{tab.at[i, 'candidate_id']}: no untasked {ptype} place in its harm decile")
    for m in ("incidents", "harm"):
        for p in ("before_week", "after_week"):
            tab[f"control_{m}_{p}"] = [float(tab.loc[c, f"{m}_{p}"].mean()) if len(c) else math.nan
                                       for c in tab["controls"]]
    tab["control_ids"] = [",".join(tab.loc[c, "candidate_id"]) if len(c) else "" for c in tab["controls"]]
    tab = tab.drop(columns="controls")
    rows = []
    tasked = tab[tab["tasked"]]
    for ptype in [*sorted(tasked["place_type"].unique()), "all"]:
        g = tasked if ptype == "all" else tasked[tasked["place_type"] == ptype]
        matched = g[g["control_ids"] != ""]
        for m in ("incidents", "harm"):
            tb, ta = float(matched[f"{m}_before_week"].sum()), float(matched[f"{m}_after_week"].sum())
            cb, ca = float(matched[f"control_{m}_before_week"].sum()), float(matched[f"control_{m}_after_week"].sum())
            rows.append({"place_type": ptype, "measure": m, "n_tasked": len(g), "n_matched": len(matched),
                         "tasked_before": tb, "tasked_after": ta, "tasked_change": _ratio(ta - tb, tb),
                         "control_before": cb, "control_after": ca, "control_change": _ratio(ca - cb, cb),
                         "did": (ta - tb) - (ca - cb) if len(matched) else math.nan,
                         "relative_effect": _ratio(_ratio(ta, tb), _ratio(ca, cb))})
    summary = pd.DataFrame(rows, columns=["place_type", "measure", "n_tasked", "n_matched", "tasked_before",
                                          "tasked_after", "tasked_change", "control_before", "control_after",
                                          "control_change", "did", "relative_effect"])
    params = {"method": method, "n_controls": n_controls if method == "nearest" else None,
              "before_weeks": float(before_weeks), "after_weeks": float(after_weeks), "harm_index": harm_index,
              "matched_on": "harm per week in the before period", "include_sensitive": include_sensitive}
    return TaskedComparison(units=tab, summary=summary, params=params, notes=tuple(notes))


# ----------------------------------------------------------------------------
# (b) planned against delivered patrols
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Delivery:
    """Result of :func:`delivery`: tables by assignment, agent and place, and borough totals.

    ``delivery_rate`` = delivered / planned visits, where a slot's delivered
    visits are its logged visits capped at the planned number (extra visits
    count as ``extra_visits``); NaN where nothing was planned.
    """

    by_assignment: pd.DataFrame
    by_agent: pd.DataFrame
    by_candidate: pd.DataFrame
    totals: dict[str, float]


_KEY = ["agent_id", "candidate_id", "date", "shift"]


def delivery(plan: Plan | Mapping[str, Any], logs: pd.DataFrame) -> Delivery:
    """Planned against delivered patrols from the plan's assignments and patrol logs.

    Parameters
    ----------
    plan
        The approved plan (a :class:`~tasking.plan.Plan` or its dict; ``assignments``
        with ``agent_id, candidate_id, date, shift, visits, minutes``).
    logs
        Patrol logs with ``agent_id, candidate_id, date`` (ISO text or date),
        ``shift, visits`` and optionally ``minutes`` (e.g.
        :func:`tasking.records.list_patrol_logs`).  A log matches a planned
        slot by agent, place, date and shift; the rest are unplanned.

    Returns
    -------
    Delivery

    Examples
    --------
    >>> plan = {"assignments": [
    ...     {"agent_id": "W1", "candidate_id": "A", "date": "2026-11-23", "shift": "early", "visits": 2, "minutes": 50},
    ...     {"agent_id": "W1", "candidate_id": "B", "date": "2026-11-24", "shift": "early", "visits": 2, "minutes": 50}]}
    >>> logs = pd.DataFrame({"agent_id": ["W1", "W1"], "candidate_id": ["A", "C"], "date": ["2026-11-23"] * 2,
    ...                      "shift": ["early"] * 2, "visits": [3, 1], "minutes": [45.0, 15.0]})
    >>> d = delivery(plan, logs)
    >>> d.totals["planned_visits"], d.totals["delivered_visits"], d.totals["delivery_rate"], d.totals["unplanned_visits"]
    (4, 2, 0.5, 1)
    """
    # the rows as stored: an assignment without ``visits`` plans none here (the column is required)
    assign = pd.DataFrame([a.to_json() for a in Plan.coerce(plan).assignments])
    if assign.empty:
        assign = pd.DataFrame(columns=[*_KEY, "visits", "minutes"])
    missing = [c for c in [*_KEY, "visits"] if c not in assign.columns]
    if missing:
        msg = f"plan.assignments lack {missing}; give a plan from plan_week / allocate"
        raise TaskingError(msg)
    if "minutes" not in assign.columns:
        assign["minutes"] = np.nan
    need = [c for c in [*_KEY, "visits"] if c not in logs.columns]
    if need:
        msg = f"logs need columns {[*_KEY, 'visits']} (and optionally minutes); missing {need}"
        raise TaskingError(msg)
    lg = logs.copy()
    lg["date"] = [pd.Timestamp(v).date().isoformat() for v in lg["date"]] if len(lg) else []
    if "minutes" not in lg.columns:
        lg["minutes"] = np.nan
    a = assign.copy()
    a["date"] = a["date"].astype(str)
    for df in (a, lg):
        for c in ("agent_id", "candidate_id", "shift"):
            df[c] = df[c].astype(str)
    planned = a.groupby(_KEY, as_index=False).agg(planned_visits=("visits", "sum"),
                                                 planned_minutes=("minutes", "sum"))
    logged = lg.groupby(_KEY, as_index=False).agg(logged_visits=("visits", "sum"), logged_minutes=("minutes", "sum"))
    slots = planned.merge(logged, on=_KEY, how="outer", indicator=True)
    slots["planned_visits"] = slots["planned_visits"].fillna(0).astype(int)
    slots["planned_minutes"] = slots["planned_minutes"].fillna(0.0)
    slots["logged_visits"] = slots["logged_visits"].fillna(0).astype(int)
    slots["logged_minutes"] = slots["logged_minutes"].fillna(0.0)
    slots["planned"] = slots["_merge"] != "right_only"
    slots = slots.drop(columns="_merge")
    slots["delivered_visits"] = np.minimum(slots["logged_visits"], slots["planned_visits"])
    slots["extra_visits"] = np.where(slots["planned"], slots["logged_visits"] - slots["delivered_visits"], 0)
    slots["unplanned_visits"] = np.where(slots["planned"], 0, slots["logged_visits"])
    slots["unplanned_minutes"] = np.where(slots["planned"], 0.0, slots["logged_minutes"])
    slots["delivered_minutes"] = np.where(slots["planned"], slots["logged_minutes"], 0.0)
    slots = slots.sort_values(["date", "shift", "agent_id", "candidate_id"], kind="stable").reset_index(drop=True)

    def roll(by: str) -> pd.DataFrame:
        g = slots.groupby(by, as_index=False).agg(
            planned_visits=("planned_visits", "sum"), delivered_visits=("delivered_visits", "sum"),
            extra_visits=("extra_visits", "sum"), unplanned_visits=("unplanned_visits", "sum"),
            planned_minutes=("planned_minutes", "sum"), delivered_minutes=("delivered_minutes", "sum"),
            unplanned_minutes=("unplanned_minutes", "sum"))
        g["delivery_rate"] = np.where(g["planned_visits"] > 0,
                                      g["delivered_visits"] / g["planned_visits"].where(g["planned_visits"] > 0, 1),
                                      np.nan)
        return g.sort_values(by, kind="stable").reset_index(drop=True)

    pv, dv = int(slots["planned_visits"].sum()), int(slots["delivered_visits"].sum())
    totals = {"planned_visits": pv, "delivered_visits": dv, "delivery_rate": (dv / pv) if pv else math.nan,
              "extra_visits": int(slots["extra_visits"].sum()), "unplanned_visits": int(slots["unplanned_visits"].sum()),
              "planned_minutes": float(slots["planned_minutes"].sum()),
              "delivered_minutes": float(slots["delivered_minutes"].sum()),
              "unplanned_minutes": float(slots["unplanned_minutes"].sum()),
              "slots_planned": int(slots["planned"].sum()),
              "slots_with_a_log": int((slots["planned"] & (slots["logged_visits"] > 0)).sum())}
    return Delivery(by_assignment=slots, by_agent=roll("agent_id"), by_candidate=roll("candidate_id"), totals=totals)


# ----------------------------------------------------------------------------
# (c) displacement: the Weighted Displacement Quotient
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class WDQResult:
    """Weighted Displacement Quotient, its parts and the total net effect.

    Attributes
    ----------
    Rb, Ra, Db, Da, Cb, Ca
        Counts (or harm) in the response area, buffer and control, before and after.
    success_measure
        ``Ra/Ca - Rb/Cb`` (the denominator; negative = the response area improved).
    buffer_measure
        ``Da/Ca - Db/Cb`` (the numerator).
    wdq
        ``buffer_measure / success_measure``; None when undefined.
    tne
        Total net effect ``[Rb(Ca/Cb) - Ra] + [Db(Ca/Cb) - Da]``: incidents
        (or harm) prevented net of displacement; None when ``Cb`` is 0.
    band
        A key of :data:`WDQ_BANDS`.
    interpretation
        The reading in words.
    """

    Rb: float
    Ra: float
    Db: float
    Da: float
    Cb: float
    Ca: float
    success_measure: float | None
    buffer_measure: float | None
    wdq: float | None
    tne: float | None
    band: str
    interpretation: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dict(self.__dict__)


def wdq(*, Rb: float, Ra: float, Db: float, Da: float, Cb: float, Ca: float) -> WDQResult:
    """Weighted Displacement Quotient (Bowers & Johnson 2003) and total net effect.

    ``WDQ = (Da/Ca - Db/Cb) / (Ra/Ca - Rb/Cb)`` with R the response (tasked)
    area, D the buffer, C the control; b before, a after.  Reading: above 1,
    diffusion larger than the direct effect; 0 to 1, diffusion; 0 to -1, some
    displacement with a net benefit; below -1, displacement outweighs the
    effect.  The quotient is **undefined** when a control count is 0 or the
    success measure (denominator) is 0, and not interpretable when the
    response area did not improve relative to the control (denominator > 0).

    Examples
    --------
    >>> r = wdq(Rb=100, Ra=60, Db=50, Da=36, Cb=1000, Ca=800)
    >>> round(r.wdq, 6), round(r.tne, 6), r.band
    (0.2, 24.0, 'diffusion')
    >>> wdq(Rb=100, Ra=100, Db=50, Da=40, Cb=1000, Ca=1000).band
    'undefined'
    """
    vals = {"Rb": Rb, "Ra": Ra, "Db": Db, "Da": Da, "Cb": Cb, "Ca": Ca}
    for k, v in vals.items():
        if not (isinstance(v, (int, float, np.integer, np.floating)) and math.isfinite(float(v)) and v >= 0):
            msg = f"{k} was {v!r}; give a count (or harm) of 0 or more"
            raise TaskingError(msg)
    Rb, Ra, Db, Da, Cb, Ca = (float(vals[k]) for k in ("Rb", "Ra", "Db", "Da", "Cb", "Ca"))
    tne = (Rb * (Ca / Cb) - Ra) + (Db * (Ca / Cb) - Da) if Cb > 0 else None
    if Cb == 0 or Ca == 0:
        return WDQResult(Rb, Ra, Db, Da, Cb, Ca, None, None, None, tne, "undefined",
                         "undefined: the control area has no incidents in "
                         + ("either period" if Cb == Ca == 0 else ("the before period" if Cb == 0 else
                                                                   "the after period")))
    success = Ra / Ca - Rb / Cb
    buffer = Da / Ca - Db / Cb
    if abs(success) < 1e-12:
        return WDQResult(Rb, Ra, Db, Da, Cb, Ca, success, buffer, None, tne, "undefined",
                         "undefined: the response area did not change relative to the control "
                         "(success measure Ra/Ca - Rb/Cb = 0 is the denominator)")
    q = buffer / success
    if success > 0:
        band = "no-success"
    elif q > 1:
        band = "diffusion-greater"
    elif q > 0:
        band = "diffusion"
    elif q == 0:
        band = "none"
    elif q >= -1:
        band = "displacement"
    else:
        band = "displacement-greater"
    return WDQResult(Rb, Ra, Db, Da, Cb, Ca, success, buffer, q, tne, band, WDQ_BANDS[band])


def displacement_areas(tasked: gpd.GeoDataFrame | gpd.GeoSeries, area: gpd.GeoDataFrame | gpd.GeoSeries, *,
                       buffer_m: float = 250.0) -> gpd.GeoDataFrame:
    """Response area R (tasked places), buffer ring D (0-``buffer_m`` around R) and control C (the rest).

    All three are clipped to ``area`` (where the data are); D excludes R and C
    excludes both.  Returns three rows ``zone`` R, D, C with ``area_m2``.
    """
    for g, name in ((tasked, "tasked places"), (area, "area")):
        if g.crs is None or g.crs.to_epsg() != 27700:
            msg = f"{name} must be in EPSG:27700 but is in {g.crs}; use to_crs(27700)"
            from spatial._errors import CRSError

            raise CRSError(msg)
    if not buffer_m > 0:
        msg = f"buffer_m was {buffer_m!r}; give a positive distance in metres"
        raise TaskingError(msg)
    whole = shapely.union_all(np.asarray(area.geometry.values if hasattr(area, "geometry") else area.values,
                                         dtype=object))
    geoms = np.asarray(tasked.geometry.values if hasattr(tasked, "geometry") else tasked.values, dtype=object)
    if len(geoms) == 0:
        msg = "no tasked places: the plan tasked nothing that has a polygon, so there is no response area"
        raise TaskingError(msg)
    r = shapely.intersection(shapely.union_all(geoms), whole)
    # 32 segments a quarter circle: the drawn ring is within 0.08 m of buffer_m (counts use exact distance)
    d = shapely.intersection(shapely.difference(shapely.buffer(r, buffer_m, quad_segs=32), r), whole)
    c = shapely.difference(whole, shapely.union_all([r, d]))
    out = gpd.GeoDataFrame({"zone": ["R", "D", "C"]}, geometry=[r, d, c], crs=BNG)
    out["area_m2"] = out.area
    out.attrs["buffer_m"] = float(buffer_m)
    return out


@dataclass(frozen=True)
class Displacement:
    """Result of :func:`displacement_check`: WDQ on counts and on harm, with the zones."""

    incidents: WDQResult
    harm: WDQResult
    zones: gpd.GeoDataFrame
    params: dict[str, Any] = field(default_factory=dict)


def _zone_sums(zones: gpd.GeoDataFrame, x: np.ndarray, y: np.ndarray, w: np.ndarray, h: np.ndarray, *,
               area: shapely.Geometry, buffer_m: float) -> dict[str, tuple[float, float]]:
    """Counts and harm in R, D and C, each point placed by its exact distance to R.

    The drawn ring D is a polygonised buffer, whose arcs fall up to about a
    metre short of ``buffer_m``; an incident 249.6 m from a corner of R would
    drop out of it.  So points are placed by distance: in R (its boundary
    included), else in D when within ``buffer_m`` of R, else in C; points
    outside ``area`` count nowhere.
    """
    if not len(x):
        return {z: (0.0, 0.0) for z in ("R", "D", "C")}
    r = zones.set_index("zone").geometry["R"]
    inside = shapely.intersects_xy(area, x, y)
    in_r = inside & shapely.intersects_xy(r, x, y)
    near = inside & ~in_r & shapely.dwithin(r, shapely.points(x, y), buffer_m)
    rest = inside & ~in_r & ~near
    return {z: (float(w[m].sum()), float(h[m].sum())) for z, m in (("R", in_r), ("D", near), ("C", rest))}


def displacement_check(tasked: gpd.GeoDataFrame, area: gpd.GeoDataFrame, before: pd.DataFrame,
                       after: pd.DataFrame, *, buffer_m: float = 250.0, harm_index: HarmIndex = "cchi",
                       include_sensitive: bool = False) -> Displacement:
    """WDQ and total net effect of a tasking, on incident counts and on harm.

    ``tasked`` are the tasked places' polygons (R), ``area`` the borough; the
    buffer ring D is 0-``buffer_m`` around R and C the rest of the borough
    (:func:`displacement_areas`); each incident is placed by its exact distance
    to R, not by the polygonised ring.  ``before``/``after`` as in
    :func:`tasked_vs_control` (periods of any length: the WDQ compares each
    zone with the control, so lengths cancel).
    """
    zones = displacement_areas(tasked, area, buffer_m=buffer_m)
    whole = shapely.union_all(np.asarray(area.geometry.values, dtype=object))
    sb = _zone_sums(zones, *_prepare(before, harm_index=harm_index, include_sensitive=include_sensitive, name="before"),
                    area=whole, buffer_m=buffer_m)
    sa = _zone_sums(zones, *_prepare(after, harm_index=harm_index, include_sensitive=include_sensitive, name="after"),
                    area=whole, buffer_m=buffer_m)
    res = {}
    for k, m in ((0, "incidents"), (1, "harm")):
        res[m] = wdq(Rb=sb["R"][k], Ra=sa["R"][k], Db=sb["D"][k], Da=sa["D"][k], Cb=sb["C"][k], Ca=sa["C"][k])
    return Displacement(incidents=res["incidents"], harm=res["harm"], zones=zones,
                        params={"buffer_m": float(buffer_m), "harm_index": harm_index,
                                "include_sensitive": include_sensitive,
                                "zones": "R tasked places, D 0-buffer_m ring, C rest of the area"})


# ----------------------------------------------------------------------------
# everything together
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class WeekReview:
    """Review of one week's approved plan (see :func:`review_week`)."""

    week: str
    comparison: TaskedComparison
    displacement: Displacement
    delivery: Delivery | None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (tables as records) for the pack and the dashboard."""
        def recs(df: pd.DataFrame) -> list[dict[str, Any]]:
            return plain_records(df, nan=True)

        d: dict[str, Any] = {
            "week": self.week,
            "comparison": {"summary": recs(self.comparison.summary), "params": self.comparison.params,
                           "notes": list(self.comparison.notes)},
            "displacement": {"incidents": self.displacement.incidents.to_dict(),
                             "harm": self.displacement.harm.to_dict(), "params": self.displacement.params,
                             "zones_m2": {z: float(a) for z, a in zip(self.displacement.zones["zone"],
                                                                      self.displacement.zones["area_m2"])}},
            "delivery": None, "notes": list(self.notes)}
        if self.delivery is not None:
            d["delivery"] = {"totals": {k: (None if isinstance(v, float) and math.isnan(v) else v)
                                        for k, v in self.delivery.totals.items()},
                             "by_agent": recs(self.delivery.by_agent),
                             "by_candidate": recs(self.delivery.by_candidate)}
        return d


def review_week(plan: Plan | Mapping[str, Any], *, units: gpd.GeoDataFrame, area: gpd.GeoDataFrame,
                before: pd.DataFrame, after: pd.DataFrame, before_weeks: float, after_weeks: float,
                logs: pd.DataFrame | None = None, buffer_m: float = 250.0,
                method: Literal["nearest", "decile"] = "nearest", n_controls: int = 3,
                harm_index: HarmIndex | None = None, include_sensitive: bool = False) -> WeekReview:
    """Tasked-vs-control comparison, displacement check and (with ``logs``) delivery of one plan.

    ``units`` are the places with ``tasked`` flags, e.g.
    ``grid_controls(candidate_polygons(plan, parks=...), area)``; the tasked
    ones form the response area of the WDQ.  ``harm_index`` defaults to the
    plan's.
    """
    p = Plan.coerce(plan)
    hi = harm_index or p.harm_index
    comp = tasked_vs_control(units, before, after, before_weeks=before_weeks, after_weeks=after_weeks,
                             method=method, n_controls=n_controls, harm_index=hi, include_sensitive=include_sensitive)
    tasked = units[units["tasked"].astype(bool)]
    disp = displacement_check(tasked, area, before, after, buffer_m=buffer_m, harm_index=hi,
                              include_sensitive=include_sensitive)
    dl = delivery(p, logs) if logs is not None else None
    notes = list(units.attrs.get("notes", []))
    if dl is None:
        notes.append("no patrol logs given: delivery not assessed")
    return WeekReview(week=p.week, comparison=comp, displacement=disp, delivery=dl,
                      notes=tuple(notes))
