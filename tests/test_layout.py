"""Repository layout: packaging, import hygiene, bundled data size, licences and labels."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"

_IMPORT_ALL = r"""
import importlib, json, pkgutil, sys
names = []
for pkg_name in ("spatial", "tasking"):
    pkg = importlib.import_module(pkg_name)
    names.append(pkg_name)
    for info in pkgutil.walk_packages(pkg.__path__, pkg_name + "."):
        importlib.import_module(info.name)
        names.append(info.name)
loaded = sorted(m for m in sys.modules if m == "streamlit" or m.startswith("streamlit."))
files = {n: getattr(sys.modules[n], "__file__", None) for n in ("spatial", "tasking")}
print(json.dumps({"modules": names, "streamlit": loaded, "files": files}))
"""


def test_spatial_and_tasking_never_import_streamlit():
    proc = subprocess.run([sys.executable, "-c", _IMPORT_ALL], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    # the walk really found the packages in this repository
    assert Path(out["files"]["spatial"]).resolve() == (REPO / "spatial" / "__init__.py").resolve()
    assert Path(out["files"]["tasking"]).resolve() == (REPO / "tasking" / "__init__.py").resolve()
    expected = {p.relative_to(REPO).with_suffix("").as_posix().replace("/", ".").removesuffix(".__init__")
                for pkg in ("spatial", "tasking") for p in (REPO / pkg).rglob("*.py")
                if "migrations" not in p.parts}
    assert expected <= set(out["modules"]), expected - set(out["modules"])
    assert out["streamlit"] == [], f"importing spatial/tasking loaded {out['streamlit']}"


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def test_pyproject_declares_console_script_and_python(pyproject):
    project = pyproject["project"]
    assert project["name"] == "hotspot-tasking"
    assert project["scripts"]["hotspot-tasking"] == "hotspot_cli.main:main"
    from packaging.specifiers import SpecifierSet

    spec = SpecifierSet(project["requires-python"])
    assert "3.11" in spec and "3.12" in spec and "3.13" in spec
    assert "3.10" not in spec
    assert sys.version_info >= (3, 11)
    includes = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    assert any(i.startswith("spatial") for i in includes) and any(i.startswith("tasking") for i in includes)
    assert any(i.startswith("hotspot_cli") for i in includes)
    # the taxonomy files and migrations ship with the package
    package_data = pyproject["tool"]["setuptools"]["package-data"]["spatial"]
    assert "data/*" in package_data and any("migrations" in p for p in package_data)


def test_bundled_data_is_under_40_mb():
    total = sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file())
    assert total < 40 * 1024 * 1024, f"data/ holds {total / 1e6:.1f} MB"


def test_sources_give_attribution_and_licence():
    text = (DATA / "SOURCES.md").read_text(encoding="utf-8")
    assert "Open Government Licence" in text
    for source in ("police.uk", "MPS", "Office for National Statistics", "Historic England"):
        assert source in text, source


def test_manifest_lists_every_bundled_file():
    with open(DATA / "MANIFEST.csv", encoding="utf-8", newline="") as fh:
        manifest = {r["path"]: r for r in csv.DictReader(fh)}
    on_disk = {p.relative_to(DATA).as_posix() for p in DATA.rglob("*") if p.is_file()} - {"MANIFEST.csv"}
    assert set(manifest) == on_disk
    for rel, rec in manifest.items():
        data = (DATA / rel).read_bytes()
        assert int(rec["bytes"]) == len(data), rel
        assert rec["sha256"] == hashlib.sha256(data).hexdigest(), rel


def test_synthetic_data_lives_under_data_synthetic_and_says_so():
    synthetic_dir = DATA / "synthetic"
    readme = (synthetic_dir / "README.md").read_text(encoding="utf-8")
    assert "SYNTHETIC" in readme
    # anything named synthetic is in data/synthetic/
    named = [p for p in DATA.rglob("*") if p.is_file() and "synthetic" in p.name.lower()]
    assert named and all(synthetic_dir in p.parents for p in named), named
    # every data file in data/synthetic/ says SYNTHETIC in its name
    for p in synthetic_dir.iterdir():
        if p.name != "README.md":
            assert "SYNTHETIC" in p.name, p
    # every row of the synthetic CSVs is flagged, and no CSV elsewhere carries the flag column
    for p in DATA.rglob("*.csv"):
        with open(p, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            if "SYNTHETIC" in (reader.fieldnames or []):
                assert synthetic_dir in p.parents, p
                assert {r["SYNTHETIC"] for r in reader} == {"yes"}, p
            else:
                assert synthetic_dir not in p.parents, f"{p} has no SYNTHETIC column"


def test_hand_made_test_fixtures_are_labelled():
    fixtures = REPO / "tests" / "data"
    readme = (fixtures / "README.md").read_text(encoding="utf-8")
    for p in fixtures.rglob("*"):
        if not p.is_file() or p.name == "README.md":
            continue
        rel = p.relative_to(fixtures).as_posix()
        if rel.startswith("police_uk_small/"):
            assert "real data" in readme.lower()
            continue
        labelled_dir = next((part for part in p.relative_to(fixtures).parts[:-1] if "HANDMADE" in part), None)
        if labelled_dir is not None and "HANDMADE" not in p.name:  # a folder keeping police.uk's file names
            assert f"`{labelled_dir}/`" in readme, p  # the README says what in it is hand-made
            continue
        assert "HANDMADE" in p.name, p
        assert p.name in readme, p
