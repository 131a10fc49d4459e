"""The dashboard's service object: one cached object per (store, area) that every page calls.

Like a cached API client, :func:`get_service` keeps one :class:`AreaService` per
database, area, data folder and roster file (``st.cache_resource``); its methods
cache their results by the store's data version (``st.cache_data``, the service
passed unhashed and its :attr:`AreaService.key` hashed), so a new ingest, layer
or roster is picked up at the next run and an unchanged store never pays twice.
Pages never pass ``(engine, db, version, borough, data_dir)`` by hand and never
write SQL: they call :func:`page_context` (the preamble every page shared:
settings, the viewer, the engine, the area from the sidebar's picker, its
roster) and then the service's methods.

A *scope* is what a plan or a map covers, named by a key: the area's default
scope (:attr:`tasking.context.AreaContext.key`: the roster's district, or the
area's name when it spans several) or the GSS code of one district of the area.
Cached values are shared by every user of the server: nothing here depends on
who is looking, and the readers already drop or suppress sensitive rows.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import geopandas as gpd
import pandas as pd
import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from spatial._errors import HotspotError
from spatial.area_profiles import DEFAULT_AREA, AreaProfile, get_area, list_areas
from spatial.config import Settings
from spatial.store import queries as Q
from tasking import records
from tasking.access import Viewer
from tasking.context import AreaContext, context_version, open_area, roster_of
from tasking.housing import SchemeInputs, SchemeReport
from tasking.pipeline import build_recommendations, read_plan_inputs, scope_coverage
from tasking.resources import Roster
from tasking.review import WeekReview
from tasking.streets import STREET_LABELS_MAX, street_labels

from . import analysis, cached, cctv, data_admin, overview, planning, review, signin, state
from .text import md_escape

__all__ = ["AreaService", "PageContext", "area_choices", "chosen_area", "get_service", "page_context"]

Method = Literal["kde", "gistar", "dbscan"]


class AreaService:
    """"This store, this area" for the dashboard: the area context (read once per data version) and every
    cached reader the pages use.

    Parameters
    ----------
    database_url
        The store.
    area
        The area's name (bundled or created).
    data_dir
        The bundled data folder.
    roster_file
        A roster file that replaces the area's own (``HOTSPOT_ROSTER``, for the default area only); ``""``: the
        area's roster.
    """

    def __init__(self, database_url: str, area: str, data_dir: str, roster_file: str = "") -> None:
        self.engine: Engine = cached.engine(database_url)
        self.db = cached.database_key(self.engine)
        self.area = area
        self.data_dir = data_dir
        self.roster_file = roster_file
        self._contexts: dict[str, AreaContext] = {}

    @property
    def key(self) -> str:
        """The hashed part of every cache key: store, area, data folder and roster file."""
        return f"{self.db}|{self.area}|{self.data_dir}|{self.roster_file}"

    # ------------------------------------------------------------------ the context
    def version(self) -> str:
        """The store's data version and the area's stored profile (two small queries; read once per run)."""
        return context_version(self.engine, self.area)

    def context(self, version: str) -> AreaContext:
        """The area context for the store at ``version`` (re-read when the version changes)."""
        ctx = self._contexts.get(version)
        if ctx is None:
            ctx = open_area(self.engine, self.area, Path(self.data_dir), roster=self.roster_file or None)
            self._contexts = {version: ctx}  # only the newest version is kept
        return ctx

    def scope(self, version: str, scope: str | None = None) -> AreaContext:
        """The context narrowed to ``scope`` (a district code of the area, or ``None``/the default key)."""
        ctx = self.context(version)
        return ctx if scope in (None, "", ctx.key) else ctx.narrow(scope)

    # ------------------------------------------------------------------ store-wide readers (TTL-cached)
    def months(self) -> list[str]:
        """Every month with stored incidents, sensitive or not."""
        return cached.months(self.engine, self.db)

    def mappable_months(self, ward_codes: Sequence[str]) -> list[str]:
        """Months with at least one non-sensitive incident in ``ward_codes``, oldest first."""
        return cached.mappable_months(self.engine, self.db, tuple(ward_codes))

    def area_layer(self, layer: str) -> gpd.GeoDataFrame | None:
        """The council's stored ``estates`` or ``parks`` layer, or ``None`` if not loaded."""
        return cached.area_layer(self.engine, self.db, layer)

    def registered_parks(self, version: str) -> gpd.GeoDataFrame | None:
        """The bundled Historic England registered parks touching the area (``None`` when none does)."""
        parks = cached.registered_parks(self.data_dir)
        outline = self.context(version).layers.outline()
        parks = parks[parks.intersects(outline)]
        return parks if len(parks) else None

    def clear(self) -> None:
        """Forget every cached query result (after an ingest, for example)."""
        cached.clear()

    # ------------------------------------------------------------------ readers (cached by version)
    def coverage(self, version: str, scope: str | None = None) -> list[str]:
        """Months with real coverage of the scope's non-sensitive incidents, oldest first."""
        return _coverage(self, self.key, version, scope or "")

    def scopes(self, version: str) -> dict[str, list[str]]:
        """The default scope and each district of the area that has covered months: key -> months."""
        ctx = self.context(version)
        out = {ctx.key: self.coverage(version)}
        for code in ctx.profile.district_codes:
            if code != ctx.key:
                m = self.coverage(version, code)
                if m:
                    out[code] = m
        return out

    def scope_label(self, version: str, scope: str) -> str:
        """The name of a scope shown to people."""
        return self.scope(version, scope).label

    def wards(self, version: str, scope: str | None = None) -> gpd.GeoDataFrame:
        """The scope's wards (``ward_code, ward_name, borough_code, borough_name``)."""
        return self.scope(version, scope).wards

    def plan_inputs(self, version: str, months: Sequence[str] = (), latest: int = planning.PLAN_MONTHS,
                    groups: Sequence[str] = (), scope: str | None = None) -> planning.PlanInputs:
        """Non-sensitive incidents, wards, outline, parks and estates of the scope and period."""
        return _plan_inputs(self, self.key, version, scope or "", tuple(months), int(latest), tuple(groups))

    def week_plan(self, version: str, week: str, pins: Sequence[planning.PinTuple] = (),
                  exclusions: Sequence[str] = (),
                  presence: Literal["day", "week", "none"] | None = None) -> planning.PlanOutcome:
        """The week's plan (or why there is none) with the chair's pins and exclusions.

        ``presence`` overrides the roster's ward presence rule (the chair can relax it).  With pins, the
        week's plan without pins (a cache hit once the page has shown it; one level, never a chain) is
        HiGHS's starting plan, the pinned agents re-planned.
        """
        return _week_plan(self, self.key, version, week, tuple(pins), tuple(exclusions), presence)

    def hotspot_layers(self, version: str, months: Sequence[str], groups: Sequence[str], method: Method,
                       scope: str | None = None) -> analysis.HotspotLayers:
        """Ward harm, Gi*, KDE, DBSCAN and Designing Out Crime layers of the scope and period."""
        return _hotspot_layers(self, self.key, version, scope or "", tuple(months), tuple(groups), method)

    def place_panel(self, version: str, months: Sequence[str], groups: Sequence[str], method: Method,
                    candidate_id: str, scope: str | None = None) -> analysis.PlacePanel:
        """The hotspot panel of one place: its trend over every covered month."""
        return _place_panel(self, self.key, version, scope or "", tuple(months), tuple(groups), method, candidate_id)

    def plan_recommendations(self, version: str, months: Sequence[str],
                             candidate_ids: Sequence[str]) -> tuple[pd.DataFrame | None, str]:
        """Designing Out Crime advice for a plan's places (as ``recommend --plan``), for the pack."""
        return _plan_recommendations(self, self.key, version, tuple(months), tuple(candidate_ids))

    def review_incidents(self, version: str) -> pd.DataFrame:
        """Non-sensitive incidents of the scope, every month held."""
        return _review_incidents(self, self.key, version)

    def street_labels(self, version: str, bounds: Sequence[float] | None = None, limit: int = STREET_LABELS_MAX,
                      min_n: int = 1) -> pd.DataFrame:
        """Street-name label points (``street, x, y, n``, EPSG:27700) of the busiest streets inside ``bounds``,
        from the non-sensitive incidents of every district of the area (read once per version, as
        :meth:`review_incidents`), so a map of a neighbouring district or of every district is labelled too.

        ``bounds`` is rounded to whole metres so that one map's labels are one cache entry; ``min_n`` is
        ``tasking.access.street_label_floor(viewer)`` (the same labels for everyone of a role).
        """
        key_bounds = None if bounds is None else tuple(round(float(v)) for v in bounds)
        return _street_labels(self, self.key, version, key_bounds, int(limit), int(min_n))

    def review_months(self, version: str) -> dict[str, int]:
        """Month -> number of non-sensitive incidents of the scope, oldest first."""
        inc = self.review_incidents(version)
        return {str(k): int(v) for k, v in inc["month"].astype(str).value_counts().sort_index().items()}

    def review_unreliable_months(self, version: str) -> dict[str, str]:
        """Months held that a review should not lean on, each with why: probably incomplete or published low."""
        return _review_unreliable(self, self.key, version)

    def week_review(self, version: str, meeting_id: int, plan_version: int, week: str, before: tuple[str, ...],
                    after: tuple[str, ...], after_is_week: bool) -> tuple[WeekReview, gpd.GeoDataFrame]:
        """The approved plan's comparison and displacement check and its tasked places."""
        return _week_review(self, self.key, version, meeting_id, plan_version, week, before, after, after_is_week)

    def cctv_demand(self, version: str) -> tuple[pd.DataFrame, tuple[str, ...]]:
        """Harm demand points for camera siting from the plan's months, and those months."""
        return _cctv_demand(self, self.key, version)

    def site_names(self, version: str, sites: tuple[tuple[str, float, float], ...]) -> dict[str, str]:
        """Camera site id -> the streets around it and its ward (``tasking.names.camera_site_names``), from the
        plan's non-sensitive incidents, as the plan names its cameras' sites."""
        return _site_names(self, self.key, version, sites)

    def backtest_data(self, version: str) -> data_admin.BacktestData:
        """The backtest's points and grid: the scope's own months, or the bundled neighbour 12 months."""
        return _backtest_data(self, self.key, version)

    def backtest_method(self, version: str, method: str) -> pd.DataFrame:
        """One forecaster's backtest summary on :meth:`backtest_data`."""
        return _backtest_method(self, self.key, version, method)

    def scheme_inputs(self, version: str) -> tuple[SchemeInputs | None, str]:
        """The area's schemes layer, residents apportioned to it and every incident; or ``None`` and why not.

        The inputs are the same for every viewer (the role filter is :func:`tasking.housing.scheme_report`,
        run on each page run).
        """
        return _scheme_inputs(self, self.key, version)

    def pack_schemes(self, version: str, viewer: Viewer) -> SchemeReport | None:
        """The schemes report the pack carries (league, not-ASB, repeat counts), or ``None`` without schemes.

        Worked out for ``viewer`` on each call (never cached: the report is filtered by role).
        """
        from tasking.housing import scheme_report

        inputs, _ = self.scheme_inputs(version)
        return None if inputs is None else scheme_report(inputs, viewer, parts=("league", "not_asb", "repeats"))

    def forecast_choices(self, version: str) -> list[str]:
        """Which forecaster each crime group uses on :meth:`backtest_data`, one sentence each."""
        return _forecast_choices(self, self.key, version)

    def overview_months(self, version: str, source: str) -> list[str]:
        """Months the source really covers for the scope (MPS series months, or covered incident months)."""
        return _overview_months(self, self.key, version, source)

    def overview_comparison(self, version: str, source: str, first: str, last: str) -> overview.Comparison:
        """Comparison tables of ``first..last``, suppressed."""
        return _overview_comparison(self, self.key, version, source, first, last)

    def overview_trends(self, version: str, group: str, ward: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """One group's monthly count and rolling mean, and every group's rolling mean (MPS ward series)."""
        return _overview_trends(self, self.key, version, group, ward)


# ---------------------------------------------------------------------------- cached functions
# ``_svc`` is not hashed; ``key`` (store, area, data folder, roster) and ``version`` are.
@st.cache_data(max_entries=32, show_spinner=False)
def _coverage(_svc: AreaService, key: str, version: str, scope: str) -> list[str]:
    return scope_coverage(_svc.scope(version, scope or None))


@st.cache_data(max_entries=32, show_spinner=False)
def _plan_inputs(_svc: AreaService, key: str, version: str, scope: str, months: tuple[str, ...], latest: int,
                 groups: tuple[str, ...]) -> planning.PlanInputs:
    return read_plan_inputs(_svc.scope(version, scope or None), months=months or None, latest=latest,
                                     groups=groups or None)


@st.cache_data(max_entries=32, show_spinner=False)
def _week_plan(_svc: AreaService, key: str, version: str, week: str, pins: tuple[planning.PinTuple, ...],
               exclusions: tuple[str, ...],
               presence: Literal["day", "week", "none"] | None = None) -> planning.PlanOutcome:
    ctx = _svc.context(version)
    if ctx.roster is None:
        try:
            ctx.require_roster()
        except HotspotError as exc:
            return planning.PlanOutcome(plan=None, error=str(exc))
    try:
        inputs = _svc.plan_inputs(version, (), planning.PLAN_MONTHS, ())
    except HotspotError as exc:
        return planning.PlanOutcome(plan=None, error=str(exc))
    previous = _week_plan(_svc, key, version, week, (), exclusions, presence).plan if pins else None
    return planning.build_plan(inputs, roster=ctx.require_roster(), week=week, pins=pins, exclusions=exclusions,
                               presence=presence, previous=previous, choice_store=ctx.choice_store(),
                               area_key=ctx.key)


@st.cache_data(max_entries=16, show_spinner=False)
def _hotspot_layers(_svc: AreaService, key: str, version: str, scope: str, months: tuple[str, ...],
                    groups: tuple[str, ...], method: Method) -> analysis.HotspotLayers:
    inputs = _svc.plan_inputs(version, months, 1, groups, scope or None)
    population = _svc.context(version).ward_population()
    return analysis.hotspot_layers(inputs, method=method, population=population)


@st.cache_data(max_entries=64, show_spinner=False)
def _place_panel(_svc: AreaService, key: str, version: str, scope: str, months: tuple[str, ...],
                 groups: tuple[str, ...], method: Method, candidate_id: str) -> analysis.PlacePanel:
    layers = _svc.hotspot_layers(version, months, groups, method, scope or None)
    every = tuple(_svc.coverage(version, scope or None))
    inputs = _svc.plan_inputs(version, every, 1, groups, scope or None)
    return analysis.place_panel(layers, inputs.incidents, candidate_id, months=every)


@st.cache_data(max_entries=16, show_spinner=False)
def _plan_recommendations(_svc: AreaService, key: str, version: str, months: tuple[str, ...],
                          candidate_ids: tuple[str, ...]) -> tuple[pd.DataFrame | None, str]:
    inputs = _svc.plan_inputs(version, months, 1, ())
    try:
        table, _, notes = build_recommendations(inputs.incidents, area=inputs.area, wards=inputs.wards,
                                                parks=inputs.parks, estates=inputs.estates, months=months,
                                                candidate_ids=list(candidate_ids))
    except HotspotError as exc:
        return None, f"no Designing Out Crime advice in the pack: {exc}"
    return pd.DataFrame(table.drop(columns="geometry")), "; ".join(notes)


@st.cache_data(max_entries=4, show_spinner=False)
def _area_incidents(_svc: AreaService, key: str, version: str) -> pd.DataFrame:
    """Non-sensitive incidents of every district of the area (the one read behind the review and the labels)."""
    return review.review_incidents(_svc.engine, wards=_svc.context(version).layers.wards)


@st.cache_data(max_entries=8, show_spinner=False)
def _review_incidents(_svc: AreaService, key: str, version: str) -> pd.DataFrame:
    inc = _area_incidents(_svc, key, version)
    return inc[inc["ward_code"].isin(set(_svc.context(version).wards["ward_code"]))].reset_index(drop=True)


@st.cache_data(max_entries=64, show_spinner=False)
def _street_labels(_svc: AreaService, key: str, version: str, bounds: tuple[int, ...] | None, limit: int,
                   min_n: int) -> pd.DataFrame:
    return street_labels(_area_incidents(_svc, key, version), bounds=bounds, limit=limit, min_n=min_n)


@st.cache_data(max_entries=8, show_spinner=False)
def _review_unreliable(_svc: AreaService, key: str, version: str) -> dict[str, str]:
    from spatial.low_months import incident_low_months

    held = _svc.review_months(version)
    out = {m: "under a tenth of the busiest month held: probably incomplete"
           for m in review.thin_months(held, list(held))}
    for m in incident_low_months(_svc.review_incidents(version)) if len(held) >= 3 else []:
        out.setdefault(m, "far below the months either side in every category: published low")
    return dict(sorted(out.items()))


@st.cache_data(max_entries=16, show_spinner=False)
def _week_review(_svc: AreaService, key: str, version: str, meeting_id: int, plan_version: int, week: str,
                 before: tuple[str, ...], after: tuple[str, ...],
                 after_is_week: bool) -> tuple[WeekReview, gpd.GeoDataFrame]:
    plan = records.load_plan(_svc.engine, meeting_id, plan_version)
    inputs = _svc.plan_inputs(version, (), planning.PLAN_MONTHS, ())
    incidents = _svc.review_incidents(version)
    periods = review.ReviewPeriods(before=before, after=after, after_is_week=after_is_week)
    result = review.run_review(plan, incidents, week=week, periods=periods, area=inputs.area, parks=inputs.parks,
                               estates=inputs.estates)
    return result, review.tasked_places(plan, parks=inputs.parks, estates=inputs.estates)


@st.cache_data(max_entries=8, show_spinner=False)
def _cctv_demand(_svc: AreaService, key: str, version: str) -> tuple[pd.DataFrame, tuple[str, ...]]:
    ros = _svc.context(version).require_roster()
    inputs = _svc.plan_inputs(version, (), planning.PLAN_MONTHS, ())
    from tasking.candidates import incident_window_weeks

    # the plan's divisor (months x 365.25/12/7), so the page's harm per week is the plan's
    return (cctv.demand_for(inputs.incidents, roster=ros, window_weeks=incident_window_weeks(inputs.incidents)),
            inputs.months)


@st.cache_data(max_entries=8, show_spinner=False)
def _site_names(_svc: AreaService, key: str, version: str,
                sites: tuple[tuple[str, float, float], ...]) -> dict[str, str]:
    from tasking.names import camera_site_names, ward_name_map

    inputs = _svc.plan_inputs(version, (), planning.PLAN_MONTHS, ())
    cams = [{"site_id": sid, "x": x, "y": y} for sid, x, y in sites]
    return dict(zip([sid for sid, _, _ in sites],
                    camera_site_names(cams, inputs.incidents, wards=inputs.wards,
                                      ward_names=ward_name_map(inputs.wards)), strict=True))


@st.cache_data(max_entries=4, show_spinner=False)
def _scheme_inputs(_svc: AreaService, key: str, version: str) -> tuple[SchemeInputs | None, str]:
    from tasking.housing import read_scheme_inputs

    try:
        return read_scheme_inputs(_svc.engine, area=_svc.area, data_dir=Path(_svc.data_dir)), ""
    except HotspotError as exc:
        return None, str(exc)


@st.cache_data(max_entries=4, show_spinner=False)
def _backtest_data(_svc: AreaService, key: str, version: str) -> data_admin.BacktestData:
    ctx = _svc.context(version)
    months = _svc.coverage(version)
    incidents = _svc.review_incidents(version) if months else pd.DataFrame()
    return data_admin.backtest_data(incidents, borough_outline=ctx.outline, borough_name=ctx.label, months=months,
                                    data_dir=Path(_svc.data_dir))


@st.cache_data(max_entries=32, show_spinner=False)
def _backtest_method(_svc: AreaService, key: str, version: str, method: str) -> pd.DataFrame:
    return data_admin.run_backtest(_svc.backtest_data(version), methods=[method])


@st.cache_data(max_entries=16, show_spinner=False)
def _forecast_choices(_svc: AreaService, key: str, version: str) -> list[str]:
    return data_admin.forecast_choices(_svc.backtest_data(version))


@st.cache_data(max_entries=4, show_spinner=False)
def _mps_series(_svc: AreaService, key: str, version: str) -> pd.DataFrame:
    return overview.mps_ward_series(Q.area_counts(_svc.engine, area_type="ward"))


@st.cache_data(max_entries=16, show_spinner=False)
def _overview_months(_svc: AreaService, key: str, version: str, source: str) -> list[str]:
    wards_ = _svc.context(version).wards
    if source == "mps":
        series = _mps_series(_svc, key, version)
        mine = series[series["area_code"].isin(set(wards_["ward_code"]))]
        return sorted(mine["month"].astype(str).unique())
    return overview.covered_months(overview.month_counts(_svc.engine, ward_codes=list(wards_["ward_code"])))


@st.cache_data(max_entries=16, show_spinner=False)
def _ward_imd(_svc: AreaService, key: str, version: str) -> pd.Series:
    return overview.ward_imd(_svc.context(version).wards, data_dir=Path(_svc.data_dir))


@st.cache_data(max_entries=32, show_spinner=False)
def _overview_comparison(_svc: AreaService, key: str, version: str, source: str, first: str,
                         last: str) -> overview.Comparison:
    ctx = _svc.context(version)
    wards_ = ctx.wards
    names = dict(zip(wards_["ward_code"], wards_["ward_name"], strict=True))
    months_ = _svc.overview_months(version, source)
    population = ctx.ward_population()
    imd = _ward_imd(_svc, key, version)
    if source == "mps":
        return overview.build_comparison(source="mps", first=first, last=last, ward_names=names,
                                         months_with_data=months_, series=_mps_series(_svc, key, version),
                                         population=population, imd=imd)
    periods = overview.comparison_periods(first, last)
    wanted = sorted(set(periods.this) | set(periods.previous) | set(periods.last_year))
    incidents = Q.incident_frame(_svc.engine, include_sensitive=True, months=wanted)
    return overview.build_comparison(source="incidents", first=first, last=last, ward_names=names,
                                     months_with_data=months_, incidents=incidents, population=population, imd=imd,
                                     low_months=ctx.low_months())


@st.cache_data(max_entries=64, show_spinner=False)
def _overview_trends(_svc: AreaService, key: str, version: str, group: str,
                     ward: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    series = _mps_series(_svc, key, version)
    series = series[series["area_code"].isin(set(_svc.context(version).wards["ward_code"]))]
    code = None if ward == overview.BOROUGH else ward
    return overview.trend_series(series, group=group, ward=code), overview.group_trends(series, ward=code)


# ---------------------------------------------------------------------------- the service and the page context
@st.cache_resource(show_spinner=False)
def get_service(database_url: str, area: str, data_dir: str, roster_file: str) -> AreaService:
    """The one service object of (store, area, data folder, roster file), shared by every session."""
    return AreaService(database_url, area, data_dir, roster_file)


def area_choices(engine: Engine) -> list[AreaProfile]:
    """Every area of the store (bundled first, then created ones by name)."""
    return [p for p, _ in list_areas(engine)]


def chosen_area(engine: Engine, session: MutableMapping[str, object], *, agent_id: str | None = None) -> str:
    """The area the session shows: its remembered choice when still an area, else the area whose roster holds
    the signed-in warden's ``agent_id`` (a West Kent patrol officer in a store whose active area is RBKC lands on
    West Kent), else the store's active area."""
    areas = list_areas(engine)
    names = [p.name for p, _ in areas]
    current = session.get(state.AREA)
    if isinstance(current, str) and current in names:
        return current
    active = next((p.name for p, a in areas if a), DEFAULT_AREA)
    home = agent_area(engine, agent_id, areas=areas) if agent_id else None
    chosen = home.name if home is not None else active
    session[state.AREA] = chosen
    return chosen


def agent_area(engine: Engine, agent_id: str, *,
               areas: Sequence[tuple[AreaProfile, bool]] | None = None) -> AreaProfile | None:
    """The first area of the store (the active one first) whose roster holds ``agent_id``; ``None`` when none does.

    ``areas`` is :func:`spatial.area_profiles.list_areas` when the caller has it already.  An area whose roster
    cannot be read is passed over here: its pages say why when it is opened.
    """
    for profile, _ in sorted(list_areas(engine) if areas is None else areas, key=lambda pa: not pa[1]):
        try:
            roster = roster_of(get_area(engine, profile.name), _roster_override(profile.name) or None)
        except HotspotError:
            continue
        if roster is not None and any(a.agent_id == agent_id for a in roster.agents):
            return profile
    return None


def _remember_area() -> None:
    st.session_state[state.AREA] = st.session_state[state.AREA_INPUT]


def area_picker(engine: Engine, *, agent_id: str | None = None) -> str:
    """The sidebar's area picker (areas from the store); the choice is remembered in the session.

    ``agent_id`` (a warden's account) starts the session on the area whose roster holds it.
    """
    session = st.session_state
    profiles = area_choices(engine)
    name = chosen_area(engine, session, agent_id=agent_id)
    if len(profiles) > 1:
        labels = {p.name: p.label for p in profiles}
        session[state.AREA_INPUT] = name
        with st.sidebar:
            st.selectbox("Area", list(labels), key=state.AREA_INPUT, format_func=labels.__getitem__,
                         on_change=_remember_area,
                         help="The area every page shows (hotspot-tasking area list; make your own with "
                              "hotspot-tasking area create).")
    return name


@dataclass(frozen=True)
class PageContext:
    """What every page starts from: settings, the viewer, the store, the area's service and this run's version."""

    settings: Settings
    viewer: Viewer
    engine: Engine
    service: AreaService
    version: str
    area: AreaContext

    @property
    def roster(self) -> Roster | None:
        """The area's roster (``None`` when it has none)."""
        return self.area.roster

    @property
    def borough(self) -> str:
        """The key the area's plans and meetings are stored under (the roster's district for RBKC)."""
        return self.area.key

    @property
    def data_dir(self) -> str:
        return self.service.data_dir

    def require_roster(self) -> Roster:
        """The roster, or stop the page saying how to make one."""
        if self.area.roster is None:
            st.warning(f"The area {md_escape(self.area.label)} has no roster yet, so there is nothing to plan. "
                       f"Make a starter roster with `hotspot-tasking roster init --area {self.area.name}` "
                       "(one patrol officer per ward, every number an assumption), then reload this page.")
            st.stop()
        return self.area.roster


def run_viewer() -> Viewer | None:
    """The viewer app.py read for this run (read once), else read now (a page run on its own)."""
    v = st.session_state.get(state.RUN_VIEWER)
    return v if isinstance(v, Viewer) else signin.current_viewer()


def _roster_override(area: str) -> str:
    """``HOTSPOT_ROSTER`` applies to the default (RBKC) area only: every other area has its own roster."""
    if area != DEFAULT_AREA:
        return ""
    return planning.roster_path()


def page_context(page: str, title: str) -> PageContext:
    """The preamble of every page: title, the viewer (stopping when they may not open it), the store, the area
    picked in the sidebar and its service; stops the page with a clear error when the store or the area cannot
    be opened."""
    settings = cached.settings()
    st.title(title)
    viewer = signin.page_viewer(page, viewer=run_viewer())
    try:
        engine = cached.engine(settings.database_url)
    except (HotspotError, SQLAlchemyError) as exc:
        st.error(f"Cannot open the database set by DATABASE_URL: {md_escape(exc)}")
        st.stop()
    try:
        area = area_picker(engine, agent_id=viewer.agent_id)
        svc = get_service(settings.database_url, area, str(settings.data_dir), _roster_override(area))
        version = svc.version()
        ctx = svc.context(version)
    except HotspotError as exc:
        st.error(f"Cannot open the area or its roster: {md_escape(exc)}")
        st.stop()
    return PageContext(settings=settings, viewer=viewer, engine=engine, service=svc, version=version, area=ctx)
