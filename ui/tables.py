"""Pure display tables: query results in, frames ready for ``st.dataframe`` out.

Suppression happens in the queries (``spatial.store.queries``); these
functions only reshape and label, and never total a column, because a total
next to a "fewer than 5" cell would reveal the suppressed count.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import geopandas as gpd
import pandas as pd

from spatial._errors import SchemaError
from spatial.schema import Taxonomy, load_taxonomy
from tasking.kinds import kind_title
from tasking.names import plan_place_names, site_label
from tasking.pack import Pack, build_pack
from tasking.plan import Plan
from tasking.resources import Roster

__all__ = ["SENSITIVE_SUFFIX", "ward_label", "ward_labels", "ward_category_table", "ward_names", "plan_summary",
           "plan_metrics", "assignments_table", "unassigned_table", "cameras_table", "candidate_labels",
           "agent_labels", "decisions_table", "recommendations_table", "category_groups", "period_label",
           "ward_heading", "with_ward_vintage"]

def ward_heading(vintage: str) -> str:
    """The header of a ward column, naming the ward boundaries' year (an area's ``ward_vintage``).

    Ward codes and names change at boundary reviews (West Kent's bundled wards are the 2013 ones, RBKC's
    the 2018 ones), so every ward table says which wards it counts in.

    Examples
    --------
    >>> ward_heading("2013 wards"), ward_heading("2018 wards")
    ('Ward (2013 boundaries)', 'Ward (2018 boundaries)')
    >>> ward_heading("wards (vintage not given)")
    'Ward (boundary year not given)'
    """
    m = re.search(r"\b((?:19|20)\d\d)\b", vintage or "")
    return f"Ward ({m.group(1)} boundaries)" if m else "Ward (boundary year not given)"


def with_ward_vintage(table: pd.DataFrame, vintage: str) -> pd.DataFrame:
    """``table`` with its "Ward" column (or index) headed by :func:`ward_heading` (a copy; else unchanged).

    Examples
    --------
    >>> t = pd.DataFrame({"Ward": ["Abbey"], "Incidents": [3]})
    >>> list(with_ward_vintage(t, "2013 wards").columns)
    ['Ward (2013 boundaries)', 'Incidents']
    >>> with_ward_vintage(t.set_index("Ward"), "2018 wards").index.name
    'Ward (2018 boundaries)'
    """
    head = ward_heading(vintage)
    if "Ward" in table.columns:
        return table.rename(columns={"Ward": head})
    if table.index.name == "Ward":
        return table.rename_axis(head)
    return table


#: Appended to the column header of a sensitive category in the count table.
SENSITIVE_SUFFIX = " (sensitive)"

_COUNT_COLUMNS = ("ward_code", "category", "sensitive", "display")


def ward_label(name: str, borough: str | None = None) -> str:
    """``"Abingdon"`` or, when the borough is given, ``"Abingdon (Kensington and Chelsea)"``."""
    return f"{name} ({borough})" if borough else name


def ward_labels(wards: pd.DataFrame, *, with_borough: bool) -> dict[str, str]:
    """Ward code -> display label, in the order of ``wards`` sorted by borough then ward name."""
    ordered = wards.sort_values(["borough_name", "ward_name"] if with_borough else ["ward_name"])
    return {code: ward_label(name, borough if with_borough else None)
            for code, name, borough in zip(ordered["ward_code"], ordered["ward_name"],
                                           ordered["borough_name"], strict=True)}


def ward_category_table(counts: pd.DataFrame, wards: gpd.GeoDataFrame | pd.DataFrame, *,
                        ward_codes: Collection[str] | None = None, categories: Collection[str] | None = None,
                        with_borough: bool = False,
                        taxonomy: Taxonomy | None = None) -> pd.DataFrame:
    """Wards as rows, categories as columns, the query's display strings as cells.

    Parameters
    ----------
    counts
        Output of ``spatial.store.queries.ward_category_counts`` (``ward_code,
        category, sensitive, count, display``), already suppressed.
    wards
        Ward names (``ward_code, ward_name, borough_name``).
    ward_codes
        The wards to list (every ward in ``wards`` when empty or ``None``);
        a ward with no incidents gets a row of "0".
    categories
        Non-sensitive category slugs to show (all present when empty or
        ``None``).  Sensitive categories present in ``counts`` are always
        shown, labelled with :data:`SENSITIVE_SUFFIX`.
    with_borough
        Label wards "Ward (Borough)".
    taxonomy
        Labels and sensitivity (default: the bundled taxonomy).

    Returns
    -------
    pandas.DataFrame
        Indexed by ward label ("Ward"), one string column per category in
        taxonomy order, non-sensitive first.

    Raises
    ------
    SchemaError
        If ``counts`` lacks a column of the query output.
    """
    missing = [c for c in _COUNT_COLUMNS if c not in counts.columns]
    if missing:
        msg = (f"counts lack the columns {missing}; expected spatial.store.queries.ward_category_counts "
               f"output (columns {list(counts.columns)})")
        raise SchemaError(msg)
    tax = taxonomy or load_taxonomy()
    sensitive = tax.sensitive_slugs() | set(counts.loc[counts["sensitive"].astype(bool), "category"])
    chosen = set(categories or ())
    present = set(counts["category"])
    order = list(tax.categories) + sorted(present - set(tax.categories))
    shown = [c for c in order if c in present and c not in sensitive and (not chosen or c in chosen)]
    shown += [c for c in order if c in present and c in sensitive]

    def header(slug: str) -> str:
        label = tax.categories[slug].label if slug in tax.categories else slug
        return label + SENSITIVE_SUFFIX if slug in sensitive else label

    listed = wards[wards["ward_code"].isin(ward_codes)] if ward_codes else wards
    labels = ward_labels(listed, with_borough=with_borough)
    cells = counts[counts["ward_code"].isin(labels) & counts["category"].isin(shown)]
    wide = (cells.pivot(index="ward_code", columns="category", values="display")
            .reindex(index=list(labels), columns=shown).fillna("0"))
    wide.index = pd.Index([labels[c] for c in wide.index], name="Ward")
    wide.columns = pd.Index([header(c) for c in wide.columns], name=None)
    return wide.astype(str)


# ----------------------------------------------------------------------------
# tasking plan
# ----------------------------------------------------------------------------
def ward_names(wards: pd.DataFrame) -> dict[str, str]:
    """Ward code -> ward name."""
    return dict(zip(wards["ward_code"], wards["ward_name"], strict=True))


def plan_summary(plan: Mapping[str, Any], *, borough_name: str | None = None,
                 pack: Pack | None = None) -> tuple[dict[str, str], tuple[str, ...]]:
    """The pack's summary lines and notes for ``plan`` (``tasking.pack.build_pack``): what the pack says, on screen.

    Returns ``(summary, notes)``: summary keys ``Week``, ``Borough``, ``Objective``, ``Bound and gap``,
    ``Greedy comparison``, ``Harm covered``, ``Checker``, ``Data``, ``Pins and exclusions``
    (the pack's "Plan version" line is left out: the page shows the meeting record instead);
    the notes hold every DEMO and assumption note of the plan and its inputs.  ``pack`` is the plan's
    ``build_pack`` when the page has it already (it is built once per render).
    """
    pack = pack if pack is not None else build_pack(plan, borough_name=borough_name)
    summary = {k: v for k, v in pack.summary.items() if k != "Plan version"}
    return summary, tuple(pack.notes)


def _pct(v: Any, *, signed: bool = False) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{float(v):+.1%}" if signed else f"{float(v):.2%}"


#: One sentence for each solver figure, shown beside them on the Tasking page.
METRIC_SENTENCES: tuple[tuple[str, str], ...] = (
    ("Objective", "the harm the week's visits are expected to reach, weighted by priority (higher is better)."),
    ("Bound", "no plan within the roster's rules can reach more than this."),
    ("Gap", "how far this plan may be from the best possible one, at most."),
    ("Against greedy", "how much more this plan reaches than filling each shift with the most harmful place first."),
)


def departures_table(departures: pd.DataFrame) -> pd.DataFrame:
    """``Place, Visits, Share of visits, Share of harm, Why`` from ``tasking.explain.visit_share_reasons``."""
    return pd.DataFrame({"Place": departures["place_name"], "Visits": departures["visits"].astype(int),
                         "Share of visits": [f"{v:.0%}" for v in departures["visit_share"]],
                         "Share of harm": [f"{v:.0%}" for v in departures["harm_share"]],
                         "Why": departures["reason"]}).reset_index(drop=True)


def plan_metrics(plan: Plan | Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """``(label, value, help)`` for the plan's headline figures: objective, bound, gap, against greedy.

    Examples
    --------
    >>> plan_metrics({"objective": 868.57, "dual_bound": 869.04, "gap": 0.000545, "milp_vs_greedy": 0.0237,
    ...               "greedy": {"objective": 848.5}})[2][:2]
    ('Gap', '0.05%')
    """
    report = Plan.coerce(plan).report
    greedy = report.greedy_value
    return [
        ("Objective", f"{float(report.objective):,.1f}" if report.objective is not None else "n/a",
         "Priority-weighted expected harm covered this week (CCHI days x multipliers)."),
        ("Bound", f"{float(report.bound):,.1f}" if report.bound is not None else "n/a",
         "No plan can cover more than this (the solver's bound)."),
        ("Gap", _pct(report.gap), "How far the plan may be from the best possible plan, at most."),
        ("Against greedy", _pct(report.milp_vs_greedy, signed=True),
         f"Compared with a simple greedy plan covering {float(greedy):,.1f}." if greedy is not None
         else "No greedy comparison."),
    ]


def assignments_table(plan: Plan | Mapping[str, Any], *, ward_names: Mapping[str, str],
                      agents: Collection[str] | None = None, pack: Pack | None = None) -> pd.DataFrame:
    """One row per assignment by agent, day and shift, with the place, ward and why.

    ``agents`` limits the rows to these agent ids (all when empty or None).
    Columns ``Agent, Day, Date, Shift, Place, Type, Ward, Visits, Minutes, Why, Id`` (the id is a detail for
    exports and the chair's pins: people read the place's name).  ``pack``: as for :func:`plan_summary`.
    """
    a = (pack if pack is not None else build_pack(plan)).assignments
    if agents:
        a = a[a["agent_id"].isin(list(agents))]
    return pd.DataFrame({
        "Agent": a["agent_id"], "Day": a["day"], "Date": a["date"], "Shift": a["shift"], "Place": a["place_name"],
        "Type": a["place_type"], "Ward": a["ward_code"].map(lambda c: ward_names.get(c, c)),
        "Visits": a["visits"].astype(int), "Minutes": a["minutes"].astype(float).round(0).astype("Int64"),
        "Why": a["why"], "Id": a["candidate_id"],
    }).reset_index(drop=True)


def unassigned_table(plan: Plan | Mapping[str, Any], *, ward_names: Mapping[str, str]) -> pd.DataFrame:
    """Candidate places without a visit, with the reason: ``Place, Type, Ward, Priority, Reason``."""
    plan = Plan.coerce(plan)
    rows = [u.to_json() for u in plan.unassigned]
    names = plan_place_names(plan, ward_names=ward_names)
    df = pd.DataFrame(rows, columns=["candidate_id", "place_type", "ward_code", "priority", "reason"])
    return pd.DataFrame({
        "Place": [names.get(str(c), c) for c in df["candidate_id"]], "Id": df["candidate_id"],
        "Type": df["place_type"], "Ward": df["ward_code"].map(lambda c: ward_names.get(c, c)),
        "Priority": pd.to_numeric(df["priority"]).round(1), "Reason": df["reason"],
    })


def cameras_table(plan: Plan | Mapping[str, Any]) -> pd.DataFrame:
    """Deployable CCTV moves: ``Camera, Site, Status, Site source, Site id`` (the site by its place's name)."""
    plan = Plan.coerce(plan)
    df = pd.DataFrame([{"camera_id": c.camera_id, "site_id": c.site_id, "status": c.status, "site_source": c.site_source,
                        "site_name": c.site_name} for c in plan.cameras],
                      columns=["camera_id", "site_id", "status", "site_source", "site_name"])
    names = plan_place_names(plan)
    site = [site_label(s, n, names) for s, n in zip(df["site_id"], df["site_name"], strict=True)]
    return pd.DataFrame({"Camera": df["camera_id"], "Site": site, "Status": df["status"],
                         "Site source": df["site_source"], "Site id": df["site_id"]})


def candidate_labels(plan: Plan | Mapping[str, Any], *, ward_names: Mapping[str, str]) -> dict[str, str]:
    """Candidate id -> ``"Portobello Road / Golborne Road, Golborne ward (street)"``, highest priority first.

    Names are unique within a plan (``tasking.names``), so the label needs no id.
    """
    plan = Plan.coerce(plan)
    cands = sorted(plan.candidates, key=lambda c: (-float(c.priority or 0), c.candidate_id))
    names = plan_place_names(plan, ward_names=ward_names)
    return {str(c.candidate_id): f"{names[str(c.candidate_id)]} ({c.place_type})" for c in cands}


def agent_labels(roster: Roster) -> dict[str, str]:
    """Agent id -> ``"W01 (warden, Abingdon)"`` or ``"PP01 (parks police)"``, in roster order."""
    out = {}
    for a in roster.agents:
        kind = kind_title(a.kind, roster.kind_titles)
        out[a.agent_id] = f"{a.agent_id} ({kind}, {a.home_ward_name})" if a.home_ward_name else f"{a.agent_id} ({kind})"
    return out


def decisions_table(decisions: pd.DataFrame) -> pd.DataFrame:
    """``tasking.records.list_decisions`` rows as ``Action, Owner, Due, Place, Status, Added by``."""
    return pd.DataFrame({
        "Action": decisions["action"], "Owner": decisions["owner"],
        "Due": [d.isoformat() if d is not None else "" for d in decisions["due_date"]],
        "Place": decisions["candidate_id"].fillna(""), "Status": decisions["status"],
        "Added by": decisions["created_by"],
    }).reset_index(drop=True)


# ----------------------------------------------------------------------------
# hotspots
# ----------------------------------------------------------------------------
def recommendations_table(places: pd.DataFrame, ranked: pd.DataFrame, *,
                          ward_names: Mapping[str, str]) -> pd.DataFrame:
    """Advised places with their ranked measures: ``Place, Ward, Type, Incidents, Patterns, 1st, 2nd, 3rd ...``.

    ``Place`` is the name people say (``place_name``: streets, or the park's or estate's name); ``Id`` the
    place's id in the plan and the GIS files.

    ``places`` and ``ranked`` are ``tasking.pipeline.build_recommendations`` output
    (``ui.analysis.HotspotLayers.places`` / ``.ranked``); places keep their order (hottest first).
    """
    shown = places["place_name"] if "place_name" in places.columns else places["name"]
    out = pd.DataFrame({
        "Place": shown.to_numpy(), "Id": places["candidate_id"].to_numpy(),
        "Ward": [ward_names.get(c, c) for c in places["ward_code"]], "Type": places["place_type"].to_numpy(),
        "Incidents": places["incidents"].astype(str).to_numpy() if "incidents" in places.columns else "",
        "Patterns": places["patterns"].fillna("").to_numpy() if "patterns" in places.columns else "",
    })
    if len(ranked):
        top = int(ranked["rank"].max())
        for k in range(1, top + 1):
            lines = ranked[ranked["rank"] == k].set_index("candidate_id")
            label = {1: "1st measure", 2: "2nd measure", 3: "3rd measure"}.get(k, f"{k}th measure")
            text = lines["measure"] + " (" + lines["cpted_principle"] + ")"
            out[label] = out["Id"].map(text).fillna("")
    return out


def category_groups(taxonomy: Taxonomy | None = None) -> dict[str, str]:
    """Non-sensitive category group -> ``"asb: Anti-social behaviour, Noise nuisance, ..."``, in taxonomy order.

    Groups holding only sensitive categories are not offered (they are never mapped).
    """
    tax = taxonomy or load_taxonomy()
    groups: dict[str, list[str]] = {}
    for c in tax.categories.values():
        if not c.sensitive:
            groups.setdefault(c.group, []).append(c.label)
    return {g: f"{g}: {', '.join(labels)}" for g, labels in groups.items()}


def period_label(months: Sequence[str]) -> str:
    """``"2018-06"`` or ``"2017-07 to 2018-06 (12 months)"``.

    Examples
    --------
    >>> period_label(["2018-06"]), period_label(["2018-05", "2018-06"])
    ('2018-06', '2018-05 to 2018-06 (2 months)')
    """
    if not months:
        return "-"
    if len(months) == 1:
        return str(months[0])
    return f"{months[0]} to {months[-1]} ({len(months)} months)"
