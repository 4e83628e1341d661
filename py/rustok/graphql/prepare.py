"""A query text made into a prepared document: parsed, within every limit, validated; the cheap checks first
and the costly ones only for documents that passed them (limits.py has the order and the reasons).

`prepare` runs in the executor's preparation thread, off the event loop; `measured` is what a request for a
document already prepared costs (a dictionary look-up, or one linear walk for new page sizes)."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    MaxIntrospectionDepthRule,
    OperationDefinitionNode,
    OverlappingFieldsCanBeMergedRule,
    ValidationContext,
    ValidationRule,
    parse,
    specified_rules,
    validate,
)
from graphql.validation.validate import ValidationAbortedError

from rustok.errors import (
    BadRequest,
    GraphQLValidationFailed,
    IntrospectionDisabled,
    PayloadTooLarge,
    QueryTooComplex,
    QueryTooDeep,
    RusToKError,
    TooManyTokens,
)
from rustok.graphql import scalars
from rustok.graphql.caches import document_bytes
from rustok.graphql.limits import Limits, Measure, Shape, check_shape, enforce, measure, survey
from rustok.graphql.plan import Plan, compile_plan

_MEASURES_KEPT = 32  # measures kept per document (one per operation and page sizes)
_ABSENT, _NOT_A_PAGE_SIZE = "absent", "not a page size"
_TOO_MANY_TOKENS = "Syntax Error: Document contains more than"  # graphql-core's message for max_tokens

OperationKey = str | None


@dataclass
class Prepared:
    """A parsed and validated document, with per-operation facts computed once."""

    document: DocumentNode
    operations: dict[OperationKey, OperationDefinitionNode]
    fragments: dict[str, FragmentDefinitionNode]
    shape: Shape
    size: int  # estimated bytes it pins in the cache
    page_variables: dict[OperationKey, frozenset[str]] = field(default_factory=dict)
    measures: dict[tuple[OperationKey, tuple[Any, ...]], Measure] = field(default_factory=dict)
    plans: dict[OperationKey, Plan | None] = field(default_factory=dict)

    def operation(self, name: str | None) -> OperationDefinitionNode:
        if name is None and len(self.operations) > 1:
            raise BadRequest("the document has several operations: name one (operationName)")
        op = self.operations.get(name) if name is not None else next(iter(self.operations.values()), None)
        if op is None:
            raise BadRequest("no such operation in the document", {"operationName": name})
        return op


def prepare(
    schema: GraphQLSchema,
    query: str,
    operation_name: str | None,
    variables: Mapping[str, Any],
    limits: Limits,
    introspection: bool,
) -> Prepared:
    """The prepared document, or the RusToKError of the first check it fails: PayloadTooLarge, TooManyTokens
    and BadRequest (parsing); TooManyOperations and QueryTooComplex (shape); QueryTooDeep, TooManyAliases and
    QueryTooComplex (the selected operation); GraphQLValidationFailed, IntrospectionDisabled, QueryTooDeep and
    QueryTooComplex (validation)."""
    if len(query) > limits.max_body_bytes:  # GET and WebSocket requests have no body limit of their own
        raise PayloadTooLarge("the query is too long", {"limit": limits.max_body_bytes})
    try:
        document = parse(query, max_tokens=limits.max_tokens, no_location=False)
    except GraphQLError as exc:
        if exc.message.startswith(_TOO_MANY_TOKENS):
            raise TooManyTokens("the document is too long", {"limit": limits.max_tokens}) from None
        raise BadRequest(f"syntax error: {exc.message}", _locations(exc)) from None
    shape = survey(document, _cut_token_chain(document))
    check_shape(limits, shape)
    operations = {operation_key(d): d for d in document.definitions if isinstance(d, OperationDefinitionNode)}
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    prepared = Prepared(document, operations, fragments, shape, document_bytes(query, shape.tokens))
    operation = prepared.operation(operation_name)
    enforce(limits, measured(schema, prepared, operation, variables, limits))
    _validate(schema, document, limits, introspection)
    planned(schema, prepared, operation)
    return prepared


def known_measure(
    prepared: Prepared, operation: OperationDefinitionNode, variables: Mapping[str, Any]
) -> Measure | None:
    """The operation's measure for these variables if it was taken before (measures are kept per page sizes,
    since nothing else in the variables changes them)."""
    key = operation_key(operation)
    page_variables = prepared.page_variables.get(key)
    if page_variables is None:
        return None
    return prepared.measures.get((key, _page_sizes(page_variables, variables)))


def measured(
    schema: GraphQLSchema,
    prepared: Prepared,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any],
    limits: Limits,
) -> Measure:
    """The operation's measure for these variables, taken and kept. Raises like limits.measure."""
    key = operation_key(operation)
    found = measure(schema, operation, prepared.fragments, variables, limits)
    if len(prepared.measures) >= _MEASURES_KEPT:
        prepared.measures.clear()
    prepared.page_variables[key] = found.page_variables
    prepared.measures[(key, _page_sizes(found.page_variables, variables))] = found
    return found


def planned(schema: GraphQLSchema, prepared: Prepared, operation: OperationDefinitionNode) -> Plan | None:
    """The operation's plan (plan.py), compiled once."""
    key = operation_key(operation)
    if key not in prepared.plans:
        prepared.plans[key] = compile_plan(schema, operation, prepared.fragments)
    return prepared.plans[key]


def operation_key(operation: OperationDefinitionNode) -> OperationKey:
    """How a document's facts about one of its operations are keyed: the operation's name, if any."""
    return operation.name.value if operation.name else None


def _page_sizes(names: frozenset[str], variables: Mapping[str, Any]) -> tuple[Any, ...]:
    """What a measure depends on: for each page-size variable, absent, a positive int, or anything else."""
    return tuple(_page_size(variables, name) for name in sorted(names))


def _page_size(variables: Mapping[str, Any], name: str) -> Any:
    if name not in variables:
        return _ABSENT
    value = variables[name]
    return value if isinstance(value, int) and value > 0 else _NOT_A_PAGE_SIZE


def _validate(schema: GraphQLSchema, document: DocumentNode, limits: Limits, introspection: bool) -> None:
    """graphql-core's validation with this server's rules; suggestions ("Did you mean …") only where
    introspection is on, since they would tell the schema to whoever asks."""
    errors = validate(
        schema,
        document,
        _rules(introspection, limits.max_merge_work),
        max_errors=limits.max_validation_errors,
        hide_suggestions=not introspection,
    )
    if not errors:
        return
    for error in errors:
        refused = scalars.refusal(error, document)  # a scalar's refusal of a literal, with its field
        if refused is not None:
            raise refused
        if isinstance(error.original_error, RusToKError):
            raise error.original_error
    last = errors[-1]
    if isinstance(last, ValidationAbortedError) and len(errors) <= limits.max_validation_errors:
        # not the error count: the merge check spent its budget, or fragments nest past the stack
        raise QueryTooComplex("the document is too complex to validate", {"limit": limits.max_merge_work})
    messages = [e.message if introspection else without_suggestions(e.message) for e in errors[:5]]
    raise GraphQLValidationFailed(messages[0], {"errors": messages})


_SUGGESTION = re.compile(r" ?Did you mean [^?]*\?")


def without_suggestions(message: str) -> str:
    """A validation message without its "Did you mean …?": graphql-core's hide_suggestions does not cover
    every rule (ScalarLeafsRule's "Did you mean 'node { ... }'?"), so every rule's message goes through
    this where introspection is off."""
    return _SUGGESTION.sub("", message)


@functools.cache
def _rules(introspection: bool, merge_budget: int) -> tuple[type[ASTValidationRule], ...]:
    replaced: dict[type[ASTValidationRule], type[ASTValidationRule]] = {
        OverlappingFieldsCanBeMergedRule: _budgeted_merging(merge_budget),
        MaxIntrospectionDepthRule: _IntrospectionDepth,
    }
    rules = [replaced.get(rule, rule) for rule in specified_rules]
    if not introspection:
        rules.append(_NoIntrospection)
    return tuple(rules)


def _budgeted_merging(budget: int) -> type[ASTValidationRule]:
    class BudgetedMerging(OverlappingFieldsCanBeMergedRule):
        """graphql-core's check that same-named fields merge, on a budget of `budget` comparisons (its own
        default, 500,000, is seconds of work here); past it the whole validation is aborted."""

        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.rule_context.remaining_complexity_budget = budget

    return BudgetedMerging


class _IntrospectionDepth(MaxIntrospectionDepthRule):
    """graphql-core's bound on introspection lists nested in introspection lists (`__type { fields { type {
    fields …`), answered with this server's code for depth."""

    def report_error(self, error: GraphQLError) -> None:
        refusal = QueryTooDeep("introspection lists are nested too deeply", {"limit": "introspection lists"})
        super().report_error(GraphQLError(error.message, error.nodes, original_error=refusal))


class _NoIntrospection(ValidationRule):
    """Refuses __schema and __type where introspection is off (__typename stays allowed)."""

    def enter_field(self, node: FieldNode, *args: Any) -> None:
        if node.name.value in ("__schema", "__type"):
            self.report_error(
                GraphQLError(
                    "introspection is disabled", node, original_error=IntrospectionDisabled("introspection is disabled")
                )
            )


def _cut_token_chain(document: DocumentNode) -> int:
    """Counts the document's tokens and unlinks them: the parser leaves them in a doubly linked list, a
    reference cycle that only CPython's cyclic garbage collector frees, in a pause of the whole process that
    grows with everything it holds. Unlinked, a refused or evicted document is freed at once, and the tokens
    no AST node points to (punctuation) right away. Nothing after the parser follows the links: error
    locations come from each node's offsets into the source."""
    count = 0
    token = document.loc.start_token if document.loc is not None else None
    while token is not None:
        following = token.next
        token.prev = token.next = None
        count += 1
        token = following
    return count


def _locations(error: GraphQLError) -> dict[str, Any]:
    if not error.locations:
        return {}
    return {"line": error.locations[0].line, "column": error.locations[0].column}
