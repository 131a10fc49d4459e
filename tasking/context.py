"""The area context of the application layer: "this store, this area", in one frozen object.

Every pipeline of the house (a plan, Designing Out Crime advice, hotspots for
a period, emerging classes, the forecast, the review, the pack's inputs) works
on one area of one store.  :func:`open_area` resolves the area (``--area NAME``,
the area picker, or the active area of the store), reads its layers once
(districts, wards with their vintage, LSOAs with population, the outline and
the 250 m margin), its roster (``None`` when the area has none yet) and the
store's data version, and returns an :class:`AreaContext`; the command line
(:mod:`hotspot_cli`) and the dashboard (:mod:`ui.service`) both pass it down
instead of a borough code.

The *scope* of a context is the districts a plan or a map covers: by default
the districts of the roster's home wards (the bundled RBKC roster's wards are
all in Kensington and Chelsea, so RBKC plans are exactly what they always
were), or every district of the area when it has no roster; ``--borough`` /
``--district`` CODE narrows it to one district of the area (:meth:`AreaContext.narrow`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Final

import geopandas as gpd
import pandas as pd
import shapely
import yaml
from sqlalchemy import Engine, func, select

from spatial.area_profiles import DEFAULT_AREA, AreaLayers, AreaProfile, area_layers, resolve_area

from ._errors import TaskingError
from .resources import Patroller, Roster, load_roster, roster_from_mapping

if TYPE_CHECKING:
    from spatial.store.forecast_choices import DbChoiceStore

__all__ = ["AOI_MARGIN_M", "AreaContext", "context_version", "data_version", "open_area", "roster_of", "scope_key"]

#: The margin around the area's outline that ingest keeps (metres).
AOI_MARGIN_M: Final = 250.0
#: Longest meeting key the store holds (``meetings.borough`` is ``String(12)``).
_KEY_LEN: Final = 12


def data_version(engine: Engine) -> str:
    """A text that changes whenever the data behind a plan or a hotspot map changes.

    It combines the latest ingest id and the number of ingests (every ingest,
    complete or not, gets a row) with the row count and size of the stored
    estates and parks layers, and the stored area profiles (a new area or
    roster).  Cached results are keyed on it, so a new ingest, layer or roster
    is picked up at the next page run without a restart.
    """
    from spatial.store import tables as T

    with engine.connect() as conn:
        last, n = conn.execute(select(func.max(T.ingests.c.ingest_id), func.count()).select_from(T.ingests)).one()
        layers = conn.execute(
            select(T.area_layers.c.layer, func.count(), func.sum(func.length(T.area_layers.c.geom_wkb)))
            .group_by(T.area_layers.c.layer).order_by(T.area_layers.c.layer)).all()
    parts = [f"ingest {last or 0}/{n}"] + [f"{layer} {k}/{size or 0}" for layer, k, size in layers]
    return "; ".join(parts)


def context_version(engine: Engine, name: str) -> str:
    """The version of area ``name`` in the store: the data version (:func:`data_version`) and a digest of the
    area's stored profile (a new roster changes it)."""
    return f"{data_version(engine)}; area {name} {_profile_version(engine, name)}"


def _profile_version(engine: Engine, name: str) -> str:
    """A short digest of the stored profile of area ``name`` (empty for a bundled area never stored)."""
    from spatial.store import tables as T

    with engine.connect() as conn:
        text = conn.execute(select(T.area_profiles.c.profile_json).where(T.area_profiles.c.name == name)).scalar()
    return hashlib.sha256(str(text).encode()).hexdigest()[:12] if text else ""


def roster_of(profile: AreaProfile, override: str | Path | None = None) -> Roster | None:
    """The area's roster: ``override`` (a file) when given, else the profile's stored or bundled roster, else None.

    Raises
    ------
    TaskingError
        If the roster cannot be read (the message names the file or the area and the key).
    """
    if override:
        return load_roster(override)
    if profile.roster_yaml:
        where = f"roster of area {profile.name!r}"
        try:
            data = yaml.safe_load(profile.roster_yaml)
        except yaml.YAMLError as exc:
            msg = f"{where} is not valid YAML: {exc}"
            raise TaskingError(msg) from exc
        if not isinstance(data, dict):
            msg = f"{where} is not a mapping of roster settings"
            raise TaskingError(msg)
        return roster_from_mapping(data, where=where)
    if profile.roster_path:
        repo = Path(__file__).resolve().parent.parent
        path = repo / profile.roster_path
        return load_roster(path if path.is_file() else None)
    return None


def scope_key(profile: AreaProfile, districts: Sequence[str]) -> str:
    """The key a plan and its meeting are stored under: the district's GSS code when the scope is one district,
    else the area's name (or, for a name longer than 12 characters, ``A-`` and a digest of it).

    Examples
    --------
    >>> from spatial.area_profiles import bundled_profiles
    >>> wk = bundled_profiles()["west-kent"]
    >>> scope_key(wk, ["E07000115"]), scope_key(wk, wk.district_codes)
    ('E07000115', 'west-kent')
    """
    if len(districts) == 1:
        return str(districts[0])
    if len(profile.name) <= _KEY_LEN:
        return profile.name
    return "A-" + hashlib.sha256(profile.name.encode()).hexdigest()[:_KEY_LEN - 2]


@dataclass(frozen=True, eq=False)
class AreaContext:
    """One store and one area, as every pipeline needs them (read once, never changed).

    Attributes
    ----------
    engine
        The store (``None`` for a context without a database, e.g. reading bundled layers only).
    profile
        The area's :class:`spatial.area_profiles.AreaProfile`.
    layers
        Every district, ward and LSOA of the area (EPSG:27700; LSOAs with ``population``/``homes``).
    roster
        The area's roster, or ``None`` when it has none (``hotspot-tasking roster init --area NAME``).
    data_dir
        The bundled data folder (``None``: the repository's ``data/``).
    version
        The store's data version (:func:`data_version`) plus the profile's digest: cache key of every result.
    districts
        The scope: the districts a plan, a hotspot map or a review covers (a subset of the area's).
    """

    engine: Engine | None
    profile: AreaProfile
    layers: AreaLayers
    roster: Roster | None
    data_dir: Path | None
    version: str
    districts: tuple[str, ...]
    _cache: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    # ------------------------------------------------------------------ names
    @property
    def name(self) -> str:
        """The area's short name (``rbkc``, ``west-kent``)."""
        return self.profile.name

    @property
    def label(self) -> str:
        """The name of the scope shown to people: the district's name for one district, else the area's label."""
        if len(self.districts) == 1:
            names = dict(zip(self.layers.districts["borough_code"], self.layers.districts["borough_name"]))
            return str(names.get(self.districts[0], self.profile.label))
        return self.profile.label

    @property
    def key(self) -> str:
        """The key plans and meetings of the scope are stored under (:func:`scope_key`)."""
        return scope_key(self.profile, self.districts)

    @property
    def ward_vintage(self) -> str:
        """The ward layer's vintage label ("2013 wards")."""
        return self.profile.ward_vintage

    @property
    def lsoa_vintage(self) -> str:
        """The LSOA layer's vintage label ("2021 LSOAs")."""
        return self.profile.lsoa_vintage

    @property
    def district_names(self) -> dict[str, str]:
        """GSS code -> name of every district of the area."""
        return {str(c): str(n) for c, n in zip(self.layers.districts["borough_code"],
                                                self.layers.districts["borough_name"])}

    # ------------------------------------------------------------------ layers of the scope
    @property
    def wards(self) -> gpd.GeoDataFrame:
        """The scope's wards: ``ward_code, ward_name, borough_code, borough_name`` (EPSG:27700)."""
        w = self.layers.wards
        return w[w["borough_code"].isin(self.districts)].reset_index(drop=True).copy()

    @property
    def lsoas(self) -> gpd.GeoDataFrame:
        """The scope's LSOAs with ``population`` and ``homes`` (NaN where not given)."""
        ls = self.layers.lsoas
        return ls[ls["borough_code"].isin(self.districts)].reset_index(drop=True).copy()

    @property
    def outline(self) -> gpd.GeoDataFrame:
        """The scope's district outlines: ``borough_code, borough_name`` (what ``load_boroughs`` gives)."""
        d = self.layers.districts
        return d[d["borough_code"].isin(self.districts)].reset_index(drop=True).copy()

    def margin(self, metres: float = AOI_MARGIN_M) -> shapely.Geometry:
        """The whole area's outline (its wards) grown by ``metres``: the area of interest of ingest."""
        return self.layers.outline().buffer(metres)

    def ward_population(self) -> pd.Series:
        """Usual residents per ward of the area (index ``ward_code``).

        The bundled RBKC area reads its best-fit ward file (Census 2021, as
        always); any other area sums its LSOAs' population into the ward holding
        each LSOA's representative point (wards without LSOA population are left out).
        """
        if self.profile.name == DEFAULT_AREA:
            from spatial.hotspots import load_population

            return load_population("ward", data_dir=self.data_dir)
        ls = self.layers.lsoas
        ls = ls[ls["population"].notna()]
        if ls.empty:
            return pd.Series(dtype=float, name="population")
        pts = gpd.GeoDataFrame({"population": ls["population"].to_numpy(float)},
                               geometry=ls.geometry.representative_point().to_numpy(), crs=ls.crs)
        j = pts.sjoin(self.layers.wards[["ward_code", "geometry"]], predicate="within", how="inner")
        return j.groupby("ward_code")["population"].sum().astype(float).rename("population")

    # ------------------------------------------------------------------ scope and roster
    def narrow(self, district: str | None) -> AreaContext:
        """The same context limited to one district of the area (``None``: unchanged).

        Raises
        ------
        TaskingError
            If ``district`` is not one of the area's districts (the message lists them).
        """
        if not district:
            return self
        if district not in self.profile.district_codes:
            listed = ", ".join(f"{d.code} ({d.name})" for d in self.profile.districts)
            msg = f"district {district!r} is not in area {self.name!r}; its districts are {listed}"
            raise TaskingError(msg)
        return replace(self, districts=(district,), roster=_scoped_roster(self.roster, self.layers, (district,)))

    def with_districts(self, codes: Sequence[str]) -> AreaContext:
        """The same context covering ``codes`` (each must be a district of the area)."""
        bad = [c for c in codes if c not in self.profile.district_codes]
        if bad or not codes:
            listed = ", ".join(self.profile.district_codes)
            msg = f"districts {list(codes)} are not all in area {self.name!r}; its districts are {listed}"
            raise TaskingError(msg)
        return replace(self, districts=tuple(codes), roster=_scoped_roster(self.roster, self.layers, tuple(codes)))

    def require_roster(self) -> Roster:
        """The roster, or a :class:`TaskingError` saying how to make one."""
        if self.roster is None:
            msg = (f"area {self.name!r} has no roster; make a starter roster (one patrol officer per ward, every "
                   f"number an assumption) with `hotspot-tasking roster init --area {self.name}`, or give your own "
                   "with --roster FILE")
            raise TaskingError(msg)
        if not self.roster.agents:
            names = ", ".join(self.district_names.get(d, d) for d in self.districts)
            msg = (f"no patroller of the roster ({self.roster.source}) has a home ward in {names}: the scope's plan "
                   "would have nobody to send; add officers with home wards there, or plan the whole area")
            raise TaskingError(msg)
        return self.roster

    def with_roster(self, roster: Roster | None) -> AreaContext:
        """The context with another roster (scope recomputed from its home wards)."""
        return replace(self, roster=roster, districts=_default_scope(self.profile, self.layers, roster))

    def choice_store(self) -> DbChoiceStore | None:
        """Where the forecaster chosen for this area is kept (the area's store), or ``None`` without a store."""
        from spatial.store.forecast_choices import DbChoiceStore

        return DbChoiceStore(self.engine) if self.engine is not None else None

    def low_months(self) -> tuple[str, ...]:
        """The area's months published low (:mod:`spatial.low_months`), found on every stored non-sensitive
        incident of its wards, whatever the scope: one district alone may be too small to show them
        (Tonbridge and Malling's 2018-11 is 5 of 6 categories below, the whole of West Kent's 6 of 6)."""
        cached = self._cache.get("low_months")
        if not isinstance(cached, tuple):
            from spatial.low_months import incident_low_months

            inc = self.incidents() if self.engine is not None else pd.DataFrame()
            held = inc["month"].astype(str).nunique() if len(inc) else 0
            cached = tuple(incident_low_months(inc)) if held >= 3 else ()
            self._cache["low_months"] = cached
        return cached

    def incidents(self) -> pd.DataFrame:
        """Every stored non-sensitive incident of the whole area (read once per context; a copy each call)."""
        from spatial.schema import WARD_CODE
        from spatial.store.queries import incident_frame

        if self.engine is None:
            msg = f"area {self.name!r}: no store is open, so there are no incidents to read"
            raise TaskingError(msg)
        cached = self._cache.get("incidents")
        if not isinstance(cached, pd.DataFrame):
            inc = incident_frame(self.engine, include_sensitive=False)
            cached = inc[inc[WARD_CODE].isin(self.layers.wards["ward_code"])].reset_index(drop=True)
            self._cache["incidents"] = cached
        return cached


def _scoped_roster(roster: Roster | None, layers: AreaLayers, districts: Sequence[str]) -> Roster | None:
    """The roster of a narrower scope: the patrollers whose home ward is in ``districts``, and those without one.

    A West Kent starter roster has a patrol officer in every ward of the three districts; a plan for
    Tonbridge and Malling alone plans its own officers, not Sevenoaks' (whose home wards are not in
    its wards layer).  Patrollers without a home ward (parks police) are kept.  ``None`` stays ``None``.
    """
    if roster is None:
        return None
    by_ward = dict(zip(layers.wards["ward_code"].astype(str), layers.wards["borough_code"].astype(str), strict=True))
    keep = set(districts)

    def mine(a: Patroller) -> bool:
        return a.home_ward_code is None or by_ward.get(str(a.home_ward_code)) in keep

    wardens = tuple(a for a in roster.wardens if mine(a))
    parks = tuple(a for a in roster.parks_police if mine(a))
    if len(wardens) == len(roster.wardens) and len(parks) == len(roster.parks_police):
        return roster
    return replace(roster, wardens=wardens, parks_police=parks)


def _default_scope(profile: AreaProfile, layers: AreaLayers, roster: Roster | None) -> tuple[str, ...]:
    """The districts of the roster's home wards (in the area's order), else every district of the area."""
    codes = tuple(str(c) for c in layers.districts["borough_code"]) or profile.district_codes
    if roster is None:
        return codes
    home = {a.home_ward_code for a in roster.agents if a.home_ward_code}
    by_ward = dict(zip(layers.wards["ward_code"], layers.wards["borough_code"]))
    mine = {by_ward[w] for w in home if w in by_ward}
    if not mine and roster.borough_code in codes:
        mine = {roster.borough_code}
    return tuple(c for c in codes if c in mine) or codes


def open_area(engine: Engine | None, name: str | None = None, data_dir: str | Path | None = None, *,
              roster: str | Path | None = None, district: str | None = None) -> AreaContext:
    """Open area ``name`` (default: the store's active area) of the store ``engine``.

    Parameters
    ----------
    engine
        The store (``None``: bundled areas only, no data version).
    name
        The area's name (``--area``); ``None`` for the active area.
    data_dir
        Bundled data folder (default: the repository's ``data/``).
    roster
        A roster file to use instead of the area's own (``--roster``).
    district
        Narrow the scope to this district of the area (``--borough``/``--district``).

    Raises
    ------
    HotspotError
        If there is no such area (listing the areas), its layers cannot be read,
        the roster is invalid, or ``district`` is not one of its districts.
    """
    profile = resolve_area(engine, name)
    folder = Path(data_dir) if data_dir is not None else None
    layers = area_layers(engine, profile, data_dir=folder)
    ros = roster_of(profile, roster)
    version = ""
    if engine is not None:
        version = context_version(engine, profile.name)
    ctx = AreaContext(engine=engine, profile=profile, layers=layers, roster=ros, data_dir=folder, version=version,
                      districts=_default_scope(profile, layers, ros))
    return ctx.narrow(district)
