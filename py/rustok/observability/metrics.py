"""Prometheus metrics of one API process, in the text exposition format, without a client library.

Counted as requests happen (cheap: a dict update and a bisect per request):
    rustok_http_requests_total{method,route,status}              every HTTP request, POST /graphql included
    rustok_http_request_duration_seconds{method,route}           histogram
    rustok_graphql_operations_total{operation,type,outcome}      outcome: ok, or the first error's code
    rustok_graphql_operation_duration_seconds{operation,type}    histogram
Read when scraped:
    rustok_db_pool_{connections,in_use,idle,waiting,max}{pool}   the gateway's connection pool(s)
    rustok_relay_{connected,subscribers,lag_seconds}, rustok_relay_events_delivered_total, …
    rustok_index_queue_depth, rustok_notification_queue_usage, rustok_database_up
    rustok_embedded_up, rustok_embedded_restarts_total     the embedded server, as `rustok serve`'s supervisor
                                                           last saw it (supervisor.py); absent otherwise

Each process keeps its own numbers: scrape each API process (one uvicorn worker per process, the shape of
compose.yaml). With `--workers N` behind one port, /metrics answers for whichever worker took the scrape.

The route label is the route's template (`/api/events`, `/graphql`), `<unmatched>` for a 404, so a client
cannot create series at will; GraphQL operation names are capped (MAX_OPERATIONS, then `other`)."""

from __future__ import annotations

import bisect
import logging
import os
import re
import secrets
import time
import weakref
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rustok.api.connections import ConnectionPool
from rustok.api.errors import new_request_id, sane_request_id
from rustok.observability.logging import REQUEST_ID

if TYPE_CHECKING:
    from rustok.api.context import RequestContext
    from rustok.api.services import Services
    from rustok.graphql.executor import GraphQLExecutor

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
MAX_OPERATIONS = 200  # distinct GraphQL operation names kept as label values; later ones count as "other"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

access_log = logging.getLogger("rustok.access")
log = logging.getLogger("rustok.observability")

Labels = tuple[str, ...]

_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,99}")
_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
_LEADING_OPERATION = re.compile(r"\s*(query|mutation|subscription)\b\s*([_A-Za-z][_0-9A-Za-z]*)?")


class Counter:
    def __init__(self, name: str, help: str, labelnames: Labels) -> None:
        self.name = name
        self.help = help
        self.labelnames = labelnames
        self.values: dict[Labels, float] = {}

    def inc(self, labels: Labels, amount: float = 1.0) -> None:
        self.values[labels] = self.values.get(labels, 0.0) + amount

    def render(self) -> Iterator[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} counter"
        for labels, value in sorted(self.values.items()):
            yield f"{self.name}{_labels(self.labelnames, labels)} {_number(value)}"


class Histogram:
    def __init__(self, name: str, help: str, labelnames: Labels, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.name = name
        self.help = help
        self.labelnames = labelnames
        self.buckets = buckets
        # per series: the count in each bucket (not cumulative), the count above the last bucket, then the sum
        self.series: dict[Labels, list[float]] = {}

    def observe(self, labels: Labels, value: float) -> None:
        counts = self.series.get(labels)
        if counts is None:
            counts = self.series[labels] = [0.0] * (len(self.buckets) + 2)
        counts[bisect.bisect_left(self.buckets, value)] += 1
        counts[-1] += value

    def render(self) -> Iterator[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} histogram"
        for labels, counts in sorted(self.series.items()):
            total = 0.0
            for bound, count in zip((*self.buckets, float("inf")), counts, strict=False):
                total += count
                le = _labels((*self.labelnames, "le"), (*labels, "+Inf" if bound == float("inf") else repr(bound)))
                yield f"{self.name}_bucket{le} {_number(total)}"
            yield f"{self.name}_sum{_labels(self.labelnames, labels)} {_number(counts[-1])}"
            yield f"{self.name}_count{_labels(self.labelnames, labels)} {_number(total)}"


def gauge(name: str, help: str, samples: Iterable[tuple[dict[str, str], float]], kind: str = "gauge") -> Iterator[str]:
    yield f"# HELP {name} {help}"
    yield f"# TYPE {name} {kind}"
    for labels, value in samples:
        yield f"{name}{_labels(tuple(labels), tuple(labels.values()))} {_number(value)}"


class Metrics:
    """The counters and histograms of one app (one per Services, so each test app starts from zero)."""

    def __init__(self) -> None:
        self.started = time.time()
        self.http_requests = Counter(
            "rustok_http_requests_total", "HTTP requests by route template and status.", ("method", "route", "status")
        )
        self.http_duration = Histogram(
            "rustok_http_request_duration_seconds",
            "HTTP request duration (streams: until they end).",
            ("method", "route"),
        )
        self.graphql_operations = Counter(
            "rustok_graphql_operations_total",
            "GraphQL operations by name, type and outcome (ok, or the first error's code).",
            ("operation", "type", "outcome"),
        )
        self.graphql_duration = Histogram(
            "rustok_graphql_operation_duration_seconds", "GraphQL operation duration.", ("operation", "type")
        )
        self._operation_names: set[str] = set()

    # -- recording --------------------------------------------------------------------------------------

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.http_requests.inc((method, route, str(status)))
        self.http_duration.observe((method, route), seconds)

    async def run_graphql(
        self, executor: GraphQLExecutor, payload: Any, ctx: RequestContext, context: dict[str, Any]
    ) -> dict[str, Any]:
        """`executor.run(…)`, timed and counted under the operation's name and type."""
        started = time.perf_counter()
        result = await executor.run(payload, ctx, context)
        elapsed = time.perf_counter() - started
        name, kind = self._operation(executor, payload)
        outcome = "ok"
        errors = result.get("errors")
        if errors:
            code = (errors[0].get("extensions") or {}).get("code") if isinstance(errors[0], dict) else None
            outcome = code if isinstance(code, str) and _CODE.fullmatch(code) else "error"
        self.graphql_operations.inc((name, kind, outcome))
        self.graphql_duration.observe((name, kind), elapsed)
        return result

    def _operation(self, executor: GraphQLExecutor, payload: Any) -> tuple[str, str]:
        """The operation's name and type, read from the request without parsing it again when possible."""
        if not isinstance(payload, dict):
            return "invalid", "unknown"
        given = payload.get("operationName")
        query = payload.get("query")
        name, kind = "anonymous", ""
        if isinstance(given, str) and given:
            if not _NAME.fullmatch(given):
                return "invalid", "unknown"  # not a GraphQL name: the executor refuses it
            name = given
            if isinstance(query, str):
                found = re.search(rf"\b(query|mutation|subscription)\s+{name}\b", query)
                kind = found[1] if found else ""
        elif isinstance(query, str):
            match = _LEADING_OPERATION.match(query)
            if match:
                kind, name = match[1], match[2] or "anonymous"
            elif query.lstrip().startswith("{"):
                kind = "query"
        if not kind:  # a persisted query (no text), a leading comment…: ask the executor (its cache)
            operation = executor.operation_type(payload)
            kind = operation.value if operation is not None else "unknown"
        if name not in self._operation_names:
            if len(self._operation_names) >= MAX_OPERATIONS:
                name = "other"
            else:
                self._operation_names.add(name)
        return name, kind

    # -- exposition -------------------------------------------------------------------------------------

    async def render(self, services: Services) -> str:
        lines: list[str] = []
        for metric in (self.http_requests, self.http_duration, self.graphql_operations, self.graphql_duration):
            lines.extend(metric.render())
        lines.extend(gauge("rustok_process_start_time_seconds", "When this process started.", [({}, self.started)]))
        lines.extend(_pool_lines(services))
        lines.extend(await _database_and_relay_lines(services))
        lines.extend(_embedded_lines(services))
        return "\n".join(lines) + "\n"


_metrics: dict[int, tuple[weakref.ref[Any], Metrics]] = {}


def metrics_of(services: Services) -> Metrics:
    """The Metrics of these services, made on first use."""
    found = _metrics.get(id(services))
    if found is None or found[0]() is not services:
        found = (weakref.ref(services), Metrics())
        _metrics[id(services)] = found
        weakref.finalize(services, _metrics.pop, id(services), None)
    return found[1]


# -- the ASGI wrapper --------------------------------------------------------------------------------------


class Instrumented:
    """Wraps the whole application (outside the GraphQL fast path, so it sees every HTTP request): settles
    the request id first (the client's X-Request-Id when sane, else a new one, put back into the headers so
    the endpoint and middleware below use the same), keeps it in a context variable for every log record,
    times the request under its route template and writes one access log line."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    def __getattr__(self, name: str) -> Any:  # app.state and the like, as the wrapped app has them
        if name == "app":
            raise AttributeError(name)
        return getattr(self.app, name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _settle_request_id(scope)
        token = REQUEST_ID.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            elapsed = time.perf_counter() - started
            path = scope["path"]
            route = getattr(scope.get("route"), "path", None) or ("/graphql" if path == "/graphql" else "<unmatched>")
            self.metrics.observe_request(scope["method"], route, status, elapsed)
            if access_log.isEnabledFor(logging.INFO):
                # made directly: Logger.info() would walk the stack for the caller, a third of the cost
                ms = round(elapsed * 1000, 2)
                method = scope["method"]
                fields = {"method": method, "path": path, "status": status, "duration_ms": ms}
                record = access_log.makeRecord(
                    access_log.name,
                    logging.INFO,
                    __file__,
                    0,
                    "%s %s %s %.2fms",
                    (method, path, status, ms),
                    None,
                    extra=fields,
                )
                access_log.handle(record)
            REQUEST_ID.reset(token)


def instrument(app: ASGIApp, services: Services) -> Instrumented:
    return Instrumented(app, metrics_of(services))


def _settle_request_id(scope: Scope) -> str:
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    for name, value in headers:
        if name == b"x-request-id":
            sane = sane_request_id(value)
            if sane is not None:
                return sane
            break
    rid = new_request_id()
    scope["headers"] = [(n, v) for n, v in headers if n != b"x-request-id"] + [(b"x-request-id", rid.encode())]
    return rid


# -- GET /metrics ------------------------------------------------------------------------------------------


def routes(services: Services) -> list[BaseRoute]:
    """GET /metrics; with RUSTOK_METRICS_TOKEN set, only for `Authorization: Bearer <token>`."""
    metrics = metrics_of(services)
    token = os.environ.get("RUSTOK_METRICS_TOKEN", "")

    async def endpoint(request: Request) -> Response:
        if token and not secrets.compare_digest(
            request.headers.get("authorization", "").encode(), f"Bearer {token}".encode()
        ):
            return Response("metrics need the bearer token\n", status_code=401, media_type="text/plain")
        return Response(await metrics.render(services), media_type=CONTENT_TYPE)

    return [Route("/metrics", endpoint, methods=["GET"])]


def _pools(services: Services) -> list[tuple[str, ConnectionPool]]:
    """The gateway's pools (`pool`, and any other: a read replica's), by attribute name."""
    found: list[tuple[str, ConnectionPool]] = []
    for name, value in vars(services.gateway).items():
        if isinstance(value, ConnectionPool):
            found.append((name, value))
        elif isinstance(getattr(value, "pool", None), ConnectionPool):
            found.append((name, value.pool))
    return found


def _pool_lines(services: Services) -> Iterator[str]:
    stats = []
    for name, pool in _pools(services):
        # the pool keeps these privately (api/connections.py): read, never changed
        size = int(getattr(pool, "_count", 0))
        idle_queue = getattr(pool, "_idle", None)
        idle = idle_queue.qsize() if idle_queue is not None else 0
        waiting = sum(1 for w in getattr(idle_queue, "_getters", ()) if not w.done())
        stats.append(({"pool": name}, size, idle, waiting, pool.max_size))
    yield from gauge("rustok_db_pool_connections", "Connections open (or opening).", [(s[0], s[1]) for s in stats])
    yield from gauge("rustok_db_pool_in_use", "Connections checked out.", [(s[0], s[1] - s[2]) for s in stats])
    yield from gauge("rustok_db_pool_idle", "Connections idle in the pool.", [(s[0], s[2]) for s in stats])
    yield from gauge("rustok_db_pool_waiting", "Checkouts waiting for a connection.", [(s[0], s[3]) for s in stats])
    yield from gauge("rustok_db_pool_max", "The pool's size limit.", [(s[0], s[4]) for s in stats])


_DATABASE = (
    "select pg_notification_queue_usage()::float8 as notify_usage,"
    " (select n_live_tup from pg_stat_user_tables where relid = to_regclass('public.index_queue'))::float8"
    " as index_queue"
)
_RELAY_LAG = (
    ", coalesce((select extract(epoch from clock_timestamp() - e.occurred_at)::float8"
    " from rustok.read_events(%s, %s, 1) e), 0) as relay_lag"
)


async def _database_and_relay_lines(services: Services) -> list[str]:
    from rustok.realtime.hub import realtime_of

    relay = realtime_of(services).relay
    cursor = relay.cursor
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
    lines = list(gauge("rustok_database_up", "The scrape's database query succeeded.", [({}, row is not None)]))
    if row is not None:
        lines += gauge(
            "rustok_notification_queue_usage",
            "pg_notification_queue_usage(): fraction of the NOTIFY queue in use (LISTEN/NOTIFY stalls at 1).",
            [({}, row["notify_usage"])],
        )
        if row["index_queue"] is not None:  # the index module's queue exists
            lines += gauge(
                "rustok_index_queue_depth",
                "Rows waiting in index_queue (estimated from statistics: RLS hides other tenants' rows).",
                [({}, row["index_queue"])],
            )
        if "relay_lag" in row:
            lines += gauge(
                "rustok_relay_lag_seconds",
                "Age of the oldest committed event the relay has not delivered yet (0: caught up).",
                [({}, max(0.0, row["relay_lag"]))],
            )
    lines += gauge("rustok_relay_connected", "The relay's LISTEN connection is up.", [({}, relay.connected)])
    lines += gauge(
        "rustok_relay_subscribers", "Live subscribers (SSE streams, subscriptions).", [({}, relay.subscriber_count)]
    )
    lines += gauge(
        "rustok_relay_events_delivered_total",
        "Events the relay read and fanned out.",
        [({}, getattr(relay, "delivered", 0))],
        kind="counter",
    )
    lines += gauge(
        "rustok_relay_subscribers_cut_off_total",
        "Subscribers cut off for lagging.",
        [({}, relay.cut_off)],
        kind="counter",
    )
    return lines


def _embedded_lines(services: Services) -> Iterator[str]:
    """The supervised embedded server (a file the supervising `rustok serve` keeps current: every worker
    reports the same numbers); nothing for a server named by DATABASE_URL or without a supervisor."""
    from rustok.supervisor import read_state

    state = read_state(services.settings.home) if services.db.cluster is not None else None
    if state is None:
        return
    yield from gauge(
        "rustok_embedded_up", "The supervised embedded PostgreSQL runs and accepts connections.", [({}, state.up)]
    )
    yield from gauge(
        "rustok_embedded_restarts_total",
        "Restarts of the embedded PostgreSQL after a crash by the supervising rustok serve.",
        [({}, state.restarts)],
        kind="counter",
    )


def _labels(names: Labels, values: Labels) -> str:
    if not names:
        return ""
    return "{" + ",".join(f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)) + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)
