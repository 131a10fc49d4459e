#!/usr/bin/env python
"""Generate a SYNTHETIC council ASB / warden case log for RBKC.

Usage::

    .venv/bin/python scripts/make_synthetic_council_log.py [--seed 20261123] [--rows 3000] \
        [--out data/synthetic/rbkc_council_asb_log_SYNTHETIC.csv] [--wards data/boundaries/wards_2018.gpkg]

No row describes a real incident. The file imitates the shape of a council
case-management export (UK date format, British National Grid coordinates,
generic location labels) so that time-of-day and day-of-week features can be
demonstrated; police.uk data carry the month only.

How rows are made:

* 15 cluster centres are placed inside RBKC wards that suit their kind
  (estate, high street, park, transport hub, backland). Each cluster has a
  few fixed "sub-sites" (a stairwell, a shop doorway ...) where reports repeat,
  and a wider Gaussian spread. About 15 % of rows are background noise spread
  evenly over the borough.
* Each case type has its own hour-of-day profile, day-of-week factors and a
  summer/winter swing. A few clusters emerge or fade during the year.
* Every point is kept inside the union of the RBKC ward polygons.

The same seed and row count always give byte-identical output.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from datetime import date, timedelta
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

SCRIPT_DIR = Path(__file__).resolve().parent
REPO_ROOT = SCRIPT_DIR.parent

DEFAULT_SEED = 20261123
DEFAULT_ROWS = 3000
DEFAULT_CSV_NAME = "rbkc_council_asb_log_SYNTHETIC.csv"
DEFAULT_OUT = REPO_ROOT / "data" / "synthetic" / DEFAULT_CSV_NAME
DEFAULT_WARDS = REPO_ROOT / "data" / "boundaries" / "wards_2018.gpkg"
RBKC = "E09000020"

START = date(2026, 1, 5)
END = date(2026, 11, 15)  # inclusive
N_CLUSTERS = 15
BACKGROUND_SHARE = 0.15

COLUMNS = [
    "Case Ref",
    "Date Reported",
    "Time Reported",
    "Case Type",
    "Easting",
    "Northing",
    "Location Description",
    "Reporting Officer Team",
    "SYNTHETIC",
]

WARDENS = "Community Wardens"
PARKS_POLICE = "Parks Police"
ASB_TEAM = "ASB Team"
TEAMS = (WARDENS, PARKS_POLICE, ASB_TEAM)

# --------------------------------------------------------------------------- case types
# share: overall share of rows; peaks: (hour, width in hours, weight) on a 24 h circle;
# floor: minimum relative weight at any hour; weekday: Monday..Sunday factors;
# summer: amplitude of the seasonal swing (peak mid-July, trough mid-January).

CASE_TYPES = {
    "Noise": dict(
        share=0.20,
        peaks=[(23.5, 1.8, 1.0), (20.0, 1.5, 0.35)],
        floor=0.03,
        weekday=[0.75, 0.70, 0.75, 0.90, 1.35, 1.70, 1.30],
        summer=0.35,
    ),
    "Fly-tipping": dict(
        share=0.13,
        peaks=[(9.0, 1.6, 1.0), (14.0, 2.0, 0.45)],
        floor=0.02,
        weekday=[1.45, 1.15, 1.00, 1.00, 0.95, 0.75, 0.65],
        summer=0.10,
    ),
    "Begging": dict(
        share=0.08,
        peaks=[(12.5, 2.2, 1.0), (17.5, 1.2, 0.6)],
        floor=0.02,
        weekday=[1.00, 1.00, 1.00, 1.05, 1.15, 1.20, 0.90],
        summer=0.10,
    ),
    "Street drinking": dict(
        share=0.10,
        peaks=[(16.5, 2.2, 1.0), (20.0, 1.5, 0.5)],
        floor=0.02,
        weekday=[0.85, 0.85, 0.90, 1.00, 1.20, 1.45, 1.25],
        summer=0.45,
    ),
    "Drug litter": dict(
        share=0.06,
        peaks=[(8.5, 1.4, 1.0), (11.5, 1.5, 0.4)],
        floor=0.02,
        weekday=[1.25, 1.05, 1.00, 1.00, 0.95, 0.85, 0.90],
        summer=0.10,
    ),
    "Graffiti": dict(
        share=0.07,
        peaks=[(10.5, 2.5, 1.0)],
        floor=0.02,
        weekday=[1.35, 1.15, 1.05, 1.00, 0.95, 0.55, 0.45],
        summer=0.05,
    ),
    "Nuisance vehicle": dict(
        share=0.06,
        peaks=[(21.5, 2.0, 1.0), (1.0, 1.2, 0.4)],
        floor=0.03,
        weekday=[0.80, 0.80, 0.90, 1.00, 1.30, 1.45, 1.00],
        summer=0.30,
    ),
    "Rowdy behaviour": dict(
        share=0.09,
        peaks=[(23.0, 1.6, 1.0), (1.5, 1.0, 0.5)],
        floor=0.02,
        weekday=[0.55, 0.60, 0.70, 0.90, 1.55, 1.85, 1.00],
        summer=0.35,
    ),
    "Drug dealing": dict(
        share=0.08,
        peaks=[(19.5, 2.5, 1.0), (14.0, 1.5, 0.3)],
        floor=0.03,
        weekday=[0.90, 0.90, 1.00, 1.00, 1.20, 1.20, 0.90],
        summer=0.15,
    ),
    "ASB - Youth nuisance": dict(
        share=0.13,
        peaks=[(17.5, 1.8, 1.0), (21.0, 1.3, 0.45)],
        floor=0.02,
        weekday=[0.90, 0.95, 1.00, 1.00, 1.30, 1.15, 0.80],
        summer=0.40,
    ),
}
TYPE_NAMES = list(CASE_TYPES)

# --------------------------------------------------------------------------- cluster kinds
# wards: RBKC wards where a centre of this kind may sit; types: relative mix of case types;
# places: generic location labels (never an address).

KINDS = {
    "estate": dict(
        count=5,
        wards=["Golborne", "Notting Dale", "Dalgarno", "St. Helen's", "Chelsea Riverside", "Earl's Court"],
        types={
            "ASB - Youth nuisance": 3.0,
            "Noise": 3.0,
            "Drug litter": 1.5,
            "Drug dealing": 2.0,
            "Fly-tipping": 2.0,
            "Graffiti": 1.0,
            "Nuisance vehicle": 1.0,
            "Rowdy behaviour": 0.8,
        },
        places=[
            "Rear of estate block",
            "Estate car park",
            "Estate stairwell, ground floor",
            "Estate garages",
            "Communal bin store",
            "Estate courtyard",
        ],
    ),
    "high_street": dict(
        count=4,
        wards=["Colville", "Pembridge", "Campden", "Abingdon", "Brompton & Hans Town", "Stanley", "Royal Hospital"],
        types={
            "Begging": 4.0,
            "Street drinking": 3.0,
            "Rowdy behaviour": 2.0,
            "Noise": 1.0,
            "Graffiti": 1.0,
            "Drug dealing": 0.8,
            "Fly-tipping": 1.0,
        },
        places=["High street", "Outside parade of shops", "Shop doorway", "Bus stop", "Cash machine", "Pub frontage"],
    ),
    "park": dict(
        count=2,
        wards=["Holland", "Dalgarno", "Redcliffe", "Royal Hospital", "Chelsea Riverside"],
        types={
            "Street drinking": 2.0,
            "Rowdy behaviour": 2.0,
            "ASB - Youth nuisance": 2.0,
            "Drug litter": 2.0,
            "Drug dealing": 1.0,
            "Noise": 0.8,
            "Graffiti": 1.0,
        },
        places=["Park entrance", "Park footpath", "Playground", "Sports pitch", "Park toilets", "Park bench area"],
    ),
    "transport": dict(
        count=2,
        wards=["Earl's Court", "Courtfield", "Pembridge", "Norland", "Golborne"],
        types={
            "Begging": 3.0,
            "Street drinking": 2.0,
            "Rowdy behaviour": 2.0,
            "Drug dealing": 1.0,
            "Noise": 0.6,
            "Graffiti": 0.8,
        },
        places=["Station forecourt", "Station entrance", "Bus stop", "Taxi rank", "Underpass"],
    ),
    "backland": dict(
        count=2,
        wards=["Golborne", "Notting Dale", "Colville", "Norland", "Dalgarno", "Redcliffe"],
        types={
            "Fly-tipping": 3.0,
            "Drug litter": 2.0,
            "Drug dealing": 2.0,
            "Nuisance vehicle": 2.0,
            "Graffiti": 2.0,
        },
        places=["Alleyway", "Mews", "Railway arches", "Service road", "Rear of shops", "Garage forecourt"],
    ),
}
BACKGROUND_PLACES = [
    "Residential street",
    "Side street",
    "Outside parade of shops",
    "Bus stop",
    "Alleyway",
    "Junction",
    "Outside block of flats",
]

MAPPING_YAML = """\
# Column mapping for a council export. SYNTHETIC example.
source: rbkc-council-asb-synthetic   # stored as the incident's source
id_column: Case Ref                  # optional; without it the id is a hash of source and row
category:
  column: Case Type
  values:                            # extra aliases: file wording -> canonical category slug
    "ASB - Youth nuisance": nuisance-behaviour
date:
  column: Date Reported
  time_column: Time Reported         # optional
  dayfirst: true
coordinates:
  x: Easting                         # or lon: / lat:
  y: Northing
  crs: EPSG:27700                    # or EPSG:4326 or auto
location_column: Location Description   # optional
"""


# --------------------------------------------------------------------------- profiles


def hour_profile(peaks: list[tuple[float, float, float]], floor: float) -> np.ndarray:
    """Probability of each clock hour (0..23) from peaks on a 24 h circle."""
    hours = np.arange(24) + 0.5
    weights = np.full(24, floor)
    for centre, width, weight in peaks:
        distance = np.abs(hours - centre)
        distance = np.minimum(distance, 24 - distance)
        weights += weight * np.exp(-0.5 * (distance / width) ** 2)
    return weights / weights.sum()


def day_weights(days: list[date], weekday: list[float], summer: float) -> np.ndarray:
    """Unnormalised weight of each day for one case type."""
    out = np.empty(len(days))
    for i, d in enumerate(days):
        doy = d.timetuple().tm_yday
        season = 1.0 + summer * math.cos(2 * math.pi * (doy - 196) / 365.0)
        out[i] = season * weekday[d.weekday()]
    return out


def cluster_trend(rng: np.random.Generator, n_days: int, mode: str) -> np.ndarray:
    """Multiplier over the period: steady, emerging (starts part-way) or fading."""
    t = np.linspace(0.0, 1.0, n_days)
    if mode == "emerging":
        start = rng.uniform(0.35, 0.6)
        return 0.05 + 1.0 / (1.0 + np.exp(-(t - start) / 0.03))
    if mode == "fading":
        stop = rng.uniform(0.35, 0.6)
        return 0.05 + 1.0 / (1.0 + np.exp((t - stop) / 0.03))
    return np.ones(n_days)


# --------------------------------------------------------------------------- geometry


def load_rbkc(wards_path: Path) -> tuple[dict[str, shapely.Geometry], shapely.Geometry]:
    if not wards_path.is_file():
        raise SystemExit(f"{wards_path} not found: run scripts/bundle_data.py first (or pass --wards)")
    wards = gpd.read_file(wards_path)
    wards = wards[wards["borough_code"] == RBKC].to_crs(27700).sort_values("ward_code")
    if len(wards) != 18:
        raise SystemExit(f"expected 18 RBKC wards in {wards_path}, found {len(wards)}")
    by_name = dict(zip(wards["ward_name"], wards.geometry))
    borough = shapely.union_all(list(wards.geometry))
    shapely.prepare(borough)
    for geom in by_name.values():
        shapely.prepare(geom)
    return by_name, borough


def random_point_in(rng: np.random.Generator, geom: shapely.Geometry) -> tuple[float, float]:
    minx, miny, maxx, maxy = geom.bounds
    for _ in range(10000):
        x = rng.uniform(minx, maxx)
        y = rng.uniform(miny, maxy)
        if shapely.contains_xy(geom, x, y):
            return x, y
    raise RuntimeError("could not place a point inside the polygon")


def inside_int(borough: shapely.Geometry, x: float, y: float) -> tuple[int, int] | None:
    ix, iy = int(round(x)), int(round(y))
    if shapely.contains_xy(borough, ix, iy):
        return ix, iy
    return None


# --------------------------------------------------------------------------- generation


def make_clusters(rng: np.random.Generator, wards: dict, n_days: int) -> list[dict]:
    clusters: list[dict] = []
    for kind, spec in KINDS.items():
        used_wards: list[str] = []
        for _ in range(spec["count"]):
            free = [w for w in spec["wards"] if w not in used_wards] or list(spec["wards"])
            for _attempt in range(200):
                ward = free[int(rng.integers(len(free)))]
                x, y = random_point_in(rng, wards[ward])
                if all(math.hypot(x - c["x"], y - c["y"]) > 350 for c in clusters):
                    break
            used_wards.append(ward)
            clusters.append(dict(kind=kind, ward=ward, x=x, y=y))
    if len(clusters) != N_CLUSTERS:
        raise AssertionError("cluster kinds must add up to N_CLUSTERS")

    modes = ["steady"] * N_CLUSTERS
    changing = rng.permutation(N_CLUSTERS)[:4]
    modes[changing[0]] = modes[changing[1]] = "emerging"
    modes[changing[2]] = modes[changing[3]] = "fading"

    for c, mode in zip(clusters, modes):
        spec = KINDS[c["kind"]]
        c["weight"] = float(rng.gamma(2.0, 1.0))
        c["sigma"] = float(rng.uniform(50.0, 160.0))
        c["mode"] = mode
        c["trend"] = cluster_trend(rng, n_days, mode)
        mix = np.array([spec["types"].get(t, 0.0) for t in TYPE_NAMES])
        mix = mix * rng.uniform(0.6, 1.4, size=len(mix))
        c["type_p"] = mix / mix.sum()
        n_sites = int(rng.integers(3, 7))
        sites = []
        for _ in range(n_sites):
            sx = c["x"] + rng.normal(0.0, c["sigma"] * 0.8)
            sy = c["y"] + rng.normal(0.0, c["sigma"] * 0.8)
            label = spec["places"][int(rng.integers(len(spec["places"])))]
            sites.append((sx, sy, label))
        c["sites"] = sites
        c["site_p"] = rng.dirichlet(np.full(n_sites, 1.5))
    return clusters


def choose_team(rng: np.random.Generator, case_type: str, kind: str | None) -> str:
    if kind == "park":
        p = [0.20, 0.70, 0.10]
    elif case_type == "Noise":
        p = [0.25, 0.00, 0.75]
    elif case_type in ("Drug dealing", "ASB - Youth nuisance"):
        p = [0.50, 0.00, 0.50]
    elif case_type == "Rowdy behaviour":
        p = [0.50, 0.05, 0.45]
    else:
        p = [0.78, 0.00, 0.22]
    return TEAMS[int(rng.choice(3, p=p))]


def generate(seed: int = DEFAULT_SEED, rows: int = DEFAULT_ROWS, out: Path = DEFAULT_OUT,
             wards_path: Path = DEFAULT_WARDS) -> dict:
    """Write the CSV, its mapping YAML and a README; return a small summary."""
    if rows < 1:
        raise SystemExit("--rows must be at least 1")
    rng = np.random.Generator(np.random.PCG64(seed))
    wards, borough = load_rbkc(Path(wards_path))

    days = [START + timedelta(days=i) for i in range((END - START).days + 1)]
    n_days = len(days)
    type_day_w = {t: day_weights(days, s["weekday"], s["summer"]) for t, s in CASE_TYPES.items()}
    type_hour_p = {t: hour_profile(s["peaks"], s["floor"]) for t, s in CASE_TYPES.items()}
    global_type_p = np.array([CASE_TYPES[t]["share"] for t in TYPE_NAMES])
    global_type_p = global_type_p / global_type_p.sum()

    clusters = make_clusters(rng, wards, n_days)
    cluster_p = np.array([c["weight"] for c in clusters])
    cluster_p = cluster_p / cluster_p.sum()

    records = []
    while len(records) < rows:
        background = rng.random() < BACKGROUND_SHARE
        if background:
            cluster = None
            case_type = TYPE_NAMES[int(rng.choice(len(TYPE_NAMES), p=global_type_p))]
            xy = inside_int(borough, *random_point_in(rng, borough))
            place = BACKGROUND_PLACES[int(rng.integers(len(BACKGROUND_PLACES)))]
            w = type_day_w[case_type]
        else:
            cluster = clusters[int(rng.choice(N_CLUSTERS, p=cluster_p))]
            case_type = TYPE_NAMES[int(rng.choice(len(TYPE_NAMES), p=cluster["type_p"]))]
            if rng.random() < 0.6:
                site = cluster["sites"][int(rng.choice(len(cluster["sites"]), p=cluster["site_p"]))]
                x = site[0] + rng.normal(0.0, 12.0)
                y = site[1] + rng.normal(0.0, 12.0)
                place = site[2]
            else:
                x = cluster["x"] + rng.normal(0.0, cluster["sigma"])
                y = cluster["y"] + rng.normal(0.0, cluster["sigma"])
                places = KINDS[cluster["kind"]]["places"]
                place = places[int(rng.integers(len(places)))]
            xy = inside_int(borough, x, y)
            w = type_day_w[case_type] * cluster["trend"]
        if xy is None:  # fell outside the borough: draw the row again
            continue
        day = days[int(rng.choice(n_days, p=w / w.sum()))]
        hour = int(rng.choice(24, p=type_hour_p[case_type]))
        minute = int(rng.integers(60))
        if rng.random() < 0.3:  # officers often round the time they log
            minute -= minute % 5
        team = choose_team(rng, case_type, cluster["kind"] if cluster else None)
        records.append((day, hour, minute, case_type, xy[0], xy[1], place, team))

    # Case references follow reporting order; gaps stand for other case types in the same system.
    order = sorted(range(len(records)), key=lambda i: (records[i][0], records[i][1], records[i][2], i))
    ref = int(rng.integers(100, 400))
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for i in order:
        day, hour, minute, case_type, e, n, place, team = records[i]
        ref += int(rng.integers(1, 4))
        writer.writerow([
            f"ASB/{day.year}/{ref:06d}",
            day.strftime("%d/%m/%Y"),
            f"{hour:02d}:{minute:02d}",
            case_type,
            e,
            n,
            place,
            team,
            "yes",
        ])

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as fh:
        fh.write(buf.getvalue())
    stem = out.name[: -len(".csv")] if out.name.lower().endswith(".csv") else out.name
    mapping_path = out.with_name(stem + ".mapping.yaml")
    with mapping_path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(MAPPING_YAML)
    with (out.parent / "README.md").open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(readme_text(seed, rows, out.name, mapping_path.name, clusters))
    return {"rows": rows, "csv": out, "mapping": mapping_path, "clusters": clusters}


def readme_text(seed: int, rows: int, csv_name: str, mapping_name: str, clusters: list[dict]) -> str:
    kinds = {}
    for c in clusters:
        kinds[c["kind"]] = kinds.get(c["kind"], 0) + 1
    kind_text = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in kinds.items())
    modes = {m: sum(1 for c in clusters if c["mode"] == m) for m in ("steady", "emerging", "fading")}
    return f"""\
SYNTHETIC data: generated by `scripts/make_synthetic_council_log.py` with seed {seed}; these are NOT real council records.

# Synthetic RBKC council ASB / warden log

* `{csv_name}`: {rows:,} invented cases, {START:%d/%m/%Y} to {END:%d/%m/%Y}. Every row has
  `SYNTHETIC` = `yes`. No row describes a real incident, person or address, and the data say
  nothing about anti-social behaviour in Kensington and Chelsea.
* `{mapping_name}`: the column mapping the product's generic CSV reader uses for this file.
  It also shows how a council's own wording (here "ASB - Youth nuisance") is mapped to a
  canonical category.

Why it exists: police.uk publishes the month only, so the product's time-of-day and
day-of-week features need a council log. Real logs are not public, so this file imitates the
shape of a case-management export: case reference, `dd/mm/yyyy` date, 24-hour time, case type,
British National Grid easting and northing (whole metres), a generic location label and the
reporting team.

How it was made (see the script for the exact rules):

* {len(clusters)} seeded cluster centres inside RBKC ({kind_text}), each with a few repeat
  sub-sites and a wider spread, plus about {BACKGROUND_SHARE:.0%} background cases anywhere in
  the borough. Points are kept inside the RBKC wards of `data/boundaries/wards_2018.gpkg`.
* Per case type: an hour-of-day profile (noise and rowdy behaviour late at night, street
  drinking in the afternoon and evening, fly-tipping and drug litter found in the morning,
  youth nuisance after school), day-of-week factors (busier Friday and Saturday nights;
  fly-tipping and graffiti reported early in the week) and a summer peak.
* Clusters: {modes['steady']} steady, {modes['emerging']} emerging part-way through the year,
  {modes['fading']} fading.
* Location labels are generic ("Rear of estate block", "Park entrance", "High street"); they are
  never addresses or house numbers.

Regenerate (byte-identical for the same seed and row count):

    .venv/bin/python scripts/make_synthetic_council_log.py --seed {seed} --rows {rows}

`scripts/bundle_data.py` rebuilds this folder with the default seed and row count and lists it
in `data/MANIFEST.csv`; after a run with other settings, rerun the bundle script to refresh
the manifest.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate a SYNTHETIC RBKC council ASB / warden log.")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help=f"number of cases (default {DEFAULT_ROWS})")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output CSV path")
    parser.add_argument("--wards", type=Path, default=DEFAULT_WARDS, help="ward GeoPackage with RBKC wards")
    args = parser.parse_args(argv)
    result = generate(seed=args.seed, rows=args.rows, out=args.out, wards_path=args.wards)
    print(f"wrote {result['rows']} rows to {result['csv']}")
    print(f"wrote {result['mapping']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
