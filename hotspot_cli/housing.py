"""``hotspot-tasking schemes``: a housing association's schemes as the unit (league, repeat locations, CCTV sites).

* ``schemes league`` - one row per scheme: ASB cases, harm, the headline rate and the
  denominator it used (per 1,000 homes from the stock layer, else per 1,000 residents
  apportioned from Census 2021 LSOAs by area), and the reports kept apart as not ASB;
* ``schemes repeats`` - repeat locations (default 3 cases in 183 days at one place);
  sensitive ones only as counts per scheme and ward;
* ``schemes cctv`` - schemes ranked by the harm a deployable camera at their best point
  would cover, with the proposed sites (each needs a survey).

The command line is a staff tool (it holds the database URL), so it shows what an
analyst sees; sensitive categories are never printed as points.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the parser stays light: heavy imports run in the handlers
    import pandas as pd
    from sqlalchemy import Engine

    from tasking.access import Viewer
    from tasking.housing import SchemeInputs

__all__ = ["add_parser"]


def _engine(args: argparse.Namespace) -> Engine:
    from spatial.config import settings_from_args
    from spatial.store import connect

    return connect(settings_from_args(args).database_url)


def _inputs(args: argparse.Namespace, engine: Engine) -> SchemeInputs:
    from spatial.analysis import parse_period
    from spatial.config import settings_from_args
    from tasking.housing import read_scheme_inputs

    months = parse_period(args.period) if args.period else None
    return read_scheme_inputs(engine, area=args.area, data_dir=settings_from_args(args).data_dir, months=months)


def _show(df: pd.DataFrame, title: str, args: argparse.Namespace, engine: Engine, *, out: str | None = None,
          sensitive_aggregates: bool = False) -> None:
    """Print ``df``; with ``out``, also write it as CSV and record the file in the export audit."""
    from hotspot_cli.options import audit_file
    from spatial.csv_safe import to_csv

    print(title)
    print("  (none)" if df.empty else df.to_string(index=False))
    if out:
        to_csv(df, out, index=False)
        print(f"-> {out}")
        audit_file(engine, args, out, kind="csv", row_counts={"rows": len(df)},
                   sensitive_aggregates=sensitive_aggregates)


def _viewer(args: argparse.Namespace) -> Viewer:
    """Who runs the command: ``--user`` (default the login name) in ``--role`` (default analyst)."""
    from hotspot_cli.options import cli_user
    from tasking.access import Viewer

    return Viewer(cli_user(args), args.role)


def cmd_league(args: argparse.Namespace) -> int:
    from spatial.low_months import league_note
    from tasking.housing import league_export_table, scheme_report

    engine = _engine(args)
    inp = _inputs(args, engine)
    lt = scheme_report(inp, _viewer(args), sort_by=args.sort, parts=("league",)).league
    assert lt is not None  # asked for
    basis = "; ".join(f"{n} per {d}" for d, n in lt.attrs["denominators"].items())
    _show(league_export_table(lt),
          f"Schemes of {inp.area} by {args.sort} (rates: {basis}; not-ASB reports kept apart: "
          f"{lt.attrs['n_not_asb']:,})", args, engine, out=args.out, sensitive_aggregates=True)
    note = league_note(list(lt.attrs.get("low_months", [])), kept_months=int(lt.attrs.get("months_counted", 0)),
                       table="The schemes league")
    if note:
        print(note)
    return 0


def cmd_repeats(args: argparse.Namespace) -> int:
    import pandas as pd

    from tasking.housing import scheme_report

    engine = _engine(args)
    inp = _inputs(args, engine)
    view = scheme_report(inp, _viewer(args), parts=("repeats",), min_cases=args.min_cases,
                         window_days=args.window_days, radius_m=args.radius_m).repeats
    assert view is not None  # asked for
    points = view.points if view.points is not None else pd.DataFrame()
    _show(points.round({"x": 0, "y": 0}), f"Repeat locations ({view.rule}); sensitive ones are never listed here",
          args, engine, out=args.out)
    _show(view.by_area, "\nRepeat locations by scheme and ward (sensitive: counts only, 1-4 as 'fewer than 5')", args,
          engine)
    return 0


def cmd_cctv(args: argparse.Namespace) -> int:
    from tasking.housing import scheme_report
    from tasking.resources import load_roster

    engine = _engine(args)
    inp = _inputs(args, engine)
    rank = scheme_report(inp, _viewer(args), roster=load_roster(args.roster), parts=("cctv",)).cctv
    assert rank is not None  # asked for, with a roster, as an analyst
    _show(rank.round(2), f"Schemes of {inp.area} for deployable CCTV (harm per week in monitored hours; "
          "proposed sites need a survey)", args, engine, out=args.out)
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``schemes league|repeats|cctv``."""
    from hotspot_cli.options import add_area_option, add_audit_options

    p = sub.add_parser("schemes", help="a housing association's schemes: league with rates per 1,000 homes, "
                       "repeat locations, CCTV sites")
    ss = p.add_subparsers(dest="schemes_command", required=True)
    for name, func, helptext in (("league", cmd_league, "league table of schemes with the rate's denominator"),
                                 ("repeats", cmd_repeats, "repeat locations across cases"),
                                 ("cctv", cmd_cctv, "schemes ranked for deployable CCTV, with proposed sites")):
        q = ss.add_parser(name, help=helptext)
        q.add_argument("--period", help="YYYY-MM or YYYY-MM..YYYY-MM (default: everything stored)")
        q.add_argument("--out", help="also write the table as CSV (recorded in the export audit)")
        add_area_option(q)
        add_audit_options(q)
        q.set_defaults(func=func)
        if name == "league":
            q.add_argument("--sort", choices=["harm", "count", "rate"], default="rate")
        elif name == "repeats":
            q.add_argument("--min-cases", type=int, default=3, help="cases at one place (default 3)")
            q.add_argument("--window-days", type=float, default=183.0, help="within this many days (default 183)")
            q.add_argument("--radius-m", type=float, default=0.0, help="points within this distance are one place")
        else:
            q.add_argument("--roster", help="roster with deployable_cctv and fixed_cctv (radius, fixed cameras; "
                           "default: the bundled roster)")
