"""What every part of the API shares, built once per process by the composition root (rustok/platform.py):
settings, the database, the gateway, the token issuer and the tenant resolver, and the start-up and
shut-down work the parts add. It names no part: what is a part's is built beside it and handed to it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from rustok.api.database import Gateway, session_settings
from rustok.api.tenancy import TenantResolver
from rustok.api.tokens import TokenIssuer
from rustok.config import Settings, stored_secret
from rustok.db import Database

Hook = Callable[[], Awaitable[None]]


@dataclass
class Services:
    settings: Settings
    db: Database
    gateway: Gateway
    tokens: TokenIssuer
    tenants: TenantResolver
    on_startup: list[Hook] = field(default_factory=list)
    on_shutdown: list[Hook] = field(default_factory=list)

    @classmethod
    def build(cls, db: Database, settings: Settings) -> Services:
        gateway = Gateway(
            db.app_url,
            session_settings=session_settings(settings),
            read_url=settings.read_database_url,
            replica_wait=settings.replica_wait_ms / 1000,
            replica_retry=settings.replica_retry_seconds,
        )
        tokens = TokenIssuer(settings.jwt_secret or stored_secret(settings, "jwt_secret"), settings.access_ttl)
        return cls(settings, db, gateway, tokens, TenantResolver(gateway, tokens))
