"""The batch pipeline on Dask: per-unit (borough or force) grid counts, Gi*, emerging classes and forecast.

Reads the partitioned GeoParquet store (:mod:`spatial.store.parquet`) part by
part, so memory stays bounded whatever the number of incidents:

1. *map* (one task per part file row group, on the workers): read ``x``,
   ``y``, ``sensitive`` and ``proactive``; keep points inside each unit's
   polygon; count them per grid cell (all non-sensitive categories, and the
   non-proactive ones that the forecast targets).  A task returns two small
   integer vectors over every cell of every unit, for its part's month.
2. *reduce* (on the client, as tasks finish): add the vectors into a
   cells x months matrix per unit (a few MB for London at 150 m).
3. *analyse* (one task per unit, on the workers): Getis-Ord Gi* per month,
   Emerging Hot Spot classes (:func:`spatial.hotspots.emerging_hotspots`)
   and the next-month forecast (:func:`spatial.forecast.forecast`, the
   boosted forecaster by default).

The cluster is a :class:`distributed.LocalCluster` (``n_workers`` processes,
one thread each, ``memory_limit`` each) unless a scheduler address is given.
:func:`local_batch` is the single-machine path over an in-memory incident
frame with the public functions (``cell_period_counts``, ``monthly_counts``);
``tests/spatial/test_distributed.py`` checks that both give the same results.

Sensitive categories are left out, as in every hotspot output
(``spatial/analysis.py``).  On two cores Dask is slower than the
single-machine path for data that fits in memory (bench/RESULTS.md); it is
here for bounded memory and a path to a cluster.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import shapely

from spatial import schema as S
from spatial._errors import HotspotError, SchemaError
from spatial.areas import cell_period_counts
from spatial.forecast import DEFAULT_METHOD, FORECASTERS, forecast, monthly_counts
from spatial.grids import assign_cells, cell_centres, cell_positions, square_grid
from spatial.hotspots.emerging import emerging_hotspots
from spatial.hotspots.getis_ord import grid_queen_weights
from spatial.projection import require_bng
from spatial.trends import gistar_by_period

__all__ = ["BatchConfig", "UnitPlan", "plan_units", "analyse_unit", "local_batch", "run_batch", "BatchRun",
           "make_client", "write_results"]

_READ = [S.X, S.Y, S.SENSITIVE, S.PROACTIVE]


@dataclass(frozen=True)
class BatchConfig:
    """Options of the batch pipeline (the defaults are those of the Hotspots and Forecast pages).

    Attributes
    ----------
    cell_size_m
        Grid cell side in metres.
    permutations
        Gi* inference: 0 analytic (default), or e.g. 999 permutations.
    forecast_method
        One of :data:`spatial.forecast.FORECASTERS` (``"none"`` to skip).
    alpha
        FDR level of the emerging-hotspot bins.
    """

    cell_size_m: float = 150.0
    permutations: int = 0
    forecast_method: str = DEFAULT_METHOD
    alpha: float = 0.05

    def __post_init__(self) -> None:
        if self.forecast_method != "none" and self.forecast_method not in FORECASTERS:
            msg = (f"`forecast_method` was {self.forecast_method!r} but is expected to be 'none' or one of "
                   f"{sorted(FORECASTERS)}")
            raise HotspotError(msg)
        if not self.cell_size_m > 0:
            msg = f"`cell_size_m` was {self.cell_size_m!r}; give a positive size in metres, e.g. 150"
            raise HotspotError(msg)


@dataclass
class UnitPlan:
    """One unit (borough or force area): its polygon and grid, and its slice of the cell vector."""

    code: str
    area: shapely.Geometry
    bounds: tuple[float, float, float, float]
    grid: gpd.GeoDataFrame
    offset: int

    @property
    def n_cells(self) -> int:
        return len(self.grid)


def plan_units(units: gpd.GeoDataFrame, *, code_column: str, cell_size_m: float = 150.0) -> list[UnitPlan]:
    """Grids and polygons of each unit (one row per unit code, EPSG:27700).

    Raises
    ------
    CRSError
        If ``units`` are not in EPSG:27700.
    SchemaError
        If ``code_column`` is missing or codes repeat.
    """
    require_bng(units, name="the units")
    if code_column not in units.columns:
        msg = f"units lack the code column {code_column!r}; columns are {list(units.columns)[:20]}"
        raise SchemaError(msg)
    codes = units[code_column].astype(str)
    if not codes.is_unique:
        msg = f"unit codes in {code_column!r} repeat ({codes[codes.duplicated()].tolist()[:5]}); give one polygon per unit"
        raise SchemaError(msg)
    plans = []
    offset = 0
    for code, geom in zip(codes.tolist(), units.geometry.tolist()):
        area = gpd.GeoDataFrame({"unit": [code]}, geometry=[geom], crs=27700)
        grid = square_grid(area, cell_size_m=cell_size_m)
        shapely.prepare(geom)
        plans.append(UnitPlan(code, geom, tuple(geom.bounds), grid, offset))
        offset += len(grid)
    return plans


def _in_area(x: np.ndarray, y: np.ndarray, plan: UnitPlan) -> np.ndarray:
    minx, miny, maxx, maxy = plan.bounds
    box = np.flatnonzero((x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy))
    return box[shapely.contains_xy(plan.area, x[box], y[box])]


def count_part(path: str, row_group: int | None, plans: list[UnitPlan]) -> np.ndarray:
    """Cell counts of one part file (or one of its row groups): ``(2, cells of all units)`` int64.

    Row 0 counts every non-sensitive incident, row 1 the non-proactive ones
    among them (the forecast target, as :func:`spatial.forecast.monthly_counts`).
    """
    f = pq.ParquetFile(path)
    t = f.read_row_group(row_group, columns=_READ) if row_group is not None else f.read(columns=_READ)
    keep = ~t.column(S.SENSITIVE).to_numpy(zero_copy_only=False)
    x = t.column(S.X).to_numpy()[keep]
    y = t.column(S.Y).to_numpy()[keep]
    pro = t.column(S.PROACTIVE).to_numpy(zero_copy_only=False)[keep]
    del t
    total = plans[-1].offset + plans[-1].n_cells if plans else 0
    out = np.zeros((2, total), dtype=np.int64)
    for plan in plans:
        idx = _in_area(x, y, plan)
        if not len(idx):
            continue
        pos = cell_positions(x[idx], y[idx], plan.grid)
        ok = pos >= 0
        sl = slice(plan.offset, plan.offset + plan.n_cells)
        out[0, sl] += np.bincount(pos[ok], minlength=plan.n_cells)
        out[1, sl] += np.bincount(pos[ok & ~pro[idx]], minlength=plan.n_cells)
    return out


def analyse_unit(grid: gpd.GeoDataFrame, counts: np.ndarray, target: np.ndarray, months: Sequence[str],
                 config: BatchConfig) -> gpd.GeoDataFrame:
    """Gi* per month, emerging classes and forecast of one unit's grid from its count matrices.

    Parameters
    ----------
    grid
        The unit's grid (:func:`spatial.grids.square_grid`).
    counts
        Cells x months counts of non-sensitive incidents (Gi*, emerging).
    target
        Cells x months counts of the forecast target (non-proactive categories).
    months
        The months of the columns, in order.

    Returns
    -------
    geopandas.GeoDataFrame
        The grid with ``count`` (all months), ``gi_z_<month>`` and
        ``gi_p_<month>``, the emerging-hotspot columns (``trend_class``,
        ``score``, ``is_hotspot``, ``last_z``, ...) and ``forecast`` (expected
        count next month; absent when ``forecast_method`` is ``"none"``).
    """
    months = [str(m) for m in months]
    frame = pd.DataFrame(np.asarray(counts, dtype=float), index=grid.index, columns=months)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fewer than 10 months, islands: recorded in attrs by the callee
        z, p = gistar_by_period(frame.to_numpy(), grid_queen_weights(grid), permutations=config.permutations)
        em = emerging_hotspots(frame, grid, alpha=config.alpha, permutations=config.permutations)
    out = em.copy()
    out.insert(1, "count", np.asarray(counts).sum(axis=1).astype(np.int64))
    gi = pd.DataFrame({**{f"gi_z_{m}": z[:, j] for j, m in enumerate(months)},
                       **{f"gi_p_{m}": p[:, j] for j, m in enumerate(months)}}, index=out.index)
    out = gpd.GeoDataFrame(pd.concat([pd.DataFrame(out), gi], axis=1), geometry="geometry", crs=out.crs)
    if config.forecast_method != "none":
        history = pd.DataFrame(np.asarray(target, dtype=float), index=pd.Index(grid["cell_id"]),
                               columns=pd.Index(months, name="month"))
        out["forecast"] = forecast(history, centres=cell_centres(grid), method=config.forecast_method).to_numpy()
    out.attrs = {"params": {**em.attrs.get("params", {}), "batch": asdict(config)}}
    return out


def local_batch(incidents: pd.DataFrame, units: gpd.GeoDataFrame, *, code_column: str, months: Sequence[str],
                config: BatchConfig = BatchConfig()) -> dict[str, gpd.GeoDataFrame]:
    """The single-machine path: every unit's outputs from an in-memory incident frame.

    Counts come from :func:`spatial.areas.cell_period_counts` and
    :func:`spatial.forecast.monthly_counts` (the functions the pages use);
    sensitive incidents are left out first.
    """
    inc = incidents.loc[~incidents[S.SENSITIVE].astype(bool)].reset_index(drop=True)
    x = inc[S.X].to_numpy(float)
    y = inc[S.Y].to_numpy(float)
    out = {}
    for plan in plan_units(units, code_column=code_column, cell_size_m=config.cell_size_m):
        sub = inc.iloc[_in_area(x, y, plan)].reset_index(drop=True)
        counts = cell_period_counts(sub, plan.grid, periods=list(months))
        sub = sub.assign(cell_id=assign_cells(sub[S.X].to_numpy(float), sub[S.Y].to_numpy(float), plan.grid))
        target = monthly_counts(sub, plan.grid["cell_id"], unit_column="cell_id", months=list(months))
        out[plan.code] = analyse_unit(plan.grid, counts.to_numpy(), target.to_numpy(), months, config)
    return out


@dataclass
class BatchRun:
    """What :func:`run_batch` did: results per unit and the figures of the run."""

    results: dict[str, gpd.GeoDataFrame]
    months: list[str]
    rows_read: int
    tasks: int
    seconds: dict[str, float] = field(default_factory=dict)


def make_client(*, scheduler: str | None = None, n_workers: int = 2, memory_limit: str = "3GB"):
    """A :class:`distributed.Client` of the cluster at ``scheduler``, or of a new LocalCluster.

    The local cluster has ``n_workers`` processes with one thread and
    ``memory_limit`` each, and no dashboard (the machine is offline).
    """
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler)
    if n_workers < 1:
        msg = f"`n_workers` was {n_workers}; give 1 or more"
        raise HotspotError(msg)
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, memory_limit=memory_limit,
                           dashboard_address=None)
    return Client(cluster)


def _tasks(parts, months: list[str]) -> list[tuple[str, int | None, int]]:
    """One task per row group of each part in ``months``: ``(path, row group, month index)``."""
    mi = {m: i for i, m in enumerate(months)}
    out = []
    for p in parts:
        if p.month not in mi:
            continue
        n = pq.ParquetFile(p.path).num_row_groups
        out += [(str(p.path), rg if n > 1 else None, mi[p.month]) for rg in range(max(n, 1))]
    return out


def run_batch(client, store_dir: str | Path, units: gpd.GeoDataFrame, *, code_column: str,
              months: Sequence[str] | None = None, forces: list[str] | None = None,
              config: BatchConfig = BatchConfig(), progress: Callable[[int, int], None] | None = None) -> BatchRun:
    """Run the pipeline on ``client``'s cluster over the store in ``store_dir``.

    Parameters
    ----------
    client
        A :class:`distributed.Client` (:func:`make_client`).
    store_dir
        A partitioned GeoParquet store.
    units
        Unit polygons (boroughs, or force areas) in EPSG:27700, one row per ``code_column`` value.
    months
        Months to analyse (default: every month in the store, gaps filled).
    forces
        Only these force partitions (default: all).
    progress
        Called with ``(tasks done, tasks)`` as the map tasks finish.
    """
    from distributed import as_completed

    from spatial.store.parquet import store_parts

    t0 = time.perf_counter()
    parts = store_parts(store_dir, forces=forces)
    if months is None:
        present = sorted({p.month for p in parts})
        if not present:
            msg = f"the store {store_dir} holds no incidents; ingest into it first"
            raise HotspotError(msg)
        months = [str(m) for m in pd.period_range(present[0], present[-1], freq="M")]
    months = [str(m) for m in months]
    plans = plan_units(units, code_column=code_column, cell_size_m=config.cell_size_m)
    tasks = _tasks(parts, months)
    rows = sum(p.rows for p in parts if p.month in set(months))
    total = plans[-1].offset + plans[-1].n_cells
    acc = np.zeros((2, total, len(months)), dtype=np.int64)
    [plans_f] = client.scatter([plans], broadcast=True)
    t1 = time.perf_counter()
    futures = [client.submit(count_part, path, rg, plans_f, pure=False) for path, rg, _m in tasks]
    month_of = {f.key: m for f, (_p, _r, m) in zip(futures, tasks)}
    done = 0
    for fut, res in as_completed(futures, with_results=True):
        acc[:, :, month_of[fut.key]] += res
        fut.release()
        done += 1
        if progress:
            progress(done, len(tasks))
    t2 = time.perf_counter()
    jobs = {plan.code: client.submit(analyse_unit, plan.grid, acc[0, plan.offset:plan.offset + plan.n_cells],
                                     acc[1, plan.offset:plan.offset + plan.n_cells], months, config, pure=False)
            for plan in plans}
    results = {code: f.result() for code, f in jobs.items()}
    t3 = time.perf_counter()
    return BatchRun(results, months, rows, len(tasks),
                    {"plan": t1 - t0, "count": t2 - t1, "analyse": t3 - t2, "total": t3 - t0})


def write_results(results: dict[str, gpd.GeoDataFrame], out_dir: str | Path) -> pd.DataFrame:
    """Write each unit's cells as GeoParquet ``unit=<code>.parquet`` and ``summary.csv``; return the summary."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for code, gdf in results.items():
        g = gdf.copy()
        g.attrs = {}
        g.to_parquet(out / f"unit={code}.parquet")
        classes = g["trend_class"].value_counts()
        rows.append({"unit": code, "cells": len(g), "incidents": int(g["count"].sum()),
                     "hot_cells": int(g["is_hotspot"].sum()),
                     "top_class": classes.index[0] if len(classes) else None,
                     "forecast_total": float(g["forecast"].sum()) if "forecast" in g else None})
    summary = pd.DataFrame(rows)
    from spatial.csv_safe import to_csv

    to_csv(summary, out / "summary.csv", index=False)
    return summary
