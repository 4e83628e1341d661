"""What the parts of the API share, built once per process: settings, the database gateway, the token
issuer and the tenant resolver. Parts receive it and add their routes and start-up work."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rustok.api.database import Gateway, session_settings
from rustok.api.tenancy import TenantResolver
from rustok.api.tokens import TokenIssuer
from rustok.config import Settings, stored_secret
from rustok.db import Database
from rustok.modules import ModuleRegistry

if TYPE_CHECKING:
    from rustok.auth.service import AuthService

Hook = Callable[[], Awaitable[None]]


@dataclass
class Services:
    settings: Settings
    db: Database
    registry: ModuleRegistry
    gateway: Gateway
    tokens: TokenIssuer
    tenants: TenantResolver
    graphql_resolvers: dict[str, Any] = field(default_factory=dict)  # parts add theirs ("Subscription.events")
    graphql: Any = None  # the GraphQLExecutor, once the GraphQL part has built the schema
    graphql_endpoint: Any = None  # the ASGI app answering POST /graphql
    on_startup: list[Hook] = field(default_factory=list)
    auth: AuthService | None = None  # one per process (auth.service.shared_auth): one argon2 cap for every door
    on_shutdown: list[Hook] = field(default_factory=list)

    @classmethod
    def build(cls, db: Database, registry: ModuleRegistry, settings: Settings) -> Services:
        gateway = Gateway(
            db.app_url,
            session_settings=session_settings(settings),
            read_url=settings.read_database_url,
            replica_wait=settings.replica_wait_ms / 1000,
            replica_retry=settings.replica_retry_seconds,
        )
        tokens = TokenIssuer(settings.jwt_secret or stored_secret(settings, "jwt_secret"), settings.access_ttl)
        return cls(settings, db, registry, gateway, tokens, TenantResolver(gateway, tokens))
