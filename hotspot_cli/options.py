"""Options shared by several commands (not a command module: every command module may import it).

``--area NAME`` is on every command that reads the store for an area; :func:`open_context`
resolves it (with ``--roster`` and ``--borough``/``--district`` where the command has them)
into the application layer's :class:`tasking.context.AreaContext`.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from spatial.config import Settings
    from tasking.context import AreaContext
    from tasking.formats import ExportKind

__all__ = ["add_area_option", "add_audit_options", "add_district_option", "audit_file", "cli_user",
           "hotspot_methods", "open_context", "plan_methods"]


def add_area_option(p: argparse.ArgumentParser) -> None:
    """Add ``--area NAME`` (default: the active area) to a command's parser."""
    p.add_argument("--area", metavar="NAME", help="area to use (default: the active area; see hotspot-tasking area list)")


def add_audit_options(p: argparse.ArgumentParser) -> None:
    """Add ``--user`` and ``--role``: who writes a command's ``--out`` file, as the export audit records it."""
    p.add_argument("--user", default=None, help="who is exporting (default: the login name); recorded in the audit")
    p.add_argument("--role", default="analyst", help="the exporter's role (default analyst); recorded in the audit")


def cli_user(args: argparse.Namespace) -> str:
    """Who runs a command: ``--user``, else the login name."""
    import getpass

    return getattr(args, "user", None) or getpass.getuser() or "cli"


def audit_file(engine: Engine, args: argparse.Namespace, path: str | Path, *, kind: ExportKind,
               row_counts: Mapping[str, int], sensitive_aggregates: bool) -> int:
    """Record a command's ``--out`` file in the export audit (who, role, when, the file's sha256), as the
    dashboard's downloads are; print the export's number and return it."""
    from tasking import records

    export_id = records.record_export(engine, user=cli_user(args), role=getattr(args, "role", None) or "analyst",
                                      kind=kind,
                                      path=path, row_counts=row_counts,
                                      includes_sensitive_aggregates=sensitive_aggregates)
    print(f"  recorded in the export audit (export {export_id}, {Path(path).name})")
    return export_id


def hotspot_methods() -> list[str]:
    """Names of :data:`spatial.analysis.HOTSPOT_METHODS` (the module is light to import: no pandas)."""
    from spatial.analysis import HOTSPOT_METHODS

    return list(HOTSPOT_METHODS)


def plan_methods() -> list[str]:
    """The hotspot methods a plan can run on: ``tasking.pipeline.PLAN_METHODS`` without importing tasking.

    ``tests/test_cli_startup.py`` checks the two agree.
    """
    from spatial.analysis import HOTSPOT_METHODS

    return [n for n, m in HOTSPOT_METHODS.items() if m.plannable]


def add_district_option(p: argparse.ArgumentParser, *, what: str = "the plan") -> None:
    """Add ``--borough``/``--district CODE``: narrow ``what`` to one district of the area."""
    p.add_argument("--borough", "--district", dest="borough", metavar="CODE", default=None,
                   help=f"narrow {what} to one district/borough of the area (GSS code; default: the roster's "
                        "districts, or the whole area)")


def open_context(args: argparse.Namespace, *, with_roster: bool = True) -> tuple[AreaContext, Settings]:
    """The area context of a command: ``--area`` (or the active area), ``--roster`` and ``--borough``.

    Raises
    ------
    HotspotError
        For an unknown area (listing the areas), an unreadable roster, or a district not in the area.
    """
    from spatial.config import settings_from_args
    from spatial.store import connect
    from tasking.context import open_area

    settings = settings_from_args(args)
    engine = connect(settings.database_url)
    roster = getattr(args, "roster", None) if with_roster else None
    ctx = open_area(engine, getattr(args, "area", None), settings.data_dir, roster=roster,
                    district=getattr(args, "borough", None))
    return ctx, settings
