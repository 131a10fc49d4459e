"""Weekly allocation of wardens, parks police and deployable CCTV as a mixed-integer programme.

The model (solved with HiGHS through :func:`scipy.optimize.milp`) decides

* ``x[a, c, d, s]`` - integer visits (0..K) of patroller ``a`` to candidate ``c``
  on day ``d`` in shift ``s``;
* ``z[a, d, s]`` - binary: ``a`` is on duty that shift;
* ``v[a, c, d, s]`` - binary: ``a`` visits ``c`` at all that shift (only where the
  walking-distance rule needs it);
* ``y[c, d, s, k]`` - the k-th visit to ``c`` in ``(d, s)`` by anyone, in [0, 1];
* ``site[j]`` / ``u[i]`` - camera at site ``j`` / demand point ``i`` covered (CCTV).

Objective: maximise priority-weighted expected harm covered in the hours it
happens.  A visit covers ``visit_cover_share`` of a shift's expected harm and the
k-th visit in the same shift is worth ``marginal_values[k]`` of the first
(diminishing returns after Koper 1995; the default 1, 0.6, 0.35 is an assumption
in the roster).  Covered harm is the concave piecewise-linear function
``H * cover * sum_{k <= n} m_k`` of the ``n`` visits, modelled with the
increments ``y``: ``sum_k y[c,d,s,k] <= sum_a x[a,c,d,s]``.  Because the ``m_k``
do not increase, an optimal solution fills the increments in order and each
``y`` is 0 or 1 at an optimum, so they are declared continuous (a tighter and
smaller model with the same optimum as binary increments).

Constraints

* shift minutes: ``(visit + travel) * sum_c x <= patrol_minutes * z``;
* weekly hours: ``sum paid_hours * z <= contracted_hours_week``;
* one shift a day, and 11 hours' rest between shifts (Working Time Regulations
  1998, reg. 10): ``z[a,d,s] + z[a,d+1,s'] <= 1`` when the gap is too short;
* jurisdiction: wardens on street and estate candidates, parks police on park
  candidates (variables that break it are never created);
* walking distance: a warden's candidates lie in the home ward or within
  ``home_radius_m`` of its centroid, **and** two candidates more than
  ``max_pair_distance_m`` apart are never visited in the same shift
  (``v[a,c1,d,s] + v[a,c2,d,s] <= 1``, pairwise exclusion among the warden's
  eligible set only; the radius keeps that set and the pair list small);
* minimum presence: every ward with a street/estate candidate gets at least
  ``presence_min_visits`` warden visits per day (or per week), every park at
  least ``park_min_visits_per_day`` parks-police visits a day;
* at least ``min_wardens_on_duty`` wardens on duty in every open shift;
* the chair's pins (lower bounds on ``x``) and exclusions (variables removed).

CCTV siting is a maximal covering location problem (Church & ReVelle 1974) on
harm in the monitored hours: choose at most ``cameras`` sites; demand covered
by a fixed camera is removed first (never counted twice); a deployed camera
still inside its minimum term stays (``site = 1``).  The CCTV block shares no
constraint with the patrol block, so it is solved as its own MILP and the two
objectives are reported separately and summed.

References
----------
Church, R. & ReVelle, C. (1974). The maximal covering location problem.
*Papers of the Regional Science Association* 32:101-118.

Murray, A. T., Kim, K., Davis, J. W., Machiraju, R. & Parent, R. (2007).
Coverage optimization to support security monitoring. *Computers, Environment
and Urban Systems* 31(2):133-147.

Koper, C. S. (1995). Just enough police presence. *Justice Quarterly* 12(4):649-672.

Huangfu, Q. & Hall, J. A. J. (2018). Parallelizing the dual revised simplex
method. *Mathematical Programming Computation* 10:119-142 (HiGHS).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from spatial.jsonable import plain_records

from ._errors import InfeasibleAllocationError, TaskingError
from .candidates import DAY_NAMES
from .greedy import greedy
from .kinds import RESOURCE_KINDS
from .plan import CCTVSiting, Plan
from .problem import (
    AllocationProblem,
    CCTVProblem,
    Exclusion,
    Pin,
    Presence,
    build_cctv_problem,
    build_problem,
    coverage_value,
    eligible_visits,
    explain,
    ineligible_reason,
    iso_week_dates,
    presence_groups,
    rest_conflicts,
    visit_value,
)

#: The relative gap a weekly plan is solved to by default (solver, pipeline, dashboard, command line).
#: Measured on the bundled RBKC week (bench/RESULTS.md, 2026-12-03): HiGHS has its best plan
#: (849.4, 1.08 % below its bound) at the root node after 2.8 s and improves nothing in the next
#: 57 s, because the bound (858.5, the value with no shift-minute limit) does not move; at a 1 %
#: target every plan build ran to the time limit, and two builds of the same week could differ
#: in the last decimal.  2 % is far inside the error of the expected harm itself.
PLAN_GAP = 0.02
#: Rosters of more than this many patrollers are solved to :data:`LARGE_PLAN_GAP` by default.
LARGE_ROSTER = 40
#: The default gap of a large roster.  Measured on West Kent's three districts (72 starter patrol
#: officers, bench/RESULTS.md, 2026-12-03): at 2 % HiGHS needs 98 s, so the dashboard's and the
#: command's 60 s limit stopped every build at the limit, with a plan that depends on the machine's
#: speed and load; at 3 % it proves the gap in about 27 s and two builds give the same plan, worth
#: 0.7 % less than the 2 % one.
LARGE_PLAN_GAP = 0.03


def plan_gap(n_agents: int) -> float:
    """The relative gap a weekly plan for ``n_agents`` patrollers is solved to by default.

    Examples
    --------
    >>> plan_gap(24), plan_gap(72)
    (0.02, 0.03)
    """
    return PLAN_GAP if int(n_agents) <= LARGE_ROSTER else LARGE_PLAN_GAP


__all__ = [
    "LARGE_PLAN_GAP",
    "LARGE_ROSTER",
    "PLAN_GAP",
    "plan_gap",
    "Allocation",
    "AllocationProblem",
    "CCTVProblem",
    "Exclusion",
    "MilpResult",
    "PatrolSolution",
    "Pin",
    "Presence",
    "build_cctv_problem",
    "build_model",
    "build_problem",
    "coverage_value",
    "eligible_visits",
    "explain",
    "finish",
    "iso_week_dates",
    "presence_groups",
    "rest_conflicts",
    "run_model",
    "site_cameras",
    "solve",
    "start_from_plan",
    "visit_value",
    "WarmStart",
    "with_pins",
]

# ----------------------------------------------------------------------------
# pre-checks on pins
# ----------------------------------------------------------------------------
def _precheck_pins(problem: AllocationProblem) -> None:
    if not problem.pins:
        return
    names = [s.name for s in problem.shifts]
    aidx = {a: i for i, a in enumerate(problem.agent_ids)}
    cidx = {c: i for i, c in enumerate(problem.candidate_ids)}
    K = problem.dosage.max_visits
    mpv = problem.dosage.minutes_per_visit
    conflicts: list[str] = []
    for p in problem.pins:
        a, c, s = aidx[p.agent_id], cidx[p.candidate_id], names.index(p.shift)
        agent = problem.agents[a]
        why = ineligible_reason(problem, a, c)
        if why:
            conflicts.append(f"pin {p.label()} breaks jurisdiction/walking range: {why}")
        for e in problem.exclusions:
            if e.matches(p.agent_id, p.candidate_id, p.day, p.shift):
                conflicts.append(f"pin {p.label()} contradicts the chair's exclusion of {e.candidate_id}")
        if not problem.available[a, p.day, s]:
            reason = (f"{agent.agent_id} does not work the {p.shift} shift" if p.shift not in agent.shifts else
                      f"{DAY_NAMES[p.day]} {problem.dates[p.day].isoformat()} is a bank holiday (service closed)")
            conflicts.append(f"pin {p.label()} breaks shift availability: {reason}")
        if p.visits > K:
            conflicts.append(f"pin {p.label()} asks for more than {K} visits in one shift (the dosage curve's length)")
    # per agent-shift minutes and walking distance between pinned candidates
    by_shift: dict[tuple[str, int, str], list[Pin]] = {}
    for p in problem.pins:
        by_shift.setdefault((p.agent_id, p.day, p.shift), []).append(p)
    cx = problem.candidates["x"].to_numpy(float)
    cy = problem.candidates["y"].to_numpy(float)
    for (aid, _day, _shift), ps in by_shift.items():
        agent = problem.agents[aidx[aid]]
        minutes = sum(p.visits for p in ps) * mpv
        if minutes > agent.patrol_minutes_per_shift + 1e-9:
            conflicts.append(f"pins {[p.label() for p in ps]} need {minutes:g} patrol minutes but {aid} has "
                             f"{agent.patrol_minutes_per_shift:g} in a shift (shift minutes)")
        if agent.max_pair_distance_m is not None:
            for i, p in enumerate(ps):
                for q in ps[i + 1:]:
                    ci, cj = cidx[p.candidate_id], cidx[q.candidate_id]
                    dist = float(np.hypot(cx[ci] - cx[cj], cy[ci] - cy[cj]))
                    if dist > agent.max_pair_distance_m:
                        conflicts.append(f"pins {p.label()} and {q.label()} are {dist:.0f} m apart, more than the "
                                         f"{agent.max_pair_distance_m:.0f} m walking limit within a shift")
    # per agent: weekly hours, one shift a day, rest
    rest = set(rest_conflicts(problem.shifts, problem.min_rest_hours))
    by_agent: dict[str, set[tuple[int, int]]] = {}
    for p in problem.pins:
        by_agent.setdefault(p.agent_id, set()).add((p.day, names.index(p.shift)))
    for aid, ds in by_agent.items():
        agent = problem.agents[aidx[aid]]
        hours = sum(problem.shifts[s].paid_hours for _, s in ds)
        if hours > agent.contracted_hours_week + 1e-9:
            conflicts.append(f"pins put {aid} on {len(ds)} shifts ({hours:g} h) but the contract is "
                             f"{agent.contracted_hours_week:g} h a week (weekly hours)")
        days = [d for d, _ in ds]
        for d in sorted(set(days)):
            if days.count(d) > 1:
                conflicts.append(f"pins put {aid} on two shifts on {DAY_NAMES[d]} (one shift a day)")
        for d, s in ds:
            for s2 in range(len(problem.shifts)):
                if (d + 1, s2) in ds and (s, s2) in rest:
                    conflicts.append(f"pins put {aid} on {DAY_NAMES[d]} {names[s]} then {DAY_NAMES[d + 1]} {names[s2]}: "
                                     f"less than {problem.min_rest_hours:g} h rest (Working Time Regulations)")
    if conflicts:
        msg = "the chair's pins cannot be met: " + "; ".join(conflicts)
        raise InfeasibleAllocationError(msg)


# ----------------------------------------------------------------------------
# the MILP
# ----------------------------------------------------------------------------
@dataclass
class _Model:
    c: np.ndarray
    A: sparse.csr_array
    lb: np.ndarray
    ub: np.ndarray
    integrality: np.ndarray
    var_lb: np.ndarray
    var_ub: np.ndarray
    xv: pd.DataFrame
    z_index: np.ndarray
    n_x: int
    y_keys: np.ndarray
    families: list[str]
    notes: list[str] = field(default_factory=list)
    #: (x variable, its visit-indicator variable) for every ``v`` (the walking-distance rule).
    v_of_x: tuple[np.ndarray, np.ndarray] = (np.zeros(0, np.int64), np.zeros(0, np.int64))


class _Rows:
    """Accumulates sparse rows (COO) with bounds and a constraint family name."""

    def __init__(self) -> None:
        self.r: list[np.ndarray] = []
        self.c: list[np.ndarray] = []
        self.v: list[np.ndarray] = []
        self.lb: list[np.ndarray] = []
        self.ub: list[np.ndarray] = []
        self.fam: list[str] = []
        self.n = 0

    def add(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n_rows: int, lb: np.ndarray | float,
            ub: np.ndarray | float, family: str) -> None:
        if n_rows == 0:
            return
        self.r.append(np.asarray(rows, np.int64) + self.n)
        self.c.append(np.asarray(cols, np.int64))
        self.v.append(np.asarray(vals, float))
        self.lb.append(np.broadcast_to(np.asarray(lb, float), (n_rows,)).copy())
        self.ub.append(np.broadcast_to(np.asarray(ub, float), (n_rows,)).copy())
        self.fam += [family] * n_rows
        self.n += n_rows

    def matrix(self, n_cols: int) -> tuple[sparse.csr_array, np.ndarray, np.ndarray]:
        if self.n == 0:
            return sparse.csr_array((0, n_cols)), np.zeros(0), np.zeros(0)
        A = sparse.coo_array((np.concatenate(self.v), (np.concatenate(self.r), np.concatenate(self.c))),
                             shape=(self.n, n_cols)).tocsr()
        return A, np.concatenate(self.lb), np.concatenate(self.ub)


def build_model(problem: AllocationProblem, *, use_pins: bool = True, use_presence: bool = True,
           use_on_duty: bool = True, pins: Sequence[Pin] | None = None) -> _Model:
    A_n = len(problem.agents)
    S_n = len(problem.shifts)
    K = problem.dosage.max_visits
    mpv = problem.dosage.minutes_per_visit
    notes: list[str] = []
    xv = eligible_visits(problem)
    n_x = len(xv)
    # z: available (a, d, s)
    z_index = -np.ones((A_n, 7, S_n), np.int64)
    za, zd, zs = np.nonzero(problem.available)
    z_index[za, zd, zs] = n_x + np.arange(len(za))
    n_z = len(za)
    base = n_x + n_z
    # v: only for candidates in a far pair for that agent
    cx = problem.candidates["x"].to_numpy(float)
    cy = problem.candidates["y"].to_numpy(float)
    v_rows: list[tuple[np.ndarray, np.ndarray]] = []  # (x var idx, v var idx)
    pair_v: list[tuple[np.ndarray, np.ndarray]] = []
    n_v = 0
    xa_arr, xc_arr, xd_arr, xs_arr = (xv[k].to_numpy() for k in ("a", "c", "d", "s"))
    by_agent = pd.Series(np.arange(n_x)).groupby(xa_arr).apply(np.asarray).to_dict() if n_x else {}
    for a, agent in enumerate(problem.agents):
        if agent.max_pair_distance_m is None or a not in by_agent:
            continue
        idx = by_agent[a]
        cs = np.unique(xc_arr[idx])
        if len(cs) < 2:
            continue
        dx = cx[cs][:, None] - cx[cs][None, :]
        dy = cy[cs][:, None] - cy[cs][None, :]
        far = np.triu(np.hypot(dx, dy) > agent.max_pair_distance_m, 1)
        fi, fj = np.nonzero(far)
        if len(fi) == 0:
            continue
        need = np.unique(np.concatenate([cs[fi], cs[fj]]))
        sel = idx[np.isin(xc_arr[idx], need)]
        vidx = base + n_v + np.arange(len(sel))
        n_v += len(sel)
        v_rows.append((sel, vidx))
        # map (c, d, s) -> v index for this agent
        key = {(int(xc_arr[i]), int(xd_arr[i]), int(xs_arr[i])): int(v) for i, v in zip(sel, vidx)}
        p1, p2 = [], []
        for d in range(7):
            for s in range(S_n):
                for i, j in zip(cs[fi], cs[fj]):
                    k1, k2 = key.get((int(i), d, s)), key.get((int(j), d, s))
                    if k1 is not None and k2 is not None:
                        p1.append(k1)
                        p2.append(k2)
        pair_v.append((np.asarray(p1, np.int64), np.asarray(p2, np.int64)))
    base_y = base + n_v
    # y: (c, d, s) reachable with positive value
    vv = visit_value(problem)  # (C, 7, S, K)
    reach = np.zeros(problem.value.shape, bool)
    reach[xc_arr, xd_arr, xs_arr] = True
    yc, yd, ys = np.nonzero(reach & (problem.value > 0))
    n_cds = len(yc)
    n_y = n_cds * K
    y_keys = np.stack([np.repeat(yc, K), np.repeat(yd, K), np.repeat(ys, K), np.tile(np.arange(K), n_cds)], axis=1) \
        if n_cds else np.zeros((0, 4), np.int64)
    n_var = base_y + n_y

    cost = np.zeros(n_var)
    if n_y:
        cost[base_y:] = -vv[y_keys[:, 0], y_keys[:, 1], y_keys[:, 2], y_keys[:, 3]]
    scale = float(np.abs(cost).max()) if n_y else 1.0
    eps = 1e-7 * max(scale, 1.0)
    cost[:n_x] = eps  # no useless visits
    cost[n_x:base] = eps  # no idle duty
    integrality = np.zeros(n_var, np.uint8)
    integrality[:base_y] = 1
    var_lb = np.zeros(n_var)
    var_ub = np.ones(n_var)
    # visits that add value: up to K; where the expected value is zero a visit only serves a presence
    # rule, so at most the number that rule asks for (same optimum, much tighter relaxation)
    zero_val = problem.value[xc_arr, xd_arr, xs_arr] <= 0
    presence_need = max(problem.presence_min_visits if problem.presence != "none" else 0,
                        problem.park_min_visits_per_day)
    var_ub[:n_x] = np.where(zero_val, min(K, presence_need), K)

    R = _Rows()
    # shift minutes: mpv * sum_c x <= P z, written with integer rounding (Chvatal-Gomory) as
    # sum_c x <= floor(P / mpv) z: the same integer plans, a much tighter LP relaxation
    if n_x:
        zrow = z_index[xa_arr, xd_arr, xs_arr] - n_x
        cap = np.floor(np.array([problem.agents[a].patrol_minutes_per_shift for a in za]) / mpv + 1e-9)
        R.add(np.concatenate([zrow, np.arange(n_z)]), np.concatenate([np.arange(n_x), n_x + np.arange(n_z)]),
              np.concatenate([np.ones(n_x), -cap]), n_z, -np.inf, 0.0, "shift minutes")

    # weekly hours; when all of an agent's shifts are paid the same, as a rounded count of shifts
    paid = np.array([problem.shifts[s].paid_hours for s in zs])
    contracted = np.array([a.contracted_hours_week for a in problem.agents])
    coef, rhs = paid.copy(), contracted.copy()
    for a in range(A_n):
        m_a = za == a
        if m_a.any() and np.ptp(paid[m_a]) == 0:
            coef[m_a] = 1.0
            rhs[a] = np.floor(contracted[a] / paid[m_a][0] + 1e-9)
    R.add(za, n_x + np.arange(n_z), coef, A_n, -np.inf, rhs, "weekly hours")
    # one shift a day
    day_row = za * 7 + zd
    R.add(day_row, n_x + np.arange(n_z), np.ones(n_z), A_n * 7, -np.inf, 1.0, "one shift a day")
    # rest between consecutive days
    pairs = rest_conflicts(problem.shifts, problem.min_rest_hours)
    ra, rb = [], []
    for s1, s2 in pairs:
        for d in range(6):
            z1, z2 = z_index[:, d, s1], z_index[:, d + 1, s2]
            ok = (z1 >= 0) & (z2 >= 0)
            ra.append(z1[ok])
            rb.append(z2[ok])
    if ra:
        r1, r2 = np.concatenate(ra), np.concatenate(rb)
        nr = len(r1)
        R.add(np.concatenate([np.arange(nr)] * 2), np.concatenate([r1, r2]), np.ones(2 * nr), nr, -np.inf, 1.0,
              f"{problem.min_rest_hours:g} h rest between shifts")
    # v linking and pairwise distance
    for sel, vidx in v_rows:
        nr = len(sel)
        R.add(np.concatenate([np.arange(nr)] * 2), np.concatenate([sel, vidx]),
              np.concatenate([np.ones(nr), -np.full(nr, float(K))]), nr, -np.inf, 0.0, "visit indicator")
    for first_v, second_v in pair_v:
        nr = len(first_v)
        R.add(np.concatenate([np.arange(nr)] * 2), np.concatenate([first_v, second_v]), np.ones(2 * nr), nr, -np.inf, 1.0,
              "walking distance within a shift")
    # dosage: sum_k y - sum_a x <= 0 per (c, d, s)
    if n_cds:
        cds_row = -np.ones(problem.value.shape, np.int64)
        cds_row[yc, yd, ys] = np.arange(n_cds)
        xr = cds_row[xc_arr, xd_arr, xs_arr]
        okx = xr >= 0
        R.add(np.concatenate([np.repeat(np.arange(n_cds), K), xr[okx]]),
              np.concatenate([base_y + np.arange(n_y), np.flatnonzero(okx)]),
              np.concatenate([np.ones(n_y), -np.ones(int(okx.sum()))]), n_cds, -np.inf, 0.0, "dosage increments")
    # presence
    if use_presence:
        for label, sel, need_visits in presence_groups(problem, xv, notes):
            if len(sel) == 0:
                msg = (f"{label} cannot be met: no eligible patroller can visit any candidate there "
                       "(check jurisdiction, walking range, availability and exclusions)")
                raise InfeasibleAllocationError(msg)
            R.add(np.zeros(len(sel), np.int64), sel, np.ones(len(sel)), 1, float(need_visits), np.inf, label)
    # wardens on duty
    if use_on_duty and problem.min_wardens_on_duty > 0:
        wardens = np.array([RESOURCE_KINDS[a.kind].on_duty_minimum for a in problem.agents])
        for d in range(7):
            for s in range(S_n):
                zi = z_index[wardens, d, s]
                zi = zi[zi >= 0]
                if len(zi) == 0:
                    continue
                label = f"at least {problem.min_wardens_on_duty} wardens on duty {DAY_NAMES[d]} {problem.shifts[s].name}"
                if len(zi) < problem.min_wardens_on_duty:
                    msg = f"{label} cannot be met: only {len(zi)} wardens can work that shift"
                    raise InfeasibleAllocationError(msg)
                R.add(np.zeros(len(zi), np.int64), zi, np.ones(len(zi)), 1, float(problem.min_wardens_on_duty),
                      np.inf, label)
    # pins as lower bounds
    if use_pins:
        names = [s.name for s in problem.shifts]
        aidx = {a: i for i, a in enumerate(problem.agent_ids)}
        cidx = {c: i for i, c in enumerate(problem.candidate_ids)}
        lookup = {(int(a), int(c), int(d), int(s)): i for i, (a, c, d, s) in enumerate(zip(xa_arr, xc_arr, xd_arr, xs_arr))}
        for p in (problem.pins if pins is None else pins):
            pin_key = (aidx[p.agent_id], cidx[p.candidate_id], p.day, names.index(p.shift))
            if pin_key not in lookup:
                msg = f"pin {p.label()} refers to a visit the model cannot make (ineligible)"
                raise InfeasibleAllocationError(msg)
            var_lb[lookup[pin_key]] = max(var_lb[lookup[pin_key]], p.visits)
            var_ub[lookup[pin_key]] = max(var_ub[lookup[pin_key]], var_lb[lookup[pin_key]])
    # a visit needs its patroller on duty: x <= ub(x) z (tightens the relaxation)
    if n_x:
        R.add(np.concatenate([np.arange(n_x)] * 2), np.concatenate([np.arange(n_x), z_index[xa_arr, xd_arr, xs_arr]]),
              np.concatenate([np.ones(n_x), -var_ub[:n_x]]), n_x, -np.inf, 0.0, "visit needs duty")
    A, lb, ub = R.matrix(n_var)
    v_of_x = ((np.concatenate([r[0] for r in v_rows]).astype(np.int64), np.concatenate([r[1] for r in v_rows]))
              if v_rows else (np.zeros(0, np.int64), np.zeros(0, np.int64)))
    return _Model(c=cost, A=A, lb=lb, ub=ub, integrality=integrality, var_lb=var_lb, var_ub=var_ub, xv=xv,
                  z_index=z_index, n_x=n_x, y_keys=y_keys, families=R.fam, notes=notes, v_of_x=v_of_x)


@dataclass(frozen=True)
class MilpResult:
    """What either solver path returns: scipy's ``milp`` status codes (0 optimal, 1 limit, 2 infeasible)."""

    status: int
    x: np.ndarray | None
    mip_dual_bound: float | None
    mip_gap: float | None
    mip_node_count: int
    message: str
    #: "scipy" (``scipy.optimize.milp``) or "highspy" (HiGHS directly, optionally from a starting plan).
    solver: str = "scipy"
    #: Whether HiGHS accepted the starting plan (highspy path with a start only).
    start_used: bool = False


#: A starting solution for HiGHS: model variable indices and their values (the rest HiGHS completes).
Start = tuple[np.ndarray, np.ndarray]


def run_model(model: _Model, *, time_limit_s: float, mip_rel_gap: float, solver: str = "scipy",
              start: Start | None = None) -> MilpResult:
    """Solve the model with HiGHS: through :func:`scipy.optimize.milp` (default) or ``highspy`` directly.

    ``start`` (highspy only; given alone it selects highspy) is a full or partial starting solution
    (e.g. the previous plan of a re-solve after a pin); HiGHS completes a partial one with a sub-MIP
    and uses it as its first incumbent, so the search stops as soon as the bound is within
    ``mip_rel_gap`` of a plan at least that good.

    Both paths are HiGHS (scipy bundles an older release than ``highspy``'s).  Neither is faster on
    every week (``bench/solver_paths.py``, ``bench/RESULTS.md``): on West Kent's 72 officers with three
    months highspy proved its plan in 7.9 s against scipy's 12.6 s, with twelve months in 31.0 s against
    9.2 s; on RBKC's week both take about 1.5 s.  A fresh plan stays on scipy's path.
    """
    if solver not in ("highspy", "scipy"):
        msg = f'solver was "{solver}" but is expected to be one of ["highspy", "scipy"]'
        raise TaskingError(msg)
    if solver == "highspy" or start is not None:
        return _run_highspy(model, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap, start=start)
    cons = [LinearConstraint(model.A, model.lb, model.ub)] if model.A.shape[0] else []
    res = milp(model.c, constraints=cons, integrality=model.integrality,
               bounds=Bounds(model.var_lb, model.var_ub),
               options={"time_limit": float(time_limit_s), "mip_rel_gap": float(mip_rel_gap), "disp": False,
                        "presolve": True})
    return MilpResult(status=int(res.status), x=None if res.x is None else np.asarray(res.x, float),
                      mip_dual_bound=None if res.get("mip_dual_bound") is None else float(res.mip_dual_bound),
                      mip_gap=None if res.get("mip_gap") is None else float(res.mip_gap),
                      mip_node_count=int(res.get("mip_node_count") or 0), message=str(res.message),
                      solver="scipy")


def _run_highspy(model: _Model, *, time_limit_s: float, mip_rel_gap: float, start: Start | None) -> MilpResult:
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    h.setOptionValue("presolve", "on")
    n, m = len(model.c), int(model.A.shape[0])
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, m
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = model.c, model.var_lb, model.var_ub
    lp.row_lower_, lp.row_upper_ = model.lb, model.ub
    a = sparse.csc_array(model.A)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n, m
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a.indptr, a.indices, a.data
    lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                       for i in model.integrality]
    h.passModel(lp)
    used = False
    if start is not None and len(start[0]):
        idx, val = np.asarray(start[0], np.int32), np.asarray(start[1], float)
        used = h.setSolution(len(idx), idx, val) == highspy.HighsStatus.kOk
    h.run()
    ms = h.getModelStatus()
    info = h.getInfo()
    M = highspy.HighsModelStatus
    has_x = info.primal_solution_status == 2  # kSolutionStatusFeasible
    # every variable is bounded, so "unbounded or infeasible" (a presolve verdict) is infeasible
    status = (0 if ms == M.kOptimal else 2 if ms in (M.kInfeasible, M.kUnboundedOrInfeasible) else
              1 if ms in (M.kTimeLimit, M.kIterationLimit, M.kSolutionLimit, M.kInterrupt) else 4)
    x = np.asarray(h.getSolution().col_value, float) if has_x else None
    bound = float(info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else None
    return MilpResult(status=status, x=x, mip_dual_bound=bound, mip_gap=float(info.mip_gap),
                      mip_node_count=int(info.mip_node_count), message=h.modelStatusToString(ms),
                      solver="highspy", start_used=used)


def start_from_plan(problem: AllocationProblem, model: _Model, visits: pd.DataFrame, duty: pd.DataFrame, *,
                    free_agents: Sequence[str] = ()) -> Start:
    """A full starting solution from a previous plan of the same week (a re-solve after a pin).

    ``visits`` has ``agent_id, candidate_id, day, shift, visits`` and ``duty`` has ``agent_id, day, shift``
    (a plan's ``assignments`` and ``duty``; ``day`` a day name or index).  The previous visits are
    clipped to the new bounds (a pin raises a lower bound, an exclusion removes variables); in the
    shifts of ``free_agents`` (the pinned agents) the lowest-value unpinned visits make room for the
    pins, a pinned shift takes the place of the agent's other shift that day and of shifts breaking the
    rest rule; duty, visit indicators and dosage increments follow.  A start that still breaks a rule
    (e.g. a presence minimum) is refused by HiGHS, which then searches as for a new week.
    """
    aidx = {a: i for i, a in enumerate(problem.agent_ids)}
    cidx = {c: i for i, c in enumerate(problem.candidate_ids)}
    sidx = {sh.name: i for i, sh in enumerate(problem.shifts)}
    S_n = len(problem.shifts)

    def day(v: str | int) -> int:
        return DAY_NAMES.index(v) if isinstance(v, str) else int(v)

    prev: dict[tuple[int, int, int, int], float] = {}
    for r in visits.itertuples(index=False):
        if r.agent_id in aidx and r.candidate_id in cidx and r.shift in sidx:
            key = (aidx[str(r.agent_id)], cidx[str(r.candidate_id)], day(r.day), sidx[str(r.shift)])
            prev[key] = prev.get(key, 0.0) + float(r.visits)
    xa, xc, xd, xs = (model.xv[k].to_numpy() for k in ("a", "c", "d", "s"))
    x = np.array([prev.get((int(a), int(c), int(d), int(s_)), 0.0) for a, c, d, s_ in zip(xa, xc, xd, xs)])
    lb_x, ub_x = model.var_lb[:model.n_x], model.var_ub[:model.n_x]
    x = np.clip(x, lb_x, ub_x)
    z = np.zeros(model.z_index.shape, bool)
    for r in duty.itertuples(index=False):
        if r.agent_id in aidx and r.shift in sidx:
            z[aidx[str(r.agent_id)], day(r.day), sidx[str(r.shift)]] = True
    z[xa[x > 0], xd[x > 0], xs[x > 0]] = True
    rest = set(rest_conflicts(problem.shifts, problem.min_rest_hours))
    value = problem.value
    cx = problem.candidates["x"].to_numpy(float)
    cy = problem.candidates["y"].to_numpy(float)
    for a in {aidx[f] for f in free_agents if f in aidx}:
        pinned = {(int(d), int(s_)) for d, s_ in zip(xd[(xa == a) & (lb_x > 0)], xs[(xa == a) & (lb_x > 0)])}
        for d, s_ in pinned:  # the pinned shift wins over the agent's other shift that day and rest breaks
            for s2 in range(S_n):
                clash = [(d, s2)] if s2 != s_ else []
                clash += [(d + 1, s2)] if d < 6 and (s_, s2) in rest else []
                clash += [(d - 1, s2)] if d > 0 and (s2, s_) in rest else []
                for dd, ss in clash:
                    if (dd, ss) not in pinned:
                        z[a, dd, ss] = False
                        x[(xa == a) & (xd == dd) & (xs == ss)] = 0.0
            rows = np.flatnonzero((xa == a) & (xd == d) & (xs == s_))
            limit = problem.agents[a].max_pair_distance_m
            if limit is not None:  # unpinned visits too far from a pinned place that shift go
                pins_c = xc[rows[lb_x[rows] > 0]]
                for i in rows[lb_x[rows] == 0]:
                    if np.any(np.hypot(cx[pins_c] - cx[xc[i]], cy[pins_c] - cy[xc[i]]) > limit):
                        x[i] = 0.0
            cap = np.floor(problem.agents[a].patrol_minutes_per_shift / problem.dosage.minutes_per_visit + 1e-9)
            for i in sorted(rows, key=lambda i: value[xc[i], d, s_]):  # lowest value goes first
                over = x[rows].sum() - cap
                if over <= 0:
                    break
                x[i] = max(lb_x[i], x[i] - over)
        z[a] &= model.z_index[a] >= 0
        z[a, [d for d, _ in pinned], [s_ for _, s_ in pinned]] = True
    # weekly hours of the free agents: drop their lowest-value unpinned shifts until within contract
    for a in {aidx[f] for f in free_agents if f in aidx}:
        agent = problem.agents[a]
        while sum(problem.shifts[s_].paid_hours for _, s_ in zip(*np.nonzero(z[a]))) > agent.contracted_hours_week:
            worked = [(d, s_) for d, s_ in zip(*np.nonzero(z[a]))
                      if not ((xa == a) & (xd == d) & (xs == s_) & (lb_x > 0)).any()]
            if not worked:
                break
            d, s_ = min(worked, key=lambda t: float((x * value[xc, xd, xs])[(xa == a) & (xd == t[0]) & (xs == t[1])].sum()))
            z[a, d, s_] = False
            x[(xa == a) & (xd == d) & (xs == s_)] = 0.0
    n_var = len(model.c)
    full = np.zeros(n_var)
    full[:model.n_x] = x
    zv = model.z_index[z & (model.z_index >= 0)]
    full[zv] = 1.0
    vx, vv = model.v_of_x
    full[vv] = (x[vx] > 0).astype(float)
    n_y = len(model.y_keys)
    if n_y:
        tot = np.zeros(value.shape)
        np.add.at(tot, (xc, xd, xs), x)
        yk = model.y_keys
        full[n_var - n_y:] = (yk[:, 3] < tot[yk[:, 0], yk[:, 1], yk[:, 2]]).astype(float)
    return np.arange(n_var, dtype=np.int64), full


def _complete_start(problem: AllocationProblem, model: _Model, warm: WarmStart, *, time_limit_s: float) -> Start | None:
    """A feasible full start: the previous plan with everyone but the free agents fixed, the rest re-planned.

    The small MILP over the free agents' visits and duty and everyone's on the pinned days (all
    else fixed to the previous plan, repaired by :func:`start_from_plan`) solves in a fraction of the whole; its plan
    is the whole model's first incumbent.  ``None`` when it has no solution (HiGHS then starts cold).
    """
    idx, full = start_from_plan(problem, model, warm.visits, warm.duty, free_agents=warm.free_agents)
    free = {i for i, a in enumerate(problem.agent_ids) if a in set(warm.free_agents)}
    pin_days = {p.day for p in problem.pins if p.agent_id in set(warm.free_agents)}
    xa, xd = model.xv["a"].to_numpy(), model.xv["d"].to_numpy()
    za, zd, _ = np.nonzero(model.z_index >= 0)
    zvar = model.z_index[model.z_index >= 0]
    # free the pinned days first; if that cannot be completed, the days either side too (rest rule)
    for days in (sorted(pin_days), sorted({d + k for d in pin_days for k in (-1, 0, 1)})):
        fix_x = np.flatnonzero(~np.isin(xa, list(free)) & ~np.isin(xd, days))
        fix = np.concatenate([fix_x, zvar[~np.isin(za, list(free)) & ~np.isin(zd, days)]])
        lb, ub = model.var_lb.copy(), model.var_ub.copy()
        lb[fix] = ub[fix] = full[fix]
        res = run_model(replace(model, var_lb=lb, var_ub=ub), time_limit_s=time_limit_s, mip_rel_gap=0.01,
                        solver="highspy")
        if res.x is not None:
            return np.arange(len(res.x), dtype=np.int64), res.x
    return None


def _diagnose(problem: AllocationProblem, *, time_limit_s: float) -> str:
    """Name the constraints behind an infeasible model by re-solving relaxations."""
    def feasible(**kw: Any) -> bool:
        try:
            m = build_model(problem, **kw)
        except InfeasibleAllocationError:
            return False
        return run_model(m, time_limit_s=time_limit_s, mip_rel_gap=1.0).status in (0, 1)

    if problem.pins and feasible(use_pins=False):
        kept: list[Pin] = []
        for p in problem.pins:
            if feasible(pins=[*kept, p]):
                kept.append(p)
                continue
            fams = []
            if feasible(pins=[*kept, p], use_presence=False):
                fams.append("minimum presence per ward/park")
            if feasible(pins=[*kept, p], use_on_duty=False):
                fams.append(f"at least {problem.min_wardens_on_duty} wardens on duty per shift")
            if not fams:
                fams.append("staff hours and shift rules (weekly hours, one shift a day, rest, shift minutes)")
            earlier = f" together with pins {[q.label() for q in kept]}" if kept else ""
            return f"pin {p.label()}{earlier} conflicts with: {' and '.join(fams)}"
        return "the pins conflict with each other or with the capacity constraints"
    if feasible(use_pins=False, use_presence=False):
        return ("minimum presence per ward/park needs more visits than the patrollers' shift minutes and weekly "
                "hours allow (lower presence_min_visits or use presence='week')")
    if feasible(use_pins=False, use_on_duty=False):
        return (f"at least {problem.min_wardens_on_duty} wardens on duty in every shift needs more shifts than the "
                "wardens' weekly hours allow")
    return "staff hours and shift rules leave no feasible plan"


# ----------------------------------------------------------------------------
# CCTV
# ----------------------------------------------------------------------------
def _cover(px: np.ndarray, py: np.ndarray, sx: np.ndarray, sy: np.ndarray, radius: float) -> sparse.csr_array:
    """Sparse (points x sites) 0/1: site within ``radius`` of point."""
    if len(px) == 0 or len(sx) == 0:
        return sparse.csr_array((len(px), len(sx)))
    tree = shapely.STRtree(shapely.points(sx, sy))
    pi, si = tree.query(shapely.points(px, py), predicate="dwithin", distance=radius)
    return sparse.coo_array((np.ones(len(pi)), (pi, si)), shape=(len(px), len(sx))).tocsr()


def site_cameras(cctv: CCTVProblem, *, time_limit_s: float = 30.0, mip_rel_gap: float = 1e-4) -> dict[str, Any]:
    """Solve the CCTV maximal covering location problem.

    Returns
    -------
    dict
        ``sites`` (chosen site ids, sorted), ``objective`` (harm per week in the
        counted hours newly covered), ``dual_bound``, ``gap``, ``status``,
        ``seconds``, ``demand_removed_fixed`` (demand already covered by fixed CCTV).

    Raises
    ------
    InfeasibleAllocationError
        If cameras inside their minimum term outnumber the cameras available.
    """
    t0 = time.perf_counter()
    must = sorted(set(cctv.must_stay))
    if len(must) > cctv.cameras:
        msg = (f"camera continuity: {len(must)} cameras are inside their minimum {cctv.min_deployment_weeks}-week "
               f"term ({must}) but only {cctv.cameras} cameras exist")
        raise InfeasibleAllocationError(msg)
    d = cctv.demand
    px, py, w = d["x"].to_numpy(float), d["y"].to_numpy(float), d["weight"].to_numpy(float)
    fixed_cov = np.zeros(len(d), bool)
    if cctv.fixed:
        fx = np.array([s.x for s in cctv.fixed])
        fy = np.array([s.y for s in cctv.fixed])
        fixed_cov = np.asarray(_cover(px, py, fx, fy, cctv.fixed_radius_m).sum(axis=1)).ravel() > 0
    sid = [s.site_id for s in cctv.sites]
    sx = np.array([s.x for s in cctv.sites], float)
    sy = np.array([s.y for s in cctv.sites], float)
    cov = _cover(px, py, sx, sy, cctv.radius_m)
    keep = (~fixed_cov) & (w > 0) & (np.asarray(cov.sum(axis=1)).ravel() > 0)
    cov = cov[np.flatnonzero(keep)]
    wk = w[keep]
    n_s, n_u = len(sid), int(keep.sum())
    out = {"sites": must, "objective": 0.0, "dual_bound": 0.0, "gap": 0.0, "status": "no sites",
           "seconds": 0.0, "demand_removed_fixed": float(w[fixed_cov].sum()), "n_demand": len(d)}
    if n_s == 0 or cctv.cameras == 0:
        out["seconds"] = time.perf_counter() - t0
        return out
    deployed_sites = {c.site_id for c in cctv.deployed}
    eps = 1e-6 * max(float(wk.max()) if n_u else 1.0, 1.0)
    cost = np.concatenate([[-eps if s in deployed_sites else eps * 1e-3 for s in sid], -wk])
    rows = sparse.hstack([-cov, sparse.eye_array(n_u)]).tocsr() if n_u else sparse.csr_array((0, n_s))
    count = sparse.csr_array(np.concatenate([np.ones(n_s), np.zeros(n_u)])[None, :])
    A = sparse.vstack([rows, count]).tocsr()
    lb = np.concatenate([np.full(n_u, -np.inf), [-np.inf]])
    ub = np.concatenate([np.zeros(n_u), [float(cctv.cameras)]])
    var_lb = np.zeros(n_s + n_u)
    for s in must:
        var_lb[sid.index(s)] = 1.0
    integrality = np.concatenate([np.ones(n_s, np.uint8), np.zeros(n_u, np.uint8)])
    res = milp(cost, constraints=[LinearConstraint(A, lb, ub)], integrality=integrality,
               bounds=Bounds(var_lb, np.ones(n_s + n_u)),
               options={"time_limit": float(time_limit_s), "mip_rel_gap": float(mip_rel_gap), "disp": False})
    if res.x is None:
        msg = f"CCTV siting found no solution: {res.message}"
        raise InfeasibleAllocationError(msg)
    chosen = np.flatnonzero(res.x[:n_s] > 0.5)
    covered = np.asarray(cov[:, chosen].sum(axis=1)).ravel() > 0 if n_u else np.zeros(0, bool)
    out.update(sites=sorted(sid[i] for i in chosen), objective=float(wk[covered].sum()),
               dual_bound=float(-res.mip_dual_bound) if res.mip_dual_bound is not None else float("nan"),
               gap=float(res.mip_gap) if res.mip_gap is not None else float("nan"),
               status="optimal" if res.status == 0 else str(res.message), seconds=time.perf_counter() - t0)
    return out


# ----------------------------------------------------------------------------
# solve and explain
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Allocation:
    """A solved week: assignments with reasons, unassigned candidates with reasons, and solver figures."""

    assignments: pd.DataFrame
    duty: pd.DataFrame
    unassigned: pd.DataFrame
    cameras: pd.DataFrame
    objective: float
    dual_bound: float
    gap: float
    status: str
    build_seconds: float
    solve_seconds: float
    cctv_objective: float
    cctv: CCTVSiting
    harm_covered: float
    size: dict[str, int]
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plan."""
        def recs(df: pd.DataFrame) -> list[dict[str, Any]]:
            return plain_records(df)
        return {"objective": self.objective, "dual_bound": self.dual_bound, "gap": self.gap, "status": self.status,
                "harm_covered": self.harm_covered, "cctv_objective": self.cctv_objective,
                "timings_s": {"build": self.build_seconds, "solve": self.solve_seconds,
                              "cctv": self.cctv.seconds},
                "model_size": self.size, "notes": list(self.notes), "assignments": recs(self.assignments),
                "duty": recs(self.duty), "unassigned": recs(self.unassigned), "cameras": recs(self.cameras),
                "cctv": self.cctv.to_json()}


def _cameras_frame(problem: AllocationProblem, res: dict[str, Any]) -> pd.DataFrame:
    cctv = problem.cctv
    cols = ["camera_id", "site_id", "x", "y", "status", "site_source"]
    if cctv is None:
        return pd.DataFrame(columns=cols)
    site = {s.site_id: s for s in cctv.sites}
    chosen = list(res["sites"])
    rows = []
    used_cams = set()
    for cam in sorted(cctv.deployed, key=lambda c: c.camera_id):
        if cam.site_id in chosen:
            status = ("stays: inside its minimum term" if cam.site_id in cctv.must_stay else "kept in place")
            s = site[cam.site_id]
            rows.append({"camera_id": cam.camera_id, "site_id": s.site_id, "x": s.x, "y": s.y, "status": status,
                         "site_source": s.source})
            used_cams.add(cam.camera_id)
            chosen.remove(cam.site_id)
    free = [c.camera_id for c in sorted(cctv.deployed, key=lambda c: c.camera_id) if c.camera_id not in used_cams]
    free += [f"CAM{k + 1:02d}" for k in range(cctv.cameras) if f"CAM{k + 1:02d}" not in {c.camera_id for c in cctv.deployed}]
    for sid_ in chosen:
        s = site[sid_]
        cam_id = free.pop(0) if free else "unassigned"
        rows.append({"camera_id": cam_id, "site_id": sid_, "x": s.x, "y": s.y,
                     "status": f"new: request now, live after {cctv.lead_time_weeks} week(s) lead time "
                               f"(Surveillance Camera Code / DPIA check first)", "site_source": s.source})
    return pd.DataFrame(rows, columns=cols)


@dataclass(frozen=True)
class WarmStart:
    """A previous plan of the same week to start HiGHS from (``highspy``): a re-solve after a pin.

    ``visits`` and ``duty`` are the plan's ``assignments`` and ``duty`` rows; ``free_agents`` (the
    pinned agents) are left for HiGHS to re-plan, everyone else starts where the previous plan had them.
    """

    visits: pd.DataFrame
    duty: pd.DataFrame
    free_agents: tuple[str, ...] = ()

    @classmethod
    def from_plan(cls, plan: Plan | Mapping[str, Any], *, free_agents: Sequence[str] = ()) -> WarmStart:
        """From a plan dict (``Allocation.to_dict`` / ``plan_week``)."""
        p = Plan.coerce(plan)
        visits = pd.DataFrame([(a.agent_id, a.candidate_id, a.day, a.shift, a.visits) for a in p.assignments],
                              columns=["agent_id", "candidate_id", "day", "shift", "visits"])
        duty = pd.DataFrame([(d.agent_id, d.day, d.shift) for d in p.duty], columns=["agent_id", "day", "shift"])
        return cls(visits=visits[["agent_id", "candidate_id", "day", "shift", "visits"]],
                   duty=duty[["agent_id", "day", "shift"]], free_agents=tuple(free_agents))


def solve(problem: AllocationProblem, *, time_limit_s: float = 60.0, mip_rel_gap: float | None = None,
          fallback_greedy: bool = True, warm_start: WarmStart | None = None) -> Allocation:
    """Solve the week's allocation with HiGHS (:func:`scipy.optimize.milp`) and explain it.

    Parameters
    ----------
    problem
        From :func:`build_problem`.
    time_limit_s
        Wall-clock limit for the patrol MILP (and again for the CCTV MILP).
    mip_rel_gap
        Stop when the relative gap between the best plan and the bound is at most this; by default
        :func:`plan_gap` of the roster's size.
    fallback_greedy
        Return the greedy plan if it is better than the solver's plan (at the time
        limit, or a hair better than a plan within the gap); the bound and gap then refer to it.
    warm_start
        A previous plan of the week: HiGHS is run through ``highspy`` from it (scipy's ``milp``
        takes no starting solution), so a re-solve after a pin stops as soon as the bound proves
        the gap.  Without it the model is solved by :func:`scipy.optimize.milp`.

    Returns
    -------
    Allocation
        ``objective`` is the priority-weighted expected harm covered per week,
        ``dual_bound`` the solver's bound on it and ``gap`` the relative gap.

    Raises
    ------
    InfeasibleAllocationError
        If pins or requirements cannot be met; the message names the pins and
        the constraint families in conflict (found by pre-checks, or by
        re-solving without pins and adding them back one at a time).
    TaskingError
        If the solver stops at the time limit without any feasible plan.
    """
    if mip_rel_gap is None:
        mip_rel_gap = plan_gap(len(problem.agents))
    if not time_limit_s > 0 or not 0 <= mip_rel_gap < 1:
        msg = f"time_limit_s ({time_limit_s!r}) must be > 0 and mip_rel_gap ({mip_rel_gap!r}) in [0, 1)"
        raise TaskingError(msg)
    _precheck_pins(problem)
    sol = _solve_patrol(problem, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap, fallback_greedy=fallback_greedy,
                        warm_start=warm_start)
    return finish(problem, sol, time_limit_s=time_limit_s)


@dataclass
class PatrolSolution:
    """The patrol part of a solved week, in model indices (before explanations and CCTV)."""

    visits: pd.DataFrame  # a, c, d, s, n
    duty_idx: pd.DataFrame  # a, d, s
    value: float
    harm_covered: float
    dual_bound: float
    status: str
    size: dict[str, int]
    notes: list[str]
    build_seconds: float
    solve_seconds: float


def _solve_patrol(problem: AllocationProblem, *, time_limit_s: float, mip_rel_gap: float,
                  fallback_greedy: bool = True, warm_start: WarmStart | None = None) -> PatrolSolution:
    """Build and solve the patrol MILP (pins already pre-checked)."""
    t0 = time.perf_counter()
    model = build_model(problem)
    t1 = time.perf_counter()
    if warm_start is not None:
        start = _complete_start(problem, model, warm_start, time_limit_s=time_limit_s)
        res = run_model(model, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap, start=start)
        if res.x is None and res.status != 2:  # the start did not help: solve as a new week
            res = run_model(model, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap)
    else:
        res = run_model(model, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap)
    t2 = time.perf_counter()
    if res.status == 2:
        why = _diagnose(problem, time_limit_s=time_limit_s)
        msg = f"no feasible plan for {problem.week}: {why}"
        raise InfeasibleAllocationError(msg)
    if res.x is None:
        msg = (f"the solver stopped ({res.message}) before finding any feasible plan; "
               f"raise time_limit_s (was {time_limit_s:g} s)")
        raise TaskingError(msg)
    dual = -float(res.mip_dual_bound) if res.mip_dual_bound is not None else float("nan")
    # the model's tiny tie-breaking costs (no useless visits, no idle duty) are in the solver's bound but not in
    # the plan's value: add their largest possible total so the bound is one on the plan's own objective
    penalties = np.maximum(model.c, 0.0)
    dual += float(np.sum(penalties * np.where(np.isfinite(model.var_ub), model.var_ub, 0.0)))
    size = {"variables": len(model.c), "integer_variables": int(model.integrality.sum()),
            "constraints": int(model.A.shape[0]), "nonzeros": int(model.A.nnz), "visit_variables": int(model.n_x),
            "nodes": int(res.mip_node_count or 0)}
    freed = ", ".join(warm_start.free_agents) if warm_start is not None and res.start_used else None
    xsol = np.rint(res.x[:model.n_x]).astype(int)
    xv = model.xv
    pos = xsol > 0
    visits = pd.DataFrame({"a": xv["a"].to_numpy()[pos], "c": xv["c"].to_numpy()[pos], "d": xv["d"].to_numpy()[pos],
                           "s": xv["s"].to_numpy()[pos], "n": xsol[pos]})
    zsol = np.rint(res.x[model.n_x:model.n_x + int((model.z_index >= 0).sum())]).astype(int)
    za, zd, zs = np.nonzero(problem.available)
    on = zsol > 0
    duty_idx = pd.DataFrame({"a": za[on], "d": zd[on], "s": zs[on]})
    # duty implied by visits (robust to rounding)
    extra = visits[["a", "d", "s"]].drop_duplicates()
    duty_idx = pd.concat([duty_idx, extra]).drop_duplicates().sort_values(["a", "d", "s"]).reset_index(drop=True)
    value, harm_cov = coverage_value(problem, visits)
    status = (f"optimal within mip_rel_gap {mip_rel_gap:g}" if res.status == 0 else f"stopped: {res.message}")
    notes = list(problem.notes) + list(model.notes)
    if freed is not None:
        notes.append("re-solved with HiGHS (highspy) from the previous plan: agents other than "
                     f"{freed or 'none'} started where that plan had them")
    if fallback_greedy:
        # a plan within the gap (or the incumbent at the time limit) can still be a hair below the greedy
        # baseline: keep the greedy plan then, so a returned plan is never worse than the baseline
        g = greedy(problem)
        if g.complete and g.objective > value + 1e-9:
            why = "stopped at the time limit" if res.status != 0 else f"stopped within the gap ({mip_rel_gap:g})"
            notes.append(f"the solver {why} with a plan worth {value:.4g}; the greedy plan "
                         f"({g.objective:.4g}) is returned instead and the bound still applies")
            status += "; greedy plan kept (better than the solver's incumbent)"
            visits, duty_idx, value, harm_cov = g.visits, g.duty_index, g.objective, g.harm_covered
    return PatrolSolution(visits=visits, duty_idx=duty_idx, value=value, harm_covered=harm_cov, dual_bound=dual,
                          status=status, size=size, notes=notes, build_seconds=t1 - t0, solve_seconds=t2 - t1)


def finish(problem: AllocationProblem, sol: PatrolSolution, *, time_limit_s: float) -> Allocation:
    """Explanations, CCTV siting and the gap for a patrol solution: the :class:`Allocation`."""
    visits, duty_idx, value, harm_cov, dual = sol.visits, sol.duty_idx, sol.value, sol.harm_covered, sol.dual_bound
    assign, unassigned = explain(problem, visits, duty_idx)
    duty = _duty_frame(problem, duty_idx, visits)
    cctv_res: dict[str, Any] = {"objective": 0.0, "seconds": 0.0, "sites": [], "status": "not requested"}
    if problem.cctv is not None:
        cctv_res = site_cameras(problem.cctv, time_limit_s=time_limit_s)
        cctv_res["notes"] = list(problem.cctv.notes)
    cams = _cameras_frame(problem, cctv_res)
    # gap of the returned plan against the solver's bound, in the objective's own units
    # (HiGHS's own mip_gap also counts the tiny tie-breaking terms)
    gap = max(dual - value, 0.0) / max(abs(value), 1e-12) if np.isfinite(dual) else float("nan")
    return Allocation(assignments=assign, duty=duty, unassigned=unassigned, cameras=cams, objective=value,
                      dual_bound=dual, gap=gap, status=sol.status,
                      build_seconds=sol.build_seconds, solve_seconds=sol.solve_seconds,
                      cctv_objective=float(cctv_res["objective"]),
                      cctv=CCTVSiting.from_json(cctv_res), harm_covered=harm_cov, size=sol.size, notes=tuple(sol.notes))


def _duty_frame(problem: AllocationProblem, duty_idx: pd.DataFrame, visits: pd.DataFrame) -> pd.DataFrame:
    names = [s.name for s in problem.shifts]
    used = visits.groupby(["a", "d", "s"])["n"].sum() if len(visits) else pd.Series(dtype=float)
    rows = []
    for r in duty_idx.itertuples(index=False):
        a, d, s = int(r.a), int(r.d), int(r.s)
        n = int(used.get((a, d, s), 0)) if len(used) else 0
        rows.append({"agent_id": problem.agents[a].agent_id, "day": DAY_NAMES[d], "date": problem.dates[d].isoformat(),
                     "shift": names[s], "tasked_minutes": n * problem.dosage.minutes_per_visit,
                     "patrol_minutes": problem.agents[a].patrol_minutes_per_shift})
    return pd.DataFrame(rows, columns=["agent_id", "day", "date", "shift", "tasked_minutes", "patrol_minutes"])


def with_pins(problem: AllocationProblem, pins: Sequence[Pin]) -> AllocationProblem:
    """A copy of ``problem`` with other pins (for what-if re-solves)."""
    return replace(problem, pins=tuple(pins))
