"""A small connection pool for the API's hot path.

psycopg_pool is general (health checks, resizing, statistics) and costs about 25 µs per checkout here, a
tenth of a whole GraphQL request. This pool only keeps up to `max_size` autocommit connections in a queue:
a checkout is a queue get, a return is a queue put. A broken or closed connection is dropped on return and
replaced on a later checkout, so the pool heals after the database restarts. An idle connection whose
server went away meanwhile (a restart, a crash, a terminated backend) has something to read (the server's
goodbye, or end of file): a checkout looks with a zero-timeout poll (2.4 µs, measured under load) and drops
it, so no request is spent finding out."""

from __future__ import annotations

import asyncio
import contextlib
import select
from types import TracebackType
from typing import Any

import psycopg
from psycopg import pq
from psycopg.rows import dict_row

from rustok.errors import Unavailable

Connection = psycopg.AsyncConnection[Any]


class ConnectionPool:
    def __init__(
        self, url: str, max_size: int = 10, timeout: float = 5.0, session_settings: dict[str, str] | None = None
    ) -> None:
        self.url = url
        self.options = " ".join(f"-c {name}={value}" for name, value in (session_settings or {}).items())
        self.max_size = max_size
        self.timeout = timeout
        self._idle: asyncio.Queue[Connection] = asyncio.Queue()
        self._count = 0  # connections open or being opened
        self._closed = False
        self._closing: set[asyncio.Future[None]] = set()

    async def open(self) -> None:
        """Opens one connection now, if the database answers; the rest open on demand."""
        with contextlib.suppress(Unavailable):  # not ready yet: /health/ready says so, checkouts retry
            self._idle.put_nowait(await self._connect())

    async def close(self) -> None:
        self._closed = True
        while not self._idle.empty():
            conn = self._idle.get_nowait()
            await conn.close()
            self._count -= 1

    def connection(self, timeout: float | None = None) -> _Checkout:
        """`async with pool.connection() as conn:` — an autocommit connection with dict rows."""
        return _Checkout(self, self.timeout if timeout is None else timeout)

    async def acquire(self, timeout: float) -> Connection:
        if self._closed:
            raise Unavailable("the service is shutting down")
        while True:
            if self._idle.empty() and self._count < self.max_size:
                return await self._connect()
            try:
                conn = await asyncio.wait_for(self._idle.get(), timeout)
            except TimeoutError:
                raise Unavailable("no database connection free in time", {"timeout": timeout}) from None
            if not conn.closed and not conn.broken and _quiet(conn):
                return conn
            self._discard(conn)

    def release(self, conn: Connection) -> None:
        healthy = not (conn.closed or conn.broken) and conn.info.transaction_status == pq.TransactionStatus.IDLE
        if healthy and not self._closed:
            self._idle.put_nowait(conn)
            return
        self._discard(conn)  # broken, closed, or left inside a transaction: replaced on a later checkout

    def _discard(self, conn: Connection) -> None:
        self._count -= 1
        if not conn.closed:
            task = asyncio.ensure_future(conn.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def _connect(self) -> Connection:
        self._count += 1
        try:
            return await psycopg.AsyncConnection.connect(
                self.url, autocommit=True, row_factory=dict_row, prepare_threshold=0, options=self.options or None
            )
        except psycopg.OperationalError:
            self._count -= 1
            raise Unavailable("the database is not reachable") from None


def _quiet(conn: Connection) -> bool:
    """Nothing to read on an idle connection: the server is still there. (These connections LISTEN to
    nothing, so anything readable is the server's goodbye or end of file.)"""
    poll = select.poll()
    try:
        poll.register(conn.pgconn.socket, select.POLLIN | select.POLLERR | select.POLLHUP)
    except psycopg.OperationalError:  # no socket any more
        return False
    return not poll.poll(0)


class _Checkout:
    __slots__ = ("conn", "pool", "timeout")

    def __init__(self, pool: ConnectionPool, timeout: float) -> None:
        self.pool = pool
        self.timeout = timeout
        self.conn: Connection | None = None

    async def __aenter__(self) -> Connection:
        self.conn = await self.pool.acquire(self.timeout)
        return self.conn

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self.conn is not None:
            self.pool.release(self.conn)
            self.conn = None
