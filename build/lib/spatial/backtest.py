"""Forecast backtests of the application layer: reading police.uk files and grids, the rolling-origin runs.

Pure functions and file readers used by ``hotspot-tasking forecast`` /
``evaluate`` (:mod:`hotspot_cli.forecast`), the Data page (:mod:`ui.data_admin`)
and ``bench/backtest.py``.  The arithmetic lives in :mod:`spatial.forecast` and
:mod:`spatial.evaluation`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from spatial import schema as S
from spatial._errors import IngestError
from spatial.evaluation import (
    DEFAULT_COVERAGES,
    rolling_origin_backtest,
    summarise_backtest,
)
from spatial.forecast import (
    BASELINES,
    DEFAULT_METHOD,
    FORECASTERS,
    monthly_counts,
)

__all__ = [
    "GROUPS",
    "backtest_groups",
    "borough_boundary",
    "default_backtest_data",
    "markdown_table",
    "read_grid",
    "read_policeuk_quick",
    "read_training_points",
    "square_grid",
    "winners_at",
    "groups_from_taxonomy",
    "cells_of_points",
]

GRID_COLUMNS = ("cell_id", "x_min", "y_min", "x_max", "y_max")

#: Category groups reported by the backtest: name -> category slugs (``None`` = all
#: non-proactive categories).  Built from the ``group`` column of
#: ``spatial/data/categories.csv``.
GROUPS: dict[str, tuple[str, ...] | None] = {
    "all-crime": None,
    "burglary": ("burglary",),
    "violence-sexual": ("violent-crime",),
    "asb": ("anti-social-behaviour",),
    "theft": ("bicycle-theft", "other-theft", "shoplifting", "theft-from-the-person"),
    "vehicle": ("vehicle-crime",),
    "robbery": ("robbery",),
}


def groups_from_taxonomy() -> dict[str, tuple[str, ...] | None]:
    tax = S.load_taxonomy()
    police = {s: c for s, c in tax.categories.items() if c.origin == "police.uk"}
    out: dict[str, tuple[str, ...] | None] = {"all-crime": None}
    for name, grp in (("burglary", "burglary"), ("violence-sexual", "violence-sexual"), ("asb", "asb"),
                      ("theft", "theft"), ("vehicle", "vehicle"), ("robbery", "robbery")):
        out[name] = tuple(sorted(s for s, c in police.items() if c.group == grp))
    return out


# --------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------
def read_grid(path: str | Path) -> gpd.GeoDataFrame:
    """Read and validate a GRID_CSV (``cell_id,x_min,y_min,x_max,y_max``, EPSG:27700).

    Raises
    ------
    IngestError
        Naming the file, row (1-based line number, header = line 1) and field of
        the first problem: missing columns, blank or duplicate ``cell_id``,
        non-numeric or non-finite bounds, ``x_max <= x_min``, or coordinates
        outside Great Britain (e.g. degrees).
    """
    p = Path(path)
    if not p.is_file():
        msg = f"{p}: no such grid file"
        raise IngestError(msg, path=str(p))
    try:
        df = pd.read_csv(p, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        msg = f"{p}: cannot be read as a CSV grid ({exc}); expected columns {','.join(GRID_COLUMNS)}"
        raise IngestError(msg, path=str(p)) from exc
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in GRID_COLUMNS if c not in df.columns]
    if missing:
        msg = (f"{p}: grid is missing column(s) {missing}; expected {','.join(GRID_COLUMNS)} "
               f"(EPSG:27700 metres), found {list(df.columns)[:10]}")
        raise IngestError(msg, path=str(p), field=missing[0])
    if df.empty:
        msg = f"{p}: the grid has a header but no cells"
        raise IngestError(msg, path=str(p))
    ids = df["cell_id"].str.strip()
    blank = np.flatnonzero((ids == "").to_numpy())
    if blank.size:
        msg = f"{p}: line {blank[0] + 2}, field cell_id: blank cell id; every cell needs a unique id"
        raise IngestError(msg, path=str(p), field="cell_id")
    dup = np.flatnonzero(ids.duplicated().to_numpy())
    if dup.size:
        msg = f"{p}: line {dup[0] + 2}, field cell_id: duplicate cell id {ids.iloc[dup[0]]!r}"
        raise IngestError(msg, path=str(p), field="cell_id")
    bounds = {}
    for c in GRID_COLUMNS[1:]:
        vals = pd.to_numeric(df[c].str.strip(), errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(vals))
        if bad.size:
            msg = f"{p}: line {bad[0] + 2}, field {c}: {df[c].iloc[bad[0]]!r} is not a number (EPSG:27700 metres)"
            raise IngestError(msg, path=str(p), field=c)
        bounds[c] = vals
    for lo, hi in (("x_min", "x_max"), ("y_min", "y_max")):
        bad = np.flatnonzero(bounds[hi] <= bounds[lo])
        if bad.size:
            msg = (f"{p}: line {bad[0] + 2}, field {hi}: {hi} ({bounds[hi][bad[0]]}) must be greater than "
                   f"{lo} ({bounds[lo][bad[0]]})")
            raise IngestError(msg, path=str(p), field=hi)
    if all(np.nanmax(np.abs(v)) < 1000 for v in bounds.values()):
        msg = (f"{p}: every bound is below 1000, so the grid looks like longitude/latitude degrees; "
               "the grid must be in EPSG:27700 (British National Grid) metres")
        raise IngestError(msg, path=str(p), field="x_min")
    for c, (lo, hi) in (("x_min", (-10_000, 800_000)), ("x_max", (-10_000, 800_000)),
                        ("y_min", (-10_000, 1_300_000)), ("y_max", (-10_000, 1_300_000))):
        bad = np.flatnonzero((bounds[c] < lo) | (bounds[c] > hi))
        if bad.size:
            msg = (f"{p}: line {bad[0] + 2}, field {c}: {bounds[c][bad[0]]} is outside British National Grid "
                   "(EPSG:27700) coordinates for Great Britain; the grid must be in EPSG:27700 metres")
            raise IngestError(msg, path=str(p), field=c)
    geom = shapely.box(bounds["x_min"], bounds["y_min"], bounds["x_max"], bounds["y_max"])
    return gpd.GeoDataFrame({"cell_id": ids.to_numpy(dtype=object), **bounds}, geometry=geom, crs=S.BNG)


def read_training_points(path: str | Path, grid: gpd.GeoDataFrame) -> tuple[pd.DataFrame, int, int]:
    """Read a police.uk file through the validating ingest, attributing each point to a grid cell.

    Returns
    -------
    (incidents, rows_read, quarantined)
        Canonical incidents whose ``ward_code`` column holds the ``cell_id``;
        points outside the grid and invalid rows are quarantined (counted).

    Raises
    ------
    IngestError
        If the file is not a police.uk street or API CSV, or has no usable rows.
    """
    from spatial.config import Settings
    from spatial.ingest.files import inspect_file
    from spatial.ingest.produce import PointJob, produce_point_chunks
    from spatial.projection import AreaLayer, Attributor

    info = inspect_file(path)
    if info.kind not in ("police-uk-street", "police-uk-api", "police-uk-api-json"):
        msg = (f"{info.path}: a {info.kind} file is not police.uk data; the training file must be a police.uk "
               "street-level CSV (Crime ID, Month, Longitude, Latitude, Crime type, ...) or an API CSV")
        raise IngestError(msg, path=str(info.path))
    settings = Settings()
    layer = AreaLayer(S.WARD_CODE, grid[["cell_id", "geometry"]], "cell_id")
    attributor = Attributor.from_layers([layer], buffer_m=0)
    job = PointJob(info=info, mapping=None, source="police.uk", now=pd.Timestamp.now(tz=S.LONDON_TZ),
                   earliest=pd.Timestamp(settings.earliest_date, tz=S.LONDON_TZ),
                   max_field_chars=settings.max_field_chars, chunk_rows=settings.chunk_rows, tolerant=True)
    frames: list[pd.DataFrame] = []
    read = quarantined = 0
    for out in produce_point_chunks(job, attributor):
        read += out.read
        quarantined += len(out.rejects) + out.outside  # outside every grid cell
        frames.append(out.rows[[S.MONTH, S.CATEGORY, S.PROACTIVE, S.WARD_CODE, S.X, S.Y]])
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=[S.MONTH, S.CATEGORY, S.PROACTIVE, S.WARD_CODE, S.X, S.Y])
    rows = rows[rows[S.WARD_CODE].notna()]
    if rows.empty:
        msg = (f"{info.path}: none of the {read} row(s) could be used ({quarantined} quarantined, e.g. no "
               "coordinates, an unknown crime type or a point outside every grid cell); check that the grid "
               "covers the training data and is in EPSG:27700")
        raise IngestError(msg, path=str(info.path))
    return rows, read, quarantined


def read_policeuk_quick(paths: Sequence[str | Path]) -> pd.DataFrame:
    """Fast reader for many police.uk API or street CSVs (benchmarks): x, y, month, category, proactive.

    Rows without coordinates, month or a known crime type are dropped (counted in
    ``attrs["dropped"]``).  Use the ingest pipeline for audited loading.
    """
    tax = S.load_taxonomy()
    frames = []
    dropped = 0
    for path in paths:
        p = Path(path)
        head = pd.read_csv(p, nrows=0).columns
        if {"Longitude", "Latitude", "Month", "Crime type"} <= set(head):
            df = pd.read_csv(p, usecols=["Longitude", "Latitude", "Month", "Crime type"], dtype=str)
            # usecols keeps the file's column order (Month comes first in street files): rename by name.
            df = df.rename(columns={"Longitude": "lon", "Latitude": "lat", "Month": "month", "Crime type": "category"})
        elif {"longitude", "latitude", "month", "category"} <= set(head):
            df = pd.read_csv(p, usecols=["longitude", "latitude", "month", "category"], dtype=str)
            df = df.rename(columns={"longitude": "lon", "latitude": "lat"})
        else:
            msg = f"{p}: not a police.uk street or API CSV (columns {list(head)[:12]})"
            raise IngestError(msg, path=str(p))
        lon = pd.to_numeric(df["lon"], errors="coerce").to_numpy(dtype=float)
        lat = pd.to_numeric(df["lat"], errors="coerce").to_numpy(dtype=float)
        cats = pd.Series(pd.unique(df["category"].dropna()))
        lookup = {c: tax.resolve(c) for c in cats}
        slug = df["category"].map(lookup)
        ok = np.isfinite(lon) & np.isfinite(lat) & slug.notna().to_numpy() & df["month"].notna().to_numpy()
        dropped += int((~ok).sum())
        from spatial.projection import to_bng
        x, y = to_bng(lon[ok], lat[ok], S.WGS84)
        s = slug[ok].astype(str).to_numpy()
        frames.append(pd.DataFrame({S.X: x, S.Y: y, S.MONTH: df["month"][ok].str.strip().to_numpy(),
                                    S.CATEGORY: s,
                                    S.PROACTIVE: np.array([tax.categories[c].proactive for c in s], dtype=bool)}))
    out = pd.concat(frames, ignore_index=True)
    out.attrs["dropped"] = dropped
    return out


def square_grid(x: np.ndarray, y: np.ndarray, *, cell_size_m: float,
                boundary: shapely.Geometry | None = None) -> gpd.GeoDataFrame:
    """Square cells aligned to multiples of ``cell_size_m`` covering the points' extent.

    With ``boundary``, only cells whose centre lies inside it are kept.  Cell ids
    are ``"<col>_<row>"`` of ``floor(x / cell_size_m)``, ``floor(y / cell_size_m)``.
    """
    c0, c1 = math.floor(x.min() / cell_size_m), math.floor(x.max() / cell_size_m)
    r0, r1 = math.floor(y.min() / cell_size_m), math.floor(y.max() / cell_size_m)
    cols, rows = np.meshgrid(np.arange(c0, c1 + 1), np.arange(r0, r1 + 1))
    cols, rows = cols.ravel(), rows.ravel()
    xmin, ymin = cols * cell_size_m, rows * cell_size_m
    cx, cy = xmin + cell_size_m / 2, ymin + cell_size_m / 2
    if boundary is not None:
        shapely.prepare(boundary)
        keep = shapely.contains_xy(boundary, cx, cy)
        cols, rows, xmin, ymin = cols[keep], rows[keep], xmin[keep], ymin[keep]
    ids = np.char.add(np.char.add(cols.astype(str), "_"), rows.astype(str))
    return gpd.GeoDataFrame({"cell_id": ids.astype(object), "x_min": xmin.astype(float), "y_min": ymin.astype(float),
                             "x_max": (xmin + cell_size_m).astype(float), "y_max": (ymin + cell_size_m).astype(float)},
                            geometry=shapely.box(xmin, ymin, xmin + cell_size_m, ymin + cell_size_m), crs=S.BNG)


def cells_of_points(grid: gpd.GeoDataFrame, x: np.ndarray, y: np.ndarray, cell_size_m: float) -> np.ndarray:
    ids = np.char.add(np.char.add(np.floor(x / cell_size_m).astype(int).astype(str), "_"),
                      np.floor(y / cell_size_m).astype(int).astype(str)).astype(object)
    return ids


# --------------------------------------------------------------------------
# backtest table
# --------------------------------------------------------------------------
def backtest_groups(points: pd.DataFrame, grid: gpd.GeoDataFrame, *, cell_size_m: float,
                    methods: Sequence[str] | None = None, min_train: int = 6,
                    coverages: Sequence[float] = DEFAULT_COVERAGES,
                    groups: dict[str, tuple[str, ...] | None] | None = None) -> pd.DataFrame:
    """Rolling-origin backtest of each forecaster for each category group on a square grid.

    Returns the per-origin results (:func:`spatial.evaluation.rolling_origin_backtest`)
    with a ``group`` column.
    """
    groups = groups or groups_from_taxonomy()
    methods = list(methods or FORECASTERS)
    pts = points.copy()
    pts[S.WARD_CODE] = cells_of_points(grid, pts[S.X].to_numpy(), pts[S.Y].to_numpy(), cell_size_m)
    units = pd.Index(grid["cell_id"].astype(str).to_numpy(dtype=object))
    centres = ((grid["x_min"].to_numpy() + grid["x_max"].to_numpy()) / 2,
               (grid["y_min"].to_numpy() + grid["y_max"].to_numpy()) / 2)
    areas = ((grid["x_max"] - grid["x_min"]) * (grid["y_max"] - grid["y_min"])).to_numpy()
    fcs = {m: functools.partial(FORECASTERS[m], centres=centres) if m != "last_period" else FORECASTERS[m]
           for m in methods}
    out = []
    for name, cats in groups.items():
        counts = monthly_counts(pts, units, categories=cats, exclude_proactive=True)
        res = rolling_origin_backtest(counts, fcs, areas=areas, min_train=min_train, coverages=coverages)
        res.insert(0, "group", name)
        res["incidents"] = counts.to_numpy().sum()
        out.append(res)
    return pd.concat(out, ignore_index=True)


def markdown_table(results: pd.DataFrame) -> str:
    """Summary markdown: per group and forecaster, mean hit rate / PAI / PEI per coverage."""
    summ = summarise_backtest(results.drop(columns=["incidents"], errors="ignore"))
    lines = []
    covs = sorted(summ["coverage"].unique())
    head = ["group", "forecaster"]
    for c in covs:
        pct = f"{c * 100:g}%"
        head += [f"HR {pct}", f"PAI {pct}", f"PEI {pct}"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + "|")
    for (g, f), block in summ.groupby(["group", "forecaster"], sort=False):
        row = [str(g), str(f)]
        for c in covs:
            r = block[block["coverage"] == c].iloc[0]
            row += [f"{r['hit_rate']:.3f}", f"{r['pai']:.2f}", f"{r['pei']:.3f}"]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def winners_at(results: pd.DataFrame, *, coverage: float = 0.05, method: str = DEFAULT_METHOD,
               baselines: Sequence[str] = BASELINES) -> pd.DataFrame:
    """Per group: the chosen method's mean hit rate at ``coverage`` versus the best baseline."""
    summ = summarise_backtest(results.drop(columns=["incidents"], errors="ignore"))
    at = summ[np.isclose(summ["coverage"], coverage)]
    rows = []
    for g, block in at.groupby("group", sort=False):
        hr = block.set_index("forecaster")["hit_rate"]
        base = hr.reindex([b for b in baselines if b in hr.index])
        best = base.idxmax()
        rows.append({"group": g, method: hr.get(method, np.nan), "best_baseline": best,
                     "best_baseline_hr": base.max(), "beats_all": bool(hr.get(method, np.nan) > base.max())})
    return pd.DataFrame(rows)


def default_backtest_data() -> list[Path]:
    """The bundled police.uk API extract of the neighbouring boroughs (the default of ``evaluate``)."""
    from spatial.config import default_data_dir
    return sorted((default_data_dir() / "policeuk" / "neighbours_api").glob("*.csv*"))


def borough_boundary(x: np.ndarray, y: np.ndarray, path: Path | None) -> shapely.Geometry | None:
    """Union of the boroughs holding at least 1 % of the points, or ``None`` without a boundary file."""
    if path is None or not path.is_file():
        return None
    b = gpd.read_file(path)
    if b.crs is None or b.crs.to_epsg() != 27700:
        b = b.to_crs(27700)
    geoms = np.asarray(b.geometry.values, dtype=object)
    tree = shapely.STRtree(geoms)
    _pi, ti = tree.query(shapely.points(x, y), predicate="within")
    share = np.bincount(ti, minlength=len(geoms)) / max(len(x), 1)
    keep = geoms[share >= 0.01]
    return shapely.union_all(keep) if len(keep) else None
