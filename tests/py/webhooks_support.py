"""Helpers for the webhook and handler tests: a local HTTP receiver on 127.0.0.1 that answers from a plan and
records every request, and short-hands for tenants, webhooks and events."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from rustok.db import Database

ALLOW_PRIVATE = "-c rustok.webhooks_allow_private=on"


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic()


class Receiver:
    """A threaded HTTP server: POSTs to a path get the next planned Reply for that path (200 when none)."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.plans: dict[str, deque[Reply]] = defaultdict(deque)
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.requests.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic())
                    )
                    plan = receiver.plans[self.path]
                    reply = plan.popleft() if plan else Reply()
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the worker gave up waiting (a timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def plan(self, path: str, *replies: Reply) -> str:
        """Queues replies for a path; returns the URL to register."""
        with self.lock:
            self.plans[path].extend(replies)
        return self.base_url + path

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def wait_for(self, path: str, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.at(path)
            if len(got) >= count:
                return got
            time.sleep(0.01)
        return self.at(path)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@dataclass(frozen=True)
class Tenant:
    id: uuid.UUID
    admin_id: uuid.UUID
    slug: str


def create_tenant(db: Database, slug: str) -> Tenant:
    """A tenant with an admin, made by the operator."""
    with psycopg.connect(db.admin_url, row_factory=dict_row) as conn:
        made = conn.execute(
            "select rustok.create_tenant(%s, %s, %s, 'hash') as t", (slug, slug.title(), f"admin@{slug}.test")
        ).fetchone()
    assert made is not None
    return Tenant(uuid.UUID(_uuid(made["t"]["id"])), uuid.UUID(_uuid(made["t"]["adminUserId"])), slug)


def _uuid(ulid_text: str) -> str:
    from rustok.ids import parse_id

    return str(parse_id(ulid_text))


def as_admin(db: Database, tenant: Tenant, sql: Any, params: Any = (), allow_private: bool = True) -> Any:
    """One statement as the tenant's admin through the application role; returns its first column."""
    options = ALLOW_PRIVATE if allow_private else ""
    with psycopg.connect(db.app_url, options=options) as conn:
        conn.execute("select rustok.set_context(%s, %s, 'admin')", (tenant.id, tenant.admin_id))
        row = conn.execute(sql, params).fetchone()
    return row[0] if row else None


def create_webhook(db: Database, tenant: Tenant, url: str, event_types: list[str] | None = None) -> dict[str, Any]:
    """A webhook of the tenant, for OrderPlaced unless other event types are named ([] = every type)."""
    types = ["OrderPlaced"] if event_types is None else event_types
    webhook: dict[str, Any] = as_admin(db, tenant, "select rustok.create_webhook(%s, %s, 'test')", (url, types))
    return webhook


def deliveries(db: Database, tenant: Tenant, webhook_id: str) -> list[dict[str, Any]]:
    connection = as_admin(db, tenant, "select rustok.list_webhook_deliveries(rustok.parse_id(%s), 100)", (webhook_id,))
    return [edge["node"] for edge in connection["edges"]]


def publish(db: Database, tenant: Tenant, *events: tuple[str, dict[str, Any]]) -> None:
    """Publishes events in one transaction of the application role."""
    with psycopg.connect(db.app_url) as conn:
        conn.execute("select rustok.set_context(%s, %s, 'admin')", (tenant.id, tenant.admin_id))
        for event_type, data in events:
            conn.execute("select rustok.publish_event(%s, %s)", (event_type, Jsonb(data)))


def worker_environment(db: Database, monkeypatch: pytest.MonkeyPatch, home: Path) -> dict[str, str]:
    """Sets what `rustok worker` (cli.main) reads: the test database, the application password, a fresh home,
    webhooks to private addresses allowed; returns the whole environment (for a subprocess)."""
    values = {
        "DATABASE_URL": db.admin_url,
        "RUSTOK_APP_PASSWORD": db.app_password,
        "RUSTOK_HOME": str(home),
        "RUSTOK_WEBHOOKS_ALLOW_PRIVATE": "1",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("RUSTOK_APP_DATABASE_URL", raising=False)
    return {**os.environ, **values}
