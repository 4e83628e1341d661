"""The manifest's on_enable / on_disable, run as a durable handler: enabling a module is a row in
tenant_modules and a ModuleEnabled event in the same transaction (from the API, the CLI or psql alike), and
this handler calls the module's hook for that tenant — at least once, retried on failure, like any handler."""

from __future__ import annotations

import inspect
import uuid
from dataclasses import dataclass
from typing import Any

from rustok.events.handlers import DomainEvent, EventEnvelope, EventHandler, HandlerContext
from rustok.modules import ModuleRegistry

_HOOKS = {"ModuleEnabled": "on_enable", "ModuleDisabled": "on_disable"}


@dataclass(frozen=True)
class ModuleContext:
    """What a hook receives: the tenant, the module, and the worker's database access (RLS holds)."""

    tenant_id: uuid.UUID
    module: str
    handler: HandlerContext

    async def call(self, call: Any, params: tuple[Any, ...] = ()) -> Any:
        return await self.handler.call(self.tenant_id, call, params)


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
        return slug in self.registry and getattr(self.registry.get(str(slug)), _HOOKS[event.type]) is not None

    async def handle(self, envelope: EventEnvelope) -> None:
        assert self.context is not None, "start() runs before the first event"
        module = self.registry.get(str(envelope.event.data["module"]))
        hook = getattr(module, _HOOKS[envelope.event.type])
        result = hook(ModuleContext(envelope.tenant_id, module.slug, self.context))
        if inspect.isawaitable(result):
            await result
