"""GeoPackage and GeoJSON exports through pyogrio, read back as a GIS analyst would (issue 17 item 1).

Every export is read back with pyogrio (GDAL): the CRS, one geometry type per
layer, valid geometries, field types, the run parameters and the QGIS styles.
"""

from __future__ import annotations

import datetime as dt
import json
import warnings
import xml.etree.ElementTree as ET

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from spatial._errors import SchemaError
from spatial.analysis import export_hotspots, hotspot_layer
from spatial.gis_export import check_safe, layer_for_gis, run_parameters, style_qml, write_gis
from spatial.grids import square_grid
from spatial.hotspots import emerging_hotspots, gistar, kde
from spatial.trends import CLASSES

WHEN = dt.datetime(2026, 12, 2, 4, 0, tzinfo=dt.UTC)


def _grid_counts() -> gpd.GeoDataFrame:
    g = square_grid(gpd.GeoSeries([shapely.box(500_000, 200_000, 501_500, 201_500)], crs=27700), cell_size_m=100)
    rng = np.random.default_rng(11)
    y = rng.poisson(1.0, len(g)).astype(float)
    cx, cy = (g["x_min"] + 50).to_numpy(), (g["y_min"] + 50).to_numpy()
    y[(np.abs(cx - 500_350) < 160) & (np.abs(cy - 200_350) < 160)] += 8
    g["count"] = y
    return g


@pytest.fixture(scope="module")
def gi() -> gpd.GeoDataFrame:
    res = gistar(_grid_counts(), permutations=999, seed=5)
    res.attrs["params"].update({"method": "gistar", "months": ["2026-09", "2026-10", "2026-11"]})
    return res


def _fields(path, layer):
    info = pyogrio.read_info(path, layer=layer)
    return dict(zip(info["fields"], info["ogr_types"])), info


def test_gistar_geopackage_reads_back_typed_and_styled(gi, tmp_path):
    out = tmp_path / "hot.gpkg"
    counts = export_hotspots(gi, out, period="2026-09..2026-11", area="E09000020", generated_at=WHEN)
    assert counts == {"hot_cells": len(gi)}
    layers = dict(pyogrio.list_layers(out))
    assert layers == {"hot_cells": "MultiPolygon", "run_parameters": None, "layer_styles": None}
    fields, info = _fields(out, "hot_cells")
    assert info["crs"] == "EPSG:27700" and info["geometry_type"] == "MultiPolygon" and info["features"] == len(gi)
    assert fields["incidents"] == "OFTInteger64" and fields["gi_bin"] == "OFTInteger64"
    assert fields["incidents_per_month"] == "OFTReal" and fields["area_m2"] == "OFTReal"
    assert fields["gi_z"] == "OFTReal" and fields["gi_class"] == "OFTString"
    back = pyogrio.read_dataframe(out, layer="hot_cells")
    assert back.geometry.is_valid.all() and (back.geom_type == "MultiPolygon").all()
    assert back["area_m2"].to_numpy() == pytest.approx(back.geometry.area.to_numpy())
    assert back["incidents"].sum() == int(gi["count"].sum())
    assert back["incidents_per_month"].to_numpy() == pytest.approx(gi["count"].to_numpy() / 3)
    assert back["gi_bin"].tolist() == gi["gi_bin"].tolist() and set(back["gi_bin"]) <= set(range(-3, 4))
    assert (back["gi_bin"] > 0).sum() >= 5  # the planted block
    # the bins are the FDR-corrected decisions: >= +1 exactly where q <= 0.10 and z > 0, +2 where q <= 0.05
    assert ((back["gi_bin"] >= 1) == ((gi["gi_q"] <= 0.10) & (gi["gi_z"] > 0))).all()
    assert ((back["gi_bin"] >= 2) == ((gi["gi_q"] <= 0.05) & (gi["gi_z"] > 0))).all()
    meta = pyogrio.read_dataframe(out, layer="run_parameters")
    kv = dict(zip(meta["key"], meta["value"]))
    assert kv["method"] == "gistar" and kv["permutations"] == "999" and kv["fdr"] == "benjamini-hochberg"
    assert kv["fdr_alpha"] == "0.1" and kv["period"] == "2026-09..2026-11" and kv["area"] == "E09000020"
    assert kv["generated_at"] == "2026-12-02T04:00:00+00:00" and kv["seed"] == "5"
    styles = pyogrio.read_dataframe(out, layer="layer_styles")
    assert styles["f_table_name"].tolist() == ["hot_cells"]
    assert styles["f_geometry_column"].iloc[0] == info["geometry_name"]
    assert bool(styles["useAsDefault"].iloc[0]) is True
    root = ET.fromstring(styles["styleQML"].iloc[0])
    rend = root.find("renderer-v2")
    assert rend is not None and rend.get("attr") == "gi_bin" and rend.get("type") == "categorizedSymbol"
    assert [c.get("value") for c in rend.iter("category")] == ["3", "2", "1", "0", "-1", "-2", "-3"]
    assert len(list(rend.iter("symbol"))) == 7


def test_geojson_is_4326_with_run_fields_and_a_qml_sidecar(gi, tmp_path):
    out = tmp_path / "hot.geojson"
    export_hotspots(gi, out, period="2026-09..2026-11", area="E09000020", generated_at=WHEN)
    fields, info = _fields(out, None)
    assert info["crs"] == "EPSG:4326" and info["geometry_type"] == "MultiPolygon"
    assert fields["gi_bin"] in ("OFTInteger", "OFTInteger64") and fields["incidents"] in ("OFTInteger", "OFTInteger64")
    assert fields["run_method"] == "OFTString"
    back = pyogrio.read_dataframe(out)
    assert set(back["run_method"]) == {"gistar"} and set(back["run_period"]) == {"2026-09..2026-11"}
    assert set(back["run_permutations"]) == {"999"} and set(back["run_fdr_alpha"]) == {"0.1"}
    assert back.geometry.is_valid.all()
    minx, miny, maxx, maxy = back.total_bounds
    assert -1.0 < minx < maxx < 0.5 and 51.0 < miny < maxy < 52.0  # lon/lat, not metres
    raw = json.loads(out.read_text(encoding="utf-8"))
    assert "params" not in raw and "crs_note" not in raw  # nothing GDAL would drop
    qml = out.with_suffix(".qml")
    assert ET.fromstring(qml.read_text(encoding="utf-8")).find("renderer-v2").get("attr") == "gi_bin"


def test_kde_cells_are_styled_on_is_hotspot(tmp_path):
    g = _grid_counts()
    pts = g.geometry.centroid
    inc = pd.DataFrame({"x": np.repeat(pts.x.to_numpy(), g["count"].astype(int)),
                        "y": np.repeat(pts.y.to_numpy(), g["count"].astype(int))})
    res = kde(inc, g.drop(columns="count"))
    kind, layer, styles = hotspot_layer(res)
    assert kind == "hot_cells" and ET.fromstring(styles[kind]).find("renderer-v2").get("attr") == "is_hotspot"
    out = tmp_path / "kde.gpkg"
    export_hotspots(res, out, period="2026-11", area="E09000020", generated_at=WHEN)
    fields, info = _fields(out, "hot_cells")
    assert fields["is_hotspot"] == "OFTInteger"  # GDAL's boolean: an OFSTBoolean integer
    assert "OFSTBoolean" in info["ogr_subtypes"]
    kv = dict(pyogrio.read_dataframe(out, layer="run_parameters")[["key", "value"]].to_numpy())
    assert float(kv["bandwidth_m"]) == pytest.approx(res.attrs["params"]["bandwidth_m"])


def test_emerging_layer_and_style_cover_every_class(tmp_path):
    g = square_grid(gpd.GeoSeries([shapely.box(524_000, 177_000, 525_500, 178_500)], crs=27700), cell_size_m=150.0)
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    base = np.random.default_rng(0).poisson(5, len(g))
    counts = pd.DataFrame(np.repeat(base[:, None], 12, axis=1), index=g.index, columns=months)
    counts.loc[48, months[-3:]] += 80
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = emerging_hotspots(counts, g)
    out = tmp_path / "em.gpkg"
    export_hotspots(res, out, period="2025-01..2025-12", area="E09000020", generated_at=WHEN)
    assert dict(pyogrio.list_layers(out))["emerging_classes"] == "MultiPolygon"
    back = pyogrio.read_dataframe(out, layer="emerging_classes")
    assert "consecutive hot spot" in set(back["trend_class"])
    fields, _ = _fields(out, "emerging_classes")
    assert fields["n_hot"] == "OFTInteger64" and fields["trend_class"] == "OFTString"
    qml = pyogrio.read_dataframe(out, layer="layer_styles")["styleQML"].iloc[0]
    rend = ET.fromstring(qml).find("renderer-v2")
    assert rend.get("attr") == "trend_class" and [c.get("value") for c in rend.iter("category")] == list(CLASSES)


def test_mixed_polygons_become_multipolygons_and_mixed_types_are_refused():
    mixed = gpd.GeoDataFrame({"v": [1, 2]}, geometry=[shapely.box(0, 0, 1, 1), shapely.MultiPolygon(
        [shapely.box(2, 2, 3, 3), shapely.box(4, 4, 5, 5)])], crs=27700)
    out = layer_for_gis(mixed, kind="clusters")
    assert (out.geom_type == "MultiPolygon").all() and out["area_m2"].tolist() == [1.0, 2.0]
    bad = gpd.GeoDataFrame({"v": [1, 2]}, geometry=[shapely.box(0, 0, 1, 1), shapely.Point(5, 5)], crs=27700)
    with pytest.raises(SchemaError, match="mixes geometry types"):
        layer_for_gis(bad, kind="clusters")
    with pytest.raises(SchemaError, match="kind was"):
        layer_for_gis(mixed, kind="incidents")


def test_sensitive_points_and_raw_sensitive_counts_are_refused():
    pts = gpd.GeoDataFrame({"category": ["violent-crime", "burglary"], "sensitive": [True, False]},
                           geometry=[shapely.Point(1, 1), shapely.Point(2, 2)], crs=27700)
    with pytest.raises(SchemaError, match="never exported as points"):
        layer_for_gis(pts, kind="assignments")
    counts = pd.DataFrame({"n_sensitive": [3]})
    with pytest.raises(SchemaError, match="numeric sensitive count"):
        check_safe(counts, name="advice")
    check_safe(pd.DataFrame({"sensitive_note": ["fewer than 5"]}), name="advice")  # suppressed text is fine


def test_unknown_suffix_and_several_layers_in_geojson_are_refused(gi, tmp_path):
    kind, layer, _ = hotspot_layer(gi)
    run = run_parameters({}, method="gistar", period="2026-11", area="E09000020", generated_at=WHEN)
    with pytest.raises(SchemaError, match=r"unknown GIS format '\.shp'.*GeoPackage \(\.gpkg\).*GeoJSON"):
        write_gis(tmp_path / "x.shp", {kind: layer}, params=run)
    with pytest.raises(SchemaError, match="GeoJSON holds one layer"):
        write_gis(tmp_path / "x.geojson", {kind: layer, "clusters": layer}, params=run)
    with pytest.raises(SchemaError, match="no style"):
        style_qml("assignments")
