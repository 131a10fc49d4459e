"""The installable product: a built wheel works in a fresh venv outside the clone (issue 17 item 4).

Builds the wheel (``python -m build --wheel``), makes a venv in ``tmp_path`` *without*
system site-packages, installs the wheel (dependencies from the package index; pip reuses
its cache; ``--no-compile``), and from a folder outside the clone runs ``hotspot-tasking --help``, ``ingest
--bundled`` + ``status`` on the bundled data, and ``dashboard --port`` with HTTP checks of the
page, the health endpoint and an offline map asset.  Slow (minutes): marked ``slow``; CI runs it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _run(cmd: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"{' '.join(cmd)} exited {out.returncode}:\n{out.stdout[-4000:]}\n{out.stderr[-4000:]}"
    return out


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.status, resp.read()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(REPO)], cwd=REPO, env=dict(os.environ))
    wheels = sorted(out.glob("hotspot_tasking-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_carries_data_assets_and_dashboard(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in ("hotspot_assets/app.py", "hotspot_assets/ui/pages/overview.py",
                     "hotspot_assets/static/leaflet-1.9.3/leaflet.js", "hotspot_assets/data/MANIFEST.csv",
                     "hotspot_assets/.streamlit/config.toml", "hotspot_cli/dashboard.py", "spatial/data/categories.csv",
                     "spatial/store/migrations/env.py"):
        assert required in names, f"{required} is not in {wheel.name}"
    repo_data = {p.relative_to(REPO).as_posix() for p in (REPO / "data").rglob("*") if p.is_file()}
    in_wheel = {n.removeprefix("hotspot_assets/") for n in names if n.startswith("hotspot_assets/data/")}
    assert repo_data <= in_wheel, sorted(repo_data - in_wheel)[:10]


def test_installed_wheel_runs_outside_the_clone(wheel: Path, tmp_path: Path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(env_dir)
    py, cli = env_dir / "bin" / "python", env_dir / "bin" / "hotspot-tasking"
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "HOTSPOT_HOME", "HOTSPOT_DATA_DIR", "PYTHONPATH", "VIRTUAL_ENV")}
    env.update(HOME=str(tmp_path / "home"), PATH=f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}")
    # --no-compile: pip's byte-compiling of every installed module is half of the install (65 s against 32 s
    # here); Python compiles what the commands below import as they import it
    _run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-compile", str(wheel)],
         cwd=outside, env=env, timeout=1800)
    # the package is the installed one, not the clone
    where = _run([str(py), "-c", "import spatial, hotspot_assets; print(spatial.__file__); print(hotspot_assets.__file__)"],
                 cwd=outside, env=env).stdout
    assert str(REPO) not in where and str(env_dir) in where, where

    help_text = _run([str(cli), "--help"], cwd=outside, env=env).stdout
    assert "dashboard" in help_text and "ingest" in help_text

    ingest = _run([str(cli), "ingest", "--bundled", "--quiet"], cwd=outside, env=env, timeout=900).stdout
    assert "rows read" in ingest
    status = _run([str(cli), "status"], cwd=outside, env=env).stdout
    home_db = tmp_path / "home" / ".local" / "share" / "hotspot-tasking" / "hotspot.sqlite"
    assert home_db.is_file(), status
    stored = int(status.rsplit(" incidents stored", 1)[0].split()[-1].replace(",", ""))
    assert stored > 1000, status

    port = _free_port()
    log = tmp_path / "dashboard.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen([str(cli), "dashboard", "--port", str(port)], cwd=outside, env=env, stdout=fh,
                                stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            health = None
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    health = _get(f"http://127.0.0.1:{port}/_stcore/health")
                    break
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    time.sleep(0.5)
            assert health == (200, b"ok"), log.read_text(errors="replace")
            code, page = _get(f"http://127.0.0.1:{port}/")
            assert code == 200 and b"<div id=\"root\">" in page
            code, js = _get(f"http://127.0.0.1:{port}/app/static/leaflet-1.9.3/leaflet.js")
            assert code == 200 and b"Leaflet" in js[:2000]
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=20)
    # stopping the command stops the dashboard: nothing is left serving the port
    time.sleep(1.0)
    with pytest.raises((urllib.error.URLError, ConnectionError, TimeoutError)):
        _get(f"http://127.0.0.1:{port}/_stcore/health")
