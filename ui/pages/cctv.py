"""CCTV planning: candidate sites ranked by uncovered harm, a what-if placement, and the redeploy list."""

from __future__ import annotations

import pandas as pd
import shapely
import streamlit as st
from streamlit_folium import st_folium

from spatial._errors import HotspotError
from tasking import access
from ui import cctv, maps, planning, service, state, tables
from ui.text import md_escape

ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0 "
    "(police.uk, ONS); Contains OS data © Crown copyright and database right; harm: Cambridge Crime Harm Index."
)

pc = service.page_context("cctv", 'CCTV planning')
viewer, engine, svc, version = pc.viewer, pc.engine, pc.service, pc.version
roster = pc.require_roster()
borough = pc.borough  # the key of the area's meetings (RBKC: the roster's borough)
session = st.session_state
today = state.today(session)
dep = roster.deployable_cctv
fixed_cams = roster.fixed_cctv

try:
    with st.spinner("Reading harm in the monitored hours…"):
        demand, months = svc.cctv_demand(version)
except HotspotError as exc:
    st.warning(f"No harm to site cameras on: {md_escape(exc)}")
    st.stop()
wards = svc.wards(version)
st.caption(f"Harm per week in the control room's monitored hours ({fixed_cams.monitored_start:%H:%M} to "
           f"{fixed_cams.monitored_end:%H:%M}), non-sensitive incidents of {tables.period_label(list(months))}, "
           f"on 50 m cells; a camera covers {dep.coverage_radius_m:g} m (fixed: {fixed_cams.coverage_radius_m:g} m). "
           f"Roster: {md_escape(roster.source)}.")

# ---------------------------------------------------------------- sites: the council's, or proposed
sites = list(dep.sites)
if not sites:
    st.warning("No camera mounting sites are loaded: they are council data and none are bundled. The sites below "
               "are **proposed — needs a site survey**: centres of the 15 hottest 150 m cells, not surveyed "
               "mounting points (power, fixings, sight lines). The weekly plan places its deployable cameras on "
               "these same sites, on the same harm (per week, in the monitored hours).")
    with st.expander("How to load your camera sites and fixed cameras"):
        st.markdown("Add them to a copy of the roster file (`tasking/data/rbkc_roster.yaml`; every value is "
                    "described in `tasking/data/README.md`) and start the dashboard with `HOTSPOT_ROSTER` set to it "
                    "(`HOTSPOT_ROSTER=my_roster.yaml streamlit run app.py`; the same file goes to "
                    "`hotspot-tasking allocate --roster`). Coordinates are British National Grid metres:")
        st.code(cctv.ROSTER_EXAMPLE, language="yaml")
    sites = list(cctv.proposed_sites(demand))
if not fixed_cams.cameras:
    st.info("Fixed camera positions are not loaded (council data, none bundled), so no harm is counted as already "
            "covered by the fixed network.")

ranking = cctv.site_ranking(demand, sites, fixed=fixed_cams.cameras, radius_m=dep.coverage_radius_m,
                            fixed_radius_m=fixed_cams.coverage_radius_m)
# where each site is, in words (the streets around it and its ward), as the plan's camera table says it
where = svc.site_names(version, tuple((str(r.site_id), float(r.x), float(r.y)) for r in ranking.itertuples()))
ranking.insert(ranking.columns.get_loc("site_id") + 1, "where", [where.get(str(s), "") for s in ranking["site_id"]])

# ---------------------------------------------------------------- deployed cameras (a file the team keeps)
st.header("Deployable cameras in place")
weeks = planning.week_choices(today, before=0, after=4)
state.keep_valid(session, state.CCTV_WEEK, weeks)
session.setdefault(state.CCTV_WEEK, planning.next_week(today))
week = st.selectbox("Moves for week", weeks, key=state.CCTV_WEEK, format_func=planning.week_label,
                    help=f"Minimum deployment terms ({dep.min_deployment_weeks} weeks) are counted to this week.")
upload = st.file_uploader("Deployed cameras (CSV: camera_id, site_id, since_week, optional x, y)", type=["csv"],
                          key=state.CCTV_DEPLOYED_FILE,
                          help="The same file as `hotspot-tasking allocate --deployed`; since_week is an ISO week "
                               "such as 2026-W45.")
deployed = []
if upload is not None:
    try:
        deployed = cctv.read_deployed(upload.getvalue(), name=upload.name, sites=sites)
    except HotspotError as exc:
        st.error(f"The deployed-cameras file was not read: {md_escape(exc)}")
if not deployed:
    st.caption(f"No deployed cameras given: the roster has {dep.cameras} deployable cameras; upload where they are "
               "to see which could move.")
positions = {s.site_id: (s.x, s.y) for s in sites}
deployed_df = pd.DataFrame([{"camera_id": c.camera_id, "site_id": c.site_id,
                             "x": positions.get(c.site_id, (c.x, c.y))[0], "y": positions.get(c.site_id, (c.x, c.y))[1]}
                            for c in deployed], columns=["camera_id", "site_id", "x", "y"])

redeploy = None
if deployed:
    try:
        redeploy = cctv.redeploy_list(demand, deployed, sites, fixed=fixed_cams.cameras, week=week,
                                      min_deployment_weeks=dep.min_deployment_weeks, radius_m=dep.coverage_radius_m,
                                      fixed_radius_m=fixed_cams.coverage_radius_m)
    except HotspotError as exc:
        st.error(f"No redeploy list: {md_escape(exc)}")
if redeploy is not None:
    st.subheader("Redeploy list")
    st.dataframe(redeploy.rename(columns={
        "camera_id": "Camera", "site_id": "Site now", "weeks_served": "Weeks served", "can_move": "Can move",
        "catch_now": "Harm caught now /wk", "move_to": "Move to", "catch_there": "Harm there /wk", "gain": "Gain /wk",
        "advice": "Advice"}).round(1), width="stretch", hide_index=True,
        column_config={"Advice": st.column_config.TextColumn(width="large")})
    st.caption("A camera's catch is uncovered harm within its reach (fixed cameras' harm left out); a free site's "
               "catch also leaves out harm covered by cameras that stay. Lowest-catch movable cameras are paired "
               f"with the best free sites; new sites go live after a {dep.lead_time_weeks}-week lead time.")


# ---------------------------------------------------------------- what-if
def _add_camera() -> None:
    x, y = session.get(state.CCTV_WHATIF_X), session.get(state.CCTV_WHATIF_Y)
    if x is None or y is None:
        return
    extra = list(session.get(state.CCTV_EXTRA_SITES, []))
    extra.append((f"typed-{len(extra) + 1}", float(x), float(y)))
    session[state.CCTV_EXTRA_SITES] = extra


def _clear_cameras() -> None:
    session[state.CCTV_EXTRA_SITES] = []


st.header("What if cameras went here?")
session.setdefault(state.CCTV_EXTRA_SITES, [])
labels = {r.site_id: f"#{r.rank} {r.where or r.site_id}: {r.uncovered_harm:.1f} uncovered harm/wk"
          for r in ranking.itertuples()}
state.keep_valid(session, state.CCTV_WHATIF_SITES, labels)
picked = st.multiselect("Cameras at candidate sites", list(labels), format_func=labels.__getitem__,
                        key=state.CCTV_WHATIF_SITES, placeholder="Tick sites",
                        help="Deployed cameras in place count too; tick more sites to see what they add.")
with st.form("whatif_xy", border=True):
    st.markdown("**Or place a camera by coordinates** (British National Grid metres)")
    cx, cy = st.columns(2)
    cx.number_input("Easting (x)", min_value=0.0, max_value=700000.0, value=None, step=10.0, key=state.CCTV_WHATIF_X)
    cy.number_input("Northing (y)", min_value=0.0, max_value=1300000.0, value=None, step=10.0,
                    key=state.CCTV_WHATIF_Y)
    st.form_submit_button("Add camera here", key=state.CCTV_WHATIF_ADD, on_click=_add_camera)
area = shapely.union_all(list(wards.geometry))
typed = []
for sid, x, y in session[state.CCTV_EXTRA_SITES]:
    if area.buffer(dep.coverage_radius_m).contains(shapely.Point(x, y)):
        typed.append((sid, x, y))
    else:
        st.error(f"Camera {md_escape(sid)} at ({x:.0f}, {y:.0f}) is outside the borough; it is left out. "
                 "Coordinates are "
                 "British National Grid metres (for example 525000, 179000 in Kensington).")
if session[state.CCTV_EXTRA_SITES]:
    st.button("Clear typed cameras", key=state.CCTV_WHATIF_CLEAR, on_click=_clear_cameras)

cams = [(c.camera_id + " at " + c.site_id, float(x), float(y)) for c, (x, y) in
        zip(deployed, zip(deployed_df["x"], deployed_df["y"], strict=True), strict=True)]
cams += [(s, positions[s][0], positions[s][1]) for s in picked]
cams += typed
base = cctv.what_if(demand, [(c[0], c[1], c[2]) for c in cams[:len(deployed)]], fixed=fixed_cams.cameras,
                    radius_m=dep.coverage_radius_m, fixed_radius_m=fixed_cams.coverage_radius_m)
result = cctv.what_if(demand, cams, fixed=fixed_cams.cameras, radius_m=dep.coverage_radius_m,
                      fixed_radius_m=fixed_cams.coverage_radius_m)
c1, c2, c3, c4 = st.columns(4)
c1.metric("Harm per week", f"{result.total:,.1f}", help="Monitored-hours harm of the whole borough (CCHI days).")
c2.metric("Covered by fixed CCTV", f"{result.covered_fixed:,.1f}")
c3.metric("Covered by deployable cameras", f"{result.covered_cameras:,.1f}",
          delta=f"{result.covered_cameras - base.covered_cameras:+,.1f}" if len(cams) > len(deployed) else None,
          help="Change against the cameras in place only.")
c4.metric("Uncovered", f"{result.uncovered:,.1f}",
          delta=f"{result.uncovered - base.uncovered:+,.1f}" if len(cams) > len(deployed) else None,
          delta_color="inverse")
if len(result.per_camera):
    st.dataframe(result.per_camera.rename(columns={"site_id": "Camera", "x": "x", "y": "y",
                                                   "harm_in_reach": "Harm in reach /wk",
                                                   "adds": "Adds /wk"}).round(1), width="stretch", hide_index=True)

# ---------------------------------------------------------------- ranked sites and map
st.header("Candidate sites ranked by uncovered harm")
st.dataframe(ranking.rename(columns={"rank": "Rank", "site_id": "Site", "where": "Where", "source": "Source",
                                     "harm_in_reach": "Harm in reach /wk", "covered_by_fixed": "Covered by fixed /wk",
                                     "uncovered_harm": "Uncovered harm /wk"}).round(1),
             width="stretch", hide_index=True)
whatif_df = pd.DataFrame([{"site_id": c[0], "x": c[1], "y": c[2]} for c in cams[len(deployed):]],
                         columns=["site_id", "x", "y"])
fixed_df = pd.DataFrame([{"site_id": s.site_id, "x": s.x, "y": s.y} for s in fixed_cams.cameras],
                        columns=["site_id", "x", "y"])
st_folium(maps.cctv_map(wards, ward_label=tables.ward_heading(pc.area.ward_vintage), fixed=fixed_df, deployed=deployed_df, sites=ranking, whatif=whatif_df,
                        radius_m=dep.coverage_radius_m, fixed_radius_m=fixed_cams.coverage_radius_m,
                        streets=svc.street_labels(version, maps.label_bounds(wards),
                                                  min_n=access.street_label_floor(viewer)),
                        static_url=maps.static_url_for(st.get_option("server.baseUrlPath") or "")),
          key=state.CCTV_MAP, height=560, use_container_width=True, returned_objects=[])
st.caption("Every deployment needs the Surveillance Camera Code of Practice checks (legitimate aim, DPIA, "
           "proportionality) before it goes live. No incident is drawn on this map.")

st.divider()
st.caption(ATTRIBUTION)
