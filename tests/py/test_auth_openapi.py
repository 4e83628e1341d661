"""GET /openapi.json is an OpenAPI 3.1 document generated from the DTOs; GET /swagger serves Swagger UI from
the installed package (nothing from a CDN) reading a 3.0 rendering of the same document."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from rustok.app import create_app
from rustok.auth.schemas import RegisterRequest
from rustok.config import Settings
from rustok.db import Database
from rustok.modules import installed_registry

AUTH_PATHS = {"/api/auth/register", "/api/auth/login", "/api/auth/refresh", "/api/auth/logout", "/api/auth/me"}


@pytest.fixture(scope="module")
def client(db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(db, installed_registry(), Settings(jwt_secret="s" * 40))) as client:
        yield client


@pytest.fixture(scope="module")
def document(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def test_document_covers_the_endpoints(document: dict[str, Any], client: TestClient) -> None:
    assert document["openapi"] == "3.1.0"
    assert {"title", "version"} <= document["info"].keys()
    assert AUTH_PATHS | {"/health/live", "/health/ready", "/graphql", "/api/events"} <= document["paths"].keys()
    for path in AUTH_PATHS | {"/health/live", "/health/ready"}:
        for method, operation in document["paths"][path].items():
            assert client.request(method, path).status_code not in (404, 405), (method, path)  # the app serves it
            assert operation["responses"] and operation["operationId"]


def test_every_reference_resolves_into_components(document: dict[str, Any]) -> None:
    found = set(refs(document))
    assert found
    for ref in found:
        assert resolve(document, ref) is not None
    schemas = document["components"]["schemas"]
    assert {"RegisterRequest", "LoginRequest", "RefreshRequest", "LogoutRequest", "AuthResponse", "UserResponse",
            "ErrorResponse"} <= schemas.keys()  # fmt: skip
    assert not any("$defs" in schema for schema in schemas.values())


def test_schemas_are_the_dtos_in_camel_case(document: dict[str, Any]) -> None:
    register = document["paths"]["/api/auth/register"]["post"]
    assert register["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RegisterRequest"
    }
    assert "201" in register["responses"] and "422" in register["responses"]
    assert document["components"]["schemas"]["RegisterRequest"]["properties"].keys() == (
        RegisterRequest.model_json_schema()["properties"].keys()
    )
    assert {"accessToken", "refreshToken", "expiresIn", "user"} == set(
        document["components"]["schemas"]["AuthResponse"]["required"]
    )
    assert document["paths"]["/api/auth/me"]["get"]["security"][0] == {"bearerAuth": []}


def test_swagger_ui_is_served_locally(client: TestClient) -> None:
    page = client.get("/swagger")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert "/swagger/static/swagger-ui-bundle.js" in assets
    for asset in assets:
        assert asset.startswith("/swagger/")  # nothing from another host
        response = client.get(asset)
        assert response.status_code == 200, asset
    bundle = client.get("/swagger/static/swagger-ui-bundle.js")
    assert "javascript" in bundle.headers["content-type"] and len(bundle.content) > 500_000
    init = client.get("/swagger/init.js").text
    assert "http" not in init and "validatorUrl: null" in init


def test_swagger_reads_an_openapi_30_rendering(client: TestClient, document: dict[str, Any]) -> None:
    """Swagger UI 4 renders only 3.0.n documents; the 3.0 view has the same paths without 3.1 idioms."""
    init = client.get("/swagger/init.js").text
    url = re.search(r'url: "([^"]+)"', init)
    assert url is not None
    legacy = client.get(url.group(1)).json()
    assert legacy["openapi"] == "3.0.3"
    assert legacy["paths"].keys() == document["paths"].keys()
    text = str(legacy)
    assert "'null'" not in text and "'const'" not in text
    assert legacy["components"]["schemas"]["UserResponse"]["properties"]["displayName"] == {
        "type": "string",
        "title": "Displayname",
        "nullable": True,
    }
