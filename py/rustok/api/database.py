"""The one path from the API to PostgreSQL: every call is one statement that first sets the request's
context and then calls one SQL function, in its own transaction, in one round trip (work of several
statements takes `Gateway.transaction(ctx)`, which sets the context first the same way):

    with _context as materialized (select rustok.set_context($1, $2, $3)) select <call> from _context

The CTE is materialized and volatile, so PostgreSQL evaluates it before the select list; the settings are
transaction-local, so they end with the statement's implicit transaction (the pool runs in autocommit).
A connection that breaks mid-call (the database restarted) is dropped and the call answers UNAVAILABLE.

With a read replica (RUSTOK_READ_DATABASE_URL), calls made under `replica.routing`/`reading` as read-only
may be answered by it; see api/replica.py for the routing and read-your-writes rules."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, LiteralString

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

from rustok.api import replica as routes
from rustok.api.connections import ConnectionPool
from rustok.api.context import RequestContext
from rustok.config import Settings
from rustok.errors import from_database_error

_WITH_CONTEXT = "with _context as materialized (select rustok.set_context(%s, %s, %s)) select {calls} from _context"
_SET_CONTEXT: LiteralString = "select rustok.set_context(%s, %s, %s)"


def session_settings(settings: Settings, background: bool = False) -> dict[str, str]:
    """Operator settings the SQL functions read from the session: webhooks to private addresses; and for
    `rustok worker`'s sessions (background), that they may enter a switched-off tenant to work off its events
    (rustok.set_context refuses that to the API's sessions)."""
    found = {"rustok.webhooks_allow_private": "on"} if settings.webhooks_allow_private else {}
    if background:
        found["rustok.background"] = "on"
    return found


class Gateway:
    def __init__(
        self,
        app_url: str,
        max_size: int = 10,
        session_settings: dict[str, str] | None = None,
        read_url: str | None = None,
        replica_wait: float = 0.2,
        replica_retry: float = 5.0,
    ) -> None:
        self.pool = ConnectionPool(app_url, max_size=max_size, session_settings=session_settings)
        self.replica = (
            routes.Replica(read_url, max_size, session_settings, max_wait=replica_wait, retry_after=replica_retry)
            if read_url
            else None
        )
        self.primary_reads = 0  # read-only calls the primary answered (no replica, or the replica missed)
        self._queries: dict[tuple[str, ...], bytes] = {}

    async def open(self) -> None:
        await self.pool.open()
        if self.replica is not None:
            await self.replica.open()

    async def close(self) -> None:
        await self.pool.close()
        if self.replica is not None:
            await self.replica.close()

    async def call(self, ctx: RequestContext, call: LiteralString, params: Sequence[Any] = ()) -> Any:
        """The value of one SQL expression (typically `rustok.some_function(%s, …)`) under the request's
        context. Database errors become RusToKError subclasses (SQL text never passes)."""
        return (await self.call_many(ctx, (call,), params))[0]

    async def call_many(self, ctx: RequestContext, calls: Sequence[LiteralString], params: Sequence[Any]) -> list[Any]:
        """Several SQL expressions in one statement (one round trip, one transaction): the planner's path."""
        key = tuple(calls)
        query = self._queries.get(key)
        if query is None:
            columns = sql.SQL(", ").join(sql.SQL(c) for c in calls)
            query = sql.SQL(_WITH_CONTEXT).format(calls=columns).as_string().encode()
            self._queries[key] = query
        args = (ctx.tenant_id, ctx.user_id, ctx.role, *params)
        route = routes.current_route() if self.replica is not None else None
        if route == routes.READ:
            assert self.replica is not None
            state = routes.current_consistency()
            found = await self.replica.read(query, args, state.needed if state else 0)
            if found is not routes.MISS:
                return list(found) if found else [None] * len(calls)
            self.primary_reads += 1
        try:
            async with self.pool.connection() as conn:
                cur = conn.cursor(row_factory=tuple_row)
                await cur.execute(query, args)
                row = await cur.fetchone()
                if route == routes.WRITE:
                    await self._note_write(cur)
        except psycopg.Error as exc:
            raise from_database_error(exc) from exc
        return list(row) if row else [None] * len(calls)

    @asynccontextmanager
    async def transaction(self, ctx: RequestContext) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """One transaction on the primary that starts with the context (rustok.set_context, transaction-local),
        for work of several statements: committed when the block ends, rolled back when it raises. The one way
        to open one: realtime's outbox reads and the durable handlers use it too. Database errors become
        RusToKError subclasses, as in `call`."""
        try:
            async with self.pool.connection() as conn, conn.transaction():
                await conn.execute(_SET_CONTEXT, (ctx.tenant_id, ctx.user_id, ctx.role))
                yield conn
        except psycopg.Error as exc:
            raise from_database_error(exc) from exc

    async def _note_write(self, cur: psycopg.AsyncCursor[Any]) -> None:
        """After a write that committed: where the primary's WAL is, for the client's later reads."""
        state = routes.current_consistency()
        if state is None:
            return
        await cur.execute("select pg_current_wal_insert_lsn()::text")
        lsn = await cur.fetchone()
        state.write_lsn = max(state.write_lsn, routes.parse_lsn(lsn[0] if lsn else None))
