"""The manifest's on_enable / on_disable, run as a durable handler: enabling a module is a row in
tenant_modules and a ModuleEnabled event in the same transaction (from the API, the CLI or psql alike), and
this handler calls the module's hook for that tenant — at least once, retried on failure, like any handler.
It is the platform part `module-hooks` (`part`)."""

from __future__ import annotations

import inspect
from typing import Literal

from rustok.events.handlers import DomainEvent, EventEnvelope, EventHandler, HandlerContext
from rustok.modules.contract import ModuleContext, ModuleHook, ModuleRegistry, Part, RusToKModule

_HOOKS: dict[str, Literal["on_enable", "on_disable"]] = {"ModuleEnabled": "on_enable", "ModuleDisabled": "on_disable"}


def part(registry: ModuleRegistry) -> Part:
    """The module hooks as a platform part: one handler, no GraphQL."""
    return Part("module-hooks", handlers=(ModuleHooksHandler(registry),))


def _hook(module: RusToKModule, event_type: str) -> ModuleHook | None:
    return module.on_enable if _HOOKS[event_type] == "on_enable" else module.on_disable


class ModuleHooksHandler(EventHandler):
    name = "module-hooks"

    def __init__(self, registry: ModuleRegistry) -> None:
        self.registry = registry
        self.context: HandlerContext | None = None

    async def start(self, context: HandlerContext) -> None:
        self.context = context

    def handles(self, event: DomainEvent) -> bool:
        if event.type not in _HOOKS:
            return False
        slug = event.data.get("module")
        return slug in self.registry and _hook(self.registry.get(str(slug)), event.type) is not None

    async def handle(self, envelope: EventEnvelope) -> None:
        assert self.context is not None, "start() runs before the first event"
        module = self.registry.get(str(envelope.event.data["module"]))
        hook = _hook(module, envelope.event.type)
        assert hook is not None, "handles() took only events whose module has the hook"
        result = hook(ModuleContext(envelope.tenant_id, module.slug, self.context))
        if inspect.isawaitable(result):
            await result
