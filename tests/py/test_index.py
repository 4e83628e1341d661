"""The index module through real sessions: a randomized workload of concurrent writes across content and
commerce leaves index_verify empty; `rustok reindex` rebuilds with a progress bar; `rustok indexer` drains
the durable queue (realtimeSync off) with several workers; ReindexRequested is handled by `rustok worker`."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from rustok.cli import main
from rustok.config import Settings
from rustok.db import Database
from rustok.events.worker import Worker, select_handlers
from rustok.modules import installed_registry
from rustok.platform import available_handlers
from tests.py.graphql_support import Tenant, make_tenant

SESSIONS = 8
WRITES = 2400  # per run, spread over the sessions and both tenants


@pytest.fixture(scope="module")
def tenants(db: Database) -> list[Tenant]:
    return [make_tenant(db, "north"), make_tenant(db, "south")]


def _verify(db: Database) -> list[Any]:
    with psycopg.connect(db.admin_url) as conn:
        return conn.execute("select * from rustok.index_verify()").fetchall()


def _counts(db: Database) -> tuple[int, int]:
    with psycopg.connect(db.admin_url) as conn:
        row = conn.execute("select (select count(*) from index_products), (select count(*) from index_content)")
        products, content = row.fetchone() or (0, 0)
        return int(products), int(content)


class Workload:
    """Random writes of one session as a tenant's admin: functions and plain SQL alike."""

    def __init__(self, conn: psycopg.Connection[Any], tenant: Tenant, rng: random.Random) -> None:
        self.conn, self.tenant, self.rng = conn, tenant, rng
        self.ops: list[Callable[[], Any]] = [
            self.create_product,
            self.create_product,
            self.product_status,
            self.product_title,
            self.set_price,
            self.stock,
            self.delete_variant,
            self.product_category,
            self.rename_product_category,
            self.product_tag,
            self.delete_product,
            self.create_node,
            self.create_node,
            self.node_status,
            self.node_title,
            self.body,
            self.node_tag,
            self.rename_tag,
            self.rename_category,
            self.display_name,
            self.delete_node,
            self.node_category,
            self.bulk_transaction,
        ]

    def q(self, sql: Any, params: Any = ()) -> Any:
        return self.conn.execute(sql, params)

    def one(self, sql: Any, params: Any = ()) -> Any:
        row = self.q(sql, params).fetchone()
        return row[0] if row else None

    def run(self) -> str:
        op = self.rng.choice(self.ops)
        with self.conn.transaction():
            self.q("select rustok.set_context(%s, %s, 'admin')", (self.tenant.id, self.tenant.users["admin"]))
            op()
        return op.__name__

    def create_product(self) -> None:
        n = self.rng.randint(1, 4)
        self.q(
            "select rustok.create_product(%s)",
            (
                Jsonb(
                    {
                        "title": self.rng.choice(["Mug", "Café cup", "Lamp", "Chair"])
                        + f" {self.rng.randint(1, 10**6)}",
                        "status": self.rng.choice(["draft", "published", "published"]),
                        "description": "random product",
                        "variants": [
                            {
                                "title": f"v{i}",
                                "prices": [
                                    {"currencyCode": c, "amount": self.rng.randint(100, 9999)}
                                    for c in self.rng.sample(["EUR", "USD", "GBP"], self.rng.randint(1, 2))
                                ],
                            }
                            for i in range(n)
                        ],
                    }
                ),
            ),
        )

    def product(self) -> Any:
        return self.one("select id from commerce_products order by random() limit 1")

    def variant(self) -> Any:
        return self.one("select id from commerce_variants order by random() limit 1")

    def node(self) -> Any:
        return self.one("select id from nodes where kind <> 'comment' order by random() limit 1")

    def product_status(self) -> None:
        self.q(
            "update commerce_products set status = %s where id = %s",
            (self.rng.choice(["draft", "published", "archived"]), self.product()),
        )

    def product_title(self) -> None:
        self.q(
            "update commerce_products set title = 'Retitled ' || %s::text where id = %s",
            (self.rng.randint(1, 999), self.product()),
        )

    def set_price(self) -> None:
        variant = self.variant()
        if variant:
            self.q(
                "select rustok.set_price(%s)",
                (
                    Jsonb(
                        {
                            "variantId": str(variant),
                            "currencyCode": self.rng.choice(["EUR", "USD"]),
                            "amount": self.rng.choice([None, self.rng.randint(1, 5000)]),
                        }
                    ),
                ),
            )

    def stock(self) -> None:
        variant = self.variant()
        if variant:
            self.q(
                "select rustok.adjust_inventory(%s)",
                (Jsonb({"variantId": str(variant), "delta": self.rng.randint(1, 20)}),),
            )

    def delete_variant(self) -> None:
        self.q("delete from commerce_variants where id = %s", (self.variant(),))

    def product_category(self) -> None:
        category = self.one("select id from commerce_categories order by random() limit 1")
        product = self.product()
        if category and product:
            self.q(
                "insert into commerce_product_categories (tenant_id, product_id, category_id)"
                " values (%s, %s, %s) on conflict do nothing",
                (self.tenant.id, product, category),
            )

    def rename_product_category(self) -> None:
        self.q(
            "update commerce_categories set name = 'Cat ' || %s::text where id ="
            " (select id from commerce_categories order by random() limit 1)",
            (self.rng.randint(1, 999),),
        )

    def product_tag(self) -> None:
        product = self.product()
        if product:
            self.q(
                "insert into commerce_product_tags (tenant_id, product_id, value) values (%s, %s, %s)"
                " on conflict do nothing",
                (self.tenant.id, product, self.rng.choice(["red", "blue", "sale"])),
            )

    def delete_product(self) -> None:
        if self.rng.random() < 0.5:
            self.q("delete from commerce_products where id = %s", (self.product(),))

    def create_node(self) -> None:
        self.q(
            "select rustok.create_node(%s)",
            (
                Jsonb(
                    {
                        "kind": self.rng.choice(["post", "page"]),
                        "title": f"Node {self.rng.randint(1, 10**6)}",
                        "body": "body " + str(self.rng.random()),
                        "status": self.rng.choice(["draft", "published"]),
                        "tags": self.rng.sample(["news", "Launch", "Tips"], self.rng.randint(0, 2)),
                    }
                ),
            ),
        )

    def node_status(self) -> None:
        node = self.node()
        if node:
            fn = self.rng.choice(["rustok.publish_node(%s)", "rustok.unpublish_node(%s)"])
            self.q("select " + fn, (node,))

    def node_title(self) -> None:
        self.q("update nodes set title = 'Title ' || %s::text where id = %s", (self.rng.randint(1, 999), self.node()))

    def body(self) -> None:
        self.q(
            "update bodies set body = 'changed ' || %s::text where node_id = %s",
            (self.rng.randint(1, 999), self.node()),
        )

    def node_tag(self) -> None:
        node, tag = self.node(), self.one("select id from tags order by random() limit 1")
        if node and tag:
            self.q(
                "insert into node_tags (tenant_id, node_id, tag_id) values (%s, %s, %s) on conflict do nothing",
                (self.tenant.id, node, tag),
            )

    def rename_tag(self) -> None:
        self.q(
            "update tags set name = 'Tag ' || %s::text where id = (select id from tags order by random() limit 1)",
            (self.rng.randint(1, 999),),
        )

    def rename_category(self) -> None:
        self.q(
            "update categories set name = 'Section ' || %s::text"
            " where id = (select id from categories order by random() limit 1)",
            (self.rng.randint(1, 999),),
        )

    def node_category(self) -> None:
        category = self.one("select id from categories order by random() limit 1")
        self.q("update nodes set category_id = %s where id = %s", (category, self.node()))

    def display_name(self) -> None:
        self.q(
            "update users set display_name = 'Author ' || %s::text where id = %s",
            (self.rng.randint(1, 999), self.tenant.users["admin"]),
        )

    def delete_node(self) -> None:
        if self.rng.random() < 0.5:
            self.q("select rustok.delete_node(%s)", (self.node(),))

    def bulk_transaction(self) -> None:
        for _ in range(5):
            self.rng.choice([self.set_price, self.stock, self.product_title, self.body])()


def test_random_concurrent_writes_leave_the_index_exact(db: Database, tenants: list[Tenant]) -> None:
    with psycopg.connect(db.admin_url) as conn:
        for tenant in tenants:
            conn.execute("select rustok.set_context(%s)", (tenant.id,))
            for i in range(3):
                conn.execute("select rustok.create_category(%s)", (Jsonb({"name": f"Section {i}"}),))
                conn.execute("select rustok.create_product_category(%s)", (Jsonb({"name": f"Shelf {i}"}),))
    done: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    lock = threading.Lock()

    def session(index: int) -> None:
        rng = random.Random(index)
        tenant = tenants[index % len(tenants)]
        with psycopg.connect(db.app_url, autocommit=True) as conn:
            work = Workload(conn, tenant, rng)
            for _ in range(WRITES // SESSIONS):
                try:
                    name = work.run()
                    with lock:
                        done[name] += 1
                except psycopg.Error as exc:  # a write that lost a race (deadlock, gone row): allowed
                    with lock:
                        failed[f"{type(exc).__name__}: {str(exc).splitlines()[0][:60]}"] += 1

    started = time.monotonic()
    with ThreadPoolExecutor(SESSIONS) as pool:
        list(pool.map(session, range(SESSIONS)))
    elapsed = time.monotonic() - started
    print(f"{sum(done.values())} writes ok, {sum(failed.values())} refused {dict(failed)} in {elapsed:.1f}s")
    assert sum(done.values()) >= WRITES * 0.8
    products, content = _counts(db)
    assert products > 20 and content > 20
    assert _verify(db) == []


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _damage(db: Database, tenant: Tenant) -> None:
    """Missing, stale and extra rows, written straight into the index (no upkeep fires for index tables; the
    superuser bypasses row-level security, hence the explicit tenant)."""
    with psycopg.connect(db.admin_url) as conn:
        conn.execute(
            "delete from index_products where product_id in"
            " (select product_id from index_products where tenant_id = %s limit 3)",
            (tenant.id,),
        )
        conn.execute(
            "update index_content set title = 'wrong' where node_id in"
            " (select node_id from index_content where tenant_id = %s limit 2)",
            (tenant.id,),
        )
        conn.execute(
            "insert into index_products (tenant_id, product_id, title, handle, status, search_vector,"
            " created_at) values (%s, rustok.gen_id(), 'ghost', 'ghost', 'published', '', now())",
            (tenant.id,),
        )
    problems = Counter(r[3] for r in _verify(db))
    assert problems == {"missing": 3, "stale": 2, "extra": 1}


def test_reindex_rebuilds_with_progress(
    env: Database, tenants: list[Tenant], capsys: pytest.CaptureFixture[str]
) -> None:
    _damage(env, tenants[0])
    code, out, err = run(capsys, "reindex", "--tenant", "north", "--target", "products", "--batch-size", "7")
    assert code == 0
    assert "north: products:" in out and "1 pruned" in out
    assert "reindex: started, " in err and "north products" in err and "reindex: done, " in err
    left = _verify(env)
    assert {r[1] for r in left} == {"index_content"}, f"only products were rebuilt: {left}"
    code, out, err = run(capsys, "reindex")
    assert code == 0 and "south: content:" in out
    assert _verify(env) == []


def test_indexer_drains_the_queue_with_workers(
    env: Database, tenants: list[Tenant], capsys: pytest.CaptureFixture[str]
) -> None:
    with psycopg.connect(env.admin_url) as conn:
        conn.execute("insert into platform_settings (key, value) values ('index', '{\"realtimeSync\": false}')")
    try:
        with psycopg.connect(env.app_url) as conn:
            for tenant in tenants:
                with conn.transaction():
                    conn.execute("select rustok.set_context(%s, %s, 'admin')", (tenant.id, tenant.users["admin"]))
                    conn.execute("update commerce_products set title = title || ' (queued)'")
                    conn.execute("update nodes set title = title || ' (queued)' where kind <> 'comment'")
        with psycopg.connect(env.admin_url) as conn:
            queued = conn.execute("select count(*) from index_queue").fetchone()
        assert queued and queued[0] > 40
        assert len(_verify(env)) > 40, "with realtime sync off the rows wait"
        code, out, _ = run(capsys, "indexer", "--once", "--workers", "2", "--batch-size", "10")
        assert code == 0 and f"{queued[0]} queued change(s) applied by 2 worker(s), batch size 10" in out
        assert _verify(env) == []
    finally:
        with psycopg.connect(env.admin_url) as conn:
            conn.execute("delete from platform_settings where key = 'index'")


def test_indexer_waits_out_a_lost_database_and_drains_after(env: Database, tenants: list[Tenant]) -> None:
    """A restart or failover under `rustok indexer` costs a warning and a pause, not a dead worker thread."""
    from rustok.db import connect
    from rustok.modules.index.indexer import Indexer

    with psycopg.connect(env.admin_url) as conn:
        conn.execute("insert into platform_settings (key, value) values ('index', '{\"realtimeSync\": false}')")
    outages = 2

    def flaky_connect() -> psycopg.Connection[dict[str, Any]]:
        nonlocal outages
        if outages:
            outages -= 1
            raise psycopg.OperationalError("the database system is shutting down")
        return connect(env.admin_url)

    try:
        with psycopg.connect(env.app_url) as conn, conn.transaction():
            conn.execute("select rustok.set_context(%s, %s, 'admin')", (tenants[0].id, tenants[0].users["admin"]))
            conn.execute("update commerce_products set title = title || ' (after outage)'")
        assert _verify(env), "with realtime sync off the rows wait"
        with pytest.raises(psycopg.OperationalError):  # --once is for scripts: an outage is its error
            Indexer(flaky_connect, batch_size=5, once=True).run()
        indexer = Indexer(flaky_connect, batch_size=5, poll=0.05)
        thread = threading.Thread(target=indexer.run)
        thread.start()
        deadline = time.monotonic() + 20
        while _verify(env) and time.monotonic() < deadline:
            time.sleep(0.1)
        indexer.stop.set()
        thread.join(10)
        assert not thread.is_alive()
        assert outages == 0 and indexer.applied > 0
        assert _verify(env) == []
    finally:
        with psycopg.connect(env.admin_url) as conn:
            conn.execute("delete from platform_settings where key = 'index'")


def test_reindex_requested_is_handled_by_the_worker(db: Database, tenants: list[Tenant]) -> None:
    tenant = tenants[1]
    with psycopg.connect(db.admin_url) as conn:
        conn.execute("select rustok.set_context(%s)", (tenant.id,))
        conn.execute("""select rustok.create_node('{"kind": "page", "title": "About", "status": "published"}')""")
        conn.execute("delete from index_content where tenant_id = %s", (tenant.id,))
    assert len(_verify(db)) > 0
    with psycopg.connect(db.app_url, autocommit=True) as conn:
        with conn.transaction():
            conn.execute("select rustok.set_context(%s, %s, 'admin')", (tenant.id, tenant.users["admin"]))
            conn.execute("select rustok.request_reindex('content')")
        with pytest.raises(psycopg.Error, match=r"index\.manage|permission|FORBIDDEN"), conn.transaction():
            conn.execute("select rustok.set_context(%s, %s, 'customer')", (tenant.id, tenant.users["customer"]))
            conn.execute("select rustok.request_reindex('content')")
    handlers = select_handlers(available_handlers(installed_registry()), ["index-reindex"])
    asyncio.run(Worker(db.app_url, Settings(), handlers).run(once=True))
    with psycopg.connect(db.admin_url) as conn:
        failures = conn.execute("select * from event_handler_failures").fetchall()
    assert _verify(db) == [], failures


def test_maintain_starts_a_scheduled_reindex(
    env: Database, tenants: list[Tenant], capsys: pytest.CaptureFixture[str]
) -> None:
    """A global reindexSchedule due now: `rustok maintain` requests the rebuild of every tenant with the module
    (ReindexRequested) and `rustok worker`'s index-reindex handler carries it out."""
    _damage(env, tenants[0])
    with psycopg.connect(env.admin_url) as conn:
        conn.execute(
            "insert into platform_settings (key, value) values ('index', %s)",
            (Jsonb({"reindexSchedule": "* * * * *"}),),
        )
    try:
        code, out, _ = run(capsys, "maintain")
        assert code == 0 and f"index: rustok.index_reindex_scheduled(): {len(tenants)} row(s)" in out, out
        handlers = select_handlers(available_handlers(installed_registry()), ["index-reindex"])
        asyncio.run(Worker(env.app_url, Settings(), handlers).run(once=True))
        assert _verify(env) == []
    finally:
        with psycopg.connect(env.admin_url) as conn:
            conn.execute("delete from platform_settings where key = 'index'")
