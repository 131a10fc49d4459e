"""Schemes: a housing association's schemes as the unit (league with each rate's basis, not-ASB kept apart,
repeat locations, schemes ranked for a deployable camera).

Every figure is :func:`tasking.housing.scheme_report` for the signed-in viewer (the report the
``hotspot-tasking schemes`` commands print and the pack carries); ``ui.schemes`` names the columns.
"""

from __future__ import annotations

import streamlit as st

from spatial.low_months import league_note
from spatial.not_asb import policy_reference
from spatial.schemes import RATE_BASIS
from tasking import access
from tasking.access import can
from tasking.housing import scheme_report
from ui import schemes, service, signin, state, tables
from ui.text import md_escape

pc = service.page_context("schemes", "Schemes")
viewer, svc, version = pc.viewer, pc.service, pc.version
session = st.session_state

inputs, why_not = svc.scheme_inputs(version)
if inputs is None:
    st.caption(f"Area: {md_escape(pc.area.label)}")
    st.info(md_escape(schemes.how_to_load(pc.area.label, why_not)) if schemes.is_missing_schemes(why_not)
            else f"The schemes could not be read: {md_escape(why_not)}")
    st.stop()

state.keep_valid(session, state.SCHEMES_SORT, schemes.SORT_LABELS)
session.setdefault(state.SCHEMES_SORT, "rate")
sort_by = schemes.sort_choice(st.selectbox("Order the schemes by", list(schemes.SORT_LABELS),
                                           key=state.SCHEMES_SORT, format_func=schemes.SORT_LABELS.__getitem__))
report = scheme_report(inputs, viewer, roster=pc.roster, sort_by=sort_by)
warning = schemes.synthetic_warning(report)
if warning:
    st.warning(warning)
st.caption(f"Schemes of {md_escape(pc.area.label)}: {len(inputs.schemes)} schemes, cases of "
           f"{tables.period_label(list(report.months)) if report.months else 'no month'}; sources: "
           f"{md_escape(', '.join(report.sources) or '-')}.")
signin.audit_sensitive_view(viewer, "schemes", detail={"area": pc.area.name, "schemes": len(inputs.schemes)})

# ---------------------------------------------------------------- league
st.header("League of schemes")
league = schemes.league_table(report)
st.dataframe(league, width="stretch", hide_index=True)
if report.league is not None:
    denominators = report.league.attrs.get("denominators", {})
    st.caption("Each scheme's rate says its basis: " + "; ".join(
        f"{n} scheme{'s' if n != 1 else ''} {RATE_BASIS.get(d, d)}" for d, n in denominators.items())
        + ". Homes come from the stock layer; a scheme without a homes count is rated per 1,000 residents, "
        "from Census 2021 usual residents of the LSOAs it overlaps, apportioned by area. Sensitive counts of 1 "
        "to 4 read \"fewer than 5\", and that scheme's total, harm and rate are withheld.")
    low_note = league_note(list(report.league.attrs.get("low_months", [])),
                           kept_months=int(report.league.attrs.get("months_counted", 0)), table="The schemes league")
    if low_note:
        st.info(md_escape(low_note), icon=":material/event_busy:")
    if can(viewer, "export"):
        def _league_csv() -> bytes:
            return access.scheme_league_bytes(viewer, report, engine=pc.engine)

        st.download_button("League (CSV)", data=_league_csv, file_name=f"schemes-{pc.area.name}.csv",
                           mime="text/csv", on_click="ignore", key=f"{state.DOWNLOAD_PREFIX}schemes_csv")
        st.caption("The file `hotspot-tasking schemes league --out FILE.csv` writes (sensitive counts suppressed the "
                   "same way). Each download is recorded in the export audit.")

# ---------------------------------------------------------------- not ASB
st.header("Reports that are not ASB (kept apart)")
total = int(report.not_asb.attrs.get("total", 0)) if report.not_asb is not None else 0
policy = (str(report.not_asb.attrs.get("policy")) if report.not_asb is not None
          else policy_reference(inputs.not_asb_policy))
st.markdown(f"**{total:,} reports are not ASB** ({report.n_not_asb_on_schemes:,} of them on the schemes). "
            f"{md_escape(schemes.not_asb_why(policy))}")
st.dataframe(schemes.not_asb_table(report), width="stretch", hide_index=True)

# ---------------------------------------------------------------- repeats
st.header("Repeat locations")
if report.repeats is not None:
    st.caption(f"Rule: {md_escape(report.repeats.rule)} (ASB cases only).")
    ward_names = tables.ward_names(svc.wards(version))
    points = schemes.repeat_points_table(report, ward_names=ward_names)
    if points is not None and can(viewer, "incident_points"):
        st.subheader("Places (non-sensitive cases only)")
        if points.empty:
            st.caption("No non-sensitive repeat location.")
        else:
            st.dataframe(tables.with_ward_vintage(points, pc.area.ward_vintage), width="stretch", hide_index=True)
    st.subheader("By scheme and ward")
    st.dataframe(tables.with_ward_vintage(schemes.repeat_counts_table(report, ward_names=ward_names),
                                           pc.area.ward_vintage),
                 width="stretch", hide_index=True)
    st.caption("Repeat locations of sensitive cases are never shown as places, to anyone: only counted per scheme "
               "and ward, with 1 to 4 cases shown as \"fewer than 5\".")

# ---------------------------------------------------------------- CCTV
st.header("Schemes for a deployable camera")
cctv = schemes.cctv_table(report)
if cctv is None:
    st.info(f"No CCTV ranking: {md_escape(report.cctv_note)}.")
else:
    st.dataframe(cctv, width="stretch", hide_index=True)
    st.caption(f"Each scheme's site is its hottest point: proposed — needs a site survey (mounting point, power, "
               f"sight lines). {md_escape(report.cctv_note)}. Every deployment needs the Surveillance Camera Code "
               "of Practice checks (legitimate aim, DPIA, proportionality).")
