"""Coordinate systems, projection and attribution of points to areas."""

from __future__ import annotations

import _builders as B  # first: puts the repository root on sys.path
import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Transformer

from spatial._errors import CRSError
from spatial.config import Settings
from spatial.ingest.pipeline import default_attributor
from spatial.projection import (
    AreaLayer,
    Attributor,
    bng_transformation,
    detect_crs,
    require_bng,
    to_bng,
    to_wgs84,
)

BNG_TO_WGS = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)


@pytest.fixture(scope="module")
def wards() -> gpd.GeoDataFrame:
    return gpd.read_file(B.DATA / "boundaries" / "wards_2018.gpkg")


@pytest.fixture(scope="module")
def attributor():
    return default_attributor(None, Settings(database_url="sqlite://", data_dir=B.DATA))


def synth_bng(n: int = 50) -> tuple[np.ndarray, np.ndarray]:
    _h, rows = B.read_rows(B.SYNTH_CSV)
    e = np.array([float(r[4]) for r in rows[:n]])
    nn = np.array([float(r[5]) for r in rows[:n]])
    return e, nn


# --------------------------------------------------------------------------
# detect_crs
# --------------------------------------------------------------------------
def test_detect_lon_lat():
    e, n = synth_bng()
    lon, lat = BNG_TO_WGS.transform(e, n)
    assert detect_crs(np.asarray(lon), np.asarray(lat)) == "EPSG:4326"


def test_detect_british_national_grid():
    e, n = synth_bng()
    assert detect_crs(e, n) == "EPSG:27700"


def test_detect_ignores_a_few_bad_values():
    e, n = synth_bng(20)
    lon, lat = (np.asarray(v) for v in BNG_TO_WGS.transform(e, n))
    lon[:3] = np.nan
    lat[3] = 999.0
    assert detect_crs(lon, lat) == "EPSG:4326"


def test_detect_swapped_columns_says_so():
    e, n = synth_bng()
    lon, lat = BNG_TO_WGS.transform(e, n)
    with pytest.raises(CRSError) as info:
        detect_crs(np.asarray(lat), np.asarray(lon), where="council.csv (X, Y)")
    msg = str(info.value)
    assert "swapped" in msg
    assert "council.csv" in msg


def test_detect_garbage_reports_the_ranges():
    first = np.array([-5000.0, -3000.0, -1000.0])
    second = np.array([-3000.0, -2500.0, -2000.0])
    with pytest.raises(CRSError) as info:
        detect_crs(first, second)
    msg = str(info.value)
    for number in ("-5000", "-1000", "-3000", "-2000"):
        assert number in msg, msg
    assert "EPSG:4326" in msg and "EPSG:27700" in msg


def test_detect_with_no_numbers():
    with pytest.raises(CRSError, match="no numeric"):
        detect_crs(np.array([np.nan, np.nan]), np.array([np.nan, 1.0]))


# --------------------------------------------------------------------------
# projecting
# --------------------------------------------------------------------------
def test_big_ben_to_british_national_grid():
    x, y = to_bng(np.array([-0.124625]), np.array([51.500729]), "EPSG:4326")
    assert abs(x[0] - 530268) < 5 and abs(y[0] - 179640) < 5, (x, y)


def test_round_trip_and_bng_passthrough():
    e, n = synth_bng(30)
    lon, lat = to_wgs84(e, n)
    x, y = to_bng(lon, lat, "EPSG:4326")
    assert np.allclose(x, e, atol=0.01) and np.allclose(y, n, atol=0.01)
    # pyproj's Helmert "OSGB36 to WGS 84 (6)" agrees to within its stated few metres (OSTN15 is the finer one)
    lon2, lat2 = BNG_TO_WGS.transform(e, n)
    hx, hy = to_bng(lon2, lat2, "EPSG:4326")
    assert np.hypot(hx - e, hy - n).max() < 6.0
    # BNG input is returned unchanged, as a copy
    bx, by = to_bng(e, n, "EPSG:27700")
    assert np.array_equal(bx, e) and np.array_equal(by, n)
    bx[0] = -1
    assert e[0] != -1


# OS's worked example station, Caister Water Tower (Norfolk): ETRS89 52 39' 28.8282" N, 1 42' 57.8663" E
# transforms by OSTN15 to OSGB36 651409.804 E, 313177.450 N.  Source: Ordnance Survey, "A guide to
# coordinate systems in Great Britain" (v3.6, 2020) and "Transformations and OSGM15 user guide", worked
# example; the same figures are convertbng's own test (tests/test_convertbng.py, testConvertLonLatSingle).
CAISTER_ETRS89 = (1 + 42 / 60 + 57.8663 / 3600, 52 + 39 / 60 + 28.8282 / 3600)
CAISTER_OSGB36 = (651409.804, 313177.450)


def test_ostn15_is_used_offline_and_hits_the_os_trig_point_to_a_decimetre():
    t = bng_transformation()
    assert t.name == "OSTN15", t.describe()
    assert "OSTN15" in t.describe() and t.accuracy_m <= 0.1
    x, y = to_bng(np.array([CAISTER_ETRS89[0]]), np.array([CAISTER_ETRS89[1]]), "EPSG:4326")
    err = float(np.hypot(x[0] - CAISTER_OSGB36[0], y[0] - CAISTER_OSGB36[1]))
    assert err < 0.1, (x, y, err)
    # the inverse comes back to the ETRS89 position (to about a millimetre)
    lon, lat = to_wgs84(np.array([CAISTER_OSGB36[0]]), np.array([CAISTER_OSGB36[1]]))
    assert abs(lon[0] - CAISTER_ETRS89[0]) < 1e-7 and abs(lat[0] - CAISTER_ETRS89[1]) < 1e-7
    # the Helmert fallback is metres off at the same station: the difference is real, not a relabelling
    hx, hy = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True).transform(*CAISTER_ETRS89)
    assert np.hypot(hx - CAISTER_OSGB36[0], hy - CAISTER_OSGB36[1]) > 1.0


def test_points_outside_the_ostn15_grid_fall_back_to_helmert_not_nan():
    # 10 E, 52 N is far outside OSTN15's grid: still projected (by Helmert), never NaN
    x, y = to_bng(np.array([10.0, CAISTER_ETRS89[0]]), np.array([52.0, CAISTER_ETRS89[1]]), "EPSG:4326")
    assert np.isfinite(x).all() and np.isfinite(y).all()
    hx, _ = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True).transform(10.0, 52.0)
    assert abs(x[0] - hx) < 1e-6


def test_require_bng(wards):
    require_bng(wards)
    with pytest.raises(CRSError, match="27700"):
        require_bng(wards.to_crs(4326))


def test_area_layer_needs_its_code_column(wards):
    with pytest.raises(CRSError, match="ward_id"):
        AreaLayer("ward_code", wards, "ward_id")


# --------------------------------------------------------------------------
# attribution
# --------------------------------------------------------------------------
def _shared_vertices(a: shapely.Geometry, b: shapely.Geometry) -> list[tuple[float, float]]:
    va = {tuple(c) for c in shapely.get_coordinates(a.boundary)}
    vb = {tuple(c) for c in shapely.get_coordinates(b.boundary)}
    return sorted(va & vb)


def test_point_on_a_ward_boundary_goes_to_exactly_one_ward(attributor, wards):
    rbkc = wards[wards["borough_code"] == "E09000020"].reset_index(drop=True)
    checked = 0
    for i in range(len(rbkc)):
        for j in range(i + 1, len(rbkc)):
            shared = _shared_vertices(rbkc.geometry[i], rbkc.geometry[j])
            if not shared:
                continue
            x, y = shared[len(shared) // 2]
            pt = shapely.Point(x, y)
            touching = set(wards.loc[wards.intersects(pt), "ward_code"])
            assert {rbkc["ward_code"][i], rbkc["ward_code"][j]} <= touching
            in_aoi, codes = attributor.attribute(np.array([x]), np.array([y]))
            assert in_aoi.tolist() == [True]
            code = codes["ward_code"][0]
            assert isinstance(code, str) and code in touching
            # the same answer every time (the attributor caches by place)
            again = attributor.attribute(np.array([x, x]), np.array([y, y]))[1]["ward_code"]
            assert again.tolist() == [code, code]
            checked += 1
    assert checked >= 10


def test_attribution_matches_a_spatial_join(attributor, wards):
    lsoas = gpd.read_file(B.DATA / "boundaries" / "lsoa_2021.gpkg")
    minx, miny, maxx, maxy = wards.total_bounds
    rng = np.random.default_rng(20261123)
    x = rng.uniform(minx - 500, maxx + 500, 3000)
    y = rng.uniform(miny - 500, maxy + 500, 3000)
    # include repeats and points that share an x or a y, as snapped police.uk points do
    x = np.r_[x, x[:50], x[:50]]
    y = np.r_[y, y[:50], y[50:100]]
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=27700)
    in_aoi, codes = attributor.attribute(x, y)
    for layer, code_col, gdf in (("ward_code", "ward_code", wards), ("lsoa_code", "lsoa_code", lsoas)):
        joined = gpd.sjoin(pts, gdf[[code_col, "geometry"]], how="left", predicate="within")
        n_hits = joined.groupby(level=0)[code_col].count()
        single = joined[~joined.index.duplicated()][code_col].where(n_hits == 1)
        inside = (n_hits == 1).to_numpy()
        outside = (n_hits == 0).to_numpy()
        assert inside.sum() > 1000 and outside.sum() > 100
        assert (codes[layer][inside] == single.to_numpy()[inside]).all(), layer
        assert all(c is None for c in codes[layer][outside]), layer
    # area of interest: the wards' union grown by 250 m
    dist = pts.distance(wards.union_all()).to_numpy()
    assert (in_aoi[dist <= 249]).all()
    assert not (in_aoi[dist >= 251]).any()


def test_area_of_interest_buffer():
    wards = gpd.read_file(B.DATA / "boundaries" / "wards_2018.gpkg")
    layer = AreaLayer("ward_code", wards, "ward_code")
    att = Attributor.from_layers([layer], buffer_m=250)
    union = wards.union_all()
    coords = shapely.get_coordinates(union.exterior if hasattr(union, "exterior") else union.boundary)
    x0, y0 = coords[np.argmin(coords[:, 0])]
    x = np.array([x0 + 10, x0 - 100, x0 - 400])
    y = np.array([y0, y0, y0])
    in_aoi, codes = att.attribute(x, y)
    assert in_aoi.tolist() == [True, True, False]
    assert codes["ward_code"][1] is None and codes["ward_code"][2] is None
    with pytest.raises(CRSError):
        Attributor.from_layers([], buffer_m=250)


def test_empty_input(attributor):
    in_aoi, codes = attributor.attribute(np.array([]), np.array([]))
    assert in_aoi.shape == (0,)
    assert set(codes) == {"ward_code", "lsoa_code"}
    assert all(v.shape == (0,) for v in codes.values())
