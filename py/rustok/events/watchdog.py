"""The session watchdog: `rustok worker` runs `rustok.enforce_analytics_limits()` and
`rustok.enforce_app_limits()` every `interval` seconds.

The client roles start their sessions with limits (the analysts' read-only with a statement and an
idle-in-transaction timeout, rustok_app's with an idle-in-transaction timeout), but those are role settings a
session can SET away. The SQL functions hold the limits anyway: an analyst's session that holds a transaction
id, an advisory lock or another session's lock wait is terminated, and so is a rustok_app session (a psql user's)
idle in a transaction for too long (docs/security.md, points 3 and 4). The worker runs them as the application
role, which may signal analysts' sessions and its own role's, and no others."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, LiteralString

import psycopg

from rustok.api.connections import ConnectionPool
from rustok.errors import Unavailable

log = logging.getLogger("rustok.watchdog")

ENFORCE: LiteralString = (
    "select 'rustok_analytics' as role, pid, action, reason from rustok.enforce_analytics_limits()"
    " union all select 'rustok_app', pid, action, reason from rustok.enforce_app_limits()"
)


class SessionWatchdog:
    def __init__(self, pool: ConnectionPool, interval: float = 1.0) -> None:
        self.pool = pool
        self.interval = interval
        self.actions = 0  # sessions cancelled or terminated, since start

    async def enforce(self) -> list[dict[str, Any]]:
        """One round: what the SQL function did, each logged."""
        async with self.pool.connection() as conn:
            rows: list[dict[str, Any]] = await (await conn.execute(ENFORCE)).fetchall()
        for row in rows:
            log.warning("%s session %s %s: %s", row["role"], row["pid"], row["action"], row["reason"])
        self.actions += len(rows)
        return rows

    async def run(self, stop: asyncio.Event) -> None:
        """Rounds until `stop` is set; a database outage is logged and waited out."""
        while not stop.is_set():
            try:
                await self.enforce()
            except (psycopg.Error, OSError, Unavailable) as exc:
                log.warning("session watchdog: %s: %s; retrying", type(exc).__name__, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval)
