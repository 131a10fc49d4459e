"""Who is signed in: the session's identity, single sign-on settings, page views (no Streamlit here).

The session holds only the account name and how it signed in
(:data:`ui.state.IDENTITY`); the role and agent id are read from the account
on every run, so a role change or a disabled account takes effect at once.
The helpers take the session mapping and an account lookup as arguments, so
they are tested without Streamlit; ``ui/signin.py`` draws the form.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from typing import Any, Final

from spatial.store.accounts import Account
from tasking.access import PAGES, AccessDenied, Viewer, can_open

from . import state

__all__ = ["SIGN_IN_METHODS", "signed_in", "viewer_from_session", "oidc_settings", "oidc_provider",
           "new_page_view", "default_page", "landing_after_sign_in", "page_visible"]

#: How a session signed in.
SIGN_IN_METHODS: Final = ("password", "oidc", "test")


def signed_in(session: MutableMapping[str, Any], account: Account, *, method: str) -> None:
    """Put ``account``'s identity in the session (after the password or single sign-on was checked)."""
    if method not in SIGN_IN_METHODS:
        msg = f"sign-in method {method!r} is not one of {', '.join(SIGN_IN_METHODS)}"
        raise ValueError(msg)
    session[state.IDENTITY] = {"user": account.username, "method": method}
    session[state.JUST_SIGNED_IN] = True


def viewer_from_session(session: MutableMapping[str, Any],
                        lookup: Callable[[str], Account | None]) -> Viewer | None:
    """The signed-in :class:`~tasking.access.Viewer`, or ``None`` (and the identity dropped) if there is none.

    The account is looked up again (``lookup(name)``): if it is gone, disabled
    or no longer valid (a warden without an agent id), the session is signed out.

    Examples
    --------
    >>> acc = Account("wendy", "warden", "W01", None, False)
    >>> s = {state.IDENTITY: {"user": "wendy", "method": "password"}}
    >>> viewer_from_session(s, {"wendy": acc}.get)
    Viewer(user='wendy', role='warden', agent_id='W01')
    >>> viewer_from_session(s, {}.get), state.IDENTITY in s
    (None, False)
    """
    ident = session.get(state.IDENTITY)
    if not isinstance(ident, Mapping) or not ident.get("user"):
        session.pop(state.IDENTITY, None)
        return None
    account = lookup(str(ident["user"]))
    if account is None or account.disabled:
        session.pop(state.IDENTITY, None)
        return None
    try:
        return Viewer.from_account(account)
    except AccessDenied:
        session.pop(state.IDENTITY, None)
        return None


def oidc_settings(secrets: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The ``[auth]`` section of ``.streamlit/secrets.toml`` when it is complete enough for ``st.login``, else None.

    Streamlit needs ``redirect_uri`` and ``cookie_secret``, and a provider's
    ``client_id``, ``client_secret`` and ``server_metadata_url`` either in
    ``[auth]`` itself or in one ``[auth.NAME]`` section.

    Examples
    --------
    >>> oidc_settings({}) is None
    True
    >>> conf = {"auth": {"redirect_uri": "https://x/oauth2callback", "cookie_secret": "s",
    ...                  "microsoft": {"client_id": "a", "client_secret": "b", "server_metadata_url": "https://m"}}}
    >>> oidc_provider(conf)
    'microsoft'
    """
    auth = secrets.get("auth")
    if not isinstance(auth, Mapping) or not auth.get("redirect_uri") or not auth.get("cookie_secret"):
        return None
    keys = ("client_id", "client_secret", "server_metadata_url")
    if all(auth.get(k) for k in keys):
        return auth
    if any(isinstance(v, Mapping) and all(v.get(k) for k in keys) for v in auth.values()):
        return auth
    return None


def oidc_provider(secrets: Mapping[str, Any]) -> str | None:
    """The provider name to pass to ``st.login`` (``None``: the default ``[auth]`` provider).

    Raises
    ------
    ValueError
        If single sign-on is not configured (call :func:`oidc_settings` first).
    """
    auth = oidc_settings(secrets)
    if auth is None:
        msg = "single sign-on is not configured: add an [auth] section to .streamlit/secrets.toml"
        raise ValueError(msg)
    keys = ("client_id", "client_secret", "server_metadata_url")
    named = [k for k, v in auth.items() if isinstance(v, Mapping) and all(v.get(x) for x in keys)]
    if all(auth.get(k) for k in keys) or not named:
        return None
    return str(min(named))


def new_page_view(session: MutableMapping[str, Any], page: str) -> bool:
    """Note that ``page`` runs; True when this starts a new page view (another page ran before), not a rerun.

    Examples
    --------
    >>> s = {}
    >>> new_page_view(s, "overview"), new_page_view(s, "overview"), new_page_view(s, "data")
    (True, False, True)
    """
    if session.get(state.VIEW_PAGE) == page:
        return False
    session[state.VIEW_PAGE] = page
    session[state.VIEW_AUDITED] = False
    return True


def default_page(viewer: Viewer | None) -> str:
    """The page a viewer lands on: Overview, or My patrols for a warden.

    Examples
    --------
    >>> default_page(Viewer("w", "warden", "W01")), default_page(None)
    ('my_patrols', 'overview')
    """
    if viewer is not None and not can_open(viewer, "overview"):
        return next(p for p in PAGES if can_open(viewer, p))
    return "overview"


def landing_after_sign_in(session: MutableMapping[str, Any], viewer: Viewer | None, current: str) -> str | None:
    """The page to switch to on the first run after a sign-in, or ``None`` to stay on ``current``.

    Before sign-in the front page is Overview; a role that may not open it (a
    warden) is taken to its own first page.  A page the person opened by its
    address is kept (a refusal there is the page's own message).  The flag is
    read once.

    Examples
    --------
    >>> s = {state.JUST_SIGNED_IN: True}
    >>> landing_after_sign_in(s, Viewer("w", "warden", "W01"), "overview"), state.JUST_SIGNED_IN in s
    ('my_patrols', False)
    >>> landing_after_sign_in({state.JUST_SIGNED_IN: True}, Viewer("c", "chair", None), "overview") is None
    True
    >>> landing_after_sign_in({state.JUST_SIGNED_IN: True}, Viewer("w", "warden", "W01"), "tasking") is None
    True
    >>> landing_after_sign_in({}, Viewer("w", "warden", "W01"), "overview") is None
    True
    """
    if not session.pop(state.JUST_SIGNED_IN, False) or viewer is None:
        return None
    home = default_page(viewer)
    return home if current == default_page(None) and home != current else None


def page_visible(viewer: Viewer | None, page: str) -> bool:
    """Whether ``page`` is listed in the menu for ``viewer`` (nothing is listed before sign-in)."""
    return viewer is not None and can_open(viewer, page)
