"""GET /metrics after real requests: the text parses as Prometheus exposition, requests and latency are
counted per route (the GraphQL fast path too) and per GraphQL operation, and the pool, relay, NOTIFY queue
and index queue gauges are there. The access log is one JSON line per request carrying the request id."""

from __future__ import annotations

import io
import itertools
import logging
import math
import re
import time
from collections.abc import Iterator
from typing import Any

import orjson
import psycopg
import pytest

from rustok.db import Database
from rustok.graphql.executor import OperationReport
from rustok.observability import metrics as metrics_module
from rustok.observability.logging import REQUEST_ID, JsonFormatter, RequestIdFilter
from rustok.observability.metrics import Metrics
from tests.py.graphql_support import Api, Tenant, make_tenant

Sample = tuple[str, frozenset[tuple[str, str]]]

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text: str) -> tuple[dict[Sample, float], dict[str, str]]:
    """Every sample line as {(name, labels): value} and every family's TYPE; fails on a line that is neither."""
    samples: dict[Sample, float] = {}
    types: dict[str, str] = {}
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            types[name] = kind
            continue
        if line.startswith("# HELP "):
            continue
        match = _SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        labels = frozenset(_LABEL.findall(match[2] or ""))
        assert (match[1], labels) not in samples, f"duplicate series: {line}"
        samples[(match[1], labels)] = float(match[3])
    return samples, types


def value(samples: dict[Sample, float], name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def scrape(api: Api) -> dict[Sample, float]:
    response = api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples, types = parse(response.text)
    for name, _ in samples:  # every sample belongs to a declared family
        assert any(name == f or name in (f"{f}_bucket", f"{f}_sum", f"{f}_count") for f in types), name
    return samples


@pytest.fixture(scope="module")
def tenant(db: Database) -> Tenant:
    return make_tenant(db, "metered")


@pytest.fixture(scope="module")
def api(db: Database) -> Iterator[Api]:
    with Api(db) as api:
        yield api


def test_requests_and_latency_per_route(api: Api, tenant: Tenant) -> None:
    for _ in range(2):
        assert api.client.get("/health/live").status_code == 200
    assert api.client.get("/no/such/page/12345").status_code == 404
    api.gql("{ tenant { slug } }", tenant=tenant)
    samples = scrape(api)
    assert value(samples, "rustok_http_requests_total", method="GET", route="/health/live", status="200") == 2
    assert value(samples, "rustok_http_requests_total", method="GET", route="<unmatched>", status="404") == 1
    # POST /graphql bypasses Starlette's routing and middleware, and is counted all the same
    assert (value(samples, "rustok_http_requests_total", method="POST", route="/graphql", status="200") or 0) >= 1
    assert not any("12345" in v for _, labels in samples for _, v in labels), "paths never become labels"

    name = "rustok_http_request_duration_seconds"
    assert value(samples, f"{name}_count", method="GET", route="/health/live") == 2
    assert value(samples, f"{name}_bucket", method="GET", route="/health/live", le="+Inf") == 2
    assert 0 < (value(samples, f"{name}_sum", method="GET", route="/health/live") or 0) < 10
    buckets = sorted(
        (math.inf if dict(labels)["le"] == "+Inf" else float(dict(labels)["le"]), v)
        for (n, labels), v in samples.items()
        if n == f"{name}_bucket" and dict(labels)["route"] == "/health/live"
    )
    assert len(buckets) > 5 and all(a[1] <= b[1] for a, b in itertools.pairwise(buckets))


def test_graphql_operations_are_labelled_by_name_type_and_outcome(api: Api, tenant: Tenant) -> None:
    api.gql("query StoreName { tenant { slug name } }", tenant=tenant)
    api.gql("query StoreName { tenant { slug name } }", tenant=tenant)
    api.gql("{ tenant { slug } }", tenant=tenant)
    body = api.gql(
        'mutation Promote { setUserRole(userId: "01ARZ3NDEKTSV4RRFFQ69G5FAV", role: ADMIN) { id } }', tenant=tenant
    )
    refused = body["errors"][0]["extensions"]["code"]  # run and refused (anonymous): counted as a mutation
    assert refused != "GRAPHQL_VALIDATION_FAILED"
    response = api.client.post(
        "/graphql",
        json=[
            {"query": "query A { tenant { slug } } query B { me { id } }", "operationName": "B"},
            {"query": "query A { tenant { slug } } query B { me { id } }", "operationName": "A"},
        ],
        headers={"x-tenant": tenant.slug},
    )
    assert response.status_code == 200
    response = api.client.post(
        "/graphql",
        json={"query": "query Broken { noSuchField }", "operationName": "Broken"},
        headers={"x-tenant": tenant.slug},
    )
    assert response.status_code == 200

    samples = scrape(api)
    ops = "rustok_graphql_operations_total"
    assert value(samples, ops, operation="StoreName", type="query", outcome="ok") == 2
    assert (value(samples, ops, operation="anonymous", type="query", outcome="ok") or 0) >= 1
    assert value(samples, ops, operation="Promote", type="mutation", outcome=refused) == 1
    assert value(samples, ops, operation="A", type="query", outcome="ok") == 1
    assert value(samples, ops, operation="B", type="query", outcome="ok") == 1
    broken = [
        dict(labels)["outcome"]
        for (n, labels), _ in samples.items()
        if n == ops and dict(labels)["operation"] == "Broken"
    ]
    assert broken and broken[0] != "ok"
    duration = "rustok_graphql_operation_duration_seconds"
    assert value(samples, f"{duration}_count", operation="StoreName", type="query") == 2
    assert value(samples, f"{duration}_bucket", operation="Promote", type="mutation", le="+Inf") == 1


def test_pool_queues_and_relay(api: Api, db: Database) -> None:
    samples = scrape(api)
    assert value(samples, "rustok_database_up") == 1
    assert (value(samples, "rustok_db_pool_connections", pool="pool") or 0) >= 1
    assert value(samples, "rustok_db_pool_max", pool="pool") == api.services.gateway.pool.max_size
    assert value(samples, "rustok_db_pool_waiting", pool="pool") == 0
    assert value(samples, "rustok_db_pool_in_use", pool="pool") is not None
    usage = value(samples, "rustok_notification_queue_usage")
    assert usage is not None and 0 <= usage < 1
    with psycopg.connect(db.admin_url) as conn:
        has_index_queue = conn.execute("select to_regclass('public.index_queue') is not null").fetchone()
    assert (value(samples, "rustok_index_queue_depth") is not None) == bool(has_index_queue and has_index_queue[0])

    # the relay: connected, then an event committed after it started is delivered and the lag returns to 0
    deadline = time.monotonic() + 10
    while value(samples, "rustok_relay_connected") != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
        samples = scrape(api)
    assert value(samples, "rustok_relay_connected") == 1
    delivered = value(samples, "rustok_relay_events_delivered_total") or 0
    with psycopg.connect(db.admin_url) as conn:
        conn.execute("select rustok.create_tenant('metered-two', 'Metered Two')")  # emits TenantCreated
    while time.monotonic() < deadline:
        samples = scrape(api)
        if (value(samples, "rustok_relay_events_delivered_total") or 0) > delivered:
            break
        time.sleep(0.05)
    assert (value(samples, "rustok_relay_events_delivered_total") or 0) > delivered
    lag = value(samples, "rustok_relay_lag_seconds")
    assert lag is not None and 0 <= lag < 5


def test_metrics_token(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUSTOK_METRICS_TOKEN", "s3cret")
    with Api(db) as api:
        assert api.client.get("/metrics").status_code == 401
        assert api.client.get("/metrics", headers={"authorization": "Bearer nope"}).status_code == 401
        response = api.client.get("/metrics", headers={"authorization": "Bearer s3cret"})
        assert response.status_code == 200 and "rustok_http_requests_total" in response.text


def test_operation_names_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics_module, "MAX_OPERATIONS", 2)
    metrics = Metrics()
    for i in range(4):
        metrics.observe_operation(OperationReport(f"Op{i}", "query", "ok", 0.01))
    metrics.observe_operation(OperationReport("Op0", "query", "ok", 0.01))
    counted = {
        labels[0]: child._value.get()
        for labels, child in metrics.graphql_operations._children.items()  # type: ignore[attr-defined]
    }
    assert counted == {"Op0": 2, "Op1": 1, "other": 2}


def test_the_executor_names_the_operation_it_ran(api: Api, tenant: Tenant) -> None:
    """Name and type come from the document the executor ran, never from the text: a leading comment, a
    second operation or a persisted query change nothing; a request refused before an operation is chosen
    counts under the operationName it sent (`invalid` if that is no name) with type `unknown`."""
    two = 'query Second { me { id } } mutation First { setDisplayName(displayName: "x") { id } }'
    for request in (
        {"query": "# a comment first\nquery Commented { tenant { slug } }"},
        {"query": two, "operationName": "Second"},
        {"query": "query Refused { noSuchField }", "operationName": "Refused"},
        {"query": "{ tenant { slug } }", "operationName": "not-a-name"},
    ):
        assert api.client.post("/graphql", json=request, headers={"x-tenant": tenant.slug}).status_code == 200
    samples = scrape(api)
    ops = "rustok_graphql_operations_total"
    assert value(samples, ops, operation="Commented", type="query", outcome="ok") == 1
    assert value(samples, ops, operation="Second", type="query", outcome="ok") == 1
    assert value(samples, ops, operation="Refused", type="unknown", outcome="GRAPHQL_VALIDATION_FAILED") == 1
    invalid = [dict(labels) for (n, labels), _ in samples.items() if n == ops and ("operation", "invalid") in labels]
    assert invalid and all(labels["type"] == "unknown" and labels["outcome"] != "ok" for labels in invalid)


@pytest.fixture
def access_lines() -> Iterator[io.StringIO]:
    """rustok.access (and rustok.graphql) records as the JSON formatter writes them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    loggers = [logging.getLogger("rustok.access"), logging.getLogger("rustok.graphql")]
    saved = [(lg.level, lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.INFO)
        lg.propagate = False
    yield stream
    for lg, (level, propagate) in zip(loggers, saved, strict=True):
        lg.removeHandler(handler)
        lg.setLevel(level)
        lg.propagate = propagate


def _records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in stream.getvalue().splitlines()]


def test_access_log_is_json_with_the_request_id(api: Api, tenant: Tenant, access_lines: io.StringIO) -> None:
    response = api.client.post(
        "/graphql", json={"query": "{ tenant { slug } }"}, headers={"x-tenant": tenant.slug, "x-request-id": "abc-123"}
    )
    assert response.headers["x-request-id"] == "abc-123"
    response = api.client.get("/health/live", headers={"x-request-id": "def-456"})
    assert response.headers["x-request-id"] == "def-456"
    # no (or an unusable) id from the client: one is made, and the log, the header and the error body agree
    response = api.client.post("/graphql", json={"query": "{ nope }"}, headers={"x-request-id": "bad id!"})
    made = response.headers["x-request-id"]
    assert made != "bad id!" and response.json()["errors"][0]["extensions"]["requestId"] == made

    records = [r for r in _records(access_lines) if r["logger"] == "rustok.access"]
    assert len(records) == 3
    first, second, third = records
    assert first["request_id"] == "abc-123" and first["method"] == "POST" and first["path"] == "/graphql"
    assert first["status"] == 200 and isinstance(first["duration_ms"], float) and first["level"] == "info"
    assert first["message"].startswith("POST /graphql 200 ")
    assert second["request_id"] == "def-456" and second["path"] == "/health/live"
    assert third["request_id"] == made
    assert all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$", r["ts"]) for r in records)


def test_any_record_written_during_a_request_carries_its_id() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("rustok.test_metrics")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        token = REQUEST_ID.set("req-1")
        try:
            try:
                raise ValueError("boom")
            except ValueError:
                logger.exception("unexpected error", extra={"tenant": "acme"})
        finally:
            REQUEST_ID.reset(token)
        logger.warning("outside")
    finally:
        logger.removeHandler(handler)
    inside, outside = _records(stream)
    assert inside["request_id"] == "req-1" and inside["tenant"] == "acme" and "ValueError: boom" in inside["exc"]
    assert inside["level"] == "error" and inside["message"] == "unexpected error"
    assert "request_id" not in outside
