"""The sign-in screen, the sidebar's identity and sign-out, and each page's role check (Streamlit edge).

Passwords are checked by :func:`spatial.store.accounts.authenticate` (argon2,
lock-out, audited); single sign-on uses Streamlit's ``st.login`` when
``[auth]`` is configured in ``.streamlit/secrets.toml``, and the provider's
email must match a local account, which gives the role.  Pages start with
:func:`page_viewer`, which stops the page with an error, before any data is
read, when the signed-in role may not open it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from spatial._errors import HotspotError
from spatial.config import hotspot_home
from spatial.store import accounts, audit, sessions
from tasking.access import PAGES, Viewer, can_open, pages_for

from . import cached, identity, state
from .text import md_escape

__all__ = ["PAGE_TITLES", "audit_sensitive_view", "clear_session_cookie", "current_viewer", "page_viewer", "sidebar",
           "sign_in_form", "write_session_cookie"]

#: Titles of the pages (as in app.py), for messages.
PAGE_TITLES = {"overview": "Overview", "incidents": "Incidents map", "hotspots": "Hotspots", "tasking": "Tasking",
               "my_patrols": "My patrols", "review": "Review", "cctv": "CCTV planning", "schemes": "Schemes",
               "data": "Data"}


def _engine() -> Engine | None:
    try:
        return cached.engine(cached.settings().database_url)
    except (HotspotError, SQLAlchemyError) as exc:
        st.error(f"Cannot open the database set by DATABASE_URL: {md_escape(exc)}")
        return None


def _secrets() -> Mapping[str, Any]:
    """``st.secrets`` as a plain mapping; empty when there is no secrets.toml."""
    try:
        if not st.secrets.load_if_toml_exists():
            return {}
        return st.secrets.to_dict()
    except (FileNotFoundError, OSError, ValueError):
        return {}


def _sso_viewer(engine: Engine) -> Viewer | None:
    """The viewer of a single sign-on session whose email matches an enabled account (audited once)."""
    secrets = _secrets()
    if identity.oidc_settings(secrets) is None or not st.user.get("is_logged_in", False):
        return None
    email = str(st.user.get("email") or "")
    account = accounts.account_for_email(engine, email)
    session = st.session_state
    if account is None or account.disabled:
        if session.get(state.SSO_REFUSED) != email:
            audit.record(engine, actor=account.username if account else (email or "(no email)"),
                         role=account.role if account else "none", action="sign-in", target=email or None,
                         outcome="refused", detail={"method": "oidc",
                                                    "reason": "disabled" if account else "no-account"})
            session[state.SSO_REFUSED] = email
        return None
    identity.signed_in(session, account, method="oidc")
    _open_session(engine, account.username, "oidc")
    audit.record(engine, actor=account.username, role=account.role, action="sign-in", target=account.username,
                 detail={"method": "oidc"})
    session.pop(state.SSO_REFUSED, None)
    return Viewer.from_account(account)


def _policy() -> sessions.SessionPolicy:
    return sessions.SessionPolicy.from_env()


def _secret() -> bytes:
    return sessions.session_secret(hotspot_home())


def _open_session(engine: Engine, username: str, method: str) -> None:
    """Start the server-side session of a sign-in; its cookie is written by :func:`write_session_cookie`."""
    session = st.session_state
    session[state.SESSION_TOKEN] = sessions.start(engine, username, method=method)


def _resume_from_cookie(engine: Engine) -> None:
    """A new browser session (a reload, a phone waking up) with a live session cookie is signed in again."""
    session = st.session_state
    if state.IDENTITY in session:
        return
    value = st.context.cookies.get(sessions.COOKIE_NAME)
    if not value:
        return
    token = sessions.unsign(_secret(), value)
    live = sessions.resume(engine, token, policy=_policy())
    account = accounts.get_account(engine, live.username) if live is not None else None
    if live is None or account is None or account.disabled:
        session[state.COOKIE_CLEAR] = True  # a forged, ended or timed-out cookie is removed from the browser
        return
    session[state.IDENTITY] = {"user": account.username, "method": live.method}
    session[state.SESSION_TOKEN] = token


def _end_if_expired(engine: Engine) -> None:
    """A session whose server-side row ended (time-out, sign-out elsewhere, account disabled) is signed out."""
    session = st.session_state
    token = session.get(state.SESSION_TOKEN)
    if token is None or state.IDENTITY not in session:
        return
    if sessions.resume(engine, token, policy=_policy()) is None:
        for key in (state.IDENTITY, state.SESSION_TOKEN):
            session.pop(key, None)
        session[state.COOKIE_CLEAR] = True
        session[state.SESSION_ENDED] = True


def _cookie_script(value: str | None, max_age_s: int) -> str:
    """JavaScript that writes (or, with ``value=None``, deletes) the session cookie in this browser."""
    cookie = json.dumps(f"{sessions.COOKIE_NAME}={value or ''}; path=/; max-age={max_age_s if value else 0}; "
                        "samesite=strict")
    return (f"<script>document.cookie = {cookie} + (window.location.protocol === 'https:' ? '; secure' : '');"
            "</script>")


def write_session_cookie() -> None:
    """Write the signed session cookie (every run: a cookie cleared by the browser comes back at once)."""
    token = st.session_state.get(state.SESSION_TOKEN)
    if token is None:
        return
    st.html(_cookie_script(sessions.sign(_secret(), token), _policy().max_age_s), unsafe_allow_javascript=True)


def clear_session_cookie() -> None:
    """Delete the session cookie after a sign-out or when it no longer opens a session."""
    if st.session_state.pop(state.COOKIE_CLEAR, False):
        st.html(_cookie_script(None, 0), unsafe_allow_javascript=True)


def current_viewer() -> Viewer | None:
    """The signed-in viewer (the account read again on every run), or ``None``."""
    engine = _engine()
    if engine is None:
        return None
    try:
        _resume_from_cookie(engine)
        _end_if_expired(engine)
    except (HotspotError, SQLAlchemyError) as exc:
        st.error(f"Cannot check the sign-in session: {md_escape(exc)}")
        return None
    viewer = identity.viewer_from_session(st.session_state, lambda name: accounts.get_account(engine, name))
    return viewer if viewer is not None else _sso_viewer(engine)


def sign_in_form() -> None:
    """The sign-in screen: user name and password, and single sign-on when configured."""
    engine = _engine()
    if engine is None:
        return
    st.title("Sign in")
    if st.session_state.pop(state.SESSION_ENDED, False):
        policy = _policy()
        st.info(f"Your session ended: sessions end after {policy.idle_minutes:g} minutes without use or "
                f"{policy.absolute_hours:g} hours after sign-in, and when the account is changed. Sign in again.")
    st.caption("hotspot-tasking: crime and ASB hotspots and weekly tasking. Accounts are made by the council's "
               "administrator (`hotspot-tasking user add`).")
    secrets = _secrets()
    session = st.session_state
    if identity.oidc_settings(secrets) is not None:
        refused = session.get(state.SSO_REFUSED)
        if refused is not None:
            st.error("Single sign-on worked, but no enabled account has the email "
                     f"{md_escape(refused) or '(none given)'}. "
                     "Ask the administrator to add it (`hotspot-tasking user add NAME --role ROLE --email ...`).")
            if st.button("Sign out of single sign-on", key=state.SSO_BUTTON):
                session.pop(state.SSO_REFUSED, None)
                st.logout()
        elif st.button("Sign in with single sign-on", type="primary", key=state.SSO_BUTTON):
            st.login(identity.oidc_provider(secrets))
        st.caption("Or with a local account:")
    with st.form("sign_in", clear_on_submit=True, border=True):
        name = st.text_input("User name", key=state.SIGNIN_NAME, autocomplete="username")
        password = st.text_input("Password", type="password", key=state.SIGNIN_PASSWORD,
                                 autocomplete="current-password")
        submitted = st.form_submit_button("Sign in", type="primary", key=state.SIGNIN_SUBMIT)
    if not submitted:
        return
    try:
        policy = accounts.LockoutPolicy.from_env()
        account = accounts.authenticate(engine, name, password, policy=policy)
    except accounts.SignInRefused as exc:
        st.error(f"{md_escape(exc)} After {policy.max_failures} failures in {policy.window_minutes:g} minutes an "
                 "account is "
                 f"locked for {policy.lock_minutes:g} minutes.")
        return
    except HotspotError as exc:  # a bad lock-out setting, for example
        st.error(f"Sign-in is not possible: {md_escape(exc)}")
        return
    identity.signed_in(session, account, method="password")
    _open_session(engine, account.username, "password")
    st.rerun()


def _sign_out(viewer: Viewer) -> None:
    session = st.session_state
    method = (session.get(state.IDENTITY) or {}).get("method")
    engine = _engine()
    if engine is not None:
        sessions.end(engine, session.get(state.SESSION_TOKEN))
        accounts.record_sign_out(engine, accounts.Account(viewer.user, viewer.role, viewer.agent_id, None, False))
    today = session.get(state.TODAY)
    for key in list(session.keys()):  # a shared computer: nothing of this person's session stays
        del session[key]
    if today is not None:
        session[state.TODAY] = today
    session[state.COOKIE_CLEAR] = True
    if method == "oidc":
        st.logout()


def sidebar(viewer: Viewer) -> None:
    """Who is signed in, their role, and the sign-out button."""
    with st.sidebar:
        write_session_cookie()
        who = (f"**{md_escape(viewer.user)}** ({md_escape(viewer.role)}"
               + (f", {md_escape(viewer.agent_id)}" if viewer.agent_id else "") + ")")
        st.markdown(f"Signed in as {who}")
        if st.button("Sign out", key=state.SIGN_OUT_BUTTON):
            _sign_out(viewer)
            st.rerun()


def page_viewer(page: str, viewer: Viewer | None = None) -> Viewer:
    """The viewer of ``page``; stops the page with an error (before any data is read) if they may not open it.

    ``viewer`` is the one app.py read for this run (``current_viewer`` is read once per run); without it
    (a page run on its own) the session is read here.
    """
    if page not in PAGES:
        msg = f"page {page!r} is not one of {', '.join(PAGES)}"
        raise ValueError(msg)
    viewer = viewer if viewer is not None else current_viewer()
    if viewer is None:
        st.warning("Sign in to see this page.")
        st.stop()
    identity.new_page_view(st.session_state, page)
    if not can_open(viewer, page):
        mine = ", ".join(PAGE_TITLES[p] for p in pages_for(viewer))
        st.error(f"The {PAGE_TITLES[page]} page is not open to the {viewer.role} role. Pages you can open: {mine}.")
        st.stop()
    return viewer


def audit_sensitive_view(viewer: Viewer, page: str, *, detail: Mapping[str, Any] | None = None) -> None:
    """Audit that ``viewer`` saw aggregates that include sensitive categories: once per page view."""
    session = st.session_state
    if session.get(state.VIEW_AUDITED) and session.get(state.VIEW_PAGE) == page:
        return
    engine = _engine()
    if engine is None:
        return
    audit.record(engine, actor=viewer.user, role=viewer.role, action="view-sensitive", target=page,
                 detail=dict(detail or {}))
    session[state.VIEW_PAGE] = page
    session[state.VIEW_AUDITED] = True
