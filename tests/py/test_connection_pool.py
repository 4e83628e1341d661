"""The API's connection pool (rustok/api/connections.py) heals by itself when its server goes away: an idle
connection whose backend is gone (a database restart, a crash, pg_terminate_backend) is dropped at checkout,
never handed to a request that would then fail with UNAVAILABLE."""

from __future__ import annotations

import asyncio
import time

import psycopg

from rustok.api.connections import ConnectionPool
from rustok.db import Database


def test_idle_connections_of_a_gone_server_are_dropped_at_checkout(db: Database) -> None:
    async def scenario() -> None:
        pool = ConnectionPool(db.app_url, max_size=4)
        checked_out = [await pool.acquire(5) for _ in range(3)]
        pids = [conn.info.backend_pid for conn in checked_out]
        for conn in checked_out:
            pool.release(conn)
        with psycopg.connect(db.admin_url, autocommit=True) as admin:  # what a restart does to each backend
            admin.execute("select pg_terminate_backend(pid) from unnest(%s::int[]) pid", (pids,))
            deadline = time.monotonic() + 10
            while admin.execute("select 1 from pg_stat_activity where pid = any(%s)", (pids,)).fetchone():
                assert time.monotonic() < deadline, "the backends did not end"
                await asyncio.sleep(0.02)
        for _ in range(3):  # every checkout works: none of the three dead connections comes out
            async with pool.connection() as conn:
                assert await (await conn.execute("select 1 as one")).fetchone() == {"one": 1}
        await pool.close()

    asyncio.run(scenario())
