"""Accounts: local sign-in (argon2 hashes), roles, roster agent ids and lock-out state.

Declared in ``spatial/store/tables.py``; written and read only through
``spatial/store/accounts.py``.  The password hash is never logged or shown.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True).with_variant(sa.String(length=40), 'sqlite')


def upgrade() -> None:
    op.create_table('accounts',
    sa.Column('account_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=120), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('agent_id', sa.String(length=20), nullable=True),
    sa.Column('password_hash', sa.Text(), nullable=True),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('failed_count', sa.Integer(), nullable=False),
    sa.Column('first_failure_at', TIME, nullable=True),
    sa.Column('locked_until', TIME, nullable=True),
    sa.Column('last_sign_in_at', TIME, nullable=True),
    sa.Column('created_at', TIME, nullable=False),
    sa.Column('updated_at', TIME, nullable=False),
    sa.CheckConstraint("role IN ('chair', 'analyst', 'cctv', 'warden', 'partner')", name='ck_accounts_role'),
    sa.CheckConstraint("role <> 'warden' OR agent_id IS NOT NULL", name='ck_accounts_warden_agent'),
    sa.PrimaryKeyConstraint('account_id'),
    sa.UniqueConstraint('username'),
    sa.UniqueConstraint('email')
    )


def downgrade() -> None:
    op.drop_table('accounts')
