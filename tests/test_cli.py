"""The ``hotspot-tasking`` command line: ingest, status, quarantine, layers, db."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "spatial"))
import _builders as B  # noqa: E402  (first: puts the repository root on sys.path)
import pytest  # noqa: E402

from hotspot_cli.main import main  # noqa: E402


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def no_traceback(*texts: str) -> None:
    for t in texts:
        assert "Traceback" not in t, t


def small_counts() -> tuple[int, int, int]:
    """Rows, stored and duplicates of the 40-row fixture, from the csv module (one category only)."""
    _h, rows = B.small_street_rows()
    distinct = len({r[0] for r in rows})
    return len(rows), distinct, len(rows) - distinct


def bad_rows_file(tmp_path: Path) -> tuple[Path, dict[int, str]]:
    header, rows = B.distinct_street_rows()
    rows = [list(r) for r in rows[:6]]
    rows[1][4] = "abc"        # data row 2: Longitude
    rows[4][1] = "2024-13"    # data row 5: Month
    return B.write_csv(tmp_path / "2024-01-bad.csv", header, rows), {2: "Longitude", 5: "Month"}


@pytest.fixture
def url(tmp_path) -> str:
    return f"sqlite:///{tmp_path}/cli.sqlite"


def test_ingest_prints_the_reconciliation(url, capsys):
    code, out, err = run(capsys, "--database", url, "ingest", str(B.SMALL_STREET), "--quiet")
    assert code == 0, err
    no_traceback(out, err)
    read, stored, dup = small_counts()
    line = [ln for ln in out.splitlines() if "rows read" in ln]
    assert len(line) == 1, out
    numbers = [int(n.replace(",", "")) for n in re.findall(r"\d[\d,]*", line[0])]
    assert numbers == [read, stored, dup, 0], line[0]
    assert B.SMALL_STREET.name in out


def test_ingest_report_fits_a_terminal_and_verbose_shows_everything(url, tmp_path, capsys):
    """The table names files, not full paths, and fits 110 columns; ``--verbose`` adds seconds and reconciles."""
    bad, _ = bad_rows_file(tmp_path)
    code, out, err = run(capsys, "--database", url, "ingest", str(B.SMALL_STREET), str(bad), "--quiet")
    assert code == 0, err
    assert max(len(ln) for ln in out.splitlines()) <= 110, out
    header = next(ln for ln in out.splitlines() if ln.strip().startswith("file"))
    assert header.split() == ["file", "kind", "status", "read", "stored", "duplicates", "quarantined"]
    assert str(B.SMALL_STREET.parent) not in out and B.SMALL_STREET.name in out and bad.name in out
    assert "Every file reconciles (read = stored + duplicates + quarantined + outside the area)." in out
    code, out, err = run(capsys, "--database", f"sqlite:///{tmp_path}/v.sqlite", "ingest", str(B.SMALL_STREET),
                         "--quiet", "--verbose")
    assert code == 0, err
    header = next(ln for ln in out.splitlines() if ln.strip().startswith("file"))
    assert header.split()[-3:] == ["outside", "reconciles", "seconds"] and "Every file reconciles" not in out


def test_ingest_json_report(url, capsys):
    code, out, _err = run(capsys, "--database", url, "ingest", str(B.SMALL_STREET), "--json", "--quiet")
    assert code == 0
    (rep,) = json.loads(out)
    read, stored, dup = small_counts()
    assert (rep["rows_read"], rep["stored"], rep["duplicates"], rep["quarantined"]) == (read, stored, dup, 0)
    assert rep["reconciles"] is True and rep["status"] == "complete"


def test_status_lists_counts_and_quarantine_size(url, tmp_path, capsys):
    bad, expected_q = bad_rows_file(tmp_path)
    assert run(capsys, "--database", url, "ingest", str(B.SMALL_STREET), "--quiet")[0] == 0
    assert run(capsys, "--database", url, "ingest", str(bad), "--quiet")[0] == 0
    code, out, err = run(capsys, "--database", url, "status")
    assert code == 0, err
    no_traceback(out, err)
    env = B.make_env(url)
    total = env.count("incidents")
    for title in ("source", "month", "category", "ward"):
        assert re.search(rf"^By {title}\b", out, re.M | re.I), (title, out)
    lines = out.splitlines()

    def line_with(*words: str) -> str:
        hits = [ln for ln in lines if all(w in ln.split() for w in words)]
        assert hits, (words, out)
        return hits[0]

    assert line_with("police.uk", str(total))
    assert line_with("2024-01", str(total))
    assert line_with("violent-crime", str(total))
    wards = env.sql("SELECT ward_code, COUNT(*) AS n FROM incidents GROUP BY ward_code")
    for code_, n in zip(wards["ward_code"], wards["n"]):
        assert line_with(code_, str(n))
    assert re.search(rf"\b{len(expected_q)} rows in quarantine", out), out
    assert str(bad) in out


def test_quarantine_lists_file_row_field_reason(url, tmp_path, capsys):
    bad, expected_q = bad_rows_file(tmp_path)
    assert run(capsys, "--database", url, "ingest", str(bad), "--quiet")[0] == 0
    code, out, err = run(capsys, "--database", url, "quarantine")
    assert code == 0, err
    for row, field in expected_q.items():
        hits = [ln for ln in out.splitlines() if str(bad) in ln and re.search(rf"\s{row}\s+{field}\s", ln)]
        assert hits, (row, field, out)
    assert "not a number" in out and "2024-13" in out
    # the CSV form has the same rows with their columns
    code, out, _ = run(capsys, "--database", url, "quarantine", "--csv")
    assert code == 0
    import csv
    import io
    recs = list(csv.DictReader(io.StringIO(out)))
    assert {(int(r["row_number"]), r["field"]) for r in recs} == set(expected_q.items())
    assert all(r["path"] == str(bad) and r["reason"] for r in recs)


def test_bad_file_fails_cleanly(url, tmp_path, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    code, out, err = run(capsys, "--database", url, "ingest", str(empty), "--quiet")
    assert code != 0
    no_traceback(out, err)
    assert str(empty) in err and "empty" in err.lower()


def test_missing_path_fails_cleanly(url, tmp_path, capsys):
    missing = tmp_path / "nowhere.csv"
    code, out, err = run(capsys, "--database", url, "ingest", str(missing), "--quiet")
    assert code != 0
    no_traceback(out, err)
    assert str(missing) in err


def test_forced_source_on_a_file_without_latitude_fails_cleanly(url, tmp_path, capsys):
    header, rows = B.distinct_street_rows()
    keep = [i for i, c in enumerate(header) if c != "Latitude"]
    path = B.write_csv(tmp_path / "no_lat.csv", [header[i] for i in keep], [[r[i] for i in keep] for r in rows[:3]])
    code, out, err = run(capsys, "--database", url, "ingest", str(path), "--source", "police-uk-street", "--quiet")
    assert code != 0
    no_traceback(out, err)
    assert str(path) in err and "Latitude" in err


def test_layers_command_stores_estates(url, capsys):
    code, out, err = run(capsys, "--database", url, "layers", "estates", str(B.ESTATES), "--id-column", "estate_id",
                         "--name-column", "estate_name")
    assert code == 0, err
    assert "3" in out and "estates" in out
    env = B.make_env(url)
    stored = env.sql("SELECT area_id, name FROM area_layers WHERE layer = 'estates' ORDER BY area_id")
    import geopandas as gpd
    src = gpd.read_file(B.ESTATES).sort_values("estate_id")
    assert stored["area_id"].tolist() == src["estate_id"].tolist()
    assert stored["name"].tolist() == src["estate_name"].tolist()


def test_layers_command_with_a_wrong_column_fails_cleanly(url, capsys):
    code, out, err = run(capsys, "--database", url, "layers", "parks", str(B.PARKS), "--id-column", "no_such_column")
    assert code != 0
    no_traceback(out, err)
    assert "no_such_column" in err and str(B.PARKS) in err


def test_db_revision_prints_the_head(url, capsys):
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(B.REPO / "spatial" / "store" / "migrations"))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert run(capsys, "--database", url, "db", "init")[0] == 0
    code, out, err = run(capsys, "--database", url, "db", "revision")
    assert code == 0, err
    assert re.search(rf"revision {re.escape(head)}\b", out), out
    assert re.search(rf"newest {re.escape(head)}\b", out), out


def test_console_script_is_installed(tmp_path):
    exe = Path(sys.executable).parent / "hotspot-tasking"
    assert exe.exists(), "pip install -e . should install the hotspot-tasking console script"
    proc = subprocess.run([str(exe), "--database", f"sqlite:///{tmp_path}/c.sqlite", "db", "revision"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "revision" in proc.stdout and "Traceback" not in proc.stderr
