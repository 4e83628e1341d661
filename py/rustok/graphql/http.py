"""POST /graphql (and GET /graphql: a query in the URL, or the query console where enabled; GET runs query
operations only, decided on the operation the parsed document selects: 405 for a mutation or subscription).

Request-level problems are answered before the database is touched: an oversized body (413), malformed
JSON or a body that is not a GraphQL-over-HTTP request — not an object (or a batch of them), a query that is
not a string, variables or extensions that are not objects — (400), too many batched operations, an unknown
tenant (404) or a token for another tenant (403). What /openapi.json says of these envelopes is
api/schemas.py's GraphQLRequest and GraphQLResponse."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
from graphql import OperationType
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route, request_response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from rustok.api.clients import scope_client
from rustok.api.errors import new_request_id, request_id
from rustok.api.json_depth import loads
from rustok.api.services import Services
from rustok.errors import BadRequest, PayloadTooLarge, RusToKError, TooManyOperations, internal_from
from rustok.graphql.executor import GraphQLExecutor, OperationObserver, _error_dict, requester
from rustok.graphql.limits import Limits
from rustok.graphql.schema import SchemaPart, build

JSON = "application/json"
# GraphiQL's files, installed by scripts/fetch-graphiql (from the npm registry by the project's set-up)
GRAPHIQL_DIR = Path(__file__).resolve().parents[1] / "static" / "vendor" / "graphiql"


def new_executor(services: Services, parts: Iterable[SchemaPart], observe: OperationObserver) -> GraphQLExecutor:
    """The process's executor for the schema of these parts (the composition root passes every part)."""
    settings = services.settings
    return GraphQLExecutor(
        build(parts),
        Limits(),
        introspection=settings.dev,
        document_cache_bytes=settings.graphql_document_cache_bytes,
        persisted_cache_bytes=settings.graphql_persisted_cache_bytes,
        observe=observe,
    )


def routes(services: Services, endpoint: GraphQLEndpoint) -> list[BaseRoute]:
    """POST (`endpoint`, which the app also hands POST /graphql to directly) and GET /graphql."""
    executor = endpoint.executor

    async def graphql_get(request: Request) -> Response:
        rid = request_id(request)
        if "query" not in request.query_params:
            if services.settings.dev:
                return HTMLResponse(_GRAPHIQL if (GRAPHIQL_DIR / "graphiql.min.js").exists() else _CONSOLE)
            return _json({"errors": [_error_dict(BadRequest("a query is required"), rid)]}, 400)
        try:
            ctx = await services.tenants.resolve(
                request.headers.get("authorization"), request.headers.get("x-tenant"), rid
            )
            variables = loads(request.query_params.get("variables") or "{}")
        except orjson.JSONDecodeError:
            return _json({"errors": [_error_dict(BadRequest("variables are not JSON"), rid)]}, 400)
        except RusToKError as exc:
            return _json({"errors": [_error_dict(exc, rid)]}, exc.http_status)
        query = request.query_params["query"]
        payload = {"query": query, "variables": variables, "operationName": request.query_params.get("operationName")}
        malformed = _malformed(payload)
        if malformed is not None:
            return _json({"errors": [_error_dict(malformed, rid)]}, 400)
        try:  # decided on the operation the parsed document selects, never on the text
            kind = await executor.selected_operation(payload, requester(ctx, _address(request.scope)))
        except RusToKError as exc:
            return _json({"errors": [_error_dict(exc, rid)]})
        if kind is not OperationType.QUERY:
            needs = "WebSocket" if kind is OperationType.SUBSCRIPTION else "POST"
            refusal = BadRequest(f"a {kind.value} needs {needs}", {"operation": kind.value})
            return _json({"errors": [_error_dict(refusal, rid)]}, 405)
        context = {"services": services, "ctx": ctx, "request": request, "client": _address(request.scope)}
        return _json(await executor.run(payload, ctx, context))

    # one route for both methods, so that a request with any other method is told both in Allow
    both = _ByMethod(endpoint, request_response(graphql_get))
    routes: list[BaseRoute] = [Route("/graphql", both, methods=["GET", "POST"])]
    if services.settings.dev and GRAPHIQL_DIR.is_dir():
        routes.append(Mount("/graphiql", StaticFiles(directory=GRAPHIQL_DIR), name="graphiql"))
    return routes


def _address(scope: Scope) -> str | None:
    """The client's address key (api/clients.py: the peer, or what a proxy uvicorn trusts reports)."""
    return scope_client(scope)


class _ByMethod:
    """POST to the GraphQL endpoint, GET (and HEAD) to the query-in-the-URL handler."""

    def __init__(self, post: ASGIApp, get: ASGIApp) -> None:
        self.post = post
        self.get = get

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await (self.post if scope["method"] == "POST" else self.get)(scope, receive, send)


class GraphQLEndpoint:
    """POST /graphql as a bare ASGI app: the hot path of the whole API, so it does its own request id,
    body reading and response instead of going through a framework's request objects. With no CORS to
    apply, the application hands it these requests before any middleware (see app.py)."""

    def __init__(self, services: Services, executor: GraphQLExecutor) -> None:
        self.services = services
        self.executor = executor

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope["headers"])
        rid = new_request_id(headers.get(b"x-request-id"))
        try:
            status, content = await self._answer(scope, headers, receive, rid)
            body = orjson.dumps(content)
        except Exception as exc:  # the last line of defence: logged with the request id, answered without detail
            status, body = 500, orjson.dumps({"errors": [_error_dict(internal_from(exc), rid)]})
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), (b"x-request-id", rid.encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _answer(self, scope: Scope, headers: dict[bytes, bytes], receive: Receive, rid: str) -> tuple[int, Any]:
        limits = self.executor.limits
        unsupported = _unsupported_type(headers)
        if unsupported is not None:
            return 415, {"errors": [_error_dict(unsupported, rid)]}
        try:
            body = await _read_body(headers, receive, limits.max_body_bytes)
            ctx = await self.services.tenants.resolve(
                _header(headers, b"authorization"), _header(headers, b"x-tenant"), rid
            )
        except RusToKError as exc:
            return exc.http_status, {"errors": [_error_dict(exc, rid)]}
        context = {"services": self.services, "ctx": ctx, "client": _address(scope)}
        if isinstance(body, list):
            if not body or len(body) > limits.max_operations:
                error = TooManyOperations("too many operations in one request", {"limit": limits.max_operations})
                return error.http_status, {"errors": [_error_dict(error, rid)]}
            refused = next((e for e in map(_malformed, body) if e is not None), None)
            if refused is not None:
                return refused.http_status, {"errors": [_error_dict(refused, rid)]}
            return 200, [await self.executor.run(item, ctx, context) for item in body]
        refused = _malformed(body)
        if refused is not None:
            return refused.http_status, {"errors": [_error_dict(refused, rid)]}
        return 200, await self.executor.run(body, ctx, context)


_FIELDS: tuple[tuple[str, type, str], ...] = (
    ("query", str, "a string"),
    ("operationName", str, "a string"),
    ("variables", dict, "an object"),
    ("extensions", dict, "an object"),
)


def _malformed(request: Any) -> BadRequest | None:
    """Why an operation is not a GraphQL-over-HTTP request (answered 400 before anything runs), or None.
    Within one that is, whatever goes wrong is a GraphQL error in a 200 answer."""
    if not isinstance(request, dict):
        return BadRequest("each operation is a JSON object {query, variables, operationName, extensions}")
    for name, kind, words in _FIELDS:
        if request.get(name) is not None and not isinstance(request[name], kind):
            return BadRequest(f"{name} must be {words}", {"field": name})
    return None


BODY_TYPES = ("application/json", "application/graphql-response+json")


def _unsupported_type(headers: dict[bytes, bytes]) -> BadRequest | None:
    """Why a POST's Content-Type is refused (answered 415 before the body is read), or None. Only JSON: a
    browser sends text/plain, a form or multipart cross-site without asking first (a CORS "simple"
    request), so accepting them would let any page run mutations as its visitor (Apollo's CSRF prevention
    refuses them the same way); a request without the header is refused too."""
    declared = headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower().decode("latin-1")
    if declared in BODY_TYPES:
        return None
    return BadRequest(
        "a GraphQL POST is sent as application/json",
        {"reason": "content_type", "contentType": declared or None, "accepted": list(BODY_TYPES)},
    )


def _header(headers: dict[bytes, bytes], name: bytes) -> str | None:
    value = headers.get(name)
    return value.decode("latin-1") if value is not None else None


async def _read_body(headers: dict[bytes, bytes], receive: Receive, limit: int) -> Any:
    declared = headers.get(b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge("request body too large", {"limit": limit})
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise BadRequest("the client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge("request body too large", {"limit": limit})
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    try:
        return loads(b"".join(chunks) if len(chunks) != 1 else chunks[0])
    except orjson.JSONDecodeError:
        raise BadRequest("the body is not JSON") from None


def _json(content: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(content), status_code=status, media_type=JSON)


_GRAPHIQL = """<!doctype html><meta charset=utf-8><title>RusToK GraphiQL</title>
<link rel=stylesheet href="/graphiql/graphiql.min.css">
<style>body{margin:0;height:100vh}#graphiql{height:100vh}</style>
<div id=graphiql></div>
<script src="/graphiql/react.production.min.js"></script>
<script src="/graphiql/react-dom.production.min.js"></script>
<script src="/graphiql/graphiql.min.js"></script>
<script>
const fetcher = GraphiQL.createFetcher({url: '/graphql'});
ReactDOM.createRoot(document.getElementById('graphiql')).render(React.createElement(GraphiQL, {
  fetcher, defaultHeaders: '{"X-Tenant": "demo"}', shouldPersistHeaders: true,
}));
</script>"""

# Without GraphiQL's files (no npm at set-up): a plain console that does the same over fetch().
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
