"""The Designing Out Crime advice as a spreadsheet: the Hotspots page's download is the file
``recommend --out advice.csv`` writes, with ward names, chair and analyst only, audited."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from pathlib import Path

import pandas as pd
import pytest

from hotspot_cli.main import main as cli_main
from spatial.datasets import load_wards
from spatial.store import connect
from tasking import access, records
from tasking.access import AccessDenied, Viewer
from tasking.pipeline import ADVICE_CSV_COLUMNS
from ui import analysis, planning

REPO = Path(__file__).resolve().parents[2]
JUNE = REPO / "data" / "policeuk" / "rbkc_api_2018-06"
RBKC = "E09000020"
WHEN = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def advised(tmp_path_factory: pytest.TempPathFactory):
    """A store of RBKC's June 2018 and the Hotspots page's advice for it (the page's own layers)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('advicedl') / 'hotspot.sqlite'}"
    assert cli_main(["--database", url, "ingest", str(JUNE), "--quiet"]) == 0
    engine = connect(url)
    layers = analysis.hotspot_layers(planning.read_inputs(engine, borough=RBKC, months=["2018-06"]))
    names = dict(zip(load_wards((RBKC,))["ward_code"], load_wards((RBKC,))["ward_name"], strict=True))
    return url, engine, layers, names


def _csv(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)


def test_the_download_is_a_row_per_place_and_measure_with_its_case_and_is_audited(advised) -> None:
    _, engine, layers, names = advised
    data = access.advice_csv_bytes(Viewer("ann", "analyst"), layers.ranked, area=RBKC, engine=engine,
                                   ward_names=names, now=WHEN)
    got = _csv(data)
    assert len(got) == len(layers.ranked) and set(got["candidate_id"]) == set(layers.places["candidate_id"])
    assert list(got.columns[:len(ADVICE_CSV_COLUMNS)]) == [c for c in ADVICE_CSV_COLUMNS if c in got.columns]
    assert {"name", "ward_name", "measure", "why", "evidence", "sources", "x", "y"} <= set(got.columns)
    # every ward named, as the page names it; places hottest first as ranked, lines in rank order
    assert (got["ward_name"] == got["ward_code"].map(names)).all()
    first = got.drop_duplicates("candidate_id")["candidate_id"].tolist()
    assert first == layers.ranked.drop_duplicates("candidate_id")["candidate_id"].astype(str).tolist()
    assert all(g["rank"].astype(int).is_monotonic_increasing for _, g in got.groupby("candidate_id"))
    assert got["why"].str.len().min() > 0
    # each place by the name people say (its streets, or the park's name), as the plan names it: no grid id
    names_ = got.drop_duplicates("candidate_id")["place_name"]
    assert names_.is_unique and not names_.str.contains(r"hot patch|\bc\d{3,4}_\d{3,4}\b").any(), names_.tolist()
    assert names_.str.contains(" ward").all()
    audit = records.list_exports(engine, user="ann").iloc[0]
    assert (audit["kind"], audit["role"], audit["week"]) == ("csv", "analyst", None)
    assert audit["file_sha256"] == hashlib.sha256(data).hexdigest() and audit["file_bytes"] == len(data)
    assert audit["row_counts"] == {"places": len(layers.places), "recommendations": len(layers.ranked)}
    assert not audit["includes_sensitive_aggregates"]


def test_the_page_s_places_are_kept_in_the_page_s_order(advised) -> None:
    _, engine, layers, names = advised
    shown = layers.places["candidate_id"].astype(str).tolist()[:3][::-1]  # say, a ward filter left three
    got = _csv(access.advice_csv_bytes(Viewer("ann", "analyst"), layers.ranked, area=RBKC, engine=engine,
                                       ward_names=names, places=shown))
    assert got.drop_duplicates("candidate_id")["candidate_id"].tolist() == shown
    ranked = layers.ranked[layers.ranked["candidate_id"].astype(str).isin(shown)]
    assert len(got) == len(ranked)
    assert records.list_exports(engine, user="ann").iloc[0]["row_counts"] == {"places": 3,
                                                                             "recommendations": len(ranked)}


def test_the_cli_writes_the_same_advice_as_the_page(advised, tmp_path) -> None:
    url, _, layers, names = advised
    out = tmp_path / "advice.csv"
    assert cli_main(["--database", url, "recommend", "--months", "1", "--out", str(out), "--user", "doc cli"]) == 0
    cli = pd.read_csv(out, dtype=str, keep_default_na=False)
    audit = records.list_exports(connect(url), user="doc cli")  # the command's file is audited too
    assert len(audit) == 1 and audit.iloc[0]["file_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert audit.iloc[0]["row_counts"] == {"places": len(layers.places), "recommendations": len(cli)}
    page = _csv(access.advice_csv_bytes(Viewer("ann", "analyst"), layers.ranked, area=RBKC, engine=None,
                                        ward_names=names))
    key = ["candidate_id", "rank", "measure", "ward_name"]
    assert len(cli) == len(page) > 0
    assert cli[key].values.tolist() == page[key].values.tolist()
    assert cli["ward_name"].str.len().min() > 0


@pytest.mark.parametrize("role", ["partner", "cctv", "warden"])
def test_only_chair_and_analyst_may_download_the_advice(advised, role) -> None:
    _, engine, layers, _ = advised
    before = len(records.list_exports(engine))
    with pytest.raises(AccessDenied, match="export Designing Out Crime advice"):
        access.advice_csv_bytes(Viewer("pat", role, "W01" if role == "warden" else None), layers.ranked,
                                area=RBKC, engine=engine)
    assert len(records.list_exports(engine)) == before  # nothing written, nothing audited
