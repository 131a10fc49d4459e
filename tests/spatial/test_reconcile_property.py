"""Property: for any police.uk-shaped CSV, every row written is stored, a duplicate or quarantined.

Hypothesis builds files from real rows of the small police.uk fixture mixed with
rows carrying garbage (any unicode, quotes, commas, newlines), empty fields,
repeated rows, random or empty Crime IDs, and rows with too many or too few
fields.  Files are written with the csv module, so "rows written" is the number
of records the csv module wrote.  Each example uses a fresh SQLite database.
"""

from __future__ import annotations

import csv
import functools
import tempfile
from pathlib import Path

import _builders as B  # first: puts the repository root on sys.path
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from spatial.config import Settings
from spatial.ingest import ingest_file
from spatial.ingest.pipeline import default_attributor
from spatial.store import connect

HEADER, REAL = B.small_street_rows()
NCOLS = len(HEADER)

# Any character a UTF-8 file can hold (no lone surrogates), with CSV-hostile ones made likely.
_chars = st.characters(blacklist_categories=("Cs",))
garbage = st.one_of(
    st.text(_chars, max_size=12),
    st.text(st.sampled_from(list(',"\n\r\t ;\'\\\x00\ufeff\u2028') + ["é", "£", "😀", "0", "9", ".", "-"]), max_size=8),
    st.sampled_from(["", " ", "NaN", "nan", "inf", "-inf", "1e309", "null", "None", "2024-13", "2026-12", "0",
                     "-0.2", "51.5", "999999", "Violence and sexual offences", "Drugs", "\"", "\"\"", ",", "\n"]),
)


#: (field index, value) pairs that always get a row quarantined.
SURELY_INVALID = [(4, "abc"), (5, ""), (1, "2024-13"), (9, "Jaywalking"), (4, "-20.5")]
#: A longitude in Great Britain but outside the area (Manchester): not bad input, counted as outside.
ELSEWHERE = (4, "-2.244644")


@st.composite
def a_row(draw) -> list[str]:
    base = list(draw(st.sampled_from(REAL)))
    kind = draw(st.sampled_from(["valid", "valid", "valid", "garbage", "empty", "crime-id", "wide", "narrow"]))
    if kind == "garbage":
        for i in draw(st.lists(st.integers(0, NCOLS - 1), min_size=1, max_size=4)):
            base[i] = draw(garbage)
    elif kind == "empty":
        for i in draw(st.lists(st.integers(0, NCOLS - 1), min_size=1, max_size=NCOLS)):
            base[i] = ""
    elif kind == "crime-id":
        base[0] = draw(st.one_of(st.just(""), st.text("0123456789abcdef", min_size=1, max_size=64), garbage))
    elif kind == "wide":
        base += draw(st.lists(garbage, min_size=1, max_size=3))
    elif kind == "narrow":
        base = base[: draw(st.integers(1, NCOLS - 1))]
        if base == [""]:
            base = ["x"]  # a lone empty field is a blank line, which is no record at all
    return base


@st.composite
def a_file(draw) -> list[list[str]]:
    rows = draw(st.lists(a_row(), min_size=0, max_size=40))
    if rows:  # repeat some rows anywhere (before or after): exact, with garbage, or surely invalid
        for _ in range(draw(st.integers(0, 6))):
            copy = list(rows[draw(st.integers(0, len(rows) - 1))])
            how = draw(st.sampled_from(["exact", "garbage", "invalid", "elsewhere"]))
            if how == "garbage" and len(copy) > 1:
                copy[draw(st.integers(1, len(copy) - 1))] = draw(garbage)
            elif how == "invalid" and len(copy) == NCOLS:
                i, bad = draw(st.sampled_from(SURELY_INVALID))
                copy[i] = bad
            elif how == "elsewhere" and len(copy) == NCOLS:
                copy[ELSEWHERE[0]] = ELSEWHERE[1]
            rows.insert(draw(st.integers(0, len(rows))), copy)
    return rows


@functools.cache
def attributor():
    """Wards and LSOAs of the demo boroughs, built once (no estates or parks)."""
    return default_attributor(None, Settings(database_url="sqlite://", data_dir=B.DATA))


def _ingest(tmp: str, rows: list[list[str]], chunk_rows: int):
    path = Path(tmp) / "2024-01-metropolitan-street.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerows(rows)
    # the file really holds len(rows) records
    with open(path, encoding="utf-8", newline="") as fh:
        assert sum(1 for _ in csv.reader(fh)) == len(rows) + 1
    url = f"sqlite:///{tmp}/store.sqlite"
    engine = connect(url)
    settings_ = Settings(database_url=url, data_dir=B.DATA, chunk_rows=chunk_rows)
    report = ingest_file(engine, path, attributor=attributor(), settings=settings_, now=B.NOW)
    return path, B.Env(url, engine, settings_, attributor()), report


_SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@settings(max_examples=60, **_SETTINGS)
@given(rows=a_file(), chunk_rows=st.sampled_from([1, 3, 7, 100_000]))
def test_every_row_is_stored_duplicate_or_quarantined(rows, chunk_rows):
    with tempfile.TemporaryDirectory() as tmp:
        path, env, report = _ingest(tmp, rows, chunk_rows)
        try:
            assert report.status == "complete", report.message
            assert report.rows_read == len(rows)
            assert report.stored + report.duplicates + report.quarantined + report.outside == len(rows)
            assert report.reconciles
            assert env.count("incidents") == report.stored
            assert env.count("quarantine") == report.quarantined
            # a well-formed row in Manchester (real latitude) is outside the area: neither stored nor quarantined
            lats = {r[5] for r in REAL}
            elsewhere = {i for i, r in enumerate(rows, start=1)
                         if len(r) == NCOLS and r[4] == ELSEWHERE[1] and r[5] in lats}
            assert report.outside >= len(elsewhere)
            assert not elsewhere & set(env.quarantine(path)["row_number"])
            q = env.quarantine(path)
            assert q["row_number"].between(1, len(rows)).all() and q["row_number"].is_unique
            # rows of the wrong width are always among the quarantined
            wrong_width = {i for i, r in enumerate(rows, start=1) if len(r) != NCOLS}
            assert wrong_width <= set(q["row_number"])
            # an untouched real row whose Crime ID appears nowhere else is always stored
            ids = [r[0] for r in rows]
            lonely = {r[0] for r in rows if r in REAL and ids.count(r[0]) == 1}
            assert lonely <= set(env.incidents()["incident_id"])
        finally:
            env.engine.dispose()


def _spoilt(row: list[str]) -> list[str]:
    row = list(row)
    row[4] = "abc"
    return row


@settings(max_examples=40, **_SETTINGS)
@given(rows=a_file(), chunk_rows=st.sampled_from([1, 7, 100_000]))
@example(rows=[_spoilt(REAL[0]), list(REAL[0])], chunk_rows=100_000)
def test_a_valid_row_is_never_lost(rows, chunk_rows):
    """Every untouched real row is stored, or is a duplicate of a row with its Crime ID that was stored."""
    with tempfile.TemporaryDirectory() as tmp:
        _path, env, report = _ingest(tmp, rows, chunk_rows)
        try:
            assert report.status == "complete", report.message
            stored_base_ids = set(env.incidents()["incident_id"].str.split("/").str[0])
            lost = [i for i, r in enumerate(rows, start=1) if r in REAL and r[0] not in stored_base_ids]
            assert not lost, f"valid rows {lost} were neither stored nor duplicates of a stored row"
        finally:
            env.engine.dispose()
