"""api/tenancy.py's TenantCache: what a process caches about tenants is dropped on every tenant event and only
on those, and an answer read before a tenant change is returned but never kept after it (the lookup that a
change overtook would otherwise pin the old answer for the whole TTL). test_demo_server.py shows it through a
real server."""

from __future__ import annotations

import asyncio

from rustok.api.tenancy import TENANT_EVENTS, TenantCache, TenantChanges


def test_tenant_events_empty_the_cache_and_other_events_do_not() -> None:
    changes = TenantChanges()
    cache: TenantCache[str, str] = TenantCache(changes)
    loads: list[str] = []

    async def load() -> str:
        loads.append("x")
        return f"answer {len(loads)}"

    async def scenario() -> None:
        assert await cache.get("demo", load) == "answer 1"
        assert await cache.get("demo", load) == "answer 1", "kept"
        changes.seen("ProductCreated")
        assert await cache.get("demo", load) == "answer 1", "not a tenant event"
        for n, event in enumerate(sorted(TENANT_EVENTS), start=2):
            changes.seen(event)
            assert await cache.get("demo", load) == f"answer {n}", event

    asyncio.run(scenario())
    assert {"TenantCreated", "TenantUpdated", "TenantActivated", "TenantDeactivated"} == TENANT_EVENTS


def test_an_answer_overtaken_by_a_tenant_change_is_not_kept() -> None:
    changes = TenantChanges()
    cache: TenantCache[str, str] = TenantCache(changes)

    async def scenario() -> None:
        read, release = asyncio.Event(), asyncio.Event()

        async def before_the_change() -> str:
            read.set()
            await release.wait()  # the database answered; the relay reads the change before this returns
            return "the replaced tenant"

        async def after_the_change() -> str:
            return "the new tenant"

        lookup = asyncio.create_task(cache.get("demo", before_the_change))
        await read.wait()
        changes.seen("TenantCreated")
        release.set()
        assert await lookup == "the replaced tenant", "the request in flight keeps its answer"
        assert await cache.get("demo", after_the_change) == "the new tenant", "the next one does not get it"

    asyncio.run(scenario())


def test_the_ttl_still_bounds_an_entry() -> None:
    cache: TenantCache[str, int] = TenantCache(TenantChanges(), ttl=0.0)
    loads = 0

    async def load() -> int:
        nonlocal loads
        loads += 1
        return loads

    async def scenario() -> None:
        await cache.get("demo", load)
        await asyncio.sleep(0.01)
        assert await cache.get("demo", load) == 2

    asyncio.run(scenario())
