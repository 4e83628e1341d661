"""The analysts' role (docs/security.md, point 3): SELECT on the index tables under the same tenant RLS, read-only
sessions with limits, and nothing with which a session could hold up a tenant's write: no lock a write waits for,
no write, no transaction id."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from rustok.db import Database
from rustok.migrate import migrate
from rustok.modules import installed_registry
from tests.conftest import clone_database, drop_database
from tests.py.graphql_support import Tenant, make_tenant

WRITE_BOUND = 5.0  # seconds a tenant write may take beside the analysts (it takes ~0.05 s; held up: 20 s)


@pytest.fixture(scope="module")
def adb(template_db: Database) -> Iterator[Database]:
    db = clone_database(template_db, "analytics")
    migrate(db, installed_registry())  # database privileges and role settings are per database, not cloned
    yield db
    drop_database(template_db, db.dbname)


@pytest.fixture(scope="module")
def tenant(adb: Database) -> Tenant:
    return make_tenant(adb, "stats")


def test_analysts_read_the_index_tables_of_the_tenant_they_set_and_nothing_else(adb: Database, tenant: Tenant) -> None:
    with psycopg.connect(adb.analytics_url(), autocommit=True) as analyst:
        role = analyst.execute("select rolsuper, rolbypassrls from pg_roles where rolname = current_user").fetchone()
        assert role == (False, False)
        assert analyst.execute("select count(*) from index_products").fetchone() == (0,)
        with analyst.transaction():
            analyst.execute("select rustok.set_context(rustok.tenant_id_by_slug('stats'))")
            assert analyst.execute("select count(*) from index_content").fetchone() == (0,)
        # a session-wide tenant needs no transaction (docs/index.md)
        analyst.execute("select set_config('rustok.tenant_id', %s, false)", (str(tenant.id),))
        assert analyst.execute("select rustok.current_tenant_id()").fetchone() == (tenant.id,)
        for statement in ("select count(*) from users", "select count(*) from commerce_products"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                analyst.execute(statement)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            analyst.execute("insert into index_products (tenant_id, product_id) values (%s, %s)", (tenant.id,) * 2)


def test_sessions_start_read_only_with_the_limits_of_platform_settings(adb: Database) -> None:
    with psycopg.connect(adb.analytics_url(), autocommit=True) as analyst:
        shown = {
            name: analyst.execute(f"show {name}").fetchone()[0]  # type: ignore[index]
            for name in ("default_transaction_read_only", "statement_timeout", "idle_in_transaction_session_timeout")
        }
        assert shown == {
            "default_transaction_read_only": "on",
            "statement_timeout": "5min",
            "idle_in_transaction_session_timeout": "1min",
        }
        assert analyst.execute("show temp_file_limit").fetchone() == ("10GB",)
        # a session may SET its limits away (the watchdog holds them, test_analytics_watchdog.py), but not this one
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            analyst.execute("set temp_file_limit = -1")
        # it may even rewrite its own role settings; the next migrate puts them back
        analyst.execute("set default_transaction_read_only = off")
        analyst.execute(f"alter role rustok_analytics in database {adb.dbname} set statement_timeout = 0")
    migrate(adb, installed_registry())
    with psycopg.connect(adb.analytics_url(), autocommit=True) as analyst:
        assert analyst.execute("show statement_timeout").fetchone() == ("5min",)


# Each is tried in a read-write transaction, so privileges refuse it, not the session's read-only default.
REFUSED = {
    "advisory lock": "select pg_advisory_lock(1)",
    "advisory lock, two keys": "select pg_advisory_lock(1, 2)",
    "shared advisory lock": "select pg_advisory_lock_shared(1)",
    "transaction advisory lock": "select pg_advisory_xact_lock(1)",
    "try advisory lock": "select pg_try_advisory_lock(1)",
    "try transaction advisory lock": "select pg_try_advisory_xact_lock_shared(1)",
    "txid_current": "select txid_current()",
    "pg_current_xact_id": "select pg_current_xact_id()",
    "large object": "select lo_create(0)",
    "large object from bytea": "select lo_from_bytea(0, 'x')",
    "WAL message": "select pg_logical_emit_message(true, 'rustok', 'x')",
    "pg_notify": "select pg_notify('rustok_events', '')",
    "sequence": "select nextval('event_outbox_position_seq')",
    "for update": "select * from index_products for update",
    "for no key update": "select * from index_products for no key update",
    "for share": "select * from index_content for share",
    "for key share": "select * from index_content for key share",
    "lock table row share": "lock table index_products in row share mode",
    "lock table share": "lock table index_products in share mode",
    "lock table access exclusive": "lock table index_content in access exclusive mode",
    "temporary table": "create temp table grab (x int)",
    "table in public": "create table public.grab (x int)",
    "schema": "create schema grab",
    "insert": "insert into index_products (tenant_id, product_id) values (gen_random_uuid(), gen_random_uuid())",
    "update": "update index_content set title = title",
    "delete": "delete from index_products",
    "truncate": "truncate index_content",
    "browse mirror rebuild": "select rustok._index_browse_rebuild()",
    "index lock key": "select rustok._index_lock_key(gen_random_uuid(), 'product')",
    "a tenant's index lock": "select rustok._index_lock(gen_random_uuid(), 'product')",
    "publish an event": "select rustok.publish_event('Spoofed', '{}')",
}


@pytest.mark.parametrize("statement", REFUSED.values(), ids=REFUSED.keys())
def test_analysts_cannot_lock_write_or_take_a_transaction_id(adb: Database, statement: str) -> None:
    with psycopg.connect(adb.analytics_url()) as analyst:
        analyst.execute("set transaction read write")
        analyst.execute("savepoint attempt")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            analyst.execute(statement)
        analyst.execute("rollback to savepoint attempt")
        assert analyst.execute("select pg_current_xact_id_if_assigned()").fetchone() == (None,)


def test_the_database_gives_clients_no_temporary_tables_and_no_schemas(adb: Database) -> None:
    with psycopg.connect(adb.admin_url) as owner:
        privileges = owner.execute(
            "select has_database_privilege(r, current_database(), 'TEMPORARY'),"
            " has_database_privilege(r, current_database(), 'CREATE'), has_schema_privilege(r, 'public', 'CREATE')"
            " from unnest(array['rustok_analytics', 'rustok_app']) r"
        ).fetchall()
    assert privileges == [(False, False, False), (False, False, False)]


def _keys(db: Database, tenant: Tenant) -> dict[str, int]:
    """The advisory lock keys createProduct and createNode of this tenant take (what an attacker would take)."""
    with psycopg.connect(db.admin_url) as owner:
        row = owner.execute(
            "select rustok._index_lock_key(%(t)s, 'browse'), rustok._index_lock_key(%(t)s, 'product'),"
            " rustok._index_lock_key(%(t)s, 'content'),"
            " hashtextextended('rustok.slug:' || %(t)s::text || ':post:held-up', 0),"
            " hashtextextended('rustok.tenant_modules:' || %(t)s::text, 0)",
            {"t": tenant.id},
        ).fetchone()
    assert row is not None
    return dict(zip(("browse", "product", "content", "slug", "modules"), row, strict=True))


def _grab_everything(analyst: psycopg.Connection[Any], keys: dict[str, int]) -> list[str]:
    """In the analyst's open read-write transaction: every lock it may take, each kept when granted."""
    attempts = [
        *(f"select pg_advisory_lock({k})" for k in keys.values()),
        "select txid_current()",
        "select * from index_products for update",
        "lock table index_products in share row exclusive mode",
        "lock table index_content in share mode",
        "select rustok._index_browse_rebuild()",
        "select count(*) from index_products",  # what a reader does hold: ACCESS SHARE
        "select count(*) from index_content",
    ]
    held = []
    for attempt in attempts:
        analyst.execute("savepoint grab")
        try:
            analyst.execute(attempt)
        except psycopg.errors.InsufficientPrivilege:
            analyst.execute("rollback to savepoint grab")
        else:
            analyst.execute("release savepoint grab")
            held.append(attempt)
    return held


def _timed_write(db: Database, tenant: Tenant, call: str, payload: dict[str, Any]) -> float:
    """Seconds one write of the tenant's admin takes, as the API runs it, commit (and index flush) included."""
    with psycopg.connect(db.app_url, autocommit=True) as app:
        app.execute("set lock_timeout = '20s'")  # also at COMMIT, where the index flush takes its locks
        started = time.monotonic()
        with app.transaction():
            app.execute("select rustok.set_context(%s, %s, 'admin')", (tenant.id, tenant.users["admin"]))
            app.execute(f"select {call}(%s)", (Jsonb(payload),)).fetchone()
        return time.monotonic() - started


def test_an_analyst_holding_whatever_it_can_does_not_hold_up_tenant_writes(adb: Database, tenant: Tenant) -> None:
    keys = _keys(adb, tenant)
    long_query_started = threading.Event()
    outcome: list[BaseException] = []

    def long_query() -> None:
        with psycopg.connect(adb.analytics_url(), autocommit=True) as analyst:
            analyst.execute("select set_config('rustok.tenant_id', %s, false)", (str(tenant.id),))
            long_query_started.set()
            try:
                analyst.execute(
                    "select (select count(*) from index_products), (select count(*) from index_content), pg_sleep(30)"
                )
            except psycopg.Error as exc:
                outcome.append(exc)

    with psycopg.connect(adb.analytics_url()) as holder, psycopg.connect(adb.analytics_url()) as canceller:
        holder.execute("set transaction read write")
        holder.execute("select rustok.set_context(%s)", (tenant.id,))
        held = _grab_everything(holder, keys)
        reader = threading.Thread(target=long_query)
        reader.start()
        try:
            assert long_query_started.wait(10)
            _wait_until_running(canceller, "%pg_sleep(30)%")
            product = {"title": "Held up?", "status": "published", "variants": [{"sku": "HU-1"}]}
            node = {"kind": "post", "title": "Held up", "body": "no", "status": "published"}
            for call, payload in (("rustok.create_product", product), ("rustok.create_node", node)):
                assert _timed_write(adb, tenant, call, payload) < WRITE_BOUND, call
        finally:
            canceller.execute(  # the long query's backend: same role, so the analyst may cancel it
                "select pg_cancel_backend(pid) from pg_stat_activity"
                " where usename = 'rustok_analytics' and query like '%%pg_sleep(30)%%' and pid <> pg_backend_pid()"
            )
            reader.join(10)
    assert [type(e) for e in outcome] == [psycopg.errors.QueryCanceled]  # it ran all along
    assert held == ["select count(*) from index_products", "select count(*) from index_content"]


def _wait_until_running(conn: psycopg.Connection[Any], pattern: str, timeout: float = 10.0) -> None:
    """Until another session of the same role runs a statement like `pattern`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = conn.execute(
            "select 1 from pg_stat_activity where state = 'active' and query like %s and pid <> pg_backend_pid()",
            (pattern,),
        ).fetchone()
        conn.rollback()
        if running:
            return
        time.sleep(0.05)
    raise AssertionError(f"no session ran {pattern}")


def test_an_analyst_cannot_hold_up_migrate(adb: Database) -> None:
    """The migrate lock lives in the database it migrates: in the maintenance database, which every role may
    connect to on a DATABASE_URL server (the embedded one closes it, test_analytics_databases.py), an analyst
    holding its key held back every `rustok migrate` and `rustok serve` start."""
    maintenance = adb.analytics_url().replace(f"/{adb.dbname}?", "/postgres?")
    with psycopg.connect(adb.server_admin_url(), autocommit=True) as su:
        su.execute("grant connect on database postgres to rustok_analytics")  # as PUBLIC has it there
    try:
        with psycopg.connect(maintenance, autocommit=True) as analyst:
            analyst.execute("select pg_advisory_lock(7242017)")
            done = threading.Event()
            migrating = threading.Thread(target=lambda: (migrate(adb, installed_registry()), done.set()))
            migrating.start()
            finished = done.wait(60)
        migrating.join()
    finally:
        with psycopg.connect(adb.server_admin_url(), autocommit=True) as su:
            su.execute("revoke connect on database postgres from rustok_analytics")
    assert finished, "migrate waited for the analyst's lock"
