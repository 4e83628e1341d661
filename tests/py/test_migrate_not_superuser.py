"""`rustok migrate` as a role that is not superuser (a DATABASE_URL on a managed server): it still secures
everything a database owner can (EXECUTE allow-list, no TEMP, the analysts' settings), says what it could not
(pg_catalog's advisory lock, transaction id and large object functions stay open to PUBLIC), and the watchdog
ends an analyst who uses what stayed open (docs/security.md, point 3)."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from rustok.db import Database
from rustok.migrate import migrate
from rustok.modules import installed_registry
from tests.conftest import RUN, drop_database, restore_client_roles

DEPLOYER_PASSWORD = "rustok-test-deployer-password"


@pytest.fixture(scope="module")
def deployed(template_db: Database) -> Iterator[tuple[Database, list[str]]]:
    assert template_db.cluster is not None
    deployer, name = f"{RUN}_deployer", f"{RUN}_not_superuser"
    with psycopg.connect(template_db.server_admin_url(), autocommit=True) as su:
        su.execute(
            sql.SQL("create role {} login createrole createdb password {}").format(
                sql.Identifier(deployer), sql.Literal(DEPLOYER_PASSWORD)
            )
        )
        # the roles exist already (the template made them): a deployer that had created them would hold this
        # (PostgreSQL 16+ gives a role's creator ADMIN on it, without its privileges)
        su.execute(
            sql.SQL(
                "grant rustok_owner, rustok_clients, rustok_app, rustok_analytics to {}"
                " with admin true, inherit false, set false"
            ).format(sql.Identifier(deployer))
        )
        # a managed server: PUBLIC may connect to its maintenance database (the embedded one closes it), and
        # no superuser gave the analysts a temp file limit or the API role the reserved connections
        su.execute(sql.SQL("grant connect on database postgres to {}").format(sql.Identifier(deployer)))
        su.execute("alter role rustok_analytics reset temp_file_limit")
        su.execute("revoke pg_use_reserved_connections from rustok_app")
    db = Database(
        admin_url=template_db.cluster.role_url(deployer, DEPLOYER_PASSWORD, name),
        app_url=template_db.app_url,
        app_password=template_db.app_password,
        analytics_password=template_db.analytics_password,
    ).with_dbname(name)
    try:
        yield db, migrate(db, installed_registry()).warnings
    finally:
        drop_database(template_db, name)
        with psycopg.connect(template_db.server_admin_url(), autocommit=True) as su:
            su.execute(sql.SQL("drop owned by {}").format(sql.Identifier(deployer)))
            su.execute(sql.SQL("drop role {}").format(sql.Identifier(deployer)))
        restore_client_roles(template_db)


def test_migrate_says_what_only_a_superuser_could_do(deployed: tuple[Database, list[str]]) -> None:
    _, warnings = deployed
    assert warnings == [
        "setting temp_file_limit of rustok_analytics (only a superuser may set it)",
        "rustok_app cannot use the reserved connections: grant it pg_use_reserved_connections "
        "(only a superuser, or a role with ADMIN on it, may)",
        "advisory lock, transaction id and large object functions stay open to PUBLIC "
        "(only a superuser may revoke them)",
    ]


def test_what_a_database_owner_can_secure_is_secured(deployed: tuple[Database, list[str]]) -> None:
    db, _ = deployed
    with psycopg.connect(db.analytics_url(), autocommit=True) as analyst:
        assert analyst.execute("show default_transaction_read_only").fetchone() == ("on",)
        assert analyst.execute("show statement_timeout").fetchone() == ("5min",)
        analyst.execute("set default_transaction_read_only = off")
        for statement in ("select rustok._index_browse_rebuild()", "create temp table grab (x int)"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                analyst.execute(statement)


def test_an_analyst_using_what_stayed_open_is_ended_by_the_watchdog(deployed: tuple[Database, list[str]]) -> None:
    db, _ = deployed
    with psycopg.connect(db.analytics_url(), autocommit=True) as analyst:
        analyst.execute("select pg_advisory_lock(1)")  # open here: the deployer could not close it
        with psycopg.connect(db.admin_url, autocommit=True) as deployer:
            # `rustok maintain` on this server: the deployer may not signal analysts, so its round does nothing
            assert deployer.execute("select * from rustok.enforce_analytics_limits()").fetchall() == []
        with psycopg.connect(db.app_url, autocommit=True) as app:
            done = app.execute("select action, reason from rustok.enforce_analytics_limits()").fetchall()
        assert done == [("terminated", "holds an advisory lock")]
        with pytest.raises(psycopg.OperationalError):
            analyst.execute("select 1")
