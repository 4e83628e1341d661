"""Bad input gets a code before the database is touched: malformed JSON 400, wrong shape 422 with
details.field, bodies over 64 KiB 413 (declared or streamed); tenants named inconsistently 403."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from rustok.api.schemas import ErrorResponse
from rustok.app import create_app
from rustok.config import Settings
from rustok.db import Database
from rustok.modules import installed_registry

GOOD = {"tenant": "acme", "email": "ada@example.com", "password": "correct horse battery"}


@pytest.fixture(scope="module")
def client(db: Database) -> Iterator[TestClient]:
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        conn.execute("select rustok.create_tenant('acme', 'Acme')")
        conn.execute("select rustok.create_tenant('globex', 'Globex')")
    with TestClient(create_app(db, installed_registry(), Settings(jwt_secret="s" * 40))) as client:
        yield client


def error(response: Any) -> tuple[int, str, Any]:
    body = ErrorResponse.model_validate(response.json())
    return response.status_code, body.error.code, body.error.details.get("field")


@pytest.mark.parametrize("path", ["/api/auth/register", "/api/auth/login", "/api/auth/refresh"])
def test_malformed_json_is_a_bad_request(client: TestClient, path: str) -> None:
    for raw in (b"{not json", b"", b"[1, 2]"):
        assert error(client.post(path, content=raw))[:2] == (400, "BAD_REQUEST")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({k: v for k, v in GOOD.items() if k != "email"}, "email"),
        ({**GOOD, "email": "not-an-email"}, "email"),
        ({**GOOD, "password": "short"}, "password"),
        ({**GOOD, "password": 12345678}, "password"),
        ({**GOOD, "tenant": "Not A Slug"}, "tenant"),
        ({**GOOD, "role": "admin"}, "role"),  # unknown fields are refused: nobody registers as admin
        ({k: v for k, v in GOOD.items() if k != "tenant"}, "tenant"),  # and no X-Tenant header either
    ],
)
def test_invalid_fields_name_the_field(client: TestClient, body: dict[str, Any], field: str) -> None:
    assert error(client.post("/api/auth/register", json=body)) == (422, "VALIDATION_FAILED", field)


def test_validation_errors_never_echo_the_password(client: TestClient) -> None:
    response = client.post("/api/auth/register", json={**GOOD, "password": "secret1"})
    assert response.status_code == 422
    assert "secret1" not in response.text


def test_refresh_and_logout_fields(client: TestClient) -> None:
    assert error(client.post("/api/auth/refresh", json={})) == (422, "VALIDATION_FAILED", "refreshToken")
    assert error(client.post("/api/auth/refresh", json={"refresh_token": "x"}))[:2] == (422, "VALIDATION_FAILED")
    logout = client.post("/api/auth/logout", json={"refreshToken": 1})
    assert error(logout) == (422, "VALIDATION_FAILED", "refreshToken")
    for garbage in ("x", "not-a-ulid.abc", "01ARZ3NDEKTSV4RRFFQ69G5FAV.tooshort"):
        response = client.post("/api/auth/refresh", json={"refreshToken": garbage})
        assert error(response)[:2] == (401, "UNAUTHENTICATED")
        assert response.json()["error"]["details"]["reason"] == "invalid"


def test_oversized_bodies_are_refused_before_the_database(client: TestClient) -> None:
    # an unknown tenant would be 404 if the database were asked
    huge = {**GOOD, "tenant": "no-such-tenant", "password": "x" * (70 * 1024)}
    assert error(client.post("/api/auth/register", json=huge))[:2] == (413, "PAYLOAD_TOO_LARGE")

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
        yield b'{"tenant": "no-such-tenant", "email": "a@b.cd", "password": "'
        for _ in range(80):
            yield b"x" * 1024
        yield b'"}'

    assert error(client.post("/api/auth/login", content=chunks()))[:2] == (413, "PAYLOAD_TOO_LARGE")
    assert error(client.post("/api/auth/login", content=b"{}", headers={"Content-Length": "abc"}))[:2] == (
        400,
        "BAD_REQUEST",
    )


def test_tenant_named_twice_must_agree(client: TestClient) -> None:
    mismatch = client.post("/api/auth/register", json=GOOD, headers={"X-Tenant": "globex"})
    assert error(mismatch)[:2] == (403, "TENANT_MISMATCH")
    by_header = client.post("/api/auth/register", json={k: v for k, v in GOOD.items() if k != "tenant"},
                            headers={"X-Tenant": "acme"})  # fmt: skip
    assert by_header.status_code == 201
    assert error(client.post("/api/auth/login", json={**GOOD, "tenant": "nowhere"}))[:2] == (404, "NOT_FOUND")
    with_token = client.post("/api/auth/refresh", json={"refreshToken": by_header.json()["refreshToken"]},
                             headers={"X-Tenant": "globex"})  # fmt: skip
    assert error(with_token)[:2] == (403, "TENANT_MISMATCH")


def test_email_taken_is_a_conflict(client: TestClient) -> None:
    body = {**GOOD, "email": "twice@example.com"}
    assert client.post("/api/auth/register", json=body).status_code == 201
    assert error(client.post("/api/auth/register", json=body))[:2] == (409, "CONFLICT")
