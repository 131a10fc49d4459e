"""Exception family for :mod:`tasking`."""

from __future__ import annotations

from spatial._errors import HotspotError

__all__ = ["TaskingError", "InfeasibleAllocationError"]


class TaskingError(HotspotError):
    """Base class of tasking errors."""


class InfeasibleAllocationError(TaskingError):
    """The requested plan cannot satisfy its constraints."""
