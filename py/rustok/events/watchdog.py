"""The analytics watchdog: `rustok worker` runs `rustok.enforce_analytics_limits()` every `interval` seconds.

The analysts' role starts its sessions read-only with a statement and an idle-in-transaction timeout, but
those are role settings a session can SET away. The SQL function holds the limits anyway and terminates a
session that holds a transaction id, an advisory lock or another session's lock wait (docs/security.md,
point 3). The worker runs it as the application role, which may signal analysts' sessions and no others."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, LiteralString

import psycopg

from rustok.api.connections import ConnectionPool
from rustok.errors import Unavailable

log = logging.getLogger("rustok.watchdog")

ENFORCE: LiteralString = "select pid, action, reason from rustok.enforce_analytics_limits()"


class AnalyticsWatchdog:
    def __init__(self, pool: ConnectionPool, interval: float = 1.0) -> None:
        self.pool = pool
        self.interval = interval
        self.actions = 0  # sessions cancelled or terminated, since start

    async def enforce(self) -> list[dict[str, Any]]:
        """One round: what the SQL function did, each logged."""
        async with self.pool.connection() as conn:
            rows: list[dict[str, Any]] = await (await conn.execute(ENFORCE)).fetchall()
        for row in rows:
            log.warning("analytics session %s %s: %s", row["pid"], row["action"], row["reason"])
        self.actions += len(rows)
        return rows

    async def run(self, stop: asyncio.Event) -> None:
        """Rounds until `stop` is set; a database outage is logged and waited out."""
        while not stop.is_set():
            try:
                await self.enforce()
            except (psycopg.Error, OSError, Unavailable) as exc:
                log.warning("analytics watchdog: %s: %s; retrying", type(exc).__name__, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval)
