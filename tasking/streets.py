"""Street-name labels for the dashboard's maps, from police.uk snap points (pure; issue 15 "maps you can navigate
offline").

No tile server is reachable where the dashboard usually runs, so the maps would
show ward outlines and points on a blank background.  police.uk moves every
crime to a *snap point* on a street and says which street ("On or near
Portobello Road"), so the stored incidents already hold the streets of the
borough, with coordinates.  :func:`street_labels` turns them into a few label
points per map: one per street (two or three, spaced apart, on a long one),
each placed *on* the street at the snap point nearest the median of that
street's incidents, for the busiest streets inside the map's extent only, so
that the labels do not swamp a borough map.

Safeguarding
------------
Only **non-sensitive** incidents may name a street: a sensitive incident's
location text can name the street of a victim's home or a refuge, so a street
that only sensitive cases have must never appear on a map.  Rows whose
``sensitive`` flag is set (or missing) or whose category is sensitive in the
taxonomy are dropped here, whatever the caller passes (a second line of
defence after the store's non-sensitive reader).

Streets of the same name far apart (two "High Street"s in one district) are
different streets: a name's snap points are split where they are more than
:data:`SAME_STREET_GAP_M` apart, and each part is labelled on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import pandas as pd

from spatial.schema import CATEGORY, LOCATION_TEXT, SENSITIVE, Taxonomy, X, Y, load_taxonomy

from .names import street_of

__all__ = ["LABEL_COLUMNS", "SAME_STREET_GAP_M", "STREET_LABELS_MAX", "STREET_LABEL_SPACING_M", "street_labels"]

#: Columns of :func:`street_labels`' frame.
LABEL_COLUMNS: Final = ("street", "x", "y", "n")
#: Default most streets labelled on one map (a borough map stays readable at its first zoom).
STREET_LABELS_MAX: Final = 40
#: Least distance (metres) between two labels of one street.
STREET_LABEL_SPACING_M: Final = 700.0
#: Snap points of one name further apart than this (metres, with no snap point between) are different streets.
SAME_STREET_GAP_M: Final = 2_000.0


def _empty() -> pd.DataFrame:
    return pd.DataFrame({"street": pd.Series(dtype=str), "x": pd.Series(dtype=float), "y": pd.Series(dtype=float),
                         "n": pd.Series(dtype=int)})


def _non_sensitive(incidents: pd.DataFrame, taxonomy: Taxonomy) -> pd.Series:
    keep = pd.Series(True, index=incidents.index)
    if CATEGORY in incidents.columns:
        keep &= ~incidents[CATEGORY].isin(taxonomy.sensitive_slugs())
    if SENSITIVE in incidents.columns:
        keep &= ~incidents[SENSITIVE].astype("boolean").fillna(True).astype(bool)
    return keep


def _parts(xy: np.ndarray, gap: float) -> list[np.ndarray]:
    """Indices of ``xy`` split into groups linked by steps of at most ``gap`` (single linkage)."""
    n = len(xy)
    if n <= 1:
        return [np.arange(n)]
    label = np.full(n, -1)
    current = 0
    for start in range(n):
        if label[start] >= 0:
            continue
        label[start] = current
        stack = [start]
        while stack:
            i = stack.pop()
            near = np.flatnonzero((label < 0) & (np.hypot(xy[:, 0] - xy[i, 0], xy[:, 1] - xy[i, 1]) <= gap))
            label[near] = current
            stack.extend(near.tolist())
        current += 1
    return [np.flatnonzero(label == k) for k in range(current)]


def _label_points(snaps: np.ndarray, weights: np.ndarray, *, per_street: int, spacing: float) -> list[int]:
    """Indices of the snap points that carry a street's labels: the one nearest the weighted median first, then
    (on a long street) the ones nearest evenly spaced positions along the street's main axis, each at least
    ``spacing`` from the others."""
    med = np.array([_weighted_median(snaps[:, 0], weights), _weighted_median(snaps[:, 1], weights)])
    first = int(np.argmin(np.hypot(*(snaps - med).T)))
    chosen = [first]
    if per_street <= 1 or len(snaps) < 2:
        return chosen
    centred = snaps - snaps.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    along = centred @ vt[0]
    length = float(along.max() - along.min())
    k = min(per_street, 1 + int(length // spacing))
    if k <= 1:
        return chosen
    for target in np.linspace(along.min(), along.max(), k + 2)[1:-1]:
        cand = int(np.argmin(np.abs(along - target)))
        if all(np.hypot(*(snaps[cand] - snaps[c])) >= spacing for c in chosen):
            chosen.append(cand)
        if len(chosen) >= per_street:
            break
    return chosen


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    return float(values[order][int(np.searchsorted(cum, cum[-1] / 2.0))])


def street_labels(incidents: pd.DataFrame, *, bounds: Sequence[float] | None = None,
                  limit: int = STREET_LABELS_MAX, per_street: int = 2,
                  spacing_m: float = STREET_LABEL_SPACING_M, min_n: int = 1,
                  taxonomy: Taxonomy | None = None) -> pd.DataFrame:
    """Label points of the busiest streets named by the non-sensitive incidents inside ``bounds``.

    Parameters
    ----------
    incidents
        Incidents with ``location_text`` and British National Grid ``x, y``
        (``spatial.store.queries.incident_frame``); ``category`` and
        ``sensitive`` are used when present, and sensitive rows are dropped.
    bounds
        ``(xmin, ymin, xmax, ymax)`` in EPSG:27700: only incidents inside count
        and every label lies inside; ``None``: every incident.
    limit
        Most streets labelled, the busiest first (most incidents; then the
        longest; then by name).
    per_street
        Most labels of one street; a street gets one more for every
        ``spacing_m`` of its length, up to this.
    spacing_m
        Least distance between two labels of one street.
    min_n
        Fewest incidents a street needs to be labelled (``tasking.access.street_label_floor``:
        5 for roles that may not see incident points, so a label never marks one incident's place).
    taxonomy
        Which categories are sensitive (default: the bundled taxonomy).

    Returns
    -------
    pandas.DataFrame
        ``street, x, y, n``: one row per label, ``(x, y)`` a snap point of
        that street (BNG), ``n`` the street's incidents inside ``bounds``;
        busiest street first.  Generic snap labels ("On or near Supermarket")
        are not streets and are never labelled.

    Raises
    ------
    ValueError
        If ``limit`` or ``per_street`` is below 1, or ``bounds`` is not four numbers.

    Examples
    --------
    >>> inc = pd.DataFrame({"location_text": ["On or near Elm Road"] * 3 + ["On or near Ash Street"],
    ...                     "x": [0.0, 10.0, 20.0, 500.0], "y": [0.0, 0.0, 0.0, 0.0], "sensitive": [False] * 4})
    >>> street_labels(inc).values.tolist()
    [['Elm Road', 10.0, 0.0, 3], ['Ash Street', 500.0, 0.0, 1]]
    """
    if limit < 1 or per_street < 1:
        msg = f"limit ({limit}) and per_street ({per_street}) must be at least 1"
        raise ValueError(msg)
    missing = [c for c in (LOCATION_TEXT, X, Y) if c not in incidents.columns]
    if missing or incidents.empty:
        return _empty()
    tax = taxonomy or load_taxonomy()
    inc = incidents.loc[_non_sensitive(incidents, tax), [LOCATION_TEXT, X, Y]]
    inc = inc[inc[X].notna() & inc[Y].notna()]
    if bounds is not None:
        if len(bounds) != 4:
            msg = f"bounds was {bounds!r}; give (xmin, ymin, xmax, ymax) in EPSG:27700"
            raise ValueError(msg)
        xmin, ymin, xmax, ymax = (float(v) for v in bounds)
        inc = inc[inc[X].between(xmin, xmax) & inc[Y].between(ymin, ymax)]
    if inc.empty:
        return _empty()
    texts = inc[LOCATION_TEXT].astype(str)
    names = {t: street_of(t) for t in texts.unique()}
    inc = inc.assign(street=texts.map(names)).dropna(subset=["street"])
    if inc.empty:
        return _empty()
    snaps = inc.groupby(["street", X, Y], sort=False).size().rename("w").reset_index()
    totals = snaps.groupby("street")["w"].sum().sort_values(ascending=False, kind="stable")
    # only the names that could make the cut are split into streets (a part never outnumbers its name)
    shortlist = totals.iloc[:limit * 3].index if len(totals) > limit * 3 else totals.index
    streets = []
    for name, group in snaps[snaps["street"].isin(shortlist)].groupby("street", sort=False):
        xy = group[[X, Y]].to_numpy(dtype=float)
        w = group["w"].to_numpy(dtype=float)
        for idx in _parts(xy, SAME_STREET_GAP_M):
            part = xy[idx]
            extent = float(np.hypot(*(part.max(axis=0) - part.min(axis=0))))
            streets.append((str(name), int(w[idx].sum()), extent, part, w[idx]))
    streets = [s for s in streets if s[1] >= min_n]
    streets.sort(key=lambda s: (-s[1], -s[2], s[0]))
    rows = []
    for name, n, _extent, part, w in streets[:limit]:
        for i in _label_points(part, w, per_street=per_street, spacing=spacing_m):
            rows.append((name, float(part[i, 0]), float(part[i, 1]), n))
    out = pd.DataFrame(rows, columns=list(LABEL_COLUMNS))
    return out.astype({"n": int})
