"""What the realtime tests share: a real server (uvicorn on a free loopback port, in a thread), tenants
with users of each role and their tokens, events written by plain SQL as an operator would, and small
SSE and graphql-transport-ws clients."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2 as httpx
import orjson
import psycopg
import uvicorn
from websockets.asyncio.client import ClientConnection, connect

from rustok.api.tokens import TokenIssuer
from rustok.app import create_app
from rustok.auth.passwords import hash_password
from rustok.db import Database
from rustok.ids import parse_id
from rustok.modules import installed_registry


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """The whole app served by uvicorn in a thread; `config` tunes the realtime part before start."""

    def __init__(self, db: Database, log_level: str = "warning", **config: Any) -> None:
        self.app: Any = create_app(db, installed_registry())  # the ASGI app; `.state.services` as on Starlette
        for name, value in config.items():
            setattr(self.app.state.platform.realtime.config, name, value)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/graphql"
        self._server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level=log_level, timeout_graceful_shutdown=1)
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def tokens(self) -> TokenIssuer:
        tokens: TokenIssuer = self.app.state.services.tokens
        return tokens

    def start(self) -> Server:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            assert time.monotonic() < deadline and self._thread.is_alive(), "the server did not start"
            time.sleep(0.02)
        relay = self.app.state.platform.realtime.relay
        while not relay.connected:
            assert time.monotonic() < deadline, "the relay did not connect"
            time.sleep(0.02)
        return self

    @property
    def subscribers(self) -> int:
        return self.app.state.platform.realtime.relay.subscriber_count

    async def subscribed(self, count: int, timeout: float = 5.0) -> None:
        """Waits until the relay has exactly `count` subscribers: a subscription answers nothing until an
        event comes, so this is how a test knows it has started (or ended)."""
        deadline = time.monotonic() + timeout
        while self.subscribers != count:
            assert time.monotonic() < deadline, f"{self.subscribers} subscribers, expected {count}"
            await asyncio.sleep(0.01)

    async def settled(self, timeout: float = 10.0) -> None:
        """Waits until the relay has read every event committed so far. A stream without a cursor starts at
        the relay's cursor, so an event committed just before it connects (by a fixture, say) could still
        reach it; after this, none can."""
        with psycopg.connect(self.app.state.services.db.admin_url) as conn:
            head = conn.execute("select commit_seq from rustok.event_head()").fetchone()
        assert head is not None
        relay = self.app.state.platform.realtime.relay
        deadline = time.monotonic() + timeout
        while relay.cursor is None or relay.cursor.commit_seq < head[0]:
            assert time.monotonic() < deadline, "the relay did not catch up"
            await asyncio.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)
        assert not self._thread.is_alive(), "the server did not stop"


@contextlib.contextmanager
def serving(db: Database, log_level: str = "warning", **config: Any) -> Iterator[Server]:
    server = Server(db, log_level, **config).start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Tenant:
    id: uuid.UUID
    slug: str
    users: dict[str, uuid.UUID] = field(default_factory=dict)  # role -> user id

    def token(self, tokens: TokenIssuer, role: str) -> str:
        return tokens.issue(self.id, self.users[role], role)


def make_tenant(db: Database, slug: str) -> Tenant:
    """A tenant with an admin (made by create_tenant), a manager and a customer."""
    with psycopg.connect(db.admin_url) as conn:
        row = conn.execute(
            "select rustok.create_tenant(%s, %s, %s, 'not-a-real-hash')", (slug, slug.title(), f"admin@{slug}.test")
        ).fetchone()
        assert row is not None
        tenant = Tenant(parse_id(row[0]["id"]), slug, {"admin": parse_id(row[0]["adminUserId"])})
        conn.execute("select rustok.set_context(%s)", (tenant.id,))
        for role in ("manager", "customer"):
            found = conn.execute(
                "select rustok._insert_user(%s, 'not-a-real-hash', %s)", (f"{role}@{slug}.test", role)
            ).fetchone()
            assert found is not None
            tenant.users[role] = found[0]
    return tenant


def holding_an_xid(url: str) -> psycopg.Connection[Any]:
    """A session idle in a transaction that has a transaction id and wrote no event (close it to end it)."""
    conn = psycopg.connect(url)
    conn.execute("select pg_current_xact_id()")
    return conn


def set_password(db: Database, tenant: Tenant, password: str) -> None:
    """Gives every user of the tenant this password (make_tenant's hashes are placeholders), for logins."""
    with psycopg.connect(db.admin_url) as conn:
        conn.execute(
            "update public.users set password_hash = %s where tenant_id = %s", (hash_password(password), tenant.id)
        )


def publish(db: Database, tenant: Tenant, *events: tuple[str, dict[str, Any]]) -> None:
    """Events written the way an operator would in psql: one transaction, plain SQL, as superuser."""
    with psycopg.connect(db.admin_url) as conn:
        conn.execute("select rustok.set_context(%s)", (tenant.id,))
        for kind, data in events:
            conn.execute("select rustok.publish_event(%s, %s::jsonb)", (kind, orjson.dumps(data).decode()))


@dataclass
class SseEvent:
    id: str
    type: str
    data: dict[str, Any]


class SseClient:
    """GET /api/events, read in a background task; `next()` returns the next event."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.events: asyncio.Queue[SseEvent] = asyncio.Queue()
        self.comments = 0
        self.ended = asyncio.Event()
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        fields: dict[str, str] = {}
        try:
            async for line in self.response.aiter_lines():
                if line.startswith(":"):
                    self.comments += 1
                elif line == "":
                    if "data" in fields:
                        data = orjson.loads(fields["data"])
                        await self.events.put(SseEvent(fields.get("id", ""), fields.get("event", ""), data))
                    fields = {}
                else:
                    name, _, value = line.partition(":")
                    fields[name] = value.removeprefix(" ")
        except httpx.HTTPError:
            pass
        finally:
            self.ended.set()

    async def next(self, timeout: float = 5.0) -> SseEvent:
        return await asyncio.wait_for(self.events.get(), timeout)

    async def take(self, count: int, timeout: float = 10.0) -> list[SseEvent]:
        return [await self.next(timeout) for _ in range(count)]

    async def nothing_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self.events.get(), seconds)
        except TimeoutError:
            return True
        return False


@contextlib.asynccontextmanager
async def sse(server: Server, token: str | None, query: str = "", **headers: str) -> AsyncIterator[SseClient]:
    """An open SSE stream; fails unless the server answers 200."""
    await server.settled()
    async with httpx.AsyncClient(timeout=httpx.Timeout(10, read=None)) as client:
        if token:
            headers["authorization"] = f"Bearer {token}"
        request = client.build_request("GET", f"{server.base}/api/events{query}", headers=headers)
        response = await client.send(request, stream=True)
        try:
            assert response.status_code == 200, (response.status_code, await response.aread())
            reader = SseClient(response)
            yield reader
            reader._task.cancel()
        finally:
            await response.aclose()


class StalledClient:
    """An SSE client on a raw socket with a tiny receive buffer that reads nothing until `read` is called:
    the server's writes to it soon block, as they would for a client on a slow network."""

    def __init__(self, server: Server, query: str) -> None:
        self.socket = socket.socket()
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        self.socket.connect(("127.0.0.1", server.port))
        self.socket.sendall(f"GET /api/events{query} HTTP/1.1\r\nHost: test\r\n\r\n".encode())

    def read(self, count: int, timeout: float = 20.0) -> list[SseEvent]:
        """The first `count` events of the stream (undoing HTTP chunked encoding)."""
        self.socket.settimeout(timeout)
        reader = self.socket.makefile("rb")
        assert reader.readline().startswith(b"HTTP/1.1 200"), "the stream was refused"
        while reader.readline() not in (b"\r\n", b""):
            pass  # headers
        found: list[SseEvent] = []
        text = b""
        while len(found) < count:
            size = int(reader.readline(), 16)
            assert size > 0, "the server ended the stream"
            text += reader.read(size + 2)[:-2]
            *blocks, text = text.split(b"\n\n")
            for block in blocks:
                lines = [line.split(b": ", 1) for line in block.split(b"\n") if not line.startswith(b":")]
                fields = {name.decode(): value for name, value in lines if value}
                if "data" in fields:
                    found.append(
                        SseEvent(fields["id"].decode(), fields["event"].decode(), orjson.loads(fields["data"]))
                    )
        return found[:count]

    def close(self) -> None:
        self.socket.close()


class GqlWs:
    """A graphql-transport-ws client over one socket."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket

    async def send(self, message: dict[str, Any]) -> None:
        await self.socket.send(orjson.dumps(message).decode())

    async def receive(self, timeout: float = 5.0) -> dict[str, Any]:
        message: dict[str, Any] = orjson.loads(await asyncio.wait_for(self.socket.recv(), timeout))
        return message

    async def init(self, token: str | None = None, **payload: Any) -> dict[str, Any]:
        if token:
            payload["authorization"] = f"Bearer {token}"
        await self.send({"type": "connection_init", "payload": payload})
        return await self.receive()

    async def subscribe(self, operation_id: str, query: str, variables: dict[str, Any] | None = None) -> None:
        payload = {"query": query, "variables": variables or {}}
        await self.send({"id": operation_id, "type": "subscribe", "payload": payload})

    async def close_code(self, timeout: float = 5.0) -> int | None:
        """Waits for the server to close the socket; its close code."""
        with contextlib.suppress(Exception):
            while True:
                await asyncio.wait_for(self.socket.recv(), timeout)
        return self.socket.close_code


@contextlib.asynccontextmanager
async def gql_ws(server: Server, subprotocol: str = "graphql-transport-ws") -> AsyncIterator[GqlWs]:
    await server.settled()
    async with connect(server.ws_url, subprotocols=[subprotocol]) as socket:  # type: ignore[list-item]
        yield GqlWs(socket)


EVENTS_QUERY = """subscription($types: [String!]) {
  events(types: $types) { id cursor type tenantId actorId data occurredAt }
}"""
