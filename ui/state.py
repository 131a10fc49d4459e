"""Session-state keys of the dashboard, declared once.

Every widget that keeps a selection uses one of these keys, so tests and pages
never spell a key twice.  Session state holds selections only, never data.
The helpers take the session mapping as an argument, so they are tested
without Streamlit.
"""

from __future__ import annotations

from collections.abc import Collection, MutableMapping, Sequence
from typing import Any, Final

__all__ = ["WARDS", "MONTH", "CATEGORIES", "NEIGHBOURS", "ALL_KEYS", "default_month", "keep_valid"]

#: Ward codes picked in the ward multiselect (empty = every ward shown).
WARDS: Final = "incidents.wards"
#: Month ("YYYY-MM") picked in the month select.
MONTH: Final = "incidents.month"
#: Category slugs picked in the category multiselect (empty = every mappable category).
CATEGORIES: Final = "incidents.categories"
#: Whether the neighbouring demo boroughs (Westminster, Hammersmith & Fulham) are offered.
NEIGHBOURS: Final = "incidents.neighbours"

ALL_KEYS: Final = (WARDS, MONTH, CATEGORIES, NEIGHBOURS)


def default_month(all_months: Sequence[str], mappable_months: Sequence[str]) -> str | None:
    """The month selected at first: the newest with points to map, else the newest stored.

    Examples
    --------
    >>> default_month(["2018-06", "2024-09"], ["2018-06"])
    '2018-06'
    >>> default_month(["2024-09"], [])
    '2024-09'
    >>> default_month([], []) is None
    True
    """
    if mappable_months:
        return mappable_months[-1]
    return all_months[-1] if all_months else None


def keep_valid(session: MutableMapping[str, Any], key: str, allowed: Collection[Any]) -> None:
    """Drop values of the selection ``session[key]`` that are no longer among ``allowed`` options.

    A selection made under other options (say, a Westminster ward picked
    before the neighbouring boroughs were hidden) would otherwise not match
    the widget's options.  A missing key is left missing (the widget default applies).
    """
    current = session.get(key)
    if current is None:
        return
    if isinstance(current, (list, tuple)):
        session[key] = [v for v in current if v in allowed]
    elif current not in allowed:
        del session[key]
