"""`rustok worker` still works off a switched-off tenant's events (issue 13, point 5): rustok.set_context refuses
a switched-off tenant to the API's sessions, not to the worker's (they set rustok.background), so the webhooks of
events committed before the switch, and of the switch itself (TenantDeactivated), are delivered, and no handler
failure is recorded. The application role without that setting is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from rustok.cli import main
from rustok.db import Database
from rustok.errors import BY_SQLSTATE
from tests.py.webhooks_support import Receiver, create_tenant, create_webhook, publish, worker_environment


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture
def env(db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    worker_environment(db, monkeypatch, tmp_path)


def test_the_worker_delivers_a_switched_off_tenants_webhooks(
    db: Database, env: None, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = create_tenant(db, "switched")
    create_webhook(db, tenant, receiver.plan("/switched"), ["OrderPlaced", "TenantDeactivated"])
    publish(db, tenant, ("OrderPlaced", {"n": 1}))
    with psycopg.connect(db.admin_url) as conn:
        conn.execute("update tenants set is_active = false where id = %s", (tenant.id,))
    with psycopg.connect(db.app_url) as conn, pytest.raises(psycopg.Error) as refused:
        conn.execute("select rustok.set_context(%s)", (tenant.id,))
    assert BY_SQLSTATE[refused.value.sqlstate or ""].code == "TENANT_INACTIVE", "the API's sessions are refused"

    assert main(["worker", "--once", "--handlers", "webhooks"]) == 0, capsys.readouterr().err

    with psycopg.connect(db.admin_url) as conn:
        conn.execute("select rustok.set_context(%s)", (tenant.id,))  # an operator may look inside
        delivered = conn.execute(
            "select event_type, status from webhook_deliveries where tenant_id = %s order by event_type", (tenant.id,)
        ).fetchall()
        failures = conn.execute("select count(*) from event_handler_failures").fetchone()
    assert delivered == [("OrderPlaced", "succeeded"), ("TenantDeactivated", "succeeded")]
    assert failures == (0,)
    assert len(receiver.at("/switched")) == 2
