"""The weekly tasking pack: HTML and PDF for the meeting, CSV and GeoJSON of the plan for GIS.

Two layers, as the house style asks:

* **pure** - :func:`build_pack` gathers the plan, the Designing Out Crime
  recommendations, decisions, review and sensitive aggregates into a
  :class:`Pack` of tables (suppression applied here, before anything is
  rendered); :func:`pack_html` renders it as one self-contained HTML page
  (inline CSS, the map as an inline PNG drawn with matplotlib's Agg canvas, no
  script, no web font, no CDN, no external URL); :func:`pack_pdf` prints that
  HTML with WeasyPrint, fetching ``data:`` URLs only; :func:`plan_csv` gives one
  row per assignment and :func:`plan_geojson` one polygon per planned place
  (:func:`plan_places`); :func:`plan_gpkg_layers` the GeoPackage's layers, the
  cameras' coverage among them (:func:`camera_coverage`); :func:`plan_map_png`
  draws the map.
* **edge** - :func:`export_pack` (and :func:`write_html`, :func:`write_pdf`,
  :func:`write_csv`, :func:`write_geojson`) writes the file and, when an
  ``engine`` is given, audits it in ``export_audit``
  (:func:`tasking.records.record_export`) with the file's sha256.

Sections, in the order of a National Intelligence Model tactical tasking
pack (domain-notes b3): summary (week, objective, bound, gap, the greedy
comparison, notes and assumptions), hotspots and priorities, assignments per
agent by day and shift with reasons, unassigned places with reasons, CCTV
moves, Designing Out Crime recommendations, decisions (actions, owners, due
dates, carried over), last week's review (tasked against comparable places,
delivery, displacement by WDQ).

Safeguarding by construction: the plan is built from non-sensitive incidents
only; sensitive categories enter the pack only as aggregates by area
(:func:`suppress_counts`: 1-4 shown as "fewer than 5", no totals that would let a
suppressed cell be worked out), and the map draws places (grid patches, parks,
candidate points), never incidents.

GeoJSON coordinates are WGS84 longitude/latitude (EPSG:4326, RFC 7946), one
MultiPolygon per planned place, with the representative point's
``x_bng``/``y_bng`` (EPSG:27700) in the properties; QGIS and ArcGIS read it
as is.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spatial.jsonable import finite_float, py_scalar
from spatial.low_months import league_note
from spatial.store.queries import suppressed_label

from ._errors import TaskingError
from .formats import EXPORT_KINDS, ExportKind
from .kinds import kind_title
from .names import site_label, ward_name_map
from .plan import Plan

__all__ = [
    "ASSIGNMENT_COLUMNS",
    "advice_layer",
    "ExportResult",
    "Pack",
    "PackSchemes",
    "build_pack",
    "camera_coverage",
    "coverage_radius",
    "export_pack",
    "pack_html",
    "pack_pdf",
    "pack_schemes",
    "PLACE_COLUMNS",
    "plan_csv",
    "plan_geojson",
    "plan_gpkg_layers",
    "plan_places",
    "plan_map_png",
    "suppress_counts",
    "write_csv",
    "write_geojson",
    "write_html",
    "write_pdf",
]

Format = ExportKind
SUPPRESS_BELOW = 5

#: Columns of the plan CSV (one row per assignment) and of the GeoPackage's ``assignments`` layer.
ASSIGNMENT_COLUMNS: tuple[str, ...] = (
    "week", "agent_id", "kind", "day", "date", "shift", "candidate_id", "place_name", "place_type", "name",
    "ward_code", "ward_name", "visits", "minutes", "expected_harm_shift", "value", "x_bng", "y_bng", "lon", "lat", "why",
)
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


# ----------------------------------------------------------------------------
# pure: tables
# ----------------------------------------------------------------------------
def suppress_counts(counts: pd.DataFrame, *, count_col: str = "count", below: int = SUPPRESS_BELOW) -> pd.DataFrame:
    """Sensitive aggregates ready to show: ``display`` is the count, or "fewer than 5" for 1 to ``below - 1``.

    Rows with a ``sensitive`` column false are dropped (this table is for
    sensitive categories).  A count already suppressed upstream (None, e.g.
    from :func:`spatial.store.queries.ward_category_counts`) shows "fewer than 5".  The
    numeric column is removed, so the exact small count cannot leak.

    Examples
    --------
    >>> df = pd.DataFrame({"ward_code": ["A", "B"], "category": ["violent-crime"] * 2, "count": [3, 12]})
    >>> suppress_counts(df)["display"].tolist()  # the borough total 15 (public elsewhere) - 12 = 3
    ['fewer than 5', 'withheld']
    >>> df = pd.DataFrame({"ward_code": ["A", "B", "C"], "category": ["violent-crime"] * 3, "count": [3, 12, 40]})
    >>> suppress_counts(df)["display"].tolist()
    ['fewer than 5', 'withheld', '40']
    """
    if count_col not in counts.columns:
        msg = f"sensitive counts need a {count_col!r} column; got {list(counts.columns)}"
        raise TaskingError(msg)
    from spatial.disclosure import WITHHELD, protect_table

    df = counts.copy()
    if "sensitive" in df.columns:
        df = df[df["sensitive"].astype(bool)]
    df = df.reset_index(drop=True)
    n = pd.to_numeric(df[count_col], errors="coerce")
    upstream = df["display"].astype(str) if "display" in df.columns else pd.Series("", index=df.index)
    secondary = pd.Series(False, index=df.index)
    known = n.notna()
    if {"ward_code", "category"} <= set(df.columns) and ((n > 0) & (n < below)).any():
        # secondary suppression over the ward x category table (borough totals are public elsewhere)
        table = df[known].pivot_table(index="ward_code", columns="category", values=count_col, aggfunc="sum",
                                      fill_value=0)
        p = protect_table(table.to_numpy(dtype=np.int64), np.ones(table.shape[1], dtype=bool), below=below)
        hidden = {(r, c) for i, r in enumerate(table.index) for j, c in enumerate(table.columns) if p.secondary[i, j]}
        secondary = known & pd.Series([(w, c) in hidden for w, c in zip(df["ward_code"], df["category"], strict=True)],
                                      index=df.index)
    display = []
    for v, up, sec in zip(n, upstream, secondary, strict=True):
        if up == WITHHELD or sec:
            display.append(WITHHELD)
        elif pd.isna(v) or 0 < v < below:
            display.append(suppressed_label(below))
        else:
            display.append(str(int(v)))
    df = df.drop(columns=[c for c in (count_col, "display") if c in df.columns])
    df["display"] = display
    return df.reset_index(drop=True)


def _to_lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from pyproj import Transformer

    t = Transformer.from_crs(27700, 4326, always_xy=True)
    lon, lat = t.transform(np.asarray(x, float), np.asarray(y, float))
    return np.asarray(lon), np.asarray(lat)


def _check_plan(plan: Any) -> Plan:
    """The plan (a :class:`~tasking.plan.Plan` or its dict) read once as a Plan, once it has what a pack needs."""
    if not isinstance(plan, (Plan, Mapping)):
        msg = f"plan was a {type(plan).__name__}; give the plan dict (plan_week, or the allocate JSON loaded)"
        raise TaskingError(msg)
    for key in ("week", "assignments", "candidates"):
        if not (plan.has(key) if isinstance(plan, Plan) else key in plan):
            msg = f"plan.{key} is missing; give a complete plan from plan_week / `hotspot-tasking allocate`"
            raise TaskingError(msg)
    return Plan.coerce(plan)


def _assignments(plan: Plan | Mapping[str, Any]) -> pd.DataFrame:
    """One row per assignment with the candidate's name, ward and coordinates (BNG and WGS84)."""
    from .names import plan_place_names

    p = _check_plan(plan)
    cands = {str(c.candidate_id): c for c in p.candidates}
    shown = plan_place_names(p)
    rows = []
    for a in p.assignments:
        cid = str(a.candidate_id)
        c = cands.get(cid)
        if c is None:
            msg = f"plan.assignments names candidate {cid!r}, which is not in plan.candidates"
            raise TaskingError(msg)
        # an assignment without its own place type or ward (older plans) has its candidate's
        rows.append({"week": p.week, "agent_id": a.agent_id, "kind": a.kind, "day": a.day,
                     "date": a.date, "shift": a.shift, "candidate_id": cid, "place_name": shown[cid],
                     "place_type": a.place_type if a.has("place_type") else c.place_type, "name": c.name,
                     "ward_code": a.ward_code if a.has("ward_code") else c.ward_code,
                     "ward_name": c.ward_name,
                     "visits": int(a.visits),
                     "minutes": a.minutes, "expected_harm_shift": a.expected_harm_shift,
                     "value": a.value, "x_bng": c.xy[0], "y_bng": c.xy[1], "why": a.why})
    df = pd.DataFrame(rows, columns=[c for c in ASSIGNMENT_COLUMNS if c not in ("lon", "lat")])
    if len(df):
        lon, lat = _to_lonlat(df["x_bng"].to_numpy(), df["y_bng"].to_numpy())
        df["lon"], df["lat"] = np.round(lon, 6), np.round(lat, 6)
    else:
        df["lon"], df["lat"] = [], []
    shift_order = {s: i for i, s in enumerate(_shift_names(p))}
    df["_d"] = df["day"].map({d: i for i, d in enumerate(_DAYS)})
    df["_s"] = df["shift"].map(shift_order)
    df = df.sort_values(["agent_id", "_d", "_s", "candidate_id"], kind="stable").drop(columns=["_d", "_s"])
    return df[list(ASSIGNMENT_COLUMNS)].reset_index(drop=True)


def _shift_names(plan: Plan) -> list[str]:
    from .records import plan_shifts

    return plan_shifts(plan)


def plan_csv(plan: Plan | Mapping[str, Any]) -> str:
    """Return the plan as CSV text: one row per assignment, columns :data:`ASSIGNMENT_COLUMNS` (reasons in ``why``).

    Text cells a spreadsheet would run as a formula are neutralised (:mod:`spatial.csv_safe`).
    """
    from spatial.csv_safe import to_csv

    return str(to_csv(_assignments(plan), index=False, lineterminator="\n"))


#: Properties of the plan GeoJSON, in order: one feature per planned place (:func:`plan_places`).
PLACE_COLUMNS: tuple[str, ...] = (
    "candidate_id", "place_name", "place_type", "ward_code", "ward_name", "planned_visits", "n_assignments",
    "minutes_on_site_week", "agents", "schedule", "why", "harm_per_week", "priority", "area_m2", "geometry_source",
    "x_bng", "y_bng",
)


def _as_multipolygon(geom: Any) -> Any:
    """``geom`` as a valid MultiPolygon (its polygon parts; invalid input repaired), or None when it has none."""
    import shapely

    if geom is None or geom.is_empty:
        return None
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    flat = [q for part in shapely.get_parts(geom) for q in shapely.get_parts(part)
            if isinstance(q, shapely.Polygon) and not q.is_empty]  # a collection's parts may be multi-parts
    return shapely.MultiPolygon(flat) if flat else None


def _why_undrawn(cid: str, *, parks: Any, estates: Any) -> str:
    if cid.startswith("WP-"):
        return "ward presence: a presence duty anywhere in the ward, not a place"
    for prefix, layer, what in (("PK-", parks, "park"), ("ES-", estates, "estate")):
        if cid.startswith(prefix):
            if layer is None or not len(layer):
                return f"no {what}s layer was given"
            return f"the {what} is not in the {what}s layer"
    return "the place has no polygon"


def plan_places(plan: Plan | Mapping[str, Any], *, parks: Any = None, estates: Any = None,
                wards: Any = None) -> Any:
    """One row per planned place (a candidate with at least one assignment) with its polygon, EPSG:27700 (pure).

    Parameters
    ----------
    plan
        A :class:`~tasking.plan.Plan` or its dict.
    parks, estates
        Layers with ``park_id`` / ``estate_id`` and geometry (EPSG:27700): parks and estates are drawn
        from them (:func:`tasking.review.candidate_polygons`); street patches from their grid cells.
    wards
        Ward polygons (EPSG:27700, ``ward_code``, optional ``ward_name``).  A place that cannot be
        drawn (a ward presence ``WP-`` duty, a park or estate without its layer) gets its ward's
        polygon; without ``wards`` (or the ward not in it) a square of the plan's cell size
        around its point.  Nothing is dropped.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`PLACE_COLUMNS` and a MultiPolygon geometry (EPSG:27700), in the plan's
        candidate order.  ``planned_visits`` is the sum of the place's assignment visits,
        ``minutes_on_site_week`` their minutes; ``agents`` the people sent ("W01; W02", sorted);
        ``schedule`` when, compactly ("Mon early x2 (W01); Tue late (W02)", day then shift order);
        ``why`` the place's reason, once (the pack's sentence); ``harm_per_week`` and ``priority``
        the candidate's; ``area_m2`` the polygon's area; ``geometry_source`` in words where the
        polygon came from; ``x_bng``/``y_bng`` the place's representative point.  Candidates with
        no assignment are not here (they are in the GeoPackage's ``patrol_patches`` with
        ``planned_visits`` 0).

    Examples
    --------
    >>> plan = {"week": "2026-W48", "inputs": {"cell_size_m": 150}, "candidates": [
    ...     {"candidate_id": "ST-c10_20", "place_type": "street", "cells": "c10_20,c11_20", "x": 1575.0, "y": 3075.0},
    ...     {"candidate_id": "WP-E1", "place_type": "street", "ward_code": "E1", "x": 5000.0, "y": 5000.0}],
    ...     "assignments": [{"agent_id": "W01", "candidate_id": "ST-c10_20", "day": "Mon", "shift": "early",
    ...                      "visits": 2}, {"agent_id": "W02", "candidate_id": "WP-E1", "day": "Tue",
    ...                      "shift": "late", "visits": 1}]}
    >>> g = plan_places(plan)
    >>> g["area_m2"].tolist(), g["planned_visits"].tolist(), g["schedule"].tolist()
    ([45000.0, 22500.0], [2, 1], ['Mon early x2 (W01)', 'Tue late (W02)'])
    >>> g["geometry_source"].iloc[1]
    'square of 150 m around the place point (ward presence: a presence duty anywhere in the ward, not a place)'
    """
    import geopandas as gpd

    from .review import candidate_polygons

    p = _check_plan(plan)
    assign = _assignments(p)
    size = float(p.cell_size_m)
    drawn = candidate_polygons(p, parks=parks, estates=estates, cell_size_m=size)
    polys = dict(zip(drawn["candidate_id"].astype(str), zip(drawn.geometry, drawn["geometry_source"], strict=True),
                     strict=True))
    ward_geom = _ward_geometries(wards)
    ward_label = ward_name_map(wards) if ward_geom else {}
    whys = _place_whys(p, assign)
    shift_order = {s: i for i, s in enumerate(_shift_names(p))}
    by_place = {cid: g for cid, g in assign.groupby("candidate_id", sort=False)}
    rows, geoms = [], []
    for c in p.candidates:
        cid = str(c.candidate_id)
        g = by_place.get(cid)
        if g is None or not len(g):
            continue
        code = str(c.ward_code) if c.ward_code else (cid[3:] if cid.startswith("WP-") else "")
        geom, source = polys.get(cid, (None, ""))
        geom = _as_multipolygon(geom)
        if geom is not None and source == "grid cells":
            n_cells = len([s for s in str(c.cells or "").split(",") if s.strip()])
            source = f"grid cells ({n_cells} of {size:g} m)"
        if geom is None:
            geom, source = _undrawn_geometry(c, code, parks=parks, estates=estates, ward_geom=ward_geom, size=size)
        g = g.assign(_d=g["day"].map({d: i for i, d in enumerate(_DAYS)}), _s=g["shift"].map(shift_order))
        g = g.sort_values(["_d", "_s", "agent_id"], kind="stable")
        schedule = "; ".join(f"{r.day} {r.shift}" + (f" x{int(r.visits)}" if int(r.visits) != 1 else "")
                             + f" ({r.agent_id})" for r in g.itertuples(index=False))
        minutes = pd.to_numeric(g["minutes"], errors="coerce").sum(min_count=1)
        ward_name = c.ward_name if c.ward_name else ward_label.get(code)
        rows.append({
            "candidate_id": cid, "place_name": str(g["place_name"].iloc[0]),
            "place_type": c.place_type if c.has("place_type") else str(g["place_type"].iloc[0]),
            "ward_code": code or None, "ward_name": ward_name or None,
            "planned_visits": int(g["visits"].sum()), "n_assignments": len(g),
            "minutes_on_site_week": None if pd.isna(minutes) else float(minutes),
            "agents": "; ".join(sorted({str(a) for a in g["agent_id"]})), "schedule": schedule,
            "why": whys[cid],
            "harm_per_week": finite_float(c.expected_harm_week),
            "priority": finite_float(c.priority),
            "area_m2": float(geom.area), "geometry_source": source,
            "x_bng": float(c.xy[0]), "y_bng": float(c.xy[1]),
        })
        geoms.append(geom)
    out = pd.DataFrame(rows, columns=list(PLACE_COLUMNS))
    out["planned_visits"] = out["planned_visits"].astype("int64")
    out["n_assignments"] = out["n_assignments"].astype("int64")
    return gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geoms, crs=27700), crs=27700)


def _undrawn_geometry(c: Any, code: str, *, parks: Any, estates: Any, ward_geom: Mapping[str, Any],
                      size: float) -> tuple[Any, str]:
    """A place without a polygon of its own: its ward's polygon, else a square of the cell size around its point."""
    import shapely

    cid = str(c.candidate_id)
    why_not = _why_undrawn(cid, parks=parks, estates=estates)
    if code in ward_geom and _as_multipolygon(ward_geom[code]) is not None:
        return _as_multipolygon(ward_geom[code]), f"ward boundary ({why_not})"
    missing = "; the ward is not in the wards layer" if ward_geom else ""
    return (_as_multipolygon(shapely.Point(*c.xy).buffer(size / 2, cap_style="square")),
            f"square of {size:g} m around the place point ({why_not}{missing})")


def _ward_geometries(wards: Any) -> dict[str, Any]:
    """Ward code -> polygon of a wards layer (EPSG:27700), or ``{}`` without one."""
    from spatial.projection import require_bng

    if wards is None or not len(wards):
        return {}
    require_bng(wards, name="the wards layer")
    if "ward_code" not in wards.columns:
        msg = f"the wards layer needs a 'ward_code' column; got {list(wards.columns)}"
        raise TaskingError(msg)
    return dict(zip(wards["ward_code"].astype(str), wards.geometry, strict=True))


def _geojson_geometry(geom: Any) -> dict[str, Any]:
    """A WGS84 (Multi)Polygon as an RFC 7946 MultiPolygon: 6 decimals, exterior rings anticlockwise, valid."""
    import shapely

    snapped = _as_multipolygon(shapely.set_precision(geom, 1e-6))  # valid output on the 6-decimal grid
    if snapped is None:  # a sliver smaller than the grid: keep its own coordinates
        snapped = _as_multipolygon(geom)
    snapped = shapely.orient_polygons(snapped, exterior_cw=False)

    def ring(r: Any) -> list[list[float]]:
        return [[round(float(x), 6), round(float(y), 6)] for x, y in r.coords]

    return {"type": "MultiPolygon",
            "coordinates": [[ring(poly.exterior), *(ring(h) for h in poly.interiors)]
                            for poly in shapely.get_parts(snapped)]}


def plan_geojson(plan: Plan | Mapping[str, Any], *, parks: Any = None, estates: Any = None,
                 wards: Any = None) -> dict[str, Any]:
    """Return the plan as a GeoJSON FeatureCollection: one MultiPolygon feature per planned place, EPSG:4326.

    One feature for every candidate with at least one assignment (:func:`plan_places`: street
    patches from their grid cells, parks and estates from ``parks`` / ``estates``, the rest as
    their ward's polygon from ``wards``, else a square of the plan's cell size, with
    ``geometry_source`` saying which); candidates with no visit are left out (they are in the
    GeoPackage's ``patrol_patches`` with ``planned_visits`` 0).  Coordinates are longitude,
    latitude to 6 decimals (RFC 7946: WGS84, exterior rings anticlockwise, no ``crs`` member);
    every feature is a MultiPolygon.  Properties are :data:`PLACE_COLUMNS` plus ``plan_sha256``
    (which plan this is), typed JSON numbers (``planned_visits`` and ``n_assignments`` integers,
    absent figures ``null``), as fields GDAL keeps.  One row per assignment (agent, day, shift)
    is in the CSV (:func:`plan_csv`) and the GeoPackage's ``assignments`` layer.
    """
    from .records import plan_digest

    p = _check_plan(plan)
    places = plan_places(p, parks=parks, estates=estates, wards=wards)
    digest = plan_digest(p)
    wgs = places.geometry.to_crs(4326)
    feats = []
    for r, geom in zip(places.drop(columns=places.geometry.name).to_dict(orient="records"), wgs, strict=True):
        props = {k: _jsonable(r[k]) for k in PLACE_COLUMNS}
        props["planned_visits"], props["n_assignments"] = int(r["planned_visits"]), int(r["n_assignments"])
        props["plan_sha256"] = digest
        feats.append({"type": "Feature", "geometry": _geojson_geometry(geom), "properties": props})
    return {"type": "FeatureCollection", "name": f"tasking_plan_{p.week}", "features": feats}


def plan_gpkg_layers(plan: Plan | Mapping[str, Any], *, parks: Any = None, estates: Any = None,
                     recommendations: pd.DataFrame | None = None,
                     wards: Any = None) -> tuple[dict[str, Any], list[str]]:
    """The plan's GeoPackage layers (EPSG:27700) and notes on what could not be drawn (pure).

    ``patrol_patches``: every candidate place as a MultiPolygon (street patches
    from their grid cells, parks and estates from the layers given; a place
    without a polygon of its own, such as a ward presence duty or a park
    without the parks layer, as its ward from ``wards`` or a square around its
    point, as the plan GeoJSON draws it, ``geometry_source`` saying which) with
    ``planned_visits``, ``harm_per_week``, ``priority``, ``area_m2``;
    ``assignments``: one point per assignment (agent, day, shift) at the
    place's representative point, ``minutes_on_site``, ``harm_per_shift``;
    ``cameras``: the deployable cameras' sites; ``camera_coverage``: each
    placed camera's coverage circle (:func:`camera_coverage`, with
    ``coverage_radius_m``, ``radius_source`` and ``area_m2``); ``advice``: the Designing Out
    Crime advice when ``recommendations`` (a GeoDataFrame) is given, with
    ``incidents`` as an integer.
    """
    import geopandas as gpd
    import shapely

    from spatial.gis_export import layer_for_gis

    from .review import candidate_polygons

    p = _check_plan(plan)
    patches = candidate_polygons(p, parks=parks, estates=estates)
    drawn = set(patches["candidate_id"].astype(str))
    undrawn = [c for c in p.candidates if str(c.candidate_id) not in drawn]
    notes: list[str] = []
    if undrawn:  # nothing is left out: the places without a polygon of their own as the GeoJSON draws them
        ward_geom = _ward_geometries(wards)
        visits: dict[str, int] = {}
        for a in p.assignments:
            visits[str(a.candidate_id)] = visits.get(str(a.candidate_id), 0) + int(a.visits)
        extra = []
        for c in undrawn:
            cid = str(c.candidate_id)
            code = str(c.ward_code) if c.ward_code else (cid[3:] if cid.startswith("WP-") else "")
            geom, source = _undrawn_geometry(c, code, parks=parks, estates=estates, ward_geom=ward_geom,
                                             size=float(p.cell_size_m))
            extra.append({"candidate_id": cid, "place_type": c.place_type if c.has("place_type") else "street",
                          "name": c.name, "ward_code": code or None,
                          "priority": finite_float(c.priority), "expected_harm_week": finite_float(c.expected_harm_week),
                          "tasked": visits.get(cid, 0) > 0, "planned_visits": visits.get(cid, 0),
                          "geometry_source": source, "geometry": geom})
        patches = pd.concat([patches, gpd.GeoDataFrame(extra, geometry="geometry", crs=27700)], ignore_index=True)
        patches = gpd.GeoDataFrame(patches, geometry="geometry", crs=27700)
        notes.append(f"{len(undrawn)} place(s) without a polygon of their own drawn as their ward or a square "
                     "around their point (geometry_source says which)")
    layers: dict[str, Any] = {"patrol_patches": layer_for_gis(patches, kind="patrol_patches")}
    df = _assignments(p).drop(columns=["lon", "lat"])
    pts = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["x_bng"], df["y_bng"]), crs=27700)
    layers["assignments"] = layer_for_gis(pts, kind="assignments")
    cams = pd.DataFrame([c.to_json() for c in p.cameras])
    if len(cams) and {"x", "y"} <= set(cams.columns):
        placed = cams.dropna(subset=["x", "y"]).reset_index(drop=True)
        if len(placed) < len(cams):
            notes.append(f"{len(cams) - len(placed)} camera(s) without a site position left out")
        cams_g = gpd.GeoDataFrame(placed.drop(columns=["x", "y"]),
                                  geometry=gpd.points_from_xy(placed["x"].astype(float), placed["y"].astype(float)),
                                  crs=27700)
    else:
        cams_g = gpd.GeoDataFrame({"camera_id": pd.Series([], dtype=object)},
                                  geometry=gpd.GeoSeries([], crs=27700), crs=27700)
    layers["cameras"] = layer_for_gis(cams_g, kind="cameras")
    layers["camera_coverage"] = layer_for_gis(camera_coverage(p), kind="camera_coverage")
    if isinstance(recommendations, gpd.GeoDataFrame) and recommendations.crs is not None and len(recommendations):
        rec = recommendations.to_crs(27700)
        rec = rec[[shapely.get_type_id(g) in (3, 6) for g in rec.geometry]]
        layers["advice"] = advice_layer(rec)
    return layers, notes


#: Segments per quarter circle of a camera's coverage polygon (its area is within 0.05% of pi r^2).
COVERAGE_QUAD_SEGS = 32


def coverage_radius(plan: Plan | Mapping[str, Any]) -> tuple[float, str]:
    """The deployable cameras' coverage radius the plan used, in metres, and where it was read (pure).

    Plans record it as ``inputs.cctv_coverage_radius_m`` (:func:`tasking.pipeline.plan_week`);
    older plans do not, and get the bundled roster's ``deployable_cctv.coverage_radius_m``,
    saying so.

    Examples
    --------
    >>> coverage_radius({"week": "w", "inputs": {"cctv_coverage_radius_m": 80}})
    (80.0, 'the plan (inputs.cctv_coverage_radius_m)')
    """
    p = Plan.coerce(plan)
    recorded = p.inputs.get("cctv_coverage_radius_m")
    if recorded is not None:
        return float(recorded), "the plan (inputs.cctv_coverage_radius_m)"
    from .resources import default_roster_path, load_roster

    path = default_roster_path()
    return (float(load_roster(path).deployable_cctv.coverage_radius_m),
            f"roster default ({path.name}): the plan does not record the radius it used")


def camera_coverage(plan: Plan | Mapping[str, Any]) -> Any:
    """The deployable cameras' coverage: one circle of :func:`coverage_radius` per placed camera, EPSG:27700 (pure).

    Columns ``camera_id``, ``site_id``, ``status``, ``coverage_radius_m`` and ``radius_source``
    (where the radius was read); a camera without a site position is left out (the GeoPackage's
    notes count them).  The circle is a polygon of ``4 * COVERAGE_QUAD_SEGS`` sides.
    """
    import geopandas as gpd
    import shapely

    p = _check_plan(plan)
    radius, source = coverage_radius(p)
    rows, geoms = [], []
    for c in p.cameras:
        if c.x is None or c.y is None or not (math.isfinite(float(c.x)) and math.isfinite(float(c.y))):
            continue
        rows.append({"camera_id": str(c.camera_id), "site_id": str(c.site_id), "status": c.status,
                     "coverage_radius_m": radius, "radius_source": source})
        geoms.append(shapely.MultiPolygon([shapely.Point(float(c.x), float(c.y)).buffer(
            radius, quad_segs=COVERAGE_QUAD_SEGS)]))
    cols = ["camera_id", "site_id", "status", "coverage_radius_m", "radius_source"]
    out = pd.DataFrame(rows, columns=cols)
    out["coverage_radius_m"] = out["coverage_radius_m"].astype(float)
    out = gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geoms, crs=27700), crs=27700)
    if not len(out):
        out["area_m2"] = pd.Series([], dtype=float)
    return out


def advice_layer(recommendations: Any) -> Any:
    """Designing Out Crime advice (one polygon per hotspot) as a GIS layer: ``incidents`` an integer.

    ``incidents`` is the hotspot's non-sensitive count; ``incidents_shown`` the
    text shown on screen and in the pack (sensitive categories only as
    "fewer than 5" or a count of 5 or more), so nothing unsuppressed leaves.
    """
    from spatial.gis_export import layer_for_gis

    rec = recommendations.copy()
    if "incidents" in rec.columns and "incidents_nonsensitive" in rec.columns:
        rec["incidents_shown"] = rec["incidents"].astype(str)
        rec["incidents"] = rec.pop("incidents_nonsensitive").astype("int64")
    return layer_for_gis(rec, kind="advice")


def _jsonable(v: Any) -> Any:
    return py_scalar(v, nan=True, inf=True)


def _fmt(v: Any, digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        return f"{float(v):,.{digits}f}"
    return str(v)


def _pct(v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{float(v):+.0%}"


@dataclass(frozen=True)
class PackSchemes:
    """The pack's Schemes section: the league's top rows, the not-ASB reports, repeat locations as counts only.

    The pack is handed out, so nothing here places a case: no coordinates, no addresses, and
    sensitive counts of 1-4 read "fewer than 5" (with the totals that would reveal them withheld).
    """

    area: str
    months: tuple[str, ...]
    league: pd.DataFrame
    n_schemes: int
    not_asb: pd.DataFrame
    n_not_asb: int
    n_not_asb_on_schemes: int
    policy: str
    repeats: pd.DataFrame
    repeat_rule: str
    synthetic: bool
    sources: tuple[str, ...]
    #: What the league left out (months published low; :func:`spatial.low_months.league_note`), or ''.
    low_months_note: str = ""


#: League rows the pack shows (the Schemes page shows every scheme).
PACK_SCHEME_ROWS = 10
#: Places without a visit the printed pack lists, highest priority first (the Tasking page lists every one,
#: with its reason): West Kent's week left 257 places unvisited, twelve pages of a pack meant to be handed out.
PACK_UNASSIGNED_ROWS = 25
#: Places whose Designing Out Crime advice the pack gives, highest priority first (the plan's GeoPackage, layer
#: ``advice``, holds every place's): on West Kent's 449 places the advice alone was 60 pages.
PACK_ADVICE_ROWS = 25


def _withheld(v: Any) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and not math.isfinite(v)):
        return "withheld"
    return _fmt(float(v), 1) if not float(v).is_integer() else f"{int(v):,}"


def pack_schemes(report: Any, *, top: int = PACK_SCHEME_ROWS) -> PackSchemes:
    """The pack's Schemes section from a :class:`tasking.housing.SchemeReport` (pure; counts only).

    Raises
    ------
    TaskingError
        If the report has no league or no not-ASB part (build it with every part).
    """
    lt, na = report.league, report.not_asb
    if lt is None or na is None:
        msg = "the pack's Schemes section needs the report's league and not-ASB parts"
        raise TaskingError(msg)
    head = lt.head(top)
    league = pd.DataFrame({
        "rank": head["rank"].astype(int).to_numpy(),
        "scheme": head["area_name"].astype(str).to_numpy(),
        "asb_cases": [_withheld(v) for v in head["count"]],
        "sensitive": head["sensitive_display"].astype(str).to_numpy(),
        "rate": [("withheld" if pd.isna(v) else f"{float(v):,.1f}") for v in head["rate"]],
        "rate_basis": head["rate_basis"].astype(str).to_numpy(),
        "not_asb_reports": head["not_asb_reports"].astype(int).to_numpy(),
    })
    nas = pd.DataFrame({"category": na["label"].astype(str).to_numpy(), "reports": na["count"].astype(int).to_numpy()})
    rep = pd.DataFrame(columns=["scheme", "ward_code", "kind", "repeat_locations"])
    rule = ""
    if report.repeats is not None:
        b = report.repeats.by_area
        rule = str(report.repeats.rule)
        on = b[b["estate_id"].astype(str) != "(none)"]
        rep = pd.DataFrame({"scheme": on["estate_id"].astype(str).to_numpy(),
                            "ward_code": on["ward_code"].astype(str).to_numpy(),
                            "kind": on["kind"].astype(str).to_numpy(),
                            "repeat_locations": on["display"].astype(str).to_numpy()})
    return PackSchemes(area=str(report.area), months=tuple(report.months), league=league, n_schemes=len(lt),
                       not_asb=nas, n_not_asb=int(na.attrs.get("total", int(na["count"].sum()))),
                       n_not_asb_on_schemes=int(report.n_not_asb_on_schemes),
                       policy=str(na.attrs.get("policy", "")), repeats=rep, repeat_rule=rule,
                       synthetic=bool(report.synthetic), sources=tuple(report.sources),
                       low_months_note=league_note(list(lt.attrs.get("low_months", [])),
                                                   kept_months=int(lt.attrs.get("months_counted", 0)),
                                                   table="The schemes league"))


@dataclass(frozen=True)
class Pack:
    """Everything the pack shows, as plain tables (already suppressed).  See :func:`build_pack`."""

    week: str
    title: str
    summary: dict[str, str]
    notes: tuple[str, ...]
    hotspots: pd.DataFrame
    assignments: pd.DataFrame
    unassigned: pd.DataFrame
    cameras: pd.DataFrame
    recommendations: pd.DataFrame | None
    decisions: pd.DataFrame | None
    review: dict[str, Any] | None
    review_notes: pd.DataFrame | None
    sensitive: pd.DataFrame | None
    map_png: bytes | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    #: The plan in plain words (sentences for the first page).
    plain: tuple[str, ...] = ()
    #: How the plan was worked out: (label, figure, one sentence explaining it).
    solver: tuple[tuple[str, str, str], ...] = ()
    #: One row per person and shift: ``agent_id, kind, day, date, shift, places, visits, minutes``.
    schedule: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: A housing association's schemes (counts only), when the area has a schemes layer.
    schemes: PackSchemes | None = None
    #: How many places had no visit, and how many had advice, before the pack kept the highest-priority
    #: :data:`PACK_UNASSIGNED_ROWS` and :data:`PACK_ADVICE_ROWS` (``unassigned`` and ``recommendations``).
    unassigned_total: int = 0
    recommendations_total: int = 0
    #: What the plan's roster calls each kind's people (the plan's ``inputs["kind_titles"]``).
    kind_titles: dict[str, str] = field(default_factory=dict)

    @property
    def includes_sensitive_aggregates(self) -> bool:
        """Whether any sensitive-category aggregate is in the pack (for the export audit)."""
        rec = self.recommendations
        in_rec = rec is not None and "incidents" in rec.columns and \
            rec["incidents"].astype(str).str.contains("sensitive").any()
        return bool((self.sensitive is not None and len(self.sensitive)) or in_rec or self.schemes is not None)

    @property
    def row_counts(self) -> dict[str, int]:
        """Rows per section (for the export audit)."""
        out = {"hotspots": len(self.hotspots), "assignments": len(self.assignments),
               "unassigned": len(self.unassigned), "cameras": len(self.cameras)}
        for k in ("recommendations", "decisions", "review_notes", "sensitive"):
            v = getattr(self, k)
            out[k] = 0 if v is None else len(v)
        if self.schemes is not None:
            out["schemes"] = len(self.schemes.league)
        return out


def build_pack(plan: Plan | Mapping[str, Any], *, recommendations: pd.DataFrame | None = None,
               decisions: pd.DataFrame | None = None, review: Any = None, review_notes: pd.DataFrame | None = None,
               sensitive_counts: pd.DataFrame | None = None, map_png: bytes | None = None,
               borough_name: str | None = None, meeting: Mapping[str, Any] | None = None,
               version: int | None = None, approved: Mapping[str, Any] | None = None,
               generated_at: dt.datetime | None = None, generated_by: str | None = None,
               ward_names: Mapping[str, str] | None = None, schemes: Any = None) -> Pack:
    """Gather the pack's tables (pure).

    Parameters
    ----------
    plan
        The plan: a :class:`~tasking.plan.Plan` or its dict (``plan_week`` / ``allocate`` JSON).
    recommendations
        Designing Out Crime table (:func:`tasking.design_out.recommend` or the
        ``recommend`` CLI's GeoJSON read back): ``candidate_id``, ``top_measure``,
        ``recommendations``, ``incidents`` ...; geometry is ignored.
    decisions
        :func:`tasking.records.list_decisions` rows (this meeting and carried over).
    review
        Last week's :class:`tasking.review.WeekReview` (or its ``to_dict()``).
    review_notes
        :func:`tasking.records.list_review_notes` rows.
    sensitive_counts
        Sensitive-category aggregates by area (``ward_code`` or ``area``,
        ``category``, ``count``); suppressed with :func:`suppress_counts`.
    map_png
        The map (:func:`plan_map_png`), embedded inline.
    borough_name, meeting, version, approved, generated_at, generated_by
        Shown in the header.
    ward_names
        Ward code -> name, for plans made before places carried ``ward_name``.
    schemes
        A housing association's :class:`tasking.housing.SchemeReport` (league and not-ASB parts at
        least): the pack gets a Schemes section of counts (:func:`pack_schemes`); ``None``: no section.

    Returns
    -------
    Pack
    """
    from .explain import plan_sentences
    from .names import plan_place_names

    p = _check_plan(plan)
    week = p.week
    inputs = p.inputs
    r = p.report
    shown = plan_place_names(p, ward_names=ward_names)
    summary = {
        "Week": week + (f" ({p.dates[0]} to {p.dates[-1]})" if p.dates else ""),
        "Borough": borough_name or str(inputs.get("borough") or "-"),
        "Plan version": (f"{version}" if version is not None else "not saved")
        + (f", approved by {approved['approved_by']} ({approved.get('role', '')}) at {approved['approved_at']}"
           if approved else ", not approved"),
        "Objective": f"{_fmt(r.objective)} ({p.objective_units})",
        "Bound and gap": f"bound {_fmt(r.bound)}, gap {_fmt((r.gap or 0) * 100, 2)}% "
                         f"({_status_words(r.status)})",
        "Greedy comparison": (f"greedy baseline {_fmt(r.greedy_value)}; the optimised plan covers "
                              f"{_pct(r.milp_vs_greedy)} more" if r.milp_vs_greedy is not None
                              else f"greedy baseline {_fmt(r.greedy_value)}"),
        "Harm covered": f"{_fmt(r.harm_covered)} per week; CCTV {_fmt(r.cctv_objective)} per week",
        "Checker": "all constraints verified" if r.check_ok else
        "FAILED: " + "; ".join(list(r.violations)[:5]),
        "Data": f"{_fmt(inputs.get('n_incidents'))} non-sensitive incidents, months {', '.join(inputs.get('months', [])) or '-'}; "
                f"hotspots by {inputs.get('hotspot_method', '-')} on {_fmt(inputs.get('cell_size_m'), 0)} m cells; "
                f"harm index {inputs.get('harm_index', '-')}",
        "Pins": "; ".join(_pin_text(p, shown) for p in inputs.get("pin_specs") or []) or
        ("; ".join(inputs.get("pins") or []) or "none"),
        "Exclusions": "; ".join(_exclusion_text(e, shown) for e in inputs.get("exclusions") or []) or "none",
    }
    if meeting:
        summary["Meeting"] = f"chair {meeting.get('chair', '-')}, status {meeting.get('status', '-')}"
    if generated_at is not None:
        summary["Generated"] = pd.Timestamp(generated_at).tz_convert("Europe/London").strftime("%Y-%m-%d %H:%M %Z") \
            + (f" by {generated_by}" if generated_by else "")
    notes = list(p.notes)
    for k in ("parks", "estates", "roster", "assumptions"):
        if inputs.get(k):
            notes.append(f"{k}: {inputs[k]}")

    assign = _assignments(p)
    visits = assign.groupby("candidate_id")["visits"].sum() if len(assign) else pd.Series(dtype=int)
    hs = pd.DataFrame([c.to_json() for c in p.candidates])
    hs["place_name"] = hs["candidate_id"].astype(str).map(shown)
    whys = _place_whys(p, assign)
    hs["why"] = [whys[str(c.candidate_id)] for c in p.candidates]
    if "ward_name" not in hs.columns:
        hs["ward_name"] = hs["ward_code"].map(lambda c: (ward_names or {}).get(str(c), str(c)))
    keep = [c for c in ("candidate_id", "place_name", "place_type", "name", "ward_code", "ward_name", "priority",
                        "expected_harm_week", "n_incidents", "top_categories", "trend_class", "concerns", "why")
            if c in hs.columns]
    hs = hs[keep].copy()
    hs["planned_visits"] = hs["candidate_id"].map(visits).fillna(0).astype(int)
    hs = hs.sort_values(["priority", "candidate_id"], ascending=[False, True], kind="stable").reset_index(drop=True)
    hs.insert(0, "rank", np.arange(1, len(hs) + 1))
    schedule = _schedule(assign)
    plain = plan_sentences(p.to_json())
    solver = _solver_lines(p)

    unassigned = pd.DataFrame([u.to_json() for u in p.unassigned])
    unassigned_total = len(unassigned)
    if "priority" in unassigned.columns:
        unassigned = unassigned.sort_values(["priority", "candidate_id"], ascending=[False, True], kind="stable")
    unassigned = unassigned.head(PACK_UNASSIGNED_ROWS).reset_index(drop=True)
    cameras = pd.DataFrame([c.to_json() for c in p.cameras])
    rec = None
    recommendations_total = 0
    if recommendations is not None:
        rec = pd.DataFrame(recommendations).drop(columns=["geometry"], errors="ignore")
        if "incidents_shown" in rec.columns:  # read back from a GIS export: show the on-screen text
            rec["incidents"] = rec.pop("incidents_shown").astype(str)
        keep = [c for c in ("candidate_id", "name", "place_type", "incidents", "patterns", "top_measure",
                            "top_cpted_principle", "recommendations", "rec1_evidence", "rec1_sources")
                if c in rec.columns]
        if "candidate_id" not in keep:
            msg = f"recommendations need a 'candidate_id' column; got {list(rec.columns)}"
            raise TaskingError(msg)
        rank = dict(zip(hs["candidate_id"].astype(str), hs["rank"], strict=True))
        order = rec["candidate_id"].astype(str).map(rank).fillna(len(hs) + 1)
        rec = rec[keep].iloc[np.argsort(order.to_numpy(), kind="stable")]
        recommendations_total = len(rec)
        rec = rec.head(PACK_ADVICE_ROWS).reset_index(drop=True)
    dec = None
    if decisions is not None:
        dec = pd.DataFrame(decisions)
        keep = [c for c in ("week", "action", "owner", "due_date", "status", "candidate_id", "outcome")
                if c in dec.columns]
        dec = dec[keep].reset_index(drop=True)
    rv = review.to_dict() if hasattr(review, "to_dict") else (dict(review) if review is not None else None)
    sens = None
    if sensitive_counts is not None:
        sens = suppress_counts(pd.DataFrame(sensitive_counts))
    title = f"Weekly tasking pack {week}"
    return Pack(week=week, title=title, summary=summary, notes=tuple(notes), hotspots=hs, assignments=assign,
                unassigned=unassigned, cameras=cameras, recommendations=rec, decisions=dec, review=rv,
                review_notes=None if review_notes is None else pd.DataFrame(review_notes).reset_index(drop=True),
                sensitive=sens, map_png=map_png,
                meta={"plan_sha256": _digest(p), "version": version, "generated_by": generated_by},
                plain=tuple(plain), solver=tuple(solver), schedule=schedule,
                schemes=None if schemes is None else pack_schemes(schemes),
                unassigned_total=unassigned_total, recommendations_total=recommendations_total,
                kind_titles=dict(inputs.get("kind_titles") or {}))


def _digest(plan: Plan) -> str:
    from .records import plan_digest

    return plan_digest(plan)


def _status_words(status: Any) -> str:
    """The solver's status without its option names: "optimal within mip_rel_gap 0.01" -> "optimal within a 1% gap".

    Examples
    --------
    >>> _status_words("optimal within mip_rel_gap 0.01")
    'optimal within a 1% gap'
    """
    import re

    text = str(status or "-")
    return re.sub(r"within mip_rel_gap ([\d.eE-]+)", lambda m: f"within a {float(m.group(1)):.0%} gap", text)


def _place_whys(plan: Plan, assign: pd.DataFrame) -> dict[str, str]:
    """Candidate id -> one plain sentence of why the place is in the plan (the pack's and the GeoJSON's ``why``)."""
    from .names import place_reason

    visit_minutes = ((assign["minutes"].astype(float) / assign["visits"].clip(lower=1)).groupby(assign["candidate_id"])
                     .first() if len(assign) and assign["minutes"].notna().any() else pd.Series(dtype=float))
    n_months = len(plan.inputs.get("months") or []) or None
    return {str(c.candidate_id): place_reason(c.to_json(), months=n_months,
                                              visit_minutes=_minutes_or_none(visit_minutes.get(str(c.candidate_id))))
            for c in plan.candidates}


def _minutes_or_none(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return round(f) if math.isfinite(f) and f > 0 else None


def _pin_text(spec: Any, shown: Mapping[str, str]) -> str:
    """"W01 to Portobello Road, Golborne ward, Mon late (1 visit)" from a pin spec ``[agent, place, day, shift, visits]``."""
    agent, cid, day, shift, n = (list(spec) + [None] * 5)[:5]
    when = " ".join(x for x in (_DAYS[int(day)] if day is not None else "", str(shift or "")) if x)
    n = int(n or 1)
    return f"{agent} to {shown.get(str(cid), str(cid))}" + (f", {when}" if when else "") + \
        f" ({n} visit{'s' if n != 1 else ''})"


def _schedule(assign: pd.DataFrame) -> pd.DataFrame:
    """One row per person and shift: the places (most visits first) with their visits, without their ward.

    Rows come in the order each (person, date, shift) first appears in ``assign``.
    """
    from .names import short_name

    cols = ["agent_id", "kind", "day", "date", "shift", "places", "visits", "minutes"]
    if len(assign) == 0:
        return pd.DataFrame(columns=cols)
    visits = assign["visits"].astype(int).to_numpy()
    names = assign["place_name"].astype(str)
    short = names.map({n: short_name(n) for n in names.unique()})
    label = short.where(visits <= 1, short + " x" + pd.Series(visits, index=assign.index).astype(str))
    group = assign.groupby(["agent_id", "date", "shift"], sort=False).ngroup()  # first-appearance order
    a = pd.DataFrame({"_g": group.to_numpy(), "_v": visits, "_n": names.to_numpy(), "_label": label.to_numpy(),
                      "_m": pd.to_numeric(assign["minutes"], errors="coerce").to_numpy()}, index=assign.index)
    a = a.sort_values(["_g", "_v", "_n"], ascending=[True, False, True], kind="stable")
    g = a.groupby("_g", sort=True)
    first = assign.loc[g.head(1).index]  # one row of each group (its person, kind, day, date and shift)
    minutes = g["_m"].sum(min_count=1)
    return pd.DataFrame({
        "agent_id": first["agent_id"].to_numpy(), "kind": first["kind"].to_numpy(), "day": first["day"].to_numpy(),
        "date": first["date"].to_numpy(), "shift": first["shift"].to_numpy(),
        "places": g["_label"].agg("; ".join).to_numpy(), "visits": g["_v"].sum().astype(int).tolist(),
        "minutes": [None if pd.isna(m) else float(m) for m in minutes],
    }, columns=cols)


def _solver_lines(plan: Plan) -> list[tuple[str, str, str]]:
    """(label, figure, one sentence) for the solver figures, for the back of the pack."""
    r = plan.report
    out = [
        ("Harm covered", f"{_fmt(r.objective)} per week",
         "the priority-weighted harm the plan's visits are expected to reach (higher is better)."),
        ("Best possible", f"{_fmt(r.bound)} (gap {_fmt((r.gap or 0) * 100, 1)}%)",
         "no plan within the roster's rules can do better than this; the gap is how far from it this plan may be."),
        ("Simple rule", f"{_fmt(r.greedy_value)}"
         + (f" (this plan {_pct(r.milp_vs_greedy)})" if r.milp_vs_greedy is not None else ""),
         "what filling each shift with the most harmful place first (a greedy rule) reaches, for comparison."),
        ("Rules checked", "all met" if r.check_ok else "FAILED: " + "; ".join(list(r.violations)[:3]),
         "an independent check of hours, walking range, jurisdictions, pins and exclusions."),
    ]
    if r.cctv_objective is not None:
        out.append(("CCTV", f"{_fmt(r.cctv_objective)} per week",
                    "harm per week in the control room's monitored hours within reach of the week's deployable "
                    "cameras: the figure the CCTV page shows for the same sites (crime harm days, without the "
                    "patrol priorities)."))
    return out


def _exclusion_text(e: Any, shown: Mapping[str, str] | None = None) -> str:
    if isinstance(e, Mapping):
        cid = str(e.get("candidate_id"))
        parts = [(shown or {}).get(cid, cid)]
        if e.get("agent_id"):
            parts.append(f"for {e['agent_id']}")
        if e.get("day") is not None:
            parts.append(_DAYS[int(e["day"])])
        if e.get("shift"):
            parts.append(str(e["shift"]))
        return " ".join(parts)
    return str(e)


# ----------------------------------------------------------------------------
# pure: map
# ----------------------------------------------------------------------------
def plan_map_png(plan: Plan | Mapping[str, Any], *, area: Any = None, wards: Any = None, parks: Any = None,
                 estates: Any = None, width_in: float = 10.0, dpi: int = 110, label_top: int = 14) -> bytes:
    """Draw the plan's places on a labelled map and return PNG bytes (matplotlib Agg canvas; no pyplot, no tiles).

    Draws the borough outline and wards with their names (when given),
    street patches as their grid cells and parks/estates as their polygons
    (when the layers are given; :func:`tasking.review.candidate_polygons`),
    shaded by planned visits, other candidates as points, deployable camera
    sites as triangles, a legend, a scale bar and a north arrow.  The
    ``label_top`` highest-priority tasked places carry their rank (as in the
    pack's table) and their street names, each label placed where it overlaps
    no other label.  Incidents are never drawn.  The attribution is printed
    under the map by the pack (it is text there, not pixels).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from .names import plan_place_names, short_name
    from .review import candidate_polygons

    p = _check_plan(plan)
    fig = Figure(figsize=(width_in, width_in * 0.62), dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_aspect("equal")
    ax.set_axis_off()

    def draw(geom: Any, **kw: Any) -> None:
        for poly in getattr(geom, "geoms", [geom]):
            if poly.is_empty or not hasattr(poly, "exterior"):
                continue
            xs, ys = poly.exterior.xy
            ax.fill(xs, ys, **kw)

    if area is not None:
        for g in area.geometry:
            draw(g, facecolor="#f4f6f8", edgecolor="#2d3a45", linewidth=1.2, zorder=0)
    if wards is not None:
        for g in wards.geometry:
            draw(g, facecolor="none", edgecolor="#9aa5b1", linewidth=0.6, zorder=1)
    polys = candidate_polygons(p, parks=parks, estates=estates)
    vmax = max(1, int(polys["planned_visits"].max())) if len(polys) else 1
    from matplotlib import colormaps

    cmap = colormaps["OrRd"]
    for _, r in polys.iterrows():
        shade = cmap(0.25 + 0.75 * (r["planned_visits"] / vmax)) if r["tasked"] else "#d9d9d9"
        edge = "#1b7837" if r["place_type"] == "park" else "#7f2704"
        draw(r.geometry, facecolor=shade, edgecolor=edge, linewidth=0.6, alpha=0.9, zorder=2)
    drawn = set(polys["candidate_id"])
    rest = [c for c in p.candidates if str(c.candidate_id) not in drawn]
    if rest:
        ax.scatter([c.xy[0] for c in rest], [c.xy[1] for c in rest], s=14, marker="o",
                   facecolor="#4575b4", edgecolor="white", linewidth=0.5, zorder=3)
    cams = p.cameras
    if cams:
        ax.scatter([c.xy[0] for c in cams], [c.xy[1] for c in cams], s=40, marker="^",
                   facecolor="#542788", edgecolor="white", linewidth=0.6, zorder=4)
    xs = [c.xy[0] for c in p.candidates]
    ys = [c.xy[1] for c in p.candidates]
    if area is None and xs:
        pad = 300.0
        ax.set_xlim(min(xs) - pad, max(xs) + pad)
        ax.set_ylim(min(ys) - pad, max(ys) + pad)
    else:
        ax.autoscale_view()
        x0, x1 = ax.get_xlim()
        y0, y1 = ax.get_ylim()
        ax.set_xlim(x0 - 0.35 * (x1 - x0), x1 + 0.05 * (x1 - x0))  # room for the legend on the left
        ax.set_ylim(y0 - 0.03 * (y1 - y0), y1 + 0.03 * (y1 - y0))
    fig.canvas.draw()
    renderer = canvas.get_renderer()
    taken: list[Any] = []

    def place_text(x: float, y: float, text: str, *, offsets: Sequence[tuple[float, float]], always: bool = False,
                   **kw: Any) -> bool:
        for dx, dy in offsets:
            t = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", **kw)
            bb = t.get_window_extent(renderer).expanded(1.05, 1.15)
            inside = fig.bbox.contains(bb.x0, bb.y0) and fig.bbox.contains(bb.x1, bb.y1)
            if inside and not any(bb.overlaps(o) for o in taken):
                taken.append(bb)
                return True
            t.remove()
        if always:
            t = ax.annotate(text, (x, y), xytext=offsets[0], textcoords="offset points", **kw)
            taken.append(t.get_window_extent(renderer))
            return True
        return False

    if wards is not None and "ward_name" in getattr(wards, "columns", []):
        import shapely

        reps = shapely.point_on_surface(np.asarray(wards.geometry.values, dtype=object))
        for name, pt in zip(wards["ward_name"].astype(str), reps, strict=True):
            place_text(float(pt.x), float(pt.y), name, offsets=[(0, 0), (0, -10), (0, 10)], ha="center",
                       va="center", fontsize=6.5, color="#6b7785", style="italic", zorder=5)
    names = plan_place_names(p)
    visits = polys.set_index("candidate_id")["planned_visits"] if len(polys) else pd.Series(dtype=int)
    ranked = sorted(p.candidates, key=lambda c: (-float(c.priority or 0), str(c.candidate_id)))
    tasked_rank = [(i, c) for i, c in enumerate(ranked, start=1)
                   if int(visits.get(str(c.candidate_id), 0) or 0) > 0 or str(c.candidate_id) not in drawn]
    offsets = [(5, 4), (5, -10), (-5, 4), (-5, -10), (6, -3), (-6, -3), (0, 9), (0, -14)]
    for i, c in tasked_rank[:label_top]:
        short = short_name(names.get(str(c.candidate_id), str(c.candidate_id)))
        x, y = c.xy
        box = {"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.8}
        for text in (f"{i} {short}", str(i)):
            ha = "left"
            if place_text(x, y, text, offsets=offsets, always=text == str(i), fontsize=7, fontweight="bold",
                          color="#111111", ha=ha, va="bottom", bbox=box, zorder=6):
                break
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    bar = 500.0 if (x1 - x0) > 2000 else 100.0
    bx, by = x1 - 0.05 * (x1 - x0) - bar, y0 + 0.04 * (y1 - y0)
    ax.plot([bx, bx + bar], [by, by], color="black", linewidth=2, zorder=6)
    ax.annotate(f"{bar:g} m", (bx + bar / 2, by), xytext=(0, 3), textcoords="offset points", ha="center",
                fontsize=7, zorder=6)
    ax.annotate("N", (x1 - 0.03 * (x1 - x0), y1 - 0.12 * (y1 - y0)), ha="center", fontsize=9,
                fontweight="bold", zorder=6)
    ax.annotate("", xy=(x1 - 0.03 * (x1 - x0), y1 - 0.02 * (y1 - y0)),
                xytext=(x1 - 0.03 * (x1 - x0), y1 - 0.10 * (y1 - y0)),
                arrowprops={"arrowstyle": "-|>", "color": "black"}, zorder=6)
    handles = [Patch(facecolor=cmap(1.0), edgecolor="#7f2704", label=f"tasked place, most visits ({vmax})"),
               Patch(facecolor=cmap(0.3), edgecolor="#7f2704", label="tasked place, fewest visits"),
               Patch(facecolor="#d9d9d9", edgecolor="#7f2704", label="place without visits"),
               Patch(facecolor="white", edgecolor="#1b7837", label="park (green outline)"),
               Line2D([], [], marker="o", linestyle="none", markerfacecolor="#4575b4", markeredgecolor="white",
                      label="ward presence or other place"),
               Line2D([], [], marker="^", linestyle="none", markerfacecolor="#542788", markeredgecolor="white",
                      markersize=8, label="deployable CCTV site"),
               Line2D([], [], color="#9aa5b1", label="ward boundary (name in grey)")]
    ax.legend(handles=handles, loc="upper left", fontsize=7, frameon=True, title="Number = priority rank",
              title_fontsize=7)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


# ----------------------------------------------------------------------------
# pure: HTML and PDF
# ----------------------------------------------------------------------------
_CSS = """
@page { size: A4 landscape; margin: 14mm 12mm 16mm 12mm;
        @bottom-right { content: "page " counter(page) " of " counter(pages); font-size: 8pt; color: #555; }
        @bottom-left { content: "OFFICIAL-SENSITIVE: for the tasking meeting only"; font-size: 7pt; color: #555; } }
body { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; font-size: 9pt; color: #1a1a1a; margin: 0; }
h1 { font-size: 16pt; margin: 0 0 4pt 0; }
h2 { font-size: 12pt; border-bottom: 1.5pt solid #2d3a45; margin: 14pt 0 4pt 0; page-break-after: avoid; }
h3 { font-size: 10pt; margin: 8pt 0 2pt 0; page-break-after: avoid; }
table { border-collapse: collapse; width: 100%; margin: 2pt 0 6pt 0; }
table.fixed { table-layout: fixed; }
th, td { border: 0.5pt solid #b8c2cc; padding: 2pt 3pt; vertical-align: top; text-align: left;
         overflow-wrap: break-word; }
th { background: #e8edf2; font-weight: bold; }
td.num, th.num { text-align: right; }
td.num { white-space: nowrap; }
h2.newpage { page-break-before: always; }
ul.plain { margin: 2pt 0 6pt 0; padding-left: 14pt; font-size: 10pt; }
ul.plain li { margin: 1pt 0; }
table.schedule td { padding: 0.5pt 3pt; font-size: 7.5pt; }
table.schedule tr.person td { background: #f1f4f7; font-weight: bold; font-size: 8.5pt; padding-top: 3pt; }
table.schedule tr.person { page-break-after: avoid; }
tr { page-break-inside: avoid; }
.why { font-size: 7pt; color: #333; }
.note { font-size: 8pt; color: #444; }
.warn { color: #8a1c1c; font-weight: bold; }
.map { width: 100%; max-width: 250mm; max-height: 118mm; object-fit: contain; display: block; margin: 2pt auto; }
dl.summary { display: grid; grid-template-columns: 34mm auto; gap: 1pt 6pt; margin: 0; }
dl.summary dt { font-weight: bold; }
dl.summary dd { margin: 0; }
.section-empty { color: #666; font-style: italic; }
"""


def _table(df: pd.DataFrame | None, cols: Sequence[tuple[str, str]], *, num: Sequence[str] = (),
           small: Sequence[str] = (), digits: Mapping[str, int] | None = None, empty: str = "none",
           widths: Mapping[str, float] | None = None) -> str:
    """Render an HTML table of ``cols`` (column, label); ``widths`` (percent) switch to the fast fixed layout."""
    if df is None or len(df) == 0:
        return f'<p class="section-empty">{html.escape(empty)}</p>'
    digits = digits or {}
    present = [(c, label) for c, label in cols if c in df.columns]
    colgroup, klass_t = "", ""
    if widths:
        total = sum(widths.get(c, 0.0) for c, _ in present) or 1.0
        colgroup = "<colgroup>" + "".join(f'<col style="width:{100 * widths.get(c, 0.0) / total:.1f}%">'
                                          for c, _ in present) + "</colgroup>"
        klass_t = ' class="fixed"'
    head = "".join(f'<th class="num">{html.escape(lb)}</th>' if c in num else f"<th>{html.escape(lb)}</th>"
                   for c, lb in present)
    body = []
    for r in df.to_dict(orient="records"):
        cells = []
        for c, _ in present:
            v = r.get(c)
            if v is None or (isinstance(v, float) and not math.isfinite(v)):
                text = "-"
            elif c in num and isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
                text = _fmt(v, digits.get(c, 1))
            else:
                text = str(v)
            klass = ' class="num"' if c in num else (' class="why"' if c in small else "")
            cells.append(f"<td{klass}>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table{klass_t}>{colgroup}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _review_html(rv: Mapping[str, Any] | None, notes: pd.DataFrame | None) -> str:
    if rv is None and (notes is None or len(notes) == 0):
        return '<p class="section-empty">no review of last week was given</p>'
    parts = []
    if rv is not None:
        parts.append(f"<p>Review of week {html.escape(str(rv.get('week', '-')))}.</p>")
        comp = (rv.get("comparison") or {})
        params = comp.get("params") or {}
        parts.append("<h3>Tasked places against comparable untasked places (per week)</h3>")
        parts.append(f'<p class="note">Matched on {html.escape(str(params.get("matched_on", "-")))} '
                     f'({html.escape(str(params.get("method", "-")))}'
                     + (f", {params['n_controls']} controls each" if params.get("n_controls") else "")
                     + "); change = after vs before; DiD = tasked change minus control change.</p>")
        summ = pd.DataFrame(comp.get("summary") or [])
        if len(summ):
            for c in ("tasked_change", "control_change"):
                summ[c] = [_pct(v) for v in summ[c]]
        parts.append(_table(summ, [("place_type", "Place type"), ("measure", "Measure"), ("n_tasked", "Tasked"),
                                   ("n_matched", "Matched"), ("tasked_before", "Tasked before"),
                                   ("tasked_after", "Tasked after"), ("tasked_change", "Change"),
                                   ("control_before", "Control before"), ("control_after", "Control after"),
                                   ("control_change", "Change"), ("did", "DiD")],
                            num=("n_tasked", "n_matched", "tasked_before", "tasked_after", "control_before",
                                 "control_after", "did", "tasked_change", "control_change"),
                            empty="no comparison"))
        for n in comp.get("notes") or []:
            parts.append(f'<p class="note">{html.escape(str(n))}</p>')
        dl = rv.get("delivery")
        parts.append("<h3>Planned against delivered patrols</h3>")
        if dl:
            t = dl.get("totals") or {}
            rate = t.get("delivery_rate")
            parts.append(f"<p>{_fmt(t.get('delivered_visits'))} of {_fmt(t.get('planned_visits'))} planned visits "
                         f"delivered ({'-' if rate is None else f'{rate:.0%}'}); {_fmt(t.get('unplanned_visits'))} "
                         f"unplanned visits logged.</p>")
            ag = pd.DataFrame(dl.get("by_agent") or [])
            if len(ag):
                ag["delivery_rate"] = [("-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.0%}")
                                       for v in ag["delivery_rate"]]
            parts.append(_table(ag, [("agent_id", "Agent"), ("planned_visits", "Planned"),
                                     ("delivered_visits", "Delivered"), ("delivery_rate", "Rate"),
                                     ("unplanned_visits", "Unplanned"), ("delivered_minutes", "Minutes logged")],
                                num=("planned_visits", "delivered_visits", "delivery_rate", "unplanned_visits",
                                     "delivered_minutes"), digits={"delivered_minutes": 0}))
        else:
            parts.append('<p class="section-empty">no patrol logs</p>')
        disp = rv.get("displacement")
        parts.append("<h3>Displacement or diffusion (Weighted Displacement Quotient)</h3>")
        if disp:
            p = disp.get("params") or {}
            parts.append(f'<p class="note">R = tasked places, D = 0-{_fmt(p.get("buffer_m"), 0)} m ring around them, '
                         "C = rest of the borough. WDQ = (Da/Ca - Db/Cb) / (Ra/Ca - Rb/Cb) (Bowers &amp; Johnson "
                         "2003); total net effect = [Rb(Ca/Cb) - Ra] + [Db(Ca/Cb) - Da].</p>")
            rows = []
            for m in ("incidents", "harm"):
                w = disp.get(m) or {}
                rows.append({"measure": m, "Rb": w.get("Rb"), "Ra": w.get("Ra"), "Db": w.get("Db"),
                             "Da": w.get("Da"), "Cb": w.get("Cb"), "Ca": w.get("Ca"),
                             "wdq": "undefined" if w.get("wdq") is None else f"{w['wdq']:.2f}",
                             "tne": w.get("tne"), "interpretation": w.get("interpretation")})
            parts.append(_table(pd.DataFrame(rows), [("measure", "Measure"), ("Rb", "Rb"), ("Ra", "Ra"), ("Db", "Db"),
                                                     ("Da", "Da"), ("Cb", "Cb"), ("Ca", "Ca"), ("wdq", "WDQ"),
                                                     ("tne", "Net effect"), ("interpretation", "Reading")],
                                num=("Rb", "Ra", "Db", "Da", "Cb", "Ca", "wdq", "tne")))
        else:
            parts.append('<p class="section-empty">not assessed</p>')
        for n in rv.get("notes") or []:
            parts.append(f'<p class="note">{html.escape(str(n))}</p>')
    if notes is not None and len(notes):
        parts.append("<h3>Review notes</h3>")
        parts.append(_table(notes, [("section", "Section"), ("candidate_id", "Place"), ("text", "Note"),
                                    ("author", "By")]))
    return "\n".join(parts)


def _schedule_html(schedule: pd.DataFrame, titles: Mapping[str, str] | None = None) -> str:
    """One table, a header row per person then a row per shift (one table lays out fast in WeasyPrint)."""
    body = []
    for agent, g in schedule.groupby("agent_id", sort=True):
        kind = kind_title(str(g["kind"].iloc[0] or ""), titles)
        body.append(f'<tr class="person"><td colspan="4">{html.escape(str(agent))} ({html.escape(kind)}): '
                    f"{int(g['visits'].sum())} visits in {len(g)} shifts</td></tr>")
        for r in g.itertuples(index=False):
            when = f"{r.day} {str(r.date)[8:10]}/{str(r.date)[5:7]}"
            minutes = "-" if r.minutes is None or pd.isna(r.minutes) else f"{float(r.minutes):,.0f}"
            body.append(f"<tr><td>{html.escape(when)}</td><td>{html.escape(str(r.shift))}</td>"
                        f'<td class="places">{html.escape(str(r.places))}</td><td class="num">{minutes}</td></tr>')
    return ('<table class="fixed schedule"><colgroup><col style="width:9%"><col style="width:7%">'
            '<col style="width:78%"><col style="width:6%"></colgroup><thead><tr><th>Day</th><th>Shift</th>'
            '<th>Places</th><th class="num">Min</th></tr></thead><tbody>' + "".join(body) + "</tbody></table>")


def _names_of(pack: Pack) -> dict[str, str]:
    hs = pack.hotspots
    if "place_name" not in hs.columns:
        return {}
    return dict(zip(hs["candidate_id"].astype(str), hs["place_name"].astype(str), strict=True))


def _schemes_html(sc: PackSchemes) -> str:
    """Section 9: the schemes league's top rows, the not-ASB reports kept apart, repeat locations (counts)."""
    period = f"{sc.months[0]} to {sc.months[-1]}" if sc.months else "-"
    parts = ['<h2 class="newpage">9. Schemes</h2>']
    if sc.synthetic:
        parts.append('<p class="warn">SYNTHETIC data: these schemes and/or cases are generated for testing and '
                     f"demonstration (sources: {html.escape(', '.join(sc.sources) or '-')}); no figure here describes "
                     "real people or places.</p>")
    shown = min(len(sc.league), sc.n_schemes)
    parts.append(f'<p class="note">Schemes of {html.escape(sc.area)}, cases of {html.escape(period)}: the top '
                 f"{shown} of {sc.n_schemes} schemes. Each rate says its basis (homes from the stock layer, or "
                 "residents from Census 2021 apportioned by area). Sensitive counts from 1 to 4 are shown as "
                 '"fewer than 5" and that scheme\'s total and rate are withheld.</p>')
    parts.append(_table(sc.league, [("rank", "#"), ("scheme", "Scheme"), ("asb_cases", "ASB cases"),
                                    ("sensitive", "Sensitive"), ("rate", "Rate"), ("rate_basis", "Rate basis"),
                                    ("not_asb_reports", "Not ASB")],
                        num=("rank", "asb_cases", "sensitive", "rate", "not_asb_reports"), small=("rate_basis",),
                        widths={"rank": 4, "scheme": 30, "asb_cases": 9, "sensitive": 11, "rate": 8,
                                "rate_basis": 30, "not_asb_reports": 8}))
    if sc.low_months_note:
        parts.append(f'<p class="note">{html.escape(sc.low_months_note)}</p>')
    parts.append("<h3>Reports that are not ASB (kept apart)</h3>")
    parts.append(f"<p>{sc.n_not_asb:,} reports are not ASB ({sc.n_not_asb_on_schemes:,} of them on the schemes): "
                 f"they are counted but kept out of the league, the hotspots and the plan ({html.escape(sc.policy)})."
                 "</p>")
    parts.append(_table(sc.not_asb, [("category", "Category"), ("reports", "Reports")], num=("reports",)))
    parts.append("<h3>Repeat locations on the schemes (counts only)</h3>")
    parts.append(f'<p class="note">{html.escape(sc.repeat_rule or "-")}. Counted per scheme and ward; no place is '
                 'named or mapped in the pack; sensitive cases: 1 to 4 are shown as "fewer than 5".</p>')
    parts.append(_table(sc.repeats, [("scheme", "Scheme"), ("ward_code", "Ward"), ("kind", "Kind"),
                                     ("repeat_locations", "Repeat locations")], empty="no repeat location on a scheme"))
    return "\n".join(parts)


def pack_html(pack: Pack) -> str:
    """Render the pack as one self-contained HTML page (inline CSS and map; no script, no external URL)."""
    out: list[str] = ['<!DOCTYPE html>', '<html lang="en-GB"><head><meta charset="utf-8">',
                      f"<title>{html.escape(pack.title)}</title>", f"<style>{_CSS}</style></head><body>",
                      f"<h1>{html.escape(pack.title)}</h1>"]
    # 1 summary: the plan in plain words, then the facts
    out.append("<h2>1. Summary</h2>")
    if pack.plain:
        out.append('<ul class="plain">')
        out.extend(f"<li>{html.escape(p)}</li>" for p in pack.plain)
        out.append("</ul>")
    out.append('<dl class="summary">')
    facts = {k: v for k, v in pack.summary.items()
             if k not in ("Objective", "Bound and gap", "Greedy comparison", "Harm covered", "Checker")}
    for k, v in facts.items():
        out.append(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>")
    check = pack.summary.get("Checker", "")
    if check.startswith("FAILED"):
        out.append(f'<dt>Checker</dt><dd class="warn">{html.escape(check)}</dd>')
    out.append("</dl>")
    if pack.solver:
        out.append("<h3>How the plan was worked out</h3>")
        out.append(_table(pd.DataFrame(pack.solver, columns=["what", "figure", "meaning"]),
                          [("what", "Figure"), ("figure", "Value"), ("meaning", "What it means")],
                          small=("meaning",), widths={"what": 14, "figure": 22, "meaning": 64}))
    if pack.notes:
        out.append("<h3>Notes and assumptions</h3><ul>")
        out.extend(f'<li class="note">{html.escape(str(n))}</li>' for n in pack.notes)
        out.append("</ul>")
    # 2 map and places
    out.append('<h2 class="newpage">2. Map and places</h2>')
    if pack.map_png:
        b64 = base64.b64encode(pack.map_png).decode("ascii")
        out.append(f'<img class="map" alt="Map of the week\'s places and camera sites" '
                   f'src="data:image/png;base64,{b64}">')
        out.append('<p class="note">Map: the week\'s places shaded by planned visits, numbered as in the table '
                   "below, ward names in grey, deployable CCTV as triangles; no incident is drawn. Contains OS data "
                   "&#169; Crown copyright and database right; contains public sector information licensed under "
                   "the Open Government Licence v3.0 (police.uk, ONS).</p>")
    tasked = pack.hotspots[pack.hotspots["planned_visits"] > 0] if len(pack.hotspots) else pack.hotspots
    out.append(f'<p class="note">The {len(tasked)} places with visits this week, by priority (expected harm per '
               "week x trend x concern). Built from non-sensitive incidents only. Places without visits: "
               "section 4.</p>")
    out.append(_table(tasked, [("rank", "#"), ("place_name", "Place"), ("place_type", "Type"),
                               ("expected_harm_week", "Harm a week"), ("planned_visits", "Visits"), ("why", "Why")],
                      num=("rank", "expected_harm_week", "planned_visits"), small=("why",),
                      widths={"rank": 3, "place_name": 30, "place_type": 6, "expected_harm_week": 7,
                              "planned_visits": 6, "why": 48}))
    # 3 one schedule per person
    out.append("<h2>3. Who goes where: one schedule per person</h2>")
    if len(pack.schedule) == 0:
        out.append('<p class="section-empty">no assignments</p>')
    else:
        out.append('<p class="note">A row per shift; "x2" = two visits to the place in that shift. Why each place '
                   "is in the plan, and its ward: section 2.</p>")
        out.append(_schedule_html(pack.schedule, pack.kind_titles))
    # 4 unassigned
    out.append("<h2>4. Places not assigned</h2>")
    un = pack.unassigned
    if len(un) and "candidate_id" in un.columns:
        names = dict(zip(pack.hotspots["candidate_id"].astype(str), pack.hotspots["place_name"].astype(str),
                         strict=True)) if "place_name" in pack.hotspots.columns else {}
        un = un.assign(place_name=[names.get(str(c), str(c)) for c in un["candidate_id"]])
    if pack.unassigned_total > len(un):
        out.append(f'<p class="note">The {len(un)} highest-priority of the {pack.unassigned_total:,} places without '
                   "a visit this week. Every one, with its reason, is on the dashboard's Tasking page (Unassigned "
                   "places), and the plan's GeoPackage holds every place (layer patrol_patches, planned_visits 0)."
                   "</p>")
    out.append(_table(un, [("place_name", "Place"), ("place_type", "Type"), ("priority", "Priority"),
                           ("reason", "Reason")], num=("priority",),
                      small=("reason",), empty="every candidate place has at least one visit",
                      widths={"place_name": 35, "place_type": 8, "priority": 8, "reason": 49}))
    # 5 CCTV
    out.append("<h2>5. Deployable CCTV moves</h2>")
    out.append('<p class="note">Every new or moved camera needs a Surveillance Camera Code of Practice and DPIA '
               "check before deployment.</p>")
    names = _names_of(pack)
    cams = pack.cameras
    if len(cams) and "site_id" in cams.columns:
        given = cams["site_name"] if "site_name" in cams.columns else pd.Series([None] * len(cams), index=cams.index)
        cams = cams.assign(place_name=[site_label(c, n, names) for c, n in zip(cams["site_id"], given, strict=True)])
    out.append(_table(cams, [("camera_id", "Camera"), ("place_name", "Site"), ("x", "Easting"),
                             ("y", "Northing"), ("status", "Status"), ("site_source", "Site source")],
                      num=("x", "y"), small=("status", "site_source"), digits={"x": 0, "y": 0},
                      empty="no deployable cameras in the plan",
                      widths={"camera_id": 7, "place_name": 28, "x": 7, "y": 7, "status": 27, "site_source": 24}))
    # 6 Designing Out Crime
    out.append("<h2>6. Designing Out Crime recommendations</h2>")
    rec = pack.recommendations
    if rec is not None and len(rec):
        rec = rec.assign(place_name=[names.get(str(c), str(c)) for c in rec["candidate_id"]])
    out.append(_table(rec, [("place_name", "Place"), ("place_type", "Type"),
                            ("incidents", "Incidents"), ("recommendations", "Measures"),
                            ("rec1_evidence", "Evidence (first measure)"),
                            ("rec1_sources", "Sources")],
                      small=("incidents", "recommendations", "rec1_evidence", "rec1_sources"),
                      widths={"place_name": 16, "place_type": 6, "incidents": 16, "recommendations": 24,
                              "rec1_evidence": 24, "rec1_sources": 14},
                      empty="no recommendations were given (run `hotspot-tasking recommend --plan PLAN`)"))
    if rec is not None and pack.recommendations_total > len(rec):
        out.append(f'<p class="note">Advice for the {len(rec)} highest-priority of the '
                   f"{pack.recommendations_total:,} places; every place's advice is in the plan's GeoPackage (layer "
                   "advice).</p>")
    if pack.recommendations is not None:
        out.append('<p class="note">Each measure is a prompt for a site survey with a Designing Out Crime Officer. '
                   "Sensitive categories appear only as counts, with 1 to 4 shown as \"fewer than 5\".</p>")
    if pack.sensitive is not None:
        out.append("<h3>Safeguarding-sensitive categories (aggregated)</h3>")
        out.append('<p class="note">Counts by area only, never mapped; counts from 1 to 4 are shown as "fewer than 5" and no '
                   "totals are given.</p>")
        cols = [(c, c.replace("_", " ").capitalize()) for c in pack.sensitive.columns if c not in ("display", "sensitive")]
        out.append(_table(pack.sensitive, [*cols, ("display", "Count")], num=("display",), empty="none recorded"))
    # 7 decisions
    out.append("<h2>7. Decisions and actions</h2>")
    dec = pack.decisions
    if dec is not None and "due_date" in dec.columns:
        dec = dec.assign(due_date=[str(v) if v is not None else "-" for v in dec["due_date"]])
    if dec is not None and "candidate_id" in dec.columns:
        dec = dec.assign(place_name=[names.get(str(c), str(c)) if c else "-" for c in dec["candidate_id"]])
    out.append(_table(dec, [("week", "Meeting"), ("action", "Action"), ("owner", "Owner"), ("due_date", "Due"),
                            ("status", "Status"), ("place_name", "Place"), ("outcome", "Outcome")],
                      empty="no decisions recorded yet",
                      widths={"week": 9, "action": 30, "owner": 10, "due_date": 9, "status": 7, "place_name": 18,
                              "outcome": 17}))
    # 8 review
    out.append("<h2>8. Last week's review</h2>")
    out.append(_review_html(pack.review, pack.review_notes))
    if pack.schemes is not None:
        out.append(_schemes_html(pack.schemes))
    out.append(f'<p class="note">Plan sha256 {html.escape(str(pack.meta.get("plan_sha256", "")))}. Contains public '
               "sector information licensed under the Open Government Licence v3.0 (police.uk). Contains OS data "
               "(c) Crown copyright and database right.</p>")
    out.append("</body></html>")
    return "\n".join(out)


def pack_pdf(html_text: str) -> bytes:
    """Print the pack HTML to PDF with WeasyPrint, fetching nothing but inline ``data:`` URLs."""
    try:
        import weasyprint
        from weasyprint import urls
    except ImportError as exc:  # pragma: no cover - a declared dependency
        msg = "PDF export needs WeasyPrint: pip install weasyprint"
        raise TaskingError(msg) from exc
    fetcher: Any
    if hasattr(urls, "URLFetcher"):  # WeasyPrint >= 66
        fetcher = urls.URLFetcher(allowed_protocols=("data",))
    else:  # pragma: no cover - older WeasyPrint: a function fetcher

        def fetcher(url: str, *args: Any, **kw: Any) -> Any:
            if not url.startswith("data:"):
                msg = f"the pack may not load {url[:60]!r}: only inline data: URLs are allowed"
                raise ValueError(msg)
            return urls.default_url_fetcher(url, *args, **kw)
    return weasyprint.HTML(string=html_text, base_url=None, url_fetcher=fetcher).write_pdf()


# ----------------------------------------------------------------------------
# edge: files and the audit
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_pack` wrote and audited."""

    path: Path
    kind: str
    sha256: str
    bytes: int
    row_counts: dict[str, int]
    includes_sensitive_aggregates: bool
    export_id: int | None
    meeting_id: int | None
    version: int | None


def _bundled_parks(area: Any) -> Any:
    """The bundled registered parks touching ``area`` (what the plan used when no council layer is stored)."""
    if area is None or len(area) == 0:
        return None
    from spatial.datasets import load_registered_parks

    reg = load_registered_parks().rename(columns={"ListEntry": "park_id", "Name": "park_name"})
    reg["park_id"] = reg["park_id"].astype(str)
    return reg[reg.intersects(area.geometry.union_all())][["park_id", "park_name", "geometry"]].reset_index(drop=True)


def _resolve_record(engine: Any, plan: Plan, meeting_id: int | None,
                    version: int | None) -> tuple[int | None, int | None, dict[str, Any] | None, dict[str, Any] | None]:
    """Meeting, version, meeting record and approval of this plan in the store (when it is saved there)."""
    from .records import (
        find_meeting,
        get_meeting,
        list_approvals,
        list_plan_versions,
        plan_digest,
    )

    if engine is None:
        return meeting_id, version, None, None
    borough = plan.borough
    if meeting_id is None and borough:
        meeting_id = find_meeting(engine, week=plan.week, borough=str(borough))
    if meeting_id is None:
        return None, version, None, None
    meeting = get_meeting(engine, meeting_id)
    if version is None:
        versions = list_plan_versions(engine, meeting_id)
        hit = versions[versions["plan_sha256"] == plan_digest(plan)]
        version = int(hit["version"].iloc[-1]) if len(hit) else None
    approval = None
    if version is not None:
        ap = list_approvals(engine, meeting_id)
        ap = ap[ap["version"] == version]
        if len(ap):
            approval = {"approved_by": ap["approved_by"].iloc[0], "role": ap["role"].iloc[0],
                        "approved_at": ap["approved_at"].iloc[0].tz_convert("Europe/London").strftime("%Y-%m-%d %H:%M")}
    return meeting_id, version, meeting, approval


def export_pack(plan: Plan | Mapping[str, Any], out: str | Path, *, format: Format, user: str, role: str,
                engine: Any = None, recommendations: pd.DataFrame | None = None,
                decisions: pd.DataFrame | None = None, review: Any = None, review_notes: pd.DataFrame | None = None,
                sensitive_counts: pd.DataFrame | None = None, area: Any = None, wards: Any = None, parks: Any = None,
                estates: Any = None, meeting_id: int | None = None, version: int | None = None,
                now: dt.datetime | None = None, area_label: str | None = None, schemes: Any = None) -> ExportResult:
    """Write the pack (``pdf``, ``html``) or the plan (``csv``, ``geojson``, ``gpkg``) to ``out`` and audit it.

    With an ``engine`` the export is recorded in ``export_audit`` (who, role,
    when, kind, week, meeting and version, the file's sha256, row counts and
    whether it holds sensitive aggregates); the meeting and version are found
    from the plan's week, borough and sha256 when not given, and the meeting's
    decisions (with open ones carried over from earlier weeks) and review
    notes are included when not given.  Without an engine nothing is audited.

    ``area`` (borough polygon) is drawn on the map; when not given, the bundled
    boundary of the plan's borough is used if there is one.  ``area_label`` is the area's name
    written in the pack (default: the borough's name from ``area``).  ``schemes`` (a
    :class:`tasking.housing.SchemeReport`) adds the Schemes section to the pdf and html pack.
    The GeoJSON (one polygon per planned place, :func:`plan_geojson`) draws parks and estates
    from ``parks`` / ``estates`` and the places it cannot draw as their ward from ``wards``; its
    audit row counts ``places`` and ``assignments``.

    Raises
    ------
    TaskingError
        On an unknown format, an empty user or role, or a bad plan.
    """
    from .records import list_decisions, list_review_notes, plan_digest, record_export

    if format not in EXPORT_KINDS:
        msg = f'format was "{format}" but is expected to be one of {json.dumps(list(EXPORT_KINDS))}'
        raise TaskingError(msg)
    for name, v in (("user", user), ("role", role)):
        if not isinstance(v, str) or not v.strip():
            msg = f"{name} is empty; every export is audited with who made it and in what role"
            raise TaskingError(msg)
    p = _check_plan(plan)
    if now is None:
        now = dt.datetime.now(dt.UTC)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    meeting_id, version, meeting, approval = _resolve_record(engine, p, meeting_id, version)
    if format == "csv":
        data = plan_csv(p).encode("utf-8")
        counts = {"assignments": len(p.assignments)}
        sensitive = False
    elif format == "geojson":
        fc = plan_geojson(p, parks=parks, estates=estates, wards=wards)
        data = json.dumps(fc, indent=1, ensure_ascii=False).encode("utf-8")
        counts = {"places": len(fc["features"]), "assignments": len(p.assignments)}
        sensitive = False
    elif format == "gpkg":
        data, counts = _plan_gpkg(p, path, parks=parks, estates=estates, recommendations=recommendations, wards=wards,
                                  now=now, user=user, role=role)
        sensitive = False
    else:
        borough = p.borough
        borough_name = None
        if area is None and borough:
            from spatial.datasets import load_boroughs

            found = load_boroughs((str(borough),))
            area = found if len(found) else None
        if area is not None and "borough_name" in getattr(area, "columns", []) and len(area):
            borough_name = str(area["borough_name"].iloc[0])
        if wards is None and borough:
            from spatial.datasets import load_wards

            found_w = load_wards((str(borough),))
            wards = found_w if len(found_w) else None
        if parks is None and borough:
            parks = _bundled_parks(area)
        ward_names = (dict(zip(wards["ward_code"].astype(str), wards["ward_name"].astype(str), strict=True))
                      if wards is not None and {"ward_code", "ward_name"} <= set(wards.columns) else None)
        if area_label:
            borough_name = area_label
        if engine is not None and meeting_id is not None:
            if decisions is None:
                mine = list_decisions(engine, meeting_id=meeting_id)
                carried = list_decisions(engine, borough=meeting["borough"], status="open",  # type: ignore[index]
                                         before_week=p.week)
                decisions = pd.concat([carried, mine], ignore_index=True)
            if review_notes is None:
                review_notes = list_review_notes(engine, meeting_id)
        png = plan_map_png(p, area=area, wards=wards, parks=parks, estates=estates)
        pack = build_pack(p, recommendations=recommendations, decisions=decisions, review=review,
                          review_notes=review_notes, sensitive_counts=sensitive_counts, map_png=png,
                          borough_name=borough_name, meeting=meeting, version=version, approved=approval,
                          generated_at=now, generated_by=f"{user} ({role})", ward_names=ward_names,
                          schemes=schemes)
        text = pack_html(pack)
        data = text.encode("utf-8") if format == "html" else pack_pdf(text)
        counts = pack.row_counts
        sensitive = pack.includes_sensitive_aggregates
    if format != "gpkg":  # the GeoPackage is written by GDAL in place
        path.write_bytes(data)
    import hashlib

    sha = hashlib.sha256(data).hexdigest()
    export_id = None
    if engine is not None:
        export_id = record_export(engine, user=user, role=role, kind=format, path=path, row_counts=counts,
                                  includes_sensitive_aggregates=sensitive, week=p.week,
                                  meeting_id=meeting_id, version=version, plan_sha256=plan_digest(p), now=now)
    return ExportResult(path=path, kind=format, sha256=sha, bytes=len(data), row_counts=counts,
                        includes_sensitive_aggregates=sensitive, export_id=export_id, meeting_id=meeting_id,
                        version=version)


def _plan_gpkg(plan: Plan, path: Path, *, parks: Any, estates: Any, recommendations: Any,
               now: dt.datetime, user: str, role: str, wards: Any = None) -> tuple[bytes, dict[str, int]]:
    """Write the plan's GeoPackage (edge) and return its bytes and rows per layer."""
    from spatial.gis_export import run_parameters, write_gis

    from .records import plan_digest

    layers, notes = plan_gpkg_layers(plan, parks=parks, estates=estates, recommendations=recommendations,
                                     wards=wards)
    inputs = plan.inputs
    months = [str(m) for m in inputs.get("months") or []]
    period = f"{months[0]}..{months[-1]}" if len(months) > 1 else (months[0] if months else "")
    params = {"week": plan.week, "plan_sha256": plan_digest(plan), "hotspot_share": inputs.get("hotspot_share"),
              "cell_size_m": inputs.get("cell_size_m"), "harm_index": inputs.get("harm_index"),
              "exported_by": f"{user} ({role})", "notes": notes}
    run = run_parameters(params, method=str(inputs.get("hotspot_method", "")), period=period,
                         area=str(inputs.get("borough") or ""), generated_at=now)
    counts = write_gis(path, layers, params=run, format="gpkg")
    return path.read_bytes(), counts


def write_html(plan: Plan | Mapping[str, Any], out: str | Path, *, user: str, role: str, engine: Any = None,
               **kw: Any) -> ExportResult:
    """:func:`export_pack` with ``format="html"``."""
    return export_pack(plan, out, format="html", user=user, role=role, engine=engine, **kw)


def write_pdf(plan: Plan | Mapping[str, Any], out: str | Path, *, user: str, role: str, engine: Any = None,
              **kw: Any) -> ExportResult:
    """:func:`export_pack` with ``format="pdf"``."""
    return export_pack(plan, out, format="pdf", user=user, role=role, engine=engine, **kw)


def write_csv(plan: Plan | Mapping[str, Any], out: str | Path, *, user: str, role: str, engine: Any = None,
              **kw: Any) -> ExportResult:
    """:func:`export_pack` with ``format="csv"``."""
    return export_pack(plan, out, format="csv", user=user, role=role, engine=engine, **kw)


def write_geojson(plan: Plan | Mapping[str, Any], out: str | Path, *, user: str, role: str, engine: Any = None,
                  **kw: Any) -> ExportResult:
    """:func:`export_pack` with ``format="geojson"``."""
    return export_pack(plan, out, format="geojson", user=user, role=role, engine=engine, **kw)
