"""The tenant and user of a request: the access token's claims, or for an anonymous request the tenant named
by the X-Tenant header (slug). A token for one tenant sent with another tenant's header is refused.

Nothing here decides whether the tenant and the user may still act: the claims and the cached slug are only
names. rustok.set_context, in the statement of every call, checks them against the database (a switched-off
tenant, a disabled or deleted user, the user's current role; a token of a deleted tenant is UNAUTHENTICATED),
so a revocation counts from the next request on, in every process, however long a token lives.

What a process caches about tenants (the slug → id lookup here, the storefront's host and shop lookups)
follows the tenants as they change: the process's event relay hands every event to `TenantChanges.seen`,
and a tenant event (TENANT_EVENTS: created, its slug, name or settings updated, switched on or off) empties
those caches at once. So a new tenant, one that took over a slug (`rustok demo` run again) or a renamed one
resolves on the next request. A deleted tenant needs no event: its stale id is refused by set_context as
an unknown slug is. The TTL only bounds how stale an entry gets while the relay cannot read."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from rustok.api.context import RequestContext
from rustok.api.database import Gateway
from rustok.api.tokens import TokenIssuer
from rustok.errors import NotFound, TenantMismatch, Unauthenticated

K = TypeVar("K")
V = TypeVar("V")
TENANT_EVENTS = frozenset({"TenantCreated", "TenantUpdated", "TenantActivated", "TenantDeactivated"})


class TenantChanges:
    """The caches of one process that hold something about tenants, and the one way they are emptied."""

    def __init__(self) -> None:
        self._forgetters: list[Callable[[], None]] = []
        self.generation = 0  # tenant events seen since start

    def subscribe(self, forget: Callable[[], None]) -> None:
        """`forget` empties one cache; called on every tenant event."""
        self._forgetters.append(forget)

    def seen(self, event_type: str) -> None:
        """Called with the type of every event the process reads from the outbox (the relay does)."""
        if event_type in TENANT_EVENTS:
            self.generation += 1
            for forget in self._forgetters:
                forget()


class TenantCache(Generic[K, V]):
    """Answers of a lookup about tenants (slug → id, host → id, a tenant's shop), each kept `ttl` seconds at
    most and all dropped on every tenant event. An answer read before a change is not kept after it: a lookup
    that a tenant event overtook (its generation moved on meanwhile) is returned but not stored."""

    def __init__(self, changes: TenantChanges, ttl: float = 30.0, limit: int = 10_000) -> None:
        self.changes = changes
        self.ttl = ttl
        self.limit = limit  # entries; a cache that reaches it starts over (lookups of random names)
        self._entries: dict[K, tuple[float, V]] = {}
        changes.subscribe(self._entries.clear)

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        now = time.monotonic()
        cached = self._entries.get(key)
        if cached is not None and cached[0] >= now:
            return cached[1]
        generation = self.changes.generation
        value = await load()
        if generation == self.changes.generation:
            if len(self._entries) >= self.limit:
                self._entries.clear()
            self._entries[key] = (now + self.ttl, value)
        return value


def bearer_token(authorization: str) -> str:
    """The token of an `Authorization: Bearer <token>` value (the one place it is parsed); UNAUTHENTICATED
    with details.reason `scheme` for any other value."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("use 'Authorization: Bearer <access token>'", {"reason": "scheme"})
    return token.strip()


class TenantResolver:
    def __init__(self, gateway: Gateway, tokens: TokenIssuer) -> None:
        self.gateway = gateway
        self.tokens = tokens
        self.changes = TenantChanges()
        self._slugs: TenantCache[str, uuid.UUID | None] = TenantCache(self.changes)

    async def resolve(self, authorization: str | None, tenant_slug: str | None, request_id: str) -> RequestContext:
        """Who the request acts for, its access token decoded once (ctx.expires_at is when it ends). Raises
        Unauthenticated (bad token), NotFound (unknown tenant), TenantMismatch."""
        claims = self.tokens.decode(bearer_token(authorization)) if authorization else None
        named = await self.tenant_by_slug(tenant_slug) if tenant_slug else None
        if claims is not None:
            if tenant_slug and named != claims.tenant_id:
                raise TenantMismatch("the token belongs to another tenant", {"tenant": tenant_slug})
            return RequestContext(claims.tenant_id, claims.user_id, claims.role, request_id, claims.expires_at)
        return RequestContext(named, None, None, request_id)

    async def tenant_by_slug(self, slug: str) -> uuid.UUID:
        slug = slug[:64]
        tenant_id = await self._slugs.get(
            slug, lambda: self.gateway.call(RequestContext(), "rustok.tenant_id_by_slug(%s)", (slug,))
        )
        if tenant_id is None:
            raise NotFound("no tenant with this slug", {"tenant": slug})
        return tenant_id
