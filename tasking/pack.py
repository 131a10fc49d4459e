"""The weekly tasking pack: HTML and PDF for the meeting, CSV and GeoJSON of the plan for GIS.

Two layers, as the house style asks:

* **pure** - :func:`build_pack` gathers the plan, the Designing Out Crime
  recommendations, decisions, review and sensitive aggregates into a
  :class:`Pack` of tables (suppression applied here, before anything is
  rendered); :func:`pack_html` renders it as one self-contained HTML page
  (inline CSS, the map as an inline PNG drawn with matplotlib's Agg canvas, no
  script, no web font, no CDN, no external URL); :func:`pack_pdf` prints that
  HTML with WeasyPrint, fetching ``data:`` URLs only; :func:`plan_csv` and
  :func:`plan_geojson` give one row / feature per assignment; :func:`plan_map_png`
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

GeoJSON coordinates are WGS84 longitude/latitude (EPSG:4326, RFC 7946), each
feature at its candidate's representative point, with ``x_bng``/``y_bng``
(EPSG:27700) in the properties and a ``crs_note``; QGIS and ArcGIS read it
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

from spatial.jsonable import py_scalar
from spatial.store.queries import suppressed_label

from ._errors import TaskingError
from .formats import EXPORT_KINDS, ExportKind

__all__ = [
    "ASSIGNMENT_COLUMNS",
    "ExportResult",
    "Pack",
    "build_pack",
    "export_pack",
    "pack_html",
    "pack_pdf",
    "plan_csv",
    "plan_geojson",
    "plan_map_png",
    "suppress_counts",
    "write_csv",
    "write_geojson",
    "write_html",
    "write_pdf",
]

Format = ExportKind
SUPPRESS_BELOW = 5

#: Columns of the plan CSV (one row per assignment) and the GeoJSON properties.
ASSIGNMENT_COLUMNS: tuple[str, ...] = (
    "week", "agent_id", "kind", "day", "date", "shift", "candidate_id", "place_type", "name", "ward_code",
    "visits", "minutes", "expected_harm_shift", "value", "x_bng", "y_bng", "lon", "lat", "why",
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


def _check_plan(plan: Any) -> None:
    if not isinstance(plan, Mapping):
        msg = f"plan was a {type(plan).__name__}; give the plan dict (plan_week, or the allocate JSON loaded)"
        raise TaskingError(msg)
    for key in ("week", "assignments", "candidates"):
        if key not in plan:
            msg = f"plan.{key} is missing; give a complete plan from plan_week / `hotspot-tasking allocate`"
            raise TaskingError(msg)


def _assignments(plan: Mapping[str, Any]) -> pd.DataFrame:
    """One row per assignment with the candidate's name, ward and coordinates (BNG and WGS84)."""
    _check_plan(plan)
    cands = {str(c["candidate_id"]): c for c in plan["candidates"]}
    rows = []
    for a in plan["assignments"]:
        cid = str(a["candidate_id"])
        c = cands.get(cid)
        if c is None:
            msg = f"plan.assignments names candidate {cid!r}, which is not in plan.candidates"
            raise TaskingError(msg)
        rows.append({"week": plan["week"], "agent_id": a["agent_id"], "kind": a.get("kind"), "day": a.get("day"),
                     "date": a.get("date"), "shift": a.get("shift"), "candidate_id": cid,
                     "place_type": a.get("place_type", c.get("place_type")), "name": c.get("name"),
                     "ward_code": a.get("ward_code", c.get("ward_code")), "visits": int(a.get("visits", 1)),
                     "minutes": a.get("minutes"), "expected_harm_shift": a.get("expected_harm_shift"),
                     "value": a.get("value"), "x_bng": float(c["x"]), "y_bng": float(c["y"]), "why": a.get("why", "")})
    df = pd.DataFrame(rows, columns=[c for c in ASSIGNMENT_COLUMNS if c not in ("lon", "lat")])
    if len(df):
        lon, lat = _to_lonlat(df["x_bng"].to_numpy(), df["y_bng"].to_numpy())
        df["lon"], df["lat"] = np.round(lon, 6), np.round(lat, 6)
    else:
        df["lon"], df["lat"] = [], []
    shift_order = {s: i for i, s in enumerate(_shift_names(plan))}
    df["_d"] = df["day"].map({d: i for i, d in enumerate(_DAYS)})
    df["_s"] = df["shift"].map(shift_order)
    df = df.sort_values(["agent_id", "_d", "_s", "candidate_id"], kind="stable").drop(columns=["_d", "_s"])
    return df[list(ASSIGNMENT_COLUMNS)].reset_index(drop=True)


def _shift_names(plan: Mapping[str, Any]) -> list[str]:
    from .records import plan_shifts

    return plan_shifts(plan)


def plan_csv(plan: Mapping[str, Any]) -> str:
    """Return the plan as CSV text: one row per assignment, columns :data:`ASSIGNMENT_COLUMNS` (reasons in ``why``).

    Text cells a spreadsheet would run as a formula are neutralised (:mod:`spatial.csv_safe`).
    """
    from spatial.csv_safe import to_csv

    return str(to_csv(_assignments(plan), index=False, lineterminator="\n"))


def plan_geojson(plan: Mapping[str, Any]) -> dict[str, Any]:
    """Return the plan as a GeoJSON FeatureCollection: one Point feature per assignment, EPSG:4326.

    Each feature sits at its candidate's representative point (lon/lat, 6
    decimals); properties are :data:`ASSIGNMENT_COLUMNS` without lon/lat.
    """
    df = _assignments(plan)
    feats = []
    for r in df.to_dict(orient="records"):
        props = {k: _jsonable(v) for k, v in r.items() if k not in ("lon", "lat")}
        feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
                      "properties": props})
    from .records import plan_digest

    return {"type": "FeatureCollection", "name": f"tasking_plan_{plan['week']}", "week": plan["week"],
            "plan_sha256": plan_digest(plan),
            "crs_note": ("coordinates are WGS84 lon/lat (EPSG:4326, RFC 7946); x_bng/y_bng give British National "
                         "Grid (EPSG:27700) metres; one feature per assignment at its place's representative point"),
            "features": feats}


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

    @property
    def includes_sensitive_aggregates(self) -> bool:
        """Whether any sensitive-category aggregate is in the pack (for the export audit)."""
        rec = self.recommendations
        in_rec = rec is not None and "incidents" in rec.columns and \
            rec["incidents"].astype(str).str.contains("sensitive").any()
        return bool((self.sensitive is not None and len(self.sensitive)) or in_rec)

    @property
    def row_counts(self) -> dict[str, int]:
        """Rows per section (for the export audit)."""
        out = {"hotspots": len(self.hotspots), "assignments": len(self.assignments),
               "unassigned": len(self.unassigned), "cameras": len(self.cameras)}
        for k in ("recommendations", "decisions", "review_notes", "sensitive"):
            v = getattr(self, k)
            out[k] = 0 if v is None else len(v)
        return out


def build_pack(plan: Mapping[str, Any], *, recommendations: pd.DataFrame | None = None,
               decisions: pd.DataFrame | None = None, review: Any = None, review_notes: pd.DataFrame | None = None,
               sensitive_counts: pd.DataFrame | None = None, map_png: bytes | None = None,
               borough_name: str | None = None, meeting: Mapping[str, Any] | None = None,
               version: int | None = None, approved: Mapping[str, Any] | None = None,
               generated_at: dt.datetime | None = None, generated_by: str | None = None) -> Pack:
    """Gather the pack's tables (pure).

    Parameters
    ----------
    plan
        The plan dict (``plan_week`` / ``allocate`` JSON).
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

    Returns
    -------
    Pack
    """
    _check_plan(plan)
    week = str(plan["week"])
    inputs = plan.get("inputs") or {}
    greedy = plan.get("greedy") or {}
    summary = {
        "Week": week + (f" ({plan['dates'][0]} to {plan['dates'][-1]})" if plan.get("dates") else ""),
        "Borough": " ".join(x for x in (borough_name, inputs.get("borough")) if x) or "-",
        "Plan version": (f"{version}" if version is not None else "not saved")
        + (f", approved by {approved['approved_by']} ({approved.get('role', '')}) at {approved['approved_at']}"
           if approved else ", not approved"),
        "Objective": f"{_fmt(plan.get('objective'))} ({plan.get('objective_units', 'priority-weighted harm covered')})",
        "Bound and gap": f"bound {_fmt(plan.get('dual_bound'))}, gap {_fmt((plan.get('gap') or 0) * 100, 2)}% "
                         f"({plan.get('status', '-')})",
        "Greedy comparison": (f"greedy baseline {_fmt(greedy.get('objective'))}; the optimised plan covers "
                              f"{_pct(plan.get('milp_vs_greedy'))} more" if plan.get("milp_vs_greedy") is not None
                              else f"greedy baseline {_fmt(greedy.get('objective'))}"),
        "Harm covered": f"{_fmt(plan.get('harm_covered'))} per week; CCTV {_fmt(plan.get('cctv_objective'))} per week",
        "Checker": "all constraints verified" if (plan.get("check") or {}).get("ok") else
        "FAILED: " + "; ".join((plan.get("check") or {}).get("violations", [])[:5]),
        "Data": f"{_fmt(inputs.get('n_incidents'))} non-sensitive incidents, months {', '.join(inputs.get('months', [])) or '-'}; "
                f"hotspots by {inputs.get('hotspot_method', '-')} on {_fmt(inputs.get('cell_size_m'), 0)} m cells; "
                f"harm index {inputs.get('harm_index', '-')}",
        "Pins and exclusions": ("; ".join(inputs.get("pins") or []) or "no pins") + " | "
        + ("; ".join(_exclusion_text(e) for e in inputs.get("exclusions") or []) or "no exclusions"),
    }
    if meeting:
        summary["Meeting"] = f"chair {meeting.get('chair', '-')}, status {meeting.get('status', '-')}"
    if generated_at is not None:
        summary["Generated"] = pd.Timestamp(generated_at).tz_convert("Europe/London").strftime("%Y-%m-%d %H:%M %Z") \
            + (f" by {generated_by}" if generated_by else "")
    notes = list(plan.get("notes") or [])
    for k in ("parks", "estates", "roster", "assumptions"):
        if inputs.get(k):
            notes.append(f"{k}: {inputs[k]}")

    assign = _assignments(plan)
    visits = assign.groupby("candidate_id")["visits"].sum() if len(assign) else pd.Series(dtype=int)
    hs = pd.DataFrame(list(plan["candidates"]))
    keep = [c for c in ("candidate_id", "place_type", "name", "ward_code", "priority", "expected_harm_week",
                        "n_incidents", "top_categories", "trend_class", "concerns") if c in hs.columns]
    hs = hs[keep].copy()
    hs["planned_visits"] = hs["candidate_id"].map(visits).fillna(0).astype(int)
    hs = hs.sort_values(["priority", "candidate_id"], ascending=[False, True], kind="stable").reset_index(drop=True)
    hs.insert(0, "rank", np.arange(1, len(hs) + 1))

    unassigned = pd.DataFrame(list(plan.get("unassigned") or []))
    cameras = pd.DataFrame(list(plan.get("cameras") or []))
    rec = None
    if recommendations is not None:
        rec = pd.DataFrame(recommendations).drop(columns=["geometry"], errors="ignore")
        keep = [c for c in ("candidate_id", "name", "place_type", "incidents", "patterns", "top_measure",
                            "top_cpted_principle", "recommendations", "rec1_evidence", "rec1_sources")
                if c in rec.columns]
        if "candidate_id" not in keep:
            msg = f"recommendations need a 'candidate_id' column; got {list(rec.columns)}"
            raise TaskingError(msg)
        rec = rec[keep].reset_index(drop=True)
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
                meta={"plan_sha256": _digest(plan), "version": version, "generated_by": generated_by})


def _digest(plan: Mapping[str, Any]) -> str:
    from .records import plan_digest

    return plan_digest(plan)


def _exclusion_text(e: Any) -> str:
    if isinstance(e, Mapping):
        parts = [str(e.get("candidate_id"))]
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
def plan_map_png(plan: Mapping[str, Any], *, area: Any = None, wards: Any = None, parks: Any = None,
                 estates: Any = None, width_in: float = 7.5, dpi: int = 130, label_top: int = 10) -> bytes:
    """Draw the plan's places on a map and return PNG bytes (matplotlib Agg canvas; no pyplot, no tiles).

    Draws the borough outline and wards (when given), street patches as their
    grid cells and parks/estates as their polygons (when the layers are given;
    :func:`tasking.review.candidate_polygons`), shaded by planned visits,
    other candidates as points, deployable camera sites as triangles, and the
    ``label_top`` highest-priority places numbered as in the hotspot table.
    Incidents are never drawn.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from .review import candidate_polygons

    _check_plan(plan)
    fig = Figure(figsize=(width_in, width_in * 0.8), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.01, 0.06, 0.98, 0.92))
    ax.set_aspect("equal")
    ax.set_axis_off()

    def draw(geom: Any, **kw: Any) -> None:
        for poly in getattr(geom, "geoms", [geom]):
            if poly.is_empty or not hasattr(poly, "exterior"):
                continue
            xs, ys = poly.exterior.xy
            ax.fill(xs, ys, **kw)

    if wards is not None:
        for g in wards.geometry:
            draw(g, facecolor="none", edgecolor="#9aa5b1", linewidth=0.5)
    if area is not None:
        for g in area.geometry:
            draw(g, facecolor="#f4f6f8", edgecolor="#2d3a45", linewidth=1.2, zorder=0)
    polys = candidate_polygons(plan, parks=parks, estates=estates)
    vmax = max(1, int(polys["planned_visits"].max())) if len(polys) else 1
    from matplotlib import colormaps

    cmap = colormaps["OrRd"]
    for _, r in polys.iterrows():
        shade = cmap(0.25 + 0.75 * (r["planned_visits"] / vmax)) if r["tasked"] else "#d9d9d9"
        edge = "#1b7837" if r["place_type"] == "park" else "#7f2704"
        draw(r.geometry, facecolor=shade, edgecolor=edge, linewidth=0.6, alpha=0.9, zorder=2)
    drawn = set(polys["candidate_id"])
    rest = [c for c in plan["candidates"] if str(c["candidate_id"]) not in drawn]
    if rest:
        ax.scatter([float(c["x"]) for c in rest], [float(c["y"]) for c in rest], s=14, marker="o",
                   facecolor="#4575b4", edgecolor="white", linewidth=0.5, zorder=3)
    cams = plan.get("cameras") or []
    if cams:
        ax.scatter([float(c["x"]) for c in cams], [float(c["y"]) for c in cams], s=40, marker="^",
                   facecolor="#542788", edgecolor="white", linewidth=0.6, zorder=4)
    ranked = sorted(plan["candidates"], key=lambda c: (-float(c.get("priority") or 0), str(c["candidate_id"])))
    for i, c in enumerate(ranked[:label_top], start=1):
        ax.annotate(str(i), (float(c["x"]), float(c["y"])), xytext=(4, 4), textcoords="offset points",
                    fontsize=7, fontweight="bold", color="#111111", zorder=5)
    xs = [float(c["x"]) for c in plan["candidates"]]
    ys = [float(c["y"]) for c in plan["candidates"]]
    if area is None and xs:
        pad = 300.0
        ax.set_xlim(min(xs) - pad, max(xs) + pad)
        ax.set_ylim(min(ys) - pad, max(ys) + pad)
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    bar = 500.0 if (x1 - x0) > 2000 else 100.0
    bx, by = x0 + 0.04 * (x1 - x0), y0 + 0.04 * (y1 - y0)
    ax.plot([bx, bx + bar], [by, by], color="black", linewidth=2, zorder=6)
    ax.annotate(f"{bar:g} m", (bx + bar / 2, by), xytext=(0, 3), textcoords="offset points", ha="center",
                fontsize=7, zorder=6)
    ax.annotate("N", (x1 - 0.04 * (x1 - x0), y1 - 0.10 * (y1 - y0)), ha="center", fontsize=9,
                fontweight="bold", zorder=6)
    ax.annotate("", xy=(x1 - 0.04 * (x1 - x0), y1 - 0.02 * (y1 - y0)),
                xytext=(x1 - 0.04 * (x1 - x0), y1 - 0.08 * (y1 - y0)),
                arrowprops={"arrowstyle": "-|>", "color": "black"}, zorder=6)
    fig.text(0.01, 0.015, "Shaded: tasked places by planned visits (street patches, parks); dots: other places; "
             "triangles: deployable CCTV. Numbers: priority rank. No incidents are drawn. "
             "Contains OS data (c) Crown copyright and database right.", fontsize=5.5, color="#333333")
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
td.num, th.num { text-align: right; white-space: nowrap; }
tr { page-break-inside: avoid; }
.why { font-size: 7.5pt; color: #333; }
.note { font-size: 8pt; color: #444; }
.warn { color: #8a1c1c; font-weight: bold; }
.map { width: 100%; max-width: 190mm; display: block; margin: 4pt auto; }
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


def pack_html(pack: Pack) -> str:
    """Render the pack as one self-contained HTML page (inline CSS and map; no script, no external URL)."""
    out: list[str] = ['<!DOCTYPE html>', '<html lang="en-GB"><head><meta charset="utf-8">',
                      f"<title>{html.escape(pack.title)}</title>", f"<style>{_CSS}</style></head><body>",
                      f"<h1>{html.escape(pack.title)}</h1>"]
    # 1 summary
    out.append("<h2>1. Summary</h2><dl class=\"summary\">")
    for k, v in pack.summary.items():
        klass = ' class="warn"' if k == "Checker" and v.startswith("FAILED") else ""
        out.append(f"<dt>{html.escape(k)}</dt><dd{klass}>{html.escape(v)}</dd>")
    out.append("</dl>")
    if pack.notes:
        out.append("<h3>Notes and assumptions</h3><ul>")
        out.extend(f'<li class="note">{html.escape(str(n))}</li>' for n in pack.notes)
        out.append("</ul>")
    # 2 hotspots
    out.append("<h2>2. Hotspots and priorities</h2>")
    if pack.map_png:
        b64 = base64.b64encode(pack.map_png).decode("ascii")
        out.append(f'<img class="map" alt="Map of the week\'s places and camera sites" '
                   f'src="data:image/png;base64,{b64}">')
    out.append('<p class="note">Priority = expected harm per week x trend x concern multipliers. Built from '
               "non-sensitive incidents only.</p>")
    out.append(_table(pack.hotspots, [("rank", "#"), ("candidate_id", "Place"), ("name", "Name"),
                                      ("place_type", "Type"), ("ward_code", "Ward"), ("priority", "Priority"),
                                      ("expected_harm_week", "Harm/week"), ("n_incidents", "Incidents"),
                                      ("top_categories", "Top categories"), ("trend_class", "Trend"),
                                      ("concerns", "Concerns"), ("planned_visits", "Visits planned")],
                      num=("rank", "priority", "expected_harm_week", "n_incidents", "planned_visits"),
                      small=("top_categories", "concerns"),
                      widths={"rank": 3, "candidate_id": 10, "name": 13, "place_type": 5, "ward_code": 8,
                              "priority": 6, "expected_harm_week": 6, "n_incidents": 6, "top_categories": 19,
                              "trend_class": 7, "concerns": 10, "planned_visits": 6}))
    # 3 assignments per agent
    out.append("<h2>3. Assignments by agent, day and shift</h2>")
    if len(pack.assignments) == 0:
        out.append('<p class="section-empty">no assignments</p>')
    for agent, g in pack.assignments.groupby("agent_id", sort=True):
        kind = g["kind"].iloc[0] or ""
        out.append(f"<h3>{html.escape(str(agent))} ({html.escape(str(kind).replace('_', ' '))}): "
                   f"{int(g['visits'].sum())} visits</h3>")
        out.append(_table(g, [("day", "Day"), ("date", "Date"), ("shift", "Shift"), ("candidate_id", "Place"),
                              ("name", "Name"), ("visits", "Visits"), ("minutes", "Minutes"), ("value", "Value"),
                              ("why", "Why")], num=("visits", "minutes", "value"), small=("why",),
                          digits={"minutes": 0, "value": 2},
                          widths={"day": 4, "date": 8, "shift": 5, "candidate_id": 10, "name": 13, "visits": 5,
                                  "minutes": 6, "value": 5, "why": 44}))
    # 4 unassigned
    out.append("<h2>4. Places not assigned</h2>")
    out.append(_table(pack.unassigned, [("candidate_id", "Place"), ("place_type", "Type"), ("name", "Name"),
                                        ("priority", "Priority"), ("reason", "Reason")], num=("priority",),
                      small=("reason",), empty="every candidate place has at least one visit"))
    # 5 CCTV
    out.append("<h2>5. Deployable CCTV moves</h2>")
    out.append('<p class="note">Every new or moved camera needs a Surveillance Camera Code of Practice and DPIA '
               "check before deployment.</p>")
    out.append(_table(pack.cameras, [("camera_id", "Camera"), ("site_id", "Site"), ("x", "Easting"),
                                     ("y", "Northing"), ("status", "Status"), ("site_source", "Site source")],
                      num=("x", "y"), small=("status", "site_source"), digits={"x": 0, "y": 0},
                      empty="no deployable cameras in the plan"))
    # 6 Designing Out Crime
    out.append("<h2>6. Designing Out Crime recommendations</h2>")
    out.append(_table(pack.recommendations, [("candidate_id", "Place"), ("name", "Name"), ("place_type", "Type"),
                                             ("incidents", "Incidents"), ("recommendations", "Measures"),
                                             ("rec1_evidence", "Evidence (first measure)"),
                                             ("rec1_sources", "Sources")],
                      small=("recommendations", "rec1_evidence", "rec1_sources"),
                      empty="no recommendations were given (run `hotspot-tasking recommend --plan PLAN`)"))
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
    out.append(_table(dec, [("week", "Meeting"), ("action", "Action"), ("owner", "Owner"), ("due_date", "Due"),
                            ("status", "Status"), ("candidate_id", "Place"), ("outcome", "Outcome")],
                      empty="no decisions recorded yet"))
    # 8 review
    out.append("<h2>8. Last week's review</h2>")
    out.append(_review_html(pack.review, pack.review_notes))
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


def _resolve_record(engine: Any, plan: Mapping[str, Any], meeting_id: int | None,
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
    borough = (plan.get("inputs") or {}).get("borough")
    if meeting_id is None and borough:
        meeting_id = find_meeting(engine, week=str(plan["week"]), borough=str(borough))
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


def export_pack(plan: Mapping[str, Any], out: str | Path, *, format: Format, user: str, role: str,
                engine: Any = None, recommendations: pd.DataFrame | None = None,
                decisions: pd.DataFrame | None = None, review: Any = None, review_notes: pd.DataFrame | None = None,
                sensitive_counts: pd.DataFrame | None = None, area: Any = None, wards: Any = None, parks: Any = None,
                estates: Any = None, meeting_id: int | None = None, version: int | None = None,
                now: dt.datetime | None = None, area_label: str | None = None) -> ExportResult:
    """Write the pack (``pdf``, ``html``) or the plan (``csv``, ``geojson``) to ``out`` and audit it.

    With an ``engine`` the export is recorded in ``export_audit`` (who, role,
    when, kind, week, meeting and version, the file's sha256, row counts and
    whether it holds sensitive aggregates); the meeting and version are found
    from the plan's week, borough and sha256 when not given, and the meeting's
    decisions (with open ones carried over from earlier weeks) and review
    notes are included when not given.  Without an engine nothing is audited.

    ``area`` (borough polygon) is drawn on the map; when not given, the bundled
    boundary of the plan's borough is used if there is one.  ``area_label`` is the area's name
    written in the pack (default: the borough's name from ``area``).

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
    _check_plan(plan)
    if now is None:
        now = dt.datetime.now(dt.UTC)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    meeting_id, version, meeting, approval = _resolve_record(engine, plan, meeting_id, version)
    if format == "csv":
        data = plan_csv(plan).encode("utf-8")
        counts = {"assignments": len(plan["assignments"])}
        sensitive = False
    elif format == "geojson":
        data = json.dumps(plan_geojson(plan), indent=1, ensure_ascii=False).encode("utf-8")
        counts = {"assignments": len(plan["assignments"])}
        sensitive = False
    else:
        borough = (plan.get("inputs") or {}).get("borough")
        borough_name = None
        if area is None and borough:
            from spatial.datasets import load_boroughs

            found = load_boroughs((str(borough),))
            area = found if len(found) else None
        if area is not None and "borough_name" in getattr(area, "columns", []) and len(area):
            borough_name = str(area["borough_name"].iloc[0])
        if area_label:
            borough_name = area_label
        if engine is not None and meeting_id is not None:
            if decisions is None:
                mine = list_decisions(engine, meeting_id=meeting_id)
                carried = list_decisions(engine, borough=meeting["borough"], status="open",  # type: ignore[index]
                                         before_week=str(plan["week"]))
                decisions = pd.concat([carried, mine], ignore_index=True)
            if review_notes is None:
                review_notes = list_review_notes(engine, meeting_id)
        png = plan_map_png(plan, area=area, wards=wards, parks=parks, estates=estates)
        pack = build_pack(plan, recommendations=recommendations, decisions=decisions, review=review,
                          review_notes=review_notes, sensitive_counts=sensitive_counts, map_png=png,
                          borough_name=borough_name, meeting=meeting, version=version, approved=approval,
                          generated_at=now, generated_by=f"{user} ({role})")
        text = pack_html(pack)
        data = text.encode("utf-8") if format == "html" else pack_pdf(text)
        counts = pack.row_counts
        sensitive = pack.includes_sensitive_aggregates
    path.write_bytes(data)
    import hashlib

    sha = hashlib.sha256(data).hexdigest()
    export_id = None
    if engine is not None:
        export_id = record_export(engine, user=user, role=role, kind=format, path=path, row_counts=counts,
                                  includes_sensitive_aggregates=sensitive, week=str(plan["week"]),
                                  meeting_id=meeting_id, version=version, plan_sha256=plan_digest(plan), now=now)
    return ExportResult(path=path, kind=format, sha256=sha, bytes=len(data), row_counts=counts,
                        includes_sensitive_aggregates=sensitive, export_id=export_id, meeting_id=meeting_id,
                        version=version)


def write_html(plan: Mapping[str, Any], out: str | Path, *, user: str, role: str, engine: Any = None,
               **kw: Any) -> ExportResult:
    """:func:`export_pack` with ``format="html"``."""
    return export_pack(plan, out, format="html", user=user, role=role, engine=engine, **kw)


def write_pdf(plan: Mapping[str, Any], out: str | Path, *, user: str, role: str, engine: Any = None,
              **kw: Any) -> ExportResult:
    """:func:`export_pack` with ``format="pdf"``."""
    return export_pack(plan, out, format="pdf", user=user, role=role, engine=engine, **kw)


def write_csv(plan: Mapping[str, Any], out: str | Path, *, user: str, role: str, engine: Any = None,
              **kw: Any) -> ExportResult:
    """:func:`export_pack` with ``format="csv"``."""
    return export_pack(plan, out, format="csv", user=user, role=role, engine=engine, **kw)


def write_geojson(plan: Mapping[str, Any], out: str | Path, *, user: str, role: str, engine: Any = None,
                  **kw: Any) -> ExportResult:
    """:func:`export_pack` with ``format="geojson"``."""
    return export_pack(plan, out, format="geojson", user=user, role=role, engine=engine, **kw)
