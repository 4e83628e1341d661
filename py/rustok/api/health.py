"""GET /health/live (the process answers) and GET /health/ready (database reachable, migrations current)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from rustok.api.services import Services


def routes(services: Services, expected: set[str]) -> list[BaseRoute]:
    """`expected`: the ids of every migration the installed modules ship (migrate.expected_migration_ids)."""

    async def live(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def ready(request: Request) -> JSONResponse:
        try:
            async with services.gateway.pool.connection(timeout=2) as conn:
                rows = await (await conn.execute("select migration_id from public._yoyo_migration")).fetchall()
        except Exception:  # any failure to reach the database means "not ready", with no detail leaked
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
        pending = sorted(expected - {r["migration_id"] for r in rows})
        if pending:
            body = {"status": "unavailable", "database": "ok", "pendingMigrations": pending}
            return JSONResponse(body, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    return [Route("/health/live", live), Route("/health/ready", ready)]
