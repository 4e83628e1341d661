"""WS /graphql: GraphQL over WebSocket with the graphql-transport-ws protocol
(github.com/enisdenjo/graphql-ws, PROTOCOL.md).

The client sends `connection_init` within `init_timeout` seconds, its payload naming who it is:
`{"authorization": "Bearer <access token>"}` and/or `{"tenant": "<slug>"}` (as the Authorization and
X-Tenant headers do over HTTP). The server answers `connection_ack`, then runs each `subscribe {id, payload:
{query, operationName, variables, extensions}}`: `next` for every result, then `complete`; or `error` when
the operation is refused before it runs (syntax, validation). The client's `complete` stops an operation.
`ping` gets `pong` at any time. The socket is closed with

    4400  an invalid message (not JSON, an unknown type, a missing id or query, too large)
    4401  subscribe before connection_ack
    4403  connection_init refused (bad or expired token, unknown tenant, tenant mismatch); also when the
          access token expires on an open socket (reconnect with a fresh one)
    4406  the client did not offer the graphql-transport-ws subprotocol
    4408  no connection_init in time
    4409  subscribe with the id of an operation still running
    4429  a second connection_init
    4500  an unexpected failure in the server (logged with the request id)

How operations run is the `Executor` given to `routes` (the GraphQL part's pipeline: limits, caches, error
masking); subscriptions are authorised when they start, by their resolvers."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket

from rustok.api.clients import scope_client
from rustok.api.context import RequestContext
from rustok.api.errors import log_internal
from rustok.api.json_depth import loads
from rustok.errors import Internal, RusToKError, TooManyOperations
from rustok.realtime.hub import Realtime
from rustok.types import JsonObject

PROTOCOL = "graphql-transport-ws"


@dataclass(frozen=True, slots=True)
class Operation:
    query: str
    operation_name: str | None = None
    variables: JsonObject | None = None
    extensions: JsonObject | None = None
    client: str | None = None  # the connection's address key (api/clients.client_key), for per-client shares


# What an operation gives: a list of formatted errors (refused before it ran: the `error` message), one
# formatted result (`next`, then `complete`), or a stream of them (`next` each, then `complete`).
Outcome = list[JsonObject] | JsonObject | AsyncIterator[JsonObject]
Executor = Callable[[Operation, RequestContext], Awaitable[Outcome]]


class _Close(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def routes(realtime: Realtime, execute: Executor) -> list[BaseRoute]:
    async def endpoint(websocket: WebSocket) -> None:
        await Session(websocket, realtime, execute).run()

    return [WebSocketRoute("/graphql", endpoint)]


class Session:
    """One socket: the connection handshake, then its operations, each in a task of its own."""

    def __init__(self, websocket: WebSocket, realtime: Realtime, execute: Executor) -> None:
        self.ws = websocket
        self.realtime = realtime
        self.execute = execute
        self.ctx: RequestContext | None = None  # set when the connection is acknowledged
        self.operations: dict[str, asyncio.Task[None]] = {}
        self.expires_at: float | None = None  # epoch seconds when the access token expires
        self._init_received = False
        self._acknowledged = asyncio.Event()
        self._closed = False
        self._send_lock = asyncio.Lock()

    async def run(self) -> None:
        if PROTOCOL not in self.ws.scope.get("subprotocols", []):
            await self.ws.accept()
            await self._close(4406, "Subprotocol not acceptable")
            return
        await self.ws.accept(subprotocol=PROTOCOL)
        watchdog = asyncio.create_task(self._watch())
        try:
            while not self._closed:
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None:
                    text = (message.get("bytes") or b"").decode("utf-8", "replace")
                try:
                    await self._handle(text)
                except _Close as close:
                    await self._close(close.code, close.reason)
                except Exception as exc:  # a bug: logged with the request id, the socket closed as the protocol says
                    log_internal(exc, self._request_id(), "graphql-transport-ws")
                    await self._close(4500, "Internal error")
        finally:
            self._closed = True
            watchdog.cancel()
            running = list(self.operations.values())
            self.operations.clear()
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)  # their streams unsubscribe

    async def _watch(self) -> None:
        """Closes with 4408 when no connection is acknowledged in time, with 4403 when the token expires."""
        try:
            async with asyncio.timeout(self.realtime.config.init_timeout):
                await self._acknowledged.wait()
        except TimeoutError:
            await self._close(4408, "Connection initialisation timeout")
            return
        if self.expires_at is not None:
            await asyncio.sleep(max(self.expires_at - time.time(), 0.0))
            await self._close(4403, "Forbidden: access token expired")

    async def _handle(self, text: str) -> None:
        if len(text) > self.realtime.config.max_message_bytes:
            raise _Close(4400, "Message too large")
        try:
            message = loads(text)
        except orjson.JSONDecodeError:
            raise _Close(4400, "Invalid message received") from None
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "connection_init":
            await self._init(message.get("payload"))
        elif kind == "ping":
            await self._send({"type": "pong"})
        elif kind == "pong":
            pass
        elif kind == "subscribe":
            await self._subscribe(message.get("id"), message.get("payload"))
        elif kind == "complete":
            operation_id = message.get("id")
            if not isinstance(operation_id, str):
                raise _Close(4400, "Invalid message received")
            task = self.operations.pop(operation_id, None)
            if task is not None:
                task.cancel()
        else:
            raise _Close(4400, "Invalid message received")

    async def _init(self, payload: Any) -> None:
        if self._init_received:
            raise _Close(4429, "Too many initialisation requests")
        self._init_received = True
        payload = payload if payload is not None else {}
        if not isinstance(payload, dict):
            raise _Close(4400, "Invalid message received")
        authorization = payload.get("authorization", payload.get("Authorization"))
        tenant = payload.get("tenant")
        if not isinstance(authorization, str | None) or not isinstance(tenant, str | None):
            raise _Close(4403, "Forbidden")
        try:
            rid = self._request_id()
            self.ctx = await self.realtime.services.tenants.resolve(authorization, tenant, rid)
            self.expires_at = self.ctx.expires_at
        except RusToKError as exc:
            if isinstance(exc, Internal):
                log_internal(exc, rid, "graphql-transport-ws connection_init")
            raise _Close(4403, "Forbidden") from None
        self._acknowledged.set()
        await self._send({"type": "connection_ack"})

    async def _subscribe(self, operation_id: Any, payload: Any) -> None:
        if self.ctx is None:
            raise _Close(4401, "Unauthorized")
        if not isinstance(operation_id, str) or not operation_id or len(operation_id) > 128:
            raise _Close(4400, "Invalid message received")
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            raise _Close(4400, "Invalid message received")
        if operation_id in self.operations:
            raise _Close(4409, f"Subscriber for {operation_id} already exists")
        name, variables, extensions = payload.get("operationName"), payload.get("variables"), payload.get("extensions")
        if not (isinstance(name, str | None) and isinstance(variables, dict | None)):
            raise _Close(4400, "Invalid message received")
        operation = Operation(
            payload["query"],
            name,
            variables,
            extensions if isinstance(extensions, dict) else None,
            scope_client(self.ws.scope),
        )
        if len(self.operations) >= self.realtime.config.max_operations:
            refused = TooManyOperations(f"at most {self.realtime.config.max_operations} operations per socket")
            error = {"message": refused.message, "extensions": {"code": refused.code}}
            await self._send({"id": operation_id, "type": "error", "payload": [error]})
            return
        self.operations[operation_id] = asyncio.create_task(self._operate(operation_id, operation))

    async def _operate(self, operation_id: str, operation: Operation) -> None:
        assert self.ctx is not None
        try:
            outcome = await self.execute(operation, self.ctx)
            if isinstance(outcome, list):
                await self._send({"id": operation_id, "type": "error", "payload": outcome})
                return
            if isinstance(outcome, dict):
                await self._send({"id": operation_id, "type": "next", "payload": outcome})
            else:
                try:
                    async for result in outcome:
                        await self._send({"id": operation_id, "type": "next", "payload": result})
                finally:
                    aclose = getattr(outcome, "aclose", None)
                    if aclose is not None:
                        await aclose()
            await self._send({"id": operation_id, "type": "complete"})
        except RusToKError as exc:  # raised by a stream while it runs (a refused catch-up read)
            if isinstance(exc, Internal):
                log_internal(exc, self.ctx.request_id, "graphql-transport-ws operation")
            message = "internal error" if isinstance(exc, Internal) else exc.message
            error = {"message": message, "extensions": {"code": exc.code, "requestId": self.ctx.request_id}}
            await self._send({"id": operation_id, "type": "error", "payload": [error]})
        except Exception as exc:
            log_internal(exc, self.ctx.request_id, "graphql-transport-ws operation")
            error = {"message": "internal error", "extensions": {"code": "INTERNAL", "requestId": self.ctx.request_id}}
            await self._send({"id": operation_id, "type": "error", "payload": [error]})
        finally:
            if self.operations.get(operation_id) is asyncio.current_task():
                del self.operations[operation_id]

    def _request_id(self) -> str:
        return str(self.ws.scope.get("state", {}).get("request_id", ""))

    async def _send(self, message: JsonObject) -> None:
        async with self._send_lock:
            if self._closed:
                return
            try:
                await self.ws.send_text(orjson.dumps(message).decode())
            except (OSError, RuntimeError):  # the socket is gone
                self._closed = True

    async def _close(self, code: int, reason: str) -> None:
        async with self._send_lock:
            if self._closed:
                return
            self._closed = True
            with contextlib.suppress(OSError, RuntimeError):
                await self.ws.close(code, reason)
