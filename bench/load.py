"""Bounded load test: N concurrent dashboard sessions against one Streamlit server on 127.0.0.1.

Usage::

    .venv/bin/python bench/load.py                    # 20 sessions, 3 rounds, bundled RBKC data
    .venv/bin/python bench/load.py --sessions 5 --rounds 2

What it does: ingests the bundled RBKC June 2018 file into a fresh SQLite
store, starts ``streamlit run app.py`` on a free loopback port, warms the
caches with one session per page, then opens ``--sessions`` browser contexts
in one headless Chromium (Debian's, through Playwright) at the same moment.
Each session signs in once through the sign-in form (as a chair account made
in the store, so every page opens), then opens the pages of ``app.py`` in turn
from the sidebar menu, as a user does (each session starts at a different
page, so all pages are under load together), ``--rounds`` times.  A page
counts as loaded when its title (``h1``) is shown and Streamlit reports the
script run finished (``data-test-script-state="notRunning"``) with no
exception on the page.  The sign-in is reported as its own row.  Prints per page and overall: loads, errors, median,
95th percentile and maximum seconds.  The browser and the server share the
machine's two cores, so the times include drawing the maps as a user's
browser would, on the same CPUs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "ui"))

CHROMIUM = os.environ.get("HOTSPOT_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"]
PAGE_TIMEOUT_MS = 180_000


def app_pages() -> list[tuple[str, str]]:
    """``(url path, title)`` of every page routed in app.py, in order."""
    text = (REPO / "app.py").read_text(encoding="utf-8")
    pages = re.findall(r'st\.Page\("ui/pages/(\w+)\.py",\s*title="([^"]+)"', text)
    if not pages:
        raise SystemExit("no st.Page entries found in app.py")
    return pages


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


#: The account every session signs in as (made in the fresh store by :func:`main`).
LOAD_USER = "load-chair"
LOAD_PASSWORD = "load test password, not a real one"


async def _done(page, title: str) -> None:
    await page.locator("h1", has_text=title).first.wait_for(timeout=PAGE_TIMEOUT_MS)  # the page's st.title
    await page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(timeout=PAGE_TIMEOUT_MS)


async def _sign_in(page, base: str) -> tuple[float, str | None]:
    t0 = time.perf_counter()
    try:
        await page.goto(base, wait_until="domcontentloaded", timeout=PAGE_TIMEOUT_MS)
        await page.get_by_label("User name", exact=True).fill(LOAD_USER, timeout=PAGE_TIMEOUT_MS)
        await page.get_by_label("Password", exact=True).fill(LOAD_PASSWORD)
        await page.get_by_role("button", name="Sign in", exact=True).click()
        await page.get_by_text(f"Signed in as {LOAD_USER}").wait_for(timeout=PAGE_TIMEOUT_MS)
        await _done(page, "Overview")
        return time.perf_counter() - t0, None
    except Exception as exc:  # noqa: BLE001 - a failed sign-in is a result of a load test
        return time.perf_counter() - t0, f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"


async def _load(page, path: str, title: str) -> tuple[float, str | None]:
    """Open ``title`` from the sidebar menu (the same session) and time it until the run is over."""
    t0 = time.perf_counter()
    try:
        await page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title, exact=True).click(
            timeout=PAGE_TIMEOUT_MS)
        await page.wait_for_url(re.compile(rf"/{path}$|/$" if path == "overview" else rf"/{path}$"),
                                timeout=PAGE_TIMEOUT_MS)
        await _done(page, title)
        seconds = time.perf_counter() - t0
        errors = await page.locator('[data-testid="stException"]').count()
        return seconds, ("exception on page" if errors else None)
    except Exception as exc:  # noqa: BLE001 - a failed load is a result of a load test
        return time.perf_counter() - t0, f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"


async def _session(browser, base: str, pages: list[tuple[str, str]], start: int, rounds: int,
                   out: list[tuple[str, float, str | None]]) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = await context.new_page()
        seconds, error = await _sign_in(page, base)
        out.append(("(sign-in)", seconds, error))
        if error:
            return
        for r in range(rounds):
            for k in range(len(pages)):
                path, title = pages[(start + 1 + k + r) % len(pages)]  # never the page already shown first
                seconds, error = await _load(page, path, title)
                out.append((path, seconds, error))
    finally:
        await context.close()


async def _run(base: str, sessions: int, rounds: int) -> list[tuple[str, float, str | None]]:
    from playwright.async_api import async_playwright

    pages = app_pages()
    results: list[tuple[str, float, str | None]] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            warm: list[tuple[str, float, str | None]] = []
            await _session(browser, base, pages, 0, 1, warm)  # fill the server's caches
            bad = [w for w in warm if w[2]]
            if bad:
                print(f"warm-up errors: {bad}", file=sys.stderr)
            await asyncio.gather(*[_session(browser, base, pages, i, rounds, results) for i in range(sessions)])
        finally:
            await browser.close()
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    from _browser import _free_port, _wait_healthy  # the browser tests' server helpers

    from hotspot_cli.main import main as cli_main

    with tempfile.TemporaryDirectory(prefix="hotspot-load-") as tmp:
        url = f"sqlite:///{tmp}/hotspot.sqlite"
        if cli_main(["--database", url, "ingest", str(REPO / "data" / "policeuk" / "rbkc_api_2018-06"), "--quiet"]):
            raise SystemExit("ingest failed")
        from spatial.store import accounts, connect

        accounts.add_user(connect(url), LOAD_USER, role="chair", password=LOAD_PASSWORD, actor="bench",
                          actor_role="operator")
        port = _free_port()
        log = Path(tmp) / "streamlit.log"
        env = {**os.environ, "DATABASE_URL": url}
        cmd = [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.address", "127.0.0.1",
               "--server.port", str(port), "--server.headless", "true", "--server.enableStaticServing", "true",
               "--browser.gatherUsageStats", "false"]
        with log.open("wb") as out:
            proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
            try:
                _wait_healthy(proc, port, log)
                t0 = time.perf_counter()
                results = asyncio.run(_run(f"http://127.0.0.1:{port}", args.sessions, args.rounds))
                wall = time.perf_counter() - t0
            finally:
                proc.terminate()
                proc.wait(timeout=30)

    print(f"{args.sessions} concurrent sessions x {args.rounds} rounds x {len(app_pages())} pages "
          f"({len(results)} page loads) in {wall:.1f} s wall, {os.cpu_count()} CPUs")
    print(f"{'page':14s} {'loads':>5s} {'errors':>6s} {'median s':>9s} {'p95 s':>7s} {'max s':>7s}")
    by_page: dict[str, list[tuple[float, str | None]]] = {}
    for path, s, e in results:
        by_page.setdefault(path, []).append((s, e))
    for path, rows in [*by_page.items(), ("ALL", [(s, e) for _, s, e in results])]:
        ok = [s for s, e in rows if e is None]
        errs = [e for _, e in rows if e]
        if ok:
            print(f"{path:14s} {len(rows):5d} {len(errs):6d} {statistics.median(ok):9.2f} {_pct(ok, 0.95):7.2f} "
                  f"{max(ok):7.2f}")
        else:
            print(f"{path:14s} {len(rows):5d} {len(errs):6d}   (no successful load)")
        for e in sorted(set(errs))[:3]:
            print(f"    error: {e}")
    return 1 if any(e for _, _, e in results) else 0


if __name__ == "__main__":
    sys.exit(main())
