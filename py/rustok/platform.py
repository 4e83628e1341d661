"""The composition root: everything a process runs is built here, once, typed, and handed to what uses it.

`Platform.build` makes the shared Services, the metrics, the one AuthService, realtime, the parts and the
GraphQL executor of their schema; app.py turns it into routes. The worker takes `available_handlers`. The
parts, in order (each adds SDL, resolvers and handlers: rustok/modules/contract.py):

    auth          sign-in mutations (auth/part.py)
    realtime      Subscription.events (realtime/part.py)
    webhooks      their fields and the durable handler that delivers them (webhooks/part.py)
    module-hooks  each module's on_enable / on_disable, as a durable handler (modules/hooks.py)
    <module>      every installed module, in dependency order (RusToKModule.part)

The GraphQL schema and the worker iterate this list; neither names a feature."""

from __future__ import annotations

from dataclasses import dataclass

from rustok.api.services import Services
from rustok.auth.part import part as auth_part
from rustok.auth.service import AuthService
from rustok.config import Settings
from rustok.db import Database
from rustok.events.handlers import EventHandler
from rustok.events.worker import WorkerError
from rustok.graphql.executor import GraphQLExecutor
from rustok.graphql.http import GraphQLEndpoint, new_executor
from rustok.modules import ModuleRegistry, Part
from rustok.modules.hooks import part as module_hooks_part
from rustok.observability.metrics import Metrics
from rustok.realtime import Realtime
from rustok.realtime.part import part as realtime_part
from rustok.webhooks.part import part as webhooks_part


def handler_parts(registry: ModuleRegistry) -> list[Part]:
    """The parts with durable handlers, fresh (a handler holds what one worker run opened): webhooks,
    module hooks, then each installed module in dependency order."""
    return [webhooks_part(), module_hooks_part(registry), *(module.part for module in registry.ordered())]


def available_handlers(registry: ModuleRegistry) -> list[EventHandler]:
    """Every durable handler of the parts (`rustok worker` runs them; `rustok status` expects each to run)."""
    handlers: list[EventHandler] = []
    for part in handler_parts(registry):
        for handler in part.handlers:
            if not isinstance(handler, EventHandler):  # a module's manifest is data: checked when it runs
                raise WorkerError(f"module {part.name!r}: event listener {handler!r} is not an EventHandler")
            handlers.append(handler)
    return handlers


def handler_names(registry: ModuleRegistry) -> list[str]:
    return [handler.name for handler in available_handlers(registry)]


@dataclass(frozen=True)
class Platform:
    """One process's API, built by `build` and nowhere else."""

    services: Services
    registry: ModuleRegistry
    metrics: Metrics
    auth: AuthService
    realtime: Realtime
    parts: tuple[Part, ...]
    graphql: GraphQLExecutor
    graphql_endpoint: GraphQLEndpoint

    @classmethod
    def build(cls, db: Database, registry: ModuleRegistry, settings: Settings) -> Platform:
        services = Services.build(db, settings)
        realtime = Realtime(services)
        metrics = Metrics(realtime.relay)
        auth = AuthService(services)
        services.on_startup.append(auth.hashing.start)
        parts = (auth_part(auth), realtime_part(realtime), *handler_parts(registry))
        executor = new_executor(services, parts, metrics.observe_operation)
        endpoint = GraphQLEndpoint(services, executor)
        return cls(services, registry, metrics, auth, realtime, parts, executor, endpoint)


_NEVER_OPENED = "postgresql://schema-only.invalid/rustok"  # pools open at start-up, which never comes here


def schema_parts(registry: ModuleRegistry) -> tuple[Part, ...]:
    """The GraphQL parts exactly as `Platform.build` makes them for the app, without a database or a stored
    secret: the schema artifact (`rustok graphql schema`, rustok/graphql/artifact.py) prints their schema.
    Resolvers change no type; building opens no connection and starts nothing."""
    offline = Database(admin_url=_NEVER_OPENED, app_url=_NEVER_OPENED, app_password="")
    settings = Settings(jwt_secret="schema-only: never signs or checks a token", read_database_url=None)
    return Platform.build(offline, registry, settings).parts
