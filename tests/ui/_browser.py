"""Shared pieces of the real-browser tests (Debian Chromium driven by Playwright).

Constants, server start-up and page helpers used by every ``test_browser*.py``;
the fixtures that start the Streamlit server live in ``tests/ui/conftest.py``.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("HOTSPOT_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = REPO / "docs" / "screenshots"
SCREENSHOT = SCREENSHOTS / "incidents-map.png"
SMALL_POLICE_UK = REPO / "data" / "policeuk" / "rbkc_api_2018-06"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
SERVER_START_S = 60.0
MAP_DRAW_MS = 60_000
PLAN_BUILD_MS = 90_000  # hotspots, candidates, MILP, greedy and checker on 2 cores: 5-10 s, more on a busy machine
PAGE_MS = 60_000
FOLIUM_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
RBKC = "E09000020"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Poll ``/_stcore/health`` until it answers "ok", the server exits, or the deadline passes."""
    deadline = time.monotonic() + SERVER_START_S
    url = f"http://127.0.0.1:{port}/_stcore/health"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"streamlit exited with status {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200 and resp.read().strip() == b"ok":
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass  # not listening yet: poll again
        time.sleep(0.25)
    pytest.fail(f"streamlit did not answer {url} within {SERVER_START_S:.0f} s:\n{log.read_text(errors='replace')}")


def _launch(pw):
    return pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


def _watch(page, server: str) -> tuple[list[str], list[str]]:
    """Record requests leaving the server and failed requests."""
    external: list[str] = []
    failed: list[str] = []
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith(
        (server, "data:", "blob:", "about:")) else None)
    page.on("requestfailed", lambda r: failed.append(f"{r.url} ({r.failure})") if "/_stcore/" not in r.url else None)
    return external, failed


def _exceptions(page) -> list[str]:
    return page.locator('[data-testid="stException"]').all_inner_texts()


def _idle(page, timeout_ms: int = PLAN_BUILD_MS) -> None:
    """Wait until the page's script run is over (Streamlit's own ``data-test-script-state`` on the app root).

    A click made while a run is drawing can land on an element that is still moving (a map's frame or a
    table growing above it), so a test clicks only on an idle page.
    """
    page.wait_for_function("() => document.querySelector('[data-testid=\"stApp\"]')"
                           "?.getAttribute('data-test-script-state') === 'notRunning'", timeout=timeout_ms)


def _press(page, button) -> None:
    """Press ``button`` from the keyboard (focus, then Enter) on an idle page.

    The keyboard press reaches the button itself, wherever the layout has moved it by then, and checks
    what a keyboard user needs as well: that the button takes the focus and answers Enter.
    """
    _idle(page)
    button.focus()
    page.keyboard.press("Enter")


def _outcome(page, text: str, *, timeout_ms: int = PAGE_MS) -> str:
    """Wait for ``text`` on the page; fail with the page's own messages if an error or nothing appears instead."""
    wanted = page.get_by_text(text)
    alerts = page.locator('[data-testid="stAlertContentError"], [data-testid="stException"]')
    try:
        wanted.or_(alerts).first.wait_for(timeout=timeout_ms)
    except Exception as exc:  # Playwright's TimeoutError: say what the page showed instead
        state = page.evaluate("() => document.querySelector('[data-testid=\"stApp\"]')"
                              "?.getAttribute('data-test-script-state')")
        shown = page.locator('[data-testid="stAlert"]').all_inner_texts()
        raise AssertionError(f"{text!r} did not appear; script state {state}, messages {shown}") from exc
    if not wanted.count():
        raise AssertionError(f"{text!r} did not appear; the page shows {alerts.all_inner_texts()}")
    return wanted.first.inner_text()


def _settled_map(page, *, timeout_ms: int = MAP_DRAW_MS) -> None:
    """Wait until the page's first folium map has drawn its shapes and finished any zoom (for a screenshot)."""
    page.frame_locator(FOLIUM_IFRAME).first.locator("path.leaflet-interactive").first.wait_for(timeout=timeout_ms)
    frame = page.locator(FOLIUM_IFRAME).first.element_handle().content_frame()
    frame.wait_for_function("() => !document.querySelector('.leaflet-zoom-anim, .leaflet-pan-anim')",
                            timeout=timeout_ms)
    page.wait_for_timeout(500)  # Leaflet's zoom animation is 250 ms; the labels are laid out at its end


def _pick(page, label: str, option: str | re.Pattern[str]) -> None:
    """Choose ``option`` in the Streamlit select box labelled ``label``."""
    page.get_by_role("combobox", name=label, exact=True).click()
    page.get_by_role("option", name=option).first.click()


#: The account every browser test signs in with (made in the server's store by ``tests/ui/conftest.py``).
CHAIR_USER = "browser-chair"


def _sign_in(page, *, user: str = CHAIR_USER, timeout_ms: int = PAGE_MS) -> None:
    """Sign in through the real form on ``page`` (the password of every test account: ``_signin.PASSWORD``)."""
    from _signin import PASSWORD

    page.get_by_role("heading", name="Sign in", exact=True).wait_for(timeout=timeout_ms)
    page.get_by_label("User name", exact=True).fill(user)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_text(f"Signed in as {user}").wait_for(timeout=timeout_ms)


def _goto(page, url: str, *, user: str = CHAIR_USER) -> None:
    """Open ``url`` in a new session (a page load starts one) and sign in as ``user``; the page then runs."""
    page.goto(url, wait_until="domcontentloaded")
    _sign_in(page, user=user)
