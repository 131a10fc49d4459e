"""Sign-in, lock-out, roles in the menu, sign-out and single sign-on settings: AppTest on ``app.py``.

Store: the real RBKC police.uk API file for June 2018.  Accounts are made
in the test store with ``spatial.store.accounts`` (hand-made test accounts).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _signin import PASSWORD, ensure_account, sign_in
from streamlit.testing.v1 import AppTest

from hotspot_cli.main import main as cli_main
from spatial.store import accounts, audit, connect
from tasking.access import Viewer
from ui import identity, maps, planning, state
from ui.text import md_unescape

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
SMALL_POLICE_UK = REPO / "data" / "policeuk" / "rbkc_api_2018-06"
OIDC = {"auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "not a real secret",
                 "client_id": "hotspot", "client_secret": "not real either",
                 "server_metadata_url": "https://login.example.invalid/.well-known/openid-configuration"}}


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('signin') / 'hotspot.sqlite'}"
    assert cli_main(["--database", url, "ingest", str(SMALL_POLICE_UK), "--quiet"]) == 0
    return url


def _app(url: str, monkeypatch: pytest.MonkeyPatch, page: str | None = None) -> AppTest:
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv(maps.TILES_URL_ENV, raising=False)
    monkeypatch.delenv(planning.ROSTER_ENV, raising=False)
    for name in accounts.LOCKOUT_ENV:
        monkeypatch.delenv(name, raising=False)
    at = AppTest.from_file(APP, default_timeout=120)
    if page:
        at.switch_page(page)
    return at


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _submit(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key=state.SIGNIN_NAME).input(name)
    at.text_input(key=state.SIGNIN_PASSWORD).input(password)
    at.button(key=state.SIGNIN_SUBMIT).click().run()
    _ok(at)
    return at


def test_a_page_opened_before_sign_in_shows_only_the_form(url, monkeypatch) -> None:
    at = _app(url, monkeypatch, "ui/pages/incidents.py").run()
    _ok(at)
    assert [t.value for t in at.title] == ["Sign in"]
    assert not at.dataframe and not at.get("component_instance") and not at.metric
    assert state.SSO_BUTTON not in [b.key for b in at.button]  # single sign-on is off without [auth]


def test_signing_in_with_the_form_opens_the_page_and_is_audited(url, monkeypatch) -> None:
    ensure_account(url, "Form Chair", "chair")
    engine = connect(url)
    at = _app(url, monkeypatch, "ui/pages/incidents.py").run()
    _submit(at, "Form Chair", "not the password at all")
    assert any("Sign-in refused" in md_unescape(e.value) for e in at.error)
    assert [t.value for t in at.title] == ["Sign in"]
    _submit(at, "Form Chair", PASSWORD)
    assert [t.value for t in at.title] == ["Incidents map"]
    assert any("Signed in as **Form Chair** (chair)" in m.value for m in at.sidebar.markdown)
    assert at.session_state[state.IDENTITY] == {"user": "Form Chair", "method": "password"}
    assert state.SIGNIN_PASSWORD not in at.session_state or not at.session_state[state.SIGNIN_PASSWORD]
    rows = audit.list_audit(engine, action="sign-in", actor="Form Chair")
    assert rows["outcome"].tolist() == ["ok", "refused"]
    assert PASSWORD not in rows.astype(str).to_string()


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(url, monkeypatch) -> None:
    ensure_account(url, "Locked Analyst", "analyst")
    at = _app(url, monkeypatch).run()
    for k in range(5):
        _submit(at, "Locked Analyst", f"wrong guess {k}")
    _submit(at, "Locked Analyst", PASSWORD)
    assert [t.value for t in at.title] == ["Sign in"]
    rows = audit.list_audit(connect(url), action="sign-in", actor="Locked Analyst")
    assert rows.iloc[0]["detail"]["reason"] == "locked" and rows.iloc[1]["detail"]["locked"] is True


def test_the_menu_holds_only_the_roles_pages_and_a_warden_lands_on_my_patrols(url, monkeypatch) -> None:
    at = sign_in(_app(url, monkeypatch), url, role="warden", agent_id="W02").run()
    _ok(at)
    assert [t.value for t in at.title] == ["My patrols"]
    at = sign_in(_app(url, monkeypatch, "ui/pages/tasking.py"), url, role="partner").run()
    _ok(at)
    assert any("The Tasking page is not open to the partner role. Pages you can open: Overview, Hotspots." == e.value
               for e in at.error)
    assert not at.dataframe and not at.metric and not at.button(key=state.SIGN_OUT_BUTTON).disabled
    assert identity.page_visible(Viewer("p", "partner"), "hotspots")
    assert not identity.page_visible(Viewer("p", "partner"), "tasking") and not identity.page_visible(None, "overview")


def test_a_disabled_account_is_signed_out_on_its_next_run(url, monkeypatch) -> None:
    ensure_account(url, "Soon Gone", "analyst")
    at = sign_in(_app(url, monkeypatch, "ui/pages/data.py"), url, role="analyst", user="Soon Gone").run()
    _ok(at)
    assert [t.value for t in at.title] == ["Data"]
    accounts.disable_user(connect(url), "Soon Gone", actor="tests", actor_role="operator")
    at.run()
    _ok(at)
    assert [t.value for t in at.title] == ["Sign in"] and state.IDENTITY not in at.session_state
    accounts.enable_user(connect(url), "Soon Gone", actor="tests", actor_role="operator")


def test_sign_out_clears_the_session_and_is_audited(url, monkeypatch) -> None:
    at = sign_in(_app(url, monkeypatch, "ui/pages/incidents.py"), url, role="chair", user="Out Chair").run()
    _ok(at)
    at.session_state[state.WARDS] = []
    at.button(key=state.SIGN_OUT_BUTTON).click().run()
    _ok(at)
    assert [t.value for t in at.title] == ["Sign in"]
    assert state.IDENTITY not in at.session_state and state.WARDS not in at.session_state
    assert audit.list_audit(connect(url), action="sign-out")["actor"].tolist()[0] == "Out Chair"


def test_single_sign_on_button_only_when_auth_is_configured(url, monkeypatch) -> None:
    at = _app(url, monkeypatch)
    for key, value in OIDC.items():
        at.secrets[key] = value
    at.run()
    _ok(at)
    assert at.button(key=state.SSO_BUTTON).label == "Sign in with single sign-on"
    assert identity.oidc_settings({"auth": {"redirect_uri": "x"}}) is None  # incomplete: off
    assert identity.oidc_provider(OIDC) is None
    with pytest.raises(ValueError, match="not configured"):
        identity.oidc_provider({})


def test_the_single_sign_on_email_maps_to_the_account_which_gives_the_role(url) -> None:
    engine = connect(url)
    accounts.add_user(engine, "sso-cctv", role="cctv", password=None, email="Camera.Planner@RBKC.example",
                      actor="tests", actor_role="operator")
    acc = accounts.account_for_email(engine, "camera.planner@rbkc.example")
    session: dict = {}
    identity.signed_in(session, acc, method="oidc")
    viewer = identity.viewer_from_session(session, lambda n: accounts.get_account(engine, n))
    assert viewer == Viewer("sso-cctv", "cctv") and session[state.IDENTITY]["method"] == "oidc"
    assert accounts.account_for_email(engine, "someone.else@rbkc.example") is None
    with pytest.raises(accounts.SignInRefused):  # no password: the form cannot sign this account in
        accounts.authenticate(engine, "sso-cctv", "")


def test_a_single_sign_on_session_is_signed_in_as_the_account_with_that_email(url, monkeypatch) -> None:
    """No provider is reachable here, so ``st.user`` is replaced by what Streamlit holds after a provider's login."""
    import streamlit

    engine = connect(url)
    accounts.add_user(engine, "sso-partner", role="partner", password=None, email="pat@partner.example",
                      actor="tests", actor_role="operator")
    monkeypatch.setattr(streamlit, "user", {"is_logged_in": True, "email": "Pat@Partner.example"})
    at = _app(url, monkeypatch, "ui/pages/hotspots.py")
    for key, value in OIDC.items():
        at.secrets[key] = value
    at.run()
    _ok(at)
    assert [t.value for t in at.title] == ["Hotspots"]
    assert at.session_state[state.IDENTITY] == {"user": "sso-partner", "method": "oidc"}
    row = audit.list_audit(engine, action="sign-in", actor="sso-partner").iloc[0]
    assert row["detail"] == {"method": "oidc"} and row["role"] == "partner"

    monkeypatch.setattr(streamlit, "user", {"is_logged_in": True, "email": "stranger@elsewhere.example"})
    other = _app(url, monkeypatch, "ui/pages/hotspots.py")
    for key, value in OIDC.items():
        other.secrets[key] = value
    other.run()
    other.run()  # the refusal is audited once, not on every rerun
    _ok(other)
    assert [t.value for t in other.title] == ["Sign in"]
    assert any("no enabled account has the email stranger@elsewhere.example" in md_unescape(e.value)
               for e in other.error)
    refused = audit.list_audit(engine, action="sign-in", actor="stranger@elsewhere.example")
    assert len(refused) == 1 and refused.iloc[0]["detail"]["reason"] == "no-account"
