"""Running GraphQL requests: persisted queries, a parse/validate cache, limits, a timeout, error masking.

Per request only what must be done per request: a document seen before is neither parsed nor validated again
(the cache is keyed by the query text), and an operation the planner understands skips graphql-core's
executor entirely (see plan.py)."""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from inspect import isawaitable
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    ValidationRule,
    execute,
    parse,
    specified_rules,
    subscribe,
    validate,
)

from rustok.api.context import RequestContext
from rustok.api.errors import log_internal
from rustok.api.replica import routing
from rustok.errors import (
    BadRequest,
    GraphQLValidationFailed,
    Internal,
    IntrospectionDisabled,
    PersistedQueryNotFound,
    RusToKError,
    Timeout,
    TooManyTokens,
    internal_from,
)
from rustok.graphql import scalars
from rustok.graphql.limits import Limits, Measure, enforce, measure
from rustok.graphql.plan import Plan, compile_plan


class _LRU(OrderedDict[str, Any]):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def get_fresh(self, key: str) -> Any:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value

    def put(self, key: str, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        if len(self) > self.size:
            self.popitem(last=False)


@dataclass
class Prepared:
    """A parsed and validated document, with per-operation facts computed once."""

    document: DocumentNode
    operations: dict[str | None, OperationDefinitionNode]
    fragments: dict[str, FragmentDefinitionNode]
    measures: dict[str | None, Measure] = field(default_factory=dict)  # only when no variable sets a page size
    plans: dict[str | None, Plan | None] = field(default_factory=dict)

    def operation(self, name: str | None) -> OperationDefinitionNode:
        if name is None and len(self.operations) > 1:
            raise BadRequest("the document has several operations: name one (operationName)")
        op = self.operations.get(name) if name is not None else next(iter(self.operations.values()), None)
        if op is None:
            raise BadRequest("no such operation in the document", {"operationName": name})
        return op


class GraphQLExecutor:
    def __init__(self, schema: GraphQLSchema, limits: Limits, introspection: bool, cache_size: int = 1000) -> None:
        self.schema = schema
        self.limits = limits
        rules: list[type[ASTValidationRule]] = list(specified_rules)
        if not introspection:
            rules.append(_NoIntrospection)
        self.rules = rules
        self._documents = _LRU(cache_size)
        self._persisted = _LRU(cache_size)

    # -- one operation --------------------------------------------------------------------------------------

    async def run(self, request: Any, ctx: RequestContext, context: dict[str, Any]) -> dict[str, Any]:
        """The response ({data, errors}) for one operation request {query, variables, operationName, extensions}."""
        try:
            prepared, operation, variables = self._checked(request)
            async with asyncio.timeout(self.limits.timeout_seconds):
                with routing(operation.operation):  # queries may read from a replica (api/replica.py)
                    return await self._execute(prepared, operation, variables, ctx, context)
        except RusToKError as exc:
            return {"errors": [_error_dict(exc, ctx.request_id)]}
        except TimeoutError:
            return {"errors": [_error_dict(Timeout("operation took too long"), ctx.request_id)]}

    async def subscribe(
        self, request: Any, ctx: RequestContext, context: dict[str, Any]
    ) -> dict[str, Any] | AsyncIterator[dict[str, Any]]:
        """A subscription, prepared and limited like any operation: an async iterator of responses once it
        has started, or one response with the errors that kept it from starting."""
        try:
            prepared, operation, variables = self._checked(request)
            if operation.operation is not OperationType.SUBSCRIPTION:
                raise BadRequest("not a subscription")
        except RusToKError as exc:
            return {"errors": [_error_dict(exc, ctx.request_id)]}
        started = subscribe(
            self.schema,
            prepared.document,
            context_value=context,
            variable_values=dict(variables),
            operation_name=operation.name.value if operation.name else None,
        )
        result = await started if isawaitable(started) else started
        if isinstance(result, ExecutionResult):
            return format_result(result, ctx.request_id)
        return _formatted(result, ctx.request_id)

    def operation_type(self, request: Any) -> OperationType | None:
        """The kind of operation a request asks for, or None when it cannot be prepared (run() reports why)."""
        try:
            return self._checked(request)[1].operation
        except RusToKError:
            return None

    def _checked(self, request: Any) -> tuple[Prepared, OperationDefinitionNode, Mapping[str, Any]]:
        """The prepared document, the chosen operation and its variables, within every limit."""
        if not isinstance(request, Mapping):
            raise BadRequest("each operation is a JSON object {query, variables, operationName}")
        query = self._query_text(request)
        variables = request.get("variables") or {}
        if not isinstance(variables, dict):
            raise BadRequest("variables must be an object")
        name = request.get("operationName")
        if name is not None and not isinstance(name, str):
            raise BadRequest("operationName must be a string")
        prepared = self._prepare(query)
        operation = prepared.operation(name)
        enforce(self.limits, self._measure(prepared, operation, variables))
        return prepared, operation, variables

    def _query_text(self, request: Mapping[str, Any]) -> str:
        """The query, resolving automatic persisted queries (sha256 of the text) both ways."""
        query = request.get("query")
        extensions = request.get("extensions") or {}
        persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
        if isinstance(persisted, dict):
            digest = persisted.get("sha256Hash")
            if not isinstance(digest, str) or persisted.get("version", 1) != 1:
                raise BadRequest("persistedQuery needs version 1 and a sha256Hash")
            if query is None:
                known = self._persisted.get_fresh(digest)
                if known is None:
                    raise PersistedQueryNotFound("PersistedQueryNotFound")
                return str(known)
            if not isinstance(query, str) or hashlib.sha256(query.encode()).hexdigest() != digest:
                raise BadRequest("the query does not match its sha256Hash")
            self._persisted.put(digest, query)
        if not isinstance(query, str) or not query.strip():
            raise BadRequest("a query is required")
        return query

    def _prepare(self, query: str) -> Prepared:
        prepared = self._documents.get_fresh(query)
        if prepared is not None:
            return prepared  # type: ignore[no-any-return]
        try:
            document = parse(query, max_tokens=self.limits.max_tokens, no_location=False)
        except GraphQLError as exc:
            if "tokens" in exc.message and "more than" in exc.message:
                raise TooManyTokens("the document is too long", {"limit": self.limits.max_tokens}) from None
            raise BadRequest(f"syntax error: {exc.message}", _locations(exc)) from None
        errors = validate(self.schema, document, self.rules)
        if errors:
            first = errors[0]
            refused = scalars.refusal(first, document)  # a scalar's refusal of a literal, with its field
            if refused is not None:
                raise refused
            raise GraphQLValidationFailed(first.message, {"errors": [e.message for e in errors[:5]]})
        operations = {
            (d.name.value if d.name else None): d
            for d in document.definitions
            if isinstance(d, OperationDefinitionNode)
        }
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        prepared = Prepared(document, operations, fragments)
        self._documents.put(query, prepared)
        return prepared

    def _measure(self, prepared: Prepared, operation: OperationDefinitionNode, variables: Mapping[str, Any]) -> Measure:
        key = operation.name.value if operation.name else None
        cached: Measure | None = prepared.measures.get(key)
        if cached is not None:
            return cached
        found = measure(self.schema, operation, prepared.fragments, variables)
        if not operation.variable_definitions:
            prepared.measures[key] = found
        return found

    async def _execute(
        self,
        prepared: Prepared,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
        ctx: RequestContext,
        context: dict[str, Any],
    ) -> dict[str, Any]:
        key = operation.name.value if operation.name else None
        if key not in prepared.plans:
            prepared.plans[key] = compile_plan(self.schema, operation, prepared.fragments)
        plan = prepared.plans[key]
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
            operation_name=operation.name.value if operation.name else None,
        )
        if not isinstance(result, ExecutionResult):
            result = await result
        return format_result(result, ctx.request_id)


async def _formatted(results: AsyncIterator[ExecutionResult], request_id: str) -> AsyncIterator[dict[str, Any]]:
    try:
        async for result in results:
            yield format_result(result, request_id)
    finally:
        aclose = getattr(results, "aclose", None)
        if aclose is not None:
            await aclose()


def format_result(result: ExecutionResult, request_id: str) -> dict[str, Any]:
    response: dict[str, Any] = {"data": result.data}
    if result.errors:
        response["errors"] = [_graphql_error_dict(e, request_id) for e in result.errors]
    return response


def _graphql_error_dict(error: GraphQLError, request_id: str) -> dict[str, Any]:
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


def _error_dict(error: RusToKError, request_id: str) -> dict[str, Any]:
    """One GraphQL error as the client sees it; an INTERNAL one is logged here (the one place every GraphQL
    path — POST, batched, GET, WebSocket, subscriptions — formats its errors)."""
    if isinstance(error, Internal):
        log_internal(error, request_id, "graphql")
    message = "internal error" if isinstance(error, Internal) else error.message
    extensions: dict[str, Any] = {"code": error.code, "requestId": request_id}
    if error.details:
        extensions["details"] = error.details
    return {"message": message, "extensions": extensions}


def _locations(error: GraphQLError) -> dict[str, Any]:
    if not error.locations:
        return {}
    return {"line": error.locations[0].line, "column": error.locations[0].column}


class _NoIntrospection(ValidationRule):
    """Refuses __schema and __type where introspection is off (__typename stays allowed)."""

    def enter_field(self, node: FieldNode, *args: Any) -> None:
        if node.name.value in ("__schema", "__type"):
            self.report_error(
                GraphQLError(
                    "introspection is disabled", node, original_error=IntrospectionDisabled("introspection is disabled")
                )
            )
