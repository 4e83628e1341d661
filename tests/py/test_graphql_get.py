"""GET /graphql runs query operations only, decided on the operation the parsed document selects (issue 13,
point 8): no prefix of the text (`#`, `,`, blanks) and no operationName gets a mutation or a subscription
through; they are refused with 405 before anything runs."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from rustok.db import Database
from tests.py.graphql_support import Api, Tenant, codes, make_tenant

DISABLE = 'mutation Off { disableModule(slug: "blog") { slug enabled } }'
READ = "query Read { modules { slug enabled } }"


@pytest.fixture(scope="module")
def api(db: Database) -> Iterator[Api]:
    with Api(db) as api:
        yield api


@pytest.fixture(scope="module")
def tenant(db: Database) -> Tenant:
    return make_tenant(db, "getter")


def _blog_enabled(db: Database, tenant: Tenant) -> bool:
    with psycopg.connect(db.admin_url) as conn:
        conn.execute("select rustok.set_context(%s)", (tenant.id,))
        row = conn.execute("select rustok.is_module_enabled('blog')").fetchone()
    assert row is not None
    return bool(row[0])


@pytest.mark.parametrize(
    ("query", "operation_name"),
    [
        (f"# a comment first\n{DISABLE}", None),
        (f",{DISABLE}", None),
        (f" \t\n,,{DISABLE}", None),
        (f"{READ} {DISABLE}", "Off"),  # the mutation chosen by operationName
        (f"{DISABLE} {READ}", "Off"),
        ("subscription { events { id } }", None),
        ("#x\nsubscription Live { events { id } }", "Live"),
    ],
)
def test_get_refuses_every_mutation_and_subscription(
    api: Api, tenant: Tenant, db: Database, query: str, operation_name: str | None
) -> None:
    params = {"query": query} | ({"operationName": operation_name} if operation_name else {})
    token = api.token(tenant, "admin")
    response = api.client.get("/graphql", params=params, headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 405 and codes(response.json()) == ["BAD_REQUEST"]
    assert response.json()["errors"][0]["extensions"]["details"]["operation"] in ("mutation", "subscription")
    assert _blog_enabled(db, tenant)


def test_get_runs_the_query_a_document_selects(api: Api, tenant: Tenant) -> None:
    headers = {"x-tenant": tenant.slug}
    for params in (
        {"query": f"# leading comment\n,{READ}"},
        {"query": f"{DISABLE} {READ}", "operationName": "Read"},
    ):
        response = api.client.get("/graphql", params=params, headers=headers)
        assert response.status_code == 200 and "errors" not in response.json(), response.text
        assert {"slug": "blog", "enabled": True} in response.json()["data"]["modules"]


def test_get_reports_a_document_it_cannot_prepare(api: Api, tenant: Tenant) -> None:
    headers = {"x-tenant": tenant.slug}
    response = api.client.get("/graphql", params={"query": f"{READ} {DISABLE}"}, headers=headers)
    assert codes(response.json()) == ["BAD_REQUEST"]  # two operations and none named
    response = api.client.get("/graphql", params={"query": "{ nope }"}, headers=headers)
    assert codes(response.json()) == ["GRAPHQL_VALIDATION_FAILED"]
