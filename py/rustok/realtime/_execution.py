"""How the socket runs GraphQL operations with the process's GraphQL executor.

Every operation goes through its `start` (the same preparation, caches, limits and error masking as over
HTTP): a response without `data` was refused before it ran and becomes the protocol's `error`
message. Resolvers see the same context as over HTTP: `services`, `ctx` (the
connection's RequestContext) and `request` (an object whose `ctx` is that context); `client` is the
connection's address key, for the executor's per-client share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from rustok.api.context import RequestContext
from rustok.api.services import Services
from rustok.graphql.executor import GraphQLExecutor
from rustok.realtime.ws import Executor, Operation, Outcome
from rustok.types import JsonObject


@dataclass(frozen=True, slots=True)
class SocketRequest:
    """What resolvers find as info.context["request"] on the socket."""

    ctx: RequestContext


def socket_executor(executor: GraphQLExecutor, services: Services) -> Executor:
    async def run(operation: Operation, ctx: RequestContext) -> Outcome:
        context = {"services": services, "ctx": ctx, "request": SocketRequest(ctx), "client": operation.client}
        payload = {
            "query": operation.query,
            "variables": operation.variables,
            "operationName": operation.operation_name,
            "extensions": operation.extensions,
        }
        started: JsonObject | AsyncIterator[JsonObject] = await executor.start(payload, ctx, context)
        if isinstance(started, dict):
            # one answer: a query or mutation's result, or what kept a subscription from starting
            errors: list[JsonObject] = list(started.get("errors") or [])
            return started if "data" in started else errors
        return started

    return run
