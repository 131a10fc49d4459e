"""Ingest edge: readers for police.uk, MPS tables, council exports and vector layers."""

from .council import Mapping, load_mapping
from .files import FileInfo, discover, inspect_file

_LAZY = {"IngestReport", "default_attributor", "ingest_file", "ingest_paths"}


def __getattr__(name: str) -> object:
    # The pipeline pulls in the store (SQLAlchemy, alembic); readers such as the forecast contract
    # only need the parsers, so it is imported on first use.
    if name in _LAZY:
        from . import pipeline

        return getattr(pipeline, name)
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)

__all__ = ["FileInfo", "IngestReport", "Mapping", "default_attributor", "discover", "ingest_file",
           "ingest_paths", "inspect_file", "load_mapping"]
