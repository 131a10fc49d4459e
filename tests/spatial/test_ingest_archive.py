"""The whole police.uk archive folder: street, outcomes and stop-and-search files (issue 17 item 2).

Fixture: ``tests/data/police_uk_archive_HANDMADE`` (street rows are real police.uk rows from the small
extract; outcomes and stop-and-search rows are hand-made with the real column headers; see
tests/data/README.md).  Run on SQLite and on PostgreSQL (``db_url``).
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import _builders as B  # first: puts the repository root on sys.path
import pytest

from hotspot_cli.main import main as cli_main

ARCHIVE = Path(__file__).resolve().parents[1] / "data" / "police_uk_archive_HANDMADE"
STREET_1 = ARCHIVE / "2024-01" / "2024-01-metropolitan-street.csv"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def env(db_url: str) -> B.Env:
    return B.make_env(db_url)


def test_archive_folder_ingests_every_file_and_reconciles(env):
    reports = env.ingest_paths([ARCHIVE])
    by_name = {Path(r.path).name: r for r in reports}
    assert len(reports) == 5 and all(r.status == "complete" and r.reconciles for r in reports), \
        [(r.path, r.status, r.message) for r in reports]
    kinds = {name: r.kind for name, r in by_name.items()}
    assert kinds["2024-01-metropolitan-outcomes.csv"] == "police-uk-outcomes"
    assert kinds["2024-01-metropolitan-stop-and-search.csv"] == "police-uk-stop-search"
    assert all(r.transformation and "OSTN15" in r.transformation for r in reports)

    out1 = by_name["2024-01-metropolitan-outcomes.csv"]
    # 5 rows: 2 stored, 1 listed twice (duplicate), 1 without a Crime ID (quarantined), 1 in Manchester (outside)
    assert (out1.rows_read, out1.stored, out1.duplicates, out1.quarantined, out1.outside) == (5, 2, 1, 1, 1)
    q = env.quarantine(out1.path)
    assert q["row_number"].tolist() == [4] and q["field"].tolist() == ["Crime ID"]
    out3 = by_name["2024-03-metropolitan-outcomes.csv"]
    assert (out3.rows_read, out3.stored, out3.quarantined) == (2, 1, 1)
    assert env.quarantine(out3.path)["field"].tolist() == ["Month"]

    ss = by_name["2024-01-metropolitan-stop-and-search.csv"]
    # 5 rows: 3 stored (one without a location), 1 bad Date (quarantined), 1 in Manchester (outside)
    assert (ss.rows_read, ss.stored, ss.duplicates, ss.quarantined, ss.outside) == (5, 3, 0, 1, 1)
    assert env.quarantine(ss.path)[["row_number", "field"]].values.tolist() == [[4, "Date"]]
    stored = env.sql("SELECT * FROM stop_searches ORDER BY searched_at")
    assert len(stored) == 3 and set(stored["force"]) == {"metropolitan"}
    assert stored["x"].isna().tolist() == [False, True, False]  # the search without a location has no place
    assert stored.loc[0, "ward_code"] is not None and stored.loc[0, "month"] == "2024-01"
    assert env.count("incidents", "incident_id IN (SELECT search_id FROM stop_searches)") == 0


def test_outcomes_update_last_outcome_latest_month_wins_history_kept(env):
    env.ingest_paths([ARCHIVE])
    street = _rows(STREET_1)
    a, b, c = (street[i]["Crime ID"] for i in range(3))
    inc = env.incidents().set_index("incident_id")
    # crime a: outcome 2024-01 then 2024-03 -> the 2024-03 one; crime b: 2024-01's; crime c: untouched (bad month)
    assert inc.loc[a, "outcome"] == "Offender given a caution"
    assert inc.loc[b, "outcome"] == "Suspect charged"
    assert inc.loc[c, "outcome"] == street[2]["Last outcome category"]
    hist = env.sql("SELECT month, outcome_type FROM outcomes WHERE crime_id = :c ORDER BY month", c=a)
    assert hist.values.tolist() == [["2024-01", "Investigation complete; no suspect identified"],
                                    ["2024-03", "Offender given a caution"]]
    # re-ingesting the archive changes nothing and stores nothing twice
    again = env.ingest_paths([ARCHIVE])
    assert all(r.status == "complete" and r.reconciles and r.stored == 0 for r in again)
    assert env.count("outcomes") == 3 and env.count("stop_searches") == 3


def test_reported_by_and_falls_within_are_stored(env):
    env.ingest(STREET_1)
    inc = env.incidents()
    assert set(inc["reported_by"]) == {"Metropolitan Police Service"}
    assert set(inc["falls_within"]) == {"Metropolitan Police Service"}


def test_re_released_street_month_updates_the_outcome(env, tmp_path):
    first = env.ingest(STREET_1)
    assert first.stored == 6
    rows = _rows(STREET_1)
    rows[0]["Last outcome category"] = "Court result unavailable"
    newer = tmp_path / "2024-01" / "2024-01-metropolitan-street.csv"
    B.write_csv(newer, list(rows[0]), [list(r.values()) for r in rows])
    rep = env.ingest(newer)
    assert rep.status == "complete" and rep.reconciles and (rep.stored, rep.duplicates) == (0, 6)
    assert any("took this release's Last outcome category" in n for n in rep.notes), rep.notes
    inc = env.incidents().set_index("incident_id")
    assert inc.loc[rows[0]["Crime ID"], "outcome"] == "Court result unavailable"
    assert inc.loc[rows[1]["Crime ID"], "outcome"] == rows[1]["Last outcome category"]
    assert len(inc) == 6


def test_cli_ingests_the_archive_with_exit_0_and_status_reports_the_missing_month(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    folder = tmp_path / "archive"
    shutil.copytree(ARCHIVE, folder)
    assert cli_main(["--database", url, "ingest", str(folder), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "Coordinates: WGS84 -> British National Grid by OSTN15" in out
    assert cli_main(["--database", url, "status"]) == 0
    out = capsys.readouterr().out
    assert "GAP Metropolitan Police Service: no street data for 2024-02" in out
    assert "Stop and search" in out and "Outcomes: 3 outcome rows for 2 crimes" in out
