"""Sign-in sessions (migration 0007): signed cookie, server-side rows, time-outs and revocation, on both back ends."""

from __future__ import annotations

import datetime as dt
import os
import stat

import _builders as B  # first: puts the repository root on sys.path
import pytest
from sqlalchemy import select

from spatial.store import accounts as A
from spatial.store import sessions as S
from spatial.store import tables as T

T0 = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)
ADMIN = {"actor": "root", "actor_role": "operator"}
POLICY = S.SessionPolicy(idle_minutes=30, absolute_hours=8)


def _at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def test_the_database_keeps_only_the_tokens_hash_and_the_session_resumes(db_url):
    env = B.make_env(db_url)
    token = S.start(env.engine, "sam", method="password", now=T0)
    with env.engine.connect() as conn:
        keys = conn.execute(select(T.sessions.c.session_key)).scalars().all()
    assert len(keys) == 1 and token not in keys[0] and len(keys[0]) == 64
    live = S.resume(env.engine, token, policy=POLICY, now=_at(10))
    assert live is not None and (live.username, live.method) == ("sam", "password")
    assert S.resume(env.engine, token + "x", policy=POLICY, now=_at(11)) is None  # a token never issued
    assert S.resume(env.engine, None, policy=POLICY, now=_at(11)) is None


def test_idle_and_absolute_time_outs_end_the_session(db_url):
    env = B.make_env(db_url)
    idle = S.start(env.engine, "sam", method="password", now=T0)
    assert S.resume(env.engine, idle, policy=POLICY, now=_at(29)) is not None
    assert S.resume(env.engine, idle, policy=POLICY, now=_at(29 + 29)) is not None  # use refreshes the idle clock
    assert S.resume(env.engine, idle, policy=POLICY, now=_at(58 + 31)) is None
    assert S.resume(env.engine, idle, policy=POLICY, now=_at(58 + 32)) is None  # ended stays ended
    busy = S.start(env.engine, "jo", method="password", now=T0)
    for minute in range(20, 8 * 60, 20):  # used every 20 minutes all day
        assert S.resume(env.engine, busy, policy=POLICY, now=_at(minute)) is not None, minute
    assert S.resume(env.engine, busy, policy=POLICY, now=_at(8 * 60 + 1)) is None
    with env.engine.connect() as conn:
        reasons = dict(conn.execute(select(T.sessions.c.username, T.sessions.c.end_reason)).all())
    assert reasons == {"sam": "idle time-out", "jo": "absolute time-out"}


def test_sign_out_ends_one_session_and_disabling_the_account_ends_all(db_url):
    env = B.make_env(db_url)
    A.add_user(env.engine, "wendy", role="warden", agent_id="W01", password="a long test password", now=T0, **ADMIN)
    phone = S.start(env.engine, "wendy", method="password", now=T0)
    desk = S.start(env.engine, "wendy", method="password", now=T0)
    other = S.start(env.engine, "sam", method="password", now=T0)
    S.end(env.engine, desk, now=_at(1))
    assert S.resume(env.engine, desk, policy=POLICY, now=_at(2)) is None
    assert S.resume(env.engine, phone, policy=POLICY, now=_at(2)) is not None
    A.disable_user(env.engine, "wendy", now=_at(3), **ADMIN)
    assert S.resume(env.engine, phone, policy=POLICY, now=_at(4)) is None
    assert S.resume(env.engine, other, policy=POLICY, now=_at(4)) is not None  # someone else's stays
    with env.engine.connect() as conn:
        ended = conn.execute(select(T.sessions.c.end_reason).where(T.sessions.c.username == "wendy")
                             .order_by(T.sessions.c.end_reason)).scalars().all()
    assert ended == ["account disabled", "signed out"]


@pytest.mark.parametrize("change", ["role", "password"])
def test_a_role_or_password_change_signs_the_account_out_everywhere(db_url, change):
    env = B.make_env(db_url)
    A.add_user(env.engine, "ana", role="analyst", password="a long test password", now=T0, **ADMIN)
    token = S.start(env.engine, "ana", method="password", now=T0)
    if change == "role":
        A.set_role(env.engine, "ana", "partner", now=_at(1), **ADMIN)
    else:
        A.set_password(env.engine, "ana", "another long password", now=_at(1), **ADMIN)
    assert S.resume(env.engine, token, policy=POLICY, now=_at(2)) is None


def test_the_cookie_is_signed_and_a_changed_cookie_is_refused():
    secret = b"s" * 40
    value = S.sign(secret, "tok123")
    assert S.unsign(secret, value) == "tok123"
    token, mac = value.split(".")
    assert S.unsign(secret, f"tok124.{mac}") is None
    assert S.unsign(secret, f"{token}.{mac[:-1]}A" if not mac.endswith("A") else f"{token}.{mac[:-1]}B") is None
    assert S.unsign(b"t" * 40, value) is None
    for bad in ("", "nodot", "a.b.c", ".mac"):
        assert S.unsign(secret, bad) is None


def test_the_secret_is_made_once_0600_or_read_from_the_environment(tmp_path):
    first = S.session_secret(tmp_path, environ={})
    assert S.session_secret(tmp_path, environ={}) == first and len(first) >= 48
    assert stat.S_IMODE(os.stat(tmp_path / "session-secret").st_mode) == 0o600
    assert S.session_secret(tmp_path, environ={"HOTSPOT_SESSION_SECRET": "x" * 40}) == b"x" * 40
    with pytest.raises(S.SessionError, match="shorter than 32"):
        S.session_secret(tmp_path, environ={"HOTSPOT_SESSION_SECRET": "short"})


def test_policy_from_the_environment_is_checked():
    assert S.SessionPolicy.from_env({"HOTSPOT_SESSION_ABSOLUTE_HOURS": "24"}).max_age_s == 24 * 3600
    with pytest.raises(S.SessionError, match="give a number"):
        S.SessionPolicy.from_env({"HOTSPOT_SESSION_IDLE_MINUTES": "soon"})
    with pytest.raises(S.SessionError, match="never apply"):
        S.SessionPolicy(idle_minutes=600, absolute_hours=2)
    with pytest.raises(S.SessionError, match="not usable"):
        S.SessionPolicy(idle_minutes=0)
