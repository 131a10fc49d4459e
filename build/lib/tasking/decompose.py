"""A valid bound for large weeks: overlapping block relaxations.

One MILP for a London-sized roster (600 wardens, 60 parks police, about 300,000
variables) does not close its gap in minutes: within the time limit HiGHS
barely finishes the root relaxation, so its own bound stays weak (about 40 %
above the best plan in bench/allocation.py), and that says little about how
good the plan is.  The structure gives a much better bound.  A warden only
reaches candidates within ``home_radius_m`` of their home ward, and parks police
and wardens never share a candidate (jurisdiction).  :func:`decomposed_bound`

1. **splits** the agents into blocks (:func:`partition`): wardens (agents with a
   home ward) by recursive coordinate bisection of their home-ward centroids, at
   most ``max_block_agents`` per block; agents without a home ward (parks police)
   per jurisdiction;
2. **bounds** each warden block on *every* candidate its agents can reach (blocks
   overlap at their borders), without the presence, on-duty and pin rules: a
   relaxation of what those agents can do in any plan.  Covered harm is a concave
   function of the visits to a candidate-shift, with value 0 at 0, so it is
   subadditive: the value of any plan is at most the sum over blocks of what each
   block's agents cover on their own, which is at most the sum of the block
   relaxations' optima.  Each block MILP gets a slice of the time limit and its
   HiGHS *dual bound* is used, so a block stopped early still counts correctly;
3. **bounds** the agents without a home ward by an aggregate relaxation
   (:func:`aggregate_bound`: on-duty counts instead of individual rosters).

The sum is a valid upper bound on the optimum of the whole week.  The gap of any
plan (the solver's incumbent or the greedy plan) against it is therefore an
honest figure.

:func:`improve` then makes the plan better by large-neighbourhood search
(Shaw 1998; Pisinger & Ropke 2010): the whole week's model is built once; for
one block of agents at a time, every visit and duty variable of the *other*
agents is fixed to the current plan and HiGHS re-optimises the block's agents
against everything else, presence and on-duty rules included, so a ward at a
block border keeps its cover.  A block's optimum can never be worse than the
current plan (the current plan is feasible for it); a block stopped at its time
limit is kept only if its incumbent is better.  Solving owned blocks separately
(an earlier attempt) failed exactly because the presence rule couples
neighbours across a border; fixing the neighbours instead of dropping them
removes that problem.

Measured (bench/RESULTS.md): on the RBKC week the search from the greedy plan
reaches the MILP optimum's value within 0.1 % in 3 s.  On the London-sized
SYNTHETIC week it does not help yet: each block's MILP is the whole
300,000-variable model with most variables fixed, scipy's HiGHS takes no
starting solution, and in 20 s per block it found no better incumbent than
the plan it started from (11 blocks in 240 s).  Next: block models restricted
to the block's agents and reach, with the fixed neighbours' visits folded into
the presence, on-duty and diminishing-returns terms, or a warm start through
highspy.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from ._errors import TaskingError
from .allocation import build_model, run_model
from .problem import (
    AllocationProblem,
    coverage_value,
    eligible_matrix,
    rest_conflicts,
    visit_value,
)

__all__ = ["Block", "aggregate_bound", "decomposed_bound", "improve", "partition", "subproblem"]


@dataclasses.dataclass(frozen=True)
class Block:
    """Agents of one block, the candidates it owns (plans) and those it reaches (bounds)."""

    agents: np.ndarray
    owned: np.ndarray
    reach: np.ndarray
    roaming: bool  # agents without a home ward (bounded by the aggregate relaxation instead)


def _bisect(idx: np.ndarray, xy: np.ndarray, limit: int) -> list[np.ndarray]:
    """Recursive coordinate bisection of ``idx`` (points ``xy[idx]``) into groups of at most ``limit``."""
    if len(idx) <= limit:
        return [idx]
    pts = xy[idx]
    axis = int(np.argmax(pts.max(axis=0) - pts.min(axis=0)))
    order = idx[np.argsort(pts[:, axis], kind="stable")]
    half = len(order) // 2
    return _bisect(order[:half], xy, limit) + _bisect(order[half:], xy, limit)


def partition(problem: AllocationProblem, *, max_block_agents: int = 40, max_block_roaming: int = 6) -> list[Block]:
    """Split agents and candidates into blocks (see the module docstring).

    Every candidate is owned by exactly one block whose agents may visit it, or by
    none when no agent can (it then stays unassigned, as in a direct solve).
    """
    if max_block_agents < 1 or max_block_roaming < 1:
        msg = f"max_block_agents ({max_block_agents}) and max_block_roaming ({max_block_roaming}) must be >= 1"
        raise TaskingError(msg)
    elig = eligible_matrix(problem)
    cands = problem.candidates
    cxy = cands[["x", "y"]].to_numpy(float)
    ward = cands["ward_code"].astype(str).to_numpy()
    n_a = len(problem.agents)
    homed = np.array([problem.home_xy[a] is not None and problem.agents[a].home_radius_m is not None
                      for a in range(n_a)])
    blocks: list[Block] = []
    owned_any = np.zeros(len(cands), bool)

    # agents with a home ward: bisect their homes; wards go whole to their home warden's block
    hidx = np.flatnonzero(homed)
    if len(hidx):
        hxy = np.array([problem.home_xy[a] if problem.home_xy[a] is not None else (np.nan, np.nan)
                        for a in range(n_a)], float)
        groups = _bisect(hidx, hxy, max_block_agents)
        block_of_agent = {int(a): b for b, g in enumerate(groups) for a in g}
        home_block = {problem.agents[a].home_ward_code: block_of_agent[int(a)] for a in hidx}
        reachable = elig[hidx].any(axis=0)
        owner = np.full(len(cands), -1)
        for w in np.unique(ward[reachable]):
            in_w = reachable & (ward == w)
            b = home_block.get(w)
            if b is None:  # no warden lives here: the block of the nearest home whose agents reach it
                centre = cxy[in_w].mean(axis=0)
                near = hidx[np.argsort(np.hypot(*(hxy[hidx] - centre).T))]
                b = next((block_of_agent[int(a)] for a in near if elig[a, in_w].any()), None)
            if b is not None:
                owner[in_w] = b
        for b, g in enumerate(groups):
            own = np.flatnonzero(owner == b)
            # a candidate owned by a block must be reachable by one of its agents
            own = own[elig[g][:, own].any(axis=0)] if len(own) else own
            owned_any[own] = True
            blocks.append(Block(agents=np.sort(g), owned=own, reach=np.flatnonzero(elig[g].any(axis=0)),
                                roaming=False))

    # agents without a home ward, grouped by identical jurisdiction
    ridx = np.flatnonzero(~homed)
    by_juris: dict[frozenset[str], list[int]] = {}
    for a in ridx:
        by_juris.setdefault(problem.agents[a].jurisdiction, []).append(int(a))
    for agents in by_juris.values():
        ag = np.asarray(agents)
        cset = np.flatnonzero(elig[ag].any(axis=0) & ~owned_any)
        n_groups = max(1, math.ceil(len(ag) / max_block_roaming))
        n_groups = min(n_groups, max(1, len(cset)))
        if n_groups == 1 or len(cset) == 0:
            blocks.append(Block(agents=ag, owned=cset, reach=np.flatnonzero(elig[ag].any(axis=0)), roaming=True))
            owned_any[cset] = True
            continue
        # bisect candidates into n_groups parts of near-equal size, then share officers by size
        parts = _bisect(cset, cxy, math.ceil(len(cset) / n_groups))
        sizes = np.array([len(p) for p in parts], float)
        share = sizes / sizes.sum() * len(ag)
        take = np.maximum(np.floor(share).astype(int), 1)
        while take.sum() > len(ag):  # more parts than officers: drop from the largest allocations
            take[np.argmax(take)] -= 1
        while take.sum() < len(ag):
            take[np.argmax(share - take)] += 1
        start = 0
        for p, k in zip(parts, take, strict=True):
            if k == 0:
                continue
            g = ag[start:start + k]
            start += k
            blocks.append(Block(agents=g, owned=np.sort(p), reach=np.flatnonzero(elig[g].any(axis=0)), roaming=True))
        owned_any[cset] = True
    return blocks


def subproblem(problem: AllocationProblem, agents: np.ndarray, cands: np.ndarray, **changes: Any) -> AllocationProblem:
    """The instance restricted to ``agents`` and ``cands`` (model indices); pins and exclusions that apply."""
    agents = np.asarray(agents, int)
    cands = np.asarray(cands, int)
    aid = {problem.agents[a].agent_id for a in agents}
    cid = set(problem.candidates["candidate_id"].iloc[cands])
    pins = tuple(p for p in problem.pins if p.agent_id in aid and p.candidate_id in cid)
    exclusions = tuple(e for e in problem.exclusions if e.candidate_id in cid
                       and (e.agent_id is None or e.agent_id in aid))
    return dataclasses.replace(
        problem, agents=tuple(problem.agents[a] for a in agents), home_xy=tuple(problem.home_xy[a] for a in agents),
        candidates=problem.candidates.iloc[cands].reset_index(drop=True), value=problem.value[cands],
        harm=problem.harm[cands], available=problem.available[agents], pins=pins, exclusions=exclusions, cctv=None,
        **changes)


def aggregate_bound(problem: AllocationProblem, agents: np.ndarray, cands: np.ndarray, *,
                    time_limit_s: float = 30.0) -> float:
    """Upper bound on what ``agents`` (all without a home ward) can cover on ``cands``.

    Relaxation: ``Z[d, s]`` agents on duty (integer, at most those available),
    ``X[c, d, s]`` visits (integer), dosage increments ``Y[c, d, s, k]``; visits use
    at most ``Z`` shifts' patrol minutes, ``sum_s Z[d, s]`` at most the agents
    (one shift a day), ``sum Z`` at most the agents' weekly shift allowance, and
    the rest rule as ``Z[d, s1] + Z[d+1, s2] <= agents``.  Any individual roster
    maps to such totals, so the optimum of this model bounds the block's value.
    Returns the solver's dual bound (or the optimum).
    """
    agents = np.asarray(agents, int)
    cands = np.asarray(cands, int)
    if len(agents) == 0 or len(cands) == 0:
        return 0.0
    S = len(problem.shifts)
    K = problem.dosage.max_visits
    mpv = problem.dosage.minutes_per_visit
    ag = [problem.agents[a] for a in agents]
    cap = np.floor(np.array([a.patrol_minutes_per_shift for a in ag]) / mpv + 1e-9)
    avail = problem.available[agents]  # (A, 7, S)
    n_on = avail.sum(axis=0)  # (7, S)
    # shift allowance per agent: floor(contracted / paid) when all shifts are paid alike
    paid = np.array([sh.paid_hours for sh in problem.shifts])
    per_agent = np.array([math.floor(a.contracted_hours_week / paid.min() + 1e-9) for a in ag])
    vv = visit_value(problem)[cands]  # (C, 7, S, K)
    C = len(cands)
    nZ, nX, nY = 7 * S, C * 7 * S, C * 7 * S * K
    n = nZ + nX + nY
    zi = np.arange(nZ).reshape(7, S)
    xi = nZ + np.arange(nX).reshape(C, 7, S)
    yi = nZ + nX + np.arange(nY).reshape(C, 7, S, K)
    cost = np.zeros(n)
    cost[nZ + nX:] = -vv.reshape(-1)
    rows, cols, vals, lo, hi = [], [], [], [], []
    r = 0

    def add(cs: np.ndarray, vs: np.ndarray, lb: float, ub: float) -> None:
        nonlocal r
        rows.append(np.full(len(cs), r))
        cols.append(np.asarray(cs))
        vals.append(np.asarray(vs, float))
        lo.append(lb)
        hi.append(ub)
        r += 1

    best_cap = float(cap.max())
    for d in range(7):
        for s in range(S):
            # visits fit in the on-duty agents' minutes (the largest capacity: a relaxation when they differ)
            add(np.concatenate([xi[:, d, s], [zi[d, s]]]), np.concatenate([np.ones(C), [-best_cap]]), -np.inf, 0.0)
            for c in range(C):
                add(np.concatenate([yi[c, d, s], [xi[c, d, s]]]), np.concatenate([np.ones(K), [-1.0]]), -np.inf, 0.0)
        add(zi[d], np.ones(S), -np.inf, float(len(agents)))
    add(zi.reshape(-1), np.ones(nZ), -np.inf, float(per_agent.sum()))
    for s1, s2 in rest_conflicts(problem.shifts, problem.min_rest_hours):
        for d in range(6):
            add(np.array([zi[d, s1], zi[d + 1, s2]]), np.ones(2), -np.inf, float(len(agents)))
    A = sparse.csr_array((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(r, n))
    ub = np.concatenate([n_on.reshape(-1).astype(float), np.full(nX, K * float(len(agents))), np.ones(nY)])
    integrality = np.concatenate([np.ones(nZ + nX, np.uint8), np.zeros(nY, np.uint8)])
    res = milp(cost, constraints=[LinearConstraint(A, np.asarray(lo), np.asarray(hi))], integrality=integrality,
               bounds=Bounds(np.zeros(n), ub), options={"time_limit": float(time_limit_s), "disp": False,
                                                         "mip_rel_gap": 1e-4})
    if res.mip_dual_bound is not None and np.isfinite(res.mip_dual_bound):
        return float(-res.mip_dual_bound)
    # no bound reported: the LP relaxation of the relaxation is still a bound
    lp = milp(cost, constraints=[LinearConstraint(A, np.asarray(lo), np.asarray(hi))],
              bounds=Bounds(np.zeros(n), ub), options={"disp": False})
    return float(-lp.fun)


def _relaxation_bound(problem: AllocationProblem, *, time_limit_s: float, mip_rel_gap: float) -> tuple[float, bool]:
    """HiGHS's dual bound on ``problem`` (valid even when stopped early); whether it closed the gap."""
    model = build_model(problem, use_pins=False, use_presence=False, use_on_duty=False)
    if len(model.c) == 0:
        return 0.0, True
    res = run_model(model, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap)
    # the model charges a tiny cost per visit and duty shift (tie-breaking); add back its largest total
    slack = float((np.maximum(model.c, 0.0) * model.var_ub).sum())
    if res.mip_dual_bound is not None and np.isfinite(res.mip_dual_bound):
        return float(-res.mip_dual_bound) + slack, res.status == 0
    cons = [LinearConstraint(model.A, model.lb, model.ub)] if model.A.shape[0] else []
    lp = milp(model.c, constraints=cons, bounds=Bounds(model.var_lb, model.var_ub), options={"disp": False})
    return float(-lp.fun) + slack, False


def decomposed_bound(problem: AllocationProblem, *, time_limit_s: float = 60.0, mip_rel_gap: float = 0.01,
                     max_block_agents: int = 40, max_block_roaming: int = 6) -> dict[str, Any]:
    """A valid upper bound on the week's optimum from overlapping block relaxations.

    Home-ward agents: each block with every candidate its agents reach, without
    presence, on-duty and pins, solved with HiGHS for a slice of ``time_limit_s``
    (its dual bound counts, so a block stopped early still gives a valid bound).
    Roaming agents (no home ward): :func:`aggregate_bound` per jurisdiction.

    Returns
    -------
    dict
        ``bound`` (sum), ``blocks``, ``blocks_closed`` (relaxations solved to
        ``mip_rel_gap``), ``seconds``.
    """
    if not time_limit_s > 0:
        msg = f"time_limit_s ({time_limit_s!r}) must be > 0"
        raise TaskingError(msg)
    t0 = time.perf_counter()
    blocks = partition(problem, max_block_agents=max_block_agents, max_block_roaming=max_block_roaming)
    homed = [b for b in blocks if not b.roaming]
    weights = np.array([len(b.agents) * max(len(b.reach), 1) for b in homed], float)
    budget = (np.maximum(1.0, 0.9 * time_limit_s * weights / weights.sum()) if len(homed) else np.zeros(0))
    bound, closed = 0.0, 0
    for b, tl in zip(homed, budget, strict=True):
        relax = subproblem(problem, b.agents, b.reach, min_wardens_on_duty=0, presence="none",
                           park_min_visits_per_day=0)
        relax = dataclasses.replace(relax, pins=())
        value, ok = _relaxation_bound(relax, time_limit_s=float(tl), mip_rel_gap=mip_rel_gap)
        bound += value
        closed += ok
    roaming: dict[frozenset[str], tuple[list[np.ndarray], list[np.ndarray]]] = {}
    for b in blocks:
        if b.roaming:
            key = problem.agents[int(b.agents[0])].jurisdiction
            ags, rch = roaming.get(key, ([], []))
            roaming[key] = ([*ags, b.agents], [*rch, b.reach])
    for ags, rch in roaming.values():
        bound += aggregate_bound(problem, np.concatenate(ags), np.unique(np.concatenate(rch)),
                                 time_limit_s=max(1.0, 0.1 * time_limit_s))
        closed += 1
    return {"bound": float(bound), "blocks": len(homed) + len(roaming), "blocks_closed": int(closed),
            "seconds": time.perf_counter() - t0}


def improve(problem: AllocationProblem, visits: pd.DataFrame, duty: pd.DataFrame, *, time_limit_s: float = 120.0,
            block_time_s: float = 20.0, mip_rel_gap: float = 0.005, max_block_agents: int = 40,
            max_block_roaming: int = 6) -> dict[str, Any]:
    """Large-neighbourhood search from a feasible plan (model indices): one block of agents at a time.

    Parameters
    ----------
    problem
        The week.
    visits, duty
        A feasible plan in model indices (``a, c, d, s, n`` and ``a, d, s``), e.g. the greedy plan's
        ``visits`` and ``duty_index`` or a solver incumbent.
    time_limit_s
        Time for the whole search; blocks are visited in turn (largest first) until it is spent.
    block_time_s
        Time limit of one block's MILP.

    Returns
    -------
    dict
        ``visits``, ``duty`` (the improved plan, model indices), ``value`` and ``start_value``
        (:func:`coverage_value`), ``blocks_tried``, ``blocks_improved``, ``seconds``, ``notes``.

    Raises
    ------
    TaskingError
        If the starting plan uses a visit the model cannot make.
    """
    if not (time_limit_s > 0 and block_time_s > 0):
        msg = f"time_limit_s ({time_limit_s!r}) and block_time_s ({block_time_s!r}) must be > 0"
        raise TaskingError(msg)
    t0 = time.perf_counter()
    model = build_model(problem)
    xv = model.xv
    xa = xv["a"].to_numpy(int)
    n_x = model.n_x
    lookup = pd.Series(np.arange(n_x), index=pd.MultiIndex.from_frame(xv[["a", "c", "d", "s"]].astype(int)))
    keys = pd.MultiIndex.from_frame(visits[["a", "c", "d", "s"]].astype(int)) if len(visits) else None
    x_cur = np.zeros(n_x)
    if keys is not None:
        pos = lookup.reindex(keys).to_numpy()
        if np.isnan(pos.astype(float)).any():
            msg = "the starting plan has a visit the model cannot make (ineligible agent, candidate, day or shift)"
            raise TaskingError(msg)
        x_cur[pos.astype(int)] = visits["n"].to_numpy(float)
    z_of = model.z_index
    n_z = int((z_of >= 0).sum())
    z_cur = np.zeros(n_z)
    if len(duty):
        zi = z_of[duty["a"].to_numpy(int), duty["d"].to_numpy(int), duty["s"].to_numpy(int)]
        z_cur[zi[zi >= 0] - n_x] = 1.0
    z_agent = np.nonzero(z_of >= 0)[0]  # agent of each z variable, in variable order
    z_agent = z_agent[np.argsort(z_of[z_of >= 0])]

    def frames(x: np.ndarray, z: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
        on = x > 0
        v = pd.DataFrame({k: xv[k].to_numpy(int)[on] for k in ("a", "c", "d", "s")}).assign(n=x[on].astype(int))
        za, zd, zs = np.nonzero(z_of >= 0)
        order = np.argsort(z_of[z_of >= 0])
        za, zd, zs = za[order], zd[order], zs[order]
        o = z > 0.5
        d = pd.DataFrame({"a": za[o], "d": zd[o], "s": zs[o]})
        d = pd.concat([d, v[["a", "d", "s"]]]).drop_duplicates().sort_values(["a", "d", "s"]).reset_index(drop=True)
        return v, d

    start_visits, _ = frames(x_cur, z_cur)
    value = start = coverage_value(problem, start_visits)[0]
    blocks = sorted(partition(problem, max_block_agents=max_block_agents, max_block_roaming=max_block_roaming),
                    key=lambda b: -len(b.agents))
    tried = improved = 0
    notes: list[str] = []
    for b in blocks:
        left = time_limit_s - (time.perf_counter() - t0)
        if left < 1.0:
            break
        free_x = np.isin(xa, b.agents)
        free_z = np.isin(z_agent, b.agents)
        lb, ub = model.var_lb.copy(), model.var_ub.copy()
        lb[:n_x][~free_x] = ub[:n_x][~free_x] = x_cur[~free_x]
        zl, zu = lb[n_x:n_x + n_z], ub[n_x:n_x + n_z]
        zl[~free_z] = zu[~free_z] = z_cur[~free_z]
        sub = dataclasses.replace(model, var_lb=lb, var_ub=ub)
        res = run_model(sub, time_limit_s=min(block_time_s, left), mip_rel_gap=mip_rel_gap)
        tried += 1
        if res.x is None:
            notes.append(f"block of {len(b.agents)} agents: {res.message}")
            continue
        x_new = np.rint(res.x[:n_x])
        z_new = np.rint(res.x[n_x:n_x + n_z])
        cand_visits, _ = frames(x_new, z_new)
        new_value = coverage_value(problem, cand_visits)[0]
        if new_value > value * (1 + 1e-9) + 1e-12:
            x_cur, z_cur, value = x_new, z_new, new_value
            improved += 1
    out_visits, out_duty = frames(x_cur, z_cur)
    return {"visits": out_visits, "duty": out_duty, "value": float(value), "start_value": float(start),
            "blocks": len(blocks), "blocks_tried": tried, "blocks_improved": improved,
            "seconds": time.perf_counter() - t0, "notes": notes}
