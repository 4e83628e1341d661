"""The one path from the API to PostgreSQL: every call is one statement that first sets the request's
context and then calls one SQL function, in its own transaction, in one round trip:

    with _context as materialized (select rustok.set_context($1, $2, $3)) select <call> from _context

The CTE is materialized and volatile, so PostgreSQL evaluates it before the select list; the settings are
transaction-local, so they end with the statement's implicit transaction (the pool runs in autocommit).
A connection that breaks mid-call (the database restarted) is dropped and the call answers UNAVAILABLE."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, LiteralString

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

from rustok.api.connections import ConnectionPool
from rustok.api.context import RequestContext
from rustok.config import Settings
from rustok.errors import from_database_error

_WITH_CONTEXT = "with _context as materialized (select rustok.set_context(%s, %s, %s)) select {calls} from _context"


def session_settings(settings: Settings) -> dict[str, str]:
    """Operator settings the SQL functions read from the session (here: webhooks to private addresses)."""
    return {"rustok.webhooks_allow_private": "on"} if settings.webhooks_allow_private else {}


class Gateway:
    def __init__(self, app_url: str, max_size: int = 10, session_settings: dict[str, str] | None = None) -> None:
        self.pool = ConnectionPool(app_url, max_size=max_size, session_settings=session_settings)
        self._queries: dict[tuple[str, ...], bytes] = {}

    async def open(self) -> None:
        await self.pool.open()

    async def close(self) -> None:
        await self.pool.close()

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
        try:
            async with self.pool.connection() as conn:
                cur = conn.cursor(row_factory=tuple_row)
                await cur.execute(query, (ctx.tenant_id, ctx.user_id, ctx.role, *params))
                row = await cur.fetchone()
        except psycopg.Error as exc:
            raise from_database_error(exc) from exc
        return list(row) if row else [None] * len(calls)
