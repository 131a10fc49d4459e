"""Designing Out Crime: ranked, evidence-linked measures for every hotspot.

The advice comes from a rule table, ``tasking/data/design_out_rules.csv``,
documented in ``tasking/data/design_out_rules.md``.  Each rule maps a category
mix, a place type (street, estate, park, commercial, transport), optional
setting tags (car park, night-time economy, subway, ...) and patterns
(night-time, repeat location, cluster, persistent or emerging trend) to a
measure with its CPTED principle, rationale, evidence and sources.  Categories
with no sensible design answer (drugs, weapons possession, domestic abuse,
safeguarding, rough sleeping, begging, noise, other crime) have explicit
**none** rows that say why and where to refer instead.  A council edits the
table, not the code.

Three pure steps, each usable on its own:

1. :func:`hotspot_features` - per hotspot: category counts and harm, place type
   (estate or park from the stored layers, else from police.uk location names
   and council location text through ``tasking/data/design_out_places.csv``),
   setting tags and patterns.  Night-time comes only from incidents with real
   times (council logs); police.uk gives months only, so it is then *unknown*,
   never guessed.
2. :func:`rank_measures` - every matching rule is scored; the best rule per
   measure is kept; measures are ranked and cut to ``top_k``; triggered none
   rows are added; every hotspot gets at least one line.
3. :func:`recommendation_table` - one row per hotspot with its geometry and
   flattened recommendations (for GeoJSON and the dashboard map).

:func:`recommend` runs all three.

Scoring (documented in ``design_out_rules.md``)::

    share = (harm share + incident share) / 2     of the rule's categories
    score = share x strength weight x place fit x pattern bonus ** (favoured patterns present)

A rule fires when its categories reach ``min_share`` of the hotspot's harm or
incidents, its place types include the hotspot's primary place type (fit 1) or
a secondary one (fit ``secondary_place_fit``), its settings are all present and
its required patterns are all present.

Safeguarding: the output is per hotspot, never per incident; sensitive
categories with fewer than ``suppress_below`` incidents are shown as "fewer than 5" (no
count, no share), and repeat locations are measured on non-sensitive
incidents only.

References
----------
Cozens, P. & Love, T. (2015). A review and current status of Crime Prevention
through Environmental Design (CPTED). *J. Planning Literature* 30(4):393-412.

Cornish, D. B. & Clarke, R. V. (2003). Opportunities, precipitators and criminal
decisions. *Crime Prevention Studies* 16:41-96 (the 25 techniques).

Welsh, B. C. & Farrington, D. P. (2008). Effects of improved street lighting on
crime. *Campbell Systematic Reviews* 2008:13.

Piza, E. L., Welsh, B. C., Farrington, D. P. & Thomas, A. L. (2019). CCTV
surveillance for crime prevention. *Criminology & Public Policy* 18(1):135-159.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from spatial.harm import HarmIndex, harm_weight
from spatial.projection import require_bng
from spatial.schema import (
    CATEGORY,
    ESTATE_ID,
    LOCATION_TEXT,
    LONDON_TZ,
    OCCURRED_FROM,
    OCCURRED_TO,
    PARK_ID,
    SENSITIVE,
    SOURCE,
    X,
    Y,
    load_taxonomy,
)
from spatial.store.queries import suppressed_label

from ._errors import TaskingError
from .places import PLACE_TYPES

__all__ = [
    "CPTED_PRINCIPLES",
    "EMERGING_CLASSES",
    "EVIDENCE_STRENGTHS",
    "PATTERNS",
    "PERSISTENT_CLASSES",
    "PLACE_TYPES",
    "RANKED_COLUMNS",
    "RULE_COLUMNS",
    "DesignOutSettings",
    "classify_locations",
    "hotspot_features",
    "load_place_names",
    "load_rules",
    "load_sources",
    "rank_measures",
    "recommend",
    "recommendation_table",
    "rule_coverage",
]

#: The six CPTED principles a measure is filed under (Cozens & Love 2015).
CPTED_PRINCIPLES: tuple[str, ...] = ("natural surveillance", "access control", "territorial reinforcement",
                                     "maintenance", "activity support", "target hardening")
#: Patterns a rule can require or favour.
PATTERNS: tuple[str, ...] = ("night-time", "repeat-location", "cluster", "persistent", "emerging")
#: Evidence strengths of measure rules (none rows use ``n/a``).
EVIDENCE_STRENGTHS: tuple[str, ...] = ("strong", "moderate", "limited", "practice")
#: Emerging-hotspot classes read as the ``persistent`` pattern (hot most of the time).
PERSISTENT_CLASSES: frozenset[str] = frozenset({"persistent hot spot", "intensifying hot spot",
                                                "oscillating hot spot"})
#: Emerging-hotspot classes read as the ``emerging`` pattern (recently hot or rising).
EMERGING_CLASSES: frozenset[str] = frozenset({"new hot spot", "consecutive hot spot", "intensifying hot spot"})
#: Columns of the rule table.
RULE_COLUMNS: tuple[str, ...] = ("rule_id", "measure_id", "kind", "measure", "categories", "place_types",
                                 "settings", "requires", "favours", "min_share", "cpted_principle",
                                 "evidence_strength", "rationale", "evidence", "source_ids")
#: Columns of :func:`rank_measures`.
RANKED_COLUMNS: tuple[str, ...] = ("hotspot_id", "rank", "kind", "measure_id", "measure", "cpted_principle",
                                   "score", "rule_id", "why", "rationale", "evidence",
                                   "evidence_strength", "sources")
_PLACE_COLUMNS: tuple[str, ...] = ("applies_to", "match", "pattern", "place_type", "setting", "label", "note")
_NO_EVIDENCE = "-"
_ON_OR_NEAR = "on or near "


@dataclass(frozen=True)
class DesignOutSettings:
    """Thresholds and weights of the Designing Out Crime advice (see ``design_out_rules.md``).

    Attributes
    ----------
    harm_index
        Harm weights per category (``"cchi"`` or ``"ons_css"``; :mod:`spatial.harm`).
    primary_place_share
        A non-street place type becomes the hotspot's primary type when at least
        this share of its incidents (with place evidence) has it.
    tag_share
        Secondary place types and setting tags need this share of incidents.
    polygon_share
        A hotspot lying at least this share (by area) inside estate or park
        polygons is an estate or a park.
    secondary_place_fit
        Score factor when a rule matches only a secondary place type.
    night_start_h, night_end_h
        The night-time window (default 19:00-07:00, wall clock, Europe/London).
    night_share
        The night-time pattern needs at least this share of timed incidents in
        the window (a uniform day would give 0.5).
    min_timed
        Fewer timed incidents than this leave night-time *unknown*.
    max_window_h
        Longest incident interval counted as timed (police.uk months are not).
    repeat_share, repeat_min_count
        The repeat-location pattern: the busiest location point holds at least
        this share and this many of the hotspot's non-sensitive incidents.
    snap_m
        Locations are matched on a lattice of this size in metres.
    pattern_bonus
        Score factor for each favoured pattern present.
    strength_weights
        Score factor per evidence strength.
    suppress_below
        Sensitive category counts from 1 to this minus one are shown as "fewer than 5".
    """

    harm_index: HarmIndex = "cchi"
    primary_place_share: float = 0.4
    tag_share: float = 0.15
    polygon_share: float = 0.5
    secondary_place_fit: float = 0.5
    night_start_h: int = 19
    night_end_h: int = 7
    night_share: float = 0.6
    min_timed: int = 5
    max_window_h: float = 1.0
    repeat_share: float = 0.25
    repeat_min_count: int = 3
    snap_m: float = 1.0
    pattern_bonus: float = 1.25
    strength_weights: Mapping[str, float] = field(default_factory=lambda: {
        "strong": 1.0, "moderate": 0.75, "limited": 0.5, "practice": 0.35, "n/a": 1.0})
    suppress_below: int = 5

    def __post_init__(self) -> None:
        for name in ("primary_place_share", "tag_share", "polygon_share", "secondary_place_fit", "night_share",
                     "repeat_share"):
            v = getattr(self, name)
            if not 0 <= v <= 1:
                msg = f"DesignOutSettings.{name} was {v!r}; give a share between 0 and 1"
                raise TaskingError(msg)
        if not (0 <= self.night_start_h <= 23 and 0 <= self.night_end_h <= 23):
            msg = f"night hours were {self.night_start_h}-{self.night_end_h}; give hours 0-23"
            raise TaskingError(msg)
        missing = [s for s in (*EVIDENCE_STRENGTHS, "n/a") if s not in self.strength_weights]
        if missing:
            msg = f"DesignOutSettings.strength_weights lacks {missing}; give a weight for each strength"
            raise TaskingError(msg)
        if self.pattern_bonus < 1 or self.min_timed < 1 or self.repeat_min_count < 1 or self.snap_m <= 0:
            msg = "pattern_bonus must be >= 1, min_timed and repeat_min_count >= 1, snap_m > 0"
            raise TaskingError(msg)

    def night_hours(self) -> np.ndarray:
        """Boolean array of the 24 clock hours in the night window."""
        h = np.arange(24)
        if self.night_start_h > self.night_end_h:
            return (h >= self.night_start_h) | (h < self.night_end_h)
        return (h >= self.night_start_h) & (h < self.night_end_h)


_DEFAULT = DesignOutSettings()


# ----------------------------------------------------------------------------
# data files
# ----------------------------------------------------------------------------
def _read_bundled(name: str) -> pd.DataFrame:
    with (resources.files("tasking") / "data" / name).open(encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False)


def _split(text: Any) -> tuple[str, ...]:
    return tuple(t.strip() for t in str(text or "").split("|") if t.strip())


def load_sources(table: pd.DataFrame | None = None) -> pd.DataFrame:
    """The numbered source list (``tasking/data/design_out_sources.csv``), indexed by ``source_id``.

    Examples
    --------
    >>> load_sources().loc["S7", "short"]
    'Welsh & Farrington 2008 (lighting)'
    """
    df = _read_bundled("design_out_sources.csv") if table is None else table.astype(str).copy()
    need = ["source_id", "short", "citation", "year", "url"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        msg = f"the source list lacks columns {missing}; it needs {need}"
        raise TaskingError(msg)
    if df["source_id"].duplicated().any():
        msg = f"the source list repeats ids {sorted(df.loc[df['source_id'].duplicated(), 'source_id'])}"
        raise TaskingError(msg)
    return df.set_index("source_id")


def load_place_names(table: pd.DataFrame | None = None) -> pd.DataFrame:
    """The location-name rules (``tasking/data/design_out_places.csv``), validated.

    Columns ``applies_to`` (``police.uk`` for names starting "On or near",
    ``council`` for other text, ``any``), ``match`` (``exact``, ``suffix``,
    ``contains``, ``word``), ``pattern`` (lower case), ``place_type`` (one of
    :data:`PLACE_TYPES`, or ``-`` for "no place-type evidence"), ``setting``
    (a tag such as ``car-park``; may be empty), ``label`` and ``note``.  Rows are
    tried in order; the first match wins.
    """
    df = _read_bundled("design_out_places.csv") if table is None else table.fillna("").astype(str).copy()
    missing = [c for c in _PLACE_COLUMNS if c not in df.columns]
    if missing:
        msg = f"the place-name table lacks columns {missing}; it needs {list(_PLACE_COLUMNS)}"
        raise TaskingError(msg)
    for col, allowed in (("applies_to", ("police.uk", "council", "any")),
                         ("match", ("exact", "suffix", "contains", "word")),
                         ("place_type", (*PLACE_TYPES, _NO_EVIDENCE))):
        bad = sorted(set(df[col]) - set(allowed))
        if bad:
            msg = f"place-name table column {col!r} has {bad}; allowed: {list(allowed)}"
            raise TaskingError(msg)
    df["pattern"] = df["pattern"].str.lower()
    return df.reset_index(drop=True)


def load_rules(table: pd.DataFrame | None = None, *, place_names: pd.DataFrame | None = None,
               sources: pd.DataFrame | None = None) -> pd.DataFrame:
    """The Designing Out Crime rule table, validated.

    Parameters
    ----------
    table
        A replacement table with :data:`RULE_COLUMNS` (default: the bundled
        ``tasking/data/design_out_rules.csv``).
    place_names, sources
        The tables that define the allowed setting tags and source ids
        (default: the bundled ones).

    Returns
    -------
    pandas.DataFrame
        One row per rule in table order; ``min_share`` as float.

    Raises
    ------
    TaskingError
        If a column is missing, a rule id repeats, or a value is not allowed
        (unknown category, place type, setting, pattern, principle, strength
        or source id); the message names the rule.

    Examples
    --------
    >>> rules = load_rules()
    >>> rules.set_index("rule_id").loc["R01", "cpted_principle"]
    'target hardening'
    """
    df = _read_bundled("design_out_rules.csv") if table is None else table.fillna("").astype(str).copy()
    missing = [c for c in RULE_COLUMNS if c not in df.columns]
    if missing:
        msg = f"the rule table lacks columns {missing}; it needs {list(RULE_COLUMNS)} (see design_out_rules.md)"
        raise TaskingError(msg)
    if df["rule_id"].duplicated().any():
        msg = f"the rule table repeats rule ids {sorted(df.loc[df['rule_id'].duplicated(), 'rule_id'])}"
        raise TaskingError(msg)
    cats = set(load_taxonomy().categories)
    settings = {s for s in load_place_names(place_names)["setting"] if s}
    src = set(load_sources(sources).index)
    for _, r in df.iterrows():
        where = f"rule {r['rule_id']}"
        if r["kind"] not in ("measure", "none"):
            msg = f"{where}: kind was {r['kind']!r}; give 'measure' or 'none'"
            raise TaskingError(msg)
        rc = _split(r["categories"])
        if not rc or (rc != ("*",) and set(rc) - cats):
            msg = f"{where}: categories {sorted(set(rc) - cats) or rc} are not canonical; allowed: '*' or {sorted(cats)}"
            raise TaskingError(msg)
        rp = _split(r["place_types"])
        if not rp or (rp != ("*",) and set(rp) - set(PLACE_TYPES)):
            msg = f"{where}: place_types {rp} must be '*' or from {list(PLACE_TYPES)}"
            raise TaskingError(msg)
        if set(_split(r["settings"])) - settings:
            msg = f"{where}: settings {sorted(set(_split(r['settings'])) - settings)} are not in the place-name table"
            raise TaskingError(msg)
        for col in ("requires", "favours"):
            bad = sorted(set(_split(r[col])) - set(PATTERNS))
            if bad:
                msg = f"{where}: {col} {bad} are not patterns; allowed: {list(PATTERNS)}"
                raise TaskingError(msg)
        try:
            share = float(r["min_share"])
        except ValueError:
            share = -1.0
        if not 0 <= share <= 1:
            msg = f"{where}: min_share was {r['min_share']!r}; give a share between 0 and 1"
            raise TaskingError(msg)
        principle, strength = r["cpted_principle"], r["evidence_strength"]
        if r["kind"] == "measure" and (principle not in CPTED_PRINCIPLES or strength not in EVIDENCE_STRENGTHS):
            msg = (f"{where}: a measure needs cpted_principle in {list(CPTED_PRINCIPLES)} and evidence_strength "
                   f"in {list(EVIDENCE_STRENGTHS)}; got {principle!r}, {strength!r}")
            raise TaskingError(msg)
        if r["kind"] == "none" and (principle != "none" or strength != "n/a"):
            msg = f"{where}: a none row needs cpted_principle 'none' and evidence_strength 'n/a'"
            raise TaskingError(msg)
        if not r["rationale"].strip():
            msg = f"{where}: the rationale is empty; say why (in your own words)"
            raise TaskingError(msg)
        bad = sorted(set(_split(r["source_ids"])) - src)
        if bad:
            msg = f"{where}: source ids {bad} are not in design_out_sources.csv"
            raise TaskingError(msg)
    out = df[list(RULE_COLUMNS)].reset_index(drop=True)
    out["min_share"] = out["min_share"].astype(float)
    return out


def rule_coverage(rules: pd.DataFrame | None = None, *, categories: Sequence[str] | None = None) -> pd.DataFrame:
    """Which rules answer each (category, place type) pair without conditions.

    A rule counts when it names the category (or ``*``) and the place type (or
    ``*``) and needs no setting and no pattern, so it fires on category and
    place alone.

    Returns
    -------
    pandas.DataFrame
        ``category, place_type, measures, nones`` (``|``-separated measure ids);
        a pair with both empty is a gap in the table.

    Examples
    --------
    >>> cov = rule_coverage()
    >>> bool(((cov["measures"] == "") & (cov["nones"] == "")).any())
    False
    """
    rules = load_rules() if rules is None else rules
    cats = list(categories) if categories is not None else list(load_taxonomy().categories)
    rows = []
    for c in cats:
        for p in PLACE_TYPES:
            got: dict[str, list[str]] = {"measure": [], "none": []}
            for _, r in rules.iterrows():
                if _split(r["settings"]) or _split(r["requires"]):
                    continue
                rc, rp = _split(r["categories"]), _split(r["place_types"])
                fires = (rc == ("*",) or c in rc) and (rp == ("*",) or p in rp)
                if fires and r["measure_id"] not in got[r["kind"]]:
                    got[r["kind"]].append(r["measure_id"])
            rows.append({"category": c, "place_type": p, "measures": "|".join(got["measure"]),
                         "nones": "|".join(got["none"])})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------
# place types from location names
# ----------------------------------------------------------------------------
def _compile_places(tab: pd.DataFrame) -> list[tuple[str, str, str, re.Pattern[str] | None, str | None, str, str]]:
    rows = []
    for r in tab.itertuples(index=False):
        rx = re.compile(r"\b" + re.escape(r.pattern) + r"\b") if r.match == "word" else None
        pt = None if r.place_type == _NO_EVIDENCE else r.place_type
        rows.append((r.applies_to, r.match, r.pattern, rx, pt, r.setting, r.label))
    return rows


def _match(text: str, match: str, pattern: str, rx: re.Pattern[str] | None) -> bool:
    if match == "exact":
        return text == pattern
    if match == "suffix":
        return text.endswith(pattern)
    if match == "contains":
        return pattern in text
    return rx is not None and rx.search(text) is not None


def classify_locations(names: Sequence[Any] | pd.Series, *, sources: Sequence[Any] | pd.Series | None = None,
                       table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Place type and setting tag of each location text (police.uk names or council text).

    police.uk location names ("On or near Nightclub", "On or near Earls Court
    (lu Station)") carry a place type for anonymous map points near a
    nightclub, car park, station and so on; council logs carry free text
    ("Estate car park", "Pub frontage").  Names are matched case-insensitively
    against :func:`load_place_names`: police.uk rows only to police.uk names
    (the incident's source starts with "police", or, without ``sources``, the
    name starts "On or near") and council rows only to other text.

    Parameters
    ----------
    names
        Location text per incident.
    sources
        Optional ``source`` per incident (aligned with ``names``).
    table
        Replacement location-name table (:func:`load_place_names`).

    Returns
    -------
    pandas.DataFrame
        Aligned with ``names``: ``place_type`` (one of :data:`PLACE_TYPES`;
        ``street`` when nothing matches; ``None`` when the name carries no
        place evidence, e.g. a police station), ``setting`` (tag or ``""``) and
        ``label`` (the matched rule's label or ``""``).

    Examples
    --------
    >>> t = classify_locations(["On or near Nightclub", "On or near Warwick Road", "Estate car park"])
    >>> t[["place_type", "setting"]].to_numpy().tolist()
    [['commercial', 'night-time-economy'], ['street', ''], ['estate', 'car-park']]
    """
    compiled = _compile_places(load_place_names(table))
    ser = pd.Series(list(names) if not isinstance(names, pd.Series) else names.to_numpy(), dtype=object)
    keys = ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in ser]
    if sources is None:
        from_police = [k.strip().lower().startswith(_ON_OR_NEAR) for k in keys]
    else:
        src = list(sources.to_numpy() if isinstance(sources, pd.Series) else sources)
        if len(src) != len(keys):
            msg = f"sources has {len(src)} values but there are {len(keys)} names"
            raise TaskingError(msg)
        from_police = [str(s).strip().lower().startswith("police") for s in src]
    cache: dict[tuple[str, bool], tuple[str | None, str, str]] = {}
    for key, police in set(zip(keys, from_police)):
        text = key.strip().lower()
        if text.startswith(_ON_OR_NEAR):
            text = text[len(_ON_OR_NEAR):].strip()
        hit: tuple[str | None, str, str] = ("street", "", "")
        if text:
            for scope, match, pattern, rx, pt, setting, label in compiled:
                if scope != "any" and (scope == "police.uk") != police:
                    continue
                if _match(text, match, pattern, rx):
                    hit = (pt, setting, label)
                    break
        cache[(key, police)] = hit
    vals = [cache[kp] for kp in zip(keys, from_police)]
    index = names.index if isinstance(names, pd.Series) else pd.RangeIndex(len(vals))
    return pd.DataFrame({"place_type": pd.Series([v[0] for v in vals], index=index, dtype=object),
                         "setting": pd.Series([v[1] for v in vals], index=index, dtype=object),
                         "label": pd.Series([v[2] for v in vals], index=index, dtype=object)})


# ----------------------------------------------------------------------------
# features
# ----------------------------------------------------------------------------
def _utc(s: pd.Series) -> pd.Series:
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return s.dt.tz_convert("UTC")
    return pd.to_datetime(s, utc=True, errors="coerce", format="mixed")


def _night_fraction(incidents: pd.DataFrame, settings: DesignOutSettings) -> np.ndarray:
    """Share of each incident's interval in the night window (aoristic); NaN when not timed."""
    n = len(incidents)
    out = np.full(n, np.nan)
    if n == 0 or OCCURRED_FROM not in incidents.columns or OCCURRED_TO not in incidents.columns:
        return out
    s_utc = _utc(incidents[OCCURRED_FROM].reset_index(drop=True))
    e_utc = _utc(incidents[OCCURRED_TO].reset_index(drop=True))
    dur = (e_utc - s_utc).dt.total_seconds().to_numpy() / 3600
    timed = np.isfinite(dur) & (dur >= 0) & (dur <= settings.max_window_h + 1e-9)
    if not timed.any():
        return out
    wall = s_utc[timed].dt.tz_convert(LONDON_TZ).dt.tz_localize(None)
    hour0 = wall.dt.floor("h")
    offset = ((wall - hour0).dt.total_seconds() / 3600).to_numpy()
    base = hour0.dt.hour.to_numpy()
    d = dur[timed]
    night = settings.night_hours()
    frac = np.where(d <= 0, night[base].astype(float), 0.0)
    iv = d > 0
    for k in range(int(np.ceil(settings.max_window_h)) + 1):
        lo = np.maximum(offset, k)
        hi = np.minimum(offset + d, k + 1)
        part = np.where(iv, np.clip(hi - lo, 0, None) / np.where(iv, d, 1.0), 0.0)
        frac += part * night[(base + k) % 24]
    out[np.flatnonzero(timed)] = frac
    return out


def _hotspot_ids(hotspots: gpd.GeoDataFrame, id_col: str | None) -> pd.Series:
    if id_col is not None:
        if id_col not in hotspots.columns:
            msg = f"id_col {id_col!r} is not a column of the hotspots ({list(hotspots.columns)})"
            raise TaskingError(msg)
        ids = hotspots[id_col].astype(str)
    else:
        col = next((c for c in ("candidate_id", "hotspot_id", "cluster_id", "cell_id") if c in hotspots.columns),
                   None)
        ids = hotspots[col].astype(str) if col else pd.Series([f"H{i + 1}" for i in range(len(hotspots))],
                                                              index=hotspots.index)
    if ids.duplicated().any():
        msg = (f"hotspot ids repeat ({sorted(set(ids[ids.duplicated()]))[:5]}); "
               "pass id_col naming a unique column")
        raise TaskingError(msg)
    return ids


def _cluster_flags(hotspots: gpd.GeoDataFrame) -> tuple[list[bool | None], list[str]]:
    n = len(hotspots)
    if "cluster" in hotspots.columns:
        vals = [None if pd.isna(v) else bool(v) for v in hotspots["cluster"]]
        ev = (hotspots["cluster_evidence"].fillna("").astype(str).tolist() if "cluster_evidence" in hotspots.columns
              else ["cluster (given)"] * n)
        return vals, [e if v else "" for v, e in zip(vals, ev)]
    method = str(hotspots["method"].iloc[0]) if "method" in hotspots.columns and n else ""
    if method in ("dbscan", "hdbscan"):
        return [True] * n, [f"{method.upper()} density cluster"] * n
    if "gi_class" in hotspots.columns:
        vals = [str(v) == "hot 99" for v in hotspots["gi_class"]]
        return vals, ["Gi* hot spot at 99% (FDR)" if v else "" for v in vals]
    return [None] * n, [""] * n


def _polygon_place(hotspots: gpd.GeoDataFrame, layer: gpd.GeoDataFrame | None, share: float) -> np.ndarray:
    """True where a hotspot lies at least ``share`` (by area) inside the layer's polygons."""
    out = np.zeros(len(hotspots), bool)
    if layer is None or len(layer) == 0 or len(hotspots) == 0:
        return out
    require_bng(layer, name="the estates/parks layer")
    union = shapely.union_all(np.asarray(layer.geometry.values, dtype=object))
    geoms = np.asarray(hotspots.geometry.values, dtype=object)
    area = shapely.area(geoms)
    inter = shapely.area(shapely.intersection(geoms, union))
    ok = area > 0
    out[ok] = inter[ok] / area[ok] >= share
    return out


def _points_in(layer: gpd.GeoDataFrame | None, pts: np.ndarray) -> np.ndarray:
    inside = np.zeros(len(pts), bool)
    if layer is None or len(layer) == 0 or len(pts) == 0:
        return inside
    require_bng(layer, name="the estates/parks layer")
    tree = shapely.STRtree(np.asarray(layer.geometry.values, dtype=object))
    pi, _ = tree.query(pts, predicate="intersects")
    inside[pi] = True
    return inside


def hotspot_features(hotspots: gpd.GeoDataFrame, incidents: pd.DataFrame, *, id_col: str | None = None,
                     estates: gpd.GeoDataFrame | None = None, parks: gpd.GeoDataFrame | None = None,
                     settings: DesignOutSettings = _DEFAULT,
                     place_names: pd.DataFrame | None = None) -> pd.DataFrame:
    """Category mix, place type, setting tags and patterns of each hotspot.

    Parameters
    ----------
    hotspots
        Polygons in EPSG:27700: a hotspot result (cells, patches, cluster
        polygons) or a candidate table (:func:`tasking.candidates.build_candidates`).
        Optional columns used: ``place_type`` (``estate``/``park`` are taken as
        given), ``trend_class`` (emerging-hotspot class), ``cluster`` (bool)
        with ``cluster_evidence`` (text), else ``gi_class`` and ``method``.
    incidents
        Canonical incidents (``category``, ``x``, ``y``; ``occurred_from``/``occurred_to``,
        ``location_text``, ``estate_id``, ``park_id``, ``sensitive`` when known).
        An incident counts in every hotspot whose polygon contains it.
    id_col
        Column holding the hotspot id; default ``candidate_id``, ``hotspot_id``,
        ``cluster_id`` or ``cell_id``, else ``H1``, ``H2`` ...
    estates, parks
        Optional polygon layers (EPSG:27700): incidents inside them count as
        estate / park, and a hotspot mostly inside them is one.
    settings
        Thresholds (:class:`DesignOutSettings`).
    place_names
        Replacement location-name table (:func:`load_place_names`).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``hotspots``: ``hotspot_id``, ``n_incidents``,
        ``n_sensitive``, ``counts`` and ``harm`` (dicts per category),
        ``harm_total``, ``sensitive_categories`` and ``suppressed_categories``
        (tuples), ``n_display`` and ``harm_display`` (totals without the
        suppressed categories, the denominators of every displayed share),
        ``category_mix`` (display text, small sensitive counts as "fewer than 5"), ``place_type``,
        ``place_evidence``, ``secondary_place_types`` and ``settings`` (tuples),
        ``n_timed``, ``night_share``, ``night`` (True/False, or None =
        unknown), ``repeat_share``, ``repeat_count``, ``repeat``, ``cluster``,
        ``cluster_evidence``, ``trend_class``, ``persistent``, ``emerging``,
        ``patterns`` (tuple of present patterns) and ``pattern_notes``.

    Raises
    ------
    CRSError
        If the hotspots or layers are not EPSG:27700.
    TaskingError
        If incident columns are missing or hotspot ids repeat.
    """
    require_bng(hotspots, name="the hotspots")
    for c in (CATEGORY, X, Y):
        if c not in incidents.columns:
            msg = f"incidents lack column {c!r}; give canonical incidents (spatial.schema.INCIDENT_COLUMNS)"
            raise TaskingError(msg)
    ids = _hotspot_ids(hotspots, id_col)
    inc = incidents.reset_index(drop=True)
    x = pd.to_numeric(inc[X], errors="coerce").to_numpy(float)
    y = pd.to_numeric(inc[Y], errors="coerce").to_numpy(float)
    ok = np.isfinite(x) & np.isfinite(y)
    inc, x, y = inc[ok].reset_index(drop=True), x[ok], y[ok]
    cats = inc[CATEGORY].astype(str).to_numpy(dtype=object)
    w = harm_weight(cats, index=settings.harm_index) if len(inc) else np.zeros(0)
    tax = load_taxonomy()
    sens_slugs = tax.sensitive_slugs()
    if SENSITIVE in inc.columns:
        sens = inc[SENSITIVE].fillna(False).astype(bool).to_numpy() | np.isin(cats, list(sens_slugs))
    else:
        sens = np.isin(cats, list(sens_slugs))
    pts = shapely.points(x, y)

    # place evidence per incident: estate > park > location name
    loc = classify_locations(inc[LOCATION_TEXT] if LOCATION_TEXT in inc.columns else [None] * len(inc),
                             sources=inc[SOURCE] if SOURCE in inc.columns else None, table=place_names)
    ptype = loc["place_type"].to_numpy(dtype=object)
    setting = loc["setting"].to_numpy(dtype=object)
    label = loc["label"].to_numpy(dtype=object)
    in_park = _points_in(parks, pts)
    if PARK_ID in inc.columns:
        in_park |= inc[PARK_ID].notna().to_numpy() & (inc[PARK_ID].astype(str).str.strip() != "").to_numpy()
    in_estate = _points_in(estates, pts)
    if ESTATE_ID in inc.columns:
        in_estate |= inc[ESTATE_ID].notna().to_numpy() & (inc[ESTATE_ID].astype(str).str.strip() != "").to_numpy()
    ptype = np.where(in_park, "park", ptype)
    label = np.where(in_park, "park layer", label)
    ptype = np.where(in_estate, "estate", ptype)
    label = np.where(in_estate, "estates layer", label)
    night = _night_fraction(inc, settings)
    snap = settings.snap_m
    loc_key = np.round(x / snap).astype(np.int64) * 1_000_003 + np.round(y / snap).astype(np.int64)

    # incident -> hotspot pairs
    geoms = np.asarray(hotspots.geometry.values, dtype=object)
    if len(inc) and len(geoms):
        tree = shapely.STRtree(geoms)
        ii, hh = tree.query(pts, predicate="intersects")
    else:
        ii = hh = np.zeros(0, dtype=np.int64)
    order = np.argsort(hh, kind="stable")
    ii, hh = ii[order], hh[order]
    bounds = np.searchsorted(hh, np.arange(len(geoms) + 1))

    poly_estate = _polygon_place(hotspots, estates, settings.polygon_share)
    poly_park = _polygon_place(hotspots, parks, settings.polygon_share)
    given = (hotspots["place_type"].astype(str).to_numpy() if "place_type" in hotspots.columns
             else np.full(len(hotspots), "", dtype=object))
    cluster, cluster_ev = _cluster_flags(hotspots)
    trend = ([None if pd.isna(t) else str(t) for t in hotspots["trend_class"]] if "trend_class" in hotspots.columns
             else [None] * len(hotspots))
    night_txt = f"{settings.night_start_h:02d}:00-{settings.night_end_h:02d}:00"

    rows = []
    for k in range(len(geoms)):
        mine = ii[bounds[k]:bounds[k + 1]]
        n = len(mine)
        c_k = cats[mine]
        counts = pd.Series(1, index=c_k).groupby(level=0).sum() if n else pd.Series(dtype=int)
        harm = pd.Series(w[mine], index=c_k).groupby(level=0).sum() if n else pd.Series(dtype=float)
        harm_total = float(harm.sum())
        s_k = sens[mine]
        sens_cats = tuple(sorted(set(c_k[s_k])))
        suppressed = tuple(c for c in sens_cats if int(counts[c]) < settings.suppress_below)
        n_display = n - sum(int(counts[c]) for c in suppressed)
        harm_display = harm_total - sum(float(harm[c]) for c in suppressed)
        # place type
        pt_k = ptype[mine]
        known = np.array([p is not None for p in pt_k], bool)
        n_known = int(known.sum())
        shares: dict[str, float] = {}
        if n_known:
            vc = pd.Series(pt_k[known]).value_counts()
            shares = {str(t): float(v) / n_known for t, v in vc.items()}
        place, evidence = "street", ""
        if given[k] in ("estate", "park"):
            place, evidence = given[k], f"{given[k]} (candidate from the {given[k]}s layer)"
        elif poly_estate[k]:
            place, evidence = "estate", f"estate (at least {settings.polygon_share:.0%} of the area in the estates layer)"
        elif poly_park[k]:
            place, evidence = "park", f"park (at least {settings.polygon_share:.0%} of the area in the parks layer)"
        else:
            non_street = {t: s for t, s in shares.items() if t != "street"}
            if non_street:
                best = max(non_street, key=lambda t: (non_street[t], t))
                if non_street[best] >= settings.primary_place_share:
                    place = best
        if not evidence:
            if place != "street":
                labs = pd.Series(label[mine][known & (pt_k == place)]).value_counts().head(2).index
                evidence = (f"{place}: {shares[place]:.0%} of incidents at "
                            + " / ".join(f"'{lab}'" for lab in labs) + " locations")
            elif n_known:
                evidence = f"street ({shares.get('street', 0.0):.0%} of incidents at named streets)"
            else:
                evidence = "street (no place evidence: default)"
        secondary = tuple(sorted(t for t, s in shares.items() if t != place and t != "street"
                                 and s >= settings.tag_share))
        st_k = setting[mine]
        set_shares = pd.Series(st_k[st_k != ""]).value_counts() / n if n else pd.Series(dtype=float)
        tags = tuple(sorted(str(t) for t, s in set_shares.items() if s >= settings.tag_share))
        # night-time
        nf = night[mine]
        timed = np.isfinite(nf)
        n_timed = int(timed.sum())
        night_share = float(nf[timed].mean()) if n_timed else float("nan")
        is_night: bool | None = bool(night_share >= settings.night_share) if n_timed >= settings.min_timed else None
        # repeat location (non-sensitive incidents only)
        keys = loc_key[mine][~s_k]
        n_ns = len(keys)
        if n_ns:
            top = int(pd.Series(keys).value_counts().iloc[0])
            rep_share = top / n_ns
            is_rep: bool | None = bool(top >= settings.repeat_min_count and rep_share >= settings.repeat_share)
        else:
            top, rep_share, is_rep = 0, float("nan"), None
        t_k = trend[k]
        persistent = t_k in PERSISTENT_CLASSES if t_k else None
        emerging = t_k in EMERGING_CLASSES if t_k else None
        flags = {"night-time": is_night, "repeat-location": is_rep, "cluster": cluster[k],
                 "persistent": persistent, "emerging": emerging}
        present = tuple(p for p in PATTERNS if flags[p])
        notes = []
        timed_txt = "timed incidents" if suppressed else f"{n_timed} timed incidents"
        if is_night is None:
            notes.append(f"night-time unknown ({'too few' if suppressed else n_timed} timed incidents; "
                         "police.uk gives months only)")
        else:
            notes.append(f"night-time {'yes' if is_night else 'no'}: {night_share:.0%} of {timed_txt} {night_txt}")
        if is_rep is not None:
            notes.append(f"repeat location {'yes' if is_rep else 'no'}: {rep_share:.0%} ({top} of {n_ns}) at the "
                         "busiest location point")
        notes.append(f"cluster: {cluster_ev[k]}" if cluster[k] else
                     ("cluster: not assessed by this hotspot method" if cluster[k] is None else "cluster: no"))
        notes.append(f"trend: {t_k}" if t_k else "trend: not assessed")
        # display mix (harm order), small sensitive counts suppressed
        mix = []
        for c in harm.sort_values(ascending=False, kind="stable").index if n else []:
            cnt = int(counts[c])
            if c in suppressed:
                mix.append(f"{c} {suppressed_label(settings.suppress_below)}")
            else:
                hs = f"{_pct(harm[c] / harm_display)} of harm" if harm_display > 0 else "no harm weight"
                mix.append(f"{c} {cnt} ({hs})")
        rows.append({
            "hotspot_id": ids.iloc[k], "n_incidents": n, "n_sensitive": int(s_k.sum()),
            "counts": {str(c): int(v) for c, v in counts.items()},
            "harm": {str(c): float(v) for c, v in harm.items()}, "harm_total": harm_total,
            "sensitive_categories": sens_cats, "suppressed_categories": suppressed, "n_display": n_display,
            "harm_display": harm_display, "category_mix": "; ".join(mix),
            "place_type": place, "place_evidence": evidence, "secondary_place_types": secondary,
            "settings": tags, "n_timed": n_timed, "night_share": night_share, "night": is_night,
            "repeat_share": rep_share, "repeat_count": top, "repeat": is_rep,
            "cluster": cluster[k], "cluster_evidence": cluster_ev[k], "trend_class": t_k,
            "persistent": persistent, "emerging": emerging, "patterns": present,
            "pattern_notes": "; ".join(notes),
        })
    out = pd.DataFrame(rows, index=hotspots.index)
    for col in ("night", "repeat", "cluster", "persistent", "emerging"):  # True / False / None (unknown)
        if col in out.columns:
            out[col] = pd.Series([r[col] for r in rows], index=hotspots.index, dtype=object)
    if not rows:
        out = pd.DataFrame(columns=["hotspot_id", "n_incidents", "patterns"], index=hotspots.index)
    out.attrs["settings"] = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in settings.__dict__.items()}
    out.attrs["n_incidents_unplaced"] = int(len(inc) - len(np.unique(ii)))
    return out


# ----------------------------------------------------------------------------
# matching and ranking
# ----------------------------------------------------------------------------
def _pct(v: float) -> str:
    return "<1%" if 0 < v < 0.005 else f"{v:.0%}"


def _incidents(n: int) -> str:
    return f"{n} incident" + ("" if n == 1 else "s")


def _cat_phrase(f: Mapping[str, Any], rule_cats: tuple[str, ...], settings: DesignOutSettings) -> str:
    """The rule's categories in this hotspot, by their mean of incident and harm share (top 3)."""
    counts, harm, tot, n = f["counts"], f["harm"], f["harm_display"], max(int(f["n_display"]), 1)

    def weight(c: str) -> float:
        return counts[c] / n + (harm.get(c, 0.0) / tot if tot > 0 else counts[c] / n)

    present = sorted((c for c in counts if rule_cats == ("*",) or c in rule_cats), key=lambda c: (-weight(c), c))
    parts = []
    for c in present[:3]:
        k = counts[c]
        if c in f["suppressed_categories"]:
            parts.append(f"{c} ({suppressed_label(settings.suppress_below)} incidents)")
        elif tot > 0:
            parts.append(f"{c} {_incidents(k)} ({_pct(k / n)} of incidents, {_pct(harm.get(c, 0.0) / tot)} of harm)")
        else:
            parts.append(f"{c} {_incidents(k)} ({_pct(k / n)} of incidents)")
    if len(present) > 3:
        parts.append(f"+{len(present) - 3} more")
    return ", ".join(parts)


def _pattern_phrase(f: Mapping[str, Any], pattern: str, settings: DesignOutSettings) -> str:
    if pattern == "night-time":
        timed = "timed incidents" if f["suppressed_categories"] else f"{f['n_timed']} timed incidents"
        return (f"night-time: {f['night_share']:.0%} of {timed} "
                f"{settings.night_start_h:02d}:00-{settings.night_end_h:02d}:00")
    if pattern == "repeat-location":
        return f"repeat location: {f['repeat_share']:.0%} of incidents at one location point"
    if pattern == "cluster":
        return f"cluster: {f['cluster_evidence']}"
    return f"{pattern}: {f['trend_class']}"


def _why(f: Mapping[str, Any], r: Mapping[str, Any], patterns: Sequence[str], settings: DesignOutSettings) -> str:
    parts = [_cat_phrase(f, _split(r["categories"]), settings)]
    if _split(r["place_types"]) != ("*",) or _split(r["settings"]):
        place = f["place_evidence"]
        if f["settings"]:
            place += f"; setting: {', '.join(f['settings'])}"
        parts.append(place)
    parts += [_pattern_phrase(f, p, settings) for p in patterns]
    return "; ".join(p for p in parts if p)


def rank_measures(features: pd.DataFrame, *, rules: pd.DataFrame | None = None, top_k: int = 3,
                  settings: DesignOutSettings = _DEFAULT, sources: pd.DataFrame | None = None) -> pd.DataFrame:
    """Score every rule against every hotspot and rank the measures (pure).

    Parameters
    ----------
    features
        From :func:`hotspot_features`.
    rules
        A validated rule table (:func:`load_rules`); default the bundled one.
    top_k
        Measures kept per hotspot (none rows that fire are added on top).
    settings
        Weights (:class:`DesignOutSettings`).
    sources
        Source list for the ``sources`` text (default the bundled one).

    Returns
    -------
    pandas.DataFrame
        :data:`RANKED_COLUMNS`, one row per (hotspot, line), ranked by score
        within each hotspot.  Every hotspot has at least one line: a measure,
        an explicit none with its reason, or (no incidents, or nothing reaches
        a rule's ``min_share``) a ``none-no-trigger`` line saying so.

    Notes
    -----
    ``share = (harm share + incident share) / 2`` of the rule's categories;
    ``score = share x strength weight x place fit x pattern_bonus ** k`` with
    ``k`` favoured patterns present.  The best-scoring rule per measure is
    kept; ties keep table order.
    """
    if top_k < 1:
        msg = f"top_k was {top_k!r}; give 1 or more measures per hotspot"
        raise TaskingError(msg)
    rules = load_rules() if rules is None else rules
    src = load_sources(sources)
    short = src["short"].to_dict()
    parsed = [{**r, "_cats": _split(r["categories"]), "_places": _split(r["place_types"]),
               "_settings": _split(r["settings"]), "_requires": _split(r["requires"]),
               "_favours": _split(r["favours"]), "_order": i} for i, r in enumerate(rules.to_dict("records"))]
    out: list[dict[str, Any]] = []
    for _, f in features.iterrows():
        hid = f["hotspot_id"]
        n = int(f["n_incidents"]) if pd.notna(f["n_incidents"]) else 0
        lines: dict[tuple[str, str], dict[str, Any]] = {}
        if n > 0:
            counts, harm, tot = f["counts"], f["harm"], f["harm_total"]
            present = set(f["patterns"])
            secondary = set(f["secondary_place_types"])
            tags = set(f["settings"])
            for r in parsed:
                rc = r["_cats"]
                in_rule = [c for c in counts if rc == ("*",) or c in rc]
                if not in_rule:
                    continue
                cshare = sum(counts[c] for c in in_rule) / n
                hshare = sum(harm.get(c, 0.0) for c in in_rule) / tot if tot > 0 else cshare
                if max(cshare, hshare) < r["min_share"] - 1e-12:
                    continue
                if r["_places"] == ("*",) or f["place_type"] in r["_places"]:
                    fit = 1.0
                elif secondary & set(r["_places"]):
                    fit = settings.secondary_place_fit
                else:
                    continue
                if not set(r["_settings"]) <= tags or not set(r["_requires"]) <= present:
                    continue
                fav = [p for p in r["_favours"] if p in present]
                share = (cshare + hshare) / 2
                score = (share * settings.strength_weights[r["evidence_strength"]] * fit
                         * settings.pattern_bonus ** len(fav))
                key = (r["kind"], r["measure_id"])
                if key in lines and lines[key]["score"] >= score - 1e-12:
                    continue
                lines[key] = {"hotspot_id": hid, "kind": r["kind"], "measure_id": r["measure_id"],
                              "measure": r["measure"], "cpted_principle": r["cpted_principle"],
                              "score": round(float(score), 3),
                              "rule_id": r["rule_id"],
                              "why": _why(f, r, [*r["_requires"], *fav], settings),
                              "rationale": r["rationale"], "evidence": r["evidence"],
                              "evidence_strength": r["evidence_strength"],
                              "sources": "; ".join(f"{s} {short.get(s, '')}".strip()
                                                   for s in _split(r["source_ids"])),
                              "_order": r["_order"]}
        measures = sorted((v for v in lines.values() if v["kind"] == "measure"),
                          key=lambda v: (-v["score"], v["_order"]))[:top_k]
        nones = [v for v in lines.values() if v["kind"] == "none"]
        chosen = sorted(measures + nones, key=lambda v: (-v["score"], v["kind"] != "measure", v["_order"]))
        if not chosen:
            reason = ("no incidents fall in this hotspot in the period" if n == 0 else
                      "no category reaches the minimum share of any rule")
            chosen = [{"hotspot_id": hid, "kind": "none", "measure_id": "none-no-trigger",
                       "measure": "No design measure indicated", "cpted_principle": "none", "score": 0.0,
                       "rule_id": "", "why": reason,
                       "rationale": f"Nothing to design against: {reason}.", "evidence": "",
                       "evidence_strength": "n/a", "sources": "", "_order": 0}]
        for rank, v in enumerate(chosen, start=1):
            v = dict(v)
            v.pop("_order")
            v["rank"] = rank
            out.append(v)
    return pd.DataFrame(out, columns=list(RANKED_COLUMNS))


# ----------------------------------------------------------------------------
# per-hotspot table
# ----------------------------------------------------------------------------
def recommendation_table(hotspots: gpd.GeoDataFrame, features: pd.DataFrame, ranked: pd.DataFrame, *,
                         settings: DesignOutSettings = _DEFAULT) -> gpd.GeoDataFrame:
    """One row per hotspot (aligned with ``hotspots``) with its recommendations flattened.

    Columns: ``hotspot_id``, ``place_type``, ``place_evidence``,
    ``secondary_place_types``, ``settings``, ``patterns``, ``pattern_notes``
    (all text), ``incidents`` (non-sensitive count, plus sensitive as "fewer than 5"
    when small), ``category_mix``, ``n_measures``, ``top_measure``,
    ``top_cpted_principle``, ``recommendations`` (numbered text) and for each
    line ``i`` ``rec{i}_kind``, ``rec{i}_measure``, ``rec{i}_cpted_principle``,
    ``rec{i}_why``, ``rec{i}_evidence``, ``rec{i}_sources``, ``rec{i}_score``;
    and the hotspot geometry (EPSG:27700).
    """
    if len(features) != len(hotspots):
        msg = f"features have {len(features)} rows but there are {len(hotspots)} hotspots; build them together"
        raise TaskingError(msg)
    base = pd.DataFrame(index=hotspots.index)
    base["hotspot_id"] = features["hotspot_id"].to_numpy()
    base["place_type"] = features["place_type"].to_numpy()
    base["place_evidence"] = features["place_evidence"].to_numpy()
    for col in ("secondary_place_types", "settings", "patterns"):
        base[col] = ["|".join(v) for v in features[col]]
    base["pattern_notes"] = features["pattern_notes"].to_numpy()
    shown = []
    for _, f in features.iterrows():
        n_ns = int(f["n_incidents"]) - int(f["n_sensitive"])
        n_sens_shown = int(f["n_sensitive"]) - (int(f["n_incidents"]) - int(f["n_display"]))
        text = str(n_ns)
        if n_sens_shown:
            text += f" + sensitive {n_sens_shown}"
        if f["suppressed_categories"]:
            text += (f" + sensitive {suppressed_label(settings.suppress_below)} in "
                     + ", ".join(f["suppressed_categories"]))
        shown.append(text)
    base["incidents"] = shown
    base["category_mix"] = features["category_mix"].to_numpy()
    by = {h: g.sort_values("rank") for h, g in ranked.groupby("hotspot_id", sort=False)}
    width = int(ranked.groupby("hotspot_id").size().max()) if len(ranked) else 0
    recs: list[dict[str, Any]] = []
    for hid in base["hotspot_id"]:
        g = by.get(hid)
        if g is None:
            msg = f"hotspot {hid!r} has no ranked lines; run rank_measures on the same features"
            raise TaskingError(msg)
        row: dict[str, Any] = {"n_measures": int((g["kind"] == "measure").sum())}
        meas = g[g["kind"] == "measure"]
        row["top_measure"] = meas["measure"].iloc[0] if len(meas) else g["measure"].iloc[0]
        row["top_cpted_principle"] = meas["cpted_principle"].iloc[0] if len(meas) else "none"
        row["recommendations"] = " | ".join(f"{int(r['rank'])}. {r['measure']}" +
                                            (f" ({r['cpted_principle']})" if r["kind"] == "measure" else "")
                                            for _, r in g.iterrows())
        for i in range(1, width + 1):
            r = g.iloc[i - 1] if i <= len(g) else None
            for k in ("kind", "measure", "cpted_principle", "why", "evidence", "sources", "score"):
                row[f"rec{i}_{k}"] = None if r is None else r[k]
        recs.append(row)
    table = pd.concat([base, pd.DataFrame(recs, index=hotspots.index)], axis=1)
    out = gpd.GeoDataFrame(table, geometry=hotspots.geometry.to_numpy(), crs=hotspots.crs)
    out.attrs["params"] = {"harm_index": settings.harm_index, "top_k_lines": width,
                           "rules": "tasking/data/design_out_rules.csv (see design_out_rules.md)"}
    return out


def recommend(hotspots: gpd.GeoDataFrame, incidents: pd.DataFrame, *, top_k: int = 3, id_col: str | None = None,
              estates: gpd.GeoDataFrame | None = None, parks: gpd.GeoDataFrame | None = None,
              rules: pd.DataFrame | None = None, settings: DesignOutSettings = _DEFAULT) -> gpd.GeoDataFrame:
    """Ranked Designing Out Crime recommendations for every hotspot (pure).

    Runs :func:`hotspot_features`, :func:`rank_measures` and
    :func:`recommendation_table`; see them for the parameters.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per hotspot, aligned with ``hotspots``, geometry kept.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd, shapely
    >>> spot = gpd.GeoDataFrame({"hotspot_id": ["A"]}, geometry=[shapely.box(0, 0, 100, 100)], crs=27700)
    >>> inc = pd.DataFrame({"category": ["vehicle-crime"] * 6, "x": [50.0] * 6, "y": [50.0] * 6,
    ...                     "location_text": ["On or near Parking Area"] * 6})
    >>> recommend(spot, inc).loc[0, "top_measure"]
    'CCTV covering the car park, actively monitored and combined with lighting (after a DPIA)'
    """
    feats = hotspot_features(hotspots, incidents, id_col=id_col, estates=estates, parks=parks, settings=settings)
    ranked = rank_measures(feats, rules=rules, top_k=top_k, settings=settings)
    return recommendation_table(hotspots, feats, ranked, settings=settings)
