"""Forecaster choices per area and crime group (issue 16: record the choice with the store).

Declared in ``spatial/store/tables.py``; written and read only through
``spatial/store/forecast_choices.py``.  One row per (area, crime group): the
method chosen by the rolling-origin backtest, its hit rate, the runner-up's,
plain counts' and last month's, the months it rests on, and the data version
(hash of the counts) it was made on, so a choice made before new months were
ingested is never served.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True).with_variant(sa.String(length=40), 'sqlite')


def upgrade() -> None:
    op.create_table('forecast_choices',
    sa.Column('area', sa.String(length=120), nullable=False),
    sa.Column('crime_group', sa.String(length=80), nullable=False),
    sa.Column('data_version', sa.String(length=40), nullable=False),
    sa.Column('method', sa.String(length=40), nullable=False),
    sa.Column('hit_rate', sa.Float(), nullable=True),
    sa.Column('runner_up', sa.String(length=40), nullable=True),
    sa.Column('runner_up_hit_rate', sa.Float(), nullable=True),
    sa.Column('counts_all_hit_rate', sa.Float(), nullable=True),
    sa.Column('last_month_hit_rate', sa.Float(), nullable=True),
    sa.Column('months', sa.Integer(), nullable=False),
    sa.Column('origins', sa.Integer(), nullable=False),
    sa.Column('first_month', sa.String(length=7), nullable=True),
    sa.Column('last_month', sa.String(length=7), nullable=True),
    sa.Column('fallback', sa.Text(), nullable=True),
    sa.Column('choice_json', sa.Text(), nullable=False),
    sa.Column('selected_at', TIME, nullable=False),
    sa.PrimaryKeyConstraint('area', 'crime_group'),
    )


def downgrade() -> None:
    op.drop_table('forecast_choices')
