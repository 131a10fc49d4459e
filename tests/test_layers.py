"""Imports run downwards only: hotspot_cli -> ui -> tasking -> spatial, and the CLI is a thin top layer.

Read from the source (every ``import`` statement, at module level or inside a function), so a
lazy import that runs upward fails here too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: Which top-level packages each package may import from the house.
ALLOWED = {
    "spatial": {"spatial"},
    "tasking": {"spatial", "tasking"},
    "ui": {"spatial", "tasking", "ui"},
    "hotspot_cli": {"spatial", "tasking", "hotspot_cli"},
}
HOUSE = set(ALLOWED)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in the file (relative imports resolved)."""
    package = list(path.relative_to(REPO).with_suffix("").parts[:-1])
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.append((node.lineno, mod))
            out += [(node.lineno, f"{mod}.{a.name}") for a in node.names if not node.module]
    return out


def _files(pkg: str) -> list[Path]:
    return [p for p in (REPO / pkg).rglob("*.py") if "migrations" not in p.parts]


@pytest.mark.parametrize("pkg", sorted(ALLOWED))
def test_no_package_imports_upward(pkg):
    bad = []
    for path in _files(pkg):
        for line, mod in _imports(path):
            top = mod.split(".")[0]
            if top in HOUSE and top not in ALLOWED[pkg]:
                bad.append(f"{path.relative_to(REPO)}:{line} imports {mod}")
    assert not bad, "\n".join(bad)
    assert _files(pkg), f"no modules found in {pkg}/"


def test_only_ui_imports_streamlit():
    bad = [f"{p.relative_to(REPO)}:{line}" for pkg in ("spatial", "tasking", "hotspot_cli") for p in _files(pkg)
           for line, mod in _imports(p) if mod.split(".")[0] in ("streamlit", "streamlit_folium")]
    assert not bad, bad


def test_the_pipelines_live_outside_the_command_line():
    # the dashboard and the benchmarks call the application layer, never a CLI module
    users = [*_files("ui"), *(REPO / "bench").glob("*.py")]
    bad = [f"{p.relative_to(REPO)}:{line} imports {mod}" for p in users for line, mod in _imports(p)
           if mod.startswith("hotspot_cli") and not mod.startswith("hotspot_cli.main")]
    assert not bad, "\n".join(bad)
    # a command module reaches another command module only through hotspot_cli.main's parser
    for path in _files("hotspot_cli"):
        if path.name in ("main.py", "__init__.py"):
            continue
        others = [mod for _line, mod in _imports(path)  # shared options are not a command module
                  if mod.startswith("hotspot_cli") and mod != "hotspot_cli.options"]
        assert not others, f"{path.name} imports {others}"
    assert not (REPO / "spatial" / "cli.py").exists() and not list((REPO / "tasking").glob("cli_*.py"))


def test_no_private_name_is_imported_across_modules():
    # the application layer and its callers (spatial's subpackages still share a few helpers inside spatial)
    bad = []
    for pkg in ("tasking", "ui", "hotspot_cli"):
        for path in _files(pkg):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0] in HOUSE):
                    bad += [f"{path.relative_to(REPO)}:{node.lineno} {node.module}.{a.name}" for a in node.names
                            if a.name.startswith("_") and a.name != "__version__"
                            and not (node.module or "").endswith("_errors")]
    assert not bad, "\n".join(bad)


def test_allocation_and_greedy_do_not_import_each_other():
    greedy = {mod for _l, mod in _imports(REPO / "tasking" / "greedy.py")}
    problem = {mod for _l, mod in _imports(REPO / "tasking" / "problem.py")}
    assert "tasking.allocation" not in greedy and not any(m.startswith("tasking.allocation") for m in greedy)
    assert not any(m.startswith(("tasking.allocation", "tasking.greedy")) for m in problem)
    assert "tasking.problem" in greedy


def test_no_page_writes_sql_and_every_page_starts_from_the_page_context():
    # issue 12 item 4: pages call the service object (ui/service.py); the store is read in tasking/, spatial/
    pages = sorted((REPO / "ui" / "pages").glob("*.py"))
    assert len(pages) == 9  # with the Schemes page (issue 14 item 4)
    bad, no_context = [], []
    for path in pages:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
        for n in calls:
            name = n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", "")
            if name in ("text", "select", "execute", "read_sql", "connect"):
                bad.append(f"{path.name}:{n.lineno} {name}(")
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
        if "sqlalchemy" in {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}:
            bad.append(f"{path.name}: imports sqlalchemy")
        if not any(isinstance(n.func, ast.Attribute) and n.func.attr == "page_context" for n in calls) \
                or "service" not in imported:
            no_context.append(path.name)
        if any(isinstance(n.func, ast.Attribute) and n.func.attr in ("engine", "data_version", "database_key")
               and isinstance(n.func.value, ast.Name) and n.func.value.id == "cached" for n in calls):
            bad.append(f"{path.name}: opens the engine itself (the preamble lives in ui.service.page_context)")
    assert not bad, "\n".join(bad)
    assert not no_context, no_context
