"""The ASGI application: health today; auth, GraphQL, events and the storefront mount here as they land."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from rustok.db import Database
from rustok.migrate import expected_migration_ids
from rustok.modules import ModuleRegistry


def create_app(db: Database, registry: ModuleRegistry) -> Starlette:
    expected = expected_migration_ids(registry)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            db.app_url, min_size=1, max_size=10, open=False, kwargs={"row_factory": dict_row}
        )
        await pool.open(wait=False)
        app.state.pool = pool
        try:
            yield
        finally:
            await pool.close()

    async def live(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def ready(request: Request) -> JSONResponse:
        """200 when the database answers and every migration of the installed modules is applied."""
        pool: AsyncConnectionPool[Any] = request.app.state.pool
        try:
            async with pool.connection(timeout=2) as conn:
                rows = await (await conn.execute("select migration_id from public._yoyo_migration")).fetchall()
        except Exception:
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
        pending = sorted(expected - {r["migration_id"] for r in rows})
        if pending:
            return JSONResponse(
                {"status": "unavailable", "database": "ok", "pendingMigrations": pending}, status_code=503
            )
        return JSONResponse({"status": "ok", "database": "ok"})

    return Starlette(
        routes=[Route("/health/live", live), Route("/health/ready", ready)],
        lifespan=lifespan,
    )
