"""Signing in for the dashboard tests: accounts in the test store, and a signed-in identity for AppTest.

``sign_in(at, url, ...)`` makes the account in the store at ``url`` when it is
missing (password :data:`PASSWORD`) and puts its identity into the AppTest
session, as the sign-in form does after checking the password.  The browser
tests sign in through the real form (``browser_sign_in``).
"""

from __future__ import annotations

from typing import Any

from spatial.store import accounts, connect
from ui import state

#: Password of every test account (hand-made; never a real one).
PASSWORD = "test password only"
#: Test accounts by role: (user name, agent id).
ACCOUNTS = {"chair": ("test-chair", None), "analyst": ("test-analyst", None), "cctv": ("test-cctv", None),
            "partner": ("test-partner", None), "warden": ("test-warden", "W01")}


def ensure_account(url: str, user: str, role: str, agent_id: str | None = None) -> None:
    """Create ``user`` with ``role`` in the store at ``url`` unless it exists (then its role is set)."""
    engine = connect(url)
    current = accounts.get_account(engine, user)
    if current is None:
        accounts.add_user(engine, user, role=role, agent_id=agent_id, password=PASSWORD, actor="tests",
                          actor_role="operator")
    elif (current.role, current.agent_id) != (role, agent_id or current.agent_id):
        accounts.set_role(engine, user, role, agent_id=agent_id, actor="tests", actor_role="operator")


def sign_in(at: Any, url: str, *, role: str = "chair", user: str | None = None, agent_id: str | None = None) -> Any:
    """Put a signed-in identity of ``role`` into the AppTest session (the account is made when missing)."""
    default_user, default_agent = ACCOUNTS[role]
    user = user or default_user
    agent_id = agent_id or default_agent
    ensure_account(url, user, role, agent_id)
    at.session_state[state.IDENTITY] = {"user": user, "method": "test"}
    return at


def browser_sign_in(page: Any, url: str, *, role: str = "chair", user: str | None = None,
                    agent_id: str | None = None, timeout_ms: int = 60_000) -> None:
    """Sign in through the real form on ``page`` (already at the app); the account is made in ``url`` first."""
    default_user, default_agent = ACCOUNTS[role]
    user = user or default_user
    ensure_account(url, user, role, agent_id or default_agent)
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_text(f"Signed in as {user}").wait_for(timeout=timeout_ms)
