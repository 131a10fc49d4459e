"""``hotspot-tasking user``: add, disable, enable, change the role or password of, and list local accounts.

The password is read from a prompt (twice, not echoed) or, with
``--password-stdin``, from the first line of standard input; it is never an
argument (it would land in the shell history and the process list) and never
printed.  Every change is written to the audit log with the operating-system
user who ran the command (:func:`spatial.store.audit.operator_name`).
"""

from __future__ import annotations

import argparse
import getpass
import sys

from spatial.config import settings_from_args

__all__ = ["add_parser"]

_OPERATOR_ROLE = "operator"


def _password(args: argparse.Namespace) -> str | None:
    from spatial.store.accounts import AccountError

    if getattr(args, "sso_only", False):
        return None
    if args.password_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password again: "):
        msg = "the two passwords differ; nothing was changed"
        raise AccountError(msg)
    return first


def _engine(args: argparse.Namespace):
    from spatial.store import connect

    return connect(settings_from_args(args).database_url)


def cmd_user(args: argparse.Namespace) -> int:
    from spatial.store import accounts as A
    from spatial.store.audit import operator_name

    engine = _engine(args)
    who = {"actor": operator_name(), "actor_role": _OPERATOR_ROLE}
    action = args.user_action
    if action == "list":
        users = A.list_users(engine)
        if users.empty:
            print("No accounts yet: add one with `hotspot-tasking user add NAME --role chair`.")
            return 0
        users = users.assign(disabled=users["disabled"].map({True: "disabled", False: ""})).fillna("")
        print(users.to_string(index=False))
        return 0
    if action == "add":
        acc = A.add_user(engine, args.name, role=args.role, agent_id=args.agent_id, email=args.email,
                         password=_password(args), **who)
        print(f"account {acc.username} added: role {acc.role}" + (f", agent {acc.agent_id}" if acc.agent_id else "")
              + (f", single sign-on email {acc.email}" if acc.email else ""))
    elif action == "disable":
        A.disable_user(engine, args.name, **who)
        print(f"account {args.name} disabled: it cannot sign in, and an open session ends on its next page")
    elif action == "enable":
        A.enable_user(engine, args.name, **who)
        print(f"account {args.name} enabled (any lock-out cleared)")
    elif action == "role":
        acc = A.set_role(engine, args.name, args.role, agent_id=args.agent_id, **who)
        print(f"account {acc.username} is now {acc.role}" + (f" (agent {acc.agent_id})" if acc.agent_id else ""))
    elif action == "password":
        A.set_password(engine, args.name, _password(args) or "", **who)
        print(f"password of {args.name} changed (any lock-out cleared)")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``user`` and its actions to the top-level parser."""
    from spatial.roles import ROLES

    p = sub.add_parser("user", help="local accounts of the dashboard: add, disable, enable, role, password, list")
    actions = p.add_subparsers(dest="user_action", required=True)
    a = actions.add_parser("add", help="add an account (password from a prompt or --password-stdin)")
    a.add_argument("name")
    a.add_argument("--role", required=True, choices=ROLES)
    a.add_argument("--agent-id", help="roster id of a warden or parks police officer (W01, PP01); needed for warden")
    a.add_argument("--email", help="email the council's single sign-on (OIDC) gives this person")
    a.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    a.add_argument("--sso-only", action="store_true", help="no password: the account signs in by single sign-on only")
    for name, text in (("disable", "stop an account signing in"), ("enable", "let a disabled account sign in again")):
        d = actions.add_parser(name, help=text)
        d.add_argument("name")
    r = actions.add_parser("role", help="change an account's role")
    r.add_argument("name")
    r.add_argument("role", choices=ROLES)
    r.add_argument("--agent-id", help="roster id, when the new role is warden")
    w = actions.add_parser("password", help="set a new password (prompt or --password-stdin)")
    w.add_argument("name")
    w.add_argument("--password-stdin", action="store_true")
    actions.add_parser("list", help="list accounts (never their passwords)")
    p.set_defaults(func=cmd_user)
