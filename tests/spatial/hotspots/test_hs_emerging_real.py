"""Emerging hotspots on real units: RBKC wards from the MPS series, stored estates, and the CLI.

One temporary SQLite store holds the bundled MPS ward tables, the hand-made estates and
parks layers (``tests/data``), and the synthetic council ASB log ingested *after* the
layers, so its incidents carry ``estate_id``/``park_id``.  Expectations are computed
independently with pandas and shapely from the source files.
"""

from __future__ import annotations

import json
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import REPO

from hotspot_cli.main import main as cli_main
from spatial._errors import DataWarning, SchemaError
from spatial.analysis import compute_emerging
from spatial.areas import area_period_counts, month_range, mps_period_counts
from spatial.config import Settings
from spatial.datasets import RBKC, bundled_mps_tables, load_wards
from spatial.hotspots import HOT_CLASSES, emerging_hotspots, validate_result
from spatial.ingest import ingest_paths, load_mapping
from spatial.ingest.pipeline import default_attributor
from spatial.layers import store_area_layer, stored_area_layer
from spatial.store import connect
from spatial.store.queries import area_counts, incident_frame
from spatial.trends import CLASSES

NOW = pd.Timestamp("2026-11-23", tz="Europe/London")
LOG = REPO / "data" / "synthetic" / "rbkc_council_asb_log_SYNTHETIC.csv"
LOG_MAPPING = REPO / "data" / "synthetic" / "rbkc_council_asb_log_SYNTHETIC.mapping.yaml"
ESTATES = REPO / "tests" / "data" / "estates_HANDMADE.geojson"
PARKS = REPO / "tests" / "data" / "parks_HANDMADE.gpkg"
LOG_MONTHS = month_range("2026-01", "2026-11")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, object]:
    url = f"sqlite:///{tmp_path_factory.mktemp('emerging')}/e.sqlite"
    settings = Settings(database_url=url)
    engine = connect(url)
    reports = ingest_paths(engine, bundled_mps_tables(), settings=settings, now=NOW,
                           attributor=default_attributor(engine, settings))
    assert all(r.status == "complete" for r in reports)
    assert store_area_layer(engine, "estates", ESTATES, id_column="estate_id", name_column="estate_name") == 3
    assert store_area_layer(engine, "parks", PARKS, id_column="park_id") == 3
    reports = ingest_paths(engine, [LOG], settings=settings, now=NOW, mapping=load_mapping(LOG_MAPPING),
                           attributor=default_attributor(engine, settings))  # built after the layers
    assert reports[0].status == "complete", reports[0]
    return url, engine


@pytest.fixture(scope="module")
def ward_counts(store) -> tuple[gpd.GeoDataFrame, pd.DataFrame, pd.DataFrame]:
    _, engine = store
    long = area_counts(engine, area_type="ward")
    wards = load_wards((RBKC,))
    return wards, mps_period_counts(long, wards), long


def test_rbkc_wards_from_the_mps_series(ward_counts) -> None:
    wards, counts, long = ward_counts
    assert counts.shape == (18, 192)
    assert counts.columns[0] == "2010-04" and counts.columns[-1] == "2026-03"
    # Independent total: the chosen release per month, summed from the long table with pandas.
    per_release = long.groupby(["dataset", "month"])["count"].sum()
    from spatial.series import RBKC_WARD_PRIORITY

    expected = 0
    for m in counts.columns:
        for d in RBKC_WARD_PRIORITY:
            if per_release.get((d, m), 0) > 0:
                expected += int(per_release[(d, m)])
                break
    assert int(counts.to_numpy().sum()) == expected

    res = emerging_hotspots(counts, wards)
    validate_result(res)
    assert len(res) == 18 and res.index.equals(wards.index)
    assert res["ward_code"].tolist() == wards["ward_code"].tolist()
    assert set(res["trend_class"]) <= set(CLASSES)
    assert np.isfinite(res["score"]).all() and np.isfinite(res["trend_z"]).all()
    assert res["is_hotspot"].equals(res["trend_class"].isin(HOT_CLASSES))
    p = res.attrs["params"]
    assert p["method"] == "emerging" and p["weights"] == "polygon queen (with self)"
    assert p["n_periods"] == 192 and p["first_period"] == "2010-04" and p["last_period"] == "2026-03"
    assert p["n_units"] == 18 and p["n_islands"] == 0 and p["total"] == expected
    assert sum(p["classes"].values()) == 18


def test_ward_gistar_by_hand_and_the_power_of_eighteen_units(ward_counts) -> None:
    """The final-period Gi* z of every ward, recomputed with numpy from Ord & Getis (1995) eq. 14.

    Neighbours: wards sharing at least a boundary point (queen), plus the ward itself.
    """
    wards, counts, _ = ward_counts
    res = emerging_hotspots(counts, wards)
    g = wards.geometry.to_numpy()
    a = np.array([[gi.intersects(gj) for gj in g] for gi in g], dtype=float)  # includes self
    x = counts.iloc[:, -1].to_numpy(float)
    n = len(x)
    w_i = a.sum(axis=1)  # binary weights: S1_i = W_i
    z = (a @ x - x.mean() * w_i) / (x.std() * np.sqrt((n * w_i - w_i**2) / (n - 1)))
    np.testing.assert_allclose(res["last_z"].to_numpy(), z, atol=1e-9)
    # With 18 units and 3-7 wards per neighbourhood, Gi* seldom reaches significance, and none survives
    # Benjamini-Hochberg in a month: every ward is "no pattern".  Without FDR the busiest ward
    # (Brompton & Hans Town, Knightsbridge) is a hot spot in more than half of the 192 months.
    assert (res["trend_class"] == "no pattern").all()
    raw = emerging_hotspots(counts, wards, fdr=False)
    busiest = counts.sum(axis=1).idxmax()
    assert wards.loc[busiest, "ward_name"] == "Brompton & Hans Town"
    assert raw.loc[busiest, "n_hot"] > 96 and raw.loc[busiest, "n_cold"] == 0


def test_busiest_ward_is_not_cold(ward_counts) -> None:
    wards, counts, _ = ward_counts
    res = emerging_hotspots(counts, wards)
    busiest = counts.sum(axis=1).idxmax()
    assert "cold" not in res.loc[busiest, "trend_class"]
    assert res.loc[busiest, "n_hot"] >= res.loc[busiest, "n_cold"]


def _expected_area_counts(layer: gpd.GeoDataFrame, id_col: str) -> pd.DataFrame:
    """Points of the source CSV inside each polygon, per month (shapely, independent of the ingest)."""
    log = pd.read_csv(LOG)
    month = pd.to_datetime(log["Date Reported"], dayfirst=True).dt.strftime("%Y-%m")
    rows = {}
    for code, geom in zip(layer[id_col], layer.geometry):
        inside = shapely.contains_xy(geom, log["Easting"].to_numpy(float), log["Northing"].to_numpy(float))
        rows[code] = month[inside].value_counts().reindex(LOG_MONTHS, fill_value=0)
    return pd.DataFrame(rows).T


def test_estates_from_the_stored_layer(store) -> None:
    _, engine = store
    estates = stored_area_layer(engine, "estates")
    assert estates is not None and len(estates) == 3
    incidents = incident_frame(engine, include_sensitive=False)
    counts = area_period_counts(incidents, estates, area_col="estate_id", id_col="area_id", periods=LOG_MONTHS)
    expected = _expected_area_counts(gpd.read_file(ESTATES).to_crs(27700), "estate_id")
    got = counts.set_axis(estates["area_id"].tolist())
    pd.testing.assert_frame_equal(got.reindex(expected.index), expected, check_names=False, check_dtype=False)
    assert got.loc["EST-A"].sum() > 100  # one of the synthetic clusters sits on Test Estate A

    with pytest.warns(DataWarning, match="no neighbours"):
        res = emerging_hotspots(counts, estates)
    validate_result(res)
    assert len(res) == 3 and set(res["trend_class"]) <= set(CLASSES)
    assert res.attrs["params"]["n_islands"] == 3
    near = emerging_hotspots(counts, estates, weights="distance", distance_m=2000.0)
    assert near.attrs["params"]["distance_m"] == 2000.0


def test_compute_emerging_wards_from_incidents_and_parks(store) -> None:
    _, engine = store
    incidents = incident_frame(engine, include_sensitive=False)
    wards = load_wards((RBKC,))
    res = compute_emerging(wards, unit_kind="wards", months=LOG_MONTHS, incidents=incidents)
    assert len(res) == 18 and res.attrs["params"]["n_incidents_used"] == int(incidents["ward_code"].isin(wards["ward_code"]).sum())
    parks = stored_area_layer(engine, "parks")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        res = compute_emerging(parks, unit_kind="parks", months=LOG_MONTHS, incidents=incidents,
                               category_groups=["asb"])
    assert len(res) == 3 and res.attrs["params"]["category_groups"] == ["asb"]
    with pytest.raises(SchemaError, match="exactly one"):
        compute_emerging(wards, unit_kind="wards", months=LOG_MONTHS)
    with pytest.raises(SchemaError, match="ward and LSOA"):
        compute_emerging(parks, unit_kind="parks", months=LOG_MONTHS, mps_counts=area_counts(engine))


def _value(text: str):
    """A run parameter as stored: JSON for numbers, lists and dicts, plain text otherwise."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _run(url: str, tmp_path, *args: str) -> tuple[int, dict | None]:
    """Run ``hotspots --method emerging`` to a GeoPackage; return the code and {features, params} read back."""
    import pyogrio

    out = tmp_path / "out.gpkg"
    code = cli_main(["--database", url, "hotspots", "--method", "emerging", *args, "--out", str(out)])
    if code != 0:
        return code, None
    layer = pyogrio.read_dataframe(out, layer="emerging_classes")
    meta = pyogrio.read_dataframe(out, layer="run_parameters")
    params = {k: _value(v) for k, v in zip(meta["key"], meta["value"]) if v != ""}
    return code, {"features": [{"properties": r} for r in layer.drop(columns="geometry").to_dict("records")],
                  "params": params}


def test_cli_emerging_on_mps_wards(store, tmp_path, capsys) -> None:
    url, _ = store
    code, fc = _run(url, tmp_path, "--units", "wards", "--source", "mps", "--period", "2010-04..2026-03")
    assert code == 0
    assert len(fc["features"]) == 18
    props = pd.DataFrame([f["properties"] for f in fc["features"]])
    assert set(props["trend_class"]) <= set(CLASSES) and (props["method"] == "emerging").all()
    assert fc["params"]["source"] == "MPS monthly series" and fc["params"]["n_periods"] == 192
    out = capsys.readouterr().out
    assert "emerging: 18 units" in out
    code, fc = _run(url, tmp_path, "--units", "wards", "--source", "mps", "--period", "2024-04..2026-03", "--no-fdr")
    assert code == 0 and fc["params"]["fdr"] == "none" and fc["params"]["periods"][0] == "2024-04"


def test_cli_emerging_on_estates_grid_and_errors(store, tmp_path, capsys) -> None:
    url, _ = store
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        code, fc = _run(url, tmp_path, "--units", "estates", "--period", "2026-01..2026-11")
    assert code == 0 and len(fc["features"]) == 3
    assert {f["properties"]["area_id"] for f in fc["features"]} == {"EST-A", "EST-B", "EST-C"}
    code, fc = _run(url, tmp_path, "--units", "grid", "--cell-size", "250", "--period", "2026-01..2026-11")
    assert code == 0 and fc["params"]["units"] == "grid" and fc["params"]["n_periods"] == 11
    assert len(fc["features"]) > 150
    assert fc["params"]["neighbourhood"] == "spatial (this period)"
    code, st = _run(url, tmp_path, "--units", "grid", "--cell-size", "250", "--period", "2026-01..2026-11",
                    "--space-time")
    assert code == 0 and st["params"]["neighbourhood"] == "space-time (this and the previous period)"
    assert len(st["features"]) == len(fc["features"])
    capsys.readouterr()
    code, _ = _run(url, tmp_path, "--units", "grid", "--source", "mps", "--period", "2026-01..2026-03")
    assert code == 2 and "--source mps" in capsys.readouterr().err
    code, _ = _run(url, tmp_path, "--units", "wards", "--source", "mps", "--period", "2009-01..2009-12")
    assert code == 2 and "outside the MPS series" in capsys.readouterr().err
    code = cli_main(["--database", url, "hotspots", "--method", "kde", "--units", "wards", "--period", "2026-01",
                     "--out", str(tmp_path / "k.geojson")])
    assert code == 2 and "apply to --method emerging" in capsys.readouterr().err


def test_cli_estates_without_a_layer(tmp_path, capsys) -> None:
    url = f"sqlite:///{tmp_path}/empty.sqlite"
    connect(url)
    code, _ = _run(url, tmp_path, "--units", "estates", "--period", "2026-01..2026-11")
    assert code == 2 and "hotspot-tasking layers estates" in capsys.readouterr().err
