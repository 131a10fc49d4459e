"""Server-side sign-in sessions behind a signed, expiring, revocable cookie.

A sign-in makes a session row (migration 0007) and gives the browser a cookie
``<token>.<signature>``: ``token`` is 32 random bytes (URL-safe base64) and
``signature`` an HMAC-SHA256 of it under the server's session secret.  The
database keeps only the SHA-256 of the token, never the token, so a copy of the
database does not give anyone a working cookie; the signature lets a forged or
truncated cookie be refused before the database is asked.

A session ends when

* it has been idle longer than :attr:`SessionPolicy.idle_minutes` (a page run
  refreshes ``last_seen_at``),
* it is older than :attr:`SessionPolicy.absolute_hours`, whatever its use,
* its owner signs out (that session), or the account is disabled or its role
  changed (every session of the account: :func:`revoke_user`).

The secret is ``HOTSPOT_SESSION_SECRET`` when set (needed when several
dashboard processes share one database: they must sign alike); otherwise a
random one is made once in ``var/session-secret`` (mode 0600) beside the
default store.  Changing it signs everyone out.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pandas as pd
from sqlalchemy import Connection, Engine, and_, insert, select, update

from spatial._errors import HotspotError

from . import tables as T

__all__ = ["COOKIE_NAME", "SESSION_ENV", "SessionPolicy", "Session", "session_secret", "start", "resume", "end",
           "revoke_user", "sign", "unsign"]

#: Name of the browser cookie.
COOKIE_NAME: Final = "hotspot_session"
#: Environment variables of :class:`SessionPolicy` and the secret.
SESSION_ENV: Final = ("HOTSPOT_SESSION_IDLE_MINUTES", "HOTSPOT_SESSION_ABSOLUTE_HOURS", "HOTSPOT_SESSION_SECRET")
_TOUCH_EVERY: Final = dt.timedelta(seconds=60)  # last_seen_at is written at most once a minute per session


class SessionError(HotspotError):
    """A session setting is unusable."""


@dataclass(frozen=True)
class SessionPolicy:
    """How long a signed-in session lasts.

    The defaults suit a warden's phone on a shift: an hour in a pocket does not
    sign them out, a lost phone stops working by the end of the day.
    """

    #: Minutes without a page run after which the session ends.
    idle_minutes: float = 60.0
    #: Hours after sign-in after which the session ends however it is used.
    absolute_hours: float = 12.0

    def __post_init__(self) -> None:
        if not (self.idle_minutes > 0 and self.absolute_hours > 0):
            msg = f"session policy {self} is not usable; give positive idle_minutes and absolute_hours"
            raise SessionError(msg)
        if self.idle_minutes > self.absolute_hours * 60:
            msg = (f"session idle time-out ({self.idle_minutes:g} min) is longer than the absolute time-out "
                   f"({self.absolute_hours:g} h); the idle time-out would never apply")
            raise SessionError(msg)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SessionPolicy:
        """The policy set by ``HOTSPOT_SESSION_IDLE_MINUTES`` and ``HOTSPOT_SESSION_ABSOLUTE_HOURS``.

        Examples
        --------
        >>> SessionPolicy.from_env({"HOTSPOT_SESSION_IDLE_MINUTES": "20"})
        SessionPolicy(idle_minutes=20.0, absolute_hours=12.0)
        """
        env = os.environ if environ is None else environ
        kw: dict[str, float] = {}
        for name, field in zip(SESSION_ENV[:2], ("idle_minutes", "absolute_hours"), strict=True):
            raw = env.get(name, "").strip()
            if not raw:
                continue
            try:
                kw[field] = float(raw)
            except ValueError as exc:
                msg = f"{name} was {raw!r}; give a number"
                raise SessionError(msg) from exc
        return cls(**kw)

    @property
    def max_age_s(self) -> int:
        """The cookie's ``Max-Age``: the absolute time-out in seconds."""
        return int(self.absolute_hours * 3600)


@dataclass(frozen=True)
class Session:
    """A live session: whose it is and how it signed in (the role is read from the account on every run)."""

    username: str
    method: str
    created_at: pd.Timestamp
    last_seen_at: pd.Timestamp


def session_secret(default_dir: Path, environ: Mapping[str, str] | None = None) -> bytes:
    """The signing secret: ``HOTSPOT_SESSION_SECRET``, else ``default_dir/session-secret`` (made once, 0600)."""
    env = os.environ if environ is None else environ
    raw = env.get("HOTSPOT_SESSION_SECRET", "").strip()
    if raw:
        if len(raw) < 32:
            msg = "HOTSPOT_SESSION_SECRET is shorter than 32 characters; use e.g. `python -c 'import secrets; " \
                  "print(secrets.token_urlsafe(48))'`"
            raise SessionError(msg)
        return raw.encode()
    path = Path(default_dir) / "session-secret"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_urlsafe(48))
    return path.read_bytes().strip()


def _mac(secret: bytes, token: str) -> str:
    digest = hmac.new(secret, token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign(secret: bytes, token: str) -> str:
    """The cookie value for ``token``.

    Examples
    --------
    >>> v = sign(b"k" * 32, "abc")
    >>> unsign(b"k" * 32, v), unsign(b"x" * 32, v), unsign(b"k" * 32, "abc.forged")
    ('abc', None, None)
    """
    return f"{token}.{_mac(secret, token)}"


def unsign(secret: bytes, value: str | None) -> str | None:
    """The token of a cookie value whose signature is right, else ``None``."""
    if not value or value.count(".") != 1:
        return None
    token, mac = value.split(".")
    if not token or not hmac.compare_digest(mac, _mac(secret, token)):
        return None
    return token


def _key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now(now: dt.datetime | None) -> pd.Timestamp:
    when = pd.Timestamp(now or dt.datetime.now(dt.UTC))
    if when.tzinfo is None:
        msg = f"now was {now!r}; give a timezone-aware datetime"
        raise SessionError(msg)
    return when.tz_convert("UTC")


def _stored(engine: Engine | Connection, when: pd.Timestamp) -> Any:
    return when.isoformat() if engine.dialect.name == "sqlite" else when.to_pydatetime()


def _read(v: Any) -> pd.Timestamp:
    t = pd.Timestamp(v)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def start(engine: Engine, username: str, *, method: str, now: dt.datetime | None = None) -> str:
    """Open a session for ``username`` and return its token (the database keeps only its hash)."""
    token = secrets.token_urlsafe(32)
    when = _stored(engine, _now(now))
    with engine.begin() as conn:
        conn.execute(insert(T.sessions).values(session_key=_key(token), username=username, method=method,
                                               created_at=when, last_seen_at=when, ended_at=None, end_reason=None))
    return token


def resume(engine: Engine, token: str | None, *, policy: SessionPolicy | None = None,
           now: dt.datetime | None = None) -> Session | None:
    """The live session of ``token``, its last use refreshed; ``None`` (and the session ended) when it timed out.

    A token that was never issued, was ended or revoked gives ``None``.
    """
    if not token:
        return None
    policy = policy or SessionPolicy()
    when = _now(now)
    key = _key(token)
    with engine.begin() as conn:
        row = conn.execute(select(T.sessions).where(T.sessions.c.session_key == key)).mappings().first()
        if row is None or row["ended_at"] is not None:
            return None
        created, seen = _read(row["created_at"]), _read(row["last_seen_at"])
        reason = None
        if when - created > pd.Timedelta(hours=policy.absolute_hours):
            reason = "absolute time-out"
        elif when - seen > pd.Timedelta(minutes=policy.idle_minutes):
            reason = "idle time-out"
        if reason is not None:
            conn.execute(update(T.sessions).where(T.sessions.c.session_key == key)
                         .values(ended_at=_stored(engine, when), end_reason=reason))
            return None
        if when - seen >= _TOUCH_EVERY:
            conn.execute(update(T.sessions).where(T.sessions.c.session_key == key)
                         .values(last_seen_at=_stored(engine, when)))
            seen = when
    return Session(str(row["username"]), str(row["method"]), created, seen)


def end(engine: Engine, token: str | None, *, reason: str = "signed out", now: dt.datetime | None = None) -> None:
    """End the session of ``token`` (sign-out)."""
    if not token:
        return
    with engine.begin() as conn:
        conn.execute(update(T.sessions).where(and_(T.sessions.c.session_key == _key(token),
                                                   T.sessions.c.ended_at.is_(None)))
                     .values(ended_at=_stored(engine, _now(now)), end_reason=reason))


def revoke_user(engine_or_conn: Engine | Connection, username: str, *, reason: str,
                now: dt.datetime | None = None) -> int:
    """End every live session of ``username`` (account disabled, role or password changed); returns how many."""
    stmt = (update(T.sessions).where(and_(T.sessions.c.username == username, T.sessions.c.ended_at.is_(None)))
            .values(ended_at=_stored(engine_or_conn, _now(now)), end_reason=reason))
    if isinstance(engine_or_conn, Connection):
        return int(engine_or_conn.execute(stmt).rowcount or 0)
    with engine_or_conn.begin() as conn:
        return int(conn.execute(stmt).rowcount or 0)
