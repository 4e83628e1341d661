"""GET /api/events against a real server: events written by plain SQL arrive, filtered by type, only to
their tenant's subscribers with events.read; Last-Event-ID resumes with nothing lost or repeated, also
across a server restart and while events keep coming."""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import Iterator

import httpx2 as httpx
import psycopg
import pytest

from rustok.db import Database
from rustok.ids import parse_id, to_ulid
from tests.py.realtime_support import Server, Tenant, make_tenant, publish, serving, sse


@pytest.fixture(scope="module")
def a(db: Database) -> Tenant:
    return make_tenant(db, "sse-a")


@pytest.fixture(scope="module")
def b(db: Database) -> Tenant:
    return make_tenant(db, "sse-b")


@pytest.fixture(scope="module")
def server(db: Database) -> Iterator[Server]:
    with serving(db, heartbeat=0.3) as server:
        yield server


def test_an_event_written_in_sql_reaches_the_stream(db: Database, server: Server, a: Tenant) -> None:
    async def scenario() -> None:
        async with sse(server, a.token(server.tokens, "admin")) as stream:
            publish(db, a, ("ProbeSent", {"n": 1, "text": "line\nbreak"}))
            event = await stream.next()
        assert re.fullmatch(r"[0-9]+\.[0-9]+", event.id)
        assert event.type == "ProbeSent"
        envelope = event.data
        assert set(envelope) == {"id", "type", "tenantId", "actorId", "data", "occurredAt"}
        assert envelope["type"] == "ProbeSent" and envelope["data"] == {"n": 1, "text": "line\nbreak"}
        assert envelope["tenantId"] == to_ulid(a.id) and envelope["actorId"] is None  # an operator wrote it
        parse_id(envelope["id"])

    asyncio.run(scenario())


def test_types_filter_the_stream_and_heartbeats_keep_it_open(db: Database, server: Server, a: Tenant) -> None:
    async def scenario() -> None:
        async with sse(server, a.token(server.tokens, "manager"), "?types=Wanted,AlsoWanted") as stream:
            publish(db, a, ("Unwanted", {}), ("Wanted", {"n": 1}), ("Unwanted", {}), ("AlsoWanted", {"n": 2}))
            assert [e.type for e in await stream.take(2)] == ["Wanted", "AlsoWanted"]
            assert await stream.nothing_within(0.7)
            assert stream.comments >= 1

    asyncio.run(scenario())


def test_the_access_token_may_come_in_the_query_string(db: Database, server: Server, a: Tenant) -> None:
    async def scenario() -> None:
        async with sse(server, None, f"?access_token={a.token(server.tokens, 'admin')}") as stream:
            publish(db, a, ("ViaQuery", {}))
            assert (await stream.next()).type == "ViaQuery"

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("role", "params", "status", "code"),
    [
        ("customer", "", 403, "FORBIDDEN"),
        (None, "", 401, "UNAUTHENTICATED"),
        ("admin", "?lastEventId=12-x", 400, "BAD_REQUEST"),
        ("admin", "?types=not-a-type", 422, "VALIDATION_FAILED"),
    ],
)
def test_refusals_carry_a_code(
    server: Server, a: Tenant, role: str | None, params: str, status: int, code: str
) -> None:
    headers = {"authorization": f"Bearer {a.token(server.tokens, role)}"} if role else {}
    response = httpx.get(f"{server.base}/api/events{params}", headers=headers, timeout=5)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)


def test_a_malformed_last_event_id_header_is_a_bad_request(server: Server, a: Tenant) -> None:
    headers = {"authorization": f"Bearer {a.token(server.tokens, 'admin')}", "last-event-id": "abc"}
    response = httpx.get(f"{server.base}/api/events", headers=headers, timeout=5)
    assert response.status_code == 400 and response.json()["error"]["code"] == "BAD_REQUEST"


def test_a_token_for_another_tenant_than_x_tenant_is_refused(server: Server, a: Tenant, b: Tenant) -> None:
    headers = {"authorization": f"Bearer {a.token(server.tokens, 'admin')}", "x-tenant": b.slug}
    response = httpx.get(f"{server.base}/api/events", headers=headers, timeout=5)
    assert response.status_code == 403 and response.json()["error"]["code"] == "TENANT_MISMATCH"


def test_a_subscriber_sees_only_its_tenants_events(db: Database, server: Server, a: Tenant, b: Tenant) -> None:
    async def scenario() -> None:
        async with (
            sse(server, a.token(server.tokens, "admin")) as stream_a,
            sse(server, b.token(server.tokens, "admin")) as stream_b,
        ):
            publish(db, a, ("ForA", {"n": 1}), ("ForA", {"n": 2}))
            publish(db, b, ("ForB", {"n": 3}))
            assert [e.data["data"]["n"] for e in await stream_a.take(2)] == [1, 2]
            only_b = await stream_b.next()
            assert (only_b.type, only_b.data["tenantId"]) == ("ForB", to_ulid(b.id))
            assert await stream_a.nothing_within(0.3) and await stream_b.nothing_within(0.3)
        # replaying B's whole history shows none of A's events either
        async with sse(server, b.token(server.tokens, "manager"), **{"last-event-id": "0.0"}) as replay:
            history: list[str] = []
            while (event := await replay.next(2)).type != "ForB":
                history.append(event.data["tenantId"])
        assert set(history) <= {to_ulid(b.id)}

    asyncio.run(scenario())


def test_resume_after_a_server_restart_loses_nothing(db: Database, a: Tenant) -> None:
    async def before(server: Server) -> str:
        async with sse(server, a.token(server.tokens, "admin")) as stream:
            publish(db, a, ("Resume", {"n": 0}))
            return (await stream.next()).id

    async def after(server: Server, last_id: str) -> list[int]:
        token = a.token(server.tokens, "admin")
        async with sse(server, token, **{"last-event-id": last_id}) as stream:
            missed = [(await stream.next()).data["data"]["n"] for _ in range(5)]
            publish(db, a, ("Resume", {"n": 6}))
            live = (await stream.next()).data["data"]["n"]
            assert await stream.nothing_within(0.5), "an event arrived twice"
        return [*missed, live]

    with serving(db) as first:
        last_id = asyncio.run(before(first))
    for n in range(1, 6):  # written while no server runs
        publish(db, a, ("Resume", {"n": n}))
    with serving(db) as second:
        assert asyncio.run(after(second, last_id)) == [1, 2, 3, 4, 5, 6]


FLOW_EVENT = "select rustok.set_context(%s), rustok.publish_event('Flow', jsonb_build_object('n', %s))"


def test_the_switch_from_replay_to_live_has_no_gap_and_no_duplicate(db: Database, server: Server, a: Tenant) -> None:
    """A client resumes from an old id while a writer keeps committing: it gets every event after that id
    exactly once, in order (catch-up first, then live, deduplicated by cursor at the switch)."""
    total = 300

    def writer() -> None:
        with psycopg.connect(db.admin_url, autocommit=True) as conn:
            for n in range(total):
                conn.execute(FLOW_EVENT, (a.id, n))
                time.sleep(0.003)  # about a second in all: the client resumes in the middle of it

    async def scenario() -> list[int]:
        token = a.token(server.tokens, "admin")
        async with sse(server, token) as start:
            publish(db, a, ("FlowStart", {}))
            start_id = (await start.next()).id
        thread = threading.Thread(target=writer)
        thread.start()
        await asyncio.sleep(0.3)  # let part of the flow commit before the client resumes
        try:
            async with sse(server, token, f"?types=Flow&lastEventId={start_id}") as stream:
                seen = [e.data["data"]["n"] for e in await stream.take(total)]
                assert await stream.nothing_within(0.3)
        finally:
            thread.join()
        return seen

    assert asyncio.run(scenario()) == list(range(total))


def test_the_stream_ends_when_the_access_token_expires(server: Server, a: Tenant) -> None:
    tokens = server.tokens
    issued = time.time() - tokens.access_ttl + 2.0  # so it expires in 1 to 2 s
    expiring = tokens.issue(a.id, a.users["admin"], "admin", now=issued)

    async def scenario() -> None:
        async with sse(server, expiring) as stream:
            await asyncio.wait_for(stream.ended.wait(), 5)

    asyncio.run(scenario())


def test_a_token_in_the_query_string_stays_out_of_the_access_log(db: Database, a: Tenant) -> None:
    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    with serving(db, log_level="info") as server:
        logging.getLogger("uvicorn.access").addHandler(handler)
        try:
            token = a.token(server.tokens, "customer")  # refused (403): the line is logged all the same
            httpx.get(f"{server.base}/api/events?types=A&access_token={token}", timeout=5)
        finally:
            logging.getLogger("uvicorn.access").removeHandler(handler)
    [line] = [line for line in lines if "/api/events" in line]
    assert token not in line and "access_token=redacted" in line and "types=A" in line
