"""Area profiles: the area a deployment covers, as data, not code.

An :class:`AreaProfile` names the area and says where its layers come from:
its districts (boroughs, with GSS codes and outlines), its ward layer and LSOA
layer (any vintage, with the vintage shown: "2013 wards"), population (and
homes, where a stock layer gives them) by LSOA, the police force(s), the
roster, its own layers (estates, parks, CCTV, mounting sites), extra sensitive
categories and the retention period.

Two areas are bundled (``spatial/data/areas/*.yaml``; their layers are in
``data/``): ``rbkc``, the default (Kensington and Chelsea with its two
neighbours Westminster and Hammersmith & Fulham, exactly the layers the
product has always used), and ``west-kent`` (Sevenoaks, Tonbridge and Malling,
Tunbridge Wells).  A council or housing association creates its own from ONS
boundary files (:func:`read_area_layers` then :func:`save_area`); the profile
and its polygons are stored in the database (``area_profiles``,
``area_units``) so every process sees them, with one area marked active.

Reading boundary files, the common ONS column names are recognised
(``GSS_CODE``, ``WDyyCD``/``WDyyNM``, ``LSOA21CD``/``LSOA11CD``, ``LADyyCD``,
``LAGSSCODE``, ``code``/``name``); any can be overridden, and a file whose
columns are not recognised gets an error listing the columns it has.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import yaml
from sqlalchemy import Engine, delete, insert, select, update

from ._errors import HotspotError
from .schema import BNG

__all__ = [
    "District", "LayerSource", "AreaProfile", "AreaLayers", "DEFAULT_AREA", "BUNDLED_AREAS_DIR",
    "bundled_profiles", "read_boundary", "read_population", "read_area_layers", "derive_districts",
    "vintage_label", "save_area", "list_areas", "get_area", "use_area", "active_area_name", "resolve_area",
    "area_layers", "valid_area_name", "store_roster",
]

#: The area used when none is chosen: the bundled RBKC area (today's behaviour).
DEFAULT_AREA = "rbkc"

#: Folder of the bundled area profiles.
BUNDLED_AREAS_DIR = Path(__file__).resolve().parent / "data" / "areas"

_NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,59}")


def valid_area_name(name: str) -> str:
    """``name`` if it is a valid area name (lower-case letters, digits and hyphens, up to 60)."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        msg = (f"area name {name!r} is not valid: use lower-case letters, digits and hyphens "
               "(up to 60, starting with a letter or digit), e.g. west-kent")
        raise HotspotError(msg)
    return name


@dataclass(frozen=True)
class District:
    """A district or borough of the area: ONS GSS code (``E07000115``) and name."""

    code: str
    name: str


@dataclass(frozen=True)
class LayerSource:
    """Where a bundled layer's file is (relative to the data folder) and its vintage label."""

    file: str
    vintage: str


@dataclass(frozen=True)
class AreaProfile:
    """One area, as data.

    Attributes
    ----------
    name
        Short name used on the command line (``rbkc``, ``west-kent``).
    label
        Name shown to people ("West Kent (Sevenoaks, Tonbridge and Malling, Tunbridge Wells)").
    districts
        The districts/boroughs whose wards and LSOAs make up the area.
    ward_vintage, lsoa_vintage
        Labels of the layers' vintages ("2013 wards", "2021 LSOAs").
    police_forces
        police.uk force slugs of the area (``metropolitan``, ``kent``).
    roster_yaml
        The area's roster as YAML text (``None``: no roster yet; ``hotspot-tasking roster init``).
    roster_path
        Or a bundled roster file, relative to the repository (``tasking/data/rbkc_roster.yaml``).
    own_layers
        The area's own layer kinds, loaded by the user (``estates``, ``parks``, ``cctv``, ``sites``).
    extra_sensitive
        Category slugs this area also treats as sensitive (never shown as points).
    retention_months
        Retention period of the area's records (``None``: the deployment's setting).
    not_asb_policy
        The organisation's policy that says which reports are not ASB (cited wherever they are counted apart;
        ``None``: "the organisation's own policy", with how to name it).
    bundled
        True for the profiles shipped in ``spatial/data/areas``.
    wards, lsoas, boundaries, population
        Bundled areas only: the layer files under ``data/`` (created areas store theirs in ``area_units``).
    population_code_column, population_value_column
        Columns of the bundled population CSV.
    incident_sources, aggregate_sources
        Bundled areas only: what ``ingest --bundled`` loads (folders/files under ``data/``; MPS tables).
    """

    name: str
    label: str
    districts: tuple[District, ...]
    ward_vintage: str
    lsoa_vintage: str
    police_forces: tuple[str, ...] = ()
    roster_yaml: str | None = None
    roster_path: str | None = None
    own_layers: tuple[str, ...] = ()
    extra_sensitive: tuple[str, ...] = ()
    retention_months: int | None = None
    not_asb_policy: str | None = None
    bundled: bool = False
    wards: str | None = None
    lsoas: str | None = None
    boundaries: str | None = None
    population: str | None = None
    population_code_column: str | None = None
    population_value_column: str | None = None
    incident_sources: tuple[str, ...] = ()
    aggregate_sources: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        valid_area_name(self.name)
        if not self.districts:
            msg = f"area {self.name!r} has no districts; give at least one (GSS code and name)"
            raise HotspotError(msg)

    @property
    def district_codes(self) -> tuple[str, ...]:
        return tuple(d.code for d in self.districts)

    def as_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["districts"] = [dataclasses.asdict(x) for x in self.districts]
        return d

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict, *, where: str = "<profile>") -> AreaProfile:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            msg = f"{where}: unknown area profile field(s) {unknown}; known fields are {sorted(known)}"
            raise HotspotError(msg)
        kw = dict(data)
        try:
            kw["districts"] = tuple(District(str(x["code"]), str(x["name"])) for x in data.get("districts") or ())
        except (KeyError, TypeError) as exc:
            msg = f"{where}: every district needs a code and a name ({exc})"
            raise HotspotError(msg) from exc
        for key in ("police_forces", "own_layers", "extra_sensitive", "incident_sources", "aggregate_sources",
                    "notes"):
            if key in kw and kw[key] is not None:
                kw[key] = tuple(str(v) for v in kw[key])
        for key in ("name", "label", "ward_vintage", "lsoa_vintage"):
            if key not in kw:
                msg = f"{where}: the area profile has no {key!r}"
                raise HotspotError(msg)
        return cls(**kw)

    @classmethod
    def from_json(cls, text: str, *, where: str = "<stored profile>") -> AreaProfile:
        return cls.from_dict(json.loads(text), where=where)


@dataclass
class AreaLayers:
    """An area's polygons in EPSG:27700, with canonical columns.

    * ``districts``: ``borough_code, borough_name``;
    * ``wards``: ``ward_code, ward_name, borough_code, borough_name``;
    * ``lsoas``: ``lsoa_code, lsoa_name, borough_code, population, homes`` (population/homes may be NaN).
    """

    districts: gpd.GeoDataFrame
    wards: gpd.GeoDataFrame
    lsoas: gpd.GeoDataFrame

    def outline(self) -> shapely.Geometry:
        """The area's outline: the union of its wards."""
        return shapely.union_all(np.asarray(self.wards.geometry.values, dtype=object))


# --------------------------------------------------------------------------- bundled profiles


@functools.cache
def _bundled(folder: Path) -> dict[str, AreaProfile]:
    out = {}
    for path in sorted(folder.glob("*.yaml")):
        with path.open(encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
        profile = AreaProfile.from_dict({**data, "bundled": True}, where=str(path))
        if profile.name != path.stem:
            msg = f"{path}: the profile is named {profile.name!r} but the file {path.stem!r}; make them the same"
            raise HotspotError(msg)
        out[profile.name] = profile
    return out


def bundled_profiles() -> dict[str, AreaProfile]:
    """The bundled area profiles by name (``rbkc``, ``west-kent``)."""
    return dict(_bundled(BUNDLED_AREAS_DIR))


# --------------------------------------------------------------------------- reading boundary files

#: Column name patterns (case-insensitive, whole name) by layer and role, in order of preference.
_PATTERNS: dict[str, dict[str, tuple[str, ...]]] = {
    "wards": {
        "code": (r"GSS_CODE", r"WD\d{2}CD", r"ward_code", r"code"),
        "name": (r"WD\d{2}NM", r"NAME", r"ward_name", r"name"),
        "district": (r"LAGSSCODE", r"LAD\d{2}CD", r"lad_code", r"borough_code", r"district_code"),
        "district_name": (r"DISTRICT", r"LAD\d{2}NM", r"lad_name", r"borough_name", r"district_name", r"BOROUGH"),
    },
    "lsoas": {
        "code": (r"LSOA21CD", r"LSOA11CD", r"LSOA\d{2}CD", r"lsoa_code", r"code"),
        "name": (r"LSOA21NM", r"LSOA11NM", r"LSOA\d{2}NM", r"lsoa_name", r"name"),
        "district": (r"LAD\d{2}CD", r"LAGSSCODE", r"lad_code", r"borough_code", r"district_code"),
    },
    "districts": {
        "code": (r"LAD\d{2}CD", r"GSS_CODE", r"gss_code", r"LAGSSCODE", r"borough_code", r"lad_code",
                 r"district_code", r"code"),
        "name": (r"LAD\d{2}NM", r"NAME", r"borough_name", r"lad_name", r"district_name", r"name"),
    },
}


def _find_column(columns: Sequence[str], patterns: Sequence[str]) -> str | None:
    for pat in patterns:
        rx = re.compile(pat, re.IGNORECASE)
        for c in columns:
            if rx.fullmatch(str(c)):
                return str(c)
    return None


def vintage_label(layer: str, column: str | None, path: str | Path, given: str | None = None) -> str:
    """The vintage label of a layer: ``given``; else from a ``WD13CD``/``LSOA21CD`` column; else a year in
    the file name (``west_kent_wards2013.geojson`` -> "2013 wards"); else "wards (vintage not given)"."""
    noun = {"wards": "wards", "lsoas": "LSOAs", "districts": "districts"}[layer]
    if given:
        return given
    m = re.fullmatch(r"(?:WD|LSOA|LAD)(\d{2})CD", column or "", re.IGNORECASE)
    if m:
        return f"20{m.group(1)} {noun}"
    m = re.search(r"(?<!\d)(19\d{2}|20\d{2})(?!\d)", Path(path).name)
    if m:
        return f"{m.group(1)} {noun}"
    return f"{noun} (vintage not given)"


def _read_vector(path: str | Path) -> gpd.GeoDataFrame:
    p = Path(path)
    if not p.exists():
        msg = f"boundary file {p} not found"
        raise HotspotError(msg)
    try:
        gdf = gpd.read_parquet(p) if p.suffix.lower() in (".parquet", ".geoparquet") else gpd.read_file(p, engine="pyogrio")
    except Exception as exc:  # pyogrio's DataSourceError and friends
        msg = f"cannot read the boundary file {p}: {exc}"
        raise HotspotError(msg) from exc
    if gdf.crs is None:
        msg = f"boundary file {p} has no coordinate system; save it with EPSG:27700 or EPSG:4326"
        raise HotspotError(msg)
    if len(gdf) == 0:
        msg = f"boundary file {p} has no features"
        raise HotspotError(msg)
    bad = ~gdf.geom_type.isin(["Polygon", "MultiPolygon"])
    if bad.any():
        i = int(bad.to_numpy().argmax())
        msg = f"boundary file {p}: feature {i + 1} is a {gdf.geom_type.iloc[i]}; boundaries must be polygons"
        raise HotspotError(msg)
    return gdf.to_crs(BNG) if gdf.crs.to_epsg() != 27700 else gdf


def read_boundary(path: str | Path, layer: str, *, code_column: str | None = None, name_column: str | None = None,
                  district_column: str | None = None, district_name_column: str | None = None,
                  vintage: str | None = None) -> tuple[gpd.GeoDataFrame, str]:
    """Read a ward, LSOA or district boundary file into canonical columns (EPSG:27700).

    Returns ``(layer, vintage label)``; the layer has ``code, name`` and, for
    wards and LSOAs, ``district_code`` (``None`` where the file has no
    authority column) and for wards ``district_name``.

    Raises
    ------
    HotspotError
        If the file cannot be read, a column is not found (the message lists
        the columns the file has and the option to name one), codes repeat or
        are empty, or a feature is not a polygon.
    """
    if layer not in _PATTERNS:
        msg = f"layer was {layer!r}; expected one of {sorted(_PATTERNS)}"
        raise HotspotError(msg)
    gdf = _read_vector(path)
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    option = {"wards": "ward", "lsoas": "lsoa", "districts": "district"}[layer]
    given = {"code": code_column, "name": name_column, "district": district_column,
             "district_name": district_name_column}
    found: dict[str, str | None] = {}
    for role, patterns in _PATTERNS[layer].items():
        if given.get(role):
            if given[role] not in columns:
                msg = (f"boundary file {path}: no column {given[role]!r} (given for the {layer}' {role}); "
                       f"the file has columns {columns}")
                raise HotspotError(msg)
            found[role] = given[role]
        else:
            found[role] = _find_column(columns, patterns)
    if found["code"] is None:
        opt = f"--{option}-code-column"
        msg = (f"boundary file {path}: no {layer[:-1]} code column found (looked for "
               f"{', '.join(_PATTERNS[layer]['code'])}); the file has columns {columns}; name it with {opt}")
        raise HotspotError(msg)
    codes = gdf[found["code"]].astype("string").str.strip()
    empty = codes.isna() | (codes == "")
    if empty.any():
        i = int(empty.to_numpy().argmax())
        msg = f"boundary file {path}: feature {i + 1} has an empty {found['code']}"
        raise HotspotError(msg)
    if codes.duplicated().any():
        dup = sorted(codes[codes.duplicated()].unique())[:5]
        msg = f"boundary file {path}: {found['code']} values repeat ({dup}); codes must be unique"
        raise HotspotError(msg)
    if (codes.str.len() > 12).any():
        i = int((codes.str.len() > 12).to_numpy().argmax())
        msg = f"boundary file {path}: feature {i + 1} has {found['code']} {codes.iloc[i][:20]!r}, longer than a GSS code (12)"
        raise HotspotError(msg)
    out = gpd.GeoDataFrame({"code": codes.to_numpy(dtype=object),
                            "name": (gdf[found["name"]].astype(str).to_numpy(dtype=object) if found["name"]
                                     else codes.to_numpy(dtype=object))},
                           geometry=gdf.geometry.make_valid().to_numpy(), crs=BNG)
    if layer in ("wards", "lsoas"):
        out["district_code"] = (gdf[found["district"]].astype(str).str.strip().to_numpy(dtype=object)
                                if found["district"] else None)
    if layer == "wards":
        out["district_name"] = (gdf[found["district_name"]].astype(str).to_numpy(dtype=object)
                                if found.get("district_name") else out["district_code"])
    return out, vintage_label(layer, found["code"], path, vintage)


def derive_districts(wards: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """District outlines as the union of their wards (for a ward file with an authority code column).

    Raises
    ------
    HotspotError
        If the wards have no authority code.
    """
    if "district_code" not in wards.columns or wards["district_code"].isna().any():
        msg = ("the ward file has no authority code column (LAGSSCODE, LADyyCD, lad_code, ...), so the districts "
               "cannot be derived from it; give --districts FILE or --ward-district-column")
        raise HotspotError(msg)
    rows = []
    for code, grp in wards.groupby("district_code", sort=True):
        rows.append({"code": code, "name": str(grp["district_name"].iloc[0]) if "district_name" in grp else code,
                     "geometry": shapely.union_all(np.asarray(grp.geometry.values, dtype=object))})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=BNG)


_POP_CODE = (r"LSOA21CD", r"LSOA11CD", r"lsoa21_code", r"lsoa11_code", r"lsoa_code", r"geography code", r"code")
_POP_VALUE = (r"usual_residents_total", r"population", r"Age: Total", r"Persons_All-Ages", r"usual_residents",
              r"total", r"residents")
_HOMES = (r"homes", r"households", r"dwellings", r"units")


def read_population(path: str | Path, *, code_column: str | None = None, value_column: str | None = None,
                    homes_column: str | None = None) -> pd.DataFrame:
    """Population (and homes, if the file has them) by LSOA from a CSV: ``lsoa_code, population, homes``.

    Raises
    ------
    HotspotError
        On a missing column (listing the file's columns), a repeated LSOA code
        or a population that is not a whole number >= 0 (naming the row).
    """
    p = Path(path)
    try:
        df = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        msg = f"cannot read the population file {p}: {exc}"
        raise HotspotError(msg) from exc
    cols = list(df.columns)
    code = code_column or _find_column(cols, _POP_CODE)
    value = value_column or _find_column(cols, _POP_VALUE)
    homes = homes_column or _find_column(cols, _HOMES)
    for role, col, opt in (("LSOA code", code, "--population-code-column"),
                           ("population", value, "--population-column")):
        if col is None or col not in cols:
            msg = f"population file {p}: no {role} column found; the file has columns {cols}; name it with {opt}"
            raise HotspotError(msg)
    out = pd.DataFrame({"lsoa_code": df[code].str.strip()})
    for target, col in (("population", value), ("homes", homes)):
        if col is None:
            out[target] = np.nan
            continue
        num = pd.to_numeric(df[col].str.replace(",", "", regex=False), errors="coerce")
        bad = num.isna() | (num < 0) | (num != num.round())
        if bad.any():
            i = int(bad.to_numpy().argmax())
            msg = f"population file {p}: row {i + 1}, field {col}: {df[col].iloc[i]!r} is not a whole number >= 0"
            raise HotspotError(msg)
        out[target] = num.astype(float)
    if out["lsoa_code"].duplicated().any():
        i = int(out["lsoa_code"].duplicated().to_numpy().argmax())
        msg = f"population file {p}: row {i + 1}, field {code}: LSOA {out['lsoa_code'].iloc[i]} is repeated"
        raise HotspotError(msg)
    return out


def read_area_layers(wards: str | Path, lsoas: str | Path, *, districts: str | Path | None = None,
                     population: str | Path | None = None, only_districts: Sequence[str] | None = None,
                     ward_code_column: str | None = None, ward_name_column: str | None = None,
                     ward_district_column: str | None = None, lsoa_code_column: str | None = None,
                     lsoa_name_column: str | None = None, lsoa_district_column: str | None = None,
                     district_code_column: str | None = None, district_name_column: str | None = None,
                     population_code_column: str | None = None, population_column: str | None = None,
                     ward_vintage: str | None = None, lsoa_vintage: str | None = None,
                     ) -> tuple[AreaLayers, str, str]:
    """Read an area's boundary files: ``(layers, ward vintage, LSOA vintage)``.

    Districts come from ``districts`` or, without it, from the ward file's
    authority code (wards dissolved).  ``only_districts`` keeps the wards
    and LSOAs of those districts (e.g. two boroughs out of a London-wide
    file).  LSOAs without an authority column are kept when their
    representative point lies in the wards.  Population is joined by LSOA code.
    """
    w, wv = read_boundary(wards, "wards", code_column=ward_code_column, name_column=ward_name_column,
                          district_column=ward_district_column, vintage=ward_vintage)
    if only_districts:
        keep = set(only_districts)
        if w["district_code"].isna().any():
            msg = f"ward file {wards}: it has no authority code column, so --district-code cannot select wards"
            raise HotspotError(msg)
        unknown = sorted(keep - set(w["district_code"]))
        if unknown:
            msg = (f"district code(s) {unknown} are not in the ward file {wards}; it has "
                   f"{sorted(set(w['district_code']))[:40]}")
            raise HotspotError(msg)
        w = w[w["district_code"].isin(keep)].reset_index(drop=True)
    if districts is not None:
        d, _ = read_boundary(districts, "districts", code_column=district_code_column, name_column=district_name_column)
        if w["district_code"].isna().any():  # wards take the district they lie in
            pts = w.geometry.representative_point()
            idx = gpd.GeoDataFrame(geometry=pts, crs=BNG).sjoin(d, predicate="within", how="left")
            idx = idx[~idx.index.duplicated()]
            w["district_code"] = idx["code"].to_numpy(dtype=object)
            w["district_name"] = idx["name"].to_numpy(dtype=object)
        d = d[d["code"].isin(set(w["district_code"].dropna()))].reset_index(drop=True)
    else:
        d = derive_districts(w)
    ls, lv = read_boundary(lsoas, "lsoas", code_column=lsoa_code_column, name_column=lsoa_name_column,
                           district_column=lsoa_district_column, vintage=lsoa_vintage)
    if ls["district_code"].notna().all() and set(ls["district_code"]) & set(d["code"]):
        ls = ls[ls["district_code"].isin(set(d["code"]))].reset_index(drop=True)
    else:
        union = shapely.union_all(np.asarray(w.geometry.values, dtype=object)).buffer(1.0)
        inside = shapely.contains(union, np.asarray(ls.geometry.representative_point().values, dtype=object))
        ls = ls[inside].reset_index(drop=True)
        pts = gpd.GeoDataFrame(geometry=ls.geometry.representative_point(), crs=BNG)
        j = pts.sjoin(w[["district_code", "geometry"]], predicate="within", how="left")
        j = j[~j.index.duplicated()]
        ls["district_code"] = j["district_code"].to_numpy(dtype=object)
    if len(ls) == 0:
        msg = f"no LSOA of {lsoas} lies in the wards of {wards}; check that both files cover the same area"
        raise HotspotError(msg)
    names = dict(zip(d["code"], d["name"]))
    ward_layer = gpd.GeoDataFrame({"ward_code": w["code"], "ward_name": w["name"], "borough_code": w["district_code"],
                                   "borough_name": [names.get(c, c) for c in w["district_code"]]},
                                  geometry=w.geometry.values, crs=BNG)
    lsoa_layer = gpd.GeoDataFrame({"lsoa_code": ls["code"], "lsoa_name": ls["name"], "borough_code": ls["district_code"]},
                                  geometry=ls.geometry.values, crs=BNG)
    lsoa_layer = _with_population(lsoa_layer, read_population(population, code_column=population_code_column,
                                                              value_column=population_column)
                                  if population is not None else None)
    dist_layer = gpd.GeoDataFrame({"borough_code": d["code"], "borough_name": d["name"]}, geometry=d.geometry.values, crs=BNG)
    return AreaLayers(dist_layer, ward_layer, lsoa_layer), wv, lv


def _with_population(lsoas: gpd.GeoDataFrame, pop: pd.DataFrame | None) -> gpd.GeoDataFrame:
    out = lsoas.copy()
    if pop is None:
        out["population"] = np.nan
        out["homes"] = np.nan
        return out
    m = pop.set_index("lsoa_code")
    out["population"] = out["lsoa_code"].map(m["population"]).astype(float)
    out["homes"] = out["lsoa_code"].map(m["homes"]).astype(float)
    return out


# --------------------------------------------------------------------------- the store


def _now() -> str:
    return pd.Timestamp.now(tz="UTC").isoformat()


def save_area(engine: Engine, profile: AreaProfile, layers: AreaLayers, *, replace: bool = False) -> None:
    """Store a created area's profile and polygons (one transaction).

    Raises
    ------
    HotspotError
        If the name is a bundled area's, or already stored and ``replace`` is false.
    """
    from spatial.store import tables as T

    if profile.name in bundled_profiles():
        msg = f"area {profile.name!r} is a bundled area; choose another name"
        raise HotspotError(msg)
    with engine.begin() as conn:
        exists = conn.execute(select(T.area_profiles.c.name).where(T.area_profiles.c.name == profile.name)).first()
        if exists and not replace:
            msg = f"area {profile.name!r} already exists; choose another name or delete it first"
            raise HotspotError(msg)
        active = False
        if exists:
            active = bool(conn.execute(select(T.area_profiles.c.active)
                                       .where(T.area_profiles.c.name == profile.name)).scalar_one())
            conn.execute(delete(T.area_units).where(T.area_units.c.area == profile.name))
            conn.execute(delete(T.area_profiles).where(T.area_profiles.c.name == profile.name))
        conn.execute(insert(T.area_profiles).values(name=profile.name, bundled=False, active=active,
                                                    profile_json=profile.to_json(), created_at=_now()))
        rows = []
        for layer, gdf, code, name in (("districts", layers.districts, "borough_code", "borough_name"),
                                       ("wards", layers.wards, "ward_code", "ward_name"),
                                       ("lsoas", layers.lsoas, "lsoa_code", "lsoa_name")):
            for r in gdf.to_dict("records"):
                pop = r.get("population")
                homes = r.get("homes")
                rows.append({"area": profile.name, "layer": layer, "code": str(r[code]), "name": str(r[name]),
                             "district_code": None if layer == "districts" else r.get("borough_code"),
                             "population": None if pop is None or pd.isna(pop) else int(pop),
                             "homes": None if homes is None or pd.isna(homes) else int(homes),
                             "geom_wkb": shapely.to_wkb(r["geometry"], hex=True)})
        conn.execute(insert(T.area_units), rows)


def _stored(engine: Engine) -> list[tuple[str, bool, str]]:
    from spatial.store import tables as T

    with engine.connect() as conn:
        return [(r.name, bool(r.active), r.profile_json)
                for r in conn.execute(select(T.area_profiles.c.name, T.area_profiles.c.active,
                                             T.area_profiles.c.profile_json).order_by(T.area_profiles.c.name))]


def active_area_name(engine: Engine | None) -> str:
    """The active area's name (:data:`DEFAULT_AREA` when none was chosen or there is no database)."""
    if engine is None:
        return DEFAULT_AREA
    for name, active, _ in _stored(engine):
        if active:
            return name
    return DEFAULT_AREA


def list_areas(engine: Engine | None) -> list[tuple[AreaProfile, bool]]:
    """Bundled and created areas with whether each is the active one (bundled first, then by name)."""
    active = active_area_name(engine)
    out = [(p, p.name == active) for p in bundled_profiles().values()]
    if engine is not None:
        bundled = bundled_profiles()
        for name, _, text in _stored(engine):
            if name not in bundled:
                out.append((AreaProfile.from_json(text, where=f"stored area {name!r}"), name == active))
    return out


def get_area(engine: Engine | None, name: str) -> AreaProfile:
    """The profile of area ``name`` (bundled or created).

    Raises
    ------
    HotspotError
        If there is no such area, listing the areas there are.
    """
    bundled = bundled_profiles()
    if name in bundled:
        return _with_stored_roster(engine, bundled[name])
    if engine is not None:
        for stored, _, text in _stored(engine):
            if stored == name:
                return AreaProfile.from_json(text, where=f"stored area {name!r}")
    names = [p.name for p, _ in list_areas(engine)]
    msg = f"no area named {name!r}; the areas are {names} (make one with: hotspot-tasking area create NAME ...)"
    raise HotspotError(msg)


def resolve_area(engine: Engine | None, name: str | None = None) -> AreaProfile:
    """Area ``name`` when given, else the active area."""
    return get_area(engine, name or active_area_name(engine))


def use_area(engine: Engine, name: str) -> AreaProfile:
    """Make area ``name`` the active one (recorded in the database) and return it."""
    from spatial.store import tables as T

    profile = get_area(engine, name)
    with engine.begin() as conn:
        conn.execute(update(T.area_profiles).values(active=False))
        if profile.bundled:
            exists = conn.execute(select(T.area_profiles.c.name).where(T.area_profiles.c.name == name)).first()
            if not exists:
                conn.execute(insert(T.area_profiles).values(name=name, bundled=True, active=True,
                                                            profile_json=profile.to_json(), created_at=_now()))
        conn.execute(update(T.area_profiles).where(T.area_profiles.c.name == name).values(active=True))
    return profile


def _with_stored_roster(engine: Engine | None, profile: AreaProfile) -> AreaProfile:
    """A bundled profile with the roster stored for it in the database (``roster init --area NAME``), if any."""
    if engine is None:
        return profile
    for name, _, text in _stored(engine):
        if name == profile.name:
            stored = json.loads(text).get("roster_yaml")
            if stored:
                return dataclasses.replace(profile, roster_yaml=str(stored))
    return profile


def store_roster(engine: Engine, name: str, roster_yaml: str) -> AreaProfile:
    """Store ``roster_yaml`` as area ``name``'s roster (a bundled area's too: its row in ``area_profiles``).

    The caller validates the roster (:func:`tasking.resources.roster_from_mapping`); returns the profile with it.
    """
    from spatial.store import tables as T

    profile = dataclasses.replace(get_area(engine, name), roster_yaml=roster_yaml)
    with engine.begin() as conn:
        exists = conn.execute(select(T.area_profiles.c.name).where(T.area_profiles.c.name == name)).first()
        if exists:
            conn.execute(update(T.area_profiles).where(T.area_profiles.c.name == name)
                         .values(profile_json=profile.to_json()))
        else:
            conn.execute(insert(T.area_profiles).values(name=name, bundled=profile.bundled, active=False,
                                                        profile_json=profile.to_json(), created_at=_now()))
    return profile


def update_area(engine: Engine, profile: AreaProfile) -> None:
    """Replace a created area's stored profile (its polygons stay)."""
    from spatial.store import tables as T

    if profile.bundled:
        msg = f"area {profile.name!r} is bundled; its profile is spatial/data/areas/{profile.name}.yaml"
        raise HotspotError(msg)
    with engine.begin() as conn:
        n = conn.execute(update(T.area_profiles).where(T.area_profiles.c.name == profile.name)
                         .values(profile_json=profile.to_json())).rowcount
    if n != 1:
        msg = f"area {profile.name!r} is not stored"
        raise HotspotError(msg)


def _bundled_layers(profile: AreaProfile, data_dir: Path | None) -> AreaLayers:
    from spatial.datasets import _read, get_path

    codes = set(profile.district_codes)

    def load(rel: str | None, what: str) -> gpd.GeoDataFrame:
        if rel is None:
            msg = f"bundled area {profile.name!r} names no {what} file"
            raise HotspotError(msg)
        gdf = _read(get_path(rel, data_dir=data_dir))
        return gdf[gdf["borough_code"].isin(codes)].reset_index(drop=True).copy()

    wards = load(profile.wards, "ward")
    lsoas = load(profile.lsoas, "LSOA")
    districts = load(profile.boundaries, "district")
    pop = None
    if profile.population:
        pop = read_population(get_path(profile.population, data_dir=data_dir),
                              code_column=profile.population_code_column,
                              value_column=profile.population_value_column, homes_column=None)
    return AreaLayers(districts, wards, _with_population(lsoas, pop))


def _stored_layers(engine: Engine, profile: AreaProfile) -> AreaLayers:
    from spatial.store import tables as T

    with engine.connect() as conn:
        rows = conn.execute(select(T.area_units).where(T.area_units.c.area == profile.name)
                            .order_by(T.area_units.c.layer, T.area_units.c.code)).mappings().all()
    by: dict[str, list] = {"districts": [], "wards": [], "lsoas": []}
    for r in rows:
        by[r["layer"]].append(r)
    names = {r["code"]: r["name"] for r in by["districts"]}

    def geoms(rs: list) -> list:
        return [shapely.from_wkb(r["geom_wkb"]) for r in rs]

    districts = gpd.GeoDataFrame({"borough_code": [r["code"] for r in by["districts"]],
                                  "borough_name": [r["name"] for r in by["districts"]]},
                                 geometry=geoms(by["districts"]), crs=BNG)
    wards = gpd.GeoDataFrame({"ward_code": [r["code"] for r in by["wards"]], "ward_name": [r["name"] for r in by["wards"]],
                              "borough_code": [r["district_code"] for r in by["wards"]],
                              "borough_name": [names.get(r["district_code"], r["district_code"]) for r in by["wards"]]},
                             geometry=geoms(by["wards"]), crs=BNG)
    lsoas = gpd.GeoDataFrame({"lsoa_code": [r["code"] for r in by["lsoas"]], "lsoa_name": [r["name"] for r in by["lsoas"]],
                              "borough_code": [r["district_code"] for r in by["lsoas"]],
                              "population": pd.array([r["population"] for r in by["lsoas"]], dtype="float"),
                              "homes": pd.array([r["homes"] for r in by["lsoas"]], dtype="float")},
                             geometry=geoms(by["lsoas"]), crs=BNG)
    if wards.empty:
        msg = f"area {profile.name!r} has no stored wards; create it again with hotspot-tasking area create"
        raise HotspotError(msg)
    return AreaLayers(districts, wards, lsoas)


def area_layers(engine: Engine | None, profile: AreaProfile, *, data_dir: Path | None = None) -> AreaLayers:
    """The area's districts, wards and LSOAs (bundled files, or the polygons stored by ``area create``)."""
    if profile.bundled:
        return _bundled_layers(profile, data_dir)
    if engine is None:
        msg = f"area {profile.name!r} is stored in the database; give a database (not only a parquet folder)"
        raise HotspotError(msg)
    return _stored_layers(engine, profile)
