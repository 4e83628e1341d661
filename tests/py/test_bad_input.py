"""Bad input is never INTERNAL (issue 13, point 9): the whole data-exception class (SQLSTATE 22xxx) is
VALIDATION_FAILED; every custom GraphQL scalar refuses what it cannot be before any SQL runs, naming the field;
JSON nests at most 32 levels wherever it enters (GraphQL JSON values, REST bodies): JSON_TOO_DEEP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import psycopg
import pytest
from graphql import GraphQLScalarType

from rustok import errors
from rustok.db import Database
from tests.py.graphql_support import Api, Tenant, codes, make_tenant

CREATE_NODE = "mutation($input: CreateNodeRequest!) { createNode(input: $input) { id publishedAt metadata } }"
PUBLISH = "mutation($id: ID!, $at: DateTime) { publishNode(id: $id, at: $at) { id publishedAt } }"
BAD_OFFSET = "2030-01-01T09:00:00+99:00"


@pytest.fixture(scope="module")
def tenant(db: Database) -> Tenant:
    return make_tenant(db, "inputs")


@pytest.fixture(scope="module")
def api(db: Database) -> Iterator[Api]:
    with Api(db) as api:
        yield api


def post_raw(api: Api, tenant: Tenant, body: bytes) -> dict[str, Any]:
    """A GraphQL request sent as these bytes (JSON too deep for the test client's own encoder)."""
    headers = {"authorization": f"Bearer {api.token(tenant, 'admin')}", "content-type": "application/json"}
    response = api.client.post("/graphql", content=body, headers=headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def nested(levels: int) -> bytes:
    return b"[" * levels + b"1" + b"]" * levels


def error(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("errors"), body
    first: dict[str, Any] = body["errors"][0]["extensions"]
    return first


@pytest.mark.parametrize(
    "statement",
    [
        f"select '{BAD_OFFSET}'::timestamptz",  # 22009 invalid_time_zone_displacement_value
        "select 1 / 0",  # 22012 division_by_zero
        "select 'x' ~ '('",  # 2201B invalid_regular_expression
        "select '2030-13-01'::date",  # 22008 datetime_field_overflow
        "select 'abc'::int",  # 22P02 invalid_text_representation
    ],
)
def test_every_data_exception_is_validation_failed_without_the_value(db: Database, statement: str) -> None:
    with psycopg.connect(db.admin_url, autocommit=True) as conn, pytest.raises(psycopg.Error) as caught:
        conn.execute(statement)
    assert (caught.value.sqlstate or "").startswith("22")
    mapped = errors.from_database_error(caught.value)
    assert type(mapped) is errors.ValidationFailed
    assert "99" not in mapped.message and "(" not in mapped.message


def test_an_offset_out_of_range_is_validation_failed_naming_the_field(api: Api, tenant: Tenant) -> None:
    post = {"kind": "POST", "title": "Offsets", "status": "PUBLISHED", "publishedAt": BAD_OFFSET}
    body = api.gql(CREATE_NODE, {"input": post}, tenant=tenant, role="admin")
    assert error(body)["code"] == "VALIDATION_FAILED"
    assert error(body)["details"]["field"] == "publishedAt"

    draft = api.gql(CREATE_NODE, {"input": {"kind": "POST", "title": "Draft"}}, tenant=tenant, role="admin")
    node_id = draft["data"]["createNode"]["id"]
    for at in (BAD_OFFSET, "2030-01-01T09:00:00-16:00", {"not": "a date"}, 20300101):
        body = api.gql(PUBLISH, {"id": node_id, "at": at}, tenant=tenant, role="admin")
        assert (error(body)["code"], error(body)["details"]["field"]) == ("VALIDATION_FAILED", "at"), at
    literal = f'mutation {{ publishNode(id: "{node_id}", at: "{BAD_OFFSET}") {{ id }} }}'
    body = api.gql(literal, tenant=tenant, role="admin")
    assert (error(body)["code"], error(body)["details"]["field"]) == ("VALIDATION_FAILED", "at")

    edge = api.gql(PUBLISH, {"id": node_id, "at": "2030-01-01T09:00:00+15:59"}, tenant=tenant, role="admin")
    assert edge["data"]["publishNode"]["publishedAt"].startswith("2029-12-31T17:01:00")


def test_sql_refuses_the_offset_itself_for_psql_users(db: Database, tenant: Tenant) -> None:
    with psycopg.connect(db.admin_url, autocommit=True) as conn, pytest.raises(psycopg.Error) as caught:
        conn.execute("select rustok._input_instant(to_jsonb(%s::text), 'publishedAt')", (BAD_OFFSET,))
    mapped = errors.from_database_error(caught.value)
    assert (mapped.code, mapped.details) == ("VALIDATION_FAILED", {"field": "publishedAt", "reason": "format"})


def test_json_nested_1000_levels_is_json_too_deep_not_internal(api: Api, tenant: Tenant) -> None:
    for levels in (1000, 33):
        variables = b'{"input": {"kind": "POST", "title": "Deep", "metadata": {"a": ' + nested(levels) + b"}}}"
        body = post_raw(api, tenant, b'{"query": ' + orjson.dumps(CREATE_NODE) + b', "variables": ' + variables + b"}")
        assert error(body)["code"] == "JSON_TOO_DEEP", body
        assert error(body)["details"]["limit"] == 32
        assert error(body)["details"]["field"].startswith("metadata.a[0]")
    literal = (
        'mutation { createNode(input: {kind: POST, title: "Deep", metadata: '
        + "[" * 40
        + "1"
        + "]" * 40
        + "}) { id } }"
    )
    body = api.gql(literal, tenant=tenant, role="admin")
    assert error(body)["code"] == "JSON_TOO_DEEP"
    assert error(body)["details"]["field"].startswith("metadata[0]")

    deepest: Any = 1
    for _ in range(31):  # with the object around it: 32 levels, the most allowed
        deepest = [deepest]
    body = api.gql(
        CREATE_NODE, {"input": {"kind": "POST", "title": "Deep", "metadata": {"a": deepest}}}, tenant, "admin"
    )
    assert body["data"]["createNode"]["metadata"] == {"a": deepest}


def test_every_custom_scalar_refuses_what_it_cannot_be(api: Api, tenant: Tenant) -> None:
    schema = api.platform.graphql.schema
    custom = [t for t in schema.type_map.values() if isinstance(t, GraphQLScalarType) and t.ast_node is not None]
    assert {t.name for t in custom} >= {"DateTime", "JSON", "MinorUnits"}
    for scalar in custom:
        if scalar.name != "JSON":
            with pytest.raises(errors.ValidationFailed):
                scalar.coerce_input_value({"an": "object"})
    price = "mutation($input: SetPriceRequest!) { setPrice(input: $input) { id } }"
    variables = {"input": {"variantId": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "currencyCode": "EUR", "amount": {"a": 1}}}
    body = api.gql(price, variables, tenant=tenant, role="admin")
    assert (error(body)["code"], error(body)["details"].get("field")) == ("VALIDATION_FAILED", "amount"), body


def test_rest_bodies_are_bounded_in_depth(api: Api, tenant: Tenant) -> None:
    for levels in (1000, 33):
        body = b'{"tenant": "inputs", "email": ' + nested(levels) + b', "password": "x"}'
        response = api.client.post("/api/auth/login", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "JSON_TOO_DEEP"
        assert response.json()["error"]["details"]["field"].startswith("email[0]")


def test_graphql_refusals_of_bad_input_carry_codes_never_internal(api: Api, tenant: Tenant) -> None:
    """What the fuzzer found reaching psycopg raw (an object for a DateTime argument) answers with a code."""
    bodies = [
        api.gql(
            'mutation { publishNode(id: "01ARZ3NDEKTSV4RRFFQ69G5FAV", at: {a: 1}) { id } }', tenant=tenant, role="admin"
        ),
        api.gql(PUBLISH, {"id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "at": [1, 2]}, tenant=tenant, role="admin"),
    ]
    for body in bodies:
        assert codes(body) == ["VALIDATION_FAILED"], body
