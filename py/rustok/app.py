"""The ASGI application: the composition root (platform.py) builds the process's parts, and each contributes
its routes and start-up work to one Starlette app."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
from psycopg.types.json import set_json_loads
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from rustok import admin, openapi, realtime, storefront
from rustok.api import health
from rustok.api.clients import ClientAddress, Forwarded
from rustok.api.errors import EXCEPTION_HANDLERS, RequestIdMiddleware
from rustok.api.replica import ReadYourWrites
from rustok.api.services import Services
from rustok.auth import routes as auth_routes
from rustok.config import Settings
from rustok.db import Database
from rustok.graphql import http as graphql_http
from rustok.migrate import expected_migration_ids
from rustok.modules import ModuleRegistry
from rustok.observability import instrument
from rustok.observability import routes as metrics_routes
from rustok.platform import Platform

# jsonb results arrive through orjson: several times faster than the json module on the hot path
set_json_loads(orjson.loads)


def create_app(db: Database, registry: ModuleRegistry, settings: Settings | None = None) -> ASGIApp:
    platform = Platform.build(db, registry, settings or Settings())
    services = platform.services
    routes: list[BaseRoute] = [
        *health.routes(services, expected_migration_ids(registry)),
        *auth_routes.routes(platform.auth),
        *openapi.routes(),
        *realtime.routes(platform.realtime, realtime.socket_executor(platform.graphql, services)),
        *graphql_http.routes(services, platform.graphql_endpoint),
        *metrics_routes(services, platform.metrics),  # GET /metrics
        *admin.routes(),  # the browser admin at /admin (static files; it talks to /graphql)
        *storefront.routes(services, platform.auth),  # last: HTML pages at /t/{slug}/… and on tenants' own host names
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await services.gateway.open()
        for start in services.on_startup:
            await start()
        try:
            yield
        finally:
            for stop in reversed(services.on_shutdown):
                await stop()
            await services.gateway.close()

    middleware = [Middleware(RequestIdMiddleware)]
    if services.settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(services.settings.cors_origins),
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=[
                    "authorization",
                    "content-type",
                    "x-tenant",
                    "x-request-id",
                    "last-event-id",
                    "x-rustok-min-lsn",
                    "x-rustok-write-lsn",
                ],  # read-your-writes (api/replica.py)
                expose_headers=["x-request-id", "x-rustok-write-lsn"],
                allow_credentials=False,
            )
        )
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.platform = platform
    app.state.services = services
    if services.settings.cors_origins:
        # CORS headers come from the middleware: every route goes through it
        return instrument(_with_replica(services, ClientAddress(app)), platform.metrics)
    # outermost: request id, timing and the access log for every request, the GraphQL fast path included
    inner = ClientAddress(_GraphQLFirst(app, platform.graphql_endpoint))  # sign-in budgets per client address
    return instrument(_with_replica(services, inner), platform.metrics)


def _with_replica(services: Services, app: ASGIApp) -> ASGIApp:
    """With a read replica, requests carry read-your-writes LSNs in and out (api/replica.py)."""
    return ReadYourWrites(app) if services.gateway.replica is not None else app


class _GraphQLFirst:
    """Hands POST /graphql straight to its endpoint (which keeps its own request id and error handling),
    everything else to the Starlette app: the hot path skips routing and middleware."""

    def __init__(self, app: Starlette, endpoint: ASGIApp) -> None:
        self.app = app
        self.endpoint = endpoint
        self.state = app.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/graphql":
            await self.endpoint(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def app_from_environment() -> ASGIApp:
    """The app for `rustok serve` (each uvicorn worker builds its own): settings from the environment,
    the database already started (when embedded), migrated and supervised by the parent process. A worker
    never starts the embedded server: one that uvicorn replaces while the server is down would otherwise
    race the supervisor, or start a server the operator stopped."""
    from rustok.db import locate
    from rustok.modules import installed_registry
    from rustok.parent_death import end_with_parent

    end_with_parent()  # a worker of `serve --workers N` must not outlive a serve killed with SIGKILL
    settings = Settings()
    app = create_app(locate(settings, must_run=False), installed_registry(settings.installed_modules), settings)
    # uvicorn's proxy-header handling, here rather than uvicorn's (serve passes proxy_headers=False) so the
    # connection's own peer stays known: the client budgets' fallback (api/clients.py)
    return Forwarded(app, os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1"))
