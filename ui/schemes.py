"""The Schemes page's tables and sentences (pure: no Streamlit, no database).

The figures come from one :class:`tasking.housing.SchemeReport` (the same
report the ``schemes`` commands and the pack use); this module only names the
columns for people, says each rate's basis in words and keeps the
safeguarding rules visible: sensitive counts of 1-4 read "fewer than 5" and
sensitive repeat locations are counts only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal

import numpy as np
import pandas as pd

from tasking.housing import LOAD_SCHEMES, NO_SCHEMES_LAYER, SchemeReport

__all__ = ["not_asb_why", "SORT_LABELS", "SYNTHETIC_WARNING", "cctv_table", "how_to_load", "is_missing_schemes", "league_table",
           "not_asb_table", "repeat_counts_table", "repeat_points_table", "sort_choice", "synthetic_warning", "withheld_count"]

#: League orders offered on the page.
SORT_LABELS: Final = {"rate": "Rate (per 1,000 of the basis)", "harm": "Harm", "count": "ASB cases"}
def not_asb_why(policy: str) -> str:
    """The one sentence that says why the not-ASB reports are kept apart, citing the area's own ``policy``.

    Examples
    --------
    >>> not_asb_why("Our ASB Policy 2024, section 3")[:80]
    'These reports are kept apart: they are not anti-social behaviour under the organ'
    """
    return ("These reports are kept apart: they are not anti-social behaviour under the organisation's policy "
            f"({policy}), so they are counted here but never enter the league, the hotspots or the plan.")
#: Shown whenever any scheme or case source says SYNTHETIC.
SYNTHETIC_WARNING: Final = ("SYNTHETIC data: these schemes and/or cases are generated for testing and demonstration "
                            "(their ids, names or source say SYNTHETIC). No figure on this page describes real "
                            "people or places.")


def is_missing_schemes(reason: str) -> bool:
    """Whether ``reason`` (from :func:`tasking.housing.read_scheme_inputs`) says the area has no schemes layer."""
    return LOAD_SCHEMES in reason


def sort_choice(value: object) -> Literal["harm", "count", "rate"]:
    """The league order picked on the page (``"rate"`` for anything else).

    Examples
    --------
    >>> sort_choice("harm"), sort_choice(None)
    ('harm', 'rate')
    """
    if value == "harm":
        return "harm"
    if value == "count":
        return "count"
    return "rate"


def withheld_count(v: object) -> str:
    """A count for the league (thousands separated), or "withheld" where suppression removed it.

    Examples
    --------
    >>> withheld_count(1234.0), withheld_count(float("nan"))
    ('1,234', 'withheld')
    """
    if v is None or (isinstance(v, float) and not np.isfinite(v)) or v is pd.NA:
        return "withheld"
    return f"{int(round(float(v))):,}"  # type: ignore[arg-type]


def _rate(v: object) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and not np.isfinite(v)):
        return "withheld"
    return f"{float(v):,.1f}"  # type: ignore[arg-type]


def league_table(report: SchemeReport) -> pd.DataFrame:
    """The league as shown: one row per scheme, its rate and the rate's basis in words.

    ``ASB cases``, ``Harm`` and the rate read "withheld" on a scheme whose sensitive count is 1-4
    (the total would give the small count away); ``Non-sensitive cases`` is always shown.
    """
    lt = report.league
    if lt is None:
        return pd.DataFrame()
    return pd.DataFrame({
        "Rank": lt["rank"].astype(int),
        "Scheme": lt["area_name"].astype(str),
        "Scheme id": lt["area_code"].astype(str),
        "ASB cases": [withheld_count(v) for v in lt["count"]],
        "Non-sensitive cases": lt["count_non_sensitive"].astype(int),
        "Sensitive cases": lt["sensitive_display"].astype(str),
        "Harm": [_rate(v) for v in lt["harm"]],
        "Homes": [withheld_count(v) if pd.notna(v) else "-" for v in
                  (lt["homes"] if "homes" in lt.columns else [np.nan] * len(lt))],
        "Rate": [_rate(v) for v in lt["rate"]],
        "Rate basis": lt["rate_basis"].astype(str),
        "Not-ASB reports (kept apart)": lt["not_asb_reports"].astype(int),
    })


def not_asb_table(report: SchemeReport) -> pd.DataFrame:
    """Reports kept apart as not ASB, per category (every category listed, zeros included)."""
    na = report.not_asb
    if na is None:
        return pd.DataFrame()
    return pd.DataFrame({"Category": na["label"].astype(str), "Reports": na["count"].astype(int)})


def _scheme_names(report: SchemeReport) -> dict[str, str]:
    """Scheme id -> the scheme's name, from the league (empty without one)."""
    lt = report.league
    if lt is None or not {"area_code", "area_name"} <= set(lt.columns):
        return {}
    return dict(zip(lt["area_code"].astype(str), lt["area_name"].astype(str), strict=True))


def _named(codes: pd.Series, names: Mapping[str, str] | None, missing: str) -> pd.Series:
    """Codes shown by their names (a code without a name is kept as it is; a missing one as ``missing``)."""
    names = names or {}
    return pd.Series([missing if pd.isna(c) else names.get(str(c), str(c)) for c in codes], index=codes.index,
                     dtype=object)


def repeat_points_table(report: SchemeReport, *, ward_names: Mapping[str, str] | None = None) -> pd.DataFrame | None:
    """Non-sensitive repeat locations with their place (``None`` for a role that may not see points).

    Schemes and wards are named (``ward_names``: ward code -> name); the scheme's id is kept beside its name.
    """
    rv = report.repeats
    if rv is None or rv.points is None:
        return None
    p = rv.points
    return pd.DataFrame({
        "Place": p["location_text"].fillna("-").astype(str),
        "Scheme": _named(p["estate_id"], _scheme_names(report), "(not on a scheme)"),
        "Scheme id": p["estate_id"].fillna("-").astype(str),
        "Ward": _named(p["ward_code"], ward_names, "-"),
        "Cases": p["n_cases"].astype(int),
        "Most in the window": p["max_in_window"].astype(int),
        "First": p["first"].astype(str).str[:10],
        "Last": p["last"].astype(str).str[:10],
        "Categories": p["categories"].astype(str),
        "Easting": p["x"].round(0).astype(int),
        "Northing": p["y"].round(0).astype(int),
    })


def repeat_counts_table(report: SchemeReport, *, ward_names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Repeat locations counted per scheme and ward; sensitive ones as counts only, 1-4 cases as "fewer than 5".

    Schemes and wards are named (``ward_names``: ward code -> name).
    """
    rv = report.repeats
    if rv is None or rv.by_area.empty:
        return pd.DataFrame(columns=["Scheme", "Ward", "Kind", "Repeat locations", "Cases"])
    b = rv.by_area
    schemes = _scheme_names(report) | {"(none)": "(not on a scheme)"}
    return pd.DataFrame({
        "Scheme": _named(b["estate_id"], schemes, "(not on a scheme)"),
        "Ward": _named(b["ward_code"], ward_names, "-"),
        "Kind": b["kind"].astype(str),
        "Repeat locations": b["display"].astype(str),
        "Cases": [withheld_count(v) if pd.notna(v) else "withheld" for v in b["cases"]],
    })


def cctv_table(report: SchemeReport) -> pd.DataFrame | None:
    """Schemes ranked for a deployable camera; each proposed site "proposed — needs a site survey"."""
    r = report.cctv
    if r is None:
        return None
    has = r["site_x"].notna()
    return pd.DataFrame({
        "Rank": r["rank"].astype(int),
        "Scheme": r["scheme_name"].astype(str),
        "Harm in the scheme /wk": r["harm_in_scheme"].round(2),
        "Uncovered harm in reach /wk": r["uncovered_harm"].round(2),
        "Covered by fixed /wk": r["covered_by_fixed"].round(2),
        "Site": np.where(has, "proposed — needs a site survey", "no harm inside: no site"),
        "Easting": [f"{v:.0f}" if pd.notna(v) else "-" for v in r["site_x"]],
        "Northing": [f"{v:.0f}" if pd.notna(v) else "-" for v in r["site_y"]],
    })


def synthetic_warning(report: SchemeReport) -> str | None:
    """The SYNTHETIC warning when any scheme or case source says SYNTHETIC, else ``None``."""
    return SYNTHETIC_WARNING if report.synthetic else None


def how_to_load(area_label: str, reason: str = NO_SCHEMES_LAYER) -> str:
    """What the page says when the area has no schemes: why (``reason``, with the command that loads them).

    Examples
    --------
    >>> "hotspot-tasking layers estates" in how_to_load("Kensington and Chelsea")
    True
    """
    return (f"No schemes to show for {area_label}: {reason}. A housing association's schemes (estates, blocks, "
            "sheltered housing) are a polygon file with an id, a name and, ideally, the number of homes.")
