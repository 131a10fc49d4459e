"""Overview: this period against the previous period and last year, long-run trends, and the ward league table."""

from __future__ import annotations

import streamlit as st

from spatial._errors import HotspotError
from ui import overview, service, signin, state, tables
from ui.text import md_escape

ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0 "
    "(police.uk, ONS); MPS recorded crime: Metropolitan Police Service, London Datastore, OGL v2.0; "
    "IMD 2019: MHCLG, OGL v3.0; Contains OS data © Crown copyright and database right"
)

pc = service.page_context("overview", "Overview")
viewer, svc, version = pc.viewer, pc.service, pc.version
wards = svc.wards(version)
borough_name = pc.area.label  # the roster's borough (RBKC), or the area's name

available = {src: svc.overview_months(version, src) for src in overview.SOURCES}
if not any(available.values()):
    st.warning("The database holds no data for the borough yet. Load the bundled data with "
               "`hotspot-tasking ingest --bundled` (police.uk points and the MPS ward series), then reload this page.")
    st.divider()
    st.caption(ATTRIBUTION)
    st.stop()

# ---------------------------------------------------------------- sidebar
session = st.session_state
with st.sidebar:
    st.header("Filters")
    sources = [s for s in overview.SOURCES if available[s]]
    state.keep_valid(session, state.OVERVIEW_SOURCE, sources)
    source = st.radio("Counts from", sources, format_func=overview.SOURCES.__getitem__, key=state.OVERVIEW_SOURCE,
                      help="The MPS series covers every RBKC ward month by month since April 2010; the stored "
                           "incidents are the police.uk points and council logs you loaded.")
    months = available[source]
    if len(months) > 1:
        state.keep_range(session, state.OVERVIEW_PERIOD, months)
        first, last = st.select_slider("Period", options=months, value=(months[-1], months[-1]),
                                       key=state.OVERVIEW_PERIOD,
                                       help="Months the source really covers. The period is compared with the "
                                            "same number of months just before it and the same months a year "
                                            "earlier.")
    else:
        first = last = months[0]
        st.caption(f"Period: {months[0]}, the only month this source covers.")

st.info("Violence and sexual offences and safeguarding categories appear only as counts for the borough or a "
        "ward, never as points; a count of 1 to 4 is shown as \"fewer than 5\" and the totals it would reveal "
        "are withheld.", icon=":material/shield:")

# ---------------------------------------------------------------- comparison
try:
    with st.spinner("Counting…"):
        cmp = svc.overview_comparison(version, source, first, last)
except HotspotError as exc:
    st.warning(f"No comparison for this selection: {md_escape(exc)}")
    st.stop()
signin.audit_sensitive_view(viewer, "overview", detail={"source": source, "period": f"{first}..{last}"})
named = cmp.periods.named()
st.subheader(f"{md_escape(borough_name)}: {overview.period_text(cmp.periods.this)} compared")
st.caption(" · ".join(f"{name}: {overview.period_text(m)}" for name, m in named.items()))
cols = st.columns(len(cmp.headline))
for col, (label, value, delta) in zip(cols, cmp.headline, strict=True):
    col.metric(label, value, delta=delta, delta_color="inverse" if delta else "off")
for note in cmp.coverage:
    st.warning(md_escape(note), icon=":material/event_busy:")

st.markdown("**By category group**")
st.dataframe(cmp.by_group, width="stretch", hide_index=True, height=overview.table_height(cmp.by_group))
st.markdown("**By ward**")
st.dataframe(tables.with_ward_vintage(cmp.by_ward, pc.area.ward_vintage), width="stretch", hide_index=True,
             height=overview.table_height(cmp.by_ward))
st.caption("Harm is the Cambridge Crime Harm Index (days of imprisonment a first offender would get; "
           "spatial/data/harm_weights.md). A change is only given when both figures are shown.")

st.subheader("Ward league table, this period")
st.dataframe(overview.league_styled(tables.with_ward_vintage(cmp.league, pc.area.ward_vintage)), width="stretch",
             hide_index=True,
             height=overview.table_height(cmp.league))
st.caption("Ranked by harm. Rates per 1,000 residents use Census 2021 (best-fit ward totals); IMD 2019 is the "
           "population-weighted mean score of the ward's 2011 LSOAs (higher is more deprived). A ward whose "
           "sensitive count is fewer than 5 has its total, harm and rates withheld and ranks last.")

# ---------------------------------------------------------------- long-run trends (MPS)
st.subheader("Long-run trends (MPS recorded crime)")
if not available["mps"]:
    st.info("No MPS ward series is stored for this borough: load the MPS tables with "
            "`hotspot-tasking ingest --bundled` (or `hotspot-tasking ingest data/mps/*.csv`).")
else:
    groups = [overview.ALL_GROUPS, *overview.mps_groups()]
    ward_options = {overview.BOROUGH: overview.BOROUGH,
                    **dict(sorted(zip(wards["ward_code"], wards["ward_name"], strict=True), key=lambda kv: kv[1]))}
    state.keep_valid(session, state.OVERVIEW_WARD, ward_options)
    c1, c2 = st.columns(2)
    group = c1.selectbox("Offence group", groups, key=state.OVERVIEW_GROUP,
                         format_func=lambda g: g if g == overview.ALL_GROUPS else overview.GROUP_LABELS[g])
    ward = c2.selectbox("Ward", list(ward_options), format_func=ward_options.__getitem__, key=state.OVERVIEW_WARD)
    trend, by_group = svc.overview_trends(version, group, ward)
    where = ward_options[ward]
    st.markdown(f"**{overview.GROUP_LABELS.get(group, group)}, {where}: monthly count and 12-month rolling mean**")
    st.line_chart(trend, y_label="offences per month")
    st.markdown(f"**Every offence group, {where}: 12-month rolling mean**")
    st.line_chart(by_group, y_label="offences per month (12-month mean)")
    mps_months = available["mps"]
    st.caption(f"MPS recorded crime by ward, {mps_months[0]} to {mps_months[-1]}, spliced across the MPS releases "
               "(data/SOURCES.md). Missing points are suppressed months (a sensitive count of 1 to 4), and a rolling "
               "mean is only drawn when all 12 months are shown.")

st.divider()
st.caption(ATTRIBUTION)
