"""``hotspot-tasking`` command line.

Sub-commands: ``ingest``, ``status``, ``quarantine``, ``layers``, ``db``, ``audit``, ``area``, ``roster``,
``hotspots``, ``forecast``, ``evaluate``, ``batch``, ``user`` (accounts of the dashboard), ``schemes``
(a housing association's schemes), ``dashboard`` (start it), and the tasking commands.
Every command reads ``DATABASE_URL`` (or ``--database``); the default is an
SQLite file under ``var/``.  Bad input never produces a traceback: the
message names the file, row and field, and the exit status is non-zero.
"""

from __future__ import annotations

import argparse
import sys

from spatial._errors import HotspotError

__all__ = ["build_parser", "main"]


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every sub-command (each command family registers its own).

    Every command module imports only what its parser needs; the heavy libraries load in the command
    handlers.  The forecast families' parsers need the forecasters' names (:mod:`spatial.forecast`:
    numpy, pandas, scipy), so they are registered in full only when ``command`` is one of theirs (or
    ``command`` is None); otherwise as their names and one-line help, which is all ``--help`` shows.
    """
    from hotspot_cli import (
        allocate,
        area,
        batch,
        dashboard,
        forecast,
        hotspots,
        housing,
        meeting,
        recommend,
        store,
        users,
    )

    parser = argparse.ArgumentParser(prog="hotspot-tasking", description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="SQLAlchemy URL (default: $DATABASE_URL or SQLite under var/)")
    parser.add_argument("--data-dir", help="bundled data folder (default: $HOTSPOT_DATA_DIR or data/)")
    sub = parser.add_subparsers(dest="command", required=True)
    store.add_parsers(sub)
    users.add_parser(sub)
    hotspots.add_parser(sub)
    for family, register in ((forecast, forecast.add_parsers), (batch, batch.add_parser)):
        if command is None or command in family.COMMANDS:
            register(sub)
        else:
            for name, text in family.COMMANDS.items():
                sub.add_parser(name, help=text)
    area.add_parser(sub)
    allocate.add_parser(sub)
    recommend.add_parser(sub)
    meeting.add_parser(sub)
    housing.add_parser(sub)
    dashboard.add_parser(sub)
    return parser


def _command_of(argv: list[str]) -> str:
    """The forecast family's command named anywhere in ``argv``, or "" (a false match only costs time)."""
    from hotspot_cli import batch, forecast

    lazy = {**forecast.COMMANDS, **batch.COMMANDS}
    return next((a for a in argv if a in lazy), "")


def main(argv: list[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else list(argv)
    if args_list[:1] == ["forecast"]:
        # The forecast contract: only its own module, so start-up stays short
        # (no tasking, store, alembic or libpysal imports).
        from hotspot_cli import forecast

        return forecast.main(args_list)
    parser = build_parser(_command_of(args_list))
    args = parser.parse_args(args_list)
    try:
        return int(args.func(args))
    except HotspotError as exc:
        print(f"hotspot-tasking {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: the file being ingested was rolled back", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
