"""Sign-in over GraphQL (schema.graphql) for browser clients such as the admin, which talk only to
/graphql: signIn, refreshSession and signOut are the REST endpoints' operations, done by the same
AuthService (one place for the rules: throttling, rotation, reuse detection). The tenant is the request's
(X-Tenant header); a refresh token names its own."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo
from pydantic import ValidationError

from rustok.api.bodies import validation_failed
from rustok.api.context import RequestContext
from rustok.auth.schemas import LoginRequest
from rustok.auth.service import AuthService
from rustok.errors import TenantRequired
from rustok.graphql.schema import Resolver


def resolvers(auth: AuthService) -> dict[str, Resolver]:
    async def sign_in(root: Any, info: GraphQLResolveInfo[Any], email: str, password: str) -> Any:
        ctx: RequestContext = info.context["ctx"]
        if ctx.tenant_id is None:
            raise TenantRequired("name the tenant with the X-Tenant header", {"field": "tenant"})
        try:
            body = LoginRequest(email=email, password=password)
        except ValidationError as exc:
            raise validation_failed(exc) from None
        return await auth.login_in(RequestContext(ctx.tenant_id, request_id=ctx.request_id), body)

    async def refresh_session(root: Any, info: GraphQLResolveInfo[Any], refreshToken: str) -> Any:
        ctx: RequestContext = info.context["ctx"]
        return await auth.refresh_in(auth.token_context(refreshToken, ctx.tenant_id, ctx.request_id), refreshToken)

    async def sign_out(root: Any, info: GraphQLResolveInfo[Any], refreshToken: str) -> bool:
        ctx: RequestContext = info.context["ctx"]
        await auth.revoke(auth.token_context(refreshToken, ctx.tenant_id, ctx.request_id), refreshToken)
        return True

    return {
        "Mutation.signIn": sign_in,
        "Mutation.refreshSession": refresh_session,
        "Mutation.signOut": sign_out,
    }
