"""The forecast contract on another police force (British Transport Police), and a time-of-day profile.

British Transport Police is a separate force from the Metropolitan Police.  The bundled
police.uk API extract for Westminster and Hammersmith & Fulham holds BTP crimes at stations
(``location_type == "BTP"``); here they are rewritten as a police.uk street-level CSV, as a
BTP bulk download would look, and fed to ``hotspot-tasking forecast``.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hotspot_cli.main import main as cli_main
from spatial.config import Settings
from spatial.hotspots import time_profile
from spatial.ingest import ingest_paths, load_mapping
from spatial.ingest.pipeline import default_attributor
from spatial.projection import to_bng
from spatial.store import connect
from spatial.store.queries import incident_frame

REPO = Path(__file__).resolve().parents[3]
API_DIR = REPO / "data" / "policeuk" / "neighbours_api"
LOG = REPO / "data" / "synthetic" / "rbkc_council_asb_log_SYNTHETIC.csv"
LOG_MAPPING = REPO / "data" / "synthetic" / "rbkc_council_asb_log_SYNTHETIC.mapping.yaml"
STREET_HEADER = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
                 "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context"]
BTP = "British Transport Police"
CELL = 500.0
PROACTIVE_LABELS = {"Drugs", "Possession of weapons"}


def _street_labels() -> dict[str, str]:
    """Category slug -> its current police.uk street CSV name (the first alias listed)."""
    aliases = pd.read_csv(REPO / "spatial" / "data" / "category_aliases.csv")
    street = aliases[aliases["used_by"] == "police.uk street CSV"]
    return street.drop_duplicates("category", keep="first").set_index("category")["alias"].to_dict()


def _btp_rows(months: list[str] | None = None) -> pd.DataFrame:
    files = sorted(API_DIR.glob("*-westminster-hammersmith-fulham-police-uk-api.csv.gz"))
    if months is not None:
        files = [f for f in files if f.name[:7] in months]
    api = pd.concat([pd.read_csv(f, dtype=str) for f in files], ignore_index=True)
    api = api[api["location_type"] == "BTP"].drop_duplicates("id")
    labels = _street_labels()
    street = pd.DataFrame({
        "Crime ID": api["persistent_id"].fillna(""),
        "Month": api["month"],
        "Reported by": BTP,
        "Falls within": BTP,
        "Longitude": api["longitude"],
        "Latitude": api["latitude"],
        "Location": "", "LSOA code": "", "LSOA name": "",
        "Crime type": api["category"].map(labels),
        "Last outcome category": "", "Context": "",
    })[STREET_HEADER]
    assert street["Crime type"].notna().all()
    # shuffled, so the last row is not from the last month
    return street.sample(frac=1.0, random_state=5).reset_index(drop=True)


def _grid_csv(path: Path, street: pd.DataFrame) -> pd.DataFrame:
    x, y = to_bng(street["Longitude"].astype(float).to_numpy(), street["Latitude"].astype(float).to_numpy(), "EPSG:4326")
    c0, c1 = math.floor(x.min() / CELL) - 1, math.floor(x.max() / CELL) + 1
    r0, r1 = math.floor(y.min() / CELL) - 1, math.floor(y.max() / CELL) + 1
    rows = [[f"btp_{c}_{r}", c * CELL, r * CELL, (c + 1) * CELL, (r + 1) * CELL]
            for c in range(c0, c1 + 1) for r in range(r0, r1 + 1)]
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["cell_id", "x_min", "y_min", "x_max", "y_max"])
        w.writerows(rows)
    return pd.DataFrame(rows, columns=["cell_id", "x_min", "y_min", "x_max", "y_max"])


@pytest.mark.parametrize(("months", "target"), [
    (None, "2018-07"),  # all twelve bundled months, 2017-07..2018-06
    (["2017-09", "2017-10", "2017-11", "2017-12"], "2018-01"),  # across a year end
])
def test_forecast_contract_on_british_transport_police(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       months: list[str] | None, target: str) -> None:
    street = _btp_rows(months)
    assert (street["Reported by"] == BTP).all() and street["Month"].nunique() == (len(months) if months else 12)
    train = tmp_path / "btp_street.csv"
    street.to_csv(train, index=False)
    cells = _grid_csv(tmp_path / "grid.csv", street)
    out = tmp_path / "btp_scores.csv"

    code = cli_main(["forecast", "--train", str(train), "--grid", str(tmp_path / "grid.csv"), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 0, err

    # every grid cell exactly once, with a finite score
    scores = pd.read_csv(out, dtype={"cell_id": str})
    assert scores.columns.tolist() == ["cell_id", "score"]
    assert scores["cell_id"].is_unique and sorted(scores["cell_id"]) == sorted(cells["cell_id"])
    assert np.isfinite(scores["score"]).all()

    # the month predicted is the month after the last month in the file
    last = pd.Period(street["Month"].max(), "M")
    assert str(last + 1) == target
    m = re.search(r"forecast (\d{4}-\d{2}) with auto \([\w.]+\): (\d+) cells from (\d+) incidents over (\d+) month", err)
    assert m, err
    assert m.group(1) == target
    assert int(m.group(2)) == len(cells)
    expected_incidents = int((~street["Crime type"].isin(PROACTIVE_LABELS)).sum())
    assert int(m.group(3)) == expected_incidents
    assert int(m.group(4)) == street["Month"].nunique()

    # risk follows the stations: the busiest cell outranks every cell without a BTP crime
    x, y = to_bng(street["Longitude"].astype(float).to_numpy(), street["Latitude"].astype(float).to_numpy(), "EPSG:4326")
    ids = pd.Series([f"btp_{math.floor(a / CELL)}_{math.floor(b / CELL)}" for a, b in zip(x, y)])
    per_cell = ids[~street["Crime type"].isin(PROACTIVE_LABELS).to_numpy()].value_counts()
    s = scores.set_index("cell_id")["score"]
    empty = s.index.difference(per_cell.index)
    assert s[per_cell.idxmax()] > s[empty].max()


# --------------------------------------------------------------------------
# time-of-day profile on the synthetic council log
# --------------------------------------------------------------------------
NIGHT = [22, 23, 0, 1]  # 22:00-02:00
MIDDAY = [10, 11, 12, 13]  # 10:00-14:00


def test_noise_peaks_at_night_in_the_council_log(tmp_path: Path) -> None:
    # Expectation first, from the CSV alone: noise cases per reported hour.
    log = pd.read_csv(LOG, dtype=str)
    noise = log[log["Case Type"] == "Noise"]
    hour = noise["Time Reported"].str.slice(0, 2).astype(int)
    by_hour = hour.value_counts().reindex(range(24), fill_value=0)
    assert by_hour[NIGHT].sum() > by_hour[MIDDAY].sum()
    day = pd.to_datetime(noise["Date Reported"], format="%d/%m/%Y").dt.day_of_week
    by_day_hour = pd.crosstab(day, hour).reindex(index=range(7), columns=range(24), fill_value=0)

    # Then the product: ingest with the council mapping and profile the stored incidents.
    url = f"sqlite:///{tmp_path}/log.sqlite"
    settings = Settings(database_url=url)
    engine = connect(url)
    reports = ingest_paths(engine, [LOG], settings=settings, now=pd.Timestamp("2026-11-23", tz="Europe/London"),
                           mapping=load_mapping(LOG_MAPPING), attributor=default_attributor(engine, settings))
    assert reports[0].status == "complete" and reports[0].quarantined == 0, reports[0]
    incidents = incident_frame(engine, include_sensitive=True)
    profile = time_profile(incidents[incidents["category"] == "noise"])
    assert profile.attrs["n_used"] == len(noise) and profile.attrs["n_excluded"] == 0

    hourly = profile.sum(axis=0)
    assert hourly[NIGHT].sum() > hourly[MIDDAY].sum()
    np.testing.assert_allclose(hourly.to_numpy(), by_hour.to_numpy())
    np.testing.assert_allclose(profile.to_numpy(), by_day_hour.to_numpy())
