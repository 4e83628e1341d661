"""on_enable / on_disable: enabling a module (here through plain SQL, as an operator in psql would) commits
ModuleEnabled, and `rustok worker` calls the module's hook for that tenant, with database access under it."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import psycopg

from rustok.config import Settings
from rustok.db import Database
from rustok.events.worker import Worker, select_handlers
from rustok.modules import ModuleRegistry, RusToKModule
from rustok.modules.hooks import ModuleContext
from rustok.platform import available_handlers


def test_hooks_run_for_each_tenant_that_enables_or_disables_the_module(db: Database) -> None:
    calls: list[tuple[str, uuid.UUID, Any]] = []

    async def on_enable(ctx: ModuleContext) -> None:
        calls.append(("enable", ctx.tenant_id, await ctx.call("rustok.current_tenant_id()")))

    def on_disable(ctx: ModuleContext) -> None:
        calls.append(("disable", ctx.tenant_id, ctx.module))

    notes = RusToKModule("notes", "Notes", "", "1.0.0", on_enable=on_enable, on_disable=on_disable)
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        conn.execute("select rustok._register_module('notes', 'Notes', '', '1.0.0', '{}')")
        tenant = conn.execute("select rustok.parse_id(rustok.create_tenant('hooked', 'Hooked') ->> 'id')").fetchone()
        assert tenant is not None
        with conn.transaction():
            conn.execute("select rustok.set_context(%s)", (tenant[0],))
            conn.execute("update tenant_modules set enabled = false where module_slug = 'notes'")

    registry = ModuleRegistry([notes])
    handlers = select_handlers(available_handlers(registry), ["module-hooks"])
    asyncio.run(Worker(db.app_url, Settings(), handlers).run(once=True))
    assert calls == [("enable", tenant[0], tenant[0]), ("disable", tenant[0], "notes")]
    asyncio.run(Worker(db.app_url, Settings(), handlers).run(once=True))
    assert len(calls) == 2, "a hook that succeeded is not called again"
