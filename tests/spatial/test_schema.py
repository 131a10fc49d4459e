"""The canonical incident model and the category taxonomy (a documented mapping file, not code)."""

from __future__ import annotations

import csv

import _builders as B  # first: puts the repository root on sys.path
import pytest

from spatial import schema as S
from spatial._errors import SchemaError
from spatial.store import tables as T

TAXONOMY_DIR = B.REPO / "spatial" / "data"

#: The 14 police.uk categories as the police.uk API names them (data.police.uk/docs/method/crime-categories).
POLICE_UK = {
    "anti-social-behaviour", "bicycle-theft", "burglary", "criminal-damage-arson", "drugs", "other-theft",
    "possession-of-weapons", "public-order", "robbery", "shoplifting", "theft-from-the-person",
    "vehicle-crime", "violent-crime", "other-crime",
}
#: The names the police.uk street CSV uses in "Crime type".
POLICE_UK_CSV = {
    "Anti-social behaviour": "anti-social-behaviour", "Bicycle theft": "bicycle-theft", "Burglary": "burglary",
    "Criminal damage and arson": "criminal-damage-arson", "Drugs": "drugs", "Other theft": "other-theft",
    "Possession of weapons": "possession-of-weapons", "Public order": "public-order", "Robbery": "robbery",
    "Shoplifting": "shoplifting", "Theft from the person": "theft-from-the-person",
    "Vehicle crime": "vehicle-crime", "Violence and sexual offences": "violent-crime", "Other crime": "other-crime",
}
COUNCIL = {"noise", "fly-tipping", "begging", "street-drinking", "drug-litter", "graffiti", "vehicle-asb"}


def read_csv(name: str) -> list[dict[str, str]]:
    with open(TAXONOMY_DIR / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def tax() -> S.Taxonomy:
    return S.load_taxonomy()


def test_police_uk_categories(tax):
    assert len(POLICE_UK) == 14
    assert POLICE_UK <= set(tax.categories)
    assert {s for s, c in tax.categories.items() if c.origin == "police.uk"} == POLICE_UK
    for name, slug in POLICE_UK_CSV.items():
        assert tax.resolve(name) == slug, name
        assert tax.resolve(slug) == slug


def test_council_categories(tax):
    assert COUNCIL <= set(tax.categories)
    assert all(tax.categories[c].origin == "council" for c in COUNCIL)


def test_every_alias_resolves_to_an_existing_category(tax):
    rows = read_csv("category_aliases.csv")
    assert len(rows) > 30
    for r in rows:
        assert r["category"] in tax.categories, r
        assert tax.resolve(r["alias"]) == r["category"], r
        # matching is forgiving about case, spacing, dashes and '&'
        assert tax.resolve(r["alias"].upper()) == r["category"], r
        assert tax.resolve(f"  {r['alias']}  ") == r["category"], r
    assert tax.resolve("Violence & sexual offences") == "violent-crime"
    assert tax.resolve("fly_tipping") == "fly-tipping"
    assert tax.resolve("Pigeons") is None


def test_taxonomy_file_is_the_documented_source(tax):
    rows = read_csv("categories.csv")
    assert {r["category"] for r in rows} == set(tax.categories)
    for r in rows:
        assert r["label"].strip() and r["description"].strip(), r
        c = tax.categories[r["category"]]
        assert c.sensitive == (r["sensitive"].strip().lower() in {"true", "yes", "1"})
        assert c.proactive == (r["proactive"].strip().lower() in {"true", "yes", "1"})


def test_sensitive_categories(tax):
    sensitive = tax.sensitive_slugs()
    assert {"violent-crime", "domestic-abuse", "sexual-offences", "vawg"} <= sensitive
    safeguarding = {s for s in tax.categories if s.startswith("safeguarding-")}
    assert safeguarding, "there should be safeguarding-* categories"
    assert safeguarding <= sensitive
    assert not ({"burglary", "noise", "anti-social-behaviour", "drugs"} & sensitive)


def test_proactive_categories(tax):
    assert tax.proactive_slugs() == {"drugs", "possession-of-weapons"}


def test_with_aliases(tax):
    extended = tax.with_aliases({"ASB - Youth nuisance": "nuisance-behaviour"})
    assert extended.resolve("asb - youth nuisance") == "nuisance-behaviour"
    assert tax.resolve("ASB - Youth nuisance") is None  # the original is unchanged
    with pytest.raises(SchemaError, match="not-a-category"):
        tax.with_aliases({"Foo": "not-a-category"})


def test_incident_columns_are_the_stored_columns():
    assert len(set(S.INCIDENT_COLUMNS)) == len(S.INCIDENT_COLUMNS)
    stored = [c.name for c in T.incidents.columns]
    # migration 0010 added the police.uk forces after ingest_id (ALTER TABLE ADD COLUMN appends), so the
    # declared table lists them where a migrated database has them
    later = (S.REPORTED_BY, S.FALLS_WITHIN)
    assert stored == [*(c for c in S.INCIDENT_COLUMNS if c not in later), "ingest_id", *later]
    for name in ("incident_id", "source", "source_ref", "category", "sensitive", "proactive", "occurred_from",
                 "occurred_to", "x", "y", "lon", "lat", "ward_code", "lsoa_code", "estate_id", "park_id"):
        assert name in S.INCIDENT_COLUMNS
    assert S.BNG == "EPSG:27700" and S.WGS84 == "EPSG:4326" and S.LONDON_TZ == "Europe/London"
