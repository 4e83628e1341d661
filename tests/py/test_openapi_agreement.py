"""/openapi.json and the endpoints agree (issue 13, point 9): the places where they disagreed — found by
schemathesis' conformance checks (tests/py/test_fuzz.py keeps running them) and by reading — each as a request
whose answer must be documented, status and body, by the document the server serves."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from starlette.testclient import TestClient

from rustok.app import create_app
from rustok.config import Settings
from rustok.db import Database
from rustok.modules import installed_registry
from tests.py.graphql_support import make_tenant

UNKNOWN_TENANT = {"x-tenant": "no-such-shop"}


@pytest.fixture(scope="module")
def client(db: Database) -> Iterator[TestClient]:
    make_tenant(db, "agree")
    with TestClient(create_app(db, installed_registry(), Settings(jwt_secret="s" * 40))) as client:
        yield client


@pytest.fixture(scope="module")
def document(client: TestClient) -> dict[str, Any]:
    answer: dict[str, Any] = client.get("/openapi.json").json()
    return answer


def conforms(document: dict[str, Any], path: str, method: str, response: Any) -> None:
    """Raises when the status is not documented for the operation or the body does not match its schema."""
    operation = schemathesis.openapi.from_dict(document)[path][method.upper()]
    operation.validate_response(response)


JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("method", "path", "request_args", "status"),
    [
        # GraphQL over HTTP: refusals are {"errors": [...]}, not REST's {"error": {...}}
        ("post", "/graphql", {"content": b"", "headers": JSON}, 400),
        ("post", "/graphql", {"content": b'{"query": "{ me { id } }"', "headers": JSON}, 400),
        # only JSON: the types a browser sends cross-site without a preflight are refused (CSRF), and none
        ("post", "/graphql", {"content": b'{"query": "{ me { id } }"', "headers": {"content-type": "text/plain"}}, 415),
        ("post", "/graphql", {"data": {"query": "{ me { id } }"}}, 415),
        (
            "post",
            "/graphql",
            {"content": b"--x--", "headers": {"content-type": "multipart/form-data; boundary=x"}},
            415,
        ),
        ("post", "/graphql", {"content": b'{"query": "{ me { id } }"'}, 415),
        (
            "post",
            "/graphql",
            {
                "content": b'{"query": "{ tenant { slug } }"}',
                "headers": {"content-type": "application/graphql-response+json", "x-tenant": "agree"},
            },
            200,
        ),
        # a body that is not a GraphQL-over-HTTP request is refused as such (it was a 200)
        ("post", "/graphql", {"json": {"query": 5}}, 400),
        ("post", "/graphql", {"json": {"query": "{ me { id } }", "variables": [1]}}, 400),
        ("post", "/graphql", {"json": "{ me { id } }"}, 400),
        # a batch answers a list
        ("post", "/graphql", {"json": [{"query": "{ me { id } }"}, {"query": "{ tenant { slug } }"}]}, 200),
        ("post", "/graphql", {"json": []}, 400),
        # request-level refusals with their own status (undocumented before)
        ("post", "/graphql", {"json": {"query": "{ me { id } }"}, "headers": UNKNOWN_TENANT}, 404),
        ("post", "/graphql", {"json": {"query": "{ me { id } }"}, "headers": {"authorization": "Bearer x"}}, 401),
        # GET /graphql was not in the document at all
        ("get", "/graphql", {"params": {"query": "{ me { id } }"}, "headers": {"x-tenant": "agree"}}, 200),
        ("get", "/graphql", {}, 400),
        ("get", "/graphql", {"params": {"query": "{ me { id } }", "variables": "5"}}, 400),
        ("get", "/graphql", {"params": {"query": 'mutation { signOut(refreshToken: "x") }'}}, 405),
        # X-Tenant naming no tenant: 404, on every operation that reads it
        ("post", "/api/auth/refresh", {"json": {"refreshToken": "x"}, "headers": UNKNOWN_TENANT}, 404),
        ("post", "/api/auth/logout", {"headers": UNKNOWN_TENANT}, 404),
        ("get", "/api/auth/me", {"headers": UNKNOWN_TENANT}, 404),
        # the event stream's parameters and refusals
        ("get", "/api/events", {"headers": {"last-event-id": "not-an-id"}}, 400),
        ("get", "/api/events", {"params": {"types": "lower-case"}}, 422),
        ("get", "/api/events", {"headers": UNKNOWN_TENANT}, 404),
        ("get", "/api/events", {"headers": {"x-tenant": "agree"}}, 401),
    ],
)
def test_each_answer_is_documented(
    client: TestClient, document: dict[str, Any], method: str, path: str, request_args: dict[str, Any], status: int
) -> None:
    response = client.request(method, path, **request_args)
    assert response.status_code == status, response.text
    conforms(document, path, method, response)


def test_a_method_not_served_is_told_every_documented_one(client: TestClient, document: dict[str, Any]) -> None:
    response = client.request("OPTIONS", "/graphql")
    assert response.status_code == 405
    assert {"GET", "POST"} <= {m.strip() for m in response.headers["allow"].split(",")}
    assert set(document["paths"]["/graphql"]) == {"get", "post"}


@pytest.mark.parametrize(
    ("model", "path", "field", "values"),
    [
        # Python's \\s, JSON Schema's and PostgreSQL's differ: a pattern that names its characters means the same
        # to the document, pydantic and the SQL rule (a tab before the address passed pydantic, then SQL refused)
        ("RegisterRequest", "/api/auth/register", "email",
         ["ada@example.com", " ada@example.com ", "\tada@example.com", "ada@exam\u0085ple.com", "ada\u3000@x.io",
          "josé@example.com", "a@b", "a b@c.io", "ada@x.io\u0000"]),
        ("RegisterRequest", "/api/auth/register", "displayName", ["Ada", "", "Ada\u0000"]),
        ("LoginRequest", "/api/auth/login", "email", ["ada@example.com", "   ", " x ", "x\u0000"]),
    ],
)  # fmt: skip
def test_the_document_accepts_what_the_server_accepts(
    client: TestClient, document: dict[str, Any], model: str, path: str, field: str, values: list[str]
) -> None:
    schema = {**document["components"]["schemas"][model], "components": document["components"]}
    validator = jsonschema_rs.validator_for(schema)  # "#/components/…" references resolve inside it
    body = {"email": "grace@example.com", "password": "correct horse battery", "tenant": "agree"}
    for number, value in enumerate(values):
        sent = body | {field: value}
        if field != "email":
            sent["email"] = f"user{number}@{field.lower()}.example.com"
        answer = client.post(path, json=sent)
        server_accepts = answer.status_code not in (400, 422)  # 201, or for a login 401: it got past validation
        assert validator.is_valid(sent) == server_accepts, (value, answer.status_code, answer.text)
