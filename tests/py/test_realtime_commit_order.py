"""Event delivery waits for no transaction but the event's own (issue 13, point 4): an idle transaction that
holds a transaction id - of another role, in another database of the same cluster - or an open transaction
that wrote events of its own, does not delay an event committed meanwhile. Usual latency is about a
millisecond (bench/sse_latency.py); the bound here is a second, where delivery used to wait for as long as
the other transaction stayed open."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import psycopg
import pytest

from rustok.db import Database
from tests.py.realtime_support import Server, Tenant, holding_an_xid, make_tenant, publish, serving, sse

BOUND = 1.0  # seconds


@pytest.fixture(scope="module")
def a(db: Database) -> Tenant:
    return make_tenant(db, "order-a")


@pytest.fixture(scope="module")
def server(db: Database) -> Iterator[Server]:
    with serving(db) as server:
        yield server


@pytest.mark.parametrize("where", ["another role", "another database"])
def test_an_idle_transaction_elsewhere_does_not_delay_delivery(
    db: Database, server: Server, a: Tenant, where: str
) -> None:
    """The event is written by the superuser in the app's database; the idle transaction is the application
    role's in the same database, or the superuser's in the cluster's maintenance database."""
    url = db.app_url if where == "another role" else db.server_admin_url()

    async def scenario() -> float:
        async with sse(server, a.token(server.tokens, "admin")) as stream:
            with holding_an_xid(url):
                started = time.monotonic()
                publish(db, a, ("WhileOthersIdle", {}))
                event = await stream.next(BOUND)
                assert event.type == "WhileOthersIdle"
                return time.monotonic() - started

    assert asyncio.run(scenario()) < BOUND


def test_an_open_event_writing_transaction_does_not_delay_later_commits(
    db: Database, server: Server, a: Tenant
) -> None:
    async def scenario() -> list[str]:
        async with sse(server, a.token(server.tokens, "admin")) as stream:
            with psycopg.connect(db.admin_url) as slow:
                slow.execute("select rustok.set_context(%s)", (a.id,))
                slow.execute("select rustok.publish_event('StartedFirst')")
                publish(db, a, ("CommittedFirst", {}))
                first = await stream.next(BOUND)
            # `slow` commits as its block ends: its event follows, not skipped
            second = await stream.next(5)
            return [first.type, second.type]

    assert asyncio.run(scenario()) == ["CommittedFirst", "StartedFirst"]
