"""No role starves the API of connections (docs/security.md, point 3): the analysts' role holds at most
analytics.connection_limit connections (its CONNECTION LIMIT, set by every migrate), and the embedded server
keeps reserved_connections that only roles with pg_use_reserved_connections (rustok_app, granted by migrate)
may take. The re-attack opened analyst connections until the server refused everyone else: new rustok_app
connections failed and the API answered 503."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from rustok.db import Database
from rustok.embedded import RESERVED_CONNECTIONS
from rustok.migrate import migrate
from rustok.modules import installed_registry

FILLER = "rustok_test_filler"  # a role of no rustok privilege: what any other program's role can do
MOST = 400  # more than the embedded server's max_connections: a loop that is never refused fails the test


@pytest.fixture(scope="module", autouse=True)
def _migrated(db: Database) -> None:
    """Migrated once more: the analysts' password is the cluster's, and another module's migrate (the CLI's,
    with a password of its own RUSTOK_HOME) may have changed it; the database's privileges are not cloned."""
    migrate(db, installed_registry())


def _open_until_refused(url: str, held: contextlib.ExitStack) -> tuple[int, psycopg.OperationalError]:
    """Opens connections to `url` (kept open in `held`) until the server refuses one: how many, and why."""
    for opened in range(MOST):
        try:
            held.enter_context(psycopg.connect(url, autocommit=True, connect_timeout=10))
        except psycopg.OperationalError as refusal:
            return opened, refusal
    pytest.fail(f"{MOST} connections and none refused")


def _app_connections_succeed(db: Database, n: int) -> None:
    with contextlib.ExitStack() as held:
        for _ in range(n):
            conn = held.enter_context(psycopg.connect(db.app_url, autocommit=True, connect_timeout=10))
            assert conn.execute("select 1").fetchone() == (1,)


def test_analysts_hold_at_most_their_connection_limit_and_the_api_connects(db: Database) -> None:
    with contextlib.ExitStack() as held:
        opened, refusal = _open_until_refused(db.analytics_url(), held)
        _app_connections_succeed(db, 5)
    assert "too many connections for role" in str(refusal)
    with psycopg.connect(db.admin_url, autocommit=True) as su:
        limit = su.execute(
            "select (value #>> '{}')::int from platform_settings where key = 'analytics.connection_limit'"
        ).fetchone()
    assert limit == (opened,) == (10,), "the default: a few analysts' tools, far from the server's slots"


@pytest.fixture
def filler(db: Database) -> Iterator[str]:
    """A login role without a connection limit: any role of the server but rustok_app, taken to its end."""
    with psycopg.connect(db.server_admin_url(), autocommit=True) as su:
        su.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(FILLER)))
        su.execute(sql.SQL("create role {} login password 'filler'").format(sql.Identifier(FILLER)))
    try:
        yield db.cluster.role_url(FILLER, "filler", db.dbname)  # type: ignore[union-attr]
    finally:
        with psycopg.connect(db.server_admin_url(), autocommit=True) as su:
            su.execute(sql.SQL("drop role {}").format(sql.Identifier(FILLER)))


def test_another_role_taking_every_slot_leaves_the_reserved_ones_to_the_api(db: Database, filler: str) -> None:
    with psycopg.connect(db.server_admin_url(), autocommit=True) as su:
        settings: Any = su.execute("select current_setting('reserved_connections')::int").fetchone()
        granted = su.execute("select pg_has_role('rustok_app', 'pg_use_reserved_connections', 'MEMBER')").fetchone()
    assert settings == (RESERVED_CONNECTIONS,) and granted == (True,)
    with contextlib.ExitStack() as held:
        _, refusal = _open_until_refused(filler, held)
        assert "reserved for roles" in str(refusal), refusal
        _app_connections_succeed(db, 5)
