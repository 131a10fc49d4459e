"""Alembic environment for hotspot-tasking (run through :func:`spatial.store.db.upgrade`)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from spatial.store.tables import metadata

config = context.config
target_metadata = metadata


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        _run(conn)
