"""Repeat locations across cases: the same place reported again and again within a window.

A housing association monitors repeats: "Repeat victims of crime or anti-social
behaviour is an important part of monitoring reported cases" and it wants to
"monitor more closely repeat victims and repeat offenders" (West Kent Community
Safety Strategy 2018-2022, "Vulnerable Persons and Safeguarding" and
"Measuring Success").  Without victims' identities (which the product never
holds) the place is the proxy: a *repeat location* is a place with at least
``min_cases`` cases within any ``window_days`` days.

The default threshold, **3 cases in 183 days (six months)**, is the default
threshold of the ASB case review ("Community Trigger": three or more
complaints about ASB in a six-month period; Anti-social Behaviour, Crime and
Policing Act 2014, s.104, and the Home Office statutory guidance), which West
Kent's strategy names as the standard its responses are held to.  Both numbers
are parameters: an association using its own rule sets them.

A place is the same address or map point (police.uk snap points and council
case coordinates to within ``snap_m``), or, with ``radius_m`` > 0, every point
within ``radius_m`` of another point of the place (single linkage, so a chain
of nearby points is one place; keep the radius small, e.g. 25-50 m for a block).

This function is pure and returns every repeat location, sensitive cases
included, with ``n_sensitive``; what a role may see of it is decided in
:func:`tasking.housing.repeat_locations_view` (sensitive repeat locations are
never shown as points).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from .._errors import SchemaError
from ..grids import points_xy
from ..schema import CATEGORY, ESTATE_ID, LOCATION_TEXT, OCCURRED_FROM, SENSITIVE, WARD_CODE

__all__ = ["REPEAT_COLUMNS", "TRIGGER_MIN_CASES", "TRIGGER_WINDOW_DAYS", "repeat_case_locations"]

#: The ASB case review's default threshold: three complaints ...
TRIGGER_MIN_CASES = 3
#: ... within six months.
TRIGGER_WINDOW_DAYS = 183

#: Columns of :func:`repeat_case_locations`.
REPEAT_COLUMNS = ("location_id", "x", "y", "n_points", "n_cases", "max_in_window", "window_start", "window_end",
                  "first", "last", "n_sensitive", "categories", "estate_id", "ward_code", "location_text")


def _place_ids(x: np.ndarray, y: np.ndarray, *, snap_m: float, radius_m: float) -> np.ndarray:
    """Place index of every point: same snapped point, or linked within ``radius_m``."""
    sx, sy = np.round(x / snap_m) * snap_m, np.round(y / snap_m) * snap_m
    key = pd.MultiIndex.from_arrays([sx, sy])
    codes, uniq = pd.factorize(key)
    if radius_m <= 0 or len(uniq) < 2:
        return codes
    ux = np.array([u[0] for u in uniq], dtype=float)
    uy = np.array([u[1] for u in uniq], dtype=float)
    pairs = cKDTree(np.column_stack([ux, uy])).query_pairs(r=float(radius_m), output_type="ndarray")
    n = len(uniq)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n)) if len(pairs) else coo_matrix((n, n))
    _, comp = connected_components(graph, directed=False)
    return comp[codes]


def _busiest_window(times: np.ndarray, window: np.timedelta64) -> tuple[int, int, int]:
    """(count, start index, end index) of the window of length ``window`` with most cases (times sorted)."""
    ends = np.searchsorted(times, times + window, side="left")  # cases in [t_i, t_i + window)
    n = ends - np.arange(len(times))
    i = int(np.argmax(n))
    return int(n[i]), i, int(ends[i]) - 1


def repeat_case_locations(incidents: pd.DataFrame, *, min_cases: int = TRIGGER_MIN_CASES,
                          window_days: float = TRIGGER_WINDOW_DAYS, radius_m: float = 0.0,
                          snap_m: float = 1.0) -> pd.DataFrame:
    """Places with at least ``min_cases`` cases within some ``window_days`` days.

    Parameters
    ----------
    incidents
        Canonical incidents with ``x``/``y`` (EPSG:27700) and ``occurred_from``
        (a date or timestamp; police.uk rows carry their month's first day).
    min_cases, window_days
        The repeat threshold (default: the ASB case review's 3 in six months).
    radius_m
        0 (default): the same point only; > 0: points within this distance are one place.
    snap_m
        Coordinates are matched on a ``snap_m`` metre lattice (absorbs rounding).

    Returns
    -------
    pandas.DataFrame
        One row per repeat location (:data:`REPEAT_COLUMNS`), most cases in a
        window first: the place's centre ``x, y``, ``n_points`` (distinct
        points), ``n_cases`` (all cases there), ``max_in_window`` and the busiest
        window's ``window_start``/``window_end`` (dates of its first and last
        case), ``first``/``last`` case dates, ``n_sensitive`` (cases of sensitive
        categories), ``categories`` ("noise 4; harassment 2"), the most common
        ``estate_id``, ``ward_code`` and ``location_text``.  ``attrs``: the
        parameters and ``n_cases_used``.

    Raises
    ------
    SchemaError
        For a missing column, a threshold below 2 or a window or radius that is not positive / not >= 0.

    Examples
    --------
    >>> inc = pd.DataFrame({"x": [558000.0, 558000.0, 558000.4, 558500.0], "y": [146000.0] * 4,
    ...                     "occurred_from": ["2025-01-01", "2025-02-01", "2025-03-01", "2025-01-01"],
    ...                     "category": ["noise"] * 4})
    >>> repeat_case_locations(inc)[["x", "y", "n_cases", "max_in_window"]].to_dict("records")
    [{'x': 558000.0, 'y': 146000.0, 'n_cases': 3, 'max_in_window': 3}]
    """
    if int(min_cases) != min_cases or min_cases < 2:
        msg = f"min_cases was {min_cases!r}; a repeat needs at least 2 cases (the default is {TRIGGER_MIN_CASES})"
        raise SchemaError(msg)
    if not np.isfinite(window_days) or window_days <= 0 or not np.isfinite(radius_m) or radius_m < 0 \
            or not np.isfinite(snap_m) or snap_m <= 0:
        msg = (f"window_days ({window_days!r}) and snap_m ({snap_m!r}) must be positive and radius_m "
               f"({radius_m!r}) 0 or more")
        raise SchemaError(msg)
    for col in (OCCURRED_FROM, CATEGORY):
        if col not in incidents.columns:
            msg = f"incidents lack column {col!r}; columns are {list(incidents.columns)[:20]}"
            raise SchemaError(msg)
    x, y = points_xy(incidents)
    when = pd.to_datetime(incidents[OCCURRED_FROM], utc=True, errors="coerce", format="mixed")
    ok = np.isfinite(x) & np.isfinite(y) & when.notna().to_numpy()
    sub = pd.DataFrame({
        "x": x[ok], "y": y[ok],
        "t": when[ok].dt.tz_convert("Europe/London").dt.tz_localize(None).to_numpy(),
        "category": incidents[CATEGORY].astype(str).to_numpy()[ok],
        "sensitive": (incidents[SENSITIVE].fillna(False).astype(bool).to_numpy()[ok] if SENSITIVE in incidents.columns
                      else np.zeros(int(ok.sum()), bool)),
    })
    for col in (ESTATE_ID, WARD_CODE, LOCATION_TEXT):
        sub[col] = incidents[col].to_numpy(dtype=object)[ok] if col in incidents.columns else None
    params = {"min_cases": int(min_cases), "window_days": float(window_days), "radius_m": float(radius_m),
              "snap_m": float(snap_m), "n_cases_used": len(sub),
              "rule": (f"{int(min_cases)} or more cases within {window_days:g} days at the same place"
                       + (f" (points within {radius_m:g} m)" if radius_m > 0 else ""))}
    if sub.empty:
        out = pd.DataFrame({c: [] for c in REPEAT_COLUMNS})
        out.attrs = params
        return out
    sub["place"] = _place_ids(sub["x"].to_numpy(), sub["y"].to_numpy(), snap_m=snap_m, radius_m=radius_m)
    sub["x"] = np.round(sub["x"].to_numpy() / snap_m) * snap_m  # the place's points, as matched
    sub["y"] = np.round(sub["y"].to_numpy() / snap_m) * snap_m
    window = np.timedelta64(int(round(window_days * 86400)), "s")
    rows = []
    for place, g in sub.groupby("place", sort=True):
        if len(g) < min_cases:
            continue
        g = g.sort_values("t", kind="stable")
        t = g["t"].to_numpy()
        n, i, j = _busiest_window(t, window)
        if n < min_cases:
            continue
        cats = g["category"].value_counts()
        cats = cats.sort_index().sort_values(ascending=False, kind="stable")

        def mode(col: str, frame: pd.DataFrame = g) -> object:
            v = frame[col].dropna()
            return v.mode().iloc[0] if len(v) else None

        pts = g[["x", "y"]].drop_duplicates()
        rows.append({
            "location_id": f"R{int(place)}", "x": float(pts["x"].mean()), "y": float(pts["y"].mean()),
            "n_points": len(pts), "n_cases": len(g), "max_in_window": n,
            "window_start": pd.Timestamp(t[i]).date().isoformat(), "window_end": pd.Timestamp(t[j]).date().isoformat(),
            "first": pd.Timestamp(t[0]).date().isoformat(), "last": pd.Timestamp(t[-1]).date().isoformat(),
            "n_sensitive": int(g["sensitive"].sum()),
            "categories": "; ".join(f"{c} {k}" for c, k in cats.items()),
            ESTATE_ID: mode(ESTATE_ID), WARD_CODE: mode(WARD_CODE), LOCATION_TEXT: mode(LOCATION_TEXT),
        })
    out = pd.DataFrame(rows, columns=list(REPEAT_COLUMNS))
    if len(out):
        out = out.sort_values(["max_in_window", "n_cases", "location_id"], ascending=[False, False, True],
                              kind="stable").reset_index(drop=True)
        out["location_id"] = [f"R{k + 1:03d}" for k in range(len(out))]
    out.attrs = params
    return out
