"""The one set of AppTest helpers of the page tests: open a page signed in, and read what it shows.

``open_page(url, page, monkeypatch, ...)`` points the app at the store ``url``
(``DATABASE_URL``; no tile server; the bundled roster unless ``roster`` is given),
signs in with a test account of ``role`` (tests/ui/_signin.py), sets "today" and
any other session keys (names of constants in :mod:`ui.state`), switches to
``page`` and runs it, failing when the script raised.

The readers return what the chair would read: ``texts`` (titles, headers,
markdown, captions and alerts, markdown escapes undone), ``metric``,
``frame`` (a table by its first column) and ``folium_script`` (the script
inside the page's one ``st_folium`` map, which AppTest cannot open);
``map_labels`` reads the text labels of one layer of that script ("Street
names", "Ward names") as the map shows them.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from _signin import sign_in
from streamlit.testing.v1 import AppTest

from spatial.store import connect
from spatial.store.queries import incident_frame
from tasking.names import GENERIC_LOCATIONS
from ui import maps, planning, state
from ui.text import md_unescape

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
#: Monday of 2026-W48: the meeting plans 2026-W49 whatever the real date.
TODAY = dt.date(2026, 11, 23)
#: Seconds AppTest waits for one script run (a plan build on a loaded 2-core machine).
TIMEOUT_S = 180
_TEXT_KINDS = ("title", "header", "subheader", "markdown", "caption", "info", "warning", "success", "error")


def open_page(url: str, page: str, monkeypatch: pytest.MonkeyPatch, *, today: dt.date | None = TODAY,
              user: str | None = None, role: str = "chair", agent_id: str | None = None,
              roster: Path | None = None, timeout_s: float = TIMEOUT_S, **session: Any) -> AppTest:
    """Run ``page`` of the app over the store at ``url``, signed in as ``role``; ``today=None`` leaves the date."""
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv(maps.TILES_URL_ENV, raising=False)
    if roster is None:
        monkeypatch.delenv(planning.ROSTER_ENV, raising=False)
    else:
        monkeypatch.setenv(planning.ROSTER_ENV, str(roster))
    at = sign_in(AppTest.from_file(APP, default_timeout=timeout_s), url, user=user, role=role, agent_id=agent_id)
    if today is not None:
        at.session_state[state.TODAY] = today.isoformat()
    for key, value in session.items():
        at.session_state[getattr(state, key)] = value
    at.switch_page(page)
    at.run()
    assert_ok(at)
    return at


def assert_ok(at: AppTest) -> None:
    """Fail with the exceptions' messages when the script raised."""
    assert not at.exception, [e.value for e in at.exception]


def texts(at: AppTest, *, metrics: bool = False) -> list[str]:
    """Every text the page shows (not the widgets' option lists); with ``metrics``, "label value" of each metric."""
    out: list[str] = []
    for kind in _TEXT_KINDS:
        out += [md_unescape(str(e.value)) for e in getattr(at, kind)]
    if metrics:
        out += [f"{m.label} {m.value}" for m in at.metric]
    return out


def metric(at: AppTest, label: str) -> str:
    """The shown value of the metric labelled ``label``."""
    return next(m.value for m in at.metric if m.label == label)


def metric_number(at: AppTest, label: str) -> float:
    """The metric labelled ``label`` as a number (thousands separators dropped)."""
    return float(metric(at, label).replace(",", ""))


def frame(at: AppTest, first_column: str) -> pd.DataFrame:
    """The first table whose first column is ``first_column``."""
    return next(d.value for d in at.dataframe if list(d.value.columns)[0] == first_column)


def folium_script(at: AppTest) -> str:
    """The folium script inside the page's one st_folium component."""
    (component,) = at.get("component_instance")
    return json.loads(component.proto.json_args)["script"]


def map_labels(script: str, layer: str) -> list[tuple[float, float, str]]:
    """``(lat, lon, text)`` of every text label in the layer named ``layer`` of a folium script, the text as the
    browser shows it (HTML entities decoded once); fails when the map has no such layer."""
    entry = re.search(r'"' + re.escape(layer) + r'"\s*:\s*(feature_group_\w+)', script)
    assert entry, f"no layer {layer!r} in the map's layer control"
    block = re.search(r"var group = " + entry.group(1) + r";.*?var labels = (\[.*?\]);\n", script, flags=re.S)
    if block is None:
        return []  # the layer is there, with nothing to label
    return [(float(lat), float(lon), html.unescape(text)) for lat, lon, text, _minor in json.loads(block.group(1))]


def street_counts(url: str, bounds: tuple[float, float, float, float] | None = None) -> pd.Series:
    """By hand, for the street-label checks: the store's non-sensitive incidents (inside ``bounds``, EPSG:27700)
    counted by the street of their police.uk location text ("On or near " dropped; snap-point kinds such as
    "Supermarket" left out), busiest first."""
    safe = incident_frame(connect(url), include_sensitive=False)
    safe = safe[safe["ward_code"].notna()]
    if bounds is not None:
        xmin, ymin, xmax, ymax = bounds
        safe = safe[safe["x"].between(xmin, xmax) & safe["y"].between(ymin, ymax)]
    streets = police_uk_streets(safe["location_text"])
    return streets[~streets.str.lower().isin(GENERIC_LOCATIONS)].value_counts()


def police_uk_streets(location_text: pd.Series) -> pd.Series:
    """By hand: police.uk location texts as the maps name them: "On or near " dropped, and police.uk's casing
    slips put right ("Lambert'S Yard" -> "Lambert's Yard", "Earls Court (lu Station)" -> "(LU Station)")."""
    streets = location_text.str.removeprefix("On or near ").str.strip()
    streets = streets.str.replace(r"(?<=[A-Za-z])'S\b", "'s", regex=True)
    return streets.str.replace("(lu Station)", "(LU Station)", regex=False)
