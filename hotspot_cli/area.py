"""``hotspot-tasking area`` (list, create, use) and ``hotspot-tasking roster init``.

An area is data (:mod:`spatial.area_profiles`): ``area create`` reads a ward
file and an LSOA file (and optionally districts, population and a roster),
stores the profile and its polygons in the database and writes a starter
roster when none is given; ``area use`` makes it the active area, which
``ingest`` (its area of interest) and ``status`` then use unless ``--area``
names another.  ``roster init`` makes a starter roster (one patrol officer
per ward) for an existing area.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hotspot_cli.options import add_area_option

__all__ = ["add_parser", "run", "run_roster"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``area`` and ``roster`` to the top-level parser."""
    p = sub.add_parser("area", help="the area covered: list, create from your boundary files, use")
    actions = p.add_subparsers(dest="area_action", required=True)
    actions.add_parser("list", help="bundled and created areas (the active one marked *)")

    c = actions.add_parser("create", help="create an area from ONS-style ward and LSOA boundary files")
    c.add_argument("name", help="short name, lower-case letters, digits and hyphens (e.g. my-borough)")
    c.add_argument("--wards", required=True, help="ward polygons (GeoPackage, GeoJSON, Shapefile, GeoParquet)")
    c.add_argument("--lsoas", required=True, help="LSOA polygons (2021 or 2011)")
    c.add_argument("--districts", help="district/borough outlines (default: the wards dissolved by their authority code)")
    c.add_argument("--population", help="CSV of population (and homes) by LSOA")
    c.add_argument("--roster", help="your roster YAML (default: a starter roster, one patrol officer per ward)")
    c.add_argument("--label", help="name shown to people (default: the districts' names)")
    c.add_argument("--district-code", action="append", metavar="GSS",
                   help="keep only this district's wards and LSOAs (repeat for several), e.g. E09000020")
    c.add_argument("--police-force", action="append", metavar="SLUG", help="police.uk force slug(s), e.g. kent")
    c.add_argument("--extra-sensitive", action="append", metavar="SLUG", help="category also treated as sensitive")
    c.add_argument("--retention-months", type=int, help="retention period of the area's records, whole months")
    c.add_argument("--not-asb-policy", metavar="TEXT",
                   help="your policy that says which reports are not ASB, cited wherever they are counted apart "
                        "(e.g. \"ASB Policy 2024, section 4\")")
    c.add_argument("--use", action="store_true", help="make it the active area")
    c.add_argument("--replace", action="store_true", help="replace a created area of the same name")
    for layer in ("ward", "lsoa"):
        c.add_argument(f"--{layer}-code-column", help=f"{layer} code column (default: detected, e.g. "
                       + ("GSS_CODE, WDyyCD" if layer == "ward" else "LSOA21CD, LSOA11CD") + ")")
        c.add_argument(f"--{layer}-name-column", help=f"{layer} name column (default: detected)")
        c.add_argument(f"--{layer}-district-column", help=f"authority code column of the {layer} file "
                       "(default: detected, e.g. LAGSSCODE, LADyyCD)")
        c.add_argument(f"--{layer}-vintage", help="vintage label, e.g. \"2013 wards\" (default: from the columns or file name)")
    c.add_argument("--district-code-column", help="code column of the district file (default: detected)")
    c.add_argument("--district-name-column", help="name column of the district file (default: detected)")
    c.add_argument("--population-code-column", help="LSOA code column of the population CSV (default: detected)")
    c.add_argument("--population-column", help="population column of the population CSV (default: detected)")

    u = actions.add_parser("use", help="make an area the active one (every command and page uses it)")
    u.add_argument("name")
    p.set_defaults(func=run)

    r = sub.add_parser("roster", help="rosters: init writes a starter roster for an area")
    ra = r.add_subparsers(dest="roster_action", required=True)
    i = ra.add_parser("init", help="a starter roster for an area: one patrol officer per ward, every number an assumption")
    add_area_option(i)
    i.add_argument("--out", help="also write it to this YAML file")
    i.add_argument("--force", action="store_true", help="replace the area's stored roster or an existing --out file")
    r.set_defaults(func=run_roster)


def _engine(args: argparse.Namespace):
    from spatial.config import settings_from_args
    from spatial.store import connect

    settings = settings_from_args(args)
    return connect(settings.database_url), settings


def run(args: argparse.Namespace) -> int:
    """Run ``area list|create|use``."""
    if args.area_action == "list":
        return _list(args)
    if args.area_action == "create":
        return _create(args)
    return _use(args)


def _list(args: argparse.Namespace) -> int:
    from spatial.area_profiles import list_areas

    engine, _ = _engine(args)
    print(f"{'':2}{'name':<22}{'kind':<9}{'districts':<11}{'wards':<16}{'LSOAs':<12}label")
    for profile, active in list_areas(engine):
        print(f"{'*' if active else ' ':2}{profile.name:<22}{'bundled' if profile.bundled else 'created':<9}"
              f"{len(profile.districts):<11}{profile.ward_vintage:<16}{profile.lsoa_vintage:<12}{profile.label}")
    print("\n* the active area (change it with: hotspot-tasking area use NAME)")
    return 0


def _starter(profile_label: str, layers) -> str:
    from tasking.roster_template import starter_roster_yaml

    wards = layers.wards.sort_values(["borough_code", "ward_code"])
    return starter_roster_yaml(profile_label, str(layers.districts["borough_code"].iloc[0]),
                               list(zip(wards["ward_code"], wards["ward_name"])))


def _check_roster(text: str, where: str) -> None:
    import yaml

    from tasking.resources import roster_from_mapping

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        from spatial._errors import HotspotError

        msg = f"roster {where} is not valid YAML: {exc}"
        raise HotspotError(msg) from exc
    roster_from_mapping(data if isinstance(data, dict) else {}, where=where)


def _create(args: argparse.Namespace) -> int:
    from spatial.area_profiles import (
        AreaProfile,
        District,
        read_area_layers,
        save_area,
        use_area,
        valid_area_name,
    )

    name = valid_area_name(args.name)
    engine, _ = _engine(args)
    layers, ward_vintage, lsoa_vintage = read_area_layers(
        args.wards, args.lsoas, districts=args.districts, population=args.population,
        only_districts=args.district_code, ward_code_column=args.ward_code_column,
        ward_name_column=args.ward_name_column, ward_district_column=args.ward_district_column,
        lsoa_code_column=args.lsoa_code_column, lsoa_name_column=args.lsoa_name_column,
        lsoa_district_column=args.lsoa_district_column, district_code_column=args.district_code_column,
        district_name_column=args.district_name_column, population_code_column=args.population_code_column,
        population_column=args.population_column, ward_vintage=args.ward_vintage, lsoa_vintage=args.lsoa_vintage)
    districts = tuple(District(str(c), str(n)) for c, n in zip(layers.districts["borough_code"],
                                                                layers.districts["borough_name"]))
    label = args.label or ", ".join(d.name for d in districts)
    if args.roster:
        path = Path(args.roster)
        if not path.is_file():
            from spatial._errors import HotspotError

            msg = f"roster file {path} not found"
            raise HotspotError(msg)
        roster_text = path.read_text(encoding="utf-8")
        _check_roster(roster_text, path.name)
        roster_note = f"roster from {path}"
    else:
        roster_text = _starter(label, layers)
        _check_roster(roster_text, "starter roster")
        roster_note = (f"starter roster: one patrol officer per ward ({len(layers.wards)}), every number an assumption "
                       f"(export it with: hotspot-tasking roster init --area {name} --out FILE)")
    profile = AreaProfile(name=name, label=label, districts=districts, ward_vintage=ward_vintage,
                          lsoa_vintage=lsoa_vintage, police_forces=tuple(args.police_force or ()),
                          roster_yaml=roster_text, extra_sensitive=tuple(args.extra_sensitive or ()),
                          retention_months=args.retention_months, not_asb_policy=args.not_asb_policy)
    save_area(engine, profile, layers, replace=args.replace)
    pop = layers.lsoas["population"]
    print(f"area {name!r} created: {label}")
    print(f"  {len(districts)} district(s): {', '.join(f'{d.code} {d.name}' for d in districts)}")
    print(f"  {len(layers.wards)} wards ({ward_vintage}), {len(layers.lsoas)} LSOAs ({lsoa_vintage})")
    print(f"  population: {int(pop.sum()):,} in {int(pop.notna().sum())} LSOAs" if pop.notna().any()
          else "  population: none given (rates per 1,000 residents need --population)")
    print(f"  {roster_note}")
    if args.use:
        use_area(engine, name)
        print("  now the active area")
    else:
        print(f"  make it the active area with: hotspot-tasking area use {name}")
    return 0


def _use(args: argparse.Namespace) -> int:
    from spatial.area_profiles import use_area

    engine, _ = _engine(args)
    profile = use_area(engine, args.name)
    print(f"active area: {profile.name} ({profile.label}; {profile.ward_vintage}, {profile.lsoa_vintage})")
    return 0


def run_roster(args: argparse.Namespace) -> int:
    """Run ``roster init``: a starter roster for the area, stored with a created area and/or written to --out."""
    from spatial._errors import HotspotError
    from spatial.area_profiles import area_layers, resolve_area, store_roster

    engine, settings = _engine(args)
    profile = resolve_area(engine, args.area)
    out = Path(args.out) if args.out else None
    if out is not None and out.exists() and not args.force:
        msg = f"{out} exists; give --force to replace it"
        raise HotspotError(msg)
    if profile.roster_path and out is None:
        msg = (f"area {profile.name!r} has its roster in a file ({profile.roster_path}); give --out FILE for a "
               "starter roster to edit, and pass it with --roster FILE")
        raise HotspotError(msg)
    if profile.roster_yaml and out is None and not args.force:
        msg = (f"area {profile.name!r} already has a roster; give --force to replace it with a starter roster, "
               "or --out FILE to write a starter roster to a file")
        raise HotspotError(msg)
    layers = area_layers(engine, profile, data_dir=settings.data_dir)
    text = _starter(profile.label, layers)
    _check_roster(text, "starter roster")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        print(f"starter roster for {profile.name} written to {out}: {len(layers.wards)} patrol officers "
              "(one per ward); every number is marked STARTER ASSUMPTION: replace them with your own")
    if not profile.roster_path and (args.force or not profile.roster_yaml):
        store_roster(engine, profile.name, text)
        print(f"starter roster stored with area {profile.name} ({len(layers.wards)} patrol officers); "
              f"allocate --area {profile.name} and the dashboard use it")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(0)
