"""The SYNTHETIC West Kent case log end to end (issue 14 item 4).

ingest (council-export path, the West Kent mapping) -> league table by scheme with rates per
1,000 homes -> emerging classes and CCTV sites on schemes -> repeat locations -> not-ASB kept
apart.  Expected counts are computed here from the CSV and the schemes file with the csv module
and shapely, independently of the ingest.
"""

from __future__ import annotations

import csv
import filecmp
import gzip
import importlib.util
import warnings

import _builders as B  # first: puts the repository root on sys.path
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import yaml
from pyproj import Transformer

from hotspot_cli.main import main
from spatial.analysis import compute_emerging, compute_hotspots
from spatial.area_profiles import area_layers, get_area
from spatial.areas import month_range
from spatial.hotspots.repeats import repeat_case_locations
from spatial.ingest import load_mapping
from spatial.layers import stored_area_layer
from spatial.not_asb import POLICY_REFERENCE
from spatial.schemes import apportion_residents, scheme_league
from spatial.store import connect
from spatial.store.queries import incident_frame
from tasking.access import Viewer
from tasking.candidates import cctv_demand
from tasking.housing import repeat_locations_view, scheme_camera_sites
from tasking.resources import load_roster

SYN = B.DATA / "synthetic"
CASES = SYN / "west_kent_cases_SYNTHETIC.csv"
SYN_MAPPING = SYN / "west_kent_cases_SYNTHETIC.mapping.yaml"
SCHEMES = SYN / "west_kent_schemes_SYNTHETIC.geojson"
WK_MAPPING = B.REPO / "spatial" / "data" / "west_kent_case_mapping.yaml"
MONTHS = month_range("2025-01", "2025-12")
TO_BNG = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)


def _cases() -> list[dict[str, str]]:
    with open(CASES, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _run(capsys, *argv: str) -> str:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """db init, area use west-kent, load the schemes (with homes), ingest the case log."""
    url = f"sqlite:///{tmp_path_factory.mktemp('wk')}/wk.sqlite"
    assert main(["--database", url, "db", "init"]) == 0
    assert main(["--database", url, "area", "use", "west-kent"]) == 0
    assert main(["--database", url, "layers", "estates", str(SCHEMES), "--id-column", "scheme_id",
                 "--name-column", "name", "--homes-column", "homes"]) == 0
    assert main(["--database", url, "ingest", "--quiet", str(CASES), "--mapping", str(SYN_MAPPING)]) == 0
    return url, connect(url)


def _expected_scheme_of_case() -> tuple[list[dict[str, str]], np.ndarray, gpd.GeoDataFrame]:
    cases = _cases()
    schemes = gpd.read_file(SCHEMES).to_crs(27700)
    x, y = TO_BNG.transform(np.array([float(c["Longitude"]) for c in cases]),
                            np.array([float(c["Latitude"]) for c in cases]))
    owner = np.full(len(cases), None, dtype=object)
    for sid, geom in zip(schemes["scheme_id"], schemes.geometry, strict=True):
        owner[shapely.contains_xy(geom, x, y)] = sid
    return cases, owner, schemes


# ------------------------------------------------------------------ the files


def test_the_script_regenerates_the_bundled_files_byte_for_byte(tmp_path):
    spec = importlib.util.spec_from_file_location("wk", B.REPO / "scripts" / "make_synthetic_west_kent_cases.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    res = mod.generate(seed=mod.DEFAULT_SEED, rows=mod.DEFAULT_ROWS, out_dir=tmp_path,
                       policeuk=B.DATA / "policeuk" / "west_kent")
    for name in (CASES.name, SYN_MAPPING.name, SCHEMES.name, "west_kent_SYNTHETIC_README.md"):
        assert filecmp.cmp(tmp_path / name, SYN / name, shallow=False), name
    assert res["rows"] == len(_cases()) and res["schemes"] == 12
    other = tmp_path / "other"
    mod.generate(seed=mod.DEFAULT_SEED + 1, rows=300, out_dir=other, policeuk=B.DATA / "policeuk" / "west_kent")
    assert (other / CASES.name).read_bytes() != CASES.read_bytes()


def test_every_row_and_scheme_says_synthetic_and_sits_on_a_real_snap_point():
    real = set()
    for p in sorted((B.DATA / "policeuk" / "west_kent").glob("2025-*.csv.gz")):
        with gzip.open(p, "rt", encoding="utf-8", newline="") as fh:
            real |= {(r["Longitude"], r["Latitude"], r["Location"]) for r in csv.DictReader(fh)}
    cases = _cases()
    assert len(cases) > 2000
    assert {c["SYNTHETIC"] for c in cases} == {"yes"} and all(c["Case Ref"].startswith("SYN-WK-") for c in cases)
    assert all((c["Longitude"], c["Latitude"], c["Location"]) in real for c in cases)
    schemes = gpd.read_file(SCHEMES)
    assert set(schemes["SYNTHETIC"]) == {"yes"} and schemes["name"].str.startswith("SYNTHETIC Scheme").all()
    assert schemes["homes"].isna().sum() == 2 and (schemes["homes"].dropna() > 0).all()
    # the synthetic mapping is the shipped West Kent mapping with only the source renamed
    shipped, syn = yaml.safe_load(WK_MAPPING.read_text()), yaml.safe_load(SYN_MAPPING.read_text())
    assert syn.pop("source") == "west-kent-cases-SYNTHETIC" and shipped.pop("source") == "west-kent-cases"
    assert syn == shipped
    # every case type in the log is mapped
    m = load_mapping(WK_MAPPING)
    assert {c["Case Type"] for c in cases} <= set(m.category_values)


# ------------------------------------------------------------------ end to end


def test_ingest_reconciles_and_attributes_cases_to_schemes(store):
    url, engine = store
    cases, owner, _ = _expected_scheme_of_case()
    ing = pd.read_sql("SELECT rows_read, stored, duplicates, quarantined, outside FROM ingests", engine).iloc[0]
    assert ing["rows_read"] == len(cases)
    assert ing["rows_read"] == ing["stored"] + ing["duplicates"] + ing["quarantined"] + ing["outside"]
    assert (ing["stored"], ing["quarantined"], ing["outside"]) == (len(cases), 0, 0)
    stored = pd.read_sql("SELECT source, source_ref, category, sensitive, estate_id FROM incidents", engine)
    assert set(stored["source"]) == {"west-kent-cases-SYNTHETIC"}
    got = stored.set_index("source_ref")["estate_id"]
    want = pd.Series(owner, index=[c["Case Ref"] for c in cases])
    assert got.reindex(want.index).fillna("-").tolist() == want.fillna("-").tolist()
    assert 0.6 < want.notna().mean() < 0.85  # most cases are on the schemes, by construction
    # categories: West Kent's wording mapped; sensitive flags from the taxonomy
    m = load_mapping(WK_MAPPING)
    want_cat = pd.Series([m.category_values[c["Case Type"]] for c in cases]).value_counts().sort_index()
    assert stored["category"].value_counts().sort_index().to_dict() == want_cat.to_dict()
    assert set(stored.loc[stored["sensitive"].astype(bool), "category"]) == {"domestic-abuse", "violent-crime"}


def test_not_asb_reports_are_stored_counted_and_kept_out_of_hotspots(store, capsys):
    url, engine = store
    m = load_mapping(WK_MAPPING)
    cases = _cases()
    n_not_asb = sum(c["Case Type"] in m.not_asb_values for c in cases)
    assert n_not_asb > 300
    every = incident_frame(engine, include_sensitive=True, include_not_asb=True)
    default = incident_frame(engine)
    assert len(every) == len(cases)
    assert not default["category"].str.startswith("not-asb").any()
    n_sensitive = sum(m.category_values[c["Case Type"]] in ("domestic-abuse", "violent-crime") for c in cases)
    assert len(default) == len(cases) - n_not_asb - n_sensitive
    out = _run(capsys, "--database", url, "status")
    assert "not-asb-children-playing" in out  # counted in status
    assert f"{n_not_asb:,} of them are reports that are not ASB under {POLICY_REFERENCE}" in out  # West Kent's own
    wk = area_layers(engine, get_area(engine, "west-kent"), data_dir=B.DATA)
    open_ = incident_frame(engine, include_not_asb=True)  # as a caller that forgot the default would read
    hot = compute_hotspots(open_, wk.districts, method="kde", months=MONTHS)
    used = hot.attrs["params"]["n_incidents_used"]
    assert used == len(open_) - n_not_asb == len(default)  # hotspots drop the not-ASB reports themselves too


def test_league_table_by_scheme_with_rates_per_1000_homes(store):
    _, engine = store
    cases, owner, schemes = _expected_scheme_of_case()
    m = load_mapping(WK_MAPPING)
    layer = stored_area_layer(engine, "estates")
    assert layer is not None and int(layer["homes"].notna().sum()) == 10
    wk = area_layers(engine, get_area(engine, "west-kent"), data_dir=B.DATA)
    residents = apportion_residents(layer, wk.lsoas, wk.lsoas.set_index("lsoa_code")["population"])
    inc = incident_frame(engine, include_sensitive=True, include_not_asb=True)
    lt = scheme_league(inc, layer, residents=residents, sort_by="rate").set_index("area_code")
    assert len(lt) == 12
    homes = schemes.set_index("scheme_id")["homes"]
    for sid in schemes["scheme_id"]:
        asb = [c for c, o in zip(cases, owner, strict=True)
               if o == sid and c["Case Type"] not in m.not_asb_values]
        apart = sum(1 for c, o in zip(cases, owner, strict=True) if o == sid and c["Case Type"] in m.not_asb_values)
        row = lt.loc[sid]
        assert row["count_non_sensitive"] == sum(m.category_values[c["Case Type"]] not in ("domestic-abuse",
                                                                                            "violent-crime")
                                                 for c in asb)
        assert row["not_asb_reports"] == apart
        if pd.notna(homes[sid]):
            assert row["denominator"] == "homes" and row["rate_basis"] == "per 1,000 homes (stock layer)"
            if not row["suppressed"]:
                assert row["count"] == len(asb)
                assert row["rate"] == pytest.approx(len(asb) / homes[sid] * 1000)
        else:
            assert row["denominator"] == "residents-area" and residents[sid] > 0
            assert "per 1,000 residents" in row["rate_basis"]
    assert lt.attrs["denominators"] == {"homes": 10, "residents-area": 2}
    ranked = lt.sort_values("rank")
    assert ranked["rate"].dropna().is_monotonic_decreasing


def test_emerging_classes_and_cctv_sites_on_schemes(store):
    _, engine = store
    layer = stored_area_layer(engine, "estates")
    assert layer is not None
    inc = incident_frame(engine)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scattered schemes have no queen neighbours (DataWarning)
        res = compute_emerging(layer, unit_kind="estates", months=MONTHS, incidents=inc, weights="distance",
                               distance_m=20000.0)
    assert len(res) == 12 and res["trend_class"].notna().all()
    assert res.attrs["params"]["n_incidents_used"] == len(inc)
    roster = load_roster(B.REPO / "tasking" / "data" / "rbkc_roster.yaml")
    demand = cctv_demand(inc, monitored=roster.fixed_cctv.monitored, planning=roster.planning, window_weeks=52.0)
    sites = scheme_camera_sites(layer, demand, radius_m=100.0, top=4)
    assert len(sites) == 4
    geoms = dict(zip(layer["area_id"], layer.geometry, strict=True))
    for s in sites:
        # on the scheme, at a demand point's centre, and labelled as needing a survey
        assert geoms[s.site_id.removeprefix("S-")].buffer(50.0).contains(shapely.Point(s.x, s.y))
        assert "needs a site survey" in s.source


def test_repeat_locations_for_the_chair_and_a_partner(store):
    _, engine = store
    inc = incident_frame(engine, include_sensitive=True)
    chair = repeat_locations_view(inc, Viewer("cath", "chair"))
    assert chair.points is not None and len(chair.points) >= 10
    # independent check of the top repeat location: its cases within 183 days at that point
    top = chair.points.iloc[0]
    x, y = inc["x"].to_numpy(float), inc["y"].to_numpy(float)
    here = inc[(np.round(x) == top["x"]) & (np.round(y) == top["y"]) & ~inc["sensitive"].astype(bool)]
    t = pd.to_datetime(here["occurred_from"], utc=True).sort_values().to_numpy()
    best = max(int(np.searchsorted(t, v + np.timedelta64(183, "D"), side="left")) - i for i, v in enumerate(t))
    assert best == top["max_in_window"] >= 3
    # sensitive repeat locations (the two domestic-abuse bursts at least) are counted, never points
    sens_rep = repeat_case_locations(inc[inc["sensitive"].astype(bool)])
    assert len(sens_rep) >= 2
    assert all("domestic-abuse" not in c and "violent-crime" not in c for c in chair.points["categories"])
    by = chair.by_area[chair.by_area["kind"] == "sensitive"]
    assert int(by["repeat_locations"].fillna(0).sum()) + int(by["display"].str.startswith("fewer").sum()) >= 1
    small = by["display"].str.startswith("fewer than 5")
    assert by.loc[small, "cases"].isna().all() and (by.loc[~small, "cases"] >= 5).all()
    partner = repeat_locations_view(inc, Viewer("pat", "partner"))
    assert partner.points is None and not {"x", "y", "location_text"} & set(partner.by_area.columns)
    assert int(partner.by_area.loc[partner.by_area["kind"] == "non-sensitive", "repeat_locations"].sum()) \
        == len(chair.points)


def test_a_broken_row_is_quarantined_with_file_row_and_field(tmp_path, capsys):
    rows = _cases()
    bad = dict(rows[5], **{"Date Reported": "31/02/2025"})
    path = tmp_path / "cases.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows([*rows[:5], bad])
    url = f"sqlite:///{tmp_path}/b.sqlite"
    assert main(["--database", url, "db", "init"]) == 0
    assert main(["--database", url, "ingest", "--quiet", "--area", "west-kent", str(path), "--mapping",
                 str(SYN_MAPPING)]) == 0
    capsys.readouterr()
    q = pd.read_sql("SELECT row_number, field, reason FROM quarantine", connect(url))
    assert q[["row_number", "field"]].values.tolist() == [[6, "Date Reported"]]
    assert "31/02/2025" in q["reason"].iloc[0]
    ing = pd.read_sql("SELECT rows_read, stored, quarantined FROM ingests", connect(url)).iloc[0]
    assert (ing["rows_read"], ing["stored"], ing["quarantined"]) == (6, 5, 1)


def test_synthetic_files_are_listed_in_the_manifest():
    with open(B.DATA / "MANIFEST.csv", encoding="utf-8", newline="") as fh:
        paths = {r["path"] for r in csv.DictReader(fh)}
    for p in (CASES, SYN_MAPPING, SCHEMES, SYN / "west_kent_SYNTHETIC_README.md"):
        assert p.relative_to(B.DATA).as_posix() in paths
    assert "west_kent_cases_SYNTHETIC.csv" in (B.DATA / "SOURCES.md").read_text(encoding="utf-8")


def test_schemes_commands_print_the_denominator_and_never_a_sensitive_point(store, capsys, tmp_path):
    url, _ = store
    out = _run(capsys, "--database", url, "schemes", "league", "--out", str(tmp_path / "league.csv"))
    assert "per 1,000 homes (stock layer)" in out and "per 1,000 residents" in out
    assert "rates: 10 per homes; 2 per residents-area" in out
    league = pd.read_csv(tmp_path / "league.csv")
    assert len(league) == 12 and set(league["rate_basis"].str.split(" \\(").str[0]) == {
        "per 1,000 homes", "per 1,000 residents"}
    assert league["rank"].tolist() == sorted(league["rank"])
    out = _run(capsys, "--database", url, "schemes", "repeats", "--out", str(tmp_path / "rep.csv"))
    rep = pd.read_csv(tmp_path / "rep.csv")
    assert len(rep) >= 10 and not rep["categories"].str.contains("domestic-abuse|violent-crime").any()
    assert "3 or more cases within 183 days" in out
    out = _run(capsys, "--database", url, "schemes", "cctv")
    assert "proposed sites need a survey" in out and "SYN-S01" in out


def test_schemes_without_a_layer_says_how_to_load_one(tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/e.sqlite"
    assert main(["--database", url, "db", "init"]) == 0
    assert main(["--database", url, "schemes", "league"]) == 2
    err = capsys.readouterr().err
    assert "no schemes (estates) layer is loaded" in err and "--homes-column" in err
