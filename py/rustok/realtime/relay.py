"""The relay: one LISTEN connection per process, from the outbox to in-process subscribers.

It keeps a cursor (starting at the head when the process starts: rustok.event_head()), reads
`rustok.read_events` from it in batches and offers each event to the subscribers of the event's tenant. It
reads when `NOTIFY rustok_events` wakes it (an empty payload, one per event-writing commit, sent once that
commit's events are readable) and on a timer in any case, so a missed notification delays delivery by at most
`poll_interval`. When the database goes away it reconnects with backoff and goes on from its cursor: nothing
is lost, only late.

A subscriber never slows the relay or the others: each has a bounded queue, and when it is full the relay
cuts that subscriber off (`lagged`) instead of waiting. The subscriber then catches up from the outbox by
its own cursor (streams.py) and subscribes again. An event that changes who may read the stream (access.py:
a user's role or status changed, the user deleted, the tenant switched off) cuts the subscribers it concerns
off the same way, before it is offered: their catch-up read authorises again, so they go on or end.

Being the process's one reader of the whole outbox, it also shows every event's type to `on_event` (the tenant
caches: api/tenancy.py, TenantChanges), whether or not anyone subscribes to its tenant."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, LiteralString, TypeVar

import psycopg
from psycopg.rows import dict_row

from rustok.events.outbox import HEAD, READ, Cursor
from rustok.realtime import access
from rustok.realtime.events import Event

log = logging.getLogger("rustok.realtime")
T = TypeVar("T")

CHANNEL: LiteralString = "rustok_events"
APPLICATION_NAME = "rustok-relay"  # how operators find the relay's connection in pg_stat_activity


class Lagged(Exception):
    """The subscriber was cut off from live delivery (it fell behind, or its access may have changed); it
    catches up from the outbox, which authorises it again."""


class Closed(Exception):
    """The relay stopped (the process is shutting down)."""


class Subscription:
    """One subscriber's live queue, bounded by `limit`; filled by the relay, drained by one stream. `user_id`:
    whom the stream was authorised for (None: nobody signed in)."""

    def __init__(
        self, tenant_id: uuid.UUID, types: frozenset[str] | None, limit: int, user_id: uuid.UUID | None = None
    ) -> None:
        self.tenant_id = tenant_id
        self.user_id = user_id
        self.types = types
        self.limit = limit
        self.lagged = False
        self.closed = False
        self._events: deque[Event] = deque()
        self._wake = asyncio.Event()

    def offer(self, event: Event) -> bool:
        """Queues an event without waiting; False (and lagged) when the queue is full."""
        if len(self._events) >= self.limit:
            self.cut_off()
            return False
        self._events.append(event)
        self._wake.set()
        return True

    def cut_off(self) -> None:
        """Ends live delivery: what is queued is dropped, and the stream catches up from the outbox."""
        self.lagged = True
        self._events.clear()
        self._wake.set()

    def close(self) -> None:
        self.closed = True
        self._wake.set()

    async def get(self, timeout: float | None = None) -> Event | None:
        """The next live event, or None after `timeout` seconds. Raises Lagged or Closed."""
        while not self._events:
            if self.lagged:
                raise Lagged
            if self.closed:
                raise Closed
            self._wake.clear()
            try:
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            except TimeoutError:
                return None
        return self._events.popleft()


class Relay:
    def __init__(
        self,
        url: str,
        *,
        batch_size: int = 1000,
        poll_interval: float = 1.0,
        max_backoff: float = 5.0,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.url = url
        self.on_event = on_event  # called with each event's type as it is read, before subscribers get it
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.max_backoff = max_backoff
        self.cursor: Cursor | None = None
        self.connected = False
        self.cut_off = 0  # subscribers cut off for lagging, since start
        self.delivered = 0  # events read and fanned out, since start (rustok_relay_events_delivered_total)
        self._by_tenant: dict[uuid.UUID, set[Subscription]] = {}
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._idle = False  # waiting (for a notification or to reconnect): cancelling now is clean

    def subscribe(
        self,
        tenant_id: uuid.UUID,
        types: frozenset[str] | None = None,
        limit: int = 1000,
        user_id: uuid.UUID | None = None,
    ) -> Subscription:
        """A live queue for one tenant's events (of `types`, or all), from the relay's next read on, for a
        stream authorised as `user_id`; closed at once when the relay has stopped."""
        subscription = Subscription(tenant_id, types, limit, user_id)
        if self._stopping:
            subscription.close()
        else:
            self._by_tenant.setdefault(tenant_id, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscribers = self._by_tenant.get(subscription.tenant_id)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._by_tenant[subscription.tenant_id]

    @property
    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._by_tenant.values())

    async def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="rustok-relay")

    async def stop(self) -> None:
        """Stops reading (a read under way is finished, not interrupted) and closes every subscription, so
        their streams end."""
        task, self._task = self._task, None
        if task is not None:
            self._stopping = True
            if self._idle:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for subscribers in list(self._by_tenant.values()):
            for subscription in subscribers:
                subscription.close()
        self._by_tenant.clear()

    async def head(self, timeout: float) -> Cursor:
        """The relay's cursor, once it has one (after its first connection); raises TimeoutError."""
        async with asyncio.timeout(timeout):
            await self._ready.wait()
        assert self.cursor is not None
        return self.cursor

    async def _run(self) -> None:
        backoff = 0.1
        while not self._stopping:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.url,
                    autocommit=True,
                    row_factory=dict_row,
                    application_name=APPLICATION_NAME,
                    connect_timeout=5,
                ) as conn:
                    await conn.execute("listen " + CHANNEL)
                    if self.cursor is None:  # after LISTEN: whatever commits later wakes us
                        row = await (await conn.execute(HEAD)).fetchone()
                        assert row is not None
                        self.cursor = Cursor.from_row(row)
                    self.connected = True
                    self._ready.set()
                    backoff = 0.1
                    await self._follow(conn)
            except psycopg.Error as exc:
                reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                log.warning("event relay: database unavailable (%s); retrying in %.1fs", reason, backoff)
            except Exception:  # a bug must not end delivery for the whole process
                log.exception("event relay failed; retrying in %.1fs", backoff)
            finally:
                self.connected = False
            if not self._stopping:
                await self._idly(asyncio.sleep(backoff * random.uniform(0.5, 1.0)))
                backoff = min(backoff * 2, self.max_backoff)

    async def _follow(self, conn: psycopg.AsyncConnection[dict[str, Any]]) -> None:
        while not self._stopping:
            await self._drain(conn)
            if self._stopping:
                return
            await self._idly(self._wait(conn, self.poll_interval))

    async def _idly(self, waiting: Awaitable[T]) -> T:
        self._idle = True
        try:
            return await waiting
        finally:
            self._idle = False

    async def _wait(self, conn: psycopg.AsyncConnection[dict[str, Any]], timeout: float) -> bool:
        """True when a notification arrived (or had arrived while reading) within `timeout` seconds."""
        woke = False
        async for _ in conn.notifies(timeout=timeout, stop_after=1):
            woke = True
        return woke

    async def _drain(self, conn: psycopg.AsyncConnection[dict[str, Any]]) -> None:
        assert self.cursor is not None
        while True:
            cur = await conn.execute(READ, (*self.cursor, self.batch_size))
            rows = await cur.fetchall()
            self.delivered += len(rows)
            for row in rows:
                event = Event.from_row(row)
                self.cursor = event.cursor
                if self.on_event is not None:
                    self.on_event(event.type)
                self._fan_out(event)
            if len(rows) < self.batch_size or self._stopping:
                return
            await asyncio.sleep(0)  # let subscribers run between batches

    def _fan_out(self, event: Event) -> None:
        subscribers = self._by_tenant.get(event.tenant_id)
        if not subscribers:
            return
        concerned = access.concerned(event)
        for subscription in list(subscribers):
            if concerned is not None and (concerned == access.EVERYONE or concerned == subscription.user_id):
                subscription.cut_off()  # its catch-up authorises it again
                subscribers.discard(subscription)
                continue
            if subscription.types is not None and event.type not in subscription.types:
                continue
            if not subscription.offer(event):
                subscribers.discard(subscription)
                self.cut_off += 1
        if not subscribers:
            del self._by_tenant[event.tenant_id]
