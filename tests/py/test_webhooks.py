"""Webhooks end to end with real sessions and a local HTTP receiver: signed delivery, retries with backoff
(Retry-After respected), giving up, no redirects, timeouts, the guard at delivery time, and a delivery
acknowledged with 2xx never sent again — not on a second run, not on a replay from position 0."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from rustok.api.database import Gateway
from rustok.config import Settings
from rustok.events.consumer import ConsumerOptions
from rustok.events.handlers import HandlerContext
from rustok.events.worker import Worker, WorkerReport
from rustok.ids import parse_id
from rustok.webhooks import signing
from rustok.webhooks.delivery import DeliveryPolicy
from rustok.webhooks.dispatcher import WebhookDispatcher
from rustok.webhooks.handler import WebhooksHandler
from tests.py.webhooks_support import (
    Receiver,
    Reply,
    Tenant,
    as_admin,
    create_tenant,
    create_webhook,
    deliveries,
    publish,
)

FAST = DeliveryPolicy(max_attempts=4, base_delay=0.05, max_delay=0.4, timeout=2.0)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def run_once(db: Any, policy: DeliveryPolicy = FAST, allow_private: bool = True) -> WorkerReport:
    handler = WebhooksHandler(policy, allow_private=allow_private, poll_interval=0.05)
    return asyncio.run(Worker(db.app_url, Settings(), [handler]).run(once=True))


async def _run_until(db: Any, policy: DeliveryPolicy, done: Any, timeout: float = 15.0) -> None:
    """A continuous worker until `done()` is true (checked every 20 ms) or the timeout."""
    handler = WebhooksHandler(policy, allow_private=True, poll_interval=0.05)
    worker = Worker(db.app_url, Settings(), [handler], ConsumerOptions(poll_interval=0.1))
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        async with asyncio.timeout(timeout):
            while not await asyncio.to_thread(done):
                await asyncio.sleep(0.02)
    finally:
        stop.set()
        await task


def run_until(db: Any, done: Any, policy: DeliveryPolicy = FAST) -> None:
    asyncio.run(_run_until(db, policy, done))


def settled(db: Any, tenant: Tenant, webhook_id: str) -> Any:
    """A check: the webhook has a delivery, and none is pending."""

    def check() -> bool:
        found = deliveries(db, tenant, webhook_id)
        return bool(found) and all(d["status"] != "pending" for d in found)

    return check


def test_an_event_is_delivered_signed_to_the_local_receiver(db: Any, receiver: Receiver) -> None:
    tenant = create_tenant(db, "signed")
    url = receiver.plan("/signed")
    webhook = create_webhook(db, tenant, url, ["OrderPlaced"])
    publish(db, tenant, ("OrderPlaced", {"order_id": "A1", "total": 5}), ("UserLoggedIn", {"user_id": "U"}))

    report = run_once(db)

    assert report.consumers["webhooks"].handled >= 2
    [request] = receiver.at("/signed")
    assert signing.verify(webhook["secret"], request.body, request.headers["x-rustok-signature"])
    assert not signing.verify("whsec_wrong", request.body, request.headers["x-rustok-signature"])
    body = json.loads(request.body)
    assert set(body) == {"id", "type", "tenantId", "occurredAt", "data"}
    assert body["type"] == "OrderPlaced" and body["data"] == {"order_id": "A1", "total": 5}
    assert parse_id(body["tenantId"]) == tenant.id and body["occurredAt"].endswith("Z")
    assert request.headers["x-rustok-event"] == "OrderPlaced"
    assert request.headers["content-type"] == "application/json"
    [delivery] = deliveries(db, tenant, webhook["id"])
    assert request.headers["idempotency-key"] == delivery["id"]
    assert delivery["status"] == "succeeded" and delivery["eventId"] == body["id"]
    assert [(a["statusCode"], a["outcome"]) for a in delivery["attemptLog"]] == [(200, "succeeded")]


def test_a_500_is_retried_with_backoff_then_succeeds(db: Any, receiver: Receiver) -> None:
    tenant = create_tenant(db, "flaky")
    url = receiver.plan("/flaky", Reply(500), Reply(502), Reply(200))
    webhook = create_webhook(db, tenant, url)
    publish(db, tenant, ("OrderPlaced", {"n": 1}))

    run_until(db, settled(db, tenant, webhook["id"]))

    requests = receiver.at("/flaky")
    assert len(requests) == 3
    assert len({r.headers["idempotency-key"] for r in requests}) == 1, "the same key on every attempt"
    assert len({r.body for r in requests}) == 1, "the same body on every attempt"
    assert [r.headers["x-rustok-delivery-attempt"] for r in requests] == ["1", "2", "3"]
    gaps = [b.at - a.at for a, b in itertools.pairwise(requests)]
    assert gaps[0] >= FAST.base_delay / 2 and gaps[1] >= FAST.base_delay, gaps  # 1st: 25-50 ms, 2nd: 50-100 ms
    [delivery] = deliveries(db, tenant, webhook["id"])
    assert delivery["status"] == "succeeded" and delivery["attempts"] == 3
    assert [(a["statusCode"], a["outcome"]) for a in delivery["attemptLog"]] == [
        (500, "retry"),
        (502, "retry"),
        (200, "succeeded"),
    ]
    assert all(a["durationMs"] >= 0 for a in delivery["attemptLog"])


def test_retry_after_is_respected(db: Any, receiver: Receiver) -> None:
    tenant = create_tenant(db, "throttled")
    url = receiver.plan("/throttled", Reply(429, {"Retry-After": "1"}), Reply(200))
    webhook = create_webhook(db, tenant, url)
    publish(db, tenant, ("OrderPlaced", {"n": 1}))

    run_until(db, settled(db, tenant, webhook["id"]))

    first, second = receiver.at("/throttled")
    assert second.at - first.at >= 0.95, "the receiver asked for a second"
    assert deliveries(db, tenant, webhook["id"])[0]["status"] == "succeeded"


def test_the_delivery_gives_up_after_the_last_attempt_and_is_kept(db: Any, receiver: Receiver) -> None:
    tenant = create_tenant(db, "down")
    url = receiver.plan("/down", *[Reply(503)] * FAST.max_attempts)
    webhook = create_webhook(db, tenant, url)
    publish(db, tenant, ("OrderPlaced", {"n": 1}))

    run_until(db, settled(db, tenant, webhook["id"]))

    [delivery] = deliveries(db, tenant, webhook["id"])
    assert delivery["status"] == "failed" and delivery["attempts"] == FAST.max_attempts
    assert [a["outcome"] for a in delivery["attemptLog"]] == ["retry"] * (FAST.max_attempts - 1) + ["failed"]
    assert "gave up after 4 attempts" in delivery["lastError"]
    assert len(receiver.at("/down")) == FAST.max_attempts

    receiver.plan("/down", Reply(200))
    publish(db, tenant, ("OrderPlaced", {"n": 2}))
    run_once(db)
    assert [d["status"] for d in deliveries(db, tenant, webhook["id"])] == ["succeeded", "failed"]


@pytest.mark.parametrize(("status", "headers"), [(404, {}), (302, {"Location": "/elsewhere"})])
def test_other_client_errors_and_redirects_fail_at_once(
    db: Any, receiver: Receiver, status: int, headers: dict[str, str]
) -> None:
    tenant = create_tenant(db, f"refused-{status}")
    path = f"/refused-{status}"
    webhook = create_webhook(db, tenant, receiver.plan(path, Reply(status, headers)))
    publish(db, tenant, ("OrderPlaced", {"n": 1}))

    run_once(db)

    [delivery] = deliveries(db, tenant, webhook["id"])
    assert delivery["status"] == "failed" and delivery["attempts"] == 1
    assert delivery["lastStatusCode"] == status
    assert len(receiver.at(path)) == 1 and receiver.at("/elsewhere") == [], "a redirect is never followed"


def test_a_timeout_is_retried(db: Any, receiver: Receiver) -> None:
    tenant = create_tenant(db, "slow")
    url = receiver.plan("/slow", Reply(200, delay=1.5), Reply(200))
    webhook = create_webhook(db, tenant, url)
    publish(db, tenant, ("OrderPlaced", {"n": 1}))
    policy = DeliveryPolicy(max_attempts=3, base_delay=0.05, max_delay=0.1, timeout=0.3)

    run_until(db, settled(db, tenant, webhook["id"]), policy)

    [delivery] = deliveries(db, tenant, webhook["id"])
    assert delivery["status"] == "succeeded"
    first, second = delivery["attemptLog"]
    assert first["outcome"] == "retry" and first["error"] == "timeout" and first["statusCode"] is None
    assert 250 <= first["durationMs"] < 1500
    assert second["outcome"] == "succeeded"


def test_a_delivered_event_is_never_sent_again(db: Any, receiver: Receiver) -> None:
    tenant = create_tenant(db, "once")
    webhook = create_webhook(db, tenant, receiver.plan("/once"))
    publish(db, tenant, ("OrderPlaced", {"n": 1}), ("OrderPlaced", {"n": 2}))
    run_once(db)
    assert len(receiver.at("/once")) == 2

    run_once(db)  # a restarted worker: the handler's position and the deliveries are in the database
    assert len(receiver.at("/once")) == 2

    with psycopg.connect(db.admin_url) as conn:  # replay the whole outbox from position 0
        conn.execute("delete from event_consumers where name = 'webhooks'")
    report = run_once(db)
    assert report.consumers["webhooks"].handled >= 2, "the replay read the events again"
    assert len(receiver.at("/once")) == 2, "but no delivery was made twice"
    assert [d["status"] for d in deliveries(db, tenant, webhook["id"])] == ["succeeded", "succeeded"]


def test_a_private_target_is_refused_at_delivery_time(db: Any, receiver: Receiver) -> None:
    tenant: Tenant = create_tenant(db, "guarded")
    webhook = create_webhook(db, tenant, receiver.plan("/guarded"))  # registered while allowed
    publish(db, tenant, ("OrderPlaced", {"n": 1}))

    run_once(db, allow_private=False)

    [delivery] = deliveries(db, tenant, webhook["id"])
    assert delivery["status"] == "failed" and delivery["attempts"] == 1
    assert delivery["lastError"].startswith("WEBHOOK_TARGET_FORBIDDEN") and "loopback" in delivery["lastError"]
    assert receiver.at("/guarded") == []


def test_a_paused_webhook_gets_nothing_until_it_is_active_again(db: Any, receiver: Receiver) -> None:
    tenant = create_tenant(db, "paused")
    webhook = create_webhook(db, tenant, receiver.plan("/paused"), [])
    as_admin(db, tenant, "select rustok.update_webhook(rustok.parse_id(%s), is_active => false)", (webhook["id"],))
    publish(db, tenant, ("OrderPlaced", {"n": 1}))
    run_once(db)
    assert receiver.at("/paused") == []

    as_admin(db, tenant, "select rustok.update_webhook(rustok.parse_id(%s), is_active => true)", (webhook["id"],))
    publish(db, tenant, ("OrderPlaced", {"n": 2}))
    run_once(db)
    got = sorted((json.loads(r.body)["type"], json.loads(r.body)["data"].get("n")) for r in receiver.at("/paused"))
    assert got == [("OrderPlaced", 2), ("WebhookUpdated", None)]


def test_two_dispatchers_draining_together_send_each_delivery_once(db: Any, receiver: Receiver) -> None:
    tenant = create_tenant(db, "contended")
    create_webhook(db, tenant, receiver.plan("/contended"))
    publish(db, tenant, *[("OrderPlaced", {"n": n}) for n in range(40)])
    with psycopg.connect(db.app_url) as conn:  # the handler's part: deliveries created, none sent yet
        conn.execute("select rustok.set_context(%s)", (tenant.id,))
        conn.execute(
            "select rustok.enqueue_webhook_deliveries(occurred_at, position) "
            "from event_outbox where type = 'OrderPlaced'"
        )

    async def drain_twice() -> list[int]:
        contexts = [HandlerContext(Settings(), db.app_url, Gateway(db.app_url)) for _ in range(2)]
        dispatchers = [WebhookDispatcher(c, FAST, allow_private=True, concurrency=4) for c in contexts]
        for context in contexts:
            await context.gateway.open()
        try:
            await asyncio.gather(*(d.drain() for d in dispatchers))
        finally:
            for dispatcher, context in zip(dispatchers, contexts, strict=True):
                await dispatcher.close()
                await context.gateway.close()
        return [d.stats.succeeded for d in dispatchers]

    sent = asyncio.run(drain_twice())

    requests = receiver.at("/contended")
    assert len(requests) == 40 and len({r.headers["idempotency-key"] for r in requests}) == 40
    assert sum(sent) == 40 and all(sent), f"both dispatchers took part: {sent}"
