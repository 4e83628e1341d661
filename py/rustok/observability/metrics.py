"""Prometheus metrics of the API, recorded and written by prometheus-client.

Counted as requests happen (each label set's child is kept, so a request costs a dict lookup and the
library's increments: bench/metrics_bench.py, docs/observability.md):
    rustok_http_requests_total{method,route,status}              every HTTP request, POST /graphql included
    rustok_http_request_duration_seconds{method,route}           histogram
    rustok_graphql_operations_total{operation,type,outcome}      outcome: ok, or the first error's code
    rustok_graphql_operation_duration_seconds{operation,type}    histogram
Copied from the process when scraped (gauges.py: ProcessGauges):
    rustok_db_pool_{connections,in_use,idle,waiting,max}{pool}   the gateway's connection pool(s)
    rustok_relay_{connected,subscribers}, rustok_relay_events_delivered_total, …
    rustok_process_start_time_seconds
Read when scraped (gauges.py: server_families):
    rustok_index_queue_depth, rustok_notification_queue_usage, rustok_database_up, rustok_relay_lag_seconds
    rustok_embedded_up, rustok_embedded_restarts_total     the embedded server, as `rustok serve`'s supervisor
                                                           last saw it (supervisor.py); absent otherwise

One worker keeps its numbers in memory. The workers of `rustok serve --workers N` share them through the
library's multi-process mode (multiprocess.py), so whichever worker answers a scrape reports them all.

The route label is the route's template (`/api/events`, `/graphql`), `<unmatched>` for a 404, so a client
cannot create series at will; GraphQL operation names are capped (MAX_OPERATIONS per process, then `other`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import prometheus_client as prom
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rustok.api.errors import new_request_id, sane_request_id
from rustok.observability import multiprocess
from rustok.observability.gauges import PUBLISH_SECONDS, ProcessGauges, RelayView, server_families
from rustok.observability.logging import REQUEST_ID

if TYPE_CHECKING:
    from rustok.api.services import Services
    from rustok.graphql.executor import OperationReport

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
MAX_OPERATIONS = 200  # distinct GraphQL operation names kept as label values; later ones count as "other"
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

access_log = logging.getLogger("rustok.access")

Labels = tuple[str, ...]
Child = TypeVar("Child", prom.Counter, prom.Histogram)


# no *_created series: when the counts began is rustok_process_start_time_seconds
prom.disable_created_metrics()  # type: ignore[no-untyped-call]


class _Children(Generic[Child]):
    """A labelled family with each label set's child kept: the library's labels() takes a lock and builds a
    key on every call, a third of the cost of a request's recording."""

    def __init__(self, family: Child) -> None:
        self.family: Child = family
        self._children: dict[Labels, Child] = {}

    def child(self, labels: Labels) -> Child:
        found = self._children.get(labels)
        if found is None:
            found = self._children[labels] = self.family.labels(*labels)
        return found


class Counter(_Children[prom.Counter]):
    def __init__(self, name: str, help: str, labelnames: Labels, registry: prom.CollectorRegistry | None) -> None:
        super().__init__(prom.Counter(name.removesuffix("_total"), help, labelnames, registry=registry))

    def inc(self, labels: Labels, amount: float = 1.0) -> None:
        self.child(labels).inc(amount)


class Histogram(_Children[prom.Histogram]):
    def __init__(self, name: str, help: str, labelnames: Labels, registry: prom.CollectorRegistry | None) -> None:
        super().__init__(prom.Histogram(name, help, labelnames, registry=registry, buckets=LATENCY_BUCKETS))

    def observe(self, labels: Labels, value: float) -> None:
        self.child(labels).observe(value)


class Metrics:
    """The counters and histograms of one app, made by the composition root (rustok/platform.py): in memory,
    each test app starts from zero; in a worker of several, in the shared directory, which `rustok serve` makes
    fresh."""

    def __init__(self, relay: RelayView | None = None) -> None:
        self.relay = relay  # the process's event relay, whose numbers /metrics copies (None: no realtime part)
        self.shared = multiprocess.directory()
        # in the shared directory the library writes every value to this process's files: no registry
        self.registry = None if self.shared else prom.CollectorRegistry(auto_describe=False)
        self.http_requests = Counter(
            "rustok_http_requests_total",
            "HTTP requests by route template and status.",
            ("method", "route", "status"),
            self.registry,
        )
        self.http_duration = Histogram(
            "rustok_http_request_duration_seconds",
            "HTTP request duration (streams: until they end).",
            ("method", "route"),
            self.registry,
        )
        self.graphql_operations = Counter(
            "rustok_graphql_operations_total",
            "GraphQL operations by name, type and outcome (ok, or the first error's code).",
            ("operation", "type", "outcome"),
            self.registry,
        )
        self.graphql_duration = Histogram(
            "rustok_graphql_operation_duration_seconds",
            "GraphQL operation duration.",
            ("operation", "type"),
            self.registry,
        )
        self.process = ProcessGauges(self.registry)
        self._operation_names: set[str] = set()

    # -- recording --------------------------------------------------------------------------------------

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.http_requests.inc((method, route, str(status)))
        self.http_duration.observe((method, route), seconds)

    def observe_operation(self, report: OperationReport) -> None:
        """One GraphQL operation as the executor reports it (GraphQLExecutor's `observe`): counted and timed
        under its name, type and outcome; names past MAX_OPERATIONS count as `other`."""
        name = report.name
        if name not in self._operation_names:
            if len(self._operation_names) >= MAX_OPERATIONS:
                name = "other"
            else:
                self._operation_names.add(name)
        self.graphql_operations.inc((name, report.type, report.outcome))
        self.graphql_duration.observe((name, report.type), report.seconds)

    # -- exposition -------------------------------------------------------------------------------------

    async def render(self, services: Services) -> bytes:
        self.process.publish(services, self.relay)
        server = await server_families(services, self.relay)
        if self.shared is None:
            assert self.registry is not None
            return prom.generate_latest(_Families(self.registry.collect(), server))
        multiprocess.forget_dead_workers(self.shared)
        shared = MultiProcessCollector(None, str(self.shared))  # type: ignore[no-untyped-call]
        return prom.generate_latest(_Families(shared.collect(), server))  # type: ignore[no-untyped-call]

    async def publish_while_running(self, services: Services) -> None:
        """In a worker of several: this process's pool and relay numbers, copied for the others' scrapes."""
        while True:
            self.process.publish(services, self.relay)
            await asyncio.sleep(PUBLISH_SECONDS)


class _Families:
    """A collector of families already collected, for generate_latest."""

    def __init__(self, *sources: Iterable[Metric]) -> None:
        self.sources = sources

    def collect(self) -> Iterable[Metric]:
        for source in self.sources:
            yield from source


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


def instrument(app: ASGIApp, metrics: Metrics) -> Instrumented:
    return Instrumented(app, metrics)


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


def routes(services: Services, metrics: Metrics) -> list[BaseRoute]:
    """GET /metrics; with RUSTOK_METRICS_TOKEN set, only for `Authorization: Bearer <token>`. In a worker of
    several, a task copies this process's pool and relay numbers for the others' scrapes."""
    token = os.environ.get("RUSTOK_METRICS_TOKEN", "")

    async def endpoint(request: Request) -> Response:
        if token and not secrets.compare_digest(
            request.headers.get("authorization", "").encode(), f"Bearer {token}".encode()
        ):
            return Response("metrics need the bearer token\n", status_code=401, media_type="text/plain")
        return Response(await metrics.render(services), media_type=CONTENT_TYPE)

    if metrics.shared is not None:
        publishing: list[asyncio.Task[None]] = []

        async def start() -> None:
            publishing.append(asyncio.create_task(metrics.publish_while_running(services)))

        async def stop() -> None:
            for task in publishing:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

        services.on_startup.append(start)
        services.on_shutdown.append(stop)
    return [Route("/metrics", endpoint, methods=["GET"])]
