"""Every Streamlit cache wrapper of the dashboard, and nothing else.

The engine is a shared resource keyed on the database URL
(``st.cache_resource``).  Queries are cached with ``st.cache_data`` (each
caller gets its own copy); the engine is passed as ``_engine`` (not hashed)
together with its URL, which *is* hashed, so two databases never share a
cache entry.  Cached values are shared by every user of the server: nothing
here depends on who is looking, and the queries already drop or suppress
sensitive rows.  Entries expire after :data:`TTL_SECONDS` so newly ingested
data appears without a restart; :func:`clear` drops them at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal

import geopandas as gpd
import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from spatial import datasets
from spatial._errors import HotspotError
from spatial.config import Settings
from spatial.hotspots import load_population
from spatial.layers import stored_area_layer
from spatial.store import connect
from spatial.store import queries as Q
from tasking import records
from tasking.pipeline import build_recommendations
from tasking.resources import Roster, load_roster
from tasking.review import WeekReview

from . import analysis, cctv, data_admin, overview, planning, review

__all__ = ["TTL_SECONDS", "settings", "engine", "database_key", "months", "mappable_months", "wards", "area_layer",
           "registered_parks", "clear", "data_version", "roster_path",
           "roster", "coverage", "plan_inputs", "week_plan", "hotspot_layers", "plan_recommendations",
           "review_incidents", "review_months", "week_review", "cctv_demand",
           "backtest_data", "backtest_method", "forecast_choices",
           "overview_months", "overview_comparison", "overview_trends", "borough_coverage", "place_panel"]

#: Seconds a cached query result is reused before it is read again.
TTL_SECONDS: Final = 300


def settings() -> Settings:
    """Settings from the environment (``DATABASE_URL``, ``HOTSPOT_DATA_DIR``), read on every run."""
    return Settings()


@st.cache_resource(show_spinner=False)
def engine(database_url: str) -> Engine:
    """The SQLAlchemy engine of ``database_url``, migrated, shared by every session."""
    return connect(database_url)


def database_key(eng: Engine) -> str:
    """The hashed cache key of an engine: its URL without the password."""
    return eng.url.render_as_string(hide_password=True)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def months(_engine: Engine, db: str) -> list[str]:
    """Every month with stored incidents, sensitive or not (``months_available``)."""
    return Q.months_available(_engine)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def mappable_months(_engine: Engine, db: str, ward_codes: tuple[str, ...]) -> list[str]:
    """Months with at least one non-sensitive incident in ``ward_codes``, oldest first."""
    return Q.months_available(_engine, include_sensitive=False, ward_codes=list(ward_codes))


# map_points: read through tasking.access.map_points (role checked on every run)


# ward_counts: read through tasking.access.ward_counts (role checked on every run)


@st.cache_data(show_spinner=False)
def wards(boroughs: tuple[str, ...], data_dir: str) -> gpd.GeoDataFrame:
    """Bundled ward polygons of ``boroughs`` (EPSG:27700)."""
    return datasets.load_wards(boroughs, data_dir=data_dir)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def area_layer(_engine: Engine, db: str, layer: str) -> gpd.GeoDataFrame | None:
    """The council's stored ``estates`` or ``parks`` layer, or ``None`` if not loaded."""
    return stored_area_layer(_engine, layer)


@st.cache_data(show_spinner=False)
def registered_parks(data_dir: str) -> gpd.GeoDataFrame:
    """The four bundled Historic England registered parks and gardens (a reference layer)."""
    return datasets.load_registered_parks(data_dir=data_dir)


# ----------------------------------------------------------------------------
# tasking and hotspots: keyed on the store's data version
# ----------------------------------------------------------------------------
# Every argument is passed positionally by the pages and none has a default:
# Streamlit keys a cached call on the arguments as passed, so a default left
# out would make a second cache entry for the same result.
#
# These results are keyed on ``version`` (:func:`data_version`, read on every
# run) instead of a TTL: a new ingest or layer changes the version, so the
# next run recomputes, and an unchanged store never pays for a plan twice.


def data_version(eng: Engine) -> str:
    """The store's data version (``ui.planning.data_version``), read on every run (two small queries)."""
    return planning.data_version(eng)


def roster_path() -> str:
    """The roster file (``HOTSPOT_ROSTER`` or the bundled RBKC roster), read on every run."""
    return planning.roster_path()


@st.cache_data(show_spinner=False)
def roster(path: str) -> Roster:
    """The roster in ``path`` (``tasking.resources.load_roster``)."""
    return load_roster(path)


@st.cache_data(max_entries=16, show_spinner=False)
def coverage(_engine: Engine, db: str, version: str, borough: str, data_dir: str) -> list[str]:
    """Months with real coverage of the borough's non-sensitive incidents (``ui.planning.coverage``)."""
    return planning.coverage(_engine, borough=borough, data_dir=Path(data_dir))


@st.cache_data(max_entries=16, show_spinner=False)
def plan_inputs(_engine: Engine, db: str, version: str, borough: str, data_dir: str, months: tuple[str, ...],
                latest: int, groups: tuple[str, ...]) -> planning.PlanInputs:
    """Non-sensitive incidents, wards, outline, parks and estates of a borough and period (``read_inputs``).

    ``months`` empty means the latest ``latest`` months with real coverage; ``groups`` empty means all.
    """
    return planning.read_inputs(_engine, borough=borough, data_dir=Path(data_dir), months=months or None,
                                latest=latest, groups=groups or None)


@st.cache_data(max_entries=32, show_spinner=False)
def week_plan(_engine: Engine, db: str, version: str, data_dir: str, roster_file: str, week: str,
              pins: tuple[planning.PinTuple, ...], exclusions: tuple[str, ...],
              presence: Literal["day", "week", "none"] = "day") -> planning.PlanOutcome:
    """The week's plan (or why there is none) with the chair's pins and exclusions (``build_plan``).

    Keyed on the store (``db``, ``version``), the roster file, the week, the
    pins and the exclusions; an infeasible pin's message is cached too, so
    reruns do not solve again.  With pins, the week's plan without pins (a
    cache hit once the page has shown it; one level, never a chain) is HiGHS's
    starting plan, the pinned agents re-planned.
    """
    ros = roster(roster_file)
    try:
        inputs = plan_inputs(_engine, db, version, ros.borough_code, data_dir, (), planning.PLAN_MONTHS, ())
    except HotspotError as exc:
        return planning.PlanOutcome(plan=None, error=str(exc))
    previous = (week_plan(_engine, db, version, data_dir, roster_file, week, (), exclusions, presence).plan
                if pins else None)
    return planning.build_plan(inputs, roster=ros, week=week, pins=pins, exclusions=exclusions, presence=presence,
                               previous=previous)


@st.cache_data(max_entries=16, show_spinner=False)
def hotspot_layers(_engine: Engine, db: str, version: str, borough: str, data_dir: str, months: tuple[str, ...],
                   groups: tuple[str, ...], method: Literal["kde", "gistar", "dbscan"]) -> analysis.HotspotLayers:
    """Ward harm, Gi*, KDE, DBSCAN and Designing Out Crime layers (``ui.analysis.hotspot_layers``)."""
    inputs = plan_inputs(_engine, db, version, borough, data_dir, months, 1, groups)
    population = load_population("ward", data_dir=Path(data_dir))
    return analysis.hotspot_layers(inputs, method=method, population=population)


@st.cache_data(max_entries=8, show_spinner=False)
def borough_coverage(_engine: Engine, db: str, version: str, data_dir: str) -> dict[str, list[str]]:
    """Months with real coverage per bundled demo borough (RBKC, Westminster, H&F) that has any."""
    out = {b: coverage(_engine, db, version, b, data_dir) for b in datasets.DEMO_BOROUGHS}
    return {b: m for b, m in out.items() if m}


@st.cache_data(max_entries=64, show_spinner=False)
def place_panel(_engine: Engine, db: str, version: str, borough: str, data_dir: str, months: tuple[str, ...],
                groups: tuple[str, ...], method: Literal["kde", "gistar", "dbscan"],
                candidate_id: str) -> analysis.PlacePanel:
    """The hotspot panel of one place (``ui.analysis.place_panel``): its trend over every covered month."""
    layers = hotspot_layers(_engine, db, version, borough, data_dir, months, groups, method)
    every = tuple(coverage(_engine, db, version, borough, data_dir))
    inputs = plan_inputs(_engine, db, version, borough, data_dir, every, 1, groups)
    return analysis.place_panel(layers, inputs.incidents, candidate_id, months=every)


@st.cache_data(max_entries=16, show_spinner=False)
def plan_recommendations(_engine: Engine, db: str, version: str, borough: str, data_dir: str,
                         months: tuple[str, ...], candidate_ids: tuple[str, ...]) -> tuple[pd.DataFrame | None, str]:
    """Designing Out Crime advice for a plan's places (as ``recommend --plan``), for the pack.

    Returns ``(table, note)``; ``table`` is None when no advice can be given
    and ``note`` then says why (the page shows it; the pack says "no recommendations").
    """
    inputs = plan_inputs(_engine, db, version, borough, data_dir, months, 1, ())
    try:
        table, _, notes = build_recommendations(inputs.incidents, area=inputs.area, wards=inputs.wards,
                                                parks=inputs.parks, estates=inputs.estates, months=months,
                                                candidate_ids=list(candidate_ids))
    except HotspotError as exc:
        return None, f"no Designing Out Crime advice in the pack: {exc}"
    return pd.DataFrame(table.drop(columns="geometry")), "; ".join(notes)


# ----------------------------------------------------------------------------
# review of a finished week (keyed on the data version; patrol logs are read fresh by the page)
# ----------------------------------------------------------------------------
@st.cache_data(max_entries=8, show_spinner=False)
def review_incidents(_engine: Engine, db: str, version: str, borough: str, data_dir: str) -> pd.DataFrame:
    """Non-sensitive incidents of the borough, every month held (``ui.review.review_incidents``)."""
    return review.review_incidents(_engine, wards=wards((borough,), data_dir))


@st.cache_data(max_entries=8, show_spinner=False)
def review_months(_engine: Engine, db: str, version: str, borough: str, data_dir: str) -> dict[str, int]:
    """Month -> number of non-sensitive incidents of the borough, oldest first."""
    inc = review_incidents(_engine, db, version, borough, data_dir)
    return {str(k): int(v) for k, v in inc["month"].astype(str).value_counts().sort_index().items()}


@st.cache_data(max_entries=16, show_spinner=False)
def week_review(_engine: Engine, db: str, version: str, meeting_id: int, plan_version: int, borough: str,
                data_dir: str, week: str, before: tuple[str, ...], after: tuple[str, ...],
                after_is_week: bool) -> tuple[WeekReview, gpd.GeoDataFrame]:
    """The approved plan's comparison and displacement check (``ui.review.run_review``) and its tasked places.

    Keyed on the store's data version and the plan version (an approved version never changes).
    """
    plan = records.load_plan(_engine, meeting_id, plan_version)
    inputs = plan_inputs(_engine, db, version, borough, data_dir, (), planning.PLAN_MONTHS, ())
    incidents = review_incidents(_engine, db, version, borough, data_dir)
    periods = review.ReviewPeriods(before=before, after=after, after_is_week=after_is_week)
    result = review.run_review(plan, incidents, week=week, periods=periods, area=inputs.area, parks=inputs.parks,
                               estates=inputs.estates)
    return result, review.tasked_places(plan, parks=inputs.parks, estates=inputs.estates)


# ----------------------------------------------------------------------------
# CCTV planning
# ----------------------------------------------------------------------------
@st.cache_data(max_entries=8, show_spinner=False)
def cctv_demand(_engine: Engine, db: str, version: str, data_dir: str, roster_file: str) -> tuple[pd.DataFrame,
                                                                                                tuple[str, ...]]:
    """Harm demand points for camera siting from the plan's months (``ui.cctv.demand_for``), and those months."""
    ros = roster(roster_file)
    inputs = plan_inputs(_engine, db, version, ros.borough_code, data_dir, (), planning.PLAN_MONTHS, ())
    return cctv.demand_for(inputs.incidents, roster=ros, window_weeks=review.month_weeks(inputs.months)), inputs.months


# ----------------------------------------------------------------------------
# Data page
# ----------------------------------------------------------------------------
# source_month_counts: read through tasking.access.source_month_counts (role checked on every run)


# recent_ingests: read through tasking.access.recent_ingests (role checked on every run)


@st.cache_data(max_entries=4, show_spinner=False)
def backtest_data(_engine: Engine, db: str, version: str, borough: str, data_dir: str) -> data_admin.BacktestData:
    """The backtest's points and grid: the borough's own months, or the bundled neighbour 12 months."""
    months = coverage(_engine, db, version, borough, data_dir)
    outline = datasets.load_boroughs((borough,), data_dir=Path(data_dir))
    name = str(outline["borough_name"].iloc[0]) if len(outline) and "borough_name" in outline.columns else borough
    incidents = review_incidents(_engine, db, version, borough, data_dir) if months else pd.DataFrame()
    return data_admin.backtest_data(incidents, borough_outline=outline, borough_name=name, months=months,
                                    data_dir=Path(data_dir))


@st.cache_data(max_entries=32, show_spinner=False)
def backtest_method(_engine: Engine, db: str, version: str, borough: str, data_dir: str, method: str) -> pd.DataFrame:
    """One forecaster's backtest summary on :func:`backtest_data` (cached: the backtest takes seconds)."""
    return data_admin.run_backtest(backtest_data(_engine, db, version, borough, data_dir), methods=[method])


@st.cache_data(max_entries=16, show_spinner=False)
def forecast_choices(_engine: Engine, db: str, version: str, borough: str, data_dir: str) -> list[str]:
    """Which forecaster each crime group uses on :func:`backtest_data`, one sentence each (keyed on the version)."""
    return data_admin.forecast_choices(backtest_data(_engine, db, version, borough, data_dir))
# overview: keyed on the data version; only suppressed aggregates leave these
# ----------------------------------------------------------------------------
@st.cache_data(max_entries=4, show_spinner=False)
def _mps_series(_engine: Engine, db: str, version: str) -> pd.DataFrame:
    """The spliced MPS ward series (aggregates; read only by the ``ui.overview`` functions below)."""
    return overview.mps_ward_series(Q.area_counts(_engine, area_type="ward"))


@st.cache_data(max_entries=16, show_spinner=False)
def _ward_frame(borough: str, data_dir: str) -> gpd.GeoDataFrame:
    return datasets.load_wards((borough,), data_dir=Path(data_dir))


@st.cache_data(max_entries=16, show_spinner=False)
def overview_months(_engine: Engine, db: str, version: str, borough: str, data_dir: str,
                    source: str) -> list[str]:
    """Months the source really covers for the borough (MPS series months, or covered incident months)."""
    wards_ = _ward_frame(borough, data_dir)
    if source == "mps":
        series = _mps_series(_engine, db, version)
        mine = series[series["area_code"].isin(set(wards_["ward_code"]))]
        return sorted(mine["month"].astype(str).unique())
    return overview.covered_months(overview.month_counts(_engine, ward_codes=list(wards_["ward_code"])))


@st.cache_data(max_entries=16, show_spinner=False)
def _ward_imd(borough: str, data_dir: str) -> pd.Series:
    return overview.ward_imd(_ward_frame(borough, data_dir), data_dir=Path(data_dir))


@st.cache_data(max_entries=32, show_spinner=False)
def overview_comparison(_engine: Engine, db: str, version: str, borough: str, data_dir: str, source: str,
                        first: str, last: str) -> overview.Comparison:
    """Comparison tables of ``first..last`` (``ui.overview.build_comparison``), suppressed."""
    wards_ = _ward_frame(borough, data_dir)
    names = dict(zip(wards_["ward_code"], wards_["ward_name"], strict=True))
    months_ = overview_months(_engine, db, version, borough, data_dir, source)
    population = load_population("ward", data_dir=Path(data_dir))
    imd = _ward_imd(borough, data_dir)
    if source == "mps":
        return overview.build_comparison(source="mps", first=first, last=last, ward_names=names,
                                         months_with_data=months_, series=_mps_series(_engine, db, version),
                                         population=population, imd=imd)
    periods = overview.comparison_periods(first, last)
    wanted = sorted(set(periods.this) | set(periods.previous) | set(periods.last_year))
    incidents = Q.incident_frame(_engine, include_sensitive=True, months=wanted)
    return overview.build_comparison(source="incidents", first=first, last=last, ward_names=names,
                                     months_with_data=months_, incidents=incidents, population=population, imd=imd)


@st.cache_data(max_entries=64, show_spinner=False)
def overview_trends(_engine: Engine, db: str, version: str, borough: str, data_dir: str, group: str,
                    ward: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(one group's monthly count and rolling mean, every group's rolling mean)`` of the MPS ward series.

    ``ward`` is a ward code or ``ui.overview.BOROUGH``; both frames are suppressed.
    """
    series = _mps_series(_engine, db, version)
    series = series[series["area_code"].isin(set(_ward_frame(borough, data_dir)["ward_code"]))]
    code = None if ward == overview.BOROUGH else ward
    return overview.trend_series(series, group=group, ward=code), overview.group_trends(series, ward=code)


def clear() -> None:
    """Forget every cached query result (after an ingest, for example)."""
    st.cache_data.clear()
