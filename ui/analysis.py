"""The Hotspots page's layers from one set of inputs (pure): ward harm, Gi*, KDE, DBSCAN, Designing Out Crime.

:func:`hotspot_layers` runs the ``spatial.hotspots`` methods the way the
command line does (``hotspot-tasking hotspots`` and ``recommend``): harm
weights from the Cambridge Crime Harm Index, 150 m cells over the borough,
KDE's densest 5 % of area, Gi* with permutation inference and false-discovery
control, DBSCAN at 75 m, and ranked Designing Out Crime measures for the
candidate places of the chosen hotspot method
(:func:`tasking.cli_recommend.build_recommendations`, so the place ids match the
tasking plan's).

The incidents come from :func:`ui.planning.read_inputs`, which reads only
non-sensitive rows: no sensitive incident can be in a point-derived layer.
A method that cannot run on the data (too few incidents for a KDE
bandwidth, no hot place to advise on) leaves its layer empty and says why in
``notes``; nothing is hidden.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

import geopandas as gpd
import pandas as pd

from spatial._errors import HotspotError
from spatial.grids import count_in_cells, square_grid
from spatial.harm import harm_weight
from spatial.hotspots import area_counts_from_incidents, density_clusters, gistar, kde, league_table
from spatial.schema import CATEGORY
from tasking.cli_recommend import build_recommendations

from .planning import PlanInputs

__all__ = ["GI_SHOWN", "HotspotLayers", "hotspot_layers"]

#: Gi* classes drawn as hot cells (95 % and 99 % confidence after false-discovery control).
GI_SHOWN: Final = ("hot 99", "hot 95")


def _empty(columns: list[str], crs: Any) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=crs)


@dataclass(frozen=True)
class HotspotLayers:
    """Everything the Hotspots page draws, in EPSG:27700."""

    #: Ward polygons with ``ward_code, ward_name, count, harm, harm_per_1000`` (NaN without population).
    wards: gpd.GeoDataFrame
    #: Gi* cells in :data:`GI_SHOWN`: ``cell_id, gi_class, gi_z, harm``.
    gi_cells: gpd.GeoDataFrame
    #: KDE hotspot cells: ``cell_id, density, kde_count``.
    kde_cells: gpd.GeoDataFrame
    #: DBSCAN cluster polygons: ``cluster_id, n_incidents, top_categories``.
    clusters: gpd.GeoDataFrame
    #: One row per advised place (``tasking.cli_recommend.build_recommendations``), with geometry.
    places: gpd.GeoDataFrame
    #: One row per place and ranked measure.
    ranked: pd.DataFrame
    months: tuple[str, ...]
    n_incidents: int
    method: str
    notes: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)


def hotspot_layers(inputs: PlanInputs, *, method: Literal["kde", "gistar", "dbscan"] = "kde",
                   harm_index: str = "cchi", cell_size_m: float = 150.0, hotspot_share: float = 0.05,
                   population: pd.Series | None = None, top_k: int = 3, seed: int = 12345) -> HotspotLayers:
    """Every layer of the Hotspots page from ``inputs`` (non-sensitive incidents of one borough and period).

    Parameters
    ----------
    inputs
        From :func:`ui.planning.read_inputs`.
    method
        Hotspot method whose places get Designing Out Crime advice (``kde``
        gives the tasking plan's places).
    harm_index
        ``cchi`` or ``ons_css`` (``spatial/data/harm_weights.csv``).
    cell_size_m, hotspot_share, seed
        Grid cell size, KDE share of area, Gi* permutation seed (as ``allocate``).
    population
        Residents per ward code (``spatial.hotspots.load_population``) for harm per 1,000.
    top_k
        Measures per place.
    """
    inc = inputs.incidents
    crs = inputs.area.crs
    notes: list[str] = []
    weights = harm_weight(inc[CATEGORY], index=harm_index)  # type: ignore[arg-type]

    league = league_table(area_counts_from_incidents(inc, harm_index=harm_index),  # type: ignore[arg-type]
                          population=population, areas=list(inputs.wards["ward_code"]))
    keep = ["area_code", "count", "harm"] + (["harm_per_1000"] if "harm_per_1000" in league.columns else [])
    wards = inputs.wards[["ward_code", "ward_name", inputs.wards.geometry.name]].merge(
        league[keep].rename(columns={"area_code": "ward_code"}), on="ward_code", how="left")
    if "harm_per_1000" not in wards.columns:
        wards["harm_per_1000"] = float("nan")
    wards[["count", "harm"]] = wards[["count", "harm"]].fillna(0.0)

    grid = square_grid(inputs.area, cell_size_m=cell_size_m)
    try:
        k = kde(inc, grid, weights=weights, hotspot_area_share=hotspot_share)
        kde_cells = k.loc[k["is_hotspot"], ["cell_id", "density", "kde_count", k.geometry.name]].reset_index(drop=True)
        kde_params = k.attrs.get("params", {})
    except HotspotError as exc:
        kde_cells, kde_params = _empty(["cell_id", "density", "kde_count"], crs), {}
        notes.append(f"KDE not computed: {exc}")
    try:
        g = gistar(count_in_cells(inc, grid, weights=weights), value_col="harm", seed=seed)
        gi_cells = g.loc[g["gi_class"].astype(str).isin(GI_SHOWN),
                         ["cell_id", "gi_class", "gi_z", "harm", g.geometry.name]].reset_index(drop=True)
        gi_cells["gi_class"] = gi_cells["gi_class"].astype(str)
        gi_params = g.attrs.get("params", {})
    except HotspotError as exc:
        gi_cells, gi_params = _empty(["cell_id", "gi_class", "gi_z", "harm"], crs), {}
        notes.append(f"Gi* not computed: {exc}")
    try:
        d = density_clusters(inc, weights=weights)
        clusters = d[["cluster_id", "n_incidents", "top_categories", d.geometry.name]].reset_index(drop=True)
        db_params = d.attrs.get("params", {})
    except HotspotError as exc:
        clusters, db_params = _empty(["cluster_id", "n_incidents", "top_categories"], crs), {}
        notes.append(f"DBSCAN not computed: {exc}")
    try:
        places, ranked, rec_notes = build_recommendations(
            inc, area=inputs.area, wards=inputs.wards, parks=inputs.parks, estates=inputs.estates, method=method,
            hotspot_share=hotspot_share, cell_size_m=cell_size_m, harm_index=harm_index, top_k=top_k,
            months=inputs.months, seed=seed)
        notes.extend(rec_notes)
    except HotspotError as exc:
        places = _empty(["candidate_id", "name", "ward_code", "place_type", "top_measure", "recommendations"], crs)
        ranked = pd.DataFrame(columns=["candidate_id", "rank", "measure", "cpted_principle", "why"])
        notes.append(f"Designing Out Crime advice not computed: {exc}")
    notes.append(f"parks: {inputs.parks_note}")
    return HotspotLayers(
        wards=wards, gi_cells=gi_cells, kde_cells=kde_cells, clusters=clusters, places=places, ranked=ranked,
        months=inputs.months, n_incidents=len(inc), method=method, notes=tuple(notes),
        params={"harm_index": harm_index, "cell_size_m": cell_size_m, "kde": kde_params, "gistar": gi_params,
                "dbscan": db_params})
