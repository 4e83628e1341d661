"""`rustok indexer`: threads that drain the durable index queue (IndexConfig realtimeSync off).

Each thread takes batches per tenant with `rustok.index_drain` (FOR UPDATE SKIP LOCKED inside), so threads
and processes share the queue without coordination. A lost database connection (a restart, a failover) is
waited out with growing, jittered pauses (the event handlers' backoff) and a warning, not a dead thread:
queued ids stay in `index_queue` until a drain commits, so nothing is lost in between. `once` stops when the
queue is empty (and gives up on an outage, for scripts).

Each of its connections holds the shared advisory lock DRAINING (so `rustok status` sees that someone drains
the queue) and is named `rustok-indexer:<pid>` in pg_stat_activity. It runs as `rustok indexer` or inside
`rustok serve` (rustok/background.py)."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any, LiteralString

import psycopg

from rustok.db import DatabaseUnavailable, tenant_transaction
from rustok.events.reconnect import jittered_backoff
from rustok.types import RowConnection

log = logging.getLogger("rustok.indexer")
Connect = Callable[[], RowConnection]

DRAINING = "rustok.indexer"  # the shared advisory lock's key text: hashtextextended(DRAINING, 0)
_STARTED: LiteralString = (
    "select pg_advisory_lock_shared(hashtextextended(%s, 0)), set_config('application_name', %s, false)"
)
_INDEXED_TENANTS = (
    "select t.id from public.tenants t join public.tenant_modules tm on tm.tenant_id = t.id"
    " where tm.module_slug = 'index' and tm.enabled order by t.id"
)
FIRST_PAUSE, MAX_PAUSE = 0.5, 30.0  # seconds between reconnects: growing, with jitter


class Indexer:
    """`batch_size` None: each tenant's IndexConfig batchSize."""

    def __init__(self, connect: Connect, batch_size: int | None, poll: float = 1.0, once: bool = False) -> None:
        self.connect = connect
        self.batch_size = batch_size
        self.poll = poll
        self.once = once
        self.stop = threading.Event()
        self.applied = 0
        self._lock = threading.Lock()

    def run(self) -> None:
        """One worker thread's loop: drain, sleep when idle, reconnect after an outage."""
        failures = 0
        while not self.stop.is_set():
            try:
                with self.connect() as conn:
                    conn.execute(_STARTED, (DRAINING, f"rustok-indexer:{os.getpid()}"))
                    conn.commit()
                    failures = 0
                    self._drain_until_stopped(conn)
                    return
            except (psycopg.OperationalError, DatabaseUnavailable) as exc:
                if self.once:
                    raise
                failures += 1
                pause = jittered_backoff(failures, FIRST_PAUSE, MAX_PAUSE)
                log.warning("indexer: database unavailable, retrying in %.1f s: %s", pause, str(exc).strip())
                self.stop.wait(pause)

    def _drain_until_stopped(self, conn: RowConnection) -> None:
        """Until stopped (or, with `once`, until the queue is empty)."""
        while not self.stop.is_set():
            tenants = conn.execute(_INDEXED_TENANTS).fetchall()
            conn.commit()
            taken = sum(self._drain_tenant(conn, tenant["id"]) for tenant in tenants)
            if taken == 0:
                if self.once:
                    return
                self.stop.wait(self.poll)

    def _drain_tenant(self, conn: RowConnection, tenant_id: Any) -> int:
        taken = 0
        while True:
            with tenant_transaction(conn, tenant_id):
                row = conn.execute("select rustok.index_drain(%s) as n", (self.batch_size,)).fetchone()
            n = int(row["n"]) if row else 0
            with self._lock:
                self.applied += n
            taken += n
            if n == 0:
                return taken
