"""Local accounts: argon2 password hashes, roles, roster agent ids, lock-out after repeated failures.

Every account has a unique ``username``, a role (:data:`ROLES`), for a warden
or parks police officer the roster ``agent_id`` (``W01``, ``PP01``), and
optionally an ``email`` that a council's single sign-on (OIDC) maps to the
account.  Passwords are stored only as argon2id hashes (argon2-cffi's
defaults, RFC 9106 low-memory profile) and are never logged, printed or
written to the audit log.

Lock-out (:class:`LockoutPolicy`): ``max_failures`` wrong passwords within
``window_minutes`` lock the account for ``lock_minutes``; while it is locked
even the right password is refused.  A successful sign-in clears the count.
The defaults (5 failures in 15 minutes lock for 15 minutes) can be changed with
``HOTSPOT_LOCKOUT_FAILURES``, ``HOTSPOT_LOCKOUT_WINDOW_MINUTES`` and
``HOTSPOT_LOCKOUT_MINUTES``.

Sign-ins (ok and refused, with the reason but never the password), lock-outs
and every account change are written to the audit log
(:mod:`spatial.store.audit`) in the same transaction as the change.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, func, insert, select, update

from spatial._errors import HotspotError

from . import audit, sessions
from . import tables as T

__all__ = ["ROLES", "AGENT_ROLES", "MIN_PASSWORD_CHARS", "LockoutPolicy", "Account", "AccountError", "SignInRefused",
           "hash_password", "add_user", "set_password", "disable_user", "enable_user", "set_role", "get_account",
           "account_for_email", "list_users", "authenticate", "record_sign_out", "LOCKOUT_ENV"]

#: Roles an account may hold (see ``tasking.access`` for what each may see and do).
ROLES: Final = ("chair", "analyst", "cctv", "warden", "partner")
#: Roles that must name their roster agent id.
AGENT_ROLES: Final = ("warden",)
#: Shortest password accepted (NCSC: length over complexity rules).
MIN_PASSWORD_CHARS: Final = 10
#: Environment variables of :class:`LockoutPolicy` (failures, window minutes, lock minutes).
LOCKOUT_ENV: Final = ("HOTSPOT_LOCKOUT_FAILURES", "HOTSPOT_LOCKOUT_WINDOW_MINUTES", "HOTSPOT_LOCKOUT_MINUTES")

_HASHER: Final = PasswordHasher()
#: Verified against when the user name is unknown, so an unknown name takes as long as a wrong password.
_DUMMY_HASH: Final = _HASHER.hash("not a password of anyone")


class AccountError(HotspotError):
    """An account change that cannot be made (unknown user, bad role, short password...)."""


class SignInRefused(HotspotError):
    """A sign-in was refused.  The message is the same for an unknown user and a wrong password."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        #: Why, for the audit log and tests (``unknown``, ``password``, ``disabled``, ``locked``, ``no-password``).
        self.reason = reason


@dataclass(frozen=True)
class LockoutPolicy:
    """How many failed sign-ins within a window lock an account, and for how long."""

    #: Failed sign-ins within :attr:`window_minutes` that lock the account.
    max_failures: int = 5
    #: Minutes over which failures are counted (from the first failure of the run).
    window_minutes: float = 15.0
    #: Minutes the account stays locked.
    lock_minutes: float = 15.0

    def __post_init__(self) -> None:
        if self.max_failures < 1 or self.window_minutes <= 0 or self.lock_minutes <= 0:
            msg = (f"lock-out policy {self} is not usable; give max_failures >= 1 and positive "
                   "window_minutes and lock_minutes")
            raise AccountError(msg)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LockoutPolicy:
        """The policy set by :data:`LOCKOUT_ENV`, defaults for those unset.

        Examples
        --------
        >>> LockoutPolicy.from_env({"HOTSPOT_LOCKOUT_FAILURES": "3"})
        LockoutPolicy(max_failures=3, window_minutes=15.0, lock_minutes=15.0)
        """
        env = os.environ if environ is None else environ
        kw: dict[str, Any] = {}
        for name, field, kind in zip(LOCKOUT_ENV, ("max_failures", "window_minutes", "lock_minutes"),
                                     (int, float, float), strict=True):
            raw = env.get(name, "").strip()
            if not raw:
                continue
            try:
                kw[field] = kind(raw)
            except ValueError as exc:
                msg = f"{name} was {raw!r}; give a {'whole' if kind is int else ''} number".replace("  ", " ")
                raise AccountError(msg) from exc
        return cls(**kw)


@dataclass(frozen=True)
class Account:
    """An account as the dashboard needs it (no hash)."""

    username: str
    role: str
    agent_id: str | None
    email: str | None
    disabled: bool


def _now(now: dt.datetime | None) -> pd.Timestamp:
    when = pd.Timestamp(now or dt.datetime.now(dt.UTC))
    if when.tzinfo is None:
        msg = f"now was {now!r}; give a timezone-aware datetime"
        raise AccountError(msg)
    return when.tz_convert("UTC")


def _stored(conn: Connection, when: pd.Timestamp) -> Any:
    return when.isoformat() if conn.dialect.name == "sqlite" else when.to_pydatetime()


def _read_time(v: Any) -> pd.Timestamp | None:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return None
    t = pd.Timestamp(v)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def _name(username: Any) -> str:
    if not isinstance(username, str) or not username.strip():
        msg = "user name is empty; give the name the person signs in with"
        raise AccountError(msg)
    name = " ".join(username.split())
    if len(name) > 120 or not name.isprintable():
        msg = f"user name {name[:40]!r} is not allowed; use up to 120 printable characters"
        raise AccountError(msg)
    return name


def _role(role: Any, agent_id: str | None) -> str:
    if role not in ROLES:
        msg = f"role {role!r} is not one of {', '.join(ROLES)}"
        raise AccountError(msg)
    if role in AGENT_ROLES and not agent_id:
        msg = f"a {role} account needs --agent-id (their roster id, for example W01 or PP01)"
        raise AccountError(msg)
    return str(role)


def _agent(agent_id: Any) -> str | None:
    if agent_id is None or agent_id == "":
        return None
    text = str(agent_id).strip().upper()
    if not text.isalnum() or len(text) > 20:
        msg = f"agent id {agent_id!r} is not a roster id; give letters and digits, for example W01 or PP01"
        raise AccountError(msg)
    return text


def _email(email: Any) -> str | None:
    if email is None or email == "":
        return None
    text = str(email).strip().lower()
    if "@" not in text or len(text) > 254 or any(c.isspace() for c in text):
        msg = f"email {email!r} is not an email address"
        raise AccountError(msg)
    return text


def hash_password(password: str) -> str:
    """The argon2id hash of ``password``.

    Raises
    ------
    AccountError
        If the password is shorter than :data:`MIN_PASSWORD_CHARS` characters.
    """
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_CHARS:
        msg = f"the password is too short; use at least {MIN_PASSWORD_CHARS} characters (a few words work well)"
        raise AccountError(msg)
    return _HASHER.hash(password)


def _row(conn: Connection, username: str) -> Mapping[str, Any] | None:
    return conn.execute(select(T.accounts).where(T.accounts.c.username == username)).mappings().first()


def _must(conn: Connection, username: str) -> Mapping[str, Any]:
    row = _row(conn, username)
    if row is None:
        msg = f"no account named {username!r}; see `hotspot-tasking user list`"
        raise AccountError(msg)
    return row


def _account(row: Mapping[str, Any]) -> Account:
    return Account(str(row["username"]), str(row["role"]), row["agent_id"], row["email"], bool(row["disabled"]))


def add_user(engine: Engine, username: str, *, role: str, password: str | None, agent_id: str | None = None,
             email: str | None = None, actor: str, actor_role: str, now: dt.datetime | None = None) -> Account:
    """Create an account (audited as ``user-add``); ``password`` None makes a single-sign-on-only account.

    Raises
    ------
    AccountError
        If the name is taken or invalid, the role unknown, a warden has no
        agent id, the email is taken, or the password is too short.
    """
    name, agent = _name(username), _agent(agent_id)
    role = _role(role, agent)
    mail = _email(email)
    if password is None and mail is None:
        msg = "an account needs a password, or an email for single sign-on"
        raise AccountError(msg)
    hashed = hash_password(password) if password is not None else None
    when = _now(now)
    with engine.begin() as conn:
        if _row(conn, name) is not None:
            msg = f"an account named {name!r} exists already; change it with `hotspot-tasking user role`"
            raise AccountError(msg)
        if mail and conn.execute(select(T.accounts.c.username).where(T.accounts.c.email == mail)).first():
            msg = f"the email {mail!r} belongs to another account"
            raise AccountError(msg)
        t = _stored(conn, when)
        conn.execute(insert(T.accounts).values(username=name, email=mail, role=role, agent_id=agent,
                                               password_hash=hashed, disabled=False, failed_count=0,
                                               created_at=t, updated_at=t))
        audit.record(conn, actor=actor, role=actor_role, action="user-add", target=name,
                     detail={"role": role, "agent_id": agent, "sso": mail is not None}, now=when.to_pydatetime())
    return Account(name, role, agent, mail, False)


#: Account changes that end every open session of the account, with the reason kept on the session row.
_SESSION_ENDS: Final = {"user-disable": "account disabled", "user-role": "role changed",
                        "user-password": "password changed"}


def _change(engine: Engine, username: str, values: dict[str, Any], *, action: str, actor: str, actor_role: str,
            detail: dict[str, Any] | None, now: dt.datetime | None) -> Account:
    name = _name(username)
    when = _now(now)
    with engine.begin() as conn:
        _must(conn, name)
        conn.execute(update(T.accounts).where(T.accounts.c.username == name)
                     .values(**values, updated_at=_stored(conn, when)))
        audit.record(conn, actor=actor, role=actor_role, action=action, target=name, detail=detail,
                     now=when.to_pydatetime())
        ended = _SESSION_ENDS.get(action)
        if ended is not None:  # signed out everywhere: open sessions (cookies) of the account stop working
            sessions.revoke_user(conn, name, reason=ended, now=when.to_pydatetime())
        return _account(_must(conn, name))


def set_password(engine: Engine, username: str, password: str, *, actor: str, actor_role: str,
                 now: dt.datetime | None = None) -> Account:
    """Set a new password (audited as ``user-password``, without the password) and clear any lock-out."""
    return _change(engine, username, {"password_hash": hash_password(password), "failed_count": 0,
                                      "first_failure_at": None, "locked_until": None},
                   action="user-password", actor=actor, actor_role=actor_role, detail=None, now=now)


def disable_user(engine: Engine, username: str, *, actor: str, actor_role: str,
                 now: dt.datetime | None = None) -> Account:
    """Disable an account: it can no longer sign in, and a signed-in session of it is signed out on its next run."""
    return _change(engine, username, {"disabled": True}, action="user-disable", actor=actor, actor_role=actor_role,
                   detail=None, now=now)


def enable_user(engine: Engine, username: str, *, actor: str, actor_role: str,
                now: dt.datetime | None = None) -> Account:
    """Enable an account again and clear any lock-out."""
    return _change(engine, username, {"disabled": False, "failed_count": 0, "first_failure_at": None,
                                      "locked_until": None},
                   action="user-enable", actor=actor, actor_role=actor_role, detail=None, now=now)


def set_role(engine: Engine, username: str, role: str, *, agent_id: str | None = None, actor: str, actor_role: str,
             now: dt.datetime | None = None) -> Account:
    """Change an account's role (and agent id; a warden keeps theirs unless a new one is given)."""
    name = _name(username)
    with engine.connect() as conn:
        current = _must(conn, name)
    agent = _agent(agent_id) or current["agent_id"]
    role = _role(role, agent)
    return _change(engine, name, {"role": role, "agent_id": agent}, action="user-role", actor=actor,
                   actor_role=actor_role, detail={"from": current["role"], "to": role, "agent_id": agent}, now=now)


def get_account(engine: Engine, username: str) -> Account | None:
    """The account named ``username`` (``None`` if there is none)."""
    if not isinstance(username, str) or not username.strip():
        return None
    with engine.connect() as conn:
        row = _row(conn, " ".join(username.split()))
    return None if row is None else _account(row)


def account_for_email(engine: Engine, email: str | None) -> Account | None:
    """The account whose email is ``email`` (case-insensitive), for single sign-on; ``None`` if none matches."""
    if not email or "@" not in str(email):
        return None
    with engine.connect() as conn:
        row = conn.execute(select(T.accounts).where(func.lower(T.accounts.c.email) == str(email).strip().lower())
                           ).mappings().first()
    return None if row is None else _account(row)


def list_users(engine: Engine) -> pd.DataFrame:
    """Accounts without hashes: ``username, role, agent_id, email, disabled, locked_until, last_sign_in_at``."""
    a = T.accounts.c
    cols = [a.username, a.role, a.agent_id, a.email, a.disabled, a.locked_until, a.last_sign_in_at]
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(select(*cols).order_by(a.username)).all(), columns=[c.name for c in cols])
    df["disabled"] = df["disabled"].astype(bool)
    return df


_REFUSED: Final = "Sign-in refused: the user name or password is wrong, or the account is locked or disabled."


def authenticate(engine: Engine, username: str, password: str, *, policy: LockoutPolicy | None = None,
                 now: dt.datetime | None = None, method: str = "password") -> Account:
    """Check a user name and password; return the account, or raise :class:`SignInRefused`.

    Every attempt is audited (``sign-in``, ok or refused with the reason, never
    the password).  A wrong password counts towards the lock-out; the attempt
    that reaches ``policy.max_failures`` locks the account and is audited with
    ``"locked": true``.  The message is the same whatever the reason, so the
    form does not tell a stranger which names exist.
    """
    policy = policy or LockoutPolicy.from_env()
    when = _now(now)
    name = username.strip() if isinstance(username, str) else ""
    pw = password if isinstance(password, str) else ""
    with engine.begin() as conn:
        row = _row(conn, " ".join(name.split())) if name else None

        def refuse(reason: str, **detail: Any) -> SignInRefused:
            audit.record(conn, actor=name or "(empty)", role=str(row["role"]) if row else "none", action="sign-in",
                         target=name or None, outcome="refused", detail={"method": method, "reason": reason, **detail},
                         now=when.to_pydatetime())
            return SignInRefused(_REFUSED, reason=reason)

        if row is None:
            _verify(_DUMMY_HASH, pw)  # same time as a wrong password
            err = refuse("unknown")
        else:
            locked_until = _read_time(row["locked_until"])
            if bool(row["disabled"]):
                err = refuse("disabled")
            elif locked_until is not None and when < locked_until:
                err = refuse("locked", locked_until=locked_until.isoformat())
            elif row["password_hash"] is None:
                err = refuse("no-password")
            elif _verify(str(row["password_hash"]), pw):
                values: dict[str, Any] = {"failed_count": 0, "first_failure_at": None, "locked_until": None,
                                          "last_sign_in_at": _stored(conn, when)}
                if _HASHER.check_needs_rehash(str(row["password_hash"])):
                    values["password_hash"] = _HASHER.hash(pw)
                conn.execute(update(T.accounts).where(T.accounts.c.username == name).values(**values))
                audit.record(conn, actor=name, role=str(row["role"]), action="sign-in", target=name,
                             detail={"method": method}, now=when.to_pydatetime())
                return _account(row)
            else:
                first = _read_time(row["first_failure_at"])
                in_window = first is not None and when - first <= pd.Timedelta(minutes=policy.window_minutes)
                count = int(row["failed_count"]) + 1 if in_window else 1
                values = {"failed_count": count, "first_failure_at": _stored(conn, first if in_window else when)}
                locks = count >= policy.max_failures
                if locks:
                    until = when + pd.Timedelta(minutes=policy.lock_minutes)
                    values.update(locked_until=_stored(conn, until), failed_count=0, first_failure_at=None)
                conn.execute(update(T.accounts).where(T.accounts.c.username == name).values(**values))
                err = refuse("password", failures=count, locked=locks)
    raise err


def _verify(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def record_sign_out(engine: Engine, account: Account, *, now: dt.datetime | None = None) -> None:
    """Audit a sign-out."""
    audit.record(engine, actor=account.username, role=account.role, action="sign-out", target=account.username,
                 now=_now(now).to_pydatetime())
