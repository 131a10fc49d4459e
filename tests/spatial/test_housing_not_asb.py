"""Housing-association case categories and reports that are not ASB under the landlord's policy (issue 14 item 4).

Expected values come from the policy's own list (West Kent Community Safety Policy & Procedure,
"What is not considered as ASB?") and from frames built here, never from the code under test.
"""

from __future__ import annotations

from pathlib import Path

import _builders as B  # noqa: F401  (first: puts the repository root on sys.path)
import pandas as pd
import pytest

from spatial._errors import HotspotError, MappingError, SchemaError
from spatial.analysis import select_incidents
from spatial.harm import load_harm_weights
from spatial.ingest import load_mapping
from spatial.not_asb import (
    NOT_ASB_GROUP,
    POLICY_REFERENCE,
    UNNAMED_POLICY,
    not_asb_slugs,
    not_asb_summary,
    split_not_asb,
)
from spatial.schema import load_taxonomy

WK_MAPPING = B.REPO / "spatial" / "data" / "west_kent_case_mapping.yaml"
NOT_ASB = {"not-asb-everyday-living", "not-asb-children-playing", "not-asb-parking", "not-asb-neighbour-dispute",
           "not-asb-celebration"}


def test_housing_categories_are_in_the_taxonomy_with_harm_weights():
    tax = load_taxonomy()
    for slug, group in (("noise", "asb"), ("harassment", "asb"), ("rubbish-bin-stores", "environmental"),
                        ("animal-nuisance", "asb"), ("fly-tipping", "environmental")):
        assert tax.categories[slug].group == group and not tax.categories[slug].sensitive, slug
    assert not_asb_slugs(tax) == NOT_ASB
    assert all(tax.categories[s].group == NOT_ASB_GROUP and not tax.categories[s].sensitive for s in NOT_ASB)
    for index in ("cchi", "ons_css"):
        w = load_harm_weights(index)  # type: ignore[arg-type]
        assert {float(w[s]) for s in NOT_ASB} == {0.0}  # counted, never harm
        assert float(w["harassment"]) == float(w["animal-nuisance"]) == float(w["rubbish-bin-stores"]) == 1.0
    # the description cites the policy section each comes from
    assert all("What is not considered as ASB?" in tax.categories[s].description for s in NOT_ASB)


def _frame(cats: list[str], estates: list[str] | None = None) -> pd.DataFrame:
    n = len(cats)
    return pd.DataFrame({"category": cats, "estate_id": estates or ["A"] * n,
                         "x": [558000.0 + 10 * i for i in range(n)], "y": [146000.0] * n,
                         "month": ["2025-03"] * n})


def test_split_and_summary_keep_every_report():
    df = _frame(["noise", "not-asb-parking", "harassment", "not-asb-parking", "not-asb-celebration"],
                ["A", "A", "B", "B", "B"])
    asb, apart = split_not_asb(df)
    assert list(asb.index) == [0, 2] and list(apart.index) == [1, 3, 4]  # index kept, nothing lost
    summary = not_asb_summary(df)
    assert dict(zip(summary["category"], summary["count"], strict=True)) == {
        "not-asb-parking": 2, "not-asb-celebration": 1, "not-asb-children-playing": 0,
        "not-asb-everyday-living": 0, "not-asb-neighbour-dispute": 0}
    assert summary.attrs["total"] == 3 and summary.attrs["policy"] == UNNAMED_POLICY  # the area named no policy
    assert not_asb_summary(df, policy=POLICY_REFERENCE).attrs["policy"] == POLICY_REFERENCE
    assert summary.loc[0, "label"] == "Not ASB: parking"
    by = not_asb_summary(df, by="estate_id")
    assert by[["estate_id", "category", "count"]].values.tolist() == [
        ["A", "not-asb-parking", 1], ["B", "not-asb-celebration", 1], ["B", "not-asb-parking", 1]]
    with pytest.raises(SchemaError, match="category"):
        split_not_asb(df.drop(columns="category"))
    with pytest.raises(SchemaError, match="ward_code"):
        not_asb_summary(df, by="ward_code")


def test_hotspot_selection_never_takes_not_asb_reports():
    df = _frame(["noise", "not-asb-children-playing", "harassment"])
    got = select_incidents(df, None, months=None, category_groups=None)
    assert sorted(got["category"]) == ["harassment", "noise"]
    with pytest.raises(HotspotError, match="no incidents"):
        select_incidents(_frame(["not-asb-parking"]), None, months=None, category_groups=None)


def test_west_kent_mapping_maps_its_categories_and_keeps_not_asb_apart():
    m = load_mapping(WK_MAPPING)
    assert m.source == "west-kent-cases"
    targets = set(m.category_values.values())
    assert {"noise", "harassment", "rubbish-bin-stores", "animal-nuisance", "fly-tipping"} <= targets
    assert set(m.not_asb_values.values()) == NOT_ASB  # every not-ASB category of the policy has wording
    assert set(m.not_asb_values.items()) <= set(m.category_values.items())  # and ingest resolves them
    assert m.not_asb_policy is not None and "What is not considered as ASB?" in m.not_asb_policy
    # no ASB wording is mapped to a not-ASB category and vice versa
    asb_only = {k: v for k, v in m.category_values.items() if k not in m.not_asb_values}
    assert not set(asb_only.values()) & NOT_ASB


def _write(tmp_path: Path, not_asb: str, values: str = '    "Loud music": noise\n') -> Path:
    p = tmp_path / "m.yaml"
    p.write_text("source: t\ncategory:\n  column: Type\n  values:\n" + values + not_asb
                 + "date: {column: When}\ncoordinates: {x: E, y: N, crs: EPSG:27700}\n", encoding="utf-8")
    return p


def test_not_asb_section_errors_name_the_file_and_the_fix(tmp_path):
    bad = _write(tmp_path, '  not_asb:\n    values:\n      "Kids playing": noise\n')
    with pytest.raises(MappingError, match=r"m\.yaml.*not_asb.*\['noise'\].*not-asb"):
        load_mapping(bad)
    unknown = _write(tmp_path, '  not_asb:\n    reason: x\n    values:\n      "Kids": not-asb-children-playing\n')
    with pytest.raises(MappingError, match=r"unknown key\(s\) \['reason'\]"):
        load_mapping(unknown)
    empty = _write(tmp_path, "  not_asb:\n    policy: ours\n")
    with pytest.raises(MappingError, match="must have 'values'"):
        load_mapping(empty)
    clash = _write(tmp_path, '  not_asb:\n    values:\n      "Loud music": not-asb-everyday-living\n')
    with pytest.raises(MappingError, match=r"\['Loud music'\] are mapped both"):
        load_mapping(clash)
    ok = load_mapping(_write(tmp_path, '  not_asb:\n    values:\n      "Kids": not-asb-children-playing\n'))
    assert ok.not_asb_values == {"Kids": "not-asb-children-playing"} and ok.not_asb_policy is None
    assert ok.category_values == {"Loud music": "noise", "Kids": "not-asb-children-playing"}
