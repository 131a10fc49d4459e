"""The canonical incident model.

Every reader turns its input into a DataFrame with exactly the columns in
:data:`INCIDENT_COLUMNS`.  Column names are constants so that code never
spells a name twice.  Categories come from the documented mapping files
``spatial/data/categories.csv`` (the canonical taxonomy: the 14 police.uk
categories plus council categories) and ``spatial/data/category_aliases.csv``
(how each source names them).  Neither lives in code.

Coordinates are British National Grid (EPSG:27700) metres in ``x``/``y``, with
WGS84 ``lon``/``lat`` kept for web maps.  ``occurred_from``/``occurred_to`` are
a half-open interval ``[from, to)``, tz-aware Europe/London: police.uk gives
only a month, so the interval is that calendar month; council logs give a
timestamp, so the interval is that instant (``from == to``) or the reported
window.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

from ._errors import SchemaError

__all__ = [
    "INCIDENT_ID", "SOURCE", "SOURCE_REF", "CATEGORY", "SENSITIVE", "PROACTIVE",
    "OCCURRED_FROM", "OCCURRED_TO", "MONTH", "X", "Y", "LON", "LAT",
    "WARD_CODE", "LSOA_CODE", "ESTATE_ID", "PARK_ID", "LOCATION_TEXT", "OUTCOME", "REPORTED_BY", "FALLS_WITHIN",
    "INCIDENT_COLUMNS", "BNG", "WGS84", "LONDON_TZ",
    "Category", "Taxonomy", "load_taxonomy",
]

INCIDENT_ID = "incident_id"
SOURCE = "source"
SOURCE_REF = "source_ref"
CATEGORY = "category"
SENSITIVE = "sensitive"
PROACTIVE = "proactive"
OCCURRED_FROM = "occurred_from"
OCCURRED_TO = "occurred_to"
MONTH = "month"
X = "x"
Y = "y"
LON = "lon"
LAT = "lat"
WARD_CODE = "ward_code"
LSOA_CODE = "lsoa_code"
ESTATE_ID = "estate_id"
PARK_ID = "park_id"
LOCATION_TEXT = "location_text"
OUTCOME = "outcome"
#: police.uk: the force that reported the crime, and the force whose area it falls within (``None`` elsewhere).
REPORTED_BY = "reported_by"
FALLS_WITHIN = "falls_within"

#: Columns of a canonical incident frame, in storage order.
INCIDENT_COLUMNS: tuple[str, ...] = (
    INCIDENT_ID, SOURCE, SOURCE_REF, CATEGORY, SENSITIVE, PROACTIVE,
    OCCURRED_FROM, OCCURRED_TO, MONTH, X, Y, LON, LAT,
    WARD_CODE, LSOA_CODE, ESTATE_ID, PARK_ID, LOCATION_TEXT, OUTCOME, REPORTED_BY, FALLS_WITHIN,
)

BNG = "EPSG:27700"
WGS84 = "EPSG:4326"
LONDON_TZ = "Europe/London"


@dataclass(frozen=True)
class Category:
    """One canonical category of the taxonomy."""

    slug: str
    label: str
    group: str
    origin: str
    sensitive: bool
    proactive: bool
    description: str


def _norm(text: str) -> str:
    """Normalise a category name for matching: case, spaces, dashes, 'and'/'&'."""
    t = text.strip().lower().replace("&", " and ")
    t = re.sub(r"[\s_\-/]+", " ", t)
    return t.strip()


@dataclass(frozen=True)
class Taxonomy:
    """The canonical categories and the aliases that map onto them."""

    categories: dict[str, Category]
    aliases: dict[str, str]

    def resolve(self, name: str) -> str | None:
        """Return the canonical slug for ``name`` or ``None`` if it is unknown."""
        if name in self.categories:
            return name
        return self.aliases.get(_norm(name))

    def with_aliases(self, extra: dict[str, str]) -> Taxonomy:
        """Return a taxonomy that also knows ``extra`` (alias -> canonical slug).

        Raises
        ------
        SchemaError
            If an alias points at a category that does not exist.
        """
        unknown = sorted({v for v in extra.values() if v not in self.categories})
        if unknown:
            msg = (f"category mapping names unknown canonical categories {unknown}; "
                   f"allowed: {sorted(self.categories)}")
            raise SchemaError(msg)
        merged = dict(self.aliases)
        merged.update({_norm(k): v for k, v in extra.items()})
        return Taxonomy(self.categories, merged)

    def sensitive_slugs(self) -> frozenset[str]:
        return frozenset(s for s, c in self.categories.items() if c.sensitive)

    def proactive_slugs(self) -> frozenset[str]:
        return frozenset(s for s, c in self.categories.items() if c.proactive)


def _bool(text: str) -> bool:
    t = text.strip().lower()
    if t in {"true", "yes", "1"}:
        return True
    if t in {"false", "no", "0", ""}:
        return False
    msg = f"expected true/false in the taxonomy file, got {text!r}"
    raise SchemaError(msg)


#: Environment variable: extra category slugs (comma-separated) to treat as sensitive, on top of the
#: taxonomy's ``sensitive`` flag; e.g. a council's VAWG or safeguarding flags on council categories.
EXTRA_SENSITIVE_ENV = "HOTSPOT_EXTRA_SENSITIVE"


def extra_sensitive(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The slugs named by :data:`EXTRA_SENSITIVE_ENV`, sorted, without blanks.

    Examples
    --------
    >>> extra_sensitive({"HOTSPOT_EXTRA_SENSITIVE": " public-order, anti-social-behaviour ,"})
    ('anti-social-behaviour', 'public-order')
    """
    env = os.environ if environ is None else environ
    return tuple(sorted({s.strip() for s in env.get(EXTRA_SENSITIVE_ENV, "").split(",") if s.strip()}))


def load_taxonomy() -> Taxonomy:
    """Load the bundled taxonomy, with the extra sensitive categories of ``$HOTSPOT_EXTRA_SENSITIVE``.

    The flag decides, at ingest, whether an incident is stored as sensitive
    (never a point, counts of 1-4 suppressed).  After adding a category to
    the setting, run ``hotspot-tasking db reflag`` so incidents already
    stored are flagged too.

    Raises
    ------
    SchemaError
        If the setting names a category the taxonomy does not have.
    """
    return _load_taxonomy(extra_sensitive())


@functools.cache
def _load_taxonomy(extra: tuple[str, ...]) -> Taxonomy:
    base = resources.files("spatial") / "data"
    with (base / "categories.csv").open(encoding="utf-8", newline="") as fh:
        cats = {
            r["category"]: Category(
                slug=r["category"], label=r["label"], group=r["group"], origin=r["origin"],
                sensitive=_bool(r["sensitive"]), proactive=_bool(r["proactive"]),
                description=r["description"],
            )
            for r in csv.DictReader(fh)
        }
    unknown = sorted(set(extra) - set(cats))
    if unknown:
        msg = f"{EXTRA_SENSITIVE_ENV} names unknown categories {unknown}; allowed: {sorted(cats)}"
        raise SchemaError(msg)
    for slug in extra:
        cats[slug] = dataclasses.replace(cats[slug], sensitive=True)
    aliases = {_norm(s): s for s in cats}
    aliases.update({_norm(c.label): s for s, c in cats.items()})
    with (base / "category_aliases.csv").open(encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            if r["category"] not in cats:
                msg = f"category_aliases.csv maps {r['alias']!r} to unknown category {r['category']!r}"
                raise SchemaError(msg)
            aliases[_norm(r["alias"])] = r["category"]
    return Taxonomy(cats, aliases)
