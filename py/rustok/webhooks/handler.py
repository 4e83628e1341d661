"""The webhooks handler: the first durable handler.

For each event it creates the deliveries (rustok.enqueue_webhook_deliveries: one per matching active webhook,
idempotent, so replaying the stream never sends an event twice to a webhook) and wakes the dispatcher, which
sends them with their own retries and backoff. Sending is kept out of the event stream on purpose: a webhook
that is down for hours delays its own deliveries, never the stream or the other tenants' webhooks."""

from __future__ import annotations

import asyncio
import random
from typing import LiteralString

from rustok.events.handlers import EventEnvelope, EventHandler, HandlerContext, RetryPolicy
from rustok.webhooks.delivery import DeliveryPolicy
from rustok.webhooks.dispatcher import WebhookDispatcher

_ENQUEUE: LiteralString = "rustok.enqueue_webhook_deliveries(%s, %s)"


class WebhooksHandler(EventHandler):
    name = "webhooks"
    retry = RetryPolicy(max_attempts=5, base_delay=0.5, max_delay=10.0, timeout=30.0)

    def __init__(
        self,
        policy: DeliveryPolicy | None = None,
        allow_private: bool | None = None,
        concurrency: int = 8,
        poll_interval: float = 1.0,
        rng: random.Random | None = None,
    ) -> None:
        self.policy = policy or DeliveryPolicy()
        self.allow_private = allow_private
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.rng = rng
        self._context: HandlerContext | None = None
        self._dispatcher: WebhookDispatcher | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def dispatcher(self) -> WebhookDispatcher:
        if self._dispatcher is None:
            raise RuntimeError("the webhooks handler is not started")
        return self._dispatcher

    async def start(self, context: HandlerContext) -> None:
        allow_private = context.settings.webhooks_allow_private if self.allow_private is None else self.allow_private
        self._context = context
        self._dispatcher = WebhookDispatcher(
            context, self.policy, allow_private, self.concurrency, self.poll_interval, self.rng
        )
        if not context.once:
            self._stop.clear()
            self._task = asyncio.create_task(self._dispatcher.run(self._stop))

    async def handle(self, envelope: EventEnvelope) -> None:
        if self._context is None:
            raise RuntimeError("the webhooks handler is not started")
        created = await self._context.call(envelope.tenant_id, _ENQUEUE, (envelope.occurred_at, envelope.position))
        if created:
            self.dispatcher.wake()

    async def drain(self) -> None:
        await self.dispatcher.drain()

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self._dispatcher is not None:
            await self._dispatcher.close()
