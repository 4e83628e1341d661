"""Introspection works where it is meant to (issue 13, point 12), and nowhere else tells the schema (point 11):
with RUSTOK_DEV=1 the standard introspection query of GraphiQL, graphql-codegen and Apollo is answered, while
introspection nested to blow up is refused; with introspection off, no error suggests a name ("Did you
mean …"), whatever kind of error it is."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from graphql import build_client_schema, get_introspection_query

from rustok.db import Database
from tests.py.graphql_support import Api, Tenant, codes, make_tenant


@pytest.fixture(scope="module")
def tenant(db: Database) -> Tenant:
    return make_tenant(db, "intro")


@pytest.fixture(scope="module")
def dev(db: Database) -> Iterator[Api]:
    with Api(db, dev=True) as api:
        yield api


@pytest.fixture(scope="module")
def prod(db: Database) -> Iterator[Api]:
    with Api(db) as api:
        yield api


@pytest.mark.parametrize(
    "options",
    [
        {},
        {
            "descriptions": True,
            "specified_by_url": True,
            "directive_is_repeatable": True,
            "schema_description": True,
            "input_value_deprecation": True,
        },
    ],
    ids=["default", "every-option"],
)
def test_the_standard_introspection_query_is_answered_in_dev(dev: Api, options: dict[str, bool]) -> None:
    body = dev.gql(get_introspection_query(**options))
    assert "errors" not in body, body["errors"]
    schema = build_client_schema(body["data"])  # what a client generator does with it
    assert schema.query_type is not None and "products" in schema.query_type.fields


def test_introspection_nested_to_blow_up_is_refused_in_dev(dev: Api) -> None:
    nested = "name"
    for _ in range(4):
        nested = f"fields {{ type {{ {nested} }} }}"
    assert codes(dev.gql(f'{{ __type(name: "Query") {{ {nested} }} }}')) == ["QUERY_TOO_DEEP"]
    via_fragments = (
        "{ __schema { types { ...T } } } fragment T on __Type { fields { type { ...U } } } "
        "fragment U on __Type { fields { type { interfaces { name } } } }"
    )
    assert codes(dev.gql(via_fragments)) == ["QUERY_TOO_DEEP"]
    doubled = "{ __schema { ...S0 } } " + " ".join(
        f"fragment S{i} on __Schema {{ ...S{i + 1} ...S{i + 1} }}" for i in range(30)
    )
    assert codes(dev.gql(doubled + " fragment S30 on __Schema { types { name } }")) == ["QUERY_TOO_COMPLEX"]


def test_introspection_is_refused_where_it_is_off(prod: Api) -> None:
    assert codes(prod.gql(get_introspection_query())) == ["INTROSPECTION_DISABLED"]


# Each kind of error whose graphql-core message can suggest a name: (query, variables, a name it would suggest).
MISTAKES: list[tuple[str, dict[str, Any], str]] = [
    ("{ tenantt { id } }", {}, "tenant"),  # field
    ("{ tenant { slugg } }", {}, "slug"),  # field on an object type
    ("{ users(frist: 1) { totalCount } }", {}, "first"),  # argument
    ("{ tenant @include(iff: true) { id } }", {}, "if"),  # a directive's argument
    ("{ tenant }", {}, "tenant { ... }"),  # a field that needs a selection (ScalarLeafsRule)
    ("{ ...on Quer { __typename } }", {}, "Query"),  # a fragment's type condition
    ("query($r: Rol) { users(first: $r) { totalCount } }", {}, "Role"),  # type
    ('mutation { setUserRole(userId: "x", role: ADMN) { id } }', {}, "ADMIN"),  # enum value (literal)
    ('mutation($r: Role!) { setUserRole(userId: "x", role: $r) { id } }', {"r": "ADMN"}, "ADMIN"),  # variable
    ('mutation { createUser(input: {email: "a@b.c", password: "x", emial: "y"}) { id } }', {}, "email"),  # input field
    (
        "mutation($i: CreateUserRequest!) { createUser(input: $i) { id } }",
        {"i": {"email": "a@b.c", "password": "x", "passwrd": "x"}},
        "password",
    ),  # input field (variable)
]


@pytest.mark.parametrize(("query", "variables", "name"), MISTAKES)
def test_no_error_suggests_a_name_where_introspection_is_off(
    prod: Api, tenant: Tenant, query: str, variables: dict[str, Any], name: str
) -> None:
    body = prod.gql(query, variables, tenant=tenant, role="admin")
    assert body.get("errors"), body
    assert "did you mean" not in _messages(body).lower()


def test_errors_do_suggest_names_in_dev(dev: Api, tenant: Tenant) -> None:
    """The same mistakes with introspection on: the suggestions are there (so the test above can fail)."""
    suggested = 0
    for query, variables, name in MISTAKES:
        message = _messages(dev.gql(query, variables, tenant=tenant, role="admin"))
        suggested += "Did you mean" in message and f"'{name}'" in message
    assert suggested == len(MISTAKES)


def _messages(body: dict[str, Any]) -> str:
    """Every message a client reads: the errors' and those listed in their details."""
    errors = body.get("errors", [])
    listed = [m for e in errors for m in e.get("extensions", {}).get("details", {}).get("errors", [])]
    return "\n".join([e["message"] for e in errors] + listed)
