"""Audit log: append-only record of sign-ins, sensitive views, exports, approvals, purges, backups, restores.

Declared in ``spatial/store/tables.py``; written only through
``spatial/store/audit.py``.  Triggers refuse UPDATE and DELETE on both back
ends, so a row, once written, stays (the retention purge never touches it).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True).with_variant(sa.String(length=40), 'sqlite')
REFUSAL = "audit_log is append-only"


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('audit_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', TIME, nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('role', sa.String(length=40), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('target', sa.Text(), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('audit_id')
    )
    op.create_index('ix_audit_log_at', 'audit_log', ['at'], unique=False)
    op.create_index('ix_audit_log_action', 'audit_log', ['action'], unique=False)
    if op.get_bind().dialect.name == 'sqlite':
        for event in ('UPDATE', 'DELETE'):
            op.execute(f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                       f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END")
    else:
        op.execute(f"CREATE FUNCTION audit_log_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   f"BEGIN RAISE EXCEPTION '{REFUSAL}'; END $$")
        op.execute("CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse()")


def downgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_refuse()")
    op.drop_index('ix_audit_log_action', table_name='audit_log')
    op.drop_index('ix_audit_log_at', table_name='audit_log')
    op.drop_table('audit_log')
