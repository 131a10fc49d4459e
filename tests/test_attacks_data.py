"""The data/export half of issue 13's attack run, re-run in a bounded form (see SECURITY.md).

* CSV injection: estate names and reasons that a spreadsheet would run as formulas
  leave every CSV the product writes neutralised (prefixed with a single quote),
  numeric columns untouched (negative numbers stay numbers).
* Gzip bomb: a .gz of 200 MB of zeros (built as a stream, a few hundred KB on disk)
  is refused while it is decompressed, naming the file, with memory staying flat;
  a file of too many rows is refused by the per-file row cap.
"""

from __future__ import annotations

import csv
import gzip
import io
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hotspot_cli.main import main as cli_main
from spatial._errors import IngestError
from spatial.config import (
    MAX_DECOMPRESSED_ENV,
    MAX_RATIO_ENV,
    MAX_ROWS_ENV,
    InputLimits,
)
from spatial.csv_safe import neutralise_frame, to_csv
from spatial.ingest.files import inspect_file
from tasking import access
from tasking.pack import plan_csv
from tests.tasking import _tk_plans as P

#: Payloads of the attack run (estate names and reasons as they were planted).
FORMULAS = ['=HYPERLINK("http://127.0.0.1:8999/x","Click")', "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
            "-2+3+cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]
STREET_HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
                 "Crime type,Last outcome category,Context\n")


def _planted_plan() -> dict:
    plan = P.make_plan()
    for cand, payload in zip(plan["candidates"], FORMULAS * 3, strict=False):
        cand["name"] = payload
    plan["assignments"][0]["why"] = "-2+3+cmd|' /C calc'!A0"
    plan["assignments"][1]["why"] = "=1+2"
    return plan


def _check_csv(text: str) -> int:
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows
    checked = 0
    for row in rows:
        for col in ("name", "why", "candidate_id", "agent_id", "kind", "place_type", "ward_code"):
            cell = row[col]
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (col, cell)
            if cell.startswith("'"):
                checked += 1
        for col in ("visits", "minutes", "x_bng", "y_bng", "lon", "lat", "value"):
            if row[col] != "":
                float(row[col])  # numbers stay numbers (no quote prefix)
    return checked


def test_the_plan_csv_neutralises_every_formula_and_keeps_numbers() -> None:
    plan = _planted_plan()
    text = plan_csv(plan)
    names = [r["name"] for r in csv.DictReader(io.StringIO(text))]
    planted = {c["candidate_id"]: c["name"] for c in plan["candidates"]}
    assert any(n.lstrip("'") in planted.values() and n.startswith("'") for n in names)
    for n in names:
        if n.lstrip("'") in FORMULAS:
            assert n == "'" + n[1:] and n[1:] in FORMULAS  # exactly one quote, text kept
    assert _check_csv(text) >= 2


def test_the_plan_csv_downloaded_through_the_page_function_is_neutralised(sqlite_url: str) -> None:
    # the Tasking page's download buttons call access.export_bytes (ui/pages/tasking.py::_export)
    from spatial.store import connect

    data = access.export_bytes(access.Viewer("cath", "chair"), _planted_plan(), format="csv",
                               engine=connect(sqlite_url))
    assert _check_csv(data.decode("utf-8")) >= 2


def test_neutralise_frame_leaves_numeric_columns_and_number_text_alone() -> None:
    df = pd.DataFrame({"name": ["=1+1", "-2+3", "-3", "Golborne", None], "value": [-1.5, 2.0, -3.0, 0.0, 1.0]})
    out = neutralise_frame(df)
    assert out["name"].tolist()[:4] == ["'=1+1", "'-2+3", "-3", "Golborne"] and pd.isna(out["name"].iloc[4])
    assert out["value"].tolist() == [-1.5, 2.0, -3.0, 0.0, 1.0]
    assert to_csv(df, index=False).splitlines()[1] == "'=1+1,-1.5"


def test_every_csv_writer_goes_through_the_one_helper() -> None:
    # a new to_csv / csv.writer in spatial/, tasking/ or ui/ must use spatial.csv_safe
    root = Path(__file__).resolve().parents[1]
    offenders = []
    for pkg in ("spatial", "tasking", "ui"):
        for p in (root / pkg).rglob("*.py"):
            if p.name == "csv_safe.py":
                continue
            for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
                code = line.split("#")[0]
                if ".to_csv(" in code or "csv.writer(" in code or "DictWriter(" in code:
                    offenders.append(f"{p.relative_to(root)}:{n}: {line.strip()}")
    assert not offenders, offenders


# ---------------------------------------------------------------------------
# gzip bomb and row cap
# ---------------------------------------------------------------------------
def _bomb(path: Path, zeros: int) -> Path:
    """A police.uk-looking .gz whose header is followed by ``zeros`` NUL bytes, written as a stream."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\x00" * (1 << 20)
    with open(path, "wb") as fh:
        fh.write(comp.compress(STREET_HEADER.encode()))
        for _ in range(zeros // len(block)):
            fh.write(comp.compress(block))
        fh.write(comp.flush())
    return path


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _bomb(tmp_path_factory.mktemp("bomb") / "2024-05-metropolitan-street.csv.gz", 200 << 20)


def test_a_gzip_bomb_is_refused_by_the_ratio_cap_naming_the_file_with_flat_memory(bomb: Path) -> None:
    assert bomb.stat().st_size < 1 << 20  # 200 MB of zeros in well under 1 MB
    tracemalloc.start()
    try:
        with pytest.raises(IngestError, match="compression ratio above 100") as exc:
            inspect_file(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(bomb) in str(exc.value) and exc.value.path == str(bomb)
    assert peak < 32 << 20, f"peak {peak / 2**20:.1f} MiB"


def test_a_gzip_bomb_is_refused_by_the_size_cap_set_in_the_environment(bomb: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MAX_RATIO_ENV, "1000000")
    monkeypatch.setenv(MAX_DECOMPRESSED_ENV, str(20 << 20))
    assert InputLimits.from_env().max_decompressed_bytes == 20 << 20
    tracemalloc.start()
    try:
        with pytest.raises(IngestError, match=f"decompresses to more than {20 << 20:,} bytes") as exc:
            inspect_file(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(bomb) in str(exc.value) and MAX_DECOMPRESSED_ENV in str(exc.value)
    assert peak < 48 << 20, f"peak {peak / 2**20:.1f} MiB"


def test_the_cli_ingest_refuses_the_bomb_and_names_it(bomb: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    code = cli_main(["--database", url, "ingest", str(bomb), "--quiet"])
    out = capsys.readouterr()
    assert code != 0
    assert bomb.name in out.out + out.err and "compression ratio" in out.out + out.err
    assert "Traceback" not in out.out + out.err


def test_a_bad_limit_in_the_environment_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MAX_ROWS_ENV, "lots")
    with pytest.raises(ValueError, match=f"{MAX_ROWS_ENV}='lots' is not a positive whole number"):
        InputLimits.from_env()


@pytest.mark.parametrize("gz", [False, True])
def test_the_row_cap_refuses_a_file_of_too_many_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     gz: bool) -> None:
    row = ("abc,2024-05,Metropolitan Police Service,Metropolitan Police Service,-0.2,51.5,On or near X,"
           "E01002843,Kensington 001A,Burglary,Under investigation,\n")
    body = (STREET_HEADER + row * 500).encode()
    path = tmp_path / ("rows.csv.gz" if gz else "rows.csv")
    path.write_bytes(gzip.compress(body) if gz else body)
    monkeypatch.setenv(MAX_RATIO_ENV, "1000000")
    monkeypatch.setenv(MAX_ROWS_ENV, "500")
    assert inspect_file(path).kind == "police-uk-street"  # exactly at the cap: accepted
    monkeypatch.setenv(MAX_ROWS_ENV, "499")
    with pytest.raises(IngestError, match="more than 499 rows in one file") as exc:
        inspect_file(path)
    assert str(path) in str(exc.value) and MAX_ROWS_ENV in str(exc.value)


# ---------------------------------------------------------------------------
# Markdown injection on My patrols
# ---------------------------------------------------------------------------
#: Payloads of the attack run, planted in place names, reasons and patrol-log text.
MARKDOWN = ["![x](http://127.0.0.1:8999/track.png)", "[Report](/phish)", "**bold**", ":red[colour]",
            '=HYPERLINK("http://127.0.0.1:8999/h","Click")', "<img src=x onerror=alert(1)>", "<a href=\"/phish\">a</a>"]


@pytest.fixture(scope="module")
def planted_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict, str]:
    """A store whose approved 2026-W49 plan names every place of one warden with a payload."""
    from spatial.store import connect
    from tasking import records
    from tasking.resources import load_roster
    from ui import planning

    tmp = tmp_path_factory.mktemp("planted")
    url = f"sqlite:///{tmp / 'hotspot.sqlite'}"
    root = Path(__file__).resolve().parents[1]
    assert cli_main(["--database", url, "ingest", str(root / "data" / "policeuk" / "rbkc_api_2018-06"), "--quiet"]) == 0
    engine = connect(url)
    inputs = planning.read_inputs(engine, borough="E09000020")
    plan = planning.build_plan(inputs, roster=load_roster(planning.roster_path()), week="2026-W49").plan
    assert plan is not None
    # the warden with most visits to places (ward presence visits have a fixed reason with no concern in it)
    counts = pd.Series([a["agent_id"] for a in plan["assignments"]
                        if a["agent_id"].startswith("W") and not a["candidate_id"].startswith("WP-")]).value_counts()
    agent = str(counts.index[0])
    mine = {a["candidate_id"] for a in plan["assignments"] if a["agent_id"] == agent}
    for k, cand in enumerate(c for c in plan["candidates"] if c["candidate_id"] in mine):
        cand["name"] = MARKDOWN[k % len(MARKDOWN)] + " " + MARKDOWN[(k + 1) % len(MARKDOWN)]
        cand["place_name"] = cand["name"]  # the name the pages show (issue 15)
        cand["concerns"] = MARKDOWN[k % len(MARKDOWN)]  # reaches the plain reason: "...; raised by <concern>"
    for k, a in enumerate(a for a in plan["assignments"] if a["agent_id"] == agent):
        a["why"] = MARKDOWN[k % len(MARKDOWN)]
    records.approve_week_plan(engine, plan, user="Test Chair")
    return url, plan, agent


def test_my_patrols_shows_planted_markdown_as_literal_text(planted_store, monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime as dt
    import re

    from streamlit.testing.v1 import AppTest

    from tests.ui._signin import sign_in
    from ui import maps, planning, state
    from ui.text import md_unescape

    url, plan, agent = planted_store
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv(maps.TILES_URL_ENV, raising=False)
    monkeypatch.delenv(planning.ROSTER_ENV, raising=False)
    root = Path(__file__).resolve().parents[1]
    at = sign_in(AppTest.from_file(str(root / "app.py"), default_timeout=180), url, user=f"Warden {agent}",
                 role="warden", agent_id=agent)
    at.session_state[state.TODAY] = dt.date(2026, 12, 1).isoformat()
    at.switch_page("ui/pages/my_patrols.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    texts = [str(e.value) for kind in ("markdown", "caption", "subheader", "info", "success")
             for e in getattr(at, kind)]
    names = {c["name"] for c in plan["candidates"] if any(p in c["name"] for p in MARKDOWN)}
    shown_names = 0
    for t in texts:
        # no live Markdown: every [ ] ( ) ! < > * : = of the data is escaped with a backslash
        assert not re.search(r"(?<!\\)!(?<!\\)\[", t) and not re.search(r"(?<!\\)\]\(", t), t
        assert not re.search(r"(?<!\\)<(img|a)\b", t), t
        assert not re.search(r"(?<!\\):red(?<!\\)\[", t) and "**bold**" not in t, t
        plain = md_unescape(t)
        if any(n in plain for n in names):
            shown_names += 1
    assert shown_names >= 1  # the page shows the planted names, as literal text
    whys = [md_unescape(t) for t in texts if "raised by " in md_unescape(t)]
    assert whys and all(t.rsplit("raised by ", 1)[1].split(";")[0] in MARKDOWN for t in whys)


# ---------------------------------------------------------------------------
# every store call reachable from ui/ goes through tasking.access (or is a listed role-independent read)
# ---------------------------------------------------------------------------
#: Store calls ui/ may make without tasking.access, and why each is safe.  Anything else fails the test.
ALLOWED_STORE_CALLS: dict[tuple[str, str], str] = {
    ("ui/cached.py", "spatial.store.connect"): "opens the engine",
    ("ui/cached.py", "spatial.store.queries.area_counts"): "MPS ward series: aggregates, suppressed by league_table",
    ("ui/cached.py", "spatial.store.queries.incident_frame"): "shared cache of the review's points; the Review page "
                                                               "requires the review capability before it reads them",
    ("ui/cached.py", "spatial.store.queries.months_available"): "month lists (no counts)",
    ("ui/cached.py", "tasking.records.load_plan"): "shared plan cache; access.plan_view filters it per role",
    ("ui/service.py", "spatial.store.queries.area_counts"): "MPS ward series: aggregates, suppressed by league_table",
    ("ui/service.py", "spatial.store.queries.incident_frame"): "Overview's counts: aggregated into ward and group "
                                                                "tables with small and secondary suppression",
    ("ui/planning.py", "spatial.store.queries.incident_frame"): "non-sensitive rows for the plan (staff pages)",
    ("ui/review.py", "spatial.store.queries.incident_frame"): "non-sensitive rows for the review (staff pages)",
    ("ui/signin.py", "spatial.store.accounts.*"): "signing in is before there is a viewer",
    ("ui/signin.py", "spatial.store.audit.record"): "the audit of sign-ins and views",
    ("ui/signin.py", "spatial.store.sessions.*"): "the sign-in session itself (cookie token, time-outs): "
                                                  "it decides who the viewer is",
}
#: Read-only record functions (meeting lookups, dates, digests): no sensitive data, no writes.
RECORD_READS = {"find_meeting", "get_meeting", "list_meetings", "week_dates", "list_plan_versions", "load_plan",
                "approved_plan", "plan_digest", "plan_shifts"}


def _store_calls() -> set[tuple[str, str]]:
    import ast

    root = Path(__file__).resolve().parents[1]
    found: set[tuple[str, str]] = set()
    for p in sorted((root / "ui").rglob("*.py")):
        tree = ast.parse(p.read_text(encoding="utf-8"))
        aliases: dict[str, str] = {}
        for n in ast.walk(tree):
            if isinstance(n, ast.ImportFrom) and n.module:
                for a in n.names:
                    full = f"{n.module}.{a.name}"
                    if full.startswith(("spatial.store", "tasking.records", "sqlalchemy.text")):
                        aliases[a.asname or a.name] = full
            elif isinstance(n, ast.Import):
                for a in n.names:
                    if a.name.startswith(("spatial.store", "tasking.records")):
                        aliases[a.asname or a.name] = a.name
        for n in ast.walk(tree):
            if not isinstance(n, ast.Call):
                continue
            f = n.func
            if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in aliases:
                found.add((str(p.relative_to(root)), f"{aliases[f.value.id]}.{f.attr}"))
            elif isinstance(f, ast.Name) and f.id in aliases:
                found.add((str(p.relative_to(root)), aliases[f.id]))
    return found


def test_every_store_call_from_ui_goes_through_access() -> None:
    calls = _store_calls()
    assert calls, "the scan found no store call at all: it is broken"
    bad = []
    for where, what in sorted(calls):
        if what.startswith("tasking.records.") and what.rsplit(".", 1)[1] in RECORD_READS:
            continue
        if (where, what) in ALLOWED_STORE_CALLS or (where, what.rsplit(".", 1)[0] + ".*") in ALLOWED_STORE_CALLS:
            continue
        bad.append(f"{where}: {what}")
    assert not bad, f"store calls from ui/ that bypass tasking.access: {bad}"
    pages = {what for where, what in calls if where.startswith("ui/pages/")}
    assert all(w.startswith("tasking.records.") for w in pages), pages  # pages never query spatial.store


def test_ui_planning_has_no_unchecked_copies_of_guarded_writers() -> None:
    from ui import planning

    for name in ("approve_plan", "export_bytes", "log_done"):
        assert not hasattr(planning, name), name
    from ui import cached

    for name in ("map_points", "ward_counts", "source_month_counts", "recent_ingests"):
        assert not hasattr(cached, name), name  # the pages use access.<name>, which checks the role


# ---------------------------------------------------------------------------
# Unicode bidi controls are removed at ingest
# ---------------------------------------------------------------------------
def test_bidi_controls_in_a_location_are_stripped_at_ingest(tmp_path: Path) -> None:
    from spatial.ingest.rows import BIDI_CONTROLS
    from spatial.store import connect
    from spatial.store.queries import incident_frame

    root = Path(__file__).resolve().parents[1]
    src = root / "data" / "policeuk" / "rbkc_vso_2024" / "2024-05" / "2024-05-metropolitan-street.csv"
    lines = src.read_text(encoding="utf-8-sig").splitlines(keepends=True)[:30]
    rows = list(csv.reader(io.StringIO("".join(lines))))
    col = rows[0].index("Location")
    for k, r in enumerate(rows[1:]):
        r[col] = f"On or near \u202e{BIDI_CONTROLS[k % len(BIDI_CONTROLS)]}teerts \u2066Ladbroke\u2069 Grove\u200f"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path = tmp_path / "2024-05-metropolitan-street.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    assert cli_main(["--database", url, "ingest", str(path), "--quiet"]) == 0
    stored = incident_frame(connect(url), include_sensitive=True)
    assert len(stored) > 0
    texts = stored["location_text"].dropna().astype(str)
    assert not any(ch in t for t in texts for ch in BIDI_CONTROLS)
    assert (texts == "On or near teerts Ladbroke Grove").all()


def test_hostile_street_names_are_plain_text_on_the_incidents_map_and_a_refuge_street_is_never_named(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import html
    import json
    import re

    from streamlit.testing.v1 import AppTest

    from spatial.store import connect
    from spatial.store.queries import incident_frame
    from tests.ui._signin import sign_in
    from ui import maps, planning

    root = Path(__file__).resolve().parents[1]
    src = root / "data" / "policeuk" / "rbkc_api_2018-06" / "rbkc_street_crime_2018-06_police-uk-api.csv"
    every = list(csv.reader(io.StringIO(src.read_text(encoding="utf-8-sig"))))
    loc, kind = every[0].index("street_name"), every[0].index("category")
    violent = [r for r in every[1:] if r[kind] == "violent-crime"]
    rows = [every[0], *violent[:20], *[r for r in every[1:] if r[kind] != "violent-crime"][:40]]
    for k, r in enumerate(rows[1:]):
        sensitive = r[kind] == "violent-crime"
        r[loc] = "On or near Refuge Close" if sensitive else f"On or near {MARKDOWN[k % len(MARKDOWN)]}"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    (tmp_path / "api").mkdir()
    path = tmp_path / "api" / src.name
    path.write_text(out.getvalue(), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    assert cli_main(["--database", url, "ingest", str(path), "--quiet"]) == 0
    stored = incident_frame(connect(url), include_sensitive=True)
    safe_streets = set(stored.loc[~stored["sensitive"].astype(bool), "location_text"].str.removeprefix("On or near "))
    assert stored["sensitive"].astype(bool).any() and len(safe_streets & set(MARKDOWN)) >= 5

    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv(maps.TILES_URL_ENV, raising=False)
    monkeypatch.delenv(planning.ROSTER_ENV, raising=False)
    at = sign_in(AppTest.from_file(str(root / "app.py"), default_timeout=180), url)
    at.switch_page("ui/pages/incidents.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    script = json.loads(at.get("component_instance")[0].proto.json_args)["script"]
    group = re.search(r'"Street names"\s*:\s*(feature_group_\w+)', script)
    assert group
    block = re.search(r"var group = " + group.group(1) + r";.*?var labels = (\[.*?\]);\n", script, flags=re.S)
    assert block
    shown = {html.unescape(text) for _, _, text, _ in json.loads(block.group(1))}
    assert shown == safe_streets  # every non-sensitive street named, as the literal text
    assert "Refuge Close" not in script  # only sensitive cases happened there
    assert "<img src=x" not in script and "<a href" not in script


# ---------------------------------------------------------------------------
# a full disk during ingest: which file failed and why, the report of what was stored, no traceback
# ---------------------------------------------------------------------------
def test_a_full_disk_names_the_failed_file_and_keeps_the_report_of_what_was_stored(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import errno

    from spatial.ingest import pipeline
    from spatial.store import connect
    from spatial.store.queries import incident_frame

    root = Path(__file__).resolve().parents[1] / "data" / "policeuk" / "rbkc_vso_2024"
    first = root / "2024-05" / "2024-05-metropolitan-street.csv"
    second = root / "2024-06" / "2024-06-metropolitan-street.csv"
    real = pipeline._store

    def full_disk(engine, info, *args, **kwargs):  # the writer of the second file hits a full disk
        if Path(info.path).name == second.name:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(engine, info, *args, **kwargs)

    monkeypatch.setattr(pipeline, "_store", full_disk)
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    code = cli_main(["--database", url, "ingest", str(first), str(second), "--quiet"])
    out = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in out.out + out.err
    assert f"NOT STORED {second}" in out.err and "No space left on device" in out.err
    assert first.name in out.out and "complete" in out.out  # the first file's report is printed
    stored = incident_frame(connect(url), include_sensitive=True)
    assert len(stored) > 0 and set(stored["month"]) == {"2024-05"}  # the first file stands, the second rolled back


def test_a_full_disk_on_the_only_file_names_it_without_a_traceback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing stored at all: the report is empty, and the command still says which file failed and why
    (it used to raise KeyError on the empty report)."""
    import errno

    from spatial.ingest import pipeline

    only = Path(__file__).resolve().parents[1] / "data" / "policeuk" / "rbkc_vso_2024" / "2024-05" / \
        "2024-05-metropolitan-street.csv"

    def full_disk(engine, info, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pipeline, "_store", full_disk)
    code = cli_main(["--database", f"sqlite:///{tmp_path / 's.sqlite'}", "ingest", str(only), "--quiet"])
    out = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in out.out + out.err and "KeyError" not in out.out + out.err
    assert f"NOT STORED {only}" in out.err and "No space left on device" in out.err
    assert "Total: 0 rows read = 0 stored" in out.out


def test_md_escape_round_trips_and_leaves_no_special_character_unescaped() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from ui.text import MARKDOWN_SPECIAL, md_escape, md_unescape

    @settings(max_examples=300, deadline=None)
    @given(st.text(alphabet=st.sampled_from(list(MARKDOWN_SPECIAL) + list("ab c/1")), max_size=40))
    def check(s: str) -> None:
        out = md_escape(s)
        assert md_unescape(out) == s
        k = 0
        while k < len(out):  # every special character is preceded by a backslash
            if out[k] == "\\":
                assert k + 1 < len(out) and out[k + 1] in MARKDOWN_SPECIAL
                k += 2
                continue
            assert out[k] not in MARKDOWN_SPECIAL, (s, out)
            k += 1

    check()
    for payload in MARKDOWN:
        assert md_unescape(md_escape(payload)) == payload


# ---------------------------------------------------------------------------
# a partner on the Overview page: no "fewer than 5" can be derived from what the page shows
# ---------------------------------------------------------------------------
def test_a_partner_cannot_derive_any_suppressed_ward_count_from_the_overview_page(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    from tests.spatial.test_disclosure import attacker_bounds
    from tests.ui._signin import sign_in
    from ui import maps, planning

    root = Path(__file__).resolve().parents[1]
    url = f"sqlite:///{tmp_path / 'hotspot.sqlite'}"
    assert cli_main(["--database", url, "ingest", *map(str, sorted((root / "data" / "mps").glob("*.csv"))),
                     "--quiet"]) == 0
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv(maps.TILES_URL_ENV, raising=False)
    monkeypatch.delenv(planning.ROSTER_ENV, raising=False)
    at = sign_in(AppTest.from_file(str(root / "app.py"), default_timeout=240), url, role="partner").run()
    assert not at.exception, [e.value for e in at.exception]
    league = next(d.value for d in at.dataframe if d.value.columns[0] == "Rank")
    groups = next(d.value for d in at.dataframe if d.value.columns[0] == "Group").set_index("Group")
    label = next(g for g in groups.index if g.endswith("(sensitive)"))
    borough = int(str(groups.loc[label, "Count (this period)"]).replace(",", ""))
    shown = league["Sensitive"].astype(str).tolist()
    assert "fewer than 5" in shown  # March 2026: Norland
    # what the partner sees: each ward's label, the borough total; the truth is used only to check feasibility
    from spatial.store import connect
    from spatial.store.queries import area_counts
    from ui import overview

    series = overview.mps_ward_series(area_counts(connect(url), area_type="ward"))
    month = series[(series["month"] == series["month"].max()) & series["sensitive"].astype(bool)]
    truth = month.groupby("area_code")["count"].sum()
    names = dict(zip(league["Ward (2018 boundaries)"], league["Ward (2018 boundaries)"], strict=True))
    from spatial.datasets import load_wards

    w = load_wards(("E09000020",))
    code_of = dict(zip(w["ward_name"], w["ward_code"], strict=True))
    values = np.array([[int(truth.get(code_of[n], 0))] for n in names])
    visible = np.array([[s not in ("fewer than 5", "withheld")] for s in shown])
    labels = np.array([[s] for s in shown], dtype=object)
    assert values.sum() == borough
    for v, s in zip(values[:, 0], shown, strict=True):
        if s not in ("fewer than 5", "withheld"):
            assert int(s) == v  # the page shows the true count where it shows one
    b = attacker_bounds(values, visible, labels, np.array([True]), np.zeros(len(values), bool), np.array([True]), True)
    for k, s in enumerate(shown):
        if s == "fewer than 5":
            lo, hi = b[(k, 0)]
            assert hi - lo >= 1, (league["Ward (2018 boundaries)"].iloc[k], lo, hi)


def test_security_md_lists_every_store_read_that_bypasses_access() -> None:
    """SECURITY.md's table of role-independent reads is the allow-list above, no more and no less."""
    import re

    root = Path(__file__).resolve().parents[1]
    text = (root / "SECURITY.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\s*\| `(ui/[^`]+)` \| `([^`]+)` \|", text, flags=re.M))
    assert rows == set(ALLOWED_STORE_CALLS), (rows ^ set(ALLOWED_STORE_CALLS))
