"""Reports that are not anti-social behaviour under a landlord's policy: stored, counted, kept apart.

A housing association records every report it receives, but not every report is
ASB.  West Kent's *Community Safety Policy & Procedure* (section "What is not
considered as ASB?") lists what it does not generally investigate as ASB:

* ball games, boundary disputes, people being unpleasant (staring, glaring,
  pulling faces, ignoring), parking and other neighbourhood issues;
* different lifestyles and everyday living: children playing and babies crying,
  household noise from everyday living (proportionate TV, music or radio),
  electrical items such as washing machines or vacuum cleaners, DIY in reasonable
  hours (usually 8am-9pm weekdays, 8am-7pm Saturdays, 10am-5pm Sundays), noise
  from a disability, vulnerability or mobility aid, one-off parties, BBQs and
  celebrations, cooking odours and household smells, smoke, minor car
  maintenance, a one-off argument, minor disputes or personal differences
  between neighbours (including private CCTV or trespassing).

The taxonomy (``spatial/data/categories.csv``) holds these as the ``not-asb``
group (``not-asb-everyday-living``, ``not-asb-children-playing``,
``not-asb-parking``, ``not-asb-neighbour-dispute``, ``not-asb-celebration``); a
case export's wording is mapped onto them in the mapping file's ``category:
not_asb:`` section (:mod:`spatial.ingest.council`).  Such reports are **stored
and counted** (the ingest report, ``status``, :func:`not_asb_summary`) but never
enter ASB hotspots, forecasts or the tasking plan: the store's
:func:`spatial.store.queries.incident_frame` leaves them out unless asked, and
:func:`spatial.analysis.select_incidents` drops any that reach it.

The policy adds that such reports "may" be investigated for a vulnerable person;
that is a case-by-case decision, so the product keeps the report (never deletes
it) and a case officer can re-categorise it in the case system and re-export.
"""

from __future__ import annotations

import pandas as pd

from ._errors import SchemaError
from .schema import CATEGORY, Taxonomy, load_taxonomy

__all__ = ["NOT_ASB_GROUP", "POLICY_REFERENCE", "UNNAMED_POLICY", "not_asb_slugs", "not_asb_summary", "policy_reference",
           "split_not_asb"]

#: Taxonomy group of reports that are not ASB under the landlord's policy.
NOT_ASB_GROUP = "not-asb"
#: Where the bundled list of what is not ASB comes from: West Kent's policy, which the bundled case mapping follows.
POLICY_REFERENCE = "West Kent Community Safety Policy & Procedure - Summary, 'What is not considered as ASB?'"
#: Cited for an area whose profile names no policy (``area create --not-asb-policy``).
UNNAMED_POLICY = ("the organisation's own policy on what is not ASB (name it with "
                  "`hotspot-tasking area create ... --not-asb-policy TEXT`)")


def policy_reference(policy: str | None) -> str:
    """The policy to cite for reports kept apart as not ASB: the area's own (its profile), or a prompt to name it."""
    return policy.strip() if policy and policy.strip() else UNNAMED_POLICY


def not_asb_slugs(taxonomy: Taxonomy | None = None) -> frozenset[str]:
    """Category slugs of the ``not-asb`` group.

    Examples
    --------
    >>> sorted(not_asb_slugs())[:2]
    ['not-asb-celebration', 'not-asb-children-playing']
    """
    tax = taxonomy or load_taxonomy()
    return frozenset(s for s, c in tax.categories.items() if c.group == NOT_ASB_GROUP)


def split_not_asb(incidents: pd.DataFrame, *,
                  taxonomy: Taxonomy | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split canonical incidents into (everything else, reports that are not ASB under policy).

    Both parts keep the input's index and columns; together they are the input.

    Raises
    ------
    SchemaError
        If the frame has no ``category`` column.
    """
    if CATEGORY not in incidents.columns:
        msg = f"incidents lack column {CATEGORY!r}; columns are {list(incidents.columns)[:20]}"
        raise SchemaError(msg)
    mask = incidents[CATEGORY].astype(str).isin(not_asb_slugs(taxonomy))
    return incidents[~mask], incidents[mask]


def not_asb_summary(incidents: pd.DataFrame, *, by: str | None = None,
                    taxonomy: Taxonomy | None = None, policy: str | None = None) -> pd.DataFrame:
    """Counts of reports that are not ASB under policy, per category (and per ``by`` column).

    Parameters
    ----------
    incidents
        Canonical incidents (any mix of categories; the others are ignored).
    by
        Optional column to break the counts down by (``estate_id``, ``ward_code``...).
    policy
        The area's policy (:attr:`spatial.area_profiles.AreaProfile.not_asb_policy`), cited in ``attrs["policy"]``.

    Returns
    -------
    pandas.DataFrame
        ``[by,] category, label, count`` sorted by ``by`` then count (every ``not-asb``
        category listed, zeros included, when ``by`` is None);
        ``attrs["policy"]`` names the policy section and ``attrs["total"]`` the total.
    """
    tax = taxonomy or load_taxonomy()
    _, apart = split_not_asb(incidents, taxonomy=tax)
    slugs = sorted(not_asb_slugs(tax))
    if by is None:
        counts = apart[CATEGORY].astype(str).value_counts().reindex(slugs, fill_value=0)
        out = pd.DataFrame({"category": counts.index, "count": counts.to_numpy(dtype="int64")})
    else:
        if by not in incidents.columns:
            msg = f"incidents lack column {by!r} to break the not-ASB counts down by"
            raise SchemaError(msg)
        out = (apart.assign(_by=apart[by]).groupby(["_by", CATEGORY], dropna=False).size()
               .rename("count").reset_index().rename(columns={"_by": by}))
        out["count"] = out["count"].astype("int64")
    out.insert(len(out.columns) - 1, "label", out["category"].map({s: tax.categories[s].label for s in slugs}))
    keys = ([by] if by is not None else []) + ["count", "category"]
    asc = ([True] if by is not None else []) + [False, True]
    out = out.sort_values(keys, ascending=asc, kind="stable").reset_index(drop=True)
    out.attrs["policy"] = policy_reference(policy)
    out.attrs["total"] = int(len(apart))
    return out
