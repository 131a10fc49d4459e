"""The throwaway PostgreSQL server, its PostGIS, the per-test databases and the CI policy."""

from __future__ import annotations

import re
from collections.abc import Callable

import psycopg
import pytest
import sqlalchemy as sa
from _pgserver import DB_NAME, PgServer, in_ci, require_in_ci, skip_or_fail

LONDON_LON, LONDON_LAT = -0.19, 51.5


def _scalar(url: str, sql: str) -> object:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql)).scalar_one()
    finally:
        engine.dispose()


# --------------------------------------------------------------------------
# the server
# --------------------------------------------------------------------------
def test_server_answers_version(pg_server: PgServer) -> None:
    with psycopg.connect(pg_server.conninfo("postgres")) as conn:
        version = conn.execute("SELECT version()").fetchone()[0]
    match = re.match(r"PostgreSQL (\d+)\.", version)
    assert match, version
    if pg_server.bindir.parent.name.isdigit():  # /usr/lib/postgresql/N/bin
        assert match.group(1) == pg_server.bindir.parent.name


def test_server_listens_on_loopback_only_with_fsync_off(pg_server: PgServer) -> None:
    with psycopg.connect(pg_server.conninfo("postgres")) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == "127.0.0.1"
        assert conn.execute("SHOW port").fetchone()[0] == str(pg_server.port)
        assert conn.execute("SHOW fsync").fetchone()[0] == "off"
        assert conn.execute("SHOW server_encoding").fetchone()[0] == "UTF8"


def test_pg_url_is_the_documented_sqlalchemy_url(pg_server: PgServer, pg_url: str) -> None:
    assert pg_url == f"postgresql+psycopg://postgres@127.0.0.1:{pg_server.port}/{DB_NAME}"
    assert _scalar(pg_url, "SELECT current_database()") == DB_NAME


# --------------------------------------------------------------------------
# PostGIS
# --------------------------------------------------------------------------
def test_postgis_full_version(pg_url: str) -> None:
    full = _scalar(pg_url, "SELECT postgis_full_version()")
    assert re.search(r'POSTGIS="3\.', full), full
    assert "PROJ=" in full


def test_postgis_transforms_wgs84_to_british_national_grid(pg_url: str) -> None:
    wkt = _scalar(
        pg_url,
        f"SELECT ST_AsText(ST_Transform(ST_SetSRID(ST_MakePoint({LONDON_LON}, {LONDON_LAT}), 4326), 27700))",
    )
    match = re.fullmatch(r"POINT\(([-\d.e]+) ([-\d.e]+)\)", wkt)
    assert match, wkt
    easting, northing = float(match.group(1)), float(match.group(2))
    assert 500_000 < easting < 560_000, wkt
    assert 150_000 < northing < 200_000, wkt


# --------------------------------------------------------------------------
# per-test databases
# --------------------------------------------------------------------------
def test_fresh_databases_are_isolated_and_have_postgis(pg_database_factory: Callable[[], str]) -> None:
    url_a, url_b = pg_database_factory(), pg_database_factory()
    assert url_a != url_b

    engine_a = sa.create_engine(url_a)
    with engine_a.begin() as conn:
        conn.execute(sa.text("CREATE TABLE incidents (id integer PRIMARY KEY, geom geometry(Point, 27700))"))
        conn.execute(sa.text("INSERT INTO incidents VALUES (1, ST_SetSRID(ST_MakePoint(527000, 179000), 27700))"))
    engine_a.dispose()

    assert sa.inspect(sa.create_engine(url_a)).has_table("incidents")
    assert not sa.inspect(sa.create_engine(url_b)).has_table("incidents")
    assert _scalar(url_b, "SELECT count(*) FROM pg_extension WHERE extname = 'postgis'") == 1


def test_fresh_pg_url_is_not_the_shared_database(fresh_pg_url: str, pg_url: str) -> None:
    assert fresh_pg_url.rsplit("/", 1)[1] != DB_NAME
    engine = sa.create_engine(fresh_pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE only_here (x int)"))
    engine.dispose()
    assert not sa.inspect(sa.create_engine(pg_url)).has_table("only_here")


def test_drop_database_removes_it_even_with_open_connections(pg_server: PgServer, pg_url: str) -> None:
    name = pg_server.create_database()
    assert name in pg_server.list_databases()
    engine = sa.create_engine(pg_server.url(name))
    conn = engine.connect()  # left open on purpose: DROP ... WITH (FORCE) must cope
    try:
        pg_server.drop_database(name)
    finally:
        conn.invalidate()
        engine.dispose()
    assert name not in pg_server.list_databases()


def test_db_url_backends_store_and_read_rows(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    meta = sa.MetaData()
    table = sa.Table("t", meta, sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.String(20)))
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"id": 1, "name": "ward"}, {"id": 2, "name": "park"}])
    with engine.connect() as conn:
        names = conn.execute(sa.select(table.c.name).order_by(table.c.id)).scalars().all()
    engine.dispose()
    assert names == ["ward", "park"]
    assert engine.dialect.name == ("sqlite" if db_url.startswith("sqlite") else "postgresql")


# --------------------------------------------------------------------------
# skip locally, fail under CI
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, False), ("", False), ("0", False), ("false", False), ("False", False), ("true", True), ("1", True)],
)
def test_in_ci_reads_the_ci_variable(monkeypatch: pytest.MonkeyPatch, value: str | None, expected: bool) -> None:
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    assert in_ci() is expected


def test_require_in_ci_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    require_in_ci(True, "present")  # no exception

    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium missing"):
        require_in_ci(None, "chromium missing")

    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="chromium missing"):
        require_in_ci("", "chromium missing")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        skip_or_fail("anything")

