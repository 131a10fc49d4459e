"""The dashboard on a London borough made with ``area create`` (issue 14 item 5), through AppTest.

The store holds only the created area ``islington`` (its 2018 wards from the shared London ward layer) and the
Met's June 2018 police.uk API month for all London, ingested with the area as the area of interest.  The
Hotspots page shades Islington's wards only and counts the stored Islington incidents; the Tasking page builds
a plan for the area's starter roster, on Islington's own places.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from _apptest import assert_ok, open_page, texts

from hotspot_cli.main import main as cli_main
from spatial.store import connect
from spatial.store.queries import incident_frame
from ui import state
from ui.text import md_unescape

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
LONDON_WARDS = SHARED / "boundaries" / "london_wards_2018.gpkg"
LONDON_LSOAS = SHARED / "boundaries" / "london_lsoa_2021_gen20.gpkg"
MONTH = SHARED / "policeuk" / "london_api" / "2018-06-london-street-police-uk-api.csv.gz"
ISLINGTON = "E09000019"
TIMEOUT_S = 400

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not MONTH.is_file() or not LONDON_WARDS.is_file(), reason="the shared London extract")]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('london-area') / 'hotspot.sqlite'}"
    assert cli_main(["--database", url, "area", "create", "islington", "--wards", str(LONDON_WARDS),
                     "--lsoas", str(LONDON_LSOAS), "--district-code", ISLINGTON, "--label", "Islington",
                     "--use"]) == 0
    assert cli_main(["--database", url, "ingest", "--quiet", str(MONTH)]) == 0
    return url


def test_hotspots_on_a_created_london_borough(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tasking.context import open_area

    at = open_page(store, "ui/pages/hotspots.py", monkeypatch, timeout_s=TIMEOUT_S)
    ctx = open_area(connect(store), "islington")
    wards = set(ctx.layers.wards["ward_code"])
    assert len(wards) > 10 and set(ctx.layers.wards["borough_code"]) == {ISLINGTON}
    (component,) = at.get("component_instance")
    script = json.loads(component.proto.json_args)["script"]
    assert set(re.findall(r'"ward_code": "(E05\d{6})"', script)) == wards  # Islington's wards, no other borough's
    assert "Ward (2018 boundaries)" in script
    inc = incident_frame(connect(store))
    n = int(inc["ward_code"].isin(wards).sum())
    assert n > 1000
    assert any(md_unescape(c.value).startswith(f"{n:,} non-sensitive incidents, 2018-06") for c in at.caption)


def test_tasking_builds_the_created_areas_plan(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tasking.context import open_area

    at = open_page(store, "ui/pages/tasking.py", monkeypatch, timeout_s=TIMEOUT_S)
    at.button(key=state.BUILD_BUTTON).click().run()
    assert_ok(at)
    assert not at.error, [e.value for e in at.error]
    ctx = open_area(connect(store), "islington")
    officers = {a.agent_id for a in ctx.roster.agents}
    assignments = at.dataframe[0].value
    assert len(assignments) > 10 and set(assignments["Agent"]) <= officers
    names = set(ctx.layers.wards["ward_name"])
    assert set(assignments["Ward (2018 boundaries)"]) <= names
    assert "Islington" in "\n".join(texts(at)) and "Kensington" not in "\n".join(texts(at))
