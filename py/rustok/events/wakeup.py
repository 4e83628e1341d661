"""Wake-ups for the worker's loops: one `LISTEN rustok_events` connection per worker process.

Each notification (one per event-writing commit, empty payload, arriving once that commit's events are
readable) sets every subscriber's event; the loops then read the outbox themselves. A notification says only
"something committed": the loops also poll on a timer, so a lost connection delays work by at most a poll
interval. After a reconnect every subscriber is woken once (it may have missed something)."""

from __future__ import annotations

import asyncio
import logging
from typing import LiteralString

import psycopg

log = logging.getLogger("rustok.worker")

CHANNEL: LiteralString = "rustok_events"


class Wakeups:
    def __init__(self, app_url: str, reconnect_delay: float = 1.0) -> None:
        self.app_url = app_url
        self.reconnect_delay = reconnect_delay
        self._subscribers: list[asyncio.Event] = []

    def subscribe(self) -> asyncio.Event:
        event = asyncio.Event()
        self._subscribers.append(event)
        return event

    def wake_all(self) -> None:
        for event in self._subscribers:
            event.set()

    async def run(self) -> None:
        """Listens until cancelled, reconnecting after a delay when the connection is lost."""
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self.app_url, autocommit=True) as conn:
                    await conn.execute("listen " + CHANNEL)
                    self.wake_all()
                    async for _ in conn.notifies():
                        self.wake_all()
            except psycopg.Error as exc:
                log.warning("event notifications lost (%s); reconnecting", type(exc).__name__)
            await asyncio.sleep(self.reconnect_delay)
