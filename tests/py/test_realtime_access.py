"""Who may read an event stream, decided in SQL (so psql and the API agree): rustok.authorize_event_stream()
and a subscriber's catch-up read rustok.read_tenant_events(), as the application role."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from rustok.db import Database
from rustok.errors import BY_SQLSTATE
from tests.py.realtime_support import Tenant, make_tenant, publish


@pytest.fixture(scope="module")
def a(db: Database) -> Tenant:
    return make_tenant(db, "access-a")


@pytest.fixture(scope="module")
def b(db: Database) -> Tenant:
    tenant = make_tenant(db, "access-b")
    publish(db, tenant, ("OnlyInB", {}))
    return tenant


@pytest.fixture
def app(db: Database) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(db.app_url, autocommit=True) as conn:
        yield conn


def _as(conn: psycopg.Connection[Any], tenant: Tenant | None, role: str | None, sql: str) -> list[Any]:
    """Runs `sql` in one transaction as the tenant's user of `role` (None: anonymous); the error's code
    if it raises."""
    user = tenant.users[role] if tenant and role else None
    try:
        with conn.transaction():
            conn.execute("select rustok.set_context(%s, %s, %s)", (tenant.id if tenant else None, user, role))
            return conn.execute(sql).fetchall()
    except psycopg.Error as exc:
        return [BY_SQLSTATE[exc.sqlstate or ""].code]


@pytest.mark.parametrize(
    ("role", "expected"),
    [("admin", "ok"), ("manager", "ok"), ("customer", "FORBIDDEN"), (None, "UNAUTHENTICATED")],
)
def test_events_read_is_required(app: psycopg.Connection[Any], a: Tenant, role: str | None, expected: str) -> None:
    result = _as(app, a, role, "select rustok.authorize_event_stream()")
    assert (["ok"] if result == [(a.id,)] else result) == [expected]


def test_a_tenant_is_required(app: psycopg.Connection[Any]) -> None:
    with app.transaction():
        app.execute("select set_config('rustok.role', 'admin', true)")  # a role but no tenant
        with pytest.raises(psycopg.Error) as caught:
            app.execute("select rustok.authorize_event_stream()")
    assert BY_SQLSTATE[caught.value.sqlstate or ""].code == "TENANT_REQUIRED"


def test_a_disabled_user_or_a_switched_off_tenant_is_refused(
    db: Database, app: psycopg.Connection[Any], a: Tenant
) -> None:
    with psycopg.connect(db.admin_url, autocommit=True) as owner:
        owner.execute("update users set status = 'disabled' where id = %s", (a.users["manager"],))
        assert _as(app, a, "manager", "select rustok.authorize_event_stream()") == ["UNAUTHENTICATED"]
        owner.execute("update users set status = 'active' where id = %s", (a.users["manager"],))
        owner.execute("update tenants set is_active = false where id = %s", (a.id,))
        try:
            assert _as(app, a, "admin", "select rustok.authorize_event_stream()") == ["TENANT_INACTIVE"]
        finally:
            owner.execute("update tenants set is_active = true where id = %s", (a.id,))


def test_catch_up_reads_only_the_subscribers_tenant(app: psycopg.Connection[Any], a: Tenant, b: Tenant) -> None:
    rows = _as(app, a, "admin", "select tenant_id, type from rustok.read_tenant_events('0', 0, 10000)")
    assert rows and {tenant for tenant, _ in rows} == {a.id}
    assert "OnlyInB" not in {kind for _, kind in rows}
    assert _as(app, a, "customer", "select * from rustok.read_tenant_events('0', 0)") == ["FORBIDDEN"]
