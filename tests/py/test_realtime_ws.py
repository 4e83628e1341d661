"""WS /graphql with graphql-transport-ws against a real server: Subscription.events delivers events written
by plain SQL, filtered by type and tenant, refuses a customer with FORBIDDEN; and the protocol's rules
(handshake, ping, duplicate ids, close codes) hold."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from rustok.db import Database
from rustok.ids import to_ulid
from tests.py.realtime_support import EVENTS_QUERY, Server, Tenant, gql_ws, make_tenant, publish, serving


@pytest.fixture(scope="module")
def a(db: Database) -> Tenant:
    return make_tenant(db, "ws-a")


@pytest.fixture(scope="module")
def b(db: Database) -> Tenant:
    return make_tenant(db, "ws-b")


@pytest.fixture(scope="module")
def server(db: Database) -> Iterator[Server]:
    with serving(db, init_timeout=0.5) as server:
        yield server


def test_an_event_written_in_sql_reaches_the_subscription(db: Database, server: Server, a: Tenant) -> None:
    async def scenario() -> None:
        async with gql_ws(server) as ws:
            assert await ws.init(a.token(server.tokens, "admin")) == {"type": "connection_ack"}
            await ws.subscribe("s1", EVENTS_QUERY)
            await server.subscribed(1)
            publish(db, a, ("ProbeSent", {"n": 1}))
            message = await ws.receive()
        assert (message["type"], message["id"]) == ("next", "s1")
        event = message["payload"]["data"]["events"]
        assert event["type"] == "ProbeSent" and event["data"] == {"n": 1}
        assert event["tenantId"] == to_ulid(a.id) and event["actorId"] is None
        assert event["cursor"].count(".") == 1 and event["occurredAt"]

    asyncio.run(scenario())


def test_types_and_tenants_filter_subscriptions(db: Database, server: Server, a: Tenant, b: Tenant) -> None:
    async def scenario() -> None:
        async with gql_ws(server) as ws_a, gql_ws(server) as ws_b:
            await ws_a.init(a.token(server.tokens, "manager"))
            await ws_b.init(b.token(server.tokens, "admin"))
            await ws_a.subscribe("only", EVENTS_QUERY, {"types": ["Wanted"]})
            await ws_b.subscribe("all", EVENTS_QUERY)
            await server.subscribed(2)
            publish(db, a, ("Unwanted", {}), ("Wanted", {"n": 1}))
            publish(db, b, ("ForB", {"n": 2}))
            got_a = (await ws_a.receive())["payload"]["data"]["events"]
            got_b = (await ws_b.receive())["payload"]["data"]["events"]
            assert (got_a["type"], got_b["type"]) == ("Wanted", "ForB")
            assert got_b["tenantId"] == to_ulid(b.id)
            with pytest.raises(TimeoutError):
                await ws_b.receive(timeout=0.3)

    asyncio.run(scenario())


def test_a_customer_is_refused_with_forbidden(server: Server, a: Tenant) -> None:
    async def scenario() -> None:
        async with gql_ws(server) as ws:
            await ws.init(a.token(server.tokens, "customer"))
            await ws.subscribe("s1", EVENTS_QUERY)
            refused = await ws.receive()
            assert (await ws.receive()) == {"id": "s1", "type": "complete"}
        assert refused["type"] == "next" and refused["payload"]["data"] is None
        assert refused["payload"]["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    asyncio.run(scenario())


def test_complete_stops_a_subscription_and_the_id_can_be_reused(db: Database, server: Server, a: Tenant) -> None:
    async def scenario() -> None:
        async with gql_ws(server) as ws:
            await ws.init(a.token(server.tokens, "admin"))
            await ws.subscribe("s1", EVENTS_QUERY, {"types": ["First"]})
            await server.subscribed(1)
            await ws.send({"id": "s1", "type": "complete"})
            await server.subscribed(0)
            await ws.subscribe("s1", EVENTS_QUERY, {"types": ["Second"]})
            await server.subscribed(1)
            publish(db, a, ("First", {}), ("Second", {}))
            assert (await ws.receive())["payload"]["data"]["events"]["type"] == "Second"
            with pytest.raises(TimeoutError):
                await ws.receive(timeout=0.3)

    asyncio.run(scenario())


def test_queries_run_over_the_socket_and_errors_before_running_are_error_messages(server: Server, a: Tenant) -> None:
    async def scenario() -> None:
        async with gql_ws(server) as ws:
            await ws.init(a.token(server.tokens, "admin"))
            await ws.subscribe("q", "{ me { email } }")
            assert await ws.receive() == {
                "id": "q",
                "type": "next",
                "payload": {"data": {"me": {"email": "admin@ws-a.test"}}},
            }
            assert await ws.receive() == {"id": "q", "type": "complete"}
            await ws.subscribe("bad", "subscription { nothingHere }")
            refused = await ws.receive()
            assert (refused["type"], refused["id"]) == ("error", "bad")
            assert refused["payload"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
            await ws.send({"type": "ping"})
            assert await ws.receive() == {"type": "pong"}

    asyncio.run(scenario())


def test_an_anonymous_connection_may_name_its_tenant_but_not_read_events(server: Server, a: Tenant) -> None:
    async def scenario() -> None:
        async with gql_ws(server) as ws:
            assert await ws.init(tenant=a.slug) == {"type": "connection_ack"}
            await ws.subscribe("s1", EVENTS_QUERY)
            refused = await ws.receive()
        assert refused["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    asyncio.run(scenario())


async def _closed_with(server: Server, *messages: dict[str, object], raw: str | None = None) -> int | None:
    async with gql_ws(server) as ws:
        for message in messages:
            await ws.send(message)
        if raw is not None:
            await ws.socket.send(raw)
        return await ws.close_code()


def test_close_codes(server: Server, a: Tenant, b: Tenant) -> None:
    init = {"type": "connection_init", "payload": {"authorization": f"Bearer {a.token(server.tokens, 'admin')}"}}
    subscribe = {"id": "1", "type": "subscribe", "payload": {"query": EVENTS_QUERY}}

    async def scenario() -> None:
        assert await _closed_with(server, subscribe) == 4401
        assert await _closed_with(server, init, init) == 4429
        assert await _closed_with(server, init, subscribe, subscribe) == 4409
        assert await _closed_with(server, init, raw="not json") == 4400
        assert await _closed_with(server, init, {"type": "subscribe", "payload": {"query": "{ me { id } }"}}) == 4400
        assert await _closed_with(server, init, {"type": "shout"}) == 4400
        bad_token = {"type": "connection_init", "payload": {"authorization": "Bearer nonsense"}}
        assert await _closed_with(server, bad_token) == 4403
        mismatch = {"type": "connection_init", "payload": {**init["payload"], "tenant": b.slug}}  # type: ignore[dict-item]
        assert await _closed_with(server, mismatch) == 4403
        assert await _closed_with(server, {"type": "ping"}) == 4408  # no connection_init within 0.5 s
        async with gql_ws(server, subprotocol="graphql-ws") as ws:
            assert await ws.close_code() == 4406

    asyncio.run(scenario())


def test_the_socket_closes_when_the_access_token_expires(server: Server, a: Tenant) -> None:
    tokens = server.tokens
    issued = time.time() - tokens.access_ttl + 2.0  # so it expires in 1 to 2 s
    expiring = tokens.issue(a.id, a.users["admin"], "admin", now=issued)

    async def scenario() -> None:
        async with gql_ws(server) as ws:
            assert await ws.init(expiring) == {"type": "connection_ack"}
            assert await ws.close_code() == 4403

    asyncio.run(scenario())


def test_subscriptions_obey_the_operation_limits(server: Server, a: Tenant) -> None:
    executor = server.app.state.platform.graphql
    original = executor.limits
    executor.limits = replace(original, max_depth=1)

    async def scenario() -> dict[str, Any]:
        async with gql_ws(server) as ws:
            await ws.init(a.token(server.tokens, "admin"))
            await ws.subscribe("deep", EVENTS_QUERY)
            return await ws.receive()

    try:
        refused = asyncio.run(scenario())
    finally:
        executor.limits = original
    assert refused["type"] == "error" and refused["id"] == "deep"
    assert [e["extensions"]["code"] for e in refused["payload"]] == ["QUERY_TOO_DEEP"]
