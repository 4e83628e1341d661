"""A rustok_app session (the role docs/psql.md hands to psql users) cannot hold every tenant's event-writing
writes (docs/security.md, point 4). The re-attack wrote an event, ran SET CONSTRAINTS ALL IMMEDIATE and sat
idle: the commit-order stamp took its EXCLUSIVE lock early and every event-writing commit of every tenant
waited until that session ended. Now a client role's early stamp is refused (COMMIT_ORDER_EARLY, the lock
released with the failed statement), and a rustok_app session idle in a transaction, with whatever locks it
holds, is ended after app.idle_in_transaction_timeout: by its role setting, or by the watchdog when the
session SET that away."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from rustok.db import Database
from tests.conftest import clone_database, drop_database, restore_client_roles

IDLE_LIMIT = 2  # seconds: this module's app.idle_in_transaction_timeout (the default is a minute)
WRITE_BOUND = 5.0  # seconds another tenant's event-writing write may take (~0.01 s; held: until the attacker ends)
EARLY = "RK017"  # COMMIT_ORDER_EARLY


@pytest.fixture(scope="module")
def cdb(template_db: Database) -> Iterator[Database]:
    db = clone_database(template_db, "commit_order_at_commit")
    with psycopg.connect(db.admin_url, autocommit=True) as owner:
        owner.execute(
            "update platform_settings set value = to_jsonb(%s::text) where key = 'app.idle_in_transaction_timeout'",
            (f"{IDLE_LIMIT} seconds",),
        )
        owner.execute("select rustok._secure_client_roles()")  # what migrate does with the setting
    yield db
    drop_database(template_db, db.dbname)
    restore_client_roles(template_db)


def _tenant(db: Database, slug: str) -> Any:
    with psycopg.connect(db.admin_url) as conn:
        row = conn.execute("select rustok.parse_id(rustok.create_tenant(%s, 'T') ->> 'id')", (slug,)).fetchone()
    assert row is not None
    return row[0]


@pytest.fixture(scope="module")
def tenants(cdb: Database) -> tuple[Any, Any]:
    return _tenant(cdb, "attacked"), _tenant(cdb, "bystander")


def publish(conn: psycopg.Connection[Any], tenant: Any) -> None:
    conn.execute("select rustok.set_context(%s)", (tenant,))
    conn.execute("select rustok.publish_event('Probe', '{}')")


def _write_elsewhere(db: Database, tenant: Any) -> float:
    """Seconds another session takes to commit an event-writing write (bounded by a statement timeout of 20 s,
    so a held lock fails the test rather than hanging it)."""
    started = time.monotonic()
    with psycopg.connect(db.app_url, options="-c statement_timeout=20s") as writer:
        publish(writer, tenant)
        writer.commit()
    return time.monotonic() - started


@pytest.mark.parametrize(
    "statements",
    [
        ["publish", "set constraints all immediate"],  # the re-attack
        ["publish", "set constraints _900_commit_order immediate"],
        ["set constraints all immediate", "publish"],
        ["set constraints _900_commit_order immediate", "publish"],
    ],
)
def test_a_client_roles_early_stamp_is_refused_and_other_tenants_write_on(
    cdb: Database, tenants: tuple[Any, Any], statements: list[str]
) -> None:
    attacked, bystander = tenants
    with psycopg.connect(cdb.app_url) as attacker:
        attacker.execute("set idle_in_transaction_session_timeout = 0")  # as long as it likes
        with pytest.raises(psycopg.Error) as refused:
            for statement in statements:
                publish(attacker, attacked) if statement == "publish" else attacker.execute(statement)
        assert refused.value.sqlstate == EARLY
        # the attacker's session stays open and idle (its transaction failed): nothing of it is held
        assert _write_elsewhere(cdb, bystander) < WRITE_BOUND
        assert _write_elsewhere(cdb, attacked) < WRITE_BOUND
        attacker.rollback()
        publish(attacker, attacked)  # the same session writes events as usual, stamped at COMMIT
        attacker.commit()


def test_an_operator_may_still_stamp_early(cdb: Database, tenants: tuple[Any, Any]) -> None:
    with psycopg.connect(cdb.admin_url) as operator:
        publish(operator, tenants[0])
        operator.execute("set constraints all immediate")
        operator.commit()


def _holding_a_row_lock(db: Database, tenant: Any, setting: str | None = None) -> psycopg.Connection[Any]:
    """A psql user's session as rustok_app, idle in a transaction that holds the lock of the tenant's row."""
    conn = psycopg.connect(db.app_url)
    if setting:
        conn.execute(setting)
    conn.execute("select rustok.set_context(%s)", (tenant,))
    conn.execute("select 1 from tenants where id = %s for update", (tenant,))
    return conn


def _wait_for_the_row(db: Database, tenant: Any) -> float:
    """Seconds until another session takes the same row lock (or fails after 20 s)."""
    started = time.monotonic()
    with psycopg.connect(db.app_url, options="-c lock_timeout=20s") as other:
        other.execute("select rustok.set_context(%s)", (tenant,))
        other.execute("select 1 from tenants where id = %s for update", (tenant,))
        other.rollback()
    return time.monotonic() - started


def test_an_idle_transaction_of_the_app_role_ends_after_its_limit(cdb: Database, tenants: tuple[Any, Any]) -> None:
    with psycopg.connect(cdb.app_url) as app:
        assert app.execute("show idle_in_transaction_session_timeout").fetchone() == (f"{IDLE_LIMIT}s",)
    holder = _holding_a_row_lock(cdb, tenants[1])
    try:
        waited = _wait_for_the_row(cdb, tenants[1])
        assert waited < IDLE_LIMIT + WRITE_BOUND, waited
        with pytest.raises(psycopg.errors.IdleInTransactionSessionTimeout):
            holder.execute("select 1")
    finally:
        holder.close()


def test_the_watchdog_ends_one_that_set_its_limit_away(cdb: Database, tenants: tuple[Any, Any]) -> None:
    holder = _holding_a_row_lock(cdb, tenants[1], "set idle_in_transaction_session_timeout = 0")
    stop = threading.Event()

    def watchdog() -> None:  # `rustok worker`'s rounds, as the application role
        with psycopg.connect(cdb.app_url, autocommit=True) as app:
            while not stop.wait(0.2):
                app.execute("select * from rustok.enforce_app_limits()")

    rounds = threading.Thread(target=watchdog)
    rounds.start()
    try:
        waited = _wait_for_the_row(cdb, tenants[1])
        assert waited < IDLE_LIMIT + WRITE_BOUND, waited
        with pytest.raises(psycopg.OperationalError):
            holder.execute("select 1")
    finally:
        stop.set()
        rounds.join()
        holder.close()
