"""The Data page (AppTest): upload and ingest, the reconciliation report, the quarantine, store status, backtest.

Uploads: the first 30 rows of the real police.uk RBKC June 2018 file, the
hand-made ``tests/data/police_uk_broken_HANDMADE.csv`` (one good row, four broken
ones; tests/data/README.md), and the first three rows of the real RBKC violence
file of January 2024 (a safeguarding-sensitive category) for suppression.
Expected counts are worked out here from the files with pandas.
"""

from __future__ import annotations

import gc
import os
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from _apptest import assert_ok as _ok
from _apptest import frame as _frame
from _apptest import open_page
from streamlit.testing.v1 import AppTest

from spatial.store import connect
from spatial.store.queries import incident_frame, quarantine_rows
from ui import data_admin, state
from ui.text import md_unescape

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
JUNE_FILE = REPO / "data" / "policeuk" / "rbkc_api_2018-06" / "rbkc_street_crime_2018-06_police-uk-api.csv"
BROKEN = REPO / "tests" / "data" / "police_uk_broken_HANDMADE.csv"
VSO = REPO / "tests" / "data" / "police_uk_small" / "2024-01" / "2024-01-metropolitan-street.csv"
PAGE = "ui/pages/data.py"


def _head(path: Path, n: int) -> bytes:
    lines = path.read_bytes().splitlines(keepends=True)
    return b"".join(lines[: n + 1])


def _page(url: str, monkeypatch: pytest.MonkeyPatch, **session: Any) -> AppTest:
    return open_page(url, PAGE, monkeypatch, timeout_s=240, **session)


def _ingest(at: AppTest, files: list[tuple[str, bytes, str]]) -> AppTest:
    at.get("file_uploader")[0].set_value(files).run()
    at.button(key=state.DATA_INGEST_BUTTON).click().run()
    _ok(at)
    return at


def test_upload_reconciles_and_quarantined_rows_are_listed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'hotspot.sqlite'}"
    at = _page(url, monkeypatch)
    assert any("The store is empty" in i.value for i in at.info)
    small = _head(JUNE_FILE, 30)
    at = _ingest(at, [("june-first-30.csv", small, "text/csv"), ("broken.csv", BROKEN.read_bytes(), "text/csv")])

    raw = pd.read_csv(JUNE_FILE, dtype=str, nrows=30)
    dup = int(raw["id"].duplicated().sum())
    report = _frame(at, "File").set_index("File")
    assert report.loc["june-first-30.csv", ["Rows read", "Stored", "Duplicates", "Quarantined"]].tolist() == [
        30, 30 - dup, dup, 0]
    # row 1 (-3.0, 51.2) is in Great Britain but outside the area: counted as outside, not quarantined
    assert report.loc["broken.csv", ["Rows read", "Stored", "Duplicates", "Quarantined", "Outside the area"]].tolist() == [
        5, 1, 0, 3, 1]
    assert set(report["Reconciles"]) == {"yes"}
    assert [s.value for s in at.success] == [
        f"Reconciled: 35 rows read = {31 - dup} stored + {dup} duplicates + 3 quarantined + 1 outside the area."]
    assert len(incident_frame(connect(url), include_sensitive=True)) == 31 - dup

    quarantine = next(d.value for d in at.dataframe if list(d.value.columns) == ["File", "Row", "Field", "Reason"])
    assert sorted(zip(quarantine["Row"], quarantine["Field"], strict=True)) == [
        (2, "latitude"), (3, "month"), (4, "category")]
    assert set(quarantine["File"]) == {"broken.csv"}
    reasons = dict(zip(quarantine["Row"], quarantine["Reason"], strict=True))
    assert reasons[3] == "month '2018-13' is not a month (expected YYYY-MM)"
    # row 1 is a violence row (sensitive) outside the area: nothing of it is kept, in the store or on the page
    assert 1 not in reasons
    assert "330228" not in quarantine_rows(connect(url))["reason"].str.cat()
    shown = "\n".join(d.value.to_csv() for d in at.dataframe)
    assert "330228" not in shown and "-3.000000" not in shown and "980000001" not in shown

    # filters: by text, then by a file with no match
    at.text_input(key=state.DATA_QUARANTINE_TEXT).input("latitude").run()
    _ok(at)
    filtered = next(d.value for d in at.dataframe if list(d.value.columns) == ["File", "Row", "Field", "Reason"])
    assert filtered["Row"].tolist() == [2]


def test_bad_files_get_clear_messages_not_tracebacks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'hotspot.sqlite'}"
    at = _page(url, monkeypatch)
    at = _ingest(at, [("cases.csv", b"Case Ref,When\n1,2026-01-01\n", "text/csv"),
                      ("cases.mapping.yaml", b"source: [unclosed\n", "application/x-yaml")])
    (error,) = [md_unescape(e.value) for e in at.error]
    assert error.startswith("cases.mapping.yaml: mapping file cases.mapping.yaml is not valid YAML")
    at = _ingest(at, [("notes.csv", b"hello,world\n1,2\n", "text/csv")])
    errors = [md_unescape(e.value) for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("notes.csv was not stored:")
    assert _frame(at, "File").loc[0, "Status"] == "rejected"
    assert incident_frame(connect(url), include_sensitive=True).empty


def test_store_status_suppresses_small_sensitive_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'hotspot.sqlite'}"
    three = _head(VSO, 3)
    assert pd.read_csv(VSO, nrows=3)["Crime ID"].nunique() == 3
    at = _page(url, monkeypatch)
    at = _ingest(at, [("2024-01-metropolitan-street.csv", three, "text/csv"),
                      ("june-first-30.csv", _head(JUNE_FILE, 30), "text/csv")])
    status = _frame(at, "Source")
    assert status.set_index("Month").loc["2024-01", "Sensitive (aggregated)"] == "fewer than 5"
    assert status.set_index("Month").loc["2024-01", "Incidents"] == "0"
    shown = "\n".join(d.value.to_csv() for d in at.dataframe)
    ids = pd.read_csv(VSO, nrows=3)["Crime ID"]
    assert not any(i in shown for i in ids)
    assert "-0.211740" not in shown  # a sensitive row's longitude
    raw = pd.read_csv(JUNE_FILE, dtype=str, nrows=30)
    june_sensitive = int(raw.drop_duplicates("id")["category"].eq("violent-crime").sum())
    expected = str(june_sensitive) if june_sensitive >= 5 or june_sensitive == 0 else "fewer than 5"
    assert status.set_index("Month").loc["2018-06", "Sensitive (aggregated)"] == expected


def test_new_pure_ui_modules_do_not_import_streamlit() -> None:
    import subprocess
    import sys

    code = ("import sys, ui.review, ui.cctv, ui.data_admin; "
            "sys.exit(1 if any(m == 'streamlit' or m.startswith('streamlit.') for m in sys.modules) else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr or "ui.review/cctv/data_admin imported streamlit"


def test_backtest_runs_on_the_neighbour_months_when_the_borough_has_too_few(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'hotspot.sqlite'}"
    at = _page(url, monkeypatch)
    at = _ingest(at, [("june.csv", JUNE_FILE.read_bytes(), "text/csv")])
    at.button(key=state.DATA_BACKTEST_BUTTON).click().run()
    _ok(at)
    (info,) = [md_unescape(i.value) for i in at.info if i.value.startswith("Backtest data:")]
    assert "Westminster and Hammersmith & Fulham, 2017-07 to 2018-06 (12 months" in info
    assert "Kensington and Chelsea has 1 month(s) with data and the backtest needs 7" in info
    table = _frame(at, "Forecaster")
    assert set(table["% of area"]) == {1, 2, 5, 10, 15, 20, 30}
    assert "boosted" in set(table["Forecaster"]) and (table["Origins"] == 6).all()
    for _, block in table.groupby("Forecaster"):
        hr = block.sort_values("% of area")["Hit rate"].to_numpy()
        assert (hr[1:] >= hr[:-1] - 1e-9).all() and 0 < hr[0] < hr[-1] <= 1
    assert at.get("arrow_line_chart") or at.get("vega_lite_chart")

    # last_period's figures, computed straight from the library on the same points and grid
    from spatial.backtest import backtest_groups
    from spatial.evaluation import summarise_backtest

    bt = data_admin.backtest_data(pd.DataFrame(), borough_outline=pd.DataFrame(), borough_name="Kensington and "
                                  "Chelsea", months=["2018-06"], data_dir=REPO / "data")
    direct = summarise_backtest(backtest_groups(bt.points, bt.grid, cell_size_m=150, methods=["last_period"],
                                                coverages=(0.05,), groups={"all": None})
                                .drop(columns=["incidents", "group"]))
    page = table[(table["Forecaster"] == "last_period") & (table["% of area"] == 5)].iloc[0]
    assert page["Hit rate"] == pytest.approx(round(float(direct["hit_rate"].iloc[0]), 3))
    assert page["PAI"] == pytest.approx(round(float(direct["pai"].iloc[0]), 3))

    # which forecaster each group uses here, with its backtest against plain counts and last month (issue 16)
    uses = [m.value for m in at.markdown if "This area uses" in m.value]
    assert uses and "for burglary" in uses[0] and "for plain counts" in uses[0] and "for last month" in uses[0]
    assert "(12 months held, 2017-07..2018-06)" in uses[0]

# --------------------------------------------------------------------------
# issue 13 item 5 through the page: a gzip bomb uploaded on the Data page
# --------------------------------------------------------------------------
STREET_HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
                 "Crime type,Last outcome category,Context\n")


def _gzip_bomb(zeros: int) -> bytes:
    """A police.uk-looking .gz: the header, then ``zeros`` NUL bytes (compressed as a stream, ~1/1000 the size)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\x00" * (1 << 20)
    parts = [comp.compress(STREET_HEADER.encode())]
    parts += [comp.compress(block) for _ in range(zeros // len(block))]
    parts.append(comp.flush())
    return b"".join(parts)


def _rss() -> int:
    """Resident memory of this process in bytes (/proc/self/statm: pages)."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_a_gzip_bomb_uploaded_on_the_data_page_is_refused_by_name_and_memory_returns(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'hotspot.sqlite'}"
    bomb = _gzip_bomb(512 << 20)  # 512 MiB of NULs
    assert len(bomb) < 1 << 20  # under 1 MB uploaded, as in the attack run
    at = _page(url, monkeypatch)
    # warm up: the same refusal on a small bomb (8 MiB) loads the ingest code, so the figures below are the bomb's
    at = _ingest(at, [("warm-up.csv.gz", _gzip_bomb(8 << 20), "application/gzip")])
    assert any("warm-up.csv.gz" in md_unescape(e.value) for e in at.error)
    gc.collect()
    before = _rss()
    tracemalloc.start()
    try:
        at = _ingest(at, [("2024-05-metropolitan-street.csv.gz", bomb, "application/gzip")])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    gc.collect()
    after = _rss()
    print(f"data-page bomb: {len(bomb):,} bytes uploaded, tracemalloc peak {peak / 2**20:.1f} MiB, "
          f"RSS {before / 2**20:.0f} -> {after / 2**20:.0f} MiB")
    errors = [md_unescape(e.value) for e in at.error]
    assert any(e.startswith("2024-05-metropolitan-street.csv.gz was not stored:") and "compression ratio" in e
               for e in errors), errors
    assert _frame(at, "File").loc[0, "Status"] == "rejected"
    assert incident_frame(connect(url), include_sensitive=True).empty
    # streamed and capped: Python allocations stay far below the 512 MiB the file would make, and the
    # process's resident memory is back within 64 MiB of where it was before the upload
    assert peak < 96 << 20, f"peak {peak / 2**20:.1f} MiB"
    assert after - before < 64 << 20, f"RSS {before / 2**20:.0f} MiB -> {after / 2**20:.0f} MiB"
