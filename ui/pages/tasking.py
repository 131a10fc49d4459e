"""Tasking: next week's plan for wardens, parks police and deployable CCTV, the chair's pins, approval and the pack."""

from __future__ import annotations

import streamlit as st
from streamlit_folium import st_folium

from spatial._errors import HotspotError
from tasking import access, records
from tasking._errors import EditConflict
from tasking.candidates import DAY_NAMES
from tasking.formats import EXPORT_FORMATS
from tasking.kinds import counted
from tasking.pack import build_pack
from tasking.plan import Plan
from ui import maps, planning, service, state, tables
from ui.text import md_escape

pc = service.page_context("tasking", "Tasking")
viewer, engine, svc, version = pc.viewer, pc.engine, pc.service, pc.version
user = viewer.user  # recorded on the approval, the decisions and every export
roster = pc.require_roster()
borough = pc.borough  # the key of the area's meetings (RBKC: the roster's borough)
today = state.today(st.session_state)
session = st.session_state
session.setdefault(state.TASKING_PINS, [])
session.setdefault(state.TASKING_EXCLUSIONS, [])


# ---------------------------------------------------------------- callbacks (run before the page)
def _show_plan() -> None:
    session[state.TASKING_SHOW] = True


def _add_pin() -> None:
    pin = (session[state.PIN_AGENT], session[state.PIN_CANDIDATE], int(session[state.PIN_DAY]),
           session[state.PIN_SHIFT], int(session[state.PIN_VISITS]))
    if pin not in session[state.TASKING_PINS]:
        session[state.TASKING_PINS] = [*session[state.TASKING_PINS], pin]


def _remove_pin(i: int) -> None:
    session[state.TASKING_PINS] = [p for k, p in enumerate(session[state.TASKING_PINS]) if k != i]


def _add_exclusion() -> None:
    cand = session[state.EXCLUDE_CANDIDATE]
    if cand and cand not in session[state.TASKING_EXCLUSIONS]:
        session[state.TASKING_EXCLUSIONS] = [*session[state.TASKING_EXCLUSIONS], cand]


def _load_latest() -> None:
    """Carry on from the newest stored version: its pins and exclusions, and it becomes the base."""
    latest = planning.latest_instructions(engine, week=session[state.TASKING_WEEK], borough=borough)
    session[state.TASKING_BASE] = latest.version if latest else 0
    if latest is not None:
        session[state.TASKING_PINS] = list(latest.pins)
        session[state.TASKING_EXCLUSIONS] = list(latest.exclusions)


def _remove_exclusion(i: int) -> None:
    session[state.TASKING_EXCLUSIONS] = [c for k, c in enumerate(session[state.TASKING_EXCLUSIONS]) if k != i]


# ---------------------------------------------------------------- sidebar: week and user
weeks = planning.week_choices(today, before=1, after=4)
state.keep_valid(session, state.TASKING_WEEK, weeks)
state.keep_valid(session, state.TASKING_WEEK_INPUT, weeks)
session.setdefault(state.TASKING_WEEK, planning.next_week(today))
state.restore(session, state.TASKING_WEEK_INPUT, state.TASKING_WEEK)
with st.sidebar:
    st.header("Meeting")
    week = st.selectbox("Week to plan", weeks, key=state.TASKING_WEEK_INPUT, format_func=planning.week_label,
                        help="Next week is chosen at first. Pins and exclusions belong to one week.")
    keep_presence = st.toggle("Ward presence: one visit a day in every ward", value=True,
                              key=state.TASKING_PRESENCE,
                              help="The roster asks for a visit a day in every ward, even where little is recorded. "
                                   "Turn it off to see the plan without that rule (it is solved again).")
    st.caption(f"Approvals, decisions and exports are recorded as {md_escape(user)} ({viewer.role}). "
               f"Roster: {md_escape(roster.source)} ({md_escape(counted(len(roster.wardens), roster.warden_title))}"
               + (f", {counted(len(roster.parks_police), 'parks police')}" if roster.parks_police else "") + ").")
if week != session[state.TASKING_WEEK]:  # another week: the chair's instructions were for the old one
    session[state.TASKING_WEEK] = week
    session[state.TASKING_PINS] = []
    session[state.TASKING_EXCLUSIONS] = []
    session.pop(state.TASKING_BASE, None)
    session.pop(state.TASKING_OPENED_APPROVED, None)
    session[state.TASKING_SHOW] = False  # another week is built when asked (or opened on its approved version)
if state.TASKING_BASE not in session:  # what this user has seen of the week: saving on top of anything newer conflicts
    session[state.TASKING_BASE] = planning.latest_version(engine, week=week, borough=borough)
    approved = planning.latest_instructions(engine, week=week, borough=borough, approved=True)
    if approved is not None:  # an approved week opens on its approved version (its pins and exclusions)
        session[state.TASKING_PINS] = list(approved.pins)
        session[state.TASKING_EXCLUSIONS] = list(approved.exclusions)
        session[state.TASKING_OPENED_APPROVED] = approved.version
        session[state.TASKING_SHOW] = True

if not session.get(state.TASKING_SHOW):
    st.info(f"Build the plan for {planning.week_label(week)}: hotspots of harm in the latest "
            f"{planning.PLAN_MONTHS} months with data, "
            "the roster's wardens, parks police and cameras, then the chair's pins and exclusions. "
            "It takes 5 to 10 seconds.")
    st.button("Build plan", type="primary", key=state.BUILD_BUTTON, on_click=_show_plan)
    st.stop()

# ---------------------------------------------------------------- the plan
pins = tuple(tuple(p) for p in session[state.TASKING_PINS])
exclusions = tuple(session[state.TASKING_EXCLUSIONS])
with st.status(f"Building the plan for {week}…", expanded=False) as status:
    st.write("Hotspots of harm → candidate places → allocation (HiGHS) → greedy baseline → independent check.")
    presence = None if keep_presence else "none"
    outcome = svc.week_plan(version, week, pins, exclusions, presence)
    if outcome.plan is None:
        status.update(label=f"No plan for {week}", state="error")
    else:
        status.update(label=f"Plan for {week} built ({len(outcome.plan['assignments'])} assignments)",
                      state="complete")

plan = outcome.plan
base = plan if plan is not None else svc.week_plan(version, week, (), ()).plan
wards = svc.wards(version)
ward_names = tables.ward_names(wards)

if plan is None:
    st.error(md_escape(outcome.error) or "No plan could be made.")
    if pins or exclusions:
        st.caption("Remove or change the pin or exclusion named above (Chair's instructions, below) to solve again.")
else:
    st.header(f"Plan for {planning.week_label(week)}")
    opened = session.get(state.TASKING_OPENED_APPROVED)
    if opened is not None:
        st.caption(f"Opened on the approved version {opened}: its pins and exclusions, solved on the current data.")
    view = planning.chair_view(plan, roster=roster,
                               previous=planning.previous_week_plan(engine, week=week, borough=borough))
    st.markdown("\n".join(f"- {md_escape(t)}" for t in view.sentences))
    if not keep_presence:
        st.warning("Ward presence is relaxed for this solve: wards with little recorded harm may get no visit.")
    if view.changes_against:
        st.markdown(f"**Since {md_escape(planning.week_label(view.changes_against))}** (its approved plan):\n"
                    + "\n".join(f"- {md_escape(t)}" for t in view.changes))
    else:
        st.caption("No approved plan for the week before, so there is nothing to compare with.")
    pack = build_pack(plan, borough_name=pc.area.label)  # the summary and the assignments table read it
    plan_places = planning.plan_places(plan)
    streets = svc.street_labels(version, maps.label_bounds(plan_places, pad_m=300),
                                min_n=access.street_label_floor(viewer))
    st_folium(maps.patrol_map(plan_places, pc.area.wards, ward_label=tables.ward_heading(pc.area.ward_vintage), label_top=6, streets=streets,
                              static_url=maps.static_url_for(st.get_option("server.baseUrlPath") or "")),
              key=state.TASKING_MAP, height=460, use_container_width=True, returned_objects=[])
    if len(view.departures):
        st.caption(f"{len(view.departures)} places get a share of the visits that differs from their share of "
                   "the harm; why, place by place: *Why visits do not follow harm everywhere*, below.")
    with st.expander("How the plan was worked out (solver figures)"):
        for col, (label, value, help_text) in zip(st.columns(4), tables.plan_metrics(plan), strict=True):
            col.metric(label, value, help=help_text)
        st.markdown("\n".join(f"- **{md_escape(label)}**: {md_escape(text)}"
                               for label, text in tables.METRIC_SENTENCES))
        summary, notes = tables.plan_summary(plan, borough_name=pc.area.label, pack=pack)
        st.markdown("\n".join(f"- **{md_escape(k)}**: {md_escape(v)}" for k, v in summary.items()))
        st.markdown("**Notes and assumptions**")
        st.markdown("\n".join(f"- {md_escape(n)}" for n in notes))

    st.subheader("Assignments by agent, day and shift")
    agent_names = tables.agent_labels(roster)
    shown = st.multiselect("Agents", options=list(agent_names), format_func=agent_names.__getitem__,
                           key=state.TASKING_AGENT_FILTER, placeholder="All agents")
    st.dataframe(tables.with_ward_vintage(tables.assignments_table(plan, ward_names=ward_names, agents=shown, pack=pack),
                                          pc.area.ward_vintage), width="stretch",
                 hide_index=True, column_config={"Why": st.column_config.TextColumn(width="large")})

    st.subheader("Unassigned places")
    unassigned = tables.unassigned_table(plan, ward_names=ward_names)
    if unassigned.empty:
        st.caption("Every candidate place has at least one visit this week.")
    else:
        st.dataframe(tables.with_ward_vintage(unassigned, pc.area.ward_vintage), width="stretch", hide_index=True,
                     column_config={"Reason": st.column_config.TextColumn(width="large")})

    st.subheader("Deployable CCTV")
    st.dataframe(tables.cameras_table(plan), width="stretch", hide_index=True)

    if len(view.departures):
        st.subheader("Why visits do not follow harm everywhere")
        st.caption("A place's share of the week's visits differs from its share of the harm by more than "
                   "3 points here; the reason for each.")
        st.dataframe(tables.departures_table(view.departures), width="stretch", hide_index=True,
                     column_config={"Why": st.column_config.TextColumn(width="large")})

# ---------------------------------------------------------------- the chair's instructions
if base is not None:
    st.header("Chair's instructions")
    st.caption("Pin a visit the plan must make, or leave a place out this week; the plan is solved again.")
    cand_names = tables.candidate_labels(base, ward_names=ward_names)
    agent_names = tables.agent_labels(roster)
    left, right = st.columns(2)
    with left, st.form("pin_form", border=True):
        st.markdown("**Pin a visit**")
        st.selectbox("Agent", list(agent_names), format_func=agent_names.__getitem__, key=state.PIN_AGENT)
        st.selectbox("Place", list(cand_names), format_func=cand_names.__getitem__, key=state.PIN_CANDIDATE)
        st.selectbox("Day", list(range(7)), format_func=DAY_NAMES.__getitem__, key=state.PIN_DAY)
        st.selectbox("Shift", [s.name for s in roster.shifts], key=state.PIN_SHIFT)
        st.number_input("Visits", min_value=1, max_value=roster.dosage.max_visits, value=1, step=1,
                        key=state.PIN_VISITS)
        st.form_submit_button("Pin and solve again", key=state.PIN_SUBMIT, on_click=_add_pin)
    with right, st.form("exclude_form", border=True):
        st.markdown("**Leave a place out this week**")
        st.selectbox("Place", list(cand_names), format_func=cand_names.__getitem__, key=state.EXCLUDE_CANDIDATE)
        st.form_submit_button("Exclude and solve again", key=state.EXCLUDE_SUBMIT, on_click=_add_exclusion)
    for i, p in enumerate(session[state.TASKING_PINS]):
        text, button = st.columns([5, 1])
        text.write(f"Pin: {md_escape(planning.pin_label(p))}")
        button.button("Remove", key=f"{state.UNPIN_PREFIX}{i}", on_click=_remove_pin, args=(i,))
    for i, c in enumerate(session[state.TASKING_EXCLUSIONS]):
        text, button = st.columns([5, 1])
        text.write(f"Excluded: {md_escape(cand_names.get(c, c))}")
        button.button("Remove", key=f"{state.UNEXCLUDE_PREFIX}{i}", on_click=_remove_exclusion, args=(i,))

if plan is None:
    st.stop()

# ---------------------------------------------------------------- approval and decisions
st.header("Approval")
meeting = planning.meeting_state(engine, week=week, borough=borough, plan=plan)
if meeting is not None and meeting.approved_version is not None:
    approved_at = meeting.approved_at.tz_convert("Europe/London").strftime("%d %b %Y %H:%M")
    st.caption(f"Meeting {meeting.meeting_id} ({meeting.status}): version {meeting.approved_version} approved by "
               f"{md_escape(meeting.approved_by)} on {approved_at}.")
if meeting is not None and meeting.shown_approved:
    st.success(f"This plan is approved (version {meeting.shown_version}). Wardens and parks police see their "
               "part of it on My patrols.")
else:
    if meeting is not None and meeting.approved_version is not None:
        st.warning(f"The plan on screen differs from the approved version {meeting.approved_version}; approving it "
                   "saves it as a new version.")
    if st.button("Approve this plan", type="primary", key=state.APPROVE_BUTTON):
        try:
            result = access.approve_plan(viewer, engine, plan, base_version=int(session[state.TASKING_BASE]))
        except EditConflict as exc:
            st.error(md_escape(exc))
            st.button("Open the latest version", key=state.LOAD_LATEST_BUTTON, on_click=_load_latest,
                      help="Loads its pins and exclusions and solves again; then apply your changes and approve.")
        except HotspotError as exc:
            st.error(f"Not approved: {md_escape(exc)}")
        else:
            session[state.TASKING_BASE] = result.version
            st.success(f"Approved: version {result.version} of meeting {result.meeting_id}, by {md_escape(result.approved_by)} "
                       f"({result.role}).")
            meeting = planning.meeting_state(engine, week=week, borough=borough, plan=plan)

if meeting is not None:
    st.subheader("Decisions")
    cand_names = tables.candidate_labels(plan, ward_names=ward_names)
    with st.form("decision_form", clear_on_submit=True, border=True):
        action = st.text_area("Action", key=state.DECISION_ACTION)
        owner = st.text_input("Owner", key=state.DECISION_OWNER)
        due = st.date_input("Due", value=records.week_dates(week)[4], key=state.DECISION_DUE, format="DD/MM/YYYY")
        place = st.selectbox("Place (optional)", ["", *cand_names],
                             format_func=lambda c: cand_names.get(c, "none"), key=state.DECISION_CANDIDATE)
        added = st.form_submit_button("Add decision", key=state.DECISION_SUBMIT)
    if added:
        try:
            access.add_decision(viewer, engine, meeting.meeting_id, action=action, owner=owner, due=due,
                                candidate_id=place or None)
        except HotspotError as exc:
            st.error(f"Decision not added: {md_escape(exc)}")
        else:
            st.success("Decision added.")
    decisions = access.decisions(viewer, engine, meeting_id=meeting.meeting_id)
    if decisions.empty:
        st.caption("No decisions recorded for this meeting yet.")
    else:
        st.dataframe(tables.decisions_table(decisions), width="stretch", hide_index=True)

# ---------------------------------------------------------------- exports
st.header("Pack and exports")
typed = Plan.coerce(plan)
months = tuple(typed.inputs["months"])
inputs = svc.plan_inputs(version, months, 1, ())
recommendations, rec_note = svc.plan_recommendations(
    version, months, tuple(str(c.candidate_id) for c in typed.candidates))


def _export(fmt: planning.ExportFormat):
    def make() -> bytes:
        schemes = svc.pack_schemes(version, viewer)  # a housing association's schemes: a section of the pack
        # the GIS files draw the plan's places from the parks, estates and wards layers (the pack's map: parks)
        estates = None if EXPORT_FORMATS[fmt].document else inputs.estates
        return access.export_bytes(viewer, plan, format=fmt, engine=engine, wards=inputs.wards,
                                   parks=inputs.parks, estates=estates, recommendations=recommendations,
                                   area=inputs.area, area_label=pc.area.label, schemes=schemes)
    return make


columns = st.columns(len(EXPORT_FORMATS))
for col, (fmt, label, mime) in zip(columns, [
        (f.name, f.button, f.mime) for f in sorted(EXPORT_FORMATS.values(), key=lambda f: f.button_order)],
        strict=True):
    col.download_button(label, data=_export(fmt), file_name=f"tasking-{week}.{fmt}", mime=mime,
                        on_click="ignore", key=f"{state.DOWNLOAD_PREFIX}{fmt}")
st.caption("The CSV has a row per assignment; the GeoJSON a polygon per planned place (its visits, people and "
           "schedule); the GeoPackage the patches, the assignments, the cameras and their coverage. "
           "Each download is written when you click it and recorded in the export audit (who, role, when, "
           "week, plan version, the file's sha256). " + md_escape(rec_note or ""))
