"""Error responses and the request id. Every error body is {"error": {code, message, details, requestId}};
unexpected exceptions are answered as INTERNAL without any detail, and logged (log_internal) with the request
id and the stack: here for REST, and by each other path that answers INTERNAL (GraphQL over HTTP and
WebSocket, the event stream, the storefront)."""

from __future__ import annotations

import logging
import secrets
from typing import Any

import psycopg
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rustok.errors import Internal, RusToKError, from_database_error, internal_from

log = logging.getLogger("rustok.api")


def sane_request_id(given: bytes | None) -> str | None:
    """The client's X-Request-Id when it is safe to echo and log (1-64 letters, digits, dashes), else None."""
    if given and len(given) <= 64 and given.replace(b"-", b"").isalnum():
        return given.decode()
    return None


def new_request_id(given: bytes | None = None) -> str:
    """The request id: the client's when sane, else a fresh random one. The one rule, used by every layer."""
    return sane_request_id(given) or secrets.token_hex(8)


def request_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", ""))


def log_internal(error: BaseException, rid: str, where: str) -> None:
    """The log line of one INTERNAL answer: where it happened, the request id, and the stack of the failure
    (an Internal raised from a database error, or made by internal_from, carries it as its cause). Whoever
    turns an exception into INTERNAL calls this, once."""
    log.error("internal error in %s [request %s]", where, rid, exc_info=error)


def _where(request: Request) -> str:
    return f"{request.method} {request.url.path}"


def error_body(error: RusToKError, rid: str) -> dict[str, Any]:
    return {"error": {**error.to_dict(), "requestId": rid}}


def error_response(error: RusToKError, rid: str) -> JSONResponse:
    return JSONResponse(error_body(error, rid), status_code=error.http_status)


async def handle_rustok_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RusToKError)
    if isinstance(exc, Internal):
        log_internal(exc, request_id(request), _where(request))
    return error_response(exc, request_id(request))


async def handle_database_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, psycopg.Error)
    mapped = from_database_error(exc)
    if isinstance(mapped, Internal):
        log_internal(exc, request_id(request), _where(request))
    return error_response(mapped, request_id(request))


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    log_internal(exc, request_id(request), _where(request))
    return error_response(internal_from(exc), request_id(request))


EXCEPTION_HANDLERS = {
    RusToKError: handle_rustok_error,
    psycopg.Error: handle_database_error,
    Exception: handle_unexpected,
}


class RequestIdMiddleware:
    """Takes X-Request-Id from the client (when sane) or makes one; puts it in scope state and the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        rid = new_request_id(dict(scope.get("headers", [])).get(b"x-request-id"))
        scope.setdefault("state", {})["request_id"] = rid
        header = (b"x-request-id", rid.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        await self.app(scope, receive, send_with_id)
