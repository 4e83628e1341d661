"""Gateway.transaction: the one way to run several statements under a context. It sets the context first
(rustok.set_context, checked against the database), commits on success, rolls back on failure, and turns
database errors into the API's errors as Gateway.call does."""

from __future__ import annotations

import asyncio
import uuid

import psycopg
import pytest

from rustok.api.context import RequestContext
from rustok.api.database import Gateway
from rustok.db import Database
from rustok.errors import RusToKError, Unauthenticated
from rustok.ids import parse_id


@pytest.fixture(scope="module")
def tenant(db: Database) -> uuid.UUID:
    with psycopg.connect(db.admin_url) as conn:
        row = conn.execute("select rustok.create_tenant('gw-tx', 'Gateway')").fetchone()
    assert row is not None
    return parse_id(row[0]["id"])


def run(db: Database, work: object) -> object:
    async def scenario() -> object:
        gateway = Gateway(db.app_url, max_size=2)
        await gateway.open()
        try:
            return await work(gateway)  # type: ignore[operator]
        finally:
            await gateway.close()

    return asyncio.run(scenario())


def test_the_context_is_set_for_every_statement_and_gone_after(db: Database, tenant: uuid.UUID) -> None:
    async def work(gateway: Gateway) -> list[object]:
        async with gateway.transaction(RequestContext(tenant)) as conn:
            first = await (await conn.execute("select rustok.current_tenant_id()")).fetchone()
            second = await (await conn.execute("select rustok.current_tenant_id()")).fetchone()
        async with gateway.pool.connection() as conn:
            after = await (await conn.execute("select rustok.current_tenant_id()")).fetchone()
        return [first, second, after]

    assert run(db, work) == [{"current_tenant_id": tenant}] * 2 + [{"current_tenant_id": None}]


def test_it_commits_on_success_and_rolls_back_on_failure(db: Database, tenant: uuid.UUID) -> None:
    async def work(gateway: Gateway) -> object:
        async with gateway.transaction(RequestContext(tenant)) as conn:
            await conn.execute("select rustok.publish_event('GatewayKept', '{}'::jsonb)")
        with pytest.raises(RuntimeError):
            async with gateway.transaction(RequestContext(tenant)) as conn:
                await conn.execute("select rustok.publish_event('GatewayDropped', '{}'::jsonb)")
                raise RuntimeError("the block failed")
        async with gateway.transaction(RequestContext(tenant)) as conn:
            cur = await conn.execute("select type from public.event_outbox where type like 'Gateway%%' order by 1")
            return [row["type"] for row in await cur.fetchall()]

    assert run(db, work) == ["GatewayKept"]


def test_an_unknown_user_is_refused_with_the_api_s_error(db: Database, tenant: uuid.UUID) -> None:
    async def work(gateway: Gateway) -> None:
        async with gateway.transaction(RequestContext(tenant, uuid.uuid4(), "admin")):
            raise AssertionError("set_context lets an unknown user in")

    with pytest.raises(RusToKError) as caught:
        run(db, work)
    assert isinstance(caught.value, Unauthenticated)
