"""police.uk archive and PostGIS geometry (issue 17 items 2 and 3).

* ``incidents.reported_by`` / ``falls_within``: police.uk's two force columns, stored.
* ``outcomes``: every police.uk outcome of a crime by month (the history behind
  ``incidents.outcome``; the latest month wins).
* ``stop_searches``: police.uk stop-and-search, a dataset of its own.
* PostgreSQL with PostGIS: ``area_layers.geom`` and ``area_units.geom``, generated
  ``geometry(MultiPolygon, 27700)`` columns from the hex WKB (one geometry type per
  column, so QGIS and GDAL see a typed layer) with GiST indexes, and a GiST index on
  ``stop_searches`` points.  The writers keep writing ``geom_wkb``; the database keeps
  the geometry in step.

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0007'
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True).with_variant(sa.String(length=40), 'sqlite')
_GEOM = ("ST_Multi(ST_SetSRID(ST_GeomFromWKB(decode(geom_wkb, 'hex')), 27700))")


def _postgis() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    return bool(bind.execute(sa.text("SELECT count(*) FROM pg_extension WHERE extname = 'postgis'")).scalar())


def upgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reported_by', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('falls_within', sa.Text(), nullable=True))
    op.create_table('outcomes',
    sa.Column('outcome_row_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('crime_id', sa.String(length=160), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('outcome_type', sa.Text(), nullable=False),
    sa.Column('reported_by', sa.Text(), nullable=True),
    sa.Column('falls_within', sa.Text(), nullable=True),
    sa.Column('lsoa_code', sa.String(length=12), nullable=True),
    sa.Column('ingest_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['ingest_id'], ['ingests.ingest_id'], ),
    sa.PrimaryKeyConstraint('outcome_row_id'),
    sa.UniqueConstraint('crime_id', 'month', 'outcome_type', name='uq_outcomes_crime_month_type')
    )
    op.create_table('stop_searches',
    sa.Column('search_id', sa.String(length=64), nullable=False),
    sa.Column('force', sa.String(length=60), nullable=True),
    sa.Column('searched_at', TIME, nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('search_type', sa.Text(), nullable=False),
    sa.Column('policing_operation', sa.Boolean(), nullable=True),
    sa.Column('x', sa.Float(), nullable=True),
    sa.Column('y', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('ward_code', sa.String(length=12), nullable=True),
    sa.Column('lsoa_code', sa.String(length=12), nullable=True),
    sa.Column('gender', sa.Text(), nullable=True),
    sa.Column('age_range', sa.Text(), nullable=True),
    sa.Column('self_defined_ethnicity', sa.Text(), nullable=True),
    sa.Column('officer_defined_ethnicity', sa.Text(), nullable=True),
    sa.Column('legislation', sa.Text(), nullable=True),
    sa.Column('object_of_search', sa.Text(), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('outcome_linked', sa.Boolean(), nullable=True),
    sa.Column('outer_clothing_removed', sa.Boolean(), nullable=True),
    sa.Column('ingest_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['ingest_id'], ['ingests.ingest_id'], ),
    sa.PrimaryKeyConstraint('search_id')
    )
    op.create_index('ix_stop_searches_month', 'stop_searches', ['month'], unique=False)
    if _postgis():
        for table in ("area_layers", "area_units"):
            op.execute(f"ALTER TABLE {table} ADD COLUMN geom geometry(MultiPolygon, 27700) "
                       f"GENERATED ALWAYS AS ({_GEOM}) STORED")
            op.execute(f"CREATE INDEX ix_{table}_geom ON {table} USING gist (geom)")
        op.execute("ALTER TABLE stop_searches ADD COLUMN geom geometry(Point, 27700) "
                   "GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(x, y), 27700)) STORED")
        op.execute("CREATE INDEX ix_stop_searches_geom ON stop_searches USING gist (geom)")


def downgrade() -> None:
    if _postgis():
        for table in ("area_layers", "area_units"):
            op.execute(f"DROP INDEX IF EXISTS ix_{table}_geom")
            op.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS geom")
    op.drop_index('ix_stop_searches_month', table_name='stop_searches')
    op.drop_table('stop_searches')
    op.drop_table('outcomes')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_column('falls_within')
        batch_op.drop_column('reported_by')
