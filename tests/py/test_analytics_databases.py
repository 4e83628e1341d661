"""The analysts' limits hold in every database of the server, not only rustok's (docs/security.md, point 3). The
re-attack used the maintenance database `postgres`, where the role settings (then IN DATABASE rustok) did not
apply: read-write, no timeouts, a 270 MB temporary table. Now the role settings are role-wide, the embedded
server closes `postgres` and `template1` to every role but the superuser, the watchdog acts wherever an
analyst is connected, and migrate warns where a DATABASE_URL server leaves a maintenance database open."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from rustok.db import Database
from rustok.migrate import migrate
from rustok.modules import installed_registry
from tests.conftest import drop_database

LIMITS = {
    "default_transaction_read_only": "on",
    "statement_timeout": "5min",
    "idle_in_transaction_session_timeout": "1min",
    "temp_file_limit": "10GB",
}


@pytest.fixture(scope="module", autouse=True)
def _migrated(db: Database) -> None:
    """Migrated once more: the analysts' password is the cluster's, and another module's migrate (the CLI's,
    with a password of its own RUSTOK_HOME) may have changed it; the database's privileges are not cloned."""
    migrate(db, installed_registry())


def _url(db: Database, url: str, dbname: str) -> str:
    return url.replace(f"/{db.dbname}?", f"/{dbname}?")


def _shown(conn: psycopg.Connection[Any]) -> dict[str, str]:
    return {name: conn.execute(sql.SQL("show {}").format(sql.Identifier(name))).fetchone()[0] for name in LIMITS}  # type: ignore[index]


@pytest.mark.parametrize("maintenance", ["postgres", "template1"])
def test_the_embedded_servers_maintenance_databases_are_closed_to_client_roles(db: Database, maintenance: str) -> None:
    for url in (db.analytics_url(), db.app_url):
        with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
            psycopg.connect(_url(db, url, maintenance)).close()
    assert db.cluster is not None
    with psycopg.connect(db.cluster.superuser_url(maintenance)) as su:  # `rustok db psql --superuser`
        assert su.execute("select current_database()").fetchone() == (maintenance,)


@pytest.fixture
def elsewhere(db: Database) -> Iterator[str]:
    """Another database of the server that analysts may connect to (as PUBLIC may on a DATABASE_URL server's
    `postgres`), with TEMP for PUBLIC, PostgreSQL's default."""
    name = f"{db.dbname}_elsewhere"
    with psycopg.connect(db.server_admin_url(), autocommit=True) as su:
        su.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    yield name
    drop_database(db, name)


def test_the_analysts_limits_hold_in_any_database(db: Database, elsewhere: str) -> None:
    with psycopg.connect(_url(db, db.analytics_url(), elsewhere), autocommit=True) as analyst:
        assert _shown(analyst) == LIMITS
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            analyst.execute("create temporary table filler as select 1")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            analyst.execute("set temp_file_limit = -1")
        # a session may turn read-only off, but a transaction id anywhere is ended by the watchdog
        analyst.execute("set default_transaction_read_only = off")
        analyst.execute("begin")
        analyst.execute("create temporary table filler as select g from generate_series(1, 1000) g")
        with psycopg.connect(db.app_url, autocommit=True) as app:  # the worker's round, in rustok's database
            done = app.execute("select action, reason from rustok.enforce_analytics_limits()").fetchall()
        assert done == [("terminated", "holds a transaction id")]
        with pytest.raises(psycopg.OperationalError):
            analyst.execute("select 1")


def test_migrate_warns_where_a_maintenance_database_is_open_to_every_role(db: Database) -> None:
    with psycopg.connect(db.server_admin_url(), autocommit=True) as su:
        had = su.execute(
            "select exists (select from pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a"
            " where d.datname = 'postgres' and a.grantee = 0 and a.privilege_type = 'CONNECT')"
        ).fetchone()
        su.execute("grant connect on database postgres to public")  # as on a managed server
        try:
            with psycopg.connect(db.admin_url, autocommit=True) as owner:
                skipped = owner.execute("select rustok._secure_client_roles()").fetchone()[0]  # type: ignore[index]
        finally:
            if had == (False,):
                su.execute("revoke connect on database postgres from public")
    assert [s for s in skipped if "maintenance database" in s] == [
        "every role may connect to the maintenance database postgres (CONNECT for PUBLIC): the analysts' role "
        "settings and the watchdog hold there, but revoke it (`revoke connect, temporary on database postgres "
        "from public`) unless other programs need it"
    ]
