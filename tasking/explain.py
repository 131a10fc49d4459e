"""The plan in plain words for the chair: what it does, what changed, and why visits do not follow harm (pure).

* :func:`plan_sentences` - who goes where, how often, what the roster's rules
  add (ward presence), camera moves; the first thing the Tasking page and the
  pack say;
* :func:`changes_since` - what changed against another plan (last week's, or
  the version before): places added or dropped, visits moved;
* :func:`visit_share_reasons` - for every place whose share of the week's
  visits departs from its share of the harm by more than a tolerance, the
  reason in words (minimum presence, the roster's cap on visits, diminishing
  returns of repeated visits, a pin, travel and walking range).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from .kinds import counted, kind_title
from .names import plan_place_names
from .plan import Plan

__all__ = ["VISIT_SHARE_TOLERANCE", "changes_since", "plan_sentences", "visit_share_reasons", "visit_shares"]

#: How far (absolute share of the week's visits) a place may be from its share of harm before the page explains it.
VISIT_SHARE_TOLERANCE = 0.03
_PRESENCE = "ward presence: the roster asks for one visit a day in every ward"


def _visits(plan: Plan) -> pd.Series:
    rows = [(str(a.candidate_id), int(a.visits)) for a in plan.assignments]
    if not rows:
        return pd.Series(dtype=int)
    return pd.DataFrame(rows, columns=["c", "v"]).groupby("c")["v"].sum()


def _assignments(plan: Plan) -> pd.DataFrame:
    """The plan's visits as a frame (``agent_id, kind, candidate_id, date, visits, why``)."""
    return pd.DataFrame([{"agent_id": a.agent_id, "kind": a.kind, "candidate_id": str(a.candidate_id),
                          "date": a.date, "visits": int(a.visits), "why": a.why} for a in plan.assignments],
                        columns=["agent_id", "kind", "candidate_id", "date", "visits", "why"])


def plan_sentences(plan: Plan | Mapping[str, Any]) -> list[str]:
    """The plan in plain words: visits, places, people, the busiest places, the presence rule, cameras.

    Examples
    --------
    >>> plan = {"candidates": [{"candidate_id": "A", "place_name": "Elm Road, Holland ward", "priority": 3}],
    ...         "assignments": [{"agent_id": "W01", "kind": "warden", "candidate_id": "A", "date": "2026-11-30",
    ...                          "visits": 2, "why": ""}]}
    >>> plan_sentences(plan)[:2]
    ['2 visits to 1 place by 1 warden, over 1 day.', 'Most visited: Elm Road, Holland ward (2 visits).']
    """
    plan = Plan.coerce(plan)
    a = _assignments(plan)
    if a.empty:
        return ["No visits are planned this week."]
    names = plan_place_names(plan)
    out: list[str] = []
    people = a.groupby(a["kind"].fillna("agent"))["agent_id"].nunique()
    titles = plan.inputs.get("kind_titles") or {}
    n_places = a["candidate_id"].nunique()
    out.append(f"{counted(int(a['visits'].sum()), 'visit')} to {counted(n_places, 'place')} by "
               + ", ".join(counted(int(n), kind_title(str(k), titles)) for k, n in people.items())
               + f", over {counted(a['date'].nunique(), 'day')}.")
    v = a.groupby(a["candidate_id"].astype(str))["visits"].sum().sort_values(ascending=False, kind="stable")
    out.append("Most visited: " + "; ".join(f"{names.get(c, c)} ({counted(int(n), 'visit')})"
                                           for c, n in v.head(3).items()) + ".")
    cands = sorted(plan.candidates, key=lambda c: -float(c.priority or 0))
    if cands:
        cid = str(cands[0].candidate_id)
        out.append(f"Highest priority: {names.get(cid, cid)}, {counted(int(v.get(cid, 0)), 'visit')}.")
    why = a["why"].astype(str)
    rule = a["candidate_id"].astype(str).str.startswith("WP-") | why.str.contains("minimum ward presence")
    if rule.any():
        out.append(f"Ward presence: the roster asks for one visit a day in every ward; "
                   f"{counted(int(a.loc[rule, 'visits'].sum()), 'visit')} are there for that rule, not for recorded harm.")
    park = why.str.contains("daily park presence")
    if park.any():
        out.append(f"Park presence: {counted(int(a.loc[park, 'visits'].sum()), 'visit')} cover parks daily as the "
                   "roster asks, whatever their harm.")
    cams = plan.cameras
    if cams:
        moved = sum(1 for c in cams if str(c.status).startswith(("new", "move")))
        out.append(f"{counted(len(cams), 'deployable camera')}, {moved} new or moved this week.")
    n_un = len(plan.unassigned)
    if n_un:
        out.append(f"{counted(n_un, 'place')} get no visit this week (see Unassigned places for why).")
    return out


def changes_since(plan: Plan | Mapping[str, Any], previous: Plan | Mapping[str, Any] | None, *,
                  limit: int = 5) -> list[str]:
    """What changed against ``previous`` (another week's plan or an earlier version), in words.

    Examples
    --------
    >>> old = {"candidates": [{"candidate_id": "A", "place_name": "Elm Road"}],
    ...        "assignments": [{"candidate_id": "A", "visits": 4}]}
    >>> new = {"candidates": [{"candidate_id": "A", "place_name": "Elm Road"}, {"candidate_id": "B", "place_name": "Ash Street"}],
    ...        "assignments": [{"candidate_id": "A", "visits": 2}, {"candidate_id": "B", "visits": 3}]}
    >>> changes_since(new, old)
    ['New this week: Ash Street (3 visits).', 'Fewer visits: Elm Road (4 -> 2).']
    """
    if previous is None:
        return []
    plan, previous = Plan.coerce(plan), Plan.coerce(previous)
    names = {**plan_place_names(previous), **plan_place_names(plan)}
    now, before = _visits(plan), _visits(previous)
    out = []
    new = [c for c in now.index if c not in before.index]
    gone = [c for c in before.index if c not in now.index]
    if new:
        out.append("New this week: " + "; ".join(f"{names.get(c, c)} ({int(now[c])} visits)" for c in new[:limit])
                   + (f" and {len(new) - limit} more" if len(new) > limit else "") + ".")
    if gone:
        out.append("No longer visited: " + "; ".join(names.get(c, c) for c in gone[:limit])
                   + (f" and {len(gone) - limit} more" if len(gone) > limit else "") + ".")
    both = [c for c in now.index if c in before.index]
    up = sorted((c for c in both if now[c] > before[c]), key=lambda c: before[c] - now[c])
    down = sorted((c for c in both if now[c] < before[c]), key=lambda c: now[c] - before[c])
    if up:
        out.append("More visits: " + "; ".join(f"{names.get(c, c)} ({int(before[c])} -> {int(now[c])})"
                                              for c in up[:limit]) + ".")
    if down:
        out.append("Fewer visits: " + "; ".join(f"{names.get(c, c)} ({int(before[c])} -> {int(now[c])})"
                                               for c in down[:limit]) + ".")
    return out or ["The same places and visits as before."]


def visit_shares(plan: Plan | Mapping[str, Any]) -> pd.DataFrame:
    """Each place's share of the week's visits and of the harm (``candidate_id, place_name, visits, visit_share,
    harm_week, harm_share``), candidates of the plan only."""
    plan = Plan.coerce(plan)
    names = plan_place_names(plan)
    visits = _visits(plan)
    rows = [{"candidate_id": str(c.candidate_id), "place_name": names[str(c.candidate_id)],
             "place_type": c.place_type, "visits": int(visits.get(str(c.candidate_id), 0)),
             "harm_week": float(c.expected_harm_week or 0.0), "priority": float(c.priority or 0.0)}
            for c in plan.candidates]
    df = pd.DataFrame(rows, columns=["candidate_id", "place_name", "place_type", "visits", "harm_week", "priority"])
    tv, th = max(int(df["visits"].sum()), 1), float(df["priority"].sum()) or 1.0
    df["visit_share"] = df["visits"] / tv
    df["harm_share"] = df["priority"] / th
    return df


def visit_share_reasons(plan: Plan | Mapping[str, Any], *, max_visits_per_shift: int, n_shifts: int,
                        tolerance: float = VISIT_SHARE_TOLERANCE) -> pd.DataFrame:
    """Places whose share of visits departs from their share of harm (priority) by more than ``tolerance``, and why.

    Parameters
    ----------
    plan
        The plan (or its dict).
    max_visits_per_shift
        The roster's most visits to one place in one shift (``Dosage.max_visits``).
    n_shifts
        Shifts in the week (days x shifts).
    tolerance
        Absolute difference of shares that needs no explaining.

    Returns
    -------
    pandas.DataFrame
        ``place_name, visits, visit_share, harm_share, reason`` (one row per place that departs).
    """
    plan = Plan.coerce(plan)
    df = visit_shares(plan)
    pinned = {str(p[1]) for p in plan.inputs.get("pin_specs") or []}
    a = _assignments(plan)
    why = (a.groupby("candidate_id")["why"].apply(lambda s: " ".join(map(str, s)))
           if len(a) else pd.Series(dtype=str))
    cap = max_visits_per_shift * n_shifts
    out = []
    for r in df.itertuples(index=False):
        diff = r.visit_share - r.harm_share
        if abs(diff) <= tolerance:
            continue
        reasons = []
        w = str(why.get(r.candidate_id, ""))
        if r.candidate_id in pinned:
            reasons.append("the chair pinned visits here")
        if r.candidate_id.startswith("WP-") or "minimum ward presence" in w:
            reasons.append(_PRESENCE)
        if r.place_type == "park" and (r.harm_week <= 0 or "daily park presence" in w):
            reasons.append("park presence: the roster asks for parks police in every park each day")
        if diff < 0:
            if r.visits >= 0.9 * cap:
                reasons.append(f"capped: the roster allows at most {max_visits_per_shift} visits a shift "
                               f"({cap} in the week)")
            else:
                reasons.append("each further visit to the same place in a shift is worth less (the roster's dosage "
                               "curve), so visits spread to other places; a place's share of harm is not a quota")
        elif not reasons:
            reasons.append("people on duty nearby have no more harmful place within their walking range or "
                           "jurisdiction, so their time goes here (travel between places counts against the shift)")
        out.append({"candidate_id": r.candidate_id, "place_name": r.place_name, "visits": r.visits,
                    "visit_share": r.visit_share, "harm_share": r.harm_share, "reason": "; ".join(reasons)})
    return pd.DataFrame(out, columns=["candidate_id", "place_name", "visits", "visit_share", "harm_share", "reason"])
