"""The Hotspots page's layers from one set of inputs (pure): ward harm, Gi*, KDE, DBSCAN, Designing Out Crime.

:func:`hotspot_layers` runs the ``spatial.hotspots`` methods the way the
command line does (``hotspot-tasking hotspots`` and ``recommend``): harm
weights from the Cambridge Crime Harm Index, 150 m cells over the borough,
KDE's densest 5 % of area, Gi* with permutation inference and false-discovery
control, DBSCAN at 75 m, and ranked Designing Out Crime measures for the
candidate places of the chosen hotspot method
(:func:`tasking.pipeline.build_recommendations`, so the place ids match the
tasking plan's).

The incidents come from :func:`ui.planning.read_inputs`, which reads only
non-sensitive rows: no sensitive incident can be in a point-derived layer.
A method that cannot run on the data (too few incidents for a KDE
bandwidth, no hot place to advise on) leaves its layer empty and says why in
``notes``; nothing is hidden.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal

import geopandas as gpd
import pandas as pd
import shapely

from spatial._errors import HotspotError
from spatial.analysis import compute_emerging, run_hotspot_method
from spatial.grids import square_grid
from spatial.harm import harm_weight
from spatial.hotspots import area_counts_from_incidents, league_table, time_profile
from spatial.low_months import league_incidents, league_note
from spatial.schema import CATEGORY, MONTH, SOURCE, X, Y
from tasking.pipeline import PlanInputs, build_recommendations
from tasking.resources import Roster

__all__ = ["GI_SHOWN", "MIN_EMERGING_MONTHS", "HotspotLayers", "hotspot_layers", "limit_to_wards", "CameraLayers",
           "camera_layers", "PlacePanel", "place_panel", "place_choices"]

#: Months of incidents needed before emerging-hotspot classes are computed (as ``recommend --trends``).
MIN_EMERGING_MONTHS: Final = 4

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
    #: One row per advised place (``tasking.pipeline.build_recommendations``), with geometry.
    places: gpd.GeoDataFrame
    #: One row per place and ranked measure.
    ranked: pd.DataFrame
    months: tuple[str, ...]
    n_incidents: int
    method: str
    notes: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    #: Grid cells with an emerging-hotspot pattern (``cell_id, trend_class, trend_z, n_hot, n_cold``);
    #: empty with fewer than :data:`MIN_EMERGING_MONTHS` months.
    emerging: gpd.GeoDataFrame | None = None
    #: Why the emerging layer is empty, or what it was computed from.
    emerging_note: str = ""
    #: Each method's whole result (every cell or cluster, with ``attrs["params"]``), for the GIS download.
    results: Mapping[str, gpd.GeoDataFrame] = field(default_factory=dict)
    #: Every cell's emerging class (cell id -> class; empty when not computed), for the hotspot panel.
    cell_classes: pd.Series | None = None
    #: The council's estates (``estate_id, estate_name``) or None when not loaded.
    estates: gpd.GeoDataFrame | None = None
    estates_note: str = ""
    #: Parks (the council's, or the registered parks as a DEMO reference) and what they are.
    parks: gpd.GeoDataFrame | None = None
    parks_note: str = ""
    #: Why the Gi* layer is empty when the area is too large for its permutations to pass FDR ("" otherwise).
    gi_note: str = ""


def gi_floor_note(params: Mapping[str, Any], n_shown: int) -> str:
    """Why Gi* shows nothing on a large area (its permutations' smallest p cannot pass FDR), or ``""``.

    Said when no cell is significant and FDR needs 10 or more cells at the smallest p (about 5,000 cells at
    9,999 permutations).

    Examples
    --------
    >>> gi_floor_note({"n_units": 42891, "permutations": 9999, "fdr_floor_units": 86}, 0)[:60]
    'Gi* finds no significant cell here: with 42,891 cells and 9,'
    >>> gi_floor_note({"n_units": 635, "permutations": 9999, "fdr_floor_units": 2}, 0)
    ''
    """
    floor = int(params.get("fdr_floor_units") or 0)
    if n_shown or floor < 10:  # a small area (RBKC: 635 cells, 2 at the floor) is not what stops it
        return ""
    return (f"Gi* finds no significant cell here: with {int(params.get('n_units', 0)):,} cells and "
            f"{int(params.get('permutations', 0)):,} permutations, the false-discovery control declares a hot spot "
            f"only when at least {floor:,} cells reach the smallest p-value a permutation test can give. Choose one "
            "district or a longer period; KDE hot cells and the clusters are not affected.")


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

    # months published low stay out of the ward league's counts and rates (they would lower every rate)
    league_inc, league_low = league_incidents(inc, low=inputs.low_months)
    if league_low:
        notes.append(league_note(league_low, kept_months=league_inc[MONTH].astype(str).nunique(),
                                 table="The ward league"))
    league = league_table(area_counts_from_incidents(league_inc, harm_index=harm_index),  # type: ignore[arg-type]
                          population=population, areas=list(inputs.wards["ward_code"]))
    keep = ["area_code", "count", "harm"] + (["harm_per_1000"] if "harm_per_1000" in league.columns else [])
    wards = inputs.wards[["ward_code", "ward_name", inputs.wards.geometry.name]].merge(
        league[keep].rename(columns={"area_code": "ward_code"}), on="ward_code", how="left")
    if "harm_per_1000" not in wards.columns:
        wards["harm_per_1000"] = float("nan")
    wards[["count", "harm"]] = wards[["count", "harm"]].fillna(0.0)

    grid = square_grid(inputs.area, cell_size_m=cell_size_m)
    k_full = g_full = d_full = None
    try:
        k, _ = run_hotspot_method("kde", inc, inputs.area, weights=weights, hotspot_share=hotspot_share, seed=seed,
                                  grid=grid)
        kde_cells = k.loc[k["is_hotspot"], ["cell_id", "density", "kde_count", k.geometry.name]].reset_index(drop=True)
        kde_params = k.attrs.get("params", {})
        k_full = k
    except HotspotError as exc:
        kde_cells, kde_params = _empty(["cell_id", "density", "kde_count"], crs), {}
        notes.append(f"KDE not computed: {exc}")
    try:
        g, _ = run_hotspot_method("gistar", inc, inputs.area, weights=weights, seed=seed, grid=grid)
        gi_cells = g.loc[g["gi_class"].astype(str).isin(GI_SHOWN),
                         ["cell_id", "gi_class", "gi_z", "harm", g.geometry.name]].reset_index(drop=True)
        gi_cells["gi_class"] = gi_cells["gi_class"].astype(str)
        gi_params = g.attrs.get("params", {})
        g_full = g
        gi_note = gi_floor_note(gi_params, int((g["gi_bin"] != 0).sum()))
        if gi_note:
            notes.append(gi_note)
    except HotspotError as exc:
        gi_cells, gi_params, gi_note = _empty(["cell_id", "gi_class", "gi_z", "harm"], crs), {}, ""
        notes.append(f"Gi* not computed: {exc}")
    try:
        d, _ = run_hotspot_method("dbscan", inc, inputs.area, weights=weights, seed=seed)
        clusters = d[["cluster_id", "n_incidents", "top_categories", d.geometry.name]].reset_index(drop=True)
        db_params = d.attrs.get("params", {})
        d_full = d
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
    emerging, em_note, classes, em_full = _emerging(inc, inputs, grid, harm_index=harm_index)
    notes.append(f"emerging hotspots: {em_note}")
    results = {name: r for name, r in (("gistar", g_full), ("kde", k_full), ("dbscan", d_full), ("emerging", em_full))
               if r is not None and len(r)}
    return HotspotLayers(
        results=results, wards=wards, gi_cells=gi_cells, kde_cells=kde_cells, clusters=clusters, places=places,
        ranked=ranked, months=inputs.months, n_incidents=len(inc), method=method, notes=tuple(notes),
        params={"harm_index": harm_index, "cell_size_m": cell_size_m, "kde": kde_params, "gistar": gi_params,
                "dbscan": db_params},
        emerging=emerging, emerging_note=em_note, cell_classes=classes, estates=inputs.estates,
        estates_note=inputs.estates_note, parks=inputs.parks, parks_note=inputs.parks_note, gi_note=gi_note)


#: The hotspot results the page offers as GIS downloads: key of ``HotspotLayers.results`` -> label.
GIS_DOWNLOADS: Final[dict[str, str]] = {"gistar": "Gi* hot and cold cells (every cell, with gi_bin)",
                                        "kde": "KDE hot cells (every cell)", "dbscan": "DBSCAN clusters",
                                        "emerging": "Emerging-hotspot classes (every cell)"}


def gis_result(layers: HotspotLayers, name: str, *, area_name: str, districts: Sequence[str],
               category_groups: Sequence[str] = ()) -> gpd.GeoDataFrame:
    """One method's whole result with the run's parameters as ``hotspot-tasking hotspots`` records them."""
    res = layers.results[name].copy()
    res.attrs["params"] = {**layers.results[name].attrs.get("params", {}), "method": name,
                           "months": list(layers.months), "category_groups": list(category_groups) or "all",
                           "harm_index": layers.params.get("harm_index"), "n_incidents_used": layers.n_incidents,
                           "sensitive_included": False, "area_name": area_name, "districts": list(districts)}
    return res


def _emerging(inc: pd.DataFrame, inputs: PlanInputs, grid: gpd.GeoDataFrame, *,
              harm_index: str) -> tuple[gpd.GeoDataFrame, str, pd.Series, gpd.GeoDataFrame | None]:
    """Cells with a pattern, a note, every cell's class (empty below the month minimum), and the whole result."""
    from spatial.low_months import incident_low_months, low_months_note, without_low_months

    months = sorted(inc[MONTH].astype(str).unique())
    low = incident_low_months(inc) if len(months) >= MIN_EMERGING_MONTHS else []
    months = without_low_months(months, low)  # months published low would fake a cold spell
    cols = ["cell_id", "trend_class", "trend_z", "n_hot", "n_cold"]
    if len(months) < MIN_EMERGING_MONTHS:
        note = (f"not computed: emerging-hotspot classes need incidents in at least {MIN_EMERGING_MONTHS} months "
                f"and this selection has {len(months)} ({', '.join(months)}). The bundled police.uk points cover June "
                "2018 only for RBKC, and July 2017 to June 2018 for Westminster and Hammersmith & Fulham: pick a "
                "longer period, one of those boroughs, or load more months")
        return _empty(cols, inputs.area.crs), note, pd.Series(dtype=object), None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "fewer than 10 periods" is said in the note instead
            em = compute_emerging(grid, unit_kind="grid", months=months, incidents=inc, area=inputs.area,
                                  harm_index=harm_index)
    except HotspotError as exc:
        return _empty(cols, inputs.area.crs), f"not computed: {exc}", pd.Series(dtype=object), None
    em = em.assign(trend_class=em["trend_class"].astype(str))
    classes = pd.Series(em["trend_class"].to_numpy(), index=em["cell_id"].astype(str).to_numpy())
    shown = em.loc[em["trend_class"] != "no pattern", [*cols, em.geometry.name]].reset_index(drop=True)
    note = (f"Gi* per month on harm-weighted 150 m cells with false-discovery control, then a Mann-Kendall trend, "
            f"over {len(months)} months ({months[0]} to {months[-1]})"
            + ("; fewer than 10 months, so the trend test has little power" if len(months) < 10 else "")
            + (f". {low_months_note(low)}" if low else ""))
    return shown, note, classes, em


# ----------------------------------------------------------------------------
# ward filter
# ----------------------------------------------------------------------------
def _in(gdf: gpd.GeoDataFrame | None, shape: Any) -> gpd.GeoDataFrame | None:
    if gdf is None or len(gdf) == 0:
        return gdf
    return gdf[gdf.intersects(shape)].reset_index(drop=True)


def limit_to_wards(layers: HotspotLayers, ward_codes: Collection[str]) -> HotspotLayers:
    """The layers limited to ``ward_codes`` (all of them when empty): the hotspots are still found borough-wide.

    Cells, clusters, estates and parks that touch a chosen ward are kept; places are kept by their
    ward; the ward choropleth keeps the chosen wards only.
    """
    codes = set(ward_codes)
    if not codes:
        return layers
    wards = layers.wards[layers.wards["ward_code"].isin(codes)].reset_index(drop=True)
    shape = wards.geometry.union_all()
    places = layers.places[layers.places["ward_code"].isin(codes)].reset_index(drop=True)
    ranked = layers.ranked[layers.ranked["candidate_id"].isin(set(places["candidate_id"]))].reset_index(drop=True)
    return replace(layers, wards=wards, gi_cells=_in(layers.gi_cells, shape), kde_cells=_in(layers.kde_cells, shape),
                   clusters=_in(layers.clusters, shape), places=places, ranked=ranked,
                   emerging=_in(layers.emerging, shape), estates=_in(layers.estates, shape),
                   parks=_in(layers.parks, shape))


# ----------------------------------------------------------------------------
# CCTV from the roster
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class CameraLayers:
    """Fixed cameras and deployable-camera sites as points (EPSG:27700) with their coverage radius."""

    #: ``site_id, source, radius_m`` points; empty when the roster lists none.
    fixed: gpd.GeoDataFrame
    deployable: gpd.GeoDataFrame
    #: What is missing and how to add it (empty when both layers are present).
    notes: tuple[str, ...]


def camera_layers(roster: Roster, *, borough: str | None = None) -> CameraLayers:
    """The roster's fixed CCTV cameras and deployable-camera mounting sites with their coverage radii.

    Camera positions are council data: the bundled roster has none, and then
    the layers are empty and ``notes`` says how to add them.  A roster of another
    borough than ``borough`` gives empty layers too.
    """
    def frame(sites: Sequence[Any], radius: float) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame({"site_id": [s.site_id for s in sites], "source": [s.source for s in sites],
                                 "radius_m": [float(radius)] * len(sites)},
                                geometry=gpd.points_from_xy([s.x for s in sites], [s.y for s in sites]),
                                crs="EPSG:27700")

    other = borough is not None and borough != roster.borough_code
    fixed = frame(() if other else roster.fixed_cctv.cameras, roster.fixed_cctv.coverage_radius_m)
    deploy = frame(() if other else roster.deployable_cctv.sites, roster.deployable_cctv.coverage_radius_m)
    notes = []
    if other:
        notes.append(f"CCTV layers are empty: the roster ({roster.source}) is for {roster.borough_code}, "
                     f"not {borough}.")
    else:
        if fixed.empty:
            notes.append("Fixed CCTV coverage: no camera positions in the roster (camera locations are council "
                         "data, not bundled). Add them under `fixed_cctv: cameras:` (id, x, y in British National "
                         "Grid) in your roster file and set HOTSPOT_ROSTER to it.")
        if deploy.empty:
            notes.append("Deployable CCTV: no surveyed mounting sites in the roster. Add them under "
                         "`deployable_cctv: sites:`; until then the Tasking plan uses demonstration sites at "
                         "hotspot centres and says so.")
    return CameraLayers(fixed=fixed, deployable=deploy, notes=tuple(notes))


# ----------------------------------------------------------------------------
# the hotspot panel
# ----------------------------------------------------------------------------
def place_choices(places: pd.DataFrame, *, ward_names: dict[str, str]) -> dict[str, str]:
    """Candidate id -> ``"1. Hogarth Road / Earls Court Road, Earl's Court ward (street)"``, hottest first.

    The name is the one people say (``place_name``, which names the ward); without it (an older table) the
    stored name and the ward.
    """
    if "place_name" in places.columns:
        return {str(c): f"{i}. {n} ({t})" for i, (c, n, t) in enumerate(
            zip(places["candidate_id"], places["place_name"], places["place_type"], strict=True), start=1)}
    return {str(c): f"{i}. {n} ({ward_names.get(w, w)}, {t})" for i, (c, n, w, t) in enumerate(
        zip(places["candidate_id"], places["name"], places["ward_code"], places["place_type"], strict=True), start=1)}


@dataclass(frozen=True)
class PlacePanel:
    """What the hotspot panel shows for one hot place."""

    candidate_id: str
    name: str
    #: Non-sensitive incidents in the place per month (index ``YYYY-MM``, the months given).
    trend: pd.Series
    trend_note: str
    #: The place's emerging-hotspot class (of the cell under its inside point), or None.
    emerging_class: str | None
    #: 7 x 24 aoristic counts (``spatial.hotspots.time_profile``), or None without timed incidents.
    profile: pd.DataFrame | None
    profile_note: str
    #: The place's ranked Designing Out Crime measures (``rank, measure, cpted_principle, why``).
    measures: pd.DataFrame
    #: Incidents per source in the place (so a SYNTHETIC source is named on screen).
    sources: dict[str, int]


def place_panel(layers: HotspotLayers, incidents: pd.DataFrame, candidate_id: str, *,
                months: Sequence[str], max_window_h: float = 1.0) -> PlacePanel:
    """Trend, time-of-day profile, emerging class and Designing Out Crime measures of one hot place (pure).

    Parameters
    ----------
    layers
        The Hotspots page's layers (the place's polygon is in ``layers.places``).
    incidents
        Non-sensitive incidents to count in the place (e.g. every month with coverage).
    candidate_id
        The place.
    months
        The months of the trend, in order (months without incidents in the place are 0).
    max_window_h
        Longest time window that counts as a real time (``spatial.hotspots.time_profile``).

    Raises
    ------
    HotspotError
        If ``candidate_id`` is not one of ``layers.places``.
    """
    hit = layers.places[layers.places["candidate_id"].astype(str) == str(candidate_id)]
    if hit.empty:
        msg = f"place {candidate_id!r} is not among the hot places of this selection; pick one from the list"
        raise HotspotError(msg)
    place = hit.iloc[0]
    geom = place.geometry
    inside = incidents[shapely.contains_xy(geom, incidents[X].to_numpy(float), incidents[Y].to_numpy(float))]
    per_month = inside[MONTH].astype(str).value_counts()
    trend = pd.Series([int(per_month.get(m, 0)) for m in months], index=list(months), name="incidents", dtype="int64")
    if len(months) < 2:
        trend_note = (f"one month of data ({months[0] if months else '-'}): no trend to show yet (the bundled "
                      "police.uk points for RBKC cover June 2018 only); load more months to see one")
    else:
        trend_note = f"non-sensitive incidents in the place per month, {months[0]} to {months[-1]}"
    emerging_class = None
    if layers.cell_classes is not None and len(layers.cell_classes) and layers.emerging is not None:
        emerging_class = _class_at(layers, geom)
    profile = time_profile(inside, max_window_h=max_window_h) if len(inside) else None
    sources = {str(k): int(v) for k, v in inside[SOURCE].astype(str).value_counts().items()} \
        if SOURCE in inside.columns else {}
    if profile is None or profile.attrs["n_used"] == 0:
        profile = None
        only_police = bool(sources) and all(s.startswith("police") for s in sources)
        profile_note = ("no times in police.uk data (it gives the month only), so there is no time-of-day profile "
                        "here; a council log with times of day gives one" if only_police or not sources else
                        f"no incident here has a time known to within {max_window_h:g} hour(s)")
    else:
        profile_note = (f"{profile.attrs['n_used']:,} incidents with a real time (within {max_window_h:g} h), "
                        f"spread over the clock hours they cover; {profile.attrs['n_excluded']:,} without one left out")
    lines = layers.ranked[layers.ranked["candidate_id"].astype(str) == str(candidate_id)]
    measures = lines.sort_values("rank")[["rank", "measure", "cpted_principle", "why"]].reset_index(drop=True)
    return PlacePanel(candidate_id=str(candidate_id), name=str(place.get("place_name") or place["name"]), trend=trend, trend_note=trend_note,
                      emerging_class=emerging_class, profile=profile, profile_note=profile_note, measures=measures,
                      sources=sources)


def _class_at(layers: HotspotLayers, geom: Any) -> str | None:
    """The emerging class of the cell under the place's inside point (``no pattern`` where no pattern cell is)."""
    pt = geom.representative_point()
    em = layers.emerging
    if em is not None and len(em):
        hit = em[em.contains(pt)]
        if len(hit):
            return str(hit["trend_class"].iloc[0])
    return "no pattern"
