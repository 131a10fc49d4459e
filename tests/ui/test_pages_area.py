"""The dashboard on another area: the sidebar's area picker switches every page to West Kent (AppTest).

The store holds the small RBKC extract and three real West Kent months (ingested with ``--area west-kent``);
``roster init --area west-kent`` gives West Kent its starter roster.  Switching the picker changes the
Overview's area name, the Hotspots page's wards and counts (recomputed here from the store) and the Tasking
page's plan (West Kent's patrol officers on West Kent's places); the choice is remembered across pages.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from _apptest import assert_ok as _ok
from _apptest import open_page, texts
from streamlit.testing.v1 import AppTest

from hotspot_cli.main import main as cli_main
from spatial.store import connect
from spatial.store.queries import incident_frame
from ui import state
from ui.text import md_unescape

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
WK_DIR = REPO / "data" / "policeuk" / "west_kent"
WK_MONTHS = ("2025-10", "2025-11", "2025-12")
WK_LABEL = "West Kent (Sevenoaks, Tonbridge and Malling, Tunbridge Wells)"
OVERVIEW, HOTSPOTS, TASKING = "ui/pages/overview.py", "ui/pages/hotspots.py", "ui/pages/tasking.py"
TIMEOUT_S = 400  # the West Kent plan: 72 patrol officers on a loaded 2-core machine


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    tmp = tmp_path_factory.mktemp("area-pages")
    url = f"sqlite:///{tmp / 'hotspot.sqlite'}"
    assert cli_main(["--database", url, "ingest", "--quiet", str(REPO / "data" / "policeuk" / "rbkc_api_2018-06")]) == 0
    files = [str(p) for p in sorted(WK_DIR.iterdir()) if p.name[:7] in WK_MONTHS]
    assert cli_main(["--database", url, "ingest", "--area", "west-kent", "--quiet", *files]) == 0
    assert cli_main(["--database", url, "roster", "init", "--area", "west-kent"]) == 0
    return url


def _app(url: str, page: str, monkeypatch: pytest.MonkeyPatch, **session: object) -> AppTest:
    return open_page(url, page, monkeypatch, timeout_s=TIMEOUT_S, **session)


def _texts(at: AppTest) -> str:
    return "\n".join(texts(at))


def test_the_area_picker_switches_the_overview_and_is_remembered(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(store, OVERVIEW, monkeypatch)
    picker = at.selectbox(key=state.AREA_INPUT)
    assert picker.value == "rbkc"
    assert {"Kensington and Chelsea (with Westminster and Hammersmith & Fulham)", WK_LABEL} <= set(picker.options)
    assert "Kensington and Chelsea" in _texts(at)
    picker.set_value("west-kent").run()
    _ok(at)
    text = _texts(at)
    assert at.session_state[state.AREA] == "west-kent"
    assert f"{WK_LABEL}:" in text and "Kensington" not in text
    # the ward tables say which wards they count in: West Kent's bundled wards are the 2013 ones
    firsts = [list(d.value.columns)[:2] for d in at.dataframe]
    assert ["Ward (2013 boundaries)", "Count (this period)"] in firsts and ["Rank", "Ward (2013 boundaries)"] in firsts
    assert not any("Ward" in cols for cols in firsts)
    at.switch_page(HOTSPOTS).run()  # another page opens on the area chosen
    _ok(at)
    assert at.selectbox(key=state.AREA_INPUT).value == "west-kent"


def test_hotspots_on_west_kent_are_west_kents(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tasking.context import open_area

    at = _app(store, HOTSPOTS, monkeypatch, AREA="west-kent")
    ctx = open_area(connect(store), "west-kent")
    (component,) = at.get("component_instance")
    script = json.loads(component.proto.json_args)["script"]
    wk_wards = set(ctx.layers.wards["ward_code"])
    shown = set(re.findall(r'"ward_code": "(E05\d{6})"', script))
    assert shown == wk_wards  # every West Kent ward shaded, no RBKC ward
    assert "Ward (2013 boundaries)" in script and '"Ward"' not in script  # the map's ward tooltip names the year
    inc = incident_frame(connect(store), include_sensitive=False)
    n = int((inc["ward_code"].isin(wk_wards) & (inc["month"] == WK_MONTHS[-1])).sum())
    assert n > 500
    assert any(md_unescape(c.value).startswith(f"{n:,} non-sensitive incidents, {WK_MONTHS[-1]}") for c in at.caption)
    # one month over three districts: Gi*'s 9,999 permutations cannot pass FDR on so many cells, and the page says so
    from spatial.grids import square_grid

    n_cells = len(square_grid(ctx.outline, cell_size_m=150))
    assert n_cells > 40_000
    notes = [md_unescape(i.value) for i in at.info if "Gi* finds no significant cell" in md_unescape(i.value)]
    assert len(notes) == 1 and f"with {n_cells:,} cells and 9,999 permutations" in notes[0]
    assert f"at least {math.ceil(n_cells * 2 / 10_000 / 0.1):,} cells" in notes[0]


def test_tasking_on_an_area_without_a_roster_says_how_to_make_one(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    connect(url)
    at = _app(url, TASKING, monkeypatch, AREA="west-kent")
    warnings = " ".join(md_unescape(w.value) for w in at.warning)
    assert "has no roster yet" in warnings and "hotspot-tasking roster init --area west-kent" in warnings
    assert all(b.key != state.BUILD_BUTTON for b in at.button)  # nothing to build


@pytest.mark.slow
def test_tasking_builds_a_west_kent_plan(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tasking.context import open_area

    at = _app(store, TASKING, monkeypatch, AREA="west-kent")
    at.button(key=state.BUILD_BUTTON).click().run()
    _ok(at)
    assert at.metric, [e.value for e in at.error]
    text = _texts(at)
    assert WK_LABEL in text and "Kensington" not in text
    assignments = at.dataframe[0].value
    ctx = open_area(connect(store), "west-kent")
    officers = {a.agent_id for a in ctx.roster.agents}
    assert len(assignments) > 20 and set(assignments["Agent"]) <= officers
    assert "Ward (2013 boundaries)" in assignments.columns and "Ward" not in assignments.columns


MY_PATROLS = "ui/pages/my_patrols.py"


def test_a_west_kent_officer_signing_in_lands_on_west_kent_and_a_wrong_area_says_which(
        store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from spatial.area_profiles import active_area_name

    assert active_area_name(connect(store)) == "rbkc"  # the store's active area is not the officer's
    # P01 is in West Kent's starter roster only (RBKC's wardens are W01-W18, its parks police PP01-PP06)
    at = _app(store, MY_PATROLS, monkeypatch, role="warden", user="wk-officer", agent_id="P01")
    assert at.session_state[state.AREA] == "west-kent"
    warnings = " ".join(md_unescape(w.value) for w in at.warning)
    assert "roster" not in warnings
    assert "no approved plan" in warnings  # West Kent's week, which nobody has approved in this store
    # a session already on RBKC says where the officer's roster is
    at = _app(store, MY_PATROLS, monkeypatch, role="warden", user="wk-officer", agent_id="P01", AREA="rbkc")
    warnings = " ".join(md_unescape(w.value) for w in at.warning)
    assert f"is in the roster of {WK_LABEL}" in warnings and "choose" in warnings
    # RBKC's own warden stays on RBKC
    at = _app(store, MY_PATROLS, monkeypatch, role="warden", user="rbkc-warden", agent_id="W01")
    assert at.session_state[state.AREA] == "rbkc"
    # an id in no roster is told so
    at = _app(store, MY_PATROLS, monkeypatch, role="warden", user="nobody-warden", agent_id="Z99")
    warnings = " ".join(md_unescape(w.value) for w in at.warning)
    assert "Z99 is in no area's roster" in warnings
