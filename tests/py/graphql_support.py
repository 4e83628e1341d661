"""Shared set-up for GraphQL tests: two tenants with users of each role, tokens, and a client."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import psycopg
from starlette.testclient import TestClient

from rustok.app import create_app
from rustok.config import Settings
from rustok.db import Database
from rustok.ids import parse_id
from rustok.modules import ModuleRegistry, installed_registry


@dataclass
class Tenant:
    slug: str
    id: Any
    users: dict[str, Any]  # role -> user id


def make_tenant(db: Database, slug: str) -> Tenant:
    """A tenant with one user of each role (created as an operator)."""
    with psycopg.connect(db.admin_url) as conn:
        tenant = parse_id(
            conn.execute("select rustok.create_tenant(%s, %s) ->> 'id'", (slug, slug.title())).fetchone()[0]
        )
        conn.execute("select rustok.set_context(%s)", (tenant,))
        users = {}
        for role in ("super_admin", "admin", "manager", "customer"):
            users[role] = conn.execute(
                "select rustok._insert_user(%s, 'x-hash', %s)", (f"{role}@{slug}.test", role)
            ).fetchone()[0]
    return Tenant(slug, tenant, users)


class Api:
    """A TestClient with helpers for GraphQL as a given user of a given tenant."""

    def __init__(self, db: Database, registry: ModuleRegistry | None = None, **settings: Any) -> None:
        self.app = create_app(db, registry or installed_registry(), Settings(**settings))
        self.client = TestClient(self.app)
        self.services = self.app.state.services
        self.platform = self.app.state.platform  # the composition root (rustok/platform.py)

    def __enter__(self) -> Api:
        self.client.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.client.__exit__(*exc)

    def token(self, tenant: Tenant, role: str) -> str:
        return str(self.services.tokens.issue(tenant.id, tenant.users[role], role))

    def gql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        tenant: Tenant | None = None,
        role: str | None = None,
        headers: dict[str, str] | None = None,
        status: int = 200,
    ) -> dict[str, Any]:
        sent = dict(headers or {})
        if tenant is not None and role is not None:
            sent["authorization"] = f"Bearer {self.token(tenant, role)}"
        elif tenant is not None:
            sent["x-tenant"] = tenant.slug
        response = self.client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=sent)
        assert response.status_code == status, response.text
        body: dict[str, Any] = response.json()
        return body


def data(body: dict[str, Any]) -> Any:
    """The answer's data, after asserting it carries no error."""
    assert "errors" not in body, body["errors"]
    return body["data"]


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


@contextlib.contextmanager
def changed_limits(api: Api) -> Iterator[Callable[..., None]]:
    """A setter of the API's GraphQL limits (`change(max_depth=3)`); the limits are restored afterwards."""
    executor = api.platform.graphql
    original = executor.limits
    try:
        yield lambda **changes: setattr(executor, "limits", replace(original, **changes))
    finally:
        executor.limits = original
