"""Resolvers of the core schema (core.graphql): each is one SQL function."""

from __future__ import annotations

from rustok.graphql.fields import SqlField

RESOLVERS: dict[str, SqlField] = {
    "Query.me": SqlField("rustok.me()"),
    "Query.tenant": SqlField("rustok.current_tenant()"),
    "Query.modules": SqlField("rustok.list_modules()"),
    "Query.user": SqlField("rustok.user_by_id(%s)", "id"),
    "Query.users": SqlField("rustok.list_users(%s, %s)", "first", "after"),
    "Query.tenants": SqlField("rustok.list_tenants()"),
    "Mutation.enableModule": SqlField("rustok.enable_module(%s)", "slug"),
    "Mutation.disableModule": SqlField("rustok.disable_module(%s)", "slug"),
    "Mutation.setUserRole": SqlField("rustok.set_user_role(%s, %s)", "userId", "role"),
    "Mutation.disableUser": SqlField("rustok.set_user_status(%s, 'disabled')", "userId"),
    "Mutation.enableUser": SqlField("rustok.set_user_status(%s, 'active')", "userId"),
    "Mutation.setTenantActive": SqlField("rustok.set_tenant_active(%s, %s)", "tenantId", "isActive"),
    "Mutation.setDisplayName": SqlField("rustok.set_display_name(%s)", "displayName"),
}
