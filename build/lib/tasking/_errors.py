"""Exception family for :mod:`tasking`."""

from __future__ import annotations

from spatial._errors import HotspotError

__all__ = ["TaskingError", "InfeasibleAllocationError", "EditConflict"]


class TaskingError(HotspotError):
    """Base class of tasking errors."""


class InfeasibleAllocationError(TaskingError):
    """The requested plan cannot satisfy its constraints."""


class EditConflict(TaskingError):
    """Someone else changed the record after the caller read it (optimistic locking): nothing was written."""
