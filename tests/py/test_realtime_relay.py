"""The relay: a slow subscriber is cut off instead of delaying the others and then catches up from the
outbox; delivery survives losing the database connection and a missed notification; a new stream starts
at the head."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest

from rustok.db import Database
from rustok.events.outbox import Cursor
from rustok.realtime.events import Event
from rustok.realtime.relay import Lagged, Relay
from tests.py.realtime_support import Server, StalledClient, Tenant, make_tenant, publish, serving, sse


@pytest.fixture(scope="module")
def a(db: Database) -> Tenant:
    return make_tenant(db, "relay-a")


@pytest.fixture(scope="module")
def server(db: Database) -> Iterator[Server]:
    with serving(db, relay_batch=50, queue_limit=200) as server:
        yield server


def _event(tenant_id: uuid.UUID, position: int, kind: str = "Probe") -> Event:
    return Event(Cursor(1, position), uuid.uuid4(), tenant_id, None, kind, "{}", datetime.now(UTC))


def test_fan_out_routes_by_tenant_and_type_and_cuts_off_a_full_queue() -> None:
    async def scenario() -> None:
        relay = Relay("postgresql://unused")
        tenant, other = uuid.uuid4(), uuid.uuid4()
        slow = relay.subscribe(tenant, limit=3)
        fast = relay.subscribe(tenant, limit=3)
        typed = relay.subscribe(tenant, frozenset({"Wanted"}), limit=3)
        elsewhere = relay.subscribe(other, limit=3)
        received = []
        for position in range(1, 6):
            relay._fan_out(_event(tenant, position, "Wanted" if position == 5 else "Probe"))
            event = await fast.get(0)
            assert event is not None
            received.append(event.cursor[1])
        assert received == [1, 2, 3, 4, 5]
        assert slow.lagged and relay.cut_off == 1 and relay.subscriber_count == 3
        with pytest.raises(Lagged):
            await slow.get(0)
        assert [e.type for e in [await typed.get(0)]] == ["Wanted"]
        assert await elsewhere.get(0) is None

    asyncio.run(scenario())


def test_a_stream_without_last_event_id_starts_at_the_head(db: Database, server: Server, a: Tenant) -> None:
    async def scenario() -> None:
        publish(db, a, ("Old", {}))
        async with sse(server, a.token(server.tokens, "admin")) as stream:
            publish(db, a, ("New", {}))
            assert (await stream.next()).type == "New"

    asyncio.run(scenario())


def test_a_slow_subscriber_does_not_delay_a_fast_one(db: Database, server: Server, a: Tenant) -> None:
    """The stalled client reads nothing, so once the socket buffers between it and the server are full (a
    few MB on loopback) the server's writes to it block and its queue (200 events here) fills: it is cut
    off, while the fast client gets every event. Then it reads, and catches up from the outbox: in order,
    each event once. (Whether the fast client, itself in this busy process, also falls 200 events behind
    at some point does not matter: it would catch up the same way.)"""
    count = 2500
    relay = server.app.state.platform.realtime.relay
    token = a.token(server.tokens, "admin")
    stalled = StalledClient(server, f"?types=Bulk&access_token={token}")

    async def scenario() -> list[int]:
        async with sse(server, token, "?types=Bulk") as fast:
            await server.subscribed(2)
            with psycopg.connect(db.admin_url) as conn:
                conn.execute("select rustok.set_context(%s)", (a.id,))
                conn.execute(
                    "select rustok.publish_event('Bulk', jsonb_build_object('n', i, 'pad', repeat('x', 4000)))"
                    " from generate_series(1, %s) i",
                    (count,),
                )
            return [e.data["data"]["n"] for e in await fast.take(count)]

    try:
        assert asyncio.run(scenario()) == list(range(1, count + 1))
        assert relay.cut_off >= 1, "the stalled subscriber should have been cut off"
        late = stalled.read(count)
    finally:
        stalled.close()
    assert [e.data["data"]["n"] for e in late] == list(range(1, count + 1))
    assert len({e.id for e in late}) == count


def test_delivery_survives_losing_the_database_connection(db: Database, server: Server, a: Tenant) -> None:
    relay = server.app.state.platform.realtime.relay

    async def scenario() -> None:
        async with sse(server, a.token(server.tokens, "admin")) as stream:
            with psycopg.connect(db.admin_url, autocommit=True) as conn:
                conn.execute(
                    "select pg_terminate_backend(pid) from pg_stat_activity"
                    " where application_name = 'rustok-relay' and datname = current_database()"
                )
            publish(db, a, ("WhileAway", {"n": 1}))
            assert (await stream.next(10)).data["data"] == {"n": 1}
            assert relay.connected

    asyncio.run(scenario())


def test_an_event_whose_notification_is_lost_arrives_by_polling(
    db: Database, server: Server, a: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    relay = server.app.state.platform.realtime.relay

    async def deaf(conn: object, timeout: float) -> bool:  # as if every notification were lost
        await asyncio.sleep(timeout)
        return False

    async def scenario() -> None:
        async with sse(server, a.token(server.tokens, "admin")) as stream:
            monkeypatch.setattr(relay.listener, "notified", deaf)
            await asyncio.sleep(relay.poll_interval)  # the relay's current wait ends: from now on it is deaf
            publish(db, a, ("Unannounced", {}))
            assert (await stream.next(3)).type == "Unannounced"

    asyncio.run(scenario())
