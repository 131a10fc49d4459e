"""Audit hash chain, no REPLACE on SQLite, and normalised user names.

* ``audit_log`` gains ``prev_hash`` and ``row_hash`` (sha256 chain, see
  ``spatial/store/audit.py``) and the one-row table ``audit_head`` holds the
  number of chained rows and the newest hash.  Existing rows are chained here,
  in id order.
* SQLite: a BEFORE INSERT trigger refuses an ``audit_id`` the log already
  holds or has passed (``INSERT OR REPLACE`` / ``REPLACE INTO`` deleted the
  old row without firing the DELETE trigger, and a back-dated id would slip
  into a gap).
* ``accounts`` gains ``username_key``, the normalised name
  (``accounts.normalise_username``: NFKC, case folded, white space
  collapsed), unique; sign-in and the lock-out count look accounts up by it.
  When existing accounts normalise to one name, the one already spelt that
  way (else the oldest) gets the key; the others get none and are disabled,
  for the operator to sort out (``hotspot-tasking user list`` shows them).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""
from __future__ import annotations

import hashlib
import json
import unicodedata

import pandas as pd
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

REFUSAL = "audit_log is append-only"
GENESIS = "0" * 64
CHAINED = ("at", "actor", "role", "action", "target", "outcome", "detail")


def _canon_time(value):
    return pd.Timestamp(value).tz_convert("UTC").floor("us").isoformat()


def _hash(prev: str, row) -> str:
    # Kept in step with spatial/store/audit.py (canonical_row, chain_hash); a migration does not import app code.
    values = [_canon_time(row["at"]) if row["at"] is not None else None, *(row[c] for c in CHAINED[1:])]
    text = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{prev}\n{text}".encode()).hexdigest()


def _normalise(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold()).split())


def _collapse(name: str) -> str:
    return " ".join(str(name).split())


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == 'sqlite'
    op.add_column('audit_log', sa.Column('prev_hash', sa.String(length=64), nullable=True))
    op.add_column('audit_log', sa.Column('row_hash', sa.String(length=64), nullable=True))
    op.create_table('audit_head',
    sa.Column('head_id', sa.Integer(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('head_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('head_id')
    )
    # Chain the rows already written (the append-only trigger is lifted for this one UPDATE pass).
    if sqlite:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    else:
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    cols = ", ".join(("audit_id", *CHAINED))
    prev, n = GENESIS, 0
    for row in bind.execute(sa.text(f"SELECT {cols} FROM audit_log ORDER BY audit_id")).mappings().all():
        digest = _hash(prev, row)
        bind.execute(sa.text("UPDATE audit_log SET prev_hash = :p, row_hash = :h WHERE audit_id = :i"),
                     {"p": prev, "h": digest, "i": row["audit_id"]})
        prev, n = digest, n + 1
    bind.execute(sa.text("INSERT INTO audit_head (head_id, rows, head_hash) VALUES (1, :n, :h)"), {"n": n, "h": prev})
    if sqlite:
        op.execute(f"CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
                   f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END")
        # NEW.audit_id is -1 in a BEFORE INSERT trigger when the insert leaves the id to SQLite.
        op.execute(f"CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log "
                   f"WHEN NEW.audit_id < -1 OR (NEW.audit_id <> -1 AND "
                   f"NEW.audit_id <= (SELECT coalesce(max(audit_id), 0) FROM audit_log)) "
                   f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}: audit ids are never reused or back-dated'); END")
    else:
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
    # Normalised user names (username_key, unique): in each group of names that normalise alike the account
    # already spelt that way (else the oldest) gets the key; the others get none (they cannot sign in) and are
    # disabled, for the operator to sort out.
    op.add_column('accounts', sa.Column('username_key', sa.String(length=120), nullable=True))
    accounts = bind.execute(sa.text("SELECT account_id, username FROM accounts ORDER BY account_id")).mappings().all()
    groups: dict[str, list] = {}
    for acc in accounts:
        groups.setdefault(_normalise(str(acc["username"])), []).append(acc)
    for key, members in groups.items():
        keeper = next((m for m in members if _collapse(m["username"]) == key), members[0]) if key else None
        for m in members:
            if m is keeper:
                bind.execute(sa.text("UPDATE accounts SET username_key = :k WHERE account_id = :i"),
                             {"k": key, "i": m["account_id"]})
            else:
                bind.execute(sa.text("UPDATE accounts SET disabled = :t WHERE account_id = :i"),
                             {"t": True, "i": m["account_id"]})
    op.create_index('uq_accounts_username_key', 'accounts', ['username_key'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_accounts_username_key', table_name='accounts')
    op.execute("ALTER TABLE accounts DROP COLUMN username_key")
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_replace")
    op.drop_table('audit_head')
    # Plain ALTER TABLE (SQLite >= 3.35 and PostgreSQL): a batch copy of the table would lose its triggers.
    op.execute("ALTER TABLE audit_log DROP COLUMN row_hash")
    op.execute("ALTER TABLE audit_log DROP COLUMN prev_hash")
