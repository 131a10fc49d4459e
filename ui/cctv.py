"""CCTV planning helpers (pure): harm demand, sites ranked by uncovered harm, what-if placement, redeploy list.

No Streamlit, database or clock here.  The harm demand is the allocation's
(:func:`tasking.candidates.cctv_demand`: weekly harm in the control room's
monitored hours on 50 m cells, from non-sensitive incidents), and coverage is
the allocation's rule: a demand point is covered when a camera is within the
coverage radius (:mod:`tasking.allocation`, a maximal covering location
problem after Church & ReVelle 1974).  Harm already within reach of a fixed
camera is "covered" and never counted again for a deployable camera.

Camera sites and fixed camera positions are council data (the roster's
``deployable_cctv.sites`` and ``fixed_cctv.cameras``; see
``tasking/data/README.md``).  Without sites, the page and the weekly plan both
use :func:`tasking.candidates.proposed_camera_sites` (here ``proposed_sites``):
stand-ins at the centres of the 15 hottest 150 m cells of monitored-hours
harm, labelled :data:`PROPOSED_SOURCE`, so the page ranks the sites the plan
places cameras on, on the same harm scale.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
import shapely

from tasking._errors import TaskingError
from tasking.allocation import iso_week_dates
from tasking.candidates import PROPOSED_SOURCE, cctv_demand
from tasking.candidates import proposed_camera_sites as proposed_sites
from tasking.resources import CameraSite, DeployedCamera, Roster

__all__ = ["PROPOSED_SOURCE", "ROSTER_EXAMPLE", "DEPLOYED_COLUMNS", "WhatIf", "demand_for", "proposed_sites",
           "covered", "site_ranking", "what_if", "read_deployed", "weeks_served", "redeploy_list"]

#: Source label of a site proposed at a hot cell centre (no mounting survey behind it).
#: Columns of the deployed-cameras CSV (as ``hotspot-tasking allocate --deployed``); ``x``, ``y`` optional.
DEPLOYED_COLUMNS: Final = ("camera_id", "site_id", "since_week")
#: How to add camera sites to a roster file (shown on the page when none are loaded).
ROSTER_EXAMPLE: Final = """deployable_cctv:
  cameras: 6
  min_deployment_weeks: 4
  lead_time_weeks: 1
  coverage_radius_m: 100
  sites:                       # surveyed mounting sites, EPSG:27700 metres
    - {id: S-01, x: 525210, y: 181020, source: "lamp column LC123, power checked"}
    - {id: S-02, x: 524860, y: 178530}
fixed_cctv:
  monitored_start: "15:00"
  monitored_end: "01:00"
  coverage_radius_m: 100
  cameras:                     # fixed public-space cameras
    - {id: F-01, x: 525100, y: 178400}
"""


def demand_for(incidents: pd.DataFrame, *, roster: Roster, window_weeks: float) -> pd.DataFrame:
    """Harm demand points for camera siting, exactly as the weekly plan builds them (``cctv_demand``).

    ``incidents`` must be non-sensitive and limited to the borough and period;
    ``window_weeks`` is the period's length.  Columns ``demand_id, x, y,
    harm_week, harm_monitored_week``.
    """
    return cctv_demand(incidents, monitored=roster.fixed_cctv.monitored, planning=roster.planning,
                       window_weeks=window_weeks)


def covered(demand: pd.DataFrame, xy: Sequence[tuple[float, float]], radius_m: float) -> np.ndarray:
    """Boolean per demand point: within ``radius_m`` of at least one of the points ``xy``.

    Examples
    --------
    >>> d = pd.DataFrame({"x": [0.0, 150.0], "y": [0.0, 0.0]})
    >>> covered(d, [(0.0, 99.0)], 100.0).tolist()
    [True, False]
    """
    out = np.zeros(len(demand), bool)
    if len(demand) == 0 or not len(xy):
        return out
    pts = shapely.points(demand["x"].to_numpy(float), demand["y"].to_numpy(float))
    tree = shapely.STRtree(shapely.points(np.asarray([p[0] for p in xy], float), np.asarray([p[1] for p in xy], float)))
    pi, _ = tree.query(pts, predicate="dwithin", distance=float(radius_m))
    out[pi] = True
    return out


def _xy(sites: Sequence[CameraSite]) -> list[tuple[float, float]]:
    return [(float(s.x), float(s.y)) for s in sites]


def site_ranking(demand: pd.DataFrame, sites: Sequence[CameraSite], *, fixed: Sequence[CameraSite],
                 radius_m: float, fixed_radius_m: float, weight: str = "harm_monitored_week") -> pd.DataFrame:
    """Candidate sites ranked by the harm in their reach that no fixed camera covers (per week, monitored hours).

    Returns
    -------
    pandas.DataFrame
        ``rank, site_id, x, y, source, harm_in_reach, covered_by_fixed, uncovered_harm``, highest
        ``uncovered_harm`` first (ties by site id).
    """
    w = demand[weight].to_numpy(float) if len(demand) else np.zeros(0)
    fixed_cov = covered(demand, _xy(fixed), fixed_radius_m)
    rows = []
    for s in sites:
        reach = covered(demand, [(float(s.x), float(s.y))], radius_m)
        rows.append({"site_id": s.site_id, "x": float(s.x), "y": float(s.y), "source": s.source,
                     "harm_in_reach": float(w[reach].sum()), "covered_by_fixed": float(w[reach & fixed_cov].sum()),
                     "uncovered_harm": float(w[reach & ~fixed_cov].sum())})
    out = pd.DataFrame(rows, columns=["site_id", "x", "y", "source", "harm_in_reach", "covered_by_fixed",
                                      "uncovered_harm"])
    out = out.sort_values(["uncovered_harm", "site_id"], ascending=[False, True], kind="stable").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out


@dataclass(frozen=True)
class WhatIf:
    """Harm per week (monitored hours) covered and uncovered with a set of deployable cameras."""

    total: float
    covered_fixed: float
    covered_cameras: float
    uncovered: float
    #: Per chosen camera: ``site_id, x, y, harm_in_reach, adds`` (``adds`` = covered by this camera and no
    #: fixed or earlier-listed camera).
    per_camera: pd.DataFrame


def what_if(demand: pd.DataFrame, cameras: Sequence[tuple[str, float, float]], *, fixed: Sequence[CameraSite],
            radius_m: float, fixed_radius_m: float, weight: str = "harm_monitored_week") -> WhatIf:
    """Covered and uncovered harm with deployable cameras at ``cameras`` (``(site_id, x, y)``) plus the fixed ones.

    Examples
    --------
    >>> d = pd.DataFrame({"x": [0.0, 500.0, 1000.0], "y": [0.0, 0.0, 0.0], "harm_monitored_week": [1.0, 2.0, 4.0]})
    >>> r = what_if(d, [("A", 1000.0, 50.0)], fixed=[CameraSite("F", 0.0, 0.0)], radius_m=100, fixed_radius_m=100)
    >>> r.total, r.covered_fixed, r.covered_cameras, r.uncovered
    (7.0, 1.0, 4.0, 2.0)
    """
    w = demand[weight].to_numpy(float) if len(demand) else np.zeros(0)
    fixed_cov = covered(demand, _xy(fixed), fixed_radius_m)
    so_far = fixed_cov.copy()
    rows = []
    for sid, x, y in cameras:
        reach = covered(demand, [(float(x), float(y))], radius_m)
        rows.append({"site_id": sid, "x": float(x), "y": float(y), "harm_in_reach": float(w[reach].sum()),
                     "adds": float(w[reach & ~so_far].sum())})
        so_far |= reach
    total = float(w.sum())
    cf = float(w[fixed_cov].sum())
    cc = float(w[so_far & ~fixed_cov].sum())
    return WhatIf(total=total, covered_fixed=cf, covered_cameras=cc, uncovered=total - cf - cc,
                  per_camera=pd.DataFrame(rows, columns=["site_id", "x", "y", "harm_in_reach", "adds"]))


def read_deployed(data: bytes, *, name: str, sites: Sequence[CameraSite] = ()) -> list[DeployedCamera]:
    """Deployed cameras from CSV bytes ``camera_id, site_id, since_week[, x, y]`` (``allocate --deployed``).

    A camera at a site not in ``sites`` needs ``x`` and ``y`` (EPSG:27700).

    Raises
    ------
    TaskingError
        Naming the file, the row (1 = first data row) and the column at fault.
    """
    try:
        df = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        msg = f"{name}: not a readable CSV ({exc}); expected columns {', '.join(DEPLOYED_COLUMNS)}[, x, y]"
        raise TaskingError(msg) from exc
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in DEPLOYED_COLUMNS if c not in df.columns]
    if missing:
        msg = f"{name}: columns {missing} are missing; got {list(df.columns)} (expected camera_id, site_id, " \
              "since_week and optionally x, y)"
        raise TaskingError(msg)
    known = {s.site_id for s in sites}
    out = []
    for i, r in enumerate(df.to_dict(orient="records"), start=1):
        for c in DEPLOYED_COLUMNS:
            if not str(r[c]).strip():
                msg = f"{name}: row {i}, column {c} is empty"
                raise TaskingError(msg)
        week = str(r["since_week"]).strip()
        try:
            iso_week_dates(week)
        except TaskingError as exc:
            msg = f"{name}: row {i}, column since_week: {exc}"
            raise TaskingError(msg) from exc
        xy: list[float | None] = []
        for c in ("x", "y"):
            v = str(r.get(c, "")).strip()
            if not v:
                xy.append(None)
                continue
            try:
                xy.append(float(v))
            except ValueError:
                msg = f"{name}: row {i}, column {c} is {v!r}, not a number (EPSG:27700 metres)"
                raise TaskingError(msg) from None
        site = str(r["site_id"]).strip()
        if site not in known and (xy[0] is None or xy[1] is None):
            msg = (f"{name}: row {i}, column site_id: {site!r} is not a site of the roster; give its x and y "
                   "(EPSG:27700) in the file")
            raise TaskingError(msg)
        out.append(DeployedCamera(str(r["camera_id"]).strip(), site, week, xy[0], xy[1]))
    ids = [c.camera_id for c in out]
    dup = sorted({c for c in ids if ids.count(c) > 1})
    if dup:
        msg = f"{name}: column camera_id has duplicates {dup}; one row per camera"
        raise TaskingError(msg)
    return out


def weeks_served(since_week: str, week: str) -> int:
    """Whole weeks from ``since_week`` to ``week``.

    Examples
    --------
    >>> weeks_served("2026-W45", "2026-W49"), weeks_served("2026-W53", "2027-W01")
    (4, 1)
    """
    return (iso_week_dates(week)[0] - iso_week_dates(since_week)[0]).days // 7


def redeploy_list(demand: pd.DataFrame, deployed: Sequence[DeployedCamera], sites: Sequence[CameraSite], *,
                  fixed: Sequence[CameraSite], week: str, min_deployment_weeks: int, radius_m: float,
                  fixed_radius_m: float, weight: str = "harm_monitored_week") -> pd.DataFrame:
    """Deployed cameras against free sites: which camera could move where, and what it would gain.

    A camera's catch is the harm in its reach not covered by a fixed camera.
    A site's catch is the harm in its reach covered neither by a fixed camera
    nor by a deployed camera that stays.  Cameras that have served their
    minimum term are paired, lowest catch first, with the free sites of
    highest catch, while the site catches more than the camera does now
    (a greedy pairing, shown with both figures so the chair can judge).

    Returns
    -------
    pandas.DataFrame
        ``camera_id, site_id, weeks_served, can_move, catch_now, move_to, catch_there, gain, advice``.
    """
    pos = {s.site_id: s for s in sites}
    w = demand[weight].to_numpy(float) if len(demand) else np.zeros(0)
    fixed_cov = covered(demand, _xy(fixed), fixed_radius_m)
    rows = []
    for cam in deployed:
        s = pos.get(cam.site_id)
        x, y = (cam.x, cam.y) if s is None else (s.x, s.y)
        if x is None or y is None:
            msg = f"deployed camera {cam.camera_id} is at site {cam.site_id!r}, which has no position; give x and y"
            raise TaskingError(msg)
        served = weeks_served(cam.since_week, week)
        if served < 0:
            msg = f"deployed camera {cam.camera_id} is dated {cam.since_week}, after the week {week}"
            raise TaskingError(msg)
        reach = covered(demand, [(float(x), float(y))], radius_m)
        rows.append({"camera_id": cam.camera_id, "site_id": cam.site_id, "x": float(x), "y": float(y),
                     "weeks_served": served, "can_move": served >= min_deployment_weeks,
                     "catch_now": float(w[reach & ~fixed_cov].sum())})
    cams = pd.DataFrame(rows, columns=["camera_id", "site_id", "x", "y", "weeks_served", "can_move", "catch_now"])
    staying = cams[~cams["can_move"]] if len(cams) else cams
    taken = fixed_cov | covered(demand, list(zip(staying["x"], staying["y"], strict=True)), radius_m)
    occupied = set(cams["site_id"])
    free = []
    for s in sites:
        if s.site_id in occupied:
            continue
        reach = covered(demand, [(float(s.x), float(s.y))], radius_m)
        free.append((float(w[reach & ~taken].sum()), s.site_id))
    free.sort(key=lambda t: (-t[0], t[1]))
    out = []
    movable = cams[cams["can_move"]].sort_values(["catch_now", "camera_id"]) if len(cams) else cams
    k = 0
    for _, c in movable.iterrows():
        if k < len(free) and free[k][0] > c["catch_now"]:
            there, sid = free[k]
            k += 1
            out.append({**c.to_dict(), "move_to": sid, "catch_there": there, "gain": there - c["catch_now"],
                        "advice": f"move: {sid} would catch {there:.1f} against {c['catch_now']:.1f} now "
                                  "(site survey, Surveillance Camera Code and DPIA check first)"})
        else:
            out.append({**c.to_dict(), "move_to": "", "catch_there": math.nan, "gain": math.nan,
                        "advice": "keep: no free site would catch more harm"})
    for _, c in (cams[~cams["can_move"]] if len(cams) else cams).iterrows():
        out.append({**c.to_dict(), "move_to": "", "catch_there": math.nan, "gain": math.nan,
                    "advice": f"stays: inside its minimum term ({int(c['weeks_served'])} of {min_deployment_weeks} "
                              "weeks served)"})
    cols = ["camera_id", "site_id", "weeks_served", "can_move", "catch_now", "move_to", "catch_there", "gain",
            "advice"]
    return pd.DataFrame(out, columns=[*cols, "x", "y"])[cols].reset_index(drop=True)
