"""Sign-in sessions: server-side rows behind the signed session cookie (issue 15: a reload keeps you signed in).

Declared in ``spatial/store/tables.py``; written and read only through
``spatial/store/sessions.py``.  Only the SHA-256 of each cookie token is kept.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True).with_variant(sa.String(length=40), 'sqlite')


def upgrade() -> None:
    op.create_table('sessions',
    sa.Column('session_key', sa.String(length=64), nullable=False),
    sa.Column('username', sa.String(length=120), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('created_at', TIME, nullable=False),
    sa.Column('last_seen_at', TIME, nullable=False),
    sa.Column('ended_at', TIME, nullable=True),
    sa.Column('end_reason', sa.String(length=40), nullable=True),
    sa.PrimaryKeyConstraint('session_key'),
    )
    op.create_index('ix_sessions_username', 'sessions', ['username'])


def downgrade() -> None:
    op.drop_index('ix_sessions_username', table_name='sessions')
    op.drop_table('sessions')
