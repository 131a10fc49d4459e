from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest
from conftest import REPO

from spatial._errors import SchemaError
from spatial.harm import harm_weight, load_harm_table, load_harm_weights


def _categories() -> dict[str, dict[str, str]]:
    with open(REPO / "spatial" / "data" / "categories.csv", newline="", encoding="utf-8") as fh:
        return {r["category"]: r for r in csv.DictReader(fh)}


def test_table_covers_every_category_with_both_indices():
    cats = _categories()
    table = load_harm_table()
    assert set(table.index) == set(cats)
    for index in ("cchi", "ons_css"):
        w = load_harm_weights(index)
        assert w.notna().all() and (w >= 0).all()
    assert (table["policy"].str.len() > 0).all() and (table["source"].str.len() > 0).all()


def test_proactive_flags_match_taxonomy_and_policies_are_explicit():
    cats = _categories()
    table = load_harm_table()
    for slug, row in cats.items():
        assert str(table.loc[slug, "proactive"]).lower() == row["proactive"].lower()
        if row["proactive"] == "true":
            assert "proactive" in table.loc[slug, "policy"]
    # ASB is covered by neither index: its value must be labelled as a policy choice
    assert table.loc["anti-social-behaviour", "policy"].startswith("nominal")
    for slug, row in cats.items():
        if row["origin"] == "council":
            assert table.loc[slug, "policy"].split(":")[0] in {"nominal", "proxy", "welfare"}


def test_documented_index_values():
    # figures quoted in domain-notes (b2) for single-subgroup categories
    w = load_harm_weights("cchi")
    assert w["possession-of-weapons"] == 273.75 and w["shoplifting"] == 1.0 and w["public-order"] == 7.5
    assert load_harm_weights("ons_css")["public-order"] == 7.58
    # robbery mix: (971 * 993.55 + 336 * 365) / 1307 from the MPS RBKC minor counts
    assert load_harm_weights("ons_css")["robbery"] == pytest.approx((971 * 993.55 + 336 * 365) / 1307, abs=0.01)


def test_harm_weight_vectorised_and_configurable():
    out = harm_weight(pd.Series(["robbery", "shoplifting", "robbery"]), index="cchi")
    assert out.tolist() == [365.0, 1.0, 365.0]
    custom = load_harm_table().reset_index()
    custom.loc[custom["category"] == "anti-social-behaviour", "cchi_days"] = 7.58
    assert harm_weight(["anti-social-behaviour"], table=custom).tolist() == [7.58]
    with pytest.raises(SchemaError, match="no cchi harm weight"):
        harm_weight(["not-a-category"])
    with pytest.raises(SchemaError, match="harm index"):
        load_harm_weights("sentencing")  # type: ignore[arg-type]
    with pytest.raises(SchemaError, match="lacks columns"):
        load_harm_table(custom.drop(columns=["ons_css"]))
    assert isinstance(harm_weight(np.array(["drugs"])), np.ndarray)
