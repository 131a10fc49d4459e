"""The registry of place types: what a candidate or a hotspot place can be.

:data:`PLACE_TYPES` is every place type Designing Out Crime rules may name
(:mod:`tasking.design_out`); :data:`PATROL_PLACE_TYPES` the ones a tasking
candidate can have and a roster's ``jurisdiction`` may list
(:mod:`tasking.resources`, :mod:`tasking.candidates`).

To add a place type: add a :class:`PlaceType` entry to :data:`PLACE_TYPE_INFO`
(``patrolled=True`` if candidates of that type are built and patrolled), give
it rules in ``tasking/data/design_out_rules.csv``, and test it in
``tests/tasking/test_tk_registries.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["PATROL_PLACE_TYPES", "PLACE_TYPES", "PLACE_TYPE_INFO", "PlaceType"]


@dataclass(frozen=True)
class PlaceType:
    """One place type: its name, how it is called, and whether tasking candidates have it."""

    name: str
    label: str
    patrolled: bool


#: Every place type, in the order tables and rules list them.
PLACE_TYPE_INFO: Mapping[str, PlaceType] = {
    "street": PlaceType("street", "street patch", patrolled=True),
    "estate": PlaceType("estate", "housing estate", patrolled=True),
    "park": PlaceType("park", "park", patrolled=True),
    "commercial": PlaceType("commercial", "commercial premises", patrolled=False),
    "transport": PlaceType("transport", "transport hub", patrolled=False),
}
#: Place types a hotspot place can have (Designing Out Crime rules name these).
PLACE_TYPES: tuple[str, ...] = tuple(PLACE_TYPE_INFO)
#: Place types a tasking candidate can have (and a roster's jurisdiction may list).
PATROL_PLACE_TYPES: tuple[str, ...] = tuple(n for n, p in PLACE_TYPE_INFO.items() if p.patrolled)
