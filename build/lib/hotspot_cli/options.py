"""Options shared by several commands (not a command module: every command module may import it)."""

from __future__ import annotations

import argparse

__all__ = ["add_area_option"]


def add_area_option(p: argparse.ArgumentParser) -> None:
    """Add ``--area NAME`` (default: the active area) to a command's parser."""
    p.add_argument("--area", metavar="NAME", help="area to use (default: the active area; see hotspot-tasking area list)")
