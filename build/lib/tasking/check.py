"""An independent feasibility checker for allocation plans.

:func:`check_plan` validates any plan (from the MILP, the greedy baseline or
typed by hand) against the instance, recomputing every rule from the raw data:
shift availability, shift minutes, weekly hours, one shift a day, daily rest,
jurisdiction, walking range and distance, exclusions, pins, minimum presence,
wardens on duty, visits per shift, and CCTV count, sites and continuity.  It
does not import or call the model code (:mod:`tasking.allocation`); it only
reads the instance's data fields.  :func:`plan_value` recomputes the objective
from the visits the same independent way.

A plan is three tables keyed by names, not model indices:

``assignments``  ``agent_id, candidate_id, day, shift, visits`` (``day`` is
                 ``Mon``..``Sun``, 0-6 or an ISO date);
``duty``         ``agent_id, day, shift`` (optional: defaults to the shifts
                 that have visits);
``cameras``      ``site_id`` (optional).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .kinds import RESOURCE_KINDS, kinds_where

if TYPE_CHECKING:  # for type hints only; nothing from the model is used at run time
    from .allocation import AllocationProblem

__all__ = ["CheckReport", "check_plan", "plan_value"]

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class CheckReport:
    """Result of :func:`check_plan`: ``ok`` and the list of violations (empty when ok)."""

    ok: bool
    violations: tuple[str, ...]

    def __bool__(self) -> bool:
        return self.ok


def _day_index(value: Any, dates: tuple[dt.date, ...]) -> int | None:
    if isinstance(value, (int, np.integer)) and 0 <= int(value) < 7:
        return int(value)
    text = str(value)
    if text in _DAYS:
        return _DAYS.index(text)
    iso = [d.isoformat() for d in dates]
    return iso.index(text) if text in iso else None


def _minutes_of_day(t: dt.time) -> int:
    return t.hour * 60 + t.minute


def plan_value(problem: AllocationProblem, assignments: pd.DataFrame) -> tuple[float, float]:
    """(priority-weighted value, harm covered) of a plan's visits, recomputed from the instance data."""
    names = [s.name for s in problem.shifts]
    cid = {c: i for i, c in enumerate(problem.candidates["candidate_id"].astype(str))}
    total = np.zeros(problem.value.shape)
    for r in assignments.itertuples(index=False):
        d = _day_index(r.day, problem.dates)
        total[cid[str(r.candidate_id)], d, names.index(str(r.shift))] += int(r.visits)
    m = list(problem.dosage.marginal_values)
    value = harm = 0.0
    for c, d, s in zip(*np.nonzero(total)):
        n = int(total[c, d, s])
        eff = sum(m[:n]) * problem.dosage.visit_cover_share
        value += problem.value[c, d, s] * eff
        harm += problem.harm[c, d, s] * eff
    return float(value), float(harm)


def check_plan(problem: AllocationProblem, assignments: pd.DataFrame, duty: pd.DataFrame | None = None,
               cameras: pd.DataFrame | None = None) -> CheckReport:
    """Check a plan against every rule of the instance.

    Parameters
    ----------
    problem
        The instance the plan was made for.
    assignments
        ``agent_id, candidate_id, day, shift, visits``.
    duty
        ``agent_id, day, shift`` on duty; default: shifts with visits.
    cameras
        ``site_id`` of every camera in place.

    Returns
    -------
    CheckReport
        ``ok`` is True when there are no violations.
    """
    bad: list[str] = []
    agents = {a.agent_id: (i, a) for i, a in enumerate(problem.agents)}
    cands = problem.candidates.reset_index(drop=True)
    cid = {str(c): i for i, c in enumerate(cands["candidate_id"])}
    names = [s.name for s in problem.shifts]
    shift_of = {s.name: s for s in problem.shifts}
    mpv = problem.dosage.visit_minutes + problem.dosage.travel_minutes_per_visit
    K = len(problem.dosage.marginal_values)

    rows = []
    for r in assignments.itertuples(index=False):
        d = _day_index(r.day, problem.dates)
        where = f"{r.agent_id} -> {r.candidate_id} {r.day} {r.shift}"
        if r.agent_id not in agents:
            bad.append(f"{where}: unknown agent")
            continue
        if str(r.candidate_id) not in cid:
            bad.append(f"{where}: unknown candidate")
            continue
        if d is None or str(r.shift) not in names:
            bad.append(f"{where}: unknown day or shift")
            continue
        n = int(r.visits)
        if n < 1 or n != r.visits:
            bad.append(f"{where}: visits must be a positive integer, got {r.visits!r}")
        if n > K:
            bad.append(f"{where}: {n} visits exceeds the {K} per shift that add value")
        rows.append((r.agent_id, str(r.candidate_id), d, str(r.shift), n))
    plan = pd.DataFrame(rows, columns=["agent_id", "candidate_id", "d", "shift", "n"])
    if plan.duplicated(["agent_id", "candidate_id", "d", "shift"]).any():
        bad.append("the same agent, candidate, day and shift appears twice")

    if duty is None:
        on = set(zip(plan["agent_id"], plan["d"], plan["shift"]))
    else:
        on = set()
        for r in duty.itertuples(index=False):
            d = _day_index(r.day, problem.dates)
            if r.agent_id not in agents or d is None or str(r.shift) not in names:
                bad.append(f"duty {r.agent_id} {r.day} {r.shift}: unknown agent, day or shift")
                continue
            on.add((r.agent_id, d, str(r.shift)))
        for a_id, d, s in set(zip(plan["agent_id"], plan["d"], plan["shift"])) - on:
            bad.append(f"{a_id} has visits on {_DAYS[d]} {s} but is not on duty then")

    # availability: shift in the agent's shifts; bank holidays close the warden service
    for a_id, d, s in sorted(on):
        i, agent = agents[a_id]
        if s not in agent.shifts:
            bad.append(f"{a_id} is on duty {_DAYS[d]} {s} but does not work the {s} shift")
        if not problem.available[i, d, names.index(s)]:
            bad.append(f"{a_id} is on duty {_DAYS[d]} {s} but is not available then (bank holiday or rota)")

    # per agent-shift minutes, visits, distances
    cx = cands["x"].to_numpy(float)
    cy = cands["y"].to_numpy(float)
    for (a_id, d, s), grp in plan.groupby(["agent_id", "d", "shift"]):
        _, agent = agents[a_id]
        minutes = grp["n"].sum() * mpv
        if minutes > agent.patrol_minutes_per_shift + 1e-9:
            bad.append(f"{a_id} {_DAYS[d]} {s}: {minutes:g} minutes of visits exceed {agent.patrol_minutes_per_shift:g}")
        if agent.max_pair_distance_m is not None:
            idx = [cid[c] for c in grp["candidate_id"]]
            for p in range(len(idx)):
                for q in range(p + 1, len(idx)):
                    dist = float(np.hypot(cx[idx[p]] - cx[idx[q]], cy[idx[p]] - cy[idx[q]]))
                    if dist > agent.max_pair_distance_m + 1e-6:
                        bad.append(f"{a_id} {_DAYS[d]} {s}: {cands['candidate_id'][idx[p]]} and "
                                   f"{cands['candidate_id'][idx[q]]} are {dist:.0f} m apart "
                                   f"(limit {agent.max_pair_distance_m:g} m)")

    # jurisdiction, walking range, exclusions
    for r in plan.itertuples(index=False):
        i, agent = agents[r.agent_id]
        c = cid[r.candidate_id]
        ptype = str(cands["place_type"][c])
        if ptype not in agent.jurisdiction:
            bad.append(f"{r.agent_id} ({agent.kind}) visits {r.candidate_id}, a {ptype}: outside jurisdiction")
        home = problem.home_xy[i]
        if agent.home_radius_m is not None and home is not None and str(cands["ward_code"][c]) != agent.home_ward_code:
            dist = float(np.hypot(cx[c] - home[0], cy[c] - home[1]))
            if dist > agent.home_radius_m + 1e-6:
                bad.append(f"{r.agent_id} visits {r.candidate_id}, {dist:.0f} m from the home ward centroid "
                           f"(limit {agent.home_radius_m:g} m) and outside the home ward")
        for e in problem.exclusions:
            if (e.candidate_id == r.candidate_id and (e.agent_id is None or e.agent_id == r.agent_id)
                    and (e.day is None or e.day == r.d) and (e.shift is None or e.shift == r.shift)):
                bad.append(f"{r.agent_id} visits {r.candidate_id} on {_DAYS[r.d]} {r.shift}, which the chair excluded")

    # weekly hours, one shift a day, rest
    by_agent: dict[str, list[tuple[int, str]]] = {}
    for a_id, d, s in on:
        by_agent.setdefault(a_id, []).append((d, s))
    for a_id, ds in by_agent.items():
        _, agent = agents[a_id]
        hours = sum(shift_of[s].paid_hours for _, s in ds)
        if hours > agent.contracted_hours_week + 1e-9:
            bad.append(f"{a_id} works {hours:g} h, over the {agent.contracted_hours_week:g} h contract")
        days = [d for d, _ in ds]
        for d in set(days):
            if days.count(d) > 1:
                bad.append(f"{a_id} works two shifts on {_DAYS[d]}")
        for d, s in ds:
            sh = shift_of[s]
            end = d * 1440 + _minutes_of_day(sh.start) + sh.span_minutes
            for d2, s2 in ds:
                if d2 == d + 1:
                    start2 = d2 * 1440 + _minutes_of_day(shift_of[s2].start)
                    if start2 - end < problem.min_rest_hours * 60:
                        bad.append(f"{a_id}: {_DAYS[d]} {s} then {_DAYS[d2]} {s2} leaves "
                                   f"{(start2 - end) / 60:g} h rest (minimum {problem.min_rest_hours:g} h)")

    # pins
    got = {(r.agent_id, r.candidate_id, r.d, r.shift): r.n for r in plan.itertuples(index=False)}
    for p in problem.pins:
        if got.get((p.agent_id, p.candidate_id, p.day, p.shift), 0) < p.visits:
            bad.append(f"pin not met: {p.agent_id} -> {p.candidate_id} {_DAYS[p.day]} {p.shift} ({p.visits} visits)")

    # presence
    kinds = {a.agent_id: a.kind for a in problem.agents}
    plan["kind"] = plan["agent_id"].map(kinds)
    plan["ward"] = [str(cands["ward_code"][cid[c]]) for c in plan["candidate_id"]]
    plan["ptype"] = [str(cands["place_type"][cid[c]]) for c in plan["candidate_id"]]
    whole = {e.candidate_id for e in problem.exclusions
             if e.agent_id is None and e.day is None and e.shift is None}
    # which kinds count for which rule comes from the registry (tasking.kinds), not from kind names
    ward_kinds = kinds_where("ward_presence_places")
    ward_places = sorted(set().union(*(RESOURCE_KINDS[k].ward_presence_places for k in ward_kinds)))
    park_kinds = kinds_where("park_presence")
    duty_kinds = kinds_where("on_duty_minimum")
    warden_idx = [i for i, a in enumerate(problem.agents) if a.kind in ward_kinds]
    pp_idx = [i for i, a in enumerate(problem.agents) if a.kind in park_kinds]
    duty_idx = [i for i, a in enumerate(problem.agents) if a.kind in duty_kinds]
    street = cands[cands["place_type"].isin(ward_places)]
    if problem.presence != "none" and problem.presence_min_visits > 0 and warden_idx:
        wv = plan[plan["kind"].isin(ward_kinds) & plan["ptype"].isin(ward_places)]
        for ward in sorted(set(street["ward_code"].astype(str))):
            ids = set(street.loc[street["ward_code"].astype(str) == ward, "candidate_id"].astype(str))
            if ids <= whole:
                continue
            in_ward = wv[wv["ward"] == ward]
            if problem.presence == "week":
                if in_ward["n"].sum() < problem.presence_min_visits:
                    bad.append(f"ward {ward}: {in_ward['n'].sum()} warden visits this week, "
                               f"fewer than {problem.presence_min_visits}")
                continue
            for d in range(7):
                if not problem.available[warden_idx, d].any():
                    continue
                got_d = in_ward.loc[in_ward["d"] == d, "n"].sum()
                if got_d < problem.presence_min_visits:
                    bad.append(f"ward {ward} on {_DAYS[d]}: {got_d} warden visits, fewer than "
                               f"{problem.presence_min_visits}")
    if problem.park_min_visits_per_day > 0 and pp_idx:
        pv = plan[plan["kind"].isin(park_kinds)]
        for c in cands.loc[cands["place_type"] == "park", "candidate_id"].astype(str):
            if c in whole:
                continue
            for d in range(7):
                if not problem.available[pp_idx, d].any():
                    continue
                got_d = pv.loc[(pv["candidate_id"] == c) & (pv["d"] == d), "n"].sum()
                if got_d < problem.park_min_visits_per_day:
                    bad.append(f"park {c} on {_DAYS[d]}: {got_d} parks-police visits, fewer than "
                               f"{problem.park_min_visits_per_day}")

    # wardens on duty
    if problem.min_wardens_on_duty > 0 and duty_idx:
        for d in range(7):
            for j, s in enumerate(names):
                can = int(problem.available[duty_idx, d, j].sum())
                if can == 0:
                    continue
                n_on = sum(1 for a_id, dd, ss in on if dd == d and ss == s and kinds[a_id] in duty_kinds)
                if n_on < problem.min_wardens_on_duty:
                    bad.append(f"{_DAYS[d]} {s}: {n_on} wardens on duty, fewer than {problem.min_wardens_on_duty}")

    # CCTV
    cctv = problem.cctv
    if cctv is not None and cameras is not None:
        sites = list(cameras["site_id"].astype(str)) if len(cameras) else []
        known = {s.site_id for s in cctv.sites}
        if len(sites) > cctv.cameras:
            bad.append(f"{len(sites)} cameras placed but only {cctv.cameras} exist")
        if len(set(sites)) != len(sites):
            bad.append("two cameras on the same site")
        for s in sites:
            if s not in known:
                bad.append(f"camera at unknown site {s}")
        for cam in cctv.deployed:
            weeks = (problem.dates[0] - dt.date.fromisocalendar(int(cam.since_week[:4]), int(cam.since_week[6:8]), 1)).days // 7
            if weeks < cctv.min_deployment_weeks and cam.site_id not in sites:
                bad.append(f"camera {cam.camera_id} moved from {cam.site_id} after {weeks} weeks "
                           f"(minimum {cctv.min_deployment_weeks})")
    return CheckReport(ok=not bad, violations=tuple(bad))
