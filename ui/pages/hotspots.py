"""Hotspots: ward harm, Gi*/KDE/emerging hot cells, DBSCAN clusters, estates, parks, CCTV, and a hot place's panel."""

from __future__ import annotations

import streamlit as st
from streamlit_folium import st_folium

from spatial._errors import HotspotError
from spatial.schema import load_taxonomy
from tasking import access
from ui import analysis, maps, planning, service, state, tables
from ui.text import md_escape

ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0 "
    "(police.uk, ONS); Contains OS data © Crown copyright and database right; Designing Out Crime rules: "
    "tasking/data/design_out_rules.md"
)
METHODS = {"kde": "KDE hot cells (the tasking plan's places)", "gistar": "Gi* hot spots (99%)",
           "dbscan": "DBSCAN clusters"}

taxonomy = load_taxonomy()
pc = service.page_context("hotspots", "Hotspots")
viewer, svc, version = pc.viewer, pc.service, pc.version
roster = pc.roster  # None when the area has no roster yet: hotspots need none
session = st.session_state
covered = svc.scopes(version)
home = pc.borough  # the area's default scope: the roster's borough (RBKC), or the whole area
# a district is offered when it has the months emerging hotspots need, not for the few boundary points
# that a police.uk pull of the roster's borough carries into it
boroughs = [home, *[b for b, m in covered.items() if b != home and len(m) >= analysis.MIN_EMERGING_MONTHS]]
if len(boroughs) > 1:
    own = " (the roster's)" if roster is not None and home == roster.borough_code else " (the whole area)"
    labels = {b: svc.scope_label(version, b) + (own if b == home else
                                                " (demo)" if pc.area.name == "rbkc" else "") for b in boroughs}
    state.keep_valid(session, state.HOTSPOTS_BOROUGH, boroughs)
    with st.sidebar:
        borough = st.selectbox("Borough", boroughs, key=state.HOTSPOTS_BOROUGH, format_func=labels.__getitem__,
                               help="The area's own scope, or one of its districts with the months of police.uk "
                                    "data emerging hotspots need.")
else:
    borough = home

months = covered.get(borough, [])
if not months:
    st.warning("The database holds no non-sensitive incidents for the borough yet. Load the bundled data with "
               "`hotspot-tasking ingest --bundled` (or your own police.uk files), then reload this page.")
    st.stop()

# ---------------------------------------------------------------- sidebar
with st.sidebar:
    st.header("Filters")
    if len(months) > 1:
        state.keep_range(session, state.HOTSPOTS_PERIOD, months)
        first, last = st.select_slider("Period", options=months, value=(months[-1], months[-1]),
                                       key=state.HOTSPOTS_PERIOD,
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
    ward_frame = svc.wards(version, borough)
    ward_options = tables.ward_names(ward_frame.sort_values("ward_name"))
    state.keep_valid(session, state.HOTSPOTS_WARDS, ward_options)
    picked_wards = st.multiselect("Wards", list(ward_options), format_func=ward_options.__getitem__,
                                  key=state.HOTSPOTS_WARDS, placeholder="All wards",
                                  help="Hotspots are found borough-wide; the map and the hot places are limited "
                                       "to these wards.")
period = planning.months_between(months, first, last)

sensitive_labels = [c.label for c in taxonomy.categories.values() if c.sensitive]
st.info("Hotspots, clusters and the ward harm shading are built from non-sensitive incidents only; "
        "sensitive categories (" + "; ".join(sensitive_labels) + ") are left out of every layer.",
        icon=":material/shield:")

try:
    with st.spinner(f"Finding hotspots in {tables.period_label(period)}…"):
        layers = svc.hotspot_layers(version, period, tuple(picked), method, borough)
except HotspotError as exc:
    st.warning(f"No hotspots for this selection: {md_escape(exc)}")
    st.stop()

ward_names = tables.ward_names(layers.wards)
layers = analysis.limit_to_wards(layers, picked_wards)
cameras = (analysis.camera_layers(roster, borough=roster.borough_code if borough == home else borough)
           if roster is not None and access.can(viewer, "cameras") else None)
tiles_url, tiles_attribution = maps.tiles_from_env()
if tiles_url and not tiles_attribution:
    st.warning(f"{maps.TILES_URL_ENV} is set but {maps.TILES_ATTRIBUTION_ENV} is not: the base map is left off.")
    tiles_url = None
fmap = maps.hotspots_map(layers.wards, ward_label=tables.ward_heading(pc.area.ward_vintage), gi_cells=layers.gi_cells, kde_cells=layers.kde_cells,
                         clusters=layers.clusters, places=layers.places, ranked=layers.ranked,
                         emerging=layers.emerging, estates=layers.estates, parks=layers.parks,
                         parks_label="DEMO reference: Historic England registered park, not the council's list"
                         if layers.parks_note == planning.DEMO_PARKS_NOTE else "",
                         fixed_cctv=cameras.fixed if cameras else None,
                         deployable_cctv=cameras.deployable if cameras else None,
                         static_url=maps.static_url_for(st.get_option("server.baseUrlPath") or ""),
                         tiles_url=tiles_url, tiles_attribution=tiles_attribution,
                         streets=svc.street_labels(version, maps.label_bounds(layers.wards),
                                                   min_n=access.street_label_floor(viewer)))
st_folium(fmap, key=state.HOTSPOTS_MAP, height=620, use_container_width=True, returned_objects=[])
st.caption(f"{layers.n_incidents:,} non-sensitive incidents, {tables.period_label(period)}; harm weighted by the "
           "Cambridge Crime Harm Index on 150 m cells. Click a green marker for its ranked measures"
           + (f"; the {len(layers.places):,} advised places are grouped in numbered circles, which open as you "
              "zoom in or click them." if len(layers.places) > maps.DOC_CLUSTER_ABOVE else "."))
if layers.gi_note:
    st.info(md_escape(layers.gi_note), icon=":material/info:")
if access.can(viewer, "export") and layers.results:
    with st.expander("Download for QGIS or ArcGIS (GeoPackage)"):
        scope_ctx = svc.scope(version, borough)
        offered = {k: v for k, v in analysis.GIS_DOWNLOADS.items() if k in layers.results}
        state.keep_valid(session, state.HOTSPOTS_GIS_LAYER, offered)
        gis_pick = st.radio("Layer", list(offered), format_func=offered.__getitem__, key=state.HOTSPOTS_GIS_LAYER,
                            horizontal=True)
        gis_period = period[0] if len(period) == 1 else f"{period[0]}..{period[-1]}"

        def _gis_file() -> bytes:
            res = analysis.gis_result(layers, gis_pick, area_name=scope_ctx.name, districts=scope_ctx.districts,
                                      category_groups=picked)
            return access.hotspot_export_bytes(viewer, res, period=gis_period, area=scope_ctx.key,
                                               engine=pc.engine)

        st.download_button("GeoPackage", data=_gis_file, file_name=f"hotspots-{gis_pick}-{gis_period}.gpkg",
                           mime="application/geopackage+sqlite3", on_click="ignore",
                           key=f"{state.DOWNLOAD_PREFIX}hotspots_gpkg")
        st.caption("The whole area's cells or clusters for this period (the ward filter is not applied), in British "
                   "National Grid (EPSG:27700) with a QGIS style and the run's parameters in the run_parameters "
                   "table: the file `hotspot-tasking hotspots --out FILE.gpkg` writes. Non-sensitive incidents "
                   "only. Each download is recorded in the export audit.")
with st.expander("Forecaster this area uses for each crime group (backtest on its own months)"):
    st.markdown("\n".join(f"- {md_escape(t)}" for t in svc.forecast_choices(version)))

# ---------------------------------------------------------------- layer notices
if layers.emerging is None or len(layers.emerging) == 0:
    st.info(f"Emerging hotspots: {md_escape(layers.emerging_note)}." if layers.emerging_note.startswith("not computed")
            else f"Emerging hotspots: no cell has a pattern ({md_escape(layers.emerging_note)}).",
            icon=":material/trending_up:")
else:
    st.caption(f"Emerging hotspots: {len(layers.emerging):,} cells with a pattern; {md_escape(layers.emerging_note)}.")
if layers.estates is None:
    st.info("Housing estates layer not loaded — load your own with `hotspot-tasking layers estates FILE "
            "--id-column ...`.", icon=":material/apartment:")
if layers.parks_note == planning.DEMO_PARKS_NOTE:
    st.info("Parks and open spaces: the council's own layer is not loaded, so the map shows the Historic England "
            "registered parks touching the borough as a DEMO reference (load yours with `hotspot-tasking layers "
            "parks FILE --id-column ...`).", icon=":material/park:")
for note in cameras.notes if cameras else ():
    st.info(md_escape(note), icon=":material/videocam:")

st.subheader("Hot places and their Designing Out Crime measures")
advice = tables.recommendations_table(layers.places, layers.ranked, ward_names=ward_names)
if advice.empty:
    st.caption("No place to advise on for this selection.")
else:
    st.dataframe(tables.with_ward_vintage(advice, pc.area.ward_vintage), width="stretch", hide_index=True)
    if access.can(viewer, "export"):
        advice_period = period[0] if len(period) == 1 else f"{period[0]}..{period[-1]}"
        advice_area = svc.scope(version, borough).key

        def _advice_file() -> bytes:
            return access.advice_csv_bytes(viewer, layers.ranked, area=advice_area, engine=pc.engine,
                                           ward_names=ward_names, places=list(advice["Id"]))

        st.download_button("Designing Out Crime advice (CSV)", data=_advice_file,
                           file_name=f"advice-{advice_area}-{advice_period}.csv", mime="text/csv",
                           on_click="ignore", key=f"{state.DOWNLOAD_PREFIX}advice_csv")
        st.caption(f"A row per place and measure for these {len(advice):,} places, with why here, the rationale, "
                   "the evidence and its sources: the file `hotspot-tasking recommend --out advice.csv` writes. "
                   "Each download is recorded in the export audit.")
st.caption("Each measure is a prompt for a site survey with a Designing Out Crime Officer, not a specification.")
with st.expander("Method notes"):
    st.markdown("\n".join(f"- {md_escape(n)}" for n in layers.notes))

# ---------------------------------------------------------------- hotspot panel
st.subheader("A hot place in detail")
choices = analysis.place_choices(layers.places, ward_names=ward_names)
if not choices:
    st.caption("No hot place in this selection.")
else:
    state.keep_valid(session, state.HOTSPOTS_PLACE, choices)
    place_id = st.selectbox("Hot place (hottest first)", list(choices), format_func=choices.__getitem__,
                            key=state.HOTSPOTS_PLACE)
    try:
        panel = svc.place_panel(version, period, tuple(picked), method, place_id, borough)
    except HotspotError as exc:
        st.warning(f"No detail for this place: {md_escape(exc)}")
    else:
        synthetic = [s for s in panel.sources if "synthetic" in s.lower()]
        if synthetic:
            st.warning("SYNTHETIC data: incidents here come from " + ", ".join(md_escape(s) for s in synthetic)
                       + " — generated test "
                       "records, not real council data.", icon=":material/science:")
        left, right = st.columns(2)
        with left:
            st.markdown("**Trend**")
            if len(panel.trend) > 1:
                st.bar_chart(panel.trend, y_label="incidents")
            else:
                st.metric(f"Incidents, {panel.trend.index[0]}", f"{int(panel.trend.iloc[0]):,}")
            st.caption(md_escape(panel.trend_note))
            st.markdown(f"**Emerging-hotspot class**: {md_escape(panel.emerging_class)}" if panel.emerging_class else
                        "**Emerging-hotspot class**: not available (see *Emerging hotspots* above the table)")
        with right:
            st.markdown("**Time of day by day of week**")
            if panel.profile is None:
                st.info(md_escape(panel.profile_note.capitalize()) + ".", icon=":material/schedule:")
            else:
                st.dataframe(panel.profile.round(1), width="stretch")
                st.caption(md_escape(panel.profile_note) + ".")
        st.markdown("**Designing Out Crime measures**")
        if panel.measures.empty:
            st.caption("No measure fits this place.")
        else:
            st.dataframe(panel.measures.rename(columns={"rank": "Rank", "measure": "Measure",
                                                        "cpted_principle": "CPTED principle", "why": "Why here"}),
                         width="stretch", hide_index=True)

st.divider()
st.caption(ATTRIBUTION)
