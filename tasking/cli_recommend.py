"""``hotspot-tasking recommend``: Designing Out Crime measures for every hotspot, with evidence.

::

    hotspot-tasking recommend [--method kde|gistar|dbscan] [--months 12] [--borough E09000020]
        [--plan plan.json] [--top 3] [--trends] [--include-sensitive]
        [--hotspot-share 0.05] [--cell-size 150] [--harm cchi|ons_css]
        [--out recommendations.geojson | recommendations.csv]

Hotspots are computed from the store exactly as ``allocate`` does (harm-weighted
KDE or Gi* on a grid, or DBSCAN clusters, on the latest ``--months`` months with
real coverage, non-sensitive incidents only) and turned into the same candidate
places (:func:`tasking.candidates.build_candidates`: street patches, estates and
parks with incidents), so the ids match the allocation plan.  With ``--plan`` the
hotspot method, share, cell size, harm index, borough and months come from the
plan and only its candidates are advised on.  ``--trends`` adds emerging-hotspot
classes (Gi* per month and Mann-Kendall; needs 4 or more months).

Each place gets ranked measures from ``tasking/data/design_out_rules.csv``
(:mod:`tasking.design_out`), each with its CPTED principle, evidence, sources
and a sentence saying why it fits this place.  ``--include-sensitive`` adds
sensitive categories to the category mix of the same places (never to the
hotspot search), with counts under 5 shown as "fewer than 5".

``--out`` ending ``.geojson`` (or ``.json``) writes one feature per place with
its recommendations as properties (EPSG:4326); ``.csv`` writes one row per
(place, recommendation).  The summary is printed either way.

The lead wires :func:`add_parser` into ``spatial/cli.py``; :func:`run` returns
the exit status.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from spatial.schema import CATEGORY, MONTH, SENSITIVE, WARD_CODE, WGS84

from ._errors import TaskingError
from .cli_allocate import coverage_months
from .design_out import (
    DesignOutSettings,
    hotspot_features,
    rank_measures,
    recommendation_table,
)

__all__ = ["add_parser", "build_recommendations", "coverage_months", "read_plan", "run"]

Method = Literal["kde", "gistar", "dbscan"]
_DEFAULT_BOROUGH = "E09000020"  # Royal Borough of Kensington and Chelsea
_MIN_TREND_MONTHS = 4


def read_plan(path: str | Path) -> dict[str, Any]:
    """Read an ``allocate`` plan JSON and check the parts ``recommend`` needs.

    Returns
    -------
    dict
        ``method``, ``hotspot_share``, ``cell_size_m``, ``harm_index``,
        ``months``, ``borough`` (or None) and ``candidate_ids``.

    Raises
    ------
    TaskingError
        If the file is missing, not JSON, or lacks a key; the message names
        the file and the key.
    """
    p = Path(path)
    if not p.exists():
        msg = f"--plan {str(p)!r} not found; pass the JSON written by `hotspot-tasking allocate --out`"
        raise TaskingError(msg)
    try:
        plan = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        msg = f"--plan {str(p)!r} is not valid JSON ({exc}); pass the file written by `allocate --out`"
        raise TaskingError(msg) from exc
    inputs = plan.get("inputs") if isinstance(plan, dict) else None
    cands = plan.get("candidates") if isinstance(plan, dict) else None
    if not isinstance(inputs, dict) or not isinstance(cands, list):
        msg = f"--plan {str(p)!r} has no 'inputs' object or 'candidates' list; is it an allocate plan?"
        raise TaskingError(msg)
    for key in ("hotspot_method", "months"):
        if key not in inputs:
            msg = f"--plan {str(p)!r}: inputs.{key} is missing; re-run allocate to write a complete plan"
            raise TaskingError(msg)
    method = inputs["hotspot_method"]
    if method not in ("kde", "gistar", "dbscan"):
        msg = f"--plan {str(p)!r}: inputs.hotspot_method was {method!r}; expected kde, gistar or dbscan"
        raise TaskingError(msg)
    ids = [str(c["candidate_id"]) for c in cands if isinstance(c, dict) and "candidate_id" in c]
    if len(ids) != len(cands):
        msg = f"--plan {str(p)!r}: every entry of 'candidates' needs a candidate_id"
        raise TaskingError(msg)
    return {"method": method, "hotspot_share": float(inputs.get("hotspot_share", 0.05)),
            "cell_size_m": float(inputs.get("cell_size_m", 150.0)),
            "harm_index": str(inputs.get("harm_index", "cchi")), "months": [str(m) for m in inputs["months"]],
            "borough": inputs.get("borough"), "candidate_ids": ids}


def _hotspots(incidents: pd.DataFrame, area: gpd.GeoDataFrame, *, method: Method, cell_size_m: float,
              hotspot_share: float, harm_index: str, seed: int) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame | None]:
    """The hotspot result (as ``allocate`` computes it) and the grid it used (None for DBSCAN)."""
    from spatial.grids import count_in_cells, square_grid
    from spatial.harm import harm_weight
    from spatial.hotspots import density_clusters, gistar, kde

    w = harm_weight(incidents[CATEGORY], index=harm_index)  # type: ignore[arg-type]
    if method == "dbscan":
        return density_clusters(incidents, weights=w), None
    grid = square_grid(area, cell_size_m=cell_size_m)
    if method == "kde":
        return kde(incidents, grid, weights=w, hotspot_area_share=hotspot_share), grid
    if method == "gistar":
        return gistar(count_in_cells(incidents, grid, weights=w), value_col="harm", seed=seed), grid
    msg = f'--method was "{method}" but is expected to be one of ["kde", "gistar", "dbscan"]'
    raise TaskingError(msg)


def _add_trends(hs: gpd.GeoDataFrame, incidents: pd.DataFrame, area: gpd.GeoDataFrame, grid: gpd.GeoDataFrame | None,
                *, months: Sequence[str], cell_size_m: float, harm_index: str) -> gpd.GeoDataFrame:
    """Emerging-hotspot class of each hotspot unit (by cell id, else by the cell under its representative point)."""
    from spatial.cli_hotspots import compute_emerging
    from spatial.grids import square_grid

    if len(months) < _MIN_TREND_MONTHS:
        msg = (f"--trends needs at least {_MIN_TREND_MONTHS} months with data; the store gives {list(months)} "
               "(raise --months or drop --trends)")
        raise TaskingError(msg)
    grid = square_grid(area, cell_size_m=cell_size_m) if grid is None else grid
    em = compute_emerging(grid, unit_kind="grid", months=list(months), incidents=incidents, area=area,
                          harm_index=harm_index)
    cls = pd.Series(em["trend_class"].astype(str).to_numpy(), index=em["cell_id"].astype(str).to_numpy())
    out = hs.copy()
    if "cell_id" in out.columns:
        out["trend_class"] = out["cell_id"].astype(str).map(cls).to_numpy()
    else:
        reps = shapely.point_on_surface(np.asarray(out.geometry.values, dtype=object))
        tree = shapely.STRtree(np.asarray(em.geometry.values, dtype=object))
        pi, gi = tree.query(reps, predicate="intersects")
        tc = np.full(len(out), None, dtype=object)
        tc[pi] = em["trend_class"].astype(str).to_numpy()[gi]
        out["trend_class"] = tc
    out.attrs = hs.attrs
    return out


def _cluster_column(cands: gpd.GeoDataFrame, hs: gpd.GeoDataFrame, method: Method) -> gpd.GeoDataFrame:
    """``cluster`` per candidate: it contains a DBSCAN cluster or a Gi* hot-99 unit (absent for KDE)."""
    if method == "kde":
        return cands
    units = hs if method == "dbscan" else hs[hs["gi_class"].astype(str) == "hot 99"]
    flag = np.zeros(len(cands), bool)
    if len(units) and len(cands):
        reps = shapely.point_on_surface(np.asarray(units.geometry.values, dtype=object))
        tree = shapely.STRtree(np.asarray(cands.geometry.values, dtype=object))
        _, ci = tree.query(reps, predicate="intersects")
        flag[ci] = True
    out = cands.copy()
    out["cluster"] = flag
    out["cluster_evidence"] = ("holds a DBSCAN density cluster" if method == "dbscan"
                               else "holds a Gi* hot spot at 99% (FDR)")
    return out


def build_recommendations(incidents: pd.DataFrame, *, area: gpd.GeoDataFrame, wards: gpd.GeoDataFrame,
                          parks: gpd.GeoDataFrame | None = None, estates: gpd.GeoDataFrame | None = None,
                          method: Method = "kde", hotspot_share: float = 0.05, cell_size_m: float = 150.0,
                          harm_index: str = "cchi", top_k: int = 3, trends: bool = False,
                          months: Sequence[str] | None = None, candidate_ids: Sequence[str] | None = None,
                          sensitive_incidents: pd.DataFrame | None = None,
                          settings: DesignOutSettings | None = None,
                          seed: int = 12345) -> tuple[gpd.GeoDataFrame, pd.DataFrame, list[str]]:
    """Hotspots -> candidate places -> ranked Designing Out Crime measures (pure).

    Parameters
    ----------
    incidents
        Non-sensitive incidents of the borough and period (what hotspots are drawn from).
    area, wards
        Borough and ward polygons (EPSG:27700).
    parks, estates
        Optional layers with ``park_id``/``park_name`` and ``estate_id``/``estate_name``.
    method, hotspot_share, cell_size_m, harm_index, seed
        As ``allocate``.
    top_k
        Measures per place.
    trends
        Add emerging-hotspot classes (``months`` must hold 4 or more months).
    months
        The months of ``incidents`` (for ``trends``).
    candidate_ids
        Keep only these candidates (from a plan); default: every street patch,
        estate and park holding at least one incident.
    sensitive_incidents
        Sensitive incidents of the same period to add to the category mix of
        the places (aggregated and suppressed, never used to find hotspots).
    settings
        :class:`tasking.design_out.DesignOutSettings` (default with ``harm_index``).

    Returns
    -------
    (geopandas.GeoDataFrame, pandas.DataFrame, list[str])
        One row per place (``candidate_id``, ``name``, ``ward_code``,
        ``place_type``, recommendations, geometry), the ranked lines
        (one row per place and recommendation, with ``name``, ``ward_code``,
        ``x``, ``y``) and notes for the reader.
    """
    from .candidates import build_candidates
    from .resources import load_roster

    if len(incidents) == 0:
        msg = "there are no non-sensitive incidents to find hotspots in; ingest data first (hotspot-tasking ingest --bundled)"
        raise TaskingError(msg)
    settings = settings or DesignOutSettings(harm_index=harm_index)  # type: ignore[arg-type]
    notes: list[str] = []
    hs, grid = _hotspots(incidents, area, method=method, cell_size_m=cell_size_m, hotspot_share=hotspot_share,
                         harm_index=harm_index, seed=seed)
    if trends:
        hs = _add_trends(hs, incidents, area, grid, months=months or sorted(incidents[MONTH].astype(str).unique()),
                         cell_size_m=cell_size_m, harm_index=harm_index)
    roster = load_roster(None)  # shifts and planning defaults only: they do not change places or ids
    cands = build_candidates(hs, incidents, wards=wards, shifts=roster.shifts, planning=roster.planning,
                             parks=parks, estates=estates, harm_index=harm_index,  # type: ignore[arg-type]
                             add_ward_presence=False)
    cands = cands[["candidate_id", "place_type", "name", "ward_code", "x", "y", "source", "n_incidents",
                   "trend_class", "geometry"]]
    if candidate_ids is not None:
        wanted = [c for c in candidate_ids if not str(c).startswith("WP-")]
        if len(wanted) < len(candidate_ids):
            notes.append(f"{len(candidate_ids) - len(wanted)} ward presence points of the plan skipped "
                         "(no hotspot there to design against)")
        missing = sorted(set(wanted) - set(cands["candidate_id"]))
        if missing and len(missing) == len(wanted):
            msg = (f"none of the plan's {len(wanted)} candidates could be rebuilt from the store "
                   f"(e.g. {missing[:3]}); the data changed since the plan was made: re-run allocate")
            raise TaskingError(msg)
        if missing:
            notes.append(f"{len(missing)} plan candidates not found in the store now (data changed?): "
                         + ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else ""))
        cands = cands[cands["candidate_id"].isin(wanted)]
    else:
        empty = int((cands["n_incidents"] == 0).sum())
        if empty:
            notes.append(f"{empty} estates/parks with no incidents in the period left out (not hotspots)")
        cands = cands[cands["n_incidents"] > 0]
    cands = gpd.GeoDataFrame(cands.reset_index(drop=True), geometry="geometry", crs=area.crs)
    if cands.empty:
        msg = "no hotspots to advise on: the method found no hot places in the period (try more --months)"
        raise TaskingError(msg)
    cands = _cluster_column(cands, hs, method)
    feat_inc = incidents if sensitive_incidents is None or sensitive_incidents.empty else \
        pd.concat([incidents, sensitive_incidents], ignore_index=True)
    feats = hotspot_features(cands, feat_inc, id_col="candidate_id", estates=estates, parks=parks,
                             settings=settings)
    ranked = rank_measures(feats, top_k=top_k, settings=settings)
    table = recommendation_table(cands, feats, ranked, settings=settings)
    for i, col in enumerate(("name", "ward_code", "source")):
        table.insert(1 + i, col, cands[col].to_numpy())
    table = table.rename(columns={"hotspot_id": "candidate_id"})
    meta = cands[["candidate_id", "name", "ward_code", "x", "y"]].rename(columns={"candidate_id": "hotspot_id"})
    ranked = ranked.merge(meta, on="hotspot_id", how="left")
    ranked = ranked.merge(table[["candidate_id", "place_type", "patterns", "incidents"]].rename(
        columns={"candidate_id": "hotspot_id"}), on="hotspot_id", how="left")
    ranked = ranked.rename(columns={"hotspot_id": "candidate_id"})
    unknown_night = int(feats["night"].isna().sum())
    if unknown_night:
        notes.append(f"night-time pattern unknown for {unknown_night} of {len(feats)} places (fewer than "
                     f"{settings.min_timed} timed incidents: police.uk gives months only, never guessed)")
    if method == "kde":
        notes.append("cluster pattern not assessed: KDE has no significance test (use --method gistar or dbscan)")
    if not trends:
        notes.append("trend pattern not assessed (add --trends with 4 or more months)")
    table.attrs["params"] = {**table.attrs.get("params", {}), "hotspot_method": method,
                             "hotspot_params": hs.attrs.get("params", {}), "top_k": top_k,
                             "sensitive_in_mix": sensitive_incidents is not None,
                             "design_out_settings": feats.attrs.get("settings", {})}
    return table, ranked, notes


# ----------------------------------------------------------------------------
# edge: files, database, printing
# ----------------------------------------------------------------------------
def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``recommend`` sub-command."""
    p = subparsers.add_parser("recommend", help="Designing Out Crime measures for every hotspot, with evidence")
    p.add_argument("--method", choices=["kde", "gistar", "dbscan"], default="kde",
                   help="hotspot method (default kde, as allocate)")
    p.add_argument("--months", type=int, default=12,
                   help="latest months with real coverage to use (default 12; design changes are for lasting problems)")
    p.add_argument("--borough", default=None, help=f"borough GSS code (default {_DEFAULT_BOROUGH}, RBKC)")
    p.add_argument("--plan", help="allocate plan JSON: advise on its candidates with its hotspot settings and months")
    p.add_argument("--top", type=int, default=3, help="measures per hotspot (default 3)")
    p.add_argument("--out", help="write .geojson (one feature per hotspot) or .csv (one row per recommendation)")
    p.add_argument("--hotspot-share", type=float, default=0.05, help="KDE hotspots: densest share of the area (default 0.05)")
    p.add_argument("--cell-size", type=float, default=150.0, help="grid cell size in metres (default 150)")
    p.add_argument("--harm", choices=["cchi", "ons_css"], default="cchi", help="harm index (default cchi)")
    p.add_argument("--trends", action="store_true", help="add emerging-hotspot trend classes (4+ months)")
    p.add_argument("--include-sensitive", action="store_true",
                   help="add sensitive categories to each hotspot's mix (aggregated, counts under 5 shown as 'fewer than 5')")
    p.set_defaults(func=run)
    return p


def _out_kind(out: str | None) -> str | None:
    if out is None:
        return None
    suffix = Path(out).suffix.lower()
    if suffix in (".geojson", ".json"):
        return "geojson"
    if suffix == ".csv":
        return "csv"
    msg = f"--out was {out!r}; give a file ending .geojson (or .json) or .csv"
    raise TaskingError(msg)


def _geojson(table: gpd.GeoDataFrame, extra: dict[str, Any]) -> dict[str, Any]:
    fc = json.loads(table.to_crs(WGS84).to_json(na="null", drop_id=True))
    fc["name"] = "design_out_recommendations"
    fc["params"] = {**table.attrs.get("params", {}), **extra}
    fc["crs_note"] = "coordinates are WGS84 lon/lat (EPSG:4326); analysis was done in EPSG:27700"
    return fc


def run(args: argparse.Namespace) -> int:
    """Read the store, advise on every hotspot, write the file and print a summary; returns 0."""
    from spatial.config import settings_from_args
    from spatial.datasets import load_boroughs, load_wards
    from spatial.layers import stored_area_layer
    from spatial.store import connect
    from spatial.store.queries import incident_frame

    from .cli_allocate import _parks

    kind = _out_kind(args.out)
    if args.top < 1:
        msg = f"--top was {args.top}; give 1 or more measures per hotspot"
        raise TaskingError(msg)
    settings = settings_from_args(args)
    plan = read_plan(args.plan) if args.plan else None
    borough = args.borough or (plan or {}).get("borough") or _DEFAULT_BOROUGH
    if plan and plan.get("borough") and args.borough and args.borough != plan["borough"]:
        msg = f"--borough {args.borough} differs from the plan's borough {plan['borough']}; drop --borough"
        raise TaskingError(msg)
    wards = load_wards((borough,), data_dir=settings.data_dir)
    area = load_boroughs((borough,), data_dir=settings.data_dir)
    if wards.empty or area.empty:
        msg = f"--borough {borough!r} is not in the bundled boundaries; use one of E09000020, E09000033, E09000013"
        raise TaskingError(msg)
    engine = connect(settings.database_url)
    every = incident_frame(engine, include_sensitive=bool(args.include_sensitive))
    every = every[every[WARD_CODE].isin(wards["ward_code"])]
    sens = every[SENSITIVE].astype(bool)
    incidents = every[~sens]
    if incidents.empty:
        msg = (f"the store has no non-sensitive incidents in borough {borough}; "
               "run `hotspot-tasking ingest --bundled` first (or ingest your own data)")
        raise TaskingError(msg)
    months = plan["months"] if plan else coverage_months(incidents, args.months)
    incidents = incidents[incidents[MONTH].astype(str).isin(months)].reset_index(drop=True)
    if incidents.empty:
        msg = f"--plan {args.plan!r}: the store has no incidents in the plan's months {months}"
        raise TaskingError(msg)
    sensitive = every[sens & every[MONTH].astype(str).isin(months)].reset_index(drop=True) \
        if args.include_sensitive else None
    parks, parks_note = _parks(engine, area, settings.data_dir)
    estates = stored_area_layer(engine, "estates")
    if estates is not None:
        estates = estates.rename(columns={"area_id": "estate_id", "name": "estate_name"})
    method = plan["method"] if plan else args.method
    t0 = time.perf_counter()
    table, ranked, notes = build_recommendations(
        incidents, area=area, wards=wards, parks=parks, estates=estates, method=method,
        hotspot_share=plan["hotspot_share"] if plan else args.hotspot_share,
        cell_size_m=plan["cell_size_m"] if plan else args.cell_size,
        harm_index=plan["harm_index"] if plan else args.harm, top_k=args.top, trends=args.trends, months=months,
        candidate_ids=plan["candidate_ids"] if plan else None, sensitive_incidents=sensitive)
    seconds = time.perf_counter() - t0
    notes.append(f"parks: {parks_note}")
    notes.append("estates: council estates layer (stored)" if estates is not None else
                 "estates: none loaded (council data; `hotspot-tasking layers estates FILE ...`), so estates are "
                 "recognised only from location names")
    notes.append("each measure is a prompt for a site survey with a Designing Out Crime Officer, not a specification")
    extra = {"borough": borough, "months": months, "plan": args.plan, "n_incidents": len(incidents),
             "notes": notes}
    if kind == "geojson":
        Path(args.out).write_text(json.dumps(_geojson(table, extra), indent=1, default=str), encoding="utf-8")
    elif kind == "csv":
        from spatial.csv_safe import to_csv

        to_csv(ranked, args.out, index=False)
    _print_summary(table, ranked, months=months, n_incidents=len(incidents), method=method, notes=notes,
                   out=args.out, seconds=seconds, sensitive=bool(args.include_sensitive))
    return 0


def _print_summary(table: gpd.GeoDataFrame, ranked: pd.DataFrame, *, months: Sequence[str], n_incidents: int,
                   method: str, notes: Sequence[str], out: str | None, seconds: float, sensitive: bool) -> None:
    span = f"{months[0]}..{months[-1]}" if len(months) > 1 else (months[0] if months else "-")
    print(f"recommend: {len(table)} hotspots ({method}) from {n_incidents:,} non-sensitive incidents, {span}"
          + (" (+ sensitive categories in the mix, small counts suppressed)" if sensitive else "")
          + f" [{seconds:.1f} s]")
    by_place = table["place_type"].value_counts()
    print("  places: " + ", ".join(f"{k} {v}" for k, v in by_place.items()))
    top = ranked[ranked["rank"] == 1]["measure_id"].value_counts()
    print("  first-ranked lines: " + ", ".join(f"{k} {v}" for k, v in top.items()))
    for _, r in table.head(12).iterrows():
        pats = f" [{r['patterns']}]" if r["patterns"] else ""
        print(f"    {r['candidate_id']:<18} {r['place_type']:<10}{pats} -> {r['top_measure']}")
    if len(table) > 12:
        print(f"    ... {len(table) - 12} more in the output file" if out else f"    ... {len(table) - 12} more")
    for n in notes:
        print(f"  note: {n}")
    if out:
        print(f"  -> {out}")
