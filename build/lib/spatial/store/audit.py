"""The append-only audit log: who did what, when, to what, and whether it was allowed.

Every action the product must be able to account for under UK GDPR writes one
row here: sign-ins (and failed ones), views of sensitive aggregates, exports,
plan approvals, retention purges, backups and restores, and account changes.
Rows are never updated or deleted: triggers on the table refuse both, on
SQLite and PostgreSQL (migration 0003), and the retention purge leaves the
log alone.  On SQLite a BEFORE INSERT trigger (migration 0005) also refuses
an insert with an id the log already holds or has passed, which is what
``INSERT OR REPLACE`` / ``REPLACE INTO`` would need to rewrite a row.

Hash chain (migration 0005)
---------------------------
Each row carries ``prev_hash`` (the ``row_hash`` of the row before it;
64 zeros for the first) and ``row_hash`` = sha256 of ``prev_hash``, a newline
and the row's canonical content (:func:`canonical_row`).  The one-row table
``audit_head`` holds the number of rows and the newest hash; every insert
updates it first, in the same transaction, which also serialises writers on
both back ends so the chain never forks.  :func:`verify` (``hotspot-tasking
audit verify``) walks the log and names the first row that was edited,
inserted out of the chain, or follows a deleted row, and sees rows deleted
from the end through the head.  Someone who can write the file and who
recomputes every hash after theirs can still rewrite history: keep the head
hash that ``audit verify`` prints somewhere they cannot reach (a ticket, an
e-mail) and compare it later with ``--expect-head``.  ``detail`` is a small JSON object (never incident rows or
coordinates: the log must not become a copy of the data it guards).

:func:`record` takes an :class:`~sqlalchemy.Engine` (its own transaction) or a
:class:`~sqlalchemy.Connection` (the caller's transaction, so the audit row
commits or rolls back with the action it records).
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import pandas as pd
from sqlalchemy import Connection, Engine, insert, select, update

from spatial._errors import HotspotError

from . import tables as T

__all__ = ["ACTIONS", "OUTCOMES", "PG_REFUSE_FUNCTION", "GENESIS", "record", "list_audit", "operator_name",
           "canonical_row", "chain_hash", "AuditCheck", "verify", "verify_report"]

#: Actions the log knows (a typo in a caller is an error, not a new action).
ACTIONS: Final = ("sign-in", "sign-out", "view-sensitive", "export", "approve", "purge", "backup", "restore",
                  "user-add", "user-disable", "user-enable", "user-role", "user-password")
OUTCOMES: Final = ("ok", "refused", "failed")
#: The PostgreSQL trigger function of migration 0003 (the restore re-creates it before pg_restore).
PG_REFUSE_FUNCTION: Final = ("CREATE OR REPLACE FUNCTION audit_log_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ "
                             "BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$")
_MAX_DETAIL: Final = 4_000
#: ``prev_hash`` of the first row of the chain.
GENESIS: Final = "0" * 64
#: Columns covered by the hash, in order.
CHAINED: Final = ("at", "actor", "role", "action", "target", "outcome", "detail")


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
    return _canon_time(when)


def _canon_time(value: Any) -> str:
    """``at`` as the chain hashes it: UTC ISO 8601, microseconds at most (what both back ends store)."""
    return pd.Timestamp(value).tz_convert("UTC").floor("us").isoformat()


def canonical_row(row: Mapping[str, Any]) -> str:
    """The text of a row that its hash covers: a JSON list of :data:`CHAINED` (``at`` as UTC ISO 8601)."""
    values = [_canon_time(row["at"]) if row["at"] is not None else None, *(row[c] for c in CHAINED[1:])]
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))


def chain_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    """sha256 (hex) of ``prev_hash``, a newline and :func:`canonical_row`."""
    return hashlib.sha256(f"{prev_hash}\n{canonical_row(row)}".encode()).hexdigest()


def _append(conn: Connection, row: dict[str, Any]) -> None:
    h = T.audit_head.c
    head = conn.execute(update(T.audit_head).where(h.head_id == 1).values(rows=h.rows + 1)
                        .returning(h.head_hash)).first()
    if head is None:
        msg = ("the audit log's chain head (table audit_head) is missing: the store was tampered with or not "
               "migrated; run `hotspot-tasking audit verify` and `hotspot-tasking db upgrade`")
        raise HotspotError(msg)
    prev = str(head[0])
    digest = chain_hash(prev, row)
    conn.execute(insert(T.audit_log).values(**row, prev_hash=prev, row_hash=digest))
    conn.execute(update(T.audit_head).where(h.head_id == 1).values(head_hash=digest))


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
        _append(engine_or_conn, row)
        return
    with engine_or_conn.begin() as conn:
        _append(conn, row)


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


@dataclass(frozen=True)
class AuditCheck:
    """What :func:`verify` found: ``ok``, rows walked, the newest hash, and the first broken row."""

    ok: bool
    rows: int
    head_hash: str
    #: ``audit_id`` of the first row that does not verify (None when ok, or when only the end is missing).
    first_bad_id: int | None = None
    problem: str | None = None


def verify(engine: Engine, *, expect_head: str | None = None) -> AuditCheck:
    """Walk the audit log in id order and check every row's hash chain and the chain head.

    Reports the first row that was edited (its content no longer matches
    its hash), inserted outside the chain or back-dated into it (its
    ``prev_hash`` is not the previous row's hash, or its hash is wrong), or
    that follows a deleted row; rows deleted from the end show as a mismatch
    with ``audit_head``.  ``expect_head`` (a hash an earlier run printed and
    was kept elsewhere) is checked to be in the chain.
    """
    a = T.audit_log.c
    cols = [a.audit_id, *(a[c] for c in CHAINED), a.prev_hash, a.row_hash]
    prev, n, last_id, seen_expected = GENESIS, 0, None, expect_head in (None, GENESIS)

    def bad(audit_id: int | None, problem: str) -> AuditCheck:
        return AuditCheck(False, n, prev, audit_id, problem)

    with engine.connect() as conn:
        result = conn.execution_options(yield_per=5_000).execute(select(*cols).order_by(a.audit_id)).mappings()
        for r in result:
            n += 1
            rid = int(r["audit_id"])
            where = f"row {last_id}" if last_id is not None else "the start of the log"
            if r["prev_hash"] != prev:
                return bad(rid, f"audit row {rid} ({r['action']} by {r['actor']} at {r['at']}) does not follow "
                                f"{where}: a row before it was deleted or changed, or this row was inserted "
                                "outside the chain")
            if r["row_hash"] != chain_hash(prev, r):
                return bad(rid, f"audit row {rid} ({r['action']} by {r['actor']} at {r['at']}) does not match its "
                                "hash: the row was edited, or inserted outside the chain")
            prev, last_id = str(r["row_hash"]), rid
            seen_expected = seen_expected or prev == expect_head
        head = conn.execute(select(T.audit_head.c.rows, T.audit_head.c.head_hash)
                            .where(T.audit_head.c.head_id == 1)).first()
    if head is None:
        return bad(None, "the chain head (table audit_head) is missing")
    if int(head[0]) != n or str(head[1]) != prev:
        return bad(None, f"the log holds {n:,} chained rows ending at row {last_id} but the chain head records "
                         f"{int(head[0]):,} rows ending in {str(head[1])[:12]}…: rows were deleted from the end "
                         "of the log (or the head was changed)")
    if not seen_expected:
        return bad(None, f"the expected head {expect_head[:12]}… is not in the chain: the log was rewritten "
                         "after it was noted")
    return AuditCheck(True, n, prev)


def verify_report(engine: Engine, *, expect_head: str | None = None) -> tuple[int, str]:
    """``hotspot-tasking audit verify``: exit code (0 verified, 1 broken) and the text to print."""
    check = verify(engine, expect_head=expect_head)
    if check.ok:
        return 0, (f"audit log verified: {check.rows:,} rows, one unbroken hash chain; head {check.head_hash}\n"
                   "Keep this head somewhere the server's users cannot reach, and compare it later with "
                   "`hotspot-tasking audit verify --expect-head HEAD`.")
    where = f"first broken row: {check.first_bad_id}" if check.first_bad_id is not None else "end of the log"
    return 1, (f"audit log BROKEN ({where}; {check.rows:,} rows read): {check.problem}.\n"
               "Keep the store as it is (take a copy) and report it to the information security officer.")
