"""The outbox under real concurrent sessions, read the way the relay and durable handlers read it
(rustok.read_events by cursor): events come in commit order, each once; a late commit is never skipped; no
other transaction holds delivery back - neither an open event-writing one nor an idle one of another role or
another database; nothing of a rolled-back transaction or savepoint appears."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from rustok.db import Database
from rustok.events.outbox import ORIGIN, Cursor
from tests.py.realtime_support import holding_an_xid


@pytest.fixture(scope="module")
def tenant(db: Database) -> Any:
    return _tenant(db, "outbox")


@pytest.fixture(scope="module")
def other_tenant(db: Database) -> Any:
    return _tenant(db, "outbox-other")


def _tenant(db: Database, slug: str) -> Any:
    with psycopg.connect(db.admin_url) as conn:
        row = conn.execute("select rustok.parse_id(rustok.create_tenant(%s, 'Outbox') ->> 'id')", (slug,)).fetchone()
    assert row is not None
    return row[0]


class Consumer:
    """Reads the outbox the way the relay and durable handlers do: by (commit_seq, position) cursor."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.cursor = ORIGIN
        self.seen: list[str] = []

    def poll(self) -> list[str]:
        rows = self.conn.execute(
            "select commit_seq, position, data->>'n' from rustok.read_events(%s, %s, 1000)", self.cursor
        ).fetchall()
        for commit_seq, position, n in rows:
            assert Cursor(commit_seq, position) > self.cursor
            self.cursor = Cursor(commit_seq, position)
            self.seen.append(n)
        return [n for _, _, n in rows]

    def skip_to_now(self) -> None:
        while self.poll():
            pass
        self.seen.clear()


@pytest.fixture
def consumer(db: Database) -> Iterator[Consumer]:
    with psycopg.connect(db.app_url, autocommit=True) as conn:
        consumer = Consumer(conn)
        consumer.skip_to_now()  # start after everything earlier tests wrote
        yield consumer


def publish(conn: psycopg.Connection[Any], tenant: Any, n: str) -> None:
    conn.execute("select rustok.set_context(%s)", (tenant,))
    conn.execute("select rustok.publish_event('Probe', jsonb_build_object('n', %s::text))", (n,))


def test_idle_transactions_of_another_role_and_another_database_hold_back_nothing(
    db: Database, tenant: Any, consumer: Consumer
) -> None:
    with (
        holding_an_xid(db.app_url),  # the application role, in this database
        holding_an_xid(db.server_admin_url()),  # the superuser, in another database of the same cluster
        psycopg.connect(db.admin_url) as writer,
    ):
        publish(writer, tenant, "while-others-idle")
        writer.commit()
        assert consumer.poll() == ["while-others-idle"]


def test_an_open_event_writing_transaction_holds_back_nothing_committed_after_it(
    db: Database, tenant: Any, consumer: Consumer
) -> None:
    with psycopg.connect(db.app_url) as slow, psycopg.connect(db.app_url) as fast:
        publish(slow, tenant, "early-position")  # takes the lower position, commits last
        publish(fast, tenant, "later-position")
        fast.commit()
        assert consumer.poll() == ["later-position"], "nothing waits for the open transaction"
        slow.commit()
    assert consumer.poll() == ["early-position"], "and its late commit is not skipped"


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
        with conn.transaction():
            with pytest.raises(psycopg.errors.DivisionByZero), conn.transaction():  # a savepoint, rolled back
                publish(conn, tenant, "in-a-rolled-back-savepoint")
                conn.execute("select 1 / 0")
            publish(conn, tenant, "kept")
    assert consumer.poll() == ["kept"]


def test_set_constraints_immediate_stamps_early_and_the_order_holds(
    db: Database, tenant: Any, consumer: Consumer
) -> None:
    """An operator's SET CONSTRAINTS ALL IMMEDIATE takes the commit number (and its lock) before COMMIT: other
    event-writing commits wait for this transaction to end, so the order still holds. (A client role's is
    refused: test_commit_order_at_commit.py.)"""
    with psycopg.connect(db.admin_url) as first, psycopg.connect(db.app_url) as second:
        publish(first, tenant, "stamped-early")
        first.execute("set constraints all immediate")
        publish(first, tenant, "after-the-stamp")
        publish(second, tenant, "committed-meanwhile")
        committing = threading.Thread(target=second.commit)
        committing.start()
        committing.join(0.5)
        assert committing.is_alive(), "an event-writing commit waits while an earlier stamp's transaction is open"
        assert consumer.poll() == []
        first.commit()
        committing.join(10)
        assert not committing.is_alive()
    assert consumer.poll() == ["stamped-early", "after-the-stamp", "committed-meanwhile"]


def test_an_operator_transaction_for_several_tenants_is_one_commit(
    db: Database, tenant: Any, other_tenant: Any, consumer: Consumer
) -> None:
    with psycopg.connect(db.admin_url) as operator:
        publish(operator, tenant, "first-tenant")
        publish(operator, other_tenant, "second-tenant")
        operator.commit()
    rows = consumer.conn.execute(
        "select commit_seq, tenant_id, data->>'n' from rustok.read_events(%s, %s, 10)", consumer.cursor
    ).fetchall()
    assert [(t, n) for _, t, n in rows] == [(tenant, "first-tenant"), (other_tenant, "second-tenant")]
    assert rows[0][0] == rows[1][0], "one transaction, one commit number"


def test_many_concurrent_writers_every_consumer_sees_each_event_once_in_one_order(
    db: Database, tenant: Any, consumer: Consumer
) -> None:
    """Six writer sessions commit (or roll back) transactions of 1-3 events while three consumers read at
    their own pace: each consumer gets every committed event once, all in the same order, and each writer's
    events in the order that writer committed them."""
    committed: dict[int, list[str]] = {w: [] for w in range(6)}
    done = threading.Event()
    consumers = [consumer]
    connections = [psycopg.connect(db.app_url, autocommit=True) for _ in range(2)]
    for conn in connections:
        consumers.append(Consumer(conn))
        consumers[-1].cursor = consumer.cursor

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
                    committed[w].extend(names)

    def consume(reader: Consumer, seed: int) -> None:
        rng = random.Random(seed)
        while not done.is_set():
            reader.poll()
            time.sleep(rng.random() * 0.01)

    readers = [threading.Thread(target=consume, args=(c, n)) for n, c in enumerate(consumers)]
    writers = [threading.Thread(target=writer, args=(w,)) for w in range(6)]
    try:
        for t in [*readers, *writers]:
            t.start()
        for t in writers:
            t.join()
        done.set()
        for t in readers:
            t.join()
        for reader in consumers:
            reader.poll()
    finally:
        for conn in connections:
            conn.close()
    order = consumers[0].seen
    assert sorted(order) == sorted(n for names in committed.values() for n in names)
    assert len(order) == len(set(order))
    assert all(reader.seen == order for reader in consumers), "every consumer sees the same order"
    for w, names in committed.items():
        assert [n for n in order if n.startswith(f"{w}-")] == names, "a session's commits come in its order"


def test_one_notify_per_transaction_sent_once_its_events_are_readable(db: Database, tenant: Any) -> None:
    with (
        psycopg.connect(db.app_url, autocommit=True) as listener,
        psycopg.connect(db.app_url) as writer,
        psycopg.connect(db.admin_url) as operator,
    ):
        listener.execute("listen rustok_events")
        for n in range(5):
            publish(writer, tenant, f"batch-{n}")
        writer.commit()
        assert len(list(listener.notifies(timeout=0.5, stop_after=10))) == 1
        reader = Consumer(listener)
        reader.skip_to_now()
        operator.execute(
            "insert into event_outbox (tenant_id, type, data) values (%s, 'Direct', '{\"n\": \"direct\"}')", (tenant,)
        )
        operator.commit()
        assert len(list(listener.notifies(timeout=0.5, stop_after=10))) == 1, "an INSERT without publish_event too"
        assert reader.poll() == ["direct"], "once notified, the event is readable"
