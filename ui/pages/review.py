"""Review: last week's approved plan against what happened - outcomes, delivery, displacement, notes and decisions."""

from __future__ import annotations

import streamlit as st
from streamlit_folium import st_folium

from spatial._errors import HotspotError
from tasking import access, records
from tasking._errors import EditConflict
from tasking.review import delivery
from ui import maps, planning, review, service, state, tables
from ui.text import md_escape

ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0 "
    "(police.uk, ONS); Contains OS data © Crown copyright and database right; WDQ after Bowers and Johnson (2003)."
)

pc = service.page_context("review", 'Review of last week')
viewer, engine, svc, version = pc.viewer, pc.engine, pc.service, pc.version
user = viewer.user  # recorded on review notes and decision changes
roster = pc.require_roster()
borough = pc.borough  # the key of the area's meetings (RBKC: the roster's borough)
session = st.session_state
today = state.today(session)

# ---------------------------------------------------------------- which week
weeks = review.reviewable_weeks(records.list_meetings(engine, borough=borough), today=today)
if not weeks:
    st.info("No past week has an approved plan to review yet. Build next week's plan on the **Tasking** page and "
            "approve it; after that week, come back here to compare what was planned with what happened.")
    st.divider()
    st.caption(ATTRIBUTION)
    st.stop()

with st.sidebar:
    st.header("Review")
    state.keep_valid(session, state.REVIEW_WEEK, weeks)
    session.setdefault(state.REVIEW_WEEK, review.default_review_week(weeks, today=today))
    week = st.selectbox("Week reviewed", weeks, key=state.REVIEW_WEEK, format_func=planning.week_label,
                        help="Past weeks with an approved plan; last week is chosen at first.")
    st.caption(f"Notes and decision changes are recorded as {md_escape(user)} ({viewer.role}).")

meeting_id = records.find_meeting(engine, week=week, borough=borough)
found = access.approved_plan(viewer, engine, meeting_id) if meeting_id is not None else None
if meeting_id is None or found is None:  # the list above only offers approved weeks; a concurrent change
    st.warning(f"{planning.week_label(week)} has no approved plan any more; pick another week.")
    st.stop()
plan_version, plan = found
meeting = records.get_meeting(engine, meeting_id)
st.caption(f"Meeting {meeting_id} for {planning.week_label(week)}: approved plan version {plan_version}, "
           f"status {meeting['status']}.")

# ---------------------------------------------------------------- which incidents
wards = svc.wards(version)
incidents = svc.review_incidents(version)
held = svc.review_months(version)
newest = max(held) if held else None
week_share = review.week_overlap(incidents, week)
after_options = ([review.WEEK_PERIOD] if week_share > 0 else []) + list(held)
month_labels = {m: f"{m} ({n:,} incidents)" for m, n in held.items()}
month_labels[review.WEEK_PERIOD] = f"the week {week} itself ({week_share:,.1f} incidents, aoristic)"

st.header("What is compared")
periods = None
if len(after_options) < 2:
    st.warning(f"The store holds non-sensitive incidents of only {len(held)} month(s) for the borough "
               f"({', '.join(held) or 'none'}): the before/after comparison and the displacement check need two "
               "periods. Ingest another month (Data page, or `hotspot-tasking ingest`). Delivery is shown below.")
else:
    unreliable = svc.review_unreliable_months(version)
    default = review.default_periods(list(held), unreliable=unreliable) or review.ReviewPeriods(
        before=tuple(held)[:1], after=(review.WEEK_PERIOD,))
    if week_share > 0:
        default = review.ReviewPeriods(before=review.week_before_months(list(held), unreliable=unreliable),
                                       after=(review.WEEK_PERIOD,))
    state.keep_valid(session, state.REVIEW_BEFORE, list(held))
    state.keep_valid(session, state.REVIEW_AFTER, after_options)
    session.setdefault(state.REVIEW_BEFORE, list(default.before))
    session.setdefault(state.REVIEW_AFTER, list(default.after))
    left, right = st.columns(2)
    before = left.multiselect("Before (months held)", list(held), key=state.REVIEW_BEFORE,
                              format_func=month_labels.__getitem__,
                              help="The period before the tasking: the places are matched on its harm.")
    after = right.multiselect("After", after_options, key=state.REVIEW_AFTER, format_func=month_labels.__getitem__,
                              help="The tasked period: months held, or the week itself when data reach it.")
    after_is_week = review.WEEK_PERIOD in after
    periods = review.ReviewPeriods(before=tuple(sorted(before)),
                                   after=() if after_is_week else tuple(sorted(after)), after_is_week=after_is_week)
    st.info(review.period_statement(periods, week=week, newest_month=newest), icon=":material/event:")
    chosen = [m for m in unreliable if m in {*periods.before, *periods.after}]
    if chosen:
        st.warning("Not reliable: " + "; ".join(f"{m} ({unreliable[m]})" for m in chosen)
                   + ". Changes against such a month are not reliable"
                   + (", and the store holds no better month to compare." if len(held) - len(unreliable) < 2
                      else "; the default comparison leaves it out."))

result = None
tasked = None
error = None
try:
    if periods is not None:
        with st.spinner("Comparing tasked and untasked places…"):
            result, tasked = svc.week_review(version, meeting_id, plan_version,
                                                week, periods.before, periods.after, periods.after_is_week)
except HotspotError as exc:
    error = str(exc)
if error:
    st.warning(f"No comparison for this choice: {md_escape(error)}")

# ---------------------------------------------------------------- outcomes
names = planning.place_names(plan)
if result is not None:
    st.header("Tasked places against comparable untasked places")
    st.dataframe(review.comparison_table(result), width="stretch", hide_index=True)
    st.caption("Each tasked place is matched to the 3 untasked places of the same type with the nearest harm per "
               "week before (untasked grid cells of the borough for streets). Difference in differences = change "
               "in the tasked places minus change in their matches, per week; below 0 means the tasked places did "
               "better. A matched comparison, not a trial; a few incidents make it noisy. Non-sensitive incidents "
               "only.")
    for note in result.comparison.notes:
        st.caption(f"Note: {md_escape(note)}")

# ---------------------------------------------------------------- delivery
st.header("Planned against delivered patrols")
logs = access.patrol_logs(viewer, engine, meeting_id)  # read on every run: patrols are logged all week
dl = delivery(plan, logs)
by_agent, by_place = review.delivery_tables(dl, names=names)
totals = dl.totals
cols = st.columns(4)
cols[0].metric("Planned visits", f"{totals.get('planned_visits', 0):,}")
cols[1].metric("Delivered visits", f"{totals.get('delivered_visits', 0):,}")
rate = totals.get("delivery_rate")
cols[2].metric("Delivery rate", "-" if rate is None or rate != rate else f"{rate:.0%}")
cols[3].metric("Unplanned visits", f"{totals.get('unplanned_visits', 0):,}")
if logs.empty:
    st.caption("No patrol has been logged for this week: wardens and parks police log patrols on My patrols.")
st.subheader("By agent")
st.dataframe(by_agent, width="stretch", hide_index=True)
st.subheader("By place")
st.dataframe(by_place, width="stretch", hide_index=True)
st.caption("Delivered visits are logged visits for the same agent, place, date and shift, up to the number planned; "
           "more are extra visits; a log that matches no planned slot is an unplanned visit.")

# ---------------------------------------------------------------- displacement
if result is not None:
    st.header("Displacement or diffusion (Weighted Displacement Quotient)")
    st.dataframe(review.wdq_table(result), width="stretch", hide_index=True,
                 column_config={"Reading": st.column_config.TextColumn(width="large")})
    st.markdown(review.wdq_explanation(review.BUFFER_M))
    streets = svc.street_labels(version, maps.label_bounds(wards), min_n=access.street_label_floor(viewer))
    st_folium(maps.review_map(result.displacement.zones, tasked, wards, ward_label=tables.ward_heading(pc.area.ward_vintage), buffer_m=review.BUFFER_M, streets=streets,
                              static_url=maps.static_url_for(st.get_option("server.baseUrlPath") or "")),
              key=state.REVIEW_MAP, height=520, use_container_width=True, returned_objects=[])
    st.caption("No incident is drawn: the map shows the zones the quotient compares.")

# ---------------------------------------------------------------- decisions
st.header("Decisions of this meeting")
decisions = access.decisions(viewer, engine, meeting_id=meeting_id)
# when each decision was last changed, as this user last saw it: an update made by someone else since is a conflict
seen = dict(session.get(state.REVIEW_DECISIONS_SEEN, {}))
session[state.REVIEW_DECISIONS_SEEN] = {int(i): str(t) for i, t in zip(decisions["decision_id"],
                                                                       decisions["updated_at"], strict=True)}
if decisions.empty:
    st.caption("No decisions were recorded at this meeting.")
else:
    st.dataframe(tables.decisions_table(decisions).assign(Outcome=decisions["outcome"].fillna("").to_numpy()),
                 width="stretch", hide_index=True)
    choices = review.decision_choices(decisions)
    with st.form("decision_status", clear_on_submit=True, border=True):
        picked = st.selectbox("Decision", list(choices), format_func=choices.__getitem__, key=state.REVIEW_DECISION)
        status = st.selectbox("New status", list(records.DECISION_STATUSES), key=state.REVIEW_DECISION_STATUS)
        outcome = st.text_input("Outcome (optional)", key=state.REVIEW_DECISION_OUTCOME)
        changed = st.form_submit_button("Update decision", key=state.REVIEW_DECISION_SUBMIT)
    if changed:
        try:
            access.update_decision(viewer, engine, int(picked), status=status, outcome=outcome.strip() or None,
                                   expected_updated_at=seen.get(int(picked)))
        except EditConflict as exc:
            st.error(md_escape(exc))
        except HotspotError as exc:
            st.error(f"Decision not updated: {md_escape(exc)}")
        else:
            st.success(f"Decision #{picked} is now {status}.")
            st.rerun()

# ---------------------------------------------------------------- review notes
st.header("Review notes")
with st.form("review_note", clear_on_submit=True, border=True):
    section = st.selectbox("Section", list(records.REVIEW_SECTIONS), key=state.REVIEW_NOTE_SECTION)
    text = st.text_area("Note", key=state.REVIEW_NOTE_TEXT)
    added = st.form_submit_button("Add note", key=state.REVIEW_NOTE_SUBMIT)
if added:
    try:
        access.add_review_note(viewer, engine, meeting_id, text=text, section=section)
    except HotspotError as exc:
        st.error(f"Note not added: {md_escape(exc)}")
    else:
        st.success("Note added.")
notes = access.review_notes(viewer, engine, meeting_id)
if notes.empty:
    st.caption("No review notes yet.")
else:
    st.dataframe(review.notes_table(notes), width="stretch", hide_index=True)

meeting = records.get_meeting(engine, meeting_id)
if meeting["status"] == "reviewed":
    st.success("This meeting is marked reviewed.")
elif st.button("Mark the meeting reviewed", key=state.REVIEW_MARK_BUTTON, type="primary"):
    try:
        access.mark_reviewed(viewer, engine, meeting_id)
    except HotspotError as exc:
        st.error(f"Not marked reviewed: {md_escape(exc)}")
    else:
        st.success("This meeting is marked reviewed.")

st.divider()
st.caption(ATTRIBUTION)
