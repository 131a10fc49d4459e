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

Failures are counted by one conditional ``UPDATE ... RETURNING`` per
attempt, so parallel guesses cannot overwrite each other's count (a row is
locked by the UPDATE on PostgreSQL; SQLite runs one writer at a time), and a
successful sign-in is itself a conditional UPDATE that fails when the account
was locked meanwhile.

User names are normalised once (:func:`normalise_username`: Unicode NFKC,
case folded, runs of white space collapsed to one space, ends stripped) when
an account is made and at every sign-in, so ``Jo  Smith`` and ``jo smith`` are
one account with one failure count.  Control and formatting characters
(including bidi controls and zero-width spaces) are refused.

Passwords (:func:`check_password`) follow NCSC guidance: at least
:data:`MIN_PASSWORD_CHARS` characters, not one of the ~20,000 common passwords
bundled in ``spatial/data/common_passwords.txt.gz`` (Royce Williams' list as
shipped by Django, see ``spatial/data/common_passwords.md``), not the user name, not one
repeated character or white space only.

Every refusal takes the same path and time: the argon2 verify runs against
the account's hash, or a dummy hash for an unknown name or an account without
one, before the account's state (disabled, locked) is looked at.

Sign-ins (ok and refused, with the reason but never the password), lock-outs
and every account change are written to the audit log
(:mod:`spatial.store.audit`) in the same transaction as the change.
"""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import os
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, RowMapping, and_, case, func, insert, or_, select, update

from spatial._errors import HotspotError
from spatial.roles import AGENT_ROLES, ROLES  # defined there so the command line's parser stays light

from . import audit, sessions
from . import tables as T

__all__ = ["ROLES", "AGENT_ROLES", "MIN_PASSWORD_CHARS", "LockoutPolicy", "Account", "AccountError", "SignInRefused",
           "normalise_username", "check_password", "common_passwords", "hash_password", "add_user", "set_password", "disable_user", "enable_user", "set_role", "get_account",
           "account_for_email", "list_users", "authenticate", "record_sign_out", "LOCKOUT_ENV"]

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


def normalise_username(username: Any) -> str:
    """The canonical form of a user name: NFKC, case folded, white space collapsed, ends stripped.

    Raises
    ------
    AccountError
        For an empty name, one longer than 120 characters, or one holding a
        control or formatting character (bidi controls, zero-width spaces...).

    Examples
    --------
    >>> normalise_username("  Jo \u00a0 SMITH ")
    'jo smith'
    >>> normalise_username("\uff2a\uff4f")  # full-width letters
    'jo'
    """
    if not isinstance(username, str) or not username.strip():
        msg = "user name is empty; give the name the person signs in with"
        raise AccountError(msg)
    bad = [c for c in username if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
           and c not in " \t"]
    if bad:
        msg = (f"user name {username[:40]!r} holds control or formatting character(s) "
               f"{', '.join(f'U+{ord(c):04X}' for c in bad[:5])}; use letters, digits, spaces and punctuation")
        raise AccountError(msg)
    name = " ".join(unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold()).split())
    if len(name) > 120 or not name.isprintable():
        msg = f"user name {name[:40]!r} is not allowed; use up to 120 printable characters"
        raise AccountError(msg)
    return name


def _name(username: Any) -> str:
    """The name as shown (white space collapsed), after checking it normalises (:func:`normalise_username`)."""
    normalise_username(username)
    return " ".join(username.split())


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


@functools.cache
def common_passwords() -> frozenset[str]:
    """The bundled list of common passwords (lower case), ``spatial/data/common_passwords.txt.gz``."""
    from importlib import resources

    with resources.files("spatial").joinpath("data/common_passwords.txt.gz").open("rb") as raw, \
            gzip.open(raw, "rt", encoding="utf-8") as f:
        return frozenset(line.strip().lower() for line in f if line.strip() and not line.startswith("#"))


def check_password(password: Any, *, username: str | None = None) -> str:
    """``password`` if it is acceptable (NCSC guidance), else :class:`AccountError` saying why.

    Refused: shorter than :data:`MIN_PASSWORD_CHARS`, white space only, one
    repeated character, one of the bundled common passwords
    (:func:`common_passwords`, also with spaces removed), and the user name
    (also with case, spaces and punctuation ignored).

    Examples
    --------
    >>> check_password("tangerine bicycle lamp", username="sam")
    'tangerine bicycle lamp'
    """
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_CHARS:
        msg = f"the password is too short; use at least {MIN_PASSWORD_CHARS} characters (a few words work well)"
        raise AccountError(msg)
    if not password.strip():
        msg = "the password is only spaces; use a few words you will remember"
        raise AccountError(msg)
    squeezed = "".join(password.split())
    if len(set(squeezed)) == 1:
        msg = "the password repeats one character; use a few words you will remember instead"
        raise AccountError(msg)
    lower = unicodedata.normalize("NFKC", password).casefold()
    common = common_passwords()
    if lower in common or lower.strip() in common or "".join(lower.split()) in common:
        msg = ("the password is on the list of commonly used passwords that attackers try first; "
               "use three or more random words instead")
        raise AccountError(msg)
    if username:
        def letters(text: str) -> str:
            return "".join(c for c in unicodedata.normalize("NFKC", text).casefold() if c.isalnum())
        if letters(password) and letters(password) == letters(username):
            msg = "the password is the user name; choose something else (three or more random words work well)"
            raise AccountError(msg)
    return password


def hash_password(password: str, *, username: str | None = None) -> str:
    """The argon2id hash of ``password``, after :func:`check_password`.

    Raises
    ------
    AccountError
        If the password is refused by :func:`check_password` (too short, common, the user name...).
    """
    return _HASHER.hash(check_password(password, username=username))


def _row(conn: Connection, username: str) -> RowMapping | None:
    """The account whose normalised name (``username_key``) is that of ``username``."""
    key = normalise_username(username)
    return conn.execute(select(T.accounts).where(T.accounts.c.username_key == key)).mappings().first()


def _must(conn: Connection, username: str) -> RowMapping:
    row = _row(conn, username)
    if row is None:
        msg = f"no account named {username!r}; see `hotspot-tasking user list`"
        raise AccountError(msg)
    return row


def _account(row: Mapping[str, Any] | RowMapping) -> Account:
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
    hashed = hash_password(password, username=name) if password is not None else None
    when = _now(now)
    with engine.begin() as conn:
        existing = _row(conn, name)
        if existing is not None:
            same = "" if existing["username"] == name else (
                f" as {existing['username']!r} (the same name once case, width and spaces are ignored)")
            msg = f"an account named {name!r} exists already{same}; change it with `hotspot-tasking user role`"
            raise AccountError(msg)
        if mail and conn.execute(select(T.accounts.c.username).where(T.accounts.c.email == mail)).first():
            msg = f"the email {mail!r} belongs to another account"
            raise AccountError(msg)
        t = _stored(conn, when)
        conn.execute(insert(T.accounts).values(username=name, username_key=normalise_username(name), email=mail, role=role, agent_id=agent,
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
        row = _must(conn, name)
        conn.execute(update(T.accounts).where(T.accounts.c.account_id == row["account_id"])
                     .values(**values, updated_at=_stored(conn, when)))
        audit.record(conn, actor=actor, role=actor_role, action=action, target=str(row["username"]), detail=detail,
                     now=when.to_pydatetime())
        ended = _SESSION_ENDS.get(action)
        if ended is not None:  # signed out everywhere: open sessions (cookies) of the account stop working
            sessions.revoke_user(conn, str(row["username"]), reason=ended, now=when.to_pydatetime())
        return _account(_must(conn, name))


def set_password(engine: Engine, username: str, password: str, *, actor: str, actor_role: str,
                 now: dt.datetime | None = None) -> Account:
    """Set a new password (audited as ``user-password``, without the password) and clear any lock-out."""
    return _change(engine, username, {"password_hash": hash_password(password, username=_name(username)),
                                      "failed_count": 0,
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
    try:
        name = normalise_username(username)
    except AccountError:
        return None
    with engine.connect() as conn:
        row = _row(conn, name)
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
    ``"locked": true``.  The message is the same whatever the reason, and so is
    the work done (an argon2 verify, a database write, an audit row), so neither
    the form nor the time it takes tells a stranger which names exist or which
    accounts are locked or disabled.

    The failure count is changed by one conditional ``UPDATE ... RETURNING``
    (atomic on SQLite and PostgreSQL), and a right password signs in only
    through a conditional UPDATE that finds the account still unlocked and
    enabled, so parallel guesses cannot beat the lock-out.
    """
    policy = policy or LockoutPolicy.from_env()
    when = _now(now)
    typed = username.strip() if isinstance(username, str) else ""
    try:
        name = normalise_username(username)
    except AccountError:
        name = ""
    pw = password if isinstance(password, str) else ""
    with engine.connect() as conn:
        row = _row(conn, name) if name else None
    stored_hash = str(row["password_hash"]) if row is not None and row["password_hash"] is not None else None
    # The argon2 verify runs in every case (a dummy hash when there is no usable one), before anything else is
    # looked at, so unknown, disabled, locked and wrong-password refusals take the same time.
    right = _verify(stored_hash or _DUMMY_HASH, pw) and stored_hash is not None
    a = T.accounts.c
    with engine.begin() as conn:
        t_now = _stored(conn, when)
        unlocked = or_(a.locked_until.is_(None), a.locked_until <= t_now)

        def refuse(reason: str, **detail: Any) -> SignInRefused:
            shown = str(row["username"]) if row is not None else (" ".join(typed.split()) if name else
                                                                  (ascii(typed)[:120] if typed else "(empty)"))
            audit.record(conn, actor=shown, role=str(row["role"]) if row else "none",
                         action="sign-in", target=shown if name or typed else None, outcome="refused",
                         detail={"method": method, "reason": reason, **detail}, now=when.to_pydatetime())
            return SignInRefused(_REFUSED, reason=reason)

        def locked_reason() -> SignInRefused:
            current = _row(conn, name)
            if current is None:
                return refuse("unknown")
            if bool(current["disabled"]):
                return refuse("disabled")
            until = _read_time(current["locked_until"])
            return refuse("locked", locked_until=until.isoformat() if until is not None else None)

        if row is None:
            err = refuse("unknown")
        elif stored_hash is None:
            err = refuse("no-password")
        elif right:
            values: dict[str, Any] = {"failed_count": 0, "first_failure_at": None, "locked_until": None,
                                      "last_sign_in_at": t_now}
            if _HASHER.check_needs_rehash(stored_hash):
                values["password_hash"] = _HASHER.hash(pw)
            done = conn.execute(update(T.accounts)
                                .where(a.account_id == row["account_id"], a.disabled.is_(False), unlocked,
                                       a.password_hash == stored_hash)
                                .values(**values).returning(a.username)).first()
            if done is not None:
                audit.record(conn, actor=str(row["username"]), role=str(row["role"]), action="sign-in",
                             target=str(row["username"]),
                             detail={"method": method}, now=when.to_pydatetime())
                return _account(row)
            err = locked_reason()
        else:
            window_start = _stored(conn, when - pd.Timedelta(minutes=policy.window_minutes))
            in_window = and_(a.first_failure_at.is_not(None), a.first_failure_at >= window_start)
            new_count = case((in_window, a.failed_count + 1), else_=1)
            locks = new_count >= policy.max_failures
            until = _stored(conn, when + pd.Timedelta(minutes=policy.lock_minutes))
            got = conn.execute(
                update(T.accounts).where(a.account_id == row["account_id"], a.disabled.is_(False), unlocked)
                .values(failed_count=case((locks, 0), else_=new_count),
                        first_failure_at=case((locks, None), (in_window, a.first_failure_at), else_=t_now),
                        locked_until=case((locks, until), else_=None))
                .returning(a.failed_count, a.locked_until)).first()
            if got is None:
                err = locked_reason()
            else:
                locked = got[1] is not None
                err = refuse("password", failures=policy.max_failures if locked else int(got[0]), locked=locked)
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
