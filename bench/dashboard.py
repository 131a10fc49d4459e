"""Time the first render of every dashboard page, cold and warm, and the Tasking page's plan.

Usage::

    .venv/bin/python bench/dashboard.py [--database URL] [--repeat 5] [--skip-plan]

Without ``--database`` a throwaway SQLite store is made and the bundled data
ingested into it (``hotspot-tasking ingest --bundled``: RBKC, the neighbour demo
area and the MPS series), as a council would start, and last week's plan is
built and approved so that the Review page has a week to show.

The pages are read from ``app.py``'s ``st.Page("...", title="...")`` list, so a
page added later is timed without touching this script.  Each page is rendered
with Streamlit's ``AppTest`` (``AppTest.from_file("app.py")``, ``switch_page``,
``run()``) in this process, so the Streamlit caches behave as in one server
process:

* **cold**: every ``st.cache_data`` / ``st.cache_resource`` entry cleared, then
  one render (a new user after a restart, or after an ingest changed the data
  version);
* **warm**: ``--repeat`` more renders, each with a fresh session (a new
  browser tab), caches kept; the median is compared with the issue's 2 s target.

The Tasking page's plan (hotspots, candidates, MILP, greedy, checker) is timed
separately, cold, with the "Build plan" state set, against the 10 s target.
Python's imports are done once before any timing (a server pays them once).
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

APP = REPO / "app.py"
PAGE_TARGET_S = 2.0
PLAN_TARGET_S = 10.0
TODAY = "2026-11-23"  # the Tasking page plans 2026-W49 whatever the date
#: The account the renders are signed in as (a chair: every page opens); made in the store when missing.
BENCH_USER = "bench-chair"


def app_pages(app: Path = APP) -> list[tuple[str, str]]:
    """``(script path, title)`` of every page in ``app.py``'s navigation, in menu order."""
    text = app.read_text(encoding="utf-8")
    pages = re.findall(r'st\.Page\(\s*"([^"]+)"\s*(?:,\s*title\s*=\s*"([^"]+)")?', text)
    if not pages:
        msg = f"no st.Page(...) entries found in {app}"
        raise SystemExit(msg)
    return [(path, title or Path(path).stem) for path, title in pages]


def _clear_caches() -> None:
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


def _render(page: str, **session: object) -> tuple[float, list[str]]:
    """Seconds for one render of ``page`` with a fresh session, and any exception texts."""
    from streamlit.testing.v1 import AppTest

    from ui import state

    at = AppTest.from_file(str(APP), default_timeout=600)
    at.session_state[state.TODAY] = TODAY
    at.session_state[state.IDENTITY] = {"user": BENCH_USER, "method": "test"}  # as the sign-in form leaves it
    for key, value in session.items():
        at.session_state[key] = value
    at.switch_page(page)
    t0 = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - t0
    return elapsed, [str(e.value) for e in at.exception]


def _ingest_bundled(url: str) -> float:
    from hotspot_cli.main import main as cli_main

    t0 = time.perf_counter()
    if cli_main(["--database", url, "ingest", "--bundled", "--quiet"]) != 0:
        msg = "ingest --bundled failed"
        raise SystemExit(msg)
    return time.perf_counter() - t0


REVIEW_WEEK = "2026-W47"  # "last week" for TODAY: the Review page's default


def _approve_last_week(url: str) -> float:
    """Build and approve last week's plan, so the Review page has a week to review (as after a meeting)."""
    from spatial.store import connect
    from tasking.resources import load_roster
    from ui import planning

    t0 = time.perf_counter()
    engine = connect(url)
    inputs = planning.read_inputs(engine, borough=load_roster(planning.roster_path()).borough_code)
    outcome = planning.build_plan(inputs, roster=load_roster(planning.roster_path()), week=REVIEW_WEEK)
    if outcome.plan is None:
        msg = f"no plan for {REVIEW_WEEK}: {outcome.error}"
        raise SystemExit(msg)
    from tasking import records

    records.approve_week_plan(engine, outcome.plan, user="Benchmark Chair")
    engine.dispose()
    return time.perf_counter() - t0


def _bench_account(url: str) -> None:
    """The chair account the renders sign in as (a random password nobody knows: AppTest needs none)."""
    import secrets

    from spatial.store import accounts, connect

    engine = connect(url)
    if accounts.get_account(engine, BENCH_USER) is None:
        accounts.add_user(engine, BENCH_USER, role="chair", password=secrets.token_urlsafe(24), actor="bench",
                          actor_role="operator")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="store to use (default: a new SQLite store with the bundled data)")
    parser.add_argument("--repeat", type=int, default=5, help="warm renders per page (median reported)")
    parser.add_argument("--skip-plan", action="store_true", help="do not time the Tasking page's plan")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be 1 or more")

    tmp = None
    if args.database:
        url = args.database
    else:
        tmp = tempfile.TemporaryDirectory(prefix="bench-dashboard-")
        url = f"sqlite:///{Path(tmp.name) / 'hotspot.sqlite'}"
        print(f"ingesting the bundled data into {url} ...", flush=True)
        print(f"  ingest --bundled: {_ingest_bundled(url):.1f} s", flush=True)
        print(f"  approve {REVIEW_WEEK}'s plan (for the Review page): {_approve_last_week(url):.1f} s", flush=True)
    os.environ["DATABASE_URL"] = url
    os.environ.pop("HOTSPOT_TILES_URL", None)
    _bench_account(url)

    # the imports a running server has already paid for
    import folium  # noqa: F401
    import streamlit_folium  # noqa: F401
    from streamlit.components.v2 import manifest_scanner

    import ui.analysis  # noqa: F401
    import ui.cached  # noqa: F401
    import ui.overview  # noqa: F401
    import ui.planning  # noqa: F401
    from ui import state

    # A server scans the installed packages for Streamlit components once, at start-up; AppTest does
    # it for every AppTest object (0.3-0.6 s here), which is not the page's time: keep the first scan.
    manifest_scanner.scan_component_manifests = functools.cache(manifest_scanner.scan_component_manifests)

    pages = app_pages()
    rows = []
    failed = False
    for path, title in pages:
        _clear_caches()
        cold, errors = _render(path)
        warm = []
        for _ in range(args.repeat):
            t, more = _render(path)
            warm.append(t)
            errors += more
        median = statistics.median(warm)
        ok = median < PAGE_TARGET_S and not errors
        failed |= not ok
        rows.append((title, path, cold, median, max(warm), ok, errors))
        print(f"  {title}: cold {cold:.2f} s, warm median {median:.2f} s" + (f"  ERRORS: {errors[:2]}" if errors
                                                                               else ""), flush=True)

    plan_rows = []
    if not args.skip_plan:
        tasking = next((p for p, _ in pages if p.endswith("tasking.py")), None)
        if tasking is None:
            print("no Tasking page in app.py: plan not timed")
        else:
            _clear_caches()
            cold, errors = _render(tasking, **{state.TASKING_SHOW: True})
            warm, more = _render(tasking, **{state.TASKING_SHOW: True})
            ok = cold < PLAN_TARGET_S and not (errors or more)
            failed |= not ok
            plan_rows.append((cold, warm, ok, errors + more))

    print()
    print(f"Store: {url}; {args.repeat} warm renders per page (fresh session each); target {PAGE_TARGET_S:g} s warm")
    print()
    print("| page | script | cold s | warm s (median) | warm s (max) | < 2 s warm |")
    print("|---|---|---|---|---|---|")
    for title, path, cold, median, worst, ok, errors in rows:
        verdict = "pass" if ok else ("FAIL (exception)" if errors else "FAIL")
        print(f"| {title} | `{path}` | {cold:.2f} | {median:.2f} | {worst:.2f} | {verdict} |")
    if plan_rows:
        cold, warm, ok, errors = plan_rows[0]
        print()
        print("| Tasking plan (build, cold caches) | s | target | result |")
        print("|---|---|---|---|")
        verdict = "pass" if ok else ("FAIL (exception)" if errors else "FAIL")
        print(f"| plan for 2026-W49 on the bundled store | {cold:.2f} | < {PLAN_TARGET_S:g} s | {verdict} |")
        print(f"| the same page again (plan cached) | {warm:.2f} | < {PAGE_TARGET_S:g} s | "
              f"{'pass' if warm < PAGE_TARGET_S else 'FAIL'} |")
    if tmp is not None:
        tmp.cleanup()
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
