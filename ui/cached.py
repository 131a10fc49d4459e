"""Every Streamlit cache wrapper of the dashboard, and nothing else.

The engine is a shared resource keyed on the database URL
(``st.cache_resource``).  Queries are cached with ``st.cache_data`` (each
caller gets its own copy); the engine is passed as ``_engine`` (not hashed)
together with its URL, which *is* hashed, so two databases never share a
cache entry.  Cached values are shared by every user of the server: nothing
here depends on who is looking, and the queries already drop or suppress
sensitive rows.  Entries expire after :data:`TTL_SECONDS` so newly ingested
data appears without a restart; :func:`clear` drops them at once.  What is
keyed on an area (plans, hotspots, the review, the overview) is cached by
:class:`ui.service.AreaService`, one per store and area.
"""

from __future__ import annotations

from typing import Final

import geopandas as gpd
import streamlit as st
from sqlalchemy import Engine

from spatial import datasets
from spatial.config import Settings
from spatial.layers import stored_area_layer
from spatial.store import connect
from spatial.store import queries as Q

__all__ = ["TTL_SECONDS", "settings", "engine", "database_key", "months", "mappable_months", "area_layer",
           "registered_parks", "clear"]

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


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def area_layer(_engine: Engine, db: str, layer: str) -> gpd.GeoDataFrame | None:
    """The council's stored ``estates`` or ``parks`` layer, or ``None`` if not loaded."""
    return stored_area_layer(_engine, layer)


@st.cache_data(show_spinner=False)
def registered_parks(data_dir: str) -> gpd.GeoDataFrame:
    """The four bundled Historic England registered parks and gardens (a reference layer)."""
    return datasets.load_registered_parks(data_dir=data_dir)


def clear() -> None:
    """Forget every cached query result (after an ingest, for example)."""
    st.cache_data.clear()
