"""Storage edge: SQLAlchemy engines, migrations, bulk writes and read queries."""

from .db import connect, create, is_postgres, upgrade

__all__ = ["connect", "create", "is_postgres", "upgrade"]
