"""The fast ingest paths store exactly what a plain row-by-row insert stores.

Issue 2's throughput work changed how rows reach SQLite (columns bound in
dictionary-encoded staging tables, a scratch stage file written by a reading
thread, run-wide dictionaries of places).  These tests pin the stored result:

* a checksum of every stored incident of the bundled Westminster +
  Hammersmith & Fulham extract, computed by the ingest code as it was before
  that work (commit 698f377: row-by-row staging of 19 columns);
* the pipelined run, the one-file-at-a-time run and the legacy row-by-row
  writer give identical tables (incidents, quarantine, ingests), also with tiny
  chunks and with files that are quarantined, re-read tolerantly or rejected;
* the staging tables read back exactly what was bound, for every row count
  and for values that are easy to mangle (-0.0, NaN, None, booleans, equal ids).
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path

import _builders as B  # first: puts the repository root on sys.path
import numpy as np
import pytest

from spatial import schema as S

NEIGHBOURS = B.DATA / "policeuk" / "neighbours_api"

#: Stored incidents of ``data/policeuk/neighbours_api`` (12 files) as checksummed by
#: :func:`incidents_checksum`, computed with the ingest code before the issue 2 speed-up, then (issue 17)
#: again when WGS84 -> BNG moved from Helmert to OSTN15 and reported_by/falls_within were added: every
#: column but x, y, ward_code and lsoa_code was checked equal to the earlier store (3,636 of 94,679 rows
#: on a ward or LSOA boundary changed area with the ~3.5 m shift).  The Helmert-era value was
#: d750f32523673f63de63affb1d63972b08ddef33cf6b731f43dd47122dc4d3bc.
NEIGHBOURS_CHECKSUM = (94679, "c0c053202d12a958627bec183c1845622371c5ffbe664159327fedc91372520f")

_COLUMNS = (*S.INCIDENT_COLUMNS, "ingest_id")


def incidents_checksum(db_file: str) -> tuple[int, str]:
    """Row count and sha256 of every stored incident, in id order, values as ``repr``.

    x/y (projected by PROJ) are taken to the millimetre so that the checksum
    does not depend on the last bit of a PROJ release; every other value is
    exact (lon/lat are the file's own numbers).
    """
    con = sqlite3.connect(db_file)
    h = hashlib.sha256()
    n = 0
    for row in con.execute(f"SELECT {', '.join(_COLUMNS)} FROM incidents ORDER BY incident_id"):
        line = "\t".join(f"{v:.3f}" if c in (S.X, S.Y) else repr(v) for c, v in zip(_COLUMNS, row))
        h.update((line + "\n").encode())
        n += 1
    con.close()
    return n, h.hexdigest()


def dump(db_file: str) -> dict[str, list[tuple]]:
    """Every stored value (with its SQLite type) of the tables ingest writes."""
    con = sqlite3.connect(db_file)
    out = {}
    for table, cols, order in (
        ("incidents", _COLUMNS, "incident_id"),
        ("quarantine", ("ingest_id", "path", "file_sha256", "row_number", "field", "reason", "raw"), "quarantine_id"),
        ("ingests", ("ingest_id", "path", "file_sha256", "kind", "source", "status", "rows_read", "stored",
                     "duplicates", "quarantined", "message", "outside"), "ingest_id"),
    ):
        sel = ", ".join(f"{c}, typeof({c})" for c in cols)
        out[table] = con.execute(f"SELECT {sel} FROM {table} ORDER BY {order}").fetchall()
    con.close()
    return out


def _db_file(env: B.Env) -> str:
    return env.url.removeprefix("sqlite:///")


# --------------------------------------------------------------------------
# the bundled extract against the checksum of the code before the speed-up
# --------------------------------------------------------------------------
def test_neighbours_extract_is_stored_as_before(tmp_path):
    env = B.make_env(f"sqlite:///{tmp_path}/store.sqlite")
    reports = env.ingest_paths([NEIGHBOURS])
    assert len(reports) == 12 and all(r.status == "complete" and r.reconciles for r in reports)
    assert incidents_checksum(_db_file(env)) == NEIGHBOURS_CHECKSUM


# --------------------------------------------------------------------------
# pipelined, one file at a time and row by row give the same tables
# --------------------------------------------------------------------------
def _mixed_inputs(folder: Path) -> list[Path]:
    """Real rows plus every kind of trouble: duplicates, rows without an id, quarantine, a
    structurally broken file (tolerant re-read), an undecodable file (rejected), gzip."""
    import gzip

    header, rows = B.small_street_rows()
    h = {c: i for i, c in enumerate(header)}

    def mut(r, **kw):
        r = list(r)
        for k, v in kw.items():
            r[h[k.replace("_", " ")]] = v
        return r

    extra = [list(rows[1]), mut(rows[3], Crime_type="Robbery"), mut(rows[4], Crime_ID=""), mut(rows[4], Crime_ID=""),
             mut(rows[5], Crime_ID="", Location="On or near Caf\u00e9"), mut(rows[6], Longitude="abc"),
             mut(rows[6], Crime_ID="zz1", Month="2024-13"), mut(rows[6], Crime_ID="zz2", Crime_type="Alien abduction"),
             mut(rows[6], Crime_ID="zz3", Location="x\x00y"), mut(rows[6], Crime_ID="zz4", Context="c" * 10_001),
             mut(rows[6], Crime_ID="zz5", Longitude="-2.24", Latitude="53.48"),
             mut(rows[6], Crime_ID="zz6", Longitude="", Latitude="")]
    folder.mkdir()
    files = [B.write_csv(folder / "a_street.csv", header, rows + extra)]
    text = B.csv_text(header, rows[:12])
    lines = text.split("\r\n")
    lines[4] += ",one,too many"
    (folder / "b_broken.csv").write_text("\r\n".join(lines), encoding="utf-8")
    with gzip.open(folder / "c_again.csv.gz", "wt", encoding="utf-8", newline="") as fh:
        fh.write(B.csv_text(header, rows[10:] + [mut(r, Crime_ID="") for r in rows[:5]]))
    (folder / "d_bad_bytes.csv").write_bytes(b"Crime ID,Month\r\n\x81\x8d\x8f\x90\x9d,2024-01\r\n")
    files += sorted(folder.glob("[bcd]_*"))
    return [*files, *sorted(NEIGHBOURS.glob("*.csv.gz"))[:2]]


def _ingest_all(tmp_path: Path, name: str, how: str, monkeypatch, chunk_rows: int = 100_000) -> dict:
    import spatial.ingest.pipeline as pipeline
    import spatial.store.writer as writer

    env = B.make_env(f"sqlite:///{tmp_path}/{name}.sqlite", chunk_rows=chunk_rows)
    inputs = sorted(tmp_path.glob("in/*")) + sorted(NEIGHBOURS.glob("*.csv.gz"))[:2]
    with monkeypatch.context() as m:
        if how == "row-by-row":  # the writer before the speed-up: 19 bound columns per row
            real = writer.insert_incidents

            def legacy(conn, rows, ingest_id, **kw):
                return real(conn, rows.frame() if hasattr(rows, "frame") else rows, ingest_id, **kw)

            m.setattr(pipeline, "insert_incidents", legacy)
            m.setattr(pipeline, "PIPELINE", False)
        elif how == "one-by-one":
            m.setattr(pipeline, "PIPELINE", False)
        reports = env.ingest_paths(inputs)
    assert all(r.reconciles for r in reports if r.status == "complete")
    statuses = [r.status for r in reports]
    assert statuses.count("rejected") == 1 and statuses.count("complete") == len(inputs) - 1
    notes = [(Path(r.path).name, r.notes) for r in reports]
    return {"tables": dump(_db_file(env)), "notes": notes}


def test_every_path_stores_the_same_rows(tmp_path, monkeypatch):
    _mixed_inputs(tmp_path / "in")
    got = {how: _ingest_all(tmp_path, how, how, monkeypatch) for how in ("pipelined", "one-by-one", "row-by-row")}
    ref = got["row-by-row"]
    assert len(ref["tables"]["incidents"]) > 16_000
    assert len(ref["tables"]["quarantine"]) >= 8  # zz5 (Manchester) is outside the area: counted, not quarantined
    assert sum(r[-2] for r in ref["tables"]["ingests"]) == 1  # the `outside` column of the ingest records
    assert any("tolerant" in " ".join(n) for _, n in ref["notes"])
    for how in ("pipelined", "one-by-one"):
        for table in ("incidents", "quarantine", "ingests"):
            assert got[how]["tables"][table] == ref["tables"][table], (how, table)
        assert got[how]["notes"] == ref["notes"], how


def test_tiny_chunks_store_the_same_rows(tmp_path, monkeypatch):
    """Many chunks per file: per-file id state and the run-wide dictionaries across chunks."""
    _mixed_inputs(tmp_path / "in")
    small = _ingest_all(tmp_path, "small", "pipelined", monkeypatch, chunk_rows=997)
    ref = _ingest_all(tmp_path, "ref", "row-by-row", monkeypatch, chunk_rows=997)
    assert small == ref


def test_reingesting_after_a_pipelined_run_changes_nothing(tmp_path):
    env = B.make_env(f"sqlite:///{tmp_path}/store.sqlite")
    files = sorted(NEIGHBOURS.glob("*.csv.gz"))[:3]
    env.ingest_paths(files)
    before = dump(_db_file(env))["incidents"]
    again = env.ingest_paths(files)
    assert [(r.stored, r.duplicates, r.quarantined) for r in again] == [(0, r.rows_read, 0) for r in again]
    assert dump(_db_file(env))["incidents"] == before


# --------------------------------------------------------------------------
# a failure on the store side of a pipelined run
# --------------------------------------------------------------------------
class Boom(RuntimeError):
    """Stands in for a database failure half-way through a run."""


def test_failure_in_a_pipelined_run_keeps_earlier_files_and_stops_cleanly(tmp_path, monkeypatch):
    import spatial.ingest.pipeline as pipeline

    env = B.make_env(f"sqlite:///{tmp_path}/store.sqlite")
    files = sorted(NEIGHBOURS.glob("*.csv.gz"))[:4]
    real = pipeline.insert_incidents
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise Boom("the disk is full")
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "insert_incidents", flaky)
    with pytest.raises(Boom):
        env.ingest_paths(files)
    assert not [t for t in threading.enumerate() if t.name.startswith("hotspot-ingest")]
    done = env.sql("SELECT path, status FROM ingests")
    assert done.values.tolist() == [[str(files[0]), "complete"]]
    assert set(env.sql("SELECT DISTINCT ingest_id FROM incidents")["ingest_id"]) == {1}
    monkeypatch.undo()
    again = env.ingest_paths(files)
    assert [r.status for r in again] == ["complete"] * 4
    assert again[0].stored == 0 and all(r.stored > 0 for r in again[1:])


# --------------------------------------------------------------------------
# staging tables read back exactly what was bound
# --------------------------------------------------------------------------
def _batch(n: int, rng: np.random.Generator):
    from spatial.ingest.context import IncidentBatch

    ids = np.array([f"id{i % max(1, n - 2)}" for i in range(n)], dtype=object)  # two repeated ids
    pick = lambda values: np.array([values[i] for i in rng.integers(0, len(values), n)], dtype=object)  # noqa: E731
    floats = np.array([-0.0, 0.0, 1.5, 1e-300, 523841.971551626, np.nan], dtype=float)
    cols = {
        S.INCIDENT_ID: ids, S.SOURCE: "police.uk",
        S.SOURCE_REF: np.where(rng.random(n) < 0.7, ids, pick(["ref-a", "caf\u00e9"])).astype(object),
        S.CATEGORY: pick(["burglary", "drugs", "other-crime"]),
        S.SENSITIVE: rng.random(n) < 0.5, S.PROACTIVE: np.zeros(n, dtype=bool),
        S.OCCURRED_FROM: pick(["2024-01-01T00:00:00+00:00", "2024-02-01T00:00:00+00:00"]),
        S.OCCURRED_TO: pick(["2024-02-01T00:00:00+00:00"]), S.MONTH: pick(["2024-01"]),
        S.X: floats[rng.integers(0, len(floats), n)], S.Y: floats[rng.integers(0, 5, n)],
        S.LON: rng.random(n), S.LAT: np.full(n, 51.5),
        S.WARD_CODE: pick(["E05009388", None, np.nan]), S.LSOA_CODE: pick(["E01002868", "E01002869"]),
        S.ESTATE_ID: None, S.PARK_ID: pick([None, "p1"]),
        S.LOCATION_TEXT: pick(["On or near A", "", "\u00e9\u4e2d"]), S.OUTCOME: pick([None, "Under investigation"]),
    }
    return IncidentBatch(n, cols)


@pytest.mark.parametrize("with_dicts", [False, True])
def test_staging_round_trips_every_value(with_dicts):
    from spatial.store.writer import Dictionaries, _stage_batch

    rng = np.random.default_rng(7)
    con = sqlite3.connect(":memory:", isolation_level=None)
    dicts = Dictionaries() if with_dicts else None
    for n in [*range(1, 14), 97, 1000]:
        batch = _batch(n, rng)
        cur = con.cursor()
        staged = _stage_batch(cur, batch, schema="temp", prefix="t_", read_as="temp", dicts=dicts)
        for stmt in staged.prelude:
            cur.execute(stmt)
        for query, expected in staged.guards:
            assert cur.execute(query).fetchone()[0] == expected
        got = cur.execute(staged.select, (*staged.params, 42)).fetchall()
        # a plain row-by-row insert of the same values into a table without affinity
        cur.execute("DROP TABLE IF EXISTS temp.plain")
        cur.execute(f"CREATE TEMP TABLE plain ({', '.join(S.INCIDENT_COLUMNS)}, ingest_id)")
        cur.executemany(f"INSERT INTO plain VALUES ({', '.join('?' * (len(S.INCIDENT_COLUMNS) + 1))})", [(*r, 42) for r in batch.records()])
        want = cur.execute("SELECT * FROM plain").fetchall()
        key = lambda r: (r[0], repr(r))  # noqa: E731  (equal ids: compare as multisets)
        assert sorted(map(_typed, got), key=key) == sorted(map(_typed, want), key=key), n
        # stable: of two rows with the same id, the first in file order comes first
        first_seen = {}
        for r in want:
            first_seen.setdefault(r[0], r)
        for r in got:
            if r[0] in first_seen:
                assert _typed(r) == _typed(first_seen.pop(r[0])), n


def _typed(row: tuple) -> tuple:
    """Values with their types, floats by their bits (so -0.0 and 0.0 differ)."""
    return tuple((type(v).__name__, np.float64(v).tobytes() if isinstance(v, float) else v) for v in row)
