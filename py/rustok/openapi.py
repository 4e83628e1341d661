"""GET /openapi.json: an OpenAPI 3.1 document built from the pydantic DTOs (their JSON Schema, with every
model under components/schemas) and one table of operations. It stands beside the app, above the parts whose
routes it describes. It covers the REST endpoints (auth, health),
GraphQL over HTTP (POST and GET /graphql: the request and response envelopes; the operations themselves are
the SDL's) and the event stream.

The document and the endpoints must agree — every status an endpoint can answer is listed with its body's
schema, every request the document calls valid is one the endpoint takes: tests/py/test_fuzz.py runs
schemathesis' conformance checks against a real server, tests/py/test_openapi_agreement.py the cases it found."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from rustok.api import swagger
from rustok.api.schemas import (
    ErrorResponse,
    GraphQLErrorResponse,
    GraphQLRequest,
    GraphQLResponse,
    HealthResponse,
)
from rustok.api.tenancy import TENANT_SLUG
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
    400: "BAD_REQUEST (malformed JSON or parameters), INVALID_ID, TENANT_REQUIRED",
    401: "UNAUTHENTICATED (details.reason), INVALID_CREDENTIALS",
    403: "TENANT_MISMATCH, TENANT_INACTIVE, FORBIDDEN",
    404: "NOT_FOUND (e.g. no active tenant has the X-Tenant slug)",
    405: "BAD_REQUEST: mutations need POST",
    409: "CONFLICT (e.g. email taken)",
    413: "PAYLOAD_TOO_LARGE (bodies are limited: 64 KiB for REST, 256 KiB for GraphQL)",
    415: "BAD_REQUEST (details.reason content_type): a GraphQL POST is JSON only (text/plain, forms: CSRF)",
    422: "VALIDATION_FAILED (details.field), JSON_TOO_DEEP (JSON nested deeper than 32 levels)",
    429: "RATE_LIMITED (details.retryAfter, Retry-After header)",
    503: "UNAVAILABLE: the database is not reachable right now; retry",
}
_X_TENANT = {"$ref": "#/components/parameters/XTenant"}
_BEARER_OR_NONE: list[dict[str, list[str]]] = [{"bearerAuth": []}, {}]
_MAX_BATCH = 10  # graphql.limits.Limits.max_operations


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
        errors=(400, 403, 404, 409, 413, 422, 429, 503), tenant_header=True,
    ),
    Operation(
        "post", "/api/auth/login", "Sign in with email and password", "auth",
        ok=(200, "Signed in", AuthResponse), body=LoginRequest,
        errors=(400, 401, 403, 404, 413, 422, 429, 503), tenant_header=True,
    ),
    Operation(
        "post", "/api/auth/refresh", "Exchange a refresh token for a new pair (rotation)", "auth",
        ok=(200, "New tokens", AuthResponse), body=RefreshRequest,
        errors=(400, 401, 403, 404, 413, 422, 503), tenant_header=True,
    ),
    Operation(
        "post", "/api/auth/logout", "Revoke a refresh token's family; without a body, every session (bearer)", "auth",
        ok=(204, "Signed out", None), body=LogoutRequest, body_required=False,
        errors=(400, 401, 403, 404, 413, 422, 503), bearer=True, tenant_header=True,
    ),
    Operation(
        "get", "/api/auth/me", "The signed-in user", "auth",
        ok=(200, "The user", MeResponse), errors=(401, 403, 404, 503), bearer=True, tenant_header=True,
    ),
    Operation("get", "/health/live", "The process answers", "health", ok=(200, "Alive", HealthResponse)),
    Operation(
        "get", "/health/ready", "Database reachable and migrations current", "health",
        ok=(200, "Ready", HealthResponse), other=((503, "Not ready", HealthResponse),),
    ),
)  # fmt: skip

# models of the envelopes that are not in OPERATIONS (GraphQL, the event stream's errors)
_ENVELOPES: list[tuple[type[BaseModel], JsonSchemaMode]] = [
    (GraphQLRequest, "validation"),
    (GraphQLResponse, "serialization"),
    (GraphQLErrorResponse, "serialization"),
]


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF_TEMPLATE.format(model=model.__name__)}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(codes: tuple[int, ...], model: type[BaseModel] = ErrorResponse) -> dict[str, Any]:
    return {str(code): _json(_ERRORS[code], _ref(model)) for code in codes}


def _schemas() -> dict[str, Any]:
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ErrorResponse, "serialization"), *_ENVELOPES]
    for op in OPERATIONS:
        if op.body:
            models.append((op.body, "validation"))
        if op.ok[2]:
            models.append((op.ok[2], "serialization"))
    _, top = models_json_schema(list(dict.fromkeys(models)), ref_template=REF_TEMPLATE)
    return dict(sorted(top.get("$defs", {}).items()))


def _operation(op: Operation) -> dict[str, Any]:
    status, description, model = op.ok
    ok = _json(description, _ref(model)) if model else {"description": description}
    responses: dict[str, Any] = {str(status): ok}
    responses |= {str(code): _json(text, _ref(model)) for code, text, model in op.other}
    responses |= _errors(op.errors)
    operation_id = op.path.strip("/").replace("/", "_")
    spec: dict[str, Any] = {"operationId": operation_id, "summary": op.summary, "tags": [op.tag]}
    if op.body:
        spec["requestBody"] = {"required": op.body_required, "content": {"application/json": {"schema": _ref(op.body)}}}
    if op.tenant_header:
        spec["parameters"] = [_X_TENANT]
    if op.bearer:
        spec["security"] = _BEARER_OR_NONE
    spec["responses"] = responses
    return spec


def _query(name: str, description: str, pattern: str | None = None) -> dict[str, Any]:
    schema = {"type": "string", "pattern": pattern} if pattern else {"type": "string"}
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _graphql() -> dict[str, Any]:
    """POST and GET /graphql: the envelopes; what an operation may ask is the SDL's."""
    batch = {"type": "array", "items": _ref(GraphQLRequest), "minItems": 1, "maxItems": _MAX_BATCH}
    post = {
        "operationId": "graphql",
        "summary": "GraphQL queries and mutations, one or a batch (subscriptions: graphql-transport-ws on WS /graphql)",
        "tags": ["graphql"],
        "parameters": [_X_TENANT],
        "security": _BEARER_OR_NONE,
        "requestBody": {
            "required": True,
            "description": "JSON only: any other Content-Type (text/plain, a form, none) is refused with 415",
            "content": {
                kind: {"schema": {"oneOf": [_ref(GraphQLRequest), batch]}}
                for kind in ("application/json", "application/graphql-response+json")
            },
        },
        "responses": {
            "200": _json(
                "data, and errors carrying extensions.code (a batch: one answer per operation, in order)",
                {"oneOf": [_ref(GraphQLResponse), {"type": "array", "items": _ref(GraphQLResponse)}]},
            ),
            **_errors((400, 401, 403, 404, 413, 415, 503), GraphQLErrorResponse),
        },
    }
    get = {
        "operationId": "graphql_get",
        "summary": "A GraphQL query in the URL (mutations need POST)",
        "tags": ["graphql"],
        "parameters": [
            _X_TENANT,
            {**_query("query", "The GraphQL document (without it, RUSTOK_DEV=1 serves the console)"), "required": True},
            {
                "name": "variables",
                "in": "query",
                "required": False,
                "content": {"application/json": {"schema": {"type": "object"}}},
                "description": "The variables: a JSON object",
            },
            _query("operationName", "Which operation of the document to run"),
        ],
        "security": _BEARER_OR_NONE,
        "responses": {
            "200": _json("data, and errors carrying extensions.code", _ref(GraphQLResponse)),
            **_errors((400, 401, 403, 404, 405, 503), GraphQLErrorResponse),
        },
    }
    return {"post": post, "get": get}


_CURSOR = r"^[0-9]{1,18}\.[0-9]{1,18}$"  # realtime.events.parse_cursor takes up to bigint's 19 digits
_TYPES = r"^[A-Z][A-Za-z0-9]{0,63}(,[A-Z][A-Za-z0-9]{0,63}){0,49}$"  # realtime.events.parse_types


def _events() -> dict[str, Any]:
    last_event_id = {
        "name": "Last-Event-ID",
        "in": "header",
        "required": False,
        "schema": {"type": "string", "pattern": _CURSOR},
        "description": "Resume after this event (`<txid>.<position>`, an event's id)",
    }
    get = {
        "operationId": "api_events",
        "summary": "The tenant's events as Server-Sent Events (needs events.read)",
        "tags": ["events"],
        "parameters": [
            _X_TENANT,
            last_event_id,
            _query("lastEventId", "Resume after this event; the Last-Event-ID header takes precedence", _CURSOR),
            _query("types", "Only these event types, comma-separated (PascalCase names, at most 50)", _TYPES),
            _query("access_token", "The access token, for EventSource (which cannot send headers); prefer the header"),
        ],
        "security": _BEARER_OR_NONE,
        "responses": {
            "200": {"description": "An event stream", "content": {"text/event-stream": {"schema": {"type": "string"}}}},
            **_errors((400, 401, 403, 404, 422, 503)),
        },
    }
    return {"get": get}


def build_document(version: str = "0.1.0") -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    paths["/graphql"] = _graphql()
    paths["/api/events"] = _events()
    x_tenant = {
        "name": "X-Tenant",
        "in": "header",
        "required": False,
        "schema": {"type": "string", "maxLength": 64, "pattern": TENANT_SLUG},
        "description": "Tenant slug for anonymous requests (another shape: 400 BAD_REQUEST); with a token it must "
        "name the token's tenant",
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


def routes() -> list[BaseRoute]:
    """/openapi.json and the Swagger UI that reads it (api/swagger.py)."""
    document = build_document()

    async def openapi_json(request: Request) -> JSONResponse:
        return JSONResponse(document)

    return [Route("/openapi.json", openapi_json, methods=["GET"]), *swagger.routes(document)]
