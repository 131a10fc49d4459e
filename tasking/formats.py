"""The registry of export formats: the weekly pack (PDF, HTML) and the plan for GIS (CSV, GeoJSON, GeoPackage).

One definition used by the audit (:mod:`tasking.records`), the writer
(:func:`tasking.pack.export_pack`), access control (:mod:`tasking.access`),
``hotspot-tasking pack --format``, the dashboard's download buttons and the
``--out`` suffix of ``hotspots`` and ``recommend`` (:func:`format_for_path`:
an unknown suffix is refused with one message listing the formats).

To add an export format: add its name to :data:`ExportKind` and an
:class:`ExportFormat` entry to :data:`EXPORT_FORMATS`, write it in
:func:`tasking.pack.export_pack`, and test it in ``tests/tasking/test_tk_pack.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from ._errors import TaskingError

__all__ = ["DOCUMENT_FORMATS", "EXPORT_FORMATS", "EXPORT_KINDS", "ExportFormat", "ExportKind", "format_for_path"]

#: An export format's name (the static type of :data:`EXPORT_KINDS`).
ExportKind = Literal["pdf", "html", "csv", "geojson", "gpkg"]


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
    suffixes: tuple[str, ...] = ()
    label: str = ""


#: Every export format, in the order the audit and ``--format`` list them.
EXPORT_FORMATS: Mapping[str, ExportFormat] = {
    "pdf": ExportFormat("pdf", "Pack (PDF, 5 to 10 s)", "application/pdf", document=True, button_order=4,
                        suffixes=(".pdf",), label="PDF"),
    "html": ExportFormat("html", "Pack (HTML)", "text/html", document=True, button_order=0, suffixes=(".html",),
                         label="HTML"),
    "csv": ExportFormat("csv", "Plan (CSV)", "text/csv", document=False, button_order=1, suffixes=(".csv",),
                        label="CSV"),
    "geojson": ExportFormat("geojson", "Plan (GeoJSON)", "application/geo+json", document=False, button_order=2,
                            suffixes=(".geojson", ".json"), label="GeoJSON (EPSG:4326)"),
    "gpkg": ExportFormat("gpkg", "Plan (GeoPackage)", "application/geopackage+sqlite3", document=False,
                         button_order=3, suffixes=(".gpkg",), label="GeoPackage (EPSG:27700)"),
}
#: The names of :data:`EXPORT_FORMATS`.
EXPORT_KINDS: tuple[str, ...] = tuple(EXPORT_FORMATS)
#: Formats that are the meeting pack (maps, decisions), not the plan's rows.
DOCUMENT_FORMATS: tuple[str, ...] = tuple(n for n, f in EXPORT_FORMATS.items() if f.document)



def format_for_path(path: str | Path, *, allowed: Sequence[str], option: str = "--out") -> str:
    """The format a file name asks for, from its suffix; refuse any other with the list of ``allowed`` formats.

    Examples
    --------
    >>> format_for_path("week.gpkg", allowed=("geojson", "gpkg"))
    'gpkg'
    >>> format_for_path("x.shp", allowed=("geojson", "gpkg"))
    Traceback (most recent call last):
    ...
    tasking._errors.TaskingError: --out was 'x.shp'; give a file ending .geojson or .json (GeoJSON (EPSG:4326)) or .gpkg (GeoPackage (EPSG:27700))
    """
    suffix = Path(path).suffix.lower()
    for name in allowed:
        if suffix in EXPORT_FORMATS[name].suffixes:
            return name
    listed = " or ".join(f"{' or '.join(EXPORT_FORMATS[n].suffixes)} ({EXPORT_FORMATS[n].label})" for n in allowed)
    msg = f"{option} was {str(path)!r}; give a file ending {listed}"
    raise TaskingError(msg)


if set(get_args(ExportKind)) != set(EXPORT_KINDS):  # pragma: no cover - a registry edit missed one of the two
    msg = f"ExportKind {get_args(ExportKind)} and EXPORT_FORMATS {EXPORT_KINDS} differ"
    raise RuntimeError(msg)
