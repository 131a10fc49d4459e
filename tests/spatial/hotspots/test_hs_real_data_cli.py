"""Methods on the bundled real police.uk data, and the hotspots command end to end."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
import pytest
from conftest import REPO
from pyproj import Transformer

from hotspot_cli.hotspots import add_parser, run
from spatial._errors import HotspotError, SchemaError
from spatial.analysis import parse_period
from spatial.datasets import HAMMERSMITH_FULHAM, RBKC, WESTMINSTER, load_boroughs
from spatial.grids import count_in_cells, square_grid
from spatial.harm import harm_weight
from spatial.hotspots import (
    concentration,
    density_clusters,
    gistar,
    hotspot_polygons,
    kde,
)

NEIGHBOURS = REPO / "data" / "policeuk" / "neighbours_api"
RBKC_API = REPO / "data" / "policeuk" / "rbkc_api_2018-06" / "rbkc_street_crime_2018-06_police-uk-api.csv"


@pytest.fixture(scope="module")
def westminster_hf() -> pd.DataFrame:
    files = sorted(NEIGHBOURS.glob("*.csv.gz"))[:2]
    if not files:
        pytest.skip("bundled neighbours_api data missing")
    df = pd.concat([pd.read_csv(f, usecols=["latitude", "longitude", "category", "month"]) for f in files])
    df = df.dropna(subset=["latitude", "longitude"])
    x, y = Transformer.from_crs(4326, 27700, always_xy=True).transform(df["longitude"].to_numpy(), df["latitude"].to_numpy())
    return pd.DataFrame({"x": x, "y": y, "category": df["category"].to_numpy(), "month": df["month"].to_numpy()})


@pytest.mark.parametrize("borough", [WESTMINSTER, HAMMERSMITH_FULHAM])
def test_methods_on_real_neighbour_data(westminster_hf, borough):
    area = load_boroughs((borough,))
    grid = square_grid(area, cell_size_m=150)
    w = harm_weight(westminster_hf["category"])
    cells = count_in_cells(westminster_hf, grid, weights=w)
    inside = int(cells["count"].sum())
    assert 0.2 * len(westminster_hf) < inside < len(westminster_hf)  # one of two boroughs
    k = kde(westminster_hf, grid)
    assert len(k) == len(grid) and k["is_hotspot"].any()
    assert k.loc[k["is_hotspot"], "area_m2"].sum() == pytest.approx(0.05 * grid["area_m2"].sum(), rel=0.1)
    assert len(hotspot_polygons(k)) >= 1
    g = gistar(cells, inference="analytic")
    assert len(g) == len(grid) and np.isfinite(g["score"]).all()
    assert (g.loc[g["is_hotspot"], "gi_z"] > 0).all()
    d = density_clusters(westminster_hf)
    assert len(d) >= 1 and d.crs.to_epsg() == 27700 and (d["n_incidents"] >= 20).all()
    c = concentration(cells)
    assert ((c["share_of_incidents"] > c["share_of_cells"]) & (c["share_of_harm"] > c["share_of_cells"])).all()


def test_period_parser():
    assert parse_period("2018-06") == ["2018-06"]
    with pytest.raises(SchemaError):
        parse_period("2018-13")
    with pytest.raises(SchemaError):
        parse_period("2018-06..2018-01")


@pytest.mark.parametrize("method", ["kde", "gistar", "dbscan"])
def test_hotspots_command_end_to_end(tmp_path, method):
    from hotspot_cli.main import main as cli_main

    url = f"sqlite:///{tmp_path}/h.sqlite"
    assert cli_main(["--database", url, "ingest", str(RBKC_API), "--quiet"]) == 0
    parser = argparse.ArgumentParser()
    parser.add_argument("--database")
    sub = parser.add_subparsers(dest="command")
    add_parser(sub)
    out = tmp_path / f"{method}.geojson"
    args = parser.parse_args(["--database", url, "hotspots", "--method", method, "--period", "2018-06",
                              "--borough", RBKC, "--out", str(out)])
    assert run(args) == 0
    fc = json.loads(out.read_text())
    assert fc["type"] == "FeatureCollection" and "params" not in fc  # parameters are fields GDAL keeps
    props = fc["features"][0]["properties"]
    assert props["run_method"] == method and props["run_period"] == "2018-06" and props["run_area"] == RBKC
    assert {f["geometry"]["type"] for f in fc["features"]} == {"MultiPolygon"}  # one type per layer
    lon, lat = fc["features"][0]["geometry"]["coordinates"][0][0][0][:2]
    assert -0.3 < lon < -0.1 and 51.4 < lat < 51.6  # EPSG:4326 around RBKC
    assert any(f["properties"]["is_hotspot"] for f in fc["features"])
    # the same run as a GeoPackage: EPSG:27700, the layer for the method, every parameter in run_parameters
    import pyogrio

    gpkg = tmp_path / f"{method}.gpkg"
    args = parser.parse_args(["--database", url, "hotspots", "--method", method, "--period", "2018-06",
                              "--borough", RBKC, "--out", str(gpkg)])
    assert run(args) == 0
    kind = "clusters" if method == "dbscan" else "hot_cells"
    layers = dict(pyogrio.list_layers(gpkg))
    assert layers[kind] == "MultiPolygon" and layers["run_parameters"] is None
    assert ("layer_styles" in layers) == (kind == "hot_cells")
    assert pyogrio.read_info(gpkg, layer=kind)["crs"] == "EPSG:27700"
    meta = pyogrio.read_dataframe(gpkg, layer="run_parameters")
    kv = dict(zip(meta["key"], meta["value"]))
    assert kv["method"] == method and kv["sensitive_included"] == "false" and json.loads(kv["months"]) == ["2018-06"]
    # an unknown suffix is refused before any work, with the list of formats
    args = parser.parse_args(["--database", url, "hotspots", "--method", method, "--period", "2018-06",
                              "--borough", RBKC, "--out", str(tmp_path / "x.shp")])
    with pytest.raises(HotspotError, match=r"--out was '.*x\.shp'; give a file ending \.gpkg .*GeoPackage.* or "
                                          r"\.geojson or \.json"):
        run(args)
    assert not (tmp_path / "x.shp").exists()


def test_a_period_longer_than_the_store_holds_is_said(tmp_path, capsys):
    """A 12-month --period on a store holding one month warns, naming the month used and the months missing."""
    from hotspot_cli.main import main as cli_main

    url = f"sqlite:///{tmp_path}/h.sqlite"
    assert cli_main(["--database", url, "ingest", str(RBKC_API), "--quiet"]) == 0
    capsys.readouterr()
    out = tmp_path / "kde.geojson"
    assert cli_main(["--database", url, "hotspots", "--method", "kde", "--period", "2017-07..2018-06",
                     "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert ("warning: --period asks for 12 months but the store holds 1 of them (2018-06): the results use that "
            "month only; missing: 2017-07, 2017-08, 2017-09, 2017-10, 2017-11, 2017-12 and 5 more") in err
    assert cli_main(["--database", url, "hotspots", "--method", "kde", "--period", "2018-06",
                     "--out", str(out)]) == 0
    assert "warning" not in capsys.readouterr().err
