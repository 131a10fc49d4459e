"""Read-only access for desktop GIS (QGIS) on PostgreSQL: views without sensitive incidents, and a role for them.

``hotspot-tasking db init`` (and ``upgrade``, ``reflag``) on PostgreSQL makes

* ``gis_incidents``: incidents that are **not** sensitive, as points
  (``geom``, EPSG:27700, when PostGIS is installed, plus ``x, y, lon, lat``);
  an incident is left out when its ``sensitive`` flag is set *or* its category
  is sensitive now (``spatial/data/categories.csv`` plus
  ``HOTSPOT_EXTRA_SENSITIVE``), so a category added before ``db reflag`` has
  run is hidden at once.  No source references, ingest ids or free-text
  outcomes of council logs beyond the police.uk outcome text.
* ``gis_area_counts``: the ward/LSOA count tables with 1-4 shown as NULL
  (``suppressed`` true), as the partner role sees them;
* ``gis_area_layers``: the estates and parks polygons (``geom``, ``geometry(MultiPolygon, 27700)``);
* a role (``HOTSPOT_GIS_ROLE``, default ``hotspot_gis``) that may ``SELECT``
  those three views and nothing else: not ``incidents``, not ``accounts``,
  not ``audit_log``, not the meeting records.  It is ``NOLOGIN`` unless
  ``HOTSPOT_GIS_PASSWORD`` is set (then ``LOGIN`` with that password); grant it
  to a person's own login role instead (``GRANT hotspot_gis TO alice``) where
  people have their own.

The views run with their owner's rights, so the role needs no right on the
tables behind them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Engine, text

from spatial._errors import HotspotError

__all__ = ["GIS_ROLE_ENV", "GIS_PASSWORD_ENV", "DEFAULT_GIS_ROLE", "GIS_VIEWS", "GisAccess", "create_gis_access"]

GIS_ROLE_ENV: Final = "HOTSPOT_GIS_ROLE"
GIS_PASSWORD_ENV: Final = "HOTSPOT_GIS_PASSWORD"
DEFAULT_GIS_ROLE: Final = "hotspot_gis"
GIS_VIEWS: Final = ("gis_incidents", "gis_area_counts", "gis_area_layers")
_IDENT: Final = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class GisAccess:
    """What :func:`create_gis_access` made."""

    role: str
    login: bool
    views: tuple[str, ...]
    hidden_categories: tuple[str, ...]


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def create_gis_access(engine: Engine, *, environ: Mapping[str, str] | None = None,
                      sensitive: frozenset[str] | None = None) -> GisAccess:
    """Create or replace the GIS views and the read-only role on a PostgreSQL store (see the module docstring).

    Raises
    ------
    HotspotError
        On SQLite (QGIS reads a copy of the file there; use an export), or for
        a role name that is not a plain lower-case identifier.
    """
    if engine.dialect.name != "postgresql":
        msg = "the read-only GIS role and views are for PostgreSQL stores; on SQLite use the exports"
        raise HotspotError(msg)
    env = os.environ if environ is None else environ
    role = (env.get(GIS_ROLE_ENV) or DEFAULT_GIS_ROLE).strip()
    if not _IDENT.match(role):
        msg = f"{GIS_ROLE_ENV}={role!r} is not a role name; use lower-case letters, digits and _ (e.g. hotspot_gis)"
        raise HotspotError(msg)
    password = env.get(GIS_PASSWORD_ENV) or None
    if sensitive is None:
        from spatial.schema import load_taxonomy

        sensitive = load_taxonomy().sensitive_slugs()
    hidden = tuple(sorted(sensitive))
    not_in = f"AND category NOT IN ({', '.join(_quote(c) for c in hidden)})" if hidden else ""
    with engine.begin() as conn:
        postgis = conn.execute(text("SELECT count(*) FROM pg_extension WHERE extname = 'postgis'")).scalar_one() > 0
        geom = "ST_SetSRID(ST_MakePoint(x, y), 27700)::geometry(Point, 27700) AS geom, " if postgis else ""
        conn.execute(text("DROP VIEW IF EXISTS gis_incidents"))
        conn.execute(text(
            f"CREATE VIEW gis_incidents AS SELECT incident_id, {geom}category, month, occurred_from, occurred_to, "
            "x, y, lon, lat, ward_code, lsoa_code, estate_id, park_id, location_text, source "
            f"FROM incidents WHERE NOT sensitive {not_in}"))
        conn.execute(text(
            "CREATE OR REPLACE VIEW gis_area_counts AS SELECT dataset, area_type, area_code, area_name, major, minor, "
            "month, CASE WHEN count BETWEEN 1 AND 4 THEN NULL ELSE count END AS count, "
            "(count BETWEEN 1 AND 4) AS suppressed FROM area_counts"))
        has_geom = conn.execute(text(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = 'area_layers' AND column_name = 'geom'")).scalar_one() > 0
        # migration 0009: area_layers.geom is a GiST-indexed geometry(MultiPolygon, 27700) column
        area_geom = ("geom, " if has_geom else
                     "ST_SetSRID(ST_GeomFromWKB(decode(geom_wkb, 'hex')), 27700) AS geom, " if postgis else "")
        conn.execute(text("DROP VIEW IF EXISTS gis_area_layers"))
        conn.execute(text(f"CREATE VIEW gis_area_layers AS SELECT layer, area_id, name, {area_geom}"
                          "geom_wkb FROM area_layers"))
        exists = conn.execute(text("SELECT count(*) FROM pg_roles WHERE rolname = :r"), {"r": role}).scalar_one()
        if not exists:
            conn.execute(text(f'CREATE ROLE "{role}" NOLOGIN'))
        if password:
            conn.exec_driver_sql(f'ALTER ROLE "{role}" LOGIN PASSWORD {_quote(password)}')  # never logged
        else:
            conn.execute(text(f'ALTER ROLE "{role}" NOLOGIN'))
        conn.execute(text(f'ALTER ROLE "{role}" NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT'))
        conn.execute(text(f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{role}"'))
        conn.execute(text(f'REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM "{role}"'))
        conn.execute(text(f'REVOKE CREATE ON SCHEMA public FROM "{role}"'))
        conn.execute(text(f'GRANT USAGE ON SCHEMA public TO "{role}"'))
        db = conn.execute(text("SELECT current_database()")).scalar_one()
        conn.execute(text(f'GRANT CONNECT ON DATABASE "{db}" TO "{role}"'))
        for view in GIS_VIEWS:
            conn.execute(text(f'GRANT SELECT ON {view} TO "{role}"'))
    return GisAccess(role, bool(password), GIS_VIEWS, hidden)
