#!/usr/bin/env python3
"""Commerce benchmark: createProduct (3 variants x 2 currencies) and placeOrder throughput through the SQL
functions, from one session and from several.

    .venv/bin/python bench/commerce_bench.py              # about a minute on a quiet 2-core machine
    .venv/bin/python bench/commerce_bench.py --help

What it does, in order (each step is announced on stderr, long ones with progress lines):

1. Starts (or reuses) the embedded PostgreSQL under --home (default .tmp/bench-commerce, socket name 5497) and
   migrates it with the commerce module (RUSTOK_MODULES=commerce unless set).
2. Sets up, as the superuser: tenant `commerce-bench` with its admin (rustok.create_tenant), a region (EUR,
   20% tax) with a shipping option, and a 10% discount code without a usage limit. A later run reuses them.
3. createProduct: --products calls of `rustok.create_product` per configuration, each a published product with
   an option (Size: S, M, L), 3 variants with an EUR and a USD price each (6 prices), initial stock, a tag -
   from 1 session and from --sessions sessions, as the admin, one transaction per call, with the request
   context set the way the API sets it (one statement:
   `with _context as materialized (select rustok.set_context(...)) select rustok.f(...) from _context`).
4. placeOrder: for each configuration, --orders guest carts are made first (not timed: rustok.create_cart
   with two lines of random variants, the region, the shipping option, the discount code), then
   `rustok.place_order` is timed for each cart, shipping to Germany (the address set on the cart, which the
   region's orders need; stock taken under row locks, the discount counted, the tenant's order number, the
   snapshot lines, OrderPlaced). Two workloads: "spread" (carts over all the
   variants made in step 3) and "hot" (every cart buys one unit of the same variant: every order waits for
   the one inventory row, the worst case for the locking).
5. Prints a table (calls, seconds, calls/s, p50 and p99 per call) and writes it as JSON under --home.
6. Stops the embedded database when this run started it.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import _harness  # first: the project's virtualenv, its database
import psycopg
from psycopg.types.json import Jsonb

from rustok.db import Database

TENANT = "commerce-bench"
ADMIN_EMAIL = "admin@commerce-bench.test"
STOCK = 1_000_000  # per variant: the benchmark never runs out
CONTEXT = "with _context as materialized (select rustok.set_context(%s, %s, %s)) select {call} from _context"
CREATE_PRODUCT = CONTEXT.format(call="rustok.create_product(%s) -> 'variants'")
CREATE_CART = CONTEXT.format(call="rustok.parse_id(rustok.create_cart(%s) ->> 'id')")
APPLY_DISCOUNT = CONTEXT.format(call="rustok.apply_discount(%s, 'BENCH10') is not null")
PLACE_ORDER = CONTEXT.format(
    call="""rustok.place_order(%s, 'buyer@example.com', '{"countryCode": "DE"}') ->> 'displayId'"""
)


def say(message: str) -> None:
    print(f"[commerce-bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Progress:
    """Progress lines on stderr: done/total, percent, rate (at most one line a second), thread-safe."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, total, 0
        self.started = self.last = time.monotonic()
        self.lock = threading.Lock()

    def add(self, n: int = 1) -> None:
        with self.lock:
            self.done += n
            now = time.monotonic()
            if now - self.last >= 1 or self.done >= self.total:
                self.last = now
                rate = self.done / max(now - self.started, 1e-9)
                share = 100 * self.done // max(self.total, 1)
                say(f"  {self.label}: {self.done}/{self.total} ({share}%), {rate:,.0f}/s")


@dataclass
class Setup:
    tenant: Any
    admin: Any
    region: str
    shipping: str


@dataclass
class Row:
    operation: str
    workload: str
    sessions: int
    calls: int
    seconds: float
    per_second: float
    p50_ms: float
    p99_ms: float


def set_up(db: Database) -> Setup:
    """The tenant, its admin, a region with tax and shipping, a discount code (made once, reused later)."""
    with psycopg.connect(db.admin_url) as conn:
        row = conn.execute(
            "select t.id, u.id from tenants t join users u on u.tenant_id = t.id where t.slug = %s and u.email = %s",
            (TENANT, ADMIN_EMAIL),
        ).fetchone()
        if row is None:
            conn.execute(
                "select rustok.create_tenant(%s, 'Commerce bench', %s, 'not-a-real-hash')", (TENANT, ADMIN_EMAIL)
            )
            row = conn.execute(
                "select t.id, u.id from tenants t join users u on u.tenant_id = t.id where t.slug = %s", (TENANT,)
            ).fetchone()
        assert row is not None
        tenant, admin = row
        conn.execute("select rustok.set_context(%s)", (tenant,))
        region = conn.execute("select rustok.ulid(id) from commerce_regions where name = 'Bench EU'").fetchone()
        if region is None:
            made = conn.execute(
                'select rustok.create_region(\'{"name": "Bench EU", "currencyCode": "EUR", '
                '"countries": ["DE", "FR"], "taxRate": {"name": "VAT", "rate": 2000}}\') ->> \'id\''
            ).fetchone()
            assert made is not None
            conn.execute(
                "select rustok.create_shipping_option(jsonb_build_object('regionId', %s::text, 'name', 'Standard', "
                '\'amount\', 490)), rustok.create_discount(\'{"code": "BENCH10", "kind": "percentage", '
                '"value": 10}\')',
                (made[0],),
            )
            region = made
        shipping = conn.execute(
            "select rustok.ulid(s.id) from commerce_shipping_options s where s.region_id = rustok.parse_id(%s)",
            (region[0],),
        ).fetchone()
        assert shipping is not None
    return Setup(tenant, admin, str(region[0]), str(shipping[0]))


def product_input(tag: str, n: int) -> dict[str, Any]:
    """A published product with three sizes, each priced in EUR and USD."""
    sizes = ("S", "M", "L")
    return {
        "title": f"Bench shirt {tag}-{n}",
        "status": "published",
        "tags": ["bench"],
        "options": [{"title": "Size", "values": list(sizes)}],
        "variants": [
            {
                "sku": f"B-{tag}-{n}-{size}",
                "options": [{"option": "Size", "value": size}],
                "prices": [
                    {"amount": 1990 + 100 * i, "currencyCode": "EUR"},
                    {"amount": 2190 + 100 * i, "currencyCode": "USD"},
                ],
                "inventoryQuantity": STOCK,
            }
            for i, size in enumerate(sizes)
        ],
    }


def timed_calls(
    db: Database, sessions: int, jobs: list[Any], call: Any, progress: Progress
) -> tuple[float, list[float]]:
    """Runs call(conn, job) for every job from `sessions` connections (application role, autocommit) started
    together; returns the wall time and each call's latency in seconds."""
    queues = [jobs[i::sessions] for i in range(sessions)]
    latencies: list[list[float]] = [[] for _ in range(sessions)]
    failures: list[BaseException] = []
    start = threading.Barrier(sessions + 1)

    def session(index: int) -> None:
        try:
            with psycopg.connect(db.app_url, autocommit=True) as conn:
                start.wait()
                for job in queues[index]:
                    began = time.perf_counter()
                    call(conn, job)
                    latencies[index].append(time.perf_counter() - began)
                    progress.add()
        except BaseException as exc:  # reported below
            failures.append(exc)
            start.abort()

    threads = [threading.Thread(target=session, args=(i,)) for i in range(sessions)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    if failures:
        raise RuntimeError(f"a session failed: {failures[0]!r}") from failures[0]
    return wall, [x for part in latencies for x in part]


def row(operation: str, workload: str, sessions: int, wall: float, latencies: list[float]) -> Row:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return Row(
        operation,
        workload,
        sessions,
        len(ordered),
        round(wall, 2),
        round(len(ordered) / wall, 1),
        round(statistics.median(ordered) * 1000, 2),
        round(p99 * 1000, 2),
    )


def measure_create_product(db: Database, setup: Setup, count: int, sessions: int) -> tuple[Row, list[Any]]:
    tag = f"{int(time.time() * 1000):x}s{sessions}"
    jobs = [Jsonb(product_input(tag, n)) for n in range(count)]
    variants: list[Any] = []

    def create(conn: psycopg.Connection[Any], product: Any) -> None:
        made = conn.execute(CREATE_PRODUCT, (setup.tenant, setup.admin, "admin", product)).fetchone()
        assert made is not None
        variants.extend(v["id"] for v in made[0])

    wall, latencies = timed_calls(db, sessions, jobs, create, Progress(f"createProduct x{sessions}", count))
    return row("createProduct (3 variants x 2 currencies)", "-", sessions, wall, latencies), variants


def make_carts(db: Database, setup: Setup, lines: list[list[str]]) -> list[Any]:
    """Guest carts with these lines (variant ids), in the region, with shipping and the discount (not timed)."""
    carts: list[Any] = []
    progress = Progress("carts", len(lines))
    with psycopg.connect(db.app_url, autocommit=True) as conn:
        for cart_lines in lines:
            request = {
                "regionId": setup.region,
                "shippingOptionId": setup.shipping,
                "lines": [{"variantId": v, "quantity": 1} for v in cart_lines],
            }
            made = conn.execute(CREATE_CART, (setup.tenant, None, None, Jsonb(request))).fetchone()
            assert made is not None
            conn.execute(APPLY_DISCOUNT, (setup.tenant, None, None, made[0]))
            carts.append(made[0])
            progress.add()
    return carts


def measure_place_order(db: Database, setup: Setup, carts: list[Any], workload: str, sessions: int) -> Row:
    def place(conn: psycopg.Connection[Any], cart: Any) -> None:
        placed = conn.execute(PLACE_ORDER, (setup.tenant, None, None, cart)).fetchone()
        assert placed is not None and placed[0] is not None

    wall, latencies = timed_calls(
        db, sessions, carts, place, Progress(f"placeOrder {workload} x{sessions}", len(carts))
    )
    return row("placeOrder", workload, sessions, wall, latencies)


def report(rows: list[Row], info: dict[str, Any]) -> str:
    header = (
        f"{'operation':<42} {'workload':<8} {'sessions':>8} {'calls':>6} {'seconds':>8} {'calls/s':>8} "
        f"{'p50 ms':>7} {'p99 ms':>7}"
    )
    lines = [
        "",
        f"Commerce benchmark - PostgreSQL {info['postgresql']}, {info['cpus']} CPUs, "
        f"load {info['load_before']} before, {info['load_after']} after",
        "",
        header,
        "-" * len(header),
    ]
    for r in rows:
        lines.append(
            f"{r.operation:<42} {r.workload:<8} {r.sessions:>8} {r.calls:>6} {r.seconds:>8.2f} "
            f"{r.per_second:>8.1f} {r.p50_ms:>7.2f} {r.p99_ms:>7.2f}"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--products", type=int, default=1_000, help="create_product calls per configuration (default 1000)")
    p.add_argument("--orders", type=int, default=1_000, help="place_order calls per configuration (default 1000)")
    p.add_argument("--sessions", type=int, default=4, help="concurrent sessions of the second run (default 4)")
    p.add_argument("--seed", type=int, default=42, help="random seed of the carts' lines")
    _harness.database_options(p, "bench-commerce", "5497")
    p.add_argument("--json", help="also write the results to this file")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    home = Path(args.home).resolve()
    os.environ.setdefault("RUSTOK_MODULES", "commerce")
    rng = random.Random(args.seed)
    return _harness.run_with_database(args, lambda db: run(db, args, home, rng), say)


def run(db: Database, args: argparse.Namespace, home: Path, rng: random.Random) -> int:
    setup = set_up(db)
    info: dict[str, Any] = {"cpus": os.cpu_count(), "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg())}
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        info["postgresql"] = conn.execute("show server_version").fetchone()[0]  # type: ignore[index]
    rows: list[Row] = []
    variants: list[Any] = []
    configurations = sorted({1, args.sessions})
    for sessions in configurations:
        say(f"measuring createProduct: {args.products} calls from {sessions} session(s)")
        measured, made = measure_create_product(db, setup, args.products, sessions)
        rows.append(measured)
        variants.extend(made)
    hot = variants[0]
    for sessions in configurations:
        say(f"placeOrder, spread: making {args.orders} carts of two random variants")
        carts = make_carts(db, setup, [rng.sample(variants, 2) for _ in range(args.orders)])
        say(f"measuring placeOrder (spread): {args.orders} calls from {sessions} session(s)")
        rows.append(measure_place_order(db, setup, carts, "spread", sessions))
        say(f"placeOrder, hot: making {args.orders} carts of the same variant")
        carts = make_carts(db, setup, [[hot] for _ in range(args.orders)])
        say(f"measuring placeOrder (hot): {args.orders} calls from {sessions} session(s)")
        rows.append(measure_place_order(db, setup, carts, "hot", sessions))
    info["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(report(rows, info))
    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "info": info,
        "rows": [asdict(r) for r in rows],
        "args": vars(args),
    }
    _harness.write_results(home, "commerce_bench", result, args.json, say)
    return 0


if __name__ == "__main__":
    sys.exit(main())
