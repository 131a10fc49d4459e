"""``hotspot-tasking allocate``: the week's plan for wardens, parks police and deployable CCTV.

::

    hotspot-tasking allocate --week 2026-W48 [--pin W01:ST-c3504_1190:Mon:late[:VISITS] ...]
        [--exclude CANDIDATE[:DAY[:SHIFT]] ...] [--roster my_roster.yaml] [--months 1]
        [--method kde|gistar] [--hotspot-share 0.05] [--concerns concerns.csv]
        [--deployed cameras.csv] [--presence day|week|none] [--time-limit 60] [--gap GAP]
        --out plan.json

Incidents are read with ``incident_frame(engine, include_sensitive=False)``
(sensitive categories never reach a plan), limited to the borough's wards and
the latest ``--months`` months in the store.  Hotspots of harm (CCHI by
default) become candidates (:mod:`tasking.candidates`), the MILP allocates them
(:mod:`tasking.allocation`), the greedy baseline runs for comparison
(:mod:`tasking.greedy`) and the independent checker (:mod:`tasking.check`)
validates the plan.  The JSON holds assignments with reasons, unassigned
candidates with reasons, camera moves, objective, bound, gap, the greedy
objective, timings and every assumption's provenance.

``--concerns`` is a CSV with columns ``concern`` (resident_reports,
community_trigger, jag_case), ``candidate_id`` or ``ward_code``, and ``note``.
``--deployed`` is a CSV ``camera_id, site_id, since_week[, x, y]``.

The pipeline is :func:`tasking.pipeline.plan_week` (inputs read by
:func:`tasking.pipeline.read_plan_inputs`); :func:`add_parser` registers the
command in :mod:`hotspot_cli.main` and :func:`run` returns the exit status.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hotspot_cli.options import add_area_option, add_district_option, open_context, plan_methods
from tasking._errors import TaskingError

if TYPE_CHECKING:  # the heavy modules load only when the command runs (fast --help and argument errors)
    from tasking.problem import Exclusion, Pin
    from tasking.resources import DeployedCamera

#: ``tasking.allocation.PLAN_GAP``, ``LARGE_PLAN_GAP`` and ``LARGE_ROSTER`` as the help prints them (a test
#: keeps them the same).
GAP_HELP = "0.02; 0.03 for more than 40 patrollers"

__all__ = ["add_parser", "parse_exclusion", "parse_pin", "run"]


def _day(text: str, where: str) -> int:
    from tasking.candidates import DAY_NAMES

    t = text.strip().capitalize()[:3]
    if t not in DAY_NAMES:
        msg = f"{where}: day was {text!r}; give Mon, Tue, Wed, Thu, Fri, Sat or Sun"
        raise TaskingError(msg)
    return DAY_NAMES.index(t)


def parse_pin(text: str) -> Pin:
    """Parse ``AGENT:CANDIDATE:DAY:SHIFT[:VISITS]``.

    Examples
    --------
    >>> parse_pin("W01:ST-c3504_1190:Mon:late")
    Pin(agent_id='W01', candidate_id='ST-c3504_1190', day=0, shift='late', visits=1)
    """
    from tasking.problem import Pin

    parts = text.split(":")
    if len(parts) not in (4, 5) or not all(parts):
        msg = f"--pin was {text!r}; give AGENT:CANDIDATE:DAY:SHIFT[:VISITS], e.g. W01:ST-c3504_1190:Mon:late"
        raise TaskingError(msg)
    visits = 1
    if len(parts) == 5:
        if not parts[4].isdigit():
            msg = f"--pin {text!r}: VISITS must be a whole number"
            raise TaskingError(msg)
        visits = int(parts[4])
    return Pin(parts[0], parts[1], _day(parts[2], f"--pin {text!r}"), parts[3], visits)


def parse_exclusion(text: str) -> Exclusion:
    """Parse ``CANDIDATE[:DAY[:SHIFT]]``.

    Examples
    --------
    >>> parse_exclusion("PK-1000811:Sat")
    Exclusion(candidate_id='PK-1000811', agent_id=None, day=5, shift=None)
    """
    from tasking.problem import Exclusion

    parts = text.split(":")
    if not parts[0] or len(parts) > 3:
        msg = f"--exclude was {text!r}; give CANDIDATE[:DAY[:SHIFT]]"
        raise TaskingError(msg)
    day = _day(parts[1], f"--exclude {text!r}") if len(parts) > 1 and parts[1] else None
    shift = parts[2] if len(parts) > 2 and parts[2] else None
    return Exclusion(parts[0], day=day, shift=shift)


# ----------------------------------------------------------------------------
# edge: files, database, printing
# ----------------------------------------------------------------------------
def _read_deployed(path: str) -> list[DeployedCamera]:
    import pandas as pd

    from tasking.resources import DeployedCamera

    df = pd.read_csv(path, dtype=str)
    need = {"camera_id", "site_id", "since_week"}
    if not need <= set(df.columns):
        msg = f"{path}: needs columns {sorted(need)} (and optionally x, y); got {list(df.columns)}"
        raise TaskingError(msg)
    out = []
    for _, r in df.iterrows():
        x = float(r["x"]) if "x" in df.columns and pd.notna(r.get("x")) else None
        y = float(r["y"]) if "y" in df.columns and pd.notna(r.get("y")) else None
        out.append(DeployedCamera(str(r["camera_id"]), str(r["site_id"]), str(r["since_week"]), x, y))
    return out


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``allocate`` sub-command."""
    p = subparsers.add_parser("allocate", help="allocate wardens, parks police and deployable CCTV for a week")
    p.add_argument("--week", required=True, help="ISO week, e.g. 2026-W48")
    p.add_argument("--pin", action="append", default=[], help="AGENT:CANDIDATE:DAY:SHIFT[:VISITS] (repeatable)")
    p.add_argument("--exclude", action="append", default=[], help="CANDIDATE[:DAY[:SHIFT]] (repeatable)")
    p.add_argument("--out", required=True, help="plan JSON to write")
    p.add_argument("--roster", help="roster YAML (default: the area's roster; RBKC's is bundled)")
    add_area_option(p)
    add_district_option(p)
    p.add_argument("--months", type=int, default=12,
                   help="latest months of incidents to use (default 12; 6 or more switch on the forecast and trends)")
    p.add_argument("--method", choices=plan_methods(), default="kde", help="hotspot method (default kde)")
    p.add_argument("--hotspot-share", type=float, default=0.05,
                   help="KDE hotspots: densest share of the area (default 0.05, as spatial.hotspots.kde)")
    p.add_argument("--cell-size", type=float, default=150.0, help="grid cell size in metres (default 150)")
    p.add_argument("--harm", choices=["cchi", "ons_css"], default="cchi", help="harm index (default cchi)")
    p.add_argument("--concerns", help="CSV of manual concerns: concern, candidate_id or ward_code, note")
    p.add_argument("--deployed", help="CSV of deployed cameras: camera_id, site_id, since_week[, x, y]")
    p.add_argument("--presence", choices=["day", "week", "none"], default=None,
                   help="minimum warden presence per ward (default: the roster's planning.presence, else a visit "
                        "every day)")
    p.add_argument("--no-cctv", action="store_true", help="skip CCTV siting")
    p.add_argument("--time-limit", type=float, default=60.0, help="solver time limit in seconds (default 60)")
    # the default is tasking.allocation.plan_gap of the roster's size, found when the command runs
    p.add_argument("--gap", type=float, default=None,
                   help=f"relative optimality gap to stop at (default {GAP_HELP}, the weekly plan's default)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Read the store, plan the week, write the JSON and print a summary; returns 0."""
    import pandas as pd

    from tasking.pipeline import finish_plan, plan_week, read_plan_inputs

    pins = [parse_pin(t) for t in args.pin]
    exclusions = [parse_exclusion(t) for t in args.exclude]
    if args.months < 1:
        msg = f"--months was {args.months}; give 1 or more"
        raise TaskingError(msg)
    ctx, _settings = open_context(args)
    roster = ctx.require_roster()
    inputs = read_plan_inputs(ctx, latest=args.months)
    concerns = pd.read_csv(args.concerns) if args.concerns else None
    deployed = _read_deployed(args.deployed) if args.deployed else []
    t0 = time.perf_counter()
    plan = plan_week(inputs.incidents, roster=roster, wards=inputs.wards, area=inputs.area, week=args.week,
                     parks=inputs.parks, estates=inputs.estates, pins=pins, exclusions=exclusions, concerns=concerns,
                     deployed=deployed, method=args.method, hotspot_share=args.hotspot_share,
                     cell_size_m=args.cell_size, harm_index=args.harm,
                     presence=args.presence or roster.planning.presence,
                     time_limit_s=args.time_limit, mip_rel_gap=args.gap,
                     cctv=not args.no_cctv,
                     choice_store=ctx.choice_store(), area_key=ctx.key,
                     low_months=inputs.low_months)
    plan["timings_s"]["total"] = time.perf_counter() - t0
    finish_plan(plan, inputs, week=args.week)
    Path(args.out).write_text(json.dumps(plan, indent=2, default=str), encoding="utf-8")
    _print_summary(plan, args.out)
    return 0


def _print_summary(plan: dict[str, Any], out: str) -> None:
    from tasking.names import plan_place_names
    from tasking.plan import Plan

    p = Plan.coerce(plan)
    r, inputs = p.report, p.inputs
    g = r.greedy_value
    print(f"allocate {p.week} ({p.dates[0]}..{p.dates[-1]}) from {inputs['months']} "
          f"({inputs['n_incidents']:,} incidents)")
    print(f"  patrol objective {r.objective:.1f} (bound {r.bound:.1f}, gap {r.gap:.2%}, "
          f"{r.status}); greedy {g:.1f}"
          + (f" (MILP +{r.milp_vs_greedy:.1%})" if r.milp_vs_greedy is not None else ""))
    print(f"  harm covered {r.harm_covered:.1f}/week; CCTV covers {r.cctv_objective:.1f}/week "
          f"with {len(p.cameras)} cameras")
    t = dict(r.timings or {})
    print(f"  time: build {t['build']:.2f} s, solve {t['solve']:.2f} s, greedy {t['greedy']:.2f} s, "
          f"total {t.get('total', 0):.1f} s; checker: {'ok' if r.check_ok else 'FAILED'}")
    print(f"  {len(p.assignments)} assignments, {len(p.duty)} duty shifts, "
          f"{len(p.unassigned)} candidates unassigned")
    names = plan_place_names(p)
    top = sorted(p.assignments, key=lambda a: -float(a.value or 0.0))[:8]
    for a in top:
        print(f"    {a.agent_id:>5} {a.day} {a.shift:<5} x{a.visits} {names[str(a.candidate_id)]} "
              f"[{a.candidate_id}] value {float(a.value or 0.0):.1f}")
    for n in p.notes:
        print(f"  note: {n}")
    print(f"  -> {out}")
