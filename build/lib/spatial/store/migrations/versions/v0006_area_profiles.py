"""Area profiles: the area a deployment covers (``area_profiles``, ``area_units``) and the count of
rows outside the area of interest per ingested file (``ingests.outside``).

Declared in ``spatial/store/tables.py``; written and read only through
``spatial/area_profiles.py`` (and the ingest pipeline for ``outside``).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True).with_variant(sa.String(length=40), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('ingests') as batch:
        batch.add_column(sa.Column('outside', sa.Integer(), nullable=False, server_default='0'))
    op.create_table('area_profiles',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('bundled', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('profile_json', sa.Text(), nullable=False),
    sa.Column('created_at', TIME, nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('area_units',
    sa.Column('area', sa.String(length=60), nullable=False),
    sa.Column('layer', sa.String(length=12), nullable=False),
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('district_code', sa.String(length=12), nullable=True),
    sa.Column('population', sa.Integer(), nullable=True),
    sa.Column('homes', sa.Integer(), nullable=True),
    sa.Column('geom_wkb', sa.Text(), nullable=False),
    sa.CheckConstraint("layer IN ('districts', 'wards', 'lsoas')", name='ck_area_units_layer'),
    sa.ForeignKeyConstraint(['area'], ['area_profiles.name']),
    sa.PrimaryKeyConstraint('area', 'layer', 'code')
    )


def downgrade() -> None:
    op.drop_table('area_units')
    op.drop_table('area_profiles')
    with op.batch_alter_table('ingests') as batch:
        batch.drop_column('outside')
