"""The planner: a query whose root fields are all SQL-function fields becomes one SQL statement, computed once
per cached document. Per request it only coerces variables, runs that statement (context set first, one
round trip), and projects the returned DTOs onto the selection set — no resolver calls, no graphql-core
executor.

The plan answers only when it is sure to answer exactly as graphql-core would. Anything it does not cover
(mutations, directives, abstract types, fields with their own resolvers) is not planned; a database error
or a null in a non-null position makes it decline at run time, and the general executor answers instead
(queries have no side effects, so running them again is safe)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, LiteralString

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    Undefined,
    value_from_ast,
)
from graphql.execution.values import get_variable_values
from graphql.language import FieldNode, FragmentDefinitionNode, FragmentSpreadNode, InlineFragmentNode, SelectionSetNode

from rustok.api.context import RequestContext
from rustok.api.database import Gateway
from rustok.errors import RusToKError
from rustok.graphql.fields import SqlField
from rustok.types import JsonObject

Project = Callable[[Any], Any]


class _Decline(Exception):
    """The plan cannot answer this request exactly; the general executor will."""


class _NotPlannable(Exception):
    """The operation uses something the planner does not cover."""


@dataclass(frozen=True)
class _RootCall:
    key: str
    field: GraphQLField
    sql: SqlField
    node: FieldNode
    project: Project


class Plan:
    def __init__(self, schema: GraphQLSchema, operation: OperationDefinitionNode, roots: list[_RootCall]) -> None:
        self.schema = schema
        self.operation = operation
        self.roots = roots
        self.calls: list[LiteralString] = [root.sql.call for root in roots]

    async def run(self, gateway: Gateway, ctx: RequestContext, variables: Mapping[str, Any]) -> JsonObject | None:
        """The response data, or None when the general executor must answer."""
        # max_errors=0: the first error ends coercion (each error's message inspects the whole value, so
        # collecting them all was quadratic); the general executor reports them, at most 50
        coercion = get_variable_values(
            self.schema, self.operation.variable_definitions or (), dict(variables), max_errors=0
        )
        if isinstance(coercion, list):  # variable errors: the general executor reports them precisely
            return None
        coerced = coercion.coerced
        try:
            params: list[Any] = []
            for root in self.roots:
                params.extend(root.sql.params(root.field.args, _argument_values(root, coerced)))
            values = await gateway.call_many(ctx, self.calls, params)
            return {root.key: root.project(value) for root, value in zip(self.roots, values, strict=True)}
        except (_Decline, RusToKError):
            return None


def compile_plan(
    schema: GraphQLSchema, operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> Plan | None:
    """A plan for a query whose root fields each call one SQL function, else None."""
    if operation.operation is not OperationType.QUERY or operation.directives:
        return None
    root_type = schema.query_type
    if root_type is None:
        return None
    try:
        roots = []
        for key, nodes in _collect(operation.selection_set, root_type, fragments).items():
            name = nodes[0].name.value
            field = root_type.fields.get(name)
            sql = getattr(field.resolve, "__self__", None) if field else None
            if field is None or not isinstance(sql, SqlField) or len(nodes) > 1:
                raise _NotPlannable(key)
            roots.append(_RootCall(key, field, sql, nodes[0], _projector(field.type, nodes, fragments)))
    except _NotPlannable:
        return None
    return Plan(schema, operation, roots) if roots else None


def _argument_values(root: _RootCall, variables: JsonObject) -> JsonObject:
    given = {a.name.value: a.value for a in root.node.arguments or ()}
    values: JsonObject = {}
    for name, argument in root.field.args.items():
        if name in given:
            value = value_from_ast(given[name], argument.type, variables)
            if value is Undefined:
                raise _Decline(name)
            values[name] = value
        elif argument.default_value is not Undefined:
            values[name] = argument.default_value
    return values


def _collect(
    selection_set: SelectionSetNode | None, parent: GraphQLObjectType, fragments: Mapping[str, FragmentDefinitionNode]
) -> dict[str, list[FieldNode]]:
    """Field nodes by response key, fragments on this same type expanded (as graphql-core's collect_fields)."""
    found: dict[str, list[FieldNode]] = {}
    for node in selection_set.selections if selection_set else ():
        if node.directives:
            raise _NotPlannable("directive")
        if isinstance(node, FieldNode):
            found.setdefault((node.alias or node.name).value, []).append(node)
            continue
        if isinstance(node, InlineFragmentNode):
            condition, inner = node.type_condition, node.selection_set
        elif isinstance(node, FragmentSpreadNode):
            fragment = fragments[node.name.value]
            condition, inner = fragment.type_condition, fragment.selection_set
        else:
            raise _NotPlannable("selection")
        if condition is not None and condition.name.value != parent.name:
            raise _NotPlannable("type condition")
        for key, nodes in _collect(inner, parent, fragments).items():
            found.setdefault(key, []).extend(nodes)
    return found


def _projector(kind: Any, nodes: list[FieldNode], fragments: Mapping[str, FragmentDefinitionNode]) -> Project:
    if isinstance(kind, GraphQLNonNull):
        inner = _projector(kind.of_type, nodes, fragments)

        def non_null(value: Any) -> Any:
            if value is None:
                raise _Decline("null in a non-null position")
            return inner(value)

        return non_null
    if isinstance(kind, GraphQLList):
        item = _projector(kind.of_type, nodes, fragments)
        return lambda value: None if value is None else [item(v) for v in value]
    if isinstance(kind, GraphQLEnumType):
        names = {v.value: name for name, v in kind.values.items()}

        def enum(value: Any) -> Any:
            if value is None:
                return None
            if value not in names:
                raise _Decline("enum value")
            return names[value]

        return enum
    if isinstance(kind, GraphQLScalarType):
        serialize = kind.serialize
        return lambda value: None if value is None else serialize(value)
    if isinstance(kind, GraphQLObjectType):
        return _object_projector(kind, nodes, fragments)
    raise _NotPlannable("abstract type")


def _object_projector(
    kind: GraphQLObjectType, nodes: list[FieldNode], fragments: Mapping[str, FragmentDefinitionNode]
) -> Project:
    selections: dict[str, list[FieldNode]] = {}
    for node in nodes:
        for key, found in _collect(node.selection_set, kind, fragments).items():
            selections.setdefault(key, []).extend(found)
    members: list[tuple[str, str, Project | None]] = []
    for key, field_nodes in selections.items():
        name = field_nodes[0].name.value
        if name == "__typename":
            members.append((key, kind.name, None))
            continue
        field = kind.fields[name]
        if field.resolve is not None or field.args:
            raise _NotPlannable("field with its own resolver")
        members.append((key, name, _projector(field.type, field_nodes, fragments)))

    def project(value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise _Decline("not an object")
        return {
            key: (name if project_member is None else project_member(value.get(name)))
            for key, name, project_member in members
        }

    return project
