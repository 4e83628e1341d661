"""REST endpoints under /api/auth: register, login, refresh, logout, me. Bodies are read and validated before
the database is touched (api/bodies.py); tokens travel in JSON, no cookies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from rustok.api.bodies import parse_json, read_body
from rustok.api.errors import error_response, request_id
from rustok.auth.schemas import LoginRequest, LogoutRequest, RefreshRequest, RegisterRequest
from rustok.auth.service import AuthService
from rustok.errors import RateLimited

Endpoint = Callable[[Request], Awaitable[Response]]


def routes(auth: AuthService) -> list[BaseRoute]:

    async def register(request: Request) -> Response:
        body = parse_json(await read_body(request), RegisterRequest)
        result = await auth.register(body, request.headers.get("x-tenant"), request_id(request))
        return JSONResponse(result, status_code=201)

    async def login(request: Request) -> Response:
        body = parse_json(await read_body(request), LoginRequest)
        return JSONResponse(await auth.login(body, request.headers.get("x-tenant"), request_id(request)))

    async def refresh(request: Request) -> Response:
        body = parse_json(await read_body(request), RefreshRequest)
        result = await auth.refresh(body.refresh_token, request.headers.get("x-tenant"), request_id(request))
        return JSONResponse(result)

    async def logout(request: Request) -> Response:
        raw = await read_body(request)
        token = parse_json(raw, LogoutRequest).refresh_token if raw.strip() else None
        headers = request.headers
        await auth.logout(token, headers.get("authorization"), headers.get("x-tenant"), request_id(request))
        return Response(status_code=204)

    async def me(request: Request) -> Response:
        headers = request.headers
        return JSONResponse(await auth.me(headers.get("authorization"), headers.get("x-tenant"), request_id(request)))

    return [
        Route("/api/auth/register", _retry_after(register), methods=["POST"]),
        Route("/api/auth/login", _retry_after(login), methods=["POST"]),
        Route("/api/auth/refresh", refresh, methods=["POST"]),
        Route("/api/auth/logout", logout, methods=["POST"]),
        Route("/api/auth/me", me, methods=["GET"]),
    ]


def _retry_after(endpoint: Endpoint) -> Endpoint:
    """RATE_LIMITED answers carry a Retry-After header (seconds) beside details.retryAfter."""

    async def wrapped(request: Request) -> Response:
        try:
            return await endpoint(request)
        except RateLimited as exc:
            response = error_response(exc, request_id(request))
            response.headers["Retry-After"] = str(exc.details.get("retryAfter", 1))
            return response

    return wrapped
