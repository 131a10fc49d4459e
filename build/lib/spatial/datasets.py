"""The bundled real data set (``data/``) and its boundary layers.

``data/SOURCES.md`` gives provenance and licences.  Boundary layers are read
once per process and returned as EPSG:27700 GeoDataFrames with canonical
column names.
"""

from __future__ import annotations

import functools
from pathlib import Path

import geopandas as gpd

from ._errors import HotspotError
from .config import default_data_dir
from .schema import BNG

__all__ = [
    "RBKC", "WESTMINSTER", "HAMMERSMITH_FULHAM", "DEMO_BOROUGHS",
    "get_path", "load_wards", "load_lsoas", "load_boroughs", "load_registered_parks",
    "bundled_incident_sources", "bundled_mps_tables",
]

RBKC = "E09000020"
WESTMINSTER = "E09000033"
HAMMERSMITH_FULHAM = "E09000013"
DEMO_BOROUGHS = (RBKC, WESTMINSTER, HAMMERSMITH_FULHAM)


def get_path(relative: str, *, data_dir: Path | None = None) -> Path:
    """Path of a bundled file, e.g. ``get_path("boundaries/wards_2018.gpkg")``.

    Raises
    ------
    HotspotError
        If the file is missing, with the folder searched.
    """
    base = Path(data_dir) if data_dir is not None else default_data_dir()
    path = base / relative
    if not path.exists():
        msg = (f"bundled data file {relative!r} not found under {base}; "
               "set HOTSPOT_DATA_DIR or rebuild it with scripts/bundle_data.py")
        raise HotspotError(msg)
    return path


@functools.cache
def _read(path: Path) -> gpd.GeoDataFrame:
    gdf = gpd.read_file(path, engine="pyogrio")
    return gdf.to_crs(BNG) if gdf.crs is not None and gdf.crs.to_epsg() != 27700 else gdf


def _filter(gdf: gpd.GeoDataFrame, boroughs: tuple[str, ...] | None) -> gpd.GeoDataFrame:
    out = gdf if boroughs is None else gdf[gdf["borough_code"].isin(boroughs)]
    return out.reset_index(drop=True).copy()


def load_wards(boroughs: tuple[str, ...] | None = DEMO_BOROUGHS, *, data_dir: Path | None = None) -> gpd.GeoDataFrame:
    """Ward polygons (2018 = current RBKC ward map): ``ward_code, ward_name, borough_code, borough_name``."""
    return _filter(_read(get_path("boundaries/wards_2018.gpkg", data_dir=data_dir)), boroughs)


def load_lsoas(boroughs: tuple[str, ...] | None = DEMO_BOROUGHS, *, data_dir: Path | None = None) -> gpd.GeoDataFrame:
    """2021 LSOA polygons: ``lsoa_code, lsoa_name, borough_code``."""
    return _filter(_read(get_path("boundaries/lsoa_2021.gpkg", data_dir=data_dir)), boroughs)


def load_boroughs(boroughs: tuple[str, ...] | None = DEMO_BOROUGHS, *, data_dir: Path | None = None) -> gpd.GeoDataFrame:
    """Borough polygons: ``borough_code, borough_name``."""
    return _filter(_read(get_path("boundaries/boroughs.gpkg", data_dir=data_dir)), boroughs)


def load_registered_parks(*, data_dir: Path | None = None) -> gpd.GeoDataFrame:
    """The four Historic England registered parks touching RBKC (not the council's 37 parks)."""
    return _read(get_path("parks/rbkc_registered_parks_gardens_historic_england.geojson", data_dir=data_dir)).copy()


def bundled_incident_sources(*, data_dir: Path | None = None) -> list[Path]:
    """Point-data inputs ingested by ``hotspot-tasking ingest --bundled``."""
    return [
        get_path("policeuk/rbkc_api_2018-06", data_dir=data_dir),
        get_path("policeuk/rbkc_vso_2024", data_dir=data_dir),
        get_path("policeuk/neighbours_api", data_dir=data_dir),
    ]


def bundled_mps_tables(*, data_dir: Path | None = None) -> list[Path]:
    """MPS recorded-crime wide tables (aggregate series, not points)."""
    return sorted(get_path("mps", data_dir=data_dir).glob("*.csv"))
