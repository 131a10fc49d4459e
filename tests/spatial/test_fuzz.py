"""Fuzz every reader with mutated real files and random bytes, for a bounded time.

Seeds are real files (or real rows): a police.uk street CSV (the 40-row
fixture), the police.uk API flattened CSV (bundled RBKC June 2018, first 60
rows), an MPS ward table (bundled, first rows), the SYNTHETIC council log with
its mapping, the same log as GeoJSON points and as a GeoPackage.  Hypothesis
mutates their bytes (flip, delete, insert CSV-hostile bytes, duplicate or
swap lines, truncate) or replaces them with random bytes, and each result is
ingested.

The contract checked for every example: ``ingest_file`` returns a report and
never raises; a completed file reconciles (rows read = stored + duplicates +
quarantined); the store gained exactly the reported incidents and quarantine
rows; a rejected file stored nothing and left one whole-file quarantine row
naming it.  ``HOTSPOT_FUZZ_SECONDS`` (default 12) bounds the time per reader.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import time
from pathlib import Path

import _builders as B  # first: puts the repository root on sys.path
import geopandas as gpd
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from spatial.ingest import load_mapping

FUZZ_SECONDS = float(os.environ.get("HOTSPOT_FUZZ_SECONDS", "12"))
HOSTILE = [b'"', b",", b"\n", b"\r\n", b"\x00", b"\xff", b"\xef\xbb\xbf", b";", b"\t", b"{", b"}", b"[", b"]",
           b"-", b"9" * 40, b"1e309", b"NaN", "é£😀".encode(), b"\xc3", b"x" * 3000]


def _head(path: Path, lines: int) -> bytes:
    with path.open("rb") as f:
        return b"".join(f.readline() for _ in range(lines))


@functools.cache
def seeds(folder: str) -> dict[str, tuple[bytes, str, bool]]:
    """name -> (file bytes, file suffix, needs the council mapping)."""
    tmp = Path(folder)
    out = {
        "street": (B.SMALL_STREET.read_bytes(), ".csv", False),
        "api": (_head(B.API_CSV, 61), ".csv", False),
        "mps": (_head(B.DATA / "mps" / "rbkc_ward_monthly_2024-02_to_2026-02.csv", 12), ".csv", False),
        "council": (_head(B.SYNTH_CSV, 31), ".csv", True),
    }
    log = pd.read_csv(B.SYNTH_CSV, dtype=str).head(20)  # SYNTHETIC rows, labelled as such in the file
    gdf = gpd.GeoDataFrame(log.drop(columns=["Easting", "Northing"]),
                           geometry=[Point(float(e), float(n)) for e, n in zip(log["Easting"], log["Northing"],
                                                                               strict=True)], crs=27700)
    gdf["Easting"], gdf["Northing"] = log["Easting"], log["Northing"]
    gdf.to_crs(4326).to_file(tmp / "log.geojson", driver="GeoJSON")
    gdf.to_file(tmp / "log.gpkg", driver="GPKG")
    out["geojson"] = ((tmp / "log.geojson").read_bytes(), ".geojson", True)
    out["gpkg"] = ((tmp / "log.gpkg").read_bytes(), ".gpkg", True)
    return out


@st.composite
def mutated(draw, seed: bytes) -> bytes:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=2_000))  # nothing of the seed left
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "delete", "insert", "dup_line", "swap_lines", "truncate"]))
        n = len(data)
        at = draw(st.integers(0, max(n - 1, 0)))
        if op == "flip" and n:
            data[at] ^= draw(st.integers(1, 255))
        elif op == "delete" and n:
            del data[at:at + draw(st.integers(1, 64))]
        elif op == "insert":
            data[at:at] = draw(st.sampled_from(HOSTILE))
        elif op in ("dup_line", "swap_lines"):
            lines = bytes(data).split(b"\n")
            if len(lines) > 2:
                i = draw(st.integers(0, len(lines) - 1))
                j = draw(st.integers(0, len(lines) - 1))
                if op == "dup_line":
                    lines.insert(j, lines[i])
                else:
                    lines[i], lines[j] = lines[j], lines[i]
                data = bytearray(b"\n".join(lines))
        elif op == "truncate":
            del data[at:]
    return bytes(data)


@pytest.fixture(scope="module")
def fuzz_env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz")
    env = B.make_env(f"sqlite:///{tmp / 'fuzz.sqlite'}")
    mapping_yaml = B.SYNTH_MAPPING.read_text(encoding="utf-8").replace("crs: EPSG:27700", "crs: auto")
    (tmp / "mapping.yaml").write_text(mapping_yaml, encoding="utf-8")
    yield env, tmp, load_mapping(tmp / "mapping.yaml")
    env.engine.dispose()


def _counts(env: B.Env) -> tuple[int, int]:
    return env.count("incidents"), env.count("quarantine")


@pytest.mark.parametrize("reader", ["street", "api", "mps", "council", "geojson", "gpkg"])
def test_a_mutated_file_is_stored_whole_or_rejected_never_a_crash(fuzz_env, reader):
    env, tmp, mapping = fuzz_env
    seed, suffix, mapped = seeds(str(tmp))[reader]
    tried = {"n": 0}
    work = Path(tempfile.mkdtemp(dir=tmp))
    # the time budget sets the number of examples (an early return would make replays flaky)
    t0 = time.monotonic()
    probe = work / f"probe{suffix}"
    probe.write_bytes(seed)
    env.ingest(probe, mapping=mapping if mapped else None)
    examples = int(min(200, max(10, FUZZ_SECONDS / max(time.monotonic() - t0, 1e-3))))

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
    @given(data=mutated(seed))
    def run(data: bytes) -> None:
        tried["n"] += 1
        path = work / f"{reader}-{tried['n']}{suffix}"
        path.write_bytes(data)
        inc0, q0 = _counts(env)
        report = env.ingest(path, mapping=mapping if mapped else None)  # must not raise
        inc1, q1 = _counts(env)
        if report.kind == "mps-wide":  # aggregate series, not incidents: counts go to area_counts
            assert inc1 == inc0
        else:
            assert inc1 - inc0 == report.stored, (report.as_dict(), data[:300])
        if report.status == "complete":
            assert report.reconciles, report.as_dict()
            # quarantine rows are kept once per content and row (re-ingesting the same bytes adds none)
            assert env.count("quarantine", "file_sha256 = :s", s=report.sha256) == report.quarantined
            assert q1 - q0 <= report.quarantined
        else:
            assert report.status == "rejected" and report.stored == 0 and report.message
            assert str(path) in report.message or path.name in report.message, report.message
            # one whole-file row per distinct content (the same bytes rejected again are not recorded twice)
            rows = env.sql("SELECT row_number FROM quarantine WHERE file_sha256 = :s", s=report.sha256)
            assert rows["row_number"].tolist() == [0], (report.as_dict(), data[:200])
        path.unlink()

    run()
    shutil.rmtree(work, ignore_errors=True)
    assert tried["n"] >= 10, f"only {tried['n']} examples ran"


def test_mps_counts_that_are_not_whole_finite_numbers_are_quarantined(tmp_path):
    """Found by the fuzzer: "inf" and "1e309" passed the whole-number check and were cast to garbage."""
    src = B.DATA / "mps" / "rbkc_ward_monthly_2024-02_to_2026-02.csv"
    lines = _head(src, 6).decode("utf-8-sig").splitlines()
    header = lines[0].split(",")
    first_month = next(i for i, c in enumerate(header) if c.strip().isdigit() and len(c.strip()) == 6)
    bad_values = ["inf", "1e309", "1e30", "-inf", "nan"]
    rows = [lines[0]]
    for k, v in enumerate(bad_values, start=1):
        cells = lines[min(k, len(lines) - 1)].split(",")
        cells[first_month] = v
        rows.append(",".join(cells))
    path = tmp_path / "mps_bad.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    env = B.make_env(f"sqlite:///{tmp_path / 'm.sqlite'}")
    r = env.ingest(path)
    assert r.status == "complete" and r.reconciles
    q = env.quarantine(path)
    assert len(q) == len(bad_values) and q["reason"].str.contains("expected a whole number").all()
    assert env.count("area_counts", "count < 0") == 0
