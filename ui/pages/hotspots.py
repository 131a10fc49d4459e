"""Hotspots: ward harm, Gi* and KDE hot cells, DBSCAN clusters, and Designing Out Crime advice for each hot place."""

from __future__ import annotations

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError
from streamlit_folium import st_folium

from spatial._errors import HotspotError
from spatial.schema import load_taxonomy
from ui import cached, maps, planning, state, tables

ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0 "
    "(police.uk, ONS); Contains OS data © Crown copyright and database right; Designing Out Crime rules: "
    "tasking/data/design_out_rules.md"
)
METHODS = {"kde": "KDE hot cells (the tasking plan's places)", "gistar": "Gi* hot spots (99%)",
           "dbscan": "DBSCAN clusters"}

taxonomy = load_taxonomy()
settings = cached.settings()
st.title("Hotspots")

try:
    engine = cached.engine(settings.database_url)
except (HotspotError, SQLAlchemyError) as exc:
    st.error(f"Cannot open the database set by DATABASE_URL: {exc}")
    st.stop()
db = cached.database_key(engine)
data_dir = str(settings.data_dir)
version = cached.data_version(engine)
try:
    roster = cached.roster(cached.roster_path())
except HotspotError as exc:
    st.error(f"Cannot read the roster: {exc}")
    st.stop()
borough = roster.borough_code

months = cached.coverage(engine, db, version, borough, data_dir)
if not months:
    st.warning("The database holds no non-sensitive incidents for the borough yet. Load the bundled data with "
               "`hotspot-tasking ingest --bundled` (or your own police.uk files), then reload this page.")
    st.stop()

# ---------------------------------------------------------------- sidebar
session = st.session_state
with st.sidebar:
    st.header("Filters")
    if len(months) > 1:
        state.keep_range(session, state.HOTSPOTS_PERIOD, months)
        session.setdefault(state.HOTSPOTS_PERIOD, (months[-1], months[-1]))
        first, last = st.select_slider("Period", options=months, key=state.HOTSPOTS_PERIOD,
                                       help="Months with real coverage in the store (at least a tenth of the "
                                            "busiest month's incidents).")
    else:
        first = last = months[0]
        st.caption(f"Period: {months[0]}, the only month with real coverage in the store.")
    groups = tables.category_groups(taxonomy)
    state.keep_valid(session, state.HOTSPOTS_GROUPS, groups)
    picked = st.multiselect("Category groups", list(groups), format_func=groups.__getitem__,
                            key=state.HOTSPOTS_GROUPS, placeholder="All non-sensitive groups",
                            help="Sensitive categories are not offered: they never make a point layer.")
    method = st.radio("Designing Out Crime advice for", list(METHODS), format_func=METHODS.__getitem__,
                      key=state.HOTSPOTS_METHOD)
period = planning.months_between(months, first, last)

sensitive_labels = [c.label for c in taxonomy.categories.values() if c.sensitive]
st.info("Hotspots, clusters and the ward harm shading are built from non-sensitive incidents only; "
        "sensitive categories (" + "; ".join(sensitive_labels) + ") are left out of every layer.",
        icon=":material/shield:")

try:
    with st.spinner(f"Finding hotspots in {tables.period_label(period)}…"):
        layers = cached.hotspot_layers(engine, db, version, borough, data_dir, period, tuple(picked), method)
except HotspotError as exc:
    st.warning(f"No hotspots for this selection: {exc}")
    st.stop()

ward_names = tables.ward_names(layers.wards)
tiles_url, tiles_attribution = maps.tiles_from_env()
if tiles_url and not tiles_attribution:
    st.warning(f"{maps.TILES_URL_ENV} is set but {maps.TILES_ATTRIBUTION_ENV} is not: the base map is left off.")
    tiles_url = None
fmap = maps.hotspots_map(layers.wards, gi_cells=layers.gi_cells, kde_cells=layers.kde_cells,
                         clusters=layers.clusters, places=layers.places, ranked=layers.ranked,
                         static_url=maps.static_url_for(st.get_option("server.baseUrlPath") or ""),
                         tiles_url=tiles_url, tiles_attribution=tiles_attribution)
st_folium(fmap, key=state.HOTSPOTS_MAP, height=620, use_container_width=True, returned_objects=[])
st.caption(f"{layers.n_incidents:,} non-sensitive incidents, {tables.period_label(period)}; harm weighted by the "
           "Cambridge Crime Harm Index on 150 m cells. Click a green marker for its ranked measures.")

st.subheader("Hot places and their Designing Out Crime measures")
advice = tables.recommendations_table(layers.places, layers.ranked, ward_names=ward_names)
if advice.empty:
    st.caption("No place to advise on for this selection.")
else:
    st.dataframe(advice, width="stretch", hide_index=True)
st.caption("Each measure is a prompt for a site survey with a Designing Out Crime Officer, not a specification.")
with st.expander("Method notes"):
    st.markdown("\n".join(f"- {n}" for n in layers.notes))

st.divider()
st.caption(ATTRIBUTION)
