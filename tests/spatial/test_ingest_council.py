"""Council exports through a column-mapping file: CSV, GeoJSON, GeoPackage, GeoParquet.

Times are checked against ``zoneinfo`` conversions done here, coordinates against
``pyproj`` transforms done here, and areas against ``geopandas`` joins done here.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import _builders as B  # first: puts the repository root on sys.path
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer
from shapely.geometry import Point, Polygon

from spatial._errors import MappingError
from spatial.ingest import load_mapping

LONDON = ZoneInfo("Europe/London")
BNG_TO_WGS = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)

# A few real-looking RBKC places (easting, northing) taken from the synthetic log's first rows.
HEADER = ["Ref", "When", "Type", "Easting", "Northing", "Where"]


def write_mapping(path: Path, *, coords: str, source: str = "test-council", date: str = "{column: When}",
                  extra: str = "") -> Path:
    path.write_text(
        f"source: {source}\n"
        "id_column: Ref\n"
        "category:\n  column: Type\n  values:\n    \"Loud music\": noise\n    \"Dumped rubbish\": fly-tipping\n"
        f"date: {date}\n"
        f"coordinates: {coords}\n"
        "location_column: Where\n" + extra,
        encoding="utf-8")
    return path


def synth_places(n: int = 12) -> list[tuple[float, float]]:
    _h, rows = B.read_rows(B.SYNTH_CSV)
    return [(float(r[4]), float(r[5])) for r in rows[:n]]


def local_to_utc(text: str, fmt: str) -> pd.Timestamp:
    naive = datetime.strptime(text, fmt)
    return pd.Timestamp(naive.replace(tzinfo=LONDON).astimezone(timezone.utc))


def by_id(env: B.Env) -> pd.DataFrame:
    inc = env.incidents()
    inc["ref"] = inc["source_ref"]
    return inc.set_index("ref")


# --------------------------------------------------------------------------
# the synthetic council log and its mapping
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    d = tmp_path_factory.mktemp("synth")
    env = B.make_env(f"sqlite:///{d}/s.sqlite")
    report = env.ingest(B.SYNTH_CSV, mapping=load_mapping(B.SYNTH_MAPPING))
    return env, report


def test_synthetic_log_every_row_accounted_for(synth):
    env, r = synth
    header, rows = B.read_rows(B.SYNTH_CSV)
    refs = [row[header.index("Case Ref")] for row in rows]
    assert r.kind == "council-csv" and r.status == "complete", r.message
    assert r.source == "rbkc-council-asb-synthetic"
    assert r.rows_read == len(rows)
    assert r.reconciles
    assert r.stored == len(set(refs))
    assert (r.duplicates, r.quarantined) == (len(refs) - len(set(refs)), 0)
    assert env.count("incidents") == r.stored
    inc = env.incidents()
    assert set(inc["source_ref"]) == set(refs)
    assert set(inc["source"]) == {"rbkc-council-asb-synthetic"}
    # British National Grid coordinates are stored as given
    e = dict(zip(refs, (float(row[header.index("Easting")]) for row in rows)))
    n = dict(zip(refs, (float(row[header.index("Northing")]) for row in rows)))
    assert np.allclose(inc["x"], inc["source_ref"].map(e)) and np.allclose(inc["y"], inc["source_ref"].map(n))
    # the points were drawn inside RBKC wards
    assert inc["ward_code"].isin(B.RBKC_WARDS).all()
    # LSOAs are generalised to 20 m, so a point may fall in a sliver between two of them;
    # only such points may lack an LSOA
    lsoa = gpd.read_file(B.DATA / "boundaries" / "lsoa_2021.gpkg")
    missing = inc[inc["lsoa_code"].isna()]
    assert len(missing) < 0.01 * len(inc)
    for x, y in zip(missing["x"], missing["y"]):
        assert not lsoa.intersects(Point(x, y)).any()


def test_synthetic_log_times_are_london_local(synth):
    env, _ = synth
    header, rows = B.read_rows(B.SYNTH_CSV)
    i_ref, i_d, i_t = header.index("Case Ref"), header.index("Date Reported"), header.index("Time Reported")
    expected = {r[i_ref]: local_to_utc(f"{r[i_d]} {r[i_t]}", "%d/%m/%Y %H:%M") for r in rows}
    inc = by_id(env)
    got = B.as_utc(inc["occurred_from"]).set_axis(inc.index)
    exp = pd.Series(expected).reindex(inc.index)
    assert (got == exp).all()
    assert (B.as_utc(inc["occurred_to"]).to_numpy() == got.to_numpy()).all()  # an instant
    # the worked examples: a July 14:30 entry is 13:30 UTC, a January entry keeps its hour
    july = [r for r in rows if r[i_d][3:5] == "07" and r[i_t] == "14:30"][0]
    assert got[july[i_ref]] == pd.Timestamp(f"{july[i_d][6:]}-07-{july[i_d][:2]}T13:30:00Z")
    jan = [r for r in rows if r[i_d][3:5] == "01"][0]
    assert got[jan[i_ref]].strftime("%H:%M") == jan[i_t]
    # months are the local month
    local_month = {r[i_ref]: f"{r[i_d][6:]}-{r[i_d][3:5]}" for r in rows}
    assert (inc["month"] == inc.index.map(local_month)).all()


def test_synthetic_log_custom_wording_is_mapped(synth):
    env, _ = synth
    header, rows = B.read_rows(B.SYNTH_CSV)
    i_ref, i_type = header.index("Case Ref"), header.index("Case Type")
    inc = by_id(env)
    youth = [r[i_ref] for r in rows if r[i_type] == "ASB - Youth nuisance"]
    assert youth, "the synthetic log should use the custom wording"
    assert (inc.loc[youth, "category"] == "nuisance-behaviour").all()
    # the documented aliases map the other wording
    for wording, slug in [("Rowdy behaviour", "nuisance-behaviour"), ("Drug dealing", "drug-activity"),
                          ("Nuisance vehicle", "vehicle-asb"), ("Noise", "noise")]:
        refs = [r[i_ref] for r in rows if r[i_type] == wording]
        assert refs and (inc.loc[refs, "category"] == slug).all(), wording
    assert not inc["sensitive"].astype(bool).any()


# --------------------------------------------------------------------------
# hand-built CSVs
# --------------------------------------------------------------------------
def test_lon_lat_and_easting_northing_give_the_same_place(tmp_path):
    places = synth_places()
    lonlat = [BNG_TO_WGS.transform(e, n) for e, n in places]
    bng_rows = [[f"R{i}", "14/07/2026 10:00", "Noise", f"{e:.0f}", f"{n:.0f}", "Somewhere"]
                for i, (e, n) in enumerate(places)]
    ll_rows = [[f"R{i}", "14/07/2026 10:00", "Noise", f"{lat:.7f}", f"{lon:.7f}", "Somewhere"]
               for i, (lon, lat) in enumerate(lonlat)]
    env_bng = B.make_env(f"sqlite:///{tmp_path}/bng.sqlite")
    env_ll = B.make_env(f"sqlite:///{tmp_path}/ll.sqlite")
    m_bng = load_mapping(write_mapping(tmp_path / "bng.yaml", coords="{x: Easting, y: Northing, crs: EPSG:27700}"))
    ll_header = ["Ref", "When", "Type", "Lat", "Lon", "Where"]
    m_ll = load_mapping(write_mapping(tmp_path / "ll.yaml", coords="{lon: Lon, lat: Lat}"))
    r1 = env_bng.ingest(B.write_csv(tmp_path / "bng.csv", HEADER, bng_rows), mapping=m_bng)
    r2 = env_ll.ingest(B.write_csv(tmp_path / "ll.csv", ll_header, ll_rows), mapping=m_ll)
    assert (r1.stored, r2.stored) == (len(places), len(places)), (r1, r2)
    order = [f"R{i}" for i in range(len(places))]
    a, b = by_id(env_bng).loc[order], by_id(env_ll).loc[order]
    dist = np.hypot(a["x"] - b["x"], a["y"] - b["y"])
    assert (dist < 2).all(), dist.max()
    assert np.allclose(a["x"], [e for e, _ in places]) and np.allclose(a["y"], [n for _, n in places])
    assert np.allclose(b["lon"], [lon for lon, _ in lonlat], atol=1e-6)
    assert (a["ward_code"] == b["ward_code"]).all()


@pytest.mark.parametrize("system", ["lonlat", "bng"])
def test_crs_auto_detects_the_coordinate_system(tmp_path, system):
    places = synth_places(8)
    rows = []
    for i, (e, n) in enumerate(places):
        lon, lat = BNG_TO_WGS.transform(e, n)
        first, second = (f"{lon:.7f}", f"{lat:.7f}") if system == "lonlat" else (f"{e:.0f}", f"{n:.0f}")
        rows.append([f"R{i}", "14/07/2026 10:00", "Noise", first, second, "x"])
    header = ["Ref", "When", "Type", "X", "Y", "Where"]
    mapping = load_mapping(write_mapping(tmp_path / "m.yaml", coords="{x: X, y: Y, crs: auto}"))
    env = B.make_env(f"sqlite:///{tmp_path}/s.sqlite")
    r = env.ingest(B.write_csv(tmp_path / "c.csv", header, rows), mapping=mapping)
    assert r.status == "complete" and r.stored == len(places), r
    inc = by_id(env).loc[[f"R{i}" for i in range(len(places))]]
    assert np.allclose(inc["x"], [e for e, _ in places], atol=2)
    assert np.allclose(inc["y"], [n for _, n in places], atol=2)


def test_crs_auto_refuses_swapped_columns(tmp_path):
    rows = []
    for i, (e, n) in enumerate(synth_places(8)):
        lon, lat = BNG_TO_WGS.transform(e, n)
        rows.append([f"R{i}", "14/07/2026 10:00", "Noise", f"{lat:.7f}", f"{lon:.7f}", "x"])
    mapping = load_mapping(write_mapping(tmp_path / "m.yaml", coords="{x: X, y: Y, crs: auto}"))
    env = B.make_env(f"sqlite:///{tmp_path}/s.sqlite")
    path = B.write_csv(tmp_path / "c.csv", ["Ref", "When", "Type", "X", "Y", "Where"], rows)
    r = env.ingest(path, mapping=mapping)
    assert r.status == "rejected"
    assert "swapped" in r.message and str(path) in r.message
    assert env.count("incidents") == 0


def test_explicit_crs_overrides_detection(tmp_path, capsys):
    """Mapping `crs:` wins over what the numbers look like, and `--crs` wins over the mapping."""
    from hotspot_cli.main import main

    rows = []
    for i, (e, n) in enumerate(synth_places(6)):
        lon, lat = BNG_TO_WGS.transform(e, n)
        rows.append([f"R{i}", "14/07/2026 10:00", "Noise", f"{lon:.7f}", f"{lat:.7f}", "x"])
    path = B.write_csv(tmp_path / "c.csv", ["Ref", "When", "Type", "X", "Y", "Where"], rows)
    wrong = write_mapping(tmp_path / "wrong.yaml", coords="{x: X, y: Y, crs: EPSG:27700}")
    # lon/lat read as metres of British National Grid: all quarantined, outside the area
    env = B.make_env(f"sqlite:///{tmp_path}/a.sqlite")
    r = env.ingest(path, mapping=load_mapping(wrong))
    assert (r.status, r.stored, r.quarantined) == ("complete", 0, len(rows))
    q = env.quarantine(path)
    assert q["row_number"].tolist() == list(range(1, len(rows) + 1))
    assert q["reason"].str.contains("outside").all()
    # the command-line --crs overrides the mapping
    url = f"sqlite:///{tmp_path}/b.sqlite"
    code = main(["--database", url, "ingest", str(path), "--mapping", str(wrong), "--crs", "EPSG:4326", "--quiet"])
    capsys.readouterr()
    assert code == 0
    env_b = B.make_env(url)
    assert env_b.count("incidents") == len(rows)


def test_date_only_rows_cover_the_whole_day(tmp_path):
    e, n = synth_places(1)[0]
    dates = ["14/07/2026", "03/02/2026", "01/11/2025"]
    rows = [[f"D{i}", d, "Noise", str(e), str(n), "x"] for i, d in enumerate(dates)]
    env = B.make_env(f"sqlite:///{tmp_path}/s.sqlite")
    mapping = load_mapping(write_mapping(tmp_path / "m.yaml", coords="{x: Easting, y: Northing}"))
    r = env.ingest(B.write_csv(tmp_path / "c.csv", HEADER, rows), mapping=mapping)
    assert r.stored == len(rows), r
    inc = by_id(env)
    for i, d in enumerate(dates):
        day = datetime.strptime(d, "%d/%m/%Y")
        lo = pd.Timestamp(day.replace(tzinfo=LONDON).astimezone(timezone.utc))
        hi = pd.Timestamp((day + timedelta(days=1)).replace(tzinfo=LONDON).astimezone(timezone.utc))
        assert B.as_utc([inc.loc[f"D{i}", "occurred_from"]])[0] == lo
        assert B.as_utc([inc.loc[f"D{i}", "occurred_to"]])[0] == hi


def test_date_only_interval_on_clock_change_days_is_the_local_calendar_day(tmp_path):
    """29 March 2026 has 23 hours in London and 25 October 2026 has 25: the interval is still midnight to midnight."""
    e, n = synth_places(1)[0]
    dates = ["29/03/2026", "25/10/2026"]
    rows = [[f"D{i}", d, "Noise", str(e), str(n), "x"] for i, d in enumerate(dates)]
    env = B.make_env(f"sqlite:///{tmp_path}/s.sqlite")
    mapping = load_mapping(write_mapping(tmp_path / "m.yaml", coords="{x: Easting, y: Northing}"))
    r = env.ingest(B.write_csv(tmp_path / "c.csv", HEADER, rows), mapping=mapping)
    assert r.stored == len(rows), r
    inc = by_id(env)
    for i, d in enumerate(dates):
        day = datetime.strptime(d, "%d/%m/%Y")
        lo = pd.Timestamp(day.replace(tzinfo=LONDON).astimezone(timezone.utc))
        hi = pd.Timestamp((day + timedelta(days=1)).replace(tzinfo=LONDON).astimezone(timezone.utc))
        got = (B.as_utc([inc.loc[f"D{i}", "occurred_from"]])[0], B.as_utc([inc.loc[f"D{i}", "occurred_to"]])[0])
        assert got == (lo, hi), f"{d}: stored {got[0]} .. {got[1]}, the London day is {lo} .. {hi}"


@pytest.mark.parametrize(("text", "fmt"), [
    ("25/12/2025 22:15", "%d/%m/%Y %H:%M"),
    ("25/12/2025 22:15:30", "%d/%m/%Y %H:%M:%S"),
    ("25-12-2025", "%d-%m-%Y"),
    ("2025-12-25", "%Y-%m-%d"),
    ("25 Dec 2025", "%d %b %Y"),
    ("25 December 2025", "%d %B %Y"),
    ("25/12/2025", "%d/%m/%Y"),
    ("25/12/25", "%d/%m/%y"),
    ("25.12.2025", "%d.%m.%Y"),
    ("2025-12-25T22:15:00", "%Y-%m-%dT%H:%M:%S"),
    ("05/01/2026 09:00", "%d/%m/%Y %H:%M"),  # day first: 5 January, not 1 May
    ("14/07/2026 14:30", "%d/%m/%Y %H:%M"),  # BST
])
def test_uk_date_formats(tmp_path, text, fmt):
    e, n = synth_places(1)[0]
    env = B.make_env(f"sqlite:///{tmp_path}/s.sqlite")
    mapping = load_mapping(write_mapping(tmp_path / "m.yaml", coords="{x: Easting, y: Northing}"))
    r = env.ingest(B.write_csv(tmp_path / "c.csv", HEADER, [["R1", text, "Noise", str(e), str(n), "x"]]), mapping=mapping)
    assert r.stored == 1, (r, env.quarantine(tmp_path / "c.csv").to_dict("records"))
    inc = env.incidents()
    assert B.as_utc(inc["occurred_from"])[0] == local_to_utc(text, fmt)
    has_time = "%H" in fmt
    span = B.as_utc(inc["occurred_to"])[0] - B.as_utc(inc["occurred_from"])[0]
    assert span == (pd.Timedelta(0) if has_time else pd.Timedelta(days=1))


def test_separate_time_column(tmp_path):
    e, n = synth_places(1)[0]
    header = ["Ref", "Date", "Time", "Type", "Easting", "Northing", "Where"]
    rows = [["T1", "14/07/2026", "14:30", "Noise", str(e), str(n), "x"],
            ["T2", "14/01/2026", "14:30", "Noise", str(e), str(n), "x"],
            ["T3", "14/01/2026", "", "Noise", str(e), str(n), "x"],
            ["T4", "14/01/2026", "25:61", "Noise", str(e), str(n), "x"]]
    env = B.make_env(f"sqlite:///{tmp_path}/s.sqlite")
    mapping = load_mapping(write_mapping(tmp_path / "m.yaml", coords="{x: Easting, y: Northing}",
                                         date="{column: Date, time_column: Time}"))
    path = B.write_csv(tmp_path / "c.csv", header, rows)
    r = env.ingest(path, mapping=mapping)
    assert (r.rows_read, r.stored, r.quarantined) == (4, 3, 1)
    inc = by_id(env)
    assert B.as_utc([inc.loc["T1", "occurred_from"]])[0] == pd.Timestamp("2026-07-14T13:30:00Z")
    assert B.as_utc([inc.loc["T2", "occurred_from"]])[0] == pd.Timestamp("2026-01-14T14:30:00Z")
    t3 = B.as_utc([inc.loc["T3", "occurred_from"], inc.loc["T3", "occurred_to"]])
    assert (t3[0], t3[1]) == (pd.Timestamp("2026-01-14T00:00:00Z"), pd.Timestamp("2026-01-15T00:00:00Z"))
    q = env.quarantine(path)
    assert q["row_number"].tolist() == [4] and q["field"].tolist() == ["Time"]


def test_clock_change_hours_do_not_crash(tmp_path):
    e, n = synth_places(1)[0]
    rows = [["A1", "25/10/2026 01:30", "Noise", str(e), str(n), "repeated hour"],
            ["A2", "29/03/2026 01:30", "Noise", str(e), str(n), "missing hour"],
            ["A3", "25/10/2026 00:59", "Noise", str(e), str(n), "before"],
            ["A4", "29/03/2026 03:00", "Noise", str(e), str(n), "after"]]
    env = B.make_env(f"sqlite:///{tmp_path}/s.sqlite")
    mapping = load_mapping(write_mapping(tmp_path / "m.yaml", coords="{x: Easting, y: Northing}"))
    r = env.ingest(B.write_csv(tmp_path / "c.csv", HEADER, rows), mapping=mapping)
    assert (r.status, r.stored, r.quarantined) == ("complete", 4, 0), r
    inc = by_id(env)
    t = {k: B.as_utc([inc.loc[k, "occurred_from"]])[0] for k in inc.index}
    # 01:30 on 25 October happens twice: 00:30 or 01:30 UTC
    assert t["A1"] in (pd.Timestamp("2026-10-25T00:30:00Z"), pd.Timestamp("2026-10-25T01:30:00Z"))
    # 01:30 on 29 March does not exist; whatever is stored lies between 01:00 GMT and 02:00 BST
    assert pd.Timestamp("2026-03-29T00:30:00Z") <= t["A2"] <= pd.Timestamp("2026-03-29T01:30:00Z")
    assert t["A3"] == pd.Timestamp("2026-10-24T23:59:00Z")
    assert t["A4"] == pd.Timestamp("2026-03-29T02:00:00Z")
    assert (inc.loc[["A1", "A3"], "month"] == "2026-10").all()


def test_unknown_category_wording_is_quarantined_with_a_hint(tmp_path):
    e, n = synth_places(1)[0]
    rows = [["C1", "14/07/2026", "Loud music", str(e), str(n), "x"],
            ["C2", "14/07/2026", "Dumped rubbish", str(e), str(n), "x"],
            ["C3", "14/07/2026", "Pigeons", str(e), str(n), "x"]]
    env = B.make_env(f"sqlite:///{tmp_path}/s.sqlite")
    mpath = write_mapping(tmp_path / "m.yaml", coords="{x: Easting, y: Northing}")
    path = B.write_csv(tmp_path / "c.csv", HEADER, rows)
    r = env.ingest(path, mapping=load_mapping(mpath))
    assert (r.stored, r.quarantined) == (2, 1)
    inc = by_id(env)
    assert inc.loc["C1", "category"] == "noise" and inc.loc["C2", "category"] == "fly-tipping"
    q = env.quarantine(path)
    assert q["row_number"].tolist() == [3] and q["field"].tolist() == ["Type"]
    assert "Pigeons" in q["reason"][0] and "values" in q["reason"][0]


def test_mapping_errors_name_the_file_and_key(tmp_path):
    bad_target = tmp_path / "bad_target.yaml"
    bad_target.write_text("source: x\ncategory: {column: T, values: {Foo: not-a-category}}\n"
                          "date: {column: D}\ncoordinates: {x: X, y: Y}\n")
    with pytest.raises(MappingError, match="not-a-category"):
        load_mapping(bad_target)
    no_date = tmp_path / "no_date.yaml"
    no_date.write_text("source: x\ncategory: {column: T}\ncoordinates: {x: X, y: Y}\n")
    with pytest.raises(MappingError) as info:
        load_mapping(no_date)
    assert "date" in str(info.value) and str(no_date) in str(info.value)
    bad_crs = tmp_path / "bad_crs.yaml"
    bad_crs.write_text("source: x\ncategory: {column: T}\ndate: {column: D}\ncoordinates: {x: X, y: Y, crs: EPSG:3857}\n")
    with pytest.raises(MappingError, match="EPSG:3857"):
        load_mapping(bad_crs)


# --------------------------------------------------------------------------
# vector layers: GeoJSON, GeoPackage, GeoParquet
# --------------------------------------------------------------------------
def _points_frame(dates: list[str]) -> gpd.GeoDataFrame:
    places = synth_places(len(dates))
    return gpd.GeoDataFrame(
        {"Ref": [f"V{i}" for i in range(len(dates))], "When": dates,
         "Type": (["Noise", "Loud music", "Graffiti", "Begging", "Dumped rubbish", "Drug litter"] * 2)[:len(dates)],
         "Where": [f"place {i}" for i in range(len(dates))]},
        geometry=[Point(e, n) for e, n in places], crs=27700)


def _write(gdf: gpd.GeoDataFrame, path: Path) -> Path:
    if path.suffix == ".parquet":
        gdf.to_parquet(path)
    elif path.suffix == ".geojson":
        gdf.to_crs(4326).to_file(path, driver="GeoJSON")  # GeoJSON is lon/lat (RFC 7946)
    else:
        gdf.to_file(path, driver="GPKG")
    return path


def _ingest_formats(tmp_path: Path, gdf: gpd.GeoDataFrame) -> dict[str, pd.DataFrame]:
    mapping = load_mapping(write_mapping(tmp_path / "m.yaml", coords="{x: Easting, y: Northing, crs: auto}"))
    out = {}
    csv_rows = [[r.Ref, r.When, r.Type, f"{r.geometry.x:.0f}", f"{r.geometry.y:.0f}", r.Where] for r in gdf.itertuples()]
    inputs = {"csv": B.write_csv(tmp_path / "layer.csv", HEADER, csv_rows)}
    for ext in ("geojson", "gpkg", "parquet"):
        inputs[ext] = _write(gdf, tmp_path / f"layer.{ext}")
    for name, path in inputs.items():
        env = B.make_env(f"sqlite:///{tmp_path}/{name}.sqlite")
        r = env.ingest(path, mapping=mapping)
        assert r.status == "complete", r.message
        assert (r.rows_read, r.stored, r.quarantined) == (len(gdf), len(gdf), 0), (name, env.quarantine(path).to_dict("records"))
        out[name] = env.incidents().drop(columns=["ingest_id"])
    return out


def _assert_same(frames: dict[str, pd.DataFrame]) -> None:
    base = frames["csv"]
    for name, df in frames.items():
        assert (df["incident_id"] == base["incident_id"]).all(), name
        assert np.allclose(df["x"], base["x"], atol=0.5) and np.allclose(df["y"], base["y"], atol=0.5), name
        for col in ("category", "source_ref", "location_text", "ward_code", "lsoa_code", "month"):
            assert (df[col] == base[col]).all(), (name, col)
        for col in ("occurred_from", "occurred_to"):
            assert (B.as_utc(df[col]) == B.as_utc(base[col])).all(), (name, col, df[col].tolist(), base[col].tolist())


def test_vector_layers_ingest_like_the_csv(tmp_path):
    dates = ["14/07/2026 14:30", "14/01/2026 09:05", "03/03/2026", "25 Dec 2025", "01-06-2026 23:59", "14/07/2026"]
    frames = _ingest_formats(tmp_path, _points_frame(dates))
    _assert_same(frames)
    csv = frames["csv"].set_index("incident_id")
    assert B.as_utc([csv.loc["test-council:V0", "occurred_from"]])[0] == pd.Timestamp("2026-07-14T13:30:00Z")
    assert csv.loc["test-council:V1", "category"] == "noise"


def test_vector_layers_with_iso_date_text_ingest_like_the_csv(tmp_path):
    """ISO dates are common in exports; GDAL reads ISO-looking GeoJSON strings as date-times."""
    dates = ["2026-07-14 14:30", "2026-01-14", "2026-03-03T08:15:00", "2025-12-25"]
    frames = _ingest_formats(tmp_path, _points_frame(dates))
    _assert_same(frames)
    csv = frames["csv"].set_index("incident_id")
    span = B.as_utc([csv.loc["test-council:V1", "occurred_to"]])[0] - B.as_utc([csv.loc["test-council:V1", "occurred_from"]])[0]
    assert span == pd.Timedelta(days=1)


@pytest.mark.parametrize("ext", ["gpkg", "parquet"])
def test_vector_layers_with_typed_datetime_columns(tmp_path, ext):
    """A real date-time column (naive local, or timezone-aware) means the same instant as its text."""
    local = pd.to_datetime(["2026-07-14 14:30", "2026-01-14 09:05"])
    mapping = load_mapping(write_mapping(tmp_path / "m.yaml", coords="{x: Easting, y: Northing, crs: auto}"))
    expected = [pd.Timestamp("2026-07-14T13:30:00Z"), pd.Timestamp("2026-01-14T09:05:00Z")]
    for label, when in [("naive", local), ("aware", local.tz_localize("Europe/London"))]:
        gdf = _points_frame(["x", "y"]).assign(When=when)
        path = _write(gdf, tmp_path / f"{label}.{ext}")
        env = B.make_env(f"sqlite:///{tmp_path}/{label}.sqlite")
        r = env.ingest(path, mapping=mapping)
        assert (r.status, r.stored, r.quarantined) == ("complete", 2, 0), (label, env.quarantine(path)["reason"].tolist())
        got = B.as_utc(env.incidents()["occurred_from"]).tolist()
        assert got == expected, label


def test_polygon_feature_in_a_point_layer_is_quarantined(tmp_path):
    gdf = _points_frame(["14/07/2026 14:30", "14/07/2026 15:00", "14/07/2026 16:00"])
    e, n = gdf.geometry.iloc[1].x, gdf.geometry.iloc[1].y
    gdf.loc[1, "geometry"] = Polygon([(e, n), (e + 50, n), (e + 50, n + 50), (e, n + 50)])
    path = _write(gdf, tmp_path / "mixed.geojson")
    mapping = load_mapping(write_mapping(tmp_path / "m.yaml", coords="{x: Easting, y: Northing}"))
    env = B.make_env(f"sqlite:///{tmp_path}/s.sqlite")
    r = env.ingest(path, mapping=mapping)
    assert r.status == "complete"
    assert (r.rows_read, r.stored, r.quarantined) == (3, 2, 1)
    q = env.quarantine(path)
    assert q["row_number"].tolist() == [2]
    assert "Point" in q["reason"][0] and "Polygon" in q["reason"][0]
    assert set(env.incidents()["source_ref"]) == {"V0", "V2"}


# --------------------------------------------------------------------------
# user-supplied estates and parks
# --------------------------------------------------------------------------
def test_points_in_estates_and_parks_get_their_ids(tmp_path):
    from spatial.layers import store_area_layer

    estates = gpd.read_file(B.ESTATES).to_crs(27700)
    parks = gpd.read_file(B.PARKS).to_crs(27700)
    probes = [(f"E-{r.estate_id}", r.geometry.representative_point()) for r in estates.itertuples()]
    probes += [(f"P-{r.park_id}", r.geometry.representative_point()) for r in parks.itertuples()]
    outside = Point(synth_places(1)[0])
    assert not estates.union_all().contains(outside) and not parks.union_all().contains(outside)
    probes.append(("NONE", outside))
    rows = [[ref, "14/07/2026 10:00", "Noise", f"{p.x:.3f}", f"{p.y:.3f}", "x"] for ref, p in probes]
    path = B.write_csv(tmp_path / "c.csv", HEADER, rows)
    mapping = load_mapping(write_mapping(tmp_path / "m.yaml", coords="{x: Easting, y: Northing}"))

    env = B.make_env(f"sqlite:///{tmp_path}/s.sqlite")
    assert store_area_layer(env.engine, "estates", B.ESTATES, id_column="estate_id", name_column="estate_name") == len(estates)
    assert store_area_layer(env.engine, "parks", B.PARKS, id_column="park_id") == len(parks)
    env.rebuild_attributor()
    r = env.ingest(path, mapping=mapping)
    assert r.stored == len(probes), r
    inc = by_id(env)
    for ref, _p in probes:
        want_estate = ref[2:] if ref.startswith("E-") else None
        want_park = ref[2:] if ref.startswith("P-") else None
        got_estate = inc.loc[ref, "estate_id"]
        got_park = inc.loc[ref, "park_id"]
        assert (None if pd.isna(got_estate) else got_estate) == want_estate, ref
        assert (None if pd.isna(got_park) else got_park) == want_park, ref
    # wards are still attributed as before
    wards = gpd.read_file(B.DATA / "boundaries" / "wards_2018.gpkg")
    for ref, p in probes:
        containing = wards[wards.contains(p)]["ward_code"].tolist()
        assert containing == [inc.loc[ref, "ward_code"]], ref


def test_without_estate_layer_estate_id_is_empty(tmp_path):
    estates = gpd.read_file(B.ESTATES).to_crs(27700)
    p = estates.geometry.iloc[0].representative_point()
    path = B.write_csv(tmp_path / "c.csv", HEADER, [["E1", "14/07/2026 10:00", "Noise", f"{p.x:.3f}", f"{p.y:.3f}", "x"]])
    mapping = load_mapping(write_mapping(tmp_path / "m.yaml", coords="{x: Easting, y: Northing}"))
    env = B.make_env(f"sqlite:///{tmp_path}/s.sqlite")
    r = env.ingest(path, mapping=mapping)
    assert r.stored == 1
    assert env.incidents()["estate_id"].isna().all()
