"""POST /graphql (and GET /graphql: a query in the URL, or the query console where enabled).

Request-level problems are answered before the database is touched: an oversized body (413), malformed
JSON (400), too many batched operations, an unknown tenant or a token for another tenant (403)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from rustok.api.errors import request_id
from rustok.api.services import Services
from rustok.errors import BadRequest, PayloadTooLarge, RusToKError, TooManyOperations
from rustok.graphql.core_fields import RESOLVERS
from rustok.graphql.executor import GraphQLExecutor, _error_dict
from rustok.graphql.limits import Limits
from rustok.graphql.schema import build

JSON = "application/json"


def routes(services: Services) -> list[BaseRoute]:
    schema = build(services.registry, {**RESOLVERS, **services.graphql_resolvers})
    executor = GraphQLExecutor(schema, Limits(), introspection=services.settings.dev)
    services.graphql = executor

    async def graphql_post(request: Request) -> Response:
        rid = request_id(request)
        try:
            body = await _read_json(request, executor.limits.max_body_bytes)
            ctx = await services.tenants.resolve(
                request.headers.get("authorization"), request.headers.get("x-tenant"), rid
            )
        except RusToKError as exc:
            return _json({"errors": [_error_dict(exc, rid)]}, exc.http_status)
        context = {"services": services, "ctx": ctx, "request": request}
        if isinstance(body, list):
            if not body or len(body) > executor.limits.max_operations:
                limit = executor.limits.max_operations
                error = TooManyOperations("too many operations in one request", {"limit": limit})
                return _json({"errors": [_error_dict(error, rid)]}, error.http_status)
            return _json([await executor.run(item, ctx, context) for item in body])
        return _json(await executor.run(body, ctx, context))

    async def graphql_get(request: Request) -> Response:
        rid = request_id(request)
        if "query" not in request.query_params:
            if services.settings.dev:
                return HTMLResponse(_CONSOLE)
            return _json({"errors": [_error_dict(BadRequest("a query is required"), rid)]}, 400)
        try:
            ctx = await services.tenants.resolve(
                request.headers.get("authorization"), request.headers.get("x-tenant"), rid
            )
            variables = orjson.loads(request.query_params.get("variables") or "{}")
        except orjson.JSONDecodeError:
            return _json({"errors": [_error_dict(BadRequest("variables are not JSON"), rid)]}, 400)
        except RusToKError as exc:
            return _json({"errors": [_error_dict(exc, rid)]}, exc.http_status)
        query = request.query_params["query"]
        if query.lstrip().startswith("mutation"):
            return _json({"errors": [_error_dict(BadRequest("mutations need POST"), rid)]}, 405)
        payload = {"query": query, "variables": variables, "operationName": request.query_params.get("operationName")}
        context = {"services": services, "ctx": ctx, "request": request}
        return _json(await executor.run(payload, ctx, context))

    return [Route("/graphql", graphql_post, methods=["POST"]), Route("/graphql", graphql_get, methods=["GET"])]


async def _read_json(request: Request, limit: int) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge("request body too large", {"limit": limit})
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge("request body too large", {"limit": limit})
            chunks.append(chunk)
    except ClientDisconnect:
        raise BadRequest("the client went away") from None
    try:
        return orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError:
        raise BadRequest("the body is not JSON") from None


def _json(content: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(content), status_code=status, media_type=JSON)


_CONSOLE = """<!doctype html><meta charset=utf-8><title>RusToK GraphQL</title>
<style>body{font:14px system-ui;margin:1rem}textarea{width:100%;height:14rem;font:13px monospace}
pre{background:#f4f4f4;padding:1rem;overflow:auto}</style>
<h1>RusToK GraphQL console</h1>
<p>Tenant <input id=tenant placeholder=slug> Token <input id=token size=60 placeholder="access token (optional)"></p>
<textarea id=q>{ tenant { slug name } modules { slug enabled } }</textarea>
<p>Variables <input id=v size=60 value="{}"> <button id=run>Run</button></p><pre id=out></pre>
<script>
document.getElementById('run').onclick = async () => {
  const h = {'content-type': 'application/json'};
  const t = document.getElementById('tenant').value, k = document.getElementById('token').value;
  if (t) h['x-tenant'] = t; if (k) h['authorization'] = 'Bearer ' + k;
  const body = JSON.stringify({query: document.getElementById('q').value,
                               variables: JSON.parse(document.getElementById('v').value || '{}')});
  const r = await fetch('/graphql', {method: 'POST', headers: h, body});
  document.getElementById('out').textContent = JSON.stringify(await r.json(), null, 2);
};
</script>"""
