"""Greedy baseline for the weekly allocation: best marginal value per minute until capacity.

The baseline answers "how much does the optimiser add?".  It fills the plan in
four passes, each respecting every rule the MILP has (shift minutes, weekly
hours, one shift a day, daily rest, jurisdiction, walking range and distance,
exclusions):

1. the chair's pins;
2. wardens on duty: in time order, put the warden with the fewest hours so far
   on any shift still below the minimum;
3. minimum presence (each ward-day, each park-day), taking a feasible visit by
   someone already on duty if possible, else the highest marginal value per minute;
4. fill: repeatedly take the (candidate, day, shift) whose next visit has the
   highest marginal value per minute and give it to a patroller who can make it
   (already on duty that shift first, then the one with most hours left), until
   no visit with positive value fits.

Greedy is myopic (an early choice can block a better one later), so its
objective is a lower bound the MILP should meet or beat.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._errors import InfeasibleAllocationError
from .kinds import RESOURCE_KINDS
from .problem import (
    AllocationProblem,
    coverage_value,
    eligible_visits,
    explain,
    presence_groups,
    rest_conflicts,
    visit_value,
)

__all__ = ["GreedyResult", "greedy"]


@dataclass(frozen=True)
class GreedyResult:
    """The greedy plan: assignments and duty (same columns as the MILP's), objective and time."""

    assignments: pd.DataFrame
    duty: pd.DataFrame
    unassigned: pd.DataFrame
    objective: float
    harm_covered: float
    seconds: float
    complete: bool
    message: str
    #: Model-index tables (``a, c, d, s, n`` and ``a, d, s``) for :func:`tasking.allocation.explain`.
    visits: pd.DataFrame | None = None
    duty_index: pd.DataFrame | None = None


class _State:
    def __init__(self, problem: AllocationProblem) -> None:
        self.p = problem
        self.K = problem.dosage.max_visits
        self.mpv = problem.dosage.minutes_per_visit
        xv = eligible_visits(problem)
        self.ok = set(zip(xv["a"].tolist(), xv["c"].tolist(), xv["d"].tolist(), xv["s"].tolist()))
        self.by_cds: dict[tuple[int, int, int], list[int]] = {}
        for a, c, d, s in sorted(self.ok):
            self.by_cds.setdefault((c, d, s), []).append(a)
        self.x: dict[tuple[int, int, int, int], int] = {}
        self.n = np.zeros(problem.value.shape, np.int64)
        self.minutes: dict[tuple[int, int, int], float] = {}
        self.duty: set[tuple[int, int, int]] = set()
        self.hours = np.zeros(len(problem.agents))
        self.rest = set(rest_conflicts(problem.shifts, problem.min_rest_hours))
        self.cx = problem.candidates["x"].to_numpy(float)
        self.cy = problem.candidates["y"].to_numpy(float)
        self.visiting: dict[tuple[int, int, int], set[int]] = {}

    def can_open(self, a: int, d: int, s: int) -> bool:
        if (a, d, s) in self.duty:
            return True
        p = self.p
        if not p.available[a, d, s]:
            return False
        if self.hours[a] + p.shifts[s].paid_hours > p.agents[a].contracted_hours_week + 1e-9:
            return False
        for s2 in range(len(p.shifts)):
            if (a, d, s2) in self.duty:
                return False
            if d > 0 and (a, d - 1, s2) in self.duty and (s2, s) in self.rest:
                return False
            if d < 6 and (a, d + 1, s2) in self.duty and (s, s2) in self.rest:
                return False
        return True

    def open(self, a: int, d: int, s: int) -> None:
        if (a, d, s) not in self.duty:
            self.duty.add((a, d, s))
            self.hours[a] += self.p.shifts[s].paid_hours

    def can_visit(self, a: int, c: int, d: int, s: int, n: int = 1) -> bool:
        if (a, c, d, s) not in self.ok or self.x.get((a, c, d, s), 0) + n > self.K:
            return False
        agent = self.p.agents[a]
        if self.minutes.get((a, d, s), 0.0) + n * self.mpv > agent.patrol_minutes_per_shift + 1e-9:
            return False
        if agent.max_pair_distance_m is not None:
            for c2 in self.visiting.get((a, d, s), ()):
                if np.hypot(self.cx[c] - self.cx[c2], self.cy[c] - self.cy[c2]) > agent.max_pair_distance_m:
                    return False
        return self.can_open(a, d, s)

    def visit(self, a: int, c: int, d: int, s: int, n: int = 1) -> None:
        self.open(a, d, s)
        self.x[(a, c, d, s)] = self.x.get((a, c, d, s), 0) + n
        self.n[c, d, s] += n
        self.minutes[(a, d, s)] = self.minutes.get((a, d, s), 0.0) + n * self.mpv
        self.visiting.setdefault((a, d, s), set()).add(c)

    def best_agent(self, c: int, d: int, s: int) -> int | None:
        agents = [a for a in self.by_cds.get((c, d, s), []) if self.can_visit(a, c, d, s)]
        if not agents:
            return None
        # already on duty first, then most hours left, then id order
        return min(agents, key=lambda a: ((a, d, s) not in self.duty,
                                          -(self.p.agents[a].contracted_hours_week - self.hours[a]), a))


def greedy(problem: AllocationProblem) -> GreedyResult:
    """Greedy plan for ``problem`` (see the module docstring).

    Returns
    -------
    GreedyResult
        ``complete`` is False (with ``message``) when greedy could not meet a
        pin or a presence/on-duty requirement; the partial plan is returned.
    """
    t0 = time.perf_counter()
    st = _State(problem)
    vv = visit_value(problem)
    per_min = vv / st.mpv
    names = [s.name for s in problem.shifts]
    aidx = {a: i for i, a in enumerate(problem.agent_ids)}
    cidx = {c: i for i, c in enumerate(problem.candidate_ids)}
    problems: list[str] = []
    # 1. pins
    for p in problem.pins:
        a, c, s = aidx[p.agent_id], cidx[p.candidate_id], names.index(p.shift)
        if st.can_visit(a, c, p.day, s, p.visits):
            st.visit(a, c, p.day, s, p.visits)
        else:
            msg = f"greedy could not place pin {p.label()}"
            raise InfeasibleAllocationError(msg)
    # 2. wardens on duty, in time order (fewest hours first, so rest rules rarely bite)
    wardens = [i for i, a in enumerate(problem.agents) if RESOURCE_KINDS[a.kind].on_duty_minimum]
    if problem.min_wardens_on_duty > 0:
        for d in range(7):
            for s in range(len(problem.shifts)):
                if not any(problem.available[a, d, s] for a in wardens):
                    continue
                while sum((a, d, s) in st.duty for a in wardens) < problem.min_wardens_on_duty:
                    cands = [a for a in wardens if (a, d, s) not in st.duty and st.can_open(a, d, s)]
                    if not cands:
                        problems.append(f"{names[s]} on {problem.dates[d]}: too few wardens free")
                        break
                    st.open(min(cands, key=lambda a: (st.hours[a], a)), d, s)
    # 3. presence (patrollers already on duty first)
    xv = eligible_visits(problem)
    notes: list[str] = []
    for label, sel, need in presence_groups(problem, xv, notes):
        opts = xv.iloc[sel]
        have = sum(st.x.get((int(r.a), int(r.c), int(r.d), int(r.s)), 0) for r in opts.itertuples(index=False))
        while have < need:
            best = None
            for r in opts.itertuples(index=False):
                a, c, d, s = int(r.a), int(r.c), int(r.d), int(r.s)
                if not st.can_visit(a, c, d, s):
                    continue
                k = int(st.n[c, d, s])
                score = ((a, d, s) in st.duty, per_min[c, d, s, k] if k < st.K else 0.0,
                         problem.agents[a].contracted_hours_week - st.hours[a], -a, -c, -d, -s)
                if best is None or score > best[0]:
                    best = (score, (a, c, d, s))
            if best is None:
                problems.append(f"{label}: no patroller could make the visit")
                break
            st.visit(*best[1])
            have += 1
    # 4. fill by marginal value per minute
    heap = []
    for (c, d, s) in st.by_cds:
        k = int(st.n[c, d, s])
        if k < st.K and per_min[c, d, s, k] > 0:
            heap.append((-per_min[c, d, s, k], c, d, s))
    heapq.heapify(heap)
    while heap:
        neg, c, d, s = heapq.heappop(heap)
        k = int(st.n[c, d, s])
        if k >= st.K:
            continue
        if -neg != per_min[c, d, s, k]:  # stale entry
            heapq.heappush(heap, (-per_min[c, d, s, k], c, d, s))
            continue
        a = st.best_agent(c, d, s)
        if a is None:
            continue
        st.visit(a, c, d, s)
        k += 1
        if k < st.K and per_min[c, d, s, k] > 0:
            heapq.heappush(heap, (-per_min[c, d, s, k], c, d, s))
    visits = pd.DataFrame([(a, c, d, s, n) for (a, c, d, s), n in sorted(st.x.items()) if n > 0],
                          columns=["a", "c", "d", "s", "n"])
    duty_idx = pd.DataFrame(sorted(st.duty), columns=["a", "d", "s"])
    value, harm = coverage_value(problem, visits)
    assign, unassigned = explain(problem, visits, duty_idx)
    duty = pd.DataFrame([{"agent_id": problem.agents[a].agent_id, "day": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
                                                                          "Sun")[d],
                          "date": problem.dates[d].isoformat(), "shift": names[s]} for a, d, s in sorted(st.duty)],
                        columns=["agent_id", "day", "date", "shift"])
    return GreedyResult(assignments=assign, duty=duty, unassigned=unassigned, objective=value, harm_covered=harm,
                        seconds=time.perf_counter() - t0, complete=not problems,
                        message="; ".join(problems) if problems else "complete", visits=visits, duty_index=duty_idx)
