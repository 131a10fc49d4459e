"""The registry of export formats: the weekly pack (PDF, HTML) and the plan for GIS (CSV, GeoJSON).

One definition used by the audit (:mod:`tasking.records`), the writer
(:func:`tasking.pack.export_pack`), access control (:mod:`tasking.access`),
``hotspot-tasking pack --format`` and the dashboard's download buttons.

To add an export format: add its name to :data:`ExportKind` and an
:class:`ExportFormat` entry to :data:`EXPORT_FORMATS`, write it in
:func:`tasking.pack.export_pack`, and test it in ``tests/tasking/test_tk_pack.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args

__all__ = ["DOCUMENT_FORMATS", "EXPORT_FORMATS", "EXPORT_KINDS", "ExportFormat", "ExportKind"]

#: An export format's name (the static type of :data:`EXPORT_KINDS`).
ExportKind = Literal["pdf", "html", "csv", "geojson"]


@dataclass(frozen=True)
class ExportFormat:
    """One export format.

    ``document`` formats are the meeting pack (maps, decisions, review notes);
    the others are the plan's rows for GIS.  ``button`` is the dashboard's
    download label and ``button_order`` its place among the buttons.
    """

    name: str
    button: str
    mime: str
    document: bool
    button_order: int


#: Every export format, in the order the audit and ``--format`` list them.
EXPORT_FORMATS: Mapping[str, ExportFormat] = {
    "pdf": ExportFormat("pdf", "Pack (PDF, 5 to 10 s)", "application/pdf", document=True, button_order=3),
    "html": ExportFormat("html", "Pack (HTML)", "text/html", document=True, button_order=0),
    "csv": ExportFormat("csv", "Plan (CSV)", "text/csv", document=False, button_order=1),
    "geojson": ExportFormat("geojson", "Plan (GeoJSON)", "application/geo+json", document=False, button_order=2),
}
#: The names of :data:`EXPORT_FORMATS`.
EXPORT_KINDS: tuple[str, ...] = tuple(EXPORT_FORMATS)
#: Formats that are the meeting pack (maps, decisions), not the plan's rows.
DOCUMENT_FORMATS: tuple[str, ...] = tuple(n for n, f in EXPORT_FORMATS.items() if f.document)

if set(get_args(ExportKind)) != set(EXPORT_KINDS):  # pragma: no cover - a registry edit missed one of the two
    msg = f"ExportKind {get_args(ExportKind)} and EXPORT_FORMATS {EXPORT_KINDS} differ"
    raise RuntimeError(msg)
