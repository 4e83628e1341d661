"""Crash safety: PostgreSQL loses power in the middle of a mixed write load and comes back.

A cluster of its own (fsync on, as in production; the shared test cluster runs without it), migrated, two
tenants. Six client sessions place orders, create and rename products, publish posts and comments, through
the SQL functions the API calls, and keep a ledger of every write whose COMMIT returned. A worker runs the
webhooks handler (a local receiver records every delivery by event id) and a recording handler. Then the
postmaster and every backend are frozen and killed (SIGSTOP, then SIGKILL: no shutdown, no checkpoint, no
goodbye to clients) and the server is started again, which runs crash recovery from the WAL.

Before any client comes back (the server is first started on another port, where nobody looks for it):
every confirmed write is there, nothing is half-written (order totals equal their lines, display ids without
gaps, stock conserved and never negative, reply counters exact), the index verifies clean, and the handlers'
durable positions and the webhooks' recorded successes are read. Then the server returns on its port, the
same worker reconnects by itself, and: every committed event reaches the receiver at least once, no delivery
recorded as succeeded before the crash is sent again, and no event at or before a handler's acknowledged
position is handled again.

Under `rustok serve` (two workers) on an embedded server of its own, a SIGKILL of the postmaster alone: the
API answers UNAVAILABLE meanwhile, serve's supervisor restarts the server (one restart, logged once, counted
in /metrics), the API serves again by itself within a bound, every acknowledged write is there, and an SSE
stream opened before the crash stays open and gets the events written after it. With DATABASE_URL, serve
restarts nothing, even when the URL names a server in the data directory serve would otherwise manage.

What SIGKILL does not show: the operating system keeps its page cache, so a write PostgreSQL had handed to
the kernel but not fsynced survives here and might not survive a real power cut. That part rests on fsync
being on and the disk honouring flushes (docs/deploy.md, Crash safety)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
from psycopg.rows import dict_row

from rustok.api.tokens import TokenIssuer
from rustok.config import REPO_ROOT, Settings
from rustok.db import Database
from rustok.embedded import Cluster, ServerState
from rustok.events.consumer import ConsumerOptions
from rustok.events.outbox import Cursor
from rustok.events.reconnect import Reconnect
from rustok.events.worker import Worker
from rustok.ids import parse_id
from rustok.migrate import migrate
from rustok.modules import installed_registry
from rustok.supervisor import read_state
from rustok.webhooks.delivery import DeliveryPolicy
from rustok.webhooks.handler import WebhooksHandler
from tests.py.crash_support import (
    STOCK,
    ApiWriter,
    Ledger,
    Load,
    LoadTenant,
    RecordingHandler,
    Serve,
    Session,
    SseReader,
    create_product,
)
from tests.py.realtime_support import free_port, make_tenant
from tests.py.test_metrics import parse, value
from tests.py.webhooks_support import ALLOW_PRIVATE, Receiver

APP_PASSWORD = "crash-test-app-password"
WEBHOOK_TYPES = ["OrderPlaced", "ProductCreated", "ProductUpdated", "NodeCreated", "CommentAdded"]
LOAD_BEFORE_CRASH = 250  # confirmed writes before the power goes
JWT_SECRET = "crash-test-jwt-secret-0123456789abcdef"
BACK_WITHIN = 30.0  # seconds from the SIGKILL until the API serves again (about 2-3 s here)


@dataclass(frozen=True)
class _ShortLease(DeliveryPolicy):
    """A claim held by an attempt that died with the database runs out in seconds instead of a minute."""

    @property
    def lease_seconds(self) -> int:
        return 3


@pytest.fixture
def base() -> Iterator[Path]:
    # under the checkout's .tmp like the replica test: concurrent pytest runs prune their numbered /tmp dirs
    (REPO_ROOT / ".tmp").mkdir(exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="crash-", dir=REPO_ROOT / ".tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def server(base: Path) -> Iterator[Cluster]:
    cluster = Cluster(base / "pg", port=free_port())  # fsync, full-page writes, synchronous commit: on
    try:
        cluster.ensure_running()
        yield cluster
    finally:
        cluster.stop(mode="immediate")  # whichever port it was last started on


def _database(cluster: Cluster) -> Database:
    return Database(
        admin_url=cluster.superuser_url("rustok"),
        app_url=cluster.role_url("rustok_app", APP_PASSWORD, "rustok"),
        app_password=APP_PASSWORD,
        cluster=cluster,
    )


def power_loss(cluster: Cluster) -> None:
    """Every process of the server dies at one instant, as in a power cut from PostgreSQL's point of view.

    Not `kill -9` to the postmaster's process group: each backend calls setsid() when it starts, so the group
    is the postmaster alone, and backends that outlive it notice its death and exit on their own (a commit in
    flight may still finish and answer). So: SIGSTOP the postmaster (it can fork no more), SIGSTOP each of its
    children (nothing runs on from here), then SIGKILL them all."""
    postmaster = _postmaster(cluster)
    os.kill(postmaster, signal.SIGSTOP)
    server = [postmaster, *_children(postmaster)]
    for pid in server[1:]:
        os.kill(pid, signal.SIGSTOP)
    for pid in server:
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in server):
        assert time.monotonic() < deadline, "the server's processes did not die"
        time.sleep(0.01)


def _postmaster(cluster: Cluster) -> int:
    return int((cluster.data_dir / "postmaster.pid").read_text().split()[0])


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # gone meanwhile
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    """Not yet reaped: a zombie still holds its pid, and the next postmaster refuses to start while the pid
    in postmaster.pid exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _tenant(db: Database, slug: str) -> LoadTenant:
    with psycopg.connect(db.admin_url) as conn:
        row = conn.execute("select rustok.create_tenant(%s, %s, %s, 'hash')", (slug, slug, f"a@{slug}.test"))
        made = row.fetchone()
    assert made is not None
    return LoadTenant(parse_id(made[0]["id"]), parse_id(made[0]["adminUserId"]), slug)


def _webhook(db: Database, tenant: LoadTenant, url: str) -> None:
    with psycopg.connect(db.app_url, options=ALLOW_PRIVATE) as conn:
        conn.execute("select rustok.set_context(%s, %s, 'admin')", (tenant.id, tenant.admin_id))
        conn.execute("select rustok.create_webhook(%s, %s, 'crash test')", (url, WEBHOOK_TYPES))


class WorkerThread:
    """`rustok worker`'s Worker on its own event loop in a thread, so the test can look at its handler."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.loop = asyncio.new_event_loop()
        self.stop_event = asyncio.Event()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._run(),), daemon=True)
        self.error: BaseException | None = None

    async def _run(self) -> None:
        try:
            await self.worker.run(self.stop_event)
        except BaseException as exc:
            self.error = exc

    def __enter__(self) -> WorkerThread:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "the worker did not stop"
        self.loop.close()
        assert self.error is None, self.error


def _wait_for(what: str, condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.slow
def test_committed_writes_and_acknowledged_events_survive_sigkill(server: Cluster) -> None:
    db = _database(server)
    migrate(db, installed_registry())
    tenants = [_tenant(db, "crash-a"), _tenant(db, "crash-b")]
    ledger = Ledger()
    recorder = RecordingHandler()
    with Receiver() as receiver:
        for tenant in tenants:
            _webhook(db, tenant, receiver.plan(f"/{tenant.slug}"))
        catalogue = {}
        for n, tenant in enumerate(tenants):
            session = Session(db.app_url, tenant, ledger, seed=n)
            catalogue[tenant] = [v for i in range(6) for v in create_product(session, f"{tenant.slug}-base-{i}")[1]]
            session.close()
        worker = Worker(
            db.app_url,
            Settings(webhooks_allow_private=True),
            [WebhooksHandler(policy=_ShortLease(timeout=2, connect_timeout=1), poll_interval=0.2), recorder],
            ConsumerOptions(batch_size=100, poll_interval=0.2, ack_interval=1.0, reconnect=Reconnect(0.2, 0.4)),
        )
        with WorkerThread(worker):
            with Load(db.app_url, catalogue, ledger) as load:
                _wait_for("the load", lambda: ledger.confirmed() >= LOAD_BEFORE_CRASH or load.errors, timeout=30)
                _wait_for("a few deliveries", lambda: len(receiver.requests) >= 20 or load.errors, timeout=15)
                power_loss(server)
                crashed_at = time.monotonic()
            assert load.errors == [], load.errors

            # crash recovery, with nobody connected: the server on a port no client knows
            aside = Cluster(server.data_dir, port=free_port())
            aside.start()
            with psycopg.connect(aside.superuser_url("rustok"), row_factory=dict_row) as conn:
                _check_committed_writes(conn, ledger)
                _check_nothing_half_written(conn, tenants)
                assert conn.execute("select * from rustok.index_verify()").fetchall() == []
                durable = _durable_progress(conn, recorder.name)
            aside.stop(mode="fast")

            server.start()  # back on its port: the worker reconnects by itself
            expected = durable.expected_deliveries
            _wait_for(
                "every committed event at the receiver",
                lambda: expected <= _received_event_ids(receiver),
                timeout=30,
            )
            _wait_for(
                "the recorder to reach the head of the outbox",
                lambda: durable.events <= {h.event_id for h in recorder.snapshot()},
                timeout=30,
            )

    # webhooks: nothing lost, nothing recorded as delivered sent again
    after_crash = [r for r in receiver.requests if r.at > crashed_at]
    resent = {_event_id(r) for r in after_crash} & durable.succeeded
    assert resent == set(), f"{len(resent)} deliveries recorded as succeeded before the crash were sent again"
    assert receiver.requests and all(r.headers["idempotency-key"] for r in receiver.requests)

    # the recording handler: every event at most once up to its acknowledged position, all of them in the end
    handled = recorder.snapshot()
    before = [h for h in handled if h.at <= crashed_at]
    again = [h for h in handled if h.at > crashed_at and h.cursor <= durable.recorder_position]
    assert again == [], "events at or before the acknowledged position were handled again"
    acknowledged = {e for e, cursor in durable.event_cursors.items() if cursor <= durable.recorder_position}
    assert acknowledged <= {h.event_id for h in before}, "the position moved past events never handled"
    counts = Counter(h.event_id for h in handled)
    replayed = {e for e, n in counts.items() if n > 1}
    assert all(durable.event_cursors[e] > durable.recorder_position for e in replayed)
    twice = [e for e, n in Counter(_event_id(r) for r in receiver.requests).items() if n > 1]
    print(
        f"\ncrash: {ledger.confirmed()} confirmed writes, {ledger.in_doubt} in doubt, {ledger.refused} refused; "
        f"{len(durable.events)} events; receiver got {len(receiver.requests)} requests "
        f"({len(after_crash)} after the crash, {len(twice)} events twice: sent, success not recorded); "
        f"recorder replayed {len(replayed)} unacknowledged events"
    )


@pytest.mark.slow
def test_serve_restarts_its_embedded_server_after_sigkill(base: Path) -> None:
    home, pg_port = base / "home", free_port()
    cluster = Cluster(home / "pgdata", port=pg_port)  # what serve makes of this home: fsync on
    serve = Serve(
        home, free_port(), {"RUSTOK_PG_PORT": str(pg_port), "RUSTOK_JWT_SECRET": JWT_SECRET}, "--workers", "2"
    )
    try:
        serve.wait_ready(120)  # initdb and migrate first
        password = (home / "secrets" / "app_password").read_text().strip()
        db = Database(cluster.superuser_url("rustok"), cluster.role_url("rustok_app", password, "rustok"), password)
        token = make_tenant(db, "supervised").token(TokenIssuer(JWT_SECRET, 900), "admin")
        with SseReader(serve.base, token) as stream, ApiWriter(serve.base, token) as writer:
            _wait_for("the stream and some writes", lambda: stream.opened.is_set() and len(writer.acked) >= 20, 30)
            os.kill(_postmaster(cluster), signal.SIGKILL)  # the postmaster alone, as the OOM killer does
            killed_at = time.monotonic()
            # (a call already in its backend may still finish: a backend outlives its postmaster a moment)
            _wait_for("UNAVAILABLE", lambda: [t for t in writer.unavailable if t > killed_at], 10)
            down_at = next(t for t in writer.unavailable if t > killed_at)
            _wait_for("serving again", lambda: writer.acked_after(down_at), BACK_WITHIN)
            back_at = writer.acked_after(down_at)[0][0]
            _wait_for("writes after the restart", lambda: len(writer.acked_after(back_at)) >= 20, 30)
            later = {product for _, product in writer.acked_after(back_at)[:5]}
            _wait_for("live events written after the restart", lambda: later <= stream.products, 30)
            metrics = serve.metrics()
        assert writer.unexpected == [], writer.unexpected[:5]
        assert stream.ended is None, f"the event stream ended: {stream.ended}"
        during = [t for t in writer.unavailable if killed_at < t < back_at]
        scraped = parse(metrics)[0]
        assert value(scraped, "rustok_embedded_restarts_total") == value(scraped, "rustok_embedded_up") == 1, metrics
        with psycopg.connect(db.admin_url) as conn:
            stored = {r[0] for r in conn.execute("select id from commerce_products")}
        acked = {parse_id(product) for _, product in writer.acked}
        assert acked <= stored, f"{len(acked - stored)} acknowledged products lost"

        # a quiet crash: nobody calls while the server is down, so the workers' pools still hold connections
        # to the dead server when it is back; the first calls after the restart must not fail on them
        os.kill(_postmaster(cluster), signal.SIGKILL)
        _wait_for("the second restart", lambda: _restarts(home) == 2, BACK_WITHIN)
        assert [serve.ready() for _ in range(20)] == [200] * 20
    finally:
        records = serve.stop()
        cluster.stop(mode="immediate")
    supervisor = [r for r in records if r["logger"] == "rustok.supervisor"]
    crashes = [r for r in supervisor if "died without shutting down" in r["message"]]
    restarts = [r for r in supervisor if "restarted after a crash" in r["message"]]
    assert [r["restarts"] for r in restarts] == [1, 2] and len(crashes) == 2, supervisor  # one supervisor, not two
    print(
        f"\nsupervised: API back {back_at - killed_at:.2f} s after the SIGKILL; {len(during)} UNAVAILABLE answers "
        f"meanwhile; {len(acked)} acknowledged products, all there; {len(stream.products)} ProductCreated events "
        f"on one SSE stream; logged: {restarts[0]['message']!r}, then {restarts[1]['message']!r}"
    )


def _restarts(home: Path) -> int | None:
    """Restarts so far, as serve's supervisor publishes them, once the server is up again."""
    state = read_state(home)
    return state.restarts if state is not None and state.up else None


@pytest.mark.slow
def test_serve_never_restarts_a_server_named_by_database_url(base: Path) -> None:
    # the server lives where serve's own embedded server would (RUSTOK_HOME/pgdata, RUSTOK_PG_PORT): a
    # supervisor that looked at the home instead of at DATABASE_URL would restart it
    home = base / "home"
    cluster = Cluster(home / "pgdata", port=free_port(), fast_unsafe=True)
    cluster.ensure_running()
    db = _database(cluster)
    migrate(db, installed_registry())
    env = {"DATABASE_URL": db.admin_url, "RUSTOK_APP_PASSWORD": APP_PASSWORD, "RUSTOK_PG_PORT": str(cluster.port)}
    serve = Serve(home, free_port(), env, "--no-migrate")
    try:
        serve.wait_ready(60)
        os.kill(_postmaster(cluster), signal.SIGKILL)
        _wait_for("the API to notice", lambda: serve.ready() == 503, 10)
        time.sleep(5)  # a supervisor looks every second and restarts in about two
        assert cluster.state() is ServerState.CRASHED, "serve restarted a server it does not manage"
        assert "rustok_embedded" not in serve.metrics()
        cluster.ensure_running()  # its operator's business
        _wait_for("the API to serve again by itself", lambda: serve.ready() == 200, 30)
    finally:
        records = serve.stop()
        cluster.stop(mode="immediate")
    assert [r for r in records if r["logger"] == "rustok.supervisor"] == []


def _check_committed_writes(conn: psycopg.Connection[Any], ledger: Ledger) -> None:
    """Every write the clients saw committed is there, with what they were told."""
    products = {
        r["id"]: r
        for r in conn.execute(
            "select p.id, p.title, array_agg(v.id order by v.id) as variants from commerce_products p "
            "join commerce_variants v on v.tenant_id = p.tenant_id and v.product_id = p.id group by p.id, p.title"
        )
    }
    for product, variants in ledger.products.items():
        assert product in products, f"confirmed product {product} lost"
        assert products[product]["variants"] == sorted(variants)
        confirmed, sent = ledger.titles[product]
        match = re.search(r"v(\d+)$", products[product]["title"])
        assert match and confirmed <= int(match.group(1)) <= sent, (products[product]["title"], confirmed, sent)
    orders = {
        r["id"]: (r["display_id"], r["total"])
        for r in conn.execute("select id, display_id, total from commerce_orders")
    }
    for order, seen in ledger.orders.items():
        assert orders.get(order) == seen, f"confirmed order {order} lost or changed"
    nodes = {r["id"]: r["kind"] for r in conn.execute("select id, kind from nodes")}
    assert all(nodes.get(post) == "post" for post in ledger.posts), "a confirmed post was lost"
    assert all(nodes.get(c) == "comment" for c in ledger.comments), "a confirmed comment was lost"
    placed = {
        parse_id(r["order_id"])
        for r in conn.execute("select data ->> 'order_id' as order_id from event_outbox where type = 'OrderPlaced'")
    }
    assert set(ledger.orders) <= placed, "a confirmed order has no OrderPlaced event"
    assert len(ledger.orders) > 20 and len(ledger.products) > 5 and len(ledger.comments) > 5, "the load was mixed"


def _check_nothing_half_written(conn: psycopg.Connection[Any], tenants: list[LoadTenant]) -> None:
    """Invariants that a torn transaction would break."""
    torn_orders = conn.execute(
        "select o.id from commerce_orders o left join commerce_order_lines l "
        "  on l.tenant_id = o.tenant_id and l.order_id = o.id and l.created_at = o.created_at "
        "group by o.id, o.subtotal having o.subtotal <> coalesce(sum(l.subtotal), -1)"
    ).fetchall()
    assert torn_orders == [], "an order whose subtotal is not the sum of its lines"
    for tenant in tenants:
        row = conn.execute(
            "select count(*) as n, count(distinct display_id) as d, max(display_id) as top, "
            "       (select last_display_id from commerce_order_counters c where c.tenant_id = %s) as counter "
            "from commerce_orders where tenant_id = %s",
            (tenant.id, tenant.id),
        ).fetchone()
        assert row is not None and row["n"] == row["d"] == row["top"] == row["counter"], row
    stock = conn.execute(
        "select v.id, coalesce(sum(i.stocked_quantity), 0) as stocked, coalesce(sum(i.reserved_quantity), 0) as held,"
        "       (select coalesce(sum(l.quantity), 0) from commerce_order_lines l"
        "        where l.tenant_id = v.tenant_id and l.variant_id = v.id) as sold "
        "from commerce_variants v left join commerce_inventory_levels i "
        "  on i.tenant_id = v.tenant_id and i.variant_id = v.id group by v.tenant_id, v.id"
    ).fetchall()
    assert stock and all(r["stocked"] >= 0 and r["held"] == 0 for r in stock), "negative or stuck stock"
    assert [r for r in stock if r["stocked"] + r["sold"] != STOCK] == [], "units sold and in stock do not add up"
    wrong_counts = conn.execute(
        "select n.id from nodes n where n.reply_count <> (select count(*) from nodes c where c.tenant_id = "
        "n.tenant_id and c.parent_id = n.id and c.kind = 'comment' and c.moderation = 'approved')"
    ).fetchall()
    assert wrong_counts == [], "reply_count differs from the approved replies"


@dataclass(frozen=True)
class DurableProgress:
    """What the restarted database says was done before the crash."""

    events: set[uuid.UUID]  # every event in the outbox
    event_cursors: dict[uuid.UUID, Cursor]
    expected_deliveries: set[uuid.UUID]  # events a webhook must receive
    succeeded: set[uuid.UUID]  # events whose delivery is recorded as succeeded
    recorder_position: Cursor


def _durable_progress(conn: psycopg.Connection[Any], recorder: str) -> DurableProgress:
    outbox = conn.execute(
        "select e.id, c.seq as commit_seq, e.position from event_outbox e join event_commits c on c.txid = e.txid"
    ).fetchall()
    expected = conn.execute(
        "select e.id from event_outbox e join webhooks w on w.tenant_id = e.tenant_id "
        "and w.created_at <= e.occurred_at and e.type = any (w.event_types)"
    ).fetchall()
    succeeded = conn.execute("select event_id from webhook_deliveries where status = 'succeeded'").fetchall()
    position = conn.execute(
        "select last_commit_seq as commit_seq, last_position as position from event_consumers where name = %s",
        (recorder,),
    ).fetchone()
    assert position is not None, "the recorder acknowledged nothing before the crash"
    return DurableProgress(
        events={r["id"] for r in outbox},
        event_cursors={r["id"]: Cursor.from_row(r) for r in outbox},
        expected_deliveries={r["id"] for r in expected},
        succeeded={r["event_id"] for r in succeeded},
        recorder_position=Cursor.from_row(position),
    )


def _event_id(request: Any) -> uuid.UUID:
    return parse_id(orjson.loads(request.body)["id"])


def _received_event_ids(receiver: Receiver) -> set[uuid.UUID]:
    with receiver.lock:
        return {_event_id(r) for r in receiver.requests}
