"""Data page helpers (no Streamlit): uploads into the store, the ingest report, quarantine, store status, backtest.

Uploaded files go through the command line's ingest code
(:func:`spatial.ingest.pipeline.ingest_file`, one file per transaction, every
row stored, counted as a duplicate or quarantined with its reason), so the
dashboard and ``hotspot-tasking ingest`` cannot disagree.

Safeguarding
------------
The quarantine keeps each rejected row's raw text, and some reasons quote the
row's coordinates ("point (x, y) is outside the area of interest").  A
quarantined row may be a sensitive incident, so :func:`quarantine_view` drops
the raw text and withholds every number of a reason unless the raw row names
a known non-sensitive category and no sensitive one.  Store counts by source
and month are suppressed below five for sensitive rows
(:func:`spatial.store.queries.suppress_small`).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd

from spatial import schema as S
from spatial._errors import HotspotError
from spatial.config import Settings
from spatial.evaluation import summarise_backtest
from spatial.ingest import load_mapping
from spatial.ingest.files import inspect_file
from spatial.ingest.pipeline import IngestReport, default_attributor, ingest_file
from spatial.schema import Taxonomy, load_taxonomy

__all__ = ["DATA_SUFFIXES", "MAPPING_SUFFIXES", "COVERAGES", "BACKTEST_MIN_MONTHS", "Upload", "UploadOutcome",
           "ingest_uploads", "report_table", "report_totals", "quarantine_view", "status_table",
           "BacktestData", "backtest_data", "run_backtest", "hit_rate_curves"]

#: File endings the page ingests (police.uk CSV/JSON, council CSV, vector layers).
DATA_SUFFIXES: Final = (".csv", ".json", ".geojson", ".gpkg", ".parquet", ".gz")
#: File endings of a column-mapping file.
MAPPING_SUFFIXES: Final = (".yaml", ".yml")
#: Shares of area at which the backtest is scored (the hit-rate curves).
COVERAGES: Final = (0.01, 0.02, 0.05, 0.10, 0.15, 0.20, 0.30)
#: Months needed for the rolling-origin backtest on the borough (6 of training, 1 to score).
BACKTEST_MIN_MONTHS: Final = 7
_WITHHELD: Final = "[withheld]"
_NUMBER = re.compile(r"(?<!EPSG:)(?<![\w.])-?\d+(?:[.,]\d+)*")


@dataclass(frozen=True)
class Upload:
    """One uploaded file: its name as the user gave it and its bytes."""

    name: str
    data: bytes


@dataclass
class UploadOutcome:
    """What :func:`ingest_uploads` did: one report per data file, and messages about files not ingested."""

    reports: list[IngestReport] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    mapping: str | None = None


def _safe_name(name: str) -> str:
    base = Path(str(name).replace("\\", "/")).name.strip() or "upload"
    return re.sub(r"[^\w.\- ]", "_", base)


def ingest_uploads(engine, uploads: Sequence[Upload], *, folder: Path, settings: Settings, now: pd.Timestamp,
                   progress: Callable[[int, int, str], None] | None = None, wards: gpd.GeoDataFrame | None = None,
                   lsoas: gpd.GeoDataFrame | None = None) -> UploadOutcome:
    """Write ``uploads`` to ``folder`` and ingest each data file as ``hotspot-tasking ingest`` does.

    ``wards`` and ``lsoas`` are the area's layers (the page's area): its outline plus 250 m is the area of
    interest, as ``ingest --area NAME``; default: the store's active area.

    A ``.yaml`` upload is the column mapping of the council files uploaded
    with it; police.uk and MPS files are recognised by their header and read
    without it.  ``progress(i, n, name)`` is called before each file.

    Never raises for bad data: a bad mapping, an unknown file type or an
    unreadable file becomes a message naming the file (and the row and field
    where the reader gives them), and row-level problems are quarantined.
    """
    out = UploadOutcome()
    folder.mkdir(parents=True, exist_ok=True)
    data_paths: list[Path] = []
    mapping_paths: list[Path] = []
    used: set[str] = set()
    for up in uploads:
        name = _safe_name(up.name)
        while name in used:
            name = "_" + name
        used.add(name)
        path = folder / name
        path.write_bytes(up.data)
        suffix = path.suffix.lower()
        if suffix in MAPPING_SUFFIXES:
            mapping_paths.append(path)
        elif suffix in DATA_SUFFIXES:
            data_paths.append(path)
        else:
            out.errors.append(f"{up.name}: not ingested: files ending {suffix or '(none)'} are not read; give "
                              f"police.uk CSV/JSON, a council CSV with its mapping (.yaml), GeoJSON or GeoPackage")
    mapping = None
    if len(mapping_paths) > 1:
        out.errors.append("more than one mapping file (" + ", ".join(p.name for p in mapping_paths) + "): upload "
                          "one council export and its mapping at a time")
        return out
    if mapping_paths:
        try:
            mapping = load_mapping(mapping_paths[0])
            out.mapping = mapping_paths[0].name
        except HotspotError as exc:
            out.errors.append(f"{mapping_paths[0].name}: {str(exc).replace(str(folder) + '/', '')}")
            return out
    if not data_paths:
        if not out.errors:
            out.errors.append("no data file among the uploads")
        return out
    attributor = default_attributor(engine, settings, wards=wards, lsoas=lsoas)
    for i, path in enumerate(data_paths):
        if progress is not None:
            progress(i, len(data_paths), path.name)
        use_mapping = mapping
        if mapping is not None:
            try:
                kind = inspect_file(path).kind
            except HotspotError:
                kind = None
            if kind is not None and (kind.startswith("police-uk") or kind == "mps-wide"):
                use_mapping = None
        report = ingest_file(engine, path, attributor=attributor, settings=settings, now=now, mapping=use_mapping)
        if report.message:
            report.message = report.message.replace(str(folder) + "/", "")
        out.reports.append(report)
    if progress is not None:
        progress(len(data_paths), len(data_paths), "")
    return out


def report_table(reports: Sequence[IngestReport]) -> pd.DataFrame:
    """The ingest report: one row per file, ``rows read = stored + duplicates + quarantined + outside the area``
    checked."""
    return pd.DataFrame([{
        "File": Path(r.path).name, "Kind": r.kind, "Status": r.status, "Rows read": r.rows_read, "Stored": r.stored,
        "Duplicates": r.duplicates, "Quarantined": r.quarantined, "Outside the area": r.outside,
        "Reconciles": "yes" if r.reconciles else "NO",
        "Message": r.message or "; ".join(r.notes)} for r in reports],
        columns=["File", "Kind", "Status", "Rows read", "Stored", "Duplicates", "Quarantined", "Outside the area",
                 "Reconciles", "Message"])


def report_totals(reports: Sequence[IngestReport]) -> dict[str, int]:
    """Totals over the files: ``read, stored, duplicates, quarantined, outside`` (outside the area: counted, not kept)."""
    return {"read": sum(r.rows_read for r in reports), "stored": sum(r.stored for r in reports),
            "duplicates": sum(r.duplicates for r in reports), "quarantined": sum(r.quarantined for r in reports),
            "outside": sum(r.outside for r in reports)}


def _raw_is_non_sensitive(raw: object, taxonomy: Taxonomy) -> bool:
    if raw is None or (isinstance(raw, float) and np.isnan(raw)):
        return False
    try:
        fields = next(csv.reader(io.StringIO(str(raw))))
    except (csv.Error, StopIteration):
        return False
    slugs = {taxonomy.resolve(f.strip()) for f in fields if f.strip()}
    slugs.discard(None)
    return bool(slugs) and not (slugs & taxonomy.sensitive_slugs())


def quarantine_view(rows: pd.DataFrame, *, taxonomy: Taxonomy | None = None) -> pd.DataFrame:
    """Quarantined rows as ``File, Row, Field, Reason``, raw text dropped, numbers withheld unless surely non-sensitive.

    ``rows`` is :func:`spatial.store.queries.quarantine_rows` output.  Row 0 is
    a whole file that could not be read.

    Examples
    --------
    >>> rows = pd.DataFrame({"path": ["/x/a.csv"] * 2, "row_number": [1, 2], "field": ["longitude"] * 2,
    ...     "reason": ["point (330228, 145007) is outside"] * 2,
    ...     "raw": ["1,2018-06,violent-crime,51.2,-3.0", "2,2018-06,burglary,51.2,-3.0"]})
    >>> quarantine_view(rows)["Reason"].tolist()
    ['point ([withheld], [withheld]) is outside', 'point (330228, 145007) is outside']
    """
    tax = taxonomy or load_taxonomy()
    keep = [(_raw_is_non_sensitive(raw, tax) or int(n) == 0) for raw, n in zip(rows["raw"], rows["row_number"],
                                                                                 strict=True)]
    reasons = [str(r) if ok else _NUMBER.sub(_WITHHELD, str(r)) for r, ok in zip(rows["reason"], keep, strict=True)]
    return pd.DataFrame({"File": [Path(str(p)).name for p in rows["path"]], "Row": rows["row_number"].astype(int),
                         "Field": rows["field"].fillna("").astype(str), "Reason": reasons}).reset_index(drop=True)


def status_table(counts: pd.DataFrame) -> pd.DataFrame:
    """Store status by source and month from :func:`spatial.store.queries.source_month_counts` (already suppressed).

    Columns ``Source, Month, Incidents, Sensitive (aggregated)``; a sensitive
    count of 1-4 reads "fewer than 5".  No total is added (it would reveal a
    suppressed count).
    """
    rows = {}
    for r in counts.itertuples(index=False):
        key = (str(r.source), str(r.month))
        cur = rows.setdefault(key, {"Source": key[0], "Month": key[1], "Incidents": "0",
                                    "Sensitive (aggregated)": "0"})
        cur["Sensitive (aggregated)" if bool(r.sensitive) else "Incidents"] = str(r.display)
    return pd.DataFrame(list(rows.values()), columns=["Source", "Month", "Incidents", "Sensitive (aggregated)"])


# ----------------------------------------------------------------------------
# backtest
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class BacktestData:
    """Points (``x, y, month, category, proactive``), the grid, and where they come from."""

    points: pd.DataFrame
    grid: gpd.GeoDataFrame
    label: str
    months: tuple[str, ...]


def backtest_data(incidents: pd.DataFrame, *, borough_outline: gpd.GeoDataFrame, borough_name: str,
                  months: Sequence[str], data_dir: Path, cell_size_m: float = 150.0) -> BacktestData:
    """The borough's own non-sensitive incidents when it has :data:`BACKTEST_MIN_MONTHS` months, else the bundled
    Westminster and Hammersmith & Fulham 12 months (police.uk API, 2017-07 to 2018-06).

    ``incidents`` are non-sensitive incidents of the borough; ``months`` its months with real coverage.
    """
    from spatial.backtest import borough_boundary, read_policeuk_quick, square_grid

    if len(months) >= BACKTEST_MIN_MONTHS:
        pts = incidents[incidents[S.MONTH].astype(str).isin(months)][[S.X, S.Y, S.MONTH, S.CATEGORY, S.PROACTIVE]]
        pts = pts.reset_index(drop=True)
        boundary = borough_outline.geometry.union_all()
        grid = square_grid(pts[S.X].to_numpy(float), pts[S.Y].to_numpy(float), cell_size_m=cell_size_m,
                           boundary=boundary)
        return BacktestData(pts, grid, f"{borough_name}, {months[0]} to {months[-1]} ({len(months)} months, "
                                       "non-sensitive incidents in the store)", tuple(months))
    paths = sorted((data_dir / "policeuk" / "neighbours_api").glob("*.csv*"))
    if not paths:
        msg = f"no bundled neighbour data in {data_dir / 'policeuk' / 'neighbours_api'}; the backtest cannot run"
        raise HotspotError(msg)
    pts = read_policeuk_quick(paths)
    pts = pts[~pts[S.CATEGORY].isin(load_taxonomy().sensitive_slugs())].reset_index(drop=True)
    boundary = borough_boundary(pts[S.X].to_numpy(), pts[S.Y].to_numpy(), data_dir / "boundaries" / "boroughs.gpkg")
    grid = square_grid(pts[S.X].to_numpy(), pts[S.Y].to_numpy(), cell_size_m=cell_size_m, boundary=boundary)
    ms = tuple(sorted(pts[S.MONTH].astype(str).unique()))
    return BacktestData(pts, grid, f"Westminster and Hammersmith & Fulham, {ms[0]} to {ms[-1]} ({len(ms)} months, "
                                   f"bundled police.uk data), because {borough_name} has {len(months)} month(s) "
                                   f"with data and the backtest needs {BACKTEST_MIN_MONTHS}", ms)


def run_backtest(data: BacktestData, *, methods: Sequence[str], min_train: int = 6, cell_size_m: float = 150.0,
                 progress: Callable[[int, int, str], None] | None = None) -> pd.DataFrame:
    """Rolling-origin backtest of ``methods`` on every non-proactive category together; the mean over origins.

    Returns :func:`spatial.evaluation.summarise_backtest` output (one row per
    forecaster and coverage in :data:`COVERAGES`).
    """
    from spatial.backtest import backtest_groups

    parts = []
    for i, m in enumerate(methods):
        if progress is not None:
            progress(i, len(methods), m)
        parts.append(backtest_groups(data.points, data.grid, cell_size_m=cell_size_m, methods=[m],
                                     min_train=min_train, coverages=COVERAGES, groups={"all": None}))
    if progress is not None:
        progress(len(methods), len(methods), "")
    res = pd.concat(parts, ignore_index=True)
    return summarise_backtest(res.drop(columns=["incidents", "group"], errors="ignore"))


def forecast_choices(data: BacktestData, *, cell_size_m: float = 150.0,
                     groups: Mapping[str, Sequence[str] | None] | None = None) -> list[str]:
    """One sentence per crime group: the forecaster the selection picks on these months, and its backtest.

    The same selection the plans use (:func:`spatial.forecast_select.select_forecaster`, all crime as
    the pooling prior for the other groups); with too few months each sentence says so.
    """
    from spatial import schema as S
    from spatial.backtest import cells_of_points, groups_from_taxonomy
    from spatial.forecast import monthly_counts
    from spatial.forecast_select import describe_choice, select_forecaster

    grid = data.grid
    pts = data.points.assign(**{S.WARD_CODE: cells_of_points(grid, data.points[S.X].to_numpy(),
                                                              data.points[S.Y].to_numpy(), cell_size_m)})
    units = pd.Index(grid["cell_id"].astype(str).to_numpy(dtype=object))
    centres = ((grid["x_min"].to_numpy() + grid["x_max"].to_numpy()) / 2,
               (grid["y_min"].to_numpy() + grid["y_max"].to_numpy()) / 2)
    from spatial.low_months import incident_low_months, low_months_note

    allc = monthly_counts(pts, units, exclude_proactive=True)
    low = incident_low_months(data.points)  # months published low: kept out of the selection and the forecast
    out = [low_months_note(low)] if low else []
    for name, cats in (groups or groups_from_taxonomy()).items():
        counts = allc if cats is None else monthly_counts(pts, units, categories=cats, exclude_proactive=True,
                                                          months=list(allc.columns))
        choice = select_forecaster(counts, centres=centres, prior=None if cats is None else allc.to_numpy(),
                                   group=name, exclude_months=low)
        out.append(describe_choice(choice))
    return out


def hit_rate_curves(summary: pd.DataFrame) -> pd.DataFrame:
    """Hit rate (%) by share of area (%) with one column per forecaster, for a line chart."""
    wide = summary.pivot(index="coverage", columns="forecaster", values="hit_rate") * 100
    wide.index = pd.Index((wide.index * 100).round(0).astype(int), name="% of area")
    return wide[[c for c in summary["forecaster"].unique()]]
