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
an unknown slug is. The TTL only bounds how stale an entry gets while the relay cannot read.

The names a request gives (the X-Tenant slug, the storefront's /t/{slug} and Host) are looked up through one
cache, `TenantResolver.tenant_by_slug` / `tenant_by_host`, and only when they have the shape of a name: a
malformed X-Tenant is BAD_REQUEST (details.reason format) without a database trip, so a key is never longer than
a slug (64) or a host name (253) and the cache is bounded in bytes as in entries. An unknown name is kept
apart, in a smaller store of its own, so names made up by the thousand cannot push the known ones out."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from rustok.api.context import RequestContext
from rustok.api.database import Gateway
from rustok.api.tokens import TokenIssuer
from rustok.errors import BadRequest, NotFound, TenantMismatch, Unauthenticated

K = TypeVar("K")
V = TypeVar("V")
TENANT_EVENTS = frozenset({"TenantCreated", "TenantUpdated", "TenantActivated", "TenantDeactivated"})
# the tenants.slug CHECK (core_0001_platform); the auth bodies' `tenant` field takes the same pattern
TENANT_SLUG = r"^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$"
_SLUG = re.compile(TENANT_SLUG)
_HOST = re.compile(r"[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?")  # a DNS name or IPv4 address, lower case, no port


def is_tenant_slug(value: str) -> bool:
    """Whether value can be a tenant's slug at all (a-z, 0-9 and inner dashes, 1 to 64 characters)."""
    return len(value) <= 64 and _SLUG.fullmatch(value) is not None


def host_name(header: str) -> str | None:
    """The host name of a Host header, lower case and without its port ("Shop.Example:8000" ->
    "shop.example"), as rustok.storefront_tenant_by_host compares it; None when it is no host name."""
    name = header.strip().lower()
    name = name[: name.rfind(":")] if ":" in name else name
    return name if len(name) <= 253 and _HOST.fullmatch(name) else None


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
    """Answers of a lookup about tenants (slug or host → id, a tenant's shop), each kept `ttl` seconds at
    most and all dropped on every tenant event. An answer read before a change is not kept after it: a lookup
    that a tenant event overtook (its generation moved on meanwhile) is returned but not stored.

    At most `limit` answers and, apart from them, `misses` answers of None (an unknown name): a full store
    drops its oldest entry, so unknown names, however many, never push a known one out."""

    def __init__(self, changes: TenantChanges, ttl: float = 30.0, limit: int = 10_000, misses: int = 1_000) -> None:
        self.changes = changes
        self.ttl = ttl
        self.limit = limit
        self.misses = misses
        self._entries: dict[K, tuple[float, V]] = {}  # key -> (expiry, answer)
        self._misses: dict[K, tuple[float, V]] = {}  # the same for answers of None
        changes.subscribe(self.clear)

    def clear(self) -> None:
        self._entries.clear()
        self._misses.clear()

    def __len__(self) -> int:
        return len(self._entries) + len(self._misses)

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        now = time.monotonic()
        for store in (self._entries, self._misses):
            cached = store.get(key)
            if cached is not None and cached[0] >= now:
                return cached[1]
        generation = self.changes.generation
        value = await load()
        if generation == self.changes.generation:
            self._entries.pop(key, None)
            self._misses.pop(key, None)
            store, limit = (self._misses, self.misses) if value is None else (self._entries, self.limit)
            _store(store, key, (now + self.ttl, value), limit)
        return value


def _store(entries: dict[K, V], key: K, value: V, limit: int) -> None:
    """entries[key] = value (a new key), the oldest entries dropped first when `limit` is reached."""
    while entries and len(entries) >= limit:
        del entries[next(iter(entries))]
    if limit > 0:
        entries[key] = value


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
        self._names: TenantCache[tuple[str, str], uuid.UUID | None] = TenantCache(self.changes)

    async def resolve(self, authorization: str | None, tenant_slug: str | None, request_id: str) -> RequestContext:
        """Who the request acts for, its access token decoded once (ctx.expires_at is when it ends). Raises
        Unauthenticated (bad token), BadRequest (malformed slug), NotFound (unknown tenant), TenantMismatch."""
        claims = self.tokens.decode(bearer_token(authorization)) if authorization else None
        named = await self.tenant_by_slug(tenant_slug) if tenant_slug else None
        if claims is not None:
            if tenant_slug and named != claims.tenant_id:
                raise TenantMismatch("the token belongs to another tenant", {"tenant": tenant_slug})
            return RequestContext(claims.tenant_id, claims.user_id, claims.role, request_id, claims.expires_at)
        return RequestContext(named, None, None, request_id)

    async def tenant_by_slug(self, slug: str) -> uuid.UUID:
        """The tenant with this slug. Raises BadRequest (details.field X-Tenant, reason format) for what cannot
        be a slug, without a lookup; NotFound for an unknown one."""
        if not is_tenant_slug(slug):
            raise BadRequest("a tenant slug is a-z, 0-9 and dashes, at most 64", dict(_MALFORMED))
        tenant_id = await self._names.get(
            ("slug", slug), lambda: self.gateway.call(RequestContext(), "rustok.tenant_id_by_slug(%s)", (slug,))
        )
        if tenant_id is None:
            raise NotFound("no tenant with this slug", {"tenant": slug})
        return tenant_id

    async def tenant_by_host(self, header: str) -> uuid.UUID | None:
        """The tenant whose `domains` setting lists the Host header's name, or None (also, without a lookup,
        for a header that is no host name)."""
        host = host_name(header)
        if host is None:
            return None
        return await self._names.get(
            ("host", host),
            lambda: self.gateway.call(RequestContext(), "rustok.storefront_tenant_by_host(%s)", (host,)),
        )


_MALFORMED = {"field": "X-Tenant", "reason": "format"}
