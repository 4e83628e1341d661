"""Read replicas: read-only work goes to a streaming replica, everything else to the primary.

What is read-only is decided where it is known for sure: the GraphQL executor runs a query operation under
`routing(QUERY)` and a mutation under `routing(MUTATION)` (storefront and search pages can use `reading()`).
Everything else — auth, the relay, health, handlers, and any call outside those scopes — goes to the primary.

Read-your-writes. After a mutation (or any call made by a POST outside GraphQL: register, login, refresh,
logout) the gateway asks the primary for `pg_current_wal_insert_lsn()` (an upper bound of the commit record)
and the response carries it in `X-RusToK-Write-LSN`. A client that
sends it back (`X-RusToK-Min-LSN`, or the same header echoed) has its reads served by the replica only once
`pg_last_wal_replay_lsn()` has reached it: the gateway polls for up to `RUSTOK_REPLICA_WAIT_MS` and otherwise
reads from the primary. Inside one request (a batch with a mutation and then a query) the same holds without
the header. A client that sends no LSN reads whatever the replica has replayed (typically milliseconds behind).

When the replica cannot be reached (refused, broken connection, shutting down) the call is answered by the
primary, and the replica is left alone for `RUSTOK_REPLICA_RETRY_SECONDS` before it is tried again. A read
the replica refuses for being a replica (a function that writes: SQLSTATE 25006; a conflict with recovery:
40001) is also answered by the primary."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import psycopg
from graphql import OperationType
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import tuple_row
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rustok.api.connections import ConnectionPool
from rustok.errors import Unavailable, from_database_error

log = logging.getLogger("rustok.replica")

READ = "read"  # may be answered by the replica
WRITE = "write"  # a mutation: the primary, and its WAL position is reported to the client
MIN_LSN_HEADER = b"x-rustok-min-lsn"
WRITE_LSN_HEADER = b"x-rustok-write-lsn"

_route: ContextVar[str | None] = ContextVar("rustok_route", default=None)


@dataclass
class Consistency:
    """One HTTP request's read-your-writes state: the LSN it must see, the LSN its writes reached."""

    min_lsn: int = 0
    write_lsn: int = 0

    @property
    def needed(self) -> int:
        return max(self.min_lsn, self.write_lsn)


_consistency: ContextVar[Consistency | None] = ContextVar("rustok_consistency", default=None)


def current_route() -> str | None:
    return _route.get()


def current_consistency() -> Consistency | None:
    return _consistency.get()


@contextlib.contextmanager
def routing(operation: OperationType) -> Iterator[None]:
    """The route of a GraphQL operation: queries may read from the replica, mutations write to the primary."""
    kind = READ if operation is OperationType.QUERY else WRITE if operation is OperationType.MUTATION else None
    token = _route.set(kind)
    try:
        yield
    finally:
        _route.reset(token)


@contextlib.contextmanager
def reading() -> Iterator[None]:
    """Marks work as read-only (storefront pages, search): the replica may answer it."""
    token = _route.set(READ)
    try:
        yield
    finally:
        _route.reset(token)


def parse_lsn(text: str | bytes | None) -> int:
    """A pg_lsn text ('16/B374D848') as an integer; 0 for anything else."""
    if text is None:
        return 0
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    high, sep, low = text.strip().partition("/")
    if not sep or len(high) > 8 or len(low) > 8:
        return 0
    try:
        return (int(high, 16) << 32) | int(low, 16)
    except ValueError:
        return 0


def format_lsn(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


def _with_connect_timeout(url: str, seconds: int = 2) -> str:
    """An unreachable replica must not hold a request for the OS's TCP timeout."""
    if "connect_timeout" in conninfo_to_dict(url):
        return url
    return make_conninfo(url, connect_timeout=seconds)


MISS = object()  # the replica did not answer: the primary will


class Replica:
    """The replica's pool, its health and what it is known to have replayed."""

    def __init__(
        self,
        url: str,
        max_size: int = 10,
        session_settings: dict[str, str] | None = None,
        max_wait: float = 0.2,
        retry_after: float = 5.0,
    ) -> None:
        self.pool = ConnectionPool(_with_connect_timeout(url), max_size=max_size, session_settings=session_settings)
        self.max_wait = max_wait
        self.retry_after = retry_after
        self.down_until = 0.0
        self.replayed = 0  # the highest replay LSN seen; only grows while the replica stays the same
        # what happened to reads (tests and /metrics can read these)
        self.reads = 0  # answered by the replica
        self.waited = 0  # of those, how many waited for replay first
        self.behind = 0  # sent to the primary: the replica had not replayed the client's write in time
        self.unavailable = 0  # sent to the primary: the replica was down or marked down

    async def open(self) -> None:
        await self.pool.open()

    async def close(self) -> None:
        await self.pool.close()

    @property
    def healthy(self) -> bool:
        return time.monotonic() >= self.down_until

    def mark_down(self, reason: str) -> None:
        if self.healthy:
            log.warning("read replica unavailable (%s): reads go to the primary for %.0f s", reason, self.retry_after)
        self.down_until = time.monotonic() + self.retry_after
        self.replayed = 0

    async def read(self, query: bytes, args: Sequence[Any], min_lsn: int) -> Any:
        """The row of one read statement, or MISS when the primary must answer it."""
        if not self.healthy:
            self.unavailable += 1
            return MISS
        try:
            async with self.pool.connection(timeout=1.0) as conn:
                if min_lsn > self.replayed:
                    if not await self._replayed(conn, min_lsn):
                        self.behind += 1
                        return MISS
                    self.waited += 1
                cur = conn.cursor(row_factory=tuple_row)
                await cur.execute(query, args)
                row = await cur.fetchone()
        except Unavailable as exc:
            if "timeout" not in exc.details:  # not a busy pool (that is load, not failure): unreachable
                self.mark_down("not reachable")
            self.unavailable += 1
            return MISS
        except psycopg.OperationalError as exc:
            self.mark_down(type(exc).__name__)
            self.unavailable += 1
            return MISS
        except (psycopg.errors.ReadOnlySqlTransaction, psycopg.errors.SerializationFailure):
            return MISS  # a function that writes, or a conflict with recovery: the primary answers
        except psycopg.Error as exc:
            raise from_database_error(exc) from exc
        self.reads += 1
        return row

    async def _replayed(self, conn: psycopg.AsyncConnection[Any], lsn: int) -> bool:
        """Polls the replica until it has replayed `lsn`, for up to max_wait."""
        deadline = time.monotonic() + self.max_wait
        pause = 0.002
        while True:
            cur = conn.cursor(row_factory=tuple_row)
            await cur.execute("select pg_last_wal_replay_lsn()::text")
            row = await cur.fetchone()
            self.replayed = max(self.replayed, parse_lsn(row[0] if row else None))
            if self.replayed >= lsn:
                return True
            if time.monotonic() + pause > deadline:
                return False
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.02)


class ReadYourWrites:
    """ASGI middleware (installed only with a replica): reads the client's LSN from the request and adds the
    LSN its writes reached to the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.state = getattr(app, "state", None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        state = Consistency(min_lsn=parse_lsn(headers.get(MIN_LSN_HEADER) or headers.get(WRITE_LSN_HEADER)))
        token = _consistency.set(state)
        # a POST outside GraphQL may write (register, login, refresh, logout): its calls report their LSN too;
        # the GraphQL executor sets each operation's own route inside
        writing = scope.get("method", "GET") not in ("GET", "HEAD", "OPTIONS")
        route_token = _route.set(WRITE) if writing else None

        async def send_with_lsn(message: Message) -> None:
            if message["type"] == "http.response.start" and state.write_lsn:
                message = {**message, "headers": [*message.get("headers", ()), _lsn_header(state.write_lsn)]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_lsn)
        finally:
            if route_token is not None:
                _route.reset(route_token)
            _consistency.reset(token)


def _lsn_header(lsn: int) -> tuple[bytes, bytes]:
    return (WRITE_LSN_HEADER, format_lsn(lsn).encode())
