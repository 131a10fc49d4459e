"""The quick start's one command, up to starting the server: bundled data loaded, a first chair account made once.

Runs ``scripts/quickstart.sh`` for real with ``HOTSPOT_HOME`` in a temporary folder (so the
database and ``first-sign-in.txt`` go there), reusing the test environment's venv
(``HOTSPOT_QUICKSTART_SKIP_INSTALL``) and stopping before ``streamlit run``
(``HOTSPOT_QUICKSTART_NO_SERVE``); the dashboard itself is tested by tests/ui.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from spatial.store import accounts, connect

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow  # the quick start's script, for real, in subprocesses


def _run(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HOTSPOT_HOME": str(home), "HOTSPOT_QUICKSTART_SKIP_INSTALL": "1",
           "HOTSPOT_QUICKSTART_NO_SERVE": "1", "PYTHON": sys.executable}
    env.pop("DATABASE_URL", None)
    return subprocess.run(["bash", str(REPO / "scripts" / "quickstart.sh"), *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=900, check=False)


def test_quickstart_loads_the_data_and_makes_one_chair_account(tmp_path):
    home = tmp_path / "home"
    first = _run(home)
    assert first.returncode == 0, first.stderr[-2000:]
    assert re.search(r"the dashboard will be on http://127\.0\.0\.1:(\d+)", first.stdout)  # 8501 or the next free
    shown = re.search(r"sign in as 'chair' with password (\S+)", first.stdout)
    assert shown, first.stdout[-2000:]
    secret = home / "first-sign-in.txt"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert f"password: {shown.group(1)}" in secret.read_text()
    engine = connect(f"sqlite:///{home / 'hotspot.sqlite'}")
    with engine.connect() as conn:
        n = conn.exec_driver_sql("SELECT count(*) FROM incidents").scalar_one()
    assert n > 100_000  # the bundled point data
    account = accounts.authenticate(engine, "chair", shown.group(1))  # raises SignInRefused otherwise
    assert account.role == "chair"
    engine.dispose()
    # a second run changes nothing: no new account, no new password
    again = _run(home)
    assert again.returncode == 0 and "accounts exist" in again.stdout
    assert "sign in as 'chair' with password" not in again.stdout
    assert f"password: {shown.group(1)}" in secret.read_text()


def test_quickstart_with_area_west_kent_loads_west_kent(tmp_path):
    """``--area west-kent`` makes West Kent the active area and loads its 23 police.uk months (48,555 rows)."""
    from spatial.area_profiles import resolve_area

    home = tmp_path / "home"
    run = _run(home, "--area", "west-kent")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "48,555 rows read = 48,555 stored" in run.stdout
    engine = connect(f"sqlite:///{home / 'hotspot.sqlite'}")
    assert resolve_area(engine).name == "west-kent"
    with engine.connect() as conn:
        months = conn.exec_driver_sql("SELECT count(DISTINCT month), count(*) FROM incidents").one()
    assert tuple(months) == (23, 48_555)
    engine.dispose()
    bad = _run(tmp_path / "other", "--area")
    assert bad.returncode != 0


def test_quickstart_refuses_a_port_in_use_before_any_work(tmp_path):
    """``--port N`` with N taken stops at once with the reason; a bad value is refused too."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        run = _run(tmp_path / "home", "--port", str(port))
    assert run.returncode != 0
    assert f"quickstart: port {port} is in use (or not a port); choose another with --port N" in run.stderr
    assert not (tmp_path / "home" / "hotspot.sqlite").exists()  # stopped before loading anything
    bad = _run(tmp_path / "home", "--port", "eighty")
    assert bad.returncode == 2 and "--port was 'eighty'; give a number" in bad.stderr
