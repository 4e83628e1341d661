"""GET /openapi.json: an OpenAPI 3.1 document built from the pydantic DTOs (their JSON Schema, with every
model under components/schemas) and one table of operations. It covers the REST endpoints (auth, health)
and names the GraphQL and event-stream endpoints, whose own contracts are the SDL and the event list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from rustok.api import swagger
from rustok.api.schemas import ErrorResponse, HealthResponse
from rustok.api.services import Services
from rustok.auth.schemas import (
    AuthResponse,
    LoginRequest,
    LogoutRequest,
    MeResponse,
    RefreshRequest,
    RegisterRequest,
)

REF_TEMPLATE = "#/components/schemas/{model}"
_ERRORS = {
    400: "BAD_REQUEST (malformed JSON), INVALID_ID, TENANT_REQUIRED",
    401: "UNAUTHENTICATED (details.reason), INVALID_CREDENTIALS",
    403: "TENANT_MISMATCH, TENANT_INACTIVE, FORBIDDEN",
    404: "NOT_FOUND (e.g. no such tenant)",
    409: "CONFLICT (e.g. email taken)",
    413: "PAYLOAD_TOO_LARGE (bodies are limited to 64 KiB)",
    422: "VALIDATION_FAILED (details.field)",
    429: "RATE_LIMITED (details.retryAfter, Retry-After header)",
}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    tag: str
    ok: tuple[int, str, type[BaseModel] | None]
    body: type[BaseModel] | None = None
    body_required: bool = True
    errors: tuple[int, ...] = ()
    other: tuple[tuple[int, str, type[BaseModel]], ...] = ()
    bearer: bool = False
    tenant_header: bool = False


OPERATIONS = (
    Operation(
        "post", "/api/auth/register", "Register a customer and sign in", "auth",
        ok=(201, "Signed in", AuthResponse), body=RegisterRequest,
        errors=(400, 403, 404, 409, 413, 422, 429), tenant_header=True,
    ),
    Operation(
        "post", "/api/auth/login", "Sign in with email and password", "auth",
        ok=(200, "Signed in", AuthResponse), body=LoginRequest,
        errors=(400, 401, 403, 404, 413, 422, 429), tenant_header=True,
    ),
    Operation(
        "post", "/api/auth/refresh", "Exchange a refresh token for a new pair (rotation)", "auth",
        ok=(200, "New tokens", AuthResponse), body=RefreshRequest,
        errors=(400, 401, 403, 413, 422), tenant_header=True,
    ),
    Operation(
        "post", "/api/auth/logout", "Revoke a refresh token's family; without a body, every session (bearer)", "auth",
        ok=(204, "Signed out", None), body=LogoutRequest, body_required=False,
        errors=(400, 401, 403, 413, 422), bearer=True, tenant_header=True,
    ),
    Operation(
        "get", "/api/auth/me", "The signed-in user", "auth",
        ok=(200, "The user", MeResponse), errors=(401, 403), bearer=True, tenant_header=True,
    ),
    Operation("get", "/health/live", "The process answers", "health", ok=(200, "Alive", HealthResponse)),
    Operation(
        "get", "/health/ready", "Database reachable and migrations current", "health",
        ok=(200, "Ready", HealthResponse), other=((503, "Not ready", HealthResponse),),
    ),
)  # fmt: skip


def _ref_response(description: str, name: str) -> dict[str, Any]:
    schema = {"$ref": REF_TEMPLATE.format(model=name)}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _schemas() -> dict[str, Any]:
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ErrorResponse, "serialization")]
    for op in OPERATIONS:
        if op.body:
            models.append((op.body, "validation"))
        if op.ok[2]:
            models.append((op.ok[2], "serialization"))
    _, top = models_json_schema(list(dict.fromkeys(models)), ref_template=REF_TEMPLATE)
    return dict(sorted(top.get("$defs", {}).items()))


def _operation(op: Operation) -> dict[str, Any]:
    status, description, model = op.ok
    responses: dict[str, Any] = {
        str(status): _ref_response(description, model.__name__) if model else {"description": description}
    }
    responses |= {str(code): _ref_response(text, model.__name__) for code, text, model in op.other}
    responses |= {str(code): _ref_response(_ERRORS[code], "ErrorResponse") for code in op.errors}
    operation_id = op.path.strip("/").replace("/", "_")
    spec: dict[str, Any] = {"operationId": operation_id, "summary": op.summary, "tags": [op.tag]}
    if op.body:
        content = {"application/json": {"schema": {"$ref": REF_TEMPLATE.format(model=op.body.__name__)}}}
        spec["requestBody"] = {"required": op.body_required, "content": content}
    if op.tenant_header:
        spec["parameters"] = [{"$ref": "#/components/parameters/XTenant"}]
    if op.bearer:
        spec["security"] = [{"bearerAuth": []}, {}]
    spec["responses"] = responses
    return spec


def _graphql_and_events() -> dict[str, Any]:
    """The endpoints whose contracts live elsewhere (the GraphQL SDL, the event list), named for completeness."""
    tenant_and_bearer: dict[str, Any] = {
        "parameters": [{"$ref": "#/components/parameters/XTenant"}],
        "security": [{"bearerAuth": []}, {}],
    }
    graphql_request = {
        "type": "object",
        "required": ["query"],
        "properties": {
            "query": {"type": "string"},
            "operationName": {"type": ["string", "null"]},
            "variables": {"type": ["object", "null"]},
            "extensions": {"type": ["object", "null"], "description": "persistedQuery: {version, sha256Hash}"},
        },
    }
    graphql = {
        "operationId": "graphql",
        "summary": "GraphQL queries and mutations (subscriptions: graphql-transport-ws on WS /graphql)",
        "tags": ["graphql"],
        **tenant_and_bearer,
        "requestBody": {"required": True, "content": {"application/json": {"schema": graphql_request}}},
        "responses": {
            "200": {
                "description": "data, and errors carrying extensions.code",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            **{str(code): _ref_response(_ERRORS[code], "ErrorResponse") for code in (400, 413)},
        },
    }
    last_event_id = {
        "name": "Last-Event-ID",
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": "Resume after this event",
    }
    events = {
        "operationId": "api_events",
        "summary": "The tenant's events as Server-Sent Events",
        "tags": ["events"],
        "parameters": [*tenant_and_bearer["parameters"], last_event_id],
        "security": tenant_and_bearer["security"],
        "responses": {
            "200": {"description": "An event stream", "content": {"text/event-stream": {"schema": {"type": "string"}}}},
            **{str(code): _ref_response(_ERRORS[code], "ErrorResponse") for code in (401, 403)},
        },
    }
    return {"/graphql": {"post": graphql}, "/api/events": {"get": events}}


def build_document(version: str = "0.1.0") -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    paths |= _graphql_and_events()
    x_tenant = {
        "name": "X-Tenant",
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": "Tenant slug for anonymous requests; with a token it must name the token's tenant",
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "RusToK API",
            "version": version,
            "description": "REST for auth and health; the domain API is GraphQL at /graphql.",
        },
        "paths": paths,
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "parameters": {"XTenant": x_tenant},
        },
    }


def routes(services: Services) -> list[BaseRoute]:
    """/openapi.json and the Swagger UI that reads it (api/swagger.py)."""
    document = build_document()

    async def openapi_json(request: Request) -> JSONResponse:
        return JSONResponse(document)

    return [Route("/openapi.json", openapi_json, methods=["GET"]), *swagger.routes(document)]
