"""Tasking resources as data: shifts, wardens, parks police, dosage and CCTV.

A roster is a YAML file (the bundled default is ``tasking/data/rbkc_roster.yaml``,
every value labelled in ``tasking/data/README.md``) read by :func:`load_roster`
into frozen dataclasses.  Nothing about the borough lives in code: a council
replaces the file.  The loader validates every key before anything is built and
each error names the file and the key, e.g.
``rbkc_roster.yaml: wardens.roster[3].home_ward_code is missing``.

Public-space CCTV camera locations and deployable-camera mounting sites are the
council's own data and are **not bundled** (both lists are empty in the default
roster).  For a demonstration, :func:`tasking.candidates.demo_camera_sites`
generates sites at candidate hotspot centroids and labels them as generated.

References
----------
Koper, C. S. (1995). Just enough police presence: reducing crime and disorderly
behavior by optimizing patrol time in crime hot spots. *Justice Quarterly*
12(4):649-672 (10-15 minute visits).

Telep, C. W., Mitchell, R. J. & Weisburd, D. (2014). How much time should the
police spend at crime hot spots? *Justice Quarterly* 31(5):905-933.

The Working Time Regulations 1998 (SI 1998/1833), regulation 10 (11 hours' daily rest).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from ._errors import TaskingError
from .places import PATROL_PLACE_TYPES

__all__ = [
    "PATROL_PLACE_TYPES",
    "CameraSite",
    "DeployableCCTV",
    "DeployedCamera",
    "Dosage",
    "FixedCCTV",
    "Patroller",
    "Planning",
    "Roster",
    "Shift",
    "default_roster_path",
    "load_roster",
    "parse_clock",
    "roster_from_mapping",
]

AgentKind = Literal["warden", "parks_police"]


def parse_clock(text: str) -> dt.time:
    """Parse ``"HH:MM"`` (24-hour clock) into a :class:`datetime.time`.

    Raises
    ------
    TaskingError
        If the text is not a valid clock time.

    Examples
    --------
    >>> parse_clock("07:30")
    datetime.time(7, 30)
    """
    try:
        hh, mm = str(text).split(":")
        return dt.time(int(hh), int(mm))
    except (ValueError, TypeError) as exc:
        msg = f"clock time was {text!r}; give HH:MM on the 24-hour clock, e.g. 07:00"
        raise TaskingError(msg) from exc


def _minutes(t: dt.time) -> int:
    return t.hour * 60 + t.minute


@dataclass(frozen=True)
class Shift:
    """A named shift on the wall clock; ``end <= start`` means it ends after midnight."""

    name: str
    start: dt.time
    end: dt.time
    paid_hours: float

    @property
    def span_minutes(self) -> int:
        """Minutes from start to end (crossing midnight when ``end <= start``)."""
        d = _minutes(self.end) - _minutes(self.start)
        return d if d > 0 else d + 24 * 60

    def hour_weights(self) -> tuple[tuple[int, int, float], ...]:
        """``(day_offset, hour, fraction)`` of each clock hour the shift covers.

        ``day_offset`` is 1 for hours after midnight; ``fraction`` is the share
        of that hour inside the shift (1.0 for whole hours).
        """
        out = []
        start = _minutes(self.start)
        end = start + self.span_minutes
        h0 = start // 60
        h = h0
        while h * 60 < end:
            lo, hi = max(h * 60, start), min((h + 1) * 60, end)
            if hi > lo:
                out.append((h // 24, h % 24, (hi - lo) / 60.0))
            h += 1
        return tuple(out)


@dataclass(frozen=True)
class Patroller:
    """One patrolling person the model can task (a warden or a parks police officer)."""

    agent_id: str
    kind: AgentKind
    jurisdiction: frozenset[str]
    shifts: tuple[str, ...]
    contracted_hours_week: float
    patrol_minutes_per_shift: float
    home_ward_code: str | None = None
    home_ward_name: str | None = None
    #: Candidates must lie in the home ward or within this distance of its centroid.
    home_radius_m: float | None = None
    #: Two candidates visited in one shift must be at most this far apart.
    max_pair_distance_m: float | None = None
    #: Works on bank holidays (parks police) or not (wardens).
    works_bank_holidays: bool = False


@dataclass(frozen=True)
class Dosage:
    """Visit length and the diminishing returns of repeated visits (Koper curve)."""

    visit_minutes: float = 15.0
    travel_minutes_per_visit: float = 10.0
    #: Relative value of the 1st, 2nd, 3rd... visit to a place in one shift (non-increasing).
    marginal_values: tuple[float, ...] = (1.0, 0.6, 0.35)
    #: Share of a shift's expected harm one full-value visit covers.
    visit_cover_share: float = 0.25

    @property
    def minutes_per_visit(self) -> float:
        """Visit plus travel allowance, minutes."""
        return self.visit_minutes + self.travel_minutes_per_visit

    @property
    def max_visits(self) -> int:
        """Most visits to one place in one shift that still add value."""
        return len(self.marginal_values)


@dataclass(frozen=True)
class CameraSite:
    """A place a camera can be mounted (or a fixed camera's position)."""

    site_id: str
    x: float
    y: float
    source: str = "council data"


@dataclass(frozen=True)
class DeployedCamera:
    """A deployable camera already in place when the week is planned."""

    camera_id: str
    site_id: str
    since_week: str
    x: float | None = None
    y: float | None = None


@dataclass(frozen=True)
class DeployableCCTV:
    """The council's redeployable cameras."""

    cameras: int
    min_deployment_weeks: int
    lead_time_weeks: int
    coverage_radius_m: float
    sites: tuple[CameraSite, ...] = ()


@dataclass(frozen=True)
class FixedCCTV:
    """Fixed public-space CCTV: monitored hours and camera positions (council data)."""

    monitored_start: dt.time
    monitored_end: dt.time
    coverage_radius_m: float
    cameras: tuple[CameraSite, ...] = ()

    @property
    def monitored(self) -> Shift:
        """The monitored window as a :class:`Shift` (for hour weights)."""
        return Shift("cctv_monitored", self.monitored_start, self.monitored_end, 0.0)


@dataclass(frozen=True)
class Planning:
    """Defaults for turning harm into priorities (time split, trend and concern multipliers)."""

    #: ``(start, end, share)`` bands of the day used when there are no timed incidents.
    default_time_split: tuple[tuple[dt.time, dt.time, float], ...]
    #: Mon..Sun shares (normalised to sum 1).
    default_day_shares: tuple[float, ...]
    min_timed_incidents: int = 50
    profile_shrinkage: float = 20.0
    trend_multipliers: Mapping[str, float] = field(default_factory=dict)
    concern_multipliers: Mapping[str, float] = field(default_factory=dict)
    max_concern_multiplier: float = 2.0
    #: Minimum presence per ward the plan asks for by default: a visit every ``day``, once a ``week``, or ``none``.
    presence: Literal["day", "week", "none"] = "day"

    def trend_multiplier(self, trend_class: str | None) -> float:
        """Multiplier for a trend class (the ``default`` entry, else 1, when unknown)."""
        if trend_class is None or trend_class not in self.trend_multipliers:
            return float(self.trend_multipliers.get("default", 1.0))
        return float(self.trend_multipliers[trend_class])


@dataclass(frozen=True)
class Roster:
    """Everything the allocation needs to know about the borough's resources."""

    borough_code: str
    shifts: tuple[Shift, ...]
    service_start: dt.time
    service_end: dt.time
    bank_holidays: tuple[dt.date, ...]
    closed_on_bank_holidays: bool
    min_rest_hours: float
    min_wardens_on_duty: int
    supervisors: int
    wardens: tuple[Patroller, ...]
    parks_police: tuple[Patroller, ...]
    dosage: Dosage
    deployable_cctv: DeployableCCTV
    fixed_cctv: FixedCCTV
    planning: Planning
    source: str = "<memory>"
    #: What the roster's ``wardens`` are called on the pages and in the pack (``wardens.title``; a housing
    #: association's starter roster says "patrol officer").
    warden_title: str = "warden"

    @property
    def agents(self) -> tuple[Patroller, ...]:
        """Wardens then parks police officers."""
        return self.wardens + self.parks_police

    @property
    def kind_titles(self) -> dict[str, str]:
        """What the roster calls each kind's people (:func:`tasking.kinds.kind_title` reads it; a plan records it)."""
        return {"warden": self.warden_title}

    def shift(self, name: str) -> Shift:
        """The shift called ``name``.

        Raises
        ------
        TaskingError
            If there is no such shift.
        """
        for s in self.shifts:
            if s.name == name:
                return s
        msg = f"shift {name!r} is not in the roster; shifts are {[s.name for s in self.shifts]}"
        raise TaskingError(msg)


# ----------------------------------------------------------------------------
# loader
# ----------------------------------------------------------------------------
def default_roster_path() -> Path:
    """Path of the bundled RBKC roster (``tasking/data/rbkc_roster.yaml``)."""
    return Path(str(resources.files("tasking") / "data" / "rbkc_roster.yaml"))


class _Reader:
    """Typed access to a parsed YAML mapping with errors naming the file and key."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, key: str, problem: str) -> TaskingError:
        return TaskingError(f"{self.where}: {key} {problem}")

    def get(self, d: Any, key: str, path: str, *, default: Any = ..., kind: type | tuple[type, ...] = object) -> Any:
        full = f"{path}.{key}" if path else key
        if not isinstance(d, Mapping):
            raise self.fail(path or "the top level", f"must be a mapping, got {type(d).__name__}")
        if key not in d or d[key] is None:
            if default is ...:
                raise self.fail(full, "is missing")
            return default
        value = d[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float)):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise self.fail(full, f"must be {names}, got {value!r}")
        return value

    def number(self, d: Any, key: str, path: str, *, default: Any = ..., minimum: float = 0.0,
               strict: bool = False) -> float:
        v = self.get(d, key, path, default=default, kind=(int, float))
        v = float(v)
        full = f"{path}.{key}" if path else key
        if math.isnan(v) or v < minimum or (strict and v <= minimum):
            bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
            raise self.fail(full, f"must be a number {bound}, got {v!r}")
        return v

    def integer(self, d: Any, key: str, path: str, *, default: Any = ..., minimum: int = 0) -> int:
        v = self.get(d, key, path, default=default, kind=int)
        full = f"{path}.{key}" if path else key
        if v < minimum:
            raise self.fail(full, f"must be an integer >= {minimum}, got {v!r}")
        return int(v)

    def clock(self, d: Any, key: str, path: str) -> dt.time:
        v = self.get(d, key, path, kind=str)
        try:
            return parse_clock(v)
        except TaskingError:
            raise self.fail(f"{path}.{key}", f"must be HH:MM, got {v!r}") from None


def _sites(r: _Reader, raw: Any, path: str) -> tuple[CameraSite, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise r.fail(path, f"must be a list of {{id, x, y}} in EPSG:27700 metres, got {type(raw).__name__}")
    out = []
    for i, item in enumerate(raw):
        p = f"{path}[{i}]"
        out.append(CameraSite(str(r.get(item, "id", p)), r.number(item, "x", p), r.number(item, "y", p),
                              str(r.get(item, "source", p, default="council data"))))
    ids = [s.site_id for s in out]
    if len(set(ids)) != len(ids):
        raise r.fail(path, f"has duplicate ids {sorted({i for i in ids if ids.count(i) > 1})}")
    return tuple(out)


def _shift_names(r: _Reader, d: Any, path: str, known: set[str]) -> tuple[str, ...]:
    names = r.get(d, "shifts", path, kind=list)
    bad = [n for n in names if n not in known]
    if bad or not names:
        raise r.fail(f"{path}.shifts", f"must name shifts from {sorted(known)}, got {names!r}")
    return tuple(str(n) for n in names)


def _jurisdiction(r: _Reader, d: Any, path: str) -> frozenset[str]:
    j = r.get(d, "jurisdiction", path, kind=list)
    bad = [p for p in j if p not in PATROL_PLACE_TYPES]
    if bad or not j:
        raise r.fail(f"{path}.jurisdiction", f"must list place types from {list(PATROL_PLACE_TYPES)}, got {j!r}")
    return frozenset(str(p) for p in j)


def roster_from_mapping(data: Mapping[str, Any], *, where: str = "<mapping>") -> Roster:
    """Build and validate a :class:`Roster` from a parsed YAML mapping.

    Raises
    ------
    TaskingError
        Naming ``where`` and the offending key.
    """
    r = _Reader(where)
    version = r.get(data, "version", "", kind=int)
    if version != 1:
        raise r.fail("version", f"must be 1, got {version!r}")
    borough = str(r.get(data, "borough_code", "", kind=str))

    raw_shifts = r.get(data, "shifts", "", kind=dict)
    shifts = []
    for name, spec in raw_shifts.items():
        p = f"shifts.{name}"
        s = Shift(str(name), r.clock(spec, "start", p), r.clock(spec, "end", p),
                  r.number(spec, "paid_hours", p, strict=True))
        if s.paid_hours * 60 > s.span_minutes:
            raise r.fail(f"{p}.paid_hours", f"({s.paid_hours:g} h) exceeds the shift's span ({s.span_minutes} min)")
        shifts.append(s)
    if not shifts:
        raise r.fail("shifts", "must define at least one shift")
    known = {s.name for s in shifts}

    svc = r.get(data, "service", "", kind=dict)
    holidays = []
    for i, h in enumerate(r.get(svc, "bank_holidays", "service", default=[], kind=list)):
        if isinstance(h, dt.date):
            holidays.append(h)
        else:
            try:
                holidays.append(dt.date.fromisoformat(str(h)))
            except ValueError:
                raise r.fail(f"service.bank_holidays[{i}]", f"must be a date YYYY-MM-DD, got {h!r}") from None

    rules = r.get(data, "rules", "", default={}, kind=dict)

    w = r.get(data, "wardens", "", kind=dict)
    w_common: dict[str, Any] = {
        "kind": "warden", "jurisdiction": _jurisdiction(r, w, "wardens"),
        "shifts": _shift_names(r, w, "wardens", known),
        "contracted_hours_week": r.number(w, "contracted_hours_week", "wardens", strict=True),
        "patrol_minutes_per_shift": r.number(w, "patrol_minutes_per_shift", "wardens", strict=True),
        "home_radius_m": (r.number(w, "home_radius_m", "wardens", strict=True)
                          if w.get("home_radius_m") is not None else None),
        "max_pair_distance_m": (r.number(w, "max_pair_distance_m", "wardens", strict=True)
                                if w.get("max_pair_distance_m") is not None else None),
        "works_bank_holidays": not bool(r.get(svc, "closed_on_bank_holidays", "service", default=True, kind=bool)),
    }
    wardens = []
    for i, item in enumerate(r.get(w, "roster", "wardens", kind=list)):
        p = f"wardens.roster[{i}]"
        wardens.append(Patroller(agent_id=str(r.get(item, "id", p)),
                                 home_ward_code=str(r.get(item, "home_ward_code", p, kind=str)),
                                 home_ward_name=str(r.get(item, "home_ward_name", p, default="")) or None,
                                 **w_common))
    pp = r.get(data, "parks_police", "", default=None, kind=dict)
    parks: list[Patroller] = []
    if pp:
        n = r.integer(pp, "officers", "parks_police")
        prefix = str(r.get(pp, "id_prefix", "parks_police", default="PP"))
        common: dict[str, Any] = {
            "kind": "parks_police", "jurisdiction": _jurisdiction(r, pp, "parks_police"),
            "shifts": _shift_names(r, pp, "parks_police", known),
            "contracted_hours_week": r.number(pp, "contracted_hours_week", "parks_police", strict=True),
            "patrol_minutes_per_shift": r.number(pp, "patrol_minutes_per_shift", "parks_police", strict=True),
            "works_bank_holidays": bool(r.get(pp, "every_day", "parks_police", default=True, kind=bool)),
        }
        parks = [Patroller(agent_id=f"{prefix}{k + 1:02d}", **common) for k in range(n)]
    ids = [a.agent_id for a in wardens + parks]
    if len(set(ids)) != len(ids):
        raise r.fail("wardens.roster", f"has duplicate ids {sorted({i for i in ids if ids.count(i) > 1})}")

    ds = r.get(data, "dosage", "", kind=dict)
    mv = r.get(ds, "marginal_values", "dosage", kind=list)
    if not mv or any(not isinstance(v, (int, float)) or v < 0 for v in mv) or any(b > a for a, b in itertools.pairwise(mv)):
        raise r.fail("dosage.marginal_values", f"must be non-negative and non-increasing (diminishing returns), got {mv!r}")
    dosage = Dosage(visit_minutes=r.number(ds, "visit_minutes", "dosage", strict=True),
                    travel_minutes_per_visit=r.number(ds, "travel_minutes_per_visit", "dosage"),
                    marginal_values=tuple(float(v) for v in mv),
                    visit_cover_share=r.number(ds, "visit_cover_share", "dosage", strict=True))
    if dosage.visit_cover_share * sum(dosage.marginal_values) > 1 + 1e-9:
        raise r.fail("dosage.visit_cover_share", "times the sum of marginal_values exceeds 1: "
                     "visits would cover more harm than is expected")

    dc = r.get(data, "deployable_cctv", "", kind=dict)
    deploy = DeployableCCTV(cameras=r.integer(dc, "cameras", "deployable_cctv"),
                            min_deployment_weeks=r.integer(dc, "min_deployment_weeks", "deployable_cctv"),
                            lead_time_weeks=r.integer(dc, "lead_time_weeks", "deployable_cctv"),
                            coverage_radius_m=r.number(dc, "coverage_radius_m", "deployable_cctv", strict=True),
                            sites=_sites(r, dc.get("sites"), "deployable_cctv.sites"))
    fc = r.get(data, "fixed_cctv", "", kind=dict)
    fixed = FixedCCTV(monitored_start=r.clock(fc, "monitored_start", "fixed_cctv"),
                      monitored_end=r.clock(fc, "monitored_end", "fixed_cctv"),
                      coverage_radius_m=r.number(fc, "coverage_radius_m", "fixed_cctv", strict=True),
                      cameras=_sites(r, fc.get("cameras"), "fixed_cctv.cameras"))

    pl = r.get(data, "planning", "", kind=dict)
    bands = []
    for i, b in enumerate(r.get(pl, "default_time_split", "planning", kind=list)):
        p = f"planning.default_time_split[{i}]"
        bands.append((r.clock(b, "start", p), r.clock(b, "end", p), r.number(b, "share", p)))
    tot = sum(b[2] for b in bands)
    if abs(tot - 1) > 1e-6:
        raise r.fail("planning.default_time_split", f"shares must sum to 1, got {tot:g}")
    days = r.get(pl, "default_day_shares", "planning", kind=list)
    if len(days) != 7 or any(not isinstance(v, (int, float)) or v < 0 for v in days) or sum(days) <= 0:
        raise r.fail("planning.default_day_shares", f"must be 7 non-negative numbers (Mon..Sun), got {days!r}")
    trend = {str(k): float(v) for k, v in r.get(pl, "trend_multipliers", "planning", default={}, kind=dict).items()}
    concern = {str(k): float(v) for k, v in r.get(pl, "concern_multipliers", "planning", default={}, kind=dict).items()}
    for k, v in {**trend, **concern}.items():
        if not v >= 0:
            raise r.fail(f"planning multiplier {k!r}", f"must be >= 0, got {v!r}")
    presence_text = str(r.get(pl, "presence", "planning", default="day", kind=str))
    presence: Literal["day", "week", "none"]
    if presence_text == "day":
        presence = "day"
    elif presence_text == "week":
        presence = "week"
    elif presence_text == "none":
        presence = "none"
    else:
        raise r.fail("planning.presence", f"must be day, week or none, got {presence_text!r}")
    planning = Planning(default_time_split=tuple(bands),
                        default_day_shares=tuple(float(v) / float(sum(days)) for v in days),
                        min_timed_incidents=r.integer(pl, "min_timed_incidents", "planning", default=50),
                        profile_shrinkage=r.number(pl, "profile_shrinkage", "planning", default=20.0),
                        trend_multipliers=trend, concern_multipliers=concern,
                        max_concern_multiplier=r.number(pl, "max_concern_multiplier", "planning", default=2.0),
                        presence=presence)

    return Roster(
        borough_code=borough, shifts=tuple(shifts),
        service_start=r.clock(svc, "start", "service"), service_end=r.clock(svc, "end", "service"),
        bank_holidays=tuple(holidays),
        closed_on_bank_holidays=bool(r.get(svc, "closed_on_bank_holidays", "service", default=True, kind=bool)),
        min_rest_hours=r.number(rules, "min_rest_hours", "rules", default=11.0),
        min_wardens_on_duty=r.integer(rules, "min_wardens_on_duty", "rules", default=0),
        supervisors=r.integer(w, "supervisors", "wardens", default=0),
        wardens=tuple(wardens), parks_police=tuple(parks), dosage=dosage,
        deployable_cctv=deploy, fixed_cctv=fixed, planning=planning, source=where,
        warden_title=" ".join(str(r.get(w, "title", "wardens", default="warden", kind=str)).split()) or "warden",
    )


def load_roster(path: str | Path | None = None) -> Roster:
    """Read and validate a roster YAML file (default: the bundled RBKC roster).

    Parameters
    ----------
    path
        A roster file; ``None`` reads ``tasking/data/rbkc_roster.yaml``.

    Returns
    -------
    Roster

    Raises
    ------
    TaskingError
        If the file is missing or not YAML, or a key is missing or invalid; the
        message names the file and the key.

    Examples
    --------
    >>> roster = load_roster()
    >>> len(roster.wardens), [s.name for s in roster.shifts]
    (18, ['early', 'late'])
    """
    p = Path(path) if path is not None else default_roster_path()
    if not p.exists():
        msg = f"roster file {str(p)!r} not found; pass an existing YAML file (see tasking/data/rbkc_roster.yaml)"
        raise TaskingError(msg)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        msg = f"{p.name}: not valid YAML ({exc})"
        raise TaskingError(msg) from exc
    return roster_from_mapping(data if data is not None else {}, where=p.name)
