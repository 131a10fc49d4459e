"""Bad input, one case per test: a clear reason naming file, row and field, and nothing lost.

Each file is built from real rows of the small police.uk fixture (rows whose
Crime ID occurs once, so every good row is stored) with known bad rows put at
known data-row numbers (1-based, header not counted).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import _builders as B  # first: puts the repository root on sys.path
import pytest

from spatial.ingest import load_mapping

LON, LAT, LOCATION, MONTH, CTYPE = 4, 5, 6, 1, 9


@pytest.fixture
def env(tmp_path) -> B.Env:
    return B.make_env(f"sqlite:///{tmp_path}/store.sqlite")


def build(tmp_path: Path, name: str, bad: dict[int, callable], n_rows: int = 10) -> tuple[Path, list[list[str]]]:
    """A street CSV of ``n_rows`` good rows where data row k (1-based) is changed by ``bad[k]``."""
    header, rows = B.distinct_street_rows()
    out = []
    for k, row in enumerate(rows[:n_rows], start=1):
        row = list(row)
        if k in bad:
            row = bad[k](row)
        out.append(row)
    return B.write_csv(tmp_path / name, header, out), out


def setv(index: int, value: str):
    def change(row: list[str]) -> list[str]:
        row[index] = value
        return row
    return change


def assert_quarantined(env: B.Env, report, path: Path, expected: dict[int, str], *, mention: dict[int, str] | None = None,
                       outside: int = 0):
    """Exactly the rows ``expected`` (row -> field) are quarantined, ``outside`` rows are outside the area,
    and every other row is stored."""
    assert report.status == "complete", report.message
    B.check_reconciles(env, report, path)
    q = env.quarantine(path)
    assert dict(zip(q["row_number"], q["field"])) == expected
    assert (q["path"] == str(path)).all()
    for row, text in (mention or {}).items():
        reason = q.loc[q["row_number"] == row, "reason"].iloc[0]
        assert text.lower() in reason.lower(), (row, reason)
    assert report.duplicates == 0
    assert report.outside == outside
    assert report.stored == report.rows_read - len(expected) - outside


def assert_rejected(env: B.Env, report, path: Path, *words: str) -> None:
    """The whole file is rejected: nothing stored, one row-0 quarantine entry naming the file."""
    assert report.status == "rejected"
    assert str(path) in report.message
    rest = report.message.replace(str(path), "<file>")  # the tmp path holds the test's name
    for w in words:
        assert w.lower() in rest.lower(), (w, report.message)
    assert (report.stored, report.duplicates, report.quarantined) == (0, 0, 0)
    assert env.count("incidents") == 0
    q = env.quarantine(path)
    assert q["row_number"].tolist() == [0]
    assert q["reason"][0] == report.message
    status = env.sql("SELECT status FROM ingests WHERE path = :p", p=str(path))["status"].tolist()
    assert status == ["rejected"]


# --------------------------------------------------------------------------
# whole-file problems
# --------------------------------------------------------------------------
def test_missing_required_column_is_named(env, tmp_path):
    header, rows = B.distinct_street_rows()
    keep = [i for i, c in enumerate(header) if c != "Latitude"]
    path = B.write_csv(tmp_path / "no_latitude.csv", [header[i] for i in keep], [[r[i] for i in keep] for r in rows[:5]])
    r = env.ingest(path)
    assert_rejected(env, r, path, "Latitude", "missing")


def test_missing_required_column_with_the_kind_given(env, tmp_path):
    """`--source police-uk-street` on a file without Latitude: a rejection, not a KeyError."""
    header, rows = B.distinct_street_rows()
    keep = [i for i, c in enumerate(header) if c != "Latitude"]
    path = B.write_csv(tmp_path / "no_latitude.csv", [header[i] for i in keep], [[r[i] for i in keep] for r in rows[:5]])
    r = env.ingest(path, kind="police-uk-street")
    assert_rejected(env, r, path, "Latitude", "missing")


def test_missing_mapped_columns_in_a_council_file(env, tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text("source: council\ncategory: {column: Type}\ndate: {column: Date Reported}\n"
                       "coordinates: {x: Easting, y: Northing}\n")
    path = B.write_csv(tmp_path / "council.csv", ["Type", "Easting", "Northing"],
                       [["Noise", "525540", "177906"]])
    r = env.ingest(path, mapping=load_mapping(mapping))
    assert_rejected(env, r, path, "Date Reported", "missing")


def test_empty_file(env, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    r = env.ingest(path)
    assert_rejected(env, r, path, "empty")


def test_header_only_file(env, tmp_path):
    path = B.write_csv(tmp_path / "header_only.csv", B.STREET_HEADER, [])
    r = env.ingest(path)
    assert r.status == "complete"
    assert (r.rows_read, r.stored, r.duplicates, r.quarantined) == (0, 0, 0, 0)
    assert any("no data" in n.lower() or "0 rows" in n.lower() for n in r.notes), r.notes
    assert env.count("incidents") == 0 and env.count("quarantine") == 0


def test_utf8_bom_file_ingests(env, tmp_path):
    header, rows = B.distinct_street_rows()
    path = tmp_path / "bom.csv"
    path.write_bytes(B.csv_text(header, rows[:8]).encode("utf-8-sig"))
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf"
    r = env.ingest(path)
    assert r.status == "complete", r.message
    assert (r.rows_read, r.stored, r.quarantined) == (8, 8, 0)
    B.check_reconciles(env, r, path)
    assert set(env.incidents()["incident_id"]) == {row[0] for row in rows[:8]}


def test_windows_1252_file_ingests_with_a_note(env, tmp_path):
    header, rows = B.distinct_street_rows()
    rows = [list(r) for r in rows[:6]]
    rows[1][LOCATION] = "On or near Café Square"
    rows[3][LOCATION] = "On or near £1 Shop"
    path = tmp_path / "cp1252.csv"
    path.write_bytes(B.csv_text(header, rows).encode("cp1252"))
    r = env.ingest(path)
    assert r.status == "complete", r.message
    assert (r.rows_read, r.stored, r.quarantined) == (6, 6, 0)
    assert any("windows-1252" in n.lower() for n in r.notes), r.notes
    locations = set(env.incidents()["location_text"])
    assert {"On or near Café Square", "On or near £1 Shop"} <= locations


def test_undecodable_bytes_are_rejected_with_the_line(env, tmp_path):
    header, rows = B.distinct_street_rows()
    good = B.csv_text(header, rows[:4]).encode("utf-8")
    bad_row = B.csv_text(["x"], [rows[4]]).split("\r\n", 1)[1].encode("utf-8")
    bad_row = bad_row.replace(b"On or near", b"On or near \x81\x8d")  # undefined in both UTF-8 and Windows-1252
    path = tmp_path / "binary.csv"
    path.write_bytes(good + bad_row)
    data = path.read_bytes()
    line = data[: data.index(b"\x81")].count(b"\n") + 1
    assert line == 6  # header, four rows, then the bad one
    r = env.ingest(path)
    assert_rejected(env, r, path, f"line {line}")


# --------------------------------------------------------------------------
# row-level problems
# --------------------------------------------------------------------------
def test_non_numeric_coordinates(env, tmp_path):
    path, _ = build(tmp_path, "nonnumeric.csv", {3: setv(LON, "abc"), 7: setv(LAT, "51.5x"), 8: setv(LON, "")})
    r = env.ingest(path)
    assert_quarantined(env, r, path, {3: "Longitude", 7: "Latitude", 8: "Longitude"},
                       mention={3: "Longitude", 7: "Latitude"})


def test_swapped_latitude_and_longitude(env, tmp_path):
    def swap(row):
        row[LON], row[LAT] = row[LAT], row[LON]
        return row
    path, _ = build(tmp_path, "swapped.csv", {2: swap})
    r = env.ingest(path)
    assert_quarantined(env, r, path, {2: "Longitude"}, mention={2: "swapped"})


def test_points_outside_the_area_of_interest(env, tmp_path):
    def manchester(row):
        row[LON], row[LAT] = "-2.244644", "53.483959"
        return row

    def paris(row):
        row[LON], row[LAT] = "2.352222", "48.856613"
        return row
    path, _ = build(tmp_path, "elsewhere.csv", {4: manchester, 9: paris})
    r = env.ingest(path)
    # Manchester is in Great Britain but outside the area: not bad input, counted as outside, no text kept
    assert_quarantined(env, r, path, {9: "Longitude"}, outside=1, mention={9: "outside great britain"})
    assert r.outside == 1
    assert "Manchester" not in env.sql("SELECT COALESCE(raw, '') AS raw FROM quarantine")["raw"].str.cat()
    assert env.count("quarantine", "path = :p AND row_number = 4", p=str(path)) == 0


def test_impossible_months(env, tmp_path):
    path, _ = build(tmp_path, "months.csv", {1: setv(MONTH, "2024-13"), 2: setv(MONTH, "2026-12"),
                                              5: setv(MONTH, "2024-1"), 6: setv(MONTH, ""),
                                              10: setv(MONTH, "1999-01")})
    r = env.ingest(path)
    assert_quarantined(env, r, path, {1: "Month", 2: "Month", 5: "Month", 6: "Month", 10: "Month"},
                       mention={1: "2024-13", 2: "future", 5: "2024-1", 10: "1999-01"})


def test_unknown_crime_type(env, tmp_path):
    path, _ = build(tmp_path, "ctype.csv", {5: setv(CTYPE, "Jaywalking")})
    r = env.ingest(path)
    assert_quarantined(env, r, path, {5: "Crime type"}, mention={5: "Jaywalking"})


def test_impossible_dates_in_a_council_file(env, tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text("source: council\nid_column: Ref\ncategory: {column: Type}\n"
                       "date: {column: Date, time_column: Time}\ncoordinates: {x: Easting, y: Northing}\n")
    rows = [["R1", "14/07/2026", "10:00"], ["R2", "31/02/2026", "10:00"], ["R3", "01/12/2026", "10:00"],
            ["R4", "14/07/2026", "24:30"], ["R5", "not a date", "10:00"], ["R6", "29/02/2024", "23:59"]]
    path = B.write_csv(tmp_path / "council.csv", ["Ref", "Date", "Time", "Type", "Easting", "Northing"],
                       [r + ["Noise", "525540", "177906"] for r in rows])
    r = env.ingest(path, mapping=load_mapping(mapping))
    assert_quarantined(env, r, path, {2: "Date", 3: "Date", 4: "Time", 5: "Date"},
                       mention={2: "31/02/2026", 3: "future", 4: "24:30", 5: "not a date"})
    assert set(env.incidents()["source_ref"]) == {"R1", "R6"}


def test_a_50_mb_field(tmp_path):
    """Written without ever holding 50 MB in this process; ingested in a child to measure its memory."""
    header, rows = B.distinct_street_rows()
    size = 50 * 1024 * 1024
    path = tmp_path / "huge_field.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(B.csv_text(header, rows[:2]))
        fh.write(",".join(rows[2][:LOCATION]) + ",")
        block = "x" * (1024 * 1024)
        for _ in range(size // len(block)):
            fh.write(block)
        fh.write("," + ",".join(rows[2][LOCATION + 1:]) + "\r\n")
        fh.write(B.csv_text(["h"], [rows[3]]).split("\r\n", 1)[1])
    script = textwrap.dedent(f"""
        import json, resource, sys
        sys.path.insert(0, {str(Path(B.__file__).parent)!r})
        import _builders as B
        env = B.make_env("sqlite:///{tmp_path}/store.sqlite")
        env.ingest(B.SMALL_STREET)  # warm up imports and caches
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        r = env.ingest({str(path)!r})
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        q = env.quarantine({str(path)!r})
        print(json.dumps({{"report": r.as_dict(), "peak_growth_kb": peak - before,
                          "q": [[int(a), b, c, len(d or "")] for a, b, c, d in
                                zip(q.row_number, q.field, q.reason, q.raw)]}}))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          cwd=B.REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    rep = out["report"]
    assert rep["status"] == "complete"
    assert (rep["rows_read"], rep["quarantined"]) == (4, 1)
    assert rep["reconciles"]
    (row, field, reason, raw_len) = out["q"][0]
    assert (row, field) == (3, "Location")
    assert str(size) in re.sub(r"[,_\s]", "", reason), reason
    assert raw_len <= 10_000  # the stored raw text is cut, not 50 MB
    # The csv module holds a field as 4-byte characters while parsing, so a few copies are
    # unavoidable; 20x the field (1 GB) would mean something is copying far too much.
    assert out["peak_growth_kb"] * 1024 < 20 * size, f"peak memory grew by {out['peak_growth_kb'] / 1024:.0f} MB"


def test_a_row_with_too_many_fields(env, tmp_path):
    path, _ = build(tmp_path, "too_many.csv", {6: lambda row: row + ["surplus", "more"]})
    r = env.ingest(path)
    assert_quarantined(env, r, path, {6: "(row)"}, mention={6: "14"})


def test_a_row_with_too_few_fields(env, tmp_path):
    path, _ = build(tmp_path, "too_few.csv", {4: lambda row: row[:8]})
    r = env.ingest(path)
    assert_quarantined(env, r, path, {4: "(row)"}, mention={4: "field"})


def test_a_row_with_too_few_fields_in_the_first_row(env, tmp_path):
    path, _ = build(tmp_path, "too_few_first.csv", {1: lambda row: row[:11]})
    r = env.ingest(path)
    assert_quarantined(env, r, path, {1: "(row)"}, mention={1: "field"})


def test_valid_row_sharing_a_crime_id_with_a_quarantined_row_is_stored(env, tmp_path):
    """A row is a duplicate only of a row that was kept; the first copy here is bad, the second good."""
    header, rows = B.distinct_street_rows()
    bad = list(rows[0])
    bad[LON] = "not a number"
    path = B.write_csv(tmp_path / "bad_then_good.csv", header, [bad, rows[0], rows[1]])
    r = env.ingest(path)
    assert r.status == "complete"
    B.check_reconciles(env, r, path)
    assert dict(zip(env.quarantine(path)["row_number"], env.quarantine(path)["field"])) == {1: "Longitude"}
    assert set(env.incidents()["incident_id"]) == {rows[0][0], rows[1][0]}
    assert (r.stored, r.duplicates, r.quarantined) == (2, 0, 1)


# --------------------------------------------------------------------------
# one file, one transaction
# --------------------------------------------------------------------------
class Boom(RuntimeError):
    """Stands in for a database failure half-way through a file."""


def test_failure_mid_file_leaves_nothing_of_that_file(tmp_path, monkeypatch):
    import spatial.ingest.pipeline as pipeline
    import spatial.store.writer as writer

    env = B.make_env(f"sqlite:///{tmp_path}/store.sqlite", chunk_rows=10)
    first = env.ingest(B.VSO_DIR / "2024-09" / "2024-09-metropolitan-street.csv")  # another file: must survive
    before = env.count("incidents")
    # 30 rows: two bad ones in the first chunk, so quarantine rows are written before the failure
    path, _ = build(tmp_path, "fails.csv", {2: setv(LON, "abc"), 5: setv(MONTH, "2024-13")}, n_rows=30)
    header, rows = B.distinct_street_rows()
    assert len(rows) >= 30

    real = writer.insert_incidents
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise Boom("the disk is full")
        return real(*args, **kwargs)

    monkeypatch.setattr(writer, "insert_incidents", flaky)
    if hasattr(pipeline, "insert_incidents"):
        monkeypatch.setattr(pipeline, "insert_incidents", flaky)
    new_ids = {r[0] for r in rows[:30]}
    assert not new_ids & set(env.incidents()["incident_id"])
    try:
        report = env.ingest(path)
    except Boom:
        report = None
    assert calls["n"] >= 2, "the test did not reach the second chunk"
    if report is not None:
        assert report.status != "complete"
    assert env.count("incidents") == before
    assert env.count("quarantine", "path = :p", p=str(path)) == 0
    assert env.count("ingests", "path = :p AND status = 'complete'", p=str(path)) == 0

    monkeypatch.undo()
    again = env.ingest(path)
    assert again.status == "complete", again.message
    assert (again.rows_read, again.quarantined) == (30, 2)
    B.check_reconciles(env, again, path, incidents_before=before)
    assert again.stored == len(new_ids - {rows[1][0], rows[4][0]})
    assert first.status == "complete"
