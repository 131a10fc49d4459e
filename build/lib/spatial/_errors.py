"""Exception and warning family for :mod:`spatial`.

Every error subclasses :class:`HotspotError`, itself a :class:`ValueError`, so a
caller can catch the whole family.  Messages say what was received, what is
allowed and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "HotspotError",
    "CRSError",
    "SchemaError",
    "IngestError",
    "MappingError",
    "DataWarning",
]


class HotspotError(ValueError):
    """Base class of every error raised by hotspot-tasking."""


class CRSError(HotspotError):
    """Coordinates are not in (or cannot be brought to) EPSG:27700."""


class SchemaError(HotspotError):
    """A table lacks a column, or a column has the wrong type."""


class IngestError(HotspotError):
    """A whole file cannot be ingested (unreadable, empty, wrong format).

    Row-level problems never raise: the row is quarantined with its reason.
    """

    def __init__(self, message: str, *, path: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.field = field


class MappingError(HotspotError):
    """A column-mapping file for council exports is invalid."""


class DataWarning(UserWarning):
    """Something in the data deserves the analyst's attention but is not an error."""
