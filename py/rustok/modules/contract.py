"""The module contract (the manifest's RusToKModule) and the shape of a part.

A **part** is what a piece of the platform adds to the GraphQL endpoint and the worker: SDL, resolvers by
"Type.field", and durable event handlers. The platform's own parts (auth, webhooks, module hooks, realtime)
are each made beside their package (`rustok/<package>/part.py`, `modules/hooks.py`), every installed module
is one (`RusToKModule.part`), and the composition root (rustok/platform.py) hands the list to the GraphQL
schema and the worker, which iterate it and name no feature.

A module is a slug, its SQL (sql/migrations/<slug>, sql/functions/<slug>, sql/triggers/<slug>), optionally
GraphQL SDL with resolvers and durable event handlers, and enable/disable hooks. Installed modules are
configuration (RUSTOK_MODULES); enabled modules are per tenant (tenant_modules, checked in SQL)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import LiteralString

from rustok.events.handlers import EventHandler, HandlerContext
from rustok.graphql.schema import Resolver


@dataclass(frozen=True)
class Part:
    """What one part adds: `graphql_sdl` (types and `extend type Query/Mutation` blocks), `resolvers` for its
    fields, and `handlers` the worker runs (each on its own position in the outbox)."""

    name: str
    graphql_sdl: str = ""
    resolvers: Mapping[str, Resolver] = field(default_factory=dict)
    handlers: tuple[EventHandler, ...] = ()


@dataclass(frozen=True)
class ModuleContext:
    """What an on_enable / on_disable hook receives: the tenant, the module, and the worker's database access
    (RLS holds)."""

    tenant_id: uuid.UUID
    module: str
    handler: HandlerContext

    async def call(self, call: LiteralString, params: Sequence[object] = ()) -> object:
        """The value of one SQL expression under the tenant's context (HandlerContext.call)."""
        result: object = await self.handler.call(self.tenant_id, call, params)
        return result


# on_enable / on_disable run in `rustok worker` when ModuleEnabled / ModuleDisabled is committed (at least
# once: make them idempotent); they may be async.
ModuleHook = Callable[[ModuleContext], Awaitable[None] | None]


@dataclass(frozen=True)
class RusToKModule:
    slug: str
    name: str
    description: str
    version: str
    dependencies: tuple[str, ...] = ()
    graphql_sdl: str = ""
    resolvers: Mapping[str, Resolver] = field(default_factory=dict)
    event_listeners: tuple[EventHandler, ...] = ()
    on_enable: ModuleHook | None = None
    on_disable: ModuleHook | None = None
    # SQL expressions `rustok maintain` evaluates in every tenant that has the module enabled (housekeeping
    # such as releasing expired reservations); each returns how many rows it changed.
    maintenance: tuple[LiteralString, ...] = ()

    @property
    def part(self) -> Part:
        """The module as a part: its SDL, resolvers and event listeners."""
        return Part(self.slug, self.graphql_sdl, self.resolvers, self.event_listeners)


class ModuleError(ValueError):
    """The set of installed modules is inconsistent: an unknown dependency, a cycle, a duplicate slug."""


class ModuleRegistry:
    """The installed modules, validated: every dependency present, no cycles."""

    def __init__(self, modules: Iterable[RusToKModule] = ()) -> None:
        self._modules: dict[str, RusToKModule] = {}
        for module in modules:
            self.register(module)

    def register(self, module: RusToKModule) -> None:
        if module.slug in self._modules:
            raise ModuleError(f"module {module.slug!r} is registered twice")
        if module.slug == "core":
            raise ModuleError("'core' is the platform itself, not a module")
        self._modules[module.slug] = module

    def get(self, slug: str) -> RusToKModule:
        try:
            return self._modules[slug]
        except KeyError:
            raise ModuleError(f"unknown module {slug!r}; installed: {', '.join(self._modules) or 'none'}") from None

    def __contains__(self, slug: object) -> bool:
        return slug in self._modules

    def __len__(self) -> int:
        return len(self._modules)

    def ordered(self) -> list[RusToKModule]:
        """Modules with each after its dependencies (stable by slug). Raises ModuleError on a missing
        dependency or a cycle."""
        order: list[RusToKModule] = []
        state: dict[str, str] = {}

        def visit(slug: str, path: tuple[str, ...]) -> None:
            if state.get(slug) == "done":
                return
            if state.get(slug) == "visiting":
                raise ModuleError("dependency cycle: " + " -> ".join((*path, slug)))
            module = self._modules.get(slug)
            if module is None:
                raise ModuleError(f"module {path[-1]!r} depends on {slug!r}, which is not installed")
            state[slug] = "visiting"
            for dependency in sorted(module.dependencies):
                visit(dependency, (*path, slug))
            state[slug] = "done"
            order.append(module)

        for slug in sorted(self._modules):
            visit(slug, ())
        return order

    def dependents_of(self, slug: str) -> list[str]:
        return sorted(m.slug for m in self._modules.values() if slug in m.dependencies)
