"""The benchmark contract: ``hotspot-tasking forecast`` on a small real police.uk street file."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hotspot_cli.forecast import add_parsers, run_forecast
from spatial._errors import IngestError
from spatial.backtest import read_grid
from spatial.projection import to_bng

REPO = Path(__file__).resolve().parents[3]
API_DIR = REPO / "data" / "policeuk" / "neighbours_api"
MONTHS = ["2017-07", "2017-08", "2017-09", "2017-10", "2017-11", "2017-12"]
STREET_HEADER = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
                 "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context"]
CELL = 150.0
# A 1.8 km x 1.5 km box over the West End (Westminster), aligned to the 150 m grid.
X0, Y0, NX, NY = 528_900.0, 180_300.0, 12, 10


def _street_labels() -> dict[str, str]:
    aliases = pd.read_csv(REPO / "spatial" / "data" / "category_aliases.csv")
    street = aliases[aliases["used_by"] == "police.uk street CSV"]
    return dict(zip(street["category"], street["alias"]))


@pytest.fixture(scope="module")
def train_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Westminster rows of the bundled API extract in police.uk street format."""
    labels = _street_labels()
    frames = [pd.read_csv(API_DIR / f"{m}-westminster-hammersmith-fulham-police-uk-api.csv.gz", dtype=str)
              for m in MONTHS]
    api = pd.concat(frames, ignore_index=True)
    westminster = api["query_ward_code"].between("E05000630", "E05000649")
    api = api[westminster]
    x, y = to_bng(api["longitude"].astype(float).to_numpy(), api["latitude"].astype(float).to_numpy(), "EPSG:4326")
    # Mostly the box, plus a few rows outside it (quarantined: outside every grid cell).
    inside = (x >= X0) & (x < X0 + NX * CELL) & (y >= Y0) & (y < Y0 + NY * CELL)
    keep = inside | (np.arange(len(api)) % 200 == 0)
    api = api[keep]
    street = pd.DataFrame({
        "Crime ID": api["persistent_id"].fillna(""),
        "Month": api["month"],
        "Reported by": "Metropolitan Police Service",
        "Falls within": "Metropolitan Police Service",
        "Longitude": api["longitude"],
        "Latitude": api["latitude"],
        "Location": api["street_name"].fillna(""),
        "LSOA code": "", "LSOA name": "",
        "Crime type": api["category"].map(labels),
        "Last outcome category": "", "Context": "",
    })[STREET_HEADER]
    assert street["Crime type"].notna().all()
    path = tmp_path_factory.mktemp("train") / "westminster_street.csv"
    street.to_csv(path, index=False)
    return path


def _write_grid(path: Path, rows: list[list[object]] | None = None) -> Path:
    if rows is None:
        rows = [[f"r{j:02d}c{i:02d}", X0 + i * CELL, Y0 + j * CELL, X0 + (i + 1) * CELL, Y0 + (j + 1) * CELL]
                for j in range(NY) for i in range(NX)]
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["cell_id", "x_min", "y_min", "x_max", "y_max"])
        w.writerows(rows)
    return path


def _args(**kw: object) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="hotspot-tasking")
    add_parsers(parser.add_subparsers(dest="command"))
    argv = ["forecast", "--train", str(kw["train"]), "--grid", str(kw["grid"]), "--out", str(kw["out"])]
    if "method" in kw:
        argv += ["--method", str(kw["method"])]
    return parser.parse_args(argv)


def test_forecast_cli_scores_every_cell(train_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    grid = _write_grid(tmp_path / "grid.csv")
    out = tmp_path / "out" / "scores.csv"
    assert run_forecast(_args(train=train_csv, grid=grid, out=out)) == 0
    err = capsys.readouterr().err
    # The default is the selection on the training file itself (issue 16); the message names the choice.
    assert "forecast 2018-01 with auto (" in err and "This area uses" in err
    assert "drugs" in err and "quarantined" in err
    scores = pd.read_csv(out, dtype={"cell_id": str})
    assert scores.columns.tolist() == ["cell_id", "score"]
    cells = pd.read_csv(grid, dtype={"cell_id": str})["cell_id"]
    assert sorted(scores["cell_id"]) == sorted(cells) and scores["cell_id"].is_unique
    assert np.isfinite(scores["score"]).all()

    # Training incidents per cell (non-proactive), counted independently of the CLI.
    train = pd.read_csv(train_csv)
    train = train[~train["Crime type"].isin(["Drugs", "Possession of weapons"])]
    x, y = to_bng(train["Longitude"].to_numpy(float), train["Latitude"].to_numpy(float), "EPSG:4326")
    i = np.floor((x - X0) / CELL).astype(int)
    j = np.floor((y - Y0) / CELL).astype(int)
    ok = (i >= 0) & (i < NX) & (j >= 0) & (j < NY)
    ids = pd.Series([f"r{b:02d}c{a:02d}" for a, b in zip(i[ok], j[ok])])
    per_cell = ids.value_counts().reindex(cells, fill_value=0)
    s = scores.set_index("cell_id")["score"]
    busy = per_cell[per_cell >= per_cell.quantile(0.9)].index
    empty = per_cell[per_cell == 0].index
    assert len(busy) and len(empty)
    assert s[busy].min() > s[empty].max()


@pytest.mark.parametrize("method", ["last_period", "prospective"])
def test_forecast_cli_other_methods(train_csv: Path, tmp_path: Path, method: str) -> None:
    grid = _write_grid(tmp_path / "grid.csv")
    out = tmp_path / "scores.csv"
    assert run_forecast(_args(train=train_csv, grid=grid, out=out, method=method)) == 0
    assert len(pd.read_csv(out)) == NX * NY


@pytest.mark.parametrize(("rows", "header", "pattern"), [
    (None, "cell_id,x_min,y_min,x_max", r"missing column\(s\) \['y_max'\]"),
    ([["a", 1, 2, 3, 4], ["a", 5, 6, 7, 8]], None, r"line 3, field cell_id: duplicate cell id 'a'"),
    ([["a", 529000, 180000, "abc", 180150]], None, r"line 2, field x_max: 'abc' is not a number"),
    ([["a", 529000, 180000, 528000, 180150]], None, r"line 2, field x_max: x_max .* must be greater"),
    ([["a", -0.14, 51.51, -0.13, 51.52]], None, r"line 2|degrees.*EPSG:27700"),
])
def test_malformed_grid_gives_a_clean_error(train_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            rows: list | None, header: str | None, pattern: str) -> None:
    grid = tmp_path / "bad_grid.csv"
    if header is not None:
        grid.write_text(header + "\nr1,1,2,3\n")
    else:
        _write_grid(grid, rows)
    status = run_forecast(_args(train=train_csv, grid=grid, out=tmp_path / "o.csv"))
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err and str(grid) in err
    with pytest.raises(IngestError, match=pattern):
        read_grid(grid)
    assert not (tmp_path / "o.csv").exists()


def test_malformed_training_file_gives_a_clean_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    grid = _write_grid(tmp_path / "grid.csv")
    bad = tmp_path / "train.csv"
    bad.write_text("Crime ID,Month,Longitude,Latitude\nx,2018-01,-0.13,51.51\n")
    assert run_forecast(_args(train=bad, grid=grid, out=tmp_path / "o.csv")) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "Crime type" in err and "Traceback" not in err
