"""Running GraphQL requests: persisted queries, a cache of prepared documents, limits, a timeout, error masking.

Per request only what must be done per request. A document seen before is neither parsed nor validated
again (the cache is keyed by the query text), and an operation the planner understands skips graphql-core's
executor entirely (see plan.py). Everything that walks a document — preparing a new one (prepare.py),
measuring an operation for new page sizes, compiling a plan — runs in one preparation thread per process,
so the event loop does only look-ups before execution, whatever the document; the loop shares the CPU
with that thread (the interpreter switches between them every few milliseconds) instead of waiting for it.

Every way in — POST (one operation or a batch), GET, the WebSocket — goes through `_checked`."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any, TypeVar

from graphql import (
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    execute,
    subscribe,
)

from rustok.api.context import RequestContext
from rustok.api.errors import log_internal
from rustok.api.json_depth import collection_paused
from rustok.api.replica import routing
from rustok.errors import (
    BadRequest,
    Internal,
    PersistedQueryNotFound,
    RateLimited,
    RusToKError,
    Timeout,
    Unavailable,
    internal_from,
)
from rustok.graphql import scalars
from rustok.graphql.caches import ByteBoundedLRU, text_bytes
from rustok.graphql.limits import Limits, check_shape, enforce
from rustok.graphql.prepare import Prepared, known_measure, measured, operation_key, planned, prepare
from rustok.types import JsonObject

log = logging.getLogger("rustok.graphql")

# One thread per process prepares documents: CPU-bound Python gains nothing from more, and one bounds how
# much of the process new documents can take.
_PREPARATION = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rustok-graphql-prepare")
T = TypeVar("T")
# Variable errors reported before coercion stops: graphql-core's message for each one inspects the whole value
# it sits in (a list of all its items), so 50 errors in a 26,000-key object held the event loop 0.5 s.
MAX_COERCION_ERRORS = 1


def requester(ctx: RequestContext, address: str | None) -> str | None:
    """Whose share of the preparation thread a request uses: the signed-in user's, else its client address
    key's (api/clients.client_key: the peer, or the address a proxy uvicorn trusts reports), else None (no
    address, e.g. a Unix socket without a proxy: only the bound for all applies)."""
    if ctx.user_id is not None:
        return f"user:{ctx.user_id}"
    return address


@dataclass(frozen=True, slots=True)
class OperationReport:
    """One operation run through `GraphQLExecutor.run`, as the executor saw it: its name (`anonymous` when it
    has none; for a request refused before an operation was chosen, the operationName it sent, `anonymous`
    without one, `invalid` when that is not a GraphQL name), its type (query, mutation, subscription; `unknown`
    when refused before an operation was chosen), its outcome (`ok`, or the first error's code) and its time."""

    name: str
    type: str
    outcome: str
    seconds: float


OperationObserver = Callable[[OperationReport], None]


@dataclass(frozen=True)
class Checked:
    """A request within every limit: its prepared document, the operation it selects, its variables."""

    prepared: Prepared
    operation: OperationDefinitionNode
    variables: Mapping[str, Any]


class GraphQLExecutor:
    def __init__(
        self,
        schema: GraphQLSchema,
        limits: Limits,
        introspection: bool,
        *,
        document_cache_bytes: int,
        persisted_cache_bytes: int,
        observe: OperationObserver | None = None,
    ) -> None:
        self.schema = schema
        self.observe = observe  # told of every operation `run` answers (the metrics listen)
        self.limits = limits
        self.introspection = introspection  # also: validation and coercion errors suggest names only if on
        self.documents: ByteBoundedLRU[Prepared] = ByteBoundedLRU(document_cache_bytes)
        self.persisted: ByteBoundedLRU[str] = ByteBoundedLRU(persisted_cache_bytes)
        self._pending = 0  # calls waiting for or in the preparation thread
        self._pending_by_client: dict[str, int] = {}  # the same, by requester() (only clients with some)

    # -- the ways in ----------------------------------------------------------------------------------------

    async def run(self, request: Any, ctx: RequestContext, context: JsonObject) -> JsonObject:
        """The response ({data, errors}) for one operation request {query, variables, operationName, extensions};
        `observe` is told its name, type and outcome. context["client"] is the client's address key
        (api/clients.py), for its share of the preparation."""
        started = time.perf_counter()
        operation: OperationDefinitionNode | None = None
        try:
            checked = await self._checked(request, requester(ctx, context.get("client")))
        except RusToKError as exc:
            response = {"errors": [_error_dict(exc, ctx.request_id)]}
        else:
            operation = checked.operation
            response = await self._run(checked, ctx, context)
        if self.observe is not None:
            self.observe(_report(request, operation, response, time.perf_counter() - started))
        return response

    async def start(
        self, request: Any, ctx: RequestContext, context: JsonObject
    ) -> JsonObject | AsyncIterator[JsonObject]:
        """Any operation, for the WebSocket: a subscription's async iterator of responses once it has started;
        otherwise one response (a query's or mutation's result, or the errors that kept it from running)."""
        try:
            checked = await self._checked(request, requester(ctx, context.get("client")))
        except RusToKError as exc:
            return {"errors": [_error_dict(exc, ctx.request_id)]}
        if checked.operation.operation is OperationType.SUBSCRIPTION:
            return await self._subscribe(checked, ctx, context)
        return await self._run(checked, ctx, context)

    async def selected_operation(self, request: Any, client: str | None = None) -> OperationType:
        """The kind of operation a request selects, from its parsed document (prepared and checked as for
        running it, so running it next costs only look-ups). Raises the RusToKError that would refuse it."""
        return (await self._checked(request, client)).operation.operation

    # -- checks -------------------------------------------------------------------------------------------

    async def _checked(self, request: Any, client: str | None = None) -> Checked:
        """The prepared document, the chosen operation and its variables, within every limit."""
        if not isinstance(request, Mapping):
            raise BadRequest("each operation is a JSON object {query, variables, operationName}")
        query, digest = self._query_text(request)
        variables = request.get("variables") or {}
        if not isinstance(variables, dict):
            raise BadRequest("variables must be an object")
        name = request.get("operationName")
        if name is not None and not isinstance(name, str):
            raise BadRequest("operationName must be a string")
        prepared = self.documents.get(query)
        if prepared is None:
            prepared = await self._off_loop(
                client, prepare, self.schema, query, name, variables, self.limits, self.introspection
            )
            self.documents.put(query, prepared, prepared.size)
        check_shape(self.limits, prepared.shape)
        operation = prepared.operation(name)
        found = known_measure(prepared, operation, variables)
        if found is None:
            found = await self._off_loop(client, measured, self.schema, prepared, operation, variables, self.limits)
        enforce(self.limits, found)
        if digest is not None:  # registered only now: a refused document never takes room in the cache
            self.persisted.put(digest, query, text_bytes(digest, query))
        return Checked(prepared, operation, variables)

    def _query_text(self, request: Mapping[str, Any]) -> tuple[str, str | None]:
        """The query, resolving automatic persisted queries (sha256 of the text) both ways; with the hash to
        register it under when the request sends both."""
        query = request.get("query")
        extensions = request.get("extensions") or {}
        persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
        digest: str | None = None
        if isinstance(persisted, dict):
            digest = persisted.get("sha256Hash")
            if not isinstance(digest, str) or persisted.get("version", 1) != 1:
                raise BadRequest("persistedQuery needs version 1 and a sha256Hash")
            if query is None:
                known = self.persisted.get(digest)
                if known is None:
                    raise PersistedQueryNotFound("PersistedQueryNotFound")
                return known, None
            if not isinstance(query, str) or hashlib.sha256(query.encode()).hexdigest() != digest:
                raise BadRequest("the query does not match its sha256Hash")
        if not isinstance(query, str) or not query.strip():
            raise BadRequest("a query is required")
        return query, digest

    async def _off_loop(self, client: str | None, work: Callable[..., T], *args: Any) -> T:
        """`work(*args)` in the preparation thread. RATE_LIMITED when this client (requester()) already has
        its share of calls waiting or running, so one client cannot fill the thread's queue; UNAVAILABLE when
        too many calls wait in all."""
        share = self.limits.max_pending_documents_per_client
        if client is not None and self._pending_by_client.get(client, 0) >= share:
            raise RateLimited(
                "too many new documents from this client at once; retry", {"limit": share, "retryAfter": 1}
            )
        if self._pending >= self.limits.max_pending_documents:
            raise Unavailable("too many new documents at once; retry", {"limit": self.limits.max_pending_documents})
        self._pending += 1
        if client is not None:
            self._pending_by_client[client] = self._pending_by_client.get(client, 0) + 1
        try:
            outcome = await asyncio.get_running_loop().run_in_executor(
                _PREPARATION, functools.partial(_captured, work, *args)
            )
        finally:
            self._pending -= 1
            if client is not None:
                left = self._pending_by_client.pop(client) - 1
                if left:
                    self._pending_by_client[client] = left
        if isinstance(outcome, RusToKError):
            raise outcome
        return outcome

    # -- execution ----------------------------------------------------------------------------------------

    async def _run(self, checked: Checked, ctx: RequestContext, context: JsonObject) -> JsonObject:
        try:
            async with asyncio.timeout(self.limits.timeout_seconds):
                with routing(checked.operation.operation):  # queries may read from a replica (api/replica.py)
                    return await self._execute(checked, ctx, context)
        except RusToKError as exc:
            return {"errors": [_error_dict(exc, ctx.request_id)]}
        except TimeoutError:
            return {"errors": [_error_dict(Timeout("operation took too long"), ctx.request_id)]}

    async def _execute(self, checked: Checked, ctx: RequestContext, context: JsonObject) -> JsonObject:
        prepared, operation, variables = checked.prepared, checked.operation, checked.variables
        key = operation_key(operation)
        plan = (
            prepared.plans[key]
            if key in prepared.plans
            else await self._off_loop(None, planned, self.schema, prepared, operation)
        )
        if plan is not None:
            data = await plan.run(context["services"].gateway, ctx, variables)
            if data is not None:
                return {"data": data}
            # the plan declined (an error or a null it cannot place): the general path answers exactly
        if operation.operation is OperationType.SUBSCRIPTION:
            raise BadRequest("subscriptions run over WebSocket (graphql-transport-ws) at /graphql")
        result = execute(
            self.schema,
            prepared.document,
            context_value=context,
            variable_values=dict(variables),
            operation_name=key,
            hide_suggestions=not self.introspection,
            max_coercion_errors=MAX_COERCION_ERRORS,
        )
        if not isinstance(result, ExecutionResult):
            result = await result
        return format_result(result, ctx.request_id)

    async def _subscribe(
        self, checked: Checked, ctx: RequestContext, context: JsonObject
    ) -> JsonObject | AsyncIterator[JsonObject]:
        started = subscribe(
            self.schema,
            checked.prepared.document,
            context_value=context,
            variable_values=dict(checked.variables),
            operation_name=operation_key(checked.operation),
            hide_suggestions=not self.introspection,
            max_coercion_errors=MAX_COERCION_ERRORS,
        )
        result = await started if isawaitable(started) else started
        if isinstance(result, ExecutionResult):
            return format_result(result, ctx.request_id)
        return _formatted(result, ctx.request_id)


def _report(
    request: Any, operation: OperationDefinitionNode | None, response: JsonObject, seconds: float
) -> OperationReport:
    errors = response.get("errors")
    outcome = errors[0]["extensions"]["code"] if errors else "ok"
    if operation is not None:
        name = operation.name.value if operation.name is not None else "anonymous"
        return OperationReport(name, operation.operation.value, outcome, seconds)
    given = request.get("operationName") if isinstance(request, Mapping) else ""
    if given is None:
        return OperationReport("anonymous", "unknown", outcome, seconds)
    name = given if isinstance(given, str) and _NAME.fullmatch(given) else "invalid"
    return OperationReport(name, "unknown", outcome, seconds)


_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,99}")  # a GraphQL name (of a sane length)


def _captured(work: Callable[..., T], *args: Any) -> T | RusToKError:
    """`work(*args)` in the preparation thread, keeping what it leaves behind young, because CPython's cyclic
    garbage collector pauses every thread for as long as the objects it walks:

    - automatic collection waits until the work is done: a collection during it would find the document
      alive and move its objects (graphql-core's validation leaves them in reference cycles) to an older
      generation, freed only by a full collection of everything the process holds (pauses of 50 to 280 ms
      measured with bench/graphql_limits.py); afterwards one young collection frees them (10 to 35 ms);
    - a RusToKError comes back without its traceback and context: their frames hold the refused document,
      and an exception kept by a future is itself a reference cycle."""
    with collection_paused():
        try:
            return work(*args)
        except RusToKError as refusal:
            refusal.__context__ = refusal.__cause__ = None
            return refusal.with_traceback(None)


async def _formatted(results: AsyncIterator[ExecutionResult], request_id: str) -> AsyncIterator[JsonObject]:
    try:
        async for result in results:
            yield format_result(result, request_id)
    finally:
        aclose = getattr(results, "aclose", None)
        if aclose is not None:
            await aclose()


def format_result(result: ExecutionResult, request_id: str) -> JsonObject:
    response: JsonObject = {"data": result.data}
    if result.errors:
        response["errors"] = [_graphql_error_dict(e, request_id) for e in result.errors]
    return response


def _graphql_error_dict(error: GraphQLError, request_id: str) -> JsonObject:
    original = error.original_error
    refused = scalars.refusal(error) if not error.path else None
    if refused is not None:
        # a variable refused by a scalar (scalars.py): its code, and the field it sits in
        body = _error_dict(refused, request_id)
    elif original is None or (not error.path and not isinstance(original, RusToKError)):
        # a GraphQL error proper, about the request itself: a variable that does not coerce (bad enum value,
        # wrong type), a non-null that got null — graphql-core's message names the variable, never data
        body = _error_dict(BadRequest(error.message), request_id)
    elif isinstance(original, RusToKError):
        body = _error_dict(original, request_id)
    else:
        body = _error_dict(internal_from(original), request_id)  # an unexpected error in a resolver
    if error.path:
        body["path"] = error.path
    if error.locations:
        body["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    return body


def _error_dict(error: RusToKError, request_id: str) -> JsonObject:
    """One GraphQL error as the client sees it; an INTERNAL one is logged here (the one place every GraphQL
    path — POST, batched, GET, WebSocket, subscriptions — formats its errors)."""
    if isinstance(error, Internal):
        log_internal(error, request_id, "graphql")
    message = "internal error" if isinstance(error, Internal) else error.message
    extensions: JsonObject = {"code": error.code, "requestId": request_id}
    if error.details:
        extensions["details"] = error.details
    return {"message": message, "extensions": extensions}
