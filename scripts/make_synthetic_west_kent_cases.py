#!/usr/bin/env python
"""Generate a SYNTHETIC West Kent housing-association case log and a SYNTHETIC schemes layer.

Usage::

    .venv/bin/python scripts/make_synthetic_west_kent_cases.py [--seed 20261202] [--rows 2200] \
        [--out-dir data/synthetic] [--policeuk data/policeuk/west_kent]

No row describes a real case, person, home or scheme.  The files imitate what a
housing association's community safety case system and its stock list hold, so
the housing-association features (schemes as the unit, rates per 1,000 homes,
its own case categories, reports that are not ASB under its policy, repeat
locations) can be shown end to end.  What is real: the **locations** - every
case sits on a real police.uk anonymous map point (``Longitude``, ``Latitude``,
``Location``) from the bundled West Kent police.uk files of 2025, so cases
land where the police.uk map points are, and nowhere else.

Outputs (every name says SYNTHETIC; every row and attribute carries ``SYNTHETIC`` = ``yes``):

* ``west_kent_cases_SYNTHETIC.csv`` - the case log (``Case Ref, Date Reported,
  Time Reported, Case Type, Longitude, Latitude, Location, District, Team,
  SYNTHETIC``), in West Kent's own case wording
  (``spatial/data/west_kent_case_mapping.yaml``);
* ``west_kent_cases_SYNTHETIC.mapping.yaml`` - that mapping with the source
  renamed ``west-kent-cases-SYNTHETIC`` (so stored incidents say SYNTHETIC);
* ``west_kent_schemes_SYNTHETIC.geojson`` - 12 invented schemes (polygons around
  real map points on residential streets, four per district) with ``scheme_id``,
  ``name``, ``homes`` (blank for two, to show the per-resident fallback),
  ``district`` and ``SYNTHETIC``;
* ``west_kent_SYNTHETIC_README.md`` - what the files are and how they were made.

How rows are made: about 70 % of cases fall on the schemes (each scheme's share
grows with its homes and a seeded "problem" factor; three schemes rise through
the year and two fall), the rest on any West Kent map point weighted by its
police.uk ASB count.  Case types follow the strategy's order of reported issues
(noise, harassment, rubbish, animals, fly-tipping), with about a fifth of
reports that are not ASB under the policy.  Ten repeat sites get bursts of four
to eight cases within a few months, and two get three or four domestic-abuse
cases (sensitive: never shown as points).  The same seed and row count always
give byte-identical files.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import re
import sys
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
import yaml
from pyproj import Transformer

SCRIPT_DIR = Path(__file__).resolve().parent
REPO_ROOT = SCRIPT_DIR.parent

DEFAULT_SEED = 20261202
DEFAULT_ROWS = 2200
DEFAULT_OUT_DIR = REPO_ROOT / "data" / "synthetic"
DEFAULT_POLICEUK = REPO_ROOT / "data" / "policeuk" / "west_kent"
MAPPING = REPO_ROOT / "spatial" / "data" / "west_kent_case_mapping.yaml"
CSV_NAME = "west_kent_cases_SYNTHETIC.csv"
MAPPING_NAME = "west_kent_cases_SYNTHETIC.mapping.yaml"
SCHEMES_NAME = "west_kent_schemes_SYNTHETIC.geojson"
README_NAME = "west_kent_SYNTHETIC_README.md"
SOURCE = "west-kent-cases-SYNTHETIC"

START = date(2025, 1, 1)
END = date(2025, 12, 31)  # inclusive
N_SCHEMES_PER_DISTRICT = 4
SCHEME_SHARE = 0.70
N_REPEAT_SITES = 10
N_SENSITIVE_REPEAT_SITES = 2
MIN_SPACING_M = 800.0

COLUMNS = ["Case Ref", "Date Reported", "Time Reported", "Case Type", "Longitude", "Latitude", "Location",
           "District", "Team", "SYNTHETIC"]

# West Kent wording -> (share, hour profile kind). Order of the strategy's "highest reported issues".
CASE_TYPES: dict[str, tuple[float, str]] = {
    "Noise nuisance": (0.24, "evening"),
    "Harassment": (0.12, "day"),
    "Rubbish / bin store misuse": (0.09, "morning"),
    "Untidy garden / rubbish": (0.02, "day"),
    "Animal nuisance": (0.08, "day"),
    "Fly-tipping": (0.07, "morning"),
    "Drug use / dealing": (0.06, "evening"),
    "Misuse of communal areas": (0.05, "evening"),
    "Vandalism / damage": (0.03, "day"),
    "Domestic abuse": (0.02, "evening"),
    "Physical violence / threats": (0.02, "evening"),
    # not ASB under the policy
    "Children playing / ball games": (0.05, "afternoon"),
    "Everyday household noise": (0.05, "evening"),
    "Washing machine / vacuum noise": (0.01, "day"),
    "DIY in reasonable hours": (0.02, "day"),
    "Cooking smells / household odours": (0.01, "evening"),
    "Parking dispute": (0.03, "day"),
    "Boundary dispute": (0.02, "day"),
    "One-off argument / minor neighbour dispute": (0.005, "day"),
    "One-off party / BBQ / celebration": (0.005, "evening"),
}
PROFILES = {  # hour-of-day weights (24 values) by kind
    "evening": [3, 2, 1, 1, 1, 1, 1, 2, 3, 3, 3, 3, 3, 3, 3, 4, 5, 6, 8, 10, 11, 11, 9, 6],
    "day": [0, 0, 0, 0, 0, 0, 1, 3, 6, 8, 9, 9, 8, 8, 8, 8, 7, 6, 5, 4, 3, 2, 1, 1],
    "morning": [0, 0, 0, 0, 0, 1, 3, 8, 11, 10, 8, 6, 5, 4, 4, 3, 3, 2, 2, 1, 1, 1, 0, 0],
    "afternoon": [0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 10, 9, 7, 4, 2, 1, 0],
}
SENSITIVE_TYPES = ("Domestic abuse", "Physical violence / threats")
COMMUNITY_SAFETY_TEAM = ("Domestic abuse", "Physical violence / threats", "Harassment")
RESIDENTIAL = re.compile(r"^On or near .+ (Road|Close|Court|Way|Gardens|Avenue|Drive|Crescent|Place|Walk|Rise|Grove)$")


def read_snap_points(policeuk: Path) -> pd.DataFrame:
    """Distinct police.uk map points of the 2025 West Kent files: lon, lat, Location, district, counts."""
    frames = []
    for p in sorted(policeuk.glob("2025-*-street-west-kent.csv.gz")):
        with gzip.open(p, "rt", encoding="utf-8", newline="") as fh:
            frames.append(pd.read_csv(fh, dtype=str, keep_default_na=False,
                                      usecols=["Longitude", "Latitude", "Location", "LSOA name", "Crime type"]))
    if not frames:
        raise SystemExit(f"no 2025 West Kent police.uk files in {policeuk}")
    df = pd.concat(frames, ignore_index=True)
    df = df[(df["Longitude"] != "") & (df["Latitude"] != "")]
    df["district"] = df["LSOA name"].str.replace(r"\s+\d{3}[A-Z]$", "", regex=True)
    df["asb"] = (df["Crime type"] == "Anti-social behaviour").astype(int)
    g = (df.groupby(["Longitude", "Latitude", "Location"], sort=True)
         .agg(district=("district", lambda s: s.mode().iloc[0]), n=("asb", "size"), n_asb=("asb", "sum"))
         .reset_index())
    g = g[g["district"].isin(["Sevenoaks", "Tonbridge and Malling", "Tunbridge Wells"])].reset_index(drop=True)
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    g["x"], g["y"] = to_bng.transform(g["Longitude"].astype(float).to_numpy(), g["Latitude"].astype(float).to_numpy())
    return g


def make_schemes(rng: np.random.Generator, pts: pd.DataFrame) -> list[dict]:
    """Four SYNTHETIC schemes per district, each a 12-sided polygon around a residential map point."""
    to_wgs = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    schemes: list[dict] = []
    xy = pts[["x", "y"]].to_numpy()
    tree = shapely.STRtree(shapely.points(xy[:, 0], xy[:, 1]))
    for district in ("Sevenoaks", "Tonbridge and Malling", "Tunbridge Wells"):
        cand = pts[(pts["district"] == district) & pts["Location"].str.match(RESIDENTIAL) & (pts["n"] >= 4)]
        order = rng.permutation(len(cand))
        made = 0
        for k in order:
            c = cand.iloc[int(k)]
            if any(np.hypot(c["x"] - s["cx"], c["y"] - s["cy"]) < MIN_SPACING_M for s in schemes):
                continue
            radius = float(rng.uniform(110.0, 180.0))
            poly = shapely.Point(c["x"], c["y"]).buffer(radius, quad_segs=3)
            # write in lon/lat (7 dp, about 1 cm) and read back: the layer users load is the rounded one
            lon, lat = to_wgs.transform(*np.asarray(poly.exterior.coords).T)
            ring = [[round(float(a), 7), round(float(b), 7)] for a, b in zip(lon, lat, strict=True)]
            bx, by = to_bng.transform(np.array([r[0] for r in ring]), np.array([r[1] for r in ring]))
            back = shapely.Polygon(np.column_stack([bx, by]))
            inside = tree.query(back, predicate="contains")
            if len(inside) < 4:
                continue
            made += 1
            n = len(schemes) + 1
            schemes.append({"scheme_id": f"SYN-S{n:02d}", "name": f"SYNTHETIC Scheme {n:02d}, {district}",
                            "district": district, "cx": float(c["x"]), "cy": float(c["y"]), "ring": ring,
                            "geom": back, "points": np.sort(inside)})
            if made == N_SCHEMES_PER_DISTRICT:
                break
        if made < N_SCHEMES_PER_DISTRICT:
            raise SystemExit(f"could not place {N_SCHEMES_PER_DISTRICT} schemes in {district}")
    homes = rng.integers(30, 320, size=len(schemes))
    no_homes = set(rng.choice(len(schemes), size=2, replace=False).tolist())
    trend = ["steady"] * len(schemes)
    order = rng.permutation(len(schemes))
    for i in order[:3]:
        trend[int(i)] = "rising"
    for i in order[3:5]:
        trend[int(i)] = "falling"
    for i, s in enumerate(schemes):
        s["homes"] = None if i in no_homes else int(homes[i])
        s["problem"] = float(rng.lognormal(0.0, 0.5))
        s["trend"] = trend[i]
    return schemes


def day_weights(n_days: int, trend: str) -> np.ndarray:
    t = np.linspace(0.0, 1.0, n_days)
    w = {"rising": 0.3 + 1.7 * t ** 2, "falling": 1.8 - 1.5 * t, "steady": np.ones(n_days)}[trend]
    return w / w.sum()


def pick_time(rng: np.random.Generator, kind: str) -> str:
    p = np.asarray(PROFILES[kind], dtype=float)
    h = int(rng.choice(24, p=p / p.sum()))
    return f"{h:02d}:{int(rng.integers(0, 60)):02d}"


def generate(seed: int = DEFAULT_SEED, rows: int = DEFAULT_ROWS, out_dir: Path = DEFAULT_OUT_DIR,
             policeuk: Path = DEFAULT_POLICEUK) -> dict:
    """Write the four files; returns counts for the bundle script."""
    rng = np.random.Generator(np.random.PCG64(seed))
    pts = read_snap_points(policeuk)
    schemes = make_schemes(rng, pts)
    n_days = (END - START).days + 1
    days = [START + timedelta(days=i) for i in range(n_days)]
    types = list(CASE_TYPES)
    shares = np.array([CASE_TYPES[t][0] for t in types])
    shares = shares / shares.sum()
    sw = np.array([(s["homes"] or 150) * s["problem"] for s in schemes], dtype=float)
    sw = sw / sw.sum()
    bg = pts["n_asb"].to_numpy(float) + 0.2
    bg = bg / bg.sum()
    cases: list[tuple[date, str, str, int]] = []  # (day, time, type, point index)
    for _ in range(rows):
        ctype = types[int(rng.choice(len(types), p=shares))]
        if rng.random() < SCHEME_SHARE:
            s = schemes[int(rng.choice(len(schemes), p=sw))]
            pi = int(rng.choice(s["points"]))
            d = days[int(rng.choice(n_days, p=day_weights(n_days, s["trend"])))]
        else:
            pi = int(rng.choice(len(pts), p=bg))
            d = days[int(rng.integers(0, n_days))]
        cases.append((d, pick_time(rng, CASE_TYPES[ctype][1]), ctype, pi))
    # repeat sites: bursts at one map point of a scheme within a few months
    sites = rng.choice(len(schemes), size=N_REPEAT_SITES + N_SENSITIVE_REPEAT_SITES, replace=True)
    for j, si in enumerate(sites):
        s = schemes[int(si)]
        pi = int(rng.choice(s["points"]))
        sensitive = j >= N_REPEAT_SITES
        ctype = "Domestic abuse" if sensitive else ["Noise nuisance", "Harassment", "Animal nuisance"][j % 3]
        k = int(rng.integers(3, 5)) if sensitive else int(rng.integers(4, 9))
        start = int(rng.integers(0, n_days - 120))
        span = int(rng.integers(45, 110))
        for off in np.sort(rng.integers(0, span, size=k)):
            cases.append((days[start + int(off)], pick_time(rng, CASE_TYPES[ctype][1]), ctype, pi))
    cases.sort(key=lambda c: (c[0], c[1], c[2], c[3]))
    out_dir.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for i, (d, t, ctype, pi) in enumerate(cases, start=1):
        p = pts.iloc[pi]
        team = "Community Safety Team" if ctype in COMMUNITY_SAFETY_TEAM else "Tenancy Services"
        w.writerow([f"SYN-WK-{d.year}-{i:05d}", d.strftime("%d/%m/%Y"), t, ctype, p["Longitude"], p["Latitude"],
                    p["Location"], p["district"], team, "yes"])
    (out_dir / CSV_NAME).write_text(buf.getvalue(), encoding="utf-8", newline="")
    write_mapping(out_dir / MAPPING_NAME)
    write_schemes(out_dir / SCHEMES_NAME, schemes)
    counts = pd.Series([c[2] for c in cases]).value_counts()
    (out_dir / README_NAME).write_text(readme_text(seed, rows, len(cases), schemes, counts), encoding="utf-8")
    return {"rows": len(cases), "schemes": len(schemes),
            "sensitive_rows": int(sum(counts.get(t, 0) for t in SENSITIVE_TYPES))}


def write_mapping(path: Path) -> None:
    """The shipped West Kent mapping with the source renamed, so stored incidents say SYNTHETIC."""
    doc = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    doc["source"] = SOURCE
    head = ("# SYNTHETIC: the West Kent case mapping (spatial/data/west_kent_case_mapping.yaml) with only the\n"
            f"# source renamed {SOURCE}, for data/synthetic/{CSV_NAME}. Made by\n"
            "# scripts/make_synthetic_west_kent_cases.py; not a real export.\n")
    path.write_text(head + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")


def write_schemes(path: Path, schemes: list[dict]) -> None:
    feats = [{"type": "Feature",
              "properties": {"scheme_id": s["scheme_id"], "name": s["name"], "homes": s["homes"],
                             "district": s["district"], "SYNTHETIC": "yes"},
              "geometry": {"type": "Polygon", "coordinates": [s["ring"]]}} for s in schemes]
    doc = {"type": "FeatureCollection", "name": "west_kent_schemes_SYNTHETIC",
           "description": "SYNTHETIC housing-association schemes for West Kent: invented polygons and homes "
                          "counts around real police.uk map points; not West Kent's stock",
           "features": feats}
    path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


def readme_text(seed: int, rows: int, n: int, schemes: list[dict], counts: pd.Series) -> str:
    lines = [f"- `{s['scheme_id']}` {s['name']}: {s['homes'] if s['homes'] is not None else 'no'} homes, "
             f"{s['trend']}" for s in schemes]
    types = "\n".join(f"| {t} | {int(counts.get(t, 0))} |" for t in CASE_TYPES)
    return f"""SYNTHETIC data: generated by `scripts/make_synthetic_west_kent_cases.py` with seed {seed}; these are NOT real West Kent records.

# Synthetic West Kent case log and schemes (a housing association)

* `{CSV_NAME}`: {n:,} invented cases ({rows:,} spread over the schemes and West Kent, plus
  repeat bursts), 01/01/2025 to 31/12/2025. Every row has `SYNTHETIC` = `yes` and a case
  reference starting `SYN-WK-`. No row describes a real case, person or home.
* `{MAPPING_NAME}`: the West Kent case mapping (`spatial/data/west_kent_case_mapping.yaml`) with
  the source renamed `{SOURCE}`, so every stored incident says SYNTHETIC.
* `{SCHEMES_NAME}`: {len(schemes)} invented schemes with homes counts (two without, to show
  the per-resident fallback), every feature `SYNTHETIC` = `yes`. They are **not** West Kent's
  stock; real stock and case data are the association's own layers.

What is real: the locations. Every case sits on a real police.uk anonymous map point (its
`Longitude`, `Latitude` and `Location` label) from the bundled West Kent police.uk files of 2025
(`data/policeuk/west_kent/`, Open Government Licence); each scheme is a 12-sided polygon of
110-180 m radius around a map point on a residential street, holding at least four map points.

Schemes (homes, trend through the year):

{chr(10).join(lines)}

Case types (West Kent's wording, mapped by `spatial/data/west_kent_case_mapping.yaml`; the
not-ASB types follow the Community Safety Policy & Procedure, "What is not considered as ASB?"):

| Case Type | rows |
|---|---|
{types}

Load and ingest (West Kent area):

    hotspot-tasking area use west-kent
    hotspot-tasking layers estates data/synthetic/{SCHEMES_NAME} --id-column scheme_id --name-column name --homes-column homes
    hotspot-tasking ingest data/synthetic/{CSV_NAME} --mapping data/synthetic/{MAPPING_NAME}

Regenerate (byte-identical for the same seed and row count):

    .venv/bin/python scripts/make_synthetic_west_kent_cases.py --seed {seed} --rows {rows}
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate a SYNTHETIC West Kent case log and schemes layer.")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help=f"cases before repeat bursts (default {DEFAULT_ROWS})")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR, help="output folder (default data/synthetic)")
    parser.add_argument("--policeuk", type=Path, default=DEFAULT_POLICEUK, help="West Kent police.uk files")
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error("--rows must be 1 or more")
    r = generate(seed=args.seed, rows=args.rows, out_dir=args.out_dir, policeuk=args.policeuk)
    print(f"SYNTHETIC West Kent: {r['rows']:,} cases, {r['schemes']} schemes -> {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
