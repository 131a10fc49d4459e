"""Designing Out Crime: rule-table completeness, place types, patterns, ranking, safeguarding and the CLI.

Crafted hotspots are built with tiny builders (``Inc`` / ``make_incidents``); coordinates are invented
BNG-like metres.  Place-type tests use the real police.uk location names in ``data/policeuk``; the CLI
tests use a fresh SQLite store holding the real RBKC police.uk file for June 2018.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from hotspot_cli.recommend import add_parser
from spatial._errors import CRSError
from tasking._errors import TaskingError
from tasking.design_out import (
    CPTED_PRINCIPLES,
    PLACE_TYPES,
    classify_locations,
    hotspot_features,
    load_rules,
    rank_measures,
    recommend,
    rule_coverage,
)
from tasking.pipeline import coverage_months

REPO = Path(__file__).resolve().parents[2]
X0, Y0 = 525000.0, 178000.0
RULES_CSV = REPO / "tasking" / "data" / "design_out_rules.csv"


# ----------------------------------------------------------------------------
# builders
# ----------------------------------------------------------------------------
@dataclass
class Inc:
    """One incident ``dx``/``dy`` metres from (X0, Y0); ``when`` local time (council log) or None (police.uk month)."""

    category: str
    dx: float = 50.0
    dy: float = 50.0
    when: str | None = None
    location: str = "On or near Test Road"


def make_incidents(incs: list[Inc]) -> pd.DataFrame:
    rows = []
    for i in incs:
        if i.when is None:  # police.uk: the calendar month only
            frm, to = "2026-03-01T00:00:00+00:00", "2026-04-01T00:00:00+01:00"
        else:
            frm = to = pd.Timestamp(i.when, tz="Europe/London").isoformat()
        rows.append({"category": i.category, "x": X0 + i.dx, "y": Y0 + i.dy, "occurred_from": frm,
                     "occurred_to": to, "month": "2026-03", "location_text": i.location})
    return pd.DataFrame(rows)


def spot(hid: str = "H1", size: float = 150.0) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"hotspot_id": [hid]}, geometry=[shapely.box(X0, Y0, X0 + size, Y0 + size)],
                            crs="EPSG:27700")


def layer(id_col: str) -> gpd.GeoDataFrame:
    """A polygon covering the test hotspot (an estate or a park)."""
    return gpd.GeoDataFrame({id_col: ["L1"]}, geometry=[shapely.box(X0 - 50, Y0 - 50, X0 + 200, Y0 + 200)],
                            crs="EPSG:27700")


def spread(category: str, n: int, **kw) -> list[Inc]:
    """``n`` incidents at different points of the hotspot (no repeat location)."""
    return [Inc(category, dx=10 + 13 * k % 130, dy=10 + 29 * k % 130, **kw) for k in range(n)]


def lines(incs: list[Inc], **kw) -> pd.DataFrame:
    feats = hotspot_features(spot(), make_incidents(incs), **kw)
    return rank_measures(feats)


# ----------------------------------------------------------------------------
# the rule table
# ----------------------------------------------------------------------------
def _gaps(rules: pd.DataFrame, categories: list[str]) -> list[tuple[str, str]]:
    """(category, place type) pairs with no unconditional measure row and no explicit none row."""
    gaps = []
    for cat in categories:
        for place in PLACE_TYPES:
            ok = False
            for _, r in rules.iterrows():
                cats = r["categories"].split("|")
                places = r["place_types"].split("|")
                if r["settings"] or r["requires"]:
                    continue  # conditional rules do not answer on category and place alone
                if ("*" in cats or cat in cats) and ("*" in places or place in places) \
                        and r["kind"] in ("measure", "none"):
                    ok = True
                    break
            if not ok:
                gaps.append((cat, place))
    return gaps


def _categories() -> list[str]:
    with (REPO / "spatial" / "data" / "categories.csv").open(encoding="utf-8", newline="") as fh:
        return [r["category"] for r in csv.DictReader(fh)]


def test_every_category_and_place_type_has_a_measure_or_an_explicit_none():
    raw = pd.read_csv(RULES_CSV, dtype=str, keep_default_na=False)
    cats = _categories()
    assert len(cats) >= 29  # the 14 police.uk categories plus the council ones
    assert _gaps(raw, cats) == []
    cov = rule_coverage(load_rules(), categories=cats)
    assert len(cov) == len(cats) * len(PLACE_TYPES)
    assert not ((cov["measures"] == "") & (cov["nones"] == "")).any()
    # proactive and safeguarding categories are answered by explicit none rows, not by measures
    for cat in ("drugs", "possession-of-weapons", "domestic-abuse", "safeguarding-child", "safeguarding-adult"):
        rows = cov[cov["category"] == cat]
        assert (rows["measures"] == "").all() and (rows["nones"] != "").all(), cat


def test_a_category_without_rules_is_reported_as_a_gap():
    raw = pd.read_csv(RULES_CSV, dtype=str, keep_default_na=False)
    without = raw[raw["rule_id"] != "N01"]  # the drugs none row
    assert ("drugs", "park") in _gaps(without, _categories())
    cov = rule_coverage(load_rules(without), categories=["drugs"])
    assert ((cov["measures"] == "") & (cov["nones"] == "")).all()
    # a new category with no rule is a gap for every place type
    assert len(_gaps(raw, ["new-council-category"])) == len(PLACE_TYPES)


def test_rule_table_is_valid_and_documented():
    rules = load_rules()
    measures = rules[rules["kind"] == "measure"]
    assert set(measures["cpted_principle"]) <= set(CPTED_PRINCIPLES)
    assert len(set(measures["cpted_principle"])) == len(CPTED_PRINCIPLES)  # all six are used
    assert (measures["evidence"].str.len() > 10).all() and (measures["source_ids"] != "").all()
    nones = rules[rules["kind"] == "none"]
    assert nones["measure"].str.startswith("No ").all() and (nones["rationale"].str.len() > 40).all()
    # the brief's measures are all in the table
    for mid in ("street-lighting", "door-entry-no-trades", "pas24-doorsets", "sightlines-landscaping",
                "secure-stores", "cctv", "park-mark"):
        assert mid in set(measures["measure_id"]), mid
    md = (REPO / "tasking" / "data" / "design_out_rules.md").read_text(encoding="utf-8")
    sources = pd.read_csv(REPO / "tasking" / "data" / "design_out_sources.csv", dtype=str)
    for sid in sources["source_id"]:
        assert f"**{sid}**" in md, sid
    bad = pd.read_csv(RULES_CSV, dtype=str, keep_default_na=False)
    bad.loc[0, "categories"] = "burglary|burgalry"
    with pytest.raises(TaskingError, match=r"rule R01: categories \['burgalry'\]"):
        load_rules(bad)
    bad = pd.read_csv(RULES_CSV, dtype=str, keep_default_na=False)
    bad.loc[1, "cpted_principle"] = "good vibes"
    with pytest.raises(TaskingError, match="rule R02: a measure needs cpted_principle"):
        load_rules(bad)


# ----------------------------------------------------------------------------
# place types from location names
# ----------------------------------------------------------------------------
def test_place_types_from_real_police_uk_location_names():
    api = pd.read_csv(REPO / "data" / "policeuk" / "rbkc_api_2018-06" / "rbkc_street_crime_2018-06_police-uk-api.csv",
                      usecols=["street_name"])
    names = api["street_name"].drop_duplicates().reset_index(drop=True)
    t = classify_locations(names).assign(name=names).set_index("name")
    assert tuple(t.loc["On or near Nightclub", ["place_type", "setting"]]) == ("commercial", "night-time-economy")
    assert tuple(t.loc["On or near Parking Area", ["place_type", "setting"]]) == ("transport", "car-park")
    assert tuple(t.loc["On or near Supermarket", ["place_type", "setting"]]) == ("commercial", "retail")
    assert tuple(t.loc["Earls Court (lu Station)", ["place_type", "setting"]]) == ("transport", "station")
    assert tuple(t.loc["On or near Pedestrian Subway", ["place_type", "setting"]]) == ("street", "subway")
    assert t.loc["On or near Park/open Space", "place_type"] == "park"
    assert t.loc["On or near Police Station", "place_type"] is None  # no place evidence
    assert t.loc["On or near Warwick Road", "place_type"] == "street"
    assert t.loc["On or near Holland Park", "place_type"] == "street"  # a street named after the park
    # ordinary street names are never taken for another place type
    streety = t[t.index.str.contains(r" (?:Road|Street|Gardens|Square|Place|Mews|Terrace|Crescent|Avenue|Lane)$")]
    assert len(streety) > 100 and (streety["place_type"] == "street").all()
    # the bulk CSV spells some types differently: matching ignores case
    bulk = pd.concat([pd.read_csv(f, usecols=["Location"])
                      for f in sorted((REPO / "data" / "policeuk" / "rbkc_vso_2024").glob("*/*.csv"))],
                     ignore_index=True)
    b = classify_locations(bulk["Location"])
    assert len(b) == len(bulk)
    for name, place in (("On or near Theatre/Concert Hall", "commercial"), ("On or near Park/Open Space", "park"),
                        ("On or near Sports/Recreation Area", "park"), ("On or near Parking Area", "transport")):
        rows = bulk["Location"] == name
        assert rows.any() and (b.loc[rows, "place_type"] == place).all(), name
    assert b.loc[bulk["Location"] == "On or near Police Station", "place_type"].isna().all()


def test_council_location_text():
    t = classify_locations(["Estate car park", "Rear of estate block", "Pub frontage", "Park entrance", "Underpass",
                            "Residential street", "Station forecourt", None])
    assert t["place_type"].tolist() == ["estate", "estate", "commercial", "park", "street", "street", "transport",
                                        "street"]
    assert t["setting"].tolist()[:5] == ["car-park", "", "night-time-economy", "open-space", "subway"]
    # council phrases never apply to police.uk names (a street called Park Walk is a street)
    assert classify_locations(["On or near Park Walk"])["place_type"].iloc[0] == "street"


# ----------------------------------------------------------------------------
# crafted hotspots
# ----------------------------------------------------------------------------
def test_estate_burglary_at_a_repeat_location_ranks_doorsets_or_door_entry_first():
    incs = [Inc("burglary", dx=70, dy=70) for _ in range(8)] + spread("anti-social-behaviour", 6)
    feats = hotspot_features(spot(), make_incidents(incs), estates=layer("estate_id"))
    f = feats.iloc[0]
    assert f["place_type"] == "estate" and f["repeat"] is True and "repeat-location" in f["patterns"]
    r = rank_measures(feats)
    assert r["measure_id"].iloc[0] in ("pas24-doorsets", "door-entry-no-trades")
    assert {"pas24-doorsets", "door-entry-no-trades"} <= set(r["measure_id"])
    why = r["why"].iloc[0]
    assert "burglary 8 incidents" in why and "repeat location: 57% of incidents at one location point" in why
    # without the estate layer the same place is a street, and door entry (estates only) drops out
    r_street = lines(incs)
    assert "door-entry-no-trades" not in set(r_street["measure_id"])
    assert r_street["measure_id"].iloc[0] == "pas24-doorsets"


def test_park_with_asb_and_criminal_damage_gets_landscaping_or_maintenance():
    incs = spread("anti-social-behaviour", 10) + spread("criminal-damage-arson", 5)
    r = lines(incs, parks=layer("park_id"))
    assert r["measure_id"].iloc[0] in ("sightlines-landscaping", "rapid-repair")
    assert {"sightlines-landscaping", "rapid-repair", "activity-support"} == set(r["measure_id"])
    assert set(r["cpted_principle"]) == {"natural surveillance", "maintenance", "activity support"}
    assert "cctv" not in set(r["measure_id"])  # the CCTV rules do not cover parks


def test_night_time_violence_on_a_commercial_street_gets_lighting_and_surveillance():
    nights = ["2026-03-06 22:30", "2026-03-06 23:40", "2026-03-07 00:50", "2026-03-07 01:20", "2026-03-13 23:05",
              "2026-03-14 02:10"]
    incs = ([Inc("violent-crime", dx=20 + 15 * k, when=t, location="High street") for k, t in enumerate(nights)]
            + [Inc("public-order", dx=25 + 15 * k, dy=80, when=t, location="High street") for k, t in enumerate(nights)]
            + [Inc("robbery", dx=100, dy=30, when="2026-03-14 23:30", location="Outside parade of shops")])
    feats = hotspot_features(spot(), make_incidents(incs))
    f = feats.iloc[0]
    assert f["place_type"] == "commercial" and f["night"] is True and f["n_timed"] == 13
    r = rank_measures(feats)
    assert r["measure_id"].iloc[0] == "street-lighting"
    assert r["cpted_principle"].iloc[0] == "natural surveillance"
    assert "night-time: 100% of 13 timed incidents 19:00-07:00" in r["why"].iloc[0]
    assert "nte-management" in set(r["measure_id"])  # fires on commercial + night-time
    # the same incidents by day: no night-time pattern, no night-economy rule, lower lighting score
    day = [Inc(i.category, i.dx, i.dy, when=i.when.replace(i.when[11:13], "11"), location=i.location) for i in incs]
    r_day = lines(day)
    assert "nte-management" not in set(r_day["measure_id"])
    lit = r_day[r_day["measure_id"] == "street-lighting"]["score"].iloc[0]
    assert lit < r["score"].iloc[0]


def test_car_park_vehicle_crime_gets_cctv_lighting_and_park_mark():
    incs = [Inc("vehicle-crime", dx=60, dy=60, location="On or near Parking Area") for _ in range(9)]
    incs += [Inc("criminal-damage-arson", dx=90, dy=40, location="On or near Parking Area")]
    feats = hotspot_features(spot(), make_incidents(incs))
    f = feats.iloc[0]
    assert f["place_type"] == "transport" and f["settings"] == ("car-park",)
    r = rank_measures(feats)
    assert r["measure_id"].tolist() == ["cctv", "street-lighting", "park-mark"]
    top = r.iloc[0]
    assert top["rule_id"] == "R08" and "car park" in top["measure"] and "car parks" in top["evidence"]
    assert "S10 Piza et al. 2019 (CCTV)" in top["sources"]
    assert r["measure_id"].is_unique  # the two CCTV rules give one CCTV line


def test_drugs_only_hotspot_gets_an_explicit_none_with_its_reason():
    r = lines(spread("drugs", 12))
    assert len(r) == 1
    line = r.iloc[0]
    assert line["kind"] == "none" and line["measure_id"] == "none-police-tasking"
    assert line["measure"] == "No design measure: refer to police tasking"
    assert "police find them" in line["rationale"] and line["cpted_principle"] == "none"
    assert line["why"].startswith("drugs 12 incidents")


def test_mixed_hotspot_ranks_none_rows_with_measures_and_empty_hotspots_still_get_a_line():
    r = lines(spread("drugs", 16) + spread("anti-social-behaviour", 4))
    assert r["kind"].tolist()[0] == "none" and "measure" in set(r["kind"])
    empty = rank_measures(hotspot_features(spot(), make_incidents(spread("burglary", 3)).assign(x=0.0)))
    assert empty["measure_id"].tolist() == ["none-no-trigger"]
    assert "no incidents" in empty["why"].iloc[0]


def test_top_k_keeps_the_best_measures_and_adds_nones():
    incs = spread("robbery", 4) + spread("anti-social-behaviour", 10) + spread("noise", 4)
    feats = hotspot_features(spot(), make_incidents(incs))
    r1 = rank_measures(feats, top_k=1)
    r3 = rank_measures(feats, top_k=3)
    assert (r1["kind"] == "measure").sum() == 1 and (r3["kind"] == "measure").sum() == 3
    assert r1[r1["kind"] == "measure"]["measure_id"].iloc[0] == r3[r3["kind"] == "measure"]["measure_id"].iloc[0]
    assert "none-noise" in set(r1["measure_id"])
    assert r3["rank"].tolist() == list(range(1, len(r3) + 1))
    assert r3["score"].is_monotonic_decreasing


# ----------------------------------------------------------------------------
# night-time is never guessed from police.uk months
# ----------------------------------------------------------------------------
def test_police_uk_only_data_never_gets_the_night_time_pattern():
    incs = spread("robbery", 10) + spread("public-order", 20, location="On or near Nightclub")
    feats = hotspot_features(spot(), make_incidents(incs))
    f = feats.iloc[0]
    assert f["night"] is None and f["n_timed"] == 0 and "night-time" not in f["patterns"]
    assert "night-time unknown" in f["pattern_notes"]
    r = rank_measures(feats)
    assert "night-time:" not in " ".join(r["why"])
    # four timed night incidents are still too few to say
    few = incs + [Inc("robbery", when=f"2026-03-0{d} 23:00") for d in range(1, 5)]
    assert hotspot_features(spot(), make_incidents(few)).iloc[0]["night"] is None
    # a fifth makes it known
    five = few + [Inc("robbery", when="2026-03-05 23:00")]
    f5 = hotspot_features(spot(), make_incidents(five)).iloc[0]
    assert f5["night"] is True and f5["n_timed"] == 5


def test_night_share_is_aoristic_on_the_london_wall_clock():
    inc = make_incidents(spread("public-order", 5))
    # 18:30-19:30 local: half of each hour-long interval is in the 19:00-07:00 window
    inc["occurred_from"] = "2026-06-05T18:30:00+01:00"
    inc["occurred_to"] = "2026-06-05T19:30:00+01:00"
    f = hotspot_features(spot(), inc).iloc[0]
    assert f["night_share"] == pytest.approx(0.5) and f["night"] is False
    # 18:30 UTC in June is 19:30 BST: night on the London clock
    inc["occurred_from"] = inc["occurred_to"] = "2026-06-05T18:30:00+00:00"
    f = hotspot_features(spot(), inc).iloc[0]
    assert f["night_share"] == pytest.approx(1.0) and f["night"] is True


# ----------------------------------------------------------------------------
# safeguarding
# ----------------------------------------------------------------------------
def test_small_sensitive_counts_are_shown_as_fewer_than_five():
    incs = (spread("violent-crime", 3) + spread("sexual-offences", 7) + spread("public-order", 10)
            + spread("robbery", 2))
    out = recommend(spot(), make_incidents(incs), top_k=5)
    row = out.iloc[0]
    assert "violent-crime fewer than 5" in row["category_mix"]
    assert "sexual-offences 7 (" in row["category_mix"]
    assert row["incidents"] == "12 + sensitive 7 + sensitive fewer than 5 in violent-crime"
    text = " ".join(str(v) for v in row.drop("geometry").to_numpy())
    assert not re.search(r"violent-crime \(?3", text)
    assert "violent-crime (fewer than 5 incidents)" in text
    # shares are of the shown incidents only (19), so the small count cannot be worked out by difference
    assert "public-order 10 incidents (53% of incidents" in text
    # one output row per hotspot; nothing per incident
    assert len(out) == 1
    assert not ({"x", "y", "incident_id"} & set(out.columns))


def test_repeat_location_ignores_sensitive_incidents():
    incs = [Inc("domestic-abuse", dx=70, dy=70) for _ in range(10)] + spread("anti-social-behaviour", 8)
    f = hotspot_features(spot(), make_incidents(incs)).iloc[0]
    assert f["repeat"] is False
    r = rank_measures(hotspot_features(spot(), make_incidents(incs)))
    assert "none-safeguarding" in set(r["measure_id"])


def test_input_errors_name_the_problem():
    inc = make_incidents(spread("burglary", 3))
    with pytest.raises(CRSError, match="EPSG:27700"):
        hotspot_features(spot().to_crs(4326), inc)
    with pytest.raises(TaskingError, match="'category'"):
        hotspot_features(spot(), inc.drop(columns="category"))
    two = pd.concat([spot("A"), spot("A")], ignore_index=True)
    with pytest.raises(TaskingError, match="hotspot ids repeat"):
        hotspot_features(two, inc)
    with pytest.raises(TaskingError, match="top_k was 0"):
        rank_measures(hotspot_features(spot(), inc), top_k=0)


# ----------------------------------------------------------------------------
# the CLI on a small real store
# ----------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    p.add_argument("--database")
    p.add_argument("--data-dir")
    add_parser(p.add_subparsers(dest="command"))
    return p


def _run(*argv: str) -> int:
    args = _parser().parse_args(list(argv))
    return args.func(args)


@pytest.fixture(scope="module")
def rbkc_db(tmp_path_factory) -> str:
    from hotspot_cli.main import main as spatial_main

    url = f"sqlite:///{tmp_path_factory.mktemp('do') / 'hotspot.sqlite'}"
    rc = spatial_main(["--database", url, "ingest", str(REPO / "data" / "policeuk" / "rbkc_api_2018-06"), "--quiet"])
    assert rc == 0
    return url


def _count(printed: str) -> int:
    return int(re.search(r"recommend: (\d+) hotspots", printed).group(1))


def test_cli_writes_geojson_with_a_recommendation_for_every_hotspot(rbkc_db, tmp_path, capsys):
    out = tmp_path / "rec.geojson"
    assert _run("--database", rbkc_db, "recommend", "--method", "dbscan", "--out", str(out)) == 0
    printed = capsys.readouterr().out
    fc = json.loads(out.read_text(encoding="utf-8"))
    feats = fc["features"]
    assert len(feats) == _count(printed) > 0
    props = [f["properties"] for f in feats]
    assert len({p["candidate_id"] for p in props}) == len(props)
    assert all(p["rec1_measure"] and p["rec1_why"] for p in props)
    assert all(p["rec1_kind"] in ("measure", "none") for p in props)
    assert all("night-time unknown" in p["pattern_notes"] for p in props)  # police.uk: months only
    assert {p["run_period"] for p in props} == {"2018-06"} and {p["run_method"] for p in props} == {"dbscan"}
    assert all(isinstance(p["incidents"], int) and p["incidents"] >= 0 for p in props)  # an integer, not text
    assert "params" not in fc
    # independently: every DBSCAN cluster of the same incidents lies in a place that got advice
    from spatial.hotspots import density_clusters
    from spatial.store import connect
    from spatial.store.queries import incident_frame

    inc = incident_frame(connect(rbkc_db), include_sensitive=False)
    inc = inc[inc["ward_code"].str.startswith("E0500")]
    from spatial.datasets import load_wards

    inc = inc[inc["ward_code"].isin(load_wards(("E09000020",))["ward_code"])]
    clusters = density_clusters(inc)
    places = gpd.read_file(out).to_crs(27700).geometry.union_all()
    reps = shapely.point_on_surface(clusters.geometry.to_numpy())
    assert len(clusters) > 0 and all(places.intersects(p) for p in reps)


def test_cli_writes_a_geopackage_advice_layer(rbkc_db, tmp_path, capsys):
    import pyogrio

    out = tmp_path / "rec.gpkg"
    assert _run("--database", rbkc_db, "recommend", "--method", "dbscan", "--include-sensitive",
                "--out", str(out)) == 0
    n = _count(capsys.readouterr().out)
    layers = dict(pyogrio.list_layers(out))
    assert layers == {"advice": "MultiPolygon", "run_parameters": None}
    info = pyogrio.read_info(out, layer="advice")
    fields = dict(zip(info["fields"], info["ogr_types"]))
    assert info["crs"] == "EPSG:27700" and info["features"] == n > 0
    assert fields["incidents"] == "OFTInteger64" and fields["incidents_shown"] == "OFTString"
    adv = pyogrio.read_dataframe(out, layer="advice")
    assert adv.geometry.is_valid.all()
    # the integer is the non-sensitive count, the text what the screen shows (small sensitive counts suppressed)
    assert all(str(t).split()[0] == str(i) for t, i in zip(adv["incidents_shown"], adv["incidents"]))
    assert not re.search(r"violent-crime [1-4] ", " ".join(adv["category_mix"]))
    kv = dict(pyogrio.read_dataframe(out, layer="run_parameters")[["key", "value"]].to_numpy())
    assert kv["method"] == "dbscan" and kv["period"] == "2018-06" and kv["area"] == "E09000020"


def test_cli_writes_csv_with_ranked_lines_for_every_hotspot(rbkc_db, tmp_path, capsys):
    out = tmp_path / "rec.csv"
    assert _run("--database", rbkc_db, "recommend", "--top", "2", "--out", str(out)) == 0  # KDE, as allocate
    printed = capsys.readouterr().out
    df = pd.read_csv(out)
    n = _count(printed)
    assert df["candidate_id"].nunique() == n > 0
    assert (df.groupby("candidate_id")["rank"].min() == 1).all()
    assert (df[df["kind"] == "measure"].groupby("candidate_id").size() <= 2).all()
    assert df["candidate_id"].str.match(r"^(ST|PK|ES)-").all()
    assert {"measure", "cpted_principle", "why", "evidence", "sources", "x", "y", "place_type"} <= set(df.columns)
    assert "note: night-time pattern unknown" in printed


def test_cli_plan_mode_advises_on_the_plan_candidates(rbkc_db, tmp_path, capsys):
    first = tmp_path / "all.csv"
    assert _run("--database", rbkc_db, "recommend", "--method", "dbscan", "--out", str(first)) == 0
    ids = sorted(pd.read_csv(first)["candidate_id"].unique())[:2]
    plan = {"inputs": {"hotspot_method": "dbscan", "months": ["2018-06"], "borough": "E09000020",
                       "hotspot_share": 0.05, "cell_size_m": 150.0, "harm_index": "cchi"},
            "candidates": [{"candidate_id": c} for c in [*ids, "WP-E05009388", "ST-gone"]]}
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    capsys.readouterr()
    out = tmp_path / "plan_rec.csv"
    assert _run("--database", rbkc_db, "recommend", "--plan", str(path), "--out", str(out)) == 0
    printed = capsys.readouterr().out
    assert sorted(pd.read_csv(out)["candidate_id"].unique()) == ids
    assert "1 plan candidates not found" in printed and "ward presence points" in printed


def test_cli_include_sensitive_suppresses_small_counts(rbkc_db, tmp_path):
    out = tmp_path / "sens.geojson"
    assert _run("--database", rbkc_db, "recommend", "--method", "dbscan", "--include-sensitive",
                "--out", str(out)) == 0
    props = [f["properties"] for f in json.loads(out.read_text(encoding="utf-8"))["features"]]
    mixes = " ".join(p["category_mix"] for p in props)
    assert "violent-crime" in mixes  # sensitive categories reach the mix ...
    assert not re.search(r"violent-crime [1-4] ", mixes)  # ... but never as a count under 5


def test_cli_errors_name_the_option(rbkc_db, sqlite_url, tmp_path):
    with pytest.raises(TaskingError, match=r"--out was .*rec\.xlsx'; give a file ending \.geojson or \.json .* or \.gpkg "
                                           r".* or \.csv"):
        _run("--database", rbkc_db, "recommend", "--out", str(tmp_path / "rec.xlsx"))
    with pytest.raises(TaskingError, match="--plan .*not found"):
        _run("--database", rbkc_db, "recommend", "--plan", str(tmp_path / "missing.json"))
    from spatial.store import create, upgrade

    upgrade(create(sqlite_url))
    with pytest.raises(TaskingError, match="hotspot-tasking ingest --bundled"):
        _run("--database", sqlite_url, "recommend")
    with pytest.raises(TaskingError, match="--months was 0"):
        coverage_months(pd.DataFrame({"month": ["2018-06"]}), 0)
