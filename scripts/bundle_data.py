#!/usr/bin/env python
"""Rebuild the bundled data room (``data/``) from the staged public data.

Usage::

    .venv/bin/python scripts/bundle_data.py [--shared ../shared/data] [--out data]

The staged data (``shared/data`` beside the repository, see its SOURCES.md) are
read only. This script filters and copies the parts the product ships with,
writes the synthetic council log (via ``make_synthetic_council_log.py``),
writes ``data/SOURCES.md`` and finally ``data/MANIFEST.csv``.

Every output is deterministic: running the script twice gives byte-identical
files (GeoPackage timestamps are pinned, gzip headers carry no name or mtime).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import importlib.util
import io
import shutil
import sys
from collections import Counter
from pathlib import Path

import geopandas as gpd
import pyogrio

SCRIPT_DIR = Path(__file__).resolve().parent
REPO_ROOT = SCRIPT_DIR.parent

RBKC = "E09000020"
WESTMINSTER = "E09000033"
HAMMERSMITH_FULHAM = "E09000013"
DEMO_BOROUGHS = (RBKC, WESTMINSTER, HAMMERSMITH_FULHAM)
NEIGHBOURS = (WESTMINSTER, HAMMERSMITH_FULHAM)

EXPECTED_RBKC_WARDS = 18
EXPECTED_RBKC_LSOA21 = 101
EXPECTED_RBKC_LSOA11 = 103

API_MONTHS = [f"2017-{m:02d}" for m in range(7, 13)] + [f"2018-{m:02d}" for m in range(1, 7)]
VSO_MONTHS = [f"2024-{m:02d}" for m in range(1, 10)]

# Pinned so that GDAL writes the same gpkg_contents.last_change on every run.
GPKG_TIMESTAMP = "2026-01-01T00:00:00.000Z"

# Top-level entries of data/ that this script owns (removed and rebuilt).
MANAGED_DIRS = ("boundaries", "policeuk", "mps", "population", "parks", "synthetic")
MANAGED_FILES = ("MANIFEST.csv", "SOURCES.md")

MPS_FILES = (
    "rbkc_ward_monthly_2010-04_to_2024-02.csv",
    "rbkc_ward_monthly_2024-02_to_2026-02.csv",
    "rbkc_ward_monthly_2024-03_to_2026-03.csv",
    "rbkc_lsoa_monthly_2024-02_to_2026-02.csv",
)
POPULATION_FILES = (
    "rbkc_ward_census2021_population_bestfit_DERIVED.csv",
    "rbkc_lsoa21_census2021_ts007a_age.csv",
    "rbkc_lsoa11_imd2019.csv",
    "rbkc_lsoa11_midyear2020_population.csv",
)
PARKS_FILE = "rbkc_registered_parks_gardens_historic_england.geojson"

# West Kent (shared SOURCES.md section 6): the second bundled area (profile spatial/data/areas/west-kent.yaml).
WEST_KENT_DISTRICTS = ("E07000111", "E07000115", "E07000116")
WEST_KENT_MONTHS = (["2018-10", "2018-11", "2018-12", "2019-01", "2019-02", "2019-09", "2019-11"]
                    + [f"2024-{m:02d}" for m in range(1, 5)] + [f"2025-{m:02d}" for m in range(1, 13)])
WEST_KENT_POPULATION = "west_kent_lsoa21_census2021_usual_residents.csv"
#: (shared file, bundled gpkg, layer, expected features, canonical column names)
WEST_KENT_LAYERS = (
    ("west_kent_wards2013.geojson", "west_kent_wards_2013.gpkg", "west_kent_wards_2013", 72,
     {"code": "ward_code", "name": "ward_name", "lad_code": "borough_code", "lad_name": "borough_name"}),
    ("west_kent_lsoa2021.geojson", "west_kent_lsoa_2021.gpkg", "west_kent_lsoa_2021", 222,
     {"code": "lsoa_code", "name": "lsoa_name", "lad_code": "borough_code"}),
    ("west_kent_lsoa2011.geojson", "west_kent_lsoa_2011.gpkg", "west_kent_lsoa_2011", 214,
     {"code": "lsoa_code", "name": "lsoa_name", "lad_code": "borough_code"}),
    ("west_kent_districts.geojson", "west_kent_districts.gpkg", "west_kent_districts", 3,
     {"code": "borough_code", "name": "borough_name"}),
)
RBKC_API_FILE = "rbkc_street_crime_2018-06_police-uk-api.csv"


# --------------------------------------------------------------------------- helpers


def default_shared() -> Path:
    beside_repo = Path(__file__).resolve().parents[2] / "shared" / "data"
    if beside_repo.is_dir():
        return beside_repo
    return Path("/work/shared/data")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def copy_exact(src: Path, dst: Path) -> None:
    """Copy a file byte for byte and check the copy."""
    if not src.is_file():
        raise SystemExit(f"missing source file: {src}")
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    if sha256_of(src) != sha256_of(dst):
        raise SystemExit(f"copy of {src} is not identical")


def count_csv_rows(path: Path) -> int:
    """Number of data rows (records after the header) of a .csv or .csv.gz file."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as fh:
        n = sum(1 for _ in csv.reader(fh))
    return max(n - 1, 0)


def count_features(path: Path) -> int:
    total = 0
    for layer_name, _ in pyogrio.list_layers(path):
        total += int(pyogrio.read_info(path, layer=layer_name)["features"])
    return total


def row_count(path: Path) -> int | None:
    name = path.name.lower()
    if name.endswith(".csv") or name.endswith(".csv.gz"):
        return count_csv_rows(path)
    if name.endswith(".gpkg") or name.endswith(".geojson"):
        return count_features(path)
    return None


def write_gpkg(gdf: gpd.GeoDataFrame, path: Path, layer: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    gdf.to_file(path, layer=layer, driver="GPKG", engine="pyogrio", index=False)


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)


def clean_output(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in MANAGED_DIRS:
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    for name in MANAGED_FILES:
        target = out / name
        if target.exists():
            target.unlink()
    leftovers = sorted(p.name for p in out.iterdir())
    if leftovers:
        print(f"warning: {out} holds files this script does not manage: {leftovers}")


# --------------------------------------------------------------------------- boundaries


def bundle_boundaries(shared: Path, out: Path, stats: dict) -> None:
    src = shared / "boundaries"
    dst = out / "boundaries"

    boroughs = gpd.read_file(src / "london_boroughs.gpkg")
    boroughs = boroughs[boroughs["gss_code"].isin(DEMO_BOROUGHS)]
    boroughs = boroughs.rename(columns={"gss_code": "borough_code", "name": "borough_name"})
    boroughs = boroughs[["borough_code", "borough_name", "geometry"]]
    boroughs = boroughs.sort_values("borough_code").reset_index(drop=True).to_crs(27700)
    if len(boroughs) != 3:
        raise SystemExit(f"expected 3 boroughs, found {len(boroughs)}")
    write_gpkg(boroughs, dst / "boroughs.gpkg", "boroughs")
    stats["boroughs"] = len(boroughs)

    wards = gpd.read_file(src / "london_wards_2018.gpkg")
    wards = wards[wards["LAGSSCODE"].isin(DEMO_BOROUGHS)]
    wards = wards.rename(
        columns={
            "GSS_CODE": "ward_code",
            "NAME": "ward_name",
            "LAGSSCODE": "borough_code",
            "DISTRICT": "borough_name",
            "HECTARES": "hectares",
        }
    )
    wards = wards[["ward_code", "ward_name", "borough_code", "borough_name", "hectares", "geometry"]]
    wards = wards.sort_values(["borough_code", "ward_code"]).reset_index(drop=True).to_crs(27700)
    per_borough = wards.groupby("borough_code").size().to_dict()
    if per_borough.get(RBKC) != EXPECTED_RBKC_WARDS:
        raise SystemExit(f"RBKC should have {EXPECTED_RBKC_WARDS} wards, found {per_borough.get(RBKC)}")
    if wards["ward_code"].duplicated().any():
        raise SystemExit("duplicate ward codes in the ward layer")
    write_gpkg(wards, dst / "wards_2018.gpkg", "wards_2018")
    stats["wards"] = len(wards)
    stats["wards_by_borough"] = per_borough

    for year, fname, code_col, name_col, lad_col, expected in (
        ("2021", "london_lsoa_2021_gen20.gpkg", "LSOA21CD", "LSOA21NM", "LAD22CD", EXPECTED_RBKC_LSOA21),
        ("2011", "london_lsoa_2011_gen20.gpkg", "LSOA11CD", "LSOA11NM", "LAD11CD", EXPECTED_RBKC_LSOA11),
    ):
        lsoa = gpd.read_file(src / fname)
        lsoa = lsoa[lsoa[lad_col].isin(DEMO_BOROUGHS)]
        lsoa = lsoa.rename(columns={code_col: "lsoa_code", name_col: "lsoa_name", lad_col: "borough_code"})
        lsoa = lsoa[["lsoa_code", "lsoa_name", "borough_code", "geometry"]]
        lsoa = lsoa.sort_values("lsoa_code").reset_index(drop=True).to_crs(27700)
        counts = lsoa.groupby("borough_code").size().to_dict()
        if counts.get(RBKC) != expected:
            raise SystemExit(f"RBKC should have {expected} LSOAs ({year}), found {counts.get(RBKC)}")
        write_gpkg(lsoa, dst / f"lsoa_{year}.gpkg", f"lsoa_{year}")
        stats[f"lsoa_{year}"] = len(lsoa)
        stats[f"lsoa_{year}_by_borough"] = counts

    print(
        "boundaries: boroughs={b} wards={w} {wb} lsoa_2021={l21} {l21b} lsoa_2011={l11} {l11b}".format(
            b=stats["boroughs"],
            w=stats["wards"],
            wb=stats["wards_by_borough"],
            l21=stats["lsoa_2021"],
            l21b=stats["lsoa_2021_by_borough"],
            l11=stats["lsoa_2011"],
            l11b=stats["lsoa_2011_by_borough"],
        )
    )


# --------------------------------------------------------------------------- police.uk

VSO_README = """\
# RBKC police.uk rows: "Violence and sexual offences" only (January to September 2024)

These nine files use the police.uk monthly archive layout (`YYYY-MM/YYYY-MM-metropolitan-street.csv`)
and the original 12-column police.uk street CSV header, so the product's police.uk importer reads
them as it would a downloaded archive. They are **not** the full Metropolitan Police files:

* only rows whose LSOA lies in the Royal Borough of Kensington and Chelsea are present, and
* only the crime type "Violence and sexual offences" is present (no other crime types, no ASB).

This crime type is **safeguarding-sensitive**. The product must never show these rows as points
on a map or in a point table. Use them for ingest, parsing, de-duplication and aggregated
counts (ward, LSOA or grid level) only.

The files were copied byte for byte from `shared/data/policeuk/rbkc_vso_2024/`; see
`data/SOURCES.md` for the original source, row counts and known duplicates.
"""


def bundle_policeuk(shared: Path, out: Path, stats: dict) -> None:
    src = shared / "policeuk"
    dst = out / "policeuk"

    # June 2018 RBKC API extract, unchanged.
    copy_exact(src / "rbkc_api_2018-06" / RBKC_API_FILE, dst / "rbkc_api_2018-06" / RBKC_API_FILE)
    stats["rbkc_api_rows"] = count_csv_rows(dst / "rbkc_api_2018-06" / RBKC_API_FILE)
    with (dst / "rbkc_api_2018-06" / RBKC_API_FILE).open(encoding="utf-8", newline="") as fh:
        pids = [row["persistent_id"] for row in csv.DictReader(fh) if row["persistent_id"]]
    pid_counts = Counter(pids)
    stats["rbkc_api_repeated_pids"] = sum(1 for n in pid_counts.values() if n > 1)
    stats["rbkc_api_repeated_pid_rows"] = sum(n for n in pid_counts.values() if n > 1)

    # 2024 VSO rows, into the monthly archive layout.
    vso_rows = {}
    for month in VSO_MONTHS:
        target = dst / "rbkc_vso_2024" / month / f"{month}-metropolitan-street.csv"
        copy_exact(src / "rbkc_vso_2024" / f"{month}-metropolitan-street-rbkc-vso.csv", target)
        vso_rows[month] = count_csv_rows(target)
    write_text(dst / "rbkc_vso_2024" / "README.md", VSO_README)
    stats["vso_rows"] = vso_rows
    id_counts: Counter = Counter()
    row_counts: Counter = Counter()
    id_months: dict[str, set[str]] = {}
    missing_xy = 0
    for month in VSO_MONTHS:
        with (dst / "rbkc_vso_2024" / month / f"{month}-metropolitan-street.csv").open(
            encoding="utf-8", newline=""
        ) as fh:
            reader = csv.reader(fh)
            header = next(reader)
            id_idx = header.index("Crime ID")
            lon_idx, lat_idx = header.index("Longitude"), header.index("Latitude")
            for row in reader:
                id_counts[row[id_idx]] += 1
                missing_xy += int(not row[lon_idx] or not row[lat_idx])
                id_months.setdefault(row[id_idx], set()).add(month)
                row_counts[tuple(row)] += 1
    stats["vso_repeated_ids"] = sum(1 for n in id_counts.values() if n > 1)
    stats["vso_repeated_id_extra_rows"] = sum(n - 1 for n in id_counts.values() if n > 1)
    stats["vso_ids_across_months"] = sum(1 for m in id_months.values() if len(m) > 1)
    stats["vso_missing_xy"] = missing_xy
    stats["vso_identical_extra_rows"] = sum(n - 1 for n in row_counts.values() if n > 1)
    print(f"police.uk RBKC API 2018-06: {stats['rbkc_api_rows']} rows")
    print(f"police.uk RBKC VSO 2024: {sum(vso_rows.values())} rows {vso_rows}")

    # Westminster and Hammersmith & Fulham rows of the London-wide API extract.
    wards = gpd.read_file(shared / "boundaries" / "london_wards_2018.gpkg", columns=["GSS_CODE", "LAGSSCODE"])
    ward_to_borough = {
        code: borough
        for code, borough in zip(wards["GSS_CODE"], wards["LAGSSCODE"])
        if borough in NEIGHBOURS
    }
    neighbour_rows: dict[str, dict[str, int]] = {}
    all_points: list[tuple[str, float, float]] = []
    neighbour_ids_2018_06: set[str] = set()
    for month in API_MONTHS:
        source = src / "london_api" / f"{month}-london-street-police-uk-api.csv.gz"
        if not source.is_file():
            raise SystemExit(f"missing source file: {source}")
        with gzip.open(source, "rt", encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader)
            ward_idx = header.index("query_ward_code")
            kept = [row for row in reader if row[ward_idx] in ward_to_borough]
        per_borough = {code: 0 for code in NEIGHBOURS}
        for row in kept:
            per_borough[ward_to_borough[row[ward_idx]]] += 1

        buf = io.StringIO(newline="")
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(kept)
        target = dst / "neighbours_api" / f"{month}-westminster-hammersmith-fulham-police-uk-api.csv.gz"
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as raw, gzip.GzipFile(
            filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0
        ) as gz:
            gz.write(buf.getvalue().encode("utf-8"))
        neighbour_rows[month] = {"total": len(kept), **per_borough}
        lat_idx, lon_idx, id_idx = header.index("latitude"), header.index("longitude"), header.index("id")
        all_points.extend((ward_to_borough[r[ward_idx]], float(r[lon_idx]), float(r[lat_idx])) for r in kept)
        if month == "2018-06":
            neighbour_ids_2018_06 = {r[id_idx] for r in kept}
        print(
            f"neighbours {month}: {len(kept):>6} rows "
            f"(Westminster {per_borough[WESTMINSTER]}, Hammersmith & Fulham {per_borough[HAMMERSMITH_FULHAM]})"
        )
    stats["neighbour_rows"] = neighbour_rows
    stats["neighbour_wards"] = {b: sum(1 for v in ward_to_borough.values() if v == b) for b in NEIGHBOURS}
    totals = {key: sum(m[key] for m in neighbour_rows.values()) for key in ("total", *NEIGHBOURS)}
    stats["neighbour_totals"] = totals
    print(
        f"neighbours total: {totals['total']} rows (Westminster {totals[WESTMINSTER]}, "
        f"Hammersmith & Fulham {totals[HAMMERSMITH_FULHAM]})"
    )

    # Where do the points fall, compared with the borough of the queried ward?
    boroughs = gpd.read_file(out / "boundaries" / "boroughs.gpkg")
    points = gpd.GeoDataFrame(
        {"queried": [p[0] for p in all_points]},
        geometry=gpd.points_from_xy([p[1] for p in all_points], [p[2] for p in all_points]),
        crs=4326,
    ).to_crs(boroughs.crs)
    joined = gpd.sjoin(points, boroughs[["borough_code", "geometry"]], how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    located = joined["borough_code"]
    stats["neighbour_points_other_borough"] = int((located.notna() & (located != joined["queried"])).sum())
    stats["neighbour_points_in_rbkc"] = int((located == RBKC).sum())
    stats["neighbour_points_outside_demo"] = int(located.isna().sum())
    with (dst / "rbkc_api_2018-06" / RBKC_API_FILE).open(encoding="utf-8", newline="") as fh:
        rbkc_ids = {row["id"] for row in csv.DictReader(fh)}
    stats["neighbour_ids_shared_with_rbkc"] = len(rbkc_ids & neighbour_ids_2018_06)
    print(
        "neighbours: points in another demo borough than queried: "
        f"{stats['neighbour_points_other_borough']} (in RBKC: {stats['neighbour_points_in_rbkc']}), "
        f"outside the three demo boroughs: {stats['neighbour_points_outside_demo']}; "
        f"2018-06 ids shared with the RBKC 2018-06 file: {stats['neighbour_ids_shared_with_rbkc']}"
    )


# --------------------------------------------------------------------------- West Kent


def write_gzip(data: bytes, path: Path) -> None:
    """gzip ``data`` (level 9, no name or mtime in the header, so the output is deterministic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz:
        gz.write(data)


def bundle_west_kent(shared: Path, out: Path, stats: dict) -> None:
    """The 23 West Kent police.uk months (byte for byte, gzipped), its boundaries (canonical columns,
    EPSG:27700) and the Census 2021 population by LSOA."""
    rows = {}
    for month in WEST_KENT_MONTHS:
        name = f"{month}-kent-street-west-kent.csv"
        src = shared / "policeuk" / "west_kent" / name
        if not src.is_file():
            raise SystemExit(f"missing source file: {src}")
        data = src.read_bytes()
        target = out / "policeuk" / "west_kent" / f"{name}.gz"
        write_gzip(data, target)
        if gzip.decompress(target.read_bytes()) != data:
            raise SystemExit(f"gzip copy of {src} is not identical")
        rows[month] = count_csv_rows(target)
    stats["west_kent_rows"] = rows
    for src_name, dst_name, layer, expected, columns in WEST_KENT_LAYERS:
        gdf = gpd.read_file(shared / "boundaries" / src_name)
        if len(gdf) != expected:
            raise SystemExit(f"{src_name}: expected {expected} features, found {len(gdf)}")
        gdf = gdf.rename(columns=columns)[[*columns.values(), "geometry"]]
        if not set(gdf["borough_code"]) <= set(WEST_KENT_DISTRICTS):
            raise SystemExit(f"{src_name}: districts {sorted(set(gdf['borough_code']))} are not the three of West Kent")
        gdf = gdf.sort_values(list(columns.values())[0]).reset_index(drop=True).to_crs(27700)
        write_gpkg(gdf, out / "boundaries" / dst_name, layer)
        stats[f"west_kent_{layer}"] = len(gdf)
    copy_exact(shared / "population" / WEST_KENT_POPULATION, out / "population" / WEST_KENT_POPULATION)
    stats["west_kent_population_rows"] = count_csv_rows(out / "population" / WEST_KENT_POPULATION)
    print(f"West Kent: {sum(rows.values())} police.uk rows in {len(rows)} months; boundaries and population")


# --------------------------------------------------------------------------- plain copies


def bundle_copies(shared: Path, out: Path, stats: dict) -> None:
    for name in MPS_FILES:
        copy_exact(shared / "mps_recorded_crime" / name, out / "mps" / name)
    for name in POPULATION_FILES:
        copy_exact(shared / "population" / name, out / "population" / name)
    copy_exact(shared / "parks" / PARKS_FILE, out / "parks" / PARKS_FILE)
    stats["copies"] = {
        **{f"mps/{n}": count_csv_rows(out / "mps" / n) for n in MPS_FILES},
        **{f"population/{n}": count_csv_rows(out / "population" / n) for n in POPULATION_FILES},
        f"parks/{PARKS_FILE}": count_features(out / "parks" / PARKS_FILE),
    }
    for name, rows in stats["copies"].items():
        print(f"copied {name}: {rows} rows")


# --------------------------------------------------------------------------- synthetic log


def bundle_synthetic(out: Path, stats: dict) -> None:
    spec = importlib.util.spec_from_file_location(
        "make_synthetic_council_log", SCRIPT_DIR / "make_synthetic_council_log.py"
    )
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    csv_path = out / "synthetic" / module.DEFAULT_CSV_NAME
    result = module.generate(
        seed=module.DEFAULT_SEED,
        rows=module.DEFAULT_ROWS,
        out=csv_path,
        wards_path=out / "boundaries" / "wards_2018.gpkg",
    )
    stats["synthetic_rows"] = result["rows"]
    stats["synthetic_seed"] = module.DEFAULT_SEED
    print(f"synthetic council log: {result['rows']} rows, seed {module.DEFAULT_SEED}")
    # the SYNTHETIC West Kent case log and schemes, on the West Kent police.uk map points just bundled
    spec = importlib.util.spec_from_file_location(
        "make_synthetic_west_kent_cases", SCRIPT_DIR / "make_synthetic_west_kent_cases.py"
    )
    wk = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(wk)
    res = wk.generate(seed=wk.DEFAULT_SEED, rows=wk.DEFAULT_ROWS, out_dir=out / "synthetic",
                      policeuk=out / "policeuk" / "west_kent")
    stats["wk_synthetic_rows"] = res["rows"]
    stats["wk_synthetic_schemes"] = res["schemes"]
    stats["wk_synthetic_seed"] = wk.DEFAULT_SEED
    print(f"synthetic West Kent case log: {res['rows']} rows, {res['schemes']} schemes, seed {wk.DEFAULT_SEED}")


# --------------------------------------------------------------------------- SOURCES.md


def _n(value: int) -> str:
    return f"{value:,}"


def sources_markdown(stats: dict) -> str:
    vso = stats["vso_rows"]
    nb = stats["neighbour_rows"]
    copies = stats["copies"]
    l21 = stats["lsoa_2021_by_borough"]
    l11 = stats["lsoa_2011_by_borough"]
    wb = stats["wards_by_borough"]

    vso_table = "\n".join(f"| {m} | {_n(vso[m])} |" for m in VSO_MONTHS)
    nb_table = "\n".join(
        f"| {m} | {_n(nb[m]['total'])} | {_n(nb[m][WESTMINSTER])} | {_n(nb[m][HAMMERSMITH_FULHAM])} |"
        for m in API_MONTHS
    )
    nt = stats["neighbour_totals"]

    return f"""\
# Bundled data: sources, processing and licences

Everything under `data/` is rebuilt by `scripts/bundle_data.py` from the staged public data in
`../shared/data/` (documented in `../shared/data/SOURCES.md`). The one exception in kind is
`data/synthetic/`, which is **SYNTHETIC** and made by `scripts/make_synthetic_council_log.py`.
`data/MANIFEST.csv` lists every file with its size, SHA-256 and row or feature count.

The demo area is the Royal Borough of Kensington and Chelsea (RBKC, `{RBKC}`), with its two
neighbours Westminster (`{WESTMINSTER}`) and Hammersmith and Fulham (`{HAMMERSMITH_FULHAM}`) for
edge effects and comparison. All projected layers are British National Grid (EPSG:27700).

## Attribution to show in the product

* police.uk data and ONS data (boundaries, Census 2021, mid-year estimates) and the English
  Indices of Deprivation 2019: "Contains public sector information licensed under the Open
  Government Licence v3.0".
* MPS recorded crime (Metropolitan Police Service via the London Datastore, "MPS Recorded Crime:
  Geographic Breakdown"): licensed under the Open Government Licence v2.0.
* LSOA boundaries: "Source: Office for National Statistics licensed under the Open Government
  Licence v.3.0. Contains OS data © Crown copyright and database right (2022)".
* Ward and borough boundaries (London Datastore, GLA): "Contains National Statistics data © Crown
  copyright and database right; Contains OS data © Crown copyright and database right".
* Registered parks and gardens: Historic England, National Heritage List for England.
* West Kent boundaries (2013 wards, 2011 and 2021 LSOAs, districts): ONS, OGL v3.0, "Contains OS
  data © Crown copyright and database right"; GeoJSON conversion by martinjc/UK-GeoJSON (CC BY 4.0).

## What is deliberately NOT bundled

Some layers the product uses are not public, so no copy of them exists here. The product reads
them from the user's own files (GeoPackage, GeoJSON, Shapefile or CSV with a column mapping):

* RBKC's own list of **37 parks and open spaces** as polygons (the bundled parks layer below is
  a different, much smaller list);
* **housing estate** boundaries;
* the council's **ASB, community warden and parks police logs** (case-management exports);
* **CCTV** camera sites.

Also not bundled, to keep the repository small: the London-wide 12-month police.uk API extract
(2017-07 to 2018-06). Benchmarks read it in place from `../shared/data/policeuk/london_api/`.
Note that the staged copy is itself partial: it has no RBKC rows at all, and the rows of Brent,
Camden, Ealing, Lambeth and Wandsworth are held back there for independent evaluation. The
London-wide MPS ward table, the 2019 mid-year population estimates and the ready-made GeoJSON
versions of the boundaries are not bundled either.

## Files

### `boundaries/` (GeoPackage, EPSG:27700, one layer per file named after the file)

| file | features | from (in `shared/data/boundaries/`) | columns |
|---|---|---|---|
| `boroughs.gpkg` | {stats['boroughs']} | `london_boroughs.gpkg` | `borough_code` (was `gss_code`), `borough_name` (was `name`) |
| `wards_2018.gpkg` | {stats['wards']} (RBKC {wb.get(RBKC)}, Westminster {wb.get(WESTMINSTER)}, H&F {wb.get(HAMMERSMITH_FULHAM)}) | `london_wards_2018.gpkg` | `ward_code` (`GSS_CODE`), `ward_name` (`NAME`), `borough_code` (`LAGSSCODE`), `borough_name` (`DISTRICT`), `hectares` (`HECTARES`) |
| `lsoa_2021.gpkg` | {stats['lsoa_2021']} (RBKC {l21.get(RBKC)}, Westminster {l21.get(WESTMINSTER)}, H&F {l21.get(HAMMERSMITH_FULHAM)}) | `london_lsoa_2021_gen20.gpkg` | `lsoa_code` (`LSOA21CD`), `lsoa_name` (`LSOA21NM`), `borough_code` (`LAD22CD`) |
| `lsoa_2011.gpkg` | {stats['lsoa_2011']} (RBKC {l11.get(RBKC)}, Westminster {l11.get(WESTMINSTER)}, H&F {l11.get(HAMMERSMITH_FULHAM)}) | `london_lsoa_2011_gen20.gpkg` | `lsoa_code` (`LSOA11CD`), `lsoa_name` (`LSOA11NM`), `borough_code` (`LAD11CD`) |

* Processing: rows of the three demo boroughs kept, columns renamed and reduced as shown, rows
  sorted by code. Geometries are unchanged (no simplification, no reprojection needed).
* Origins:
  * boroughs: London Datastore "London Boroughs" GeoPackage, as held in
    `mpjashby/crimemappingdata` at `inst/extdata/london_boroughs.gpkg`, commit
    `d38d7fc74cf3d966b395e638d257afc07e05120f`;
  * wards: London Datastore "London-wards-2018" (full resolution MapInfo tables), as held in
    `hou1020/CASA0006-coursework` at `London-wards-2018/London-wards-2018_Mapinfo/London_Ward.*`,
    commit `2ea50d08fbe640f3c2d8b1c5cb7566ef666b6f8a`, converted to GeoPackage when staged;
  * LSOAs: ONS LSOA boundaries (December 2021 and 2011, generalised to 20 m), as held in
    `jamesdamillington/london-data` at `data/geographies/census/london-2021-lsoa-gen20.*` and
    `london-2011-lsoa-gen20.*`, commit `5edd45296196d4dea215a6559badb5b6bf755eb4`.
* RBKC's 18 wards (E05009388 to E05009405) have been in force since May 2014 and are still the
  current set, so the "2018" ward layer is the current RBKC ward map.
* `borough_name` in the ward layer keeps the source wording: Westminster appears as
  "City of Westminster" there but as "Westminster" in `boroughs.gpkg`. Join on codes, not names.
* Police.uk data from 2024 onward use 2021 LSOA codes; older police.uk data use 2011 codes.
  RBKC has 103 LSOAs in 2011 and 101 in 2021.
* Licence: the ward and borough source repositories state no licence; the originals are GLA
  London Datastore products built on ONS and OS data and are treated as OGL (check against the
  Datastore pages before a public release). The LSOA files are ONS, OGL v3.0.

### `policeuk/rbkc_api_2018-06/{RBKC_API_FILE}`

* Copied byte for byte. {_n(stats['rbkc_api_rows'])} rows: all crime types plus anti-social
  behaviour for RBKC in **June 2018**.
* Origin: police.uk API `crimes-street/all-crime` responses stored in
  `PoliceRewired/ward-level-crime-data`, commit `9a134af0482802a121f7d6b6bce9d583c1499d30`,
  path `2018-05 boundaries/UK_month_2017_01/output_month_2017_01_area_E050093NN_0.json` (one
  file per RBKC ward). The folder says 2017-01 but every record is month 2018-06: the API ignored
  the requested date. When staged, the 18 ward responses were flattened to one CSV and
  de-duplicated on the API `id` (a crime on a shared ward edge is returned for both wards).
* Layout: the API's field names, not the bulk CSV header (`id, persistent_id, month, category,
  location_type, location_subtype, latitude, longitude, street_id, street_name, context,
  outcome_category, outcome_date, query_ward_code`). Categories are API slugs
  (e.g. `violent-crime` is "Violence and sexual offences"). `persistent_id` is the bulk CSV
  `Crime ID` and is empty for ASB. `query_ward_code` records which ward polygon was queried;
  it is provenance, not an official ward attribution. There is no LSOA column.
* {_n(stats['rbkc_api_repeated_pids'])} non-empty `persistent_id` values occur on more than one row
  ({_n(stats['rbkc_api_repeated_pid_rows'])} rows, each with its own API `id`, same place, sometimes a
  different category). This comes from police.uk, not from processing; keep it in mind when
  de-duplicating on `persistent_id` rather than on `id`.
* Licence: police.uk, OGL v3.0.

### `policeuk/rbkc_vso_2024/YYYY-MM/YYYY-MM-metropolitan-street.csv` (9 files)

| month | rows |
|---|---|
{vso_table}
| **total** | **{_n(sum(vso.values()))}** |

* Copied byte for byte from `shared/data/policeuk/rbkc_vso_2024/YYYY-MM-metropolitan-street-rbkc-vso.csv`,
  renamed into the police.uk monthly archive layout.
* Origin: `VirginiaDooley/community-safety-dashboard`, `docs/dashboard/vso_data.csv`, commit
  `2ec84248a306eec5f835ba5c9f091782cde02277`. That author concatenated the Met monthly street
  files for January to September 2024 and kept RBKC LSOAs and the crime type
  "Violence and sexual offences". When staged, the extra pandas index column was dropped, the
  month split out, and coordinates printed to 6 decimals (as police.uk publishes them).
* **Only RBKC and only "Violence and sexual offences"**: these are not whole Met files.
  The category is **safeguarding-sensitive and must never be shown as points**; it is here for
  ingest, parser, de-duplication and aggregate tests. See the README in that folder.
* Known quirks from police.uk, kept on purpose: {_n(stats['vso_repeated_ids'])} `Crime ID`s occur more than once
  ({_n(stats['vso_repeated_id_extra_rows'])} extra rows; {_n(stats['vso_ids_across_months'])} of those IDs span more than one month), and
  {_n(stats['vso_identical_extra_rows'])} rows are exact copies of an earlier row.
  All LSOA codes are 2021 codes. Rows without coordinates: {_n(stats['vso_missing_xy'])}.
* Licence: police.uk, OGL v3.0.

### `policeuk/neighbours_api/YYYY-MM-westminster-hammersmith-fulham-police-uk-api.csv.gz` (12 files)

| month | rows | Westminster | Hammersmith & Fulham |
|---|---|---|---|
{nb_table}
| **total** | **{_n(nt['total'])}** | **{_n(nt[WESTMINSTER])}** | **{_n(nt[HAMMERSMITH_FULHAM])}** |

* Rows of `shared/data/policeuk/london_api/YYYY-MM-london-street-police-uk-api.csv.gz` whose
  `query_ward_code` is one of the {stats['neighbour_wards'][WESTMINSTER]} Westminster or
  {stats['neighbour_wards'][HAMMERSMITH_FULHAM]} Hammersmith and Fulham wards of
  `london_wards_2018.gpkg`. Columns and row order are those of the source; the gzip stream is
  written without a file name or timestamp so rebuilds are identical.
* Origin: police.uk API responses stored in `PoliceRewired/ward-level-crime-data`, commit
  `7aba7f10ec804a2b38634afc52f55bb23e23c9d9`, paths
  `2018-05 boundaries/london_month_YYYY_MM/crime_month_YYYY_MM_area_<ward>_<n>.json`, flattened and
  de-duplicated on `id` when staged. Same column layout as the RBKC 2018-06 file above.
* The borough split uses the queried ward, not the point. Because the API query is a polygon
  and points are snapped to anonymous map points, a few points lie just across a borough line:
  over the 12 months, {_n(stats['neighbour_points_other_borough'])} points fall in a different demo borough from the one
  queried ({_n(stats['neighbour_points_in_rbkc'])} of them inside RBKC) and {_n(stats['neighbour_points_outside_demo'])} fall outside all three demo boroughs.
  Assign boroughs and wards by point-in-polygon if that matters.
* The 2018-06 file shares {_n(stats['neighbour_ids_shared_with_rbkc'])} `id`s with the RBKC 2018-06 file (crimes on or near the
  RBKC boundary returned for both queries): de-duplicate on `id` when combining them.
* RBKC itself is absent from the London-wide extract (its ward codes changed in 2014), which is
  why RBKC's only all-crime point month is the separate June 2018 file.
* Licence: police.uk, OGL v3.0.

### Caveats for all police.uk data

* Locations are anonymised: each record is moved to the nearest point of a fixed national set
  of anonymous map points (street middles, stations, parks and so on), so many records share
  coordinates. The location text ("On or near ...") labels that map point; it is not an address.
* Only the month is published: there is no day and no time of day. Time-of-day analysis needs a
  council log (or the synthetic log below, clearly labelled).
* The API files were retrieved in 2018 and their outcomes are as of then; the 2024 files carry
  outcomes as of late 2024. police.uk has since revised history, so counts can differ a little
  from today's downloads.

### `mps/` (MPS recorded crime counts, wide monthly tables)

| file | rows | months |
|---|---|---|
| `{MPS_FILES[0]}` | {_n(copies['mps/' + MPS_FILES[0]])} | 2010-04 to 2024-02 |
| `{MPS_FILES[1]}` | {_n(copies['mps/' + MPS_FILES[1]])} | 2024-02 to 2026-02 (2024-02 column all zero) |
| `{MPS_FILES[2]}` | {_n(copies['mps/' + MPS_FILES[2]])} | 2024-03 to 2026-03 (2024-03 column all zero) |
| `{MPS_FILES[3]}` | {_n(copies['mps/' + MPS_FILES[3]])} | 2024-02 to 2026-02 (2024-02 column all zero) |

* Copied byte for byte from `shared/data/mps_recorded_crime/`. One row per area and
  major/minor offence group, one integer column per month (`YYYYMM`). Counts of crimes recorded
  by the MPS, not police.uk points; no ASB.
* Origins: the two ward files ending 2024-02 and 2026-02 and the LSOA file come from
  `fenneh/london-crime-data` (`data/recorded-crime-ward-historical.parquet`,
  `data/recorded-crime-ward.parquet`, `data/recorded-crime-lsoa.parquet`), commit
  `8ea9f76a519a2007f245771c6b2fe4cd631f8ada`, converted from Parquet and filtered to RBKC when
  staged. The ward file ending 2026-03 is RBKC's lines of `MPS Ward Level Crime (most recent 24
  months).csv` in `hou1020/CASA0006-coursework`, commit `2ea50d08fbe640f3c2d8b1c5cb7566ef666b6f8a`.
  Column names differ in case between the files (`wardcode` vs `WardCode`).
* **Splicing one RBKC ward series, April 2010 to March 2026:** 2010-04 to 2024-02 from the
  historical file; 2024-03 to 2026-02 from `{MPS_FILES[1]}`; 2026-03 from `{MPS_FILES[2]}`.
  Never use the all-zero first month of a rolling 24-month file (an artefact of the rolling
  window). Overlapping months of different releases differ slightly because of revisions.
* The historical ward file uses the current (2014) RBKC ward codes for all years.
* Licence: Open Government Licence v2.0 (Metropolitan Police Service, London Datastore).

### `population/`

| file | rows | what |
|---|---|---|
| `{POPULATION_FILES[0]}` | {_n(copies['population/' + POPULATION_FILES[0]])} | Census 2021 usual residents by age band per RBKC ward, **derived** |
| `{POPULATION_FILES[1]}` | {_n(copies['population/' + POPULATION_FILES[1]])} | Census 2021 TS007A, age by 5-year band, per RBKC 2021 LSOA |
| `{POPULATION_FILES[2]}` | {_n(copies['population/' + POPULATION_FILES[2]])} | English Indices of Deprivation 2019, all domains, per RBKC 2011 LSOA |
| `{POPULATION_FILES[3]}` | {_n(copies['population/' + POPULATION_FILES[3]])} | ONS mid-2020 population estimates by age, per RBKC 2011 LSOA |

* Copied byte for byte from `shared/data/population/`.
* Origins: Census 2021 TS007A (Nomis bulk file) from `hou1020/CASA0006-coursework`
  `census2021/census2021-ts007a/census2021-ts007a-lsoa.csv`, commit `2ea50d08…` as above;
  mid-2020 estimates from `jamesdamillington/london-data` `data/population/london-mid2020-pop.csv`,
  commit `5edd4529…` as above; IMD 2019 from `mpjashby/crimemappingdata`
  `inst/extdata/london_lsoa_deprivation.xlsx` (sheet "IMD 2019"), commit `d38d7fc7…` as above.
* The ward file is **derived** at staging time: LSOA counts were summed to wards with the ONS
  LSOA 2021 to ward 2025 best-fit lookup. Whole LSOAs are assigned, so ward totals are
  approximate; use them as denominators for rates, not as official ward populations.
* Licence: ONS and MHCLG data, OGL v3.0 ("Contains public sector information licensed under the
  Open Government Licence v3.0").

### `parks/{PARKS_FILE}`

* Copied byte for byte. {copies['parks/' + PARKS_FILE]} features, EPSG:4326, not clipped: Holland Park, Kensal
  Green (All Souls) Cemetery, Kensington Gardens (mostly in Westminster) and Royal Hospital
  Chelsea with Ranelagh Gardens.
* Origin: Historic England registered parks and gardens, as held in
  `WilliamShengYangHuang/AALU_Coding` `london_parks.geojson` (blob from commit
  `8073e0fac8eaf8f18056940f64ca8f0a951bd92b`), filtered when staged to features touching RBKC.
* **These are NOT the council's 37 parks and open spaces.** They are the nationally registered
  historic landscapes that touch the borough; Brompton Cemetery and most small open spaces are
  missing. The real parks layer must come from the user's own file.
* Licence: the repository states none; the attributes match Historic England's National Heritage
  List for England, published under OGL. Confirm before a public release.

### `synthetic/` (**SYNTHETIC**, not real data)

* `rbkc_council_asb_log_SYNTHETIC.csv` ({_n(stats['synthetic_rows'])} rows),
  `rbkc_council_asb_log_SYNTHETIC.mapping.yaml` and `README.md`.
* Made by `scripts/make_synthetic_council_log.py` with seed {stats['synthetic_seed']}. It imitates the shape of a
  council ASB and warden case-management export (case reference, date and time reported, case
  type, British National Grid coordinates, generic location label, team) so that time-of-day
  features can be shown. Every row has `SYNTHETIC` = `yes`. **No row describes a real incident**
  and nothing in it should be read as a finding about RBKC. Points are drawn inside the RBKC
  ward boundaries from `boundaries/wards_2018.gpkg`.
* `west_kent_cases_SYNTHETIC.csv` ({_n(stats['wk_synthetic_rows'])} rows),
  `west_kent_cases_SYNTHETIC.mapping.yaml`, `west_kent_schemes_SYNTHETIC.geojson`
  ({stats['wk_synthetic_schemes']} schemes) and `west_kent_SYNTHETIC_README.md`: a housing
  association's case log and schemes layer for West Kent, made by
  `scripts/make_synthetic_west_kent_cases.py` with seed {stats['wk_synthetic_seed']}. The case types are West Kent's
  own wording (`spatial/data/west_kent_case_mapping.yaml`, from the West Kent Community Safety
  Strategy 2018-2022 and the Community Safety Policy & Procedure), including reports that are not
  ASB under its policy. Every row and every scheme has `SYNTHETIC` = `yes`; **no row describes a
  real case, person or home and the schemes are not West Kent's stock**. What is real is the
  locations: every case sits on a real police.uk anonymous map point (`Longitude`, `Latitude`,
  `Location`) of the bundled West Kent police.uk files of 2025 (`policeuk/west_kent/`, OGL), and
  each scheme polygon surrounds such points.
"""


# --------------------------------------------------------------------------- manifest


def write_manifest(out: Path) -> int:
    entries = []
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        rel = path.relative_to(out).as_posix()
        if rel == "MANIFEST.csv":
            continue
        rows = row_count(path)
        entries.append((rel, path.stat().st_size, sha256_of(path), "" if rows is None else rows))
    entries.sort(key=lambda e: e[0])
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["path", "bytes", "sha256", "rows"])
    writer.writerows(entries)
    write_text(out / "MANIFEST.csv", buf.getvalue())
    return len(entries)


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=None, help="staged data folder (default: ../shared/data)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "data", help="output folder (default: data/)")
    args = parser.parse_args(argv)

    shared = (args.shared or default_shared()).resolve()
    out = args.out.resolve()
    if not (shared / "SOURCES.md").is_file():
        raise SystemExit(f"{shared} does not look like shared/data (no SOURCES.md)")
    if out == shared or shared in out.parents:
        raise SystemExit("--out must not be inside the shared data folder")
    print(f"shared data: {shared}\noutput:      {out}")

    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": GPKG_TIMESTAMP})

    stats: dict = {}
    clean_output(out)
    bundle_boundaries(shared, out, stats)
    bundle_policeuk(shared, out, stats)
    bundle_copies(shared, out, stats)
    bundle_west_kent(shared, out, stats)
    bundle_synthetic(out, stats)
    write_text(out / "SOURCES.md", sources_markdown(stats))
    n = write_manifest(out)
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"MANIFEST.csv: {n} files, {total / 1e6:.1f} MB in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
