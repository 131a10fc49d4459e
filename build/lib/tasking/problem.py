"""The allocation problem shared by the MILP (:mod:`tasking.allocation`) and the greedy baseline (:mod:`tasking.greedy`).

The inputs (pins, exclusions, the CCTV block, :class:`AllocationProblem`),
the week's dates and rest rules, who may visit what (eligibility), the value
of a visit, the presence requirements and the explanation of a plan live here,
so the two solvers import this module and not each other.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from ._errors import TaskingError
from .candidates import DAY_NAMES, harm_column
from .kinds import RESOURCE_KINDS, kind_label, kinds_where
from .resources import CameraSite, DeployedCamera, Dosage, Patroller, Roster, Shift

__all__ = [
    "AllocationProblem",
    "CCTVProblem",
    "Exclusion",
    "Pin",
    "Presence",
    "build_cctv_problem",
    "build_problem",
    "coverage_value",
    "eligible_matrix",
    "eligible_visits",
    "explain",
    "ineligible_reason",
    "iso_week_dates",
    "presence_groups",
    "rest_conflicts",
    "visit_value",
]

Presence = Literal["day", "week", "none"]
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


# ----------------------------------------------------------------------------
# inputs
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Pin:
    """The chair's instruction: ``agent_id`` visits ``candidate_id`` on ``day`` (0 = Monday) in ``shift``."""

    agent_id: str
    candidate_id: str
    day: int
    shift: str
    visits: int = 1

    def label(self) -> str:
        """Readable form, e.g. ``W01 -> ST-c3504_1190 Mon late (1 visit)``."""
        return (f"{self.agent_id} -> {self.candidate_id} {DAY_NAMES[self.day]} {self.shift} "
                f"({self.visits} visit{'s' if self.visits != 1 else ''})")


@dataclass(frozen=True)
class Exclusion:
    """Keep ``candidate_id`` out of the plan (optionally only for one agent, day or shift)."""

    candidate_id: str
    agent_id: str | None = None
    day: int | None = None
    shift: str | None = None

    def matches(self, agent_id: str, candidate_id: str, day: int, shift: str) -> bool:
        """Whether this exclusion forbids that visit."""
        return (candidate_id == self.candidate_id and (self.agent_id is None or self.agent_id == agent_id)
                and (self.day is None or self.day == day) and (self.shift is None or self.shift == shift))

    def whole(self) -> bool:
        """Excludes the candidate for everyone all week."""
        return self.agent_id is None and self.day is None and self.shift is None


@dataclass(frozen=True)
class CCTVProblem:
    """Inputs of the CCTV maximal covering location problem."""

    demand: pd.DataFrame  # demand_id, x, y, weight (harm per week in the hours that count)
    sites: tuple[CameraSite, ...]
    cameras: int
    radius_m: float
    must_stay: tuple[str, ...] = ()  # site ids of cameras inside their minimum term
    deployed: tuple[DeployedCamera, ...] = ()
    fixed: tuple[CameraSite, ...] = ()
    fixed_radius_m: float = 0.0
    min_deployment_weeks: int = 0
    lead_time_weeks: int = 0
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class AllocationProblem:
    """One week's allocation instance (all data; no solver state).

    ``value[c, d, s]`` is the priority-weighted expected harm of candidate ``c`` on
    day ``d`` in shift ``s`` (per week), ``harm`` the same without multipliers,
    ``available[a, d, s]`` whether agent ``a`` can work that shift.
    """

    week: str
    dates: tuple[dt.date, ...]
    agents: tuple[Patroller, ...]
    home_xy: tuple[tuple[float, float] | None, ...]
    candidates: pd.DataFrame
    shifts: tuple[Shift, ...]
    value: np.ndarray
    harm: np.ndarray
    available: np.ndarray
    dosage: Dosage
    min_rest_hours: float
    min_wardens_on_duty: int
    presence: Presence = "day"
    presence_min_visits: int = 1
    park_min_visits_per_day: int = 1
    pins: tuple[Pin, ...] = ()
    exclusions: tuple[Exclusion, ...] = ()
    cctv: CCTVProblem | None = None
    notes: tuple[str, ...] = ()

    @property
    def agent_ids(self) -> list[str]:
        """Agent ids in model order."""
        return [a.agent_id for a in self.agents]

    @property
    def candidate_ids(self) -> list[str]:
        """Candidate ids in model order."""
        return self.candidates["candidate_id"].astype(str).tolist()


def iso_week_dates(week: str) -> tuple[dt.date, ...]:
    """The seven dates (Monday first) of an ISO week ``YYYY-Www``.

    Raises
    ------
    TaskingError
        If the text is not an ISO week.

    Examples
    --------
    >>> [d.isoformat() for d in iso_week_dates("2026-W48")][:2]
    ['2026-11-23', '2026-11-24']
    """
    m = _WEEK.match(str(week))
    if not m:
        msg = f"week was {week!r}; give an ISO week YYYY-Www, e.g. 2026-W48"
        raise TaskingError(msg)
    try:
        monday = dt.date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError as exc:
        msg = f"week {week!r} does not exist ({exc})"
        raise TaskingError(msg) from exc
    return tuple(monday + dt.timedelta(days=k) for k in range(7))


def _weeks_between(a: str, b: str) -> int:
    return (iso_week_dates(b)[0] - iso_week_dates(a)[0]).days // 7


def rest_conflicts(shifts: Sequence[Shift], min_rest_hours: float) -> list[tuple[int, int]]:
    """Pairs ``(s, s2)``: working ``s`` on a day forbids ``s2`` the next day (rest too short)."""
    out = []
    for i, s in enumerate(shifts):
        end = s.start.hour * 60 + s.start.minute + s.span_minutes
        for j, s2 in enumerate(shifts):
            start_next = 24 * 60 + s2.start.hour * 60 + s2.start.minute
            if start_next - end < min_rest_hours * 60:
                out.append((i, j))
    return out


def build_cctv_problem(demand: pd.DataFrame, *, roster: Roster, week: str, sites: Sequence[CameraSite] | None = None,
                       deployed: Sequence[DeployedCamera] = (), weight_col: str = "harm_monitored_week") -> CCTVProblem:
    """CCTV siting inputs: demand, sites (the roster's, or ``sites``), fixed cameras and continuity.

    A deployed camera that has been in place fewer than ``min_deployment_weeks``
    weeks by ``week`` must stay; its site is added to the sites if missing
    (it then needs ``x``/``y``).

    Raises
    ------
    TaskingError
        On a deployed camera at an unknown site without coordinates, or a week
        before its deployment.
    """
    dep = roster.deployable_cctv
    site_list = list(sites if sites is not None else dep.sites)
    known = {s.site_id for s in site_list}
    must: list[str] = []
    notes = []
    for cam in deployed:
        if cam.site_id not in known:
            if cam.x is None or cam.y is None:
                msg = (f"deployed camera {cam.camera_id} is at site {cam.site_id!r}, which is not a known site; "
                       "give its x and y (EPSG:27700)")
                raise TaskingError(msg)
            site_list.append(CameraSite(cam.site_id, float(cam.x), float(cam.y), "deployed camera position"))
            known.add(cam.site_id)
        age = _weeks_between(cam.since_week, week)
        if age < 0:
            msg = f"deployed camera {cam.camera_id} is dated {cam.since_week}, after the planned week {week}"
            raise TaskingError(msg)
        if age < dep.min_deployment_weeks:
            must.append(cam.site_id)
            notes.append(f"camera {cam.camera_id} stays at {cam.site_id}: {age} of its minimum "
                         f"{dep.min_deployment_weeks} weeks served")
    if not site_list:
        notes.append("no camera sites: mounting sites are council data and none are bundled")
    if not roster.fixed_cctv.cameras:
        notes.append("fixed CCTV positions are council data and none are bundled, so no demand was removed as "
                     "already covered")
    d = demand.rename(columns={weight_col: "weight"})[["demand_id", "x", "y", "weight"]].reset_index(drop=True)
    return CCTVProblem(demand=d, sites=tuple(site_list), cameras=dep.cameras, radius_m=dep.coverage_radius_m,
                       must_stay=tuple(must), deployed=tuple(deployed), fixed=roster.fixed_cctv.cameras,
                       fixed_radius_m=roster.fixed_cctv.coverage_radius_m,
                       min_deployment_weeks=dep.min_deployment_weeks, lead_time_weeks=dep.lead_time_weeks,
                       notes=tuple(notes))


def build_problem(roster: Roster, candidates: pd.DataFrame, *, week: str, wards: gpd.GeoDataFrame,
                  pins: Sequence[Pin] = (), exclusions: Sequence[Exclusion] = (), presence: Presence = "day",
                  presence_min_visits: int = 1, park_min_visits_per_day: int = 1,
                  min_wardens_on_duty: int | None = None, cctv: CCTVProblem | None = None,
                  agents: Sequence[Patroller] | None = None) -> AllocationProblem:
    """Assemble one week's allocation instance from a roster and candidates (pure).

    Parameters
    ----------
    roster
        Resources (:func:`tasking.resources.load_roster`).
    candidates
        From :func:`tasking.candidates.build_candidates` (needs ``candidate_id``,
        ``place_type``, ``ward_code``, ``x``, ``y``, ``priority``,
        ``expected_harm_week`` and the ``harm_<day>_<shift>`` columns).
    week
        ISO week ``YYYY-Www``; bank holidays in it close the warden service.
    wards
        Ward polygons (``ward_code``), for each warden's home centroid.
    pins, exclusions
        The chair's instructions.
    presence
        Minimum warden presence per ward: ``"day"``, ``"week"`` or ``"none"``.
    presence_min_visits
        Visits required per ward per day (or week).
    park_min_visits_per_day
        Parks-police visits required per park per day (0 for none).
    min_wardens_on_duty
        Override the roster's minimum wardens per open shift.
    cctv
        Optional CCTV siting inputs (:func:`build_cctv_problem`).
    agents
        Override the roster's patrollers (e.g. leave, sickness).

    Raises
    ------
    TaskingError
        On unknown ids or malformed candidates.
    """
    dates = iso_week_dates(week)
    if presence not in ("day", "week", "none"):
        msg = f'presence was "{presence}" but is expected to be one of ["day", "week", "none"]'
        raise TaskingError(msg)
    for name, v in (("presence_min_visits", presence_min_visits), ("park_min_visits_per_day", park_min_visits_per_day)):
        if int(v) != v or v < 0:
            msg = f"{name} was {v!r}; give a non-negative integer"
            raise TaskingError(msg)
    agents = tuple(agents if agents is not None else roster.agents)
    shifts = roster.shifts
    cands = pd.DataFrame(candidates.drop(columns="geometry", errors="ignore")).reset_index(drop=True)
    need = ["candidate_id", "place_type", "ward_code", "x", "y", "priority", "expected_harm_week"]
    need += [harm_column(d, s.name) for s in shifts for d in range(7)]
    missing = [c for c in need if c not in cands.columns]
    if missing:
        msg = f"candidates lack columns {missing[:6]}{'...' if len(missing) > 6 else ''}; build them with build_candidates"
        raise TaskingError(msg)
    if cands["candidate_id"].duplicated().any():
        msg = f"candidate ids are duplicated: {cands.loc[cands['candidate_id'].duplicated(), 'candidate_id'].tolist()}"
        raise TaskingError(msg)
    harm = np.zeros((len(cands), 7, len(shifts)))
    for j, s in enumerate(shifts):
        for d in range(7):
            harm[:, d, j] = cands[harm_column(d, s.name)].to_numpy(float)
    ehw = cands["expected_harm_week"].to_numpy(float)
    mult = np.divide(cands["priority"].to_numpy(float), ehw, out=np.ones(len(cands)), where=ehw > 0)
    value = harm * mult[:, None, None]
    if not np.isfinite(value).all() or (value < 0).any():
        msg = "candidate harm or priority has negative or non-finite values"
        raise TaskingError(msg)

    centroids = {str(c): g.centroid for c, g in zip(wards["ward_code"], wards.geometry)}
    home_xy: list[tuple[float, float] | None] = []
    for a in agents:
        if a.home_ward_code is None:
            home_xy.append(None)
        elif a.home_ward_code in centroids:
            p = centroids[a.home_ward_code]
            home_xy.append((float(p.x), float(p.y)))
        else:
            msg = f"{a.agent_id}'s home ward {a.home_ward_code!r} is not in the wards layer"
            raise TaskingError(msg)
    holidays = set(roster.bank_holidays)
    available = np.zeros((len(agents), 7, len(shifts)), bool)
    names = [s.name for s in shifts]
    for i, a in enumerate(agents):
        for d, date in enumerate(dates):
            if date in holidays and not a.works_bank_holidays:
                continue
            for s in a.shifts:
                available[i, d, names.index(s)] = True
    notes = [f"bank holiday {d.isoformat()}: warden service closed" for d in dates if d in holidays]
    ids = set(cands["candidate_id"].astype(str))
    agent_ids = {a.agent_id for a in agents}
    for e in exclusions:
        if e.candidate_id not in ids:
            msg = f"exclusion names candidate {e.candidate_id!r}, which is not a candidate this week"
            raise TaskingError(msg)
        if e.agent_id is not None and e.agent_id not in agent_ids:
            msg = f"exclusion names agent {e.agent_id!r}, which is not on the roster"
            raise TaskingError(msg)
    for p in pins:
        if p.agent_id not in agent_ids:
            msg = f"pin {p.label()}: agent {p.agent_id!r} is not on the roster ({sorted(agent_ids)[:5]}...)"
            raise TaskingError(msg)
        if p.candidate_id not in ids:
            msg = f"pin {p.label()}: candidate {p.candidate_id!r} is not a candidate this week"
            raise TaskingError(msg)
        if p.shift not in names or not 0 <= p.day < 7:
            msg = f"pin {p.label()}: shift must be one of {names} and day 0-6 (Mon-Sun)"
            raise TaskingError(msg)
        if p.visits < 1:
            msg = f"pin {p.label()}: visits must be at least 1"
            raise TaskingError(msg)
    return AllocationProblem(
        week=week, dates=dates, agents=agents, home_xy=tuple(home_xy), candidates=cands, shifts=shifts,
        value=value, harm=harm, available=available, dosage=roster.dosage, min_rest_hours=roster.min_rest_hours,
        min_wardens_on_duty=roster.min_wardens_on_duty if min_wardens_on_duty is None else int(min_wardens_on_duty),
        presence=presence, presence_min_visits=int(presence_min_visits),
        park_min_visits_per_day=int(park_min_visits_per_day), pins=tuple(pins), exclusions=tuple(exclusions),
        cctv=cctv, notes=tuple(notes))


# ----------------------------------------------------------------------------
# eligibility (shared by the MILP and the greedy baseline; the checker has its own)
# ----------------------------------------------------------------------------
def ineligible_reason(problem: AllocationProblem, a: int, c: int) -> str | None:
    agent = problem.agents[a]
    row = problem.candidates.iloc[c]
    if row["place_type"] not in agent.jurisdiction:
        return (f"outside {agent.agent_id}'s jurisdiction ({kind_label(agent.kind)}: "
                f"{', '.join(sorted(agent.jurisdiction))}; candidate is a {row['place_type']})")
    if agent.home_radius_m is not None and problem.home_xy[a] is not None and row["ward_code"] != agent.home_ward_code:
        hx, hy = problem.home_xy[a]
        dist = float(np.hypot(row["x"] - hx, row["y"] - hy))
        if dist > agent.home_radius_m:
            return (f"{dist:.0f} m from {agent.agent_id}'s home ward centroid (limit {agent.home_radius_m:.0f} m) "
                    "and outside the home ward")
    return None


def eligible_matrix(problem: AllocationProblem) -> np.ndarray:
    """Boolean (A, C): agent may ever visit candidate (jurisdiction and walking range)."""
    cands = problem.candidates
    ptype = cands["place_type"].astype(str).to_numpy()
    ward = cands["ward_code"].astype(str).to_numpy()
    cx, cy = cands["x"].to_numpy(float), cands["y"].to_numpy(float)
    out = np.zeros((len(problem.agents), len(cands)), bool)
    for i, a in enumerate(problem.agents):
        ok = np.isin(ptype, list(a.jurisdiction))
        if a.home_radius_m is not None and problem.home_xy[i] is not None:
            hx, hy = problem.home_xy[i]
            ok &= (ward == a.home_ward_code) | (np.hypot(cx - hx, cy - hy) <= a.home_radius_m)
        out[i] = ok
    return out


def eligible_visits(problem: AllocationProblem) -> pd.DataFrame:
    """Every (agent, candidate, day, shift) the plan may use: columns ``a, c, d, s`` (model indices).

    Jurisdiction, walking range, availability and exclusions are applied.
    """
    elig = eligible_matrix(problem)
    cid = problem.candidate_ids
    whole = {e.candidate_id for e in problem.exclusions if e.whole()}
    part = [e for e in problem.exclusions if not e.whole()]
    col = {c: k for k, c in enumerate(cid)}
    for c in whole:
        elig[:, col[c]] = False
    a_idx, c_idx = np.nonzero(elig)
    av = problem.available[a_idx]  # (P, 7, S)
    p_idx, d_idx, s_idx = np.nonzero(av)
    out = pd.DataFrame({"a": a_idx[p_idx], "c": c_idx[p_idx], "d": d_idx, "s": s_idx})
    if part:
        names = [s.name for s in problem.shifts]
        aid = np.asarray(problem.agent_ids)
        keep = np.ones(len(out), bool)
        for e in part:
            m = out["c"].to_numpy() == col[e.candidate_id]
            if e.agent_id is not None:
                m &= aid[out["a"].to_numpy()] == e.agent_id
            if e.day is not None:
                m &= out["d"].to_numpy() == e.day
            if e.shift is not None:
                m &= out["s"].to_numpy() == names.index(e.shift)
            keep &= ~m
        out = out[keep].reset_index(drop=True)
    return out


def visit_value(problem: AllocationProblem) -> np.ndarray:
    """Value of the k-th visit to each candidate-day-shift: array (C, 7, S, K)."""
    m = np.asarray(problem.dosage.marginal_values, float)
    return problem.value[..., None] * problem.dosage.visit_cover_share * m



def presence_groups(problem: AllocationProblem, xv: pd.DataFrame, notes: list[str]) -> list[tuple[str, np.ndarray, int]]:
    """(label, x-variable indices, minimum) for each presence requirement (the MILP's rows, the greedy's targets)."""
    groups: list[tuple[str, np.ndarray, int]] = []
    cands = problem.candidates
    kinds = np.asarray([a.kind for a in problem.agents])
    # which kinds' visits count for ward presence and park presence: the registry says (tasking.kinds)
    ward_kinds = kinds_where("ward_presence_places")
    ward_places = sorted(set().union(*(RESOURCE_KINDS[k].ward_presence_places for k in ward_kinds)))
    presence_agents = np.isin(kinds, sorted(ward_kinds))
    parks_police = np.isin(kinds, sorted(kinds_where("park_presence")))
    is_presence_var = presence_agents[xv["a"].to_numpy()]
    is_park_var = parks_police[xv["a"].to_numpy()]
    ptype = cands["place_type"].astype(str).to_numpy()
    ward = cands["ward_code"].astype(str).to_numpy()
    c_of = xv["c"].to_numpy()
    d_of = xv["d"].to_numpy()
    wardens = presence_agents
    whole = {e.candidate_id for e in problem.exclusions if e.whole()}
    cid = np.asarray(problem.candidate_ids)
    if problem.presence != "none" and problem.presence_min_visits > 0 and wardens.any():
        street = np.isin(ptype, ward_places)
        for w in sorted(set(ward[street])):
            in_ward = street & (ward == w)
            if all(c in whole for c in cid[in_ward]):
                notes.append(f"ward {w}: no presence requirement, every candidate in it is excluded by the chair")
                continue
            sel_c = np.isin(c_of, np.flatnonzero(in_ward)) & is_presence_var
            days = range(7) if problem.presence == "day" else [None]
            for d in days:
                if d is not None and not problem.available[wardens, d].any():
                    continue
                sel = sel_c & (d_of == d) if d is not None else sel_c
                label = f"minimum presence: ward {w}" + (f" on {DAY_NAMES[d]}" if d is not None else " this week")
                groups.append((label, np.flatnonzero(sel), problem.presence_min_visits))
    if problem.park_min_visits_per_day > 0:
        for c in np.flatnonzero(ptype == "park"):
            if cid[c] in whole:
                continue
            if not parks_police.any():
                notes.append(f"park {cid[c]}: no parks police on the roster, so no park presence is required")
                continue
            for d in range(7):
                if not problem.available[parks_police, d].any():
                    continue
                sel = (c_of == c) & (d_of == d) & is_park_var
                groups.append((f"park presence: {cid[c]} on {DAY_NAMES[d]}", np.flatnonzero(sel),
                               problem.park_min_visits_per_day))
    return groups


def _fmt(v: float) -> str:
    return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"


def explain(problem: AllocationProblem, visits: pd.DataFrame, duty: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Assignments with reasons and unassigned candidates with reasons.

    ``visits`` has model indices ``a, c, d, s, n`` (n >= 1); ``duty`` has ``a, d, s``.
    Shared by the MILP and the greedy baseline.
    """
    cands = problem.candidates
    vv = visit_value(problem)
    cover = problem.dosage.visit_cover_share
    m = np.asarray(problem.dosage.marginal_values)
    K = len(m)
    names = [s.name for s in problem.shifts]
    pinned = {(p.agent_id, p.candidate_id, p.day, p.shift) for p in problem.pins}
    v = visits.sort_values(["c", "d", "s", "a"], kind="stable").reset_index(drop=True)
    rows = []
    rank_used: dict[tuple[int, int, int], int] = {}
    for r in v.itertuples(index=False):
        a, c, d, s, n = int(r.a), int(r.c), int(r.d), int(r.s), int(r.n)
        k0 = rank_used.get((c, d, s), 0)
        ks = list(range(k0, k0 + n))
        rank_used[(c, d, s)] = k0 + n
        marg = [float(vv[c, d, s, k]) if k < K else 0.0 for k in ks]
        cand = cands.iloc[c]
        agent = problem.agents[a]
        ptype = str(cand["place_type"])
        reasons = []
        if (agent.agent_id, cand["candidate_id"], d, names[s]) in pinned:
            reasons.append("pinned by the chair")
        if sum(marg) <= 0:
            if ptype == "park":
                reasons.append("required by daily park presence")
            else:
                reasons.append("required by minimum ward presence (no expected harm here)")
        why = (f"priority {_fmt(float(cand['priority']))}/week (harm {_fmt(float(cand['expected_harm_week']))}"
               f" x trend {float(cand.get('trend_multiplier', 1.0)):g} x concern {float(cand.get('concern_multiplier', 1.0)):g})"
               f"; trend: {cand.get('trend_class') or 'not available'}"
               f"; categories: {cand.get('top_categories') or 'none recorded'}"
               f"; expected harm this shift {_fmt(float(problem.harm[c, d, s]))}"
               f"; visit{'s' if n > 1 else ''} {', '.join(str(k + 1) for k in ks)} here this shift, "
               f"marginal value {', '.join(_fmt(x) for x in marg)}")
        if cand.get("concerns"):
            why += f"; concerns: {cand['concerns']}"
        if reasons:
            why += "; " + "; ".join(reasons)
        rows.append({"agent_id": agent.agent_id, "kind": agent.kind, "candidate_id": cand["candidate_id"],
                     "place_type": ptype, "ward_code": cand["ward_code"], "day": DAY_NAMES[d],
                     "date": problem.dates[d].isoformat(), "shift": names[s], "visits": n,
                     "minutes": n * problem.dosage.minutes_per_visit,
                     "expected_harm_shift": float(problem.harm[c, d, s]),
                     "harm_covered": float(problem.harm[c, d, s] * cover * m[[k for k in ks if k < K]].sum()),
                     "value": float(sum(marg)), "marginal_values": [round(x, 4) for x in marg], "why": why})
    cols = ["agent_id", "kind", "candidate_id", "place_type", "ward_code", "day", "date", "shift", "visits",
            "minutes", "expected_harm_shift", "harm_covered", "value", "marginal_values", "why"]
    assign = pd.DataFrame(rows, columns=cols)
    if len(assign):
        assign = assign.sort_values(["agent_id", "date", "shift", "candidate_id"], kind="stable").reset_index(drop=True)
    # unassigned
    visited = set(v["c"].astype(int)) if len(v) else set()
    elig = eligible_matrix(problem)
    whole = {e.candidate_id for e in problem.exclusions if e.whole()}
    # lowest marginal value actually used by each agent
    low_by_agent: dict[int, float] = {}
    for r in v.itertuples(index=False):
        k_hi = min(rank_used.get((int(r.c), int(r.d), int(r.s)), 1), K) - 1
        val = float(vv[int(r.c), int(r.d), int(r.s), max(k_hi, 0)])
        if val > 0:
            low_by_agent[int(r.a)] = min(low_by_agent.get(int(r.a), np.inf), val)
    urows = []
    for c in range(len(cands)):
        if c in visited:
            continue
        cand = cands.iloc[c]
        cid = str(cand["candidate_id"])
        if cid in whole:
            reason = "excluded by the chair"
        elif not elig[:, c].any():
            juris = [a for a in range(len(problem.agents)) if cand["place_type"] in problem.agents[a].jurisdiction]
            if not juris:
                reason = (f"outside every patroller's jurisdiction (no one on the roster patrols "
                          f"{cand['place_type']} places)")
            else:
                reason = "out of walking range of every eligible patroller: " + \
                    ineligible_reason(problem, juris[0], c).split(" and outside")[0] + " (nearest-listed patroller)"
        elif float(problem.value[c].max()) <= 0:
            reason = "no expected harm in the patrolled shifts, and no presence rule required a visit"
        else:
            best = float(vv[c, :, :, 0].max())
            rivals = [low_by_agent[a] for a in np.flatnonzero(elig[:, c]) if a in low_by_agent]
            if rivals:
                reason = (f"lower marginal value: its best first visit is worth {_fmt(best)}, below the lowest "
                          f"marginal value ({_fmt(min(rivals))}) among the visits its eligible patrollers were given")
            else:
                reason = (f"its best first visit is worth {_fmt(best)}, but its eligible patrollers had no capacity "
                          "left (hours, shift minutes or walking distance from their other patches)")
        urows.append({"candidate_id": cid, "place_type": cand["place_type"], "ward_code": cand["ward_code"],
                      "priority": float(cand["priority"]), "reason": reason})
    unassigned = pd.DataFrame(urows, columns=["candidate_id", "place_type", "ward_code", "priority", "reason"])
    return assign, unassigned


def coverage_value(problem: AllocationProblem, visits: pd.DataFrame) -> tuple[float, float]:
    """(priority-weighted value, harm covered) of visits (model indices ``c, d, s, n``)."""
    if len(visits) == 0:
        return 0.0, 0.0
    n = np.zeros(problem.value.shape, np.int64)
    np.add.at(n, (visits["c"].to_numpy(int), visits["d"].to_numpy(int), visits["s"].to_numpy(int)),
              visits["n"].to_numpy(int))
    m = np.asarray(problem.dosage.marginal_values)
    cum = np.concatenate([[0.0], np.cumsum(m)])
    eff = cum[np.minimum(n, len(m))] * problem.dosage.visit_cover_share
    return float((problem.value * eff).sum()), float((problem.harm * eff).sum())
