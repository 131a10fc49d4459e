"""The area context (tasking/context.py): scope, narrowing, roster and layers, without a store."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from spatial.datasets import load_boroughs, load_wards
from tasking._errors import TaskingError
from tasking.context import open_area, scope_key
from tasking.resources import roster_from_mapping
from tasking.roster_template import starter_roster_yaml

RBKC = "E09000020"


def test_the_rbkc_context_is_the_rosters_borough_as_before() -> None:
    ctx = open_area(None)  # no store: the default area
    assert ctx.name == "rbkc" and ctx.districts == (RBKC,) and ctx.key == RBKC
    assert ctx.roster is not None and ctx.roster.borough_code == RBKC
    old_wards, old_area = load_wards((RBKC,)), load_boroughs((RBKC,))
    pd.testing.assert_frame_equal(pd.DataFrame(ctx.wards.drop(columns="geometry")),
                                  pd.DataFrame(old_wards.drop(columns="geometry")))
    assert ctx.wards.geometry.geom_equals(old_wards.geometry).all()
    assert ctx.outline.geometry.geom_equals(old_area.geometry).all()
    assert ctx.label == "Kensington and Chelsea" and ctx.ward_vintage == "2018 wards"
    # the three bundled boroughs stay the area (ingest's area of interest), the scope is RBKC
    assert set(ctx.layers.wards["borough_code"]) == {RBKC, "E09000033", "E09000013"}


def test_west_kent_has_three_districts_no_roster_and_narrows_to_one() -> None:
    ctx = open_area(None, "west-kent")
    assert ctx.districts == ("E07000111", "E07000115", "E07000116") and ctx.key == "west-kent"
    assert ctx.label.startswith("West Kent") and ctx.ward_vintage == "2013 wards"
    assert ctx.roster is None
    with pytest.raises(TaskingError, match=r"roster init --area west-kent"):
        ctx.require_roster()
    tm = ctx.narrow("E07000115")
    assert tm.key == "E07000115" and tm.label == "Tonbridge and Malling"
    assert set(tm.wards["borough_code"]) == {"E07000115"} and len(tm.wards) < len(ctx.wards)
    with pytest.raises(TaskingError, match=r"not in area 'west-kent'.*E07000111 \(Sevenoaks\)"):
        ctx.narrow(RBKC)


def test_the_scope_is_the_districts_of_the_rosters_home_wards() -> None:
    ctx = open_area(None, "west-kent")
    wards = ctx.layers.wards
    every = starter_roster_yaml("WK", "E07000111", list(zip(wards["ward_code"], wards["ward_name"])))
    assert ctx.with_roster(roster_from_mapping(yaml.safe_load(every))).districts == ctx.districts
    sev = wards[wards["borough_code"] == "E07000111"]
    some = starter_roster_yaml("Sevenoaks", "E07000111", list(zip(sev["ward_code"], sev["ward_name"])))
    narrowed = ctx.with_roster(roster_from_mapping(yaml.safe_load(some)))
    assert narrowed.districts == ("E07000111",) and narrowed.key == "E07000111"


def test_a_rosters_title_names_its_wardens_and_the_starter_roster_calls_them_patrol_officers() -> None:
    from tasking.kinds import kind_title

    wards = open_area(None, "west-kent").layers.wards
    starter = yaml.safe_load(starter_roster_yaml("WK", "E07000111", list(zip(wards["ward_code"], wards["ward_name"]))))
    assert roster_from_mapping(starter).warden_title == "patrol officer"
    del starter["wardens"]["title"]
    assert roster_from_mapping(starter).warden_title == "warden"  # RBKC's roster gives none: its wardens
    starter["wardens"]["title"] = "  neighbourhood   officer "
    assert roster_from_mapping(starter).warden_title == "neighbourhood officer"
    starter["wardens"]["title"] = 3
    with pytest.raises(TaskingError, match=r"wardens\.title"):
        roster_from_mapping(starter)
    assert kind_title("warden", {"warden": "patrol officer"}) == "patrol officer"
    assert kind_title("parks_police", {"warden": "patrol officer"}) == "parks police"


def test_ward_population_sums_the_lsoas_into_their_wards() -> None:
    ctx = open_area(None, "west-kent")
    pop = ctx.ward_population()
    total = float(ctx.layers.lsoas["population"].sum())
    assert set(pop.index) <= set(ctx.layers.wards["ward_code"]) and len(pop) > 60
    assert total > 300_000 and pop.sum() == pytest.approx(total, rel=0.01)  # each LSOA lands in one ward


def test_scope_keys_fit_the_meeting_table() -> None:
    from spatial.area_profiles import AreaProfile, District

    long = AreaProfile(name="a-very-long-area-name", label="x", districts=(District("E1", "a"), District("E2", "b")),
                       ward_vintage="w", lsoa_vintage="l")
    key = scope_key(long, ["E1", "E2"])
    assert len(key) == 12 and key.startswith("A-") and key != scope_key(long.__class__(
        name="a-very-long-area-nam2", label="x", districts=long.districts, ward_vintage="w", lsoa_vintage="l"),
        ["E1", "E2"])
    assert scope_key(long, ["E2"]) == "E2"
