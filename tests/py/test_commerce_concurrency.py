"""Checkouts under real concurrent sessions (a thread pool of psycopg connections as the application role):
200 checkouts race for 50 units of one variant — exactly 50 orders, stock 0 and never negative while they run,
the other 150 refused with INSUFFICIENT_STOCK; stock a started checkout reserved stays its cart's while others
race for the rest; carts taking several variants in opposite orders never deadlock."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from rustok import errors
from rustok.db import Database
from tests.py.graphql_support import Tenant, make_tenant

SESSIONS = 16  # concurrent connections; the machine has 2 cores
CHECKOUTS = 200
UNITS = 50

_PLACE = (
    "with _context as materialized (select rustok.set_context(%s)) "
    "select rustok.place_order(%s, 'racer@example.com') ->> 'displayId' from _context"
)


def _setup(db: Database, tenant: Tenant, statements: Callable[[psycopg.Connection[Any]], Any]) -> Any:
    with psycopg.connect(db.app_url) as conn:
        conn.execute("select rustok.set_context(%s, %s, 'admin')", (tenant.id, tenant.users["admin"]))
        return statements(conn)


def _product(conn: psycopg.Connection[Any], sku: str, units: int) -> Any:
    product = {
        "title": sku,
        "status": "published",
        "variants": [{"sku": sku, "inventoryQuantity": units, "prices": [{"amount": 1000, "currencyCode": "EUR"}]}],
    }
    return conn.execute(
        "select rustok.parse_id(rustok.create_product(%s) -> 'variants' -> 0 ->> 'id')", (Jsonb(product),)
    ).fetchone()[0]


def _cart(conn: psycopg.Connection[Any], lines: list[tuple[Any, int]]) -> Any:
    """A guest cart with these lines: made anonymously in the tenant, as the racers place their orders (a
    customer's cart answers to that customer only)."""
    conn.execute("select rustok.set_context(rustok.current_tenant_id())")
    cart = conn.execute("select rustok.parse_id(rustok.create_cart('{\"currencyCode\": \"EUR\"}') ->> 'id')")
    cart_id = cart.fetchone()[0]
    for variant, quantity in lines:
        conn.execute("select rustok.add_cart_line(%s, %s, %s)", (cart_id, variant, quantity))
    return cart_id


def _race(db: Database, tenant: Tenant, carts: list[Any], watch: list[Any] | None = None) -> dict[Any, str]:
    """Places every cart's order, SESSIONS connections at once, each started together; returns for each cart
    'ok' or the error code. While it runs, a watcher records the lowest stock it sees of the watched variants."""
    results: dict[Any, str] = {}
    queue = list(carts)
    lock = threading.Lock()
    start = threading.Barrier(SESSIONS)
    done = threading.Event()
    lowest: list[int] = []

    def session() -> None:
        with psycopg.connect(db.app_url, autocommit=True) as conn:
            start.wait()
            while True:
                with lock:
                    if not queue:
                        return
                    cart = queue.pop()
                try:
                    conn.execute(_PLACE, (tenant.id, cart)).fetchone()
                    outcome = "ok"
                except psycopg.Error as exc:
                    outcome = errors.from_database_error(exc).code
                with lock:
                    results[cart] = outcome

    def watcher() -> None:
        with psycopg.connect(db.admin_url, autocommit=True) as conn:
            while not done.is_set():
                row = conn.execute(
                    "select min(least(stocked_quantity, stocked_quantity - reserved_quantity)) "
                    "from commerce_inventory_levels where variant_id = any(%s)",
                    (watch or [],),
                ).fetchone()
                if row and row[0] is not None:
                    lowest.append(row[0])
                time.sleep(0.002)

    watching = threading.Thread(target=watcher)
    watching.start()
    try:
        with ThreadPoolExecutor(SESSIONS) as pool:
            for future in [pool.submit(session) for _ in range(SESSIONS)]:
                future.result()
    finally:
        done.set()
        watching.join()
    assert lowest, "the watcher saw the stock while the race ran"
    assert min(lowest) >= 0, f"stock went negative during the race: {min(lowest)}"
    return results


@pytest.fixture(scope="module")
def tenant(db: Database) -> Tenant:
    return make_tenant(db, "race")


@pytest.fixture
def admin(db: Database, tenant: Tenant) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        yield conn


def test_200_checkouts_race_for_50_units(db: Database, tenant: Tenant, admin: psycopg.Connection[Any]) -> None:
    variant = _setup(db, tenant, lambda conn: _product(conn, "RACE", UNITS))
    carts = _setup(db, tenant, lambda conn: [_cart(conn, [(variant, 1)]) for _ in range(CHECKOUTS)])

    results = _race(db, tenant, carts, watch=[variant])

    assert Counter(results.values()) == {"ok": UNITS, "INSUFFICIENT_STOCK": CHECKOUTS - UNITS}
    stock = admin.execute(
        "select sum(stocked_quantity), sum(reserved_quantity) from commerce_inventory_levels where variant_id = %s",
        (variant,),
    ).fetchone()
    assert stock == (0, 0)
    orders = admin.execute(
        "select count(*), count(distinct display_id), min(display_id), max(display_id) from commerce_orders o "
        "where o.tenant_id = %s and exists (select 1 from commerce_order_lines l "
        "                                   where l.order_id = o.id and l.variant_id = %s)",
        (tenant.id, variant),
    ).fetchone()
    assert orders == (UNITS, UNITS, 1, UNITS), "50 orders, numbered 1..50 without a gap or a repeat"
    completed = admin.execute(
        "select count(*) from commerce_carts where id = any(%s) and status = 'completed'", (carts,)
    ).fetchone()
    assert completed == (UNITS,), "the refused carts stay active: nothing half-written"


def test_reserved_stock_stays_with_its_cart_while_others_race(
    db: Database, tenant: Tenant, admin: psycopg.Connection[Any]
) -> None:
    variant = _setup(db, tenant, lambda conn: _product(conn, "HELD", 20))

    def carts(conn: psycopg.Connection[Any]) -> tuple[list[Any], list[Any]]:
        racers = [_cart(conn, [(variant, 1)]) for _ in range(60)]
        holders = [_cart(conn, [(variant, 1)]) for _ in range(8)]
        for cart in holders:
            conn.execute("select rustok.start_checkout(%s)", (cart,))
        return racers, holders

    racers, holders = _setup(db, tenant, carts)
    mixed = racers + holders
    random.shuffle(mixed)
    results = _race(db, tenant, mixed, watch=[variant])

    assert all(results[cart] == "ok" for cart in holders), "every cart that reserved gets its order"
    assert Counter(results[cart] for cart in racers) == {"ok": 12, "INSUFFICIENT_STOCK": 48}
    assert admin.execute(
        "select sum(stocked_quantity), sum(reserved_quantity) from commerce_inventory_levels where variant_id = %s",
        (variant,),
    ).fetchone() == (0, 0)


def test_carts_taking_variants_in_opposite_orders_never_deadlock(
    db: Database, tenant: Tenant, admin: psycopg.Connection[Any]
) -> None:
    def stock(conn: psycopg.Connection[Any]) -> tuple[list[Any], list[Any]]:
        variants = [_product(conn, f"PAIR-{n}", 30) for n in range(3)]
        carts = []
        for n in range(60):
            lines = [(v, 1) for v in variants]
            random.Random(n).shuffle(lines)
            carts.append(_cart(conn, lines))
        return variants, carts

    variants, carts = _setup(db, tenant, stock)
    results = _race(db, tenant, carts, watch=variants)

    assert Counter(results.values()) == {"ok": 30, "INSUFFICIENT_STOCK": 30}, "no CONFLICT (deadlock) among them"
    assert admin.execute(
        "select array_agg(stocked_quantity order by variant_id) from commerce_inventory_levels "
        "where variant_id = any(%s)",
        (variants,),
    ).fetchone() == ([0, 0, 0],)
