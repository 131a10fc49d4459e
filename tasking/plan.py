"""The typed plan: frozen dataclasses for a week's plan, with one JSON round trip.

:meth:`Plan.from_json` reads the plan dict that :func:`tasking.pipeline.plan_week`
writes and that :mod:`tasking.records` has stored in SQLite/PostgreSQL since
the first version (the "old shape": a ``dict[str, Any]``); :meth:`Plan.to_json`
writes exactly that dict back, key for key, so digests of stored plans do not
change.  Keys the types do not name are kept in ``extra`` and written back in
their place; keys a plan lacks (hand-made or older plans) stay absent.

Readers: :mod:`tasking.review`, :mod:`tasking.pack`, :mod:`tasking.records`,
:func:`tasking.names.plan_place_names` and :mod:`ui.planning` take a
:class:`Plan` (or, during the transition, its dict, read once with
:meth:`Plan.coerce`) and read attributes.  A field's default is what those
readers took for an absent key in older stored plans (``visits`` 1, ``why``
``""``, ``objective_units``, ``inputs.cell_size_m`` 150 m, ``inputs.harm_index``
``"cchi"``); where readers differed (an assignment without ``place_type`` takes
its candidate's, a candidate without one is a street patch in the review) they
ask :meth:`_Row.has`.  :func:`tasking.records.load_plan` refuses a stored plan
that does not read, :func:`tasking.records.save_plan_version` one that would
not; :attr:`Plan.shifts` replaces parsing ``harm_<shift>`` keys.  Every reader
goes through this module: :mod:`tasking.explain`, :mod:`tasking.access`, the
warm start (:meth:`tasking.allocation.WarmStart.from_plan`), the CLI's
summaries and the pages' tables; only :mod:`tasking.pipeline` writes the dict
(``Allocation.to_dict`` plus the run's inputs, notes and timings).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, TypeVar

__all__ = ["Assignment", "CCTVSiting", "CameraMove", "Candidate", "DutyShift", "Plan", "SolverReport", "UnassignedPlace"]

R = TypeVar("R", bound="_Row")

#: What a plan's objective measures when the plan does not say (``objective_units`` absent).
OBJECTIVE_UNITS = "priority-weighted harm covered"


@dataclass(frozen=True)
class _Row:
    """A JSON object with typed fields; ``extra`` keeps the other keys, ``keys`` their order."""

    extra: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=True)
    keys: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def from_json(cls: type[R], d: Mapping[str, Any]) -> R:
        names = [f.name for f in fields(cls) if f.name not in ("extra", "keys")]
        typed = {n: d[n] for n in names if n in d}
        extra = {k: v for k, v in d.items() if k not in typed}
        return cls(**typed, extra=extra, keys=tuple(d))

    def has(self, name: str) -> bool:
        """Whether the row's JSON held ``name`` (readers that gave an absent key another default than the field's)."""
        return name in self.keys

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k in self.keys:
            if k in self.extra:
                out[k] = self.extra[k]
            else:
                out[k] = getattr(self, k)
        return out


def _point(x: float | None, y: float | None, label: str) -> tuple[float, float]:
    """A row's point in British National Grid metres; ``TypeError`` naming ``label`` when it has none."""
    if x is None or y is None:
        msg = f"{label} has no x/y; give a plan from plan_week / `hotspot-tasking allocate`"
        raise TypeError(msg)
    return float(x), float(y)


@dataclass(frozen=True)
class Assignment(_Row):
    """One agent's visits to one place in one shift, with the reason."""

    agent_id: str = ""
    kind: str | None = None
    candidate_id: str = ""
    place_type: str | None = None
    ward_code: str | None = None
    day: str | None = None
    date: str | None = None
    shift: str | None = None
    #: Absent in a stored row: 1 visit, as every reader of the plan dict counted it (``a.get("visits", 1)``).
    visits: int = 1
    minutes: float | None = None
    expected_harm_shift: float | None = None
    value: float | None = None
    #: Absent: no reason given (``""``, as the pack and the pages read it).
    why: str = ""


@dataclass(frozen=True)
class DutyShift(_Row):
    """An agent on duty in one shift."""

    agent_id: str = ""
    day: str | None = None
    date: str | None = None
    shift: str | None = None
    tasked_minutes: float | None = None
    patrol_minutes: float | None = None


@dataclass(frozen=True)
class UnassignedPlace(_Row):
    """A candidate place left without visits, and why."""

    candidate_id: str = ""
    place_type: str | None = None
    priority: float | None = None
    reason: str | None = None


@dataclass(frozen=True)
class CameraMove(_Row):
    """A deployable camera's site this week (kept, moved or new)."""

    camera_id: str = ""
    site_id: str = ""
    x: float | None = None
    y: float | None = None
    status: str | None = None
    site_source: str | None = None
    #: The site by the streets around it (plans since site names exist; older plans: absent).
    site_name: str | None = None

    @property
    def xy(self) -> tuple[float, float]:
        """The point in British National Grid metres (``TypeError`` when the row has none, as reading the dict did)."""
        return _point(self.x, self.y, f"camera {self.camera_id!r}")


@dataclass(frozen=True)
class Candidate(_Row):
    """A candidate place of the plan (street patch, estate, park, ward presence point)."""

    candidate_id: str = ""
    place_type: str | None = None
    name: str | None = None
    #: The name people use (plans since place names exist; older plans: absent, see tasking.names).
    place_name: str | None = None
    ward_code: str | None = None
    ward_name: str | None = None
    x: float | None = None
    y: float | None = None
    priority: float | None = None
    expected_harm_week: float | None = None
    #: A street patch's grid cells, ``"c<col>_<row>,..."`` (plans since issue 5; absent: only the id's cell).
    cells: str | None = None

    @property
    def xy(self) -> tuple[float, float]:
        """The point in British National Grid metres (``TypeError`` when the row has none, as reading the dict did)."""
        return _point(self.x, self.y, f"candidate {self.candidate_id!r}")


@dataclass(frozen=True)
class CCTVSiting(_Row):
    """The deployable-CCTV siting of the week (:func:`tasking.allocation.site_cameras`): the plan's ``cctv``."""

    status: str | None = None
    objective: float = 0.0
    dual_bound: float | None = None
    gap: float | None = None
    seconds: float = 0.0
    sites: tuple[str, ...] | list[str] = ()
    demand_removed_fixed: float | None = None
    n_demand: int | None = None
    notes: tuple[str, ...] | list[str] = ()


_REPORT_KEYS = ("objective", "dual_bound", "gap", "status", "harm_covered", "cctv_objective", "timings_s",
                "model_size", "greedy", "milp_vs_greedy", "check")


@dataclass(frozen=True)
class SolverReport:
    """How the plan was solved: objective, bound, gap, the greedy baseline, timings and the checker's verdict."""

    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    status: str | None = None
    harm_covered: float | None = None
    cctv_objective: float | None = None
    greedy: Mapping[str, Any] | None = None
    milp_vs_greedy: float | None = None
    timings: Mapping[str, float] | None = None
    model_size: Mapping[str, Any] | None = None
    check: Mapping[str, Any] | None = None

    @property
    def greedy_value(self) -> float | None:
        """The greedy baseline's objective (``None`` when the plan does not say)."""
        return None if self.greedy is None else self.greedy.get("objective")

    @property
    def check_ok(self) -> bool | None:
        """The independent checker's verdict on the plan (``None`` when the plan does not say)."""
        return None if self.check is None else bool(self.check.get("ok"))

    @property
    def violations(self) -> tuple[str, ...]:
        """What the checker found wrong (empty when ok)."""
        return tuple((self.check or {}).get("violations", ()))

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> SolverReport:
        return cls(objective=d.get("objective"), bound=d.get("dual_bound"), gap=d.get("gap"), status=d.get("status"),
                   harm_covered=d.get("harm_covered"), cctv_objective=d.get("cctv_objective"),
                   greedy=d.get("greedy"), milp_vs_greedy=d.get("milp_vs_greedy"), timings=d.get("timings_s"),
                   model_size=d.get("model_size"), check=d.get("check"))

    def field_json(self, key: str) -> Any:
        """The value of one of the plan's report keys (``objective``, ``dual_bound``, ``check``...)."""
        if key == "dual_bound":
            return self.bound
        if key == "timings_s":
            return self.timings
        return getattr(self, key)


_ROWS: dict[str, type[_Row]] = {"assignments": Assignment, "duty": DutyShift, "unassigned": UnassignedPlace,
                                "cameras": CameraMove, "candidates": Candidate}


@dataclass(frozen=True)
class Plan:
    """A week's plan: what each agent does, what is left out and why, camera moves, and the solver report."""

    week: str
    dates: tuple[str, ...] = ()
    assignments: tuple[Assignment, ...] = ()
    duty: tuple[DutyShift, ...] = ()
    unassigned: tuple[UnassignedPlace, ...] = ()
    cameras: tuple[CameraMove, ...] = ()
    candidates: tuple[Candidate, ...] = ()
    report: SolverReport = field(default_factory=SolverReport)
    inputs: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    #: What the objective measures (absent in a stored plan: the words the pack has always printed).
    objective_units: str | None = OBJECTIVE_UNITS
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)
    keys: tuple[str, ...] = field(default=(), repr=False, compare=False)

    def has(self, name: str) -> bool:
        """Whether the plan's JSON held the top-level key ``name``."""
        return name in self.keys

    @property
    def cell_size_m(self) -> Any:
        """The grid cell size the plan was built on (``inputs.cell_size_m``; absent: 150 m, the default grid)."""
        return self.inputs.get("cell_size_m", 150.0)

    @property
    def harm_index(self) -> Any:
        """The harm index the plan was built with (``inputs.harm_index``; absent: ``"cchi"``)."""
        return self.inputs.get("harm_index", "cchi")

    @property
    def borough(self) -> str | None:
        """The plan's borough (``inputs.borough``)."""
        b = self.inputs.get("borough")
        return None if b is None else str(b)

    @property
    def shifts(self) -> tuple[str, ...]:
        """The plan's shift names in roster order.

        Plans written since 2026-12 hold them as ``inputs.shifts``; older stored
        plans do not, and their shifts are read from the candidates'
        ``harm_<shift>`` keys, else from the duty and assignment rows.
        """
        listed = self.inputs.get("shifts")
        if listed:
            return tuple(str(s) for s in listed)
        names: list[str] = []
        for c in self.candidates:
            for k in c.extra:
                if k.startswith("harm_") and k.count("_") == 1 and k[5:] not in names:
                    names.append(k[5:])
            if names:
                return tuple(names)
        rows: tuple[DutyShift | Assignment, ...] = (*self.duty, *self.assignments)
        for r in rows:
            if r.shift and r.shift not in names:
                names.append(str(r.shift))
        return tuple(names)

    @classmethod
    def coerce(cls, plan: Plan | Mapping[str, Any]) -> Plan:
        """``plan`` as a :class:`Plan`: itself, or a plan dict read once with :meth:`from_json`.

        The pages, the pack and their doctests also pass partial plan dicts
        without a ``week``: those read with week ``""`` and write back without
        it (:meth:`to_json` gives the same dict).

        Raises
        ------
        ValueError
            If ``plan`` is neither a :class:`Plan` nor a mapping.
        """
        if isinstance(plan, Plan):
            return plan
        if not isinstance(plan, Mapping):
            msg = f"plan was a {type(plan).__name__}; give a Plan or the plan dict (plan_week, or the allocate JSON)"
            raise ValueError(msg)
        if "week" in plan:
            return cls.from_json(plan)
        return replace(cls.from_json({**plan, "week": ""}), keys=tuple(plan))

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Plan:
        """Read a plan dict: what ``plan_week`` returns and what every stored plan version holds.

        Raises
        ------
        ValueError
            If ``d`` is not a mapping with a ``week``.
        """
        if not isinstance(d, Mapping) or "week" not in d:
            msg = "a plan is a JSON object with at least a 'week' (the dict written by `hotspot-tasking allocate`)"
            raise ValueError(msg)
        rows = {k: tuple(t.from_json(r) for r in d[k]) for k, t in _ROWS.items() if k in d}
        known = {"week", "dates", "inputs", "notes", "objective_units", *_ROWS, *_REPORT_KEYS}
        return cls(week=str(d["week"]), dates=tuple(d.get("dates", ())), **rows,  # type: ignore[arg-type]
                   report=SolverReport.from_json(d), inputs=dict(d.get("inputs") or {}),
                   notes=tuple(d.get("notes", ())), objective_units=d.get("objective_units", OBJECTIVE_UNITS),
                   extra={k: v for k, v in d.items() if k not in known},
                   keys=tuple(d))

    def to_json(self) -> dict[str, Any]:
        """The plan dict, key for key as :meth:`from_json` read it (or as ``plan_week`` wrote it)."""
        out: dict[str, Any] = {}
        for k in self.keys:
            if k in self.extra:
                out[k] = self.extra[k]
            elif k in _ROWS:
                out[k] = [r.to_json() for r in getattr(self, k)]
            elif k in _REPORT_KEYS:
                out[k] = self.report.field_json(k)
            elif k in ("dates", "notes"):
                out[k] = list(getattr(self, k))
            elif k == "inputs":
                out[k] = dict(self.inputs)
            else:
                out[k] = getattr(self, k)
        return out
