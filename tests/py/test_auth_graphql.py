"""Sign-in over GraphQL (signIn, refreshSession, signOut: the REST auth's rules through the same service) and
the account mutations behind the admin: createUser (users.manage, the super_admin rule) and tenants /
createTenant (super admins only)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rustok.db import Database
from tests.py.graphql_support import Api, Tenant, codes, make_tenant

CREATE_USER = "mutation($input: CreateUserRequest!) { createUser(input: $input) { id email role displayName } }"
SIGN_IN = (
    "mutation($email: String!, $password: String!) { signIn(email: $email, password: $password) "
    "{ user { email role } accessToken refreshToken expiresIn } }"
)
REFRESH = "mutation($token: String!) { refreshSession(refreshToken: $token) { accessToken refreshToken } }"
SIGN_OUT = "mutation($token: String!) { signOut(refreshToken: $token) }"
TENANTS = "{ tenants { slug name isActive } }"
CREATE_TENANT = "mutation($input: CreateTenantRequest!) { createTenant(input: $input) { id slug name } }"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def tenants(db: Database) -> tuple[Tenant, Tenant]:
    return make_tenant(db, "alpha"), make_tenant(db, "beta")


@pytest.fixture(scope="module")
def api(db: Database) -> Iterator[Api]:
    with Api(db) as api:
        yield api


def create_user(api: Api, tenant: Tenant, as_role: str, **input: Any) -> dict[str, Any]:
    return api.gql(CREATE_USER, {"input": {"password": PASSWORD, **input}}, tenant=tenant, role=as_role)


def sign_in(api: Api, tenant: Tenant | None, email: str, password: str = PASSWORD) -> dict[str, Any]:
    headers = {"x-tenant": tenant.slug} if tenant else {}
    return api.gql(SIGN_IN, {"email": email, "password": password}, headers=headers)


def test_create_user_then_sign_in_refresh_and_sign_out(api: Api, tenants: tuple[Tenant, Tenant]) -> None:
    alpha, beta = tenants
    made = create_user(api, alpha, "admin", email="Editor@Alpha.test", role="MANAGER", displayName="Ed")
    assert made["data"]["createUser"]["email"] == "editor@alpha.test"
    assert made["data"]["createUser"]["role"] == "MANAGER" and made["data"]["createUser"]["displayName"] == "Ed"

    session = sign_in(api, alpha, "editor@alpha.test")["data"]["signIn"]
    assert session["user"] == {"email": "editor@alpha.test", "role": "MANAGER"} and session["expiresIn"] > 0
    me = api.gql("{ me { email } }", headers={"authorization": f"Bearer {session['accessToken']}"})
    assert me["data"]["me"] == {"email": "editor@alpha.test"}

    renewed = api.gql(REFRESH, {"token": session["refreshToken"]}, headers={"x-tenant": "alpha"})
    assert renewed["data"]["refreshSession"]["refreshToken"] != session["refreshToken"]
    assert codes(api.gql(REFRESH, {"token": renewed["data"]["refreshSession"]["refreshToken"]}, tenant=beta)) == [
        "TENANT_MISMATCH"
    ]
    assert api.gql(SIGN_OUT, {"token": renewed["data"]["refreshSession"]["refreshToken"]})["data"] == {"signOut": True}
    assert codes(api.gql(REFRESH, {"token": renewed["data"]["refreshSession"]["refreshToken"]})) == ["UNAUTHENTICATED"]
    # the spent first token is a reuse: refused too
    assert codes(api.gql(REFRESH, {"token": session["refreshToken"]})) == ["UNAUTHENTICATED"]


def test_sign_in_refusals(api: Api, tenants: tuple[Tenant, Tenant]) -> None:
    alpha, beta = tenants
    create_user(api, alpha, "admin", email="signer@alpha.test")
    assert codes(sign_in(api, alpha, "signer@alpha.test", "wrong password")) == ["INVALID_CREDENTIALS"]
    assert codes(sign_in(api, beta, "signer@alpha.test")) == ["INVALID_CREDENTIALS"]
    assert codes(sign_in(api, None, "signer@alpha.test")) == ["TENANT_REQUIRED"]
    assert codes(sign_in(api, alpha, "")) == ["VALIDATION_FAILED"]
    assert codes(api.gql(REFRESH, {"token": "not-a-token"})) == ["UNAUTHENTICATED"]
    assert codes(api.gql(SIGN_OUT, {"token": "not-a-token"})) == ["UNAUTHENTICATED"]


def test_create_user_refusals(api: Api, tenants: tuple[Tenant, Tenant]) -> None:
    alpha, _ = tenants
    assert codes(create_user(api, alpha, "manager", email="m@alpha.test")) == ["FORBIDDEN"]
    assert codes(api.gql(CREATE_USER, {"input": {"email": "a@alpha.test", "password": PASSWORD}}, tenant=alpha)) == [
        "UNAUTHENTICATED"
    ]
    assert codes(create_user(api, alpha, "admin", email="boss@alpha.test", role="SUPER_ADMIN")) == ["FORBIDDEN"]
    assert create_user(api, alpha, "super_admin", email="boss@alpha.test", role="SUPER_ADMIN")["data"]["createUser"]
    assert codes(create_user(api, alpha, "admin", email="not-an-email")) == ["VALIDATION_FAILED"]
    assert codes(create_user(api, alpha, "admin", email="short@alpha.test", password="short")) == ["VALIDATION_FAILED"]
    assert codes(create_user(api, alpha, "admin", email="admin@alpha.test")) == ["CONFLICT"]


def test_tenants_for_super_admins_only(api: Api, tenants: tuple[Tenant, Tenant]) -> None:
    alpha, _ = tenants
    listed = api.gql(TENANTS, tenant=alpha, role="super_admin")["data"]["tenants"]
    assert {"alpha", "beta"} <= {t["slug"] for t in listed}
    assert codes(api.gql(TENANTS, tenant=alpha, role="admin")) == ["FORBIDDEN"]
    assert codes(api.gql(TENANTS, tenant=alpha)) == ["UNAUTHENTICATED"]


def test_create_tenant_with_its_first_admin(api: Api, tenants: tuple[Tenant, Tenant]) -> None:
    alpha, _ = tenants
    request = {"slug": "gamma", "name": "Gamma", "adminEmail": "owner@gamma.test", "adminPassword": PASSWORD}
    made = api.gql(CREATE_TENANT, {"input": request}, tenant=alpha, role="super_admin")["data"]["createTenant"]
    assert made["slug"] == "gamma" and made["name"] == "Gamma"
    gamma = Tenant("gamma", None, {})
    assert sign_in(api, gamma, "owner@gamma.test")["data"]["signIn"]["user"]["role"] == "ADMIN"

    def refused(role: str, **fields: Any) -> list[str]:
        return codes(api.gql(CREATE_TENANT, {"input": {**request, **fields}}, tenant=alpha, role=role))

    assert refused("admin", slug="delta") == ["FORBIDDEN"]
    assert refused("super_admin", slug="Not A Slug") == ["VALIDATION_FAILED"]
    assert refused("super_admin", slug="delta", adminPassword=None) == ["VALIDATION_FAILED"]
    assert refused("super_admin") == ["CONFLICT"]


def test_account_mutations_check_the_permission_before_hashing(db: Database, tenants: tuple[Tenant, Tenant]) -> None:
    """With the hashing queue full, a caller without the permission is told FORBIDDEN, not RATE_LIMITED: no
    argon2 work is spent (or queued) for someone who may not create the account."""
    alpha, _ = tenants
    with Api(db) as fresh:
        assert fresh.platform.auth is not None
        fresh.platform.auth.hashing.max_waiting = 0  # saturated: any hash would be refused
        assert codes(create_user(fresh, alpha, "manager", email="m2@alpha.test")) == ["FORBIDDEN"]
        made = fresh.gql(
            CREATE_TENANT,
            {"input": {"slug": "gamma", "name": "G", "adminEmail": "a@g.test", "adminPassword": PASSWORD}},
            tenant=alpha,
            role="admin",
        )
        assert codes(made) == ["FORBIDDEN"]
        assert codes(create_user(fresh, alpha, "admin", email="m2@alpha.test")) == ["RATE_LIMITED"]
