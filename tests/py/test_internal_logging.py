"""Every INTERNAL answer is logged with its request id and the stack of what failed, on every path: GraphQL
over HTTP (POST, batched, GET), over WebSocket, REST, the event stream (before and after it started) and the
storefront. The failure is real: SQL functions of this module's database are replaced by ones that raise an
error no mapping knows (SQLSTATE XX000)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from rustok.db import Database
from tests.py.graphql_support import Api, Tenant, make_tenant

BROKEN = "boom: broken on purpose"


def break_function(db: Database, name: str) -> None:
    """Replaces rustok.<name> by a function of the same signature that raises XX000."""
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        row = conn.execute(
            "select pg_get_function_arguments(p.oid), pg_get_function_result(p.oid) from pg_proc p"
            " where p.oid = to_regproc(%s)",
            (f"rustok.{name}",),
        ).fetchone()
        assert row is not None, name
        body = sql.SQL(
            "create or replace function rustok.{name}({args}) returns {result} language plpgsql as "
            "$b$ begin raise exception {message} using errcode = 'XX000'; end $b$"
        ).format(name=sql.Identifier(name), args=sql.SQL(row[0]), result=sql.SQL(row[1]), message=BROKEN)
        conn.execute(body)


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def logged(self, request_id: str) -> list[logging.LogRecord]:
        """The records about this request that carry a stack showing the database's failure."""
        formatter = logging.Formatter()
        return [
            r
            for r in self.records
            if request_id in r.getMessage() and r.exc_info and BROKEN in formatter.formatException(r.exc_info)
        ]


@pytest.fixture(scope="module")
def tenant(db: Database) -> Tenant:
    tenant = make_tenant(db, "logs")
    for name in ("me", "storefront_shop", "read_tenant_events"):
        break_function(db, name)
    return tenant


@pytest.fixture
def records() -> Iterator[Records]:
    handler = Records()
    logger = logging.getLogger("rustok")  # whatever its propagation, its records reach this handler
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@pytest.fixture(scope="module")
def api(db: Database, tenant: Tenant) -> Iterator[Api]:
    with Api(db) as api:
        yield api


def headers(api: Api, tenant: Tenant, rid: str) -> dict[str, str]:
    return {"authorization": f"Bearer {api.token(tenant, 'admin')}", "x-request-id": rid}


def internal(body: Any) -> str:
    """The request id of an INTERNAL GraphQL answer."""
    error = body["errors"][0]["extensions"]
    assert error["code"] == "INTERNAL", body
    return str(error["requestId"])


def test_graphql_post_batched_and_get(api: Api, tenant: Tenant, records: Records) -> None:
    post = api.client.post("/graphql", json={"query": "{ me { id } }"}, headers=headers(api, tenant, "log-post"))
    assert internal(post.json()) == "log-post"
    batch = [{"query": "{ me { id } }"}, {"query": "{ me { email } }"}]
    batched = api.client.post("/graphql", json=batch, headers=headers(api, tenant, "log-batch"))
    assert [internal(answer) for answer in batched.json()] == ["log-batch", "log-batch"]
    get = api.client.get("/graphql", params={"query": "{ me { id } }"}, headers=headers(api, tenant, "log-get"))
    assert internal(get.json()) == "log-get"
    assert records.logged("log-post") and records.logged("log-get")
    assert len(records.logged("log-batch")) == 2


def test_graphql_over_websocket(api: Api, tenant: Tenant, records: Records) -> None:
    with api.client.websocket_connect(
        "/graphql", subprotocols=["graphql-transport-ws"], headers={"x-request-id": "log-ws"}
    ) as socket:
        socket.send_json(
            {"type": "connection_init", "payload": {"authorization": f"Bearer {api.token(tenant, 'admin')}"}}
        )
        assert socket.receive_json()["type"] == "connection_ack"
        socket.send_json({"id": "1", "type": "subscribe", "payload": {"query": "{ me { id } }"}})
        message = socket.receive_json()
    assert internal(message["payload"]) == "log-ws"
    assert records.logged("log-ws")


def test_rest(api: Api, tenant: Tenant, records: Records) -> None:
    response = api.client.get("/api/auth/me", headers=headers(api, tenant, "log-rest"))
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "INTERNAL"
    assert records.logged("log-rest")


def test_event_stream(api: Api, tenant: Tenant, records: Records) -> None:
    """Resuming reads the missed events first: that read fails once the stream has started (200), so the
    stream ends, and the failure is in the log."""
    resume = headers(api, tenant, "log-sse") | {"last-event-id": "1.0"}
    response = api.client.get("/api/events", headers=resume)
    assert response.status_code == 200
    assert records.logged("log-sse")


def test_storefront(api: Api, tenant: Tenant, records: Records) -> None:
    response = api.client.get("/t/logs/", headers={"x-request-id": "log-shop"})
    assert response.status_code == 500
    assert "log-shop" in response.text
    assert records.logged("log-shop")
