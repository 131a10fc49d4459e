"""The append-only audit log: who did what, when, to what, and whether it was allowed.

Every action the product must be able to account for under UK GDPR writes one
row here: sign-ins (and failed ones), views of sensitive aggregates, exports,
plan approvals, retention purges, backups and restores, and account changes.
Rows are never updated or deleted: triggers on the table refuse both, on
SQLite and PostgreSQL (migration 0003), and the retention purge leaves the
log alone.  ``detail`` is a small JSON object (never incident rows or
coordinates: the log must not become a copy of the data it guards).

:func:`record` takes an :class:`~sqlalchemy.Engine` (its own transaction) or a
:class:`~sqlalchemy.Connection` (the caller's transaction, so the audit row
commits or rolls back with the action it records).
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
from collections.abc import Mapping
from typing import Any, Final

import pandas as pd
from sqlalchemy import Connection, Engine, insert, select

from spatial._errors import HotspotError

from . import tables as T

__all__ = ["ACTIONS", "OUTCOMES", "PG_REFUSE_FUNCTION", "record", "list_audit", "operator_name"]

#: Actions the log knows (a typo in a caller is an error, not a new action).
ACTIONS: Final = ("sign-in", "sign-out", "view-sensitive", "export", "approve", "purge", "backup", "restore",
                  "user-add", "user-disable", "user-enable", "user-role", "user-password")
OUTCOMES: Final = ("ok", "refused", "failed")
#: The PostgreSQL trigger function of migration 0003 (the restore re-creates it before pg_restore).
PG_REFUSE_FUNCTION: Final = ("CREATE OR REPLACE FUNCTION audit_log_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ "
                             "BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$")
_MAX_DETAIL: Final = 4_000


def operator_name() -> str:
    """Who runs a command-line action (backup, restore, purge): the operating system user."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return f"uid {os.getuid()}"


def _now(now: dt.datetime | None) -> str:
    when = now or dt.datetime.now(dt.UTC)
    if when.tzinfo is None:
        msg = f"now was {when!r}; give a timezone-aware datetime"
        raise HotspotError(msg)
    return pd.Timestamp(when).tz_convert("UTC").isoformat()


def _text(value: Any, field: str, max_len: int) -> str:
    if not isinstance(value, str) or not value.strip():
        msg = f"audit {field} is empty; every audit row names its {field}"
        raise HotspotError(msg)
    return value.strip()[:max_len]


def record(engine_or_conn: Engine | Connection, *, actor: str, role: str, action: str, target: str | None = None,
           outcome: str = "ok", detail: Mapping[str, Any] | None = None, now: dt.datetime | None = None) -> None:
    """Append one audit row.

    Raises
    ------
    HotspotError
        For an unknown action or outcome, an empty actor or role, or a detail
        that is not JSON-serialisable or longer than 4,000 characters.
    """
    if action not in ACTIONS:
        msg = f"audit action {action!r} is not one of {', '.join(ACTIONS)}"
        raise HotspotError(msg)
    if outcome not in OUTCOMES:
        msg = f"audit outcome {outcome!r} is not one of {', '.join(OUTCOMES)}"
        raise HotspotError(msg)
    text = None
    if detail is not None:
        try:
            text = json.dumps(dict(detail), sort_keys=True, default=str)
        except (TypeError, ValueError) as exc:
            msg = f"audit detail is not JSON: {exc}"
            raise HotspotError(msg) from exc
        if len(text) > _MAX_DETAIL:
            msg = f"audit detail is {len(text):,} characters; keep it under {_MAX_DETAIL:,} (no data rows in the log)"
            raise HotspotError(msg)
    row = {"at": _now(now), "actor": _text(actor, "actor", 120), "role": _text(role, "role", 40), "action": action,
           "target": target, "outcome": outcome, "detail": text}
    if isinstance(engine_or_conn, Connection):
        engine_or_conn.execute(insert(T.audit_log).values(**row))
        return
    with engine_or_conn.begin() as conn:
        conn.execute(insert(T.audit_log).values(**row))


def list_audit(engine: Engine, *, action: str | None = None, actor: str | None = None,
               since: dt.datetime | None = None, limit: int = 1_000) -> pd.DataFrame:
    """Audit rows, newest first, with ``at`` as UTC timestamps and ``detail`` parsed."""
    a = T.audit_log.c
    q = select(T.audit_log).order_by(a.audit_id.desc()).limit(limit)
    if action is not None:
        q = q.where(a.action == action)
    if actor is not None:
        q = q.where(a.actor == actor)
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(q).mappings().all(), columns=[c.name for c in T.audit_log.columns])
    if df.empty:
        return df
    df["at"] = pd.to_datetime(df["at"], utc=True, format="ISO8601")
    if since is not None:
        df = df[df["at"] >= pd.Timestamp(since).tz_convert("UTC")]
    df["detail"] = [json.loads(d) if isinstance(d, str) else None for d in df["detail"]]
    return df.reset_index(drop=True)
