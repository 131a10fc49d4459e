"""The Hotspots page's GIS download: a GeoPackage as the CLI writes it, for chair and analyst only, audited."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pyogrio
import pytest

from hotspot_cli.main import main as cli_main
from spatial.analysis import compute_hotspots
from spatial.datasets import load_boroughs
from spatial.store import connect
from spatial.store.queries import incident_frame
from tasking import access, records
from tasking.access import AccessDenied, Viewer

REPO = Path(__file__).resolve().parents[2]
JUNE = REPO / "data" / "policeuk" / "rbkc_api_2018-06"
RBKC = "E09000020"
WHEN = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def gi(tmp_path_factory: pytest.TempPathFactory):
    url = f"sqlite:///{tmp_path_factory.mktemp('gisdl') / 'hotspot.sqlite'}"
    assert cli_main(["--database", url, "ingest", str(JUNE), "--quiet"]) == 0
    engine = connect(url)
    res = compute_hotspots(incident_frame(engine, include_sensitive=False, months=["2018-06"]),
                           load_boroughs((RBKC,)), method="gistar", months=["2018-06"], harm_index="cchi")
    return engine, res


def test_the_download_is_the_gistar_layer_with_its_parameters_and_is_audited(gi, tmp_path) -> None:
    engine, res = gi
    data = access.hotspot_export_bytes(Viewer("ann", "analyst"), res, period="2018-06", area=RBKC, engine=engine,
                                       now=WHEN)
    path = tmp_path / "dl.gpkg"
    path.write_bytes(data)
    layers = dict(pyogrio.list_layers(path))
    assert layers["hot_cells"] == "MultiPolygon" and "run_parameters" in layers and "layer_styles" in layers
    cells = pyogrio.read_dataframe(path, layer="hot_cells")
    assert len(cells) == len(res) and cells.crs.to_epsg() == 27700
    assert sorted(cells["gi_bin"].unique()) == sorted(res["gi_bin"].unique())  # every cell, hot and cold
    kv = dict(zip(*pyogrio.read_dataframe(path, layer="run_parameters")[["key", "value"]].T.to_numpy()))
    assert kv["method"] == "gistar" and kv["period"] == "2018-06" and kv["area"] == RBKC
    assert kv["sensitive_included"] == "false" and int(kv["n_incidents_used"]) == res.attrs["params"]["n_incidents_used"]
    audit = records.list_exports(engine, user="ann").iloc[0]
    assert (audit["kind"], audit["role"], audit["week"]) == ("gpkg", "analyst", None)
    assert audit["file_sha256"] == hashlib.sha256(data).hexdigest() and audit["file_bytes"] == len(data)
    assert audit["row_counts"] == {"hot_cells": len(res)} and not audit["includes_sensitive_aggregates"]


@pytest.mark.parametrize("role", ["partner", "cctv", "warden"])
def test_only_chair_and_analyst_may_download_hotspot_layers(gi, role) -> None:
    engine, res = gi
    before = len(records.list_exports(engine))
    with pytest.raises(AccessDenied, match="export hotspot layers"):
        access.hotspot_export_bytes(Viewer("pat", role, "W01" if role == "warden" else None), res,
                                    period="2018-06", area=RBKC, engine=engine)
    assert len(records.list_exports(engine)) == before  # nothing written, nothing audited


def test_the_command_s_file_is_audited_as_the_download_is(gi, tmp_path, capsys) -> None:
    engine, res = gi
    url = str(engine.url)
    out = tmp_path / "gi.gpkg"
    assert cli_main(["--database", url, "hotspots", "--method", "gistar", "--period", "2018-06", "--out", str(out),
                     "--user", "ann cli"]) == 0
    assert "recorded in the export audit" in capsys.readouterr().out
    audit = records.list_exports(engine, user="ann cli")
    assert len(audit) == 1
    row = audit.iloc[0]
    assert (row["kind"], row["role"], row["file_name"]) == ("gpkg", "analyst", "gi.gpkg")
    assert row["file_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert row["row_counts"] == {"hot_cells": len(pyogrio.read_dataframe(out, layer="hot_cells"))}
    assert not row["includes_sensitive_aggregates"]
