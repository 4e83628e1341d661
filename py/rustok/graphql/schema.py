"""The schema: the core SDL plus each installed module's SDL (`extend type Query { … }`), merged at start-up
(the manifest's MergedObject), with resolvers attached by "Type.field" name.

Conventions: camelCase fields; GraphQL enum values are the SQL values upper-cased (ADMIN ↔ 'admin');
lists are Relay connections; resolvers are `SqlField`s (one SQL function each) or async callables."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from graphql import GraphQLEnumType, GraphQLObjectType, GraphQLSchema, build_schema

from rustok.graphql import scalars
from rustok.graphql.fields import SqlField
from rustok.modules import ModuleRegistry

SDL_DIR = Path(__file__).parent / "sdl"

Resolver = SqlField | Callable[..., Any]


class Subscriber:
    """A subscription field: `subscribe` returns an async iterator of events; each is the field's value."""

    def __init__(self, subscribe: Callable[..., Any]) -> None:
        self.subscribe = subscribe


def build(registry: ModuleRegistry, resolvers: Mapping[str, Resolver | Subscriber]) -> GraphQLSchema:
    core_files = sorted(SDL_DIR.glob("*.graphql"), key=lambda path: (path.name != "core.graphql", path.name))
    sdl = [path.read_text() for path in core_files]
    sdl += [m.graphql_sdl for m in registry.ordered() if m.graphql_sdl]
    schema = build_schema("\n".join(sdl))
    scalars.install(schema)  # DateTime, JSON and modules' scalars refuse what they cannot be, before any resolver
    all_resolvers = dict(resolvers)
    for module in registry.ordered():
        all_resolvers.update(module.resolvers)
    for path, resolver in all_resolvers.items():
        _attach(schema, path, resolver)
    for named in schema.type_map.values():
        if isinstance(named, GraphQLEnumType) and not named.name.startswith("__"):
            for name, value in named.values.items():
                value.value = name.lower()
    return schema


def _attach(schema: GraphQLSchema, path: str, resolver: Resolver | Subscriber) -> None:
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


def _the_event(event: Any, info: Any, **args: Any) -> Any:
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
