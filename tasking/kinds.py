"""The registry of resource kinds: what a kind of patroller may visit, which shift rules it counts for, how it is named.

Every rule that used to test ``kind == "warden"`` or ``kind == "parks_police"``
(the MILP in :mod:`tasking.allocation`, the greedy baseline in
:mod:`tasking.greedy`, the independent checker in :mod:`tasking.check`, the
roster reader in :mod:`tasking.resources`) looks the kind up here instead.

To add a resource kind (say a dog warden): add a :class:`ResourceKind` entry to
:data:`RESOURCE_KINDS`, add it to :data:`tasking.resources.AgentKind`, read its
roster section in :func:`tasking.resources.roster_from_mapping`, and test it in
``tests/tasking/test_tk_kinds.py``.  This module imports nothing from the
house, so every tasking module can use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["RESOURCE_KINDS", "ResourceKind", "counted", "kind_label", "kind_title", "kinds_where", "resource_kind"]


@dataclass(frozen=True)
class ResourceKind:
    """One kind of patroller.

    Attributes
    ----------
    name
        The kind as stored in plans and rosters (``warden``).
    label
        How it is named to a reader (``warden``, ``parks police``).
    roster_section
        The roster YAML section holding it (``wardens``).
    ward_presence_places
        Place types whose minimum ward presence this kind's visits provide
        (wardens: street patches and estates); empty when it provides none.
    park_presence
        Its visits provide the minimum daily presence in parks.
    on_duty_minimum
        It counts towards the minimum number on duty per shift.
    visits_noun
        The checker's word for its visits (``warden visits``).
    """

    name: str
    label: str
    roster_section: str
    ward_presence_places: frozenset[str]
    park_presence: bool
    on_duty_minimum: bool
    visits_noun: str


#: Every resource kind, by the name plans and rosters use.
RESOURCE_KINDS: Mapping[str, ResourceKind] = {
    "warden": ResourceKind("warden", "warden", "wardens", frozenset({"street", "estate"}), park_presence=False,
                           on_duty_minimum=True, visits_noun="warden visits"),
    "parks_police": ResourceKind("parks_police", "parks police", "parks_police", frozenset(), park_presence=True,
                                 on_duty_minimum=False, visits_noun="parks-police visits"),
}


def resource_kind(name: str) -> ResourceKind:
    """The registry entry of ``name``; :class:`KeyError` naming the known kinds otherwise.

    Examples
    --------
    >>> resource_kind("parks_police").label
    'parks police'
    """
    try:
        return RESOURCE_KINDS[name]
    except KeyError:
        msg = f"resource kind was {name!r} but is expected to be one of {sorted(RESOURCE_KINDS)}"
        raise KeyError(msg) from None


def kind_label(name: str) -> str:
    """Readable name of a kind (unknown kinds: underscores become spaces).

    Examples
    --------
    >>> kind_label("parks_police"), kind_label("dog_warden")
    ('parks police', 'dog warden')
    """
    k = RESOURCE_KINDS.get(name)
    return k.label if k is not None else name.replace("_", " ")


def kind_title(name: str, titles: Mapping[str, str] | None = None) -> str:
    """What a kind's people are called: the roster's title for it (``titles``, e.g. a plan's
    ``inputs["kind_titles"]``) when it gives one, else :func:`kind_label`.

    Examples
    --------
    >>> kind_title("warden", {"warden": "patrol officer"}), kind_title("warden"), kind_title("parks_police", {})
    ('patrol officer', 'warden', 'parks police')
    """
    title = (titles or {}).get(name)
    return str(title) if title else kind_label(name)


def counted(n: int, word: str) -> str:
    """``n`` and ``word``, plural when ``n`` is not 1; words that are already plural ("parks police",
    "staff") stay as they are.  An underscore reads as a space (a kind's name).

    Examples
    --------
    >>> counted(1, "visit"), counted(72, "patrol officer"), counted(6, "parks_police"), counted(0, "warden")
    ('1 visit', '72 patrol officers', '6 parks police', '0 wardens')
    """
    word = word.replace("_", " ")
    return f"{n} {word}" if n == 1 or word.endswith(("police", "staff")) else f"{n} {word}s"


def kinds_where(flag: str, kinds: Iterable[str] | None = None) -> frozenset[str]:
    """Names of the kinds whose ``flag`` attribute is true (or non-empty).

    Examples
    --------
    >>> sorted(kinds_where("on_duty_minimum")), sorted(kinds_where("park_presence"))
    (['warden'], ['parks_police'])
    """
    names = RESOURCE_KINDS if kinds is None else kinds
    return frozenset(n for n in names if bool(getattr(RESOURCE_KINDS[n], flag)))
