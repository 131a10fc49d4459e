"""The Schemes page (AppTest) on a West Kent store holding the SYNTHETIC schemes and case log (issue 14 item 4).

The store is built once: db init, area west-kent, the 12 SYNTHETIC schemes (with homes), the SYNTHETIC
case log (council-export ingest) and West Kent's starter roster (for the CCTV ranking).  Expected
figures come from the CSV (csv module), the mapping and the schemes file (shapely), not from the page's
code.  The same store opened on RBKC (no scheme of RBKC's) shows how to load a schemes layer.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from _apptest import frame, open_page, texts
from pyproj import Transformer
from streamlit.testing.v1 import AppTest

from hotspot_cli.main import main as cli_main
from spatial.ingest import load_mapping
from spatial.store import audit, connect
from ui.text import md_unescape

REPO = Path(__file__).resolve().parents[2]
SYN = REPO / "data" / "synthetic"
CASES = SYN / "west_kent_cases_SYNTHETIC.csv"
MAPPING = SYN / "west_kent_cases_SYNTHETIC.mapping.yaml"
SCHEMES = SYN / "west_kent_schemes_SYNTHETIC.geojson"
PAGE = "ui/pages/schemes.py"
WK_LABEL = "West Kent (Sevenoaks, Tonbridge and Malling, Tunbridge Wells)"
SENSITIVE = {"domestic-abuse", "violent-crime"}
TIMEOUT_S = 240


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('schemes-page') / 'hotspot.sqlite'}"
    assert cli_main(["--database", url, "db", "init"]) == 0
    assert cli_main(["--database", url, "area", "use", "west-kent"]) == 0
    assert cli_main(["--database", url, "layers", "estates", str(SCHEMES), "--id-column", "scheme_id",
                     "--name-column", "name", "--homes-column", "homes"]) == 0
    assert cli_main(["--database", url, "ingest", "--quiet", str(CASES), "--mapping", str(MAPPING)]) == 0
    assert cli_main(["--database", url, "roster", "init", "--area", "west-kent"]) == 0
    return url


@pytest.fixture(scope="module")
def expected() -> dict:
    """Per scheme: ASB cases, sensitive cases and not-ASB reports; the not-ASB total (from the CSV)."""
    with open(CASES, encoding="utf-8", newline="") as fh:
        cases = list(csv.DictReader(fh))
    m = load_mapping(MAPPING)
    schemes = gpd.read_file(SCHEMES).to_crs(27700)
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    x, y = to_bng.transform(np.array([float(c["Longitude"]) for c in cases]),
                            np.array([float(c["Latitude"]) for c in cases]))
    owner = np.full(len(cases), None, dtype=object)
    for sid, geom in zip(schemes["scheme_id"], schemes.geometry, strict=True):
        owner[shapely.contains_xy(geom, x, y)] = sid
    asb, sens, apart = Counter(), Counter(), Counter()
    for c, o in zip(cases, owner, strict=True):
        if c["Case Type"] in m.not_asb_values:
            apart[o] += 1
        else:
            asb[o] += 1
            sens[o] += m.category_values[c["Case Type"]] in SENSITIVE
    return {"asb": asb, "sensitive": sens, "not_asb": apart, "n_not_asb": sum(apart.values()),
            "homes": dict(zip(schemes["scheme_id"], schemes["homes"], strict=True)),
            "names": dict(zip(schemes["scheme_id"], schemes["name"], strict=True))}


def _page(url: str, monkeypatch: pytest.MonkeyPatch, role: str = "chair", **session: object) -> AppTest:
    return open_page(url, PAGE, monkeypatch, role=role, timeout_s=TIMEOUT_S, **session)


def test_the_chair_sees_the_league_with_each_rates_basis_and_the_synthetic_warning(store, expected, monkeypatch):
    at = _page(store, monkeypatch)
    text = "\n".join(texts(at))
    assert [t.value for t in at.title] == ["Schemes"] and WK_LABEL in text
    assert any("SYNTHETIC data" in w.value for w in at.warning)
    league = frame(at, "Rank")
    assert len(league) == 12 and set(league["Scheme id"]) == set(expected["homes"])
    checked = 0
    for row in league.to_dict(orient="records"):
        sid = row["Scheme id"]
        n, s = expected["asb"][sid], expected["sensitive"][sid]
        assert row["Scheme"] == expected["names"][sid]
        assert row["Non-sensitive cases"] == n - s
        assert row["Not-ASB reports (kept apart)"] == expected["not_asb"][sid]
        homes = expected["homes"][sid]
        if np.isnan(homes):
            assert row["Rate basis"] == "per 1,000 residents (Census 2021 by LSOA, apportioned by area)"
        else:
            assert row["Rate basis"] == "per 1,000 homes (stock layer)"
        if 1 <= s <= 4:
            assert (row["Sensitive cases"], row["ASB cases"], row["Rate"]) == ("fewer than 5", "withheld", "withheld")
        elif row["ASB cases"] != "withheld":  # (a secondary suppression would withhold it too)
            assert row["ASB cases"] == f"{n:,}" and row["Sensitive cases"] == str(s)
            if not np.isnan(homes):
                assert row["Rate"] == f"{n / homes * 1000:,.1f}"
                checked += 1
    assert checked >= 4
    assert "10 schemes per 1,000 homes (stock layer)" in text and "2 schemes per 1,000 residents" in text
    # the not-ASB reports, kept apart with the policy's reason
    assert f"{expected['n_not_asb']:,} reports are not ASB" in text
    assert "What is not considered as ASB" in text
    assert int(frame(at, "Category")["Reports"].sum()) == expected["n_not_asb"]
    # repeat places for staff (non-sensitive only); sensitive ones as counts per scheme and ward
    places = frame(at, "Place")
    assert len(places) >= 10 and not places["Categories"].str.contains("domestic-abuse|violent-crime").any()
    counts = frame(at, "Scheme")
    assert {"non-sensitive", "sensitive"} <= set(counts["Kind"])
    # schemes and wards by name, as people name them (the ward file's names, not its codes)
    wards = gpd.read_file(REPO / "data" / "boundaries" / "west_kent_wards_2013.gpkg")
    ward_col = "Ward (2013 boundaries)"
    assert set(counts[ward_col]) <= set(wards["ward_name"]) and set(places[ward_col]) <= set(wards["ward_name"])
    assert not counts[ward_col].str.fullmatch(r"E05\d{6}").any()
    assert set(counts["Scheme"]) <= {*expected["names"].values(), "(not on a scheme)"}
    on_scheme = places[places["Scheme id"] != "-"]
    assert len(on_scheme) and (on_scheme["Scheme"] == on_scheme["Scheme id"].map(expected["names"])).all()
    # the CCTV ranking: every proposed site needs a survey
    cctv = next(d.value for d in at.dataframe if "Uncovered harm in reach /wk" in d.value.columns)
    assert len(cctv) == 12 and "proposed — needs a site survey" in set(cctv["Site"])
    # the league's CSV is offered through the audited export path
    assert [b.proto.label for b in at.get("download_button")] == ["League (CSV)"]
    # seeing sensitive aggregates (suppressed) is audited
    seen = audit.list_audit(connect(store), action="view-sensitive")
    assert "schemes" in set(seen["target"])


def test_the_analyst_may_open_it_and_sort_by_harm(store, monkeypatch):
    at = _page(store, monkeypatch, role="analyst", SCHEMES_SORT="harm")
    harm = frame(at, "Rank")["Harm"]
    shown = [float(v.replace(",", "")) for v in harm if v != "withheld"]
    assert len(shown) >= 5 and shown == sorted(shown, reverse=True)


@pytest.mark.parametrize("role", ["warden", "partner", "cctv"])
def test_other_roles_are_refused(store, monkeypatch, role):
    at = _page(store, monkeypatch, role=role)
    assert any("The Schemes page is not open to the" in e.value for e in at.error)
    assert not at.dataframe and not at.warning


def test_rbkc_without_schemes_says_how_to_load_them(store, monkeypatch):
    at = _page(store, monkeypatch, AREA="rbkc")
    info = md_unescape(" ".join(i.value for i in at.info))
    assert "No schemes to show for Kensington and Chelsea" in info
    assert "hotspot-tasking layers estates FILE --id-column ID --name-column NAME --homes-column HOMES" in info
    assert not at.dataframe and not any("SYNTHETIC" in t for t in texts(at))


def test_no_sensitive_case_is_placed_on_the_page(store, monkeypatch):
    """Places and addresses only sensitive cases have (from the CSV) appear nowhere on the chair's page.

    Shown coordinate pairs (``easting,northing`` in the tables) are compared with the CSV's points
    transformed here, within 5 m (the store's transformation differs from plain pyproj by about 2 m).
    """
    import re

    with open(CASES, encoding="utf-8", newline="") as fh:
        cases = list(csv.DictReader(fh))
    m = load_mapping(MAPPING)
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)

    def bng(points: set[tuple[str, str]]) -> np.ndarray:
        lon, lat = zip(*sorted(points), strict=True)
        x, y = to_bng.transform(np.array(lon, dtype=float), np.array(lat, dtype=float))
        return np.column_stack([x, y])

    sens = [c for c in cases if m.category_values[c["Case Type"]] in SENSITIVE]
    other = [c for c in cases if m.category_values[c["Case Type"]] not in SENSITIVE]
    at_sens = {(c["Longitude"], c["Latitude"]) for c in sens}
    at_other = {(c["Longitude"], c["Latitude"]) for c in other}
    only_places, open_places = bng(at_sens - at_other), bng(at_other)
    only_texts = {c["Location"] for c in sens} - {c["Location"] for c in other}
    assert len(only_places) >= 5  # sensitive-only places to look for
    at = _page(store, monkeypatch)
    hay = "\n".join([*texts(at), *(d.value.to_csv(index=False) for d in at.dataframe)])
    shown = np.array([(float(a), float(b)) for a, b in re.findall(r"(?<![\d.])(\d{6}),(\d{6})(?![\d.])", hay)])
    assert len(shown) >= 10  # the repeat places are shown as points: the scan looks at them

    def nearest(p: np.ndarray, pts: np.ndarray) -> float:
        return float(np.hypot(pts[:, 0] - p[0], pts[:, 1] - p[1]).min())

    places = frame(at, "Place")
    listed = np.column_stack([places["Easting"].to_numpy(float), places["Northing"].to_numpy(float)])
    assert all(nearest(p, open_places) <= 5.0 for p in listed)  # the test finds the places that may show
    assert {tuple(p) for p in listed} <= {tuple(p) for p in shown}
    assert [tuple(p) for p in shown if nearest(p, only_places) <= 5.0] == []
    assert [t for t in only_texts if t in hay] == []


def test_the_tasking_pages_pack_carries_the_schemes_of_west_kent_only(store, expected):
    """What the Tasking page's download passes to the pack: West Kent's report; RBKC (no schemes) nothing."""
    import sys

    sys.path.insert(0, str(REPO / "tests" / "tasking"))
    import _tk_plans as P

    from tasking import access
    from ui.service import AreaService

    chair = access.Viewer("cath", "chair")
    wk = AreaService(store, "west-kent", str(REPO / "data"))
    report = wk.pack_schemes(wk.version(), chair)
    assert report is not None and report.league is not None and len(report.league) == 12
    assert report.cctv is None and report.repeats is not None and report.repeats.points is not None
    assert AreaService(store, "rbkc", str(REPO / "data")).pack_schemes(wk.version(), chair) is None
    page = access.export_bytes(chair, P.make_plan(), format="html", engine=connect(store),
                               schemes=report).decode("utf-8")
    assert ">9. Schemes</h2>" in page and f"{expected['n_not_asb']:,} reports are not ASB" in page
    with pytest.raises(access.AccessDenied):
        wk.pack_schemes(wk.version(), access.Viewer("wendy", "warden", "W01"))

