"""Place names a warden would say: streets from police.uk location text, layer names, ward names (pure).

A plan's candidate places have ids (``ST-c3504_1190``, ``PK-1000353``,
``WP-E05009395``) that mean nothing to the people in the room.
:func:`place_names` gives each one a name taken from the data:

* **street patches** - the one or two streets named most often in the
  police.uk ``Location`` text of the incidents inside the patch ("On or near
  Portobello Road" -> "Portobello Road"), with the ward's name:
  "Portobello Road / Golborne Road, Golborne ward";
* **parks and estates** - their name in the council's (or Historic England's)
  layer, title-cased when the layer shouts ("HOLLAND PARK" -> "Holland Park"),
  with the ward's name;
* **ward presence points** - "ward presence: Golborne ward, near Elkstone Road",
  the street of the incidents nearest the point.

Names are unique within a plan: when two places would share a name, a third
street is added, then a compass word ("north", "south-west") relative to the
other places of that name, then a number.

Safeguarding: the incidents given must be **non-sensitive** only (the plan is
built from them).  A sensitive incident's location text names the street of a
victim's home or a refuge, so it never contributes to a name; the name of a
place shown on a map must not reveal one.  Generic police.uk snap labels
("On or near Supermarket", "On or near Parking Area") are not streets and are
skipped.

Ids stay in the plan (``candidate_id``) for exports and machine use; the
names go in ``place_name`` (and ``ward_name``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import shapely

from .plan import Plan

__all__ = [
    "GENERIC_LOCATIONS",
    "camera_site_names",
    "site_label",
    "ward_name_map",
    "candidate_streets",
    "place_names",
    "place_reason",
    "plan_place_names",
    "short_name",
    "street_of",
    "tidy_layer_name",
    "ward_label",
]

_PREFIX = re.compile(r"^\s*(?:on or near|near|on)\s+", re.I)
#: police.uk snap-point labels that are kinds of place, not street names (lower case).
GENERIC_LOCATIONS: frozenset[str] = frozenset({
    "parking area", "supermarket", "petrol station", "nightclub", "shopping area", "sports/recreation area",
    "further/higher educational building", "hospital", "conference/exhibition centre", "theatre/concert hall",
    "police station", "pedestrian subway", "park/open space", "bus/coach station", "train station",
    "airport/airfield", "hotel/motel", "prison", "courts", "place of worship", "cinema", "ambulance station",
    "fire station", "shopping centre", "sports stadium", "underground station", "tram stop", "bus stop",
    "motorway", "no location",
})
#: police.uk's own casing slips, put right for display: a capital after an apostrophe ("Lambert'S Yard",
#: "St James'S Road": 1,052 of West Kent's rows) and British Transport Police's stations ("(lu Station)").
_APOSTROPHE_S = re.compile(r"(?<=[A-Za-z])'S\b")
_STATION = re.compile(r"\((lu|dlr) Station\)", re.I)
_SMALL_WORDS = frozenset({"and", "of", "the", "in", "on", "at", "by"})
_COMPASS = ("east", "north-east", "north", "north-west", "west", "south-west", "south", "south-east")


def street_of(location_text: Any) -> str | None:
    """The street named by a police.uk ``Location`` text, or ``None`` for a generic or empty one.

    Examples
    --------
    >>> street_of("On or near Portobello Road")
    'Portobello Road'
    >>> street_of("On or near Supermarket") is None
    True
    >>> street_of(None) is None
    True
    >>> street_of("On or near Lambert'S Yard"), street_of("On or near Earls Court (lu Station)")
    ("Lambert's Yard", 'Earls Court (LU Station)')
    """
    if location_text is None or (isinstance(location_text, float) and not np.isfinite(location_text)):
        return None
    text = " ".join(str(location_text).split())
    if not text or text.lower() in ("nan", "<na>", "none"):
        return None
    street = _PREFIX.sub("", text).strip(" .,;")
    if not street or street.lower() in GENERIC_LOCATIONS:
        return None
    street = _APOSTROPHE_S.sub("'s", street)
    return _STATION.sub(lambda m: f"({m.group(1).upper()} Station)", street)


def short_name(place_name: str) -> str:
    """A place name without its ward ("Elm Road / Ash Street (north)"), for tables that show the ward.

    Examples
    --------
    >>> short_name("Elm Road / Ash Street, Holland ward (north)")
    'Elm Road / Ash Street (north)'
    >>> short_name("ward presence: Holland ward, near Addison Crescent")
    'ward presence: Holland ward'
    """
    text = str(place_name)
    if text.startswith("ward presence: "):
        return text.split(",")[0]
    return re.sub(r", [^,()]*?\bward\b", "", text, count=1)


def ward_label(name: Any) -> str:
    """"Golborne ward" from a ward layer's name (a name already ending in "ward" is kept).

    Examples
    --------
    >>> ward_label("Golborne")
    'Golborne ward'
    """
    text = " ".join(str(name or "").split())
    if not text or text.lower().endswith("ward"):
        return text
    return f"{text} ward"


def tidy_layer_name(name: Any) -> str:
    """A layer's place name as people write it: all-capitals names title-cased, spaces tidied.

    Examples
    --------
    >>> tidy_layer_name("ROYAL HOSPITAL")
    'Royal Hospital'
    >>> tidy_layer_name("Holland  Park")
    'Holland Park'
    >>> tidy_layer_name("ROYAL HOSPITAL, CHELSEA and RANELAGH GARDENS")
    'Royal Hospital, Chelsea and Ranelagh Gardens'
    """
    text = " ".join(str(name or "").split())
    letters = [c for c in text if c.isalpha()]
    if letters and sum(c.isupper() for c in letters) >= 0.8 * len(letters):
        words = []
        for k, w in enumerate(text.split()):
            if k and w.lower() in _SMALL_WORDS:
                words.append(w.lower())
            else:
                words.append(re.sub(r"[A-Za-z]+(?:'[A-Za-z]+)?", lambda m: m.group(0).capitalize(), w))
        text = " ".join(words)
    return text


def candidate_streets(geometries: Sequence[Any], incidents: pd.DataFrame, *, location_col: str = "location_text",
                      x_col: str = "x", y_col: str = "y", top: int = 3) -> list[list[str]]:
    """The ``top`` streets named most often by the incidents inside each geometry (ties: alphabetical).

    Parameters
    ----------
    geometries
        Shapely geometries in the incidents' CRS (EPSG:27700 metres).
    incidents
        Non-sensitive incidents with ``x``, ``y`` and the police.uk location text.
    top
        How many streets per geometry.

    Returns
    -------
    list[list[str]]
        One list per geometry, most frequent street first (empty when no
        incident inside has a street in its location text).
    """
    out: list[list[str]] = [[] for _ in geometries]
    if len(geometries) == 0 or location_col not in incidents.columns or len(incidents) == 0:
        return out
    streets = np.array([street_of(t) for t in incidents[location_col].to_numpy()], dtype=object)
    has = np.array([s is not None for s in streets])
    if not has.any():
        return out
    x = pd.to_numeric(incidents[x_col], errors="coerce").to_numpy(float)[has]
    y = pd.to_numeric(incidents[y_col], errors="coerce").to_numpy(float)[has]
    streets = streets[has]
    ok = np.isfinite(x) & np.isfinite(y)
    pts = shapely.points(x[ok], y[ok])
    streets = streets[ok]
    geoms = np.asarray(list(geometries), dtype=object)
    tree = shapely.STRtree(geoms)
    pi, gi = tree.query(pts, predicate="intersects")
    counts: list[Counter[str]] = [Counter() for _ in geometries]
    for p, g in zip(pi, gi, strict=True):
        counts[int(g)][str(streets[p])] += 1
    for k, c in enumerate(counts):
        out[k] = [s for s, _ in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]
    return out


def _nearest_streets(points: Sequence[Any], incidents: pd.DataFrame, *, location_col: str, x_col: str,
                     y_col: str) -> list[str | None]:
    """The street of the incident nearest each point (``None`` when no incident names a street)."""
    if location_col not in incidents.columns or len(incidents) == 0 or len(points) == 0:
        return [None] * len(points)
    streets = np.array([street_of(t) for t in incidents[location_col].to_numpy()], dtype=object)
    x = pd.to_numeric(incidents[x_col], errors="coerce").to_numpy(float)
    y = pd.to_numeric(incidents[y_col], errors="coerce").to_numpy(float)
    ok = np.array([s is not None for s in streets]) & np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return [None] * len(points)
    tree = shapely.STRtree(shapely.points(x[ok], y[ok]))
    near = tree.nearest(np.asarray(list(points), dtype=object))
    return [str(streets[ok][int(i)]) for i in near]


def _compass(dx: float, dy: float) -> str:
    ang = (np.degrees(np.arctan2(dy, dx)) + 360.0) % 360.0
    return _COMPASS[int(((ang + 22.5) % 360.0) // 45.0)]


def _unique(names: list[str], streets: list[list[str]], wards: list[str], xy: np.ndarray,
            kinds: list[str]) -> list[str]:
    """Make ``names`` unique: a third street, then a compass word, then a number."""
    out = list(names)
    for _ in range(3):
        groups: dict[str, list[int]] = {}
        for i, n in enumerate(out):
            groups.setdefault(n, []).append(i)
        dups = [ix for ix in groups.values() if len(ix) > 1]
        if not dups:
            return out
        for ix in dups:
            if _ == 0:  # more streets where a patch has them
                for i in ix:
                    if kinds[i] == "street" and len(streets[i]) > 2:
                        out[i] = f"{' / '.join(streets[i][:3])}, {wards[i]}" if wards[i] else " / ".join(streets[i][:3])
            elif _ == 1:  # a compass word relative to the others of the same name
                centre = xy[ix].mean(axis=0)
                for i in ix:
                    d = xy[i] - centre
                    if np.hypot(*d) > 1.0:
                        out[i] = f"{out[i]} ({_compass(float(d[0]), float(d[1]))})"
            else:
                for k, i in enumerate(sorted(ix, key=lambda j: (xy[j][1], xy[j][0])), start=1):
                    out[i] = f"{out[i]} ({k})" if k > 1 else out[i]
    return out


def place_names(candidates: pd.DataFrame, incidents: pd.DataFrame, *, ward_names: Mapping[str, str],
                geometries: Sequence[Any] | None = None, location_col: str = "location_text",
                x_col: str = "x", y_col: str = "y") -> pd.Series:
    """A name a warden would say for each candidate place, unique within the table (pure).

    Parameters
    ----------
    candidates
        The plan's candidates: ``candidate_id``, ``place_type``, ``name`` (the
        layer name for parks and estates), ``ward_code``, ``x``, ``y``.
    incidents
        The **non-sensitive** incidents behind the plan (``x``, ``y``, location text).
    ward_names
        Ward code -> ward name (from the ward layer).
    geometries
        The candidates' polygons (same order); default: a 75 m circle around
        each candidate's point.

    Returns
    -------
    pandas.Series
        Names indexed like ``candidates``.

    Examples
    --------
    >>> cands = pd.DataFrame({"candidate_id": ["ST-a", "PK-1"], "place_type": ["street", "park"],
    ...                       "name": ["hot patch a", "HOLLAND PARK"], "ward_code": ["W1", "W1"],
    ...                       "x": [0.0, 500.0], "y": [0.0, 0.0]})
    >>> inc = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0.0, 0.0, 0.0],
    ...                     "location_text": ["On or near Elm Road", "On or near Elm Road", "On or near Ash Street"]})
    >>> place_names(cands, inc, ward_names={"W1": "Holland"}).tolist()
    ['Elm Road / Ash Street, Holland ward', 'Holland Park, Holland ward']
    """
    n = len(candidates)
    if n == 0:
        return pd.Series([], index=candidates.index, dtype=object)
    ids = candidates["candidate_id"].astype(str).tolist()
    kinds = [str(k) for k in candidates.get("place_type", pd.Series(["street"] * n)).tolist()]
    layer = [str(v) if v is not None else "" for v in candidates.get("name", pd.Series([""] * n)).tolist()]
    codes = [str(v) if v is not None else "" for v in candidates.get("ward_code", pd.Series([""] * n)).tolist()]
    wards = [ward_label(ward_names.get(c, c)) if c else "" for c in codes]
    xy = np.column_stack([pd.to_numeric(candidates["x"], errors="coerce").to_numpy(float),
                          pd.to_numeric(candidates["y"], errors="coerce").to_numpy(float)])
    pts = shapely.points(xy[:, 0], xy[:, 1])
    geoms = list(geometries) if geometries is not None else list(shapely.buffer(pts, 75.0))
    streets = candidate_streets(geoms, incidents, location_col=location_col, x_col=x_col, y_col=y_col)
    presence = [i for i, c in enumerate(ids) if c.startswith("WP-") or (kinds[i] == "street" and not streets[i])]
    near_presence = _nearest_streets([pts[i] for i in presence], incidents, location_col=location_col,
                                     x_col=x_col, y_col=y_col)
    near = dict(zip(presence, near_presence, strict=True))
    names: list[str] = []
    for i in range(n):
        ward = wards[i]
        if ids[i].startswith("WP-"):
            s = near.get(i)
            names.append(f"ward presence: {ward}" + (f", near {s}" if s else ""))
        elif kinds[i] in ("park", "estate") and layer[i]:
            names.append(f"{tidy_layer_name(layer[i])}, {ward}" if ward else tidy_layer_name(layer[i]))
        elif streets[i]:
            names.append(f"{' / '.join(streets[i][:2])}, {ward}" if ward else " / ".join(streets[i][:2]))
        elif near.get(i):
            names.append(f"near {near[i]}, {ward}" if ward else f"near {near[i]}")
        else:
            names.append(f"{kinds[i]} patch in {ward}" if ward else f"{kinds[i]} patch {ids[i]}")
    return pd.Series(_unique(names, streets, wards, xy, kinds), index=candidates.index, dtype=object)


def ward_name_map(wards: Any) -> dict[str, str]:
    """Ward code -> ward name of a ward layer (``ward_code``, ``ward_name``); empty without names.

    Examples
    --------
    >>> ward_name_map(pd.DataFrame({"ward_code": ["W1"], "ward_name": ["Abbey"]})), ward_name_map(pd.DataFrame({"ward_code": ["W1"]}))
    ({'W1': 'Abbey'}, {})
    """
    if "ward_name" not in wards.columns:
        return {}
    return dict(zip(wards["ward_code"].astype(str), wards["ward_name"].astype(str), strict=True))


def site_label(site_id: Any, site_name: Any, place_names_: Mapping[str, str]) -> str:
    """What to call a camera site: its ``site_name`` (plans since site names exist), else the name of the
    plan's place it stands on (``place_names_``, by the site id without its 2-letter prefix, or whole), else
    the id itself.

    Examples
    --------
    >>> site_label("P-1", "near Elm Road, Holland ward", {}), site_label("P-ST-a", None, {"ST-a": "Elm Road"})
    ('near Elm Road, Holland ward', 'Elm Road')
    >>> site_label("P-c1_2", float("nan"), {})
    'P-c1_2'
    """
    if isinstance(site_name, str) and site_name:
        return site_name
    sid = str(site_id)
    return place_names_.get(sid[2:], place_names_.get(sid, sid))


def camera_site_names(cameras: Sequence[Mapping[str, Any]], incidents: pd.DataFrame, *, wards: Any,
                      ward_names: Mapping[str, str]) -> list[str]:
    """A name to say for each camera site (``x, y`` in British National Grid metres), as places are named.

    The streets of the non-sensitive ``incidents`` within 75 m of the site, or the nearest one ("near
    ..."), with the ward the site stands in (``wards``: polygons with ``ward_code``, EPSG:27700).  A site
    without a point keeps its ``site_id``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> wards = gpd.GeoDataFrame({"ward_code": ["W1"]}, geometry=[box(-500, -500, 1500, 500)], crs=27700)
    >>> inc = pd.DataFrame({"x": [1.0, 2.0, 900.0], "y": [0.0, 0.0, 0.0],
    ...                     "location_text": ["On or near Elm Road", "On or near Elm Road", "On or near Oak Lane"]})
    >>> camera_site_names([{"site_id": "P-1", "x": 0.0, "y": 0.0}, {"site_id": "P-2", "x": 1000.0, "y": 0.0},
    ...                    {"site_id": "P-3"}], inc, wards=wards, ward_names={"W1": "Holland"})
    ['Elm Road, Holland ward', 'near Oak Lane, Holland ward', 'P-3']
    """
    rows = [(i, c) for i, c in enumerate(cameras) if c.get("x") is not None and c.get("y") is not None]
    out = [str(c.get("site_id") or "") for c in cameras]
    if not rows:
        return out
    xy = np.array([[float(c["x"]), float(c["y"])] for _, c in rows])
    pts = shapely.points(xy[:, 0], xy[:, 1])
    codes = [""] * len(rows)
    if wards is not None and len(wards):
        geoms = np.asarray(wards.geometry.values, dtype=object)
        tree = shapely.STRtree(geoms)
        hit_pt, hit_ward = tree.query(pts, predicate="intersects")
        for p, w in zip(hit_pt, hit_ward, strict=True):
            if not codes[p]:
                codes[p] = str(wards["ward_code"].iloc[w])
    sites = pd.DataFrame({"candidate_id": [str(c.get("site_id") or i) for i, c in rows], "place_type": "street",
                          "name": "", "ward_code": codes, "x": xy[:, 0], "y": xy[:, 1]})
    named = place_names(sites, incidents, ward_names=ward_names).tolist()
    for (i, _), name in zip(rows, named, strict=True):
        out[i] = name
    return out


def plan_place_names(plan: Plan | Mapping[str, Any], *, ward_names: Mapping[str, str] | None = None) -> dict[str, str]:
    """Candidate id -> the name to show, for any stored plan.

    Plans made since place names exist carry ``place_name``; older plans get
    their stored ``name`` (layer names tidied) with the ward's name (from
    ``ward_names`` when given, else the code).

    Examples
    --------
    >>> plan_place_names({"candidates": [{"candidate_id": "ST-a", "place_name": "Elm Road, Holland ward"}]})
    {'ST-a': 'Elm Road, Holland ward'}
    """
    out: dict[str, str] = {}
    ward_names = ward_names or {}
    for c in Plan.coerce(plan).candidates:
        cid = str(c.candidate_id)
        if c.place_name:
            out[cid] = str(c.place_name)
            continue
        code = str(c.ward_code or "")
        ward = ward_label(c.ward_name or ward_names.get(code, code))
        if cid.startswith("WP-"):
            out[cid] = f"ward presence: {ward}"
        elif c.place_type in ("park", "estate") and c.name:
            out[cid] = f"{tidy_layer_name(c.name)}, {ward}" if ward else tidy_layer_name(c.name)
        else:
            base = str(c.name or cid)
            out[cid] = f"{base}, {ward}" if ward else base
    return out


_TREND_WORDS: dict[str, str] = {
    "new hot spot": "newly hot here",
    "consecutive hot spot": "hot here in each of the last months",
    "intensifying hot spot": "getting worse here month by month",
    "persistent hot spot": "hot here month after month",
    "diminishing hot spot": "hot here but easing",
    "sporadic hot spot": "hot here on and off",
    "oscillating hot spot": "hot here again after a cold spell",
    "historical hot spot": "hot here in the past",
}


def _category_words(top_categories: Any) -> str:
    """"burglary and shoplifting" from "burglary 40%, shoplifting 30%, ..." (the two largest)."""
    parts = [p.strip() for p in str(top_categories or "").split(",") if p.strip()]
    names = [re.sub(r"\s+\d+%$", "", p).replace("-", " ") for p in parts[:2]]
    return " and ".join(n for n in names if n)


def place_reason(candidate: Mapping[str, Any], *, visit_minutes: float | None = None, months: int | None = None) -> str:
    """One plain sentence of why a place is in the plan ("burglary and theft here, 12 incidents in 3 months").

    No solver figures: the kinds of crime that make the harm, how many
    incidents over how many months, the trend in words, the visit length, a
    chair's concern, or the roster rule that asks for the visit.

    Examples
    --------
    >>> place_reason({"candidate_id": "ST-a", "top_categories": "burglary 60%, theft 40%", "n_incidents": 12,
    ...               "trend_class": "intensifying hot spot"}, visit_minutes=15, months=3)
    'burglary and theft: 12 incidents in 3 months, getting worse here month by month; 15-minute visits'
    >>> place_reason({"candidate_id": "WP-E1", "n_incidents": 0})
    'ward presence: the roster asks for a visit in every ward'
    """
    cid = str(candidate.get("candidate_id", ""))
    tail = f"; {visit_minutes:g}-minute visits" if visit_minutes else ""
    if cid.startswith("WP-"):
        return "ward presence: the roster asks for a visit in every ward" + tail
    n = int(candidate.get("n_incidents") or 0)
    cats = _category_words(candidate.get("top_categories"))
    period = f" in {months} month{'s' if months != 1 else ''}" if months else ""
    if n == 0:
        what = ("park presence: the roster asks for parks to be covered; no incidents recorded here" + period
                if candidate.get("place_type") == "park" else "no incidents recorded here" + period)
    else:
        what = f"{cats or 'crime'}: {n} incident{'s' if n != 1 else ''}{period}"
    trend = _TREND_WORDS.get(str(candidate.get("trend_class") or ""))
    if trend:
        what += f", {trend}"
    if candidate.get("concerns"):
        what += f"; raised by {str(candidate['concerns']).replace('_', ' ')}"
    return what + tail
