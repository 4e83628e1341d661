"""The one path from the API to PostgreSQL: every call is one statement that first sets the request's
context and then calls one SQL function, in its own transaction, in one round trip:

    with _context as materialized (select rustok.set_context($1, $2, $3)) select <call> from _context

The CTE is materialized and volatile, so PostgreSQL evaluates it before the select list; the settings are
transaction-local, so they end with the statement's implicit transaction (the pool runs in autocommit)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, LiteralString

import psycopg
from psycopg import sql
from psycopg.rows import dict_row, tuple_row
from psycopg_pool import AsyncConnectionPool

from rustok.api.context import RequestContext
from rustok.errors import from_database_error

_WITH_CONTEXT_ROW = "with _context as materialized (select rustok.set_context(%s, %s, %s)) select {calls} from _context"
_WITH_CONTEXT = (
    "with _context as materialized (select rustok.set_context(%s, %s, %s)) select {call} as result from _context"
)


class Gateway:
    def __init__(self, app_url: str, min_size: int = 2, max_size: int = 10) -> None:
        self.pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] = AsyncConnectionPool(
            app_url,
            min_size=min_size,
            max_size=max_size,
            open=False,
            kwargs={"autocommit": True, "row_factory": dict_row, "prepare_threshold": 0},
        )

    async def open(self) -> None:
        await self.pool.open(wait=False)

    async def close(self) -> None:
        await self.pool.close()

    async def call(self, ctx: RequestContext, call: LiteralString, params: Sequence[Any] = ()) -> Any:
        """The value of one SQL expression (typically `rustok.some_function(%s, …)`) under the request's
        context. Database errors become RusToKError subclasses (SQL text never passes)."""
        return await self._fetch(ctx, call, params)

    async def call_text(self, ctx: RequestContext, call: LiteralString, params: Sequence[Any] = ()) -> str | None:
        """Like call, for a jsonb result passed through as JSON text (no parse in Python)."""
        result: str | None = await self._fetch(ctx, call + "::text", params)
        return result

    async def call_many(self, ctx: RequestContext, calls: Sequence[LiteralString], params: Sequence[Any]) -> list[Any]:
        """Several SQL expressions in one statement (one round trip, one transaction): the planner's path."""
        columns = sql.SQL(", ").join(sql.SQL(c) for c in calls)
        query = sql.SQL(_WITH_CONTEXT_ROW).format(calls=columns)
        try:
            async with self.pool.connection() as conn:
                cur = await conn.execute(query, (ctx.tenant_id, ctx.user_id, ctx.role, *params))
                cur.row_factory = tuple_row
                row = await cur.fetchone()
        except psycopg.Error as exc:
            raise from_database_error(exc) from exc
        return list(row) if row else [None] * len(calls)

    async def _fetch(self, ctx: RequestContext, call: LiteralString, params: Sequence[Any]) -> Any:
        query = sql.SQL(_WITH_CONTEXT).format(call=sql.SQL(call))
        try:
            async with self.pool.connection() as conn:
                cur = await conn.execute(query, (ctx.tenant_id, ctx.user_id, ctx.role, *params))
                row = await cur.fetchone()
        except psycopg.Error as exc:
            raise from_database_error(exc) from exc
        return row["result"] if row else None
