"""Limits on what one GraphQL document and one operation may ask for, checked cheapest first, so that no
document makes the server work more than linearly in its size:

1. the text: its length and its tokens, while it is parsed (graphql-core stops at the limit);
2. its shape, read from the parsed document without expanding anything (`survey`): operations,
   fragments, fragment spreads;
3. the selected operation, measured after expanding fragments (`measure`): nesting depth, aliases, and cost
   (each field costs 1; a field with a `first`/`last` argument multiplies the cost of what it selects by that
   page size). Every fragment is measured once, whatever the number of its spreads, and the walk stops at the
   first part that passes a limit;
4. only then graphql-core's validation (prepare.py), whose one super-linear rule (overlapping fields)
   runs on a work budget of its own, `max_merge_work`.

Introspection (`__schema`, `__type`) counts towards cost but not towards depth: graphql-core's
MaxIntrospectionDepthRule bounds how deeply its lists nest, and the standard introspection query of every
client (GraphiQL, graphql-codegen, Apollo) is deeper than any data query needs to be."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SchemaMetaFieldDef,
    SelectionSetNode,
    TypeMetaFieldDef,
    VariableNode,
    get_named_type,
    value_from_ast_untyped,
)

from rustok.errors import QueryTooComplex, QueryTooDeep, TooManyAliases, TooManyOperations


@dataclass(frozen=True)
class Limits:
    max_depth: int = 12
    max_aliases: int = 30
    max_cost: int = 10_000
    max_tokens: int = 5_000
    max_operations: int = 10  # operations in one batched request, and in one document
    max_body_bytes: int = 256 * 1024  # a request body, and so the longest query text
    max_fragments: int = 100  # fragment definitions in one document
    max_spreads: int = 500  # fragment spreads in one document
    max_merge_work: int = 10_000  # graphql-core's budget for checking that same-named fields merge
    max_validation_errors: int = 10  # validation stops there (each error may compute suggestions)
    max_pending_documents: int = 64  # new documents waiting to be prepared at once, per process
    max_pending_documents_per_client: int = 4  # of those, from one user or one client address
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class Shape:
    """What a parsed document holds, counted without expanding fragments."""

    tokens: int
    operations: int
    fragments: int
    spreads: int


@dataclass(frozen=True)
class Measure:
    depth: int
    aliases: int
    cost: int
    page_variables: frozenset[str] = frozenset()  # the variables whose values set page sizes


def survey(document: DocumentNode, tokens: int) -> Shape:
    """One pass over the definitions and selection sets (no fragment is expanded); `tokens` as the parser
    counted them."""
    operations = fragments = spreads = 0
    pending: list[SelectionSetNode] = []
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            operations += 1
        elif isinstance(definition, FragmentDefinitionNode):
            fragments += 1
        else:
            continue  # type definitions: validation refuses them
        pending.append(definition.selection_set)
    while pending:
        for node in pending.pop().selections:
            if isinstance(node, FragmentSpreadNode):
                spreads += 1
            elif isinstance(node, (FieldNode, InlineFragmentNode)) and node.selection_set is not None:
                pending.append(node.selection_set)
    return Shape(tokens=tokens, operations=operations, fragments=fragments, spreads=spreads)


def check_shape(limits: Limits, shape: Shape) -> None:
    """Raises TooManyOperations or QueryTooComplex (details: limit, found, and which count)."""
    if shape.operations > limits.max_operations:
        raise TooManyOperations(
            "the document has too many operations", {"limit": limits.max_operations, "found": shape.operations}
        )
    for counted, what, found, limit in (
        ("fragments", "fragments", shape.fragments, limits.max_fragments),
        ("spreads", "fragment spreads", shape.spreads, limits.max_spreads),
    ):
        if found > limit:
            raise QueryTooComplex(
                f"the document has too many {what}", {"limit": limit, "found": found, "counted": counted}
            )


def measure(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    limits: Limits,
) -> Measure:
    """The operation's depth, aliases and cost after expanding fragments, in time linear in the document.

    Raises TooManyAliases or QueryTooComplex as soon as one part of the operation passes the limit (a part
    counts at least once in the whole: page sizes are at least 1), so `found` in the details is a lower bound.
    Unknown fragments and fragment cycles count as empty here: validation, which runs next, refuses them."""
    walker = _Walker(schema, variables, operation, limits)
    for name in _dependencies_first(operation, fragments):
        fragment = fragments[name]
        on = schema.get_type(fragment.type_condition.name.value)
        walker.done[name] = walker.selection(fragment.selection_set, on)
    found = walker.selection(operation.selection_set, schema.get_root_type(operation.operation))
    return Measure(found.depth, found.aliases, found.cost, frozenset(walker.page_variables))


def enforce(limits: Limits, found: Measure) -> None:
    """Raises QueryTooDeep, TooManyAliases or QueryTooComplex, with the limit and the value in details."""
    if found.depth > limits.max_depth:
        raise QueryTooDeep("operation is nested too deeply", {"limit": limits.max_depth, "found": found.depth})
    _check_aliases(limits, found.aliases)
    _check_cost(limits, found.cost)


def _check_aliases(limits: Limits, found: int) -> None:
    if found > limits.max_aliases:
        raise TooManyAliases("operation uses too many aliases", {"limit": limits.max_aliases, "found": found})


def _check_cost(limits: Limits, found: int) -> None:
    if found > limits.max_cost:
        raise QueryTooComplex("operation is too expensive", {"limit": limits.max_cost, "found": _reported(found)})


_LARGEST_REPORTED = 2**53 - 1  # the largest integer every JSON client reads exactly (JavaScript's safe integers)


def _reported(found: int) -> int:
    """A count as the details report it: a page size given as a huge literal (first: 2**63) makes the cost
    an integer no JSON encoder or client handles, so it is capped."""
    return min(found, _LARGEST_REPORTED)


@dataclass(frozen=True)
class _Part:
    depth: int  # relative to where the part is used
    cost: int
    aliases: int


_EMPTY = _Part(0, 0, 0)
_INTROSPECTION: dict[str, GraphQLField] = {"__schema": SchemaMetaFieldDef, "__type": TypeMetaFieldDef}


def _spread_names(selection_set: SelectionSetNode) -> Iterator[str]:
    """The names of the fragments spread anywhere inside a selection set (not inside those fragments)."""
    pending = [selection_set]
    while pending:
        for node in pending.pop().selections:
            if isinstance(node, FragmentSpreadNode):
                yield node.name.value
            elif isinstance(node, (FieldNode, InlineFragmentNode)) and node.selection_set is not None:
                pending.append(node.selection_set)


def _dependencies_first(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> list[str]:
    """The fragments the operation reaches, each after every fragment it spreads; without recursion, so a long
    chain of fragments cannot exhaust the stack. A cycle is cut where it closes."""
    order: list[str] = []
    seen: set[str] = set()
    stack: list[tuple[str | None, Iterator[str]]] = [(None, _spread_names(operation.selection_set))]
    while stack:
        name, spreads = stack[-1]
        spread = next(spreads, None)
        if spread is None:
            stack.pop()
            if name is not None:
                order.append(name)
        elif spread not in seen and spread in fragments:
            seen.add(spread)
            stack.append((spread, _spread_names(fragments[spread].selection_set)))
    return order


class _Walker:
    def __init__(
        self,
        schema: GraphQLSchema,
        variables: Mapping[str, Any],
        operation: OperationDefinitionNode,
        limits: Limits,
    ) -> None:
        self.schema = schema
        self.variables = variables
        self.defaults = {
            d.variable.name.value: d.default_value for d in operation.variable_definitions or () if d.default_value
        }
        self.limits = limits
        self.done: dict[str, _Part] = {}  # each fragment's part, measured once
        self.page_variables: set[str] = set()

    def selection(self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None) -> _Part:
        """The part a selection set adds under `parent`: its depth below the enclosing field, cost, aliases.
        Recursion follows the document's nesting only, which the parser bounds."""
        if selection_set is None:
            return _EMPTY
        depth = cost = aliases = 0
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                part = self.field(node, parent)
            elif isinstance(node, InlineFragmentNode):
                inner = self.schema.get_type(node.type_condition.name.value) if node.type_condition else parent
                part = self.selection(node.selection_set, inner)
            elif isinstance(node, FragmentSpreadNode):
                part = self.done.get(node.name.value, _EMPTY)
            else:
                continue
            depth, cost, aliases = max(depth, part.depth), cost + part.cost, aliases + part.aliases
        _check_cost(self.limits, cost)
        _check_aliases(self.limits, aliases)
        return _Part(depth, cost, aliases)

    def field(self, node: FieldNode, parent: GraphQLNamedType | None) -> _Part:
        name = node.name.value
        definition = _INTROSPECTION.get(name)
        if definition is None and isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
            definition = parent.fields.get(name)
        inner = self.selection(node.selection_set, get_named_type(definition.type) if definition else None)
        cost = 1 + self._page_size(node, definition) * inner.cost
        aliases = inner.aliases + (node.alias is not None)
        _check_cost(self.limits, cost)
        _check_aliases(self.limits, aliases)
        depth = 1 if name in _INTROSPECTION else 1 + inner.depth  # introspection: its own bound (see above)
        return _Part(depth, cost, aliases)

    def _page_size(self, node: FieldNode, definition: GraphQLField | None) -> int:
        for name in ("first", "last"):
            given = next((a for a in node.arguments or () if a.name.value == name), None)
            value: Any = None
            if given is not None and isinstance(given.value, VariableNode):
                variable = given.value.name.value
                self.page_variables.add(variable)
                if variable in self.variables:
                    value = self.variables[variable]
                elif variable in self.defaults:
                    value = value_from_ast_untyped(self.defaults[variable])
                elif definition is not None and name in definition.args:
                    value = definition.args[name].default_value  # an absent variable leaves the argument unset
            elif given is not None:
                value = value_from_ast_untyped(given.value)
            elif definition is not None and name in definition.args:
                value = definition.args[name].default_value
            if isinstance(value, int) and value > 0:
                return value
        return 1
