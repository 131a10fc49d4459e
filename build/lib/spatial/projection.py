"""Coordinate systems and attribution of points to areas.

Only ingest reprojects: everything after it is British National Grid
(EPSG:27700).

WGS84 <-> British National Grid uses Ordnance Survey's OSTN15 transformation
(about 0.1 m against OS's definitive one), offline, from the first of:

1. ``pyproj`` when PROJ has the OSTN15 grid (``uk_os_OSTN15_NTv2_OSGBtoETRS.tif``
   in ``PROJ_DATA``, e.g. copied from a newer Debian ``proj-data``; bookworm's
   9.1.1 package does not carry it);
2. ``convertbng`` (a dependency: OSTN15's shifts compiled in, so no download);
3. otherwise pyproj's Helmert "OSGB36 to WGS 84 (6)" (about 2 m; metres off in
   places), said so by :func:`bng_transformation` and in every ingest report.

WGS84 is taken as ETRS89 (they agree to well under a metre in Britain, which is
OS's own advice for GPS positions).  A point outside OSTN15's grid (offshore) is
projected by the Helmert transformation and counted in the report.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from pyproj.transformer import TransformerGroup

from ._errors import CRSError
from .schema import BNG, WGS84

__all__ = [
    "detect_crs", "to_bng", "to_wgs84", "swapped_lonlat_mask", "in_range_mask",
    "AreaLayer", "Attributor", "require_bng", "Transformation", "bng_transformation",
]

CRSName = Literal["EPSG:27700", "EPSG:4326"]

# Generous envelopes for Great Britain.
_LON = (-9.0, 3.0)
_LAT = (49.0, 61.5)
_E = (0.0, 700_000.0)
_N = (0.0, 1_300_000.0)


def _within(a: np.ndarray, lo_hi: tuple[float, float]) -> np.ndarray:
    return (a >= lo_hi[0]) & (a <= lo_hi[1])


def in_range_mask(first: np.ndarray, second: np.ndarray, crs: CRSName) -> np.ndarray:
    """True where ``(first, second)`` (x/lon, y/lat) lie inside Great Britain's envelope for ``crs``."""
    if crs == WGS84:
        return _within(first, _LON) & _within(second, _LAT)
    return _within(first, _E) & _within(second, _N)


def swapped_lonlat_mask(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """True where a lon/lat pair looks swapped (latitude in the longitude column)."""
    return _within(lon, _LAT) & _within(lat, _LON)


def detect_crs(first: np.ndarray, second: np.ndarray, *, where: str = "the file") -> CRSName:
    """Say whether coordinates are WGS84 lon/lat or British National Grid.

    Decided on the finite values: if most pairs fall in Great Britain's lon/lat
    envelope it is EPSG:4326; if most fall in its easting/northing envelope it is
    EPSG:27700.  Rows outside the envelope are dealt with row by row later.

    Raises
    ------
    CRSError
        If neither system fits, with the ranges seen and how to override.
    """
    a = np.asarray(first, dtype=float)
    b = np.asarray(second, dtype=float)
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    if a.size == 0:
        msg = f"no numeric coordinates in {where}, so the coordinate system cannot be detected"
        raise CRSError(msg)
    wgs = in_range_mask(a, b, WGS84).mean()
    bng = in_range_mask(a, b, BNG).mean()
    swapped = swapped_lonlat_mask(a, b).mean()
    if wgs >= 0.5 and wgs >= bng:
        return WGS84
    if bng >= 0.5 and not (wgs > 0 and bng < 0.9 and a.max() < 1000):
        return BNG
    msg = (f"cannot tell whether coordinates in {where} are lon/lat (EPSG:4326) or British National Grid "
           f"(EPSG:27700): first column spans {a.min():g}..{a.max():g}, second {b.min():g}..{b.max():g}"
           + ("; they look like latitude/longitude in swapped columns" if swapped >= 0.5 else "")
           + ". Give the system explicitly (mapping file `coordinates: crs:` or --crs).")
    raise CRSError(msg)


@functools.cache
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


@dataclass(frozen=True)
class Transformation:
    """How WGS84 lon/lat become British National Grid (and back) on this machine.

    Attributes
    ----------
    name
        ``"OSTN15"`` or ``"Helmert"``.
    via
        What computes it: ``"pyproj grid"``, ``"convertbng"`` or ``"pyproj"``.
    accuracy_m
        Stated accuracy in metres (OSTN15: 0.1, OS; Helmert: PROJ's figure for the operation).
    """

    name: str
    via: str
    accuracy_m: float

    def describe(self) -> str:
        """One line, e.g. ``WGS84 -> British National Grid by OSTN15 (convertbng, about 0.1 m)``."""
        extra = "" if self.name == "OSTN15" else "; install convertbng or the PROJ OSTN15 grid for 0.1 m"
        return (f"WGS84 -> British National Grid by {self.name} ({self.via}, about {self.accuracy_m:g} m{extra})")


_OSTN15_GRID = "uk_os_OSTN15_NTv2_OSGBtoETRS"
#: Above this many metres between two runs of the same point, a transformation is not the one it claims.
_OSTN15_ACCURACY_M = 0.1


def _pyproj_has_ostn15() -> bool:
    """True when PROJ's best available 4326 -> 27700 operation uses the OSTN15 grid."""
    try:
        group = TransformerGroup(WGS84, BNG, always_xy=True)
    except Exception:  # pyproj errors: treat as no grid
        return False
    return bool(group.transformers) and _OSTN15_GRID in group.transformers[0].to_json()


def _convertbng():
    try:
        from convertbng import cutil
    except ImportError:
        return None
    return cutil


@functools.cache
def bng_transformation() -> Transformation:
    """The transformation :func:`to_bng` and :func:`to_wgs84` use for WGS84 (see the module docstring)."""
    if _pyproj_has_ostn15():
        return Transformation("OSTN15", "pyproj grid", _OSTN15_ACCURACY_M)
    if _convertbng() is not None:
        return Transformation("OSTN15", "convertbng", _OSTN15_ACCURACY_M)
    accuracy = _transformer(WGS84, BNG).accuracy
    return Transformation("Helmert", "pyproj", float(accuracy) if accuracy and accuracy > 0 else 2.0)


def _helmert_fill(ox: np.ndarray, oy: np.ndarray, a: np.ndarray, b: np.ndarray, src: str,
                  dst: str) -> tuple[np.ndarray, np.ndarray]:
    """Points outside OSTN15's grid (NaN from convertbng) by the Helmert transformation instead."""
    gap = ~(np.isfinite(ox) & np.isfinite(oy)) & np.isfinite(a) & np.isfinite(b)
    if gap.any():
        hx, hy = _transformer(src, dst).transform(a[gap], b[gap])
        ox[gap], oy[gap] = hx, hy
    return ox, oy


def to_bng(first: np.ndarray, second: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Project coordinates in ``crs`` to EPSG:27700 easting/northing (metres).

    WGS84 goes through :func:`bng_transformation` (OSTN15 where available).

    Examples
    --------
    Caister Water Tower, OS's worked example (ETRS89 52.658007833 N, 1.716073973 E):

    >>> x, y = to_bng(np.array([1.716073973]), np.array([52.658007833]), "EPSG:4326")
    >>> bng_transformation().name != "OSTN15" or (round(float(x[0]), 3), round(float(y[0]), 3)) == (651409.804, 313177.45)
    True
    """
    a = np.asarray(first, dtype=float)
    b = np.asarray(second, dtype=float)
    if crs == BNG:
        return a.copy(), b.copy()
    if crs == WGS84 and a.size and bng_transformation().via == "convertbng":
        cutil = _convertbng()
        ox, oy = cutil.convert_bng(np.ascontiguousarray(a.ravel()), np.ascontiguousarray(b.ravel()))
        ox, oy = np.array(ox, dtype=float), np.array(oy, dtype=float)
        ox, oy = _helmert_fill(ox, oy, a.ravel(), b.ravel(), WGS84, BNG)
        return ox.reshape(a.shape), oy.reshape(b.shape)
    return _transformer(crs, BNG).transform(a, b)


def to_wgs84(x: np.ndarray, y: np.ndarray, crs: str = BNG) -> tuple[np.ndarray, np.ndarray]:
    """Project coordinates in ``crs`` to WGS84 lon/lat (from BNG by :func:`bng_transformation`)."""
    a = np.asarray(x, dtype=float)
    b = np.asarray(y, dtype=float)
    if crs == WGS84:
        return a.copy(), b.copy()
    if crs == BNG and a.size and bng_transformation().via == "convertbng":
        cutil = _convertbng()
        lon, lat = cutil.convert_lonlat(np.ascontiguousarray(a.ravel()), np.ascontiguousarray(b.ravel()))
        lon, lat = np.array(lon, dtype=float), np.array(lat, dtype=float)
        lon, lat = _helmert_fill(lon, lat, a.ravel(), b.ravel(), BNG, WGS84)
        return lon.reshape(a.shape), lat.reshape(b.shape)
    return _transformer(crs, WGS84).transform(a, b)


def require_bng(gdf: gpd.GeoDataFrame, *, name: str = "the layer") -> None:
    """Raise :class:`CRSError` unless ``gdf`` is in EPSG:27700."""
    if gdf.crs is None or gdf.crs.to_epsg() != 27700:
        msg = (f"{name} must be in EPSG:27700 (British National Grid) but is in {gdf.crs}; "
               "use `to_crs(27700)` or load it through hotspot-tasking's ingest")
        raise CRSError(msg)


@dataclass(frozen=True)
class AreaLayer:
    """A polygon layer that points are attributed to.

    Attributes
    ----------
    name
        Incident column that receives the code (``ward_code``, ``lsoa_code``,
        ``estate_id``, ``park_id``).
    gdf
        Polygons in EPSG:27700.
    code_column
        Column of ``gdf`` holding the code.
    """

    name: str
    gdf: gpd.GeoDataFrame
    code_column: str

    def __post_init__(self) -> None:
        require_bng(self.gdf, name=f"the {self.name} layer")
        if self.code_column not in self.gdf.columns:
            msg = (f"the {self.name} layer has no column {self.code_column!r}; "
                   f"columns are {list(self.gdf.columns)}")
            raise CRSError(msg)


@dataclass
class Attributor:
    """Attribute points to area layers, with an area-of-interest test.

    Points on a shared boundary go to the first polygon in layer order.
    Results for each distinct coordinate pair are memoised (looked up in a
    hash index, not point by point): police.uk snaps crimes to a fixed set of
    anonymous map points, so a month of London has far fewer distinct
    locations than crimes.

    Parameters
    ----------
    layers
        Area layers, e.g. wards and LSOAs (and estates and parks if loaded).
    aoi
        Area of interest (EPSG:27700 polygon).  Points outside are rejected.
    """

    layers: list[AreaLayer]
    aoi: shapely.Geometry
    _trees: list[tuple[AreaLayer, shapely.STRtree, np.ndarray]] = field(init=False, repr=False)
    #: Memo of points seen: their ``x + iy`` keys (a hash index) and rows ``(in_aoi, code, ...)``.
    _seen: pd.Index | None = field(init=False, repr=False, default=None)
    _seen_rows: np.ndarray | None = field(init=False, repr=False, default=None)
    _bounds: tuple[float, float, float, float] = field(init=False, repr=False, default=(0.0, 0.0, 0.0, 0.0))

    def __post_init__(self) -> None:
        self._trees = []
        for layer in self.layers:
            geoms = np.asarray(layer.gdf.geometry.values, dtype=object)
            shapely.prepare(geoms)
            codes = layer.gdf[layer.code_column].astype(str).to_numpy(dtype=object)
            self._trees.append((layer, shapely.STRtree(geoms), codes))
        shapely.prepare(self.aoi)
        self._bounds = tuple(float(v) for v in shapely.bounds(self.aoi))

    def inside(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """True where an EPSG:27700 point lies in the area of interest (bounding box, then one vectorised
        :func:`shapely.contains_xy` on the prepared outline; no per-point objects)."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        x0, y0, x1, y1 = self._bounds
        out = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
        if out.any():
            out[out] = shapely.contains_xy(self.aoi, x[out], y[out])
        return out

    @property
    def names(self) -> list[str]:
        return [layer.name for layer in self.layers]

    def attribute(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Return ``(in_aoi, {layer name: codes})`` for EPSG:27700 points.

        Codes are ``None`` where a point lies in no polygon of that layer.
        """
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        n = x.size
        k = len(self.layers)
        if n == 0:
            return np.zeros(0, bool), {layer.name: np.empty(0, object) for layer in self.layers}
        uniq, inverse = np.unique(x + 1j * y, return_inverse=True)
        inverse = np.asarray(inverse).reshape(-1)
        results = np.empty((len(uniq), k + 1), dtype=object)
        pos = self._seen.get_indexer(uniq) if self._seen is not None else np.full(len(uniq), -1)
        hit = np.flatnonzero(pos >= 0)
        todo = np.flatnonzero(pos < 0)
        if hit.size:
            results[hit] = self._seen_rows[pos[hit]]  # type: ignore[index]
        if todo.size:
            pts = shapely.points(uniq.real[todo], uniq.imag[todo])
            inside = shapely.contains(self.aoi, pts)
            cols = [inside.astype(object)]
            for _layer, tree, codes in self._trees:
                out = np.full(len(pts), None, dtype=object)
                pi, ti = tree.query(pts, predicate="intersects")
                if pi.size:
                    order = np.lexsort((ti, pi))
                    pi, ti = pi[order], ti[order]
                    first = np.r_[True, pi[1:] != pi[:-1]]
                    out[pi[first]] = codes[ti[first]]
                cols.append(out)
            block = np.column_stack(cols)
            results[todo] = block
            if self._seen is None:
                self._seen, self._seen_rows = pd.Index(uniq[todo]), block
            else:
                self._seen = self._seen.append(pd.Index(uniq[todo]))
                self._seen_rows = np.concatenate([self._seen_rows, block])  # type: ignore[list-item]
        in_aoi = results[inverse, 0].astype(bool)
        codes_out = {layer.name: results[inverse, j + 1] for j, layer in enumerate(self.layers)}
        return in_aoi, codes_out

    @classmethod
    def from_layers(cls, layers: list[AreaLayer], *, buffer_m: float) -> Attributor:
        """Build with the area of interest = first layer's union buffered by ``buffer_m``."""
        if not layers:
            msg = "at least one area layer (wards) is needed to define the area of interest"
            raise CRSError(msg)
        union = shapely.union_all(np.asarray(layers[0].gdf.geometry.values, dtype=object))
        return cls(layers=layers, aoi=union.buffer(buffer_m))
