"""Place names (issue 15 item 1): streets from police.uk location text, layer names, ward names, unique per plan.

Pure functions on small hand-made tables, then the names of a real plan
allocated from the bundled RBKC month (police.uk API, June 2018).
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

import _tk_plans as P
import pandas as pd
import pytest
import shapely

from spatial.datasets import load_wards
from spatial.store import connect
from spatial.store.queries import incident_frame
from tasking.names import place_names, place_reason, plan_place_names, street_of, tidy_layer_name, ward_label

REPO = Path(__file__).resolve().parents[2]


def _cands(rows: list[tuple[str, str, str, float, float]]) -> pd.DataFrame:
    return pd.DataFrame([{"candidate_id": c, "place_type": t, "name": n, "ward_code": "W1", "x": x, "y": y}
                         for c, t, n, x, y in rows])


def test_street_of_reads_police_uk_location_text_and_skips_generic_snap_labels():
    assert street_of("On or near Portobello Road") == "Portobello Road"
    assert street_of("  on or near   Golborne  Road ") == "Golborne Road"
    for generic in ("On or near Supermarket", "On or near Parking Area", "On or near Petrol Station", "", None,
                    float("nan")):
        assert street_of(generic) is None, generic
    assert tidy_layer_name("KENSINGTON GARDENS") == "Kensington Gardens"
    assert ward_label("Golborne") == "Golborne ward" and ward_label("Abbey Ward") == "Abbey Ward"


def test_a_patch_is_named_by_its_two_most_frequent_streets_and_its_ward_name():
    cands = _cands([("ST-a", "street", "hot patch a", 0.0, 0.0)])
    inc = pd.DataFrame({"x": [0, 1, 2, 3, 4, 5, 500.0], "y": [0.0] * 7,
                        "location_text": ["On or near Portobello Road"] * 3 + ["On or near Golborne Road"] * 2
                        + ["On or near Supermarket", "On or near Far Away Street"]})
    names = place_names(cands, inc, ward_names={"W1": "Golborne"})
    assert names.tolist() == ["Portobello Road / Golborne Road, Golborne ward"]


def test_parks_estates_and_ward_presence_take_layer_names_and_the_nearest_street():
    cands = _cands([("PK-1", "park", "HOLLAND PARK", 0.0, 0.0), ("ES-9", "estate", "Lancaster West", 900.0, 0.0),
                    ("WP-W1", "street", "ward presence point", 2000.0, 0.0)])
    inc = pd.DataFrame({"x": [1990.0, 100.0], "y": [5.0, 0.0],
                        "location_text": ["On or near Elkstone Road", "On or near Abbotsbury Road"]})
    names = place_names(cands, inc, ward_names={"W1": "Holland"}).tolist()
    assert names == ["Holland Park, Holland ward", "Lancaster West, Holland ward",
                     "ward presence: Holland ward, near Elkstone Road"]


def test_two_patches_on_the_same_streets_get_different_names():
    cands = _cands([("ST-a", "street", "", 0.0, 0.0), ("ST-b", "street", "", 0.0, 600.0),
                    ("ST-c", "street", "", 0.0, 1200.0)])
    inc = pd.DataFrame({"x": [0.0, 1, 0, 1, 0, 1], "y": [0.0, 0, 600, 600, 1200, 1200],
                        "location_text": ["On or near Elm Road", "On or near Ash Street"] * 3})
    names = place_names(cands, inc, ward_names={"W1": "Holland"}).tolist()
    assert len(set(names)) == 3, names
    assert all(n.startswith("Ash Street / Elm Road, Holland ward") for n in names)  # a tie: alphabetical
    assert "(north)" in names[2] and "(south)" in names[0]


def test_old_plans_without_place_names_show_layer_names_and_ward_names():
    plan = P.make_plan()
    names = plan_place_names(plan, ward_names={"E05009395": "Queen's Gate", "E05009390": "Holland"})
    assert names["PK-1000353"] == "Royal Hospital, Queen's Gate ward"
    assert names["WP-E05009390"].startswith("ward presence: ")
    assert "E05009395" not in names["PK-1000353"]


def test_the_reason_is_plain_words_without_solver_figures():
    why = place_reason({"candidate_id": "ST-a", "top_categories": "burglary 55%, anti-social-behaviour 30%",
                        "n_incidents": 9, "trend_class": "intensifying hot spot", "concerns": "community_trigger"},
                       visit_minutes=15, months=3)
    assert why == ("burglary and anti social behaviour: 9 incidents in 3 months, getting worse here month by month; "
                   "raised by community trigger; 15-minute visits")
    assert "marginal" not in why and "priority" not in why


# --------------------------------------------------------------------------
# a real plan
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real(tmp_path_factory) -> dict:
    from hotspot_cli.allocate import add_parser
    from hotspot_cli.main import main as spatial_main

    tmp = tmp_path_factory.mktemp("names")
    url = f"sqlite:///{tmp / 'hotspot.sqlite'}"
    assert spatial_main(["--database", url, "ingest", str(REPO / "data" / "policeuk" / "rbkc_api_2018-06"),
                         "--quiet"]) == 0
    p = argparse.ArgumentParser()
    p.add_argument("--database")
    p.add_argument("--data-dir")
    add_parser(p.add_subparsers(dest="command"))
    out = tmp / "plan.json"
    args = p.parse_args(["--database", url, "allocate", "--week", P.WEEK, "--time-limit", "10", "--out", str(out)])
    assert args.func(args) == 0
    return {"url": url, "plan": json.loads(out.read_text(encoding="utf-8"))}


def test_every_place_of_a_real_plan_has_a_unique_name_with_streets_and_a_ward_name(real):
    plan = real["plan"]
    wards = load_wards((plan["inputs"]["borough"],))
    ward_names = set(wards["ward_name"])
    names = [c["place_name"] for c in plan["candidates"]]
    assert len(names) == len(set(names)), [n for n, k in Counter(names).items() if k > 1]
    for c in plan["candidates"]:
        n = c["place_name"]
        assert c["candidate_id"] not in n and not re.search(r"E0\d{7}", n), n
        assert c["ward_name"] in n and c["ward_name"].removesuffix(" ward") in ward_names
        if c["place_type"] == "street" and not c["candidate_id"].startswith("WP-") and c["n_incidents"]:
            assert not n.startswith("street patch"), n  # police.uk text names its streets
    incidents = incident_frame(connect(real["url"]), include_sensitive=False)
    streets = set(incidents["location_text"].map(street_of).dropna())
    for c in plan["candidates"]:
        if c["place_type"] == "street" and not c["candidate_id"].startswith("WP-"):
            first = c["place_name"].split(",")[0].split(" (")[0].removeprefix("near ")
            assert all(s in streets for s in first.split(" / ")), c["place_name"]


def test_sensitive_incidents_never_name_a_place(real):
    """A street that only sensitive incidents name (a victim's street) is in no place name."""
    plan = real["plan"]
    every = incident_frame(connect(real["url"]), include_sensitive=True)
    sens = every[every["sensitive"].astype(bool)]
    open_ = every[~every["sensitive"].astype(bool)]
    only_sensitive = set(sens["location_text"].map(street_of).dropna()) - set(open_["location_text"].map(street_of).dropna())
    assert only_sensitive, "the bundled month should hold streets named only by sensitive incidents"
    text = " | ".join(c["place_name"] for c in plan["candidates"])
    hits = [s for s in only_sensitive if re.search(rf"(^|[ /(,]){re.escape(s)}($|[ /),])", text)]
    assert not hits, hits


def test_csv_and_geojson_carry_the_place_name_beside_the_id(real):
    from tasking.pack import plan_csv, plan_geojson

    plan = real["plan"]
    names = {c["candidate_id"]: c["place_name"] for c in plan["candidates"]}
    df = pd.read_csv(pd.io.common.StringIO(plan_csv(plan)))
    assert (df["place_name"] == df["candidate_id"].map(names)).all()
    fc = plan_geojson(plan)
    assert all(f["properties"]["place_name"] == names[f["properties"]["candidate_id"]] for f in fc["features"])
    # one polygon per planned place (issue 17), each named once
    shapes = [shapely.geometry.shape(f["geometry"]) for f in fc["features"]]
    assert all(s.geom_type == "MultiPolygon" and s.is_valid for s in shapes)
    assert sorted(f["properties"]["candidate_id"] for f in fc["features"]) == \
        sorted({a["candidate_id"] for a in plan["assignments"]})


def test_every_place_whose_visits_depart_from_its_harm_share_is_explained(real):
    """Issue 15 item 7: visits follow the place's share of harm, or the page says why not."""
    from tasking.explain import VISIT_SHARE_TOLERANCE, visit_share_reasons, visit_shares
    from tasking.resources import load_roster

    plan = real["plan"]
    roster = load_roster(None)
    shares = visit_shares(plan)
    departing = shares[(shares["visit_share"] - shares["harm_share"]).abs() > VISIT_SHARE_TOLERANCE]
    assert len(departing) > 0  # the bundled week has such places (ward presence, capped top patches)
    reasons = visit_share_reasons(plan, max_visits_per_shift=roster.dosage.max_visits,
                                  n_shifts=7 * len(roster.shifts))
    assert set(reasons["candidate_id"]) == set(departing["candidate_id"])
    assert reasons["reason"].str.len().gt(20).all()
    by_id = reasons.set_index("candidate_id")["reason"]
    for cid in departing["candidate_id"]:
        if cid.startswith("WP-"):
            assert "ward presence: the roster asks for one visit a day in every ward" in by_id[cid]
    # shares are shares
    assert abs(shares["visit_share"].sum() - 1) < 1e-9 and abs(shares["harm_share"].sum() - 1) < 1e-9
