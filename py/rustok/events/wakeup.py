"""The outbox's wake-up: one `LISTEN rustok_events` loop, used by the realtime relay and by the worker.

A notification (one per event-writing commit, empty payload, sent once that commit's events are readable)
says only "something committed": a reader then reads the outbox from its own cursor (events/outbox.py). So a
lost notification delays nothing by more than a poll interval, and a reader that has just (re)connected
reads at once, since it may have missed some.

`OutboxListener.run(stop, on_wake, poll)` keeps one connection that LISTENs, reconnecting by the one rule
(events/reconnect.py), and calls `on_wake(conn)` when it has connected, after each notification, and at least
every `poll` seconds. The relay reads on that connection itself (realtime/relay.py); the worker's Wakeups
sets one asyncio.Event per durable consumer, and each reads on its own connection (events/consumer.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, LiteralString

import psycopg
from psycopg.conninfo import make_conninfo

from rustok.events.reconnect import Reconnect, keep_connected, until

log = logging.getLogger("rustok.worker")

# The channel the outbox's commit trigger notifies (sql/triggers/core/event_outbox.sql; a test keeps them equal).
CHANNEL: LiteralString = "rustok_events"

OnWake = Callable[[psycopg.AsyncConnection[Any]], Awaitable[None]]


class OutboxListener:
    """One LISTEN connection; `connected` once it has connected and called `on_wake` the first time."""

    def __init__(
        self,
        url: str,
        *,
        name: str,
        log: logging.Logger,
        application_name: str | None = None,
        reconnect: Reconnect | None = None,
    ) -> None:
        # application_name: how operators find the connection in pg_stat_activity
        self.url = url if application_name is None else make_conninfo(url, application_name=application_name)
        self.name = name  # in log lines
        self.log = log
        self.reconnect = reconnect or Reconnect()
        self.connected = False

    async def run(self, stop: asyncio.Event, on_wake: OnWake, poll: float | None) -> None:
        """Listens until `stop` is set; `poll` None: woken by notifications (and connecting) only."""
        await keep_connected(
            self._connect,
            lambda conn: self._follow(conn, stop, on_wake, poll),
            stop,
            name=self.name,
            log=self.log,
            rule=self.reconnect,
        )

    async def notified(self, conn: psycopg.AsyncConnection[Any], timeout: float | None) -> bool:
        """True when a notification arrived (or had arrived while reading) within `timeout` seconds."""
        woke = False
        async for _ in conn.notifies(timeout=timeout, stop_after=1):
            woke = True
        return woke

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True, connect_timeout=5)
        try:
            await conn.execute("listen " + CHANNEL)  # before the first read: whatever commits later wakes us
        except BaseException:
            await conn.close()
            raise
        return conn

    async def _follow(
        self, conn: psycopg.AsyncConnection[Any], stop: asyncio.Event, on_wake: OnWake, poll: float | None
    ) -> None:
        try:
            while not stop.is_set():
                await on_wake(conn)
                self.connected = True
                await until(stop, self.notified(conn, poll))
        finally:
            self.connected = False


class Wakeups:
    """The worker's wake-ups: one OutboxListener that sets the asyncio.Event of every subscribed consumer."""

    def __init__(self, app_url: str, reconnect: Reconnect | None = None) -> None:
        self.listener = OutboxListener(app_url, name="event notifications", log=log, reconnect=reconnect)
        self._subscribers: list[asyncio.Event] = []

    def subscribe(self) -> asyncio.Event:
        event = asyncio.Event()
        self._subscribers.append(event)
        return event

    def wake_all(self) -> None:
        for event in self._subscribers:
            event.set()

    async def run(self, stop: asyncio.Event) -> None:
        await self.listener.run(stop, self._wake, None)

    async def _wake(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.wake_all()
