"""What /metrics reads rather than counts: each process's pool and relay, and the server-wide state.

- `ProcessGauges`: this process's connection pool(s), event relay and start time, as prometheus-client
  gauges and counters. `publish()` copies the current numbers in: at every scrape by the process that
  answers it, and every `PUBLISH_SECONDS` in each worker of `rustok serve --workers N`, whose values the
  scrape adds up (pools and subscribers: the sum over live workers; the relay is connected when every
  worker's is; delivered and cut-off events: the sum over every worker, gone ones included).
- `server_families()`: what one query tells, whichever process asks: the database's NOTIFY and index queues,
  the relay's lag (as the answering process's relay sees it) and the supervised embedded server."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

import prometheus_client as prom
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from rustok.api.connections import ConnectionPool
from rustok.events.outbox import Cursor

if TYPE_CHECKING:
    from rustok.api.services import Services

PUBLISH_SECONDS = 1.0  # how often each worker of several copies its pool and relay numbers for the others

log = logging.getLogger("rustok.observability")


class RelayView(Protocol):
    """What /metrics reads of the process's event relay (realtime/relay.py), handed in by the composition root."""

    @property
    def connected(self) -> bool: ...

    @property
    def cut_off(self) -> int: ...

    @property
    def cursor(self) -> Cursor | None: ...

    @property
    def subscriber_count(self) -> int: ...


class ProcessGauges:
    def __init__(self, registry: prom.CollectorRegistry | None) -> None:
        def gauge(name: str, help: str, mode: Any, labels: tuple[str, ...] = ()) -> prom.Gauge:
            return prom.Gauge(name, help, labels, registry=registry, multiprocess_mode=mode)

        pool = ("pool",)
        self.pool_connections = gauge("rustok_db_pool_connections", "Connections open (or opening).", "livesum", pool)
        self.pool_in_use = gauge("rustok_db_pool_in_use", "Connections checked out.", "livesum", pool)
        self.pool_idle = gauge("rustok_db_pool_idle", "Connections idle in the pool.", "livesum", pool)
        self.pool_waiting = gauge("rustok_db_pool_waiting", "Checkouts waiting for a connection.", "livesum", pool)
        self.pool_max = gauge("rustok_db_pool_max", "The pool's size limit.", "livesum", pool)
        self.relay_connected = gauge("rustok_relay_connected", "The relay's LISTEN connection is up.", "livemin")
        self.relay_subscribers = gauge(
            "rustok_relay_subscribers", "Live subscribers (SSE streams, subscriptions).", "livesum"
        )
        self.relay_delivered = prom.Counter(
            "rustok_relay_events_delivered", "Events the relay read and fanned out.", registry=registry
        )
        self.relay_cut_off = prom.Counter(
            "rustok_relay_subscribers_cut_off", "Subscribers cut off for lagging.", registry=registry
        )
        # the earliest worker's: when the counts began
        gauge("rustok_process_start_time_seconds", "When this process started.", "min").set(time.time())
        self._delivered = 0
        self._cut_off = 0

    def publish(self, services: Services, relay: RelayView | None) -> None:
        """Copies this process's current pool and relay numbers into the gauges."""
        for name, pool in _pools(services):
            # the pool keeps these privately (api/connections.py): read, never changed
            size = int(getattr(pool, "_count", 0))
            idle_queue = getattr(pool, "_idle", None)
            idle = idle_queue.qsize() if idle_queue is not None else 0
            waiting = sum(1 for w in getattr(idle_queue, "_getters", ()) if not w.done())
            self.pool_connections.labels(name).set(size)
            self.pool_in_use.labels(name).set(size - idle)
            self.pool_idle.labels(name).set(idle)
            self.pool_waiting.labels(name).set(waiting)
            self.pool_max.labels(name).set(pool.max_size)
        if relay is None:
            return
        self.relay_connected.set(relay.connected)
        self.relay_subscribers.set(relay.subscriber_count)
        delivered, cut_off = int(getattr(relay, "delivered", 0)), int(relay.cut_off)
        self.relay_delivered.inc(max(0, delivered - self._delivered))
        self.relay_cut_off.inc(max(0, cut_off - self._cut_off))
        self._delivered, self._cut_off = delivered, cut_off


def _pools(services: Services) -> list[tuple[str, ConnectionPool]]:
    """The gateway's pools (`pool`, and any other: a read replica's), by attribute name."""
    found: list[tuple[str, ConnectionPool]] = []
    for name, value in vars(services.gateway).items():
        if isinstance(value, ConnectionPool):
            found.append((name, value))
        elif isinstance(getattr(value, "pool", None), ConnectionPool):
            found.append((name, value.pool))
    return found


_DATABASE = (
    "select pg_notification_queue_usage()::float8 as notify_usage,"
    " (select n_live_tup from pg_stat_user_tables where relid = to_regclass('public.index_queue'))::float8"
    " as index_queue"
)
_RELAY_LAG = (
    ", coalesce((select extract(epoch from clock_timestamp() - e.occurred_at)::float8"
    " from rustok.read_events(%s, %s, 1) e), 0) as relay_lag"
)


async def server_families(services: Services, relay: RelayView | None) -> list[Metric]:
    """The database's queues and the relay's lag (one query, 2 s at most) and the embedded server's state."""
    cursor = relay.cursor if relay is not None else None
    row: dict[str, Any] | None = None
    try:
        async with services.gateway.pool.connection(timeout=2) as conn:
            if cursor is not None:
                cur = await conn.execute(_DATABASE + _RELAY_LAG, cursor)
            else:
                cur = await conn.execute(_DATABASE)
            row = await cur.fetchone()
    except Exception as exc:  # a scrape must answer even when the database does not
        log.warning("metrics: database query failed: %s", type(exc).__name__)
    families: list[Metric] = [_gauge("rustok_database_up", "The scrape's database query succeeded.", row is not None)]
    if row is not None:
        families.append(
            _gauge(
                "rustok_notification_queue_usage",
                "pg_notification_queue_usage(): fraction of the NOTIFY queue in use (LISTEN/NOTIFY stalls at 1).",
                row["notify_usage"],
            )
        )
        if row["index_queue"] is not None:  # the index module's queue exists
            families.append(
                _gauge(
                    "rustok_index_queue_depth",
                    "Rows waiting in index_queue (estimated from statistics: RLS hides other tenants' rows).",
                    row["index_queue"],
                )
            )
        if "relay_lag" in row:
            families.append(
                _gauge(
                    "rustok_relay_lag_seconds",
                    "Age of the oldest committed event the relay has not delivered yet (0: caught up).",
                    max(0.0, row["relay_lag"]),
                )
            )
    families.extend(_embedded(services))
    return families


def _embedded(services: Services) -> Iterator[Metric]:
    """The supervised embedded server (a file the supervising `rustok serve` keeps current: every worker
    reports the same numbers); nothing for a server named by DATABASE_URL or without a supervisor."""
    from rustok.supervisor import read_state

    state = read_state(services.settings.home) if services.db.cluster is not None else None
    if state is None:
        return
    yield _gauge("rustok_embedded_up", "The supervised embedded PostgreSQL runs and accepts connections.", state.up)
    restarts = CounterMetricFamily(
        "rustok_embedded_restarts",
        "Restarts of the embedded PostgreSQL after a crash by the supervising rustok serve.",
        value=state.restarts,
    )
    yield restarts


def _gauge(name: str, help: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, help, value=float(value))
