"""Build hook: the wheel carries what only the clone had (``pyproject.toml`` holds everything else).

``build_py`` copies the bundled data (``data/``), the offline map assets (``static/``),
the dashboard entry (``app.py``), its pages (``ui/pages/``) and the Streamlit settings
(``.streamlit/config.toml``) into the resource package ``hotspot_assets``, which
``spatial.config.bundle_root`` finds through ``importlib.resources`` once installed.
An editable install (a clone) reads them where they are and copies nothing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
#: (source in the clone, destination inside hotspot_assets/)
ASSETS = (("data", "data"), ("static", "static"), ("app.py", "app.py"), ("ui/pages", "ui/pages"),
          (".streamlit/config.toml", ".streamlit/config.toml"))


class BuildWithAssets(build_py):
    def run(self) -> None:
        if not getattr(self, "editable_mode", False):
            # start from an empty build/lib: a module renamed or deleted in the source (say a migration)
            # must not reach the wheel from an earlier build
            lib = Path(self.build_lib)
            if lib.exists():
                shutil.rmtree(lib)
        super().run()
        if getattr(self, "editable_mode", False):
            return
        dest = Path(self.build_lib) / "hotspot_assets"
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        (dest / "__init__.py").write_text('"""Bundled data, map assets and the dashboard of an installed hotspot-tasking '
                                          '(made by setup.py; see spatial.config.bundle_root)."""\n', encoding="utf-8")
        for src, dst in ASSETS:
            s, d = ROOT / src, dest / dst
            if s.is_dir():
                shutil.copytree(s, d, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                d.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(s, d)


setup(cmdclass={"build_py": BuildWithAssets})
