"""Options shared by several commands (not a command module: every command module may import it).

``--area NAME`` is on every command that reads the store for an area; :func:`open_context`
resolves it (with ``--roster`` and ``--borough``/``--district`` where the command has them)
into the application layer's :class:`tasking.context.AreaContext`.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spatial.config import Settings
    from tasking.context import AreaContext

__all__ = ["add_area_option", "add_district_option", "hotspot_methods", "open_context", "plan_methods"]


def add_area_option(p: argparse.ArgumentParser) -> None:
    """Add ``--area NAME`` (default: the active area) to a command's parser."""
    p.add_argument("--area", metavar="NAME", help="area to use (default: the active area; see hotspot-tasking area list)")


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
