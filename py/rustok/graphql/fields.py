"""Resolvers that are one SQL function call: `SqlField("rustok.list_users(%s, %s)", "first", "after")`.

The SQL function returns the response DTO as jsonb; nested fields resolve from it by key. ID arguments are
parsed (ULID or UUID text, else INVALID_ID) before the call; input objects, lists and JSON values go as jsonb
(a dict never reaches the driver, which cannot send one)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, LiteralString

from graphql import (
    GraphQLArgument,
    GraphQLID,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLResolveInfo,
    get_nullable_type,
)
from psycopg.types.json import Jsonb

from rustok.ids import parse_id


@dataclass(frozen=True)
class SqlField:
    """A field answered by one SQL function; `args` name the GraphQL arguments in the call's order."""

    call: LiteralString
    args: tuple[str, ...] = ()

    def __init__(self, call: LiteralString, *args: str) -> None:
        object.__setattr__(self, "call", call)
        object.__setattr__(self, "args", args)

    def params(self, definitions: Mapping[str, GraphQLArgument], values: Mapping[str, Any]) -> list[Any]:
        return [to_sql(definitions[name], values.get(name)) for name in self.args]

    async def resolve(self, root: Any, info: GraphQLResolveInfo[Any], **values: Any) -> Any:
        services = info.context["services"]
        definitions = info.parent_type.fields[info.field_name].args
        return await services.gateway.call(info.context["ctx"], self.call, self.params(definitions, values))


def to_sql(argument: GraphQLArgument, value: Any) -> Any:
    """A GraphQL argument value as a query parameter."""
    if value is None:
        return None
    kind = get_nullable_type(argument.type)
    if kind is GraphQLID:
        return parse_id(value)
    if isinstance(kind, (GraphQLInputObjectType, GraphQLList)) or isinstance(value, dict | list):
        return Jsonb(value)
    return value
