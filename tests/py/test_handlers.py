"""Durable handlers with real sessions: each event once and in order, a position kept across restarts,
retries with growing jittered delays, a poisoned event recorded and skipped, a recovery recorded, a failing
or slow handler that does not hold up another, one worker per handler (and a takeover when it stops), and a
NOTIFY that wakes a handler long before its poll interval."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import psycopg
import pytest

from rustok.api.database import Gateway
from rustok.config import Settings
from rustok.db import Database
from rustok.errors import Unavailable
from rustok.events.consumer import ConsumerOptions, DurableConsumer
from rustok.events.handlers import DomainEvent, EventEnvelope, EventHandler, HandlerContext, RetryPolicy
from rustok.events.reconnect import Reconnect
from rustok.events.worker import Worker, WorkerError, WorkerReport, select_handlers
from rustok.modules import ModuleRegistry, RusToKModule
from rustok.platform import available_handlers
from tests.py.webhooks_support import Tenant, create_tenant, publish

QUICK = RetryPolicy(max_attempts=3, base_delay=0.04, max_delay=1.0, timeout=2.0)
FAST_POLL = ConsumerOptions(poll_interval=0.1, reconnect=Reconnect(first=0.1, ceiling=0.2))


class Recorder(EventHandler):
    """Handles the Probe events of one run; `behaviour(n, attempt)` may raise or sleep."""

    def __init__(
        self,
        name: str,
        run: str,
        behaviour: Callable[[int, int], Coroutine[Any, Any, None]] | None = None,
        retry: RetryPolicy = QUICK,
        seen: list[int] | None = None,
    ) -> None:
        self.name = name
        self.run = run
        self.behaviour = behaviour
        self.retry = retry
        self.seen: list[int] = [] if seen is None else seen
        self.attempts: dict[int, list[float]] = {}

    def handles(self, event: DomainEvent) -> bool:
        return event.type == "Probe" and event.data.get("run") == self.run

    async def handle(self, envelope: EventEnvelope) -> None:
        n = int(envelope.event.data["n"])
        self.attempts.setdefault(n, []).append(time.monotonic())
        if self.behaviour is not None:
            await self.behaviour(n, len(self.attempts[n]))
        self.seen.append(n)


@pytest.fixture(scope="module")
def tenant(db: Database) -> Tenant:
    return create_tenant(db, "handlers")


def probes(db: Database, tenant: Tenant, run: str, numbers: range) -> None:
    publish(db, tenant, *[("Probe", {"run": run, "n": n}) for n in numbers])


def once(db: Database, *handlers: EventHandler) -> WorkerReport:
    return asyncio.run(Worker(db.app_url, Settings(), handlers, FAST_POLL).run(once=True))


def failures(db: Database, tenant: Tenant, consumer: str) -> list[dict[str, Any]]:
    with psycopg.connect(db.app_url, row_factory=psycopg.rows.dict_row) as conn:
        conn.execute("select rustok.set_context(%s)", (tenant.id,))
        return conn.execute(
            "select f.*, (select (e.data ->> 'n')::int from event_outbox e where e.id = f.event_id) as n "
            "from event_handler_failures f where consumer = %s order by n",
            (consumer,),
        ).fetchall()


def test_each_event_once_in_order_and_the_position_is_kept(db: Database, tenant: Tenant) -> None:
    recorder = Recorder("in-order", "in-order")
    probes(db, tenant, "in-order", range(5))
    report = once(db, recorder)
    assert recorder.seen == [0, 1, 2, 3, 4]
    assert report.consumers["in-order"].handled == 5 and report.consumers["in-order"].skipped > 0

    restarted = Recorder("in-order", "in-order")
    probes(db, tenant, "in-order", range(5, 7))
    once(db, restarted)
    assert restarted.seen == [5, 6], "a restarted handler goes on from its position"
    with psycopg.connect(db.admin_url) as conn:
        assert conn.execute("select count(*) from event_consumers where name = 'in-order'").fetchone() == (1,)


def test_a_poisoned_event_is_retried_with_backoff_recorded_and_skipped(db: Database, tenant: Tenant) -> None:
    async def poisoned(n: int, attempt: int) -> None:
        if n == 1:
            raise ValueError(f"cannot digest {n}")

    recorder = Recorder("poisoned", "poisoned", poisoned)
    probes(db, tenant, "poisoned", range(4))
    report = once(db, recorder)

    assert recorder.seen == [0, 2, 3], "the stream moved on past the poisoned event"
    assert report.consumers["poisoned"].gave_up == 1
    tries = recorder.attempts[1]
    assert len(tries) == QUICK.max_attempts
    first_gap, second_gap = tries[1] - tries[0], tries[2] - tries[1]
    assert QUICK.base_delay / 2 <= first_gap and QUICK.base_delay <= second_gap, (first_gap, second_gap)
    [failure] = failures(db, tenant, "poisoned")
    assert failure["n"] == 1 and failure["status"] == "failed" and failure["attempts"] == 3
    assert failure["event_type"] == "Probe" and failure["last_error"] == "ValueError: cannot digest 1"
    assert failure["first_failed_at"] <= failure["last_failed_at"]

    once(db, Recorder("poisoned", "poisoned", poisoned))
    assert len(failures(db, tenant, "poisoned")) == 1, "a failure recorded and skipped is not retried on restart"


def test_a_flaky_event_recovers_and_says_so(db: Database, tenant: Tenant) -> None:
    async def flaky(n: int, attempt: int) -> None:
        if attempt < 3:
            raise ConnectionError("try again")

    recorder = Recorder("flaky", "flaky", flaky)
    probes(db, tenant, "flaky", range(1))
    once(db, recorder)
    assert recorder.seen == [0]
    [failure] = failures(db, tenant, "flaky")
    assert failure["status"] == "recovered" and failure["attempts"] == 2


def test_a_handler_that_runs_too_long_fails_by_its_timeout(db: Database, tenant: Tenant) -> None:
    async def stuck(n: int, attempt: int) -> None:
        await asyncio.sleep(10)

    recorder = Recorder("stuck", "stuck", stuck, RetryPolicy(max_attempts=2, base_delay=0.01, timeout=0.1))
    probes(db, tenant, "stuck", range(1))
    started = time.monotonic()
    once(db, recorder)
    assert time.monotonic() - started < 2
    [failure] = failures(db, tenant, "stuck")
    assert failure["status"] == "failed" and failure["last_error"].startswith("TimeoutError")


class running:
    """Runs a worker in a task for the block; stop() (or leaving the block) stops it and waits for it."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.stopping = asyncio.Event()
        self.task: asyncio.Task[WorkerReport] | None = None

    async def __aenter__(self) -> running:
        self.task = asyncio.create_task(self.worker.run(self.stopping))
        return self

    async def stop(self) -> None:
        self.stopping.set()
        if self.task is not None:
            await self.task

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def _until(check: Callable[[], bool], timeout: float = 10.0) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError("timed out")
        await asyncio.sleep(0.005)
    return time.monotonic() - started


def test_a_slow_or_failing_handler_does_not_hold_up_another(db: Database, tenant: Tenant) -> None:
    async def slow(n: int, attempt: int) -> None:
        await asyncio.sleep(30)

    async def failing(n: int, attempt: int) -> None:
        raise RuntimeError("always")

    blocked = Recorder("blocked", "isolation", slow, RetryPolicy(timeout=60))
    retrying = Recorder("retrying", "isolation", failing, RetryPolicy(max_attempts=100, base_delay=5))
    healthy = Recorder("healthy", "isolation")

    async def scenario() -> float:
        async with running(Worker(db.app_url, Settings(), [blocked, retrying, healthy], FAST_POLL, stop_grace=0.2)):
            await asyncio.to_thread(probes, db, tenant, "isolation", range(20))
            took = await _until(lambda: len(healthy.seen) == 20)
            # on a loaded machine the other two may reach their first event only after the healthy one is done
            await _until(lambda: bool(blocked.attempts) and 0 in retrying.attempts)
            return took

    took = asyncio.run(scenario())
    # the blocked handler sleeps 30 s and the failing one backs off 5 s and more: 10 s is far from either
    assert healthy.seen == list(range(20)) and took < 10
    assert blocked.seen == [] and retrying.seen == []
    assert len(blocked.attempts) == 1 and len(retrying.attempts[0]) == 1, "each stuck on its first event"


def test_one_worker_runs_a_handler_and_another_takes_over_when_it_stops(db: Database, tenant: Tenant) -> None:
    seen: list[int] = []
    first, second = Recorder("exclusive", "exclusive", seen=seen), Recorder("exclusive", "exclusive", seen=seen)

    async def scenario() -> None:
        workers = [Worker(db.app_url, Settings(), [h], FAST_POLL) for h in (first, second)]
        async with contextlib.AsyncExitStack() as stack:
            runs = [await stack.enter_async_context(running(w)) for w in workers]
            await _until(lambda: any(w.consumers and w.consumers[0].holds_lock.is_set() for w in workers))
            await asyncio.sleep(0.3)  # both are up; one holds the handler, the other waits for it
            await asyncio.to_thread(probes, db, tenant, "exclusive", range(10))
            await _until(lambda: len(seen) == 10)
            holder = 0 if first.attempts else 1
            await runs[holder].stop()
            await asyncio.to_thread(probes, db, tenant, "exclusive", range(10, 15))
            await _until(lambda: len(seen) == 15)
        handled = [set(first.attempts), set(second.attempts)]
        assert handled[holder] == set(range(10)) and handled[1 - holder] == set(range(10, 15))

    asyncio.run(scenario())
    assert sorted(seen) == list(range(15)) and len(seen) == 15, "each event once across both workers"


def test_a_notification_wakes_a_handler_before_its_poll_interval(db: Database, tenant: Tenant) -> None:
    recorder = Recorder("woken", "woken")

    async def scenario() -> list[float]:
        worker = Worker(db.app_url, Settings(), [recorder], ConsumerOptions(poll_interval=30))
        latencies = []
        async with running(worker):
            await _until(lambda: bool(worker.consumers) and worker.consumers[0].holds_lock.is_set())
            await asyncio.sleep(0.2)
            for n in range(5):
                published = time.monotonic()  # before connecting, publishing and committing
                await asyncio.to_thread(probes, db, tenant, "woken", range(n, n + 1))
                await _until(lambda n=n: len(recorder.seen) > n)
                latencies.append(time.monotonic() - published)
        return latencies

    latencies = asyncio.run(scenario())
    assert max(latencies) < 1.0, latencies


def test_a_database_outage_under_a_handler_is_waited_out_not_reported_as_a_fault(
    db: Database, tenant: Tenant, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """The database goes away while a handler works: its call fails with Unavailable, and so does recording
    the failure. The loop reconnects with a warning (no traceback: nothing is wrong with the handler) and
    handles the event again, as after the crash in test_crash_safety."""

    async def outage(n: int, attempt: int) -> None:
        if attempt == 1:
            raise Unavailable("the database is not reachable right now")

    recorder = Recorder("outage", "outage", outage)
    probes(db, tenant, "outage", range(1))
    unreachable = Gateway(f"postgresql://rustok_app@/rustok?host={tmp_path}&port=1", max_size=1)
    context = HandlerContext(Settings(), db.app_url, unreachable)  # the loop's own connection works

    async def scenario() -> None:
        stop = asyncio.Event()
        consumer = DurableConsumer(recorder, context, asyncio.Event(), FAST_POLL)
        task = asyncio.create_task(consumer.run(stop))
        await _until(lambda: recorder.seen == [0])
        stop.set()
        await task

    with caplog.at_level(logging.WARNING, logger="rustok.worker"):
        asyncio.run(scenario())
    assert len(recorder.attempts[0]) == 2
    assert [r.levelname for r in caplog.records if r.name == "rustok.worker"] == ["WARNING"]
    assert "Unavailable" in caplog.records[0].getMessage() and caplog.records[0].exc_info is None


def test_handlers_are_webhooks_then_module_listeners_by_unique_name() -> None:
    listener = Recorder("notes.indexer", "x")
    registry = ModuleRegistry([RusToKModule("notes", "Notes", "", "1.0.0", event_listeners=(listener,))])
    handlers = available_handlers(registry)
    assert [h.name for h in handlers] == ["webhooks", "module-hooks", "notes.indexer"]
    assert select_handlers(handlers, ["notes.indexer"]) == [listener]
    with pytest.raises(WorkerError, match="unknown handler"):
        select_handlers(handlers, ["nope"])
    with pytest.raises(WorkerError, match="named 'webhooks'"):
        select_handlers([*handlers, Recorder("webhooks", "x")], None)
    broken = ModuleRegistry([RusToKModule("broken", "Broken", "", "1.0.0", event_listeners=(object(),))])
    with pytest.raises(WorkerError, match="not an EventHandler"):
        available_handlers(broken)


def test_envelopes_carry_the_outbox_row(db: Database, tenant: Tenant) -> None:
    got: list[EventEnvelope] = []

    class Keeper(Recorder):
        async def handle(self, envelope: EventEnvelope) -> None:
            got.append(envelope)

    probes(db, tenant, "envelope", range(1))
    once(db, Keeper("envelope", "envelope"))
    [envelope] = got
    assert envelope.tenant_id == tenant.id and envelope.actor_id == tenant.admin_id
    assert isinstance(envelope.id, uuid.UUID) and envelope.event == DomainEvent("Probe", {"run": "envelope", "n": 0})
    assert envelope.cursor[0] > 0 and envelope.position == envelope.cursor[1]
