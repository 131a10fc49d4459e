"""My patrols: one warden's or parks police officer's approved patrols, a map of their places, and the patrol log.

Made for a phone: one column, no wide tables.  A warden sees only their own
rows of the approved plan (``tasking.access.approved_plan`` filters the plan
before the page gets it); the chair and analyst may choose any agent.
"""

from __future__ import annotations

import streamlit as st
from streamlit_folium import st_folium

from spatial._errors import HotspotError
from tasking import access, records
from ui import maps, planning, service, state, tables
from ui.text import md_escape

pc = service.page_context("my_patrols", 'My patrols')
viewer, engine, svc, version = pc.viewer, pc.engine, pc.service, pc.version
roster = pc.require_roster()
borough = pc.borough  # the key of the area's meetings (RBKC: the roster's borough)
session = st.session_state
today = state.today(session)

# ---------------------------------------------------------------- who and which week
agents = tables.agent_labels(roster)
if access.can(viewer, "plans"):  # chair and analyst: any agent's patrols
    state.restore(session, state.PATROL_AGENT_INPUT, state.PATROL_AGENT)
    state.keep_valid(session, state.PATROL_AGENT_INPUT, agents)
    agent = st.selectbox("Agent", list(agents), index=None, format_func=agents.__getitem__,
                         key=state.PATROL_AGENT_INPUT, placeholder="Choose an agent",
                         help="Wardens W01 to W18, parks police PP01 to PP06 (the roster).")
    if agent is None:
        st.info("Choose an agent to see their patrols for the week.")
        st.stop()
    session[state.PATROL_AGENT] = agent
else:  # a warden or parks police officer: their own id, from the account
    agent = str(viewer.agent_id)
    if agent not in agents:
        home = service.agent_area(engine, agent)
        if home is not None:
            label = home.label
            st.warning(f"Your agent id {md_escape(agent)} is in the roster of {md_escape(label)}, not of "
                       f"{md_escape(pc.area.label)}: choose {md_escape(label)} under Area in the sidebar.")
        else:
            st.warning(f"Your account's agent id {md_escape(agent)} is in no area's roster (this area's: "
                       f"{md_escape(roster.source)}); ask the administrator to correct it "
                       "(`hotspot-tasking user role NAME warden --agent-id ...`).")
        st.stop()

approved = planning.approved_weeks(engine, borough=borough)
weeks = planning.patrol_weeks(today, approved)
state.keep_valid(session, state.PATROL_WEEK, weeks)
session.setdefault(state.PATROL_WEEK, planning.iso_week(today))
week = st.selectbox("Week", weeks, key=state.PATROL_WEEK,
                    format_func=lambda w: planning.week_label(w) + (", approved plan" if w in approved else ""))

meeting_id = records.find_meeting(engine, week=week, borough=borough)
found = access.approved_plan(viewer, engine, meeting_id) if meeting_id is not None else None
if found is None:
    st.warning(f"There is no approved plan for {planning.week_label(week)} yet. The chair approves the plan at the "
               "weekly tasking meeting; until then no patrols are tasked for this week.")
    st.stop()
plan_version, plan = found
wards = svc.wards(version)
ward_names = tables.ward_names(wards)
mine = planning.agent_assignments(plan, access.agent_assignments_for(viewer, plan, agent))
shifts = {s.name: f"{s.start:%H:%M} to {s.end:%H:%M}" for s in roster.shifts}
st.caption(f"{md_escape(agents[agent])}: approved plan version {plan_version} for {planning.week_label(week)}.")

# ---------------------------------------------------------------- my patrols, by day and shift
if mine.empty:
    duty = planning.agent_duty(plan, agent)
    st.info(f"You have no tasked places in the approved plan for {week}."
            + (f" You are on duty for {len(duty)} shifts." if len(duty) else ""))
else:
    current = None
    for date, shift, rows in planning.today_first(planning.agent_days(mine), today):
        if date != current:
            st.subheader(("Today, " if date == today.isoformat() else "") + planning.day_name(date))
            current = date
        with st.container(border=True):
            total = float(rows["minutes"].fillna(0).sum())
            st.markdown(f"**{md_escape(shift.capitalize())} shift** ({md_escape(shifts.get(shift, shift))}), "
                        f"{len(rows)} place{'s' if len(rows) != 1 else ''}, about {total:.0f} min, in this order:")
            for k, (idx, r) in enumerate(rows.iterrows(), start=1):
                n = int(r["visits"])
                # place names and reasons are data: shown as text, never as Markdown; the link is built from numbers
                st.markdown(f"{k}. **{md_escape(r['name'])}**: {n} visit{'s' if n != 1 else ''}, "
                            f"about {r['minutes']:.0f} min")
                st.caption(md_escape(r["reason"]))
                st.link_button("Directions", planning.directions_url(r["x"], r["y"]),
                               help="Opens the phone's map app with directions to the place.")
                row = mine[(mine["date"] == date) & (mine["shift"] == shift)
                           & (mine["candidate_id"] == r["candidate_id"])].iloc[0]
                if st.button("Done as planned", key=f"{state.PATROL_DONE_PREFIX}{date}.{shift}.{r['candidate_id']}",
                             help="Logs this visit as planned (visits and minutes); use the form below to change them."):
                    try:
                        logged = access.log_patrol(viewer, engine, meeting_id, row, agent_id=agent, visits=None,
                                                   minutes=None, note="")
                    except HotspotError as exc:
                        st.error(f"Not logged: {md_escape(exc)}")
                    else:
                        st.success(f"Logged ({md_escape(logged['match_note'])}).")

    st.subheader("My places this week")
    places = planning.agent_places(plan, agent)
    # a phone's map: the streets around the warden's own places only, a dozen at most
    streets = svc.street_labels(version, maps.label_bounds(places, pad_m=300), limit=maps.PHONE_STREETS,
                                min_n=access.street_label_floor(viewer))
    # the warden's places named on the map (not ranked: the shift lists above give the visiting order)
    st_folium(maps.patrol_map(places, wards, ward_label=tables.ward_heading(pc.area.ward_vintage), streets=streets,
                              label_top=len(places), label_rank=False, static_url=maps.static_url_for(st.get_option("server.baseUrlPath") or "")),
              key=state.PATROL_MAP, height=340, use_container_width=True, returned_objects=[])

    # ------------------------------------------------------------ log a patrol
    st.subheader("Log a patrol done")
    labels = [planning.assignment_label(r) for _, r in mine.iterrows()]
    with st.form("patrol_log", clear_on_submit=True, border=True):
        pick = st.selectbox("Patrol", list(range(len(labels))), format_func=labels.__getitem__,
                            key=state.PATROL_ASSIGNMENT)
        visits = st.number_input("Visits done", min_value=0, max_value=20, value=None, step=1,
                                 placeholder="as planned", key=state.PATROL_VISITS,
                                 help="0 if the patrol could not be done (say why in the note).")
        minutes = st.number_input("Minutes", min_value=0, max_value=600, value=None, step=5,
                                  placeholder="as planned", key=state.PATROL_MINUTES)
        note = st.text_input("Note (optional)", key=state.PATROL_NOTE)
        done = st.form_submit_button("Log patrol done", type="primary", key=state.PATROL_SUBMIT)
    if done:
        try:
            logged = access.log_patrol(viewer, engine, meeting_id, mine.iloc[pick], agent_id=agent, visits=visits,
                                       minutes=minutes, note=note)
        except HotspotError as exc:
            st.error(f"Not logged: {md_escape(exc)}")
        else:
            st.success(f"Logged ({md_escape(logged['match_note'])}).")

# ---------------------------------------------------------------- my logs this week
logs = planning.agent_logs(access.patrol_logs(viewer, engine, meeting_id), agent)
names = planning.place_names(plan)
if len(logs):
    st.subheader("My logs this week")
    for _, r in logs.iterrows():
        n = int(r["visits"])
        place = names.get(r["candidate_id"], r["candidate_id"])
        st.markdown(f"- {planning.day_name(r['date'])} {md_escape(r['shift'])}: {md_escape(place)}, "
                    f"{n} visit{'s' if n != 1 else ''}, "
                    f"{r['minutes']:.0f} min "
                    f"({'planned' if r['planned'] else 'unplanned'})")
