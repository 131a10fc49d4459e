"""A starter roster for a new area: one patrol officer per ward, every number an assumption.

``hotspot-tasking area create`` writes one and ``hotspot-tasking roster init``
makes one for an existing area.  The result is YAML text in the format of
``tasking/data/rbkc_roster.yaml`` (read by :func:`tasking.resources.roster_from_mapping`);
every number in it is marked ``STARTER ASSUMPTION`` with what it stands for, for
the council or association to replace with its own.  The function is pure: the
caller reads the area and writes the file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import yaml

from ._errors import TaskingError

__all__ = ["starter_roster_yaml", "STARTER_SHIFTS"]

#: The template's shifts: name -> (start, end, paid hours).  STARTER ASSUMPTION S1.
STARTER_SHIFTS: dict[str, tuple[str, str, float]] = {"early": ("07:00", "15:00", 7.5), "late": ("15:00", "23:00", 7.5)}


def _q(text: str) -> str:
    """``text`` as a YAML scalar (quoted when YAML needs it)."""
    return yaml.safe_dump(text, default_flow_style=True, allow_unicode=True).strip().removesuffix("...").strip()


def starter_roster_yaml(area_label: str, district_code: str, wards: Sequence[tuple[str, str]], *,
                        bank_holidays: Sequence[dt.date] = (), id_prefix: str = "P") -> str:
    """YAML text of a starter roster: one patrol officer per ward of the area.

    Parameters
    ----------
    area_label
        The area's name, written in the header.
    district_code
        GSS code written as the roster's ``borough_code`` (the area's first district).
    wards
        ``(ward code, ward name)`` of every ward; one officer each, ids ``P01``, ``P02``, ...
    bank_holidays
        Bank holidays to close on (England and Wales, from gov.uk); none by default.
    id_prefix
        Prefix of the officer ids.

    Raises
    ------
    TaskingError
        If there are no wards or a ward code repeats.
    """
    codes = [str(c) for c, _ in wards]
    if not codes:
        msg = f"the area {area_label!r} has no wards, so a starter roster (one officer per ward) cannot be made"
        raise TaskingError(msg)
    if len(set(codes)) != len(codes):
        dup = sorted({c for c in codes if codes.count(c) > 1})[:5]
        msg = f"ward codes repeat ({dup}); every ward needs its own code"
        raise TaskingError(msg)
    width = max(2, len(str(len(codes))))
    lines = [
        f"# STARTER roster for {area_label}, written by hotspot-tasking (area create / roster init).",
        "#",
        "# EVERY number below is a STARTER ASSUMPTION, not a fact about your service: replace them with your",
        "# own (officers, shifts, hours, dosage, cameras) before relying on a plan.  The ids and wards come from",
        "# the area's ward layer; one patrol officer per ward is itself an assumption (S6).",
        "version: 1",
        f"borough_code: {_q(district_code)}",
        "",
        "shifts:                          # STARTER ASSUMPTION S1: two 8-hour shifts, 07:00-23:00",
    ]
    for name, (start, end, paid) in STARTER_SHIFTS.items():
        lines.append(f'  {name}: {{start: "{start}", end: "{end}", paid_hours: {paid:g}}}')
    lines += [
        "",
        "service:                         # STARTER ASSUMPTION S2: service hours; closed on bank holidays",
        '  start: "07:00"',
        '  end: "23:00"',
        "  closed_on_bank_holidays: true",
        "  bank_holidays:" + ("" if bank_holidays else " []") + "                # England and Wales: gov.uk/bank-holidays",
    ]
    lines += [f"    - {d.isoformat()}" for d in bank_holidays]
    lines += [
        "",
        "rules:",
        "  min_rest_hours: 11             # Working Time Regulations 1998, reg. 10 (daily rest)",
        "  min_wardens_on_duty: 1         # STARTER ASSUMPTION S3",
        "",
        "wardens:                         # the area's patrol officers (wardens, patrol officers, estate officers)",
        "  title: patrol officer          # what they are called on the pages and in the pack",
        "  supervisors: 0                 # STARTER ASSUMPTION S4 (not tasked by the model)",
        "  contracted_hours_week: 37.5    # STARTER ASSUMPTION S5",
        "  patrol_minutes_per_shift: 240  # STARTER ASSUMPTION S5: the rest is casework and briefing",
        "  shifts: [early, late]",
        "  jurisdiction: [street, estate]",
        "  home_radius_m: 1000            # STARTER ASSUMPTION S6: patrols their ward and within 1 km of its centroid",
        "  max_pair_distance_m: 1500      # STARTER ASSUMPTION S6: patches in one shift at most 1.5 km apart",
        f"  roster:                        # STARTER ASSUMPTION S6: one officer per ward ({len(codes)})",
    ]
    for i, (code, name) in enumerate(wards, start=1):
        lines.append(f"    - {{id: {id_prefix}{i:0{width}d}, home_ward_code: {_q(str(code))}, home_ward_name: {_q(str(name))}}}")
    lines += [
        "",
        "dosage:                          # Koper (1995); STARTER ASSUMPTION S7 for the values",
        "  visit_minutes: 15",
        "  travel_minutes_per_visit: 10",
        "  marginal_values: [1.0, 0.6, 0.35]",
        "  visit_cover_share: 0.25",
        "",
        "deployable_cctv:                 # STARTER ASSUMPTION S8: count, terms, radius; sites are your own data",
        "  cameras: 2",
        "  min_deployment_weeks: 4",
        "  lead_time_weeks: 1",
        "  coverage_radius_m: 100",
        "  sites: []",
        "",
        "fixed_cctv:                      # STARTER ASSUMPTION S9: monitored hours and radius; cameras are your own data",
        '  monitored_start: "15:00"',
        '  monitored_end: "01:00"',
        "  coverage_radius_m: 100",
        "  cameras: []",
        "",
        "planning:",
        "  # STARTER ASSUMPTION S10: share of harm by time of day when no incident has a time",
        "  default_time_split:",
        '    - {start: "07:00", end: "15:00", share: 0.30}',
        '    - {start: "15:00", end: "23:00", share: 0.45}',
        '    - {start: "23:00", end: "07:00", share: 0.25}',
        "  default_day_shares: [1, 1, 1, 1, 1, 1, 1]   # Mon..Sun; STARTER ASSUMPTION S10",
        "  min_timed_incidents: 50        # STARTER ASSUMPTION S10",
        "  # STARTER ASSUMPTION S12: a visit to every ward once a week (one officer per ward works 5 of the 7 days,",
        "  # so a visit every day needs neighbours within reach: set day when yours are)",
        "  presence: week",
        "  profile_shrinkage: 20          # STARTER ASSUMPTION S10",
        "  # STARTER ASSUMPTION S11: policy multipliers for the chair to change",
        "  trend_multipliers:",
        "    new hot spot: 1.3",
        "    intensifying hot spot: 1.3",
        "    consecutive hot spot: 1.2",
        "    persistent hot spot: 1.1",
        "    sporadic hot spot: 1.0",
        "    oscillating hot spot: 1.0",
        "    diminishing hot spot: 0.8",
        "    historical hot spot: 0.8",
        "    no pattern: 1.0",
        "    default: 1.0",
        "  concern_multipliers:",
        "    resident_reports: 1.2",
        "    community_trigger: 1.5",
        "    jag_case: 1.5",
        "  max_concern_multiplier: 2.0",
        "",
    ]
    return "\n".join(lines)
