"""What a housing association needs on top of the council features: CCTV on schemes, repeat locations by role.

West Kent bought deployable cameras "for in-house monitoring and better
targeting of 'hot spot' areas" and plans two more "to improve surveillance of
'hot spot' areas" (West Kent Community Safety Strategy 2018-2022).  Its hot
spots are its schemes, so :func:`scheme_camera_sites` proposes one mounting
site per scheme (the point inside the scheme whose reach holds the most harm no
fixed camera covers) and :func:`scheme_cctv_ranking` ranks the schemes; the
sites go into the weekly plan's CCTV siting unchanged
(``build_cctv_problem(demand, roster=..., sites=scheme_camera_sites(...))``).
Every proposed site is labelled as needing a survey: mounting points, power
and sight lines are the landlord's own survey data.

:func:`repeat_locations_view` turns :func:`spatial.hotspots.repeats.repeat_case_locations`
into what a role may see (:mod:`tasking.access`): staff (chair, analyst) see
non-sensitive repeat locations as points with their place and categories;
repeat locations of **sensitive** cases are never points for anyone, only
counts per scheme and ward with 1-4 shown as "fewer than 5"; CCTV and partner
accounts get counts only; wardens get nothing (they see their own patrols).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Engine

from spatial.hotspots.repeats import TRIGGER_MIN_CASES, TRIGGER_WINDOW_DAYS, repeat_case_locations
from spatial.schema import ESTATE_ID, SENSITIVE, WARD_CODE

from ._errors import TaskingError
from .access import Viewer, can, require
from .resources import CameraSite, Roster

__all__ = ["SCHEME_SITE_SOURCE", "REPORT_PARTS", "RepeatView", "SchemeInputs", "SchemeReport", "scheme_camera_sites",
           "scheme_cctv_ranking", "scheme_report", "repeat_locations_view", "read_scheme_inputs", "SUPPRESS_BELOW",
           "NO_SCHEMES_LAYER", "LOAD_SCHEMES", "league_export_table"]

#: Label of a site proposed on a scheme (no mounting survey behind it).
SCHEME_SITE_SOURCE: Final = "proposed on the scheme at its hottest point - needs a site survey"
#: Sensitive counts from 1 to SUPPRESS_BELOW - 1 are shown as "fewer than 5".
SUPPRESS_BELOW: Final = 5
#: How to load a schemes layer (said whenever an area has no schemes).
LOAD_SCHEMES: Final = ("load yours with `hotspot-tasking layers estates FILE --id-column ID --name-column NAME "
                       "--homes-column HOMES`, then re-ingest the cases")
#: Why no scheme figures can be shown when the store has no schemes layer, and how to load one.
NO_SCHEMES_LAYER: Final = f"no schemes (estates) layer is loaded; {LOAD_SCHEMES}"
#: The parts of a :class:`SchemeReport` (:func:`scheme_report` ``parts``).
REPORT_PARTS: Final = ("league", "not_asb", "repeats", "cctv")


def _within(px: np.ndarray, py: np.ndarray, cx: np.ndarray, cy: np.ndarray, r: float) -> np.ndarray:
    """Boolean matrix: demand point j within ``r`` of candidate i."""
    return np.hypot(px[None, :] - cx[:, None], py[None, :] - cy[:, None]) <= r


def _fixed_cover(px: np.ndarray, py: np.ndarray, fixed: Sequence[CameraSite], r: float) -> np.ndarray:
    out = np.zeros(len(px), bool)
    for f in fixed:
        out |= np.hypot(px - float(f.x), py - float(f.y)) <= r
    return out


def scheme_cctv_ranking(schemes: gpd.GeoDataFrame, demand: pd.DataFrame, *, radius_m: float,
                        fixed: Sequence[CameraSite] = (), fixed_radius_m: float = 100.0,
                        weight: str = "harm_monitored_week") -> pd.DataFrame:
    """Schemes ranked by the harm a deployable camera at their best point would newly cover.

    Parameters
    ----------
    schemes
        The schemes (estates) layer, EPSG:27700: ``area_id, name`` (and ``homes``).
    demand
        Harm demand points (:func:`tasking.candidates.cctv_demand`): ``x, y`` and ``weight``,
        from non-sensitive incidents that are ASB under policy.
    radius_m
        The deployable camera's coverage radius.
    fixed, fixed_radius_m
        Fixed cameras and their radius: harm they cover is not counted again.

    Returns
    -------
    pandas.DataFrame
        ``rank, scheme_id, scheme_name, [homes,] harm_in_scheme, site_x, site_y,
        harm_in_reach, covered_by_fixed, uncovered_harm``; schemes with no demand
        inside have no site (``site_x`` missing) and rank last.

    Raises
    ------
    TaskingError
        If the layer lacks ``area_id``/``name``, the radius is not positive or ``weight`` is missing.
    """
    for col in ("area_id", "name"):
        if col not in schemes.columns:
            msg = f"the schemes layer lacks {col!r}; load it with `hotspot-tasking layers estates`"
            raise TaskingError(msg)
    if not radius_m > 0 or not fixed_radius_m > 0:
        msg = f"radius_m ({radius_m!r}) and fixed_radius_m ({fixed_radius_m!r}) must be positive"
        raise TaskingError(msg)
    if len(demand) and weight not in demand.columns:
        msg = f"demand lacks the weight column {weight!r}; build it with tasking.candidates.cctv_demand"
        raise TaskingError(msg)
    px = demand["x"].to_numpy(float) if len(demand) else np.zeros(0)
    py = demand["y"].to_numpy(float) if len(demand) else np.zeros(0)
    w = demand[weight].to_numpy(float) if len(demand) else np.zeros(0)
    fixed_cov = _fixed_cover(px, py, fixed, fixed_radius_m)
    rows = []
    for sid, name, geom, homes in zip(schemes["area_id"].astype(str), schemes["name"].astype(str), schemes.geometry,
                                      schemes["homes"] if "homes" in schemes.columns else [np.nan] * len(schemes),
                                      strict=True):
        inside = shapely.contains_xy(geom, px, py) if len(px) else np.zeros(0, bool)
        row: dict[str, object] = {"scheme_id": sid, "scheme_name": name, "homes": homes,
                                  "harm_in_scheme": float(w[inside].sum()), "site_x": np.nan, "site_y": np.nan,
                                  "harm_in_reach": 0.0, "covered_by_fixed": 0.0, "uncovered_harm": 0.0}
        if inside.any():
            cx, cy = px[inside], py[inside]
            reach = _within(px, py, cx, cy, radius_m)
            unc = (reach & ~fixed_cov[None, :]) @ w
            k = int(np.lexsort((cy, cx, -unc))[0])  # most uncovered harm; ties west then south
            row.update({"site_x": float(cx[k]), "site_y": float(cy[k]),
                        "harm_in_reach": float(reach[k] @ w), "covered_by_fixed": float((reach[k] & fixed_cov) @ w),
                        "uncovered_harm": float(unc[k])})
        rows.append(row)
    out = pd.DataFrame(rows, columns=["scheme_id", "scheme_name", "homes", "harm_in_scheme", "site_x", "site_y",
                                      "harm_in_reach", "covered_by_fixed", "uncovered_harm"])
    if "homes" not in schemes.columns:
        out = out.drop(columns="homes")
    has_site = out["site_x"].notna()
    out = out.assign(_s=~has_site).sort_values(["_s", "uncovered_harm", "scheme_id"], ascending=[True, False, True],
                                                kind="stable").drop(columns="_s").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out


def scheme_camera_sites(schemes: gpd.GeoDataFrame, demand: pd.DataFrame, *, radius_m: float,
                        fixed: Sequence[CameraSite] = (), fixed_radius_m: float = 100.0,
                        top: int | None = None, weight: str = "harm_monitored_week") -> tuple[CameraSite, ...]:
    """One proposed camera site per scheme with harm inside (its best point), for the CCTV siting.

    ``top`` keeps only the best-ranked schemes.  Site ids are ``S-<scheme id>``; the
    source says the site is proposed on that scheme and needs a survey.
    """
    rank = scheme_cctv_ranking(schemes, demand, radius_m=radius_m, fixed=fixed, fixed_radius_m=fixed_radius_m,
                               weight=weight)
    rank = rank[rank["site_x"].notna()]
    if top is not None:
        if top < 1:
            msg = f"top was {top!r}; give 1 or more schemes"
            raise TaskingError(msg)
        rank = rank.head(top)
    return tuple(CameraSite(f"S-{r.scheme_id}", float(r.site_x), float(r.site_y),
                            f"{SCHEME_SITE_SOURCE} ({r.scheme_name})") for r in rank.itertuples())


@dataclass(frozen=True)
class RepeatView:
    """What one role may see of the repeat locations.

    ``points``: non-sensitive repeat locations with their place (staff only; ``None``
    otherwise).  ``by_area``: counts of repeat locations per scheme and ward, split into
    non-sensitive and sensitive; sensitive counts of 1-4 read "fewer than 5" (``display``)
    with the number withheld.  ``rule``: the threshold used, to print with the table.
    """

    points: pd.DataFrame | None
    by_area: pd.DataFrame
    rule: str


_POINT_COLUMNS: Final = ("location_id", "x", "y", "location_text", "estate_id", "ward_code", "n_cases",
                         "max_in_window", "window_start", "window_end", "first", "last", "categories")


def _counts_by_area(rep: pd.DataFrame, *, sensitive: bool) -> pd.DataFrame:
    cols = [ESTATE_ID, WARD_CODE]
    if rep.empty:
        return pd.DataFrame(columns=[*cols, "kind", "repeat_locations", "cases", "display"])
    g = (rep.assign(**{c: rep[c].fillna("(none)") for c in cols}).groupby(cols, sort=True)
         .agg(repeat_locations=("location_id", "size"), cases=("n_cases", "sum")).reset_index())
    g["kind"] = "sensitive" if sensitive else "non-sensitive"
    g["repeat_locations"] = g["repeat_locations"].astype("Int64")
    g["cases"] = g["cases"].astype("Int64")
    g["display"] = g["repeat_locations"].astype(str)
    if sensitive:
        small = (g["cases"] > 0) & (g["cases"] < SUPPRESS_BELOW)
        g.loc[small, "display"] = f"fewer than {SUPPRESS_BELOW} cases"
        g.loc[small, ["repeat_locations", "cases"]] = pd.NA
    return g[[*cols, "kind", "repeat_locations", "cases", "display"]]


def repeat_locations_view(incidents: pd.DataFrame, viewer: Viewer, *, min_cases: int = TRIGGER_MIN_CASES,
                          window_days: float = TRIGGER_WINDOW_DAYS, radius_m: float = 0.0) -> RepeatView:
    """Repeat locations for the pages and the pack, filtered for ``viewer``'s role.

    Parameters
    ----------
    incidents
        Canonical incidents (sensitive ones included: they are counted, never placed).
    viewer
        The signed-in person; wardens are refused.
    min_cases, window_days, radius_m
        The repeat rule (:func:`spatial.hotspots.repeats.repeat_case_locations`).

    Raises
    ------
    AccessDenied
        For a role without aggregate access (wardens).
    """
    require(viewer, "aggregates", what="see repeat locations")
    sens = (incidents[SENSITIVE].fillna(True).astype(bool) if SENSITIVE in incidents.columns
            else pd.Series(False, index=incidents.index))
    open_rep = repeat_case_locations(incidents[~sens], min_cases=min_cases, window_days=window_days, radius_m=radius_m)
    sens_rep = repeat_case_locations(incidents[sens], min_cases=min_cases, window_days=window_days, radius_m=radius_m)
    by_area = pd.concat([_counts_by_area(open_rep, sensitive=False), _counts_by_area(sens_rep, sensitive=True)],
                        ignore_index=True)
    points = open_rep[list(_POINT_COLUMNS)].reset_index(drop=True) if can(viewer, "incident_points") else None
    return RepeatView(points=points, by_area=by_area, rule=str(open_rep.attrs["rule"]))


# ----------------------------------------------------------------------------
# The store edge: what the pages, the pack and the command line read
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class SchemeInputs:
    """A store's schemes layer, residents apportioned to it, and its incidents (sensitive and not-ASB included)."""

    schemes: gpd.GeoDataFrame
    residents: pd.Series
    incidents: pd.DataFrame
    area: str
    #: The area's policy on what is not ASB (``AreaProfile.not_asb_policy``; ``None``: not named).
    not_asb_policy: str | None = None


def read_scheme_inputs(engine: Engine, *, area: str | None = None, data_dir: Path | None = None,
                       months: Sequence[str] | None = None) -> SchemeInputs:
    """Read the schemes (``estates`` layer), the area's LSOA residents apportioned by area, and the incidents.

    Raises
    ------
    TaskingError
        When no schemes layer is loaded (with the command that loads one).
    """
    from spatial.area_profiles import area_layers, resolve_area
    from spatial.layers import stored_area_layer
    from spatial.schemes import apportion_residents
    from spatial.store.queries import incident_frame

    schemes = stored_area_layer(engine, "estates")
    if schemes is None:
        raise TaskingError(NO_SCHEMES_LAYER)
    profile = resolve_area(engine, area)
    layers = area_layers(engine, profile, data_dir=data_dir)
    lsoas = layers.lsoas
    # the layer is the store's: keep the schemes of this area (another area's schemes are not its own)
    hit = np.unique(lsoas.sindex.query(np.asarray(schemes.geometry.values, dtype=object), predicate="intersects")[0])
    if len(hit) == 0:
        msg = f"none of the {len(schemes)} loaded schemes lies in {profile.label}; {LOAD_SCHEMES}"
        raise TaskingError(msg)
    schemes = schemes.iloc[hit].reset_index(drop=True)
    pop = lsoas.set_index("lsoa_code")["population"].dropna()
    touched = lsoas[lsoas["lsoa_code"].isin(pop.index)]
    residents = apportion_residents(schemes, touched, pop)
    incidents = incident_frame(engine, include_sensitive=True, include_not_asb=True,
                               months=list(months) if months else None)
    # the area's incidents only (a store may hold several areas): in its wards, or on its schemes
    mine = incidents[WARD_CODE].isin(set(layers.wards["ward_code"].astype(str)))
    if ESTATE_ID in incidents.columns:
        mine |= incidents[ESTATE_ID].isin(set(schemes["area_id"].astype(str)))
    incidents = incidents[mine].reset_index(drop=True)
    return SchemeInputs(schemes=schemes, residents=residents, incidents=incidents, area=profile.name,
                        not_asb_policy=profile.not_asb_policy)


# ----------------------------------------------------------------------------
# One report for the command line, the Schemes page and the pack
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class SchemeReport:
    """What a housing association reads about its schemes, already filtered for one viewer.

    ``league``: one row per scheme (:func:`spatial.schemes.scheme_league`): ASB cases, harm, the
    headline ``rate`` per 1,000 of the ``denominator`` named in ``rate_basis``, sensitive counts of
    1-4 shown as "fewer than 5" in ``sensitive_display`` (with the totals that would reveal them
    withheld), and ``not_asb_reports``.  ``not_asb``: the reports kept apart as not ASB under the
    landlord's policy, per category (:func:`spatial.not_asb.not_asb_summary`; ``attrs["policy"]``
    names the policy section).  ``repeats``: :func:`repeat_locations_view` for the viewer.
    ``cctv``: :func:`scheme_cctv_ranking` (``None`` without a roster or for a role without camera
    access).  A part not asked for is ``None``.  ``sources`` are the incidents' sources;
    ``synthetic`` is true when a source, a scheme id or a scheme name says SYNTHETIC.
    """

    area: str
    months: tuple[str, ...]
    league: pd.DataFrame | None
    not_asb: pd.DataFrame | None
    n_not_asb_on_schemes: int
    repeats: RepeatView | None
    cctv: pd.DataFrame | None
    cctv_note: str
    sources: tuple[str, ...]
    synthetic: bool
    sort_by: str = "rate"


def _is_synthetic(inputs: SchemeInputs) -> bool:
    texts = [*inputs.schemes["area_id"].astype(str), *inputs.schemes["name"].astype(str)]
    if "source" in inputs.incidents.columns:
        texts += [str(v) for v in inputs.incidents["source"].dropna().unique()]
    return any("SYNTHETIC" in t.upper() for t in texts)


def scheme_report(inputs: SchemeInputs, viewer: Viewer, *, roster: Roster | None = None,
                  sort_by: Literal["harm", "count", "rate"] = "rate", parts: Collection[str] = REPORT_PARTS,
                  min_cases: int = TRIGGER_MIN_CASES, window_days: float = TRIGGER_WINDOW_DAYS,
                  radius_m: float = 0.0) -> SchemeReport:
    """The schemes league, the not-ASB reports kept apart, repeat locations and the CCTV ranking (pure).

    Parameters
    ----------
    inputs
        :func:`read_scheme_inputs`: the schemes layer, apportioned residents and every incident
        (sensitive and not-ASB ones included: they are counted, never placed).
    viewer
        The person the report is for; roles without aggregate access (wardens) are refused.
    roster
        The roster whose deployable and fixed CCTV (radius, fixed cameras, monitored hours) rank the
        schemes for a camera; without it there is no CCTV ranking.
    sort_by
        League order: ``harm``, ``count`` or ``rate`` (the headline rate).
    parts
        Which of :data:`REPORT_PARTS` to work out (the others are ``None``).
    min_cases, window_days, radius_m
        The repeat rule (:func:`repeat_locations_view`).

    Returns
    -------
    SchemeReport

    Raises
    ------
    AccessDenied
        For a role without aggregate access.
    TaskingError
        For an unknown part.
    """
    from spatial.not_asb import not_asb_summary, split_not_asb
    from spatial.schemes import scheme_league

    require(viewer, "aggregates", what="see the schemes report")
    unknown = sorted(set(parts) - set(REPORT_PARTS))
    if unknown:
        msg = f"unknown parts {unknown}; parts are {', '.join(REPORT_PARTS)}"
        raise TaskingError(msg)
    inc = inputs.incidents
    asb, apart = split_not_asb(inc)
    ids = set(inputs.schemes["area_id"].astype(str))
    on_schemes = int(apart[ESTATE_ID].astype(str).isin(ids).sum()) if ESTATE_ID in apart.columns else 0
    league = (scheme_league(inc, inputs.schemes, residents=inputs.residents, sort_by=sort_by)
              if "league" in parts else None)
    not_asb = not_asb_summary(inc, policy=inputs.not_asb_policy) if "not_asb" in parts else None
    repeats = (repeat_locations_view(asb, viewer, min_cases=min_cases, window_days=window_days, radius_m=radius_m)
               if "repeats" in parts else None)
    cctv, note = None, ""
    if "cctv" in parts:
        if roster is None:
            note = (f"the area has no roster, which gives the camera's reach and the monitored hours (make one with "
                    f"`hotspot-tasking roster init --area {inputs.area}`)")
        elif not can(viewer, "cameras"):
            note = f"the {viewer.role} role does not see camera siting"
        else:
            from .candidates import cctv_demand

            open_asb = asb[~asb[SENSITIVE].fillna(True).astype(bool)] if SENSITIVE in asb.columns else asb
            months = open_asb["month"].nunique() or 1
            demand = cctv_demand(open_asb, monitored=roster.fixed_cctv.monitored, planning=roster.planning,
                                 window_weeks=months * 52.0 / 12.0)
            cctv = scheme_cctv_ranking(inputs.schemes, demand, radius_m=roster.deployable_cctv.coverage_radius_m,
                                       fixed=roster.fixed_cctv.cameras,
                                       fixed_radius_m=roster.fixed_cctv.coverage_radius_m)
            note = (f"harm per week in the monitored hours; a deployable camera covers "
                    f"{roster.deployable_cctv.coverage_radius_m:g} m; every site is proposed and needs a site survey")
    sources = tuple(sorted(str(v) for v in inc["source"].dropna().unique())) if "source" in inc.columns else ()
    months_ = tuple(sorted(str(m) for m in inc["month"].dropna().unique())) if "month" in inc.columns else ()
    return SchemeReport(area=inputs.area, months=months_, league=league, not_asb=not_asb,
                        n_not_asb_on_schemes=on_schemes, repeats=repeats, cctv=cctv, cctv_note=note,
                        sources=sources, synthetic=_is_synthetic(inputs), sort_by=sort_by)


def league_export_table(league: pd.DataFrame) -> pd.DataFrame:
    """The league as the ``schemes league`` command prints and writes it (and the Schemes page downloads it).

    ``rank, scheme_id, scheme, asb_cases, harm, sensitive, [homes, residents,] rate_per_1000,
    rate_basis, not_asb_reports``: harm and the rate to one decimal, residents to whole people;
    the suppression of :func:`spatial.schemes.scheme_league` is kept (a withheld figure is empty).
    """
    cols = [c for c in ("rank", "area_code", "area_name", "count", "harm", "sensitive_display", "homes",
                        "residents", "rate", "rate_basis", "not_asb_reports") if c in league.columns]
    shown = league[cols].rename(columns={"area_code": "scheme_id", "area_name": "scheme", "count": "asb_cases",
                                         "sensitive_display": "sensitive", "rate": "rate_per_1000"})
    return shown.round({"harm": 1, "residents": 0, "rate_per_1000": 1})
