"""How the socket runs GraphQL operations with the GraphQL part's executor (`services.graphql`).

Every operation goes through its `start` (the same preparation, caches, limits and error masking as over
HTTP): a response without `data` was refused before it ran and becomes the protocol's `error`
message. Resolvers see the same context as over HTTP: `services`, `ctx` (the
connection's RequestContext) and `request` (an object whose `ctx` is that context); `client` is the
connection's address key, for the executor's per-client share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from rustok.api.context import RequestContext
from rustok.api.services import Services
from rustok.errors import Internal
from rustok.realtime.ws import Executor, Operation, Outcome


@dataclass(frozen=True, slots=True)
class SocketRequest:
    """What resolvers find as info.context["request"] on the socket."""

    ctx: RequestContext


def services_executor(services: Services) -> Executor:
    async def run(operation: Operation, ctx: RequestContext) -> Outcome:
        executor = services.graphql
        if executor is None:
            raise Internal("no GraphQL schema is set up")
        context = {"services": services, "ctx": ctx, "request": SocketRequest(ctx), "client": operation.client}
        payload = {
            "query": operation.query,
            "variables": operation.variables,
            "operationName": operation.operation_name,
            "extensions": operation.extensions,
        }
        started: dict[str, Any] | AsyncIterator[dict[str, Any]] = await executor.start(payload, ctx, context)
        if isinstance(started, dict):
            # one answer: a query or mutation's result, or what kept a subscription from starting
            errors: list[dict[str, Any]] = list(started.get("errors") or [])
            return started if "data" in started else errors
        return started

    return run
