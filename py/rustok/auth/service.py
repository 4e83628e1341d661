"""What the auth endpoints do, apart from HTTP: each operation is one SQL function call (a login is two: the
attempt is charged and committed before the password is checked; a registration too: its budget is spent
first) around the password work in Python. Sign-in and registration spend the budgets of the tenant and of the
client address (api/clients.py) in the database before any password is hashed (docs/auth.md, "Budgets")."""

from __future__ import annotations

import uuid
from datetime import timedelta

from rustok.api.clients import current_client
from rustok.api.context import RequestContext
from rustok.api.services import Services
from rustok.auth import passwords
from rustok.auth.hashing import PasswordHashing, busy
from rustok.auth.refresh import new_refresh_token, parse_refresh_token
from rustok.auth.schemas import LoginRequest, RegisterRequest
from rustok.errors import InvalidCredentials, RateLimited, TenantMismatch, Unauthenticated, ValidationFailed
from rustok.ids import parse_id
from rustok.types import JsonObject


class AuthService:
    """One per process, made by the composition root (rustok/platform.py): REST, GraphQL and the storefront
    share it, so the password-hashing cap of one argon2 per CPU holds for all of them together."""

    def __init__(self, services: Services, hashing: PasswordHashing | None = None) -> None:
        self.gateway = services.gateway
        self.tokens = services.tokens
        self.tenants = services.tenants
        self.hashing = hashing or PasswordHashing()
        self.refresh_ttl = timedelta(seconds=services.settings.refresh_ttl)

    async def register(self, body: RegisterRequest, header_tenant: str | None, request_id: str) -> JsonObject:
        """A new customer, signed in. Refused before the password is hashed: a password outside the policy
        (for free), a full hashing queue, and a spent registration budget (RATE_LIMITED, reason client or
        tenant) — which also bounds how fast anyone can learn which emails are taken (CONFLICT)."""
        ctx = await self._named_tenant(body.tenant, header_tenant, request_id)
        client = current_client()
        passwords.check_policy(body.password)
        if self.hashing.saturated(client):
            raise busy()
        await self.gateway.call(ctx, "rustok.spend_auth_budget('register', %s)", (client,))
        password_hash = await self.hashing.hash(body.password, client)
        token, digest = self._new_refresh_token(ctx)
        result = await self.gateway.call(
            ctx,
            "rustok.register_user(%s, %s, %s, %s, %s)",
            (body.email, password_hash, digest, self.refresh_ttl, body.display_name),
        )
        return self._signed_in(ctx, result["user"], token)

    async def login(self, body: LoginRequest, header_tenant: str | None, request_id: str) -> JsonObject:
        """Unknown email, wrong password and disabled account: the same INVALID_CREDENTIALS after the same
        hashing work; a throttled pair: RATE_LIMITED, whether the account exists or not."""
        ctx = await self._named_tenant(body.tenant, header_tenant, request_id)
        return await self.login_in(ctx, body)

    async def login_in(self, ctx: RequestContext, body: LoginRequest) -> JsonObject:
        """A login in a tenant already resolved (GraphQL's signIn: the X-Tenant header's)."""
        client = current_client()
        if self.hashing.saturated(client):  # a flood is refused before it charges attempts to real accounts
            raise busy()
        # spends the tenant's and the client's sign-in budgets first (RATE_LIMITED), then charges the account
        attempt = await self.gateway.call(ctx, "rustok.begin_login(%s, %s)", (body.email, client))
        if attempt["status"] == "throttled":
            raise RateLimited(
                "too many failed sign-ins; wait and retry", {"reason": "account", "retryAfter": attempt["retryAfter"]}
            )
        stored: str | None = attempt["passwordHash"]
        # verify first: without a stored hash it checks a dummy one, so an unknown email takes as long
        if not await self.hashing.verify(stored, body.password, client) or stored is None:
            raise InvalidCredentials("email or password is wrong")
        new_hash = await self.hashing.hash(body.password, client) if passwords.needs_rehash(stored) else None
        token, digest = self._new_refresh_token(ctx)
        result = await self.gateway.call(
            ctx,
            "rustok.complete_login(%s, %s, %s, %s, %s)",
            (body.email, stored, digest, self.refresh_ttl, new_hash),
        )
        return self._signed_in(ctx, result["user"], token)

    async def refresh(self, refresh_token: str, header_tenant: str | None, request_id: str) -> JsonObject:
        """A new token pair; a refused token answers UNAUTHENTICATED with details.reason (invalid, expired,
        reused, disabled) after the function's revocation has committed."""
        ctx = await self._token_tenant(refresh_token, header_tenant, request_id)
        return await self.refresh_in(ctx, refresh_token)

    async def refresh_in(self, ctx: RequestContext, refresh_token: str) -> JsonObject:
        """A refresh in the token's tenant (ctx from token_context)."""
        _, digest = parse_refresh_token(refresh_token)
        token, new_digest = self._new_refresh_token(ctx)
        result = await self.gateway.call(
            ctx, "rustok.rotate_refresh_token(%s, %s, %s)", (digest, new_digest, self.refresh_ttl)
        )
        if result["status"] != "ok":
            raise Unauthenticated("refresh token refused", {"reason": result["status"]})
        return self._signed_in(ctx, result["user"], token)

    async def logout(
        self, refresh_token: str | None, authorization: str | None, header_tenant: str | None, request_id: str
    ) -> None:
        """With a refresh token: revokes its family (idempotent). Without: revokes every refresh token of the
        signed-in user."""
        if refresh_token is not None:
            await self.revoke(await self._token_tenant(refresh_token, header_tenant, request_id), refresh_token)
            return
        ctx = await self.tenants.resolve(authorization, header_tenant, request_id)
        if not ctx.signed_in:
            raise Unauthenticated("send a refresh token or an access token", {"reason": "missing"})
        await self.gateway.call(ctx, "rustok.revoke_user_sessions()")

    async def revoke(self, ctx: RequestContext, refresh_token: str) -> None:
        """Revokes the refresh token's family (idempotent); ctx from token_context."""
        _, digest = parse_refresh_token(refresh_token)
        await self.gateway.call(ctx, "rustok.revoke_refresh_token(%s)", (digest,))

    async def me(self, authorization: str | None, header_tenant: str | None, request_id: str) -> JsonObject:
        ctx = await self.tenants.resolve(authorization, header_tenant, request_id)
        if not ctx.signed_in:
            raise Unauthenticated("sign in first", {"reason": "missing"})
        user = await self.gateway.call(ctx, "rustok.me()")
        if user is None:
            raise Unauthenticated("the signed-in user no longer exists", {"reason": "unknown_user"})
        return {"user": user}

    async def _named_tenant(self, body_tenant: str | None, header_tenant: str | None, rid: str) -> RequestContext:
        """The tenant named by the body and/or the X-Tenant header (they must agree)."""
        if body_tenant and header_tenant and body_tenant != header_tenant:
            raise TenantMismatch("the body and the X-Tenant header name different tenants", {"field": "tenant"})
        slug = body_tenant or header_tenant
        if not slug:
            raise ValidationFailed("name the tenant (body field or X-Tenant header)", {"field": "tenant"})
        return RequestContext(await self.tenants.tenant_by_slug(slug), request_id=rid)

    async def _token_tenant(self, refresh_token: str, header_tenant: str | None, request_id: str) -> RequestContext:
        """The refresh token's tenant; an X-Tenant header naming another tenant is refused. A bearer token is
        not consulted (it is typically the expired one being replaced)."""
        named = await self.tenants.tenant_by_slug(header_tenant) if header_tenant else None
        return self.token_context(refresh_token, named, request_id)

    def token_context(self, refresh_token: str, named_tenant: uuid.UUID | None, request_id: str) -> RequestContext:
        """The refresh token's tenant as the context of its call; a named tenant that differs is refused."""
        tenant_id, _ = parse_refresh_token(refresh_token)
        if named_tenant is not None and named_tenant != tenant_id:
            raise TenantMismatch("the refresh token belongs to another tenant", {"field": "refreshToken"})
        return RequestContext(tenant_id, request_id=request_id)

    def _new_refresh_token(self, ctx: RequestContext) -> tuple[str, bytes]:
        assert ctx.tenant_id is not None
        return new_refresh_token(ctx.tenant_id)

    def _signed_in(self, ctx: RequestContext, user: JsonObject, refresh_token: str) -> JsonObject:
        tenant_id: uuid.UUID | None = ctx.tenant_id
        assert tenant_id is not None
        access = self.tokens.issue(tenant_id, parse_id(user["id"]), user["role"])
        return {"user": user, "accessToken": access, "refreshToken": refresh_token, "expiresIn": self.tokens.access_ttl}
