"""One subscriber's stream of events: in cursor order, each once, none missed.

Opening it authorises in SQL (`rustok.authorize_event_stream()`: a signed-in user of an active tenant with
the permission events.read). A stream that starts from a cursor (Last-Event-ID) first reads its tenant's
outbox after that cursor (`rustok.read_tenant_events`); when a read comes back short it subscribes to the
relay and reads once more, so an event committed in between is in the outbox read, the live queue or both,
and live events at or below the cursor are dropped. A stream without a cursor starts live at the relay's
cursor. A stream cut off for lagging goes back to reading the outbox from its own cursor the same way.
Every event is checked against the stream's tenant before it is handed out. Each outbox read authorises
again (in the same SQL, set_context and authorize_event_stream), so a stream the relay cut off because its
user or tenant changed (access.py) goes on if still allowed and otherwise raises the refusal."""

from __future__ import annotations

import enum
import uuid
from collections import deque
from typing import TYPE_CHECKING

from rustok.api.context import RequestContext
from rustok.errors import Internal
from rustok.events.outbox import READ_TENANT, Cursor
from rustok.realtime.events import Event
from rustok.realtime.relay import Closed, Lagged, Subscription

if TYPE_CHECKING:
    from rustok.realtime.hub import Realtime


class _Mode(enum.Enum):
    CATCH_UP = 1  # reading the outbox, not subscribed
    SWITCHING = 2  # subscribed; one more outbox read covers what committed meanwhile
    LIVE = 3  # from the relay's queue


class EventStream:
    def __init__(
        self, realtime: Realtime, ctx: RequestContext, after: Cursor | None = None, types: frozenset[str] | None = None
    ) -> None:
        self.realtime = realtime
        self.ctx = ctx
        self.types = types
        self.cursor: Cursor | None = after
        self.tenant_id: uuid.UUID | None = None
        self._mode = _Mode.CATCH_UP
        self._live: Subscription | None = None
        self._backlog: deque[Event] = deque()

    async def open(self) -> EventStream:
        """Authorises the stream; raises what rustok.authorize_event_stream raises."""
        self.tenant_id = await self.realtime.services.gateway.call(self.ctx, "rustok.authorize_event_stream()")
        try:  # the relay must have its cursor before a stream relies on it (or it could skip what we read)
            await self.realtime.relay.head(self.realtime.config.ready_timeout)
        except TimeoutError:
            raise Internal("the event relay is not connected") from None
        if self.cursor is None:
            self._subscribe()
            self.cursor = self.realtime.relay.cursor
            self._mode = _Mode.LIVE
        return self

    def close(self) -> None:
        if self._live is not None:
            self.realtime.relay.unsubscribe(self._live)
            self._live = None

    async def next(self, timeout: float | None = None) -> Event | None:
        """The next event, or None when none came within `timeout` seconds. Raises Closed when the relay
        stops (the process is shutting down)."""
        while True:
            if self._backlog:
                return self._backlog.popleft()
            if self._mode is not _Mode.LIVE:
                await self._catch_up()
                continue
            assert self._live is not None
            try:
                event = await self._live.get(timeout)
            except Lagged:
                self.close()
                self._mode = _Mode.CATCH_UP
                continue
            if event is None:
                return None
            if self._accept(event):
                return event

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Event:
        try:
            event = await self.next()
        except Closed:
            raise StopAsyncIteration from None
        assert event is not None
        return event

    def _subscribe(self) -> None:
        assert self.tenant_id is not None
        self._live = self.realtime.relay.subscribe(
            self.tenant_id, self.types, self.realtime.config.queue_limit, self.ctx.user_id
        )

    def _accept(self, event: Event) -> bool:
        """True for an event this stream hands out: its tenant's, after its cursor, of its types."""
        assert self.cursor is not None
        if event.tenant_id != self.tenant_id or event.cursor <= self.cursor:
            return False
        self.cursor = event.cursor
        return self.types is None or event.type in self.types

    async def _catch_up(self) -> None:
        batch = self.realtime.config.catch_up_batch
        events = await self._read(batch)
        self._backlog.extend(e for e in events if self._accept(e))
        if len(events) >= batch:
            return
        if self._mode is _Mode.CATCH_UP:
            self._subscribe()
            self._mode = _Mode.SWITCHING
        else:
            self._mode = _Mode.LIVE

    async def _read(self, batch: int) -> list[Event]:
        assert self.cursor is not None
        async with self.realtime.services.gateway.transaction(self.ctx) as conn:
            rows = await (await conn.execute(READ_TENANT, (*self.cursor, batch))).fetchall()
        return [Event.from_row(row) for row in rows]
