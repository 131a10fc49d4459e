"""GIS files through pyogrio: GeoPackage (a layer per kind) and GeoJSON, with QGIS styles.

What a council GIS analyst opens in QGIS or ArcGIS Pro:

* **GeoPackage** (``.gpkg``, EPSG:27700): one layer per kind (``hot_cells``,
  ``clusters``, ``emerging_classes``, ``patrol_patches``, ``assignments``,
  ``advice``, ``cameras``, ``camera_coverage``), one geometry type per layer (polygons are always
  written as MultiPolygon), typed fields with units in their names; the run's
  parameters as the non-spatial ``run_parameters`` table (``key``, ``value``)
  and, for the hot-cell and emerging layers, a default style in the
  ``layer_styles`` table (QGIS's convention), so the layers open symbolised.
* **GeoJSON** (``.geojson``, EPSG:4326 as RFC 7946 requires): one layer; the
  run's main parameters are fields of every feature (``run_method``,
  ``run_period`` ...), not a non-standard top-level member that GDAL drops; the
  style is a ``.qml`` sidecar with the file's name, which QGIS loads with it.

Safeguarding: :func:`check_safe` refuses a layer of sensitive incidents as
points or a numeric sensitive count (sensitive categories reach a file only as
the display text already suppressed by :mod:`spatial.disclosure`).

Pure functions build the tables and the QML (:func:`layer_for_gis`,
:func:`run_parameters`, :func:`style_qml`); :func:`write_gis` is the edge.
"""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from spatial._errors import SchemaError
from spatial.jsonable import plain
from spatial.projection import require_bng

__all__ = [
    "GIS_FILE_FORMATS",
    "LAYER_KINDS",
    "GisFileFormat",
    "check_safe",
    "gis_format_of",
    "layer_for_gis",
    "run_parameters",
    "style_qml",
    "write_gis",
]


@dataclass(frozen=True)
class GisFileFormat:
    """A GIS file format: its OGR driver, the CRS written and whether it holds several layers."""

    name: str
    label: str
    suffixes: tuple[str, ...]
    driver: str
    epsg: int
    multi_layer: bool


#: The GIS file formats written here (the plan's CSV and the pack are in :mod:`tasking.formats`).
GIS_FILE_FORMATS: Mapping[str, GisFileFormat] = {
    "gpkg": GisFileFormat("gpkg", "GeoPackage", (".gpkg",), "GPKG", 27700, multi_layer=True),
    "geojson": GisFileFormat("geojson", "GeoJSON", (".geojson", ".json"), "GeoJSON", 4326, multi_layer=False),
}

#: The layer kinds and what each holds.
LAYER_KINDS: Mapping[str, str] = {
    "hot_cells": "every analysed grid cell (KDE or Gi*), is_hotspot marks the hot ones; gi_bin -3..3 for Gi*",
    "clusters": "DBSCAN / HDBSCAN cluster polygons",
    "emerging_classes": "Emerging Hot Spot Analysis pattern class of every unit",
    "patrol_patches": "the plan's places (street patches, parks, estates) as polygons with their planned visits",
    "assignments": "one point per assignment (agent, day, shift) at its place's representative point",
    "advice": "Designing Out Crime advice, one feature per hotspot",
    "cameras": "CCTV camera moves of the plan",
    "camera_coverage": "each deployable camera's coverage circle (coverage_radius_m around its site)",
}

#: Column renames: units in the names (the values are unchanged).
_RENAMES: Mapping[str, str] = {
    "kde_density": "density_per_km2", "density_km2": "density_per_km2", "kde_count": "kde_incidents",
    "expected_harm_week": "harm_per_week", "expected_harm_shift": "harm_per_shift",
    "minutes": "minutes_on_site",
}

_GI_BIN_LABELS: tuple[tuple[int, str, str], ...] = (
    (3, "Hot spot - 99% confidence", "215,48,39,255"),
    (2, "Hot spot - 95% confidence", "237,117,81,255"),
    (1, "Hot spot - 90% confidence", "250,185,132,255"),
    (0, "Not significant", "238,238,230,255"),
    (-1, "Cold spot - 90% confidence", "192,204,190,255"),
    (-2, "Cold spot - 95% confidence", "123,159,207,255"),
    (-3, "Cold spot - 99% confidence", "69,117,181,255"),
)
_EMERGING_COLOURS: Mapping[str, str] = {
    "new": "255,0,0", "consecutive": "255,115,0", "intensifying": "180,0,0", "persistent": "230,80,80",
    "diminishing": "255,170,170", "sporadic": "255,200,0", "oscillating": "200,120,200", "historical": "150,110,80",
}


def gis_format_of(path: str | Path) -> GisFileFormat | None:
    """The GIS format a file name asks for (by suffix), or None when it is not one of :data:`GIS_FILE_FORMATS`."""
    suffix = Path(path).suffix.lower()
    for f in GIS_FILE_FORMATS.values():
        if suffix in f.suffixes:
            return f
    return None


# ----------------------------------------------------------------------------
# pure: tables
# ----------------------------------------------------------------------------
def check_safe(layer: pd.DataFrame, *, name: str) -> None:
    """Refuse a layer that would show sensitive incidents as points or a raw sensitive count.

    Raises
    ------
    SchemaError
        If rows are flagged ``sensitive`` (incident rows), or a numeric column
        is named as a sensitive count (``n_sensitive``, ``sensitive_count``).
    """
    if "sensitive" in layer.columns and layer["sensitive"].astype(bool).any():
        msg = (f"layer {name!r} has {int(layer['sensitive'].astype(bool).sum())} sensitive incident row(s); "
               "sensitive categories are never exported as points (aggregate them by area first)")
        raise SchemaError(msg)
    for col in layer.columns:
        if "sensitive" in str(col).lower() and col != "sensitive" and pd.api.types.is_numeric_dtype(layer[col]):
            msg = (f"layer {name!r} column {col!r} is a numeric sensitive count; export the suppressed display "
                   "text instead (spatial.disclosure)")
            raise SchemaError(msg)


def _multi(geom: shapely.Geometry | None) -> shapely.Geometry | None:
    if geom is None or geom.is_empty:
        return geom
    if isinstance(geom, shapely.Polygon):
        return shapely.MultiPolygon([geom])
    return geom


def _scalar_column(s: pd.Series) -> pd.Series:
    """A column GDAL can type: numbers, booleans and datetimes kept, lists and dicts as JSON text."""
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s):
        return s
    vals = s.astype(object)
    nonnull = vals.dropna()
    if len(nonnull) and all(isinstance(v, (bool, np.bool_)) for v in nonnull):
        return vals.astype("boolean")
    if len(nonnull) and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in nonnull):
        return vals.astype("Int64")
    if len(nonnull) and all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                            for v in nonnull):
        return pd.to_numeric(vals).astype(float)

    def text(v: object) -> object:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        if isinstance(v, (list, tuple, dict, set)):
            return json.dumps(plain(list(v) if isinstance(v, (set, tuple)) else v), default=str)
        return str(v)

    return vals.map(text).astype(object)


def layer_for_gis(frame: gpd.GeoDataFrame, *, kind: str, n_months: int | None = None) -> gpd.GeoDataFrame:
    """A copy of ``frame`` ready for a GIS file: single geometry type, typed fields with units in the names.

    * polygons become MultiPolygon (every polygon layer, so GDAL reports one type);
    * ``count`` becomes ``incidents`` (whole numbers as integers) and, with
      ``n_months``, ``incidents_per_month`` is added; polygons get ``area_m2``;
    * density / harm / minutes columns are renamed with their units (``density_per_km2``,
      ``harm_per_week``, ``minutes_on_site``);
    * lists and dicts become JSON text; the internal ``geometry_source`` is kept as text.

    Raises
    ------
    CRSError
        If ``frame`` is not EPSG:27700.
    SchemaError
        On an unknown ``kind``, or a layer :func:`check_safe` refuses.
    """
    if kind not in LAYER_KINDS:
        msg = f'kind was "{kind}" but is expected to be one of {sorted(LAYER_KINDS)}'
        raise SchemaError(msg)
    require_bng(frame, name=f"the {kind} layer")
    check_safe(frame, name=kind)
    geom = frame.geometry
    out = pd.DataFrame(frame.drop(columns=frame.geometry.name)).copy()
    out = out.drop(columns=[c for c in ("sensitive",) if c in out.columns])
    if "count" in out.columns:
        cnt = pd.to_numeric(out.pop("count"), errors="coerce")
        whole = bool(np.all(np.isfinite(cnt)) and np.allclose(cnt, np.round(cnt)))
        out.insert(0, "incidents", cnt.round().astype(np.int64) if whole else cnt.astype(float))
        if n_months:
            out.insert(1, "incidents_per_month", cnt.astype(float) / float(n_months))
    out = out.rename(columns={k: v for k, v in _RENAMES.items() if k in out.columns and v not in out.columns})
    polys = geom.geom_type.isin(["Polygon", "MultiPolygon"])
    if polys.any():
        if not polys.all():
            types = sorted(set(geom.geom_type))
            msg = f"layer {kind!r} mixes geometry types {types}; a GIS layer holds one type"
            raise SchemaError(msg)
        if "area_m2" not in out.columns:
            out["area_m2"] = geom.area.to_numpy()
        geom = gpd.GeoSeries([_multi(g) for g in geom], index=geom.index, crs=geom.crs)
    for col in list(out.columns):
        out[col] = _scalar_column(out[col])
    out.columns = [str(c) for c in out.columns]
    return gpd.GeoDataFrame(out.reset_index(drop=True), geometry=gpd.GeoSeries(geom.to_numpy(), crs=frame.crs),
                            crs=frame.crs)


def run_parameters(params: Mapping[str, object], *, method: str, period: str, area: str,
                   generated_at: dt.datetime | None = None) -> dict[str, str]:
    """The run's parameters as text: the standard keys first, then every other parameter (JSON text).

    Standard keys: ``method``, ``bandwidth_m``, ``permutations``, ``fdr``,
    ``fdr_alpha``, ``period``, ``area`` (the district code, or the area's name when it has
    several), ``area_name``, ``districts`` (JSON list), ``n_incidents_used``, ``generated_at``
    (UTC, ISO 8601).
    ``fdr_alpha`` is the FDR level of the hot/cold decision: ``alpha`` for
    emerging, ``1 - hotspot_level`` for Gi*.
    """
    when = (generated_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    alpha = params.get("alpha")
    if alpha is None and params.get("hotspot_level") is not None:
        alpha = round(1 - float(str(params["hotspot_level"])), 6)
    std: dict[str, object] = {
        "method": method, "bandwidth_m": params.get("bandwidth_m"), "permutations": params.get("permutations"),
        "fdr": params.get("fdr"), "fdr_alpha": alpha if params.get("fdr") not in (None, "none") else None,
        "period": period, "area": area, "area_name": params.get("area_name"), "districts": params.get("districts"),
        "n_incidents_used": params.get("n_incidents_used"), "generated_at": when.isoformat(),
    }
    out = {k: ("" if v is None else (v if isinstance(v, str) else json.dumps(plain(v), default=str)))
           for k, v in std.items()}
    for k, v in params.items():
        if k not in out:
            out[str(k)] = v if isinstance(v, str) else json.dumps(plain(v), default=str)
    return out


_STANDARD_RUN_FIELDS: tuple[str, ...] = ("method", "bandwidth_m", "permutations", "fdr", "fdr_alpha", "period",
                                          "area", "area_name", "districts", "n_incidents_used", "generated_at")


# ----------------------------------------------------------------------------
# pure: QGIS styles
# ----------------------------------------------------------------------------
def _fill_symbol(parent: ET.Element, name: str, rgba: str) -> None:
    sym = ET.SubElement(parent, "symbol", {"type": "fill", "name": name, "alpha": "1", "clip_to_extent": "1",
                                           "force_rhr": "0"})
    lay = ET.SubElement(sym, "layer", {"class": "SimpleFill", "enabled": "1", "locked": "0", "pass": "0"})
    opts = ET.SubElement(lay, "Option", {"type": "Map"})
    for k, v in (("color", rgba), ("outline_color", "120,120,120,255"), ("outline_style", "solid"),
                 ("outline_width", "0.1"), ("outline_width_unit", "MM"), ("style", "solid")):
        ET.SubElement(opts, "Option", {"type": "QString", "name": k, "value": v})


def style_qml(kind: str, *, field: str | None = None) -> str:
    """QML (QGIS layer style) for a hot-cell or emerging layer: a categorised fill renderer.

    ``hot_cells`` is categorised on ``gi_bin`` (ArcGIS's hot/cold colours) or,
    when ``field="is_hotspot"`` (KDE has no bins), on hot / not hot;
    ``emerging_classes`` on ``trend_class`` (the sixteen Esri classes and "no pattern").
    """
    cats: list[tuple[str, str, str]] = []
    if kind == "hot_cells" and (field or "gi_bin") == "gi_bin":
        attr = "gi_bin"
        cats = [(str(v), label, rgba) for v, label, rgba in _GI_BIN_LABELS]
    elif kind == "hot_cells" and field == "is_hotspot":
        attr = "is_hotspot"
        cats = [("true", "Hotspot", "215,48,39,255"), ("false", "Not a hotspot", "238,238,230,40")]
    elif kind == "emerging_classes":
        from spatial.trends import CLASSES

        attr = "trend_class"
        for c in CLASSES:
            first = c.split()[0]
            if c == "no pattern":
                rgba = "238,238,230,60"
            elif c.endswith("hot spot"):
                rgba = _EMERGING_COLOURS[first] + ",255"
            else:  # cold: the hot colour's channels reversed towards blue
                r, g, b = (int(v) for v in _EMERGING_COLOURS[first].split(","))
                rgba = f"{b},{g},{r},255"
            cats.append((c, c[0].upper() + c[1:], rgba))
    else:
        msg = f'no style for kind "{kind}" (field {field!r}); styles exist for hot_cells and emerging_classes'
        raise SchemaError(msg)
    root = ET.Element("qgis", {"version": "3.28.0", "styleCategories": "Symbology"})
    rend = ET.SubElement(root, "renderer-v2", {"type": "categorizedSymbol", "attr": attr, "symbollevels": "0",
                                               "enableorderby": "0", "forceraster": "0"})
    cat_el = ET.SubElement(rend, "categories")
    sym_el = ET.SubElement(rend, "symbols")
    for i, (value, label, rgba) in enumerate(cats):
        ET.SubElement(cat_el, "category", {"render": "true", "symbol": str(i), "value": value, "label": label})
        _fill_symbol(sym_el, str(i), rgba)
    body = ET.tostring(root, encoding="unicode")
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + body + "\n"


# ----------------------------------------------------------------------------
# edge: writing
# ----------------------------------------------------------------------------
def _styles_table(styles: Mapping[str, str], layers: Mapping[str, gpd.GeoDataFrame],
                  when: dt.datetime) -> pd.DataFrame:
    rows = []
    for i, (name, qml) in enumerate(styles.items(), start=1):
        rows.append({"id": i, "f_table_catalog": "", "f_table_schema": "", "f_table_name": name,
                     "f_geometry_column": "geom", "styleName": f"{name} (hotspot-tasking)", "styleQML": qml,
                     "styleSLD": "", "useAsDefault": True, "description": LAYER_KINDS.get(name, name),
                     "owner": "hotspot-tasking", "ui": None,
                     "update_time": pd.Timestamp(when.astimezone(dt.UTC).replace(tzinfo=None))})
    return pd.DataFrame(rows)


def write_gis(path: str | Path, layers: Mapping[str, gpd.GeoDataFrame], *, params: Mapping[str, str],
              styles: Mapping[str, str] | None = None, format: str | None = None) -> dict[str, int]:
    """Write ``layers`` (from :func:`layer_for_gis`) with the run parameters and styles; return rows per layer.

    GeoPackage: every layer, the ``run_parameters`` table and ``layer_styles``.
    GeoJSON: exactly one layer, reprojected to EPSG:4326, the standard run
    parameters as ``run_<key>`` fields, and ``<name>.qml`` beside it when the
    layer has a style.

    Raises
    ------
    SchemaError
        On an unknown format or suffix, or several layers for GeoJSON.
    """
    import pyogrio

    p = Path(path)
    fmt = GIS_FILE_FORMATS.get(format) if format else gis_format_of(p)
    if fmt is None:
        names = ", ".join(f"{f.label} ({'/'.join(f.suffixes)})" for f in GIS_FILE_FORMATS.values())
        msg = f"{str(p)!r}: unknown GIS format {format or p.suffix!r}; use one of {names}"
        raise SchemaError(msg)
    styles = dict(styles or {})
    p.parent.mkdir(parents=True, exist_ok=True)
    when_text = params.get("generated_at") or dt.datetime.now(dt.UTC).isoformat()
    when = dt.datetime.fromisoformat(str(when_text))
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    counts: dict[str, int] = {}
    if fmt.multi_layer:
        if p.exists():
            p.unlink()  # a GeoPackage is rewritten whole, never appended to
        for name, layer in layers.items():
            if len(layer) == 0:
                pyogrio.write_dataframe(layer, p, layer=name, driver=fmt.driver,
                                        geometry_type="MultiPolygon" if name in _POLYGON_KINDS else "Point")
            else:
                pyogrio.write_dataframe(layer, p, layer=name, driver=fmt.driver)
            counts[name] = len(layer)
        meta = pd.DataFrame({"key": list(params), "value": [str(v) for v in params.values()]})
        pyogrio.write_dataframe(meta, p, layer="run_parameters", driver=fmt.driver)
        if styles:
            pyogrio.write_dataframe(_styles_table(styles, layers, when), p, layer="layer_styles", driver=fmt.driver)
        return counts
    if len(layers) != 1:
        msg = f"{str(p)!r}: GeoJSON holds one layer but {len(layers)} were given ({list(layers)}); use .gpkg"
        raise SchemaError(msg)
    (name, layer), = layers.items()
    out = layer.to_crs(fmt.epsg)
    for k in _STANDARD_RUN_FIELDS:
        out[f"run_{k}"] = str(params.get(k, ""))
    if p.exists():
        p.unlink()
    pyogrio.write_dataframe(out, p, layer=name, driver=fmt.driver, layer_options={"RFC7946": "YES"})
    sidecar = p.with_suffix(".qml")
    if name in styles:
        sidecar.write_text(styles[name], encoding="utf-8")
    counts[name] = len(out)
    return counts


_POLYGON_KINDS = frozenset({"hot_cells", "clusters", "emerging_classes", "patrol_patches", "advice",
                            "camera_coverage"})
