"""GraphQL mutations that create accounts with a password (graphql/core.graphql): createTenant with its first
admin (super admins) and createUser (users.manage). Python checks the permission in SQL first, then hashes
the password (argon2id, off the event loop, as for registration); the SQL function checks again and does the rest."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from rustok.auth.hashing import PasswordHashing
from rustok.errors import Unauthenticated, ValidationFailed
from rustok.graphql.schema import Resolver
from rustok.types import JsonObject


async def _permitted(info: GraphQLResolveInfo[Any], permission: str) -> None:
    """The caller must hold the permission before any hashing work (rustok.require_permission: UNAUTHENTICATED
    or FORBIDDEN); the function checks it again, in the transaction that writes."""
    if not info.context["ctx"].signed_in:
        raise Unauthenticated("sign in first", {"reason": "missing"})
    await info.context["services"].gateway.call(info.context["ctx"], "rustok.require_permission(%s)", (permission,))


def account_resolvers(hashing: PasswordHashing) -> dict[str, Resolver]:
    async def create_tenant(root: Any, info: GraphQLResolveInfo[Any], input: JsonObject) -> Any:
        await _permitted(info, "tenants.manage")
        email, password = input.get("adminEmail"), input.get("adminPassword")
        if (email is None) != (password is None):
            raise ValidationFailed("adminEmail and adminPassword go together", {"field": "adminPassword"})
        password_hash = await hashing.hash(password) if password is not None else None
        return await info.context["services"].gateway.call(
            info.context["ctx"],
            "rustok.create_tenant(%s, %s, %s, %s)",
            (input["slug"], input["name"], email, password_hash),
        )

    async def create_user(root: Any, info: GraphQLResolveInfo[Any], input: JsonObject) -> Any:
        await _permitted(info, "users.manage")
        password_hash = await hashing.hash(input["password"])
        return await info.context["services"].gateway.call(
            info.context["ctx"],
            "rustok.create_user(%s, %s, %s, %s)",
            (input["email"], password_hash, input.get("role") or "customer", input.get("displayName")),
        )

    return {"Mutation.createTenant": create_tenant, "Mutation.createUser": create_user}
