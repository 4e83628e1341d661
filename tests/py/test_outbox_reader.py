"""The one outbox reader (events/outbox.py, wakeup.py, reconnect.py): the relay, the worker's wake-ups and
every durable consumer reconnect by one rule (growing, jittered, starting over after a stable connection);
when the server kills their connections, the relay's SSE stream and a durable handler go on from their
cursors, each event once and in order, woken by notifications again; the channel they listen on is the one
the commit trigger notifies."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Iterator
from types import TracebackType
from typing import Any, LiteralString

import psycopg
import pytest

from rustok.config import Settings
from rustok.db import Database
from rustok.events import reconnect
from rustok.events.consumer import ConsumerOptions
from rustok.events.handlers import DomainEvent, EventEnvelope, EventHandler
from rustok.events.reconnect import Reconnect, keep_connected
from rustok.events.wakeup import CHANNEL, Wakeups
from rustok.events.worker import Worker
from rustok.realtime.relay import Relay
from tests.py.realtime_support import Server, Tenant, make_tenant, publish, serving, sse


class _Conn:
    async def __aenter__(self) -> _Conn:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        return None


def test_the_rule_grows_with_jitter_to_its_ceiling_and_starts_over_after_a_stable_connection(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    rule = Reconnect(first=1.0, ceiling=8.0, stable_after=0.05)
    waits: list[float] = []

    async def pause(stop: asyncio.Event, seconds: float) -> bool:  # records the wait instead of sleeping
        waits.append(seconds)
        return True

    monkeypatch.setattr(reconnect, "pause", pause)
    outcomes: list[str] = ["refused"] * 6 + ["stable", "at once", "bug", "done"]

    async def connect() -> Any:
        if outcomes[0] == "refused":
            outcomes.pop(0)
            raise OSError("connection refused")
        return _Conn()

    async def session(conn: Any) -> None:
        outcome = outcomes.pop(0)
        if outcome == "stable":
            await asyncio.sleep(0.1)  # up longer than stable_after: its loss counts from 1 again
        if outcome in ("stable", "at once"):
            raise psycopg.OperationalError("terminating connection due to administrator command")
        if outcome == "bug":
            raise ValueError("a bug in the session")

    async def scenario() -> None:
        await keep_connected(
            connect,
            session,
            asyncio.Event(),
            name="reader",
            log=logging.getLogger("t"),
            rule=rule,
            rng=random.Random(7),
        )

    with caplog.at_level(logging.WARNING, logger="t"):
        asyncio.run(scenario())
    ceilings = [1, 2, 4, 8, 8, 8, 1, 2, 4]
    assert len(waits) == len(ceilings) and outcomes == []
    assert all(c / 2 <= w <= c for w, c in zip(waits, ceilings, strict=True)), waits
    assert len(set(waits)) == len(waits), "jittered: no two waits alike"
    levels = [(r.levelname, r.exc_info is not None) for r in caplog.records]
    assert levels == [("WARNING", False)] * 8 + [("ERROR", True)], "outages one line each, a bug with its traceback"


def test_once_raises_instead_of_reconnecting() -> None:
    async def refused() -> Any:
        raise OSError("connection refused")

    async def nothing(conn: Any) -> None:
        return None

    with pytest.raises(OSError):
        asyncio.run(
            keep_connected(
                refused, nothing, asyncio.Event(), name="r", log=logging.getLogger("t"), rule=Reconnect(), once=True
            )
        )


def test_the_relay_the_wake_ups_and_every_consumer_reconnect_by_the_one_rule() -> None:
    url = "postgresql://unused"
    assert (
        Relay(url).listener.reconnect == Wakeups(url).listener.reconnect == ConsumerOptions().reconnect == Reconnect()
    )


def _rows(db: Database, query: LiteralString, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        return conn.execute(query, params).fetchall()


def test_the_channel_is_the_one_the_commit_trigger_notifies(db: Database) -> None:
    notifies = r"pg_notify\(\s*'([^']*)'"
    rows = _rows(
        db,
        "select p.oid::regprocedure::text, m[1] from pg_proc p cross join lateral regexp_matches(p.prosrc, %s, 'g') m"
        " where p.pronamespace = 'rustok'::regnamespace",
        (notifies,),
    )
    assert rows and {channel for _, channel in rows} == {CHANNEL}, rows


class Recorder(EventHandler):
    name = "reader-recorder"

    def __init__(self) -> None:
        self.seen: list[int] = []

    def handles(self, event: DomainEvent) -> bool:
        return event.type == "Probe"

    async def handle(self, envelope: EventEnvelope) -> None:
        self.seen.append(int(envelope.event.data["n"]))


@pytest.fixture(scope="module")
def tenant(db: Database) -> Tenant:
    return make_tenant(db, "reader")


@pytest.fixture(scope="module")
def server(db: Database) -> Iterator[Server]:
    with serving(db, poll_interval=30) as server:  # polls too seldom to matter: only notifications wake it
        yield server


def _sessions(db: Database) -> dict[int, str]:
    """The relay's and the worker's sessions: pid -> 'relay', 'listener' or 'worker'."""
    kinds = _rows(
        db,
        "select pid, case when application_name = 'rustok-relay' then 'relay'"
        " when query = 'listen ' || %s then 'listener' else 'worker' end from pg_stat_activity"
        " where datname = current_database() and (application_name = 'rustok-relay'"
        " or application_name like 'rustok-worker:%%')",
        (CHANNEL,),
    )
    return dict(kinds)


def _acknowledged_to_head(db: Database, name: str) -> bool:
    query: LiteralString = "select c.last_commit_seq >= h.commit_seq from rustok.event_head() h"
    return bool(_rows(db, query + " left join event_consumers c on c.name = %s", (name,))[0][0])


async def _until(check: Any, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(check):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def test_killed_connections_resume_from_their_cursors_without_loss_or_duplicates(
    db: Database, server: Server, tenant: Tenant
) -> None:
    """Both readers poll every 30 s here, so every event below arrives within the 20 s bound only by a
    notification, on a LISTEN connection that the server killed and the reader made again."""
    recorder = Recorder()
    worker = Worker(db.app_url, Settings(), [recorder], ConsumerOptions(poll_interval=30))
    relay = server.app.state.platform.realtime.relay

    def probes(numbers: range) -> None:
        for n in numbers:  # one commit each: one notification each
            publish(db, tenant, ("Probe", {"n": n}))

    async def scenario() -> list[int]:
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run(stop))
        try:
            async with sse(server, tenant.token(server.tokens, "admin"), "?types=Probe") as stream:
                await _until(lambda: bool(worker.consumers) and worker.consumers[0].holds_lock.is_set(), "the lock")
                await _until(lambda: "listener" in _sessions(db).values(), "the worker's LISTEN")
                await asyncio.to_thread(probes, range(0, 5))
                received = [e.data["data"]["n"] for e in await stream.take(5, timeout=20)]
                await _until(lambda: len(recorder.seen) == 5, "the handler")
                await _until(lambda: _acknowledged_to_head(db, recorder.name), "the acknowledgement")

                killed = await asyncio.to_thread(_sessions, db)
                assert {"relay", "listener", "worker"} <= set(killed.values()), killed
                await asyncio.to_thread(_rows, db, "select pg_terminate_backend(unnest(%s::int[]))", (list(killed),))
                await asyncio.to_thread(probes, range(5, 10))  # while they reconnect
                received += [e.data["data"]["n"] for e in await stream.take(5, timeout=20)]

                def reconnected() -> bool:
                    now = _sessions(db)
                    kinds = {kind for pid, kind in now.items() if pid not in killed}
                    return {"relay", "listener"} <= kinds and worker.consumers[0].holds_lock.is_set()

                await _until(reconnected, "new LISTEN connections and the lock again")
                await _until(lambda: len(recorder.seen) == 10, "the handler after its reconnect")
                await asyncio.to_thread(probes, range(10, 15))  # only a notification can bring these in time
                received += [e.data["data"]["n"] for e in await stream.take(5, timeout=20)]
                await _until(lambda: len(recorder.seen) == 15, "the handler, woken by a notification")
                assert await stream.nothing_within(0.3), "no duplicate on the stream"
                assert relay.connected
        finally:
            stop.set()
            await running
        return received

    received = asyncio.run(scenario())
    assert received == list(range(15)), "the relay's subscriber: each event once, in order"
    assert recorder.seen == list(range(15)), "the durable handler: each event once, in order"
