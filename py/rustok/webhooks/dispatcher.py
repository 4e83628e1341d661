"""The delivery dispatcher: claims due deliveries, sends them concurrently, records every attempt.

Any number of workers can dispatch side by side: a claim (rustok.claim_webhook_deliveries) skips deliveries
another worker holds and leases each one for longer than an attempt can take, so a delivery is sent by one
worker at a time; a claim of a worker that died runs out and the delivery is sent again (receivers dedupe by
Idempotency-Key). A recorded 2xx is final: the delivery is never claimed again.

Tenants with due deliveries are served in turn (rustok.webhook_tenants_due, longest waiting first), each
claim and record under that tenant's context. At most `concurrency` attempts are in flight, so one slow
endpoint holds one slot, not the dispatcher."""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from dataclasses import dataclass
from typing import LiteralString

import httpx2
import psycopg

from rustok.errors import RusToKError
from rustok.events.handlers import HandlerContext
from rustok.webhooks.delivery import AttemptResult, ClaimedDelivery, DeliveryPolicy, attempt_delivery

log = logging.getLogger("rustok.worker")

_TENANTS_DUE: LiteralString = "select rustok.webhook_tenants_due(%s) as tenant_id"
_CLAIM: LiteralString = "select * from rustok.claim_webhook_deliveries(%s, %s)"
_RECORD: LiteralString = "rustok.record_webhook_attempt(%s, %s, %s, %s, %s, %s, %s, %s)"


@dataclass
class DispatchStats:
    attempts: int = 0
    succeeded: int = 0
    retried: int = 0
    failed: int = 0


class WebhookDispatcher:
    def __init__(
        self,
        context: HandlerContext,
        policy: DeliveryPolicy,
        allow_private: bool,
        concurrency: int = 8,
        poll_interval: float = 1.0,
        rng: random.Random | None = None,
    ) -> None:
        self.context = context
        self.policy = policy
        self.allow_private = allow_private
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.rng = rng or random.Random()
        self.stats = DispatchStats()
        self._wake = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._client = httpx2.AsyncClient(
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment: the checked address is the one connected to
            limits=httpx2.Limits(max_keepalive_connections=0),  # a pinned connection is never reused for another name
            timeout=httpx2.Timeout(policy.timeout, connect=policy.connect_timeout),
        )

    def wake(self) -> None:
        """New deliveries may be due (the handler enqueued some)."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Dispatches until `stop` is set; database trouble is logged and retried after a poll interval."""
        while not stop.is_set():
            try:
                claimed = await self._claim_and_send()
            except (psycopg.Error, RusToKError, OSError) as exc:
                log.warning("webhook dispatch: %s: %s; retrying", type(exc).__name__, exc)
                claimed = 0
            if claimed and len(self._in_flight) < self.concurrency:
                continue  # more may be due right now
            await self._idle(stop)
        await self._finish_in_flight()

    async def drain(self) -> None:
        """Sends everything due now (and waits for those attempts); returns when nothing more is due."""
        while True:
            claimed = await self._claim_and_send()
            if not claimed and not self._in_flight:
                return
            if not claimed or len(self._in_flight) >= self.concurrency:
                await asyncio.wait(set(self._in_flight), return_when=asyncio.FIRST_COMPLETED)

    async def close(self) -> None:
        await self._finish_in_flight()
        await self._client.aclose()

    async def _claim_and_send(self) -> int:
        free = self.concurrency - len(self._in_flight)
        if free <= 0:
            return 0
        claimed = await self._claim(free)
        for delivery in claimed:
            task = asyncio.create_task(self._send(delivery))
            self._in_flight.add(task)
            task.add_done_callback(self._sent)
        return len(claimed)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._wake.set()

    async def _claim(self, limit: int) -> list[ClaimedDelivery]:
        async with self.context.pool.connection() as conn:
            rows = await (await conn.execute(_TENANTS_DUE, (limit,))).fetchall()
        tenants: list[uuid.UUID] = [row["tenant_id"] for row in rows]
        claimed: list[ClaimedDelivery] = []
        share = max(1, limit // max(len(tenants), 1))
        for tenant_id in tenants:
            wanted = min(share, limit - len(claimed))
            if wanted <= 0:
                break
            async with self.context.tenant_transaction(tenant_id) as conn:
                cur = await conn.execute(_CLAIM, (wanted, self.policy.lease_seconds))
                claimed.extend(ClaimedDelivery(tenant_id=tenant_id, **row) for row in await cur.fetchall())
        return claimed

    async def _send(self, delivery: ClaimedDelivery) -> None:
        result = await attempt_delivery(self._client, delivery, self.policy, self.allow_private, self.rng)
        self._count(result)
        try:
            await self._record(delivery, result)
        except (psycopg.Error, RusToKError, OSError) as exc:
            # The claim's lease runs out and the delivery is attempted again: at least once.
            log.warning("webhook delivery %s: attempt not recorded (%s)", delivery.delivery_id, exc)
            return
        if result.outcome == "retry" and result.retry_in is not None:
            asyncio.get_running_loop().call_later(result.retry_in, self._wake.set)

    async def _record(self, delivery: ClaimedDelivery, result: AttemptResult) -> None:
        await self.context.call(
            delivery.tenant_id,
            _RECORD,
            (
                delivery.delivery_id,
                delivery.attempt,
                result.started_at,
                result.duration_ms,
                result.status_code,
                result.error,
                result.outcome,
                result.retry_in,
            ),
        )

    def _count(self, result: AttemptResult) -> None:
        self.stats.attempts += 1
        if result.outcome == "succeeded":
            self.stats.succeeded += 1
        elif result.outcome == "retry":
            self.stats.retried += 1
        else:
            self.stats.failed += 1

    async def _idle(self, stop: asyncio.Event) -> None:
        waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())}
        try:
            await asyncio.wait(waiters, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        self._wake.clear()

    async def _finish_in_flight(self) -> None:
        """Lets attempts in flight end (each is bounded by the policy's timeout)."""
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=self.policy.timeout + 5)
        for task in list(self._in_flight):
            task.cancel()
