"""The Overview page and the Hotspots page's issue-5 parts: AppTest on small real stores, and their pure helpers.

Stores (each built once per module):

* ``store`` - real police.uk RBKC street crime (June 2018), the real RBKC
  violence and sexual offences file (Jan-Sep 2024, **sensitive**) and the real
  MPS monthly ward tables (April 2010 - March 2026);
* ``neighbours`` - the real Westminster and Hammersmith & Fulham police.uk
  points (July 2017 - June 2018), 12 months for emerging hotspots;
* ``council`` - June 2018 police.uk plus the **SYNTHETIC** seeded council ASB log
  (``data/synthetic``, generated, not real records) for the time-of-day profile.

Expected values are computed independently from the raw files (the MPS wide
CSV, shapely point-in-polygon) wherever the page shows a number.  Hand-made
frames are labelled as such where they are built.
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from _apptest import assert_ok as _ok
from _apptest import folium_script as _folium_script
from _apptest import frame, open_page, texts
from _signin import sign_in
from shapely.geometry import box
from streamlit.testing.v1 import AppTest

from hotspot_cli.main import main as cli_main
from spatial.datasets import HAMMERSMITH_FULHAM, RBKC, load_wards
from spatial.hotspots import time_profile
from spatial.layers import store_area_layer
from spatial.series import mps_major_table
from spatial.store import connect
from spatial.store.queries import incident_frame
from spatial.trends import CLASSES
from tasking.resources import CameraSite, load_roster
from ui import analysis, maps, overview, planning, state
from ui.text import md_unescape

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
DATA = REPO / "data"
SMALL_POLICE_UK = DATA / "policeuk" / "rbkc_api_2018-06"
VSO_2024 = DATA / "policeuk" / "rbkc_vso_2024"
NEIGHBOURS = DATA / "policeuk" / "neighbours_api"
MPS_FILES = sorted((DATA / "mps").glob("*.csv"))
MPS_LATEST = DATA / "mps" / "rbkc_ward_monthly_2024-03_to_2026-03.csv"
# data/SOURCES.md: months up to 2026-02 come from the 2024-02..2026-02 release, 2026-03 from the newest one
MPS_TO_FEB_2026 = DATA / "mps" / "rbkc_ward_monthly_2024-02_to_2026-02.csv"
SYNTHETIC_LOG = DATA / "synthetic" / "rbkc_council_asb_log_SYNTHETIC.csv"
SYNTHETIC_MAPPING = DATA / "synthetic" / "rbkc_council_asb_log_SYNTHETIC.mapping.yaml"
ESTATES = REPO / "tests" / "data" / "estates_HANDMADE.geojson"
OVERVIEW, HOTSPOTS = "ui/pages/overview.py", "ui/pages/hotspots.py"
APP_TIMEOUT_S = 180
HF_YEAR = ("2017-07", "2018-06")


# --------------------------------------------------------------------------
# fixtures and helpers
# --------------------------------------------------------------------------
def _ingest(url: str, *paths: Path, mapping: Path | None = None) -> None:
    args = ["--database", url, "ingest", *map(str, paths), "--quiet"]
    if mapping is not None:
        args += ["--mapping", str(mapping)]
    assert cli_main(args) == 0


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('overview') / 'hotspot.sqlite'}"
    _ingest(url, SMALL_POLICE_UK, VSO_2024, *MPS_FILES)
    return url


@pytest.fixture(scope="module")
def neighbours(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('neighbours') / 'hotspot.sqlite'}"
    _ingest(url, NEIGHBOURS)
    return url


@pytest.fixture(scope="module")
def council(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('council') / 'hotspot.sqlite'}"
    _ingest(url, SMALL_POLICE_UK)
    _ingest(url, SYNTHETIC_LOG, mapping=SYNTHETIC_MAPPING)
    return url


def _page(url: str, page: str, monkeypatch: pytest.MonkeyPatch, **session: Any) -> AppTest:
    return open_page(url, page, monkeypatch, today=None, timeout_s=APP_TIMEOUT_S, **session)


def _texts(at: AppTest) -> list[str]:
    return texts(at, metrics=True)


def _everything(at: AppTest) -> str:
    """Every text and every table cell the page shows, as one string."""
    parts = _texts(at) + [d.value.to_csv() for d in at.dataframe]
    for c in at.get("component_instance"):
        parts.append(json.loads(c.proto.json_args).get("script", ""))
    return "\n".join(parts)


def _table(at: AppTest, first_column: str) -> pd.DataFrame:
    return frame(at, first_column)


def _read_mps(path: Path) -> pd.DataFrame:
    """An MPS wide CSV with lower-case column names (the releases spell them differently)."""
    raw = pd.read_csv(path)
    return raw.rename(columns=str.lower)


def _mps_month_by_group(month: str) -> dict[str, int]:
    """Counts of one month per product group, straight from the MPS wide CSV of that month (not the store)."""
    raw = _read_mps(MPS_LATEST if month == "2026-03" else MPS_TO_FEB_2026)
    col = month.replace("-", "")
    groups = raw["majortext"].map(mps_major_table()["group"]).replace({"fraud": "other"})
    return {g: int(v) for g, v in raw.groupby(groups)[col].sum().items()}


# --------------------------------------------------------------------------
# Overview: pure helpers
# --------------------------------------------------------------------------
def test_comparison_periods_span_a_year_boundary_and_say_when_a_period_has_no_data() -> None:
    p = overview.comparison_periods("2026-01", "2026-03")
    assert p.this == ("2026-01", "2026-02", "2026-03")
    assert p.previous == ("2025-10", "2025-11", "2025-12")
    assert p.last_year == ("2025-01", "2025-02", "2025-03")
    assert overview.coverage_note("Same period last year", p.last_year, ["2026-01"], source="x") == (
        "Same period last year (2025-01 to 2025-03): no data — x cover none of these months.")
    partial = overview.coverage_note("Previous period", p.previous, ["2025-12"], source="x")
    assert partial is not None and "data for 1 of 3 months only" in partial
    assert overview.coverage_note("This period", p.this, list(p.this), source="x") is None
    # the boundary trickle of a neighbour's police.uk pull is not coverage
    assert overview.covered_months(pd.Series({"2018-05": 30, "2018-06": 2500, "2024-01": 353})) == [
        "2018-06", "2024-01"]


def test_suppression_hides_small_sensitive_counts_and_every_figure_that_would_reveal_them() -> None:
    # HAND-MADE counts (not data): ward A has 3 sensitive offences this period, ward B has 9
    def long(rows: list[tuple[str, str, bool, int]]) -> pd.DataFrame:
        return pd.DataFrame(rows, columns=["area_code", "category", "sensitive", "count"]).assign(
            harm=lambda d: d["count"] * 10.0)

    this = long([("A", "violent-crime", True, 3), ("A", "burglary", False, 20), ("B", "violent-crime", True, 9)])
    before = long([("A", "violent-crime", True, 7), ("A", "burglary", False, 10), ("B", "violent-crime", True, 1)])
    periods = {overview.PERIOD_NAMES[0]: this, overview.PERIOD_NAMES[1]: before}
    has = {overview.PERIOD_NAMES[0]: True, overview.PERIOD_NAMES[1]: True, overview.PERIOD_NAMES[2]: False}
    wards = overview.comparison_table(periods, has, by="ward", ward_names={"A": "Ward A", "B": "Ward B"})
    a = wards.set_index("Ward").loc["Ward A"]
    b = wards.set_index("Ward").loc["Ward B"]
    assert a["Count (this period)"] == "fewer than 5" and a["Harm (this period)"] == "withheld"
    # secondary suppression: the borough's sensitive 12 (group table) minus B's 9 would give A's 3 away,
    # so B is withheld this period; and 8 minus A's 7 would give B's 1 away the period before
    assert b["Count (this period)"] == "withheld" and b["Harm (this period)"] == "withheld"
    assert a["Count (previous period)"] == "withheld"
    assert a["Change vs previous"] == "-"
    assert b["Count (previous period)"] == "fewer than 5"
    assert b["Change vs previous"] == "-"
    assert set(wards["Change vs last year"]) == {"no data"}
    assert set(wards["Count (same period last year)"]) == {"no data"}

    groups = overview.comparison_table(periods, has, by="group").set_index("Group")
    violence = groups.loc["Violence and sexual offences (sensitive)"]
    assert violence["Count (this period)"] == "12" and violence["Count (previous period)"] == "8"
    assert violence["Change vs previous"] == "+4 (+50.0%)"
    assert groups.loc["Burglary", "Change vs previous"] == "+10 (+100.0%)"
    assert groups.loc[overview.ALL_GROUPS, "Count (this period)"] == "32"

    league = overview.ward_league(this, ward_names={"A": "Ward A", "B": "Ward B"},
                                  population=pd.Series({"A": 1000.0, "B": 2000.0}))
    row_a = league.set_index("Ward").loc["Ward A"]
    assert np.isnan(row_a["Incidents"]) and np.isnan(row_a["Per 1,000 residents"])
    assert row_a["Sensitive"] == "fewer than 5" and row_a["Non-sensitive"] == 20
    row_b = league.set_index("Ward").loc["Ward B"]  # withheld too: 12 - 9 = 3
    assert row_b["Sensitive"] == "withheld" and np.isnan(row_b["Per 1,000 residents"])
    assert np.isnan(row_b["Incidents"]) and row_b["Non-sensitive"] == 0


def test_trend_rolling_means_never_reveal_a_suppressed_month() -> None:
    # HAND-MADE spliced-series rows (not data): 14 months of one ward, a sensitive count of 2 in month 13
    months = [f"2025-{m:02d}" for m in range(1, 13)] + ["2026-01", "2026-02"]
    counts = [10] * 12 + [2, 11]
    rows = pd.DataFrame({"dataset": "d", "area_type": "ward", "area_code": "A", "major": "VIOLENCE AGAINST THE PERSON",
                         "minor": "x", "month": months, "count": counts, "group": "violence-sexual",
                         "sensitive": True, "proactive": False})
    t = overview.trend_series(rows, group="violence-sexual")
    # month 13 is "fewer than 5"; the next-smallest month (the first 10) is withheld too (secondary
    # suppression), else the 14-month total of the period table minus the other months would give it away
    assert np.isnan(t["Monthly count"].iloc[0]) and t["Monthly count"].iloc[1:12].tolist() == [10.0] * 11
    assert np.isnan(t["Monthly count"].iloc[12]) and t["Monthly count"].iloc[13] == 11.0
    rolling = t["12-month rolling mean"]
    assert rolling.isna().all()  # every window holds a withheld month


def test_comparison_and_trends_from_the_real_mps_series_match_the_raw_csv(store: str) -> None:
    from spatial.store.queries import area_counts

    engine = connect(store)
    series = overview.mps_ward_series(area_counts(engine, area_type="ward"))
    wards = load_wards((RBKC,))
    names = dict(zip(wards["ward_code"], wards["ward_name"], strict=True))
    months = sorted(series["month"].unique())
    assert (months[0], months[-1]) == ("2010-04", "2026-03")
    cmp = overview.build_comparison(source="mps", first="2026-03", last="2026-03", ward_names=names,
                                    months_with_data=months, series=series)
    expected = _mps_month_by_group("2026-03")
    shown = cmp.by_group.set_index("Group")["Count (this period)"]
    for group, n in expected.items():
        label = overview.group_label(group, sensitive_groups=["violence-sexual"])
        assert shown[label] == f"{n:,}", group
    assert shown[overview.ALL_GROUPS] == f"{sum(expected.values()):,}"
    assert cmp.coverage == ()  # 2026-02 and 2025-03 are in the series
    raw = _read_mps(MPS_LATEST)
    by_ward = raw.groupby("wardcode")["202603"].sum()
    sensitive = raw[raw["majortext"].map(mps_major_table()["sensitive"])].groupby("wardcode")["202603"].sum()
    table = cmp.by_ward.set_index("Ward")["Count (this period)"]
    small = {c for c, v in sensitive.items() if 0 < v < 5}
    assert small, "March 2026 has a ward with 1-4 sensitive offences (Norland): its total must be withheld"
    # secondary suppression: the next-smallest sensitive ward is withheld, so the borough's totals minus the
    # other wards no longer give Norland's count away
    withheld = {c for c in by_ward.index if table[names[c]] == "withheld"}
    assert withheld and not withheld & small
    nxt = min((v, c) for c, v in sensitive.items() if v >= 5)[1]
    assert nxt in withheld
    for code, v in by_ward.items():
        if code not in withheld:
            assert table[names[code]] == ("fewer than 5" if code in small else f"{int(v):,}"), code
    # the borough's 12-month rolling mean to March 2026, from the same CSV's last 12 columns
    trend = overview.trend_series(series)
    feb = _read_mps(MPS_TO_FEB_2026)
    eleven = [c for c in feb.columns if c.isdigit()][-11:]  # 2025-04 .. 2026-02
    assert eleven[0] == "202504"
    expected_mean = (feb[eleven].to_numpy().sum() + raw["202603"].sum()) / 12
    assert trend["12-month rolling mean"].iloc[-1] == pytest.approx(expected_mean)
    assert trend["Monthly count"].iloc[-1] == raw["202603"].sum()


def test_ward_imd_is_a_population_weighted_mean_of_lsoa_scores() -> None:
    wards = load_wards((RBKC,))
    imd = overview.ward_imd(wards)
    assert set(imd.index) == set(wards["ward_code"])
    raw = pd.read_csv(DATA / "population" / "rbkc_lsoa11_imd2019.csv")
    score = raw["Index of Multiple Deprivation (IMD) Score"]
    assert imd.between(score.min(), score.max()).all()
    names = dict(zip(wards["ward_code"], wards["ward_name"], strict=True))
    assert names[imd.idxmax()] == "Golborne"  # RBKC's most deprived ward in IMD 2019


# --------------------------------------------------------------------------
# Overview: AppTest
# --------------------------------------------------------------------------
def test_overview_is_the_default_page_and_compares_the_latest_mps_month(store: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", store)
    at = sign_in(AppTest.from_file(APP, default_timeout=APP_TIMEOUT_S), store).run()  # the default page
    _ok(at)
    assert at.title[0].value == "Overview"
    assert at.radio(key=state.OVERVIEW_SOURCE).value == "mps"
    assert at.select_slider(key=state.OVERVIEW_PERIOD).value == ("2026-03", "2026-03")
    expected = _mps_month_by_group("2026-03")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Offences, this period"] == f"{sum(expected.values()):,}"
    feb = _mps_month_by_group("2026-02")
    assert at.metric[0].proto.delta == f"{sum(expected.values()) - sum(feb.values()):+,} on the previous period"
    league = _table(at, "Rank")
    assert len(league) == 18 and league["IMD 2019 score"].notna().all()
    assert league["Rank"].tolist() == sorted(league["Rank"])
    assert len(at.get("vega_lite_chart")) + len(at.get("arrow_vega_lite_chart")) == 2  # the two trend charts
    assert "Long-run trends (MPS recorded crime)" in _texts(at)


def test_overview_trend_follows_the_ward_and_group_picked(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(store, OVERVIEW, monkeypatch)
    golborne = next(c for c, n in zip(load_wards((RBKC,))["ward_code"], load_wards((RBKC,))["ward_name"],
                                      strict=True) if n == "Golborne")
    at.selectbox(key=state.OVERVIEW_WARD).set_value(golborne)
    at.selectbox(key=state.OVERVIEW_GROUP).set_value("burglary").run()
    _ok(at)
    assert "**Burglary, Golborne: monthly count and 12-month rolling mean**" in _texts(at)


def test_overview_from_stored_incidents_says_which_periods_have_no_data_and_shows_no_sensitive_points(
        store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(store, OVERVIEW, monkeypatch, OVERVIEW_SOURCE="incidents", OVERVIEW_PERIOD=("2024-05", "2024-05"))
    warnings = [md_unescape(w.value) for w in at.warning]
    assert any(w.startswith("Same period last year (2023-05): no data") for w in warnings), warnings
    assert any("sensitive categories only" in w for w in warnings)
    groups = _table(at, "Group")
    assert groups["Group"].tolist() == ["Violence and sexual offences (sensitive)", overview.ALL_GROUPS]
    assert set(groups["Change vs last year"]) == {"no data"}

    every = incident_frame(connect(store), include_sensitive=True)
    rbkc = set(load_wards((RBKC,))["ward_code"])
    may = every[(every["month"] == "2024-05") & every["ward_code"].isin(rbkc)]
    assert may["sensitive"].astype(bool).all() and len(may) > 0
    per_ward = may.groupby("ward_code").size()
    names = dict(zip(load_wards((RBKC,))["ward_code"], load_wards((RBKC,))["ward_name"], strict=True))
    table = _table(at, "Ward (2018 boundaries)").set_index("Ward (2018 boundaries)")["Count (this period)"]
    for code, n in per_ward.items():
        assert table[names[code]] == (str(n) if n >= 5 else "fewer than 5"), (code, n)
    assert str(len(may)) in groups.set_index("Group").loc[overview.ALL_GROUPS, "Count (this period)"].replace(",", "")

    shown = _everything(at)
    sensitive = every[every["sensitive"].astype(bool)]
    assert not any(str(i) in shown for i in sensitive["incident_id"].head(500))
    for lon, lat in zip(sensitive["lon"].head(200), sensitive["lat"].head(200), strict=True):
        assert f"{lon:.4f}" not in shown and f"{lat:.4f}" not in shown
    assert not at.get("component_instance")  # no map on the Overview


def test_overview_of_june_2018_says_police_uk_has_no_month_before_it_nor_a_year_earlier(
        store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(store, OVERVIEW, monkeypatch, OVERVIEW_SOURCE="incidents", OVERVIEW_PERIOD=("2018-06", "2018-06"))
    assert at.select_slider(key=state.OVERVIEW_PERIOD).options == ["2018-06", *[f"2024-{m:02d}" for m in range(1, 10)]]
    warnings = [md_unescape(w.value) for w in at.warning]
    assert "Previous period (2018-05): no data — the stored incidents cover none of these months." in warnings
    assert "Same period last year (2017-06): no data — the stored incidents cover none of these months." in warnings
    groups = _table(at, "Group").set_index("Group")
    assert set(groups["Count (previous period)"]) == {"no data"} and set(groups["Change vs previous"]) == {"no data"}
    june = incident_frame(connect(store), include_sensitive=True)
    june = june[(june["month"] == "2018-06") & june["ward_code"].isin(set(load_wards((RBKC,))["ward_code"]))]
    burglary = int((june["category"] == "burglary").sum())
    assert groups.loc["Burglary", "Count (this period)"] == f"{burglary:,}" and burglary > 0
    # police.uk's points hold anti-social behaviour, which is no offence: the headline says what it counts
    assert (june["category"] == "anti-social-behaviour").sum() > 0
    labels = [m.label for m in at.metric]
    assert "Incidents (crime and ASB), this period" in labels and "Offences, this period" not in labels


def test_overview_on_an_empty_store_says_how_to_load_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(f"sqlite:///{tmp_path / 'empty.sqlite'}", OVERVIEW, monkeypatch)
    assert [w.value for w in at.warning] == [
        "The database holds no data for the borough yet. Load the bundled data with `hotspot-tasking ingest "
        "--bundled` (police.uk points and the MPS ward series), then reload this page."]
    assert not at.dataframe


def test_overview_module_does_not_import_streamlit() -> None:
    code = ("import sys, ui.overview, ui.analysis; "
            "sys.exit(1 if any(m == 'streamlit' or m.startswith('streamlit.') for m in sys.modules) else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr or "ui.overview or ui.analysis imported streamlit"


# --------------------------------------------------------------------------
# Hotspots: emerging hotspots, estates, parks, CCTV, ward filter
# --------------------------------------------------------------------------
def test_emerging_layer_is_empty_with_one_month_and_says_why(council: str) -> None:
    inputs = planning.read_inputs(connect(council), borough=RBKC, months=["2018-06"])
    layers = analysis.hotspot_layers(inputs)
    assert layers.emerging is not None and layers.emerging.empty
    assert "need incidents in at least 4 months" in layers.emerging_note and "(2018-06)" in layers.emerging_note


def test_emerging_layer_on_hammersmith_and_fulhams_twelve_months(neighbours: str) -> None:
    months = planning.months_between(planning.coverage(connect(neighbours), borough=HAMMERSMITH_FULHAM), *HF_YEAR)
    assert len(months) == 12
    inputs = planning.read_inputs(connect(neighbours), borough=HAMMERSMITH_FULHAM, months=months)
    layers = analysis.hotspot_layers(inputs)
    em = layers.emerging
    assert em is not None and len(em) > 0
    assert set(em["trend_class"]) <= set(CLASSES) - {"no pattern"}
    assert "over 12 months (2017-07 to 2018-06)" in layers.emerging_note
    assert len(layers.cell_classes) > len(em)  # every cell has a class; the layer keeps the patterned ones
    # every drawn cell lies in the borough
    assert em.geometry.representative_point().within(inputs.area.geometry.union_all().buffer(1)).all()


def test_hotspots_page_draws_the_emerging_layer_for_a_chosen_borough(neighbours: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(neighbours, HOTSPOTS, monkeypatch, HOTSPOTS_BOROUGH=HAMMERSMITH_FULHAM, HOTSPOTS_PERIOD=HF_YEAR)
    assert at.selectbox(key=state.HOTSPOTS_BOROUGH).value == HAMMERSMITH_FULHAM
    script = _folium_script(at)
    for name in maps.HOTSPOT_LAYERS:
        assert json.dumps(name) in script, name
    assert '"Emerging class"' in script  # the emerging layer holds cells (its tooltip is there)
    assert any(c.value.startswith("Emerging hotspots: ") and "cells with a pattern" in c.value for c in at.caption)
    hf_wards = set(load_wards((HAMMERSMITH_FULHAM,))["ward_code"])
    codes = set(re.findall(r'"ward_code": "(E05\d+)"', script))
    assert codes == hf_wards
    assert any("is for E09000020, not E09000013" in i.value for i in at.info)  # the roster's cameras are RBKC's


def test_hotspots_ward_filter_limits_the_map_and_the_hot_places(council: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(council, HOTSPOTS, monkeypatch, HOTSPOTS_PERIOD=("2018-06", "2018-06"))
    every_place = at.dataframe[0].value
    ward = str(every_place["Ward (2018 boundaries)"].iloc[0])
    code = next(c for c, n in zip(load_wards((RBKC,))["ward_code"], load_wards((RBKC,))["ward_name"], strict=True)
                if n == ward)
    at.multiselect(key=state.HOTSPOTS_WARDS).set_value([code]).run()
    _ok(at)
    places = at.dataframe[0].value
    assert 0 < len(places) < len(every_place) and set(places["Ward (2018 boundaries)"]) == {ward}
    script = _folium_script(at)
    assert set(re.findall(r'"ward_code": "(E05\d+)"', script)) == {code}
    assert script.count("L.marker(") == len(places)
    assert set(at.selectbox(key=state.HOTSPOTS_PLACE).options) == {  # each name says its ward
        f"{i}. {p} ({t})" for i, (p, t) in enumerate(zip(places["Place"], places["Type"], strict=True), 1)}
    assert all(f"{ward} ward" in p for p in places["Place"]), places["Place"].tolist()


def test_hotspots_map_draws_estates_parks_and_cctv_and_says_what_is_missing(council: str, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(council, HOTSPOTS, monkeypatch, HOTSPOTS_PERIOD=("2018-06", "2018-06"))
    infos = [md_unescape(i.value) for i in at.info]
    assert any(i.startswith("Housing estates layer not loaded") for i in infos)
    assert any("Fixed CCTV coverage: no camera positions in the roster" in i for i in infos)
    assert any("registered parks" in i and "DEMO" in i for i in infos)
    script = _folium_script(at)
    assert "HOLLAND PARK" in script and "KENSINGTON GARDENS" in script  # the DEMO reference parks are drawn
    assert "L.circle(" not in script  # no camera positions: no coverage circles

    # HAND-MADE camera positions (not council data) in a copy of the roster, and the hand-made test estates
    roster = load_roster(planning.roster_path())
    sites = (CameraSite("CAM-TEST-1", 525000.0, 179500.0, source="hand-made test site"),
             CameraSite("CAM-TEST-2", 526000.0, 178500.0, source="hand-made test site"))
    with_cams = dataclasses.replace(roster, fixed_cctv=dataclasses.replace(roster.fixed_cctv, cameras=sites))
    cams = analysis.camera_layers(with_cams)
    assert len(cams.fixed) == 2 and cams.deployable.empty and len(cams.notes) == 1
    assert set(cams.fixed["radius_m"]) == {roster.fixed_cctv.coverage_radius_m}
    engine = connect(council)
    store_area_layer(engine, "estates", ESTATES, id_column="estate_id", name_column="estate_name")
    layers = analysis.hotspot_layers(planning.read_inputs(engine, borough=RBKC, months=["2018-06"]))
    assert layers.estates is not None and len(layers.estates) == 3
    html = maps.hotspots_map(layers.wards, gi_cells=layers.gi_cells, kde_cells=layers.kde_cells,
                             clusters=layers.clusters, places=layers.places, ranked=layers.ranked,
                             estates=layers.estates, parks=layers.parks, fixed_cctv=cams.fixed,
                             deployable_cctv=cams.deployable).get_root().render()
    assert html.count("L.circle(") == 2 and "CAM-TEST-1" in html
    assert all(f"Test Estate {k}" in html for k in "ABC")


def test_hotspots_map_colours_emerging_classes_and_escapes_them() -> None:
    wards = load_wards((RBKC,)).assign(harm=1.0)
    empty = gpd.GeoDataFrame({"cell_id": []}, geometry=[], crs="EPSG:27700")
    # HAND-MADE cells (not data)
    em = gpd.GeoDataFrame({"cell_id": ["c1", "c2"], "trend_class": ["new hot spot", "persistent cold spot"]},
                          geometry=[box(525000, 178000, 525150, 178150), box(525150, 178000, 525300, 178150)],
                          crs="EPSG:27700")
    html = maps.hotspots_map(wards, gi_cells=empty.assign(gi_class=[], gi_z=[]), kde_cells=empty.assign(density=[]),
                             clusters=empty.assign(cluster_id=[], n_incidents=[], top_categories=[]),
                             places=empty.assign(name=[], place_type=[], ward_code=[], incidents=[]),
                             ranked=pd.DataFrame(columns=["candidate_id", "rank", "measure", "cpted_principle", "why"]),
                             emerging=em).get_root().render()
    assert "new hot spot" in html and "persistent cold spot" in html
    assert maps.EMERGING_COLOURS["new hot spot"] in html and maps.EMERGING_COLOURS["persistent cold spot"] in html
    assert "Emerging hot / " in html and "cold cells (2)" in html


# --------------------------------------------------------------------------
# Hotspots: the hot place panel
# --------------------------------------------------------------------------
def test_place_panel_with_police_uk_only_has_no_time_profile(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(store, HOTSPOTS, monkeypatch)
    place_id = at.selectbox(key=state.HOTSPOTS_PLACE).value
    engine = connect(store)
    layers = analysis.hotspot_layers(planning.read_inputs(engine, borough=RBKC, months=["2018-06"]))
    assert place_id == str(layers.places["candidate_id"].iloc[0])  # the hottest place first
    geom = layers.places.set_index("candidate_id").loc[place_id].geometry
    june = incident_frame(engine)  # non-sensitive only
    june = june[june["month"] == "2018-06"]
    n = int(shapely.contains_xy(geom, june["x"].to_numpy(float), june["y"].to_numpy(float)).sum())
    assert n > 0
    assert {m.label: m.value for m in at.metric}["Incidents, 2018-06"] == f"{n:,}"
    assert any(md_unescape(i.value).startswith("No times in police.uk data") for i in at.info)
    assert any("one month of data (2018-06): no trend to show yet" in md_unescape(c.value) for c in at.caption)
    measures = _table(at, "Rank")
    assert measures["Measure"].tolist() == layers.ranked[layers.ranked["candidate_id"] == place_id].sort_values(
        "rank")["measure"].tolist()
    # the panel never shows sensitive incidents: the 2024 violence file is in this store but in no count
    assert not any("2024" in t for t in _texts(at) if "Incidents" in t)


def test_place_panel_profile_from_the_synthetic_council_log(council: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = connect(council)
    months = planning.coverage(engine, borough=RBKC)
    period = tuple(m for m in months if m.startswith("2026"))
    assert len(period) >= 10  # the SYNTHETIC log's months (Jan-Nov 2026)
    at = _page(council, HOTSPOTS, monkeypatch, HOTSPOTS_PERIOD=(period[0], period[-1]))
    assert any("SYNTHETIC data" in w.value for w in at.warning)  # the generated source is named on screen
    place_id = at.selectbox(key=state.HOTSPOTS_PLACE).value
    profile = _table(at, "day") if any(d.value.columns[0] == "day" for d in at.dataframe) else next(
        d.value for d in at.dataframe if list(d.value.columns) == list(range(24)))
    assert profile.shape == (7, 24)

    layers = analysis.hotspot_layers(planning.read_inputs(engine, borough=RBKC, months=list(period)))
    geom = layers.places.set_index("candidate_id").loc[place_id].geometry
    inc = incident_frame(engine)
    inc = inc[inc["month"].isin(months)]  # the panel counts every month with real coverage
    inside = inc[shapely.contains_xy(geom, inc["x"].to_numpy(float), inc["y"].to_numpy(float))]
    timed = inside[inside["source"] != "police.uk"]
    assert len(timed) > 0
    # the council log's times are instants: each one puts weight 1 in its own hour of its own day
    local = pd.to_datetime(timed["occurred_from"], utc=True, format="mixed").dt.tz_convert("Europe/London")
    expected = pd.crosstab(local.dt.day_of_week, local.dt.hour).reindex(index=range(7), columns=range(24),
                                                                         fill_value=0)
    assert np.allclose(profile.to_numpy(float), expected.to_numpy(float), atol=0.051)  # shown rounded to 0.1
    assert any(c.value.startswith(f"{len(timed):,} incidents with a real time") for c in at.caption)


def test_place_panel_spreads_a_timed_window_over_its_hours_and_rejects_an_unknown_place() -> None:
    # HAND-MADE incidents (not data) inside one 150 m patch: two instants and one 22:30-23:30 window
    patch = box(525000, 178000, 525150, 178150)
    places = gpd.GeoDataFrame({"candidate_id": ["ST-x"], "name": ["Test patch"], "ward_code": ["W"],
                               "place_type": ["street"]}, geometry=[patch], crs="EPSG:27700")
    ranked = pd.DataFrame({"candidate_id": ["ST-x"], "rank": [1], "measure": ["Lighting"],
                           "cpted_principle": ["natural surveillance"], "why": ["dark"]})
    empty = gpd.GeoDataFrame({"cell_id": []}, geometry=[], crs="EPSG:27700")
    layers = analysis.HotspotLayers(wards=empty, gi_cells=empty, kde_cells=empty, clusters=empty, places=places,
                                    ranked=ranked, months=("2026-06",), n_incidents=3, method="kde")
    inc = pd.DataFrame({
        "source": ["council-test"] * 3 + ["police.uk"],
        "month": ["2026-06", "2026-06", "2026-07", "2026-06"],
        "x": [525010.0, 525020.0, 525030.0, 525040.0], "y": [178010.0, 178020.0, 178030.0, 178040.0],
        "occurred_from": ["2026-06-05T22:30:00+01:00", "2026-06-06T09:00:00+01:00", "2026-07-01T01:15:00+01:00",
                          "2026-06-01T00:00:00+01:00"],
        "occurred_to": ["2026-06-05T23:30:00+01:00", "2026-06-06T09:00:00+01:00", "2026-07-01T01:15:00+01:00",
                        "2026-07-01T00:00:00+01:00"],
    })
    panel = analysis.place_panel(layers, inc, "ST-x", months=["2026-05", "2026-06", "2026-07"])
    assert panel.trend.tolist() == [0, 3, 1]
    p = panel.profile
    assert p is not None and p.attrs["n_used"] == 3 and p.attrs["n_excluded"] == 1  # the police.uk month is left out
    assert (p.loc["Fri", 22], p.loc["Fri", 23], p.loc["Sat", 9], p.loc["Wed", 1]) == (0.5, 0.5, 1.0, 1.0)
    assert float(p.to_numpy().sum()) == 3.0
    assert panel.measures["measure"].tolist() == ["Lighting"] and panel.emerging_class is None
    assert time_profile(inc).attrs["n_used"] == 3  # the same rule as the library's profile
    with pytest.raises(Exception, match="not among the hot places"):
        analysis.place_panel(layers, inc, "ST-nope", months=["2026-06"])


def test_the_ward_league_on_screen_reads_withheld_not_none() -> None:
    """Issue 15.10: a withheld league cell reads "withheld" (as the tables above it), never "None" or "nan"."""
    this = pd.DataFrame({"area_code": ["A", "A", "B", "B"], "category": ["burglary", "violent-crime"] * 2,
                         "sensitive": [False, True, False, True], "count": [20, 2, 30, 9],
                         "harm": [100.0, 50.0, 150.0, 200.0]})
    league = overview.ward_league(this, ward_names={"A": "Ward A", "B": "Ward B"},
                                  population=pd.Series({"A": 1000.0, "B": 2000.0}))
    assert league["Incidents"].isna().any()  # something is withheld in this table
    html = overview.league_styled(league).to_html()
    cells = re.findall(r'<td [^>]*class="data[^"]*"[^>]*>([^<]*)</td>', html)
    assert "withheld" in cells
    assert not any(c.strip().lower() in ("none", "nan", "") for c in cells), cells
