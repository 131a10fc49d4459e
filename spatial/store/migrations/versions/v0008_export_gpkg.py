"""GeoPackage plan exports are audited: ``export_audit.kind`` may be ``gpkg`` (issue 17 item 1).

Declared in ``spatial/store/tables.py`` (``ck_export_audit_kind``); the kinds are
:data:`tasking.formats.EXPORT_KINDS`.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""
from __future__ import annotations

from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

_NEW = "kind IN ('pdf', 'html', 'csv', 'geojson', 'gpkg')"
_OLD = "kind IN ('pdf', 'html', 'csv', 'geojson')"


def _replace(check: str) -> None:
    # SQLite cannot alter a constraint: batch mode copies the table (rows kept), PostgreSQL alters in place
    with op.batch_alter_table('export_audit') as batch:
        batch.drop_constraint('ck_export_audit_kind', type_='check')
        batch.create_check_constraint('ck_export_audit_kind', check)


def upgrade() -> None:
    _replace(_NEW)


def downgrade() -> None:
    op.execute("DELETE FROM export_audit WHERE kind = 'gpkg'")
    _replace(_OLD)
