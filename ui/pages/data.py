"""Data: upload and ingest files (with the reconciliation report), the quarantine, store status and the backtest."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from spatial._errors import HotspotError
from spatial.forecast import BASELINES, DEFAULT_METHOD, FORECASTERS
from tasking import access
from ui import data_admin, service, signin, state
from ui.text import md_escape

ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0 "
    "(police.uk, ONS); Contains OS data © Crown copyright and database right; PAI after Chainey et al. (2008)."
)

pc = service.page_context("data", "Data")
viewer, engine, svc, settings = pc.viewer, pc.engine, pc.service, pc.settings
session = st.session_state

# ---------------------------------------------------------------- upload and ingest
st.header("Load files")
st.caption("police.uk street-level CSVs (bulk download or API), a council export (CSV, GeoJSON or GeoPackage) "
           "together with its column-mapping YAML (see `data/synthetic/rbkc_council_asb_log_SYNTHETIC.mapping.yaml`), "
           "or MPS recorded-crime tables. Every row is stored, counted as a duplicate, or quarantined with the "
           "reason; a file is stored completely or not at all, and loading it again changes nothing.")
files = st.file_uploader("Files", accept_multiple_files=True, key=state.DATA_UPLOAD,
                         type=[s.lstrip(".") for s in (*data_admin.DATA_SUFFIXES, *data_admin.MAPPING_SUFFIXES)])
if st.button("Ingest", type="primary", key=state.DATA_INGEST_BUTTON, disabled=not files):
    access.require(viewer, "ingest", what="load files")
    uploads = [data_admin.Upload(f.name, f.getvalue()) for f in files]
    bar = st.progress(0.0, text="Starting…")

    def _progress(i: int, n: int, name: str) -> None:
        bar.progress(i / n if n else 1.0, text=f"Ingesting {name} ({i + 1} of {n})" if name else "Done")

    with tempfile.TemporaryDirectory(prefix="hotspot-upload-") as tmp:
        outcome = data_admin.ingest_uploads(engine, uploads, folder=Path(tmp), settings=settings,
                                            now=pd.Timestamp.now(tz="Europe/London"), progress=_progress,
                                            wards=pc.area.layers.wards, lsoas=pc.area.layers.lsoas)
    svc.clear()
    for message in outcome.errors:
        st.error(md_escape(message))
    if outcome.reports:
        st.subheader("Ingest report")
        if outcome.mapping:
            st.caption(f"Council files read with the mapping {md_escape(outcome.mapping)}.")
        st.dataframe(data_admin.report_table(outcome.reports), width="stretch", hide_index=True,
                     column_config={"Message": st.column_config.TextColumn(width="large")})
        t = data_admin.report_totals(outcome.reports)
        line = (f"{t['read']:,} rows read = {t['stored']:,} stored + {t['duplicates']:,} duplicates + "
                f"{t['quarantined']:,} quarantined"
                + (f" + {t['outside']:,} outside the area" if t["outside"] else ""))
        rejected = [r for r in outcome.reports if r.status != "complete"]
        if rejected:
            for r in rejected:
                st.error(f"{Path(r.path).name} was not stored: {md_escape(r.message)}")
        if t["read"] == t["stored"] + t["duplicates"] + t["quarantined"] + t["outside"]:
            st.success(f"Reconciled: {line}.")
        else:
            st.error(f"Not reconciled: {line}.")

# ---------------------------------------------------------------- store status
version = svc.version()  # again: the ingest above may have changed it
st.header("What is stored")
counts = access.source_month_counts(viewer, engine)
if counts.empty:
    st.info("The store is empty. Upload files above, or run `hotspot-tasking ingest --bundled`.")
else:
    st.dataframe(data_admin.status_table(counts), width="stretch", hide_index=True)
    signin.audit_sensitive_view(viewer, "data", detail={"table": "incidents by source and month"})
    st.caption("Incidents by source and month. Sensitive categories are counted separately and only as totals; "
               "a count of 1 to 4 is shown as \"fewer than 5\".")
with st.expander("Recent ingests (newest first)"):
    st.dataframe(access.recent_ingests(viewer, engine), width="stretch", hide_index=True)

# ---------------------------------------------------------------- quarantine
st.header("Quarantine")
rows = access.quarantine_rows(viewer, engine, limit=5000)
if rows.empty:
    st.caption("No row is in quarantine.")
else:
    view = data_admin.quarantine_view(rows)
    left, right = st.columns(2)
    files_q = sorted(view["File"].unique())
    state.keep_valid(session, state.DATA_QUARANTINE_FILE, files_q)
    pick = left.multiselect("Files", files_q, key=state.DATA_QUARANTINE_FILE, placeholder="All files")
    text = right.text_input("Field or reason contains", key=state.DATA_QUARANTINE_TEXT).strip().lower()
    shown = view[view["File"].isin(pick)] if pick else view
    if text:
        shown = shown[shown["Field"].str.lower().str.contains(text, regex=False)
                      | shown["Reason"].str.lower().str.contains(text, regex=False)]
    st.dataframe(shown, width="stretch", hide_index=True,
                 column_config={"Reason": st.column_config.TextColumn(width="large")})
    st.caption(f"{len(shown):,} of {len(view):,} quarantined rows (newest first, at most 5,000). The rows' raw text "
               "is not shown, and numbers in a reason are withheld unless the row is surely not a sensitive "
               "category. Row 0 means the whole file could not be read.")

# ---------------------------------------------------------------- backtest
st.header("How good are the forecasts? (backtest)")
st.caption("Rolling-origin backtest: each month from the 7th on is forecast from the months before it only, and "
           "the forecast's top cells (150 m) are scored against what happened: hit rate = share of next month's "
           "incidents in the chosen cells, PAI = hit rate / share of area. Drugs and possession of weapons "
           "(found mostly by police activity) are left out.")
methods = [DEFAULT_METHOD, *[m for m in FORECASTERS if m != DEFAULT_METHOD]]
if st.button("Run the backtest", key=state.DATA_BACKTEST_BUTTON):
    session[state.DATA_BACKTEST_SHOW] = True
if session.get(state.DATA_BACKTEST_SHOW):
    try:
        with st.spinner("Reading the points…"):
            bt = svc.backtest_data(version)
        st.info(f"Backtest data: {md_escape(bt.label)}.", icon=":material/info:")
        bar = st.progress(0.0, text="Backtest…")
        parts = []
        for i, m in enumerate(methods):
            bar.progress(i / len(methods), text=f"Backtest: {m} ({i + 1} of {len(methods)})")
            parts.append(svc.backtest_method(version, m))
        bar.progress(1.0, text=f"Backtest done: {len(methods)} forecasters")
    except HotspotError as exc:
        st.warning(f"No backtest: {md_escape(exc)}")
    else:
        summary = pd.concat(parts, ignore_index=True)
        table = summary.assign(coverage=(summary["coverage"] * 100).round(0).astype(int))[
            ["forecaster", "coverage", "hit_rate", "pai", "pei", "origins"]].rename(columns={
                "forecaster": "Forecaster", "coverage": "% of area", "hit_rate": "Hit rate", "pai": "PAI",
                "pei": "PEI", "origins": "Origins"}).round(3)
        st.subheader("Hit rate against share of area")
        st.line_chart(data_admin.hit_rate_curves(summary), x_label="% of area searched", y_label="hit rate (%)")
        st.subheader("Backtest table (mean over origins)")
        st.dataframe(table, width="stretch", hide_index=True)
        st.caption(f"{DEFAULT_METHOD} is the forecaster the plans use: for each area and crime group it picks, "
                   "by this kind of backtest on the area's own months only, among counts, recent and weighted "
                   f"counts, kernel densities and blends; {', '.join(BASELINES)} are the baselines. "
                   "Monthly data: a month ahead, never a week.")
        st.subheader("Which forecaster each crime group uses here")
        st.markdown("\n".join(f"- {t}" for t in svc.forecast_choices(version)))

st.divider()
st.caption(ATTRIBUTION)
