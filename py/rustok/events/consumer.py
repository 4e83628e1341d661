"""One durable handler's loop: exclusive, positioned, retried, never stuck on one event.

- **Exclusive.** The loop holds a session advisory lock named after the handler on its own connection, so of
  several `rustok worker` processes exactly one runs a given handler; the others wait and take over when that
  connection goes away. (Locking the handler's `event_consumers` row instead would keep a transaction open
  for as long as the handler runs.)
- **Positioned.** It reads `rustok.read_events` from the handler's own cursor in `event_consumers` and
  acknowledges with `rustok.ack_events` at the end of each batch (and at least every `ack_interval` seconds
  within one), so a restart replays at most that much: handlers are at least once.
- **Retried.** A failing event is retried per the handler's RetryPolicy (exponential backoff with jitter);
  every failure is recorded in `event_handler_failures`; after the last attempt the failure stays there as
  'failed' and the stream moves on. A later success marks it 'recovered'.
- **Isolated.** Each handler runs in its own task with its own connection: a slow or failing handler delays
  only itself.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from typing import Any, LiteralString

import psycopg
from psycopg.rows import dict_row

from rustok.errors import Unavailable
from rustok.events.handlers import EventEnvelope, EventHandler, HandlerContext
from rustok.events.outbox import ACK, ORIGIN, POSITION, READ, Cursor

log = logging.getLogger("rustok.worker")

# the handler's session advisory lock: hashtextextended(LOCK_PREFIX || name, 0) (`rustok status` looks for it)
LOCK_PREFIX = "rustok.event_consumer:"
_LOCK: LiteralString = "select pg_try_advisory_lock(hashtextextended(%s || %s, 0)) as locked"
_FAILED: LiteralString = "rustok.record_handler_failure(%s, %s, %s, %s, %s, %s)"
_RECOVERED: LiteralString = "rustok.resolve_handler_failure(%s, %s)"


@dataclass
class ConsumerStats:
    handled: int = 0  # events the handler completed
    skipped: int = 0  # events it does not handle
    gave_up: int = 0  # events recorded as failed after the retry budget
    failed_attempts: int = 0
    busy: bool = False  # --once: another worker holds this handler


@dataclass(frozen=True)
class ConsumerOptions:
    batch_size: int = 100
    poll_interval: float = 1.0
    ack_interval: float = 1.0
    reconnect_delay: float = 1.0


class DurableConsumer:
    def __init__(
        self,
        handler: EventHandler,
        context: HandlerContext,
        wakeup: asyncio.Event,
        options: ConsumerOptions | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.handler = handler
        self.name = handler.name
        self.context = context
        self.wakeup = wakeup
        self.options = options or ConsumerOptions()
        self.rng = rng or random.Random()
        self.stats = ConsumerStats()
        self.holds_lock = asyncio.Event()

    async def run(self, stop: asyncio.Event, once: bool = False) -> ConsumerStats:
        """Consumes until `stop` is set, or with `once` until caught up (returns at once, marked busy, when
        another worker holds the handler). Database trouble: reconnects after a delay, or raises with `once`."""
        while not stop.is_set():
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.context.app_url, autocommit=True, row_factory=dict_row
                ) as conn:
                    while not await self._lock(conn):
                        if once:
                            self.stats.busy = True
                            return self.stats
                        if await _wait(stop, None, self.options.poll_interval) is None:
                            return self.stats
                    self.holds_lock.set()
                    await self._consume(conn, stop, once)
                    return self.stats
            except (psycopg.Error, OSError, Unavailable) as exc:
                # Unavailable: the database went away under the handler (or under recording its failure): an
                # outage to wait out like a lost connection, not a fault of the handler's code.
                if once:
                    raise
                log.warning("%s: %s: %s; retrying", self.name, type(exc).__name__, exc)
            except Exception:
                if once:
                    raise
                log.exception("%s: unexpected error; restarting the handler's loop", self.name)
            finally:
                self.holds_lock.clear()
            await _wait(stop, None, self.options.reconnect_delay)
        return self.stats

    async def _lock(self, conn: psycopg.AsyncConnection[Any]) -> bool:
        row = await (await conn.execute(_LOCK, (LOCK_PREFIX, self.name))).fetchone()
        return bool(row and row["locked"])

    async def _consume(self, conn: psycopg.AsyncConnection[Any], stop: asyncio.Event, once: bool) -> None:
        row = await (await conn.execute(POSITION, (self.name,))).fetchone()
        cursor = Cursor.from_row(row) if row else ORIGIN
        acked = cursor
        while not stop.is_set():
            self.wakeup.clear()
            rows = await (await conn.execute(READ, (*cursor, self.options.batch_size))).fetchall()
            if not rows:
                if once:
                    return
                await _wait(stop, self.wakeup, self.options.poll_interval)
                continue
            last_ack = time.monotonic()
            for row in rows:
                envelope = EventEnvelope.from_row(row)
                if not await self._process(envelope, stop):
                    break  # stopping in the middle of retries: this event was not done, keep it for later
                cursor = envelope.cursor
                if time.monotonic() - last_ack >= self.options.ack_interval:
                    acked = await self._ack(conn, cursor)
                    last_ack = time.monotonic()
            if cursor != acked:
                acked = await self._ack(conn, cursor)

    async def _ack(self, conn: psycopg.AsyncConnection[Any], cursor: Cursor) -> Cursor:
        await conn.execute(ACK, (self.name, *cursor))
        return cursor

    async def _process(self, envelope: EventEnvelope, stop: asyncio.Event) -> bool:
        """Runs the handler on one event with retries; False when stopped before the event was done."""
        policy = self.handler.retry
        attempt = 0
        while True:
            attempt += 1
            try:
                if not self.handler.handles(envelope.event):
                    self.stats.skipped += 1
                    return True
                async with asyncio.timeout(policy.timeout):
                    await self.handler.handle(envelope)
            except Exception as exc:
                self.stats.failed_attempts += 1
                gave_up = attempt >= policy.max_attempts
                await self._record_failure(envelope, attempt, exc, gave_up)
                if gave_up:
                    self.stats.gave_up += 1
                    log.error(
                        "%s: gave up on event %s (%s) after %d attempts: %s",
                        self.name,
                        envelope.id,
                        envelope.event.type,
                        attempt,
                        _describe(exc),
                    )
                    return True
                if await _wait(stop, None, policy.delay(attempt, self.rng)) is None:
                    return False
                continue
            if attempt > 1:
                await self.context.call(envelope.tenant_id, _RECOVERED, (self.name, envelope.id))
            self.stats.handled += 1
            return True

    async def _record_failure(self, envelope: EventEnvelope, attempt: int, exc: Exception, gave_up: bool) -> None:
        await self.context.call(
            envelope.tenant_id,
            _FAILED,
            (self.name, envelope.id, envelope.event.type, attempt, _describe(exc), gave_up),
        )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "TimeoutError: the handler ran longer than its retry policy's timeout"
    return f"{type(exc).__name__}: {exc}"


async def _wait(stop: asyncio.Event, wakeup: asyncio.Event | None, timeout: float) -> bool | None:
    """Waits for `timeout` seconds, a wake-up or `stop`: None when stopped, True when woken, False on time."""
    if stop.is_set():
        return None
    waiters = {asyncio.ensure_future(stop.wait())}
    if wakeup is not None:
        waiters.add(asyncio.ensure_future(wakeup.wait()))
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    if stop.is_set():
        return None
    woken = wakeup is not None and wakeup.is_set()
    if woken and wakeup is not None:
        wakeup.clear()
    return woken
