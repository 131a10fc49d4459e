"""Two chairs on the Tasking page at once: the second approval from a stale view is refused, nothing is lost.

Two AppTest sessions share one store (the bundled RBKC June 2018 file).
Bob leaves a street patch out and approves; Alice, who opened the week
before Bob saved, then approves her own plan: she gets a conflict naming Bob
and his version, nothing of hers is stored, and "Open the latest version"
gives her Bob's exclusion, so her page then shows Bob's approved plan.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from _apptest import open_page
from streamlit.testing.v1 import AppTest

from hotspot_cli.main import main as cli_main
from spatial.store import connect
from tasking import records
from ui import state
from ui.text import md_unescape

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
SMALL_POLICE_UK = REPO / "data" / "policeuk" / "rbkc_api_2018-06"
TODAY = dt.date(2026, 11, 23)
WEEK = "2026-W49"
RBKC = "E09000020"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('conflict') / 'hotspot.sqlite'}"
    assert cli_main(["--database", url, "ingest", str(SMALL_POLICE_UK), "--quiet"]) == 0
    return url


def _session(url: str, monkeypatch: pytest.MonkeyPatch, user: str) -> AppTest:
    at = open_page(url, "ui/pages/tasking.py", monkeypatch, today=TODAY, user=user, timeout_s=120, TASKING_SHOW=True)
    assert at.metric, [e.value for e in at.error]
    return at


def test_a_stale_approval_is_refused_and_the_latest_version_can_be_opened(store, monkeypatch):
    engine = connect(store)
    alice = _session(store, monkeypatch, "Alice Chair")  # opens the week: no version yet
    assert alice.session_state[state.TASKING_BASE] == 0

    bob = _session(store, monkeypatch, "Bob Chair")
    places = list(bob.dataframe[0].value["Id"].unique())  # ids live in the assignments' details column
    street = next(p for p in places if p.startswith("ST-"))
    bob.selectbox(key=state.EXCLUDE_CANDIDATE).set_value(street)
    bob.button(key=state.EXCLUDE_SUBMIT).click().run()
    bob.button(key=state.APPROVE_BUTTON).click().run()
    assert any("Approved: version 1" in s.value for s in bob.success), [e.value for e in bob.error]

    alice.button(key=state.APPROVE_BUTTON).click().run()
    assert not alice.exception
    errors = [md_unescape(e.value) for e in alice.error]
    assert any("Bob Chair saved version 1" in e and "approved by Bob Chair" in e and "Not saved" in e
               for e in errors), errors
    meeting_id = records.find_meeting(engine, week=WEEK, borough=RBKC)
    versions = records.list_plan_versions(engine, meeting_id)
    assert versions[["version", "created_by"]].values.tolist() == [[1, "Bob Chair"]]
    assert records.list_approvals(engine, meeting_id)["approved_by"].tolist() == ["Bob Chair"]
    assert street in {e["candidate_id"] for e in records.load_plan(engine, meeting_id)["inputs"]["exclusions"]}

    alice.button(key=state.LOAD_LATEST_BUTTON).click().run()
    assert not alice.exception
    assert alice.session_state[state.TASKING_BASE] == 1
    assert alice.session_state[state.TASKING_EXCLUSIONS] == [street]
    assert any("This plan is approved (version 1)" in s.value for s in alice.success), [e.value for e in alice.error]
    engine.dispose()
