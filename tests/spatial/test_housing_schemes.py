"""Schemes as the unit of analysis: homes counts, residents apportioned from LSOAs, rates and their denominator.

Every expected number is worked by hand on boxes of known area (issue 14 item 4).
"""

from __future__ import annotations

import json

import _builders as B  # noqa: F401  (first: puts the repository root on sys.path)
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from spatial._errors import CRSError, SchemaError
from spatial.layers import read_area_layer, store_area_layer, stored_area_layer
from spatial.schemes import RATE_BASIS, apportion_residents, scheme_league
from spatial.store import connect

X0, Y0 = 558000.0, 146000.0


def _lsoas() -> gpd.GeoDataFrame:
    # two 100 m x 100 m LSOAs side by side: 1,000 and 400 residents
    return gpd.GeoDataFrame({"lsoa_code": ["L1", "L2"]},
                            geometry=[box(X0, Y0, X0 + 100, Y0 + 100), box(X0 + 100, Y0, X0 + 200, Y0 + 100)],
                            crs=27700)


POP = pd.Series({"L1": 1000.0, "L2": 400.0})


def _schemes(homes: list[object] | None = None) -> gpd.GeoDataFrame:
    # A: left 3/4 of L1; B: right 1/4 of L1 + left half of L2; C: right half of L2
    geoms = [box(X0, Y0, X0 + 75, Y0 + 100), box(X0 + 75, Y0, X0 + 150, Y0 + 100),
             box(X0 + 150, Y0, X0 + 200, Y0 + 100)]
    g = gpd.GeoDataFrame({"area_id": ["A", "B", "C"], "name": ["Scheme A", "Scheme B", "Scheme C"]},
                         geometry=geoms, crs=27700)
    if homes is not None:
        g["homes"] = homes
    return g


def test_residents_by_area_worked_by_hand_and_the_total_is_kept():
    r = apportion_residents(_schemes(), _lsoas(), POP)
    assert r.to_dict() == pytest.approx({"A": 750.0, "B": 250.0 + 200.0, "C": 200.0})
    assert r.sum() == pytest.approx(1400.0)  # the schemes tile the LSOAs: nothing created or lost
    assert r.attrs["method"] == "area"


def test_residents_by_address_points():
    # L1 has 4 address points, 3 inside A and 1 inside B; L2 has none (falls back to area)
    pts = gpd.GeoDataFrame(geometry=[Point(X0 + 10, Y0 + 10), Point(X0 + 20, Y0 + 50), Point(X0 + 60, Y0 + 90),
                                     Point(X0 + 90, Y0 + 50)], crs=27700)
    r = apportion_residents(_schemes(), _lsoas(), POP, method="address_points", address_points=pts)
    assert r.to_dict() == pytest.approx({"A": 750.0, "B": 250.0 + 200.0, "C": 200.0})
    assert r.attrs["lsoas_by_area"] == ["L2"]
    pts2 = gpd.GeoDataFrame(geometry=[Point(X0 + 10, Y0 + 10), Point(X0 + 90, Y0 + 50), Point(X0 + 95, Y0 + 50),
                                      Point(X0 + 99, Y0 + 50)], crs=27700)
    r2 = apportion_residents(_schemes(), _lsoas(), POP, method="address_points", address_points=pts2)
    assert r2["A"] == pytest.approx(250.0) and r2["B"] == pytest.approx(750.0 + 200.0)  # 1 of 4 and 3 of 4


def test_apportion_errors():
    with pytest.raises(SchemaError, match="L2"):
        apportion_residents(_schemes(), _lsoas(), POP.drop("L2"))
    with pytest.raises(SchemaError, match="address points"):
        apportion_residents(_schemes(), _lsoas(), POP, method="address_points")
    with pytest.raises(SchemaError, match='"area" or "address_points"'):
        apportion_residents(_schemes(), _lsoas(), POP, method="postcodes")  # type: ignore[arg-type]
    with pytest.raises(CRSError, match="EPSG:27700"):
        apportion_residents(_schemes().to_crs(4326), _lsoas(), POP)


def _geojson(tmp_path, homes: list[object]):
    g = _schemes().to_crs(4326).drop(columns="area_id").assign(ref=["A", "B", "C"], homes=homes)
    p = tmp_path / "schemes.geojson"
    p.write_text(g.to_json(), encoding="utf-8")
    return p


def test_homes_column_is_read_checked_and_stored(tmp_path):
    p = _geojson(tmp_path, [120, None, 40])
    g = read_area_layer(p, id_column="ref", name_column="name", homes_column="homes")
    assert g["homes"].tolist()[0] == 120 and np.isnan(g["homes"].iloc[1]) and g["homes"].iloc[2] == 40
    engine = connect(f"sqlite:///{tmp_path}/s.sqlite")
    assert store_area_layer(engine, "estates", p, id_column="ref", name_column="name", homes_column="homes") == 3
    back = stored_area_layer(engine, "estates")
    assert back is not None and back["area_id"].tolist() == ["A", "B", "C"]
    assert back["homes"].iloc[0] == 120.0 and np.isnan(back["homes"].iloc[1])
    # without a homes column the stored layer has no homes (as before)
    store_area_layer(engine, "estates", p, id_column="ref", name_column="name")
    assert "homes" not in stored_area_layer(engine, "estates").columns  # type: ignore[union-attr]
    for bad in ("-3", "12.5", "lots"):
        q = _geojson(tmp_path, [120, bad, 40])
        with pytest.raises(SchemaError, match=rf"schemes\.geojson: feature 2 \('B'\) has homes='{bad}'"):
            read_area_layer(q, id_column="ref", homes_column="homes")
    with pytest.raises(SchemaError, match="no column 'units'"):
        read_area_layer(p, id_column="ref", homes_column="units")
    # the properties keep the file's own attributes
    assert json.loads(g["properties"].iloc[0])["homes"] == 120


def _incidents(rows: list[tuple[str, str, bool]]) -> pd.DataFrame:
    return pd.DataFrame({"estate_id": [r[0] for r in rows], "category": [r[1] for r in rows],
                         "sensitive": [r[2] for r in rows]})


def test_scheme_league_says_which_denominator_each_rate_uses():
    inc = _incidents([("A", "noise", False)] * 6 + [("B", "harassment", False)] * 9 + [("C", "noise", False)] * 2
                     + [("A", "not-asb-parking", False)] * 4 + [("Z", "noise", False)])
    schemes = _schemes(homes=[200, np.nan, 0])
    residents = pd.Series({"A": 750.0, "B": 450.0, "C": 0.0})
    lt = scheme_league(inc, schemes, residents=residents).set_index("area_code")
    assert lt.loc["A", "denominator"] == "homes" and lt.loc["A", "rate"] == pytest.approx(6 / 200 * 1000)
    assert lt.loc["B", "denominator"] == "residents-area" and lt.loc["B", "rate"] == pytest.approx(9 / 450 * 1000)
    assert lt.loc["C", "denominator"] == "none" and np.isnan(lt.loc["C", "rate"])
    assert lt.loc["A", "rate_basis"] == RATE_BASIS["homes"] == "per 1,000 homes (stock layer)"
    assert "apportioned by area" in lt.loc["B", "rate_basis"]
    assert lt.loc["A", "count"] == 6  # the 4 not-ASB reports are not counted as ASB ...
    assert lt.loc["A", "not_asb_reports"] == 4  # ... but shown apart
    assert lt.loc["A", "area_name"] == "Scheme A"
    assert lt.attrs["denominators"] == {"homes": 1, "residents-area": 1, "none": 1}
    assert lt.attrs["n_not_asb"] == 4 and lt.attrs["n_unattributed"] == 1
    by_rate = scheme_league(inc, schemes, residents=residents, sort_by="rate")
    assert by_rate["area_code"].tolist() == ["A", "B", "C"] and by_rate["rank"].tolist() == [1, 2, 3]
    by_count = scheme_league(inc, schemes, residents=residents, sort_by="count")
    assert by_count["area_code"].tolist() == ["B", "A", "C"]
    # without residents, a scheme with no homes count has no rate
    lt2 = scheme_league(inc, schemes).set_index("area_code")
    assert lt2.loc["B", "denominator"] == "none" and "residents" not in lt2.columns


def test_scheme_league_suppresses_small_sensitive_counts():
    inc = _incidents([("A", "noise", False)] * 5 + [("A", "domestic-abuse", True)] * 2
                     + [("B", "noise", False)] * 5 + [("B", "domestic-abuse", True)] * 7)
    lt = scheme_league(inc, _schemes(homes=[100, 100, 100])).set_index("area_code")
    assert lt.loc["A", "sensitive_display"] == "fewer than 5"
    assert np.isnan(lt.loc["A", "count"]) and np.isnan(lt.loc["A", "rate"])  # the total would reveal it
    assert lt.loc["A", "count_non_sensitive"] == 5
    # B's 7 would reveal A's 2 from the published total of 9: withheld by secondary suppression
    assert lt.loc["B", "sensitive_display"] == "withheld" and np.isnan(lt.loc["B", "rate"])


def test_scheme_league_errors():
    with pytest.raises(SchemaError, match="sort_by"):
        scheme_league(_incidents([("A", "noise", False)]), _schemes(), sort_by="harm_per_1000")  # type: ignore[arg-type]
    with pytest.raises(SchemaError, match="estate_id"):
        scheme_league(pd.DataFrame({"category": ["noise"]}), _schemes())
    with pytest.raises(SchemaError, match="'name'"):
        scheme_league(_incidents([("A", "noise", False)]), _schemes().drop(columns="name"))
