"""GET /api/events: the tenant's events as Server-Sent Events.

Authentication: `Authorization: Bearer <access token>`, or `?access_token=<token>` for the browser's
EventSource, which cannot set headers. A token in the query string can end up in access logs, proxies and
browser history, so prefer the header wherever the client allows it (tokens are short-lived either way;
this server takes it out of the query string before its own access log sees it).
The tenant is the token's (an X-Tenant header naming another one is refused); the user needs events.read.

Query: `types=A,B` (only these event types), `lastEventId=<id>` (resume; the `Last-Event-ID` header, which
EventSource sends when it reconnects, takes precedence). A malformed id is refused with 400 BAD_REQUEST.

Each message is `id: <commit_seq>.<position>` (the cursor to resume from), `event: <type>` and `data:` the JSON
envelope {id, type, tenantId, actorId, data, occurredAt}. An idle stream gets a comment line every
`heartbeat` seconds. The stream ends when the access token expires (or the server shuts down); the client
reconnects with a fresh token and its last id and misses nothing."""

from __future__ import annotations

import asyncio
import logging
import time
from urllib.parse import parse_qsl, urlencode

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from rustok.api.errors import log_internal, request_id
from rustok.errors import Internal, RusToKError
from rustok.events.outbox import parse_cursor
from rustok.realtime.events import parse_types
from rustok.realtime.hub import Realtime
from rustok.realtime.relay import Closed
from rustok.realtime.streams import EventStream

log = logging.getLogger("rustok.realtime")

_HEADERS = {
    "content-type": "text/event-stream",
    "cache-control": "no-cache, no-store",
    "x-accel-buffering": "no",  # nginx: do not buffer the stream
}
_RETRY = b"retry: 2000\n\n"  # how long EventSource waits before reconnecting, in milliseconds
_HEARTBEAT = b": heartbeat\n\n"
_CHUNK = 64 * 1024  # events waiting together go out in one write, up to this size


def routes(realtime: Realtime) -> list[BaseRoute]:
    services = realtime.services

    async def events(request: Request) -> Response:
        if request.method == "HEAD":  # no body, so no stream to hold open
            return Response(headers=_HEADERS)
        authorization = request.headers.get("authorization")
        token = request.query_params.get("access_token")
        if token is not None:
            _redact_token(request.scope)
        if not authorization and token:
            authorization = f"Bearer {token}"
        ctx = await services.tenants.resolve(authorization, request.headers.get("x-tenant"), request_id(request))
        last_id = request.headers.get("last-event-id") or request.query_params.get("lastEventId")
        after = parse_cursor(last_id) if last_id else None
        raw_types = ",".join(request.query_params.getlist("types"))
        types = parse_types(raw_types.split(",")) if raw_types else None
        stream = await EventStream(realtime, ctx, after, types).open()
        return EventSourceResponse(stream, realtime.config.heartbeat, ctx.expires_at or 0)

    return [Route("/api/events", events, methods=["GET"])]


def _redact_token(scope: Scope) -> None:
    """Takes the token out of the query string the server logs (uvicorn's access log reads the scope)."""
    pairs = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    redacted = [(k, "redacted" if k == "access_token" else v) for k, v in pairs]
    scope["query_string"] = urlencode(redacted).encode("latin-1")


class EventSourceResponse(Response):
    """Writes one stream until the client goes away, the token expires or the relay stops."""

    def __init__(self, stream: EventStream, heartbeat: float, expires_at: float) -> None:
        self.stream = stream
        self.heartbeat = heartbeat
        self.expires_at = expires_at  # epoch seconds; the stream ends then
        self.status_code = 200
        self.background = None
        self.init_headers(_HEADERS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await send({"type": "http.response.body", "body": _RETRY, "more_body": True})
            async with anyio.create_task_group() as tasks:

                async def watch_disconnect() -> None:
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    tasks.cancel_scope.cancel()

                tasks.start_soon(watch_disconnect)
                await self._pump(send)
                tasks.cancel_scope.cancel()
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:  # the client went away while we were writing
            pass
        finally:
            self.stream.close()

    async def _pump(self, send: Send) -> None:
        deadline = asyncio.get_running_loop().time() + max(self.expires_at - time.time(), 0.0)
        loop = asyncio.get_running_loop()
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            try:
                event = await self.stream.next(min(self.heartbeat, remaining))
                if event is None:
                    body = _HEARTBEAT
                else:
                    body = event.sse_frame()
                    while len(body) < _CHUNK and (event := await self.stream.next(0)) is not None:
                        body += event.sse_frame()
            except Closed:
                return
            except RusToKError as exc:  # a catch-up read refused or failed: the client reconnects and resumes
                if isinstance(exc, Internal):
                    log_internal(exc, self.stream.ctx.request_id, "event stream")
                else:
                    log.warning("event stream ended: %s [request %s]", exc.code, self.stream.ctx.request_id)
                return
            await send({"type": "http.response.body", "body": body, "more_body": True})
