"""What the crash-safety tests run and remember: a mixed write load of concurrent client sessions (orders,
products, content), each write through the SQL function the API calls, in the API's own one-statement form;
a client-side ledger of every write whose COMMIT returned (and of those in doubt: sent, but the answer was
lost with the server); a durable handler that records what it was given. For the supervised case: a real
`rustok serve` in a subprocess, a client creating products over HTTP that remembers every answer, and an
SSE client that remembers every event it is sent."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, LiteralString, Self

import httpx2 as httpx
import orjson
import psycopg
from psycopg.types.json import Jsonb

from rustok import errors
from rustok.events.handlers import EventEnvelope, EventHandler, RetryPolicy
from rustok.events.outbox import Cursor
from rustok.ids import parse_id

STOCK = 12  # every variant starts with this many units at the default location
_AS_ADMIN: LiteralString = "with _context as materialized (select rustok.set_context(%s, %s, 'admin')) "


@dataclass(frozen=True)
class LoadTenant:
    id: uuid.UUID
    admin_id: uuid.UUID
    slug: str


class ConnectionLost(Exception):
    """The server went away: the write in hand is in doubt and the session ends."""


@dataclass
class Ledger:
    """Writes as the clients saw them. `confirmed`: the COMMIT returned (the function's answer arrived).
    `in_doubt`: sent, no answer (the server died); may or may not be there."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    products: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=dict)  # product -> variants
    titles: dict[uuid.UUID, tuple[int, int]] = field(default_factory=dict)  # product -> (confirmed, sent) version
    orders: dict[uuid.UUID, tuple[int, int]] = field(default_factory=dict)  # order -> (display id, total)
    posts: set[uuid.UUID] = field(default_factory=set)
    comments: set[uuid.UUID] = field(default_factory=set)
    refused: int = 0  # answered with an RK error (e.g. INSUFFICIENT_STOCK): certainly not written
    in_doubt: int = 0

    def confirmed(self) -> int:
        with self.lock:
            return (
                len(self.products)
                + sum(v for v, _ in self.titles.values())
                + len(self.orders)
                + len(self.posts)
                + len(self.comments)
            )


class Session:
    """One client connection (the application role, autocommit) acting as a tenant's admin."""

    def __init__(self, app_url: str, tenant: LoadTenant, ledger: Ledger, seed: int) -> None:
        self.conn = psycopg.connect(app_url, autocommit=True)
        self.tenant = tenant
        self.ledger = ledger
        self.rng = random.Random(seed)

    def call(self, call: LiteralString, *params: Any) -> Any:
        """`select <call> from _context`: one statement, its own transaction, as the API sends it. Raises
        ConnectionLost when the answer is lost, psycopg.Error for an answer that is an error."""
        try:
            statement: LiteralString = _AS_ADMIN + "select " + call + " from _context"
            row = self.conn.execute(statement, (self.tenant.id, self.tenant.admin_id, *params)).fetchone()
        except psycopg.OperationalError as exc:
            if self.conn.closed or self.conn.broken:
                with self.ledger.lock:
                    self.ledger.in_doubt += 1
                raise ConnectionLost from exc
            raise
        assert row is not None
        return row[0]

    def close(self) -> None:
        self.conn.close()


def create_product(session: Session, sku: str) -> tuple[uuid.UUID, list[uuid.UUID]]:
    product = {
        "title": f"{sku} v0",
        "status": "published",
        "variants": [
            {
                "sku": f"{sku}-{size}",
                "title": size,
                "inventoryQuantity": STOCK,
                "prices": [{"amount": session.rng.randint(100, 5000), "currencyCode": "EUR"}],
            }
            for size in ("S", "M")
        ],
    }
    made = session.call("rustok.create_product(%s)", Jsonb(product))
    return parse_id(made["id"]), [parse_id(v["id"]) for v in made["variants"]]


def order_some(session: Session, variants: list[uuid.UUID]) -> None:
    """A cart with one or two lines, then place_order: confirmed when place_order answers. Out of stock (at
    add_cart_line or place_order) is an answer too: refused, nothing written."""
    try:
        cart = parse_id(session.call("rustok.create_cart(%s)", Jsonb({"currencyCode": "EUR"}))["id"])
        for variant in session.rng.sample(variants, min(len(variants), session.rng.randint(1, 2))):
            session.call("rustok.add_cart_line(%s, %s, %s)", cart, variant, session.rng.randint(1, 3))
        order = session.call("rustok.place_order(%s, 'crash@example.com')", cart)
    except psycopg.Error as exc:
        if exc.sqlstate == errors.InsufficientStock.sqlstate:
            with session.ledger.lock:
                session.ledger.refused += 1
            return
        raise
    with session.ledger.lock:
        session.ledger.orders[parse_id(order["id"])] = (int(order["displayId"]), int(order["total"]["amount"]))


def shopper(session: Session, catalogue: list[uuid.UUID], stop: threading.Event) -> None:
    while not stop.is_set():
        order_some(session, catalogue)


def merchant(session: Session, stop: threading.Event) -> None:
    """Creates products and renames its own (title "<sku> v<n>", n counting up per product)."""
    mine: list[uuid.UUID] = []
    while not stop.is_set():
        if not mine or session.rng.random() < 0.4:
            product, variants = create_product(session, f"{session.tenant.slug}-{uuid.uuid4().hex[:10]}")
            with session.ledger.lock:
                session.ledger.products[product] = variants
                session.ledger.titles[product] = (0, 0)
            mine.append(product)
            continue
        product = session.rng.choice(mine)
        with session.ledger.lock:
            confirmed, _ = session.ledger.titles[product]
            version = confirmed + 1
            session.ledger.titles[product] = (confirmed, version)
        current = session.call("rustok.update_product(%s, %s) ->> 'title'", product, Jsonb({"title": f"v{version}"}))
        assert current == f"v{version}"
        with session.ledger.lock:
            session.ledger.titles[product] = (version, version)


def writer(session: Session, stop: threading.Event) -> None:
    """Publishes posts and comments on them (and replies to comments)."""
    posts: list[uuid.UUID] = []
    comments: list[tuple[uuid.UUID, uuid.UUID]] = []  # (post, comment)
    while not stop.is_set():
        if not posts or session.rng.random() < 0.2:
            node = {"kind": "post", "title": f"Post {uuid.uuid4().hex[:8]}", "status": "published", "body": "text"}
            post = parse_id(session.call("rustok.create_node(%s) ->> 'id'", Jsonb(node)))
            with session.ledger.lock:
                session.ledger.posts.add(post)
            posts.append(post)
            continue
        post, parent = (
            session.rng.choice(comments)
            if comments and session.rng.random() < 0.4
            else (session.rng.choice(posts), None)
        )
        comment = parse_id(session.call("rustok.add_comment(%s, %s, 'a comment') ->> 'id'", post, parent))
        with session.ledger.lock:
            session.ledger.comments.add(comment)
        comments.append((post, comment))


def run_session(work: Callable[[], None], errors: list[BaseException]) -> None:
    """Runs until the server goes away (ConnectionLost ends it quietly); anything else is a test failure."""
    try:
        work()
    except ConnectionLost:
        pass
    except BaseException as exc:
        errors.append(exc)


class Load:
    """Three sessions per tenant (a shopper, a merchant, a writer), each in its own thread, from entering the
    block until leaving it (or until the server goes away); `errors` holds anything unexpected."""

    def __init__(self, app_url: str, catalogue: dict[LoadTenant, list[uuid.UUID]], ledger: Ledger) -> None:
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.sessions: list[Session] = []
        work: list[Callable[[], None]] = []
        for i, (tenant, variants) in enumerate(catalogue.items()):
            shop, sell, write = (Session(app_url, tenant, ledger, seed=10 * i + j) for j in range(3))
            self.sessions += [shop, sell, write]
            work += [
                lambda s=shop, v=variants: shopper(s, v, self.stop),
                lambda s=sell: merchant(s, self.stop),
                lambda s=write: writer(s, self.stop),
            ]
        self.threads = [threading.Thread(target=run_session, args=(w, self.errors)) for w in work]

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=15)
        for session in self.sessions:
            session.close()


@dataclass(frozen=True)
class Handled:
    event_id: uuid.UUID
    cursor: Cursor
    at: float  # time.monotonic()


class RecordingHandler(EventHandler):
    """A durable handler that remembers each event it is given, and when. It takes a few milliseconds per
    event, so the crash tends to land between handling events and acknowledging them."""

    name = "crash-test.recorder"
    retry = RetryPolicy(max_attempts=3, base_delay=0.1, max_delay=0.5, timeout=5.0)

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.handled: list[Handled] = []

    async def handle(self, envelope: EventEnvelope) -> None:
        await asyncio.sleep(0.005)
        with self.lock:
            self.handled.append(Handled(envelope.id, envelope.cursor, time.monotonic()))

    def snapshot(self) -> list[Handled]:
        with self.lock:
            return list(self.handled)


# -- `rustok serve` under a crash ----------------------------------------------------------------------------

CREATE_PRODUCT = "mutation($input: CreateProductRequest!) { createProduct(input: $input) { id } }"


class Serve:
    """`rustok serve` in a subprocess on a free port, in a clean environment (no RUSTOK_* or DATABASE_URL of
    the caller's) plus `env`; its log (JSON lines) goes to a file, so a long outage cannot fill a pipe."""

    def __init__(self, home: Path, port: int, env: dict[str, str], *extra: str) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = home / "serve.log"
        clean = {k: v for k, v in os.environ.items() if not k.startswith("RUSTOK_") and k != "DATABASE_URL"}
        argv = [sys.executable, "-m", "rustok.cli", "serve", "--port", str(port), "--no-access-log", *extra]
        home.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("w") as log:
            self.popen = subprocess.Popen(argv, env=clean | {"RUSTOK_HOME": str(home)} | env, stderr=log)

    def ready(self) -> int | None:
        """/health/ready's status, None when nothing answers."""
        try:
            return httpx.get(f"{self.base}/health/ready", timeout=5).status_code
        except httpx.TransportError:
            return None

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.ready() != 200:
            assert self.popen.poll() is None, self.log_path.read_text()
            assert time.monotonic() < deadline, f"rustok serve not ready in {timeout} s: {self.log_path.read_text()}"
            time.sleep(0.1)

    def metrics(self) -> str:
        return httpx.get(f"{self.base}/metrics", timeout=10).text

    def stop(self) -> list[dict[str, Any]]:
        """SIGINT, as an operator's Ctrl-C; the JSON records it logged."""
        self.popen.send_signal(signal.SIGINT)
        try:
            self.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
        return [orjson.loads(line) for line in self.log_path.read_text().splitlines() if line.startswith("{")]


class _Client:
    """A client of `rustok serve` signed in with `token`, running `_run` in a daemon thread from entering the
    block until leaving it (`stop` is set then; the thread is given `join_timeout` seconds to end)."""

    join_timeout = 30.0

    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.headers = {"authorization": f"Bearer {token}"}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=self.join_timeout)

    def _run(self) -> None:
        raise NotImplementedError


class ApiWriter(_Client):
    """Creates products through POST /graphql, one after another, and remembers every answer: acknowledged
    (the product's id), UNAVAILABLE, or anything else (which no crash should cause)."""

    def __init__(self, base: str, token: str) -> None:
        super().__init__(base, token)
        self.acked: list[tuple[float, str]] = []  # (time.monotonic(), product id)
        self.unavailable: list[float] = []
        self.unexpected: list[str] = []

    def acked_after(self, moment: float) -> list[tuple[float, str]]:
        return [a for a in list(self.acked) if a[0] > moment]

    def _run(self) -> None:
        with httpx.Client(timeout=30) as client:
            n = 0
            while not self.stop.is_set():
                n += 1
                variables = {"input": {"title": f"supervised {n}", "status": "PUBLISHED"}}
                try:
                    answer = client.post(
                        f"{self.base}/graphql",
                        json={"query": CREATE_PRODUCT, "variables": variables},
                        headers=self.headers,
                    )
                    body = answer.json()
                except (httpx.HTTPError, ValueError) as exc:
                    self.unexpected.append(f"{type(exc).__name__}: {exc}")
                    time.sleep(0.1)
                    continue
                made = (body.get("data") or {}).get("createProduct")
                if made:
                    self.acked.append((time.monotonic(), made["id"]))
                    time.sleep(0.01)
                    continue
                code = ((body.get("errors") or [{}])[0].get("extensions") or {}).get("code")
                if code == "UNAVAILABLE":
                    self.unavailable.append(time.monotonic())
                else:
                    self.unexpected.append(f"HTTP {answer.status_code}: {body}")
                time.sleep(0.02)


class SseReader(_Client):
    """GET /api/events?types=ProductCreated: the product ids it is sent, and whether (and why) the stream
    ended. It does not reconnect: a stream that stays open across the crash shows that the process's relay
    reconnected to the database by itself."""

    join_timeout = 0.0  # it sees `stop` at its next line (an event or the heartbeat): not waited for

    def __init__(self, base: str, token: str) -> None:
        super().__init__(base, token)
        self.products: set[str] = set()
        self.opened = threading.Event()
        self.ended: str | None = None

    def _run(self) -> None:
        try:
            with (
                httpx.Client(timeout=httpx.Timeout(10, read=None)) as client,
                client.stream("GET", f"{self.base}/api/events?types=ProductCreated", headers=self.headers) as response,
            ):
                if response.status_code != 200:
                    self.ended = f"HTTP {response.status_code}"
                    return
                self.opened.set()
                for line in response.iter_lines():
                    if self.stop.is_set():
                        return
                    if line.startswith("data:"):
                        self.products.add(orjson.loads(line[5:])["data"]["product_id"])
            self.ended = "the server ended the stream"
        except httpx.HTTPError as exc:
            self.ended = f"{type(exc).__name__}: {exc}"
