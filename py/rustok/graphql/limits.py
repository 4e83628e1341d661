"""Limits on what one operation may ask for, measured after expanding fragments (so a fragment spread ten
times counts ten times): nesting depth, aliases, and cost (each field costs 1; a field with a `first`/`last`
argument multiplies the cost of what it selects by that page size)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    value_from_ast_untyped,
)

from rustok.errors import QueryTooComplex, QueryTooDeep, TooManyAliases


@dataclass(frozen=True)
class Limits:
    max_depth: int = 12
    max_aliases: int = 30
    max_cost: int = 10_000
    max_tokens: int = 5_000
    max_operations: int = 10
    max_body_bytes: int = 256 * 1024
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class Measure:
    depth: int
    aliases: int
    cost: int


def measure(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any] | None = None,
) -> Measure:
    root = schema.get_root_type(operation.operation)
    walker = _Walker(schema, fragments, variables or {})
    depth, cost = walker.selection(operation.selection_set, root, 0)
    return Measure(depth=depth, aliases=walker.aliases, cost=cost)


def enforce(limits: Limits, found: Measure) -> None:
    """Raises QueryTooDeep, TooManyAliases or QueryTooComplex, with the limit and the value in details."""
    if found.depth > limits.max_depth:
        raise QueryTooDeep("operation is nested too deeply", {"limit": limits.max_depth, "found": found.depth})
    if found.aliases > limits.max_aliases:
        raise TooManyAliases("operation uses too many aliases", {"limit": limits.max_aliases, "found": found.aliases})
    if found.cost > limits.max_cost:
        raise QueryTooComplex("operation is too expensive", {"limit": limits.max_cost, "found": found.cost})


class _Walker:
    def __init__(
        self, schema: GraphQLSchema, fragments: Mapping[str, FragmentDefinitionNode], variables: Mapping[str, Any]
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.aliases = 0

    def selection(self, selection_set: SelectionSetNode | None, parent: Any, level: int) -> tuple[int, int]:
        """(deepest level reached, cost) of a selection set under `parent`."""
        if selection_set is None:
            return level, 0
        depth, cost = level, 0
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                d, c = self.field(node, parent, level + 1)
            elif isinstance(node, InlineFragmentNode):
                inner = self.schema.get_type(node.type_condition.name.value) if node.type_condition else parent
                d, c = self.selection(node.selection_set, inner, level)
            elif isinstance(node, FragmentSpreadNode):
                fragment = self.fragments.get(node.name.value)
                if fragment is None:
                    continue
                d, c = self.selection(
                    fragment.selection_set, self.schema.get_type(fragment.type_condition.name.value), level
                )
            else:
                continue
            depth, cost = max(depth, d), cost + c
        return depth, cost

    def field(self, node: FieldNode, parent: Any, level: int) -> tuple[int, int]:
        if node.alias is not None:
            self.aliases += 1
        definition = parent.fields.get(node.name.value) if isinstance(parent, GraphQLObjectType) else None
        child_type = get_named_type(definition.type) if definition else None
        depth, inner = self.selection(node.selection_set, child_type, level)
        return depth, 1 + self._page_size(node, definition) * inner

    def _page_size(self, node: FieldNode, definition: Any) -> int:
        for name in ("first", "last"):
            given = next((a for a in node.arguments or () if a.name.value == name), None)
            value: Any = None
            if given is not None:
                if isinstance(given.value, VariableNode):
                    value = self.variables.get(given.value.name.value)
                else:
                    value = value_from_ast_untyped(given.value)
            elif definition is not None and name in definition.args:
                value = definition.args[name].default_value
            if isinstance(value, int) and value > 0:
                return value
        return 1
