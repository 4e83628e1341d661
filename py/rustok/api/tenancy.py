"""The tenant and user of a request: the access token's claims, or for an anonymous request the tenant named
by the X-Tenant header (slug). A token for one tenant sent with another tenant's header is refused.

Nothing here decides whether the tenant and the user may still act: the claims and the cached slug are only
names. rustok.set_context, in the statement of every call, checks them against the database (a switched-off
tenant, a disabled or deleted user, the user's current role), so a revocation counts from the next request on,
in every process, however long a token or a cached slug lives."""

from __future__ import annotations

import time
import uuid

from rustok.api.context import RequestContext
from rustok.api.database import Gateway
from rustok.auth.tokens import TokenIssuer
from rustok.errors import NotFound, TenantMismatch, Unauthenticated

_SLUG_TTL = 30.0  # seconds a slug → id answer is reused (a new tenant's slug may take that long to resolve)


class TenantResolver:
    def __init__(self, gateway: Gateway, tokens: TokenIssuer) -> None:
        self.gateway = gateway
        self.tokens = tokens
        self._slugs: dict[str, tuple[float, uuid.UUID | None]] = {}

    async def resolve(self, authorization: str | None, tenant_slug: str | None, request_id: str) -> RequestContext:
        """Raises Unauthenticated (bad token), NotFound (unknown tenant), TenantMismatch."""
        claims = None
        if authorization:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated("use 'Authorization: Bearer <access token>'", {"reason": "scheme"})
            claims = self.tokens.decode(token.strip())
        named = await self.tenant_by_slug(tenant_slug) if tenant_slug else None
        if claims is not None:
            if tenant_slug and named != claims.tenant_id:
                raise TenantMismatch("the token belongs to another tenant", {"tenant": tenant_slug})
            return RequestContext(claims.tenant_id, claims.user_id, claims.role, request_id)
        return RequestContext(named, None, None, request_id)

    async def tenant_by_slug(self, slug: str) -> uuid.UUID:
        now = time.monotonic()
        cached = self._slugs.get(slug)
        if cached is None or cached[0] < now:
            tenant_id = await self.gateway.call(RequestContext(), "rustok.tenant_id_by_slug(%s)", (slug[:64],))
            if len(self._slugs) > 10_000:
                self._slugs.clear()
            cached = (now + _SLUG_TTL, tenant_id)
            self._slugs[slug] = cached
        if cached[1] is None:
            raise NotFound("no tenant with this slug", {"tenant": slug[:64]})
        return cached[1]
