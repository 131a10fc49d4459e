"""Small helpers shared by the spatial tests: files, ingest runs, and reading the store back.

Expected values in the tests are computed independently of ``spatial`` (with the
csv module or pandas straight from the source files); these helpers only build
inputs and read tables, they never reuse the code under test to compute
expectations.
"""

from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, text

REPO = Path(__file__).resolve().parents[2]
# ``tests/`` is on sys.path (conftest), and ``tests/spatial`` would then shadow the
# ``spatial`` package as a namespace package unless the repository root is
# searched too (plain ``pytest`` does not put the working directory on sys.path).
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
DATA = REPO / "data"
SMALL_STREET = REPO / "tests" / "data" / "police_uk_small" / "2024-01" / "2024-01-metropolitan-street.csv"
VSO_DIR = DATA / "policeuk" / "rbkc_vso_2024"
API_CSV = DATA / "policeuk" / "rbkc_api_2018-06" / "rbkc_street_crime_2018-06_police-uk-api.csv"
SYNTH_CSV = DATA / "synthetic" / "rbkc_council_asb_log_SYNTHETIC.csv"
SYNTH_MAPPING = DATA / "synthetic" / "rbkc_council_asb_log_SYNTHETIC.mapping.yaml"
ESTATES = REPO / "tests" / "data" / "estates_HANDMADE.geojson"
PARKS = REPO / "tests" / "data" / "parks_HANDMADE.gpkg"

#: The fixed "now" of every test ingest (dates after it are in the future).
NOW = pd.Timestamp("2026-11-23", tz="Europe/London")

STREET_HEADER = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
                 "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context"]
RBKC_WARDS = frozenset(f"E05009{n}" for n in range(388, 406))  # E05009388 .. E05009405, 18 wards


def read_rows(path: Path, encoding: str = "utf-8-sig") -> tuple[list[str], list[list[str]]]:
    """Header and data records of a CSV file, read with the csv module."""
    with open(path, encoding=encoding, newline="") as fh:
        records = list(csv.reader(fh))
    return records[0], records[1:]


def small_street_rows() -> tuple[list[str], list[list[str]]]:
    """Header and the 40 real rows of the small police.uk fixture."""
    return read_rows(SMALL_STREET)


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    """CSV text written with the csv module (``\\r\\n`` line ends, minimal quoting)."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def write_csv(path: Path, header: list[str], rows: list[list[str]], *, encoding: str = "utf-8") -> Path:
    """Write ``header`` and ``rows`` to ``path`` with the csv module and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(csv_text(header, rows).encode(encoding))
    return path


@dataclass
class Env:
    """One database with its settings and attributor, ready to ingest into."""

    url: str
    engine: Engine
    settings: object
    attributor: object

    def ingest(self, path: Path | str, **kw):
        """Ingest one file (no folder walking) and return its report."""
        from spatial.ingest import ingest_file

        return ingest_file(self.engine, path, attributor=self.attributor, settings=self.settings, now=NOW, **kw)

    def ingest_paths(self, paths: list, **kw):
        from spatial.ingest import ingest_paths

        return ingest_paths(self.engine, [str(p) for p in paths], settings=self.settings, now=NOW,
                            attributor=self.attributor, **kw)

    def rebuild_attributor(self) -> None:
        from spatial.ingest.pipeline import default_attributor

        self.attributor = default_attributor(self.engine, self.settings)

    def sql(self, query: str, **params) -> pd.DataFrame:
        with self.engine.connect() as conn:
            return pd.read_sql(text(query), conn, params=params)

    def count(self, table: str, where: str = "1=1", **params) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text(f"SELECT COUNT(*) FROM {table} WHERE {where}"), params).scalar_one())

    def incidents(self, where: str = "1=1", **params) -> pd.DataFrame:
        return self.sql(f"SELECT * FROM incidents WHERE {where} ORDER BY incident_id", **params)

    def quarantine(self, path: Path | str) -> pd.DataFrame:
        return self.sql("SELECT row_number, field, reason, raw, path FROM quarantine WHERE path = :p "
                        "ORDER BY row_number", p=str(path))


def make_env(url: str, **settings_kw) -> Env:
    """Migrated database at ``url`` with the default attributor (demo boroughs' wards and LSOAs)."""
    from spatial.config import Settings
    from spatial.ingest.pipeline import default_attributor
    from spatial.store import connect

    settings = Settings(database_url=url, data_dir=DATA, **settings_kw)
    engine = connect(url)
    return Env(url, engine, settings, default_attributor(engine, settings))


def utc(ts: str, tz: str = "Europe/London") -> pd.Timestamp:
    """A local wall-clock time as a UTC timestamp."""
    return pd.Timestamp(ts).tz_localize(tz).tz_convert("UTC")


def as_utc(values) -> pd.Series:
    """Stored timestamps (ISO text in SQLite, timestamptz in PostgreSQL) as UTC timestamps."""
    s = pd.Series(values)
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.dt.tz_convert("UTC") if s.dt.tz is not None else s.dt.tz_localize("UTC")
    if len(s) and not isinstance(s.iloc[0], str):  # datetime objects from the driver
        return pd.to_datetime(s, utc=True)
    return pd.to_datetime(s, utc=True, format="ISO8601")


def distinct_street_rows() -> tuple[list[str], list[list[str]]]:
    """Header and those rows of the small police.uk fixture whose Crime ID occurs once (no duplicates)."""
    header, rows = small_street_rows()
    counts: dict[str, int] = {}
    for r in rows:
        counts[r[0]] = counts.get(r[0], 0) + 1
    return header, [r for r in rows if counts[r[0]] == 1]


def check_reconciles(env: Env, report, path: Path | str, *, incidents_before: int = 0) -> None:
    """The report's counts add up and match what the tables hold for this file."""
    assert report.rows_read == report.stored + report.duplicates + report.quarantined + report.outside, report
    assert report.reconciles
    assert env.count("incidents") - incidents_before == report.stored
    assert len(env.quarantine(path)) == report.quarantined
    if report.ingest_id is not None:  # the ingest record holds the same counts
        rec = env.sql("SELECT rows_read, stored, quarantined, outside FROM ingests WHERE ingest_id = :i",
                      i=report.ingest_id).iloc[0].tolist()
        assert rec == [report.rows_read, report.stored, report.quarantined, report.outside]
