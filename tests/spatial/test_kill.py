"""An ingest killed with SIGKILL in the middle of a file leaves the store consistent, and a re-run completes it.

The ingest runs in a child process over three real police.uk files (the
bundled Westminster and Hammersmith & Fulham months) with 500-row chunks.
Its progress callback, which the ingest calls inside a file's transaction
after each stored chunk, announces the first chunk of the *second* file and
then waits: the parent sends SIGKILL at that moment, so the kill lands with
rows of file 2 written but not committed, every time (no timing luck).

Afterwards, checked with plain SQL: the database passes its integrity check;
file 1 is complete and its counts match its rows; nothing of file 2 or 3 is
stored (no incident, no quarantine row, no ``ingests`` row); a re-run of the
same command completes, and the store then equals one made by an
uninterrupted run.
"""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time

import _builders as B  # first: puts the repository root on sys.path
import pandas as pd
import pytest
from sqlalchemy import text

from spatial.store import connect

FILES = sorted((B.DATA / "policeuk" / "neighbours_api").glob("*.csv.gz"))[:3]
KILL_TIMEOUT_S = 120

pytestmark = pytest.mark.slow  # ingest child processes killed and re-run

CHILD = r"""
import sys, time
import pandas as pd
from spatial.config import Settings
from spatial.ingest import ingest_paths
from spatial.ingest.pipeline import default_attributor
from spatial.store import connect

url, first_rows, *paths = sys.argv[1:]
first_rows = int(first_rows)
settings = Settings(database_url=url, chunk_rows=500)
engine = connect(url)
attributor = default_attributor(engine, settings)
done = 0

def progress(n):
    global done
    done += n
    if done > first_rows:  # inside file 2's transaction, one chunk stored
        print("KILL-ME", done, flush=True)
        time.sleep(600)

print("READY", flush=True)
ingest_paths(engine, paths, settings=settings, now=pd.Timestamp("2026-11-23", tz="Europe/London"),
             attributor=attributor, progress=progress)
print("FINISHED", flush=True)
"""


def _rows(path) -> int:
    with gzip.open(path, "rt", encoding="utf-8-sig") as f:
        return sum(1 for _ in f) - 1  # no embedded newlines in these files: checked by the ingest tests


def _kill_mid_second_file(url: str) -> int:
    first = _rows(FILES[0])
    proc = subprocess.Popen([sys.executable, "-c", CHILD, url, str(first), *map(str, FILES)], cwd=B.REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + KILL_TIMEOUT_S
    try:
        while True:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            if line.startswith("KILL-ME"):
                break
            if not line or time.monotonic() > deadline:
                pytest.fail(f"the child never reached file 2: {line!r} {proc.stderr.read()[-2000:]}")  # type: ignore[union-attr]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return first


def _snapshot(url: str) -> dict[str, pd.DataFrame]:
    engine = connect(url)
    with engine.connect() as conn:
        out = {
            "ingests": pd.DataFrame(conn.execute(text(
                "SELECT ingest_id, path, status, rows_read, stored, duplicates, quarantined FROM ingests "
                "ORDER BY ingest_id")).mappings().all()),
            "incidents": pd.DataFrame(conn.execute(text(
                "SELECT i.incident_id, i.category, i.month, i.x, i.y, i.ward_code, g.path FROM incidents i "
                "JOIN ingests g ON g.ingest_id = i.ingest_id ORDER BY i.incident_id")).mappings().all()),
            "per_ingest": pd.DataFrame(conn.execute(text(
                "SELECT g.ingest_id, "
                "(SELECT count(*) FROM incidents i WHERE i.ingest_id = g.ingest_id) AS incidents, "
                "(SELECT count(*) FROM quarantine q WHERE q.ingest_id = g.ingest_id) AS quarantine "
                "FROM ingests g ORDER BY g.ingest_id")).mappings().all()),
            "orphans": pd.DataFrame(conn.execute(text(
                "SELECT count(*) AS n FROM incidents WHERE ingest_id NOT IN (SELECT ingest_id FROM ingests)"
            )).mappings().all()),
        }
        if engine.dialect.name == "sqlite":
            out["integrity"] = pd.DataFrame(conn.exec_driver_sql("PRAGMA integrity_check").fetchall())
    engine.dispose()
    return out


def _run_cli(url: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hotspot_cli.main", "--database", url, "ingest", *map(str, FILES),
                           "--quiet"], cwd=B.REPO, capture_output=True, text=True, timeout=600, check=False)


def _reference_url(db_url: str, request: pytest.FixtureRequest) -> str:
    if db_url.startswith("sqlite"):
        return f"sqlite:///{request.getfixturevalue('tmp_path') / 'reference.sqlite'}"
    return request.getfixturevalue("pg_database_factory")()


def test_sigkill_mid_file_leaves_a_consistent_store_and_a_rerun_completes(db_url, request):
    first = _kill_mid_second_file(db_url)
    snap = _snapshot(db_url)
    if "integrity" in snap:
        assert snap["integrity"].iloc[0, 0] == "ok"
    ing = snap["ingests"]
    # exactly file 1, complete and reconciled with its own rows; nothing of files 2 and 3
    assert ing["path"].tolist() == [str(FILES[0])]
    assert ing["status"].tolist() == ["complete"]
    row = ing.iloc[0]
    assert row["rows_read"] == first
    assert row["rows_read"] == row["stored"] + row["duplicates"] + row["quarantined"]
    per = snap["per_ingest"].iloc[0]
    assert (per["incidents"], per["quarantine"]) == (row["stored"], row["quarantined"])
    assert snap["orphans"]["n"].item() == 0
    assert set(snap["incidents"]["path"]) == {str(FILES[0])}

    # the same command again finishes the job ...
    done = _run_cli(db_url)
    assert done.returncode == 0, done.stderr[-2000:]
    after = _snapshot(db_url)
    assert after["ingests"]["status"].tolist() == ["complete"] * 4
    assert after["ingests"]["path"].tolist() == [str(FILES[0]), *map(str, FILES)]
    rerun_first = after["ingests"].iloc[1]
    assert rerun_first["stored"] == 0 and rerun_first["duplicates"] + rerun_first["quarantined"] == first

    # ... and gives the store an uninterrupted run gives
    ref_url = _reference_url(db_url, request)
    assert _run_cli(ref_url).returncode == 0
    ref = _snapshot(ref_url)
    cols = ["incident_id", "category", "month", "x", "y", "ward_code", "path"]
    pd.testing.assert_frame_equal(after["incidents"][cols].reset_index(drop=True),
                                  ref["incidents"][cols].reset_index(drop=True))
