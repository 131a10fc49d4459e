"""Options shared by several commands (not a command module: every command module may import it)."""

from __future__ import annotations

import argparse

__all__ = ["add_area_option", "hotspot_methods", "plan_methods"]


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
