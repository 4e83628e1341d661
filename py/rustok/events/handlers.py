"""The manifest's EventHandler for durable consumers, and what a handler receives.

A handler has a stable `name` (its position in `event_consumers` and its rows in `event_handler_failures`
are kept under it: renaming it starts it over from the beginning of the outbox), says which events it
`handles`, and `handle`s one envelope at a time. It runs at least once per event: a handler must tolerate
seeing an event again (after a crash between its work and the acknowledgement). Its `retry` policy says how
often and how patiently a failing event is retried before the failure is recorded and the stream moves on.

A handler that needs the database or background work overrides `start` (it receives the worker's
HandlerContext), `stop`, and `drain` (`rustok worker --once`: finish follow-up work before exiting)."""

from __future__ import annotations

import random
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, LiteralString

import psycopg

from rustok.api.connections import ConnectionPool
from rustok.api.context import RequestContext
from rustok.api.database import Gateway
from rustok.config import Settings
from rustok.events.outbox import OutboxEvent
from rustok.events.reconnect import jittered_backoff


@dataclass(frozen=True)
class DomainEvent:
    """What happened: a PascalCase type and its data (the manifest's DomainEvent)."""

    type: str
    data: Mapping[str, Any]


class EventEnvelope(OutboxEvent):
    """One committed outbox event with who and where (the manifest's EventEnvelope): the outbox's row
    (events/outbox.py: id, tenant_id, actor_id, occurred_at, cursor) and what happened, `event`."""

    __slots__ = ()

    @property
    def event(self) -> DomainEvent:
        return DomainEvent(self.type, self.data)

    @property
    def position(self) -> int:
        return self.cursor.position


@dataclass(frozen=True)
class RetryPolicy:
    """At most `max_attempts` tries per event; before try n+1 the handler waits an exponential delay
    (base_delay · 2^(n-1), at most max_delay) of which the upper half is random (jitter), so handlers that
    failed together do not retry in lockstep. `timeout` bounds one try."""

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    timeout: float = 60.0

    def delay(self, failed_attempts: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after `failed_attempts` failures (1, 2, …)."""
        return jittered_backoff(failed_attempts, self.base_delay, self.max_delay, rng)


@dataclass
class HandlerContext:
    """What the worker gives handlers: settings, and the application role's database gateway (row-level
    security holds), used under the event's tenant."""

    settings: Settings
    app_url: str
    gateway: Gateway = field(repr=False)
    once: bool = False  # `rustok worker --once`: no background loops; drain() does the follow-up work

    @property
    def pool(self) -> ConnectionPool:
        return self.gateway.pool

    async def call(self, tenant_id: uuid.UUID, call: LiteralString, params: Sequence[Any] = ()) -> Any:
        """The value of one SQL expression under the tenant's context, in one statement (one round trip)."""
        return await self.gateway.call(RequestContext(tenant_id), call, params)

    @asynccontextmanager
    async def tenant_transaction(self, tenant_id: uuid.UUID) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """One transaction with the tenant set (Gateway.transaction), committed on success."""
        async with self.gateway.transaction(RequestContext(tenant_id)) as conn:
            yield conn


class EventHandler(ABC):
    """A durable consumer of the outbox (the manifest's EventHandler)."""

    name: str
    retry: RetryPolicy = RetryPolicy()

    def handles(self, event: DomainEvent) -> bool:
        """Whether this handler wants the event; the others are skipped (and acknowledged)."""
        return True

    @abstractmethod
    async def handle(self, envelope: EventEnvelope) -> None:
        """Does the work for one event; raising means "retry" (up to the retry policy)."""

    async def start(self, context: HandlerContext) -> None:  # noqa: B027 - optional hook
        """Called once before the first event (open what the handler needs, start background work)."""

    async def drain(self) -> None:  # noqa: B027 - optional hook
        """`--once`: called after the stream is caught up; finish follow-up work that is due now."""

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Called once when the worker stops."""
