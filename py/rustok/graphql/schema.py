"""The schema: the core SDL (core.graphql, core_fields.py) plus each part's SDL (`extend type Query { … }`),
merged at start-up (the manifest's MergedObject), with resolvers attached by "Type.field" name. The parts —
the platform's (auth, webhooks, realtime) and every installed module — come from the composition root
(rustok/platform.py); this file names none of them.

Conventions: camelCase fields; GraphQL enum values are the SQL values upper-cased (ADMIN ↔ 'admin');
lists are Relay connections; resolvers are `SqlField`s (one SQL function each) or async callables."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Protocol

from graphql import GraphQLEnumType, GraphQLObjectType, GraphQLSchema, build_schema

from rustok.graphql import scalars
from rustok.graphql.core_fields import RESOLVERS as CORE_RESOLVERS
from rustok.graphql.fields import SqlField

CORE_SDL = Path(__file__).parent / "core.graphql"

FieldResolver = Callable[..., Awaitable[object]]  # graphql-core calls it with (root, info, **arguments)


class Subscriber:
    """A subscription field: `subscribe` returns an async iterator of events; each is the field's value."""

    def __init__(self, subscribe: Callable[..., Awaitable[AsyncIterator[object]]]) -> None:
        self.subscribe = subscribe


Resolver = SqlField | FieldResolver | Subscriber


class SchemaPart(Protocol):
    """What the schema takes from a part (rustok.modules.contract.Part, RusToKModule)."""

    @property
    def graphql_sdl(self) -> str: ...

    @property
    def resolvers(self) -> Mapping[str, Resolver]: ...


def build(parts: Iterable[SchemaPart]) -> GraphQLSchema:
    """The core schema with every part's SDL and resolvers, in the parts' order."""
    parts = list(parts)
    sdl = [CORE_SDL.read_text(), *(part.graphql_sdl for part in parts if part.graphql_sdl)]
    schema = build_schema("\n".join(sdl))
    scalars.install(schema)  # DateTime, JSON and modules' scalars refuse what they cannot be, before any resolver
    resolvers: dict[str, Resolver] = dict(CORE_RESOLVERS)
    for part in parts:
        resolvers.update(part.resolvers)
    for path, resolver in resolvers.items():
        _attach(schema, path, resolver)
    for named in schema.type_map.values():
        if isinstance(named, GraphQLEnumType) and not named.name.startswith("__"):
            for name, value in named.values.items():
                value.value = name.lower()
    return schema


def _attach(schema: GraphQLSchema, path: str, resolver: Resolver) -> None:
    type_name, _, field_name = path.partition(".")
    owner = schema.get_type(type_name)
    if not isinstance(owner, GraphQLObjectType) or field_name not in owner.fields:
        raise ValueError(f"resolver for {path}, which the schema does not have")
    field = owner.fields[field_name]
    if isinstance(resolver, Subscriber):
        field.subscribe = resolver.subscribe
        field.resolve = _the_event
    elif isinstance(resolver, SqlField):
        field.resolve = resolver.resolve
    else:
        field.resolve = resolver


def _the_event(event: object, info: object, **args: object) -> object:
    return event


def sql_fields(schema: GraphQLSchema) -> dict[tuple[str, str], SqlField]:
    """Every root field answered by one SQL function, for the planner."""
    found: dict[tuple[str, str], SqlField] = {}
    for root in (schema.query_type, schema.mutation_type):
        if root is None:
            continue
        for name, field in root.fields.items():
            owner = getattr(field.resolve, "__self__", None)
            if isinstance(owner, SqlField):
                found[(root.name, name)] = owner
    return found
