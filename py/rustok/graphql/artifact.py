"""The GraphQL schema as a committed artifact: `schema.graphql` at the repository root is API v1, the merged
SDL of every module printed in one fixed order, and `compare` says how the live schema differs from it —
breaking and dangerous changes as graphql-core finds them, and what was only added. `rustok graphql schema`
prints, checks and writes it; docs/graphql.md ("The schema artifact") says how the API changes from now on."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from graphql import (
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    find_breaking_changes,
    find_dangerous_changes,
    lexicographic_sort_schema,
    print_schema,
)

from rustok.config import REPO_ROOT
from rustok.graphql.schema import SchemaPart, build

SCHEMA_FILE = REPO_ROOT / "schema.graphql"
HEADER = (
    "# RusToK GraphQL API v1: the merged schema of every module. Generated: do not edit by hand;\n"
    '# `rustok graphql schema --write` rewrites it (docs/graphql.md, "The schema artifact").\n\n'
)


def merged_sdl(parts: Iterable[SchemaPart]) -> str:
    """The schema `rustok serve` builds of these parts (rustok.graphql.schema.build; the composition root's
    parts: rustok.platform.schema_parts), with types, fields, arguments and enum values in alphabetical order:
    moving a definition between SDL files, parts or modules changes nothing here."""
    return HEADER + print_sdl(build(parts))


def print_sdl(schema: GraphQLSchema) -> str:
    """A schema printed the one way the artifact is printed (also for a schema read back by introspection)."""
    return print_schema(lexicographic_sort_schema(schema)) + "\n"


@dataclass(frozen=True)
class Change:
    kind: str  # graphql-core's BreakingChangeType / DangerousChangeType name, or TYPE_ADDED, FIELD_ADDED…
    description: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.description}"


@dataclass(frozen=True)
class Comparison:
    """How a newer schema differs from an older one, as its clients see it."""

    breaking: tuple[Change, ...]  # a client written against the older one may fail
    dangerous: tuple[Change, ...]  # valid still, but a client may behave differently (a new enum value…)
    added: tuple[Change, ...]  # new types, fields and directives: nothing a client did changes

    @property
    def is_breaking(self) -> bool:
        return bool(self.breaking)


def compare(older_sdl: str, newer_sdl: str) -> Comparison:
    """Raises graphql.GraphQLError when either text is not a valid schema."""
    older, newer = build_schema(older_sdl), build_schema(newer_sdl)
    return Comparison(
        breaking=tuple(Change(c.type.name, c.description) for c in find_breaking_changes(older, newer)),
        dangerous=tuple(Change(c.type.name, c.description) for c in find_dangerous_changes(older, newer)),
        added=_added(older, newer),
    )


def _added(older: GraphQLSchema, newer: GraphQLSchema) -> tuple[Change, ...]:
    """Additions graphql-core does not list because they cannot hurt a client: new types, new output fields,
    new directives. (New arguments, input fields, enum values and interfaces it lists as breaking or dangerous.)"""
    found: list[Change] = []
    for name, named in sorted(newer.type_map.items()):
        if name.startswith("__"):
            continue
        before: GraphQLNamedType | None = older.type_map.get(name)
        if before is None:
            found.append(Change("TYPE_ADDED", f"Type {name} was added."))
        elif isinstance(named, GraphQLObjectType | GraphQLInterfaceType) and type(before) is type(named):
            assert isinstance(before, GraphQLObjectType | GraphQLInterfaceType)
            found += [
                Change("FIELD_ADDED", f"Field {name}.{field} was added.")
                for field in sorted(named.fields)
                if field not in before.fields
            ]
    known = {d.name for d in older.directives}
    found += [
        Change("DIRECTIVE_ADDED", f"Directive @{d.name} was added.") for d in newer.directives if d.name not in known
    ]
    return tuple(found)


def read_committed(path: Path = SCHEMA_FILE) -> str | None:
    """The committed schema's text, or None when there is none yet."""
    try:
        return path.read_text()
    except FileNotFoundError:
        return None
