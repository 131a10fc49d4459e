"""The house style is enforced, not hoped for: ruff (pyflakes + import order) over the repository and
mypy over the computation layers, with the settings in ``pyproject.toml``.

A finding fails the test with the tool's own report, so the fix is to mend the code (or, where a rule
is wrong for a line, to say so on that line) rather than to relax the configuration.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    """The tool installed beside this interpreter (the test extras install both)."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: `pip install -e .[test]` installs it")
    return found


def test_ruff_finds_nothing() -> None:
    res = subprocess.run([_tool("ruff"), "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, f"ruff check found problems:\n{res.stdout}\n{res.stderr}"


def test_mypy_finds_nothing_in_spatial_and_tasking() -> None:
    res = subprocess.run([_tool("mypy")], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, f"mypy found problems:\n{res.stdout}\n{res.stderr}"
    assert "Success" in res.stdout, res.stdout


def test_style_settings_cover_the_layers() -> None:
    """The configuration checks what the house says it checks (a narrowed config would pass vacuously)."""
    import tomllib

    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert set(cfg["tool"]["mypy"]["files"]) == {"spatial", "tasking"}
    assert {"F", "I"} <= set(cfg["tool"]["ruff"]["lint"]["select"])
    assert cfg["tool"]["mypy"]["warn_unused_ignores"] is True
