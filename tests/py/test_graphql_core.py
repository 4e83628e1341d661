"""The core GraphQL fields through HTTP: me, tenant, modules, users, enable/disable module, setUserRole —
with permissions enforced in SQL, tenants kept apart, and Relay connections."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from rustok.db import Database
from rustok.ids import to_ulid
from tests.py.graphql_support import Api, Tenant, codes, make_tenant


@pytest.fixture(scope="module")
def tenants(db: Database) -> tuple[Tenant, Tenant]:
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        conn.execute("select rustok._register_module('alpha', 'Alpha', 'test module', '1.0', '{}')")
        conn.execute("select rustok._register_module('beta', 'Beta', 'test module', '1.0', '{alpha}')")
    return make_tenant(db, "north"), make_tenant(db, "south")


@pytest.fixture(scope="module")
def api(db: Database) -> Iterator[Api]:
    with Api(db) as api:
        yield api


def test_me_is_the_signed_in_user_and_null_when_anonymous(api: Api, tenants: tuple[Tenant, Tenant]) -> None:
    north, _ = tenants
    body = api.gql("{ me { id email role } }", tenant=north, role="manager")
    assert body["data"]["me"] == {
        "id": to_ulid(north.users["manager"]),
        "email": "manager@north.test",
        "role": "MANAGER",
    }
    assert api.gql("{ me { id } }", tenant=north)["data"]["me"] is None


def test_tenant_and_modules(api: Api, tenants: tuple[Tenant, Tenant]) -> None:
    north, _ = tenants
    body = api.gql("{ tenant { id slug name isActive } modules { slug enabled dependencies } }", tenant=north)
    assert body["data"]["tenant"] == {"id": to_ulid(north.id), "slug": "north", "name": "North", "isActive": True}
    probes = [m for m in body["data"]["modules"] if m["slug"] in ("alpha", "beta")]  # shipped modules too
    assert probes == [
        {"slug": "alpha", "enabled": True, "dependencies": []},
        {"slug": "beta", "enabled": True, "dependencies": ["alpha"]},
    ]


def test_users_is_a_paginated_connection_for_managers_and_up(api: Api, tenants: tuple[Tenant, Tenant]) -> None:
    north, _ = tenants
    query = (
        "query($after: String) { users(first: 3, after: $after) "
        "{ edges { cursor node { email } } pageInfo { hasNextPage endCursor } } }"
    )
    first = api.gql(query, tenant=north, role="admin")["data"]["users"]
    assert len(first["edges"]) == 3 and first["pageInfo"]["hasNextPage"] is True
    second = api.gql(query, {"after": first["pageInfo"]["endCursor"]}, tenant=north, role="admin")["data"]["users"]
    assert len(second["edges"]) == 1 and second["pageInfo"]["hasNextPage"] is False
    emails = {e["node"]["email"] for e in first["edges"] + second["edges"]}
    assert emails == {f"{r}@north.test" for r in ("super_admin", "admin", "manager", "customer")}
    assert codes(api.gql("{ users { edges { cursor } } }", tenant=north, role="customer")) == ["FORBIDDEN"]
    assert codes(api.gql("{ users { edges { cursor } } }", tenant=north)) == ["UNAUTHENTICATED"]
    assert codes(api.gql('{ users(after: "nonsense") { edges { cursor } } }', tenant=north, role="admin")) == [
        "INVALID_ID"
    ]
    assert codes(api.gql("{ users(first: 1000) { edges { cursor } } }", tenant=north, role="admin")) == [
        "VALIDATION_FAILED"
    ]


def test_a_module_disabled_in_one_tenant_and_enabled_in_another(api: Api, tenants: tuple[Tenant, Tenant]) -> None:
    north, south = tenants
    toggle = "mutation($slug: String!) { disableModule(slug: $slug) { slug enabled } }"
    body = api.gql(toggle, {"slug": "beta"}, tenant=south, role="admin")
    assert {"slug": "beta", "enabled": False} in body["data"]["disableModule"]
    assert codes(api.gql(toggle, {"slug": "alpha"}, tenant=north, role="admin")) == ["MODULE_REQUIRED"]
    enabled = {
        m["slug"]: m["enabled"] for m in api.gql("{ modules { slug enabled } }", tenant=north)["data"]["modules"]
    }
    assert (enabled["alpha"], enabled["beta"]) == (True, True)
    assert codes(api.gql(toggle, {"slug": "beta"}, tenant=north, role="manager")) == ["FORBIDDEN"]
    assert codes(api.gql(toggle, {"slug": "gamma"}, tenant=north, role="admin")) == ["MODULE_UNKNOWN"]
    enable = 'mutation { enableModule(slug: "beta") { slug enabled } }'
    assert {"slug": "beta", "enabled": True} in api.gql(enable, tenant=south, role="admin")["data"]["enableModule"]


def test_set_user_role(api: Api, tenants: tuple[Tenant, Tenant]) -> None:
    north, south = tenants
    mutation = "mutation($id: ID!, $role: Role!) { setUserRole(userId: $id, role: $role) { id role } }"
    customer = to_ulid(north.users["customer"])
    body = api.gql(mutation, {"id": customer, "role": "MANAGER"}, tenant=north, role="admin")
    assert body["data"]["setUserRole"] == {"id": customer, "role": "MANAGER"}
    assert codes(api.gql(mutation, {"id": customer, "role": "SUPER_ADMIN"}, tenant=north, role="admin")) == [
        "FORBIDDEN"
    ]
    assert api.gql(mutation, {"id": customer, "role": "CUSTOMER"}, tenant=north, role="super_admin")["data"]
    own = to_ulid(north.users["admin"])
    assert codes(api.gql(mutation, {"id": own, "role": "CUSTOMER"}, tenant=north, role="admin")) == ["FORBIDDEN"]
    other_tenants_user = to_ulid(south.users["customer"])
    assert codes(api.gql(mutation, {"id": other_tenants_user, "role": "ADMIN"}, tenant=north, role="admin")) == [
        "NOT_FOUND"
    ]
    assert codes(api.gql(mutation, {"id": "not-an-id", "role": "ADMIN"}, tenant=north, role="admin")) == ["INVALID_ID"]


def test_a_token_for_one_tenant_with_another_tenants_header_is_refused(
    api: Api, tenants: tuple[Tenant, Tenant]
) -> None:
    north, south = tenants
    token = api.token(north, "admin")
    body = api.gql("{ me { id } }", headers={"authorization": f"Bearer {token}", "x-tenant": south.slug}, status=403)
    assert codes(body) == ["TENANT_MISMATCH"]
    body = api.gql("{ me { id } }", headers={"authorization": "Bearer forged.token.here"}, status=401)
    assert codes(body) == ["UNAUTHENTICATED"]
    assert codes(api.gql("{ tenant { id } }", headers={"x-tenant": "no-such-tenant"}, status=404)) == ["NOT_FOUND"]


def test_without_a_tenant_nothing_is_visible(api: Api) -> None:
    body = api.gql("{ tenant { id } me { id } }")
    assert body["data"] == {"tenant": None, "me": None}
    assert codes(api.gql("{ modules { slug } }")) == ["TENANT_REQUIRED"]


def test_get_runs_queries_but_not_mutations(api: Api, tenants: tuple[Tenant, Tenant]) -> None:
    response = api.client.get("/graphql", params={"query": "{ tenant { slug } }"}, headers={"x-tenant": "north"})
    assert response.json() == {"data": {"tenant": {"slug": "north"}}}
    response = api.client.get("/graphql", params={"query": 'mutation { enableModule(slug: "a") { slug } }'})
    assert response.status_code == 405


def test_user_by_id(api: Api, tenants: tuple[Tenant, Tenant]) -> None:
    north, south = tenants
    query = "query($id: ID!) { user(id: $id) { email } }"
    admin = to_ulid(north.users["admin"])
    assert api.gql(query, {"id": admin}, tenant=north, role="manager")["data"]["user"] == {"email": "admin@north.test"}
    assert api.gql(query, {"id": to_ulid(north.users["customer"])}, tenant=north, role="customer")["data"]["user"]
    assert codes(api.gql(query, {"id": admin}, tenant=north, role="customer")) == ["FORBIDDEN"]
    assert api.gql(query, {"id": to_ulid(south.users["admin"])}, tenant=north, role="admin")["data"]["user"] is None
