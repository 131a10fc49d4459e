"""The dashboard without a browser: AppTest on ``app.py`` and pure tests of the ui builders.

AppTest cannot look inside the ``st_folium`` component (it is an
UnknownElement), so the app tests assert on native elements (widgets, notices,
the count table) and the map is tested by rendering ``ui.maps`` to HTML here,
and in a real browser in ``test_browser.py``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from _apptest import folium_script, map_labels, police_uk_streets
from _maps import hotspots_html as _hotspots_html
from _signin import sign_in
from pyproj import Transformer
from shapely.geometry import box
from streamlit.testing.v1 import AppTest

from hotspot_cli.main import main as cli_main
from spatial._errors import CRSError, SchemaError
from spatial.datasets import RBKC, load_wards
from spatial.layers import store_area_layer
from spatial.schema import load_taxonomy
from spatial.store import connect
from spatial.store.queries import incident_frame
from tasking.names import GENERIC_LOCATIONS
from ui import maps, state, tables

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
STATIC = REPO / "static"
SMALL_POLICE_UK = REPO / "data" / "policeuk" / "rbkc_api_2018-06"
ESTATES = REPO / "tests" / "data" / "estates_HANDMADE.geojson"
APP_TIMEOUT_S = 90

RBKC_WARDS = sorted(load_wards((RBKC,))["ward_name"])
SENSITIVE_NOTE = "shown only as ward counts"
ESTATES_NOTE = "Housing estates layer not loaded"
PARKS_NOTE = "Parks and open spaces layer not loaded"


# --------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database holding one real police.uk API file: RBKC street crime, June 2018."""
    url = f"sqlite:///{tmp_path_factory.mktemp('ui') / 'hotspot.sqlite'}"
    assert cli_main(["--database", url, "ingest", str(SMALL_POLICE_UK), "--quiet"]) == 0
    return url


def _run(url: str, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv(maps.TILES_URL_ENV, raising=False)
    at = sign_in(AppTest.from_file(APP, default_timeout=APP_TIMEOUT_S), url)
    at.switch_page("ui/pages/incidents.py")  # Overview is the default page (tests/ui/test_pages_overview.py)
    return at.run()


@pytest.fixture
def app(small_db: str, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    at = _run(small_db, monkeypatch)
    assert not at.exception, [e.value for e in at.exception]
    return at


def _infos(at: AppTest) -> list[str]:
    return [i.value for i in at.info]


# --------------------------------------------------------------------------
# AppTest
# --------------------------------------------------------------------------
def test_app_runs_and_shows_the_incidents_page(app: AppTest) -> None:
    assert [t.value for t in app.title] == ["Incidents map"]
    assert not app.warning
    assert app.selectbox(key=state.MONTH).value == "2018-06"
    assert any("incidents in 2018-06" in c.value for c in app.caption)
    assert any("Open Government Licence v3.0" in c.value and "Crown copyright" in c.value for c in app.caption)


def test_ward_multiselect_lists_the_18_rbkc_wards_by_name(app: AppTest) -> None:
    wards = app.multiselect(key=state.WARDS)
    assert len(wards.options) == 18
    assert sorted(wards.options) == RBKC_WARDS
    assert {"Abingdon", "Golborne", "Stanley"} <= set(wards.options)
    assert wards.value == []


def test_neighbour_toggle_adds_westminster_and_hammersmith_fulham_wards(app: AppTest) -> None:
    app.toggle(key=state.NEIGHBOURS).set_value(True).run()
    assert not app.exception
    options = app.multiselect(key=state.WARDS).options
    assert len(options) == 18 + 20 + 16
    assert "Abingdon (Kensington and Chelsea)" in options
    assert any(o.endswith("(City of Westminster)") for o in options)
    assert any(o.endswith("(Hammersmith and Fulham)") for o in options)


def test_choosing_a_ward_changes_the_count_table(app: AppTest) -> None:
    before = app.dataframe[0].value
    assert sorted(before.index) == RBKC_WARDS
    code = load_wards((RBKC,)).set_index("ward_name").loc["Abingdon", "ward_code"]
    app.multiselect(key=state.WARDS).set_value([code]).run()
    assert not app.exception
    after = app.dataframe[0].value
    assert list(after.index) == ["Abingdon"]
    assert after.loc["Abingdon"].to_dict() == before.loc["Abingdon", after.columns].to_dict()
    assert not after.equals(before)


def test_the_incidents_map_names_the_busiest_streets_and_the_wards_with_a_scale(app: AppTest, small_db: str) -> None:
    script = folium_script(app)
    streets = [t for _, _, t in map_labels(script, maps.STREETS_LAYER)]
    # by hand: the store's non-sensitive rows grouped by their location text, snap-point kinds left out
    safe = incident_frame(connect(small_db), include_sensitive=False)
    by_text = police_uk_streets(safe["location_text"]).value_counts()
    by_text = by_text[~by_text.index.str.lower().isin(GENERIC_LOCATIONS)]
    assert by_text.index[0] in streets and streets[0] == by_text.index[0]
    assert len(set(streets)) == min(len(by_text), 40)
    assert "Colville Terrace" not in streets  # only violence and sexual offences happened there
    wards = {t for _, _, t in map_labels(script, maps.WARD_NAMES_LAYER)}
    assert wards == set(load_wards((RBKC,))["ward_name"])
    assert "L.control.scale" in script


def test_sensitive_notice_and_missing_layer_notices(app: AppTest) -> None:
    infos = _infos(app)
    sensitive = [i for i in infos if SENSITIVE_NOTE in i]
    assert len(sensitive) == 1
    assert "Violence and sexual offences" in sensitive[0] and "never as points" in sensitive[0]
    estates = [i for i in infos if ESTATES_NOTE in i]
    assert len(estates) == 1 and "hotspot-tasking layers estates FILE --id-column" in estates[0]
    parks = [i for i in infos if PARKS_NOTE in i]
    assert len(parks) == 1 and "hotspot-tasking layers parks FILE --id-column" in parks[0]
    assert "four Historic England registered parks" in parks[0]


def test_sensitive_categories_are_counted_never_offered_for_the_map(app: AppTest) -> None:
    offered = app.multiselect(key=state.CATEGORIES).options
    taxonomy = load_taxonomy()
    assert "Anti-social behaviour" in offered
    assert not {c.label for c in taxonomy.categories.values() if c.sensitive} & set(offered)
    table = app.dataframe[0].value
    assert f"Violence and sexual offences{tables.SENSITIVE_SUFFIX}" in table.columns
    # The neighbouring wards hold a few border incidents: small sensitive counts are suppressed.
    app.toggle(key=state.NEIGHBOURS).set_value(True).run()
    table = app.dataframe[0].value
    violence = table[f"Violence and sexual offences{tables.SENSITIVE_SUFFIX}"]
    assert (violence == "fewer than 5").any()
    assert not violence.isin(["1", "2", "3", "4"]).any()


def test_category_filter_narrows_the_table_but_keeps_sensitive_counts(app: AppTest) -> None:
    app.multiselect(key=state.CATEGORIES).set_value(["burglary"]).run()
    assert not app.exception
    columns = list(app.dataframe[0].value.columns)
    assert columns == ["Burglary", f"Violence and sexual offences{tables.SENSITIVE_SUFFIX}"]


def test_estates_notice_goes_once_the_council_loads_its_layer(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'hotspot.sqlite'}"
    assert cli_main(["--database", url, "ingest", str(SMALL_POLICE_UK), "--quiet"]) == 0
    store_area_layer(connect(url), "estates", ESTATES, id_column="estate_id", name_column="estate_name")
    at = _run(url, monkeypatch)
    assert not at.exception
    infos = _infos(at)
    assert not [i for i in infos if ESTATES_NOTE in i]
    assert [i for i in infos if PARKS_NOTE in i]


def test_empty_database_tells_the_user_to_ingest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _run(f"sqlite:///{tmp_path / 'empty.sqlite'}", monkeypatch)
    assert not at.exception
    assert len(at.warning) == 1
    assert "hotspot-tasking ingest --bundled" in at.warning[0].value
    assert not at.dataframe
    assert not at.multiselect


# --------------------------------------------------------------------------
# ui.maps (pure)
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rbkc_wards() -> gpd.GeoDataFrame:
    return load_wards((RBKC,))


def _points(rows: list[tuple[str, float, float]]) -> pd.DataFrame:
    return pd.DataFrame({
        "incident_id": [f"t{i}" for i in range(len(rows))],
        "category": [r[0] for r in rows], "month": "2018-06",
        "lon": [r[1] for r in rows], "lat": [r[2] for r in rows],
        "ward_code": "E05009388", "location_text": "On or near Test Street",
    })


def _html(points: pd.DataFrame, wards: gpd.GeoDataFrame, **kw) -> str:
    kw.setdefault("selected_wards", [])
    kw.setdefault("layers", {})
    return maps.incidents_map(points, wards, **kw).get_root().render()


def _asset_urls(html: str) -> list[str]:
    return (re.findall(r"<script[^>]*\ssrc=[\"']([^\"']+)", html)
            + re.findall(r"<link[^>]*\shref=[\"']([^\"']+)", html))


def test_a_large_area_s_advice_markers_are_clustered_from_local_files(rbkc_wards: gpd.GeoDataFrame) -> None:
    """Hundreds of Designing Out Crime pins (West Kent) are grouped; a borough's few stay single markers."""
    few = _hotspots_html(rbkc_wards, maps.DOC_CLUSTER_ABOVE)
    many = _hotspots_html(rbkc_wards, maps.DOC_CLUSTER_ABOVE + 1)
    assert "markerClusterGroup" not in few and "leaflet.markercluster" not in few
    assert few.count("L.marker(") == maps.DOC_CLUSTER_ABOVE
    assert many.count("L.markerClusterGroup(") == 1 and many.count("L.marker(") == maps.DOC_CLUSTER_ABOVE + 1
    assert '"disableClusteringAtZoom": 16' in many and "Test Place 60, Test ward" in many
    assert "marker-cluster-small" in many  # one colour (the advice's green), not the harm-like yellow and orange
    urls = _asset_urls(many)
    cluster_files = [u for u in urls if "markercluster" in u.lower()]
    assert len(cluster_files) == 3 and all(u.startswith(maps.STATIC_URL + "/") for u in urls)
    for url in cluster_files:  # linked and bundled
        assert (STATIC / url.removeprefix(maps.STATIC_URL + "/")).is_file(), url
    assert "cdnjs" not in many and not re.search(r"(src|href)=[\"'](https?:)?//", many)


def test_map_html_has_ward_geojson_and_incidents_layer(rbkc_wards: gpd.GeoDataFrame) -> None:
    html = _html(_points([("burglary", -0.1935, 51.4985), ("anti-social-behaviour", -0.2050, 51.5150)]), rbkc_wards)
    assert re.search(r'"Incidents"\s*:\s*feature_group_', html)
    assert re.search(r'"Ward boundaries"\s*:\s*geo_json_', html)
    assert html.count('"ward_code": "E0500') == 18
    assert '"ward_name": "Abingdon"' in html
    assert html.count('"type": "Point"') == 2
    assert "[-0.1935, 51.4985]" in html
    assert "tileLayer" not in html  # no tile server unless one is configured


def test_map_loads_no_asset_from_a_cdn(rbkc_wards: gpd.GeoDataFrame) -> None:
    html = _html(_points([("burglary", -0.1935, 51.4985)]), rbkc_wards)
    urls = _asset_urls(html)
    assert any(u.endswith("/leaflet.js") for u in urls) and any(u.endswith("/leaflet.css") for u in urls)
    assert [u for u in urls if not u.startswith(maps.STATIC_URL + "/")] == []
    assert not re.search(r"(src|href)=[\"'](https?:)?//", html)
    for cdn in ("jsdelivr", "cdnjs", "code.jquery.com", "bootstrapcdn", "unpkg"):
        assert cdn not in html


def test_st_folium_asset_lists_are_local_too(rbkc_wards: gpd.GeoDataFrame) -> None:
    """st_folium collects ``default_js``/``default_css`` from every element itself: check that path."""
    from folium.elements import JSCSSMixin

    m = maps.incidents_map(_points([("burglary", -0.1935, 51.4985)]), rbkc_wards, selected_wards=[], layers={})

    def walk(el):
        yield el
        for child in el._children.values():
            yield from walk(child)

    links = [url for el in walk(m) if isinstance(el, JSCSSMixin)
             for _, url in [*el.default_js, *el.default_css]]
    assert links and all(u.startswith(maps.STATIC_URL + "/") for u in links)


def test_every_local_asset_exists_in_static() -> None:
    js, css = maps.local_assets()
    for _, url in [*js, *css]:
        path = STATIC / url.removeprefix(maps.STATIC_URL + "/")
        assert path.is_file(), f"{url} is linked but {path} is missing"
    for sheet in STATIC.rglob("*.css"):
        for ref in re.findall(r"url\(['\"]?([^'\")]+)['\"]?\)", sheet.read_text(encoding="utf-8")):
            if ref.startswith(("data:", "#")) or ref.endswith(".ttf"):  # .ttf: woff2 is listed first
                continue
            assert (sheet.parent / ref).resolve().is_file(), f"{sheet.relative_to(STATIC)} refers to missing {ref}"


def test_folium_class_defaults_are_left_alone(rbkc_wards: gpd.GeoDataFrame) -> None:
    import folium

    maps.incidents_map(_points([]), rbkc_wards, selected_wards=[], layers={})
    assert folium.Map.default_js[0][1].startswith("https://")


def test_sensitive_rows_are_never_drawn_even_if_passed_in(rbkc_wards: gpd.GeoDataFrame) -> None:
    # No `sensitive` column (as from map_incidents): the taxonomy decides.
    pts = _points([("burglary", -0.1935, 51.4985), ("violent-crime", -0.1977, 51.4977),
                   ("domestic-abuse", -0.1966, 51.4966), ("safeguarding-child", -0.1944, 51.4944)])
    html = _html(pts, rbkc_wards)
    assert html.count('"type": "Point"') == 1
    for lon in ("-0.1977", "-0.1966", "-0.1944"):
        assert lon not in html
    assert "Violence" not in html and "Domestic abuse" not in html and "Safeguarding" not in html
    assert maps.mappable_points(pts)["category"].tolist() == ["burglary"]


def test_rows_flagged_sensitive_by_the_store_are_dropped_too(rbkc_wards: gpd.GeoDataFrame) -> None:
    pts = _points([("burglary", -0.1935, 51.4985), ("shoplifting", -0.1955, 51.4955)])
    pts["sensitive"] = [False, True]
    html = _html(pts, rbkc_wards)
    assert html.count('"type": "Point"') == 1
    assert "-0.1955" not in html and "Shoplifting" not in html


def test_points_are_capped_with_a_visible_note(rbkc_wards: gpd.GeoDataFrame) -> None:
    pts = _points([("burglary", -0.19 - i / 10_000, 51.49 + i / 10_000) for i in range(20)])
    html = _html(pts, rbkc_wards, max_points=5)
    assert html.count('"type": "Point"') == 5
    assert "Showing a random 5 of 20 incidents" in html
    assert "Burglary (20)" in html  # the legend counts every match, not only the sample
    assert "Showing a random" not in _html(pts, rbkc_wards, max_points=20)


def test_extra_layers_are_drawn_and_missing_ones_skipped(rbkc_wards: gpd.GeoDataFrame) -> None:
    estates = gpd.GeoDataFrame({"name": ["Test Estate Z"]}, geometry=[box(524000, 181000, 524200, 181200)],
                               crs="EPSG:27700")
    html = _html(_points([]), rbkc_wards, layers={"Housing estates": estates, "Parks and open spaces": None})
    assert '"Housing estates"' in html and "Test Estate Z" in html
    assert "Parks and open spaces" not in html
    assert "No incidents to map" in html


def test_tooltip_text_is_escaped(rbkc_wards: gpd.GeoDataFrame) -> None:
    pts = _points([("burglary", -0.1935, 51.4985)])
    pts["location_text"] = "<img src=x onerror=alert(1)>"
    estates = gpd.GeoDataFrame({"name": ["<b>Estate</b>"]}, geometry=[box(524000, 181000, 524200, 181200)],
                               crs="EPSG:27700")
    html = _html(pts, rbkc_wards, layers={"Housing estates": estates})
    # folium's tojson writes "&" as \u0026, so "&lt;" appears as "\u0026lt;" in the page.
    assert "<img src=x" not in html
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in html
    assert "<b>Estate</b>" not in html
    assert "\\u0026lt;b\\u0026gt;Estate\\u0026lt;/b\\u0026gt;" in html


def test_every_map_has_street_and_ward_name_layers_escaped_and_a_scale(rbkc_wards: gpd.GeoDataFrame) -> None:
    hostile = '<img src=x onerror=alert(1)> Road"); alert(2); ("'
    streets = pd.DataFrame({"street": [hostile, "Elm Road"], "x": [525500.0, 526000.0], "y": [179000.0, 178500.0],
                            "n": [9, 5]})
    pt = pd.DataFrame({"site_id": ["S1"], "x": [525000.0], "y": [179000.0]})
    empty = gpd.GeoDataFrame({"cell_id": []}, geometry=[], crs="EPSG:27700")
    zones = gpd.GeoDataFrame({"zone": ["R"]}, geometry=[box(525000, 179000, 525100, 179100)], crs="EPSG:27700")
    harm = rbkc_wards.assign(harm=1.0)
    built = {
        "incidents": maps.incidents_map(_points([]), rbkc_wards, selected_wards=[], layers={}, streets=streets),
        "hotspots": maps.hotspots_map(harm, gi_cells=empty, kde_cells=empty, clusters=empty, places=empty,
                                      ranked=pd.DataFrame(), streets=streets),
        "patrol": maps.patrol_map(pt.assign(name="P"), rbkc_wards, streets=streets),
        "review": maps.review_map(zones, empty, rbkc_wards, buffer_m=400, streets=streets),
        "cctv": maps.cctv_map(rbkc_wards, fixed=pt, deployed=pt.assign(camera_id="C1"), sites=pt.iloc[:0],
                              whatif=pt, radius_m=50, fixed_radius_m=40, streets=streets),
    }
    for name, m in built.items():
        page = m.get_root().render()
        script = m.get_root().script.render()
        labels = map_labels(script, maps.STREETS_LAYER)
        assert [t for _, _, t in labels] == [hostile, "Elm Road"], name  # shown as the literal text
        assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt; Road\\u0026quot;" in page, name  # tojson writes & as \\u0026
        assert "<img src=x" not in page and "alert(2); (\"" not in page, name
        lon, lat = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True).transform(526000.0, 178500.0)
        assert labels[1][:2] == pytest.approx((lat, lon), abs=1e-5), name  # Elm Road at its BNG point
        assert {t for _, _, t in map_labels(script, maps.WARD_NAMES_LAYER)} == set(rbkc_wards["ward_name"]), name
        assert "L.control.scale" in page, name
        assert not re.search(r"(src|href)=[\"'](https?:)?//", page), name  # still offline
    bare = maps.patrol_map(pt.assign(name="P"), rbkc_wards).get_root()
    bare.render()  # the script is filled in by the page's render
    no_streets = bare.script.render()
    assert map_labels(no_streets, maps.STREETS_LAYER) == []  # the layer is there, empty


def test_tiles_only_when_configured(rbkc_wards: gpd.GeoDataFrame) -> None:
    html = _html(_points([]), rbkc_wards, tiles_url="https://tiles.example.org/{z}/{x}/{y}.png",
                 tiles_attribution="© Example")
    assert "tiles.example.org" in html and "tileLayer" in html
    with pytest.raises(ValueError, match="HOTSPOT_TILES_ATTRIBUTION"):
        maps.incidents_map(_points([]), rbkc_wards, selected_wards=[], layers={},
                           tiles_url="https://tiles.example.org/{z}/{x}/{y}.png")
    assert maps.tiles_from_env({}) == (None, None)
    assert maps.tiles_from_env({maps.TILES_URL_ENV: "https://t/{z}/{x}/{y}.png",
                                maps.TILES_ATTRIBUTION_ENV: "T"}) == ("https://t/{z}/{x}/{y}.png", "T")


def test_selected_wards_are_bold_and_framed(rbkc_wards: gpd.GeoDataFrame) -> None:
    abingdon = rbkc_wards.loc[rbkc_wards["ward_name"] == "Abingdon", "ward_code"].item()
    m = maps.incidents_map(_points([]), rbkc_wards, selected_wards=[abingdon], layers={})
    html = m.get_root().render()
    assert html.count('"weight": 2.5') == 1  # one selected ward style in the styler switch
    (south, west), (north, east) = json.loads(re.search(r"fitBounds\(\s*(\[\[.*?\]\])", html, re.S).group(1))
    a = rbkc_wards[rbkc_wards["ward_code"] == abingdon].to_crs("EPSG:4326").total_bounds
    assert (west, south, east, north) == pytest.approx(tuple(a), abs=1e-4)


def test_map_input_errors_name_the_problem(rbkc_wards: gpd.GeoDataFrame) -> None:
    with pytest.raises(SchemaError, match="lon"):
        maps.incidents_map(pd.DataFrame({"category": ["burglary"]}), rbkc_wards, selected_wards=[], layers={})
    with pytest.raises(SchemaError, match="ward_name"):
        maps.incidents_map(_points([]), rbkc_wards.drop(columns="ward_name"), selected_wards=[], layers={})
    with pytest.raises(CRSError, match="set_crs"):
        maps.incidents_map(_points([]), rbkc_wards.set_crs(None, allow_override=True), selected_wards=[],
                           layers={})
    with pytest.raises(ValueError, match="max_points"):
        maps.incidents_map(_points([]), rbkc_wards, selected_wards=[], layers={}, max_points=0)


def test_static_url_follows_the_base_url_path() -> None:
    assert maps.static_url_for("") == "/app/static"
    assert maps.static_url_for("/safety/") == "/safety/app/static"
    js, _ = maps.local_assets("/safety/app/static")
    assert js[0] == ("leaflet", "/safety/app/static/leaflet-1.9.3/leaflet.js")
    with pytest.raises(ValueError, match="root-relative"):
        maps.local_assets("https://cdn.example.org/static")


# --------------------------------------------------------------------------
# ui.tables and ui.state (pure)
# --------------------------------------------------------------------------
def test_ward_category_table_keeps_suppression_fills_zeros_and_never_totals() -> None:
    wards = pd.DataFrame({"ward_code": ["W1", "W2", "W3"], "ward_name": ["Beta", "Alpha", "Gamma"],
                          "borough_name": "Kensington and Chelsea"})
    counts = pd.DataFrame({
        "ward_code": ["W1", "W1", "W2", "W2", "X9"],
        "category": ["burglary", "violent-crime", "violent-crime", "drugs", "burglary"],
        "sensitive": [False, True, True, False, False],
        "count": [7, None, 12, 3, 99], "display": ["7", "fewer than 5", "12", "3", "99"],
    })
    table = tables.ward_category_table(counts, wards)
    vso = f"Violence and sexual offences{tables.SENSITIVE_SUFFIX}"
    assert list(table.index) == ["Alpha", "Beta", "Gamma"]
    assert list(table.columns) == ["Burglary", "Drugs", vso]
    assert table.loc["Beta"].tolist() == ["7", "0", "fewer than 5"]
    assert table.loc["Gamma"].tolist() == ["0", "0", "0"]
    assert "99" not in table.to_numpy()  # a ward not listed is not shown
    assert not any("total" in c.lower() for c in table.columns)
    only = tables.ward_category_table(counts, wards, ward_codes=["W2"], categories=["drugs"], with_borough=True)
    assert list(only.index) == ["Alpha (Kensington and Chelsea)"]
    assert list(only.columns) == ["Drugs", vso]
    with pytest.raises(SchemaError, match="display"):
        tables.ward_category_table(counts.drop(columns="display"), wards)


def test_state_helpers() -> None:
    assert state.default_month(["2018-05", "2018-06", "2024-09"], ["2018-05", "2018-06"]) == "2018-06"
    assert state.default_month(["2024-09"], []) == "2024-09"
    assert state.default_month([], []) is None
    session = {state.WARDS: ["A", "Z"], state.MONTH: "2030-01"}
    state.keep_valid(session, state.WARDS, {"A", "B"})
    state.keep_valid(session, state.MONTH, ["2018-06"])
    state.keep_valid(session, state.CATEGORIES, ["burglary"])
    assert session == {state.WARDS: ["A"]}


def test_pure_ui_modules_do_not_import_streamlit() -> None:
    code = ("import sys, ui.maps, ui.tables, ui.state, ui.planning, ui.analysis, ui.identity; "
            "sys.exit(1 if any(m == 'streamlit' or m.startswith('streamlit.') for m in sys.modules) else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr or "ui.maps/tables/state/planning/analysis imported streamlit"


def test_every_page_file_is_routed_and_uses_only_declared_session_keys() -> None:
    """app.py routes every page file; widget keys in the pages are ``state`` constants, not literals."""
    app = (REPO / "app.py").read_text(encoding="utf-8")
    pages = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "ui" / "pages").glob("*.py")
                   if p.name != "__init__.py")
    assert pages == sorted(re.findall(r'st\.Page\("([^"]+)"', app))
    for page in pages:
        text = (REPO / page).read_text(encoding="utf-8")
        literal = re.findall(r'key="([^"]+)"', text)
        assert literal == [] or page == "ui/pages/incidents.py", (page, literal)
        # no SQL in a page: queries live in spatial.store.queries and tasking.records
        assert not re.search(r"(?<![\w.])select\(|\.execute\(|from sqlalchemy import", text), page


def test_the_wardens_map_names_every_place_without_a_rank(rbkc_wards: gpd.GeoDataFrame) -> None:
    """My patrols names all of the warden's places on the map, unranked: the shift lists give the visiting
    order, so a "1." on the map would contradict them."""
    places = pd.DataFrame({"candidate_id": ["ST-a", "ST-b"],
                           "name": ["Elm Road / Ash Street, Holland ward", "Pine Walk, Campden ward"],
                           "x": [524800.0, 525900.0], "y": [179600.0, 179800.0], "visits": [12, 3]})
    html = maps.patrol_map(places, rbkc_wards, label_top=len(places), label_rank=False).get_root().render()
    assert '"Elm Road / Ash Street"' in html and '"Pine Walk"' in html
    assert "1. Elm Road" not in html and "2. Pine Walk" not in html


def test_the_plan_maps_first_places_are_named_short_and_escaped(rbkc_wards: gpd.GeoDataFrame) -> None:
    """The Tasking map names its first places by rank and short name (no ward), as labels laid out with the
    street and ward names (never over each other); the full name and visits stay on hover."""
    places = pd.DataFrame({"candidate_id": ["ST-a", "ST-b", "ST-c"],
                           "name": ["Elm Road / Ash Street, Holland ward", "<b>Oak</b> Lane, Abingdon ward",
                                    "Pine Walk, Campden ward"],
                           "x": [524800.0, 525400.0, 525900.0], "y": [179600.0, 179000.0, 179800.0],
                           "visits": [12, 7, 3]})
    html = maps.patrol_map(places, rbkc_wards, label_top=2).get_root().render()
    assert maps.PLACE_LABEL_CLASS in html
    assert '"1. Elm Road / Ash Street"' in html  # the rank and the short name: no ward
    assert '"2. \\u0026lt;b\\u0026gt;Oak\\u0026lt;/b\\u0026gt; Lane"' in html  # escaped, then JSON-encoded
    assert "3. Pine Walk" not in html  # only the first label_top places are named on the map
    assert "Pine Walk, Campden ward (3 visits this week)" in html  # every place on hover
    assert "<b>Oak</b>" not in html
    # both label layers (the places, the ward names; no streets given here) join the map's one layout, which the
    # first of them defines at run time (each script carries the guarded definition)
    assert html.count("sets.push({group: group") == 2 and html.count("map._hotspotLayout = function") == 2
