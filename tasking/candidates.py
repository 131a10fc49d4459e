"""Candidate locations for tasking: patrol patches, estates, parks and ward presence points.

:func:`build_candidates` turns a hotspot result (any method with the shared
result shape: ``score``, ``is_hotspot``, ``method``) and the incidents behind it
into the places the allocation model can send people to:

* **street patches** - hot cells merged into connected components (cells that
  share an edge or a corner), and a component larger than ``max_patch_cells`` split
  by region growing from its hottest cell, so a patch stays walkable in one
  10-15 minute visit;
* **estates** and **parks** - the polygons given (council layers), whatever their
  hotspot status: wardens cover estates and parks police cover every park;
  hot cells whose centre falls in a park or estate belong to that place, not to a
  street patch, so harm is never counted twice;
* **ward presence points** - one per ward that has no street or estate candidate
  (at the ward's representative point, no expected harm), so a minimum presence
  per ward can be required of the model.

Each candidate's expected harm per week is the harm-weighted count of the
incidents inside it (:func:`spatial.harm.harm_weight`) divided by the weeks of
data, or a forecast per cell when one is given.  It is split by day and shift
with a time-of-day profile: from incidents with real times (council logs;
aoristic weighting, :func:`spatial.hotspots.time_profile`), each candidate's own
profile shrunk towards the borough's, or else from the roster's documented
default split (police.uk gives only a month).  Priority is expected harm x trend
multiplier x manual-concern multiplier (resident reports, a Community Trigger,
a Joint Action Group case), with the multipliers in the roster file.

References
----------
Ratcliffe, J. H. (2002). Aoristic signatures and the spatio-temporal analysis of
high volume crime patterns. *J. Quantitative Criminology* 18(1):23-43.

Sherman, L., Neyroud, P. W. & Neyroud, E. (2016). The Cambridge Crime Harm Index.
*Policing* 10(3):171-183.

Anti-social Behaviour, Crime and Policing Act 2014, s.104 (the ASB case review,
"Community Trigger").
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from spatial.harm import HarmIndex, harm_weight
from spatial.hotspots import time_profile, validate_result
from spatial.projection import require_bng
from spatial.schema import CATEGORY, MONTH, OCCURRED_FROM, OCCURRED_TO, X, Y

from ._errors import TaskingError
from .resources import CameraSite, Planning, Shift

__all__ = [
    "CANDIDATE_COLUMNS",
    "CONCERN_COLUMNS",
    "DAY_NAMES",
    "borough_profile",
    "build_candidates",
    "cctv_demand",
    "demo_camera_sites",
    "proposed_camera_sites",
    "incident_window_weeks",
    "PROPOSED_SOURCE",
    "harm_column",
    "patrol_patches",
    "shift_shares",
]

DAY_NAMES: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
#: Columns of every candidate table (besides the ``harm_<day>_<shift>`` columns and geometry).
CANDIDATE_COLUMNS: tuple[str, ...] = (
    "candidate_id", "place_type", "name", "ward_code", "x", "y", "source", "cells", "n_incidents",
    "expected_harm_week", "top_categories", "trend_class", "trend_multiplier", "concerns",
    "concern_multiplier", "priority",
)
#: Columns of the manual concerns table the chair passes.
CONCERN_COLUMNS: tuple[str, ...] = ("concern", "candidate_id", "ward_code", "note")
_WEEKS_PER_MONTH = 365.25 / 12 / 7


def harm_column(day: int | str, shift: str) -> str:
    """Name of the column holding a candidate's weekly expected harm on ``day`` in ``shift``.

    Examples
    --------
    >>> harm_column(0, "late")
    'harm_Mon_late'
    """
    d = DAY_NAMES[day] if isinstance(day, int) else day
    return f"harm_{d}_{shift}"


# ----------------------------------------------------------------------------
# time profiles
# ----------------------------------------------------------------------------
def _default_profile(planning: Planning) -> np.ndarray:
    """7 x 24 shares from the roster's documented default split."""
    hour = np.zeros(24)
    for start, end, share in planning.default_time_split:
        s = Shift("band", start, end, 0.0)
        hours = s.hour_weights()
        span = sum(f for _, _, f in hours)
        for _, h, f in hours:
            hour[h] += share * f / span
    prof = np.outer(np.asarray(planning.default_day_shares, float), hour)
    return prof / prof.sum()


def borough_profile(incidents: pd.DataFrame, *, planning: Planning) -> tuple[np.ndarray, str]:
    """Day-of-week x hour-of-day shares of incidents (7 x 24, summing to 1) and where they came from.

    Incidents with a real time (interval of at most one hour) give the profile
    when there are at least ``planning.min_timed_incidents`` of them; otherwise
    the roster's default split is used and the source says so.
    """
    if OCCURRED_FROM in incidents.columns and OCCURRED_TO in incidents.columns and len(incidents):
        tab = time_profile(incidents)
        n = int(tab.attrs.get("n_used", 0))
        if n >= planning.min_timed_incidents and tab.to_numpy().sum() > 0:
            from spatial.forecast_timed import forecast_week_profile, weekly_profiles

            arr = tab.to_numpy(float)
            source = f"time of day from {n} timed incidents (aoristic)"
            # Next week's profile: the plain average unless recency weighting beat it on a weekly backtest
            # (the same incidents, spans of up to an hour, as the profile above).
            weekly, labels = weekly_profiles(incidents, max_span_h=float(tab.attrs.get("max_window_h", 1.0)))
            fc = forecast_week_profile(weekly, labels)
            if fc.method != "all_weeks":
                return fc.profile, f"{source}; {fc.describe()}"
            return arr / arr.sum(), f"{source}; {fc.describe()}"
    return _default_profile(planning), ("default split from the roster (assumption; no timed incidents: "
                                        "police.uk gives months only)")


def shift_shares(profile: np.ndarray, shifts: Sequence[Shift]) -> np.ndarray:
    """Share of a week's harm falling on each day in each shift: array (7, n_shifts).

    A shift crossing midnight takes its after-midnight hours from the next day
    (Sunday night runs into Monday of the same profile week).
    """
    out = np.zeros((7, len(shifts)))
    for j, s in enumerate(shifts):
        for d in range(7):
            out[d, j] = sum(profile[(d + off) % 7, h] * f for off, h, f in s.hour_weights())
    return out


# ----------------------------------------------------------------------------
# patches
# ----------------------------------------------------------------------------
def _split_component(members: np.ndarray, adj: list[set[int]], score: np.ndarray, max_cells: int) -> list[list[int]]:
    """Region growing: repeatedly seed at the hottest free cell and take its hottest neighbours."""
    free = {int(m) for m in members}
    parts = []
    while free:
        seed = max(free, key=lambda i: (score[i], -i))
        part = [seed]
        free.discard(seed)
        frontier = {n for n in adj[seed] if n in free}
        while frontier and len(part) < max_cells:
            nxt = max(frontier, key=lambda i: (score[i], -i))
            part.append(nxt)
            free.discard(nxt)
            frontier.discard(nxt)
            frontier |= {n for n in adj[nxt] if n in free}
        parts.append(part)
    return parts


def patrol_patches(hotspots: gpd.GeoDataFrame, *, max_patch_cells: int = 6,
                   exclude_within: gpd.GeoSeries | None = None) -> gpd.GeoDataFrame:
    """Merge touching hotspot units into patrol patches (connected components).

    Parameters
    ----------
    hotspots
        A hotspot result (EPSG:27700); only ``is_hotspot`` units are used.
    max_patch_cells
        Largest number of units in one patch; bigger components are split by
        region growing from their hottest unit.
    exclude_within
        Polygons (parks, estates) whose units are left out: a unit whose
        representative point falls inside belongs to that place.

    Returns
    -------
    geopandas.GeoDataFrame
        ``patch_id`` (``ST-`` + the hottest unit's ``cell_id``), ``cells`` (the
        unit ids, comma-separated), ``n_cells``, ``score_max``, ``score_sum``,
        ``trend_class`` (of the hottest unit, when the result has one) and the
        merged geometry; sorted by ``score_sum``, highest first.
    """
    validate_result(hotspots)
    if max_patch_cells < 1:
        msg = f"max_patch_cells was {max_patch_cells!r}; give a positive integer"
        raise TaskingError(msg)
    hot = hotspots[hotspots["is_hotspot"].astype(bool)].reset_index(drop=True)
    ids = (hot["cell_id"].astype(str) if "cell_id" in hot.columns else pd.Series([f"u{i}" for i in hot.index]))
    geoms = np.asarray(hot.geometry.values, dtype=object)
    if exclude_within is not None and len(hot) and len(exclude_within):
        pts = shapely.point_on_surface(geoms)
        inside = np.zeros(len(hot), bool)
        ptree = shapely.STRtree(np.asarray(exclude_within.values, dtype=object))
        pi, _ = ptree.query(pts, predicate="within")
        inside[pi] = True
        keep = ~inside
        hot, ids, geoms = hot[keep].reset_index(drop=True), ids[keep].reset_index(drop=True), geoms[keep]
    cols = ["patch_id", "cells", "n_cells", "score_max", "score_sum", "trend_class"]
    if len(hot) == 0:
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=hotspots.crs)
    tree = shapely.STRtree(geoms)
    a, b = tree.query(shapely.buffer(geoms, 0.01), predicate="intersects")
    m = a != b
    n = len(hot)
    graph = coo_matrix((np.ones(int(m.sum())), (a[m], b[m])), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    adj: list[set[int]] = [set() for _ in range(n)]
    for i, j in zip(a[m], b[m]):
        adj[int(i)].add(int(j))
    score = hot["score"].to_numpy(float)
    trend = hot["trend_class"].astype(object).to_numpy() if "trend_class" in hot.columns else None
    rows = []
    for comp in np.unique(label):
        members = np.flatnonzero(label == comp)
        for part in _split_component(members, adj, score, max_patch_cells):
            part_sorted = sorted(part, key=lambda i: (-score[i], i))
            top = part_sorted[0]
            rows.append({"patch_id": f"ST-{ids[top]}", "cells": ",".join(ids[i] for i in part_sorted),
                         "n_cells": len(part), "score_max": float(score[top]),
                         "score_sum": float(score[part].sum()),
                         "trend_class": (None if trend is None or pd.isna(trend[top]) else str(trend[top])),
                         "geometry": shapely.union_all(geoms[part])})
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=hotspots.crs)
    return out.sort_values(["score_sum", "patch_id"], ascending=[False, True], kind="stable").reset_index(drop=True)


# ----------------------------------------------------------------------------
# candidates
# ----------------------------------------------------------------------------
def _polygons(layer: gpd.GeoDataFrame | None, id_col: str, name_col: str, what: str) -> gpd.GeoDataFrame | None:
    if layer is None or len(layer) == 0:
        return None
    require_bng(layer, name=f"the {what} layer")
    if id_col not in layer.columns:
        msg = f"the {what} layer has no {id_col!r} column (columns: {list(layer.columns)}); rename its id column"
        raise TaskingError(msg)
    out = layer[[id_col, "geometry"]].copy()
    out["name"] = layer[name_col].astype(str) if name_col in layer.columns else layer[id_col].astype(str)
    return out.reset_index(drop=True)


def _concern_multipliers(cands: pd.DataFrame, concerns: pd.DataFrame | None,
                         planning: Planning) -> tuple[list[str], np.ndarray]:
    n = len(cands)
    labels: list[list[str]] = [[] for _ in range(n)]
    mult = np.ones(n)
    if concerns is None or len(concerns) == 0:
        return [""] * n, mult
    if "concern" not in concerns.columns or not ({"candidate_id", "ward_code"} & set(concerns.columns)):
        msg = (f"concerns need a 'concern' column and a 'candidate_id' or 'ward_code' column; got "
               f"{list(concerns.columns)}")
        raise TaskingError(msg)
    known = set(planning.concern_multipliers)
    cid = cands["candidate_id"].astype(str).to_numpy()
    ward = cands["ward_code"].astype(str).to_numpy()
    for i, row in concerns.reset_index(drop=True).iterrows():
        kind = str(row["concern"])
        if kind not in known:
            msg = f"concern row {i}: concern was {kind!r} but is expected to be one of {sorted(known)}"
            raise TaskingError(msg)
        target_c = row.get("candidate_id") if "candidate_id" in concerns.columns else None
        target_w = row.get("ward_code") if "ward_code" in concerns.columns else None
        if target_c is not None and not pd.isna(target_c):
            hit = cid == str(target_c)
            where = f"candidate {target_c!r}"
        elif target_w is not None and not pd.isna(target_w):
            hit = ward == str(target_w)
            where = f"ward {target_w!r}"
        else:
            msg = f"concern row {i} ({kind}) names neither a candidate_id nor a ward_code"
            raise TaskingError(msg)
        if not hit.any():
            msg = f"concern row {i} ({kind}) refers to {where}, which matches no candidate"
            raise TaskingError(msg)
        note = "" if "note" not in concerns.columns or pd.isna(row.get("note")) else f" ({row['note']})"
        for k in np.flatnonzero(hit):
            if kind not in [lab.split(" (")[0] for lab in labels[k]]:
                mult[k] *= planning.concern_multipliers[kind]
            labels[k].append(f"{kind}{note}")
    mult = np.minimum(mult, planning.max_concern_multiplier)
    return ["; ".join(lab) for lab in labels], mult


def build_candidates(hotspots: gpd.GeoDataFrame, incidents: pd.DataFrame, *, wards: gpd.GeoDataFrame,
                     shifts: Sequence[Shift], planning: Planning, parks: gpd.GeoDataFrame | None = None,
                     estates: gpd.GeoDataFrame | None = None, concerns: pd.DataFrame | None = None,
                     harm_index: HarmIndex = "cchi", window_weeks: float | None = None,
                     cell_harm_week: pd.Series | None = None, max_patch_cells: int = 6,
                     add_ward_presence: bool = True) -> gpd.GeoDataFrame:
    """Candidate locations with expected harm by day and shift and a priority.

    Parameters
    ----------
    hotspots
        A hotspot result over grid cells or polygons (EPSG:27700); a
        ``trend_class`` column (e.g. from emerging-hotspot analysis) is used when present.
    incidents
        Canonical incidents (``x``, ``y``, ``category``, ``month``; times if
        known) behind the hotspots, sensitive categories already removed.
    wards
        Ward polygons with ``ward_code`` (``ward_name`` optional), EPSG:27700.
    shifts
        The roster's shifts; one ``harm_<day>_<shift>`` column is made per day and shift.
    planning
        The roster's planning defaults (time split, multipliers).
    parks, estates
        Optional polygons with ``park_id``/``park_name`` and ``estate_id``/``estate_name``.
    concerns
        Optional manual concerns: columns ``concern`` (a key of
        ``planning.concern_multipliers``: resident_reports, community_trigger,
        jag_case), ``candidate_id`` or ``ward_code``, and ``note``.
    harm_index
        Harm weights per category (``"cchi"`` or ``"ons_css"``).
    window_weeks
        Weeks of data behind ``incidents``; default: distinct months x 4.35.
    cell_harm_week
        Optional expected harm per week per ``cell_id`` (e.g. a forecast) that
        replaces the incident harm of street patches.
    max_patch_cells
        Largest patch, in hotspot units.
    add_ward_presence
        Add a presence point for each ward without a street or estate candidate.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per candidate: :data:`CANDIDATE_COLUMNS`, ``harm_<shift>``
        (weekly), ``harm_<day>_<shift>`` and geometry; ``attrs`` records the
        profile source, the window and the harm index.

    Raises
    ------
    TaskingError
        On bad inputs (no incidents, unknown concern, missing id columns).
    """
    validate_result(hotspots)
    require_bng(wards, name="the wards layer")
    if "ward_code" not in wards.columns:
        msg = f"the wards layer needs a 'ward_code' column; got {list(wards.columns)}"
        raise TaskingError(msg)
    if not shifts:
        msg = "shifts is empty; pass the roster's shifts"
        raise TaskingError(msg)
    if len(incidents) == 0:
        msg = "there are no incidents to build candidates from; ingest data first (hotspot-tasking ingest --bundled)"
        raise TaskingError(msg)
    inc = incidents.reset_index(drop=True)
    x = pd.to_numeric(inc[X], errors="coerce").to_numpy(float)
    y = pd.to_numeric(inc[Y], errors="coerce").to_numpy(float)
    ok = np.isfinite(x) & np.isfinite(y)
    inc, x, y = inc[ok].reset_index(drop=True), x[ok], y[ok]
    w = harm_weight(inc[CATEGORY], index=harm_index)
    if window_weeks is None:
        window_weeks = incident_window_weeks(inc)
    if not window_weeks > 0:
        msg = f"window_weeks was {window_weeks!r}; give a positive number of weeks"
        raise TaskingError(msg)

    park_poly = _polygons(parks, "park_id", "park_name", "parks")
    estate_poly = _polygons(estates, "estate_id", "estate_name", "estates")
    places = [g for g in (park_poly, estate_poly) if g is not None]
    exclude = gpd.GeoSeries(pd.concat([g.geometry for g in places], ignore_index=True), crs=hotspots.crs) \
        if places else None
    patches = patrol_patches(hotspots, max_patch_cells=max_patch_cells, exclude_within=exclude)

    rows: list[dict] = []
    for _, p in patches.iterrows():
        rows.append({"candidate_id": p["patch_id"], "place_type": "street", "name": f"hot patch {p['patch_id'][3:]}",
                     "source": f"{hotspots['method'].iloc[0]} hot cells", "cells": p["cells"],
                     "trend_class": p["trend_class"], "geometry": p.geometry})
    if estate_poly is not None:
        for _, e in estate_poly.iterrows():
            rows.append({"candidate_id": f"ES-{e['estate_id']}", "place_type": "estate", "name": e["name"],
                         "source": "estates layer", "cells": "", "trend_class": None, "geometry": e.geometry})
    if park_poly is not None:
        for _, pk in park_poly.iterrows():
            rows.append({"candidate_id": f"PK-{pk['park_id']}", "place_type": "park", "name": pk["name"],
                         "source": "parks layer", "cells": "", "trend_class": None, "geometry": pk.geometry})
    cands = gpd.GeoDataFrame(rows, geometry="geometry", crs=wards.crs) if rows else \
        gpd.GeoDataFrame({"candidate_id": [], "place_type": []}, geometry=[], crs=wards.crs)
    dup = cands["candidate_id"][cands["candidate_id"].duplicated()].tolist()
    if dup:
        msg = f"candidate ids {dup} are duplicated (ids must be unique within the parks and estates layers)"
        raise TaskingError(msg)

    # ward of each candidate: containing its representative point, else the nearest ward
    ward_geoms = np.asarray(wards.geometry.values, dtype=object)
    wtree = shapely.STRtree(ward_geoms)
    ward_codes = wards["ward_code"].astype(str).to_numpy()

    def _ward_of(pts: np.ndarray) -> np.ndarray:
        out = np.full(len(pts), "", dtype=object)
        if len(pts) == 0:
            return out
        pi, wi = wtree.query(pts, predicate="within")
        out[pi] = ward_codes[wi]
        miss = np.flatnonzero(out == "")
        if len(miss):
            out[miss] = ward_codes[wtree.nearest(pts[miss])]
        return out

    if len(cands):
        reps = shapely.point_on_surface(np.asarray(cands.geometry.values, dtype=object))
        cands["ward_code"] = _ward_of(reps)
    if add_ward_presence:
        covered = set(cands.loc[cands["place_type"].isin(["street", "estate"]), "ward_code"]) if len(cands) else set()
        extra = []
        for code, geom in zip(ward_codes, ward_geoms):
            if code not in covered:
                extra.append({"candidate_id": f"WP-{code}", "place_type": "street",
                              "name": "ward presence point", "source": "ward presence point (no hotspot in ward)",
                              "cells": "", "trend_class": None, "ward_code": code,
                              "geometry": shapely.point_on_surface(geom)})
        if extra:
            cands = pd.concat([cands, gpd.GeoDataFrame(extra, geometry="geometry", crs=wards.crs)],
                              ignore_index=True)
            cands = gpd.GeoDataFrame(cands, geometry="geometry", crs=wards.crs)
    if len(cands) == 0:
        msg = "no candidates: no hot cells, estates, parks or wards were given"
        raise TaskingError(msg)
    reps = shapely.point_on_surface(np.asarray(cands.geometry.values, dtype=object))
    cands["x"] = shapely.get_x(reps)
    cands["y"] = shapely.get_y(reps)

    # incidents -> candidate (parks first, then estates, then street patches)
    owner = np.full(len(inc), -1)
    pts = shapely.points(x, y)
    for kind in ("park", "estate", "street"):
        idx = np.flatnonzero((cands["place_type"] == kind).to_numpy() & ~cands["candidate_id"].str.startswith("WP-"))
        if len(idx) == 0:
            continue
        tree = shapely.STRtree(np.asarray(cands.geometry.values, dtype=object)[idx])
        free = np.flatnonzero(owner < 0)
        pi, gi = tree.query(pts[free], predicate="intersects")
        # first polygon per point (deterministic: lowest candidate index)
        by_pair = np.lexsort((gi, pi))
        pi, gi = pi[by_pair], gi[by_pair]
        first = np.r_[True, pi[1:] != pi[:-1]] if len(pi) else np.array([], bool)
        owner[free[pi[first]]] = idx[gi[first]]

    n = len(cands)
    n_inc = np.bincount(owner[owner >= 0], minlength=n)
    harm_week = np.bincount(owner[owner >= 0], weights=w[owner >= 0], minlength=n) / window_weeks
    if cell_harm_week is not None:
        fc = cell_harm_week.astype(float)
        for ks in np.flatnonzero((cands["place_type"] == "street").to_numpy()):
            cells = [c for c in str(cands["cells"].iloc[ks]).split(",") if c]
            if cells:
                harm_week[ks] = float(fc.reindex(cells).fillna(0.0).sum())
    cats = []
    for k in range(n):
        mine = owner == k
        if not mine.any():
            cats.append("")
            continue
        s = pd.Series(w[mine]).groupby(inc.loc[mine, CATEGORY].to_numpy()).sum().sort_values(ascending=False)
        tot = s.sum()
        cats.append(", ".join(f"{c} {v / tot:.0%}" for c, v in s.head(3).items()) if tot > 0 else
                    ", ".join(str(c) for c in s.index[:3]))
    cands["n_incidents"] = n_inc.astype(int)
    cands["expected_harm_week"] = harm_week
    cands["top_categories"] = cats

    # time split: borough profile, and each candidate's own timed incidents shrunk towards it
    prof, prof_source = borough_profile(inc, planning=planning)
    base_shares = shift_shares(prof, shifts)
    timed = None
    if OCCURRED_FROM in inc.columns and prof_source.startswith("time of day"):
        timed = inc
    k0 = planning.profile_shrinkage
    for k in range(n):
        shares = base_shares
        if timed is not None and n_inc[k] > 0:
            own = time_profile(timed[owner == k])
            m = float(own.to_numpy().sum())
            if m > 0:
                mixed = (own.to_numpy(float) + k0 * prof) / (m + k0)
                shares = shift_shares(mixed / mixed.sum(), shifts)
        for j, s in enumerate(shifts):
            for d in range(7):
                cands.loc[k, harm_column(d, s.name)] = harm_week[k] * shares[d, j]
    for s in shifts:
        cands[f"harm_{s.name}"] = cands[[harm_column(d, s.name) for d in range(7)]].sum(axis=1)

    cands["trend_multiplier"] = [planning.trend_multiplier(t if isinstance(t, str) else None)
                                 for t in cands["trend_class"]]
    labels, cmult = _concern_multipliers(cands, concerns, planning)
    cands["concerns"] = labels
    cands["concern_multiplier"] = cmult
    cands["priority"] = cands["expected_harm_week"] * cands["trend_multiplier"] * cands["concern_multiplier"]
    harm_cols = [f"harm_{s.name}" for s in shifts] + [harm_column(d, s.name) for s in shifts for d in range(7)]
    cands = cands[list(CANDIDATE_COLUMNS) + harm_cols + ["geometry"]]
    cands = gpd.GeoDataFrame(cands, geometry="geometry", crs=wards.crs)
    type_order = {"street": 0, "estate": 1, "park": 2}
    cands = cands.assign(_o=cands["place_type"].map(type_order)).sort_values(
        ["_o", "priority", "candidate_id"], ascending=[True, False, True], kind="stable").drop(columns="_o")
    cands = cands.reset_index(drop=True)
    cands.attrs = {"profile_source": prof_source, "window_weeks": float(window_weeks), "harm_index": harm_index,
                   "hotspot_method": str(hotspots["method"].iloc[0]) if len(hotspots) else None,
                   "shifts": [s.name for s in shifts], "n_incidents_unplaced": int((owner < 0).sum()),
                   "profile": prof.tolist()}
    return cands


# ----------------------------------------------------------------------------
# CCTV
# ----------------------------------------------------------------------------
def incident_window_weeks(incidents: pd.DataFrame) -> float:
    """Weeks the incidents span: their number of months x 365.25 / 12 / 7 (the plan's harm-per-week divisor).

    The CCTV page divides by the same, so its figures and the plan's are on one scale.

    Raises
    ------
    TaskingError
        If the incidents have no month column or no rows.

    Examples
    --------
    >>> round(incident_window_weeks(pd.DataFrame({"month": ["2018-05", "2018-06", "2018-06"]})), 4)
    8.6964
    """
    n_months = incidents[MONTH].astype(str).nunique() if MONTH in incidents.columns else 0
    if n_months == 0:
        msg = "window_weeks was not given and the incidents have no month column to infer it from"
        raise TaskingError(msg)
    return float(n_months * _WEEKS_PER_MONTH)


def cctv_demand(incidents: pd.DataFrame, *, monitored: Shift, planning: Planning, harm_index: HarmIndex = "cchi",
                window_weeks: float, cell_size_m: float = 50.0) -> pd.DataFrame:
    """Harm demand points for CCTV siting: weekly harm in the monitored hours per lattice cell.

    Incidents are summed into ``cell_size_m`` squares (their centres are the
    demand points); each cell's weekly harm is multiplied by the share of harm
    in the monitored hours (from timed incidents, else the default split), so
    a camera is credited only with harm in the hours someone watches.

    Returns
    -------
    pandas.DataFrame
        ``demand_id, x, y, harm_week, harm_monitored_week``; ``attrs`` has the
        monitored share and its source.
    """
    if not window_weeks > 0 or not cell_size_m > 0:
        msg = f"window_weeks ({window_weeks!r}) and cell_size_m ({cell_size_m!r}) must be positive"
        raise TaskingError(msg)
    x = pd.to_numeric(incidents[X], errors="coerce").to_numpy(float)
    y = pd.to_numeric(incidents[Y], errors="coerce").to_numpy(float)
    ok = np.isfinite(x) & np.isfinite(y)
    inc = incidents[ok].reset_index(drop=True)
    w = harm_weight(inc[CATEGORY], index=harm_index)
    col = np.floor(x[ok] / cell_size_m).astype(np.int64)
    row = np.floor(y[ok] / cell_size_m).astype(np.int64)
    df = pd.DataFrame({"col": col, "row": row, "harm": w}).groupby(["col", "row"], sort=True)["harm"].sum()
    prof, source = borough_profile(inc, planning=planning)
    share = float(shift_shares(prof, [monitored]).sum())
    out = pd.DataFrame({
        "demand_id": [f"d{c}_{r}" for c, r in df.index],
        "x": [(c + 0.5) * cell_size_m for c, _ in df.index],
        "y": [(r + 0.5) * cell_size_m for _, r in df.index],
        "harm_week": df.to_numpy() / window_weeks,
    })
    out["harm_monitored_week"] = out["harm_week"] * share
    out.attrs = {"monitored_share": share, "profile_source": source, "cell_size_m": cell_size_m}
    return out


#: The source of a stand-in camera site (no surveyed mounting site loaded).
PROPOSED_SOURCE = "proposed — needs a site survey"


def proposed_camera_sites(demand: pd.DataFrame, *, n: int = 15, cell_size_m: float = 150.0,
                   weight: str = "harm_monitored_week") -> tuple[CameraSite, ...]:
    """Stand-in camera sites at the centres of the ``n`` hottest ``cell_size_m`` cells, labelled :data:`PROPOSED_SOURCE`.

    Used when the roster holds no surveyed mounting sites, by the weekly plan and
    the CCTV page alike, so both rank and place cameras on one set of sites.
    ``demand`` is :func:`cctv_demand`'s (harm per week in the monitored hours).

    Examples
    --------
    >>> d = pd.DataFrame({"x": [10.0, 20.0, 400.0], "y": [10.0, 30.0, 10.0], "harm_monitored_week": [1.0, 2.0, 1.5]})
    >>> [(s.site_id, s.x, s.y) for s in proposed_camera_sites(d, n=1)]
    [('P-c0_0', 75.0, 75.0)]
    """
    if n < 1 or not cell_size_m > 0:
        msg = f"n ({n!r}) must be 1 or more and cell_size_m ({cell_size_m!r}) positive"
        raise TaskingError(msg)
    if demand.empty:
        return ()
    col = np.floor(demand["x"].to_numpy(float) / cell_size_m).astype(np.int64)
    row = np.floor(demand["y"].to_numpy(float) / cell_size_m).astype(np.int64)
    cells = (pd.DataFrame({"col": col, "row": row, "w": demand[weight].to_numpy(float)})
             .groupby(["col", "row"], as_index=False)["w"].sum())
    cells = cells[cells["w"] > 0].sort_values(["w", "col", "row"], ascending=[False, True, True]).head(n)
    return tuple(CameraSite(f"P-c{c}_{r}", (c + 0.5) * cell_size_m, (r + 0.5) * cell_size_m, PROPOSED_SOURCE)
                 for c, r in zip(cells["col"], cells["row"], strict=True))


def demo_camera_sites(candidates: pd.DataFrame, *, place_types: Sequence[str] = ("street", "estate")) -> tuple[CameraSite, ...]:
    """Demonstration camera sites at candidate centroids, labelled as generated.

    Real mounting sites (lamp columns with power, building fixings, sight lines)
    are the council's own survey data and are not bundled; these stand-ins let
    the CCTV siting run on the bundled data and say so in every output.
    """
    m = candidates["place_type"].isin(list(place_types)) & ~candidates["candidate_id"].astype(str).str.startswith("WP-")
    sub = candidates[m]
    return tuple(CameraSite(site_id=f"S-{cid}", x=float(cx), y=float(cy),
                            source="GENERATED for demo: candidate hotspot centroid, not a surveyed mounting site")
                 for cid, cx, cy in zip(sub["candidate_id"], sub["x"], sub["y"]))
