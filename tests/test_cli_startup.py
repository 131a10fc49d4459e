"""Start-up of the ``hotspot-tasking`` command: what ``--help``, an argument error and the forecast contract load.

Issue 15 (speed) and issue 16 item 3: ``--help`` and any argument error must not pay for the heavy
libraries, and the forecast contract must not load the tasking, store or spatial-weights stacks.
These tests assert on the modules a fresh interpreter has loaded (``sys.modules``), not on times
(the figures are measured by ``bench/meeting_speed.py``).
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: Never loaded by ``--help`` or an argument error.
HEAVY = ("pandas", "numpy", "geopandas", "shapely", "scipy", "sklearn", "streamlit", "libpysal", "esda",
         "sqlalchemy", "alembic", "matplotlib", "weasyprint", "pyogrio", "pyproj", "dask", "highspy",
         "tasking.allocation", "tasking.pipeline", "spatial.store")
#: Never loaded by the forecast contract (issue 16 item 3).
NOT_FOR_FORECAST = ("tasking", "libpysal", "esda", "alembic", "sqlalchemy", "streamlit", "matplotlib",
                    "weasyprint", "highspy", "spatial.store", "spatial.hotspots")

_PROBE = """
import contextlib, io, json, sys
from hotspot_cli.main import main
argv = json.loads(sys.argv[1])
out, err = io.StringIO(), io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    try:
        rc = main(argv)
    except SystemExit as exc:
        rc = exc.code
print(json.dumps({"rc": rc, "modules": sorted(sys.modules), "out": out.getvalue(), "err": err.getvalue()}))
"""


def _run(argv: list[str], cwd: Path) -> dict:
    res = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(argv)], capture_output=True, text=True,
                         cwd=cwd, timeout=300, check=False)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


def _loaded(modules: list[str], names: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if any(m == n or m.startswith(n + ".") for m in modules))


@pytest.mark.parametrize("argv", [
    ["--help"],
    ["nosuch-command"],
    ["allocate", "--help"],
    ["allocate"],  # --week and --out missing
    ["allocate", "--week", "2026-W49", "--out", "p.json", "--method", "dbscan"],  # not a plan method
    ["hotspots", "--method", "bogus", "--period", "2018-06", "--out", "x.geojson"],
    ["recommend", "--help"],
    ["pack"],
    ["ingest", "--help"],
    ["user", "add", "someone"],  # --role missing
    ["user", "add", "someone", "--role", "mayor"],
    ["area", "--help"],
    ["db", "sideways"],
    ["--database", "sqlite:///nowhere.sqlite", "status", "--bogus"],
])
def test_help_and_argument_errors_load_no_heavy_library(argv, tmp_path):
    res = _run(argv, tmp_path)
    assert res["rc"] in (0, 2), res
    assert res["out"] or res["err"], "argparse printed nothing"
    assert _loaded(res["modules"], HEAVY) == [], argv


def test_top_level_help_lists_every_command(tmp_path):
    from hotspot_cli.main import build_parser

    full = build_parser()
    commands = next(a for a in full._actions if a.dest == "command").choices
    res = _run(["--help"], tmp_path)
    assert res["rc"] == 0
    for name in commands:
        assert name in res["out"], name
    assert {"forecast", "evaluate", "batch", "allocate", "pack", "user"} <= set(commands)


def test_forecast_families_are_built_in_full_when_chosen():
    from hotspot_cli.main import build_parser
    from spatial.forecast import FORECASTERS

    for command, dest in (("forecast", "method"), ("evaluate", "methods"), ("batch", "forecast")):
        parser = build_parser(command)
        sub = next(a for a in parser._actions if a.dest == "command").choices[command]
        action = next(a for a in sub._actions if a.dest == dest)
        assert set(FORECASTERS) <= set(action.choices), command


def test_light_choices_agree_with_the_registries():
    import argparse

    from hotspot_cli import allocate, recommend, users
    from spatial.store.accounts import AGENT_ROLES, ROLES
    from tasking.access import ROLES as ACCESS_ROLES
    from tasking.pipeline import PLAN_METHODS, RECOMMEND_METHODS

    for mod, expected in ((allocate, PLAN_METHODS), (recommend, RECOMMEND_METHODS)):
        p = mod.add_parser(argparse.ArgumentParser().add_subparsers())
        assert tuple(next(a for a in p._actions if a.dest == "method").choices) == tuple(expected)
    parser = argparse.ArgumentParser()
    users.add_parser(parser.add_subparsers())

    def sub(p: argparse.ArgumentParser) -> dict:
        return next(a for a in p._actions if isinstance(a, argparse._SubParsersAction)).choices

    add = sub(sub(parser)["user"])["add"]
    assert tuple(next(a for a in add._actions if a.dest == "role").choices) == ROLES == ACCESS_ROLES
    assert AGENT_ROLES == ("warden",)


def test_an_abbreviated_global_option_still_reaches_a_forecast_family(tmp_path):
    res = _run(["--datab", "sqlite:///x.sqlite", "evaluate", "--methods", "nosuch"], tmp_path)
    assert res["rc"] == 2
    assert "invalid choice: 'nosuch'" in res["err"]


def _train_and_grid(tmp_path: Path) -> tuple[Path, Path]:
    """Six months of Westminster rows of the bundled API extract (flattened police.uk API CSV) and a grid."""
    import pandas as pd

    api = REPO / "data" / "policeuk" / "neighbours_api"
    months = ["2017-07", "2017-08", "2017-09", "2017-10", "2017-11", "2017-12"]
    frames = [pd.read_csv(api / f"{m}-westminster-hammersmith-fulham-police-uk-api.csv.gz", dtype=str) for m in months]
    df = pd.concat(frames, ignore_index=True)
    df = df[df["query_ward_code"].between("E05000630", "E05000649")]
    train = tmp_path / "train.csv"
    df.to_csv(train, index=False)
    x0, y0, cell = 528_900.0, 180_300.0, 150.0
    grid = tmp_path / "grid.csv"
    with open(grid, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["cell_id", "x_min", "y_min", "x_max", "y_max"])
        w.writerows([[f"r{j:02d}c{i:02d}", x0 + i * cell, y0 + j * cell, x0 + (i + 1) * cell, y0 + (j + 1) * cell]
                     for j in range(10) for i in range(12)])
    return train, grid


@pytest.mark.parametrize("method", ["auto", "last_period"])
def test_the_forecast_contract_loads_no_tasking_store_or_weights(tmp_path, method):
    train, grid = _train_and_grid(tmp_path)
    out = tmp_path / "scores.csv"
    res = _run(["forecast", "--train", str(train), "--grid", str(grid), "--out", str(out), "--method", method],
               tmp_path)
    assert res["rc"] == 0, res["err"]
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 120 and {r["cell_id"] for r in rows} == {f"r{j:02d}c{i:02d}" for j in range(10)
                                                                  for i in range(12)}
    assert sum(float(r["score"]) for r in rows) > 0
    assert _loaded(res["modules"], NOT_FOR_FORECAST) == []


def test_forecast_help_and_errors_load_no_tasking_or_store(tmp_path):
    for argv in (["forecast", "--help"], ["forecast", "--train", "x.csv"], ["evaluate", "--methods", "nosuch"]):
        res = _run(argv, tmp_path)
        assert res["rc"] in (0, 2)
        # through the main parser the light ``tasking._errors`` is loaded, nothing else of tasking
        loaded = _loaded(res["modules"], NOT_FOR_FORECAST)
        assert loaded == ([] if argv[0] == "forecast" else ["tasking"]), argv
        assert [m for m in res["modules"] if m.startswith("tasking.")] in ([], ["tasking._errors", "tasking.formats"]), argv
        assert _loaded(res["modules"], ("geopandas", "sklearn", "shapely", "pyogrio")) == [], argv
