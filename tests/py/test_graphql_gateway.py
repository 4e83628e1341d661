"""The gateway's guards and conveniences: every limit with its code, persisted queries, introspection only
where configured, error masking, and the planner answering exactly like graphql-core."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from graphql import ExecutionResult, execute

from rustok.db import Database
from rustok.graphql.executor import format_result
from rustok.graphql.fields import SqlField
from rustok.graphql.plan import compile_plan
from rustok.modules import ModuleRegistry, RusToKModule
from tests.py.graphql_support import Api, Tenant, changed_limits, codes, make_tenant

# A module that exists only in these tests: fields that are slow, fail in SQL, or fail in Python.
PROBE = RusToKModule(
    slug="probe",
    name="Probe",
    description="test fields",
    version="1.0",
    graphql_sdl="extend type Query { slow: String  manyRows: Int  broken: String  probeEnabled: Boolean! }",
    resolvers={
        "Query.slow": SqlField("(select 'late' from pg_sleep(0.3))"),
        # more than one row where one value belongs (SQLSTATE 21000): a bug, not bad input (22xxx is VALIDATION_FAILED)
        "Query.manyRows": SqlField("(select n from (values (1), (2)) v (n) where n > 0)::int"),
        "Query.broken": lambda root, info: 1 / 0,
        "Query.probeEnabled": SqlField("(rustok.require_module('probe')::text = '')"),
    },
)


@pytest.fixture(scope="module")
def tenant(db: Database) -> Tenant:
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        conn.execute("select rustok._register_module('probe', 'Probe', '', '1.0', '{}')")
    return make_tenant(db, "gate")


@pytest.fixture(scope="module")
def api(db: Database, tenant: Tenant) -> Iterator[Api]:
    with Api(db, ModuleRegistry([PROBE])) as api:
        yield api


@pytest.fixture
def limits(api: Api) -> Iterator[Any]:
    with changed_limits(api) as change:
        yield change


def test_depth_limit(api: Api, tenant: Tenant, limits: Any) -> None:
    limits(max_depth=3)
    body = api.gql("{ users { edges { node { id } } } }", tenant=tenant, role="admin")
    assert codes(body) == ["QUERY_TOO_DEEP"] and body["errors"][0]["extensions"]["details"] == {"limit": 3, "found": 4}
    assert "errors" not in api.gql("{ users { edges { cursor } } }", tenant=tenant, role="admin")


def test_aliases_are_counted_after_expanding_fragments(api: Api, tenant: Tenant, limits: Any) -> None:
    limits(max_aliases=20)
    fragment = "fragment F on Query { " + " ".join(f"a{i}: tenant {{ id }}" for i in range(5)) + " }"
    spreads = " ".join(["...F"] * 5)
    assert codes(api.gql(f"{{ {spreads} }} {fragment}", tenant=tenant)) == ["TOO_MANY_ALIASES"]
    assert "errors" not in api.gql(f"{{ ...F }} {fragment}", tenant=tenant)


def test_cost_limit_multiplies_by_page_size(api: Api, tenant: Tenant, limits: Any) -> None:
    limits(max_cost=50)
    query = "query($n: Int) { users(first: $n) { edges { node { id email } } } }"
    assert codes(api.gql(query, {"n": 100}, tenant=tenant, role="admin")) == ["QUERY_TOO_COMPLEX"]
    assert "errors" not in api.gql(query, {"n": 5}, tenant=tenant, role="admin")


def test_token_limit(api: Api, tenant: Tenant, limits: Any) -> None:
    limits(max_tokens=50)
    query = "{ " + " ".join("__typename" for _ in range(60)) + " }"
    assert codes(api.gql(query, tenant=tenant)) == ["TOO_MANY_TOKENS"]


def test_operations_per_request(api: Api, tenant: Tenant, limits: Any) -> None:
    limits(max_operations=3)
    batch = [{"query": "{ tenant { slug } }"}] * 4
    response = api.client.post("/graphql", json=batch, headers={"x-tenant": tenant.slug})
    assert response.status_code == 400 and codes(response.json()) == ["TOO_MANY_OPERATIONS"]
    response = api.client.post("/graphql", json=batch[:3], headers={"x-tenant": tenant.slug})
    assert response.json() == [{"data": {"tenant": {"slug": "gate"}}}] * 3


def test_body_size_and_malformed_input_are_refused_before_the_database(api: Api, tenant: Tenant) -> None:
    huge = b'{"query": "' + b" " * 300_000 + b'{ tenant { id } }"}'
    response = api.client.post("/graphql", content=huge, headers={"content-type": "application/json"})
    assert response.status_code == 413 and codes(response.json()) == ["PAYLOAD_TOO_LARGE"]
    response = api.client.post("/graphql", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400 and codes(response.json()) == ["BAD_REQUEST"]
    assert codes(api.gql("{ tenant { id ", tenant=tenant)) == ["BAD_REQUEST"]
    assert codes(api.gql("{ nonsense }", tenant=tenant)) == ["GRAPHQL_VALIDATION_FAILED"]
    response = api.client.post("/graphql", json={"query": "{ tenant { id } }", "variables": [1]})
    assert codes(response.json()) == ["BAD_REQUEST"]


def test_execution_time_limit(api: Api, tenant: Tenant, limits: Any) -> None:
    limits(timeout_seconds=0.05)
    assert codes(api.gql("{ slow }", tenant=tenant)) == ["TIMEOUT"]


def test_unexpected_errors_are_masked_with_a_request_id(api: Api, tenant: Tenant) -> None:
    for field in ("manyRows", "broken"):
        body = api.gql(f"{{ {field} }}", tenant=tenant)
        error = body["errors"][0]
        assert error["extensions"]["code"] == "INTERNAL" and error["message"] == "internal error"
        assert error["extensions"]["requestId"] and "division" not in str(body) and "select" not in str(body)


def test_a_disabled_module_answers_module_disabled(api: Api, tenant: Tenant, db: Database) -> None:
    assert api.gql("{ probeEnabled }", tenant=tenant)["data"] == {"probeEnabled": True}
    api.gql('mutation { disableModule(slug: "probe") { slug } }', tenant=tenant, role="admin")
    assert codes(api.gql("{ probeEnabled }", tenant=tenant)) == ["MODULE_DISABLED"]
    api.gql('mutation { enableModule(slug: "probe") { slug } }', tenant=tenant, role="admin")


def test_automatic_persisted_queries(api: Api, tenant: Tenant) -> None:
    query = "{ tenant { slug } }"
    digest = hashlib.sha256(query.encode()).hexdigest()
    ext = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    headers = {"x-tenant": tenant.slug}
    first = api.client.post("/graphql", json={"extensions": ext}, headers=headers).json()
    assert codes(first) == ["PERSISTED_QUERY_NOT_FOUND"]
    registered = api.client.post("/graphql", json={"query": query, "extensions": ext}, headers=headers).json()
    assert registered == {"data": {"tenant": {"slug": "gate"}}}
    assert api.client.post("/graphql", json={"extensions": ext}, headers=headers).json() == registered
    wrong = {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}
    assert codes(api.client.post("/graphql", json={"query": query, "extensions": wrong}).json()) == ["BAD_REQUEST"]


def test_introspection_only_where_configured(db: Database, api: Api, tenant: Tenant) -> None:
    assert codes(api.gql("{ __schema { queryType { name } } }")) == ["INTROSPECTION_DISABLED"]
    assert api.gql("{ __typename }")["data"] == {"__typename": "Query"}
    with Api(db, dev=True) as dev:
        assert dev.gql("{ __schema { queryType { name } } }")["data"] == {"__schema": {"queryType": {"name": "Query"}}}
        assert dev.client.get("/graphql").status_code == 200
    assert api.client.get("/graphql").status_code == 400


@pytest.mark.parametrize(
    ("query", "variables", "role"),
    [
        ("{ tenant { id slug name isActive settings createdAt } modules { slug enabled } }", {}, None),
        ("{ me { ...U } } fragment U on User { id email role status displayName __typename }", {}, "manager"),
        (
            "query($n: Int) { a: users(first: $n) { edges { cursor node { email role } } "
            "pageInfo { hasNextPage endCursor } } }",
            {"n": 2},
            "admin",
        ),
        ("{ users { edges { node { id } } } }", {}, "customer"),  # an error: the plan declines, same answer
        ("{ me { id } tenant { slug } }", {}, None),
        ("query($n: Int!) { users(first: $n) { pageInfo { hasNextPage } } }", {"n": "x"}, "admin"),
    ],
)
def test_the_plan_answers_exactly_like_graphql_core(
    api: Api, tenant: Tenant, query: str, variables: dict[str, Any], role: str | None
) -> None:
    executor = api.platform.graphql
    planned = api.gql(query, variables, tenant=tenant, role=role)
    prepared = executor.documents.peek(query)
    assert compile_plan(executor.schema, prepared.operation(None), prepared.fragments) is not None
    context = {"services": api.services, "ctx": None}
    ctx = api.client.portal.call(
        api.services.tenants.resolve,
        f"Bearer {api.token(tenant, role)}" if role else None,
        None if role else tenant.slug,
        "rid",
    )
    context["ctx"] = ctx

    async def general() -> ExecutionResult:
        result = execute(executor.schema, prepared.document, context_value=context, variable_values=variables)
        return await result if not isinstance(result, ExecutionResult) else result

    reference = format_result(api.client.portal.call(general), "rid")
    assert _without_request_ids(planned) == _without_request_ids(reference)


def _without_request_ids(body: dict[str, Any]) -> dict[str, Any]:
    errors = [{**e, "extensions": {**e["extensions"], "requestId": "-"}} for e in body.get("errors", [])]
    return {**body, "errors": errors}


def test_variables_that_do_not_coerce_are_bad_requests(api: Api, tenant: Tenant) -> None:
    mutation = "mutation($id: ID!, $role: Role!) { setUserRole(userId: $id, role: $role) { id } }"
    body = api.gql(mutation, {"id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "role": "EMPEROR"}, tenant=tenant, role="admin")
    assert codes(body) == ["BAD_REQUEST"]
    body = api.gql(
        "query($n: Int) { users(first: $n) { edges { cursor } } }", {"n": "many"}, tenant=tenant, role="admin"
    )
    assert codes(body) == ["BAD_REQUEST"]
