"""The module contract (the manifest's RusToKModule) and the registry of installed modules.

A module is a slug, its SQL (sql/migrations/<slug>, sql/functions/<slug>, sql/triggers/<slug>), optionally
GraphQL SDL with resolvers and durable event handlers, and enable/disable hooks. Installed modules are
configuration (RUSTOK_MODULES); enabled modules are per tenant (tenant_modules, checked in SQL).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, LiteralString

# on_enable / on_disable receive a rustok.modules.hooks.ModuleContext; they may be async. They run in
# `rustok worker` when ModuleEnabled / ModuleDisabled is committed (at least once: make them idempotent).
ModuleHook = Callable[[Any], Any]


@dataclass(frozen=True)
class RusToKModule:
    slug: str
    name: str
    description: str
    version: str
    dependencies: tuple[str, ...] = ()
    graphql_sdl: str = ""
    resolvers: Mapping[str, Any] = field(default_factory=dict)
    event_listeners: tuple[Any, ...] = ()
    on_enable: ModuleHook | None = None
    on_disable: ModuleHook | None = None
    # SQL expressions `rustok maintain` evaluates in every tenant that has the module enabled (housekeeping
    # such as releasing expired reservations); each returns how many rows it changed.
    maintenance: tuple[LiteralString, ...] = ()


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


def _shipped() -> tuple[RusToKModule, ...]:
    """The modules this codebase ships (imported here, after RusToKModule exists, because they use it)."""
    from rustok.modules import blog, commerce, content, index

    return (content.MODULE, blog.MODULE, commerce.MODULE, index.MODULE)


# Every module this codebase ships. Feature modules add themselves here as they land.
AVAILABLE: tuple[RusToKModule, ...] = _shipped()


def installed_registry(selected: Iterable[str] | None = None) -> ModuleRegistry:
    """The registry of installed modules: `selected` slugs (RUSTOK_MODULES), or every available module."""
    available = {m.slug: m for m in AVAILABLE}
    if selected is None:
        registry = ModuleRegistry(available.values())
    else:
        unknown = [s for s in selected if s not in available]
        if unknown:
            raise ModuleError(
                f"unknown module(s) in RUSTOK_MODULES: {', '.join(unknown)}; "
                f"available: {', '.join(available) or 'none'}"
            )
        registry = ModuleRegistry(available[s] for s in selected)
    registry.ordered()  # validates dependencies and cycles now, not on first use
    return registry
