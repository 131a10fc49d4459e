"""Ingest edge: readers for police.uk, MPS tables, council exports and vector layers."""

from .council import Mapping, load_mapping
from .files import FileInfo, discover, inspect_file
from .pipeline import IngestReport, default_attributor, ingest_file, ingest_paths

__all__ = ["FileInfo", "IngestReport", "Mapping", "default_attributor", "discover", "ingest_file",
           "ingest_paths", "inspect_file", "load_mapping"]
