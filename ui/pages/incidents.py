"""Incidents map: ingested non-sensitive incidents on a map, with ward x category counts."""

from __future__ import annotations

import streamlit as st
from streamlit_folium import st_folium

from spatial.schema import load_taxonomy
from tasking import access
from ui import maps, service, signin, state, tables

ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0 "
    "(police.uk, ONS); MPS data OGL v2.0; Contains OS data © Crown copyright and database right"
)

taxonomy = load_taxonomy()
pc = service.page_context("incidents", "Incidents map")
viewer, engine, svc, version = pc.viewer, pc.engine, pc.service, pc.version
all_months = svc.months()
if not all_months:
    st.warning(
        "The database holds no incidents yet. Load the bundled data of the area with "
        "`hotspot-tasking ingest --bundled` (or your own police.uk files with "
        "`hotspot-tasking ingest FILES`), then reload this page."
    )
    st.caption(ATTRIBUTION)
    st.stop()

# ---------------------------------------------------------------- sidebar filters
with st.sidebar:
    st.header("Filters")
    own, every = pc.area.districts, pc.area.profile.district_codes
    neighbours = False
    if len(every) > len(own):
        neighbours = st.toggle(
            "Show neighbouring demo boroughs" if pc.area.name == "rbkc" else "Show every district of the area",
            key=state.NEIGHBOURS,
            help=("Adds the wards of Westminster and Hammersmith & Fulham (bundled demo data)."
                  if pc.area.name == "rbkc" else "Adds the wards of the area's other districts."),
        )
    ward_frame = pc.area.layers.wards if neighbours else pc.area.wards
    with_borough = neighbours or len(own) > 1
    ward_names = tables.ward_labels(ward_frame, with_borough=with_borough)
    state.keep_valid(st.session_state, state.WARDS, ward_names)
    picked = st.multiselect(
        "Wards", options=list(ward_names), format_func=ward_names.__getitem__, key=state.WARDS,
        placeholder="All wards shown", help="Leave empty for every ward in the borough(s) shown.",
    )
    ward_codes = tuple(picked) or tuple(ward_names)

    mappable = svc.mappable_months(ward_codes)
    state.keep_valid(st.session_state, state.MONTH, all_months)
    st.session_state.setdefault(state.MONTH, state.default_month(all_months, mappable))
    month = st.selectbox(
        "Month", options=all_months, key=state.MONTH,
        format_func=lambda m: m if m in mappable else f"{m} (counts only)",
        help="Months marked 'counts only' hold only sensitive categories for these wards: nothing to map.",
    )

    mappable_categories = {s: c.label for s, c in taxonomy.categories.items() if not c.sensitive}
    categories = st.multiselect(
        "Categories", options=list(mappable_categories), format_func=mappable_categories.__getitem__,
        key=state.CATEGORIES, placeholder="All categories",
        help="Sensitive categories are not listed: they are never mapped, only counted by ward.",
    )
    if st.button("Reload data", help="Read the database again (after an ingest)."):
        svc.clear()
        st.rerun()

# ---------------------------------------------------------------- map
sensitive_labels = [c.label for c in taxonomy.categories.values() if c.sensitive]
st.info(
    "Sensitive categories (" + "; ".join(sensitive_labels) + ") are shown only as ward counts in the "
    "table below, never as points on the map. Counts of 1 to 4 are shown as \"fewer than 5\".",
    icon=":material/shield:",
)

points = access.points_for(viewer, access.map_points(viewer, engine, ward_codes=list(ward_codes), months=[month],
                                                     categories=list(categories) or None))
estates = svc.area_layer("estates")
parks = svc.area_layer("parks")
reference_parks = svc.registered_parks(version) if parks is None else None  # only until the council's own
layers = {
    "Housing estates": estates,
    "Parks and open spaces": parks,
    "Registered parks and gardens (Historic England)": reference_parks,
}
tiles_url, tiles_attribution = maps.tiles_from_env()
if tiles_url and not tiles_attribution:
    st.warning(f"{maps.TILES_URL_ENV} is set but {maps.TILES_ATTRIBUTION_ENV} is not: the base map is left off "
               "until the attribution the tile provider requires is set too.")
    tiles_url = None
focus = ward_frame[ward_frame["ward_code"].isin(picked)] if picked else ward_frame
streets = svc.street_labels(version, maps.label_bounds(focus), min_n=access.street_label_floor(viewer))
fmap = maps.incidents_map(
    points, ward_frame, selected_wards=picked, layers=layers, ward_label=tables.ward_heading(pc.area.ward_vintage),
    static_url=maps.static_url_for(st.get_option("server.baseUrlPath") or ""),
    tiles_url=tiles_url, tiles_attribution=tiles_attribution, streets=streets,
)
st_folium(fmap, key="incidents_map", height=620, use_container_width=True, returned_objects=[])
if len(points) > maps.MAX_POINTS:
    st.caption(f"{len(points):,} incidents match; the map draws a random {maps.MAX_POINTS:,} of them. "
               "Narrow the wards, month or categories to see every point.")
elif points.empty:
    st.caption(f"No incidents to map for {month} in these wards and categories; the counts below still apply.")
else:
    st.caption(f"{len(points):,} incidents in {month}. police.uk locations are approximate (snapped to "
               "anonymised map points).")

# ---------------------------------------------------------------- layer notices
if estates is None:
    st.info(
        "Housing estates layer not loaded — load your own with "
        "`hotspot-tasking layers estates FILE --id-column ...` (GeoJSON, GeoPackage or GeoParquet "
        "polygons), then re-ingest incidents to attribute them to estates.",
        icon=":material/apartment:",
    )
if parks is None:
    st.info(
        "Parks and open spaces layer not loaded — load your own with "
        "`hotspot-tasking layers parks FILE --id-column ...`. Only the four Historic England "
        "registered parks and gardens are bundled; they are shown as a reference layer, not the "
        "council's full list of parks.",
        icon=":material/park:",
    )

# ---------------------------------------------------------------- counts
st.subheader(f"Incidents by ward and category, {month}")
counts = access.ward_counts(viewer, engine, ward_codes=list(ward_codes), months=[month])
st.dataframe(
    tables.with_ward_vintage(tables.ward_category_table(counts, ward_frame, ward_codes=ward_codes,
                                                        categories=categories, with_borough=with_borough,
                                                        taxonomy=taxonomy), pc.area.ward_vintage),
    width="stretch",
)
signin.audit_sensitive_view(viewer, "incidents", detail={"month": month, "wards": len(ward_codes)})
st.caption(
    f"Columns marked{tables.SENSITIVE_SUFFIX} are counted only, never mapped. The category filter "
    "applies to the other columns; there are no totals, so a suppressed count cannot be worked out."
)

st.divider()
st.caption(ATTRIBUTION)
