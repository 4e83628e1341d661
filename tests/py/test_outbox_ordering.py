"""The outbox under real concurrent sessions: a consumer never skips an event whose transaction commits
after a later-positioned one, and sees nothing of a rolled-back transaction."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from rustok.db import Database


@pytest.fixture(scope="module")
def tenant(db: Database) -> Any:
    with psycopg.connect(db.admin_url) as conn:
        row = conn.execute("select rustok.parse_id(rustok.create_tenant('outbox', 'Outbox') ->> 'id')").fetchone()
    assert row is not None
    return row[0]


class Consumer:
    """Reads the outbox the way the relay and durable handlers do: by (txid, position) cursor."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.cursor: tuple[str, int] = ("0", 0)
        self.seen: list[str] = []

    def poll(self) -> list[str]:
        rows = self.conn.execute(
            "select txid::text, position, data->>'n' from rustok.read_events(%s::xid8, %s, 1000)", self.cursor
        ).fetchall()
        for txid, position, n in rows:
            self.cursor = (txid, position)
            self.seen.append(n)
        return [n for _, _, n in rows]


@pytest.fixture
def consumer(db: Database) -> Iterator[Consumer]:
    with psycopg.connect(db.app_url, autocommit=True) as conn:
        consumer = Consumer(conn)
        consumer.poll()  # start after everything earlier tests wrote
        consumer.seen.clear()
        yield consumer


def publish(conn: psycopg.Connection[Any], tenant: Any, n: str) -> None:
    conn.execute("select rustok.set_context(%s)", (tenant,))
    conn.execute("select rustok.publish_event('Probe', jsonb_build_object('n', %s::text))", (n,))


def test_a_late_commit_with_an_earlier_position_is_not_skipped(db: Database, tenant: Any, consumer: Consumer) -> None:
    with psycopg.connect(db.app_url) as slow, psycopg.connect(db.app_url) as fast:
        publish(slow, tenant, "early-position")  # takes the lower position, commits last
        publish(fast, tenant, "later-position")
        fast.commit()
        assert consumer.poll() == [], "an event must wait while an older transaction is still open"
        slow.commit()
    assert consumer.poll() == ["early-position", "later-position"]


def test_an_older_transaction_committing_first_does_not_hide_the_other(
    db: Database, tenant: Any, consumer: Consumer
) -> None:
    with psycopg.connect(db.app_url) as older, psycopg.connect(db.app_url) as younger:
        older.execute("select pg_current_xact_id()")  # gets its transaction id first
        younger.execute("select pg_current_xact_id()")
        publish(younger, tenant, "younger")  # lower position, younger transaction, still open
        publish(older, tenant, "older")
        older.commit()
        assert consumer.poll() == ["older"]
        younger.commit()
    assert consumer.poll() == ["younger"], "a position lower than the cursor's must still be delivered"


def test_rolled_back_events_never_appear(db: Database, tenant: Any, consumer: Consumer) -> None:
    with psycopg.connect(db.app_url) as conn:
        publish(conn, tenant, "rolled-back")
        conn.rollback()
        publish(conn, tenant, "kept")
        conn.commit()
    assert consumer.poll() == ["kept"]


def test_many_concurrent_writers_one_consumer_gets_each_committed_event_once(
    db: Database, tenant: Any, consumer: Consumer
) -> None:
    committed: list[str] = []
    lock = threading.Lock()
    done = threading.Event()

    def writer(w: int) -> None:
        rng = random.Random(w)
        with psycopg.connect(db.app_url) as conn:
            for i in range(40):
                names = [f"{w}-{i}-{k}" for k in range(rng.randint(1, 3))]
                for name in names:
                    publish(conn, tenant, name)
                    if rng.random() < 0.3:
                        conn.execute("select pg_sleep(0.002)")
                if rng.random() < 0.2:
                    conn.rollback()
                else:
                    conn.commit()
                    with lock:
                        committed.extend(names)

    def consume() -> None:
        while not done.is_set():
            consumer.poll()

    reader = threading.Thread(target=consume)
    reader.start()
    writers = [threading.Thread(target=writer, args=(w,)) for w in range(6)]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    reader.join()
    consumer.poll()
    assert sorted(consumer.seen) == sorted(committed)
    assert len(consumer.seen) == len(set(consumer.seen))


def test_one_notify_per_transaction(db: Database, tenant: Any) -> None:
    with psycopg.connect(db.app_url, autocommit=True) as listener, psycopg.connect(db.app_url) as writer:
        listener.execute("listen rustok_events")
        for n in range(5):
            publish(writer, tenant, f"batch-{n}")
        writer.commit()
        notices = list(listener.notifies(timeout=0.5, stop_after=10))
    assert len(notices) == 1
